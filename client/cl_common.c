/*
 * cl_common.c - the ecert client's shared plumbing (see cl_common.h): errors and output,
 * option handling, the client config, chain connections, passphrases and key files, the
 * submit-and-wait helper, and small file helpers.
 *
 * The client config format is documented in docs/CLI.md ("Client config"). Unknown keys
 * are an error, so a typo does not silently point the client at the wrong node.
 */
#include "cl_common.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* ---- errors and output ------------------------------------------------------------------ */

int cl_fail(cl_ctx_t *ctx, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->err_msg, sizeof ctx->err_msg, fmt, ap);
    va_end(ap);
    ctx->err_code = code ? code : EC_EINTERNAL;
    ctx->err_usage = false;
    ctx->err_node_msg[0] = '\0';
    return 1;
}

int cl_fail_st(cl_ctx_t *ctx, const ec_status_t *st, const char *prefix)
{
    int code = st->code ? st->code : EC_EINTERNAL;
    const char *msg = st->msg[0] ? st->msg : ec_strerror(code);
    if (prefix)
        return cl_fail(ctx, code, "%s: %s", prefix, msg);
    return cl_fail(ctx, code, "%s", msg);
}

int cl_usage(cl_ctx_t *ctx, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    bool top = !ctx->command || !*ctx->command;
    snprintf(ctx->err_msg, sizeof ctx->err_msg, "%s (see 'ecert %s%s--help')", msg,
             top ? "" : ctx->command, top ? "" : " ");
    ctx->err_code = EC_EINVAL;
    ctx->err_usage = true;
    ctx->err_node_msg[0] = '\0';
    return 2;
}

/* Every block handed to jansson starts S_JSON_HEADER bytes into a malloc block whose first
 * bytes hold the block's size, so s_json_free knows how much to wipe. */
#define S_JSON_HEADER _Alignof(max_align_t)
_Static_assert(S_JSON_HEADER >= sizeof(size_t), "the header holds a size_t");

static void *s_json_malloc(size_t size)
{
    if (size > SIZE_MAX - S_JSON_HEADER)
        return NULL;
    unsigned char *p = malloc(S_JSON_HEADER + size);
    if (!p)
        return NULL;
    memcpy(p, &size, sizeof size);
    return p + S_JSON_HEADER;
}

static void s_json_free(void *ptr)
{
    if (!ptr)
        return;
    unsigned char *p = (unsigned char *)ptr - S_JSON_HEADER;
    size_t size;
    memcpy(&size, p, sizeof size);
    sodium_memzero(ptr, size);
    free(p);
}

void cl_json_wipe_on_free(void)
{
    json_set_alloc_funcs(s_json_malloc, s_json_free);
}

/* Prints obj (may be NULL: nothing) on one line to stdout. */
static void s_print_json(const json_t *obj)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    if (text)
        printf("%s\n", text);
    /* json_dumps allocates with jansson's allocator, which may be s_json_malloc. */
    json_free_t json_free = NULL;
    json_get_alloc_funcs(NULL, &json_free);
    if (text)
        json_free(text);
}

void cl_report(const cl_ctx_t *ctx)
{
    if (!ctx->err_code)
        return;
    fprintf(stderr, "ecert: %s\n", ctx->err_msg);
    if (ctx->json) {
        json_t *o = json_pack("{s:{s:i,s:s,s:s}}", "error", "code", ctx->err_code, "name",
                              ctx->err_usage ? "EUSAGE" : ec_errname(ctx->err_code), "message",
                              ctx->err_node_msg[0] ? ctx->err_node_msg : ctx->err_msg);
        s_print_json(o);
        json_decref(o);
    }
    fflush(stdout);
}

void cl_out(const cl_ctx_t *ctx, const char *fmt, ...)
{
    if (ctx->json)
        return;
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

/* Writes n bytes of s to stdout, each terminal control character ('\0'..0x1f, 0x7f, and the
 * C1 controls U+0080..U+009F, which UTF-8 writes 0xc2 0x80..0x9f) as '?'. */
static void s_put_safe(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
            (unsigned char)s[i + 1] <= 0x9f) {
            putchar('?');
            i++;
        } else {
            putchar(ch < 0x20 || ch == 0x7f ? '?' : ch);
        }
    }
}

void cl_out_field(const cl_ctx_t *ctx, const char *name, const char *value, size_t value_len)
{
    if (ctx->json)
        return;
    fputs("  ", stdout);
    s_put_safe(name, strlen(name));
    fputs(": ", stdout);
    s_put_safe(value, value_len);
    putchar('\n');
}

int cl_emit(const cl_ctx_t *ctx, json_t *obj)
{
    if (ctx->json)
        s_print_json(obj);
    json_decref(obj);
    fflush(stdout);
    return 0;
}

json_t *cl_json_hex(const uint8_t *data, size_t size)
{
    char *hex = malloc(2 * size + 1);
    if (!hex)
        return NULL;
    ec_hex(hex, data, size);
    json_t *s = json_string(hex);
    free(hex);
    return s;
}

/* ---- option parsing --------------------------------------------------------------------- */

void cl_getopt_begin(void)
{
    optind = 0; /* glibc: 0 also resets getopt's internal state for a new argv */
    opterr = 0;
}

int cl_getopt(int argc, char **argv, const struct option *opts)
{
    return getopt_long(argc, argv, ":h", opts, NULL);
}

