/*
 * gw_app.h - what the gateway's parts share: the running gateway (its options, the client
 * config, a pool of chain connection sets, the event hub, the rate limiter), one request
 * being answered (gw_call_t), and the route table that both dispatches requests and
 * writes /openapi.json (gw_routes.c), so the two cannot drift.
 *
 * Threads: libmicrohttpd runs one thread per connection (at most GW_CONNECTIONS_MAX), so
 * a submission that waits for its block, or an event stream, blocks only its own client.
 * ec_rpc_t is not thread-safe: a request borrows a whole connection set (a cl_ctx_t with
 * its own sockets to every chain) from the pool for as long as it runs and gives it back;
 * sets are made lazily and kept, at most one per connection that ever ran at once.
 */
#ifndef GW_APP_H
#define GW_APP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "cl_common.h"
#include "ec_err.h"

#define GW_BODY_BYTES_MAX (1u * 1024 * 1024) /* a request body                          */
#define GW_CONNECTIONS_MAX 256               /* connections at once                     */
#define GW_STREAMS_MAX 64                    /* event streams at once                   */
#define GW_CONNECTION_TIMEOUT_S 30           /* a silent connection is closed            */
#define GW_KEEPALIVE_MS 15000                /* SSE comment line when nothing happened   */
#define GW_PARAMS_MAX 6                      /* parameters of one route                  */
#define GW_PATH_VALUES_MAX 3                 /* {x} segments in one path template        */
#define GW_PATH_VALUE_BYTES 128              /* one path segment's value                 */
#define GW_ROUTE_ERRORS_MAX 10               /* error statuses one route documents       */

typedef struct gw_events gw_events_t;
typedef struct gw_rate gw_rate_t;

/* The running gateway. Everything but the pool is read-only once the server started. */
typedef struct {
    cl_ctx_t tmpl;              /* the loaded client config: every pooled set copies it */
    uint32_t timeout_ms;        /* one RPC call to a node                              */
    uint32_t submit_timeout_ms; /* a submission, which waits for its block            */
    char portal[4096];          /* real path of the portal folder, "" when not served  */
    char status_dir[4096];      /* real path of the agencies' W3C status-list credentials
                                 * (--status-dir), "" when none are served             */
    gw_events_t *events;
    gw_rate_t *rate;
    pthread_mutex_t pool_lock;
    cl_ctx_t *pool[GW_CONNECTIONS_MAX + 8]; /* idle connection sets               */
    size_t pool_count;
    volatile int streams;  /* event streams open now (atomic builtins)          */
    volatile int stopping; /* set once, at shutdown                              */
} gw_app_t;

/* Borrows a connection set (made from app->tmpl when none is idle), errors cleared.
 * NULL when out of memory. */
cl_ctx_t *gw_ctx_take(gw_app_t *app);
/* Gives it back (or frees it when the pool is full). NULL is ignored. */
void gw_ctx_give(gw_app_t *app, cl_ctx_t *ctx);
/* Frees every pooled set. */
void gw_ctx_pool_fini(gw_app_t *app);
/* The configured chain named `name` ("main", or a side chain's certificate type), NULL
 * when the config has none. */
cl_chain_t *gw_chain(cl_ctx_t *ctx, const char *name);
/* The name of a configured chain (its certificate type, or "main"). */
const char *gw_chain_name(const cl_chain_t *ch);

/* One entry of the main chain's `sidechains` query (docs/PROTOCOL.md "Main-chain
 * queries"): [cert_type, chain_id, genesis_hash, anchored_height, frozen]. */
typedef struct {
    char type[EC_CERT_TYPE_MAX];
    char chain_id[EC_CHAIN_ID_MAX];
    uint64_t anchored;
    bool frozen;
} gw_sidechain_t;

/* Reads the next entry of a `sidechains` reply from cur (opened over its result) into
 * *out. Returns 0, or the error, which is then also cur's (a wrong shape, a string too
 * long): the reply is the node's and is not trusted. */
int gw_sidechain_read(ec_cur_t *cur, gw_sidechain_t *out);
/* The main-chain height a side chain's `mirror` reply (result) names, into *main_height.
 * Returns 0 or EC_EINVAL for a reply of another shape. */
int gw_mirror_read(const msgpack_object *result, uint64_t *main_height);

