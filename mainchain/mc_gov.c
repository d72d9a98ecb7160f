/*
 * mc_gov.c - operator governance on the main chain (mc_gov.h): the operator set in force,
 * proposals and approvals, and their queries.
 *
 * Invariants: "g/open" lists exactly the proposals that are neither run nor dropped, at
 * most EC_GOV_OPEN_MAX of them; an expired one is dropped from it when the next proposal
 * is made (it can no longer run either way: approvals check the block time). A proposal's
 * approvals are distinct keys that were operators when they approved; only those still
 * in the set in force count towards the quorum. Deliver functions check everything before
 * their first write, the action's own checks included (it runs before ours are written).
 */
#include "mc_gov.h"
#include "mc_priv.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ec_chain.h"
#include "ec_log.h"

#define S_OPS_KEY "g/ops"
#define S_OPEN_KEY "g/open"
#define S_COUNT_KEY "g/n"
#define S_PAGE_MAX 32 /* proposals one "proposals" page holds                          */

/* An open proposal: its id and expiry. */
typedef struct {
    uint8_t id[EC_HASH_BYTES];
    uint64_t expires_ms;
} s_open_t;

typedef struct {
    uint32_t count;
    s_open_t items[EC_GOV_OPEN_MAX];
} s_open_list_t;

/* ---- storage helpers -------------------------------------------------------------------- */

static size_t s_proposal_key(uint8_t out[2 + EC_HASH_BYTES], const uint8_t id[EC_HASH_BYTES])
{
    out[0] = 'p';
    out[1] = '/';
    memcpy(out + 2, id, EC_HASH_BYTES);
    return 2 + EC_HASH_BYTES;
}

static size_t s_seq_key(uint8_t out[10], uint64_t seq)
{
    out[0] = 'q';
    out[1] = '/';
    ec_be64_put(out + 2, seq);
    return 10;
}

/* ---- the operator set ------------------------------------------------------------------- */

static void s_ops_read(ec_cur_t *c, void *out)
{
    ec_operators_body_t *b = out;
    ec_cur_t f, ops;
    uint64_t quorum = 0;
    ec_cur_enter(c, &f, 2);
    ec_cur_enter_max(&f, &ops, EC_OPERATORS_MAX);
    for (uint32_t i = 0; !ops.err && i < ops.count && i < EC_OPERATORS_MAX; i++) {
        ec_cur_bin_fixed(&ops, b->pks[i], EC_PK_BYTES);
        b->count = i + 1;
    }
    ec_cur_fold(&f, &ops);
    ec_cur_uint_max(&f, &quorum, EC_OPERATORS_MAX);
    b->quorum = (uint32_t)quorum;
    ec_cur_fold(c, &f);
}

int mc_operators_load(ec_ledger_t *l, bool pending, const ec_genesis_t *g, mc_operators_t *ops,
                      ec_status_t *st)
{
    uint8_t *val = NULL;
    size_t size = 0;
    int rc = mc_state_get(l, pending, S_OPS_KEY, strlen(S_OPS_KEY), &val, &size);
    if (rc == EC_ENOTFOUND) {
        ops->count = g->operator_count;
        memcpy(ops->pks, g->operators, sizeof ops->pks);
        ops->quorum = g->operator_quorum ? g->operator_quorum : 1;
        return 0;
    }
    if (rc != 0)
        return mc_io(st, rc);
    ec_operators_body_t b;
    memset(&b, 0, sizeof b);
    rc = ec_decode_read(&b, sizeof b, val, size, s_ops_read);
    free(val);
    if (rc != 0 || ec_operators_check(&b, NULL) != 0)
        return mc_corrupt(st, "operator set");
    ops->count = b.count;
    memcpy(ops->pks, b.pks, sizeof ops->pks);
    ops->quorum = b.quorum;
    return 0;
}

bool mc_operators_has(const mc_operators_t *ops, const uint8_t pk[EC_PK_BYTES])
{
    for (uint32_t i = 0; i < ops->count; i++)
        if (memcmp(ops->pks[i], pk, EC_PK_BYTES) == 0)
            return true;
    return false;
}

static int s_not_operator(const uint8_t pk[EC_PK_BYTES], ec_status_t *st)
{
    char addr[EC_ADDR_MAX];
    ec_address_from_pk(addr, pk);
    return ec_status_set(st, EC_EPERM, "sender %s is not an operator", addr);
}

