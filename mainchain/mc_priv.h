/*
 * mc_priv.h - what the main chain's source files share inside the app: the account value
 * and the records log (mc_app.c), and accounts' signing keys (mc_keys.c). Not for other
 * programs: they use the queries of docs/PROTOCOL.md.
 */
#ifndef MC_PRIV_H
#define MC_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "ec_app.h"
#include "ec_body.h"
#include "ec_chain.h"

#define MC_KEY_MAX 128 /* longest state key the main chain builds, with room to spare      */

/* The key of a role held: "r/" h20 role(1) cert_type 0x00 org_code. Returns its size. */
size_t mc_role_key(uint8_t out[MC_KEY_MAX], const uint8_t hash[EC_ADDR_HASH_BYTES], uint64_t role,
                   const char *cert_type, const char *org_code);

/* A decoded account value ("a/" h20). */
typedef struct {
    char name[EC_NAME_MAX];
    uint8_t pk[EC_PK_BYTES]; /* the identity key: the address is its hash; never changes   */
    uint64_t height;         /* main height of the REGISTER                                 */
    bool attested;
    uint64_t roles[EC_ROLE_MAX + 1]; /* roles held, counted per role; [0] unused           */
    /* The key that signs for the account: pk until a rotation or recovery replaces it; all
     * zero once revoked (until a recovery gives it a new one). */
    uint8_t key[EC_PK_BYTES];
} mc_account_t;

/*
 * Loads the account with address hash `hash` (pending or committed state). Returns 0,
 * EC_ENOTFOUND (st names the address), EC_EIO or EC_EINTERNAL.
 */
EC_WUR int mc_account_load(ec_ledger_t *l, bool pending, ec_decoder_t *d,
                           const uint8_t hash[EC_ADDR_HASH_BYTES], mc_account_t *a,
                           ec_status_t *st);
/* Writes the account (w is scratch). */
void mc_account_store(ec_writer_t *w, ec_ledger_t *l, const uint8_t hash[EC_ADDR_HASH_BYTES],
                      const mc_account_t *a);
/* Reads a state value, pending or committed. Same returns as ec_ledger_get. */
EC_WUR int mc_state_get(ec_ledger_t *l, bool pending, const void *key, size_t key_size,
                        uint8_t **val, size_t *val_size);
/* A storage fault rc, said in st ("storage error: ..."). Returns rc. */
int mc_io(ec_status_t *st, int rc);
/* A stored value that does not decode: logged, EC_EINTERNAL in st. Returns EC_EINTERNAL. */
int mc_corrupt(ec_status_t *st, const char *what);
/* Appends record r (its seq is set here) to the records log. 0 or EC_EIO with st set. */
EC_WUR int mc_record_append(ec_writer_t *w, ec_ledger_t *l, ec_record_t *r, ec_status_t *st);

/* ---- mc_keys.c: signing keys of accounts ---------------------------------------------------- */

/*
 * The account whose current signing key is `pk` (pending state): its address hash and
 * value. Returns 0; EC_EPERM when pk signed for an account once but was rotated away or
 * revoked (st says which and for whom); EC_ENOTFOUND when no account has it; or a local
 * fault.
 */
EC_WUR int mc_signer(ec_ledger_t *l, ec_decoder_t *d, const uint8_t pk[EC_PK_BYTES],
                     uint8_t hash[EC_ADDR_HASH_BYTES], mc_account_t *a, ec_status_t *st);
/* Whether pk was ever a signing key of an account other than as its identity key ("k/"):
 * 1 (EC_EEXIST set in st, naming the account), 0, or a local fault. */
EC_WUR int mc_key_taken(ec_ledger_t *l, const uint8_t pk[EC_PK_BYTES], ec_status_t *st);

/* Stateless checks of KEY_ROTATE, KEY_REVOKE, KEY_RECOVER, KEY_VETO and KEY_RECOVER_FINISH. */
EC_WUR int mc_keys_check_tx(const ec_tx_t *tx, ec_status_t *st);
/* Their deliver_tx; w and d are the app's commit-thread scratch. */
EC_WUR int mc_keys_deliver(ec_writer_t *w, ec_decoder_t *d, ec_block_ctx_t *ctx, const ec_tx_t *tx,
                           ec_status_t *st);
/* Query "signer" [key: bin32] -> [address: str, state: str ("current", "retired",
 * "revoked")]: the account a key signs (or signed) for. ENOTFOUND for a key no account
 * ever had. */
EC_WUR int mc_keys_query_signer(ec_ledger_t *l, const msgpack_object *args, ec_writer_t *out,
                                ec_status_t *st);
/* The pending recovery of account `hash` (committed state): 1 with *new_key and *ready_ms
 * set, 0 when none, or a local fault. */
EC_WUR int mc_recovery_get(ec_ledger_t *l, const uint8_t hash[EC_ADDR_HASH_BYTES],
                           uint8_t new_key[EC_PK_BYTES], uint64_t *ready_ms, ec_status_t *st);

/* ---- mc_contract.c: contracts on the main chain (docs/CONTRACTS.md) ------------------------- */

/* Stateless checks of CONTRACT_DEPLOY, _UPGRADE, _CALL and _DECIDE: the genesis enables
 * contracts, and the body reads. */
EC_WUR int mc_contract_check_tx(const ec_genesis_t *g, const ec_tx_t *tx, ec_status_t *st);
/* Their deliver_tx (d: the commit thread's decoder). */
EC_WUR int mc_contract_deliver(ec_decoder_t *d, ec_block_ctx_t *ctx, const ec_tx_t *tx,
                               ec_status_t *st);
/* The contract queries (ec_cstate.h); 1 when `path` is none of them. */
int mc_contract_query(ec_ledger_t *l, const char *path, const msgpack_object *args,
                      ec_writer_t *out, ec_status_t *st);

#endif
