/*
 * ec_chain.h - what the two chain kinds, the relay and the client agree on: transaction
 * types and their bodies, roles, the main chain's identity/role records that side chains
 * mirror, the anchor transactions, and the main chain's state root. Tables with every field
 * are in docs/PROTOCOL.md ("Main-chain transactions", "Side-chain transactions",
 * "Records", "Anchoring"); keep the two in step.
 *
 * Main-chain transaction bodies (sender = tx sender public key):
 *   REGISTER    [name: str]                                  sender is the new account
 *   ORG         [org_code: str, name: str]                   sender: operator
 *   ROLE_GRANT  [address: str, role: uint, cert_type: str, org_code: str]   operator
 *   ROLE_REVOKE [address: str, role: uint, cert_type: str, org_code: str]   operator
 *   ATTEST      [address: str, identity_hash: bin(32)]       sender: certification authority
 *   SIDECHAIN   [genesis: bin]  (an encoded side-chain ec_genesis_t)       operator
 *   ANCHOR      [chain_id: str, header: bin, commit: bin, prev_path: [bin(32)...],
 *                consistency: [bin(32)...], next_valset: valset | nil,
 *                claimed: bin(32) | nil]                     anyone (checked by the commit);
 *               next_valset is the set the header names as next when it names a change,
 *               claimed a fork claim (ec_light_check)
 *   SIDECHAIN_UPDATE [chain_id: str, validators: valset (ec_valset_encode), unfreeze: bool]
 *               replaces the validator set that checks that side chain's anchors and, with
 *               unfreeze, clears a proven fork's freeze (recovery)   sender: operator
 *   VALIDATOR_UPDATE [pk: bin(32), power: uint]  the main chain's own validator pk gets
 *               `power` (0 removes it), in force two heights later; one change per
 *               block                                               sender: operator
 *   SIDECHAIN_VALIDATOR [chain_id: str, pk: bin(32), power: uint]  the same for a side
 *               chain: appended to the records log as EC_REC_VALIDATOR, applied by the
 *               side chain when it mirrors the record               sender: operator
 *   GOV_PROPOSE [action_type: uint, action: bin, expires_ms: uint]  an operator action
 *               (one of the types above marked operator, or OPERATORS) and its encoded
 *               body, to run once a quorum of operators approved it   sender: operator
 *   GOV_APPROVE [proposal: bin(32)]  the proposing transaction's id   sender: operator
 *   OPERATORS   [operators: [bin(32)...], quorum: uint]  the new operator set and the
 *               approvals an operator action needs                  sender: operator
 *
 *   KEY_ROTATE  [new_key: bin(32), proof: bin(64)]  the sender's account signs with
 *               new_key from now on; proof = new_key's signature of ec_key_proof_msg
 *               (address, sender, new_key)              sender: the account's signing key
 *   KEY_REVOKE  []  the account has no signing key until a recovery   sender: its key
 *   KEY_RECOVER [address: str, new_key: bin(32), proof: bin(64)]  starts a recovery of
 *               an attested account to new_key, run by KEY_RECOVER_FINISH once
 *               EC_KEY_RECOVERY_DELAY_MS of block time passed; proof as KEY_ROTATE's
 *               with the account's current key (zero if revoked)   sender: a CA
 *   KEY_VETO    []  cancels the pending recovery of the sender's account   sender: its key
 *   KEY_RECOVER_FINISH [address: str]  runs a recovery whose waiting period is over
 *                                                                    sender: anyone
 *
 * With an operator quorum above 1 (genesis operator_quorum, or OPERATORS), an operator
 * action is refused when sent directly: it runs only through GOV_PROPOSE / GOV_APPROVE.
 *
 * Side-chain transaction bodies:
 *   ISSUE       [holder: str, org_code: str, fields_root: bin(32), expires_ms: uint]
 *               payload = certificate data sealed to the holder   sender: issuing agency
 *   INSPECT     [holder: str, org_code: str, cert_id: bin(32), verdict: str]
 *               payload = inspection data sealed to the holder    sender: inspection agency
 *   ACK         [cert_id: bin(32)]                            sender: the holder
 *   RENEW       [cert_id: bin(32), expires_ms: uint]          sender: issuing agency, same org
 *   CHANGE      [cert_id: bin(32), fields_root: bin(32)]  + new sealed payload; same
 *   REVOKE      [cert_id: bin(32), reason: str]               sender: issuing agency, same org
 *   MAIN_ANCHOR [header: bin, commit: bin, prev_path: [..], consistency: [..],
 *                records_root: bin(32), records_count: uint, state_digest: bin(32),
 *                records: [[record: bin, path: [bin(32)...]], ...],
 *                next_valset: valset | nil, claimed: bin(32) | nil]        anyone
 *   CONTRACT_DEPLOY, CONTRACT_UPGRADE [name: str, org_code: str, code: bin]  a contract's
 *               Lua source (docs/CONTRACTS.md); deploy: a contract deployer of the chain's
 *               type and org_code; upgrade: the contract's owner
 *   CONTRACT_CALL [name: str, fn: str, args: bin]  args one contract-msgpack array
 *                                                     sender: anyone
 *   CONTRACT_DECIDE [name: str, id: uint, decision: bin]  settles pending decision id of
 *               the contract (its escalate()), calling its on_decision; decision one
 *               contract-msgpack value        sender: a holder of the role it names
 *   ERASE       [cert_id: bin(32), reason: str]  (no payload) deletes every payload of the
 *               certificate (ISSUE, CHANGEs, its inspections)   sender: the holder, or an
 *               issuing agency of the certificate's org
 *   EVIDENCE    [root: bin(32), count: uint, note: str]  an evidence deposit: root is the
 *               RFC 9162 root over `count` (1..EC_EVIDENCE_BATCH_MAX) EC_LEAF_DEPOSIT
 *               leaves, one per file, whose data is the file's SHA-256 (the files never
 *               leave their owner); note 0..EC_EVIDENCE_NOTE_MAX-1 bytes of UTF-8 without
 *               control characters. A key deposits a root once (EC_EEXIST after); another
 *               key depositing the same root makes a deposit of its own;
 *               the proof of one file is ec_evidence.h's bundle      sender: anyone
 *
 * Role requirements name cert_type and org_code where they matter: an issuing agency and an
 * inspection agency hold the role for one certificate type and one organization code; a
 * certification authority and a supervisor hold it with cert_type "" and org_code "" (or
 * the CA's organization).
 */
