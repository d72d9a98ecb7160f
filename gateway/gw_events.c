/*
 * gw_events.c - the event hub (gw_events.h) and the two server-sent event routes that
 * read it: /api/v1/events and /api/v1/chains/{chain}/certs/{id}/events.
 *
 * Streams run in their connection's own thread (libmicrohttpd's thread per connection):
 * the response callback blocks on the hub's condition variable until an event or the
 * keep-alive interval, so an idle stream costs a sleeping thread and nothing else.
 */
#include "gw_events.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "cl_commands.h"
#include "ec_log.h"
#include "gw_err.h"
#include "gw_tjson.h"

#define S_POLL_MS 500         /* the hub thread checks for a stop this often             */
#define S_HUB_TIMEOUT_MS 2000 /* the hub's own queries (sidechains, mirror)              */
#define S_SUB_HWM 1000        /* announcements queued per chain before PUB drops them    */

typedef struct {
    cl_chain_t *ch; /* in the hub's own ctx                                              */
    void *sub;
    bool known;           /* last_height below was read once                              */
    uint64_t last_height; /* side: the mirrored main height; main: unused               */
} s_source_t;

struct gw_events {
    gw_app_t *app;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    gw_event_t *ring; /* GW_EVENTS_RING, event seq at ring[seq % GW_EVENTS_RING]         */
    uint64_t next_seq;
    volatile int stop;
    void *zctx;
    cl_ctx_t *ctx; /* the hub thread's connection set                                   */
    size_t source_count;
    s_source_t sources[CL_SIDES_MAX + 1];
    /* main's view of each side chain's anchored height, by chain id */
    size_t anchored_count;
    struct {
        char chain_id[EC_CHAIN_ID_MAX];
        uint64_t height;
    } anchored[CL_SIDES_MAX * 4];
};

unsigned gw_topics_parse(const char *list)
{
    unsigned t = 0;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == 6 && !strncmp(p, "header", 6))
            t |= GW_TOPIC_HEADER;
        else if (n == 6 && !strncmp(p, "anchor", 6))
            t |= GW_TOPIC_ANCHOR;
        else if (n == 5 && !strncmp(p, "event", 5))
            t |= GW_TOPIC_EVENT;
        else
            return 0;
        p += n;
        if (*p == ',')
            p++;
    }
    return t;
}

void gw_events_push(gw_events_t *self, unsigned topic, const char *chain, const char *data)
{
    pthread_mutex_lock(&self->lock);
    gw_event_t *e = &self->ring[self->next_seq % GW_EVENTS_RING];
    e->seq = self->next_seq++;
    e->topic = topic;
    snprintf(e->chain, sizeof e->chain, "%s", chain);
    snprintf(e->data, sizeof e->data, "%s", data);
    pthread_cond_broadcast(&self->cond);
    pthread_mutex_unlock(&self->lock);
}

uint64_t gw_events_head(gw_events_t *self)
{
    pthread_mutex_lock(&self->lock);
    uint64_t s = self->next_seq;
    pthread_mutex_unlock(&self->lock);
    return s;
}

