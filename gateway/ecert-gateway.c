/*
 * ecert-gateway.c - main(): the HTTP/JSON gateway in front of the chains (docs/GATEWAY.md).
 *
 * It reads the client config (the one `ecert` reads), starts libmicrohttpd with one thread
 * per connection on 127.0.0.1 unless told otherwise, and answers three kinds of request:
 * the API (gw_routes.c's table, handlers in gw_api.c and gw_events.c), /openapi.json and
 * /healthz, and the portal's static files (gw_static.c). Every request first passes the
 * per-address rate limit; bodies are bounded (GW_BODY_BYTES_MAX) before they are read.
 * The gateway holds no user key and no state beyond caches: several can serve the same
 * chains behind a load balancer.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "ec_config.h"
#include "ec_log.h"
#include "ec_metrics.h"
#include "gw_app.h"
#include "gw_err.h"
#include "gw_events.h"
#include "gw_rate.h"
#include "gw_static.h"

#ifndef GW_PORTAL_DEFAULT
#define GW_PORTAL_DEFAULT ""
#endif

#define S_LISTEN_DEFAULT "127.0.0.1:7600"
#define S_RATE_DEFAULT 100.0
#define S_BURST_DEFAULT 200.0
#define S_TIMEOUT_MS_DEFAULT 5000
#define S_SUBMIT_TIMEOUT_MS_DEFAULT 15000
#define S_RATE_SLOTS 16384

/* Only 'self': the pages load their scripts, styles and libsodium's wasm from the
 * gateway, and talk to it alone. QR codes are drawn as data: images. */
#define S_CSP                                                                                      \
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "                 \
    "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "         \
    "frame-ancestors 'none'; form-action 'self'"

static const char s_help[] =
    "usage: ecert-gateway [--client-config FILE] [--listen HOST:PORT] [--portal DIR]\n"
    "                     [--rate N] [--burst N] [--timeout-ms N] [--submit-timeout-ms N]\n"
    "                     [--metrics IPV4:PORT] [--idle-timeout-s N] [--config gateway.yaml]\n"
    "                     [--status-dir DIR] [--log-level LEVEL]\n\n"
    "The HTTP/JSON gateway in front of the ecert chains (docs/GATEWAY.md): every query and\n"
    "submission as JSON under /api/v1, server-sent events, /openapi.json, /healthz, and the\n"
    "web portal's static files. It never holds a user's key: clients sign what\n"
    "POST /api/v1/chains/{chain}/tx/prepare returns and post it to .../tx. It keeps no\n"
    "state, so any number of gateways can serve the same chains behind a load balancer.\n\n"
    "Options (a --config file may give the same keys without the dashes, e.g. 'rate: 50';\n"
    "the command line wins):\n"
    "  --client-config FILE    the client config that names every chain's rpc and pub\n"
    "                          endpoints (default: $ECERT_CONFIG, else " CL_DEFAULT_CONFIG ")\n"
    "  --listen HOST:PORT      where to listen (default " S_LISTEN_DEFAULT "; port 0 picks a\n"
    "                          free one, printed at start). Another host than 127.0.0.1 or\n"
    "                          [::1] exposes the gateway: put it behind a TLS proxy\n"
    "  --portal DIR            the portal's folder (default: the source tree's gateway/portal,\n"
    "                          " GW_PORTAL_DEFAULT "); '' serves no portal\n"
    "  --rate N                requests a second per client address, on average (default 100;\n"
    "                          0: no limit)\n"
    "  --burst N               requests a client address may make at once (default 200)\n"
    "  --timeout-ms N          how long to wait for a node's answer (default 5000)\n"
    "  --submit-timeout-ms N   how long a submission may wait for its block (default 15000)\n"
    "  --metrics IPV4:PORT     serve Prometheus metrics there (GET /metrics): requests by\n"
    "                          route and status, latency, event streams, rate-limited count\n"
    "  --idle-timeout-s N      close a connection silent this long (default 30; a slow\n"
    "                          client that sends half a request is closed then)\n"
    "  --status-dir DIR        serve the W3C status-list credentials that issuing agencies\n"
    "                          export into DIR/<chain>/<agency address>/<purpose>.json\n"
    "                          ('ecert export status-list', docs/INTEROP.md)\n"
    "  --config FILE           a YAML file with the options above\n"
    "  --log-level LEVEL       debug, info (default), warn or error\n\n"
    "Limits: bodies 1 MiB (413), 256 connections, 64 event streams, 30 s of silence closes a\n"
    "connection, and a client over its rate gets 429 with Retry-After.\n\n"
    "Example:\n"
    "  ecert-gateway --client-config .devnet/client.yaml --listen 127.0.0.1:7600\n"
    "  curl http://127.0.0.1:7600/api/v1/chains\n";

