/*
 * test_codec.c - canonical msgpack writer, strict decoder and cursor (common/ec_codec.c).
 *
 * Known-answer bytes come from the msgpack specification's format table; every rejection
 * rule of the decoder (maps, floats, ext, trailing bytes, non-minimal headers, depth, size)
 * has a case, and so does every cursor error.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ec_codec.h"

/* Parses a hex string into buf; returns the byte count. */
static size_t s_unhex(uint8_t *buf, const char *hex)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        buf[i] = (uint8_t)v;
    }
    return n;
}

/* Decodes hex with a fresh decoder and returns the result code. */
static int s_decode_hex(const char *hex)
{
    uint8_t buf[256];
    size_t n = s_unhex(buf, hex);
    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *root = NULL;
    int rc = ec_decode(&d, buf, n, &root);
    assert_true(rc == 0 ? root != NULL : root == NULL);
    ec_decoder_fini(&d);
    return rc;
}

/* ---- writer known answers --------------------------------------------------------------- */

/* A number and its minimal MessagePack encoding; is_int picks ec_write_int (i) over
 * ec_write_uint (u). */
typedef struct {
    bool is_int;
    uint64_t u;
    int64_t i;
    const char *hex;
} s_num_case_t;

#define S_UINT(v, hex)                                                                             \
    {                                                                                              \
        false, (v), 0, (hex)                                                                       \
    }
#define S_INT(v, hex)                                                                              \
    {                                                                                              \
        true, 0, (v), (hex)                                                                        \
    }

static void s_expect_bytes(ec_writer_t *w, const char *hex)
{
    uint8_t want[128];
    size_t n = s_unhex(want, hex);
    assert_int_equal(ec_writer_size(w), n);
    assert_memory_equal(ec_writer_data(w), want, n);
}

/* Writes every case with a fresh writer state, compares the bytes and checks that a
 * decoder accepts them. */
static void s_check_numbers(const s_num_case_t *cases, size_t n)
{
    ec_writer_t w;
    ec_writer_init(&w);
    for (size_t i = 0; i < n; i++) {
        ec_writer_reset(&w);
        if (cases[i].is_int)
            ec_write_int(&w, cases[i].i);
        else
            ec_write_uint(&w, cases[i].u);
        s_expect_bytes(&w, cases[i].hex);
        assert_int_equal(s_decode_hex(cases[i].hex), 0);
    }
    ec_writer_fini(&w);
}

static void test_writer_minimal_uint(void **state)
{
    (void)state;
    static const s_num_case_t cases[] = {
        S_UINT(0, "00"),
        S_UINT(127, "7f"),
        S_UINT(128, "cc80"),
        S_UINT(255, "ccff"),
        S_UINT(256, "cd0100"),
        S_UINT(65535, "cdffff"),
        S_UINT(65536, "ce00010000"),
        S_UINT(0xffffffffu, "ceffffffff"),
        S_UINT(0x100000000ull, "cf0000000100000000"),
        S_UINT(UINT64_MAX, "cfffffffffffffffff"),
    };
    s_check_numbers(cases, sizeof cases / sizeof cases[0]);
}

static void test_writer_minimal_int(void **state)
{
    (void)state;
    static const s_num_case_t cases[] = {
        S_INT(0, "00"),
        S_INT(5, "05"),
        S_INT(200, "ccc8"),
        S_INT(-1, "ff"),
        S_INT(-32, "e0"),
        S_INT(-33, "d0df"),
        S_INT(-128, "d080"),
        S_INT(-129, "d1ff7f"),
        S_INT(-32768, "d18000"),
        S_INT(-32769, "d2ffff7fff"),
        S_INT(INT32_MIN, "d280000000"),
        S_INT((int64_t)INT32_MIN - 1, "d3ffffffff7fffffff"),
        S_INT(INT64_MIN, "d38000000000000000"),
        S_INT(INT64_MAX, "cf7fffffffffffffff"),
    };
    s_check_numbers(cases, sizeof cases / sizeof cases[0]);
}

