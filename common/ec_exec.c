/*
 * ec_exec.c - deterministic block execution and storage (contract and storage layout in
 * ec_exec.h).
 *
 * Invariants: tip_* describe the highest stored block (the genesis at height 0); sets[0]
 * is the set of tip + 1 and sets[1] that of tip + 2; `pending` is true exactly when the
 * ledger's batch holds an applied block (header, hash, anchors and next set in p_*), and
 * nothing else ever writes that batch while it does.
 */
#include "ec_exec.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec_log.h"
#include "ec_merkle.h"
#include "ec_mlog.h"

/* Largest encoded block: well under the codec's decode limit, so every stored block can
 * be served and decoded by any client. */
#define S_BLOCK_BYTES_MAX (32u * 1024 * 1024)
#define S_VS_PREFIX "vs/"
#define S_VS_PREFIX_LEN 3
#define S_EV_PREFIX "ev/" /* META "ev/" be64(height) be32(index) -> evidence */
#define S_EV_PREFIX_LEN 3

static const char s_k_genesis[] = "genesis", s_k_genesis_hash[] = "genesis_hash";

struct ec_exec {
    ec_ledger_t *ledger;
    ec_app_t *app;
    ec_genesis_t genesis;
    uint8_t genesis_hash[EC_HASH_BYTES];
    uint64_t tip_height;
    uint8_t tip_hash[EC_HASH_BYTES];
    uint64_t tip_time_ms;
    ec_valset_t sets[2]; /* sets of tip + 1 and tip + 2                       */
    /* The applied block, while pending. */
    bool pending;
    ec_header_t p_header;
    uint8_t p_hash[EC_HASH_BYTES];
    ec_valset_t p_next; /* the set of tip + 3 (sets[1] unless it changed)   */
    ec_block_ctx_t ctx;
    /* The application's reasons for the block's first refusals. */
    uint32_t refusal_count;
    uint32_t refusal_index[EC_EXEC_REFUSALS_KEPT];
    char refusal_msg[EC_EXEC_REFUSALS_KEPT][sizeof(((ec_status_t *)0)->msg)];
    /* Buffers, allocated once. */
    ec_hash32_t *leaves; /* EC_BLOCK_TXS_MAX transaction leaves               */
    const uint8_t **tx_ptrs;
    size_t *tx_sizes;
    ec_writer_t w_block, w_header, w_commit, w_value, w_entry;
};

/* ---- block ctx (ec_app.h) --------------------------------------------------------------- */

int ec_block_ctx_add_anchor(ec_block_ctx_t *ctx, const ec_anchor_entry_t *entry)
{
    assert(ctx && entry);
    if (ctx->anchor_count >= EC_BLOCK_ANCHORS_MAX)
        return EC_EBUSY;
    ctx->anchors[ctx->anchor_count++] = *entry;
    return 0;
}

/* ---- small helpers ---------------------------------------------------------------------- */

static bool s_local_fault(int rc)
{
    return rc == EC_EIO || rc == EC_ENOMEM || rc == EC_EINTERNAL;
}

/* META key of the set in force from `height`: "vs/" be64(~height), so that the first key
 * at or after "vs/" be64(~h) is the latest change at or below h. */
static size_t s_vs_key(uint8_t out[S_VS_PREFIX_LEN + 8], uint64_t height)
{
    memcpy(out, S_VS_PREFIX, S_VS_PREFIX_LEN);
    ec_be64_put(out + S_VS_PREFIX_LEN, ~height);
    return S_VS_PREFIX_LEN + 8;
}

typedef struct {
    ec_valset_t *out;
    bool found;
    int rc;
} s_vs_find_t;

static void s_valset_read_fn(ec_cur_t *c, void *out)
{
    ec_valset_read(c, out);
}

static int s_vs_fn(void *vctx, const uint8_t *key, size_t key_size, const uint8_t *val,
                   size_t val_size)
{
    (void)key;
    (void)key_size;
    s_vs_find_t *f = vctx;
    f->found = true;
    f->rc = ec_decode_read(f->out, sizeof *f->out, val, val_size, s_valset_read_fn);
    return 1;
}

