/*
 * ec_metrics.c - the Prometheus metrics registry and its libmicrohttpd exposition server
 * (the API and the format are described in ec_metrics.h).
 *
 * A registry holds families (name, HELP, type) in registration order; each family holds
 * its series in a singly linked list, each series its label text already formatted and
 * escaped (`chain_id="main",result="applied"`), so a scrape only prints. Values are C11
 * atomics: counters a uint64, gauges and histogram sums the bits of a double (updated by
 * compare-and-swap), histogram buckets a uint64 each (not cumulative: the scrape adds them
 * up, and a histogram's count is that total, so `_count` always equals the +Inf bucket).
 *
 * One mutex serialises registration and rendering (never an update): a scrape sees every
 * series registered before it started, and callbacks run one at a time.
 */
#include "ec_metrics.h"

#include <arpa/inet.h>
#include <assert.h>
#include <dirent.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "ec_log.h"

typedef struct s_family s_family_t;

struct ec_metric {
    s_family_t *family;        /* the family this series belongs to                    */
    ec_metric_t *next;         /* next series of the same family, in registration order */
    char *labels;              /* formatted label pairs without braces; "" for none    */
    _Atomic uint64_t count;    /* counter value                                        */
    _Atomic uint64_t bits;     /* gauge value, or histogram sum, as a double's bits    */
    ec_metrics_read_fn fn;     /* scrape-time reader, or NULL                          */
    void *arg;                 /* fn's argument                                        */
    char *own;                 /* a string this series owns (fn's argument), or NULL   */
    size_t bounds_count;       /* histogram: finite bounds                             */
    double *bounds;            /* histogram: the bounds, increasing                    */
    _Atomic uint64_t *buckets; /* histogram: bounds_count + 1 counts (last: above all) */
};

struct s_family {
    char *name;             /* metric name                                */
    char *help;             /* HELP text, unescaped                       */
    ec_metrics_type_t type; /* every series of the family has this type   */
    ec_metric_t *first;     /* series in registration order               */
    ec_metric_t *last;      /* where the next series is linked            */
    s_family_t *next;       /* next family in registration order          */
};

struct ec_metrics {
    pthread_mutex_t lock;    /* registration and rendering                 */
    s_family_t *first;       /* families in registration order             */
    s_family_t *last;        /* where the next family is linked            */
    uint32_t series_count;   /* bounded by EC_METRICS_SERIES_MAX           */
    struct MHD_Daemon *http; /* the server, or NULL when not serving       */
    uint16_t port;           /* the port it listens on                     */
};

/* ---- small helpers --------------------------------------------------------------- */

static uint64_t s_bits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static double s_double(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

static bool s_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= EC_METRICS_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

/* A growing text buffer; on allocation failure it remembers the failure and stops. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
    bool failed;
} s_buf_t;

static void s_buf_put(s_buf_t *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *data = realloc(b->data, cap);
        if (!data) {
            b->failed = true;
            return;
        }
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void s_buf_str(s_buf_t *b, const char *s)
{
    s_buf_put(b, s, strlen(s));
}

/* Appends s escaped: backslash and newline always, double quote when quote is true
 * (label values escape all three, HELP text only the first two). */
static void s_buf_escaped(s_buf_t *b, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            s_buf_put(b, "\\\\", 2);
        else if (*s == '\n')
            s_buf_put(b, "\\n", 2);
        else if (*s == '"' && quote)
            s_buf_put(b, "\\\"", 2);
        else
            s_buf_put(b, s, 1);
    }
}

/* Formats v as Prometheus reads it: integers without a fraction, others in the shortest
 * of %.15g / %.17g that reads back exactly, NaN and +Inf / -Inf by name. */
