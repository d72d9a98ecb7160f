/*
 * cmd_account.c - `ecert account new|register|address|pubkey`: key pairs made on the
 * client (the secret key never leaves it, and is stored only encrypted), REGISTER on the
 * main chain, and account lookups.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cl_commands.h"

/* Submits REGISTER [name] signed by key, or by --key when key is NULL (then ch is NULL
 * and *address receives the key's address). 0, or 1/2. */
static int s_register(cl_ctx_t *ctx, cl_chain_t *ch, const ec_key_t *key, const char *name,
                      cl_txres_t *res, char address[EC_ADDR_MAX])
{
    ec_register_body_t b;
    snprintf(b.name, sizeof b.name, "%s", name); /* 1..EC_NAME_MAX-1 bytes: s_check_name */
    ec_writer_t body;
    ec_writer_init(&body);
    ec_register_body_encode(&body, &b);
    int rc = key ? cl_submit(ctx, ch, EC_MTX_REGISTER, key, &body, NULL, 0, res)
                 : cl_submit_signed(ctx, NULL, EC_MTX_REGISTER, &body, NULL, 0, res, address);
    ec_writer_fini(&body);
    return rc;
}

static int s_check_name(cl_ctx_t *ctx, const char *name)
{
    if (!name)
        return cl_missing(ctx, "--name");
    if (!*name || strlen(name) >= EC_NAME_MAX)
        return cl_usage(ctx, "--name must be 1..%d bytes", EC_NAME_MAX - 1);
    return 0;
}

static const char s_help_new[] =
    "usage: ecert account new --name NAME --out FILE [--offline]\n\n"
    "Makes an Ed25519 key pair on this machine, writes it to FILE encrypted with a\n"
    "passphrase (asked twice on the terminal, or --passphrase-file / $ECERT_PASSPHRASE),\n"
    "then registers NAME with the public key on the main chain (a REGISTER transaction\n"
    "signed by the new key). Prints the address and public key.\n\n"
    "Options:\n"
    "  --name NAME   the account's display name (1..127 bytes)\n"
    "  --out FILE    where to write the key file (must not exist)\n"
    "  --offline     only write the key file (validator and operator keys)\n"
    "\nExample:\n  ecert account new --name \"Zhang Wei\" --out zhangwei.key\n" CL_GLOBAL_NOTE;

int cmd_account_new(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *name = NULL, *out = NULL;
    bool offline = false;
    const cl_opt_t opts[] = {{"name", CL_ARG_STR, &name},
                             {"out", CL_ARG_STR, &out},
                             {"offline", CL_ARG_FLAG, &offline},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_new, NULL);
    if (rc >= 0)
        return rc;
    if (!out)
        return cl_missing(ctx, "--out");
    if (!offline && (rc = s_check_name(ctx, name)))
        return rc;
    if (access(out, F_OK) == 0)
        return cl_fail(ctx, EC_EEXIST, "%s already exists: not overwriting a key file", out);
    /* Check the config and chain before asking for a passphrase. */
    cl_chain_t *ch = NULL;
    if (!offline && !(ch = cl_main(ctx)))
        return 1;

    ec_key_t *key = ec_key_generate();
    if (!key)
        return cl_fail(ctx, EC_ENOMEM, "out of memory");
    char *pass = cl_passphrase(ctx, out, true);
    if (!pass) {
        ec_key_destroy(&key);
        return 1;
    }
    rc = ec_key_save(key, out, pass);
    cl_passphrase_free(&pass);
    if (rc) {
        ec_key_destroy(&key);
        return cl_fail(ctx, rc, "cannot write key file %s: %s", out, ec_strerror(rc));
    }
    char address[EC_ADDR_MAX], pk_hex[2 * EC_PK_BYTES + 1];
    ec_address_from_pk(address, ec_key_pk(key));
    ec_hex(pk_hex, ec_key_pk(key), EC_PK_BYTES);
    cl_out(ctx, "key file   %s (encrypted)\naddress    %s\npublic key %s\n", out, address, pk_hex);
    json_t *obj = json_pack("{s:s,s:s,s:s}", "key_file", out, "address", address, "pk", pk_hex);
    if (!offline) {
        cl_txres_t res;
        rc = s_register(ctx, ch, key, name, &res, NULL);
        if (rc) {
            /* Keep the node's reason and say what to do about the written key. */
            char why[sizeof ctx->err_msg];
            snprintf(why, sizeof why, "%s", ctx->err_msg);
            cl_fail(ctx, ctx->err_code,
                    "%s (the key file %s was written; retry with 'ecert account register "
                    "--key %s --name NAME')",
                    why, out, out);
            json_decref(obj);
            ec_key_destroy(&key);
            return 1;
        }
        json_object_set_new(obj, "name", json_string(name));
        cl_json_txres(obj, &res);
    }
    ec_key_destroy(&key);
    return cl_emit(ctx, obj);
}

static const char s_help_register[] =
    "usage: ecert account register --key FILE --name NAME\n\n"
    "Registers NAME and the key's public key on the main chain (REGISTER, signed by the\n"
    "key). 'account new' does this itself; use this for a key made with --offline or\n"
    "when the registration failed.\n\n"
    "Options:\n"
    "  --key FILE    the key file of the account to register\n"
    "  --name NAME   the account's display name (1..127 bytes)\n"
    "\nExample:\n  ecert account register --key zhangwei.key --name \"Zhang Wei\"\n" CL_GLOBAL_NOTE;

