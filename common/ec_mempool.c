/*
 * ec_mempool.c - waiting transactions in arrival order, indexed by id (ec_mempool.h).
 *
 * Invariants: ring slots [head, head + used) (mod max) hold entries in arrival order, some
 * of them removed (item == NULL); `count` live entries among them; the index maps each
 * live id to its slot + 1; bucket count is a power of two >= 2 * max, so probes stay short.
 * The slot at head is live whenever count > 0 (removals advance head past holes).
 */
#include "ec_mempool.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    void *item; /* NULL: removed                                               */
    uint8_t id[EC_HASH_BYTES];
    size_t bytes;
    uint64_t arrived_ms;
} s_slot_t;

struct ec_mempool {
    uint32_t max; /* ring capacity and entry bound                             */
    size_t bytes_max;
    uint32_t head;   /* oldest slot                                               */
    uint32_t used;   /* slots from head, holes included                           */
    uint32_t count;  /* live entries                                              */
    size_t bytes;    /* their bytes                                               */
    s_slot_t *ring;  /* [max]                                                     */
    uint32_t *index; /* [buckets]: slot + 1, or 0                                 */
    uint32_t buckets;
    uint8_t key[crypto_shorthash_KEYBYTES];
};

ec_mempool_t *ec_mempool_new(uint32_t max, size_t bytes_max)
{
    assert(max > 0 && max <= (1u << 28));
    ec_mempool_t *mp = calloc(1, sizeof *mp);
    if (!mp)
        return NULL;
    mp->max = max;
    mp->bytes_max = bytes_max;
    mp->buckets = 16;
    while (mp->buckets < 2 * max)
        mp->buckets <<= 1;
    mp->ring = calloc(max, sizeof *mp->ring);
    mp->index = calloc(mp->buckets, sizeof *mp->index);
    if (!mp->ring || !mp->index) {
        ec_mempool_destroy(&mp);
        return NULL;
    }
    randombytes_buf(mp->key, sizeof mp->key);
    return mp;
}

void ec_mempool_destroy(ec_mempool_t **self_p)
{
    assert(self_p);
    ec_mempool_t *mp = *self_p;
    if (!mp)
        return;
    free(mp->ring);
    free(mp->index);
    free(mp);
    *self_p = NULL;
}

static uint32_t s_home(const ec_mempool_t *mp, const uint8_t id[EC_HASH_BYTES])
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, id, EC_HASH_BYTES, mp->key);
    uint32_t v = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
    return v & (mp->buckets - 1);
}

/* The bucket holding id, or the empty bucket where it would go. */
static uint32_t s_find(const ec_mempool_t *mp, const uint8_t id[EC_HASH_BYTES])
{
    uint32_t b = s_home(mp, id);
    for (;;) {
        uint32_t v = mp->index[b];
        if (v == 0 || memcmp(mp->ring[v - 1].id, id, EC_HASH_BYTES) == 0)
            return b;
        b = (b + 1) & (mp->buckets - 1);
    }
}

/* Empties bucket b, shifting later members of its probe chain back into the hole. */
static void s_unindex(ec_mempool_t *mp, uint32_t b)
{
    uint32_t mask = mp->buckets - 1, hole = b, i = b;
    for (;;) {
        i = (i + 1) & mask;
        uint32_t v = mp->index[i];
        if (v == 0)
            break;
        uint32_t home = s_home(mp, mp->ring[v - 1].id);
        bool stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (!stays) {
            mp->index[hole] = v;
            hole = i;
        }
    }
    mp->index[hole] = 0;
}

/* Moves the live entries to the front of the ring, in order, and re-indexes them. Needs
 * head == 0 (s_rotate): entry k moves to out <= k, so nothing unread is overwritten.
 * O(max). */
static void s_compact(ec_mempool_t *mp)
{
    assert(mp->head == 0);
    uint32_t out = 0;
    for (uint32_t k = 0; k < mp->used; k++)
        if (mp->ring[k].item)
            mp->ring[out++] = mp->ring[k];
    mp->used = out;
    memset(mp->index, 0, mp->buckets * sizeof *mp->index);
    for (uint32_t k = 0; k < out; k++)
        mp->index[s_find(mp, mp->ring[k].id)] = k + 1;
    for (uint32_t k = out; k < mp->max; k++)
        mp->ring[k].item = NULL;
}

