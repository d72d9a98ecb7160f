/*
 * test_tm.c - the Tendermint core (common/ec_tm.c).
 *
 * Three kinds of evidence:
 * 1. Scenarios on one core driven by hand through a recording out-table: each rule of
 *    Algorithm 1 (ec_tm.h lists them with the paper's line numbers) fires when it should
 *    and not when it should not, plus the contract around it (re-entrant inputs, restart,
 *    evidence, missing proposals, the vote window, weighted powers).
 * 2. The proposer schedule: rotation, proportion, gcd reduction and scaling.
 * 3. A small simulated network of 4 to 7 cores (delay, loss, duplication, reordering, a
 *    gossip tick re-sending each node's latest messages, crashes, restarts from a signer
 *    record, a validator key run by two cores) over many seeds, checking agreement,
 *    validity, liveness, that no core asks to sign twice at one (height, round, type) and
 *    that evidence names only the key that equivocated. A failure prints its seed; run
 *    TM_SEED=<seed> build/tests/unit/test_tm to replay that seed alone, or TM_SEEDS=<n>
 *    to run n seeds of every configuration (a soak).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec_tm.h"

static const ec_tm_config_t k_cfg = {
    .propose_ms = 1000,
    .propose_delta_ms = 500,
    .prevote_ms = 500,
    .prevote_delta_ms = 250,
    .precommit_ms = 500,
    .precommit_delta_ms = 250,
};

static uint8_t A[EC_HASH_BYTES], B[EC_HASH_BYTES], C[EC_HASH_BYTES], P[EC_HASH_BYTES];

static void s_valset(ec_valset_t *vs, const uint64_t *powers, uint32_t n)
{
    memset(vs, 0, sizeof(*vs));
    vs->count = n;
    for (uint32_t i = 0; i < n; i++) {
        vs->v[i].pk[0] = (uint8_t)(i + 1);
        vs->v[i].power = powers[i];
    }
}

/* ---- 1. a recording driver -------------------------------------------------------------- */

typedef enum { O_PROPOSE = 1, O_VOTE, O_SCHEDULE, O_DECIDE, O_EVIDENCE, O_NEED } o_kind_t;

/* One output call, with the state the core showed during it. */
typedef struct {
    o_kind_t kind;
    uint64_t h, r;
    int64_t vr;    /* propose                                                          */
    bool has_hash; /* propose: a valid value; vote: not nil                            */
    uint8_t hash[EC_HASH_BYTES];
    uint32_t type; /* vote                                                             */
    ec_tm_timeout_t timeout;
    uint32_t delay_ms;
    uint32_t count; /* decide: precommits; evidence: 2                                 */
    ec_tm_vote_t votes[EC_VALIDATORS_MAX];
    ec_tm_step_t step; /* ec_tm_step during the call                                   */
    ec_tm_lock_t lock; /* ec_tm_lock during the call                                   */
    uint32_t own_held; /* vote: how many votes of this (round, type) the core held     */
} rec_t;

typedef struct {
    ec_tm_t *tm;
    ec_valset_t vs;
    uint64_t h;
    uint32_t me;
    bool echo;            /* feed own votes and proposals back from inside the output     */
    bool start_next;      /* start h + 1 from inside out->decide                          */
    const uint8_t *block; /* the hash of the new block it proposes (P unless set) */
    int depth;            /* outputs in progress: more than one means the core recursed   */
    size_t n;
    rec_t log[64];
} rig_t;

static rec_t *s_rec(rig_t *g, o_kind_t kind, uint64_t h, uint64_t r)
{
    assert_int_equal(++g->depth, 1);
    assert_true(g->n < sizeof(g->log) / sizeof(g->log[0]));
    rec_t *e = &g->log[g->n++];
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    e->h = h;
    e->r = r;
    e->step = ec_tm_step(g->tm);
    ec_tm_lock(g->tm, &e->lock);
    return e;
}

static void o_propose(void *ctx, uint64_t h, uint64_t r, int64_t vr, const uint8_t *hash)
{
    rig_t *g = ctx;
    rec_t *e = s_rec(g, O_PROPOSE, h, r);
    e->vr = vr;
    e->has_hash = hash != NULL;
    if (hash)
        memcpy(e->hash, hash, EC_HASH_BYTES);
    if (g->echo)
        ec_tm_on_proposal(g->tm, h, r, vr, hash ? hash : g->block, true);
    g->depth--;
}

static void o_vote(void *ctx, uint32_t type, uint64_t h, uint64_t r, const uint8_t *hash)
{
    rig_t *g = ctx;
    rec_t *e = s_rec(g, O_VOTE, h, r);
    e->type = type;
    e->has_hash = hash != NULL;
    if (hash)
        memcpy(e->hash, hash, EC_HASH_BYTES);
    e->own_held = ec_tm_votes(g->tm, r, type, e->votes, EC_VALIDATORS_MAX);
    if (g->echo) {
        ec_tm_vote_t v = {.height = h, .round = r, .type = type, .validator = g->me};
        v.nil = hash == NULL;
        if (hash)
            memcpy(v.hash, hash, EC_HASH_BYTES);
        ec_tm_on_vote(g->tm, &v);
    }
    g->depth--;
}

static void o_schedule(void *ctx, ec_tm_timeout_t kind, uint64_t h, uint64_t r, uint32_t ms)
{
    rig_t *g = ctx;
    rec_t *e = s_rec(g, O_SCHEDULE, h, r);
    e->timeout = kind;
    e->delay_ms = ms;
    g->depth--;
}

static void o_decide(void *ctx, uint64_t h, uint64_t r, const uint8_t hash[EC_HASH_BYTES],
                     const ec_tm_vote_t *pc, uint32_t count)
{
    rig_t *g = ctx;
    rec_t *e = s_rec(g, O_DECIDE, h, r);
    memcpy(e->hash, hash, EC_HASH_BYTES);
    e->has_hash = true;
    assert_true(count <= EC_VALIDATORS_MAX);
    e->count = count;
    memcpy(e->votes, pc, count * sizeof(*pc));
    if (g->start_next) {
        g->h = h + 1;
        ec_tm_start(g->tm, h + 1, &g->vs, g->me, 0, NULL);
        /* Queued: the core still shows the decided height. */
        assert_int_equal(ec_tm_height(g->tm), h);
    }
    g->depth--;
}

static void o_evidence(void *ctx, const ec_tm_vote_t *a, const ec_tm_vote_t *b)
{
    rig_t *g = ctx;
    rec_t *e = s_rec(g, O_EVIDENCE, a->height, a->round);
    e->count = 2;
    e->votes[0] = *a;
    e->votes[1] = *b;
    g->depth--;
}

static void o_need(void *ctx, uint64_t h, uint64_t r, const uint8_t hash[EC_HASH_BYTES])
{
    rig_t *g = ctx;
    rec_t *e = s_rec(g, O_NEED, h, r);
    memcpy(e->hash, hash, EC_HASH_BYTES);
    e->has_hash = true;
    g->depth--;
}

static rig_t *rig_new(const uint64_t *powers, uint32_t n, uint32_t me, bool echo)
{
    rig_t *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    s_valset(&g->vs, powers, n);
    g->me = me;
    g->echo = echo;
    g->block = P;
    ec_tm_out_t out = {g, o_propose, o_vote, o_schedule, o_decide, o_evidence, o_need};
    g->tm = ec_tm_new(&k_cfg, &out);
    assert_non_null(g->tm);
    return g;
}

static const uint64_t k_equal4[4] = {1, 1, 1, 1};

/* Four validators of equal power; at height 1 the proposer of round r is (1 + r) mod 4,
 * so validator 0 proposes first at round 3. */
static rig_t *rig4(uint32_t me, bool echo)
{
    return rig_new(k_equal4, 4, me, echo);
}

/* The same, started at height 1, round 0. */
static rig_t *rig4_h1(uint32_t me, bool echo)
{
    rig_t *g = rig4(me, echo);
    g->h = 1;
    ec_tm_start(g->tm, 1, &g->vs, me, 0, NULL);
    return g;
}

static void rig_free(rig_t *g)
{
    ec_tm_destroy(&g->tm);
    assert_null(g->tm);
    ec_tm_destroy(&g->tm); /* idempotent */
    free(g);
}

static void rig_start(rig_t *g, uint64_t h, uint64_t round, const ec_tm_lock_t *lock)
{
    g->h = h;
    ec_tm_start(g->tm, h, &g->vs, g->me, round, lock);
}

static void rig_clear(rig_t *g)
{
    g->n = 0;
}

static void vote_at(rig_t *g, uint64_t h, uint32_t type, uint32_t validator, uint64_t r,
                    const uint8_t *hash)
{
    ec_tm_vote_t v = {.height = h, .round = r, .type = type, .validator = validator};
    v.nil = hash == NULL;
    if (hash)
        memcpy(v.hash, hash, EC_HASH_BYTES);
    memset(v.sig, (int)validator, EC_SIG_BYTES);
    ec_tm_on_vote(g->tm, &v);
}

static void prevote(rig_t *g, uint32_t validator, uint64_t r, const uint8_t *hash)
{
    vote_at(g, g->h, EC_VOTE_PREVOTE, validator, r, hash);
}

static void precommit(rig_t *g, uint32_t validator, uint64_t r, const uint8_t *hash)
{
    vote_at(g, g->h, EC_VOTE_PRECOMMIT, validator, r, hash);
}

/* Validators 1, 2 and 3 (all but the core's own 0 in most scenarios) vote `type` at
 * round r for hash (NULL: nil). */
static void from_others(rig_t *g, uint32_t type, uint64_t r, const uint8_t *hash)
{
    for (uint32_t v = 1; v <= 3; v++)
        vote_at(g, g->h, type, v, r, hash);
}

static void proposal(rig_t *g, uint64_t r, int64_t vr, const uint8_t *hash, bool valid)
{
    ec_tm_on_proposal(g->tm, g->h, r, vr, hash, valid);
}

static void timeout(rig_t *g, ec_tm_timeout_t kind, uint64_t r)
{
    ec_tm_on_timeout(g->tm, kind, g->h, r);
}

static size_t count_of(const rig_t *g, o_kind_t kind)
{
    size_t c = 0;
    for (size_t i = 0; i < g->n; i++)
        c += g->log[i].kind == kind;
    return c;
}

/* The only output of `kind` since the last rig_clear (fails if there is not exactly one). */
static const rec_t *only(const rig_t *g, o_kind_t kind)
{
    const rec_t *found = NULL;
    for (size_t i = 0; i < g->n; i++)
        if (g->log[i].kind == kind) {
            if (found)
                fail_msg("output kind %d made twice", (int)kind);
            found = &g->log[i];
        }
    if (!found)
        fail_msg("output kind %d not made", (int)kind);
    return found;
}

/* Asserts that exactly one vote was asked for since the last rig_clear: type at round r
 * for hash (NULL: nil). */
static void expect_vote(const rig_t *g, uint32_t type, uint64_t r, const uint8_t *hash)
{
    const rec_t *e = only(g, O_VOTE);
    assert_int_equal(e->type, type);
    assert_int_equal(e->h, g->h);
    assert_int_equal(e->r, r);
    assert_int_equal(e->has_hash, hash != NULL);
    if (hash)
        assert_memory_equal(e->hash, hash, EC_HASH_BYTES);
}

static void expect_schedule(const rig_t *g, ec_tm_timeout_t kind, uint64_t r, uint32_t ms)
{
    const rec_t *e = only(g, O_SCHEDULE);
    assert_int_equal(e->timeout, kind);
    assert_int_equal(e->h, g->h);
    assert_int_equal(e->r, r);
    assert_int_equal(e->delay_ms, ms);
}

static void expect_nothing(const rig_t *g)
{
    assert_int_equal(g->n, 0);
}

static void expect_state(const rig_t *g, uint64_t r, ec_tm_step_t step)
{
    assert_int_equal(ec_tm_round(g->tm), r);
    assert_int_equal(ec_tm_step(g->tm), step);
}

/* Round 0 of height 1 for validator 0 up to its precommit for A: proposal A, prevotes
 * for A from 1 and 2 (with its own, echoed, a quorum). Leaves it locked on A at 0. */
static void s_lock_on_a(rig_t *g)
{
    rig_start(g, 1, 0, NULL);
    proposal(g, 0, -1, A, true);
    prevote(g, 1, 0, A);
    prevote(g, 2, 0, A);
    ec_tm_lock_t l;
    ec_tm_lock(g->tm, &l);
    assert_int_equal(l.locked_round, 0);
    assert_memory_equal(l.locked_hash, A, EC_HASH_BYTES);
    expect_state(g, 0, EC_TM_PRECOMMIT);
}

