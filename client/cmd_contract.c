/*
 * cmd_contract.c - contracts on a side chain or the main chain (`--type main`): `contract
 * deploy|upgrade|call|query|show|events|open|decisions|decide`. Arguments and results travel as
 * contract msgpack (ec_contract.h); on the command line they are JSON (jansson): objects become
 * maps with their keys in byte order, arrays arrays, integers integers, strings strings,
 * true/false/null as such; a JSON number with a fraction is refused (contracts see no floats).
 * docs/CONTRACTS.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_commands.h"
#include "cl_contract.h"
#include "ec_contract.h"

/* ---- JSON <-> contract msgpack ---------------------------------------------------------- */

/* --args JSON (an array, default []) into contract msgpack, with `extra` (one encoded
 * value, or NULL) as a last argument. 0 or 2. */
static int s_args(cl_ctx_t *ctx, const char *text, const ec_writer_t *extra, ec_writer_t *w)
{
    json_error_t err;
    json_t *j = json_loads(text ? text : "[]", 0, &err);
    if (!j)
        return cl_usage(ctx, "--args is not JSON: %s (column %d)", err.text, err.column);
    if (!json_is_array(j)) {
        json_decref(j);
        return cl_usage(ctx, "--args must be a JSON array of the function's arguments");
    }
    const char *why = NULL;
    if (extra) {
        ec_write_array(w, (uint32_t)json_array_size(j) + 1);
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) if (!why) why = cl_cvalue_from_json(v, w, 1);
        ec_write_raw(w, ec_writer_data(extra), ec_writer_size(extra));
    } else {
        why = cl_cvalue_from_json(j, w, 0);
    }
    json_decref(j);
    if (why)
        return cl_usage(ctx, "--args holds %s", why);
    if (ec_writer_size(w) > EC_CONTRACT_ARGS_TX_MAX)
        return cl_usage(ctx, "--args is over %u bytes encoded", EC_CONTRACT_ARGS_TX_MAX);
    return 0;
}

/* ---- the chain ------------------------------------------------------------------------- */

/* --type TYPE: a side chain, or "main" for the main chain (whose genesis may host
 * contracts too), connected. NULL with the error recorded. */
static cl_chain_t *s_chain(cl_ctx_t *ctx, const char *type)
{
    return strcmp(type, "main") == 0 ? cl_main(ctx) : cl_side(ctx, type);
}

/* ---- deploy, upgrade ------------------------------------------------------------------ */

static const char s_help_deploy[] =
    "usage: ecert --key DEPLOYER contract deploy|upgrade --type TYPE --name NAME --org CODE\n"
    "                                        --code FILE.lua\n\n"
    "Publishes a contract on the TYPE side chain (CONTRACT_DEPLOY), or a new version of it\n"
    "(CONTRACT_UPGRADE: its owner only; every version is kept). The key must hold the\n"
    "contract-deployer role for TYPE and the organization CODE on the main chain ('ecert\n"
    "role grant --role deployer --type TYPE --org CODE'). The chain compiles the code in\n"
    "its sandbox and refuses code that does not load (docs/CONTRACTS.md).\n\n"
    "Options:\n"
    "  --type TYPE     the side chain, or main for the main chain\n"
    "  --name NAME     the contract's name (1..63 of a-z 0-9 _ -)\n"
    "  --org CODE      the organization that deploys it\n"
    "  --code FILE     its Lua source (at most 14336 bytes)\n"
    "\nExample:\n  ecert --key tax-bureau.key contract deploy --type invoice --name invoice "
    "--org TAX-1 --code deploy/contracts/invoice.lua\n" CL_GLOBAL_NOTE;

