/*
 * cmd_chain.c - `ecert chain status`: each configured chain's height, tip and mempool, and
 * for side chains how far the main chain's light client (the anchored height) lags behind.
 * A chain that does not answer is shown as down and makes the command exit 1, after the
 * others have been shown.
 *
 * The relay does not anchor a side block whose transactions are all MAIN_ANCHORs
 * (ec_header_anchor_only) on its own: that is its policy, not a chain rule, and such blocks
 * are covered by the next anchor of a later block. So the raw lag of an idle side chain
 * grows until something else is committed there. What
 * matters is how many blocks above the anchored height hold anything else: those are
 * counted from their headers, looking at the newest S_LAG_SCAN_MAX at most.
 */
#include <stdio.h>
#include <string.h>

#include "cl_commands.h"

#define S_LAG_SCAN_MAX 64        /* side headers fetched at most to count unanchored blocks  */
#define S_STATUS_TIMEOUT_MS 2000 /* a chain silent this long is down (without --timeout-ms) */

static int s_status(cl_ctx_t *ctx, cl_chain_t *ch, ec_rpc_status_t *s)
{
    ec_rpc_reply_t r;
    int rc = cl_call(ctx, ch, "status", NULL, &r, 0);
    if (rc)
        return rc;
    rc = ec_rpc_status_read(s, r.result);
    ec_rpc_reply_fini(&r);
    if (rc)
        return cl_garbled(ctx, ch, "status");
    if (strcmp(s->chain_id, ch->chain_id) != 0)
        return cl_fail(ctx, EC_ECHAIN, "%s answers as chain %s, but the config says %s", ch->rpc,
                       s->chain_id, ch->chain_id);
    return 0;
}

int cl_side_light(cl_ctx_t *ctx, cl_chain_t *main, const char *chain_id, uint64_t *height,
                  bool *frozen)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 1);
    ec_write_cstr(&w, chain_id);
    ec_rpc_reply_t r;
    int rc = cl_query(ctx, main, "sidechain", &w, &r, EC_ENOTFOUND);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    const uint8_t *genesis;
    size_t genesis_size;
    uint8_t hash[EC_HASH_BYTES], hist[EC_HASH_BYTES], vs_hash[EC_HASH_BYTES];
    ec_cur_t c, l;
    ec_cur_open(&c, r.result, 3);
    ec_cur_bin(&c, &genesis, &genesis_size, EC_TX_BYTES_MAX);
    ec_cur_enter(&c, &l, 4);
    ec_cur_uint(&l, height);
    ec_cur_bin_fixed(&l, hash, sizeof hash);
    ec_cur_bin_fixed(&l, hist, sizeof hist);
    ec_cur_bool(&l, frozen);
    ec_cur_fold(&c, &l);
    ec_cur_bin_fixed(&c, vs_hash, sizeof vs_hash);
    rc = ec_cur_finish(&c);
    ec_rpc_reply_fini(&r);
    return rc ? cl_garbled(ctx, main, "query sidechain") : 0;
}

/*
 * Counts the side blocks in (anchored, height] that are not anchor-only, fetching their
 * headers with `header` from the tip down, S_LAG_SCAN_MAX at most. 0, or 1 (recorded).
 */
static int s_unanchored(cl_ctx_t *ctx, cl_chain_t *side, uint64_t anchored, uint64_t height,
                        uint64_t *count)
{
    *count = 0;
    for (uint64_t h = height; h > anchored && height - h < S_LAG_SCAN_MAX; h--) {
        ec_writer_t w;
        ec_writer_init(&w);
        ec_write_array(&w, 1);
        ec_write_uint(&w, h);
        ec_rpc_reply_t r;
        int rc = cl_call(ctx, side, "header", &w, &r, 0);
        ec_writer_fini(&w);
        if (rc)
            return rc;
        const uint8_t *hdr, *commit;
        size_t hdr_size, commit_size;
        ec_header_t header;
        ec_cur_t c;
        ec_cur_open(&c, r.result, 2);
        ec_cur_bin(&c, &hdr, &hdr_size, EC_TX_BYTES_MAX);
        ec_cur_bin(&c, &commit, &commit_size, EC_TX_BYTES_MAX);
        rc = ec_cur_finish(&c);
        if (rc == 0)
            rc = ec_header_decode(&header, hdr, hdr_size);
        ec_rpc_reply_fini(&r);
        if (rc || header.height != h)
            return cl_garbled(ctx, side, "header");
        if (!ec_header_anchor_only(&header))
            (*count)++;
    }
    return 0;
}

