/*
 * test_evidence.c - unit tests for common/ec_evidence.c. Batch trees against ec_merkle and
 * a leaf written out by hand; file hashing against ec_sha256 over files in a temporary
 * folder, with one and several threads and the first failure in path order; the bundle's
 * strict decoder. Then a complete evidence bundle is built from scratch, as test_bundle.c
 * builds its proof bundles: an EVIDENCE transaction in a side block that a main header,
 * committed by the main validator's key, anchors. It must verify, and fail with a message
 * naming the step after a changed file, a wrong path, a body of another count or type, a
 * refused deposit, an untrusted main set, and any single changed byte of the bundle.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ec_chain.h"
#include "ec_evidence.h"
#include "test_util.h"

#define S_SIDE "side-invoice"
#define S_MAIN "ecert-main"
#define S_FILES 13 /* files in the test batch: not a power of two                       */
#define S_INDEX 9  /* the file whose bundle is built                                    */

static int s_setup(void **state)
{
    (void)state;
    return ec_crypto_init() == 0 ? 0 : -1;
}

/* ---- batches ---------------------------------------------------------------------------- */

/* A leaf is SHA-256(0x00 || 0x08 || file_hash), written out by hand. */
static void test_leaf_known(void **state)
{
    (void)state;
    uint8_t file_hash[32], buf[34], want[32], got[32];
    ec_sha256(file_hash, "abc", 3);
    buf[0] = 0x00;
    buf[1] = 0x08;
    memcpy(buf + 2, file_hash, 32);
    ec_sha256(want, buf, sizeof buf);
    ec_evidence_leaf(got, file_hash);
    assert_memory_equal(got, want, 32);
    assert_int_equal(EC_LEAF_DEPOSIT, 0x08);
}

/* Every index of batches of 1..70 files has a path that ec_merkle accepts, of at most
 * EC_EVIDENCE_PATH_MAX steps; a batch of one has its leaf as root and no path. */
static void test_root_and_paths(void **state)
{
    (void)state;
    enum { N = 70 };
    ec_hash32_t files[N], leaves[N], want_leaves[N], path[EC_MERKLE_PROOF_MAX];
    for (uint32_t i = 0; i < N; i++)
        ec_sha256(files[i], &i, sizeof i);
    for (size_t n = 1; n <= N; n++) {
        uint8_t root[32], want[32];
        ec_evidence_root(root, leaves, (const ec_hash32_t *)files, n);
        for (size_t i = 0; i < n; i++)
            ec_merkle_leaf(want_leaves[i], EC_LEAF_DEPOSIT, files[i], 32);
        ec_merkle_root(want, (const ec_hash32_t *)want_leaves, n);
        assert_memory_equal(root, want, 32);
        assert_memory_equal(leaves, want_leaves, n * 32);
        for (size_t i = 0; i < n; i++) {
            size_t len = 99;
            assert_int_equal(ec_evidence_path(path, &len, (const ec_hash32_t *)leaves, n, i), 0);
            assert_true(len <= EC_EVIDENCE_PATH_MAX);
            assert_int_equal(
                ec_merkle_inclusion_verify(leaves[i], i, n, (const ec_hash32_t *)path, len, root),
                0);
        }
        size_t len = 99;
        assert_int_equal(ec_evidence_path(path, &len, (const ec_hash32_t *)leaves, n, n),
                         EC_EINVAL);
        assert_int_equal(len, 0);
        if (n == 1) {
            assert_memory_equal(root, leaves[0], 32);
            assert_int_equal(ec_evidence_path(path, &len, (const ec_hash32_t *)leaves, 1, 0), 0);
            assert_int_equal(len, 0);
        }
    }
    size_t len;
    assert_int_equal(ec_evidence_path(path, &len, (const ec_hash32_t *)leaves, 0, 0), EC_EINVAL);
    assert_int_equal(
        ec_evidence_path(path, &len, (const ec_hash32_t *)leaves, EC_EVIDENCE_BATCH_MAX + 1ull, 0),
        EC_EINVAL);
}

/* ---- hashing files ---------------------------------------------------------------------- */

static void s_write(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, size, f), size);
    assert_int_equal(fclose(f), 0);
}

/* Empty, small and multi-read files hash as ec_sha256 over their bytes; what is not a
 * regular file, or not there, is refused with its path in the message. */
