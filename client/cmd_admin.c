/*
 * cmd_admin.c - governance and set-up commands: organizations, roles, identity
 * attestation, side-chain registration and governance (validator set, unfreeze: main-chain
 * transactions signed by an operator or a certification authority), and genesis files for
 * new chains (local only).
 *
 * The identity hash is computed by cl_identity_hash (cl_fields.h) from the attributes and
 * the certification authorities' salt file, so the same person always gives the same hash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_commands.h"

/* Submits one main-chain transaction signed by --key, or under `gov propose` proposes it
 * (cmd_gov_submit). 0, CL_PROPOSED, or 1/2. */
static int s_submit_main(cl_ctx_t *ctx, uint64_t type, const ec_writer_t *body, cl_txres_t *res)
{
    return cmd_gov_submit(ctx, type, body, res);
}

/* --address given and well formed. 0 or 2. */
static int s_check_address(cl_ctx_t *ctx, const char *address)
{
    if (!address)
        return cl_missing(ctx, "--address");
    return cl_check_address(ctx, "--address", address);
}

static int s_check_len(cl_ctx_t *ctx, const char *opt, const char *v, size_t cap)
{
    if (!v)
        return cl_missing(ctx, opt);
    if (!*v || strlen(v) >= cap)
        return cl_usage(ctx, "%s must be 1..%zu bytes", opt, cap - 1);
    return 0;
}

/* ---- org register ----------------------------------------------------------------------- */

static const char s_help_org[] =
    "usage: ecert org register --key OPERATOR --code CODE --name NAME\n"
    "                          [--billing public|commercial]\n\n"
    "Registers an organization (an ORG transaction signed by an operator key named in the\n"
    "main genesis). Roles for issuing and inspection agencies name its code. Its billing\n"
    "class says whether the inspections it records are free (a public-service body, the\n"
    "default) or billed (a commercial one): 'ecert usage' reports them so.\n\n"
    "Options:\n"
    "  --code CODE       organization code, e.g. a unified social credit code (1..31 bytes)\n"
    "  --name NAME       organization name (1..127 bytes)\n"
    "  --billing CLASS   public (default) or commercial\n"
    "\nExample:\n  ecert org register --key operator.key --code 12100000400000624D "
    "--name \"Peking University\"\n" CL_GLOBAL_NOTE;

int cmd_org_register(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *code = NULL, *name = NULL, *billing = "public";
    const cl_opt_t opts[] = {{"code", CL_ARG_STR, &code},
                             {"name", CL_ARG_STR, &name},
                             {"billing", CL_ARG_STR, &billing},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_org, NULL);
    if (rc >= 0)
        return rc;
    if ((rc = s_check_len(ctx, "--code", code, EC_ORG_CODE_MAX)) ||
        (rc = s_check_len(ctx, "--name", name, EC_NAME_MAX)))
        return rc;
    ec_org_body_t b;
    if (strcmp(billing, "public") == 0)
        b.billing = EC_BILLING_PUBLIC;
    else if (strcmp(billing, "commercial") == 0)
        b.billing = EC_BILLING_COMMERCIAL;
    else
        return cl_usage(ctx, "--billing must be public or commercial, not '%s'", billing);
    snprintf(b.org_code, sizeof b.org_code, "%s", code); /* lengths checked above */
    snprintf(b.name, sizeof b.name, "%s", name);
    ec_writer_t body;
    ec_writer_init(&body);
    ec_org_body_encode(&body, &b);
    cl_txres_t res;
    rc = s_submit_main(ctx, EC_MTX_ORG, &body, &res);
    ec_writer_fini(&body);
    if (rc)
        return rc;
    cl_out(ctx, "organization %s (%s, %s) registered\n", code, name, billing);
    json_t *obj = json_pack("{s:s,s:s,s:s}", "org_code", code, "name", name, "billing", billing);
    return cl_emit_txres(ctx, obj, &res);
}

/* ---- role grant / revoke ---------------------------------------------------------------- */

static const char s_help_grant[] =
    "usage: ecert role grant --key OPERATOR --address ADDR --role ROLE [--type CERT_TYPE]\n"
    "                        [--org CODE]\n\n"
    "Grants a role to a registered address (ROLE_GRANT, signed by an operator).\n\n"
    "Options:\n"
    "  --address ADDR    the account that gets the role\n"
    "  --role ROLE       ca | issuer | inspector | supervisor | deployer\n"
    "  --type CERT_TYPE  certificate type (needed for issuer and inspector; for deployer,\n"
    "                    the side chain whose contracts it deploys: none for the main\n"
    "                    chain's)\n"
    "  --org CODE        organization code (needed for issuer, inspector and deployer;\n"
    "                    optional for ca)\n"
    "\nExample:\n  ecert role grant --key operator.key --address ec1q... --role issuer "
    "--type degree --org 12100000400000624D\n" CL_GLOBAL_NOTE;

