/*
 * cl_commands.h - the ecert subcommands, one function each, dispatched by ecert.c.
 *
 * Each takes the run's context and the arguments from the subcommand's name on (argv[0] is
 * the name), parses its options with cl_getopt, and returns the exit status: 0 success,
 * 1 failure (error recorded in ctx), 2 bad usage. The user-facing contract is docs/CLI.md.
 */
#ifndef CL_COMMANDS_H
#define CL_COMMANDS_H

#include "cl_common.h"
#include "cl_fields.h"
#include "ec_body.h"

typedef int (*cl_command_fn)(cl_ctx_t *ctx, int argc, char **argv);

/* cmd_account.c */
int cmd_account_new(cl_ctx_t *ctx, int argc, char **argv);
int cmd_account_register(cl_ctx_t *ctx, int argc, char **argv);
int cmd_account_address(cl_ctx_t *ctx, int argc, char **argv);
int cmd_account_pubkey(cl_ctx_t *ctx, int argc, char **argv);

/* cmd_admin.c */

/* cl_opt_t handlers for --operator-key FILE and --operator-pk HEX: add the public key to
 * the operators of the ec_genesis_t `out` (at most EC_OPERATORS_MAX). 0, or 1/2. */
int cl_opt_operator_key(cl_ctx_t *ctx, const char *path, void *out);
int cl_opt_operator_pk(cl_ctx_t *ctx, const char *hex, void *out);

/* cmd_gov.c */

/* What an operator command returns when `gov propose` proposed its action instead of
 * sending it (the proposal was reported): `gov propose` exits 0 on it. */
#define CL_PROPOSED 3

/*
 * Sends an operator action (main chain, signed by --key), or under `gov propose` proposes
 * it (GOV_PROPOSE) and reports the proposal. Returns 0 (sent), CL_PROPOSED, or 1/2.
 */
int cmd_gov_submit(cl_ctx_t *ctx, uint64_t type, const ec_writer_t *body, cl_txres_t *res);

/* ecert.c: runs `<command> [<subcommand>] [options]` (argv[0] = the command). */
int cl_dispatch(cl_ctx_t *ctx, int argc, char **argv);
int cmd_org_register(cl_ctx_t *ctx, int argc, char **argv);
int cmd_role_grant(cl_ctx_t *ctx, int argc, char **argv);
int cmd_role_revoke(cl_ctx_t *ctx, int argc, char **argv);
int cmd_identity_attest(cl_ctx_t *ctx, int argc, char **argv);
int cmd_sidechain_register(cl_ctx_t *ctx, int argc, char **argv);
int cmd_sidechain_update(cl_ctx_t *ctx, int argc, char **argv);
int cmd_genesis_main(cl_ctx_t *ctx, int argc, char **argv);
int cmd_genesis_side(cl_ctx_t *ctx, int argc, char **argv);

/* cmd_cert.c */
int cmd_cert_issue(cl_ctx_t *ctx, int argc, char **argv);
int cmd_cert_inspect(cl_ctx_t *ctx, int argc, char **argv);
int cmd_cert_get(cl_ctx_t *ctx, int argc, char **argv);
int cmd_cert_list(cl_ctx_t *ctx, int argc, char **argv);
int cmd_cert_ack(cl_ctx_t *ctx, int argc, char **argv);
int cmd_cert_renew(cl_ctx_t *ctx, int argc, char **argv);
int cmd_cert_change(cl_ctx_t *ctx, int argc, char **argv);
int cmd_cert_revoke(cl_ctx_t *ctx, int argc, char **argv);
int cmd_cert_erase(cl_ctx_t *ctx, int argc, char **argv);
int cmd_cert_suspend(cl_ctx_t *ctx, int argc, char **argv);
int cmd_cert_reinstate(cl_ctx_t *ctx, int argc, char **argv);
int cmd_cert_cancel(cl_ctx_t *ctx, int argc, char **argv);
int cmd_cert_history(cl_ctx_t *ctx, int argc, char **argv);

