/*
 * ec_exec.h - a chain's deterministic execution: applies a block body to the ledger's
 * pending batch through the application, producing the block's header and each
 * transaction's result, and stores a decided block with its commit in one synced batch.
 *
 * One function serves every block, whoever made it: the proposer applies the body it
 * assembled to learn its header, a validator applies a proposal to check the proposed
 * header, a node catching up applies a fetched block to check it. The same body on the
 * same state gives the same header on every node: nothing here reads a clock, a random
 * number or a local setting; block time is the body's.
 *
 * A transaction that breaks a rule stays in the block with its code (its writes undone
 * through the ledger's save point); one that hits a local fault (storage, memory, our own
 * bug: EC_EIO, EC_ENOMEM, EC_EINTERNAL) makes ec_exec_apply fail with that code, and the
 * node must stop rather than decide differently from the others.
 *
 * Validator sets: the application may change one validator per block (ec_block_ctx_t
 * valset_change); a change applied at height h is in force from h + 2. exec keeps the sets
 * of the next two heights and stores each change (EC_CF_META "vs/" be64(~height) -> encoded
 * set: the height it is in force from, inverted so that a forward seek finds the latest
 * change at or below a height). Header h carries valset_hash = hash(set of h) and
 * next_valset_hash = hash(set of h + 1), so a light client following headers learns of a
 * change one header ahead.
 *
 * Storage per block, in one synced batch with the state changes (ec_ledger.h):
 *   EC_CF_BLOCKS   be64(h)  -> ec_block_encode (transactions, results, evidence)
 *   EC_CF_HEADERS  be64(h)  -> [header: bin, commit: bin, anchors: [entry: bin, ...]]
 *   EC_CF_TXINDEX  id       -> [h, index] (refused transactions too: their ids are spent)
 *   EC_CF_PAYLOADS id       -> payload (applied transactions that carried one)
 *   EC_CF_META     "ev/" be64(h) be32(i) -> evidence i of block h
 *                  "evh/" SHA-256(evidence) -> be64(h)   (each evidence once)
 *                  "vs/" be64(~(h + 2)) -> the set in force from h + 2 (a change at h)
 *   EC_MLOG_HIST   leaf h = ec_merkle_leaf(EC_LEAF_BLOCK, block hash)
 *
 * Threads: one owner (the node's core thread). Committed reads by others go straight to
 * the ledger.
 */
#ifndef EC_EXEC_H
#define EC_EXEC_H

#include <stdbool.h>
#include <stdint.h>

#include "ec_app.h"
#include "ec_ledger.h"
#include "ec_types.h"

/* One transaction of a body: its envelope, its decode (kept alive by the caller) and its
 * payload (NULL when it has none, or when a block fetched while catching up comes without
 * it because the payload was erased). */
typedef struct {
    const uint8_t *envelope;
    size_t envelope_size;
    const ec_tx_t *tx;
    const uint8_t *payload;
    size_t payload_size;
} ec_exec_tx_t;

/* What a block is made of before it is applied. */
typedef struct {
    uint64_t height;  /* the tip + 1                                                   */
    uint64_t time_ms; /* after the tip's time (checked)                                */
    uint32_t tx_count;
    const ec_exec_tx_t *txs;
    uint32_t evidence_count; /* at most EC_BLOCK_EVIDENCE_MAX                        */
    const ec_evidence_t *evidence;
} ec_exec_body_t;

typedef struct ec_exec ec_exec_t;

/*
 * Takes over `ledger` (borrowed; it must outlive exec) for the chain of `genesis`, whose
 * rules are `app`: writes the genesis into a new ledger or checks an existing one belongs
 * to it, and loads the tip and the validator sets. Returns NULL with st set (EC_ECHAIN for
 * another chain's store, EC_EIO for a damaged one, EC_EVERSION for a store of an older
 * format, EC_ENOMEM).
 */
ec_exec_t *ec_exec_new(ec_ledger_t *ledger, ec_app_t *app, const ec_genesis_t *genesis,
                       ec_status_t *st);
void ec_exec_destroy(ec_exec_t **self_p);

/* The committed tip: height (0 before the first block), block hash (the genesis hash at
 * 0) and time (the genesis time at 0). */
