/*
 * fuzz_commit.c - libFuzzer target for ec_commit_decode: whatever decodes must re-encode
 * to exactly the input bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ec_types.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ec_commit_t c;
    if (ec_commit_decode(&c, data, size) != 0)
        return 0;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_commit_encode(&w, &c);
    if (ec_writer_size(&w) != size || memcmp(ec_writer_data(&w), data, size) != 0)
        abort();
    ec_writer_fini(&w);
    return 0;
}
