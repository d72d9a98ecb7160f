/*
 * ec_check.c - the store check (ec_check.h). Reads only; one pass over the blocks, each
 * block O(transactions + log^2 height) work.
 */
#include "ec_check.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "ec_exec.h"
#include "ec_guard.h"
#include "ec_ledger.h"
#include "ec_merkle.h"
#include "ec_mlog.h"

/* Everything the per-block checks carry from one block to the next. */
typedef struct {
    ec_ledger_t *ledger;
    const ec_genesis_t *genesis;
    const ec_app_t *app;
    ec_decoder_t dec;                 /* the HEADERS record being checked               */
    ec_hash32_t *leaves;              /* EC_BLOCK_TXS_MAX transaction leaves            */
    uint8_t prev_hash[EC_HASH_BYTES]; /* hash of the block before (genesis hash at 0)  */
    uint64_t prev_time_ms;
    uint64_t txs; /* transactions seen                              */
} s_check_t;

static int s_fault(ec_status_t *st, int code, uint64_t height, const char *what)
{
    return ec_status_set(st, code, "block %llu: %s", (unsigned long long)height, what);
}

/* The HEADERS record of h: its header and commit bytes must equal what the block holds
 * and what was committed; its anchor entries must hash to xanchor_root. */
static int s_check_record(s_check_t *c, uint64_t h, const ec_block_t *b, ec_commit_t *commit,
                          ec_status_t *st)
{
    uint8_t key[8], *raw = NULL;
    size_t size = 0;
    ec_be64_put(key, h);
    int rc = ec_ledger_get(c->ledger, EC_CF_HEADERS, key, sizeof key, &raw, &size);
    if (rc != 0) {
        free(raw);
        return s_fault(st, EC_EIO, h, "its header record is missing");
    }
    const msgpack_object *root = NULL;
    const uint8_t *hb = NULL, *cb = NULL;
    size_t hs = 0, cs = 0;
    ec_cur_t cur, anchors;
    rc = ec_decode(&c->dec, raw, size, &root);
    if (rc == 0) {
        ec_cur_open(&cur, root, 3);
        ec_cur_bin(&cur, &hb, &hs, EC_CODEC_MESSAGE_BYTES_MAX);
        ec_cur_bin(&cur, &cb, &cs, EC_CODEC_MESSAGE_BYTES_MAX);
        ec_cur_enter_max(&cur, &anchors, EC_BLOCK_ANCHORS_MAX);
        rc = ec_cur_finish(&cur);
    }
    ec_hash32_t leaves[EC_BLOCK_ANCHORS_MAX];
    uint32_t n = rc == 0 ? anchors.count : 0;
    for (uint32_t i = 0; rc == 0 && i < n && i < EC_BLOCK_ANCHORS_MAX; i++) {
        const uint8_t *e = NULL;
        size_t es = 0;
        ec_anchor_entry_t entry;
        ec_cur_bin(&anchors, &e, &es, EC_CODEC_MESSAGE_BYTES_MAX);
        if (anchors.err || ec_anchor_entry_decode(&entry, e, es) != 0)
            rc = EC_EINVAL;
        else
            ec_merkle_leaf(leaves[i], EC_LEAF_ANCHOR, e, es);
    }
    if (rc == 0)
        rc = ec_cur_finish(&anchors);
    if (rc != 0)
        rc = s_fault(st, EC_EIO, h, "its header record does not decode");
    else if (hs != b->header_size || memcmp(hb, b->header_bytes, hs) != 0)
        rc = s_fault(st, EC_EIO, h, "the stored header differs from the block's header");
    else if (ec_commit_decode(commit, cb, cs) != 0)
        rc = s_fault(st, EC_EIO, h, "its commit does not decode");
    if (rc == 0) {
        uint8_t root_hash[EC_HASH_BYTES];
        ec_merkle_root(root_hash, (const ec_hash32_t *)leaves, n);
        if (n != b->header.xanchor_count ||
            memcmp(root_hash, b->header.xanchor_root, EC_HASH_BYTES) != 0)
            rc = s_fault(st, EC_EIO, h, "its anchor entries do not match xanchor_root");
    }
    free(raw);
    return rc;
}

