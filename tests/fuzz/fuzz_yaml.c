/*
 * fuzz_yaml.c - libFuzzer target for the YAML reader behind every configuration and
 * genesis file (ec_yaml_parse): any input either parses into a tree that can be walked to
 * the bottom, or is refused with a message; never a crash, a leak or a hang.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ec_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Visits every node; returns how many (the parser bounds depth, so this terminates). */
static size_t s_walk(const ec_yaml_node_t *n)
{
    size_t count = 1;
    if (ec_yaml_is_map(n)) {
        for (size_t i = 0; i < ec_yaml_count(n); i++) {
            const char *key = ec_yaml_key(n, i);
            if (!key)
                abort();
            const ec_yaml_node_t *v = ec_yaml_get(n, key);
            if (!v)
                abort(); /* a listed key must be found */
            count += s_walk(v);
        }
    } else if (ec_yaml_is_seq(n)) {
        for (size_t i = 0; i < ec_yaml_count(n); i++)
            count += s_walk(ec_yaml_item(n, i));
    } else if (!ec_yaml_scalar(n)) {
        abort(); /* a node is a map, a sequence or a scalar */
    }
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ec_status_t st = {0};
    ec_yaml_t *doc = ec_yaml_parse((const char *)data, size, &st);
    if (!doc) {
        if (st.code == 0 || st.msg[0] == '\0')
            abort(); /* a refusal must say why */
        return 0;
    }
    const ec_yaml_node_t *root = ec_yaml_root(doc);
    if (root)
        (void)s_walk(root);
    ec_yaml_destroy(&doc);
    return 0;
}
