/*
 * fuzz_payload.c - libFuzzer target for the certificate payload decoder the client runs on
 * decrypted data (cl_fields_decode): whatever decodes must re-encode to exactly the input
 * bytes, and its fields_root must be computable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cl_fields.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cl_fields_t f;
    cl_fields_init(&f);
    ec_status_t st = {0};
    if (cl_fields_decode(&f, data, size, &st) != 0) {
        cl_fields_fini(&f);
        return 0;
    }
    ec_writer_t w;
    ec_writer_init(&w);
    cl_fields_encode(&w, &f);
    if (ec_writer_size(&w) != size || memcmp(ec_writer_data(&w), data, size) != 0)
        abort();
    uint8_t root[EC_HASH_BYTES];
    cl_fields_root(root, &f);
    ec_writer_fini(&w);
    cl_fields_fini(&f);
    return 0;
}
