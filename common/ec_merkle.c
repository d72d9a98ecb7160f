/*
 * ec_merkle.c - RFC 9162 section 2.1 Merkle trees: roots, inclusion and consistency proofs
 * and their verification (ec_merkle.h).
 *
 * Proof generation follows the RFC's recursive definitions (PATH, SUBPROOF) but walks them
 * iteratively from the root down, asking the oracle for MTH of one sibling range per level;
 * the siblings come out top-down and are reversed at the end, because the RFC orders a
 * proof from the leaf upwards. Verification is the RFC's bit-shifting algorithm
 * (2.1.3.2, 2.1.4.2), which also proves that the path has exactly the length the index and
 * sizes imply: a longer path runs sn down to zero early, a shorter one leaves sn non-zero.
 */
#include "ec_merkle.h"

#include <assert.h>
#include <string.h>

void ec_merkle_leaf(uint8_t out[EC_HASH_BYTES], uint8_t tag, const void *data, size_t size)
{
    const uint8_t prefix[2] = {0x00, tag};
    ec_sha256_t st;
    ec_sha256_init(&st);
    ec_sha256_update(&st, prefix, sizeof prefix);
    ec_sha256_update(&st, data, size);
    ec_sha256_final(&st, out);
}

void ec_merkle_node(uint8_t out[EC_HASH_BYTES], const uint8_t left[EC_HASH_BYTES],
                    const uint8_t right[EC_HASH_BYTES])
{
    uint8_t buf[1 + 2 * EC_HASH_BYTES];
    buf[0] = 0x01;
    memcpy(buf + 1, left, EC_HASH_BYTES);
    memcpy(buf + 1 + EC_HASH_BYTES, right, EC_HASH_BYTES);
    ec_sha256(out, buf, sizeof buf);
}

/* Largest power of two strictly below n (n >= 2). */
static uint64_t s_split(uint64_t n)
{
    assert(n >= 2);
    uint64_t k = 1;
    while (k << 1 < n)
        k <<= 1;
    return k;
}

/*
 * Root over n >= 1 leaves, O(n) hashing. Recursion depth is ceil(log2 n) because the left
 * part is always a perfect tree of k leaves and the right part has fewer than k.
 */
static void s_root(uint8_t out[EC_HASH_BYTES], const ec_hash32_t *leaves, size_t n)
{
    if (n == 1) {
        memcpy(out, leaves[0], EC_HASH_BYTES);
        return;
    }
    size_t k = (size_t)s_split(n);
    uint8_t left[EC_HASH_BYTES], right[EC_HASH_BYTES];
    s_root(left, leaves, k);
    s_root(right, leaves + k, n - k);
    ec_merkle_node(out, left, right);
}

void ec_merkle_root(uint8_t out[EC_HASH_BYTES], const ec_hash32_t *leaves, size_t n)
{
    assert(out && (leaves || n == 0));
    if (n == 0)
        ec_sha256(out, NULL, 0);
    else
        s_root(out, leaves, n);
}

int ec_merkle_mem_oracle(void *ctx, uint64_t begin, uint64_t end, uint8_t out[EC_HASH_BYTES])
{
    const ec_merkle_mem_t *mem = ctx;
    assert(mem);
    if (begin > end || end > mem->count)
        return EC_EINVAL;
    ec_merkle_root(out, mem->leaves + begin, (size_t)(end - begin));
    return 0;
}

/* Reverses path[0..len) in place, turning a top-down walk into the RFC's bottom-up order. */
static void s_reverse(ec_hash32_t *path, size_t len)
{
    for (size_t i = 0, j = len ? len - 1 : 0; i < j; i++, j--) {
        uint8_t tmp[EC_HASH_BYTES];
        memcpy(tmp, path[i], EC_HASH_BYTES);
        memcpy(path[i], path[j], EC_HASH_BYTES);
        memcpy(path[j], tmp, EC_HASH_BYTES);
    }
}

/* Trees are bounded so that no proof can exceed EC_MERKLE_PROOF_MAX hashes. */
#define S_SIZE_MAX ((uint64_t)1 << 63)

int ec_merkle_inclusion_proof(ec_hash32_t path[EC_MERKLE_PROOF_MAX], size_t *len,
                              ec_merkle_oracle_fn oracle, void *ctx, uint64_t index, uint64_t size)
{
    assert(path && len && oracle);
    *len = 0;
    if (index >= size || size > S_SIZE_MAX)
        return EC_EINVAL;
    /* PATH(m, D[begin:end]) with m relative to begin. */
    uint64_t begin = 0, end = size, m = index;
    size_t n = 0;
    while (end - begin > 1) {
        uint64_t k = s_split(end - begin);
        assert(n < EC_MERKLE_PROOF_MAX);
        int rc;
        if (m < k) {
            rc = oracle(ctx, begin + k, end, path[n++]);
            end = begin + k;
        } else {
            rc = oracle(ctx, begin, begin + k, path[n++]);
            begin += k;
            m -= k;
        }
        if (rc != 0)
            return rc;
    }
    s_reverse(path, n);
    *len = n;
    return 0;
}

