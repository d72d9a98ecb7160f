/*
 * ec_engine.c - the chain engine (contract in ec_engine.h, protocol in docs/CONSENSUS.md).
 *
 * Shape: every public input does its work, then runs the action queue (s_run): inputs to
 * the Tendermint core that the engine's own outputs produced (its signed votes and
 * proposals fed back, timeouts that fired, verdicts on proposals) and the commit of a
 * decided block. Outputs of the core therefore never call back into it; they only queue.
 *
 * Invariants:
 * - height == ec_exec_height(exec) + 1 is the height in progress; `started` says whether
 *   the core runs it; proposals[] and the timers belong to it and are dropped at commit.
 * - A pending's refs count its holders: 1 for the mempool while in_mempool, 1 per
 *   proposal slot that lists it. It is released when refs falls to 0.
 * - Nothing signed leaves before the guard records it, when the set has more than one
 *   validator (alone, nothing signed leaves before the block and its commit are stored).
 * - `fault` holds the first local fault; once set every input returns it and does nothing.
 */
#include "ec_engine.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec_exec.h"
#include "ec_log.h"
#include "ec_mempool.h"
#include "ec_merkle.h"
#include "ec_p2pmsg.h"

#define S_PROPS_MAX 4                   /* proposals kept for the height in progress             */
#define S_ACTIONS_MAX 512               /* queued core inputs (a round makes a handful)           */
#define S_TIMERS_MAX 16                 /* timeouts scheduled (3 kinds, a few rounds)             */
#define S_EVPOOL_MAX 64                 /* evidence waiting for a block                           */
#define S_JOBS_MAX 64                   /* verification jobs out at once                          */
#define S_SYNC_BATCH 64                 /* blocks asked per GET_BLOCKS                            */
#define S_SYNC_INFLIGHT 2               /* GET_BLOCKS requests out at once                        */
#define S_SYNC_TIMEOUT_MS 3000          /* an unanswered GET_BLOCKS is asked elsewhere            */
#define S_BLOCKS_REPLY_BYTES (8u << 20) /* a BLOCKS answer, unless one block is bigger     */
#define S_OUTBOX_ITEMS 1024             /* transactions per TXS message                           */
#define S_OUTBOX_BYTES (512u << 10)
#define S_OUTBOX_DELAY_MS 2   /* gossip waits this long to batch                         */
#define S_ASK_INTERVAL_MS 100 /* GET_PROPOSAL at most this often per round               */

enum { S_PROP_EMPTY = 0, S_PROP_VERIFYING, S_PROP_VALID, S_PROP_INVALID };
enum { S_ACT_VOTE = 1, S_ACT_PROPOSAL, S_ACT_TIMEOUT, S_ACT_COMMIT };
enum { S_JOB_GOSSIP = 1, S_JOB_PROPOSAL };

/* One proposal of the height in progress. */
typedef struct {
    int state;
    uint64_t round;
    int64_t valid_round;
    uint8_t hash[EC_HASH_BYTES];
    uint8_t *msg; /* the PROPOSAL message, owned                                    */
    size_t msg_size;
    const uint8_t *block_bytes; /* the block inside msg                               */
    size_t block_size;
    ec_decoder_t dec; /* the message's parse (payload list)                         */
    const msgpack_object *payloads;
    ec_block_t block;   /* the block inside msg                                       */
    ec_pending_t **txs; /* [block.tx_count], a ref each once known                  */
    uint32_t missing;   /* transactions still being checked                           */
    uint64_t job;       /* their verification job                                     */
    ec_evidence_t evidence[EC_BLOCK_EVIDENCE_MAX];
    bool kept; /* in the consensus column family (the WAL of the height)           */
} s_prop_t;

typedef struct {
    int kind;
    uint64_t h, r;
    int64_t vr;
    ec_tm_timeout_t timeout;
    bool valid;
    uint8_t hash[EC_HASH_BYTES];
    ec_vote_t vote;
} s_action_t;

typedef struct {
    bool used;
    ec_tm_timeout_t kind;
    uint64_t h, r, due_ms;
} s_timer_t;

typedef struct {
    bool used;
    int kind;
    uint64_t round; /* S_JOB_PROPOSAL: the proposal's round at job time           */
    ec_verify_job_t job;
} s_job_t;

typedef struct {
    uint64_t height, round, tip, seen_ms;
    uint32_t step;
    uint64_t relayed_ms; /* last time it was sent the votes of its round           */
    bool heard;          /* a STATUS came from it since this engine started         */
} s_peer_t;

typedef struct {
    bool used;
    uint32_t peer;
    uint64_t from, sent_ms;
    uint32_t count;
} s_sync_req_t;

/* A decided block waiting for the action loop to commit it. */
typedef struct {
    bool due;
    uint64_t height, round;
    uint8_t hash[EC_HASH_BYTES];
    ec_commit_t commit;
} s_decision_t;

struct ec_engine {
    ec_engine_config_t cfg;
    ec_genesis_t genesis;
    ec_engine_env_t env;
    ec_app_t *app;
    ec_ledger_t *ledger;
    ec_guard_t *guard;
    const ec_key_t *key;
    uint8_t my_pk[EC_PK_BYTES];
    int fault;

    ec_exec_t *exec;
    ec_tm_t *tm;
    ec_mempool_t *mempool;
    /* Ids of the transactions in this height's proposals (the items are not used): gossip
     * of one of them is not verified again. Cleared when a height begins. */
    ec_mempool_t *prop_ids;

    /* The height in progress. */
    uint64_t height;
    bool started;
    bool seen_msg;          /* a peer spoke of this height: start it                   */
    ec_valset_t vs;         /* its validator set                                       */
    uint32_t me;            /* this node's index in vs, or UINT32_MAX                   */
    bool abstain;           /* do not sign at this height (height <= abstain_until)     */
    bool fresh_guard;       /* the guard was made at this start, its bound not yet known */
    uint64_t abstain_until; /* a new guard's bound: see s_fresh_bound                 */
    uint32_t wal_entries;   /* consensus WAL entries that may exist (0: none)            */
    uint64_t checked;       /* transactions from peers sent to the verifiers (status)     */
    uint64_t txs_applied;   /* results of the blocks stored here (status; never read by   */
    uint64_t txs_refused;   /* the engine's logic, so they cannot steer it)               */
    uint64_t last_commit_ms;
    s_prop_t props[S_PROPS_MAX];
    uint64_t asked_ms, asked_round;
    bool need; /* a quorum named a value no valid proposal here has      */
    uint64_t need_round;
    uint8_t need_hash[EC_HASH_BYTES];
    s_decision_t decision;

    s_action_t *actions; /* ring of S_ACTIONS_MAX                                    */
    uint32_t act_head, act_count;
    s_timer_t timers[S_TIMERS_MAX];
    uint64_t gossip_at_ms;

    s_peer_t peers[EC_VALIDATORS_MAX];
    s_sync_req_t sync[S_SYNC_INFLIGHT];
    ec_tx_t *sync_txs; /* EC_BLOCK_TXS_MAX decodes for fetched blocks (lazy)      */

    ec_evidence_t evpool[S_EVPOOL_MAX];
    uint32_t evpool_count;

    s_job_t jobs[S_JOBS_MAX];
    uint64_t next_job;

    ec_writer_t outbox; /* TXS items being batched (the array goes on at flush)   */
    uint32_t outbox_count;
    uint64_t outbox_since_ms;

    ec_writer_t w, w2;
    ec_decoder_t dec;
    ec_exec_tx_t *body; /* EC_BLOCK_TXS_MAX                                      */
    ec_tx_result_t *results;
    ec_pending_t **picked;
};

/* ---- pendings --------------------------------------------------------------------------- */

int ec_pending_check(ec_pending_t *p, const char *chain_id, const ec_app_t *app, ec_status_t *st)
{
    if (!p->decoded) {
        int rc = ec_tx_decode(&p->tx, p->envelope, p->envelope_size);
        if (rc != 0)
            return ec_status_set(st, rc, "tx: malformed transaction envelope (%s)",
                                 ec_strerror(rc));
        p->decoded = true;
    }
    const ec_tx_t *tx = &p->tx;
    if (strcmp(tx->chain_id, chain_id) != 0)
        return ec_status_set(st, EC_ECHAIN, "transaction is for chain \"%.64s\", not \"%s\"",
                             tx->chain_id, chain_id);
    if (tx->has_payload && !p->payload)
        return ec_status_set(st, EC_EINVAL,
                             "payload: the transaction names a payload_hash but no payload "
                             "was sent");
    if (!tx->has_payload && p->payload)
        return ec_status_set(st, EC_EINVAL,
                             "payload: sent, but the transaction has no payload_hash");
    if (p->payload) {
        uint8_t h[EC_HASH_BYTES];
        ec_sha256(h, p->payload, p->payload_size);
        if (memcmp(h, tx->payload_hash, EC_HASH_BYTES) != 0)
            return ec_status_set(st, EC_EINVAL, "payload: does not match payload_hash");
    }
    if (!ec_tx_verify_sig(tx))
        return ec_status_set(st, EC_ESIG, "transaction signature does not verify");
    int rc = app->check_tx(app->self, tx, p->payload, p->payload_size, st);
    if (rc != 0 && st->code != rc)
        ec_status_set(st, rc, "%s", ec_strerror(rc));
    return rc;
}

static void s_copy_release(ec_pending_t *p)
{
    if (p->decoded)
        ec_tx_fini(&p->tx);
    free(p);
}

ec_pending_t *ec_pending_copy(const uint8_t *envelope, size_t envelope_size, const uint8_t *payload,
                              size_t payload_size)
{
    ec_pending_t *p = malloc(sizeof *p + envelope_size + payload_size);
    if (!p)
        return NULL;
    memset(p, 0, sizeof *p);
    uint8_t *bytes = (uint8_t *)(p + 1);
    memcpy(bytes, envelope, envelope_size);
    p->envelope = bytes;
    p->envelope_size = envelope_size;
    if (payload) {
        memcpy(bytes + envelope_size, payload, payload_size);
        p->payload = bytes + envelope_size;
        p->payload_size = payload_size;
    }
    p->release = s_copy_release;
    return p;
}

void ec_verify_job_run(ec_verify_job_t *job, uint32_t from, uint32_t to, const char *chain_id,
                       const ec_app_t *app)
{
    assert(from <= to && to <= job->count);
    for (uint32_t i = from; i < to; i++) {
        ec_status_t st = {0};
        job->codes[i] = ec_pending_check(job->in[i], chain_id, app, &st);
    }
}

static void s_unref(ec_pending_t *p)
{
    assert(p->refs > 0);
    if (--p->refs == 0)
        p->release(p);
}

/* ---- small helpers ---------------------------------------------------------------------- */

static bool s_local_fault(int rc)
{
    return rc == EC_EIO || rc == EC_ENOMEM || rc == EC_EINTERNAL;
}

static void s_fault(ec_engine_t *e, int rc, const char *what)
{
    if (e->fault == 0) {
        ec_error("engine stops on a local fault: %s (%s)", what, ec_strerror(rc));
        e->fault = rc;
    }
}

static uint64_t s_now(const ec_engine_t *e)
{
    return e->env.now_ms(e->env.ctx);
}

static bool s_alone(const ec_engine_t *e)
{
    return e->vs.count <= 1;
}

/* Index of pk in vs, or UINT32_MAX. */
static uint32_t s_index_of(const ec_valset_t *vs, const uint8_t pk[EC_PK_BYTES])
{
    for (uint32_t i = 0; i < vs->count; i++)
        if (memcmp(vs->v[i].pk, pk, EC_PK_BYTES) == 0)
            return i;
    return UINT32_MAX;
}

/* ---- the action queue ------------------------------------------------------------------- */

static s_action_t *s_push(ec_engine_t *e, int kind)
{
    /* A round queues a handful of actions; hundreds queued means a loop: our bug. */
    assert(e->act_count < S_ACTIONS_MAX);
    s_action_t *a = &e->actions[(e->act_head + e->act_count++) % S_ACTIONS_MAX];
    memset(a, 0, sizeof *a);
    a->kind = kind;
    return a;
}

/* ---- the gossip outbox ------------------------------------------------------------------ */

static void s_outbox_flush(ec_engine_t *e)
{
    if (e->outbox_count == 0)
        return;
    if (!s_alone(e) && e->me != UINT32_MAX) {
        ec_writer_reset(&e->w);
        ec_p2pmsg_txs_begin(&e->w, e->me, e->outbox_count);
        ec_write_raw(&e->w, ec_writer_data(&e->outbox), ec_writer_size(&e->outbox));
        e->env.broadcast(e->env.ctx, ec_writer_data(&e->w), ec_writer_size(&e->w));
    }
    ec_writer_reset(&e->outbox);
    e->outbox_count = 0;
}