int ec_exec_valset_stored(ec_ledger_t *ledger, const ec_genesis_t *genesis, uint64_t h,
                          ec_valset_t *out)
{
    uint8_t key[S_VS_PREFIX_LEN + 8];
    size_t ks = s_vs_key(key, h);
    s_vs_find_t f = {out, false, 0};
    int rc =
        ec_ledger_scan(ledger, EC_CF_META, S_VS_PREFIX, S_VS_PREFIX_LEN, key, ks, 1, s_vs_fn, &f);
    if (rc < 0)
        return rc;
    if (!f.found) {
        *out = genesis->validators;
        return 0;
    }
    return f.rc == 0 ? 0 : EC_EIO;
}

typedef struct {
    uint64_t from;
    uint32_t max, seen;
    uint64_t *heights;
    ec_valset_t *sets;
    int rc;
} s_changes_t;

/* Keys come newest first: the last `max` seen at or above `from` are the oldest ones. */
static int s_changes_fn(void *vctx, const uint8_t *key, size_t key_size, const uint8_t *val,
                        size_t val_size)
{
    s_changes_t *c = vctx;
    if (key_size != S_VS_PREFIX_LEN + 8)
        return 0;
    uint64_t h = ~ec_be64_get(key + S_VS_PREFIX_LEN);
    if (h < c->from)
        return 1;
    uint32_t slot = c->seen++ % c->max;
    c->heights[slot] = h;
    if (ec_decode_read(&c->sets[slot], sizeof c->sets[slot], val, val_size, s_valset_read_fn) !=
        0) {
        c->rc = EC_EIO;
        return 1;
    }
    return 0;
}

int ec_exec_valset_changes(ec_ledger_t *ledger, uint64_t from, uint32_t max, uint64_t *heights,
                           ec_valset_t *sets)
{
    assert(max > 0);
    s_changes_t c = {from, max, 0, heights, sets, 0};
    int rc = ec_ledger_scan(ledger, EC_CF_META, S_VS_PREFIX, S_VS_PREFIX_LEN, NULL, 0, 0,
                            s_changes_fn, &c);
    if (rc < 0)
        return rc;
    if (c.rc)
        return c.rc;
    /* The ring holds the `n` oldest in reverse order: put them oldest first. */
    uint32_t n = c.seen < max ? c.seen : max, start = c.seen < max ? 0 : c.seen % max;
    uint64_t th;
    ec_valset_t tv;
    /* rotate so that index 0 is the newest kept, then reverse */
    for (uint32_t i = 0; i < start; i++) {
        th = heights[0];
        tv = sets[0];
        memmove(heights, heights + 1, (n - 1) * sizeof *heights);
        memmove(sets, sets + 1, (n - 1) * sizeof *sets);
        heights[n - 1] = th;
        sets[n - 1] = tv;
    }
    for (uint32_t i = 0; i < n / 2; i++) {
        th = heights[i];
        heights[i] = heights[n - 1 - i];
        heights[n - 1 - i] = th;
        tv = sets[i];
        sets[i] = sets[n - 1 - i];
        sets[n - 1 - i] = tv;
    }
    return (int)n;
}

typedef struct {
    ec_exec_evidence_fn fn;
    void *ctx;
    int seen;
} s_evlist_t;

static int s_evlist_fn(void *vctx, const uint8_t *key, size_t key_size, const uint8_t *val,
                       size_t val_size)
{
    s_evlist_t *c = vctx;
    if (key_size != S_EV_PREFIX_LEN + 12)
        return 0; /* not an "ev/" be64(h) be32(i) key */
    const uint8_t *k = key + S_EV_PREFIX_LEN;
    uint32_t index = (uint32_t)k[8] << 24 | (uint32_t)k[9] << 16 | (uint32_t)k[10] << 8 | k[11];
    c->seen++;
    return c->fn(c->ctx, ec_be64_get(k), index, val, val_size);
}

int ec_exec_evidence_list(ec_ledger_t *ledger, uint64_t from, uint32_t max, ec_exec_evidence_fn fn,
                          void *ctx)
{
    assert(ledger && fn && max > 0);
    uint8_t start[S_EV_PREFIX_LEN + 8];
    memcpy(start, S_EV_PREFIX, S_EV_PREFIX_LEN);
    ec_be64_put(start + S_EV_PREFIX_LEN, from);
    s_evlist_t c = {fn, ctx, 0};
    int rc = ec_ledger_scan(ledger, EC_CF_META, S_EV_PREFIX, S_EV_PREFIX_LEN, start, sizeof start,
                            max, s_evlist_fn, &c);
    return rc < 0 ? rc : c.seen;
}