/* Precommits for nil at round r from 1, 2 and 3, then the precommit timeout: round r+1. */
static void s_next_round(rig_t *g, uint64_t r)
{
    from_others(g, EC_VOTE_PRECOMMIT, r, NULL);
    timeout(g, EC_TM_TIMEOUT_PRECOMMIT, r);
    assert_int_equal(ec_tm_round(g->tm), r + 1);
}

static void test_happy_path(void **state)
{
    (void)state;
    rig_t *g = rig4_h1(0, true);
    expect_schedule(g, EC_TM_TIMEOUT_PROPOSE, 0, 1000);
    assert_int_equal(count_of(g, O_PROPOSE), 0); /* validator 1 proposes (1, 0) */
    expect_state(g, 0, EC_TM_PROPOSE);

    rig_clear(g);
    proposal(g, 0, -1, A, true);
    expect_vote(g, EC_VOTE_PREVOTE, 0, A);
    expect_state(g, 0, EC_TM_PREVOTE);
    ec_tm_vote_t held[EC_TM_VOTES_MAX];
    assert_int_equal(ec_tm_votes(g->tm, 0, EC_VOTE_PREVOTE, held, EC_TM_VOTES_MAX), 1);
    assert_int_equal(held[0].validator, 0); /* its own, fed back */

    rig_clear(g);
    prevote(g, 2, 0, A); /* 2 of 4: no quorum */
    expect_nothing(g);
    prevote(g, 1, 0, A); /* 3 of 4 */
    assert_int_equal(g->n, 2);
    assert_int_equal(g->log[0].kind, O_SCHEDULE); /* [34] before [36] */
    assert_int_equal(g->log[0].timeout, EC_TM_TIMEOUT_PREVOTE);
    assert_int_equal(g->log[0].delay_ms, 500);
    expect_vote(g, EC_VOTE_PRECOMMIT, 0, A);
    /* The lock is taken before the precommit is asked for, so the driver persists it. */
    const rec_t *pc = only(g, O_VOTE);
    assert_int_equal(pc->step, EC_TM_PRECOMMIT);
    assert_int_equal(pc->lock.locked_round, 0);
    assert_memory_equal(pc->lock.locked_hash, A, EC_HASH_BYTES);
    assert_int_equal(pc->lock.valid_round, 0);
    assert_memory_equal(pc->lock.valid_hash, A, EC_HASH_BYTES);
    assert_int_equal(pc->lock.voted_round, 0);
    assert_int_equal(pc->lock.voted_type, EC_VOTE_PRECOMMIT);

    rig_clear(g);
    precommit(g, 2, 0, A);
    expect_nothing(g);
    assert_false(ec_tm_decided(g->tm));
    precommit(g, 1, 0, A);
    const rec_t *d = only(g, O_DECIDE);
    assert_int_equal(d->h, 1);
    assert_int_equal(d->r, 0);
    assert_memory_equal(d->hash, A, EC_HASH_BYTES);
    assert_int_equal(d->count, 3);
    for (uint32_t i = 0; i < 3; i++) {
        assert_int_equal(d->votes[i].validator, i); /* sorted, whatever the arrival order */
        assert_int_equal(d->votes[i].type, EC_VOTE_PRECOMMIT);
        assert_int_equal(d->votes[i].height, 1);
        assert_false(d->votes[i].nil);
        assert_memory_equal(d->votes[i].hash, A, EC_HASH_BYTES);
    }
    assert_int_equal(d->votes[2].sig[0], 2);
    assert_true(ec_tm_decided(g->tm));
    assert_int_equal(count_of(g, O_SCHEDULE), 0); /* decided before [47] */

    /* Decided: every input is ignored until the next start; the votes stay readable. */
    rig_clear(g);
    precommit(g, 3, 0, A);
    prevote(g, 3, 1, B);
    prevote(g, 2, 1, B);
    timeout(g, EC_TM_TIMEOUT_PRECOMMIT, 0);
    proposal(g, 1, -1, B, true);
    expect_nothing(g);
    assert_int_equal(ec_tm_votes(g->tm, 0, EC_VOTE_PRECOMMIT, held, EC_VALIDATORS_MAX), 3);

    rig_start(g, 2, 0, NULL); /* a new height forgets the old one's votes */
    assert_false(ec_tm_decided(g->tm));
    assert_int_equal(ec_tm_height(g->tm), 2);
    assert_int_equal(ec_tm_votes(g->tm, 0, EC_VOTE_PRECOMMIT, held, EC_VALIDATORS_MAX), 0);
    rig_free(g);
}

static void test_proposer_side(void **state)
{
    (void)state;
    rig_t *g = rig4(1, true); /* validator 1 proposes (1, 0) */
    rig_start(g, 1, 0, NULL);
    assert_int_equal(g->n, 3);
    assert_int_equal(g->log[0].kind, O_PROPOSE);
    assert_int_equal(g->log[0].h, 1);
    assert_int_equal(g->log[0].r, 0);
    assert_int_equal(g->log[0].vr, -1);
    assert_false(g->log[0].has_hash);             /* a new block */
    assert_int_equal(g->log[1].kind, O_SCHEDULE); /* the proposer waits too */
    /* Its own proposal, fed back from inside out->propose, is processed after start. */
    assert_int_equal(g->log[2].kind, O_VOTE);
    expect_vote(g, EC_VOTE_PREVOTE, 0, P);
    rig_free(g);
}

static void test_timeouts(void **state)
{
    (void)state;
    rig_t *g = rig4_h1(0, false);
    rig_clear(g);
    timeout(g, EC_TM_TIMEOUT_PREVOTE, 0);                 /* wrong step */
    timeout(g, EC_TM_TIMEOUT_PROPOSE, 1);                 /* wrong round */
    ec_tm_on_timeout(g->tm, EC_TM_TIMEOUT_PROPOSE, 2, 0); /* wrong height */
    expect_nothing(g);
    timeout(g, EC_TM_TIMEOUT_PROPOSE, 0); /* [57] */
    expect_vote(g, EC_VOTE_PREVOTE, 0, NULL);
    expect_state(g, 0, EC_TM_PREVOTE);
    rig_clear(g);
    timeout(g, EC_TM_TIMEOUT_PROPOSE, 0); /* again: step passed */
    proposal(g, 0, -1, A, true);          /* too late for [22] */
    expect_nothing(g);

    /* Prevotes of three different values: a quorum for anything [34], none for one. */
    prevote(g, 1, 0, A);
    prevote(g, 2, 0, B);
    expect_nothing(g);
    prevote(g, 3, 0, C);
    expect_schedule(g, EC_TM_TIMEOUT_PREVOTE, 0, 500);
    assert_int_equal(count_of(g, O_VOTE), 0);
    rig_clear(g);
    timeout(g, EC_TM_TIMEOUT_PREVOTE, 0); /* [61] */
    expect_vote(g, EC_VOTE_PRECOMMIT, 0, NULL);
    expect_state(g, 0, EC_TM_PRECOMMIT);
    rig_clear(g);
    timeout(g, EC_TM_TIMEOUT_PREVOTE, 0);
    expect_nothing(g);

    precommit(g, 1, 0, A);
    precommit(g, 2, 0, NULL);
    expect_nothing(g);
    precommit(g, 3, 0, B); /* [47], first time */
    expect_schedule(g, EC_TM_TIMEOUT_PRECOMMIT, 0, 500);
    rig_clear(g);
    precommit(g, 0, 0, NULL);
    expect_nothing(g);                      /* not again */
    timeout(g, EC_TM_TIMEOUT_PRECOMMIT, 0); /* [65] */
    expect_state(g, 1, EC_TM_PROPOSE);
    expect_schedule(g, EC_TM_TIMEOUT_PROPOSE, 1, 1500);
    rig_clear(g);
    timeout(g, EC_TM_TIMEOUT_PRECOMMIT, 0); /* stale */
    expect_nothing(g);
    timeout(g, EC_TM_TIMEOUT_PROPOSE, 1);
    expect_vote(g, EC_VOTE_PREVOTE, 1, NULL);
    rig_free(g);
}

static void test_timeouts_grow(void **state)
{
    (void)state;
    rig_t *g = rig4_h1(0, false);
    for (uint64_t r = 0; r < 4; r++) {
        assert_int_equal(g->log[g->n - 1].delay_ms, 1000 + 500 * r);
        rig_clear(g);
        timeout(g, EC_TM_TIMEOUT_PROPOSE, r);
        prevote(g, 1, r, NULL);
        prevote(g, 2, r, A);
        prevote(g, 3, r, B);
        expect_schedule(g, EC_TM_TIMEOUT_PREVOTE, r, (uint32_t)(500 + 250 * r));
        timeout(g, EC_TM_TIMEOUT_PREVOTE, r);
        rig_clear(g);
        precommit(g, 1, r, NULL);
        precommit(g, 2, r, A);
        precommit(g, 3, r, B);
        expect_schedule(g, EC_TM_TIMEOUT_PRECOMMIT, r, (uint32_t)(500 + 250 * r));
        timeout(g, EC_TM_TIMEOUT_PRECOMMIT, r);
    }
    /* A round so high that base + round * delta does not fit saturates. */
    rig_clear(g);
    rig_start(g, 1, 1ull << 40, NULL);
    expect_schedule(g, EC_TM_TIMEOUT_PROPOSE, 1ull << 40, UINT32_MAX);
    rig_free(g);
}

static void test_lock_refuses_other_value(void **state)
{
    (void)state;
    rig_t *g = rig4(0, true);
    s_lock_on_a(g);
    s_next_round(g, 0);
    rig_clear(g);
    proposal(g, 1, -1, B, true); /* [22]: locked on A, B without a POL */
    expect_vote(g, EC_VOTE_PREVOTE, 1, NULL);

    /* Round 2: B again, claiming a POL at round 1 that never formed: wait, then nil. */
    prevote(g, 1, 1, B);
    prevote(g, 2, 1, B);
    timeout(g, EC_TM_TIMEOUT_PREVOTE, 1);
    s_next_round(g, 1);
    rig_clear(g);
    proposal(g, 2, 1, B, true);
    expect_nothing(g);
    timeout(g, EC_TM_TIMEOUT_PROPOSE, 2);
    expect_vote(g, EC_VOTE_PREVOTE, 2, NULL);

    /* The proposal of A itself is fine while locked on A. */
    timeout(g, EC_TM_TIMEOUT_PREVOTE, 2);
    ec_tm_lock_t l;
    ec_tm_lock(g->tm, &l);
    assert_int_equal(l.locked_round, 0);
    rig_clear(g);
    s_next_round(g, 2);
    /* Round 3 is validator 0's: it re-proposes its valid value A with vr 0, and prevotes
     * for it when it comes back (its lock is on A). */
    const rec_t *p = only(g, O_PROPOSE);
    assert_int_equal(p->vr, 0);
    assert_memory_equal(p->hash, A, EC_HASH_BYTES);
    expect_vote(g, EC_VOTE_PREVOTE, 3, A);
    rig_free(g);
}

/*
 * Regression (found by ecert-sim once wiped validators abstained): the prevotes of a valid
 * round live in memory, so after restarts nobody may hold the POL that a re-proposal names.
 * A validator locked on that very block, or not locked, must still prevote it, or the
 * height waits forever; one locked on another block still waits for the POL.
 */
static void test_pol_lost(void **state)
{
    (void)state;
    rig_t *g = rig4(0, true);
    s_lock_on_a(g);
    s_next_round(g, 0);
    rig_clear(g);
    proposal(g, 1, 0, A, true); /* A with vr 0; the POL at 0 is held here: [28] */
    expect_vote(g, EC_VOTE_PREVOTE, 1, A);
    rig_free(g);

    /* The same with no vote of round 0 held (a restart): locked on A, A prevoted at once. */
    g = rig4(1, false);
    ec_tm_lock_t lock = {0, {0}, 0, {0}, -1, 0};
    memcpy(lock.locked_hash, A, EC_HASH_BYTES);
    memcpy(lock.valid_hash, A, EC_HASH_BYTES);
    rig_start(g, 1, 1, &lock);
    rig_clear(g);
    proposal(g, 1, 0, A, true);
    expect_vote(g, EC_VOTE_PREVOTE, 1, A);
    rig_free(g);

    /* Locked on A, B names a POL at round 0 that is not held: wait, then nil. */
    g = rig4(1, false);
    rig_start(g, 1, 1, &lock);
    rig_clear(g);
    proposal(g, 1, 0, B, true);
    expect_nothing(g);
    timeout(g, EC_TM_TIMEOUT_PROPOSE, 1);
    expect_vote(g, EC_VOTE_PREVOTE, 1, NULL);
    rig_free(g);

    /* An invalid block is never prevoted for, POL or not. */
    g = rig4(1, false);
    rig_start(g, 1, 1, NULL);
    rig_clear(g);
    proposal(g, 1, 0, B, false);
    expect_nothing(g);
    rig_free(g);
}

