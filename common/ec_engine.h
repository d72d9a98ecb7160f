/*
 * ec_engine.h - one validator's (or follower's) chain engine, deterministic and
 * single-threaded: it takes verified transactions, messages from the other validators and
 * the passing of time, and drives Tendermint (ec_tm), block execution (ec_exec), the
 * mempool, catch-up, evidence and the signer record (ec_guard) to commit blocks
 * (docs/CONSENSUS.md has the protocol).
 *
 * It owns no thread, socket or clock. Everything outside comes in through calls and goes
 * out through an ec_engine_env_t: the node (ec_node.c) plugs in its clock, its ZeroMQ
 * links and verifier threads; the simulator (tests/sim) plugs in a simulated clock and
 * network and runs the same engine, so what the simulator checks is what runs.
 *
 * Transactions travel as ec_pending_t, which their maker owns and the engine hands back
 * through pending->release once it is done with them (after env->done for those a client
 * waits for).
 *
 * Determinism: for one sequence of calls (and one sequence of env->now_ms / wall_ms
 * answers) the engine makes the same env calls in the same order. It reads no clock,
 * draws no random number and iterates no unordered container.
 *
 * Threads: every call on one thread; env functions are called on that thread.
 */
#ifndef EC_ENGINE_H
#define EC_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "ec_app.h"
#include "ec_crypto.h"
#include "ec_guard.h"
#include "ec_ledger.h"
#include "ec_tm.h"
#include "ec_types.h"

/* ---- transactions in the engine's care --------------------------------------------------- */

typedef struct ec_pending ec_pending_t;
struct ec_pending {
    ec_tx_t tx;              /* decoded by ec_pending_check                            */
    bool decoded;            /* tx holds a decode (released with the pending)          */
    const uint8_t *envelope; /* the signed envelope                                    */
    size_t envelope_size;
    const uint8_t *payload; /* NULL when it has none                                  */
    size_t payload_size;
    void *client;                     /* a client waits for the outcome (the maker's), or NULL  */
    void (*release)(ec_pending_t *p); /* frees p and what it points into (the maker's)  */
    /* The engine's. */
    uint32_t refs;       /* holders: mempool, proposals                                  */
    uint64_t arrived_ms; /* when it entered the mempool                                  */
    bool in_mempool;
};

/*
 * Decodes p->envelope and checks what needs no ledger: envelope format, chain id, payload
 * presence and hash, signature (~40 us), the app's check_tx. Any thread. Returns 0, or the
 * refusal code with st saying why (the decode, if any, is kept for release).
 */
EC_WUR int ec_pending_check(ec_pending_t *p, const char *chain_id, const ec_app_t *app,
                            ec_status_t *st);
/* A pending holding its own copy of a transaction and its payload (for transactions that
 * come from other validators); release frees it. NULL when memory is exhausted. */
ec_pending_t *ec_pending_copy(const uint8_t *envelope, size_t envelope_size, const uint8_t *payload,
                              size_t payload_size);

/* A batch of transactions to check off the engine's thread (env->verify). The node splits
 * it over its verifier threads; the verifier calls ec_verify_job_run on (a range of) it and
 * the engine gets it back whole through ec_engine_verified. */
typedef struct {
    uint64_t id; /* the engine's                                               */
    uint32_t count;
    ec_pending_t **in; /* [count] pendings to check (copies the engine made)         */
    int *codes;        /* [count] 0 or the refusal code, filled by the run           */
} ec_verify_job_t;

/* Checks items [from, to) of job with ec_pending_check. Any thread; ranges do not overlap. */
void ec_verify_job_run(ec_verify_job_t *job, uint32_t from, uint32_t to, const char *chain_id,
                       const ec_app_t *app);

/* ---- the environment -------------------------------------------------------------------- */

typedef struct {
    void *ctx;
    /* Monotonic milliseconds, for timers. */
    uint64_t (*now_ms)(void *ctx);
    /* Wall-clock milliseconds since the Unix epoch: the time this node proposes for a block,
     * and the bound a proposal's time is checked against. Never read while applying. */
    uint64_t (*wall_ms)(void *ctx);
    /* One message to validator `peer` (an index of the current set, not this node), or to
     * every other validator. Never block; losing a message is allowed. */
    void (*send)(void *ctx, uint32_t peer, const uint8_t *msg, size_t size);
    void (*broadcast)(void *ctx, const uint8_t *msg, size_t size);
    /* Check job's transactions (ec_verify_job_run) and hand it back with
     * ec_engine_verified, later or at once. The job is the engine's until then. */
    void (*verify)(void *ctx, ec_verify_job_t *job);
    /* The outcome of a pending a client waits for (p->client != NULL): code 0 with height
     * and index (committed), or the refusal code with a message. Called before release. */
    void (*done)(void *ctx, ec_pending_t *p, int code, uint64_t height, uint32_t index,
                 const char *msg);
    /* The validator set of the height now in progress, and this node's index in it
     * (UINT32_MAX: not a validator); called at start and whenever the set changes. */
    void (*valset)(void *ctx, const ec_valset_t *vs, uint32_t me);
    /* A block was stored: its encoded header and commit (announce them). */
    void (*committed)(void *ctx, uint64_t height, const uint8_t *header, size_t header_size,
                      const uint8_t *commit, size_t commit_size);
} ec_engine_env_t;

