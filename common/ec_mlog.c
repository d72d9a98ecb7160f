/*
 * ec_mlog.c - an append-only RFC 9162 Merkle log stored node by node in the ledger
 * (contract in ec_mlog.h).
 *
 * Storage (EC_CF_MERKLE, 10-byte keys so RocksDB's order is (log, level, index)):
 *
 *   offset size meaning
 *   0      1    log id (EC_MLOG_HIST, EC_MLOG_RECORDS, ...)
 *   1      1    level: 0 for leaves, k for the root of a perfect subtree of 2^k leaves
 *   2      8    index (be64): the subtree covers leaves [index << level, (index+1) << level)
 *   value       the 32-byte node hash
 *
 * and EC_CF_META "mlog/<id>/size" -> be64 leaf count.
 *
 * Invariant: for a log of size n, node (k, i) is stored exactly when (i+1) << k <= n, i.e.
 * every complete perfect subtree and nothing else. An append writes the leaf and then, while
 * the new node is a right child, its parent: one leaf plus on average one node per append.
 * RFC 9162 trees split at the largest power of two below n, so MTH(0, n) is the right-to-
 * left fold of the perfect subtrees given by the binary decomposition of n, and any range an
 * RFC 9162 proof asks for splits into O(log n) stored nodes.
 */
#include "ec_mlog.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ec_log.h"

#define S_NODE_KEY_BYTES 10
#define S_SIZE_KEY_BYTES 11 /* "mlog/" id "/size" */
#define S_LEVELS_MAX 64

typedef int (*s_get_fn)(ec_ledger_t *l, ec_cf_t cf, const void *key, size_t key_size, uint8_t **val,
                        size_t *val_size);

static void s_node_key(uint8_t key[S_NODE_KEY_BYTES], uint8_t log_id, uint8_t level, uint64_t index)
{
    key[0] = log_id;
    key[1] = level;
    ec_be64_put(key + 2, index);
}

static void s_size_key(uint8_t key[S_SIZE_KEY_BYTES], uint8_t log_id)
{
    memcpy(key, "mlog/", 5);
    key[5] = log_id;
    memcpy(key + 6, "/size", 5);
}