int mc_gov_set_operators(mc_gov_t *g, ec_block_ctx_t *ctx, const ec_tx_t *tx, ec_status_t *st)
{
    ec_operators_body_t b;
    int rc = ec_operators_body_read(&b, tx->body, st);
    if (rc != 0)
        return rc;
    ec_writer_reset(&g->w);
    ec_operators_body_encode(&g->w, &b);
    ec_state_put(ctx->ledger, S_OPS_KEY, strlen(S_OPS_KEY), ec_writer_data(&g->w),
                 ec_writer_size(&g->w));
    return 0;
}

/* ---- proposals -------------------------------------------------------------------------- */

static int s_proposal_decode(ec_decoder_t *d, ec_proposal_t *p, const uint8_t *data, size_t size)
{
    const msgpack_object *root = NULL;
    if (ec_decode(d, data, size, &root) != 0 || ec_proposal_read(p, root) != 0)
        return EC_EINTERNAL;
    return 0;
}

/*
 * Loads proposal `id` into p; its action points into *val (the caller frees it). Returns 0,
 * EC_ENOTFOUND (st says so), EC_EIO or EC_EINTERNAL.
 */
static int s_proposal_load(ec_ledger_t *l, bool pending, ec_decoder_t *d,
                           const uint8_t id[EC_HASH_BYTES], ec_proposal_t *p, uint8_t **val,
                           ec_status_t *st)
{
    uint8_t key[2 + EC_HASH_BYTES];
    size_t size = 0;
    *val = NULL;
    int rc = mc_state_get(l, pending, key, s_proposal_key(key, id), val, &size);
    if (rc == EC_ENOTFOUND) {
        char hex[2 * EC_HASH_BYTES + 1];
        ec_hex(hex, id, EC_HASH_BYTES);
        return ec_status_set(st, EC_ENOTFOUND, "no proposal %s", hex);
    }
    if (rc != 0)
        return mc_io(st, rc);
    if (s_proposal_decode(d, p, *val, size) != 0 || memcmp(p->id, id, EC_HASH_BYTES) != 0) {
        free(*val);
        *val = NULL;
        return mc_corrupt(st, "proposal");
    }
    return 0;
}

static void s_proposal_store(mc_gov_t *g, ec_ledger_t *l, const ec_proposal_t *p)
{
    uint8_t key[2 + EC_HASH_BYTES];
    ec_writer_reset(&g->w);
    ec_proposal_encode(&g->w, p);
    ec_state_put(l, key, s_proposal_key(key, p->id), ec_writer_data(&g->w), ec_writer_size(&g->w));
}

static void s_open_read(ec_cur_t *c, void *out)
{
    s_open_list_t *o = out;
    ec_cur_t list, item;
    ec_cur_enter_max(c, &list, EC_GOV_OPEN_MAX);
    for (uint32_t i = 0; !list.err && i < list.count && i < EC_GOV_OPEN_MAX; i++) {
        ec_cur_enter(&list, &item, 2);
        ec_cur_bin_fixed(&item, o->items[i].id, EC_HASH_BYTES);
        ec_cur_uint(&item, &o->items[i].expires_ms);
        ec_cur_fold(&list, &item);
        o->count = i + 1;
    }
    ec_cur_fold(c, &list);
}

static int s_open_load(ec_ledger_t *l, bool pending, s_open_list_t *o, ec_status_t *st)
{
    uint8_t *val = NULL;
    size_t size = 0;
    memset(o, 0, sizeof *o);
    int rc = mc_state_get(l, pending, S_OPEN_KEY, strlen(S_OPEN_KEY), &val, &size);
    if (rc == EC_ENOTFOUND)
        return 0;
    if (rc != 0)
        return mc_io(st, rc);
    rc = ec_decode_read(o, sizeof *o, val, size, s_open_read);
    free(val);
    return rc == 0 ? 0 : mc_corrupt(st, "open proposal list");
}

static void s_open_store(mc_gov_t *g, ec_ledger_t *l, const s_open_list_t *o)
{
    ec_writer_reset(&g->w);
    ec_write_array(&g->w, o->count);
    for (uint32_t i = 0; i < o->count; i++) {
        ec_write_array(&g->w, 2);
        ec_write_bin(&g->w, o->items[i].id, EC_HASH_BYTES);
        ec_write_uint(&g->w, o->items[i].expires_ms);
    }
    ec_state_put(l, S_OPEN_KEY, strlen(S_OPEN_KEY), ec_writer_data(&g->w), ec_writer_size(&g->w));
}