static void test_writer_headers(void **state)
{
    (void)state;
    static char text[70000];
    memset(text, 'x', sizeof text);
    ec_writer_t w;
    ec_writer_init(&w);

    /* str: fixstr up to 31, str8 up to 255, str16 up to 65535, then str32 */
    static const struct {
        size_t len;
        const char *head;
    } strs[] = {{0, "a0"},       {31, "bf"},        {32, "d920"},         {255, "d9ff"},
                {256, "da0100"}, {65535, "daffff"}, {65536, "db00010000"}};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        ec_writer_reset(&w);
        ec_write_str(&w, text, strs[i].len);
        uint8_t head[8];
        size_t hn = s_unhex(head, strs[i].head);
        assert_int_equal(ec_writer_size(&w), hn + strs[i].len);
        assert_memory_equal(ec_writer_data(&w), head, hn);
    }
    /* bin: bin8 for anything below 256, bin16, bin32 */
    static const struct {
        size_t len;
        const char *head;
    } bins[] = {{0, "c400"}, {32, "c420"}, {255, "c4ff"}, {256, "c50100"}, {65536, "c600010000"}};
    for (size_t i = 0; i < sizeof bins / sizeof bins[0]; i++) {
        ec_writer_reset(&w);
        ec_write_bin(&w, text, bins[i].len);
        uint8_t head[8];
        size_t hn = s_unhex(head, bins[i].head);
        assert_int_equal(ec_writer_size(&w), hn + bins[i].len);
        assert_memory_equal(ec_writer_data(&w), head, hn);
    }
    /* arrays: fixarray up to 15, array16, array32 */
    ec_writer_reset(&w);
    ec_write_array(&w, 15);
    s_expect_bytes(&w, "9f");
    ec_writer_reset(&w);
    ec_write_array(&w, 16);
    s_expect_bytes(&w, "dc0010");
    ec_writer_reset(&w);
    ec_write_array(&w, 65536);
    s_expect_bytes(&w, "dd00010000");
    ec_writer_reset(&w);
    ec_write_bool(&w, true);
    ec_write_bool(&w, false);
    ec_write_nil(&w);
    ec_write_cstr(&w, "ab");
    s_expect_bytes(&w, "c3c2c0a26162");
    ec_writer_fini(&w);
    ec_writer_fini(&w); /* twice is allowed */
}

/* ---- round trip ------------------------------------------------------------------------- */

static void test_writer_take(void **state)
{
    (void)state;
    ec_writer_t w;
    ec_writer_init(&w);
    size_t size = 99;
    assert_null(ec_writer_take(&w, &size)); /* nothing written */
    assert_int_equal(size, 0);
    ec_write_array(&w, 1);
    ec_write_uint(&w, 300);
    uint8_t *data = ec_writer_take(&w, &size);
    assert_non_null(data);
    assert_int_equal(size, 4);
    assert_memory_equal(data, "\x91\xcd\x01\x2c", 4);
    /* the writer is empty and reusable */
    assert_int_equal(ec_writer_size(&w), 0);
    ec_write_nil(&w);
    assert_int_equal(ec_writer_size(&w), 1);
    assert_int_equal(ec_writer_data(&w)[0], 0xc0);
    free(data);
    ec_writer_fini(&w);
}

/* A reserved writer never moves its buffer while it stays within what was reserved (the
 * client relies on it to wipe personal data: a moved buffer leaves a copy behind). */
static void test_writer_reserve(void **state)
{
    (void)state;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_writer_reserve(&w, 100000);
    ec_write_nil(&w);
    const uint8_t *at = ec_writer_data(&w);
    static uint8_t big[60000];
    ec_write_bin(&w, big, sizeof big);
    ec_write_bin(&w, big, 30000);
    assert_ptr_equal(ec_writer_data(&w), at);
    assert_int_equal(ec_writer_size(&w), 1 + 3 + 60000 + 3 + 30000); /* bin16 headers */
    ec_writer_reset(&w);
    ec_writer_reserve(&w, 10); /* already room: kept as it is */
    assert_ptr_equal(ec_writer_data(&w), at);
    ec_writer_fini(&w);
}

/* Builds the message used by test_roundtrip_read; the caller frees *out. */
static uint8_t *s_build_sample(size_t *size, ec_writer_t *inner)
{
    static uint8_t big[300];
    static char longstr[300];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)i;
    memset(longstr, 'q', sizeof longstr);
    uint8_t fixed[32];
    memset(fixed, 0xab, sizeof fixed);

    ec_write_array(inner, 2);
    ec_write_uint(inner, 7);
    ec_write_cstr(inner, "raw");

    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 20);
    ec_write_uint(&w, 0);
    ec_write_uint(&w, UINT64_MAX);
    ec_write_int(&w, INT64_MIN);
    ec_write_int(&w, 42);
    ec_write_bool(&w, true);
    ec_write_bool(&w, false);
    ec_write_nil(&w);
    ec_write_bin(&w, big, sizeof big);
    ec_write_bin(&w, NULL, 0);
    ec_write_bin(&w, fixed, sizeof fixed);
    ec_write_nil(&w);
    ec_write_str(&w, longstr, sizeof longstr);
    ec_write_cstr(&w, "hello");
    ec_write_array(&w, 2);
    ec_write_uint(&w, 1);
    ec_write_array(&w, 0);
    ec_write_raw(&w, ec_writer_data(inner), ec_writer_size(inner));
    ec_write_array(&w, 3);
    ec_write_uint(&w, 10);
    ec_write_uint(&w, 11);
    ec_write_uint(&w, 12);
    ec_write_uint(&w, 300);
    ec_write_int(&w, -5);
    ec_write_cstr(&w, "copy me");
    ec_write_str(&w, "", 0);
    uint8_t *data = ec_writer_take(&w, size);
    ec_writer_fini(&w);
    return data;
}

