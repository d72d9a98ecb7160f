/*
 * ec_overlay.h - the pending block's newest write per key, readable in O(1), with save
 * points that roll back in time proportional to what they undo.
 *
 * The ledger (ec_ledger.c) records a block's writes here only, so that reads through the
 * pending block (a transaction's checks see the writes of the transactions before it) cost
 * one hash lookup instead of a search in an ordered index, and builds the plain RocksDB
 * WriteBatch it stores from it at the end. RocksDB's own readable batch
 * (WriteBatchWithIndex) keeps a skip list ordered by key; at the ten thousand or so writes
 * of a large block, inserting into and searching that list cost about a quarter of the
 * time spent executing the block, and rolling it back rebuilt the whole index.
 *
 * Layout: an entry per distinct (column family, key) in an append-only array; an
 * open-addressing table (linear probing, at most half full) maps a key's hash to its entry;
 * keys and values live in one growing arena. Every write appends an undo record (what the
 * entry held before, or that the write created it), so a rollback walks the undo records
 * newer than its mark backwards, restores what they overwrote and removes the entries they
 * created. Removing entries in the reverse order of their creation keeps linear probing
 * correct without tombstones: an entry older than the one removed was placed when that slot
 * was still free, so its probe sequence never crosses the slot.
 *
 * ec_overlay_each_sorted hands the newest write of every key over in key order: the ledger
 * builds the block's WriteBatch from it at the end, one write per key, sorted, because
 * RocksDB inserts sorted keys into its memtable skip list starting from where the previous
 * insert ended, a few steps instead of a full search from the top.
 *
 * Hashing is SipHash (libsodium's crypto_shorthash) under a key drawn when the overlay is
 * made, so keys chosen by a transaction's sender cannot be made to collide. The key only
 * changes where entries sit in the table, never what a lookup returns: block execution
 * stays deterministic.
 *
 * Limits: at most EC_OVERLAY_ENTRIES_MAX distinct keys and EC_OVERLAY_BYTES_MAX bytes of
 * keys and values between two clears; beyond, or when memory runs out, a write fails with
 * EC_ENOMEM and changes nothing.
 *
 * Threads: one owner; no locking.
 */
#ifndef EC_OVERLAY_H
#define EC_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ec_err.h"

#define EC_OVERLAY_ENTRIES_MAX (1u << 24) /* distinct keys written by one block            */
#define EC_OVERLAY_BYTES_MAX (1u << 30)   /* their keys and values, every version          */

typedef struct ec_overlay ec_overlay_t;

/* A point to roll back to (ec_overlay_mark). */
typedef struct {
    uint32_t undo;    /* undo records before the mark             */
    uint32_t entries; /* entries before the mark                  */
    uint32_t bytes;   /* arena bytes before the mark              */
} ec_overlay_mark_t;

/* An empty overlay, or NULL when memory is exhausted. */
ec_overlay_t *ec_overlay_new(void);
/* Frees the overlay and NULLs *self_p; NULL is fine. */
void ec_overlay_destroy(ec_overlay_t **self_p);

/*
 * Records that (cf, key) now holds val (del false) or was deleted (del true; val ignored).
 * Returns 0, or EC_ENOMEM (a limit above, or memory) with the overlay unchanged.
 */
EC_WUR int ec_overlay_write(ec_overlay_t *o, uint8_t cf, const void *key, size_t key_size,
                            const void *val, size_t val_size, bool del);

/*
 * The newest write of (cf, key). Returns false when the overlay has none; else true with
 * *del telling a delete, and *val / *val_size the value (borrowed: valid until the next
 * write, rollback or clear).
 */
bool ec_overlay_find(const ec_overlay_t *o, uint8_t cf, const void *key, size_t key_size,
                     const uint8_t **val, size_t *val_size, bool *del);

/* The current point, for ec_overlay_rollback. */
ec_overlay_mark_t ec_overlay_mark(const ec_overlay_t *o);
/* Undoes every write made since mark m (which must be a mark of this overlay taken since
 * the last clear and not rolled back past). O(writes undone). */
void ec_overlay_rollback(ec_overlay_t *o, const ec_overlay_mark_t *m);
/* Forgets every write; keeps the memory for the next block. O(table size). */
void ec_overlay_clear(ec_overlay_t *o);
/* What ec_overlay_each_sorted calls for every key: its newest write. A nonzero return
 * stops the walk and is returned. */
typedef int (*ec_overlay_fn)(void *ctx, uint8_t cf, const uint8_t *key, size_t key_size,
                             const uint8_t *val, size_t val_size, bool del);
/*
 * Calls fn on the newest write of every key, ordered by column family and then by key
 * bytes (shorter first on a common prefix: RocksDB's bytewise order). Returns 0, EC_ENOMEM
 * (the index to sort could not be allocated; nothing was called) or fn's first nonzero
 * return. O(n log n).
 */
EC_WUR int ec_overlay_each_sorted(const ec_overlay_t *o, ec_overlay_fn fn, void *ctx);
/*
 * The same for the keys of column family cf that start with prefix only. O(n) to find
 * them (every entry is looked at) plus O(m log m) for the m found; EC_ENOMEM as above.
 */
EC_WUR int ec_overlay_each_prefix(const ec_overlay_t *o, uint8_t cf, const void *prefix,
                                  size_t prefix_size, ec_overlay_fn fn, void *ctx);
/* Distinct keys held (the cost of one ec_overlay_each_prefix). */
uint32_t ec_overlay_count(const ec_overlay_t *o);

#endif