/* Shows the main chain's light client of side chain ch (height: the side tip). */
static void s_show_anchoring(cl_ctx_t *ctx, cl_chain_t *ch, cl_chain_t *main, uint64_t height,
                             json_t *o)
{
    uint64_t anchored = 0, waiting = 0;
    bool frozen = false;
    int rc = cl_side_light(ctx, main, ch->chain_id, &anchored, &frozen);
    if (rc == EC_ENOTFOUND) {
        cl_out(ctx, "  not registered on the main chain");
        json_object_set_new(o, "registered", json_false());
        return;
    }
    if (rc == 0)
        rc = s_unanchored(ctx, ch, anchored, height, &waiting);
    if (rc) {
        cl_out(ctx, "  anchoring unknown (%s)", ctx->err_msg);
        ctx->err_code = 0; /* the chain's own line (main, or this one next time) reports it */
        return;
    }
    uint64_t lag = height > anchored ? height - anchored : 0;
    bool exact = lag <= S_LAG_SCAN_MAX;
    /* Blocks that only carry main-chain records (anchor-only) are never anchored back: a
     * quiet chain's anchored height stays where its last certificate was. */
    if (waiting == 0 && anchored == 0)
        cl_out(ctx, "  nothing to anchor yet (no block with certificates)");
    else if (waiting == 0)
        cl_out(ctx, "  anchored up to %llu, nothing waiting", (unsigned long long)anchored);
    else
        cl_out(ctx, "  anchored up to %llu, %llu block%s with certificates waiting",
               (unsigned long long)anchored, (unsigned long long)waiting, waiting == 1 ? "" : "s");
    if (!exact)
        cl_out(ctx, " in the newest %d (>%d behind)", S_LAG_SCAN_MAX, S_LAG_SCAN_MAX);
    cl_out(ctx, "%s", frozen ? " FROZEN" : "");
    json_object_set_new(o, "anchored_height", json_integer((json_int_t)anchored));
    json_object_set_new(o, "anchor_lag", json_integer((json_int_t)lag));
    json_object_set_new(o, "unanchored_blocks", json_integer((json_int_t)waiting));
    json_object_set_new(o, "unanchored_exact", json_boolean(exact));
    json_object_set_new(o, "frozen", json_boolean(frozen));
}

/* The name of a consensus step as the status reply gives it (ec_engine_status_t.step: 0
 * when idle, else an ec_tm_step_t), for `chain status` and `node status` alike. */
static const char *s_step_name(uint64_t step)
{
    static const char *const names[] = {"idle", "propose", "prevote", "precommit"};
    return step < sizeof names / sizeof names[0] ? names[step] : "?";
}

/* Shows one chain; returns 0 when it answered. */
static int s_show(cl_ctx_t *ctx, cl_chain_t *ch, cl_chain_t *main, json_t *list)
{
    ec_rpc_status_t s;
    memset(&s, 0, sizeof s);
    json_t *o =
        json_pack("{s:s,s:s,s:s}", "type", ch->type, "chain_id", ch->chain_id, "rpc", ch->rpc);
    if (s_status(ctx, ch, &s) != 0) {
        cl_out(ctx, "%-10s %-22s DOWN: %s\n", ch->type, ch->chain_id, ctx->err_msg);
        json_object_set_new(o, "up", json_false());
        json_object_set_new(o, "error", json_string(ctx->err_msg));
        json_array_append_new(list, o);
        return 1;
    }
    char tip[2 * EC_HASH_BYTES + 1] = "-";
    if (s.has_tip)
        ec_hex(tip, s.tip_hash, sizeof s.tip_hash);
    cl_out(ctx, "%-10s %-22s height %-8llu tip %.12s  mempool %llu", ch->type, ch->chain_id,
           (unsigned long long)s.height, tip, (unsigned long long)s.mempool);
    if (s.validators > 1 && s.is_validator)
        cl_out(ctx, "  round %llu  validator %llu of %llu  peers %llu", (unsigned long long)s.round,
               (unsigned long long)s.validator, (unsigned long long)s.validators,
               (unsigned long long)s.peers);
    else if (s.validators > 1)
        cl_out(ctx, "  round %llu  not a validator (%llu in the set)  peers %llu",
               (unsigned long long)s.round, (unsigned long long)s.validators,
               (unsigned long long)s.peers);
    json_object_set_new(o, "up", json_true());
    json_object_set_new(o, "height", json_integer((json_int_t)s.height));
    json_object_set_new(o, "tip", s.has_tip ? json_string(tip) : json_null());
    json_object_set_new(o, "tip_time_ms", json_integer((json_int_t)s.tip_time_ms));
    json_object_set_new(o, "mempool", json_integer((json_int_t)s.mempool));
    json_object_set_new(o, "round", json_integer((json_int_t)s.round));
    json_object_set_new(o, "step", json_string(s_step_name(s.step)));
    json_object_set_new(o, "validator",
                        s.is_validator ? json_integer((json_int_t)s.validator) : json_null());
    json_object_set_new(o, "validators", json_integer((json_int_t)s.validators));
    json_object_set_new(o, "peers", json_integer((json_int_t)s.peers));
    if (ch != main && main)
        s_show_anchoring(ctx, ch, main, s.height, o);
    cl_out(ctx, "\n");
    json_array_append_new(list, o);
    return 0;
}

