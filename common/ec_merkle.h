/*
 * ec_merkle.h - RFC 9162 (Certificate Transparency v2) Merkle trees, with ecert's typed
 * leaves: leaf = SHA-256(0x00 || tag || data), node = SHA-256(0x01 || left || right).
 * The tree over n leaves splits at the largest power of two strictly below n; a last
 * odd node is never duplicated (so CVE-2012-2459 cannot arise); the empty tree's root is
 * SHA-256 of the empty string.
 *
 * Proof generation is written once against a "range oracle": a function that returns
 * MTH(leaves[begin:end]). ec_merkle_mem_oracle serves an in-memory array of leaf hashes
 * (block transaction trees); ec_mlog (a persistent log in RocksDB) serves big logs in
 * O(log^2 n) reads. Verification takes the tree size and rejects any proof whose length
 * does not match what RFC 9162 prescribes for that index and size.
 */
#ifndef EC_MERKLE_H
#define EC_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "ec_crypto.h"
#include "ec_err.h"

/* Leaf type tags: the byte after 0x00 in every leaf hash. */
enum {
    EC_LEAF_TX = 0x01,       /* data = tx id, result code, ref (tx_root; ec_tx_leaf)     */
    EC_LEAF_BLOCK = 0x02,    /* data = block hash, or the genesis hash at index 0 (hist)   */
    EC_LEAF_ANCHOR = 0x03,   /* data = encoded anchor entry (xanchor_root)                 */
    EC_LEAF_RECORD = 0x04,   /* data = encoded main-chain record (records log)             */
    EC_LEAF_FIELD = 0x05,    /* data = encoded certificate field [name, value, salt]       */
    EC_LEAF_EVIDENCE = 0x06, /* data = encoded equivocation evidence (evidence_root)     */
    EC_LEAF_STATUS = 0x07,   /* data = one page of a status list (ec_slist.h)            */
    EC_LEAF_DEPOSIT = 0x08,  /* data = a deposited file's SHA-256 (EVIDENCE batches; not
                              * EC_LEAF_EVIDENCE, which is equivocation evidence)          */
};

/* Longest proof accepted: trees never exceed 2^63 leaves. */
#define EC_MERKLE_PROOF_MAX 64

typedef uint8_t ec_hash32_t[EC_HASH_BYTES];

void ec_merkle_leaf(uint8_t out[EC_HASH_BYTES], uint8_t tag, const void *data, size_t size);
void ec_merkle_node(uint8_t out[EC_HASH_BYTES], const uint8_t left[EC_HASH_BYTES],
                    const uint8_t right[EC_HASH_BYTES]);
/* Root of n leaf hashes (already leaf-hashed). O(n) time, O(log n) stack. */
void ec_merkle_root(uint8_t out[EC_HASH_BYTES], const ec_hash32_t *leaves, size_t n);

/* Returns MTH(leaves[begin:end]) into out; 0 or a negative EC_E* code (storage errors). */
typedef int (*ec_merkle_oracle_fn)(void *ctx, uint64_t begin, uint64_t end,
                                   uint8_t out[EC_HASH_BYTES]);

/* Oracle context for an in-memory array of leaf hashes. */
typedef struct {
    const ec_hash32_t *leaves;
    size_t count;
} ec_merkle_mem_t;
int ec_merkle_mem_oracle(void *ctx, uint64_t begin, uint64_t end, uint8_t out[EC_HASH_BYTES]);

/*
 * Inclusion proof for leaf `index` in the tree of `size` leaves. Writes up to
 * EC_MERKLE_PROOF_MAX hashes into path and their count into *len.
 * Returns 0, EC_EINVAL (index >= size), or the oracle's error.
 */
EC_WUR int ec_merkle_inclusion_proof(ec_hash32_t path[EC_MERKLE_PROOF_MAX], size_t *len,
                                     ec_merkle_oracle_fn oracle, void *ctx, uint64_t index,
                                     uint64_t size);
/*
 * Checks that `leaf` (a leaf hash) sits at `index` in the tree of `size` leaves with root
 * `root`. Returns 0, or EC_EPROOF (wrong path, wrong length, index >= size).
 */
EC_WUR int ec_merkle_inclusion_verify(const uint8_t leaf[EC_HASH_BYTES], uint64_t index,
                                      uint64_t size, const ec_hash32_t *path, size_t len,
                                      const uint8_t root[EC_HASH_BYTES]);
/*
 * Consistency proof that the tree of old_size leaves is a prefix of the tree of new_size
 * leaves (0 < old_size <= new_size; RFC 9162 section 2.1.4). old_size == 0 and
 * old_size == new_size give an empty proof (what the verifier expects for them). Returns 0,
 * EC_EINVAL (old_size > new_size, or new_size > 2^63), or the oracle's error.
 */
EC_WUR int ec_merkle_consistency_proof(ec_hash32_t path[EC_MERKLE_PROOF_MAX], size_t *len,
                                       ec_merkle_oracle_fn oracle, void *ctx, uint64_t old_size,
                                       uint64_t new_size);
/*
 * Verifies a consistency proof (RFC 9162 section 2.1.4.2). old_size == 0 is always
 * consistent with an empty proof; old_size == new_size needs equal roots and an empty
 * proof. Returns 0 or EC_EPROOF.
 */
EC_WUR int ec_merkle_consistency_verify(uint64_t old_size, uint64_t new_size,
                                        const uint8_t old_root[EC_HASH_BYTES],
                                        const uint8_t new_root[EC_HASH_BYTES],
                                        const ec_hash32_t *path, size_t len);

#endif
