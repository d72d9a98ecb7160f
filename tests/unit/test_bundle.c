/*
 * test_bundle.c - unit tests for ec_bundle. Each test builds a complete bundle from
 * scratch: a side chain of a few blocks (the transaction in block 2, anchored at block 4),
 * a main header whose xanchor_root holds the anchor entry, and a commit signed by main
 * validator keys. The central property: verification succeeds on the real bundle and
 * fails after any single-byte change at any position. The status list (ec_slist.h), which
 * proves a side header with the same anchoring, is tested here too, on the same fixture:
 * its codes and root, and its object, valid and tampered.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec_bundle.h"
#include "ec_chain.h"
#include "ec_slist.h"
#include "test_util.h"

#define S_SIDE "side-degree"
#define S_MAIN "ecert-main"
#define S_SIDE_BLOCKS 5
#define S_TX_BLOCK 2
#define S_TX_INDEX 1
#define S_TX_IN_BLOCK 3
#define S_ANCHORED 4
#define S_ANCHOR_INDEX 2
#define S_ANCHORS 3
#define S_TX_REF 3 /* the main height whose roles authorized the transaction */

typedef struct {
    ec_key_t *main_keys[4];
    ec_valset_t main_vs;
    ec_key_t *issuer;
    /* side chain */
    ec_header_t side[S_SIDE_BLOCKS + 1];
    ec_hash32_t hist_leaves[S_SIDE_BLOCKS + 1];
    uint8_t side_bytes[S_SIDE_BLOCKS + 1][512];
    size_t side_size[S_SIDE_BLOCKS + 1];
    /* the transaction and its block's tx tree */
    ec_writer_t tx[S_TX_IN_BLOCK];
    uint8_t tx_ids[S_TX_IN_BLOCK][32];
    ec_tx_result_t results[S_TX_IN_BLOCK];
    ec_hash32_t tx_leaves[S_TX_IN_BLOCK];
    uint8_t payload[256];
    /* main chain */
    ec_header_t main;
    uint8_t main_hash[32];
    uint8_t main_bytes[512];
    size_t main_size;
    ec_commit_t commit;
    uint8_t commit_bytes[4096];
    size_t commit_size;
    /* a validator-set change of the main chain (test_bundle_transitions) */
    ec_key_t *next_keys[4];
    ec_valset_t next_vs;
    uint8_t trans_bytes[512], trans_commit[4096];
    size_t trans_size, trans_commit_size;
    ec_bundle_transition_t transition;
    ec_hash32_t anchor_leaves[S_ANCHORS];
    /* proofs */
    ec_hash32_t tx_path[EC_MERKLE_PROOF_MAX], hist_path[EC_MERKLE_PROOF_MAX],
        anchor_path[EC_MERKLE_PROOF_MAX];
    size_t tx_path_len, hist_path_len, anchor_path_len;
    ec_bundle_parts_t parts;
    /* a status list whose root block tx_block's state_root holds, when slist_on */
    bool slist_on;
    uint8_t slist[EC_SLIST_PAGE_BYTES * 2 + 8];
    uint64_t slist_count;
    uint8_t slist_digest[32];
    uint64_t slist_records;
} s_fix_t;

static size_t s_encode_header(uint8_t *out, size_t cap, const ec_header_t *h)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_header_encode(&w, h);
    size_t n = ec_writer_size(&w);
    assert_true(n <= cap);
    memcpy(out, ec_writer_data(&w), n);
    ec_writer_fini(&w);
    return n;
}

/* Side blocks 1..S_SIDE_BLOCKS; `tx_block` holds the real transactions. */
static void s_build_side(s_fix_t *f, uint64_t tx_block)
{
    uint8_t genesis[32], prev[32];
    memset(genesis, 0x42, 32);
    memcpy(prev, genesis, 32);
    ec_merkle_leaf(f->hist_leaves[0], EC_LEAF_BLOCK, genesis, 32);
    for (uint64_t k = 1; k <= S_SIDE_BLOCKS; k++) {
        ec_header_t *h = &f->side[k];
        memset(h, 0, sizeof *h);
        strcpy(h->chain_id, S_SIDE);
        h->height = k;
        h->time_ms = 1763700000000ull + k;
        memcpy(h->prev_hash, prev, 32);
        if (k == tx_block) {
            h->tx_count = S_TX_IN_BLOCK;
            ec_merkle_root(h->tx_root, (const ec_hash32_t *)f->tx_leaves, S_TX_IN_BLOCK);
        } else {
            h->tx_count = 1;
            memset(h->tx_root, (int)k, 32);
        }
        memset(h->state_root, 0x33, 32);
        if (k == tx_block && f->slist_on) {
            uint8_t sr[32];
            ec_slist_root_mem(sr, f->slist, f->slist_count);
            ec_side_state_root(h->state_root, f->slist_digest, f->slist_records, sr);
        }
        ec_merkle_root(h->hist_root, (const ec_hash32_t *)f->hist_leaves, k);
        ec_merkle_root(h->xanchor_root, NULL, 0);
        f->side_size[k] = s_encode_header(f->side_bytes[k], sizeof f->side_bytes[k], h);
        ec_sha256(prev, f->side_bytes[k], f->side_size[k]);
        ec_merkle_leaf(f->hist_leaves[k], EC_LEAF_BLOCK, prev, 32);
    }
}