/* Removes entry `id` (when listed) and, with now_ms > 0, every entry expired before now_ms. */
static void s_open_drop(s_open_list_t *o, const uint8_t *id, uint64_t now_ms)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < o->count; i++) {
        bool gone = (id && memcmp(o->items[i].id, id, EC_HASH_BYTES) == 0) ||
                    (now_ms && o->items[i].expires_ms < now_ms);
        if (!gone)
            o->items[kept++] = o->items[i];
    }
    o->count = kept;
}

/* Approvals of p by keys in the set in force. */
static uint32_t s_counted(const ec_proposal_t *p, const mc_operators_t *ops)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->approval_count; i++)
        n += mc_operators_has(ops, p->approvals[i]) ? 1 : 0;
    return n;
}

/* The action of p as a transaction from its proposer, its body parsed by g->action_dec. */
static int s_action_tx(mc_gov_t *g, const ec_proposal_t *p, const char *chain_id, ec_tx_t *action,
                       ec_status_t *st)
{
    memset(action, 0, sizeof *action);
    const msgpack_object *body = NULL;
    if (ec_decode(&g->action_dec, p->action, p->action_size, &body) != 0)
        return ec_status_set(st, EC_EINVAL, "the proposed %s body is not canonical msgpack",
                             ec_tx_type_name(EC_CHAIN_MAIN, p->action_type));
    memcpy(action->id, p->id, EC_HASH_BYTES);
    snprintf(action->chain_id, sizeof action->chain_id, "%s", chain_id);
    action->type = p->action_type;
    memcpy(action->sender, p->proposer, EC_PK_BYTES);
    action->body = body;
    return 0;
}

/* Runs p's action; a refusal names the proposal. */
static int s_run(mc_gov_t *g, ec_block_ctx_t *ctx, const ec_proposal_t *p, const char *chain_id,
                 ec_status_t *st)
{
    ec_tx_t action;
    int rc = s_action_tx(g, p, chain_id, &action, st);
    if (rc != 0)
        return rc;
    rc = g->exec(g->app, ctx, &action, st);
    if (rc != 0 && st) {
        char msg[sizeof st->msg];
        snprintf(msg, sizeof msg, "%s", st->msg);
        ec_status_set(st, rc, "the proposed %s was refused: %s",
                      ec_tx_type_name(EC_CHAIN_MAIN, p->action_type), msg);
    }
    return rc;
}