static void s_outbox_add(ec_engine_t *e, const ec_pending_t *p)
{
    if (s_alone(e) || e->me == UINT32_MAX)
        return;
    if (e->outbox_count == 0)
        e->outbox_since_ms = s_now(e);
    ec_p2pmsg_txs_add(&e->outbox, p->envelope, p->envelope_size, p->payload, p->payload_size);
    if (++e->outbox_count >= S_OUTBOX_ITEMS || ec_writer_size(&e->outbox) >= S_OUTBOX_BYTES)
        s_outbox_flush(e);
}

/* ---- the signer record ------------------------------------------------------------------ */

/* (h, r, step) compared with the guard's last signed (h, r, step). */
static int s_signed_cmp(const ec_guard_state_t *g, uint64_t h, uint64_t r, uint8_t step)
{
    if (h != g->signed_height)
        return h < g->signed_height ? -1 : 1;
    if (r != g->signed_round)
        return r < g->signed_round ? -1 : 1;
    if (step != g->signed_step)
        return step < g->signed_step ? -1 : 1;
    return 0;
}

/* Records in the guard what is about to be signed (synced), unless nothing signed leaves
 * this process (a set of one). Returns 0 or a local fault. */
static int s_guard_sign(ec_engine_t *e, uint64_t h, uint64_t r, uint8_t step, const uint8_t *hash,
                        const uint8_t sig[EC_SIG_BYTES])
{
    if (s_alone(e))
        return 0;
    ec_guard_state_t g = *ec_guard_state(e->guard);
    ec_tm_lock_t lock;
    ec_tm_lock(e->tm, &lock);
    if (h != g.signed_height)
        g.prevote_round = -1;
    if (step == EC_GUARD_STEP_PREVOTE) {
        g.prevote_round = (int64_t)r;
        g.prevote_nil = hash == NULL;
        memset(g.prevote_hash, 0, EC_HASH_BYTES);
        if (hash)
            memcpy(g.prevote_hash, hash, EC_HASH_BYTES);
        memcpy(g.prevote_sig, sig, EC_SIG_BYTES);
    }
    g.signed_height = h;
    g.signed_round = r;
    g.signed_step = step;
    g.signed_nil = hash == NULL;
    memset(g.signed_hash, 0, EC_HASH_BYTES);
    if (hash)
        memcpy(g.signed_hash, hash, EC_HASH_BYTES);
    memcpy(g.signed_sig, sig, EC_SIG_BYTES);
    /* Inside the core's output the lock already holds the transition that asks for this
     * signature (ec_tm.h): it is exactly what a restart must resume from. */
    g.locked_round = lock.locked_round;
    memcpy(g.locked_hash, lock.locked_hash, EC_HASH_BYTES);
    g.valid_round = lock.valid_round;
    memcpy(g.valid_hash, lock.valid_hash, EC_HASH_BYTES);
    g.voted_round = lock.voted_round;
    g.voted_type = (uint8_t)lock.voted_type;
    ec_status_t st = {0};
    int rc = ec_guard_save(e->guard, &g, &st);
    if (rc != 0)
        ec_error("signer record: %s", st.msg);
    return rc;
}

/* ---- the WAL of the height ------------------------------------------------------------ */

/*
 * A validator that precommits a block locks on it, and after a restart it will refuse
 * other blocks and propose that one again: it must still have it. So the proposal it
 * precommits is written, synced, to the consensus column family before the precommit is
 * signed, under "p" be64(height) hash, and loaded back when the node resumes the height.
 * The entries of a height go with its block's batch.
 */
static s_prop_t *s_prop_find(ec_engine_t *e, uint64_t round);
static s_prop_t *s_prop_by_hash(ec_engine_t *e, const uint8_t hash[EC_HASH_BYTES]);
static s_prop_t *s_prop_slot(ec_engine_t *e);
static int s_prop_load(s_prop_t *p, const uint8_t *data, size_t size);
static int s_prop_resolve(ec_engine_t *e, s_prop_t *p);

#define S_WAL_PREFIX 'p'
#define S_WAL_KEY_BYTES (1 + 8 + EC_HASH_BYTES)

/* The key of a proposal (S_WAL_KEY_BYTES), or with hash NULL the prefix of a height (9). */
static void s_wal_key(uint8_t *key, uint64_t h, const uint8_t *hash)
{
    key[0] = S_WAL_PREFIX;
    ec_be64_put(key + 1, h);
    if (hash)
        memcpy(key + 9, hash, EC_HASH_BYTES);
}

/* Writes proposal p of the height in progress to the WAL (once). 0 or a local fault. */
static int s_wal_keep(ec_engine_t *e, s_prop_t *p)
{
    if (p->kept || s_alone(e))
        return 0;
    uint8_t key[S_WAL_KEY_BYTES];
    s_wal_key(key, e->height, p->hash);
    ec_status_t st = {0};
    int rc =
        ec_ledger_put_synced(e->ledger, EC_CF_CONSENSUS, key, sizeof key, p->msg, p->msg_size, &st);
    if (rc != 0) {
        ec_error("consensus WAL: %s", st.msg);
        return rc;
    }
    p->kept = true;
    e->wal_entries++;
    return 0;
}

typedef struct {
    ec_engine_t *e;
    uint64_t height;
    int rc;
} s_wal_scan_t;

/* Loads one WAL entry of the height in progress into a proposal slot. */
static int s_wal_load_fn(void *vctx, const uint8_t *key, size_t key_size, const uint8_t *val,
                         size_t val_size)
{
    s_wal_scan_t *ctx = vctx;
    ec_engine_t *e = ctx->e;
    (void)key, (void)key_size;
    ec_p2pmsg_t m;
    if (ec_p2pmsg_decode(&e->dec, val, val_size, &m) != 0 || m.type != EC_P2P_PROPOSAL ||
        m.height != e->height || s_prop_find(e, m.round))
        return 0; /* not ours to judge here: the height's block batch removes it */
    s_prop_t *p = s_prop_slot(e);
    if (!p)
        return 0;
    int rc = s_prop_load(p, val, val_size);
    if (rc != 0) {
        ctx->rc = rc == EC_ENOMEM ? rc : 0;
        return rc == EC_ENOMEM ? 1 : 0;
    }
    p->kept = true;
    e->wal_entries++;
    ctx->rc = s_prop_resolve(e, p);
    return ctx->rc != 0;
}

/*
 * This validator's own votes of the height in progress, under "v" be64(h) be64(round)
 * type: a restarted validator has only its last prevote and last message in its guard,
 * and peers still in an earlier round may need the others to complete a quorum and move
 * on (ecert-sim found heights that waited forever for votes lost so). Synced with the
 * signature, deleted with the height's other WAL entries.
 */
#define S_WAL_VOTE_PREFIX 'v'
#define S_WAL_VOTE_KEY_BYTES (1 + 8 + 8 + 1)
#define S_WAL_VOTES_ROUNDS 16 /* rounds of own votes loaded at a restart, up to its own */

static int s_wal_vote_keep(ec_engine_t *e, const ec_vote_t *v)
{
    uint8_t key[S_WAL_VOTE_KEY_BYTES];
    key[0] = S_WAL_VOTE_PREFIX;
    ec_be64_put(key + 1, v->height);
    ec_be64_put(key + 9, v->round);
    key[17] = (uint8_t)v->type;
    ec_writer_reset(&e->w2);
    ec_vote_encode(&e->w2, v);
    ec_status_t st = {0};
    int rc = ec_ledger_put_synced(e->ledger, EC_CF_CONSENSUS, key, sizeof key,
                                  ec_writer_data(&e->w2), ec_writer_size(&e->w2), &st);
    if (rc != 0) {
        ec_error("consensus WAL: %s", st.msg);
        return rc;
    }
    e->wal_entries++;
    return 0;
}

static void s_vote_read_fn(ec_cur_t *c, void *out)
{
    ec_vote_read(c, out);
}

/* Counts one of its own votes again after a restart (s_wal_votes_load). */
static int s_wal_vote_fn(void *vctx, const uint8_t *key, size_t key_size, const uint8_t *val,
                         size_t val_size)
{
    ec_engine_t *e = vctx;
    (void)key, (void)key_size;
    ec_vote_t v;
    int rc = ec_decode_read(&v, sizeof v, val, val_size, s_vote_read_fn);
    if (rc == 0 && v.height == e->height && v.validator == e->me) {
        s_push(e, S_ACT_VOTE)->vote = v;
        e->wal_entries++;
    }
    return 0; /* a damaged entry is skipped: these votes only help liveness */
}

/* Loads its own votes of the last S_WAL_VOTES_ROUNDS rounds up to `round` (bounded: the
 * core's action queue takes them). 0 or a local fault. */
static int s_wal_votes_load(ec_engine_t *e, uint64_t round)
{
    uint8_t prefix[9], start[17];
    prefix[0] = S_WAL_VOTE_PREFIX;
    ec_be64_put(prefix + 1, e->height);
    memcpy(start, prefix, sizeof prefix);
    ec_be64_put(start + 9, round >= S_WAL_VOTES_ROUNDS ? round - S_WAL_VOTES_ROUNDS + 1 : 0);
    int rc = ec_ledger_scan(e->ledger, EC_CF_CONSENSUS, prefix, sizeof prefix, start, sizeof start,
                            2 * S_WAL_VOTES_ROUNDS, s_wal_vote_fn, e);
    return rc < 0 ? rc : 0;
}

/* Back in the height after a restart: the proposals it locked on. 0 or a local fault. */
static int s_wal_load(ec_engine_t *e)
{
    uint8_t prefix[9];
    s_wal_key(prefix, e->height, NULL);
    s_wal_scan_t ctx = {e, e->height, 0};
    int rc = ec_ledger_scan(e->ledger, EC_CF_CONSENSUS, prefix, sizeof prefix, NULL, 0, 4,
                            s_wal_load_fn, &ctx);
    return rc < 0 ? rc : ctx.rc;
}

static int s_wal_forget_fn(void *vctx, const uint8_t *key, size_t key_size, const uint8_t *val,
                           size_t val_size)
{
    ec_engine_t *e = vctx;
    (void)val, (void)val_size;
    ec_ledger_del(e->ledger, EC_CF_CONSENSUS, key, key_size);
    return 0;
}

/* Adds the removal of every WAL entry (all are at or below h, the height being stored) to
 * the pending block batch. */
static int s_wal_forget(ec_engine_t *e, uint64_t h)
{
    if (e->wal_entries == 0)
        return 0;
    (void)h; /* entries are only ever written for the height in progress */
    const uint8_t prefixes[] = {S_WAL_PREFIX, S_WAL_VOTE_PREFIX};
    for (size_t i = 0; i < sizeof prefixes; i++) {
        int rc = ec_ledger_scan(e->ledger, EC_CF_CONSENSUS, &prefixes[i], 1, NULL, 0, 0,
                                s_wal_forget_fn, e);
        if (rc < 0)
            return rc;
    }
    e->wal_entries = 0;
    return 0;
}

/*
 * Signs vote v (height, round, type, nil and hash set) as this validator. The guard rules:
 * never sign below what was last signed; at the same (height, round, step) only what was
 * signed then, which v becomes. Returns true with v->sig (and maybe v's value) set, false
 * when it must not be signed (or a local fault, in e->fault).
 */
static bool s_sign_vote(ec_engine_t *e, ec_vote_t *v)
{
    const ec_guard_state_t *g = ec_guard_state(e->guard);
    uint8_t step = v->type == EC_VOTE_PREVOTE ? EC_GUARD_STEP_PREVOTE : EC_GUARD_STEP_PRECOMMIT;
    v->validator = e->me;
    if (!s_alone(e)) {
        int cmp = s_signed_cmp(g, v->height, v->round, step);
        if (cmp < 0)
            return false;
        if (cmp == 0) {
            v->nil = g->signed_nil;
            memcpy(v->hash, g->signed_hash, EC_HASH_BYTES);
            memcpy(v->sig, g->signed_sig, EC_SIG_BYTES);
            return true;
        }
    }
    if (v->type == EC_VOTE_PRECOMMIT && !v->nil) {
        s_prop_t *p = s_prop_by_hash(e, v->hash);
        int wrc = p ? s_wal_keep(e, p) : 0;
        if (wrc != 0) {
            s_fault(e, wrc, "consensus WAL");
            return false;
        }
    }
    ec_writer_reset(&e->w2);
    ec_vote_sign_bytes(&e->w2, e->genesis.chain_id, v->height, v->round, v->type,
                       v->nil ? NULL : v->hash);
    ec_sign(v->sig, ec_writer_data(&e->w2), ec_writer_size(&e->w2), e->key);
    int rc = s_guard_sign(e, v->height, v->round, step, v->nil ? NULL : v->hash, v->sig);
    if (rc != 0) {
        s_fault(e, rc, "signer record");
        return false;
    }
    if (!s_alone(e) && (rc = s_wal_vote_keep(e, v)) != 0) {
        s_fault(e, rc, "consensus WAL");
        return false;
    }
    return true;
}

