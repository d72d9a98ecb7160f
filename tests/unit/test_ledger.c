/*
 * test_ledger.c - ec_ledger: pending reads and writes, save points and the state digest,
 * durable writes across reopen, prefix scans, the typed getters and error paths.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ec_codec.h"
#include "ec_crypto.h"
#include "ec_ledger.h"
#include "ec_types.h"
#include "test_util.h"

typedef struct {
    char dir[64];
    ec_ledger_t *l;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->l = tu_ledger_make(f->dir, sizeof f->dir, "ec-ledger");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    ec_ledger_destroy(&f->l);
    assert_null(f->l);
    ec_ledger_destroy(&f->l); /* idempotent */
    tu_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

static void s_reopen(fixture_t *f)
{
    tu_ledger_reopen(f->dir, &f->l);
}

/* Asserts that get (committed or pending) returns exactly `want` (NULL: not found). */
static void s_expect(ec_ledger_t *l, bool pending, ec_cf_t cf, const char *key, const char *want)
{
    uint8_t *v = (uint8_t *)"sentinel";
    size_t n = 99;
    int rc = pending ? ec_ledger_get_pending(l, cf, key, strlen(key), &v, &n)
                     : ec_ledger_get(l, cf, key, strlen(key), &v, &n);
    if (!want) {
        assert_int_equal(rc, EC_ENOTFOUND);
        assert_null(v);
        assert_int_equal(n, 0);
        return;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(v, want, n);
    free(v);
}

static void s_put(ec_ledger_t *l, ec_cf_t cf, const char *k, const char *v)
{
    ec_ledger_put(l, cf, k, strlen(k), v, strlen(v));
}

static void test_be64(void **state)
{
    (void)state;
    uint8_t b[8];
    ec_be64_put(b, 0x0102030405060708ull);
    const uint8_t want[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_memory_equal(b, want, 8);
    assert_true(ec_be64_get(b) == 0x0102030405060708ull);
    ec_be64_put(b, UINT64_MAX);
    assert_true(ec_be64_get(b) == UINT64_MAX);
}

static void test_pending_then_commit(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(ec_ledger_height(f->l), 0);
    s_put(f->l, EC_CF_STATE, "alice", "1");
    s_put(f->l, EC_CF_PAYLOADS, "p", "payload");
    s_expect(f->l, true, EC_CF_STATE, "alice", "1");
    s_expect(f->l, false, EC_CF_STATE, "alice", NULL);   /* not committed yet */
    s_expect(f->l, true, EC_CF_PAYLOADS, "alice", NULL); /* column families apart */
    s_put(f->l, EC_CF_STATE, "alice", "2");              /* overwrite in the batch */
    s_expect(f->l, true, EC_CF_STATE, "alice", "2");
    assert_int_equal(ec_ledger_write(f->l, 1), 0);
    assert_int_equal(ec_ledger_height(f->l), 1);
    s_expect(f->l, false, EC_CF_STATE, "alice", "2");
    s_expect(f->l, false, EC_CF_PAYLOADS, "p", "payload");

    /* Pending reads fall through to the database; a pending delete hides it. */
    s_expect(f->l, true, EC_CF_STATE, "alice", "2");
    ec_ledger_del(f->l, EC_CF_STATE, "alice", 5);
    s_expect(f->l, true, EC_CF_STATE, "alice", NULL);
    s_expect(f->l, false, EC_CF_STATE, "alice", "2");
    ec_ledger_discard(f->l);
    s_expect(f->l, true, EC_CF_STATE, "alice", "2");

    /* An empty value is a value, not an absence. */
    ec_ledger_put(f->l, EC_CF_STATE, "empty", 5, "", 0);
    s_expect(f->l, true, EC_CF_STATE, "empty", "");
    assert_int_equal(ec_ledger_write(f->l, 2), 0);
    s_expect(f->l, false, EC_CF_STATE, "empty", "");
}

static void test_reopen_keeps_data(void **state)
{
    fixture_t *f = *state;
    s_put(f->l, EC_CF_BLOCKS, "b", "block");
    s_put(f->l, EC_CF_CONSENSUS, "signer", "rec");
    assert_int_equal(ec_ledger_write(f->l, 41), 0);
    s_put(f->l, EC_CF_STATE, "lost", "never written");
    s_reopen(f); /* the pending batch is discarded */
    assert_int_equal(ec_ledger_height(f->l), 41);
    s_expect(f->l, false, EC_CF_BLOCKS, "b", "block");
    s_expect(f->l, false, EC_CF_CONSENSUS, "signer", "rec");
    s_expect(f->l, false, EC_CF_STATE, "lost", NULL);
    uint8_t *tip = NULL;
    size_t n = 0;
    assert_int_equal(ec_ledger_get(f->l, EC_CF_META, "tip", 3, &tip, &n), 0);
    assert_int_equal(n, 8);
    assert_true(ec_be64_get(tip) == 41);
    free(tip);
}

/* The digest format from ec_ledger.h, computed independently. */
static void s_digest_ref(ec_sha256_t *h, const char *k, const char *v)
{
    uint8_t len[4];
    uint32_t kl = (uint32_t)strlen(k), vl = v ? (uint32_t)strlen(v) : 0xffffffffu;
    len[0] = (uint8_t)(kl >> 24), len[1] = (uint8_t)(kl >> 16), len[2] = (uint8_t)(kl >> 8),
    len[3] = (uint8_t)kl;
    ec_sha256_update(h, len, 4);
    ec_sha256_update(h, k, kl);
    len[0] = (uint8_t)(vl >> 24), len[1] = (uint8_t)(vl >> 16), len[2] = (uint8_t)(vl >> 8),
    len[3] = (uint8_t)vl;
    ec_sha256_update(h, len, 4);
    if (v)
        ec_sha256_update(h, v, vl);
}

static void test_state_digest(void **state)
{
    fixture_t *f = *state;
    uint8_t d[32], want[32];
    ec_ledger_state_digest(f->l, d);
    ec_sha256(want, "", 0); /* nothing written yet: SHA-256 of nothing */
    assert_memory_equal(d, want, 32);

    /* Known answer: SHA-256 of 00000001 'k' 00000001 'v'. */
    s_put(f->l, EC_CF_STATE, "k", "v");
    const uint8_t kat_in[] = {0, 0, 0, 1, 'k', 0, 0, 0, 1, 'v'};
    ec_sha256(want, kat_in, sizeof kat_in);
    ec_ledger_state_digest(f->l, d);
    assert_memory_equal(d, want, 32);

    /* Non-state column families do not count; deletes do. */
    s_put(f->l, EC_CF_BLOCKS, "x", "y");
    ec_ledger_del(f->l, EC_CF_STATE, "gone", 4);
    ec_sha256_t ref;
    ec_sha256_init(&ref);
    s_digest_ref(&ref, "k", "v");
    s_digest_ref(&ref, "gone", NULL);
    ec_sha256_t copy = ref;
    ec_sha256_final(&copy, want);
    ec_ledger_state_digest(f->l, d);
    assert_memory_equal(d, want, 32);

    /* Reading the digest does not disturb it. */
    ec_ledger_state_digest(f->l, d);
    assert_memory_equal(d, want, 32);

    /* A write starts a fresh digest. */
    assert_int_equal(ec_ledger_write(f->l, 1), 0);
    ec_ledger_state_digest(f->l, d);
    ec_sha256(want, "", 0);
    assert_memory_equal(d, want, 32);
}

static void test_savepoints(void **state)
{
    fixture_t *f = *state;
    s_put(f->l, EC_CF_STATE, "base", "committed");
    assert_int_equal(ec_ledger_write(f->l, 1), 0);

    uint8_t d0[32], d1[32], d2[32], d[32];
    s_put(f->l, EC_CF_STATE, "a", "1");
    ec_ledger_state_digest(f->l, d0);

    ec_ledger_savepoint(f->l); /* tx 1: succeeds */
    s_put(f->l, EC_CF_STATE, "b", "2");
    ec_ledger_state_digest(f->l, d1);

    ec_ledger_savepoint(f->l); /* tx 2: fails after writing and deleting */
    s_put(f->l, EC_CF_STATE, "c", "3");
    s_put(f->l, EC_CF_STATE, "a", "changed");
    ec_ledger_del(f->l, EC_CF_STATE, "base", 4);
    s_put(f->l, EC_CF_TXINDEX, "t", "x");
    ec_ledger_savepoint(f->l); /* nested inside tx 2 */
    s_put(f->l, EC_CF_STATE, "d", "4");
    ec_ledger_state_digest(f->l, d2);
    ec_ledger_rollback(f->l); /* undoes d only */
    s_expect(f->l, true, EC_CF_STATE, "d", NULL);
    s_expect(f->l, true, EC_CF_STATE, "c", "3");
    ec_ledger_state_digest(f->l, d);
    assert_memory_not_equal(d, d2, 32);
    ec_ledger_rollback(f->l); /* undoes tx 2 */

    ec_ledger_state_digest(f->l, d);
    assert_memory_equal(d, d1, 32);
    assert_memory_not_equal(d, d0, 32);
    s_expect(f->l, true, EC_CF_STATE, "a", "1");
    s_expect(f->l, true, EC_CF_STATE, "b", "2");
    s_expect(f->l, true, EC_CF_STATE, "c", NULL);
    s_expect(f->l, true, EC_CF_STATE, "base", "committed");
    s_expect(f->l, true, EC_CF_TXINDEX, "t", NULL);

    /* The surviving writes commit; the rolled-back ones never appear. */
    assert_int_equal(ec_ledger_write(f->l, 2), 0);
    s_expect(f->l, false, EC_CF_STATE, "a", "1");
    s_expect(f->l, false, EC_CF_STATE, "b", "2");
    s_expect(f->l, false, EC_CF_STATE, "c", NULL);
    s_expect(f->l, false, EC_CF_STATE, "base", "committed");

    /* Save points do not survive a write: a new one starts from the new block. */
    ec_ledger_savepoint(f->l);
    s_put(f->l, EC_CF_STATE, "e", "5");
    ec_ledger_rollback(f->l);
    ec_ledger_state_digest(f->l, d);
    uint8_t empty[32];
    ec_sha256(empty, "", 0);
    assert_memory_equal(d, empty, 32);
}

/* Rollbacks of save points whose writes already left the journal: an outer save point
 * after a nested one, a transaction with more writes than the journal holds, and a value
 * bigger than the whole journal. Each must restore exactly the earlier pending state. */
static void test_savepoint_slow_paths(void **state)
{
    fixture_t *f = *state;
    uint8_t d0[32], d[32];
    s_put(f->l, EC_CF_STATE, "keep", "1");
    assert_int_equal(ec_ledger_write(f->l, 1), 0);

    /* Outer save point rolled back after an inner one was set and rolled back. */
    s_put(f->l, EC_CF_STATE, "pre", "p"); /* no save point open: straight into the batch */
    ec_ledger_state_digest(f->l, d0);
    ec_ledger_savepoint(f->l);
    s_put(f->l, EC_CF_STATE, "outer", "o");
    ec_ledger_del(f->l, EC_CF_STATE, "keep", 4);
    ec_ledger_savepoint(f->l);
    s_put(f->l, EC_CF_STATE, "inner", "i");
    s_expect(f->l, true, EC_CF_STATE, "outer", "o"); /* read from the batch */
    s_expect(f->l, true, EC_CF_STATE, "inner", "i"); /* read from the journal */
    s_expect(f->l, true, EC_CF_STATE, "keep", NULL);
    ec_ledger_rollback(f->l);
    s_expect(f->l, true, EC_CF_STATE, "inner", NULL);
    s_expect(f->l, true, EC_CF_STATE, "outer", "o");
    ec_ledger_savepoint(f->l); /* a stale batch save point sits between */
    s_put(f->l, EC_CF_STATE, "inner2", "i");
    ec_ledger_rollback(f->l);
    ec_ledger_rollback(f->l);
    s_expect(f->l, true, EC_CF_STATE, "outer", NULL);
    s_expect(f->l, true, EC_CF_STATE, "inner2", NULL);
    s_expect(f->l, true, EC_CF_STATE, "keep", "1");
    s_expect(f->l, true, EC_CF_STATE, "pre", "p");
    ec_ledger_state_digest(f->l, d);
    assert_memory_equal(d, d0, 32);

    /* A transaction with more writes than the journal holds. */
    ec_ledger_savepoint(f->l);
    for (uint32_t i = 0; i < 1000; i++) {
        uint8_t key[8];
        ec_be64_put(key, i);
        ec_ledger_put(f->l, EC_CF_STATE, key, 8, "x", 1);
    }
    ec_ledger_del(f->l, EC_CF_STATE, "pre", 3);
    s_expect(f->l, true, EC_CF_STATE, "pre", NULL);
    ec_ledger_rollback(f->l);
    uint8_t key0[8], *v = NULL;
    size_t n = 0;
    ec_be64_put(key0, 0);
    assert_int_equal(ec_ledger_get_pending(f->l, EC_CF_STATE, key0, 8, &v, &n), EC_ENOTFOUND);
    ec_be64_put(key0, 999);
    assert_int_equal(ec_ledger_get_pending(f->l, EC_CF_STATE, key0, 8, &v, &n), EC_ENOTFOUND);
    s_expect(f->l, true, EC_CF_STATE, "pre", "p");
    ec_ledger_state_digest(f->l, d);
    assert_memory_equal(d, d0, 32);

    /* A value bigger than the journal, kept in one transaction and undone in the next. */
    size_t big_size = (2u << 20) + 3;
    uint8_t *big = malloc(big_size);
    assert_non_null(big);
    memset(big, 0x5a, big_size);
    ec_ledger_savepoint(f->l);
    s_put(f->l, EC_CF_STATE, "small", "s");
    ec_ledger_put(f->l, EC_CF_BLOCKS, "big", 3, big, big_size);
    s_put(f->l, EC_CF_STATE, "after", "a");
    ec_ledger_savepoint(f->l);
    ec_ledger_put(f->l, EC_CF_BLOCKS, "big2", 4, big, big_size);
    ec_ledger_rollback(f->l);
    assert_int_equal(ec_ledger_get_pending(f->l, EC_CF_BLOCKS, "big2", 4, &v, &n), EC_ENOTFOUND);
    assert_int_equal(ec_ledger_get_pending(f->l, EC_CF_BLOCKS, "big", 3, &v, &n), 0);
    assert_int_equal(n, big_size);
    assert_memory_equal(v, big, big_size);
    free(v);
    assert_int_equal(ec_ledger_write(f->l, 2), 0);
    s_expect(f->l, false, EC_CF_STATE, "small", "s");
    s_expect(f->l, false, EC_CF_STATE, "after", "a");
    s_expect(f->l, false, EC_CF_STATE, "pre", "p");
    s_expect(f->l, false, EC_CF_STATE, "keep", "1");
    assert_int_equal(ec_ledger_get(f->l, EC_CF_BLOCKS, "big", 3, &v, &n), 0);
    assert_int_equal(n, big_size);
    free(v);
    free(big);

    /* The journal keeps write order: put, delete, put again of one key. */
    ec_ledger_savepoint(f->l);
    s_put(f->l, EC_CF_STATE, "k", "1");
    ec_ledger_del(f->l, EC_CF_STATE, "k", 1);
    s_expect(f->l, true, EC_CF_STATE, "k", NULL);
    s_put(f->l, EC_CF_STATE, "k", "2");
    s_expect(f->l, true, EC_CF_STATE, "k", "2");
    ec_ledger_del(f->l, EC_CF_STATE, "keep", 4);
    assert_int_equal(ec_ledger_write(f->l, 3), 0);
    s_expect(f->l, false, EC_CF_STATE, "k", "2");
    s_expect(f->l, false, EC_CF_STATE, "keep", NULL);
}

static void test_many_savepoints(void **state)
{
    fixture_t *f = *state;
    /* One save point per transaction for a full block, all kept. */
    for (uint32_t i = 0; i < EC_BLOCK_TXS_MAX; i++) {
        uint8_t key[8];
        ec_be64_put(key, i);
        ec_ledger_savepoint(f->l);
        ec_ledger_put(f->l, EC_CF_STATE, key, sizeof key, "v", 1);
        if (i % 10 == 5) { /* a failed transaction between successful ones */
            ec_ledger_savepoint(f->l);
            ec_ledger_put(f->l, EC_CF_STATE, "failed", 6, "v", 1);
            ec_ledger_rollback(f->l);
        }
    }
    ec_ledger_savepoint(f->l);
    ec_ledger_put(f->l, EC_CF_STATE, "extra", 5, "v", 1);
    ec_ledger_rollback(f->l);
    assert_int_equal(ec_ledger_write(f->l, 1), 0);
    uint8_t key[8], *v = NULL;
    size_t n = 0;
    ec_be64_put(key, EC_BLOCK_TXS_MAX - 1);
    assert_int_equal(ec_ledger_get(f->l, EC_CF_STATE, key, 8, &v, &n), 0);
    free(v);
    s_expect(f->l, false, EC_CF_STATE, "extra", NULL);
    s_expect(f->l, false, EC_CF_STATE, "failed", NULL);
}

typedef struct {
    char seen[16][16];
    int count;
    int stop_at; /* return 7 at this visit (1-based), 0 = never */
} scan_ctx_t;

static int s_collect(void *ctx, const uint8_t *key, size_t key_size, const uint8_t *val,
                     size_t val_size)
{
    scan_ctx_t *c = ctx;
    assert_true(key_size < 16);
    assert_int_equal(val_size, 1);
    assert_int_equal(val[0], 'v');
    memcpy(c->seen[c->count], key, key_size);
    c->seen[c->count][key_size] = '\0';
    c->count++;
    return c->count == c->stop_at ? 7 : 0;
}

static void test_scan(void **state)
{
    fixture_t *f = *state;
    const char *keys[] = {"a", "ab1", "ab2", "ab3", "abz", "ac", "b"};
    for (size_t i = 0; i < 7; i++)
        s_put(f->l, EC_CF_STATE, keys[i], "v");
    assert_int_equal(ec_ledger_write(f->l, 1), 0);
    s_put(f->l, EC_CF_STATE, "ab0", "v"); /* pending: scans see committed data only */

    scan_ctx_t c = {0};
    assert_int_equal(ec_ledger_scan(f->l, EC_CF_STATE, "ab", 2, NULL, 0, 0, s_collect, &c), 0);
    assert_int_equal(c.count, 4);
    assert_string_equal(c.seen[0], "ab1");
    assert_string_equal(c.seen[3], "abz");

    memset(&c, 0, sizeof c);
    assert_int_equal(ec_ledger_scan(f->l, EC_CF_STATE, "ab", 2, "ab2", 3, 0, s_collect, &c), 0);
    assert_int_equal(c.count, 3);
    assert_string_equal(c.seen[0], "ab2");

    memset(&c, 0, sizeof c);
    assert_int_equal(ec_ledger_scan(f->l, EC_CF_STATE, "ab", 2, "ab10", 4, 2, s_collect, &c), 0);
    assert_int_equal(c.count, 2);
    assert_string_equal(c.seen[0], "ab2");
    assert_string_equal(c.seen[1], "ab3");

    memset(&c, 0, sizeof c); /* start key below the prefix: starts at the prefix */
    assert_int_equal(ec_ledger_scan(f->l, EC_CF_STATE, "ab", 2, "a", 1, 0, s_collect, &c), 0);
    assert_int_equal(c.count, 4);

    memset(&c, 0, sizeof c); /* start key past the prefix range: nothing */
    assert_int_equal(ec_ledger_scan(f->l, EC_CF_STATE, "ab", 2, "ac", 2, 0, s_collect, &c), 0);
    assert_int_equal(c.count, 0);

    memset(&c, 0, sizeof c); /* no prefix: everything */
    assert_int_equal(ec_ledger_scan(f->l, EC_CF_STATE, NULL, 0, NULL, 0, 0, s_collect, &c), 0);
    assert_int_equal(c.count, 7);

    memset(&c, 0, sizeof c); /* fn's non-zero value stops the scan and is returned */
    c.stop_at = 2;
    assert_int_equal(ec_ledger_scan(f->l, EC_CF_STATE, "a", 1, NULL, 0, 0, s_collect, &c), 7);
    assert_int_equal(c.count, 2);

    memset(&c, 0, sizeof c); /* an absent prefix */
    assert_int_equal(ec_ledger_scan(f->l, EC_CF_STATE, "zz", 2, NULL, 0, 0, s_collect, &c), 0);
    assert_int_equal(c.count, 0);

    /* Keys with a 0xff prefix (no upper bound exists) still scan correctly. */
    const uint8_t k1[] = {0xff, 0xff, 1}, k2[] = {0xff, 0xff, 2};
    ec_ledger_put(f->l, EC_CF_MERKLE, k1, 3, "v", 1);
    ec_ledger_put(f->l, EC_CF_MERKLE, k2, 3, "v", 1);
    ec_ledger_put(f->l, EC_CF_MERKLE, "\xfe", 1, "v", 1);
    assert_int_equal(ec_ledger_write(f->l, 2), 0);
    memset(&c, 0, sizeof c);
    assert_int_equal(ec_ledger_scan(f->l, EC_CF_MERKLE, "\xff\xff", 2, NULL, 0, 0, s_collect, &c),
                     0);
    assert_int_equal(c.count, 2);
}

static void s_header_fill(ec_header_t *h, uint64_t height)
{
    memset(h, 0, sizeof *h);
    strcpy(h->chain_id, "ecert-test");
    h->height = height;
    h->time_ms = 1763700000000ull + height;
    memset(h->prev_hash, 0x11, 32);
    memset(h->tx_root, 0x22, 32);
    h->tx_count = 3;
    memset(h->state_root, 0x33, 32);
    memset(h->hist_root, 0x44, 32);
    memset(h->xanchor_root, 0x55, 32);
    memset(h->valset_hash, 0x66, 32);
    memset(h->next_valset_hash, 0x66, 32);
}

/* ec_ledger_scan_pending: the pending block's writes merged with the store, in order. */
static void test_scan_pending(void **state)
{
    fixture_t *f = *state;
    const char *keys[] = {"a", "ab1", "ab2", "ab3", "abz", "ac"};
    for (size_t i = 0; i < 6; i++)
        s_put(f->l, EC_CF_STATE, keys[i], "v");
    assert_int_equal(ec_ledger_write(f->l, 1), 0);
    s_put(f->l, EC_CF_STATE, "ab0", "v");       /* new, first                */
    s_put(f->l, EC_CF_STATE, "ab2", "v");       /* overwritten: seen once    */
    ec_ledger_del(f->l, EC_CF_STATE, "ab3", 3); /* deleted: not seen         */
    s_put(f->l, EC_CF_STATE, "ab4", "v");       /* new, between committed    */
    s_put(f->l, EC_CF_META, "ab5", "v");        /* another column family     */
    s_put(f->l, EC_CF_STATE, "abzz", "v");      /* new, last                 */
    ec_ledger_savepoint(f->l);
    s_put(f->l, EC_CF_STATE, "ab6", "v"); /* rolled back: not seen     */
    ec_ledger_rollback(f->l);

    scan_ctx_t c = {0};
    assert_int_equal(
        ec_ledger_scan_pending(f->l, EC_CF_STATE, "ab", 2, NULL, 0, 100, s_collect, &c), 0);
    const char *want[] = {"ab0", "ab1", "ab2", "ab4", "abz", "abzz"};
    assert_int_equal(c.count, 6);
    for (int i = 0; i < 6; i++)
        assert_string_equal(c.seen[i], want[i]);

    memset(&c, 0, sizeof c); /* after a key (exclusive), with a limit */
    assert_int_equal(ec_ledger_scan_pending(f->l, EC_CF_STATE, "ab", 2, "ab1", 3, 2, s_collect, &c),
                     0);
    assert_int_equal(c.count, 2);
    assert_string_equal(c.seen[0], "ab2");
    assert_string_equal(c.seen[1], "ab4");

    memset(&c, 0, sizeof c); /* after a deleted key */
    assert_int_equal(
        ec_ledger_scan_pending(f->l, EC_CF_STATE, "ab", 2, "ab3", 3, 100, s_collect, &c), 0);
    assert_int_equal(c.count, 3);
    assert_string_equal(c.seen[0], "ab4");

    memset(&c, 0, sizeof c); /* fn's word stops the scan and is returned */
    c.stop_at = 3;
    assert_int_equal(
        ec_ledger_scan_pending(f->l, EC_CF_STATE, "ab", 2, NULL, 0, 100, s_collect, &c), 7);
    assert_int_equal(c.count, 3);
    assert_true(ec_ledger_pending_count(f->l) >= 6);

    memset(&c, 0, sizeof c); /* nothing pending under the prefix: the store alone */
    assert_int_equal(
        ec_ledger_scan_pending(f->l, EC_CF_STATE, "ac", 2, NULL, 0, 100, s_collect, &c), 0);
    assert_int_equal(c.count, 1);
}

static void test_headers(void **state)
{
    fixture_t *f = *state;
    ec_header_t h, got;
    ec_commit_t c, got_c;
    s_header_fill(&h, 5);
    memset(&c, 0, sizeof c);
    c.height = 5;
    c.round = 1;
    ec_header_hash(c.block_hash, &h);
    c.sig_count = 1;
    c.sigs[0].index = 0;
    memset(c.sigs[0].sig, 0x77, 64);

    ec_writer_t wh, wc, rec;
    ec_writer_init(&wh);
    ec_writer_init(&wc);
    ec_writer_init(&rec);
    ec_header_encode(&wh, &h);
    ec_commit_encode(&wc, &c);
    ec_write_array(&rec, 3); /* [header, commit, anchors] as the engine writes it */
    ec_write_bin(&rec, ec_writer_data(&wh), ec_writer_size(&wh));
    ec_write_bin(&rec, ec_writer_data(&wc), ec_writer_size(&wc));
    ec_write_array(&rec, 1);
    ec_write_bin(&rec, "anchor", 6);
    uint8_t key[8];
    ec_be64_put(key, 5);
    ec_ledger_put(f->l, EC_CF_HEADERS, key, 8, ec_writer_data(&rec), ec_writer_size(&rec));

    /* A two-element record (no anchors) at height 6. */
    ec_writer_reset(&rec);
    ec_write_array(&rec, 2);
    ec_write_bin(&rec, ec_writer_data(&wh), ec_writer_size(&wh));
    ec_write_bin(&rec, ec_writer_data(&wc), ec_writer_size(&wc));
    ec_be64_put(key, 6);
    ec_ledger_put(f->l, EC_CF_HEADERS, key, 8, ec_writer_data(&rec), ec_writer_size(&rec));

    /* A corrupt record at height 7. */
    ec_be64_put(key, 7);
    ec_ledger_put(f->l, EC_CF_HEADERS, key, 8, "\x93\x01", 2);

    /* Before the write nothing is visible to committed readers. */
    uint8_t *hb = NULL, *cb = NULL;
    size_t hs = 0, cs = 0;
    assert_int_equal(ec_ledger_header_raw(f->l, 5, &hb, &hs, &cb, &cs), EC_ENOTFOUND);
    assert_int_equal(ec_ledger_write(f->l, 7), 0);

    for (uint64_t height = 5; height <= 6; height++) {
        assert_int_equal(ec_ledger_header_raw(f->l, height, &hb, &hs, &cb, &cs), 0);
        assert_int_equal(hs, ec_writer_size(&wh));
        assert_memory_equal(hb, ec_writer_data(&wh), hs);
        assert_int_equal(cs, ec_writer_size(&wc));
        assert_memory_equal(cb, ec_writer_data(&wc), cs);
        free(hb);
        free(cb);
        memset(&got, 0, sizeof got);
        assert_int_equal(ec_ledger_header(f->l, height, &got, &got_c), 0);
        assert_memory_equal(&got, &h, sizeof h);
        assert_true(got_c.height == 5 && got_c.round == 1 && got_c.sig_count == 1);
        assert_memory_equal(got_c.block_hash, c.block_hash, 32);
        assert_int_equal(ec_ledger_header(f->l, height, &got, NULL), 0);
    }
    assert_int_equal(ec_ledger_header_raw(f->l, 7, &hb, &hs, &cb, &cs), EC_EIO);
    assert_null(hb);
    assert_int_equal(ec_ledger_header(f->l, 7, &got, NULL), EC_EIO);
    assert_int_equal(ec_ledger_header_raw(f->l, 8, &hb, &hs, &cb, &cs), EC_ENOTFOUND);
    assert_int_equal(ec_ledger_header(f->l, 0, &got, NULL), EC_ENOTFOUND);
    ec_writer_fini(&wh);
    ec_writer_fini(&wc);
    ec_writer_fini(&rec);
}

static void test_tx_location(void **state)
{
    fixture_t *f = *state;
    uint8_t id[32], other[32], bad[32];
    memset(id, 0xaa, 32);
    memset(other, 0xbb, 32);
    memset(bad, 0xcc, 32);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 2);
    ec_write_uint(&w, 123456789012ull);
    ec_write_uint(&w, 9999);
    ec_ledger_put(f->l, EC_CF_TXINDEX, id, 32, ec_writer_data(&w), ec_writer_size(&w));
    ec_writer_reset(&w);
    ec_write_array(&w, 2);
    ec_write_uint(&w, 1);
    ec_write_uint(&w, 1ull << 32); /* index out of range: corrupt */
    ec_ledger_put(f->l, EC_CF_TXINDEX, bad, 32, ec_writer_data(&w), ec_writer_size(&w));
    ec_writer_fini(&w);
    assert_int_equal(ec_ledger_write(f->l, 1), 0);

    uint64_t height = 1;
    uint32_t index = 1;
    assert_int_equal(ec_ledger_tx_location(f->l, id, &height, &index), 0);
    assert_true(height == 123456789012ull);
    assert_int_equal(index, 9999);
    assert_int_equal(ec_ledger_tx_location(f->l, other, &height, &index), EC_ENOTFOUND);
    assert_int_equal(ec_ledger_tx_location(f->l, bad, &height, &index), EC_EIO);
}

static void test_open_errors(void **state)
{
    fixture_t *f = *state;
    ec_status_t st = {0};
    /* The database is locked by the fixture's handle. */
    ec_ledger_t *second = ec_ledger_open(f->dir, &st);
    assert_null(second);
    assert_int_equal(st.code, EC_EIO);
    assert_non_null(strstr(st.msg, f->dir));

    /* A path under a regular file cannot be created. */
    char path[128];
    snprintf(path, sizeof path, "%s/file", f->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
    snprintf(path, sizeof path, "%s/file/db", f->dir);
    ec_status_clear(&st);
    assert_null(ec_ledger_open(path, &st));
    assert_int_equal(st.code, EC_EIO);
    assert_true(strlen(st.msg) > 0);
}

int main(void)
{
    assert_int_equal(ec_crypto_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_be64),
        cmocka_unit_test_setup_teardown(test_pending_then_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_digest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_savepoints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_savepoint_slow_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_savepoints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_location, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
