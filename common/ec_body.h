/*
 * ec_body.h - the transaction bodies of both chain kinds, typed: for each body one struct,
 * an encoder that writes exactly the array of docs/PROTOCOL.md ("Main-chain transactions",
 * "Side-chain transactions"; also ec_chain.h), and a strict reader. Every program that
 * builds or reads a body (the client, the benchmark, `ecert verify`, both chain apps) goes
 * through here, so there is one definition of each body's bytes and of what a body may hold.
 *
 * Not here: ANCHOR and SIDECHAIN_UPDATE (main) and MAIN_ANCHOR (side), whose bodies are
 * read by the apps themselves.
 *
 *   main chain                                    side chain
 *   REGISTER    [name]                            ISSUE    [holder, org_code, fields_root,
 *   ORG         [org_code, name]                            expires_ms]
 *   ROLE_GRANT  [address, role, cert_type,        INSPECT  [holder, org_code, cert_id, verdict]
 *   ROLE_REVOKE  org_code]  (the same body)       ACK      [cert_id]
 *   ATTEST      [address, identity_hash]          RENEW    [cert_id, expires_ms]
 *   SIDECHAIN   [genesis: bin]                    CHANGE   [cert_id, fields_root]
 *                                                 REVOKE   [cert_id, reason]
 *                                                 ERASE    [cert_id, reason]
 *                                                 EVIDENCE [root, count, note]
 *
 * Readers check what a body says by itself, exactly as the apps always have: the field
 * count and types (canonical form was checked when the transaction was decoded), string
 * limits, UTF-8 names without control characters, address checksums, the organization
 * code alphabet and role rules (main chain), a side-chain genesis that decodes. What needs
 * chain state or the chain's own genesis (is the sender an operator, does the genesis name
 * this main chain) stays in the apps.
 *
 * Reader contract, for every ec_<name>_body_read:
 *   In:  body, a parsed msgpack object: a transaction's body (ec_tx_t.body) or the root of
 *        ec_decode. st may be NULL.
 *   Out: *b. Fixed-size fields are copied; `bytes` pointers borrow from the buffer the
 *        object was parsed from (the codec does not copy bin data).
 *   Returns 0, or EC_EINVAL (wrong count, type, value or form), EC_ETOOBIG (a string or
 *        bin above its limit) or, for SIDECHAIN only, EC_EVERSION / EC_ECHAIN (a genesis of
 *        another version or kind), with st saying what the body must be. On error *b is
 *        zeroed.
 * Encoders append one msgpack array to w and never fail; giving them a struct the reader
 * would refuse is the caller's business (the node refuses the transaction).
 */
#ifndef EC_BODY_H
#define EC_BODY_H

#include <stddef.h>
#include <stdint.h>

#include "ec_chain.h"
#include "ec_codec.h"
#include "ec_crypto.h"
#include "ec_err.h"
#include "ec_types.h"

/* ---- main chain ------------------------------------------------------------------------- */

/* REGISTER [name: str]: 1..EC_NAME_MAX-1 bytes of UTF-8, no C0/C1 control characters or
 * DEL (names are shown to people). */
typedef struct {
    char name[EC_NAME_MAX]; /* NUL-terminated                                          */
} ec_register_body_t;

void ec_register_body_encode(ec_writer_t *w, const ec_register_body_t *b);
EC_WUR int ec_register_body_read(ec_register_body_t *b, const msgpack_object *body,
                                 ec_status_t *st);

/* ORG [org_code: str, name: str, billing: uint]: org_code 1..EC_ORG_CODE_MAX-1 of
 * [A-Za-z0-9-]; name as REGISTER's; billing EC_BILLING_PUBLIC (a public-service
 * organization: its inspections are free) or EC_BILLING_COMMERCIAL (they are billed). */
enum { EC_BILLING_PUBLIC = 0, EC_BILLING_COMMERCIAL = 1 };
typedef struct {
    char org_code[EC_ORG_CODE_MAX];
    char name[EC_NAME_MAX];
    uint64_t billing;
} ec_org_body_t;

/* "public" or "commercial"; NULL for another value. */
const char *ec_billing_name(uint64_t billing);

void ec_org_body_encode(ec_writer_t *w, const ec_org_body_t *b);
EC_WUR int ec_org_body_read(ec_org_body_t *b, const msgpack_object *body, ec_status_t *st);