typedef struct {
    const char *client_config, *listen, *portal, *config, *log_level, *metrics, *status_dir;
    double rate, burst;
    uint64_t timeout_ms, submit_timeout_ms, idle_s;
    bool rate_set, burst_set, timeout_set, submit_timeout_set;
} s_opts_t;

/* One request's state across libmicrohttpd's calls. */
typedef struct {
    bool started;
    const gw_route_t *route;
    gw_call_t call;
    char *body;
    size_t body_size;
    bool too_big;
    bool is_static;    /* a portal file                                               */
    uint64_t start_us; /* when the headers were in                                     */
} s_req_t;

static gw_app_t s_app;

/* ---- metrics (docs/OPERATIONS.md, "Metrics and alerts") ---------------------------------- */

#define S_ROUTES_MAX 32 /* routes the metrics table has room for (asserted)               */
static const unsigned s_statuses[] = {200, 400, 403, 404, 409, 413, 422, 429, 500, 502, 503, 504};
#define S_STATUS_N (sizeof s_statuses / sizeof s_statuses[0] + 1) /* + "other"           */

static struct {
    ec_metrics_t *reg; /* NULL without --metrics: every update below is then skipped  */
    /* by route (then "static", "unmatched") and status; made on first use */
    ec_metric_t *requests[S_ROUTES_MAX + 2][S_STATUS_N];
    ec_metric_t *latency[S_ROUTES_MAX + 2];
    ec_metric_t *rate_limited;
} s_m;

static uint64_t s_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static size_t s_route_index(const s_req_t *rq)
{
    if (rq && rq->route)
        return (size_t)(rq->route - gw_routes);
    return gw_route_count + (rq && rq->is_static ? 0 : 1);
}

static const char *s_route_label(size_t i)
{
    return i < gw_route_count ? gw_routes[i].op_id : i == gw_route_count ? "static" : "unmatched";
}

static int s_streams_read(void *arg, double *value)
{
    *value = (double)__atomic_load_n(&((gw_app_t *)arg)->streams, __ATOMIC_RELAXED);
    return 0;
}

/* Registers the series known in advance; the per-status counters come on first use. */
static int s_metrics_start(gw_app_t *app, const char *addr)
{
    assert(gw_route_count <= S_ROUTES_MAX);
    s_m.reg = ec_metrics_new();
    if (!s_m.reg)
        return EC_ENOMEM;
    static const double bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                    0.25,  0.5,    1,     2.5,  5,     10};
    for (size_t i = 0; i < gw_route_count + 2; i++)
        s_m.latency[i] = ec_metrics_histogram(
            s_m.reg, "ecert_gateway_request_seconds",
            "Time from a request's headers to its answer being queued, by route.", bounds,
            sizeof bounds / sizeof bounds[0], "route", s_route_label(i), NULL);
    s_m.rate_limited =
        ec_metrics_counter(s_m.reg, "ecert_gateway_rate_limited_total",
                           "Requests answered 429 by the per-address rate limit.", NULL);
    ec_metrics_callback(s_m.reg, EC_METRICS_GAUGE, "ecert_gateway_event_streams",
                        "Server-sent event streams open now.", s_streams_read, app, NULL);
    int rc = ec_metrics_add_process(s_m.reg, NULL, NULL);
    if (rc == 0)
        rc = ec_metrics_serve(s_m.reg, addr);
    return rc;
}

/* Counts one answer of rq with status, and its latency. */
static void s_metrics_count(const s_req_t *rq, unsigned status)
{
    if (!s_m.reg)
        return;
    size_t r = s_route_index(rq), si = S_STATUS_N - 1;
    for (size_t i = 0; i < S_STATUS_N - 1; i++)
        if (s_statuses[i] == status)
            si = i;
    ec_metric_t *m = __atomic_load_n(&s_m.requests[r][si], __ATOMIC_ACQUIRE);
    if (!m) { /* two threads may both register: the registry returns the same series */
        char st[16];
        snprintf(st, sizeof st, "%u", si == S_STATUS_N - 1 ? 0u : status);
        m = ec_metrics_counter(s_m.reg, "ecert_gateway_requests_total",
                               "HTTP requests answered, by route and status (0: another).", "route",
                               s_route_label(r), "status", st, NULL);
        __atomic_store_n(&s_m.requests[r][si], m, __ATOMIC_RELEASE);
    }
    ec_metrics_inc(m);
    if (rq)
        ec_metrics_observe(s_m.latency[r], (double)(s_mono_us() - rq->start_us) / 1e6);
}

