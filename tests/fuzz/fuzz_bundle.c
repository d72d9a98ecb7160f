/*
 * fuzz_bundle.c - libFuzzer target for proof bundles: whatever ec_bundle_decode accepts
 * must re-encode to exactly the input bytes; then the full verifier runs (against a fixed
 * validator set and a fixed trusted hash) and must not crash, whatever it answers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ec_bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (ec_crypto_init() != 0)
            abort();
        ready = 1;
    }
    static ec_bundle_t b;
    if (ec_bundle_decode(&b, data, size) != 0)
        return 0;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_bundle_encode(&w, &b.parts);
    if (ec_writer_size(&w) != size || memcmp(ec_writer_data(&w), data, size) != 0)
        abort();
    ec_writer_fini(&w);
    ec_bundle_fini(&b);

    ec_valset_t vs;
    memset(&vs, 0, sizeof vs);
    vs.count = 1;
    vs.v[0].power = 1;
    uint8_t trusted[EC_HASH_BYTES] = {0};
    ec_bundle_info_t info;
    ec_status_t st;
    (void)ec_bundle_verify(data, size, "ecert-main", &vs, NULL, &info, &st);
    (void)ec_bundle_verify(data, size, "ecert-main", NULL, trusted, &info, &st);
    return 0;
}
