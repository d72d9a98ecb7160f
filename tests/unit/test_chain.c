/*
 * test_chain.c - unit tests for ec_chain: names, records, state roots, proof paths and
 * the light client. The light client tests build real little chains of headers (hist
 * roots from ec_merkle_root over the block leaves, commits signed by real keys) and check
 * advance, duplicates, chain ids, bad commits, fork proofs and garbage proofs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec_chain.h"
#include "test_util.h"

/* ---- names ------------------------------------------------------------------------------ */

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(ec_role_name(EC_ROLE_CA), "ca");
    assert_string_equal(ec_role_name(EC_ROLE_ISSUER), "issuer");
    assert_string_equal(ec_role_name(EC_ROLE_INSPECTOR), "inspector");
    assert_string_equal(ec_role_name(EC_ROLE_SUPERVISOR), "supervisor");
    assert_string_equal(ec_role_name(EC_ROLE_DEPLOYER), "deployer");
    assert_null(ec_role_name(0));
    assert_null(ec_role_name(EC_ROLE_MAX + 1));
    for (uint32_t r = 1; r <= EC_ROLE_MAX; r++)
        assert_int_equal(ec_role_parse(ec_role_name(r)), r);
    assert_int_equal(ec_role_parse("admin"), 0);
    assert_int_equal(ec_role_parse(NULL), 0);
    assert_string_equal(ec_tx_type_name(EC_CHAIN_MAIN, EC_MTX_REGISTER), "REGISTER");
    assert_string_equal(ec_tx_type_name(EC_CHAIN_MAIN, EC_MTX_ANCHOR), "ANCHOR");
    assert_string_equal(ec_tx_type_name(EC_CHAIN_SIDE, EC_STX_ISSUE), "ISSUE");
    assert_string_equal(ec_tx_type_name(EC_CHAIN_SIDE, EC_STX_MAIN_ANCHOR), "MAIN_ANCHOR");
    assert_string_equal(ec_tx_type_name(EC_CHAIN_SIDE, EC_STX_ERASE), "ERASE");
    assert_string_equal(ec_tx_type_name(EC_CHAIN_SIDE, EC_STX_SUSPEND), "SUSPEND");
    assert_string_equal(ec_tx_type_name(EC_CHAIN_SIDE, EC_STX_CANCEL), "CANCEL");
    assert_string_equal(ec_tx_type_name(EC_CHAIN_SIDE, EC_STX_MAX + 1), "UNKNOWN");
    assert_string_equal(ec_tx_type_name(EC_CHAIN_SIDE, 0), "UNKNOWN");
    assert_string_equal(ec_tx_type_name(EC_CHAIN_MAIN, EC_MTX_SIDECHAIN_UPDATE),
                        "SIDECHAIN_UPDATE");
    assert_string_equal(ec_tx_type_name(EC_CHAIN_MAIN, EC_MTX_VALIDATOR_UPDATE),
                        "VALIDATOR_UPDATE");
    assert_string_equal(ec_tx_type_name(EC_CHAIN_MAIN, EC_MTX_SIDECHAIN_VALIDATOR),
                        "SIDECHAIN_VALIDATOR");
    assert_string_equal(ec_tx_type_name(EC_CHAIN_MAIN, EC_MTX_GOV_PROPOSE), "GOV_PROPOSE");
    assert_string_equal(ec_tx_type_name(EC_CHAIN_MAIN, EC_MTX_OPERATORS), "OPERATORS");
    assert_string_equal(ec_tx_type_name(EC_CHAIN_MAIN, EC_MTX_MAX + 1), "UNKNOWN");
    assert_string_equal(ec_tx_type_name(3, 1), "UNKNOWN");
}

/* ---- records ---------------------------------------------------------------------------- */

static int s_record_rt(const ec_record_t *r)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_record_encode(&w, r);
    ec_record_t back;
    int rc = ec_record_decode(&back, ec_writer_data(&w), ec_writer_size(&w));
    if (rc == 0)
        assert_memory_equal(&back, r, sizeof back);
    ec_writer_fini(&w);
    return rc;
}