/* Encodes header h (named by `vs` as its set, and the next one) and signs it with 3 of the
 * 4 keys; the header and commit bytes go to out/out_commit. */
static void s_sign_header(ec_header_t *h, ec_key_t *const keys[4], const ec_valset_t *vs,
                          const ec_valset_t *next, uint8_t *out, size_t *size, uint8_t hash[32],
                          ec_commit_t *c, uint8_t *out_commit, size_t *commit_size)
{
    ec_valset_hash(h->valset_hash, vs);
    ec_valset_hash(h->next_valset_hash, next);
    ec_merkle_root(h->evidence_root, NULL, 0);
    *size = s_encode_header(out, 512, h);
    ec_sha256(hash, out, *size);
    memset(c, 0, sizeof *c);
    c->height = h->height;
    c->round = 1;
    memcpy(c->block_hash, hash, 32);
    for (uint32_t i = 1; i < 4; i++) /* 3 of 4 */
        ec_commit_sign(c, S_MAIN, i, keys[i]);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_commit_encode(&w, c);
    *commit_size = ec_writer_size(&w);
    assert_true(*commit_size <= 4096);
    memcpy(out_commit, ec_writer_data(&w), *commit_size);
    ec_writer_fini(&w);
}

/* (Re)signs the main header with keys of set vs. */
static void s_sign_main(s_fix_t *f, ec_key_t *const keys[4], const ec_valset_t *vs)
{
    s_sign_header(&f->main, keys, vs, vs, f->main_bytes, &f->main_size, f->main_hash, &f->commit,
                  f->commit_bytes, &f->commit_size);
}

static void s_build_main(s_fix_t *f, uint64_t anchored)
{
    ec_anchor_entry_t e;
    for (uint32_t i = 0; i < S_ANCHORS; i++) {
        memset(&e, 0, sizeof e);
        strcpy(e.chain_id, i == S_ANCHOR_INDEX ? S_SIDE : "side-other");
        e.height = i == S_ANCHOR_INDEX ? anchored : 10 + i;
        if (i == S_ANCHOR_INDEX)
            ec_sha256(e.header_hash, f->side_bytes[anchored], f->side_size[anchored]);
        else
            memset(e.header_hash, (int)i, 32);
        ec_anchor_entry_leaf(f->anchor_leaves[i], &e);
    }
    ec_header_t *m = &f->main;
    memset(m, 0, sizeof *m);
    strcpy(m->chain_id, S_MAIN);
    m->height = 7;
    m->time_ms = 1763700001000ull;
    memset(m->prev_hash, 0x77, 32);
    m->tx_count = S_ANCHORS;
    memset(m->tx_root, 0x78, 32);
    memset(m->state_root, 0x79, 32);
    memset(m->hist_root, 0x7a, 32);
    ec_merkle_root(m->xanchor_root, (const ec_hash32_t *)f->anchor_leaves, S_ANCHORS);
    m->xanchor_count = S_ANCHORS;
    s_sign_main(f, f->main_keys, &f->main_vs);
}

static s_fix_t *s_fix_alloc(void)
{
    s_fix_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    return f;
}