static const char s_help_revoke[] =
    "usage: ecert role revoke --key OPERATOR --address ADDR --role ROLE [--type CERT_TYPE]\n"
    "                         [--org CODE]\n\n"
    "Revokes a role (ROLE_REVOKE, signed by an operator). The options must name the role\n"
    "exactly as it was granted.\n\n"
    "Options:\n"
    "  --address ADDR    the account that loses the role\n"
    "  --role ROLE       ca | issuer | inspector | supervisor | deployer\n"
    "  --type CERT_TYPE  certificate type (issuer and inspector; a deployer's, if it has one)\n"
    "  --org CODE        organization code (issuer, inspector and deployer)\n"
    "\nExample:\n  ecert role revoke --key operator.key --address ec1q... --role issuer "
    "--type degree --org 12100000400000624D\n" CL_GLOBAL_NOTE;

static int s_role(cl_ctx_t *ctx, int argc, char **argv, bool grant)
{
    const char *address = NULL, *role_name = NULL, *type = "", *org = "";
    const cl_opt_t opts[] = {{"address", CL_ARG_STR, &address},
                             {"role", CL_ARG_STR, &role_name},
                             {"type", CL_ARG_STR, &type},
                             {"org", CL_ARG_STR, &org},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, grant ? s_help_grant : s_help_revoke, NULL);
    if (rc >= 0)
        return rc;
    if ((rc = s_check_address(ctx, address)))
        return rc;
    if (!role_name)
        return cl_missing(ctx, "--role");
    uint32_t role = ec_role_parse(role_name);
    if (role == 0)
        return cl_usage(ctx,
                        "--role must be ca, issuer, inspector, supervisor or deployer, not '%s'",
                        role_name);
    if ((role == EC_ROLE_ISSUER || role == EC_ROLE_INSPECTOR) && (!*type || !*org))
        return cl_usage(ctx, "the %s role needs --type and --org", role_name);
    if (role == EC_ROLE_DEPLOYER && !*org)
        return cl_usage(ctx, "the deployer role needs --org (and --type for a side chain's "
                             "contracts; none for the main chain's)");
    if (strlen(type) >= EC_CERT_TYPE_MAX || strlen(org) >= EC_ORG_CODE_MAX)
        return cl_usage(ctx, "--type must be under %d bytes and --org under %d", EC_CERT_TYPE_MAX,
                        EC_ORG_CODE_MAX);
    ec_role_body_t b = {.role = role};
    snprintf(b.address, sizeof b.address, "%s", address); /* checked above, as type and org */
    snprintf(b.cert_type, sizeof b.cert_type, "%s", type);
    snprintf(b.org_code, sizeof b.org_code, "%s", org);
    ec_writer_t body;
    ec_writer_init(&body);
    ec_role_body_encode(&body, &b);
    cl_txres_t res;
    rc = s_submit_main(ctx, grant ? EC_MTX_ROLE_GRANT : EC_MTX_ROLE_REVOKE, &body, &res);
    ec_writer_fini(&body);
    if (rc)
        return rc;
    cl_out(ctx, "role %s %s %s%s%s%s%s\n", ec_role_name(role),
           grant ? "granted to" : "revoked from", address, *type ? " type=" : "", type,
           *org ? " org=" : "", org);
    json_t *obj = json_pack("{s:s,s:s,s:s,s:s,s:b}", "address", address, "role", ec_role_name(role),
                            "cert_type", type, "org_code", org, "granted", grant);
    return cl_emit_txres(ctx, obj, &res);
}

int cmd_role_grant(cl_ctx_t *ctx, int argc, char **argv)
{
    return s_role(ctx, argc, argv, true);
}

int cmd_role_revoke(cl_ctx_t *ctx, int argc, char **argv)
{
    return s_role(ctx, argc, argv, false);
}

/* ---- identity attest -------------------------------------------------------------------- */

static const char s_help_attest[] =
    "usage: ecert identity attest --key CA --address ADDR --attr NAME=VALUE [--attr ...]\n"
    "                             [--salt-file FILE]\n\n"
    "Attests that ADDR belongs to the real person described by the attributes (ATTEST,\n"
    "signed by a certification authority). Only a salted hash goes on chain:\n"
    "  SHA-256(\"ecert/identity\" 0x00 || salt || msgpack [[name, value]...])\n"
    "with the attributes sorted by name (byte order) and the salt the whole content of the\n"
    "CA salt file (identity_salt_file in the client config, at least 16 bytes). The main\n"
    "chain refuses a second account for the same person (EEXIST).\n\n"
    "Options:\n"
    "  --address ADDR        the account to attest\n"
    "  --attr NAME=VALUE     an identity attribute (repeatable; names unique)\n"
    "  --salt-file FILE      the CA salt file (default: identity_salt_file from the config)\n"
    "\nExample:\n  ecert identity attest --key ca.key --address ec1q... "
    "--attr id_number=110101199003071234 --attr name=\"Zhang Wei\"\n" CL_GLOBAL_NOTE;