static void test_records(void **state)
{
    (void)state;
    ec_record_t r;
    memset(&r, 0, sizeof r);
    r.seq = 12;
    r.kind = EC_REC_ROLE_GRANT;
    memset(r.pk, 7, 32);
    r.role = EC_ROLE_ISSUER;
    strcpy(r.cert_type, "degree");
    strcpy(r.org_code, "91110000MA01");
    assert_int_equal(s_record_rt(&r), 0);
    r.kind = EC_REC_ROLE_REVOKE;
    assert_int_equal(s_record_rt(&r), 0);
    r.role = EC_ROLE_CA;
    memset(r.cert_type, 0, sizeof r.cert_type);
    assert_int_equal(s_record_rt(&r), 0);

    /* Known answer: [12, 2, pk, 1, "", "91110000MA01"]. */
    ec_writer_t w;
    ec_writer_init(&w);
    ec_record_encode(&w, &r);
    char hex[256];
    ec_hex(hex, ec_writer_data(&w), ec_writer_size(&w));
    assert_string_equal(hex, "960c02c4200707070707070707070707070707070707070707070707070707070707"
                             "070707"
                             "01a0ac39313131303030304d413031");
    uint8_t leaf[32], want[32], msg[128];
    ec_record_leaf(leaf, ec_writer_data(&w), ec_writer_size(&w));
    msg[0] = 0x00;
    msg[1] = EC_LEAF_RECORD;
    memcpy(msg + 2, ec_writer_data(&w), ec_writer_size(&w));
    ec_sha256(want, msg, 2 + ec_writer_size(&w));
    assert_memory_equal(leaf, want, 32);

    memset(&r, 0, sizeof r);
    r.seq = 0;
    r.kind = EC_REC_ATTEST;
    memset(r.pk, 1, 32);
    memset(r.identity_hash, 2, 32);
    assert_int_equal(s_record_rt(&r), 0);
    /* A new signing key of the account pk: [seq, 5, pk, key]; all zero once revoked. */
    memset(&r, 0, sizeof r);
    r.seq = 4;
    r.kind = EC_REC_KEY;
    memset(r.pk, 1, 32);
    memset(r.key, 3, 32);
    assert_int_equal(s_record_rt(&r), 0);
    memset(r.key, 0, 32);
    assert_int_equal(s_record_rt(&r), 0);
    /* A side chain's validator change: [seq, 4, pk, power, chain_id]. */
    memset(&r, 0, sizeof r);
    r.seq = 3;
    r.kind = EC_REC_VALIDATOR;
    memset(r.pk, 9, 32);
    r.power = 5;
    strcpy(r.chain_id, "ecert-degree");
    assert_int_equal(s_record_rt(&r), 0);
    ec_writer_reset(&w);
    ec_record_encode(&w, &r);
    ec_hex(hex, ec_writer_data(&w), ec_writer_size(&w));
    assert_string_equal(hex,
                        "950304c420090909090909090909090909090909090909090909090909090909090909"
                        "0909"
                        "05ac65636572742d646567726565");
    r.power = 0; /* removes it */
    assert_int_equal(s_record_rt(&r), 0);
    r.power = EC_VALIDATOR_POWER_MAX + 1;
    assert_int_equal(s_record_rt(&r), EC_EINVAL);
    r.power = 1;
    strcpy(r.chain_id, "Bad Id");
    assert_int_equal(s_record_rt(&r), EC_EINVAL);

    /* Rejections: bad role, bad cert_type, wrong shapes. */
    memset(&r, 0, sizeof r);
    r.kind = EC_REC_ROLE_GRANT;
    r.role = 0;
    assert_int_equal(s_record_rt(&r), EC_EINVAL);
    r.role = EC_ROLE_MAX + 1;
    assert_int_equal(s_record_rt(&r), EC_EINVAL);
    r.role = EC_ROLE_ISSUER;
    strcpy(r.cert_type, "Degree");
    assert_int_equal(s_record_rt(&r), EC_EINVAL);

    uint8_t pk[32] = {0};
    ec_record_t out;
    /* kind 0 and kind 6 */
    for (uint64_t kind = 0; kind <= 6; kind += 6) {
        ec_writer_reset(&w);
        ec_write_array(&w, 6);
        ec_write_uint(&w, 1);
        ec_write_uint(&w, kind);
        ec_write_bin(&w, pk, 32);
        ec_write_uint(&w, 1);
        ec_write_cstr(&w, "");
        ec_write_cstr(&w, "");
        assert_int_equal(ec_record_decode(&out, ec_writer_data(&w), ec_writer_size(&w)), EC_EINVAL);
    }
    /* attest with 6 fields, grant with 4 */
    ec_writer_reset(&w);
    ec_write_array(&w, 6);
    ec_write_uint(&w, 1);
    ec_write_uint(&w, EC_REC_ATTEST);
    ec_write_bin(&w, pk, 32);
    ec_write_bin(&w, pk, 32);
    ec_write_nil(&w);
    ec_write_nil(&w);
    assert_int_equal(ec_record_decode(&out, ec_writer_data(&w), ec_writer_size(&w)), EC_EINVAL);
    ec_writer_reset(&w);
    ec_write_array(&w, 4);
    ec_write_uint(&w, 1);
    ec_write_uint(&w, EC_REC_ROLE_GRANT);
    ec_write_bin(&w, pk, 32);
    ec_write_uint(&w, 1);
    assert_int_equal(ec_record_decode(&out, ec_writer_data(&w), ec_writer_size(&w)), EC_EINVAL);
    /* org code too long */
    ec_writer_reset(&w);
    ec_write_array(&w, 6);
    ec_write_uint(&w, 1);
    ec_write_uint(&w, EC_REC_ROLE_GRANT);
    ec_write_bin(&w, pk, 32);
    ec_write_uint(&w, 1);
    ec_write_cstr(&w, "");
    ec_write_cstr(&w, "0123456789012345678901234567890123456789");
    assert_int_equal(ec_record_decode(&out, ec_writer_data(&w), ec_writer_size(&w)), EC_ETOOBIG);
    /* trailing byte */
    ec_writer_reset(&w);
    memset(&r, 0, sizeof r);
    r.kind = EC_REC_ATTEST;
    ec_record_encode(&w, &r);
    ec_write_nil(&w);
    assert_int_equal(ec_record_decode(&out, ec_writer_data(&w), ec_writer_size(&w)), EC_EINVAL);
    ec_writer_fini(&w);
}

