/*
 * mc_contract.c - contracts on the main chain (docs/CONTRACTS.md), for a main genesis that
 * enables them: the same transactions, state and queries as on a side chain
 * (common/ec_cstate.c), with what the main chain itself knows of a caller.
 *
 * - The caller is the account its key signs for (a rotated key acts as its account, a
 *   retired or revoked one is refused); a key no account has calls as itself.
 * - Deploying needs the deployer role held for the main chain: role 5 with no certificate
 *   type, for the organization the contract is deployed for.
 * - call.roles() lists every role the account holds ({role, org}, and `type` for a role of
 *   a certificate type); call.has_role(role, org) asks for any certificate type;
 *   call.attested() is the account's attestation.
 * Contract state keys are single upper-case letters ('X', 'Y', 'Z', 'E', 'W', 'D'): no
 * main-chain key starts with one (they are "a/", "r/", ...).
 */
#include <stdlib.h>
#include <string.h>

#include "ec_cstate.h"
#include "mc_priv.h"

/* The side-chain type of a main-chain contract transaction (the bodies are the same). */
static uint64_t s_side_type(uint64_t type)
{
    return type - EC_MTX_CONTRACT_DEPLOY + EC_STX_CONTRACT_DEPLOY;
}

int mc_contract_check_tx(const ec_genesis_t *g, const ec_tx_t *tx, ec_status_t *st)
{
    if (!(g->features & EC_GENESIS_F_CONTRACTS))
        return ec_status_set(
            st, EC_EPERM, "%s hosts no contracts (its genesis does not enable them)", g->chain_id);
    union {
        ec_contract_deploy_body_t deploy;
        ec_contract_call_body_t call;
        ec_contract_decide_body_t decide;
    } b;
    switch (tx->type) {
        case EC_MTX_CONTRACT_DEPLOY:
        case EC_MTX_CONTRACT_UPGRADE:
            return ec_contract_deploy_body_read(&b.deploy, tx->body, s_side_type(tx->type), st);
        case EC_MTX_CONTRACT_CALL:
            return ec_contract_call_body_read(&b.call, tx->body, st);
        default:
            return ec_contract_decide_body_read(&b.decide, tx->body, st);
    }
}

/* ---- what the main chain knows of a caller (ec_cfacts_t) -------------------------------- */

typedef struct {
    ec_writer_t items;
    uint32_t count;
    uint32_t role; /* has_role: the role asked for (0: list them all)                   */
    const char *org;
} s_roles_t;

/* One "r/" h20 role(1) cert_type 0x00 org_code key. */
static int s_role_fn(void *vctx, const uint8_t *key, size_t ks, const uint8_t *val, size_t vs)
{
    (void)val, (void)vs;
    s_roles_t *r = vctx;
    size_t at = 2 + EC_ADDR_HASH_BYTES;
    const uint8_t *nul = ks > at + 1 ? memchr(key + at + 1, 0, ks - at - 1) : NULL;
    if (!nul)
        return EC_EINTERNAL;
    const char *ct = (const char *)key + at + 1, *org = (const char *)nul + 1;
    size_t ct_len = (size_t)(nul - (key + at + 1)), org_len = ks - (size_t)(nul + 1 - key);
    if (r->role) /* has_role: a match ends the scan */
        return !r->org || (strlen(r->org) == org_len && memcmp(r->org, org, org_len) == 0);
    const char *name = ec_role_name(key[at]);
    if (!name || r->count >= EC_ACCOUNT_ROLES_MAX)
        return 0;
    ec_write_map(&r->items, ct_len ? 3 : 2);
    ec_write_cstr(&r->items, "org");
    ec_write_str(&r->items, org, org_len);
    ec_write_cstr(&r->items, "role");
    ec_write_cstr(&r->items, name);
    if (ct_len) {
        ec_write_cstr(&r->items, "type");
        ec_write_str(&r->items, ct, ct_len);
    }
    r->count++;
    return 0;
}

/* Scans the roles of the account of identity key pk: the prefix "r/" h20 [role]. */
static int s_role_scan(ec_ledger_t *l, bool pending, const uint8_t *pk, uint32_t role, s_roles_t *r)
{
    uint8_t prefix[MC_KEY_MAX], hash[EC_ADDR_HASH_BYTES];
    ec_address_hash(hash, pk);
    size_t n = mc_role_key(prefix, hash, 0, "", "") - 2; /* "r/" h20 */
    if (role)
        prefix[n++] = (uint8_t)role;
    return pending ? ec_ledger_scan_pending(l, EC_CF_STATE, prefix, n, NULL, 0, UINT32_MAX,
                                            s_role_fn, r)
                   : ec_ledger_scan(l, EC_CF_STATE, prefix, n, NULL, 0, 0, s_role_fn, r);
}

