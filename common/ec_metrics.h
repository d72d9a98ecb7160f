/*
 * ec_metrics.h - a small Prometheus metrics registry and its HTTP exposition server.
 *
 * Every ecert daemon (mainchaind, sidechaind, anchord, odsd, the gateway) keeps one
 * registry. A metric is one time series: a family name, its HELP text, its type and a set
 * of labels fixed when it is registered (`ecert_txs_total{chain_id="degree",
 * result="applied"}`). Registering the same name again with other label values adds a
 * series to the same family; the family's HELP and type must then be the same.
 *
 * Updates are lock-free C11 atomics (relaxed order): the node's core thread and the
 * signature verifiers pay a few nanoseconds, never a lock, never an allocation. Every
 * update function accepts a NULL metric and then does nothing, so code paths whose metrics
 * were never registered (tests, a registry that ran out of room) need no checks.
 *
 * Gauges and counters may instead be callbacks evaluated at scrape time, on the HTTP
 * server's thread. Such a callback must not race its owner: it may read only values the
 * owner publishes atomically, thread-safe library calls (RocksDB properties) or the
 * process itself (/proc/self, statvfs). Its argument must stay valid until
 * ec_metrics_stop (or ec_metrics_destroy) has returned.
 *
 * ec_metrics_serve answers `GET /metrics` with the Prometheus text exposition format
 * 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/): a `# HELP` and a
 * `# TYPE` line per family, then its series; label values are escaped (backslash, double
 * quote, newline); histograms give cumulative `_bucket{le="..."}` lines ending with
 * `le="+Inf"`, then `_sum` and `_count`. Anything else gets 404 (405 for another method).
 * The server runs libmicrohttpd on a thread of its own with at most
 * EC_METRICS_CONNECTIONS_MAX connections, EC_METRICS_TIMEOUT_S seconds of idle time each.
 *
 * Bounds: at most EC_METRICS_SERIES_MAX series per registry (registration beyond returns
 * NULL), EC_METRICS_LABELS_MAX labels per series, EC_METRICS_BUCKETS_MAX buckets per
 * histogram; names and label values are copied. Metric and label names must match
 * [a-zA-Z_:][a-zA-Z0-9_:]* (a bad name is a bug and trips an assertion).
 *
 * Metrics are written, never read, by chain logic: nothing in consensus depends on them.
 * The metrics every daemon exports are listed in docs/OPERATIONS.md, "Metrics and alerts".
 */
#ifndef EC_METRICS_H
#define EC_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ec_err.h"

#define EC_METRICS_SERIES_MAX 4096    /* series per registry                         */
#define EC_METRICS_LABELS_MAX 8       /* labels per series                           */
#define EC_METRICS_BUCKETS_MAX 32     /* finite bucket bounds per histogram          */
#define EC_METRICS_NAME_MAX 128       /* bytes in a metric or label name             */
#define EC_METRICS_VALUE_MAX 256      /* bytes in a label value                      */
#define EC_METRICS_CONNECTIONS_MAX 16 /* concurrent HTTP connections per server      */
#define EC_METRICS_TIMEOUT_S 10       /* idle seconds before a connection is dropped */
#define EC_METRICS_ADDR_MAX 64        /* bytes in "HOST:PORT"                        */

typedef struct ec_metrics ec_metrics_t; /* a registry (and its server, once serving)  */
typedef struct ec_metric ec_metric_t;   /* one series, owned by its registry           */

typedef enum {
    EC_METRICS_COUNTER = 0,   /* only goes up (until the process restarts)              */
    EC_METRICS_GAUGE = 1,     /* goes up and down                                       */
    EC_METRICS_HISTOGRAM = 2, /* observations counted into buckets, with sum and count  */
} ec_metrics_type_t;

/*
 * A scrape-time reader: stores the current value in *value and returns 0, or returns
 * non-zero to leave the series out of this scrape (the value is unknown right now).
 * Called on the HTTP server's thread (or the thread calling ec_metrics_render), one call
 * at a time per registry.
 */
typedef int (*ec_metrics_read_fn)(void *arg, double *value);

/* Makes an empty registry. NULL when memory is exhausted. */
ec_metrics_t *ec_metrics_new(void);
/* Stops the server (as ec_metrics_stop), frees every series and the registry, NULLs
 * *self_p. Idempotent: a NULL *self_p is left alone. Every ec_metric_t of it dies too. */
void ec_metrics_destroy(ec_metrics_t **self_p);