int cl_option(cl_ctx_t *ctx, int opt, int argc, char **argv, const char *help)
{
    const char *bad = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
    switch (opt) {
        case CL_OPT_CONFIG:
            ctx->config_path = optarg;
            return -1;
        case CL_OPT_JSON:
            ctx->json = true;
            return -1;
        case CL_OPT_KEY:
            ctx->key_path = optarg;
            return -1;
        case CL_OPT_PASSFILE:
            ctx->passphrase_file = optarg;
            return -1;
        case CL_OPT_TIMEOUT: {
            uint64_t v = 0;
            if (cl_parse_u64(ctx, "--timeout-ms", optarg, &v))
                return 2;
            if (v == 0 || v > 3600u * 1000)
                return cl_usage(ctx, "--timeout-ms must be 1..3600000");
            ctx->timeout_ms = (uint32_t)v;
            ctx->timeout_set = true;
            return -1;
        }
        case CL_OPT_HELP:
            fputs(help, stdout);
            return 0;
        case ':':
            return cl_usage(ctx, "option '%s' needs a value", bad);
        default:
            return cl_usage(ctx, "unknown option '%s'", bad);
    }
}

/* Stores one option's value as its kind says. 0, or the exit status. */
static int s_opt_store(cl_ctx_t *ctx, const cl_opt_t *o, const char *value)
{
    char flag[80];
    snprintf(flag, sizeof flag, "--%s", o->name);
    if (o->given)
        *o->given = true;
    switch (o->kind) {
        case CL_ARG_FLAG:
            *(bool *)o->out = true;
            return 0;
        case CL_ARG_STR:
            *(const char **)o->out = value;
            return 0;
        case CL_ARG_U64:
            return cl_parse_u64(ctx, flag, value, o->out);
        case CL_ARG_HASH:
            return cl_parse_hash(ctx, flag, value, o->out);
        case CL_ARG_ADDRESS:
            *(const char **)o->out = value;
            return cl_check_address(ctx, flag, value);
        case CL_ARG_FN:
            return o->fn(ctx, value, o->out);
    }
    assert(!"unknown option kind");
    return cl_fail(ctx, EC_EINTERNAL, "unknown option kind (a bug)");
}

int cl_parse_opts(cl_ctx_t *ctx, int argc, char **argv, const cl_opt_t *opts, const char *help,
                  const char **positional)
{
    static const struct option common[] = {CL_COMMON_OPTIONS};
    struct option lo[CL_OPTS_MAX + sizeof common / sizeof common[0]];
    size_t n = 0;
    for (; opts[n].name; n++) {
        assert(n < CL_OPTS_MAX);
        lo[n] = (struct option){opts[n].name,
                                opts[n].kind == CL_ARG_FLAG ? no_argument : required_argument, NULL,
                                CL_OPT_FIRST_LOCAL + (int)n};
    }
    memcpy(&lo[n], common, sizeof common);
    int opt, rc;
    cl_getopt_begin();
    while ((opt = cl_getopt(argc, argv, lo)) != -1) {
        if (opt >= CL_OPT_FIRST_LOCAL && opt < CL_OPT_FIRST_LOCAL + (int)n)
            rc = s_opt_store(ctx, &opts[opt - CL_OPT_FIRST_LOCAL], optarg);
        else if ((rc = cl_option(ctx, opt, argc, argv, help)) < 0)
            rc = 0;
        if (rc)
            return rc;
        if (opt == CL_OPT_HELP)
            return 0;
    }
    if (positional)
        *positional = optind < argc ? argv[optind++] : NULL;
    return cl_no_args(ctx, argc, argv) ? 2 : -1;
}

int cl_parse_u64(cl_ctx_t *ctx, const char *opt, const char *s, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    if (!s || !*s || *s == '-' || *s == '+')
        return cl_usage(ctx, "%s needs a whole number, not '%s'", opt, s ? s : "");
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return cl_usage(ctx, "%s needs a whole number, not '%s'", opt, s);
    *out = v;
    return 0;
}

int cl_parse_hash(cl_ctx_t *ctx, const char *opt, const char *s, uint8_t out[EC_HASH_BYTES])
{
    if (strlen(s) != 2 * EC_HASH_BYTES || ec_unhex(out, EC_HASH_BYTES, s))
        return cl_usage(ctx, "%s needs 64 hex digits, not '%s'", opt, s);
    return 0;
}

int cl_check_address(cl_ctx_t *ctx, const char *opt, const char *address)
{
    uint8_t hash[EC_ADDR_HASH_BYTES];
    if (ec_address_parse(hash, address))
        return cl_usage(ctx, "%s: '%s' is not a valid ecert address (ec1...)", opt, address);
    return 0;
}

int cl_missing(cl_ctx_t *ctx, const char *opt)
{
    return cl_usage(ctx, "missing %s", opt);
}

int cl_no_args(cl_ctx_t *ctx, int argc, char **argv)
{
    if (optind < argc)
        return cl_usage(ctx, "unexpected argument '%s'", argv[optind]);
    return 0;
}

/* ---- config ----------------------------------------------------------------------------- */

/* Copies a scalar into buf, resolving a relative path against dir when `is_path`. */
static int s_cfg_string(cl_ctx_t *ctx, const ec_yaml_node_t *n, const char *key, char *buf,
                        size_t cap, const char *dir, bool is_path)
{
    const char *s = ec_yaml_scalar(n);
    if (!s || !*s)
        return cl_fail(ctx, EC_ECONFIG, "%s: '%s' must be a non-empty string", ctx->cfg.path, key);
    int n_written;
    if (is_path && s[0] != '/')
        n_written = snprintf(buf, cap, "%s/%s", dir, s);
    else
        n_written = snprintf(buf, cap, "%s", s);
    if (n_written < 0 || (size_t)n_written >= cap)
        return cl_fail(ctx, EC_ECONFIG, "%s: '%s' is too long", ctx->cfg.path, key);
    return 0;
}

