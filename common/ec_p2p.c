/*
 * ec_p2p.c - CurveZMQ links between the validators of one chain (ec_p2p.h).
 *
 * Invariants:
 * - The ZAP handler is bound in the instance's context before the ROUTER is, and stays
 *   bound until the ROUTER is closed: libzmq 4.3 lets any CurveZMQ client in when a
 *   context has no ZAP handler (the "Stonehouse" fallback; ZMQ_ZAP_ENFORCE_DOMAIN is a
 *   draft option), so the ROUTER never exists without one. Even then such a client would
 *   get nothing through: a message without a "User-Id" is dropped by ec_p2p_recv.
 * - The allow-list (s_zap_t) is the Curve keys of the current set minus this node's own;
 *   the ZAP thread reads it and ec_p2p_update writes it, both under its mutex. It is the
 *   only state the two threads share.
 * - peers[i] describes validator i of the current set; peers[i].dealer is open exactly
 *   when i is not me, i has an endpoint and its key converts (a node outside the set
 *   connects too: the validators refuse it until their set takes it in).
 * - Nothing read from the network is trusted: ZAP requests are parsed strictly, received
 *   messages are bounded by ZMQ_MAXMSGSIZE and ZMQ_RCVHWM, and a bad one is dropped, never
 *   asserted on.
 *
 * ZAP (RFC 27) on the REP socket at inproc://zeromq.zap.01, as libzmq 4.3 speaks it:
 *
 *   | frame | request (from libzmq)           | reply (from the handler)                 |
 *   |------:|---------------------------------|------------------------------------------|
 *   |     0 | version "1.0"                   | version "1.0"                            |
 *   |     1 | request id                      | the request id, echoed                   |
 *   |     2 | domain (EC_P2P_ZAP_DOMAIN)      | status "200", "300" or "400" (below)     |
 *   |     3 | client address                  | status text                              |
 *   |     4 | server routing id               | user id: Z85 of the client key, or ""    |
 *   |     5 | mechanism ("CURVE")             | metadata: empty                          |
 *   |     6 | client's Curve public key (32)  |                                          |
 *
 * Why not czmq's zauth with an in-memory zcertstore: in czmq 4.2.1 (no draft API) a
 * zcertstore cannot remove a certificate, zcertstore_insert asserts when a key is already
 * there (two instances sharing a peer would abort the process), and the zauth thread
 * reads the store while the owner would write it, with no lock. Changing keys therefore
 * means restarting zauth, and between its unbind and the new bind libzmq admits any
 * client. zauth refuses with 400, after which a client never reconnects (s_zap_answer).
 * And czmq's process-wide context hangs the process at exit (zsys_shutdown's zmq_term)
 * while a raw socket in it is open. All verified against the installed libraries.
 *
 * Secrets: this node's Curve secret key stays in the ec_key_t's guarded block; libzmq
 * copies it into each socket's options (ZMQ_CURVE_SECRETKEY) and does not wipe those
 * copies when the socket closes. That is libzmq's memory and beyond our reach.
 */
#include "ec_p2p.h"

#include "ec_config.h"
#include "ec_log.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01" /* fixed by libzmq (RFC 27)             */
#define S_ZAP_FRAMES 7                          /* frames of a CURVE ZAP request         */
#define S_Z85_BYTES 41 /* Z85 of a 32-byte key (40 characters) and its NUL       */
/* A handshake (3 round trips and the ZAP request) must finish within this, each side;
 * it is also how often a client refused with 300 tries again (s_zap_answer). */
#define S_HANDSHAKE_MS 2000
/* Liveness (ec_p2p_tick): a keepalive on a DEALER idle this long, and a peer heard from
 * neither messages nor keepalives for this long has its DEALER reopened. */
#define S_KEEPALIVE_MS 1000
#define S_SILENCE_MS 3000
/* TCP keepalive on every connection, for those whose far host vanished: first probe after
 * this many seconds of quiet, then one every S_TCP_PROBE_S, dropped after S_TCP_PROBES. */
#define S_TCP_IDLE_S 10
#define S_TCP_PROBE_S 5
#define S_TCP_PROBES 3
#define S_RECONNECT_MS 100        /* first reconnection attempt after a drop                 */
#define S_RECONNECT_MAX_MS 1000   /* attempts back off to one a second                      */
#define S_RECV_DROPS_MAX 64       /* bad messages dropped per ec_p2p_recv call              */
#define S_DEALER_INBOUND_MAX 1024 /* frames a DEALER accepts: handshake commands only      */
/* ZMQ_MAXMSGSIZE counts a frame as it is on the wire, and libzmq 4.3's CurveZMQ MESSAGE
 * command wraps n bytes in 33 + n: "\x07MESSAGE" (8), nonce (8), MAC (16) and a flags
 * byte (curve_mechanism_base.cpp, encode). test_p2p sends exactly message_bytes_max. */