#ifndef EC_CHAIN_H
#define EC_CHAIN_H

#include <stdint.h>

#include "ec_codec.h"
#include "ec_crypto.h"
#include "ec_merkle.h"
#include "ec_types.h"

#define EC_NAME_MAX 128    /* account or organization display name, bytes + NUL          */
#define EC_ORG_CODE_MAX 32 /* organization code (e.g. a unified social credit code) + NUL */
#define EC_VERDICT_MAX 256 /* inspection verdict text + NUL                              */
#define EC_REASON_MAX 256
#define EC_ANCHOR_RECORDS_MAX 256 /* records one MAIN_ANCHOR may carry                      */
/* Roles one main-chain account may hold at once: the main chain refuses a grant beyond it
 * (EC_ETOOBIG), so `query account` lists at most this many. */
#define EC_ACCOUNT_ROLES_MAX 256

enum {
    EC_MTX_REGISTER = 1,
    EC_MTX_ORG = 2,
    EC_MTX_ROLE_GRANT = 3,
    EC_MTX_ROLE_REVOKE = 4,
    EC_MTX_ATTEST = 5,
    EC_MTX_SIDECHAIN = 6,
    EC_MTX_ANCHOR = 7,
    EC_MTX_SIDECHAIN_UPDATE = 8,
    EC_MTX_VALIDATOR_UPDATE = 9,
    EC_MTX_SIDECHAIN_VALIDATOR = 10,
    EC_MTX_GOV_PROPOSE = 11,        /* an operator proposes an operator action             */
    EC_MTX_GOV_APPROVE = 12,        /* another operator approves it; the quorum's runs it  */
    EC_MTX_OPERATORS = 13,          /* replaces the operator set and its quorum            */
    EC_MTX_KEY_ROTATE = 14,         /* an account's signing key, replaced by the old and new key */
    EC_MTX_KEY_REVOKE = 15,         /* the holder revokes its signing key                      */
    EC_MTX_KEY_RECOVER = 16,        /* a certification authority starts a lost key's recovery  */
    EC_MTX_KEY_VETO = 17,           /* the current key stops a recovery in its waiting period  */
    EC_MTX_KEY_RECOVER_FINISH = 18, /* anyone, once the waiting period is over           */
    /* Contracts on the main chain (its genesis enables them): the side chains' bodies. */
    EC_MTX_CONTRACT_DEPLOY = 19,  /* a main-chain contract deployer (no cert type)       */
    EC_MTX_CONTRACT_UPGRADE = 20, /* its owner                                          */
    EC_MTX_CONTRACT_CALL = 21,    /* anyone                                             */
    EC_MTX_CONTRACT_DECIDE = 22,  /* a holder of the role the decision names            */
    EC_MTX_MAX = 22,
};