/*
 * ROLE_GRANT and ROLE_REVOKE [address: str, role: uint, cert_type: str, org_code: str]:
 * a valid address, role 1..EC_ROLE_MAX; issuer and inspector roles need a certificate type
 * (ec_cert_type_valid) and an organization code; the deployer role needs an organization code
 * and takes a certificate type for a side chain's contracts, none for the main chain's; the
 * others take no certificate type; an organization code, when given, as ORG's.
 */
typedef struct {
    char address[EC_ADDR_MAX];
    uint8_t hash[EC_ADDR_HASH_BYTES]; /* the address's key hash (reader output only)       */
    uint32_t role;                    /* EC_ROLE_*                                          */
    char cert_type[EC_CERT_TYPE_MAX]; /* "" for ca and supervisor                          */
    char org_code[EC_ORG_CODE_MAX];   /* "" when none                                      */
} ec_role_body_t;

void ec_role_body_encode(ec_writer_t *w, const ec_role_body_t *b);
EC_WUR int ec_role_body_read(ec_role_body_t *b, const msgpack_object *body, ec_status_t *st);

/* ATTEST [address: str, identity_hash: bin32]. */
typedef struct {
    char address[EC_ADDR_MAX];
    uint8_t hash[EC_ADDR_HASH_BYTES]; /* the address's key hash (reader output only)       */
    uint8_t identity_hash[EC_HASH_BYTES];
} ec_attest_body_t;

void ec_attest_body_encode(ec_writer_t *w, const ec_attest_body_t *b);
EC_WUR int ec_attest_body_read(ec_attest_body_t *b, const msgpack_object *body, ec_status_t *st);

/*
 * SIDECHAIN [genesis: bin]: an encoded side-chain genesis (ec_genesis_decode, at most
 * EC_TX_BYTES_MAX bytes) of kind EC_CHAIN_SIDE. The encoder writes ec_genesis_encode of
 * `genesis`; the reader also returns the bytes as they came, which are what is hashed.
 */
typedef struct {
    ec_genesis_t genesis;
    const uint8_t *bytes; /* reader output: the encoded genesis, borrowed              */
    size_t size;
} ec_sidechain_body_t;

void ec_sidechain_body_encode(ec_writer_t *w, const ec_sidechain_body_t *b);
EC_WUR int ec_sidechain_body_read(ec_sidechain_body_t *b, const msgpack_object *body,
                                  ec_status_t *st);

/* ---- operator governance ---------------------------------------------------------------- */

#define EC_GOV_ACTION_BYTES_MAX (8u * 1024) /* a proposed action's encoded body          */
#define EC_GOV_EXPIRY_MAX_MS (30ull * 24 * 3600 * 1000) /* a proposal lives 30 days at most */
#define EC_GOV_OPEN_MAX 64 /* unexpired proposals waiting for approvals at once           */

/* True for the main-chain transaction types that only operators send (and that a proposal
 * may carry): ORG, ROLE_GRANT, ROLE_REVOKE, SIDECHAIN, SIDECHAIN_UPDATE, VALIDATOR_UPDATE,
 * SIDECHAIN_VALIDATOR and OPERATORS. */
bool ec_gov_action_type(uint64_t type);

/* GOV_PROPOSE [action_type: uint, action: bin, expires_ms: uint]: an ec_gov_action_type and
 * its body's encoding (1..EC_GOV_ACTION_BYTES_MAX bytes, checked by the main chain as that
 * type's body); expires_ms > 0 (the main chain bounds it against the block time). */
typedef struct {
    uint64_t action_type;
    const uint8_t *action; /* borrowed from the body                                   */
    size_t action_size;
    uint64_t expires_ms;
} ec_propose_body_t;

void ec_propose_body_encode(ec_writer_t *w, const ec_propose_body_t *b);
EC_WUR int ec_propose_body_read(ec_propose_body_t *b, const msgpack_object *body, ec_status_t *st);

/* GOV_APPROVE [proposal: bin32]: the id of the GOV_PROPOSE transaction. */
typedef struct {
    uint8_t proposal[EC_HASH_BYTES];
} ec_approve_body_t;

void ec_approve_body_encode(ec_writer_t *w, const ec_approve_body_t *b);
EC_WUR int ec_approve_body_read(ec_approve_body_t *b, const msgpack_object *body, ec_status_t *st);

/* OPERATORS [operators: [bin32...], quorum: uint]: 1..EC_OPERATORS_MAX distinct public
 * keys, and a quorum of 1..their number. */
typedef struct {
    uint32_t count;
    uint8_t pks[EC_OPERATORS_MAX][EC_PK_BYTES];
    uint32_t quorum;
} ec_operators_body_t;

