/* ec_crypto.c: being written; see ec_crypto.h. */
