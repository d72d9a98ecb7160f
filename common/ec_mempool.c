/*
 * ec_mempool.c - FIFO of waiting transactions plus an in-flight id set (see ec_mempool.h).
 *
 * The queue is a ring of `max` slots. The set has a power-of-two number of slots, at least
 * twice the ids it may hold, so probes stay short (load factor <= 1/2). A slot is empty
 * when its stored hash is 0; real hashes are forced odd so they are never 0.
 */
#include "ec_mempool.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t hash; /* SipHash of id, forced odd; 0 = empty slot              */
    uint8_t id[EC_HASH_BYTES];
} s_slot_t;

typedef struct {
    void *item;
    uint64_t arrived_ms;
} s_entry_t;

struct ec_mempool {
    uint32_t max;     /* queue capacity                                        */
    uint32_t head;    /* index of the oldest entry                              */
    uint32_t count;   /* entries waiting                                        */
    s_entry_t *ring;  /* max entries                                            */
    uint64_t mask;    /* set slots - 1                                          */
    uint64_t ids;     /* ids in the set                                         */
    uint64_t ids_max; /* max + inflight_max                                     */
    s_slot_t *slots;
    uint8_t key[crypto_shorthash_KEYBYTES];
};

ec_mempool_t *ec_mempool_new(uint32_t max, uint32_t inflight_max)
{
    assert(max > 0);
    ec_mempool_t *mp = calloc(1, sizeof(*mp));
    if (!mp)
        return NULL;
    mp->max = max;
    mp->ids_max = (uint64_t)max + inflight_max;
    uint64_t slots = 16;
    while (slots < 2 * mp->ids_max)
        slots <<= 1;
    mp->mask = slots - 1;
    mp->ring = calloc(max, sizeof(*mp->ring));
    mp->slots = calloc(slots, sizeof(*mp->slots));
    if (!mp->ring || !mp->slots) {
        ec_mempool_destroy(&mp);
        return NULL;
    }
    randombytes_buf(mp->key, sizeof(mp->key));
    return mp;
}

void ec_mempool_destroy(ec_mempool_t **self_p)
{
    assert(self_p);
    ec_mempool_t *mp = *self_p;
    if (!mp)
        return;
    free(mp->ring);
    free(mp->slots);
    free(mp);
    *self_p = NULL;
}

static uint64_t s_hash(const ec_mempool_t *mp, const uint8_t id[EC_HASH_BYTES])
{
    uint8_t out[crypto_shorthash_BYTES];
    crypto_shorthash(out, id, EC_HASH_BYTES, mp->key);
    uint64_t h;
    memcpy(&h, out, sizeof(h));
    return h | 1;
}

/* Slot holding id, or the empty slot where it would go. */
static uint64_t s_find(const ec_mempool_t *mp, const uint8_t id[EC_HASH_BYTES], uint64_t h)
{
    uint64_t i = h & mp->mask;
    while (mp->slots[i].hash != 0) {
        if (mp->slots[i].hash == h && memcmp(mp->slots[i].id, id, EC_HASH_BYTES) == 0)
            return i;
        i = (i + 1) & mp->mask;
    }
    return i;
}

bool ec_mempool_has(const ec_mempool_t *mp, const uint8_t id[EC_HASH_BYTES])
{
    assert(mp && id);
    return mp->slots[s_find(mp, id, s_hash(mp, id))].hash != 0;
}

int ec_mempool_add(ec_mempool_t *mp, const uint8_t id[EC_HASH_BYTES], void *item, uint64_t now_ms)
{
    assert(mp && id);
    uint64_t h = s_hash(mp, id);
    uint64_t i = s_find(mp, id, h);
    if (mp->slots[i].hash != 0)
        return EC_EREPLAY;
    if (mp->count == mp->max || mp->ids == mp->ids_max)
        return EC_EBUSY;
    mp->slots[i].hash = h;
    memcpy(mp->slots[i].id, id, EC_HASH_BYTES);
    mp->ids++;
    s_entry_t *e = &mp->ring[(mp->head + mp->count) % mp->max];
    e->item = item;
    e->arrived_ms = now_ms;
    mp->count++;
    return 0;
}

uint32_t ec_mempool_count(const ec_mempool_t *mp)
{
    assert(mp);
    return mp->count;
}

uint64_t ec_mempool_oldest_ms(const ec_mempool_t *mp)
{
    assert(mp);
    return mp->count ? mp->ring[mp->head].arrived_ms : 0;
}

void *ec_mempool_peek(const ec_mempool_t *mp)
{
    assert(mp);
    return mp->count ? mp->ring[mp->head].item : NULL;
}

void *ec_mempool_pop(ec_mempool_t *mp)
{
    assert(mp);
    if (mp->count == 0)
        return NULL;
    void *item = mp->ring[mp->head].item;
    mp->ring[mp->head].item = NULL;
    mp->head = (mp->head + 1) % mp->max;
    mp->count--;
    return item;
}

void ec_mempool_forget(ec_mempool_t *mp, const uint8_t id[EC_HASH_BYTES])
{
    assert(mp && id);
    uint64_t i = s_find(mp, id, s_hash(mp, id));
    if (mp->slots[i].hash == 0)
        return;
    /* Backward-shift deletion: pull later members of the probe run into the hole when
     * their home slot is at or before it, so lookups never stop early at a gap. */
    uint64_t hole = i;
    uint64_t j = (i + 1) & mp->mask;
    while (mp->slots[j].hash != 0) {
        uint64_t home = mp->slots[j].hash & mp->mask;
        /* distance from home to j, and from hole to j, around the ring */
        if (((j - home) & mp->mask) >= ((j - hole) & mp->mask)) {
            mp->slots[hole] = mp->slots[j];
            hole = j;
        }
        j = (j + 1) & mp->mask;
    }
    memset(&mp->slots[hole], 0, sizeof(mp->slots[hole]));
    assert(mp->ids > 0);
    mp->ids--;
}