static int s_deploy(cl_ctx_t *ctx, int argc, char **argv, uint64_t type)
{
    const char *side_type = NULL, *name = NULL, *org = NULL, *path = NULL;
    const cl_opt_t opts[] = {{"type", CL_ARG_STR, &side_type},
                             {"name", CL_ARG_STR, &name},
                             {"org", CL_ARG_STR, &org},
                             {"code", CL_ARG_STR, &path},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_deploy, NULL);
    if (rc >= 0)
        return rc;
    if (!side_type)
        return cl_missing(ctx, "--type");
    if (!name)
        return cl_missing(ctx, "--name");
    if (!org)
        return cl_missing(ctx, "--org");
    if (!path)
        return cl_missing(ctx, "--code");
    if (!ec_contract_name_valid(name))
        return cl_usage(ctx, "--name must be 1..63 of a-z 0-9 _ -");
    if (!ec_org_code_valid(org))
        return cl_usage(ctx, "--org must be 1..31 of A-Z a-z 0-9 -");
    if (!ctx->key_path)
        return cl_missing(ctx, "--key");
    cl_chain_t *side = s_chain(ctx, side_type);
    if (!side)
        return 1;
    uint8_t *code = NULL;
    size_t size = 0;
    if (cl_read_file(ctx, path, EC_CONTRACT_CODE_TX_MAX, &code, &size))
        return 1;
    cl_txres_t res;
    rc =
        cl_contract_deploy(ctx, side, type == EC_STX_CONTRACT_UPGRADE, name, org, code, size, &res);
    free(code);
    if (rc)
        return rc;
    cl_out(ctx, "contract %s %s on %s\n", name,
           type == EC_STX_CONTRACT_DEPLOY ? "deployed" : "upgraded", side->chain_id);
    return cl_emit_txres(ctx, json_pack("{s:s,s:s}", "name", name, "chain_id", side->chain_id),
                         &res);
}

int cmd_contract_deploy(cl_ctx_t *ctx, int argc, char **argv)
{
    return s_deploy(ctx, argc, argv, EC_STX_CONTRACT_DEPLOY);
}

int cmd_contract_upgrade(cl_ctx_t *ctx, int argc, char **argv)
{
    return s_deploy(ctx, argc, argv, EC_STX_CONTRACT_UPGRADE);
}

/* ---- call, query ---------------------------------------------------------------------- */

static const char s_help_call[] =
    "usage: ecert --key KEY contract call --type TYPE --name NAME --fn FUNCTION [--args JSON]\n"
    "       ecert contract query --type TYPE --name NAME --fn FUNCTION [--args JSON]\n\n"
    "call: runs FUNCTION of the contract in a signed transaction (CONTRACT_CALL) and prints\n"
    "its result. The contract sees your address as call.caller; its refusal (ECONTRACT,\n"
    "with its message) or going over its limits (ELIMIT) refuses the transaction.\n"
    "query: runs it against the committed state without a transaction; a function that\n"
    "tries to write is refused.\n\n"
    "Options:\n"
    "  --type TYPE      the side chain, or main for the main chain\n"
    "  --name NAME      the contract\n"
    "  --fn FUNCTION    the function\n"
    "  --args JSON      its arguments, a JSON array (default []); integers, strings,\n"
    "                   booleans, null, arrays and objects\n"
    "  --seal FILE      (call) add one last argument: {sealed = {ADDR = box, ...},\n"
    "  --to ADDR,...    sha256 = bin32}: FILE (at most 3072 bytes) sealed to the key that\n"
    "                   signs for each account now, and FILE's SHA-256; only the hash\n"
    "                   and the boxes reach the chain ('contract open' reads it back)\n"
    "\nExample:\n  ecert --key buyer.key contract call --type invoice --name invoice --fn accept "
    "--args '[\"INV-2026-0001\"]'\n" CL_GLOBAL_NOTE;

typedef struct {
    const char *type, *name, *fn, *args;
    const char *seal, *to; /* call only: a file sealed to the accounts in `to`         */
} s_call_opts_t;

#define S_SEAL_TO_MAX 8        /* accounts one --seal is sealed to                     */
#define S_SEAL_BYTES_MAX 3072u /* the file: sealed twice it still fits a transaction   */

static int s_cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/*
 * --seal FILE --to A,B: the argument {sealed = {A = box, B = box}, sha256 = hash} where
 * each box is FILE sealed to the key that signs for that account now (main chain), and
 * hash the SHA-256 of FILE. 0, or the exit status with the error recorded.
 */
