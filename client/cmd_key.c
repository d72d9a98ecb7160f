/*
 * cmd_key.c - an account's signing key: `key rotate` (signed by the current and the new
 * key), `key revoke`, and the recovery of a lost key: `key recover` (a certification
 * authority starts it), `key veto` (the current key stops it) and `key recover-finish`
 * (anyone, after the waiting period). The address stays: it is the identity, not the key.
 * Rules: docs/MAINCHAIN.md ("Signing keys").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_commands.h"

/* The current signing key of `address` (all zero when revoked), from the main chain. */
static int s_current_key(cl_ctx_t *ctx, const char *address, uint8_t key[EC_PK_BYTES])
{
    cl_account_t *acct = malloc(sizeof *acct); /* ~17 KB */
    if (!acct)
        return cl_fail(ctx, EC_ENOMEM, "out of memory");
    int rc = cl_account_get(ctx, address, acct);
    if (rc == 0)
        memcpy(key, acct->key, EC_PK_BYTES);
    free(acct);
    return rc;
}

/* The new key's proof for the account at `address` whose current key is `old`. */
static int s_proof(cl_ctx_t *ctx, const char *new_path, const char *address,
                   const uint8_t old[EC_PK_BYTES], uint8_t new_pk[EC_PK_BYTES],
                   uint8_t proof[EC_SIG_BYTES])
{
    ec_key_t *nk = cl_key_load(ctx, new_path);
    if (!nk)
        return 1;
    uint8_t hash[EC_ADDR_HASH_BYTES], msg[EC_KEY_PROOF_MSG_BYTES];
    if (ec_address_parse(hash, address) != 0) {
        ec_key_destroy(&nk);
        return cl_usage(ctx, "bad address %s", address);
    }
    memcpy(new_pk, ec_key_pk(nk), EC_PK_BYTES);
    ec_key_proof_msg(msg, hash, old, new_pk);
    ec_sign(proof, msg, sizeof msg, nk);
    ec_key_destroy(&nk);
    return 0;
}

static int s_done(cl_ctx_t *ctx, const cl_txres_t *res, const char *address, const char *what,
                  const uint8_t *key)
{
    char hex[2 * EC_PK_BYTES + 1] = "";
    if (key)
        ec_hex(hex, key, EC_PK_BYTES);
    json_t *obj = json_pack("{s:s,s:s}", "address", address, "done", what);
    if (key)
        json_object_set_new(obj, "key", json_string(hex));
    return cl_emit_txres(ctx, obj, res);
}

static const char s_help_rotate[] =
    "usage: ecert --key CURRENT key rotate --new-key FILE\n\n"
    "Replaces the key that signs for your account (KEY_ROTATE): signed by the current key,\n"
    "with a proof from the new one that it is held by you. The address stays: certificates,\n"
    "roles and attestation stay with the account. The old key signs nothing more on any\n"
    "chain (on a side chain once the relay brought the change, within seconds). Keep the\n"
    "old key file: certificates sealed to it before still open only with it.\n\n"
    "Options:\n"
    "  --new-key FILE   the new key (made with 'ecert account new --offline --out FILE')\n"
    "\nExample:\n  ecert account new --offline --out me-2026.key\n"
    "  ecert --key me.key key rotate --new-key me-2026.key\n" CL_GLOBAL_NOTE;

