/*
 * cmd_gov.c - operator governance: `gov propose` (any operator command, proposed instead
 * of sent), `gov approve`, `gov list`, `gov show`, `gov operators` and `gov
 * set-operators`. The main chain's rules are in docs/MAINCHAIN.md ("Governance").
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_commands.h"

#define S_TTL_DEFAULT_MS (72ull * 3600 * 1000) /* a proposal waits three days by default */
#define S_LIST_PAGES_MAX 4096                  /* `gov list --all`: 131,072 proposals    */

typedef struct {
    uint32_t count;
    uint8_t pks[EC_OPERATORS_MAX][EC_PK_BYTES];
    uint32_t quorum;
} s_operators_t;

static int s_operators_get(cl_ctx_t *ctx, cl_chain_t *main, s_operators_t *ops)
{
    ec_rpc_reply_t r;
    int rc = cl_query(ctx, main, "operators", NULL, &r, 0);
    if (rc)
        return rc;
    ec_cur_t c, list;
    uint64_t quorum = 0;
    memset(ops, 0, sizeof *ops);
    ec_cur_open(&c, r.result, 2);
    ec_cur_enter_max(&c, &list, EC_OPERATORS_MAX);
    for (uint32_t i = 0; !list.err && i < list.count && i < EC_OPERATORS_MAX; i++) {
        ec_cur_bin_fixed(&list, ops->pks[i], EC_PK_BYTES);
        ops->count = i + 1;
    }
    ec_cur_fold(&c, &list);
    ec_cur_uint_max(&c, &quorum, EC_OPERATORS_MAX);
    ops->quorum = (uint32_t)quorum;
    rc = ec_cur_finish(&c);
    ec_rpc_reply_fini(&r);
    return rc ? cl_garbled(ctx, main, "query operators") : 0;
}

static bool s_has(const s_operators_t *ops, const uint8_t pk[EC_PK_BYTES])
{
    for (uint32_t i = 0; i < ops->count; i++)
        if (memcmp(ops->pks[i], pk, EC_PK_BYTES) == 0)
            return true;
    return false;
}

/* A public key shown short: its first 8 bytes in hex. */
static void s_pk_short(char out[17], const uint8_t pk[EC_PK_BYTES])
{
    ec_hex(out, pk, 8);
}

/* What an action does, in one line, from its type and encoded body. */
static void s_describe(char *buf, size_t cap, uint64_t type, const uint8_t *action, size_t size)
{
    const char *name = ec_tx_type_name(EC_CHAIN_MAIN, type);
    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *body = NULL;
    ec_status_t st;
    ec_status_clear(&st);
    snprintf(buf, cap, "%s (a body this client cannot read)", name);
    if (ec_decode(&d, action, size, &body) != 0) {
        ec_decoder_fini(&d);
        return;
    }
    char pk[17];
    switch (type) {
        case EC_MTX_ORG: {
            ec_org_body_t b;
            if (ec_org_body_read(&b, body, &st) == 0)
                snprintf(buf, cap, "register organization %s \"%s\" (%s)", b.org_code, b.name,
                         ec_billing_name(b.billing));
            break;
        }
        case EC_MTX_ROLE_GRANT:
        case EC_MTX_ROLE_REVOKE: {
            ec_role_body_t b;
            if (ec_role_body_read(&b, body, &st) == 0)
                snprintf(buf, cap, "%s role %s%s%s%s%s %s %s",
                         type == EC_MTX_ROLE_GRANT ? "grant" : "revoke", ec_role_name(b.role),
                         b.cert_type[0] ? " " : "", b.cert_type, b.org_code[0] ? " " : "",
                         b.org_code, type == EC_MTX_ROLE_GRANT ? "to" : "from", b.address);
            break;
        }
        case EC_MTX_SIDECHAIN: {
            ec_sidechain_body_t *b = malloc(sizeof *b);
            if (b && ec_sidechain_body_read(b, body, &st) == 0)
                snprintf(buf, cap, "register side chain %s (%s, %u validator%s)",
                         b->genesis.chain_id, b->genesis.cert_type, b->genesis.validators.count,
                         b->genesis.validators.count == 1 ? "" : "s");
            free(b);
            break;
        }
        case EC_MTX_SIDECHAIN_UPDATE: {
            char chain[EC_CHAIN_ID_MAX];
            ec_valset_t vs;
            bool unfreeze = false;
            ec_cur_t c;
            ec_cur_open(&c, body, 3);
            ec_cur_str_copy(&c, chain, sizeof chain);
            ec_valset_read(&c, &vs);
            ec_cur_bool(&c, &unfreeze);
            if (ec_cur_finish(&c) == 0)
                snprintf(buf, cap, "side chain %s: %u validators%s", chain, vs.count,
                         unfreeze ? ", unfrozen" : "");
            break;
        }
        case EC_MTX_VALIDATOR_UPDATE:
        case EC_MTX_SIDECHAIN_VALIDATOR: {
            bool side = type == EC_MTX_SIDECHAIN_VALIDATOR;
            char chain[EC_CHAIN_ID_MAX] = "the main chain";
            uint8_t key[EC_PK_BYTES];
            uint64_t power = 0;
            ec_cur_t c;
            ec_cur_open(&c, body, side ? 3 : 2);
            if (side)
                ec_cur_str_copy(&c, chain, sizeof chain);
            ec_cur_bin_fixed(&c, key, EC_PK_BYTES);
            ec_cur_uint(&c, &power);
            if (ec_cur_finish(&c) == 0) {
                s_pk_short(pk, key);
                snprintf(buf, cap, "validator %s… of %s: power %llu%s", pk, chain,
                         (unsigned long long)power, power ? "" : " (removed)");
            }
            break;
        }
        case EC_MTX_OPERATORS: {
            ec_operators_body_t b;
            if (ec_operators_body_read(&b, body, &st) == 0)
                snprintf(buf, cap, "%u operators, %u needed for an action", b.count, b.quorum);
            break;
        }
        default:
            break;
    }
    ec_decoder_fini(&d);
}