static int s_valset_stored(ec_exec_t *x, uint64_t h, ec_valset_t *out)
{
    return ec_exec_valset_stored(x->ledger, &x->genesis, h, out);
}

/* ---- opening ---------------------------------------------------------------------------- */

/* Writes the genesis into a new ledger, or checks an existing ledger is of this chain. */
static int s_ledger_init(ec_exec_t *x, ec_status_t *st)
{
    ec_ledger_t *l = x->ledger;
    uint8_t *val = NULL;
    size_t size = 0;
    int rc = ec_ledger_get(l, EC_CF_META, s_k_genesis_hash, strlen(s_k_genesis_hash), &val, &size);
    if (rc == EC_ENOTFOUND) {
        if (ec_ledger_height(l) != 0)
            return ec_status_set(st, EC_EIO, "ledger has blocks but no genesis");
        ec_writer_t w;
        ec_writer_init(&w);
        ec_genesis_encode(&w, &x->genesis);
        uint8_t leaf[EC_HASH_BYTES];
        ec_ledger_put(l, EC_CF_META, s_k_genesis, strlen(s_k_genesis), ec_writer_data(&w),
                      ec_writer_size(&w));
        ec_writer_fini(&w);
        ec_ledger_put(l, EC_CF_META, s_k_genesis_hash, strlen(s_k_genesis_hash), x->genesis_hash,
                      EC_HASH_BYTES);
        ec_merkle_leaf(leaf, EC_LEAF_BLOCK, x->genesis_hash, EC_HASH_BYTES);
        rc = ec_mlog_append(l, EC_MLOG_HIST, leaf);
        if (rc == 0)
            rc = ec_ledger_write(l, 0);
        if (rc != 0) {
            ec_ledger_discard(l);
            return ec_status_set(st, rc, "cannot initialise the ledger: %s", ec_strerror(rc));
        }
        ec_info("initialised the ledger for chain %s", x->genesis.chain_id);
        return 0;
    }
    if (rc != 0)
        return ec_status_set(st, rc, "cannot read the ledger's genesis: %s", ec_strerror(rc));
    bool same = size == EC_HASH_BYTES && memcmp(val, x->genesis_hash, size) == 0;
    free(val);
    if (!same)
        return ec_status_set(st, EC_ECHAIN,
                             "the store holds another chain (its genesis hash "
                             "differs)");
    return 0;
}

/*
 * Start-up check that the block store and the history agree. Every block lands in one
 * atomic batch, so a crash cannot split them; a damaged or hand-edited store can, and a
 * node must not serve from one. O(log^2 n) reads: the tip's hash is the history's last
 * leaf, the tip header's hist_root is the stored log's root over the leaves before it,
 * and nothing is stored above the tip. Returns 0 or EC_EIO with st set.
 */
static int s_check_tip(ec_exec_t *x, const ec_header_t *tip, ec_status_t *st)
{
    ec_ledger_t *l = x->ledger;
    uint64_t height = tip->height, hist = 0;
    uint8_t want[EC_HASH_BYTES], got[EC_HASH_BYTES];
    int rc = ec_mlog_committed_size(l, EC_MLOG_HIST, &hist);
    if (rc != 0 || hist != height + 1)
        return ec_status_set(st, EC_EIO,
                             "ledger damaged: its history has %llu leaves at height "
                             "%llu",
                             (unsigned long long)hist, (unsigned long long)height);
    ec_merkle_leaf(want, EC_LEAF_BLOCK, x->tip_hash, EC_HASH_BYTES);
    rc = ec_mlog_leaf(l, EC_MLOG_HIST, height, got);
    if (rc != 0 || memcmp(want, got, EC_HASH_BYTES) != 0)
        return ec_status_set(st, EC_EIO,
                             "ledger damaged: the history does not end with block %llu's hash",
                             (unsigned long long)height);
    ec_mlog_reader_t reader = {.ledger = l, .log_id = EC_MLOG_HIST};
    rc = ec_mlog_oracle(&reader, 0, height, got);
    if (rc != 0 || memcmp(got, tip->hist_root, EC_HASH_BYTES) != 0)
        return ec_status_set(st, EC_EIO,
                             "ledger damaged: block %llu's hist_root differs from the stored "
                             "history",
                             (unsigned long long)height);
    uint8_t *raw = NULL, *commit = NULL;
    size_t raw_size = 0, commit_size = 0;
    rc = ec_ledger_header_raw(l, height + 1, &raw, &raw_size, &commit, &commit_size);
    free(raw);
    free(commit);
    if (rc != EC_ENOTFOUND)
        return ec_status_set(st, EC_EIO, "ledger damaged: a block is stored above the tip %llu",
                             (unsigned long long)height);
    return 0;
}

