/*
 * ec_clients.h - what a node's RPC server knows of each client connection: how many reply
 * bytes it has queued for it that ZeroMQ has not yet written to the network, and how many
 * bytes of its submissions are still in the node's pipeline. The server refuses work for
 * a client over its bounds, so one client that never reads, or that floods submissions,
 * cannot take the node's memory, and other clients go on being served.
 *
 * A client is a ROUTER routing id (ZeroMQ gives each connection its own). The table holds
 * at most `max` clients; a client that has nothing queued and nothing in flight is
 * "idle" and its slot may be given to a new client, least recently seen first, so the
 * table needs no disconnect notifications. A client forgotten that way and seen again
 * simply gets a new slot with empty counters (it had nothing pending anyway).
 *
 * Reply accounting: ec_client_reply_msg() builds a zero-copy ZeroMQ message whose free
 * function (called by ZeroMQ's I/O thread once the bytes are written out or dropped)
 * subtracts them again, so `queued` is exactly what ZeroMQ still holds for that client.
 *
 * Threads: lookups, adds and the decisions run on the RPC thread only; the counters are
 * atomic because free functions run on ZeroMQ's I/O threads and submissions finish on the
 * verifier and commit threads. Slots are never freed before the table, and the table
 * outlives the ZeroMQ context (destroy it after zmq_ctx_term).
 */
#ifndef EC_CLIENTS_H
#define EC_CLIENTS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

#include "ec_err.h"

#define EC_CLIENT_ID_MAX 255 /* ZeroMQ's largest routing id                          */

typedef struct {
    uint8_t id[EC_CLIENT_ID_MAX]; /* the routing id                                     */
    uint8_t id_len;               /* 0: the slot is free                                */
    uint64_t seen_ms;             /* last request (RPC thread)                          */
    atomic_size_t queued;         /* reply bytes ZeroMQ still holds for it              */
    atomic_size_t inflight;       /* bytes of its submissions still in the pipeline     */
} ec_client_t;

typedef struct ec_clients ec_clients_t;

/* Limits, set once at creation. */
typedef struct {
    uint32_t max;              /* clients in the table                                   */
    size_t queued_max;         /* a client's unread reply bytes before it is refused     */
    size_t inflight_max;       /* a client's submission bytes in the pipeline            */
    size_t total_inflight_max; /* all clients' submission bytes together                */
} ec_clients_limits_t;

/* Makes a table. NULL when memory is exhausted. */
ec_clients_t *ec_clients_new(const ec_clients_limits_t *limits);
/* Frees it; NULLs *self_p. No message made by ec_client_reply_msg may still exist. */
void ec_clients_destroy(ec_clients_t **self_p);

/*
 * The slot of the client with this routing id, made if new (evicting the least recently
 * seen idle client when the table is full), and marked seen at now_ms. Returns NULL when
 * the id is empty or longer than EC_CLIENT_ID_MAX, or the table is full of clients that
 * are not idle. O(1) expected; O(max) when an eviction is needed.
 */
ec_client_t *ec_clients_get(ec_clients_t *t, const uint8_t *id, size_t len, uint64_t now_ms);
/* Number of clients in the table. */
uint32_t ec_clients_count(const ec_clients_t *t);

/* The decision for a client's next request. */
typedef enum {
    EC_CLIENT_SERVE = 0, /* within bounds                                               */
    EC_CLIENT_REFUSE,    /* over its reply bound: answer a short EC_EBUSY              */
    EC_CLIENT_DROP,      /* far over it (it does not read): no answer at all           */
} ec_client_verdict_t;

/* What to do with a request from c. */
ec_client_verdict_t ec_client_verdict(const ec_clients_t *t, const ec_client_t *c);

/*
 * Reserves `bytes` of submission pipeline for c. Returns 0, or EC_EBUSY with st naming the
 * bound that was hit (the client's own, or the node's total). Release with
 * ec_client_submit_done from any thread.
 */
EC_WUR int ec_client_submit_begin(ec_clients_t *t, ec_client_t *c, size_t bytes, ec_status_t *st);
void ec_client_submit_done(ec_clients_t *t, ec_client_t *c, size_t bytes);

/*
 * Initialises msg as a zero-copy message over `data` (malloc'd, `size` bytes; ownership
 * passes to the message) counted against c until ZeroMQ releases it. Returns 0, or
 * EC_ENOMEM (data is then freed and msg is not initialised).
 */
EC_WUR int ec_client_reply_msg(ec_clients_t *t, ec_client_t *c, zmq_msg_t *msg, uint8_t *data,
                               size_t size);

/* All clients' queued reply bytes (for memory decisions and status). */
size_t ec_clients_queued_total(const ec_clients_t *t);

#endif
