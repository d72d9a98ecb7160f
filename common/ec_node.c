/*
 * ec_node.c - a node's life cycle (ec_node.h): configuration checks, the ledger and guard,
 * the sockets and threads (ec_node_priv.h has the map), signals, and the orderly stop.
 *
 * Stop (ec_node_run after a signal or ec_node_stop; or ec_node_destroy):
 *   1. the halt pipe becomes readable: verifiers and the core thread finish what they are
 *      doing (the core thread the block it is storing) and exit; the rpc thread stops
 *      taking submissions (answers them EC_ESHUTDOWN) and says so;
 *   2. the stopping thread joins them, answers every submission still queued with
 *      EC_ESHUTDOWN and frees the engine, whose mempool's clients hear the same;
 *   3. the final pipe tells the rpc thread to forward the last replies, answer what is
 *      still arriving, and exit.
 * Sockets are closed only after every thread is joined, so no queued reply is dropped.
 */
#include "ec_node.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ec_log.h"
#include "ec_node_priv.h"
#include "ec_rpc.h"

/* Requests up to this size get an EC_ETOOBIG reply; bigger ones are cut off by ZeroMQ. */
#define S_ROUTER_MAXMSG ((int64_t)EC_RPC_MESSAGE_BYTES_MAX + 1024 * 1024)
/* Replies larger than this are handed to ZeroMQ without a copy. */
#define S_ZEROCOPY_BYTES (64u * 1024)
/* How long the ROUTER may keep flushing the last replies when the node stops. */
#define S_ROUTER_LINGER_MS 200
/* In-process queue bound, in messages (each a pointer). */
#define S_QUEUE 100000

/* ---- shared helpers (ec_node_priv.h) ------------------------------------------------------ */

uint64_t ec_node_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t ec_node_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Makes a pipe whose write end never blocks; used as a level-triggered flag. */
static int s_pipe(int fds[2])
{
    if (pipe2(fds, O_CLOEXEC) != 0)
        return EC_EINTERNAL;
    if (fcntl(fds[1], F_SETFL, O_NONBLOCK) != 0)
        return EC_EINTERNAL;
    return 0;
}

void ec_node_pipe_raise(int fd)
{
    if (fd >= 0) {
        ssize_t n = write(fd, "!", 1);
        (void)n; /* a full pipe is already raised */
    }
}

void ec_node_fatal(ec_node_t *node, int code)
{
    int expected = 0;
    atomic_compare_exchange_strong(&node->fatal, &expected, code);
    ec_node_pipe_raise(node->stop_pipe[1]);
}

void ec_node_sub_release(ec_pending_t *p)
{
    ec_sub_t *sub = (ec_sub_t *)p;
    if (!sub)
        return;
    if (p->decoded)
        ec_tx_fini(&p->tx);
    if (sub->client)
        ec_client_submit_done(sub->clients, sub->client, sub->charged);
    zmq_msg_close(&sub->route);
    zmq_msg_close(&sub->frame);
    free(sub);
}

static void s_free_data(void *data, void *hint)
{
    (void)hint;
    free(data);
}

/* Sends [route, bytes] on sock (a PUSH towards the rpc thread, or the ROUTER). The route
 * message is consumed. Large replies are handed over without a copy (w is then emptied). */
void ec_node_send_reply(void *sock, zmq_msg_t *route, ec_writer_t *w, int flags)
{
    if (zmq_msg_send(route, sock, ZMQ_SNDMORE | flags) < 0) {
        zmq_msg_close(route);
        return;
    }
    size_t size = ec_writer_size(w);
    if (size >= S_ZEROCOPY_BYTES) {
        uint8_t *data = ec_writer_take(w, &size);
        zmq_msg_t msg;
        if (zmq_msg_init_data(&msg, data, size, s_free_data, NULL) != 0) {
            free(data);
            return;
        }
        if (zmq_msg_send(&msg, sock, flags) < 0)
            zmq_msg_close(&msg);
        return;
    }
    if (zmq_send(sock, ec_writer_data(w), size, flags) < 0)
        ec_debug("reply dropped: %s", zmq_strerror(errno));
}

