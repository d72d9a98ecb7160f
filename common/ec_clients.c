/*
 * ec_clients.c - the RPC server's client table (contract in ec_clients.h).
 *
 * Layout: `slots` holds the clients; `index` is an open-addressing hash over them (linear
 * probing, backward-shift deletion, twice as many buckets as slots), keyed by SipHash of
 * the routing id under a random key, so a client that picks its own routing ids cannot
 * grind collisions. A bucket holds slot number + 1, 0 when empty.
 */
#include "ec_clients.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* Beyond its bound by this much, a client that does not read gets no answer at all: an
 * EC_EBUSY reply per request would itself fill memory. */
#define S_DROP_MARGIN_BYTES (1u << 20)
/* What a queued reply costs beyond its bytes: the hint, ZeroMQ's message and pipe entry,
 * malloc's headers. Charged too, so that many short replies count for what they hold. */
#define S_MESSAGE_OVERHEAD_BYTES 256u

struct ec_clients {
    ec_clients_limits_t limits;
    ec_client_t *slots;  /* [limits.max]                                       */
    uint32_t *index;     /* [buckets]: slot + 1, or 0                          */
    uint32_t buckets;    /* power of two, >= 2 * limits.max                    */
    uint32_t *free_list; /* free slot numbers                                  */
    uint32_t free_count;
    uint32_t count; /* clients in the table                               */
    uint8_t key[crypto_shorthash_KEYBYTES];
    atomic_size_t total_inflight;
    atomic_size_t total_queued;
};

/* What the free function of a reply message needs. */
typedef struct {
    ec_clients_t *table;
    ec_client_t *client;
    size_t size;
} s_hint_t;

ec_clients_t *ec_clients_new(const ec_clients_limits_t *limits)
{
    assert(limits && limits->max > 0 && limits->max <= (1u << 24));
    ec_clients_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->limits = *limits;
    t->buckets = 1;
    while (t->buckets < 2 * limits->max)
        t->buckets <<= 1;
    t->slots = calloc(limits->max, sizeof *t->slots);
    t->index = calloc(t->buckets, sizeof *t->index);
    t->free_list = calloc(limits->max, sizeof *t->free_list);
    if (!t->slots || !t->index || !t->free_list) {
        ec_clients_destroy(&t);
        return NULL;
    }
    for (uint32_t i = 0; i < limits->max; i++)
        t->free_list[i] = limits->max - 1 - i;
    t->free_count = limits->max;
    randombytes_buf(t->key, sizeof t->key);
    return t;
}

void ec_clients_destroy(ec_clients_t **self_p)
{
    assert(self_p);
    ec_clients_t *t = *self_p;
    if (!t)
        return;
    free(t->slots);
    free(t->index);
    free(t->free_list);
    free(t);
    *self_p = NULL;
}

static uint32_t s_bucket(const ec_clients_t *t, const uint8_t *id, size_t len)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, id, len, t->key);
    uint32_t v = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
    return v & (t->buckets - 1);
}

/* The bucket holding the client with this id, or the empty bucket where it would go. */
static uint32_t s_find(const ec_clients_t *t, const uint8_t *id, size_t len)
{
    uint32_t b = s_bucket(t, id, len);
    for (;;) {
        uint32_t v = t->index[b];
        if (v == 0)
            return b;
        const ec_client_t *c = &t->slots[v - 1];
        if (c->id_len == len && memcmp(c->id, id, len) == 0)
            return b;
        b = (b + 1) & (t->buckets - 1);
    }
}

/* Removes the client in bucket b (backward-shift deletion keeps every probe chain whole). */
static void s_remove(ec_clients_t *t, uint32_t b)
{
    uint32_t slot = t->index[b] - 1;
    t->slots[slot].id_len = 0;
    t->free_list[t->free_count++] = slot;
    t->count--;
    uint32_t mask = t->buckets - 1, hole = b, i = b;
    for (;;) {
        i = (i + 1) & mask;
        uint32_t v = t->index[i];
        if (v == 0)
            break;
        const ec_client_t *c = &t->slots[v - 1];
        uint32_t home = s_bucket(t, c->id, c->id_len);
        /* Move it into the hole unless its home lies cyclically in (hole, i]. */
        bool stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (!stays) {
            t->index[hole] = v;
            hole = i;
        }
    }
    t->index[hole] = 0;
}

static bool s_idle(const ec_client_t *c)
{
    return atomic_load(&c->queued) == 0 && atomic_load(&c->inflight) == 0;
}

