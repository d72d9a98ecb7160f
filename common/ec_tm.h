/*
 * ec_tm.h - Tendermint consensus for one height at a time (Buchman, Kwon, Milosevic,
 * "The latest gossip on BFT consensus", arXiv 1807.04938, Algorithm 1), as a pure state
 * machine: no clock, no network, no storage, no signatures, no allocation after
 * ec_tm_new. Inputs are method calls (a proposal became known, a vote arrived, a timeout
 * fired); outputs are calls into an ec_tm_out_t table (propose, vote, schedule a timeout,
 * decide, report evidence, ask for a missing proposal). The same inputs in the same order
 * give the same outputs, so the core runs unchanged in the node and in the simulator.
 *
 * Division of labour with its driver (the engine):
 * - The driver verifies every signature before a vote reaches the core, and decides a
 *   proposal's validity (it executes the block and compares the header) before calling
 *   ec_tm_on_proposal with `valid` set: the core never sees an unverified message.
 * - The driver passes a proposal only if the proposer of its (h, r) (ec_tm_proposer)
 *   signed it; the core cannot tell who sent it.
 * - When the core calls out->vote or out->propose, the driver persists the signer record
 *   (with ec_tm_lock) before anything signed leaves, signs, sends to its peers and then
 *   feeds its own message back through ec_tm_on_vote / ec_tm_on_proposal, like any other.
 *   The core does not count its own vote until then. When an output is called, the
 *   core's state (round, step, lock, valid value) already includes the transition that
 *   called it, so ec_tm_lock inside out->vote gives what must be persisted.
 * - Values are block hashes (32 bytes). A vote for nil has `nil` set; its hash is ignored.
 * - A node outside the validator set (me == EC_TM_NOT_VALIDATOR) follows the rounds and
 *   decides like the others but is never asked to propose or vote.
 *
 * Re-entrancy: the driver may call any input (ec_tm_start, ec_tm_on_*) from inside an
 * output, e.g. feed its own vote back from inside out->vote or start h + 1 from inside
 * out->decide. Such a call is queued and returns at once; the input call that is running
 * processes the queue in order before it returns, exactly as if the driver had made those
 * calls right after it. So an output never sees the core half-way through a rule, and
 * the state getters inside an output show the state before the queued inputs. The queue
 * holds EC_TM_QUEUE_MAX inputs: one input makes at most about ten outputs, so a driver
 * that answers each output with at most one input stays far below; overflowing it, a
 * second ec_tm_start queued before the first was processed, and ec_tm_destroy from
 * inside an output are driver bugs (asserted).
 *
 * Restart: the driver calls ec_tm_start with the height and round of its signer record
 * and the ec_tm_lock_t it persisted with its last signature. When lock->voted_round is
 * that round the core resumes it at step prevote (it had prevoted) or precommit (it had
 * precommitted) instead of propose, so it never asks again for a vote it already signed
 * there; later rounds it never reached hold no signature. The proposer of the resumed
 * round is asked to propose again; a driver that already signed a proposal at (h, r)
 * re-sends that one, whatever it is asked. (The paper needs no such rule: its processes
 * do not crash and come back.)
 * In addition, a vote signed with this validator's own key at the current round, ahead of
 * its step, moves the step past it without voting: the driver may feed its recorded vote
 * back too, and a second process wrongly running the same key makes this one sign less.
 *
 * Rules (the paper's line numbers in brackets):
 *   quorum     a set of votes whose power p has 3p > 2 * total      ("2f+1")
 *   any third  power p with 3p > total                              ("f+1")
 *   start round r [11-21]: round = r, step = propose; the proposer (ec_tm_proposer) gets
 *     out->propose(h, r, valid_round, valid value) if it has a valid value from a round
 *     below r, else out->propose(h, r, -1, NULL); everyone, the proposer too (unlike the
 *     paper: a driver that fails to produce its proposal must not stall the round),
 *     schedules timeout_propose(r).
 *   [22-27] proposal (h, r, v, vr = -1), step propose: prevote v if valid and (not locked
 *     or locked on v), else nil; step = prevote.
 *   [28-33] proposal (h, r, v, vr >= 0) with a prevote quorum for v at round vr < r, step
 *     propose: prevote v if valid and (locked_round <= vr or locked on v), else nil.
 *     Until that quorum is known, a valid v is prevoted for at once when not locked or
 *     locked on v ([23] for v: the same block with vr = -1, which any proposer may send,
 *     would be, so this is as safe; the POL only serves to unlock, and one lost to
 *     restarts, whose votes live in memory, must not hold the height forever); otherwise
 *     nothing happens. A proposal with vr >= r is never prevoted for (timeout_propose
 *     prevotes nil).
 *   [34-35] a prevote quorum for anything at r, step prevote, first time:
 *     schedule timeout_prevote(r).
 *   [36-43] proposal (h, r, v) valid with a prevote quorum for v at r, step >= prevote,
 *     first time: if step is prevote, lock on v at r, precommit v, step = precommit; in
 *     any case valid value = v, valid round = r.
 *   [44-46] a prevote quorum for nil at r, step prevote: precommit nil, step = precommit.
 *   [47-48] a precommit quorum for anything at r, first time: schedule timeout_precommit.
 *   (Rules [22]-[48] concern the current round r only.)
 *   [49-54] a valid proposal v of any round r with a precommit quorum for v at r, not yet
 *     decided: out->decide(h, r, v, the quorum's precommits). The core then stops; the
 *     driver commits the block and calls ec_tm_start for h + 1.
 *   [55-56] votes (prevotes and precommits, each validator once) from validators
 *     holding any third of the power at a round r' > round: start round r'.
 *   [57-65] timeouts: propose -> prevote nil; prevote -> precommit nil; precommit ->
 *     start round + 1. A timeout for another height, round or step is ignored.
 * Timeouts grow with the round: base + round * delta, per kind (ec_tm_config_t).
 *
 * Votes kept: votes and proposals of the rounds in [round, round + EC_TM_ROUNDS_AHEAD],
 * plus those of rounds below the current one while there is room (EC_TM_ROUNDS_MAX
 * rounds in all; to make room the oldest round below the current one is dropped, never
 * the POL round of the valid value or of the current proposal, and never for a round
 * older than itself). A vote for a round out of that window is ignored (its sender
 * repeats it).
 *
 * Gossip: the paper's liveness assumes that a message received by one correct process
 * is eventually received by every correct one; re-sending only one's own votes is not
 * enough. The driver must (1) send, with a proposal whose valid round is vr, the prevotes
 * it holds at vr ([28] needs that POL, and peers re-send only their current round); and
 * (2) relay to a peer at a lower round of the same height (its STATUS) the votes it
 * holds for that round and for its own (ec_tm_votes): a node that left a round on a
 * precommit quorum that included a crashed validator's precommit, which only it
 * received, otherwise strands the others there for good (the simulation in
 * tests/unit/test_tm.c found that too).
 *
 * Evidence: two votes of one validator for one (height, round, type) with different
 * values (nil counts as a value) are reported once per (round, type, validator) through
 * out->evidence. Both count, each for its own value, as in the paper (which counts every
 * message received): two quorums for different values would share more than a third of
 * the power, so an honest validator would have voted twice, and counting only the first
 * would let an equivocator show a POL to some validators and hide it from others, which
 * can stall the height for good (the simulation in tests/unit/test_tm.c found that). The
 * core keeps a validator's first vote and one conflicting vote per (round, type); a
 * further value replaces the conflicting one only when it completes something the core
 * waits for (the hash of a proposal of that round, or of the current proposal whose
 * valid round it is, or the value with a quorum) and the kept one does not. For "a
 * quorum for anything" and [55] each validator counts once.
 *
 * Proposals: the first proposal of a round is the one [22-33] act on. A later one with
 * the same hash only turns an invalid verdict into a valid one (the driver may judge
 * again, e.g. once its clock caught up with the block's time). One with another hash
 * (an equivocating proposer) is kept, once per round, only if a quorum at that round
 * names it, for [36] and [49]; otherwise it is dropped and, if a quorum names it later,
 * out->need asks for it again.
 *
 * Missing proposals: when a precommit quorum at any kept round, or a prevote quorum at
 * the current round or a later one, names a value for which no valid proposal is known,
 * out->need(h, r, hash) is called once per (round, hash) so the driver can fetch it from
 * a peer; it then arrives through ec_tm_on_proposal.
 *
 * Arithmetic: powers are 1..EC_VALIDATOR_POWER_MAX and there are at most
 * EC_VALIDATORS_MAX validators, so 3 * total power < 2^55 and no sum overflows.
 */
