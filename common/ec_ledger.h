/*
 * ec_ledger.h - a node's RocksDB database: blocks, headers with commits, the transaction
 * index, payloads, application state, Merkle log nodes and the consensus WAL, one column
 * family each (docs/ARCHITECTURE.md section 4; key layouts in docs/PROTOCOL.md, "Storage").
 *
 * Writing: exactly one thread (the node's core thread) builds the pending block in an
 * overlay (ec_overlay.h), reading its own writes through it, with save points so a refused
 * transaction leaves no trace. ec_ledger_write() stores the whole block as one RocksDB
 * batch with sync=true: a block, its commit, its index entries and all its state changes
 * land together or not at all, so kill -9 at any moment loses nothing acknowledged.
 *
 * Reading committed data (ec_ledger_get and the typed getters) is safe from any thread.
 *
 * The ledger also keeps a running SHA-256 over every state write of the pending block, in
 * order (key length, key, value length, value; deletes with length 0xffffffff); save
 * points restore it. Lengths are 4-byte big-endian; a delete contributes key length, key
 * and 0xffffffff, with no value bytes. The application folds it into its state root, so
 * two nodes that applied the same writes report the same root.
 */
#ifndef EC_LEDGER_H
#define EC_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ec_err.h"
#include "ec_types.h"

typedef enum {
    EC_CF_META = 0,  /* "default": tip height, genesis, mlog sizes (small keys)          */
    EC_CF_BLOCKS,    /* height(be64) -> encoded block                                     */
    EC_CF_HEADERS,   /* height(be64) -> [header: bin, commit: bin]                        */
    EC_CF_TXINDEX,   /* tx id(32) -> [height, index]                                      */
    EC_CF_PAYLOADS,  /* tx id(32) -> payload bytes                                        */
    EC_CF_STATE,     /* application keys (each app documents its own layout)              */
    EC_CF_MERKLE,    /* log id(1) | level(1) | index(be64) -> node hash(32)               */
    EC_CF_CONSENSUS, /* the engine's proposals of the height in progress (ec_engine.c)  */
    EC_CF_COUNT
} ec_cf_t;

typedef struct ec_ledger ec_ledger_t;

/* An environment whose files live in memory (rocksdb's MemEnv), for the simulator: a
 * ledger opened, closed and opened again in it keeps its data, like one on disk. */
typedef struct ec_ledger_env ec_ledger_env_t;
ec_ledger_env_t *ec_ledger_mem_env_new(void);
/* Frees the environment and every file in it; no ledger may be open in it. */
void ec_ledger_mem_env_destroy(ec_ledger_env_t **self_p);

typedef struct {
    bool read_only;       /* open for reading only (the store check); never writes      */
    ec_ledger_env_t *env; /* NULL for the disk, else an ec_ledger_mem_env_new() one      */
} ec_ledger_options_t;

/*
 * Opens (creating if missing) the database in directory `path`. A missing folder is
 * created with mode 0700; an existing one must not be accessible to group or others
 * (it holds every payload): EC_ECONFIG naming the mode and the chmod that fixes it.
 *
 * Recovery: RocksDB replays its write-ahead log up to the first damaged record and no
 * further (point-in-time recovery), with paranoid checks on, so the store it opens is
 * always a consistent prefix of what was written. Whether that prefix still holds every
 * committed block is for the caller to check against its guard record (ec_guard.h):
 * RocksDB cannot know what it lost.
 *
 * Returns NULL and fills st on failure (EC_EIO with RocksDB's message, e.g. a lock held by
 * another process or a damaged table file, EC_ECONFIG for the folder's mode).
 */
ec_ledger_t *ec_ledger_open(const char *path, ec_status_t *st);
/* The same with options (NULL: the defaults of ec_ledger_open). */
ec_ledger_t *ec_ledger_open_with(const char *path, const ec_ledger_options_t *opts,
                                 ec_status_t *st);
/* Discards any pending batch, closes the database, sets *self_p to NULL. Idempotent. */
void ec_ledger_destroy(ec_ledger_t **self_p);

/* ---- direct writes (the owner thread) ----------------------------------------------------- */

/*
 * Writes (or, with val NULL, deletes) one key at once, synced, apart from the pending
 * batch (which it leaves as it is): for records that must be durable before a block is,
 * such as the consensus column family's proposals (ec_engine.c). Returns 0 or EC_EIO
 * with st set (the node must stop).
 */
EC_WUR int ec_ledger_put_synced(ec_ledger_t *l, ec_cf_t cf, const void *key, size_t key_size,
                                const void *val, size_t val_size, ec_status_t *st);

/* ---- committed reads (any thread) ------------------------------------------------------- */

/*
 * Reads a committed value. Returns 0 and a malloc'd *val (caller frees), EC_ENOTFOUND,
 * or EC_EIO.
 */
EC_WUR int ec_ledger_get(ec_ledger_t *l, ec_cf_t cf, const void *key, size_t key_size,
                         uint8_t **val, size_t *val_size);
/*
 * Calls fn for every committed key in cf that starts with prefix, in key order, until fn
 * returns non-zero (which is then returned) or `limit` entries were visited (0 = no
 * limit). Returns 0, fn's value, or EC_EIO. Starting at start_key (>= prefix) when given.
 */
typedef int (*ec_ledger_scan_fn)(void *ctx, const uint8_t *key, size_t key_size, const uint8_t *val,
                                 size_t val_size);