/* Signs a proposal for (h, r, vr, hash): never two different ones at one (h, r). */
static bool s_sign_proposal(ec_engine_t *e, uint64_t h, uint64_t r, int64_t vr,
                            const uint8_t hash[EC_HASH_BYTES], uint8_t sig[EC_SIG_BYTES])
{
    const ec_guard_state_t *g = ec_guard_state(e->guard);
    if (!s_alone(e)) {
        int cmp = s_signed_cmp(g, h, r, EC_GUARD_STEP_PROPOSAL);
        if (cmp < 0 || (cmp == 0 && memcmp(g->signed_hash, hash, EC_HASH_BYTES) != 0))
            return false;
    }
    ec_writer_reset(&e->w2);
    ec_proposal_sign_bytes(&e->w2, e->genesis.chain_id, h, r, vr, hash);
    ec_sign(sig, ec_writer_data(&e->w2), ec_writer_size(&e->w2), e->key);
    int rc = s_guard_sign(e, h, r, EC_GUARD_STEP_PROPOSAL, hash, sig);
    if (rc != 0) {
        s_fault(e, rc, "signer record");
        return false;
    }
    return true;
}

/* ---- proposals -------------------------------------------------------------------------- */

static void s_prop_free(s_prop_t *p)
{
    if (p->state == S_PROP_EMPTY)
        return;
    for (uint32_t i = 0; p->txs && i < p->block.tx_count; i++)
        if (p->txs[i])
            s_unref(p->txs[i]);
    free(p->txs);
    ec_block_fini(&p->block);
    ec_decoder_fini(&p->dec);
    free(p->msg);
    memset(p, 0, sizeof *p);
}

static s_prop_t *s_prop_find(ec_engine_t *e, uint64_t round)
{
    for (int i = 0; i < S_PROPS_MAX; i++)
        if (e->props[i].state != S_PROP_EMPTY && e->props[i].round == round)
            return &e->props[i];
    return NULL;
}

static s_prop_t *s_prop_by_hash(ec_engine_t *e, const uint8_t hash[EC_HASH_BYTES])
{
    for (int i = 0; i < S_PROPS_MAX; i++)
        if (e->props[i].state == S_PROP_VALID && memcmp(e->props[i].hash, hash, EC_HASH_BYTES) == 0)
            return &e->props[i];
    return NULL;
}

/* A free slot, evicting the lowest round that is neither the current round nor holds the
 * valid value when all are taken. NULL when none may go. */
static s_prop_t *s_prop_slot(ec_engine_t *e)
{
    ec_tm_lock_t lock;
    ec_tm_lock(e->tm, &lock);
    uint64_t round = ec_tm_round(e->tm);
    s_prop_t *victim = NULL;
    for (int i = 0; i < S_PROPS_MAX; i++) {
        s_prop_t *p = &e->props[i];
        if (p->state == S_PROP_EMPTY)
            return p;
        bool keep =
            p->round == round ||
            (lock.valid_round >= 0 && memcmp(p->hash, lock.valid_hash, EC_HASH_BYTES) == 0) ||
            (lock.locked_round >= 0 && memcmp(p->hash, lock.locked_hash, EC_HASH_BYTES) == 0);
        /* The locked or valid block is kept once: its proposals of other rounds (it is
         * proposed again round after round) would otherwise fill every slot, and no new
         * proposal could ever be taken. The newest copy stays. */
        for (int k = 0; keep && p->round != round && k < S_PROPS_MAX; k++)
            if (k != i && e->props[k].state != S_PROP_EMPTY && e->props[k].round > p->round &&
                memcmp(e->props[k].hash, p->hash, EC_HASH_BYTES) == 0)
                keep = false;
        if (!keep && (!victim || p->round < victim->round))
            victim = p;
    }
    if (victim)
        s_prop_free(victim);
    return victim;
}

/* Fills e->body from a proposal's transactions. */
static void s_prop_body(ec_engine_t *e, const s_prop_t *p, ec_exec_body_t *body)
{
    for (uint32_t i = 0; i < p->block.tx_count; i++) {
        const ec_pending_t *t = p->txs[i];
        e->body[i] =
            (ec_exec_tx_t){t->envelope, t->envelope_size, &t->tx, t->payload, t->payload_size};
    }
    memset(body, 0, sizeof *body);
    body->height = p->block.header.height;
    body->time_ms = p->block.header.time_ms;
    body->tx_count = p->block.tx_count;
    body->txs = e->body;
    body->evidence_count = p->block.evidence_count;
    body->evidence = p->evidence;
}

/*
 * Applies proposal p and compares the block it gives with the proposed one, byte for byte
 * (header, transactions, results, evidence). Sets p->state to valid or invalid; returns 0
 * or a local fault. A valid proposal stays applied in the ledger's pending batch.
 */
static int s_prop_apply(ec_engine_t *e, s_prop_t *p)
{
    ec_exec_body_t body;
    s_prop_body(e, p, &body);
    ec_header_t h;
    uint8_t hash[EC_HASH_BYTES];
    ec_status_t st = {0};
    int rc = ec_exec_apply(e->exec, &body, &h, hash, e->results, &st);
    if (s_local_fault(rc))
        return rc;
    size_t size = 0;
    const uint8_t *mine = rc == 0 ? ec_exec_last_block(e->exec, &size) : NULL;
    bool same = rc == 0 && size == p->block_size && memcmp(mine, p->block_bytes, size) == 0;
    if (!same) {
        ec_warn("proposal at height %llu round %llu is not valid: %s",
                (unsigned long long)body.height, (unsigned long long)p->round,
                rc ? st.msg : "applying it gives another block");
        ec_exec_discard(e->exec);
    }
    p->state = same ? S_PROP_VALID : S_PROP_INVALID;
    return 0;
}

/* Tells the core about a proposal whose validity is now known. */
static void s_prop_verdict(ec_engine_t *e, const s_prop_t *p)
{
    ec_debug("height %llu round %lld: proposal %s", (unsigned long long)e->height,
             (long long)p->round, p->state == S_PROP_VALID ? "valid" : "invalid");
    s_action_t *a = s_push(e, S_ACT_PROPOSAL);
    a->h = e->height;
    a->r = p->round;
    a->vr = p->valid_round;
    a->valid = p->state == S_PROP_VALID;
    memcpy(a->hash, p->hash, EC_HASH_BYTES);
}

/* ---- building a block (the proposer) ---------------------------------------------------- */

/* Picks waiting transactions in arrival order within the block bounds; returns how many. */
static uint32_t s_pick(ec_engine_t *e)
{
    uint32_t n = 0, cursor = 0;
    size_t bytes = 4096;
    ec_pending_t *p;
    while (n < e->cfg.block_txs_max && (p = ec_mempool_next(e->mempool, &cursor))) {
        size_t need = p->envelope_size + p->payload_size + 64;
        if (bytes + need > EC_ENGINE_BLOCK_BYTES_MAX)
            break;
        bytes += need;
        e->picked[n] = p;
        e->body[n] =
            (ec_exec_tx_t){p->envelope, p->envelope_size, &p->tx, p->payload, p->payload_size};
        n++;
    }
    return n;
}

/* Makes the PROPOSAL message for block bytes with the pendings' payloads, into e->w.
 * Returns 0 or EC_ENOMEM. */
static int s_proposal_msg(ec_engine_t *e, uint64_t h, uint64_t r, int64_t vr, const uint8_t *block,
                          size_t block_size, ec_pending_t *const *txs, uint32_t n,
                          const uint8_t sig[EC_SIG_BYTES])
{
    const uint8_t **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    size_t *sizes = calloc(n ? n : 1, sizeof *sizes);
    if (!ptrs || !sizes) {
        free(ptrs);
        free(sizes);
        return EC_ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        ptrs[i] = txs[i]->payload;
        sizes[i] = txs[i]->payload_size;
    }
    ec_writer_reset(&e->w);
    ec_p2pmsg_proposal(&e->w, e->me, h, r, vr, block, block_size, ptrs, sizes, n, sig);
    free(ptrs);
    free(sizes);
    return 0;
}

/*
 * Takes the PROPOSAL message in data into slot p: copies it and decodes it and its block.
 * Returns 0, EC_EINVAL (the block does not decode or does not match the message) or
 * EC_ENOMEM; on error p is left empty.
 */
static int s_prop_load(s_prop_t *p, const uint8_t *data, size_t size)
{
    memset(p, 0, sizeof *p);
    p->msg = malloc(size ? size : 1);
    if (!p->msg)
        return EC_ENOMEM;
    memcpy(p->msg, data, size);
    p->msg_size = size;
    ec_decoder_init(&p->dec);
    ec_p2pmsg_t m;
    int rc = ec_p2pmsg_decode(&p->dec, p->msg, p->msg_size, &m);
    if (rc == 0 && m.type != EC_P2P_PROPOSAL)
        rc = EC_EINVAL;
    if (rc == 0)
        rc = ec_block_decode(&p->block, m.block, m.block_size);
    if (rc == 0 && (p->block.tx_count != m.payload_count ||
                    !(p->txs = calloc(p->block.tx_count ? p->block.tx_count : 1, sizeof *p->txs))))
        rc = p->block.tx_count != m.payload_count ? EC_EINVAL : EC_ENOMEM;
    for (uint32_t i = 0; rc == 0 && i < p->block.evidence_count; i++) {
        const msgpack_object *o = &p->block.evidence[i];
        rc = ec_evidence_decode(&p->evidence[i], (const uint8_t *)o->via.bin.ptr, o->via.bin.size);
    }
    if (rc != 0) {
        ec_block_fini(&p->block);
        ec_decoder_fini(&p->dec);
        free(p->txs);
        free(p->msg);
        memset(p, 0, sizeof *p);
        return rc;
    }
    p->payloads = m.payloads;
    p->block_bytes = m.block;
    p->block_size = m.block_size;
    p->round = m.round;
    p->valid_round = m.valid_round;
    ec_header_hash(p->hash, &p->block.header);
    p->state = S_PROP_VERIFYING;
    return 0;
}

/* The proposal just made (in e->w) kept as this round's, listing `txs`: valid by making. */
static void s_prop_keep_own(ec_engine_t *e, ec_pending_t *const *txs, uint32_t n)
{
    s_prop_t *p = s_prop_slot(e);
    if (!p)
        return;
    int rc = s_prop_load(p, ec_writer_data(&e->w), ec_writer_size(&e->w));
    if (rc != 0) {
        s_fault(e, rc == EC_ENOMEM ? rc : EC_EINTERNAL, "keeping its own proposal");
        return;
    }
    assert(p->block.tx_count == n);
    for (uint32_t i = 0; i < n; i++) {
        p->txs[i] = txs[i];
        txs[i]->refs++;
    }
    p->state = S_PROP_VALID;
    s_prop_verdict(e, p);
}

/* A new block from the mempool and the evidence pool, applied, signed and sent. */
static void s_send_votes(ec_engine_t *e, uint32_t peer, uint64_t round, bool own);

