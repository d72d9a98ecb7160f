/*
 * ec_mlog.h - an append-only RFC 9162 Merkle log kept in the ledger's EC_CF_MERKLE column
 * family: the chain history (hist_root) and the main chain's identity/role records log.
 *
 * Every perfect subtree node is stored once, keyed log id | level | index, when it becomes
 * complete (one leaf write plus, amortised, one node write per append). The size is kept in
 * EC_CF_META under "mlog/<id>/size". A root for any size, and inclusion and consistency
 * proofs, then cost O(log^2 n) reads. Appends go into the ledger's pending batch, so they
 * commit atomically with the block and roll back with it.
 */
#ifndef EC_MLOG_H
#define EC_MLOG_H

#include <stdint.h>

#include "ec_ledger.h"
#include "ec_merkle.h"

enum { EC_MLOG_HIST = 'h', EC_MLOG_RECORDS = 'r' };

/* ---- pending side (commit thread) ------------------------------------------------------- */

/* Size of the log including pending appends. Returns 0 or EC_EIO. */
EC_WUR int ec_mlog_size(ec_ledger_t *l, uint8_t log_id, uint64_t *size);
/* Appends one leaf hash to the pending batch. Returns 0 or EC_EIO. */
EC_WUR int ec_mlog_append(ec_ledger_t *l, uint8_t log_id, const uint8_t leaf[EC_HASH_BYTES]);
/* Root over all leaves including pending appends (SHA-256("") when empty). 0 or EC_EIO. */
EC_WUR int ec_mlog_root(ec_ledger_t *l, uint8_t log_id, uint8_t out[EC_HASH_BYTES]);

/* ---- committed side (any thread) -------------------------------------------------------- */

/* Oracle context over committed nodes of one log, for ec_merkle_*_proof. */
typedef struct {
    ec_ledger_t *ledger;
    uint8_t log_id;
} ec_mlog_reader_t;

/* ec_merkle_oracle_fn over committed nodes; ctx is an ec_mlog_reader_t. */
int ec_mlog_oracle(void *ctx, uint64_t begin, uint64_t end, uint8_t out[EC_HASH_BYTES]);
/* Committed size of the log. 0 or EC_EIO. */
EC_WUR int ec_mlog_committed_size(ec_ledger_t *l, uint8_t log_id, uint64_t *size);
/* Committed leaf hash at index. 0, EC_ENOTFOUND or EC_EIO. */
EC_WUR int ec_mlog_leaf(ec_ledger_t *l, uint8_t log_id, uint64_t index, uint8_t out[EC_HASH_BYTES]);

#endif
