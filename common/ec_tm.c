/*
 * ec_tm.c - Tendermint's Algorithm 1 for one height at a time (arXiv 1807.04938). The
 * rules, with the paper's line numbers, and the contract with the driver are in ec_tm.h.
 *
 * State: the paper's height, round, step, lock and valid value, plus a fixed pool of
 * EC_TM_ROUNDS_MAX round records allocated with the core. A round record holds each
 * validator's prevote and precommit (and one conflicting vote of each type, see
 * s_vote_count), the power behind every distinct value voted for, the round's proposal
 * and the round's "first time" flags, so that each rule's condition is a lookup and an
 * input costs O(validators) (O(EC_TM_ROUNDS_MAX) to find a round's record).
 *
 * Invariants:
 * - a validator has at most two counted votes per (round, type): its first and one for
 *   another value (evidence), see s_vote_count;
 * - per (round, type) the first value to reach a quorum is remembered by index, and its
 *   power never falls (a vote for it is never replaced); with less than a third of the
 *   power faulty no second value can reach one;
 * - the current round always has a record; only records below it are ever evicted;
 * - the step only moves forward within a round, and the core votes only when it moves
 *   the step, so it never asks for two votes of one type in one round;
 * - no input is processed inside another: an input made from inside an output is queued
 *   and processed after the current one (s_submit), so no record changes under a rule.
 */
#include "ec_tm.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

enum { S_PREVOTE = 0, S_PRECOMMIT = 1, S_TYPES = 2 }; /* index of a vote type */

/* The power behind one value (a hash, or nil) at one (round, type). */
typedef struct {
    bool nil;
    uint8_t hash[EC_HASH_BYTES]; /* zero for nil                                   */
    uint64_t power;
} s_value_t;

/* At most this many votes are counted per (round, type) (a first and a second per
 * validator), so this many value entries always leave one free (entries whose power fell
 * to zero are reused). */
#define S_VALUES_MAX (2 * EC_VALIDATORS_MAX)

/* The votes of one type at one round. */
typedef struct {
    uint32_t held;    /* bit i: first[i] is validator i's first vote                 */
    uint32_t twice;   /* bit i: second[i] is a vote of validator i for another value */
    uint64_t power;   /* power of the validators with a vote here, each once         */
    int32_t quorum;   /* index in values of the value with a quorum; -1: none yet   */
    bool need_called; /* out->need was called for the quorum's value                */
    uint32_t value_count;
    s_value_t values[S_VALUES_MAX];
    ec_tm_vote_t first[EC_VALIDATORS_MAX];
    ec_tm_vote_t second[EC_VALIDATORS_MAX];
} s_tally_t;

typedef struct {
    bool known;
    bool valid;
    int64_t valid_round;
    uint8_t hash[EC_HASH_BYTES];
} s_proposal_t;

/* Everything the core holds about one round of the height (about 22 KiB). */
typedef struct {
    bool used;
    uint64_t round;
    s_tally_t tally[S_TYPES];
    uint32_t senders;       /* bit i: validator i has a counted vote here (any type) */
    uint64_t senders_power; /* their power, for [55]                                 */
    s_proposal_t proposal;  /* the first proposal of the round, for [22-33]          */
    s_proposal_t other;     /* another one that a quorum names (an equivocating
                               proposer), for [36] and [49]                          */
    bool prevote_timeout;   /* [34] fired                                            */
    bool pol;               /* [36] fired                                            */
    bool precommit_timeout; /* [47] fired                                            */
} s_round_t;

typedef enum { S_IN_START = 1, S_IN_PROPOSAL, S_IN_VOTE, S_IN_TIMEOUT } s_kind_t;

/* One input call, kept whole so that it can wait in the queue. */
typedef struct {
    s_kind_t kind;
    uint64_t h, r;
    union {
        struct {
            const ec_valset_t *vs; /* the caller's, or tm->queued_vs when queued      */
            uint32_t me;
            ec_tm_lock_t lock;
        } start;
        struct {
            int64_t valid_round;
            bool valid;
            uint8_t hash[EC_HASH_BYTES];
        } proposal;
        ec_tm_vote_t vote;
        ec_tm_timeout_t timeout;
    } u;
} s_input_t;

struct ec_tm {
    ec_tm_config_t cfg;
    ec_tm_out_t out;
    bool started; /* ec_tm_start was processed at least once              */
    bool decided; /* out->decide was called for this height               */
    uint64_t height;
    uint64_t round;
    ec_tm_step_t step;
    ec_valset_t vs;
    uint64_t total_power; /* < 2^53 (32 validators of at most 2^48): 3x fits      */
    uint32_t me;          /* index in vs, or EC_TM_NOT_VALIDATOR                  */
    ec_tm_lock_t lock;
    s_round_t rounds[EC_TM_ROUNDS_MAX];
    ec_tm_vote_t commit[EC_VALIDATORS_MAX]; /* the precommits passed to out->decide   */
    bool busy; /* an input is being processed: new inputs are queued   */
    uint32_t queue_head;
    uint32_t queue_count;
    s_input_t queue[EC_TM_QUEUE_MAX];
    bool queued_vs_used; /* a queued start refers to queued_vs                   */
    ec_valset_t queued_vs;
};