static void test_hash_file(void **state)
{
    (void)state;
    char dir[64], path[128];
    tu_tmpdir_make(dir, sizeof dir, "test_evidence");
    const size_t sizes[] = {0, 1, 256, 65536, 65537, 200001};
    uint8_t *data = malloc(200001);
    assert_non_null(data);
    for (size_t i = 0; i < 200001; i++)
        data[i] = (uint8_t)(i * 31 + 7);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        snprintf(path, sizeof path, "%s/f%zu", dir, k);
        s_write(path, data, sizes[k]);
        uint8_t got[32], want[32];
        ec_status_t st = {0};
        assert_int_equal(ec_evidence_hash_file(got, path, &st), 0);
        ec_sha256(want, data, sizes[k]);
        assert_memory_equal(got, want, 32);
    }
    free(data);
    uint8_t h[32];
    ec_status_t st = {0};
    snprintf(path, sizeof path, "%s/none", dir);
    assert_int_equal(ec_evidence_hash_file(h, path, &st), EC_ENOTFOUND);
    assert_non_null(strstr(st.msg, "none"));
    assert_int_equal(ec_evidence_hash_file(h, dir, &st), EC_EIO);
    assert_non_null(strstr(st.msg, "not a regular file"));
    tu_tmpdir_remove(dir);
}

/* Many files, hashed by 1, 2 and 4 threads, give the same hashes in path order; with two
 * files missing, the first one in path order is reported whatever thread met it. */
static void test_hash_files(void **state)
{
    (void)state;
    enum { N = 300 };
    char dir[64];
    tu_tmpdir_make(dir, sizeof dir, "test_evidence");
    char *paths[N];
    ec_hash32_t want[N], got[N];
    for (uint32_t i = 0; i < N; i++) {
        paths[i] = malloc(128);
        assert_non_null(paths[i]);
        snprintf(paths[i], 128, "%s/file-%03u", dir, i);
        uint8_t data[256];
        memset(data, (int)i, sizeof data);
        s_write(paths[i], data, i % 2 ? sizeof data : i % 256);
        ec_sha256(want[i], data, i % 2 ? sizeof data : i % 256);
    }
    const unsigned threads[] = {1, 2, 4};
    for (size_t t = 0; t < 3; t++) {
        memset(got, 0, sizeof got);
        size_t failed = 99;
        ec_status_t st = {0};
        assert_int_equal(
            ec_evidence_hash_files(got, (const char *const *)paths, N, threads[t], &failed, &st),
            0);
        assert_memory_equal(got, want, sizeof want);
        assert_int_equal(failed, 0);
    }
    /* Two missing files: 70 (in the second run of 64) and 250. */
    assert_int_equal(remove(paths[250]), 0);
    assert_int_equal(remove(paths[70]), 0);
    for (size_t t = 0; t < 3; t++) {
        size_t failed = 0;
        ec_status_t st = {0};
        assert_int_equal(
            ec_evidence_hash_files(got, (const char *const *)paths, N, threads[t], &failed, &st),
            EC_ENOTFOUND);
        assert_int_equal(failed, 70);
        assert_non_null(strstr(st.msg, "file-070"));
    }
    for (uint32_t i = 0; i < N; i++)
        free(paths[i]);
    tu_tmpdir_remove(dir);
}

/* ---- a complete bundle -------------------------------------------------------------------- */

typedef struct {
    ec_key_t *main_key, *depositor;
    ec_valset_t main_vs;
    ec_hash32_t files[S_FILES], leaves[S_FILES];
    uint8_t root[32];
    ec_writer_t tx;
    uint8_t tx_id[32];
    ec_hash32_t tx_leaves[2];
    ec_hash32_t tx_path[EC_MERKLE_PROOF_MAX];
    size_t tx_path_len;
    uint8_t side_bytes[512], main_bytes[512], commit_bytes[4096];
    size_t side_size, main_size, commit_size;
    ec_writer_t tx_bundle;  /* the EVIDENCE's proof bundle                          */
    ec_evidence_bundle_t b; /* the evidence bundle of file S_INDEX                  */
    ec_writer_t bundle;     /* its encoding                                          */
} s_fix_t;

