/*
 * ec_ledger.c - the node's RocksDB database (see ec_ledger.h for the contract and
 * docs/PROTOCOL.md, "Storage", for the key layouts).
 *
 * One RocksDB instance with one column family per ec_cf_t. Committed reads go straight to
 * the database and are safe from any thread. The commit thread records the pending block's
 * writes in an overlay (ec_overlay.h: a hash table of the newest write per key), which is
 * what ec_ledger_get_pending reads before the database. ec_ledger_write turns it into one
 * WriteBatch, the newest write of each key in key order, and stores that with a synced
 * write together with the META "tip" key, so the tip height and the data it covers change
 * atomically. RocksDB's readable batch (WriteBatchWithIndex) did this before, but keeping
 * its ordered index, and inserting unsorted keys into the memtable, cost about half of a
 * block's execution time (docs/PERFORMANCE.md); nothing here reads the pending block in
 * key order.
 *
 * Save points: each one remembers the overlay's mark and the state digest. Rolling back
 * the innermost undoes the overlay writes since its mark: O(writes undone).
 *
 * Invariants:
 * - `height` equals the META "tip" value on disk (it is loaded on open and updated only
 *   after a successful synced write).
 * - `batch` is empty except inside ec_ledger_write (and after a failed write).
 * - `fault` is sticky until the pending block is discarded: once a write could not be
 *   recorded (memory), reads through the pending block and its write fail, so a partly
 *   recorded block is never read or stored.
 *
 * Tuning (a ledger sees bursts of ~10^4 small writes per block, reads by exact key):
 * 16 MiB write buffers (64 MiB for all memtables together), a shared 32 MiB LRU block
 * cache, 10-bit Bloom filters on the column
 * families read by point lookups (txindex, payloads, state, merkle), LZ4 compression (the
 * Debian build links liblz4), two background jobs.
 *
 * Values on disk:
 *   META "tip"        be64 height of the last committed block
 *   HEADERS height    msgpack [header: bin, commit: bin, anchors: [bin...]] (the engine
 *                     writes the anchors; older two-element records are also accepted)
 *   TXINDEX id        msgpack [height: uint, index: uint]
 */
#include "ec_ledger.h"

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rocksdb/c.h>

#include "ec_codec.h"
#include "ec_crypto.h"
#include "ec_log.h"
#include "ec_overlay.h"

/* Open save points per block: one per transaction plus some nesting inside apps. */
#define S_SAVEPOINTS_MAX (EC_BLOCK_TXS_MAX + 256u)
/* Largest encoded header or commit accepted from the HEADERS column family. */
#define S_RECORD_PART_MAX (64u * 1024)
/* Memory budget, so a node holding millions of certificates stays well under 256 MB:
 * memtables of all column families together flush at S_DB_WRITE_BUFFER_BYTES (RocksDB then
 * flushes the largest), each at most S_WRITE_BUFFER_BYTES, plus one shared block cache. */
#define S_WRITE_BUFFER_BYTES (16u * 1024 * 1024)
#define S_DB_WRITE_BUFFER_BYTES (64u * 1024 * 1024)
#define S_BLOCK_CACHE_BYTES (32u * 1024 * 1024)
#define S_BLOOM_BITS_PER_KEY 10.0

/* One open save point. */
typedef struct {
    ec_sha256_t digest;     /* state digest when it was set                      */
    ec_overlay_mark_t mark; /* the overlay then                                  */
} s_savepoint_t;

static const char s_tip_key[] = "tip";

/* Column family names, in ec_cf_t order. RocksDB requires the first to be "default". */
static const char *const s_cf_names[EC_CF_COUNT] = {
    "default", "blocks", "headers", "txindex", "payloads", "state", "merkle", "consensus",
};

/* Column families read mostly by exact key: these get Bloom filters. */
static bool s_cf_bloom(int cf)
{
    return cf == EC_CF_TXINDEX || cf == EC_CF_PAYLOADS || cf == EC_CF_STATE || cf == EC_CF_MERKLE;
}

