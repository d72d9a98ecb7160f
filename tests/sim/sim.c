/*
 * sim.c - ecert-sim: deterministic simulation of one chain's validators running the real
 * engine (ec_engine: Tendermint, execution, mempool, catch-up, evidence, the signer record)
 * over real RocksDB ledgers in memory, with a simulated clock and network.
 *
 * One seed is one run: the seed draws the network's delays, losses, duplicates and
 * reorderings, partitions that heal, crashes and restarts of nodes at any moment, clock
 * skews, client transactions, a validator-set change, a restart with the data folder
 * wiped, and in some runs an equivocating validator (one key in two nodes, each with its
 * own signer record). Every choice comes from
 * the seed, time is simulated, and events run one at a time in (time, sequence) order, so a
 * seed replays exactly: `ecert-sim --seed N --verbose`.
 *
 * Invariants checked:
 *   safety      no two nodes commit different blocks at one height; every commit verifies
 *               against the validator set of its height;
 *   durability  every transaction a node acknowledged is, at the end, at the height and
 *               index it was acknowledged with, in every node that reached that height;
 *   liveness    once the faults stop (every node up, the network whole and lossless), every
 *               honest node commits new blocks within a bound and all reach one tip;
 *   signing     an honest node never signs two different votes for one height, round
 *               and step, across restarts and across a restart with its store and signer
 *               record wiped (some crashes come back wiped);
 *   determinism with --twice, a seed run twice gives the same trace.
 *
 * --relay runs a fixed scenario instead of random faults: the proposals of validators 0
 * and 1 never reach validators 2 and 3 directly (as if those links lost them), so 2 and 3
 * must get each one relayed by the other validator that holds it (GET_PROPOSAL); every
 * height must then commit in round 0, since without the relay two of four prevote nil.
 *
 * The app is a small key-value store: PUT [key, value] (a key that exists is refused with
 * EC_EEXIST, so refused transactions are part of the blocks) and VALSET [pk, power] (one
 * validator's power; 0 removes it).
 *
 * Exit status: 0 when every seed held every invariant; 1 otherwise, after printing each
 * failing seed with the command that replays it.
 */
#include <assert.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec_engine.h"
#include "ec_exec.h"
#include "ec_guard.h"
#include "ec_ledger.h"
#include "ec_log.h"
#include "ec_p2pmsg.h"
#include "ec_types.h"

#define SIM_CHAIN "sim-chain"
#define SIM_KEYS 5      /* keys 0..3 are the genesis validators; key 4 joins later */
#define SIM_NODES_MAX 6 /* one node per key, and an equivocating twin of key 3 */
#define SIM_GENESIS_MS 1800000000000ull
#define SIM_TXS_MAX 4096
#define SIM_SETTLE_MS 60000u /* liveness bound once the faults stop */

enum { APP_PUT = 1, APP_VALSET = 2 };

/* ---- deterministic randomness ---------------------------------------------------------- */

typedef struct {
    uint64_t s;
} rng_t;

