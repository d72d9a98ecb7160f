/*
 * ec_mempool.h - the verified transactions waiting for a block, in arrival order, indexed
 * by id.
 *
 * An entry stays until its transaction is committed (in anyone's block) or refused, and is
 * removed by id then: a proposal that fails in one round leaves the mempool as it was, so
 * the next proposer takes the same transactions again. A second transaction with an id
 * already waiting is a replay (the ledger's index catches those already committed).
 *
 * Bounds: at most `max` entries and `bytes_max` bytes (envelopes and payloads, as the
 * caller counts them); everything is allocated by ec_mempool_new, nothing on the hot
 * path. The index is open addressing with linear probing and backward-shift deletion,
 * keyed by SipHash of the id under a random key, so nobody can grind ids that collide.
 * The order is a ring of slots; removed entries leave holes that are skipped and, when
 * the ring fills with them, compacted away (amortised O(1) per entry).
 *
 * Single-threaded: the engine owns it.
 */
#ifndef EC_MEMPOOL_H
#define EC_MEMPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ec_crypto.h"
#include "ec_err.h"

typedef struct ec_mempool ec_mempool_t;

/* Makes a pool of at most max entries and bytes_max bytes. NULL when memory is exhausted. */
ec_mempool_t *ec_mempool_new(uint32_t max, size_t bytes_max);
/* Frees the pool (not the items); NULLs *self_p. Idempotent. */
void ec_mempool_destroy(ec_mempool_t **self_p);

/* Adds `item` (borrowed) under id, counting `bytes`, arrived at now_ms. Returns 0,
 * EC_EREPLAY when the id is waiting already, or EC_EBUSY when the pool is full. */
EC_WUR int ec_mempool_add(ec_mempool_t *mp, const uint8_t id[EC_HASH_BYTES], void *item,
                          size_t bytes, uint64_t now_ms);
/* The item waiting under id, or NULL. */
void *ec_mempool_get(const ec_mempool_t *mp, const uint8_t id[EC_HASH_BYTES]);
/* Removes and returns the item under id, or NULL when none waits. */
void *ec_mempool_remove(ec_mempool_t *mp, const uint8_t id[EC_HASH_BYTES]);

/* Forgets every entry (the items are the caller's). O(buckets). */
void ec_mempool_clear(ec_mempool_t *mp);

uint32_t ec_mempool_count(const ec_mempool_t *mp);
size_t ec_mempool_bytes(const ec_mempool_t *mp);
/* Arrival time of the oldest entry; 0 when empty. */
uint64_t ec_mempool_oldest_ms(const ec_mempool_t *mp);

/* Iteration in arrival order: start with *cursor = 0; each call returns the next item, or
 * NULL at the end. Adding or removing entries invalidates the cursor. */
void *ec_mempool_next(const ec_mempool_t *mp, uint32_t *cursor);

#endif