struct ec_ledger {
    rocksdb_t *db;                                 /* the database                      */
    rocksdb_options_t *db_opts;                    /* DB-wide options                   */
    rocksdb_options_t *cf_opts[EC_CF_COUNT];       /* per column family options         */
    rocksdb_block_based_table_options_t *table[2]; /* [0] plain, [1] with Bloom filter  */
    rocksdb_cache_t *cache;                        /* shared LRU block cache            */
    rocksdb_column_family_handle_t *cf[EC_CF_COUNT];
    rocksdb_readoptions_t *ropts;  /* shared, read-only after open      */
    rocksdb_writeoptions_t *wopts; /* sync = 1                          */
    rocksdb_writebatch_t *batch;   /* the block being written           */
    ec_overlay_t *overlay;         /* its newest write per key          */
    int fault;                     /* 0, or EC_ENOMEM: see invariants   */
    _Atomic uint64_t height;       /* committed tip (mirror of META tip)*/
    ec_sha256_t digest;            /* state writes of the pending block */
    uint32_t sp_depth;             /* open save points                  */
    s_savepoint_t *sp;             /* [S_SAVEPOINTS_MAX]                */
    bool read_only;                /* opened by the store check         */
    bool flush_on_close;           /* a disk ledger opened for writing, no write failed */
};

struct ec_ledger_env {
    rocksdb_env_t *env;
};

ec_ledger_env_t *ec_ledger_mem_env_new(void)
{
    ec_ledger_env_t *e = calloc(1, sizeof *e);
    if (e && !(e->env = rocksdb_create_mem_env())) {
        free(e);
        e = NULL;
    }
    return e;
}

void ec_ledger_mem_env_destroy(ec_ledger_env_t **self_p)
{
    assert(self_p);
    if (!*self_p)
        return;
    rocksdb_env_destroy((*self_p)->env);
    free(*self_p);
    *self_p = NULL;
}

const char *ec_ledger_cf_name(ec_cf_t cf)
{
    return cf < EC_CF_COUNT ? s_cf_names[cf] : "?";
}

void ec_be64_put(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

uint64_t ec_be64_get(const uint8_t in[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | in[i];
    return v;
}

static void s_be32_put(uint8_t out[4], uint32_t v)
{
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

/*
 * Turns a RocksDB error string into EC_EIO: st gets "what: message" when given, else the
 * message is logged. Frees err.
 */
static int s_fail(ec_status_t *st, const char *what, char *err)
{
    if (st)
        ec_status_set(st, EC_EIO, "%s: %s", what, err ? err : "unknown error");
    else
        ec_error("ledger: %s: %s", what, err ? err : "unknown error");
    rocksdb_free(err);
    return EC_EIO;
}

/* ---- open / close ----------------------------------------------------------------------- */

static void s_options_make(ec_ledger_t *l, const ec_ledger_env_t *env)
{
    l->cache = rocksdb_cache_create_lru(S_BLOCK_CACHE_BYTES);
    for (int i = 0; i < 2; i++) {
        l->table[i] = rocksdb_block_based_options_create();
        rocksdb_block_based_options_set_block_cache(l->table[i], l->cache);
        /* Index and filter blocks stay in the table readers, outside the cache: the
         * replay check probes the transaction index's Bloom filter for every submitted
         * transaction, and with filters in a small cache, payload and state blocks evicted
         * them, so each probe re-read a filter from disk (60% of the commit thread at a
         * million certificates). Kept resident they cost about 1.3 MB per million ids. */
        rocksdb_block_based_options_set_cache_index_and_filter_blocks(l->table[i], 0);
    }
    /* The table options copy the policy; the full-filter format is the fast one. */
    rocksdb_block_based_options_set_filter_policy(
        l->table[1], rocksdb_filterpolicy_create_bloom_full(S_BLOOM_BITS_PER_KEY));

    l->db_opts = rocksdb_options_create();
    if (env)
        rocksdb_options_set_env(l->db_opts, env->env);
    /* Refuse to open on any sign of damage RocksDB can see, and replay the write-ahead log
     * only up to its first bad record (kPointInTimeRecovery = 2): what opens is a
     * consistent prefix, and the node's guard record tells whether it lost anything. */
    rocksdb_options_set_paranoid_checks(l->db_opts, 1);
    rocksdb_options_set_wal_recovery_mode(l->db_opts, 2);
    rocksdb_options_set_create_if_missing(l->db_opts, 1);
    rocksdb_options_set_create_missing_column_families(l->db_opts, 1);
    rocksdb_options_set_max_background_jobs(l->db_opts, 2);
    rocksdb_options_set_bytes_per_sync(l->db_opts, 1u << 20);
    rocksdb_options_set_db_write_buffer_size(l->db_opts, S_DB_WRITE_BUFFER_BYTES);
    for (int cf = 0; cf < EC_CF_COUNT; cf++) {
        rocksdb_options_t *o = rocksdb_options_create();
        rocksdb_options_set_write_buffer_size(o, S_WRITE_BUFFER_BYTES);
        rocksdb_options_set_max_write_buffer_number(o, 2);
        rocksdb_options_set_compression(o, rocksdb_lz4_compression);
        rocksdb_options_set_level_compaction_dynamic_level_bytes(o, 1);
        rocksdb_options_set_block_based_table_factory(o, l->table[s_cf_bloom(cf) ? 1 : 0]);
        if (s_cf_bloom(cf)) {
            /* Point lookups that mostly miss (an id never seen, a key not set yet) answer
             * from a Bloom filter over the memtable instead of walking its skip list. */
            rocksdb_options_set_memtable_prefix_bloom_size_ratio(o, 0.1);
            rocksdb_options_set_memtable_whole_key_filtering(o, 1);
        }
        l->cf_opts[cf] = o;
    }
}

/* Loads the committed tip from META "tip" (absent in a new database: 0). */
static int s_tip_load(ec_ledger_t *l, ec_status_t *st)
{
    uint8_t *val = NULL;
    size_t size = 0;
    int rc = ec_ledger_get(l, EC_CF_META, s_tip_key, sizeof s_tip_key - 1, &val, &size);
    if (rc == EC_ENOTFOUND) {
        atomic_store(&l->height, 0);
        return 0;
    }
    if (rc != 0)
        return ec_status_set(st, rc, "cannot read the ledger tip");
    if (size != 8) {
        free(val);
        return ec_status_set(st, EC_EIO, "corrupt ledger: tip record has %zu bytes", size);
    }
    atomic_store(&l->height, ec_be64_get(val));
    free(val);
    return 0;
}

/*
 * Makes sure the data folder exists with mode 0700, or exists already without access for
 * group and others (it holds every payload). 0, EC_EIO or EC_ECONFIG with st set.
 */
static int s_folder(const char *path, ec_status_t *st)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno != ENOENT)
            return ec_status_set(st, EC_EIO, "data folder %s: %s", path, strerror(errno));
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return ec_status_set(st, EC_EIO, "cannot create data folder %s: %s", path,
                                 strerror(errno));
        return 0;
    }
    if (!S_ISDIR(sb.st_mode))
        return ec_status_set(st, EC_ECONFIG, "data folder %s is not a folder", path);
    if (sb.st_mode & 0077)
        return ec_status_set(st, EC_ECONFIG,
                             "data folder %s has mode %04o: it holds every certificate payload "
                             "and must be private to its owner (chmod 700 %s)",
                             path, (unsigned)(sb.st_mode & 07777), path);
    return 0;
}