static void test_unlock_by_pol(void **state)
{
    (void)state;
    rig_t *g = rig4(0, true);
    s_lock_on_a(g);
    s_next_round(g, 0);
    /* Round 1: the proposal of B never arrives; two prevotes for B do. */
    rig_clear(g);
    timeout(g, EC_TM_TIMEOUT_PROPOSE, 1);
    expect_vote(g, EC_VOTE_PREVOTE, 1, NULL);
    prevote(g, 1, 1, B);
    prevote(g, 2, 1, B);
    timeout(g, EC_TM_TIMEOUT_PREVOTE, 1);
    s_next_round(g, 1);
    /* Round 2: B with vr 1; its POL is not complete yet. */
    rig_clear(g);
    proposal(g, 2, 1, B, true);
    expect_nothing(g);
    prevote(g, 3, 1, B); /* the POL completes: [28], locked_round 0 <= 1 */
    expect_vote(g, EC_VOTE_PREVOTE, 2, B);
    assert_int_equal(count_of(g, O_NEED), 0); /* an old round's prevote quorum */
    ec_tm_lock_t l;
    ec_tm_lock(g->tm, &l);
    assert_int_equal(l.locked_round, 0); /* still A until it precommits */
    prevote(g, 1, 2, B);
    prevote(g, 3, 2, B);
    ec_tm_lock(g->tm, &l);
    assert_int_equal(l.locked_round, 2);
    assert_memory_equal(l.locked_hash, B, EC_HASH_BYTES);
    rig_free(g);
}

static void test_old_pol_does_not_unlock(void **state)
{
    (void)state;
    /* [29]: a POL older than the lock does not unlock it. Round 0: a prevote quorum for B
     * forms, but the core never sees the proposal of B, so it does not lock. Round 1: it
     * locks on A. Round 2: B again with vr 0: its POL is older than the lock: nil. */
    rig_t *g = rig4_h1(0, true);
    timeout(g, EC_TM_TIMEOUT_PROPOSE, 0);
    from_others(g, EC_VOTE_PREVOTE, 0, B);
    timeout(g, EC_TM_TIMEOUT_PREVOTE, 0);
    s_next_round(g, 0);
    proposal(g, 1, -1, A, true);
    prevote(g, 1, 1, A);
    prevote(g, 2, 1, A);
    ec_tm_lock_t l;
    ec_tm_lock(g->tm, &l);
    assert_int_equal(l.locked_round, 1);
    s_next_round(g, 1);
    rig_clear(g);
    proposal(g, 2, 0, B, true);
    expect_vote(g, EC_VOTE_PREVOTE, 2, NULL);
    rig_free(g);
}

static void test_pol_at_prevote_quorum_in_round(void **state)
{
    (void)state;
    /* Round 1's quorum for B forms while the core knows the proposal: [36] relocks. */
    rig_t *g = rig4(0, true);
    s_lock_on_a(g);
    s_next_round(g, 0);
    rig_clear(g);
    proposal(g, 1, -1, B, true);
    expect_vote(g, EC_VOTE_PREVOTE, 1, NULL);
    rig_clear(g);
    from_others(g, EC_VOTE_PREVOTE, 1, B);
    expect_vote(g, EC_VOTE_PRECOMMIT, 1, B);
    ec_tm_lock_t l;
    ec_tm_lock(g->tm, &l);
    assert_int_equal(l.locked_round, 1);
    assert_memory_equal(l.locked_hash, B, EC_HASH_BYTES);
    rig_free(g);
}

static void test_lock_safety_scripted(void **state)
{
    (void)state;
    /* The reason for locks, on three honest cores and a Byzantine validator 3 whose
     * messages are scripted (each core's own votes are fed back by its rig; the others'
     * are routed here by hand). Height 1: validator 1 proposes P at round 0, validator 2
     * proposes B at round 1. */
    rig_t *g[3];
    for (uint32_t i = 0; i < 3; i++) {
        g[i] = rig4(i, true);
        g[i]->block = i == 2 ? B : P;
        rig_start(g[i], 1, 0, NULL);
    }
    /* Round 0: everyone prevotes P; 3 shows P to cores 0 and 1, nil to core 2. */
    proposal(g[0], 0, -1, P, true);
    proposal(g[2], 0, -1, P, true);
    from_others(g[0], EC_VOTE_PREVOTE, 0, P);
    prevote(g[1], 0, 0, P);
    prevote(g[1], 3, 0, P);
    prevote(g[2], 1, 0, P);
    prevote(g[2], 3, 0, NULL);
    timeout(g[2], EC_TM_TIMEOUT_PREVOTE, 0);
    /* Cores 0 and 1 locked on P and precommitted it; core 2 precommitted nil. Core 0
     * sees P's precommits from 1 and 3 and decides P. */
    for (uint32_t i = 0; i < 3; i++)
        expect_state(g[i], 0, EC_TM_PRECOMMIT);
    precommit(g[0], 1, 0, P);
    rig_clear(g[0]);
    precommit(g[0], 3, 0, P);
    assert_memory_equal(only(g[0], O_DECIDE)->hash, P, EC_HASH_BYTES);
    /* Cores 1 and 2 see no quorum for P and move on to round 1. */
    precommit(g[1], 2, 0, NULL);
    precommit(g[1], 3, 0, NULL);
    precommit(g[2], 1, 0, P);
    precommit(g[2], 3, 0, NULL);
    for (uint32_t i = 1; i < 3; i++) {
        timeout(g[i], EC_TM_TIMEOUT_PRECOMMIT, 0);
        expect_state(g[i], 1, i == 2 ? EC_TM_PREVOTE : EC_TM_PROPOSE);
    }
    /* Round 1: core 2 proposes B and prevotes it; 3 prevotes B to both. Core 1 is
     * locked on P: it must prevote nil, or B would gather 1, 2 and 3 and be decided. */
    rig_clear(g[1]);
    proposal(g[1], 1, -1, B, true);
    expect_vote(g[1], EC_VOTE_PREVOTE, 1, NULL);
    prevote(g[1], 2, 1, B);
    prevote(g[1], 3, 1, B);
    prevote(g[2], 1, 1, NULL);
    prevote(g[2], 3, 1, B);
    for (uint32_t i = 1; i < 3; i++) {
        timeout(g[i], EC_TM_TIMEOUT_PREVOTE, 1);
        precommit(g[i], 3, 1, B);
        precommit(g[i], 3 - i, 1, NULL);
        assert_false(ec_tm_decided(g[i]->tm));
    }
    /* Core 0's commit reaches the others: they decide P too. */
    const rec_t *commit = only(g[0], O_DECIDE);
    for (uint32_t i = 1; i < 3; i++) {
        rig_clear(g[i]);
        for (uint32_t k = 0; k < commit->count; k++)
            ec_tm_on_vote(g[i]->tm, &commit->votes[k]);
        const rec_t *d = only(g[i], O_DECIDE);
        assert_int_equal(d->r, 0);
        assert_memory_equal(d->hash, P, EC_HASH_BYTES);
    }
    for (uint32_t i = 0; i < 3; i++)
        rig_free(g[i]);
}

static void test_valid_value_reproposal(void **state)
{
    (void)state;
    /* Height 3: validator 3 proposes round 0, validator 0 round 1. */
    rig_t *g = rig4(0, true);
    rig_start(g, 3, 0, NULL);
    proposal(g, 0, -1, A, true);
    prevote(g, 1, 0, A);
    prevote(g, 2, 0, A);
    expect_state(g, 0, EC_TM_PRECOMMIT);
    precommit(g, 1, 0, NULL);
    precommit(g, 2, 0, NULL);
    rig_clear(g);
    timeout(g, EC_TM_TIMEOUT_PRECOMMIT, 0);
    const rec_t *p = only(g, O_PROPOSE);
    assert_int_equal(p->h, 3);
    assert_int_equal(p->r, 1);
    assert_int_equal(p->vr, 0);
    assert_true(p->has_hash);
    assert_memory_equal(p->hash, A, EC_HASH_BYTES);
    /* Fed back: [28] with the POL at round 0 it holds itself. */
    expect_vote(g, EC_VOTE_PREVOTE, 1, A);
    rig_free(g);
}

static void test_nil_quorum(void **state)
{
    (void)state;
    rig_t *g = rig4_h1(0, false);
    rig_clear(g);
    from_others(g, EC_VOTE_PREVOTE, 0, NULL);
    expect_nothing(g); /* [44] waits for step prevote */
    proposal(g, 0, -1, A, true);
    assert_int_equal(g->n, 3);
    assert_int_equal(g->log[0].kind, O_VOTE); /* prevote A */
    assert_int_equal(g->log[1].kind, O_SCHEDULE);
    assert_int_equal(g->log[2].kind, O_VOTE);
    assert_int_equal(g->log[2].type, EC_VOTE_PRECOMMIT);
    assert_false(g->log[2].has_hash);
    expect_state(g, 0, EC_TM_PRECOMMIT);
    ec_tm_lock_t l;
    ec_tm_lock(g->tm, &l);
    assert_int_equal(l.locked_round, -1);
    assert_int_equal(l.valid_round, -1);
    rig_free(g);
}

static void test_round_skip(void **state)
{
    (void)state;
    rig_t *g = rig4_h1(0, false);
    rig_clear(g);
    prevote(g, 1, 2, A);
    precommit(g, 1, 2, A); /* one validator, counted once: 1/4 */
    expect_nothing(g);
    prevote(g, 2, 2, NULL); /* 2/4 > 1/3: [55] */
    expect_state(g, 2, EC_TM_PROPOSE);
    expect_schedule(g, EC_TM_TIMEOUT_PROPOSE, 2, 2000);
    rig_clear(g);
    prevote(g, 3, 1, A); /* lower rounds never move it back */
    precommit(g, 3, 1, A);
    prevote(g, 2, 1, A);
    expect_nothing(g);
    rig_free(g);

    /* Exactly a third is not enough. */
    const uint64_t p3[3] = {1, 1, 1};
    g = rig_new(p3, 3, 0, false);
    rig_start(g, 1, 0, NULL);
    rig_clear(g);
    prevote(g, 1, 1, A);
    precommit(g, 1, 1, A);
    expect_nothing(g);
    expect_state(g, 0, EC_TM_PROPOSE);
    prevote(g, 2, 1, A);
    expect_state(g, 1, EC_TM_PROPOSE);
    rig_free(g);

    /* Nor one validator with little power, even voting at many rounds. */
    const uint64_t pw[4] = {10, 10, 10, 1};
    g = rig_new(pw, 4, 0, false);
    rig_start(g, 1, 0, NULL);
    rig_clear(g);
    for (uint64_t r = 1; r <= 8; r++)
        prevote(g, 3, r, A);
    expect_nothing(g);
    prevote(g, 1, 5, NULL); /* 11/31 > 1/3 */
    expect_state(g, 5, EC_TM_PROPOSE);
    rig_free(g);
}

static void test_invalid_proposal(void **state)
{
    (void)state;
    rig_t *g = rig4_h1(0, false);
    rig_clear(g);
    proposal(g, 0, -1, A, false);
    expect_vote(g, EC_VOTE_PREVOTE, 0, NULL);
    /* Even with a prevote quorum for it, an invalid proposal is never locked on. */
    rig_clear(g);
    from_others(g, EC_VOTE_PREVOTE, 0, A);
    assert_int_equal(count_of(g, O_VOTE), 0);
    /* The quorum names a value with no valid proposal: ask for it (once). */
    const rec_t *n = only(g, O_NEED);
    assert_memory_equal(n->hash, A, EC_HASH_BYTES);
    rig_free(g);

    /* Invalid with a valid round too. */
    g = rig4(0, false);
    rig_start(g, 1, 0, NULL);
    from_others(g, EC_VOTE_PREVOTE, 0, B);
    timeout(g, EC_TM_TIMEOUT_PROPOSE, 0);
    timeout(g, EC_TM_TIMEOUT_PREVOTE, 0);
    s_next_round(g, 0);
    rig_clear(g);
    proposal(g, 1, 0, B, false);
    expect_vote(g, EC_VOTE_PREVOTE, 1, NULL);
    rig_free(g);
}