void ec_operators_body_encode(ec_writer_t *w, const ec_operators_body_t *b);
EC_WUR int ec_operators_body_read(ec_operators_body_t *b, const msgpack_object *body,
                                  ec_status_t *st);
/* The operators' and quorum's rules (as the reader checks them). 0 or EC_EINVAL with st. */
EC_WUR int ec_operators_check(const ec_operators_body_t *b, ec_status_t *st);

/* A proposal, as the main chain stores it and its `proposal` query returns it: [id: bin32,
 * seq: uint, action_type: uint, action: bin, proposer: bin32, height: uint, expires_ms:
 * uint, approvals: [bin32...] (1..EC_OPERATORS_MAX), executed_height: uint (0: not run)]. */
typedef struct {
    uint8_t id[EC_HASH_BYTES]; /* the GOV_PROPOSE transaction's id                          */
    uint64_t seq;              /* proposals made before it                                  */
    uint64_t action_type;
    const uint8_t *action; /* the action's encoded body (borrowed by the reader)           */
    size_t action_size;
    uint8_t proposer[EC_PK_BYTES];
    uint64_t height; /* main height of the GOV_PROPOSE                                   */
    uint64_t expires_ms;
    uint32_t approval_count;
    uint8_t approvals[EC_OPERATORS_MAX][EC_PK_BYTES];
    uint64_t executed_height;
} ec_proposal_t;

void ec_proposal_encode(ec_writer_t *w, const ec_proposal_t *p);
/* Reads a proposal. 0 or EC_EINVAL (p zeroed). */
EC_WUR int ec_proposal_read(ec_proposal_t *p, const msgpack_object *o);

/* ---- accounts' signing keys ------------------------------------------------------------- */

/* A recovery runs this long (block time) after a certification authority started it, so the
 * holder's current key can veto it (KEY_VETO) if it was not the holder who asked. */
#define EC_KEY_RECOVERY_DELAY_MS (72ull * 3600 * 1000)
#define EC_KEY_PROOF_MSG_BYTES (10 + EC_ADDR_HASH_BYTES + 2 * EC_PK_BYTES)

/* What a new signing key signs to show it is held by whoever asks for it: "ecert/key" 0x00,
 * the account's address hash, its current signing key (zero when revoked) and the new
 * key. */
void ec_key_proof_msg(uint8_t out[EC_KEY_PROOF_MSG_BYTES], const uint8_t hash[EC_ADDR_HASH_BYTES],
                      const uint8_t old_key[EC_PK_BYTES], const uint8_t new_key[EC_PK_BYTES]);

/* KEY_ROTATE [new_key: bin32, proof: bin64]. */
typedef struct {
    uint8_t new_key[EC_PK_BYTES];
    uint8_t proof[EC_SIG_BYTES];
} ec_key_rotate_body_t;

void ec_key_rotate_body_encode(ec_writer_t *w, const ec_key_rotate_body_t *b);
EC_WUR int ec_key_rotate_body_read(ec_key_rotate_body_t *b, const msgpack_object *body,
                                   ec_status_t *st);

/* KEY_RECOVER [address: str, new_key: bin32, proof: bin64]. */
typedef struct {
    char address[EC_ADDR_MAX];
    uint8_t hash[EC_ADDR_HASH_BYTES]; /* reader output only                                 */
    uint8_t new_key[EC_PK_BYTES];
    uint8_t proof[EC_SIG_BYTES];
} ec_key_recover_body_t;

void ec_key_recover_body_encode(ec_writer_t *w, const ec_key_recover_body_t *b);
EC_WUR int ec_key_recover_body_read(ec_key_recover_body_t *b, const msgpack_object *body,
                                    ec_status_t *st);

/* KEY_RECOVER_FINISH [address: str]; KEY_REVOKE and KEY_VETO take [] (ec_empty_body_*). */
typedef struct {
    char address[EC_ADDR_MAX];
    uint8_t hash[EC_ADDR_HASH_BYTES]; /* reader output only                                 */
} ec_key_finish_body_t;

void ec_key_finish_body_encode(ec_writer_t *w, const ec_key_finish_body_t *b);
EC_WUR int ec_key_finish_body_read(ec_key_finish_body_t *b, const msgpack_object *body,
                                   ec_status_t *st);
void ec_empty_body_encode(ec_writer_t *w);
/* An empty body for `type` (named in the error). 0 or EC_EINVAL with st. */
EC_WUR int ec_empty_body_read(const msgpack_object *body, uint64_t type, ec_status_t *st);

/* ---- side chain ------------------------------------------------------------------------- */