int cmd_key_rotate(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *new_path = NULL;
    const cl_opt_t opts[] = {{"new-key", CL_ARG_STR, &new_path}, {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_rotate, NULL);
    if (rc >= 0)
        return rc;
    if (!ctx->key_path)
        return cl_missing(ctx, "--key");
    if (!new_path)
        return cl_missing(ctx, "--new-key");
    uint8_t old[EC_PK_BYTES];
    char address[EC_ADDR_MAX];
    if (cl_key_file_pk(ctx, ctx->key_path, old) != 0 || cl_signer_current(ctx, old, address) != 0)
        return 1;
    ec_key_rotate_body_t b;
    if ((rc = s_proof(ctx, new_path, address, old, b.new_key, b.proof)))
        return rc;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_key_rotate_body_encode(&w, &b);
    cl_txres_t res;
    rc = cl_submit_signed(ctx, NULL, EC_MTX_KEY_ROTATE, &w, NULL, 0, &res, NULL);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    char hex[2 * EC_PK_BYTES + 1];
    ec_hex(hex, b.new_key, EC_PK_BYTES);
    cl_out(ctx, "%s now signs with key %s; the old key signs nothing more\n", address, hex);
    return s_done(ctx, &res, address, "rotated", b.new_key);
}

static const char s_help_revoke[] =
    "usage: ecert --key CURRENT key revoke --yes\n\n"
    "Revokes the key that signs for your account (KEY_REVOKE), say because it leaked: from\n"
    "then on no key signs for the account, nothing new can be sealed to it, and only a\n"
    "recovery by a certification authority ('ecert key recover') gives it a new key.\n\n"
    "Options:\n"
    "  --yes   you mean it (the revocation cannot be undone by this key)\n"
    "\nExample:\n  ecert --key me.key key revoke --yes\n" CL_GLOBAL_NOTE;

int cmd_key_revoke(cl_ctx_t *ctx, int argc, char **argv)
{
    bool yes = false;
    const cl_opt_t opts[] = {{"yes", CL_ARG_FLAG, &yes}, {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_revoke, NULL);
    if (rc >= 0)
        return rc;
    if (!yes)
        return cl_usage(ctx, "revoking leaves the account without a key until a recovery: "
                             "add --yes");
    if (!ctx->key_path)
        return cl_missing(ctx, "--key");
    uint8_t old[EC_PK_BYTES];
    char address[EC_ADDR_MAX];
    if (cl_key_file_pk(ctx, ctx->key_path, old) != 0 || cl_signer_current(ctx, old, address) != 0)
        return 1;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_empty_body_encode(&w);
    cl_txres_t res;
    rc = cl_submit_signed(ctx, NULL, EC_MTX_KEY_REVOKE, &w, NULL, 0, &res, NULL);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    cl_out(ctx, "%s has no signing key now: a certification authority can recover it\n", address);
    return s_done(ctx, &res, address, "revoked", NULL);
}

static const char s_help_recover[] =
    "usage: ecert --key CA key recover --address ADDR --new-key FILE\n\n"
    "Starts the recovery of an account whose key was lost or revoked (KEY_RECOVER), by a\n"
    "certification authority that has checked the person in front of it: the account must\n"
    "be an attested identity, and the new key (made by its holder) proves it is held. The\n"
    "new key takes over 72 hours of main-chain time later ('ecert key recover-finish');\n"
    "until then the account's current key, if it still exists, can stop it ('ecert key\n"
    "veto'): a recovery nobody asked for does not go through.\n\n"
    "Options:\n"
    "  --address ADDR   the account to recover\n"
    "  --new-key FILE   its holder's new key (its passphrase is asked for)\n"
    "\nExample:\n  ecert --key ca.key key recover --address ec1... --new-key "
    "li-hua-new.key\n" CL_GLOBAL_NOTE;

int cmd_key_recover(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *address = NULL, *new_path = NULL;
    const cl_opt_t opts[] = {
        {"address", CL_ARG_ADDRESS, &address}, {"new-key", CL_ARG_STR, &new_path}, {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_recover, NULL);
    if (rc >= 0)
        return rc;
    if (!ctx->key_path)
        return cl_missing(ctx, "--key");
    if (!address)
        return cl_missing(ctx, "--address");
    if (!new_path)
        return cl_missing(ctx, "--new-key");
    ec_key_recover_body_t b;
    memset(&b, 0, sizeof b);
    snprintf(b.address, sizeof b.address, "%s", address);
    uint8_t old[EC_PK_BYTES];
    if ((rc = s_current_key(ctx, address, old)) ||
        (rc = s_proof(ctx, new_path, address, old, b.new_key, b.proof)))
        return rc;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_key_recover_body_encode(&w, &b);
    cl_txres_t res;
    rc = cl_submit_signed(ctx, NULL, EC_MTX_KEY_RECOVER, &w, NULL, 0, &res, NULL);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    cl_out(ctx,
           "recovery of %s started: the new key takes over in 72 hours (ecert key "
           "recover-finish) unless the current key vetoes it\n",
           address);
    return s_done(ctx, &res, address, "recovery started", b.new_key);
}

static const char s_help_veto[] =
    "usage: ecert --key CURRENT key veto\n\n"
    "Stops a pending recovery of your account (KEY_VETO): signed by the key that signs for\n"
    "it now. 'ecert account pubkey ADDRESS' shows whether one is pending.\n"
    "\nExample:\n  ecert --key me.key key veto\n" CL_GLOBAL_NOTE;

int cmd_key_veto(cl_ctx_t *ctx, int argc, char **argv)
{
    const cl_opt_t opts[] = {{NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_veto, NULL);
    if (rc >= 0)
        return rc;
    if (!ctx->key_path)
        return cl_missing(ctx, "--key");
    uint8_t cur[EC_PK_BYTES];
    char address[EC_ADDR_MAX];
    if (cl_key_file_pk(ctx, ctx->key_path, cur) != 0 || cl_signer_current(ctx, cur, address) != 0)
        return 1;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_empty_body_encode(&w);
    cl_txres_t res;
    rc = cl_submit_signed(ctx, NULL, EC_MTX_KEY_VETO, &w, NULL, 0, &res, NULL);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    cl_out(ctx, "the pending recovery of %s is stopped\n", address);
    return s_done(ctx, &res, address, "vetoed", NULL);
}

static const char s_help_finish[] =
    "usage: ecert --key ANY key recover-finish --address ADDR\n\n"
    "Finishes a recovery whose waiting period is over (KEY_RECOVER_FINISH): the account\n"
    "signs with its new key from then on, and its former key signs nothing more. Anyone may\n"
    "send it (the holder, with the new key, usually).\n\n"
    "Options:\n"
    "  --address ADDR   the account being recovered\n"
    "\nExample:\n  ecert --key li-hua-new.key key recover-finish --address ec1...\n" CL_GLOBAL_NOTE;

int cmd_key_recover_finish(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *address = NULL;
    const cl_opt_t opts[] = {{"address", CL_ARG_ADDRESS, &address}, {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_finish, NULL);
    if (rc >= 0)
        return rc;
    if (!address)
        return cl_missing(ctx, "--address");
    ec_key_finish_body_t b;
    memset(&b, 0, sizeof b);
    snprintf(b.address, sizeof b.address, "%s", address);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_key_finish_body_encode(&w, &b);
    cl_txres_t res;
    rc = cl_submit_signed(ctx, NULL, EC_MTX_KEY_RECOVER_FINISH, &w, NULL, 0, &res, NULL);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    cl_out(ctx, "%s is recovered: it signs with its new key\n", address);
    return s_done(ctx, &res, address, "recovered", NULL);
}
