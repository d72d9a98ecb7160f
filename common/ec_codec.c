/* ec_codec.c: being written; see ec_codec.h. */
