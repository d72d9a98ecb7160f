/*
 * test_exec.c - deterministic block execution (common/ec_exec.c) over real RocksDB
 * ledgers: the same body gives the same header on two nodes; a refused transaction stays
 * in its block with its code and spends its id; what cannot be a block is refused; a local
 * fault is not a verdict; stored blocks survive a restart; a validator-set change takes
 * effect two heights later and is named one header ahead; evidence is recorded once.
 *
 * The app: type 1 PUT [key, value] (an existing key: EC_EEXIST; the key "io": a simulated
 * storage fault, EC_EIO) and type 2 VALSET [pk: bin32, power] (one validator's power).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ec_exec.h"
#include "ec_merkle.h"
#include "test_util.h"

enum { T_PUT = 1, T_VALSET = 2 };
#define CHAIN "exec-test"

static int t_check(void *self, const ec_tx_t *tx, const uint8_t *payload, size_t payload_size,
                   ec_status_t *st)
{
    (void)self, (void)tx, (void)payload, (void)payload_size, (void)st;
    return 0;
}

static int t_deliver(void *self, ec_block_ctx_t *ctx, const ec_tx_t *tx, const uint8_t *payload,
                     size_t payload_size, ec_status_t *st)
{
    (void)self, (void)payload, (void)payload_size;
    ec_cur_t c;
    ec_cur_open(&c, tx->body, 2);
    if (tx->type == T_VALSET) {
        ec_validator_t v;
        ec_cur_bin_fixed(&c, v.pk, EC_PK_BYTES);
        ec_cur_uint(&c, &v.power);
        assert_int_equal(ec_cur_finish(&c), 0);
        if (ctx->valset_changed)
            return ec_status_set(st, EC_EBUSY, "one change per block");
        ctx->valset_changed = true;
        ctx->valset_change = v;
        return 0;
    }
    const char *k, *v;
    size_t kl, vl;
    ec_cur_str(&c, &k, &kl, 64);
    ec_cur_str(&c, &v, &vl, 64);
    assert_int_equal(ec_cur_finish(&c), 0);
    if (kl == 2 && memcmp(k, "io", 2) == 0)
        return ec_status_set(st, EC_EIO, "simulated storage fault");
    uint8_t *old = NULL;
    size_t old_size;
    int rc = ec_state_get(ctx->ledger, k, kl, &old, &old_size);
    free(old);
    if (rc == 0)
        return ec_status_set(st, EC_EEXIST, "key %.*s exists", (int)kl, k);
    ec_state_put(ctx->ledger, k, kl, v, vl);
    ctx->ref = kl; /* something the result carries */
    return 0;
}

static int t_end(void *self, ec_block_ctx_t *ctx, uint8_t root[EC_HASH_BYTES])
{
    (void)self;
    ec_ledger_state_digest(ctx->ledger, root);
    return 0;
}

static ec_app_t s_app = {"exec-test", NULL, t_check, t_deliver, t_end, NULL, NULL};

/* ---- fixture ---------------------------------------------------------------------------- */

typedef struct {
    char dir[2][64];
    ec_ledger_t *ledger[2];
    ec_exec_t *x[2];
    ec_key_t *keys[4];
    ec_key_t *user;
    ec_genesis_t genesis;
    uint64_t nonce;
    /* a body under construction */
    ec_writer_t env[16];
    ec_tx_t tx[16];
    ec_exec_tx_t etx[16];
    uint32_t n;
} fx_t;

static ec_exec_t *s_exec(fx_t *f, int i)
{
    ec_status_t st = {0};
    ec_exec_t *x = ec_exec_new(f->ledger[i], &s_app, &f->genesis, &st);
    if (!x)
        fail_msg("ec_exec_new: %s", st.msg);
    return x;
}

static int s_setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    for (int i = 0; i < 4; i++)
        f->keys[i] = tu_key((uint8_t)(0x60 + i));
    f->user = tu_key(0x70);
    ec_genesis_t *g = &f->genesis;
    strcpy(g->chain_id, CHAIN);
    g->kind = EC_CHAIN_MAIN;
    g->time_ms = 1000;
    g->validators.count = 4;
    for (int i = 0; i < 4; i++) {
        memcpy(g->validators.v[i].pk, ec_key_pk(f->keys[i]), EC_PK_BYTES);
        g->validators.v[i].power = 1;
    }
    g->operator_count = 1;
    g->operator_quorum = 1;
    memcpy(g->operators[0], ec_key_pk(f->user), EC_PK_BYTES);
    for (int i = 0; i < 2; i++) {
        f->ledger[i] = tu_ledger_make(f->dir[i], sizeof f->dir[i], "ec-exec");
        f->x[i] = s_exec(f, i);
    }
    for (int i = 0; i < 16; i++)
        ec_writer_init(&f->env[i]);
    *state = f;
    return 0;
}