/* A certificate as the `cert` query returns it. */
typedef struct {
    uint8_t id[EC_HASH_BYTES];
    char holder[EC_ADDR_MAX];
    char org_code[EC_ORG_CODE_MAX];
    uint8_t issuer[EC_PK_BYTES];
    uint64_t height;
    uint8_t fields_root[EC_HASH_BYTES];
    uint64_t expires_ms;
    char status[32];
    const uint8_t *payload; /* borrowed from the reply                        */
    size_t payload_size;
    uint64_t inspections;
    uint64_t updated_height;
    bool erased;          /* ERASE removed its contents                   */
    uint64_t auth_height; /* main height whose roles authorized the issue  */
    uint64_t slot;        /* its place in the chain's status list          */
    uint64_t history;     /* its history entries                           */
} cl_cert_t;

/* `query cert [id]` into c; *reply stays alive for c->payload (fini it on 0). 0, or 1 with
 * the error recorded (an unknown certificate: ENOTFOUND). */
int cl_cert_fetch(cl_ctx_t *ctx, cl_chain_t *side, const uint8_t id[EC_HASH_BYTES], cl_cert_t *c,
                  ec_rpc_reply_t *reply);

/* One certificate of a holder (the certs_by_holder query). */
typedef struct {
    uint8_t id[EC_HASH_BYTES];
    uint64_t height; /* issued at                                                      */
    char org_code[EC_ORG_CODE_MAX];
    char status[32];
} cl_holder_cert_t;

typedef struct {
    size_t count;
    cl_holder_cert_t *items; /* heap, in issue order                                   */
} cl_holder_certs_t;

/* Every certificate `holder` holds on side (every page of certs_by_holder). 0, or 1 with
 * the error recorded. cl_holder_certs_fini after 0. */
int cl_holder_certs_get(cl_ctx_t *ctx, cl_chain_t *side, const char *holder, cl_holder_certs_t *l);
void cl_holder_certs_fini(cl_holder_certs_t *l);

/* One entry of a certificate's history (the cert_history query). */
typedef struct {
    uint64_t type;   /* EC_STX_*                                                       */
    uint64_t height; /* side block that applied it                                   */
    uint8_t tx[EC_HASH_BYTES];
    uint64_t version; /* 1 at the ISSUE, one more at each RENEW or CHANGE               */
} cl_history_entry_t;

typedef struct {
    size_t count;
    cl_history_entry_t *items; /* heap                                                 */
} cl_history_t;

/* A certificate's whole history, in order (every page of cert_history). 0, or 1 with the
 * error recorded (an unknown certificate: ENOTFOUND). cl_history_fini after 0. */
int cl_history_get(cl_ctx_t *ctx, cl_chain_t *side, const uint8_t id[EC_HASH_BYTES],
                   cl_history_t *h);
void cl_history_fini(cl_history_t *h);

/* cmd_audit.c */
int cmd_audit_cert(cl_ctx_t *ctx, int argc, char **argv);
int cmd_audit_decision(cl_ctx_t *ctx, int argc, char **argv);
int cmd_audit_identity(cl_ctx_t *ctx, int argc, char **argv);
int cmd_usage(cl_ctx_t *ctx, int argc, char **argv);

/* cmd_evidence.c */
int cmd_evidence_put(cl_ctx_t *ctx, int argc, char **argv);
int cmd_evidence_proof(cl_ctx_t *ctx, int argc, char **argv);
int cmd_evidence_verify(cl_ctx_t *ctx, int argc, char **argv);

/* cmd_verify.c */
int cmd_cert_proof(cl_ctx_t *ctx, int argc, char **argv);
int cmd_status_list_fetch(cl_ctx_t *ctx, int argc, char **argv);
int cmd_verify(cl_ctx_t *ctx, int argc, char **argv);
/* Gathers, checks and writes to `out` the proof bundle of side-chain transaction id
 * (waiting up to wait_ms for its block to be anchored), as 'ecert cert proof' does.
 * Returns 0 or 1 (recorded). (cmd_verify.c; shared with 'cert get --proof') */
