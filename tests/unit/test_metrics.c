/*
 * test_metrics.c - the Prometheus registry and exposition server (common/ec_metrics.c).
 *
 * The exposition text is compared byte for byte with what the text format 0.0.4 asks for
 * (HELP and TYPE lines, label escaping, cumulative histogram buckets ending in +Inf, _sum
 * and _count); counters bumped from several threads at once must add up exactly; and the
 * server is asked over a real TCP connection on 127.0.0.1 (a plain socket and HTTP/1.0, so
 * the test needs no HTTP client library).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ec_metrics.h"

static char *s_render(ec_metrics_t *reg)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(ec_metrics_render(reg, &text, &len), 0);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return text;
}

static int s_read_42(void *arg, double *value)
{
    (void)arg;
    *value = 42.5;
    return 0;
}

static int s_read_none(void *arg, double *value)
{
    (void)arg;
    (void)value;
    return -1;
}

static void test_text_format(void **state)
{
    (void)state;
    ec_metrics_t *reg = ec_metrics_new();
    assert_non_null(reg);
    ec_metric_t *applied = ec_metrics_counter(reg, "ecert_txs_total", "Transactions, by result.",
                                              "chain_id", "main", "result", "applied", NULL);
    ec_metric_t *refused = ec_metrics_counter(reg, "ecert_txs_total", "Transactions, by result.",
                                              "chain_id", "main", "result", "refused", NULL);
    /* The same name and labels again is the same series. */
    assert_ptr_equal(ec_metrics_counter(reg, "ecert_txs_total", "Transactions, by result.",
                                        "chain_id", "main", "result", "applied", NULL),
                     applied);
    ec_metric_t *height = ec_metrics_gauge(reg, "ecert_chain_height", "Height\\of \"the\"\nchain.",
                                           "chain_id", "a\"b\\c\nd", NULL);
    ec_metric_t *plain = ec_metrics_gauge(reg, "ecert_plain", "No labels.", NULL);
    assert_non_null(ec_metrics_callback(reg, EC_METRICS_GAUGE, "ecert_cb", "A callback.", s_read_42,
                                        NULL, NULL));
    assert_non_null(ec_metrics_callback(reg, EC_METRICS_GAUGE, "ecert_cb", "A callback.",
                                        s_read_none, NULL, "which", "declines", NULL));
    ec_metrics_add(applied, 3);
    ec_metrics_inc(refused);
    ec_metrics_set(height, 12);
    ec_metrics_set(plain, 0.25);
    ec_metrics_gauge_add(plain, -1);
    char *text = s_render(reg);
    const char *want = "# HELP ecert_txs_total Transactions, by result.\n"
                       "# TYPE ecert_txs_total counter\n"
                       "ecert_txs_total{chain_id=\"main\",result=\"applied\"} 3\n"
                       "ecert_txs_total{chain_id=\"main\",result=\"refused\"} 1\n"
                       "# HELP ecert_chain_height Height\\\\of \"the\"\\nchain.\n"
                       "# TYPE ecert_chain_height gauge\n"
                       "ecert_chain_height{chain_id=\"a\\\"b\\\\c\\nd\"} 12\n"
                       "# HELP ecert_plain No labels.\n"
                       "# TYPE ecert_plain gauge\n"
                       "ecert_plain -0.75\n"
                       "# HELP ecert_cb A callback.\n"
                       "# TYPE ecert_cb gauge\n"
                       "ecert_cb 42.5\n";
    assert_string_equal(text, want);
    free(text);
    assert_true(ec_metrics_value(applied) == 3);
    assert_true(ec_metrics_value(plain) == -0.75);
    ec_metrics_destroy(&reg);
    assert_null(reg);
    ec_metrics_destroy(&reg); /* idempotent */
}