/* Loads the tip and the sets of the next two heights. */
static int s_load(ec_exec_t *x, ec_status_t *st)
{
    x->tip_height = ec_ledger_height(x->ledger);
    memcpy(x->tip_hash, x->genesis_hash, EC_HASH_BYTES);
    x->tip_time_ms = x->genesis.time_ms;
    if (x->tip_height > 0) {
        ec_header_t h;
        int rc = ec_ledger_header(x->ledger, x->tip_height, &h, NULL);
        if (rc == EC_EVERSION)
            return ec_status_set(st, EC_EVERSION,
                                 "the store was written by an older ecert (block format 1); "
                                 "this version cannot read it: start from a new data folder");
        if (rc != 0)
            return ec_status_set(st, EC_EIO, "cannot read the tip header %llu: %s",
                                 (unsigned long long)x->tip_height, ec_strerror(rc));
        ec_header_hash(x->tip_hash, &h);
        x->tip_time_ms = h.time_ms;
        if ((rc = s_check_tip(x, &h, st)) != 0)
            return rc;
    } else {
        uint64_t hist = 0;
        int rc = ec_mlog_committed_size(x->ledger, EC_MLOG_HIST, &hist);
        if (rc != 0 || hist != 1)
            return ec_status_set(st, EC_EIO,
                                 "ledger damaged: its history has %llu leaves at "
                                 "height 0",
                                 (unsigned long long)hist);
    }
    if (s_valset_stored(x, x->tip_height + 1, &x->sets[0]) != 0 ||
        s_valset_stored(x, x->tip_height + 2, &x->sets[1]) != 0)
        return ec_status_set(st, EC_EIO, "ledger damaged: a stored validator set is unreadable");
    return 0;
}

ec_exec_t *ec_exec_new(ec_ledger_t *ledger, ec_app_t *app, const ec_genesis_t *genesis,
                       ec_status_t *st)
{
    assert(ledger && app && genesis && app->deliver_tx && app->end_block);
    ec_exec_t *x = calloc(1, sizeof *x);
    if (!x) {
        ec_status_set(st, EC_ENOMEM, "out of memory");
        return NULL;
    }
    x->ledger = ledger;
    x->app = app;
    x->genesis = *genesis;
    ec_genesis_hash(x->genesis_hash, genesis);
    ec_writer_init(&x->w_block);
    ec_writer_init(&x->w_header);
    ec_writer_init(&x->w_commit);
    ec_writer_init(&x->w_value);
    ec_writer_init(&x->w_entry);
    x->leaves = calloc(EC_BLOCK_TXS_MAX, sizeof *x->leaves);
    x->tx_ptrs = calloc(EC_BLOCK_TXS_MAX, sizeof *x->tx_ptrs);
    x->tx_sizes = calloc(EC_BLOCK_TXS_MAX, sizeof *x->tx_sizes);
    if (!x->leaves || !x->tx_ptrs || !x->tx_sizes) {
        ec_status_set(st, EC_ENOMEM, "out of memory");
        ec_exec_destroy(&x);
        return NULL;
    }
    if (s_ledger_init(x, st) != 0 || s_load(x, st) != 0) {
        ec_exec_destroy(&x);
        return NULL;
    }
    return x;
}

void ec_exec_destroy(ec_exec_t **self_p)
{
    assert(self_p);
    ec_exec_t *x = *self_p;
    if (!x)
        return;
    if (x->pending)
        ec_ledger_discard(x->ledger);
    free(x->leaves);
    free(x->tx_ptrs);
    free(x->tx_sizes);
    ec_writer_fini(&x->w_block);
    ec_writer_fini(&x->w_header);
    ec_writer_fini(&x->w_commit);
    ec_writer_fini(&x->w_value);
    ec_writer_fini(&x->w_entry);
    free(x);
    *self_p = NULL;
}

