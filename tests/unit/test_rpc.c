/*
 * test_rpc.c - the RPC frame codec (every parse error, round trips) and the client
 * against a hand-driven ROUTER on 127.0.0.1: matching by req_id, stale replies dropped,
 * pipelining, garbled replies, timeouts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "ec_rpc.h"

/* ---- frame codec ------------------------------------------------------------------------ */

static int s_parse(const uint8_t *data, size_t size, ec_rpc_request_t *req, ec_status_t *st)
{
    ec_decoder_t d;
    ec_decoder_init(&d);
    int rc = ec_rpc_request_parse_st(&d, data, size, req, st);
    ec_decoder_fini(&d);
    return rc;
}

static void test_request_round_trip(void **state)
{
    (void)state;
    ec_writer_t p, w;
    ec_writer_init(&p);
    ec_writer_init(&w);
    ec_write_array(&p, 2);
    ec_write_uint(&p, 42);
    ec_write_cstr(&p, "x");
    ec_rpc_request_encode(&w, 77, "header", ec_writer_data(&p), ec_writer_size(&p));

    ec_decoder_t d;
    ec_decoder_init(&d);
    ec_rpc_request_t req;
    assert_int_equal(ec_rpc_request_parse(&d, ec_writer_data(&w), ec_writer_size(&w), &req), 0);
    assert_int_equal(req.req_id, 77);
    assert_string_equal(req.method, "header");
    assert_int_equal(req.params->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(req.params->via.array.size, 2);
    assert_int_equal(req.params->via.array.ptr[0].via.u64, 42);
    ec_decoder_fini(&d);

    /* NULL params encode as [] */
    ec_writer_reset(&w);
    ec_rpc_request_encode(&w, 1, "status", NULL, 0);
    static const uint8_t expect[] = {0x94, 0x01, 0x01, 0xa6, 's', 't', 'a', 't', 'u', 's', 0x90};
    assert_int_equal(ec_writer_size(&w), sizeof(expect));
    assert_memory_equal(ec_writer_data(&w), expect, sizeof(expect));
    ec_writer_fini(&p);
    ec_writer_fini(&w);
}

static void test_reply_encoding(void **state)
{
    (void)state;
    ec_writer_t w;
    ec_writer_init(&w);
    static const uint8_t result[] = {0x92, 0x01, 0xc0}; /* [1, nil] */
    ec_rpc_reply_ok(&w, 5, result, sizeof(result));
    static const uint8_t ok[] = {0x94, 0x01, 0x05, 0x00, 0x92, 0x01, 0xc0};
    assert_int_equal(ec_writer_size(&w), sizeof(ok));
    assert_memory_equal(ec_writer_data(&w), ok, sizeof(ok));

    ec_writer_reset(&w);
    ec_rpc_reply_error(&w, 300, EC_EREPLAY, "seen");
    static const uint8_t err[] = {0x94, 0x01, 0xcd, 0x01, 0x2c, 0xfa, 0xa4, 's', 'e', 'e', 'n'};
    assert_int_equal(ec_writer_size(&w), sizeof(err));
    assert_memory_equal(ec_writer_data(&w), err, sizeof(err));
    ec_writer_fini(&w);
}

typedef struct {
    const char *name;
    const uint8_t *data;
    size_t size;
    int code;
    uint64_t req_id; /* expected even on error */
} s_bad_t;

static void test_request_parse_errors(void **state)
{
    (void)state;
    static const uint8_t garbage[] = {0xc1, 0x00, 0x17};
    static const uint8_t map[] = {0x81, 0x01, 0x02};
    static const uint8_t trailing[] = {0x94, 0x01, 0x07, 0xa1, 'x', 0x90, 0x00};
    static const uint8_t scalar[] = {0x07};
    static const uint8_t three[] = {0x93, 0x01, 0x09, 0xa1, 'x'};
    static const uint8_t five[] = {0x95, 0x01, 0x09, 0xa1, 'x', 0x90, 0xc0};
    static const uint8_t version2[] = {0x94, 0x02, 0x0b, 0xa1, 'x', 0x90};
    static const uint8_t version2_short[] = {0x92, 0x02, 0x0c};
    static const uint8_t version_str[] = {0x94, 0xa1, '1', 0x0b, 0xa1, 'x', 0x90};
    static const uint8_t id_negative[] = {0x94, 0x01, 0xff, 0xa1, 'x', 0x90};
    static const uint8_t id_str[] = {0x94, 0x01, 0xa1, '1', 0xa1, 'x', 0x90};
    static const uint8_t method_uint[] = {0x94, 0x01, 0x0d, 0x05, 0x90};
    static const uint8_t method_empty[] = {0x94, 0x01, 0x0d, 0xa0, 0x90};
    static const uint8_t method_nul[] = {0x94, 0x01, 0x0d, 0xa2, 'a', 0x00, 0x90};
    static const uint8_t params_nil[] = {0x94, 0x01, 0x0e, 0xa1, 'x', 0xc0};
    static const uint8_t params_map[] = {0x94, 0x01, 0x0e, 0xa1, 'x', 0x80};
    static const uint8_t non_canonical[] = {0x94, 0x01, 0xcc, 0x05, 0xa1, 'x', 0x90};
    static const uint8_t method_bin[] = {0x94, 0x01, 0x0f, 0xc4, 0x01, 'x', 0x90};
    uint8_t method_long[40] = {0x94, 0x01, 0x10, 0xd9, 32};
    memset(method_long + 5, 'm', 32);
    method_long[37] = 0x90;
    const s_bad_t cases[] = {
        {"empty", (const uint8_t *)"", 0, EC_EINVAL, 0},
        {"garbage", garbage, sizeof(garbage), EC_EINVAL, 0},
        {"map", map, sizeof(map), EC_EINVAL, 0},
        {"trailing bytes", trailing, sizeof(trailing), EC_EINVAL, 0},
        {"scalar", scalar, sizeof(scalar), EC_EINVAL, 0},
        {"three fields", three, sizeof(three), EC_EINVAL, 9},
        {"five fields", five, sizeof(five), EC_EINVAL, 9},
        {"version 2", version2, sizeof(version2), EC_EVERSION, 11},
        {"version 2, short", version2_short, sizeof(version2_short), EC_EVERSION, 12},
        {"version str", version_str, sizeof(version_str), EC_EINVAL, 11},
        {"negative req_id", id_negative, sizeof(id_negative), EC_EINVAL, 0},
        {"str req_id", id_str, sizeof(id_str), EC_EINVAL, 0},
        {"method uint", method_uint, sizeof(method_uint), EC_EINVAL, 13},
        {"method empty", method_empty, sizeof(method_empty), EC_EINVAL, 13},
        {"method NUL", method_nul, sizeof(method_nul), EC_EINVAL, 13},
        {"method bin", method_bin, sizeof(method_bin), EC_EINVAL, 15},
        {"method 32 bytes", method_long, 38, EC_EINVAL, 16},
        {"params nil", params_nil, sizeof(params_nil), EC_EINVAL, 14},
        {"params map", params_map, sizeof(params_map), EC_EINVAL, 0}, /* maps never decode */
        {"non-canonical uint", non_canonical, sizeof(non_canonical), EC_EINVAL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ec_rpc_request_t req;
        ec_status_t st = {0};
        int rc = s_parse(cases[i].data, cases[i].size, &req, &st);
        if (rc != cases[i].code || req.req_id != cases[i].req_id)
            fail_msg("%s: rc %d req_id %llu (%s)", cases[i].name, rc,
                     (unsigned long long)req.req_id, st.msg);
        assert_int_equal(st.code, rc);
        assert_true(st.msg[0] != '\0');
        /* the plain variant agrees */
        ec_decoder_t d;
        ec_decoder_init(&d);
        assert_int_equal(ec_rpc_request_parse(&d, cases[i].data, cases[i].size, &req), rc);
        ec_decoder_fini(&d);
    }
}

static void test_request_too_big(void **state)
{
    (void)state;
    /* A well-formed request just over the limit: [1, 1, "submit", [bin(1 MiB)]] */
    size_t n = EC_RPC_MESSAGE_BYTES_MAX;
    ec_writer_t p, w;
    ec_writer_init(&p);
    ec_writer_init(&w);
    uint8_t *blob = calloc(1, n);
    assert_non_null(blob);
    ec_write_array(&p, 1);
    ec_write_bin(&p, blob, n);
    ec_rpc_request_encode(&w, 3, "submit", ec_writer_data(&p), ec_writer_size(&p));
    ec_rpc_request_t req;
    ec_status_t st = {0};
    assert_int_equal(s_parse(ec_writer_data(&w), ec_writer_size(&w), &req, &st), EC_ETOOBIG);
    assert_non_null(strstr(st.msg, "exceeds"));
    /* and one that just fits */
    ec_writer_reset(&p);
    ec_writer_reset(&w);
    ec_write_array(&p, 1);
    ec_write_bin(&p, blob, n - 64);
    ec_rpc_request_encode(&w, 3, "submit", ec_writer_data(&p), ec_writer_size(&p));
    assert_true(ec_writer_size(&w) <= EC_RPC_MESSAGE_BYTES_MAX);
    assert_int_equal(s_parse(ec_writer_data(&w), ec_writer_size(&w), &req, &st), 0);
    free(blob);
    ec_writer_fini(&p);
    ec_writer_fini(&w);
}

static int s_reply(const uint8_t *data, size_t size, ec_rpc_reply_t *r)
{
    uint8_t *copy = malloc(size ? size : 1);
    assert_non_null(copy);
    memcpy(copy, data, size);
    return ec_rpc_reply_parse(r, copy, size);
}

static void test_reply_parse(void **state)
{
    (void)state;
    ec_rpc_reply_t r;
    static const uint8_t ok[] = {0x94, 0x01, 0x05, 0x00, 0x92, 0x01, 0xc0};
    assert_int_equal(s_reply(ok, sizeof(ok), &r), 0);
    assert_int_equal(r.req_id, 5);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.result->type, MSGPACK_OBJECT_ARRAY);
    ec_rpc_reply_fini(&r);
    static const uint8_t err[] = {0x94, 0x01, 0x06, 0xe9, 0xa3, 'o', 'f', 'f'};
    assert_int_equal(s_reply(err, sizeof(err), &r), 0);
    assert_int_equal(r.code, EC_ESHUTDOWN);
    assert_string_equal(r.message, "off");
    assert_null(r.result);
    ec_rpc_reply_fini(&r);
    /* regression (found by fuzz_rpc under UBSan): an empty error message, whose str
     * msgpack-c hands over with a NULL pointer, parses to "" */
    static const uint8_t empty[] = {0x94, 0x01, 0x04, 0xff, 0xa0};
    assert_int_equal(s_reply(empty, sizeof(empty), &r), 0);
    assert_int_equal(r.code, -1);
    assert_string_equal(r.message, "");
    ec_rpc_reply_fini(&r);
    /* a long message is truncated, not refused */
    uint8_t hdr[] = {0x94, 0x01, 0x06, 0xff, 0xda, 0x01, 0x2c};
    uint8_t buf[sizeof(hdr) + 300];
    memcpy(buf, hdr, sizeof(hdr));
    memset(buf + sizeof(hdr), 'z', 300);
    assert_int_equal(s_reply(buf, sizeof(buf), &r), 0);
    assert_int_equal(strlen(r.message), sizeof(r.message) - 1);
    ec_rpc_reply_fini(&r);
    /* refused: NUL in the message, a positive code, a non-str error, bin message, a map,
     * empty, trailing bytes */
    static const uint8_t nul[] = {0x94, 0x01, 0x06, 0xff, 0xa2, 'a', 0x00};
    static const uint8_t positive[] = {0x94, 0x01, 0x06, 0x03, 0xc0};
    static const uint8_t nonstr[] = {0x94, 0x01, 0x06, 0xff, 0xc0};
    static const uint8_t binmsg[] = {0x94, 0x01, 0x06, 0xff, 0xc4, 0x01, 'a'};
    static const uint8_t map[] = {0x81, 0x01, 0x02};
    static const uint8_t trailing[] = {0x94, 0x01, 0x05, 0x00, 0xc0, 0xc0};
    const uint8_t *bad[] = {nul, positive, nonstr, binmsg, map, trailing};
    size_t sizes[] = {sizeof(nul),    sizeof(positive), sizeof(nonstr),
                      sizeof(binmsg), sizeof(map),      sizeof(trailing)};
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(s_reply(bad[i], sizes[i], &r), EC_EINVAL);
        assert_null(r.frame);
    }
    assert_int_equal(s_reply((const uint8_t *)"", 0, &r), EC_EINVAL);
    assert_int_equal(ec_rpc_reply_parse(&r, NULL, 0), EC_EINVAL);
}

