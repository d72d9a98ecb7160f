/*
 * ar_config.c - loads anchord's YAML configuration (format in ar_config.h). Strict: every
 * unknown key, wrong type or out-of-range number is an error that names the file, the
 * key and, where known, the line.
 */
#include "ar_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec_log.h"

typedef struct {
    const char *name; /* file name for messages                                            */
    const char *dir;  /* folder relative paths start from                                   */
    ec_status_t *st;
} s_ctx_t;

static int s_bad(const s_ctx_t *c, const ec_yaml_node_t *n, const char *key, const char *what)
{
    return ec_yaml_expected(n, c->name, key, what, c->st);
}

/* ec_yaml_keys_check for this file. */
static int s_keys(const s_ctx_t *c, const ec_yaml_node_t *map, const char *where,
                  const char *const *allowed)
{
    return ec_yaml_keys_check(map, c->name, where, allowed, c->st);
}

static int s_text(const s_ctx_t *c, const ec_yaml_node_t *map, const char *key, bool required,
                  const char *what, const char **out)
{
    return ec_yaml_text(map, c->name, key, required, what, out, c->st);
}

/* One endpoint scalar n (the relay connects: a port is required, "*" is not one). */
static int s_endpoint_one(const s_ctx_t *c, const ec_yaml_node_t *n, const char *key,
                          char out[EC_ENDPOINT_MAX])
{
    static const char what[] = "an endpoint like tcp://127.0.0.1:7100, or a list of them";
    const char *s = ec_yaml_scalar(n);
    if (!s || !s[0] || strlen(s) >= EC_ENDPOINT_MAX || !ec_config_endpoint_valid(s, false))
        return s_bad(c, n, key, what);
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

/* `key`: one endpoint or a list of 1..AR_ENDPOINTS_MAX; *count is 0 when absent. */
static int s_endpoints(const s_ctx_t *c, const ec_yaml_node_t *map, const char *key, bool required,
                       char out[][EC_ENDPOINT_MAX], uint32_t *count)
{
    const ec_yaml_node_t *n = ec_yaml_get(map, key);
    *count = 0;
    if (!n)
        return required ? ec_status_set(c->st, EC_ECONFIG, "%s: missing key '%s' (%s)", c->name,
                                        key, "an endpoint like tcp://127.0.0.1:7100")
                        : 0;
    if (!ec_yaml_is_seq(n)) {
        int rc = s_endpoint_one(c, n, key, out[0]);
        *count = rc == 0 ? 1 : 0;
        return rc;
    }
    if (ec_yaml_count(n) < 1 || ec_yaml_count(n) > AR_ENDPOINTS_MAX)
        return s_bad(c, n, key, "a list of 1 to 8 endpoints");
    for (size_t i = 0; i < ec_yaml_count(n); i++) {
        int rc = s_endpoint_one(c, ec_yaml_item(n, i), key, out[i]);
        if (rc)
            return rc;
    }
    *count = (uint32_t)ec_yaml_count(n);
    return 0;
}

/* {rpc, pub} under `where` ("main" or "sides[i]"). */
static int s_chain(const s_ctx_t *c, const ec_yaml_node_t *n, const char *where, ar_endpoint_t *ep)
{
    static const char *const keys[] = {"rpc", "pub", NULL};
    if (!ec_yaml_is_map(n))
        return ec_status_set(c->st, EC_ECONFIG, "%s:%u: '%s': expected {rpc: ..., pub: ...}",
                             c->name, ec_yaml_line(n), where);
    int rc = s_keys(c, n, where, keys);
    if (rc == 0)
        rc = s_endpoints(c, n, "rpc", true, ep->rpc, &ep->rpc_count);
    if (rc == 0)
        rc = s_endpoints(c, n, "pub", false, ep->pub, &ep->pub_count);
    return rc;
}

static int s_path(const s_ctx_t *c, const ec_yaml_node_t *map, const char *key, bool required,
                  char out[EC_PATH_MAX])
{
    return ec_yaml_path(map, c->name, c->dir, key, required, out, c->st);
}

static int s_fields(const s_ctx_t *c, const ec_yaml_node_t *root, ar_config_t *cfg)
{
    static const char *const keys[] = {"main",        "sides",     "key",     "passphrase_file",
                                       "interval_ms", "log_level", "metrics", NULL};
    if (!ec_yaml_is_map(root))
        return ec_status_set(c->st, EC_ECONFIG, "%s: expected a mapping of keys to values",
                             c->name);
    int rc = s_keys(c, root, "", keys);
    if (rc)
        return rc;
    const ec_yaml_node_t *main = ec_yaml_get(root, "main");
    if (!main)
        return ec_status_set(c->st, EC_ECONFIG, "%s: missing key 'main' ({rpc, pub})", c->name);
    if ((rc = s_chain(c, main, "main", &cfg->main)) != 0)
        return rc;
    const ec_yaml_node_t *sides = ec_yaml_get(root, "sides");
    if (sides && !ec_yaml_is_seq(sides))
        return s_bad(c, sides, "sides", "a list of {rpc, pub}");
    if (sides && ec_yaml_count(sides) > AR_SIDES_MAX)
        return s_bad(c, sides, "sides", "at most 64 side chains");
    for (size_t i = 0; sides && i < ec_yaml_count(sides); i++) {
        char where[32];
        snprintf(where, sizeof where, "sides[%zu]", i);
        if ((rc = s_chain(c, ec_yaml_item(sides, i), where, &cfg->sides[i])) != 0)
            return rc;
        cfg->side_count = (uint32_t)i + 1;
    }
    if ((rc = s_path(c, root, "key", true, cfg->key_path)) != 0 ||
        (rc = s_path(c, root, "passphrase_file", false, cfg->passphrase_file)) != 0)
        return rc;
    const char *s = NULL;
    if ((rc = s_text(c, root, "interval_ms", false, "an integer", &s)) != 0)
        return rc;
    if (s) {
        char *end = NULL;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (s[0] < '0' || s[0] > '9' || *end || errno || v < AR_INTERVAL_MS_MIN ||
            v > AR_INTERVAL_MS_MAX)
            return s_bad(c, ec_yaml_get(root, "interval_ms"), "interval_ms",
                         "an integer from 10 to 600000");
        cfg->interval_ms = (uint32_t)v;
    }
    if ((rc = s_text(c, root, "log_level", false, "debug, info, warn or error", &s)) != 0)
        return rc;
    if (s && (cfg->log_level = ec_log_level_parse(s)) < 0)
        return s_bad(c, ec_yaml_get(root, "log_level"), "log_level", "debug, info, warn or error");
    return ec_yaml_metrics(root, c->name, cfg->metrics, c->st);
}

int ar_config_parse(ar_config_t *cfg, const char *text, size_t size, const char *name,
                    const char *dir, ec_status_t *st)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->interval_ms = AR_INTERVAL_MS_DEFAULT;
    cfg->log_level = EC_LOG_INFO;
    ec_status_t local;
    if (!st)
        st = &local;
    ec_status_clear(st);
    ec_yaml_t *doc = ec_yaml_parse(text, size, st);
    if (!doc) {
        char why[sizeof st->msg];
        memcpy(why, st->msg, sizeof why);
        return ec_status_set(st, EC_ECONFIG, "%s: %s", name, why);
    }
    s_ctx_t c = {.name = name, .dir = dir, .st = st};
    int rc = s_fields(&c, ec_yaml_root(doc), cfg);
    ec_yaml_destroy(&doc);
    return rc;
}

int ar_config_load(ar_config_t *cfg, const char *path, ec_status_t *st)
{
    memset(cfg, 0, sizeof *cfg);
    FILE *f = fopen(path, "rb");
    if (!f)
        return ec_status_set(st, errno == ENOENT ? EC_ECONFIG : EC_EIO, "%s: cannot open: %s", path,
                             strerror(errno));
    char *text = malloc(1024 * 1024);
    size_t n = text ? fread(text, 1, 1024 * 1024, f) : 0;
    bool too_big = text && n == 1024 * 1024;
    bool failed = ferror(f) != 0;
    fclose(f);
    if (!text)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    if (too_big || failed) {
        free(text);
        return ec_status_set(st, too_big ? EC_ECONFIG : EC_EIO, "%s: %s", path,
                             too_big ? "larger than 1 MiB" : "read error");
    }
    /* Relative paths start at the config file's folder, made absolute. */
    char dir[EC_PATH_MAX];
    int rc = ec_config_dir(dir, path, st);
    if (rc == 0)
        rc = ar_config_parse(cfg, text, n, path, dir, st);
    free(text);
    return rc;
}