/* The transactions of block h: tx_root, tx_count and each one's index entry. */
static int s_check_txs(s_check_t *c, uint64_t h, const ec_block_t *b, ec_status_t *st)
{
    if (b->tx_count > EC_BLOCK_TXS_MAX)
        return s_fault(st, EC_EIO, h, "it holds more transactions than any block may");
    for (uint32_t i = 0; i < b->tx_count; i++) {
        ec_tx_t tx;
        uint64_t at = 0;
        uint32_t index = 0;
        const msgpack_object *o = &b->txs[i];
        if (ec_tx_decode(&tx, (const uint8_t *)o->via.bin.ptr, o->via.bin.size) != 0)
            return s_fault(st, EC_EIO, h, "a transaction does not decode");
        ec_tx_result_t res;
        ec_block_result(b, i, &res);
        ec_tx_leaf(c->leaves[i], tx.id, &res);
        int rc = ec_ledger_tx_location(c->ledger, tx.id, &at, &index);
        ec_tx_fini(&tx);
        if (rc != 0 || at != h || index != i) {
            char msg[96];
            snprintf(msg, sizeof msg, "transaction %u is not indexed at this block", i);
            return s_fault(st, EC_EIO, h, msg);
        }
    }
    uint8_t root[EC_HASH_BYTES];
    ec_merkle_root(root, (const ec_hash32_t *)c->leaves, b->tx_count);
    if (memcmp(root, b->header.tx_root, EC_HASH_BYTES) != 0)
        return s_fault(st, EC_EIO, h, "its transactions do not match tx_root");
    c->txs += b->tx_count;
    return 0;
}

/* The evidence of block h against evidence_root, and the validator sets the header names
 * against the sets stored; *vs is the set of h, which must sign its commit. */
static int s_check_sets(s_check_t *c, uint64_t h, const ec_block_t *b, ec_valset_t *vs,
                        ec_status_t *st)
{
    ec_hash32_t leaves[EC_BLOCK_EVIDENCE_MAX];
    if (b->evidence_count > EC_BLOCK_EVIDENCE_MAX)
        return s_fault(st, EC_EIO, h, "it holds more evidence than any block may");
    for (uint32_t i = 0; i < b->evidence_count; i++) {
        const msgpack_object *o = &b->evidence[i];
        ec_evidence_t ev;
        if (ec_evidence_decode(&ev, (const uint8_t *)o->via.bin.ptr, o->via.bin.size) != 0)
            return s_fault(st, EC_EIO, h, "an evidence entry does not decode");
        ec_merkle_leaf(leaves[i], EC_LEAF_EVIDENCE, o->via.bin.ptr, o->via.bin.size);
    }
    uint8_t root[EC_HASH_BYTES], want[EC_HASH_BYTES];
    ec_merkle_root(root, (const ec_hash32_t *)leaves, b->evidence_count);
    if (memcmp(root, b->header.evidence_root, EC_HASH_BYTES) != 0)
        return s_fault(st, EC_EIO, h, "its evidence does not match evidence_root");
    ec_valset_t next;
    if (ec_exec_valset_stored(c->ledger, c->genesis, h, vs) != 0 ||
        ec_exec_valset_stored(c->ledger, c->genesis, h + 1, &next) != 0)
        return s_fault(st, EC_EIO, h, "a stored validator set does not decode");
    ec_valset_hash(want, vs);
    if (memcmp(want, b->header.valset_hash, EC_HASH_BYTES) != 0)
        return s_fault(st, EC_EIO, h, "its valset_hash is not the stored set of its height");
    ec_valset_hash(want, &next);
    if (memcmp(want, b->header.next_valset_hash, EC_HASH_BYTES) != 0)
        return s_fault(st, EC_EIO, h, "its next_valset_hash is not the stored next set");
    return 0;
}

/* The history log: leaf h is this block's hash, and hist_root covers leaves 0..h-1. */
static int s_check_history(s_check_t *c, uint64_t h, const ec_header_t *hd,
                           const uint8_t hash[EC_HASH_BYTES], ec_status_t *st)
{
    uint8_t want[EC_HASH_BYTES], got[EC_HASH_BYTES];
    ec_merkle_leaf(want, EC_LEAF_BLOCK, hash, EC_HASH_BYTES);
    if (ec_mlog_leaf(c->ledger, EC_MLOG_HIST, h, got) != 0 || memcmp(want, got, EC_HASH_BYTES) != 0)
        return s_fault(st, EC_EIO, h, "the history log does not hold its hash");
    ec_mlog_reader_t reader = {.ledger = c->ledger, .log_id = EC_MLOG_HIST};
    if (ec_mlog_oracle(&reader, 0, h, got) != 0 || memcmp(got, hd->hist_root, EC_HASH_BYTES) != 0)
        return s_fault(st, EC_EIO, h, "its hist_root differs from the stored history");
    return 0;
}