uint64_t ec_exec_height(const ec_exec_t *x);
const uint8_t *ec_exec_tip_hash(const ec_exec_t *x);
uint64_t ec_exec_tip_time(const ec_exec_t *x);
/* The validator set of height h, for h at most tip + 2 (the two ahead are in memory; older
 * ones are read from the store). Returns 0 with *out filled, or EC_EIO / EC_ENOTFOUND. */
EC_WUR int ec_exec_valset(ec_exec_t *x, uint64_t h, ec_valset_t *out);
/* The committed set in force at height h in `ledger` (of `genesis`'s chain): the latest
 * change stored for h or below, else the genesis set. For readers without an ec_exec_t
 * (queries, the store check); changes for the two heights past the tip are stored with
 * the tip. Returns 0, or EC_EIO (a stored set does not decode). */
EC_WUR int ec_exec_valset_stored(ec_ledger_t *ledger, const ec_genesis_t *genesis, uint64_t h,
                                 ec_valset_t *out);
/*
 * The validator-set changes stored in `ledger`, oldest first: each takes effect at
 * heights[i] (the block that made it is heights[i] - 2; header heights[i] - 1 is the first
 * to name it as the next set) with sets[i]. Only changes at `from` or later, at most `max`
 * (ask again from the last height + 1 for more). Returns how many, or a local fault (< 0).
 */
EC_WUR int ec_exec_valset_changes(ec_ledger_t *ledger, uint64_t from, uint32_t max,
                                  uint64_t *heights, ec_valset_t *sets);
/*
 * The equivocation evidence committed in `ledger`, in (height, index) order, from block
 * `from` on: fn(ctx, height, index, evidence, size) for each (the encoding of
 * ec_evidence_encode, borrowed for the call) until fn returns non-zero or `max` were seen.
 * Returns how many fn saw, or a local fault (< 0).
 */
typedef int (*ec_exec_evidence_fn)(void *ctx, uint64_t height, uint32_t index,
                                   const uint8_t *evidence, size_t size);
EC_WUR int ec_exec_evidence_list(ec_ledger_t *ledger, uint64_t from, uint32_t max,
                                 ec_exec_evidence_fn fn, void *ctx);
/* The set that commits the next block (tip + 1); borrowed, valid until the next store. */
const ec_valset_t *ec_exec_next_valset(const ec_exec_t *x);

/*
 * Applies body on top of the tip into the ledger's pending batch (discarding whatever an
 * earlier apply left there). Returns 0 with *header, *hash and results[] (body->tx_count
 * entries, the caller's array) set, EC_EINVAL with st saying why when the body cannot be
 * a block here (wrong height, time not after the tip's, a transaction already committed
 * or twice in the body, evidence that does not check or was recorded already, too many
 * transactions), or a local fault (EC_EIO, EC_ENOMEM, EC_EINTERNAL: the node must stop).
 * The applied block stays pending until ec_exec_store or ec_exec_discard.
 */
EC_WUR int ec_exec_apply(ec_exec_t *x, const ec_exec_body_t *body, ec_header_t *header,
                         uint8_t hash[EC_HASH_BYTES], ec_tx_result_t *results, ec_status_t *st);
/* Why transaction `index` of the pending (or last stored) block was refused, as the
 * application said it, or NULL (not refused, or past the first EC_EXEC_REFUSALS_KEPT
 * refusals of the block). Borrowed until the next apply. */
#define EC_EXEC_REFUSALS_KEPT 256
const char *ec_exec_refusal(const ec_exec_t *x, uint32_t index);
/* The hash of the block applied and pending, or NULL when none is. */
const uint8_t *ec_exec_pending_hash(const ec_exec_t *x);
/* Drops the pending block. */
void ec_exec_discard(ec_exec_t *x);
/*
 * Stores the pending block with `commit` (for its hash) in one synced batch and makes it
 * the tip. Returns 0, or EC_EIO with st set (nothing changed; the node must stop). The
 * commit is not verified here: consensus produced it, or the caller checked it.
 */
EC_WUR int ec_exec_store(ec_exec_t *x, const ec_commit_t *commit, ec_status_t *st);

/* The encoded block and header last stored (borrowed, valid until the next apply). */
const uint8_t *ec_exec_last_block(const ec_exec_t *x, size_t *size);
const uint8_t *ec_exec_last_header(const ec_exec_t *x, size_t *size);
const uint8_t *ec_exec_last_commit(const ec_exec_t *x, size_t *size);

#endif