/* ---- answers ---------------------------------------------------------------------------- */

static enum MHD_Result s_queue(s_req_t *rq, struct MHD_Connection *conn, unsigned status,
                               struct MHD_Response *resp)
{
    s_metrics_count(rq, status);
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

/* Answers JSON (taking j) with status. */
static enum MHD_Result s_json(s_req_t *rq, struct MHD_Connection *conn, unsigned status, json_t *j,
                              uint32_t retry_after_s)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text)
        text =
            strdup("{\"error\":{\"code\":-11,\"name\":\"ENOMEM\",\"message\":\"out of memory\"}}");
    if (!text)
        return MHD_NO;
    size_t n = strlen(text);
    text[n] = '\n'; /* one line, ended */
    struct MHD_Response *resp = MHD_create_response_from_buffer(n + 1, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (retry_after_s) {
        char ra[16];
        snprintf(ra, sizeof ra, "%u", retry_after_s);
        MHD_add_response_header(resp, "Retry-After", ra);
    }
    return s_queue(rq, conn, status, resp);
}

static enum MHD_Result s_error(s_req_t *rq, struct MHD_Connection *conn, int code, const char *msg)
{
    return s_json(rq, conn, gw_err_http_status(code), gw_err_json(code, msg),
                  code == EC_EBUSY ? 1 : 0);
}

/* A portal file. */
static enum MHD_Result s_static(s_req_t *rq, struct MHD_Connection *conn, const char *url,
                                const char *method)
{
    if (!s_app.portal[0])
        return s_error(rq, conn, EC_ENOTFOUND, "this gateway serves no portal (--portal)");
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return s_error(rq, conn, EC_EMETHOD, "the portal's files are read with GET");
    char path[4096];
    int rc = gw_static_resolve(s_app.portal, url, path, sizeof path);
    if (rc)
        return s_error(rq, conn, rc == EC_EPERM ? EC_ENOTFOUND : rc,
                       rc == EC_EINVAL ? "a path the portal does not serve" : "no such file");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        if (fd >= 0)
            close(fd);
        return s_error(rq, conn, EC_ENOTFOUND, "no such file");
    }
    struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
    if (!resp) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", gw_static_type(path));
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    MHD_add_response_header(resp, "Content-Security-Policy", S_CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    return s_queue(rq, conn, 200, resp);
}

/* Runs the route's handler and answers. */
static enum MHD_Result s_dispatch(struct MHD_Connection *conn, s_req_t *rq)
{
    gw_call_t *c = &rq->call;
    if (rq->too_big)
        return s_error(rq, conn, EC_ETOOBIG, "the body is above 1 MiB");
    if (!strcmp(rq->route->method, "POST")) {
        json_error_t e;
        c->body = json_loadb(rq->body ? rq->body : "", rq->body_size, JSON_REJECT_DUPLICATES, &e);
        if (!c->body) {
            char msg[300];
            snprintf(msg, sizeof msg, "malformed JSON: %s (line %d, column %d)", e.text, e.line,
                     e.column);
            return s_error(rq, conn, EC_EINVAL, msg);
        }
        if (!json_is_object(c->body))
            return s_error(rq, conn, EC_EINVAL, "the body must be a JSON object");
    }
    if (rq->route->chain_call && !(c->ctx = gw_ctx_take(&s_app)))
        return s_error(rq, conn, EC_ENOMEM, "out of memory");
    int rc = rq->route->fn(c);
    gw_ctx_give(&s_app, c->ctx);
    c->ctx = NULL;
    if (rc == 0 && c->response) {
        struct MHD_Response *resp = c->response;
        c->response = NULL;
        return s_queue(rq, conn, 200, resp);
    }
    if (rc == 0 && !c->err) {
        json_t *out = c->out;
        c->out = NULL;
        return s_json(rq, conn, 200, out, 0);
    }
    int code = c->err ? c->err : rc;
    if (gw_err_http_status(code) >= 500)
        ec_warn("%s %s: %s: %s", rq->route->method, rq->route->path, ec_errname(code), c->err_msg);
    return s_error(rq, conn, code, c->err_msg);
}