static void s_propose_new(ec_engine_t *e, uint64_t h, uint64_t r)
{
    uint32_t n = s_pick(e);
    uint64_t now = e->env.wall_ms(e->env.ctx), tip_time = ec_exec_tip_time(e->exec);
    ec_exec_body_t body = {
        .height = h,
        .time_ms = now > tip_time ? now : tip_time + 1,
        .tx_count = n,
        .txs = e->body,
        .evidence_count =
            e->evpool_count < EC_BLOCK_EVIDENCE_MAX ? e->evpool_count : EC_BLOCK_EVIDENCE_MAX,
        .evidence = e->evpool,
    };
    ec_header_t header;
    uint8_t hash[EC_HASH_BYTES], sig[EC_SIG_BYTES];
    ec_status_t st = {0};
    int rc = ec_exec_apply(e->exec, &body, &header, hash, e->results, &st);
    if (s_local_fault(rc)) {
        s_fault(e, rc, st.msg);
        return;
    }
    if (rc != 0 && body.evidence_count > 0) {
        /* Transactions are refused one by one inside a block; only the evidence can make
         * the whole body unusable (already recorded, or not for this chain's sets). Left
         * in the pool it would stop this validator from ever proposing. */
        ec_warn("cannot propose at height %llu with the pending evidence (%s): dropping it",
                (unsigned long long)h, st.msg);
        e->evpool_count = 0;
        s_propose_new(e, h, r);
        return;
    }
    if (rc != 0) {
        ec_warn("cannot propose at height %llu: %s", (unsigned long long)h, st.msg);
        return;
    }
    if (!s_sign_proposal(e, h, r, -1, hash, sig))
        return;
    size_t block_size = 0;
    const uint8_t *block = ec_exec_last_block(e->exec, &block_size);
    if ((rc = s_proposal_msg(e, h, r, -1, block, block_size, e->picked, n, sig)) != 0) {
        s_fault(e, rc, "proposal");
        return;
    }
    if (!s_alone(e))
        e->env.broadcast(e->env.ctx, ec_writer_data(&e->w), ec_writer_size(&e->w));
    s_prop_keep_own(e, e->picked, n);
}

/* The valid value of an earlier round, proposed again at round r. */
static void s_propose_again(ec_engine_t *e, uint64_t h, uint64_t r, int64_t vr,
                            const uint8_t hash[EC_HASH_BYTES])
{
    s_prop_t *old = s_prop_by_hash(e, hash);
    uint8_t sig[EC_SIG_BYTES];
    if (!old) {
        /* Lost with a restart (only locked blocks are kept): any block may be proposed;
         * validators locked on the valid one refuse it, and re-propose theirs in turn. */
        ec_warn("height %llu round %llu: no copy of the valid block to propose again: "
                "proposing a new one",
                (unsigned long long)h, (unsigned long long)r);
        s_propose_new(e, h, r);
        return;
    }
    if (!s_sign_proposal(e, h, r, vr, hash, sig))
        return;
    uint32_t n = old->block.tx_count;
    int rc = s_proposal_msg(e, h, r, vr, old->block_bytes, old->block_size, old->txs, n, sig);
    if (rc != 0) {
        s_fault(e, rc, "proposal");
        return;
    }
    if (!s_alone(e))
        e->env.broadcast(e->env.ctx, ec_writer_data(&e->w), ec_writer_size(&e->w));
    /* Keep the old slot's pendings alive while the new slot takes its refs: the new slot
     * may be the old one's (s_prop_slot keeps one copy of a block), so their list moves to
     * e->picked first. */
    ec_writer_t msg = e->w; /* s_send_votes reuses e->w: move the proposal aside */
    ec_writer_init(&e->w);
    ec_pending_t **txs = e->picked;
    memcpy(txs, old->txs, n * sizeof *txs);
    for (uint32_t i = 0; i < n; i++)
        txs[i]->refs++;
    /* Peers need the proof of lock with it (rule 28): the prevotes held at vr. */
    if (!s_alone(e))
        s_send_votes(e, UINT32_MAX, (uint64_t)vr, false);
    ec_writer_fini(&e->w);
    e->w = msg;
    s_prop_keep_own(e, txs, n);
    for (uint32_t i = 0; i < n; i++)
        s_unref(txs[i]);
}

/* ---- outputs of the core ---------------------------------------------------------------- */

static void s_out_propose(void *ctx, uint64_t h, uint64_t r, int64_t valid_round,
                          const uint8_t *valid_hash)
{
    ec_engine_t *e = ctx;
    if (e->fault || h != e->height || e->me == UINT32_MAX || e->abstain)
        return;
    ec_debug("height %llu round %llu: proposing %s", (unsigned long long)h, (unsigned long long)r,
             valid_hash ? "the valid block again" : "a new block");
    if (valid_hash)
        s_propose_again(e, h, r, valid_round, valid_hash);
    else
        s_propose_new(e, h, r);
}

static void s_out_vote(void *ctx, uint32_t type, uint64_t h, uint64_t r, const uint8_t *hash)
{
    ec_engine_t *e = ctx;
    if (e->fault || h != e->height || e->me == UINT32_MAX || e->abstain)
        return;
    ec_vote_t v;
    memset(&v, 0, sizeof v);
    v.height = h;
    v.round = r;
    v.type = type;
    v.nil = hash == NULL;
    if (hash)
        memcpy(v.hash, hash, EC_HASH_BYTES);
    ec_debug("height %llu round %llu: %s %s", (unsigned long long)h, (unsigned long long)r,
             type == EC_VOTE_PREVOTE ? "prevote" : "precommit", hash ? "for a block" : "nil");
    if (s_alone(e) && type == EC_VOTE_PREVOTE)
        v.validator = e->me; /* never leaves, never stored: needs no signature */
    else if (!s_sign_vote(e, &v))
        return;
    if (!s_alone(e)) {
        ec_writer_reset(&e->w);
        ec_p2pmsg_vote(&e->w, &v);
        e->env.broadcast(e->env.ctx, ec_writer_data(&e->w), ec_writer_size(&e->w));
    }
    s_action_t *a = s_push(e, S_ACT_VOTE);
    a->vote = v;
}

static void s_out_schedule(void *ctx, ec_tm_timeout_t kind, uint64_t h, uint64_t r,
                           uint32_t delay_ms)
{
    ec_engine_t *e = ctx;
    s_timer_t *slot = NULL;
    for (int i = 0; i < S_TIMERS_MAX; i++) {
        s_timer_t *t = &e->timers[i];
        if (t->used && t->kind == kind && t->h == h && t->r == r)
            return; /* scheduled already */
        if (!t->used && !slot)
            slot = t;
    }
    if (!slot) { /* the timer of the oldest round matters least */
        slot = &e->timers[0];
        for (int i = 1; i < S_TIMERS_MAX; i++)
            if (e->timers[i].r < slot->r)
                slot = &e->timers[i];
    }
    *slot = (s_timer_t){true, kind, h, r, s_now(e) + delay_ms};
}

static void s_out_decide(void *ctx, uint64_t h, uint64_t r, const uint8_t hash[EC_HASH_BYTES],
                         const ec_tm_vote_t *precommits, uint32_t count)
{
    ec_engine_t *e = ctx;
    if (h != e->height || e->decision.due)
        return;
    s_decision_t *d = &e->decision;
    memset(d, 0, sizeof *d);
    d->due = true;
    d->height = h;
    d->round = r;
    memcpy(d->hash, hash, EC_HASH_BYTES);
    d->commit.height = h;
    d->commit.round = r;
    memcpy(d->commit.block_hash, hash, EC_HASH_BYTES);
    /* Sorted by validator; an equivocator may appear twice, but a commit holds one
     * signature per validator (both are valid precommits for this hash). */
    for (uint32_t i = 0; i < count && d->commit.sig_count < EC_VALIDATORS_MAX; i++) {
        uint32_t n = d->commit.sig_count;
        if (n > 0 && d->commit.sigs[n - 1].index == precommits[i].validator)
            continue;
        d->commit.sigs[n].index = precommits[i].validator;
        memcpy(d->commit.sigs[n].sig, precommits[i].sig, EC_SIG_BYTES);
        d->commit.sig_count = n + 1;
    }
    s_push(e, S_ACT_COMMIT);
}

static void s_evpool_add(ec_engine_t *e, const ec_evidence_t *ev)
{
    for (uint32_t i = 0; i < e->evpool_count; i++)
        if (memcmp(&e->evpool[i], ev, sizeof *ev) == 0)
            return;
    if (e->evpool_count < S_EVPOOL_MAX)
        e->evpool[e->evpool_count++] = *ev;
}

static void s_out_evidence(void *ctx, const ec_tm_vote_t *a, const ec_tm_vote_t *b)
{
    ec_engine_t *e = ctx;
    ec_evidence_t ev;
    memset(&ev, 0, sizeof ev);
    ev.a = *a;
    ev.b = *b;
    ec_evidence_order(&ev);
    ec_warn("validator %u signed two %s votes at height %llu round %llu: evidence kept",
            a->validator, a->type == EC_VOTE_PREVOTE ? "prevote" : "precommit",
            (unsigned long long)a->height, (unsigned long long)a->round);
    s_evpool_add(e, &ev);
}

/* Asks the proposer of (h, r), and another peer in turn, for that proposal. */
static void s_ask_proposal(ec_engine_t *e, uint64_t h, uint64_t r)
{
    uint64_t now = s_now(e);
    if (s_alone(e) || (e->asked_round == r && now - e->asked_ms < S_ASK_INTERVAL_MS))
        return;
    e->asked_round = r;
    e->asked_ms = now;
    ec_debug("height %llu round %llu: asking for the proposal", (unsigned long long)h,
             (unsigned long long)r);
    uint32_t proposer = ec_tm_proposer(&e->vs, h, r), n = e->vs.count;
    uint32_t other = (proposer + 1 + (uint32_t)(now / S_ASK_INTERVAL_MS) % (n - 1)) % n;
    ec_writer_reset(&e->w);
    ec_p2pmsg_get_proposal(&e->w, e->me == UINT32_MAX ? 0 : e->me, h, r);
    if (proposer != e->me)
        e->env.send(e->env.ctx, proposer, ec_writer_data(&e->w), ec_writer_size(&e->w));
    if (other != e->me && other != proposer)
        e->env.send(e->env.ctx, other, ec_writer_data(&e->w), ec_writer_size(&e->w));
}

static void s_out_need(void *ctx, uint64_t h, uint64_t r, const uint8_t hash[EC_HASH_BYTES])
{
    ec_engine_t *e = ctx;
    if (h != e->height)
        return;
    /* The core says so once: the tick asks again until the proposal is here. */
    e->need = true;
    e->need_round = r;
    memcpy(e->need_hash, hash, EC_HASH_BYTES);
    s_ask_proposal(e, h, r);
}

/* ---- heights ---------------------------------------------------------------------------- */

/* Sets up the height after the tip: its set, this node's place in it. */
static void s_height_begin(ec_engine_t *e)
{
    e->height = ec_exec_height(e->exec) + 1;
    e->started = false;
    e->seen_msg = false;
    e->decision.due = false;
    for (int i = 0; i < S_PROPS_MAX; i++)
        s_prop_free(&e->props[i]);
    if (e->prop_ids)
        ec_mempool_clear(e->prop_ids);
    memset(e->timers, 0, sizeof e->timers);
    e->asked_round = UINT64_MAX;
    e->need = false;
    const ec_valset_t *vs = ec_exec_next_valset(e->exec);
    bool changed = memcmp(vs, &e->vs, sizeof *vs) != 0;
    e->vs = *vs;
    e->me = e->key ? s_index_of(vs, e->my_pk) : UINT32_MAX;
    if (changed && e->env.valset)
        e->env.valset(e->env.ctx, &e->vs, e->me);
    /* A new guard does not know what this validator signed before: it stays silent up to
     * the bound s_fresh_bound set (docs/CONSENSUS.md, section 4). */
    e->abstain =
        (e->fresh_guard || e->height <= e->abstain_until) && e->me != UINT32_MAX && !s_alone(e);
}

/* Whether the height in progress should start now. */
/*
 * A new guard knows nothing of what this validator signed before it (a first start, or a
 * restart with the data folder lost). The node starts no height until validators holding
 * more than two thirds of the power (itself included) have told their tips (STATUS); with
 * T the highest of those tips, it then abstains at every height up to T + 2 (none when
 * T = 0: a new chain, whose validators all start so).
 *
 * Why T + 2: had this validator signed at height S before, it had committed S - 1, so more
 * than two thirds had precommitted S - 1 and were at least at S - 1, having stored S - 2;
 * those and the validators heard share more than a third of the power, so at least one
 * correct validator heard has a tip of at least S - 2: S <= T + 2. Blocks fetched while
 * catching up change nothing: the bound is about the past. Called on every STATUS while
 * the guard is new; moves the engine only forward.
 */
/* Records in the guard that the new record's bound is `until`, synced, before anything is
 * signed under it. 0 or a local fault (st set). */
static int s_fresh_save(ec_engine_t *e, uint64_t until, ec_status_t *st)
{
    ec_guard_state_t g = *ec_guard_state(e->guard);
    g.fresh = false;
    g.abstain_until = until;
    int rc = ec_guard_save(e->guard, &g, st);
    if (rc != 0)
        return rc;
    e->fresh_guard = false;
    e->abstain_until = until;
    return 0;
}

/* Takes the new-record state from the guard at start (it survives restarts: a node
 * stopped again before it learnt its bound is still new). 0 or a local fault. */