/* The whole fixture in f: tx in block `tx_block`, anchored at `anchored` (== tx_block: nil). */
static void s_fix_build(s_fix_t *f, uint64_t tx_block, uint64_t anchored)
{
    f->main_vs.count = 4;
    for (uint32_t i = 0; i < 4; i++) {
        f->main_keys[i] = tu_key((uint8_t)(0x90 + i));
        memcpy(f->main_vs.v[i].pk, ec_key_pk(f->main_keys[i]), 32);
        f->main_vs.v[i].power = 1;
    }
    f->issuer = tu_key(0x21);
    for (size_t i = 0; i < sizeof f->payload; i++)
        f->payload[i] = (uint8_t)(i * 7);
    uint8_t ph[32];
    ec_sha256(ph, f->payload, sizeof f->payload);
    for (uint32_t i = 0; i < S_TX_IN_BLOCK; i++) {
        /* ISSUE body [holder, org_code, fields_root, expires_ms] */
        ec_writer_t body;
        ec_writer_init(&body);
        uint8_t fields_root[32];
        memset(fields_root, (int)(0xe0 + i), 32);
        ec_write_array(&body, 4);
        ec_write_cstr(&body, "ec1qholder");
        ec_write_cstr(&body, "91110000MA01");
        ec_write_bin(&body, fields_root, 32);
        ec_write_uint(&body, 1900000000000ull);
        ec_writer_init(&f->tx[i]);
        ec_tx_build(&f->tx[i], f->tx_ids[i], S_SIDE, EC_STX_ISSUE, f->issuer, 1000 + i,
                    i == S_TX_INDEX ? ph : NULL, ec_writer_data(&body), ec_writer_size(&body));
        f->results[i] = (ec_tx_result_t){0, S_TX_REF, 40 + i};
        ec_tx_leaf(f->tx_leaves[i], f->tx_ids[i], &f->results[i]);
        ec_writer_fini(&body);
    }
    s_build_side(f, tx_block);
    s_build_main(f, anchored);

    ec_merkle_mem_t mem = {.leaves = (const ec_hash32_t *)f->tx_leaves, .count = S_TX_IN_BLOCK};
    assert_int_equal(ec_merkle_inclusion_proof(f->tx_path, &f->tx_path_len, ec_merkle_mem_oracle,
                                               &mem, S_TX_INDEX, S_TX_IN_BLOCK),
                     0);
    if (anchored > tx_block) {
        mem.leaves = (const ec_hash32_t *)f->hist_leaves;
        mem.count = anchored;
        assert_int_equal(ec_merkle_inclusion_proof(f->hist_path, &f->hist_path_len,
                                                   ec_merkle_mem_oracle, &mem, tx_block, anchored),
                         0);
    }
    mem.leaves = (const ec_hash32_t *)f->anchor_leaves;
    mem.count = S_ANCHORS;
    assert_int_equal(ec_merkle_inclusion_proof(f->anchor_path, &f->anchor_path_len,
                                               ec_merkle_mem_oracle, &mem, S_ANCHOR_INDEX,
                                               S_ANCHORS),
                     0);

    ec_bundle_parts_t *p = &f->parts;
    p->side_chain_id = S_SIDE;
    p->tx = ec_writer_data(&f->tx[S_TX_INDEX]);
    p->tx_size = ec_writer_size(&f->tx[S_TX_INDEX]);
    p->payload = f->payload;
    p->payload_size = sizeof f->payload;
    p->tx_index = S_TX_INDEX;
    p->result = f->results[S_TX_INDEX];
    p->tx_path = f->tx_path;
    p->tx_path_len = f->tx_path_len;
    p->side_header = f->side_bytes[tx_block];
    p->side_header_size = f->side_size[tx_block];
    if (anchored > tx_block) {
        p->anchored_header = f->side_bytes[anchored];
        p->anchored_header_size = f->side_size[anchored];
    }
    p->hist_path = f->hist_path;
    p->hist_path_len = f->hist_path_len;
    p->anchor_index = S_ANCHOR_INDEX;
    p->anchor_path = f->anchor_path;
    p->anchor_path_len = f->anchor_path_len;
    p->main_header = f->main_bytes;
    p->main_header_size = f->main_size;
    p->main_commit = f->commit_bytes;
    p->main_commit_size = f->commit_size;
}

static s_fix_t *s_fix_new(uint64_t tx_block, uint64_t anchored)
{
    s_fix_t *f = s_fix_alloc();
    s_fix_build(f, tx_block, anchored);
    return f;
}

static void s_fix_free(s_fix_t *f)
{
    for (uint32_t i = 0; i < 4; i++)
        ec_key_destroy(&f->main_keys[i]);
    ec_key_destroy(&f->issuer);
    for (uint32_t i = 0; i < 4; i++)
        ec_key_destroy(&f->next_keys[i]);
    for (uint32_t i = 0; i < S_TX_IN_BLOCK; i++)
        ec_writer_fini(&f->tx[i]);
    free(f);
}

/* Encodes f->parts and verifies against the main validator set. */
static int s_verify(const s_fix_t *f, ec_bundle_info_t *info, ec_status_t *st)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_bundle_encode(&w, &f->parts);
    int rc = ec_bundle_verify(ec_writer_data(&w), ec_writer_size(&w), S_MAIN, &f->main_vs, NULL,
                              info, st);
    ec_writer_fini(&w);
    return rc;
}

static void test_bundle_valid(void **state)
{
    (void)state;
    s_fix_t *f = s_fix_new(S_TX_BLOCK, S_ANCHORED);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_bundle_encode(&w, &f->parts);
    ec_bundle_info_t info;
    ec_status_t st;
    int rc = ec_bundle_verify(ec_writer_data(&w), ec_writer_size(&w), S_MAIN, &f->main_vs, NULL,
                              &info, &st);
    if (rc)
        print_error("%s\n", st.msg);
    assert_int_equal(rc, 0);
    assert_string_equal(info.side_chain_id, S_SIDE);
    assert_string_equal(info.main_chain_id, S_MAIN);
    assert_int_equal(info.tx_type, EC_STX_ISSUE);
    assert_memory_equal(info.sender, ec_key_pk(f->issuer), 32);
    assert_int_equal(info.side_height, S_TX_BLOCK);
    assert_int_equal(info.anchored_height, S_ANCHORED);
    assert_int_equal(info.main_height, 7);
    assert_memory_equal(info.main_hash, f->main_hash, 32);
    assert_true(info.has_payload);
    assert_int_equal(info.result_code, 0);
    assert_int_equal(info.result_ref, S_TX_REF);
    assert_int_equal(info.result_slot, 40 + S_TX_INDEX);
    assert_int_equal(info.main_transitions, 0);
    ec_tx_t tx;
    assert_int_equal(ec_tx_decode(&tx, f->parts.tx, f->parts.tx_size), 0);
    assert_memory_equal(info.tx_id, tx.id, 32);
    ec_tx_fini(&tx);
    /* Trusting a header hash instead of the validator set, and both. */
    assert_int_equal(ec_bundle_verify(ec_writer_data(&w), ec_writer_size(&w), S_MAIN, NULL,
                                      f->main_hash, &info, &st),
                     0);
    assert_int_equal(ec_bundle_verify(ec_writer_data(&w), ec_writer_size(&w), S_MAIN, &f->main_vs,
                                      f->main_hash, &info, &st),
                     0);
    /* Decode and re-encode give the same bytes. */
    ec_bundle_t *b = malloc(sizeof *b);
    assert_int_equal(ec_bundle_decode(b, ec_writer_data(&w), ec_writer_size(&w)), 0);
    ec_writer_t w2;
    ec_writer_init(&w2);
    ec_bundle_encode(&w2, &b->parts);
    assert_int_equal(ec_writer_size(&w2), ec_writer_size(&w));
    assert_memory_equal(ec_writer_data(&w2), ec_writer_data(&w), ec_writer_size(&w));
    ec_bundle_fini(b);
    free(b);
    ec_writer_fini(&w2);
    /* The documented size: about 2 KB with a 256-byte payload. */
    assert_true(ec_writer_size(&w) < 2500);
    ec_writer_fini(&w);
    s_fix_free(f);
}

