/*
 * ec_node.c - the chain engine (see ec_node.h for the pipeline).
 *
 * Threads and the sockets each one owns (all in the node's own ZeroMQ context):
 *
 *   rpc thread      ROUTER (clients), PUSH inproc://verify (bound), PULL inproc://reply
 *   verifier i      PULL inproc://verify, PUSH inproc://commit, PUSH inproc://reply
 *   commit thread   PULL inproc://commit (bound), PUB (headers), PUSH inproc://reply
 *   shutdown        PUSH inproc://reply (the thread that drains at stop)
 *
 * A submission travels as a pointer to one heap s_sub_t that owns the client's routing
 * id and request frame (ZeroMQ hands the frame over without copying); the transaction and
 * payload are read in place. Whoever answers a submission frees it. Replies travel to the
 * rpc thread as two frames [routing id, reply] and leave through the ROUTER unchanged.
 *
 * Stop (ec_node_run after a signal or ec_node_stop; or ec_node_destroy):
 *   1. the halt pipe becomes readable: verifiers and the commit thread finish what they
 *      are doing (the commit thread the block it is writing) and exit; the rpc thread
 *      stops taking submissions (answers them EC_ESHUTDOWN) and says so;
 *   2. the stopping thread joins them and answers every submission still queued or in the
 *      mempool with EC_ESHUTDOWN;
 *   3. the final pipe tells the rpc thread to forward the last replies and exit.
 * Sockets are closed only after every thread is joined, so no queued reply is dropped.
 *
 * Storage written per block, in one synced batch (ec_ledger.h):
 *   EC_CF_BLOCKS   be64(h)  -> ec_block_encode
 *   EC_CF_HEADERS  be64(h)  -> [header: bin, commit: bin, anchors: [entry: bin, ...]]
 *   EC_CF_TXINDEX  id       -> [h, index]
 *   EC_CF_PAYLOADS id       -> payload bytes (transactions with a payload)
 *   EC_MLOG_HIST   leaf h   =  ec_merkle_leaf(EC_LEAF_BLOCK, block hash)
 * and once, at initialisation: EC_CF_META "genesis", "genesis_hash", hist leaf 0.
 */
#include "ec_node.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "ec_clients.h"
#include "ec_consensus.h"
#include "ec_guard.h"
#include "ec_log.h"
#include "ec_mempool.h"
#include "ec_merkle.h"
#include "ec_mlog.h"
#include "ec_rpc.h"

/* Largest encoded block we build: well under the codec's decode limit, so every stored
 * block can be served and decoded by any client. */
#define S_BLOCK_BYTES_MAX (32u * 1024 * 1024)
/* Requests up to this size get an EC_ETOOBIG reply; bigger ones are cut off by ZeroMQ. */
#define S_ROUTER_MAXMSG ((int64_t)EC_RPC_MESSAGE_BYTES_MAX + 1024 * 1024)
/* Messages a thread handles per wake-up before it looks at its other sockets. */
#define S_BATCH 1024
/* Replies larger than this are handed to ZeroMQ without a copy. */
#define S_ZEROCOPY_BYTES (64u * 1024)
/* When the node stops, requests still arriving are answered (EC_ESHUTDOWN for submissions)
 * until none came for S_DRAIN_IDLE_MS, for at most S_DRAIN_MAX_MS. */
#define S_DRAIN_IDLE_MS 100
#define S_DRAIN_MAX_MS 1000
/* Queued replies above S_TRIM_HIGH_BYTES make the rpc thread return freed memory to the
 * system once they are back under S_TRIM_LOW_BYTES. */
#define S_TRIM_HIGH_BYTES (32u << 20)
#define S_TRIM_LOW_BYTES (1u << 20)
/* How long the ROUTER may keep flushing the last replies when the node stops. */
#define S_ROUTER_LINGER_MS 200
/* Failed transactions per block: RocksDB's rollback rebuilds the batch index (O(pending
 * writes)), so after this many the block is closed and the rest wait for the next one. */
#define S_BLOCK_ROLLBACKS_MAX 256
/* Interval of the aggregated "committed" log line. */
#define S_LOG_INTERVAL_MS 1000

#define S_EP_VERIFY "inproc://verify"
#define S_EP_COMMIT "inproc://commit"
#define S_EP_REPLY "inproc://reply"

/* One submission in flight. */
typedef struct {
    zmq_msg_t route; /* the client's routing id at our ROUTER                          */
    zmq_msg_t frame; /* the request frame; tx and payload are read inside it           */
    uint64_t req_id;
    size_t tx_off; /* the envelope: offset and size inside frame                     */
    size_t tx_size;
    size_t payload_off; /* the payload, when has_payload                                  */
    size_t payload_size;
    bool has_payload;
    bool decoded;          /* tx holds a decode (ec_tx_fini needed)                          */
    ec_tx_t tx;            /* decoded by a verifier                                          */
    ec_clients_t *clients; /* the client table its bytes are charged to           */
    ec_client_t *client;   /* the submitting client (its slot outlives the sub)   */
    size_t charged;        /* bytes charged to it                                 */
} s_sub_t;

typedef struct {
    ec_node_t *node;
    pthread_t thread;
    bool started;
    void *pull;        /* PULL inproc://verify                                           */
    void *commit_push; /* PUSH inproc://commit                                           */
    void *reply_push;  /* PUSH inproc://reply                                            */
} s_verifier_t;

/* The commit thread's state and buffers, allocated once. */
typedef struct {
    uint64_t height;                 /* committed tip                                   */
    uint8_t tip_hash[EC_HASH_BYTES]; /* its block hash (genesis hash at 0)             */
    uint64_t tip_time_ms;
    s_sub_t **subs; /* the block being built, block_txs_max entries    */
    const uint8_t **tx_ptrs;
    size_t *tx_sizes;
    ec_hash32_t *leaves;
    ec_hash32_t anchor_leaves[EC_BLOCK_ANCHORS_MAX];
    ec_block_ctx_t ctx;
    ec_writer_t w_block, w_header, w_commit, w_value, w_entry, w_reply;
    int fault;          /* a local fault hit while building (stops the node) */
    uint64_t log_at_ms; /* last "committed" line                           */
    uint32_t log_blocks, log_txs, log_refused;
    double log_build_ms, log_write_ms;
} s_committer_t;

/* The rpc thread's buffers. */
typedef struct {
    ec_decoder_t req_dec; /* the request being served                                      */
    ec_decoder_t val_dec; /* stored values decoded while serving it                         */
    ec_writer_t out;      /* the reply                                                      */
    ec_hash32_t *leaves;  /* EC_BLOCK_TXS_MAX leaf hashes for tx_proof                      */
} s_server_t;

struct ec_node {
    ec_node_config_t cfg; /* copy; strings below                             */
    char *data_dir, *rpc_endpoint, *pub_endpoint;
    ec_genesis_t genesis;
    uint8_t genesis_hash[EC_HASH_BYTES];
    uint8_t valset_hash[EC_HASH_BYTES];
    uint8_t *genesis_bytes;
    size_t genesis_size;
    ec_app_t *app;
    ec_ledger_t *ledger;
    ec_guard_t *guard; /* highest committed block, outside RocksDB (ec_guard.h)  */
    ec_consensus_t *consensus;
    ec_mempool_t *mempool; /* commit thread only (and the stopper after join) */
    ec_clients_t *clients; /* per-client bounds (rpc thread; counters atomic)  */
    uint64_t trim_at_ms;   /* last malloc_trim (rpc thread)                    */
    bool trim_due;         /* queued replies were high: trim once they drain  */

    void *zctx;
    void *router, *verify_push, *reply_pull; /* rpc thread                           */
    void *commit_pull, *pub, *commit_reply;  /* commit thread                        */
    void *stop_reply;                        /* the stopping thread                  */
    s_verifier_t *verifiers;
    uint32_t verifier_count;

    pthread_t rpc_thread, commit_thread;
    bool rpc_started, commit_started;
    int stop_pipe[2];          /* ec_node_stop / signals / fatal errors -> run    */
    int halt_pipe[2];          /* stage 1 of stopping, seen by every thread       */
    int final_pipe[2];         /* stage 3: the rpc thread flushes and exits       */
    atomic_int intake_closed;  /* the rpc thread no longer feeds the verifiers    */
    atomic_int fatal;          /* the error that stopped the node                 */
    atomic_uint mempool_count; /* for status                                      */
    bool shut_down;

    s_committer_t cm;
    s_server_t srv;
};

/* ---- small helpers ---------------------------------------------------------------------- */