int cmd_account_register(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *name = NULL;
    const cl_opt_t opts[] = {{"name", CL_ARG_STR, &name}, {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_register, NULL);
    if (rc >= 0)
        return rc;
    if ((rc = s_check_name(ctx, name)))
        return rc;
    cl_txres_t res;
    char address[EC_ADDR_MAX];
    if ((rc = s_register(ctx, NULL, NULL, name, &res, address)))
        return rc;
    cl_out(ctx, "registered %s as %s\n", address, name);
    json_t *obj = json_pack("{s:s,s:s}", "address", address, "name", name);
    return cl_emit_txres(ctx, obj, &res);
}

static const char s_help_address[] =
    "usage: ecert account address --key FILE\n\n"
    "Prints the address and public key of a key file (no passphrase needed: the public\n"
    "key is stored in the clear).\n"
    "\nExample:\n  ecert account address --key zhangwei.key\n" CL_GLOBAL_NOTE;

int cmd_account_address(cl_ctx_t *ctx, int argc, char **argv)
{
    const cl_opt_t opts[] = {{NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_address, NULL);
    if (rc >= 0)
        return rc;
    if (!ctx->key_path)
        return cl_missing(ctx, "--key");
    uint8_t pk[EC_PK_BYTES];
    if (cl_key_file_pk(ctx, ctx->key_path, pk) != 0)
        return 1;
    char address[EC_ADDR_MAX], pk_hex[2 * EC_PK_BYTES + 1];
    ec_address_from_pk(address, pk);
    ec_hex(pk_hex, pk, sizeof pk);
    cl_out(ctx, "address    %s\npublic key %s\n", address, pk_hex);
    return cl_emit(ctx, json_pack("{s:s,s:s}", "address", address, "pk", pk_hex));
}

/* Prints an account (human or --json). Returns 0. */
static int s_show_account(cl_ctx_t *ctx, const cl_account_t *acct)
{
    char pk_hex[2 * EC_PK_BYTES + 1];
    ec_hex(pk_hex, acct->pk, sizeof acct->pk);
    cl_out(ctx,
           "address    %s\nname       %s\npublic key %s\nregistered at height %llu\n"
           "identity   %s\n",
           acct->address, acct->name, pk_hex, (unsigned long long)acct->height,
           acct->attested ? "attested" : "not attested");
    json_t *roles = json_array();
    for (size_t i = 0; i < acct->role_count; i++) {
        const char *rname = ec_role_name(acct->roles[i].role);
        cl_out(ctx, "role       %s%s%s%s%s\n", rname ? rname : "?",
               acct->roles[i].cert_type[0] ? " type=" : "", acct->roles[i].cert_type,
               acct->roles[i].org_code[0] ? " org=" : "", acct->roles[i].org_code);
        json_array_append_new(roles, json_pack("{s:s,s:s,s:s}", "role", rname ? rname : "?",
                                               "cert_type", acct->roles[i].cert_type, "org_code",
                                               acct->roles[i].org_code));
    }
    if (acct->role_count == 0)
        cl_out(ctx, "roles      none\n");
    static const uint8_t zero[EC_PK_BYTES];
    char key_hex[2 * EC_PK_BYTES + 1] = "", rec_hex[2 * EC_PK_BYTES + 1] = "", when[40] = "";
    bool revoked = memcmp(acct->key, zero, EC_PK_BYTES) == 0;
    if (!revoked)
        ec_hex(key_hex, acct->key, sizeof acct->key);
    if (revoked)
        cl_out(ctx, "signing    revoked: the account signs nothing until a recovery\n");
    else if (memcmp(acct->key, acct->pk, EC_PK_BYTES) != 0)
        cl_out(ctx, "signing    key %s (rotated)\n", key_hex);
    if (acct->recovery) {
        ec_hex(rec_hex, acct->recovery_key, sizeof acct->recovery_key);
        cl_format_time(when, sizeof when, acct->recovery_ready_ms);
        cl_out(ctx,
               "recovery   pending to key %.16s..., can finish from %s (the current key "
               "can veto it until then: ecert key veto)\n",
               rec_hex, when);
    }
    json_t *obj = json_pack("{s:s,s:s,s:s,s:I,s:b,s:o,s:s}", "address", acct->address, "name",
                            acct->name, "pk", pk_hex, "height", (json_int_t)acct->height,
                            "attested", acct->attested, "roles", roles, "key", key_hex);
    if (acct->recovery)
        json_object_set_new(obj, "recovery",
                            json_pack("{s:s,s:I}", "key", rec_hex, "ready_ms",
                                      (json_int_t)acct->recovery_ready_ms));
    return cl_emit(ctx, obj);
}

static const char s_help_pubkey[] =
    "usage: ecert account pubkey ADDRESS\n\n"
    "Looks an address up on the main chain: its public key, name, the height that\n"
    "registered it, whether a certification authority attested its identity, and its\n"
    "roles.\n"
    "\nExample:\n  ecert account pubkey "
    "ec1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh\n" CL_GLOBAL_NOTE;

int cmd_account_pubkey(cl_ctx_t *ctx, int argc, char **argv)
{
    const cl_opt_t opts[] = {{NULL}};
    const char *address = NULL;
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_pubkey, &address);
    if (rc >= 0)
        return rc;
    if (!address)
        return cl_missing(ctx, "ADDRESS");
    if ((rc = cl_check_address(ctx, "ADDRESS", address)))
        return rc;
    cl_account_t *acct = malloc(sizeof *acct); /* ~17 KB: up to EC_ACCOUNT_ROLES_MAX roles */
    if (!acct)
        return cl_fail(ctx, EC_ENOMEM, "out of memory");
    rc = cl_account_get(ctx, address, acct) ? 1 : s_show_account(ctx, acct);
    free(acct);
    return rc;
}