static bool s_api_path(const char *url)
{
    return !strncmp(url, "/api/", 5) || !strcmp(url, "/api") || !strcmp(url, "/openapi.json") ||
           !strcmp(url, "/healthz");
}

/* The client's address as 16 bytes (IPv4 mapped into IPv6), for the rate limiter. */
static void s_client_addr(struct MHD_Connection *conn, uint8_t out[GW_RATE_ADDR_BYTES])
{
    memset(out, 0, GW_RATE_ADDR_BYTES);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) {
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        memcpy(out, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
    }
}

static enum MHD_Result s_access(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *upload,
                                size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)version;
    s_req_t *rq = *con_cls;
    if (!rq) { /* the headers are in; the body (if any) is not read yet */
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        *con_cls = rq;
        rq->start_us = s_mono_us();
        uint8_t addr[GW_RATE_ADDR_BYTES];
        uint32_t retry = 1;
        s_client_addr(conn, addr);
        rq->is_static = !s_api_path(url);
        if (!gw_rate_take(s_app.rate, addr, gw_events_now_ms(), &retry) &&
            (ec_metrics_inc(s_m.rate_limited), true))
            return s_json(rq, conn, 429,
                          gw_err_json(EC_EBUSY, "too many requests from this address: slow down"),
                          retry);
        if (!s_api_path(url))
            return s_static(rq, conn, url, method);
        bool known = false;
        rq->call.app = &s_app;
        rq->call.conn = conn;
        rq->route = gw_route_match(method, url, &rq->call, &known);
        rq->call.route = rq->route;
        if (!rq->route)
            return s_error(rq, conn, known ? EC_EMETHOD : EC_ENOTFOUND,
                           known ? "that path is served with another method" : "no such path");
        const char *len = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (len && strtoull(len, NULL, 10) > GW_BODY_BYTES_MAX)
            return s_error(rq, conn, EC_ETOOBIG, "the body is above 1 MiB");
        rq->started = true;
        return MHD_YES;
    }
    if (!rq->started) /* answered on the first call */
        return MHD_YES;
    if (*upload_size) {
        size_t n = *upload_size;
        if (rq->too_big || rq->body_size + n > GW_BODY_BYTES_MAX) {
            rq->too_big = true; /* read and dropped: the answer is 413 at the end */
        } else {
            char *b = realloc(rq->body, rq->body_size + n + 1);
            if (!b)
                return MHD_NO;
            memcpy(b + rq->body_size, upload, n);
            rq->body = b;
            rq->body_size += n;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    rq->started = false;
    return s_dispatch(conn, rq);
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    s_req_t *rq = *con_cls;
    if (!rq)
        return;
    json_decref(rq->call.out);
    json_decref(rq->call.body);
    if (rq->call.response)
        MHD_destroy_response(rq->call.response);
    free(rq->body);
    free(rq);
    *con_cls = NULL;
}

/* ---- options ---------------------------------------------------------------------------- */

static int s_parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || (size_t)(colon - listen) >= sizeof host)
        return -1;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end || port > 65535 || colon[1] == '\0')
        return -1;
    memset(ss, 0, sizeof *ss);
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
            return -1;
        *len = sizeof *s6;
        return 0;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
        return -1;
    *len = sizeof *s4;
    return 0;
}

static bool s_number(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (!*s || *end || v < 0 || v > 1e9)
        return false;
    *out = v;
    return true;
}

/* Reads --config: the same keys as the options, the command line winning. The document
 * stays alive (its strings are borrowed) until exit. */
