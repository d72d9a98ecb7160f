/*
 * fuzz_record.c - libFuzzer target for ec_record_decode: whatever decodes must re-encode
 * to exactly the input bytes (records are Merkle leaves: one encoding each).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ec_chain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ec_record_t r;
    if (ec_record_decode(&r, data, size) != 0)
        return 0;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_record_encode(&w, &r);
    if (ec_writer_size(&w) != size || memcmp(ec_writer_data(&w), data, size) != 0)
        abort();
    ec_writer_fini(&w);
    return 0;
}
