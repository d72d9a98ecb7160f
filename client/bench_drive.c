/*
 * bench_drive.c - the load loop of ecert-bench: prepared request frames go out over
 * several DEALER sockets with a bounded window and an optional offered rate; replies are
 * matched by req_id (the index of the request plus one: 0 is reserved) and timed.
 *
 * Everything expensive (signing, sealing, encoding) happens before the clock starts, so
 * the loop measures the node, not the client. The loop is one thread polling all sockets,
 * which on a 2-core machine leaves the other core to the node.
 */
#include "bench.h"

#include "ec_config.h" /* EC_ENDPOINT_MAX */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "ec_codec.h"

#define S_CONNECTIONS_MAX 64

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double bench_ed25519_verify_rate(uint32_t ms)
{
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    uint8_t msg[128], sig[crypto_sign_BYTES];
    crypto_sign_keypair(pk, sk);
    randombytes_buf(msg, sizeof msg);
    crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
    sodium_memzero(sk, sizeof sk);

    uint64_t start = bench_now_ns(), end = start + (uint64_t)ms * 1000000u, now = start;
    uint64_t n = 0;
    while (now < end) {
        for (int i = 0; i < 64; i++)
            if (crypto_sign_verify_detached(sig, msg, sizeof msg, pk) == 0)
                n++;
        now = bench_now_ns();
    }
    return (double)n * 1e9 / (double)(now - start);
}

/* Reads req_id and code from a reply frame; returns 0 or EC_EINVAL. */
static int s_reply_parse(ec_decoder_t *d, const uint8_t *data, size_t size, uint64_t *req_id,
                         int64_t *code, const char **msg, size_t *msg_len)
{
    const msgpack_object *root;
    int rc = ec_decode(d, data, size, &root);
    if (rc)
        return rc;
    ec_cur_t c;
    uint64_t version;
    ec_cur_open(&c, root, 4);
    ec_cur_uint(&c, &version);
    ec_cur_uint(&c, req_id);
    ec_cur_int(&c, code);
    *msg = NULL;
    *msg_len = 0;
    if (*code != 0)
        ec_cur_str(&c, msg, msg_len, 200);
    else
        (void)ec_cur_object(&c);
    return ec_cur_finish(&c);
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double s_percentile(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)ceil(p * (double)n) - 1;
    if (i >= n)
        i = n - 1;
    return sorted[i];
}

void bench_summarise(bench_tx_t *txs, size_t count, uint64_t t0, bench_result_t *res)
{
    double *lat = malloc((count ? count : 1) * sizeof *lat);
    size_t n = 0;
    uint64_t last = t0;
    for (size_t i = 0; i < count; i++) {
        if (txs[i].done_ns && txs[i].code == 0) {
            lat[n++] = (double)(txs[i].done_ns - txs[i].sent_ns) / 1e6;
            if (txs[i].done_ns > last)
                last = txs[i].done_ns;
        }
    }
    res->seconds = (double)(last - t0) / 1e9;
    res->per_second = res->seconds > 0 ? (double)res->ok / res->seconds : 0;
    qsort(lat, n, sizeof *lat, s_cmp_double);
    res->p50_ms = s_percentile(lat, n, 0.50);
    res->p90_ms = s_percentile(lat, n, 0.90);
    res->p99_ms = s_percentile(lat, n, 0.99);
    res->max_ms = n ? lat[n - 1] : 0;

    /* Per-second buckets by reply time: count, and p99 of the latencies in each. */
    uint32_t buckets = (uint32_t)((last - t0) / 1000000000u) + 1;
    if (buckets > BENCH_SERIES_MAX)
        buckets = BENCH_SERIES_MAX;
    res->series_len = buckets;
    for (uint32_t b = 0; b < buckets; b++) {
        size_t m = 0;
        for (size_t i = 0; i < count; i++) {
            if (!txs[i].done_ns || txs[i].code != 0)
                continue;
            if ((txs[i].done_ns - t0) / 1000000000u == b)
                lat[m++] = (double)(txs[i].done_ns - txs[i].sent_ns) / 1e6;
        }
        qsort(lat, m, sizeof *lat, s_cmp_double);
        res->series_ok[b] = (uint32_t)m;
        res->series_p99_ms[b] = s_percentile(lat, m, 0.99);
    }
    free(lat);
}

/* Sends request i on socket s; returns 0, or -1 when the socket would block. */
static int s_send(void *s, bench_tx_t *tx)
{
    if (zmq_send(s, tx->frame, tx->frame_size, ZMQ_DONTWAIT) < 0)
        return -1;
    tx->sent_ns = bench_now_ns();
    return 0;
}

