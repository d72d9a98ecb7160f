/*
 * ec_node_priv.h - what the node's source files share (ec_node.c, ec_node_rpc.c,
 * ec_node_core.c): the node itself, a submission in flight and the inproc plumbing.
 * Not a public header: nothing outside those files includes it.
 *
 * Sockets and their owners (all in the node's own ZeroMQ context; the validator links of
 * ec_p2p live in a context of their own):
 *
 *   rpc thread      ROUTER (clients); PUSH inproc://verify (bound); PULL inproc://reply
 *                   (bound)
 *   verifier i      PULL inproc://verify and inproc://verify-jobs; PUSH inproc://core,
 *                   inproc://core-jobs and inproc://reply
 *   core thread     PULL inproc://core and inproc://core-jobs (bound); PUSH
 *                   inproc://verify-jobs (bound), PUB (headers), PUSH inproc://reply;
 *                   ec_p2p
 *   stopping thread PUSH inproc://reply (answers what is left when the node stops)
 *
 * A submission travels as a pointer to one heap ec_sub_t that owns the client's routing
 * id and request frame (ZeroMQ hands the frame over without copying); the transaction and
 * payload are read in place. It reaches the engine as its first member, an ec_pending_t,
 * and is freed by its release function when the engine is done with it.
 */
#ifndef EC_NODE_PRIV_H
#define EC_NODE_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <zmq.h>

#include "ec_clients.h"
#include "ec_codec.h"
#include "ec_engine.h"
#include "ec_guard.h"
#include "ec_ledger.h"
#include "ec_merkle.h"
#include "ec_metrics.h"
#include "ec_node.h"
#include "ec_p2p.h"

#define EC_NODE_EP_VERIFY "inproc://verify"
#define EC_NODE_EP_VERIFY_JOBS "inproc://verify-jobs"
#define EC_NODE_EP_CORE "inproc://core"
#define EC_NODE_EP_CORE_JOBS "inproc://core-jobs"
#define EC_NODE_EP_REPLY "inproc://reply"
/* Messages a thread handles per wake-up before it looks at its other sockets. */
#define EC_NODE_BATCH 1024

/* One submission in flight. */
typedef struct {
    ec_pending_t pending; /* first: the engine sees this (pending.client = this sub)    */
    zmq_msg_t route;      /* the client's routing id at our ROUTER                      */
    zmq_msg_t frame;      /* the request frame; tx and payload are read inside it       */
    uint64_t req_id;
    ec_clients_t *clients; /* the client table its bytes are charged to                */
    ec_client_t *client;   /* the submitting client (its slot outlives the sub)        */
    size_t charged;        /* bytes charged to it                                      */
} ec_sub_t;

/* A range of an engine verification job, for one verifier. */
typedef struct {
    ec_verify_job_t *job;
    uint32_t from, to;
    uint32_t *remaining; /* chunks of the job not back yet (core thread only)          */
} ec_chunk_t;

typedef struct {
    ec_node_t *node;
    pthread_t thread;
    bool started;
    void *pull;       /* PULL inproc://verify                                         */
    void *jobs_pull;  /* PULL inproc://verify-jobs                                    */
    void *core_push;  /* PUSH inproc://core                                           */
    void *jobs_push;  /* PUSH inproc://core-jobs                                      */
    void *reply_push; /* PUSH inproc://reply                                          */
} ec_verifier_t;

/* The rpc thread's buffers. */
typedef struct {
    ec_decoder_t req_dec; /* the request being served                                      */
    ec_decoder_t val_dec; /* stored values decoded while serving it                         */
    ec_writer_t out;      /* the reply                                                      */
    ec_hash32_t *leaves;  /* EC_BLOCK_TXS_MAX leaf hashes for tx_proof                      */
} ec_server_t;

/* What the core thread publishes for status (atomics: the rpc thread reads them). */
typedef struct {
    atomic_uint mempool;
    atomic_ullong round;
    atomic_uint step;
    atomic_uint validator; /* UINT32_MAX: not a validator                             */
    atomic_uint validators;
    atomic_uint peers; /* connected validator links                               */
} ec_node_stats_t;

/* The node's Prometheus series (ec_node_metrics.c); every one labelled with the chain id.
 * Written by the threads named, read only by scrapes. */
#define EC_NODE_CODES_MAX 32 /* -EC_E* codes counted by ecert_submit_total (0: OK)       */
#define EC_NODE_ROCKS_MAX 16 /* RocksDB properties exported                               */
/* A scrape-time RocksDB reader's argument: the node and the index of its property. */
typedef struct {
    ec_node_t *node;
    unsigned index;
} ec_node_rocks_arg_t;
typedef struct {
    ec_metrics_t *reg;
    ec_metric_t *height;       /* core: committed tip                                  */
    ec_metric_t *interval;     /* core: header time between consecutive blocks         */
    ec_metric_t *block_txs;    /* core: transactions per block                         */
    ec_metric_t *applied;      /* core: ecert_txs_total{result="applied"}              */
    ec_metric_t *refused;      /* core: ecert_txs_total{result="refused"}              */
    ec_metric_t *mempool;      /* core                                                 */
    ec_metric_t *round;        /* core: round of the height in progress                */
    ec_metric_t *rounds;       /* core: commit rounds beyond 0, summed                 */
    ec_metric_t *validators;   /* core                                                 */
    ec_metric_t *validating;   /* core: 1 when this node is in the set                 */
    ec_metric_t *peers;        /* core: connected validator links                      */
    ec_metric_t *catching_up;  /* core                                                 */
    ec_metric_t *verify_queue; /* rpc +, core + (jobs), verifiers -                   */
    ec_metric_t *_Atomic submit[EC_NODE_CODES_MAX]; /* any thread, registered on first use */
    uint64_t last_time_ms; /* core: header time of the last block seen             */
    uint64_t applied_seen; /* core: engine counts already added                    */
    uint64_t refused_seen;
    ec_node_rocks_arg_t rocks[EC_NODE_ROCKS_MAX];
} ec_node_metrics_t;

