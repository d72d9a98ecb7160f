/*
 * ec_node.h - the process around a chain engine: RPC server, verifier pool, the core
 * thread that drives ec_engine (consensus, execution, storage), the links to the other
 * validators and header announcements.
 *
 * Threads, joined by ZeroMQ inproc sockets (docs/ARCHITECTURE.md, "Threads"):
 *
 *   ROUTER (clients) -> rpc thread --submit--> verifier pool (N threads: decode, signature,
 *   app check_tx) --> core thread (ec_engine: mempool, Tendermint, blocks, one synced batch
 *   per block; ec_p2p to the other validators) --> rpc thread (replies) and PUB (headers).
 *   The core thread also hands the verifiers the transactions other validators send
 *   (gossip, proposals), so every signature is checked off its thread, once.
 *
 * A submit is answered only after its block is durably committed, with the transaction id,
 * height and index, or with the reason it was refused (in the block, or before it).
 * Queries are served by the rpc thread straight from committed data.
 *
 * Source files: ec_node.c (life cycle, sockets, threads, signals), ec_node_rpc.c (the rpc
 * thread: requests, queries, per-client bounds), ec_node_core.c (verifier and core
 * threads, the engine's environment). Wire protocol: docs/PROTOCOL.md; between validators:
 * docs/CONSENSUS.md.
 *
 * Limits: a request is at most EC_RPC_MESSAGE_BYTES_MAX (bigger: EC_ETOOBIG, and above
 * twice that ZeroMQ drops the connection); a block holds at most block_txs_max
 * transactions and EC_ENGINE_BLOCK_BYTES_MAX bytes with their payloads; at most
 * mempool_max (<= EC_NODE_MEMPOOL_MAX) verified transactions wait, beyond that submit is
 * EC_EBUSY; larger values in the configuration are refused, not lowered.
 */
#ifndef EC_NODE_H
#define EC_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ec_app.h"
#include "ec_crypto.h"
#include "ec_err.h"
#include "ec_p2p.h"
#include "ec_tm.h"
#include "ec_types.h"

/* Limits of the engine's configuration; ec_config refuses larger values in a config file
 * and ec_node_new refuses them from any caller. */
#define EC_NODE_VERIFY_THREADS_MAX 64u /* more threads than any core count we run on      */
#define EC_NODE_MEMPOOL_MAX 262144u    /* the id set is sized for it: more is only memory */
#define EC_NODE_PEERS_MAX EC_VALIDATORS_MAX

/* Another validator this node may talk to: its key and where its p2p endpoint listens. */
typedef struct {
    uint8_t pk[EC_PK_BYTES];
    char endpoint[EC_P2P_ENDPOINT_MAX];
} ec_node_peer_t;

typedef struct {
    const char *data_dir;          /* RocksDB directory (created if missing)                 */
    const char *rpc_endpoint;      /* ROUTER bind, e.g. "tcp://127.0.0.1:7100"               */
    const char *pub_endpoint;      /* PUB bind for committed headers                          */
    const ec_genesis_t *genesis;   /* this chain's genesis (copied)                           */
    const ec_key_t *validator_key; /* borrowed; in genesis.validators (or a later set)       */
    uint32_t block_interval_ms;    /* longest a verified tx waits before a height starts     */
    uint32_t block_txs_max;        /* cap per block, <= EC_BLOCK_TXS_MAX                     */
    uint32_t verify_threads;       /* size of the verifier pool (>= 1)                       */
    uint32_t mempool_max;          /* verified txs waiting; more are refused with EC_EBUSY  */
    bool adopt_store;              /* a store without guard file is taken as complete       */
    bool sign_at_once; /* a new guard signs at once instead of abstaining (ec_engine)   */
    /* Bounds per client connection and for the node (0: the defaults below). */
    uint32_t clients_max;           /* connections served at once                         */
    size_t client_reply_bytes_max;  /* a connection's unread replies before it is refused */
    size_t client_submit_bytes_max; /* a connection's submissions in the pipeline         */
    size_t submit_bytes_max;        /* all submissions in the pipeline                    */
    /* Consensus with other validators (docs/CONSENSUS.md). p2p_endpoint is this node's
     * CurveZMQ bind; peers name the other validators' endpoints. Both may be empty for a
     * chain of one validator. 0 or zeroed values take the defaults. */
    const char *p2p_endpoint;
    const ec_node_peer_t *peers;
    uint32_t peer_count;
    uint32_t heartbeat_ms; /* a block at least this often, even empty (0: never)         */
    uint32_t gossip_ms;
    ec_tm_config_t timeouts;
    /* Prometheus metrics (ec_metrics_serve) on this "IPV4:PORT"; NULL or "": none served
     * (the node still counts them). */
    const char *metrics_addr;
} ec_node_config_t;

#define EC_NODE_CLIENTS_MAX_DEFAULT 1024u
#define EC_NODE_CLIENT_REPLY_BYTES_DEFAULT (8u << 20)
#define EC_NODE_CLIENT_SUBMIT_BYTES_DEFAULT (64u << 20)
#define EC_NODE_SUBMIT_BYTES_DEFAULT (512u << 20)

typedef struct ec_node ec_node_t;

/*
 * Opens the ledger and the guard file, checks the store against the guard (or initialises
 * a new one), binds the sockets, connects to the other validators and starts the threads.
 * Returns NULL and fills st on failure (a port in use, a ledger of another chain, a store
 * that lost committed blocks, a key not in the validator set).
 */
ec_node_t *ec_node_new(const ec_node_config_t *cfg, ec_app_t *app, ec_status_t *st);
/*
 * Serves until SIGINT or SIGTERM (or ec_node_stop from another thread), then drains: the
 * block being stored is finished, pending submitters get EC_ESHUTDOWN. Returns 0 or the
 * error that stopped the node.
 */
int ec_node_run(ec_node_t *node);
/* Asks a running node to stop (async-signal-safe). */
void ec_node_stop(ec_node_t *node);
/* Stops the threads, closes sockets and ledger, frees everything; NULLs *self_p. */
void ec_node_destroy(ec_node_t **self_p);

#endif