int gw_events_wait(gw_events_t *self, uint64_t *seq, gw_event_t *out, uint32_t timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    int rc = 0;
    pthread_mutex_lock(&self->lock);
    for (;;) {
        if (self->stop) {
            rc = -1;
            break;
        }
        if (*seq < self->next_seq) {
            if (self->next_seq - *seq > GW_EVENTS_RING) /* fell behind: skip what is gone */
                *seq = self->next_seq - GW_EVENTS_RING;
            *out = self->ring[*seq % GW_EVENTS_RING];
            (*seq)++;
            rc = 1;
            break;
        }
        if (pthread_cond_timedwait(&self->cond, &self->lock, &until) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

uint64_t gw_events_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* True when e is one of topics and, unless chains is "", of a chain in chains. */
static bool s_match(const gw_event_t *e, unsigned topics, const char *chains)
{
    if (!(topics & e->topic))
        return false;
    if (!chains[0])
        return true;
    char key[EC_CERT_TYPE_MAX + 2];
    snprintf(key, sizeof key, ",%s,", e->chain);
    return strstr(chains, key) != NULL;
}

int gw_events_next(gw_events_t *self, uint64_t *seq, gw_event_t *out, unsigned topics,
                   const char *chains, uint64_t deadline_ms)
{
    for (;;) {
        uint64_t now = gw_events_now_ms();
        if (now >= deadline_ms)
            return 0;
        uint64_t left = deadline_ms - now;
        int rc = gw_events_wait(self, seq, out, left < 1000 ? (uint32_t)left : 1000);
        if (rc < 0)
            return -1;
        if (rc > 0 && s_match(out, topics, chains))
            return 1;
    }
}

/* ---- the hub thread --------------------------------------------------------------------- */

static void s_push_json(gw_events_t *self, unsigned topic, const char *chain, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text)
        return;
    if (strlen(text) < GW_EVENT_DATA_MAX)
        gw_events_push(self, topic, chain, text);
    free(text);
}

/* On a main header: `sidechains`, and an anchor event for each anchored height that moved
 * since the last look (the first look only learns). */
static void s_main_anchors(gw_events_t *self, s_source_t *src, uint64_t main_height)
{
    ec_rpc_reply_t r;
    if (cl_query(self->ctx, src->ch, "sidechains", NULL, &r, 0)) {
        cl_clear_error(self->ctx);
        return;
    }
    ec_cur_t cur;
    ec_cur_open_max(&cur, r.result, 4096);
    for (uint32_t i = 0; i < cur.count; i++) {
        gw_sidechain_t sc;
        if (gw_sidechain_read(&cur, &sc))
            break;
        const char *chain_id = sc.chain_id;
        uint64_t anchored = sc.anchored;
        size_t k = 0;
        while (k < self->anchored_count && strcmp(self->anchored[k].chain_id, chain_id))
            k++;
        if (k == self->anchored_count) {
            if (k == sizeof self->anchored / sizeof self->anchored[0])
                continue;
            snprintf(self->anchored[k].chain_id, EC_CHAIN_ID_MAX, "%s", chain_id);
            self->anchored[k].height = anchored;
            self->anchored_count++;
            continue;
        }
        if (self->anchored[k].height == anchored)
            continue;
        self->anchored[k].height = anchored;
        const char *name = sc.type;
        for (size_t s = 0; s < self->ctx->cfg.side_count; s++)
            if (!strcmp(self->ctx->cfg.sides[s].chain_id, chain_id))
                name = self->ctx->cfg.sides[s].type;
        s_push_json(self, GW_TOPIC_ANCHOR, name,
                    json_pack("{s:s,s:s,s:s,s:I,s:I}", "chain", name, "chain_id", chain_id,
                              "direction", "side-to-main", "height", (json_int_t)anchored,
                              "main_height", (json_int_t)main_height));
    }
    ec_rpc_reply_fini(&r);
}

/* On a side header: `mirror`, and an anchor event when the mirrored main height moved. */
static void s_side_mirror(gw_events_t *self, s_source_t *src, uint64_t side_height)
{
    ec_rpc_reply_t r;
    if (cl_query(self->ctx, src->ch, "mirror", NULL, &r, 0)) {
        cl_clear_error(self->ctx);
        return;
    }
    uint64_t mh = 0;
    int err = gw_mirror_read(r.result, &mh);
    ec_rpc_reply_fini(&r);
    if (err)
        return;
    bool moved = src->known && mh != src->last_height;
    src->known = true;
    src->last_height = mh;
    if (moved)
        s_push_json(self, GW_TOPIC_ANCHOR, src->ch->type,
                    json_pack("{s:s,s:s,s:s,s:I,s:I}", "chain", src->ch->type, "chain_id",
                              src->ch->chain_id, "direction", "main-to-side", "height",
                              (json_int_t)side_height, "main_height", (json_int_t)mh));
}

static void s_on_header(gw_events_t *self, s_source_t *src, const uint8_t *data, size_t size)
{
    ec_header_t h;
    if (ec_header_decode(&h, data, size))
        return;
    uint8_t hash[EC_HASH_BYTES];
    ec_header_hash(hash, &h);
    s_push_json(self, GW_TOPIC_HEADER, src->ch->type,
                json_pack("{s:s,s:I,s:o,s:I,s:I}", "chain", src->ch->type, "height",
                          (json_int_t)h.height, "hash", gw_json_hex(hash, 32), "time_ms",
                          (json_int_t)h.time_ms, "tx_count", (json_int_t)h.tx_count));
    if (src->ch == &self->ctx->cfg.main)
        s_main_anchors(self, src, h.height);
    else
        s_side_mirror(self, src, h.height);
}

/* A contract event: [height, name, seq, tx_id, fn, event, data] (docs/PROTOCOL.md "RPC"). */
static void s_on_event(gw_events_t *self, s_source_t *src, const uint8_t *data, size_t size)
{
    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *root;
    if (ec_decode(&d, data, size, &root) == 0) {
        ec_cur_t c;
        uint64_t height, seq;
        char name[64], fn[64], event[64];
        uint8_t tx[32];
        const uint8_t *value = NULL;
        size_t value_size = 0;
        ec_cur_open(&c, root, 7);
        ec_cur_uint(&c, &height);
        ec_cur_str_copy(&c, name, sizeof name);
        ec_cur_uint(&c, &seq);
        ec_cur_bin_fixed(&c, tx, 32);
        ec_cur_str_copy(&c, fn, sizeof fn);
        ec_cur_str_copy(&c, event, sizeof event);
        ec_cur_bin(&c, &value, &value_size, EC_RPC_MESSAGE_BYTES_MAX);
        if (ec_cur_finish(&c) == 0) {
            /* data that would not fit an event is left out: contract_events has it */
            bool fits = value_size < GW_EVENT_DATA_MAX / 2;
            s_push_json(self, GW_TOPIC_EVENT, src->ch->type,
                        json_pack("{s:s,s:I,s:s,s:I,s:o,s:s,s:s,s:o}", "chain", src->ch->type,
                                  "height", (json_int_t)height, "name", name, "seq",
                                  (json_int_t)seq, "tx_id", gw_json_hex(tx, 32), "fn", fn, "event",
                                  event, "data",
                                  fits ? gw_json_b64(value, value_size) : json_null()));
        }
    }
    ec_decoder_fini(&d);
}

/* Reads one message (all its frames) from sub and handles it. */
static void s_read(gw_events_t *self, s_source_t *src)
{
    zmq_msg_t parts[3];
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, src->sub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (n < 3)
            parts[n++] = m;
        else
            zmq_msg_close(&m);
    }
    if (n >= 2) {
        const char *topic = zmq_msg_data(&parts[0]);
        size_t tn = zmq_msg_size(&parts[0]);
        if (tn == 6 && !memcmp(topic, "header", 6) && n == 3)
            s_on_header(self, src, zmq_msg_data(&parts[1]), zmq_msg_size(&parts[1]));
        else if (tn == 5 && !memcmp(topic, "event", 5) && n == 2)
            s_on_event(self, src, zmq_msg_data(&parts[1]), zmq_msg_size(&parts[1]));
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close(&parts[i]);
}

static void *s_thread(void *arg)
{
    gw_events_t *self = arg;
    zmq_pollitem_t items[CL_SIDES_MAX + 1];
    for (size_t i = 0; i < self->source_count; i++)
        items[i] = (zmq_pollitem_t){.socket = self->sources[i].sub, .events = ZMQ_POLLIN};
    while (!self->stop) {
        int rc = zmq_poll(items, (int)self->source_count, S_POLL_MS);
        if (rc < 0 && errno != EINTR)
            break;
        for (size_t i = 0; rc > 0 && i < self->source_count; i++)
            if (items[i].revents & ZMQ_POLLIN)
                s_read(self, &self->sources[i]);
    }
    return NULL;
}

gw_events_t *gw_events_start(gw_app_t *app)
{
    gw_events_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->app = app;
    self->ring = calloc(GW_EVENTS_RING, sizeof *self->ring);
    self->ctx = gw_ctx_take(app);
    self->zctx = zmq_ctx_new();
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&self->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (!self->ring || !self->ctx || !self->zctx) {
        gw_events_stop(&self);
        return NULL;
    }
    self->ctx->timeout_ms = S_HUB_TIMEOUT_MS;
    cl_config_t *cfg = &self->ctx->cfg;
    for (size_t i = 0; i <= cfg->side_count; i++) {
        cl_chain_t *ch = i == 0 ? &cfg->main : &cfg->sides[i - 1];
        if (!ch->pub[0])
            continue;
        void *sub = zmq_socket(self->zctx, ZMQ_SUB);
        int hwm = S_SUB_HWM, linger = 0;
        if (!sub || zmq_setsockopt(sub, ZMQ_RCVHWM, &hwm, sizeof hwm) ||
            zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof linger) ||
            zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "header", 6) ||
            zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "event", 5) || zmq_connect(sub, ch->pub)) {
            ec_warn("gateway events: cannot subscribe to %s at %s: %s", ch->chain_id, ch->pub,
                    zmq_strerror(zmq_errno()));
            if (sub)
                zmq_close(sub);
            continue;
        }
        self->sources[self->source_count++] = (s_source_t){.ch = ch, .sub = sub};
    }
    if (pthread_create(&self->thread, NULL, s_thread, self) != 0) {
        gw_events_stop(&self);
        return NULL;
    }
    self->started = true;
    return self;
}

