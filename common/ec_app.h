/*
 * ec_app.h - the interface between the chain engine (ec_exec, driven by ec_engine) and a
 * chain's rules, in the manner of ABCI: the engine orders, stores and serves transactions
 * and knows nothing of identities or certificates; an app knows its rules and nothing of
 * sockets or consensus.
 *
 * Threads: check_tx runs on the verifier pool, in parallel, and must only look at the
 * transaction itself. deliver_tx and end_block run on the node's single core thread, in
 * block order, for every block applied: the node's own proposals, other validators'
 * proposals (a block may be applied and discarded several times before one is decided)
 * and blocks fetched while catching up. query runs on the RPC thread and reads only
 * committed data.
 *
 * deliver_tx must be deterministic (no clock, no randomness, no local setting: use
 * ctx->time_ms) and should check everything before it writes. It returns 0, the EC_E*
 * code of the rule the transaction breaks (the transaction stays in the block with that
 * code, its writes undone through a ledger save point, and every validator records the
 * same), or a local fault (EC_EIO, EC_ENOMEM, EC_EINTERNAL), which is never a verdict: the
 * node stops instead of deciding otherwise than its peers.
 */
#ifndef EC_APP_H
#define EC_APP_H

#include <stdint.h>

#include "ec_codec.h"
#include "ec_err.h"
#include "ec_ledger.h"
#include "ec_types.h"

#define EC_BLOCK_ANCHORS_MAX 64 /* foreign headers one block may accept                      */

/* What deliver_tx and end_block see of the block being built. */
typedef struct {
    const ec_genesis_t *genesis; /* this chain's genesis                                  */
    ec_ledger_t *ledger;         /* pending state: ec_state_get/put/del, ec_mlog_*        */
    uint64_t height;             /* height of the block being built                       */
    uint64_t time_ms;            /* block time (deterministic input)                      */
    uint32_t anchor_count;       /* anchor entries accepted so far in this block          */
    ec_anchor_entry_t anchors[EC_BLOCK_ANCHORS_MAX];
    /* Set by deliver_tx, committed with the transaction's result (0 before each one): on a
     * side chain, the main-chain height whose roles authorized it. */
    uint64_t ref;
    /* Set by deliver_tx, committed likewise (0 before each one): an applied ISSUE's place in
     * the side chain's status list (ec_tx_result_t). */
    uint64_t slot;
    /* The validator set of height + 1 (borrowed), and a change deliver_tx may make: one
     * validator's power (0 removes it), in force from height + 2. At most one per block
     * (the app refuses a second with EC_EBUSY) and it must leave a non-empty set of at
     * most EC_VALIDATORS_MAX: the app checks before it sets it. */
    const ec_valset_t *next_valset;
    bool valset_changed;
    ec_validator_t valset_change;
} ec_block_ctx_t;

/*
 * Records that this block accepted a foreign header (it goes into xanchor_root). Returns 0,
 * or EC_EBUSY when the block already holds EC_BLOCK_ANCHORS_MAX entries (the transaction
 * then fails and is retried by its sender in a later block).
 */
EC_WUR int ec_block_ctx_add_anchor(ec_block_ctx_t *ctx, const ec_anchor_entry_t *entry);

typedef struct {
    const char *name; /* "mainchain" or "sidechain", for logs                          */
    void *self;       /* the app's own state                                            */
    /* Stateless checks of one transaction (body shape, sizes, payload presence).           */
    int (*check_tx)(void *self, const ec_tx_t *tx, const uint8_t *payload, size_t payload_size,
                    ec_status_t *st);
    /* Applies one transaction to the pending state, or fails with st set.                  */
    int (*deliver_tx)(void *self, ec_block_ctx_t *ctx, const ec_tx_t *tx, const uint8_t *payload,
                      size_t payload_size, ec_status_t *st);
    /* After the block's last transaction: writes the state root for the header.            */
    int (*end_block)(void *self, ec_block_ctx_t *ctx, uint8_t state_root[EC_HASH_BYTES]);
    /* Answers a read-only query: `args` is the request's argument array; the result is one
     * msgpack object written to out. Unknown paths are EC_EMETHOD.                          */
    int (*query)(void *self, ec_ledger_t *ledger, const char *path, const msgpack_object *args,
                 ec_writer_t *out, ec_status_t *st);
    /* Optional, for the store check (ec_check.h): verifies the app's own committed logs
     * against header `h` (read-only, any thread). 0, or EC_EIO with st naming the fault. */
    int (*check_block)(void *self, ec_ledger_t *ledger, const ec_header_t *h, ec_status_t *st);
    /* Optional: after block `height` is stored (the core thread; committed reads only),
     * announces what the app publishes of it (contract events) with pub, one frame each. */
    void (*announce)(void *self, ec_ledger_t *ledger, uint64_t height,
                     void (*pub)(void *pctx, const uint8_t *frame, size_t size), void *pctx);
} ec_app_t;

#endif