/* Reads `rpc`: one endpoint, or a list of 1..CL_RPCS_MAX (the chain's validators). */
static int s_cfg_rpcs(cl_ctx_t *ctx, const ec_yaml_node_t *v, const char *key, cl_chain_t *ch)
{
    if (ec_yaml_is_seq(v)) {
        if (ec_yaml_count(v) < 1 || ec_yaml_count(v) > CL_RPCS_MAX)
            return cl_fail(ctx, EC_ECONFIG, "%s: '%s' must list 1 to %d endpoints", ctx->cfg.path,
                           key, CL_RPCS_MAX);
        for (size_t i = 0; i < ec_yaml_count(v); i++) {
            int rc = s_cfg_string(ctx, ec_yaml_item(v, i), key, ch->rpcs[i], sizeof ch->rpcs[i], "",
                                  false);
            if (rc)
                return rc;
        }
        ch->rpc_count = (uint32_t)ec_yaml_count(v);
    } else {
        int rc = s_cfg_string(ctx, v, key, ch->rpcs[0], sizeof ch->rpcs[0], "", false);
        if (rc)
            return rc;
        ch->rpc_count = 1;
    }
    memcpy(ch->rpc, ch->rpcs[0], sizeof ch->rpc);
    return 0;
}

/* Reads one chain entry {chain_id, rpc, genesis?, pub?}. */
static int s_cfg_chain(cl_ctx_t *ctx, const ec_yaml_node_t *n, const char *where, cl_chain_t *ch,
                       const char *dir)
{
    if (!n || !ec_yaml_is_map(n))
        return cl_fail(ctx, EC_ECONFIG, "%s: '%s' must be a mapping", ctx->cfg.path, where);
    for (size_t i = 0; i < ec_yaml_count(n); i++) {
        const char *k = ec_yaml_key(n, i);
        const ec_yaml_node_t *v = ec_yaml_get(n, k);
        char full[160];
        snprintf(full, sizeof full, "%s.%s", where, k);
        int rc = 0;
        if (!strcmp(k, "chain_id"))
            rc = s_cfg_string(ctx, v, full, ch->chain_id, sizeof ch->chain_id, dir, false);
        else if (!strcmp(k, "rpc"))
            rc = s_cfg_rpcs(ctx, v, full, ch);
        else if (!strcmp(k, "genesis"))
            rc = s_cfg_string(ctx, v, full, ch->genesis, sizeof ch->genesis, dir, true);
        else if (!strcmp(k, "pub")) /* one endpoint, or the validators' list: the first */
            rc = s_cfg_string(ctx, ec_yaml_is_seq(v) ? ec_yaml_item(v, 0) : v, full, ch->pub,
                              sizeof ch->pub, dir, false);
        else
            rc = cl_fail(ctx, EC_ECONFIG, "%s: unknown key '%s'", ctx->cfg.path, full);
        if (rc)
            return rc;
    }
    if (!ch->chain_id[0] || !ch->rpc[0])
        return cl_fail(ctx, EC_ECONFIG, "%s: '%s' needs chain_id and rpc", ctx->cfg.path, where);
    return 0;
}

static int s_cfg_parse(cl_ctx_t *ctx, const ec_yaml_node_t *root, const char *dir)
{
    cl_config_t *cfg = &ctx->cfg;
    if (!root || !ec_yaml_is_map(root))
        return cl_fail(ctx, EC_ECONFIG, "%s: expected a mapping at the top", cfg->path);
    bool have_main = false;
    for (size_t i = 0; i < ec_yaml_count(root); i++) {
        const char *k = ec_yaml_key(root, i);
        const ec_yaml_node_t *v = ec_yaml_get(root, k);
        int rc = 0;
        if (!strcmp(k, "main")) {
            snprintf(cfg->main.type, sizeof cfg->main.type, "main");
            rc = s_cfg_chain(ctx, v, "main", &cfg->main, dir);
            have_main = true;
        } else if (!strcmp(k, "sides")) {
            if (!ec_yaml_is_map(v))
                return cl_fail(ctx, EC_ECONFIG, "%s: 'sides' must be a mapping", cfg->path);
            if (ec_yaml_count(v) > CL_SIDES_MAX)
                return cl_fail(ctx, EC_ECONFIG, "%s: more than %d side chains", cfg->path,
                               CL_SIDES_MAX);
            for (size_t j = 0; j < ec_yaml_count(v) && rc == 0; j++) {
                const char *type = ec_yaml_key(v, j);
                cl_chain_t *ch = &cfg->sides[cfg->side_count++];
                if (!type || !*type || strlen(type) >= sizeof ch->type)
                    return cl_fail(ctx, EC_ECONFIG, "%s: bad certificate type under 'sides'",
                                   cfg->path);
                snprintf(ch->type, sizeof ch->type, "%s", type);
                char where[80];
                snprintf(where, sizeof where, "sides.%s", type);
                rc = s_cfg_chain(ctx, ec_yaml_get(v, type), where, ch, dir);
            }
        } else if (!strcmp(k, "identity_salt_file")) {
            rc = s_cfg_string(ctx, v, k, cfg->identity_salt_file, sizeof cfg->identity_salt_file,
                              dir, true);
        } else {
            rc = cl_fail(ctx, EC_ECONFIG, "%s: unknown key '%s'", cfg->path, k);
        }
        if (rc)
            return rc;
    }
    if (!have_main)
        return cl_fail(ctx, EC_ECONFIG, "%s: no 'main' chain", cfg->path);
    return 0;
}