static uint64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static double s_mono_ms_f(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static uint64_t s_wall_ms(void)
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

static void s_pipe_raise(int fd)
{
    if (fd >= 0) {
        ssize_t n = write(fd, "!", 1);
        (void)n; /* a full pipe is already raised */
    }
}

static void s_fatal(ec_node_t *node, int code)
{
    int expected = 0;
    atomic_compare_exchange_strong(&node->fatal, &expected, code);
    s_pipe_raise(node->stop_pipe[1]);
}

static const uint8_t *s_sub_data(const s_sub_t *sub)
{
    return zmq_msg_data((zmq_msg_t *)&sub->frame);
}

static void s_sub_free(s_sub_t *sub)
{
    if (!sub)
        return;
    if (sub->decoded)
        ec_tx_fini(&sub->tx);
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
static void s_send_reply(void *sock, zmq_msg_t *route, ec_writer_t *w, int flags)
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

/*
 * Sends [route, data] to a client through the ROUTER (rpc thread), charging the bytes to
 * `client` until ZeroMQ has written them out (ec_clients.h). A NULL client (the table is
 * full) is sent uncharged: only short EC_EBUSY answers go to such clients. The route
 * message is left to the caller.
 */
static void s_client_send_bytes(ec_node_t *node, ec_client_t *client, zmq_msg_t *route,
                                const uint8_t *data, size_t size)
{
    zmq_msg_t head, body;
    zmq_msg_init(&head);
    if (zmq_msg_copy(&head, route) != 0) {
        zmq_msg_close(&head);
        return;
    }
    int rc;
    if (client) {
        uint8_t *copy = malloc(size ? size : 1);
        rc = copy ? 0 : EC_ENOMEM;
        if (copy) {
            memcpy(copy, data, size);
            rc = ec_client_reply_msg(node->clients, client, &body, copy, size);
        }
    } else {
        rc = zmq_msg_init_size(&body, size) == 0 ? 0 : EC_ENOMEM;
        if (rc == 0)
            memcpy(zmq_msg_data(&body), data, size);
    }
    if (rc != 0) {
        zmq_msg_close(&head);
        return;
    }
    if (zmq_msg_send(&head, node->router, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&head);
        zmq_msg_close(&body);
        return;
    }
    if (zmq_msg_send(&body, node->router, ZMQ_DONTWAIT) < 0)
        zmq_msg_close(&body);
}

/* s_client_send_bytes for a reply being built in w; takes w's buffer without a copy. */
static void s_client_send(ec_node_t *node, ec_client_t *client, zmq_msg_t *route, ec_writer_t *w)
{
    if (!client) {
        s_client_send_bytes(node, NULL, route, ec_writer_data(w), ec_writer_size(w));
        return;
    }
    zmq_msg_t head, body;
    zmq_msg_init(&head);
    if (zmq_msg_copy(&head, route) != 0) {
        zmq_msg_close(&head);
        return;
    }
    size_t size = 0;
    uint8_t *data = ec_writer_take(w, &size);
    /* The writer's buffer grows by doubling from 8 KiB: give back what the reply does not
     * use before it waits in a queue (a short error reply would otherwise hold 8 KiB). */
    uint8_t *fit = data ? realloc(data, size) : NULL;
    if (fit)
        data = fit;
    if (!data || ec_client_reply_msg(node->clients, client, &body, data, size) != 0) {
        zmq_msg_close(&head);
        return; /* ec_client_reply_msg freed data on failure */
    }
    if (zmq_msg_send(&head, node->router, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&head);
        zmq_msg_close(&body);
        return;
    }
    if (zmq_msg_send(&body, node->router, ZMQ_DONTWAIT) < 0)
        zmq_msg_close(&body);
}

/* Answers a submission with an error (towards the rpc thread) and frees it. */
static void s_sub_refuse(void *push, ec_writer_t *w, s_sub_t *sub, int code, const char *msg)
{
    if (code >= 0)
        code = EC_EINTERNAL;
    ec_writer_reset(w);
    ec_rpc_reply_error(w, sub->req_id, code, msg && msg[0] ? msg : ec_strerror(code));
    s_send_reply(push, &sub->route, w, 0);
    s_sub_free(sub);
}

/* Sends a pointer to the next stage, waiting for room but giving up when the node halts. */
static int s_push_ptr(void *sock, void *ptr, int halt_fd)
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

/* Receives one pointer without waiting; NULL when none is queued. */
static void *s_pull_ptr(void *sock)
{
    void *ptr = NULL;
    if (zmq_recv(sock, &ptr, sizeof(ptr), ZMQ_DONTWAIT) != (int)sizeof(ptr))
        return NULL;
    return ptr;
}

/* ---- block ctx (ec_app.h) --------------------------------------------------------------- */

int ec_block_ctx_add_anchor(ec_block_ctx_t *ctx, const ec_anchor_entry_t *entry)
{
    assert(ctx && entry);
    if (ctx->anchor_count >= EC_BLOCK_ANCHORS_MAX)
        return EC_EBUSY;
    ctx->anchors[ctx->anchor_count++] = *entry;
    return 0;
}

/* ---- raw reading of stored blocks ------------------------------------------------------- */
/*
 * Blocks are written by us (ec_block_encode: [version, header: bin, txs: [bin, ...]]), so
 * serving a transaction only needs to step over msgpack headers, not to parse a block of
 * 20,000 transactions. Every length is still checked against the buffer.
 */

static bool s_mp_bin(const uint8_t **p, const uint8_t *end, const uint8_t **data, size_t *size)
{
    size_t left = (size_t)(end - *p), n, hl;
    if (left < 2)
        return false;
    const uint8_t *q = *p;
    if (q[0] == 0xc4) {
        n = q[1];
        hl = 2;
    } else if (q[0] == 0xc5 && left >= 3) {
        n = (size_t)q[1] << 8 | q[2];
        hl = 3;
    } else if (q[0] == 0xc6 && left >= 5) {
        n = (size_t)q[1] << 24 | (size_t)q[2] << 16 | (size_t)q[3] << 8 | q[4];
        hl = 5;
    } else {
        return false;
    }
    if (left - hl < n)
        return false;
    *data = q + hl;
    *size = n;
    *p = q + hl + n;
    return true;
}

static bool s_mp_array(const uint8_t **p, const uint8_t *end, uint32_t *count)
{
    size_t left = (size_t)(end - *p);
    const uint8_t *q = *p;
    if (left >= 1 && (q[0] & 0xf0) == 0x90) {
        *count = q[0] & 0x0f;
        *p = q + 1;
    } else if (left >= 3 && q[0] == 0xdc) {
        *count = (uint32_t)q[1] << 8 | q[2];
        *p = q + 3;
    } else if (left >= 5 && q[0] == 0xdd) {
        *count = (uint32_t)q[1] << 24 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 8 | q[4];
        *p = q + 5;
    } else {
        return false;
    }
    return true;
}

typedef struct {
    const uint8_t *header; /* the encoded header inside the block                          */
    size_t header_size;
    const uint8_t *next; /* the next transaction bin                                      */
    const uint8_t *end;
    uint32_t count; /* transactions in the block                                     */
} s_block_iter_t;

static bool s_block_open(s_block_iter_t *it, const uint8_t *block, size_t size)
{
    const uint8_t *p = block, *end = block + size;
    uint32_t n = 0;
    if (!s_mp_array(&p, end, &n) || n != 3 || p >= end || *p != EC_VERSION)
        return false;
    p++;
    if (!s_mp_bin(&p, end, &it->header, &it->header_size))
        return false;
    if (!s_mp_array(&p, end, &it->count))
        return false;
    it->next = p;
    it->end = end;
    return true;
}

static bool s_block_next(s_block_iter_t *it, const uint8_t **tx, size_t *tx_size)
{
    return s_mp_bin(&it->next, it->end, tx, tx_size);
}

/* The id of a stored envelope [signed: bin, sig: bin]: SHA-256("ecert/tx" 0x00 || signed). */
static bool s_envelope_id(uint8_t id[EC_HASH_BYTES], const uint8_t *tx, size_t size)
{
    const uint8_t *p = tx, *end = tx + size, *signed_bytes;
    size_t signed_size;
    uint32_t n = 0;
    if (!s_mp_array(&p, end, &n) || n != 2 || !s_mp_bin(&p, end, &signed_bytes, &signed_size))
        return false;
    ec_sha256_t st;
    ec_sha256_init(&st);
    ec_sha256_update(&st, EC_TAG_TX, sizeof(EC_TAG_TX)); /* the tag and its NUL */
    ec_sha256_update(&st, signed_bytes, signed_size);
    ec_sha256_final(&st, id);
    return true;
}

/* ---- RPC: parameters -------------------------------------------------------------------- */

static int s_params(const msgpack_object *p, uint32_t n, const char *method, const char *usage,
                    ec_status_t *st)
{
    if (p->via.array.size != n)
        return ec_status_set(st, EC_EINVAL, "%s: params must be %s", method, usage);
    return 0;
}

static int s_param_uint(const msgpack_object *p, uint32_t i, const char *name, uint64_t *v,
                        ec_status_t *st)
{
    const msgpack_object *o = &p->via.array.ptr[i];
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return ec_status_set(st, EC_EINVAL, "param %s must be uint", name);
    *v = o->via.u64;
    return 0;
}

static int s_param_hash(const msgpack_object *p, uint32_t i, const char *name,
                        uint8_t out[EC_HASH_BYTES], ec_status_t *st)
{
    const msgpack_object *o = &p->via.array.ptr[i];
    if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != EC_HASH_BYTES)
        return ec_status_set(st, EC_EINVAL, "param %s must be bin of 32 bytes", name);
    memcpy(out, o->via.bin.ptr, EC_HASH_BYTES);
    return 0;
}

static void s_write_path(ec_writer_t *w, const ec_hash32_t *path, size_t len)
{
    ec_write_array(w, (uint32_t)len);
    for (size_t i = 0; i < len; i++)
        ec_write_bin(w, path[i], EC_HASH_BYTES);
}

static int s_io(ec_status_t *st, int rc, const char *what)
{
    if (rc == EC_ENOTFOUND)
        return ec_status_set(st, EC_EIO, "%s is missing from the ledger", what);
    return ec_status_set(st, rc, "%s: storage error", what);
}

/* ---- RPC: read methods (rpc thread, committed data only) ----------------------------------- */

typedef int (*s_method_fn)(ec_node_t *node, const msgpack_object *params, ec_writer_t *out,
                           ec_status_t *st);

static int s_m_status(ec_node_t *node, const msgpack_object *params, ec_writer_t *out,
                      ec_status_t *st)
{
    if (s_params(params, 0, "status", "[]", st))
        return st->code;
    uint64_t height = ec_ledger_height(node->ledger);
    ec_header_t h;
    uint8_t tip_hash[EC_HASH_BYTES];
    uint64_t tip_time = node->genesis.time_ms;
    if (height > 0) {
        int rc = ec_ledger_header(node->ledger, height, &h, NULL);
        if (rc != 0)
            return s_io(st, rc, "tip header");
        ec_header_hash(tip_hash, &h);
        tip_time = h.time_ms;
    }
    ec_write_array(out, 8);
    ec_write_cstr(out, node->genesis.chain_id);
    ec_write_uint(out, node->genesis.kind);
    ec_write_cstr(out, node->genesis.cert_type);
    ec_write_uint(out, height);
    if (height > 0)
        ec_write_bin(out, tip_hash, EC_HASH_BYTES);
    else
        ec_write_nil(out);
    ec_write_bin(out, node->genesis_hash, EC_HASH_BYTES);
    ec_write_uint(out, tip_time);
    ec_write_uint(out, atomic_load(&node->mempool_count));
    return 0;
}

/* Reads the stored block at height (malloc'd) and opens an iterator over it. */
static int s_load_block(ec_node_t *node, uint64_t height, uint8_t **block, size_t *size,
                        s_block_iter_t *it, ec_status_t *st)
{
    uint8_t key[8];
    ec_be64_put(key, height);
    int rc = ec_ledger_get(node->ledger, EC_CF_BLOCKS, key, sizeof(key), block, size);
    if (rc == EC_ENOTFOUND)
        return ec_status_set(st, EC_ENOTFOUND, "no block at height %llu (tip %llu)",
                             (unsigned long long)height,
                             (unsigned long long)ec_ledger_height(node->ledger));
    if (rc != 0)
        return s_io(st, rc, "block");
    if (it && !s_block_open(it, *block, *size)) {
        free(*block);
        *block = NULL;
        return ec_status_set(st, EC_EIO, "stored block %llu is corrupt",
                             (unsigned long long)height);
    }
    return 0;
}

/* Finds a committed transaction: its location and its stored block. */
static int s_locate(ec_node_t *node, const uint8_t id[EC_HASH_BYTES], uint64_t *height,
                    uint32_t *index, uint8_t **block, size_t *size, s_block_iter_t *it,
                    ec_status_t *st)
{
    int rc = ec_ledger_tx_location(node->ledger, id, height, index);
    if (rc == EC_ENOTFOUND)
        return ec_status_set(st, EC_ENOTFOUND, "transaction not found");
    if (rc != 0)
        return s_io(st, rc, "transaction index");
    rc = s_load_block(node, *height, block, size, it, st);
    if (rc != 0)
        return rc;
    if (*index >= it->count) {
        free(*block);
        *block = NULL;
        return ec_status_set(st, EC_EIO, "transaction index points past block %llu",
                             (unsigned long long)*height);
    }
    return 0;
}

static int s_m_tx(ec_node_t *node, const msgpack_object *params, ec_writer_t *out, ec_status_t *st)
{
    uint8_t id[EC_HASH_BYTES];
    if (s_params(params, 1, "tx", "[tx_id: bin32]", st) || s_param_hash(params, 0, "tx_id", id, st))
        return st->code;
    uint64_t height = 0;
    uint32_t index;
    uint8_t *block = NULL, *payload = NULL;
    size_t block_size, payload_size = 0;
    s_block_iter_t it;
    int rc = s_locate(node, id, &height, &index, &block, &block_size, &it, st);
    if (rc != 0)
        return rc;
    const uint8_t *tx = NULL;
    size_t tx_size = 0;
    for (uint32_t i = 0; i <= index; i++)
        if (!s_block_next(&it, &tx, &tx_size)) {
            free(block);
            return ec_status_set(st, EC_EIO, "stored block %llu is corrupt",
                                 (unsigned long long)height);
        }
    rc = ec_ledger_get(node->ledger, EC_CF_PAYLOADS, id, EC_HASH_BYTES, &payload, &payload_size);
    if (rc != 0 && rc != EC_ENOTFOUND) {
        free(block);
        return s_io(st, rc, "payload");
    }
    ec_write_array(out, 4);
    ec_write_uint(out, height);
    ec_write_uint(out, index);
    ec_write_bin(out, tx, tx_size);
    if (rc == 0)
        ec_write_bin(out, payload, payload_size);
    else
        ec_write_nil(out);
    free(payload);
    free(block);
    return 0;
}

static int s_m_header(ec_node_t *node, const msgpack_object *params, ec_writer_t *out,
                      ec_status_t *st)
{
    uint64_t height = 0;
    if (s_params(params, 1, "header", "[height] (0 = tip)", st) ||
        s_param_uint(params, 0, "height", &height, st))
        return st->code;
    uint64_t tip = ec_ledger_height(node->ledger);
    if (height == 0)
        height = tip;
    if (height == 0)
        return ec_status_set(st, EC_ENOTFOUND, "no block committed yet");
    uint8_t *header = NULL, *commit = NULL;
    size_t header_size, commit_size;
    int rc =
        ec_ledger_header_raw(node->ledger, height, &header, &header_size, &commit, &commit_size);
    if (rc == EC_ENOTFOUND)
        return ec_status_set(st, EC_ENOTFOUND, "no block at height %llu (tip %llu)",
                             (unsigned long long)height, (unsigned long long)tip);
    if (rc != 0)
        return s_io(st, rc, "header");
    ec_write_array(out, 2);
    ec_write_bin(out, header, header_size);
    ec_write_bin(out, commit, commit_size);
    free(header);
    free(commit);
    return 0;
}

static int s_m_block(ec_node_t *node, const msgpack_object *params, ec_writer_t *out,
                     ec_status_t *st)
{
    uint64_t height = 0;
    if (s_params(params, 1, "block", "[height]", st) ||
        s_param_uint(params, 0, "height", &height, st))
        return st->code;
    uint8_t *block = NULL;
    size_t size;
    int rc = s_load_block(node, height, &block, &size, NULL, st);
    if (rc != 0)
        return rc;
    ec_write_bin(out, block, size);
    free(block);
    return 0;
}

static int s_m_tx_proof(ec_node_t *node, const msgpack_object *params, ec_writer_t *out,
                        ec_status_t *st)
{
    uint8_t id[EC_HASH_BYTES];
    if (s_params(params, 1, "tx_proof", "[tx_id: bin32]", st) ||
        s_param_hash(params, 0, "tx_id", id, st))
        return st->code;
    uint64_t height = 0;
    uint32_t index;
    uint8_t *block = NULL;
    size_t block_size;
    s_block_iter_t it;
    int rc = s_locate(node, id, &height, &index, &block, &block_size, &it, st);
    if (rc != 0)
        return rc;
    ec_hash32_t *leaves = node->srv.leaves;
    bool ok = it.count <= EC_BLOCK_TXS_MAX;
    for (uint32_t i = 0; ok && i < it.count; i++) {
        const uint8_t *tx;
        size_t tx_size;
        uint8_t tx_id[EC_HASH_BYTES];
        ok = s_block_next(&it, &tx, &tx_size) && s_envelope_id(tx_id, tx, tx_size);
        if (ok)
            ec_merkle_leaf(leaves[i], EC_LEAF_TX, tx_id, EC_HASH_BYTES);
    }
    ec_hash32_t path[EC_MERKLE_PROOF_MAX];
    size_t len = 0;
    ec_merkle_mem_t mem = {leaves, it.count};
    if (!ok ||
        ec_merkle_inclusion_proof(path, &len, ec_merkle_mem_oracle, &mem, index, it.count) != 0) {
        free(block);
        return ec_status_set(st, EC_EIO, "stored block %llu is corrupt",
                             (unsigned long long)height);
    }
    ec_write_array(out, 5);
    ec_write_uint(out, height);
    ec_write_uint(out, index);
    ec_write_uint(out, it.count);
    s_write_path(out, path, len);
    ec_write_bin(out, it.header, it.header_size);
    free(block);
    return 0;
}

static int s_hist_size(ec_node_t *node, uint64_t *size, ec_status_t *st)
{
    int rc = ec_mlog_committed_size(node->ledger, EC_MLOG_HIST, size);
    return rc ? s_io(st, rc, "history log size") : 0;
}

static int s_m_hist_proof(ec_node_t *node, const msgpack_object *params, ec_writer_t *out,
                          ec_status_t *st)
{
    uint64_t index = 0, size = 0, committed = 0;
    if (s_params(params, 2, "hist_proof", "[index, size]", st) ||
        s_param_uint(params, 0, "index", &index, st) ||
        s_param_uint(params, 1, "size", &size, st) || s_hist_size(node, &committed, st))
        return st->code;
    if (size == 0 || size > committed)
        return ec_status_set(st, EC_EINVAL, "param size must be 1..%llu",
                             (unsigned long long)committed);
    if (index >= size)
        return ec_status_set(st, EC_EINVAL, "param index must be below size %llu",
                             (unsigned long long)size);
    ec_hash32_t path[EC_MERKLE_PROOF_MAX];
    size_t len = 0;
    ec_mlog_reader_t reader = {node->ledger, EC_MLOG_HIST};
    int rc = ec_merkle_inclusion_proof(path, &len, ec_mlog_oracle, &reader, index, size);
    if (rc != 0)
        return s_io(st, rc, "history log");
    s_write_path(out, path, len);
    return 0;
}

static int s_m_hist_consistency(ec_node_t *node, const msgpack_object *params, ec_writer_t *out,
                                ec_status_t *st)
{
    uint64_t old_size = 0, new_size = 0, committed = 0;
    if (s_params(params, 2, "hist_consistency", "[old_size, new_size]", st) ||
        s_param_uint(params, 0, "old_size", &old_size, st) ||
        s_param_uint(params, 1, "new_size", &new_size, st) || s_hist_size(node, &committed, st))
        return st->code;
    if (new_size == 0 || new_size > committed)
        return ec_status_set(st, EC_EINVAL, "param new_size must be 1..%llu",
                             (unsigned long long)committed);
    if (old_size > new_size)
        return ec_status_set(st, EC_EINVAL, "param old_size must be at most new_size");
    ec_hash32_t path[EC_MERKLE_PROOF_MAX];
    size_t len = 0;
    if (old_size > 0) { /* size 0 is consistent with everything: empty proof */
        ec_mlog_reader_t reader = {node->ledger, EC_MLOG_HIST};
        int rc =
            ec_merkle_consistency_proof(path, &len, ec_mlog_oracle, &reader, old_size, new_size);
        if (rc != 0)
            return s_io(st, rc, "history log");
    }
    s_write_path(out, path, len);
    return 0;
}

static int s_m_anchor_proof(ec_node_t *node, const msgpack_object *params, ec_writer_t *out,
                            ec_status_t *st)
{
    uint64_t height = 0, index = 0;
    if (s_params(params, 2, "anchor_proof", "[height, index]", st) ||
        s_param_uint(params, 0, "height", &height, st) ||
        s_param_uint(params, 1, "index", &index, st))
        return st->code;
    uint8_t key[8], *val = NULL;
    size_t size;
    ec_be64_put(key, height);
    int rc = ec_ledger_get(node->ledger, EC_CF_HEADERS, key, sizeof(key), &val, &size);
    if (rc == EC_ENOTFOUND)
        return ec_status_set(st, EC_ENOTFOUND, "no block at height %llu",
                             (unsigned long long)height);
    if (rc != 0)
        return s_io(st, rc, "header");
    const msgpack_object *root;
    ec_cur_t c, a;
    const uint8_t *header = NULL, *commit = NULL;
    size_t header_size = 0, commit_size = 0;
    rc = ec_decode(&node->srv.val_dec, val, size, &root);
    if (rc == 0) {
        ec_cur_open(&c, root, 3);
        ec_cur_bin(&c, &header, &header_size, EC_CODEC_MESSAGE_BYTES_MAX);
        ec_cur_bin(&c, &commit, &commit_size, EC_CODEC_MESSAGE_BYTES_MAX);
        ec_cur_enter_max(&c, &a, EC_BLOCK_ANCHORS_MAX);
        rc = ec_cur_finish(&c);
        /* leaves[] below holds EC_BLOCK_ANCHORS_MAX: a longer list is a damaged store. */
        if (rc == 0 && (a.err != 0 || a.count > EC_BLOCK_ANCHORS_MAX))
            rc = EC_EIO;
    }
    if (rc != 0) {
        free(val);
        return ec_status_set(st, EC_EIO, "stored header %llu is corrupt",
                             (unsigned long long)height);
    }
    if (index >= a.count) {
        free(val);
        return ec_status_set(st, EC_ENOTFOUND, "block %llu has %u anchor entries",
                             (unsigned long long)height, a.count);
    }
    ec_hash32_t leaves[EC_BLOCK_ANCHORS_MAX];
    const uint8_t *entry = NULL;
    size_t entry_size = 0;
    for (uint32_t i = 0; i < a.count; i++) {
        const uint8_t *e;
        size_t es;
        ec_cur_bin(&a, &e, &es, EC_CODEC_MESSAGE_BYTES_MAX);
        ec_merkle_leaf(leaves[i], EC_LEAF_ANCHOR, e, es);
        if (i == index) {
            entry = e;
            entry_size = es;
        }
    }
    ec_hash32_t path[EC_MERKLE_PROOF_MAX];
    size_t len = 0;
    ec_merkle_mem_t mem = {leaves, a.count};
    if (ec_cur_finish(&a) != 0 ||
        ec_merkle_inclusion_proof(path, &len, ec_merkle_mem_oracle, &mem, index, a.count)) {
        free(val);
        return ec_status_set(st, EC_EIO, "stored header %llu is corrupt",
                             (unsigned long long)height);
    }
    ec_write_array(out, 4);
    ec_write_bin(out, entry, entry_size);
    s_write_path(out, path, len);
    ec_write_bin(out, header, header_size);
    ec_write_bin(out, commit, commit_size);
    free(val);
    return 0;
}

static int s_m_genesis(ec_node_t *node, const msgpack_object *params, ec_writer_t *out,
                       ec_status_t *st)
{
    if (s_params(params, 0, "genesis", "[]", st))
        return st->code;
    ec_write_bin(out, node->genesis_bytes, node->genesis_size);
    return 0;
}

static int s_m_query(ec_node_t *node, const msgpack_object *params, ec_writer_t *out,
                     ec_status_t *st)
{
    if (s_params(params, 2, "query", "[path: str, args: array]", st))
        return st->code;
    const msgpack_object *p = &params->via.array.ptr[0], *args = &params->via.array.ptr[1];
    char path[64];
    if (p->type != MSGPACK_OBJECT_STR || p->via.str.size == 0 || p->via.str.size >= sizeof(path) ||
        memchr(p->via.str.ptr, 0, p->via.str.size))
        return ec_status_set(st, EC_EINVAL, "param path must be str of 1..%zu bytes",
                             sizeof(path) - 1);
    if (args->type != MSGPACK_OBJECT_ARRAY)
        return ec_status_set(st, EC_EINVAL, "param args must be an array");
    memcpy(path, p->via.str.ptr, p->via.str.size);
    path[p->via.str.size] = '\0';
    if (!node->app->query)
        return ec_status_set(st, EC_EMETHOD, "unknown query path \"%s\"", path);
    size_t before = ec_writer_size(out);
    int rc = node->app->query(node->app->self, node->ledger, path, args, out, st);
    if (rc != 0)
        return st->code == rc ? rc : ec_status_set(st, rc, "query %s: %s", path, ec_strerror(rc));
    if (ec_writer_size(out) == before)
        return ec_status_set(st, EC_EINTERNAL, "query %s wrote no result", path);
    return 0;
}

static const struct {
    const char *name;
    s_method_fn fn;
} s_methods[] = {
    {"status", s_m_status},
    {"tx", s_m_tx},
    {"header", s_m_header},
    {"block", s_m_block},
    {"tx_proof", s_m_tx_proof},
    {"hist_proof", s_m_hist_proof},
    {"hist_consistency", s_m_hist_consistency},
    {"anchor_proof", s_m_anchor_proof},
    {"genesis", s_m_genesis},
    {"query", s_m_query},
};

/* ---- RPC: submit (rpc thread side) ---------------------------------------------------------- */

/* Checks the shape of a submit and hands it to the verifiers. Takes route and frame on
 * success; otherwise returns an error for the caller to reply. */
static int s_submit(ec_node_t *node, ec_client_t *client, zmq_msg_t *route, zmq_msg_t *frame,
                    const ec_rpc_request_t *req, ec_status_t *st)
{
    const msgpack_object *p = req->params;
    if (s_params(p, 2, "submit", "[tx: bin, payload: bin|nil]", st))
        return st->code;
    const msgpack_object *tx = &p->via.array.ptr[0], *pl = &p->via.array.ptr[1];
    if (tx->type != MSGPACK_OBJECT_BIN || tx->via.bin.size == 0)
        return ec_status_set(st, EC_EINVAL, "param tx must be a non-empty bin");
    if (tx->via.bin.size > EC_TX_BYTES_MAX)
        return ec_status_set(st, EC_ETOOBIG, "param tx is %u bytes, more than %u", tx->via.bin.size,
                             EC_TX_BYTES_MAX);
    if (pl->type != MSGPACK_OBJECT_BIN && pl->type != MSGPACK_OBJECT_NIL)
        return ec_status_set(st, EC_EINVAL, "param payload must be bin or nil");
    if (pl->type == MSGPACK_OBJECT_BIN && pl->via.bin.size > EC_PAYLOAD_BYTES_MAX)
        return ec_status_set(st, EC_ETOOBIG, "param payload is %u bytes, more than %u",
                             pl->via.bin.size, EC_PAYLOAD_BYTES_MAX);
    if (atomic_load(&node->intake_closed))
        return ec_status_set(st, EC_ESHUTDOWN, "node is stopping");
    /* The frame, the sub and the decoded transaction stay in memory until the reply. */
    size_t charge = zmq_msg_size(frame) + sizeof(s_sub_t);
    if (ec_client_submit_begin(node->clients, client, charge, st) != 0)
        return st->code;
    s_sub_t *sub = calloc(1, sizeof(*sub));
    if (!sub) {
        ec_client_submit_done(node->clients, client, charge);
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    }
    sub->clients = node->clients;
    sub->client = client;
    sub->charged = charge;
    const uint8_t *base = zmq_msg_data(frame);
    sub->req_id = req->req_id;
    sub->tx_off = (size_t)((const uint8_t *)tx->via.bin.ptr - base);
    sub->tx_size = tx->via.bin.size;
    sub->has_payload = pl->type == MSGPACK_OBJECT_BIN;
    if (sub->has_payload) {
        sub->payload_off = (size_t)((const uint8_t *)pl->via.bin.ptr - base);
        sub->payload_size = pl->via.bin.size;
    }
    /* Offsets, not pointers: a tiny frame's bytes live inside the zmq_msg_t and move. */
    zmq_msg_init(&sub->route);
    zmq_msg_init(&sub->frame);
    zmq_msg_move(&sub->route, route);
    zmq_msg_move(&sub->frame, frame);
    if (zmq_send(node->verify_push, &sub, sizeof(sub), ZMQ_DONTWAIT) == (int)sizeof(sub))
        return 0;
    /* The verifiers are saturated: give the message parts back for the error reply. */
    zmq_msg_move(route, &sub->route);
    zmq_msg_move(frame, &sub->frame);
    s_sub_free(sub);
    return ec_status_set(st, EC_EBUSY, "verifier queue full, retry later");
}

/* ---- the rpc thread ------------------------------------------------------------------------ */

/* Serves one request from the ROUTER. Returns false when none was waiting. */
static bool s_serve_one(ec_node_t *node)
{
    s_server_t *srv = &node->srv;
    zmq_msg_t route, frame;
    zmq_msg_init(&route);
    zmq_msg_init(&frame);
    if (zmq_msg_recv(&route, node->router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&route);
        zmq_msg_close(&frame);
        return false;
    }
    bool more = zmq_msg_more(&route), extra = false;
    if (more && zmq_msg_recv(&frame, node->router, ZMQ_DONTWAIT) >= 0)
        more = extra = zmq_msg_more(&frame);
    while (more) { /* a request is one frame: drop the rest */
        zmq_msg_t junk;
        zmq_msg_init(&junk);
        more = zmq_msg_recv(&junk, node->router, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&junk);
        zmq_msg_close(&junk);
    }
    ec_status_t st = {0};
    ec_rpc_request_t req = {0};
    int rc;
    ec_client_t *client =
        ec_clients_get(node->clients, zmq_msg_data(&route), zmq_msg_size(&route), s_mono_ms());
    ec_client_verdict_t verdict = client ? ec_client_verdict(node->clients, client) : 0;
    if (client && verdict == EC_CLIENT_DROP) {
        /* It does not read what it asked for: no answer would reach it either. */
        zmq_msg_close(&route);
        zmq_msg_close(&frame);
        return true;
    }
    if (extra)
        rc = ec_status_set(&st, EC_EINVAL, "a request is exactly one frame");
    else
        rc = ec_rpc_request_parse_st(&srv->req_dec, zmq_msg_data(&frame), zmq_msg_size(&frame),
                                     &req, &st);
    ec_writer_reset(&srv->out);
    if (rc == 0 && !client) {
        rc = ec_status_set(&st, EC_EBUSY, "the node serves %u connections, its most: retry later",
                           ec_clients_count(node->clients));
    } else if (rc == 0 && verdict == EC_CLIENT_REFUSE) {
        rc = ec_status_set(&st, EC_EBUSY,
                           "%zu bytes of replies to this connection are still unread: read them "
                           "first",
                           (size_t)atomic_load(&client->queued));
    } else if (rc == 0 && strcmp(req.method, "submit") == 0) {
        rc = s_submit(node, client, &route, &frame, &req, &st);
    } else if (rc == 0) {
        rc = ec_status_set(&st, EC_EMETHOD, "unknown method \"%s\"", req.method);
        for (size_t i = 0; i < sizeof(s_methods) / sizeof(s_methods[0]); i++)
            if (strcmp(req.method, s_methods[i].name) == 0) {
                ec_status_clear(&st);
                ec_rpc_reply_begin(&srv->out, req.req_id);
                rc = s_methods[i].fn(node, req.params, &srv->out, &st);
                if (rc == 0)
                    s_client_send(node, client, &route, &srv->out);
                break;
            }
    }
    if (rc != 0) {
        ec_debug("refused %s (req %llu): %s", req.method[0] ? req.method : "request",
                 (unsigned long long)req.req_id, st.msg);
        ec_writer_reset(&srv->out);
        ec_rpc_reply_error(&srv->out, req.req_id, rc, st.msg);
        s_client_send(node, client, &route, &srv->out);
    }
    zmq_msg_close(&route);
    zmq_msg_close(&frame);
    return true;
}

/* Forwards up to max replies [route, reply] from the workers to the ROUTER, each charged
 * to its client (workers only ever send these two frames). */
static void s_forward(ec_node_t *node, uint32_t max)
{
    for (uint32_t i = 0; i < max; i++) {
        zmq_msg_t route, reply;
        zmq_msg_init(&route);
        zmq_msg_init(&reply);
        if (zmq_msg_recv(&route, node->reply_pull, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&route);
            zmq_msg_close(&reply);
            return;
        }
        bool ok = zmq_msg_more(&route) && zmq_msg_recv(&reply, node->reply_pull, 0) >= 0;
        if (ok) {
            ec_client_t *client = ec_clients_get(node->clients, zmq_msg_data(&route),
                                                 zmq_msg_size(&route), s_mono_ms());
            s_client_send_bytes(node, client, &route, zmq_msg_data(&reply), zmq_msg_size(&reply));
        }
        zmq_msg_close(&route);
        zmq_msg_close(&reply);
    }
}

/*
 * Last act of the rpc thread when the node stops: requests already on their way (in TCP
 * buffers and ZeroMQ's queues: at 25,000 a second, some 600 in the last 25 ms) are still
 * read and answered, submissions with EC_ESHUTDOWN, until none has arrived for
 * S_DRAIN_IDLE_MS or S_DRAIN_MAX_MS have passed. Only what a client sends after that meets
 * a closed socket.
 */
static void s_drain_router(ec_node_t *node)
{
    uint64_t start = s_mono_ms(), last = start;
    for (;;) {
        uint64_t now = s_mono_ms();
        if (now - last >= S_DRAIN_IDLE_MS || now - start >= S_DRAIN_MAX_MS)
            return;
        zmq_pollitem_t item = {node->router, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, (long)S_DRAIN_IDLE_MS) < 0 && errno != EINTR)
            return;
        bool any = false;
        for (int i = 0; i < S_BATCH && s_serve_one(node); i++)
            any = true;
        if (any)
            last = s_mono_ms();
    }
}