/* Rotates the ring so that head is slot 0 (used == max, so every slot is in use). */
static void s_rotate(ec_mempool_t *mp)
{
    if (mp->head == 0)
        return;
    /* Reverse-based rotation, in place: O(max), no allocation. */
    uint32_t n = mp->max, k = mp->head;
    for (uint32_t a = 0, b = k - 1; a < b; a++, b--) {
        s_slot_t t = mp->ring[a];
        mp->ring[a] = mp->ring[b];
        mp->ring[b] = t;
    }
    for (uint32_t a = k, b = n - 1; a < b; a++, b--) {
        s_slot_t t = mp->ring[a];
        mp->ring[a] = mp->ring[b];
        mp->ring[b] = t;
    }
    for (uint32_t a = 0, b = n - 1; a < b; a++, b--) {
        s_slot_t t = mp->ring[a];
        mp->ring[a] = mp->ring[b];
        mp->ring[b] = t;
    }
    mp->head = 0;
}

int ec_mempool_add(ec_mempool_t *mp, const uint8_t id[EC_HASH_BYTES], void *item, size_t bytes,
                   uint64_t now_ms)
{
    assert(mp && id && item);
    uint32_t b = s_find(mp, id);
    if (mp->index[b] != 0)
        return EC_EREPLAY;
    if (mp->count >= mp->max || mp->bytes + bytes > mp->bytes_max)
        return EC_EBUSY;
    if (mp->used == mp->max) { /* full of holes: squeeze them out */
        s_rotate(mp);
        s_compact(mp);
        b = s_find(mp, id);
    }
    uint32_t slot = (mp->head + mp->used) % mp->max;
    s_slot_t *s = &mp->ring[slot];
    s->item = item;
    memcpy(s->id, id, EC_HASH_BYTES);
    s->bytes = bytes;
    s->arrived_ms = now_ms;
    mp->index[b] = slot + 1;
    mp->used++;
    mp->count++;
    mp->bytes += bytes;
    return 0;
}

void *ec_mempool_get(const ec_mempool_t *mp, const uint8_t id[EC_HASH_BYTES])
{
    uint32_t v = mp->index[s_find(mp, id)];
    return v ? mp->ring[v - 1].item : NULL;
}

void *ec_mempool_remove(ec_mempool_t *mp, const uint8_t id[EC_HASH_BYTES])
{
    uint32_t b = s_find(mp, id);
    uint32_t v = mp->index[b];
    if (v == 0)
        return NULL;
    s_slot_t *s = &mp->ring[v - 1];
    void *item = s->item;
    s_unindex(mp, b);
    s->item = NULL;
    mp->count--;
    mp->bytes -= s->bytes;
    while (mp->used > 0 && !mp->ring[mp->head].item) {
        mp->head = (mp->head + 1) % mp->max;
        mp->used--;
    }
    if (mp->used == 0)
        mp->head = 0;
    return item;
}

void ec_mempool_clear(ec_mempool_t *mp)
{
    assert(mp);
    if (mp->count == 0 && mp->used == 0)
        return;
    memset(mp->index, 0, mp->buckets * sizeof *mp->index);
    mp->head = mp->used = mp->count = 0;
    mp->bytes = 0;
}

uint32_t ec_mempool_count(const ec_mempool_t *mp)
{
    return mp->count;
}

size_t ec_mempool_bytes(const ec_mempool_t *mp)
{
    return mp->bytes;
}

uint64_t ec_mempool_oldest_ms(const ec_mempool_t *mp)
{
    return mp->count ? mp->ring[mp->head].arrived_ms : 0;
}

void *ec_mempool_next(const ec_mempool_t *mp, uint32_t *cursor)
{
    while (*cursor < mp->used) {
        const s_slot_t *s = &mp->ring[(mp->head + *cursor) % mp->max];
        (*cursor)++;
        if (s->item)
            return s->item;
    }
    return NULL;
}