ec_tm_t *ec_tm_new(const ec_tm_config_t *cfg, const ec_tm_out_t *out)
{
    assert(cfg && out);
    assert(out->propose && out->vote && out->schedule && out->decide && out->evidence && out->need);
    ec_tm_t *tm = calloc(1, sizeof(*tm));
    if (!tm)
        return NULL;
    tm->cfg = *cfg;
    tm->out = *out;
    tm->step = EC_TM_PROPOSE;
    tm->me = EC_TM_NOT_VALIDATOR;
    tm->lock.locked_round = -1;
    tm->lock.valid_round = -1;
    tm->lock.voted_round = -1;
    return tm;
}

void ec_tm_destroy(ec_tm_t **self_p)
{
    assert(self_p);
    ec_tm_t *tm = *self_p;
    if (!tm)
        return;
    assert(!tm->busy && "ec_tm_destroy from inside an output");
    free(tm);
    *self_p = NULL;
}

/* ---- arithmetic ------------------------------------------------------------------------- */

/* "2f + 1": more than two thirds of the power. */
static bool s_quorum(const ec_tm_t *tm, uint64_t power)
{
    return 3 * power > 2 * tm->total_power;
}

/* "f + 1": more than a third of the power. */
static bool s_third(const ec_tm_t *tm, uint64_t power)
{
    return 3 * power > tm->total_power;
}

/* base + round * delta, saturated at UINT32_MAX (a round that high waits "forever"). */
static uint32_t s_timeout_ms(uint32_t base, uint32_t delta, uint64_t round)
{
    if (delta && round > (UINT32_MAX - base) / delta)
        return UINT32_MAX;
    return (uint32_t)(base + round * delta);
}

static bool s_same_value(bool a_nil, const uint8_t *a, bool b_nil, const uint8_t *b)
{
    return a_nil == b_nil && (a_nil || memcmp(a, b, EC_HASH_BYTES) == 0);
}

/* ---- round records ---------------------------------------------------------------------- */

static s_round_t *s_round_find(ec_tm_t *tm, uint64_t round)
{
    for (uint32_t i = 0; i < EC_TM_ROUNDS_MAX; i++)
        if (tm->rounds[i].used && tm->rounds[i].round == round)
            return &tm->rounds[i];
    return NULL;
}

/* True when rd holds a POL the core may need: that of its valid value (to prevote its
 * own re-proposal) or that of the current round's proposal ([28]). */
static bool s_round_is_pol(ec_tm_t *tm, const s_round_t *rd)
{
    if (tm->lock.valid_round >= 0 && rd->round == (uint64_t)tm->lock.valid_round)
        return true;
    const s_round_t *cur = s_round_find(tm, tm->round);
    return cur && cur->proposal.known && cur->proposal.valid_round >= 0 &&
           rd->round == (uint64_t)cur->proposal.valid_round;
}

/* The record that may be reused for `round`: a free one, else the oldest below the
 * current round that holds no POL the core may need and is not newer than `round`.
 * NULL when every record is worth more than one for `round`. O(EC_TM_ROUNDS_MAX). */
static s_round_t *s_round_victim(ec_tm_t *tm, uint64_t round)
{
    s_round_t *victim = NULL;
    for (uint32_t i = 0; i < EC_TM_ROUNDS_MAX; i++) {
        s_round_t *rd = &tm->rounds[i];
        if (!rd->used)
            return rd;
        if (rd->round < tm->round && (!victim || rd->round < victim->round) &&
            !s_round_is_pol(tm, rd))
            victim = rd;
    }
    if (victim && round < tm->round && round < victim->round)
        return NULL;
    return victim;
}

/* The record of `round`, made if it is in the window (ec_tm.h, "Votes kept"); NULL for a
 * round the core does not keep. */
static s_round_t *s_round_get(ec_tm_t *tm, uint64_t round)
{
    s_round_t *rd = s_round_find(tm, round);
    if (rd)
        return rd;
    if (round > tm->round && round - tm->round > EC_TM_ROUNDS_AHEAD)
        return NULL;
    rd = s_round_victim(tm, round);
    if (!rd)
        return NULL;
    memset(rd, 0, sizeof(*rd));
    rd->used = true;
    rd->round = round;
    rd->tally[S_PREVOTE].quorum = -1;
    rd->tally[S_PRECOMMIT].quorum = -1;
    return rd;
}

static s_round_t *s_round_current(ec_tm_t *tm)
{
    s_round_t *rd = s_round_find(tm, tm->round);
    assert(rd && "the current round always has a record");
    return rd;
}

