/*
 * ec_codec.c - canonical msgpack writer, strict decoder and array cursor (ec_codec.h).
 *
 * Decoding happens in three steps, each one cheap:
 *
 *   1. s_scan walks the raw bytes once without allocating. It rejects maps, floats, ext
 *      types and the reserved byte 0xc1, str values that are not well-formed UTF-8
 *      (RFC 3629), truncated input, trailing bytes, nesting deeper
 *      than EC_CODEC_DEPTH_MAX and any array whose element count exceeds the bytes left
 *      (each element needs at least one byte). The last rule matters: msgpack-c allocates
 *      count * sizeof(msgpack_object) as soon as it sees an array header, so without it a
 *      5-byte message could ask for gigabytes. After the scan, the parse tree costs at most
 *      about sizeof(msgpack_object) (24) bytes per input byte.
 *   2. msgpack_unpack parses into the decoder's zone, which is cleared (not freed) between
 *      messages, so steady-state decoding does not call malloc. str and bin objects point
 *      into the caller's buffer: msgpack-c's unpack callbacks store the pointer into the
 *      input and never copy (test_codec checks this).
 *   3. The parsed tree is re-packed with msgpack_pack_object into a writer callback that
 *      compares each produced chunk with the input instead of storing it. msgpack-c's
 *      packer always chooses the shortest form, so the input is canonical exactly when the
 *      bytes match; this also catches a non-negative integer encoded in a signed form
 *      (msgpack-c parses 0xd0 0x05 as POSITIVE_INTEGER 5, which re-packs as 0x05).
 */
#include "ec_codec.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------- */
/* Writer                                                                                   */

/* Packer callback: appends to the sbuffer; running out of memory is fatal by contract. */
static int s_writer_append(void *data, const char *buf, size_t len)
{
    if (len == 0)
        return 0;
    if (msgpack_sbuffer_write((msgpack_sbuffer *)data, buf, len) != 0)
        abort();
    return 0;
}

void ec_writer_init(ec_writer_t *w)
{
    assert(w);
    msgpack_sbuffer_init(&w->sbuf);
    msgpack_packer_init(&w->pk, &w->sbuf, s_writer_append);
}

void ec_writer_fini(ec_writer_t *w)
{
    assert(w);
    msgpack_sbuffer_destroy(&w->sbuf);
    msgpack_sbuffer_init(&w->sbuf);
}

void ec_writer_reset(ec_writer_t *w)
{
    assert(w);
    msgpack_sbuffer_clear(&w->sbuf);
}

void ec_writer_reserve(ec_writer_t *w, size_t cap)
{
    assert(w && w->sbuf.size == 0);
    if (w->sbuf.alloc >= cap)
        return;
    char *p = malloc(cap);
    if (!p)
        abort();
    free(w->sbuf.data); /* empty: nothing to carry over */
    w->sbuf.data = p;
    w->sbuf.alloc = cap;
}

const uint8_t *ec_writer_data(const ec_writer_t *w)
{
    assert(w);
    return (const uint8_t *)w->sbuf.data;
}

size_t ec_writer_size(const ec_writer_t *w)
{
    assert(w);
    return w->sbuf.size;
}

uint8_t *ec_writer_take(ec_writer_t *w, size_t *size)
{
    assert(w && size);
    *size = w->sbuf.size;
    if (w->sbuf.size == 0)
        return NULL;
    return (uint8_t *)msgpack_sbuffer_release(&w->sbuf);
}

/* The append callback aborts on failure, so the packers' return values carry nothing. */
void ec_write_array(ec_writer_t *w, uint32_t count)
{
    (void)msgpack_pack_array(&w->pk, count);
}

void ec_write_uint(ec_writer_t *w, uint64_t v)
{
    (void)msgpack_pack_uint64(&w->pk, v);
}

void ec_write_map(ec_writer_t *w, uint32_t count)
{
    (void)msgpack_pack_map(&w->pk, count);
}

void ec_write_int(ec_writer_t *w, int64_t v)
{
    (void)msgpack_pack_int64(&w->pk, v);
}

void ec_write_bool(ec_writer_t *w, bool v)
{
    if (v)
        (void)msgpack_pack_true(&w->pk);
    else
        (void)msgpack_pack_false(&w->pk);
}

void ec_write_nil(ec_writer_t *w)
{
    (void)msgpack_pack_nil(&w->pk);
}

void ec_write_bin(ec_writer_t *w, const void *data, size_t size)
{
    assert(data || size == 0);
    assert(size <= UINT32_MAX);
    (void)msgpack_pack_bin(&w->pk, size);
    (void)msgpack_pack_bin_body(&w->pk, data, size);
}