/* Every check of one block; on success the block becomes c's "previous". */
static int s_check_block(s_check_t *c, uint64_t h, ec_status_t *st)
{
    uint8_t key[8], *raw = NULL, hash[EC_HASH_BYTES];
    size_t size = 0;
    ec_be64_put(key, h);
    if (ec_ledger_get(c->ledger, EC_CF_BLOCKS, key, sizeof key, &raw, &size) != 0)
        return s_fault(st, EC_EIO, h, "it is missing from the store");
    ec_block_t b;
    if (ec_block_decode(&b, raw, size) != 0) {
        free(raw);
        return s_fault(st, EC_EIO, h, "it does not decode");
    }
    const ec_header_t *hd = &b.header;
    ec_header_hash(hash, hd);
    ec_commit_t commit;
    int rc = 0;
    if (hd->height != h || strcmp(hd->chain_id, c->genesis->chain_id) != 0)
        rc = s_fault(st, EC_EIO, h, "its header names another height or chain");
    else if (memcmp(hd->prev_hash, c->prev_hash, EC_HASH_BYTES) != 0)
        rc = s_fault(st, EC_EIO, h, "its prev_hash is not the hash of the block before");
    else if (hd->time_ms < c->prev_time_ms)
        rc = s_fault(st, EC_EIO, h, "its time is earlier than the block before");
    if (rc == 0)
        rc = s_check_txs(c, h, &b, st);
    ec_valset_t vs;
    if (rc == 0)
        rc = s_check_sets(c, h, &b, &vs, st);
    if (rc == 0)
        rc = s_check_record(c, h, &b, &commit, st);
    if (rc == 0 && ec_commit_verify(&commit, hd, &vs) != 0)
        rc = s_fault(st, EC_ESIG, h, "its commit does not verify against the validator set");
    if (rc == 0)
        rc = s_check_history(c, h, hd, hash, st);
    if (rc == 0 && c->app && c->app->check_block) {
        ec_status_t app_st = {0};
        if (c->app->check_block(c->app->self, c->ledger, hd, &app_st) != 0)
            rc = s_fault(st, app_st.code ? app_st.code : EC_EIO, h, app_st.msg);
    }
    if (rc == 0) {
        memcpy(c->prev_hash, hash, EC_HASH_BYTES);
        c->prev_time_ms = hd->time_ms;
    }
    ec_block_fini(&b);
    free(raw);
    return rc;
}