/* The value with a quorum in t, or NULL. */
static const s_value_t *s_quorum_value(const s_tally_t *t)
{
    return t->quorum < 0 ? NULL : &t->values[t->quorum];
}

/* True when t has a quorum for the (non-nil) value hash. */
static bool s_quorum_for(const s_tally_t *t, const uint8_t *hash)
{
    const s_value_t *q = s_quorum_value(t);
    return q && !q->nil && memcmp(q->hash, hash, EC_HASH_BYTES) == 0;
}

/* True when a valid proposal for hash is known at rd's round. */
static bool s_valid_proposal(const s_round_t *rd, const uint8_t *hash)
{
    const s_proposal_t *p[2] = {&rd->proposal, &rd->other};
    for (int i = 0; i < 2; i++)
        if (p[i]->known && p[i]->valid && memcmp(p[i]->hash, hash, EC_HASH_BYTES) == 0)
            return true;
    return false;
}

/* Adds power (negative: takes it away) to the value of v in t; a new value takes a free
 * entry. Records the first value to reach a quorum. */
static void s_value_add(const ec_tm_t *tm, s_tally_t *t, const ec_tm_vote_t *v, int64_t power)
{
    uint32_t i = 0, free_entry = t->value_count;
    for (; i < t->value_count; i++) {
        const s_value_t *e = &t->values[i];
        if (s_same_value(e->nil, e->hash, v->nil, v->hash))
            break;
        if (e->power == 0 && (int32_t)i != t->quorum && free_entry == t->value_count)
            free_entry = i;
    }
    if (i == t->value_count) {
        assert(power > 0);
        i = free_entry;
        if (i == t->value_count) {
            assert(i < S_VALUES_MAX && "more counted votes than S_VALUES_MAX");
            t->value_count++;
        }
        t->values[i].nil = v->nil;
        memcpy(t->values[i].hash, v->hash, EC_HASH_BYTES);
        t->values[i].power = 0;
    }
    t->values[i].power = (uint64_t)((int64_t)t->values[i].power + power);
    if (t->quorum < 0 && s_quorum(tm, t->values[i].power))
        t->quorum = (int32_t)i;
}

/* True when a vote for v at rd's round could complete a quorum the core waits for: the
 * hash of a proposal of that round, for prevotes also of the current round's proposal
 * whose POL is at that round ([28]), or the value that already has a quorum. */
static bool s_matters(ec_tm_t *tm, const s_round_t *rd, const s_tally_t *t, const ec_tm_vote_t *v)
{
    if (v->nil)
        return false;
    const s_proposal_t *p[3] = {&rd->proposal, &rd->other, NULL};
    const s_round_t *cur = s_round_find(tm, tm->round);
    if (t == &rd->tally[S_PREVOTE] && cur && cur->proposal.valid_round >= 0 &&
        (uint64_t)cur->proposal.valid_round == rd->round)
        p[2] = &cur->proposal;
    for (int i = 0; i < 3; i++)
        if (p[i] && p[i]->known && memcmp(p[i]->hash, v->hash, EC_HASH_BYTES) == 0)
            return true;
    return s_quorum_for(t, v->hash);
}

/*
 * Counts v at rd's round. A validator's first vote of a (round, type) counts, and so
 * does one vote of it for another value (the paper counts every message received: a
 * quorum for one value and one for another would share more than a third of the power,
 * so counting an equivocator's votes for both is safe, and it keeps it from hiding a POL
 * from some of the others). That second vote is reported, with the first, through
 * out->evidence, once per (round, type, validator). A third value replaces the second
 * only if it matters (s_matters) and the second does not. For "any" quorums and [55]
 * each validator counts once. Returns true when v was counted.
 */
static bool s_vote_count(ec_tm_t *tm, s_round_t *rd, const ec_tm_vote_t *v)
{
    s_tally_t *t = &rd->tally[v->type == EC_VOTE_PREVOTE ? S_PREVOTE : S_PRECOMMIT];
    uint32_t i = v->validator, bit = 1u << i;
    int64_t power = (int64_t)tm->vs.v[i].power;
    if (!(t->held & bit)) {
        t->held |= bit;
        t->first[i] = *v;
        t->power += (uint64_t)power;
        if (!(rd->senders & bit)) {
            rd->senders |= bit;
            rd->senders_power += (uint64_t)power;
        }
        s_value_add(tm, t, v, power);
        return true;
    }
    const ec_tm_vote_t *a = &t->first[i], *b = &t->second[i];
    if (s_same_value(a->nil, a->hash, v->nil, v->hash) ||
        ((t->twice & bit) && s_same_value(b->nil, b->hash, v->nil, v->hash)))
        return false; /* a duplicate */
    if (!(t->twice & bit)) {
        tm->out.evidence(tm->out.ctx, a, v);
        t->twice |= bit;
    } else if (!s_matters(tm, rd, t, v) || s_matters(tm, rd, t, b)) {
        return false;
    } else {
        s_value_add(tm, t, b, -power);
    }
    t->second[i] = *v;
    s_value_add(tm, t, v, power);
    return true;
}

