/*
 * test_types.c - unit tests for ec_types: transaction envelopes, validator sets, headers,
 * commits and their quorum rule, blocks, genesis and anchor entries. Known-answer hex
 * encodings pin the wire format of a header and a transaction; every decoder's rejection
 * paths are exercised with hand-built bad inputs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec_merkle.h"
#include "ec_types.h"
#include "test_util.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static size_t s_unhex(uint8_t *out, size_t cap, const char *hex)
{
    size_t n = strlen(hex) / 2;
    assert_true(n <= cap);
    assert_int_equal(ec_unhex(out, n, hex), 0);
    return n;
}

static void s_assert_hex(const uint8_t *data, size_t size, const char *hex)
{
    char *got = malloc(2 * size + 1);
    assert_non_null(got);
    ec_hex(got, data, size);
    if (strcmp(got, hex) != 0)
        print_error("got      %s\nexpected %s\n", got, hex);
    assert_string_equal(got, hex);
    free(got);
}

static void s_fill(uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v + i);
}

static ec_header_t s_sample_header(void)
{
    ec_header_t h;
    memset(&h, 0, sizeof h);
    strcpy(h.chain_id, "ecert-main");
    h.height = 5;
    h.time_ms = 1763700000000ull;
    s_fill(h.prev_hash, 32, 0x00);
    s_fill(h.tx_root, 32, 0x20);
    h.tx_count = 3;
    s_fill(h.state_root, 32, 0x40);
    s_fill(h.hist_root, 32, 0x60);
    s_fill(h.xanchor_root, 32, 0x80);
    h.xanchor_count = 1;
    s_fill(h.valset_hash, 32, 0xa0);
    s_fill(h.next_valset_hash, 32, 0xc0);
    s_fill(h.evidence_root, 32, 0xe0);
    h.evidence_count = 0;
    return h;
}

/* A header encoding with one field replaced by raw msgpack bytes (for rejection tests). */
static void s_header_with(ec_writer_t *w, const ec_header_t *h, int field, const uint8_t *raw,
                          size_t raw_size, uint32_t count)
{
    ec_writer_t full;
    ec_writer_init(&full);
    ec_header_encode(&full, h);
    /* Re-parse to get each field's bytes, then re-emit with the replacement. */
    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *root;
    assert_int_equal(ec_decode(&d, ec_writer_data(&full), ec_writer_size(&full), &root), 0);
    ec_writer_reset(w);
    ec_write_array(w, count);
    for (uint32_t i = 0; i < count && i < root->via.array.size; i++) {
        if ((int)i == field)
            ec_write_raw(w, raw, raw_size);
        else
            ec_write_object(w, &root->via.array.ptr[i]);
    }
    for (uint32_t i = root->via.array.size; i < count; i++)
        ec_write_nil(w);
    ec_decoder_fini(&d);
    ec_writer_fini(&full);
}

/* ---- names ------------------------------------------------------------------------------ */

static void test_name_limits(void **state)
{
    (void)state;
    assert_true(ec_chain_id_valid("ecert-main"));
    assert_true(ec_chain_id_valid("a"));
    assert_false(ec_chain_id_valid(""));
    assert_false(ec_chain_id_valid("Ecert"));
    assert_false(ec_chain_id_valid("ecert_main"));
    assert_false(ec_chain_id_valid("ecert main"));
    char id[80];
    memset(id, 'a', sizeof id);
    id[63] = '\0';
    assert_true(ec_chain_id_valid(id));
    id[63] = 'a';
    id[64] = '\0';
    assert_false(ec_chain_id_valid(id));

    assert_true(ec_cert_type_valid("degree"));
    assert_true(ec_cert_type_valid("health_v2-x"));
    assert_false(ec_cert_type_valid(""));
    assert_false(ec_cert_type_valid("Degree"));
    memset(id, 'b', sizeof id);
    id[31] = '\0';
    assert_true(ec_cert_type_valid(id));
    id[31] = 'b';
    id[32] = '\0';
    assert_false(ec_cert_type_valid(id));
}

/* ---- transactions ----------------------------------------------------------------------- */

/* Body ["x", 5] */
static const uint8_t s_body[] = {0x92, 0xa1, 'x', 0x05};

static void test_tx_known_answer(void **state)
{
    (void)state;
    ec_key_t *key = tu_key(0x01);
    ec_writer_t w;
    ec_writer_init(&w);
    uint8_t id[32];
    ec_tx_build(&w, id, "ecert-test", 3, key, 7, NULL, s_body, sizeof s_body);
    /* [bin(signed), bin(sig)], signed = [1, "ecert-test", 3, pk, 7, nil, ["x", 5]] */
    s_assert_hex(ec_writer_data(&w), ec_writer_size(&w),
                 "92c436"
                 "97"
                 "01"
                 "aa65636572742d74657374"
                 "03"
                 "c4208a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
                 "07"
                 "c0"
                 "92a17805"
                 "c4404046a8c9769d49736bbaf724086d2ebe5b9e561daa0dd15f54f6eadd9923bd8b"
                 "25340df9590e19993d00dda6cc44f0a7f2f1776c0428949b1b031abfe991db0b");
    /* Cross-checked with an independent Ed25519/SHA-256 implementation (Python). */
    s_assert_hex(id, 32, "a9fc64c2a19176aea05200b1fee27fe17dbb861803db4616cfe38af463b40298");
    ec_tx_t tx;
    assert_int_equal(ec_tx_decode(&tx, ec_writer_data(&w), ec_writer_size(&w)), 0);
    assert_memory_equal(tx.id, id, 32);
    /* The id is SHA-256("ecert/tx" 0x00 || signed). */
    uint8_t msg[256], want[32];
    memcpy(msg, "ecert/tx", 9);
    memcpy(msg + 9, tx.signed_bytes, tx.signed_size);
    ec_sha256(want, msg, 9 + tx.signed_size);
    assert_memory_equal(tx.id, want, 32);
    ec_tx_fini(&tx);
    ec_writer_fini(&w);
    ec_key_destroy(&key);
}