void ec_write_str(ec_writer_t *w, const char *s, size_t len)
{
    assert(s || len == 0);
    assert(len <= UINT32_MAX);
    (void)msgpack_pack_str(&w->pk, len);
    (void)msgpack_pack_str_body(&w->pk, s, len);
}

void ec_write_cstr(ec_writer_t *w, const char *s)
{
    assert(s);
    ec_write_str(w, s, strlen(s));
}

void ec_write_raw(ec_writer_t *w, const void *data, size_t size)
{
    assert(data || size == 0);
    (void)s_writer_append(&w->sbuf, data, size);
}

void ec_write_object(ec_writer_t *w, const msgpack_object *obj)
{
    assert(w && obj);
    (void)msgpack_pack_object(&w->pk, *obj);
}

/* ---------------------------------------------------------------------------------------- */
/* Decoder                                                                                  */

void ec_decoder_init(ec_decoder_t *d)
{
    assert(d);
    memset(d, 0, sizeof *d);
    msgpack_unpacked_init(&d->up);
}

void ec_decoder_fini(ec_decoder_t *d)
{
    assert(d);
    if (d->up.zone)
        msgpack_zone_free(d->up.zone);
    d->up.zone = NULL;
    memset(&d->up.data, 0, sizeof d->up.data);
    d->live = false;
}

/* Reads a big-endian unsigned integer of n (1, 2, 4 or 8) bytes. */
static uint64_t s_load_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/*
 * Classifies the header byte b: sets *extra to the bytes of fixed payload that follow it
 * (integers), *len_bytes to the size of a length field (str, bin, array), *fix_len to an
 * inline length (fixstr, fixarray) and *is_array. Returns false for types ecert never
 * accepts: maps, floats, ext and 0xc1.
 */
static bool s_classify(uint8_t b, size_t *extra, size_t *len_bytes, int64_t *fix_len,
                       bool *is_array)
{
    *extra = 0;
    *len_bytes = 0;
    *fix_len = -1;
    *is_array = false;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        return true; /* fixint, negative fixint, nil, false, true */
    if (b >= 0xa0 && b <= 0xbf) {
        *fix_len = b & 0x1f;
        return true;
    }
    if (b >= 0x90 && b <= 0x9f) {
        *fix_len = b & 0x0f;
        *is_array = true;
        return true;
    }
    switch (b) {
        case 0xcc:
        case 0xd0:
            *extra = 1;
            return true;
        case 0xcd:
        case 0xd1:
            *extra = 2;
            return true;
        case 0xce:
        case 0xd2:
            *extra = 4;
            return true;
        case 0xcf:
        case 0xd3:
            *extra = 8;
            return true;
        case 0xc4:
        case 0xd9:
            *len_bytes = 1;
            return true;
        case 0xc5:
        case 0xda:
            *len_bytes = 2;
            return true;
        case 0xc6:
        case 0xdb:
            *len_bytes = 4;
            return true;
        case 0xdc:
            *len_bytes = 2;
            *is_array = true;
            return true;
        case 0xdd:
            *len_bytes = 4;
            *is_array = true;
            return true;
        default:
            return false; /* maps, floats, ext, 0xc1 */
    }
}

/* ASCII, which is nearly every string ecert carries (ids, addresses, codes), takes the first
 * branch only. */
bool ec_utf8_valid(const void *data, size_t n)
{
    const uint8_t *p = data;
    assert(p || n == 0);
    size_t i = 0;
    while (i < n) {
        uint8_t b = p[i];
        if (b < 0x80) {
            i++;
            continue;
        }
        size_t k;                     /* continuation bytes */
        uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the first continuation byte */
        if (b >= 0xc2 && b <= 0xdf)
            k = 1;
        else if (b >= 0xe0 && b <= 0xef) {
            k = 2;
            lo = b == 0xe0 ? 0xa0 : 0x80; /* overlong */
            hi = b == 0xed ? 0x9f : 0xbf; /* surrogates */
        } else if (b >= 0xf0 && b <= 0xf4) {
            k = 3;
            lo = b == 0xf0 ? 0x90 : 0x80; /* overlong */
            hi = b == 0xf4 ? 0x8f : 0xbf; /* above U+10FFFF */
        } else {
            return false; /* 0x80..0xc1 (continuation or overlong lead), 0xf5..0xff */
        }
        if (k > n - i - 1 || p[i + 1] < lo || p[i + 1] > hi)
            return false;
        for (size_t j = 2; j <= k; j++)
            if ((p[i + j] & 0xc0) != 0x80)
                return false;
        i += k + 1;
    }
    return true;
}

