/*
 * gw_tjson.c - typed JSON <-> msgpack (gw_tjson.h), and the hex and base64 helpers every
 * gateway answer uses (libsodium's, never hand-written).
 *
 * Both directions recurse; depth is bounded by GW_TJSON_DEPTH_MAX before each descent, so
 * the stack never grows past 16 frames whatever the input.
 */
#include "gw_tjson.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

json_t *gw_json_hex(const uint8_t *data, size_t size)
{
    char *hex = malloc(2 * size + 1);
    if (!hex)
        return NULL;
    sodium_bin2hex(hex, 2 * size + 1, data, size);
    json_t *j = json_stringn(hex, 2 * size);
    free(hex);
    return j;
}

json_t *gw_json_b64(const uint8_t *data, size_t size)
{
    size_t cap = sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(cap);
    if (!b64)
        return NULL;
    sodium_bin2base64(b64, cap, data, size, sodium_base64_VARIANT_ORIGINAL);
    json_t *j = json_string(b64);
    free(b64);
    return j;
}

int gw_hex_decode(uint8_t *out, size_t cap, size_t *len, const char *hex, size_t size)
{
    size_t n = strlen(hex), got = 0;
    const char *end = NULL;
    if (n % 2 || n / 2 > cap || (size && n / 2 != size))
        return EC_EINVAL;
    if (sodium_hex2bin(out, cap, hex, n, NULL, &got, &end) != 0 || got != n / 2 || *end)
        return EC_EINVAL;
    if (len)
        *len = got;
    return 0;
}

int gw_b64_decode(uint8_t **out, size_t *len, const char *b64, size_t max)
{
    size_t n = strlen(b64);
    *out = NULL;
    *len = 0;
    if (n / 4 * 3 > max + 2)
        return EC_ETOOBIG;
    uint8_t *buf = malloc(n / 4 * 3 + 1);
    if (!buf)
        return EC_ENOMEM;
    size_t got = 0;
    const char *end = NULL;
    if (sodium_base642bin(buf, n / 4 * 3 + 1, b64, n, NULL, &got, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        *end) {
        free(buf);
        return EC_EINVAL;
    }
    if (got > max) {
        free(buf);
        return EC_ETOOBIG;
    }
    *out = buf;
    *len = got;
    return 0;
}

/* ---- JSON -> msgpack -------------------------------------------------------------------- */

static int s_to(ec_writer_t *w, const json_t *j, unsigned depth, ec_status_t *st)
{
    if (ec_writer_size(w) > GW_TJSON_BYTES_MAX)
        return ec_status_set(st, EC_ETOOBIG, "typed JSON encodes to more than %u bytes",
                             GW_TJSON_BYTES_MAX);
    switch (json_typeof(j)) {
        case JSON_NULL:
            ec_write_nil(w);
            return 0;
        case JSON_TRUE:
        case JSON_FALSE:
            ec_write_bool(w, json_is_true(j));
            return 0;
        case JSON_INTEGER: {
            json_int_t v = json_integer_value(j);
            if (v >= 0)
                ec_write_uint(w, (uint64_t)v);
            else
                ec_write_int(w, (int64_t)v);
            return 0;
        }
        case JSON_REAL:
            return ec_status_set(st, EC_EINVAL, "typed JSON has no real numbers");
        case JSON_STRING:
            ec_write_str(w, json_string_value(j), json_string_length(j));
            return 0;
        case JSON_ARRAY: {
            if (depth + 1 > GW_TJSON_DEPTH_MAX)
                return ec_status_set(st, EC_ETOOBIG, "typed JSON nested deeper than %d arrays",
                                     GW_TJSON_DEPTH_MAX);
            size_t n = json_array_size(j);
            ec_write_array(w, (uint32_t)n);
            for (size_t i = 0; i < n; i++) {
                int rc = s_to(w, json_array_get(j, i), depth + 1, st);
                if (rc)
                    return rc;
            }
            return 0;
        }
        case JSON_OBJECT: {
            const json_t *hex = json_object_get(j, "hex");
            if (json_object_size(j) != 1 || !json_is_string(hex))
                return ec_status_set(st, EC_EINVAL,
                                     "the only object typed JSON allows is {\"hex\": \"...\"}");
            size_t n = json_string_length(hex);
            if (n / 2 > GW_TJSON_BYTES_MAX)
                return ec_status_set(st, EC_ETOOBIG, "a binary above %u bytes", GW_TJSON_BYTES_MAX);
            uint8_t *buf = malloc(n / 2 + 1);
            if (!buf)
                return ec_status_set(st, EC_ENOMEM, "out of memory");
            size_t len = 0;
            int rc = gw_hex_decode(buf, n / 2 + 1, &len, json_string_value(hex), 0);
            if (rc == 0)
                ec_write_bin(w, buf, len);
            free(buf);
            return rc ? ec_status_set(st, rc, "{\"hex\": ...} needs an even number of hex digits")
                      : 0;
        }
    }
    return ec_status_set(st, EC_EINVAL, "not typed JSON");
}

int gw_tjson_to_msgpack(ec_writer_t *w, const json_t *j, ec_status_t *st)
{
    if (!j)
        return ec_status_set(st, EC_EINVAL, "no value");
    int rc = s_to(w, j, 0, st);
    if (rc == 0 && ec_writer_size(w) > GW_TJSON_BYTES_MAX)
        rc = ec_status_set(st, EC_ETOOBIG, "typed JSON encodes to more than %u bytes",
                           GW_TJSON_BYTES_MAX);
    return rc;
}

/* ---- msgpack -> JSON -------------------------------------------------------------------- */

static int s_from(json_t **out, const msgpack_object *o, unsigned depth)
{
    *out = NULL;
    switch (o->type) {
        case MSGPACK_OBJECT_NIL:
            *out = json_null();
            return 0;
        case MSGPACK_OBJECT_BOOLEAN:
            *out = json_boolean(o->via.boolean);
            return 0;
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            if (o->via.u64 > (uint64_t)INT64_MAX)
                return EC_EINVAL;
            *out = json_integer((json_int_t)o->via.u64);
            break;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            *out = json_integer((json_int_t)o->via.i64);
            break;
        case MSGPACK_OBJECT_STR:
            /* msgpack-c gives an empty str a NULL pointer, which jansson refuses */
            *out = json_stringn(o->via.str.size ? o->via.str.ptr : "", o->via.str.size);
            if (!*out) /* jansson refuses text that is not UTF-8 */
                return EC_EINVAL;
            return 0;
        case MSGPACK_OBJECT_BIN: {
            json_t *hex = gw_json_hex((const uint8_t *)o->via.bin.ptr, o->via.bin.size);
            *out = hex ? json_pack("{s:o}", "hex", hex) : NULL;
            break;
        }
        case MSGPACK_OBJECT_ARRAY: {
            if (depth + 1 > GW_TJSON_DEPTH_MAX)
                return EC_ETOOBIG;
            json_t *a = json_array();
            for (uint32_t i = 0; a && i < o->via.array.size; i++) {
                json_t *item;
                int rc = s_from(&item, &o->via.array.ptr[i], depth + 1);
                if (rc) {
                    json_decref(a);
                    return rc;
                }
                json_array_append_new(a, item);
            }
            *out = a;
            break;
        }
        default: /* maps, floats, ext */
            return EC_EINVAL;
    }
    return *out ? 0 : EC_ENOMEM;
}

int gw_tjson_from_msgpack(json_t **out, const msgpack_object *o)
{
    return s_from(out, o, 0);
}