static int s_sealed_arg(cl_ctx_t *ctx, const char *path, const char *to, ec_writer_t *out)
{
    char addrs[S_SEAL_TO_MAX][EC_ADDR_MAX];
    size_t n = 0;
    for (const char *p = to; *p;) {
        size_t len = strcspn(p, ",");
        if (n == S_SEAL_TO_MAX || len == 0 || len >= EC_ADDR_MAX)
            return cl_usage(ctx, "--to takes 1..%d addresses separated by commas", S_SEAL_TO_MAX);
        memcpy(addrs[n], p, len);
        addrs[n][len] = '\0';
        if (cl_check_address(ctx, "--to", addrs[n]))
            return 2;
        n++;
        p += len + (p[len] == ',');
    }
    if (n == 0)
        return cl_usage(ctx, "--to takes 1..%d addresses separated by commas", S_SEAL_TO_MAX);
    qsort(addrs, n, sizeof addrs[0], s_cmp_str); /* the canonical order of map keys */
    uint8_t *data = NULL;
    size_t size = 0;
    if (cl_read_file(ctx, path, S_SEAL_BYTES_MAX, &data, &size))
        return 1;
    cl_account_t *acct = malloc(sizeof *acct);
    uint8_t *box = malloc(size + EC_SEAL_OVERHEAD);
    int rc = acct && box ? 0 : cl_fail(ctx, EC_ENOMEM, "out of memory");
    ec_write_map(out, 2);
    ec_write_cstr(out, "sealed");
    ec_write_map(out, (uint32_t)n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (i > 0 && strcmp(addrs[i], addrs[i - 1]) == 0)
            rc = cl_usage(ctx, "--to names %s twice", addrs[i]);
        else if (cl_account_get(ctx, addrs[i], acct))
            rc = 1;
        else if (sodium_is_zero(acct->key, EC_PK_BYTES))
            rc = cl_fail(ctx, EC_EPERM, "account %s revoked its key: nothing can be sealed to it",
                         addrs[i]);
        else if (ec_seal(box, data, size, acct->key) != 0)
            rc = cl_fail(ctx, EC_EINVAL, "the key of %s is not a valid Ed25519 key", addrs[i]);
        else {
            ec_write_cstr(out, addrs[i]);
            ec_write_bin(out, box, size + EC_SEAL_OVERHEAD);
        }
    }
    uint8_t hash[EC_HASH_BYTES];
    ec_sha256(hash, data, size);
    ec_write_cstr(out, "sha256");
    ec_write_bin(out, hash, EC_HASH_BYTES);
    sodium_memzero(data, size);
    free(data);
    free(box);
    free(acct);
    return rc;
}

static int s_call_opts(cl_ctx_t *ctx, int argc, char **argv, s_call_opts_t *o, ec_writer_t *args)
{
    const cl_opt_t opts[] = {{"type", CL_ARG_STR, &o->type},
                             {"name", CL_ARG_STR, &o->name},
                             {"fn", CL_ARG_STR, &o->fn},
                             {"args", CL_ARG_STR, &o->args},
                             {"seal", CL_ARG_STR, &o->seal},
                             {"to", CL_ARG_STR, &o->to},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_call, NULL);
    if (rc >= 0)
        return rc;
    if (!o->type)
        return cl_missing(ctx, "--type");
    if (!o->name)
        return cl_missing(ctx, "--name");
    if (!o->fn)
        return cl_missing(ctx, "--fn");
    if (!ec_contract_name_valid(o->name))
        return cl_usage(ctx, "--name must be 1..63 of a-z 0-9 _ -");
    if (!o->fn[0] || strlen(o->fn) >= EC_CONTRACT_NAME_MAX)
        return cl_usage(ctx, "--fn must be 1..63 characters");
    if (!o->seal != !o->to)
        return cl_usage(ctx, "--seal and --to go together");
    ec_writer_t extra;
    ec_writer_init(&extra);
    rc = o->seal ? s_sealed_arg(ctx, o->seal, o->to, &extra) : 0;
    if (rc == 0)
        rc = s_args(ctx, o->args, o->seal ? &extra : NULL, args);
    ec_writer_fini(&extra);
    return rc ? rc : -1;
}

/* Prints a contract value as "result <json>", adds it to obj and emits obj; frees the value. */
static int s_show_result(cl_ctx_t *ctx, cl_chain_t *side, cl_cvalue_t *cv, json_t *obj)
{
    json_t *j = cl_cobject_json(cv->v, 0);
    cl_cvalue_fini(cv);
    if (!j) {
        json_decref(obj);
        return cl_garbled(ctx, side, "contract result");
    }
    char *text = cl_json_text(j);
    cl_out(ctx, "result %s\n", text ? text : "?");
    cl_json_text_free(text);
    json_object_set_new(obj, "result", j);
    return cl_emit(ctx, obj);
}