int cl_proof_write(cl_ctx_t *ctx, cl_chain_t *side, const uint8_t id[EC_HASH_BYTES],
                   const char *out, uint64_t wait_ms);
/* The same into out (appended), checked, without writing a file. 0 or 1. */
int cl_proof_build(cl_ctx_t *ctx, cl_chain_t *side, const uint8_t id[EC_HASH_BYTES],
                   uint64_t wait_ms, bool no_payload, ec_writer_t *out);
/*
 * The status list of side as of its tip, as 'ecert status-list fetch' gathers and checks
 * it: the verified status-list object appended to `object`, the bare list (2 bits per
 * certificate) to `list` when not NULL, its block in *height and its certificates in
 * *count. wait_ms 0 does not wait for the block to be anchored (EC_ESTATE when it is not
 * yet). Returns 0 or 1 (recorded). (cmd_verify.c; shared with ecert-gateway)
 */
int cl_status_list_build(cl_ctx_t *ctx, cl_chain_t *side, uint64_t wait_ms, ec_writer_t *object,
                         ec_writer_t *list, uint64_t *height, uint64_t *count);
/* The trusted main genesis: `path`, else main.genesis from the config. 0 or 1. */
int cl_main_genesis(cl_ctx_t *ctx, const char *path, ec_genesis_t *g);

/* Where a certificate's status comes from: a status-list file, bytes in hand (a list a
 * holder brought: verified like a file), or the nodes now (online); none: unchecked. */
typedef struct {
    const char *file;
    bool online;
    uint64_t wait_ms;
    const uint8_t *data;
    size_t size;
} cl_status_src_t;

/*
 * Prints and decides a certificate's validity beyond its proof, given its ISSUE bundle's
 * verified facts and its expiry: the expiry against the clock, and the status from src
 * (the list verified against g, of the certificate's chain, not older than it). Adds the
 * facts to obj. Returns 0 (valid, or status unchecked), or 1 with the reason recorded.
 */
int cl_cert_validity(cl_ctx_t *ctx, const ec_genesis_t *g, const ec_bundle_info_t *info,
                     uint64_t expires_ms, const cl_status_src_t *src, json_t *obj);

/* cmd_export.c (docs/INTEROP.md) */
int cmd_export_vc(cl_ctx_t *ctx, int argc, char **argv);
int cmd_export_sdjwt(cl_ctx_t *ctx, int argc, char **argv);
int cmd_export_status_list(cl_ctx_t *ctx, int argc, char **argv);
int cmd_import_verify(cl_ctx_t *ctx, int argc, char **argv);
/*
 * The W3C Bitstring Status List credential of purpose "revocation" or "suspension" for a
 * status-list object (the bytes 'ecert status-list fetch' writes), verified against the
 * trusted main genesis g first, signed by key, with id <status_base>/<purpose>: what a
 * gateway serves (no network, no files). Returns 0 with *out the JSON text (malloc'd), or
 * the object's decode/verify error, EC_EINVAL (purpose), EC_ENOMEM, with st saying which.
 */
EC_WUR int cl_vc_status_list_from_object(char **out, const uint8_t *object, size_t size,
                                         const ec_genesis_t *g, const char *purpose,
                                         const char *status_base, const ec_key_t *key,
                                         ec_status_t *st);
/* cmd_present.c */
int cmd_verifier_request(cl_ctx_t *ctx, int argc, char **argv);
int cmd_present(cl_ctx_t *ctx, int argc, char **argv);
int cmd_verify_presentation(cl_ctx_t *ctx, int argc, char **argv);

/* cmd_chain.c */
/* Main `query sidechain [chain_id]` -> the light client's height (the side chain's last
 * anchored block) and frozen flag. Returns 0, EC_ENOTFOUND (not registered; nothing
 * recorded) or 1 (recorded). (cmd_chain.c; shared with the status list's anchored path) */