/* ISSUE [holder: str, org_code: str, fields_root: bin32, expires_ms: uint]: a valid holder
 * address and an organization code of 1..EC_ORG_CODE_MAX-1 bytes. */
typedef struct {
    char holder[EC_ADDR_MAX];
    uint8_t holder_hash[EC_ADDR_HASH_BYTES]; /* reader output only                        */
    char org_code[EC_ORG_CODE_MAX];
    uint8_t fields_root[EC_HASH_BYTES];
    uint64_t expires_ms; /* 0: never                                                 */
} ec_issue_body_t;

void ec_issue_body_encode(ec_writer_t *w, const ec_issue_body_t *b);
EC_WUR int ec_issue_body_read(ec_issue_body_t *b, const msgpack_object *body, ec_status_t *st);

/* INSPECT [holder: str, org_code: str, cert_id: bin32, verdict: str]: holder and org_code as
 * ISSUE's, a verdict of 1..EC_VERDICT_MAX-1 bytes (public text). */
typedef struct {
    char holder[EC_ADDR_MAX];
    uint8_t holder_hash[EC_ADDR_HASH_BYTES]; /* reader output only                        */
    char org_code[EC_ORG_CODE_MAX];
    uint8_t cert_id[EC_HASH_BYTES];
    char verdict[EC_VERDICT_MAX]; /* verdict_len bytes (may hold NUL), then a NUL        */
    size_t verdict_len;
} ec_inspect_body_t;

void ec_inspect_body_encode(ec_writer_t *w, const ec_inspect_body_t *b);
EC_WUR int ec_inspect_body_read(ec_inspect_body_t *b, const msgpack_object *body, ec_status_t *st);

/* ACK [cert_id: bin32]. */
typedef struct {
    uint8_t cert_id[EC_HASH_BYTES];
} ec_ack_body_t;

void ec_ack_body_encode(ec_writer_t *w, const ec_ack_body_t *b);
EC_WUR int ec_ack_body_read(ec_ack_body_t *b, const msgpack_object *body, ec_status_t *st);

/* RENEW [cert_id: bin32, expires_ms: uint]. */
typedef struct {
    uint8_t cert_id[EC_HASH_BYTES];
    uint64_t expires_ms; /* 0: never                                                 */
} ec_renew_body_t;

void ec_renew_body_encode(ec_writer_t *w, const ec_renew_body_t *b);
EC_WUR int ec_renew_body_read(ec_renew_body_t *b, const msgpack_object *body, ec_status_t *st);

/* CHANGE [cert_id: bin32, fields_root: bin32]. */
typedef struct {
    uint8_t cert_id[EC_HASH_BYTES];
    uint8_t fields_root[EC_HASH_BYTES];
} ec_change_body_t;

void ec_change_body_encode(ec_writer_t *w, const ec_change_body_t *b);
EC_WUR int ec_change_body_read(ec_change_body_t *b, const msgpack_object *body, ec_status_t *st);

/* REVOKE [cert_id: bin32, reason: str] with a reason of 0..EC_REASON_MAX-1 bytes, and
 * ERASE, the same body with a reason of 1..EC_REASON_MAX-1 bytes. Reasons are public. */
typedef struct {
    uint8_t cert_id[EC_HASH_BYTES];
    char reason[EC_REASON_MAX]; /* reason_len bytes (may hold NUL), then a NUL           */
    size_t reason_len;
} ec_revoke_body_t;
typedef ec_revoke_body_t ec_erase_body_t;

void ec_revoke_body_encode(ec_writer_t *w, const ec_revoke_body_t *b);
EC_WUR int ec_revoke_body_read(ec_revoke_body_t *b, const msgpack_object *body, ec_status_t *st);
void ec_erase_body_encode(ec_writer_t *w, const ec_erase_body_t *b);
EC_WUR int ec_erase_body_read(ec_erase_body_t *b, const msgpack_object *body, ec_status_t *st);
/* SUSPEND, REINSTATE and CANCEL: the REVOKE body (reason 0..EC_REASON_MAX-1 bytes), read
 * for `type`, one of the three (its name goes into errors). Encode with
 * ec_revoke_body_encode. */
EC_WUR int ec_status_body_read(ec_revoke_body_t *b, const msgpack_object *body, uint64_t type,
                               ec_status_t *st);

/* ---- contracts (side chains; docs/CONTRACTS.md) ------------------------------------------ */

#define EC_CONTRACT_NAME_MAX 64              /* a contract or function name + NUL          */
#define EC_CONTRACT_CODE_TX_MAX (14u * 1024) /* code in one transaction (envelope 16 KiB)  */
#define EC_CONTRACT_ARGS_TX_MAX (8u * 1024)  /* a call's arguments in one transaction      */