#define S_CURVE_FRAME_OVERHEAD 33

/* The allow-list the ZAP thread consults: shared, under mu. */
typedef struct {
    pthread_mutex_t mu;
    uint32_t count;                                      /* keys in use                */
    uint8_t keys[EC_VALIDATORS_MAX][EC_CURVE_KEY_BYTES]; /* Curve keys allowed in  */
} s_zap_t;

/* One validator of the current set, seen from here. */
typedef struct {
    uint8_t pk[EC_PK_BYTES];              /* Ed25519 key: who it is, across sets          */
    uint8_t curve_pk[EC_CURVE_KEY_BYTES]; /* its CurveZMQ key, when z85[0]               */
    char z85[S_Z85_BYTES];                /* Z85 of curve_pk, its User-Id; "" unusable    */
    char endpoint[EC_P2P_ENDPOINT_MAX];   /* where its DEALER connects; "" for none       */
    void *dealer;                         /* open as the file comment says, else NULL     */
    /* liveness, in the caller's milliseconds (ec_p2p_tick); 0 until the first tick */
    uint64_t heard_ms; /* last message or keepalive from it, or when dealer opened */
    uint64_t sent_ms;  /* last message or keepalive sent to it                     */
    bool heard, sent;  /* a message came / went since the last tick                */
    bool alive;        /* heard since dealer opened: a silence is worth a log line */
} s_peer_t;

struct ec_p2p {
    const ec_key_t *key;  /* this validator's key (borrowed, outlives us)            */
    void *ctx;            /* ZeroMQ context of this instance alone                    */
    void *zap_rep;        /* the ZAP REP socket; owned by the ZAP thread once started */
    pthread_t zap_thread; /* answers ZAP requests                                    */
    bool zap_started;     /* zap_thread runs and must be joined                       */
    bool zap_mu_ready;    /* zap.mu was initialised                                   */
    s_zap_t zap;          /* the allow-list                                          */
    void *router;         /* CurveZMQ server: every peer's messages                   */
    uint32_t me;          /* index in the current set, or UINT32_MAX                 */
    uint32_t count;       /* validators in the current set                            */
    s_peer_t peers[EC_VALIDATORS_MAX];
    size_t message_bytes_max; /* ZMQ_MAXMSGSIZE of the ROUTER; largest frame sent         */
    uint32_t queue_max;       /* ZMQ_SNDHWM of DEALERs, ZMQ_RCVHWM of the ROUTER          */
};

/* ---- the ZAP handler -------------------------------------------------------------------- */

/* True when the 32-byte key is in the allow-list. Takes the mutex. */
static bool s_zap_allowed(s_zap_t *zap, const uint8_t *key)
{
    bool found = false;
    int rc = pthread_mutex_lock(&zap->mu);
    assert(rc == 0);
    for (uint32_t i = 0; i < zap->count && !found; i++)
        found = memcmp(zap->keys[i], key, EC_CURVE_KEY_BYTES) == 0;
    rc = pthread_mutex_unlock(&zap->mu);
    assert(rc == 0);
    (void)rc;
    return found;
}

/* True when frame f holds exactly the NUL-terminated text s. */
static bool s_frame_is(zmq_msg_t *f, const char *s)
{
    size_t n = strlen(s);
    return zmq_msg_size(f) == n && memcmp(zmq_msg_data(f), s, n) == 0;
}

/* Sends one reply frame; false when the context is ending (ETERM). Any other failure is a
 * bug in the REP state machine here, asserted. */
static bool s_zap_send(void *rep, const void *data, size_t size, bool more)
{
    for (;;) {
        if (zmq_send(rep, data, size, more ? ZMQ_SNDMORE : 0) >= 0)
            return true;
        if (errno == ETERM)
            return false;
        assert(errno == EINTR);
    }
}

/*
 * Receives one whole request: its first S_ZAP_FRAMES frames into f, any further ones read
 * and dropped, and *n the number of frames. Returns false (f closed) when the context
 * ends, else true with f[0 .. min(*n, S_ZAP_FRAMES)) to close.
 */
static bool s_zap_recv(void *rep, zmq_msg_t f[S_ZAP_FRAMES], size_t *n)
{
    bool more = true;
    for (*n = 0; more; (*n)++) {
        zmq_msg_t extra;
        zmq_msg_t *m = *n < S_ZAP_FRAMES ? &f[*n] : &extra;
        zmq_msg_init(m);
        while (zmq_msg_recv(m, rep, 0) < 0) {
            if (errno == ETERM) {
                zmq_msg_close(m);
                for (size_t i = 0; i < *n && i < S_ZAP_FRAMES; i++)
                    zmq_msg_close(&f[i]);
                return false;
            }
            assert(errno == EINTR);
        }
        more = zmq_msg_more(m);
        if (m == &extra)
            zmq_msg_close(&extra);
    }
    return true;
}

