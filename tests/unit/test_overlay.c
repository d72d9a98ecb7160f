/*
 * test_overlay.c - the pending block's write overlay (common/ec_overlay.c): reads of the
 * newest write, deletes, column families kept apart, empty keys and values, and a long
 * random run of writes, nested marks and rollbacks (through several doublings of the
 * table) checked step by step against a plain model that keeps a full copy per mark.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ec_crypto.h"
#include "ec_overlay.h"

static void s_expect(const ec_overlay_t *o, uint8_t cf, const char *key, const char *val)
{
    const uint8_t *v;
    size_t n;
    bool del;
    bool found = ec_overlay_find(o, cf, key, strlen(key), &v, &n, &del);
    if (!val) {
        assert_false(found);
        return;
    }
    assert_true(found);
    if (strcmp(val, "<deleted>") == 0) {
        assert_true(del);
        return;
    }
    assert_false(del);
    assert_int_equal(n, strlen(val));
    assert_memory_equal(v, val, n);
}

static void s_put(ec_overlay_t *o, uint8_t cf, const char *key, const char *val)
{
    assert_int_equal(ec_overlay_write(o, cf, key, strlen(key), val, val ? strlen(val) : 0, !val),
                     0);
}

static void test_basics(void **state)
{
    (void)state;
    ec_overlay_t *o = ec_overlay_new();
    assert_non_null(o);
    s_expect(o, 0, "a", NULL);
    s_put(o, 0, "a", "1");
    s_put(o, 1, "a", "other family");
    s_put(o, 0, "a", "2");
    s_expect(o, 0, "a", "2");
    s_expect(o, 1, "a", "other family");
    s_put(o, 0, "b", NULL);
    s_expect(o, 0, "b", "<deleted>");
    s_put(o, 0, "", "");
    s_expect(o, 0, "", "");
    assert_int_equal(ec_overlay_count(o), 4);

    ec_overlay_mark_t m = ec_overlay_mark(o);
    s_put(o, 0, "a", "3");
    s_put(o, 0, "c", "new");
    s_put(o, 0, "b", "back");
    ec_overlay_mark_t inner = ec_overlay_mark(o);
    s_put(o, 0, "c", NULL);
    ec_overlay_rollback(o, &inner);
    s_expect(o, 0, "c", "new");
    ec_overlay_rollback(o, &m);
    s_expect(o, 0, "a", "2");
    s_expect(o, 0, "b", "<deleted>");
    s_expect(o, 0, "c", NULL);
    assert_int_equal(ec_overlay_count(o), 4);

    ec_overlay_clear(o);
    s_expect(o, 0, "a", NULL);
    assert_int_equal(ec_overlay_count(o), 0);
    ec_overlay_destroy(&o);
    assert_null(o);
    ec_overlay_destroy(&o); /* idempotent */
}

typedef struct {
    char seen[16][8];
    uint8_t cf[16];
    bool del[16];
    int n;
} walk_t;

static int s_walk(void *ctx, uint8_t cf, const uint8_t *key, size_t key_size, const uint8_t *val,
                  size_t val_size, bool del)
{
    walk_t *w = ctx;
    (void)val, (void)val_size;
    assert_true(w->n < 16 && key_size < 8);
    memcpy(w->seen[w->n], key, key_size);
    w->seen[w->n][key_size] = '\0';
    w->cf[w->n] = cf;
    w->del[w->n++] = del;
    return w->n == 99 ? 1 : 0;
}

/* The walk gives each key once, its newest write, in RocksDB's bytewise order per family. */
static void test_sorted_walk(void **state)
{
    (void)state;
    ec_overlay_t *o = ec_overlay_new();
    assert_non_null(o);
    s_put(o, 1, "b", "x");
    s_put(o, 0, "ba", "x");
    s_put(o, 0, "b", "x");
    s_put(o, 0, "a", "x");
    s_put(o, 0, "b", NULL); /* the newest write of b: a delete */
    s_put(o, 0, "", "empty key");
    ec_overlay_mark_t m = ec_overlay_mark(o);
    s_put(o, 0, "c", "rolled back");
    ec_overlay_rollback(o, &m);
    walk_t w = {0};
    assert_int_equal(ec_overlay_each_sorted(o, s_walk, &w), 0);
    assert_int_equal(w.n, 5);
    const char *want[] = {"", "a", "b", "ba", "b"};
    const uint8_t want_cf[] = {0, 0, 0, 0, 1};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(w.seen[i], want[i]);
        assert_int_equal(w.cf[i], want_cf[i]);
        assert_int_equal(w.del[i], i == 2);
    }
    ec_overlay_destroy(&o);
}