cl_config_t *cl_config(cl_ctx_t *ctx)
{
    if (ctx->config_loaded)
        return &ctx->cfg;
    const char *path = ctx->config_path;
    if (!path)
        path = getenv("ECERT_CONFIG");
    if (!path || !*path)
        path = CL_DEFAULT_CONFIG;
    cl_config_t *cfg = &ctx->cfg;
    memset(cfg, 0, sizeof *cfg);
    if (snprintf(cfg->path, sizeof cfg->path, "%s", path) >= (int)sizeof cfg->path) {
        cl_fail(ctx, EC_ECONFIG, "config path too long");
        return NULL;
    }
    if (access(path, R_OK) != 0) {
        cl_fail(ctx, EC_ECONFIG,
                "no client config at %s (give --config FILE or set ECERT_CONFIG; "
                "'scripts/devnet up' writes one)",
                path);
        return NULL;
    }
    ec_status_t st = {0};
    ec_yaml_t *doc = ec_yaml_load(path, &st);
    if (!doc) {
        cl_fail_st(ctx, &st, NULL);
        return NULL;
    }
    char dirbuf[EC_PATH_MAX];
    snprintf(dirbuf, sizeof dirbuf, "%s", path);
    int rc = s_cfg_parse(ctx, ec_yaml_root(doc), dirname(dirbuf));
    ec_yaml_destroy(&doc);
    if (rc)
        return NULL;
    ctx->config_loaded = true;
    return cfg;
}

/* ---- chains ----------------------------------------------------------------------------- */

int cl_connect(cl_ctx_t *ctx, cl_chain_t *ch)
{
    if (ch->conn)
        return 0;
    ch->conn = ec_rpc_connect(ch->rpc, ctx->timeout_ms);
    if (!ch->conn)
        return cl_fail(ctx, EC_ECONFIG, "cannot connect to %s: bad endpoint '%s'", ch->chain_id,
                       ch->rpc);
    return 0;
}

cl_chain_t *cl_main(cl_ctx_t *ctx)
{
    cl_config_t *cfg = cl_config(ctx);
    if (!cfg || cl_connect(ctx, &cfg->main))
        return NULL;
    return &cfg->main;
}

cl_chain_t *cl_side(cl_ctx_t *ctx, const char *cert_type)
{
    cl_config_t *cfg = cl_config(ctx);
    if (!cfg)
        return NULL;
    for (size_t i = 0; i < cfg->side_count; i++) {
        if (!strcmp(cfg->sides[i].type, cert_type))
            return cl_connect(ctx, &cfg->sides[i]) ? NULL : &cfg->sides[i];
    }
    char known[512] = "";
    size_t off = 0;
    for (size_t i = 0; i < cfg->side_count && off < sizeof known; i++)
        off += (size_t)snprintf(known + off, sizeof known - off, "%s%s", i ? ", " : "",
                                cfg->sides[i].type);
    cl_fail(ctx, EC_ECONFIG, "no side chain for certificate type '%s' in %s (known: %s)", cert_type,
            cfg->path, cfg->side_count ? known : "none");
    return NULL;
}

void cl_disconnect_all(cl_ctx_t *ctx)
{
    if (!ctx->config_loaded)
        return;
    ec_rpc_destroy(&ctx->cfg.main.conn);
    for (size_t i = 0; i < ctx->cfg.side_count; i++)
        ec_rpc_destroy(&ctx->cfg.sides[i].conn);
}

/* Moves ch to its next endpoint (after one that did not answer). False when there is no
 * other. */
static bool s_fail_over(cl_ctx_t *ctx, cl_chain_t *ch)
{
    if (ch->rpc_count < 2)
        return false;
    ec_rpc_destroy(&ch->conn);
    char was[EC_ENDPOINT_MAX];
    memcpy(was, ch->rpc, sizeof was);
    ch->rpc_at = (ch->rpc_at + 1) % ch->rpc_count;
    memcpy(ch->rpc, ch->rpcs[ch->rpc_at], sizeof ch->rpc);
    if (!ctx->json)
        fprintf(stderr, "ecert: no answer from %s at %s; trying %s\n", ch->chain_id, was, ch->rpc);
    return true;
}

