/*
 * sc_contract.h - contracts on a side chain (docs/CONTRACTS.md): CONTRACT_DEPLOY,
 * CONTRACT_UPGRADE and CONTRACT_CALL once sc_app.c checked who sends them, and the queries
 * "contract", "contract_query", "contract_events" and "contract_result".
 *
 * State keys (EC_CF_STATE; `name` is the contract's name, never holding NUL):
 *   'X' name                    [owner: bin32, org_code: str, version: uint,
 *                                code_hash: bin32, height: uint, events: uint]
 *   'Y' name 0x00 be32(version) the code of that version (every version is kept)
 *   'Z' name 0x00 key           a value the contract stored (contract msgpack)
 *   'E' name 0x00 be64(seq)     event seq: [height: uint, fn: str, event: str, data: bin]
 *   'W' tx_id(32)               a call's result: [name: str, fn: str, result: bin]
 */
#ifndef SC_CONTRACT_H
#define SC_CONTRACT_H

#include "ec_app.h"
#include "ec_body.h"

/* DEPLOY (a new name) or UPGRADE (a new version by the owner), as tx->type says; the
 * sender (tx->sender: its identity key) holds the deployer role, checked by the caller. */
EC_WUR int sc_contract_deploy(ec_block_ctx_t *ctx, const ec_tx_t *tx,
                              const ec_contract_deploy_body_t *b, ec_status_t *st);
/* CALL: runs the function; refusals (EC_ECONTRACT, EC_ELIMIT, EC_EINVAL, EC_ENOTFOUND) are
 * verdicts, anything else a local fault. */
EC_WUR int sc_contract_call(ec_block_ctx_t *ctx, const ec_tx_t *tx,
                            const ec_contract_call_body_t *b, ec_status_t *st);
/* The contract queries; 1 when `path` is not one of them (nothing written). */
int sc_contract_query(ec_ledger_t *l, const char *path, const msgpack_object *args,
                      ec_writer_t *out, ec_status_t *st);

#endif
