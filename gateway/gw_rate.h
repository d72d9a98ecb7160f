/*
 * gw_rate.h - per-client-address token buckets: each address may make `rate` requests a
 * second on average and `burst` at once. The table is fixed in size (GW_RATE_SLOTS, set
 * when created): an address hashes to a set of GW_RATE_WAYS slots, and a new address
 * takes the slot of the set whose bucket is fullest (an address idle long enough to
 * have refilled forgets nothing by being evicted). Memory never grows with the number of
 * clients. Thread-safe (one mutex; a take is a few dozen instructions).
 */
#ifndef GW_RATE_H
#define GW_RATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_RATE_WAYS 4
#define GW_RATE_ADDR_BYTES 16 /* an IPv6 address, or an IPv4 one mapped into it         */

typedef struct gw_rate gw_rate_t;

/* A limiter of `slots` buckets (rounded up to a multiple of GW_RATE_WAYS). rate 0 turns
 * limiting off (every take succeeds). NULL when out of memory. */
gw_rate_t *gw_rate_new(double rate, double burst, size_t slots);
void gw_rate_destroy(gw_rate_t **self_p);
/*
 * Takes one token for addr at time now_ms (any monotonic clock). Returns true when the
 * request may go on; false when the bucket is empty, with *retry_after_s (when not NULL)
 * the whole seconds until a token is back (at least 1).
 */
bool gw_rate_take(gw_rate_t *self, const uint8_t addr[GW_RATE_ADDR_BYTES], uint64_t now_ms,
                  uint32_t *retry_after_s);

#endif