/*
 * Answers one request: 200 with the key's Z85 as User-Id when it is a CURVE request for
 * our domain from an allowed key; 300 (temporary) for a well-formed request from another
 * key; 400 for anything else. Returns false when the context ends.
 *
 * Why 300: libzmq 4.3 sends a client refused with 400 an ERROR command, after which that
 * client's session ends for good (a protocol error: it never reconnects), whereas after a
 * 300 the server drops the connection without a word and the client retries. A validator
 * joining the set connects before the others have moved to the new set; refused with 400,
 * it would never connect to them. (libzmq 4.3.4 drops a 300-refused connection only when
 * a handshake timer fires, S_HANDSHAKE_MS, so a refused client retries that often.)
 */
static bool s_zap_answer(s_zap_t *zap, void *rep)
{
    zmq_msg_t f[S_ZAP_FRAMES];
    size_t n = 0;
    if (!s_zap_recv(rep, f, &n))
        return false;
    bool curve = n == S_ZAP_FRAMES && s_frame_is(&f[0], "1.0") &&
                 s_frame_is(&f[2], EC_P2P_ZAP_DOMAIN) && s_frame_is(&f[5], "CURVE") &&
                 zmq_msg_size(&f[6]) == EC_CURVE_KEY_BYTES;
    char user[S_Z85_BYTES] = ""; /* the User-Id: Z85 of the key when it is allowed */
    if (curve && !zmq_z85_encode(user, zmq_msg_data(&f[6]), EC_CURVE_KEY_BYTES))
        curve = false; /* cannot happen: 32 is a multiple of 4 */
    bool ok = curve && s_zap_allowed(zap, zmq_msg_data(&f[6]));
    if (curve && !ok)
        ec_debug("p2p: refused a CurveZMQ client with key %s", user);
    if (!ok)
        user[0] = '\0';
    const void *id = n >= 2 ? zmq_msg_data(&f[1]) : "";
    size_t id_size = n >= 2 ? zmq_msg_size(&f[1]) : 0;
    const char *code = ok ? "200" : curve ? "300" : "400";
    const char *text = ok ? "OK" : curve ? "not a validator of this set" : "not for this node";
    bool alive = s_zap_send(rep, "1.0", 3, true) && s_zap_send(rep, id, id_size, true) &&
                 s_zap_send(rep, code, 3, true) && s_zap_send(rep, text, strlen(text), true) &&
                 s_zap_send(rep, user, strlen(user), true) && s_zap_send(rep, "", 0, false);
    for (size_t i = 0; i < n && i < S_ZAP_FRAMES; i++)
        zmq_msg_close(&f[i]);
    return alive;
}

/* The ZAP thread: answers requests until ec_p2p_destroy ends the context. */
static void *s_zap_run(void *arg)
{
    ec_p2p_t *p = arg;
    while (s_zap_answer(&p->zap, p->zap_rep))
        ;
    zmq_close(p->zap_rep);
    return NULL;
}

/* Sets the allow-list to the usable keys of peers[0..count) other than me. */
static void s_zap_set(s_zap_t *zap, const s_peer_t *peers, uint32_t count, uint32_t me)
{
    int rc = pthread_mutex_lock(&zap->mu);
    assert(rc == 0);
    zap->count = 0;
    for (uint32_t i = 0; i < count; i++)
        if (i != me && peers[i].z85[0])
            memcpy(zap->keys[zap->count++], peers[i].curve_pk, EC_CURVE_KEY_BYTES);
    rc = pthread_mutex_unlock(&zap->mu);
    assert(rc == 0);
    (void)rc;
}

/* ---- configuration checks --------------------------------------------------------------- */

/* True for tcp://HOST:PORT (or tcp://HOST:* when bind) and ipc://PATH that fit a buffer. */
static bool s_endpoint_ok(const char *ep, bool bind)
{
    return strnlen(ep, EC_P2P_ENDPOINT_MAX) < EC_P2P_ENDPOINT_MAX &&
           (strncmp(ep, "tcp://", 6) == 0 || strncmp(ep, "ipc://", 6) == 0) &&
           ec_config_endpoint_valid(ep, bind);
}

/*
 * Checks a set, its endpoints and me against this node's key before anything changes.
 * Returns 0 or EC_ECONFIG with st set.
 */
