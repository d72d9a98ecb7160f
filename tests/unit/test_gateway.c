/*
 * test_gateway.c - the gateway's pure parts (gateway/): typed JSON <-> msgpack
 * (gw_tjson.c) for every type, its limits and refusals, and round trips; the error-code
 * to HTTP-status table (gw_err.c) against docs/GATEWAY.md; route matching and the
 * OpenAPI document (gw_routes.c); the portal's path rules (gw_static.c) against a real
 * folder with a symlink out of it; the per-address token buckets (gw_rate.c); and the
 * event hub's filter (gw_events.c) on a hub with no chains, fed by gw_events_push.
 * The parts that talk to chains are tested against real daemons by
 * tests/integration/gateway.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "ec_codec.h"
#include "ec_err.h"
#include "gw_app.h"
#include "gw_err.h"
#include "gw_events.h"
#include "gw_rate.h"
#include "gw_static.h"
#include "gw_tjson.h"

/* ---- typed JSON ------------------------------------------------------------------------- */

/* text -> msgpack -> JSON text again, which must be `expect` (compact, sorted keys). */
static void s_round(const char *text, const char *expect)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &e);
    assert_non_null(j);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_status_t st = {0};
    assert_int_equal(gw_tjson_to_msgpack(&w, j, &st), 0);
    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *root;
    assert_int_equal(ec_decode(&d, ec_writer_data(&w), ec_writer_size(&w), &root), 0);
    json_t *back = NULL;
    assert_int_equal(gw_tjson_from_msgpack(&back, root), 0);
    char *out = json_dumps(back, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
    assert_string_equal(out, expect);
    free(out);
    json_decref(back);
    json_decref(j);
    ec_decoder_fini(&d);
    ec_writer_fini(&w);
}

static void test_tjson_types(void **state)
{
    (void)state;
    s_round("\"text\"", "\"text\"");
    s_round("\"\"", "\"\"");
    s_round("0", "0");
    s_round("127", "127");
    s_round("9223372036854775807", "9223372036854775807");
    s_round("-1", "-1");
    s_round("-9223372036854775808", "-9223372036854775808");
    s_round("true", "true");
    s_round("false", "false");
    s_round("null", "null");
    s_round("[]", "[]");
    s_round("[1,\"a\",[true,null]]", "[1,\"a\",[true,null]]");
    s_round("{\"hex\":\"\"}", "{\"hex\":\"\"}");
    s_round("{\"hex\":\"00ff10\"}", "{\"hex\":\"00ff10\"}");
    s_round("{\"hex\":\"ABCD\"}", "{\"hex\":\"abcd\"}");                /* output is lowercase */
    s_round("\"\\u00e9t\\u00e9 \\u4e2d\"", "\"\u00e9t\u00e9 \u4e2d\""); /* UTF-8 out */
}

/* The exact bytes of typed JSON: every type maps to the msgpack type the table says. */
static void test_tjson_bytes(void **state)
{
    (void)state;
    json_t *j = json_loads("[\"a\",1,-1,true,null,{\"hex\":\"0102\"}]", 0, NULL);
    ec_writer_t w;
    ec_writer_init(&w);
    assert_int_equal(gw_tjson_to_msgpack(&w, j, NULL), 0);
    static const uint8_t expect[] = {0x96, 0xa1, 'a',  0x01, 0xff, 0xc3,
                                     0xc0, 0xc4, 0x02, 0x01, 0x02};
    assert_int_equal(ec_writer_size(&w), sizeof expect);
    assert_memory_equal(ec_writer_data(&w), expect, sizeof expect);
    ec_writer_fini(&w);
    json_decref(j);
}

static int s_to_rc(const char *text)
{
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    assert_non_null(j);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_status_t st = {0};
    int rc = gw_tjson_to_msgpack(&w, j, &st);
    if (rc)
        assert_true(st.msg[0] != '\0'); /* every refusal says why */
    ec_writer_fini(&w);
    json_decref(j);
    return rc;
}