/*
 * Structural pre-check of one msgpack object spanning p[0..size) (see the file comment).
 * No allocation, O(size). Returns 0, EC_ETOOBIG (nesting) or EC_EINVAL.
 */
static int s_scan(const uint8_t *p, size_t size)
{
    /* left[d] = elements still to read at depth d; depth 0 holds the single root. */
    uint64_t left[EC_CODEC_DEPTH_MAX + 1];
    size_t depth = 0, pos = 0;
    left[0] = 1;
    for (;;) {
        if (left[depth] == 0) {
            if (depth == 0)
                break;
            depth--;
            continue;
        }
        left[depth]--;
        if (pos >= size)
            return EC_EINVAL;
        size_t extra, len_bytes;
        int64_t fix_len;
        bool is_array;
        uint8_t head = p[pos];
        if (!s_classify(head, &extra, &len_bytes, &fix_len, &is_array))
            return EC_EINVAL;
        pos++;
        if (extra + len_bytes > size - pos)
            return EC_EINVAL;
        uint64_t len = fix_len >= 0 ? (uint64_t)fix_len : s_load_be(p + pos, len_bytes);
        pos += extra + len_bytes;
        if (len > size - pos)
            return EC_EINVAL; /* body, or one byte per array element, missing */
        if (is_array) {
            if (depth + 1 > EC_CODEC_DEPTH_MAX)
                return EC_ETOOBIG;
            left[++depth] = len;
        } else if (fix_len >= 0 || len_bytes > 0) {
            bool is_bin = head >= 0xc4 && head <= 0xc6;
            if (!is_bin && !ec_utf8_valid(p + pos, len))
                return EC_EINVAL; /* str is UTF-8 text (docs/PROTOCOL.md, Encoding) */
            pos += len;           /* str or bin body */
        }
    }
    return pos == size ? 0 : EC_EINVAL;
}

/* Comparison sink for the re-pack step: matches each chunk against the input. */
typedef struct {
    const uint8_t *data; /* the input being proven canonical      */
    size_t size;         /* its length                              */
    size_t pos;          /* bytes matched so far                    */
    bool mismatch;       /* set at the first difference             */
} s_cmp_t;

static int s_cmp_append(void *ctx, const char *buf, size_t len)
{
    s_cmp_t *c = ctx;
    if (c->mismatch)
        return -1;
    if (len > c->size - c->pos || (len > 0 && (const uint8_t *)buf != c->data + c->pos &&
                                   memcmp(buf, c->data + c->pos, len) != 0)) {
        c->mismatch = true;
        return -1;
    }
    c->pos += len;
    return 0;
}

int ec_decode(ec_decoder_t *d, const uint8_t *data, size_t size, const msgpack_object **root)
{
    assert(d && root);
    assert(data || size == 0);
    *root = NULL;
    d->live = false;
    if (size > EC_CODEC_MESSAGE_BYTES_MAX)
        return EC_ETOOBIG;
    int rc = s_scan(data, size);
    if (rc != 0)
        return rc;
    if (!d->up.zone) {
        /* The first chunk is sized to the message: a node keeps one decoder per
         * transaction in flight (tens of thousands under load), and msgpack-c's default
         * 8 KiB chunk made each of them cost 8 KiB for a parse tree of a few hundred
         * bytes. The zone adds chunks by itself when a tree needs more. */
        size_t chunk = size < 512                       ? 512
                       : size > MSGPACK_ZONE_CHUNK_SIZE ? MSGPACK_ZONE_CHUNK_SIZE
                                                        : size;
        d->up.zone = msgpack_zone_new(chunk);
        if (!d->up.zone)
            return EC_ENOMEM;
    } else {
        msgpack_zone_clear(d->up.zone);
    }
    size_t off = 0;
    msgpack_unpack_return ur =
        msgpack_unpack((const char *)data, size, &off, d->up.zone, &d->up.data);
    if (ur != MSGPACK_UNPACK_SUCCESS || off != size)
        return EC_EINVAL; /* after s_scan this means the zone could not allocate */

    s_cmp_t cmp = {.data = data, .size = size};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &cmp, s_cmp_append);
    (void)msgpack_pack_object(&pk, d->up.data);
    if (cmp.mismatch || cmp.pos != size)
        return EC_EINVAL;
    d->live = true;
    *root = &d->up.data;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Cursor                                                                                   */