static int s_check_set(const ec_key_t *key, const ec_valset_t *vs,
                       const char (*endpoints)[EC_P2P_ENDPOINT_MAX], uint32_t me, ec_status_t *st)
{
    assert(vs->count <= EC_VALIDATORS_MAX);
    if (me != UINT32_MAX && me >= vs->count)
        return ec_status_set(st, EC_ECONFIG, "p2p: me = %u but the set has %u validators", me,
                             vs->count);
    for (uint32_t i = 0; i < vs->count; i++) {
        bool mine = memcmp(vs->v[i].pk, ec_key_pk(key), EC_PK_BYTES) == 0;
        if (mine && i != me)
            return ec_status_set(st, EC_ECONFIG, "p2p: this node's key is validator %u's", i);
        if (!mine && i == me)
            return ec_status_set(st, EC_ECONFIG, "p2p: this node's key is not validator %u's", i);
        for (uint32_t j = 0; j < i; j++)
            if (memcmp(vs->v[i].pk, vs->v[j].pk, EC_PK_BYTES) == 0)
                return ec_status_set(st, EC_ECONFIG, "p2p: validators %u and %u have one key", j,
                                     i);
        const char *ep = endpoints[i];
        if (ep[0] && !s_endpoint_ok(ep, false))
            return ec_status_set(st, EC_ECONFIG,
                                 "p2p: endpoint of validator %u is not tcp://HOST:PORT or "
                                 "ipc://PATH of less than %d bytes",
                                 i, EC_P2P_ENDPOINT_MAX);
    }
    return 0;
}

/* ---- sockets ---------------------------------------------------------------------------- */

/* Sets an int option; true on success. */
static bool s_opt_int(void *s, int option, int value)
{
    return zmq_setsockopt(s, option, &value, sizeof value) == 0;
}

/*
 * The options both ends share: linger 0, the handshake deadline and TCP keepalive (a
 * connection whose far host vanished is closed within about 25 s instead of hours).
 *
 * No ZMTP heartbeats (ZMQ_HEARTBEAT_IVL): libzmq 4.3.4 aborts the process with
 * "Assertion failed: !_io_error (stream_engine_base.cpp:331)" when a heartbeat is due, or
 * a PING is decoded, on a connection whose input was stopped (its queue full: ZMQ_RCVHWM)
 * and whose peer then hung up: a busy node whose peer was killed died that way in the
 * fault test, and a hostile validator could do it on purpose by sending to a DEALER,
 * which never reads. Liveness is ours instead: ec_p2p_tick.
 */
static bool s_opt_common(void *s)
{
    return s_opt_int(s, ZMQ_LINGER, 0) && s_opt_int(s, ZMQ_HANDSHAKE_IVL, S_HANDSHAKE_MS) &&
           s_opt_int(s, ZMQ_TCP_KEEPALIVE, 1) &&
           s_opt_int(s, ZMQ_TCP_KEEPALIVE_IDLE, S_TCP_IDLE_S) &&
           s_opt_int(s, ZMQ_TCP_KEEPALIVE_INTVL, S_TCP_PROBE_S) &&
           s_opt_int(s, ZMQ_TCP_KEEPALIVE_CNT, S_TCP_PROBES);
}

/* Opens the DEALER towards peer (which has an endpoint and a usable key) into *out and
 * starts its connection. Returns 0, EC_ECONFIG (ZeroMQ refuses the endpoint) or
 * EC_EINTERNAL, with st set. */