/* "open, expires ...", "expired ...", or "ran at height H". */
static const char *s_state(const ec_proposal_t *p, uint64_t now_ms)
{
    if (p->executed_height)
        return "ran";
    return now_ms > p->expires_ms ? "expired" : "open";
}

static json_t *s_proposal_json(const ec_proposal_t *p, const s_operators_t *ops, uint64_t now_ms)
{
    char id[2 * EC_HASH_BYTES + 1], what[320], addr[EC_ADDR_MAX];
    ec_hex(id, p->id, EC_HASH_BYTES);
    s_describe(what, sizeof what, p->action_type, p->action, p->action_size);
    ec_address_from_pk(addr, p->proposer);
    json_t *approvals = json_array();
    uint32_t counted = 0;
    for (uint32_t i = 0; i < p->approval_count; i++) {
        char a[EC_ADDR_MAX];
        ec_address_from_pk(a, p->approvals[i]);
        json_array_append_new(approvals, json_string(a));
        counted += s_has(ops, p->approvals[i]) ? 1 : 0;
    }
    return json_pack("{s:s,s:I,s:s,s:s,s:s,s:I,s:I,s:o,s:I,s:I,s:s,s:I}", "proposal", id, "seq",
                     (json_int_t)p->seq, "action", ec_tx_type_name(EC_CHAIN_MAIN, p->action_type),
                     "summary", what, "proposer", addr, "proposed_at", (json_int_t)p->height,
                     "expires_ms", (json_int_t)p->expires_ms, "approvals", approvals, "counted",
                     (json_int_t)counted, "quorum", (json_int_t)ops->quorum, "state",
                     s_state(p, now_ms), "ran_at", (json_int_t)p->executed_height);
}