void gw_events_wake(gw_events_t *self)
{
    pthread_mutex_lock(&self->lock);
    self->stop = 1;
    pthread_cond_broadcast(&self->cond);
    pthread_mutex_unlock(&self->lock);
}

void gw_events_stop(gw_events_t **self_p)
{
    gw_events_t *self = *self_p;
    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    self->stop = 1;
    pthread_cond_broadcast(&self->cond);
    pthread_mutex_unlock(&self->lock);
    if (self->started)
        pthread_join(self->thread, NULL);
    for (size_t i = 0; i < self->source_count; i++)
        zmq_close(self->sources[i].sub);
    if (self->zctx)
        zmq_ctx_term(self->zctx);
    if (self->ctx) {
        cl_disconnect_all(self->ctx);
        free(self->ctx);
    }
    pthread_cond_destroy(&self->cond);
    pthread_mutex_destroy(&self->lock);
    free(self->ring);
    free(self);
    *self_p = NULL;
}

/* ---- streams ---------------------------------------------------------------------------- */

typedef struct {
    gw_app_t *app;
    uint64_t seq;
    unsigned topics;
    char chains[512]; /* ",a,b," or "" for all                                          */
    /* certificate stream */
    bool cert;
    char chain[EC_CERT_TYPE_MAX];
    uint8_t id[EC_HASH_BYTES];
    char status[32];
    char buf[GW_EVENT_DATA_MAX + 128];
    size_t len, off;
} s_stream_t;