#ifndef EC_TM_H
#define EC_TM_H

#include <stdbool.h>
#include <stdint.h>

#include "ec_crypto.h"
#include "ec_types.h"

#define EC_TM_ROUNDS_AHEAD 8 /* rounds above the current one whose votes are kept       */
#define EC_TM_ROUNDS_MAX 32  /* rounds whose votes are kept at all                     */
#define EC_TM_QUEUE_MAX 64   /* inputs made from inside outputs, waiting               */
#define EC_TM_VOTES_MAX (2 * EC_VALIDATORS_MAX) /* votes held per (round, type)        */
#define EC_TM_NOT_VALIDATOR UINT32_MAX          /* `me` of a node outside the set      */

typedef enum { EC_TM_PROPOSE = 1, EC_TM_PREVOTE = 2, EC_TM_PRECOMMIT = 3 } ec_tm_step_t;

typedef enum {
    EC_TM_TIMEOUT_PROPOSE = 1,
    EC_TM_TIMEOUT_PREVOTE = 2,
    EC_TM_TIMEOUT_PRECOMMIT = 3,
} ec_tm_timeout_t;

/* A vote as the core sees it (signature verified by the driver, kept to build commits
 * and evidence): the signed vote of ec_types.h. type is EC_VOTE_PREVOTE or
 * EC_VOTE_PRECOMMIT. */