uint64_t ec_exec_height(const ec_exec_t *x)
{
    return x->tip_height;
}

const uint8_t *ec_exec_tip_hash(const ec_exec_t *x)
{
    return x->tip_hash;
}

uint64_t ec_exec_tip_time(const ec_exec_t *x)
{
    return x->tip_time_ms;
}

const ec_valset_t *ec_exec_next_valset(const ec_exec_t *x)
{
    return &x->sets[0];
}

int ec_exec_valset(ec_exec_t *x, uint64_t h, ec_valset_t *out)
{
    if (h == 0 || h > x->tip_height + 2)
        return EC_ENOTFOUND;
    if (h > x->tip_height) {
        *out = x->sets[h - x->tip_height - 1];
        return 0;
    }
    return s_valset_stored(x, h, out);
}

/* ---- apply ------------------------------------------------------------------------------ */

/* The evidence of the body: each checks against its height's set, is recorded once. */
static int s_apply_evidence(ec_exec_t *x, const ec_exec_body_t *b, ec_hash32_t *leaves,
                            ec_status_t *st)
{
    for (uint32_t i = 0; i < b->evidence_count; i++) {
        const ec_evidence_t *e = &b->evidence[i];
        ec_valset_t vs;
        if (e->a.height > b->height || ec_exec_valset(x, e->a.height, &vs) != 0)
            return ec_status_set(st, EC_EINVAL, "evidence %u is for height %llu", i,
                                 (unsigned long long)e->a.height);
        int rc = ec_evidence_check(e, x->genesis.chain_id, &vs);
        if (rc != 0)
            return ec_status_set(st, EC_EINVAL, "evidence %u does not check (%s)", i,
                                 ec_errname(rc));
        ec_writer_reset(&x->w_entry);
        ec_evidence_encode(&x->w_entry, e);
        uint8_t key[4 + EC_HASH_BYTES], hk[8 + 4 + 3], *val = NULL;
        size_t vs_size = 0;
        memcpy(key, "evh/", 4);
        ec_sha256(key + 4, ec_writer_data(&x->w_entry), ec_writer_size(&x->w_entry));
        rc = ec_ledger_get_pending(x->ledger, EC_CF_META, key, sizeof key, &val, &vs_size);
        free(val);
        if (rc == 0)
            return ec_status_set(st, EC_EINVAL, "evidence %u is already recorded", i);
        if (rc != EC_ENOTFOUND)
            return ec_status_set(st, rc, "evidence index: %s", ec_strerror(rc));
        ec_merkle_leaf(leaves[i], EC_LEAF_EVIDENCE, ec_writer_data(&x->w_entry),
                       ec_writer_size(&x->w_entry));
        uint8_t height[8];
        ec_be64_put(height, b->height);
        ec_ledger_put(x->ledger, EC_CF_META, key, sizeof key, height, sizeof height);
        memcpy(hk, S_EV_PREFIX, S_EV_PREFIX_LEN);
        ec_be64_put(hk + 3, b->height);
        hk[11] = (uint8_t)(i >> 24), hk[12] = (uint8_t)(i >> 16), hk[13] = (uint8_t)(i >> 8);
        hk[14] = (uint8_t)i;
        ec_ledger_put(x->ledger, EC_CF_META, hk, sizeof hk, ec_writer_data(&x->w_entry),
                      ec_writer_size(&x->w_entry));
    }
    return 0;
}

