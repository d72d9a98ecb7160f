/*
 * ec_config.c - YAML configuration: a small read-only tree built from libyaml's event
 * parser, and the typed loaders for node configs, genesis files and passphrases (contract
 * and formats in ec_config.h; operator documentation in docs/OPERATIONS.md).
 *
 * The tree accepts only the plain subset of YAML a configuration needs: one document of
 * mappings, sequences and scalars. Anchors and aliases (billion-laughs expansion), more
 * than one document, duplicate keys, non-scalar keys, nesting deeper than S_DEPTH_MAX and
 * files over S_FILE_BYTES_MAX are refused. Scalars are kept as text; loaders convert them.
 *
 * Loaders are strict: every key they do not know is an error, and every error names the
 * file, the key and what was expected ("node.yaml: key 'rpc': expected an endpoint like
 * tcp://127.0.0.1:7100"), so a typo never passes silently.
 */
#include "ec_config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <yaml.h>

#include "ec_crypto.h"
#include "ec_log.h"

#define S_DEPTH_MAX 32
_Static_assert(EC_PATH_MAX >= PATH_MAX, "ec_config_dir hands EC_PATH_MAX buffers to realpath()");
#define S_FILE_BYTES_MAX (1u << 20)

enum { S_SCALAR = 1, S_SEQ, S_MAP };

struct ec_yaml_node {
    int type;               /* S_SCALAR, S_SEQ or S_MAP                                    */
    char *text;             /* scalar text (NUL-terminated), NULL otherwise                */
    size_t count;           /* sequence items or mapping pairs                             */
    size_t cap;             /* capacity of items (and keys)                                */
    ec_yaml_node_t **items; /* sequence items, or mapping values                           */
    char **keys;            /* mapping keys, parallel to items                             */
    unsigned line;          /* 1-based line where the node starts                          */
};

struct ec_yaml {
    ec_yaml_node_t *root; /* NULL for an empty document                                  */
};

/* ---- tree ------------------------------------------------------------------------------- */

static void s_node_free(ec_yaml_node_t *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->count; i++) {
        s_node_free(n->items[i]);
        if (n->keys)
            free(n->keys[i]);
    }
    free(n->items);
    free(n->keys);
    free(n->text);
    free(n);
}

static ec_yaml_node_t *s_node_new(int type, unsigned line)
{
    ec_yaml_node_t *n = calloc(1, sizeof *n);
    if (n) {
        n->type = type;
        n->line = line;
    }
    return n;
}

/* Appends child (and key, for mappings; ownership of both passes). 0 or EC_ENOMEM. */
static int s_node_add(ec_yaml_node_t *parent, char *key, ec_yaml_node_t *child)
{
    if (parent->count == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 4;
        ec_yaml_node_t **items = realloc(parent->items, cap * sizeof *items);
        if (!items)
            return EC_ENOMEM;
        parent->items = items;
        if (parent->type == S_MAP) {
            char **keys = realloc(parent->keys, cap * sizeof *keys);
            if (!keys)
                return EC_ENOMEM;
            parent->keys = keys;
        }
        parent->cap = cap;
    }
    if (parent->type == S_MAP)
        parent->keys[parent->count] = key;
    parent->items[parent->count++] = child;
    return 0;
}

/* Parser state: the open collections and, per open mapping, a key waiting for its value. */
typedef struct {
    const char *name; /* file name for messages                        */
    ec_status_t *st;
    ec_yaml_node_t *root;
    ec_yaml_node_t *stack[S_DEPTH_MAX]; /* open sequences and mappings                   */
    char *pending_key[S_DEPTH_MAX];     /* for mappings: key read, value not yet         */
    int depth;
    int documents;
} s_parser_t;

static int s_perr(s_parser_t *p, unsigned line, const char *what)
{
    return ec_status_set(p->st, EC_ECONFIG, "%s:%u: %s", p->name, line, what);
}

/* Places a finished or just-opened node (or a mapping key) in its parent. Takes ownership
 * of n in every case. */
static int s_place(s_parser_t *p, ec_yaml_node_t *n)
{
    if (p->depth == 0) {
        if (p->root) {
            s_node_free(n);
            return s_perr(p, 0, "more than one root node");
        }
        p->root = n;
        return 0;
    }
    ec_yaml_node_t *parent = p->stack[p->depth - 1];
    char **pk = &p->pending_key[p->depth - 1];
    if (parent->type == S_SEQ) {
        if (s_node_add(parent, NULL, n) != 0) {
            s_node_free(n);
            return s_perr(p, 0, "out of memory");
        }
        return 0;
    }
    if (!*pk) { /* n is a key */
        unsigned line = n->line;
        if (n->type != S_SCALAR) {
            s_node_free(n);
            return s_perr(p, line, "mapping keys must be plain scalars");
        }
        for (size_t i = 0; i < parent->count; i++) {
            if (strcmp(parent->keys[i], n->text) == 0) {
                char msg[160];
                snprintf(msg, sizeof msg, "duplicate key '%.64s'", n->text);
                s_node_free(n);
                return s_perr(p, line, msg);
            }
        }
        *pk = n->text;
        n->text = NULL;
        s_node_free(n);
        return 0;
    }
    char *key = *pk;
    *pk = NULL;
    if (s_node_add(parent, key, n) != 0) {
        free(key);
        s_node_free(n);
        return s_perr(p, 0, "out of memory");
    }
    return 0;
}

/* Handles one parser event. Returns 0, 1 at the end of the stream, or an error code. */
static int s_event(s_parser_t *p, const yaml_event_t *ev)
{
    unsigned line = (unsigned)ev->start_mark.line + 1;
    switch (ev->type) {
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_END_EVENT:
        case YAML_NO_EVENT:
            return 0;
        case YAML_STREAM_END_EVENT:
            return 1;
        case YAML_DOCUMENT_START_EVENT:
            if (++p->documents > 1)
                return s_perr(p, line, "more than one YAML document");
            return 0;
        case YAML_ALIAS_EVENT:
            return s_perr(p, line, "aliases are not allowed");
        case YAML_SCALAR_EVENT: {
            if (ev->data.scalar.anchor)
                return s_perr(p, line, "anchors are not allowed");
            ec_yaml_node_t *n = s_node_new(S_SCALAR, line);
            if (n)
                n->text = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
            if (!n || !n->text) {
                s_node_free(n);
                return s_perr(p, line, "out of memory");
            }
            if (strlen(n->text) != ev->data.scalar.length) {
                s_node_free(n);
                return s_perr(p, line, "NUL character in a scalar");
            }
            return s_place(p, n);
        }
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            bool map = ev->type == YAML_MAPPING_START_EVENT;
            if (map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor)
                return s_perr(p, line, "anchors are not allowed");
            if (p->depth >= S_DEPTH_MAX)
                return s_perr(p, line, "nesting deeper than 32 levels");
            /* A mapping needs a scalar key, so a collection in key position is refused
             * before it is opened. */
            if (p->depth > 0 && p->stack[p->depth - 1]->type == S_MAP &&
                !p->pending_key[p->depth - 1])
                return s_perr(p, line, "mapping keys must be plain scalars");
            ec_yaml_node_t *n = s_node_new(map ? S_MAP : S_SEQ, line);
            if (!n)
                return s_perr(p, line, "out of memory");
            int rc = s_place(p, n);
            if (rc != 0)
                return rc;
            p->pending_key[p->depth] = NULL;
            p->stack[p->depth++] = n;
            return 0;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            assert(p->depth > 0);
            p->depth--;
            assert(!p->pending_key[p->depth]); /* libyaml always pairs keys and values */
            return 0;
    }
    return s_perr(p, line, "unexpected YAML event");
}

