/*
 * test_p2p.c - the CurveZMQ links between validators (common/ec_p2p.c) over real sockets:
 * ipc:// endpoints in a temporary folder, and tcp://127.0.0.1 on ports picked from the pid
 * (the next range is tried while a bind fails).
 *
 * Covered: messages both ways and broadcasts with the right sender index; the largest
 * message allowed passes and a frame over message_bytes_max drops the connection, which
 * comes back; clients that must not get through (a key outside the set, no CurveZMQ, this
 * node's own key, two validators sharing a Curve key) deliver nothing, while a raw client
 * with a validator's key does, one frame at a time; a send to a peer that is down fails at
 * once and nothing is queued for later; a peer that stops answering (SIGSTOP, in a child
 * process) is dropped by the liveness tick; a hostile validator that sends to the link
 * this node only writes to, then hangs up, does not bring it down; validator-set changes (a fourth
 * validator that started early gets in once the others move to its set, one leaves and indexes
 * shift, this node leaves and comes back); a node outside the set; instances made and destroyed
 * over and over leave no thread behind; connected counts; bad configurations. Raw test
 * clients live in a context of the test's own, whose socket the polls also watch, so
 * zmq_poll is shown to take sockets of several contexts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "ec_p2p.h"
#include "test_util.h"

#define N_MAX 5               /* validators a test uses at most                       */
#define WAIT_MS 5000          /* the longest any expected event may take              */
#define QUIET_MS 100          /* how long "nothing arrives" is watched                */
#define RAW_MAX 8             /* raw test clients per test                            */
#define MSG_MAX 4096          /* test messages are smaller                            */
#define BYTES_MAX (64 * 1024) /* message_bytes_max unless a test says otherwise     */

typedef struct {
    char dir[64];                                    /* the ipc folder                    */
    void *zctx;                                      /* raw clients and the foreign socket */
    void *foreign;                                   /* a socket of another context, polled */
    ec_key_t *keys[N_MAX];                           /* validator keys, seeds 1..N_MAX     */
    ec_key_t *stranger;                              /* a key in no set                    */
    char ep[EC_VALIDATORS_MAX][EC_P2P_ENDPOINT_MAX]; /* endpoint of key k (by key)     */
    ec_p2p_t *node[N_MAX];                           /* instance holding key k, or NULL    */
    /* raw test clients, closed by the teardown even when a test fails half-way (an open
     * socket would hold zmq_ctx_term, and the run, forever) */
    void *raw[RAW_MAX];
    int raw_count;
} s_net_t;

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* ---- fixture ---------------------------------------------------------------------------- */

static int s_setup(void **state)
{
    s_net_t *net = calloc(1, sizeof *net);
    assert_non_null(net);
    tu_tmpdir_make(net->dir, sizeof net->dir, "p2p");
    for (int k = 0; k < N_MAX; k++) {
        net->keys[k] = tu_key((uint8_t)(k + 1));
        snprintf(net->ep[k], EC_P2P_ENDPOINT_MAX, "ipc://%s/v%d", net->dir, k);
    }
    net->stranger = tu_key(0x99);
    net->zctx = zmq_ctx_new();
    assert_non_null(net->zctx);
    net->foreign = zmq_socket(net->zctx, ZMQ_PAIR);
    assert_non_null(net->foreign);
    assert_int_equal(zmq_bind(net->foreign, "inproc://foreign"), 0);
    *state = net;
    return 0;
}

static int s_teardown(void **state)
{
    s_net_t *net = *state;
    for (int k = 0; k < N_MAX; k++) {
        ec_p2p_destroy(&net->node[k]);
        ec_key_destroy(&net->keys[k]);
    }
    ec_key_destroy(&net->stranger);
    for (int i = 0; i < net->raw_count; i++)
        zmq_close(net->raw[i]);
    zmq_close(net->foreign);
    zmq_ctx_term(net->zctx);
    tu_tmpdir_remove(net->dir);
    free(net);
    return 0;
}

/* A set of the keys listed in ks (n of them), in that order, with their endpoints. */
static void s_set(const s_net_t *net, const int *ks, uint32_t n, ec_valset_t *vs,
                  char (*eps)[EC_P2P_ENDPOINT_MAX])
{
    memset(vs, 0, sizeof *vs);
    vs->count = n;
    for (uint32_t i = 0; i < n; i++) {
        memcpy(vs->v[i].pk, ec_key_pk(net->keys[ks[i]]), EC_PK_BYTES);
        vs->v[i].power = 1;
        memcpy(eps[i], net->ep[ks[i]], EC_P2P_ENDPOINT_MAX);
    }
}

/* The configuration of key k as validator me of vs, with endpoints eps (the caller keeps
 * both while it is used) and the test's bounds; outside the set (me UINT32_MAX) it binds
 * its own endpoint. */
