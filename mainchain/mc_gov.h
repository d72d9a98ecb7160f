/*
 * mc_gov.h - operator governance on the main chain: the operator set in force and its
 * quorum, proposals of operator actions and their approvals (GOV_PROPOSE, GOV_APPROVE,
 * OPERATORS), and the queries "operators", "proposal" and "proposals".
 *
 * An operator action (ec_gov_action_type) runs when `quorum` operators of the set in force
 * signed for it: sent directly when the quorum is 1, else proposed by one operator and
 * approved by the others before the proposal's expiry; the approval that reaches the
 * quorum runs the action in its own transaction, through the app's exec callback, and is
 * refused (nothing written) when the action is. Rules: docs/MAINCHAIN.md ("Governance").
 *
 * State (EC_CF_STATE, canonical msgpack):
 *   "g/ops"          [operators: [bin32...], quorum: uint]; absent = the genesis's
 *   "g/open"         [[proposal: bin32, expires_ms: uint]...] open proposals, in order
 *   "g/n"            [count: uint]: proposals made so far (the next one's seq)
 *   "p/" id(32)      proposal (ec_proposal_encode): id, seq, action, proposer, height,
 *                    expires_ms, approvals, executed_height (0 = not run)
 *   "q/" be64(seq)   id (raw 32 bytes): proposals in the order they were made
 */
#ifndef MC_GOV_H
#define MC_GOV_H

#include <stdbool.h>
#include <stdint.h>

#include "ec_app.h"
#include "ec_body.h"

/* The operator set in force. */
typedef struct {
    uint32_t count;
    uint8_t pks[EC_OPERATORS_MAX][EC_PK_BYTES];
    uint32_t quorum;
} mc_operators_t;

/*
 * Loads the operator set in force (pending or committed state), else the genesis's.
 * Returns 0, or EC_EIO / EC_EINTERNAL with st set.
 */
EC_WUR int mc_operators_load(ec_ledger_t *l, bool pending, const ec_genesis_t *g,
                             mc_operators_t *ops, ec_status_t *st);
bool mc_operators_has(const mc_operators_t *ops, const uint8_t pk[EC_PK_BYTES]);

/* Runs a proposal's action as if `action->sender` sent it, past the operator check. */
typedef int (*mc_gov_exec_fn)(void *app, ec_block_ctx_t *ctx, const ec_tx_t *action,
                              ec_status_t *st);
/* Checks an action's body the way check_tx does (stateless). */
typedef int (*mc_gov_check_fn)(void *app, const ec_tx_t *action, ec_status_t *st);

typedef struct {
    const ec_genesis_t *genesis;
    void *app;
    mc_gov_exec_fn exec;
    mc_gov_check_fn check;
    ec_writer_t w;           /* scratch for values                                   */
    ec_decoder_t dec;        /* stored proposals                                     */
    ec_decoder_t action_dec; /* the action's body while it runs                     */
} mc_gov_t;

void mc_gov_init(mc_gov_t *g, const ec_genesis_t *genesis, void *app, mc_gov_exec_fn exec,
                 mc_gov_check_fn check);
void mc_gov_fini(mc_gov_t *g);

/* Stateless check of a GOV_PROPOSE (its action included), GOV_APPROVE or OPERATORS. */
EC_WUR int mc_gov_check_tx(const mc_gov_t *g, const ec_tx_t *tx, ec_status_t *st);
/* deliver_tx of GOV_PROPOSE and GOV_APPROVE. */
EC_WUR int mc_gov_deliver(mc_gov_t *g, ec_block_ctx_t *ctx, const ec_tx_t *tx, ec_status_t *st);
/* deliver_tx of OPERATORS once the operator check passed: replaces the set in force. */
EC_WUR int mc_gov_set_operators(mc_gov_t *g, ec_block_ctx_t *ctx, const ec_tx_t *tx,
                                ec_status_t *st);

/* Queries "operators", "proposal" and "proposals" (docs/PROTOCOL.md); 1 when `path` is
 * not one of them (nothing written), else 0 or a negative code with st set. */
int mc_gov_query(mc_gov_t *g, ec_ledger_t *l, const char *path, const msgpack_object *args,
                 ec_writer_t *out, ec_status_t *st);

#endif