/*
 * Fails c and every cursor it was entered from: each keeps the first error it saw, and
 * drops its elements (count 0, items NULL) so that no loop bounded by count runs on.
 */
static void s_cur_set_err(ec_cur_t *c, int code)
{
    assert(code < 0);
    for (; c; c = c->parent) {
        if (c->err == 0)
            c->err = code;
        c->items = NULL;
        c->count = 0;
    }
}

void ec_cur_fail(ec_cur_t *c, int code)
{
    assert(c);
    assert(code < 0);
    if (c->err == 0)
        s_cur_set_err(c, code);
}

/* Opens c (child of parent, may be NULL) over obj whatever its length; returns false
 * (error set in c and its parents) if obj is no array. */
static bool s_cur_open_any(ec_cur_t *c, ec_cur_t *parent, const msgpack_object *obj)
{
    memset(c, 0, sizeof *c);
    c->parent = parent;
    if (!obj || obj->type != MSGPACK_OBJECT_ARRAY) {
        s_cur_set_err(c, EC_EINVAL);
        return false;
    }
    c->items = obj->via.array.ptr;
    c->count = obj->via.array.size;
    return true;
}

void ec_cur_open(ec_cur_t *c, const msgpack_object *obj, uint32_t count)
{
    assert(c);
    if (s_cur_open_any(c, NULL, obj) && c->count != count)
        s_cur_set_err(c, EC_EINVAL);
}

void ec_cur_open_max(ec_cur_t *c, const msgpack_object *obj, uint32_t max)
{
    assert(c);
    if (s_cur_open_any(c, NULL, obj) && c->count > max)
        s_cur_set_err(c, EC_ETOOBIG);
}

/* Takes the next element, or returns NULL with the sticky error set. */
static const msgpack_object *s_cur_next(ec_cur_t *c)
{
    assert(c);
    if (c->err)
        return NULL;
    if (c->pos >= c->count) {
        s_cur_set_err(c, EC_EINVAL);
        return NULL;
    }
    return &c->items[c->pos++];
}

/* Takes the next element, which must have `type`. */
static const msgpack_object *s_cur_next_type(ec_cur_t *c, msgpack_object_type type)
{
    const msgpack_object *o = s_cur_next(c);
    if (o && o->type != type) {
        s_cur_set_err(c, EC_EINVAL);
        return NULL;
    }
    return o;
}

void ec_cur_uint(ec_cur_t *c, uint64_t *v)
{
    ec_cur_uint_max(c, v, UINT64_MAX);
}

void ec_cur_uint_max(ec_cur_t *c, uint64_t *v, uint64_t max)
{
    assert(v);
    *v = 0;
    const msgpack_object *o = s_cur_next_type(c, MSGPACK_OBJECT_POSITIVE_INTEGER);
    if (!o)
        return;
    if (o->via.u64 > max) {
        s_cur_set_err(c, EC_EINVAL);
        return;
    }
    *v = o->via.u64;
}

void ec_cur_int(ec_cur_t *c, int64_t *v)
{
    assert(v);
    *v = 0;
    const msgpack_object *o = s_cur_next(c);
    if (!o)
        return;
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *v = o->via.i64;
    } else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) {
        *v = (int64_t)o->via.u64;
    } else {
        s_cur_set_err(c, EC_EINVAL);
    }
}

void ec_cur_bool(ec_cur_t *c, bool *v)
{
    assert(v);
    *v = false;
    const msgpack_object *o = s_cur_next_type(c, MSGPACK_OBJECT_BOOLEAN);
    if (o)
        *v = o->via.boolean;
}

/*
 * Takes the next element, which must be a bin or str (`type`) of at most max bytes, and
 * points *ptr and *size at its bytes in the input buffer. On error both are zeroed and
 * the sticky error is set (EC_ETOOBIG when the element is too long).
 */
static void s_cur_bytes(ec_cur_t *c, msgpack_object_type type, const char **ptr, size_t *size,
                        size_t max)
{
    assert(ptr && size);
    assert(type == MSGPACK_OBJECT_BIN || type == MSGPACK_OBJECT_STR);
    *ptr = NULL;
    *size = 0;
    const msgpack_object *o = s_cur_next_type(c, type);
    if (!o)
        return;
    /* msgpack-c gives bin and str the same {size, ptr} layout, but read each by name. */
    uint32_t n = type == MSGPACK_OBJECT_BIN ? o->via.bin.size : o->via.str.size;
    if (n > max) {
        s_cur_set_err(c, EC_ETOOBIG);
        return;
    }
    *ptr = type == MSGPACK_OBJECT_BIN ? o->via.bin.ptr : o->via.str.ptr;
    *size = n;
}

