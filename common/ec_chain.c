/* ec_chain.c: being written; see ec_chain.h. */