void ec_node_sub_refuse(void *push, ec_writer_t *w, ec_sub_t *sub, int code, const char *msg)
{
    if (code >= 0)
        code = EC_EINTERNAL;
    ec_writer_reset(w);
    ec_rpc_reply_error(w, sub->req_id, code, msg && msg[0] ? msg : ec_strerror(code));
    ec_node_send_reply(push, &sub->route, w, 0);
    ec_node_sub_release(&sub->pending);
}

int ec_node_push_ptr(void *sock, void *ptr, int halt_fd)
{
    for (;;) {
        if (zmq_send(sock, &ptr, sizeof(ptr), ZMQ_DONTWAIT) == (int)sizeof(ptr))
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return EC_EINTERNAL;
        zmq_pollitem_t items[2] = {{sock, 0, ZMQ_POLLOUT, 0}, {NULL, halt_fd, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 2, -1) < 0 && errno != EINTR)
            return EC_EINTERNAL;
        if (items[1].revents & ZMQ_POLLIN)
            return EC_ESHUTDOWN;
    }
}

void *ec_node_pull_ptr(void *sock)
{
    void *ptr = NULL;
    if (!sock || zmq_recv(sock, &ptr, sizeof(ptr), ZMQ_DONTWAIT) != (int)sizeof(ptr))
        return NULL;
    return ptr;
}

/* ---- start-up ----------------------------------------------------------------------------- */

static int s_check_config(const ec_node_config_t *cfg, ec_status_t *st)
{
    if (!cfg->data_dir || !cfg->rpc_endpoint || !cfg->pub_endpoint || !cfg->genesis ||
        !cfg->validator_key)
        return ec_status_set(st, EC_ECONFIG,
                             "node config needs data_dir, rpc, pub, genesis and key");
    if (cfg->verify_threads < 1 || cfg->verify_threads > EC_NODE_VERIFY_THREADS_MAX)
        return ec_status_set(st, EC_ECONFIG, "verify_threads must be 1..%u",
                             EC_NODE_VERIFY_THREADS_MAX);
    if (cfg->block_txs_max < 1 || cfg->block_txs_max > EC_BLOCK_TXS_MAX)
        return ec_status_set(st, EC_ECONFIG, "block_txs_max must be 1..%u", EC_BLOCK_TXS_MAX);
    if (cfg->mempool_max < 1 || cfg->mempool_max > EC_NODE_MEMPOOL_MAX)
        return ec_status_set(st, EC_ECONFIG, "mempool_max must be 1..%u", EC_NODE_MEMPOOL_MAX);
    if (cfg->block_interval_ms > 3600u * 1000)
        return ec_status_set(st, EC_ECONFIG, "block_interval_ms must be at most one hour");
    if (cfg->peer_count > EC_NODE_PEERS_MAX)
        return ec_status_set(st, EC_ECONFIG, "at most %u peers", EC_NODE_PEERS_MAX);
    return 0;
}

/*
 * Opens the guard file beside the store: created for a new store (or with --adopt-store),
 * required for one that has blocks. The engine checks the store against it.
 */
static int s_guard_open(ec_node_t *node, ec_status_t *st)
{
    char path[EC_GUARD_PATH_MAX];
    uint64_t tip = ec_ledger_height(node->ledger);
    if (snprintf(path, sizeof path, "%s/%s", node->data_dir, EC_GUARD_FILE) >= (int)sizeof path)
        return ec_status_set(st, EC_ECONFIG, "data_dir is too long");
    bool create = tip == 0 || node->cfg.adopt_store;
    node->guard = ec_guard_open(path, create, &node->guard_created, st);
    if (!node->guard && st->code == EC_ENOTFOUND)
        return ec_status_set(st, EC_EIO,
                             "%s holds blocks up to height %llu but no guard file: nothing "
                             "proves the store kept every block this node committed; if you "
                             "know it is complete (made by a version without guard files), "
                             "run --check and then start once with --adopt-store",
                             node->data_dir, (unsigned long long)tip);
    if (!node->guard)
        return st->code;
    if (node->guard_created && tip > 0)
        ec_warn("adopting the store in %s at height %llu as complete (--adopt-store)",
                node->data_dir, (unsigned long long)tip);
    return 0;
}

