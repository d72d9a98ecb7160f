/*
 * ec_types.h - the chain data types both chain kinds share: transactions, headers, blocks,
 * commits, validator sets, genesis, anchor entries. Encodings are canonical msgpack arrays
 * (ec_codec.h); the byte layouts are tabled in docs/PROTOCOL.md and must stay in step.
 *
 * Transaction envelope:   [ signed: bin, sig: bin(64) ]
 *   signed = canonical msgpack of
 *            [ version=1, chain_id: str, type: uint, sender: bin(32), nonce: uint,
 *              payload_hash: bin(32)|nil, body: array ]
 *   sig    = Ed25519 over  "ecert/tx" 0x00 || signed          (domain separation)
 *   id     = SHA-256(      "ecert/tx" 0x00 || signed )         (not malleable: no sig)
 * The nonce is any number the sender never reuses (the CLI picks 64 random bits); replays
 * are refused because the id is already in the ledger's transaction index. Nothing orders a
 * sender's transactions, so one issuer can pipeline thousands a second.
 *
 * Block hash = SHA-256(encoded header). hist_root at height h is the RFC 9162 root over
 * [genesis_hash, hash(block 1), ..., hash(block h-1)], so its size is h and block k is
 * leaf k. Heights start at 1; block 1's prev_hash is the genesis hash.
 */
#ifndef EC_TYPES_H
#define EC_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ec_codec.h"
#include "ec_crypto.h"
#include "ec_err.h"

/* Format versions, the first field of each encoding. A decoder refuses any other
 * (EC_EVERSION). Format 2 of headers and blocks added per-transaction results and evidence;
 * format 2 of a genesis added the side chain's main-chain freshness bound. */
#define EC_VERSION 1        /* transactions, commits, anchor entries, bundles            */
#define EC_HEADER_VERSION 2 /* headers                                                  */
#define EC_BLOCK_VERSION 2  /* blocks                                                   */
#define EC_GENESIS_VERSION 2
/* A main genesis whose operators act m of n (operator_quorum > 1) is format 3: format 2
 * with operator_quorum after the operators. Quorum 1 keeps format 2, and its hash. */
#define EC_GENESIS_VERSION_QUORUM 3
/* The genesis format with feature flags (EC_GENESIS_F_*): used only when a flag is set. */
#define EC_GENESIS_VERSION_FEATURES 4
#define EC_GENESIS_F_CONTRACTS 1u    /* the chain hosts contracts (docs/CONTRACTS.md)      */
#define EC_CHAIN_ID_MAX 64           /* buffer size for a chain id, with the NUL              */
#define EC_CERT_TYPE_MAX 32          /* buffer size for a certificate type name               */
#define EC_VALIDATORS_MAX 32         /* validators per chain                                   */
#define EC_OPERATORS_MAX 8           /* operator keys named in a main genesis                  */
#define EC_TX_BYTES_MAX (16u * 1024) /* an encoded transaction envelope               */
#define EC_PAYLOAD_BYTES_MAX (64u * 1024)   /* a transaction's payload                        */
#define EC_BLOCK_TXS_MAX 20000u             /* transactions per block                         */
#define EC_VALIDATOR_POWER_MAX (1ull << 48) /* voting power of one validator (no overflow)   */

#define EC_TAG_TX "ecert/tx"
#define EC_TAG_VOTE "ecert/vote"
#define EC_TAG_PROPOSAL "ecert/proposal"
#define EC_BLOCK_EVIDENCE_MAX 16 /* equivocation evidence one block may carry             */

enum { EC_CHAIN_MAIN = 1, EC_CHAIN_SIDE = 2 };
enum { EC_VOTE_PREVOTE = 1, EC_VOTE_PRECOMMIT = 2 };

/* True for a chain id of 1..63 bytes of [a-z0-9-]. */
bool ec_chain_id_valid(const char *chain_id);
/* True for a certificate type of 1..31 bytes of [a-z0-9_-]. */
bool ec_cert_type_valid(const char *cert_type);

/* ---- transactions ----------------------------------------------------------------------- */

/*
 * A decoded transaction. Pointers borrow from the envelope buffer passed to
 * ec_tx_decode(), and `body` from the tx's own decoder: keep both alive while using it.
 */
