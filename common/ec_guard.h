/*
 * ec_guard.h - the node's guard record: a few hundred bytes kept OUTSIDE RocksDB, synced to
 * disk before anything it covers is acted on. It holds
 *
 *   - the highest block this node ever committed (height and block hash), rewritten after
 *     every block's synced ledger write, so a store that silently lost committed data (a
 *     damaged write-ahead log, a missing table file, a data folder restored from an old
 *     copy) is caught at start: the store must reach this height with this hash;
 *   - the consensus signer record: the last (height, round, step) this validator signed,
 *     what it signed and the signature, plus its lock and valid value, rewritten before any
 *     signed consensus message leaves the process ("persist before you speak"), so a
 *     restarted validator resumes the height it was in and never signs two different
 *     things at one height, round and step.
 *
 * A record made new (a first start, or a data folder lost) is marked "new": the validator
 * cannot know what it signed before, so the engine has it abstain up to a height it
 * learns from its peers and records here (abstain_until) before it signs anything; the
 * mark and the bound survive restarts (docs/CONSENSUS.md section 4).
 *
 * Keeping it apart from the ledger is the point: whatever damages RocksDB's files leaves
 * this file alone (and the reverse), so each checks the other.
 *
 * File layout: two slots of EC_GUARD_SLOT_BYTES at offsets 0 and EC_GUARD_SLOT_STRIDE.
 * A save writes the slot the previous save did not use and then fdatasync()s, so a write
 * torn by a power cut damages at most the slot being written and the other still holds the
 * previous record. On load the valid slot with the higher sequence number wins.
 *
 *   offset size  meaning (integers big-endian)
 *        0    8  magic "ecguard" followed by the format version (2)
 *        8    8  sequence number of this save (the file's first save is 1)
 *       16    8  committed height (0: nothing committed yet)
 *       24   32  committed block hash (zero at height 0)
 *       56    8  signed height (0: nothing signed yet)
 *       64    8  signed round
 *       72    1  signed step (EC_GUARD_STEP_*)
 *       73    1  flags: bit 0 = the signed vote is for nil
 *       74   32  signed value: the block hash signed (zero for nil)
 *      106   64  the signature that was sent
 *      170    8  locked round + 1 (0: not locked)
 *      178   32  locked block hash
 *      210    8  valid round + 1 (0: none)
 *      218   32  valid block hash
 *      250    8  round of the last vote signed at the signed height + 1 (0: none)
 *      258    1  its type (EC_VOTE_PREVOTE, EC_VOTE_PRECOMMIT; 0 when none)
 *      259   29  zero
 *      288    8  round of the last prevote signed at the signed height + 1 (0: none)
 *      296    1  flags: bit 0 = that prevote is for nil
 *      297   32  its block hash (zero for nil)
 *      329   64  its signature
 *      393    1  flags: bit 0 = a new record whose abstain bound is not known yet
 *      394    8  abstain until this height (0: nowhere)
 *      402   78  zero
 *      480   32  SHA-256 of bytes 0..479
 *
 * The last prevote is kept beside the last message because a validator that precommitted
 * and then restarted must be able to send its prevote of that round again: without it,
 * peers that never received it may lack the votes they need to leave the round.
 *
 * Threads: one owner (the node's core thread); no locking.
 */
#ifndef EC_GUARD_H
#define EC_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#include "ec_crypto.h"
#include "ec_err.h"

#define EC_GUARD_FILE "guard"     /* its name inside a data folder                     */
#define EC_GUARD_PATH_MAX 4200    /* a data folder path plus "/guard"                  */
#define EC_GUARD_SLOT_BYTES 512   /* one record                                        */
#define EC_GUARD_SLOT_STRIDE 4096 /* the second slot's offset: another page            */

enum {
    EC_GUARD_STEP_NONE = 0,
    EC_GUARD_STEP_PROPOSAL = 1,
    EC_GUARD_STEP_PREVOTE = 2,
    EC_GUARD_STEP_PRECOMMIT = 3,
};