/* What a fixture varies: the transaction's type, the count its body says, its result. */
typedef struct {
    uint64_t type;
    uint64_t body_count;
    int32_t code;
} s_opts_t;

static size_t s_header_bytes(uint8_t *out, const ec_header_t *h)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_header_encode(&w, h);
    size_t n = ec_writer_size(&w);
    assert_true(n <= 512);
    memcpy(out, ec_writer_data(&w), n);
    ec_writer_fini(&w);
    return n;
}

/* The deposit transaction (index 1 of side block 3, after another one) and the side header. */
static void s_build_side(s_fix_t *f, const s_opts_t *o)
{
    ec_writer_t body;
    ec_writer_init(&body);
    ec_evidence_body_t eb = {.count = o->body_count};
    memcpy(eb.root, f->root, 32);
    snprintf(eb.note, sizeof eb.note, "contract 2026-17");
    eb.note_len = strlen(eb.note);
    if (o->type == EC_STX_EVIDENCE) {
        ec_evidence_body_encode(&body, &eb);
    } else {
        ec_ack_body_t ack;
        memcpy(ack.cert_id, f->root, 32);
        ec_ack_body_encode(&body, &ack);
    }
    ec_writer_init(&f->tx);
    ec_tx_build(&f->tx, f->tx_id, S_SIDE, o->type, f->depositor, 77, NULL, ec_writer_data(&body),
                ec_writer_size(&body));
    ec_writer_fini(&body);
    uint8_t other[32];
    memset(other, 0x5a, sizeof other);
    ec_tx_result_t r0 = {0, 0, 0}, r1 = {o->code, 0, 0};
    ec_tx_leaf(f->tx_leaves[0], other, &r0);
    ec_tx_leaf(f->tx_leaves[1], f->tx_id, &r1);
    ec_merkle_mem_t mem = {.leaves = (const ec_hash32_t *)f->tx_leaves, .count = 2};
    assert_int_equal(
        ec_merkle_inclusion_proof(f->tx_path, &f->tx_path_len, ec_merkle_mem_oracle, &mem, 1, 2),
        0);
    ec_header_t h;
    memset(&h, 0, sizeof h);
    strcpy(h.chain_id, S_SIDE);
    h.height = 3;
    h.time_ms = 1763700000123ull;
    memset(h.prev_hash, 0x11, 32);
    ec_merkle_root(h.tx_root, (const ec_hash32_t *)f->tx_leaves, 2);
    h.tx_count = 2;
    memset(h.state_root, 0x22, 32);
    memset(h.hist_root, 0x33, 32);
    ec_merkle_root(h.xanchor_root, NULL, 0);
    f->side_size = s_header_bytes(f->side_bytes, &h);
}

/* Main block 9 anchors side block 3 (its only anchor entry), committed by the one main
 * validator. */
static void s_build_main(s_fix_t *f)
{
    ec_anchor_entry_t e;
    memset(&e, 0, sizeof e);
    strcpy(e.chain_id, S_SIDE);
    e.height = 3;
    ec_sha256(e.header_hash, f->side_bytes, f->side_size);
    ec_hash32_t leaf;
    ec_anchor_entry_leaf(leaf, &e);
    ec_header_t m;
    memset(&m, 0, sizeof m);
    strcpy(m.chain_id, S_MAIN);
    m.height = 9;
    m.time_ms = 1763700001000ull;
    memset(m.prev_hash, 0x44, 32);
    m.tx_count = 1;
    memset(m.tx_root, 0x45, 32);
    memset(m.state_root, 0x46, 32);
    memset(m.hist_root, 0x47, 32);
    memcpy(m.xanchor_root, leaf, 32);
    m.xanchor_count = 1;
    ec_valset_hash(m.valset_hash, &f->main_vs);
    memcpy(m.next_valset_hash, m.valset_hash, 32);
    ec_merkle_root(m.evidence_root, NULL, 0);
    f->main_size = s_header_bytes(f->main_bytes, &m);
    ec_commit_t c;
    memset(&c, 0, sizeof c);
    c.height = 9;
    c.round = 0;
    ec_sha256(c.block_hash, f->main_bytes, f->main_size);
    ec_commit_sign(&c, S_MAIN, 0, f->main_key);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_commit_encode(&w, &c);
    f->commit_size = ec_writer_size(&w);
    assert_true(f->commit_size <= sizeof f->commit_bytes);
    memcpy(f->commit_bytes, ec_writer_data(&w), f->commit_size);
    ec_writer_fini(&w);
}