ec_ledger_t *ec_ledger_open(const char *path, ec_status_t *st)
{
    return ec_ledger_open_with(path, NULL, st);
}

ec_ledger_t *ec_ledger_open_with(const char *path, const ec_ledger_options_t *opts, ec_status_t *st)
{
    assert(path);
    ec_ledger_options_t none = {0};
    if (!opts)
        opts = &none;
    if (!opts->env && !opts->read_only && s_folder(path, st) != 0)
        return NULL;
    ec_ledger_t *l = calloc(1, sizeof *l);
    if (!l) {
        ec_status_set(st, EC_ENOMEM, "out of memory opening ledger %s", path);
        return NULL;
    }
    l->sp = malloc(S_SAVEPOINTS_MAX * sizeof *l->sp);
    l->overlay = ec_overlay_new();
    if (!l->sp || !l->overlay) {
        free(l->sp);
        ec_overlay_destroy(&l->overlay);
        free(l);
        ec_status_set(st, EC_ENOMEM, "out of memory opening ledger %s", path);
        return NULL;
    }
    s_options_make(l, opts->env);
    l->read_only = opts->read_only;
    l->flush_on_close = !opts->read_only && !opts->env;
    l->ropts = rocksdb_readoptions_create();
    l->wopts = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(l->wopts, 1);
    l->batch = rocksdb_writebatch_create();
    ec_sha256_init(&l->digest);

    char *err = NULL;
    if (opts->read_only)
        l->db = rocksdb_open_for_read_only_column_families(
            l->db_opts, path, EC_CF_COUNT, s_cf_names, (const rocksdb_options_t *const *)l->cf_opts,
            l->cf, 0, &err);
    else
        l->db =
            rocksdb_open_column_families(l->db_opts, path, EC_CF_COUNT, s_cf_names,
                                         (const rocksdb_options_t *const *)l->cf_opts, l->cf, &err);
    if (err) {
        ec_status_set(st, EC_EIO, "cannot open ledger %s: %s", path, err);
        rocksdb_free(err);
        l->db = NULL;
        ec_ledger_destroy(&l);
        return NULL;
    }
    if (s_tip_load(l, st) != 0) {
        ec_ledger_destroy(&l);
        return NULL;
    }
    return l;
}