/* The --attr values given so far. */
typedef struct {
    char names[CL_ATTRS_MAX][CL_FIELD_NAME_MAX + 1];
    cl_attr_t attrs[CL_ATTRS_MAX];
    size_t count;
} s_attrs_t;

/* cl_opt_t handler for --attr NAME=VALUE. */
static int s_opt_attr(cl_ctx_t *ctx, const char *value, void *out)
{
    s_attrs_t *a = out;
    if (a->count == CL_ATTRS_MAX)
        return cl_usage(ctx, "more than %d --attr", CL_ATTRS_MAX);
    ec_status_t st = {0};
    if (cl_split_arg(value, a->names[a->count], &a->attrs[a->count].value, &st))
        return cl_usage(ctx, "--attr %s", st.msg);
    a->attrs[a->count].name = a->names[a->count];
    a->count++;
    return 0;
}

int cmd_identity_attest(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *address = NULL, *salt_file = NULL;
    s_attrs_t a; /* per call: no attribute of an earlier invocation survives */
    memset(&a, 0, sizeof a);
    const cl_opt_t opts[] = {{"address", CL_ARG_STR, &address},
                             {"attr", CL_ARG_FN, &a, NULL, s_opt_attr},
                             {"salt-file", CL_ARG_STR, &salt_file},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_attest, NULL);
    if (rc >= 0)
        return rc;
    if ((rc = s_check_address(ctx, address)))
        return rc;
    if (a.count == 0)
        return cl_missing(ctx, "--attr NAME=VALUE");
    if (!salt_file) {
        cl_config_t *cfg = cl_config(ctx);
        if (!cfg)
            return 1;
        if (!cfg->identity_salt_file[0])
            return cl_fail(ctx, EC_ECONFIG,
                           "no identity salt: give --salt-file or set identity_salt_file in %s "
                           "(certification authorities only)",
                           cfg->path);
        salt_file = cfg->identity_salt_file;
    }
    uint8_t *salt = NULL;
    size_t salt_size = 0;
    if (cl_read_file(ctx, salt_file, 64 * 1024, &salt, &salt_size))
        return 1;
    uint8_t identity_hash[EC_HASH_BYTES];
    ec_status_t st = {0};
    rc = cl_identity_hash(identity_hash, salt, salt_size, a.attrs, a.count, &st);
    sodium_memzero(salt, salt_size);
    free(salt);
    if (rc)
        return cl_fail_st(ctx, &st, salt_size < CL_IDENTITY_SALT_MIN ? salt_file : NULL);
    ec_attest_body_t b;
    snprintf(b.address, sizeof b.address, "%s", address); /* checked above */
    memcpy(b.identity_hash, identity_hash, sizeof identity_hash);
    ec_writer_t body;
    ec_writer_init(&body);
    ec_attest_body_encode(&body, &b);
    cl_txres_t res;
    rc = s_submit_main(ctx, EC_MTX_ATTEST, &body, &res);
    ec_writer_fini(&body);
    if (rc)
        return rc;
    char hex[2 * EC_HASH_BYTES + 1];
    ec_hex(hex, identity_hash, sizeof identity_hash);
    cl_out(ctx, "identity of %s attested (identity hash %s)\n", address, hex);
    json_t *obj = json_pack("{s:s,s:s}", "address", address, "identity_hash", hex);
    return cl_emit_txres(ctx, obj, &res);
}

/* ---- sidechain register ----------------------------------------------------------------- */

static const char s_help_sidechain[] =
    "usage: ecert sidechain register --key OPERATOR --genesis FILE\n\n"
    "Registers a side chain on the main chain (SIDECHAIN, signed by an operator) from its\n"
    "genesis file: from then on the main chain accepts its anchors, and the certificate\n"
    "type is served by that chain.\n\n"
    "Options:\n"
    "  --genesis FILE   the side chain's genesis (from 'ecert genesis side')\n"
    "\nExample:\n  ecert sidechain register --key operator.key --genesis "
    "degree/genesis.yaml\n" CL_GLOBAL_NOTE;