static int s_facts_roles(const void *app, ec_ledger_t *l, bool pending, const uint8_t *pk,
                         ec_writer_t *out)
{
    (void)app;
    s_roles_t r = {.count = 0};
    ec_writer_init(&r.items);
    int rc = s_role_scan(l, pending, pk, 0, &r);
    if (rc == 0) {
        ec_write_array(out, r.count);
        ec_write_raw(out, ec_writer_data(&r.items), ec_writer_size(&r.items));
    }
    ec_writer_fini(&r.items);
    return rc;
}

static int s_facts_has_role(const void *app, ec_ledger_t *l, bool pending, const uint8_t *pk,
                            uint32_t role, const char *org)
{
    (void)app;
    if (role == 0 || role > EC_ROLE_MAX)
        return 0;
    s_roles_t r = {.role = role, .org = org && org[0] ? org : NULL};
    ec_writer_init(&r.items);
    int rc = s_role_scan(l, pending, pk, role, &r);
    ec_writer_fini(&r.items);
    return rc;
}

static int s_facts_attested(const void *app, ec_ledger_t *l, bool pending, const uint8_t *pk)
{
    (void)app;
    uint8_t hash[EC_ADDR_HASH_BYTES];
    ec_address_hash(hash, pk);
    mc_account_t a;
    ec_status_t st;
    ec_decoder_t d; /* queries run on the RPC thread: not the commit thread's decoder */
    ec_decoder_init(&d);
    int rc = mc_account_load(l, pending, &d, hash, &a, &st);
    ec_decoder_fini(&d);
    return rc == 0 ? a.attested : rc == EC_ENOTFOUND ? 0 : rc;
}

static const ec_cfacts_t s_facts = {NULL, s_facts_roles, s_facts_has_role, s_facts_attested};

/* ---- deliver ------------------------------------------------------------------------------ */

int mc_contract_deliver(ec_decoder_t *d, ec_block_ctx_t *ctx, const ec_tx_t *tx, ec_status_t *st)
{
    int rc = mc_contract_check_tx(ctx->genesis, tx, st);
    if (rc != 0)
        return rc;
    /* The sender as the account it signs for. */
    ec_tx_t as = *tx;
    uint8_t hash[EC_ADDR_HASH_BYTES];
    mc_account_t a;
    rc = mc_signer(ctx->ledger, d, tx->sender, hash, &a, st);
    if (rc == 0)
        memcpy(as.sender, a.pk, EC_PK_BYTES);
    else if (rc != EC_ENOTFOUND)
        return rc;
    bool registered = rc == 0;
    switch (tx->type) {
        case EC_MTX_CONTRACT_DEPLOY:
        case EC_MTX_CONTRACT_UPGRADE: {
            ec_contract_deploy_body_t b;
            rc = ec_contract_deploy_body_read(&b, tx->body, s_side_type(tx->type), st);
            if (rc != 0)
                return rc;
            /* The deployer role for the main chain: no certificate type (one for a side
             * chain's type deploys there, not here). */
            int held = 0;
            if (registered) {
                uint8_t key[MC_KEY_MAX], *val = NULL;
                size_t vs = 0, ks = mc_role_key(key, hash, EC_ROLE_DEPLOYER, "", b.org_code);
                held = mc_state_get(ctx->ledger, true, key, ks, &val, &vs);
                free(val);
                held = held == 0 ? 1 : held == EC_ENOTFOUND ? 0 : held;
            }
            if (held < 0)
                return mc_io(st, held);
            if (!held) {
                char addr[EC_ADDR_MAX];
                ec_address_from_pk(addr, as.sender);
                return ec_status_set(st, EC_EPERM,
                                     "sender %s is not a contract deployer of org %s for the "
                                     "main chain",
                                     addr, b.org_code);
            }
            as.type = s_side_type(tx->type);
            return ec_cstate_deploy(ctx, &as, &b, st);
        }
        case EC_MTX_CONTRACT_CALL: {
            ec_contract_call_body_t b;
            rc = ec_contract_call_body_read(&b, tx->body, st);
            return rc ? rc : ec_cstate_call(ctx, &as, &b, &s_facts, st);
        }
        default: {
            ec_contract_decide_body_t b;
            rc = ec_contract_decide_body_read(&b, tx->body, st);
            return rc ? rc : ec_cstate_decide(ctx, &as, &b, &s_facts, st);
        }
    }
}

int mc_contract_query(ec_ledger_t *l, const char *path, const msgpack_object *args,
                      ec_writer_t *out, ec_status_t *st)
{
    return ec_cstate_query(l, path, args, &s_facts, out, st);
}