static void test_tx_roundtrip(void **state)
{
    (void)state;
    ec_key_t *key = tu_key(0x02);
    ec_writer_t w;
    ec_writer_init(&w);
    uint8_t ph[32], id[32];
    s_fill(ph, 32, 9);
    ec_tx_build(&w, id, "side-degree", 1, key, UINT64_MAX, ph, s_body, sizeof s_body);
    ec_tx_t tx;
    assert_int_equal(ec_tx_decode(&tx, ec_writer_data(&w), ec_writer_size(&w)), 0);
    assert_string_equal(tx.chain_id, "side-degree");
    assert_int_equal(tx.type, 1);
    assert_true(tx.nonce == UINT64_MAX);
    assert_true(tx.has_payload);
    assert_memory_equal(tx.payload_hash, ph, 32);
    assert_memory_equal(tx.sender, ec_key_pk(key), 32);
    assert_memory_equal(tx.id, id, 32);
    assert_int_equal(tx.body->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(tx.body->via.array.size, 2);
    assert_true(ec_tx_verify_sig(&tx));
    ec_tx_fini(&tx);
    ec_tx_fini(&tx); /* idempotent */

    /* A big body uses bin16 for the signed part. */
    uint8_t big[1200];
    big[0] = 0x91;
    big[1] = 0xc5;
    big[2] = 0x04;
    big[3] = 0xac; /* bin16 of 1196 bytes */
    memset(big + 4, 0x33, sizeof big - 4);
    ec_tx_build(&w, id, "side-degree", 2, key, 1, NULL, big, sizeof big);
    assert_int_equal(ec_tx_decode(&tx, ec_writer_data(&w), ec_writer_size(&w)), 0);
    assert_true(ec_tx_verify_sig(&tx));
    assert_false(tx.has_payload);
    ec_tx_fini(&tx);

    /* Every single-byte change of the signature or signed part breaks the signature. */
    ec_tx_build(&w, id, "side-degree", 1, key, 42, ph, s_body, sizeof s_body);
    size_t n = ec_writer_size(&w);
    uint8_t *copy = malloc(n);
    for (size_t i = 0; i < n; i++) {
        memcpy(copy, ec_writer_data(&w), n);
        copy[i] ^= 0x01;
        if (ec_tx_decode(&tx, copy, n) == 0) {
            assert_false(ec_tx_verify_sig(&tx));
            ec_tx_fini(&tx);
        }
    }
    free(copy);
    ec_writer_fini(&w);
    ec_key_destroy(&key);
}

/* Encodes an envelope around arbitrary signed bytes with a zero signature. */
static void s_envelope(ec_writer_t *w, const ec_writer_t *signed_part)
{
    uint8_t sig[64] = {0};
    ec_writer_reset(w);
    ec_write_array(w, 2);
    ec_write_bin(w, ec_writer_data(signed_part), ec_writer_size(signed_part));
    ec_write_bin(w, sig, 64);
}

static int s_decode_signed(uint64_t version, const char *chain, int sender_len, bool body_array,
                           uint32_t fields)
{
    ec_writer_t s, w;
    ec_writer_init(&s);
    ec_writer_init(&w);
    uint8_t pk[40] = {0};
    ec_write_array(&s, fields);
    ec_write_uint(&s, version);
    ec_write_cstr(&s, chain);
    ec_write_uint(&s, 1);
    ec_write_bin(&s, pk, (size_t)sender_len);
    ec_write_uint(&s, 1);
    ec_write_nil(&s);
    if (body_array)
        ec_write_array(&s, 0);
    else
        ec_write_uint(&s, 0);
    for (uint32_t i = 7; i < fields; i++)
        ec_write_nil(&s);
    s_envelope(&w, &s);
    ec_tx_t tx;
    int rc = ec_tx_decode(&tx, ec_writer_data(&w), ec_writer_size(&w));
    if (rc == 0)
        ec_tx_fini(&tx);
    ec_writer_fini(&s);
    ec_writer_fini(&w);
    return rc;
}

static void test_tx_rejects(void **state)
{
    (void)state;
    ec_tx_t tx;
    assert_int_equal(s_decode_signed(1, "ok-chain", 32, true, 7), 0);
    assert_int_equal(s_decode_signed(2, "ok-chain", 32, true, 7), EC_EVERSION);
    assert_int_equal(s_decode_signed(2, "ok-chain", 32, true, 9), EC_EVERSION);
    assert_int_equal(s_decode_signed(1, "Bad", 32, true, 7), EC_EINVAL);
    assert_int_equal(s_decode_signed(1, "", 32, true, 7), EC_EINVAL);
    assert_int_equal(s_decode_signed(1, "ok-chain", 31, true, 7), EC_EINVAL);
    assert_int_equal(s_decode_signed(1, "ok-chain", 32, false, 7), EC_EINVAL);
    assert_int_equal(s_decode_signed(1, "ok-chain", 32, true, 8), EC_EINVAL);

    /* Envelope shape. */
    ec_key_t *key = tu_key(0x03);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_tx_build(&w, NULL, "ok-chain", 1, key, 1, NULL, s_body, sizeof s_body);
    size_t n = ec_writer_size(&w);
    uint8_t buf[256];
    memcpy(buf, ec_writer_data(&w), n);
    assert_int_equal(ec_tx_decode(&tx, buf, n), 0);
    ec_tx_fini(&tx);
    buf[n] = 0xc0; /* trailing byte */
    assert_int_equal(ec_tx_decode(&tx, buf, n + 1), EC_EINVAL);
    assert_int_equal(ec_tx_decode(&tx, buf, n - 1), EC_EINVAL); /* short signature */
    assert_int_equal(ec_tx_decode(&tx, buf, 0), EC_EINVAL);
    assert_int_equal(ec_tx_decode(&tx, buf, 2), EC_EINVAL);
    buf[0] = 0x93;
    assert_int_equal(ec_tx_decode(&tx, buf, n), EC_EINVAL);
    buf[0] = 0x92;
    /* bin16 header for a short bin is not canonical. */
    uint8_t nc[300];
    nc[0] = 0x92;
    nc[1] = 0xc5;
    nc[2] = 0x00;
    nc[3] = buf[2];
    memcpy(nc + 4, buf + 3, n - 3);
    assert_int_equal(ec_tx_decode(&tx, nc, n + 1), EC_EINVAL);
    /* Signature as bin of 63. */
    memcpy(nc, buf, n);
    nc[n - 65] = 63;
    assert_int_equal(ec_tx_decode(&tx, nc, n - 1), EC_EINVAL);
    /* Too big. */
    uint8_t *huge = calloc(1, EC_TX_BYTES_MAX + 1);
    assert_int_equal(ec_tx_decode(&tx, huge, EC_TX_BYTES_MAX + 1), EC_ETOOBIG);
    free(huge);
    ec_writer_fini(&w);
    ec_key_destroy(&key);
}

static void test_tx_noncanonical_signed(void **state)
{
    (void)state;
    /* signed = [0xcc 0x01 (uint8 1), ...] is not canonical. */
    uint8_t s[64];
    size_t n = 0;
    s[n++] = 0x97;
    s[n++] = 0xcc;
    s[n++] = 0x01;
    s[n++] = 0xa1;
    s[n++] = 'a';
    s[n++] = 0x01;
    s[n++] = 0xc4;
    s[n++] = 32;
    memset(s + n, 0, 32);
    n += 32;
    s[n++] = 0x01;
    s[n++] = 0xc0;
    s[n++] = 0x90;
    ec_writer_t w, sw;
    ec_writer_init(&w);
    ec_writer_init(&sw);
    ec_write_raw(&sw, s, n);
    s_envelope(&w, &sw);
    ec_tx_t tx;
    assert_int_equal(ec_tx_decode(&tx, ec_writer_data(&w), ec_writer_size(&w)), EC_EINVAL);
    /* The canonical form decodes. */
    s[1] = 0x01;
    memmove(s + 2, s + 3, n - 3);
    ec_writer_reset(&sw);
    ec_write_raw(&sw, s, n - 1);
    s_envelope(&w, &sw);
    assert_int_equal(ec_tx_decode(&tx, ec_writer_data(&w), ec_writer_size(&w)), 0);
    assert_false(ec_tx_verify_sig(&tx));
    ec_tx_fini(&tx);
    ec_writer_fini(&w);
    ec_writer_fini(&sw);
}

/* ---- headers ---------------------------------------------------------------------------- */

static const char *s_header_hex =
    "9f"
    "02"
    "aa65636572742d6d61696e"
    "05"
    "cf0000019aa4b64500"
    "c420000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "c420202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "03"
    "c420404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "c420606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "c420808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "01"
    "c420a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c420c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "c420e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
    "00";

static void test_header_known_answer(void **state)
{
    (void)state;
    ec_header_t h = s_sample_header(), back;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_header_encode(&w, &h);
    s_assert_hex(ec_writer_data(&w), ec_writer_size(&w), s_header_hex);
    assert_int_equal(ec_header_decode(&back, ec_writer_data(&w), ec_writer_size(&w)), 0);
    assert_memory_equal(&back, &h, sizeof h);
    uint8_t hash[32], want[32];
    ec_header_hash(hash, &h);
    ec_sha256(want, ec_writer_data(&w), ec_writer_size(&w));
    assert_memory_equal(hash, want, 32);
    assert_false(ec_header_anchor_only(&h));
    h.xanchor_count = 3;
    assert_true(ec_header_anchor_only(&h));
    h.tx_count = h.xanchor_count = 0;
    assert_false(ec_header_anchor_only(&h));
    ec_writer_fini(&w);
}

static int s_header_variant(int field, const uint8_t *raw, size_t raw_size, uint32_t count)
{
    ec_header_t h = s_sample_header(), out;
    ec_writer_t w;
    ec_writer_init(&w);
    s_header_with(&w, &h, field, raw, raw_size, count);
    int rc = ec_header_decode(&out, ec_writer_data(&w), ec_writer_size(&w));
    ec_writer_fini(&w);
    return rc;
}

static void test_header_rejects(void **state)
{
    (void)state;
    const uint8_t v2[] = {0x02}, h0[] = {0x00}, bigc[] = {0xcd, 0x4e, 0x21}; /* 20001 */
    const uint8_t bad_id[] = {0xa3, 'A', 'B', 'C'}, short_hash[] = {0xc4, 0x01, 0x00};
    const uint8_t str_hash[] = {0xa1, 'x'}, neg[] = {0xff};
    const uint8_t v1[] = {0x01};
    assert_int_equal(s_header_variant(-1, NULL, 0, 15), 0);
    assert_int_equal(s_header_variant(0, v1, 1, 15), EC_EVERSION);
    assert_int_equal(s_header_variant(0, v1, 1, 13), EC_EVERSION);
    assert_int_equal(s_header_variant(-1, NULL, 0, 14), EC_EINVAL);
    assert_int_equal(s_header_variant(-1, NULL, 0, 16), EC_EINVAL);
    assert_int_equal(s_header_variant(1, bad_id, sizeof bad_id, 15), EC_EINVAL);
    assert_int_equal(s_header_variant(2, h0, 1, 15), EC_EINVAL);
    assert_int_equal(s_header_variant(2, neg, 1, 15), EC_EINVAL);
    assert_int_equal(s_header_variant(4, short_hash, sizeof short_hash, 15), EC_EINVAL);
    assert_int_equal(s_header_variant(5, str_hash, sizeof str_hash, 15), EC_EINVAL);
    assert_int_equal(s_header_variant(6, bigc, sizeof bigc, 15), EC_EINVAL);
    assert_int_equal(s_header_variant(10, bigc, sizeof bigc, 15), EC_EINVAL);
    assert_int_equal(s_header_variant(13, str_hash, sizeof str_hash, 15), EC_EINVAL);
    assert_int_equal(s_header_variant(14, bigc, sizeof bigc, 15), EC_EINVAL);
    (void)v2;

    uint8_t buf[512];
    size_t n = s_unhex(buf, sizeof buf, s_header_hex);
    ec_header_t h;
    buf[n] = 0x00;
    assert_int_equal(ec_header_decode(&h, buf, n + 1), EC_EINVAL); /* trailing */
    assert_int_equal(ec_header_decode(&h, buf, n - 1), EC_EINVAL); /* truncated */
    assert_int_equal(ec_header_decode(&h, buf, 0), EC_EINVAL);
    buf[0] = 0x01; /* not an array */
    assert_int_equal(ec_header_decode(&h, buf, 1), EC_EINVAL);
}

/* ---- validator sets and commits --------------------------------------------------------- */

typedef struct {
    ec_key_t *keys[EC_VALIDATORS_MAX];
    ec_valset_t vs;
} s_vals_t;

static void s_vals_make(s_vals_t *v, uint32_t n, const uint64_t *powers)
{
    memset(v, 0, sizeof *v);
    v->vs.count = n;
    for (uint32_t i = 0; i < n; i++) {
        v->keys[i] = tu_key((uint8_t)(0x40 + i));
        memcpy(v->vs.v[i].pk, ec_key_pk(v->keys[i]), 32);
        v->vs.v[i].power = powers ? powers[i] : 1;
    }
}

static void s_vals_free(s_vals_t *v)
{
    for (uint32_t i = 0; i < EC_VALIDATORS_MAX; i++)
        ec_key_destroy(&v->keys[i]);
}

static void s_commit_for(ec_commit_t *c, const ec_header_t *h, uint64_t round)
{
    memset(c, 0, sizeof *c);
    c->height = h->height;
    c->round = round;
    ec_header_hash(c->block_hash, h);
}

static void test_commit_quorum(void **state)
{
    (void)state;
    const uint32_t sizes[] = {1, 3, 4, 7};
    const uint32_t needed[] = {1, 3, 3, 5}; /* smallest signer count with 3p > 2n */
    ec_header_t h = s_sample_header();
    for (size_t t = 0; t < 4; t++) {
        s_vals_t v;
        s_vals_make(&v, sizes[t], NULL);
        ec_commit_t c;
        s_commit_for(&c, &h, 2);
        /* Sign from the top index down to check that sigs stay sorted. */
        for (uint32_t k = 0; k < needed[t]; k++) {
            uint32_t idx = sizes[t] - 1 - k;
            if (k == needed[t] - 1)
                assert_int_equal(ec_commit_verify(&c, &h, &v.vs), EC_ESIG);
            ec_commit_sign(&c, h.chain_id, idx, v.keys[idx]);
        }
        for (uint32_t i = 1; i < c.sig_count; i++)
            assert_true(c.sigs[i - 1].index < c.sigs[i].index);
        assert_int_equal(ec_commit_verify(&c, &h, &v.vs), 0);

        /* Round trip. */
        ec_writer_t w;
        ec_writer_init(&w);
        ec_commit_encode(&w, &c);
        ec_commit_t back;
        assert_int_equal(ec_commit_decode(&back, ec_writer_data(&w), ec_writer_size(&w)), 0);
        assert_memory_equal(&back, &c, sizeof c);
        ec_writer_fini(&w);

        /* Duplicate signer: the same signature twice counts once and is malformed. */
        ec_commit_t dup = c;
        dup.sigs[dup.sig_count] = dup.sigs[0];
        dup.sig_count++;
        assert_int_equal(ec_commit_verify(&dup, &h, &v.vs), EC_EINVAL);
        /* Out-of-range index. */
        ec_commit_t oor = c;
        oor.sigs[0].index = sizes[t];
        assert_int_equal(ec_commit_verify(&oor, &h, &v.vs), EC_EINVAL);
        /* Wrong hash, wrong height, wrong header. */
        ec_commit_t bad = c;
        bad.block_hash[0] ^= 1;
        assert_int_equal(ec_commit_verify(&bad, &h, &v.vs), EC_ESIG);
        bad = c;
        bad.height++;
        assert_int_equal(ec_commit_verify(&bad, &h, &v.vs), EC_ESIG);
        ec_header_t h2 = h;
        h2.time_ms++;
        assert_int_equal(ec_commit_verify(&c, &h2, &v.vs), EC_ESIG);
        /* Wrong round (signatures are over the round). */
        bad = c;
        bad.round++;
        assert_int_equal(ec_commit_verify(&bad, &h, &v.vs), EC_ESIG);
        /* A corrupted signature, even one beyond what the quorum needs. */
        bad = c;
        bad.sigs[bad.sig_count - 1].sig[5] ^= 0x10;
        assert_int_equal(ec_commit_verify(&bad, &h, &v.vs), EC_ESIG);
        if (needed[t] < sizes[t]) {
            ec_commit_t extra = c;
            uint32_t free_idx = 0; /* index 0 signed last only if needed == size */
            ec_commit_sign(&extra, h.chain_id, free_idx, v.keys[free_idx]);
            assert_int_equal(ec_commit_verify(&extra, &h, &v.vs), 0);
            extra.sigs[0].sig[0] ^= 1;
            assert_int_equal(ec_commit_verify(&extra, &h, &v.vs), EC_ESIG);
        }
        /* A signature made for another chain id does not count. */
        ec_commit_t other;
        s_commit_for(&other, &h, 2);
        for (uint32_t k = 0; k < sizes[t]; k++)
            ec_commit_sign(&other, "another-chain", k, v.keys[k]);
        assert_int_equal(ec_commit_verify(&other, &h, &v.vs), EC_ESIG);
        s_vals_free(&v);
    }
}

static void test_commit_weighted(void **state)
{
    (void)state;
    ec_header_t h = s_sample_header();
    const uint64_t powers[] = {10, 1, 1, 1};
    s_vals_t v;
    s_vals_make(&v, 4, powers);
    ec_commit_t c;
    s_commit_for(&c, &h, 0);
    ec_commit_sign(&c, h.chain_id, 1, v.keys[1]);
    ec_commit_sign(&c, h.chain_id, 2, v.keys[2]);
    ec_commit_sign(&c, h.chain_id, 3, v.keys[3]);
    assert_int_equal(ec_commit_verify(&c, &h, &v.vs), EC_ESIG); /* 3 of 13 */
    s_commit_for(&c, &h, 0);
    ec_commit_sign(&c, h.chain_id, 0, v.keys[0]);
    assert_int_equal(ec_commit_verify(&c, &h, &v.vs), 0); /* 30 > 26 */
    /* Exactly two thirds is not enough: powers 2,1 -> 3*2 = 6 = 2*3. */
    const uint64_t p2[] = {2, 1};
    s_vals_t v2;
    s_vals_make(&v2, 2, p2);
    s_commit_for(&c, &h, 0);
    ec_commit_sign(&c, h.chain_id, 0, v2.keys[0]);
    assert_int_equal(ec_commit_verify(&c, &h, &v2.vs), EC_ESIG);
    /* Empty set. */
    ec_valset_t empty;
    memset(&empty, 0, sizeof empty);
    assert_int_equal(ec_commit_verify(&c, &h, &empty), EC_EINVAL);
    s_vals_free(&v);
    s_vals_free(&v2);
}

/* One hand-built commit that ec_commit_decode must refuse: [version, height, round 0, hash,
 * sig_count signatures]. Signature k is [index, sig_len bytes] when index is out of range
 * (EC_VALIDATORS_MAX or more), else [k % EC_VALIDATORS_MAX, sig_len bytes]. */
typedef struct {
    const char *what;
    uint64_t version, height;
    uint32_t sig_count;
    uint64_t index;
    size_t sig_len;
    int want;
} s_bad_commit_t;

static void test_commit_rejects(void **state)
{
    (void)state;
    static const s_bad_commit_t cases[] = {
        {"version 2", 2, 1, 0, 0, 64, EC_EVERSION},
        {"height 0", 1, 0, 0, 0, 64, EC_EINVAL},
        {"index too large for any set", 1, 1, 1, EC_VALIDATORS_MAX, 64, EC_EINVAL},
        {"too many signatures", 1, 1, EC_VALIDATORS_MAX + 1, 0, 64, EC_ETOOBIG},
        {"short signature", 1, 1, 1, 0, 63, EC_EINVAL},
    };
    ec_commit_t c;
    ec_writer_t w;
    ec_writer_init(&w);
    uint8_t sig[64] = {0}, hash[32] = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const s_bad_commit_t *t = &cases[i];
        ec_writer_reset(&w);
        ec_write_array(&w, 5);
        ec_write_uint(&w, t->version);
        ec_write_uint(&w, t->height);
        ec_write_uint(&w, 0);
        ec_write_bin(&w, hash, 32);
        ec_write_array(&w, t->sig_count);
        for (uint32_t k = 0; k < t->sig_count; k++) {
            ec_write_array(&w, 2);
            /* Keeps the out-of-range index as is; wraps the others into range. */
            ec_write_uint(&w, t->index >= EC_VALIDATORS_MAX ? t->index : k % EC_VALIDATORS_MAX);
            ec_write_bin(&w, sig, t->sig_len);
        }
        int rc = ec_commit_decode(&c, ec_writer_data(&w), ec_writer_size(&w));
        if (rc != t->want)
            print_error("case %zu (%s): got %d, want %d\n", i, t->what, rc, t->want);
        assert_int_equal(rc, t->want);
    }
    ec_writer_fini(&w);
}