static const char s_help_status[] =
    "usage: ecert chain status [--type TYPE | --type main | --all]\n\n"
    "Shows each chain's height, tip hash (prefix) and mempool size, and for side chains\n"
    "the height the main chain has anchored and how many side blocks above it hold\n"
    "certificates (anything but anchor relays) and so still wait to be anchored; blocks\n"
    "with only anchor relays are never anchored and do not count. At most the newest 64\n"
    "blocks are looked at. With no option, every chain in the client config (--all).\n"
    "A chain that does not answer within 2 s (all its endpoints together; --timeout-ms\n"
    "changes that) is shown DOWN, and the command exits 1.\n\n"
    "Options:\n"
    "  --type TYPE   only this side chain (and the main chain, for its anchoring)\n"
    "  --type main   only the main chain\n"
    "  --all         the main chain and every side chain (default)\n"
    "\nExample:\n  ecert chain status --type degree\n" CL_GLOBAL_NOTE;

int cmd_chain_status(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *type = NULL;
    bool all = false;
    const cl_opt_t opts[] = {{"type", CL_ARG_STR, &type}, {"all", CL_ARG_FLAG, &all}, {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_status, NULL);
    if (rc >= 0)
        return rc;
    if (type && all)
        return cl_usage(ctx, "give --type or --all, not both");
    cl_config_t *cfg = cl_config(ctx);
    if (!cfg)
        return 1;
    /* A status answers in milliseconds: a chain silent for 2 s is down, whatever number of
     * endpoints the client tries in turn (unless --timeout-ms says otherwise). */
    if (!ctx->timeout_set) {
        uint32_t most = cfg->main.rpc_count > 1 ? cfg->main.rpc_count : 1;
        for (size_t i = 0; i < cfg->side_count; i++)
            if (cfg->sides[i].rpc_count > most)
                most = cfg->sides[i].rpc_count;
        ctx->timeout_ms = S_STATUS_TIMEOUT_MS / most;
    }
    /* "main" is the main chain's type in the config; --type main shows it alone. */
    bool main_only = type && !strcmp(type, "main");
    cl_chain_t *only = NULL;
    if (type && !main_only && !(only = cl_side(ctx, type)))
        return 1;
    json_t *list = json_array();
    size_t down = 0, shown = 0;
    int first_code = 0;
    char first_msg[sizeof ctx->err_msg] = "";
    cl_chain_t *main = &cfg->main;
    bool main_up = true;
    for (size_t i = 0; i <= cfg->side_count; i++) {
        cl_chain_t *ch = i == 0 ? main : &cfg->sides[i - 1];
        if (i > 0 && (main_only || (only && ch != only)))
            continue;
        bool up = s_show(ctx, ch, i == 0 || !main_up ? NULL : main, list) == 0;
        if (i == 0)
            main_up = up;
        if (!up && down++ == 0) {
            first_code = ctx->err_code;
            snprintf(first_msg, sizeof first_msg, "%s", ctx->err_msg);
        }
        shown++;
    }
    if (down) {
        /* One JSON object per run: with --json the error object replaces the list. */
        json_decref(list);
        if (down == 1)
            return cl_fail(ctx, first_code ? first_code : EC_ETIMEOUT, "%s", first_msg);
        return cl_fail(ctx, EC_ETIMEOUT, "%zu of %zu chains did not answer (first: %s)", down,
                       shown, first_msg);
    }
    ctx->err_code = 0;
    return cl_emit(ctx, json_pack("{s:o}", "chains", list));
}

/* ---- ecert chain evidence ------------------------------------------------------------- */

/* Entries listed at most: the chain's record of equivocation is small, but the reply is the
 * network's and is bounded here too. */
#define S_EVIDENCE_LIST_MAX 4096

static const char s_help_evidence[] =
    "usage: ecert chain evidence [--type TYPE | --type main] [--from HEIGHT]\n\n"
    "Lists the equivocation evidence a chain has committed: each entry is two conflicting\n"
    "votes signed by one validator for the same height, round and step, recorded in the\n"
    "block shown (docs/CONSENSUS.md). Nothing listed means no validator of this chain was\n"
    "caught signing twice. The node checked both signatures before the block was committed.\n\n"
    "Options:\n"
    "  --type TYPE     that side chain; main (the default) for the main chain\n"
    "  --from HEIGHT   only evidence recorded in block HEIGHT or later (default 1)\n"
    "\nExample:\n  ecert chain evidence --type degree\n" CL_GLOBAL_NOTE;

static const char *s_vote_name(uint32_t type)
{
    return type == EC_VOTE_PREVOTE ? "prevote" : type == EC_VOTE_PRECOMMIT ? "precommit" : "?";
}

/* The value a vote is for: its block hash in hex, or "nil". */
static void s_vote_value(char out[2 * EC_HASH_BYTES + 1], const ec_vote_t *v)
{
    if (v->nil)
        snprintf(out, 2 * EC_HASH_BYTES + 1, "nil");
    else
        ec_hex(out, v->hash, EC_HASH_BYTES);
}

/* Where a page of `evidence` left off: the last entry listed. */
typedef struct {
    uint64_t height;
    uint64_t index;
    bool any;
} s_evidence_at_t;

/*
 * Reads one `evidence` reply from block `at->height` on into list, skipping the entries
 * already listed (at or before *at), and moves *at to the last entry. Sets *count to the
 * number of entries in the reply. 0, or 1 with the error recorded.
 */
static int s_evidence_page(cl_ctx_t *ctx, cl_chain_t *ch, s_evidence_at_t *at, json_t *list,
                           uint32_t *count)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 1);
    ec_write_uint(&w, at->height);
    ec_rpc_reply_t r;
    int rc = cl_call(ctx, ch, "evidence", &w, &r, 0);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    ec_cur_t c;
    ec_cur_open_max(&c, r.result, 256);
    *count = c.count;
    for (uint32_t i = 0; !c.err && i < c.count; i++) {
        ec_cur_t item;
        uint64_t height = 0, index = 0;
        const uint8_t *bytes;
        size_t size;
        ec_evidence_t e;
        ec_cur_enter(&c, &item, 3);
        ec_cur_uint(&item, &height);
        ec_cur_uint(&item, &index);
        ec_cur_bin(&item, &bytes, &size, EC_TX_BYTES_MAX);
        ec_cur_fold(&c, &item);
        if (c.err || ec_evidence_decode(&e, bytes, size) != 0 || height < at->height) {
            ec_cur_fail(&c, EC_EINVAL);
            break;
        }
        if (at->any && height == at->height && index <= at->index)
            continue; /* listed from the previous page */
        at->height = height;
        at->index = index;
        at->any = true;
        char a[2 * EC_HASH_BYTES + 1], b[2 * EC_HASH_BYTES + 1];
        s_vote_value(a, &e.a);
        s_vote_value(b, &e.b);
        cl_out(ctx,
               "block %llu #%llu: validator %u signed two %ss at height %llu round %llu:\n"
               "  %s\n  %s\n",
               (unsigned long long)height, (unsigned long long)index, e.a.validator,
               s_vote_name(e.a.type), (unsigned long long)e.a.height, (unsigned long long)e.a.round,
               a, b);
        json_array_append_new(
            list, json_pack("{s:I,s:I,s:I,s:I,s:s,s:I,s:s,s:s}", "block", (json_int_t)height,
                            "index", (json_int_t)index, "height", (json_int_t)e.a.height, "round",
                            (json_int_t)e.a.round, "step", s_vote_name(e.a.type), "validator",
                            (json_int_t)e.a.validator, "a", a, "b", b));
    }
    rc = c.err;
    ec_rpc_reply_fini(&r);
    return rc ? cl_garbled(ctx, ch, "evidence") : 0;
}