static int s_config_file(s_opts_t *o)
{
    ec_status_t st = {0};
    ec_yaml_t *doc = ec_yaml_load(o->config, &st);
    if (!doc) {
        fprintf(stderr, "ecert-gateway: %s\n", st.msg);
        return 1;
    }
    const ec_yaml_node_t *root = ec_yaml_root(doc);
    static const char *const keys[] = {
        "client_config",     "listen",    "portal",  "rate",       "burst", "timeout_ms",
        "submit_timeout_ms", "log_level", "metrics", "status_dir", NULL};
    const char *v[10] = {0};
    int rc = root && ec_yaml_is_map(root)
                 ? ec_yaml_keys_check(root, o->config, "", keys, &st)
                 : ec_yaml_expected(root, o->config, "(top)", "a mapping", &st);
    for (size_t i = 0; rc == 0 && keys[i]; i++)
        rc = ec_yaml_text(root, o->config, keys[i], false, "a value", &v[i], &st);
    if (rc) {
        fprintf(stderr, "ecert-gateway: %s\n", st.msg);
        ec_yaml_destroy(&doc);
        return 1;
    }
    if (!o->client_config)
        o->client_config = v[0];
    if (!o->listen)
        o->listen = v[1];
    if (!o->portal)
        o->portal = v[2];
    double d;
    if (v[3] && !o->rate_set && s_number(v[3], &d))
        o->rate = d;
    if (v[4] && !o->burst_set && s_number(v[4], &d))
        o->burst = d;
    if (v[5] && !o->timeout_set && s_number(v[5], &d))
        o->timeout_ms = (uint64_t)d;
    if (v[6] && !o->submit_timeout_set && s_number(v[6], &d))
        o->submit_timeout_ms = (uint64_t)d;
    if (!o->log_level)
        o->log_level = v[7];
    if (!o->metrics)
        o->metrics = v[8];
    if (!o->status_dir)
        o->status_dir = v[9];
    return 0; /* doc is kept: o points into it */
}

