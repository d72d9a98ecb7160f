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
 * libsodium (crypto_sign_ed25519_pk_to_curve25519 / _sk_to_curve25519), so there is no
 * second key to manage and the validator set is the allow-list: czmq's zauth actor, with
 * an in-memory zcertstore holding the other validators' public keys, refuses during the
 * handshake any client whose key is not there. A process without a validator key cannot
 * connect, let alone inject a vote; every received message carries the sender's
 * authenticated key (ZeroMQ's "User-Id" property, set by zauth), mapped here to its
 * validator index. Client RPC stays on its own open ROUTER (every transaction is signed).
 *
 * Bounds: incoming messages over message_bytes_max drop the connection (ZMQ_MAXMSGSIZE);
 * each DEALER queues at most queue_max messages and ec_p2p_send never blocks: a message
 * for a peer that is down or slow is dropped (consensus re-sends what matters). Sends to a
 * peer not yet connected are dropped at once (ZMQ_IMMEDIATE), so nothing stale piles up.
 *
 * One zauth actor serves a process (ZeroMQ allows one ZAP handler per context, and czmq's
 * context is shared): instances add their peers' keys to its store and remove them when
 * destroyed. Sockets live in czmq's context (zsys_init), which is set up without czmq's
 * signal handlers. Threads: one owner thread per instance (the node's core thread).
 */
#ifndef EC_P2P_H
#define EC_P2P_H

#include <stdint.h>

#include <zmq.h>

#include "ec_crypto.h"
#include "ec_err.h"
#include "ec_types.h"

#define EC_P2P_ENDPOINT_MAX 128

typedef struct {
    const ec_key_t *key;    /* this validator's Ed25519 key (borrowed)                   */
    const ec_valset_t *vs;  /* the validators, this one included                         */
    /* p2p endpoint of validator i, in vs order ("" for one whose address is unknown: it is
     * not connected to, and it may still connect here if its key is in vs). */
    const char (*endpoints)[EC_P2P_ENDPOINT_MAX];
    uint32_t me;              /* this validator's index in vs; its endpoint is bound      */
    size_t message_bytes_max; /* larger incoming messages close the connection           */
    uint32_t queue_max;       /* messages queued per peer                                */
} ec_p2p_config_t;

typedef struct ec_p2p ec_p2p_t;

/*
 * Binds and connects. Returns NULL with st set: EC_ECONFIG (me not in vs, an endpoint
 * that is not tcp:// or ipc://), EC_EIO (cannot bind), EC_EINTERNAL (ZeroMQ or czmq).
 */
ec_p2p_t *ec_p2p_new(const ec_p2p_config_t *cfg, ec_status_t *st);
/* Closes every socket, takes this instance's keys out of the allow-list; NULLs *self_p. */
void ec_p2p_destroy(ec_p2p_t **self_p);

/*
 * Queues `size` bytes for peer `peer` (an index in the current set, not me) without
 * blocking. Returns 0, or EC_EBUSY when the message was dropped (peer unknown, not
 * connected or its queue full).
 */
int ec_p2p_send(ec_p2p_t *p, uint32_t peer, const void *data, size_t size);
/* ec_p2p_send to every other validator of the set. Returns how many took it. */
uint32_t ec_p2p_broadcast(ec_p2p_t *p, const void *data, size_t size);

/* The ROUTER, to poll for ZMQ_POLLIN with the caller's other sockets. */
void *ec_p2p_socket(ec_p2p_t *p);
/*
 * Takes one waiting message without blocking into msg (initialised here; the caller
 * closes it), with *from the sender's validator index, known from its authenticated
 * CurveZMQ key. Returns 0, EC_ENOTFOUND when nothing waits. Messages of more than one
 * frame, or from a key no longer in the set, are dropped and the next one is tried.
 */
int ec_p2p_recv(ec_p2p_t *p, zmq_msg_t *msg, uint32_t *from);

/*
 * Moves to a new validator set (a validator-set change): connects to validators that
 * joined, disconnects from those that left and updates the allow-list. `me` may become
 * UINT32_MAX (this node left the set: it keeps its ROUTER, for peers still finishing a
 * height, but stops connecting). Returns 0 or an error as ec_p2p_new.
 */
int ec_p2p_update(ec_p2p_t *p, const ec_valset_t *vs,
                  const char (*endpoints)[EC_P2P_ENDPOINT_MAX], uint32_t me, ec_status_t *st);

/* Number of peers currently connected (ZeroMQ's view, for status). */
uint32_t ec_p2p_connected(const ec_p2p_t *p);

#endif