/* Prints a proposal in a few lines (human mode). */
static void s_proposal_print(const cl_ctx_t *ctx, const ec_proposal_t *p, const s_operators_t *ops,
                             uint64_t now_ms)
{
    char id[2 * EC_HASH_BYTES + 1], what[320], addr[EC_ADDR_MAX], when[40];
    ec_hex(id, p->id, EC_HASH_BYTES);
    s_describe(what, sizeof what, p->action_type, p->action, p->action_size);
    ec_address_from_pk(addr, p->proposer);
    uint32_t counted = 0;
    for (uint32_t i = 0; i < p->approval_count; i++)
        counted += s_has(ops, p->approvals[i]) ? 1 : 0;
    cl_out(ctx, "proposal %s\n  %s: %s\n  proposed by %s at main height %llu\n", id,
           ec_tx_type_name(EC_CHAIN_MAIN, p->action_type), what, addr,
           (unsigned long long)p->height);
    for (uint32_t i = 0; i < p->approval_count; i++) {
        char a[EC_ADDR_MAX];
        ec_address_from_pk(a, p->approvals[i]);
        cl_out(ctx, "  approved by %s%s\n", a,
               s_has(ops, p->approvals[i]) ? "" : " (no longer an operator)");
    }
    cl_format_time(when, sizeof when, p->expires_ms);
    if (p->executed_height)
        cl_out(ctx, "  ran at main height %llu (%u of %u approvals)\n",
               (unsigned long long)p->executed_height, counted, ops->quorum);
    else
        cl_out(ctx, "  %s: %u of %u approvals; %s %s\n", s_state(p, now_ms), counted, ops->quorum,
               now_ms > p->expires_ms ? "expired" : "expires", when);
}

/* Fetches proposal `id` and the operator set, and prints or emits it. 0 or 1. */
static int s_show(cl_ctx_t *ctx, cl_chain_t *main, const uint8_t id[EC_HASH_BYTES], json_t *extra)
{
    s_operators_t ops;
    int rc = s_operators_get(ctx, main, &ops);
    if (rc) {
        json_decref(extra);
        return rc;
    }
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 1);
    ec_write_bin(&a, id, EC_HASH_BYTES);
    ec_rpc_reply_t r;
    rc = cl_query(ctx, main, "proposal", &a, &r, 0);
    ec_writer_fini(&a);
    if (rc) {
        json_decref(extra);
        return rc;
    }
    ec_proposal_t p;
    if (ec_proposal_read(&p, r.result) != 0) {
        ec_rpc_reply_fini(&r);
        json_decref(extra);
        return cl_garbled(ctx, main, "query proposal");
    }
    uint64_t now = cl_now_ms();
    s_proposal_print(ctx, &p, &ops, now);
    json_t *obj = s_proposal_json(&p, &ops, now);
    if (extra) {
        json_object_update(obj, extra);
        json_decref(extra);
    }
    ec_rpc_reply_fini(&r);
    return cl_emit(ctx, obj);
}

/* ---- sending or proposing an operator action ----------------------------------------------- */

int cmd_gov_submit(cl_ctx_t *ctx, uint64_t type, const ec_writer_t *body, cl_txres_t *res)
{
    if (!ctx->gov_propose)
        return cl_submit_signed(ctx, NULL, type, body, NULL, 0, res, NULL);
    if (!ec_gov_action_type(type))
        return cl_usage(ctx, "only operator actions can be proposed, not %s",
                        ec_tx_type_name(EC_CHAIN_MAIN, type));
    ec_propose_body_t b = {.action_type = type,
                           .action = ec_writer_data(body),
                           .action_size = ec_writer_size(body),
                           .expires_ms = cl_now_ms() + ctx->gov_ttl_ms};
    ec_writer_t w;
    ec_writer_init(&w);
    ec_propose_body_encode(&w, &b);
    int rc = cl_submit_signed(ctx, NULL, EC_MTX_GOV_PROPOSE, &w, NULL, 0, res, NULL);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    json_t *extra = json_object();
    cl_json_txres(extra, res);
    rc = s_show(ctx, cl_main(ctx), res->id, extra);
    return rc ? rc : CL_PROPOSED;
}

/* Parses "90m", "72h", "7d" or "3600s" into ms. */
static int s_parse_ttl(cl_ctx_t *ctx, const char *s, uint64_t *ms)
{
    char *end = NULL;
    unsigned long long n = strtoull(s, &end, 10);
    uint64_t unit = 0;
    if (end && end != s && end[0] && !end[1]) {
        switch (end[0]) {
            case 's':
                unit = 1000;
                break;
            case 'm':
                unit = 60 * 1000;
                break;
            case 'h':
                unit = 3600 * 1000;
                break;
            case 'd':
                unit = 24ull * 3600 * 1000;
                break;
            default:
                break;
        }
    }
    if (!unit || n == 0 || n > EC_GOV_EXPIRY_MAX_MS / unit)
        return cl_usage(ctx, "--expires must be a duration such as 90m, 72h or 7d, at most 30d");
    *ms = n * unit;
    return 0;
}