/* Prints what an applied call or decision (transaction res) returned, as the chain stored
 * it. */
static int s_applied_result(cl_ctx_t *ctx, cl_chain_t *side, const cl_txres_t *res,
                            const char *name, const char *fn)
{
    cl_cvalue_t cv;
    int rc = cl_contract_result(ctx, side, res->id, NULL, NULL, &cv, 0);
    if (rc)
        return rc;
    json_t *obj = json_pack("{s:s,s:s}", "name", name, "fn", fn);
    cl_json_txres(obj, res);
    return s_show_result(ctx, side, &cv, obj);
}

int cmd_contract_call(cl_ctx_t *ctx, int argc, char **argv)
{
    s_call_opts_t o = {0};
    ec_writer_t args;
    ec_writer_init(&args);
    int rc = s_call_opts(ctx, argc, argv, &o, &args);
    cl_chain_t *side = rc < 0 && ctx->key_path ? s_chain(ctx, o.type) : NULL;
    if (rc < 0 && !ctx->key_path)
        rc = cl_missing(ctx, "--key");
    else if (rc < 0 && !side)
        rc = 1;
    cl_txres_t res;
    cl_cvalue_t cv;
    bool run = rc < 0; /* else --help, or a usage error */
    if (run)
        rc = cl_contract_call(ctx, side, o.name, o.fn, &args, &res, &cv);
    ec_writer_fini(&args);
    if (!run || rc)
        return rc;
    json_t *obj = json_pack("{s:s,s:s}", "name", o.name, "fn", o.fn);
    cl_json_txres(obj, &res);
    return s_show_result(ctx, side, &cv, obj);
}

int cmd_contract_query(cl_ctx_t *ctx, int argc, char **argv)
{
    s_call_opts_t o = {0};
    ec_writer_t args;
    ec_writer_init(&args);
    int rc = s_call_opts(ctx, argc, argv, &o, &args);
    if (rc < 0 && o.seal)
        rc = cl_usage(ctx, "--seal and --to are for 'contract call'");
    cl_chain_t *side = rc < 0 ? s_chain(ctx, o.type) : NULL;
    if (rc < 0 && !side)
        rc = 1;
    cl_cvalue_t cv;
    bool run = rc < 0; /* else --help, or a usage error */
    if (run)
        rc = cl_contract_query(ctx, side, o.name, o.fn, &args, &cv);
    ec_writer_fini(&args);
    if (!run || rc)
        return rc;
    return s_show_result(ctx, side, &cv, json_pack("{s:s,s:s}", "name", o.name, "fn", o.fn));
}

/* ---- show, events --------------------------------------------------------------------- */

static const char s_help_show[] =
    "usage: ecert contract show --type TYPE --name NAME [--code]\n"
    "       ecert contract events --type TYPE --name NAME [--from N]\n\n"
    "show: the contract's owner, organization, version, code hash, the height of its last\n"
    "version and its event count; with --code, its source. events: its events in order\n"
    "(up to 256 from --from), each with the block height, the function that emitted it and\n"
    "its data as JSON.\n"
    "\nExample:\n  ecert contract show --type invoice --name invoice\n" CL_GLOBAL_NOTE;

/* --type and --name given: the side chain, connected. 0 with *side, or the exit status. */
static int s_named(cl_ctx_t *ctx, const char *type, const char *name, cl_chain_t **side)
{
    if (!type || !name)
        return cl_missing(ctx, !type ? "--type" : "--name");
    if (!ec_contract_name_valid(name))
        return cl_usage(ctx, "--name must be 1..63 of a-z 0-9 _ -");
    *side = s_chain(ctx, type);
    return *side ? 0 : 1;
}