typedef struct {
    ec_decoder_t dec;            /* owns the parse of `signed_bytes`                  */
    const uint8_t *signed_bytes; /* the signed part, inside the envelope              */
    size_t signed_size;
    uint8_t sig[EC_SIG_BYTES];
    uint8_t id[EC_HASH_BYTES]; /* transaction id                                    */
    char chain_id[EC_CHAIN_ID_MAX];
    uint64_t type;               /* application-defined transaction type              */
    uint8_t sender[EC_PK_BYTES]; /* sender's Ed25519 public key                       */
    uint64_t nonce;
    bool has_payload;
    uint8_t payload_hash[EC_HASH_BYTES]; /* SHA-256 of the payload, when has_payload          */
    const msgpack_object *body;          /* the type-specific array                           */
} ec_tx_t;

/*
 * Decodes and structurally checks an envelope (version, field types, sizes, canonical
 * form) and computes the id. Does not check the signature. Returns 0, EC_EINVAL,
 * EC_ETOOBIG or EC_EVERSION; on error *tx needs no fini.
 */
EC_WUR int ec_tx_decode(ec_tx_t *tx, const uint8_t *envelope, size_t size);
/* The id of an envelope without decoding its fields: its outer shape is checked (two bins,
 * the second of EC_SIG_BYTES), nothing inside. For finding a transaction in an index
 * cheaply; ec_tx_decode gives the same id and checks everything. 0, EC_EINVAL or
 * EC_ETOOBIG. */
EC_WUR int ec_tx_envelope_id(uint8_t id[EC_HASH_BYTES], const uint8_t *envelope, size_t size);
/* True when tx->sig is the sender's signature. ~37 us: keep it off the commit thread. */
bool ec_tx_verify_sig(const ec_tx_t *tx);
void ec_tx_fini(ec_tx_t *tx);

/*
 * Builds and signs an envelope into `out` (which is reset first). `body` must be one
 * encoded msgpack array (the type-specific fields). payload_hash may be NULL. The id is
 * written to id_out when not NULL.
 */
void ec_tx_build(ec_writer_t *out, uint8_t id_out[EC_HASH_BYTES], const char *chain_id,
                 uint64_t type, const ec_key_t *key, uint64_t nonce, const uint8_t *payload_hash,
                 const uint8_t *body, size_t body_size);

/* ---- validator sets --------------------------------------------------------------------- */

typedef struct {
    uint8_t pk[EC_PK_BYTES];
    uint64_t power;
} ec_validator_t;

typedef struct {
    uint32_t count;
    ec_validator_t v[EC_VALIDATORS_MAX];
} ec_valset_t;

/* [[pk: bin(32), power: uint], ...]; the reader accepts 0..EC_VALIDATORS_MAX entries with
 * power 1..EC_VALIDATOR_POWER_MAX and distinct keys. */
void ec_valset_encode(ec_writer_t *w, const ec_valset_t *vs);
void ec_valset_read(ec_cur_t *c, ec_valset_t *vs); /* sticky-error reader for one valset */
void ec_valset_hash(uint8_t out[EC_HASH_BYTES], const ec_valset_t *vs);
/*
 * Whether setting validator v->pk to power v->power (0: removing it) changes vs, the one
 * rule the main chain's own changes, a side chain's mirrored ones and the execution that
 * applies them share. Returns 0 with *index its place (vs->count when it joins),
 * EC_ENOTFOUND (removing one that is not there), EC_EINVAL (removing the last one),
 * EC_ETOOBIG (adding to a full set) or EC_EEXIST (it already has that power).
 */
EC_WUR int ec_valset_change_check(const ec_valset_t *vs, const ec_validator_t *v, uint32_t *index);
/* Applies a change that ec_valset_change_check accepted at `index`. */
void ec_valset_change_apply(ec_valset_t *vs, const ec_validator_t *v, uint32_t index);

/* ---- headers ---------------------------------------------------------------------------- */