static void test_tjson_refusals(void **state)
{
    (void)state;
    assert_int_equal(s_to_rc("1.5"), EC_EINVAL);
    assert_int_equal(s_to_rc("{}"), EC_EINVAL);
    assert_int_equal(s_to_rc("{\"a\":1}"), EC_EINVAL);
    assert_int_equal(s_to_rc("{\"hex\":1}"), EC_EINVAL);
    assert_int_equal(s_to_rc("{\"hex\":\"abc\"}"), EC_EINVAL);
    assert_int_equal(s_to_rc("{\"hex\":\"zz\"}"), EC_EINVAL);
    assert_int_equal(s_to_rc("{\"hex\":\"00\",\"x\":1}"), EC_EINVAL);
    assert_int_equal(s_to_rc("[[{\"hex\":\"0g\"}]]"), EC_EINVAL);
    assert_int_equal(gw_tjson_to_msgpack(NULL, NULL, NULL), EC_EINVAL);
}

/* Nesting: 16 arrays deep pass, 17 do not, in both directions. */
static void test_tjson_depth(void **state)
{
    (void)state;
    char text[64];
    for (int depth = 16; depth <= 17; depth++) {
        memset(text, '[', (size_t)depth);
        memset(text + depth, ']', (size_t)depth);
        text[2 * depth] = '\0';
        assert_int_equal(s_to_rc(text), depth == 16 ? 0 : EC_ETOOBIG);
    }
    /* msgpack of depth 17 (built by hand: the codec would refuse to parse it) */
    msgpack_object objs[17];
    for (int i = 0; i < 17; i++) {
        objs[i].type = MSGPACK_OBJECT_ARRAY;
        objs[i].via.array.size = i < 16 ? 1 : 0;
        objs[i].via.array.ptr = i < 16 ? &objs[i + 1] : NULL;
    }
    json_t *out = NULL;
    assert_int_equal(gw_tjson_from_msgpack(&out, &objs[0]), EC_ETOOBIG);
    assert_null(out);
    assert_int_equal(gw_tjson_from_msgpack(&out, &objs[1]), 0); /* 16 deep */
    json_decref(out);
}

/* Types typed JSON has no form for, from the msgpack side. */
static void test_tjson_from_refusals(void **state)
{
    (void)state;
    json_t *out = NULL;
    msgpack_object o = {.type = MSGPACK_OBJECT_FLOAT64};
    o.via.f64 = 1.5;
    assert_int_equal(gw_tjson_from_msgpack(&out, &o), EC_EINVAL);
    o.type = MSGPACK_OBJECT_MAP;
    o.via.map.size = 0;
    o.via.map.ptr = NULL;
    assert_int_equal(gw_tjson_from_msgpack(&out, &o), EC_EINVAL);
    o.type = MSGPACK_OBJECT_EXT;
    assert_int_equal(gw_tjson_from_msgpack(&out, &o), EC_EINVAL);
    o.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
    o.via.u64 = (uint64_t)INT64_MAX + 1; /* jansson holds no such integer */
    assert_int_equal(gw_tjson_from_msgpack(&out, &o), EC_EINVAL);
    o.type = MSGPACK_OBJECT_STR;
    o.via.str.ptr = "\xff\xfe";
    o.via.str.size = 2;
    assert_int_equal(gw_tjson_from_msgpack(&out, &o), EC_EINVAL);
    assert_null(out);
}

/* Size: a binary of more than GW_TJSON_BYTES_MAX is refused before it is copied. */
static void test_tjson_size(void **state)
{
    (void)state;
    size_t n = 2 * (GW_TJSON_BYTES_MAX + 1);
    char *hex = malloc(n + 1);
    memset(hex, 'a', n);
    hex[n] = '\0';
    json_t *j = json_pack("[{s:s}]", "hex", hex);
    ec_writer_t w;
    ec_writer_init(&w);
    assert_int_equal(gw_tjson_to_msgpack(&w, j, NULL), EC_ETOOBIG);
    ec_writer_fini(&w);
    json_decref(j);
    /* many small strings that add up past the limit */
    j = json_array();
    hex[64 * 1024] = '\0';
    for (int i = 0; i < 20; i++)
        json_array_append_new(j, json_string(hex));
    ec_writer_init(&w);
    assert_int_equal(gw_tjson_to_msgpack(&w, j, NULL), EC_ETOOBIG);
    ec_writer_fini(&w);
    json_decref(j);
    free(hex);
}