static void test_late_proposal_decides(void **state)
{
    (void)state;
    rig_t *g = rig4_h1(0, false);
    rig_clear(g);
    precommit(g, 3, 0, A);
    precommit(g, 1, 0, A);
    expect_nothing(g);
    precommit(g, 2, 0, A);
    const rec_t *n = only(g, O_NEED);
    assert_int_equal(n->h, 1);
    assert_int_equal(n->r, 0);
    assert_memory_equal(n->hash, A, EC_HASH_BYTES);
    expect_schedule(g, EC_TM_TIMEOUT_PRECOMMIT, 0, 500);
    rig_clear(g);
    precommit(g, 0, 0, A);
    precommit(g, 2, 0, A);
    proposal(g, 0, -1, B, true); /* another value: no decision */
    assert_int_equal(count_of(g, O_NEED), 0);
    assert_int_equal(count_of(g, O_DECIDE), 0);
    rig_clear(g);
    proposal(g, 0, -1, A, false); /* A, but judged invalid: no decision */
    expect_nothing(g);
    proposal(g, 0, -1, A, true); /* judged again, valid */
    const rec_t *d = only(g, O_DECIDE);
    assert_int_equal(d->count, 4);
    for (uint32_t i = 0; i < 4; i++)
        assert_int_equal(d->votes[i].validator, i);
    rig_free(g);
}

static void test_decide_at_old_round(void **state)
{
    (void)state;
    rig_t *g = rig4_h1(0, false);
    proposal(g, 0, -1, A, true);
    prevote(g, 1, 3, NULL);
    prevote(g, 2, 3, NULL);
    expect_state(g, 3, EC_TM_PROPOSE);
    rig_clear(g);
    precommit(g, 1, 0, A);
    precommit(g, 2, 0, A);
    expect_nothing(g);
    precommit(g, 3, 0, A);
    const rec_t *d = only(g, O_DECIDE);
    assert_int_equal(d->r, 0);
    assert_int_equal(d->count, 3);
    rig_free(g);
}

static void test_need_once(void **state)
{
    (void)state;
    rig_t *g = rig4_h1(0, false);
    rig_clear(g);
    from_others(g, EC_VOTE_PREVOTE, 0, B);
    assert_int_equal(count_of(g, O_NEED), 1);
    prevote(g, 0, 0, B);
    prevote(g, 3, 0, B);
    from_others(g, EC_VOTE_PRECOMMIT, 0, B); /* a precommit quorum for the same value: not again */
    assert_int_equal(count_of(g, O_NEED), 1);
    prevote(g, 1, 1, C); /* round 1, another value */
    prevote(g, 2, 1, C);
    from_others(g, EC_VOTE_PRECOMMIT, 1, C);
    assert_int_equal(count_of(g, O_NEED), 2);
    assert_int_equal(g->log[g->n - 1].kind, O_SCHEDULE); /* [47] at the new round */
    size_t i = 0;
    while (g->log[i].kind != O_NEED || g->log[i].r != 1)
        i++;
    assert_memory_equal(g->log[i].hash, C, EC_HASH_BYTES);
    /* A nil quorum names nothing. */
    rig_clear(g);
    from_others(g, EC_VOTE_PREVOTE, 2, NULL);
    assert_int_equal(count_of(g, O_NEED), 0);
    rig_free(g);
}

static void test_equivocation(void **state)
{
    (void)state;
    rig_t *g = rig4_h1(0, false);
    rig_clear(g);
    prevote(g, 2, 0, A);
    prevote(g, 2, 0, A); /* a duplicate is no evidence */
    expect_nothing(g);
    prevote(g, 2, 0, B);
    const rec_t *e = only(g, O_EVIDENCE);
    assert_int_equal(e->votes[0].validator, 2);
    assert_int_equal(e->votes[1].validator, 2);
    assert_memory_equal(e->votes[0].hash, A, EC_HASH_BYTES);
    assert_memory_equal(e->votes[1].hash, B, EC_HASH_BYTES);
    rig_clear(g);
    prevote(g, 2, 0, B);    /* a duplicate of the second */
    prevote(g, 2, 0, NULL); /* third values that complete nothing: not counted, */
    prevote(g, 2, 0, C);    /* and reported once only */
    expect_nothing(g);
    /* Both of its votes count, each for its value: B from 1 and 3 plus 2's B is a
     * quorum (which names a value without a proposal: need). */
    prevote(g, 1, 0, B);
    prevote(g, 3, 0, B);
    assert_memory_equal(only(g, O_NEED)->hash, B, EC_HASH_BYTES);
    ec_tm_vote_t held[EC_TM_VOTES_MAX];
    assert_int_equal(ec_tm_votes(g->tm, 0, EC_VOTE_PREVOTE, held, EC_TM_VOTES_MAX), 4);
    assert_int_equal(held[1].validator, 2);
    assert_memory_equal(held[1].hash, A, EC_HASH_BYTES); /* its first, */
    assert_int_equal(held[2].validator, 2);
    assert_memory_equal(held[2].hash, B, EC_HASH_BYTES); /* then its second */
    /* For "a quorum for anything" it counts once: 3 validators, not 4 votes. */
    rig_clear(g);
    timeout(g, EC_TM_TIMEOUT_PROPOSE, 0);
    assert_int_equal(count_of(g, O_SCHEDULE), 1); /* [34]: 1, 2, 3 and itself */
    /* nil against a value, in the other type: separate evidence. */
    rig_clear(g);
    precommit(g, 2, 0, NULL);
    precommit(g, 2, 0, A);
    e = only(g, O_EVIDENCE);
    assert_true(e->votes[0].nil);
    assert_int_equal(e->votes[0].type, EC_VOTE_PRECOMMIT);
    /* A nil vote's hash is ignored: nil with junk is the same vote as nil. */
    rig_clear(g);
    ec_tm_vote_t v = {.height = 1, .round = 0, .type = EC_VOTE_PRECOMMIT, .validator = 3};
    v.nil = true;
    memset(v.hash, 0x55, EC_HASH_BYTES);
    ec_tm_on_vote(g->tm, &v);
    precommit(g, 3, 0, NULL);
    expect_nothing(g);
    /* The commit takes the equivocator's vote for the decided value, its second here. */
    precommit(g, 1, 0, A);
    precommit(g, 0, 0, A);
    proposal(g, 0, -1, A, true);
    const rec_t *d = only(g, O_DECIDE);
    assert_int_equal(d->count, 3);
    assert_int_equal(d->votes[2].validator, 2);
    assert_false(d->votes[2].nil);
    rig_free(g);

    /* A third value replaces the second when it is the round's proposal and the second
     * completes nothing: the POL it belongs to forms. */
    g = rig4(0, false);
    rig_start(g, 1, 0, NULL);
    prevote(g, 2, 0, A);
    prevote(g, 2, 0, B);
    proposal(g, 0, -1, C, true);
    rig_clear(g);
    prevote(g, 2, 0, C);
    prevote(g, 2, 0, NULL); /* does not displace C */
    prevote(g, 1, 0, C);
    expect_nothing(g);
    prevote(g, 3, 0, C);
    expect_vote(g, EC_VOTE_PRECOMMIT, 0, C);
    assert_int_equal(ec_tm_votes(g->tm, 0, EC_VOTE_PREVOTE, held, EC_TM_VOTES_MAX), 4);
    assert_int_equal(held[2].validator, 2);
    assert_memory_equal(held[2].hash, C, EC_HASH_BYTES); /* its second, replaced */
    rig_free(g);

    /* The same for the POL of the current proposal, at an earlier round. */
    g = rig4(0, false);
    rig_start(g, 1, 0, NULL);
    prevote(g, 2, 0, A);
    prevote(g, 2, 0, B);
    prevote(g, 1, 1, NULL);
    prevote(g, 3, 1, NULL);
    expect_state(g, 1, EC_TM_PROPOSE);
    rig_clear(g);
    proposal(g, 1, 0, C, true);
    /* Not locked: C is prevoted at once, its POL not needed ([23] for v). */
    expect_vote(g, EC_VOTE_PREVOTE, 1, C);
    prevote(g, 1, 0, C);
    prevote(g, 3, 0, C);
    prevote(g, 2, 0, C); /* completes the POL at round 0 */
    assert_int_equal(ec_tm_votes(g->tm, 0, EC_VOTE_PREVOTE, held, EC_TM_VOTES_MAX), 4);
    assert_int_equal(held[2].validator, 2);
    assert_memory_equal(held[2].hash, C, EC_HASH_BYTES); /* its second, replaced by C */
    rig_free(g);
}

static void test_window_and_foreign_inputs(void **state)
{
    (void)state;
    rig_t *g = rig4(0, false);
    ec_tm_vote_t held[EC_VALIDATORS_MAX];
    /* Before the first start everything is ignored. */
    prevote(g, 1, 0, A);
    proposal(g, 0, -1, A, true);
    timeout(g, EC_TM_TIMEOUT_PROPOSE, 0);
    expect_nothing(g);
    assert_int_equal(ec_tm_votes(g->tm, 0, EC_VOTE_PREVOTE, held, EC_VALIDATORS_MAX), 0);

    rig_start(g, 1, 0, NULL);
    rig_clear(g);
    /* Round 9 is beyond round + EC_TM_ROUNDS_AHEAD: ignored. */
    from_others(g, EC_VOTE_PREVOTE, EC_TM_ROUNDS_AHEAD + 1, A);
    prevote(g, 3, UINT64_MAX, A);
    expect_nothing(g);
    assert_int_equal(ec_tm_votes(g->tm, EC_TM_ROUNDS_AHEAD + 1, EC_VOTE_PREVOTE, held, 32), 0);
    /* Other heights, validators out of the set, unknown types: ignored. */
    vote_at(g, 2, EC_VOTE_PREVOTE, 1, 0, A);
    vote_at(g, 0, EC_VOTE_PREVOTE, 2, 0, A);
    vote_at(g, 1, EC_VOTE_PREVOTE, 4, 0, A);
    vote_at(g, 1, EC_VOTE_PREVOTE, UINT32_MAX, 0, A);
    vote_at(g, 1, 3, 1, 0, A);
    vote_at(g, 1, 0, 1, 0, A);
    ec_tm_on_proposal(g->tm, 2, 0, -1, A, true);
    ec_tm_on_proposal(g->tm, 1, 0, -2, A, true);
    expect_nothing(g);
    assert_int_equal(ec_tm_votes(g->tm, 0, EC_VOTE_PREVOTE, held, 32), 0);
    assert_int_equal(ec_tm_step(g->tm), EC_TM_PROPOSE);
    /* The edge of the window counts: a third at round 8 moves there. */
    prevote(g, 1, EC_TM_ROUNDS_AHEAD, A);
    prevote(g, 2, EC_TM_ROUNDS_AHEAD, A);
    expect_state(g, EC_TM_ROUNDS_AHEAD, EC_TM_PROPOSE);
    /* A proposal for a future round inside the window waits there. */
    rig_clear(g);
    proposal(g, EC_TM_ROUNDS_AHEAD + 3, -1, B, true);
    expect_nothing(g);
    prevote(g, 1, EC_TM_ROUNDS_AHEAD + 3, NULL);
    prevote(g, 2, EC_TM_ROUNDS_AHEAD + 3, NULL);
    expect_vote(g, EC_VOTE_PREVOTE, EC_TM_ROUNDS_AHEAD + 3, B);
    rig_free(g);
}

static void test_old_rounds_evicted(void **state)
{
    (void)state;
    /* Walk 40 rounds with a prevote at each: the oldest records make room, and the core
     * keeps working (the current round always has its record). */
    rig_t *g = rig4_h1(0, false);
    for (uint64_t r = 0; r < 40; r++) {
        rig_clear(g);
        prevote(g, 1, r, A);
        prevote(g, 2, r + 1, A);
        prevote(g, 3, r + 1, A);
        expect_state(g, r + 1, EC_TM_PROPOSE);
    }
    ec_tm_vote_t held[EC_VALIDATORS_MAX];
    assert_int_equal(ec_tm_votes(g->tm, 0, EC_VOTE_PREVOTE, held, 32), 0); /* dropped */
    assert_int_equal(ec_tm_votes(g->tm, 39, EC_VOTE_PREVOTE, held, 32), 3);
    /* A vote for a dropped round older than every record is not kept either. */
    prevote(g, 3, 0, A);
    assert_int_equal(ec_tm_votes(g->tm, 0, EC_VOTE_PREVOTE, held, 32), 0);
    /* Decisions still happen in the current round. */
    rig_clear(g);
    proposal(g, 40, -1, C, true);
    from_others(g, EC_VOTE_PRECOMMIT, 40, C);
    assert_int_equal(only(g, O_DECIDE)->r, 40);
    rig_free(g);
}

