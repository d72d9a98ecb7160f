/*
 * fuzz_anchor.c - libFuzzer target for ec_anchor_entry_decode (entries come back from the
 * `anchor_proof` RPC and inside proof bundles): whatever decodes must re-encode to exactly
 * the input bytes, and its leaf hash must be computable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ec_types.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ec_anchor_entry_t e;
    if (ec_anchor_entry_decode(&e, data, size) != 0)
        return 0;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_anchor_entry_encode(&w, &e);
    if (ec_writer_size(&w) != size || memcmp(ec_writer_data(&w), data, size) != 0)
        abort();
    uint8_t leaf[EC_HASH_BYTES];
    ec_anchor_entry_leaf(leaf, &e);
    ec_writer_fini(&w);
    return 0;
}
