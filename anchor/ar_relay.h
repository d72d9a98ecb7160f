/*
 * ar_relay.h - the anchoring relay behind anchord (docs/ARCHITECTURE.md section 9): ships
 * side-chain headers to the main chain as ANCHOR transactions, and main-chain headers with the main
 * chain's records to each side chain as MAIN_ANCHOR transactions.
 *
 * The relay is untrusted: every chain checks what it receives (commit, history proofs,
 * record proofs) itself, so the relay holds no state of its own. Each round it asks the
 * chains what they know (`query sidechain`, `query mirror`), compares with the tips, and
 * submits what is missing. Headers that carry only anchors do not cause new anchors, so
 * the two directions do not feed each other. A round runs every interval_ms, and early
 * when a chain's PUB socket announces a header. Every call has a timeout; a chain that
 * is down is retried the next round and logged once per change of state.
 */
#ifndef AR_RELAY_H
#define AR_RELAY_H

#include <signal.h>

#include "ar_config.h"
#include "ec_crypto.h"
#include "ec_err.h"
#include "ec_metrics.h"

#define AR_CALL_TIMEOUT_MS 1500    /* one query to one node                                */
#define AR_SUBMIT_TIMEOUT_MS 10000 /* a submit not answered by then is forgotten           */
#define AR_SCAN_MAX 1000           /* a longer gap is anchored without looking at it       */

typedef struct ar_relay ar_relay_t;

/*
 * Creates the relay: one query client and one submit client per chain, a SUB socket per
 * configured pub endpoint. Takes ownership of *key_p (and NULLs it). Returns NULL with st
 * set when a socket cannot be created.
 */
ar_relay_t *ar_relay_new(const ar_config_t *cfg, ec_key_t **key_p, ec_status_t *st);
/* Runs rounds until *stop becomes non-zero (set it from a signal handler). Returns 0. */
int ar_relay_run(ar_relay_t *self, const volatile sig_atomic_t *stop);
/*
 * Makes the relay count into reg (borrowed; it must outlive the relay): rounds, each side
 * chain's anchoring lag in both directions, the age of its mirror of the main chain
 * against its freshness bound, submit outcomes and which chains answer
 * (docs/OPERATIONS.md, "Metrics and alerts"). Series of a side chain appear once its
 * chain id is known. Call before ar_relay_run.
 */
void ar_relay_metrics(ar_relay_t *self, ec_metrics_t *reg);
/* Runs one round now (tests). */
void ar_relay_round(ar_relay_t *self);
void ar_relay_destroy(ar_relay_t **self_p);

#endif
