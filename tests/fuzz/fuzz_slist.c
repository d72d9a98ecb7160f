/*
 * fuzz_slist.c - libFuzzer target for status-list objects (ec_slist.h): whatever
 * ec_slist_decode accepts must re-encode to exactly the input bytes; then the verifier runs
 * (against a fixed validator set and a fixed trusted hash) and must not crash, whatever it
 * answers, and the codes of an accepted list read back within bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ec_slist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (ec_crypto_init() != 0)
            abort();
        ready = 1;
    }
    static ec_slist_t s;
    if (ec_slist_decode(&s, data, size) != 0)
        return 0;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_slist_encode(&w, &s.parts);
    if (ec_writer_size(&w) != size || memcmp(ec_writer_data(&w), data, size) != 0)
        abort();
    ec_writer_fini(&w);
    unsigned seen = 0;
    for (uint64_t i = 0; i < s.parts.count; i += 1 + s.parts.count / 64)
        seen |= 1u << ec_slist_get(s.parts.list, i);
    if (seen > 15)
        abort();

    ec_valset_t vs;
    memset(&vs, 0, sizeof vs);
    vs.count = 1;
    vs.v[0].power = 1;
    uint8_t trusted[EC_HASH_BYTES] = {0};
    ec_slist_info_t info;
    ec_status_t st;
    (void)ec_slist_verify(&s, "ecert-main", &vs, NULL, &info, &st);
    (void)ec_slist_verify(&s, "ecert-main", NULL, trusted, &info, &st);
    ec_slist_fini(&s);
    return 0;
}
