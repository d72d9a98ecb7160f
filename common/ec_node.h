/*
 * ec_node.h - the chain engine every daemon runs: RPC server, verifier pool, mempool,
 * block production, consensus, ledger commit, header announcements.
 *
 * Pipeline (each stage its own thread, joined by ZeroMQ inproc sockets):
 *
 *   ROUTER (clients) -> rpc thread --submit--> verifier pool (N threads: decode, signature,
 *   app check_tx) --> commit thread (mempool, dedupe, build block, deliver_tx, consensus,
 *   one synced batch) --> rpc thread (replies to the submitters) and PUB (headers).
 *
 * A submit is answered only after its block is durably committed, with the transaction id,
 * height and index, or with the reason it was refused. Queries are served by the rpc thread
 * straight from committed data. Consensus is behind ec_consensus (solo for one validator);
 * the engine proposes blocks and applies decided ones, nothing else.
 *
 * Wire protocol: docs/PROTOCOL.md. Methods served: status, submit, tx, header, block,
 * tx_proof, hist_proof, hist_consistency, anchor_proof, genesis, query (forwarded to the
 * app). Storage written per block: see the table at the top of ec_node.c.
 *
 * Limits: a request is at most EC_RPC_MESSAGE_BYTES_MAX (bigger: EC_ETOOBIG, and above
 * twice that ZeroMQ drops the connection); a block holds at most block_txs_max
 * transactions, 32 MiB of them, and closes early after 256 failed deliver_tx calls (RocksDB
 * rollbacks cost O(pending writes)); at most mempool_max (<= 262144) verified transactions
 * wait, beyond that submit is EC_EBUSY; verify_threads above 64 and mempool_max above
 * 262144 are lowered to those values (with a warning).
 */
#ifndef EC_NODE_H
#define EC_NODE_H

#include <stdint.h>

#include "ec_app.h"
#include "ec_crypto.h"
#include "ec_err.h"
#include "ec_types.h"

/* Limits of the engine's configuration; ec_config refuses larger values in a config file
 * and ec_node_new refuses them from any caller. */
#define EC_NODE_VERIFY_THREADS_MAX 64u /* more threads than any core count we run on      */
#define EC_NODE_MEMPOOL_MAX 262144u    /* the id set is sized for it: more is only memory */

typedef struct {
    const char *data_dir;          /* RocksDB directory (created if missing)                 */
    const char *rpc_endpoint;      /* ROUTER bind, e.g. "tcp://127.0.0.1:7100"               */
    const char *pub_endpoint;      /* PUB bind for committed headers                          */
    const ec_genesis_t *genesis;   /* this chain's genesis (copied)                           */
    const ec_key_t *validator_key; /* borrowed; must be in genesis.validators                 */
    uint32_t block_interval_ms;    /* longest a verified tx waits before a block starts      */
    uint32_t block_txs_max;        /* cap per block, <= EC_BLOCK_TXS_MAX                     */
    uint32_t verify_threads;       /* size of the verifier pool (>= 1)                       */
    uint32_t mempool_max;          /* verified txs waiting; more are refused with EC_EBUSY  */
    bool adopt_store;              /* a store without guard file is taken as complete       */
    /* Bounds per client connection and for the node (0: the defaults below). */
    uint32_t clients_max;           /* connections served at once                         */
    size_t client_reply_bytes_max;  /* a connection's unread replies before it is refused */
    size_t client_submit_bytes_max; /* a connection's submissions in the pipeline         */
    size_t submit_bytes_max;        /* all submissions in the pipeline                    */
} ec_node_config_t;

#define EC_NODE_CLIENTS_MAX_DEFAULT 1024u
#define EC_NODE_CLIENT_REPLY_BYTES_DEFAULT (8u << 20)
#define EC_NODE_CLIENT_SUBMIT_BYTES_DEFAULT (64u << 20)
#define EC_NODE_SUBMIT_BYTES_DEFAULT (512u << 20)

typedef struct ec_node ec_node_t;

/*
 * Opens the ledger, checks it belongs to this genesis (or initialises it), recovers any
 * interrupted state, binds the sockets and starts the threads. Returns NULL and fills st
 * on failure (a port in use, a ledger of another chain, a key not in the validator set).
 */
ec_node_t *ec_node_new(const ec_node_config_t *cfg, ec_app_t *app, ec_status_t *st);
/*
 * Serves until SIGINT or SIGTERM (or ec_node_stop from another thread), then drains: the
 * block being written is finished, pending submitters get EC_ESHUTDOWN. Returns 0 or the
 * error that stopped the node.
 */
int ec_node_run(ec_node_t *node);
/* Asks a running node to stop (async-signal-safe). */
void ec_node_stop(ec_node_t *node);
/* Stops the threads, closes sockets and ledger, frees everything; NULLs *self_p. */
void ec_node_destroy(ec_node_t **self_p);

#endif
