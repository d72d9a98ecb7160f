/* ec_rpc.c: being written; see ec_rpc.h. */