static void *s_socket(ec_node_t *node, int type, int linger, int sndhwm, int rcvhwm)
{
    void *s = zmq_socket(node->zctx, type);
    if (!s)
        return NULL;
    if (zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
        zmq_setsockopt(s, ZMQ_SNDHWM, &sndhwm, sizeof(sndhwm)) != 0 ||
        zmq_setsockopt(s, ZMQ_RCVHWM, &rcvhwm, sizeof(rcvhwm)) != 0) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

static int s_bind_connect(ec_node_t *node, ec_status_t *st)
{
    if (zmq_bind(node->router, node->rpc_endpoint) != 0)
        return ec_status_set(st, EC_EIO, "cannot bind rpc %s: %s", node->rpc_endpoint,
                             zmq_strerror(errno));
    if (zmq_bind(node->pub, node->pub_endpoint) != 0)
        return ec_status_set(st, EC_EIO, "cannot bind pub %s: %s", node->pub_endpoint,
                             zmq_strerror(errno));
    if (zmq_bind(node->verify_push, EC_NODE_EP_VERIFY) != 0 ||
        zmq_bind(node->jobs_push, EC_NODE_EP_VERIFY_JOBS) != 0 ||
        zmq_bind(node->core_pull, EC_NODE_EP_CORE) != 0 ||
        zmq_bind(node->core_jobs_pull, EC_NODE_EP_CORE_JOBS) != 0 ||
        zmq_bind(node->reply_pull, EC_NODE_EP_REPLY) != 0 ||
        zmq_connect(node->core_reply, EC_NODE_EP_REPLY) != 0 ||
        zmq_connect(node->stop_reply, EC_NODE_EP_REPLY) != 0)
        return ec_status_set(st, EC_EINTERNAL, "inproc: %s", zmq_strerror(errno));
    for (uint32_t i = 0; i < node->verifier_count; i++) {
        ec_verifier_t *v = &node->verifiers[i];
        if (zmq_connect(v->pull, EC_NODE_EP_VERIFY) != 0 ||
            zmq_connect(v->jobs_pull, EC_NODE_EP_VERIFY_JOBS) != 0 ||
            zmq_connect(v->core_push, EC_NODE_EP_CORE) != 0 ||
            zmq_connect(v->jobs_push, EC_NODE_EP_CORE_JOBS) != 0 ||
            zmq_connect(v->reply_push, EC_NODE_EP_REPLY) != 0)
            return ec_status_set(st, EC_EINTERNAL, "inproc: %s", zmq_strerror(errno));
    }
    return 0;
}

static int s_sockets(ec_node_t *node, ec_status_t *st)
{
    node->zctx = zmq_ctx_new();
    if (!node->zctx)
        return ec_status_set(st, EC_EINTERNAL, "zmq_ctx_new: %s", zmq_strerror(errno));
    /* Per connection: replies are bounded in bytes by the client table (ec_clients.h); the
     * incoming queue holds at most 1000 requests, which the rpc thread drains at once. */
    node->router = s_socket(node, ZMQ_ROUTER, S_ROUTER_LINGER_MS, S_QUEUE, 1000);
    node->pub = s_socket(node, ZMQ_PUB, 0, 1000, 1000);
    node->verify_push = s_socket(node, ZMQ_PUSH, 0, S_QUEUE, S_QUEUE);
    node->jobs_push = s_socket(node, ZMQ_PUSH, 0, S_QUEUE, S_QUEUE);
    node->core_pull = s_socket(node, ZMQ_PULL, 0, S_QUEUE, S_QUEUE);
    node->core_jobs_pull = s_socket(node, ZMQ_PULL, 0, S_QUEUE, S_QUEUE);
    node->reply_pull = s_socket(node, ZMQ_PULL, 0, 0, 0);
    node->core_reply = s_socket(node, ZMQ_PUSH, 0, 0, 0);
    node->stop_reply = s_socket(node, ZMQ_PUSH, 0, 0, 0);
    if (!node->router || !node->pub || !node->verify_push || !node->jobs_push || !node->core_pull ||
        !node->core_jobs_pull || !node->reply_pull || !node->core_reply || !node->stop_reply)
        return ec_status_set(st, EC_EINTERNAL, "zmq_socket: %s", zmq_strerror(errno));
    int off = 0;
    int64_t maxmsg = S_ROUTER_MAXMSG;
    if (zmq_setsockopt(node->router, ZMQ_ROUTER_MANDATORY, &off, sizeof(off)) != 0 ||
        zmq_setsockopt(node->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) != 0)
        return ec_status_set(st, EC_EINTERNAL, "zmq_setsockopt: %s", zmq_strerror(errno));
    node->verifiers = calloc(node->cfg.verify_threads, sizeof(*node->verifiers));
    if (!node->verifiers)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    node->verifier_count = node->cfg.verify_threads;
    for (uint32_t i = 0; i < node->verifier_count; i++) {
        ec_verifier_t *v = &node->verifiers[i];
        v->node = node;
        v->pull = s_socket(node, ZMQ_PULL, 0, S_QUEUE, S_QUEUE);
        v->jobs_pull = s_socket(node, ZMQ_PULL, 0, S_QUEUE, S_QUEUE);
        v->core_push = s_socket(node, ZMQ_PUSH, 0, S_QUEUE, S_QUEUE);
        v->jobs_push = s_socket(node, ZMQ_PUSH, 0, S_QUEUE, S_QUEUE);
        v->reply_push = s_socket(node, ZMQ_PUSH, 0, 0, 0);
        if (!v->pull || !v->jobs_pull || !v->core_push || !v->jobs_push || !v->reply_push)
            return ec_status_set(st, EC_EINTERNAL, "zmq_socket: %s", zmq_strerror(errno));
    }
    return s_bind_connect(node, st);
}

/* Starts the threads with SIGINT and SIGTERM blocked, so only ec_node_run sees them. */
static int s_start(ec_node_t *node, ec_status_t *st)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = 0;
    if (pthread_create(&node->rpc_thread, NULL, ec_node_rpc_main, node) == 0)
        node->rpc_started = true;
    else
        rc = EC_EINTERNAL;
    for (uint32_t i = 0; rc == 0 && i < node->verifier_count; i++) {
        ec_verifier_t *v = &node->verifiers[i];
        if (pthread_create(&v->thread, NULL, ec_node_verify_main, v) == 0)
            v->started = true;
        else
            rc = EC_EINTERNAL;
    }
    if (rc == 0 && pthread_create(&node->core_thread, NULL, ec_node_core_main, node) == 0)
        node->core_started = true;
    else if (rc == 0)
        rc = EC_EINTERNAL;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc ? ec_status_set(st, rc, "cannot start threads") : 0;
}