static void test_weighted_powers(void **state)
{
    (void)state;
    const uint64_t p3111[4] = {3, 1, 1, 1};
    rig_t *g = rig_new(p3111, 4, 1, false); /* total 6: a quorum needs 5 */
    rig_start(g, 1, 0, NULL);
    proposal(g, 0, -1, A, true);
    rig_clear(g);
    prevote(g, 0, 0, A);
    prevote(g, 1, 0, A);
    expect_nothing(g); /* 4 of 6 */
    prevote(g, 2, 0, A);
    expect_vote(g, EC_VOTE_PRECOMMIT, 0, A);
    rig_clear(g);
    precommit(g, 0, 0, A);
    precommit(g, 3, 0, A);
    expect_nothing(g);
    precommit(g, 2, 0, A);
    assert_int_equal(only(g, O_DECIDE)->count, 3);
    rig_free(g);

    const uint64_t p4111[4] = {4, 1, 1, 1};
    g = rig_new(p4111, 4, 3, false); /* total 7: 4 alone is no quorum, 5 is */
    rig_start(g, 1, 0, NULL);
    rig_clear(g);
    prevote(g, 0, 1, NULL); /* but 4 of 7 is more than a third: [55] */
    expect_state(g, 1, EC_TM_PROPOSE);
    timeout(g, EC_TM_TIMEOUT_PROPOSE, 1);
    rig_clear(g);
    prevote(g, 0, 1, NULL);
    expect_nothing(g);
    prevote(g, 2, 1, NULL);
    assert_int_equal(count_of(g, O_VOTE), 1); /* precommit nil */
    rig_free(g);
}

static void test_votes_accessor(void **state)
{
    (void)state;
    rig_t *g = rig4_h1(0, false);
    prevote(g, 3, 0, A);
    prevote(g, 1, 0, NULL);
    prevote(g, 0, 0, B);
    ec_tm_vote_t held[EC_VALIDATORS_MAX];
    assert_int_equal(ec_tm_votes(g->tm, 0, EC_VOTE_PREVOTE, held, EC_VALIDATORS_MAX), 3);
    assert_int_equal(held[0].validator, 0);
    assert_int_equal(held[1].validator, 1);
    assert_true(held[1].nil);
    assert_int_equal(held[2].validator, 3);
    assert_memory_equal(held[2].hash, A, EC_HASH_BYTES);
    assert_int_equal(held[2].sig[0], 3);
    assert_int_equal(ec_tm_votes(g->tm, 0, EC_VOTE_PREVOTE, held, 2), 2);
    assert_int_equal(held[1].validator, 1);
    assert_int_equal(ec_tm_votes(g->tm, 0, EC_VOTE_PREVOTE, NULL, 0), 0);
    assert_int_equal(ec_tm_votes(g->tm, 0, EC_VOTE_PRECOMMIT, held, 32), 0);
    assert_int_equal(ec_tm_votes(g->tm, 5, EC_VOTE_PREVOTE, held, 32), 0);
    rig_free(g);
}

static void test_reentrant_inputs(void **state)
{
    (void)state;
    /* Each output feeds the driver's own message back at once and out->decide starts the
     * next height: nothing recurses (rig depth stays 1), own votes count only after
     * out->vote returned, and four heights run through. */
    rig_t *g = rig4(0, true);
    g->start_next = true;
    rig_start(g, 1, 0, NULL);
    for (uint64_t h = 1; h <= 4; h++) { /* validator 0 proposes height 4 */
        rig_clear(g);
        uint64_t r = 0;
        uint32_t proposer = ec_tm_proposer(&g->vs, h, 0);
        if (proposer != 0)
            proposal(g, r, -1, A, true);
        for (uint32_t v = 1; v < 4; v++)
            if (v != 3)
                prevote(g, v, r, proposer != 0 ? A : P);
        for (uint32_t v = 1; v < 4; v++)
            if (v != 3)
                precommit(g, v, r, proposer != 0 ? A : P);
        const rec_t *d = only(g, O_DECIDE);
        assert_int_equal(d->h, h);
        assert_int_equal(d->count, 3);
        for (size_t i = 0; i < g->n; i++)
            if (g->log[i].kind == O_VOTE)
                for (uint32_t k = 0; k < g->log[i].own_held; k++)
                    assert_int_not_equal(g->log[i].votes[k].validator, 0);
        /* After decide, the queued start ran: schedule (and propose) for h + 1. */
        assert_int_equal(g->log[g->n - 1].h, h + 1);
        assert_int_equal(ec_tm_height(g->tm), h + 1);
        assert_false(ec_tm_decided(g->tm));
    }
    rig_free(g);
}

static void test_restart(void **state)
{
    (void)state;
    ec_tm_lock_t lock = {
        .locked_round = 1, .valid_round = 1, .voted_round = 2, .voted_type = EC_VOTE_PREVOTE};
    memcpy(lock.locked_hash, A, EC_HASH_BYTES);
    memcpy(lock.valid_hash, A, EC_HASH_BYTES);

    /* It had prevoted at (1, 2) before the restart: it resumes at step prevote and does
     * not prevote again when the proposal arrives. */
    rig_t *g = rig4(0, false);
    rig_start(g, 1, 2, &lock);
    expect_state(g, 2, EC_TM_PREVOTE);
    rig_clear(g);
    proposal(g, 2, -1, A, true);
    timeout(g, EC_TM_TIMEOUT_PROPOSE, 2);
    expect_nothing(g);
    prevote(g, 0, 2, NULL); /* its recorded prevote, fed back: counted, nothing else */
    from_others(g, EC_VOTE_PREVOTE, 2, A); /* [36]: a step it had not signed, so it may precommit */
    expect_vote(g, EC_VOTE_PRECOMMIT, 2, A);
    const rec_t *v = only(g, O_VOTE);
    assert_int_equal(v->lock.voted_round, 2); /* the record to persist names this vote */
    assert_int_equal(v->lock.voted_type, EC_VOTE_PRECOMMIT);
    rig_free(g);

    /* Regression (found by the simulation): the proposer of the resumed round feeds its
     * recorded proposal back from inside out->propose, during ec_tm_start. It must not
     * prevote it a second time. */
    g = rig4(3, true); /* validator 3 proposes (1, 2) */
    rig_start(g, 1, 2, &lock);
    assert_int_equal(count_of(g, O_PROPOSE), 1);
    assert_int_equal(count_of(g, O_VOTE), 0);
    expect_state(g, 2, EC_TM_PREVOTE);
    rig_free(g);

    /* It had precommitted: nothing more to sign in that round, but the valid value moves. */
    g = rig4(0, false);
    lock.voted_type = EC_VOTE_PRECOMMIT;
    rig_start(g, 1, 2, &lock);
    expect_state(g, 2, EC_TM_PRECOMMIT);
    rig_clear(g);
    proposal(g, 2, -1, B, true);
    from_others(g, EC_VOTE_PREVOTE, 2, B);
    timeout(g, EC_TM_TIMEOUT_PROPOSE, 2);
    timeout(g, EC_TM_TIMEOUT_PREVOTE, 2);
    assert_int_equal(count_of(g, O_VOTE), 0);
    ec_tm_lock_t l;
    ec_tm_lock(g->tm, &l);
    assert_int_equal(l.locked_round, 1); /* [37]: no relock at step precommit */
    assert_int_equal(l.valid_round, 2);  /* [42-43] */
    assert_memory_equal(l.valid_hash, B, EC_HASH_BYTES);
    rig_free(g);

    /* A vote of an earlier round says nothing about this one; the lock survives the
     * restart: B without a POL gets nil. */
    g = rig4(0, false);
    lock.voted_round = 1;
    rig_start(g, 1, 2, &lock);
    expect_state(g, 2, EC_TM_PROPOSE);
    prevote(g, 0, 1, A);
    expect_state(g, 2, EC_TM_PROPOSE);
    rig_clear(g);
    proposal(g, 2, -1, B, true);
    expect_vote(g, EC_VOTE_PREVOTE, 2, NULL);
    rig_free(g);

    /* A vote with its own key at the current round, ahead of its step (its record fed
     * back, or another process on the same key), moves the step without a vote. */
    g = rig4(0, false);
    rig_start(g, 1, 0, NULL);
    rig_clear(g);
    prevote(g, 0, 0, B);
    expect_state(g, 0, EC_TM_PREVOTE);
    proposal(g, 0, -1, A, true);
    precommit(g, 0, 0, NULL);
    expect_state(g, 0, EC_TM_PRECOMMIT);
    prevote(g, 1, 0, NULL);
    prevote(g, 2, 0, NULL);
    timeout(g, EC_TM_TIMEOUT_PREVOTE, 0);
    expect_nothing(g);
    rig_free(g);

    /* The proposer of the resumed round proposes its valid value from an earlier round;
     * a valid value of that very round (it proposed there already) is not re-offered. */
    lock.voted_round = -1;
    lock.voted_type = 0;
    g = rig4(3, false);
    rig_start(g, 1, 2, &lock);
    const rec_t *p = only(g, O_PROPOSE);
    assert_int_equal(p->vr, 1);
    assert_memory_equal(p->hash, A, EC_HASH_BYTES);
    rig_clear(g);
    lock.valid_round = 2;
    rig_start(g, 1, 2, &lock);
    p = only(g, O_PROPOSE);
    assert_int_equal(p->vr, -1);
    assert_false(p->has_hash);
    rig_free(g);
}

static void test_observer(void **state)
{
    (void)state;
    rig_t *g = rig4(EC_TM_NOT_VALIDATOR, false);
    for (uint64_t h = 1; h <= 4; h++) { /* every validator's turn to propose */
        rig_start(g, h, 0, NULL);
        assert_int_equal(count_of(g, O_PROPOSE), 0);
    }
    rig_clear(g);
    timeout(g, EC_TM_TIMEOUT_PROPOSE, 0);
    expect_state(g, 0, EC_TM_PREVOTE);
    expect_nothing(g);
    proposal(g, 0, -1, A, true);
    for (uint32_t v = 0; v < 3; v++)
        prevote(g, v, 0, A);
    for (uint32_t v = 0; v < 3; v++)
        precommit(g, v, 0, A);
    assert_int_equal(count_of(g, O_VOTE), 0);
    assert_int_equal(only(g, O_DECIDE)->h, 4);
    rig_free(g);
}

static void test_equivocating_proposer(void **state)
{
    (void)state;
    rig_t *g = rig4_h1(0, false);
    rig_clear(g);
    proposal(g, 0, -1, A, true);
    expect_vote(g, EC_VOTE_PREVOTE, 0, A);
    rig_clear(g);
    proposal(g, 0, -1, B, true); /* the proposer's second proposal: nobody names it yet */
    expect_nothing(g);
    from_others(g, EC_VOTE_PREVOTE, 0, B);
    assert_memory_equal(only(g, O_NEED)->hash, B, EC_HASH_BYTES);
    rig_clear(g);
    proposal(g, 0, -1, B, true); /* fetched: a quorum names it, so it counts for [36] */
    expect_vote(g, EC_VOTE_PRECOMMIT, 0, B);
    rig_clear(g);
    proposal(g, 0, -1, C, true); /* a third one: no quorum names it */
    from_others(g, EC_VOTE_PRECOMMIT, 0, B);
    assert_memory_equal(only(g, O_DECIDE)->hash, B, EC_HASH_BYTES);
    assert_int_equal(count_of(g, O_NEED), 0);
    rig_free(g);
}

/* ---- 2. the proposer schedule ----------------------------------------------------------- */