/* ---- outputs ---------------------------------------------------------------------------- */

/* Asks for a vote; the signer record (ec_tm_lock) names it before out->vote runs. */
static void s_vote(ec_tm_t *tm, uint32_t type, const uint8_t *hash)
{
    if (tm->me == EC_TM_NOT_VALIDATOR)
        return;
    tm->lock.voted_round = (int64_t)tm->round;
    tm->lock.voted_type = type;
    tm->out.vote(tm->out.ctx, type, tm->height, tm->round, hash);
}

static void s_schedule(ec_tm_t *tm, ec_tm_timeout_t kind)
{
    const ec_tm_config_t *c = &tm->cfg;
    uint32_t ms = kind == EC_TM_TIMEOUT_PROPOSE
                      ? s_timeout_ms(c->propose_ms, c->propose_delta_ms, tm->round)
                  : kind == EC_TM_TIMEOUT_PREVOTE
                      ? s_timeout_ms(c->prevote_ms, c->prevote_delta_ms, tm->round)
                      : s_timeout_ms(c->precommit_ms, c->precommit_delta_ms, tm->round);
    tm->out.schedule(tm->out.ctx, kind, tm->height, tm->round, ms);
}

/*
 * StartRound [11-21]. The proposer is asked to propose its valid value when it has one
 * from an earlier round (after a restart the valid round may be this one: it then already
 * proposed here, and is asked for a new block, which its signer record answers with the
 * recorded proposal). Unlike the paper, the proposer too schedules timeout_propose: if its
 * driver never produces the proposal, the round still moves on.
 */
static void s_round_start(ec_tm_t *tm, uint64_t round)
{
    tm->round = round;
    tm->step = EC_TM_PROPOSE;
    s_round_t *rd = s_round_get(tm, round);
    assert(rd && "a record below the new round can always be reused");
    (void)rd;
    if (tm->me != EC_TM_NOT_VALIDATOR && ec_tm_proposer(&tm->vs, tm->height, round) == tm->me) {
        bool has_valid = tm->lock.valid_round >= 0 && (uint64_t)tm->lock.valid_round < round;
        tm->out.propose(tm->out.ctx, tm->height, round, has_valid ? tm->lock.valid_round : -1,
                        has_valid ? tm->lock.valid_hash : NULL);
    }
    s_schedule(tm, EC_TM_TIMEOUT_PROPOSE);
}

/* [49-54]: decides when rd holds a precommit quorum for a value with a valid proposal.
 * The precommits passed are every counted one for that value, sorted by validator. */
static bool s_try_decide(ec_tm_t *tm, const s_round_t *rd)
{
    const s_tally_t *t = &rd->tally[S_PRECOMMIT];
    const s_value_t *q = s_quorum_value(t);
    if (tm->decided || !q || q->nil || !s_valid_proposal(rd, q->hash))
        return false;
    uint32_t count = 0;
    for (uint32_t i = 0; i < tm->vs.count; i++) {
        const ec_tm_vote_t *a = &t->first[i], *b = &t->second[i];
        if ((t->held & (1u << i)) && s_same_value(false, q->hash, a->nil, a->hash))
            tm->commit[count++] = *a;
        else if ((t->twice & (1u << i)) && s_same_value(false, q->hash, b->nil, b->hash))
            tm->commit[count++] = *b;
    }
    tm->decided = true;
    tm->out.decide(tm->out.ctx, tm->height, rd->round, q->hash, tm->commit, count);
    return true;
}

/* Asks the driver once for a proposal that a quorum at rd's round names but that the
 * core does not hold as valid: a precommit quorum at any round (it could decide the
 * height), a prevote quorum at the current round or a later one (it could lock). */
static void s_check_need(ec_tm_t *tm, s_round_t *rd)
{
    for (int type = S_PREVOTE; type < S_TYPES; type++) {
        s_tally_t *t = &rd->tally[type];
        const s_value_t *q = s_quorum_value(t);
        if (!q || q->nil || t->need_called || s_valid_proposal(rd, q->hash))
            continue;
        if (type == S_PREVOTE && rd->round < tm->round)
            continue;
        t->need_called = true;
        /* One value can hold both quorums: ask once. */
        const s_tally_t *o = &rd->tally[type == S_PREVOTE ? S_PRECOMMIT : S_PREVOTE];
        if (o->need_called && s_quorum_for(o, q->hash))
            continue;
        tm->out.need(tm->out.ctx, tm->height, rd->round, q->hash);
    }
}

/* ---- the rules of the current round ----------------------------------------------------- */

