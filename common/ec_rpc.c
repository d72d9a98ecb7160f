/*
 * ec_rpc.c - the RPC frame codec (request and reply, docs/PROTOCOL.md "RPC") and the
 * client: one DEALER socket with its own ZeroMQ context, talking to a node's ROUTER.
 *
 * Frames are single canonical msgpack arrays:
 *
 *   | index | request            | reply                                          |
 *   |------:|--------------------|------------------------------------------------|
 *   |     0 | version = 1 (uint) | version = 1 (uint)                             |
 *   |     1 | req_id (uint)      | req_id (uint), echoed                          |
 *   |     2 | method (str, 1..31)| code (int: 0 or a negative EC_E* code)         |
 *   |     3 | params (array)     | result (any) when code == 0, else str: reason  |
 *
 * The client never blocks without a bound: every wait goes through zmq_poll with the
 * remaining time, and the socket lingers 0 ms on close. Replies are matched by req_id;
 * a reply for an earlier call that timed out is dropped by ec_rpc_call.
 */
#include "ec_rpc.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

/* ---- frame codec ------------------------------------------------------------------------ */

static bool s_is_uint(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
}

int ec_rpc_request_parse_st(ec_decoder_t *d, const uint8_t *frame, size_t size,
                            ec_rpc_request_t *req, ec_status_t *st)
{
    assert(d && req && (frame || size == 0));
    memset(req, 0, sizeof(*req));
    if (size > EC_RPC_MESSAGE_BYTES_MAX)
        return ec_status_set(st, EC_ETOOBIG, "request of %zu bytes exceeds %u", size,
                             EC_RPC_MESSAGE_BYTES_MAX);
    const msgpack_object *root = NULL;
    int rc = ec_decode(d, frame, size, &root);
    if (rc != 0)
        return ec_status_set(st, rc, "request is not one canonical msgpack object: %s",
                             ec_strerror(rc));
    if (root->type != MSGPACK_OBJECT_ARRAY)
        return ec_status_set(st, EC_EINVAL, "request must be an array [1, req_id, method, params]");
    uint32_t n = root->via.array.size;
    const msgpack_object *it = root->via.array.ptr;
    /* Read the req_id first, so that even a broken request gets a reply it can match. */
    if (n >= 2 && s_is_uint(&it[1]))
        req->req_id = it[1].via.u64;
    if (n >= 1 && s_is_uint(&it[0]) && it[0].via.u64 != 1)
        return ec_status_set(st, EC_EVERSION, "request version %llu not supported (1)",
                             (unsigned long long)it[0].via.u64);
    if (n != 4)
        return ec_status_set(st, EC_EINVAL,
                             "request must have 4 fields [1, req_id, method, params], not %u", n);
    if (!s_is_uint(&it[0]))
        return ec_status_set(st, EC_EINVAL, "request version must be uint 1");
    if (!s_is_uint(&it[1]))
        return ec_status_set(st, EC_EINVAL, "request req_id must be uint");
    if (it[2].type != MSGPACK_OBJECT_STR)
        return ec_status_set(st, EC_EINVAL, "request method must be str");
    uint32_t mlen = it[2].via.str.size;
    if (mlen == 0 || mlen >= EC_RPC_METHOD_MAX)
        return ec_status_set(st, EC_EINVAL, "request method must be 1..%d bytes",
                             EC_RPC_METHOD_MAX - 1);
    if (memchr(it[2].via.str.ptr, 0, mlen))
        return ec_status_set(st, EC_EINVAL, "request method contains a NUL byte");
    if (it[3].type != MSGPACK_OBJECT_ARRAY)
        return ec_status_set(st, EC_EINVAL, "request params must be an array");
    memcpy(req->method, it[2].via.str.ptr, mlen);
    req->method[mlen] = '\0';
    req->params = &it[3];
    return 0;
}

int ec_rpc_request_parse(ec_decoder_t *d, const uint8_t *frame, size_t size, ec_rpc_request_t *req)
{
    return ec_rpc_request_parse_st(d, frame, size, req, NULL);
}