static ec_p2p_config_t s_config(const s_net_t *net, int k, uint32_t me, const ec_valset_t *vs,
                                char (*eps)[EC_P2P_ENDPOINT_MAX])
{
    return (ec_p2p_config_t){.key = net->keys[k],
                             .vs = vs,
                             .endpoints = (const char(*)[EC_P2P_ENDPOINT_MAX])eps,
                             .bind_endpoint = me == UINT32_MAX ? net->ep[k] : NULL,
                             .me = me,
                             .message_bytes_max = BYTES_MAX,
                             .queue_max = 16};
}

/* Starts the instance of key k as validator `me` of the set ks (or outside it with
 * me == UINT32_MAX, bound at its own endpoint); fails the test if it cannot. */
static void s_start_max(s_net_t *net, int k, const int *ks, uint32_t n, uint32_t me,
                        size_t bytes_max)
{
    ec_valset_t vs;
    char eps[EC_VALIDATORS_MAX][EC_P2P_ENDPOINT_MAX] = {{0}};
    s_set(net, ks, n, &vs, eps);
    ec_p2p_config_t cfg = s_config(net, k, me, &vs, eps);
    cfg.message_bytes_max = bytes_max;
    ec_status_t st = {0};
    net->node[k] = ec_p2p_new(&cfg, &st);
    if (!net->node[k])
        fail_msg("ec_p2p_new for key %d: %s", k, st.msg);
}

static void s_start(s_net_t *net, int k, const int *ks, uint32_t n, uint32_t me)
{
    s_start_max(net, k, ks, n, me, BYTES_MAX);
}

/* Moves the instance of key k to the set ks, as validator me; fails the test if it cannot. */
static void s_update(s_net_t *net, int k, const int *ks, uint32_t n, uint32_t me)
{
    ec_valset_t vs;
    char eps[EC_VALIDATORS_MAX][EC_P2P_ENDPOINT_MAX] = {{0}};
    s_set(net, ks, n, &vs, eps);
    ec_status_t st = {0};
    if (ec_p2p_update(net->node[k], &vs, (const char(*)[EC_P2P_ENDPOINT_MAX])eps, me, &st) != 0)
        fail_msg("ec_p2p_update for key %d: %s", k, st.msg);
}

/* Waits until the instance counts n connected peers; fails the test after WAIT_MS. */
static void s_wait_connected(ec_p2p_t *p, uint32_t n)
{
    int64_t deadline = s_now_ms() + WAIT_MS;
    while (ec_p2p_connected(p) != n) {
        if (s_now_ms() > deadline)
            fail_msg("connected stays %u, not %u", ec_p2p_connected(p), n);
        s_sleep_ms(2);
    }
}

/*
 * Waits up to timeout_ms for a message on p (polling its socket together with the foreign
 * socket of another context), copying it into buf (NUL-terminated) with its sender.
 * Returns 0 or EC_ENOTFOUND.
 */
static int s_recv_wait(s_net_t *net, ec_p2p_t *p, int timeout_ms, char *buf, size_t cap,
                       uint32_t *from)
{
    int64_t deadline = s_now_ms() + timeout_ms;
    for (;;) {
        zmq_msg_t m;
        int rc = ec_p2p_recv(p, &m, from);
        if (rc == 0) {
            size_t n = zmq_msg_size(&m);
            assert_true(n < cap);
            memcpy(buf, zmq_msg_data(&m), n);
            buf[n] = '\0';
            zmq_msg_close(&m);
            return 0;
        }
        assert_int_equal(rc, EC_ENOTFOUND);
        assert_int_equal(zmq_msg_size(&m), 0);
        zmq_msg_close(&m);
        int64_t left = deadline - s_now_ms();
        if (left <= 0)
            return EC_ENOTFOUND;
        zmq_pollitem_t items[2] = {{net->foreign, 0, ZMQ_POLLIN, 0},
                                   {ec_p2p_socket(p), 0, ZMQ_POLLIN, 0}};
        assert_true(zmq_poll(items, 2, (long)left) >= 0);
        assert_int_equal(items[0].revents, 0);
    }
}

/* Receives one message on the instance of key k within WAIT_MS and checks it. */
static void s_expect(s_net_t *net, int k, const char *text, uint32_t from)
{
    char buf[MSG_MAX];
    uint32_t got = 0;
    if (s_recv_wait(net, net->node[k], WAIT_MS, buf, sizeof buf, &got) != 0)
        fail_msg("key %d: no message, expected '%s' from %u", k, text, from);
    assert_string_equal(buf, text);
    assert_int_equal(got, from);
}

/* Checks that nothing arrives at the instance of key k for QUIET_MS. */
static void s_expect_nothing(s_net_t *net, int k)
{
    char buf[MSG_MAX];
    uint32_t got = 0;
    int rc = s_recv_wait(net, net->node[k], QUIET_MS, buf, sizeof buf, &got);
    if (rc == 0)
        fail_msg("key %d got '%s' from %u, expected nothing", k, buf, got);
}

static void s_send(s_net_t *net, int k, uint32_t peer, const char *text)
{
    assert_int_equal(ec_p2p_send(net->node[k], peer, text, strlen(text)), 0);
}

/* ---- messages --------------------------------------------------------------------------- */

/* Every one of three validators sends to each other one and broadcasts; each message
 * arrives once, with the sender's index in the set. */