struct ec_node {
    ec_node_config_t cfg; /* copy; strings below                                    */
    char *data_dir, *rpc_endpoint, *pub_endpoint, *p2p_endpoint;
    ec_node_peer_t peers[EC_NODE_PEERS_MAX];
    ec_genesis_t genesis;
    uint8_t genesis_hash[EC_HASH_BYTES];
    uint8_t *genesis_bytes;
    size_t genesis_size;
    ec_app_t *app;
    ec_ledger_t *ledger;
    ec_guard_t *guard;
    bool guard_created;
    ec_engine_t *engine;   /* core thread only (and the stopper after join)           */
    ec_p2p_t *p2p;         /* core thread only; NULL with no peers configured         */
    ec_clients_t *clients; /* per-client bounds (rpc thread; counters atomic)         */
    uint64_t trim_at_ms;   /* last malloc_trim (rpc thread)                           */
    bool trim_due;         /* queued replies were high: trim once they drain         */

    void *zctx;
    void *router, *verify_push, *reply_pull;            /* rpc thread          */
    void *core_pull, *core_jobs_pull, *jobs_push, *pub; /* core thread         */
    void *core_reply;                                   /* core thread         */
    void *stop_reply;                                   /* the stopping thread */
    void *reply_sock; /* where env->done answers right now (core_reply or stop_reply) */
    ec_verifier_t *verifiers;
    uint32_t verifier_count;

    pthread_t rpc_thread, core_thread;
    bool rpc_started, core_started;
    int stop_pipe[2];         /* ec_node_stop / signals / fatal errors -> run         */
    int halt_pipe[2];         /* stage 1 of stopping, seen by every thread            */
    int final_pipe[2];        /* stage 3: the rpc thread flushes and exits            */
    atomic_int intake_closed; /* the rpc thread no longer feeds the verifiers         */
    atomic_int fatal;         /* the error that stopped the node                      */
    bool shut_down;
    ec_node_stats_t stats;

    ec_server_t srv;
    ec_writer_t w_reply; /* replies built on the core and stopping threads        */
    /* The core thread's aggregated "committed" log line. */
    uint64_t log_at_ms;
    uint32_t log_blocks, log_txs;
    uint64_t p2p_tick_ms; /* last ec_p2p_tick (core thread)                        */
    ec_node_metrics_t metrics;
    char *metrics_addr; /* copy of cfg.metrics_addr, or NULL                    */
};

/* ---- shared helpers (ec_node.c) ------------------------------------------------------- */

uint64_t ec_node_mono_ms(void);
uint64_t ec_node_wall_ms(void);
/* Raises a pipe used as a level-triggered flag (async-signal-safe). */
void ec_node_pipe_raise(int fd);
/* Records the error that stops the node and asks it to stop. */
void ec_node_fatal(ec_node_t *node, int code);
/* Sends a pointer to the next stage, waiting for room but giving up when the node halts.
 * 0, EC_ESHUTDOWN or EC_EINTERNAL. */
int ec_node_push_ptr(void *sock, void *ptr, int halt_fd);
/* Receives one pointer without waiting; NULL when none is queued. */
void *ec_node_pull_ptr(void *sock);
/* Sends [route, bytes of w] on sock (towards the rpc thread); the route is consumed. */
void ec_node_send_reply(void *sock, zmq_msg_t *route, ec_writer_t *w, int flags);
/* Frees a submission (the pending's release function for subs). */
void ec_node_sub_release(ec_pending_t *p);
/* Answers a submission with an error on push (towards the rpc thread) and frees it. */
void ec_node_sub_refuse(void *push, ec_writer_t *w, ec_sub_t *sub, int code, const char *msg);

/* ---- metrics (ec_node_metrics.c) ------------------------------------------------------- */

/* Registers the node's series (the ledger is open) and serves them when cfg.metrics_addr
 * is set. 0, or an error with st set (EC_ENOMEM, EC_EIO: the port is taken). */
int ec_node_metrics_init(ec_node_t *node, ec_status_t *st);
/* Stops serving (before anything the callbacks read is freed). Idempotent. */
void ec_node_metrics_stop(ec_node_t *node);
/* Frees the registry. Idempotent. */
void ec_node_metrics_fini(ec_node_t *node);
/* A client's submission was answered with code (0: committed and applied). Any thread. */
void ec_node_metrics_submit(ec_node_t *node, int code);
/* A block was stored (core thread). */
void ec_node_metrics_block(ec_node_t *node, const uint8_t *header, size_t header_size,
                           const uint8_t *commit, size_t commit_size);
/* The engine's status after a turn of the core loop (core thread). */
void ec_node_metrics_publish(ec_node_t *node, const ec_engine_status_t *es, uint32_t peers);

/* ---- the threads (ec_node_rpc.c, ec_node_core.c) ---------------------------------------- */

void *ec_node_rpc_main(void *arg);
void *ec_node_verify_main(void *arg);
void *ec_node_core_main(void *arg);
/* Makes the engine (and the p2p links) for node; 0 or an error with st set. */
int ec_node_core_init(ec_node_t *node, ec_status_t *st);
/* Frees what ec_node_core_init made (threads joined): clients still waiting hear
 * EC_ESHUTDOWN through stop_reply. */
void ec_node_core_fini(ec_node_t *node);

#endif