int bench_drive(const char *endpoint, bench_tx_t *txs, size_t count, uint32_t connections,
                uint32_t window, double rate, uint32_t timeout_ms, bool progress,
                bench_result_t *res)
{
    if (connections == 0)
        connections = 1;
    if (connections > S_CONNECTIONS_MAX)
        connections = S_CONNECTIONS_MAX;
    void *ctx = zmq_ctx_new();
    void *socks[S_CONNECTIONS_MAX];
    uint32_t inflight[S_CONNECTIONS_MAX] = {0};
    zmq_pollitem_t items[S_CONNECTIONS_MAX];
    /* Connection i goes to endpoint i modulo their number (several validators share
     * the clients, as a deployment's load balancer would). */
    char eps[S_CONNECTIONS_MAX][EC_ENDPOINT_MAX];
    uint32_t ep_count = 0;
    for (const char *p = endpoint; *p && ep_count < S_CONNECTIONS_MAX;) {
        size_t n = strcspn(p, ",");
        snprintf(eps[ep_count++], EC_ENDPOINT_MAX, "%.*s", (int)n, p);
        p += n + (p[n] == ',');
    }
    if (ep_count == 0)
        return EC_EINVAL;
    for (uint32_t i = 0; i < connections; i++) {
        socks[i] = zmq_socket(ctx, ZMQ_DEALER);
        int zero = 0, hwm = 0;
        zmq_setsockopt(socks[i], ZMQ_LINGER, &zero, sizeof zero);
        zmq_setsockopt(socks[i], ZMQ_SNDHWM, &hwm, sizeof hwm);
        zmq_setsockopt(socks[i], ZMQ_RCVHWM, &hwm, sizeof hwm);
        zmq_connect(socks[i], eps[i % ep_count]);
        items[i] = (zmq_pollitem_t){.socket = socks[i], .events = ZMQ_POLLIN};
    }

    ec_decoder_t dec;
    ec_decoder_init(&dec);
    size_t next = 0, done = 0;
    uint64_t t0 = bench_now_ns(), last_reply = t0, last_progress = t0;
    uint8_t *buf = malloc(EC_RPC_MESSAGE_BYTES_MAX);
    int rc = 0;

    while (done < count) {
        uint64_t now = bench_now_ns();
        /* How many requests the offered rate allows by now. */
        size_t allowed = count;
        if (rate > 0) {
            double due = rate * (double)(now - t0) / 1e9 + 1;
            allowed = due < (double)count ? (size_t)due : count;
        }
        for (uint32_t i = 0; i < connections && next < allowed; i++) {
            while (next < allowed && inflight[i] < window) {
                if (s_send(socks[i], &txs[next]) != 0)
                    break;
                next++;
                inflight[i]++;
            }
        }
        long wait_ms = 50;
        if (rate > 0 && next < count)
            wait_ms = 1;
        if (zmq_poll(items, (int)connections, wait_ms) < 0)
            break;
        for (uint32_t i = 0; i < connections; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            int n;
            while ((n = zmq_recv(socks[i], buf, EC_RPC_MESSAGE_BYTES_MAX, ZMQ_DONTWAIT)) >= 0) {
                uint64_t id;
                int64_t code;
                const char *msg;
                size_t msg_len;
                /* Request i went as req_id i + 1; a reply with req_id 0 answers a request
                 * the node could not read and matches none. */
                if (s_reply_parse(&dec, buf, (size_t)n, &id, &code, &msg, &msg_len) != 0 ||
                    id == 0 || id > count || txs[id - 1].done_ns)
                    continue;
                id--;
                txs[id].done_ns = bench_now_ns();
                txs[id].code = (int)code;
                inflight[i]--;
                done++;
                last_reply = txs[id].done_ns;
                if (code == 0) {
                    res->ok++;
                } else {
                    res->failed++;
                    if (!res->first_error) {
                        res->first_error = (int)code;
                        snprintf(res->first_error_msg, sizeof res->first_error_msg, "%.*s",
                                 (int)msg_len, msg ? msg : "");
                    }
                }
            }
        }
        now = bench_now_ns();
        if (progress && now - last_progress > 500000000u) {
            last_progress = now;
            double secs = (double)(now - t0) / 1e9;
            fprintf(stderr, "\r  %-8s %7.1fs  sent %zu  committed %llu  failed %llu  %.0f/s   ",
                    res->workload, secs, next, (unsigned long long)res->ok,
                    (unsigned long long)res->failed, (double)res->ok / secs);
        }
        if (now - last_reply > (uint64_t)timeout_ms * 1000000u && next == count) {
            rc = EC_ETIMEOUT;
            break;
        }
    }
    if (progress)
        fprintf(stderr, "\r%100s\r", "");
    res->offered = next;
    res->unanswered = next - done;
    res->failed += res->unanswered;
    bench_summarise(txs, count, t0, res);

    free(buf);
    ec_decoder_fini(&dec);
    for (uint32_t i = 0; i < connections; i++)
        zmq_close(socks[i]);
    zmq_ctx_term(ctx);
    return rc;
}