static void s_exchange(s_net_t *net, const int *ks, uint32_t n)
{
    char text[64];
    for (uint32_t i = 0; i < n; i++)
        s_wait_connected(net->node[ks[i]], n - 1);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < n; j++)
            if (i != j) {
                snprintf(text, sizeof text, "%u to %u", i, j);
                s_send(net, ks[i], j, text);
            }
    for (uint32_t j = 0; j < n; j++)
        for (uint32_t i = 0; i < n; i++)
            if (i != j) {
                /* one DEALER per sender, so messages from different senders may come in
                 * any order: take the next one and check it against its sender */
                char buf[MSG_MAX];
                uint32_t from = 0;
                assert_int_equal(
                    s_recv_wait(net, net->node[ks[j]], WAIT_MS, buf, sizeof buf, &from), 0);
                snprintf(text, sizeof text, "%u to %u", from, j);
                assert_string_equal(buf, text);
            }
    for (uint32_t i = 0; i < n; i++) {
        snprintf(text, sizeof text, "all from %u", i);
        assert_int_equal(ec_p2p_broadcast(net->node[ks[i]], text, strlen(text)), n - 1);
    }
    for (uint32_t j = 0; j < n; j++) {
        bool seen[N_MAX] = {false};
        for (uint32_t c = 0; c + 1 < n; c++) {
            char buf[MSG_MAX];
            uint32_t from = 0;
            assert_int_equal(s_recv_wait(net, net->node[ks[j]], WAIT_MS, buf, sizeof buf, &from),
                             0);
            assert_true(from < n && from != j && !seen[from]);
            seen[from] = true;
            snprintf(text, sizeof text, "all from %u", from);
            assert_string_equal(buf, text);
        }
        s_expect_nothing(net, ks[j]);
    }
}

static void test_exchange_ipc(void **state)
{
    s_net_t *net = *state;
    const int ks[3] = {0, 1, 2};
    for (uint32_t i = 0; i < 3; i++)
        s_start(net, ks[i], ks, 3, i);
    s_exchange(net, ks, 3);
    /* sends that cannot be: to me, past the set, too big */
    char big[BYTES_MAX + 1];
    memset(big, 'x', sizeof big);
    assert_int_equal(ec_p2p_send(net->node[0], 0, "x", 1), EC_EBUSY);
    assert_int_equal(ec_p2p_send(net->node[0], 3, "x", 1), EC_EBUSY);
    assert_int_equal(ec_p2p_send(net->node[0], 1, big, sizeof big), EC_ETOOBIG);
    assert_int_equal(ec_p2p_broadcast(net->node[0], big, sizeof big), 0);
    /* an empty message is the keepalive, no payload: refused */
    assert_int_equal(ec_p2p_send(net->node[0], 1, NULL, 0), EC_EBUSY);
    assert_int_equal(ec_p2p_broadcast(net->node[0], NULL, 0), 0);
    /* the largest message allowed goes through; a keepalive (ec_p2p_tick, when nothing
     * went to a peer for a second) reaches the peer but is never handed out */
    assert_int_equal(ec_p2p_send(net->node[0], 1, big, BYTES_MAX), 0);
    s_sleep_ms(1100);
    ec_p2p_tick(net->node[0], 1);    /* the first tick starts the clocks */
    ec_p2p_tick(net->node[0], 1002); /* a second later: keepalives go out */
    assert_int_equal(ec_p2p_send(net->node[0], 1, "after", 5), 0);
    zmq_msg_t m;
    uint32_t from = 9;
    zmq_pollitem_t item = {ec_p2p_socket(net->node[1]), 0, ZMQ_POLLIN, 0};
    for (int got = 0; got < 2;) {
        assert_int_equal(zmq_poll(&item, 1, WAIT_MS), 1);
        if (ec_p2p_recv(net->node[1], &m, &from) == 0) {
            assert_int_equal(from, 0);
            assert_int_equal(zmq_msg_size(&m), got == 0 ? BYTES_MAX : 5);
            got++;
        }
        zmq_msg_close(&m);
    }
}

/* A tcp port range from the pid, so that parallel test runs rarely meet; the next range
 * is tried while a bind fails. */
