/*
 * ec_p2p.h - the links between the validators of one chain: CurveZMQ, with the validator
 * set as the allow-list.
 *
 * Every validator binds one ROUTER, a CurveZMQ server, at its p2p endpoint, and connects
 * one DEALER, a CurveZMQ client, to every other validator's endpoint. A message for peer i
 * goes out on the DEALER towards i; every message from any peer arrives on the ROUTER.
 * Requests and answers are both one-way messages, so no socket ever waits for a reply.
 *
 * Keys: a validator's Curve25519 key pair is its Ed25519 validator key converted with
 * libsodium (ec_key_curve_pk / ec_key_curve_sk, ec_curve_pk for peers), so there is no
 * second key to manage and the validator set is the allow-list: a ZAP handler (RFC 27)
 * refuses during the handshake any client whose key is not one of the other validators'.
 * A process without a validator key cannot connect, let alone inject a vote; every
 * received message carries the sender's authenticated key (ZeroMQ's "User-Id" property,
 * which the ZAP handler sets to the key's Z85 text), mapped here to its validator index.
 * Client RPC stays on its own open ROUTER (every transaction is signed).
 *
 * Bounds: incoming message frames over message_bytes_max drop the connection
 * (ZMQ_MAXMSGSIZE); each DEALER queues at most queue_max messages, and the ROUTER at most
 * queue_max per connected peer, so a peer costs at most 2 * queue_max * message_bytes_max
 * of queues (plus kernel buffers). ec_p2p_send never blocks: a message for a peer that is
 * down or slow is dropped (consensus re-sends what matters). Sends to a peer not yet
 * connected are dropped at once (ZMQ_IMMEDIATE), so nothing stale piles up. Known limit
 * (ZeroMQ 4.3): the queues count whole messages, and ZeroMQ bounds neither the frames of
 * one message nor their total, so an *authenticated* validator that sends one endless
 * multi-frame message makes this process buffer it; nobody else can.
 *
 * Delivery: at most once, in order per sender, with loss. A send before the link to that
 * peer is up fails at once (EC_EBUSY) and is not kept; messages queued towards a peer when
 * its link drops are lost; a link comes back by itself (ZeroMQ reconnects after 100 ms,
 * backing off to 1 s while the peer is down). A peer that stopped answering is dropped
 * within about 3 s (ec_p2p_tick). A client whose key is not in the set is refused
 * with ZAP status 300 (temporary), so it keeps retrying, every 2 s (the handshake
 * timeout), and gets in once this node moves to a set that holds it.
 *
 * Each instance owns a ZeroMQ context of its own, with its own ZAP handler (a thread that
 * holds the allow-list under a mutex, updated by ec_p2p_update): ZeroMQ allows one ZAP
 * handler per context, so with a context per instance there is no process-wide state,
 * instances are independent (tests run several in one process) and a process that never
 * creates one starts nothing. czmq's zauth is not used: its store of keys cannot be
 * changed safely while it runs (ec_p2p.c says why). zmq_poll takes this context's sockets
 * along with the caller's from other contexts.
 *
 * Threads: an instance belongs to one thread (the node's core thread); the context's I/O
 * thread and the ZAP thread are internal, and ec_p2p_destroy joins them.
 */
#ifndef EC_P2P_H
#define EC_P2P_H

#include <stdint.h>

#include <zmq.h>

#include "ec_crypto.h"
#include "ec_err.h"
#include "ec_types.h"

#define EC_P2P_ENDPOINT_MAX 128
#define EC_P2P_ZAP_DOMAIN "ecert" /* the ROUTER's ZMQ_ZAP_DOMAIN; others are refused      */

typedef struct {
    /* this validator's Ed25519 key (borrowed: it must outlive the instance, whose
     * ec_p2p_update connects new DEALERs with it) */
    const ec_key_t *key;
    const ec_valset_t *vs; /* the validators, this one included (read during the call)   */
    /* p2p endpoint of validator i, in vs order: tcp://HOST:PORT or ipc://PATH ("" for one
     * whose address is unknown: it is not connected to, and it may still connect here if
     * its key is in vs). Read during the call. */
    const char (*endpoints)[EC_P2P_ENDPOINT_MAX];
    /* Where the ROUTER binds; NULL for endpoints[me]. ZeroMQ does not resolve host names
     * when binding ("tcp://validator1:7001" fails), so a node that others reach by name
     * binds e.g. "tcp://0.0.0.0:7001" here. Required when me is UINT32_MAX. */
    const char *bind_endpoint;
    /* This validator's index in vs, or UINT32_MAX if its key is not in vs: it then binds,
     * accepts the validators of vs, and connects to each of them, who refuse it (ZAP
     * status 300, retried every 2 s) until their own set holds its key: a validator being
     * added starts outside the set and must fetch the blocks that add it. */
    uint32_t me;
    size_t message_bytes_max; /* larger incoming frames close the connection; >= 1 */
    uint32_t queue_max;       /* messages queued per peer, each way; 1..INT32_MAX         */
} ec_p2p_config_t;

typedef struct ec_p2p ec_p2p_t;