void ec_ledger_destroy(ec_ledger_t **self_p)
{
    assert(self_p);
    ec_ledger_t *l = *self_p;
    if (!l)
        return;
    if (l->db) {
        /* A clean stop moves the memtables into table files, so the next start replays no
         * write-ahead log and every committed block sits in checksummed tables that the
         * store check reads. A failed flush loses nothing: the log still holds it all. */
        if (l->flush_on_close) {
            rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
            rocksdb_flushoptions_set_wait(fo, 1);
            for (int cf = 0; cf < EC_CF_COUNT; cf++) {
                char *err = NULL;
                rocksdb_flush_cf(l->db, fo, l->cf[cf], &err);
                if (err) {
                    ec_warn("ledger: flush of %s at close failed: %s", s_cf_names[cf], err);
                    rocksdb_free(err);
                }
            }
            rocksdb_flushoptions_destroy(fo);
        }
        for (int cf = 0; cf < EC_CF_COUNT; cf++)
            if (l->cf[cf])
                rocksdb_column_family_handle_destroy(l->cf[cf]);
        rocksdb_close(l->db);
    }
    rocksdb_writebatch_destroy(l->batch);
    ec_overlay_destroy(&l->overlay);
    rocksdb_readoptions_destroy(l->ropts);
    rocksdb_writeoptions_destroy(l->wopts);
    for (int cf = 0; cf < EC_CF_COUNT; cf++)
        rocksdb_options_destroy(l->cf_opts[cf]);
    rocksdb_options_destroy(l->db_opts);
    for (int i = 0; i < 2; i++)
        rocksdb_block_based_options_destroy(l->table[i]);
    rocksdb_cache_destroy(l->cache);
    free(l->sp);
    free(l);
    *self_p = NULL;
}

/* ---- committed reads -------------------------------------------------------------------- */

int ec_ledger_get(ec_ledger_t *l, ec_cf_t cf, const void *key, size_t key_size, uint8_t **val,
                  size_t *val_size)
{
    assert(l && cf < EC_CF_COUNT && (key || key_size == 0) && val && val_size);
    char *err = NULL;
    size_t size = 0;
    /* RocksDB's C API returns a malloc'd copy (glibc malloc(0) is never NULL, so an empty
     * value is distinguishable from "not found"). The caller frees it with free(). */
    char *v = rocksdb_get_cf(l->db, l->ropts, l->cf[cf], key, key_size, &size, &err);
    *val = NULL;
    *val_size = 0;
    if (err)
        return s_fail(NULL, "get", err);
    if (!v)
        return EC_ENOTFOUND;
    *val = (uint8_t *)v;
    *val_size = size;
    return 0;
}

/*
 * Computes the smallest key above every key that starts with prefix, into out (capacity
 * prefix_size). Returns its size, or 0 when there is none (the prefix is all 0xff or empty).
 */
static size_t s_prefix_end(uint8_t *out, const uint8_t *prefix, size_t prefix_size)
{
    size_t n = prefix_size;
    memcpy(out, prefix, prefix_size);
    while (n > 0 && out[n - 1] == 0xff)
        n--;
    if (n == 0)
        return 0;
    out[n - 1]++;
    return n;
}

int ec_ledger_scan(ec_ledger_t *l, ec_cf_t cf, const void *prefix, size_t prefix_size,
                   const void *start_key, size_t start_size, uint32_t limit, ec_ledger_scan_fn fn,
                   void *ctx)
{
    assert(l && cf < EC_CF_COUNT && fn && (prefix || prefix_size == 0));
    assert(start_key || start_size == 0);
    /* A bounded iterator skips tombstones beyond the prefix instead of walking them. The
     * bound needs its own read options (the shared ones have none); cost: two small
     * allocations per scan, off the hot path. */
    uint8_t *bound = NULL;
    size_t bound_size = 0;
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    if (prefix_size > 0) {
        bound = malloc(prefix_size);
        if (!bound) {
            rocksdb_readoptions_destroy(ro);
            return EC_ENOMEM;
        }
        bound_size = s_prefix_end(bound, prefix, prefix_size);
        if (bound_size > 0)
            rocksdb_readoptions_set_iterate_upper_bound(ro, (const char *)bound, bound_size);
    }
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(l->db, ro, l->cf[cf]);

    /* Start at the larger of prefix and start_key. */
    const void *seek = prefix;
    size_t seek_size = prefix_size;
    if (start_size > 0) {
        size_t common = start_size < prefix_size ? start_size : prefix_size;
        int c = common > 0 ? memcmp(start_key, prefix, common) : 0;
        if (c > 0 || (c == 0 && start_size >= prefix_size)) {
            seek = start_key;
            seek_size = start_size;
        }
    }
    if (seek_size > 0)
        rocksdb_iter_seek(it, seek, seek_size);
    else
        rocksdb_iter_seek_to_first(it);

    int rc = 0;
    uint32_t visited = 0;
    for (; rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t ks = 0, vs = 0;
        const char *k = rocksdb_iter_key(it, &ks);
        if (ks < prefix_size || (prefix_size > 0 && memcmp(k, prefix, prefix_size) != 0))
            break;
        const char *v = rocksdb_iter_value(it, &vs);
        rc = fn(ctx, (const uint8_t *)k, ks, (const uint8_t *)v, vs);
        if (rc != 0)
            break;
        if (limit > 0 && ++visited >= limit)
            break;
    }
    if (rc == 0) {
        char *err = NULL;
        rocksdb_iter_get_error(it, &err);
        if (err)
            rc = s_fail(NULL, "scan", err);
    }
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    free(bound);
    return rc;
}