/* A contract name: 1..EC_CONTRACT_NAME_MAX-1 of [a-z0-9_-]. */
bool ec_contract_name_valid(const char *name);

/* CONTRACT_DEPLOY and CONTRACT_UPGRADE [name: str, org_code: str, code: bin]: the Lua
 * source, 1..EC_CONTRACT_CODE_TX_MAX bytes (the chain compiles it: ec_contract_check). */
typedef struct {
    char name[EC_CONTRACT_NAME_MAX];
    char org_code[EC_ORG_CODE_MAX];
    const uint8_t *code; /* borrowed                                                  */
    size_t code_size;
} ec_contract_deploy_body_t;

void ec_contract_deploy_body_encode(ec_writer_t *w, const ec_contract_deploy_body_t *b);
/* type: EC_STX_CONTRACT_DEPLOY or EC_STX_CONTRACT_UPGRADE (named in errors). */
EC_WUR int ec_contract_deploy_body_read(ec_contract_deploy_body_t *b, const msgpack_object *body,
                                        uint64_t type, ec_status_t *st);

/* CONTRACT_CALL [name: str, fn: str, args: bin]: fn 1..63 of [A-Za-z0-9_], args one
 * contract-msgpack array of 1..EC_CONTRACT_ARGS_TX_MAX bytes (checked by the chain). */
typedef struct {
    char name[EC_CONTRACT_NAME_MAX];
    char fn[EC_CONTRACT_NAME_MAX];
    const uint8_t *args; /* borrowed                                                  */
    size_t args_size;
} ec_contract_call_body_t;

void ec_contract_call_body_encode(ec_writer_t *w, const ec_contract_call_body_t *b);
EC_WUR int ec_contract_call_body_read(ec_contract_call_body_t *b, const msgpack_object *body,
                                      ec_status_t *st);

/* CONTRACT_DECIDE [name: str, id: uint, decision: bin]: settles decision `id` of the
 * contract; decision one contract-msgpack value of 1..EC_CONTRACT_ARGS_TX_MAX bytes
 * (checked by the chain). */
typedef struct {
    char name[EC_CONTRACT_NAME_MAX];
    uint64_t id;
    const uint8_t *decision; /* borrowed                                              */
    size_t decision_size;
} ec_contract_decide_body_t;

void ec_contract_decide_body_encode(ec_writer_t *w, const ec_contract_decide_body_t *b);
EC_WUR int ec_contract_decide_body_read(ec_contract_decide_body_t *b, const msgpack_object *body,
                                        ec_status_t *st);

/* ---- evidence deposits (side chains; ec_evidence.h) ------------------------------------- */

#define EC_EVIDENCE_BATCH_MAX (1u << 20) /* files one EVIDENCE deposits (a path of <= 20)  */
#define EC_EVIDENCE_NOTE_MAX 256         /* a deposit's note, bytes + NUL                  */

/* EVIDENCE [root: bin32, count: uint, note: str]: root the RFC 9162 root over `count`
 * (1..EC_EVIDENCE_BATCH_MAX) EC_LEAF_DEPOSIT leaves; note 0..EC_EVIDENCE_NOTE_MAX-1 bytes of
 * UTF-8 without C0/C1 control characters or DEL (it is shown to whoever checks a file). What
 * the root covers is not the chain's to check: it never sees the files. */
typedef struct {
    uint8_t root[EC_HASH_BYTES];
    uint64_t count;
    char note[EC_EVIDENCE_NOTE_MAX]; /* note_len bytes, then a NUL                     */
    size_t note_len;
} ec_evidence_body_t;

void ec_evidence_body_encode(ec_writer_t *w, const ec_evidence_body_t *b);
EC_WUR int ec_evidence_body_read(ec_evidence_body_t *b, const msgpack_object *body,
                                 ec_status_t *st);

/* ---- pieces shared with query arguments ------------------------------------------------- */

/* Reads an address string into addr and its key hash into hash; a bad checksum, prefix
 * or length is EC_EINVAL in c's sticky error (both outputs zeroed then). */
void ec_cur_address(ec_cur_t *c, char addr[EC_ADDR_MAX], uint8_t hash[EC_ADDR_HASH_BYTES]);
/* True for an organization code: 1..EC_ORG_CODE_MAX-1 characters of [A-Za-z0-9-] (a unified
 * social credit code is upper case). */
bool ec_org_code_valid(const char *org_code);

#endif