static ec_yaml_t *s_parse(const char *text, size_t size, const char *name, ec_status_t *st)
{
    if (size > S_FILE_BYTES_MAX) {
        ec_status_set(st, EC_ETOOBIG, "%s: larger than 1 MiB", name);
        return NULL;
    }
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        ec_status_set(st, EC_ENOMEM, "%s: cannot initialise the YAML parser", name);
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, size);
    s_parser_t p = {.name = name, .st = st};
    int rc = 0;
    while (rc == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = ec_status_set(st, EC_ECONFIG, "%s:%zu: %s", name, parser.problem_mark.line + 1,
                               parser.problem ? parser.problem : "YAML syntax error");
            break;
        }
        rc = s_event(&p, &ev);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    for (int i = 0; i < S_DEPTH_MAX; i++)
        free(p.pending_key[i]);
    if (rc < 0) {
        s_node_free(p.root);
        return NULL;
    }
    ec_yaml_t *doc = calloc(1, sizeof *doc);
    if (!doc) {
        s_node_free(p.root);
        ec_status_set(st, EC_ENOMEM, "%s: out of memory", name);
        return NULL;
    }
    doc->root = p.root;
    return doc;
}

ec_yaml_t *ec_yaml_parse(const char *text, size_t size, ec_status_t *st)
{
    assert(text || size == 0);
    return s_parse(text ? text : "", size, "<memory>", st);
}

/*
 * Reads a whole file of at most `max` bytes into a malloc'd NUL-terminated buffer.
 * Returns 0, EC_ENOTFOUND, EC_EIO, EC_ETOOBIG or EC_ENOMEM, with st naming the file.
 */
static int s_read_file(const char *path, size_t max, char **out, size_t *size, ec_status_t *st)
{
    *out = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return ec_status_set(st, errno == ENOENT ? EC_ENOTFOUND : EC_EIO, "%s: %s", path,
                             strerror(errno));
    char *buf = malloc(max + 2);
    if (!buf) {
        fclose(f);
        return ec_status_set(st, EC_ENOMEM, "%s: out of memory", path);
    }
    size_t n = fread(buf, 1, max + 1, f);
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return ec_status_set(st, EC_EIO, "%s: read error", path);
    }
    if (n > max) {
        free(buf);
        return ec_status_set(st, EC_ETOOBIG, "%s: larger than %zu bytes", path, max);
    }
    buf[n] = '\0';
    *out = buf;
    *size = n;
    return 0;
}

ec_yaml_t *ec_yaml_load(const char *path, ec_status_t *st)
{
    assert(path);
    char *text = NULL;
    size_t size = 0;
    if (s_read_file(path, S_FILE_BYTES_MAX, &text, &size, st) != 0)
        return NULL;
    ec_yaml_t *doc = s_parse(text, size, path, st);
    free(text);
    return doc;
}

void ec_yaml_destroy(ec_yaml_t **self_p)
{
    assert(self_p);
    if (*self_p) {
        s_node_free((*self_p)->root);
        free(*self_p);
        *self_p = NULL;
    }
}

const ec_yaml_node_t *ec_yaml_root(const ec_yaml_t *doc)
{
    return doc ? doc->root : NULL;
}

bool ec_yaml_is_map(const ec_yaml_node_t *n)
{
    return n && n->type == S_MAP;
}

bool ec_yaml_is_seq(const ec_yaml_node_t *n)
{
    return n && n->type == S_SEQ;
}

const char *ec_yaml_scalar(const ec_yaml_node_t *n)
{
    return n && n->type == S_SCALAR ? n->text : NULL;
}

const ec_yaml_node_t *ec_yaml_get(const ec_yaml_node_t *map, const char *key)
{
    assert(key);
    if (!ec_yaml_is_map(map))
        return NULL;
    for (size_t i = 0; i < map->count; i++)
        if (strcmp(map->keys[i], key) == 0)
            return map->items[i];
    return NULL;
}

size_t ec_yaml_count(const ec_yaml_node_t *n)
{
    return n && n->type != S_SCALAR ? n->count : 0;
}

const ec_yaml_node_t *ec_yaml_item(const ec_yaml_node_t *seq, size_t i)
{
    return ec_yaml_is_seq(seq) && i < seq->count ? seq->items[i] : NULL;
}

const char *ec_yaml_key(const ec_yaml_node_t *map, size_t i)
{
    return ec_yaml_is_map(map) && i < map->count ? map->keys[i] : NULL;
}

const ec_yaml_node_t *ec_yaml_lookup(const ec_yaml_node_t *n, const char *path)
{
    assert(path);
    char part[256];
    while (n && *path) {
        size_t len = strcspn(path, ".");
        if (len >= sizeof part)
            return NULL;
        memcpy(part, path, len);
        part[len] = '\0';
        n = ec_yaml_get(n, part);
        path += len;
        if (*path == '.')
            path++;
    }
    return n;
}

unsigned ec_yaml_line(const ec_yaml_node_t *n)
{
    return n ? n->line : 0;
}

/* ---- typed field readers ---------------------------------------------------------------- */

/* Where a loader is: the file (for messages) and the folder relative paths start from. */
typedef struct {
    const char *file;
    char dir[EC_PATH_MAX];
    ec_status_t *st;
} s_loader_t;

static int s_expected(const s_loader_t *ld, const char *key, const char *what)
{
    return ec_status_set(ld->st, EC_ECONFIG, "%s: key '%s': expected %s", ld->file, key, what);
}

int ec_yaml_expected(const ec_yaml_node_t *n, const char *file, const char *key, const char *what,
                     ec_status_t *st)
{
    return ec_status_set(st, EC_ECONFIG, "%s:%u: key '%s': expected %s", file, ec_yaml_line(n), key,
                         what);
}

int ec_yaml_text(const ec_yaml_node_t *map, const char *file, const char *key, bool required,
                 const char *what, const char **out, ec_status_t *st)
{
    const ec_yaml_node_t *n = ec_yaml_get(map, key);
    *out = NULL;
    if (!n)
        return required
                   ? ec_status_set(st, EC_ECONFIG, "%s: missing key '%s' (%s)", file, key, what)
                   : 0;
    const char *s = ec_yaml_scalar(n);
    if (!s || !s[0])
        return ec_yaml_expected(n, file, key, what, st);
    *out = s;
    return 0;
}

