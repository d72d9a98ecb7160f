/*
 * ec_node_core.c - the node's verifier threads and its core thread (ec_node.h,
 * ec_node_priv.h).
 *
 * Verifiers check client submissions (a refusal is answered from here; a checked one goes
 * to the core) and ranges of the engine's verification jobs (transactions other
 * validators sent, alone or inside a proposal). Every signature is checked on these
 * threads, in parallel; the core thread checks only consensus votes and proposals (a
 * handful per block).
 *
 * The core thread owns the engine (ec_engine.h) and gives it its environment: the clock,
 * the validator links (ec_p2p), the verifiers, the replies to clients and the PUB socket.
 * It sleeps in zmq_poll until a submission, a job range, a validator message or the
 * engine's next deadline.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec_log.h"
#include "ec_node_priv.h"
#include "ec_p2pmsg.h"
#include "ec_rpc.h"

/* Transactions per verifier range: small enough to spread a proposal over every core,
 * large enough that a range is worth a message. */
#define S_CHUNK_TXS 64
/* Interval of the aggregated "committed" log line. */
#define S_LOG_INTERVAL_MS 1000
#define S_P2P_TICK_MS 250 /* ec_p2p_tick this often (it asks for at least every 500 ms) */
/* Bounds of the validator links. */
#define S_P2P_QUEUE_MAX 64

/* ---- verifier threads -------------------------------------------------------------------- */

/* A client's submission: checked here, refused here or passed on to the core. */
static void s_verify_sub(ec_node_t *node, ec_verifier_t *v, ec_writer_t *w, ec_sub_t *sub)
{
    ec_status_t st = {0};
    int rc = ec_pending_check(&sub->pending, node->genesis.chain_id, node->app, &st);
    if (rc == 0) {
        rc = ec_node_push_ptr(v->core_push, sub, node->halt_pipe[0]);
        if (rc == 0)
            return;
        ec_status_set(&st, rc, "node is stopping");
    }
    ec_debug("refused tx (req %llu): %s", (unsigned long long)sub->req_id, st.msg);
    ec_node_metrics_submit(node, rc);
    ec_node_sub_refuse(v->reply_push, w, sub, rc, st.msg);
}