static void test_exchange_tcp(void **state)
{
    s_net_t *net = *state;
    const int ks[3] = {0, 1, 2};
    char ipc[N_MAX][EC_P2P_ENDPOINT_MAX];
    memcpy(ipc, net->ep, sizeof ipc);
    bool up = false;
    for (int attempt = 0; attempt < 20 && !up; attempt++) {
        int base = 20000 + (int)((getpid() * 7 + attempt * 101) % 40000);
        for (int k = 0; k < 3; k++)
            snprintf(net->ep[k], EC_P2P_ENDPOINT_MAX, "tcp://127.0.0.1:%d", base + k);
        up = true;
        for (uint32_t i = 0; i < 3 && up; i++) {
            ec_valset_t vs;
            char eps[EC_VALIDATORS_MAX][EC_P2P_ENDPOINT_MAX] = {{0}};
            s_set(net, ks, 3, &vs, eps);
            ec_p2p_config_t cfg = s_config(net, i, i, &vs, eps);
            ec_status_t st = {0};
            net->node[i] = ec_p2p_new(&cfg, &st);
            if (!net->node[i]) {
                assert_int_equal(st.code, EC_EIO); /* port taken: next range */
                up = false;
            }
        }
        if (!up)
            for (int k = 0; k < 3; k++)
                ec_p2p_destroy(&net->node[k]);
    }
    assert_true(up);
    s_exchange(net, ks, 3);

    /* A second instance on a port in use cannot bind: EC_EIO, and nothing is left over. */
    ec_valset_t vs;
    char eps[EC_VALIDATORS_MAX][EC_P2P_ENDPOINT_MAX] = {{0}};
    s_set(net, ks, 3, &vs, eps);
    ec_p2p_config_t cfg = s_config(net, 0, 0, &vs, eps);
    ec_status_t st = {0};
    assert_null(ec_p2p_new(&cfg, &st));
    assert_int_equal(st.code, EC_EIO);
    memcpy(net->ep, ipc, sizeof ipc);
}

/*
 * A frame over the receiver's message_bytes_max closes that connection: nothing arrives,
 * nothing crashes, and ZeroMQ reconnects, so later messages get through again.
 */
static void test_too_big_drops_connection(void **state)
{
    s_net_t *net = *state;
    const int ks[2] = {0, 1};
    s_start_max(net, 0, ks, 2, 0, 1024);
    s_start_max(net, 1, ks, 2, 1, BYTES_MAX);
    s_wait_connected(net->node[1], 1);
    char big[2048];
    memset(big, 'b', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(ec_p2p_send(net->node[1], 0, big, sizeof big), 0);
    s_expect_nothing(net, 0);
    /* The link comes back by itself (reconnection after 100 ms): keep sending until one
     * arrives. */
    int64_t deadline = s_now_ms() + WAIT_MS;
    char buf[MSG_MAX];
    uint32_t from = 9;
    for (;;) {
        assert_true(s_now_ms() < deadline);
        int rc = ec_p2p_send(net->node[1], 0, "again", 5);
        assert_true(rc == 0 || rc == EC_EBUSY); /* EC_EBUSY while reconnecting */
        if (s_recv_wait(net, net->node[0], 20, buf, sizeof buf, &from) == 0)
            break;
    }
    assert_string_equal(buf, "again");
    assert_int_equal(from, 1);
    /* and the instance that refused it still refuses to send such a thing itself */
    assert_int_equal(ec_p2p_send(net->node[0], 1, big, sizeof big), EC_ETOOBIG);
}

/* ---- clients that must not get through -------------------------------------------------- */

/* A raw DEALER towards endpoint: CurveZMQ with client key k and the server's key unless k
 * is NULL (no security at all); with ZMQ_IMMEDIATE when `immediate`. The teardown closes it. */
static void *s_raw_dealer(s_net_t *net, const ec_key_t *k, const ec_key_t *server,
                          const char *endpoint, bool immediate)
{
    void *s = zmq_socket(net->zctx, ZMQ_DEALER);
    assert_non_null(s);
    int zero = 0, imm = immediate;
    assert_int_equal(zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero), 0);
    assert_int_equal(zmq_setsockopt(s, ZMQ_IMMEDIATE, &imm, sizeof imm), 0);
    if (k) {
        assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, ec_key_curve_pk(server), 32), 0);
        assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, ec_key_curve_pk(k), 32), 0);
        assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, ec_key_curve_sk(k), 32), 0);
    }
    assert_int_equal(zmq_connect(s, endpoint), 0);
    assert_true(net->raw_count < RAW_MAX);
    net->raw[net->raw_count++] = s;
    return s;
}

/* True when the raw DEALER s (ZMQ_IMMEDIATE) has finished a handshake within ms. */
static bool s_raw_up(void *s, int ms)
{
    zmq_pollitem_t item = {s, 0, ZMQ_POLLOUT, 0};
    return zmq_poll(&item, 1, ms) == 1;
}

/*
 * The ZAP handler refuses, during the handshake, a CurveZMQ client whose key is outside
 * the set, and one with this node's own key; a client without CurveZMQ fails the
 * handshake. None of them delivers anything. A raw client with a validator's key (the
 * control) is accepted and its one-frame messages arrive from that validator's index,
 * while its multi-frame messages are dropped.
 */