int ec_merkle_inclusion_verify(const uint8_t leaf[EC_HASH_BYTES], uint64_t index, uint64_t size,
                               const ec_hash32_t *path, size_t len,
                               const uint8_t root[EC_HASH_BYTES])
{
    assert(leaf && root && (path || len == 0));
    if (index >= size || len > EC_MERKLE_PROOF_MAX)
        return EC_EPROOF;
    uint64_t fn = index, sn = size - 1;
    uint8_t r[EC_HASH_BYTES];
    memcpy(r, leaf, EC_HASH_BYTES);
    for (size_t i = 0; i < len; i++) {
        if (sn == 0)
            return EC_EPROOF;
        if ((fn & 1) || fn == sn) {
            ec_merkle_node(r, path[i], r);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            ec_merkle_node(r, r, path[i]);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0 || sodium_memcmp(r, root, EC_HASH_BYTES) != 0)
        return EC_EPROOF;
    return 0;
}

int ec_merkle_consistency_proof(ec_hash32_t path[EC_MERKLE_PROOF_MAX], size_t *len,
                                ec_merkle_oracle_fn oracle, void *ctx, uint64_t old_size,
                                uint64_t new_size)
{
    assert(path && len && oracle);
    *len = 0;
    if (old_size > new_size || new_size > S_SIZE_MAX)
        return EC_EINVAL;
    if (old_size == 0 || old_size == new_size)
        return 0; /* nothing to prove: see ec_merkle_consistency_verify */
    /* SUBPROOF(m, D[begin:end], b) with m relative to begin. */
    uint64_t begin = 0, end = new_size, m = old_size;
    bool b = true;
    size_t n = 0;
    int rc = 0;
    while (m != end - begin) {
        uint64_t k = s_split(end - begin);
        assert(n < EC_MERKLE_PROOF_MAX);
        if (m <= k) {
            rc = oracle(ctx, begin + k, end, path[n++]);
            end = begin + k;
        } else {
            rc = oracle(ctx, begin, begin + k, path[n++]);
            begin += k;
            m -= k;
            b = false;
        }
        if (rc != 0)
            return rc;
    }
    if (!b) {
        assert(n < EC_MERKLE_PROOF_MAX);
        rc = oracle(ctx, begin, end, path[n++]);
        if (rc != 0)
            return rc;
    }
    s_reverse(path, n);
    *len = n;
    return 0;
}

int ec_merkle_consistency_verify(uint64_t old_size, uint64_t new_size,
                                 const uint8_t old_root[EC_HASH_BYTES],
                                 const uint8_t new_root[EC_HASH_BYTES], const ec_hash32_t *path,
                                 size_t len)
{
    assert(old_root && new_root && (path || len == 0));
    if (old_size > new_size || len > EC_MERKLE_PROOF_MAX)
        return EC_EPROOF;
    if (old_size == 0)
        return len == 0 ? 0 : EC_EPROOF;
    if (old_size == new_size)
        return len == 0 && sodium_memcmp(old_root, new_root, EC_HASH_BYTES) == 0 ? 0 : EC_EPROOF;
    if (len == 0)
        return EC_EPROOF;
    /* Step 2: when old_size is a power of two, old_root is the implicit first element. */
    bool pow2 = (old_size & (old_size - 1)) == 0;
    size_t total = len + (pow2 ? 1 : 0);
    const uint8_t *first = pow2 ? old_root : path[0];
    size_t next = pow2 ? 0 : 1; /* index in path of the element after `first` */

    uint64_t fn = old_size - 1, sn = new_size - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    uint8_t fr[EC_HASH_BYTES], sr[EC_HASH_BYTES];
    memcpy(fr, first, EC_HASH_BYTES);
    memcpy(sr, first, EC_HASH_BYTES);
    for (size_t i = 1; i < total; i++, next++) {
        const uint8_t *c = path[next];
        if (sn == 0)
            return EC_EPROOF;
        if ((fn & 1) || fn == sn) {
            ec_merkle_node(fr, c, fr);
            ec_merkle_node(sr, c, sr);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            ec_merkle_node(sr, sr, c);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0 || sodium_memcmp(fr, old_root, EC_HASH_BYTES) != 0 ||
        sodium_memcmp(sr, new_root, EC_HASH_BYTES) != 0)
        return EC_EPROOF;
    return 0;
}
