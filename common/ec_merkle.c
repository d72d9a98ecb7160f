/* ec_merkle.c: being written; see ec_merkle.h. */