static int s_fresh_load(ec_engine_t *e, ec_status_t *st)
{
    const ec_guard_state_t *g = ec_guard_state(e->guard);
    e->fresh_guard = g->fresh;
    e->abstain_until = g->abstain_until;
    if (!e->fresh_guard || !e->cfg.sign_at_once)
        return 0;
    ec_warn("a new signer record, and --sign-at-once: this validator signs at once, without "
            "abstaining first");
    return s_fresh_save(e, 0, st);
}

static void s_fresh_bound(ec_engine_t *e)
{
    if (!e->fresh_guard || s_alone(e))
        return;
    uint64_t heard = e->me != UINT32_MAX ? e->vs.v[e->me].power : 0, total = 0, top = 0;
    for (uint32_t i = 0; i < e->vs.count; i++) {
        total += e->vs.v[i].power;
        if (i == e->me || !e->peers[i].heard)
            continue;
        heard += e->vs.v[i].power;
        if (e->peers[i].tip > top)
            top = e->peers[i].tip;
    }
    if (3 * heard <= 2 * total)
        return;
    ec_status_t st = {0};
    int rc = s_fresh_save(e, top == 0 ? 0 : top + 2, &st);
    if (rc != 0) {
        ec_error("the guard cannot record the abstain bound: %s", st.msg);
        e->fault = rc;
        return;
    }
    e->abstain = e->height <= e->abstain_until && e->me != UINT32_MAX;
    if (e->abstain_until > 0)
        ec_info("a new signer record: this validator abstains up to height %llu (the highest "
                "tip its peers told is %llu)",
                (unsigned long long)e->abstain_until, (unsigned long long)top);
}

/* Whether the node must not start a height whatever waits: it is catching up to what it
 * committed before, or a new guard waits for its bound (s_fresh_bound). Messages and
 * gossip move it on. */
static bool s_held(const ec_engine_t *e)
{
    if (ec_exec_height(e->exec) < ec_guard_state(e->guard)->committed_height)
        return true;
    return e->fresh_guard && !s_alone(e) && e->me != UINT32_MAX;
}

static bool s_ready(const ec_engine_t *e, uint64_t now)
{
    const ec_guard_state_t *g = ec_guard_state(e->guard);
    if (s_held(e))
        return false;
    if (e->seen_msg || g->signed_height == e->height)
        return true;
    uint32_t n = ec_mempool_count(e->mempool);
    if (n >= e->cfg.block_txs_max)
        return true;
    if (n > 0 && now >= ec_mempool_oldest_ms(e->mempool) + e->cfg.block_interval_ms)
        return true;
    return e->cfg.heartbeat_ms > 0 && now >= e->last_commit_ms + e->cfg.heartbeat_ms;
}

/* Back in a height after a restart: the votes the record holds (the last prevote, and the
 * last message when it is a precommit) go to the core again, so they count here and the
 * gossip sends them once more: peers may never have received them. */
static void s_resume_votes(ec_engine_t *e, const ec_guard_state_t *g)
{
    ec_vote_t v;
    if (g->prevote_round >= 0) {
        memset(&v, 0, sizeof v);
        v = (ec_vote_t){
            e->height, (uint64_t)g->prevote_round, EC_VOTE_PREVOTE, e->me, g->prevote_nil, {0},
            {0}};
        memcpy(v.hash, g->prevote_hash, EC_HASH_BYTES);
        memcpy(v.sig, g->prevote_sig, EC_SIG_BYTES);
        s_push(e, S_ACT_VOTE)->vote = v;
    }
    if (g->signed_step == EC_GUARD_STEP_PRECOMMIT) {
        v = (ec_vote_t){e->height, g->signed_round, EC_VOTE_PRECOMMIT, e->me, g->signed_nil, {0},
                        {0}};
        memcpy(v.hash, g->signed_hash, EC_HASH_BYTES);
        memcpy(v.sig, g->signed_sig, EC_SIG_BYTES);
        s_push(e, S_ACT_VOTE)->vote = v;
    }
}

static void s_maybe_start(ec_engine_t *e)
{
    if (e->started || e->fault || e->decision.due || !s_ready(e, s_now(e)))
        return;
    e->started = true;
    const ec_guard_state_t *g = ec_guard_state(e->guard);
    uint64_t round = 0;
    ec_tm_lock_t lock = {-1, {0}, -1, {0}, -1, 0};
    if (g->signed_height == e->height && !s_alone(e)) { /* resume where the record says */
        round = g->signed_round;
        lock.locked_round = g->locked_round;
        memcpy(lock.locked_hash, g->locked_hash, EC_HASH_BYTES);
        lock.valid_round = g->valid_round;
        memcpy(lock.valid_hash, g->valid_hash, EC_HASH_BYTES);
        lock.voted_round = g->voted_round;
        lock.voted_type = g->voted_type;
    }
    ec_tm_start(e->tm, e->height, &e->vs, e->abstain ? UINT32_MAX : e->me, round, &lock);
    if (g->signed_height == e->height && !s_alone(e) && e->me != UINT32_MAX && !e->abstain) {
        s_resume_votes(e, g);
        int rc = s_wal_votes_load(e, round);
        if (rc == 0)
            rc = s_wal_load(e);
        if (rc != 0)
            s_fault(e, rc, "reading the consensus WAL");
    }
}

/*
 * After a block is stored (decided here or fetched): the guard follows, waiting clients
 * hear the outcome, the mempool and evidence pool forget what the block holds, the header
 * is announced and the next height is set up. Returns 0 or a local fault.
 */
static int s_after_store(ec_engine_t *e, const ec_exec_body_t *body)
{
    uint64_t h = ec_exec_height(e->exec);
    ec_guard_state_t g = *ec_guard_state(e->guard);
    g.committed_height = h;
    memcpy(g.committed_hash, ec_exec_tip_hash(e->exec), EC_HASH_BYTES);
    ec_status_t st = {0};
    int rc = ec_guard_save(e->guard, &g, &st);
    for (uint32_t i = 0; i < body->tx_count; i++) {
        if (e->results[i].code == 0)
            e->txs_applied++;
        else
            e->txs_refused++;
    }
    for (uint32_t i = 0; i < body->tx_count; i++) {
        ec_pending_t *p = ec_mempool_remove(e->mempool, body->txs[i].tx->id);
        if (!p)
            continue;
        p->in_mempool = false;
        if (p->client) {
            const ec_tx_result_t *r = &e->results[i];
            char msg[300];
            const char *why = ec_exec_refusal(e->exec, i);
            if (r->code != 0)
                snprintf(msg, sizeof msg, "refused at height %llu, index %u: %s",
                         (unsigned long long)h, i, why ? why : ec_strerror(r->code));
            e->env.done(e->env.ctx, p, r->code, h, i, r->code ? msg : NULL);
            p->client = NULL;
        }
        s_unref(p);
    }
    for (uint32_t i = 0; i < body->evidence_count; i++)
        for (uint32_t k = 0; k < e->evpool_count; k++)
            if (memcmp(&e->evpool[k], &body->evidence[i], sizeof e->evpool[k]) == 0) {
                e->evpool[k] = e->evpool[--e->evpool_count];
                break;
            }
    size_t hs = 0, cs = 0;
    const uint8_t *hb = ec_exec_last_header(e->exec, &hs), *cb = ec_exec_last_commit(e->exec, &cs);
    e->env.committed(e->env.ctx, h, hb, hs, cb, cs);
    if (rc != 0) {
        ec_error("block %llu is stored, but the guard cannot follow: %s", (unsigned long long)h,
                 st.msg);
        return rc;
    }
    e->last_commit_ms = s_now(e);
    s_height_begin(e);
    return 0;
}

/* Commits the decided block (the action loop's S_ACT_COMMIT). 0 or a local fault. */
static int s_commit_decided(ec_engine_t *e)
{
    s_decision_t *d = &e->decision;
    s_prop_t *p = s_prop_by_hash(e, d->hash);
    if (!p) {
        /* Decided by the others before its proposal reached this node: fetch it; the
         * decision waits (the tick asks again). */
        s_ask_proposal(e, d->height, d->round);
        return 0;
    }
    const uint8_t *pending = ec_exec_pending_hash(e->exec);
    if (!pending || memcmp(pending, d->hash, EC_HASH_BYTES) != 0) {
        int rc = s_prop_apply(e, p);
        if (rc != 0)
            return rc;
        if (p->state != S_PROP_VALID)
            return EC_EINTERNAL; /* it was valid when the core decided it */
    }
    ec_exec_body_t body;
    s_prop_body(e, p, &body);
    ec_status_t st = {0};
    int rc = s_wal_forget(e, d->height);
    if (rc == 0)
        rc = ec_exec_store(e->exec, &d->commit, &st);
    if (rc != 0) {
        ec_error("%s", st.msg);
        return rc;
    }
    d->due = false;
    /* body points at the slot's pendings; s_after_store frees the slots only at its end. */
    return s_after_store(e, &body);
}

/* ---- the action loop -------------------------------------------------------------------- */

static void s_run_one(ec_engine_t *e, const s_action_t *a)
{
    ec_tm_vote_t v;
    switch (a->kind) {
        case S_ACT_VOTE:
            v = a->vote;
            ec_tm_on_vote(e->tm, &v);
            break;
        case S_ACT_PROPOSAL:
            ec_tm_on_proposal(e->tm, a->h, a->r, a->vr, a->hash, a->valid);
            break;
        case S_ACT_TIMEOUT:
            ec_tm_on_timeout(e->tm, a->timeout, a->h, a->r);
            break;
        case S_ACT_COMMIT:
            if (e->decision.due && e->decision.height == e->height) {
                int rc = s_commit_decided(e);
                if (rc != 0)
                    s_fault(e, rc, "storing a decided block");
            }
            break;
        default:
            assert(!"unknown action");
    }
}

/* Runs queued actions until none is left and starts the next height when it is due. */
static int s_run(ec_engine_t *e)
{
    for (;;) {
        while (e->act_count > 0 && !e->fault) {
            s_action_t a = e->actions[e->act_head];
            e->act_head = (e->act_head + 1) % S_ACTIONS_MAX;
            e->act_count--;
            /* Inputs for a height that is over are dropped, never fed to the next one. */
            uint64_t h = a.kind == S_ACT_VOTE ? a.vote.height : a.h;
            if (a.kind != S_ACT_COMMIT && (h != e->height || !e->started))
                continue;
            s_run_one(e, &a);
        }
        if (e->fault)
            break;
        s_maybe_start(e);
        if (e->act_count == 0)
            break;
    }
    return e->fault;
}

/* ---- verification jobs ------------------------------------------------------------------ */

static s_job_t *s_job_new(ec_engine_t *e, int kind, uint32_t count)
{
    for (int i = 0; i < S_JOBS_MAX; i++) {
        s_job_t *j = &e->jobs[i];
        if (j->used)
            continue;
        j->job.in = calloc(count ? count : 1, sizeof *j->job.in);
        j->job.codes = calloc(count ? count : 1, sizeof *j->job.codes);
        if (!j->job.in || !j->job.codes) {
            free(j->job.in);
            free(j->job.codes);
            memset(j, 0, sizeof *j);
            return NULL;
        }
        j->used = true;
        j->kind = kind;
        j->job.id = ++e->next_job;
        j->job.count = 0;
        return j;
    }
    return NULL;
}

static void s_job_free(s_job_t *j)
{
    free(j->job.in);
    free(j->job.codes);
    memset(j, 0, sizeof *j);
}

/* ---- messages from other validators ----------------------------------------------------- */

/* True when id is committed or waiting already. */
static bool s_known(ec_engine_t *e, const uint8_t id[EC_HASH_BYTES])
{
    if (ec_mempool_get(e->mempool, id) || ec_mempool_get(e->prop_ids, id))
        return true;
    uint64_t h = 0;
    uint32_t i = 0;
    return ec_ledger_tx_location(e->ledger, id, &h, &i) == 0;
}