/* Reads the log size through `get` (pending or committed). A missing key means 0. */
static int s_size(ec_ledger_t *l, s_get_fn get, uint8_t log_id, uint64_t *size)
{
    uint8_t key[S_SIZE_KEY_BYTES];
    uint8_t *val = NULL;
    size_t val_size = 0;
    s_size_key(key, log_id);
    *size = 0;
    int rc = get(l, EC_CF_META, key, sizeof key, &val, &val_size);
    if (rc == EC_ENOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    if (val_size != 8) {
        free(val);
        ec_error("mlog: corrupt size record for log '%c'", log_id);
        return EC_EIO;
    }
    *size = ec_be64_get(val);
    free(val);
    return 0;
}

/* Reads node (level, index) through `get`. 0, EC_ENOTFOUND or EC_EIO (wrong length). */
static int s_node(ec_ledger_t *l, s_get_fn get, uint8_t log_id, uint8_t level, uint64_t index,
                  uint8_t out[EC_HASH_BYTES])
{
    uint8_t key[S_NODE_KEY_BYTES];
    uint8_t *val = NULL;
    size_t val_size = 0;
    s_node_key(key, log_id, level, index);
    int rc = get(l, EC_CF_MERKLE, key, sizeof key, &val, &val_size);
    if (rc != 0)
        return rc;
    if (val_size != EC_HASH_BYTES) {
        free(val);
        ec_error("mlog: corrupt node in log '%c' at level %u", log_id, level);
        return EC_EIO;
    }
    memcpy(out, val, EC_HASH_BYTES);
    free(val);
    return 0;
}

/* Root of the first n leaves: folds the perfect subtrees of n's binary decomposition
 * (largest, leftmost first) from right to left. O(log n) reads. */
static int s_root(ec_ledger_t *l, s_get_fn get, uint8_t log_id, uint64_t n,
                  uint8_t out[EC_HASH_BYTES])
{
    if (n == 0) {
        ec_sha256(out, "", 0);
        return 0;
    }
    ec_hash32_t parts[S_LEVELS_MAX];
    int count = 0;
    uint64_t start = 0;
    for (int level = S_LEVELS_MAX - 1; level >= 0; level--) {
        uint64_t width = (uint64_t)1 << level;
        if (!(n & width))
            continue;
        int rc = s_node(l, get, log_id, (uint8_t)level, start >> level, parts[count]);
        if (rc != 0)
            return rc == EC_ENOTFOUND ? EC_EIO : rc; /* within the size: must exist */
        count++;
        start += width;
    }
    uint8_t acc[EC_HASH_BYTES];
    memcpy(acc, parts[count - 1], EC_HASH_BYTES);
    for (int i = count - 2; i >= 0; i--)
        ec_merkle_node(acc, parts[i], acc);
    memcpy(out, acc, EC_HASH_BYTES);
    return 0;
}

/* ---- pending side ----------------------------------------------------------------------- */

int ec_mlog_size(ec_ledger_t *l, uint8_t log_id, uint64_t *size)
{
    assert(l && size);
    return s_size(l, ec_ledger_get_pending, log_id, size);
}

int ec_mlog_append(ec_ledger_t *l, uint8_t log_id, const uint8_t leaf[EC_HASH_BYTES])
{
    assert(l && leaf);
    uint64_t n = 0;
    int rc = s_size(l, ec_ledger_get_pending, log_id, &n);
    if (rc != 0)
        return rc;
    assert(n < UINT64_MAX / 2);

    uint8_t key[S_NODE_KEY_BYTES];
    uint8_t hash[EC_HASH_BYTES];
    uint64_t index = n;
    uint8_t level = 0;
    memcpy(hash, leaf, EC_HASH_BYTES);
    s_node_key(key, log_id, level, index);
    ec_ledger_put(l, EC_CF_MERKLE, key, sizeof key, hash, EC_HASH_BYTES);
    /* While the new node is a right child, its subtree's sibling is complete: store the
     * parent, which is now complete too. */
    while (index & 1) {
        uint8_t left[EC_HASH_BYTES];
        rc = s_node(l, ec_ledger_get_pending, log_id, level, index - 1, left);
        if (rc != 0)
            return rc == EC_ENOTFOUND ? EC_EIO : rc;
        ec_merkle_node(hash, left, hash);
        level++;
        index >>= 1;
        s_node_key(key, log_id, level, index);
        ec_ledger_put(l, EC_CF_MERKLE, key, sizeof key, hash, EC_HASH_BYTES);
    }

    uint8_t size_key[S_SIZE_KEY_BYTES], size_val[8];
    s_size_key(size_key, log_id);
    ec_be64_put(size_val, n + 1);
    ec_ledger_put(l, EC_CF_META, size_key, sizeof size_key, size_val, sizeof size_val);
    return 0;
}

int ec_mlog_root(ec_ledger_t *l, uint8_t log_id, uint8_t out[EC_HASH_BYTES])
{
    assert(l && out);
    uint64_t n = 0;
    int rc = s_size(l, ec_ledger_get_pending, log_id, &n);
    if (rc != 0)
        return rc;
    return s_root(l, ec_ledger_get_pending, log_id, n, out);
}

/* ---- committed side --------------------------------------------------------------------- */

/* Number of trailing zero bits of v (v > 0). */
static int s_ctz(uint64_t v)
{
    return __builtin_ctzll(v);
}

/* MTH(leaves[begin:end]) over committed nodes: a stored node when the range is an aligned
 * perfect subtree, else RFC 9162's split at the largest power of two below the width. */
static int s_range(ec_ledger_t *l, uint8_t log_id, uint64_t begin, uint64_t end,
                   uint8_t out[EC_HASH_BYTES])
{
    uint64_t width = end - begin;
    if ((width & (width - 1)) == 0) {
        int level = s_ctz(width);
        if (begin == 0 || s_ctz(begin) >= level)
            return s_node(l, ec_ledger_get, log_id, (uint8_t)level, begin >> level, out);
    }
    uint64_t k = (uint64_t)1 << (63 - __builtin_clzll(width - 1));
    uint8_t left[EC_HASH_BYTES], right[EC_HASH_BYTES];
    int rc = s_range(l, log_id, begin, begin + k, left);
    if (rc == 0)
        rc = s_range(l, log_id, begin + k, end, right);
    if (rc == 0)
        ec_merkle_node(out, left, right);
    return rc;
}

int ec_mlog_oracle(void *ctx, uint64_t begin, uint64_t end, uint8_t out[EC_HASH_BYTES])
{
    const ec_mlog_reader_t *r = ctx;
    assert(r && r->ledger && out);
    if (begin >= end)
        return EC_EINVAL;
    return s_range(r->ledger, r->log_id, begin, end, out);
}

int ec_mlog_committed_size(ec_ledger_t *l, uint8_t log_id, uint64_t *size)
{
    assert(l && size);
    return s_size(l, ec_ledger_get, log_id, size);
}

int ec_mlog_leaf(ec_ledger_t *l, uint8_t log_id, uint64_t index, uint8_t out[EC_HASH_BYTES])
{
    assert(l && out);
    return s_node(l, ec_ledger_get, log_id, 0, index, out);
}