int ec_yaml_path(const ec_yaml_node_t *map, const char *file, const char *dir, const char *key,
                 bool required, char out[EC_PATH_MAX], ec_status_t *st)
{
    const char *s = NULL;
    out[0] = '\0';
    int rc = ec_yaml_text(map, file, key, required, "a file path", &s, st);
    if (rc || !s)
        return rc;
    int n = s[0] == '/' ? snprintf(out, EC_PATH_MAX, "%s", s)
                        : snprintf(out, EC_PATH_MAX, "%s/%s", dir, s);
    if (n < 0 || n >= EC_PATH_MAX)
        return ec_yaml_expected(ec_yaml_get(map, key), file, key, "a shorter path", st);
    return 0;
}

int ec_yaml_metrics(const ec_yaml_node_t *map, const char *file, char out[EC_METRICS_ADDR_MAX],
                    ec_status_t *st)
{
    static const char what[] = "an address like 127.0.0.1:7005 (IPv4:port)";
    const char *s = NULL;
    out[0] = '\0';
    int rc = ec_yaml_text(map, file, "metrics", false, what, &s, st);
    if (rc || !s)
        return rc;
    if (!ec_metrics_addr_valid(s))
        return ec_yaml_expected(ec_yaml_get(map, "metrics"), file, "metrics", what, st);
    /* Metrics tell the heights, queues and sizes of the node, not secrets: a wider address
     * is allowed, but worth a line in the log. */
    if (strncmp(s, "127.", 4) != 0)
        ec_warn("%s: metrics %s listens beyond this machine: anyone who reaches it can read "
                "the daemon's metrics",
                file, s);
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

int ec_yaml_keys_check(const ec_yaml_node_t *map, const char *file, const char *where,
                       const char *const *allowed, ec_status_t *st)
{
    assert(ec_yaml_is_map(map) && file && where && allowed);
    for (size_t i = 0; i < map->count; i++) {
        bool known = false;
        for (const char *const *a = allowed; *a && !known; a++)
            known = strcmp(*a, map->keys[i]) == 0;
        if (!known)
            return ec_status_set(st, EC_ECONFIG, "%s:%u: unknown key '%s%s%.64s'", file,
                                 map->items[i]->line, where, *where ? "." : "", map->keys[i]);
    }
    return 0;
}

/* ec_yaml_keys_check for the loader's file. */
static int s_keys_check(const s_loader_t *ld, const ec_yaml_node_t *map, const char *where,
                        const char *const *allowed)
{
    return ec_yaml_keys_check(map, ld->file, where, allowed, ld->st);
}

/* A scalar value, or NULL when the key is absent. A present non-scalar fails. */
static int s_text(const s_loader_t *ld, const ec_yaml_node_t *map, const char *key,
                  const char *what, bool required, const char **out)
{
    const ec_yaml_node_t *n = ec_yaml_get(map, key);
    *out = NULL;
    if (!n)
        return required ? ec_status_set(ld->st, EC_ECONFIG, "%s: missing key '%s' (%s)", ld->file,
                                        key, what)
                        : 0;
    if (!ec_yaml_scalar(n) || !n->text[0])
        return s_expected(ld, key, what);
    *out = n->text;
    return 0;
}

/* Parses decimal digits only (no sign, no spaces) into *v. 0 or EC_EINVAL. */
static int s_parse_u64(const char *s, uint64_t *v)
{
    uint64_t x = 0;
    if (!*s)
        return EC_EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return EC_EINVAL;
        unsigned d = (unsigned)(*s - '0');
        if (x > (UINT64_MAX - d) / 10)
            return EC_EINVAL;
        x = x * 10 + d;
    }
    *v = x;
    return 0;
}

/* An integer in [min, max] under key; `def` when absent and not required. */
static int s_uint(const s_loader_t *ld, const ec_yaml_node_t *map, const char *key, uint64_t min,
                  uint64_t max, bool required, uint64_t def, uint64_t *out)
{
    char what[96];
    snprintf(what, sizeof what, "an integer from %llu to %llu", (unsigned long long)min,
             (unsigned long long)max);
    const char *s = NULL;
    int rc = s_text(ld, map, key, what, required, &s);
    if (rc != 0)
        return rc;
    *out = def;
    if (!s)
        return 0;
    uint64_t v = 0;
    if (s_parse_u64(s, &v) != 0 || v < min || v > max)
        return s_expected(ld, key, what);
    *out = v;
    return 0;
}

/* A string of 1..cap-1 characters from `charset` (NULL: any printable ASCII). */
static int s_name(const s_loader_t *ld, const ec_yaml_node_t *map, const char *key,
                  const char *what, const char *charset, char *out, size_t cap)
{
    const char *s = NULL;
    int rc = s_text(ld, map, key, what, true, &s);
    if (rc != 0)
        return rc;
    size_t len = strlen(s);
    if (len >= cap || (charset && strspn(s, charset) != len))
        return s_expected(ld, key, what);
    memcpy(out, s, len + 1);
    return 0;
}

static int s_hex32(const s_loader_t *ld, const ec_yaml_node_t *n, const char *key, uint8_t out[32])
{
    const char *s = ec_yaml_scalar(n);
    if (!s || strlen(s) != 64 || ec_unhex(out, 32, s) != 0)
        return s_expected(ld, key, "64 hex digits (32 bytes)");
    return 0;
}

/* Resolves a path relative to the config file's folder into out (EC_PATH_MAX). */
static int s_path(const s_loader_t *ld, const ec_yaml_node_t *map, const char *key, bool required,
                  char out[EC_PATH_MAX])
{
    const char *s = NULL;
    int rc = s_text(ld, map, key, "a file or folder path", required, &s);
    out[0] = '\0';
    if (rc != 0 || !s)
        return rc;
    int n;
    if (s[0] == '/') {
        n = snprintf(out, EC_PATH_MAX, "%s", s);
    } else {
        while (s[0] == '.' && s[1] == '/')
            s += 2;
        n = snprintf(out, EC_PATH_MAX, "%s/%s", ld->dir, s);
    }
    if (n < 0 || n >= EC_PATH_MAX)
        return s_expected(ld, key, "a path shorter than 4096 bytes");
    return 0;
}

bool ec_config_endpoint_valid(const char *s, bool bind)
{
    assert(s);
    if (strncmp(s, "ipc://", 6) == 0)
        return s[6] != '\0';
    if (strncmp(s, "inproc://", 9) == 0)
        return s[9] != '\0';
    if (strncmp(s, "tcp://", 6) != 0)
        return false;
    const char *host = s + 6;
    const char *colon = strrchr(host, ':');
    if (!colon || colon == host)
        return false;
    const char *port = colon + 1;
    if (strcmp(port, "*") == 0)
        return bind;
    uint64_t v = 0;
    return s_parse_u64(port, &v) == 0 && v >= 1 && v <= 65535;
}

/* True when host (an endpoint's host part, IPv6 without brackets) is a loopback address,
 * localhost or the loopback interface. */