/*
 * Starts the ZAP handler, binds the ROUTER and connects a DEALER to every other validator
 * with a known endpoint. Connections come up in the background (ZeroMQ retries every
 * 100 ms, backing off to 1 s); ec_p2p_connected tells how many are up.
 * Returns the instance, or NULL with st set: EC_ECONFIG (me not the index of cfg->key in
 * vs, a key twice in vs, an endpoint that is not tcp://HOST:PORT or ipc://PATH, no
 * endpoint to bind, a bound of 0), EC_EIO (cannot bind), EC_ENOMEM, EC_EINTERNAL (ZeroMQ
 * or a thread could not be set up). A validator whose key is no Curve25519 point (ec_curve_pk
 * fails) is neither connected to nor accepted: it could not sign anything either. Nor are two
 * validators whose keys convert to one Curve25519 key (an Ed25519 key and its negation):
 * the wire cannot tell them apart. Both cases are logged, not errors, so that a node
 * can always move to a set its chain committed.
 */
ec_p2p_t *ec_p2p_new(const ec_p2p_config_t *cfg, ec_status_t *st);
/* Closes every socket, stops the ZAP thread and ends the context; NULLs *self_p.
 * Idempotent. Messages not yet sent are dropped (linger 0). */
void ec_p2p_destroy(ec_p2p_t **self_p);

/*
 * Queues `size` bytes (one frame, copied) for peer `peer` (an index in the current set)
 * without blocking. Returns 0, EC_EBUSY when the message was dropped (peer out of range,
 * me, not connected or its queue full; or size 0, which is reserved for the keepalive),
 * EC_ETOOBIG when size > message_bytes_max (the
 * peer would drop the connection and everything queued behind it), or EC_ENOMEM.
 */
EC_WUR int ec_p2p_send(ec_p2p_t *p, uint32_t peer, const void *data, size_t size);
/* ec_p2p_send to every other validator of the set, with one copy of the data shared by
 * all. Returns how many took it (0 as well when size > message_bytes_max). */
uint32_t ec_p2p_broadcast(ec_p2p_t *p, const void *data, size_t size);

/* The ROUTER, to poll for ZMQ_POLLIN with the caller's other sockets (zmq_poll). */
void *ec_p2p_socket(ec_p2p_t *p);
/*
 * Takes one waiting message without blocking into msg, with *from the sender's validator
 * index in the current set, known from its authenticated CurveZMQ key. msg is initialised
 * here on every return (empty unless 0 is returned), so closing it (zmq_msg_close) is
 * always right, and required after 0. Messages of more than one frame, without an
 * authenticated key, or from a key not in the current set (or this node's own) are
 * dropped and the next one is tried.
 * Returns 0, or EC_ENOTFOUND when nothing waits, or after 64 dropped messages in one call
 * (so that a hostile peer cannot hold the caller here; ZMQ_POLLIN stays set while more
 * wait, so the caller's next poll returns at once).
 */
EC_WUR int ec_p2p_recv(ec_p2p_t *p, zmq_msg_t *msg, uint32_t *from);

/*
 * Moves to a new validator set (a validator-set change): connects to validators that
 * joined (by key, not by index, since indexes shift) or whose endpoint changed, closes the
 * DEALERs of those that left, updates the allow-list and maps senders to the new indexes.
 * `me` may become UINT32_MAX (this node left the set: it keeps its ROUTER, for peers
 * still finishing a height, and its links, which the others refuse once they moved on).
 * The ROUTER stays where it was bound.
 * A validator that left and was already connected here stays connected (ZeroMQ cannot
 * close one connection of a ROUTER), but its messages are dropped by ec_p2p_recv, and it
 * cannot connect again. Returns 0, or an error as ec_p2p_new (EC_ECONFIG, EC_EINTERNAL),
 * in which case nothing changed.
 */
EC_WUR int ec_p2p_update(ec_p2p_t *p, const ec_valset_t *vs,
                         const char (*endpoints)[EC_P2P_ENDPOINT_MAX], uint32_t me,
                         ec_status_t *st);

/*
 * Liveness, to call at least every 500 ms with a monotonic clock in milliseconds (the
 * node's core thread does, between polls). An empty message is the links' keepalive: sent
 * to a peer nothing went to for 1 s, taken (and never returned) by ec_p2p_recv. A peer
 * heard from neither way for 3 s has its DEALER reopened, which drops what was queued for
 * it and counts it as not connected until a new handshake succeeds: a peer whose process
 * stopped or whose host vanished is dropped that way. No verdict is made while messages
 * wait unread on the ROUTER (the silence may be this node's own backlog).
 * ZMTP heartbeats would do this inside libzmq, but libzmq 4.3.4 aborts the process when
 * one meets a connection whose queue was full when the peer hung up (ec_p2p.c).
 */
void ec_p2p_tick(ec_p2p_t *p, uint64_t now_ms);

/*
 * Number of peers this node can send to now: DEALERs whose CurveZMQ handshake is done
 * (the peer accepted our key) and whose queue is not full. A peer that is slow enough to
 * fill its queue counts as not connected until it drains some; one whose process stopped
 * or whose host vanished, within about 3 s (ec_p2p_tick). About 0.1 us a peer.
 */
uint32_t ec_p2p_connected(const ec_p2p_t *p);

#endif