static const char s_help_propose[] =
    "usage: ecert --key OPERATOR gov propose [--expires DURATION] <operator command>...\n\n"
    "Proposes an operator action instead of sending it, when the main chain needs more\n"
    "than one operator for it (the quorum: 'ecert gov operators'). The command after the\n"
    "options is any operator command with its own options; its transaction goes into a\n"
    "GOV_PROPOSE, which counts as the proposer's approval. Other operators approve it with\n"
    "'ecert gov approve ID' before it expires; the approval that reaches the quorum runs\n"
    "it. With a quorum of 1 the action runs at once.\n\n"
    "Operator commands: org register, role grant, role revoke, sidechain register,\n"
    "sidechain update, validator set, gov set-operators.\n\n"
    "Options:\n"
    "  --expires DURATION  how long approvals are taken: 90m, 72h, 7d, ... (default 72h,\n"
    "                      at most 30d)\n"
    "\nExample:\n  ecert --key op1.key gov propose --expires 2d org register --code ORG-1 "
    "--name \"Civil Affairs Bureau\"\n" CL_GLOBAL_NOTE;

/* The commands whose action can be proposed. */
static bool s_proposable(int argc, char **argv)
{
    static const char *const ok[][2] = {
        {"org", "register"},       {"role", "grant"},       {"role", "revoke"},
        {"sidechain", "register"}, {"sidechain", "update"}, {"validator", "set"},
        {"gov", "set-operators"},
    };
    if (argc < 2)
        return false;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!strcmp(argv[0], ok[i][0]) && !strcmp(argv[1], ok[i][1]))
            return true;
    return false;
}

int cmd_gov_propose(cl_ctx_t *ctx, int argc, char **argv)
{
    /* Our options end at the operator command's name: what follows is its own. */
    int at = 1;
    uint64_t ttl = S_TTL_DEFAULT_MS;
    while (at < argc && argv[at][0] == '-') {
        const char *a = argv[at];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(s_help_propose, stdout);
            return 0;
        }
        const char *v = NULL;
        if (!strncmp(a, "--expires=", 10))
            v = a + 10;
        else if (!strcmp(a, "--expires") && at + 1 < argc)
            v = argv[++at];
        else if (!strcmp(a, "--expires"))
            return cl_usage(ctx, "--expires needs a value");
        else
            return cl_usage(ctx,
                            "unknown option '%s' (the operator command comes after "
                            "gov propose's own options)",
                            a);
        int rc = s_parse_ttl(ctx, v, &ttl);
        if (rc)
            return rc;
        at++;
    }
    if (at >= argc)
        return cl_usage(ctx, "gov propose needs an operator command (see --help)");
    if (!s_proposable(argc - at, argv + at))
        return cl_usage(ctx, "'%s%s%s' is not an operator command that can be proposed", argv[at],
                        at + 1 < argc ? " " : "", at + 1 < argc ? argv[at + 1] : "");
    ctx->gov_propose = true;
    ctx->gov_ttl_ms = ttl;
    int rc = cl_dispatch(ctx, argc - at, argv + at);
    return rc == CL_PROPOSED ? 0 : rc;
}

/* ---- approve, show, list ------------------------------------------------------------------- */

static const char s_help_approve[] =
    "usage: ecert --key OPERATOR gov approve ID\n\n"
    "Approves an open proposal (a GOV_APPROVE transaction) and shows where it stands. The\n"
    "approval that reaches the quorum runs the proposed action in the same transaction;\n"
    "when the action is refused (say, the organization exists by now), so is the approval,\n"
    "with the reason.\n\n"
    "Arguments:\n"
    "  ID   the proposal's id (64 hex digits: the GOV_PROPOSE transaction's id)\n"
    "\nExample:\n  ecert --key op2.key gov approve 3f9a...e1\n" CL_GLOBAL_NOTE;

/* Parses a command whose one argument is a proposal ID into id. -1 to go on, else the
 * exit status. */
static int s_parse_id(cl_ctx_t *ctx, int argc, char **argv, const char *help,
                      uint8_t id[EC_HASH_BYTES])
{
    const cl_opt_t opts[] = {{NULL}};
    const char *id_hex = NULL;
    int rc = cl_parse_opts(ctx, argc, argv, opts, help, &id_hex);
    if (rc >= 0)
        return rc;
    if (!id_hex)
        return cl_missing(ctx, "ID");
    return cl_parse_hash(ctx, "ID", id_hex, id) ? 2 : -1;
}