EC_WUR int ec_ledger_scan(ec_ledger_t *l, ec_cf_t cf, const void *prefix, size_t prefix_size,
                          const void *start_key, size_t start_size, uint32_t limit,
                          ec_ledger_scan_fn fn, void *ctx);
/*
 * Reads every key and value of every column family with RocksDB's block checksums
 * verified and without filling the cache, counting keys and bytes. O(size of the store).
 * Returns 0, or EC_EIO with st naming the column family and RocksDB's message (a damaged
 * table or block) on the first fault.
 */
EC_WUR int ec_ledger_verify_checksums(ec_ledger_t *l, uint64_t *keys, uint64_t *bytes,
                                      ec_status_t *st);
/* Name of a column family ("blocks", ...), for messages. */
const char *ec_ledger_cf_name(ec_cf_t cf);

/* Highest committed block height, 0 before the first block. */
uint64_t ec_ledger_height(const ec_ledger_t *l);
/*
 * An integer RocksDB property ("rocksdb.estimate-live-data-size", ...; RocksDB's
 * include/rocksdb/db.h lists them) into *value: summed over every column family when
 * per_cf is true (size and key estimates), else the database-wide value (running
 * compactions, the shared block cache). For metrics; any thread (RocksDB's property calls
 * are thread-safe). Returns 0, or EC_ENOTFOUND when RocksDB does not know the property.
 */
EC_WUR int ec_ledger_property(ec_ledger_t *l, const char *name, bool per_cf, uint64_t *value);
/* Encoded header and commit of a committed height (malloc'd). EC_ENOTFOUND past the tip. */
EC_WUR int ec_ledger_header_raw(ec_ledger_t *l, uint64_t height, uint8_t **header,
                                size_t *header_size, uint8_t **commit, size_t *commit_size);
/* Decoded header (and commit, when not NULL) of a committed height. */
EC_WUR int ec_ledger_header(ec_ledger_t *l, uint64_t height, ec_header_t *h, ec_commit_t *c);
/* Where a committed transaction is. EC_ENOTFOUND if never committed. */
EC_WUR int ec_ledger_tx_location(ec_ledger_t *l, const uint8_t id[EC_HASH_BYTES], uint64_t *height,
                                 uint32_t *index);

/* ---- the pending batch (commit thread only) --------------------------------------------- */

void ec_ledger_put(ec_ledger_t *l, ec_cf_t cf, const void *key, size_t key_size, const void *val,
                   size_t val_size);
void ec_ledger_del(ec_ledger_t *l, ec_cf_t cf, const void *key, size_t key_size);
/* Reads through the pending batch (a hash lookup), then the database. Same returns as
 * ec_ledger_get, and EC_ENOMEM once a pending write could not be recorded. */
EC_WUR int ec_ledger_get_pending(ec_ledger_t *l, ec_cf_t cf, const void *key, size_t key_size,
                                 uint8_t **val, size_t *val_size);
/*
 * ec_ledger_scan through the pending batch: the keys of cf that start with prefix and sort
 * after `after` (after_size 0: from the first), newest values, deleted keys left out, in
 * key order, at most `limit` (> 0) of them. Returns 0, fn's nonzero value, EC_EIO, or
 * EC_ENOMEM. Costs a look at every pending write (ec_ledger_pending_count) besides the
 * database's scan: for reads a block's own rules make rarely, not for every transaction.
 */
EC_WUR int ec_ledger_scan_pending(ec_ledger_t *l, ec_cf_t cf, const void *prefix,
                                  size_t prefix_size, const void *after, size_t after_size,
                                  uint32_t limit, ec_ledger_scan_fn fn, void *ctx);
/* Distinct keys the pending batch has written so far. */
uint32_t ec_ledger_pending_count(const ec_ledger_t *l);
/* Marks a point to roll back to (one per transaction); save points nest. */
void ec_ledger_savepoint(ec_ledger_t *l);
/* Undoes every write since the last save point (and pops it), and the state digest with
 * it. O(writes undone). */
void ec_ledger_rollback(ec_ledger_t *l);
/* SHA-256 of the pending block's state writes so far (see the file comment). */
void ec_ledger_state_digest(const ec_ledger_t *l, uint8_t out[EC_HASH_BYTES]);
/*
 * Durably writes the pending batch (sync) and starts an empty one. `height` becomes the
 * committed tip. Returns 0, EC_EIO (the batch is then kept; the node should stop) or
 * EC_ENOMEM (a write of the batch could not be recorded: nothing is written).
 */
EC_WUR int ec_ledger_write(ec_ledger_t *l, uint64_t height);
/* Drops the pending batch. */
void ec_ledger_discard(ec_ledger_t *l);

/* Convenience for apps: the state column family through the pending batch. */
#define ec_state_get(l, k, ks, v, vs) ec_ledger_get_pending((l), EC_CF_STATE, (k), (ks), (v), (vs))
#define ec_state_put(l, k, ks, v, vs) ec_ledger_put((l), EC_CF_STATE, (k), (ks), (v), (vs))
#define ec_state_del(l, k, ks) ec_ledger_del((l), EC_CF_STATE, (k), (ks))

/* Big-endian helpers for keys, so RocksDB's byte order is numeric order. */
void ec_be64_put(uint8_t out[8], uint64_t v);
uint64_t ec_be64_get(const uint8_t in[8]);

#endif