/* [22-33]: the round's proposal, in step propose. */
static bool s_rule_proposal(ec_tm_t *tm, const s_round_t *rd)
{
    const s_proposal_t *p = &rd->proposal;
    if (tm->step != EC_TM_PROPOSE || !p->known)
        return false;
    const ec_tm_lock_t *l = &tm->lock;
    bool locked_on_v = l->locked_round >= 0 && memcmp(l->locked_hash, p->hash, EC_HASH_BYTES) == 0;
    bool ok;
    if (p->valid_round < 0) {
        ok = l->locked_round < 0 || locked_on_v; /* [23] */
    } else {
        if ((uint64_t)p->valid_round >= tm->round)
            return false; /* no rule takes it: timeout_propose prevotes nil */
        /* [28]: wait for the POL prevotes. */
        const s_round_t *pol = s_round_find(tm, (uint64_t)p->valid_round);
        if (pol && s_quorum_for(&pol->tally[S_PREVOTE], p->hash)) {
            ok = l->locked_round <= p->valid_round || locked_on_v; /* [29] */
        } else {
            /* [23] for v all the same, when it lets v through: the POL only serves to
             * unlock, which this validator does not need unlocked or locked on v, and the
             * same block with no valid round would be judged so. Without it a POL lost
             * to restarts (votes live in memory) could hold the height forever. */
            if (!p->valid || !(l->locked_round < 0 || locked_on_v))
                return false;
            ok = true;
        }
    }
    tm->step = EC_TM_PREVOTE;
    s_vote(tm, EC_VOTE_PREVOTE, ok && p->valid ? p->hash : NULL);
    return true;
}

/* [34-35]: a prevote quorum for anything, step prevote, first time. */
static bool s_rule_prevote_timeout(ec_tm_t *tm, s_round_t *rd)
{
    if (tm->step != EC_TM_PREVOTE || rd->prevote_timeout ||
        !s_quorum(tm, rd->tally[S_PREVOTE].power))
        return false;
    rd->prevote_timeout = true;
    s_schedule(tm, EC_TM_TIMEOUT_PREVOTE);
    return true;
}

/* [36-43]: a valid proposal with a prevote quorum, step >= prevote, first time. The lock
 * and valid value change before out->vote, so the driver persists them with it. */
static bool s_rule_pol(ec_tm_t *tm, s_round_t *rd)
{
    const s_value_t *q = s_quorum_value(&rd->tally[S_PREVOTE]);
    if (tm->step < EC_TM_PREVOTE || rd->pol || !q || q->nil || !s_valid_proposal(rd, q->hash))
        return false;
    rd->pol = true;
    tm->lock.valid_round = (int64_t)tm->round;
    memcpy(tm->lock.valid_hash, q->hash, EC_HASH_BYTES);
    if (tm->step == EC_TM_PREVOTE) {
        tm->lock.locked_round = (int64_t)tm->round;
        memcpy(tm->lock.locked_hash, q->hash, EC_HASH_BYTES);
        tm->step = EC_TM_PRECOMMIT;
        s_vote(tm, EC_VOTE_PRECOMMIT, q->hash);
    }
    return true;
}

/* [44-46]: a prevote quorum for nil, step prevote. */
static bool s_rule_nil(ec_tm_t *tm, const s_round_t *rd)
{
    const s_value_t *q = s_quorum_value(&rd->tally[S_PREVOTE]);
    if (tm->step != EC_TM_PREVOTE || !q || !q->nil)
        return false;
    tm->step = EC_TM_PRECOMMIT;
    s_vote(tm, EC_VOTE_PRECOMMIT, NULL);
    return true;
}

/* [47-48]: a precommit quorum for anything, first time. */
static bool s_rule_precommit_timeout(ec_tm_t *tm, s_round_t *rd)
{
    if (rd->precommit_timeout || !s_quorum(tm, rd->tally[S_PRECOMMIT].power))
        return false;
    rd->precommit_timeout = true;
    s_schedule(tm, EC_TM_TIMEOUT_PRECOMMIT);
    return true;
}

/* Fires the rules of the current round until none applies. Each rule either moves the
 * step forward or sets a first-time flag, so this ends after a handful of passes. */
static void s_run(ec_tm_t *tm)
{
    while (!tm->decided) {
        s_round_t *rd = s_round_current(tm);
        if (s_try_decide(tm, rd))
            return;
        if (!s_rule_proposal(tm, rd) && !s_rule_prevote_timeout(tm, rd) && !s_rule_pol(tm, rd) &&
            !s_rule_nil(tm, rd) && !s_rule_precommit_timeout(tm, rd))
            return;
    }
}

/* After rd (any round) gained a vote or a proposal: [49] at that round, [55] when it is
 * ahead, the proposals to ask for, then the rules of the current round (a vote at an
 * earlier round may complete the POL that [28] waits for). */
static void s_after(ec_tm_t *tm, s_round_t *rd)
{
    if (s_try_decide(tm, rd))
        return;
    if (rd->round > tm->round && s_third(tm, rd->senders_power))
        s_round_start(tm, rd->round);
    s_check_need(tm, rd);
    s_run(tm);
}

/* ---- inputs ----------------------------------------------------------------------------- */