/* ---- state roots ------------------------------------------------------------------------ */

static void test_state_roots(void **state)
{
    (void)state;
    uint8_t rr[32], sd[32], out[32], want[32], buf[128];
    memset(rr, 0xaa, 32);
    memset(sd, 0xbb, 32);
    ec_main_state_root(out, rr, 0x0102030405060708ull, sd);
    size_t n = 0;
    memcpy(buf, "ecert/mainstate", 16); /* with the 0x00 */
    n = 16;
    memcpy(buf + n, rr, 32);
    n += 32;
    const uint8_t be[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    memcpy(buf + n, be, 8);
    n += 8;
    memcpy(buf + n, sd, 32);
    n += 32;
    ec_sha256(want, buf, n);
    assert_memory_equal(out, want, 32);

    uint8_t sr[32];
    memset(sr, 0xcc, 32);
    ec_side_state_root(out, sd, 0x0102030405060708ull, sr);
    memcpy(buf, "ecert/sidestate", 16);
    memcpy(buf + 16, sd, 32);
    memcpy(buf + 48, be, 8);
    memcpy(buf + 56, sr, 32);
    ec_sha256(want, buf, 88);
    assert_memory_equal(out, want, 32);
}

/* ---- paths ------------------------------------------------------------------------------ */

static void test_paths(void **state)
{
    (void)state;
    ec_hash32_t path[EC_MERKLE_PROOF_MAX + 1], back[EC_MERKLE_PROOF_MAX];
    for (size_t i = 0; i <= EC_MERKLE_PROOF_MAX; i++)
        memset(path[i], (int)i, 32);
    ec_writer_t w;
    ec_writer_init(&w);
    for (size_t len = 0; len <= EC_MERKLE_PROOF_MAX; len += 7) {
        ec_writer_reset(&w);
        ec_write_array(&w, 1);
        ec_write_path(&w, path, len);
        ec_decoder_t d;
        ec_decoder_init(&d);
        const msgpack_object *root;
        assert_int_equal(ec_decode(&d, ec_writer_data(&w), ec_writer_size(&w), &root), 0);
        ec_cur_t c;
        ec_cur_open(&c, root, 1);
        size_t n = 99;
        ec_cur_path(&c, back, &n);
        assert_int_equal(ec_cur_finish(&c), 0);
        assert_int_equal(n, len);
        if (len)
            assert_memory_equal(back, path, len * 32);
        ec_decoder_fini(&d);
    }
    /* Too long, and a short hash. */
    ec_writer_reset(&w);
    ec_write_array(&w, 1);
    ec_write_array(&w, EC_MERKLE_PROOF_MAX + 1);
    for (size_t i = 0; i <= EC_MERKLE_PROOF_MAX; i++)
        ec_write_bin(&w, path[i], 32);
    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *root;
    assert_int_equal(ec_decode(&d, ec_writer_data(&w), ec_writer_size(&w), &root), 0);
    ec_cur_t c;
    ec_cur_open(&c, root, 1);
    size_t n = 5;
    ec_cur_path(&c, back, &n);
    assert_int_equal(ec_cur_finish(&c), EC_ETOOBIG);
    assert_int_equal(n, 0);
    ec_writer_reset(&w);
    ec_write_array(&w, 1);
    ec_write_array(&w, 1);
    ec_write_bin(&w, path[0], 31);
    assert_int_equal(ec_decode(&d, ec_writer_data(&w), ec_writer_size(&w), &root), 0);
    ec_cur_open(&c, root, 1);
    ec_cur_path(&c, back, &n);
    assert_int_equal(ec_cur_finish(&c), EC_EINVAL);
    ec_decoder_fini(&d);
    ec_writer_fini(&w);
}

/* ---- light client ----------------------------------------------------------------------- */

#define S_CHAIN_MAX 24

/* A little chain: headers 1..n, leaves[k] = leaf of block k (leaf 0 = genesis). */
typedef struct {
    uint8_t genesis[32];
    ec_header_t h[S_CHAIN_MAX + 1];
    ec_commit_t c[S_CHAIN_MAX + 1];
    ec_hash32_t leaves[S_CHAIN_MAX + 1];
    uint64_t n;
} s_chain_t;

typedef struct {
    ec_key_t *keys[4];
    ec_valset_t vs;
} s_vals_t;

static void s_vals_make(s_vals_t *v)
{
    memset(v, 0, sizeof *v);
    v->vs.count = 4;
    for (uint32_t i = 0; i < 4; i++) {
        v->keys[i] = tu_key((uint8_t)(0x70 + i));
        memcpy(v->vs.v[i].pk, ec_key_pk(v->keys[i]), 32);
        v->vs.v[i].power = 1;
    }
}

static void s_vals_free(s_vals_t *v)
{
    for (uint32_t i = 0; i < 4; i++)
        ec_key_destroy(&v->keys[i]);
}

/*
 * Builds blocks 1..n of chain `id`. From block `fork_at` on, block times get `salt`
 * added, so two chains with the same genesis share blocks below fork_at and differ after.
 */
static void s_chain_build(s_chain_t *ch, const char *id, uint64_t n, uint64_t fork_at,
                          uint64_t salt, const s_vals_t *v)
{
    memset(ch, 0, sizeof *ch);
    assert_true(n <= S_CHAIN_MAX);
    memset(ch->genesis, 0x5a, 32);
    ec_merkle_leaf(ch->leaves[0], EC_LEAF_BLOCK, ch->genesis, 32);
    uint8_t prev[32];
    memcpy(prev, ch->genesis, 32);
    for (uint64_t k = 1; k <= n; k++) {
        ec_header_t *h = &ch->h[k];
        strcpy(h->chain_id, id);
        h->height = k;
        h->time_ms = 1000 * k + (k >= fork_at ? salt : 0);
        memcpy(h->prev_hash, prev, 32);
        h->tx_count = k % 3;
        ec_valset_hash(h->valset_hash, &v->vs);
        memcpy(h->next_valset_hash, h->valset_hash, 32);
        ec_merkle_root(h->hist_root, (const ec_hash32_t *)ch->leaves, k);
        ec_header_hash(prev, h);
        ec_merkle_leaf(ch->leaves[k], EC_LEAF_BLOCK, prev, 32);
        ec_commit_t *c = &ch->c[k];
        c->height = k;
        memcpy(c->block_hash, prev, 32);
        for (uint32_t i = 0; i < 3; i++)
            ec_commit_sign(c, id, i, v->keys[i]);
    }
    ch->n = n;
}

/* Proofs from `ch` for a light client at height m to header H. */
static void s_proofs(const s_chain_t *ch, uint64_t m, uint64_t H, ec_hash32_t *prev,
                     size_t *prev_len, ec_hash32_t *cons, size_t *cons_len)
{
    ec_merkle_mem_t mem = {.leaves = (const ec_hash32_t *)ch->leaves, .count = H};
    assert_int_equal(ec_merkle_inclusion_proof(prev, prev_len, ec_merkle_mem_oracle, &mem, m, H),
                     0);
    *cons_len = 0;
    if (m > 0)
        assert_int_equal(
            ec_merkle_consistency_proof(cons, cons_len, ec_merkle_mem_oracle, &mem, m, H), 0);
}

static int s_check(const ec_light_t *lc, const s_chain_t *ch, uint64_t H, const s_vals_t *v,
                   ec_status_t *st)
{
    ec_hash32_t prev[EC_MERKLE_PROOF_MAX], cons[EC_MERKLE_PROOF_MAX];
    size_t prev_len, cons_len;
    s_proofs(ch, lc->height, H, prev, &prev_len, cons, &cons_len);
    return ec_light_check(lc, ch->h[H].chain_id, &ch->h[H], &ch->c[H], &v->vs, prev, prev_len, cons,
                          cons_len, NULL, st);
}

static void test_light_codec(void **state)
{
    (void)state;
    ec_light_t lc, back;
    uint8_t g[32], empty[32];
    memset(g, 3, 32);
    ec_light_init(&lc, g);
    ec_sha256(empty, "", 0);
    assert_int_equal(lc.height, 0);
    assert_memory_equal(lc.hash, g, 32);
    assert_memory_equal(lc.hist_root, empty, 32);
    assert_false(lc.frozen);
    lc.height = 77;
    lc.frozen = true;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_light_encode(&w, &lc);
    assert_int_equal(ec_light_decode(&back, ec_writer_data(&w), ec_writer_size(&w)), 0);
    assert_memory_equal(&back, &lc, sizeof lc);
    /* wrong shapes */
    ec_writer_reset(&w);
    ec_write_array(&w, 4);
    ec_write_uint(&w, 1);
    ec_write_bin(&w, g, 32);
    ec_write_bin(&w, g, 32);
    ec_write_uint(&w, 0); /* not a bool */
    assert_int_equal(ec_light_decode(&back, ec_writer_data(&w), ec_writer_size(&w)), EC_EINVAL);
    ec_writer_reset(&w);
    ec_write_array(&w, 3);
    ec_write_uint(&w, 1);
    ec_write_bin(&w, g, 32);
    ec_write_bin(&w, g, 32);
    assert_int_equal(ec_light_decode(&back, ec_writer_data(&w), ec_writer_size(&w)), EC_EINVAL);
    ec_writer_fini(&w);
}

/* Validators, an honest chain "side-a" of n blocks and a light client at its genesis. */
typedef struct {
    s_vals_t v;
    s_chain_t *a;
    ec_light_t lc;
    ec_status_t st;
} s_light_fx_t;

static void s_light_fx_open(s_light_fx_t *f, uint64_t n)
{
    memset(f, 0, sizeof *f);
    s_vals_make(&f->v);
    f->a = calloc(1, sizeof *f->a);
    assert_non_null(f->a);
    s_chain_build(f->a, "side-a", n, 999, 0, &f->v);
    ec_light_init(&f->lc, f->a->genesis);
}

static void s_light_fx_close(s_light_fx_t *f)
{
    free(f->a);
    s_vals_free(&f->v);
}

static void test_light_advance(void **state)
{
    (void)state;
    s_light_fx_t f;
    s_light_fx_open(&f, 20);
    const s_chain_t *a = f.a;
    /* 0 -> 1 -> 3 -> 7 -> 8 -> 13 -> 20: covers power-of-two and other old sizes. */
    const uint64_t steps[] = {1, 3, 7, 8, 13, 20};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        uint64_t H = steps[i];
        int rc = s_check(&f.lc, a, H, &f.v, &f.st);
        if (rc)
            print_error("step %zu: %s\n", i, f.st.msg);
        assert_int_equal(rc, 0);
        ec_light_advance(&f.lc, &a->h[H]);
        assert_int_equal(f.lc.height, H);
        uint8_t hash[32];
        ec_header_hash(hash, &a->h[H]);
        assert_memory_equal(f.lc.hash, hash, 32);
        assert_memory_equal(f.lc.hist_root, a->h[H].hist_root, 32);
        /* Duplicates: the same height and anything below. */
        const uint64_t dups[] = {H, 1};
        for (size_t k = 0; k < 2; k++)
            assert_int_equal(ec_light_check(&f.lc, "side-a", &a->h[dups[k]], &a->c[dups[k]],
                                            &f.v.vs, NULL, 0, NULL, 0, NULL, &f.st),
                             EC_EDUPLICATE);
    }
    s_light_fx_close(&f);
}

