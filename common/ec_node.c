/* ec_node.c: being written; see ec_node.h. */