/* Admits a checked transaction into the mempool, or refuses it (and releases it). */
static void s_admit(ec_engine_t *e, ec_pending_t *p, bool from_peer)
{
    uint64_t h = 0;
    uint32_t index = 0;
    /* A node outside the validator set (a follower, a removed validator, or one added by
     * blocks it has not fetched yet) never proposes, and the validators' links admit only
     * each other, so it could neither commit nor pass on a client's transaction: the
     * client hears so at once instead of waiting for an answer that never comes. */
    if (!from_peer && e->me == UINT32_MAX) {
        if (p->client) {
            char msg[160];
            snprintf(msg, sizeof msg,
                     "this node is not a validator at height %llu: submit to a validator",
                     (unsigned long long)e->height);
            e->env.done(e->env.ctx, p, EC_ESTATE, 0, 0, msg);
            p->client = NULL;
        }
        p->release(p);
        return;
    }
    int rc = ec_ledger_tx_location(e->ledger, p->tx.id, &h, &index);
    if (rc == 0)
        rc = EC_EREPLAY;
    else if (rc == EC_ENOTFOUND)
        rc = ec_mempool_add(e->mempool, p->tx.id, p, p->envelope_size + p->payload_size, s_now(e));
    if (rc == 0) {
        p->refs = 1;
        p->in_mempool = true;
        p->arrived_ms = s_now(e);
        if (!from_peer)
            s_outbox_add(e, p);
        return;
    }
    if (s_local_fault(rc))
        s_fault(e, rc, "reading the transaction index");
    if (p->client) {
        char msg[128];
        if (rc == EC_EREPLAY && h > 0)
            snprintf(msg, sizeof msg, "transaction already committed at height %llu, index %u",
                     (unsigned long long)h, index);
        else
            snprintf(msg, sizeof msg, "%s",
                     rc == EC_EREPLAY ? "transaction already submitted, not yet committed"
                     : rc == EC_EBUSY ? "mempool full, retry later"
                                      : "node stopped on a storage error");
        e->env.done(e->env.ctx, p, rc == EC_EREPLAY || rc == EC_EBUSY ? rc : EC_ESHUTDOWN, 0, 0,
                    msg);
        p->client = NULL;
    }
    p->release(p);
}

static void s_msg_txs(ec_engine_t *e, const ec_p2pmsg_t *m)
{
    s_job_t *j = s_job_new(e, S_JOB_GOSSIP, m->count);
    if (!j)
        return; /* too much in flight: gossip is best effort */
    for (uint32_t i = 0; i < m->count; i++) {
        const uint8_t *tx, *payload;
        size_t tx_size, payload_size;
        uint8_t id[EC_HASH_BYTES];
        ec_p2pmsg_tx(m, i, &tx, &tx_size, &payload, &payload_size);
        if (ec_tx_envelope_id(id, tx, tx_size) != 0 || s_known(e, id))
            continue; /* unreadable, or nothing new: skip the signature check */
        ec_pending_t *p = ec_pending_copy(tx, tx_size, payload, payload_size);
        if (!p)
            break;
        j->job.in[j->job.count++] = p;
    }
    if (j->job.count == 0) {
        s_job_free(j);
        return;
    }
    e->checked += j->job.count;
    e->env.verify(e->env.ctx, &j->job);
}

/*
 * Finds a proposal's transactions: those waiting in the mempool are taken as they are
 * (checked once already); the others go to the verifiers. Valid when all are known and
 * applying gives the proposed block. 0 or a local fault.
 */
static int s_prop_resolve(ec_engine_t *e, s_prop_t *p)
{
    uint32_t n = p->block.tx_count, missing = 0;
    s_job_t *j = NULL;
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *o = &p->block.txs[i];
        const uint8_t *tx = (const uint8_t *)o->via.bin.ptr, *payload;
        size_t payload_size;
        uint8_t id[EC_HASH_BYTES];
        if (ec_tx_envelope_id(id, tx, o->via.bin.size) != 0) {
            p->state = S_PROP_INVALID;
            break;
        }
        ec_pending_t *known = ec_mempool_get(e->mempool, id);
        if (known) {
            p->txs[i] = known;
            known->refs++;
            continue;
        }
        /* Checked here now: its gossip need not be checked again (ids repeat across the
         * rounds' proposals; the first entry stands). */
        if (ec_mempool_add(e->prop_ids, id, e, 0, 0) != 0) {
            /* full, or already there: the gossip may then be checked twice, no harm */
        }
        if (!j && !(j = s_job_new(e, S_JOB_PROPOSAL, n))) {
            ec_debug("height %llu round %llu: no verification slot for the proposal",
                     (unsigned long long)e->height, (unsigned long long)p->round);
            return 0; /* cannot check it now: the proposal stays unjudged (a timeout follows) */
        }
        ec_p2pmsg_payload(p->payloads, i, &payload, &payload_size);
        ec_pending_t *copy = ec_pending_copy(tx, o->via.bin.size, payload, payload_size);
        if (!copy)
            return EC_ENOMEM;
        copy->refs = 1;
        p->txs[i] = copy;
        j->job.in[j->job.count++] = copy;
        missing++;
    }
    if (p->state == S_PROP_INVALID) {
        if (j) {
            s_job_free(j); /* its pendings are the slot's: freed with it */
        }
        s_prop_verdict(e, p);
        return 0;
    }
    if (missing > 0) {
        p->missing = missing;
        p->job = j->job.id;
        j->round = p->round;
        for (uint32_t i = 0; i < j->job.count; i++)
            j->job.in[i]->refs++; /* the job holds them too */
        e->checked += j->job.count;
        e->env.verify(e->env.ctx, &j->job);
        return 0;
    }
    int rc = s_prop_apply(e, p);
    if (rc == 0)
        s_prop_verdict(e, p);
    return rc;
}

static int s_msg_proposal(ec_engine_t *e, const ec_p2pmsg_t *m, const uint8_t *msg, size_t size)
{
    /* Any validator may pass a proposal on (GET_PROPOSAL is asked of the proposer and of
     * another validator): the proposer's signature, not the link it came by, says whose
     * it is. */
    uint32_t proposer = ec_tm_proposer(&e->vs, m->height, m->round);
    if (m->height != e->height || m->round > ec_tm_round(e->tm) + EC_TM_ROUNDS_AHEAD)
        return 0;
    const s_prop_t *held = s_prop_find(e, m->round);
    if (held) {
        ec_debug("height %llu round %llu: a proposal of that round is held already (state %d)",
                 (unsigned long long)m->height, (unsigned long long)m->round, (int)held->state);
        return 0;
    }
    s_prop_t *p = s_prop_slot(e);
    if (!p) {
        ec_debug("height %llu round %llu: no room for the proposal", (unsigned long long)m->height,
                 (unsigned long long)m->round);
        return 0;
    }
    int rc = s_prop_load(p, msg, size);
    if (rc != 0)
        return rc == EC_ENOMEM ? rc : 0;
    bool ok = p->block.header.height == m->height;
    uint64_t wall = e->env.wall_ms(e->env.ctx);
    if (ok && p->block.header.time_ms > wall + EC_BLOCK_TIME_DRIFT_MS) {
        ec_warn("proposal at height %llu is %llu ms ahead of this node's clock",
                (unsigned long long)m->height,
                (unsigned long long)(p->block.header.time_ms - wall));
        ok = false;
    }
    if (ok) {
        ec_writer_reset(&e->w2);
        ec_proposal_sign_bytes(&e->w2, e->genesis.chain_id, m->height, m->round, m->valid_round,
                               p->hash);
        ok =
            ec_verify(m->sig, ec_writer_data(&e->w2), ec_writer_size(&e->w2), e->vs.v[proposer].pk);
    }
    if (!ok) { /* not the proposer's, or not now: as if it never came */
        ec_debug("height %llu round %llu: proposal dropped (not signed by the proposer, %u)",
                 (unsigned long long)m->height, (unsigned long long)m->round, proposer);
        s_prop_free(p);
        return 0;
    }
    if (!e->started) {
        e->seen_msg = true;
        s_maybe_start(e);
    }
    return s_prop_resolve(e, p);
}

static void s_msg_vote(ec_engine_t *e, uint32_t from, const ec_p2pmsg_t *m)
{
    const ec_vote_t *v = &m->vote;
    if (v->height > e->height) {
        s_peer_t *peer = &e->peers[from];
        if (v->height - 1 > peer->tip)
            peer->tip = v->height - 1; /* it committed what this node has not */
        return;
    }
    if (v->height != e->height || v->validator >= e->vs.count)
        return;
    ec_tm_vote_t tv;
    tv = *v;
    if (e->started && ec_tm_holds(e->tm, &tv))
        return; /* relayed again: held already, and checked when it first came */
    if (!ec_vote_verify_sig(v, e->genesis.chain_id, e->vs.v[v->validator].pk)) {
        ec_debug("vote of %u at height %llu round %llu dropped (height %llu)", v->validator,
                 (unsigned long long)v->height, (unsigned long long)v->round,
                 (unsigned long long)e->height);
        return;
    }
    if (!e->started) {
        e->seen_msg = true;
        s_maybe_start(e);
    }
    s_action_t *a = s_push(e, S_ACT_VOTE);
    a->vote = *v;
}

/*
 * Sends the votes this node holds for (round, both types) to `peer`, or to every other
 * validator when peer is UINT32_MAX; only its own when `own` is set. Tendermint's
 * liveness needs votes relayed, not only sent once by their signer (ec_tm.h).
 */
static void s_send_votes(ec_engine_t *e, uint32_t peer, uint64_t round, bool own)
{
    ec_tm_vote_t votes[EC_TM_VOTES_MAX];
    for (uint32_t type = EC_VOTE_PREVOTE; type <= EC_VOTE_PRECOMMIT; type++) {
        uint32_t n = ec_tm_votes(e->tm, round, type, votes, EC_TM_VOTES_MAX);
        for (uint32_t i = 0; i < n; i++) {
            if (own && votes[i].validator != e->me)
                continue;
            ec_vote_t v;
            v = votes[i];
            ec_writer_reset(&e->w);
            /* A relayed vote travels under its signer's index, which the receiver checks
             * against the signature, not against the link it came on. */
            ec_p2pmsg_vote(&e->w, &v);
            if (peer == UINT32_MAX)
                e->env.broadcast(e->env.ctx, ec_writer_data(&e->w), ec_writer_size(&e->w));
            else
                e->env.send(e->env.ctx, peer, ec_writer_data(&e->w), ec_writer_size(&e->w));
        }
    }
}

static void s_msg_status(ec_engine_t *e, uint32_t from, const ec_p2pmsg_t *m)
{
    s_peer_t *p = &e->peers[from];
    p->height = m->height;
    p->round = m->round;
    p->step = m->step;
    p->tip = m->tip;
    p->seen_ms = s_now(e);
    p->heard = true;
    s_fresh_bound(e);
    /* A peer of this height: send it what it may lack to move on, its round's votes and
     * this node's round's, at most once a gossip interval. */
    if (e->started && m->height == e->height && p->seen_ms - p->relayed_ms >= e->cfg.gossip_ms) {
        p->relayed_ms = p->seen_ms;
        uint64_t mine = ec_tm_round(e->tm);
        s_send_votes(e, from, m->round, false);
        if (mine != m->round)
            s_send_votes(e, from, mine, false);
    }
    /* The proposer is in this round and its proposal has not come: ask for it. */
    if (e->started && m->height == e->height && m->round == ec_tm_round(e->tm) &&
        m->step >= EC_TM_PREVOTE && from == ec_tm_proposer(&e->vs, e->height, m->round) &&
        !s_prop_find(e, m->round))
        s_ask_proposal(e, e->height, m->round);
}

static void s_msg_get_proposal(ec_engine_t *e, uint32_t from, const ec_p2pmsg_t *m)
{
    if (m->height != e->height)
        return;
    s_prop_t *p = s_prop_find(e, m->round);
    if (p && p->state != S_PROP_INVALID)
        e->env.send(e->env.ctx, from, p->msg, p->msg_size);
}