static uint64_t rng_next(rng_t *r)
{
    /* splitmix64 */
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static uint64_t rng_range(rng_t *r, uint64_t lo, uint64_t hi)
{
    return lo + rng_next(r) % (hi - lo + 1);
}

/* True with probability per_mille / 1000. */
static bool rng_chance(rng_t *r, uint32_t per_mille)
{
    return rng_next(r) % 1000 < per_mille;
}

/* ---- the key-value app ------------------------------------------------------------------ */

static int app_body(const ec_tx_t *tx, const uint8_t **a, size_t *al, uint64_t *power)
{
    ec_cur_t c;
    ec_cur_open(&c, tx->body, 2);
    if (tx->type == APP_PUT) {
        const char *k, *v;
        size_t kl, vl;
        ec_cur_str(&c, &k, &kl, 64);
        ec_cur_str(&c, &v, &vl, 256);
        *a = (const uint8_t *)k;
        *al = kl;
    } else {
        ec_cur_bin(&c, a, al, EC_PK_BYTES);
        ec_cur_uint(&c, power);
    }
    return ec_cur_finish(&c);
}

static int app_check(void *self, const ec_tx_t *tx, const uint8_t *payload, size_t payload_size,
                     ec_status_t *st)
{
    (void)self, (void)payload, (void)payload_size;
    const uint8_t *a;
    size_t al;
    uint64_t power = 0;
    if (tx->type != APP_PUT && tx->type != APP_VALSET)
        return ec_status_set(st, EC_EINVAL, "unknown type");
    if (app_body(tx, &a, &al, &power) != 0 || al == 0)
        return ec_status_set(st, EC_EINVAL, "bad body");
    if (tx->type == APP_VALSET && (al != EC_PK_BYTES || power > EC_VALIDATOR_POWER_MAX))
        return ec_status_set(st, EC_EINVAL, "bad validator");
    return 0;
}

static int app_valset(ec_block_ctx_t *ctx, const uint8_t *pk, uint64_t power, ec_status_t *st)
{
    if (ctx->valset_changed)
        return ec_status_set(st, EC_EBUSY, "one validator change per block");
    const ec_valset_t *vs = ctx->next_valset;
    uint32_t count = vs->count;
    bool present = false;
    for (uint32_t i = 0; i < vs->count; i++)
        present |= memcmp(vs->v[i].pk, pk, EC_PK_BYTES) == 0;
    if (power == 0 && present)
        count--;
    else if (power > 0 && !present)
        count++;
    if (count == 0 || count > EC_VALIDATORS_MAX || (power == 0 && !present))
        return ec_status_set(st, EC_EINVAL, "that change leaves no valid set");
    ctx->valset_changed = true;
    memcpy(ctx->valset_change.pk, pk, EC_PK_BYTES);
    ctx->valset_change.power = power;
    return 0;
}

static int app_deliver(void *self, ec_block_ctx_t *ctx, const ec_tx_t *tx, const uint8_t *payload,
                       size_t payload_size, ec_status_t *st)
{
    (void)self, (void)payload, (void)payload_size;
    const uint8_t *a;
    size_t al;
    uint64_t power = 0;
    if (app_body(tx, &a, &al, &power) != 0)
        return ec_status_set(st, EC_EINVAL, "bad body");
    if (tx->type == APP_VALSET)
        return app_valset(ctx, a, power, st);
    uint8_t *old = NULL;
    size_t old_size = 0;
    int rc = ec_state_get(ctx->ledger, a, al, &old, &old_size);
    free(old);
    if (rc == 0)
        return ec_status_set(st, EC_EEXIST, "key exists");
    if (rc != EC_ENOTFOUND)
        return ec_status_set(st, rc, "state read");
    ec_state_put(ctx->ledger, a, al, tx->id, EC_HASH_BYTES);
    return 0;
}

static int app_end(void *self, ec_block_ctx_t *ctx, uint8_t root[EC_HASH_BYTES])
{
    (void)self;
    ec_ledger_state_digest(ctx->ledger, root);
    return 0;
}

static int app_query(void *self, ec_ledger_t *ledger, const char *path, const msgpack_object *args,
                     ec_writer_t *out, ec_status_t *st)
{
    (void)self, (void)ledger, (void)args, (void)out;
    return ec_status_set(st, EC_EMETHOD, "no query %s", path);
}

static ec_app_t s_app = {"sim", NULL, app_check, app_deliver, app_end, app_query, NULL};

/* ---- the simulation --------------------------------------------------------------------- */

typedef struct sim sim_t;

typedef struct {
    sim_t *sim;
    uint32_t id;
    uint32_t key; /* index into sim->keys; twins share one */
    char path[32];
    ec_ledger_env_t *env;
    ec_ledger_t *ledger;
    ec_guard_mem_t gmem;
    ec_guard_t *guard;
    ec_engine_t *engine;
    bool up;
    uint64_t epoch;  /* restarts: events for an older engine are dropped */
    int64_t skew_ms; /* of this node's wall clock */
    ec_valset_t vs;  /* its view of the current set (env->valset) */
    uint64_t height; /* committed tip */
    bool honest;     /* not the equivocator's second node */
} node_t;

enum { EV_MSG, EV_VERIFIED, EV_CLIENT, EV_CRASH, EV_RESTART, EV_SPLIT, EV_HEAL };

/* A vote an honest node signed, as it left the node: one per (key, height, round, type). */
typedef struct {
    uint64_t height, round;
    uint32_t key;
    uint32_t type; /* 0: a free slot */
    bool nil;
    uint8_t hash[EC_HASH_BYTES];
} signed_t;
#define SIM_SIGNED_MAX (1u << 15) /* slots; a seed signs a few thousand votes */

typedef struct {
    uint64_t at, seq;
    int kind;
    uint32_t node, from;
    uint64_t epoch;
    uint8_t *data;
    size_t size;
    ec_verify_job_t *job;
} ev_t;

/* A client transaction: where it went and what the node answered. */
typedef struct {
    uint8_t id[EC_HASH_BYTES];
    uint32_t node;
    int code; /* 1: no answer yet */
    uint64_t height;
    uint32_t index;
} ctx_t;

typedef struct {
    uint64_t seeds, heights, blocks_compared, txs_sent, txs_acked, txs_refused;
    uint64_t msgs, dropped, duplicated, crashes, wipes, splits, twins, evidence, valset_changes;
    uint64_t violations;
} stats_t;

struct sim {
    uint64_t seed;
    bool verbose;
    rng_t rng;
    uint64_t now, seq;
    ev_t *q;
    size_t qn, qcap;
    ec_key_t *keys[SIM_KEYS];
    ec_genesis_t genesis;
    node_t nodes[SIM_NODES_MAX];
    uint32_t node_count;
    /* fault settings of this seed (during the fault phase) */
    uint64_t fault_end_ms, clients_end_ms;
    uint32_t drop_pm, dup_pm, delay_max_ms;
    int8_t side[SIM_NODES_MAX]; /* partition: nodes talk only within one side */
    bool relay;                 /* the --relay scenario (see the top of this file) */
    bool split;
    /* what was committed: block hash per height, first seen */
    uint8_t (*hashes)[EC_HASH_BYTES];
    uint8_t (*commits)[EC_HASH_BYTES]; /* hash of the first commit seen per height */
    bool *hash_known;
    uint64_t hash_cap;
    ctx_t txs[SIM_TXS_MAX];
    uint32_t tx_count;
    uint64_t nonce;
    uint8_t trace[EC_HASH_BYTES]; /* running hash of every commit, for --twice */
    signed_t *signed_votes;       /* [SIM_SIGNED_MAX] open addressing, see sim_signed */
    uint32_t signed_count;
    uint32_t wipes;  /* data folders wiped so far (names the next store) */
    bool has_twin;   /* key 3 runs in two nodes in this seed */
    bool has_joiner; /* key 4 runs, to join the set */
    stats_t *stats;
    bool failed;
    char why[512];
};

static void sim_fail(sim_t *s, const char *fmt, ...)
{
    if (s->failed)
        return;
    s->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->why, sizeof s->why, fmt, ap);
    va_end(ap);
}