static void s_start(ec_tm_t *tm, const s_input_t *in)
{
    const ec_valset_t *vs = in->u.start.vs;
    const ec_tm_lock_t *l = &in->u.start.lock;
    assert(l->locked_round >= -1 && l->valid_round >= -1 && l->voted_round >= -1);
    assert(l->locked_round < 0 || (uint64_t)l->locked_round <= in->r);
    assert(l->valid_round < 0 || (uint64_t)l->valid_round <= in->r);
    assert(l->voted_round < 0 || (uint64_t)l->voted_round <= in->r);
    assert(l->voted_round < 0 || l->voted_type == EC_VOTE_PREVOTE ||
           l->voted_type == EC_VOTE_PRECOMMIT);
    tm->vs = *vs;
    tm->total_power = 0;
    for (uint32_t i = 0; i < vs->count; i++) {
        assert(vs->v[i].power >= 1 && vs->v[i].power <= EC_VALIDATOR_POWER_MAX);
        tm->total_power += vs->v[i].power;
    }
    tm->me = in->u.start.me;
    tm->lock = *l;
    for (uint32_t i = 0; i < EC_TM_ROUNDS_MAX; i++)
        tm->rounds[i].used = false;
    tm->started = true;
    tm->decided = false;
    tm->height = in->h;
    s_round_start(tm, in->r);
    /* Resuming a round after a restart: skip the steps already signed. The proposal
     * that out->propose may just have fed back is queued, so it sees this step. */
    if (l->voted_round >= 0 && (uint64_t)l->voted_round == in->r)
        tm->step = l->voted_type == EC_VOTE_PREVOTE ? EC_TM_PREVOTE : EC_TM_PRECOMMIT;
    s_run(tm);
}

/*
 * Keeps a proposal for rd's round: the first one of the round; a later one with the same
 * hash may only turn an invalid verdict into a valid one (the driver judged again); one
 * with another hash is kept (once) only if a quorum at the round names it, because only
 * then can it matter ([36], [49]). Returns true when something changed.
 */
static bool s_proposal_keep(s_round_t *rd, const s_input_t *in)
{
    const uint8_t *hash = in->u.proposal.hash;
    s_proposal_t *p = NULL;
    if (!rd->proposal.known)
        p = &rd->proposal;
    else if (memcmp(rd->proposal.hash, hash, EC_HASH_BYTES) == 0)
        p = &rd->proposal;
    else if (rd->other.known && memcmp(rd->other.hash, hash, EC_HASH_BYTES) == 0)
        p = &rd->other;
    else if (!rd->other.known && (s_quorum_for(&rd->tally[S_PREVOTE], hash) ||
                                  s_quorum_for(&rd->tally[S_PRECOMMIT], hash)))
        p = &rd->other;
    if (!p)
        return false;
    if (p->known) {
        if (p->valid || !in->u.proposal.valid)
            return false;
        p->valid = true;
        return true;
    }
    p->known = true;
    p->valid = in->u.proposal.valid;
    p->valid_round = in->u.proposal.valid_round;
    memcpy(p->hash, hash, EC_HASH_BYTES);
    return true;
}

static void s_proposal(ec_tm_t *tm, const s_input_t *in)
{
    if (!tm->started || tm->decided || in->h != tm->height || in->u.proposal.valid_round < -1)
        return;
    s_round_t *rd = s_round_get(tm, in->r);
    if (rd && s_proposal_keep(rd, in))
        s_after(tm, rd);
}

static void s_on_vote(ec_tm_t *tm, const ec_tm_vote_t *v)
{
    if (!tm->started || tm->decided || v->height != tm->height || v->validator >= tm->vs.count ||
        (v->type != EC_VOTE_PREVOTE && v->type != EC_VOTE_PRECOMMIT))
        return;
    s_round_t *rd = s_round_get(tm, v->round);
    if (!rd || !s_vote_count(tm, rd, v))
        return;
    /* A vote with our own key at the current round, ahead of our step, was signed before
     * a restart (the driver fed its record back) or by another process holding our key:
     * take the step it proves without voting again, so we never sign a second one. */
    if (v->validator == tm->me && v->round == tm->round) {
        if (v->type == EC_VOTE_PREVOTE && tm->step == EC_TM_PROPOSE)
            tm->step = EC_TM_PREVOTE;
        else if (v->type == EC_VOTE_PRECOMMIT && tm->step != EC_TM_PRECOMMIT)
            tm->step = EC_TM_PRECOMMIT;
    }
    s_after(tm, rd);
}

