/*
 * test_merkle.c - RFC 9162 Merkle trees (common/ec_merkle.c).
 *
 * Three kinds of evidence: the RFC 6962 / Certificate Transparency known answers (roots of
 * the 8-leaf reference tree, one inclusion and one consistency proof); an exhaustive
 * comparison with a small recursive reference written straight from RFC 9162 section 2.1
 * (MTH, PATH, SUBPROOF) for every size 1..70, every index and every (old, new) pair;
 * rejection of every single-element mutation, wrong lengths, indexes and sizes; and paths
 * of the wrong length made of genuine hashes, which only the length check can refuse.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "ec_merkle.h"

#define N_MAX 70

/* ---- reference implementation (RFC 9162 2.1, recursive, straight from the text) --------- */

static void r_node(uint8_t out[32], const uint8_t l[32], const uint8_t r[32])
{
    crypto_hash_sha256_state st;
    const uint8_t one = 1;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, &one, 1);
    crypto_hash_sha256_update(&st, l, 32);
    crypto_hash_sha256_update(&st, r, 32);
    crypto_hash_sha256_final(&st, out);
}

static size_t r_k(size_t n)
{
    size_t k = 1;
    while (2 * k < n)
        k *= 2;
    return k;
}

static void r_mth(uint8_t out[32], const ec_hash32_t *d, size_t n)
{
    if (n == 0) {
        crypto_hash_sha256(out, NULL, 0);
    } else if (n == 1) {
        memcpy(out, d[0], 32);
    } else {
        uint8_t l[32], r[32];
        size_t k = r_k(n);
        r_mth(l, d, k);
        r_mth(r, d + k, n - k);
        r_node(out, l, r);
    }
}

/* PATH(m, D[n]) appended to out[*len...] */
static void r_path(ec_hash32_t *out, size_t *len, size_t m, const ec_hash32_t *d, size_t n)
{
    if (n == 1)
        return;
    size_t k = r_k(n);
    if (m < k) {
        r_path(out, len, m, d, k);
        r_mth(out[(*len)++], d + k, n - k);
    } else {
        r_path(out, len, m - k, d + k, n - k);
        r_mth(out[(*len)++], d, k);
    }
}

/* SUBPROOF(m, D[n], b) */
static void r_subproof(ec_hash32_t *out, size_t *len, size_t m, const ec_hash32_t *d, size_t n,
                       bool b)
{
    if (m == n) {
        if (!b)
            r_mth(out[(*len)++], d, n);
        return;
    }
    size_t k = r_k(n);
    if (m <= k) {
        r_subproof(out, len, m, d, k, b);
        r_mth(out[(*len)++], d + k, n - k);
    } else {
        r_subproof(out, len, m - k, d + k, n - k, false);
        r_mth(out[(*len)++], d, k);
    }
}

/* ---- fixtures --------------------------------------------------------------------------- */

static ec_hash32_t s_leaves[N_MAX];

static int s_setup(void **state)
{
    (void)state;
    if (ec_crypto_init() != 0)
        return -1;
    for (size_t i = 0; i < N_MAX; i++) {
        uint8_t data[8] = {(uint8_t)i, (uint8_t)(i * 7), 0xee};
        ec_merkle_leaf(s_leaves[i], EC_LEAF_TX, data, sizeof data);
    }
    return 0;
}

static void s_hex32(uint8_t out[32], const char *hex)
{
    assert_int_equal(ec_unhex(out, 32, hex), 0);
}

/* ---- known answers ---------------------------------------------------------------------- */