int cmd_sidechain_register(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *path = NULL;
    const cl_opt_t opts[] = {{"genesis", CL_ARG_STR, &path}, {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_sidechain, NULL);
    if (rc >= 0)
        return rc;
    if (!path)
        return cl_missing(ctx, "--genesis");
    ec_sidechain_body_t b;
    memset(&b, 0, sizeof b);
    const ec_genesis_t *g = &b.genesis;
    ec_status_t st = {0};
    if (ec_genesis_load(&b.genesis, path, &st))
        return cl_fail_st(ctx, &st, NULL);
    if (g->kind != EC_CHAIN_SIDE)
        return cl_fail(ctx, EC_ECHAIN, "%s is not a side-chain genesis", path);
    ec_writer_t body;
    ec_writer_init(&body);
    ec_sidechain_body_encode(&body, &b);
    cl_txres_t res;
    rc = s_submit_main(ctx, EC_MTX_SIDECHAIN, &body, &res);
    ec_writer_fini(&body);
    if (rc)
        return rc;
    uint8_t hash[EC_HASH_BYTES];
    char hex[2 * EC_HASH_BYTES + 1];
    ec_genesis_hash(hash, g);
    ec_hex(hex, hash, sizeof hash);
    cl_out(ctx, "side chain %s (%s) registered, genesis hash %s\n", g->chain_id, g->cert_type, hex);
    json_t *obj = json_pack("{s:s,s:s,s:s}", "chain_id", g->chain_id, "cert_type", g->cert_type,
                            "genesis_hash", hex);
    return cl_emit_txres(ctx, obj, &res);
}

/* ---- sidechain update ------------------------------------------------------------------- */

static int s_opt_validator(cl_ctx_t *ctx, const char *path, void *out);

static const char s_help_side_update[] =
    "usage: ecert sidechain update --key OPERATOR --chain-id ID\n"
    "                              (--validator-key FILE [--validator-key ...] |\n"
    "                               --keep-validators) [--unfreeze]\n\n"
    "Governance over a registered side chain (SIDECHAIN_UPDATE, signed by an operator):\n"
    "replaces the validator set the main chain checks that chain's anchors against (the\n"
    "registered genesis is kept), and with --unfreeze lifts the freeze a proven fork put on\n"
    "it. After an unfreeze the main chain resumes from its last anchored (pre-fork) header:\n"
    "the next anchor must extend that history, so unfreeze only once the side chain's\n"
    "validators run the history the main chain anchored (see docs/OPERATIONS.md).\n\n"
    "Options:\n"
    "  --chain-id ID          the registered side chain\n"
    "  --validator-key FILE   a validator of the new set (repeatable, up to 32, power 1\n"
    "                         each, in the order of the side chain's own set)\n"
    "  --keep-validators      keep the current set (only while it is still the genesis set:\n"
    "                         after a change, give the set with --validator-key)\n"
    "  --unfreeze             clear the chain's freeze (refused when it is not frozen)\n"
    "\nExamples:\n  ecert sidechain update --key operator.key --chain-id ecert-degree-dev "
    "--validator-key dv1.key --validator-key dv2.key\n"
    "  ecert sidechain update --key operator.key --chain-id ecert-degree-dev "
    "--keep-validators --unfreeze\n" CL_GLOBAL_NOTE;

/*
 * --keep-validators: the current set, from main `query sidechain [chain_id]`. The reply
 * carries the registered genesis and the current set's hash only, so this works while the
 * set is still the genesis one (hashes equal); after a change it asks for --validator-key.
 * 0, or 1/2 with the error recorded.
 */
static int s_current_valset(cl_ctx_t *ctx, const char *chain_id, ec_valset_t *vs)
{
    cl_chain_t *main = cl_main(ctx);
    if (!main)
        return 1;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 1);
    ec_write_cstr(&w, chain_id);
    ec_rpc_reply_t r;
    int rc = cl_query(ctx, main, "sidechain", &w, &r, 0);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    ec_genesis_t g;
    const uint8_t *genesis = NULL;
    size_t genesis_size = 0;
    uint8_t vs_hash[EC_HASH_BYTES], g_hash[EC_HASH_BYTES];
    ec_cur_t c;
    ec_cur_open(&c, r.result, 3);
    ec_cur_bin(&c, &genesis, &genesis_size, EC_TX_BYTES_MAX);
    ec_cur_object(&c); /* light client */
    ec_cur_bin_fixed(&c, vs_hash, sizeof vs_hash);
    rc = ec_cur_finish(&c);
    if (rc == 0)
        rc = ec_genesis_decode(&g, genesis, genesis_size);
    ec_rpc_reply_fini(&r);
    if (rc)
        return cl_garbled(ctx, main, "query sidechain");
    ec_valset_hash(g_hash, &g.validators);
    if (memcmp(g_hash, vs_hash, EC_HASH_BYTES) != 0)
        return cl_usage(ctx,
                        "the validators of %s were changed since registration: give the current "
                        "set with --validator-key instead of --keep-validators",
                        chain_id);
    *vs = g.validators;
    return 0;
}