static bool s_host_loopback(const char *host)
{
    if (strcmp(host, "localhost") == 0 || strcmp(host, "lo") == 0)
        return true;
    struct in_addr v4;
    if (inet_pton(AF_INET, host, &v4) == 1)
        return ((const uint8_t *)&v4.s_addr)[0] == 127;
    struct in6_addr v6;
    if (inet_pton(AF_INET6, host, &v6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
    return false;
}

ec_endpoint_scope_t ec_config_endpoint_scope(const char *endpoint)
{
    assert(endpoint);
    if (strncmp(endpoint, "ipc://", 6) == 0)
        return EC_ENDPOINT_IPC;
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return EC_ENDPOINT_OTHER;
    const char *host = endpoint + 6;
    const char *colon = strrchr(host, ':');
    size_t len = colon ? (size_t)(colon - host) : strlen(host);
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        host++;
        len -= 2;
    }
    char buf[EC_ENDPOINT_MAX];
    if (len >= sizeof buf)
        return EC_ENDPOINT_NETWORK;
    memcpy(buf, host, len);
    buf[len] = '\0';
    return s_host_loopback(buf) ? EC_ENDPOINT_LOOPBACK : EC_ENDPOINT_NETWORK;
}

/*
 * Warns when the node's ROUTER (`rpc`) listens where others can reach it: whoever reaches
 * it can submit transactions and read every query, and ecert authenticates no RPC client.
 */
static void s_rpc_exposure_warn(const s_loader_t *ld, const char *rpc)
{
    switch (ec_config_endpoint_scope(rpc)) {
        case EC_ENDPOINT_NETWORK:
            ec_warn("%s: rpc %s listens beyond this machine: anyone who can reach it can submit "
                    "transactions and read every query (bind 127.0.0.1 and put a firewall or "
                    "proxy in front unless that is what you want)",
                    ld->file, rpc);
            break;
        case EC_ENDPOINT_IPC:
            ec_warn("%s: rpc %s is a socket file: every local user its permissions admit can "
                    "submit transactions and read every query; its mode follows the daemon's "
                    "umask, so keep it in a folder only trusted users can enter",
                    ld->file, rpc);
            break;
        default:
            break;
    }
}

static int s_endpoint(const s_loader_t *ld, const ec_yaml_node_t *map, const char *key,
                      char out[EC_ENDPOINT_MAX])
{
    static const char what[] = "an endpoint like tcp://127.0.0.1:7100";
    const char *s = NULL;
    int rc = s_text(ld, map, key, what, true, &s);
    if (rc != 0)
        return rc;
    if (strlen(s) >= EC_ENDPOINT_MAX || !ec_config_endpoint_valid(s, true))
        return s_expected(ld, key, what);
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

int ec_config_dir(char dir[EC_PATH_MAX], const char *path, ec_status_t *st)
{
    assert(dir && path);
    char tmp[EC_PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(tmp, sizeof tmp, ".");
    else if (slash == path)
        snprintf(tmp, sizeof tmp, "/");
    else
        snprintf(tmp, sizeof tmp, "%.*s", (int)(slash - path), path);
    /* realpath() writes up to PATH_MAX bytes; EC_PATH_MAX is that size. */
    if (!realpath(tmp, dir))
        return ec_status_set(st, EC_EIO, "%s: cannot resolve its folder: %s", path,
                             strerror(errno));
    if (strcmp(dir, "/") == 0)
        dir[0] = '\0'; /* so "dir/x" becomes "/x" */
    return 0;
}

/* Fills ld->dir with the absolute folder of ld->file. */
static int s_loader_init(s_loader_t *ld, const char *file, ec_status_t *st)
{
    ld->file = file;
    ld->st = st;
    return ec_config_dir(ld->dir, file, st);
}

/*
 * Loads ld->file and checks its root is a mapping. Returns 0 and *doc, EC_ECONFIG (bad
 * YAML, too big) or EC_EIO (cannot read), with st set.
 */
static int s_load_map(const s_loader_t *ld, ec_yaml_t **doc)
{
    ec_status_t local = {0};
    ec_status_t *st = ld->st ? ld->st : &local;
    ec_status_clear(st);
    *doc = ec_yaml_load(ld->file, st);
    if (!*doc) {
        int code = st->code;
        return code == EC_ECONFIG || code == EC_ENOMEM ? code
               : code == EC_ETOOBIG                    ? (st->code = EC_ECONFIG)
                                                       : (st->code = EC_EIO);
    }
    if (!ec_yaml_is_map((*doc)->root)) {
        ec_yaml_destroy(doc);
        return ec_status_set(ld->st, EC_ECONFIG, "%s: expected a mapping of keys to values",
                             ld->file);
    }
    return 0;
}

/* Reads the fields of a loaded mapping into a loader's output; returns 0 or an error. */
typedef int (*s_fields_fn)(const s_loader_t *ld, const ec_yaml_node_t *m, void *out);

/*
 * What every typed loader does around its fields: zeroes out (out_size bytes), loads the
 * mapping in `path`, reads it with `fields`, and zeroes out again on failure so that a
 * refused file leaves nothing half-read. Returns 0 or the error, with st set.
 */
static int s_load_file(void *out, size_t out_size, const char *path, s_fields_fn fields,
                       ec_status_t *st)
{
    assert(out && path);
    memset(out, 0, out_size);
    s_loader_t ld;
    int rc = s_loader_init(&ld, path, st);
    if (rc != 0)
        return rc;
    ec_yaml_t *doc = NULL;
    rc = s_load_map(&ld, &doc);
    if (rc != 0)
        return rc;
    rc = fields(&ld, doc->root, out);
    ec_yaml_destroy(&doc);
    if (rc != 0)
        memset(out, 0, out_size);
    return rc;
}

/* ---- node config ------------------------------------------------------------------------ */

static const char *const s_node_keys[] = {
    "data_dir",
    "genesis",
    "validator_key",
    "passphrase_file",
    "rpc",
    "pub",
    "block_interval_ms",
    "block_txs_max",
    "verify_threads",
    "mempool_max",
    "log_level",
    "p2p",
    "peers",
    "heartbeat_ms",
    "gossip_ms",
    "timeout_propose_ms",
    "timeout_propose_delta_ms",
    "timeout_prevote_ms",
    "timeout_prevote_delta_ms",
    "timeout_precommit_ms",
    "timeout_precommit_delta_ms",
    "clients_max",
    "client_reply_bytes_max",
    "client_submit_bytes_max",
    "submit_bytes_max",
    "metrics",
    NULL,
};
static const char *const s_peer_keys[] = {"pk", "p2p", NULL};

/*
 * Item i of a list of keyed entries under `key` (a peer, a validator): a mapping with only
 * the `allowed` keys whose "pk" is 64 hex digits, read into pk. `where` gets "key[i]" for
 * the caller's own messages; `shape` says what an entry looks like.
 */
static int s_pk_item(const s_loader_t *ld, const ec_yaml_node_t *seq, size_t i, const char *key,
                     const char *const *allowed, const char *shape, char where[64],
                     uint8_t pk[EC_PK_BYTES])
{
    const ec_yaml_node_t *item = seq->items[i];
    char sub[80];
    snprintf(where, 64, "%s[%zu]", key, i);
    if (!ec_yaml_is_map(item))
        return s_expected(ld, where, shape);
    int rc = s_keys_check(ld, item, where, allowed);
    if (rc != 0)
        return rc;
    snprintf(sub, sizeof sub, "%s.pk", where);
    const ec_yaml_node_t *n = ec_yaml_get(item, "pk");
    if (!n)
        return ec_status_set(ld->st, EC_ECONFIG, "%s: missing key '%s'", ld->file, sub);
    return s_hex32(ld, n, sub, pk);
}

/* Reads `peers: [{pk: <64 hex>, p2p: <endpoint>}, ...]` (optional). */
static int s_peers(const s_loader_t *ld, const ec_yaml_node_t *m, ec_node_file_t *out)
{
    const ec_yaml_node_t *seq = ec_yaml_get(m, "peers");
    if (!seq)
        return 0;
    if (!ec_yaml_is_seq(seq) || seq->count > EC_NODE_PEERS_MAX)
        return s_expected(ld, "peers",
                          "a list of at most 32 entries {pk: <64 hex>, p2p: "
                          "<endpoint>}");
    for (size_t i = 0; i < seq->count; i++) {
        const ec_yaml_node_t *item = seq->items[i];
        char where[64], sub[80];
        ec_node_peer_t *peer = &out->peers[i];
        int rc = s_pk_item(ld, seq, i, "peers", s_peer_keys,
                           "a mapping {pk: <64 hex>, p2p: <endpoint>}", where, peer->pk);
        if (rc != 0)
            return rc;
        snprintf(sub, sizeof sub, "%s.pk", where);
        for (size_t k = 0; k < i; k++)
            if (memcmp(out->peers[k].pk, peer->pk, EC_PK_BYTES) == 0)
                return ec_status_set(ld->st, EC_ECONFIG, "%s: %s names the key of peers[%zu]",
                                     ld->file, sub, k);
        snprintf(sub, sizeof sub, "%s.p2p", where);
        const char *ep = ec_yaml_scalar(ec_yaml_get(item, "p2p"));
        if (!ep || strlen(ep) >= sizeof peer->endpoint || !ec_config_endpoint_valid(ep, false))
            return s_expected(ld, sub, "an endpoint like tcp://10.0.0.2:7102");
        snprintf(peer->endpoint, sizeof peer->endpoint, "%s", ep);
        out->peer_count++;
    }
    return 0;
}

/* The consensus and bound settings of a node config. */
static int s_node_consensus(const s_loader_t *ld, const ec_yaml_node_t *m, ec_node_file_t *out)
{
    uint64_t v[15];
    int rc = 0;
    if (ec_yaml_get(m, "p2p"))
        rc = s_endpoint(ld, m, "p2p", out->p2p);
    rc = rc ? rc : s_peers(ld, m, out);
    rc = rc ? rc : s_uint(ld, m, "heartbeat_ms", 0, 3600000, false, 0, &v[0]);
    rc = rc ? rc : s_uint(ld, m, "gossip_ms", 20, 60000, false, 200, &v[1]);
    rc = rc ? rc : s_uint(ld, m, "timeout_propose_ms", 10, 600000, false, 1000, &v[2]);
    rc = rc ? rc : s_uint(ld, m, "timeout_propose_delta_ms", 0, 600000, false, 500, &v[3]);
    rc = rc ? rc : s_uint(ld, m, "timeout_prevote_ms", 10, 600000, false, 500, &v[4]);
    rc = rc ? rc : s_uint(ld, m, "timeout_prevote_delta_ms", 0, 600000, false, 250, &v[5]);
    rc = rc ? rc : s_uint(ld, m, "timeout_precommit_ms", 10, 600000, false, 500, &v[6]);
    rc = rc ? rc : s_uint(ld, m, "timeout_precommit_delta_ms", 0, 600000, false, 250, &v[7]);
    rc = rc ? rc : s_uint(ld, m, "clients_max", 1, 1u << 20, false, 1024, &v[8]);
    rc =
        rc ? rc
           : s_uint(ld, m, "client_reply_bytes_max", 64u << 10, 1ull << 34, false, 8u << 20, &v[9]);
    rc = rc ? rc
            : s_uint(ld, m, "client_submit_bytes_max", 1u << 20, 1ull << 36, false, 64u << 20,
                     &v[10]);
    rc = rc ? rc
            : s_uint(ld, m, "submit_bytes_max", 1u << 20, 1ull << 38, false, 512u << 20, &v[11]);
    if (rc != 0)
        return rc;
    if (out->peer_count > 0 && !out->p2p[0])
        return s_expected(ld, "p2p", "this node's p2p endpoint, since peers are listed");
    out->heartbeat_ms = (uint32_t)v[0];
    out->gossip_ms = (uint32_t)v[1];
    out->timeouts = (ec_tm_config_t){(uint32_t)v[2], (uint32_t)v[3], (uint32_t)v[4],
                                     (uint32_t)v[5], (uint32_t)v[6], (uint32_t)v[7]};
    out->clients_max = (uint32_t)v[8];
    out->client_reply_bytes_max = v[9];
    out->client_submit_bytes_max = v[10];
    out->submit_bytes_max = v[11];
    return 0;
}

static uint32_t s_online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > EC_NODE_VERIFY_THREADS_MAX ? EC_NODE_VERIFY_THREADS_MAX : (uint32_t)n;
}

static int s_node_fields(const s_loader_t *ld, const ec_yaml_node_t *m, void *vout)
{
    ec_node_file_t *out = vout;
    uint64_t v[4];
    const char *level = NULL;
    int rc = s_keys_check(ld, m, "", s_node_keys);
    rc = rc ? rc : s_path(ld, m, "data_dir", true, out->data_dir);
    rc = rc ? rc : s_path(ld, m, "genesis", true, out->genesis_path);
    rc = rc ? rc : s_path(ld, m, "validator_key", true, out->validator_key_path);
    rc = rc ? rc : s_path(ld, m, "passphrase_file", false, out->passphrase_file);
    rc = rc ? rc : s_endpoint(ld, m, "rpc", out->rpc);
    rc = rc ? rc : s_endpoint(ld, m, "pub", out->pub);
    rc = rc ? rc : s_uint(ld, m, "block_interval_ms", 1, 60000, false, 20, &v[0]);
    rc = rc ? rc : s_uint(ld, m, "block_txs_max", 1, EC_BLOCK_TXS_MAX, false, 10000, &v[1]);
    rc = rc ? rc
            : s_uint(ld, m, "verify_threads", 1, EC_NODE_VERIFY_THREADS_MAX, false, s_online_cpus(),
                     &v[2]);
    rc = rc ? rc : s_uint(ld, m, "mempool_max", 1, EC_NODE_MEMPOOL_MAX, false, 200000, &v[3]);
    rc = rc ? rc : s_text(ld, m, "log_level", "one of debug, info, warn, error", false, &level);
    rc = rc ? rc : s_node_consensus(ld, m, out);
    rc = rc ? rc : ec_yaml_metrics(m, ld->file, out->metrics, ld->st);
    if (rc != 0)
        return rc;
    out->block_interval_ms = (uint32_t)v[0];
    out->block_txs_max = (uint32_t)v[1];
    out->verify_threads = (uint32_t)v[2];
    out->mempool_max = (uint32_t)v[3];
    out->log_level = EC_LOG_INFO;
    if (level) {
        out->log_level = ec_log_level_parse(level);
        if (out->log_level < 0)
            return s_expected(ld, "log_level", "one of debug, info, warn, error");
    }
    if (strcmp(out->rpc, out->pub) == 0)
        return s_expected(ld, "pub", "an endpoint different from rpc");
    if (out->p2p[0] && (strcmp(out->p2p, out->rpc) == 0 || strcmp(out->p2p, out->pub) == 0))
        return s_expected(ld, "p2p", "an endpoint different from rpc and pub");
    s_rpc_exposure_warn(ld, out->rpc);
    return 0;
}

int ec_node_file_load(ec_node_file_t *out, const char *path, ec_status_t *st)
{
    assert(out);
    return s_load_file(out, sizeof *out, path, s_node_fields, st);
}

/* ---- genesis ---------------------------------------------------------------------------- */

/* The binary decoder's rule (ec_chain_id_valid): a YAML genesis must not name a chain id
 * that its own encoding would refuse. */
static const char s_chain_id_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789-";
static const char s_cert_type_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789_-";

static const char *const s_genesis_keys[] = {
    "chain_id",
    "kind",
    "cert_type",
    "time_ms",
    "validators",
    "operators",
    "main_chain_id",
    "main_genesis_hash",
    "main_validators",
    "main_freshness_ms",
    "operator_quorum",
    "contracts",
    NULL,
};
static const char *const s_validator_keys[] = {"pk", "power", NULL};

/* Reads a validator list [{pk: <64 hex>, power: N}, ...] under key. */
static int s_valset(const s_loader_t *ld, const ec_yaml_node_t *m, const char *key, ec_valset_t *vs)
{
    const ec_yaml_node_t *seq = ec_yaml_get(m, key);
    memset(vs, 0, sizeof *vs);
    if (!seq)
        return ec_status_set(ld->st, EC_ECONFIG, "%s: missing key '%s' (a validator list)",
                             ld->file, key);
    if (!ec_yaml_is_seq(seq) || seq->count < 1 || seq->count > EC_VALIDATORS_MAX)
        return s_expected(ld, key, "a list of 1 to 32 entries {pk: <64 hex>, power: N}");
    for (size_t i = 0; i < seq->count; i++) {
        const ec_yaml_node_t *item = seq->items[i];
        char where[64], sub[80];
        int rc = s_pk_item(ld, seq, i, key, s_validator_keys, "a mapping {pk: <64 hex>, power: N}",
                           where, vs->v[i].pk);
        snprintf(sub, sizeof sub, "%s.pk", where);
        for (size_t j = 0; rc == 0 && j < i; j++)
            if (memcmp(vs->v[j].pk, vs->v[i].pk, EC_PK_BYTES) == 0)
                rc = s_expected(ld, sub, "a key not listed twice");
        snprintf(sub, sizeof sub, "%s.power", where);
        uint64_t power = 0;
        const char *ptext = ec_yaml_scalar(ec_yaml_get(item, "power"));
        if (rc == 0 &&
            (!ptext || s_parse_u64(ptext, &power) != 0 || power < 1 || power > UINT32_MAX))
            rc = s_expected(ld, sub, "an integer from 1 to 4294967295");
        if (rc != 0)
            return rc;
        vs->v[i].power = power;
        vs->count++;
    }
    return 0;
}

static int s_operators(const s_loader_t *ld, const ec_yaml_node_t *m, ec_genesis_t *g)
{
    const ec_yaml_node_t *seq = ec_yaml_get(m, "operators");
    if (!seq)
        return ec_status_set(ld->st, EC_ECONFIG,
                             "%s: missing key 'operators' (a list of 64-hex public keys)",
                             ld->file);
    if (!ec_yaml_is_seq(seq) || seq->count > EC_OPERATORS_MAX)
        return s_expected(ld, "operators", "a list of at most 8 64-hex public keys");
    for (size_t i = 0; i < seq->count; i++) {
        char where[32];
        snprintf(where, sizeof where, "operators[%zu]", i);
        int rc = s_hex32(ld, seq->items[i], where, g->operators[i]);
        if (rc != 0)
            return rc;
        g->operator_count++;
    }
    uint64_t quorum = 1;
    int rc = s_uint(ld, m, "operator_quorum", 1, g->operator_count ? g->operator_count : 1, false,
                    1, &quorum);
    g->operator_quorum = (uint32_t)quorum;
    return rc;
}

/* Fails when a key that belongs to the other chain kind is present. */
static int s_kind_only(const s_loader_t *ld, const ec_yaml_node_t *m, const char *const *keys,
                       const char *kind)
{
    for (; *keys; keys++)
        if (ec_yaml_get(m, *keys))
            return ec_status_set(ld->st, EC_ECONFIG, "%s: key '%s': only allowed when kind is %s",
                                 ld->file, *keys, kind);
    return 0;
}

static int s_genesis_fields(const s_loader_t *ld, const ec_yaml_node_t *m, void *out)
{
    ec_genesis_t *g = out;
    static const char *const main_only[] = {"operators", "operator_quorum", NULL};
    static const char *const side_only[] = {"cert_type",         "main_chain_id",
                                            "main_genesis_hash", "main_validators",
                                            "main_freshness_ms", NULL};
    const char *kind = NULL;
    int rc = s_keys_check(ld, m, "", s_genesis_keys);
    rc = rc ? rc
            : s_name(ld, m, "chain_id", "a chain id of 1 to 63 characters [a-z0-9-]",
                     s_chain_id_chars, g->chain_id, sizeof g->chain_id);
    rc = rc ? rc : s_text(ld, m, "kind", "main or side", true, &kind);
    if (rc != 0)
        return rc;
    if (strcmp(kind, "main") == 0)
        g->kind = EC_CHAIN_MAIN;
    else if (strcmp(kind, "side") == 0)
        g->kind = EC_CHAIN_SIDE;
    else
        return s_expected(ld, "kind", "main or side");
    uint64_t time_ms = 0;
    rc = s_uint(ld, m, "time_ms", 0, UINT64_MAX, true, 0, &time_ms);
    rc = rc ? rc : s_valset(ld, m, "validators", &g->validators);
    if (rc != 0)
        return rc;
    g->time_ms = time_ms;
    /* contracts: true|false (absent: false), either kind. */
    const ec_yaml_node_t *cn = ec_yaml_get(m, "contracts");
    const char *ctext = cn ? ec_yaml_scalar(cn) : "false";
    if (!ctext || (strcmp(ctext, "true") != 0 && strcmp(ctext, "false") != 0))
        return s_expected(ld, "contracts", "true or false");
    g->features = strcmp(ctext, "true") == 0 ? EC_GENESIS_F_CONTRACTS : 0;
    if (g->kind == EC_CHAIN_MAIN) {
        rc = s_kind_only(ld, m, side_only, "side");
        return rc ? rc : s_operators(ld, m, g);
    }
    rc = s_kind_only(ld, m, main_only, "main");
    rc = rc ? rc
            : s_name(ld, m, "cert_type", "a certificate type of 1 to 31 characters [a-z0-9_-]",
                     s_cert_type_chars, g->cert_type, sizeof g->cert_type);
    rc = rc ? rc
            : s_name(ld, m, "main_chain_id", "a chain id of 1 to 63 characters [a-z0-9-]",
                     s_chain_id_chars, g->main_chain_id, sizeof g->main_chain_id);
    if (rc != 0)
        return rc;
    const ec_yaml_node_t *h = ec_yaml_get(m, "main_genesis_hash");
    if (!h)
        return ec_status_set(ld->st, EC_ECONFIG, "%s: missing key 'main_genesis_hash'", ld->file);
    rc = s_hex32(ld, h, "main_genesis_hash", g->main_genesis_hash);
    rc = rc ? rc : s_valset(ld, m, "main_validators", &g->main_validators);
    return rc ? rc
              : s_uint(ld, m, "main_freshness_ms", EC_MAIN_FRESHNESS_MS_MIN, 86400000u, false,
                       EC_MAIN_FRESHNESS_MS_DEFAULT, &g->main_freshness_ms);
}

int ec_genesis_load(ec_genesis_t *out, const char *path, ec_status_t *st)
{
    assert(out);
    return s_load_file(out, sizeof *out, path, s_genesis_fields, st);
}

/* ---- genesis save (libyaml emitter) ----------------------------------------------------- */

/* Emits one scalar in the given style (libyaml quotes on its own when plain is unsafe). */
static int s_emit_styled(yaml_emitter_t *em, const char *text, yaml_scalar_style_t style)
{
    yaml_event_t ev;
    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (const yaml_char_t *)text, (int)strlen(text),
                                      1, 1, style))
        return EC_ENOMEM;
    return yaml_emitter_emit(em, &ev) ? 0 : EC_EIO;
}