/*
 * Gives memory back to the system once a burst of queued replies (a client that stopped
 * reading, say) has drained: glibc keeps freed memory in its arenas otherwise, and the
 * node's footprint would stay at its peak for good. At most once a second.
 */
static void s_trim(ec_node_t *node)
{
    size_t queued = ec_clients_queued_total(node->clients);
    if (queued > S_TRIM_HIGH_BYTES)
        node->trim_due = true;
    if (!node->trim_due || queued > S_TRIM_LOW_BYTES)
        return;
    uint64_t now = s_mono_ms();
    if (now - node->trim_at_ms < 1000)
        return;
    node->trim_at_ms = now;
    node->trim_due = false;
    malloc_trim(0);
}

static void *s_rpc_main(void *arg)
{
    ec_node_t *node = arg;
    pthread_setname_np(pthread_self(), "ec-rpc");
    /* The halt item is last so it can be dropped once seen (it stays readable). */
    zmq_pollitem_t items[4] = {
        {node->router, 0, ZMQ_POLLIN, 0},
        {node->reply_pull, 0, ZMQ_POLLIN, 0},
        {NULL, node->final_pipe[0], ZMQ_POLLIN, 0},
        {NULL, node->halt_pipe[0], ZMQ_POLLIN, 0},
    };
    int count = 4;
    for (;;) {
        if (zmq_poll(items, count, -1) < 0) {
            if (errno == EINTR)
                continue;
            ec_error("rpc poll: %s", zmq_strerror(errno));
            s_fatal(node, EC_EINTERNAL);
            break;
        }
        if (count == 4 && (items[3].revents & ZMQ_POLLIN)) {
            atomic_store(&node->intake_closed, 1);
            count = 3;
        }
        if (items[1].revents & ZMQ_POLLIN)
            s_forward(node, S_BATCH);
        if (items[0].revents & ZMQ_POLLIN)
            for (int i = 0; i < S_BATCH && s_serve_one(node); i++)
                ;
        s_trim(node);
        if (items[2].revents & ZMQ_POLLIN) {
            s_forward(node, UINT32_MAX);
            s_drain_router(node);
            break;
        }
    }
    atomic_store(&node->intake_closed, 1);
    return NULL;
}