/* One transaction: spent id check, deliver, result, index, payload, leaf. */
static int s_apply_tx(ec_exec_t *x, const ec_exec_body_t *b, uint32_t i, ec_tx_result_t *res,
                      ec_status_t *st)
{
    const ec_exec_tx_t *t = &b->txs[i];
    ec_block_ctx_t *ctx = &x->ctx;
    uint8_t *val = NULL;
    size_t size = 0;
    /* Committed before, or earlier in this block: the pending index knows both. */
    int rc = ec_ledger_get_pending(x->ledger, EC_CF_TXINDEX, t->tx->id, EC_HASH_BYTES, &val, &size);
    free(val);
    if (rc == 0)
        return ec_status_set(st, EC_EINVAL, "transaction %u was committed before", i);
    if (rc != EC_ENOTFOUND)
        return ec_status_set(st, rc, "transaction index: %s", ec_strerror(rc));
    uint32_t anchors = ctx->anchor_count;
    bool changed = ctx->valset_changed;
    ec_status_t tx_st = {0};
    ctx->ref = ctx->slot = 0;
    ec_ledger_savepoint(x->ledger);
    rc = x->app->deliver_tx(x->app->self, ctx, t->tx, t->payload, t->payload_size, &tx_st);
    if (rc > 0 || rc < -64)
        rc = EC_EINTERNAL; /* not a code: the app's bug */
    if (s_local_fault(rc))
        return ec_status_set(st, rc, "transaction %u: %s", i,
                             tx_st.msg[0] ? tx_st.msg : ec_strerror(rc));
    if (rc != 0) {
        ec_ledger_rollback(x->ledger);
        ctx->anchor_count = anchors;
        ctx->valset_changed = changed;
        ctx->ref = ctx->slot = 0;
        if (x->refusal_count < EC_EXEC_REFUSALS_KEPT) {
            x->refusal_index[x->refusal_count] = i;
            snprintf(x->refusal_msg[x->refusal_count], sizeof x->refusal_msg[0], "%s",
                     tx_st.msg[0] ? tx_st.msg : ec_strerror(rc));
            x->refusal_count++;
        }
    }
    res->code = rc;
    res->ref = ctx->ref;
    res->slot = ctx->slot;
    ec_writer_reset(&x->w_value);
    ec_write_array(&x->w_value, 2);
    ec_write_uint(&x->w_value, b->height);
    ec_write_uint(&x->w_value, i);
    ec_ledger_put(x->ledger, EC_CF_TXINDEX, t->tx->id, EC_HASH_BYTES, ec_writer_data(&x->w_value),
                  ec_writer_size(&x->w_value));
    if (rc == 0 && t->payload)
        ec_ledger_put(x->ledger, EC_CF_PAYLOADS, t->tx->id, EC_HASH_BYTES, t->payload,
                      t->payload_size);
    ec_tx_leaf(x->leaves[i], t->tx->id, res);
    x->tx_ptrs[i] = t->envelope;
    x->tx_sizes[i] = t->envelope_size;
    return 0;
}

/* The set of tip + 3 after this block: sets[1] with the block's change, if any. */
static int s_next_set(ec_exec_t *x, ec_status_t *st)
{
    const ec_block_ctx_t *ctx = &x->ctx;
    x->p_next = x->sets[1];
    if (!ctx->valset_changed)
        return 0;
    ec_valset_t *vs = &x->p_next;
    uint32_t i;
    int rc = ec_valset_change_check(vs, &ctx->valset_change, &i);
    if (rc != 0 && rc != EC_EEXIST) /* the same power again changes nothing: harmless */
        return ec_status_set(st, EC_EINTERNAL,
                             "the application made a validator change that cannot apply: %s",
                             ec_strerror(rc));
    ec_valset_change_apply(vs, &ctx->valset_change, i);
    uint8_t key[S_VS_PREFIX_LEN + 8];
    size_t ks = s_vs_key(key, x->ctx.height + 2);
    ec_writer_reset(&x->w_value);
    ec_valset_encode(&x->w_value, vs);
    ec_ledger_put(x->ledger, EC_CF_META, key, ks, ec_writer_data(&x->w_value),
                  ec_writer_size(&x->w_value));
    return 0;
}

/* Fills the header of the applied body; appends its history leaf. */
static int s_header(ec_exec_t *x, const ec_exec_body_t *b, const ec_hash32_t *ev_leaves,
                    ec_header_t *h, ec_status_t *st)
{
    ec_block_ctx_t *ctx = &x->ctx;
    memset(h, 0, sizeof *h);
    int rc = x->app->end_block(x->app->self, ctx, h->state_root);
    if (rc != 0)
        return ec_status_set(st, s_local_fault(rc) ? rc : EC_EINTERNAL, "%s end_block: %s",
                             x->app->name, ec_strerror(rc));
    if ((rc = s_next_set(x, st)) != 0)
        return rc;
    snprintf(h->chain_id, sizeof h->chain_id, "%s", x->genesis.chain_id);
    h->height = b->height;
    h->time_ms = b->time_ms;
    memcpy(h->prev_hash, x->tip_hash, EC_HASH_BYTES);
    ec_merkle_root(h->tx_root, (const ec_hash32_t *)x->leaves, b->tx_count);
    h->tx_count = b->tx_count;
    rc = ec_mlog_root(x->ledger, EC_MLOG_HIST, h->hist_root);
    if (rc != 0)
        return ec_status_set(st, rc, "history log root: %s", ec_strerror(rc));
    ec_hash32_t anchor_leaves[EC_BLOCK_ANCHORS_MAX];
    for (uint32_t i = 0; i < ctx->anchor_count; i++)
        ec_anchor_entry_leaf(anchor_leaves[i], &ctx->anchors[i]);
    ec_merkle_root(h->xanchor_root, (const ec_hash32_t *)anchor_leaves, ctx->anchor_count);
    h->xanchor_count = ctx->anchor_count;
    ec_valset_hash(h->valset_hash, &x->sets[0]);
    ec_valset_hash(h->next_valset_hash, &x->sets[1]);
    ec_merkle_root(h->evidence_root, ev_leaves, b->evidence_count);
    h->evidence_count = b->evidence_count;
    return 0;
}

