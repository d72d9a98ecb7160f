/* ec_ledger.c: being written; see ec_ledger.h. */