/* ---- verifier threads --------------------------------------------------------------------- */

/* Every check a transaction needs that does not depend on the ledger. */
static int s_verify(ec_node_t *node, s_sub_t *sub, ec_status_t *st)
{
    const uint8_t *data = s_sub_data(sub);
    int rc = ec_tx_decode(&sub->tx, data + sub->tx_off, sub->tx_size);
    if (rc != 0)
        return ec_status_set(st, rc, "tx: malformed transaction envelope (%s)", ec_strerror(rc));
    sub->decoded = true;
    const ec_tx_t *tx = &sub->tx;
    if (strcmp(tx->chain_id, node->genesis.chain_id) != 0)
        return ec_status_set(st, EC_ECHAIN, "transaction is for chain \"%.64s\", not \"%s\"",
                             tx->chain_id, node->genesis.chain_id);
    if (tx->has_payload && !sub->has_payload)
        return ec_status_set(st, EC_EINVAL,
                             "payload: the transaction names a payload_hash "
                             "but no payload was sent");
    if (!tx->has_payload && sub->has_payload)
        return ec_status_set(st, EC_EINVAL,
                             "payload: sent, but the transaction has no payload_hash");
    const uint8_t *payload = sub->has_payload ? data + sub->payload_off : NULL;
    if (payload) {
        uint8_t h[EC_HASH_BYTES];
        ec_sha256(h, payload, sub->payload_size);
        if (memcmp(h, tx->payload_hash, EC_HASH_BYTES) != 0)
            return ec_status_set(st, EC_EINVAL, "payload: does not match payload_hash");
    }
    if (!ec_tx_verify_sig(tx))
        return ec_status_set(st, EC_ESIG, "transaction signature does not verify");
    rc = node->app->check_tx(node->app->self, tx, payload, sub->payload_size, st);
    if (rc != 0 && st->code != rc)
        ec_status_set(st, rc, "%s", ec_strerror(rc));
    return rc;
}