static int s_copy_config(ec_node_t *node, const ec_node_config_t *cfg, ec_status_t *st)
{
    node->cfg = *cfg;
    node->genesis = *cfg->genesis;
    node->data_dir = strdup(cfg->data_dir);
    node->rpc_endpoint = strdup(cfg->rpc_endpoint);
    node->pub_endpoint = strdup(cfg->pub_endpoint);
    node->p2p_endpoint = strdup(cfg->p2p_endpoint ? cfg->p2p_endpoint : "");
    node->metrics_addr = strdup(cfg->metrics_addr ? cfg->metrics_addr : "");
    if (!node->data_dir || !node->rpc_endpoint || !node->pub_endpoint || !node->p2p_endpoint ||
        !node->metrics_addr)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    node->cfg.metrics_addr = node->metrics_addr;
    node->cfg.data_dir = node->data_dir;
    node->cfg.rpc_endpoint = node->rpc_endpoint;
    node->cfg.pub_endpoint = node->pub_endpoint;
    node->cfg.p2p_endpoint = node->p2p_endpoint;
    node->cfg.genesis = &node->genesis;
    if (cfg->peer_count > 0)
        memcpy(node->peers, cfg->peers, cfg->peer_count * sizeof *cfg->peers);
    node->cfg.peers = node->peers;
    ec_genesis_hash(node->genesis_hash, &node->genesis);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_genesis_encode(&w, &node->genesis);
    node->genesis_bytes = ec_writer_take(&w, &node->genesis_size);
    ec_writer_fini(&w);
    if (!node->genesis_bytes)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    /* The strict decoder is the one judge of a valid genesis: what we serve must pass it. */
    ec_genesis_t check;
    if (ec_genesis_decode(&check, node->genesis_bytes, node->genesis_size) != 0)
        return ec_status_set(st, EC_ECONFIG, "the genesis of chain \"%s\" is not valid",
                             node->genesis.chain_id);
    return 0;
}