static void test_roundtrip_read(void **state)
{
    (void)state;
    ec_writer_t inner;
    ec_writer_init(&inner);
    size_t size;
    uint8_t *data = s_build_sample(&size, &inner);
    assert_non_null(data);

    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *root;
    assert_int_equal(ec_decode(&d, data, size, &root), 0);

    ec_cur_t c, sub;
    uint64_t u;
    int64_t i;
    bool b, present;
    const uint8_t *bin;
    size_t bin_size;
    const char *s;
    size_t s_len;
    uint8_t fixed[32];
    char buf[16];

    ec_cur_open(&c, root, 20);
    ec_cur_uint(&c, &u);
    assert_int_equal(u, 0);
    ec_cur_uint(&c, &u);
    assert_true(u == UINT64_MAX);
    ec_cur_int(&c, &i);
    assert_true(i == INT64_MIN);
    ec_cur_int(&c, &i);
    assert_int_equal(i, 42);
    ec_cur_bool(&c, &b);
    assert_true(b);
    ec_cur_bool(&c, &b);
    assert_false(b);
    assert_true(ec_cur_peek_nil(&c));
    ec_cur_nil(&c);
    ec_cur_bin(&c, &bin, &bin_size, 300);
    assert_int_equal(bin_size, 300);
    assert_int_equal(bin[299], 299 & 0xff);
    /* bin points into the caller's buffer: msgpack-c references, it does not copy */
    assert_true(bin > data && bin + bin_size <= data + size);
    ec_cur_bin(&c, &bin, &bin_size, 0);
    assert_int_equal(bin_size, 0);
    ec_cur_bin_fixed(&c, fixed, sizeof fixed);
    assert_int_equal(fixed[31], 0xab);
    ec_cur_bin_fixed_opt(&c, fixed, sizeof fixed, &present);
    assert_false(present);
    assert_int_equal(fixed[0], 0);
    ec_cur_str(&c, &s, &s_len, 300);
    assert_int_equal(s_len, 300);
    assert_true((const uint8_t *)s > data && (const uint8_t *)s + s_len <= data + size);
    ec_cur_str(&c, &s, &s_len, 5);
    assert_int_equal(s_len, 5);
    assert_memory_equal(s, "hello", 5);
    ec_cur_enter(&c, &sub, 2);
    ec_cur_uint(&sub, &u);
    assert_int_equal(u, 1);
    const msgpack_object *empty = ec_cur_object(&sub);
    assert_non_null(empty);
    assert_int_equal(empty->type, MSGPACK_OBJECT_ARRAY);
    ec_cur_fold(&c, &sub);
    /* the raw-appended object re-encodes to the same bytes */
    const msgpack_object *raw = ec_cur_object(&c);
    assert_non_null(raw);
    ec_writer_t re;
    ec_writer_init(&re);
    ec_write_object(&re, raw);
    assert_int_equal(ec_writer_size(&re), ec_writer_size(&inner));
    assert_memory_equal(ec_writer_data(&re), ec_writer_data(&inner), ec_writer_size(&inner));
    ec_writer_fini(&re);
    ec_cur_enter_max(&c, &sub, 10);
    assert_int_equal(sub.count, 3);
    for (uint64_t k = 10; k < 13; k++) {
        ec_cur_uint(&sub, &u);
        assert_int_equal(u, k);
    }
    ec_cur_fold(&c, &sub);
    ec_cur_uint_max(&c, &u, 300);
    assert_int_equal(u, 300);
    ec_cur_int(&c, &i);
    assert_int_equal(i, -5);
    ec_cur_str_copy(&c, buf, sizeof buf);
    assert_string_equal(buf, "copy me");
    ec_cur_str_copy(&c, buf, 1);
    assert_string_equal(buf, "");
    assert_int_equal(ec_cur_finish(&c), 0);

    /* the whole message re-encodes to itself */
    ec_writer_t all;
    ec_writer_init(&all);
    ec_write_object(&all, root);
    assert_int_equal(ec_writer_size(&all), size);
    assert_memory_equal(ec_writer_data(&all), data, size);
    ec_writer_fini(&all);

    ec_decoder_fini(&d);
    ec_decoder_fini(&d);
    ec_writer_fini(&inner);
    free(data);
}

/* ---- decoder rejections ----------------------------------------------------------------- */

static void test_reject_types(void **state)
{
    (void)state;
    assert_int_equal(s_decode_hex(""), EC_EINVAL);                   /* empty           */
    assert_int_equal(s_decode_hex("80"), EC_EINVAL);                 /* fixmap          */
    assert_int_equal(s_decode_hex("810101"), EC_EINVAL);             /* fixmap {1:1}    */
    assert_int_equal(s_decode_hex("de0000"), EC_EINVAL);             /* map16           */
    assert_int_equal(s_decode_hex("df00000000"), EC_EINVAL);         /* map32           */
    assert_int_equal(s_decode_hex("9180"), EC_EINVAL);               /* map in array    */
    assert_int_equal(s_decode_hex("ca00000000"), EC_EINVAL);         /* float32         */
    assert_int_equal(s_decode_hex("cb0000000000000000"), EC_EINVAL); /* float64         */
    assert_int_equal(s_decode_hex("d40100"), EC_EINVAL);             /* fixext1         */
    assert_int_equal(s_decode_hex("c70101ff"), EC_EINVAL);           /* ext8            */
    assert_int_equal(s_decode_hex("d6ffffffffff"), EC_EINVAL);       /* timestamp32     */
    assert_int_equal(s_decode_hex("c1"), EC_EINVAL);                 /* never used      */
}

