/*
 * ec_evidence.h - evidence deposits: a file's SHA-256 and the time it was known, with the
 * weight of the chains behind it, while the file itself never leaves its owner.
 *
 * A depositor hashes a batch of files, builds the RFC 9162 Merkle tree whose leaf i is
 * SHA-256(0x00 || EC_LEAF_DEPOSIT || file_hash[i]) (files in the order given), and deposits
 * the root with one EVIDENCE transaction on a side chain (ec_body.h; the side chain refuses
 * a root the same key deposited before, and keeps another key's copy as its own deposit). The proof
 * that one file was deposited is the evidence bundle:
 *
 *   file --SHA-256--> file_hash --path--> batch root = the EVIDENCE body's root
 *     --tx bundle (ec_bundle.h)--> side block --anchoring--> main header --commit-->
 *     main validators from the main genesis
 *
 * Encoding (canonical msgpack; docs/PROTOCOL.md "Evidence bundle", keep both in step):
 *
 *   index  field       type           meaning
 *       0  version     uint           EC_EVIDENCE_VERSION (1)
 *       1  file_hash   bin(32)        SHA-256 of the file's bytes (what `sha256sum` prints)
 *       2  index       uint           the file's place in its batch, < count
 *       3  count       uint           files in the batch, 1..EC_EVIDENCE_BATCH_MAX
 *       4  path        [bin(32)...]   RFC 9162 inclusion path of leaf `index`, exactly as
 *                                     long as index and count make it (at most 20)
 *       5  tx_bundle   bin            the EVIDENCE transaction's proof bundle (ec_bundle.h),
 *                                     1..EC_BUNDLE_BYTES_MAX bytes
 *
 * A bundle is about 1.1 KB with one main validator (the tx bundle, without payload, is most
 * of it; each more signature of the main commit adds about 70 bytes, each path step 35). It
 * holds no secret and nothing of the file but its hash: a changed file has another hash.
 * Not to be confused with ec_evidence_t (ec_types.h), consensus evidence of a validator's
 * equivocation, and its ec_evidence_{encode,decode,check}: this module's codec is
 * ec_evidence_bundle_{encode,decode}.
 */
#ifndef EC_EVIDENCE_H
#define EC_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ec_body.h"
#include "ec_bundle.h"
#include "ec_codec.h"
#include "ec_crypto.h"
#include "ec_err.h"
#include "ec_merkle.h"

#define EC_EVIDENCE_VERSION 1
/* The longest path a batch of EC_EVIDENCE_BATCH_MAX (2^20) files has. */
#define EC_EVIDENCE_PATH_MAX 20
#define EC_EVIDENCE_BYTES_MAX (EC_BUNDLE_BYTES_MAX + 1024u)
/* Threads ec_evidence_hash_files uses at most. */
#define EC_EVIDENCE_THREADS_MAX 16

/* ---- batches ---------------------------------------------------------------------------- */

/* The leaf of one file: SHA-256(0x00 || EC_LEAF_DEPOSIT || file_hash). */
void ec_evidence_leaf(uint8_t out[EC_HASH_BYTES], const uint8_t file_hash[EC_HASH_BYTES]);

/*
 * The root of a batch. O(count): count leaf hashes and count - 1 node hashes.
 * In:  file_hashes[0..count), count 1..EC_EVIDENCE_BATCH_MAX (anything else is a bug).
 * Out: root; leaves[0..count) (the caller's memory) the leaves, kept for ec_evidence_path.
 */
void ec_evidence_root(uint8_t root[EC_HASH_BYTES], ec_hash32_t *leaves,
                      const ec_hash32_t *file_hashes, size_t count);

/*
 * The inclusion path of file `index` of a batch, from the leaves ec_evidence_root wrote.
 * O(count) hashing. Returns 0 with *len <= EC_EVIDENCE_PATH_MAX, or EC_EINVAL (index >=
 * count, or count outside 1..EC_EVIDENCE_BATCH_MAX).
 */
EC_WUR int ec_evidence_path(ec_hash32_t path[EC_MERKLE_PROOF_MAX], size_t *len,
                            const ec_hash32_t *leaves, uint64_t count, uint64_t index);

/*
 * SHA-256 of a regular file's bytes, read in 64 KiB pieces (memory does not grow with the
 * file). Returns 0, or EC_ENOTFOUND (no such file) / EC_EIO (not a regular file, or a read
 * error) with st naming the path and the cause.
 */
EC_WUR int ec_evidence_hash_file(uint8_t out[EC_HASH_BYTES], const char *path, ec_status_t *st);