/* Required property: any single changed byte anywhere makes verification fail. */
static void test_bundle_every_byte(void **state)
{
    (void)state;
    s_fix_t *f = s_fix_new(S_TX_BLOCK, S_ANCHORED);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_bundle_encode(&w, &f->parts);
    size_t n = ec_writer_size(&w);
    uint8_t *copy = malloc(n);
    const uint8_t masks[] = {0x01, 0x80, 0xff};
    size_t checked = 0;
    for (size_t m = 0; m < sizeof masks; m++) {
        for (size_t i = 0; i < n; i++) {
            memcpy(copy, ec_writer_data(&w), n);
            copy[i] ^= masks[m];
            ec_bundle_info_t info;
            ec_status_t st;
            int rc = ec_bundle_verify(copy, n, S_MAIN, &f->main_vs, NULL, &info, &st);
            if (rc == 0)
                print_error("byte %zu mask 0x%02x still verifies\n", i, masks[m]);
            assert_int_not_equal(rc, 0);
            assert_true(strlen(st.msg) > 0);
            checked++;
        }
    }
    assert_int_equal(checked, 3 * n);
    /* Truncations and an extra byte. */
    for (size_t len = 0; len < n; len += 13) {
        ec_status_t st;
        ec_bundle_info_t info;
        assert_int_not_equal(
            ec_bundle_verify(ec_writer_data(&w), len, S_MAIN, &f->main_vs, NULL, &info, &st), 0);
    }
    uint8_t *longer = malloc(n + 1);
    memcpy(longer, ec_writer_data(&w), n);
    longer[n] = 0xc0;
    ec_status_t st;
    ec_bundle_info_t info;
    assert_int_equal(ec_bundle_verify(longer, n + 1, S_MAIN, &f->main_vs, NULL, &info, &st),
                     EC_EINVAL);
    free(longer);
    free(copy);
    ec_writer_fini(&w);
    s_fix_free(f);
}

static void test_bundle_anchored_self(void **state)
{
    (void)state;
    /* The transaction's own block was anchored: anchored_header is nil. */
    s_fix_t *f = s_fix_new(S_ANCHORED, S_ANCHORED);
    assert_null(f->parts.anchored_header);
    ec_bundle_info_t info;
    ec_status_t st;
    assert_int_equal(s_verify(f, &info, &st), 0);
    assert_int_equal(info.side_height, S_ANCHORED);
    assert_int_equal(info.anchored_height, S_ANCHORED);
    /* A hist_path without an anchored header is malformed. */
    f->parts.hist_path = f->tx_path;
    f->parts.hist_path_len = 1;
    assert_int_equal(s_verify(f, &info, &st), EC_EINVAL);
    assert_non_null(strstr(st.msg, "hist_path"));
    s_fix_free(f);
}