typedef struct {
    uint64_t committed_height;             /* highest height durably committed       */
    uint8_t committed_hash[EC_HASH_BYTES]; /* its block hash (genesis hash at 0)      */
    uint64_t signed_height;                /* last consensus message signed: height   */
    uint64_t signed_round;                 /* ... round                               */
    uint8_t signed_step;                   /* ... EC_GUARD_STEP_*                     */
    bool signed_nil;                       /* ... a vote for nil                      */
    uint8_t signed_hash[EC_HASH_BYTES];    /* ... the block hash signed               */
    uint8_t signed_sig[EC_SIG_BYTES];      /* ... the signature that left             */
    int64_t locked_round;                  /* -1 when not locked                      */
    uint8_t locked_hash[EC_HASH_BYTES];    /* the locked block                        */
    int64_t valid_round;                   /* -1 when there is no valid value         */
    uint8_t valid_hash[EC_HASH_BYTES];     /* the valid block                         */
    int64_t voted_round;                   /* last vote signed at signed_height, -1   */
    uint8_t voted_type;                    /* its EC_VOTE_* type, 0 when none         */
    int64_t prevote_round;                 /* last prevote signed at signed_height, -1 */
    bool prevote_nil;                      /* ... for nil                             */
    uint8_t prevote_hash[EC_HASH_BYTES];   /* ... its block hash                      */
    uint8_t prevote_sig[EC_SIG_BYTES];     /* ... its signature                       */
    bool fresh;                            /* a new record, abstain bound not known   */
    uint64_t abstain_until;                /* sign nothing at heights <= this          */
} ec_guard_state_t;

/* Storage for a guard that lives in memory instead of a file: the simulator keeps one per
 * simulated node so that the record survives the node's simulated crashes. Zero it first. */
typedef struct {
    uint8_t bytes[EC_GUARD_SLOT_STRIDE + EC_GUARD_SLOT_BYTES];
    bool exists; /* a save happened                                                     */
} ec_guard_mem_t;

typedef struct ec_guard ec_guard_t;

/*
 * Opens the guard file at `path`. When the file does not exist and `create` is true it is
 * created (mode 0600, synced, its folder synced too) holding an all-zero state with
 * locked_round = valid_round = -1 and fresh set, and *created is set. Returns NULL with st set on
 * failure: EC_ENOTFOUND (missing and !create), EC_EIO (cannot read or write), or EC_EIO
 * naming the damage when neither slot holds a valid record (the file is never
 * "repaired": a damaged guard means the node cannot prove what it did).
 */
ec_guard_t *ec_guard_open(const char *path, bool create, bool *created, ec_status_t *st);
/* The same over memory (simulator). Never fails except on allocation (NULL). */
ec_guard_t *ec_guard_open_mem(ec_guard_mem_t *mem, bool *created);
/* Closes the file and frees; NULLs *self_p. Idempotent. */
void ec_guard_destroy(ec_guard_t **self_p);

/* The current record (borrowed; valid until the next save). */
const ec_guard_state_t *ec_guard_state(const ec_guard_t *g);
/*
 * Durably replaces the record: returns only after the new slot is on stable storage
 * (fdatasync). Returns 0 or EC_EIO with st set; on EC_EIO the record in memory is
 * unchanged and the node must stop (it can no longer promise what it signed).
 */
EC_WUR int ec_guard_save(ec_guard_t *g, const ec_guard_state_t *s, ec_status_t *st);
/* Number of saves since open (tests and metrics). */
uint64_t ec_guard_saves(const ec_guard_t *g);

/* A fresh record: nothing committed at `genesis_hash`, nothing signed, no lock. */
void ec_guard_state_init(ec_guard_state_t *s, const uint8_t genesis_hash[EC_HASH_BYTES]);

#endif
