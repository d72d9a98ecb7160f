/*
 * bench_http.c - the load loop of ecert-bench's gateway workloads (gateway-query,
 * gateway-submit): prepared HTTP requests go to ecert-gateway over a fixed number of
 * keep-alive connections with libcurl's multi interface, one request in flight per
 * connection, all from one thread. Requests and their bodies are built before the clock
 * starts, as in bench_drive.c, so the loop measures the gateway and the node behind it.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "ec_err.h"

#define S_HTTP_CONNECTIONS_MAX 250 /* under the gateway's 256-connection limit         */

typedef struct {
    CURL *easy;
    size_t tx;      /* the request it carries now                                 */
    char body[256]; /* the first bytes of the answer, for the first error           */
    size_t body_len;
} s_conn_t;

static size_t s_write(char *data, size_t size, size_t n, void *arg)
{
    s_conn_t *c = arg;
    size_t len = size * n, room = sizeof c->body - 1 - c->body_len;
    memcpy(c->body + c->body_len, data, len < room ? len : room);
    c->body_len += len < room ? len : room;
    return len;
}

static void s_start(CURLM *multi, s_conn_t *c, bench_tx_t *txs, size_t i, uint32_t timeout_ms,
                    struct curl_slist *headers)
{
    c->tx = i;
    c->body_len = 0;
    curl_easy_setopt(c->easy, CURLOPT_URL, txs[i].url);
    if (txs[i].frame) {
        curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, (const char *)txs[i].frame);
        curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)txs[i].frame_size);
        curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, headers);
    } else {
        curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
    txs[i].sent_ns = bench_now_ns();
    curl_multi_add_handle(multi, c->easy);
}

int bench_http_drive(bench_tx_t *txs, size_t count, uint32_t connections, uint32_t timeout_ms,
                     bool progress, bench_result_t *res)
{
    if (connections < 1)
        connections = 1;
    if (connections > S_HTTP_CONNECTIONS_MAX)
        connections = S_HTTP_CONNECTIONS_MAX;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return EC_EIO;
    CURLM *multi = curl_multi_init();
    s_conn_t *conns = calloc(connections, sizeof *conns);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (!multi || !conns || !headers) {
        free(conns);
        curl_slist_free_all(headers);
        if (multi)
            curl_multi_cleanup(multi);
        curl_global_cleanup();
        return EC_EIO;
    }
    /* Each easy handle keeps its own connection alive between requests. */
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)connections);
    uint64_t t0 = bench_now_ns(), last_progress = t0;
    size_t next = 0, done = 0;
    for (uint32_t i = 0; i < connections; i++) {
        conns[i].easy = curl_easy_init();
        curl_easy_setopt(conns[i].easy, CURLOPT_TCP_NODELAY, 1L);
        if (next < count)
            s_start(multi, &conns[i], txs, next++, timeout_ms, headers);
    }
    while (done < count) {
        int running = 0;
        curl_multi_perform(multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE)
                continue;
            s_conn_t *c = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
            long status = 0;
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            bench_tx_t *tx = &txs[c->tx];
            tx->done_ns = bench_now_ns();
            tx->code =
                m->data.result == CURLE_OK && status == 200 ? 0 : (int)(status ? status : -1);
            done++;
            if (tx->code == 0) {
                res->ok++;
            } else {
                res->failed++;
                if (!res->first_error) {
                    res->first_error = tx->code > 0 ? EC_EIO : EC_ETIMEOUT;
                    c->body[c->body_len] = '\0';
                    snprintf(res->first_error_msg, sizeof res->first_error_msg, "HTTP %ld %.150s",
                             status,
                             m->data.result == CURLE_OK ? c->body
                                                        : curl_easy_strerror(m->data.result));
                }
            }
            curl_multi_remove_handle(multi, c->easy);
            if (next < count)
                s_start(multi, c, txs, next++, timeout_ms, headers);
        }
        if (done < count)
            curl_multi_poll(multi, NULL, 0, 50, NULL);
        uint64_t now = bench_now_ns();
        if (progress && now - last_progress > 500000000u) {
            last_progress = now;
            double secs = (double)(now - t0) / 1e9;
            fprintf(stderr, "\r  %-8s %7.1fs  sent %zu  ok %llu  failed %llu  %.0f/s   ",
                    res->workload, secs, next, (unsigned long long)res->ok,
                    (unsigned long long)res->failed, (double)res->ok / secs);
        }
    }
    if (progress)
        fprintf(stderr, "\r%100s\r", "");
    res->offered = next;
    bench_summarise(txs, count, t0, res);
    for (uint32_t i = 0; i < connections; i++)
        curl_easy_cleanup(conns[i].easy);
    free(conns);
    curl_slist_free_all(headers);
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    return 0;
}