static void test_reject_trailing_and_truncated(void **state)
{
    (void)state;
    assert_int_equal(s_decode_hex("0101"), EC_EINVAL);     /* two objects     */
    assert_int_equal(s_decode_hex("910100"), EC_EINVAL);   /* trailing 00     */
    assert_int_equal(s_decode_hex("9201"), EC_EINVAL);     /* missing element */
    assert_int_equal(s_decode_hex("cd01"), EC_EINVAL);     /* short uint16    */
    assert_int_equal(s_decode_hex("a3616263"), 0);         /* "abc" ok        */
    assert_int_equal(s_decode_hex("a36162"), EC_EINVAL);   /* short str       */
    assert_int_equal(s_decode_hex("c403aabb"), EC_EINVAL); /* short bin       */
    assert_int_equal(s_decode_hex("c4"), EC_EINVAL);       /* no length byte  */
    /* An array announcing 4 billion elements is refused before msgpack-c allocates. */
    assert_int_equal(s_decode_hex("ddffffffff"), EC_EINVAL);
    assert_int_equal(s_decode_hex("dc0100c0c0"), EC_EINVAL);
}

static void test_reject_non_minimal(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "cc05",               /* uint8 for a fixint            */
        "cd0005",             /* uint16                        */
        "cd00ff",             /* uint16 for a uint8            */
        "ce00000005",         /* uint32                        */
        "ce0000ffff",         /* uint32 for a uint16           */
        "cf0000000000000005", /* uint64                        */
        "cf00000000ffffffff", /* uint64 for a uint32           */
        "d005",               /* int8 for a positive           */
        "d000",               /* negative-form zero            */
        "d100c8",             /* int16 for a positive          */
        "d3000000000000ffff", /* int64 for a positive          */
        "d0ff",               /* int8 -1 (fixint is ff)        */
        "d1ff80",             /* int16 -128 (int8 is d080)     */
        "d2ffff8000",         /* int32 -32768                  */
        "d3ffffffff80000000", /* int64 INT32_MIN               */
        "d903616263",         /* str8 for a fixstr             */
        "da0003616263",       /* str16                         */
        "db00000003616263",   /* str32                         */
        "c5000161",           /* bin16 for a bin8              */
        "c60000000161",       /* bin32                         */
        "dc000101",           /* array16 of 1                  */
        "dd0000000101",       /* array32 of 1                  */
        "91cc05",             /* nested non-minimal            */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (s_decode_hex(bad[i]) != EC_EINVAL)
            fail_msg("accepted non-canonical %s", bad[i]);
    }
    /* and their canonical forms pass */
    static const char *const good[] = {"05", "ccff",     "d0df",   "d080", "d1ff7f",
                                       "e0", "a3616263", "c40161", "9101", "c3"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (s_decode_hex(good[i]) != 0)
            fail_msg("rejected canonical %s", good[i]);
    }
}

/* str is UTF-8 text: well-formed strings pass, everything RFC 3629 forbids is EINVAL;
 * bin carries any bytes. */
static void test_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        int rc;
        const char *why;
    } cases[] = {
        {"a3616263", 0, "ascii"},
        {"a2c3a9", 0, "U+00E9 (2 bytes)"},
        {"a3e4b8ad", 0, "U+4E2D (3 bytes)"},
        {"a4f09f9880", 0, "U+1F600 (4 bytes)"},
        {"a4f48fbfbf", 0, "U+10FFFF, the last code point"},
        {"a3ed9fbf", 0, "U+D7FF, just below the surrogates"},
        {"a0", 0, "empty"},
        {"a180", EC_EINVAL, "lone continuation byte"},
        {"a2c0af", EC_EINVAL, "overlong '/' (2 bytes)"},
        {"a3e080af", EC_EINVAL, "overlong '/' (3 bytes)"},
        {"a4f08080af", EC_EINVAL, "overlong '/' (4 bytes)"},
        {"a3eda080", EC_EINVAL, "surrogate U+D800"},
        {"a4f4908080", EC_EINVAL, "U+110000, above the range"},
        {"a1f5", EC_EINVAL, "0xf5 lead byte"},
        {"a1ff", EC_EINVAL, "0xff"},
        {"a2e4b8", EC_EINVAL, "truncated 3-byte sequence"},
        {"a3e441ad", EC_EINVAL, "bad continuation byte"},
        {"c403ff80c0", 0, "bin: any bytes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = s_decode_hex(cases[i].hex);
        if (rc != cases[i].rc)
            fail_msg("%s (%s): got %d, want %d", cases[i].why, cases[i].hex, rc, cases[i].rc);
        /* The exported validator (used by the apps) says the same of a fixstr's bytes. */
        uint8_t buf[16];
        size_t n = s_unhex(buf, cases[i].hex);
        if ((buf[0] & 0xe0) == 0xa0 && ec_utf8_valid(buf + 1, n - 1) != (cases[i].rc == 0))
            fail_msg("ec_utf8_valid disagrees on %s (%s)", cases[i].why, cases[i].hex);
    }
    assert_true(ec_utf8_valid(NULL, 0));
    assert_true(ec_utf8_valid("\x00\x7f", 2));      /* NUL and DEL are UTF-8 (callers may refuse) */
    assert_false(ec_utf8_valid("\xc1\xbf", 2));     /* overlong U+007F */
    assert_false(ec_utf8_valid("\xed\xbf\xbf", 3)); /* surrogate U+DFFF */
    assert_true(ec_utf8_valid("\xee\x80\x80", 3));  /* U+E000, just above them */
    assert_false(ec_utf8_valid("\xf0\x9f\x98", 3)); /* truncated 4-byte sequence */
}