int cmd_contract_show(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *type = NULL, *name = NULL;
    bool code = false;
    const cl_opt_t opts[] = {{"type", CL_ARG_STR, &type},
                             {"name", CL_ARG_STR, &name},
                             {"code", CL_ARG_FLAG, &code},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_show, NULL);
    if (rc >= 0)
        return rc;
    cl_chain_t *side = NULL;
    if ((rc = s_named(ctx, type, name, &side)))
        return rc;
    ec_writer_t q;
    ec_writer_init(&q);
    ec_write_array(&q, 1);
    ec_write_cstr(&q, name);
    ec_rpc_reply_t r;
    rc = cl_query(ctx, side, "contract", &q, &r, 0);
    ec_writer_fini(&q);
    if (rc)
        return rc;
    ec_cur_t c;
    uint8_t owner[EC_PK_BYTES], hash[EC_HASH_BYTES];
    char org[EC_ORG_CODE_MAX];
    uint64_t version = 0, height = 0, events = 0;
    const uint8_t *src = NULL;
    size_t src_size = 0;
    const char *skip = NULL;
    size_t skip_len = 0;
    ec_cur_open(&c, r.result, 8);
    ec_cur_str(&c, &skip, &skip_len, EC_CONTRACT_NAME_MAX);
    ec_cur_bin_fixed(&c, owner, EC_PK_BYTES);
    ec_cur_str_copy(&c, org, sizeof org);
    ec_cur_uint(&c, &version);
    ec_cur_bin_fixed(&c, hash, EC_HASH_BYTES);
    ec_cur_uint(&c, &height);
    ec_cur_uint(&c, &events);
    ec_cur_bin(&c, &src, &src_size, EC_CONTRACT_CODE_MAX);
    if (ec_cur_finish(&c)) {
        ec_rpc_reply_fini(&r);
        return cl_garbled(ctx, side, "contract");
    }
    char addr[EC_ADDR_MAX], hex[2 * EC_HASH_BYTES + 1];
    ec_address_from_pk(addr, owner);
    ec_hex(hex, hash, EC_HASH_BYTES);
    cl_out(ctx,
           "contract     %s on %s\nowner        %s (org %s)\nversion      %llu (from height "
           "%llu)\ncode sha256  %s\nevents       %llu\n",
           name, side->chain_id, addr, org, (unsigned long long)version, (unsigned long long)height,
           hex, (unsigned long long)events);
    if (code)
        cl_out(ctx, "\n%.*s\n", (int)src_size, (const char *)src);
    json_t *obj =
        json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:I,s:I}", "name", name, "chain_id", side->chain_id,
                  "owner", addr, "org_code", org, "version", (json_int_t)version, "code_sha256",
                  hex, "height", (json_int_t)height, "events", (json_int_t)events);
    if (code)
        json_object_set_new(obj, "code", json_stringn((const char *)src, src_size));
    ec_rpc_reply_fini(&r);
    return cl_emit(ctx, obj);
}

int cmd_contract_events(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *type = NULL, *name = NULL;
    uint64_t from = 0;
    const cl_opt_t opts[] = {{"type", CL_ARG_STR, &type},
                             {"name", CL_ARG_STR, &name},
                             {"from", CL_ARG_U64, &from},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_show, NULL);
    if (rc >= 0)
        return rc;
    cl_chain_t *side = NULL;
    if ((rc = s_named(ctx, type, name, &side)))
        return rc;
    ec_writer_t q;
    ec_writer_init(&q);
    ec_write_array(&q, 2);
    ec_write_cstr(&q, name);
    ec_write_uint(&q, from);
    ec_rpc_reply_t r;
    rc = cl_query(ctx, side, "contract_events", &q, &r, 0);
    ec_writer_fini(&q);
    if (rc)
        return rc;
    json_t *list = json_array();
    ec_cur_t c;
    ec_cur_open_max(&c, r.result, 256);
    for (uint32_t i = 0; !c.err && i < c.count; i++) {
        ec_cur_t e, body;
        uint64_t seq = 0, height = 0;
        char fn[EC_CONTRACT_NAME_MAX], ev[64];
        const uint8_t *data = NULL;
        size_t size = 0;
        ec_cur_enter(&c, &e, 2);
        ec_cur_uint(&e, &seq);
        ec_cur_enter(&e, &body, 4);
        ec_cur_uint(&body, &height);
        ec_cur_str_copy(&body, fn, sizeof fn);
        ec_cur_str_copy(&body, ev, sizeof ev);
        ec_cur_bin(&body, &data, &size, EC_CONTRACT_VALUE_MAX);
        ec_cur_fold(&e, &body);
        ec_cur_fold(&c, &e);
        json_t *j = c.err ? NULL : cl_cvalue_json(data, size);
        if (!j)
            break;
        char *text = cl_json_text(j);
        cl_out(ctx, "%llu  height %llu  %s  %s %s\n", (unsigned long long)seq,
               (unsigned long long)height, fn, ev, text ? text : "?");
        cl_json_text_free(text);
        json_array_append_new(list,
                              json_pack("{s:I,s:I,s:s,s:s,s:o}", "seq", (json_int_t)seq, "height",
                                        (json_int_t)height, "fn", fn, "event", ev, "data", j));
    }
    rc = ec_cur_finish(&c);
    ec_rpc_reply_fini(&r);
    if (rc) {
        json_decref(list);
        return cl_garbled(ctx, side, "contract_events");
    }
    if (json_array_size(list) == 0)
        cl_out(ctx, "no events from %llu\n", (unsigned long long)from);
    return cl_emit(ctx, json_pack("{s:s,s:o}", "name", name, "events", list));
}