/* The arguments of one ec_light_check call, so that a case can change one of them. */
typedef struct {
    const char *what;
    const char *chain_id;
    const ec_header_t *h;
    const ec_commit_t *c;
    const ec_hash32_t *prev;
    size_t prev_len;
    const ec_hash32_t *cons;
    size_t cons_len;
    int want;
} s_light_case_t;

static void test_light_rejects(void **state)
{
    (void)state;
    s_light_fx_t f;
    s_light_fx_open(&f, 12);
    const s_chain_t *a = f.a;
    assert_int_equal(s_check(&f.lc, a, 5, &f.v, &f.st), 0);
    ec_light_advance(&f.lc, &a->h[5]);

    ec_hash32_t prev[EC_MERKLE_PROOF_MAX], cons[EC_MERKLE_PROOF_MAX];
    size_t prev_len, cons_len;
    s_proofs(a, 5, 9, prev, &prev_len, cons, &cons_len);
    const ec_header_t *h = &a->h[9];
    /* Bad commits: too few signers, a bad signature. */
    ec_commit_t few = a->c[9], badsig = a->c[9];
    few.sig_count = 2;
    badsig.sigs[1].sig[10] ^= 4;
    /* Garbage proofs. */
    ec_hash32_t bad_prev[EC_MERKLE_PROOF_MAX], bad_cons[EC_MERKLE_PROOF_MAX];
    memcpy(bad_prev, prev, sizeof bad_prev);
    bad_prev[0][0] ^= 1;
    memcpy(bad_cons, cons, sizeof bad_cons);
    bad_cons[cons_len - 1][3] ^= 1;
    const s_light_case_t cases[] = {
        {"chain id", "side-b", h, &a->c[9], prev, prev_len, cons, cons_len, EC_ECHAIN},
        {"too few signers", "side-a", h, &few, prev, prev_len, cons, cons_len, EC_ESIG},
        {"bad signature", "side-a", h, &badsig, prev, prev_len, cons, cons_len, EC_ESIG},
        {"another header's commit", "side-a", h, &a->c[8], prev, prev_len, cons, cons_len, EC_ESIG},
        /* Garbage proofs with a valid commit: refused, but not a fork. */
        {"bad prev proof", "side-a", h, &a->c[9], bad_prev, prev_len, cons, cons_len, EC_EPROOF},
        {"short prev proof", "side-a", h, &a->c[9], prev, prev_len - 1, cons, cons_len, EC_EPROOF},
        {"bad cons proof", "side-a", h, &a->c[9], prev, prev_len, bad_cons, cons_len, EC_EPROOF},
        {"no cons proof", "side-a", h, &a->c[9], prev, prev_len, cons, 0, EC_EPROOF},
        /* Still fine with the right proofs. */
        {"good", "side-a", h, &a->c[9], prev, prev_len, cons, cons_len, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const s_light_case_t *t = &cases[i];
        memset(&f.st, 0, sizeof f.st);
        int rc = ec_light_check(&f.lc, t->chain_id, t->h, t->c, &f.v.vs, t->prev, t->prev_len,
                                t->cons, t->cons_len, NULL, &f.st);
        if (rc != t->want)
            print_error("case %zu (%s): got %d, want %d\n", i, t->what, rc, t->want);
        assert_int_equal(rc, t->want);
        if (t->want == EC_ESIG)
            assert_true(strlen(f.st.msg) > 0);
    }
    /* A non-empty consistency proof at height 0 is refused. */
    ec_light_t lc0;
    ec_light_init(&lc0, a->genesis);
    s_proofs(a, 0, 4, prev, &prev_len, cons, &cons_len);
    assert_int_equal(ec_light_check(&lc0, "side-a", &a->h[4], &a->c[4], &f.v.vs, prev, prev_len,
                                    prev, 1, NULL, &f.st),
                     EC_EPROOF);
    /* Another genesis: the first anchor does not prove leaf 0. */
    uint8_t g2[32];
    memset(g2, 0x11, 32);
    ec_light_init(&lc0, g2);
    assert_int_equal(ec_light_check(&lc0, "side-a", &a->h[4], &a->c[4], &f.v.vs, prev, prev_len,
                                    NULL, 0, NULL, &f.st),
                     EC_EPROOF);
    /* A header committed by another validator set than the one known: the change must be
     * anchored first (ESIG before any signature is checked). */
    ec_header_t other_set = a->h[9];
    other_set.valset_hash[0] ^= 1;
    s_proofs(a, 5, 9, prev, &prev_len, cons, &cons_len);
    assert_int_equal(ec_light_check(&f.lc, "side-a", &other_set, &a->c[9], &f.v.vs, prev, prev_len,
                                    cons, cons_len, NULL, &f.st),
                     EC_ESIG);
    assert_non_null(strstr(f.st.msg, "changed validators"));
    /* Frozen. */
    f.lc.frozen = true;
    assert_int_equal(s_check(&f.lc, a, 9, &f.v, &f.st), EC_EFROZEN);
    s_light_fx_close(&f);
}

static void test_light_fork(void **state)
{
    (void)state;
    s_light_fx_t f;
    s_light_fx_open(&f, 12);
    const s_chain_t *a = f.a;
    const s_vals_t *v = &f.v;
    ec_light_t *lc = &f.lc;
    ec_status_t *st = &f.st;
    s_chain_t *b = calloc(1, sizeof *b);
    assert_non_null(b);
    s_chain_build(b, "side-a", 12, 3, 7, v); /* same genesis, blocks 3.. differ */
    assert_int_equal(s_check(lc, a, 5, v, st), 0);
    ec_light_advance(lc, &a->h[5]);
    /* B's header 9 commits to a history whose first 5 leaves differ: a proven fork. */
    int rc = s_check(lc, b, 9, v, st);
    assert_int_equal(rc, EC_EFORK);
    assert_non_null(strstr(st->msg, "differs"));
    /* B's block 6 at old size 5: also proven. */
    assert_int_equal(s_check(lc, b, 6, v, st), EC_EFORK);

    /* A fork exactly at the last anchored block: leaves 0..4 agree, leaf 5 does not. The
     * consistency proof cannot show it; the claim can: B's header 9 holds B's block 5 as
     * leaf 5, proven by an inclusion path in B's history. */
    s_chain_build(b, "side-a", 12, 5, 7, v);
    assert_int_equal(s_check(lc, b, 9, v, st), EC_EPROOF); /* without a claim: refused only */
    ec_hash32_t prev[EC_MERKLE_PROOF_MAX], cons[EC_MERKLE_PROOF_MAX];
    size_t prev_len, cons_len;
    uint8_t b5[32], a5[32];
    ec_header_hash(b5, &b->h[5]);
    ec_header_hash(a5, &a->h[5]);
    s_proofs(b, 5, 9, prev, &prev_len, cons, &cons_len);
    assert_int_equal(ec_light_check(lc, "side-a", &b->h[9], &b->c[9], &v->vs, prev, prev_len, cons,
                                    cons_len, b5, st),
                     EC_EFORK);
    /* A claim that is not proven, or that is the anchored block itself, is no fork. */
    b5[0] ^= 1;
    assert_int_equal(ec_light_check(lc, "side-a", &b->h[9], &b->c[9], &v->vs, prev, prev_len, cons,
                                    cons_len, b5, st),
                     EC_EPROOF);
    s_proofs(a, 5, 9, prev, &prev_len, cons, &cons_len);
    assert_int_equal(ec_light_check(lc, "side-a", &a->h[9], &a->c[9], &v->vs, prev, prev_len, cons,
                                    cons_len, a5, st),
                     0);
    /* The same height as the anchored block: a validly committed other header is a fork;
     * the anchored one again is a duplicate. */
    assert_int_equal(
        ec_light_check(lc, "side-a", &b->h[5], &b->c[5], &v->vs, NULL, 0, NULL, 0, NULL, st),
        EC_EFORK);
    assert_int_equal(
        ec_light_check(lc, "side-a", &a->h[5], &a->c[5], &v->vs, NULL, 0, NULL, 0, NULL, st),
        EC_EDUPLICATE);
    ec_commit_t few = b->c[5];
    few.sig_count = 2; /* not committed: not a fork */
    assert_int_equal(
        ec_light_check(lc, "side-a", &b->h[5], &few, &v->vs, NULL, 0, NULL, 0, NULL, st), EC_ESIG);
    /* Below the anchored height: B's block 4 (B = A until 5, so equal) and a chain that
     * forked at 3, whose block 4 is proven against our history's leaf 4. */
    uint8_t a4[32];
    ec_header_hash(a4, &a->h[4]);
    ec_merkle_mem_t mem = {.leaves = (const ec_hash32_t *)a->leaves, .count = 5};
    assert_int_equal(ec_merkle_inclusion_proof(prev, &prev_len, ec_merkle_mem_oracle, &mem, 4, 5),
                     0);
    assert_int_equal(
        ec_light_check(lc, "side-a", &b->h[4], &b->c[4], &v->vs, prev, prev_len, NULL, 0, a4, st),
        EC_EDUPLICATE);
    s_chain_build(b, "side-a", 12, 3, 7, v);
    assert_int_equal(
        ec_light_check(lc, "side-a", &b->h[4], &b->c[4], &v->vs, prev, prev_len, NULL, 0, a4, st),
        EC_EFORK);
    assert_int_equal(
        ec_light_check(lc, "side-a", &b->h[4], &b->c[4], &v->vs, NULL, 0, NULL, 0, NULL, st),
        EC_EDUPLICATE);
    /* Old size a power of two (4): the RFC proof omits the old root; the claim proves it. */
    ec_light_init(lc, a->genesis);
    assert_int_equal(s_check(lc, a, 4, v, st), 0);
    ec_light_advance(lc, &a->h[4]);
    s_chain_build(b, "side-a", 12, 2, 7, v);
    assert_int_equal(s_check(lc, b, 9, v, st), EC_EPROOF);
    uint8_t b4[32];
    ec_header_hash(b4, &b->h[4]);
    s_proofs(b, 4, 9, prev, &prev_len, cons, &cons_len);
    assert_int_equal(ec_light_check(lc, "side-a", &b->h[9], &b->c[9], &v->vs, prev, prev_len, cons,
                                    cons_len, b4, st),
                     EC_EFORK);
    /* The honest chain still advances. */
    assert_int_equal(s_check(lc, a, 9, v, st), 0);
    free(b);
    s_light_fx_close(&f);
}

int main(void)
{
    if (ec_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),         cmocka_unit_test(test_records),
        cmocka_unit_test(test_state_roots),   cmocka_unit_test(test_paths),
        cmocka_unit_test(test_light_codec),   cmocka_unit_test(test_light_advance),
        cmocka_unit_test(test_light_rejects), cmocka_unit_test(test_light_fork),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