enum {
    EC_STX_ISSUE = 1,
    EC_STX_INSPECT = 2,
    EC_STX_ACK = 3,
    EC_STX_RENEW = 4,
    EC_STX_CHANGE = 5,
    EC_STX_REVOKE = 6,
    EC_STX_MAIN_ANCHOR = 7,
    EC_STX_ERASE = 8,
    EC_STX_SUSPEND = 9, /* the issuing agency suspends; REINSTATE lifts it             */
    EC_STX_REINSTATE = 10,
    EC_STX_CANCEL = 11,           /* ended at the holder's or the issuing agency's request       */
    EC_STX_CONTRACT_DEPLOY = 12,  /* a contract deployer publishes a new contract       */
    EC_STX_CONTRACT_UPGRADE = 13, /* its owner publishes a new version                   */
    EC_STX_CONTRACT_CALL = 14,    /* anyone calls one of its functions                   */
    EC_STX_CONTRACT_DECIDE = 15,  /* a holder of the named role settles an escalation     */
    EC_STX_EVIDENCE = 16,         /* anyone deposits the Merkle root of a batch of file hashes */
    EC_STX_MAX = 16,
};

enum {
    EC_ROLE_CA = 1,        /* certification authority                                   */
    EC_ROLE_ISSUER = 2,    /* issuing agency for one certificate type and organization  */
    EC_ROLE_INSPECTOR = 3, /* inspection agency for one certificate type and org        */
    EC_ROLE_SUPERVISOR = 4,
    EC_ROLE_DEPLOYER = 5, /* deploys contracts on one side chain, for one organization   */
    EC_ROLE_MAX = 5,
};

/* "ca", "issuer", "inspector", "supervisor", "deployer"; NULL for an unknown role. */
const char *ec_role_name(uint32_t role);
/* Parses a role name; returns 0 for an unknown name. */
uint32_t ec_role_parse(const char *name);
/* Name of a main- or side-chain tx type ("ISSUE"), or "UNKNOWN". */
const char *ec_tx_type_name(uint32_t chain_kind, uint64_t type);

/* ---- records: the main chain's append-only log of facts side chains need ---------------- */

enum {
    EC_REC_ROLE_GRANT = 1,  /* [seq, 1, pk: bin(32), role, cert_type, org_code]           */
    EC_REC_ROLE_REVOKE = 2, /* [seq, 2, pk: bin(32), role, cert_type, org_code]           */
    EC_REC_ATTEST = 3,      /* [seq, 3, pk: bin(32), identity_hash: bin(32)]              */
    EC_REC_KEY = 5,         /* [seq, 5, pk: bin(32), key: bin(32)]: the account whose
                             * identity key is pk now signs with key (all zero: with no
                             * key, revoked); every earlier signing key of it is retired */
    EC_REC_VALIDATOR = 4,   /* [seq, 4, pk: bin(32), power, chain_id]: side chain chain_id's
                               validator pk gets `power` (0 removes it)                    */
};

typedef struct {
    uint64_t seq;                         /* position in the log, from 0                      */
    uint32_t kind;                        /* EC_REC_*                                          */
    uint8_t pk[EC_PK_BYTES];              /* the account the fact is about                    */
    uint32_t role;                        /* grant/revoke                                      */
    char cert_type[EC_CERT_TYPE_MAX];     /* grant/revoke                                      */
    char org_code[EC_ORG_CODE_MAX];       /* grant/revoke                                      */
    uint8_t identity_hash[EC_HASH_BYTES]; /* attest                                          */
    uint64_t power;                       /* validator                                       */
    char chain_id[EC_CHAIN_ID_MAX];       /* validator: the side chain it is for             */
    uint8_t key[EC_PK_BYTES];             /* key: the new signing key (zero: revoked)        */
} ec_record_t;

void ec_record_encode(ec_writer_t *w, const ec_record_t *r);
EC_WUR int ec_record_decode(ec_record_t *r, const uint8_t *data, size_t size);
/* Leaf hash of an encoded record (EC_LEAF_RECORD). */
void ec_record_leaf(uint8_t out[EC_HASH_BYTES], const uint8_t *encoded, size_t size);