static void test_strangers_refused(void **state)
{
    s_net_t *net = *state;
    const int ks[2] = {0, 1};
    s_start(net, 0, ks, 2, 0); /* validator 1 never starts: the test plays it */
    const ec_key_t *client[3] = {net->stranger, net->keys[0], NULL};
    const ec_key_t *server[3] = {net->keys[0], net->keys[0], NULL};
    void *probe[3], *blind[3];
    void *valid = s_raw_dealer(net, net->keys[1], net->keys[0], net->ep[0], true);
    for (int i = 0; i < 3; i++) {
        probe[i] = s_raw_dealer(net, client[i], server[i], net->ep[0], true);
        blind[i] = s_raw_dealer(net, client[i], server[i], net->ep[0], false);
    }
    assert_true(s_raw_up(valid, WAIT_MS));
    /* With ZMQ_IMMEDIATE a DEALER can send once its handshake is done: never, here. */
    s_sleep_ms(QUIET_MS);
    for (int i = 0; i < 3; i++)
        assert_false(s_raw_up(probe[i], 0));
    /* Without it sends queue up, waiting for a handshake that never succeeds. Between a
     * refused handshake and the next attempt the DEALER has no pipe, and libzmq backs its
     * reconnections off, so on a loaded machine even a bounded blocking send may find none
     * (EAGAIN): either way nothing may arrive, which is what is checked next. */
    const int send_wait = WAIT_MS;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(zmq_setsockopt(blind[i], ZMQ_SNDTIMEO, &send_wait, sizeof send_wait), 0);
        int sent = zmq_send(blind[i], "evil", 4, 0);
        assert_true(sent == 4 || (sent == -1 && zmq_errno() == EAGAIN));
    }
    s_expect_nothing(net, 0);
    /* the control: one frame arrives as validator 1's; two frames are dropped */
    assert_int_equal(zmq_send(valid, "part", 4, ZMQ_SNDMORE), 4);
    assert_int_equal(zmq_send(valid, "two", 3, 0), 3);
    assert_int_equal(zmq_send(valid, "one", 3, 0), 3);
    s_expect(net, 0, "one", 1);
    s_expect_nothing(net, 0);
}

/* ---- peers that are down, connected counts ---------------------------------------------- */

/*
 * A send to a peer that is down fails at once with EC_EBUSY and is not queued: once the
 * peer is up, the first thing it receives is what was sent after it connected.
 */
static void test_peer_down(void **state)
{
    s_net_t *net = *state;
    const int ks[2] = {0, 1};
    s_start(net, 0, ks, 2, 0);
    assert_int_equal(ec_p2p_connected(net->node[0]), 0);
    /* Refused at once (EC_EBUSY), not queued: nothing of it arrives below. */
    for (int i = 0; i < 1000; i++)
        assert_int_equal(ec_p2p_send(net->node[0], 1, "stale", 5), EC_EBUSY);
    assert_int_equal(ec_p2p_broadcast(net->node[0], "stale", 5), 0);
    s_start(net, 1, ks, 2, 1);
    s_wait_connected(net->node[0], 1);
    s_send(net, 0, 1, "fresh");
    s_expect(net, 1, "fresh", 0);
    s_expect_nothing(net, 1);
    s_wait_connected(net->node[1], 1);
    s_send(net, 1, 0, "back");
    s_expect(net, 0, "back", 1);
}

/* Counts follow peers going away and coming back. */
static void test_connected_counts(void **state)
{
    s_net_t *net = *state;
    const int ks[3] = {0, 1, 2};
    for (uint32_t i = 0; i < 3; i++)
        s_start(net, ks[i], ks, 3, i);
    for (int k = 0; k < 3; k++)
        s_wait_connected(net->node[k], 2);
    ec_p2p_destroy(&net->node[2]);
    s_wait_connected(net->node[0], 1);
    s_wait_connected(net->node[1], 1);
    assert_int_equal(ec_p2p_send(net->node[0], 2, "gone", 4), EC_EBUSY);
    s_start(net, 2, ks, 3, 2);
    for (int k = 0; k < 3; k++)
        s_wait_connected(net->node[k], 2);
    s_send(net, 0, 2, "welcome back");
    s_expect(net, 2, "welcome back", 0);
}

/* Ticks p and takes what waits on it, for about ms milliseconds. */
static void s_tend(ec_p2p_t *p, int ms)
{
    for (int64_t end = s_now_ms() + ms; s_now_ms() < end; s_sleep_ms(50)) {
        ec_p2p_tick(p, (uint64_t)s_now_ms());
        zmq_msg_t m;
        uint32_t from;
        while (ec_p2p_recv(p, &m, &from) == 0)
            zmq_msg_close(&m);
        zmq_msg_close(&m);
    }
}

/*
 * A peer whose process stops answering (SIGSTOP: its kernel still holds the connection
 * open, as with a host cut off) is dropped within about 3 s of silence (ec_p2p_tick), and
 * sends to it fail at once from then on; while it ran, its keepalives kept it connected
 * although it sent nothing else. The peer runs in a child process, killed at the end.
 */