static int s_dealer_open(ec_p2p_t *p, const s_peer_t *peer, void **out, ec_status_t *st)
{
    *out = NULL;
    void *s = zmq_socket(p->ctx, ZMQ_DEALER);
    if (!s)
        return ec_status_set(st, EC_EINTERNAL, "p2p: zmq_socket: %s", zmq_strerror(errno));
    /* It never reads: at most one message from the peer waits, of at most
     * S_DEALER_INBOUND_MAX bytes; a larger frame cuts the link. (0 would be tempting, but
     * the limit applies to the CurveZMQ handshake's own frames as well.) */
    int64_t inbound_max = S_DEALER_INBOUND_MAX;
    bool ok =
        s_opt_common(s) && s_opt_int(s, ZMQ_IMMEDIATE, 1) &&
        s_opt_int(s, ZMQ_SNDHWM, (int)p->queue_max) && s_opt_int(s, ZMQ_RCVHWM, 1) &&
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &inbound_max, sizeof inbound_max) == 0 &&
        s_opt_int(s, ZMQ_RECONNECT_IVL, S_RECONNECT_MS) &&
        s_opt_int(s, ZMQ_RECONNECT_IVL_MAX, S_RECONNECT_MAX_MS) &&
        zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, peer->curve_pk, EC_CURVE_KEY_BYTES) == 0 &&
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, ec_key_curve_pk(p->key), EC_CURVE_KEY_BYTES) == 0 &&
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, ec_key_curve_sk(p->key), EC_CURVE_KEY_BYTES) == 0;
    if (!ok) {
        int rc = ec_status_set(st, EC_EINTERNAL, "p2p: DEALER options: %s", zmq_strerror(errno));
        zmq_close(s);
        return rc;
    }
    if (zmq_connect(s, peer->endpoint) != 0) {
        int rc = ec_status_set(st, EC_ECONFIG, "p2p: cannot connect to %s: %s", peer->endpoint,
                               zmq_strerror(errno));
        zmq_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* Creates the ROUTER and binds it at ep. Returns 0, EC_EIO (cannot bind) or EC_EINTERNAL. */
static int s_router_open(ec_p2p_t *p, const char *ep, ec_status_t *st)
{
    p->router = zmq_socket(p->ctx, ZMQ_ROUTER);
    if (!p->router)
        return ec_status_set(st, EC_EINTERNAL, "p2p: zmq_socket: %s", zmq_strerror(errno));
    int64_t maxmsg = (int64_t)p->message_bytes_max + S_CURVE_FRAME_OVERHEAD;
    bool ok = s_opt_common(p->router) && s_opt_int(p->router, ZMQ_RCVHWM, (int)p->queue_max) &&
              s_opt_int(p->router, ZMQ_SNDHWM, 1) &&
              zmq_setsockopt(p->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) == 0 &&
              s_opt_int(p->router, ZMQ_CURVE_SERVER, 1) &&
              zmq_setsockopt(p->router, ZMQ_CURVE_SECRETKEY, ec_key_curve_sk(p->key),
                             EC_CURVE_KEY_BYTES) == 0 &&
              zmq_setsockopt(p->router, ZMQ_ZAP_DOMAIN, EC_P2P_ZAP_DOMAIN,
                             strlen(EC_P2P_ZAP_DOMAIN)) == 0;
    if (!ok)
        return ec_status_set(st, EC_EINTERNAL, "p2p: ROUTER options: %s", zmq_strerror(errno));
    if (zmq_bind(p->router, ep) != 0)
        return ec_status_set(st, EC_EIO, "p2p: cannot bind %s: %s", ep, zmq_strerror(errno));
    return 0;
}

/* Binds the ZAP REP socket and starts the thread that answers on it. Returns 0 or
 * EC_EINTERNAL. */
static int s_zap_start(ec_p2p_t *p, ec_status_t *st)
{
    if (pthread_mutex_init(&p->zap.mu, NULL) != 0)
        return ec_status_set(st, EC_EINTERNAL, "p2p: pthread_mutex_init failed");
    p->zap_mu_ready = true;
    p->zap_rep = zmq_socket(p->ctx, ZMQ_REP);
    if (!p->zap_rep)
        return ec_status_set(st, EC_EINTERNAL, "p2p: zmq_socket: %s", zmq_strerror(errno));
    /* linger 0: a reply still queued when the context ends must not hold zmq_ctx_term */
    if (!s_opt_int(p->zap_rep, ZMQ_LINGER, 0) || zmq_bind(p->zap_rep, S_ZAP_ENDPOINT) != 0)
        return ec_status_set(st, EC_EINTERNAL, "p2p: cannot bind the ZAP handler: %s",
                             zmq_strerror(errno));
    /* pthread_create is a full memory barrier, which is what libzmq asks of a socket that
     * moves to another thread; from here on only the ZAP thread touches zap_rep. */
    if (pthread_create(&p->zap_thread, NULL, s_zap_run, p) != 0)
        return ec_status_set(st, EC_EINTERNAL, "p2p: cannot start the ZAP thread");
    p->zap_started = true;
    return 0;
}

/* ---- the peer table --------------------------------------------------------------------- */

/*
 * Makes unusable (z85 "") every validator whose Curve key another one of the set shares.
 * An Ed25519 key and its negation (the same but for the sign bit of x) convert to one
 * Curve25519 key, so on the wire the two cannot be told apart; mapping that key to either
 * index could put one validator's words in the other's mouth. O(n^2), n <= 32.
 */
static void s_twins_disable(s_peer_t *peers, uint32_t count)
{
    bool twin[EC_VALIDATORS_MAX] = {false};
    for (uint32_t i = 0; i < count; i++)
        for (uint32_t j = 0; j < i; j++)
            if (peers[i].z85[0] && peers[j].z85[0] &&
                memcmp(peers[i].curve_pk, peers[j].curve_pk, EC_CURVE_KEY_BYTES) == 0) {
                twin[i] = twin[j] = true;
                ec_warn("p2p: validators %u and %u share a Curve25519 key: neither is "
                        "connected to or accepted",
                        j, i);
            }
    for (uint32_t i = 0; i < count; i++)
        if (twin[i])
            peers[i].z85[0] = '\0';
}

/*
 * Fills out[0 .. vs->count) for a new set: keys, Z85 User-Ids and endpoints, with a DEALER
 * for each peer that needs one, taken over from p->peers when the key and endpoint are
 * unchanged (taken[j] marks old peer j as reused) and opened otherwise. Returns 0, or an
 * error with st set after closing what it opened (p->peers untouched).
 */
static int s_peers_plan(ec_p2p_t *p, const ec_valset_t *vs,
                        const char (*endpoints)[EC_P2P_ENDPOINT_MAX], uint32_t me,
                        s_peer_t out[EC_VALIDATORS_MAX], bool taken[EC_VALIDATORS_MAX],
                        ec_status_t *st)
{
    bool opened[EC_VALIDATORS_MAX] = {false};
    memset(out, 0, EC_VALIDATORS_MAX * sizeof *out);
    memset(taken, 0, EC_VALIDATORS_MAX * sizeof *taken);
    for (uint32_t i = 0; i < vs->count; i++) {
        s_peer_t *q = &out[i];
        memcpy(q->pk, vs->v[i].pk, EC_PK_BYTES);
        if (ec_curve_pk(q->curve_pk, q->pk) != 0 ||
            !zmq_z85_encode(q->z85, q->curve_pk, EC_CURVE_KEY_BYTES)) {
            q->z85[0] = '\0'; /* never connected to, never accepted */
            ec_warn("p2p: validator %u's key is no Curve25519 point: it is neither connected "
                    "to nor accepted",
                    i);
        }
    }
    s_twins_disable(out, vs->count);
    for (uint32_t i = 0; i < vs->count; i++) {
        s_peer_t *q = &out[i];
        /* Outside the set a node still connects to every validator: they refuse it until
         * they take it in, and it needs their blocks to learn that they did. */
        if (i == me || !q->z85[0] || !endpoints[i][0])
            continue;
        memcpy(q->endpoint, endpoints[i], strlen(endpoints[i]) + 1);
        for (uint32_t j = 0; j < p->count && !q->dealer; j++) {
            const s_peer_t *old = &p->peers[j];
            if (old->dealer && !taken[j] && memcmp(old->pk, q->pk, EC_PK_BYTES) == 0 &&
                strcmp(old->endpoint, q->endpoint) == 0) {
                q->dealer = old->dealer;
                q->heard_ms = old->heard_ms;
                q->sent_ms = old->sent_ms;
                q->heard = old->heard;
                q->sent = old->sent;
                q->alive = old->alive;
                taken[j] = true;
            }
        }
        if (q->dealer)
            continue;
        int rc = s_dealer_open(p, q, &q->dealer, st);
        if (rc != 0) {
            for (uint32_t k = 0; k < i; k++)
                if (opened[k])
                    zmq_close(out[k].dealer);
            return rc;
        }
        opened[i] = true;
    }
    return 0;
}

/* Makes a planned table current: closes the DEALERs not taken over, installs the table
 * and the allow-list. Cannot fail. */
static void s_peers_commit(ec_p2p_t *p, const s_peer_t plan[EC_VALIDATORS_MAX],
                           const bool taken[EC_VALIDATORS_MAX], uint32_t count, uint32_t me)
{
    for (uint32_t j = 0; j < p->count; j++)
        if (p->peers[j].dealer && !taken[j])
            zmq_close(p->peers[j].dealer);
    memcpy(p->peers, plan, sizeof p->peers);
    p->count = count;
    p->me = me;
    s_zap_set(&p->zap, p->peers, p->count, p->me);
}

/* ---- the instance ----------------------------------------------------------------------- */

ec_p2p_t *ec_p2p_new(const ec_p2p_config_t *cfg, ec_status_t *st)
{
    assert(cfg && cfg->key && cfg->vs && cfg->endpoints);
    if (s_check_set(cfg->key, cfg->vs, cfg->endpoints, cfg->me, st) != 0)
        return NULL;
    const char *bind = cfg->bind_endpoint;
    if (!bind && cfg->me != UINT32_MAX)
        bind = cfg->endpoints[cfg->me];
    if (!bind || !bind[0] || !s_endpoint_ok(bind, true)) {
        ec_status_set(st, EC_ECONFIG, "p2p: no tcp:// or ipc:// endpoint to bind");
        return NULL;
    }
    if (cfg->message_bytes_max < 1 || cfg->message_bytes_max > INT64_MAX - S_CURVE_FRAME_OVERHEAD ||
        cfg->queue_max < 1 || cfg->queue_max > INT32_MAX) {
        ec_status_set(st, EC_ECONFIG, "p2p: message_bytes_max and queue_max must be positive");
        return NULL;
    }
    ec_p2p_t *p = calloc(1, sizeof *p);
    if (!p) {
        ec_status_set(st, EC_ENOMEM, "p2p: out of memory");
        return NULL;
    }
    p->key = cfg->key;
    p->me = UINT32_MAX;
    p->message_bytes_max = cfg->message_bytes_max;
    p->queue_max = cfg->queue_max;
    p->ctx = zmq_ctx_new();
    if (!p->ctx) {
        ec_status_set(st, EC_EINTERNAL, "p2p: zmq_ctx_new: %s", zmq_strerror(errno));
        ec_p2p_destroy(&p);
        return NULL;
    }
    /* The allow-list is in place before the ROUTER is bound, and the ZAP handler before
     * either (file comment). */
    s_peer_t plan[EC_VALIDATORS_MAX];
    bool taken[EC_VALIDATORS_MAX];
    if (s_zap_start(p, st) != 0 ||
        s_peers_plan(p, cfg->vs, cfg->endpoints, cfg->me, plan, taken, st) != 0) {
        ec_p2p_destroy(&p);
        return NULL;
    }
    s_peers_commit(p, plan, taken, cfg->vs->count, cfg->me);
    if (s_router_open(p, bind, st) != 0)
        ec_p2p_destroy(&p);
    return p;
}

void ec_p2p_destroy(ec_p2p_t **self_p)
{
    assert(self_p);
    ec_p2p_t *p = *self_p;
    if (!p)
        return;
    for (uint32_t i = 0; i < p->count; i++)
        if (p->peers[i].dealer)
            zmq_close(p->peers[i].dealer);
    if (p->router)
        zmq_close(p->router);
    if (p->ctx) {
        /* Ends the ZAP thread's wait (ETERM); it closes its socket, then the context can
         * terminate: every socket is closed, all with linger 0. */
        (void)zmq_ctx_shutdown(p->ctx);
        if (p->zap_started)
            (void)pthread_join(p->zap_thread, NULL);
        else if (p->zap_rep)
            zmq_close(p->zap_rep);
        while (zmq_ctx_term(p->ctx) != 0 && errno == EINTR)
            ;
    }
    if (p->zap_mu_ready)
        (void)pthread_mutex_destroy(&p->zap.mu);
    free(p);
    *self_p = NULL;
}

void *ec_p2p_socket(ec_p2p_t *p)
{
    assert(p);
    return p->router;
}

int ec_p2p_send(ec_p2p_t *p, uint32_t peer, const void *data, size_t size)
{
    assert(p && (data || size == 0));
    if (size > p->message_bytes_max)
        return EC_ETOOBIG;
    if (size == 0 || peer >= p->count || !p->peers[peer].dealer)
        return EC_EBUSY; /* an empty message is the links' keepalive, never a payload */
    if (zmq_send(p->peers[peer].dealer, data, size, ZMQ_DONTWAIT) >= 0) {
        p->peers[peer].sent = true;
        return 0;
    }
    return errno == ENOMEM ? EC_ENOMEM : EC_EBUSY;
}

uint32_t ec_p2p_broadcast(ec_p2p_t *p, const void *data, size_t size)
{
    assert(p && (data || size == 0));
    if (size == 0 || size > p->message_bytes_max)
        return 0;
    zmq_msg_t src;
    if (zmq_msg_init_size(&src, size) != 0)
        return 0;
    if (size)
        memcpy(zmq_msg_data(&src), data, size);
    uint32_t took = 0;
    for (uint32_t i = 0; i < p->count; i++) {
        if (!p->peers[i].dealer)
            continue;
        /* zmq_msg_copy shares the content of a large message (a reference count), so a
         * proposal is copied once, not once per peer. */
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_copy(&m, &src) == 0 &&
            zmq_msg_send(&m, p->peers[i].dealer, ZMQ_DONTWAIT) >= 0) {
            p->peers[i].sent = true;
            took++;
        } else
            zmq_msg_close(&m);
    }
    zmq_msg_close(&src);
    return took;
}