/* ---- open: what was sealed to you --------------------------------------------------- */

static const char s_help_open[] =
    "usage: ecert --key KEY contract open --type TYPE --name NAME --fn FUNCTION [--args JSON]\n"
    "                                     [--out FILE]\n\n"
    "Runs FUNCTION as 'contract query' does and opens what its result holds for you: the\n"
    "result must be a map with sealed = {ADDR = box, ...} and sha256 (what 'contract call\n"
    "--seal' stores). The box for your account is opened with KEY and checked against the\n"
    "hash; the contents go to FILE (mode 0600) or to standard output. Nothing is sent.\n"
    "\nExample:\n  ecert --key buyer.key contract open --type invoice --name invoice --fn get "
    "--args '[\"INV-2026-0001\"]'\n" CL_GLOBAL_NOTE;

/* Opens the box for `address` in contract value v; writes it to out or stdout. */
static int s_open_value(cl_ctx_t *ctx, const msgpack_object *v, const char *address,
                        const char *out)
{
    int rc = 0;
    const msgpack_object *sealed = cl_cv_get(v, "sealed");
    const msgpack_object *hash = cl_cv_get(v, "sha256");
    const msgpack_object *box = sealed ? cl_cv_get(sealed, address) : NULL;
    if (rc == 0 && (!sealed || !hash || hash->type != MSGPACK_OBJECT_BIN ||
                    hash->via.bin.size != EC_HASH_BYTES))
        rc = cl_fail(ctx, EC_ENOTFOUND, "the result holds no sealed contents");
    else if (rc == 0 &&
             (!box || box->type != MSGPACK_OBJECT_BIN || box->via.bin.size <= EC_SEAL_OVERHEAD))
        rc = cl_fail(ctx, EC_EPERM, "nothing in the result is sealed to %s", address);
    ec_key_t *key = rc ? NULL : cl_key_load(ctx, NULL);
    if (rc == 0 && !key)
        rc = 1;
    size_t n = rc ? 0 : box->via.bin.size - EC_SEAL_OVERHEAD;
    uint8_t *plain = rc ? NULL : malloc(n);
    if (rc == 0 && !plain)
        rc = cl_fail(ctx, EC_ENOMEM, "out of memory");
    if (rc == 0 && ec_unseal(plain, (const uint8_t *)box->via.bin.ptr, box->via.bin.size, key) != 0)
        rc = cl_fail(ctx, EC_ECRYPTO,
                     "the box for %s does not open with this key (sealed to "
                     "a key the account used before?)",
                     address);
    uint8_t got[EC_HASH_BYTES];
    if (rc == 0) {
        ec_sha256(got, plain, n);
        if (memcmp(got, hash->via.bin.ptr, EC_HASH_BYTES) != 0)
            rc = cl_fail(ctx, EC_ECRYPTO, "the contents do not match the hash on chain");
    }
    if (rc == 0 && out)
        rc = cl_write_private(ctx, out, plain, n);
    else if (rc == 0 && fwrite(plain, 1, n, stdout) != n)
        rc = cl_fail(ctx, EC_EIO, "cannot write to standard output");
    if (plain) {
        sodium_memzero(plain, n);
        free(plain);
    }
    ec_key_destroy(&key);
    return rc;
}