int cmd_sidechain_update(cl_ctx_t *ctx, int argc, char **argv)
{
    ec_valset_t vs;
    memset(&vs, 0, sizeof vs);
    const char *chain_id = NULL;
    bool keep = false, unfreeze = false;
    const cl_opt_t opts[] = {{"chain-id", CL_ARG_STR, &chain_id},
                             {"validator-key", CL_ARG_FN, &vs, NULL, s_opt_validator},
                             {"keep-validators", CL_ARG_FLAG, &keep},
                             {"unfreeze", CL_ARG_FLAG, &unfreeze},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_side_update, NULL);
    if (rc >= 0)
        return rc;
    if ((rc = s_check_len(ctx, "--chain-id", chain_id, EC_CHAIN_ID_MAX)))
        return rc;
    if (!ec_chain_id_valid(chain_id))
        return cl_usage(ctx, "--chain-id must be 1..63 of a-z, 0-9 and '-'");
    if (keep == (vs.count > 0))
        return cl_usage(ctx, "give either --validator-key (one or more) or --keep-validators");
    if (keep && !unfreeze)
        return cl_usage(ctx, "--keep-validators without --unfreeze changes nothing");
    if (keep && (rc = s_current_valset(ctx, chain_id, &vs)))
        return rc;
    ec_writer_t body;
    ec_writer_init(&body);
    ec_write_array(&body, 3);
    ec_write_cstr(&body, chain_id);
    ec_valset_encode(&body, &vs);
    ec_write_bool(&body, unfreeze);
    cl_txres_t res;
    rc = s_submit_main(ctx, EC_MTX_SIDECHAIN_UPDATE, &body, &res);
    ec_writer_fini(&body);
    if (rc)
        return rc;
    uint8_t hash[EC_HASH_BYTES];
    char hex[2 * EC_HASH_BYTES + 1];
    ec_valset_hash(hash, &vs);
    ec_hex(hex, hash, sizeof hash);
    cl_out(ctx, "side chain %s: %u validator%s (set hash %s)%s\n", chain_id, vs.count,
           vs.count == 1 ? "" : "s", hex, unfreeze ? ", unfrozen" : "");
    json_t *obj = json_pack("{s:s,s:I,s:s,s:b}", "chain_id", chain_id, "validators",
                            (json_int_t)vs.count, "valset_hash", hex, "unfrozen", unfreeze);
    return cl_emit_txres(ctx, obj, &res);
}

/* ---- validator set ------------------------------------------------------------------------ */

static const char s_help_validator[] =
    "usage: ecert validator set --key OPERATOR (--validator-key FILE | --validator-pk HEX)\n"
    "                           --power N [--type TYPE]\n\n"
    "Governance over the validators that run a chain, one validator at a time, signed by an\n"
    "operator of the main chain. Without --type it changes the main chain's own set\n"
    "(VALIDATOR_UPDATE); with --type it changes that side chain's set (SIDECHAIN_VALIDATOR,\n"
    "carried to the side chain as a record it applies when the relay next brings it main\n"
    "headers). Power 0 removes the validator; a key not in the set joins with that power.\n"
    "The change is in force two blocks after the block that makes it; the main chain, the\n"
    "side chains and the relay follow it on their own (docs/OPERATIONS.md, \"Adding or\n"
    "removing a validator\"). Start a joining validator's node before adding it.\n\n"
    "Options:\n"
    "  --validator-key FILE  the validator's key file (read without its passphrase)\n"
    "  --validator-pk HEX    or its public key, 64 hex digits\n"
    "  --power N             its voting power, 0 (remove) to 2^48\n"
    "  --type TYPE           a side chain's certificate type (default: the main chain)\n"
    "\nExamples:\n  ecert validator set --key operator.key --validator-key v5.key --power 1\n"
    "  ecert validator set --key operator.key --type degree --validator-key dv4.key "
    "--power 0\n" CL_GLOBAL_NOTE;

int cmd_validator_set(cl_ctx_t *ctx, int argc, char **argv)
{
    ec_valset_t vs;
    memset(&vs, 0, sizeof vs);
    uint8_t pk[EC_PK_BYTES];
    bool have_pk = false, have_power = false;
    uint64_t power = 0;
    const char *type = NULL;
    const cl_opt_t opts[] = {{"validator-key", CL_ARG_FN, &vs, NULL, s_opt_validator},
                             {"validator-pk", CL_ARG_HASH, pk, &have_pk},
                             {"power", CL_ARG_U64, &power, &have_power},
                             {"type", CL_ARG_STR, &type},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_validator, NULL);
    if (rc >= 0)
        return rc;
    if ((vs.count > 0) == have_pk || vs.count > 1)
        return cl_usage(ctx, "give one validator: --validator-key FILE or --validator-pk HEX");
    if (!have_power)
        return cl_missing(ctx, "--power");
    if (power > EC_VALIDATOR_POWER_MAX)
        return cl_usage(ctx, "--power must be 0 to %llu",
                        (unsigned long long)EC_VALIDATOR_POWER_MAX);
    if (vs.count == 1)
        memcpy(pk, vs.v[0].pk, EC_PK_BYTES);
    const char *chain_id = NULL;
    if (type) {
        cl_chain_t *side = cl_side(ctx, type);
        if (!side)
            return 1;
        chain_id = side->chain_id;
    }
    ec_writer_t body;
    ec_writer_init(&body);
    ec_write_array(&body, chain_id ? 3 : 2);
    if (chain_id)
        ec_write_cstr(&body, chain_id);
    ec_write_bin(&body, pk, EC_PK_BYTES);
    ec_write_uint(&body, power);
    cl_txres_t res;
    rc = s_submit_main(ctx, chain_id ? EC_MTX_SIDECHAIN_VALIDATOR : EC_MTX_VALIDATOR_UPDATE, &body,
                       &res);
    ec_writer_fini(&body);
    if (rc)
        return rc;
    char hex[2 * EC_PK_BYTES + 1];
    ec_hex(hex, pk, EC_PK_BYTES);
    const char *chain = chain_id ? chain_id : cl_main(ctx)->chain_id;
    /* A side chain's change crosses chains: main block N only records it; the side chain
     * applies it in one of its own blocks, and the two-block delay counts from there. */
    if (chain_id)
        cl_out(ctx,
               "validator %s of %s: power %llu (%s), recorded in main block %llu; the side "
               "chain applies it when the relay brings it the record, in force two side-chain "
               "blocks after the block that applies it\n",
               hex, chain, (unsigned long long)power, power ? "set" : "removed",
               (unsigned long long)res.height);
    else
        cl_out(ctx,
               "validator %s of %s: power %llu (%s), in force two blocks after main block %llu\n",
               hex, chain, (unsigned long long)power, power ? "set" : "removed",
               (unsigned long long)res.height);
    json_t *obj =
        json_pack("{s:s,s:s,s:I}", "chain_id", chain, "validator", hex, "power", (json_int_t)power);
    return cl_emit_txres(ctx, obj, &res);
}