/* The tx bundle, then the evidence bundle of file S_INDEX (in f->b and f->bundle). */
static void s_build_bundles(s_fix_t *f, const s_opts_t *o)
{
    ec_bundle_parts_t p = {
        .side_chain_id = S_SIDE,
        .tx = ec_writer_data(&f->tx),
        .tx_size = ec_writer_size(&f->tx),
        .tx_index = 1,
        .result = {o->code, 0, 0},
        .tx_path = f->tx_path,
        .tx_path_len = f->tx_path_len,
        .side_header = f->side_bytes,
        .side_header_size = f->side_size,
        .main_header = f->main_bytes,
        .main_header_size = f->main_size,
        .main_commit = f->commit_bytes,
        .main_commit_size = f->commit_size,
    };
    ec_writer_init(&f->tx_bundle);
    ec_bundle_encode(&f->tx_bundle, &p);
    f->b.index = S_INDEX;
    f->b.count = S_FILES;
    memcpy(f->b.file_hash, f->files[S_INDEX], 32);
    assert_int_equal(ec_evidence_path(f->b.path, &f->b.path_len, (const ec_hash32_t *)f->leaves,
                                      S_FILES, S_INDEX),
                     0);
    f->b.tx_bundle = ec_writer_data(&f->tx_bundle);
    f->b.tx_bundle_size = ec_writer_size(&f->tx_bundle);
    ec_writer_init(&f->bundle);
    ec_evidence_bundle_encode(&f->bundle, &f->b);
}

static s_fix_t *s_fix_new(const s_opts_t *o)
{
    s_fix_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->main_key = tu_key(0x90);
    f->depositor = tu_key(0x21);
    f->main_vs.count = 1;
    memcpy(f->main_vs.v[0].pk, ec_key_pk(f->main_key), 32);
    f->main_vs.v[0].power = 1;
    for (uint32_t i = 0; i < S_FILES; i++) {
        char text[32];
        snprintf(text, sizeof text, "invoice %u", i);
        ec_sha256(f->files[i], text, strlen(text));
    }
    ec_evidence_root(f->root, f->leaves, (const ec_hash32_t *)f->files, S_FILES);
    s_build_side(f, o);
    s_build_main(f);
    s_build_bundles(f, o);
    return f;
}

static void s_fix_free(s_fix_t *f)
{
    ec_key_destroy(&f->main_key);
    ec_key_destroy(&f->depositor);
    ec_writer_fini(&f->tx);
    ec_writer_fini(&f->tx_bundle);
    ec_writer_fini(&f->bundle);
    free(f);
}

static const s_opts_t s_good = {EC_STX_EVIDENCE, S_FILES, 0};

static int s_verify_bytes(const s_fix_t *f, const uint8_t *data, size_t size,
                          const uint8_t file_hash[32], ec_evidence_info_t *info, ec_status_t *st)
{
    return ec_evidence_verify(data, size, file_hash, S_MAIN, &f->main_vs, info, st);
}

static int s_verify(const s_fix_t *f, const uint8_t file_hash[32], ec_evidence_info_t *info,
                    ec_status_t *st)
{
    return s_verify_bytes(f, ec_writer_data(&f->bundle), ec_writer_size(&f->bundle), file_hash,
                          info, st);
}