static int s_parse(int argc, char **argv, s_opts_t *o)
{
    enum {
        O_CC = 1000,
        O_LISTEN,
        O_PORTAL,
        O_RATE,
        O_BURST,
        O_TIMEOUT,
        O_STIMEOUT,
        O_CONFIG,
        O_LOG,
        O_METRICS,
        O_IDLE,
        O_STATUS_DIR
    };
    static const struct option longs[] = {
        {"client-config", required_argument, NULL, O_CC},
        {"listen", required_argument, NULL, O_LISTEN},
        {"portal", required_argument, NULL, O_PORTAL},
        {"rate", required_argument, NULL, O_RATE},
        {"burst", required_argument, NULL, O_BURST},
        {"timeout-ms", required_argument, NULL, O_TIMEOUT},
        {"submit-timeout-ms", required_argument, NULL, O_STIMEOUT},
        {"config", required_argument, NULL, O_CONFIG},
        {"log-level", required_argument, NULL, O_LOG},
        {"metrics", required_argument, NULL, O_METRICS},
        {"idle-timeout-s", required_argument, NULL, O_IDLE},
        {"status-dir", required_argument, NULL, O_STATUS_DIR},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int opt;
    double d;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
        switch (opt) {
            case O_CC:
                o->client_config = optarg;
                break;
            case O_LISTEN:
                o->listen = optarg;
                break;
            case O_PORTAL:
                o->portal = optarg;
                break;
            case O_STATUS_DIR:
                o->status_dir = optarg;
                break;
            case O_CONFIG:
                o->config = optarg;
                break;
            case O_LOG:
                o->log_level = optarg;
                break;
            case O_METRICS:
                o->metrics = optarg;
                break;
            case O_RATE:
            case O_BURST:
            case O_TIMEOUT:
            case O_STIMEOUT:
            case O_IDLE:
                if (!s_number(optarg, &d)) {
                    fprintf(stderr, "ecert-gateway: %s needs a number, not '%s'\n",
                            argv[optind - 1], optarg);
                    return 2;
                }
                if (opt == O_RATE)
                    o->rate = d, o->rate_set = true;
                else if (opt == O_BURST)
                    o->burst = d, o->burst_set = true;
                else if (opt == O_TIMEOUT)
                    o->timeout_ms = (uint64_t)d, o->timeout_set = true;
                else if (opt == O_STIMEOUT)
                    o->submit_timeout_ms = (uint64_t)d, o->submit_timeout_set = true;
                else
                    o->idle_s = d < 1 ? 1 : (uint64_t)d;
                break;
            case 'h':
                fputs(s_help, stdout);
                return 0;
            case ':':
                fprintf(stderr, "ecert-gateway: %s needs a value (see --help)\n", argv[optind - 1]);
                return 2;
            default:
                fprintf(stderr, "ecert-gateway: unknown option '%s' (see --help)\n",
                        argv[optind - 1]);
                return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ecert-gateway: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    if (o->config && s_config_file(o))
        return 1;
    return -1;
}

/* ---- main ------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    s_opts_t o = {.rate = S_RATE_DEFAULT,
                  .burst = S_BURST_DEFAULT,
                  .timeout_ms = S_TIMEOUT_MS_DEFAULT,
                  .submit_timeout_ms = S_SUBMIT_TIMEOUT_MS_DEFAULT,
                  .idle_s = GW_CONNECTION_TIMEOUT_S};
    int rc = s_parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    int level = o.log_level ? ec_log_level_parse(o.log_level) : EC_LOG_INFO;
    if (level < 0) {
        fprintf(stderr, "ecert-gateway: --log-level is debug, info, warn or error\n");
        return 2;
    }
    ec_log_init("ecert-gateway", level);
    if (sodium_init() < 0) {
        fprintf(stderr, "ecert-gateway: libsodium did not initialise\n");
        return 1;
    }
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    const char *listen = o.listen ? o.listen : S_LISTEN_DEFAULT;
    if (s_parse_listen(listen, &ss, &sslen)) {
        fprintf(stderr, "ecert-gateway: --listen takes IPV4:PORT or [IPV6]:PORT, not '%s'\n",
                listen);
        return 2;
    }
    gw_app_t *app = &s_app;
    pthread_mutex_init(&app->pool_lock, NULL);
    app->tmpl.config_path = o.client_config;
    app->tmpl.json = true; /* the client helpers print nothing */
    app->timeout_ms = app->tmpl.timeout_ms = (uint32_t)o.timeout_ms;
    app->submit_timeout_ms = (uint32_t)o.submit_timeout_ms;
    if (!cl_config(&app->tmpl)) {
        fprintf(stderr, "ecert-gateway: %s\n", app->tmpl.err_msg);
        return 1;
    }
    const char *portal = o.portal ? o.portal : GW_PORTAL_DEFAULT;
    if (portal[0] && !realpath(portal, app->portal)) {
        fprintf(stderr, "ecert-gateway: no portal folder at %s (give --portal DIR, or '')\n",
                portal);
        return 1;
    }
    if (o.status_dir && o.status_dir[0] && !realpath(o.status_dir, app->status_dir)) {
        fprintf(stderr, "ecert-gateway: no status-list folder at %s (--status-dir)\n",
                o.status_dir);
        return 1;
    }
    app->rate = gw_rate_new(o.rate, o.burst, S_RATE_SLOTS);
    if (!app->rate)
        return 1;
    /* Signals are taken by sigwait below: block them before any thread starts. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (o.metrics && !ec_metrics_addr_valid(o.metrics)) {
        fprintf(stderr, "ecert-gateway: --metrics takes IPV4:PORT, not '%s'\n", o.metrics);
        return 2;
    }
    if (o.metrics && (rc = s_metrics_start(app, o.metrics)) != 0) {
        fprintf(stderr, "ecert-gateway: cannot serve metrics on %s: %s\n", o.metrics,
                ec_strerror(rc));
        return 1;
    }
    app->events = gw_events_start(app);
    if (!app->events)
        ec_warn("server-sent events are off: the event hub did not start");
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                             MHD_USE_ERROR_LOG | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
                         0, NULL, NULL, s_access, NULL, MHD_OPTION_SOCK_ADDR,
                         (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o.idle_s,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned)GW_CONNECTIONS_MAX,
                         MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)GW_CONNECTIONS_MAX,
                         MHD_OPTION_NOTIFY_COMPLETED, s_completed, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "ecert-gateway: cannot listen on %s (in use?)\n", listen);
        if (app->events) {
            gw_events_wake(app->events);
            gw_events_stop(&app->events);
        }
        return 1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char host[64];
    snprintf(host, sizeof host, "%.*s", (int)(strrchr(listen, ':') - listen), listen);
    ec_info("listening on http://%s:%u/ (chains: %zu, portal: %s, rate %.0f/s burst %.0f)", host,
            di ? di->port : 0, 1 + app->tmpl.cfg.side_count, app->portal[0] ? app->portal : "none",
            o.rate, o.burst);
    printf("listening on http://%s:%u/\n", host, di ? di->port : 0);
    fflush(stdout);
    int sig = 0;
    sigwait(&sigs, &sig);
    ec_info("stopping (signal %d)", sig);
    app->stopping = 1;
    if (app->events)
        gw_events_wake(app->events);
    MHD_stop_daemon(d);
    gw_events_stop(&app->events);
    ec_metrics_destroy(&s_m.reg);
    gw_ctx_pool_fini(app);
    gw_rate_destroy(&app->rate);
    return 0;
}