static void s_stream_free(void *cls)
{
    s_stream_t *s = cls;
    __atomic_sub_fetch(&s->app->streams, 1, __ATOMIC_SEQ_CST);
    free(s);
}

static const char *s_topic_name(unsigned t)
{
    return t == GW_TOPIC_HEADER ? "header" : t == GW_TOPIC_ANCHOR ? "anchor" : "event";
}

/* The certificate's status now into status (32 bytes). 0, or the error code. */
static int s_cert_status(gw_app_t *app, const char *chain, const uint8_t id[EC_HASH_BYTES],
                         char status[32], char *msg, size_t msg_cap)
{
    cl_ctx_t *ctx = gw_ctx_take(app);
    if (!ctx)
        return EC_ENOMEM;
    cl_chain_t *ch = gw_chain(ctx, chain);
    cl_cert_t cert;
    ec_rpc_reply_t r;
    int rc = 0;
    if (!ch) {
        rc = EC_ENOTFOUND;
        snprintf(msg, msg_cap, "no chain '%s' in the gateway's client config", chain);
    } else if (cl_cert_fetch(ctx, ch, id, &cert, &r)) {
        rc = ctx->err_code ? ctx->err_code : EC_EINTERNAL;
        size_t n = strnlen(ctx->err_msg, sizeof ctx->err_msg - 1);
        n = n < msg_cap - 1 ? n : msg_cap - 1;
        memcpy(msg, ctx->err_msg, n);
        msg[n] = '\0';
    } else {
        snprintf(status, 32, "%s", cert.status);
        ec_rpc_reply_fini(&r);
    }
    gw_ctx_give(app, ctx);
    return rc;
}

static void s_format_status(s_stream_t *s)
{
    char hex[2 * EC_HASH_BYTES + 1];
    ec_hex(hex, s->id, EC_HASH_BYTES);
    s->len = (size_t)snprintf(s->buf, sizeof s->buf,
                              "event: status\ndata: {\"chain\":\"%s\",\"cert_id\":\"%s\","
                              "\"status\":\"%s\"}\n\n",
                              s->chain, hex, s->status);
    s->off = 0;
}

/* Fills s->buf with what to send next: an event, or a keep-alive once GW_KEEPALIVE_MS
 * passed since the last thing sent, however many unwanted events went by meanwhile (a
 * stream must write now and then: only a write tells libmicrohttpd the client is gone,
 * which frees the stream's slot). False when the hub stops (the stream ends). */