static void test_proposer_equal(void **state)
{
    (void)state;
    for (uint32_t n = 1; n <= EC_VALIDATORS_MAX; n++) {
        uint64_t powers[EC_VALIDATORS_MAX];
        for (uint32_t i = 0; i < n; i++)
            powers[i] = 7; /* any equal power: the gcd makes them 1 */
        ec_valset_t vs;
        s_valset(&vs, powers, n);
        for (uint64_t h = 1; h < 40; h += 3) {
            uint32_t seen = 0;
            for (uint64_t r = 0; r < n; r++) {
                uint32_t p = ec_tm_proposer(&vs, h, r);
                assert_int_equal(p, (h + r) % n);
                seen |= 1u << p;
            }
            assert_int_equal(seen, n == 32 ? UINT32_MAX : (1u << n) - 1);
        }
        assert_int_equal(ec_tm_proposer(&vs, UINT64_MAX, UINT64_MAX), ((UINT64_MAX % n) * 2) % n);
    }
}

/* How often each validator proposes over slots [from, from + len) of vs. */
static void s_counts(const ec_valset_t *vs, uint64_t from, uint64_t len, uint64_t *counts)
{
    memset(counts, 0, vs->count * sizeof(*counts));
    for (uint64_t s = from; s < from + len; s++)
        counts[ec_tm_proposer(vs, s, 0)]++;
}

static void test_proposer_weighted(void **state)
{
    (void)state;
    const uint64_t p[4] = {1, 2, 3, 4};
    ec_valset_t vs;
    s_valset(&vs, p, 4);
    uint64_t counts[4];
    for (uint64_t from = 0; from < 30; from += 7) {
        s_counts(&vs, from, 10, counts); /* any full period: exactly in proportion */
        for (uint32_t i = 0; i < 4; i++)
            assert_int_equal(counts[i], p[i]);
    }
    /* Smooth: validator 3 (4 of 10) never proposes three slots in a row. */
    for (uint64_t s = 0; s < 20; s++)
        assert_false(ec_tm_proposer(&vs, s, 0) == 3 && ec_tm_proposer(&vs, s + 1, 0) == 3 &&
                     ec_tm_proposer(&vs, s + 2, 0) == 3);
    /* h + r is what counts, and the result is the same however often it is asked. */
    for (uint64_t h = 0; h < 12; h++)
        for (uint64_t r = 0; r < 12; r++)
            assert_int_equal(ec_tm_proposer(&vs, h, r), ec_tm_proposer(&vs, h + r, 0));

    /* Powers with a common divisor give the same schedule as the reduced powers. */
    const uint64_t big[3] = {6ull << 40, 9ull << 40, 3ull << 40};
    const uint64_t small[3] = {2, 3, 1};
    ec_valset_t vb, vsm;
    s_valset(&vb, big, 3);
    s_valset(&vsm, small, 3);
    for (uint64_t s = 0; s < 50; s++)
        assert_int_equal(ec_tm_proposer(&vb, s, 1), ec_tm_proposer(&vsm, s, 1));
    uint64_t c3[3];
    s_counts(&vb, 13, 6, c3);
    assert_int_equal(c3[0], 2);
    assert_int_equal(c3[1], 3);
    assert_int_equal(c3[2], 1);
}

static void test_proposer_scaled(void **state)
{
    (void)state;
    /* 2^48 and 1: scaled to 1023 and 1, a period of 1024 slots. */
    const uint64_t p[2] = {EC_VALIDATOR_POWER_MAX, 1};
    ec_valset_t vs;
    s_valset(&vs, p, 2);
    uint64_t counts[2];
    s_counts(&vs, 5, 1024, counts);
    assert_int_equal(counts[0], 1023);
    assert_int_equal(counts[1], 1);
    for (uint64_t s = 0; s < 1024; s += 37)
        assert_int_equal(ec_tm_proposer(&vs, s, 0), ec_tm_proposer(&vs, s + 1024, 0));

    /* 32 validators with powers spread over the whole range: everyone proposes in any
     * run of EC_TM_PROPOSER_PERIOD_MAX + 32 slots, each at least once a period. */
    uint64_t p32[EC_VALIDATORS_MAX];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (uint32_t i = 0; i < EC_VALIDATORS_MAX; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p32[i] = 1 + x % EC_VALIDATOR_POWER_MAX;
    }
    p32[7] = 1;
    ec_valset_t v32;
    s_valset(&v32, p32, EC_VALIDATORS_MAX);
    uint64_t c32[EC_VALIDATORS_MAX];
    s_counts(&v32, 1000, EC_TM_PROPOSER_PERIOD_MAX + EC_VALIDATORS_MAX, c32);
    for (uint32_t i = 0; i < EC_VALIDATORS_MAX; i++)
        assert_true(c32[i] >= 1);
    /* Roughly in proportion: the biggest proposes more often than the smallest. */
    uint32_t hi = 0;
    for (uint32_t i = 1; i < EC_VALIDATORS_MAX; i++)
        if (p32[i] > p32[hi])
            hi = i;
    assert_true(c32[hi] > c32[7]);
}

/* ---- 3. a simulated network ------------------------------------------------------------- */

#define SIM_NODES_MAX 8
#define SIM_HEIGHTS_MAX 6
#define SIM_ROUNDS_MAX 64       /* a node's signer record: rounds of one height */
#define SIM_EVENTS_MAX 8192     /* messages and timers in flight                 */
#define SIM_PROPS_MAX 1024      /* every proposal ever made in one run           */
#define SIM_GOSSIP_MS 200       /* every node re-sends and relays this often     */
#define SIM_ROUND_BOUND 16      /* liveness: every height decides by this round  */
#define SIM_PARTITIONS_MS 20000 /* the network may split until then              */

typedef enum {
    EV_PROPOSAL = 1,
    EV_VOTE,
    EV_TIMER,
    EV_GOSSIP,
    EV_CRASH,
    EV_RESTART,
    EV_PARTITION,
} ev_kind_t;

typedef struct {
    uint64_t at_ms, seq; /* delivery order: time, then sending order                 */
    ev_kind_t kind;
    uint32_t to;  /* node                                                             */
    uint32_t gen; /* EV_TIMER: the core instance that scheduled it                     */
    ec_tm_timeout_t timeout;
    uint64_t h, r;
    int64_t vr;
    uint8_t hash[EC_HASH_BYTES];
    ec_tm_vote_t vote;
} ev_t;

typedef struct {
    uint64_t h, r;
    int64_t vr;
    uint8_t hash[EC_HASH_BYTES];
    bool valid;
} sim_prop_t;

typedef struct sim sim_t;

typedef struct {
    sim_t *sim;
    uint32_t id;
    uint32_t key; /* the validator index it signs as                              */
    bool down;    /* crashed (for good or until EV_RESTART)                       */
    bool twin;    /* shares its key with another node                             */
    bool done;    /* decided the last height                                      */
    uint32_t gen; /* core instance, bumped at each restart                        */
    ec_tm_t *tm;
    uint64_t height;
    /* Its signer record for `height`: every vote it signed, and the last one. */
    bool signed_vote[SIM_ROUNDS_MAX][2];
    bool signed_nil[SIM_ROUNDS_MAX][2];
    uint8_t signed_hash[SIM_ROUNDS_MAX][2][EC_HASH_BYTES];
    bool has_last;
    ec_tm_vote_t last;
    ec_tm_lock_t lock; /* as persisted with the last signature                     */
    uint64_t record_round;
    bool has_prop;
    sim_prop_t prop; /* its latest proposal, re-sent while its round lasts           */
    struct {
        bool done;
        uint64_t r;
        uint8_t hash[EC_HASH_BYTES];
        uint32_t count;
        ec_tm_vote_t commit[EC_VALIDATORS_MAX];
    } dec[SIM_HEIGHTS_MAX + 1];
} sim_node_t;

typedef struct {
    const char *name;
    uint32_t nodes;      /* cores                                                   */
    uint32_t validators; /* validator set size; node i signs as i, extras as 0     */
    const uint64_t *powers;
    uint32_t heights;
    uint32_t crash_max; /* nodes that may crash (silent from a random time)       */
    bool restarts;      /* one node restarts from its signer record, repeatedly    */
    uint64_t seeds;     /* seeds in the unit suite                                 */
} sim_cfg_t;

struct sim {
    const sim_cfg_t *cfg;
    uint64_t seed, rng;
    uint64_t now_ms;
    uint32_t loss_pct, dup_pct, invalid_pct, delay_max_ms;
    uint32_t side; /* while partitioned: bit i, node i is on one side                 */
    ec_valset_t vs;
    sim_node_t nodes[SIM_NODES_MAX];
    uint32_t heap_n;
    uint64_t seq;
    ev_t heap[SIM_EVENTS_MAX];
    uint32_t prop_count;
    sim_prop_t props[SIM_PROPS_MAX];
    bool decided[SIM_HEIGHTS_MAX + 1];
    uint8_t decided_hash[SIM_HEIGHTS_MAX + 1][EC_HASH_BYTES];
    uint64_t max_round;
    uint64_t evidence;
    uint64_t events;
};

static sim_t g_sim;

#define SIM_FAIL(s, ...)                                                                           \
    fail_msg("%s, seed %llu (replay: TM_SEED=%llu) t=%llu ms: %s", (s)->cfg->name,                 \
             (unsigned long long)(s)->seed, (unsigned long long)(s)->seed,                         \
             (unsigned long long)(s)->now_ms, s_msg(__VA_ARGS__))

static const char *s_msg(const char *fmt, ...)
{
    static char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return buf;
}

static uint64_t sim_rand(sim_t *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static bool sim_chance(sim_t *s, uint32_t pct)
{
    return sim_rand(s) % 100 < pct;
}

static bool ev_before(const ev_t *a, const ev_t *b)
{
    return a->at_ms < b->at_ms || (a->at_ms == b->at_ms && a->seq < b->seq);
}

static void sim_push(sim_t *s, ev_t *e)
{
    if (s->heap_n == SIM_EVENTS_MAX)
        SIM_FAIL(s, "event heap full");
    e->seq = s->seq++;
    uint32_t i = s->heap_n++;
    while (i > 0 && ev_before(e, &s->heap[(i - 1) / 2])) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = *e;
}

static void sim_pop(sim_t *s, ev_t *out)
{
    *out = s->heap[0];
    ev_t last = s->heap[--s->heap_n];
    uint32_t i = 0;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= s->heap_n)
            break;
        if (c + 1 < s->heap_n && ev_before(&s->heap[c + 1], &s->heap[c]))
            c++;
        if (!ev_before(&s->heap[c], &last))
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    s->heap[i] = last;
}

/* Sends e from node `from` to node `to` through the lossy network: maybe lost (almost
 * surely across a partition), maybe twice, each copy after its own random delay (so
 * messages overtake each other). */
static void sim_send(sim_t *s, uint32_t from, uint32_t to, ev_t *e)
{
    bool cut = ((s->side >> from) & 1) != ((s->side >> to) & 1);
    int copies = sim_chance(s, s->dup_pct) ? 2 : 1;
    for (int i = 0; i < copies; i++) {
        if (sim_chance(s, cut ? 95 : s->loss_pct))
            continue;
        e->to = to;
        e->at_ms = s->now_ms + 1 + sim_rand(s) % s->delay_max_ms;
        sim_push(s, e);
    }
}

static void sim_broadcast(sim_t *s, const sim_node_t *from, ev_t *e)
{
    for (uint32_t j = 0; j < s->cfg->nodes; j++)
        if (j != from->id)
            sim_send(s, from->id, j, e);
}

static const sim_prop_t *sim_prop_find(const sim_t *s, uint64_t h, uint64_t r, const uint8_t *hash)
{
    for (uint32_t i = 0; i < s->prop_count; i++)
        if (s->props[i].h == h && s->props[i].r == r &&
            memcmp(s->props[i].hash, hash, EC_HASH_BYTES) == 0)
            return &s->props[i];
    return NULL;
}

/* The validity oracle every node consults: the verdict fixed when the block was made. */
static bool sim_valid(const sim_t *s, uint64_t h, const uint8_t *hash)
{
    for (uint32_t i = 0; i < s->prop_count; i++)
        if (s->props[i].h == h && memcmp(s->props[i].hash, hash, EC_HASH_BYTES) == 0)
            return s->props[i].valid;
    return false;
}

static void ev_proposal(ev_t *e, const sim_prop_t *p)
{
    memset(e, 0, sizeof(*e));
    e->kind = EV_PROPOSAL;
    e->h = p->h;
    e->r = p->r;
    e->vr = p->vr;
    memcpy(e->hash, p->hash, EC_HASH_BYTES);
}

static void ev_vote(ev_t *e, const ec_tm_vote_t *v)
{
    memset(e, 0, sizeof(*e));
    e->kind = EV_VOTE;
    e->vote = *v;
}