static int s_init(ec_node_t *node, const ec_node_config_t *cfg, ec_app_t *app, ec_status_t *st)
{
    node->app = app;
    int rc = s_copy_config(node, cfg, st);
    if (rc != 0)
        return rc;
    ec_clients_limits_t limits = {
        .max = cfg->clients_max ? cfg->clients_max : EC_NODE_CLIENTS_MAX_DEFAULT,
        .queued_max = cfg->client_reply_bytes_max ? cfg->client_reply_bytes_max
                                                  : EC_NODE_CLIENT_REPLY_BYTES_DEFAULT,
        .inflight_max = cfg->client_submit_bytes_max ? cfg->client_submit_bytes_max
                                                     : EC_NODE_CLIENT_SUBMIT_BYTES_DEFAULT,
        .total_inflight_max =
            cfg->submit_bytes_max ? cfg->submit_bytes_max : EC_NODE_SUBMIT_BYTES_DEFAULT,
    };
    node->clients = ec_clients_new(&limits);
    node->srv.leaves = calloc(EC_BLOCK_TXS_MAX, sizeof(*node->srv.leaves));
    if (!node->clients || !node->srv.leaves)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    node->ledger = ec_ledger_open(node->data_dir, st);
    if (!node->ledger)
        return st->code ? st->code : EC_EIO;
    if ((rc = s_guard_open(node, st)) != 0 || (rc = ec_node_metrics_init(node, st)) != 0)
        return rc;
    if (s_pipe(node->stop_pipe) || s_pipe(node->halt_pipe) || s_pipe(node->final_pipe))
        return ec_status_set(st, EC_EINTERNAL, "pipe: %s", strerror(errno));
    if ((rc = s_sockets(node, st)) != 0 || (rc = ec_node_core_init(node, st)) != 0)
        return rc;
    return s_start(node, st);
}

ec_node_t *ec_node_new(const ec_node_config_t *cfg, ec_app_t *app, ec_status_t *st)
{
    assert(cfg && app && app->check_tx && app->deliver_tx && app->end_block);
    ec_status_t local = {0};
    if (!st)
        st = &local;
    ec_status_clear(st);
    if (s_check_config(cfg, st) != 0)
        return NULL;
    if (ec_crypto_init() != 0) {
        ec_status_set(st, EC_EINTERNAL, "libsodium failed to initialise");
        return NULL;
    }
    ec_node_t *node = calloc(1, sizeof(*node));
    if (!node) {
        ec_status_set(st, EC_ENOMEM, "out of memory");
        return NULL;
    }
    node->stop_pipe[0] = node->stop_pipe[1] = -1;
    node->halt_pipe[0] = node->halt_pipe[1] = -1;
    node->final_pipe[0] = node->final_pipe[1] = -1;
    atomic_store(&node->stats.validator, UINT32_MAX);
    ec_writer_init(&node->w_reply);
    ec_decoder_init(&node->srv.req_dec);
    ec_decoder_init(&node->srv.val_dec);
    ec_writer_init(&node->srv.out);
    if (s_init(node, cfg, app, st) != 0) {
        if (st->code == 0)
            ec_status_set(st, EC_EINTERNAL, "node start failed");
        ec_node_destroy(&node);
        return NULL;
    }
    ec_info("%s node for chain %s at height %llu: rpc %s, pub %s, %u verifiers, %u validators%s%s",
            app->name ? app->name : "chain", node->genesis.chain_id,
            (unsigned long long)ec_ledger_height(node->ledger), node->rpc_endpoint,
            node->pub_endpoint, node->verifier_count, atomic_load(&node->stats.validators),
            node->p2p ? ", p2p " : "", node->p2p ? node->p2p_endpoint : "");
    return node;
}