/* ---- configuration ---------------------------------------------------------------------- */

typedef struct {
    const ec_genesis_t *genesis; /* copied                                               */
    ec_app_t *app;               /* borrowed                                             */
    ec_ledger_t *ledger;         /* borrowed, opened                                     */
    ec_guard_t *guard;           /* borrowed, opened                                     */
    /* A new signer record (ec_guard_state_t.fresh) signs at once instead of abstaining:
     * the operator vouches that this validator signed nothing at the heights in progress
     * (daemons' --sign-at-once). */
    bool sign_at_once;
    const ec_key_t *key; /* this node's validator key (borrowed), or NULL        */
    ec_tm_config_t timeouts;
    uint32_t block_interval_ms; /* oldest waiting transaction starts a height           */
    uint32_t block_txs_max;     /* <= EC_BLOCK_TXS_MAX                                  */
    uint32_t mempool_max;       /* transactions waiting                                 */
    size_t mempool_bytes_max;   /* their envelopes and payloads                         */
    uint32_t heartbeat_ms;      /* a block at least this often (0: only with txs)       */
    uint32_t gossip_ms;         /* STATUS and own votes again                           */
} ec_engine_config_t;

/* Defaults (ec_engine_config_defaults). */
#define EC_ENGINE_GOSSIP_MS 200u
#define EC_ENGINE_BLOCK_BYTES_MAX (24u * 1024 * 1024) /* a block and its payloads      */
#define EC_BLOCK_TIME_DRIFT_MS 10000u /* a proposal's time may be this far ahead      */
#define EC_ENGINE_MEMPOOL_BYTES_DEFAULT (256u * 1024 * 1024)

/* Zeroes cfg and fills timeouts and intervals with their defaults (docs/CONSENSUS.md,
 * section 8). */
void ec_engine_config_defaults(ec_engine_config_t *cfg);

typedef struct ec_engine ec_engine_t;

/*
 * Makes an engine over the ledger's committed tip. Checks the store against the guard
 * record (a store below it catches up from peers when there are any; alone it is
 * refused). Returns NULL with st set (EC_EIO, EC_ECHAIN, EC_EVERSION, EC_ECONFIG,
 * EC_ENOMEM).
 */
ec_engine_t *ec_engine_new(const ec_engine_config_t *cfg, const ec_engine_env_t *env,
                           ec_status_t *st);
/* Gives every pending back (clients hear EC_ESHUTDOWN) and frees; NULLs *self_p. */
void ec_engine_destroy(ec_engine_t **self_p);

/* ---- inputs (each returns 0, or a local fault: the caller must stop the node) ----------- */

/*
 * A checked transaction from a client of this node (p->client set) or from the verifier
 * (gossip). The engine takes it: it enters the mempool, or is refused through env->done
 * (EC_EREPLAY, EC_EBUSY) and released.
 */
EC_WUR int ec_engine_submit(ec_engine_t *e, ec_pending_t *p);
/* A message from validator `from` (its authenticated index). Bad messages are ignored. */
EC_WUR int ec_engine_message(ec_engine_t *e, uint32_t from, const uint8_t *msg, size_t size);
/* A job given to env->verify, done. */
EC_WUR int ec_engine_verified(ec_engine_t *e, ec_verify_job_t *job);
/* Time passed: fires what is due. */
EC_WUR int ec_engine_tick(ec_engine_t *e);
/* When the next thing is due, in env->now_ms time (UINT64_MAX: nothing scheduled). */
uint64_t ec_engine_deadline(const ec_engine_t *e);

/* ---- state (status, tests) -------------------------------------------------------------- */

typedef struct {
    uint64_t height;      /* committed tip                                             */
    uint64_t round;       /* of the height in progress                                 */
    uint32_t step;        /* ec_tm_step_t, 0 when idle                                 */
    uint32_t validator;   /* this node's index, UINT32_MAX when it does not validate   */
    uint32_t validators;  /* in the current set                                        */
    uint32_t mempool;     /* transactions waiting                                      */
    uint64_t peers_ahead; /* highest tip a peer reported                               */
    bool catching_up;
    uint64_t evidence_pending;
    bool decided;     /* the height is decided; its block is awaited from the proposer      */
    bool abstain;     /* a fresh signer record: this validator sits this height out         */
    uint64_t checked; /* transactions from other validators sent to the verifiers, ever:
                         with the clients' own, each transaction should be checked once */

    /* Results in the blocks stored since this engine started (metrics: counted, never
     * read by the engine's logic). */
    uint64_t txs_applied;
    uint64_t txs_refused;
} ec_engine_status_t;

void ec_engine_status(const ec_engine_t *e, ec_engine_status_t *out);
/* The ledger's committed tip hash (for tests). */
const uint8_t *ec_engine_tip_hash(const ec_engine_t *e);

#endif