/* ---- genesis main / side ---------------------------------------------------------------- */

/* Adds pk (named `what` in errors) to the validator set vs with power 1: 0 or a usage error. */
static int s_add_validator(cl_ctx_t *ctx, ec_valset_t *vs, const uint8_t pk[EC_PK_BYTES],
                           const char *what)
{
    if (vs->count == EC_VALIDATORS_MAX)
        return cl_usage(ctx, "more than %d validators", EC_VALIDATORS_MAX);
    for (uint32_t i = 0; i < vs->count; i++)
        if (!memcmp(vs->v[i].pk, pk, EC_PK_BYTES))
            return cl_usage(ctx, "validator %s given twice", what);
    memcpy(vs->v[vs->count].pk, pk, EC_PK_BYTES);
    vs->v[vs->count].power = 1;
    vs->count++;
    return 0;
}

/* cl_opt_t handler for --validator-key: adds the public key of a key file (read without a
 * passphrase) to the validator set `out`. */
static int s_opt_validator(cl_ctx_t *ctx, const char *path, void *out)
{
    uint8_t pk[EC_PK_BYTES];
    if (cl_key_file_pk(ctx, path, pk) != 0)
        return 1;
    return s_add_validator(ctx, out, pk, path);
}

/*
 * Reads a public key given on the command line as 64 hex digits into pk, refusing one that
 * is no usable Ed25519 point (ec_curve_pk: a typo is caught here rather than as a validator
 * no peer can ever connect to). 0, or a usage error (2) naming opt.
 */
static int s_opt_pk(cl_ctx_t *ctx, const char *opt, const char *hex, uint8_t pk[EC_PK_BYTES])
{
    uint8_t curve[EC_CURVE_KEY_BYTES];
    int rc = cl_parse_hash(ctx, opt, hex, pk);
    if (rc)
        return rc;
    if (ec_curve_pk(curve, pk) != 0)
        return cl_usage(ctx, "%s: '%s' is not a usable Ed25519 public key", opt, hex);
    return 0;
}

/* cl_opt_t handler for --validator-pk: as --validator-key, with the public key itself (64
 * hex digits), so a genesis can be written from keys that never left their hosts. */
static int s_opt_validator_pk(cl_ctx_t *ctx, const char *hex, void *out)
{
    uint8_t pk[EC_PK_BYTES];
    int rc = s_opt_pk(ctx, "--validator-pk", hex, pk);
    return rc ? rc : s_add_validator(ctx, out, pk, hex);
}

int cl_opt_operator_key(cl_ctx_t *ctx, const char *path, void *out)
{
    ec_genesis_t *g = out;
    if (g->operator_count == EC_OPERATORS_MAX)
        return cl_usage(ctx, "more than %d operators", EC_OPERATORS_MAX);
    if (cl_key_file_pk(ctx, path, g->operators[g->operator_count]) != 0)
        return 1;
    g->operator_count++;
    return 0;
}

int cl_opt_operator_pk(cl_ctx_t *ctx, const char *hex, void *out)
{
    ec_genesis_t *g = out;
    if (g->operator_count == EC_OPERATORS_MAX)
        return cl_usage(ctx, "more than %d operators", EC_OPERATORS_MAX);
    int rc = s_opt_pk(ctx, "--operator-pk", hex, g->operators[g->operator_count]);
    if (rc)
        return rc;
    g->operator_count++;
    return 0;
}

