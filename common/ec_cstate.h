/*
 * ec_cstate.h - contracts in a chain's state (docs/CONTRACTS.md): CONTRACT_DEPLOY,
 * CONTRACT_UPGRADE, CONTRACT_CALL and CONTRACT_DECIDE once the chain's app checked who
 * sends them, and the queries "contract", "contract_query", "contract_events",
 * "contract_result", "decisions", "decision" and "block_events". Any chain whose genesis
 * enables contracts hosts them through this module (sidechain/sc_app.c,
 * mainchain/mc_app.c); the app tells it what it knows of a caller (ec_cfacts_t).
 *
 * State keys (EC_CF_STATE; `name` is the contract's name, never holding NUL). The single
 * upper-case letters below are the contracts' on every chain: no chain app uses them.
 *   'X' name                    [owner: bin32, org_code: str, version: uint,
 *                                code_hash: bin32, height: uint, events: uint]
 *   'Y' name 0x00 be32(version) the code of that version (every version is kept)
 *   'Z' name 0x00 key           a value the contract stored (contract msgpack)
 *   'E' name 0x00 be64(seq)     event seq: [height: uint, fn: str, event: str, data: bin]
 *   'W' tx_id(32)               a call's result: [name: str, fn: str, result: bin]
 *   'D' name                    be64(decisions opened)
 *   'D' name 0x00 be64(id)      decision id (from 1): [height: uint, tx_id: bin32, fn: str,
 *                                role: uint, org: str, request: bin, decided_height: uint
 *                                (0 while pending), decider: bin32, decide_tx: bin32,
 *                                decision: bin] (zeros and an empty bin while pending)
 *
 * Outside the state (EC_CF_META, written with the block, so only committed blocks have
 * them): the block's events, "ct/ev/" be64(height) name 0x00 be64(seq) ->
 * [tx_id: bin32, fn: str, event: str, data: bin], read by the query "block_events" and
 * announced on PUB once the block is stored (ec_cstate_announce).
 */
#ifndef EC_CSTATE_H
#define EC_CSTATE_H

#include "ec_app.h"
#include "ec_body.h"

/*
 * What a chain's rules know of a caller, for the contract host. pk is the caller's
 * identity key; pending says whether to read through the pending block. Each
 * returns 1/0 (has_role, attested) or 0 (roles), or a local fault.
 */
typedef struct {
    const void *app;
    /* The roles pk holds for this chain: one contract-msgpack array of {role, org} maps. */
    int (*roles)(const void *app, ec_ledger_t *l, bool pending, const uint8_t *pk,
                 ec_writer_t *out);
    /* Whether pk holds `role` (EC_ROLE_*) for org (NULL or "": any org). */
    int (*has_role)(const void *app, ec_ledger_t *l, bool pending, const uint8_t *pk, uint32_t role,
                    const char *org);
    int (*attested)(const void *app, ec_ledger_t *l, bool pending, const uint8_t *pk);
} ec_cfacts_t;

/* DEPLOY (a new name) or UPGRADE (a new version by the owner), as tx->type says; the
 * sender (tx->sender: its identity key) holds the deployer role, checked by the caller. */
EC_WUR int ec_cstate_deploy(ec_block_ctx_t *ctx, const ec_tx_t *tx,
                            const ec_contract_deploy_body_t *b, ec_status_t *st);
/* CALL: runs the function; refusals (EC_ECONTRACT, EC_ELIMIT, EC_EINVAL, EC_ENOTFOUND) are
 * verdicts, anything else a local fault. */
EC_WUR int ec_cstate_call(ec_block_ctx_t *ctx, const ec_tx_t *tx, const ec_contract_call_body_t *b,
                          const ec_cfacts_t *facts, ec_status_t *st);
/* DECIDE: settles a pending decision when the sender holds the role it names, calling the
 * contract's on_decision(id, request, decision); refusals and faults as for a call. The
 * caller checked that the mirror is fresh. */
EC_WUR int ec_cstate_decide(ec_block_ctx_t *ctx, const ec_tx_t *tx,
                            const ec_contract_decide_body_t *b, const ec_cfacts_t *facts,
                            ec_status_t *st);
/* ec_app_t.announce for any chain that hosts contracts (self unused): the contract events
 * of committed block `height` through pub(pctx, frame, size), one msgpack [height, name,
 * seq, tx_id, fn, event, data] each, as many as block_events answers. A read fault is
 * logged and announces nothing more (the events stay readable with the queries). */
void ec_cstate_announce(void *self, ec_ledger_t *l, uint64_t height,
                        void (*pub)(void *pctx, const uint8_t *frame, size_t size), void *pctx);
/* The contract queries; 1 when `path` is not one of them (nothing written). */
int ec_cstate_query(ec_ledger_t *l, const char *path, const msgpack_object *args,
                    const ec_cfacts_t *facts, ec_writer_t *out, ec_status_t *st);

#endif