/* The index of the validator whose User-Id (Z85 Curve key) is `user`, or UINT32_MAX. */
static uint32_t s_sender(const ec_p2p_t *p, const char *user)
{
    if (!user || strnlen(user, S_Z85_BYTES) != S_Z85_BYTES - 1)
        return UINT32_MAX;
    for (uint32_t i = 0; i < p->count; i++)
        if (i != p->me && p->peers[i].z85[0] && strcmp(p->peers[i].z85, user) == 0)
            return i;
    return UINT32_MAX;
}

/* Receives one frame without blocking into m, which is initialised here either way (empty
 * when nothing came). Returns true when one was there; false when nothing waits (or a
 * signal interrupted). */
static bool s_recv_frame(void *s, zmq_msg_t *m)
{
    zmq_msg_init(m);
    if (zmq_msg_recv(m, s, ZMQ_DONTWAIT) >= 0)
        return true;
    /* Our own context and socket, open while the instance lives: nothing else can fail. */
    assert(errno == EAGAIN || errno == EINTR);
    return false;
}

int ec_p2p_recv(ec_p2p_t *p, zmq_msg_t *msg, uint32_t *from)
{
    assert(p && msg && from);
    *from = UINT32_MAX;
    zmq_msg_init(msg); /* initialised from here on, whatever happens */
    for (int dropped = 0; dropped < S_RECV_DROPS_MAX; dropped++) {
        zmq_msg_t rid;
        bool got = s_recv_frame(p->router, &rid);
        bool more = got && zmq_msg_more(&rid);
        zmq_msg_close(&rid);
        if (!got)
            break;
        /* A ROUTER message is [routing id, frames...], delivered whole. */
        zmq_msg_close(msg);
        if (!more || !s_recv_frame(p->router, msg))
            continue;
        bool multi = zmq_msg_more(msg);
        for (bool rest = multi; rest;) {
            zmq_msg_t extra;
            rest = s_recv_frame(p->router, &extra) && zmq_msg_more(&extra);
            zmq_msg_close(&extra);
        }
        uint32_t who = multi ? UINT32_MAX : s_sender(p, zmq_msg_gets(msg, "User-Id"));
        if (who != UINT32_MAX) {
            p->peers[who].heard = true;
            if (zmq_msg_size(msg) > 0) {
                *from = who;
                return 0;
            }
        }
        zmq_msg_close(msg);
        zmq_msg_init(msg);
    }
    return EC_ENOTFOUND;
}