int cl_call(cl_ctx_t *ctx, cl_chain_t *ch, const char *method, const ec_writer_t *params,
            ec_rpc_reply_t *reply, int quiet_code)
{
    int rc = EC_ETIMEOUT;
    ec_status_t st = {0};
    /* A chain of several validators: an endpoint that does not answer is given up for the
     * next, each tried once. */
    uint32_t tries = ch->rpc_count > 1 ? ch->rpc_count : 1;
    for (uint32_t t = 0; t < tries; t++) {
        if (t > 0 && !s_fail_over(ctx, ch))
            break;
        if (cl_connect(ctx, ch))
            return 1;
        memset(reply, 0, sizeof *reply);
        rc = ec_rpc_call(ch->conn, method, params ? ec_writer_data(params) : NULL,
                         params ? ec_writer_size(params) : 0, reply, &st);
        if (rc != EC_ETIMEOUT)
            break;
    }
    if (rc == EC_ETIMEOUT)
        return cl_fail(ctx, EC_ETIMEOUT, "no answer from %s at %s within %u ms", ch->chain_id,
                       ch->rpc_count > 1 ? "any of its endpoints" : ch->rpc, ctx->timeout_ms);
    if (rc)
        return cl_fail(ctx, rc, "bad reply from %s at %s to '%s' (%s)", ch->chain_id, ch->rpc,
                       method, ec_errname(rc));
    if (reply->code == 0)
        return 0;
    int code = reply->code;
    if (quiet_code && code == quiet_code) {
        ec_rpc_reply_fini(reply);
        return code;
    }
    const char *text = reply->message[0] ? reply->message : ec_strerror(code);
    cl_fail(ctx, code, "%s: %s", ec_errname(code), text);
    snprintf(ctx->err_node_msg, sizeof ctx->err_node_msg, "%s", text);
    ec_rpc_reply_fini(reply);
    return 1;
}

int cl_query(cl_ctx_t *ctx, cl_chain_t *ch, const char *path, const ec_writer_t *args,
             ec_rpc_reply_t *reply, int quiet_code)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 2);
    ec_write_cstr(&w, path);
    if (args)
        ec_write_raw(&w, ec_writer_data(args), ec_writer_size(args));
    else
        ec_write_array(&w, 0);
    int rc = cl_call(ctx, ch, "query", &w, reply, quiet_code);
    ec_writer_fini(&w);
    return rc;
}

int cl_garbled(cl_ctx_t *ctx, const cl_chain_t *ch, const char *what)
{
    return cl_fail(ctx, EC_EINVAL, "garbled reply from %s at %s to '%s'", ch->chain_id, ch->rpc,
                   what);
}

/* ---- accounts --------------------------------------------------------------------------- */

int cl_account_get(cl_ctx_t *ctx, const char *address, cl_account_t *out)
{
    cl_chain_t *ch = cl_main(ctx);
    if (!ch)
        return 1;
    ec_writer_t args;
    ec_writer_init(&args);
    ec_write_array(&args, 1);
    ec_write_cstr(&args, address);
    ec_rpc_reply_t reply;
    int rc = cl_query(ctx, ch, "account", &args, &reply, EC_ENOTFOUND);
    ec_writer_fini(&args);
    if (rc == EC_ENOTFOUND)
        return cl_fail(ctx, EC_ENOTFOUND, "no account %s on the main chain %s", address,
                       ch->chain_id);
    if (rc)
        return rc;
    rc = cl_account_read(out, reply.result);
    ec_rpc_reply_fini(&reply);
    if (rc == EC_ETOOBIG)
        return cl_fail(ctx, rc, "%s lists more than %d roles for %s, more than an account may hold",
                       ch->chain_id, EC_ACCOUNT_ROLES_MAX, address);
    if (rc)
        return cl_garbled(ctx, ch, "query account");
    return 0;
}

void cl_clear_error(cl_ctx_t *ctx)
{
    ctx->err_code = 0;
    ctx->err_usage = false;
    ctx->err_msg[0] = '\0';
    ctx->err_node_msg[0] = '\0';
}

int cl_signer_get(cl_ctx_t *ctx, const uint8_t pk[EC_PK_BYTES], char address[EC_ADDR_MAX],
                  char state[16])
{
    cl_chain_t *main = cl_main(ctx);
    if (!main)
        return 1;
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 1);
    ec_write_bin(&a, pk, EC_PK_BYTES);
    ec_rpc_reply_t r;
    int rc = cl_query(ctx, main, "signer", &a, &r, EC_ENOTFOUND);
    ec_writer_fini(&a);
    if (rc == EC_ENOTFOUND)
        return cl_fail(ctx, EC_ENOTFOUND, "no account on %s has that key", main->chain_id);
    if (rc)
        return rc;
    ec_cur_t c;
    ec_cur_open(&c, r.result, 2);
    ec_cur_str_copy(&c, address, EC_ADDR_MAX);
    ec_cur_str_copy(&c, state, 16);
    rc = ec_cur_finish(&c);
    ec_rpc_reply_fini(&r);
    return rc ? cl_garbled(ctx, main, "query signer") : 0;
}

int cl_signer_current(cl_ctx_t *ctx, const uint8_t pk[EC_PK_BYTES], char address[EC_ADDR_MAX])
{
    char state[16];
    if (cl_signer_get(ctx, pk, address, state) != 0)
        return 1;
    if (strcmp(state, "current") != 0)
        return cl_fail(ctx, EC_EPERM, "that key no longer signs for %s: it was %s", address,
                       strcmp(state, "revoked") == 0 ? "revoked" : "replaced");
    return 0;
}