static void test_hex_b64(void **state)
{
    (void)state;
    uint8_t b[4];
    size_t len = 0;
    assert_int_equal(gw_hex_decode(b, sizeof b, &len, "0a0B", 0), 0);
    assert_int_equal(len, 2);
    assert_int_equal(gw_hex_decode(b, sizeof b, &len, "0a0B", 2), 0);
    assert_int_equal(gw_hex_decode(b, sizeof b, &len, "0a0B", 3), EC_EINVAL);
    assert_int_equal(gw_hex_decode(b, sizeof b, &len, "0a0", 0), EC_EINVAL);
    assert_int_equal(gw_hex_decode(b, sizeof b, &len, "0a0b0c0d0e", 0), EC_EINVAL);
    assert_int_equal(gw_hex_decode(b, sizeof b, &len, "0x", 0), EC_EINVAL);
    uint8_t *out = NULL;
    assert_int_equal(gw_b64_decode(&out, &len, "aGVsbG8=", 16), 0);
    assert_int_equal(len, 5);
    assert_memory_equal(out, "hello", 5);
    free(out);
    assert_int_equal(gw_b64_decode(&out, &len, "aGVsbG8=", 4), EC_ETOOBIG);
    assert_int_equal(gw_b64_decode(&out, &len, "aGVsbG8", 16), EC_EINVAL); /* unpadded */
    assert_int_equal(gw_b64_decode(&out, &len, "a$==", 16), EC_EINVAL);
    json_t *j = gw_json_b64((const uint8_t *)"hello", 5);
    assert_string_equal(json_string_value(j), "aGVsbG8=");
    json_decref(j);
}

/* ---- error mapping ---------------------------------------------------------------------- */