typedef ec_vote_t ec_tm_vote_t;

typedef struct {
    uint32_t propose_ms, propose_delta_ms;
    uint32_t prevote_ms, prevote_delta_ms;
    uint32_t precommit_ms, precommit_delta_ms;
} ec_tm_config_t;

/* The core's outputs: all must be set. Every function is called from inside an ec_tm_*
 * input call; pointers passed to it are valid only during the call. */
typedef struct {
    void *ctx;
    /* This validator proposes at (h, r): the valid value (valid_round >= 0 and its hash),
     * or a new block when valid_hash is NULL. */
    void (*propose)(void *ctx, uint64_t h, uint64_t r, int64_t valid_round,
                    const uint8_t *valid_hash);
    /* This validator votes (type, h, r) for hash, or for nil when hash is NULL. */
    void (*vote)(void *ctx, uint32_t type, uint64_t h, uint64_t r, const uint8_t *hash);
    /* Call ec_tm_on_timeout(kind, h, r) after delay_ms. */
    void (*schedule)(void *ctx, ec_tm_timeout_t kind, uint64_t h, uint64_t r, uint32_t delay_ms);
    /* Height h is decided: the block with this hash, at round r, with these precommits
     * (sorted by validator, every one for hash at (h, r); together a quorum). */
    void (*decide)(void *ctx, uint64_t h, uint64_t r, const uint8_t hash[EC_HASH_BYTES],
                   const ec_tm_vote_t *precommits, uint32_t count);
    /* Validator a.validator signed both a and b (same height, round, type). */
    void (*evidence)(void *ctx, const ec_tm_vote_t *a, const ec_tm_vote_t *b);
    /* A quorum names `hash` at (h, r) but no valid proposal for it is known. */
    void (*need)(void *ctx, uint64_t h, uint64_t r, const uint8_t hash[EC_HASH_BYTES]);
} ec_tm_out_t;

/* What the signer record must remember of the core (persisted before each signature):
 * the paper's lock and valid value, and the last vote the core asked for at this height,
 * so that a restarted core resumes its round past the steps it already signed. */
typedef struct {
    int64_t locked_round; /* -1: not locked                                          */
    uint8_t locked_hash[EC_HASH_BYTES];
    int64_t valid_round; /* -1: no valid value                                       */
    uint8_t valid_hash[EC_HASH_BYTES];
    int64_t voted_round; /* round of the last vote asked for; -1: none this height   */
    uint32_t voted_type; /* its type (EC_VOTE_PREVOTE / _PRECOMMIT); 0 when none      */
} ec_tm_lock_t;

typedef struct ec_tm ec_tm_t;

/* Makes a core (its validator index is given per height, ec_tm_start); cfg and out are
 * copied. Allocates every vote record it will ever use (about 720 KiB), so nothing is
 * allocated afterwards. NULL when memory is exhausted. */