/* Encodes the block into w_block and puts it and its history leaf into the batch. */
static int s_block_put(ec_exec_t *x, const ec_exec_body_t *b, const ec_tx_result_t *results,
                       ec_status_t *st)
{
    const uint8_t *ev_ptrs[EC_BLOCK_EVIDENCE_MAX];
    size_t ev_sizes[EC_BLOCK_EVIDENCE_MAX];
    ec_writer_t ev[EC_BLOCK_EVIDENCE_MAX];
    for (uint32_t i = 0; i < b->evidence_count; i++) {
        ec_writer_init(&ev[i]);
        ec_evidence_encode(&ev[i], &b->evidence[i]);
        ev_ptrs[i] = ec_writer_data(&ev[i]);
        ev_sizes[i] = ec_writer_size(&ev[i]);
    }
    ec_writer_reset(&x->w_block);
    ec_block_encode(&x->w_block, &x->p_header, x->tx_ptrs, x->tx_sizes, results, b->tx_count,
                    ev_ptrs, ev_sizes, b->evidence_count);
    for (uint32_t i = 0; i < b->evidence_count; i++)
        ec_writer_fini(&ev[i]);
    if (ec_writer_size(&x->w_block) > S_BLOCK_BYTES_MAX)
        return ec_status_set(st, EC_EINVAL, "the block is %zu bytes, more than %u",
                             ec_writer_size(&x->w_block), S_BLOCK_BYTES_MAX);
    uint8_t key[8], leaf[EC_HASH_BYTES];
    ec_be64_put(key, b->height);
    ec_ledger_put(x->ledger, EC_CF_BLOCKS, key, sizeof key, ec_writer_data(&x->w_block),
                  ec_writer_size(&x->w_block));
    ec_merkle_leaf(leaf, EC_LEAF_BLOCK, x->p_hash, EC_HASH_BYTES);
    int rc = ec_mlog_append(x->ledger, EC_MLOG_HIST, leaf);
    return rc ? ec_status_set(st, rc, "history log append: %s", ec_strerror(rc)) : 0;
}

static int s_apply(ec_exec_t *x, const ec_exec_body_t *b, ec_tx_result_t *results, ec_status_t *st)
{
    if (b->height != x->tip_height + 1)
        return ec_status_set(st, EC_EINVAL, "a block at height %llu cannot follow %llu",
                             (unsigned long long)b->height, (unsigned long long)x->tip_height);
    if (b->time_ms <= x->tip_time_ms)
        return ec_status_set(st, EC_EINVAL, "block time %llu is not after the tip's (%llu)",
                             (unsigned long long)b->time_ms, (unsigned long long)x->tip_time_ms);
    if (b->tx_count > EC_BLOCK_TXS_MAX || b->evidence_count > EC_BLOCK_EVIDENCE_MAX)
        return ec_status_set(st, EC_EINVAL, "too many transactions or evidence");
    ec_block_ctx_t *ctx = &x->ctx;
    memset(ctx, 0, sizeof *ctx);
    x->refusal_count = 0;
    ctx->genesis = &x->genesis;
    ctx->ledger = x->ledger;
    ctx->height = b->height;
    ctx->time_ms = b->time_ms;
    ctx->next_valset = &x->sets[1];
    ec_hash32_t ev_leaves[EC_BLOCK_EVIDENCE_MAX];
    int rc = s_apply_evidence(x, b, ev_leaves, st);
    for (uint32_t i = 0; rc == 0 && i < b->tx_count; i++)
        rc = s_apply_tx(x, b, i, &results[i], st);
    if (rc == 0)
        rc = s_header(x, b, (const ec_hash32_t *)ev_leaves, &x->p_header, st);
    if (rc == 0) {
        ec_header_hash(x->p_hash, &x->p_header);
        rc = s_block_put(x, b, results, st);
    }
    return rc;
}