static void test_depth_limit(void **state)
{
    (void)state;
    uint8_t buf[64];
    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *root;
    /* EC_CODEC_DEPTH_MAX nested arrays [[[...[1]...]]] are fine */
    for (size_t i = 0; i < EC_CODEC_DEPTH_MAX; i++)
        buf[i] = 0x91;
    buf[EC_CODEC_DEPTH_MAX] = 0x01;
    assert_int_equal(ec_decode(&d, buf, EC_CODEC_DEPTH_MAX + 1, &root), 0);
    /* one more level is not, even when the innermost array is empty */
    for (size_t i = 0; i < EC_CODEC_DEPTH_MAX + 1; i++)
        buf[i] = 0x91;
    buf[EC_CODEC_DEPTH_MAX + 1] = 0x01;
    assert_int_equal(ec_decode(&d, buf, EC_CODEC_DEPTH_MAX + 2, &root), EC_ETOOBIG);
    assert_null(root);
    buf[EC_CODEC_DEPTH_MAX] = 0x90;
    assert_int_equal(ec_decode(&d, buf, EC_CODEC_DEPTH_MAX + 1, &root), EC_ETOOBIG);
    /* deeper than msgpack-c's own stack (32) */
    memset(buf, 0x91, sizeof buf);
    buf[63] = 0x01;
    assert_int_equal(ec_decode(&d, buf, sizeof buf, &root), EC_ETOOBIG);
    ec_decoder_fini(&d);
}

static void test_oversize(void **state)
{
    (void)state;
    size_t size = EC_CODEC_MESSAGE_BYTES_MAX + 1;
    uint8_t *buf = calloc(1, size);
    assert_non_null(buf);
    buf[0] = 0xc6; /* bin32 of the rest */
    uint32_t n = (uint32_t)(size - 5);
    buf[1] = (uint8_t)(n >> 24);
    buf[2] = (uint8_t)(n >> 16);
    buf[3] = (uint8_t)(n >> 8);
    buf[4] = (uint8_t)n;
    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *root;
    assert_int_equal(ec_decode(&d, buf, size, &root), EC_ETOOBIG);
    /* exactly at the limit it is accepted */
    n--;
    buf[1] = (uint8_t)(n >> 24);
    buf[2] = (uint8_t)(n >> 16);
    buf[3] = (uint8_t)(n >> 8);
    buf[4] = (uint8_t)n;
    assert_int_equal(ec_decode(&d, buf, size - 1, &root), 0);
    assert_int_equal(root->via.bin.size, n);
    ec_decoder_fini(&d);
    free(buf);
}

static void test_decoder_reuse(void **state)
{
    (void)state;
    ec_decoder_t d;
    ec_decoder_init(&d);
    ec_writer_t w;
    ec_writer_init(&w);
    const msgpack_object *root;
    for (uint32_t round = 0; round < 200; round++) {
        ec_writer_reset(&w);
        ec_write_array(&w, round % 40);
        for (uint32_t k = 0; k < round % 40; k++)
            ec_write_uint(&w, (uint64_t)round * k);
        assert_int_equal(ec_decode(&d, ec_writer_data(&w), ec_writer_size(&w), &root), 0);
        ec_cur_t c;
        ec_cur_open(&c, root, round % 40);
        for (uint32_t k = 0; k < round % 40; k++) {
            uint64_t v;
            ec_cur_uint(&c, &v);
            assert_true(v == (uint64_t)round * k);
        }
        assert_int_equal(ec_cur_finish(&c), 0);
        /* a failure in between does not break the decoder */
        const uint8_t bad[] = {0xcc, 0x01};
        assert_int_equal(ec_decode(&d, bad, sizeof bad, &root), EC_EINVAL);
    }
    ec_writer_fini(&w);
    ec_decoder_fini(&d);
}

/* ---- cursor errors ---------------------------------------------------------------------- */

/* Decodes the canonical message in w into d and returns the root. */
static const msgpack_object *s_parse(ec_decoder_t *d, ec_writer_t *w)
{
    const msgpack_object *root = NULL;
    assert_int_equal(ec_decode(d, ec_writer_data(w), ec_writer_size(w), &root), 0);
    return root;
}

