/* ec_daemon.c: being written; see ec_daemon.h. */