/* ---- stopping ----------------------------------------------------------------------------- */

/* Write ends of the stop pipes of running nodes, for the signal handler. */
#define S_SIGNAL_SLOTS 16
static volatile sig_atomic_t s_signal_fds[S_SIGNAL_SLOTS] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                             -1, -1, -1, -1, -1, -1, -1, -1};
static pthread_mutex_t s_signal_lock = PTHREAD_MUTEX_INITIALIZER;
static int s_signal_users;
static struct sigaction s_old_int, s_old_term;

static void s_on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    for (int i = 0; i < S_SIGNAL_SLOTS; i++)
        if (s_signal_fds[i] >= 0)
            ec_node_pipe_raise(s_signal_fds[i]);
    errno = saved;
}

static void s_signal_register(int fd, bool on)
{
    pthread_mutex_lock(&s_signal_lock);
    for (int i = 0; i < S_SIGNAL_SLOTS; i++)
        if (on ? s_signal_fds[i] < 0 : s_signal_fds[i] == fd) {
            s_signal_fds[i] = on ? fd : -1;
            break;
        }
    if (on && s_signal_users++ == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = s_on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &s_old_int);
        sigaction(SIGTERM, &sa, &s_old_term);
    } else if (!on && --s_signal_users == 0) {
        sigaction(SIGINT, &s_old_int, NULL);
        sigaction(SIGTERM, &s_old_term, NULL);
    }
    pthread_mutex_unlock(&s_signal_lock);
}

/* Answers every submission still queued anywhere with EC_ESHUTDOWN and drops job ranges
 * (threads joined; the engine gives the jobs' pendings back when it is freed). */
static void s_drain(ec_node_t *node)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_sub_t *sub;
    ec_chunk_t *chunk;
    uint32_t n = 0;
    for (uint32_t i = 0; i < node->verifier_count; i++) {
        while ((sub = ec_node_pull_ptr(node->verifiers[i].pull)) && ++n) {
            ec_metrics_gauge_add(node->metrics.verify_queue, -1);
            ec_node_metrics_submit(node, EC_ESHUTDOWN);
            ec_node_sub_refuse(node->stop_reply, &w, sub, EC_ESHUTDOWN, "node is stopping");
        }
        while ((chunk = ec_node_pull_ptr(node->verifiers[i].jobs_pull))) {
            if (--*chunk->remaining == 0)
                free(chunk->remaining);
            free(chunk);
        }
    }
    while ((sub = ec_node_pull_ptr(node->core_pull)) && ++n) {
        ec_node_metrics_submit(node, EC_ESHUTDOWN);
        ec_node_sub_refuse(node->stop_reply, &w, sub, EC_ESHUTDOWN, "node is stopping");
    }
    while ((chunk = ec_node_pull_ptr(node->core_jobs_pull))) {
        if (--*chunk->remaining == 0)
            free(chunk->remaining);
        free(chunk);
    }
    ec_writer_fini(&w);
    if (n)
        ec_info("stopping: %u pending transactions refused", n);
}