int cl_side_light(cl_ctx_t *ctx, cl_chain_t *main, const char *chain_id, uint64_t *height,
                  bool *frozen);
int cmd_chain_status(cl_ctx_t *ctx, int argc, char **argv);
int cmd_chain_evidence(cl_ctx_t *ctx, int argc, char **argv);
int cmd_node_status(cl_ctx_t *ctx, int argc, char **argv);
int cmd_validator_set(cl_ctx_t *ctx, int argc, char **argv);
int cmd_contract_deploy(cl_ctx_t *ctx, int argc, char **argv);
int cmd_contract_upgrade(cl_ctx_t *ctx, int argc, char **argv);
int cmd_contract_call(cl_ctx_t *ctx, int argc, char **argv);
int cmd_contract_query(cl_ctx_t *ctx, int argc, char **argv);
int cmd_contract_show(cl_ctx_t *ctx, int argc, char **argv);
int cmd_contract_events(cl_ctx_t *ctx, int argc, char **argv);
int cmd_contract_open(cl_ctx_t *ctx, int argc, char **argv);
int cmd_contract_decisions(cl_ctx_t *ctx, int argc, char **argv);
int cmd_contract_decide(cl_ctx_t *ctx, int argc, char **argv);
int cmd_asset_init(cl_ctx_t *ctx, int argc, char **argv);
int cmd_asset_publish(cl_ctx_t *ctx, int argc, char **argv);
int cmd_asset_update(cl_ctx_t *ctx, int argc, char **argv);
int cmd_asset_withdraw(cl_ctx_t *ctx, int argc, char **argv);
int cmd_asset_transfer(cl_ctx_t *ctx, int argc, char **argv);
int cmd_asset_accept(cl_ctx_t *ctx, int argc, char **argv);
int cmd_asset_set_acl(cl_ctx_t *ctx, int argc, char **argv);
int cmd_asset_show(cl_ctx_t *ctx, int argc, char **argv);
int cmd_asset_search(cl_ctx_t *ctx, int argc, char **argv);
int cmd_asset_get(cl_ctx_t *ctx, int argc, char **argv);
int cmd_asset_watch(cl_ctx_t *ctx, int argc, char **argv);
int cmd_acl_grant(cl_ctx_t *ctx, int argc, char **argv);
int cmd_acl_revoke(cl_ctx_t *ctx, int argc, char **argv);
int cmd_acl_list(cl_ctx_t *ctx, int argc, char **argv);
int cmd_access_log(cl_ctx_t *ctx, int argc, char **argv);
int cmd_key_rotate(cl_ctx_t *ctx, int argc, char **argv);
int cmd_key_revoke(cl_ctx_t *ctx, int argc, char **argv);
int cmd_key_recover(cl_ctx_t *ctx, int argc, char **argv);
int cmd_key_veto(cl_ctx_t *ctx, int argc, char **argv);
int cmd_key_recover_finish(cl_ctx_t *ctx, int argc, char **argv);
int cmd_gov_propose(cl_ctx_t *ctx, int argc, char **argv);
int cmd_gov_approve(cl_ctx_t *ctx, int argc, char **argv);
int cmd_gov_show(cl_ctx_t *ctx, int argc, char **argv);
int cmd_gov_list(cl_ctx_t *ctx, int argc, char **argv);
int cmd_gov_operators(cl_ctx_t *ctx, int argc, char **argv);
int cmd_gov_set_operators(cl_ctx_t *ctx, int argc, char **argv);

/*
 * Decrypts a sealed certificate payload with the holder's key, checks it against
 * fields_root (when not NULL), prints the fields (human mode) and adds "fields" (an
 * object) and "fields_root_ok" to obj. Returns 0, or 1 with the error recorded.
 * (cmd_cert.c; shared with verify)
 */
int cl_cert_show_fields(cl_ctx_t *ctx, const ec_key_t *key, const uint8_t *sealed,
                        size_t sealed_size, const uint8_t *fields_root, json_t *obj);

#endif