/*
 * Regression (issue 6): a commit's signatures were accepted in any order, so swapping two
 * of them in a bundle or an anchor gave different bytes that still verified. Signer
 * indexes must now strictly increase, in the decoder and in ec_commit_verify.
 */
static void test_commit_signer_order(void **state)
{
    (void)state;
    ec_header_t h = s_sample_header();
    s_vals_t v;
    s_vals_make(&v, 3, NULL);
    ec_commit_t c;
    s_commit_for(&c, &h, 0);
    for (uint32_t k = 0; k < 3; k++)
        ec_commit_sign(&c, h.chain_id, k, v.keys[k]);
    assert_int_equal(ec_commit_verify(&c, &h, &v.vs), 0);

    ec_commit_t swapped = c;
    swapped.sigs[0] = c.sigs[1];
    swapped.sigs[1] = c.sigs[0];
    assert_int_equal(ec_commit_verify(&swapped, &h, &v.vs), EC_EINVAL);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_commit_encode(&w, &c);
    ec_commit_t back;
    assert_int_equal(ec_commit_decode(&back, ec_writer_data(&w), ec_writer_size(&w)), 0);
    ec_writer_reset(&w);
    ec_commit_encode(&w, &swapped); /* the encoder writes what it is given */
    assert_int_equal(ec_commit_decode(&back, ec_writer_data(&w), ec_writer_size(&w)), EC_EINVAL);
    back.sig_count = 7; /* zeroed on error */
    assert_int_equal(ec_commit_decode(&back, ec_writer_data(&w), ec_writer_size(&w)), EC_EINVAL);
    assert_int_equal(back.sig_count, 0);

    /* The same signer twice, next to each other. */
    ec_commit_t twice = c;
    twice.sigs[1] = c.sigs[0];
    assert_int_equal(ec_commit_verify(&twice, &h, &v.vs), EC_EINVAL);
    ec_writer_reset(&w);
    ec_commit_encode(&w, &twice);
    assert_int_equal(ec_commit_decode(&back, ec_writer_data(&w), ec_writer_size(&w)), EC_EINVAL);

    /* Increasing with gaps is fine: validators 0 and 2 of 3. */
    ec_commit_t gaps;
    s_commit_for(&gaps, &h, 0);
    ec_commit_sign(&gaps, h.chain_id, 2, v.keys[2]);
    ec_commit_sign(&gaps, h.chain_id, 0, v.keys[0]);
    ec_writer_reset(&w);
    ec_commit_encode(&w, &gaps);
    assert_int_equal(ec_commit_decode(&back, ec_writer_data(&w), ec_writer_size(&w)), 0);
    assert_int_equal(back.sigs[1].index, 2);
    ec_writer_fini(&w);
    s_vals_free(&v);
}