int ec_exec_apply(ec_exec_t *x, const ec_exec_body_t *body, ec_header_t *header,
                  uint8_t hash[EC_HASH_BYTES], ec_tx_result_t *results, ec_status_t *st)
{
    assert(x && body && header && hash && (results || body->tx_count == 0));
    ec_exec_discard(x);
    int rc = s_apply(x, body, results, st);
    if (rc != 0) {
        ec_ledger_discard(x->ledger);
        return rc;
    }
    x->pending = true;
    *header = x->p_header;
    memcpy(hash, x->p_hash, EC_HASH_BYTES);
    return 0;
}

const char *ec_exec_refusal(const ec_exec_t *x, uint32_t index)
{
    for (uint32_t i = 0; i < x->refusal_count; i++)
        if (x->refusal_index[i] == index)
            return x->refusal_msg[i];
    return NULL;
}

const uint8_t *ec_exec_pending_hash(const ec_exec_t *x)
{
    return x->pending ? x->p_hash : NULL;
}

void ec_exec_discard(ec_exec_t *x)
{
    if (x->pending)
        ec_ledger_discard(x->ledger);
    x->pending = false;
}

/* ---- store ------------------------------------------------------------------------------ */

int ec_exec_store(ec_exec_t *x, const ec_commit_t *commit, ec_status_t *st)
{
    assert(x && commit && x->pending);
    assert(memcmp(commit->block_hash, x->p_hash, EC_HASH_BYTES) == 0);
    const ec_header_t *h = &x->p_header;
    ec_writer_reset(&x->w_header);
    ec_header_encode(&x->w_header, h);
    ec_writer_reset(&x->w_commit);
    ec_commit_encode(&x->w_commit, commit);
    ec_writer_reset(&x->w_value);
    ec_write_array(&x->w_value, 3);
    ec_write_bin(&x->w_value, ec_writer_data(&x->w_header), ec_writer_size(&x->w_header));
    ec_write_bin(&x->w_value, ec_writer_data(&x->w_commit), ec_writer_size(&x->w_commit));
    ec_write_array(&x->w_value, x->ctx.anchor_count);
    for (uint32_t i = 0; i < x->ctx.anchor_count; i++) {
        ec_writer_reset(&x->w_entry);
        ec_anchor_entry_encode(&x->w_entry, &x->ctx.anchors[i]);
        ec_write_bin(&x->w_value, ec_writer_data(&x->w_entry), ec_writer_size(&x->w_entry));
    }
    uint8_t key[8];
    ec_be64_put(key, h->height);
    ec_ledger_put(x->ledger, EC_CF_HEADERS, key, sizeof key, ec_writer_data(&x->w_value),
                  ec_writer_size(&x->w_value));
    int rc = ec_ledger_write(x->ledger, h->height);
    if (rc != 0)
        return ec_status_set(st, rc, "synced write of block %llu failed: %s",
                             (unsigned long long)h->height, ec_strerror(rc));
    x->pending = false;
    x->tip_height = h->height;
    memcpy(x->tip_hash, x->p_hash, EC_HASH_BYTES);
    x->tip_time_ms = h->time_ms;
    x->sets[0] = x->sets[1];
    x->sets[1] = x->p_next;
    return 0;
}

const uint8_t *ec_exec_last_block(const ec_exec_t *x, size_t *size)
{
    *size = ec_writer_size(&x->w_block);
    return ec_writer_data(&x->w_block);
}

const uint8_t *ec_exec_last_header(const ec_exec_t *x, size_t *size)
{
    *size = ec_writer_size(&x->w_header);
    return ec_writer_data(&x->w_header);
}

const uint8_t *ec_exec_last_commit(const ec_exec_t *x, size_t *size)
{
    *size = ec_writer_size(&x->w_commit);
    return ec_writer_data(&x->w_commit);
}