static void test_heartbeat_drops_stopped_peer(void **state)
{
    s_net_t *net = *state;
    const int ks[2] = {0, 1};
    ec_valset_t vs;
    char eps[EC_VALIDATORS_MAX][EC_P2P_ENDPOINT_MAX] = {{0}};
    s_set(net, ks, 2, &vs, eps);
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The child plays validator 1 until it is killed; no cmocka here. */
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        alarm(30);
        ec_p2p_config_t cfg = s_config(net, 1, 1, &vs, eps);
        ec_status_t st = {0};
        ec_p2p_t *p = ec_p2p_new(&cfg, &st);
        char ok = p != NULL;
        if (write(ready[1], &ok, 1) != 1 || !ok)
            _exit(1);
        for (;;)
            s_tend(p, 1000);
    }
    close(ready[1]);
    char ok = 0;
    assert_int_equal(read(ready[0], &ok, 1), 1);
    close(ready[0]);
    assert_true(ok);
    s_start(net, 0, ks, 2, 0);
    s_wait_connected(net->node[0], 1);
    s_send(net, 0, 1, "are you there");
    s_tend(net->node[0], 4000); /* longer than the silence bound: keepalives hold it */
    assert_int_equal(ec_p2p_connected(net->node[0]), 1);
    assert_int_equal(kill(pid, SIGSTOP), 0);
    int64_t t0 = s_now_ms();
    while (ec_p2p_connected(net->node[0]) != 0) {
        assert_true(s_now_ms() - t0 < 6000);
        s_tend(net->node[0], 10);
    }
    int64_t took = s_now_ms() - t0;
    assert_true(took >= 1000); /* not at once: a second of silence is no reason */
    assert_int_equal(ec_p2p_send(net->node[0], 1, "gone?", 5), EC_EBUSY);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
}

/*
 * A hostile validator answers on the link this node only writes to: it sends to the
 * DEALER (which never reads, so its queue fills) and hangs up. libzmq 4.3.4 aborted the
 * process there when ZMTP heartbeats were on (ec_p2p.c); now this node lives on, drops
 * the dead link, and connects again once an honest process holds the key.
 */
static void test_hostile_answer_then_hang_up(void **state)
{
    s_net_t *net = *state;
    const int ks[2] = {0, 1};
    void *evil = zmq_socket(net->zctx, ZMQ_ROUTER);
    assert_non_null(evil);
    net->raw[net->raw_count++] = evil;
    int on = 1, zero = 0;
    assert_int_equal(zmq_setsockopt(evil, ZMQ_LINGER, &zero, sizeof zero), 0);
    assert_int_equal(zmq_setsockopt(evil, ZMQ_CURVE_SERVER, &on, sizeof on), 0);
    assert_int_equal(zmq_setsockopt(evil, ZMQ_CURVE_SECRETKEY, ec_key_curve_sk(net->keys[1]),
                                    EC_CURVE_KEY_BYTES),
                     0);
    assert_int_equal(zmq_bind(evil, net->ep[1]), 0);
    s_start(net, 0, ks, 2, 0);
    s_wait_connected(net->node[0], 1);
    s_send(net, 0, 1, "hello");
    zmq_msg_t rid, body;
    zmq_msg_init(&rid);
    zmq_msg_init(&body);
    assert_true(zmq_msg_recv(&rid, evil, 0) >= 0);
    assert_true(zmq_msg_recv(&body, evil, 0) >= 0);
    zmq_msg_close(&body);
    for (int i = 0; i < 32; i++) {
        zmq_msg_t copy;
        zmq_msg_init(&copy);
        assert_int_equal(zmq_msg_copy(&copy, &rid), 0);
        assert_true(zmq_msg_send(&copy, evil, ZMQ_SNDMORE) >= 0);
        assert_true(zmq_send(evil, "unasked", 7, 0) == 7);
    }
    zmq_msg_close(&rid);
    s_sleep_ms(200);
    zmq_close(evil);
    net->raw[--net->raw_count] = NULL;
    /* the process would have aborted within about 2 s; the dead link goes within 4 */
    int64_t t0 = s_now_ms();
    while (ec_p2p_connected(net->node[0]) != 0) {
        assert_true(s_now_ms() - t0 < 6000);
        s_tend(net->node[0], 10);
    }
    s_tend(net->node[0], 2500);
    s_start(net, 1, ks, 2, 1);
    s_wait_connected(net->node[0], 1);
    s_send(net, 0, 1, "honest now");
    s_expect(net, 1, "honest now", 0);
}

/* ---- validator-set changes -------------------------------------------------------------- */

/*
 * A fourth validator starts with the set it will join: the others refuse it until they
 * move to that set, then everyone talks. Then validator 1 leaves: indexes shift (key 3 is
 * now validator 2), its messages are dropped although its old connections stay, and the
 * others stop connecting to it. Last, a node that left the set stops connecting at all.
 */