static void s_shutdown(ec_node_t *node)
{
    if (node->shut_down)
        return;
    node->shut_down = true;
    ec_node_pipe_raise(node->halt_pipe[1]);
    /* Wait until the rpc thread no longer feeds the verifiers (it answers at once). */
    for (int i = 0; node->rpc_started && !atomic_load(&node->intake_closed) && i < 10000; i++)
        usleep(1000);
    for (uint32_t i = 0; i < node->verifier_count; i++)
        if (node->verifiers[i].started) {
            pthread_join(node->verifiers[i].thread, NULL);
            node->verifiers[i].started = false;
        }
    if (node->core_started) {
        pthread_join(node->core_thread, NULL);
        node->core_started = false;
    }
    if (node->stop_reply) {
        s_drain(node);
        ec_node_core_fini(node);
    }
    ec_node_pipe_raise(node->final_pipe[1]);
    if (node->rpc_started) {
        pthread_join(node->rpc_thread, NULL);
        node->rpc_started = false;
    }
}

int ec_node_run(ec_node_t *node)
{
    assert(node);
    if (!node->shut_down) {
        s_signal_register(node->stop_pipe[1], true);
        /* The daemon keeps SIGINT and SIGTERM blocked while it starts; one that arrived
         * meanwhile is delivered here, once the handler is in place. */
        sigset_t stop, old;
        sigemptyset(&stop);
        sigaddset(&stop, SIGINT);
        sigaddset(&stop, SIGTERM);
        pthread_sigmask(SIG_UNBLOCK, &stop, &old);
        struct pollfd p = {node->stop_pipe[0], POLLIN, 0};
        while (poll(&p, 1, -1) < 0 && errno == EINTR)
            ;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        s_signal_register(node->stop_pipe[1], false);
        ec_info("stopping");
        s_shutdown(node);
    }
    return atomic_load(&node->fatal);
}

void ec_node_stop(ec_node_t *node)
{
    if (node)
        ec_node_pipe_raise(node->stop_pipe[1]);
}

static void s_close(void **sock)
{
    if (*sock)
        zmq_close(*sock);
    *sock = NULL;
}

static void s_close_fds(int fds[2])
{
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0) {
            close(fds[i]);
            fds[i] = -1;
        }
}

void ec_node_destroy(ec_node_t **self_p)
{
    assert(self_p);
    ec_node_t *node = *self_p;
    if (!node)
        return;
    /* First: a scrape reads the ledger and the process, which go away below. */
    ec_node_metrics_stop(node);
    s_shutdown(node);
    ec_node_core_fini(node); /* when start-up failed before the threads */
    for (uint32_t i = 0; node->verifiers && i < node->verifier_count; i++) {
        ec_verifier_t *v = &node->verifiers[i];
        s_close(&v->pull);
        s_close(&v->jobs_pull);
        s_close(&v->core_push);
        s_close(&v->jobs_push);
        s_close(&v->reply_push);
    }
    s_close(&node->router);
    s_close(&node->pub);
    s_close(&node->verify_push);
    s_close(&node->jobs_push);
    s_close(&node->core_pull);
    s_close(&node->core_jobs_pull);
    s_close(&node->reply_pull);
    s_close(&node->core_reply);
    s_close(&node->stop_reply);
    if (node->zctx)
        zmq_ctx_term(node->zctx);
    ec_clients_destroy(&node->clients); /* after the context: its free functions use it */
    s_close_fds(node->stop_pipe);
    s_close_fds(node->halt_pipe);
    s_close_fds(node->final_pipe);
    ec_guard_destroy(&node->guard);
    ec_ledger_destroy(&node->ledger);
    ec_writer_fini(&node->w_reply);
    ec_decoder_fini(&node->srv.req_dec);
    ec_decoder_fini(&node->srv.val_dec);
    ec_writer_fini(&node->srv.out);
    free(node->srv.leaves);
    free(node->verifiers);
    free(node->genesis_bytes);
    free(node->data_dir);
    free(node->rpc_endpoint);
    free(node->pub_endpoint);
    free(node->p2p_endpoint);
    free(node->metrics_addr);
    ec_node_metrics_fini(node);
    free(node);
    *self_p = NULL;
}
