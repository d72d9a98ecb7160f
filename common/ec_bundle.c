/* ec_bundle.c: being written; see ec_bundle.h. */