/* Frees the least recently seen idle client's slot. False when none is idle. */
static bool s_evict(ec_clients_t *t)
{
    const ec_client_t *oldest = NULL;
    for (uint32_t i = 0; i < t->limits.max; i++) {
        const ec_client_t *c = &t->slots[i];
        if (c->id_len > 0 && s_idle(c) && (!oldest || c->seen_ms < oldest->seen_ms))
            oldest = c;
    }
    if (!oldest)
        return false;
    s_remove(t, s_find(t, oldest->id, oldest->id_len));
    return true;
}

ec_client_t *ec_clients_get(ec_clients_t *t, const uint8_t *id, size_t len, uint64_t now_ms)
{
    assert(t && (id || len == 0));
    if (len == 0 || len > EC_CLIENT_ID_MAX)
        return NULL;
    uint32_t b = s_find(t, id, len);
    if (t->index[b] == 0) {
        if (t->free_count == 0) {
            if (!s_evict(t))
                return NULL;
            b = s_find(t, id, len); /* the eviction may have moved buckets */
        }
        uint32_t slot = t->free_list[--t->free_count];
        ec_client_t *c = &t->slots[slot];
        memcpy(c->id, id, len);
        c->id_len = (uint8_t)len;
        atomic_store(&c->queued, 0);
        atomic_store(&c->inflight, 0);
        t->index[b] = slot + 1;
        t->count++;
    }
    ec_client_t *c = &t->slots[t->index[b] - 1];
    c->seen_ms = now_ms;
    return c;
}

uint32_t ec_clients_count(const ec_clients_t *t)
{
    assert(t);
    return t->count;
}

ec_client_verdict_t ec_client_verdict(const ec_clients_t *t, const ec_client_t *c)
{
    assert(t && c);
    size_t queued = atomic_load(&c->queued);
    if (queued <= t->limits.queued_max)
        return EC_CLIENT_SERVE;
    return queued <= t->limits.queued_max + S_DROP_MARGIN_BYTES ? EC_CLIENT_REFUSE : EC_CLIENT_DROP;
}

int ec_client_submit_begin(ec_clients_t *t, ec_client_t *c, size_t bytes, ec_status_t *st)
{
    assert(t && c);
    size_t mine = atomic_load(&c->inflight);
    if (mine + bytes > t->limits.inflight_max)
        return ec_status_set(st, EC_EBUSY,
                             "this connection has %zu bytes of submissions in flight (at most "
                             "%zu): wait for replies",
                             mine, t->limits.inflight_max);
    size_t all = atomic_fetch_add(&t->total_inflight, bytes);
    if (all + bytes > t->limits.total_inflight_max) {
        atomic_fetch_sub(&t->total_inflight, bytes);
        return ec_status_set(st, EC_EBUSY,
                             "the node has %zu bytes of submissions in flight: "
                             "retry later",
                             all);
    }
    atomic_fetch_add(&c->inflight, bytes);
    return 0;
}

void ec_client_submit_done(ec_clients_t *t, ec_client_t *c, size_t bytes)
{
    assert(t && c);
    size_t was = atomic_fetch_sub(&c->inflight, bytes);
    assert(was >= bytes);
    (void)was;
    atomic_fetch_sub(&t->total_inflight, bytes);
}

/* ZeroMQ's free function for accounted replies: runs on an I/O thread. */
static void s_reply_free(void *data, void *hint)
{
    s_hint_t *h = hint;
    atomic_fetch_sub(&h->client->queued, h->size);
    atomic_fetch_sub(&h->table->total_queued, h->size);
    free(data);
    free(h);
}

int ec_client_reply_msg(ec_clients_t *t, ec_client_t *c, zmq_msg_t *msg, uint8_t *data, size_t size)
{
    assert(t && c && msg && data);
    s_hint_t *h = malloc(sizeof *h);
    if (!h) {
        free(data);
        return EC_ENOMEM;
    }
    h->table = t;
    h->client = c;
    h->size = size + S_MESSAGE_OVERHEAD_BYTES;
    atomic_fetch_add(&c->queued, h->size);
    atomic_fetch_add(&t->total_queued, h->size);
    if (zmq_msg_init_data(msg, data, size, s_reply_free, h) != 0) {
        s_reply_free(data, h);
        return EC_ENOMEM;
    }
    return 0;
}

size_t ec_clients_queued_total(const ec_clients_t *t)
{
    assert(t);
    return atomic_load(&t->total_queued);
}
