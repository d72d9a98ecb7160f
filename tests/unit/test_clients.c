/*
 * test_clients.c - the RPC server's client table (common/ec_clients.c): lookups, eviction
 * of idle clients only, the hash index staying whole through evictions (against a simple
 * model), reply bytes counted until ZeroMQ frees the message, and submission bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ec_clients.h"
#include "ec_crypto.h"

static ec_clients_t *s_table(uint32_t max)
{
    ec_clients_limits_t limits = {
        .max = max, .queued_max = 1000, .inflight_max = 500, .total_inflight_max = 800};
    ec_clients_t *t = ec_clients_new(&limits);
    assert_non_null(t);
    return t;
}

static void s_id(uint8_t id[5], uint32_t n)
{
    id[0] = 0;
    memcpy(id + 1, &n, 4);
}

static void test_get_same_slot(void **state)
{
    (void)state;
    ec_clients_t *t = s_table(4);
    uint8_t a[5], b[5];
    s_id(a, 1);
    s_id(b, 2);
    ec_client_t *ca = ec_clients_get(t, a, sizeof a, 10);
    ec_client_t *cb = ec_clients_get(t, b, sizeof b, 11);
    assert_non_null(ca);
    assert_non_null(cb);
    assert_ptr_not_equal(ca, cb);
    assert_ptr_equal(ec_clients_get(t, a, sizeof a, 12), ca);
    assert_int_equal(ec_clients_count(t), 2);
    assert_null(ec_clients_get(t, a, 0, 13));
    uint8_t big[EC_CLIENT_ID_MAX + 1];
    memset(big, 7, sizeof big);
    assert_null(ec_clients_get(t, big, sizeof big, 13));
    ec_clients_destroy(&t);
    assert_null(t);
}

/* A full table gives the least recently seen idle client's slot away; busy clients keep
 * theirs, and when every client is busy a new one is refused. */
static void test_eviction_idle_only(void **state)
{
    (void)state;
    ec_clients_t *t = s_table(2);
    ec_status_t st = {0};
    uint8_t a[5], b[5], c[5];
    s_id(a, 1);
    s_id(b, 2);
    s_id(c, 3);
    ec_client_t *ca = ec_clients_get(t, a, 5, 100);
    ec_client_t *cb = ec_clients_get(t, b, 5, 50); /* older */
    assert_int_equal(ec_client_submit_begin(t, ca, 10, &st), 0);
    ec_client_t *cc = ec_clients_get(t, c, 5, 200);
    assert_ptr_equal(cc, cb); /* b was idle: its slot went to c */
    assert_int_equal(ec_clients_count(t), 2);
    assert_int_equal(ec_client_submit_begin(t, cc, 10, &st), 0);
    uint8_t d[5];
    s_id(d, 4);
    assert_null(ec_clients_get(t, d, 5, 300)); /* a and c are busy */
    ec_client_submit_done(t, ca, 10);
    assert_ptr_equal(ec_clients_get(t, d, 5, 300), ca);
    /* a is gone: seen again, it gets a slot of its own with empty counters */
    ec_client_submit_done(t, cc, 10);
    ec_client_t *again = ec_clients_get(t, a, 5, 400);
    assert_non_null(again);
    assert_int_equal(atomic_load(&again->inflight), 0);
    ec_clients_destroy(&t);
}

/* Random gets against a model: whatever is evicted, every id the model says is present
 * is found in its own slot (backward-shift deletion never breaks a probe chain). */
static void test_index_model(void **state)
{
    (void)state;
    enum { MAX = 8, IDS = 40, STEPS = 20000 };
    ec_clients_t *t = s_table(MAX);
    ec_client_t *slot_of[IDS] = {0};
    uint32_t rng = 12345;
    for (uint64_t step = 1; step <= STEPS; step++) {
        rng = rng * 1103515245u + 12345u;
        uint32_t n = (rng >> 8) % IDS;
        uint8_t id[5];
        s_id(id, n);
        ec_client_t *c = ec_clients_get(t, id, sizeof id, step);
        assert_non_null(c); /* all idle: always a slot */
        assert_int_equal(c->id_len, 5);
        assert_memory_equal(c->id, id, 5);
        for (uint32_t k = 0; k < IDS; k++)
            if (slot_of[k] == c)
                slot_of[k] = NULL; /* evicted to make room, or itself */
        slot_of[n] = c;
        assert_true(ec_clients_count(t) <= MAX);
        /* Every id the model holds is still found where it was, without a new slot. */
        for (uint32_t k = 0; k < IDS; k++) {
            if (!slot_of[k])
                continue;
            uint8_t kid[5];
            s_id(kid, k);
            uint32_t before = ec_clients_count(t);
            assert_ptr_equal(ec_clients_get(t, kid, 5, step), slot_of[k]);
            assert_int_equal(ec_clients_count(t), before);
        }
    }
    ec_clients_destroy(&t);
}