/*
 * Registration. The variadic arguments are label pairs, name then value (both
 * `const char *`, copied), ended by NULL: ec_metrics_counter(reg, "ecert_txs_total",
 * "Transactions in committed blocks, by result.", "chain_id", "main", "result", "applied",
 * NULL). Returns the series, or NULL when the registry holds EC_METRICS_SERIES_MAX series
 * already or memory is exhausted (updates on NULL are no-ops, so a daemon carries on).
 * The same name with the same labels again returns the series already registered.
 * Asserts: valid names, at most EC_METRICS_LABELS_MAX pairs, a value at most
 * EC_METRICS_VALUE_MAX - 1 bytes, the family's type and HELP unchanged. Thread-safe.
 */
ec_metric_t *ec_metrics_counter(ec_metrics_t *reg, const char *name, const char *help, ...)
    __attribute__((sentinel));
ec_metric_t *ec_metrics_gauge(ec_metrics_t *reg, const char *name, const char *help, ...)
    __attribute__((sentinel));
/* A histogram with bounds_count (1..EC_METRICS_BUCKETS_MAX) strictly increasing finite
 * upper bounds (copied); the +Inf bucket is implicit. */
ec_metric_t *ec_metrics_histogram(ec_metrics_t *reg, const char *name, const char *help,
                                  const double *bounds, size_t bounds_count, ...)
    __attribute__((sentinel));
/* A counter or gauge (type must be one of those two) whose value fn reads at scrape time
 * with arg (borrowed; see the file comment for what fn may read). */
ec_metric_t *ec_metrics_callback(ec_metrics_t *reg, ec_metrics_type_t type, const char *name,
                                 const char *help, ec_metrics_read_fn fn, void *arg, ...)
    __attribute__((sentinel));

/*
 * Standard process series: ecert_process_resident_bytes (from /proc/self/statm),
 * ecert_process_open_fds (entries of /proc/self/fd) and, when disk_path is not NULL,
 * ecert_disk_free_bytes{path=disk_path} (statvfs: bytes available to this user) and
 * ecert_disk_size_bytes{path=...}. The variadic labels (NULL-ended pairs, as above) go on
 * each. Returns 0, or EC_ENOMEM when a series could not be registered.
 */
EC_WUR int ec_metrics_add_process(ec_metrics_t *reg, const char *disk_path, ...)
    __attribute__((sentinel));

/* Updates: lock-free, allocation-free, callable from any thread; m may be NULL. */
/* Counter: adds 1, or n. */
void ec_metrics_inc(ec_metric_t *m);
void ec_metrics_add(ec_metric_t *m, uint64_t n);
/* Gauge: sets to v (exact for integers up to 2^53), or adds delta (may be negative). */
void ec_metrics_set(ec_metric_t *m, double v);
void ec_metrics_gauge_add(ec_metric_t *m, double delta);
/* Histogram: counts v into the first bucket whose bound is >= v, adds v to the sum. */
void ec_metrics_observe(ec_metric_t *m, double v);

/* The current value of a counter or gauge series (a callback's is read now; NAN when it
 * declines), or a histogram's count. For tests and logs; 0 for NULL. */
double ec_metrics_value(ec_metric_t *m);

/*
 * Renders every series in the text exposition format 0.0.4 into a NUL-terminated string
 * that the caller frees (*text, and its length without the NUL in *len when len is not
 * NULL). Families appear in the order their first series was registered, each with its
 * HELP and TYPE lines. Returns 0, or EC_ENOMEM (then *text is NULL).
 */
EC_WUR int ec_metrics_render(ec_metrics_t *reg, char **text, size_t *len);

/*
 * Starts the HTTP server for reg on addr, "IPV4:PORT" ("127.0.0.1:7005"; port 0 picks a
 * free one, see ec_metrics_port), on a thread of its own. A registry serves at most once.
 * Returns 0, EC_EINVAL for an address that is not IPV4:PORT, EC_ESTATE when already
 * serving, or EC_EIO when the server cannot start (the port is taken).
 */
EC_WUR int ec_metrics_serve(ec_metrics_t *reg, const char *addr);
/* True when addr is what ec_metrics_serve takes ("IPV4:PORT", port 0..65535). For
 * configuration loaders, which must refuse a bad address before anything starts. */
bool ec_metrics_addr_valid(const char *addr);
/* The port the server listens on, or 0 when it is not serving. */
uint16_t ec_metrics_port(const ec_metrics_t *reg);
/* Stops the server, waiting for a scrape in progress; afterwards no callback runs.
 * Idempotent; does nothing when not serving. Call it before freeing what callbacks read. */
void ec_metrics_stop(ec_metrics_t *reg);

#endif
