/*
 * fuzz_tjson.c - libFuzzer target for the gateway's typed JSON (gateway/gw_tjson.h), the
 * form in which HTTP clients send query arguments and transaction bodies.
 *
 * Every input is tried two ways. As JSON text: whatever gw_tjson_to_msgpack accepts must
 * be canonical msgpack (ec_decode takes it), must come back through gw_tjson_from_msgpack,
 * and that JSON must encode to exactly the same bytes again; a refusal must come with a
 * code and a message. As msgpack: whatever ec_decode and gw_tjson_from_msgpack accept must
 * encode back to exactly the input bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw_tjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Typed JSON j to msgpack in w; aborts on a refusal without a message. 0 or the code. */
static int s_encode(ec_writer_t *w, const json_t *j)
{
    ec_status_t st = {0};
    int rc = gw_tjson_to_msgpack(w, j, &st);
    if (rc != 0 && (st.code != rc || st.msg[0] == '\0'))
        abort();
    return rc;
}

static void s_from_json(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *j =
        json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        return;
    ec_writer_t w;
    ec_writer_init(&w);
    if (s_encode(&w, j) == 0) {
        ec_decoder_t d;
        ec_decoder_init(&d);
        const msgpack_object *root = NULL;
        json_t *back = NULL;
        if (ec_decode(&d, ec_writer_data(&w), ec_writer_size(&w), &root) != 0)
            abort(); /* the gateway sends nodes only canonical msgpack */
        if (gw_tjson_from_msgpack(&back, root) != 0)
            abort(); /* what it encodes it can show */
        ec_writer_t again;
        ec_writer_init(&again);
        if (s_encode(&again, back) != 0 || ec_writer_size(&again) != ec_writer_size(&w) ||
            memcmp(ec_writer_data(&again), ec_writer_data(&w), ec_writer_size(&w)) != 0)
            abort();
        ec_writer_fini(&again);
        json_decref(back);
        ec_decoder_fini(&d);
    }
    ec_writer_fini(&w);
    json_decref(j);
}

static void s_from_msgpack(const uint8_t *data, size_t size)
{
    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *root = NULL;
    json_t *j = NULL;
    if (ec_decode(&d, data, size, &root) == 0 && gw_tjson_from_msgpack(&j, root) == 0) {
        ec_writer_t w;
        ec_writer_init(&w);
        if (s_encode(&w, j) != 0 || ec_writer_size(&w) != size ||
            memcmp(ec_writer_data(&w), data, size) != 0)
            abort();
        ec_writer_fini(&w);
    }
    json_decref(j);
    ec_decoder_fini(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_from_json(data, size);
    s_from_msgpack(data, size);
    return 0;
}