int ec_ledger_verify_checksums(ec_ledger_t *l, uint64_t *keys, uint64_t *bytes, ec_status_t *st)
{
    assert(l && keys && bytes);
    *keys = *bytes = 0;
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_verify_checksums(ro, 1);
    rocksdb_readoptions_set_fill_cache(ro, 0);
    int rc = 0;
    for (int cf = 0; rc == 0 && cf < EC_CF_COUNT; cf++) {
        rocksdb_iterator_t *it = rocksdb_create_iterator_cf(l->db, ro, l->cf[cf]);
        for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
            size_t ks = 0, vs = 0;
            (void)rocksdb_iter_key(it, &ks);
            (void)rocksdb_iter_value(it, &vs);
            (*keys)++;
            *bytes += ks + vs;
        }
        char *err = NULL;
        rocksdb_iter_get_error(it, &err);
        if (err) {
            rc = ec_status_set(st, EC_EIO, "column family %s: %s", s_cf_names[cf], err);
            rocksdb_free(err);
        }
        rocksdb_iter_destroy(it);
    }
    rocksdb_readoptions_destroy(ro);
    return rc;
}

uint64_t ec_ledger_height(const ec_ledger_t *l)
{
    assert(l);
    return atomic_load(&((ec_ledger_t *)l)->height);
}

int ec_ledger_property(ec_ledger_t *l, const char *name, bool per_cf, uint64_t *value)
{
    assert(l && name && value);
    *value = 0;
    if (!per_cf)
        return rocksdb_property_int(l->db, name, value) == 0 ? 0 : EC_ENOTFOUND;
    for (int cf = 0; cf < EC_CF_COUNT; cf++) {
        uint64_t v = 0;
        if (rocksdb_property_int_cf(l->db, l->cf[cf], name, &v) != 0)
            return EC_ENOTFOUND;
        *value += v;
    }
    return 0;
}

/*
 * Reads and parses the HEADERS record of `height` with decoder d; the header and commit
 * pointers point into *raw (caller frees *raw, and finis d). Returns 0, EC_ENOTFOUND or
 * EC_EIO (including a record that does not parse: the database is corrupt).
 */
static int s_header_record(ec_ledger_t *l, uint64_t height, ec_decoder_t *d, uint8_t **raw,
                           const uint8_t **header, size_t *header_size, const uint8_t **commit,
                           size_t *commit_size)
{
    uint8_t key[8];
    size_t raw_size = 0;
    ec_be64_put(key, height);
    int rc = ec_ledger_get(l, EC_CF_HEADERS, key, sizeof key, raw, &raw_size);
    if (rc != 0)
        return rc;
    const msgpack_object *root = NULL;
    ec_cur_t c;
    if (ec_decode(d, *raw, raw_size, &root) != 0) {
        ec_error("ledger: corrupt header record at height %llu", (unsigned long long)height);
        return EC_EIO;
    }
    ec_cur_open_max(&c, root, 3);
    if (c.count < 2)
        ec_cur_fail(&c, EC_EINVAL);
    ec_cur_bin(&c, header, header_size, S_RECORD_PART_MAX);
    ec_cur_bin(&c, commit, commit_size, S_RECORD_PART_MAX);
    if (c.count == 3)
        (void)ec_cur_object(&c); /* the block's anchor entries: the engine's business */
    if (ec_cur_finish(&c) != 0) {
        ec_error("ledger: corrupt header record at height %llu", (unsigned long long)height);
        return EC_EIO;
    }
    return 0;
}

