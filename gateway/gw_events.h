/*
 * gw_events.h - the event hub behind the server-sent event streams (docs/GATEWAY.md
 * "Server-sent events"). One background thread subscribes to every configured chain's
 * PUB endpoint (the client config's `pub`), decodes each announcement into an event, and
 * appends it to a bounded ring of the GW_EVENTS_RING newest events; each stream reads
 * the ring from where it is. On each main header the thread asks the main chain for its
 * `sidechains` and adds an `anchor` event (side-to-main) for each anchored height that
 * moved; on each side header it asks that chain's `mirror` and adds one (main-to-side)
 * when the mirrored main height moved. A stream that falls more than the ring behind
 * skips what it missed: like PUB, events are a wake-up, and a client fetches by height.
 */
#ifndef GW_EVENTS_H
#define GW_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "gw_app.h"

#define GW_EVENTS_RING 512     /* events kept                                            */
#define GW_EVENT_DATA_MAX 4096 /* one event's JSON; a contract event above it loses data  */

enum { GW_TOPIC_HEADER = 1, GW_TOPIC_ANCHOR = 2, GW_TOPIC_EVENT = 4, GW_TOPIC_ALL = 7 };

typedef struct {
    uint64_t seq;
    unsigned topic; /* GW_TOPIC_*                                                         */
    char chain[EC_CERT_TYPE_MAX];
    char data[GW_EVENT_DATA_MAX]; /* one line of JSON                                      */
} gw_event_t;

/* Starts the hub for app's config. NULL on failure (logged). */
gw_events_t *gw_events_start(gw_app_t *app);
/* Wakes every waiting stream and makes them end (before the HTTP server stops). */
void gw_events_wake(gw_events_t *self);
/* Stops the thread and frees the hub (after the HTTP server stopped: no stream runs). */
void gw_events_stop(gw_events_t **self_p);
/* The sequence number the next event will get: a new stream starts there. */
uint64_t gw_events_head(gw_events_t *self);
/*
 * Waits up to timeout_ms for the event numbered *seq or later and copies it to out,
 * setting *seq past it. Returns 1 (an event), 0 (timeout) or -1 (the hub is stopping).
 */
int gw_events_wait(gw_events_t *self, uint64_t *seq, gw_event_t *out, uint32_t timeout_ms);
/*
 * Waits for the next event at *seq or later whose topic is one of topics and whose chain
 * is listed in chains (",a,b,"; "" for every chain), skipping the others, until
 * deadline_ms (gw_events_now_ms time) passes: skipped events do not postpone it. Returns 1
 * (*out is the event, *seq past it), 0 (the deadline passed) or -1 (the hub is stopping).
 */
int gw_events_next(gw_events_t *self, uint64_t *seq, gw_event_t *out, unsigned topics,
                   const char *chains, uint64_t deadline_ms);
/* Milliseconds of CLOCK_MONOTONIC, the clock of gw_events_next's deadline. */
uint64_t gw_events_now_ms(void);
/* Adds an event (for the hub's thread; exposed for tests). data is one line of JSON. */
void gw_events_push(gw_events_t *self, unsigned topic, const char *chain, const char *data);
/* Parses a comma-separated topic list ("header,anchor"); 0 for a name it does not know. */
unsigned gw_topics_parse(const char *list);

#endif
