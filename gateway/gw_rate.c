/*
 * gw_rate.c - token buckets by client address (gw_rate.h).
 */
#include "gw_rate.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

typedef struct {
    uint8_t addr[GW_RATE_ADDR_BYTES];
    bool used;
    double tokens;
    uint64_t at_ms; /* when tokens was last brought up to date                      */
} s_bucket_t;

struct gw_rate {
    pthread_mutex_t lock;
    double rate, burst;
    size_t sets;
    uint8_t hash_key[crypto_shorthash_KEYBYTES]; /* random: nobody aims at one set      */
    s_bucket_t *slots;                           /* sets * GW_RATE_WAYS                 */
};

gw_rate_t *gw_rate_new(double rate, double burst, size_t slots)
{
    gw_rate_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->rate = rate;
    self->burst = burst < 1 ? 1 : burst;
    self->sets = (slots + GW_RATE_WAYS - 1) / GW_RATE_WAYS;
    if (self->sets == 0)
        self->sets = 1;
    self->slots = calloc(self->sets * GW_RATE_WAYS, sizeof *self->slots);
    if (!self->slots) {
        free(self);
        return NULL;
    }
    randombytes_buf(self->hash_key, sizeof self->hash_key);
    pthread_mutex_init(&self->lock, NULL);
    return self;
}

void gw_rate_destroy(gw_rate_t **self_p)
{
    if (!*self_p)
        return;
    pthread_mutex_destroy(&(*self_p)->lock);
    free((*self_p)->slots);
    free(*self_p);
    *self_p = NULL;
}

/* Brings b's tokens up to now. */
static void s_refill(const gw_rate_t *self, s_bucket_t *b, uint64_t now_ms)
{
    if (now_ms > b->at_ms) {
        b->tokens += (double)(now_ms - b->at_ms) * self->rate / 1000.0;
        if (b->tokens > self->burst)
            b->tokens = self->burst;
        b->at_ms = now_ms;
    }
}

bool gw_rate_take(gw_rate_t *self, const uint8_t addr[GW_RATE_ADDR_BYTES], uint64_t now_ms,
                  uint32_t *retry_after_s)
{
    if (self->rate <= 0)
        return true;
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, addr, GW_RATE_ADDR_BYTES, self->hash_key);
    uint64_t hv;
    memcpy(&hv, h, sizeof hv);
    pthread_mutex_lock(&self->lock);
    s_bucket_t *set = &self->slots[(hv % self->sets) * GW_RATE_WAYS], *b = NULL, *fullest = NULL;
    for (size_t i = 0; i < GW_RATE_WAYS && !b; i++) {
        if (set[i].used && memcmp(set[i].addr, addr, GW_RATE_ADDR_BYTES) == 0)
            b = &set[i];
    }
    if (!b) {
        for (size_t i = 0; i < GW_RATE_WAYS; i++) {
            if (!set[i].used) {
                fullest = &set[i];
                break;
            }
            s_refill(self, &set[i], now_ms);
            if (!fullest || set[i].tokens > fullest->tokens)
                fullest = &set[i];
        }
        b = fullest;
        memcpy(b->addr, addr, GW_RATE_ADDR_BYTES);
        b->used = true;
        b->tokens = self->burst;
        b->at_ms = now_ms;
    }
    s_refill(self, b, now_ms);
    bool ok = b->tokens >= 1.0;
    if (ok)
        b->tokens -= 1.0;
    else if (retry_after_s) {
        /* A tiny rate makes s huge: clamp to a day before converting (HTTP's Retry-After
         * is a delay in seconds, and a uint32_t conversion of an out-of-range double is
         * undefined). */
        double s = ceil((1.0 - b->tokens) / self->rate);
        *retry_after_s = s < 1 ? 1 : s > 86400 ? 86400 : (uint32_t)s;
    }
    pthread_mutex_unlock(&self->lock);
    return ok;
}