static void test_cursor_sticky(void **state)
{
    (void)state;
    ec_decoder_t d;
    ec_decoder_init(&d);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 3);
    ec_write_cstr(&w, "x");
    ec_write_uint(&w, 5);
    ec_write_uint(&w, 6);
    const msgpack_object *root = s_parse(&d, &w);

    ec_cur_t c;
    uint64_t u = 99;
    ec_cur_open(&c, root, 3);
    ec_cur_uint(&c, &u); /* a str: type error */
    assert_int_equal(u, 0);
    assert_int_equal(c.err, EC_EINVAL);
    u = 99;
    ec_cur_uint(&c, &u); /* would be fine, but the error is sticky */
    assert_int_equal(u, 0);
    ec_cur_fail(&c, EC_ETOOBIG); /* the first error wins */
    assert_int_equal(ec_cur_finish(&c), EC_EINVAL);

    /* ec_cur_fail sets an error on a clean cursor */
    ec_cur_open(&c, root, 3);
    ec_cur_fail(&c, EC_EPERM);
    assert_int_equal(ec_cur_finish(&c), EC_EPERM);

    /* unread elements */
    const char *s;
    size_t len;
    ec_cur_open(&c, root, 3);
    ec_cur_str(&c, &s, &len, 10);
    ec_cur_uint(&c, &u);
    assert_int_equal(c.err, 0);
    assert_int_equal(ec_cur_finish(&c), EC_EINVAL);
    /* reading past the end */
    ec_cur_uint(&c, &u);
    ec_cur_uint(&c, &u);
    assert_int_equal(c.err, EC_EINVAL);
    assert_null(ec_cur_object(&c));

    /* count mismatch, in both directions */
    ec_cur_open(&c, root, 2);
    assert_int_equal(ec_cur_finish(&c), EC_EINVAL);
    ec_cur_open(&c, root, 4);
    ec_cur_str(&c, &s, &len, 10);
    assert_null(s);
    assert_int_equal(ec_cur_finish(&c), EC_EINVAL);
    ec_cur_open_max(&c, root, 2);
    assert_int_equal(ec_cur_finish(&c), EC_ETOOBIG);
    ec_cur_open_max(&c, root, 3);
    assert_int_equal(c.count, 3);
    assert_int_equal(c.err, 0);

    /* not an array */
    ec_cur_open(&c, &root->via.array.ptr[1], 0);
    assert_int_equal(ec_cur_finish(&c), EC_EINVAL);
    ec_cur_open(&c, NULL, 0);
    assert_int_equal(ec_cur_finish(&c), EC_EINVAL);

    /* uint above max, and a str longer than max */
    ec_cur_open(&c, root, 3);
    ec_cur_str(&c, &s, &len, 0);
    assert_int_equal(c.err, EC_ETOOBIG);
    assert_int_equal(len, 0);
    ec_cur_open(&c, root, 3);
    ec_cur_str(&c, &s, &len, 1);
    ec_cur_uint_max(&c, &u, 4);
    assert_int_equal(u, 0);
    assert_int_equal(ec_cur_finish(&c), EC_EINVAL);

    ec_writer_fini(&w);
    ec_decoder_fini(&d);
}