void ec_cur_bin(ec_cur_t *c, const uint8_t **data, size_t *size, size_t max)
{
    assert(data);
    const char *p;
    s_cur_bytes(c, MSGPACK_OBJECT_BIN, &p, size, max);
    *data = (const uint8_t *)p;
}

void ec_cur_bin_fixed(ec_cur_t *c, uint8_t *out, size_t size)
{
    assert(out || size == 0);
    const msgpack_object *o = s_cur_next_type(c, MSGPACK_OBJECT_BIN);
    if (o && o->via.bin.size != size)
        s_cur_set_err(c, EC_EINVAL);
    if (o && !c->err) {
        if (size)
            memcpy(out, o->via.bin.ptr, size);
    } else if (size) {
        memset(out, 0, size);
    }
}

void ec_cur_bin_fixed_opt(ec_cur_t *c, uint8_t *out, size_t size, bool *present)
{
    assert(present);
    *present = false;
    if (!c->err && c->pos < c->count && c->items[c->pos].type == MSGPACK_OBJECT_NIL) {
        c->pos++;
        if (size)
            memset(out, 0, size);
        return;
    }
    ec_cur_bin_fixed(c, out, size);
    *present = c->err == 0;
}

void ec_cur_str(ec_cur_t *c, const char **s, size_t *len, size_t max)
{
    s_cur_bytes(c, MSGPACK_OBJECT_STR, s, len, max);
}

void ec_cur_str_copy(ec_cur_t *c, char *buf, size_t cap)
{
    assert(buf && cap > 0);
    buf[0] = '\0';
    const char *s;
    size_t len;
    ec_cur_str(c, &s, &len, cap - 1);
    if (c->err)
        return;
    if (len > 0 && memchr(s, '\0', len)) {
        s_cur_set_err(c, EC_EINVAL);
        return;
    }
    if (len)
        memcpy(buf, s, len);
    buf[len] = '\0';
}

void ec_cur_nil(ec_cur_t *c)
{
    (void)s_cur_next_type(c, MSGPACK_OBJECT_NIL);
}

bool ec_cur_peek_nil(const ec_cur_t *c)
{
    assert(c);
    return !c->err && c->pos < c->count && c->items[c->pos].type == MSGPACK_OBJECT_NIL;
}

const msgpack_object *ec_cur_object(ec_cur_t *c)
{
    return s_cur_next(c);
}

/*
 * Takes the next element for ec_cur_enter*: returns it, or NULL after leaving `sub` an
 * empty cursor (child of c) that carries c's error, so reads from it fail too.
 */
static const msgpack_object *s_cur_next_nested(ec_cur_t *c, ec_cur_t *sub)
{
    assert(sub && sub != c);
    const msgpack_object *o = s_cur_next(c);
    if (!o) {
        memset(sub, 0, sizeof *sub);
        sub->parent = c;
        sub->err = c->err;
    }
    return o;
}

void ec_cur_enter(ec_cur_t *c, ec_cur_t *sub, uint32_t count)
{
    const msgpack_object *o = s_cur_next_nested(c, sub);
    if (o && s_cur_open_any(sub, c, o) && sub->count != count)
        s_cur_set_err(sub, EC_EINVAL);
}

void ec_cur_enter_max(ec_cur_t *c, ec_cur_t *sub, uint32_t max)
{
    const msgpack_object *o = s_cur_next_nested(c, sub);
    if (o && s_cur_open_any(sub, c, o) && sub->count > max)
        s_cur_set_err(sub, EC_ETOOBIG);
}

int ec_cur_finish(const ec_cur_t *c)
{
    assert(c);
    if (c->err)
        return c->err;
    return c->pos == c->count ? 0 : EC_EINVAL;
}

void ec_cur_fold(ec_cur_t *c, const ec_cur_t *sub)
{
    int rc = ec_cur_finish(sub);
    if (rc)
        ec_cur_fail(c, rc);
}

int ec_decode_read(void *out, size_t out_size, const uint8_t *data, size_t size, ec_read_fn read)
{
    assert(out && read);
    memset(out, 0, out_size);
    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *root = NULL;
    int rc = ec_decode(&d, data, size, &root);
    if (rc == 0) {
        ec_cur_t c = {.items = root, .count = 1};
        read(&c, out);
        rc = ec_cur_finish(&c);
    }
    ec_decoder_fini(&d);
    if (rc)
        memset(out, 0, out_size);
    return rc;
}