static void test_histogram(void **state)
{
    (void)state;
    ec_metrics_t *reg = ec_metrics_new();
    const double bounds[] = {0.5, 1, 2.5};
    ec_metric_t *h =
        ec_metrics_histogram(reg, "ecert_block_interval_seconds", "Time between blocks.", bounds, 3,
                             "chain_id", "main", NULL);
    ec_metric_t *bare =
        ec_metrics_histogram(reg, "ecert_bare_seconds", "Unlabelled.", bounds, 1, NULL);
    assert_non_null(h);
    ec_metrics_observe(h, 0.25);
    ec_metrics_observe(h, 0.5); /* on a bound: counted in that bucket (le is <=) */
    ec_metrics_observe(h, 2);
    ec_metrics_observe(h, 10);
    ec_metrics_observe(h, NAN); /* dropped */
    ec_metrics_observe(bare, 0.125);
    char *text = s_render(reg);
    const char *want = "# HELP ecert_block_interval_seconds Time between blocks.\n"
                       "# TYPE ecert_block_interval_seconds histogram\n"
                       "ecert_block_interval_seconds_bucket{chain_id=\"main\",le=\"0.5\"} 2\n"
                       "ecert_block_interval_seconds_bucket{chain_id=\"main\",le=\"1\"} 2\n"
                       "ecert_block_interval_seconds_bucket{chain_id=\"main\",le=\"2.5\"} 3\n"
                       "ecert_block_interval_seconds_bucket{chain_id=\"main\",le=\"+Inf\"} 4\n"
                       "ecert_block_interval_seconds_sum{chain_id=\"main\"} 12.75\n"
                       "ecert_block_interval_seconds_count{chain_id=\"main\"} 4\n"
                       "# HELP ecert_bare_seconds Unlabelled.\n"
                       "# TYPE ecert_bare_seconds histogram\n"
                       "ecert_bare_seconds_bucket{le=\"0.5\"} 1\n"
                       "ecert_bare_seconds_bucket{le=\"+Inf\"} 1\n"
                       "ecert_bare_seconds_sum 0.125\n"
                       "ecert_bare_seconds_count 1\n";
    assert_string_equal(text, want);
    free(text);
    assert_true(ec_metrics_value(h) == 4);
    ec_metrics_destroy(&reg);
}

/* Updates on a NULL series (never registered) do nothing and do not crash. */
static void test_null_series(void **state)
{
    (void)state;
    ec_metrics_inc(NULL);
    ec_metrics_add(NULL, 5);
    ec_metrics_set(NULL, 1);
    ec_metrics_gauge_add(NULL, 1);
    ec_metrics_observe(NULL, 1);
    assert_true(ec_metrics_value(NULL) == 0);
}

/* Registration stops at EC_METRICS_SERIES_MAX series: NULL, and the registry still works. */
static void test_series_bound(void **state)
{
    (void)state;
    ec_metrics_t *reg = ec_metrics_new();
    char v[16];
    for (int i = 0; i < EC_METRICS_SERIES_MAX; i++) {
        snprintf(v, sizeof v, "%d", i);
        assert_non_null(ec_metrics_counter(reg, "ecert_many_total", "Many.", "i", v, NULL));
    }
    assert_null(ec_metrics_counter(reg, "ecert_many_total", "Many.", "i", "one more", NULL));
    char *text = s_render(reg);
    assert_non_null(strstr(text, "ecert_many_total{i=\"4095\"} 0\n"));
    free(text);
    ec_metrics_destroy(&reg);
}

#define S_THREADS 4
#define S_INCS 200000

static void *s_bump(void *arg)
{
    ec_metric_t **m = arg;
    for (int i = 0; i < S_INCS; i++) {
        ec_metrics_inc(m[0]);
        ec_metrics_gauge_add(m[1], 1);
        ec_metrics_observe(m[2], (double)(i % 4));
    }
    return NULL;
}

static void test_threads_add_up(void **state)
{
    (void)state;
    ec_metrics_t *reg = ec_metrics_new();
    const double bounds[] = {1, 2};
    ec_metric_t *m[3] = {
        ec_metrics_counter(reg, "ecert_c_total", "C.", NULL),
        ec_metrics_gauge(reg, "ecert_g", "G.", NULL),
        ec_metrics_histogram(reg, "ecert_h", "H.", bounds, 2, NULL),
    };
    pthread_t t[S_THREADS];
    for (int i = 0; i < S_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, s_bump, m), 0);
    for (int i = 0; i < S_THREADS; i++)
        pthread_join(t[i], NULL);
    assert_true(ec_metrics_value(m[0]) == (double)S_THREADS * S_INCS);
    assert_true(ec_metrics_value(m[1]) == (double)S_THREADS * S_INCS);
    assert_true(ec_metrics_value(m[2]) == (double)S_THREADS * S_INCS);
    char *text = s_render(reg);
    /* Observations 0,1,2,3 in turn: sum 6 per four, i.e. 1.5 * S_INCS per thread. */
    char want[128];
    snprintf(want, sizeof want, "ecert_h_sum %d\n", (int)(1.5 * S_INCS * S_THREADS));
    assert_non_null(strstr(text, want));
    snprintf(want, sizeof want, "ecert_h_bucket{le=\"1\"} %d\n", S_INCS / 2 * S_THREADS);
    assert_non_null(strstr(text, want));
    free(text);
    ec_metrics_destroy(&reg);
}