static bool s_fill(s_stream_t *s)
{
    gw_event_t *e = malloc(sizeof *e);
    if (!e)
        return false;
    uint64_t deadline = gw_events_now_ms() + GW_KEEPALIVE_MS;
    bool ok = true;
    s->len = s->off = 0;
    while (s->len == 0) {
        int rc = gw_events_next(s->app->events, &s->seq, e, s->topics, s->chains, deadline);
        if (rc < 0 || s->app->stopping) {
            ok = false;
            break;
        }
        if (rc == 0) {
            s->len = (size_t)snprintf(s->buf, sizeof s->buf, ": keep-alive\n\n");
            break;
        }
        if (s->cert) {
            char now[32], msg[512];
            if (s_cert_status(s->app, s->chain, s->id, now, msg, sizeof msg) == 0 &&
                strcmp(now, s->status)) {
                memcpy(s->status, now, sizeof now);
                s_format_status(s);
            }
            continue;
        }
        s->len = (size_t)snprintf(s->buf, sizeof s->buf, "event: %s\ndata: %s\n\n",
                                  s_topic_name(e->topic), e->data);
    }
    free(e);
    return ok;
}

static ssize_t s_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    s_stream_t *s = cls;
    if (s->off >= s->len && !s_fill(s))
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = s->len - s->off;
    if (n > max)
        n = max;
    memcpy(buf, s->buf + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

/* Opens a stream (counted against GW_STREAMS_MAX) as c's response; s is taken. */
static int s_open(gw_call_t *c, s_stream_t *s)
{
    if (__atomic_add_fetch(&c->app->streams, 1, __ATOMIC_SEQ_CST) > GW_STREAMS_MAX) {
        __atomic_sub_fetch(&c->app->streams, 1, __ATOMIC_SEQ_CST);
        free(s);
        return gw_fail(c, EC_EBUSY, "%d event streams are open already: try again later",
                       GW_STREAMS_MAX);
    }
    s->app = c->app;
    c->response = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, sizeof s->buf, s_stream_read,
                                                    s, s_stream_free);
    if (!c->response) {
        s_stream_free(s);
        return gw_fail(c, EC_ENOMEM, "out of memory");
    }
    MHD_add_response_header(c->response, "Content-Type", "text/event-stream");
    MHD_add_response_header(c->response, "Cache-Control", "no-cache");
    MHD_add_response_header(c->response, "X-Accel-Buffering", "no");
    return 0;
}

int gw_h_events(gw_call_t *c)
{
    if (!c->app->events)
        return gw_fail(c, EC_ESHUTDOWN, "events are off in this gateway");
    s_stream_t *s = calloc(1, sizeof *s);
    if (!s)
        return gw_fail(c, EC_ENOMEM, "out of memory");
    const char *topics = gw_arg(c, "topics"), *chains = gw_arg(c, "chains");
    s->topics = topics && *topics ? gw_topics_parse(topics) : GW_TOPIC_ALL;
    if (!s->topics) {
        free(s);
        return gw_fail(c, EC_EINVAL, "topics are header, anchor and event, comma-separated");
    }
    if (chains && *chains) {
        if (strlen(chains) + 3 > sizeof s->chains) {
            free(s);
            return gw_fail(c, EC_EINVAL, "chains: too long a list");
        }
        snprintf(s->chains, sizeof s->chains, ",%s,", chains);
    }
    s->seq = gw_events_head(c->app->events);
    s->len = (size_t)snprintf(s->buf, sizeof s->buf, ": ecert events\nretry: 2000\n\n");
    return s_open(c, s);
}

int gw_h_cert_events(gw_call_t *c)
{
    if (!c->app->events)
        return gw_fail(c, EC_ESHUTDOWN, "events are off in this gateway");
    s_stream_t *s = calloc(1, sizeof *s);
    if (!s)
        return gw_fail(c, EC_ENOMEM, "out of memory");
    s->cert = true;
    if (strlen(c->values[0]) >= sizeof s->chain) {
        free(s);
        return gw_fail(c, EC_ENOTFOUND, "no chain '%s' in the gateway's client config",
                       c->values[0]);
    }
    memcpy(s->chain, c->values[0], strlen(c->values[0]) + 1);
    s->topics = GW_TOPIC_HEADER; /* its status is re-read at each header of its chain */
    snprintf(s->chains, sizeof s->chains, ",%s,", s->chain);
    if (gw_hex_decode(s->id, sizeof s->id, NULL, c->values[1], sizeof s->id)) {
        free(s);
        return gw_fail(c, EC_EINVAL, "the certificate id must be 64 hex digits, not '%s'",
                       c->values[1]);
    }
    s->seq = gw_events_head(c->app->events);
    char msg[512] = "";
    int rc = s_cert_status(c->app, s->chain, s->id, s->status, msg, sizeof msg);
    if (rc) {
        free(s);
        return gw_fail(c, rc, "%s", msg);
    }
    s_format_status(s); /* the first one at once */
    return s_open(c, s);
}