ec_tm_t *ec_tm_new(const ec_tm_config_t *cfg, const ec_tm_out_t *out);
/* Frees the core and NULLs *self_p; idempotent. Not from inside an output. */
void ec_tm_destroy(ec_tm_t **self_p);

/*
 * Starts height h with validator set vs (copied; 1..EC_VALIDATORS_MAX validators of power
 * 1..EC_VALIDATOR_POWER_MAX) and `me` its index (EC_TM_NOT_VALIDATOR when this node is
 * not in it), at round `round` with the lock state `lock` (NULL: none; its rounds must be
 * -1 or at most `round`). After a restart the driver passes what its signer record
 * holds, so a validator resumes the height and round it was in, still locked on what it
 * had locked (see "Restart" above). Forgets every vote and proposal of the previous
 * height. Calls out->propose / out->schedule for the round it starts. Inputs made before
 * the first ec_tm_start are ignored.
 */
void ec_tm_start(ec_tm_t *tm, uint64_t h, const ec_valset_t *vs, uint32_t me, uint64_t round,
                 const ec_tm_lock_t *lock);

/* A proposal for (h, r) with hash and valid_round (-1 for none), judged `valid` by the
 * driver. Ignored for another height, a valid_round below -1, a round out of the window
 * (see "Votes kept") and once decided; for a future round it is kept for when the core
 * gets there. Which proposals of a round count: see "Proposals" above. */
void ec_tm_on_proposal(ec_tm_t *tm, uint64_t h, uint64_t r, int64_t valid_round,
                       const uint8_t hash[EC_HASH_BYTES], bool valid);
/* A vote with a verified signature. Ignored for another height, a validator index out of
 * the set, a type other than EC_VOTE_PREVOTE / EC_VOTE_PRECOMMIT, a round out of the
 * window and once decided. */
void ec_tm_on_vote(ec_tm_t *tm, const ec_tm_vote_t *v);
/* A timeout scheduled earlier fired (kind, h and r as scheduled). */
void ec_tm_on_timeout(ec_tm_t *tm, ec_tm_timeout_t kind, uint64_t h, uint64_t r);

/* State, for the driver, status and tests. ec_tm_decided stays true from out->decide
 * until the next ec_tm_start; the core ignores every input in between. */
uint64_t ec_tm_height(const ec_tm_t *tm);
uint64_t ec_tm_round(const ec_tm_t *tm);
ec_tm_step_t ec_tm_step(const ec_tm_t *tm);
bool ec_tm_decided(const ec_tm_t *tm);
void ec_tm_lock(const ec_tm_t *tm, ec_tm_lock_t *out);
/* The votes this core holds for (round, type) of the current height, also after it
 * decided, for re-sending to peers that missed them: each validator's first vote and,
 * after an equivocation, the other one it counts (so up to EC_TM_VOTES_MAX). Fills up to
 * max votes into out, in validator order, and returns how many. */
uint32_t ec_tm_votes(const ec_tm_t *tm, uint64_t round, uint32_t type, ec_tm_vote_t *out,
                     uint32_t max);
/* True when the core already holds exactly v (same height, round, type, validator, value
 * and signature): the driver may then skip checking its signature again (relayed votes
 * arrive many times). */
bool ec_tm_holds(const ec_tm_t *tm, const ec_tm_vote_t *v);

/*
 * The proposer of (h, r) in vs: slot s = h + r of a smooth weighted round robin (each
 * step every validator's credit grows by its power, the one with the most credit
 * proposes, ties to the lower index, and its credit drops by the total), so over any run
 * of slots each validator proposes in proportion to its power and consecutive slots
 * rotate. Powers are first divided by their greatest common divisor and, if their total
 * still exceeds EC_TM_PROPOSER_PERIOD_MAX, scaled down to about that total (each
 * floor(w * EC_TM_PROPOSER_PERIOD_MAX / total), at least 1) and divided by their gcd
 * again; the sequence then repeats every `total` slots, and slot s is slot s mod total.
 * With equal powers the proposer of slot s is s mod n.
 * Deterministic, computed from vs and (h, r) alone: every node agrees without shared
 * state. O(EC_TM_PROPOSER_PERIOD_MAX * n) at worst.
 */
#define EC_TM_PROPOSER_PERIOD_MAX 1024u
uint32_t ec_tm_proposer(const ec_valset_t *vs, uint64_t h, uint64_t r);

#endif