static void sim_log(const sim_t *s, const char *fmt, ...)
{
    if (!s->verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[%8" PRIu64 " ms] ", s->now);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Names the log lines that follow after node n (only when narrating: cheap otherwise). */
static void sim_log_as(const sim_t *s, const node_t *n)
{
    if (!s->verbose)
        return;
    char name[32];
    snprintf(name, sizeof name, "node%u@%" PRIu64, n->id, s->now);
    ec_log_init(name, getenv("SIM_DEBUG") ? EC_LOG_DEBUG : EC_LOG_INFO);
}

/* ---- the event queue: a binary heap on (at, seq) --------------------------------------- */

static bool ev_before(const ev_t *a, const ev_t *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void ev_push(sim_t *s, ev_t ev)
{
    if (s->qn == s->qcap) {
        s->qcap = s->qcap ? s->qcap * 2 : 1024;
        s->q = realloc(s->q, s->qcap * sizeof *s->q);
        if (!s->q)
            abort();
    }
    ev.seq = s->seq++;
    size_t i = s->qn++;
    while (i > 0 && ev_before(&ev, &s->q[(i - 1) / 2])) {
        s->q[i] = s->q[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->q[i] = ev;
}

static ev_t ev_pop(sim_t *s)
{
    ev_t top = s->q[0], last = s->q[--s->qn];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->qn)
            break;
        if (c + 1 < s->qn && ev_before(&s->q[c + 1], &s->q[c]))
            c++;
        if (!ev_before(&s->q[c], &last))
            break;
        s->q[i] = s->q[c];
        i = c;
    }
    if (s->qn > 0)
        s->q[i] = last;
    return top;
}

/* ---- the engine's environment ----------------------------------------------------------- */

static uint64_t env_now(void *ctx)
{
    return ((node_t *)ctx)->sim->now;
}

static uint64_t env_wall(void *ctx)
{
    node_t *n = ctx;
    return (uint64_t)((int64_t)(SIM_GENESIS_MS + n->sim->now) + n->skew_ms);
}

static bool sim_linked(const sim_t *s, uint32_t a, uint32_t b)
{
    return !s->split || s->side[a] == s->side[b];
}

/* Queues one copy of msg from node `from` to node `to`, with this seed's delay, loss and
 * duplication. */
static void sim_deliver(sim_t *s, uint32_t from, uint32_t to, const uint8_t *msg, size_t size)
{
    bool faults = s->now < s->fault_end_ms;
    s->stats->msgs++;
    /* --relay: a proposal sent by its own proposer (the message's `from`, byte 2 of its
     * encoding) from node 0 or 1 to node 2 or 3 is lost; one passed on is not. */
    bool lost =
        s->relay && from < 2 && to >= 2 && size > 2 && msg[1] == EC_P2P_PROPOSAL && msg[2] == from;
    if (lost || !sim_linked(s, from, to) || (faults && rng_chance(&s->rng, s->drop_pm))) {
        s->stats->dropped++;
        return;
    }
    int copies = faults && rng_chance(&s->rng, s->dup_pm) ? 2 : 1;
    s->stats->duplicated += (uint64_t)copies - 1;
    for (int c = 0; c < copies; c++) {
        ev_t ev = {.kind = EV_MSG, .node = to, .from = from, .size = size};
        uint64_t delay = rng_range(&s->rng, 1, faults ? s->delay_max_ms : 20);
        ev.at = s->now + delay;
        ev.epoch = s->nodes[to].epoch;
        ev.data = malloc(size ? size : 1);
        if (!ev.data)
            abort();
        memcpy(ev.data, msg, size);
        ev_push(s, ev);
    }
}

/*
 * The no-double-signing invariant, checked where votes leave a node: an honest node (not
 * one of the twins) never signs two different values for one (height, round, type), across
 * its restarts and wipes. The engine's signer record is what makes that hold.
 */
static void sim_signed(sim_t *s, const node_t *n, const uint8_t *msg, size_t size)
{
    if (!n->honest || size < 2 || msg[1] != EC_P2P_VOTE)
        return;
    ec_decoder_t d;
    ec_decoder_init(&d);
    ec_p2pmsg_t m;
    int rc = ec_p2pmsg_decode(&d, msg, size, &m);
    ec_vote_t v = m.vote;
    ec_decoder_fini(&d);
    if (rc != 0 || v.validator >= n->vs.count ||
        memcmp(n->vs.v[v.validator].pk, ec_key_pk(s->keys[n->key]), EC_PK_BYTES) != 0)
        return; /* another validator's vote, passed on */
    uint64_t h = (v.height * 0x9e3779b97f4a7c15ull) ^ (v.round * 0xbf58476d1ce4e5b9ull) ^
                 ((uint64_t)n->key << 8) ^ v.type;
    for (uint32_t i = (uint32_t)h & (SIM_SIGNED_MAX - 1);; i = (i + 1) & (SIM_SIGNED_MAX - 1)) {
        signed_t *e = &s->signed_votes[i];
        if (e->type == 0) {
            if (s->signed_count + 1 >= SIM_SIGNED_MAX / 2) {
                sim_fail(s, "more than %u signed votes: raise SIM_SIGNED_MAX", s->signed_count);
                return;
            }
            *e = (signed_t){v.height, v.round, n->key, v.type, v.nil, {0}};
            memcpy(e->hash, v.hash, EC_HASH_BYTES);
            s->signed_count++;
            return;
        }
        if (e->height != v.height || e->round != v.round || e->key != n->key || e->type != v.type)
            continue;
        if (e->nil != v.nil || memcmp(e->hash, v.hash, EC_HASH_BYTES) != 0)
            sim_fail(s,
                     "DOUBLE SIGNING at %" PRIu64 " ms: node %u (key %u) signed two different %s "
                     "at height %" PRIu64 " round %" PRIu64 " (%s%02x%02x.., then %s%02x%02x..)",
                     s->now, n->id, n->key, v.type == EC_VOTE_PREVOTE ? "prevotes" : "precommits",
                     v.height, v.round, e->nil ? "nil " : "", e->hash[0], e->hash[1],
                     v.nil ? "nil " : "", v.hash[0], v.hash[1]);
        return;
    }
}

static void env_send(void *ctx, uint32_t peer, const uint8_t *msg, size_t size)
{
    node_t *n = ctx;
    sim_t *s = n->sim;
    sim_signed(s, n, msg, size);
    if (peer >= n->vs.count)
        return;
    for (uint32_t i = 0; i < s->node_count; i++) {
        node_t *m = &s->nodes[i];
        if (m != n && memcmp(ec_key_pk(s->keys[m->key]), n->vs.v[peer].pk, EC_PK_BYTES) == 0)
            sim_deliver(s, n->id, m->id, msg, size);
    }
}

static void env_broadcast(void *ctx, const uint8_t *msg, size_t size)
{
    node_t *n = ctx;
    for (uint32_t p = 0; p < n->vs.count; p++)
        if (memcmp(n->vs.v[p].pk, ec_key_pk(n->sim->keys[n->key]), EC_PK_BYTES) != 0)
            env_send(ctx, p, msg, size);
}

static void env_verify(void *ctx, ec_verify_job_t *job)
{
    node_t *n = ctx;
    ev_t ev = {.kind = EV_VERIFIED, .node = n->id, .job = job, .epoch = n->epoch};
    ev.at = n->sim->now + rng_range(&n->sim->rng, 0, 3);
    ev_push(n->sim, ev);
}

static void env_done(void *ctx, ec_pending_t *p, int code, uint64_t height, uint32_t index,
                     const char *msg)
{
    node_t *n = ctx;
    ctx_t *t = p->client;
    (void)msg;
    t->code = code;
    t->height = height;
    t->index = index;
    if (code == 0)
        n->sim->stats->txs_acked++;
    else if (code != EC_ESHUTDOWN && code != EC_EBUSY && code != EC_EREPLAY && code != EC_ESTATE)
        n->sim->stats->txs_refused++;
}

static void env_valset(void *ctx, const ec_valset_t *vs, uint32_t me)
{
    node_t *n = ctx;
    (void)me;
    n->vs = *vs;
}

/* A node stored block h: it must be the block every other node stored at h, and its commit
 * must verify against the set of h. */
static void env_committed(void *ctx, uint64_t height, const uint8_t *header, size_t header_size,
                          const uint8_t *commit, size_t commit_size)
{
    node_t *n = ctx;
    sim_t *s = n->sim;
    ec_header_t h;
    ec_commit_t c;
    uint8_t hash[EC_HASH_BYTES];
    if (ec_header_decode(&h, header, header_size) != 0 ||
        ec_commit_decode(&c, commit, commit_size) != 0) {
        sim_fail(s, "node %u: block %" PRIu64 " header or commit does not decode", n->id, height);
        return;
    }
    ec_header_hash(hash, &h);
    /* Each distinct commit is checked once (nodes usually store the same one). */
    uint8_t chash[EC_HASH_BYTES];
    ec_sha256(chash, commit, commit_size);
    bool checked = height < s->hash_cap && s->hash_known[height] &&
                   memcmp(s->commits[height], chash, EC_HASH_BYTES) == 0;
    ec_valset_t vs;
    if (!checked && (ec_exec_valset_stored(n->ledger, &s->genesis, height, &vs) != 0 ||
                     ec_commit_verify(&c, &h, &vs) != 0))
        sim_fail(s, "node %u: the commit of block %" PRIu64 " does not verify", n->id, height);
    if (s->relay && c.round != 0)
        sim_fail(s,
                 "NO RELAY: block %" PRIu64 " was committed in round %" PRIu64 ": the validators "
                 "that missed its proposal did not get it from another validator",
                 height, c.round);
    if (height >= s->hash_cap) {
        uint64_t cap = s->hash_cap ? s->hash_cap * 2 : 256;
        while (cap <= height)
            cap *= 2;
        s->hashes = realloc(s->hashes, cap * sizeof *s->hashes);
        s->commits = realloc(s->commits, cap * sizeof *s->commits);
        s->hash_known = realloc(s->hash_known, cap * sizeof *s->hash_known);
        if (!s->hashes || !s->commits || !s->hash_known)
            abort();
        memset(s->hash_known + s->hash_cap, 0, (cap - s->hash_cap) * sizeof *s->hash_known);
        s->hash_cap = cap;
    }
    if (!s->hash_known[height]) {
        s->hash_known[height] = true;
        memcpy(s->hashes[height], hash, EC_HASH_BYTES);
        memcpy(s->commits[height], chash, EC_HASH_BYTES);
        s->stats->heights++;
        s->stats->evidence += h.evidence_count;
        if (memcmp(h.valset_hash, h.next_valset_hash, EC_HASH_BYTES) != 0)
            s->stats->valset_changes++;
        uint8_t buf[EC_HASH_BYTES * 2];
        memcpy(buf, s->trace, EC_HASH_BYTES);
        memcpy(buf + EC_HASH_BYTES, hash, EC_HASH_BYTES);
        ec_sha256(s->trace, buf, sizeof buf);
    } else if (memcmp(s->hashes[height], hash, EC_HASH_BYTES) != 0) {
        sim_fail(s, "FORK: node %u committed another block at height %" PRIu64, n->id, height);
    } else {
        s->stats->blocks_compared++;
    }
    if (height != n->height + 1)
        sim_fail(s, "node %u committed height %" PRIu64 " after %" PRIu64, n->id, height,
                 n->height);
    n->height = height;
    sim_log(s, "node %u commits %" PRIu64 " (%" PRIu64 " txs, %" PRIu64 " evidence)", n->id, height,
            h.tx_count, h.evidence_count);
}

/* ---- nodes ------------------------------------------------------------------------------ */

static void node_start(sim_t *s, node_t *n)
{
    ec_status_t st = {0};
    ec_ledger_options_t opts = {.env = n->env};
    n->ledger = ec_ledger_open_with(n->path, &opts, &st);
    if (!n->ledger) {
        sim_fail(s, "node %u: ledger: %s", n->id, st.msg);
        return;
    }
    n->guard = ec_guard_open_mem(&n->gmem, NULL); /* a new one is marked new in itself */
    ec_engine_config_t cfg;
    ec_engine_config_defaults(&cfg);
    cfg.genesis = &s->genesis;
    cfg.app = &s_app;
    cfg.ledger = n->ledger;
    cfg.guard = n->guard;
    cfg.key = s->keys[n->key];
    cfg.block_txs_max = 200;
    cfg.heartbeat_ms = 1000;
    ec_engine_env_t env = {n,          env_now,  env_wall,   env_send,     env_broadcast,
                           env_verify, env_done, env_valset, env_committed};
    n->engine = ec_engine_new(&cfg, &env, &st);
    if (!n->engine) {
        sim_fail(s, "node %u: engine: %s", n->id, st.msg);
        return;
    }
    ec_engine_status_t es;
    ec_engine_status(n->engine, &es);
    n->height = es.height;
    n->up = true;
    n->epoch++;
}

static void node_stop(node_t *n)
{
    ec_engine_destroy(&n->engine);
    ec_guard_destroy(&n->guard);
    ec_ledger_destroy(&n->ledger);
    n->up = false;
    n->epoch++;
}

/* Runs an engine call's result: a local fault is a bug here (storage is memory). */
static void node_check(sim_t *s, node_t *n, int rc, const char *what)
{
    if (rc != 0)
        sim_fail(s, "node %u: %s: local fault %d (%s)", n->id, what, rc, ec_strerror(rc));
}

/* ---- client transactions ---------------------------------------------------------------- */

static void client_submit(sim_t *s)
{
    if (s->tx_count == SIM_TXS_MAX)
        return;
    uint32_t to = (uint32_t)rng_range(&s->rng, 0, s->node_count - 1);
    node_t *n = &s->nodes[to];
    if (!n->up)
        return;
    ec_writer_t body, env;
    ec_writer_init(&body);
    ec_writer_init(&env);
    ec_write_array(&body, 2);
    uint64_t type = APP_PUT;
    char key[32];
    if (s->tx_count == 30 && s->node_count > 4) {
        /* The validator-set change of this seed: key 4 joins with power 1. */
        type = APP_VALSET;
        ec_write_bin(&body, ec_key_pk(s->keys[4]), EC_PK_BYTES);
        ec_write_uint(&body, 1);
    } else {
        /* One in ten reuses an earlier key: refused with EEXIST, in the block. */
        uint64_t k = s->tx_count > 10 && rng_chance(&s->rng, 100)
                         ? rng_range(&s->rng, 0, s->tx_count - 1)
                         : s->tx_count;
        snprintf(key, sizeof key, "k%" PRIu64, k);
        ec_write_cstr(&body, key);
        ec_write_cstr(&body, "v");
    }
    ctx_t *t = &s->txs[s->tx_count++];
    ec_tx_build(&env, t->id, SIM_CHAIN, type, s->keys[0], s->nonce++, NULL, ec_writer_data(&body),
                ec_writer_size(&body));
    t->node = to;
    t->code = 1;
    ec_pending_t *p = ec_pending_copy(ec_writer_data(&env), ec_writer_size(&env), NULL, 0);
    ec_writer_fini(&body);
    ec_writer_fini(&env);
    if (!p)
        abort();
    ec_status_t st = {0};
    int rc = ec_pending_check(p, SIM_CHAIN, &s_app, &st);
    if (rc != 0) {
        sim_fail(s, "a client transaction was refused before the engine: %s", st.msg);
        p->release(p);
        return;
    }
    p->client = t;
    s->stats->txs_sent++;
    node_check(s, n, ec_engine_submit(n->engine, p), "submit");
}

/* ---- one seed --------------------------------------------------------------------------- */

static void sim_schedule_faults(sim_t *s)
{
    /* Crashes: each at a random time, for a random while; some overlap. */
    uint32_t crashes = (uint32_t)rng_range(&s->rng, 0, 6);
    for (uint32_t i = 0; i < crashes; i++) {
        uint64_t at = rng_range(&s->rng, 100, s->fault_end_ms - 100);
        ev_t ev = {
            .kind = EV_CRASH, .at = at, .node = (uint32_t)rng_range(&s->rng, 0, s->node_count - 1)};
        ev_push(s, ev);
        ev.kind = EV_RESTART;
        ev.at = at + rng_range(&s->rng, 50, 4000);
        if (ev.at >= s->fault_end_ms)
            ev.at = s->fault_end_ms;
        ev_push(s, ev);
    }
    /* Partitions that heal. */
    uint32_t splits = (uint32_t)rng_range(&s->rng, 0, 3);
    for (uint32_t i = 0; i < splits; i++) {
        uint64_t at = rng_range(&s->rng, 100, s->fault_end_ms - 100);
        ev_push(s, (ev_t){.kind = EV_SPLIT, .at = at});
        uint64_t heal = at + rng_range(&s->rng, 100, 5000);
        ev_push(s, (ev_t){.kind = EV_HEAL, .at = heal < s->fault_end_ms ? heal : s->fault_end_ms});
    }
}

/* Client transactions, through the faults and a little after. */
static void sim_schedule_clients(sim_t *s)
{
    uint32_t txs = (uint32_t)rng_range(&s->rng, 50, 150);
    for (uint32_t i = 0; i < txs; i++)
        ev_push(s, (ev_t){.kind = EV_CLIENT, .at = rng_range(&s->rng, 10, s->clients_end_ms)});
}

/* Whether n's key holds less than a third of the power in n's view of the current set
 * (a key outside the set holds none). */
static bool sim_light(const sim_t *s, const node_t *n)
{
    uint64_t mine = 0, total = 0;
    for (uint32_t i = 0; i < n->vs.count; i++) {
        total += n->vs.v[i].power;
        if (memcmp(n->vs.v[i].pk, ec_key_pk(s->keys[n->key]), EC_PK_BYTES) == 0)
            mine = n->vs.v[i].power;
    }
    return 3 * mine < total;
}

static void sim_event(sim_t *s, ev_t *ev)
{
    node_t *n = &s->nodes[ev->node];
    sim_log_as(s, n);
    switch (ev->kind) {
        case EV_MSG:
            if (n->up && ev->epoch == n->epoch) {
                /* The receiver knows the sender by its key's index in its own current set. */
                const uint8_t *pk = ec_key_pk(s->keys[s->nodes[ev->from].key]);
                if (s->verbose && getenv("SIM_MSGS"))
                    sim_log(s, "node %u <- node %u: message type %u, %zu bytes", n->id, ev->from,
                            ev->size > 1 ? ev->data[1] : 0, ev->size);
                for (uint32_t i = 0; i < n->vs.count; i++)
                    if (memcmp(n->vs.v[i].pk, pk, EC_PK_BYTES) == 0) {
                        node_check(s, n, ec_engine_message(n->engine, i, ev->data, ev->size),
                                   "message");
                        break;
                    }
            }
            free(ev->data);
            break;
        case EV_VERIFIED:
            if (n->up && ev->epoch == n->epoch) {
                ec_verify_job_run(ev->job, 0, ev->job->count, SIM_CHAIN, &s_app);
                node_check(s, n, ec_engine_verified(n->engine, ev->job), "verified");
            }
            break;
        case EV_CLIENT:
            client_submit(s);
            break;
        case EV_CRASH:
            if (n->up) {
                sim_log(s, "node %u crashes", n->id);
                s->stats->crashes++;
                node_stop(n);
            }
            break;
        case EV_RESTART:
            if (!n->up) {
                /* Some restarts come back wiped, as an operator who lost a disk would
                 * start it: an empty store and a new signer record. */
                /* A wiped validator abstains for a few heights, a faulty one there: at
                 * most one per seed, none beside a twin or a joining validator (which
                 * abstains when it joins), and only one holding less than a third of the
                 * power (liveness is owed only while the faulty power is below a third). Not before
                 * block 2 is committed: a validator wiped in a chain's first two heights cannot
                 * tell that it signed there (docs/CONSENSUS.md, "Known limitations"). */
                bool wipe = !s->has_twin && !s->has_joiner && s->wipes == 0 && sim_light(s, n) &&
                            rng_chance(&s->rng, 400) && s->hash_cap > 2 && s->hash_known[2];
                if (wipe) {
                    snprintf(n->path, sizeof n->path, "/sim/node%u.w%u", n->id, ++s->wipes);
                    memset(&n->gmem, 0, sizeof n->gmem);
                    s->stats->wipes++;
                }
                sim_log(s, "node %u restarts%s", n->id, wipe ? " wiped" : "");
                node_start(s, n);
            }
            break;
        case EV_SPLIT:
            s->split = true;
            s->stats->splits++;
            for (uint32_t i = 0; i < s->node_count; i++)
                s->side[i] = (int8_t)rng_range(&s->rng, 0, 1);
            sim_log(s, "network splits");
            break;
        case EV_HEAL:
            s->split = false;
            sim_log(s, "network heals");
            break;
    }
}

/* Runs every event and timer up to `until`. */
static void sim_run_until(sim_t *s, uint64_t until)
{
    while (!s->failed) {
        uint64_t next = UINT64_MAX;
        if (s->qn > 0)
            next = s->q[0].at;
        for (uint32_t i = 0; i < s->node_count; i++)
            if (s->nodes[i].up) {
                uint64_t d = ec_engine_deadline(s->nodes[i].engine);
                if (d < next)
                    next = d;
            }
        if (next > until)
            break;
        if (next > s->now)
            s->now = next;
        /* Timers first, in node order, then one event: a fixed order. */
        for (uint32_t i = 0; i < s->node_count; i++) {
            node_t *n = &s->nodes[i];
            if (n->up && ec_engine_deadline(n->engine) <= s->now) {
                sim_log_as(s, n);
                node_check(s, n, ec_engine_tick(n->engine), "tick");
            }
        }
        if (s->qn > 0 && s->q[0].at <= s->now) {
            ev_t ev = ev_pop(s);
            sim_event(s, &ev);
        }
    }
    if (s->now < until)
        s->now = until;
}

/* The end state: every acknowledged transaction is where it was acknowledged. */
static void sim_check_acked(sim_t *s)
{
    for (uint32_t t = 0; t < s->tx_count && !s->failed; t++) {
        const ctx_t *c = &s->txs[t];
        if (c->code != 0)
            continue;
        for (uint32_t i = 0; i < s->node_count; i++) {
            node_t *n = &s->nodes[i];
            if (!n->up || n->height < c->height)
                continue;
            uint64_t h = 0;
            uint32_t idx = 0;
            if (ec_ledger_tx_location(n->ledger, c->id, &h, &idx) != 0 || h != c->height ||
                idx != c->index)
                sim_fail(s,
                         "LOST: transaction %u acknowledged at %" PRIu64 "/%u is not there on "
                         "node %u",
                         t, c->height, c->index, n->id);
        }
    }
}

static void sim_free(sim_t *s)
{
    for (uint32_t i = 0; i < s->node_count; i++) {
        node_stop(&s->nodes[i]);
        ec_ledger_mem_env_destroy(&s->nodes[i].env);
    }
    while (s->qn > 0) {
        ev_t ev = ev_pop(s);
        if (ev.kind == EV_MSG)
            free(ev.data);
    }
    free(s->q);
    free(s->hashes);
    free(s->commits);
    free(s->hash_known);
    free(s->signed_votes);
    for (uint32_t k = 0; k < SIM_KEYS; k++)
        ec_key_destroy(&s->keys[k]);
}

/* The lowest and highest tips of the honest validators, and how many transactions sent to
 * them are still unanswered. */
static void sim_spread(const sim_t *s, uint64_t *lo, uint64_t *hi, uint32_t *unanswered);

/* Whether n's key is a validator in node 0's view of the set (a node that never joined
 * the set hears nothing and is not expected to keep up). */
static bool sim_in_set(const sim_t *s, const node_t *n)
{
    const ec_valset_t *vs = &s->nodes[0].vs;
    for (uint32_t i = 0; i < vs->count; i++)
        if (memcmp(vs->v[i].pk, ec_key_pk(s->keys[n->key]), EC_PK_BYTES) == 0)
            return true;
    return false;
}

static void sim_spread(const sim_t *s, uint64_t *lo, uint64_t *hi, uint32_t *unanswered)
{
    *lo = UINT64_MAX;
    *hi = 0;
    *unanswered = 0;
    for (uint32_t i = 0; i < s->node_count; i++) {
        const node_t *n = &s->nodes[i];
        if (!n->honest || !sim_in_set(s, n))
            continue;
        if (n->height < *lo)
            *lo = n->height;
        if (n->height > *hi)
            *hi = n->height;
    }
    for (uint32_t t = 0; t < s->tx_count; t++) {
        const node_t *n = &s->nodes[s->txs[t].node];
        if (s->txs[t].code == 1 && n->honest && sim_in_set(s, n))
            (*unanswered)++;
    }
}

/* Runs one seed; returns true when every invariant held. trace gets the run's trace hash. */
static bool sim_seed(uint64_t seed, bool verbose, bool relay, stats_t *stats,
                     uint8_t trace[EC_HASH_BYTES])
{
    sim_t *s = calloc(1, sizeof *s);
    if (!s || !(s->signed_votes = calloc(SIM_SIGNED_MAX, sizeof *s->signed_votes)))
        abort();
    s->seed = seed;
    s->verbose = verbose;
    s->relay = relay;
    s->rng.s = seed * 0x2545f4914f6cdd1dull + 1;
    s->stats = stats;
    for (uint32_t k = 0; k < SIM_KEYS; k++) {
        uint8_t sk[32] = {0};
        sk[0] = (uint8_t)(k + 1);
        sk[1] = 0x5e;
        s->keys[k] = ec_key_from_seed(sk);
    }
    ec_genesis_t *g = &s->genesis;
    snprintf(g->chain_id, sizeof g->chain_id, SIM_CHAIN);
    g->kind = EC_CHAIN_MAIN;
    g->time_ms = SIM_GENESIS_MS;
    g->validators.count = 4;
    for (uint32_t k = 0; k < 4; k++) {
        memcpy(g->validators.v[k].pk, ec_key_pk(s->keys[k]), EC_PK_BYTES);
        g->validators.v[k].power = 1 + (rng_chance(&s->rng, 300) && !relay ? k % 2 : 0);
    }
    g->operator_count = 1;
    g->operator_quorum = 1;
    memcpy(g->operators[0], ec_key_pk(s->keys[0]), EC_PK_BYTES);

    /* Nodes: one per genesis key, often a fifth that joins the set, sometimes a twin of
     * key 3 (the equivocator: two nodes sign with one key, each with its own record). */
    s->node_count = 4;
    s->has_joiner = rng_chance(&s->rng, 500) && !relay;
    if (s->has_joiner)
        s->nodes[s->node_count++].key = 4;
    bool twin = rng_chance(&s->rng, 250) && !relay;
    s->has_twin = twin;
    if (twin) {
        s->nodes[s->node_count].key = 3;
        s->nodes[s->node_count++].honest = false;
        stats->twins++;
    }
    for (uint32_t i = 0; i < s->node_count; i++) {
        node_t *n = &s->nodes[i];
        n->sim = s;
        n->id = i;
        if (i < 4)
            n->key = i;
        if (i < 4 || n->key == 4)
            n->honest = true;
        if (twin && n->key == 3)
            n->honest = false; /* both of key 3: safety holds, liveness is not theirs */
        snprintf(n->path, sizeof n->path, "/sim/node%u", i);
        n->env = ec_ledger_mem_env_new();
        n->skew_ms = (int64_t)rng_range(&s->rng, 0, 1000) - 500;
    }
    s->fault_end_ms = rng_range(&s->rng, 4000, 15000);
    s->clients_end_ms = s->fault_end_ms + 2000;
    s->drop_pm = (uint32_t)(rng_chance(&s->rng, 500) ? rng_range(&s->rng, 0, 200) : 0);
    s->dup_pm = (uint32_t)rng_range(&s->rng, 0, 50);
    s->delay_max_ms = (uint32_t)rng_range(&s->rng, 5, 400);
    if (relay) { /* no random faults: only the lost proposals (sim_deliver) */
        s->fault_end_ms = 1;
        s->clients_end_ms = 8000;
        for (uint32_t i = 0; i < s->node_count; i++)
            s->nodes[i].skew_ms = 0;
    }
    for (uint32_t i = 0; i < s->node_count && !s->failed; i++)
        node_start(s, &s->nodes[i]);
    if (!relay)
        sim_schedule_faults(s);
    sim_schedule_clients(s);

    sim_run_until(s, s->fault_end_ms);
    /* Faults end: everyone up, the network whole. */
    for (uint32_t i = 0; i < s->node_count && !s->failed; i++)
        if (!s->nodes[i].up)
            node_start(s, &s->nodes[i]);
    s->split = false;
    uint64_t heal_height = 0;
    for (uint32_t i = 0; i < s->node_count; i++)
        if (s->nodes[i].height > heal_height)
            heal_height = s->nodes[i].height;
    sim_log(s, "faults end at height %" PRIu64, heal_height);
    /* Liveness: within SIM_SETTLE_MS every honest validator moves past where the best was
     * when the faults stopped, they reach one tip (heartbeats keep blocks coming), and
     * every transaction sent to one is answered. Checked every quarter second. */
    uint64_t lo = 0, hi = 0;
    uint32_t unanswered = 0;
    for (uint64_t t = s->fault_end_ms + 250; !s->failed; t += 250) {
        sim_run_until(s, t);
        sim_spread(s, &lo, &hi, &unanswered);
        bool settled =
            lo >= heal_height + 3 && hi <= lo + 2 && unanswered == 0 && t >= s->clients_end_ms;
        if (settled || t >= s->fault_end_ms + SIM_SETTLE_MS)
            break;
    }
    if (!s->failed && lo < heal_height + 3)
        sim_fail(s,
                 "NO PROGRESS: %u s after the faults stopped an honest node is at height "
                 "%" PRIu64 " (best at the heal: %" PRIu64 ")",
                 SIM_SETTLE_MS / 1000, lo, heal_height);
    if (!s->failed && hi > lo + 2)
        sim_fail(s, "honest nodes did not converge: heights %" PRIu64 "..%" PRIu64, lo, hi);
    if (!s->failed && unanswered > 0)
        sim_fail(s, "%u transactions sent to honest validators got no answer", unanswered);
    if (!s->failed)
        sim_check_acked(s);
    memcpy(trace, s->trace, EC_HASH_BYTES);
    bool ok = !s->failed;
    if (!ok) {
        stats->violations++;
        fprintf(stderr, "SEED %" PRIu64 " FAILED at %" PRIu64 " ms: %s\n", seed, s->now, s->why);
        for (uint32_t i = 0; i < s->node_count; i++) {
            const node_t *n = &s->nodes[i];
            ec_engine_status_t es = {0};
            if (n->up)
                ec_engine_status(n->engine, &es);
            fprintf(stderr,
                    "  node %u (key %u%s): %s, height %" PRIu64 " round %" PRIu64 " step %u, "
                    "validator %d of %u, mempool %u, peers ahead %" PRIu64 "%s%s%s\n",
                    i, n->key, n->honest ? "" : ", equivocating", n->up ? "up" : "down", es.height,
                    es.round, es.step, es.validator == UINT32_MAX ? -1 : (int)es.validator,
                    es.validators, es.mempool, es.peers_ahead,
                    es.catching_up ? ", catching up" : "", es.decided ? ", decided" : "",
                    es.abstain ? ", abstaining" : "");
        }
    }
    sim_free(s);
    free(s);
    return ok;
}

static void usage(FILE *out)
{
    fprintf(out, "Usage: ecert-sim [--seed N | --from N --count M] [--twice] [--verbose]\n"
                 "\n"
                 "Simulates one chain of 4 validators (often a 5th joining, sometimes an\n"
                 "equivocating twin) on the real engine with a simulated clock and network, one\n"
                 "run per seed, and checks safety, durability, liveness and (--twice)\n"
                 "determinism. A failing seed prints the command that replays it.\n"
                 "\n"
                 "  --seed N     run seed N only (with --verbose: every commit, crash, split)\n"
                 "  --from N     first seed (default 1)\n"
                 "  --count M    number of seeds (default 100)\n"
                 "  --twice      run every seed twice and compare the traces\n"
                 "  --relay      instead of random faults: validators 0 and 1's proposals never\n"
                 "               reach 2 and 3 directly; every height must still commit in\n"
                 "               round 0, the proposal passed on by another validator\n"
                 "  --verbose    narrate the run on stderr\n"
                 "  -h, --help   this text\n");
}

int main(int argc, char **argv)
{
    uint64_t from = 1, count = 100;
    bool twice = false, verbose = false, relay = false;
    static const struct option opts[] = {
        {"seed", required_argument, NULL, 's'},  {"from", required_argument, NULL, 'f'},
        {"count", required_argument, NULL, 'c'}, {"twice", no_argument, NULL, 't'},
        {"verbose", no_argument, NULL, 'v'},     {"relay", no_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
            case 's':
                from = strtoull(optarg, &end, 10);
                count = 1;
                break;
            case 'f':
                from = strtoull(optarg, &end, 10);
                break;
            case 'c':
                count = strtoull(optarg, &end, 10);
                break;
            case 't':
                twice = true;
                break;
            case 'v':
                verbose = true;
                break;
            case 'r':
                relay = true;
                break;
            case 'h':
                usage(stdout);
                return 0;
            default:
                usage(stderr);
                return 2;
        }
        if (end && *end) {
            fprintf(stderr, "ecert-sim: not a number: %s\n", optarg);
            return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }
    if (ec_crypto_init() != 0)
        return 1;
    ec_log_init("ecert-sim",
                verbose ? (getenv("SIM_DEBUG") ? EC_LOG_DEBUG : EC_LOG_INFO) : EC_LOG_ERROR);
    stats_t st = {0};
    uint64_t failed = 0;
    for (uint64_t seed = from; seed < from + count; seed++) {
        uint8_t t1[EC_HASH_BYTES], t2[EC_HASH_BYTES];
        bool ok = sim_seed(seed, verbose, relay, &st, t1);
        st.seeds++;
        if (ok && twice) {
            stats_t again = {0};
            ok = sim_seed(seed, false, relay, &again, t2) && memcmp(t1, t2, EC_HASH_BYTES) == 0;
            if (!ok)
                fprintf(stderr, "SEED %" PRIu64 " FAILED: a second run gave another trace\n", seed);
        }
        if (!ok) {
            failed++;
            fprintf(stderr, "  replay: ecert-sim --seed %" PRIu64 "%s%s --verbose\n", seed,
                    relay ? " --relay" : "", twice ? " --twice" : "");
        }
    }
    printf("ecert-sim: %" PRIu64 " seeds (%" PRIu64 "..%" PRIu64 "), %" PRIu64 " failed; "
           "%" PRIu64 " heights, %" PRIu64 " block copies compared, %" PRIu64 " txs sent, "
           "%" PRIu64 " acknowledged, %" PRIu64 " refused in blocks; faults: %" PRIu64
           " crashes (%" PRIu64 " restarted wiped), %" PRIu64 " partitions, %" PRIu64 " of %" PRIu64
           " messages dropped, "
           "%" PRIu64 " duplicated, %" PRIu64 " equivocating twins (%" PRIu64
           " evidence recorded), %" PRIu64 " validator-set changes\n",
           st.seeds, from, from + count - 1, failed, st.heights, st.blocks_compared, st.txs_sent,
           st.txs_acked, st.txs_refused, st.crashes, st.wipes, st.splits, st.dropped, st.msgs,
           st.duplicated, st.twins, st.evidence, st.valset_changes);
    return failed ? 1 : 0;
}