static void test_cursor_types(void **state)
{
    (void)state;
    ec_decoder_t d;
    ec_decoder_init(&d);
    ec_writer_t w;
    ec_writer_init(&w);
    uint8_t four[4] = {1, 2, 3, 4};
    ec_write_array(&w, 9);
    ec_write_uint(&w, (uint64_t)INT64_MAX + 1); /* 0: too big for int        */
    ec_write_bin(&w, four, 4);                  /* 1: bin4                   */
    ec_write_str(&w, "a\0b", 3);                /* 2: str with a NUL         */
    ec_write_cstr(&w, "abcdef");                /* 3: str6                   */
    ec_write_nil(&w);                           /* 4: nil                    */
    ec_write_int(&w, -1);                       /* 5: negative               */
    ec_write_bool(&w, true);                    /* 6                         */
    ec_write_array(&w, 2);                      /* 7: [1, 2]                 */
    ec_write_uint(&w, 1);
    ec_write_uint(&w, 2);
    ec_write_array(&w, 0); /* 8: [] */
    const msgpack_object *root = s_parse(&d, &w);

    ec_cur_t c, sub;
    int64_t i = 7;
    uint64_t u;
    bool b, present;
    uint8_t out[8];
    char buf[8];
    const uint8_t *bin;
    size_t bin_size;

#define OPEN_AT(k)                                                                                 \
    do {                                                                                           \
        ec_cur_open(&c, root, 9);                                                                  \
        for (int j_ = 0; j_ < (k); j_++)                                                           \
            (void)ec_cur_object(&c);                                                               \
        assert_int_equal(c.err, 0);                                                                \
    } while (0)

    OPEN_AT(0);
    ec_cur_int(&c, &i);
    assert_int_equal(i, 0);
    assert_int_equal(c.err, EC_EINVAL);

    OPEN_AT(1);
    memset(out, 0xee, sizeof out);
    ec_cur_bin_fixed(&c, out, 5); /* wrong length */
    assert_int_equal(c.err, EC_EINVAL);
    assert_int_equal(out[0], 0);
    OPEN_AT(1);
    ec_cur_bin_fixed(&c, out, 4);
    assert_memory_equal(out, four, 4);
    OPEN_AT(1);
    ec_cur_bin(&c, &bin, &bin_size, 3); /* above max */
    assert_int_equal(c.err, EC_ETOOBIG);
    assert_null(bin);
    OPEN_AT(1);
    ec_cur_bin_fixed_opt(&c, out, 4, &present);
    assert_true(present);
    OPEN_AT(1);
    ec_cur_str(&c, (const char **)&bin, &bin_size, 10); /* bin is not str */
    assert_int_equal(c.err, EC_EINVAL);

    OPEN_AT(2);
    ec_cur_str_copy(&c, buf, sizeof buf); /* embedded NUL */
    assert_int_equal(c.err, EC_EINVAL);
    assert_string_equal(buf, "");
    OPEN_AT(2);
    ec_cur_bin(&c, &bin, &bin_size, 10); /* str is not bin */
    assert_int_equal(c.err, EC_EINVAL);

    OPEN_AT(3);
    ec_cur_str_copy(&c, buf, 6); /* needs 7 bytes with the NUL */
    assert_int_equal(c.err, EC_ETOOBIG);
    assert_string_equal(buf, "");
    OPEN_AT(3);
    ec_cur_str_copy(&c, buf, 7);
    assert_string_equal(buf, "abcdef");
    OPEN_AT(3);
    ec_cur_nil(&c);
    assert_int_equal(c.err, EC_EINVAL);
    OPEN_AT(3);
    assert_false(ec_cur_peek_nil(&c));

    OPEN_AT(4);
    assert_true(ec_cur_peek_nil(&c));
    ec_cur_bin_fixed_opt(&c, out, 4, &present);
    assert_false(present);
    assert_int_equal(c.err, 0);
    OPEN_AT(4);
    ec_cur_bin_fixed(&c, out, 4); /* nil is not bin */
    assert_int_equal(c.err, EC_EINVAL);
    OPEN_AT(4);
    ec_cur_bool(&c, &b);
    assert_int_equal(c.err, EC_EINVAL);

    OPEN_AT(5);
    ec_cur_uint(&c, &u); /* negative is not uint */
    assert_int_equal(c.err, EC_EINVAL);
    OPEN_AT(5);
    ec_cur_int(&c, &i);
    assert_int_equal(i, -1);

    OPEN_AT(6);
    ec_cur_uint(&c, &u); /* bool is not uint */
    assert_int_equal(c.err, EC_EINVAL);

    OPEN_AT(7);
    ec_cur_enter(&c, &sub, 3); /* wrong count: sub fails, and c with it */
    assert_int_equal(sub.err, EC_EINVAL);
    assert_int_equal(c.err, EC_EINVAL);
    ec_cur_fold(&c, &sub); /* still allowed, and harmless */
    assert_int_equal(c.err, EC_EINVAL);
    OPEN_AT(7);
    ec_cur_enter(&c, &sub, 2);
    ec_cur_uint(&sub, &u); /* one left unread */
    ec_cur_fold(&c, &sub);
    assert_int_equal(c.err, EC_EINVAL);
    OPEN_AT(7);
    ec_cur_enter_max(&c, &sub, 1);
    assert_int_equal(sub.err, EC_ETOOBIG);
    assert_int_equal(sub.count, 0);
    assert_int_equal(c.err, EC_ETOOBIG);
    OPEN_AT(6);
    ec_cur_enter(&c, &sub, 0); /* bool is not an array */
    assert_int_equal(sub.err, EC_EINVAL);

    OPEN_AT(8);
    ec_cur_enter_max(&c, &sub, 5);
    assert_int_equal(sub.count, 0);
    assert_int_equal(ec_cur_finish(&sub), 0);
    assert_int_equal(ec_cur_finish(&c), 0);
    /* entering from a failed cursor hands the error down */
    ec_cur_enter(&c, &sub, 0);
    assert_int_equal(sub.err, EC_EINVAL);
#undef OPEN_AT

    ec_writer_fini(&w);
    ec_decoder_fini(&d);
}

/*
 * Regression (issue 6): after EC_ETOOBIG a cursor's count stayed above the limit, so a loop
 * `for (i < c.count)` filling an array sized by the limit ran past it. A failed cursor now
 * has count 0 and hands out only zeroed values.
 */