/* Fills in the chain id, kind and time, saves g to out and prints its hash. */
static int s_genesis_write(cl_ctx_t *ctx, ec_genesis_t *g, uint32_t kind, const char *chain_id,
                           uint64_t time_ms, const char *out)
{
    snprintf(g->chain_id, sizeof g->chain_id, "%s", chain_id);
    g->kind = kind;
    g->time_ms = time_ms;
    ec_status_t st = {0};
    if (ec_genesis_save(g, out, &st))
        return cl_fail_st(ctx, &st, NULL);
    uint8_t hash[EC_HASH_BYTES];
    char hex[2 * EC_HASH_BYTES + 1];
    ec_genesis_hash(hash, g);
    ec_hex(hex, hash, sizeof hash);
    cl_out(ctx, "wrote %s: %s chain %s%s%s, %u validator%s, genesis hash %s\n", out,
           g->kind == EC_CHAIN_MAIN ? "main" : "side", g->chain_id, g->cert_type[0] ? " type " : "",
           g->cert_type, g->validators.count, g->validators.count == 1 ? "" : "s", hex);
    return cl_emit(ctx, json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "file", out, "kind",
                                  g->kind == EC_CHAIN_MAIN ? "main" : "side", "chain_id",
                                  g->chain_id, "cert_type", g->cert_type, "validators",
                                  (json_int_t)g->validators.count, "genesis_hash", hex));
}

static const char s_help_gmain[] =
    "usage: ecert genesis main --chain-id ID (--validator-key FILE | --validator-pk HEX)...\n"
    "                          (--operator-key FILE | --operator-pk HEX)... --out FILE\n"
    "                          [--quorum M] [--contracts] [--time-ms N]\n\n"
    "Writes a main-chain genesis: validators (power 1 each) and operators (governance\n"
    "keys) come from the public halves of key files, so no passphrase is needed, or from\n"
    "public keys given as hex (keys made on other machines: deploy/gen). With --quorum M\n"
    "above 1, an operator action needs M operators: one proposes it and others approve\n"
    "it ('ecert gov').\n\n"
    "Options:\n"
    "  --chain-id ID          the new chain's id (1..63 bytes)\n"
    "  --validator-key FILE   a validator's key file (repeatable, up to 32)\n"
    "  --validator-pk HEX     or a validator's public key, 64 hex digits (repeatable; the\n"
    "                         set is in the order both options are given)\n"
    "  --operator-key FILE    an operator's key file (repeatable, up to 8)\n"
    "  --operator-pk HEX      or an operator's public key, 64 hex digits (repeatable)\n"
    "  --quorum M             operators an operator action needs (1..their number;\n"
    "                         default 1: each acts alone)\n"
    "  --contracts            the chain hosts contracts (docs/CONTRACTS.md)\n"
    "  --out FILE             the genesis YAML to write (must not exist)\n"
    "  --time-ms N            genesis time, ms since the epoch (default: now)\n"
    "\nExample:\n  ecert genesis main --chain-id ecert-main-dev --validator-key v1.key "
    "--operator-key operator.key --out main/genesis.yaml\n" CL_GLOBAL_NOTE;

int cmd_genesis_main(cl_ctx_t *ctx, int argc, char **argv)
{
    ec_genesis_t g;
    memset(&g, 0, sizeof g);
    const char *chain_id = NULL, *out = NULL;
    uint64_t time_ms = cl_now_ms(), quorum = 1;
    bool contracts = false;
    const cl_opt_t opts[] = {{"chain-id", CL_ARG_STR, &chain_id},
                             {"quorum", CL_ARG_U64, &quorum},
                             {"contracts", CL_ARG_FLAG, &contracts},
                             {"validator-key", CL_ARG_FN, &g.validators, NULL, s_opt_validator},
                             {"validator-pk", CL_ARG_FN, &g.validators, NULL, s_opt_validator_pk},
                             {"operator-key", CL_ARG_FN, &g, NULL, cl_opt_operator_key},
                             {"operator-pk", CL_ARG_FN, &g, NULL, cl_opt_operator_pk},
                             {"out", CL_ARG_STR, &out},
                             {"time-ms", CL_ARG_U64, &time_ms},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_gmain, NULL);
    if (rc >= 0)
        return rc;
    if ((rc = s_check_len(ctx, "--chain-id", chain_id, EC_CHAIN_ID_MAX)))
        return rc;
    if (g.validators.count == 0)
        return cl_missing(ctx, "--validator-key or --validator-pk");
    if (g.operator_count == 0)
        return cl_missing(ctx, "--operator-key or --operator-pk");
    if (quorum < 1 || quorum > g.operator_count)
        return cl_usage(ctx, "--quorum must be 1..%u (the operators given)", g.operator_count);
    g.operator_quorum = (uint32_t)quorum;
    g.features = contracts ? EC_GENESIS_F_CONTRACTS : 0;
    if (!out)
        return cl_missing(ctx, "--out");
    if (!ec_chain_id_valid(chain_id))
        return cl_usage(ctx, "--chain-id must be 1..63 of a-z, 0-9 and '-'");
    return s_genesis_write(ctx, &g, EC_CHAIN_MAIN, chain_id, time_ms, out);
}