int ec_p2p_update(ec_p2p_t *p, const ec_valset_t *vs, const char (*endpoints)[EC_P2P_ENDPOINT_MAX],
                  uint32_t me, ec_status_t *st)
{
    assert(p && vs && endpoints);
    int rc = s_check_set(p->key, vs, endpoints, me, st);
    if (rc != 0)
        return rc;
    s_peer_t plan[EC_VALIDATORS_MAX];
    bool taken[EC_VALIDATORS_MAX];
    rc = s_peers_plan(p, vs, endpoints, me, plan, taken, st);
    if (rc != 0)
        return rc;
    s_peers_commit(p, plan, taken, vs->count, me);
    return 0;
}

/* Replaces peer q's DEALER by a new one, which connects afresh; the old one's queue is
 * dropped. On failure (logged) the old DEALER stays. */
static void s_dealer_reopen(ec_p2p_t *p, uint32_t i, uint64_t now_ms)
{
    s_peer_t *q = &p->peers[i];
    void *fresh = NULL;
    ec_status_t st = {0};
    if (s_dealer_open(p, q, &fresh, &st) != 0) {
        ec_warn("p2p: cannot reconnect to validator %u: %s", i, st.msg);
        return;
    }
    zmq_close(q->dealer);
    q->dealer = fresh;
    q->heard_ms = q->sent_ms = now_ms;
    q->heard = q->sent = q->alive = false;
}