void ec_rpc_request_encode(ec_writer_t *w, uint64_t req_id, const char *method,
                           const uint8_t *params, size_t params_size)
{
    assert(w && method);
    assert(strlen(method) > 0 && strlen(method) < EC_RPC_METHOD_MAX);
    ec_write_array(w, 4);
    ec_write_uint(w, 1);
    ec_write_uint(w, req_id);
    ec_write_cstr(w, method);
    if (params && params_size > 0)
        ec_write_raw(w, params, params_size);
    else
        ec_write_array(w, 0);
}

void ec_rpc_reply_begin(ec_writer_t *w, uint64_t req_id)
{
    assert(w);
    ec_write_array(w, 4);
    ec_write_uint(w, 1);
    ec_write_uint(w, req_id);
    ec_write_int(w, 0);
}

void ec_rpc_reply_ok(ec_writer_t *w, uint64_t req_id, const uint8_t *result, size_t size)
{
    assert(result && size > 0);
    ec_rpc_reply_begin(w, req_id);
    ec_write_raw(w, result, size);
}

void ec_rpc_reply_error(ec_writer_t *w, uint64_t req_id, int code, const char *message)
{
    assert(w && code < 0);
    ec_write_array(w, 4);
    ec_write_uint(w, 1);
    ec_write_uint(w, req_id);
    ec_write_int(w, code);
    ec_write_cstr(w, message && message[0] ? message : ec_strerror(code));
}

/* ---- client ----------------------------------------------------------------------------- */

/* Replies a client will accept: a whole block of the largest size, with room to spare. */
#define S_REPLY_BYTES_MAX ((int64_t)EC_CODEC_MESSAGE_BYTES_MAX)
/* Requests a client may have queued (pipelining) before ec_rpc_send says EC_EBUSY. */
#define S_SEND_HWM 20000
/* Replies a client may have waiting before ZeroMQ stops reading from the node. */
#define S_RECV_HWM 100000

struct ec_rpc {
    void *ctx;           /* own ZeroMQ context, so a client is independent of any other     */
    void *sock;          /* DEALER connected to the node's ROUTER                           */
    uint64_t next_id;    /* next req_id to use                                              */
    uint32_t timeout_ms; /* bound for ec_rpc_call                                           */
    ec_writer_t w;       /* request encoding buffer, reused                                 */
};

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

ec_rpc_t *ec_rpc_connect(const char *endpoint, uint32_t timeout_ms)
{
    if (!endpoint || !endpoint[0])
        return NULL;
    ec_rpc_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->timeout_ms = timeout_ms;
    self->next_id = 1;
    ec_writer_init(&self->w);
    self->ctx = zmq_ctx_new();
    if (!self->ctx)
        goto fail;
    self->sock = zmq_socket(self->ctx, ZMQ_DEALER);
    if (!self->sock)
        goto fail;
    int linger = 0, sndhwm = S_SEND_HWM, rcvhwm = S_RECV_HWM;
    int64_t maxmsg = S_REPLY_BYTES_MAX;
    if (zmq_setsockopt(self->sock, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
        zmq_setsockopt(self->sock, ZMQ_SNDHWM, &sndhwm, sizeof(sndhwm)) != 0 ||
        zmq_setsockopt(self->sock, ZMQ_RCVHWM, &rcvhwm, sizeof(rcvhwm)) != 0 ||
        zmq_setsockopt(self->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) != 0)
        goto fail;
    if (zmq_connect(self->sock, endpoint) != 0)
        goto fail;
    return self;
fail:
    ec_rpc_destroy(&self);
    return NULL;
}

void ec_rpc_destroy(ec_rpc_t **self_p)
{
    assert(self_p);
    ec_rpc_t *self = *self_p;
    if (!self)
        return;
    if (self->sock)
        zmq_close(self->sock);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    ec_writer_fini(&self->w);
    free(self);
    *self_p = NULL;
}

void ec_rpc_reply_fini(ec_rpc_reply_t *r)
{
    if (!r)
        return;
    ec_decoder_fini(&r->dec);
    free(r->frame);
    memset(r, 0, sizeof(*r));
}

/* Parses r->frame into the other fields. Returns 0 or EC_EINVAL. */
static int s_reply_parse(ec_rpc_reply_t *r)
{
    const msgpack_object *root = NULL;
    if (ec_decode(&r->dec, r->frame, r->frame_size, &root) != 0)
        return EC_EINVAL;
    if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size != 4)
        return EC_EINVAL;
    const msgpack_object *it = root->via.array.ptr;
    if (!s_is_uint(&it[0]) || it[0].via.u64 != 1 || !s_is_uint(&it[1]))
        return EC_EINVAL;
    r->req_id = it[1].via.u64;
    if (s_is_uint(&it[2])) {
        if (it[2].via.u64 != 0)
            return EC_EINVAL;
        r->code = 0;
        r->result = &it[3];
        return 0;
    }
    if (it[2].type != MSGPACK_OBJECT_NEGATIVE_INTEGER || it[2].via.i64 < -1000000)
        return EC_EINVAL;
    /* msgpack-c gives an empty str a NULL pointer: memchr/memcpy must not see it. */
    if (it[3].type != MSGPACK_OBJECT_STR ||
        (it[3].via.str.size && memchr(it[3].via.str.ptr, 0, it[3].via.str.size)))
        return EC_EINVAL;
    r->code = (int)it[2].via.i64;
    size_t len = it[3].via.str.size;
    if (len >= sizeof(r->message))
        len = sizeof(r->message) - 1;
    if (len)
        memcpy(r->message, it[3].via.str.ptr, len);
    r->message[len] = '\0';
    return 0;
}