/* Serves GET_BLOCKS from the store: blocks, their commits and the payloads still held. */
static int s_msg_get_blocks(ec_engine_t *e, uint32_t from, const ec_p2pmsg_t *m)
{
    uint64_t tip = ec_exec_height(e->exec);
    if (m->height > tip)
        return 0;
    uint32_t n = (uint32_t)(tip - m->height + 1 < m->count ? tip - m->height + 1 : m->count);
    ec_writer_t items;
    ec_writer_init(&items);
    uint32_t done = 0;
    int rc = 0;
    const uint8_t **ptrs = calloc(EC_BLOCK_TXS_MAX, sizeof *ptrs);
    size_t *sizes = calloc(EC_BLOCK_TXS_MAX, sizeof *sizes);
    uint8_t **owned = calloc(EC_BLOCK_TXS_MAX, sizeof *owned);
    if (!ptrs || !sizes || !owned)
        rc = EC_ENOMEM;
    for (uint32_t k = 0; rc == 0 && k < n; k++) {
        uint8_t key[8], *block = NULL, *header = NULL, *commit = NULL;
        size_t block_size = 0, header_size = 0, commit_size = 0;
        ec_be64_put(key, m->height + k);
        rc = ec_ledger_get(e->ledger, EC_CF_BLOCKS, key, sizeof key, &block, &block_size);
        if (rc == 0)
            rc = ec_ledger_header_raw(e->ledger, m->height + k, &header, &header_size, &commit,
                                      &commit_size);
        ec_block_t b;
        bool decoded = false;
        uint32_t got = 0; /* payload slots filled (owned[] to free) */
        if (rc == 0 && !(decoded = ec_block_decode(&b, block, block_size) == 0))
            rc = EC_EIO;
        for (uint32_t i = 0; rc == 0 && i < b.tx_count; i++) {
            const msgpack_object *o = &b.txs[i];
            uint8_t id[EC_HASH_BYTES];
            ptrs[i] = NULL;
            sizes[i] = 0;
            owned[i] = NULL;
            got = i + 1;
            if (ec_tx_envelope_id(id, (const uint8_t *)o->via.bin.ptr, o->via.bin.size) != 0) {
                rc = EC_EIO;
                break;
            }
            int prc =
                ec_ledger_get(e->ledger, EC_CF_PAYLOADS, id, EC_HASH_BYTES, &owned[i], &sizes[i]);
            if (prc != 0 && prc != EC_ENOTFOUND)
                rc = prc;
            ptrs[i] = prc == 0 ? owned[i] : NULL;
        }
        if (rc == 0) {
            ec_p2pmsg_blocks_add(&items, block, block_size, commit, commit_size, ptrs, sizes,
                                 b.tx_count);
            done++;
        }
        for (uint32_t i = 0; i < got; i++)
            free(owned[i]);
        if (decoded)
            ec_block_fini(&b);
        free(block);
        free(header);
        free(commit);
        if (ec_writer_size(&items) >= S_BLOCKS_REPLY_BYTES)
            break;
    }
    free(ptrs);
    free(sizes);
    free(owned);
    if (rc == 0 && done > 0 && e->me != UINT32_MAX) {
        ec_writer_reset(&e->w);
        ec_p2pmsg_blocks_begin(&e->w, e->me, done);
        ec_write_raw(&e->w, ec_writer_data(&items), ec_writer_size(&items));
        e->env.send(e->env.ctx, from, ec_writer_data(&e->w), ec_writer_size(&e->w));
    }
    ec_writer_fini(&items);
    return s_local_fault(rc) ? rc : 0;
}

/* ---- catching up ------------------------------------------------------------------------ */

/* Asks a peer that is ahead for the next blocks, when no request is out for them. */
static void s_sync_request(ec_engine_t *e)
{
    /* A node outside the set asks too: it may have been added by blocks it lacks. */
    if (s_alone(e))
        return;
    uint64_t tip = ec_exec_height(e->exec), now = s_now(e), best = tip;
    uint64_t next = tip + 1;
    for (int k = 0; k < S_SYNC_INFLIGHT; k++) {
        s_sync_req_t *r = &e->sync[k];
        if (r->used && r->from + r->count > next && now - r->sent_ms > S_SYNC_TIMEOUT_MS &&
            r->peer < e->vs.count && e->peers[r->peer].tip > tip)
            /* Unanswered: lost, or a peer that claims blocks it does not give. The others
             * are asked until its next STATUS claims them again. */
            e->peers[r->peer].tip = tip;
        if (r->used && (r->from + r->count <= next || now - r->sent_ms > S_SYNC_TIMEOUT_MS))
            r->used = false; /* answered past, or lost */
    }
    uint32_t peer = UINT32_MAX;
    for (uint32_t i = 0; i < e->vs.count; i++)
        if (i != e->me && e->peers[i].tip > best) {
            best = e->peers[i].tip;
            peer = i;
        }
    if (peer == UINT32_MAX)
        return;
    /* Requests out for the blocks right after the tip, one after another, cover those;
     * the first block nobody was asked for is where the next request starts. */
    for (bool moved = true; moved;) {
        moved = false;
        for (int k = 0; k < S_SYNC_INFLIGHT; k++) {
            s_sync_req_t *r = &e->sync[k];
            if (r->used && r->from <= next && r->from + r->count > next) {
                next = r->from + r->count;
                moved = true;
            }
        }
    }
    for (int k = 0; k < S_SYNC_INFLIGHT && next <= best; k++) {
        s_sync_req_t *r = &e->sync[k];
        if (r->used)
            continue;
        uint32_t count =
            (uint32_t)(best - next + 1 < S_SYNC_BATCH ? best - next + 1 : S_SYNC_BATCH);
        *r = (s_sync_req_t){true, peer, next, now, count};
        ec_writer_reset(&e->w);
        ec_p2pmsg_get_blocks(&e->w, e->me == UINT32_MAX ? 0 : e->me, next, count);
        ec_debug("asking validator %u for blocks %llu..%llu", peer, (unsigned long long)next,
                 (unsigned long long)(next + count - 1));
        e->env.send(e->env.ctx, peer, ec_writer_data(&e->w), ec_writer_size(&e->w));
        next += count;
    }
}

/*
 * Applies one fetched block at the tip: its commit must verify against the set of its
 * height, and applying its transactions must give exactly the fetched block. Returns 0
 * (stored), 1 (not the next block, or it does not check: ignored) or a local fault.
 */
static int s_sync_block(ec_engine_t *e, const uint8_t *data, size_t size, const uint8_t *cbytes,
                        size_t csize, const msgpack_object *payloads, uint32_t payload_count,
                        uint64_t *height)
{
    ec_block_t b;
    ec_commit_t c;
    if (ec_block_decode(&b, data, size) != 0)
        return 1;
    *height = b.header.height;
    int out = 1;
    uint32_t n = b.tx_count, decoded = 0;
    if (b.header.height != ec_exec_height(e->exec) + 1 || payload_count != n ||
        ec_commit_decode(&c, cbytes, csize) != 0 ||
        ec_commit_verify(&c, &b.header, ec_exec_next_valset(e->exec)) != 0) {
        ec_debug("fetched block %llu ignored (tip %llu)", (unsigned long long)b.header.height,
                 (unsigned long long)ec_exec_height(e->exec));
        goto done;
    }
    if (!e->sync_txs && !(e->sync_txs = calloc(EC_BLOCK_TXS_MAX, sizeof *e->sync_txs))) {
        out = EC_ENOMEM;
        goto done;
    }
    ec_evidence_t ev[EC_BLOCK_EVIDENCE_MAX];
    for (uint32_t i = 0; i < b.evidence_count; i++) {
        const msgpack_object *o = &b.evidence[i];
        if (ec_evidence_decode(&ev[i], (const uint8_t *)o->via.bin.ptr, o->via.bin.size) != 0)
            goto done;
    }
    for (; decoded < n; decoded++) {
        const msgpack_object *o = &b.txs[decoded];
        const uint8_t *payload;
        size_t payload_size;
        if (ec_tx_decode(&e->sync_txs[decoded], (const uint8_t *)o->via.bin.ptr, o->via.bin.size) !=
            0)
            goto done;
        ec_p2pmsg_payload(payloads, decoded, &payload, &payload_size);
        e->body[decoded] = (ec_exec_tx_t){(const uint8_t *)o->via.bin.ptr, o->via.bin.size,
                                          &e->sync_txs[decoded], payload, payload_size};
    }
    ec_exec_body_t body = {b.header.height, b.header.time_ms, n, e->body, b.evidence_count, ev};
    ec_header_t h;
    uint8_t hash[EC_HASH_BYTES];
    ec_status_t st = {0};
    int rc = ec_exec_apply(e->exec, &body, &h, hash, e->results, &st);
    if (s_local_fault(rc)) {
        out = rc;
        goto done;
    }
    size_t mine_size = 0;
    const uint8_t *mine = rc == 0 ? ec_exec_last_block(e->exec, &mine_size) : NULL;
    if (rc != 0 || mine_size != size || memcmp(mine, data, size) != 0) {
        /* A block with a valid commit that this node computes differently: its state is not
         * the chain's. It must not go on. */
        ec_error("block %llu fetched with a valid commit does not apply to this node's "
                 "state: %s",
                 (unsigned long long)b.header.height, rc ? st.msg : "it gives another block");
        out = EC_EINTERNAL;
        goto done;
    }
    if ((rc = s_wal_forget(e, b.header.height)) != 0 ||
        (rc = ec_exec_store(e->exec, &c, &st)) != 0) {
        out = rc;
        goto done;
    }
    out = s_after_store(e, &body);
done:
    for (uint32_t i = 0; i < decoded; i++)
        ec_tx_fini(&e->sync_txs[i]);
    ec_block_fini(&b);
    return out;
}

static int s_msg_blocks(ec_engine_t *e, uint32_t from, const ec_p2pmsg_t *m)
{
    for (uint32_t i = 0; i < m->count; i++) {
        const uint8_t *block, *commit;
        size_t block_size, commit_size;
        const msgpack_object *payloads;
        uint32_t payload_count;
        ec_p2pmsg_block(m, i, &block, &block_size, &commit, &commit_size, &payloads,
                        &payload_count);
        uint64_t height = 0;
        int rc = s_sync_block(e, block, block_size, commit, commit_size, payloads, payload_count,
                              &height);
        if (rc < 0)
            return rc;
        /* The request this answers is over, whether its blocks fit (they may have come
         * before the blocks they follow): what is missing is asked again at once. */
        for (int k = 0; i == 0 && k < S_SYNC_INFLIGHT; k++)
            if (e->sync[k].used && e->sync[k].peer == from && e->sync[k].from == height)
                e->sync[k].used = false;
    }
    s_sync_request(e);
    return 0;
}

/* ---- public inputs ---------------------------------------------------------------------- */

int ec_engine_submit(ec_engine_t *e, ec_pending_t *p)
{
    assert(e && p && p->decoded && p->release);
    if (e->fault) {
        if (p->client)
            e->env.done(e->env.ctx, p, EC_ESHUTDOWN, 0, 0, "node is stopping");
        p->release(p);
        return e->fault;
    }
    s_admit(e, p, false);
    return s_run(e);
}

int ec_engine_message(ec_engine_t *e, uint32_t from, const uint8_t *msg, size_t size)
{
    assert(e);
    if (e->fault)
        return e->fault;
    ec_p2pmsg_t m;
    if (from >= e->vs.count || from == e->me || ec_p2pmsg_decode(&e->dec, msg, size, &m) != 0)
        return 0; /* not from a validator of this height, or not a message: ignored */
    /* Who sent a message is the link's authenticated key (`from`); the index the message
     * names is the sender's view and is not trusted. A vote may be relayed: its signature,
     * checked against its signer's key, says whose it is. */
    int rc = 0;
    switch (m.type) {
        case EC_P2P_PROPOSAL:
            rc = s_msg_proposal(e, &m, msg, size);
            break;
        case EC_P2P_VOTE:
            s_msg_vote(e, from, &m);
            break;
        case EC_P2P_TXS:
            s_msg_txs(e, &m);
            break;
        case EC_P2P_STATUS:
            s_msg_status(e, from, &m);
            break;
        case EC_P2P_GET_BLOCKS:
            rc = s_msg_get_blocks(e, from, &m);
            break;
        case EC_P2P_BLOCKS:
            rc = s_msg_blocks(e, from, &m);
            break;
        case EC_P2P_GET_PROPOSAL:
            s_msg_get_proposal(e, from, &m);
            break;
    }
    if (rc != 0)
        s_fault(e, rc, "handling a validator message");
    if (e->peers[from].tip > ec_exec_height(e->exec))
        s_sync_request(e);
    return s_run(e);
}

int ec_engine_verified(ec_engine_t *e, ec_verify_job_t *job)
{
    s_job_t *j = NULL;
    for (int i = 0; i < S_JOBS_MAX && !j; i++)
        if (e->jobs[i].used && e->jobs[i].job.id == job->id)
            j = &e->jobs[i];
    assert(j && &j->job == job);
    if (j->kind == S_JOB_GOSSIP) {
        for (uint32_t i = 0; i < job->count; i++) {
            ec_pending_t *p = job->in[i];
            if (job->codes[i] == 0 && !e->fault)
                s_admit(e, p, true);
            else
                p->release(p);
        }
    } else {
        /* The proposal's copies: the slot keeps them; the job lets go of them. */
        s_prop_t *p = NULL;
        for (int i = 0; i < S_PROPS_MAX && !p; i++)
            if (e->props[i].state == S_PROP_VERIFYING && e->props[i].job == job->id)
                p = &e->props[i];
        bool all_ok = true;
        for (uint32_t i = 0; i < job->count; i++)
            all_ok = all_ok && job->codes[i] == 0;
        for (uint32_t i = 0; i < job->count; i++)
            s_unref(job->in[i]);
        if (p && !e->fault) {
            if (!all_ok) {
                ec_warn("proposal at height %llu round %llu holds a transaction that does "
                        "not check",
                        (unsigned long long)e->height, (unsigned long long)p->round);
                p->state = S_PROP_INVALID;
                s_prop_verdict(e, p);
            } else {
                int rc = s_prop_apply(e, p);
                if (rc != 0)
                    s_fault(e, rc, "applying a proposal");
                else
                    s_prop_verdict(e, p);
            }
        }
    }
    s_job_free(j);
    if (e->fault)
        return e->fault;
    return s_run(e);
}