/* ---- client against a hand-driven ROUTER ------------------------------------------------- */

typedef struct {
    void *ctx;
    void *router;
    char endpoint[128];
} s_server_t;

static int s_server_setup(void **state)
{
    s_server_t *s = calloc(1, sizeof(*s));
    s->ctx = zmq_ctx_new();
    s->router = zmq_socket(s->ctx, ZMQ_ROUTER);
    int linger = 0;
    zmq_setsockopt(s->router, ZMQ_LINGER, &linger, sizeof(linger));
    assert_int_equal(zmq_bind(s->router, "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof(s->endpoint);
    assert_int_equal(zmq_getsockopt(s->router, ZMQ_LAST_ENDPOINT, s->endpoint, &len), 0);
    *state = s;
    return 0;
}

static int s_server_teardown(void **state)
{
    s_server_t *s = *state;
    zmq_close(s->router);
    zmq_ctx_term(s->ctx);
    free(s);
    return 0;
}

/* Receives one request at the server; returns its routing id and parsed req_id/method. */
static void s_server_recv(s_server_t *s, zmq_msg_t *route, uint64_t *req_id, char *method)
{
    zmq_pollitem_t item = {s->router, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&item, 1, 5000), 1);
    zmq_msg_init(route);
    assert_true(zmq_msg_recv(route, s->router, 0) >= 0);
    assert_true(zmq_msg_more(route));
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    assert_true(zmq_msg_recv(&frame, s->router, 0) >= 0);
    assert_false(zmq_msg_more(&frame));
    ec_decoder_t d;
    ec_decoder_init(&d);
    ec_rpc_request_t req;
    assert_int_equal(ec_rpc_request_parse(&d, zmq_msg_data(&frame), zmq_msg_size(&frame), &req), 0);
    *req_id = req.req_id;
    strcpy(method, req.method);
    ec_decoder_fini(&d);
    zmq_msg_close(&frame);
}

static void s_server_send(s_server_t *s, zmq_msg_t *route, const void *data, size_t size)
{
    zmq_msg_t copy;
    zmq_msg_init(&copy);
    zmq_msg_copy(&copy, route);
    assert_true(zmq_msg_send(&copy, s->router, ZMQ_SNDMORE) >= 0);
    assert_true(zmq_send(s->router, data, size, 0) >= 0);
}

static void s_server_reply_uint(s_server_t *s, zmq_msg_t *route, uint64_t req_id, uint64_t v)
{
    ec_writer_t r, w;
    ec_writer_init(&r);
    ec_writer_init(&w);
    ec_write_uint(&r, v);
    ec_rpc_reply_ok(&w, req_id, ec_writer_data(&r), ec_writer_size(&r));
    s_server_send(s, route, ec_writer_data(&w), ec_writer_size(&w));
    ec_writer_fini(&r);
    ec_writer_fini(&w);
}

static void test_client_call_and_stale(void **state)
{
    s_server_t *s = *state;
    ec_rpc_t *rpc = ec_rpc_connect(s->endpoint, 3000);
    assert_non_null(rpc);
    uint64_t id1 = 0;
    assert_int_equal(ec_rpc_send(rpc, &id1, "status", NULL, 0), 0);
    zmq_msg_t route;
    uint64_t got;
    char method[EC_RPC_METHOD_MAX];
    s_server_recv(s, &route, &got, method);
    assert_int_equal(got, id1);
    assert_string_equal(method, "status");
    /* Answer id1 (stale for the next call) and, in advance, the call's id (id1 + 1). */
    s_server_reply_uint(s, &route, id1, 111);
    s_server_reply_uint(s, &route, id1 + 1, 222);
    ec_rpc_reply_t reply;
    ec_status_t st;
    assert_int_equal(ec_rpc_call(rpc, "status", NULL, 0, &reply, &st), 0);
    assert_int_equal(reply.req_id, id1 + 1);
    assert_int_equal(reply.code, 0);
    assert_int_equal(st.code, 0);
    assert_int_equal(reply.result->via.u64, 222);
    ec_rpc_reply_fini(&reply);
    /* the call's own request arrives at the server */
    zmq_msg_t route2;
    s_server_recv(s, &route2, &got, method);
    assert_int_equal(got, id1 + 1);
    zmq_msg_close(&route2);

    /* An error reply: transport 0, st carries the node's code and message. */
    ec_writer_t w;
    ec_writer_init(&w);
    ec_rpc_reply_error(&w, id1 + 2, EC_ENOTFOUND, "no such block");
    s_server_send(s, &route, ec_writer_data(&w), ec_writer_size(&w));
    ec_writer_fini(&w);
    assert_int_equal(ec_rpc_call(rpc, "block", NULL, 0, &reply, &st), 0);
    assert_int_equal(reply.code, EC_ENOTFOUND);
    assert_string_equal(reply.message, "no such block");
    assert_int_equal(st.code, EC_ENOTFOUND);
    assert_string_equal(st.msg, "no such block");
    ec_rpc_reply_fini(&reply);
    zmq_msg_close(&route);
    ec_rpc_destroy(&rpc);
    assert_null(rpc);
    ec_rpc_destroy(&rpc); /* idempotent */
}

static void test_client_pipelined(void **state)
{
    s_server_t *s = *state;
    ec_rpc_t *rpc = ec_rpc_connect(s->endpoint, 3000);
    assert_non_null(rpc);
    enum { N = 500 };
    uint64_t ids[N];
    for (int i = 0; i < N; i++)
        assert_int_equal(ec_rpc_send(rpc, &ids[i], "tx", NULL, 0), 0);
    /* answer in reverse order */
    zmq_msg_t routes[N];
    uint64_t got[N];
    char method[EC_RPC_METHOD_MAX];
    for (int i = 0; i < N; i++) {
        s_server_recv(s, &routes[i], &got[i], method);
        assert_int_equal(got[i], ids[i]);
    }
    for (int i = N - 1; i >= 0; i--) {
        s_server_reply_uint(s, &routes[i], got[i], got[i] * 3);
        zmq_msg_close(&routes[i]);
    }
    for (int i = N - 1; i >= 0; i--) {
        ec_rpc_reply_t r;
        assert_int_equal(ec_rpc_recv(rpc, &r, 3000), 0);
        assert_int_equal(r.req_id, ids[i]);
        assert_int_equal(r.result->via.u64, ids[i] * 3);
        ec_rpc_reply_fini(&r);
    }
    ec_rpc_destroy(&rpc);
}

static void test_client_garbled_and_timeout(void **state)
{
    s_server_t *s = *state;
    ec_rpc_t *rpc = ec_rpc_connect(s->endpoint, 300);
    assert_non_null(rpc);
    uint64_t id;
    assert_int_equal(ec_rpc_send(rpc, &id, "status", NULL, 0), 0);
    zmq_msg_t route;
    uint64_t got;
    char method[EC_RPC_METHOD_MAX];
    s_server_recv(s, &route, &got, method);
    ec_rpc_reply_t r;
    /* garbage, a reply with a positive code, an error without a str, a 3-element reply,
     * a two-frame reply: all EC_EINVAL */
    static const uint8_t bad1[] = {0xc1};
    static const uint8_t bad2[] = {0x94, 0x01, 0x01, 0x05, 0xc0};
    static const uint8_t bad3[] = {0x94, 0x01, 0x01, 0xff, 0xc0};
    static const uint8_t bad4[] = {0x93, 0x01, 0x01, 0x00};
    static const uint8_t bad5[] = {0x94, 0x02, 0x01, 0x00, 0xc0};
    const uint8_t *bad[] = {bad1, bad2, bad3, bad4, bad5};
    size_t sizes[] = {sizeof(bad1), sizeof(bad2), sizeof(bad3), sizeof(bad4), sizeof(bad5)};
    for (int i = 0; i < 5; i++) {
        s_server_send(s, &route, bad[i], sizes[i]);
        assert_int_equal(ec_rpc_recv(rpc, &r, 3000), EC_EINVAL);
        assert_null(r.frame);
    }
    zmq_msg_t copy;
    zmq_msg_init(&copy);
    zmq_msg_copy(&copy, &route);
    zmq_msg_send(&copy, s->router, ZMQ_SNDMORE);
    zmq_send(s->router, "\x94\x01\x01\x00\xc0", 5, ZMQ_SNDMORE);
    zmq_send(s->router, "x", 1, 0);
    assert_int_equal(ec_rpc_recv(rpc, &r, 3000), EC_EINVAL);
    /* and then a good one still gets through */
    s_server_reply_uint(s, &route, id, 9);
    assert_int_equal(ec_rpc_recv(rpc, &r, 3000), 0);
    assert_int_equal(r.result->via.u64, 9);
    ec_rpc_reply_fini(&r);
    zmq_msg_close(&route);

    /* no answer: ETIMEOUT from recv and from call, with a message */
    assert_int_equal(ec_rpc_recv(rpc, &r, 50), EC_ETIMEOUT);
    ec_status_t st;
    assert_int_equal(ec_rpc_call(rpc, "status", NULL, 0, &r, &st), EC_ETIMEOUT);
    assert_int_equal(st.code, EC_ETIMEOUT);
    assert_non_null(strstr(st.msg, "status"));
    ec_rpc_destroy(&rpc);
}

static void test_client_bad_endpoint(void **state)
{
    (void)state;
    assert_null(ec_rpc_connect("nonsense", 100));
    assert_null(ec_rpc_connect("", 100));
    assert_null(ec_rpc_connect(NULL, 100));
    /* a node that is down: ETIMEOUT, not a hang */
    ec_rpc_t *rpc = ec_rpc_connect("tcp://127.0.0.1:1", 100);
    assert_non_null(rpc);
    ec_rpc_reply_t r;
    assert_int_equal(ec_rpc_call(rpc, "status", NULL, 0, &r, NULL), EC_ETIMEOUT);
    ec_rpc_destroy(&rpc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_round_trip),
        cmocka_unit_test(test_reply_encoding),
        cmocka_unit_test(test_request_parse_errors),
        cmocka_unit_test(test_request_too_big),
        cmocka_unit_test(test_reply_parse),
        cmocka_unit_test_setup_teardown(test_client_call_and_stale, s_server_setup,
                                        s_server_teardown),
        cmocka_unit_test_setup_teardown(test_client_pipelined, s_server_setup, s_server_teardown),
        cmocka_unit_test_setup_teardown(test_client_garbled_and_timeout, s_server_setup,
                                        s_server_teardown),
        cmocka_unit_test(test_client_bad_endpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
