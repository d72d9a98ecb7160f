/*
 * ec_consensus.h - the engine's view of consensus: the commit thread builds a block on
 * top of the committed tip and asks consensus to decide it; consensus answers with the
 * commit (block hash plus signatures of more than 2/3 of the voting power) that the
 * engine stores in the same atomic batch as the block.
 *
 * Implementations sit behind a small table of functions so the solo one (a single
 * validator, or one holding more than 2/3 of the power, signs its own precommit) can be
 * replaced by Tendermint (docs/ARCHITECTURE.md section 6) without touching the engine. A BFT
 * implementation will add a path for blocks decided on another validator's proposal; the
 * engine then applies them through the same store-and-announce code.
 *
 * Determinism: decide() sees only the header; it never reads the clock.
 */
#ifndef EC_CONSENSUS_H
#define EC_CONSENSUS_H

#include <stdint.h>

#include "ec_crypto.h"
#include "ec_err.h"
#include "ec_types.h"

typedef struct ec_consensus ec_consensus_t;

/* The functions an implementation provides. */
typedef struct {
    const char *name;
    /* Decides `header` (this node's proposal at header->height). Returns 0 with *commit
     * filled, or an error with st set (the block is then dropped and its transactions
     * refused). */
    int (*decide)(void *self, const ec_header_t *header, ec_commit_t *commit, ec_status_t *st);
    /* Frees self. */
    void (*destroy)(void *self);
} ec_consensus_ops_t;

/*
 * Solo consensus: `key` (borrowed, must outlive the instance) must be in
 * genesis->validators and hold more than 2/3 of the total power. Returns NULL and fills st
 * otherwise (EC_ECONFIG).
 */
ec_consensus_t *ec_consensus_solo_new(const ec_genesis_t *genesis, const ec_key_t *key,
                                      ec_status_t *st);
/* Wraps any implementation; returns NULL when memory is exhausted. Takes `self`. */
ec_consensus_t *ec_consensus_new(const ec_consensus_ops_t *ops, void *self);
/* Frees the instance; NULLs *self_p. Idempotent. */
void ec_consensus_destroy(ec_consensus_t **self_p);

/* Returns 0 with *commit filled for header, or an error code with st set. */
EC_WUR int ec_consensus_decide(ec_consensus_t *c, const ec_header_t *header, ec_commit_t *commit,
                               ec_status_t *st);
/* "solo", ... (for logs). */
const char *ec_consensus_name(const ec_consensus_t *c);

#endif