static int s_emit_scalar(yaml_emitter_t *em, const char *text)
{
    return s_emit_styled(em, text, YAML_ANY_SCALAR_STYLE);
}

static int s_emit_u64(yaml_emitter_t *em, uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    return s_emit_scalar(em, buf);
}

static int s_emit_hex(yaml_emitter_t *em, const uint8_t *data)
{
    char hex[65];
    ec_hex(hex, data, 32);
    /* Quoted: an all-digit key would read as a number in other YAML tools. */
    return s_emit_styled(em, hex, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

static int s_emit_start(yaml_emitter_t *em, bool map)
{
    yaml_event_t ev;
    int ok =
        map ? yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE)
            : yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
    if (!ok)
        return EC_ENOMEM;
    return yaml_emitter_emit(em, &ev) ? 0 : EC_EIO;
}

static int s_emit_end(yaml_emitter_t *em, bool map)
{
    yaml_event_t ev;
    int ok = map ? yaml_mapping_end_event_initialize(&ev) : yaml_sequence_end_event_initialize(&ev);
    if (!ok)
        return EC_ENOMEM;
    return yaml_emitter_emit(em, &ev) ? 0 : EC_EIO;
}

static int s_emit_valset(yaml_emitter_t *em, const char *key, const ec_valset_t *vs)
{
    int rc = s_emit_scalar(em, key);
    rc = rc ? rc : s_emit_start(em, false);
    for (uint32_t i = 0; rc == 0 && i < vs->count; i++) {
        rc = s_emit_start(em, true);
        rc = rc ? rc : s_emit_scalar(em, "pk");
        rc = rc ? rc : s_emit_hex(em, vs->v[i].pk);
        rc = rc ? rc : s_emit_scalar(em, "power");
        rc = rc ? rc : s_emit_u64(em, vs->v[i].power);
        rc = rc ? rc : s_emit_end(em, true);
    }
    return rc ? rc : s_emit_end(em, false);
}

static int s_emit_genesis(yaml_emitter_t *em, const ec_genesis_t *g)
{
    yaml_event_t ev;
    if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) || !yaml_emitter_emit(em, &ev))
        return EC_EIO;
    if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) ||
        !yaml_emitter_emit(em, &ev))
        return EC_EIO;
    bool is_main = g->kind == EC_CHAIN_MAIN;
    int rc = s_emit_start(em, true);
    rc = rc ? rc : s_emit_scalar(em, "chain_id");
    rc = rc ? rc : s_emit_scalar(em, g->chain_id);
    rc = rc ? rc : s_emit_scalar(em, "kind");
    rc = rc ? rc : s_emit_scalar(em, is_main ? "main" : "side");
    if (!is_main) {
        rc = rc ? rc : s_emit_scalar(em, "cert_type");
        rc = rc ? rc : s_emit_scalar(em, g->cert_type);
    }
    rc = rc ? rc : s_emit_scalar(em, "time_ms");
    rc = rc ? rc : s_emit_u64(em, g->time_ms);
    rc = rc ? rc : s_emit_valset(em, "validators", &g->validators);
    if (is_main) {
        rc = rc ? rc : s_emit_scalar(em, "operators");
        rc = rc ? rc : s_emit_start(em, false);
        for (uint32_t i = 0; rc == 0 && i < g->operator_count; i++)
            rc = s_emit_hex(em, g->operators[i]);
        rc = rc ? rc : s_emit_end(em, false);
        if (g->operator_quorum > 1) {
            rc = rc ? rc : s_emit_scalar(em, "operator_quorum");
            rc = rc ? rc : s_emit_u64(em, g->operator_quorum);
        }
    } else {
        rc = rc ? rc : s_emit_scalar(em, "main_chain_id");
        rc = rc ? rc : s_emit_scalar(em, g->main_chain_id);
        rc = rc ? rc : s_emit_scalar(em, "main_genesis_hash");
        rc = rc ? rc : s_emit_hex(em, g->main_genesis_hash);
        rc = rc ? rc : s_emit_valset(em, "main_validators", &g->main_validators);
        rc = rc ? rc : s_emit_scalar(em, "main_freshness_ms");
        rc = rc ? rc : s_emit_u64(em, g->main_freshness_ms);
    }
    if (g->features & EC_GENESIS_F_CONTRACTS) {
        rc = rc ? rc : s_emit_scalar(em, "contracts");
        rc = rc ? rc : s_emit_scalar(em, "true");
    }
    rc = rc ? rc : s_emit_end(em, true);
    if (rc != 0)
        return rc;
    if (!yaml_document_end_event_initialize(&ev, 1) || !yaml_emitter_emit(em, &ev))
        return EC_EIO;
    if (!yaml_stream_end_event_initialize(&ev) || !yaml_emitter_emit(em, &ev))
        return EC_EIO;
    return yaml_emitter_flush(em) ? 0 : EC_EIO;
}

