/* ec_mlog.c: being written; see ec_mlog.h. */