/* ---- the model: the newest value per (cf, key), copied whole at every mark ---------------- */

#define M_KEYS 3000  /* distinct keys the run draws from: several table doublings */
#define M_DEPTH 40   /* nested marks at most */
#define M_VAL_MAX 24 /* value bytes */

typedef struct {
    int8_t state[M_KEYS]; /* 0 never written, 1 holds a value, 2 deleted */
    uint8_t len[M_KEYS];
    uint8_t val[M_KEYS][M_VAL_MAX];
} model_t;

static uint64_t s_rng = 0x9e3779b97f4a7c15ull;
static uint32_t s_rand(uint32_t n)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return (uint32_t)(s_rng % n);
}

/* Key k: its column family is k % 3, its bytes "key-<k>" (a few sharing a prefix). */
static size_t s_key(uint32_t k, char *buf)
{
    return (size_t)snprintf(buf, 32, "key-%u", k);
}

static void s_check_all(const ec_overlay_t *o, const model_t *m)
{
    for (uint32_t k = 0; k < M_KEYS; k++) {
        char key[32];
        size_t kl = s_key(k, key);
        const uint8_t *v;
        size_t n;
        bool del;
        bool found = ec_overlay_find(o, (uint8_t)(k % 3), key, kl, &v, &n, &del);
        assert_int_equal(found, m->state[k] != 0);
        if (!found)
            continue;
        assert_int_equal(del, m->state[k] == 2);
        if (!del) {
            assert_int_equal(n, m->len[k]);
            assert_memory_equal(v, m->val[k], n);
        }
    }
}

static void test_random_against_model(void **state)
{
    (void)state;
    ec_overlay_t *o = ec_overlay_new();
    assert_non_null(o);
    model_t *model = calloc(1, sizeof *model);
    model_t *saved = calloc(M_DEPTH, sizeof *saved);
    ec_overlay_mark_t marks[M_DEPTH];
    assert_non_null(model);
    assert_non_null(saved);
    uint32_t depth = 0, rollbacks = 0;
    for (uint32_t step = 0; step < 200000; step++) {
        uint32_t what = s_rand(1000);
        if (what < 20 && depth < M_DEPTH) {
            marks[depth] = ec_overlay_mark(o);
            saved[depth++] = *model;
        } else if (what < 35 && depth > 0) {
            ec_overlay_rollback(o, &marks[--depth]);
            *model = saved[depth];
            rollbacks++;
        } else if (what < 40 && depth > 0) {
            depth--; /* a mark let go of: its writes stay (a committed transaction) */
        } else {
            uint32_t k = s_rand(M_KEYS);
            char key[32];
            size_t kl = s_key(k, key);
            if (s_rand(10) == 0) {
                assert_int_equal(ec_overlay_write(o, (uint8_t)(k % 3), key, kl, NULL, 0, true), 0);
                model->state[k] = 2;
            } else {
                uint8_t val[M_VAL_MAX];
                uint32_t n = s_rand(M_VAL_MAX + 1);
                for (uint32_t i = 0; i < n; i++)
                    val[i] = (uint8_t)s_rand(256);
                assert_int_equal(ec_overlay_write(o, (uint8_t)(k % 3), key, kl, val, n, false), 0);
                model->state[k] = 1;
                model->len[k] = (uint8_t)n;
                memcpy(model->val[k], val, n);
            }
        }
        if (step % 5000 == 0)
            s_check_all(o, model);
    }
    s_check_all(o, model);
    assert_true(rollbacks > 1000);
    uint32_t written = 0;
    for (uint32_t k = 0; k < M_KEYS; k++)
        written += model->state[k] != 0;
    assert_int_equal(ec_overlay_count(o), written);
    free(model);
    free(saved);
    ec_overlay_destroy(&o);
}

int main(void)
{
    assert_int_equal(ec_crypto_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basics),
        cmocka_unit_test(test_sorted_walk),
        cmocka_unit_test(test_random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