int cmd_contract_open(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *type = NULL, *name = NULL, *fn = NULL, *args_text = NULL, *out = NULL;
    const cl_opt_t opts[] = {{"type", CL_ARG_STR, &type}, {"name", CL_ARG_STR, &name},
                             {"fn", CL_ARG_STR, &fn},     {"args", CL_ARG_STR, &args_text},
                             {"out", CL_ARG_STR, &out},   {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_open, NULL);
    if (rc >= 0)
        return rc;
    if (!fn)
        return cl_missing(ctx, "--fn");
    if (!ctx->key_path)
        return cl_missing(ctx, "--key");
    cl_chain_t *side = NULL;
    if ((rc = s_named(ctx, type, name, &side)))
        return rc;
    uint8_t pk[EC_PK_BYTES];
    char address[EC_ADDR_MAX];
    if (cl_key_file_pk(ctx, ctx->key_path, pk) || cl_signer_current(ctx, pk, address))
        return 1;
    ec_writer_t args;
    ec_writer_init(&args);
    rc = s_args(ctx, args_text, NULL, &args);
    cl_cvalue_t cv;
    if (rc == 0 && (rc = cl_contract_query(ctx, side, name, fn, &args, &cv)) == 0) {
        rc = s_open_value(ctx, cv.v, address, out);
        cl_cvalue_fini(&cv);
    }
    ec_writer_fini(&args);
    if (rc == 0 && out) {
        cl_out(ctx, "opened: %s\n", out);
        cl_emit(ctx, json_pack("{s:s,s:s,s:s}", "name", name, "fn", fn, "out", out));
    }
    return rc;
}

/* ---- decisions, decide ---------------------------------------------------------------- */

static const char s_help_decisions[] =
    "usage: ecert contract decisions --type TYPE --name NAME [--pending] [--from ID] [--id ID]\n"
    "       ecert --key KEY contract decide --type TYPE --name NAME --id ID --decision JSON\n\n"
    "decisions: the contract's escalations (up to 64 from --from, or the one --id names):\n"
    "who may settle each (a role, for an organization or any), the request, and once\n"
    "decided, by whom, at which height and what. --pending leaves out the decided ones.\n"
    "decide: settles decision ID (CONTRACT_DECIDE). KEY must hold the role the decision\n"
    "names; the chain calls the contract's on_decision(id, request, decision) and prints\n"
    "its result. A decision is settled once.\n\n"
    "Options:\n"
    "  --decision JSON  the decision, any JSON value the contract understands\n"
    "\nExample:\n  ecert --key officer.key contract decide --type business --name license "
    "--id 3 --decision '\"approve\"'\n" CL_GLOBAL_NOTE;

/* One decision answer as text and JSON (NULL: it does not read). */
static json_t *s_decision_json(cl_ctx_t *ctx, const msgpack_object *o)
{
    cl_decision_t d;
    bool decided = false;
    json_t *request = NULL, *decision = NULL;
    if (cl_decision_read(&d, o) == 0) {
        decided = d.decided_height != 0;
        request = cl_cvalue_json(d.request, d.request_size);
        decision = decided && request ? cl_cvalue_json(d.decision, d.decision_size) : json_null();
    }
    if (!request || !decision) {
        json_decref(request);
        json_decref(decision);
        return NULL;
    }
    char txh[2 * EC_HASH_BYTES + 1], dtxh[2 * EC_HASH_BYTES + 1];
    ec_hex(txh, d.tx, EC_HASH_BYTES);
    ec_hex(dtxh, d.decide_tx, EC_HASH_BYTES);
    char *rt = cl_json_text(request), *dt = cl_json_text(decision);
    cl_out(
        ctx,
        "%llu  %s  for the role %s%s%s  asked at height %llu by %s (tx %.16s...)\n    request %s\n",
        (unsigned long long)d.id, decided ? "decided" : "pending", d.role, d.org[0] ? " of " : "",
        d.org, (unsigned long long)d.height, d.fn, txh, rt ? rt : "?");
    if (decided)
        cl_out(ctx, "    decided %s by %s at height %llu (tx %.16s...)\n", dt ? dt : "?", d.decider,
               (unsigned long long)d.decided_height, dtxh);
    cl_json_text_free(rt);
    cl_json_text_free(dt);
    json_t *j = json_pack("{s:I,s:s,s:I,s:s,s:s,s:s,s:s,s:o}", "id", (json_int_t)d.id, "state",
                          decided ? "decided" : "pending", "height", (json_int_t)d.height, "tx",
                          txh, "fn", d.fn, "role", d.role, "org_code", d.org, "request", request);
    if (decided) {
        json_object_set_new(j, "decided_height", json_integer((json_int_t)d.decided_height));
        json_object_set_new(j, "decider", json_string(d.decider));
        json_object_set_new(j, "decide_tx", json_string(dtxh));
        json_object_set_new(j, "decision", decision);
    } else {
        json_decref(decision);
    }
    return j;
}

int cmd_contract_decisions(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *type = NULL, *name = NULL;
    uint64_t from = 0, id = 0;
    bool pending = false;
    const cl_opt_t opts[] = {{"type", CL_ARG_STR, &type},        {"name", CL_ARG_STR, &name},
                             {"from", CL_ARG_U64, &from},        {"id", CL_ARG_U64, &id},
                             {"pending", CL_ARG_FLAG, &pending}, {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_decisions, NULL);
    if (rc >= 0)
        return rc;
    cl_chain_t *side = NULL;
    if ((rc = s_named(ctx, type, name, &side)))
        return rc;
    ec_writer_t q;
    ec_writer_init(&q);
    ec_write_array(&q, id ? 2 : 3);
    ec_write_cstr(&q, name);
    ec_write_uint(&q, id ? id : from);
    if (!id)
        ec_write_bool(&q, pending);
    ec_rpc_reply_t r;
    rc = cl_query(ctx, side, id ? "decision" : "decisions", &q, &r, 0);
    ec_writer_fini(&q);
    if (rc)
        return rc;
    if (id) {
        json_t *j = s_decision_json(ctx, r.result);
        ec_rpc_reply_fini(&r);
        return j ? cl_emit(ctx, j) : cl_garbled(ctx, side, "decision");
    }
    json_t *list = json_array();
    bool bad = r.result->type != MSGPACK_OBJECT_ARRAY;
    for (uint32_t i = 0; !bad && i < r.result->via.array.size; i++) {
        json_t *j = s_decision_json(ctx, &r.result->via.array.ptr[i]);
        bad = !j;
        if (j)
            json_array_append_new(list, j);
    }
    ec_rpc_reply_fini(&r);
    if (bad) {
        json_decref(list);
        return cl_garbled(ctx, side, "decisions");
    }
    if (json_array_size(list) == 0)
        cl_out(ctx, "no %sdecisions from %llu\n", pending ? "pending " : "",
               (unsigned long long)from);
    return cl_emit(ctx, json_pack("{s:s,s:o}", "name", name, "decisions", list));
}

int cmd_contract_decide(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *type = NULL, *name = NULL, *text = NULL;
    uint64_t id = 0;
    const cl_opt_t opts[] = {{"type", CL_ARG_STR, &type},
                             {"name", CL_ARG_STR, &name},
                             {"id", CL_ARG_U64, &id},
                             {"decision", CL_ARG_STR, &text},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_decisions, NULL);
    if (rc >= 0)
        return rc;
    if (!id)
        return cl_missing(ctx, "--id");
    if (!text)
        return cl_missing(ctx, "--decision");
    if (!ctx->key_path)
        return cl_missing(ctx, "--key");
    json_error_t err;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &err);
    if (!j)
        return cl_usage(ctx, "--decision is not JSON: %s", err.text);
    ec_writer_t d;
    ec_writer_init(&d);
    const char *why = cl_cvalue_from_json(j, &d, 0);
    json_decref(j);
    if (!why && ec_writer_size(&d) > EC_CONTRACT_ARGS_TX_MAX)
        why = "too much: over 8192 bytes encoded";
    cl_chain_t *side = NULL;
    rc = why ? cl_usage(ctx, "--decision holds %s", why) : s_named(ctx, type, name, &side);
    if (rc) {
        ec_writer_fini(&d);
        return rc;
    }
    ec_contract_decide_body_t b = {
        .id = id, .decision = ec_writer_data(&d), .decision_size = ec_writer_size(&d)};
    snprintf(b.name, sizeof b.name, "%s", name);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_contract_decide_body_encode(&w, &b);
    cl_txres_t res;
    rc = cl_submit_signed(ctx, side, cl_contract_txtype(side, EC_STX_CONTRACT_DECIDE), &w, NULL, 0,
                          &res, NULL);
    ec_writer_fini(&w);
    ec_writer_fini(&d);
    return rc ? rc : s_applied_result(ctx, side, &res, name, "on_decision");
}