/* Waits up to timeout_ms (-1: forever) for `events` on the socket. 0, EC_ETIMEOUT. */
static int s_wait(ec_rpc_t *rpc, short events, int timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? 0 : s_now_ms() + timeout_ms;
    for (;;) {
        zmq_pollitem_t item = {rpc->sock, 0, events, 0};
        long wait = timeout_ms < 0 ? -1 : (long)(deadline - s_now_ms());
        if (timeout_ms >= 0 && wait < 0)
            wait = 0;
        int n = zmq_poll(&item, 1, wait);
        if (n > 0 && (item.revents & events))
            return 0;
        if (n < 0 && errno != EINTR)
            return EC_EINTERNAL;
        if (timeout_ms >= 0 && s_now_ms() >= deadline)
            return EC_ETIMEOUT;
    }
}

int ec_rpc_reply_parse(ec_rpc_reply_t *reply, uint8_t *frame, size_t size)
{
    assert(reply);
    memset(reply, 0, sizeof(*reply));
    reply->frame = frame;
    reply->frame_size = size;
    ec_decoder_init(&reply->dec);
    if (!frame || s_reply_parse(reply) != 0) {
        ec_rpc_reply_fini(reply);
        return EC_EINVAL;
    }
    return 0;
}

int ec_rpc_recv(ec_rpc_t *rpc, ec_rpc_reply_t *reply, int timeout_ms)
{
    assert(rpc && reply);
    memset(reply, 0, sizeof(*reply));
    int rc = s_wait(rpc, ZMQ_POLLIN, timeout_ms);
    if (rc != 0)
        return rc;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, rpc->sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&msg);
        return EC_ETIMEOUT;
    }
    bool more = zmq_msg_more(&msg);
    size_t size = zmq_msg_size(&msg);
    uint8_t *frame = NULL;
    if (!more && size > 0 && (frame = malloc(size)) != NULL)
        memcpy(frame, zmq_msg_data(&msg), size);
    zmq_msg_close(&msg);
    /* A reply is one frame: drop any extra frames of a garbled message. */
    while (more) {
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, rpc->sock, ZMQ_DONTWAIT) < 0)
            more = false;
        else
            more = zmq_msg_more(&msg);
        zmq_msg_close(&msg);
    }
    /* frame is NULL for an empty or multi-frame reply: EC_EINVAL */
    return ec_rpc_reply_parse(reply, frame, size);
}

