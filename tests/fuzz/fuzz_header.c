/*
 * fuzz_header.c - libFuzzer target for ec_header_decode: whatever decodes must re-encode
 * to exactly the input bytes (one encoding per header, so one block hash).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ec_types.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ec_header_t h;
    if (ec_header_decode(&h, data, size) != 0)
        return 0;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_header_encode(&w, &h);
    if (ec_writer_size(&w) != size || memcmp(ec_writer_data(&w), data, size) != 0)
        abort();
    (void)ec_header_anchor_only(&h);
    ec_writer_fini(&w);
    return 0;
}