static void test_process_series(void **state)
{
    (void)state;
    ec_metrics_t *reg = ec_metrics_new();
    assert_int_equal(ec_metrics_add_process(reg, "/tmp", "chain_id", "main", NULL), 0);
    char *text = s_render(reg);
    assert_non_null(strstr(text, "# TYPE ecert_process_resident_bytes gauge\n"
                                 "ecert_process_resident_bytes{chain_id=\"main\"} "));
    assert_non_null(strstr(text, "ecert_process_open_fds{chain_id=\"main\"} "));
    assert_non_null(strstr(text, "ecert_disk_free_bytes{chain_id=\"main\",path=\"/tmp\"} "));
    assert_non_null(strstr(text, "ecert_disk_size_bytes{chain_id=\"main\",path=\"/tmp\"} "));
    /* The resident size is a positive whole number of bytes. */
    const char *rss = strstr(text, "ecert_process_resident_bytes{chain_id=\"main\"} ") +
                      strlen("ecert_process_resident_bytes{chain_id=\"main\"} ");
    assert_true(strtod(rss, NULL) > 1e5);
    free(text);
    ec_metrics_destroy(&reg);
}

/* Sends request over a fresh TCP connection to 127.0.0.1:port and returns the whole reply
 * (the server closes after an HTTP/1.0 reply); the caller frees it. */
static char *s_http(uint16_t port, const char *request)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
    size_t cap = 1 << 16, len = 0;
    char *buf = calloc(1, cap);
    ssize_t n;
    while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    return buf;
}

static void test_serve(void **state)
{
    (void)state;
    ec_metrics_t *reg = ec_metrics_new();
    ec_metric_t *c = ec_metrics_counter(reg, "ecert_served_total", "Served.", "k", "v", NULL);
    ec_metrics_add(c, 7);
    assert_int_equal(ec_metrics_serve(reg, "127.0.0.1:nope"), EC_EINVAL);
    assert_int_equal(ec_metrics_serve(reg, "localhost:1"), EC_EINVAL);
    assert_int_equal(ec_metrics_serve(reg, "127.0.0.1:99999"), EC_EINVAL);
    assert_int_equal(ec_metrics_port(reg), 0);
    assert_int_equal(ec_metrics_serve(reg, "127.0.0.1:0"), 0);
    uint16_t port = ec_metrics_port(reg);
    assert_true(port > 0);
    assert_int_equal(ec_metrics_serve(reg, "127.0.0.1:0"), EC_ESTATE);

    /* The port is taken now: a second registry cannot listen there. */
    ec_metrics_t *other = ec_metrics_new();
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
    assert_int_equal(ec_metrics_serve(other, addr), EC_EIO);
    ec_metrics_destroy(&other);

    char *reply = s_http(port, "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n");
    assert_non_null(strstr(reply, " 200 OK\r\n"));
    assert_non_null(strstr(reply, "text/plain; version=0.0.4"));
    const char *body = strstr(reply, "\r\n\r\n");
    assert_non_null(body);
    assert_string_equal(body + 4, "# HELP ecert_served_total Served.\n"
                                  "# TYPE ecert_served_total counter\n"
                                  "ecert_served_total{k=\"v\"} 7\n");
    free(reply);

    reply = s_http(port, "GET /other HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(reply, " 404 "));
    free(reply);
    reply = s_http(port, "POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc");
    assert_non_null(strstr(reply, " 405 "));
    free(reply);

    ec_metrics_stop(reg);
    ec_metrics_stop(reg); /* idempotent */
    assert_int_equal(ec_metrics_port(reg), 0);
    /* Stopped: nobody listens on the port any more. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_not_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    close(fd);
    ec_metrics_destroy(&reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_format),    cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_null_series),    cmocka_unit_test(test_series_bound),
        cmocka_unit_test(test_threads_add_up), cmocka_unit_test(test_process_series),
        cmocka_unit_test(test_serve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