static void s_body_clear(fx_t *f)
{
    for (uint32_t i = 0; i < f->n; i++)
        ec_tx_fini(&f->tx[i]);
    f->n = 0;
}

static int s_teardown(void **state)
{
    fx_t *f = *state;
    s_body_clear(f);
    for (int i = 0; i < 2; i++) {
        ec_exec_destroy(&f->x[i]);
        ec_ledger_destroy(&f->ledger[i]);
        tu_tmpdir_remove(f->dir[i]);
    }
    for (int i = 0; i < 16; i++)
        ec_writer_fini(&f->env[i]);
    for (int i = 0; i < 4; i++)
        ec_key_destroy(&f->keys[i]);
    ec_key_destroy(&f->user);
    free(f);
    return 0;
}

/* Adds a PUT (or, with pk set, a VALSET) to the body; `again` repeats tx number `again`. */
static void s_add(fx_t *f, const char *key, const uint8_t *pk, uint64_t power)
{
    assert_true(f->n < 16);
    ec_writer_t b;
    ec_writer_init(&b);
    ec_write_array(&b, 2);
    if (pk) {
        ec_write_bin(&b, pk, EC_PK_BYTES);
        ec_write_uint(&b, power);
    } else {
        ec_write_cstr(&b, key);
        ec_write_cstr(&b, "v");
    }
    ec_writer_t *w = &f->env[f->n];
    ec_writer_reset(w);
    ec_tx_build(w, NULL, CHAIN, pk ? T_VALSET : T_PUT, f->user, f->nonce++, NULL,
                ec_writer_data(&b), ec_writer_size(&b));
    ec_writer_fini(&b);
    assert_int_equal(ec_tx_decode(&f->tx[f->n], ec_writer_data(w), ec_writer_size(w)), 0);
    f->etx[f->n] = (ec_exec_tx_t){ec_writer_data(w), ec_writer_size(w), &f->tx[f->n], NULL, 0};
    f->n++;
}

/* The same transaction again in this body. */
static void s_add_again(fx_t *f, uint32_t which)
{
    ec_writer_t *w = &f->env[which];
    assert_int_equal(ec_tx_decode(&f->tx[f->n], ec_writer_data(w), ec_writer_size(w)), 0);
    f->etx[f->n] = (ec_exec_tx_t){ec_writer_data(w), ec_writer_size(w), &f->tx[f->n], NULL, 0};
    f->n++;
}

/* Applies the body on node i at the next height, time t. */
static int s_apply(fx_t *f, int i, uint64_t t, ec_header_t *h, uint8_t hash[EC_HASH_BYTES],
                   ec_tx_result_t *res, ec_status_t *st)
{
    ec_exec_body_t body = {ec_exec_height(f->x[i]) + 1, t, f->n, f->etx, 0, NULL};
    return ec_exec_apply(f->x[i], &body, h, hash, res, st);
}

/* A commit of `hash` signed by validators 0..2 of the genesis set. */
static void s_commit(fx_t *f, const ec_header_t *h, const uint8_t hash[EC_HASH_BYTES],
                     ec_commit_t *c)
{
    memset(c, 0, sizeof *c);
    c->height = h->height;
    memcpy(c->block_hash, hash, EC_HASH_BYTES);
    for (uint32_t k = 0; k < 3; k++)
        ec_commit_sign(c, CHAIN, k, f->keys[k]);
}