/*
 * Hashes paths[0..count) into out[0..count) with up to `threads` threads, the caller's
 * among them (1..EC_EVIDENCE_THREADS_MAX; each takes the next run of 64 files, so a slow
 * file does not hold the others up; a thread that cannot be started leaves its share to
 * the others). Returns 0, or the error of the first failing file in path order (as
 * ec_evidence_hash_file's) with *failed its index and st its message (what out holds is
 * then undefined), or EC_ENOMEM.
 */
EC_WUR int ec_evidence_hash_files(ec_hash32_t *out, const char *const *paths, size_t count,
                                  unsigned threads, size_t *failed, ec_status_t *st);

/* ---- the evidence bundle ---------------------------------------------------------------- */

/* A bundle's fields (tx_bundle borrowed from the decoded buffer, or the caller's). */
typedef struct {
    uint8_t file_hash[EC_HASH_BYTES];
    uint64_t index;
    uint64_t count;
    ec_hash32_t path[EC_MERKLE_PROOF_MAX];
    size_t path_len;
    const uint8_t *tx_bundle;
    size_t tx_bundle_size;
} ec_evidence_bundle_t;

/* Appends the encoding of b (the table above) to w. Never fails; a struct the decoder would
 * refuse is the caller's bug (path_len is asserted). */
void ec_evidence_bundle_encode(ec_writer_t *w, const ec_evidence_bundle_t *b);

/*
 * Decodes a bundle strictly: the table's types and limits, canonical form, no trailing
 * bytes, index < count, and a path of exactly the length index and count imply. Checks no
 * proof (ec_evidence_verify does). Returns 0, EC_EVERSION (another version), EC_ETOOBIG
 * (over EC_EVIDENCE_BYTES_MAX, or a tx bundle over EC_BUNDLE_BYTES_MAX) or EC_EINVAL (a
 * count above EC_EVIDENCE_BATCH_MAX too); *b is zeroed on error. tx_bundle points into
 * data.
 */
EC_WUR int ec_evidence_bundle_decode(ec_evidence_bundle_t *b, const uint8_t *data, size_t size);

/* What a verified bundle proves. */
typedef struct {
    uint8_t file_hash[EC_HASH_BYTES];
    uint8_t root[EC_HASH_BYTES];         /* the deposited batch root                   */
    uint64_t index;                      /* the file's place in its batch              */
    uint64_t count;                      /* files in the batch                         */
    uint8_t tx_id[EC_HASH_BYTES];        /* the EVIDENCE transaction                   */
    uint8_t depositor_pk[EC_PK_BYTES];   /* the key that signed it                     */
    char depositor[EC_ADDR_MAX];         /* that key's address                         */
    uint64_t time_ms;                    /* its side block's time (the deposit time)   */
    char side_chain_id[EC_CHAIN_ID_MAX]; /* the side chain that holds it              */
    uint64_t side_height;                /* its side block                              */
    uint64_t anchored_height;            /* the side block the main chain anchored     */
    char main_chain_id[EC_CHAIN_ID_MAX];
    uint64_t main_height; /* the main block that accepted the anchor     */
    uint8_t main_hash[EC_HASH_BYTES];
    char note[EC_EVIDENCE_NOTE_MAX]; /* the depositor's note, note_len bytes + NUL  */
    size_t note_len;
} ec_evidence_info_t;

/*
 * Verifies, offline, that the file whose SHA-256 is file_hash was deposited.
 * In:  bundle[0..size); file_hash, computed by the caller from the file in hand;
 *      main_chain_id and main_validators, the trusted main genesis' (the set is carried
 *      through the main chain's validator changes the tx bundle lists).
 * Out: *info, filled on 0 and zeroed otherwise.
 * Returns 0, or with st naming what failed: EC_EINVAL / EC_ETOOBIG / EC_EVERSION (a
 * malformed bundle), EC_EPROOF (the file hash is not the bundle's, the path does not lead
 * to the deposited root, or the transaction is not an EVIDENCE of that root and count, or
 * the chain refused it), or ec_bundle_verify's codes for the tx bundle (EC_ESIG, EC_EPROOF,
 * EC_ECHAIN, ...). EC_ENOMEM when memory runs out.
 */
EC_WUR int ec_evidence_verify(const uint8_t *bundle, size_t size,
                              const uint8_t file_hash[EC_HASH_BYTES], const char *main_chain_id,
                              const ec_valset_t *main_validators, ec_evidence_info_t *info,
                              ec_status_t *st);

#endif