static void test_update(void **state)
{
    s_net_t *net = *state;
    const int three[3] = {0, 1, 2}, four[4] = {0, 1, 2, 3}, left[3] = {0, 2, 3};
    for (uint32_t i = 0; i < 3; i++)
        s_start(net, three[i], three, 3, i);
    s_start(net, 3, four, 4, 3);
    for (int k = 0; k < 3; k++)
        s_wait_connected(net->node[k], 2);
    assert_int_equal(ec_p2p_broadcast(net->node[3], "early", 5), 0);
    s_expect_nothing(net, 0);
    assert_int_equal(ec_p2p_connected(net->node[3]), 0); /* refused by all three */

    /* a bad update changes nothing */
    ec_valset_t vs;
    char eps[EC_VALIDATORS_MAX][EC_P2P_ENDPOINT_MAX] = {{0}};
    s_set(net, four, 4, &vs, eps);
    ec_status_t st = {0};
    assert_int_equal(
        ec_p2p_update(net->node[0], &vs, (const char(*)[EC_P2P_ENDPOINT_MAX])eps, 1, &st),
        EC_ECONFIG);
    s_send(net, 0, 1, "still three");
    s_expect(net, 1, "still three", 0);

    for (uint32_t i = 0; i < 3; i++)
        s_update(net, four[i], four, 4, i);
    for (int k = 0; k < 4; k++)
        s_wait_connected(net->node[k], 3);
    for (uint32_t i = 0; i < 3; i++) {
        s_send(net, 3, i, "hello from 3");
        s_expect(net, four[i], "hello from 3", 3);
        s_send(net, four[i], 3, "hello to 3");
        s_expect(net, 3, "hello to 3", i);
    }

    /* validator 1 leaves; 0, 2, 3 become 0, 1, 2 */
    for (uint32_t i = 0; i < 3; i++)
        s_update(net, left[i], left, 3, i);
    for (uint32_t i = 0; i < 3; i++)
        s_wait_connected(net->node[left[i]], 2);
    s_send(net, 1, 0, "I am still here"); /* key 1 still runs with the four */
    s_expect_nothing(net, 0);
    s_send(net, 3, 0, "index 2 now");
    s_expect(net, 0, "index 2 now", 2);
    s_send(net, 0, 1, "to key 2");
    s_expect(net, 2, "to key 2", 0);
    s_send(net, 2, 2, "to key 3");
    s_expect(net, 3, "to key 3", 1);

    /* key 1 learns it left: it keeps listening and trying, but nobody takes it in */
    s_update(net, 1, left, 3, UINT32_MAX);
    /* its links that were up stay up (ZeroMQ checks keys at the handshake only), but what
     * it sends is dropped: none of the three knows its key any more */
    (void)ec_p2p_broadcast(net->node[1], "x", 1);
    for (uint32_t i = 0; i < 3; i++)
        s_expect_nothing(net, left[i]);
    /* and it can be brought back, as the last of a new set */
    const int back[4] = {0, 2, 3, 1};
    s_update(net, 1, back, 4, 3);
    s_update(net, 0, back, 4, 0);
    s_wait_connected(net->node[1], 3); /* its links stayed up while it was out */
    s_send(net, 1, 0, "back in");
    s_expect(net, 0, "back in", 3);
}

/*
 * Validators whose keys convert to one Curve25519 key (validator 1's key and its negation)
 * are neither connected to nor accepted, since a message could not be told to be from one
 * rather than the other; the rest of the set works.
 */
static void test_curve_twins(void **state)
{
    s_net_t *net = *state;
    const int ks[2] = {0, 1};
    ec_valset_t vs;
    char eps[EC_VALIDATORS_MAX][EC_P2P_ENDPOINT_MAX] = {{0}};
    s_set(net, ks, 2, &vs, eps);
    vs.count = 3;
    memcpy(vs.v[2].pk, vs.v[1].pk, EC_PK_BYTES);
    vs.v[2].pk[31] ^= 0x80; /* the sign of x: the negated point */
    vs.v[2].power = 1;
    uint8_t c1[EC_CURVE_KEY_BYTES], c2[EC_CURVE_KEY_BYTES];
    assert_int_equal(ec_curve_pk(c1, vs.v[1].pk), 0);
    assert_int_equal(ec_curve_pk(c2, vs.v[2].pk), 0);
    assert_memory_equal(c1, c2, EC_CURVE_KEY_BYTES);
    memcpy(eps[2], net->ep[1], EC_P2P_ENDPOINT_MAX);
    ec_p2p_config_t cfg = s_config(net, 0, 0, &vs, eps);
    ec_status_t st = {0};
    net->node[0] = ec_p2p_new(&cfg, &st);
    assert_non_null(net->node[0]);
    s_start(net, 1, ks, 2, 1); /* validator 1 itself knows no twin */
    s_sleep_ms(QUIET_MS);
    assert_int_equal(ec_p2p_connected(net->node[0]), 0);
    assert_int_equal(ec_p2p_connected(net->node[1]), 0); /* refused */
    assert_int_equal(ec_p2p_send(net->node[0], 1, "x", 1), EC_EBUSY);
    assert_int_equal(ec_p2p_send(net->node[0], 2, "x", 1), EC_EBUSY);
    void *blind = s_raw_dealer(net, net->keys[1], net->keys[0], net->ep[0], false);
    assert_int_equal(zmq_send(blind, "twin", 4, 0), 4);
    s_expect_nothing(net, 0);
}

/* ---- life cycle ------------------------------------------------------------------------- */

/* Threads of this process now (entries of /proc/self/task). */
static int s_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Instances made and destroyed in turn, on the same endpoints, work every time, and the
 * last destroy leaves exactly the threads there were before the first. */