static void test_vote_sign_bytes(void **state)
{
    (void)state;
    uint8_t hash[32];
    s_fill(hash, 32, 0);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_uint(&w, 99); /* reset first: this must not survive */
    ec_vote_sign_bytes(&w, "c", 2, 0, EC_VOTE_PREVOTE, hash);
    s_assert_hex(ec_writer_data(&w), ec_writer_size(&w),
                 "65636572742f766f746500"
                 "95a163020001"
                 "c420000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    ec_writer_fini(&w);
}

/* ---- blocks ----------------------------------------------------------------------------- */

/* A signed vote of validator `index` of v. */
static ec_vote_t s_vote(const s_vals_t *v, uint32_t index, uint32_t type, uint64_t round,
                        const uint8_t *hash)
{
    ec_vote_t vote;
    memset(&vote, 0, sizeof vote);
    vote.height = 5;
    vote.round = round;
    vote.type = type;
    vote.validator = index;
    vote.nil = hash == NULL;
    if (hash)
        memcpy(vote.hash, hash, 32);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_vote_sign_bytes(&w, "ecert-main", 5, round, type, hash);
    ec_sign(vote.sig, ec_writer_data(&w), ec_writer_size(&w), v->keys[index]);
    ec_writer_fini(&w);
    return vote;
}

static void s_vote_read_fn(ec_cur_t *c, void *out)
{
    ec_vote_read(c, out);
}

static void test_vote_roundtrip(void **state)
{
    (void)state;
    s_vals_t v;
    s_vals_make(&v, 2, NULL);
    uint8_t hash[32];
    s_fill(hash, 32, 0x33);
    ec_writer_t w;
    ec_writer_init(&w);
    for (int nil = 0; nil < 2; nil++) {
        ec_vote_t a = s_vote(&v, 1, EC_VOTE_PRECOMMIT, 2, nil ? NULL : hash), back;
        ec_writer_reset(&w);
        ec_vote_encode(&w, &a);
        assert_int_equal(ec_decode_read(&back, sizeof back, ec_writer_data(&w), ec_writer_size(&w),
                                        s_vote_read_fn),
                         0);
        assert_memory_equal(&back, &a, sizeof a);
        assert_true(ec_vote_verify_sig(&back, "ecert-main", v.vs.v[1].pk));
        assert_false(ec_vote_verify_sig(&back, "ecert-main", v.vs.v[0].pk));
        assert_false(ec_vote_verify_sig(&back, "ecert-side", v.vs.v[1].pk));
        back.round++;
        assert_false(ec_vote_verify_sig(&back, "ecert-main", v.vs.v[1].pk));
    }
    /* A vote for nil signs nil, not a zero hash. */
    ec_vote_t nilv = s_vote(&v, 0, EC_VOTE_PREVOTE, 0, NULL);
    nilv.nil = false;
    assert_false(ec_vote_verify_sig(&nilv, "ecert-main", v.vs.v[0].pk));
    ec_writer_fini(&w);
    s_vals_free(&v);
}

static void test_evidence(void **state)
{
    (void)state;
    s_vals_t v;
    s_vals_make(&v, 3, NULL);
    uint8_t h1[32], h2[32];
    s_fill(h1, 32, 1);
    s_fill(h2, 32, 2);
    ec_evidence_t e = {s_vote(&v, 2, EC_VOTE_PREVOTE, 1, h2),
                       s_vote(&v, 2, EC_VOTE_PREVOTE, 1, h1)};
    ec_evidence_order(&e);
    assert_int_equal(ec_evidence_check(&e, "ecert-main", &v.vs), 0);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_evidence_encode(&w, &e);
    ec_evidence_t back;
    assert_int_equal(ec_evidence_decode(&back, ec_writer_data(&w), ec_writer_size(&w)), 0);
    assert_memory_equal(&back, &e, sizeof e);
    /* One encoding per pair: the other order is not evidence. */
    ec_evidence_t swapped = {e.b, e.a};
    assert_int_equal(ec_evidence_check(&swapped, "ecert-main", &v.vs), EC_EINVAL);
    /* A block vote against a nil vote is equivocation too. */
    ec_evidence_t with_nil = {s_vote(&v, 0, EC_VOTE_PRECOMMIT, 0, h1),
                              s_vote(&v, 0, EC_VOTE_PRECOMMIT, 0, NULL)};
    ec_evidence_order(&with_nil);
    assert_int_equal(ec_evidence_check(&with_nil, "ecert-main", &v.vs), 0);
    /* Not equivocation: the same vote twice, other rounds, types, validators. */
    ec_evidence_t same = {e.a, e.a};
    assert_int_equal(ec_evidence_check(&same, "ecert-main", &v.vs), EC_EINVAL);
    ec_evidence_t rounds = {s_vote(&v, 2, EC_VOTE_PREVOTE, 1, h1),
                            s_vote(&v, 2, EC_VOTE_PREVOTE, 2, h2)};
    ec_evidence_order(&rounds);
    assert_int_equal(ec_evidence_check(&rounds, "ecert-main", &v.vs), EC_EINVAL);
    ec_evidence_t types = {s_vote(&v, 2, EC_VOTE_PREVOTE, 1, h1),
                           s_vote(&v, 2, EC_VOTE_PRECOMMIT, 1, h2)};
    ec_evidence_order(&types);
    assert_int_equal(ec_evidence_check(&types, "ecert-main", &v.vs), EC_EINVAL);
    ec_evidence_t two = {s_vote(&v, 1, EC_VOTE_PREVOTE, 1, h1),
                         s_vote(&v, 2, EC_VOTE_PREVOTE, 1, h2)};
    ec_evidence_order(&two);
    assert_int_equal(ec_evidence_check(&two, "ecert-main", &v.vs), EC_EINVAL);
    /* A validator outside the set, a forged signature, another chain. */
    v.vs.count = 2;
    assert_int_equal(ec_evidence_check(&e, "ecert-main", &v.vs), EC_EINVAL);
    v.vs.count = 3;
    ec_evidence_t forged = e;
    forged.b.sig[5] ^= 1;
    assert_int_equal(ec_evidence_check(&forged, "ecert-main", &v.vs), EC_ESIG);
    assert_int_equal(ec_evidence_check(&e, "ecert-other", &v.vs), EC_ESIG);
    /* Wrong version, trailing bytes. */
    uint8_t buf[512];
    size_t n = ec_writer_size(&w);
    memcpy(buf, ec_writer_data(&w), n);
    buf[1] = 0x02;
    assert_int_equal(ec_evidence_decode(&back, buf, n), EC_EVERSION);
    buf[1] = 0x01;
    buf[n] = 0;
    assert_int_equal(ec_evidence_decode(&back, buf, n + 1), EC_EINVAL);
    ec_writer_fini(&w);
    s_vals_free(&v);
}

static void test_proposal_sign_bytes(void **state)
{
    (void)state;
    uint8_t hash[32];
    s_fill(hash, 32, 0);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_proposal_sign_bytes(&w, "c", 2, 1, -1, hash);
    s_assert_hex(ec_writer_data(&w), ec_writer_size(&w),
                 "65636572742f70726f706f73616c00"
                 "95a163020100"
                 "c420000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    ec_vote_sign_bytes(&w, "c", 2, 0, EC_VOTE_PRECOMMIT, NULL);
    s_assert_hex(ec_writer_data(&w), ec_writer_size(&w),
                 "65636572742f766f746500"
                 "95a163020002c0");
    ec_writer_fini(&w);
}

/* ---- transaction results ---------------------------------------------------------------- */

static void test_tx_leaf(void **state)
{
    (void)state;
    uint8_t id[32], leaf[32], want[32], msg[2 + 32 + 1 + 8 + 8];
    s_fill(id, 32, 0x10);
    ec_tx_result_t r = {EC_EPERM, 0x0102030405060708ull, 0x1112131415161718ull};
    ec_tx_leaf(leaf, id, &r);
    msg[0] = 0x00;
    msg[1] = EC_LEAF_TX;
    memcpy(msg + 2, id, 32);
    msg[34] = (uint8_t)(-EC_EPERM);
    for (int i = 0; i < 8; i++) {
        msg[35 + i] = (uint8_t)(i + 1);
        msg[43 + i] = (uint8_t)(0x11 + i);
    }
    ec_sha256(want, msg, sizeof msg);
    assert_memory_equal(leaf, want, 32);
    /* The result is bound: applied and refused leaves differ, and so do refs and slots. */
    ec_tx_result_t ok = {0, r.ref, r.slot}, other = {EC_EPERM, 7, r.slot},
                   moved = {EC_EPERM, r.ref, 3};
    ec_tx_leaf(want, id, &ok);
    assert_memory_not_equal(leaf, want, 32);
    ec_tx_leaf(want, id, &other);
    assert_memory_not_equal(leaf, want, 32);
    ec_tx_leaf(want, id, &moved);
    assert_memory_not_equal(leaf, want, 32);
}

/* ---- blocks ----------------------------------------------------------------------------- */

static void test_block_roundtrip(void **state)
{
    (void)state;
    ec_header_t h = s_sample_header();
    h.tx_count = 2;
    const uint8_t t1[] = {1, 2, 3}, t2[] = {4};
    const uint8_t *txs[] = {t1, t2};
    const size_t sizes[] = {3, 1};
    const ec_tx_result_t results[] = {{0, 0, 5}, {EC_ESTALE, 42, 0}};
    s_vals_t v;
    s_vals_make(&v, 2, NULL);
    uint8_t h1[32], h2[32];
    s_fill(h1, 32, 1);
    s_fill(h2, 32, 2);
    ec_evidence_t e = {s_vote(&v, 1, EC_VOTE_PREVOTE, 0, h1),
                       s_vote(&v, 1, EC_VOTE_PREVOTE, 0, h2)};
    ec_evidence_order(&e);
    ec_writer_t ew;
    ec_writer_init(&ew);
    ec_evidence_encode(&ew, &e);
    const uint8_t *ev[] = {ec_writer_data(&ew)};
    const size_t ev_sizes[] = {ec_writer_size(&ew)};
    h.evidence_count = 1;

    ec_writer_t w;
    ec_writer_init(&w);
    ec_block_encode(&w, &h, txs, sizes, results, 2, ev, ev_sizes, 1);
    ec_block_t b;
    assert_int_equal(ec_block_decode(&b, ec_writer_data(&w), ec_writer_size(&w)), 0);
    assert_memory_equal(&b.header, &h, sizeof h);
    assert_int_equal(b.tx_count, 2);
    assert_int_equal(b.txs[0].via.bin.size, 3);
    assert_memory_equal(b.txs[1].via.bin.ptr, t2, 1);
    ec_tx_result_t got;
    ec_block_result(&b, 1, &got);
    assert_int_equal(got.code, EC_ESTALE);
    assert_int_equal(got.ref, 42);
    assert_int_equal(got.slot, 0);
    ec_block_result(&b, 0, &got);
    assert_int_equal(got.code, 0);
    assert_int_equal(got.slot, 5);
    assert_int_equal(b.evidence_count, 1);
    assert_memory_equal(b.evidence[0].via.bin.ptr, ev[0], ev_sizes[0]);
    ec_block_fini(&b);
    /* tx_count or evidence_count disagrees with the lists. */
    ec_writer_reset(&w);
    ec_block_encode(&w, &h, txs, sizes, results, 1, ev, ev_sizes, 1);
    assert_int_equal(ec_block_decode(&b, ec_writer_data(&w), ec_writer_size(&w)), EC_EINVAL);
    ec_writer_reset(&w);
    ec_block_encode(&w, &h, txs, sizes, results, 2, ev, ev_sizes, 0);
    assert_int_equal(ec_block_decode(&b, ec_writer_data(&w), ec_writer_size(&w)), EC_EINVAL);
    /* A result code that is no EC_E* code. */
    ec_writer_reset(&w);
    ec_block_encode(&w, &h, txs, sizes, results, 2, ev, ev_sizes, 1);
    uint8_t raw[4096];
    size_t n = ec_writer_size(&w), at = 0;
    memcpy(raw, ec_writer_data(&w), n);
    for (size_t i = 0; i + 2 < n && !at; i++)
        if (raw[i] == 0x93 && raw[i + 1] == 0xe8 && raw[i + 2] == 42) /* [-24, 42, 0] */
            at = i + 1;
    assert_true(at > 0);
    raw[at] = 0x01;
    assert_int_equal(ec_block_decode(&b, raw, n), EC_EINVAL);
    raw[at] = 0xe8;
    assert_int_equal(ec_block_decode(&b, raw, n), 0);
    ec_block_fini(&b);
    ec_writer_fini(&w);
    ec_writer_fini(&ew);
    s_vals_free(&v);
}

/* ---- genesis ---------------------------------------------------------------------------- */

static ec_genesis_t s_main_genesis(void)
{
    ec_genesis_t g;
    memset(&g, 0, sizeof g);
    strcpy(g.chain_id, "ecert-main");
    g.kind = EC_CHAIN_MAIN;
    g.time_ms = 1763700000000ull;
    g.validators.count = 2;
    s_fill(g.validators.v[0].pk, 32, 1);
    g.validators.v[0].power = 1;
    s_fill(g.validators.v[1].pk, 32, 2);
    g.validators.v[1].power = 5;
    g.operator_count = 1;
    g.operator_quorum = 1;
    s_fill(g.operators[0], 32, 3);
    return g;
}

static ec_genesis_t s_side_genesis(void)
{
    ec_genesis_t g = s_main_genesis();
    strcpy(g.chain_id, "side-degree");
    g.kind = EC_CHAIN_SIDE;
    strcpy(g.cert_type, "degree");
    g.operator_count = 0;
    g.operator_quorum = 0;
    memset(g.operators, 0, sizeof g.operators);
    strcpy(g.main_chain_id, "ecert-main");
    s_fill(g.main_genesis_hash, 32, 7);
    g.main_validators.count = 1;
    s_fill(g.main_validators.v[0].pk, 32, 9);
    g.main_validators.v[0].power = 1;
    g.main_freshness_ms = EC_MAIN_FRESHNESS_MS_DEFAULT;
    return g;
}

static int s_genesis_rt(const ec_genesis_t *g)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_genesis_encode(&w, g);
    ec_genesis_t back;
    int rc = ec_genesis_decode(&back, ec_writer_data(&w), ec_writer_size(&w));
    if (rc == 0) {
        assert_memory_equal(&back, g, sizeof back);
        uint8_t h1[32], h2[32];
        ec_genesis_hash(h1, g);
        ec_sha256(h2, ec_writer_data(&w), ec_writer_size(&w));
        assert_memory_equal(h1, h2, 32);
    }
    ec_writer_fini(&w);
    return rc;
}

static void test_genesis(void **state)
{
    (void)state;
    ec_genesis_t g = s_main_genesis();
    assert_int_equal(s_genesis_rt(&g), 0);
    g.operator_count = 0;
    assert_int_equal(s_genesis_rt(&g), EC_EINVAL);
    g = s_main_genesis();
    strcpy(g.cert_type, "degree");
    assert_int_equal(s_genesis_rt(&g), EC_EINVAL);
    g = s_main_genesis();
    strcpy(g.main_chain_id, "x");
    assert_int_equal(s_genesis_rt(&g), EC_EINVAL);
    g = s_main_genesis();
    g.main_genesis_hash[31] = 1;
    assert_int_equal(s_genesis_rt(&g), EC_EINVAL);
    g = s_main_genesis();
    g.main_validators = g.validators;
    assert_int_equal(s_genesis_rt(&g), EC_EINVAL);
    g = s_main_genesis();
    g.validators.count = 0;
    assert_int_equal(s_genesis_rt(&g), EC_EINVAL);
    /* m of n operators: format 3, which a quorum of 1 never uses; 1 <= m <= n. */
    g = s_main_genesis();
    g.operator_count = 3;
    s_fill(g.operators[1], 32, 4);
    s_fill(g.operators[2], 32, 5);
    g.operator_quorum = 2;
    assert_int_equal(s_genesis_rt(&g), 0);
    {
        ec_writer_t w;
        ec_writer_init(&w);
        ec_genesis_encode(&w, &g);
        assert_int_equal(ec_writer_data(&w)[1], EC_GENESIS_VERSION_QUORUM);
        ec_writer_fini(&w);
    }
    g.operator_quorum = 4;
    assert_int_equal(s_genesis_rt(&g), EC_EINVAL);
    {
        /* A hand-made format 3 with quorum 1: a second encoding of a format 2 genesis. */
        ec_writer_t w;
        ec_writer_init(&w);
        ec_write_array(&w, 12);
        ec_write_uint(&w, EC_GENESIS_VERSION_QUORUM);
        ec_write_cstr(&w, g.chain_id);
        ec_write_uint(&w, g.kind);
        ec_write_cstr(&w, g.cert_type);
        ec_write_uint(&w, g.time_ms);
        ec_valset_encode(&w, &g.validators);
        ec_write_array(&w, g.operator_count);
        for (uint32_t i = 0; i < g.operator_count; i++)
            ec_write_bin(&w, g.operators[i], 32);
        ec_write_uint(&w, 1);
        ec_write_cstr(&w, g.main_chain_id);
        ec_write_bin(&w, g.main_genesis_hash, 32);
        ec_valset_encode(&w, &g.main_validators);
        ec_write_uint(&w, g.main_freshness_ms);
        ec_genesis_t back;
        assert_int_equal(ec_genesis_decode(&back, ec_writer_data(&w), ec_writer_size(&w)),
                         EC_EINVAL);
        ec_writer_fini(&w);
    }
    /* Feature flags: format 4, only when one is set; unknown flags refused. */
    g = s_main_genesis();
    g.features = EC_GENESIS_F_CONTRACTS;
    assert_int_equal(s_genesis_rt(&g), 0);
    {
        ec_writer_t w;
        ec_writer_init(&w);
        ec_genesis_encode(&w, &g);
        assert_int_equal(ec_writer_data(&w)[1], EC_GENESIS_VERSION_FEATURES);
        ec_genesis_t back;
        assert_int_equal(ec_genesis_decode(&back, ec_writer_data(&w), ec_writer_size(&w)), 0);
        assert_int_equal(back.features, EC_GENESIS_F_CONTRACTS);
        assert_int_equal(back.operator_quorum, 1);
        uint8_t h1[32], h2[32];
        ec_genesis_hash(h1, &g);
        g.features = 0;
        ec_genesis_hash(h2, &g);
        assert_memory_not_equal(h1, h2, 32); /* the flag is part of the chain's identity */
        /* Format 4 with no flag (a second encoding of format 2), or an unknown one. */
        size_t n = ec_writer_size(&w);
        uint8_t *bad = malloc(n);
        memcpy(bad, ec_writer_data(&w), n);
        bad[n - 1] = 0;
        assert_int_equal(ec_genesis_decode(&back, bad, n), EC_EINVAL);
        bad[n - 1] = 2;
        assert_int_equal(ec_genesis_decode(&back, bad, n), EC_EINVAL);
        free(bad);
        ec_writer_fini(&w);
    }
    g = s_main_genesis();
    g.operator_count = 2; /* duplicate operator */
    memcpy(g.operators[1], g.operators[0], 32);
    assert_int_equal(s_genesis_rt(&g), EC_EINVAL);
    g = s_main_genesis();
    g.validators.v[1].power = 0;
    assert_int_equal(s_genesis_rt(&g), EC_EINVAL);
    g = s_main_genesis();
    g.validators.v[1].power = EC_VALIDATOR_POWER_MAX + 1;
    assert_int_equal(s_genesis_rt(&g), EC_EINVAL);
    g = s_main_genesis();
    memcpy(g.validators.v[1].pk, g.validators.v[0].pk, 32); /* duplicate validator */
    assert_int_equal(s_genesis_rt(&g), EC_EINVAL);
    g = s_main_genesis();
    strcpy(g.chain_id, "Main");
    assert_int_equal(s_genesis_rt(&g), EC_EINVAL);
    g = s_main_genesis();
    g.kind = 3;
    assert_int_equal(s_genesis_rt(&g), EC_EINVAL);
    g.kind = 0;
    assert_int_equal(s_genesis_rt(&g), EC_EINVAL);

    g = s_side_genesis();
    assert_int_equal(s_genesis_rt(&g), 0);
    g.cert_type[0] = '\0';
    assert_int_equal(s_genesis_rt(&g), EC_EINVAL);
    g = s_side_genesis();
    strcpy(g.cert_type, "Degree");
    assert_int_equal(s_genesis_rt(&g), EC_EINVAL);
    g = s_side_genesis();
    g.main_chain_id[0] = '\0';
    assert_int_equal(s_genesis_rt(&g), EC_EINVAL);
    g = s_side_genesis();
    memset(g.main_genesis_hash, 0, 32);
    assert_int_equal(s_genesis_rt(&g), EC_EINVAL);
    g = s_side_genesis();
    g.main_validators.count = 0;
    assert_int_equal(s_genesis_rt(&g), EC_EINVAL);
    g = s_side_genesis();
    g.operator_count = 1;
    assert_int_equal(s_genesis_rt(&g), EC_EINVAL);
    g = s_side_genesis();
    g.operator_quorum = 2; /* format 3 on a side chain */
    assert_int_equal(s_genesis_rt(&g), EC_EINVAL);
    g = s_side_genesis();
    strcpy(g.main_chain_id, g.chain_id);
    assert_int_equal(s_genesis_rt(&g), EC_EINVAL);
    g = s_side_genesis();
    g.main_freshness_ms = 999; /* below a second: no relay could keep up */
    assert_int_equal(s_genesis_rt(&g), EC_EINVAL);
    g.main_freshness_ms = 1000;
    assert_int_equal(s_genesis_rt(&g), 0);
    g = s_main_genesis();
    g.main_freshness_ms = 1000; /* the main chain has no main chain to be fresh about */
    assert_int_equal(s_genesis_rt(&g), EC_EINVAL);

    /* Version and shape. */
    uint8_t bad[] = {0x9b, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    ec_genesis_t out;
    assert_int_equal(ec_genesis_decode(&out, bad, sizeof bad), EC_EVERSION);
    bad[1] = 0x01; /* version 1 had no main_freshness_ms: refused, not misread */
    assert_int_equal(ec_genesis_decode(&out, bad, sizeof bad), EC_EVERSION);
    uint8_t short_arr[] = {0x91, 0x02};
    assert_int_equal(ec_genesis_decode(&out, short_arr, 2), EC_EINVAL);
}

/* ---- anchor entries --------------------------------------------------------------------- */

static void test_anchor_entry(void **state)
{
    (void)state;
    ec_anchor_entry_t e, back;
    memset(&e, 0, sizeof e);
    strcpy(e.chain_id, "side-degree");
    e.height = 300;
    s_fill(e.header_hash, 32, 0x11);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_anchor_entry_encode(&w, &e);
    assert_int_equal(ec_anchor_entry_decode(&back, ec_writer_data(&w), ec_writer_size(&w)), 0);
    assert_memory_equal(&back, &e, sizeof e);
    uint8_t leaf[32], want[32];
    ec_anchor_entry_leaf(leaf, &e);
    ec_merkle_leaf(want, EC_LEAF_ANCHOR, ec_writer_data(&w), ec_writer_size(&w));
    assert_memory_equal(leaf, want, 32);
    /* Manually: 0x00 0x03 || encoding. */
    uint8_t msg[128];
    msg[0] = 0;
    msg[1] = 3;
    memcpy(msg + 2, ec_writer_data(&w), ec_writer_size(&w));
    ec_sha256(want, msg, 2 + ec_writer_size(&w));
    assert_memory_equal(leaf, want, 32);
    e.height = 0;
    ec_writer_reset(&w);
    ec_anchor_entry_encode(&w, &e);
    assert_int_equal(ec_anchor_entry_decode(&back, ec_writer_data(&w), ec_writer_size(&w)),
                     EC_EINVAL);
    ec_writer_fini(&w);
}

int main(void)
{
    if (ec_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_limits),
        cmocka_unit_test(test_tx_known_answer),
        cmocka_unit_test(test_tx_roundtrip),
        cmocka_unit_test(test_tx_rejects),
        cmocka_unit_test(test_tx_noncanonical_signed),
        cmocka_unit_test(test_header_known_answer),
        cmocka_unit_test(test_header_rejects),
        cmocka_unit_test(test_commit_quorum),
        cmocka_unit_test(test_commit_weighted),
        cmocka_unit_test(test_commit_rejects),
        cmocka_unit_test(test_commit_signer_order),
        cmocka_unit_test(test_vote_sign_bytes),
        cmocka_unit_test(test_vote_roundtrip),
        cmocka_unit_test(test_evidence),
        cmocka_unit_test(test_proposal_sign_bytes),
        cmocka_unit_test(test_tx_leaf),
        cmocka_unit_test(test_block_roundtrip),
        cmocka_unit_test(test_genesis),
        cmocka_unit_test(test_anchor_entry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
