/* ec_types.c: being written; see ec_types.h. */