/* docs/GATEWAY.md's table, row by row. */
static void test_err_table(void **state)
{
    (void)state;
    static const struct {
        int code;
        unsigned http;
    } table[] = {
        {EC_EINVAL, 400},    {EC_ETOOBIG, 413},   {EC_ENOTFOUND, 404},
        {EC_EEXIST, 409},    {EC_ESIG, 422},      {EC_EREPLAY, 409},
        {EC_EPERM, 403},     {EC_ECHAIN, 400},    {EC_EMETHOD, 404},
        {EC_EIO, 502},       {EC_ENOMEM, 503},    {EC_ETIMEOUT, 504},
        {EC_EBUSY, 429},     {EC_EPROOF, 422},    {EC_EDUPLICATE, 409},
        {EC_EFORK, 409},     {EC_EFROZEN, 409},   {EC_ESTATE, 409},
        {EC_EVERSION, 400},  {EC_ECRYPTO, 422},   {EC_ECONFIG, 500},
        {EC_EINTERNAL, 500}, {EC_ESHUTDOWN, 503}, {EC_ESTALE, 503},
        {EC_ELIMIT, 422},    {EC_ECONTRACT, 422}, {0, 200},
        {-99, 500},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        assert_int_equal(gw_err_http_status(table[i].code), table[i].http);
    json_t *e = gw_err_json(EC_ENOTFOUND, "no such thing");
    json_t *in = json_object_get(e, "error");
    assert_int_equal(json_integer_value(json_object_get(in, "code")), -3);
    assert_string_equal(json_string_value(json_object_get(in, "name")), "ENOTFOUND");
    assert_string_equal(json_string_value(json_object_get(in, "message")), "no such thing");
    json_decref(e);
    e = gw_err_json(EC_EBUSY, NULL); /* no message: the code's own description */
    assert_true(strlen(json_string_value(json_object_get(json_object_get(e, "error"), "message"))) >
                0);
    json_decref(e);
}

/* ---- routes ----------------------------------------------------------------------------- */

static void test_path_match(void **state)
{
    (void)state;
    char v[GW_PATH_VALUES_MAX][GW_PATH_VALUE_BYTES];
    size_t n;
    assert_true(gw_route_path_match("/api/v1/chains/{chain}/txs/{id}",
                                    "/api/v1/chains/degree/txs/abcd", v, &n));
    assert_int_equal(n, 2);
    assert_string_equal(v[0], "degree");
    assert_string_equal(v[1], "abcd");
    assert_false(gw_route_path_match("/api/v1/chains/{chain}", "/api/v1/chains/", v, &n));
    assert_false(gw_route_path_match("/api/v1/chains/{chain}", "/api/v1/chains/a/b", v, &n));
    assert_false(gw_route_path_match("/api/v1/chains", "/api/v1/chains/", v, &n));
    assert_false(gw_route_path_match("/api/v1/chains", "/api/v1/chain", v, &n));
    char long_seg[300];
    memset(long_seg, 'x', sizeof long_seg);
    memcpy(long_seg, "/api/v1/chains/", 15);
    long_seg[sizeof long_seg - 1] = '\0';
    assert_false(gw_route_path_match("/api/v1/chains/{chain}", long_seg, v, &n));

    gw_call_t c;
    memset(&c, 0, sizeof c);
    bool known;
    const gw_route_t *r = gw_route_match("GET", "/api/v1/chains/main/headers/0", &c, &known);
    assert_non_null(r);
    assert_ptr_equal(r->fn, gw_h_header);
    r = gw_route_match("GET", "/api/v1/chains/main/headers", &c, &known);
    assert_ptr_equal(r->fn, gw_h_headers);
    r = gw_route_match("POST", "/api/v1/chains/main/tx", &c, &known);
    assert_ptr_equal(r->fn, gw_h_submit);
    r = gw_route_match("POST", "/api/v1/chains/main/tx/prepare", &c, &known);
    assert_ptr_equal(r->fn, gw_h_prepare);
    r = gw_route_match("GET", "/api/v1/chains/marriage/certs/00/events", &c, &known);
    assert_ptr_equal(r->fn, gw_h_cert_events);
    r = gw_route_match("HEAD", "/healthz", &c, &known);
    assert_ptr_equal(r->fn, gw_h_healthz);
    /* the same path with another method: known, no route (405-like EMETHOD) */
    assert_null(gw_route_match("DELETE", "/api/v1/chains/main", &c, &known));
    assert_true(known);
    assert_null(gw_route_match("GET", "/api/v1/nothing", &c, &known));
    assert_false(known);
}

/* The OpenAPI document lists every route once, with its parameters and responses, and
 * every path parameter of a template is declared. */
static void test_openapi(void **state)
{
    (void)state;
    json_t *doc = gw_openapi("http://127.0.0.1:1");
    assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    json_t *paths = json_object_get(doc, "paths");
    size_t ops = 0;
    const char *path;
    json_t *item;
    json_object_foreach(paths, path, item)
    {
        const char *method;
        json_t *op;
        json_object_foreach(item, method, op)
        {
            ops++;
            assert_non_null(json_object_get(json_object_get(op, "responses"), "200"));
            /* each {x} of the path is a declared path parameter */
            for (const char *p = strchr(path, '{'); p; p = strchr(p + 1, '{')) {
                size_t len = (size_t)(strchr(p, '}') - p - 1);
                bool found = false;
                size_t i;
                json_t *param;
                json_array_foreach(json_object_get(op, "parameters"), i, param)
                {
                    const char *name = json_string_value(json_object_get(param, "name"));
                    if (strlen(name) == len && !strncmp(name, p + 1, len) &&
                        !strcmp(json_string_value(json_object_get(param, "in")), "path"))
                        found = true;
                }
                assert_true(found);
            }
        }
    }
    assert_int_equal(ops, gw_route_count);
    json_decref(doc);
}

/* ---- static files ----------------------------------------------------------------------- */

static void test_static_paths(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/gw_static_XXXXXX", outside[] = "/tmp/gw_outside_XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    assert_non_null(mkdtemp(outside));
    char root[4096], p[4096 + 64], out[4096];
    assert_non_null(realpath(tmpl, root));
    snprintf(p, sizeof p, "%s/index.html", root);
    FILE *f = fopen(p, "w");
    fputs("<!doctype html>", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/js", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/js/app.mjs", root);
    f = fopen(p, "w");
    fclose(f);
    snprintf(p, sizeof p, "%s/.secret", root);
    f = fopen(p, "w");
    fclose(f);
    snprintf(p, sizeof p, "%s/secret.txt", outside);
    f = fopen(p, "w");
    fclose(f);
    char link[4096 + 64];
    snprintf(link, sizeof link, "%s/out", root);
    assert_int_equal(symlink(outside, link), 0);

    assert_int_equal(gw_static_resolve(root, "/", out, sizeof out), 0);
    assert_non_null(strstr(out, "/index.html"));
    assert_int_equal(gw_static_resolve(root, "/js/app.mjs", out, sizeof out), 0);
    assert_int_equal(gw_static_resolve(root, "/js", out, sizeof out), EC_ENOTFOUND);
    assert_int_equal(gw_static_resolve(root, "/js/", out, sizeof out), EC_EINVAL);
    assert_int_equal(gw_static_resolve(root, "/nope.html", out, sizeof out), EC_ENOTFOUND);
    assert_int_equal(gw_static_resolve(root, "/../etc/passwd", out, sizeof out), EC_EINVAL);
    assert_int_equal(gw_static_resolve(root, "/js/../index.html", out, sizeof out), EC_EINVAL);
    assert_int_equal(gw_static_resolve(root, "/.secret", out, sizeof out), EC_EINVAL);
    assert_int_equal(gw_static_resolve(root, "//etc/passwd", out, sizeof out), EC_EINVAL);
    assert_int_equal(gw_static_resolve(root, "index.html", out, sizeof out), EC_EINVAL);
    assert_int_equal(gw_static_resolve(root, "/a\\b", out, sizeof out), EC_EINVAL);
    assert_int_equal(gw_static_resolve(root, "/a b", out, sizeof out), EC_EINVAL);
    assert_int_equal(gw_static_resolve(root, "/out/secret.txt", out, sizeof out), EC_EPERM);

    assert_string_equal(gw_static_type("/x/index.html"), "text/html; charset=utf-8");
    assert_string_equal(gw_static_type("/x/app.mjs"), "text/javascript; charset=utf-8");
    assert_string_equal(gw_static_type("/x/app.js"), "text/javascript; charset=utf-8");
    assert_string_equal(gw_static_type("/x/a.css"), "text/css; charset=utf-8");
    assert_string_equal(gw_static_type("/x/a.wasm"), "application/wasm");
    assert_string_equal(gw_static_type("/x/a.svg"), "image/svg+xml");
    assert_string_equal(gw_static_type("/x/a.png"), "image/png");
    assert_string_equal(gw_static_type("/x/a.json"), "application/json; charset=utf-8");
    assert_string_equal(gw_static_type("/x.d/README"), "application/octet-stream");

    unlink(link);
    snprintf(p, sizeof p, "%s/secret.txt", outside);
    unlink(p);
    rmdir(outside);
    snprintf(p, sizeof p, "%s/js/app.mjs", root);
    unlink(p);
    snprintf(p, sizeof p, "%s/js", root);
    rmdir(p);
    snprintf(p, sizeof p, "%s/index.html", root);
    unlink(p);
    snprintf(p, sizeof p, "%s/.secret", root);
    unlink(p);
    rmdir(root);
}

/* ---- rate limiter ----------------------------------------------------------------------- */

static void test_rate(void **state)
{
    (void)state;
    gw_rate_t *r = gw_rate_new(2.0, 3.0, 64);
    uint8_t a[GW_RATE_ADDR_BYTES] = {1}, b[GW_RATE_ADDR_BYTES] = {2};
    uint32_t retry = 0;
    uint64_t t = 1000;
    for (int i = 0; i < 3; i++)
        assert_true(gw_rate_take(r, a, t, &retry)); /* the burst */
    assert_false(gw_rate_take(r, a, t, &retry));
    assert_int_equal(retry, 1);
    assert_true(gw_rate_take(r, b, t, &retry));        /* another address has its own bucket */
    assert_false(gw_rate_take(r, a, t + 400, &retry)); /* 0.8 token */
    assert_true(gw_rate_take(r, a, t + 500, &retry));  /* 1 token after 500 ms at 2/s */
    assert_false(gw_rate_take(r, a, t + 500, &retry));
    assert_true(gw_rate_take(r, a, t + 100000, &retry)); /* refilled, capped at the burst */
    assert_true(gw_rate_take(r, a, t + 100000, &retry));
    assert_true(gw_rate_take(r, a, t + 100000, &retry));
    assert_false(gw_rate_take(r, a, t + 100000, &retry));
    gw_rate_destroy(&r);
    assert_null(r);

    /* a slow rate: Retry-After counts whole seconds */
    r = gw_rate_new(0.25, 1.0, 4);
    assert_true(gw_rate_take(r, a, t, &retry));
    assert_false(gw_rate_take(r, a, t, &retry));
    assert_int_equal(retry, 4);
    gw_rate_destroy(&r);

    /* a rate so small the delay overflows a uint32_t: Retry-After is clamped to a day */
    r = gw_rate_new(1e-12, 1.0, 4);
    assert_true(gw_rate_take(r, a, t, &retry));
    assert_false(gw_rate_take(r, a, t, &retry));
    assert_int_equal(retry, 86400);
    gw_rate_destroy(&r);

    /* a full table: many addresses in few slots never grow memory and never lock out a
     * new address whose set holds only full buckets */
    r = gw_rate_new(1.0, 1.0, 4);
    for (int i = 0; i < 100; i++) {
        uint8_t x[GW_RATE_ADDR_BYTES] = {0};
        x[0] = (uint8_t)i;
        x[1] = 7;
        assert_true(gw_rate_take(r, x, t + 2000u * (uint64_t)i, &retry));
    }
    gw_rate_destroy(&r);

    r = gw_rate_new(0, 0, 4); /* off */
    for (int i = 0; i < 1000; i++)
        assert_true(gw_rate_take(r, a, t, &retry));
    gw_rate_destroy(&r);
}

/* ---- event hub -------------------------------------------------------------------------- */

typedef struct {
    gw_events_t *hub;
    volatile int stop;
} s_pusher_t;

/* Pushes an event no stream below wants every 5 ms until told to stop. */
static void *s_pusher(void *arg)
{
    s_pusher_t *p = arg;
    while (!p->stop) {
        gw_events_push(p->hub, GW_TOPIC_HEADER, "other", "{}");
        usleep(5000);
    }
    return NULL;
}

static void test_events_next(void **state)
{
    (void)state;
    gw_app_t *app = calloc(1, sizeof *app); /* no chains: the hub only relays pushes */
    assert_non_null(app);
    pthread_mutex_init(&app->pool_lock, NULL);
    gw_events_t *hub = gw_events_start(app);
    assert_non_null(hub);
    gw_event_t *e = malloc(sizeof *e);
    assert_non_null(e);

    uint64_t seq = gw_events_head(hub);
    gw_events_push(hub, GW_TOPIC_HEADER, "degree", "{\"a\":1}");
    gw_events_push(hub, GW_TOPIC_ANCHOR, "main", "{\"b\":2}");
    gw_events_push(hub, GW_TOPIC_HEADER, "main", "{\"c\":3}");
    uint64_t far = gw_events_now_ms() + 60000;
    /* headers of main only: the first two are skipped */
    assert_int_equal(gw_events_next(hub, &seq, e, GW_TOPIC_HEADER, ",main,", far), 1);
    assert_string_equal(e->data, "{\"c\":3}");
    assert_int_equal(seq, gw_events_head(hub));
    /* every chain, every topic */
    seq -= 3;
    assert_int_equal(gw_events_next(hub, &seq, e, GW_TOPIC_ALL, "", far), 1);
    assert_string_equal(e->chain, "degree");
    /* nothing new: the deadline ends the wait */
    seq = gw_events_head(hub);
    assert_int_equal(gw_events_next(hub, &seq, e, GW_TOPIC_ALL, "", gw_events_now_ms() + 50), 0);

    /* A steady flow of unwanted events does not postpone the deadline (a stream must
     * still send its keep-alive): the wait ends while the flow goes on. */
    s_pusher_t p = {.hub = hub};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, s_pusher, &p), 0);
    assert_int_equal(
        gw_events_next(hub, &seq, e, GW_TOPIC_HEADER, ",main,", gw_events_now_ms() + 300), 0);
    p.stop = 1;
    pthread_join(t, NULL);

    gw_events_wake(hub); /* stopping: waits end at once */
    assert_int_equal(gw_events_next(hub, &seq, e, GW_TOPIC_ALL, "", far), -1);
    free(e);
    gw_events_stop(&hub);
    assert_null(hub);
    gw_ctx_pool_fini(app);
    pthread_mutex_destroy(&app->pool_lock);
    free(app);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tjson_types),
        cmocka_unit_test(test_tjson_bytes),
        cmocka_unit_test(test_tjson_refusals),
        cmocka_unit_test(test_tjson_depth),
        cmocka_unit_test(test_tjson_from_refusals),
        cmocka_unit_test(test_tjson_size),
        cmocka_unit_test(test_hex_b64),
        cmocka_unit_test(test_err_table),
        cmocka_unit_test(test_path_match),
        cmocka_unit_test(test_openapi),
        cmocka_unit_test(test_static_paths),
        cmocka_unit_test(test_rate),
        cmocka_unit_test(test_events_next),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