/* [57-65] */
static void s_timeout(ec_tm_t *tm, const s_input_t *in)
{
    if (!tm->started || tm->decided || in->h != tm->height || in->r != tm->round)
        return;
    switch (in->u.timeout) {
        case EC_TM_TIMEOUT_PROPOSE:
            if (tm->step != EC_TM_PROPOSE)
                return;
            tm->step = EC_TM_PREVOTE;
            s_vote(tm, EC_VOTE_PREVOTE, NULL);
            break;
        case EC_TM_TIMEOUT_PREVOTE:
            if (tm->step != EC_TM_PREVOTE)
                return;
            tm->step = EC_TM_PRECOMMIT;
            s_vote(tm, EC_VOTE_PRECOMMIT, NULL);
            break;
        case EC_TM_TIMEOUT_PRECOMMIT:
            s_round_start(tm, tm->round + 1);
            break;
        default:
            assert(!"unknown timeout kind");
    }
    s_run(tm);
}

static void s_dispatch(ec_tm_t *tm, const s_input_t *in)
{
    switch (in->kind) {
        case S_IN_START:
            s_start(tm, in);
            break;
        case S_IN_PROPOSAL:
            s_proposal(tm, in);
            break;
        case S_IN_VOTE:
            s_on_vote(tm, &in->u.vote);
            break;
        case S_IN_TIMEOUT:
            s_timeout(tm, in);
            break;
    }
}

/*
 * Processes an input, or queues it when it was made from inside an output. The outer call
 * then processes the queue in order before it returns, so outputs never run core code
 * and every input sees the state its predecessors left. A queued start's valset lives in
 * tm->queued_vs until it is processed.
 */
static void s_submit(ec_tm_t *tm, const s_input_t *in)
{
    if (tm->busy) {
        assert(tm->queue_count < EC_TM_QUEUE_MAX && "too many inputs from inside outputs");
        tm->queue[(tm->queue_head + tm->queue_count) % EC_TM_QUEUE_MAX] = *in;
        tm->queue_count++;
        return;
    }
    tm->busy = true;
    s_dispatch(tm, in);
    while (tm->queue_count > 0) {
        s_input_t next = tm->queue[tm->queue_head];
        tm->queue_head = (tm->queue_head + 1) % EC_TM_QUEUE_MAX;
        tm->queue_count--;
        s_dispatch(tm, &next);
        if (next.kind == S_IN_START && next.u.start.vs == &tm->queued_vs)
            tm->queued_vs_used = false;
    }
    tm->busy = false;
}

void ec_tm_start(ec_tm_t *tm, uint64_t h, const ec_valset_t *vs, uint32_t me, uint64_t round,
                 const ec_tm_lock_t *lock)
{
    assert(tm && vs);
    assert(vs->count >= 1 && vs->count <= EC_VALIDATORS_MAX);
    assert(me < vs->count || me == EC_TM_NOT_VALIDATOR);
    s_input_t in = {.kind = S_IN_START, .h = h, .r = round};
    in.u.start.me = me;
    in.u.start.vs = vs;
    if (lock) {
        in.u.start.lock = *lock;
    } else {
        in.u.start.lock.locked_round = -1;
        in.u.start.lock.valid_round = -1;
        in.u.start.lock.voted_round = -1;
    }
    if (tm->busy) {
        assert(!tm->queued_vs_used && "a second ec_tm_start from inside outputs");
        tm->queued_vs = *vs;
        tm->queued_vs_used = true;
        in.u.start.vs = &tm->queued_vs;
    }
    s_submit(tm, &in);
}

void ec_tm_on_proposal(ec_tm_t *tm, uint64_t h, uint64_t r, int64_t valid_round,
                       const uint8_t hash[EC_HASH_BYTES], bool valid)
{
    assert(tm && hash);
    s_input_t in = {.kind = S_IN_PROPOSAL, .h = h, .r = r};
    in.u.proposal.valid_round = valid_round;
    in.u.proposal.valid = valid;
    memcpy(in.u.proposal.hash, hash, EC_HASH_BYTES);
    s_submit(tm, &in);
}

void ec_tm_on_vote(ec_tm_t *tm, const ec_tm_vote_t *v)
{
    assert(tm && v);
    s_input_t in = {.kind = S_IN_VOTE, .h = v->height, .r = v->round};
    in.u.vote = *v;
    /* One spelling of nil, so that values compare with memcmp. */
    if (in.u.vote.nil)
        memset(in.u.vote.hash, 0, EC_HASH_BYTES);
    s_submit(tm, &in);
}

void ec_tm_on_timeout(ec_tm_t *tm, ec_tm_timeout_t kind, uint64_t h, uint64_t r)
{
    assert(tm);
    assert(kind == EC_TM_TIMEOUT_PROPOSE || kind == EC_TM_TIMEOUT_PREVOTE ||
           kind == EC_TM_TIMEOUT_PRECOMMIT);
    s_input_t in = {.kind = S_IN_TIMEOUT, .h = h, .r = r};
    in.u.timeout = kind;
    s_submit(tm, &in);
}

/* ---- state ------------------------------------------------------------------------------ */

uint64_t ec_tm_height(const ec_tm_t *tm)
{
    return tm->height;
}

uint64_t ec_tm_round(const ec_tm_t *tm)
{
    return tm->round;
}

