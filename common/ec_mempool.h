/*
 * ec_mempool.h - the verified transactions waiting for a block, in arrival order, and the
 * set of ids the commit thread knows are in flight (waiting, or in the block being built).
 *
 * Invariants: an id is in the set from ec_mempool_add until ec_mempool_forget, so a
 * second submission of a transaction that is still waiting or being committed is refused
 * as a replay (the ledger's transaction index catches the ones already committed). The
 * queue holds at most `max` items; the set at most max + inflight_max ids. Both are
 * allocated once by ec_mempool_new: nothing on the hot path allocates.
 *
 * The set is open addressing with linear probing and backward-shift deletion, keyed by a
 * SipHash of the id under a random key, so nobody can grind ids that collide in it.
 * Single-threaded: the commit thread owns it.
 */
#ifndef EC_MEMPOOL_H
#define EC_MEMPOOL_H

#include <stdbool.h>
#include <stdint.h>

#include "ec_crypto.h"
#include "ec_err.h"

typedef struct ec_mempool ec_mempool_t;

/*
 * Makes a pool for at most `max` waiting items and `inflight_max` ids popped but not yet
 * forgotten. Returns NULL when memory is exhausted.
 */
ec_mempool_t *ec_mempool_new(uint32_t max, uint32_t inflight_max);
/* Frees the pool (not the items); NULLs *self_p. Idempotent. */
void ec_mempool_destroy(ec_mempool_t **self_p);

/*
 * Queues `item` (borrowed) under `id`, arrived at now_ms. Returns 0, EC_EREPLAY when the id
 * is already in flight, or EC_EBUSY when the queue is full.
 */
EC_WUR int ec_mempool_add(ec_mempool_t *mp, const uint8_t id[EC_HASH_BYTES], void *item,
                          uint64_t now_ms);
/* True when id is waiting or in flight. */
bool ec_mempool_has(const ec_mempool_t *mp, const uint8_t id[EC_HASH_BYTES]);
/* Number of items waiting. */
uint32_t ec_mempool_count(const ec_mempool_t *mp);
/* Arrival time of the oldest waiting item; 0 when none waits. */
uint64_t ec_mempool_oldest_ms(const ec_mempool_t *mp);
/* The oldest waiting item without removing it, or NULL. */
void *ec_mempool_peek(const ec_mempool_t *mp);
/* Removes and returns the oldest waiting item (NULL when empty). Its id stays in flight
 * until ec_mempool_forget. */
void *ec_mempool_pop(ec_mempool_t *mp);
/* Removes id from the in-flight set (the transaction was committed or refused). */
void ec_mempool_forget(ec_mempool_t *mp, const uint8_t id[EC_HASH_BYTES]);

#endif