static void test_bundle_steps(void **state)
{
    (void)state;
    s_fix_t *f = s_fix_new(S_TX_BLOCK, S_ANCHORED);
    ec_bundle_info_t info;
    ec_status_t st;
    ec_bundle_parts_t good = f->parts;

    /* No payload: still valid, has_payload false. */
    f->parts.payload = NULL;
    assert_int_equal(s_verify(f, &info, &st), 0);
    assert_false(info.has_payload);
    /* A different payload. */
    uint8_t other[256];
    memcpy(other, f->payload, sizeof other);
    other[100] ^= 1;
    f->parts.payload = other;
    assert_int_equal(s_verify(f, &info, &st), EC_EPROOF);
    assert_non_null(strstr(st.msg, "payload"));
    /* A payload for a transaction without payload_hash. */
    f->parts = good;
    f->parts.tx = ec_writer_data(&f->tx[0]);
    f->parts.tx_size = ec_writer_size(&f->tx[0]);
    assert_int_equal(s_verify(f, &info, &st), EC_EINVAL);
    /* Another transaction of the block with the wrong index/path. */
    f->parts.payload = NULL;
    assert_int_equal(s_verify(f, &info, &st), EC_EPROOF);
    assert_non_null(strstr(st.msg, "tx_path"));
    f->parts = good;
    f->parts.tx_index = 0;
    assert_int_equal(s_verify(f, &info, &st), EC_EPROOF);
    assert_non_null(strstr(st.msg, "tx_path"));
    f->parts.tx_index = S_TX_IN_BLOCK; /* beyond tx_count */
    assert_int_equal(s_verify(f, &info, &st), EC_EPROOF);
    /* The wrong side header for the tx. */
    f->parts = good;
    f->parts.side_header = f->side_bytes[3];
    f->parts.side_header_size = f->side_size[3];
    assert_int_equal(s_verify(f, &info, &st), EC_EPROOF);
    assert_non_null(strstr(st.msg, "tx_path"));
    /* hist path: wrong path, an anchored header not above the block. */
    f->parts = good;
    f->parts.hist_path_len--;
    assert_int_equal(s_verify(f, &info, &st), EC_EPROOF);
    assert_non_null(strstr(st.msg, "hist_path"));
    f->parts = good;
    f->parts.anchored_header = f->side_bytes[1];
    f->parts.anchored_header_size = f->side_size[1];
    assert_int_equal(s_verify(f, &info, &st), EC_EINVAL);
    assert_non_null(strstr(st.msg, "anchored header"));
    /* Anchored header 5 (not the anchored one): hist proof fails (wrong size). */
    f->parts.anchored_header = f->side_bytes[5];
    f->parts.anchored_header_size = f->side_size[5];
    assert_int_equal(s_verify(f, &info, &st), EC_EPROOF);
    /* anchor path / index. */
    f->parts = good;
    f->parts.anchor_index = 1;
    assert_int_equal(s_verify(f, &info, &st), EC_EPROOF);
    assert_non_null(strstr(st.msg, "anchor_path"));
    /* Main chain id. */
    f->parts = good;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_bundle_encode(&w, &f->parts);
    assert_int_equal(ec_bundle_verify(ec_writer_data(&w), ec_writer_size(&w), "ecert-other",
                                      &f->main_vs, NULL, &info, &st),
                     EC_ECHAIN);
    assert_non_null(strstr(st.msg, "main header"));
    /* Untrusted: another validator set, another trusted hash, nothing trusted. */
    ec_valset_t vs = f->main_vs;
    vs.v[2].pk[0] ^= 1;
    assert_int_equal(
        ec_bundle_verify(ec_writer_data(&w), ec_writer_size(&w), S_MAIN, &vs, NULL, &info, &st),
        EC_ESIG);
    assert_non_null(strstr(st.msg, "main commit"));
    uint8_t h[32];
    memcpy(h, f->main_hash, 32);
    h[31] ^= 1;
    assert_int_equal(
        ec_bundle_verify(ec_writer_data(&w), ec_writer_size(&w), S_MAIN, NULL, h, &info, &st),
        EC_ESIG);
    assert_int_equal(
        ec_bundle_verify(ec_writer_data(&w), ec_writer_size(&w), S_MAIN, NULL, NULL, &info, &st),
        EC_EINVAL);
    /* Side chain id disagreeing with the transaction. */
    f->parts.side_chain_id = "side-other";
    assert_int_equal(s_verify(f, &info, &st), EC_ECHAIN);
    assert_non_null(strstr(st.msg, "transaction"));
    f->parts.side_chain_id = "Bad id";
    assert_int_equal(s_verify(f, &info, &st), EC_EINVAL);
    /* A commit with too few signatures. */
    f->parts = good;
    ec_commit_t c = f->commit;
    c.sig_count = 2;
    ec_writer_reset(&w);
    ec_commit_encode(&w, &c);
    f->parts.main_commit = ec_writer_data(&w);
    f->parts.main_commit_size = ec_writer_size(&w);
    assert_int_equal(s_verify(f, &info, &st), EC_ESIG);
    ec_writer_fini(&w);
    /* Version and size limits. */
    uint8_t v3[] = {0x9f, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(ec_bundle_verify(v3, sizeof v3, S_MAIN, &f->main_vs, NULL, &info, &st),
                     EC_EVERSION);
    uint8_t v1[] = {0x9d, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}; /* before results */
    assert_int_equal(ec_bundle_verify(v1, sizeof v1, S_MAIN, &f->main_vs, NULL, &info, &st),
                     EC_EVERSION);
    uint8_t *big = calloc(1, EC_BUNDLE_BYTES_MAX + 1);
    assert_int_equal(
        ec_bundle_verify(big, EC_BUNDLE_BYTES_MAX + 1, S_MAIN, &f->main_vs, NULL, &info, &st),
        EC_ETOOBIG);
    free(big);
    s_fix_free(f);
}

/* Rebuilds the side chain and main header for new results of the block's transactions. */
static void s_set_result(s_fix_t *f, uint32_t i, ec_tx_result_t r)
{
    f->results[i] = r;
    for (uint32_t k = 0; k < S_TX_IN_BLOCK; k++)
        ec_tx_leaf(f->tx_leaves[k], f->tx_ids[k], &f->results[k]);
    s_build_side(f, S_TX_BLOCK);
    s_build_main(f, S_ANCHORED);
    ec_merkle_mem_t mem = {.leaves = (const ec_hash32_t *)f->hist_leaves, .count = S_ANCHORED};
    assert_int_equal(ec_merkle_inclusion_proof(f->hist_path, &f->hist_path_len,
                                               ec_merkle_mem_oracle, &mem, S_TX_BLOCK, S_ANCHORED),
                     0);
    f->parts.result = f->results[S_TX_INDEX];
}

/*
 * A transaction refused by the chain's rules is in its block with its code: a bundle of it
 * verifies, as a proof of the refusal (info.result_code), and claiming it was applied
 * breaks the tx_root proof.
 */
static void test_bundle_refused(void **state)
{
    (void)state;
    s_fix_t *f = s_fix_new(S_TX_BLOCK, S_ANCHORED);
    s_set_result(f, S_TX_INDEX, (ec_tx_result_t){EC_ESTALE, 0});
    ec_bundle_info_t info;
    ec_status_t st;
    assert_int_equal(s_verify(f, &info, &st), 0);
    assert_int_equal(info.result_code, EC_ESTALE);
    assert_int_equal(info.result_ref, 0);
    f->parts.result = (ec_tx_result_t){0, 0};
    assert_int_equal(s_verify(f, &info, &st), EC_EPROOF);
    assert_non_null(strstr(st.msg, "tx_path"));
    f->parts.result = (ec_tx_result_t){EC_EPERM, 0};
    assert_int_equal(s_verify(f, &info, &st), EC_EPROOF);
    /* The ref is bound too: an applied transaction's authorizing main height. */
    s_set_result(f, S_TX_INDEX, (ec_tx_result_t){0, 9});
    assert_int_equal(s_verify(f, &info, &st), 0);
    assert_int_equal(info.result_ref, 9);
    f->parts.result.ref = 8;
    assert_int_equal(s_verify(f, &info, &st), EC_EPROOF);
    s_fix_free(f);
}

/*
 * The main chain changed its validators after the genesis the verifier trusts: the bundle
 * carries the header that named the new set, committed by the old one, and the new set,
 * which then verifies the main header.
 */
static void test_bundle_transitions(void **state)
{
    (void)state;
    s_fix_t *f = s_fix_new(S_TX_BLOCK, S_ANCHORED);
    f->next_vs.count = 4;
    for (uint32_t i = 0; i < 4; i++) {
        f->next_keys[i] = tu_key((uint8_t)(0xa0 + i));
        memcpy(f->next_vs.v[i].pk, ec_key_pk(f->next_keys[i]), 32);
        f->next_vs.v[i].power = 1 + i;
    }
    /* Main header 7 is signed by the new set; header 5 named it, committed by the old. */
    s_sign_main(f, f->next_keys, &f->next_vs);
    f->parts.main_header = f->main_bytes;
    f->parts.main_header_size = f->main_size;
    f->parts.main_commit = f->commit_bytes;
    f->parts.main_commit_size = f->commit_size;
    ec_header_t t;
    memset(&t, 0, sizeof t);
    strcpy(t.chain_id, S_MAIN);
    t.height = 5;
    t.time_ms = 1763700000500ull;
    uint8_t th[32];
    ec_commit_t tc;
    s_sign_header(&t, f->main_keys, &f->main_vs, &f->next_vs, f->trans_bytes, &f->trans_size, th,
                  &tc, f->trans_commit, &f->trans_commit_size);
    f->transition = (ec_bundle_transition_t){f->trans_bytes, f->trans_size, f->trans_commit,
                                             f->trans_commit_size, f->next_vs};
    ec_bundle_info_t info;
    ec_status_t st;
    /* Without the transition the genesis set does not sign header 7. */
    assert_int_equal(s_verify(f, &info, &st), EC_ESIG);
    f->parts.transitions = &f->transition;
    f->parts.transition_count = 1;
    int rc = s_verify(f, &info, &st);
    if (rc)
        print_error("%s\n", st.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(info.main_transitions, 1);
    /* Encoded and decoded, the bundle is byte for byte the same. */
    ec_writer_t w, w2;
    ec_writer_init(&w);
    ec_writer_init(&w2);
    ec_bundle_encode(&w, &f->parts);
    ec_bundle_t *b = malloc(sizeof *b);
    assert_int_equal(ec_bundle_decode(b, ec_writer_data(&w), ec_writer_size(&w)), 0);
    ec_bundle_encode(&w2, &b->parts);
    assert_int_equal(ec_writer_size(&w2), ec_writer_size(&w));
    assert_memory_equal(ec_writer_data(&w2), ec_writer_data(&w), ec_writer_size(&w));
    ec_bundle_fini(b);
    free(b);
    ec_writer_fini(&w2);
    /* A set other than the one the transition header names. */
    f->transition.next.v[3].power = 1;
    assert_int_equal(s_verify(f, &info, &st), EC_ESIG);
    assert_non_null(strstr(st.msg, "transition 0"));
    f->transition.next = f->next_vs;
    /* A transition not signed by the set in force (the new set signs its own naming). */
    ec_commit_t bad;
    uint8_t bad_bytes[512], bad_commit[4096], bh[32];
    size_t bad_size, bad_commit_size;
    s_sign_header(&t, f->next_keys, &f->main_vs, &f->next_vs, bad_bytes, &bad_size, bh, &bad,
                  bad_commit, &bad_commit_size);
    f->transition.commit = bad_commit;
    f->transition.commit_size = bad_commit_size;
    assert_int_equal(s_verify(f, &info, &st), EC_ESIG);
    f->transition.commit = f->trans_commit;
    f->transition.commit_size = f->trans_commit_size;
    /* Out of order: a transition at or after the main header's height. */
    t.height = 7;
    s_sign_header(&t, f->main_keys, &f->main_vs, &f->next_vs, bad_bytes, &bad_size, bh, &bad,
                  bad_commit, &bad_commit_size);
    f->transition.header = bad_bytes;
    f->transition.header_size = bad_size;
    f->transition.commit = bad_commit;
    f->transition.commit_size = bad_commit_size;
    assert_int_equal(s_verify(f, &info, &st), EC_EINVAL);
    assert_non_null(strstr(st.msg, "out of order"));
    ec_writer_fini(&w);
    s_fix_free(f);
}

/* ---- status lists ----------------------------------------------------------------------- */

/* Codes in and out, sizes, and the root by the definition in ec_slist.h. */
static void test_slist_codes(void **state)
{
    (void)state;
    assert_int_equal(ec_slist_bytes(0), 0);
    assert_int_equal(ec_slist_bytes(1), 1);
    assert_int_equal(ec_slist_bytes(4), 1);
    assert_int_equal(ec_slist_bytes(5), 2);
    assert_string_equal(ec_slist_code_name(EC_SLIST_SUSPENDED), "suspended");
    uint8_t list[2] = {0};
    ec_slist_set(list, 0, EC_SLIST_ENDED);
    ec_slist_set(list, 1, EC_SLIST_SUSPENDED);
    ec_slist_set(list, 4, EC_SLIST_REVOKED);
    ec_slist_set(list, 1, EC_SLIST_VALID);
    assert_int_equal(list[0], 0x03);
    assert_int_equal(list[1], 0x02);
    assert_int_equal(ec_slist_get(list, 0), EC_SLIST_ENDED);
    assert_int_equal(ec_slist_get(list, 4), EC_SLIST_REVOKED);
    assert_int_equal(ec_slist_get(list, 3), EC_SLIST_VALID);
    /* root of 5 certificates: one page, one leaf */
    uint8_t root[32], want[32], leaf[32], buf[64];
    ec_slist_root_mem(root, list, 5);
    uint8_t pre[4] = {0x00, EC_LEAF_STATUS, list[0], list[1]};
    ec_sha256(leaf, pre, sizeof pre);
    memcpy(buf, "ecert/status", 13); /* with the 0x00 */
    const uint8_t be5[8] = {0, 0, 0, 0, 0, 0, 0, 5};
    memcpy(buf + 13, be5, 8);
    memcpy(buf + 21, leaf, 32);
    ec_sha256(want, buf, 53);
    assert_memory_equal(root, want, 32);
    /* the empty list: MTH of nothing is SHA-256("") */
    ec_slist_root_mem(root, NULL, 0);
    memset(buf + 13, 0, 8);
    ec_sha256(buf + 21, "", 0);
    ec_sha256(want, buf, 53);
    assert_memory_equal(root, want, 32);
    /* three pages, the last one short; one code anywhere changes the root */
    static uint8_t big[EC_SLIST_PAGE_BYTES * 2 + 1];
    uint64_t n = 2 * EC_SLIST_PAGE_CERTS + 3;
    memset(big, 0, sizeof big);
    uint8_t r0[32], r1[32];
    ec_slist_root_mem(r0, big, n);
    ec_slist_set(big, EC_SLIST_PAGE_CERTS + 17, EC_SLIST_REVOKED);
    ec_slist_root_mem(r1, big, n);
    assert_memory_not_equal(r0, r1, 32);
    ec_slist_set(big, EC_SLIST_PAGE_CERTS + 17, EC_SLIST_VALID);
    ec_slist_root_mem(r1, big, n);
    assert_memory_equal(r0, r1, 32);
    ec_slist_root_mem(r1, big, n - 1); /* the count is committed too */
    assert_memory_not_equal(r0, r1, 32);
}

/* A status list in side block 2, anchored at 4: fixture and object. */
static s_fix_t *s_slist_fix(ec_slist_parts_t *sp)
{
    s_fix_t *f = s_fix_alloc();
    f->slist_on = true;
    f->slist_count = EC_SLIST_PAGE_CERTS + 6; /* two pages */
    ec_slist_set(f->slist, 3, EC_SLIST_REVOKED);
    ec_slist_set(f->slist, EC_SLIST_PAGE_CERTS + 5, EC_SLIST_SUSPENDED);
    memset(f->slist_digest, 0x5d, 32);
    f->slist_records = 12;
    s_fix_build(f, S_TX_BLOCK, S_ANCHORED);
    memset(sp, 0, sizeof *sp);
    sp->side_chain_id = S_SIDE;
    sp->count = f->slist_count;
    sp->list = f->slist;
    memcpy(sp->state_digest, f->slist_digest, 32);
    sp->mirrored_records = f->slist_records;
    sp->anchoring = f->parts;
    return f;
}

/* Decodes and verifies an encoded object. */
static int s_slist_check(const ec_writer_t *w, ec_slist_t *s, const s_fix_t *f,
                         ec_slist_info_t *info, ec_status_t *st)
{
    int rc = ec_slist_decode(s, ec_writer_data(w), ec_writer_size(w));
    if (rc)
        return rc;
    rc = ec_slist_verify(s, S_MAIN, &f->main_vs, NULL, info, st);
    ec_slist_fini(s);
    return rc;
}

static void test_slist_object(void **state)
{
    (void)state;
    ec_slist_parts_t sp;
    s_fix_t *f = s_slist_fix(&sp);
    ec_writer_t w, w2;
    ec_writer_init(&w);
    ec_writer_init(&w2);
    ec_slist_encode(&w, &sp);
    ec_slist_t *s = malloc(sizeof *s);
    assert_non_null(s);
    ec_slist_info_t info;
    ec_status_t st;
    assert_int_equal(ec_slist_decode(s, ec_writer_data(&w), ec_writer_size(&w)), 0);
    int rc = ec_slist_verify(s, S_MAIN, &f->main_vs, NULL, &info, &st);
    if (rc)
        print_error("%s\n", st.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(info.count, EC_SLIST_PAGE_CERTS + 6);
    assert_int_equal(info.at.side_height, S_TX_BLOCK);
    assert_int_equal(info.at.anchored_height, S_ANCHORED);
    assert_int_equal(info.at.main_height, 7);
    assert_int_equal(info.time_ms, 1763700000000ull + S_TX_BLOCK);
    assert_int_equal(ec_slist_get(s->parts.list, 3), EC_SLIST_REVOKED);
    assert_int_equal(ec_slist_get(s->parts.list, EC_SLIST_PAGE_CERTS + 5), EC_SLIST_SUSPENDED);
    assert_int_equal(ec_slist_get(s->parts.list, 4), EC_SLIST_VALID);
    ec_slist_encode(&w2, &s->parts); /* decoded and encoded again: the same bytes */
    assert_int_equal(ec_writer_size(&w2), ec_writer_size(&w));
    assert_memory_equal(ec_writer_data(&w2), ec_writer_data(&w), ec_writer_size(&w));
    ec_slist_fini(s);
    /* trusted by the main header's hash alone */
    assert_int_equal(ec_slist_decode(s, ec_writer_data(&w), ec_writer_size(&w)), 0);
    assert_int_equal(ec_slist_verify(s, S_MAIN, NULL, f->main_hash, &info, &st), 0);
    ec_slist_fini(s);

    /* every single byte changed: refused (by the decoder or the proof) */
    uint8_t *bytes = (uint8_t *)ec_writer_data(&w);
    size_t size = ec_writer_size(&w);
    for (size_t i = 0; i < size; i++) {
        uint8_t keep = bytes[i];
        bytes[i] ^= 0x01;
        ec_writer_t one = w; /* same buffer, flipped byte */
        assert_int_not_equal(s_slist_check(&one, s, f, &info, &st), 0);
        bytes[i] = keep;
    }
    /* a code changed is a list the header does not commit to */
    ec_slist_set(f->slist, 4, EC_SLIST_REVOKED);
    ec_writer_reset(&w);
    ec_slist_encode(&w, &sp);
    assert_int_equal(s_slist_check(&w, s, f, &info, &st), EC_EPROOF);
    assert_non_null(strstr(st.msg, "not the list"));
    ec_slist_set(f->slist, 4, EC_SLIST_VALID);
    /* a bit past the count: one list has one encoding */
    ec_slist_set(f->slist, sp.count, EC_SLIST_ENDED);
    ec_writer_reset(&w);
    ec_slist_encode(&w, &sp);
    assert_int_equal(ec_slist_decode(s, ec_writer_data(&w), ec_writer_size(&w)), EC_EINVAL);
    ec_slist_set(f->slist, sp.count, EC_SLIST_VALID);
    /* another side chain's name, another main chain */
    ec_writer_reset(&w);
    ec_slist_encode(&w, &sp);
    assert_int_equal(ec_slist_decode(s, ec_writer_data(&w), ec_writer_size(&w)), 0);
    assert_int_equal(ec_slist_verify(s, "other-main", &f->main_vs, NULL, &info, &st), EC_ECHAIN);
    ec_slist_fini(s);
    sp.side_chain_id = "side-other";
    ec_writer_reset(&w);
    ec_slist_encode(&w, &sp);
    assert_int_not_equal(s_slist_check(&w, s, f, &info, &st), 0);
    free(s);
    ec_writer_fini(&w);
    ec_writer_fini(&w2);
    s_fix_free(f);
}

int main(void)
{
    if (ec_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bundle_valid),         cmocka_unit_test(test_bundle_every_byte),
        cmocka_unit_test(test_bundle_anchored_self), cmocka_unit_test(test_bundle_steps),
        cmocka_unit_test(test_bundle_refused),       cmocka_unit_test(test_bundle_transitions),
        cmocka_unit_test(test_slist_codes),          cmocka_unit_test(test_slist_object),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