/* What the node's signer record holds for (round, type) at its height, as a vote. */
static bool sim_signed(const sim_node_t *n, uint64_t r, int t, ec_tm_vote_t *v)
{
    if (r >= SIM_ROUNDS_MAX || !n->signed_vote[r][t])
        return false;
    memset(v, 0, sizeof(*v));
    v->height = n->height;
    v->round = r;
    v->type = t == 0 ? EC_VOTE_PREVOTE : EC_VOTE_PRECOMMIT;
    v->validator = n->key;
    v->nil = n->signed_nil[r][t];
    memcpy(v->hash, n->signed_hash[r][t], EC_HASH_BYTES);
    v->sig[0] = (uint8_t)n->id;
    return true;
}

static void sim_out_propose(void *ctx, uint64_t h, uint64_t r, int64_t vr, const uint8_t *hash)
{
    sim_node_t *n = ctx;
    sim_t *s = n->sim;
    ev_t e;
    if (h != n->height || n->down)
        SIM_FAIL(s, "node %u asked to propose at height %llu", n->id, (unsigned long long)h);
    if (n->has_prop && n->prop.h == h && n->prop.r == r) {
        /* Signed before a restart: the signer record sends that one again. */
        ev_proposal(&e, &n->prop);
        sim_broadcast(s, n, &e);
        ec_tm_on_proposal(n->tm, h, r, n->prop.vr, n->prop.hash, n->prop.valid);
        return;
    }
    if (s->prop_count == SIM_PROPS_MAX)
        SIM_FAIL(s, "too many proposals");
    sim_prop_t *p = &s->props[s->prop_count++];
    p->h = h;
    p->r = r;
    p->vr = vr;
    if (hash) {
        memcpy(p->hash, hash, EC_HASH_BYTES);
        p->valid = sim_valid(s, h, hash);
        if (!p->valid)
            SIM_FAIL(s, "node %u re-proposes an invalid value", n->id);
    } else {
        for (int i = 0; i < EC_HASH_BYTES; i += 8) {
            uint64_t x = sim_rand(s);
            memcpy(p->hash + i, &x, 8);
        }
        p->valid = !sim_chance(s, s->invalid_pct);
    }
    n->has_prop = true;
    n->prop = *p;
    ec_tm_lock(n->tm, &n->lock); /* persisted before the proposal leaves */
    n->record_round = r;
    ev_proposal(&e, p);
    sim_broadcast(s, n, &e);
    ec_tm_on_proposal(n->tm, h, r, vr, p->hash, p->valid);
}

static void sim_out_vote(void *ctx, uint32_t type, uint64_t h, uint64_t r, const uint8_t *hash)
{
    sim_node_t *n = ctx;
    sim_t *s = n->sim;
    int t = type == EC_VOTE_PREVOTE ? 0 : 1;
    if (h != n->height || n->down || r >= SIM_ROUNDS_MAX)
        SIM_FAIL(s, "node %u asked to vote at (%llu, %llu)", n->id, (unsigned long long)h,
                 (unsigned long long)r);
    if (n->signed_vote[r][t])
        SIM_FAIL(s, "node %u asked to sign a second %s at (%llu, %llu)", n->id,
                 t == 0 ? "prevote" : "precommit", (unsigned long long)h, (unsigned long long)r);
    n->signed_vote[r][t] = true;
    n->signed_nil[r][t] = hash == NULL;
    memset(n->signed_hash[r][t], 0, EC_HASH_BYTES);
    if (hash)
        memcpy(n->signed_hash[r][t], hash, EC_HASH_BYTES);
    ec_tm_lock(n->tm, &n->lock); /* persisted before the vote leaves */
    n->record_round = r;
    ec_tm_vote_t v;
    sim_signed(n, r, t, &v);
    n->has_last = true;
    n->last = v;
    ev_t e;
    ev_vote(&e, &v);
    sim_broadcast(s, n, &e);
    ec_tm_on_vote(n->tm, &v);
}

static void sim_out_schedule(void *ctx, ec_tm_timeout_t kind, uint64_t h, uint64_t r, uint32_t ms)
{
    sim_node_t *n = ctx;
    ev_t e = {.kind = EV_TIMER, .to = n->id, .gen = n->gen, .timeout = kind, .h = h, .r = r};
    e.at_ms = n->sim->now_ms + ms;
    sim_push(n->sim, &e);
}

/* Every check a decision must pass: a quorum of sorted precommits for the hash, a valid
 * block that was proposed at that height, and the same hash as every other decision. */
static void sim_check_decision(sim_t *s, const sim_node_t *n, uint64_t h, uint64_t r,
                               const uint8_t *hash, const ec_tm_vote_t *pc, uint32_t count)
{
    uint64_t power = 0, total = 0;
    for (uint32_t i = 0; i < s->vs.count; i++)
        total += s->vs.v[i].power;
    for (uint32_t i = 0; i < count; i++) {
        if ((i > 0 && pc[i].validator <= pc[i - 1].validator) || pc[i].height != h ||
            pc[i].round != r || pc[i].type != EC_VOTE_PRECOMMIT || pc[i].nil ||
            memcmp(pc[i].hash, hash, EC_HASH_BYTES) != 0 || pc[i].validator >= s->vs.count)
            SIM_FAIL(s, "node %u: bad commit vote %u", n->id, i);
        power += s->vs.v[pc[i].validator].power;
    }
    if (3 * power <= 2 * total)
        SIM_FAIL(s, "node %u: commit without a quorum", n->id);
    if (!sim_valid(s, h, hash))
        SIM_FAIL(s, "node %u decided a value never proposed valid at %llu", n->id,
                 (unsigned long long)h);
    if (s->decided[h] && memcmp(s->decided_hash[h], hash, EC_HASH_BYTES) != 0)
        SIM_FAIL(s, "AGREEMENT: node %u decided another value at height %llu", n->id,
                 (unsigned long long)h);
    s->decided[h] = true;
    memcpy(s->decided_hash[h], hash, EC_HASH_BYTES);
    if (r > s->max_round)
        s->max_round = r;
    if (r > SIM_ROUND_BOUND)
        SIM_FAIL(s, "LIVENESS: height %llu decided only at round %llu", (unsigned long long)h,
                 (unsigned long long)r);
}

/* Forgets the signer record of the finished height and starts the next one (from inside
 * out->decide: the core queues the start). */
static void sim_next_height(sim_node_t *n)
{
    n->height++;
    memset(n->signed_vote, 0, sizeof(n->signed_vote));
    n->has_last = false;
    n->has_prop = false;
    n->record_round = 0;
    n->lock.locked_round = -1;
    n->lock.valid_round = -1;
    n->lock.voted_round = -1;
    if (n->height > n->sim->cfg->heights) {
        n->done = true;
        return;
    }
    ec_tm_start(n->tm, n->height, &n->sim->vs, n->key, 0, NULL);
}

static void sim_out_decide(void *ctx, uint64_t h, uint64_t r, const uint8_t hash[EC_HASH_BYTES],
                           const ec_tm_vote_t *pc, uint32_t count)
{
    sim_node_t *n = ctx;
    sim_t *s = n->sim;
    if (h != n->height || n->dec[h].done)
        SIM_FAIL(s, "node %u decides height %llu again", n->id, (unsigned long long)h);
    sim_check_decision(s, n, h, r, hash, pc, count);
    n->dec[h].done = true;
    n->dec[h].r = r;
    memcpy(n->dec[h].hash, hash, EC_HASH_BYTES);
    n->dec[h].count = count;
    memcpy(n->dec[h].commit, pc, count * sizeof(*pc));
    sim_next_height(n);
}

static void sim_out_evidence(void *ctx, const ec_tm_vote_t *a, const ec_tm_vote_t *b)
{
    sim_node_t *n = ctx;
    sim_t *s = n->sim;
    bool twin_key = false;
    for (uint32_t i = 0; i < s->cfg->nodes; i++)
        twin_key |= s->nodes[i].twin && s->nodes[i].key == a->validator;
    if (!twin_key || a->validator != b->validator || a->height != b->height ||
        a->round != b->round || a->type != b->type ||
        (a->nil == b->nil && memcmp(a->hash, b->hash, EC_HASH_BYTES) == 0))
        SIM_FAIL(s, "node %u: bad evidence against validator %u", n->id, a->validator);
    s->evidence++;
}

static void sim_out_need(void *ctx, uint64_t h, uint64_t r, const uint8_t hash[EC_HASH_BYTES])
{
    /* GET_PROPOSAL: some peer has it; the answer is not lost (a real driver retries). */
    sim_node_t *n = ctx;
    sim_t *s = n->sim;
    const sim_prop_t *p = sim_prop_find(s, h, r, hash);
    if (!p)
        return; /* a value nobody proposed at (h, r): the quorum is a lie */
    ev_t e;
    ev_proposal(&e, p);
    e.to = n->id;
    e.at_ms = s->now_ms + 1 + sim_rand(s) % s->delay_max_ms;
    sim_push(s, &e);
}

static const ec_tm_out_t k_sim_out_proto = {
    NULL,           sim_out_propose,  sim_out_vote, sim_out_schedule,
    sim_out_decide, sim_out_evidence, sim_out_need};

static void sim_core_new(sim_node_t *n)
{
    ec_tm_out_t out = k_sim_out_proto;
    out.ctx = n;
    n->tm = ec_tm_new(&k_cfg, &out);
    assert_non_null(n->tm);
}

/* Sends node `to` (every other node when `to` is SIM_ALL) the votes n holds for
 * (round, type). */
#define SIM_ALL UINT32_MAX
static void sim_send_held(sim_t *s, const sim_node_t *n, uint32_t to, uint64_t round, uint32_t type)
{
    ec_tm_vote_t held[EC_TM_VOTES_MAX];
    uint32_t c = ec_tm_votes(n->tm, round, type, held, EC_TM_VOTES_MAX);
    for (uint32_t i = 0; i < c; i++) {
        ev_t e;
        ev_vote(&e, &held[i]);
        if (to == SIM_ALL)
            sim_broadcast(s, n, &e);
        else
            sim_send(s, n->id, to, &e);
    }
}

/* A node's own messages, again: its proposal of the current round (with the prevotes of
 * its valid round, the POL [28] needs), its votes of the current round and its
 * precommit of the previous one. */
static void sim_gossip_own(sim_t *s, sim_node_t *n)
{
    ev_t e;
    ec_tm_vote_t v;
    uint64_t r = ec_tm_round(n->tm);
    if (n->has_prop && n->prop.h == n->height && n->prop.r == r) {
        ev_proposal(&e, &n->prop);
        sim_broadcast(s, n, &e);
        if (n->prop.vr >= 0)
            sim_send_held(s, n, SIM_ALL, (uint64_t)n->prop.vr, EC_VOTE_PREVOTE);
    }
    for (int t = 0; t < 2; t++)
        if (sim_signed(n, r, t, &v)) {
            ev_vote(&e, &v);
            sim_broadcast(s, n, &e);
        }
    if (r > 0 && sim_signed(n, r - 1, 1, &v)) {
        ev_vote(&e, &v);
        sim_broadcast(s, n, &e);
    }
}

/* To a peer of its height at a lower round (a real driver learns it from STATUS), the
 * votes it holds for the peer's round and for its own: the precommit quorum that made it
 * leave that round ([47]) or the third at its round ([55]). Without this relay a node
 * that left a round on a crashed validator's vote which only it received strands the
 * others: the paper's liveness assumes correct processes eventually receive what any
 * correct process received. */
static void sim_gossip_relay(sim_t *s, sim_node_t *n)
{
    uint64_t r = ec_tm_round(n->tm);
    for (uint32_t j = 0; j < s->cfg->nodes; j++) {
        const sim_node_t *peer = &s->nodes[j];
        if (j == n->id || peer->down || peer->done || peer->height != n->height)
            continue;
        uint64_t pr = ec_tm_round(peer->tm);
        if (pr >= r)
            continue;
        for (uint32_t type = EC_VOTE_PREVOTE; type <= EC_VOTE_PRECOMMIT; type++) {
            sim_send_held(s, n, j, pr, type);
            sim_send_held(s, n, j, r, type);
        }
    }
}

/* To a peer at a lower height, the commit and the proposal it decided there (a real
 * driver sends blocks and commits instead). */