/* The real bundle verifies and says who deposited what, when, where. */
static void test_verify_valid(void **state)
{
    (void)state;
    s_fix_t *f = s_fix_new(&s_good);
    ec_evidence_info_t info;
    ec_status_t st = {0};
    int rc = s_verify(f, f->files[S_INDEX], &info, &st);
    if (rc)
        fail_msg("%s", st.msg);
    assert_memory_equal(info.file_hash, f->files[S_INDEX], 32);
    assert_memory_equal(info.root, f->root, 32);
    assert_int_equal(info.index, S_INDEX);
    assert_int_equal(info.count, S_FILES);
    assert_memory_equal(info.tx_id, f->tx_id, 32);
    assert_memory_equal(info.depositor_pk, ec_key_pk(f->depositor), 32);
    char addr[EC_ADDR_MAX];
    ec_address_from_pk(addr, ec_key_pk(f->depositor));
    assert_string_equal(info.depositor, addr);
    assert_int_equal(info.time_ms, 1763700000123ull);
    assert_string_equal(info.side_chain_id, S_SIDE);
    assert_int_equal(info.side_height, 3);
    assert_int_equal(info.anchored_height, 3);
    assert_string_equal(info.main_chain_id, S_MAIN);
    assert_int_equal(info.main_height, 9);
    assert_string_equal(info.note, "contract 2026-17");
    assert_int_equal(info.note_len, 16);

    /* The decoder gives back exactly the encoder's fields and bytes. */
    ec_evidence_bundle_t b;
    assert_int_equal(
        ec_evidence_bundle_decode(&b, ec_writer_data(&f->bundle), ec_writer_size(&f->bundle)), 0);
    assert_memory_equal(b.file_hash, f->b.file_hash, 32);
    assert_int_equal(b.index, S_INDEX);
    assert_int_equal(b.count, S_FILES);
    assert_int_equal(b.path_len, f->b.path_len);
    assert_memory_equal(b.path, f->b.path, b.path_len * 32);
    assert_int_equal(b.tx_bundle_size, f->b.tx_bundle_size);
    ec_writer_t again;
    ec_writer_init(&again);
    ec_evidence_bundle_encode(&again, &b);
    assert_int_equal(ec_writer_size(&again), ec_writer_size(&f->bundle));
    assert_memory_equal(ec_writer_data(&again), ec_writer_data(&f->bundle), ec_writer_size(&again));
    ec_writer_fini(&again);
    s_fix_free(f);
}

/* Expects verification of data to fail with `code` and a message holding `text`. */
static void s_expect(const s_fix_t *f, const uint8_t *data, size_t size, const uint8_t *file_hash,
                     int code, const char *text)
{
    ec_evidence_info_t info;
    ec_status_t st = {0};
    int rc = s_verify_bytes(f, data, size, file_hash, &info, &st);
    if (rc != code || !strstr(st.msg, text))
        fail_msg("got %d '%s', want %d '%s'", rc, st.msg, code, text);
    ec_evidence_info_t zero;
    memset(&zero, 0, sizeof zero);
    assert_memory_equal(&info, &zero, sizeof info);
}

/* Re-encodes f->b with one field changed by `change`, and expects a refusal when checked
 * with the file hash the changed bundle names (so the later steps are the ones tested). */
static void s_expect_changed(s_fix_t *f, void (*change)(ec_evidence_bundle_t *), int code,
                             const char *text)
{
    ec_evidence_bundle_t b = f->b;
    change(&b);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_evidence_bundle_encode(&w, &b);
    s_expect(f, ec_writer_data(&w), ec_writer_size(&w), b.file_hash, code, text);
    ec_writer_fini(&w);
}

static void s_other_file(ec_evidence_bundle_t *b)
{
    memcpy(b->file_hash, "0123456789abcdef0123456789abcdef", 32);
}

static void s_swap_path(ec_evidence_bundle_t *b)
{
    b->path[0][0] ^= 1;
}

/* Index 9 of 13 has a path of 4 steps; index 10 too: a valid shape, the wrong leaf place. */
static void s_other_index(ec_evidence_bundle_t *b)
{
    b->index = 10;
}

static void s_other_count(ec_evidence_bundle_t *b)
{
    b->count = 14; /* index 9 of 14: a path of 4 steps too */
}