static int s_propose(mc_gov_t *g, ec_block_ctx_t *ctx, const ec_tx_t *tx, const mc_operators_t *ops,
                     ec_status_t *st)
{
    ec_ledger_t *l = ctx->ledger;
    ec_propose_body_t b;
    int rc = ec_propose_body_read(&b, tx->body, st);
    if (rc != 0)
        return rc;
    if (b.expires_ms <= ctx->time_ms || b.expires_ms - ctx->time_ms > EC_GOV_EXPIRY_MAX_MS)
        return ec_status_set(st, EC_EINVAL,
                             "a proposal must expire after the block time and within %llu days",
                             (unsigned long long)(EC_GOV_EXPIRY_MAX_MS / (24 * 3600 * 1000)));
    ec_proposal_t p;
    memset(&p, 0, sizeof p);
    memcpy(p.id, tx->id, EC_HASH_BYTES);
    p.action_type = b.action_type;
    p.action = b.action;
    p.action_size = b.action_size;
    memcpy(p.proposer, tx->sender, EC_PK_BYTES);
    p.height = ctx->height;
    p.expires_ms = b.expires_ms;
    p.approval_count = 1;
    memcpy(p.approvals[0], tx->sender, EC_PK_BYTES);

    ec_tx_t action;
    rc = s_action_tx(g, &p, tx->chain_id, &action, st);
    rc = rc ? rc : g->check(g->app, &action, st);
    if (rc != 0)
        return rc;
    s_open_list_t *open = malloc(sizeof *open); /* ~2.6 KB, rare: off the stack */
    if (!open)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    rc = s_open_load(l, true, open, st);
    uint8_t *val = NULL;
    size_t size = 0;
    uint64_t seq = 0;
    if (rc == 0) {
        rc = mc_state_get(l, true, S_COUNT_KEY, strlen(S_COUNT_KEY), &val, &size);
        if (rc == 0) {
            ec_cur_t c;
            const msgpack_object *root = NULL;
            rc = ec_decode(&g->dec, val, size, &root) == 0 ? 0 : EC_EINTERNAL;
            if (rc == 0) {
                ec_cur_open(&c, root, 1);
                ec_cur_uint(&c, &seq);
                rc = ec_cur_finish(&c) == 0 ? 0 : EC_EINTERNAL;
            }
            free(val);
            rc = rc == 0 ? 0 : mc_corrupt(st, "proposal count");
        } else if (rc == EC_ENOTFOUND) {
            rc = 0;
        } else {
            rc = mc_io(st, rc);
        }
    }
    if (rc == 0) {
        s_open_drop(open, NULL, ctx->time_ms);
        if (p.approval_count < ops->quorum && open->count >= EC_GOV_OPEN_MAX)
            rc = ec_status_set(st, EC_EBUSY,
                               "%d proposals are open: approve them or let them expire first",
                               EC_GOV_OPEN_MAX);
    }
    /* The action's own checks and writes: it runs now when this approval is the quorum. */
    if (rc == 0 && p.approval_count >= ops->quorum) {
        rc = s_run(g, ctx, &p, tx->chain_id, st);
        p.executed_height = ctx->height;
    }
    if (rc != 0) {
        free(open);
        return rc;
    }
    p.seq = seq;
    if (!p.executed_height) {
        open->items[open->count].expires_ms = p.expires_ms;
        memcpy(open->items[open->count].id, p.id, EC_HASH_BYTES);
        open->count++;
    }
    s_open_store(g, l, open);
    free(open);
    s_proposal_store(g, l, &p);
    uint8_t key[10];
    ec_state_put(l, key, s_seq_key(key, seq), p.id, EC_HASH_BYTES);
    ec_writer_reset(&g->w);
    ec_write_array(&g->w, 1);
    ec_write_uint(&g->w, seq + 1);
    ec_state_put(l, S_COUNT_KEY, strlen(S_COUNT_KEY), ec_writer_data(&g->w), ec_writer_size(&g->w));
    return 0;
}

static int s_approve(mc_gov_t *g, ec_block_ctx_t *ctx, const ec_tx_t *tx, const mc_operators_t *ops,
                     ec_status_t *st)
{
    ec_ledger_t *l = ctx->ledger;
    ec_approve_body_t b;
    int rc = ec_approve_body_read(&b, tx->body, st);
    if (rc != 0)
        return rc;
    ec_proposal_t p;
    uint8_t *val = NULL;
    rc = s_proposal_load(l, true, &g->dec, b.proposal, &p, &val, st);
    if (rc != 0)
        return rc;
    char hex[17];
    ec_hex(hex, p.id, 8);
    if (p.executed_height)
        rc = ec_status_set(st, EC_ESTATE, "proposal %s… already ran at height %" PRIu64, hex,
                           p.executed_height);
    else if (ctx->time_ms > p.expires_ms)
        rc = ec_status_set(st, EC_ESTATE, "proposal %s… has expired", hex);
    for (uint32_t i = 0; rc == 0 && i < p.approval_count; i++)
        if (memcmp(p.approvals[i], tx->sender, EC_PK_BYTES) == 0)
            rc = ec_status_set(st, EC_EEXIST, "this operator already approved proposal %s…", hex);
    if (rc == 0 && p.approval_count >= EC_OPERATORS_MAX)
        rc = ec_status_set(st, EC_ETOOBIG, "proposal %s… holds the most approvals allowed", hex);
    if (rc != 0) {
        free(val);
        return rc;
    }
    memcpy(p.approvals[p.approval_count++], tx->sender, EC_PK_BYTES);
    if (s_counted(&p, ops) >= ops->quorum) {
        s_open_list_t *open = malloc(sizeof *open);
        rc = open ? s_open_load(l, true, open, st) : ec_status_set(st, EC_ENOMEM, "out of memory");
        rc = rc ? rc : s_run(g, ctx, &p, tx->chain_id, st);
        if (rc == 0) {
            p.executed_height = ctx->height;
            s_open_drop(open, p.id, 0);
            s_open_store(g, l, open);
        }
        free(open);
    }
    if (rc == 0)
        s_proposal_store(g, l, &p);
    free(val);
    return rc;
}