int cmd_gov_approve(cl_ctx_t *ctx, int argc, char **argv)
{
    ec_approve_body_t b;
    int rc = s_parse_id(ctx, argc, argv, s_help_approve, b.proposal);
    if (rc >= 0)
        return rc;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_approve_body_encode(&w, &b);
    cl_txres_t res;
    rc = cl_submit_signed(ctx, NULL, EC_MTX_GOV_APPROVE, &w, NULL, 0, &res, NULL);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    json_t *extra = json_object();
    cl_json_txres(extra, &res);
    return s_show(ctx, cl_main(ctx), b.proposal, extra);
}

static const char s_help_show[] =
    "usage: ecert gov show ID\n\n"
    "Shows one proposal: its action, who proposed and approved it, and whether it is open,\n"
    "expired or ran (and at which main height).\n"
    "\nExample:\n  ecert gov show 3f9a...e1\n" CL_GLOBAL_NOTE;

int cmd_gov_show(cl_ctx_t *ctx, int argc, char **argv)
{
    uint8_t id[EC_HASH_BYTES];
    int rc = s_parse_id(ctx, argc, argv, s_help_show, id);
    if (rc >= 0)
        return rc;
    cl_chain_t *main = cl_main(ctx);
    return main ? s_show(ctx, main, id, NULL) : 1;
}

static const char s_help_list[] =
    "usage: ecert gov list [--all]\n\n"
    "Lists the open proposals (an expired one stays listed until the next proposal is\n"
    "made), or with --all every proposal ever made, in order.\n\n"
    "Options:\n"
    "  --all   every proposal, open, expired or run\n"
    "\nExample:\n  ecert gov list\n" CL_GLOBAL_NOTE;