static void sim_gossip_commits(sim_t *s, sim_node_t *n)
{
    ev_t e;
    for (uint32_t j = 0; j < s->cfg->nodes; j++) {
        const sim_node_t *peer = &s->nodes[j];
        if (j == n->id || peer->down || peer->done || peer->height >= n->height ||
            !n->dec[peer->height].done)
            continue;
        const sim_prop_t *p =
            sim_prop_find(s, peer->height, n->dec[peer->height].r, n->dec[peer->height].hash);
        assert_non_null(p);
        ev_proposal(&e, p);
        sim_send(s, n->id, j, &e);
        for (uint32_t i = 0; i < n->dec[peer->height].count; i++) {
            ev_vote(&e, &n->dec[peer->height].commit[i]);
            sim_send(s, n->id, j, &e);
        }
    }
}

/* What a node sends every gossip tick. */
static void sim_gossip(sim_t *s, sim_node_t *n)
{
    if (!n->done) {
        sim_gossip_own(s, n);
        sim_gossip_relay(s, n);
    }
    sim_gossip_commits(s, n);
}

/* A restart: a new core resumes from the signer record (height, round, lock); every
 * other time it is also fed the last vote it signed. Timers of the old core die with it. */
static void sim_restart(sim_t *s, sim_node_t *n)
{
    ec_tm_destroy(&n->tm);
    n->gen++;
    n->down = false;
    sim_core_new(n);
    if (n->done)
        return;
    ec_tm_start(n->tm, n->height, &s->vs, n->key, n->record_round, &n->lock);
    if (n->gen % 2 && n->has_last && n->last.round == n->record_round)
        ec_tm_on_vote(n->tm, &n->last);
}

/* Until SIM_PARTITIONS_MS, every 0.1 to 2 s: heal the network, or split it in two
 * random sides (the split views in which a broken lock rule shows). Then it stays whole,
 * so that liveness can be asked for. */
static void sim_partition(sim_t *s, const ev_t *e)
{
    uint32_t all = (1u << s->cfg->nodes) - 1;
    s->side = sim_chance(s, 50) ? 0 : (uint32_t)(sim_rand(s) % all);
    if (s->now_ms >= SIM_PARTITIONS_MS) {
        s->side = 0;
        return;
    }
    ev_t next = *e;
    next.at_ms = s->now_ms + 100 + sim_rand(s) % 1900;
    sim_push(s, &next);
}

static void sim_deliver(sim_t *s, const ev_t *e)
{
    sim_node_t *n = &s->nodes[e->to];
    switch (e->kind) {
        case EV_PROPOSAL:
            if (!n->down && !n->done)
                ec_tm_on_proposal(n->tm, e->h, e->r, e->vr, e->hash, sim_valid(s, e->h, e->hash));
            break;
        case EV_VOTE:
            if (!n->down && !n->done)
                ec_tm_on_vote(n->tm, &e->vote);
            break;
        case EV_TIMER:
            if (!n->down && !n->done && e->gen == n->gen)
                ec_tm_on_timeout(n->tm, e->timeout, e->h, e->r);
            break;
        case EV_CRASH:
            n->down = true;
            break;
        case EV_RESTART:
            sim_restart(s, n);
            break;
        case EV_GOSSIP:
            for (uint32_t i = 0; i < s->cfg->nodes; i++)
                if (!s->nodes[i].down)
                    sim_gossip(s, &s->nodes[i]);
            break;
        case EV_PARTITION:
            sim_partition(s, e);
            break;
    }
}

/* The nodes that crash for good: up to cfg->crash_max, as long as the honest live power
 * keeps a quorum. Node 0 never crashes (it holds the heavy key of weighted sets). */
static void sim_plan_faults(sim_t *s)
{
    const sim_cfg_t *c = s->cfg;
    uint32_t crashes = c->crash_max ? (uint32_t)(sim_rand(s) % (c->crash_max + 1)) : 0;
    for (uint32_t k = 0; k < crashes; k++) {
        uint32_t id = c->nodes - 1 - k;
        ev_t e = {.kind = EV_CRASH, .to = id};
        e.at_ms = sim_chance(s, 50) ? 0 : sim_rand(s) % 4000;
        sim_push(s, &e);
    }
    if (c->restarts) {
        /* Node 1 goes down and comes back three times (never while another is down for
         * good in this configuration: crash_max is 0 there). */
        uint64_t t = 0;
        for (int k = 0; k < 3; k++) {
            t += 100 + sim_rand(s) % 3000;
            ev_t e = {.kind = EV_CRASH, .to = 1, .at_ms = t};
            sim_push(s, &e);
            t += 1 + sim_rand(s) % 2000;
            ev_t back = {.kind = EV_RESTART, .to = 1, .at_ms = t};
            sim_push(s, &back);
        }
    }
}

/* Prints every node's state, for a failed run. */
static void sim_dump(const sim_t *s)
{
    for (uint32_t i = 0; i < s->cfg->nodes; i++) {
        const sim_node_t *n = &s->nodes[i];
        ec_tm_lock_t l;
        ec_tm_lock(n->tm, &l);
        print_error("  node %u key %u%s%s: height %llu round %llu step %d locked %lld valid %lld\n",
                    i, n->key, n->down ? " down" : "", n->done ? " done" : "",
                    (unsigned long long)n->height, (unsigned long long)ec_tm_round(n->tm),
                    (int)ec_tm_step(n->tm), (long long)l.locked_round, (long long)l.valid_round);
    }
}

static bool sim_finished(const sim_t *s)
{
    for (uint32_t i = 0; i < s->cfg->nodes; i++)
        if (!s->nodes[i].down && !s->nodes[i].done)
            return false;
    return true;
}

static void sim_run(const sim_cfg_t *cfg, uint64_t seed)
{
    sim_t *s = &g_sim;
    memset(s, 0, sizeof(*s));
    s->cfg = cfg;
    s->seed = seed;
    s->rng = seed * 0x2545f4914f6cdd1dull + 1;
    static const uint32_t loss[] = {0, 5, 20, 35};
    s->loss_pct = loss[sim_rand(s) % 4];
    s->dup_pct = (uint32_t)(sim_rand(s) % 30);
    s->invalid_pct = (uint32_t)(sim_rand(s) % 25);
    s->delay_max_ms = 1 + (uint32_t)(sim_rand(s) % 300);
    s_valset(&s->vs, cfg->powers, cfg->validators);
    for (uint32_t i = 0; i < cfg->nodes; i++) {
        sim_node_t *n = &s->nodes[i];
        n->sim = s;
        n->id = i;
        n->key = i < cfg->validators ? i : 0;
        n->twin = cfg->nodes > cfg->validators && (i == 0 || i >= cfg->validators);
        n->height = 1;
        n->lock.locked_round = -1;
        n->lock.valid_round = -1;
        n->lock.voted_round = -1;
        sim_core_new(n);
    }
    sim_plan_faults(s);
    ev_t tick = {.kind = EV_GOSSIP, .at_ms = SIM_GOSSIP_MS};
    sim_push(s, &tick);
    if (sim_chance(s, 50)) {
        ev_t split = {.kind = EV_PARTITION, .at_ms = sim_rand(s) % 500};
        sim_push(s, &split);
    }
    for (uint32_t i = 0; i < cfg->nodes; i++)
        ec_tm_start(s->nodes[i].tm, 1, &s->vs, s->nodes[i].key, 0, NULL);
    const uint64_t limit_ms = 120000ull * cfg->heights;
    while (!sim_finished(s)) {
        if (s->heap_n == 0 || s->now_ms > limit_ms) {
            sim_dump(s);
            SIM_FAIL(s, "LIVENESS: not every live node decided %u heights", cfg->heights);
        }
        ev_t e;
        sim_pop(s, &e);
        s->now_ms = e.at_ms;
        s->events++;
        sim_deliver(s, &e);
        if (e.kind == EV_GOSSIP) {
            e.at_ms = s->now_ms + SIM_GOSSIP_MS;
            sim_push(s, &e);
        }
    }
    for (uint32_t i = 0; i < cfg->nodes; i++)
        ec_tm_destroy(&s->nodes[i].tm);
}

/* Runs cfg for `seeds` seeds (or $TM_SEEDS seeds, for a soak, or only seed $TM_SEED);
 * returns the total evidence reported. */
static uint64_t sim_seeds(const sim_cfg_t *cfg, uint64_t seeds)
{
    const char *one = getenv("TM_SEED"), *many = getenv("TM_SEEDS");
    uint64_t first = 0, end = many ? strtoull(many, NULL, 10) : seeds;
    if (one) {
        first = strtoull(one, NULL, 10);
        end = first + 1;
    }
    uint64_t evidence = 0, max_round = 0, events = 0;
    for (uint64_t seed = first; seed < end; seed++) {
        sim_run(cfg, seed);
        evidence += g_sim.evidence;
        events += g_sim.events;
        if (g_sim.max_round > max_round)
            max_round = g_sim.max_round;
    }
    print_message("%s: %llu seeds, highest deciding round %llu, %llu events, %llu "
                  "evidence\n",
                  cfg->name, (unsigned long long)(end - first), (unsigned long long)max_round,
                  (unsigned long long)events, (unsigned long long)evidence);
    return evidence;
}

static const uint64_t k_equal7[7] = {1, 1, 1, 1, 1, 1, 1};
static const uint64_t k_heavy[4] = {3, 1, 1, 1};

/* Each a test of its own. In the weighted set the heavy node 0 never crashes; in the
 * last, nodes 0 and 4 both sign as validator 0, each proposing its own block and voting
 * for what it saw first: the others must agree and report it. */
static const sim_cfg_t k_sims[] = {
    {"sim: 4 nodes, up to 1 crash", 4, 4, k_equal4, 5, 1, false, 300},
    {"sim: 4 nodes, one restarting", 4, 4, k_equal4, 5, 0, true, 150},
    {"sim: 7 nodes, up to 2 crashes", 7, 7, k_equal7, 4, 2, false, 100},
    {"sim: powers 3,1,1,1, up to 1 crash", 4, 4, k_heavy, 5, 1, false, 150},
    {"sim: 4 keys, key 0 on two cores", 5, 4, k_equal4, 5, 0, false, 200},
};

static void test_sim(void **state)
{
    const sim_cfg_t *c = *state;
    uint64_t evidence = sim_seeds(c, c->seeds);
    if (c->nodes == c->validators)
        assert_int_equal(evidence, 0); /* sim_out_evidence checked each one anyway */
    else if (!getenv("TM_SEED"))
        assert_true(evidence > 0);
}

int main(void)
{
    memset(A, 0xAA, sizeof A);
    memset(B, 0xBB, sizeof B);
    memset(C, 0xCC, sizeof C);
    memset(P, 0x11, sizeof P);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_happy_path),
        cmocka_unit_test(test_proposer_side),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_timeouts_grow),
        cmocka_unit_test(test_lock_refuses_other_value),
        cmocka_unit_test(test_pol_lost),
        cmocka_unit_test(test_unlock_by_pol),
        cmocka_unit_test(test_old_pol_does_not_unlock),
        cmocka_unit_test(test_pol_at_prevote_quorum_in_round),
        cmocka_unit_test(test_lock_safety_scripted),
        cmocka_unit_test(test_valid_value_reproposal),
        cmocka_unit_test(test_nil_quorum),
        cmocka_unit_test(test_round_skip),
        cmocka_unit_test(test_invalid_proposal),
        cmocka_unit_test(test_late_proposal_decides),
        cmocka_unit_test(test_decide_at_old_round),
        cmocka_unit_test(test_need_once),
        cmocka_unit_test(test_equivocation),
        cmocka_unit_test(test_window_and_foreign_inputs),
        cmocka_unit_test(test_old_rounds_evicted),
        cmocka_unit_test(test_weighted_powers),
        cmocka_unit_test(test_votes_accessor),
        cmocka_unit_test(test_reentrant_inputs),
        cmocka_unit_test(test_restart),
        cmocka_unit_test(test_observer),
        cmocka_unit_test(test_equivocating_proposer),
        cmocka_unit_test(test_proposer_equal),
        cmocka_unit_test(test_proposer_weighted),
        cmocka_unit_test(test_proposer_scaled),
        {k_sims[0].name, test_sim, NULL, NULL, (void *)&k_sims[0]},
        {k_sims[1].name, test_sim, NULL, NULL, (void *)&k_sims[1]},
        {k_sims[2].name, test_sim, NULL, NULL, (void *)&k_sims[2]},
        {k_sims[3].name, test_sim, NULL, NULL, (void *)&k_sims[3]},
        {k_sims[4].name, test_sim, NULL, NULL, (void *)&k_sims[4]},
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