void ec_p2p_tick(ec_p2p_t *p, uint64_t now_ms)
{
    assert(p);
    /* Messages waiting unread may be the silent peer's: no verdict on anyone until the
     * caller has taken them (a busy node is not a silent network). */
    int events = 0;
    size_t len = sizeof events;
    bool backlog =
        zmq_getsockopt(p->router, ZMQ_EVENTS, &events, &len) == 0 && (events & ZMQ_POLLIN);
    for (uint32_t i = 0; i < p->count; i++) {
        s_peer_t *q = &p->peers[i];
        if (!q->dealer)
            continue;
        if (q->heard_ms == 0)
            q->heard_ms = q->sent_ms = now_ms; /* the first tick since the DEALER opened */
        if (q->heard) {
            q->heard_ms = now_ms;
            q->heard = false;
            q->alive = true;
        }
        if (q->sent) {
            q->sent_ms = now_ms;
            q->sent = false;
        }
        if (now_ms - q->sent_ms >= S_KEEPALIVE_MS) {
            (void)zmq_send(q->dealer, "", 0, ZMQ_DONTWAIT); /* dropped when down: fine */
            q->sent_ms = now_ms;
        }
        if (!backlog && now_ms - q->heard_ms >= S_SILENCE_MS) {
            if (q->alive)
                ec_info("p2p: nothing from validator %u for %d ms: reconnecting", i, S_SILENCE_MS);
            s_dealer_reopen(p, i, now_ms);
        }
    }
}

uint32_t ec_p2p_connected(const ec_p2p_t *p)
{
    assert(p);
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->count; i++) {
        if (!p->peers[i].dealer)
            continue;
        /* With ZMQ_IMMEDIATE a DEALER attaches its pipe only once the handshake is done and
         * drops it on disconnection, so it can take a message exactly when it is connected
         * (and its queue has room). */
        int events = 0;
        size_t len = sizeof events;
        if (zmq_getsockopt(p->peers[i].dealer, ZMQ_EVENTS, &events, &len) == 0 &&
            (events & ZMQ_POLLOUT))
            n++;
    }
    return n;
}
