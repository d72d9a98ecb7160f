/*
 * ec_bundle.h - the proof bundle: everything needed to check, offline, that a side-chain
 * transaction (a certificate, an inspection, ...) is final and anchored in the main chain.
 *
 *   tx + result --tx_root--> side header (height h) --hist_root--> anchored side header
 *      (height a) --xanchor_root--> main header --commit--> main validator set the
 *      verifier trusts (the genesis set, carried forward through the main chain's
 *      validator-set changes the bundle lists, each signed by the set before it)
 *
 * Encoding (canonical msgpack, docs/PROTOCOL.md "Proof bundle"):
 *   [ version=2, side_chain_id: str, tx: bin, payload: bin|nil,
 *     tx_index: uint, result: [code: int, ref: uint, slot: uint], tx_path: [bin(32)...],
 * side_header: bin, anchored_header: bin|nil (nil when the tx's own block was anchored), hist_path:
 * [bin(32)...] (block h as leaf h of the anchored header's hist_root), anchor_index: uint,
 * anchor_path: [bin(32)...], main_header: bin, main_commit: bin, main_transitions: [[header: bin,
 * commit: bin, next_valset], ...] ] A transition is a main header whose next_valset_hash names a
 * new validator set, its commit by the set in force, and that new set; they come in height order.
 * About 2 KB for a 256-byte payload, plus about 1.5 KB per main-chain validator change since the
 * genesis. Any changed byte makes verification fail.
 *
 * The result is the transaction's in its block (ec_tx_result_t): a transaction refused by
 * the chain's rules is in the block too, with its code, and a bundle for it verifies as a
 * proof of that refusal, never of an applied transaction: callers must look at
 * info->result_code.
 */
#ifndef EC_BUNDLE_H
#define EC_BUNDLE_H

#include <stdbool.h>
#include <stdint.h>

#include "ec_err.h"
#include "ec_merkle.h"
#include "ec_types.h"

#define EC_BUNDLE_VERSION 2
#define EC_BUNDLE_TRANSITIONS_MAX 64 /* main validator-set changes a bundle carries      */
#define EC_BUNDLE_BYTES_MAX                                                                        \
    (EC_TX_BYTES_MAX + EC_PAYLOAD_BYTES_MAX + 16u * 1024 + EC_BUNDLE_TRANSITIONS_MAX * 8192u)

/* One main-chain validator-set change: the header that names the next set, its commit (by
 * the set in force) and the set it names (buffers borrowed). */
typedef struct {
    const uint8_t *header;
    size_t header_size;
    const uint8_t *commit;
    size_t commit_size;
    ec_valset_t next;
} ec_bundle_transition_t;

/* The parts of a bundle, as gathered by the client (buffers borrowed). */
typedef struct {
    const char *side_chain_id;
    const uint8_t *tx;
    size_t tx_size;
    const uint8_t *payload;
    size_t payload_size; /* payload may be NULL          */
    uint64_t tx_index;
    ec_tx_result_t result; /* the transaction's result in its block           */
    const ec_hash32_t *tx_path;
    size_t tx_path_len;
    const uint8_t *side_header;
    size_t side_header_size;
    const uint8_t *anchored_header;
    size_t anchored_header_size; /* NULL when a == h        */
    const ec_hash32_t *hist_path;
    size_t hist_path_len;
    uint64_t anchor_index;
    const ec_hash32_t *anchor_path;
    size_t anchor_path_len;
    const uint8_t *main_header;
    size_t main_header_size;
    const uint8_t *main_commit;
    size_t main_commit_size;
    const ec_bundle_transition_t *transitions;
    size_t transition_count;
} ec_bundle_parts_t;

void ec_bundle_encode(ec_writer_t *w, const ec_bundle_parts_t *parts);