ec_tm_step_t ec_tm_step(const ec_tm_t *tm)
{
    return tm->step;
}

bool ec_tm_decided(const ec_tm_t *tm)
{
    return tm->decided;
}

void ec_tm_lock(const ec_tm_t *tm, ec_tm_lock_t *out)
{
    assert(tm && out);
    *out = tm->lock;
}

bool ec_tm_holds(const ec_tm_t *tm, const ec_tm_vote_t *v)
{
    assert(tm && v);
    if (!tm->started || v->height != tm->height || v->validator >= tm->vs.count ||
        (v->type != EC_VOTE_PREVOTE && v->type != EC_VOTE_PRECOMMIT))
        return false;
    const s_round_t *rd = s_round_find((ec_tm_t *)tm, v->round);
    if (!rd)
        return false;
    const s_tally_t *t = &rd->tally[v->type == EC_VOTE_PREVOTE ? S_PREVOTE : S_PRECOMMIT];
    uint32_t bit = 1u << v->validator;
    const ec_tm_vote_t *held[2] = {(t->held & bit) ? &t->first[v->validator] : NULL,
                                   (t->twice & bit) ? &t->second[v->validator] : NULL};
    for (int i = 0; i < 2; i++)
        if (held[i] && held[i]->nil == v->nil &&
            (v->nil || memcmp(held[i]->hash, v->hash, EC_HASH_BYTES) == 0) &&
            memcmp(held[i]->sig, v->sig, EC_SIG_BYTES) == 0)
            return true;
    return false;
}

uint32_t ec_tm_votes(const ec_tm_t *tm, uint64_t round, uint32_t type, ec_tm_vote_t *out,
                     uint32_t max)
{
    assert(tm && (out || max == 0));
    assert(type == EC_VOTE_PREVOTE || type == EC_VOTE_PRECOMMIT);
    const s_round_t *rd = s_round_find((ec_tm_t *)tm, round);
    if (!tm->started || !rd)
        return 0;
    const s_tally_t *t = &rd->tally[type == EC_VOTE_PREVOTE ? S_PREVOTE : S_PRECOMMIT];
    uint32_t n = 0;
    for (uint32_t i = 0; i < tm->vs.count; i++) {
        if ((t->held & (1u << i)) && n < max)
            out[n++] = t->first[i];
        if ((t->twice & (1u << i)) && n < max)
            out[n++] = t->second[i];
    }
    return n;
}

/* ---- proposer --------------------------------------------------------------------------- */

static uint64_t s_gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Divides w[0..n) by their greatest common divisor; returns their new total. */
static uint64_t s_reduce(uint64_t *w, uint32_t n)
{
    uint64_t g = 0, total = 0;
    for (uint32_t i = 0; i < n; i++)
        g = s_gcd(g, w[i]);
    for (uint32_t i = 0; i < n; i++) {
        w[i] /= g;
        total += w[i];
    }
    return total;
}

/* The proposer weights of vs (ec_tm.h): powers divided by their gcd and, if their total
 * exceeds EC_TM_PROPOSER_PERIOD_MAX, scaled down to about it (each at least 1) and divided
 * by their gcd again. Returns their total, at most EC_TM_PROPOSER_PERIOD_MAX + count. */
static uint64_t s_weights(const ec_valset_t *vs, uint64_t w[EC_VALIDATORS_MAX])
{
    for (uint32_t i = 0; i < vs->count; i++) {
        assert(vs->v[i].power >= 1 && vs->v[i].power <= EC_VALIDATOR_POWER_MAX);
        w[i] = vs->v[i].power;
    }
    uint64_t total = s_reduce(w, vs->count);
    if (total <= EC_TM_PROPOSER_PERIOD_MAX)
        return total;
    for (uint32_t i = 0; i < vs->count; i++) {
        /* w < 2^48 and the factor 2^10: the product fits. */
        w[i] = w[i] * EC_TM_PROPOSER_PERIOD_MAX / total;
        if (w[i] == 0)
            w[i] = 1;
    }
    return s_reduce(w, vs->count);
}

uint32_t ec_tm_proposer(const ec_valset_t *vs, uint64_t h, uint64_t r)
{
    assert(vs && vs->count >= 1 && vs->count <= EC_VALIDATORS_MAX);
    uint64_t w[EC_VALIDATORS_MAX];
    uint64_t total = s_weights(vs, w);
    uint64_t slot = (h % total + r % total) % total;
    /* Credits stay within (-total, total]: they always sum to zero after a step. */
    int64_t credit[EC_VALIDATORS_MAX] = {0};
    uint32_t pick = 0;
    for (uint64_t s = 0; s <= slot; s++) {
        pick = 0;
        for (uint32_t i = 0; i < vs->count; i++) {
            credit[i] += (int64_t)w[i];
            if (credit[i] > credit[pick])
                pick = i;
        }
        credit[pick] -= (int64_t)total;
    }
    return pick;
}
