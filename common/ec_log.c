/* ec_log.c: being written; see ec_log.h. */