/* malloc'd copy of size bytes (at least one byte is allocated). NULL when out of memory. */
static uint8_t *s_dup(const uint8_t *data, size_t size)
{
    uint8_t *p = malloc(size ? size : 1);
    if (p && size)
        memcpy(p, data, size);
    return p;
}

int ec_ledger_header_raw(ec_ledger_t *l, uint64_t height, uint8_t **header, size_t *header_size,
                         uint8_t **commit, size_t *commit_size)
{
    assert(l && header && header_size && commit && commit_size);
    *header = *commit = NULL;
    *header_size = *commit_size = 0;
    ec_decoder_t d;
    ec_decoder_init(&d);
    uint8_t *raw = NULL;
    const uint8_t *h = NULL, *c = NULL;
    size_t hs = 0, cs = 0;
    int rc = s_header_record(l, height, &d, &raw, &h, &hs, &c, &cs);
    if (rc == 0) {
        *header = s_dup(h, hs);
        *commit = s_dup(c, cs);
        if (!*header || !*commit) {
            free(*header);
            free(*commit);
            *header = *commit = NULL;
            rc = EC_ENOMEM;
        } else {
            *header_size = hs;
            *commit_size = cs;
        }
    }
    ec_decoder_fini(&d);
    free(raw);
    return rc;
}

int ec_ledger_header(ec_ledger_t *l, uint64_t height, ec_header_t *h, ec_commit_t *c)
{
    assert(l && h);
    ec_decoder_t d;
    ec_decoder_init(&d);
    uint8_t *raw = NULL;
    const uint8_t *hp = NULL, *cp = NULL;
    size_t hs = 0, cs = 0;
    int rc = s_header_record(l, height, &d, &raw, &hp, &hs, &cp, &cs);
    if (rc == 0 && (ec_header_decode(h, hp, hs) != 0 || (c && ec_commit_decode(c, cp, cs) != 0))) {
        ec_error("ledger: undecodable header or commit at height %llu", (unsigned long long)height);
        rc = EC_EIO;
    }
    ec_decoder_fini(&d);
    free(raw);
    return rc;
}

int ec_ledger_tx_location(ec_ledger_t *l, const uint8_t id[EC_HASH_BYTES], uint64_t *height,
                          uint32_t *index)
{
    assert(l && id && height && index);
    *height = 0;
    *index = 0;
    uint8_t *raw = NULL;
    size_t size = 0;
    int rc = ec_ledger_get(l, EC_CF_TXINDEX, id, EC_HASH_BYTES, &raw, &size);
    if (rc != 0)
        return rc;
    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *root = NULL;
    uint64_t h = 0, i = 0;
    rc = ec_decode(&d, raw, size, &root);
    if (rc == 0) {
        ec_cur_t c;
        ec_cur_open(&c, root, 2);
        ec_cur_uint(&c, &h);
        ec_cur_uint_max(&c, &i, UINT32_MAX);
        rc = ec_cur_finish(&c);
    }
    ec_decoder_fini(&d);
    free(raw);
    if (rc != 0) {
        ec_error("ledger: corrupt transaction index record");
        return EC_EIO;
    }
    *height = h;
    *index = (uint32_t)i;
    return 0;
}

/* ---- the pending batch ------------------------------------------------------------------ */

/* Folds one state write into the running digest: be32 key length, key, be32 value length
 * (0xffffffff for a delete), value. */
static void s_digest_write(ec_ledger_t *l, const void *key, size_t key_size, const void *val,
                           size_t val_size, bool del)
{
    uint8_t len[4];
    assert(key_size < UINT32_MAX && val_size < UINT32_MAX);
    s_be32_put(len, (uint32_t)key_size);
    ec_sha256_update(&l->digest, len, 4);
    ec_sha256_update(&l->digest, key, key_size);
    s_be32_put(len, del ? UINT32_MAX : (uint32_t)val_size);
    ec_sha256_update(&l->digest, len, 4);
    if (!del)
        ec_sha256_update(&l->digest, val, val_size);
}

/* Records a write in the overlay. A write it cannot hold (memory) makes the pending block
 * faulty (see the invariants). */
static void s_write(ec_ledger_t *l, ec_cf_t cf, const void *key, size_t key_size, const void *val,
                    size_t val_size, bool del)
{
    if (l->fault)
        return;
    if (ec_overlay_write(l->overlay, (uint8_t)cf, key, key_size, val, val_size, del) != 0) {
        ec_error("ledger: out of memory recording a write of the pending block");
        l->fault = EC_ENOMEM;
    }
}