int mc_gov_deliver(mc_gov_t *g, ec_block_ctx_t *ctx, const ec_tx_t *tx, ec_status_t *st)
{
    mc_operators_t ops;
    int rc = mc_operators_load(ctx->ledger, true, g->genesis, &ops, st);
    if (rc != 0)
        return rc;
    if (!mc_operators_has(&ops, tx->sender))
        return s_not_operator(tx->sender, st);
    if (tx->type == EC_MTX_GOV_PROPOSE)
        return s_propose(g, ctx, tx, &ops, st);
    assert(tx->type == EC_MTX_GOV_APPROVE);
    return s_approve(g, ctx, tx, &ops, st);
}

int mc_gov_check_tx(const mc_gov_t *g, const ec_tx_t *tx, ec_status_t *st)
{
    switch (tx->type) {
        case EC_MTX_GOV_PROPOSE: {
            ec_propose_body_t b;
            int rc = ec_propose_body_read(&b, tx->body, st);
            if (rc != 0)
                return rc;
            /* The action's body, parsed by a decoder of our own: check_tx runs on many
             * threads. */
            ec_decoder_t d;
            ec_decoder_init(&d);
            const msgpack_object *body = NULL;
            if (ec_decode(&d, b.action, b.action_size, &body) != 0)
                rc = ec_status_set(st, EC_EINVAL, "the proposed %s body is not canonical msgpack",
                                   ec_tx_type_name(EC_CHAIN_MAIN, b.action_type));
            if (rc == 0) {
                ec_tx_t action;
                memset(&action, 0, sizeof action);
                memcpy(action.id, tx->id, EC_HASH_BYTES);
                memcpy(action.chain_id, tx->chain_id, sizeof action.chain_id);
                action.type = b.action_type;
                memcpy(action.sender, tx->sender, EC_PK_BYTES);
                action.body = body;
                rc = g->check(g->app, &action, st);
            }
            ec_decoder_fini(&d);
            return rc;
        }
        case EC_MTX_GOV_APPROVE: {
            ec_approve_body_t b;
            return ec_approve_body_read(&b, tx->body, st);
        }
        case EC_MTX_OPERATORS: {
            ec_operators_body_t b;
            return ec_operators_body_read(&b, tx->body, st);
        }
        default:
            return ec_status_set(st, EC_EINVAL, "not a governance transaction");
    }
}

/* ---- queries ------------------------------------------------------------------------------ */

/* Writes committed proposal `id`. */
static int s_write_one(ec_ledger_t *l, ec_decoder_t *d, const uint8_t id[EC_HASH_BYTES],
                       ec_writer_t *out, ec_status_t *st)
{
    ec_proposal_t p;
    uint8_t *val = NULL;
    int rc = s_proposal_load(l, false, d, id, &p, &val, st);
    if (rc == 0)
        ec_proposal_encode(out, &p);
    free(val);
    return rc;
}

/* Ids to list: the open ones (at most EC_GOV_OPEN_MAX) or a page (and one to tell more). */
typedef struct {
    uint32_t count;
    uint8_t ids[EC_GOV_OPEN_MAX][EC_HASH_BYTES];
} s_page_t;
_Static_assert(S_PAGE_MAX + 1 <= EC_GOV_OPEN_MAX, "a page and its look-ahead fit s_page_t");

static int s_page_fn(void *vctx, const uint8_t *key, size_t key_size, const uint8_t *val,
                     size_t val_size)
{
    s_page_t *pg = vctx;
    (void)key;
    if (key_size != 10 || val_size != EC_HASH_BYTES)
        return EC_EINTERNAL;
    memcpy(pg->ids[pg->count++], val, EC_HASH_BYTES);
    return pg->count > S_PAGE_MAX ? 1 : 0;
}