static const char s_help_gside[] =
    "usage: ecert genesis side --chain-id ID --cert-type TYPE\n"
    "                          (--validator-key FILE | --validator-pk HEX)...\n"
    "                          --main-genesis FILE --out FILE [--time-ms N]\n"
    "                          [--main-freshness-ms N] [--contracts]\n\n"
    "Writes a side-chain genesis for one certificate type. It names the main chain it\n"
    "trusts: the main chain id, the main genesis hash and the main validators, all read\n"
    "from the main genesis file.\n\n"
    "Options:\n"
    "  --chain-id ID          the side chain's id (1..63 bytes)\n"
    "  --cert-type TYPE       certificate type served (degree, marriage, ...; 1..31 bytes)\n"
    "  --validator-key FILE   a validator's key file (repeatable, up to 32)\n"
    "  --validator-pk HEX     or a validator's public key, 64 hex digits (repeatable; the\n"
    "                         set is in the order both options are given)\n"
    "  --main-genesis FILE    the main chain's genesis file\n"
    "  --out FILE             the genesis YAML to write (must not exist)\n"
    "  --time-ms N            genesis time, ms since the epoch (default: now)\n"
    "  --main-freshness-ms N  refuse role-dependent transactions once the newest main\n"
    "                         header the side chain holds is older than this (default\n"
    "                         30000; the main chain needs heartbeat_ms at most a third)\n"
    "  --contracts            the chain hosts contracts (docs/CONTRACTS.md)\n"
    "\nExample:\n  ecert genesis side --chain-id ecert-degree-dev --cert-type degree "
    "--validator-key dv1.key --main-genesis main/genesis.yaml --out "
    "degree/genesis.yaml\n" CL_GLOBAL_NOTE;

int cmd_genesis_side(cl_ctx_t *ctx, int argc, char **argv)
{
    ec_genesis_t g, main_g;
    memset(&g, 0, sizeof g);
    const char *chain_id = NULL, *cert_type = NULL, *main_path = NULL, *out = NULL;
    uint64_t time_ms = cl_now_ms(), freshness_ms = EC_MAIN_FRESHNESS_MS_DEFAULT;
    bool contracts = false;
    const cl_opt_t opts[] = {{"chain-id", CL_ARG_STR, &chain_id},
                             {"contracts", CL_ARG_FLAG, &contracts},
                             {"cert-type", CL_ARG_STR, &cert_type},
                             {"main-freshness-ms", CL_ARG_U64, &freshness_ms},
                             {"validator-key", CL_ARG_FN, &g.validators, NULL, s_opt_validator},
                             {"validator-pk", CL_ARG_FN, &g.validators, NULL, s_opt_validator_pk},
                             {"main-genesis", CL_ARG_STR, &main_path},
                             {"out", CL_ARG_STR, &out},
                             {"time-ms", CL_ARG_U64, &time_ms},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_gside, NULL);
    if (rc >= 0)
        return rc;
    if ((rc = s_check_len(ctx, "--chain-id", chain_id, EC_CHAIN_ID_MAX)) ||
        (rc = s_check_len(ctx, "--cert-type", cert_type, EC_CERT_TYPE_MAX)))
        return rc;
    if (g.validators.count == 0)
        return cl_missing(ctx, "--validator-key or --validator-pk");
    if (!main_path)
        return cl_missing(ctx, "--main-genesis");
    if (!out)
        return cl_missing(ctx, "--out");
    if (!ec_chain_id_valid(chain_id))
        return cl_usage(ctx, "--chain-id must be 1..63 of a-z, 0-9 and '-'");
    if (!ec_cert_type_valid(cert_type))
        return cl_usage(ctx, "--cert-type must be 1..31 of a-z, 0-9, '_' and '-'");
    if (freshness_ms < EC_MAIN_FRESHNESS_MS_MIN || freshness_ms > 86400000u)
        return cl_usage(ctx, "--main-freshness-ms must be 1000..86400000");
    ec_status_t st = {0};
    if (ec_genesis_load(&main_g, main_path, &st))
        return cl_fail_st(ctx, &st, NULL);
    if (main_g.kind != EC_CHAIN_MAIN)
        return cl_fail(ctx, EC_ECHAIN, "%s is not a main-chain genesis", main_path);
    if (!strcmp(main_g.chain_id, chain_id))
        return cl_usage(ctx, "--chain-id must differ from the main chain's id");
    snprintf(g.cert_type, sizeof g.cert_type, "%s", cert_type);
    g.features = contracts ? EC_GENESIS_F_CONTRACTS : 0;
    snprintf(g.main_chain_id, sizeof g.main_chain_id, "%s", main_g.chain_id);
    ec_genesis_hash(g.main_genesis_hash, &main_g);
    g.main_validators = main_g.validators;
    g.main_freshness_ms = freshness_ms;
    return s_genesis_write(ctx, &g, EC_CHAIN_SIDE, chain_id, time_ms, out);
}