static void test_recreate(void **state)
{
    s_net_t *net = *state;
    const int ks[2] = {0, 1};
    int before = s_threads();
    for (int round = 0; round < 4; round++) {
        s_start(net, 0, ks, 2, 0);
        s_start(net, 1, ks, 2, 1);
        assert_true(s_threads() > before);
        s_wait_connected(net->node[0], 1);
        s_send(net, 0, 1, "round");
        s_expect(net, 1, "round", 0);
        ec_p2p_destroy(&net->node[round % 2]);
        ec_p2p_destroy(&net->node[1 - round % 2]);
        ec_p2p_destroy(&net->node[0]); /* idempotent */
    }
    assert_int_equal(s_threads(), before);
}

/* A node outside the set listens at its bind endpoint and lets the set's validators in. */
static void test_outside_the_set(void **state)
{
    s_net_t *net = *state;
    const int ks[2] = {0, 1};
    s_start(net, 0, ks, 2, 0);
    s_start(net, 2, ks, 2, UINT32_MAX);
    /* validator 0 does not know key 2's endpoint, so the test connects a raw client with
     * validator 1's key to it */
    void *valid = s_raw_dealer(net, net->keys[1], net->keys[2], net->ep[2], true);
    assert_true(s_raw_up(valid, WAIT_MS));
    assert_int_equal(zmq_send(valid, "to an outsider", 14, 0), 14);
    s_expect(net, 2, "to an outsider", 1);
    assert_int_equal(ec_p2p_connected(net->node[2]), 0);
}

/* ---- configuration ---------------------------------------------------------------------- */

static int s_new_rc(ec_p2p_config_t *cfg)
{
    ec_status_t st = {0};
    ec_p2p_t *p = ec_p2p_new(cfg, &st);
    if (p) {
        ec_p2p_destroy(&p);
        return 0;
    }
    assert_true(st.msg[0] != '\0');
    return st.code;
}

static void test_config_errors(void **state)
{
    s_net_t *net = *state;
    const int ks[3] = {0, 1, 2};
    ec_valset_t vs;
    char eps[EC_VALIDATORS_MAX][EC_P2P_ENDPOINT_MAX] = {{0}};
    s_set(net, ks, 3, &vs, eps);
    ec_p2p_config_t good = s_config(net, 0, 0, &vs, eps);
    good.message_bytes_max = 100;
    good.queue_max = 1;
    ec_p2p_config_t c = good;
    assert_int_equal(s_new_rc(&c), 0);
    c.me = 1; /* not this key's index */
    assert_int_equal(s_new_rc(&c), EC_ECONFIG);
    c.me = 3; /* past the set */
    assert_int_equal(s_new_rc(&c), EC_ECONFIG);
    c.me = UINT32_MAX; /* the key is in the set after all */
    assert_int_equal(s_new_rc(&c), EC_ECONFIG);
    c = good;
    c.key = net->stranger;
    c.me = UINT32_MAX; /* outside the set, but then a bind endpoint is needed */
    assert_int_equal(s_new_rc(&c), EC_ECONFIG);
    c.bind_endpoint = "ipc:///nonexistent-folder/x";
    assert_int_equal(s_new_rc(&c), EC_EIO);
    c = good;
    c.queue_max = 0;
    assert_int_equal(s_new_rc(&c), EC_ECONFIG);
    c = good;
    c.message_bytes_max = 0;
    assert_int_equal(s_new_rc(&c), EC_ECONFIG);
    c = good;
    c.bind_endpoint = "inproc://p2p";
    assert_int_equal(s_new_rc(&c), EC_ECONFIG);
    const char *bad[] = {"udp://127.0.0.1:1",     "tcp://127.0.0.1", "tcp://127.0.0.1:*",
                         "tcp://127.0.0.1:70000", "inproc://x",      "ipc://"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        strcpy(eps[2], bad[i]);
        assert_int_equal(s_new_rc(&good), EC_ECONFIG);
    }
    memset(eps[2], 'a', EC_P2P_ENDPOINT_MAX); /* no NUL */
    assert_int_equal(s_new_rc(&good), EC_ECONFIG);
    eps[2][0] = '\0'; /* unknown address: fine */
    assert_int_equal(s_new_rc(&good), 0);
    eps[0][0] = '\0'; /* but this node's own is needed to bind */
    assert_int_equal(s_new_rc(&good), EC_ECONFIG);
    memcpy(eps[0], net->ep[0], EC_P2P_ENDPOINT_MAX);
    memcpy(vs.v[2].pk, vs.v[1].pk, EC_PK_BYTES); /* one key twice */
    assert_int_equal(s_new_rc(&good), EC_ECONFIG);
    /* a validator whose key is no curve point is skipped, not an error */
    memset(vs.v[2].pk, 0, EC_PK_BYTES);
    assert_int_equal(s_new_rc(&good), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_exchange_ipc, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_exchange_tcp, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_too_big_drops_connection, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_strangers_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_peer_down, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_connected_counts, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_drops_stopped_peer, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_hostile_answer_then_hang_up, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_update, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_curve_twins, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_recreate, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_outside_the_set, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, s_setup, s_teardown),
    };
    if (ec_crypto_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
