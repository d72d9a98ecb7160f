/* ec_config.c: being written; see ec_config.h. */