static void *s_verify_main(void *arg)
{
    s_verifier_t *v = arg;
    ec_node_t *node = v->node;
    pthread_setname_np(pthread_self(), "ec-verify");
    ec_writer_t w;
    ec_writer_init(&w);
    zmq_pollitem_t items[2] = {{v->pull, 0, ZMQ_POLLIN, 0},
                               {NULL, node->halt_pipe[0], ZMQ_POLLIN, 0}};
    for (;;) {
        if (zmq_poll(items, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            s_fatal(node, EC_EINTERNAL);
            break;
        }
        if (items[1].revents & ZMQ_POLLIN)
            break;
        s_sub_t *sub;
        for (int i = 0; i < S_BATCH && (sub = s_pull_ptr(v->pull)); i++) {
            ec_status_t st = {0};
            int rc = s_verify(node, sub, &st);
            if (rc == 0) {
                rc = s_push_ptr(v->commit_push, sub, node->halt_pipe[0]);
                if (rc == 0)
                    continue;
                ec_status_set(&st, rc, "node is stopping");
            }
            ec_debug("refused tx (req %llu): %s", (unsigned long long)sub->req_id, st.msg);
            s_sub_refuse(v->reply_push, &w, sub, rc, st.msg);
        }
    }
    ec_writer_fini(&w);
    return NULL;
}

/* ---- the commit thread ---------------------------------------------------------------------- */

static void s_publish_count(ec_node_t *node)
{
    atomic_store(&node->mempool_count, ec_mempool_count(node->mempool));
}

/* Takes a verified submission into the mempool, or refuses it. */
static void s_admit(ec_node_t *node, s_sub_t *sub, uint64_t now_ms)
{
    s_committer_t *cm = &node->cm;
    const uint8_t *id = sub->tx.id;
    uint64_t height = 0;
    uint32_t index;
    int rc = ec_mempool_has(node->mempool, id) ? EC_EREPLAY : 0;
    if (rc == 0) {
        rc = ec_ledger_tx_location(node->ledger, id, &height, &index);
        if (rc == 0)
            rc = EC_EREPLAY;
        else if (rc == EC_ENOTFOUND)
            rc = ec_mempool_add(node->mempool, id, sub, now_ms);
    }
    if (rc == 0) {
        s_publish_count(node);
        return;
    }
    /* A replay of a committed transaction says where it is: a client whose reply was lost
     * resubmits and learns its height this way (the `tx` method gives the rest). */
    char msg[96];
    if (rc == EC_EREPLAY && height > 0)
        snprintf(msg, sizeof msg, "transaction already committed at height %llu, index %u",
                 (unsigned long long)height, index);
    else
        snprintf(msg, sizeof msg, "%s",
                 rc == EC_EREPLAY ? "transaction already submitted, not yet committed"
                 : rc == EC_EBUSY ? "mempool full, retry later"
                                  : "storage error reading the transaction index");
    ec_debug("refused tx (req %llu): %s", (unsigned long long)sub->req_id, msg);
    s_sub_refuse(node->commit_reply, &cm->w_reply, sub, rc, msg);
    cm->log_refused++;
}

/* Answers every transaction of an unfinished block with `code`. */
static void s_block_abort(ec_node_t *node, uint32_t count, int code, const char *msg)
{
    s_committer_t *cm = &node->cm;
    ec_ledger_discard(node->ledger);
    for (uint32_t i = 0; i < count; i++) {
        ec_mempool_forget(node->mempool, cm->subs[i]->tx.id);
        s_sub_refuse(node->commit_reply, &cm->w_reply, cm->subs[i], code, msg);
        cm->subs[i] = NULL;
    }
}

/* True for the codes a chain rule never returns: storage, memory and our own bugs. A
 * transaction is refused only for breaking a rule; these stop the node. */
static bool s_local_fault(int rc)
{
    return rc == EC_EIO || rc == EC_ENOMEM || rc == EC_EINTERNAL;
}

/* Applies waiting transactions to the pending batch; returns how many went in (on a local
 * fault, cm->fault is set and the last one is the transaction that hit it). */
static uint32_t s_block_fill(ec_node_t *node)
{
    s_committer_t *cm = &node->cm;
    ec_block_ctx_t *ctx = &cm->ctx;
    uint32_t k = 0, failed = 0;
    size_t bytes = 1024; /* header, commit and framing */
    s_sub_t *sub;
    while (k < node->cfg.block_txs_max && failed < S_BLOCK_ROLLBACKS_MAX &&
           (sub = ec_mempool_peek(node->mempool))) {
        if (k > 0 && bytes + sub->tx_size + 8 > S_BLOCK_BYTES_MAX)
            break; /* it waits for the next block */
        (void)ec_mempool_pop(node->mempool);
        const uint8_t *payload = sub->has_payload ? s_sub_data(sub) + sub->payload_off : NULL;
        uint32_t anchors = ctx->anchor_count;
        ec_status_t st = {0};
        ec_ledger_savepoint(node->ledger);
        int rc =
            node->app->deliver_tx(node->app->self, ctx, &sub->tx, payload, sub->payload_size, &st);
        if (s_local_fault(rc)) {
            /* Not a verdict on the transaction: this node could not read or allocate. It
             * must not refuse what other nodes would accept, so it stops instead. */
            ec_error("deliver_tx of tx (req %llu) hit a local fault: %s",
                     (unsigned long long)sub->req_id, st.msg);
            cm->subs[k] = sub;
            cm->fault = rc;
            return k + 1;
        }
        if (rc != 0) {
            ec_ledger_rollback(node->ledger);
            ctx->anchor_count = anchors;
            ec_mempool_forget(node->mempool, sub->tx.id);
            ec_debug("refused tx (req %llu): %s", (unsigned long long)sub->req_id, st.msg);
            s_sub_refuse(node->commit_reply, &cm->w_reply, sub, rc, st.msg);
            cm->log_refused++;
            failed++;
            continue;
        }
        ec_writer_reset(&cm->w_value);
        ec_write_array(&cm->w_value, 2);
        ec_write_uint(&cm->w_value, ctx->height);
        ec_write_uint(&cm->w_value, k);
        ec_ledger_put(node->ledger, EC_CF_TXINDEX, sub->tx.id, EC_HASH_BYTES,
                      ec_writer_data(&cm->w_value), ec_writer_size(&cm->w_value));
        if (payload)
            ec_ledger_put(node->ledger, EC_CF_PAYLOADS, sub->tx.id, EC_HASH_BYTES, payload,
                          sub->payload_size);
        cm->subs[k] = sub;
        cm->tx_ptrs[k] = s_sub_data(sub) + sub->tx_off;
        cm->tx_sizes[k] = sub->tx_size;
        ec_merkle_leaf(cm->leaves[k], EC_LEAF_TX, sub->tx.id, EC_HASH_BYTES);
        bytes += sub->tx_size + 8;
        k++;
    }
    return k;
}

/* Fills the header of the block holding k transactions. 0 or an error with st set. */
static int s_block_header(ec_node_t *node, uint32_t k, ec_header_t *h, ec_status_t *st)
{
    s_committer_t *cm = &node->cm;
    ec_block_ctx_t *ctx = &cm->ctx;
    memset(h, 0, sizeof(*h));
    int rc = node->app->end_block(node->app->self, ctx, h->state_root);
    if (rc != 0)
        return ec_status_set(st, rc, "%s end_block failed: %s", node->app->name, ec_strerror(rc));
    snprintf(h->chain_id, sizeof(h->chain_id), "%s", node->genesis.chain_id);
    h->height = ctx->height;
    h->time_ms = ctx->time_ms;
    memcpy(h->prev_hash, cm->tip_hash, EC_HASH_BYTES);
    ec_merkle_root(h->tx_root, (const ec_hash32_t *)cm->leaves, k);
    h->tx_count = k;
    rc = ec_mlog_root(node->ledger, EC_MLOG_HIST, h->hist_root);
    if (rc != 0)
        return ec_status_set(st, rc, "history log root: %s", ec_strerror(rc));
    for (uint32_t i = 0; i < ctx->anchor_count; i++)
        ec_anchor_entry_leaf(cm->anchor_leaves[i], &ctx->anchors[i]);
    ec_merkle_root(h->xanchor_root, (const ec_hash32_t *)cm->anchor_leaves, ctx->anchor_count);
    h->xanchor_count = ctx->anchor_count;
    memcpy(h->valset_hash, node->valset_hash, EC_HASH_BYTES);
    memcpy(h->next_valset_hash, node->valset_hash, EC_HASH_BYTES);
    return 0;
}

/* Adds the block, its header with commit and anchors, and its history leaf to the batch. */
static int s_block_store(ec_node_t *node, uint32_t k, const ec_header_t *h,
                         const ec_commit_t *commit, const uint8_t hash[EC_HASH_BYTES])
{
    s_committer_t *cm = &node->cm;
    uint8_t key[8], leaf[EC_HASH_BYTES];
    ec_be64_put(key, h->height);
    ec_writer_reset(&cm->w_block);
    ec_block_encode(&cm->w_block, h, cm->tx_ptrs, cm->tx_sizes, k);
    ec_ledger_put(node->ledger, EC_CF_BLOCKS, key, sizeof(key), ec_writer_data(&cm->w_block),
                  ec_writer_size(&cm->w_block));
    ec_writer_reset(&cm->w_header);
    ec_header_encode(&cm->w_header, h);
    ec_writer_reset(&cm->w_commit);
    ec_commit_encode(&cm->w_commit, commit);
    ec_writer_reset(&cm->w_value);
    ec_write_array(&cm->w_value, 3);
    ec_write_bin(&cm->w_value, ec_writer_data(&cm->w_header), ec_writer_size(&cm->w_header));
    ec_write_bin(&cm->w_value, ec_writer_data(&cm->w_commit), ec_writer_size(&cm->w_commit));
    ec_write_array(&cm->w_value, cm->ctx.anchor_count);
    for (uint32_t i = 0; i < cm->ctx.anchor_count; i++) {
        ec_writer_reset(&cm->w_entry);
        ec_anchor_entry_encode(&cm->w_entry, &cm->ctx.anchors[i]);
        ec_write_bin(&cm->w_value, ec_writer_data(&cm->w_entry), ec_writer_size(&cm->w_entry));
    }
    ec_ledger_put(node->ledger, EC_CF_HEADERS, key, sizeof(key), ec_writer_data(&cm->w_value),
                  ec_writer_size(&cm->w_value));
    ec_merkle_leaf(leaf, EC_LEAF_BLOCK, hash, EC_HASH_BYTES);
    return ec_mlog_append(node->ledger, EC_MLOG_HIST, leaf);
}

/* After the block is durable: answer its submitters and announce the header. */
static void s_block_announce(ec_node_t *node, uint32_t k, uint64_t height)
{
    s_committer_t *cm = &node->cm;
    for (uint32_t i = 0; i < k; i++) {
        s_sub_t *sub = cm->subs[i];
        ec_writer_reset(&cm->w_reply);
        ec_rpc_reply_begin(&cm->w_reply, sub->req_id);
        ec_write_array(&cm->w_reply, 3);
        ec_write_bin(&cm->w_reply, sub->tx.id, EC_HASH_BYTES);
        ec_write_uint(&cm->w_reply, height);
        ec_write_uint(&cm->w_reply, i);
        ec_mempool_forget(node->mempool, sub->tx.id);
        s_send_reply(node->commit_reply, &sub->route, &cm->w_reply, 0);
        s_sub_free(sub);
        cm->subs[i] = NULL;
    }
    /* PUB never blocks; a slow subscriber just misses announcements. */
    if (zmq_send(node->pub, "header", 6, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
        zmq_send(node->pub, ec_writer_data(&cm->w_header), ec_writer_size(&cm->w_header),
                 ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        (void)zmq_send(node->pub, ec_writer_data(&cm->w_commit), ec_writer_size(&cm->w_commit),
                       ZMQ_DONTWAIT);
}

static void s_log_flush(ec_node_t *node, bool force)
{
    s_committer_t *cm = &node->cm;
    uint64_t now = s_mono_ms();
    if (cm->log_blocks == 0 && cm->log_refused == 0)
        return;
    if (!force && now - cm->log_at_ms < S_LOG_INTERVAL_MS)
        return;
    ec_info("committed height=%llu blocks=%u txs=%u refused=%u build_ms=%.1f write_ms=%.1f "
            "mempool=%u",
            (unsigned long long)cm->height, cm->log_blocks, cm->log_txs, cm->log_refused,
            cm->log_build_ms, cm->log_write_ms, ec_mempool_count(node->mempool));
    cm->log_at_ms = now;
    cm->log_blocks = cm->log_txs = cm->log_refused = 0;
    cm->log_build_ms = cm->log_write_ms = 0;
}

/* Records in the guard that the store holds block `height` (synced before anyone hears of
 * it). Returns 0 or EC_EIO with st set. */
static int s_guard_commit(ec_node_t *node, uint64_t height, const uint8_t hash[EC_HASH_BYTES],
                          ec_status_t *st)
{
    ec_guard_state_t g = *ec_guard_state(node->guard);
    g.committed_height = height;
    memcpy(g.committed_hash, hash, EC_HASH_BYTES);
    return ec_guard_save(node->guard, &g, st);
}

/* Builds, decides, stores and announces one block. Returns 0, or a fatal error. */
static int s_block_build(ec_node_t *node)
{
    s_committer_t *cm = &node->cm;
    double t0 = s_mono_ms_f();
    ec_block_ctx_t *ctx = &cm->ctx;
    ctx->genesis = &node->genesis;
    ctx->ledger = node->ledger;
    ctx->height = cm->height + 1;
    uint64_t now = s_wall_ms();
    ctx->time_ms = now > cm->tip_time_ms ? now : cm->tip_time_ms;
    ctx->anchor_count = 0;
    cm->fault = 0;
    uint32_t k = s_block_fill(node);
    s_publish_count(node);
    if (cm->fault != 0) {
        s_block_abort(node, k, EC_ESHUTDOWN, "node stopped on a local fault");
        return cm->fault;
    }
    if (k == 0) { /* every candidate failed: no empty blocks */
        ec_ledger_discard(node->ledger);
        return 0;
    }
    ec_header_t h;
    ec_commit_t commit;
    ec_status_t st = {0};
    uint8_t hash[EC_HASH_BYTES];
    int rc = s_block_header(node, k, &h, &st);
    if (rc == 0) {
        ec_header_hash(hash, &h);
        rc = ec_consensus_decide(node->consensus, &h, &commit, &st);
    }
    if (rc == 0 && (rc = s_block_store(node, k, &h, &commit, hash)) != 0)
        ec_status_set(&st, rc, "history log append: %s", ec_strerror(rc));
    double t1 = s_mono_ms_f();
    if (rc == 0 && (rc = ec_ledger_write(node->ledger, h.height)) != 0)
        ec_status_set(&st, rc, "ledger write failed: %s", ec_strerror(rc));
    if (rc != 0) {
        ec_error("block %llu not committed: %s", (unsigned long long)ctx->height, st.msg);
        s_block_abort(node, k, rc == EC_EIO ? EC_EIO : EC_EINTERNAL, "block not committed");
        return rc;
    }
    /* The block is durable: its submitters hear so even if the guard cannot follow (the
     * node then stops, and at the next start the guard catches up with the store). */
    int guard_rc = s_guard_commit(node, h.height, hash, &st);
    if (guard_rc != 0)
        ec_error("block %llu committed, but %s", (unsigned long long)h.height, st.msg);
    double t2 = s_mono_ms_f();
    cm->height = h.height;
    memcpy(cm->tip_hash, hash, EC_HASH_BYTES);
    cm->tip_time_ms = h.time_ms;
    s_block_announce(node, k, h.height);
    if (guard_rc != 0)
        return guard_rc;
    cm->log_blocks++;
    cm->log_txs += k;
    cm->log_build_ms += t1 - t0;
    cm->log_write_ms += t2 - t1;
    return 0;
}

/* How long the commit thread may sleep: until the oldest transaction is due, or a log
 * line. -1 when nothing waits. */
static long s_commit_timeout(ec_node_t *node)
{
    uint32_t n = ec_mempool_count(node->mempool);
    uint64_t now = s_mono_ms();
    long timeout = -1;
    if (n >= node->cfg.block_txs_max)
        return 0;
    if (n > 0) {
        uint64_t due = ec_mempool_oldest_ms(node->mempool) + node->cfg.block_interval_ms;
        timeout = due > now ? (long)(due - now) : 0;
    }
    if (node->cm.log_blocks || node->cm.log_refused) {
        uint64_t due = node->cm.log_at_ms + S_LOG_INTERVAL_MS;
        long t = due > now ? (long)(due - now) : 0;
        if (timeout < 0 || t < timeout)
            timeout = t;
    }
    return timeout;
}

static bool s_block_due(ec_node_t *node)
{
    uint32_t n = ec_mempool_count(node->mempool);
    if (n == 0)
        return false;
    if (n >= node->cfg.block_txs_max)
        return true;
    return s_mono_ms() >= ec_mempool_oldest_ms(node->mempool) + node->cfg.block_interval_ms;
}

static void *s_commit_main(void *arg)
{
    ec_node_t *node = arg;
    pthread_setname_np(pthread_self(), "ec-commit");
    zmq_pollitem_t items[2] = {{node->commit_pull, 0, ZMQ_POLLIN, 0},
                               {NULL, node->halt_pipe[0], ZMQ_POLLIN, 0}};
    uint32_t intake_max = node->cfg.block_txs_max > S_BATCH ? node->cfg.block_txs_max : S_BATCH;
    for (;;) {
        if (zmq_poll(items, 2, s_commit_timeout(node)) < 0) {
            if (errno == EINTR)
                continue;
            s_fatal(node, EC_EINTERNAL);
            break;
        }
        if (items[1].revents & ZMQ_POLLIN)
            break;
        uint64_t now = s_mono_ms();
        s_sub_t *sub;
        for (uint32_t i = 0; i < intake_max && (sub = s_pull_ptr(node->commit_pull)); i++)
            s_admit(node, sub, now);
        s_publish_count(node);
        if (s_block_due(node)) {
            int rc = s_block_build(node);
            if (rc != 0) {
                s_fatal(node, rc);
                break;
            }
        }
        s_log_flush(node, false);
    }
    s_log_flush(node, true);
    return NULL;
}

/* ---- start-up --------------------------------------------------------------------------- */

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
    return 0;
}

/* Writes the genesis into a new ledger, or checks an existing ledger is of this chain. */
static int s_ledger_init(ec_node_t *node, ec_status_t *st)
{
    ec_ledger_t *l = node->ledger;
    static const char k_genesis[] = "genesis", k_hash[] = "genesis_hash";
    uint8_t *val = NULL;
    size_t size = 0;
    int rc = ec_ledger_get(l, EC_CF_META, k_hash, strlen(k_hash), &val, &size);
    if (rc == EC_ENOTFOUND) {
        if (ec_ledger_height(l) != 0)
            return ec_status_set(st, EC_EIO, "ledger has blocks but no genesis");
        uint8_t leaf[EC_HASH_BYTES];
        ec_ledger_put(l, EC_CF_META, k_genesis, strlen(k_genesis), node->genesis_bytes,
                      node->genesis_size);
        ec_ledger_put(l, EC_CF_META, k_hash, strlen(k_hash), node->genesis_hash, EC_HASH_BYTES);
        ec_merkle_leaf(leaf, EC_LEAF_BLOCK, node->genesis_hash, EC_HASH_BYTES);
        rc = ec_mlog_append(l, EC_MLOG_HIST, leaf);
        if (rc == 0)
            rc = ec_ledger_write(l, 0);
        if (rc != 0) {
            ec_ledger_discard(l);
            return ec_status_set(st, rc, "cannot initialise the ledger: %s", ec_strerror(rc));
        }
        ec_info("initialised ledger in %s for chain %s", node->data_dir, node->genesis.chain_id);
    } else if (rc != 0) {
        return ec_status_set(st, rc, "cannot read the ledger's genesis: %s", ec_strerror(rc));
    } else {
        bool same = size == EC_HASH_BYTES && memcmp(val, node->genesis_hash, size) == 0;
        free(val);
        if (!same)
            return ec_status_set(st, EC_ECHAIN,
                                 "data dir %s holds another chain (its genesis hash differs)",
                                 node->data_dir);
    }
    uint64_t hist = 0, height = ec_ledger_height(l);
    rc = ec_mlog_committed_size(l, EC_MLOG_HIST, &hist);
    if (rc != 0 || hist != height + 1)
        return ec_status_set(st, EC_EIO, "ledger history has %llu leaves at height %llu",
                             (unsigned long long)hist, (unsigned long long)height);
    return 0;
}

/*
 * Start-up check that the block store and the history agree (docs/ARCHITECTURE.md section 4). Every
 * block lands in one atomic batch, so a crash cannot split them; a damaged or hand-edited
 * data folder can, and a node must not serve from one. O(log^2 n) reads: the tip's hash is
 * the history's last leaf, the tip header's hist_root is the stored log's root over the
 * leaves before it, and nothing is stored above the tip. Returns 0 or EC_EIO with st set.
 */
static int s_check_tip(ec_node_t *node, const ec_header_t *tip, ec_status_t *st)
{
    ec_ledger_t *l = node->ledger;
    uint64_t height = tip->height;
    uint8_t want[EC_HASH_BYTES], got[EC_HASH_BYTES];
    ec_merkle_leaf(want, EC_LEAF_BLOCK, node->cm.tip_hash, EC_HASH_BYTES);
    int rc = ec_mlog_leaf(l, EC_MLOG_HIST, height, got);
    if (rc != 0 || memcmp(want, got, EC_HASH_BYTES) != 0)
        return ec_status_set(st, EC_EIO,
                             "ledger damaged: the history does not end with block %llu's hash",
                             (unsigned long long)height);
    ec_mlog_reader_t reader = {.ledger = l, .log_id = EC_MLOG_HIST};
    rc = ec_mlog_oracle(&reader, 0, height, got);
    if (rc != 0 || memcmp(got, tip->hist_root, EC_HASH_BYTES) != 0)
        return ec_status_set(st, EC_EIO,
                             "ledger damaged: block %llu's hist_root differs from the stored "
                             "history",
                             (unsigned long long)height);
    uint8_t *raw = NULL, *commit = NULL;
    size_t raw_size = 0, commit_size = 0;
    rc = ec_ledger_header_raw(l, height + 1, &raw, &raw_size, &commit, &commit_size);
    free(raw);
    free(commit);
    if (rc != EC_ENOTFOUND)
        return ec_status_set(st, EC_EIO, "ledger damaged: a block is stored above the tip %llu",
                             (unsigned long long)height);
    return 0;
}

/* Loads the committed tip into the commit thread's state. */
static int s_load_tip(ec_node_t *node, ec_status_t *st)
{
    s_committer_t *cm = &node->cm;
    cm->height = ec_ledger_height(node->ledger);
    memcpy(cm->tip_hash, node->genesis_hash, EC_HASH_BYTES);
    cm->tip_time_ms = node->genesis.time_ms;
    if (cm->height == 0)
        return 0;
    ec_header_t h;
    int rc = ec_ledger_header(node->ledger, cm->height, &h, NULL);
    if (rc != 0)
        return ec_status_set(st, EC_EIO, "cannot read the tip header %llu: %s",
                             (unsigned long long)cm->height, ec_strerror(rc));
    ec_header_hash(cm->tip_hash, &h);
    cm->tip_time_ms = h.time_ms;
    return s_check_tip(node, &h, st);
}

/*
 * Opens the guard record and checks the store against it: the store must hold every block
 * this node ever committed, with the same hash. A store that ends below the guard lost
 * committed data (a damaged write-ahead log, a missing table file, an old copy) and is
 * refused, whatever RocksDB made of it; RocksDB cannot know what it lost, the guard can.
 * A store above the guard is the crash between the ledger's write and the guard's: the
 * guard catches up. Returns 0 or an error with st set (the node must not start).
 */
static int s_guard_open(ec_node_t *node, ec_status_t *st)
{
    char path[EC_GUARD_PATH_MAX];
    uint64_t tip = node->cm.height;
    if (snprintf(path, sizeof path, "%s/%s", node->data_dir, EC_GUARD_FILE) >= (int)sizeof path)
        return ec_status_set(st, EC_ECONFIG, "data_dir is too long");
    bool created = false;
    bool create = tip == 0 || node->cfg.adopt_store;
    node->guard = ec_guard_open(path, create, &created, st);
    if (!node->guard && st->code == EC_ENOTFOUND)
        return ec_status_set(st, EC_EIO,
                             "%s holds blocks up to height %llu but no guard file: nothing "
                             "proves the store kept every block this node committed; if you "
                             "know it is complete (made by a version without guard files), "
                             "run --check and then start once with --adopt-store",
                             node->data_dir, (unsigned long long)tip);
    if (!node->guard)
        return st->code;
    const ec_guard_state_t *g = ec_guard_state(node->guard);
    if (created && tip > 0)
        ec_warn("adopting the store in %s at height %llu as complete (--adopt-store)",
                node->data_dir, (unsigned long long)tip);
    if (tip < g->committed_height) {
        ec_error("the store in %s ends at height %llu but this node committed up to %llu: a "
                 "damaged write-ahead log, a missing table file, or a copy older than the guard "
                 "file beside it. The node will not serve from it. Restore the folder from a "
                 "copy that reaches height %llu (docs/OPERATIONS.md, \"A store that lost "
                 "data\").",
                 node->data_dir, (unsigned long long)tip, (unsigned long long)g->committed_height,
                 (unsigned long long)g->committed_height);
        return ec_status_set(st, EC_EIO,
                             "store lost committed blocks (ends at %llu, committed %llu): "
                             "restore it from a copy reaching %llu",
                             (unsigned long long)tip, (unsigned long long)g->committed_height,
                             (unsigned long long)g->committed_height);
    }
    if (g->committed_height > 0) {
        ec_header_t h;
        uint8_t hash[EC_HASH_BYTES];
        int rc = ec_ledger_header(node->ledger, g->committed_height, &h, NULL);
        if (rc != 0)
            return ec_status_set(st, EC_EIO, "store lost the header of committed block %llu",
                                 (unsigned long long)g->committed_height);
        ec_header_hash(hash, &h);
        if (memcmp(hash, g->committed_hash, EC_HASH_BYTES) != 0)
            return ec_status_set(st, EC_EIO,
                                 "store holds another block %llu than the one this node "
                                 "committed: it is not this node's store",
                                 (unsigned long long)g->committed_height);
    }
    if (created || tip > g->committed_height)
        return s_guard_commit(node, tip, node->cm.tip_hash, st);
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

static int s_sockets(ec_node_t *node, ec_status_t *st)
{
    const int q = 100000; /* in-process queue bound, in messages */
    node->zctx = zmq_ctx_new();
    if (!node->zctx)
        return ec_status_set(st, EC_EINTERNAL, "zmq_ctx_new: %s", zmq_strerror(errno));
    /* Per connection: replies are bounded in bytes by the client table (ec_clients.h); the
     * incoming queue holds at most 1000 requests, which the rpc thread drains at once. */
    node->router = s_socket(node, ZMQ_ROUTER, S_ROUTER_LINGER_MS, q, 1000);
    node->pub = s_socket(node, ZMQ_PUB, 0, 1000, 1000);
    node->verify_push = s_socket(node, ZMQ_PUSH, 0, q, q);
    node->commit_pull = s_socket(node, ZMQ_PULL, 0, q, q);
    node->reply_pull = s_socket(node, ZMQ_PULL, 0, 0, 0);
    node->commit_reply = s_socket(node, ZMQ_PUSH, 0, 0, 0);
    node->stop_reply = s_socket(node, ZMQ_PUSH, 0, 0, 0);
    if (!node->router || !node->pub || !node->verify_push || !node->commit_pull ||
        !node->reply_pull || !node->commit_reply || !node->stop_reply)
        return ec_status_set(st, EC_EINTERNAL, "zmq_socket: %s", zmq_strerror(errno));
    int off = 0;
    int64_t maxmsg = S_ROUTER_MAXMSG;
    if (zmq_setsockopt(node->router, ZMQ_ROUTER_MANDATORY, &off, sizeof(off)) != 0 ||
        zmq_setsockopt(node->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) != 0)
        return ec_status_set(st, EC_EINTERNAL, "zmq_setsockopt: %s", zmq_strerror(errno));
    if (zmq_bind(node->router, node->rpc_endpoint) != 0)
        return ec_status_set(st, EC_EIO, "cannot bind rpc %s: %s", node->rpc_endpoint,
                             zmq_strerror(errno));
    if (zmq_bind(node->pub, node->pub_endpoint) != 0)
        return ec_status_set(st, EC_EIO, "cannot bind pub %s: %s", node->pub_endpoint,
                             zmq_strerror(errno));
    if (zmq_bind(node->verify_push, S_EP_VERIFY) != 0 ||
        zmq_bind(node->commit_pull, S_EP_COMMIT) != 0 ||
        zmq_bind(node->reply_pull, S_EP_REPLY) != 0 ||
        zmq_connect(node->commit_reply, S_EP_REPLY) != 0 ||
        zmq_connect(node->stop_reply, S_EP_REPLY) != 0)
        return ec_status_set(st, EC_EINTERNAL, "inproc: %s", zmq_strerror(errno));
    node->verifiers = calloc(node->cfg.verify_threads, sizeof(*node->verifiers));
    if (!node->verifiers)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    node->verifier_count = node->cfg.verify_threads;
    for (uint32_t i = 0; i < node->verifier_count; i++) {
        s_verifier_t *v = &node->verifiers[i];
        v->node = node;
        v->pull = s_socket(node, ZMQ_PULL, 0, q, q);
        v->commit_push = s_socket(node, ZMQ_PUSH, 0, q, q);
        v->reply_push = s_socket(node, ZMQ_PUSH, 0, 0, 0);
        if (!v->pull || !v->commit_push || !v->reply_push ||
            zmq_connect(v->pull, S_EP_VERIFY) != 0 ||
            zmq_connect(v->commit_push, S_EP_COMMIT) != 0 ||
            zmq_connect(v->reply_push, S_EP_REPLY) != 0)
            return ec_status_set(st, EC_EINTERNAL, "inproc: %s", zmq_strerror(errno));
    }
    return 0;
}

static int s_buffers(ec_node_t *node, ec_status_t *st)
{
    s_committer_t *cm = &node->cm;
    uint32_t n = node->cfg.block_txs_max;
    cm->subs = calloc(n, sizeof(*cm->subs));
    cm->tx_ptrs = calloc(n, sizeof(*cm->tx_ptrs));
    cm->tx_sizes = calloc(n, sizeof(*cm->tx_sizes));
    cm->leaves = calloc(n, sizeof(*cm->leaves));
    node->srv.leaves = calloc(EC_BLOCK_TXS_MAX, sizeof(*node->srv.leaves));
    node->mempool = ec_mempool_new(node->cfg.mempool_max, n);
    if (!cm->subs || !cm->tx_ptrs || !cm->tx_sizes || !cm->leaves || !node->srv.leaves ||
        !node->mempool)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    return 0;
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
    if (pthread_create(&node->rpc_thread, NULL, s_rpc_main, node) == 0)
        node->rpc_started = true;
    else
        rc = EC_EINTERNAL;
    for (uint32_t i = 0; rc == 0 && i < node->verifier_count; i++) {
        s_verifier_t *v = &node->verifiers[i];
        if (pthread_create(&v->thread, NULL, s_verify_main, v) == 0)
            v->started = true;
        else
            rc = EC_EINTERNAL;
    }
    if (rc == 0 && pthread_create(&node->commit_thread, NULL, s_commit_main, node) == 0)
        node->commit_started = true;
    else if (rc == 0)
        rc = EC_EINTERNAL;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc ? ec_status_set(st, rc, "cannot start threads") : 0;
}

static int s_init(ec_node_t *node, const ec_node_config_t *cfg, ec_app_t *app, ec_status_t *st)
{
    node->cfg = *cfg;
    node->app = app;
    node->genesis = *cfg->genesis;
    node->data_dir = strdup(cfg->data_dir);
    node->rpc_endpoint = strdup(cfg->rpc_endpoint);
    node->pub_endpoint = strdup(cfg->pub_endpoint);
    if (!node->data_dir || !node->rpc_endpoint || !node->pub_endpoint)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    node->cfg.data_dir = node->data_dir;
    node->cfg.rpc_endpoint = node->rpc_endpoint;
    node->cfg.pub_endpoint = node->pub_endpoint;
    node->cfg.genesis = &node->genesis;
    ec_genesis_hash(node->genesis_hash, &node->genesis);
    ec_valset_hash(node->valset_hash, &node->genesis.validators);
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
    node->consensus = ec_consensus_solo_new(&node->genesis, cfg->validator_key, st);
    if (!node->consensus)
        return st->code;
    int rc = s_buffers(node, st);
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
    if (!node->clients)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    node->ledger = ec_ledger_open(node->data_dir, st);
    if (!node->ledger)
        return st->code ? st->code : EC_EIO;
    if ((rc = s_ledger_init(node, st)) != 0 || (rc = s_load_tip(node, st)) != 0 ||
        (rc = s_guard_open(node, st)) != 0)
        return rc;
    if (s_pipe(node->stop_pipe) || s_pipe(node->halt_pipe) || s_pipe(node->final_pipe))
        return ec_status_set(st, EC_EINTERNAL, "pipe: %s", strerror(errno));
    if ((rc = s_sockets(node, st)) != 0)
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
    ec_writer_init(&node->cm.w_block);
    ec_writer_init(&node->cm.w_header);
    ec_writer_init(&node->cm.w_commit);
    ec_writer_init(&node->cm.w_value);
    ec_writer_init(&node->cm.w_entry);
    ec_writer_init(&node->cm.w_reply);
    ec_decoder_init(&node->srv.req_dec);
    ec_decoder_init(&node->srv.val_dec);
    ec_writer_init(&node->srv.out);
    if (s_init(node, cfg, app, st) != 0) {
        if (st->code == 0)
            ec_status_set(st, EC_EINTERNAL, "node start failed");
        ec_node_destroy(&node);
        return NULL;
    }
    ec_info("%s node for chain %s at height %llu: rpc %s, pub %s, %u verifiers, %s consensus",
            app->name ? app->name : "chain", node->genesis.chain_id,
            (unsigned long long)node->cm.height, node->rpc_endpoint, node->pub_endpoint,
            node->verifier_count, ec_consensus_name(node->consensus));
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
            s_pipe_raise(s_signal_fds[i]);
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

/* Answers every submission still queued anywhere with EC_ESHUTDOWN (threads joined). */
static void s_drain(ec_node_t *node)
{
    ec_writer_t w;
    ec_writer_init(&w);
    s_sub_t *sub;
    uint32_t n = 0;
    for (uint32_t i = 0; i < node->verifier_count; i++)
        while (node->verifiers[i].pull && (sub = s_pull_ptr(node->verifiers[i].pull)) && ++n)
            s_sub_refuse(node->stop_reply, &w, sub, EC_ESHUTDOWN, "node is stopping");
    while (node->commit_pull && (sub = s_pull_ptr(node->commit_pull)) && ++n)
        s_sub_refuse(node->stop_reply, &w, sub, EC_ESHUTDOWN, "node is stopping");
    while (node->mempool && (sub = ec_mempool_pop(node->mempool)) && ++n) {
        ec_mempool_forget(node->mempool, sub->tx.id);
        s_sub_refuse(node->stop_reply, &w, sub, EC_ESHUTDOWN, "node is stopping");
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
    s_pipe_raise(node->halt_pipe[1]);
    /* Wait until the rpc thread no longer feeds the verifiers (it answers at once). */
    for (int i = 0; node->rpc_started && !atomic_load(&node->intake_closed) && i < 10000; i++)
        usleep(1000);
    for (uint32_t i = 0; i < node->verifier_count; i++)
        if (node->verifiers[i].started) {
            pthread_join(node->verifiers[i].thread, NULL);
            node->verifiers[i].started = false;
        }
    if (node->commit_started) {
        pthread_join(node->commit_thread, NULL);
        node->commit_started = false;
    }
    if (node->stop_reply)
        s_drain(node);
    s_pipe_raise(node->final_pipe[1]);
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
        s_pipe_raise(node->stop_pipe[1]);
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
    s_shutdown(node);
    for (uint32_t i = 0; node->verifiers && i < node->verifier_count; i++) {
        s_close(&node->verifiers[i].pull);
        s_close(&node->verifiers[i].commit_push);
        s_close(&node->verifiers[i].reply_push);
    }
    s_close(&node->router);
    s_close(&node->pub);
    s_close(&node->verify_push);
    s_close(&node->commit_pull);
    s_close(&node->reply_pull);
    s_close(&node->commit_reply);
    s_close(&node->stop_reply);
    if (node->zctx)
        zmq_ctx_term(node->zctx);
    ec_clients_destroy(&node->clients); /* after the context: its free functions use it */
    s_close_fds(node->stop_pipe);
    s_close_fds(node->halt_pipe);
    s_close_fds(node->final_pipe);
    ec_ledger_destroy(&node->ledger);
    ec_guard_destroy(&node->guard);
    ec_mempool_destroy(&node->mempool);
    ec_consensus_destroy(&node->consensus);
    s_committer_t *cm = &node->cm;
    free(cm->subs);
    free(cm->tx_ptrs);
    free(cm->tx_sizes);
    free(cm->leaves);
    ec_writer_fini(&cm->w_block);
    ec_writer_fini(&cm->w_header);
    ec_writer_fini(&cm->w_commit);
    ec_writer_fini(&cm->w_value);
    ec_writer_fini(&cm->w_entry);
    ec_writer_fini(&cm->w_reply);
    ec_decoder_fini(&node->srv.req_dec);
    ec_decoder_fini(&node->srv.val_dec);
    ec_writer_fini(&node->srv.out);
    free(node->srv.leaves);
    free(node->verifiers);
    free(node->genesis_bytes);
    free(node->data_dir);
    free(node->rpc_endpoint);
    free(node->pub_endpoint);
    free(node);
    *self_p = NULL;
}