typedef struct {
    char chain_id[EC_CHAIN_ID_MAX];
    uint64_t height;                  /* 1 for the first block                          */
    uint64_t time_ms;                 /* proposer's clock, ms since the Unix epoch       */
    uint8_t prev_hash[EC_HASH_BYTES]; /* previous block hash; genesis hash at height 1   */
    uint8_t tx_root[EC_HASH_BYTES];   /* RFC 9162 root over EC_LEAF_TX leaves (tx ids)   */
    uint64_t tx_count;
    uint8_t state_root[EC_HASH_BYTES];   /* application state commitment after this block   */
    uint8_t hist_root[EC_HASH_BYTES];    /* root over genesis + blocks 1..height-1          */
    uint8_t xanchor_root[EC_HASH_BYTES]; /* root over EC_LEAF_ANCHOR entries accepted here  */
    uint64_t xanchor_count;
    uint8_t valset_hash[EC_HASH_BYTES];      /* the set that commits this block            */
    uint8_t next_valset_hash[EC_HASH_BYTES]; /* the set that commits the next one          */
    uint8_t evidence_root[EC_HASH_BYTES];    /* root over EC_LEAF_EVIDENCE entries          */
    uint64_t evidence_count;
} ec_header_t;

/* [version=2, chain_id, height, time_ms, prev_hash, tx_root, tx_count, state_root,
 *  hist_root, xanchor_root, xanchor_count, valset_hash, next_valset_hash, evidence_root,
 *  evidence_count]. tx_root is over EC_LEAF_TX leaves of (tx id, result): see
 * ec_tx_leaf. */
void ec_header_encode(ec_writer_t *w, const ec_header_t *h);
EC_WUR int ec_header_decode(ec_header_t *h, const uint8_t *data, size_t size);
void ec_header_read(ec_cur_t *c, ec_header_t *h); /* from a nested array */
/* Block hash: SHA-256 of the header's encoding. */
void ec_header_hash(uint8_t out[EC_HASH_BYTES], const ec_header_t *h);
/* True when every transaction in the block was an anchor (tx_count == xanchor_count > 0).
 * anchord does not anchor a chain for such blocks alone, so the two directions do not feed
 * each other; that is relay policy, and the chains accept an anchor of any block. */
bool ec_header_anchor_only(const ec_header_t *h);

/* ---- commits ---------------------------------------------------------------------------- */

typedef struct {
    uint32_t index;            /* position in the validator set                   */
    uint8_t sig[EC_SIG_BYTES]; /* precommit signature                             */
} ec_commit_sig_t;

typedef struct {
    uint64_t height;
    uint64_t round;
    uint8_t block_hash[EC_HASH_BYTES];
    uint32_t sig_count;
    ec_commit_sig_t sigs[EC_VALIDATORS_MAX];
} ec_commit_t;

/* [version, height, round, block_hash, [[index, sig], ...]], the signatures in strictly
 * increasing index order (ec_commit_sign keeps them so). */
void ec_commit_encode(ec_writer_t *w, const ec_commit_t *c);
/*
 * Decodes a commit: 0, or EC_EINVAL (malformed, non-canonical, height 0, an index of
 * EC_VALIDATORS_MAX or more, or indexes that do not strictly increase, so that a commit
 * has exactly one encoding) or EC_ETOOBIG; c is zeroed on error.
 */
EC_WUR int ec_commit_decode(ec_commit_t *c, const uint8_t *data, size_t size);
void ec_commit_read(ec_cur_t *cur, ec_commit_t *c);
/* The bytes a validator signs for a vote: "ecert/vote" 0x00 ||
 * msgpack [chain_id, height, round, vote_type, block_hash: bin32 | nil] (block_hash NULL
 * for a vote for nil). w is reset first. */
void ec_vote_sign_bytes(ec_writer_t *w, const char *chain_id, uint64_t height, uint64_t round,
                        uint32_t vote_type, const uint8_t *block_hash);
/* The bytes a proposer signs: "ecert/proposal" 0x00 || msgpack [chain_id, height, round,
 * valid_round + 1, block_hash] (valid_round -1 for none). w is reset first. */
void ec_proposal_sign_bytes(ec_writer_t *w, const char *chain_id, uint64_t height, uint64_t round,
                            int64_t valid_round, const uint8_t block_hash[EC_HASH_BYTES]);

/* ---- votes and evidence ----------------------------------------------------------------- */

