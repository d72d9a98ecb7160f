/*
 * cmd_contract.c - contracts on a side chain: `contract deploy|upgrade|call|query|show|
 * events`. Arguments and results travel as contract msgpack (ec_contract.h); on the
 * command line they are JSON (jansson): objects become maps with their keys in byte order,
 * arrays arrays, integers integers, strings strings, true/false/null as such; a JSON
 * number with a fraction is refused (contracts see no floats). docs/CONTRACTS.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_commands.h"
#include "ec_contract.h"

/* ---- JSON <-> contract msgpack ---------------------------------------------------------- */

/* JSON text for a value, on one line; release with s_text_free (jansson's allocator). */
static char *s_text(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
}

static void s_text_free(char *text)
{
    json_free_t json_free = NULL;
    json_get_alloc_funcs(NULL, &json_free);
    if (text)
        json_free(text);
}

static int s_key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Writes j as contract msgpack; returns NULL or why it cannot. */
static const char *s_from_json(const json_t *j, ec_writer_t *w, int depth)
{
    if (depth > EC_CONTRACT_DEPTH_MAX)
        return "nested too deep";
    switch (json_typeof(j)) {
        case JSON_NULL:
            ec_write_nil(w);
            return NULL;
        case JSON_TRUE:
        case JSON_FALSE:
            ec_write_bool(w, json_is_true(j));
            return NULL;
        case JSON_INTEGER:
            ec_write_int(w, (int64_t)json_integer_value(j));
            return NULL;
        case JSON_REAL:
            return "a number with a fraction (contracts take integers)";
        case JSON_STRING:
            ec_write_str(w, json_string_value(j), json_string_length(j));
            return NULL;
        case JSON_ARRAY: {
            ec_write_array(w, (uint32_t)json_array_size(j));
            size_t i;
            json_t *v;
            json_array_foreach(j, i, v)
            {
                const char *why = s_from_json(v, w, depth + 1);
                if (why)
                    return why;
            }
            return NULL;
        }
        case JSON_OBJECT: {
            size_t n = json_object_size(j), k = 0;
            const char **keys = malloc((n ? n : 1) * sizeof *keys);
            if (!keys)
                return "out of memory";
            const char *key;
            json_t *v;
            json_object_foreach((json_t *)j, key, v) keys[k++] = key;
            qsort(keys, n, sizeof *keys, s_key_cmp);
            ec_write_map(w, (uint32_t)n);
            const char *why = NULL;
            for (size_t i = 0; !why && i < n; i++) {
                ec_write_cstr(w, keys[i]);
                why = s_from_json(json_object_get(j, keys[i]), w, depth + 1);
            }
            free(keys);
            return why;
        }
    }
    return "an unknown JSON value";
}