static void s_fmt_double(char out[40], double v)
{
    if (isnan(v))
        snprintf(out, 40, "NaN");
    else if (isinf(v))
        snprintf(out, 40, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        snprintf(out, 40, "%.0f", v);
    else {
        snprintf(out, 40, "%.15g", v);
        if (strtod(out, NULL) != v)
            snprintf(out, 40, "%.17g", v);
    }
}

/* ---- registry -------------------------------------------------------------------- */

ec_metrics_t *ec_metrics_new(void)
{
    ec_metrics_t *reg = calloc(1, sizeof *reg);
    if (!reg)
        return NULL;
    if (pthread_mutex_init(&reg->lock, NULL) != 0) {
        free(reg);
        return NULL;
    }
    return reg;
}

static void s_metric_free(ec_metric_t *m)
{
    free(m->labels);
    free(m->own);
    free(m->bounds);
    free((void *)m->buckets);
    free(m);
}

void ec_metrics_destroy(ec_metrics_t **self_p)
{
    assert(self_p);
    ec_metrics_t *reg = *self_p;
    if (!reg)
        return;
    ec_metrics_stop(reg);
    s_family_t *f = reg->first;
    while (f) {
        s_family_t *fnext = f->next;
        ec_metric_t *m = f->first;
        while (m) {
            ec_metric_t *mnext = m->next;
            s_metric_free(m);
            m = mnext;
        }
        free(f->name);
        free(f->help);
        free(f);
        f = fnext;
    }
    pthread_mutex_destroy(&reg->lock);
    free(reg);
    *self_p = NULL;
}

/* Copies the NULL-ended label pairs of ap into pairs (2 * EC_METRICS_LABELS_MAX slots) and
 * returns how many strings it copied (twice the pairs). */
static int s_pairs_collect(va_list ap, const char **pairs)
{
    int n = 0;
    const char *key;
    while ((key = va_arg(ap, const char *)) != NULL) {
        assert(n + 2 <= 2 * EC_METRICS_LABELS_MAX && "too many labels");
        pairs[n++] = key;
        pairs[n++] = va_arg(ap, const char *);
    }
    return n;
}

/* Formats n label strings (name, value, name, value, ...) into a malloc'd string; NULL on
 * ENOMEM. */
static char *s_labels_format(const char *const *pairs, int n)
{
    s_buf_t b = {0};
    s_buf_put(&b, "", 0);
    for (int i = 0; i + 1 < n; i += 2) {
        const char *key = pairs[i], *value = pairs[i + 1];
        assert(value && "a label name without a value");
        assert(s_name_ok(key) && strcmp(key, "le") != 0 && "bad label name");
        assert(strlen(value) < EC_METRICS_VALUE_MAX && "label value too long");
        if (b.len > 0)
            s_buf_put(&b, ",", 1);
        s_buf_str(&b, key);
        s_buf_put(&b, "=\"", 2);
        s_buf_escaped(&b, value, true);
        s_buf_put(&b, "\"", 1);
    }
    if (b.failed) {
        free(b.data);
        return NULL;
    }
    return b.data;
}

/* The family called name, made when new; NULL on ENOMEM. Called with the lock held. */
static s_family_t *s_family_get(ec_metrics_t *reg, ec_metrics_type_t type, const char *name,
                                const char *help)
{
    for (s_family_t *f = reg->first; f; f = f->next) {
        if (strcmp(f->name, name) == 0) {
            assert(f->type == type && "one metric name registered with two types");
            assert(strcmp(f->help, help) == 0 && "one metric name registered with two HELPs");
            return f;
        }
    }
    s_family_t *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->name = strdup(name);
    f->help = strdup(help);
    if (!f->name || !f->help) {
        free(f->name);
        free(f->help);
        free(f);
        return NULL;
    }
    f->type = type;
    if (reg->last)
        reg->last->next = f;
    else
        reg->first = f;
    reg->last = f;
    return f;
}

/* Registers one series (see ec_metrics.h); own, when not NULL, is copied into the series
 * and becomes fn's argument instead of arg. */
static ec_metric_t *s_register(ec_metrics_t *reg, ec_metrics_type_t type, const char *name,
                               const char *help, const double *bounds, size_t bounds_count,
                               ec_metrics_read_fn fn, void *arg, const char *own,
                               const char *const *pairs, int npairs)
{
    assert(reg && name && help);
    assert(s_name_ok(name) && "bad metric name");
    char *labels = s_labels_format(pairs, npairs);
    if (!labels)
        return NULL;
    ec_metric_t *m = NULL;
    pthread_mutex_lock(&reg->lock);
    s_family_t *f = s_family_get(reg, type, name, help);
    if (!f)
        goto done;
    for (ec_metric_t *old = f->first; old; old = old->next) {
        if (strcmp(old->labels, labels) == 0) {
            m = old;
            goto done;
        }
    }
    if (reg->series_count >= EC_METRICS_SERIES_MAX)
        goto done;
    m = calloc(1, sizeof *m);
    if (!m)
        goto done;
    m->family = f;
    m->labels = labels;
    labels = NULL;
    m->fn = fn;
    m->arg = arg;
    if (own) {
        m->own = strdup(own);
        m->arg = m->own;
    }
    if (type == EC_METRICS_HISTOGRAM) {
        m->bounds_count = bounds_count;
        m->bounds = malloc(bounds_count * sizeof *m->bounds);
        m->buckets = calloc(bounds_count + 1, sizeof *m->buckets);
        if (m->bounds)
            memcpy(m->bounds, bounds, bounds_count * sizeof *m->bounds);
    }
    if ((own && !m->own) || (type == EC_METRICS_HISTOGRAM && (!m->bounds || !m->buckets))) {
        s_metric_free(m);
        m = NULL;
        goto done;
    }
    if (f->last)
        f->last->next = m;
    else
        f->first = m;
    f->last = m;
    reg->series_count++;
done:
    pthread_mutex_unlock(&reg->lock);
    free(labels);
    return m;
}

ec_metric_t *ec_metrics_counter(ec_metrics_t *reg, const char *name, const char *help, ...)
{
    const char *pairs[2 * EC_METRICS_LABELS_MAX] = {0};
    va_list ap;
    va_start(ap, help);
    int n = s_pairs_collect(ap, pairs);
    va_end(ap);
    return s_register(reg, EC_METRICS_COUNTER, name, help, NULL, 0, NULL, NULL, NULL, pairs, n);
}

ec_metric_t *ec_metrics_gauge(ec_metrics_t *reg, const char *name, const char *help, ...)
{
    const char *pairs[2 * EC_METRICS_LABELS_MAX] = {0};
    va_list ap;
    va_start(ap, help);
    int n = s_pairs_collect(ap, pairs);
    va_end(ap);
    return s_register(reg, EC_METRICS_GAUGE, name, help, NULL, 0, NULL, NULL, NULL, pairs, n);
}

ec_metric_t *ec_metrics_histogram(ec_metrics_t *reg, const char *name, const char *help,
                                  const double *bounds, size_t bounds_count, ...)
{
    assert(bounds && bounds_count >= 1 && bounds_count <= EC_METRICS_BUCKETS_MAX);
    for (size_t i = 0; i < bounds_count; i++) {
        assert(isfinite(bounds[i]) && "histogram bounds must be finite");
        assert((i == 0 || bounds[i] > bounds[i - 1]) && "histogram bounds must increase");
    }
    const char *pairs[2 * EC_METRICS_LABELS_MAX] = {0};
    va_list ap;
    va_start(ap, bounds_count);
    int n = s_pairs_collect(ap, pairs);
    va_end(ap);
    return s_register(reg, EC_METRICS_HISTOGRAM, name, help, bounds, bounds_count, NULL, NULL, NULL,
                      pairs, n);
}

ec_metric_t *ec_metrics_callback(ec_metrics_t *reg, ec_metrics_type_t type, const char *name,
                                 const char *help, ec_metrics_read_fn fn, void *arg, ...)
{
    assert(type == EC_METRICS_COUNTER || type == EC_METRICS_GAUGE);
    assert(fn);
    const char *pairs[2 * EC_METRICS_LABELS_MAX] = {0};
    va_list ap;
    va_start(ap, arg);
    int n = s_pairs_collect(ap, pairs);
    va_end(ap);
    return s_register(reg, type, name, help, NULL, 0, fn, arg, NULL, pairs, n);
}

/* ---- process series ------------------------------------------------------------------ */

static int s_read_rss(void *arg, double *value)
{
    (void)arg;
    FILE *fp = fopen("/proc/self/statm", "r");
    if (!fp)
        return -1;
    unsigned long size = 0, resident = 0;
    int n = fscanf(fp, "%lu %lu", &size, &resident);
    fclose(fp);
    if (n != 2)
        return -1;
    *value = (double)resident * (double)sysconf(_SC_PAGESIZE);
    return 0;
}

/* Counts /proc/self/fd, less the descriptor opendir holds while it counts. O(fds). */
static int s_read_fds(void *arg, double *value)
{
    (void)arg;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    *value = (double)(n > 0 ? n - 1 : 0);
    return 0;
}

static int s_read_disk_free(void *arg, double *value)
{
    struct statvfs st;
    if (statvfs((const char *)arg, &st) != 0)
        return -1;
    *value = (double)st.f_bavail * (double)st.f_frsize;
    return 0;
}

static int s_read_disk_size(void *arg, double *value)
{
    struct statvfs st;
    if (statvfs((const char *)arg, &st) != 0)
        return -1;
    *value = (double)st.f_blocks * (double)st.f_frsize;
    return 0;
}

/* Registers one callback gauge whose labels are the caller's pairs plus, when path is not
 * NULL, path="..."; the series then owns a copy of path, which is fn's argument. */
static ec_metric_t *s_process_series(ec_metrics_t *reg, const char *name, const char *help,
                                     ec_metrics_read_fn fn, const char *path,
                                     const char *const *pairs, int npairs)
{
    const char *p[2 * EC_METRICS_LABELS_MAX] = {0};
    int n = 0;
    for (int i = 0; i < npairs; i++)
        p[n++] = pairs[i];
    if (path) {
        assert(n + 2 <= 2 * EC_METRICS_LABELS_MAX && "too many labels");
        p[n++] = "path";
        p[n++] = path;
    }
    return s_register(reg, EC_METRICS_GAUGE, name, help, NULL, 0, fn, NULL, path, p, n);
}

int ec_metrics_add_process(ec_metrics_t *reg, const char *disk_path, ...)
{
    assert(reg);
    const char *pairs[2 * EC_METRICS_LABELS_MAX] = {0};
    va_list ap;
    va_start(ap, disk_path);
    int npairs = s_pairs_collect(ap, pairs);
    va_end(ap);
    if (!s_process_series(reg, "ecert_process_resident_bytes",
                          "Resident memory of the process (from /proc/self/statm).", s_read_rss,
                          NULL, pairs, npairs))
        return EC_ENOMEM;
    if (!s_process_series(reg, "ecert_process_open_fds", "Open file descriptors of the process.",
                          s_read_fds, NULL, pairs, npairs))
        return EC_ENOMEM;
    if (!disk_path)
        return 0;
    if (!s_process_series(reg, "ecert_disk_free_bytes",
                          "Bytes available to the daemon on the file system of its data "
                          "folder (statvfs f_bavail).",
                          s_read_disk_free, disk_path, pairs, npairs) ||
        !s_process_series(reg, "ecert_disk_size_bytes",
                          "Size of the file system of the daemon's data folder (statvfs).",
                          s_read_disk_size, disk_path, pairs, npairs))
        return EC_ENOMEM;
    return 0;
}

/* ---- updates ----------------------------------------------------------------------- */

void ec_metrics_inc(ec_metric_t *m)
{
    ec_metrics_add(m, 1);
}

void ec_metrics_add(ec_metric_t *m, uint64_t n)
{
    if (!m)
        return;
    assert(m->family->type == EC_METRICS_COUNTER && !m->fn);
    atomic_fetch_add_explicit(&m->count, n, memory_order_relaxed);
}

void ec_metrics_set(ec_metric_t *m, double v)
{
    if (!m)
        return;
    assert(m->family->type == EC_METRICS_GAUGE && !m->fn);
    atomic_store_explicit(&m->bits, s_bits(v), memory_order_relaxed);
}

/* Adds delta to the double stored as bits in *a, by compare-and-swap. */
static void s_add_double(_Atomic uint64_t *a, double delta)
{
    uint64_t old = atomic_load_explicit(a, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(a, &old, s_bits(s_double(old) + delta),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

void ec_metrics_gauge_add(ec_metric_t *m, double delta)
{
    if (!m)
        return;
    assert(m->family->type == EC_METRICS_GAUGE && !m->fn);
    s_add_double(&m->bits, delta);
}

void ec_metrics_observe(ec_metric_t *m, double v)
{
    if (!m || isnan(v))
        return;
    assert(m->family->type == EC_METRICS_HISTOGRAM);
    size_t i = 0;
    while (i < m->bounds_count && v > m->bounds[i])
        i++;
    atomic_fetch_add_explicit(&m->buckets[i], 1, memory_order_relaxed);
    s_add_double(&m->bits, v);
}

static uint64_t s_hist_count(ec_metric_t *m)
{
    uint64_t n = 0;
    for (size_t i = 0; i <= m->bounds_count; i++)
        n += atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
    return n;
}

double ec_metrics_value(ec_metric_t *m)
{
    if (!m)
        return 0;
    if (m->fn) {
        double v = 0;
        return m->fn(m->arg, &v) == 0 ? v : NAN;
    }
    switch (m->family->type) {
        case EC_METRICS_COUNTER:
            return (double)atomic_load_explicit(&m->count, memory_order_relaxed);
        case EC_METRICS_GAUGE:
            return s_double(atomic_load_explicit(&m->bits, memory_order_relaxed));
        case EC_METRICS_HISTOGRAM:
            return (double)s_hist_count(m);
    }
    return 0;
}

/* ---- exposition -------------------------------------------------------------------- */

/* Prints `name{labels}` (or `name{labels,le="x"}` when le is not NULL), a space, value. */
static void s_line(s_buf_t *b, const char *name, const char *suffix, const char *labels,
                   const char *le, const char *value)
{
    s_buf_str(b, name);
    s_buf_str(b, suffix);
    if (labels[0] || le) {
        s_buf_put(b, "{", 1);
        s_buf_str(b, labels);
        if (le) {
            if (labels[0])
                s_buf_put(b, ",", 1);
            s_buf_put(b, "le=\"", 4);
            s_buf_str(b, le);
            s_buf_put(b, "\"", 1);
        }
        s_buf_put(b, "}", 1);
    }
    s_buf_put(b, " ", 1);
    s_buf_str(b, value);
    s_buf_put(b, "\n", 1);
}

static void s_render_histogram(s_buf_t *b, const char *name, ec_metric_t *m)
{
    char le[40], num[40];
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= m->bounds_count; i++) {
        cumulative += atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
        if (i < m->bounds_count)
            s_fmt_double(le, m->bounds[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        snprintf(num, sizeof num, "%llu", (unsigned long long)cumulative);
        s_line(b, name, "_bucket", m->labels, le, num);
    }
    s_fmt_double(num, s_double(atomic_load_explicit(&m->bits, memory_order_relaxed)));
    s_line(b, name, "_sum", m->labels, NULL, num);
    snprintf(num, sizeof num, "%llu", (unsigned long long)cumulative);
    s_line(b, name, "_count", m->labels, NULL, num);
}

static const char *s_type_name(ec_metrics_type_t type)
{
    switch (type) {
        case EC_METRICS_COUNTER:
            return "counter";
        case EC_METRICS_GAUGE:
            return "gauge";
        case EC_METRICS_HISTOGRAM:
            return "histogram";
    }
    return "untyped";
}

int ec_metrics_render(ec_metrics_t *reg, char **text, size_t *len)
{
    assert(reg && text);
    s_buf_t b = {0};
    s_buf_put(&b, "", 0);
    pthread_mutex_lock(&reg->lock);
    for (s_family_t *f = reg->first; f; f = f->next) {
        s_buf_str(&b, "# HELP ");
        s_buf_str(&b, f->name);
        s_buf_put(&b, " ", 1);
        s_buf_escaped(&b, f->help, false);
        s_buf_str(&b, "\n# TYPE ");
        s_buf_str(&b, f->name);
        s_buf_put(&b, " ", 1);
        s_buf_str(&b, s_type_name(f->type));
        s_buf_put(&b, "\n", 1);
        for (ec_metric_t *m = f->first; m; m = m->next) {
            if (f->type == EC_METRICS_HISTOGRAM) {
                s_render_histogram(&b, f->name, m);
                continue;
            }
            double v = ec_metrics_value(m);
            if (m->fn && isnan(v))
                continue; /* the callback declined: leave the series out this time */
            char num[40];
            if (f->type == EC_METRICS_COUNTER && !m->fn)
                snprintf(num, sizeof num, "%llu",
                         (unsigned long long)atomic_load_explicit(&m->count, memory_order_relaxed));
            else
                s_fmt_double(num, v);
            s_line(&b, f->name, "", m->labels, NULL, num);
        }
    }
    pthread_mutex_unlock(&reg->lock);
    if (b.failed) {
        free(b.data);
        *text = NULL;
        return EC_ENOMEM;
    }
    *text = b.data;
    if (len)
        *len = b.len;
    return 0;
}

/* ---- HTTP server ------------------------------------------------------------------- */

/* Queues a short plain-text reply with status code. */
static enum MHD_Result s_reply_text(struct MHD_Connection *conn, unsigned int status,
                                    const char *body)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

/*
 * libmicrohttpd's request handler. It is called first when the headers are in (*req_cls
 * NULL: we mark the request and wait), then once per piece of body (discarded: a GET has
 * no use for one, and libmicrohttpd bounds what it buffers), then with no more body: the
 * reply is queued then.
 */
static enum MHD_Result s_handle(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **req_cls)
{
    (void)version;
    (void)upload_data;
    static int marker;
    ec_metrics_t *reg = cls;
    if (*req_cls == NULL) {
        *req_cls = &marker;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/metrics") != 0)
        return s_reply_text(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n");
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return s_reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");
    char *text = NULL;
    size_t len = 0;
    if (ec_metrics_render(reg, &text, &len) != 0)
        return s_reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8");
    enum MHD_Result r = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return r;
}

/* Parses "A.B.C.D:PORT" into sa. Returns 0 or EC_EINVAL. */
static int s_addr_parse(const char *addr, struct sockaddr_in *sa)
{
    if (!addr || strlen(addr) >= EC_METRICS_ADDR_MAX)
        return EC_EINVAL;
    char host[EC_METRICS_ADDR_MAX];
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr || colon[1] == '\0')
        return EC_EINVAL;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    char *end = NULL;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || port > 65535 || colon[1] < '0' || colon[1] > '9')
        return EC_EINVAL;
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return EC_EINVAL;
    return 0;
}

bool ec_metrics_addr_valid(const char *addr)
{
    struct sockaddr_in sa;
    return s_addr_parse(addr, &sa) == 0;
}

int ec_metrics_serve(ec_metrics_t *reg, const char *addr)
{
    assert(reg);
    struct sockaddr_in sa;
    if (s_addr_parse(addr, &sa) != 0)
        return EC_EINVAL;
    if (reg->http)
        return EC_ESTATE;
    /* MHD_USE_AUTO picks epoll or poll: a node holds more than FD_SETSIZE descriptors
     * (RocksDB files, sockets), which select() cannot watch. */
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, ntohs(sa.sin_port), NULL,
                         NULL, s_handle, reg, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned int)EC_METRICS_CONNECTIONS_MAX,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)EC_METRICS_TIMEOUT_S,
                         MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384, MHD_OPTION_END);
    if (!d) {
        ec_warn("metrics: cannot listen on %s", addr);
        return EC_EIO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    reg->port = info ? info->port : ntohs(sa.sin_port);
    reg->http = d;
    char host[INET_ADDRSTRLEN] = "";
    inet_ntop(AF_INET, &sa.sin_addr, host, sizeof host);
    ec_info("metrics: serving http://%s:%u/metrics", host, reg->port);
    return 0;
}

uint16_t ec_metrics_port(const ec_metrics_t *reg)
{
    assert(reg);
    return reg->http ? reg->port : 0;
}

void ec_metrics_stop(ec_metrics_t *reg)
{
    assert(reg);
    if (!reg->http)
        return;
    MHD_stop_daemon(reg->http);
    reg->http = NULL;
    reg->port = 0;
}