int cmd_gov_list(cl_ctx_t *ctx, int argc, char **argv)
{
    bool all = false;
    const cl_opt_t opts[] = {{"all", CL_ARG_FLAG, &all}, {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_list, NULL);
    if (rc >= 0)
        return rc;
    cl_chain_t *main = cl_main(ctx);
    if (!main)
        return 1;
    s_operators_t ops;
    if ((rc = s_operators_get(ctx, main, &ops)))
        return rc;
    uint64_t now = cl_now_ms(), after = 0;
    bool has_after = false;
    json_t *items = json_array();
    size_t shown = 0;
    for (int page = 0; page < S_LIST_PAGES_MAX; page++) {
        ec_writer_t a;
        ec_writer_init(&a);
        ec_write_array(&a, 2);
        ec_write_bool(&a, all);
        if (has_after)
            ec_write_uint(&a, after);
        else
            ec_write_nil(&a);
        ec_rpc_reply_t r;
        rc = cl_query(ctx, main, "proposals", &a, &r, 0);
        ec_writer_fini(&a);
        if (rc)
            break;
        ec_cur_t c, list;
        ec_cur_open(&c, r.result, 2);
        ec_cur_enter_max(&c, &list, EC_GOV_OPEN_MAX);
        for (uint32_t i = 0; !list.err && i < list.count; i++) {
            ec_proposal_t p;
            if (ec_proposal_read(&p, ec_cur_object(&list)) != 0) {
                ec_cur_fail(&list, EC_EINVAL);
                break;
            }
            if (shown++)
                cl_out(ctx, "\n");
            s_proposal_print(ctx, &p, &ops, now);
            json_array_append_new(items, s_proposal_json(&p, &ops, now));
        }
        ec_cur_fold(&c, &list);
        has_after = !ec_cur_peek_nil(&c);
        if (has_after)
            ec_cur_uint(&c, &after);
        else
            ec_cur_nil(&c);
        rc = ec_cur_finish(&c);
        ec_rpc_reply_fini(&r);
        if (rc) {
            rc = cl_garbled(ctx, main, "query proposals");
            break;
        }
        if (!has_after)
            break;
    }
    if (rc) {
        json_decref(items);
        return rc;
    }
    if (!shown)
        cl_out(ctx, "no %sproposals\n", all ? "" : "open ");
    return cl_emit(ctx,
                   json_pack("{s:o,s:I}", "proposals", items, "quorum", (json_int_t)ops.quorum));
}

/* ---- the operator set ----------------------------------------------------------------------- */

static const char s_help_operators[] =
    "usage: ecert gov operators\n\n"
    "Shows the main chain's operators in force and how many of them an operator action\n"
    "needs (the quorum).\n"
    "\nExample:\n  ecert gov operators\n" CL_GLOBAL_NOTE;

int cmd_gov_operators(cl_ctx_t *ctx, int argc, char **argv)
{
    const cl_opt_t opts[] = {{NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_operators, NULL);
    if (rc >= 0)
        return rc;
    cl_chain_t *main = cl_main(ctx);
    if (!main)
        return 1;
    s_operators_t ops;
    if ((rc = s_operators_get(ctx, main, &ops)))
        return rc;
    json_t *list = json_array();
    cl_out(ctx, "%u operator%s; an operator action needs %u\n", ops.count,
           ops.count == 1 ? "" : "s", ops.quorum);
    for (uint32_t i = 0; i < ops.count; i++) {
        char addr[EC_ADDR_MAX], hex[2 * EC_PK_BYTES + 1];
        ec_address_from_pk(addr, ops.pks[i]);
        ec_hex(hex, ops.pks[i], EC_PK_BYTES);
        cl_out(ctx, "  %s  %s\n", addr, hex);
        json_array_append_new(list, json_pack("{s:s,s:s}", "address", addr, "pk", hex));
    }
    return cl_emit(ctx,
                   json_pack("{s:o,s:I}", "operators", list, "quorum", (json_int_t)ops.quorum));
}

static const char s_help_set_operators[] =
    "usage: ecert --key OPERATOR gov set-operators (--operator-key FILE | --operator-pk HEX)...\n"
    "                          --quorum M\n\n"
    "Replaces the main chain's operator set and its quorum (an OPERATORS transaction). It is\n"
    "an operator action like any other: with a quorum above 1, propose it ('ecert gov\n"
    "propose gov set-operators ...'). Approvals of open proposals by keys that leave the\n"
    "set stop counting.\n\n"
    "Options:\n"
    "  --operator-key FILE  an operator's key file (repeatable, up to 8)\n"
    "  --operator-pk HEX    or an operator's public key, 64 hex digits (repeatable)\n"
    "  --quorum M           operators an action needs (1..their number)\n"
    "\nExample:\n  ecert --key op1.key gov propose gov set-operators --operator-key op1.key "
    "--operator-key op2.key --operator-key op3.key --quorum 2\n" CL_GLOBAL_NOTE;

int cmd_gov_set_operators(cl_ctx_t *ctx, int argc, char **argv)
{
    ec_genesis_t g; /* its operator list collects the keys (cl_opt_operator_*) */
    memset(&g, 0, sizeof g);
    uint64_t quorum = 0;
    bool have_quorum = false;
    const cl_opt_t opts[] = {{"operator-key", CL_ARG_FN, &g, NULL, cl_opt_operator_key},
                             {"operator-pk", CL_ARG_FN, &g, NULL, cl_opt_operator_pk},
                             {"quorum", CL_ARG_U64, &quorum, &have_quorum},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_set_operators, NULL);
    if (rc >= 0)
        return rc;
    if (g.operator_count == 0)
        return cl_missing(ctx, "--operator-key or --operator-pk");
    if (!have_quorum)
        return cl_missing(ctx, "--quorum");
    ec_operators_body_t b = {.count = g.operator_count, .quorum = (uint32_t)quorum};
    memcpy(b.pks, g.operators, sizeof b.pks);
    ec_status_t st;
    ec_status_clear(&st);
    if (quorum > EC_OPERATORS_MAX || ec_operators_check(&b, &st) != 0)
        return cl_usage(ctx, "%s", quorum > EC_OPERATORS_MAX ? "--quorum is above 8" : st.msg);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_operators_body_encode(&w, &b);
    cl_txres_t res;
    rc = cmd_gov_submit(ctx, EC_MTX_OPERATORS, &w, &res);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    cl_out(ctx, "operators replaced: %u keys, %u needed for an action\n", b.count, b.quorum);
    return cl_emit_txres(
        ctx,
        json_pack("{s:I,s:I}", "operators", (json_int_t)b.count, "quorum", (json_int_t)b.quorum),
        &res);
}