/* A msgpack object as JSON: map keys as strings, bin as "0x" + hex. */
static json_t *s_to_json(const msgpack_object *o, int depth)
{
    if (depth > EC_CONTRACT_DEPTH_MAX)
        return json_null();
    switch (o->type) {
        case MSGPACK_OBJECT_NIL:
            return json_null();
        case MSGPACK_OBJECT_BOOLEAN:
            return json_boolean(o->via.boolean);
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            return json_integer((json_int_t)o->via.u64);
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            return json_integer((json_int_t)o->via.i64);
        case MSGPACK_OBJECT_STR:
            return json_stringn(o->via.str.ptr, o->via.str.size);
        case MSGPACK_OBJECT_BIN: {
            char *hex = malloc(2 * o->via.bin.size + 3);
            if (!hex)
                return json_null();
            strcpy(hex, "0x");
            ec_hex(hex + 2, (const uint8_t *)o->via.bin.ptr, o->via.bin.size);
            json_t *s = json_string(hex);
            free(hex);
            return s;
        }
        case MSGPACK_OBJECT_ARRAY: {
            json_t *a = json_array();
            for (uint32_t i = 0; i < o->via.array.size; i++)
                json_array_append_new(a, s_to_json(&o->via.array.ptr[i], depth + 1));
            return a;
        }
        case MSGPACK_OBJECT_MAP: {
            json_t *m = json_object();
            for (uint32_t i = 0; i < o->via.map.size; i++) {
                const msgpack_object *k = &o->via.map.ptr[i].key;
                char buf[EC_CONTRACT_KEY_MAX + 32];
                if (k->type == MSGPACK_OBJECT_STR)
                    snprintf(buf, sizeof buf, "%.*s", (int)k->via.str.size, k->via.str.ptr);
                else if (k->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                    snprintf(buf, sizeof buf, "%llu", (unsigned long long)k->via.u64);
                else if (k->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
                    snprintf(buf, sizeof buf, "%lld", (long long)k->via.i64);
                else
                    snprintf(buf, sizeof buf, "?");
                json_object_set_new(m, buf, s_to_json(&o->via.map.ptr[i].val, depth + 1));
            }
            return m;
        }
        default:
            return json_null();
    }
}

/* Contract msgpack bytes (checked) as JSON; NULL when they are not a value. */
static json_t *s_value_json(const uint8_t *data, size_t size)
{
    if (ec_contract_value_check(data, size) != 0)
        return NULL;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    json_t *j = NULL;
    if (msgpack_unpack_next(&u, (const char *)data, size, &off) == MSGPACK_UNPACK_SUCCESS &&
        off == size)
        j = s_to_json(&u.data, 0);
    msgpack_unpacked_destroy(&u);
    return j;
}

/* --args JSON (an array, default []) into contract msgpack. 0 or 2. */
static int s_args(cl_ctx_t *ctx, const char *text, ec_writer_t *w)
{
    json_error_t err;
    json_t *j = json_loads(text ? text : "[]", 0, &err);
    if (!j)
        return cl_usage(ctx, "--args is not JSON: %s (column %d)", err.text, err.column);
    if (!json_is_array(j)) {
        json_decref(j);
        return cl_usage(ctx, "--args must be a JSON array of the function's arguments");
    }
    const char *why = s_from_json(j, w, 0);
    json_decref(j);
    if (why)
        return cl_usage(ctx, "--args holds %s", why);
    if (ec_writer_size(w) > EC_CONTRACT_ARGS_TX_MAX)
        return cl_usage(ctx, "--args is over %u bytes encoded", EC_CONTRACT_ARGS_TX_MAX);
    return 0;
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
    "  --type TYPE     the side chain\n"
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
    cl_chain_t *side = cl_side(ctx, side_type);
    if (!side)
        return 1;
    uint8_t *code = NULL;
    size_t size = 0;
    if (cl_read_file(ctx, path, EC_CONTRACT_CODE_TX_MAX, &code, &size))
        return 1;
    ec_contract_deploy_body_t b = {.code = code, .code_size = size};
    snprintf(b.name, sizeof b.name, "%s", name);
    snprintf(b.org_code, sizeof b.org_code, "%s", org);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_contract_deploy_body_encode(&w, &b);
    cl_txres_t res;
    rc = cl_submit_signed(ctx, side, type, &w, NULL, 0, &res, NULL);
    ec_writer_fini(&w);
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
    "  --type TYPE      the side chain\n"
    "  --name NAME      the contract\n"
    "  --fn FUNCTION    the function\n"
    "  --args JSON      its arguments, a JSON array (default []); integers, strings,\n"
    "                   booleans, null, arrays and objects\n"
    "\nExample:\n  ecert --key buyer.key contract call --type invoice --name invoice --fn accept "
    "--args '[\"INV-2026-0001\"]'\n" CL_GLOBAL_NOTE;

typedef struct {
    const char *type, *name, *fn, *args;
} s_call_opts_t;

static int s_call_opts(cl_ctx_t *ctx, int argc, char **argv, s_call_opts_t *o, ec_writer_t *args)
{
    const cl_opt_t opts[] = {{"type", CL_ARG_STR, &o->type},
                             {"name", CL_ARG_STR, &o->name},
                             {"fn", CL_ARG_STR, &o->fn},
                             {"args", CL_ARG_STR, &o->args},
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
    rc = s_args(ctx, o->args, args);
    return rc ? rc : -1;
}

/* Prints a contract value (its bytes in v) as "result <json>" and adds it to obj. */
static int s_show_result(cl_ctx_t *ctx, cl_chain_t *side, const uint8_t *v, size_t size,
                         json_t *obj)
{
    json_t *j = s_value_json(v, size);
    if (!j) {
        json_decref(obj);
        return cl_garbled(ctx, side, "contract result");
    }
    char *text = s_text(j);
    cl_out(ctx, "result %s\n", text ? text : "?");
    s_text_free(text);
    json_object_set_new(obj, "result", j);
    return cl_emit(ctx, obj);
}

int cmd_contract_call(cl_ctx_t *ctx, int argc, char **argv)
{
    s_call_opts_t o = {0};
    ec_writer_t args;
    ec_writer_init(&args);
    int rc = s_call_opts(ctx, argc, argv, &o, &args);
    if (rc >= 0) {
        ec_writer_fini(&args);
        return rc;
    }
    cl_chain_t *side = ctx->key_path ? cl_side(ctx, o.type) : NULL;
    if (!ctx->key_path || !side) {
        ec_writer_fini(&args);
        return ctx->key_path ? 1 : cl_missing(ctx, "--key");
    }
    ec_contract_call_body_t b = {.args = ec_writer_data(&args), .args_size = ec_writer_size(&args)};
    snprintf(b.name, sizeof b.name, "%s", o.name);
    snprintf(b.fn, sizeof b.fn, "%s", o.fn);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_contract_call_body_encode(&w, &b);
    cl_txres_t res;
    rc = cl_submit_signed(ctx, side, EC_STX_CONTRACT_CALL, &w, NULL, 0, &res, NULL);
    ec_writer_fini(&w);
    ec_writer_fini(&args);
    if (rc)
        return rc;
    /* The result, as the chain stored it: [name, fn, result: bin]. */
    ec_writer_t q;
    ec_writer_init(&q);
    ec_write_array(&q, 1);
    ec_write_bin(&q, res.id, EC_HASH_BYTES);
    ec_rpc_reply_t r;
    rc = cl_query(ctx, side, "contract_result", &q, &r, 0);
    ec_writer_fini(&q);
    if (rc)
        return rc;
    ec_cur_t c;
    const uint8_t *v = NULL;
    size_t vs = 0;
    const char *skip = NULL;
    size_t skip_len = 0;
    ec_cur_open(&c, r.result, 3);
    ec_cur_str(&c, &skip, &skip_len, EC_CONTRACT_NAME_MAX);
    ec_cur_str(&c, &skip, &skip_len, EC_CONTRACT_NAME_MAX);
    ec_cur_bin(&c, &v, &vs, EC_CONTRACT_VALUE_MAX);
    json_t *obj = json_pack("{s:s,s:s}", "name", o.name, "fn", o.fn);
    cl_json_txres(obj, &res);
    rc = ec_cur_finish(&c) ? (json_decref(obj), cl_garbled(ctx, side, "contract_result"))
                           : s_show_result(ctx, side, v, vs, obj);
    ec_rpc_reply_fini(&r);
    return rc;
}

int cmd_contract_query(cl_ctx_t *ctx, int argc, char **argv)
{
    s_call_opts_t o = {0};
    ec_writer_t args;
    ec_writer_init(&args);
    int rc = s_call_opts(ctx, argc, argv, &o, &args);
    cl_chain_t *side = rc < 0 ? cl_side(ctx, o.type) : NULL;
    if (rc >= 0 || !side) {
        ec_writer_fini(&args);
        return rc >= 0 ? rc : 1;
    }
    ec_writer_t q;
    ec_writer_init(&q);
    ec_write_array(&q, 3);
    ec_write_cstr(&q, o.name);
    ec_write_cstr(&q, o.fn);
    ec_write_bin(&q, ec_writer_data(&args), ec_writer_size(&args));
    ec_writer_fini(&args);
    ec_rpc_reply_t r;
    rc = cl_query(ctx, side, "contract_query", &q, &r, 0);
    ec_writer_fini(&q);
    if (rc)
        return rc;
    json_t *obj = json_pack("{s:s,s:s}", "name", o.name, "fn", o.fn);
    rc = r.result->type == MSGPACK_OBJECT_BIN
             ? s_show_result(ctx, side, (const uint8_t *)r.result->via.bin.ptr,
                             r.result->via.bin.size, obj)
             : (json_decref(obj), cl_garbled(ctx, side, "contract_query"));
    ec_rpc_reply_fini(&r);
    return rc;
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
    *side = cl_side(ctx, type);
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
        json_t *j = c.err ? NULL : s_value_json(data, size);
        if (!j)
            break;
        char *text = s_text(j);
        cl_out(ctx, "%llu  height %llu  %s  %s %s\n", (unsigned long long)seq,
               (unsigned long long)height, fn, ev, text ? text : "?");
        s_text_free(text);
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