/* Applies and stores the body on both nodes, checking they agree; returns the height. */
static uint64_t s_block(fx_t *f, uint64_t t, ec_tx_result_t *res)
{
    ec_header_t h[2];
    uint8_t hash[2][EC_HASH_BYTES];
    ec_tx_result_t r2[16];
    ec_status_t st = {0};
    for (int i = 0; i < 2; i++) {
        int rc = s_apply(f, i, t, &h[i], hash[i], i == 0 ? res : r2, &st);
        if (rc != 0)
            fail_msg("apply on node %d: %s", i, st.msg);
    }
    assert_memory_equal(&h[0], &h[1], sizeof h[0]);
    assert_memory_equal(hash[0], hash[1], EC_HASH_BYTES);
    for (uint32_t k = 0; k < f->n; k++) {
        assert_int_equal(res[k].code, r2[k].code);
        assert_int_equal(res[k].ref, r2[k].ref);
    }
    ec_commit_t c;
    s_commit(f, &h[0], hash[0], &c);
    for (int i = 0; i < 2; i++)
        assert_int_equal(ec_exec_store(f->x[i], &c, &st), 0);
    s_body_clear(f);
    return h[0].height;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_same_body_same_block(void **state)
{
    fx_t *f = *state;
    ec_tx_result_t res[16];
    s_add(f, "a", NULL, 0);
    s_add(f, "b", NULL, 0);
    uint64_t h = s_block(f, 2000, res);
    assert_int_equal(h, 1);
    assert_int_equal(res[0].code, 0);
    assert_int_equal(res[0].ref, 1);
    assert_int_equal(ec_exec_height(f->x[0]), 1);
    assert_int_equal(ec_exec_tip_time(f->x[0]), 2000);
    /* The stored block holds its results, and tx_root covers them. */
    size_t size = 0;
    const uint8_t *raw = ec_exec_last_block(f->x[0], &size);
    ec_block_t b;
    assert_int_equal(ec_block_decode(&b, raw, size), 0);
    assert_int_equal(b.tx_count, 2);
    ec_hash32_t leaves[2];
    for (uint32_t i = 0; i < 2; i++) {
        ec_tx_result_t r;
        ec_block_result(&b, i, &r);
        assert_int_equal(r.code, 0);
        ec_tx_t tx;
        assert_int_equal(
            ec_tx_decode(&tx, (const uint8_t *)b.txs[i].via.bin.ptr, b.txs[i].via.bin.size), 0);
        ec_tx_leaf(leaves[i], tx.id, &r);
        ec_tx_fini(&tx);
    }
    uint8_t root[EC_HASH_BYTES];
    ec_merkle_root(root, (const ec_hash32_t *)leaves, 2);
    assert_memory_equal(root, b.header.tx_root, EC_HASH_BYTES);
    ec_block_fini(&b);
}

static void test_refused_stays(void **state)
{
    fx_t *f = *state;
    ec_tx_result_t res[16];
    s_add(f, "k", NULL, 0);
    s_block(f, 2000, res);
    /* "k" again: refused, in the block, its writes undone, its id spent. */
    s_add(f, "k", NULL, 0);
    s_add(f, "other", NULL, 0);
    ec_tx_t kept;
    assert_int_equal(ec_tx_decode(&kept, ec_writer_data(&f->env[0]), ec_writer_size(&f->env[0])),
                     0);
    uint64_t h = s_block(f, 3000, res);
    assert_int_equal(res[0].code, EC_EEXIST);
    assert_int_equal(res[0].ref, 0);
    assert_int_equal(res[1].code, 0);
    assert_non_null(ec_exec_refusal(f->x[0], 0));
    assert_non_null(strstr(ec_exec_refusal(f->x[0], 0), "exists"));
    assert_null(ec_exec_refusal(f->x[0], 1));
    uint64_t at = 0;
    uint32_t index = 9;
    assert_int_equal(ec_ledger_tx_location(f->ledger[0], kept.id, &at, &index), 0);
    assert_int_equal(at, h);
    assert_int_equal(index, 0);
    ec_tx_fini(&kept);
    /* A spent id (refused or not) cannot be in a later block. */
    s_add_again(f, 0);
    ec_header_t hd;
    uint8_t hash[EC_HASH_BYTES];
    ec_status_t st = {0};
    assert_int_equal(s_apply(f, 0, 4000, &hd, hash, res, &st), EC_EINVAL);
    assert_non_null(strstr(st.msg, "committed before"));
    ec_exec_discard(f->x[0]);
    s_body_clear(f);
}

static void test_not_a_block(void **state)
{
    fx_t *f = *state;
    ec_tx_result_t res[16];
    ec_header_t h;
    uint8_t hash[EC_HASH_BYTES];
    ec_status_t st = {0};
    s_add(f, "x", NULL, 0);
    s_block(f, 5000, res);
    /* Time not after the tip's; the wrong height; one transaction twice. */
    s_add(f, "y", NULL, 0);
    assert_int_equal(s_apply(f, 0, 5000, &h, hash, res, &st), EC_EINVAL);
    assert_non_null(strstr(st.msg, "time"));
    ec_exec_body_t body = {5, 6000, f->n, f->etx, 0, NULL};
    assert_int_equal(ec_exec_apply(f->x[0], &body, &h, hash, res, &st), EC_EINVAL);
    s_add_again(f, 0);
    assert_int_equal(s_apply(f, 0, 6000, &h, hash, res, &st), EC_EINVAL);
    assert_null(ec_exec_pending_hash(f->x[0]));
    s_body_clear(f);
    /* A storage fault inside the app is not a verdict: the apply fails with it. */
    s_add(f, "io", NULL, 0);
    assert_int_equal(s_apply(f, 0, 6000, &h, hash, res, &st), EC_EIO);
    s_body_clear(f);
    /* After all that, a good body still applies and the failed ones left no trace. */
    s_add(f, "y", NULL, 0);
    assert_int_equal(s_block(f, 6000, res), 2);
    assert_int_equal(res[0].code, 0);
}

static void test_restart(void **state)
{
    fx_t *f = *state;
    ec_tx_result_t res[16];
    s_add(f, "a", NULL, 0);
    s_block(f, 2000, res);
    s_add(f, "b", NULL, 0);
    s_block(f, 3000, res);
    uint8_t tip[EC_HASH_BYTES];
    memcpy(tip, ec_exec_tip_hash(f->x[0]), EC_HASH_BYTES);
    ec_exec_destroy(&f->x[0]);
    f->x[0] = s_exec(f, 0);
    assert_int_equal(ec_exec_height(f->x[0]), 2);
    assert_memory_equal(ec_exec_tip_hash(f->x[0]), tip, EC_HASH_BYTES);
    assert_int_equal(ec_exec_tip_time(f->x[0]), 3000);
    /* Another chain's genesis on this store is refused. */
    ec_exec_destroy(&f->x[0]);
    ec_genesis_t other = f->genesis;
    strcpy(other.chain_id, "exec-other");
    ec_status_t st = {0};
    assert_null(ec_exec_new(f->ledger[0], &s_app, &other, &st));
    assert_int_equal(st.code, EC_ECHAIN);
    f->x[0] = s_exec(f, 0);
    s_add(f, "c", NULL, 0);
    assert_int_equal(s_block(f, 4000, res), 3);
}

static void test_valset_change(void **state)
{
    fx_t *f = *state;
    ec_tx_result_t res[16];
    ec_valset_t vs0 = f->genesis.validators, vs;
    uint8_t h0[EC_HASH_BYTES], h1[EC_HASH_BYTES];
    ec_valset_hash(h0, &vs0);
    /* Block 1 raises validator 3's power to 5: in force from height 3. */
    s_add(f, NULL, ec_key_pk(f->keys[3]), 5);
    s_add(f, NULL, ec_key_pk(f->keys[2]), 0); /* a second change in one block: refused */
    assert_int_equal(s_block(f, 2000, res), 1);
    assert_int_equal(res[0].code, 0);
    assert_int_equal(res[1].code, EC_EBUSY);
    assert_int_equal(ec_exec_valset(f->x[0], 2, &vs), 0);
    ec_valset_hash(h1, &vs);
    assert_memory_equal(h1, h0, EC_HASH_BYTES);
    assert_int_equal(ec_exec_valset(f->x[0], 3, &vs), 0);
    assert_int_equal(vs.v[3].power, 5);
    ec_valset_hash(h1, &vs);
    assert_int_equal(ec_exec_valset(f->x[0], 4, &vs), EC_ENOTFOUND); /* beyond tip + 2 */
    ec_header_t hd;
    assert_int_equal(ec_ledger_header(f->ledger[0], 1, &hd, NULL), 0);
    assert_memory_equal(hd.valset_hash, h0, EC_HASH_BYTES);
    assert_memory_equal(hd.next_valset_hash, h0, EC_HASH_BYTES);
    s_add(f, "a", NULL, 0);
    s_block(f, 3000, res);
    /* Header 2 names the new set as the next one; header 3 is committed by it. */
    assert_int_equal(ec_ledger_header(f->ledger[0], 2, &hd, NULL), 0);
    assert_memory_equal(hd.valset_hash, h0, EC_HASH_BYTES);
    assert_memory_equal(hd.next_valset_hash, h1, EC_HASH_BYTES);
    assert_memory_equal(ec_exec_next_valset(f->x[0])->v[3].pk, ec_key_pk(f->keys[3]), EC_PK_BYTES);
    assert_int_equal(ec_exec_next_valset(f->x[0])->v[3].power, 5);
    /* Removing validator 2 at block 3, adding a fifth key at block 4. */
    s_add(f, NULL, ec_key_pk(f->keys[2]), 0);
    s_block(f, 4000, res);
    s_add(f, NULL, ec_key_pk(f->user), 1);
    s_block(f, 5000, res);
    assert_int_equal(ec_exec_valset(f->x[0], 5, &vs), 0);
    assert_int_equal(vs.count, 3);
    assert_int_equal(ec_exec_valset(f->x[0], 6, &vs), 0);
    assert_int_equal(vs.count, 4);
    assert_memory_equal(vs.v[3].pk, ec_key_pk(f->user), EC_PK_BYTES);
    /* What is stored survives a restart and reads without an exec. */
    ec_exec_destroy(&f->x[1]);
    f->x[1] = s_exec(f, 1);
    ec_valset_t a, b;
    for (uint64_t h = 1; h <= 6; h++) {
        uint8_t ha[EC_HASH_BYTES], hb[EC_HASH_BYTES];
        assert_int_equal(ec_exec_valset(f->x[0], h, &a), 0);
        assert_int_equal(ec_exec_valset(f->x[1], h, &b), 0);
        ec_valset_hash(ha, &a);
        ec_valset_hash(hb, &b);
        assert_memory_equal(ha, hb, EC_HASH_BYTES);
        assert_int_equal(ec_exec_valset_stored(f->ledger[0], &f->genesis, h, &b), 0);
        ec_valset_hash(hb, &b);
        assert_memory_equal(ha, hb, EC_HASH_BYTES);
    }
}

/* Two conflicting signed prevotes of validator `who` at height h. */
static void s_equivocation(fx_t *f, uint32_t who, uint64_t h, ec_evidence_t *e)
{
    ec_vote_t v[2];
    for (int i = 0; i < 2; i++) {
        memset(&v[i], 0, sizeof v[i]);
        v[i].height = h;
        v[i].type = EC_VOTE_PREVOTE;
        v[i].validator = who;
        memset(v[i].hash, 0x10 + i, EC_HASH_BYTES);
        ec_writer_t w;
        ec_writer_init(&w);
        ec_vote_sign_bytes(&w, CHAIN, h, 0, EC_VOTE_PREVOTE, v[i].hash);
        ec_sign(v[i].sig, ec_writer_data(&w), ec_writer_size(&w), f->keys[who]);
        ec_writer_fini(&w);
    }
    e->a = v[0];
    e->b = v[1];
    ec_evidence_order(e);
}

static void test_evidence(void **state)
{
    fx_t *f = *state;
    ec_tx_result_t res[16];
    s_add(f, "a", NULL, 0);
    s_block(f, 2000, res);
    ec_evidence_t ev[2];
    s_equivocation(f, 1, 1, &ev[0]);
    s_equivocation(f, 2, 2, &ev[1]); /* at the height being built */
    ec_exec_body_t body = {2, 3000, 0, NULL, 2, ev};
    ec_header_t h;
    uint8_t hash[EC_HASH_BYTES];
    ec_status_t st = {0};
    assert_int_equal(ec_exec_apply(f->x[0], &body, &h, hash, res, &st), 0);
    assert_int_equal(h.evidence_count, 2);
    ec_hash32_t leaves[2];
    for (int i = 0; i < 2; i++) {
        ec_writer_t w;
        ec_writer_init(&w);
        ec_evidence_encode(&w, &ev[i]);
        ec_merkle_leaf(leaves[i], EC_LEAF_EVIDENCE, ec_writer_data(&w), ec_writer_size(&w));
        ec_writer_fini(&w);
    }
    uint8_t root[EC_HASH_BYTES];
    ec_merkle_root(root, (const ec_hash32_t *)leaves, 2);
    assert_memory_equal(root, h.evidence_root, EC_HASH_BYTES);
    ec_commit_t c;
    s_commit(f, &h, hash, &c);
    assert_int_equal(ec_exec_store(f->x[0], &c, &st), 0);
    /* Recorded once: the same evidence again is refused. */
    body = (ec_exec_body_t){3, 4000, 0, NULL, 1, ev};
    assert_int_equal(ec_exec_apply(f->x[0], &body, &h, hash, res, &st), EC_EINVAL);
    assert_non_null(strstr(st.msg, "already recorded"));
    /* Evidence of a height not reached yet, or that does not check. */
    ec_evidence_t later, forged = ev[1];
    s_equivocation(f, 3, 9, &later);
    body.evidence = &later;
    assert_int_equal(ec_exec_apply(f->x[0], &body, &h, hash, res, &st), EC_EINVAL);
    forged.b.sig[0] ^= 1;
    body.evidence = &forged;
    assert_int_equal(ec_exec_apply(f->x[0], &body, &h, hash, res, &st), EC_EINVAL);
    assert_non_null(strstr(st.msg, "does not check"));
    ec_exec_discard(f->x[0]);
}

int main(void)
{
    if (ec_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_same_body_same_block, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_refused_stays, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_not_a_block, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_restart, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_valset_change, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_evidence, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