/* A decoded (not yet verified) bundle: parts borrow from the input and from this struct. */
typedef struct {
    ec_decoder_t dec;
    ec_bundle_parts_t parts;
    char side_chain_id[EC_CHAIN_ID_MAX];
    ec_hash32_t tx_path[EC_MERKLE_PROOF_MAX];
    ec_hash32_t hist_path[EC_MERKLE_PROOF_MAX];
    ec_hash32_t anchor_path[EC_MERKLE_PROOF_MAX];
    ec_bundle_transition_t transitions[EC_BUNDLE_TRANSITIONS_MAX];
} ec_bundle_t;

/*
 * Parses a bundle's structure only (field types, sizes, version; no proof is checked).
 * Returns 0, EC_EINVAL, EC_ETOOBIG or EC_EVERSION; on error *b needs no fini.
 * ec_bundle_encode(&b->parts) reproduces the input bytes.
 */
EC_WUR int ec_bundle_decode(ec_bundle_t *b, const uint8_t *bundle, size_t size);
void ec_bundle_fini(ec_bundle_t *b);

/* What a verified bundle proves. */
typedef struct {
    char side_chain_id[EC_CHAIN_ID_MAX];
    uint8_t tx_id[EC_HASH_BYTES];
    uint64_t tx_type;
    uint8_t sender[EC_PK_BYTES];
    uint64_t side_height;     /* block holding the transaction                       */
    uint64_t anchored_height; /* side block the main chain anchored                  */
    char main_chain_id[EC_CHAIN_ID_MAX];
    uint64_t main_height; /* main block that accepted the anchor                 */
    uint8_t main_hash[EC_HASH_BYTES];
    bool has_payload;          /* payload included and matches payload_hash           */
    int32_t result_code;       /* 0: applied; else the rule it broke (refused)        */
    uint64_t result_ref;       /* side chains: the main height whose roles authorized it */
    uint64_t result_slot;      /* an ISSUE's place in its chain's status list (ec_slist.h) */
    uint64_t main_transitions; /* main validator-set changes followed           */
} ec_bundle_info_t;

/*
 * Verifies a bundle against a trusted main chain: its chain id and either its genesis
 * validator set (main_vs; carried through the bundle's transitions, the main header's
 * commit must verify against the set in force) or a trusted main header hash
 * (trusted_main_hash; the bundle's main header must hash to it). At least one of the two.
 * Returns 0 and fills info, or EC_EINVAL / EC_ETOOBIG (malformed), EC_ESIG (a signature or
 * commit), EC_EPROOF (a Merkle step), EC_ECHAIN (chain ids disagree), with st saying which.
 */
EC_WUR int ec_bundle_verify(const uint8_t *bundle, size_t size, const char *main_chain_id,
                            const ec_valset_t *main_vs,
                            const uint8_t trusted_main_hash[EC_HASH_BYTES], ec_bundle_info_t *info,
                            ec_status_t *st);

/*
 * The anchoring half of a bundle, shared with other proofs of a side header (the status
 * list, ec_slist.h): the eight elements from side_header to main_transitions, in the
 * bundle's order. _encode writes them from p; _read reads them (sticky, into b->parts and
 * b's arrays); _verify checks that `side` (decoded from p->side_header by the caller,
 * who has checked what it commits to) is in the history of a side header anchored in a
 * main header that main_vs (through the transitions) or trusted_main_hash vouches for,
 * and fills info's side_chain_id, side_height, anchored_height, main_* fields. Returns as
 * ec_bundle_verify.
 */
void ec_bundle_anchoring_encode(ec_writer_t *w, const ec_bundle_parts_t *p);
void ec_bundle_anchoring_read(ec_cur_t *c, ec_bundle_t *b);
EC_WUR int ec_bundle_anchoring_verify(const ec_bundle_parts_t *p, const ec_header_t *side,
                                      const char *main_chain_id, const ec_valset_t *main_vs,
                                      const uint8_t trusted_main_hash[EC_HASH_BYTES],
                                      ec_bundle_info_t *info, ec_status_t *st);

#endif