void ec_ledger_put(ec_ledger_t *l, ec_cf_t cf, const void *key, size_t key_size, const void *val,
                   size_t val_size)
{
    assert(l && cf < EC_CF_COUNT && (key || key_size == 0) && (val || val_size == 0));
    s_write(l, cf, key, key_size, val, val_size, false);
    if (cf == EC_CF_STATE)
        s_digest_write(l, key, key_size, val, val_size, false);
}

void ec_ledger_del(ec_ledger_t *l, ec_cf_t cf, const void *key, size_t key_size)
{
    assert(l && cf < EC_CF_COUNT && (key || key_size == 0));
    s_write(l, cf, key, key_size, NULL, 0, true);
    if (cf == EC_CF_STATE)
        s_digest_write(l, key, key_size, NULL, 0, true);
}

int ec_ledger_get_pending(ec_ledger_t *l, ec_cf_t cf, const void *key, size_t key_size,
                          uint8_t **val, size_t *val_size)
{
    assert(l && cf < EC_CF_COUNT && (key || key_size == 0) && val && val_size);
    *val = NULL;
    *val_size = 0;
    if (l->fault)
        return l->fault;
    const uint8_t *v;
    size_t size;
    bool del;
    if (ec_overlay_find(l->overlay, (uint8_t)cf, key, key_size, &v, &size, &del)) {
        if (del)
            return EC_ENOTFOUND;
        uint8_t *copy = malloc(size ? size : 1);
        if (!copy)
            return EC_ENOMEM;
        if (size)
            memcpy(copy, v, size);
        *val = copy;
        *val_size = size;
        return 0;
    }
    return ec_ledger_get(l, cf, key, key_size, val, val_size);
}

/* The pending writes under a prefix, in key order, copied out of the overlay's arena
 * (borrowed pointers into it; nothing writes while a scan runs). */
typedef struct {
    const uint8_t *key, *val;
    size_t key_size, val_size;
    bool del;
} s_pend_t;

typedef struct {
    s_pend_t *v;
    size_t n, cap, at;
    const uint8_t *after;
    size_t after_size;
    uint32_t left; /* entries still to hand over                                    */
    ec_ledger_scan_fn fn;
    void *ctx;
    int stop; /* fn's nonzero return                                                 */
} s_merge_t;

static int s_key_cmp3(const uint8_t *a, size_t as, const uint8_t *b, size_t bs)
{
    size_t n = as < bs ? as : bs;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : as < bs ? -1 : as > bs;
}

static int s_pend_fn(void *vctx, uint8_t cf, const uint8_t *key, size_t key_size,
                     const uint8_t *val, size_t val_size, bool del)
{
    (void)cf;
    s_merge_t *m = vctx;
    if (m->after_size && s_key_cmp3(key, key_size, m->after, m->after_size) <= 0)
        return 0;
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 16;
        s_pend_t *v = realloc(m->v, cap * sizeof *v);
        if (!v)
            return EC_ENOMEM;
        m->v = v;
        m->cap = cap;
    }
    m->v[m->n++] = (s_pend_t){key, val, key_size, val_size, del};
    return 0;
}

/* Hands one entry over; nonzero ends the scan (limit reached or fn's word). */
static int s_merge_emit(s_merge_t *m, const uint8_t *key, size_t ks, const uint8_t *val, size_t vs)
{
    int rc = m->fn(m->ctx, key, ks, val, vs);
    if (rc != 0) {
        m->stop = rc;
        return 1;
    }
    return --m->left == 0;
}

/* Pending writes before `key` (all when key is NULL) go first; then the committed entry,
 * unless the pending batch overwrote or deleted it. */
static int s_merge_fn(void *vctx, const uint8_t *key, size_t ks, const uint8_t *val, size_t vs)
{
    s_merge_t *m = vctx;
    if (key && m->after_size && s_key_cmp3(key, ks, m->after, m->after_size) <= 0)
        return 0;
    while (m->at < m->n) {
        const s_pend_t *p = &m->v[m->at];
        int c = key ? s_key_cmp3(p->key, p->key_size, key, ks) : -1;
        if (c > 0)
            break;
        m->at++;
        if (!p->del && s_merge_emit(m, p->key, p->key_size, p->val, p->val_size))
            return 1;
        if (c == 0)
            return 0; /* the committed value is superseded */
    }
    return key ? s_merge_emit(m, key, ks, val, vs) : 0;
}