int cl_account_read(cl_account_t *out, const msgpack_object *result)
{
    memset(out, 0, sizeof *out);
    ec_cur_t c, roles;
    ec_cur_open(&c, result, 8);
    ec_cur_str_copy(&c, out->address, sizeof out->address);
    ec_cur_str_copy(&c, out->name, sizeof out->name);
    ec_cur_bin_fixed(&c, out->pk, sizeof out->pk);
    ec_cur_uint(&c, &out->height);
    ec_cur_bool(&c, &out->attested);
    /* The cursor's count is 0 once it fails, so i stays below the array's size. */
    ec_cur_enter_max(&c, &roles, EC_ACCOUNT_ROLES_MAX);
    for (uint32_t i = 0; i < roles.count; i++) {
        assert(i < EC_ACCOUNT_ROLES_MAX);
        ec_cur_t r;
        uint64_t role = 0;
        ec_cur_enter(&roles, &r, 3);
        ec_cur_uint_max(&r, &role, EC_ROLE_MAX);
        ec_cur_str_copy(&r, out->roles[i].cert_type, sizeof out->roles[i].cert_type);
        ec_cur_str_copy(&r, out->roles[i].org_code, sizeof out->roles[i].org_code);
        ec_cur_fold(&roles, &r);
        out->roles[i].role = (uint32_t)role;
        out->role_count = i + 1;
    }
    ec_cur_fold(&c, &roles);
    ec_cur_bin_fixed(&c, out->key, sizeof out->key);
    out->recovery = !ec_cur_peek_nil(&c);
    if (out->recovery) {
        ec_cur_t r;
        ec_cur_enter(&c, &r, 2);
        ec_cur_bin_fixed(&r, out->recovery_key, sizeof out->recovery_key);
        ec_cur_uint(&r, &out->recovery_ready_ms);
        ec_cur_fold(&c, &r);
    } else {
        ec_cur_nil(&c);
    }
    int rc = ec_cur_finish(&c);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

/* ---- passphrases and keys --------------------------------------------------------------- */

static struct termios s_tty_saved;
static volatile sig_atomic_t s_tty_fd = -1;

/* Puts the terminal's echo back if a signal arrives while a prompt has it off. */
static void s_tty_restore_on_signal(int sig)
{
    if (s_tty_fd >= 0)
        tcsetattr(s_tty_fd, TCSAFLUSH, &s_tty_saved);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Reads one line from the terminal with echo off into buf (sodium memory). 0 or -1. */
static int s_prompt(int fd, const char *prompt, char *buf, size_t cap)
{
    if (write(fd, prompt, strlen(prompt)) < 0)
        return -1;
    struct termios t;
    bool restore = tcgetattr(fd, &s_tty_saved) == 0;
    if (restore) {
        t = s_tty_saved;
        t.c_lflag &= (tcflag_t) ~(ECHO | ECHONL);
        t.c_lflag |= ICANON;
        s_tty_fd = fd;
        signal(SIGINT, s_tty_restore_on_signal);
        signal(SIGTERM, s_tty_restore_on_signal);
        tcsetattr(fd, TCSAFLUSH, &t);
    }
    size_t n = 0;
    int rc = 0;
    for (;;) {
        char ch;
        ssize_t got = read(fd, &ch, 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            rc = n ? 0 : -1;
            break;
        }
        if (ch == '\n' || ch == '\r')
            break;
        if (n + 1 < cap)
            buf[n++] = ch;
    }
    buf[n] = '\0';
    if (restore) {
        tcsetattr(fd, TCSAFLUSH, &s_tty_saved);
        s_tty_fd = -1;
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
    }
    if (write(fd, "\n", 1) < 0)
        rc = -1;
    return rc;
}

void cl_passphrase_free(char **p)
{
    if (!p || !*p)
        return;
    sodium_memzero(*p, EC_PASSPHRASE_MAX + 1);
    sodium_free(*p);
    *p = NULL;
}

/* Asks on /dev/tty (twice when confirming) into out. 0 or 1 (recorded). */
static int s_passphrase_tty(cl_ctx_t *ctx, const char *key_path, bool confirm, char *out)
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return cl_fail(ctx, EC_EINVAL,
                       "no passphrase for %s: give --passphrase-file FILE or set "
                       "ECERT_PASSPHRASE (there is no terminal to ask on)",
                       key_path);
    char prompt[EC_PATH_MAX + 64];
    snprintf(prompt, sizeof prompt, "%s for %s: ", confirm ? "New passphrase" : "Passphrase",
             key_path);
    int rc = s_prompt(fd, prompt, out, EC_PASSPHRASE_MAX + 1);
    if (rc == 0 && confirm) {
        char *again = sodium_malloc(EC_PASSPHRASE_MAX + 1);
        if (!again) {
            close(fd);
            return cl_fail(ctx, EC_ENOMEM, "out of memory");
        }
        rc = s_prompt(fd, "Same passphrase again: ", again, EC_PASSPHRASE_MAX + 1);
        if (rc == 0 && strcmp(out, again) != 0) {
            cl_passphrase_free(&again);
            close(fd);
            return cl_fail(ctx, EC_EINVAL, "the two passphrases differ");
        }
        cl_passphrase_free(&again);
    }
    close(fd);
    if (rc)
        return cl_fail(ctx, EC_EIO, "could not read a passphrase from the terminal");
    return 0;
}

char *cl_passphrase(cl_ctx_t *ctx, const char *key_path, bool confirm)
{
    char *out = sodium_malloc(EC_PASSPHRASE_MAX + 1);
    if (!out) {
        cl_fail(ctx, EC_ENOMEM, "out of memory");
        return NULL;
    }
    out[0] = '\0';
    const char *env = getenv("ECERT_PASSPHRASE");
    if (ctx->passphrase_file || (env && *env)) {
        /* ec_passphrase_read reads the file when given, else the environment variable. */
        ec_status_t st = {0};
        char *p = ec_passphrase_read(ctx->passphrase_file ? ctx->passphrase_file : "", &st);
        if (!p) {
            cl_fail_st(ctx, &st, "cannot read the passphrase");
            cl_passphrase_free(&out);
            return NULL;
        }
        size_t len = strlen(p);
        if (len > EC_PASSPHRASE_MAX) {
            ec_passphrase_free(&p);
            cl_passphrase_free(&out);
            cl_fail(ctx, EC_ETOOBIG, "passphrase longer than %d bytes", EC_PASSPHRASE_MAX);
            return NULL;
        }
        memcpy(out, p, len + 1);
        ec_passphrase_free(&p);
    } else if (s_passphrase_tty(ctx, key_path, confirm, out)) {
        cl_passphrase_free(&out);
        return NULL;
    }
    if (confirm && out[0] == '\0') {
        cl_passphrase_free(&out);
        cl_fail(ctx, EC_EINVAL, "refusing to encrypt %s with an empty passphrase", key_path);
        return NULL;
    }
    return out;
}

int cl_key_file_pk(cl_ctx_t *ctx, const char *path, uint8_t pk[EC_PK_BYTES])
{
    ec_status_t st = {0};
    if (ec_key_file_pk(pk, path, &st) != 0)
        return cl_fail_st(ctx, &st, NULL);
    return 0;
}

ec_key_t *cl_key_load(cl_ctx_t *ctx, const char *path)
{
    if (!path)
        path = ctx->key_path;
    if (!path) {
        cl_usage(ctx, "missing --key FILE");
        return NULL;
    }
    /* A file that is missing, open to others or no key file is refused before a
     * passphrase is asked for: reading the public key needs none. */
    uint8_t pk[EC_PK_BYTES];
    if (cl_key_file_pk(ctx, path, pk) != 0)
        return NULL;
    char *pass = cl_passphrase(ctx, path, false);
    if (!pass)
        return NULL;
    ec_key_t *key = NULL;
    ec_status_t st = {0};
    int rc = ec_key_load(&key, path, pass, &st);
    cl_passphrase_free(&pass);
    if (rc != 0)
        cl_fail_st(ctx, &st, NULL);
    return key;
}

/* ---- transactions ----------------------------------------------------------------------- */

/*
 * A submit answered EREPLAY by a chain of several validators: the transaction is already
 * there, most likely because an endpoint that did not answer in time took it before the
 * client moved on (a random nonce makes any other reason unlikely). Its outcome is read
 * with `tx`, waiting for it to be committed. 0 with res filled, or 1 (recorded).
 */
static int s_submit_outcome(cl_ctx_t *ctx, cl_chain_t *ch, cl_txres_t *res)
{
    ec_writer_t args;
    ec_writer_init(&args);
    ec_write_array(&args, 1);
    ec_write_bin(&args, res->id, EC_HASH_BYTES);
    int rc = 1;
    for (uint32_t waited = 0;; waited += 100) {
        ec_rpc_reply_t r;
        rc = cl_call(ctx, ch, "tx", &args, &r, EC_ENOTFOUND);
        if (rc == EC_ENOTFOUND && waited < ctx->timeout_ms) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        if (rc == EC_ENOTFOUND)
            rc = cl_fail(ctx, EC_ETIMEOUT,
                         "the transaction is known to %s but was not "
                         "committed within %u ms",
                         ch->chain_id, ctx->timeout_ms);
        if (rc)
            break;
        ec_cur_t c;
        const uint8_t *tx, *payload;
        size_t tx_size, payload_size;
        int64_t code = 0;
        uint64_t ref = 0, slot = 0;
        ec_cur_open(&c, r.result, 7);
        ec_cur_uint(&c, &res->height);
        ec_cur_uint(&c, &res->index);
        ec_cur_bin(&c, &tx, &tx_size, EC_TX_BYTES_MAX);
        if (ec_cur_peek_nil(&c))
            ec_cur_nil(&c);
        else
            ec_cur_bin(&c, &payload, &payload_size, EC_PAYLOAD_BYTES_MAX);
        ec_cur_int(&c, &code);
        ec_cur_uint(&c, &ref);
        ec_cur_uint(&c, &slot);
        rc = ec_cur_finish(&c);
        ec_rpc_reply_fini(&r);
        if (rc)
            rc = cl_garbled(ctx, ch, "tx");
        else if (code != 0)
            rc = cl_fail(ctx, (int)code, "%s: refused at height %llu, index %llu",
                         ec_errname((int)code), (unsigned long long)res->height,
                         (unsigned long long)res->index);
        break;
    }
    ec_writer_fini(&args);
    if (rc == 0) {
        char hex[2 * EC_HASH_BYTES + 1];
        ec_hex(hex, res->id, EC_HASH_BYTES);
        cl_out(ctx, "tx %s committed at height %llu\n", hex, (unsigned long long)res->height);
    }
    return rc;
}

int cl_submit(cl_ctx_t *ctx, cl_chain_t *ch, uint64_t type, const ec_key_t *key,
              const ec_writer_t *body, const uint8_t *payload, size_t payload_size, cl_txres_t *res)
{
    if (payload && payload_size > EC_PAYLOAD_BYTES_MAX)
        return cl_fail(ctx, EC_ETOOBIG, "payload of %zu bytes is above the %u-byte limit",
                       payload_size, EC_PAYLOAD_BYTES_MAX);
    uint64_t nonce = 0;
    randombytes_buf(&nonce, sizeof nonce);
    uint8_t payload_hash[EC_HASH_BYTES];
    if (payload)
        ec_sha256(payload_hash, payload, payload_size);
    ec_writer_t tx, params;
    ec_writer_init(&tx);
    ec_writer_init(&params);
    ec_tx_build(&tx, res->id, ch->chain_id, type, key, nonce, payload ? payload_hash : NULL,
                ec_writer_data(body), ec_writer_size(body));
    ec_write_array(&params, 2);
    ec_write_bin(&params, ec_writer_data(&tx), ec_writer_size(&tx));
    if (payload)
        ec_write_bin(&params, payload, payload_size);
    else
        ec_write_nil(&params);
    ec_rpc_reply_t reply;
    int rc = cl_call(ctx, ch, "submit", &params, &reply, ch->rpc_count > 1 ? EC_EREPLAY : 0);
    ec_writer_fini(&tx);
    ec_writer_fini(&params);
    if (rc == EC_EREPLAY)
        return s_submit_outcome(ctx, ch, res);
    if (rc)
        return rc;
    ec_cur_t c;
    uint8_t id[EC_HASH_BYTES];
    ec_cur_open(&c, reply.result, 3);
    ec_cur_bin_fixed(&c, id, sizeof id);
    ec_cur_uint(&c, &res->height);
    ec_cur_uint(&c, &res->index);
    rc = ec_cur_finish(&c);
    ec_rpc_reply_fini(&reply);
    if (rc)
        return cl_garbled(ctx, ch, "submit");
    if (memcmp(id, res->id, sizeof id) != 0)
        return cl_fail(ctx, EC_EINVAL, "%s committed a different transaction id than sent",
                       ch->chain_id);
    char hex[2 * EC_HASH_BYTES + 1];
    ec_hex(hex, res->id, EC_HASH_BYTES);
    cl_out(ctx, "tx %s committed at height %llu\n", hex, (unsigned long long)res->height);
    return 0;
}

int cl_submit_signed(cl_ctx_t *ctx, cl_chain_t *ch, uint64_t type, const ec_writer_t *body,
                     const uint8_t *payload, size_t payload_size, cl_txres_t *res,
                     char signer[EC_ADDR_MAX])
{
    if (!ctx->key_path)
        return cl_missing(ctx, "--key");
    if (!ch && !(ch = cl_main(ctx)))
        return 1;
    ec_key_t *key = cl_key_load(ctx, NULL);
    if (!key)
        return 1;
    int rc = cl_submit(ctx, ch, type, key, body, payload, payload_size, res);
    if (signer)
        ec_address_from_pk(signer, ec_key_pk(key));
    ec_key_destroy(&key);
    return rc;
}

void cl_json_txres(json_t *obj, const cl_txres_t *res)
{
    json_object_set_new(obj, "tx", cl_json_hex(res->id, EC_HASH_BYTES));
    json_object_set_new(obj, "height", json_integer((json_int_t)res->height));
    json_object_set_new(obj, "index", json_integer((json_int_t)res->index));
}

int cl_emit_txres(const cl_ctx_t *ctx, json_t *obj, const cl_txres_t *res)
{
    cl_json_txres(obj, res);
    return cl_emit(ctx, obj);
}

/* ---- files and time --------------------------------------------------------------------- */

int cl_read_file(cl_ctx_t *ctx, const char *path, size_t max, uint8_t **data, size_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cl_fail(ctx, errno == ENOENT ? EC_ENOTFOUND : EC_EIO, "cannot read %s: %s", path,
                       strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return cl_fail(ctx, EC_EIO, "cannot read %s: not a regular file", path);
    }
    if ((uint64_t)sb.st_size > max) {
        close(fd);
        return cl_fail(ctx, EC_ETOOBIG, "%s is %lld bytes, above the %zu-byte limit", path,
                       (long long)sb.st_size, max);
    }
    size_t n = (size_t)sb.st_size;
    uint8_t *buf = malloc(n + 1);
    if (!buf) {
        close(fd);
        return cl_fail(ctx, EC_ENOMEM, "out of memory");
    }
    size_t off = 0;
    while (off < n) {
        ssize_t got = read(fd, buf + off, n - off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            free(buf);
            close(fd);
            return cl_fail(ctx, EC_EIO, "cannot read %s: %s", path,
                           got < 0 ? strerror(errno) : "file shrank");
        }
        off += (size_t)got;
    }
    close(fd);
    buf[n] = '\0';
    *data = buf;
    *size = n;
    return 0;
}

static int s_write_file(cl_ctx_t *ctx, const char *path, const uint8_t *data, size_t size,
                        mode_t mode)
{
    char tmp[EC_PATH_MAX + 32];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return cl_fail(ctx, EC_EINVAL, "path too long: %s", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return cl_fail(ctx, EC_EIO, "cannot write %s: %s", path, strerror(errno));
    size_t off = 0;
    while (off < size) {
        ssize_t put = write(fd, data + off, size - off);
        if (put < 0 && errno == EINTR)
            continue;
        if (put <= 0)
            break;
        off += (size_t)put;
    }
    bool ok = off == size && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return cl_fail(ctx, EC_EIO, "cannot write %s: %s", path, strerror(e));
    }
    return 0;
}

int cl_write_file(cl_ctx_t *ctx, const char *path, const uint8_t *data, size_t size)
{
    return s_write_file(ctx, path, data, size, 0644);
}

int cl_write_private(cl_ctx_t *ctx, const char *path, const uint8_t *data, size_t size)
{
    return s_write_file(ctx, path, data, size, 0600);
}

uint64_t cl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void cl_format_time(char *buf, size_t cap, uint64_t ms)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&secs, &tm) || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, cap, "%llu ms", (unsigned long long)ms);
}