static void test_leaf_and_empty(void **state)
{
    (void)state;
    uint8_t h[32], want[32];
    ec_merkle_root(h, NULL, 0);
    s_hex32(want, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_memory_equal(h, want, 32);
    /* SHA-256(00 01 "abc"), computed with Python's hashlib */
    ec_merkle_leaf(h, EC_LEAF_TX, "abc", 3);
    s_hex32(want, "c038ae3bc0bc351d1a67b5446f000f21df05e24bdfd434e905afd2c3eaf801e4");
    assert_memory_equal(h, want, 32);
    /* the tag matters */
    ec_merkle_leaf(want, EC_LEAF_BLOCK, "abc", 3);
    assert_memory_not_equal(h, want, 32);
    /* node = SHA-256(01 || l || r): check against the reference */
    uint8_t l[32], r[32], ref[32];
    memset(l, 1, 32);
    memset(r, 2, 32);
    ec_merkle_node(h, l, r);
    r_node(ref, l, r);
    assert_memory_equal(h, ref, 32);
}

/* The RFC 6962 reference tree used by Certificate Transparency implementations: leaf hash
 * = SHA-256(00 || data) without ecert's tag byte, which ec_merkle_root does not care about
 * because it takes leaf hashes. */
static const char *const s_ct_roots[8] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static void s_ct_leaves(ec_hash32_t leaves[8])
{
    static const struct {
        const char *data;
        size_t len;
    } in[8] = {{"", 0},
               {"\x00", 1},
               {"\x10", 1},
               {"\x20\x21", 2},
               {"\x30\x31", 2},
               {"\x40\x41\x42\x43", 4},
               {"\x50\x51\x52\x53\x54\x55\x56\x57", 8},
               {"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f", 16}};
    for (int i = 0; i < 8; i++) {
        uint8_t buf[17] = {0};
        memcpy(buf + 1, in[i].data, in[i].len);
        ec_sha256(leaves[i], buf, in[i].len + 1);
    }
}

static void test_ct_vectors(void **state)
{
    (void)state;
    ec_hash32_t leaves[8];
    s_ct_leaves(leaves);
    uint8_t root[32], want[32];
    for (size_t n = 1; n <= 8; n++) {
        ec_merkle_root(root, leaves, n);
        s_hex32(want, s_ct_roots[n - 1]);
        assert_memory_equal(root, want, 32);
    }
    ec_merkle_mem_t mem = {leaves, 8};
    ec_hash32_t path[EC_MERKLE_PROOF_MAX];
    size_t len;
    /* inclusion of leaf 0 in the 8-leaf tree */
    assert_int_equal(ec_merkle_inclusion_proof(path, &len, ec_merkle_mem_oracle, &mem, 0, 8), 0);
    assert_int_equal(len, 3);
    static const char *const incl[3] = {
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"};
    for (int i = 0; i < 3; i++) {
        s_hex32(want, incl[i]);
        assert_memory_equal(path[i], want, 32);
    }
    /* consistency 6 -> 8 */
    assert_int_equal(ec_merkle_consistency_proof(path, &len, ec_merkle_mem_oracle, &mem, 6, 8), 0);
    assert_int_equal(len, 3);
    static const char *const cons[3] = {
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"};
    for (int i = 0; i < 3; i++) {
        s_hex32(want, cons[i]);
        assert_memory_equal(path[i], want, 32);
    }
    uint8_t old_root[32], new_root[32];
    s_hex32(old_root, s_ct_roots[5]);
    s_hex32(new_root, s_ct_roots[7]);
    assert_int_equal(ec_merkle_consistency_verify(6, 8, old_root, new_root, path, len), 0);
}

/* ---- exhaustive against the reference --------------------------------------------------- */

static void test_roots(void **state)
{
    (void)state;
    for (size_t n = 0; n <= N_MAX; n++) {
        uint8_t a[32], b[32];
        ec_merkle_root(a, s_leaves, n);
        r_mth(b, s_leaves, n);
        assert_memory_equal(a, b, 32);
        /* the oracle over any sub-range agrees too */
        ec_merkle_mem_t mem = {s_leaves, N_MAX};
        for (size_t begin = 0; begin + n <= N_MAX; begin += 13) {
            assert_int_equal(ec_merkle_mem_oracle(&mem, begin, begin + n, a), 0);
            r_mth(b, s_leaves + begin, n);
            assert_memory_equal(a, b, 32);
        }
    }
    ec_merkle_mem_t mem = {s_leaves, 5};
    uint8_t out[32];
    assert_int_equal(ec_merkle_mem_oracle(&mem, 0, 6, out), EC_EINVAL);
    assert_int_equal(ec_merkle_mem_oracle(&mem, 3, 2, out), EC_EINVAL);
}

static void test_inclusion_exhaustive(void **state)
{
    (void)state;
    ec_hash32_t path[EC_MERKLE_PROOF_MAX], ref[EC_MERKLE_PROOF_MAX + 1];
    for (size_t n = 1; n <= N_MAX; n++) {
        ec_merkle_mem_t mem = {s_leaves, n};
        uint8_t root[32];
        r_mth(root, s_leaves, n);
        for (size_t m = 0; m < n; m++) {
            size_t len = 99, rlen = 0;
            assert_int_equal(
                ec_merkle_inclusion_proof(path, &len, ec_merkle_mem_oracle, &mem, m, n), 0);
            r_path(ref, &rlen, m, s_leaves, n);
            assert_int_equal(len, rlen);
            assert_memory_equal(path, ref, len * 32);
            assert_int_equal(ec_merkle_inclusion_verify(s_leaves[m], m, n, path, len, root), 0);

            /* every mutated path element */
            for (size_t i = 0; i < len; i++) {
                path[i][i % 32] ^= 0x01;
                assert_int_equal(ec_merkle_inclusion_verify(s_leaves[m], m, n, path, len, root),
                                 EC_EPROOF);
                path[i][i % 32] ^= 0x01;
            }
            /* wrong leaf, root, index, size */
            assert_int_equal(
                ec_merkle_inclusion_verify(s_leaves[(m + 1) % N_MAX], m, n, path, len, root),
                EC_EPROOF);
            uint8_t bad_root[32];
            memcpy(bad_root, root, 32);
            bad_root[31] ^= 0x80;
            assert_int_equal(ec_merkle_inclusion_verify(s_leaves[m], m, n, path, len, bad_root),
                             EC_EPROOF);
            if (n > 1)
                assert_int_equal(
                    ec_merkle_inclusion_verify(s_leaves[m], (m + 1) % n, n, path, len, root),
                    EC_EPROOF);
            /* (A wrong size with the right root is not detectable when the path has the same
             * shape, e.g. leaf 0 of 5 and of 6: the size is authenticated by the root, which
             * is always signed together with it.) */
            assert_int_equal(ec_merkle_inclusion_verify(s_leaves[m], n, n, path, len, root),
                             EC_EPROOF);
            /* proof one short, one long */
            if (len > 0)
                assert_int_equal(ec_merkle_inclusion_verify(s_leaves[m], m, n, path, len - 1, root),
                                 EC_EPROOF);
            memcpy(path[len], root, 32);
            assert_int_equal(ec_merkle_inclusion_verify(s_leaves[m], m, n, path, len + 1, root),
                             EC_EPROOF);
        }
        size_t len;
        assert_int_equal(ec_merkle_inclusion_proof(path, &len, ec_merkle_mem_oracle, &mem, n, n),
                         EC_EINVAL);
    }
    /* size 0 and an oversized path length */
    uint8_t root[32];
    r_mth(root, s_leaves, 1);
    assert_int_equal(ec_merkle_inclusion_verify(s_leaves[0], 0, 0, path, 0, root), EC_EPROOF);
    assert_int_equal(ec_merkle_inclusion_verify(s_leaves[0], 0, 1, path, 0, root), 0);
    assert_int_equal(
        ec_merkle_inclusion_verify(s_leaves[0], 0, 1, path, EC_MERKLE_PROOF_MAX + 1, root),
        EC_EPROOF);
}

/*
 * Paths one element too long or too short whose hashes are all genuine, so that they hash
 * to the right root: only the length check can refuse them. The verifier takes a leaf hash
 * as given, and cannot tell it from an interior node of the tree (typed leaves keep ecert's
 * own leaves apart from nodes, but that is the caller's doing); the tree size fixes how
 * many steps lead from a leaf to the root (RFC 9162 section 2.1.3.2), and a proof with
 * another number of steps proves nothing about the leaf at `index`.
 *
 *            R                      R = node(N_AB, N_CD), a tree of 4 leaves A B C D
 *        /       \                  whose leaf C is itself node(E, F)
 *     N_AB       N_CD
 *     /  \      /    \
 *    A    B    C      D
 *             / \
 *            E   F
 */
static void test_inclusion_length_only(void **state)
{
    (void)state;
    ec_hash32_t t[4];
    uint8_t e[32], f[32], n_ab[32], n_cd[32], root[32];
    memcpy(e, s_leaves[10], 32);
    memcpy(f, s_leaves[11], 32);
    memcpy(t[0], s_leaves[0], 32);
    memcpy(t[1], s_leaves[1], 32);
    r_node(t[2], e, f);
    memcpy(t[3], s_leaves[3], 32);
    r_node(n_ab, t[0], t[1]);
    r_node(n_cd, t[2], t[3]);
    r_mth(root, t, 4);
    ec_hash32_t path[3];

    /* The genuine proof of leaf C: [D, N_AB]. */
    memcpy(path[0], t[3], 32);
    memcpy(path[1], n_ab, 32);
    assert_int_equal(ec_merkle_inclusion_verify(t[2], 2, 4, path, 2, root), 0);

    /* One too long: E "at index 0" with [F, D, N_AB] hashes to node(E, F) = C, then to
     * N_CD, then (the extra step) to node(N_AB, N_CD) = R. Size 4 allows two steps. */
    memcpy(path[0], f, 32);
    memcpy(path[1], t[3], 32);
    memcpy(path[2], n_ab, 32);
    assert_int_equal(ec_merkle_inclusion_verify(e, 0, 4, path, 3, root), EC_EPROOF);

    /* One too short: N_AB "at index 0" with [N_CD], and N_CD "at index 1" with [N_AB],
     * hash to R in one step where size 4 needs two. */
    memcpy(path[0], n_cd, 32);
    assert_int_equal(ec_merkle_inclusion_verify(n_ab, 0, 4, path, 1, root), EC_EPROOF);
    memcpy(path[0], n_ab, 32);
    assert_int_equal(ec_merkle_inclusion_verify(n_cd, 1, 4, path, 1, root), EC_EPROOF);

    /* The shortest case, for every size and index: the root itself as the leaf, with an
     * empty path, is the root; a tree of more than one leaf needs at least one step. */
    for (size_t n = 2; n <= N_MAX; n++) {
        uint8_t r[32];
        r_mth(r, s_leaves, n);
        for (size_t m = 0; m < n; m++)
            assert_int_equal(ec_merkle_inclusion_verify(r, m, n, NULL, 0, r), EC_EPROOF);
    }
}

static void test_consistency_exhaustive(void **state)
{
    (void)state;
    ec_hash32_t path[EC_MERKLE_PROOF_MAX + 1], ref[EC_MERKLE_PROOF_MAX + 1];
    for (size_t n = 1; n <= N_MAX; n++) {
        ec_merkle_mem_t mem = {s_leaves, n};
        uint8_t new_root[32];
        r_mth(new_root, s_leaves, n);
        for (size_t m = 1; m <= n; m++) {
            uint8_t old_root[32];
            r_mth(old_root, s_leaves, m);
            size_t len = 99, rlen = 0;
            assert_int_equal(
                ec_merkle_consistency_proof(path, &len, ec_merkle_mem_oracle, &mem, m, n), 0);
            r_subproof(ref, &rlen, m, s_leaves, n, true);
            assert_int_equal(len, rlen);
            assert_memory_equal(path, ref, len * 32);
            assert_int_equal(ec_merkle_consistency_verify(m, n, old_root, new_root, path, len), 0);
            for (size_t i = 0; i < len; i++) {
                path[i][(i * 5) % 32] ^= 0x40;
                assert_int_equal(ec_merkle_consistency_verify(m, n, old_root, new_root, path, len),
                                 EC_EPROOF);
                path[i][(i * 5) % 32] ^= 0x40;
            }
            uint8_t bad[32];
            memcpy(bad, old_root, 32);
            bad[0] ^= 1;
            assert_int_equal(ec_merkle_consistency_verify(m, n, bad, new_root, path, len),
                             EC_EPROOF);
            memcpy(bad, new_root, 32);
            bad[0] ^= 1;
            assert_int_equal(ec_merkle_consistency_verify(m, n, old_root, bad, path, len),
                             EC_EPROOF);
            /* other sizes with the same proof */
            if (m < n) {
                assert_int_equal(ec_merkle_consistency_verify(n, m, old_root, new_root, path, len),
                                 EC_EPROOF);
                if (m > 1)
                    assert_int_equal(
                        ec_merkle_consistency_verify(m - 1, n, old_root, new_root, path, len),
                        EC_EPROOF);
            }
            /* one short, one long */
            if (len > 0)
                assert_int_equal(
                    ec_merkle_consistency_verify(m, n, old_root, new_root, path, len - 1),
                    EC_EPROOF);
            memcpy(path[len], new_root, 32);
            assert_int_equal(ec_merkle_consistency_verify(m, n, old_root, new_root, path, len + 1),
                             EC_EPROOF);
        }
        /* a tree is not consistent with a different tree of the same or larger size */
        if (n >= 2) {
            uint8_t other_old[32];
            ec_hash32_t alt[N_MAX];
            memcpy(alt, s_leaves, sizeof alt);
            alt[0][0] ^= 1;
            r_mth(other_old, alt, n - 1);
            size_t len;
            assert_int_equal(
                ec_merkle_consistency_proof(path, &len, ec_merkle_mem_oracle, &mem, n - 1, n), 0);
            assert_int_equal(ec_merkle_consistency_verify(n - 1, n, other_old, new_root, path, len),
                             EC_EPROOF);
        }
    }
}

static void test_consistency_edges(void **state)
{
    (void)state;
    ec_merkle_mem_t mem = {s_leaves, 10};
    ec_hash32_t path[EC_MERKLE_PROOF_MAX];
    size_t len = 99;
    uint8_t r10[32], r5[32], empty[32];
    r_mth(r10, s_leaves, 10);
    r_mth(r5, s_leaves, 5);
    r_mth(empty, s_leaves, 0);
    assert_int_equal(ec_merkle_consistency_proof(path, &len, ec_merkle_mem_oracle, &mem, 0, 10), 0);
    assert_int_equal(len, 0);
    assert_int_equal(ec_merkle_consistency_verify(0, 10, empty, r10, path, 0), 0);
    assert_int_equal(ec_merkle_consistency_verify(0, 10, empty, r10, path, 1), EC_EPROOF);
    assert_int_equal(ec_merkle_consistency_proof(path, &len, ec_merkle_mem_oracle, &mem, 10, 10),
                     0);
    assert_int_equal(len, 0);
    assert_int_equal(ec_merkle_consistency_verify(10, 10, r10, r10, path, 0), 0);
    assert_int_equal(ec_merkle_consistency_verify(10, 10, r5, r10, path, 0), EC_EPROOF);
    memcpy(path[0], r10, 32);
    assert_int_equal(ec_merkle_consistency_verify(10, 10, r10, r10, path, 1), EC_EPROOF);
    assert_int_equal(ec_merkle_consistency_proof(path, &len, ec_merkle_mem_oracle, &mem, 6, 5),
                     EC_EINVAL);
    assert_int_equal(ec_merkle_consistency_verify(5, 10, r5, r10, path, 0), EC_EPROOF);
}

/* An oracle that fails: its error must come back unchanged. */
static int s_failing_oracle(void *ctx, uint64_t begin, uint64_t end, uint8_t out[32])
{
    (void)ctx;
    (void)begin;
    (void)end;
    (void)out;
    return EC_EIO;
}

static void test_oracle_error(void **state)
{
    (void)state;
    ec_hash32_t path[EC_MERKLE_PROOF_MAX];
    size_t len;
    assert_int_equal(ec_merkle_inclusion_proof(path, &len, s_failing_oracle, NULL, 3, 10), EC_EIO);
    assert_int_equal(ec_merkle_consistency_proof(path, &len, s_failing_oracle, NULL, 3, 10),
                     EC_EIO);
    /* a one-leaf tree needs no oracle call at all */
    assert_int_equal(ec_merkle_inclusion_proof(path, &len, s_failing_oracle, NULL, 0, 1), 0);
    assert_int_equal(len, 0);
}

/* Big sizes: proofs stay within EC_MERKLE_PROOF_MAX and lengths match log2. */
static int s_fake_oracle(void *ctx, uint64_t begin, uint64_t end, uint8_t out[32])
{
    (void)ctx;
    uint64_t v[2] = {begin, end};
    ec_sha256(out, v, sizeof v);
    return 0;
}

static void test_large_sizes(void **state)
{
    (void)state;
    ec_hash32_t path[EC_MERKLE_PROOF_MAX];
    size_t len;
    uint64_t big = (uint64_t)1 << 63;
    assert_int_equal(ec_merkle_inclusion_proof(path, &len, s_fake_oracle, NULL, big - 1, big), 0);
    assert_int_equal(len, 63);
    assert_int_equal(ec_merkle_inclusion_proof(path, &len, s_fake_oracle, NULL, 5, big + 1),
                     EC_EINVAL);
    assert_int_equal(ec_merkle_consistency_proof(path, &len, s_fake_oracle, NULL, 3, big), 0);
    assert_true(len <= EC_MERKLE_PROOF_MAX);
    assert_int_equal(ec_merkle_consistency_proof(path, &len, s_fake_oracle, NULL, big - 1, big), 0);
    assert_true(len <= EC_MERKLE_PROOF_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leaf_and_empty),
        cmocka_unit_test(test_ct_vectors),
        cmocka_unit_test(test_roots),
        cmocka_unit_test(test_inclusion_exhaustive),
        cmocka_unit_test(test_inclusion_length_only),
        cmocka_unit_test(test_consistency_exhaustive),
        cmocka_unit_test(test_consistency_edges),
        cmocka_unit_test(test_oracle_error),
        cmocka_unit_test(test_large_sizes),
    };
    return cmocka_run_group_tests(tests, s_setup, NULL);
}