int ec_ledger_scan_pending(ec_ledger_t *l, ec_cf_t cf, const void *prefix, size_t prefix_size,
                           const void *after, size_t after_size, uint32_t limit,
                           ec_ledger_scan_fn fn, void *ctx)
{
    assert(l && cf < EC_CF_COUNT && fn && limit > 0 && (prefix || prefix_size == 0));
    assert(after || after_size == 0);
    if (l->fault)
        return l->fault;
    s_merge_t m = {.after = after, .after_size = after_size, .left = limit, .fn = fn, .ctx = ctx};
    int rc = ec_overlay_each_prefix(l->overlay, (uint8_t)cf, prefix, prefix_size, s_pend_fn, &m);
    if (rc != 0) {
        free(m.v);
        return rc;
    }
    /* The database from `after` on (inclusive: s_merge_fn skips it). */
    rc = ec_ledger_scan(l, cf, prefix, prefix_size, after, after_size, 0, s_merge_fn, &m);
    if (rc == 0)
        (void)s_merge_fn(&m, NULL, 0, NULL, 0);
    free(m.v);
    if (rc == 1)
        rc = 0;
    return rc < 0 ? rc : m.stop;
}

uint32_t ec_ledger_pending_count(const ec_ledger_t *l)
{
    assert(l);
    return ec_overlay_count(l->overlay);
}

void ec_ledger_savepoint(ec_ledger_t *l)
{
    assert(l);
    /* More open save points than transactions in a block means the caller never pairs
     * them with a write, discard or rollback: a bug. */
    assert(l->sp_depth < S_SAVEPOINTS_MAX);
    s_savepoint_t *sp = &l->sp[l->sp_depth++];
    sp->digest = l->digest;
    sp->mark = ec_overlay_mark(l->overlay);
}

void ec_ledger_rollback(ec_ledger_t *l)
{
    assert(l);
    assert(l->sp_depth > 0); /* rollback without a save point is a caller bug */
    const s_savepoint_t *sp = &l->sp[--l->sp_depth];
    ec_overlay_rollback(l->overlay, &sp->mark);
    l->digest = sp->digest;
}

void ec_ledger_state_digest(const ec_ledger_t *l, uint8_t out[EC_HASH_BYTES])
{
    assert(l && out);
    ec_sha256_t copy = l->digest;
    ec_sha256_final(&copy, out);
}

/* Starts an empty pending block. */
static void s_batch_reset(ec_ledger_t *l)
{
    rocksdb_writebatch_clear(l->batch);
    ec_overlay_clear(l->overlay);
    ec_sha256_init(&l->digest);
    l->sp_depth = 0;
    l->fault = 0;
}

int ec_ledger_put_synced(ec_ledger_t *l, ec_cf_t cf, const void *key, size_t key_size,
                         const void *val, size_t val_size, ec_status_t *st)
{
    assert(l && !l->read_only && cf < EC_CF_COUNT && key);
    char *err = NULL;
    if (val)
        rocksdb_put_cf(l->db, l->wopts, l->cf[cf], key, key_size, val, val_size, &err);
    else
        rocksdb_delete_cf(l->db, l->wopts, l->cf[cf], key, key_size, &err);
    if (err) {
        l->flush_on_close = false; /* RocksDB is in an error state: leave it be */
        return s_fail(st, val ? "synced put" : "synced delete", err);
    }
    return 0;
}

/* Adds one key's newest write to the batch being written (ec_overlay_each_sorted). */
static int s_batch_add(void *ctx, uint8_t cf, const uint8_t *key, size_t key_size,
                       const uint8_t *val, size_t val_size, bool del)
{
    ec_ledger_t *l = ctx;
    if (del)
        rocksdb_writebatch_delete_cf(l->batch, l->cf[cf], (const char *)key, key_size);
    else
        rocksdb_writebatch_put_cf(l->batch, l->cf[cf], (const char *)key, key_size,
                                  (const char *)val, val_size);
    return 0;
}

int ec_ledger_write(ec_ledger_t *l, uint64_t height)
{
    assert(l && !l->read_only);
    uint8_t tip[8];
    ec_be64_put(tip, height);
    if (l->fault)
        return l->fault;
    rocksdb_writebatch_clear(l->batch); /* what a failed write left */
    int rc = ec_overlay_each_sorted(l->overlay, s_batch_add, l);
    if (rc != 0)
        return rc;
    rocksdb_writebatch_put_cf(l->batch, l->cf[EC_CF_META], s_tip_key, sizeof s_tip_key - 1,
                              (const char *)tip, sizeof tip);
    char *err = NULL;
    rocksdb_write(l->db, l->wopts, l->batch, &err);
    if (err) {
        l->flush_on_close = false; /* RocksDB is in an error state: leave it be */
        return s_fail(NULL, "synced write of the pending block", err);
    }
    atomic_store(&l->height, height);
    s_batch_reset(l);
    return 0;
}

void ec_ledger_discard(ec_ledger_t *l)
{
    assert(l);
    s_batch_reset(l);
}