static void test_cursor_count_bounded_after_error(void **state)
{
    (void)state;
    ec_decoder_t d;
    ec_decoder_init(&d);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 5);
    for (uint64_t i = 1; i <= 5; i++)
        ec_write_uint(&w, i);
    const msgpack_object *root = s_parse(&d, &w);

    ec_cur_t c;
    ec_cur_open_max(&c, root, 2);
    assert_int_equal(c.err, EC_ETOOBIG);
    assert_int_equal(c.count, 0);
    uint64_t out[2] = {7, 7};
    for (uint32_t i = 0; i < c.count; i++)
        ec_cur_uint(&c, &out[i]); /* never runs: out has room for max elements only */
    assert_int_equal(out[0], 7);
    assert_int_equal(ec_cur_finish(&c), EC_ETOOBIG);

    /* A wrong exact count, a failed read: count drops to 0 as well. */
    ec_cur_open(&c, root, 4);
    assert_int_equal(c.count, 0);
    ec_cur_open(&c, root, 5);
    ec_cur_bool(&c, &(bool){false});
    assert_int_equal(c.err, EC_EINVAL);
    assert_int_equal(c.count, 0);
    assert_false(ec_cur_peek_nil(&c));

    /* Every read on a failed cursor zeroes its outputs. */
    uint64_t u = 9;
    int64_t i64 = 9;
    bool b = true, present = true;
    uint8_t fixed[4] = {9, 9, 9, 9}, zero4[4] = {0};
    const uint8_t *bin = (const uint8_t *)"x";
    const char *str = "x";
    size_t size = 9, len = 9;
    char buf[4] = "abc";
    ec_cur_uint(&c, &u);
    ec_cur_uint_max(&c, &u, 3);
    ec_cur_int(&c, &i64);
    ec_cur_bool(&c, &b);
    ec_cur_bin(&c, &bin, &size, 10);
    ec_cur_bin_fixed_opt(&c, fixed, sizeof fixed, &present);
    ec_cur_str(&c, &str, &len, 10);
    ec_cur_str_copy(&c, buf, sizeof buf);
    assert_int_equal(u, 0);
    assert_int_equal(i64, 0);
    assert_false(b);
    assert_null(bin);
    assert_int_equal(size, 0);
    assert_false(present);
    assert_memory_equal(fixed, zero4, 4);
    assert_null(str);
    assert_int_equal(len, 0);
    assert_string_equal(buf, "");
    assert_null(ec_cur_object(&c));
    assert_int_equal(c.err, EC_EINVAL); /* the first error is kept */

    ec_writer_fini(&w);
    ec_decoder_fini(&d);
}

/*
 * Regression (issue 6): an error inside a nested cursor was lost unless the caller folded
 * it; the parent's ec_cur_finish said 0. It now reaches every enclosing cursor at once.
 */
static void test_cursor_nested_error_reaches_parent(void **state)
{
    (void)state;
    ec_decoder_t d;
    ec_decoder_init(&d);
    ec_writer_t w;
    ec_writer_init(&w);
    /* [[1, "x"], [[2, 3, 4]]] */
    ec_write_array(&w, 2);
    ec_write_array(&w, 2);
    ec_write_uint(&w, 1);
    ec_write_cstr(&w, "x");
    ec_write_array(&w, 1);
    ec_write_array(&w, 3);
    ec_write_uint(&w, 2);
    ec_write_uint(&w, 3);
    ec_write_uint(&w, 4);
    const msgpack_object *root = s_parse(&d, &w);

    /* A type error in a child, never folded. */
    ec_cur_t c, sub, deep;
    uint64_t u = 0;
    ec_cur_open(&c, root, 2);
    ec_cur_enter(&c, &sub, 2);
    ec_cur_uint(&sub, &u);
    assert_int_equal(u, 1);
    ec_cur_uint(&sub, &u); /* "x" is no uint */
    assert_int_equal(sub.err, EC_EINVAL);
    (void)ec_cur_object(&c);
    assert_int_equal(ec_cur_finish(&c), EC_EINVAL);
    assert_int_equal(c.count, 0);

    /* Two levels down, above a limit: the root sees EC_ETOOBIG. */
    ec_cur_open(&c, root, 2);
    (void)ec_cur_object(&c);
    ec_cur_enter(&c, &sub, 1);
    ec_cur_enter_max(&sub, &deep, 2);
    assert_int_equal(deep.count, 0);
    assert_int_equal(ec_cur_finish(&c), EC_ETOOBIG);
    assert_int_equal(ec_cur_finish(&sub), EC_ETOOBIG);

    /* Unread elements of a child are still the child's (and fold's) business. */
    ec_cur_open(&c, root, 2);
    (void)ec_cur_object(&c);
    ec_cur_enter(&c, &sub, 1);
    ec_cur_enter(&sub, &deep, 3);
    ec_cur_uint(&deep, &u);
    assert_int_equal(ec_cur_finish(&c), 0);
    assert_int_equal(ec_cur_finish(&deep), EC_EINVAL);
    ec_cur_fold(&sub, &deep);
    assert_int_equal(ec_cur_finish(&c), EC_EINVAL);

    /* An error the caller sets in a child (ec_cur_fail) goes up as well. */
    ec_cur_open(&c, root, 2);
    ec_cur_enter(&c, &sub, 2);
    ec_cur_fail(&sub, EC_EPERM);
    assert_int_equal(ec_cur_finish(&c), EC_EPERM);

    ec_writer_fini(&w);
    ec_decoder_fini(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writer_minimal_uint),
        cmocka_unit_test(test_writer_minimal_int),
        cmocka_unit_test(test_writer_headers),
        cmocka_unit_test(test_writer_take),
        cmocka_unit_test(test_writer_reserve),
        cmocka_unit_test(test_roundtrip_read),
        cmocka_unit_test(test_reject_types),
        cmocka_unit_test(test_reject_trailing_and_truncated),
        cmocka_unit_test(test_reject_non_minimal),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_decoder_reuse),
        cmocka_unit_test(test_cursor_sticky),
        cmocka_unit_test(test_cursor_types),
        cmocka_unit_test(test_cursor_count_bounded_after_error),
        cmocka_unit_test(test_cursor_nested_error_reaches_parent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