/*
 * The main chain's state root: SHA-256("ecert/mainstate" 0x00 || records_root ||
 * be64(records_count) || state_digest). A side chain recomputes it from the three values
 * in a MAIN_ANCHOR to check records against an anchored main header.
 */
void ec_main_state_root(uint8_t out[EC_HASH_BYTES], const uint8_t records_root[EC_HASH_BYTES],
                        uint64_t records_count, const uint8_t state_digest[EC_HASH_BYTES]);
/* A side chain's state root: SHA-256("ecert/sidestate" 0x00 || state_digest ||
 * mirror_records_count(be64) || status_root), status_root being its certificate status
 * list's (ec_slist.h). */
void ec_side_state_root(uint8_t out[EC_HASH_BYTES], const uint8_t state_digest[EC_HASH_BYTES],
                        uint64_t mirrored_records, const uint8_t status_root[EC_HASH_BYTES]);

/* ---- light client: what a chain knows of a foreign chain it accepts anchors from -------- */

/*
 * The last anchored foreign header. Initial state: height 0, hash = the foreign genesis
 * hash, hist_root = SHA-256("") (size 0).
 */
typedef struct {
    uint64_t height;
    uint8_t hash[EC_HASH_BYTES];
    uint8_t hist_root[EC_HASH_BYTES]; /* root over leaves 0..height-1                     */
    bool frozen;                      /* a fork was proven; no anchors until unfrozen     */
} ec_light_t;

/* Sets lc to the initial state for a foreign chain with this genesis hash. */
void ec_light_init(ec_light_t *lc, const uint8_t genesis_hash[EC_HASH_BYTES]);

/* [height, hash, hist_root, frozen] */
void ec_light_encode(ec_writer_t *w, const ec_light_t *lc);
EC_WUR int ec_light_decode(ec_light_t *lc, const uint8_t *data, size_t size);
/* Reads the same from a nested array (a query reply carries one); sticky, lc is zeroed on
 * any error. */
void ec_light_read(ec_cur_t *c, ec_light_t *lc);

/*
 * Checks a foreign header `h` with commit `c` against what the light client `lc` knows,
 * `vs` being the validator set that commits the foreign chain's blocks after lc->height
 * (the one lc's header named as next). Returns 0 (h extends the history: advance lc to h),
 * EC_EDUPLICATE (nothing new), EC_ECHAIN (chain id), EC_ESIG (the commit does not verify,
 * or h names another validator set than vs: the chain changed validators, and the header
 * naming the change must be anchored first), EC_EPROOF (a proof does not check: refused,
 * nothing learnt), EC_EFORK (proven: a validly committed header that is not the history lc
 * knows; the caller must freeze), EC_EFROZEN.
 *
 * Forward (h->height > lc->height): prev_path proves lc->hash as leaf lc->height of
 * h->hist_root (size h->height) and `consistency` proves lc->hist_root (size lc->height) a
 * prefix of h->hist_root. EC_EFORK needs proof, not just a proof that fails (a relay must not
 * freeze a chain by sending a real header with a garbage path): it is returned when
 * `consistency` reaches h->hist_root from another old root, or, with `claimed` set, when
 * prev_path proves `claimed` as leaf lc->height of h->hist_root and claimed differs from
 * lc->hash. RFC 9162 leaves the old root out of a consistency proof whose old size is a
 * power of two, so at those heights only the second form proves a fork: whoever holds the
 * diverging history names the block it holds there.
 *
 * At lc->height: a validly committed header other than lc's is a fork by itself.
 * Below lc->height: with `claimed` and prev_path proving it as leaf h->height of
 * lc->hist_root (size lc->height), a validly committed h whose hash differs is a fork;
 * without, EC_EDUPLICATE (cheaply, before any signature is checked).
 */
EC_WUR int ec_light_check(const ec_light_t *lc, const char *chain_id, const ec_header_t *h,
                          const ec_commit_t *c, const ec_valset_t *vs, const ec_hash32_t *prev_path,
                          size_t prev_len, const ec_hash32_t *consistency, size_t consistency_len,
                          const uint8_t *claimed, ec_status_t *st);
/* Moves lc to h (after ec_light_check returned 0). */
void ec_light_advance(ec_light_t *lc, const ec_header_t *h);

/* Reads a proof path [bin(32), ...] of at most EC_MERKLE_PROOF_MAX hashes. */
void ec_cur_path(ec_cur_t *c, ec_hash32_t *path, size_t *len);
void ec_write_path(ec_writer_t *w, const ec_hash32_t *path, size_t len);

#endif