/* Step 2 and 3: the store's genesis and the guard record. */
static int s_check_identity(s_check_t *c, const char *data_dir, ec_status_t *st)
{
    static const char k_hash[] = "genesis_hash";
    uint8_t *val = NULL;
    size_t size = 0;
    int rc = ec_ledger_get(c->ledger, EC_CF_META, k_hash, strlen(k_hash), &val, &size);
    bool same = rc == 0 && size == EC_HASH_BYTES && memcmp(val, c->prev_hash, size) == 0;
    free(val);
    if (rc == EC_ENOTFOUND)
        return ec_status_set(st, EC_EIO, "the store holds no genesis (never initialised)");
    if (!same)
        return ec_status_set(st, EC_ECHAIN, "the store belongs to another chain");
    char path[EC_GUARD_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", data_dir, EC_GUARD_FILE);
    ec_guard_t *g = ec_guard_open(path, false, NULL, st);
    if (!g)
        return st->code == EC_ENOTFOUND
                   ? ec_status_set(st, EC_EIO,
                                   "no guard file: nothing proves the store is "
                                   "complete")
                   : st->code;
    uint64_t committed = ec_guard_state(g)->committed_height, tip = ec_ledger_height(c->ledger);
    uint8_t want[EC_HASH_BYTES];
    memcpy(want, ec_guard_state(g)->committed_hash, EC_HASH_BYTES);
    ec_guard_destroy(&g);
    if (tip < committed)
        return ec_status_set(st, EC_EIO,
                             "the store ends at height %llu but the node committed up to %llu: "
                             "committed blocks were lost",
                             (unsigned long long)tip, (unsigned long long)committed);
    if (committed > 0) {
        ec_header_t h;
        uint8_t hash[EC_HASH_BYTES];
        if (ec_ledger_header(c->ledger, committed, &h, NULL) != 0)
            return ec_status_set(st, EC_EIO, "the header of committed block %llu is missing",
                                 (unsigned long long)committed);
        ec_header_hash(hash, &h);
        if (memcmp(hash, want, EC_HASH_BYTES) != 0)
            return ec_status_set(st, EC_EIO, "block %llu is not the one the node committed",
                                 (unsigned long long)committed);
    }
    return 0;
}

/* Step 6: nothing above the tip, in any per-height column family or the history. */
static int s_check_above(s_check_t *c, uint64_t tip, ec_status_t *st)
{
    uint8_t key[8], *val = NULL;
    size_t size = 0;
    ec_be64_put(key, tip + 1);
    static const ec_cf_t cfs[] = {EC_CF_BLOCKS, EC_CF_HEADERS};
    for (size_t i = 0; i < sizeof cfs / sizeof cfs[0]; i++) {
        int rc = ec_ledger_get(c->ledger, cfs[i], key, sizeof key, &val, &size);
        free(val);
        val = NULL;
        if (rc != EC_ENOTFOUND)
            return ec_status_set(st, EC_EIO, "%s holds a record above the tip %llu",
                                 ec_ledger_cf_name(cfs[i]), (unsigned long long)tip);
    }
    uint64_t hist = 0;
    if (ec_mlog_committed_size(c->ledger, EC_MLOG_HIST, &hist) != 0 || hist != tip + 1)
        return ec_status_set(st, EC_EIO, "the history log has %llu leaves at height %llu",
                             (unsigned long long)hist, (unsigned long long)tip);
    return 0;
}

static int s_run(s_check_t *c, const char *data_dir, FILE *out, ec_status_t *st)
{
    uint64_t keys = 0, bytes = 0;
    int rc = ec_ledger_verify_checksums(c->ledger, &keys, &bytes, st);
    if (rc != 0)
        return rc;
    fprintf(out, "checksums: %llu keys, %llu bytes, every block checksum verified\n",
            (unsigned long long)keys, (unsigned long long)bytes);
    if ((rc = s_check_identity(c, data_dir, st)) != 0)
        return rc;
    uint64_t tip = ec_ledger_height(c->ledger);
    fprintf(out, "store: chain %s, tip %llu, guard record agrees\n", c->genesis->chain_id,
            (unsigned long long)tip);
    for (uint64_t h = 1; h <= tip; h++) {
        if ((rc = s_check_block(c, h, st)) != 0)
            return rc;
        if (h % 10000 == 0)
            fprintf(out, "  ... %llu blocks\n", (unsigned long long)h);
    }
    fprintf(out,
            "blocks: 1..%llu decode, chain by hash, never go back in time, match their "
            "transactions (%llu), anchors, commits and the history log%s\n",
            (unsigned long long)tip, (unsigned long long)c->txs,
            c->app && c->app->check_block ? " and the application's logs" : "");
    if ((rc = s_check_above(c, tip, st)) != 0)
        return rc;
    fprintf(out, "tip: nothing stored above height %llu\n", (unsigned long long)tip);
    return 0;
}

int ec_check_store(const char *data_dir, const ec_genesis_t *genesis, const ec_app_t *app,
                   FILE *out, ec_status_t *st)
{
    assert(data_dir && genesis && out);
    s_check_t c;
    memset(&c, 0, sizeof c);
    c.genesis = genesis;
    c.app = app;
    ec_genesis_hash(c.prev_hash, genesis);
    c.prev_time_ms = genesis->time_ms;
    c.leaves = calloc(EC_BLOCK_TXS_MAX, sizeof *c.leaves);
    if (!c.leaves)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    ec_decoder_init(&c.dec);
    ec_ledger_options_t opts = {.read_only = true};
    c.ledger = ec_ledger_open_with(data_dir, &opts, st);
    int rc = c.ledger ? s_run(&c, data_dir, out, st) : (st->code ? st->code : EC_EIO);
    if (rc == 0)
        fprintf(out, "store OK\n");
    else
        fprintf(out, "FAULT: %s\n", st->msg);
    ec_ledger_destroy(&c.ledger);
    ec_decoder_fini(&c.dec);
    free(c.leaves);
    return rc;
}