/* Each step of the chain of proofs refuses what it does not prove, and says which. */
static void test_verify_steps(void **state)
{
    (void)state;
    s_fix_t *f = s_fix_new(&s_good);
    const uint8_t *data = ec_writer_data(&f->bundle);
    size_t size = ec_writer_size(&f->bundle);

    /* A changed file: another hash than the bundle's. */
    uint8_t changed[32];
    memcpy(changed, f->files[S_INDEX], 32);
    changed[31] ^= 0x80;
    s_expect(f, data, size, changed, EC_EPROOF, "file: its SHA-256");
    /* Another file of the same batch, with this file's bundle. */
    s_expect(f, data, size, f->files[S_INDEX - 1], EC_EPROOF, "file: its SHA-256");
    /* A bundle made for another file: its hash is in no batch this root covers. */
    s_expect_changed(f, s_other_file, EC_EPROOF, "path:");
    s_expect_changed(f, s_swap_path, EC_EPROOF, "path:");
    s_expect_changed(f, s_other_index, EC_EPROOF, "path:");
    s_expect_changed(f, s_other_count, EC_EPROOF, "count:");
    /* Another main chain, another main validator set. */
    ec_evidence_info_t info;
    ec_status_t st = {0};
    assert_int_equal(
        ec_evidence_verify(data, size, f->files[S_INDEX], "other-main", &f->main_vs, &info, &st),
        EC_ECHAIN);
    assert_non_null(strstr(st.msg, "tx bundle:"));
    ec_valset_t vs = f->main_vs;
    vs.v[0].pk[0] ^= 1;
    assert_int_equal(ec_evidence_verify(data, size, f->files[S_INDEX], S_MAIN, &vs, &info, &st),
                     EC_ESIG);
    assert_non_null(strstr(st.msg, "tx bundle:"));
    /* Not a bundle at all. */
    s_expect(f, (const uint8_t *)"\x90", 1, f->files[S_INDEX], EC_EINVAL, "malformed");
    s_fix_free(f);

    /* The deposit's body names another count than the batch's. */
    s_opts_t o = s_good;
    o.body_count = S_FILES + 1;
    f = s_fix_new(&o);
    s_expect(f, ec_writer_data(&f->bundle), ec_writer_size(&f->bundle), f->files[S_INDEX],
             EC_EPROOF, "count: the bundle says 13 files, the deposit 14");
    s_fix_free(f);
    /* A transaction of another type. */
    o = s_good;
    o.type = EC_STX_ACK;
    f = s_fix_new(&o);
    s_expect(f, ec_writer_data(&f->bundle), ec_writer_size(&f->bundle), f->files[S_INDEX],
             EC_EPROOF, "not an EVIDENCE");
    s_fix_free(f);
    /* A deposit the side chain refused (a root deposited before): proven, but refused. */
    o = s_good;
    o.code = EC_EEXIST;
    f = s_fix_new(&o);
    s_expect(f, ec_writer_data(&f->bundle), ec_writer_size(&f->bundle), f->files[S_INDEX],
             EC_EPROOF, "refused the deposit (EEXIST)");
    s_fix_free(f);
}

/* Any single changed byte of the bundle fails verification. */
static void test_verify_every_byte(void **state)
{
    (void)state;
    s_fix_t *f = s_fix_new(&s_good);
    size_t size = ec_writer_size(&f->bundle);
    uint8_t *copy = malloc(size);
    assert_non_null(copy);
    for (size_t i = 0; i < size; i++) {
        memcpy(copy, ec_writer_data(&f->bundle), size);
        copy[i] ^= 0x01;
        ec_evidence_info_t info;
        ec_status_t st = {0};
        if (s_verify_bytes(f, copy, size, f->files[S_INDEX], &info, &st) == 0)
            fail_msg("byte %zu of %zu changed, and the bundle still verifies", i, size);
        assert_true(st.msg[0] != '\0');
    }
    free(copy);
    s_fix_free(f);
}

/* ---- the decoder's rules ---------------------------------------------------------------- */

/* Writes a bundle field by field, for shapes the encoder never makes. */
static void s_write_raw(ec_writer_t *w, uint32_t fields, uint64_t version, size_t hash_size,
                        uint64_t index, uint64_t count, size_t path_len, size_t tx_size)
{
    uint8_t h[33] = {0}, tx[16] = {1};
    ec_writer_reset(w);
    ec_write_array(w, fields);
    ec_write_uint(w, version);
    ec_write_bin(w, h, hash_size);
    ec_write_uint(w, index);
    ec_write_uint(w, count);
    ec_write_array(w, (uint32_t)path_len);
    for (size_t i = 0; i < path_len; i++)
        ec_write_bin(w, h, 32);
    ec_write_bin(w, tx, tx_size);
}

static void s_decode_is(const ec_writer_t *w, int want)
{
    ec_evidence_bundle_t b;
    memset(&b, 0xaa, sizeof b);
    assert_int_equal(ec_evidence_bundle_decode(&b, ec_writer_data(w), ec_writer_size(w)), want);
    if (want != 0) {
        ec_evidence_bundle_t zero;
        memset(&zero, 0, sizeof zero);
        assert_memory_equal(&b, &zero, sizeof b);
    }
}