/* Reply bytes count against the client until the message is freed; the verdict follows. */
static void test_reply_accounting(void **state)
{
    (void)state;
    ec_clients_t *t = s_table(4);
    uint8_t a[5];
    s_id(a, 9);
    ec_client_t *c = ec_clients_get(t, a, 5, 1);
    assert_int_equal(ec_client_verdict(t, c), EC_CLIENT_SERVE);
    zmq_msg_t msgs[8];
    for (int i = 0; i < 8; i++) {
        uint8_t *data = malloc(100);
        assert_non_null(data);
        memset(data, i, 100);
        assert_int_equal(ec_client_reply_msg(t, c, &msgs[i], data, 100), 0);
    }
    size_t queued = atomic_load(&c->queued);
    assert_true(queued >= 800); /* at least the bytes themselves */
    assert_int_equal(ec_clients_queued_total(t), queued);
    assert_int_not_equal(ec_client_verdict(t, c), EC_CLIENT_SERVE);
    /* A busy client is never evicted. */
    uint8_t b[5];
    for (uint32_t i = 0; i < 3; i++) {
        s_id(b, 100 + i);
        assert_non_null(ec_clients_get(t, b, 5, 2));
    }
    s_id(b, 200);
    assert_non_null(ec_clients_get(t, b, 5, 3)); /* evicts an idle one, not c */
    assert_ptr_equal(ec_clients_get(t, a, 5, 4), c);
    for (int i = 0; i < 8; i++)
        zmq_msg_close(&msgs[i]);
    assert_int_equal(atomic_load(&c->queued), 0);
    assert_int_equal(ec_clients_queued_total(t), 0);
    assert_int_equal(ec_client_verdict(t, c), EC_CLIENT_SERVE);
    ec_clients_destroy(&t);
}

/* Far past its bound a client's requests are dropped, not answered. */
static void test_verdict_drop(void **state)
{
    (void)state;
    ec_clients_t *t = s_table(2);
    uint8_t a[5];
    s_id(a, 1);
    ec_client_t *c = ec_clients_get(t, a, 5, 1);
    zmq_msg_t big;
    uint8_t *data = malloc(3u << 20);
    assert_non_null(data);
    assert_int_equal(ec_client_reply_msg(t, c, &big, data, 3u << 20), 0);
    assert_int_equal(ec_client_verdict(t, c), EC_CLIENT_DROP);
    zmq_msg_close(&big);
    assert_int_equal(ec_client_verdict(t, c), EC_CLIENT_SERVE);
    ec_clients_destroy(&t);
}

static void test_submit_bounds(void **state)
{
    (void)state;
    ec_clients_t *t = s_table(4); /* 500 per client, 800 in all */
    ec_status_t st = {0};
    uint8_t a[5], b[5];
    s_id(a, 1);
    s_id(b, 2);
    ec_client_t *ca = ec_clients_get(t, a, 5, 1), *cb = ec_clients_get(t, b, 5, 1);
    assert_int_equal(ec_client_submit_begin(t, ca, 400, &st), 0);
    assert_int_equal(ec_client_submit_begin(t, ca, 200, &st), EC_EBUSY); /* its own bound */
    assert_non_null(strstr(st.msg, "this connection"));
    assert_int_equal(ec_client_submit_begin(t, cb, 400, &st), 0);
    assert_int_equal(ec_client_submit_begin(t, cb, 50, &st), EC_EBUSY); /* the node's */
    assert_non_null(strstr(st.msg, "the node"));
    ec_client_submit_done(t, ca, 400);
    assert_int_equal(ec_client_submit_begin(t, cb, 50, &st), 0);
    ec_client_submit_done(t, cb, 450);
    assert_int_equal(atomic_load(&ca->inflight), 0);
    assert_int_equal(atomic_load(&cb->inflight), 0);
    ec_clients_destroy(&t);
}

int main(void)
{
    assert_int_equal(ec_crypto_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_same_slot), cmocka_unit_test(test_eviction_idle_only),
        cmocka_unit_test(test_index_model),   cmocka_unit_test(test_reply_accounting),
        cmocka_unit_test(test_verdict_drop),  cmocka_unit_test(test_submit_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
