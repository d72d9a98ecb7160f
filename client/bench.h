/*
 * bench.h - shared pieces of ecert-bench, the benchmark driver (docs/PERFORMANCE.md).
 *
 * ecert-bench drives a running network (a devnet folder: its client config, operator key,
 * passphrase and pid files) with one workload at a time, measures from the client side
 * (committed transactions per second, submit-to-commit latency) and from the machine
 * (daemon CPU and peak memory from /proc, bytes on disk from the data folders), and
 * measures this machine's single-core Ed25519 verification rate in the same run so every
 * figure can be read as a ratio to the hardware's limit.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ec_crypto.h"
#include "ec_rpc.h"

#define BENCH_SERIES_MAX 3600 /* one-second buckets kept for the plot                      */

/* One transaction prepared before the clock starts. */
typedef struct {
    uint8_t *frame; /* complete request frame (submit), owned; for the gateway
                     * workloads the HTTP body (NULL: a GET)                          */
    char *url;      /* gateway workloads: the request's URL, owned (NULL otherwise)    */
    size_t frame_size;
    uint64_t sent_ns; /* when it was sent                                                */
    uint64_t done_ns; /* when its reply arrived (0: not yet)                             */
    int code;         /* the node's reply code                                           */
} bench_tx_t;

/* Results of one load phase. */
typedef struct {
    const char *workload;
    uint64_t offered;    /* requests sent                                             */
    uint64_t ok;         /* acknowledged with code 0                                  */
    uint64_t failed;     /* refused or timed out                                      */
    uint64_t unanswered; /* of those, no reply before the deadline                 */
    int first_error;     /* first refusal code, for the report                       */
    char first_error_msg[200];
    double seconds;    /* first send to last reply                                  */
    double per_second; /* ok / seconds                                              */
    double p50_ms, p90_ms, p99_ms, max_ms;
    uint32_t series_len; /* per-second buckets                                        */
    uint32_t series_ok[BENCH_SERIES_MAX];
    double series_p99_ms[BENCH_SERIES_MAX];
} bench_result_t;

/* Monotonic clock in nanoseconds. */
uint64_t bench_now_ns(void);

/*
 * Sends every prepared request over `connections` DEALER sockets to endpoint (or, given a
 * comma-separated list, connection i to endpoint i modulo their number), keeping up
 * to `window` outstanding per socket, at `rate` requests per second (0 = as fast as
 * possible), and waits for every reply (or timeout_ms of silence). Fills res. Shows a
 * progress line on stderr when progress is true. Returns 0 or EC_ETIMEOUT.
 */
int bench_drive(const char *endpoint, bench_tx_t *txs, size_t count, uint32_t connections,
                uint32_t window, double rate, uint32_t timeout_ms, bool progress,
                bench_result_t *res);

/*
 * The gateway workloads (bench_http.c): sends every prepared HTTP request (txs[i].url, and
 * txs[i].frame as a JSON body to POST, or NULL to GET) over `connections` keep-alive
 * connections (libcurl multi, one request in flight per connection: HTTP/1.1 without
 * pipelining), and waits for every answer or timeout_ms per request. A 200 counts as ok;
 * another status is a failure, its code the HTTP status. Fills res like bench_drive.
 * Returns 0, or EC_EIO when libcurl cannot start.
 */
int bench_http_drive(bench_tx_t *txs, size_t count, uint32_t connections, uint32_t timeout_ms,
                     bool progress, bench_result_t *res);

/* Latency percentiles and the per-second series of finished requests (bench_drive.c). */
void bench_summarise(bench_tx_t *txs, size_t count, uint64_t t0, bench_result_t *res);

/* Single-core Ed25519 verifications per second, measured for about `ms` milliseconds. */
double bench_ed25519_verify_rate(uint32_t ms);

#endif