int cmd_chain_evidence(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *type = "main";
    uint64_t from = 1;
    const cl_opt_t opts[] = {{"type", CL_ARG_STR, &type}, {"from", CL_ARG_U64, &from}, {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_evidence, NULL);
    if (rc >= 0)
        return rc;
    cl_chain_t *ch = strcmp(type, "main") == 0 ? cl_main(ctx) : cl_side(ctx, type);
    if (!ch)
        return 1;
    json_t *list = json_array();
    /* A full page (64) may stop inside a block: the next one starts at that block again and
     * skips what was listed (a block holds at most 16, so every page moves on). */
    s_evidence_at_t at = {from, 0, false};
    for (uint32_t n = 64; n == 64 && json_array_size(list) < S_EVIDENCE_LIST_MAX;) {
        size_t before = json_array_size(list);
        if (s_evidence_page(ctx, ch, &at, list, &n) != 0) {
            json_decref(list);
            return 1;
        }
        if (json_array_size(list) == before)
            break;
    }
    if (json_array_size(list) == 0)
        cl_out(ctx, "%s: no evidence committed from block %llu on\n", ch->chain_id,
               (unsigned long long)from);
    return cl_emit(ctx, json_pack("{s:s,s:o}", "chain_id", ch->chain_id, "evidence", list));
}

/* ---- ecert node status ---------------------------------------------------------------- */

static const char s_help_node[] =
    "usage: ecert node status --rpc ENDPOINT\n\n"
    "Asks one node (any validator of any chain, named by its rpc endpoint) for its own\n"
    "view: its chain, committed height and tip, the consensus round and step it is in,\n"
    "its index in the validator set, the validators and how many of the other validators\n"
    "it is connected to. Needs no client config. Exits 1 when the node does not answer.\n\n"
    "Options:\n"
    "  --rpc ENDPOINT   the node's rpc endpoint, e.g. tcp://127.0.0.1:8000\n"
    "\nExample:\n  ecert node status --rpc tcp://127.0.0.1:8000\n" CL_GLOBAL_NOTE;

int cmd_node_status(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *rpc = NULL;
    const cl_opt_t opts[] = {{"rpc", CL_ARG_STR, &rpc}, {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_node, NULL);
    if (rc >= 0)
        return rc;
    if (!rpc)
        return cl_missing(ctx, "--rpc");
    cl_chain_t node;
    memset(&node, 0, sizeof node);
    snprintf(node.type, sizeof node.type, "node");
    snprintf(node.chain_id, sizeof node.chain_id, "the node");
    if (snprintf(node.rpc, sizeof node.rpc, "%s", rpc) >= (int)sizeof node.rpc)
        return cl_usage(ctx, "--rpc: endpoint too long");
    ec_rpc_reply_t r;
    rc = cl_call(ctx, &node, "status", NULL, &r, 0);
    if (rc) {
        ec_rpc_destroy(&node.conn);
        return rc;
    }
    ec_rpc_status_t s;
    rc = ec_rpc_status_read(&s, r.result);
    ec_rpc_reply_fini(&r);
    ec_rpc_destroy(&node.conn);
    if (rc)
        return cl_garbled(ctx, &node, "status");
    char tip[2 * EC_HASH_BYTES + 1] = "-";
    if (s.has_tip)
        ec_hex(tip, s.tip_hash, sizeof s.tip_hash);
    const char *step = s_step_name(s.step);
    cl_out(ctx, "%s  height %llu  tip %.12s  round %llu %s  ", s.chain_id,
           (unsigned long long)s.height, tip, (unsigned long long)s.round, step);
    if (s.is_validator)
        cl_out(ctx, "validator %llu of %llu", (unsigned long long)s.validator,
               (unsigned long long)s.validators);
    else
        cl_out(ctx, "not a validator (%llu in the set)", (unsigned long long)s.validators);
    cl_out(ctx, "  peers %llu  mempool %llu\n", (unsigned long long)s.peers,
           (unsigned long long)s.mempool);
    json_t *o = json_pack("{s:s,s:s,s:I,s:o,s:I,s:I,s:I,s:s,s:o,s:I,s:I}", "rpc", rpc, "chain_id",
                          s.chain_id, "height", (json_int_t)s.height, "tip",
                          s.has_tip ? json_string(tip) : json_null(), "tip_time_ms",
                          (json_int_t)s.tip_time_ms, "mempool", (json_int_t)s.mempool, "round",
                          (json_int_t)s.round, "step", step, "validator",
                          s.is_validator ? json_integer((json_int_t)s.validator) : json_null(),
                          "validators", (json_int_t)s.validators, "peers", (json_int_t)s.peers);
    return cl_emit(ctx, o);
}