/* STATUS and this node's own votes of the round again, for peers that missed them. */
static void s_gossip(ec_engine_t *e)
{
    if (s_alone(e) || e->me == UINT32_MAX)
        return;
    uint64_t round = e->started ? ec_tm_round(e->tm) : 0;
    ec_writer_reset(&e->w);
    ec_p2pmsg_status(&e->w, e->me, e->height, round, e->started ? (uint32_t)ec_tm_step(e->tm) : 0,
                     ec_exec_height(e->exec));
    e->env.broadcast(e->env.ctx, ec_writer_data(&e->w), ec_writer_size(&e->w));
    if (!e->started)
        return;
    if (round > 0)
        s_send_votes(e, UINT32_MAX, round - 1, true);
    s_send_votes(e, UINT32_MAX, round, true);
    if (e->need && !s_prop_by_hash(e, e->need_hash))
        s_ask_proposal(e, e->height, e->need_round);
}

int ec_engine_tick(ec_engine_t *e)
{
    if (e->fault)
        return e->fault;
    uint64_t now = s_now(e);
    for (int i = 0; i < S_TIMERS_MAX; i++) {
        s_timer_t *t = &e->timers[i];
        if (!t->used || t->due_ms > now)
            continue;
        t->used = false;
        ec_debug("height %llu round %llu: timeout %d", (unsigned long long)t->h,
                 (unsigned long long)t->r, (int)t->kind);
        s_action_t *a = s_push(e, S_ACT_TIMEOUT);
        a->timeout = t->kind;
        a->h = t->h;
        a->r = t->r;
    }
    if (e->outbox_count > 0 && now >= e->outbox_since_ms + S_OUTBOX_DELAY_MS)
        s_outbox_flush(e);
    if (now >= e->gossip_at_ms) {
        e->gossip_at_ms = now + e->cfg.gossip_ms;
        s_gossip(e);
        s_sync_request(e);
        if (e->decision.due)
            s_push(e, S_ACT_COMMIT); /* still waiting for the decided block: ask again */
    }
    return s_run(e);
}

uint64_t ec_engine_deadline(const ec_engine_t *e)
{
    uint64_t due = UINT64_MAX;
#define S_MIN(x)                                                                                   \
    do {                                                                                           \
        if ((x) < due)                                                                             \
            due = (x);                                                                             \
    } while (0)
    for (int i = 0; i < S_TIMERS_MAX; i++)
        if (e->timers[i].used)
            S_MIN(e->timers[i].due_ms);
    if (!s_alone(e))
        S_MIN(e->gossip_at_ms);
    if (e->outbox_count > 0)
        S_MIN(e->outbox_since_ms + S_OUTBOX_DELAY_MS);
    if (!e->started && !s_held(e)) { /* held: no deadline of its own, or it would spin */
        if (ec_mempool_count(e->mempool) > 0)
            S_MIN(ec_mempool_oldest_ms(e->mempool) + e->cfg.block_interval_ms);
        if (e->cfg.heartbeat_ms > 0)
            S_MIN(e->last_commit_ms + e->cfg.heartbeat_ms);
    }
#undef S_MIN
    return due;
}

/* ---- life cycle ------------------------------------------------------------------------- */

void ec_engine_config_defaults(ec_engine_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->timeouts = (ec_tm_config_t){1000, 500, 500, 250, 500, 250};
    cfg->block_interval_ms = 20;
    cfg->block_txs_max = 10000;
    cfg->mempool_max = 200000;
    cfg->mempool_bytes_max = EC_ENGINE_MEMPOOL_BYTES_DEFAULT;
    cfg->heartbeat_ms = 0;
    cfg->gossip_ms = EC_ENGINE_GOSSIP_MS;
}

/* The store against the guard record (ec_guard.h): it must hold every block this node
 * committed, unless peers can give back what it lost. */
static int s_guard_check(ec_engine_t *e, ec_status_t *st)
{
    const ec_guard_state_t *g = ec_guard_state(e->guard);
    uint64_t tip = ec_exec_height(e->exec);
    bool peers = ec_exec_next_valset(e->exec)->count > 1;
    if (tip < g->committed_height && !peers) {
        ec_error("the store ends at height %llu but this node committed up to %llu: a "
                 "damaged write-ahead log, a missing table file, or a copy older than the guard "
                 "file beside it. The node will not serve from it. Restore the folder from a "
                 "copy that reaches height %llu (docs/OPERATIONS.md, \"A store that lost "
                 "data\").",
                 (unsigned long long)tip, (unsigned long long)g->committed_height,
                 (unsigned long long)g->committed_height);
        return ec_status_set(st, EC_EIO,
                             "store lost committed blocks (ends at %llu, committed %llu): "
                             "restore it from a copy reaching %llu",
                             (unsigned long long)tip, (unsigned long long)g->committed_height,
                             (unsigned long long)g->committed_height);
    }
    if (tip < g->committed_height)
        ec_warn("the store ends at height %llu but this node committed up to %llu: fetching "
                "the missing blocks from the other validators before taking part",
                (unsigned long long)tip, (unsigned long long)g->committed_height);
    if (g->committed_height > 0 && tip >= g->committed_height) {
        ec_header_t h;
        uint8_t hash[EC_HASH_BYTES];
        if (ec_ledger_header(e->ledger, g->committed_height, &h, NULL) != 0)
            return ec_status_set(st, EC_EIO, "store lost the header of committed block %llu",
                                 (unsigned long long)g->committed_height);
        ec_header_hash(hash, &h);
        if (memcmp(hash, g->committed_hash, EC_HASH_BYTES) != 0)
            return ec_status_set(st, EC_EIO,
                                 "store holds another block %llu than the one this node "
                                 "committed: it is not this node's store",
                                 (unsigned long long)g->committed_height);
    }
    if (tip > g->committed_height) { /* the crash between the store's write and the guard's */
        ec_guard_state_t up = *g;
        up.committed_height = tip;
        memcpy(up.committed_hash, ec_exec_tip_hash(e->exec), EC_HASH_BYTES);
        return ec_guard_save(e->guard, &up, st);
    }
    return 0;
}

ec_engine_t *ec_engine_new(const ec_engine_config_t *cfg, const ec_engine_env_t *env,
                           ec_status_t *st)
{
    assert(cfg && env && cfg->genesis && cfg->app && cfg->ledger && cfg->guard);
    assert(env->now_ms && env->wall_ms && env->send && env->broadcast && env->verify && env->done &&
           env->committed);
    if (cfg->block_txs_max < 1 || cfg->block_txs_max > EC_BLOCK_TXS_MAX || cfg->mempool_max < 1) {
        ec_status_set(st, EC_ECONFIG, "block_txs_max must be 1..%u and mempool_max at least 1",
                      EC_BLOCK_TXS_MAX);
        return NULL;
    }
    ec_engine_t *e = calloc(1, sizeof *e);
    if (!e) {
        ec_status_set(st, EC_ENOMEM, "out of memory");
        return NULL;
    }
    e->cfg = *cfg;
    e->genesis = *cfg->genesis;
    e->cfg.genesis = &e->genesis;
    e->env = *env;
    e->app = cfg->app;
    e->ledger = cfg->ledger;
    e->guard = cfg->guard;
    e->key = cfg->key;
    e->wal_entries = 1; /* stale entries of an earlier run go with the next block */
    if (e->key)
        memcpy(e->my_pk, ec_key_pk(e->key), EC_PK_BYTES);
    ec_writer_init(&e->outbox);
    ec_writer_init(&e->w);
    ec_writer_init(&e->w2);
    ec_decoder_init(&e->dec);
    ec_tm_out_t out = {
        e, s_out_propose, s_out_vote, s_out_schedule, s_out_decide, s_out_evidence, s_out_need};
    e->actions = calloc(S_ACTIONS_MAX, sizeof *e->actions);
    e->body = calloc(EC_BLOCK_TXS_MAX, sizeof *e->body);
    e->results = calloc(EC_BLOCK_TXS_MAX, sizeof *e->results);
    e->picked = calloc(EC_BLOCK_TXS_MAX, sizeof *e->picked);
    e->mempool = ec_mempool_new(cfg->mempool_max, cfg->mempool_bytes_max);
    e->prop_ids = ec_mempool_new(S_PROPS_MAX * cfg->block_txs_max, SIZE_MAX);
    e->tm = ec_tm_new(&cfg->timeouts, &out);
    if (!e->actions || !e->body || !e->results || !e->picked || !e->mempool || !e->prop_ids ||
        !e->tm) {
        ec_status_set(st, EC_ENOMEM, "out of memory");
        ec_engine_destroy(&e);
        return NULL;
    }
    e->exec = ec_exec_new(cfg->ledger, cfg->app, &e->genesis, st);
    if (!e->exec || s_guard_check(e, st) != 0 || s_fresh_load(e, st) != 0) {
        ec_engine_destroy(&e);
        return NULL;
    }
    e->last_commit_ms = s_now(e);
    e->gossip_at_ms = s_now(e);
    memset(&e->vs, 0, sizeof e->vs);
    s_height_begin(e);
    if (e->env.valset && e->vs.count == 0)
        e->env.valset(e->env.ctx, &e->vs, e->me);
    return e;
}

void ec_engine_destroy(ec_engine_t **self_p)
{
    assert(self_p);
    ec_engine_t *e = *self_p;
    if (!e)
        return;
    for (int i = 0; i < S_PROPS_MAX; i++)
        s_prop_free(&e->props[i]);
    for (int i = 0; i < S_JOBS_MAX; i++)
        if (e->jobs[i].used) {
            /* The node joins its verifiers before destroying the engine: no job is out. */
            for (uint32_t k = 0; k < e->jobs[i].job.count; k++)
                if (e->jobs[i].kind == S_JOB_GOSSIP)
                    e->jobs[i].job.in[k]->release(e->jobs[i].job.in[k]);
                else
                    s_unref(e->jobs[i].job.in[k]);
            s_job_free(&e->jobs[i]);
        }
    if (e->mempool) {
        uint32_t cursor = 0;
        ec_pending_t *p;
        while ((p = ec_mempool_next(e->mempool, &cursor))) {
            if (p->client)
                e->env.done(e->env.ctx, p, EC_ESHUTDOWN, 0, 0, "node is stopping");
            p->client = NULL;
            s_unref(p);
        }
    }
    ec_exec_destroy(&e->exec);
    ec_tm_destroy(&e->tm);
    ec_mempool_destroy(&e->mempool);
    ec_mempool_destroy(&e->prop_ids);
    free(e->sync_txs);
    free(e->actions);
    free(e->body);
    free(e->results);
    free(e->picked);
    ec_writer_fini(&e->outbox);
    ec_writer_fini(&e->w);
    ec_writer_fini(&e->w2);
    ec_decoder_fini(&e->dec);
    free(e);
    *self_p = NULL;
}

void ec_engine_status(const ec_engine_t *e, ec_engine_status_t *out)
{
    memset(out, 0, sizeof *out);
    out->height = ec_exec_height(e->exec);
    out->round = e->started ? ec_tm_round(e->tm) : 0;
    out->step = e->started ? (uint32_t)ec_tm_step(e->tm) : 0;
    out->validator = e->me;
    out->validators = e->vs.count;
    out->mempool = ec_mempool_count(e->mempool);
    for (uint32_t i = 0; i < e->vs.count; i++)
        if (e->peers[i].tip > out->peers_ahead)
            out->peers_ahead = e->peers[i].tip;
    out->catching_up = out->peers_ahead > out->height;
    out->evidence_pending = e->evpool_count;
    out->decided = e->decision.due;
    out->checked = e->checked;
    out->txs_applied = e->txs_applied;
    out->txs_refused = e->txs_refused;
    out->abstain = e->abstain;
}

const uint8_t *ec_engine_tip_hash(const ec_engine_t *e)
{
    return ec_exec_tip_hash(e->exec);
}