/* A signed prevote or precommit (the consensus messages' and evidence's vote). */
typedef struct {
    uint64_t height;
    uint64_t round;
    uint32_t type;      /* EC_VOTE_PREVOTE or EC_VOTE_PRECOMMIT                    */
    uint32_t validator; /* index in the height's validator set                    */
    bool nil;           /* a vote for nil (hash is zero)                          */
    uint8_t hash[EC_HASH_BYTES];
    uint8_t sig[EC_SIG_BYTES];
} ec_vote_t;

/* [type, height, round, validator, block_hash: bin32 | nil, sig: bin64] */
void ec_vote_encode(ec_writer_t *w, const ec_vote_t *v);
void ec_vote_read(ec_cur_t *c, ec_vote_t *v); /* sticky; v zeroed on error              */
/* True when v->sig is validator pk's signature of v on chain_id. ~40 us. */
bool ec_vote_verify_sig(const ec_vote_t *v, const char *chain_id, const uint8_t pk[EC_PK_BYTES]);

/* Equivocation: two votes of one validator for one (height, round, type) with different
 * values. [version, vote_a, vote_b] with a's encoding ordered before b's (one encoding per
 * pair). Leaf tag EC_LEAF_EVIDENCE over this encoding. */
typedef struct {
    ec_vote_t a, b;
} ec_evidence_t;

void ec_evidence_encode(ec_writer_t *w, const ec_evidence_t *e);
EC_WUR int ec_evidence_decode(ec_evidence_t *e, const uint8_t *data, size_t size);
/* Puts a and b in canonical order (by encoding). */
void ec_evidence_order(ec_evidence_t *e);
/*
 * Checks e against the validator set of its height on chain_id: same height, round, type
 * and validator, different values, canonical order, both signatures valid. Returns 0,
 * EC_EINVAL (not evidence) or EC_ESIG (a signature does not verify).
 */
EC_WUR int ec_evidence_check(const ec_evidence_t *e, const char *chain_id, const ec_valset_t *vs);

/* ---- transaction results ---------------------------------------------------------------- */

/* What became of a transaction in its block: 0 applied, or the EC_E* code of the rule it
 * broke (it stays in the block, refused). `ref` and `slot` are application data committed
 * with it: on a side chain, ref is the main-chain height whose roles authorized it (0 when
 * none did), and slot an applied ISSUE's place in the chain's certificate status list
 * (ec_slist.h; 0 for every other transaction). */
typedef struct {
    int32_t code;
    uint64_t ref;
    uint64_t slot;
} ec_tx_result_t;

/* The leaf of a transaction in its block's tx_root:
 * SHA-256(0x00 || EC_LEAF_TX || tx_id || uint8(-code) || be64(ref) || be64(slot)). */
void ec_tx_leaf(uint8_t out[EC_HASH_BYTES], const uint8_t tx_id[EC_HASH_BYTES],
                const ec_tx_result_t *result);
/* Adds this validator's precommit signature for (height, round, block_hash) to c, keeping
 * c->sigs sorted by index. Adding an index twice is a bug (asserted). */
void ec_commit_sign(ec_commit_t *c, const char *chain_id, uint32_t index, const ec_key_t *key);
/*
 * Checks that c commits `h`: same height and block hash, in-range signer indexes in
 * strictly increasing order, valid precommit signatures, and signed power p with
 * 3p > 2 * total power.
 * Returns 0, EC_EINVAL (malformed: an index out of range, repeated or out of order, an
 * empty set) or
 * EC_ESIG (other height or hash, a bad signature, no quorum). Every signature is checked,
 * even past the quorum, so no byte of a commit is unchecked.
 */
EC_WUR int ec_commit_verify(const ec_commit_t *c, const ec_header_t *h, const ec_valset_t *vs);

/* ---- blocks ----------------------------------------------------------------------------- */

/* A block on disk and on the wire: [version=2, header: bin, txs: [bin, ...],
 * results: [[code: int, ref: uint], ...], evidence: [bin, ...]] (one result per
 * transaction; evidence entries are ec_evidence_encode bytes). Payloads are stored and
 * served separately, keyed by transaction id. */
void ec_block_encode(ec_writer_t *w, const ec_header_t *h, const uint8_t *const *txs,
                     const size_t *tx_sizes, const ec_tx_result_t *results, size_t tx_count,
                     const uint8_t *const *evidence, const size_t *evidence_sizes,
                     size_t evidence_count);