struct gw_route;

/* One request being answered. */
typedef struct {
    gw_app_t *app;
    const struct gw_route *route;
    struct MHD_Connection *conn; /* for query-string arguments (NULL in unit tests)    */
    char values[GW_PATH_VALUES_MAX][GW_PATH_VALUE_BYTES]; /* {x} values, in order        */
    size_t value_count;
    json_t *body;  /* the parsed JSON body of a POST, NULL otherwise              */
    cl_ctx_t *ctx; /* borrowed connection set (for routes that call a chain)      */
    /* the answer: out (status 200), or err + err_msg, or a response made by the handler */
    json_t *out;
    int err;
    char err_msg[512];
    struct MHD_Response *response;
} gw_call_t;

/* Records an error on c and returns code (so `return gw_fail(c, EC_EINVAL, ...)`). */
int gw_fail(gw_call_t *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Records the error c->ctx holds (from a cl_* call that returned non-zero). */
int gw_fail_ctx(gw_call_t *c);
/* A query-string argument, NULL when absent. */
const char *gw_arg(const gw_call_t *c, const char *name);

typedef int (*gw_handler_fn)(gw_call_t *c);

/* One parameter, as OpenAPI describes it. */
typedef struct {
    const char *name;
    const char *in;      /* "path" or "query"                                          */
    const char *schema;  /* JSON Schema text                                            */
    const char *example; /* a value that works on a fresh devnet ("" for none)          */
    const char *description;
    bool required;
} gw_param_t;

/* One route: the single source of dispatch and of /openapi.json. */
typedef struct gw_route {
    const char *method; /* "GET" or "POST"                                            */
    const char *path;   /* template, {name} for one segment                             */
    gw_handler_fn fn;
    const char *op_id;
    const char *summary;
    gw_param_t params[GW_PARAMS_MAX];
    const char *request_schema;           /* JSON Schema text of the body, NULL for none       */
    const char *response_schema;          /* JSON Schema text of the 200 answer                */
    const char *content_type;             /* of the 200 answer: NULL for application/json      */
    unsigned errors[GW_ROUTE_ERRORS_MAX]; /* documented error statuses, 0-terminated  */
    bool chain_call;                      /* borrows a connection set                 */
} gw_route_t;

/* The route table (gw_routes.c), gw_route_count entries. */
extern const gw_route_t gw_routes[];
extern const size_t gw_route_count;

/*
 * Finds the route for method and URL path, filling c->values. Returns the route, or NULL
 * with *path_known set when a route has that path under another method (405).
 */
const gw_route_t *gw_route_match(const char *method, const char *url, gw_call_t *c,
                                 bool *path_known);
/* Matches one template against a URL path; values get the {x} segments. */
bool gw_route_path_match(const char *tmpl, const char *url,
                         char values[GW_PATH_VALUES_MAX][GW_PATH_VALUE_BYTES], size_t *count);
/* The OpenAPI 3.1 document of the route table, as a new reference. */
json_t *gw_openapi(const char *server_url);

/* ---- handlers (gw_api.c, gw_events.c) ---------------------------------------------------- */
int gw_h_chains(gw_call_t *c);
int gw_h_chain(gw_call_t *c);
int gw_h_genesis(gw_call_t *c);
int gw_h_validators(gw_call_t *c);
int gw_h_header(gw_call_t *c);
int gw_h_headers(gw_call_t *c);
int gw_h_block(gw_call_t *c);
int gw_h_tx(gw_call_t *c);
int gw_h_bundle(gw_call_t *c);
int gw_h_prepare(gw_call_t *c);
int gw_h_submit(gw_call_t *c);
int gw_h_query_get(gw_call_t *c);
int gw_h_query_post(gw_call_t *c);
int gw_h_account(gw_call_t *c);
int gw_h_cert(gw_call_t *c);
int gw_h_holder_certs(gw_call_t *c);
int gw_h_status_list(gw_call_t *c);
int gw_h_usage(gw_call_t *c);
int gw_h_status_vc(gw_call_t *c);
int gw_h_anchors(gw_call_t *c);
int gw_h_events(gw_call_t *c);
int gw_h_cert_events(gw_call_t *c);
int gw_h_openapi(gw_call_t *c);
int gw_h_healthz(gw_call_t *c);

#endif