/* fsyncs the folder holding path, so a rename or link into it survives a crash. */
static void s_sync_dir(const char *path)
{
    char dir[EC_PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Checks the fields a genesis must have before it is written (our callers' data). */
static int s_genesis_check(const ec_genesis_t *g, const char *path, ec_status_t *st)
{
    if (g->kind != EC_CHAIN_MAIN && g->kind != EC_CHAIN_SIDE)
        return ec_status_set(st, EC_EINVAL, "%s: genesis kind must be main or side", path);
    if (!g->chain_id[0] || strspn(g->chain_id, s_chain_id_chars) != strlen(g->chain_id))
        return ec_status_set(st, EC_EINVAL, "%s: bad chain id", path);
    if (g->validators.count < 1 || g->validators.count > EC_VALIDATORS_MAX ||
        g->operator_count > EC_OPERATORS_MAX)
        return ec_status_set(st, EC_EINVAL, "%s: bad validator or operator count", path);
    if (g->kind == EC_CHAIN_MAIN &&
        (g->operator_quorum < 1 || g->operator_quorum > g->operator_count))
        return ec_status_set(st, EC_EINVAL, "%s: the operator quorum must be 1..%u", path,
                             g->operator_count);
    if (g->kind == EC_CHAIN_SIDE &&
        (!g->cert_type[0] || strspn(g->cert_type, s_cert_type_chars) != strlen(g->cert_type) ||
         !g->main_chain_id[0] ||
         strspn(g->main_chain_id, s_chain_id_chars) != strlen(g->main_chain_id) ||
         g->main_validators.count < 1 || g->main_validators.count > EC_VALIDATORS_MAX ||
         g->main_freshness_ms < EC_MAIN_FRESHNESS_MS_MIN))
        return ec_status_set(st, EC_EINVAL, "%s: incomplete side-chain genesis", path);
    return 0;
}

int ec_genesis_save(const ec_genesis_t *g, const char *path, ec_status_t *st)
{
    assert(g && path);
    int rc = s_genesis_check(g, path, st);
    if (rc != 0)
        return rc;
    if (access(path, F_OK) == 0)
        return ec_status_set(st, EC_EEXIST, "%s: already exists (not overwritten)", path);
    char tmp[EC_PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
        return ec_status_set(st, EC_EIO, "%s: path too long", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return ec_status_set(st, EC_EIO, "%s: cannot create a temporary file: %s", path,
                             strerror(errno));
    (void)fchmod(fd, 0644);
    FILE *f = fdopen(fd, "wb");
    yaml_emitter_t em;
    bool em_live = false;
    rc = EC_EIO;
    if (f && yaml_emitter_initialize(&em)) {
        em_live = true;
        yaml_emitter_set_output_file(&em, f);
        yaml_emitter_set_unicode(&em, 1);
        rc = s_emit_genesis(&em, g);
    }
    if (em_live)
        yaml_emitter_delete(&em);
    if (rc == 0 && (fflush(f) != 0 || fsync(fileno(f)) != 0))
        rc = EC_EIO;
    if (f ? fclose(f) != 0 : close(fd) != 0)
        rc = EC_EIO;
    /* link() refuses to replace an existing file, so a racing writer cannot be clobbered;
     * the file appears complete or not at all. */
    if (rc == 0 && link(tmp, path) != 0)
        rc = errno == EEXIST ? EC_EEXIST : EC_EIO;
    int saved = errno;
    unlink(tmp);
    if (rc == EC_EEXIST)
        return ec_status_set(st, rc, "%s: already exists (not overwritten)", path);
    if (rc != 0)
        return ec_status_set(st, rc, "%s: cannot write: %s", path, strerror(saved));
    s_sync_dir(path);
    return 0;
}

/* ---- passphrases ------------------------------------------------------------------------ */

/* Buffer for a passphrase: the text, an optional CR LF, one byte to detect longer files
 * and the NUL. */
#define S_PASSPHRASE_BUF (EC_PASSPHRASE_MAX + 4)

/* Reads the passphrase file into p (S_PASSPHRASE_BUF bytes), NUL-terminated; refuses a file
 * that group or others may read or write. */
static int s_passphrase_file(char *p, const char *file, ec_status_t *st)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ec_status_set(st, errno == ENOENT ? EC_ENOTFOUND : EC_EIO, "passphrase file %s: %s",
                             file, strerror(errno));
    int rc = ec_file_private_check(fd, file, "passphrase file", st);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    size_t n = 0;
    while (n < S_PASSPHRASE_BUF - 1) {
        ssize_t r = read(fd, p + n, S_PASSPHRASE_BUF - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            return ec_status_set(st, EC_EIO, "passphrase file %s: %s", file, strerror(e));
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    p[n] = '\0';
    if (n > EC_PASSPHRASE_MAX + 2)
        return ec_status_set(st, EC_ECONFIG, "passphrase file %s: longer than %d bytes", file,
                             EC_PASSPHRASE_MAX);
    /* One trailing newline (LF or CR LF) is how editors end a line; strip exactly one. */
    if (n > 0 && p[n - 1] == '\n') {
        p[--n] = '\0';
        if (n > 0 && p[n - 1] == '\r')
            p[--n] = '\0';
    }
    if (n > EC_PASSPHRASE_MAX)
        return ec_status_set(st, EC_ECONFIG, "passphrase file %s: longer than %d bytes", file,
                             EC_PASSPHRASE_MAX);
    if (strlen(p) != n || strchr(p, '\n'))
        return ec_status_set(st, EC_ECONFIG,
                             "passphrase file %s: expected one line of text (no NUL bytes)", file);
    if (n == 0)
        return ec_status_set(st, EC_ECONFIG, "passphrase file %s: empty passphrase", file);
    return 0;
}

char *ec_passphrase_read(const char *file, ec_status_t *st)
{
    if (ec_crypto_init() != 0) {
        ec_status_set(st, EC_EINTERNAL, "cannot initialise libsodium");
        return NULL;
    }
    char *p = sodium_malloc(S_PASSPHRASE_BUF);
    if (!p) {
        ec_status_set(st, EC_ENOMEM, "out of memory for the passphrase");
        return NULL;
    }
    int rc = 0;
    if (file && file[0]) {
        rc = s_passphrase_file(p, file, st);
    } else {
        const char *env = getenv("ECERT_PASSPHRASE");
        size_t len = env ? strlen(env) : 0;
        if (!env)
            rc = ec_status_set(st, EC_ECONFIG,
                               "no passphrase: set passphrase_file or ECERT_PASSPHRASE");
        else if (len == 0)
            rc = ec_status_set(st, EC_ECONFIG, "ECERT_PASSPHRASE is empty");
        else if (len > EC_PASSPHRASE_MAX)
            rc = ec_status_set(st, EC_ECONFIG, "ECERT_PASSPHRASE is longer than %d bytes",
                               EC_PASSPHRASE_MAX);
        else
            memcpy(p, env, len + 1);
    }
    if (rc != 0) {
        sodium_free(p); /* wipes before freeing */
        return NULL;
    }
    return p;
}

void ec_passphrase_free(char **p)
{
    assert(p);
    if (*p) {
        sodium_free(*p); /* sodium_free zeroes the whole allocation */
        *p = NULL;
    }
}