/* A decoded block; header, tx and evidence pointers borrow from the input buffer. */
typedef struct {
    ec_decoder_t dec;
    ec_header_t header;
    const uint8_t *header_bytes; /* the encoded header inside the block              */
    size_t header_size;
    uint32_t tx_count;
    const msgpack_object *txs;     /* tx_count bin objects: txs[i].via.bin         */
    const msgpack_object *results; /* tx_count [code, ref, slot] arrays (ec_block_result) */
    uint32_t evidence_count;
    const msgpack_object *evidence; /* evidence_count bin objects                  */
} ec_block_t;

/* The result of transaction i of a decoded block. */
void ec_block_result(const ec_block_t *b, uint32_t i, ec_tx_result_t *out);

/* Decodes a block: strict; header.tx_count must equal the number of transactions and of
 * results, header.evidence_count the number of evidence entries; result codes are 0 or
 * an EC_E* code.
 * Returns 0, EC_EINVAL, EC_ETOOBIG or EC_EVERSION; on error *b needs no fini. */
EC_WUR int ec_block_decode(ec_block_t *b, const uint8_t *data, size_t size);
void ec_block_fini(ec_block_t *b);

/* ---- genesis ---------------------------------------------------------------------------- */

typedef struct {
    char chain_id[EC_CHAIN_ID_MAX];
    uint32_t kind;                    /* EC_CHAIN_MAIN or EC_CHAIN_SIDE                 */
    char cert_type[EC_CERT_TYPE_MAX]; /* side chains: "degree", "marriage", ...; else ""*/
    uint64_t time_ms;
    ec_valset_t validators;
    uint32_t operator_count; /* main chain: governance keys                    */
    uint8_t operators[EC_OPERATORS_MAX][EC_PK_BYTES];
    /* Main chain: operator signatures an operator action needs (1..operator_count; 1 =
     * each operator acts alone). 0 on a side chain. */
    uint32_t operator_quorum;
    char main_chain_id[EC_CHAIN_ID_MAX]; /* side chains: the main chain they trust         */
    uint8_t main_genesis_hash[EC_HASH_BYTES];
    ec_valset_t main_validators;
    /* Side chains: past this age (block time minus the newest mirrored main header's
     * time) role-dependent transactions are refused, EC_ESTALE. 0 on a main chain. */
    uint64_t main_freshness_ms;
    /* EC_GENESIS_F_* flags: what the chain hosts beyond its own rules (0: nothing).      */
    uint64_t features;
} ec_genesis_t;

#define EC_MAIN_FRESHNESS_MS_DEFAULT 30000u /* side genesis default                      */
#define EC_MAIN_FRESHNESS_MS_MIN 1000u

/* [version=2, chain_id, kind, cert_type, time_ms, validators, operators: [bin...],
 *  main_chain_id, main_genesis_hash: bin(32), main_validators, main_freshness_ms];
 * version 3 (operator_quorum > 1) has operator_quorum: uint after operators; version 4
 * (features != 0) has operator_quorum after operators whatever its value (main: 1..n,
 * side: 0) and features: uint last. Each genesis has one encoding: the lowest version
 * that holds it. */
void ec_genesis_encode(ec_writer_t *w, const ec_genesis_t *g);
EC_WUR int ec_genesis_decode(ec_genesis_t *g, const uint8_t *data, size_t size);
void ec_genesis_hash(uint8_t out[EC_HASH_BYTES], const ec_genesis_t *g);

/* ---- anchor entries --------------------------------------------------------------------- */

/* One foreign header a block accepted: [chain_id, height, header_hash]. Leaf tag
 * EC_LEAF_ANCHOR over this encoding. */
typedef struct {
    char chain_id[EC_CHAIN_ID_MAX];
    uint64_t height;
    uint8_t header_hash[EC_HASH_BYTES];
} ec_anchor_entry_t;

void ec_anchor_entry_encode(ec_writer_t *w, const ec_anchor_entry_t *e);
void ec_anchor_entry_leaf(uint8_t out[EC_HASH_BYTES], const ec_anchor_entry_t *e);
/* Decodes an encoded anchor entry (strict). Returns 0 or EC_EINVAL / EC_ETOOBIG. */
EC_WUR int ec_anchor_entry_decode(ec_anchor_entry_t *e, const uint8_t *data, size_t size);

#endif