int mc_gov_query(mc_gov_t *g, ec_ledger_t *l, const char *path, const msgpack_object *args,
                 ec_writer_t *out, ec_status_t *st)
{
    bool is_ops = strcmp(path, "operators") == 0, is_one = strcmp(path, "proposal") == 0,
         is_list = strcmp(path, "proposals") == 0;
    if (!is_ops && !is_one && !is_list)
        return 1;
    ec_cur_t c;
    if (is_ops) {
        ec_cur_open(&c, args, 0);
        if (ec_cur_finish(&c) != 0)
            return ec_status_set(st, EC_EINVAL, "operators takes no arguments");
        mc_operators_t ops;
        int rc = mc_operators_load(l, false, g->genesis, &ops, st);
        if (rc != 0)
            return rc;
        ec_write_array(out, 2);
        ec_write_array(out, ops.count);
        for (uint32_t i = 0; i < ops.count; i++)
            ec_write_bin(out, ops.pks[i], EC_PK_BYTES);
        ec_write_uint(out, ops.quorum);
        return 0;
    }
    ec_decoder_t d;
    ec_decoder_init(&d);
    int rc = 0;
    if (is_one) {
        uint8_t id[EC_HASH_BYTES];
        ec_cur_open(&c, args, 1);
        ec_cur_bin_fixed(&c, id, EC_HASH_BYTES);
        if (ec_cur_finish(&c) != 0)
            rc = ec_status_set(st, EC_EINVAL, "proposal takes [id: bin32]");
        else
            rc = s_write_one(l, &d, id, out, st);
        ec_decoder_fini(&d);
        return rc;
    }
    /* proposals [all: bool, after: uint | nil] */
    bool all = false;
    uint64_t after = 0;
    bool has_after = false;
    ec_cur_open(&c, args, 2);
    ec_cur_bool(&c, &all);
    has_after = !ec_cur_peek_nil(&c);
    if (has_after)
        ec_cur_uint(&c, &after);
    else
        ec_cur_nil(&c);
    if (ec_cur_finish(&c) != 0 || (has_after && (!all || after == UINT64_MAX))) {
        ec_decoder_fini(&d);
        return ec_status_set(
            st, EC_EINVAL, "proposals takes [all: bool, after: uint | nil] (after only with all)");
    }
    s_page_t *pg = calloc(1, sizeof *pg);
    s_open_list_t *open = calloc(1, sizeof *open);
    if (!pg || !open)
        rc = ec_status_set(st, EC_ENOMEM, "out of memory");
    if (rc == 0 && !all) {
        rc = s_open_load(l, false, open, st);
        for (uint32_t i = 0; rc == 0 && i < open->count; i++)
            memcpy(pg->ids[pg->count++], open->items[i].id, EC_HASH_BYTES);
    } else if (rc == 0) {
        uint8_t start[10];
        size_t ss = s_seq_key(start, has_after ? after + 1 : 0);
        rc = ec_ledger_scan(l, EC_CF_STATE, "q/", 2, start, ss, S_PAGE_MAX + 1, s_page_fn, pg);
        rc = rc < 0 ? mc_io(st, rc) : 0;
    }
    bool more = all && pg && pg->count > S_PAGE_MAX;
    uint32_t n = pg ? (more ? S_PAGE_MAX : pg->count) : 0;
    ec_writer_t items;
    ec_writer_init(&items);
    uint64_t last = 0;
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        ec_proposal_t p;
        uint8_t *val = NULL;
        rc = s_proposal_load(l, false, &d, pg->ids[i], &p, &val, st);
        if (rc == 0) {
            ec_proposal_encode(&items, &p);
            last = p.seq;
        }
        free(val);
    }
    if (rc == 0) {
        ec_write_array(out, 2);
        ec_write_array(out, n);
        ec_write_raw(out, ec_writer_data(&items), ec_writer_size(&items));
        if (more)
            ec_write_uint(out, last);
        else
            ec_write_nil(out);
    }
    ec_writer_fini(&items);
    free(pg);
    free(open);
    ec_decoder_fini(&d);
    return rc;
}

/* ---- life cycle --------------------------------------------------------------------------- */

void mc_gov_init(mc_gov_t *g, const ec_genesis_t *genesis, void *app, mc_gov_exec_fn exec,
                 mc_gov_check_fn check)
{
    memset(g, 0, sizeof *g);
    g->genesis = genesis;
    g->app = app;
    g->exec = exec;
    g->check = check;
    ec_writer_init(&g->w);
    ec_decoder_init(&g->dec);
    ec_decoder_init(&g->action_dec);
}

void mc_gov_fini(mc_gov_t *g)
{
    ec_writer_fini(&g->w);
    ec_decoder_fini(&g->dec);
    ec_decoder_fini(&g->action_dec);
}