void *ec_node_verify_main(void *arg)
{
    ec_verifier_t *v = arg;
    ec_node_t *node = v->node;
    pthread_setname_np(pthread_self(), "ec-verify");
    ec_writer_t w;
    ec_writer_init(&w);
    zmq_pollitem_t items[3] = {{v->jobs_pull, 0, ZMQ_POLLIN, 0},
                               {v->pull, 0, ZMQ_POLLIN, 0},
                               {NULL, node->halt_pipe[0], ZMQ_POLLIN, 0}};
    for (;;) {
        if (zmq_poll(items, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            ec_node_fatal(node, EC_EINTERNAL);
            break;
        }
        if (items[2].revents & ZMQ_POLLIN)
            break;
        /* Job ranges first: a proposal waits on them, and with it the whole chain. */
        ec_chunk_t *chunk;
        while ((chunk = ec_node_pull_ptr(v->jobs_pull))) {
            ec_metrics_gauge_add(node->metrics.verify_queue, -(double)(chunk->to - chunk->from));
            ec_verify_job_run(chunk->job, chunk->from, chunk->to, node->genesis.chain_id,
                              node->app);
            if (ec_node_push_ptr(v->jobs_push, chunk, node->halt_pipe[0]) != 0)
                free(chunk); /* stopping: the engine gives the job's pendings back */
        }
        ec_sub_t *sub;
        for (int i = 0; i < EC_NODE_BATCH && (sub = ec_node_pull_ptr(v->pull)); i++) {
            ec_metrics_gauge_add(node->metrics.verify_queue, -1);
            s_verify_sub(node, v, &w, sub);
        }
    }
    ec_writer_fini(&w);
    return NULL;
}

/* ---- the engine's environment (core thread) ---------------------------------------------- */

static uint64_t s_env_now(void *ctx)
{
    (void)ctx;
    return ec_node_mono_ms();
}

static uint64_t s_env_wall(void *ctx)
{
    (void)ctx;
    return ec_node_wall_ms();
}

static void s_env_send(void *ctx, uint32_t peer, const uint8_t *msg, size_t size)
{
    ec_node_t *node = ctx;
    /* A message that cannot go now is dropped: consensus sends again what matters. */
    if (node->p2p && ec_p2p_send(node->p2p, peer, msg, size) != 0)
        return;
}

static void s_env_broadcast(void *ctx, const uint8_t *msg, size_t size)
{
    ec_node_t *node = ctx;
    if (node->p2p)
        (void)ec_p2p_broadcast(node->p2p, msg, size);
}

/* Splits a job into ranges for the verifiers. The ranges come back on core_jobs_pull. */
static void s_env_verify(void *ctx, ec_verify_job_t *job)
{
    ec_node_t *node = ctx;
    uint32_t n = (job->count + S_CHUNK_TXS - 1) / S_CHUNK_TXS;
    uint32_t *remaining = malloc(sizeof *remaining);
    if (!remaining) {
        ec_node_fatal(node, EC_ENOMEM);
        return;
    }
    *remaining = n;
    for (uint32_t i = 0; i < n; i++) {
        ec_chunk_t *c = malloc(sizeof *c);
        if (!c) {
            ec_node_fatal(node, EC_ENOMEM);
            return;
        }
        c->job = job;
        c->from = i * S_CHUNK_TXS;
        c->to = c->from + S_CHUNK_TXS < job->count ? c->from + S_CHUNK_TXS : job->count;
        c->remaining = remaining;
        /* Counted before the push: a verifier may take it (and count it out) at once. */
        ec_metrics_gauge_add(node->metrics.verify_queue, (double)(c->to - c->from));
        if (ec_node_push_ptr(node->jobs_push, c, node->halt_pipe[0]) != 0) {
            ec_metrics_gauge_add(node->metrics.verify_queue, -(double)(c->to - c->from));
            free(c); /* stopping: the engine gives the job's pendings back */
            if (--*remaining == 0)
                free(remaining);
        }
    }
}

/* Answers a client whose transaction the engine is done with. */
static void s_env_done(void *ctx, ec_pending_t *p, int code, uint64_t height, uint32_t index,
                       const char *msg)
{
    ec_node_t *node = ctx;
    ec_sub_t *sub = p->client;
    ec_writer_t *w = &node->w_reply;
    ec_node_metrics_submit(node, code);
    ec_writer_reset(w);
    if (code == 0) {
        ec_rpc_reply_begin(w, sub->req_id);
        ec_write_array(w, 3);
        ec_write_bin(w, p->tx.id, EC_HASH_BYTES);
        ec_write_uint(w, height);
        ec_write_uint(w, index);
    } else {
        ec_rpc_reply_error(w, sub->req_id, code, msg && msg[0] ? msg : ec_strerror(code));
    }
    ec_node_send_reply(node->reply_sock, &sub->route, w, 0);
}

static void s_env_valset(void *ctx, const ec_valset_t *vs, uint32_t me)
{
    ec_node_t *node = ctx;
    atomic_store(&node->stats.validator, me);
    atomic_store(&node->stats.validators, vs->count);
    if (!node->p2p)
        return;
    char(*endpoints)[EC_P2P_ENDPOINT_MAX] = calloc(EC_VALIDATORS_MAX, sizeof *endpoints);
    if (!endpoints) {
        ec_node_fatal(node, EC_ENOMEM);
        return;
    }
    for (uint32_t i = 0; i < vs->count; i++) {
        if (i == me) {
            snprintf(endpoints[i], sizeof endpoints[i], "%s", node->p2p_endpoint);
            continue;
        }
        for (uint32_t k = 0; k < node->cfg.peer_count; k++)
            if (memcmp(node->peers[k].pk, vs->v[i].pk, EC_PK_BYTES) == 0)
                snprintf(endpoints[i], sizeof endpoints[i], "%s", node->peers[k].endpoint);
    }
    ec_status_t st = {0};
    if (ec_p2p_update(node->p2p, vs, (const char(*)[EC_P2P_ENDPOINT_MAX])endpoints, me, &st) != 0)
        ec_warn("validator links: %s", st.msg);
    free(endpoints);
}

static void s_log_flush(ec_node_t *node, bool force)
{
    uint64_t now = ec_node_mono_ms();
    if (node->log_blocks == 0 || (!force && now - node->log_at_ms < S_LOG_INTERVAL_MS))
        return;
    ec_engine_status_t es;
    ec_engine_status(node->engine, &es);
    ec_info("committed height=%llu blocks=%u txs=%u mempool=%u peer_txs_checked=%llu",
            (unsigned long long)ec_ledger_height(node->ledger), node->log_blocks, node->log_txs,
            atomic_load(&node->stats.mempool), (unsigned long long)es.checked);
    node->log_at_ms = now;
    node->log_blocks = node->log_txs = 0;
}

/* One app announcement on PUB: topic "event", then the frame. */
static void s_pub_event(void *pctx, const uint8_t *frame, size_t size)
{
    ec_node_t *node = pctx;
    if (zmq_send(node->pub, "event", 5, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        (void)zmq_send(node->pub, frame, size, ZMQ_DONTWAIT);
}

/* Announces a stored block on PUB (which never blocks: a slow subscriber just misses it). */
static void s_env_committed(void *ctx, uint64_t height, const uint8_t *header, size_t header_size,
                            const uint8_t *commit, size_t commit_size)
{
    ec_node_t *node = ctx;
    if (zmq_send(node->pub, "header", 6, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
        zmq_send(node->pub, header, header_size, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        (void)zmq_send(node->pub, commit, commit_size, ZMQ_DONTWAIT);
    if (node->app->announce)
        node->app->announce(node->app->self, node->ledger, height, s_pub_event, node);
    ec_header_t h;
    if (ec_header_decode(&h, header, header_size) == 0)
        node->log_txs += (uint32_t)h.tx_count;
    node->log_blocks++;
    ec_node_metrics_block(node, header, header_size, commit, commit_size);
}

/* ---- the core thread ---------------------------------------------------------------------- */

static void s_publish(ec_node_t *node)
{
    ec_engine_status_t s;
    ec_engine_status(node->engine, &s);
    atomic_store(&node->stats.mempool, s.mempool);
    atomic_store(&node->stats.round, s.round);
    atomic_store(&node->stats.step, s.step);
    atomic_store(&node->stats.peers, node->p2p ? ec_p2p_connected(node->p2p) : 0);
    ec_node_metrics_publish(node, &s, atomic_load(&node->stats.peers));
}

/* Hands back job ranges; a job complete goes to the engine. */
static int s_take_chunks(ec_node_t *node)
{
    ec_chunk_t *c;
    int rc = 0;
    for (int i = 0; rc == 0 && i < EC_NODE_BATCH && (c = ec_node_pull_ptr(node->core_jobs_pull));
         i++) {
        ec_verify_job_t *job = c->job;
        uint32_t *remaining = c->remaining;
        free(c);
        if (--*remaining > 0)
            continue;
        free(remaining);
        rc = ec_engine_verified(node->engine, job);
    }
    return rc;
}

static int s_take_subs(ec_node_t *node)
{
    ec_sub_t *sub;
    int rc = 0;
    for (int i = 0; rc == 0 && i < EC_NODE_BATCH && (sub = ec_node_pull_ptr(node->core_pull)); i++)
        rc = ec_engine_submit(node->engine, &sub->pending);
    return rc;
}

static int s_take_peers(ec_node_t *node)
{
    int rc = 0;
    for (int i = 0; rc == 0 && node->p2p && i < EC_NODE_BATCH; i++) {
        zmq_msg_t msg;
        uint32_t from = 0;
        if (ec_p2p_recv(node->p2p, &msg, &from) != 0)
            break;
        rc = ec_engine_message(node->engine, from, zmq_msg_data(&msg), zmq_msg_size(&msg));
        zmq_msg_close(&msg);
    }
    return rc;
}

/* How long the core thread may sleep: until the engine's next deadline, a log line or
 * the links' next tick. */
static long s_timeout(ec_node_t *node)
{
    uint64_t due = ec_engine_deadline(node->engine), now = ec_node_mono_ms();
    if (node->log_blocks > 0 && node->log_at_ms + S_LOG_INTERVAL_MS < due)
        due = node->log_at_ms + S_LOG_INTERVAL_MS;
    if (node->p2p && node->p2p_tick_ms + S_P2P_TICK_MS < due)
        due = node->p2p_tick_ms + S_P2P_TICK_MS;
    if (due == UINT64_MAX)
        return -1;
    return due > now ? (long)(due - now) : 0;
}

void *ec_node_core_main(void *arg)
{
    ec_node_t *node = arg;
    pthread_setname_np(pthread_self(), "ec-core");
    zmq_pollitem_t items[4] = {{node->core_jobs_pull, 0, ZMQ_POLLIN, 0},
                               {node->core_pull, 0, ZMQ_POLLIN, 0},
                               {NULL, node->halt_pipe[0], ZMQ_POLLIN, 0},
                               {node->p2p ? ec_p2p_socket(node->p2p) : NULL, 0, ZMQ_POLLIN, 0}};
    int count = node->p2p ? 4 : 3;
    s_publish(node);
    for (;;) {
        if (zmq_poll(items, count, s_timeout(node)) < 0) {
            if (errno == EINTR)
                continue;
            ec_node_fatal(node, EC_EINTERNAL);
            break;
        }
        if (items[2].revents & ZMQ_POLLIN)
            break;
        int rc = s_take_chunks(node);
        if (rc == 0)
            rc = s_take_peers(node);
        if (rc == 0)
            rc = s_take_subs(node);
        if (rc == 0)
            rc = ec_engine_tick(node->engine);
        if (node->p2p) {
            uint64_t now = ec_node_mono_ms();
            if (now >= node->p2p_tick_ms + S_P2P_TICK_MS) {
                ec_p2p_tick(node->p2p, now);
                node->p2p_tick_ms = now;
            }
        }
        s_publish(node);
        s_log_flush(node, false);
        if (rc != 0) {
            ec_node_fatal(node, rc);
            break;
        }
    }
    s_log_flush(node, true);
    return NULL;
}

/* ---- set-up and tear-down ----------------------------------------------------------------- */

/* The validator links, when this node has peers: its endpoint and theirs, in set order. */
static int s_p2p_new(ec_node_t *node, ec_status_t *st)
{
    const ec_valset_t *vs = &node->genesis.validators;
    if (node->cfg.peer_count == 0 || !node->p2p_endpoint || !node->p2p_endpoint[0]) {
        if (vs->count > 1)
            ec_warn("the chain has %u validators but this node has no p2p endpoint or peers: "
                    "it follows nothing and commits nothing",
                    vs->count);
        return 0;
    }
    char(*endpoints)[EC_P2P_ENDPOINT_MAX] = calloc(EC_VALIDATORS_MAX, sizeof *endpoints);
    if (!endpoints)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    uint32_t me = UINT32_MAX;
    for (uint32_t i = 0; i < vs->count; i++) {
        if (memcmp(vs->v[i].pk, ec_key_pk(node->cfg.validator_key), EC_PK_BYTES) == 0) {
            me = i;
            snprintf(endpoints[i], sizeof endpoints[i], "%s", node->p2p_endpoint);
        }
        for (uint32_t k = 0; k < node->cfg.peer_count; k++)
            if (memcmp(node->peers[k].pk, vs->v[i].pk, EC_PK_BYTES) == 0)
                snprintf(endpoints[i], sizeof endpoints[i], "%s", node->peers[k].endpoint);
    }
    ec_p2p_config_t pc = {
        .key = node->cfg.validator_key,
        .vs = vs,
        .endpoints = (const char(*)[EC_P2P_ENDPOINT_MAX])endpoints,
        .bind_endpoint = node->p2p_endpoint,
        .me = me,
        .message_bytes_max = EC_P2P_MESSAGE_BYTES_MAX,
        .queue_max = S_P2P_QUEUE_MAX,
    };
    node->p2p = ec_p2p_new(&pc, st);
    free(endpoints);
    return node->p2p ? 0 : st->code;
}

int ec_node_core_init(ec_node_t *node, ec_status_t *st)
{
    int rc = s_p2p_new(node, st);
    if (rc != 0)
        return rc;
    ec_engine_config_t ec;
    ec_engine_config_defaults(&ec);
    ec.genesis = &node->genesis;
    ec.app = node->app;
    ec.ledger = node->ledger;
    ec.guard = node->guard;
    ec.sign_at_once = node->cfg.sign_at_once;
    ec.key = node->cfg.validator_key;
    ec.block_interval_ms = node->cfg.block_interval_ms;
    ec.block_txs_max = node->cfg.block_txs_max;
    ec.mempool_max = node->cfg.mempool_max;
    if (node->cfg.heartbeat_ms)
        ec.heartbeat_ms = node->cfg.heartbeat_ms;
    if (node->cfg.gossip_ms)
        ec.gossip_ms = node->cfg.gossip_ms;
    if (node->cfg.timeouts.propose_ms)
        ec.timeouts = node->cfg.timeouts;
    ec_engine_env_t env = {node,         s_env_now,  s_env_wall,   s_env_send,     s_env_broadcast,
                           s_env_verify, s_env_done, s_env_valset, s_env_committed};
    node->reply_sock = node->core_reply;
    node->engine = ec_engine_new(&ec, &env, st);
    if (!node->engine)
        return st->code ? st->code : EC_EINTERNAL;
    /* Alone and outside the set, a node could never commit or learn of a block. */
    if (!node->p2p && atomic_load(&node->stats.validator) == UINT32_MAX)
        return ec_status_set(st, EC_ECONFIG,
                             "the validator key is not in the chain's validator set and no "
                             "peers are configured: this node could never commit a block");
    return 0;
}

void ec_node_core_fini(ec_node_t *node)
{
    node->reply_sock = node->stop_reply;
    ec_engine_destroy(&node->engine);
    ec_p2p_destroy(&node->p2p);
}