static void test_decode_strict(void **state)
{
    (void)state;
    ec_writer_t w;
    ec_writer_init(&w);
    s_write_raw(&w, 6, 1, 32, 9, 13, 4, 16);
    s_decode_is(&w, 0); /* the shape is right (the proofs are not checked here) */
    s_write_raw(&w, 6, 1, 32, 0, 1, 0, 16);
    s_decode_is(&w, 0); /* a batch of one: no path */
    s_write_raw(&w, 6, 2, 32, 9, 13, 4, 16);
    s_decode_is(&w, EC_EVERSION);
    s_write_raw(&w, 6, 0, 32, 9, 13, 4, 16);
    s_decode_is(&w, EC_EVERSION);
    s_write_raw(&w, 5, 1, 32, 9, 13, 4, 16);
    s_decode_is(&w, EC_EINVAL); /* an array of 5, then a stray element */
    s_write_raw(&w, 6, 1, 31, 9, 13, 4, 16);
    s_decode_is(&w, EC_EINVAL); /* file hash of 31 bytes */
    s_write_raw(&w, 6, 1, 33, 9, 13, 4, 16);
    s_decode_is(&w, EC_EINVAL);
    s_write_raw(&w, 6, 1, 32, 13, 13, 4, 16);
    s_decode_is(&w, EC_EINVAL); /* index == count */
    s_write_raw(&w, 6, 1, 32, 0, 0, 0, 16);
    s_decode_is(&w, EC_EINVAL); /* an empty batch */
    s_write_raw(&w, 6, 1, 32, 0, EC_EVIDENCE_BATCH_MAX + 1ull, 21, 16);
    s_decode_is(&w, EC_EINVAL); /* a batch above the limit */
    s_write_raw(&w, 6, 1, 32, 9, 13, 5, 16);
    s_decode_is(&w, EC_EINVAL); /* a path one step too long for 9 of 13 */
    s_write_raw(&w, 6, 1, 32, 9, 13, 3, 16);
    s_decode_is(&w, EC_EINVAL); /* one step short */
    s_write_raw(&w, 6, 1, 32, 12, 13, 2, 16);
    s_decode_is(&w, 0); /* the last of 13 leaves sits two steps below the root */
    s_write_raw(&w, 6, 1, 32, 0, 1, 0, 0);
    s_decode_is(&w, EC_EINVAL); /* no tx bundle */
    s_write_raw(&w, 6, 1, 32, 0, 1, 0, 16);
    ec_write_nil(&w);
    s_decode_is(&w, EC_EINVAL); /* a trailing byte */
    /* A non-canonical count (uint16 for 13). */
    s_write_raw(&w, 6, 1, 32, 9, 13, 4, 16);
    uint8_t *copy = malloc(ec_writer_size(&w) + 2);
    assert_non_null(copy);
    size_t at = 1 + 1 + 2 + 32 + 1; /* array, version, bin header + hash, index */
    assert_int_equal(ec_writer_data(&w)[at], 13);
    memcpy(copy, ec_writer_data(&w), at);
    copy[at] = 0xcd;
    copy[at + 1] = 0;
    copy[at + 2] = 13;
    memcpy(copy + at + 3, ec_writer_data(&w) + at + 1, ec_writer_size(&w) - at - 1);
    ec_evidence_bundle_t b;
    assert_int_equal(ec_evidence_bundle_decode(&b, copy, ec_writer_size(&w) + 2), EC_EINVAL);
    free(copy);
    /* Above the size limit, before any parsing. */
    static uint8_t big[EC_EVIDENCE_BYTES_MAX + 1];
    assert_int_equal(ec_evidence_bundle_decode(&b, big, sizeof big), EC_ETOOBIG);
    ec_writer_fini(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leaf_known),        cmocka_unit_test(test_root_and_paths),
        cmocka_unit_test(test_hash_file),         cmocka_unit_test(test_hash_files),
        cmocka_unit_test(test_verify_valid),      cmocka_unit_test(test_verify_steps),
        cmocka_unit_test(test_verify_every_byte), cmocka_unit_test(test_decode_strict),
    };
    return cmocka_run_group_tests(tests, s_setup, NULL);
}
