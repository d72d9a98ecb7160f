/*
 * fuzz_codec.c - libFuzzer target for the canonical msgpack decoder (common/ec_codec.c).
 *
 * Property: whatever ec_decode accepts re-encodes (ec_write_object) to exactly the input
 * bytes, so every accepted message has one encoding. The cursor readers are then driven
 * over the parsed tree by element type, which must never fail for the matching type.
 * The decoder and writer are reused across inputs, as on the hot path.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ec_codec.h"

/* Reads every element of an array through the cursor that matches its type. */
static void s_walk(const msgpack_object *obj, int depth)
{
    ec_cur_t c;
    ec_cur_open_max(&c, obj, UINT32_MAX);
    if (c.err)
        abort();
    for (uint32_t i = 0; i < c.count; i++) {
        const msgpack_object *item = &c.items[i];
        uint64_t u;
        int64_t v;
        bool b;
        const uint8_t *bin;
        const char *s;
        size_t n;
        ec_cur_t sub;
        switch (item->type) {
            case MSGPACK_OBJECT_POSITIVE_INTEGER:
                ec_cur_uint(&c, &u);
                break;
            case MSGPACK_OBJECT_NEGATIVE_INTEGER:
                ec_cur_int(&c, &v);
                break;
            case MSGPACK_OBJECT_BOOLEAN:
                ec_cur_bool(&c, &b);
                break;
            case MSGPACK_OBJECT_NIL:
                if (!ec_cur_peek_nil(&c))
                    abort();
                ec_cur_nil(&c);
                break;
            case MSGPACK_OBJECT_BIN:
                ec_cur_bin(&c, &bin, &n, SIZE_MAX);
                break;
            case MSGPACK_OBJECT_STR:
                ec_cur_str(&c, &s, &n, SIZE_MAX);
                break;
            case MSGPACK_OBJECT_ARRAY:
                ec_cur_enter_max(&c, &sub, UINT32_MAX);
                s_walk(item, depth + 1);
                break;
            default:
                abort(); /* the decoder must have rejected maps, floats and ext */
        }
        if (c.err)
            abort();
    }
    if (ec_cur_finish(&c) != 0 || depth > EC_CODEC_DEPTH_MAX)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ec_decoder_t d;
    static ec_writer_t w;
    static bool ready;
    if (!ready) {
        ec_decoder_init(&d);
        ec_writer_init(&w);
        ready = true;
    }
    const msgpack_object *root;
    if (ec_decode(&d, data, size, &root) != 0)
        return 0;
    ec_writer_reset(&w);
    ec_write_object(&w, root);
    if (ec_writer_size(&w) != size || memcmp(ec_writer_data(&w), data, size) != 0)
        abort();
    if (root->type == MSGPACK_OBJECT_ARRAY)
        s_walk(root, 1);
    return 0;
}