/* Encodes and queues one request; waits up to timeout_ms for room (0: no wait). */
static int s_send(ec_rpc_t *rpc, uint64_t *req_id, const char *method, const uint8_t *params,
                  size_t params_size, int timeout_ms)
{
    assert(rpc && method);
    uint64_t id = rpc->next_id++;
    ec_writer_reset(&rpc->w);
    ec_rpc_request_encode(&rpc->w, id, method, params, params_size);
    for (;;) {
        if (zmq_send(rpc->sock, ec_writer_data(&rpc->w), ec_writer_size(&rpc->w), ZMQ_DONTWAIT) >=
            0)
            break;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return EC_EINTERNAL;
        if (timeout_ms == 0)
            return EC_EBUSY;
        if (s_wait(rpc, ZMQ_POLLOUT, timeout_ms) != 0)
            return EC_EBUSY;
        timeout_ms = 0; /* one bounded wait, then give up */
    }
    if (req_id)
        *req_id = id;
    return 0;
}

int ec_rpc_send(ec_rpc_t *rpc, uint64_t *req_id, const char *method, const uint8_t *params,
                size_t params_size)
{
    return s_send(rpc, req_id, method, params, params_size, 0);
}

int ec_rpc_call(ec_rpc_t *rpc, const char *method, const uint8_t *params, size_t params_size,
                ec_rpc_reply_t *reply, ec_status_t *st)
{
    assert(rpc && method && reply);
    memset(reply, 0, sizeof(*reply));
    int64_t deadline = s_now_ms() + rpc->timeout_ms;
    uint64_t id = 0;
    int rc = s_send(rpc, &id, method, params, params_size, (int)rpc->timeout_ms);
    if (rc == EC_EBUSY)
        return ec_status_set(st, EC_ETIMEOUT, "%s: could not send within %u ms", method,
                             rpc->timeout_ms);
    if (rc != 0)
        return ec_status_set(st, rc, "%s: send failed", method);
    for (;;) {
        int64_t left = deadline - s_now_ms();
        if (left < 0)
            left = 0;
        rc = ec_rpc_recv(rpc, reply, (int)left);
        if (rc == EC_ETIMEOUT)
            return ec_status_set(st, EC_ETIMEOUT, "%s: no reply within %u ms", method,
                                 rpc->timeout_ms);
        if (rc != 0)
            return ec_status_set(st, rc, "%s: garbled reply", method);
        if (reply->req_id == id)
            break;
        /* A late reply to an earlier call that timed out: not ours. */
        ec_rpc_reply_fini(reply);
    }
    if (reply->code != 0)
        ec_status_set(st, reply->code, "%s", reply->message);
    else if (st)
        ec_status_clear(st);
    return 0;
}

/* ---- typed replies ----------------------------------------------------------------------- */

int ec_rpc_status_read(ec_rpc_status_t *out, const msgpack_object *result)
{
    memset(out, 0, sizeof *out);
    ec_cur_t c;
    ec_cur_open(&c, result, 13);
    ec_cur_str_copy(&c, out->chain_id, sizeof out->chain_id);
    ec_cur_uint(&c, &out->kind);
    ec_cur_str_copy(&c, out->cert_type, sizeof out->cert_type);
    ec_cur_uint(&c, &out->height);
    ec_cur_bin_fixed_opt(&c, out->tip_hash, sizeof out->tip_hash, &out->has_tip);
    ec_cur_bin_fixed(&c, out->genesis_hash, sizeof out->genesis_hash);
    ec_cur_uint(&c, &out->tip_time_ms);
    ec_cur_uint(&c, &out->mempool);
    ec_cur_uint(&c, &out->round);
    ec_cur_uint_max(&c, &out->step, 3);
    out->is_validator = !ec_cur_peek_nil(&c);
    if (out->is_validator)
        ec_cur_uint(&c, &out->validator);
    else
        ec_cur_nil(&c);
    ec_cur_uint(&c, &out->validators);
    ec_cur_uint(&c, &out->peers);
    int rc = ec_cur_finish(&c);
    if (rc != 0)
        memset(out, 0, sizeof *out);
    return rc;
}
