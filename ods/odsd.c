/*
 * odsd.c - the operational data store daemon (docs/SHARING.md): one per agency front-end,
 * it keeps the agency's shared files encrypted at rest and serves each one only to a
 * requester the share chain has granted it to. Wire protocol and file format:
 * common/ec_ods.h; the store's layout: ods_store.h; how a grant is checked: ods_grant.h.
 *
 *   odsd --config FILE | --help | --version
 *
 * Configuration (YAML; relative paths are relative to the config file's folder; every
 * unknown key is an error):
 *
 *   listen: tcp://127.0.0.1:7400   # the ROUTER endpoint (required)
 *   dir: ./ods                     # the store folder (required; made with mode 0700)
 *   key_file: ./ods.key            # odsd's own encrypted Ed25519 key (required): content
 *                                  # keys are sealed to it
 *   passphrase_file: ./ods.pass    # optional; else the ECERT_PASSPHRASE variable
 *   client_config: ./client.yaml   # an ecert client config (required): the share chain
 *                                  # and the main genesis the grants are checked against
 *   share_type: share              # optional, default share: the share chain's type
 *   registry: assets               # optional, default assets: the directory contract
 *   uploaders: [<64 hex>, ...]     # optional, default none: keys allowed to put
 *   grant_ttl_ms: 600000           # optional: a grant is good this long after its block
 *   grant_wait_ms: 15000           # optional: how long a get waits for the grant's proof
 *   log_level: info                # optional: debug, info, warn, error
 *   metrics: 127.0.0.1:7405        # optional: Prometheus metrics on http://ADDR/metrics
 *
 * Exit status: 0 after SIGINT/SIGTERM, 1 on a runtime failure (the store cannot be opened,
 * the endpoint cannot be bound), 2 on bad usage or configuration (including a key that
 * does not decrypt, or a client config without the share chain or the main genesis).
 *
 * One thread serves everything, one request at a time, in the order they arrive: the loop
 * polls the ROUTER (waking at least once a second to drop sessions idle for
 * EC_ODS_IDLE_MS), answers each request with one reply, and never holds more than one
 * chunk of file data (EC_ODS_CHUNK_MAX) at a time besides what ZeroMQ queues; its queues
 * are bounded by small high-water marks and a maximum message size, so memory does not
 * grow with a file's size. A get can wait for the chain (up to grant_wait_ms for the grant's
 * block to be anchored): the other clients wait with it.
 *
 * Decisions the protocol leaves open:
 *   - A put of a hash already stored streams and is verified as usual; at `end` the stored
 *     object and its key stay as they are and the reply is ok (uploads are idempotent).
 *   - A request frame above EC_ODS_MSG_MAX gets ["err", ETOOBIG, ...] up to
 *     EC_ODS_MSG_MAX + S_OVERSIZE_SLACK bytes; ZeroMQ itself cuts a peer that sends a larger
 *     one (ZMQ_MAXMSGSIZE), which keeps an oversized frame out of memory.
 *   - A download whose bytes no longer hash to the object's name ends with ["done", false];
 *     the object is moved to damaged/ (ods_store_quarantine) and an error naming it is
 *     logged, so no later get serves it until it is uploaded again.
 *   - Session numbers are random (1..2^53-1), so one client cannot guess another's.
 *
 * Secrets: odsd's key lives in sodium memory (ec_key_t); a content key is opened into a
 * sodium_malloc buffer only to seal it to the requester, then wiped. Logs name objects (by
 * hash), assets, versions, addresses and transactions, never a key or any content.
 */
#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "cl_commands.h"
#include "ec_config.h"
#include "ec_daemon.h"
#include "ec_contract.h"
#include "ec_crypto.h"
#include "ec_log.h"
#include "ec_metrics.h"
#include "ec_ods.h"
#include "ods_grant.h"
#include "ods_store.h"

#define S_UPLOADERS_MAX 64                   /* keys allowed to put                              */
#define S_POLL_MS 1000                       /* the loop wakes this often to expire sessions     */
#define S_BATCH 64                           /* requests served per poll before expiring         */
#define S_HWM 4                              /* messages queued per peer, each way               */
#define S_FRAMES_MAX 3                       /* frames of one request: routing id, [empty], body */
#define S_OVERSIZE_SLACK (64u * 1024)        /* bytes over EC_ODS_MSG_MAX still answered         */
#define S_CHAIN_TIMEOUT_MS 5000              /* one call to a chain node                         */
#define S_GRANT_WAIT_MS_DEFAULT 15000        /* a get waits this long for the grant's bundle     */
#define S_GRANT_WAIT_MS_MAX 120000           /* ... at most                                      */
#define S_GRANT_TTL_MS_MIN 1000              /* grant_ttl_ms accepted                            */
#define S_GRANT_TTL_MS_MAX 86400000          /* one day                                          */
#define S_SESSION_ID_MASK ((1ull << 53) - 1) /* ids stay exact in JSON and JavaScript      */
#define S_REPLY_HANDLED 1                    /* a handler built the reply frame itself           */

enum { S_EXIT_OK = 0, S_EXIT_RUNTIME = 1, S_EXIT_CONFIG = 2 };

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* ---- configuration -------------------------------------------------------------------------- */

typedef struct {
    char listen[EC_ENDPOINT_MAX];
    char dir[EC_PATH_MAX];
    char key_path[EC_PATH_MAX];
    char passphrase_file[EC_PATH_MAX]; /* "" when not set                                 */
    char client_config[EC_PATH_MAX];
    char share_type[EC_CERT_TYPE_MAX];
    char registry[EC_CONTRACT_NAME_MAX];
    uint32_t uploader_count;
    uint8_t uploaders[S_UPLOADERS_MAX][EC_PK_BYTES];
    uint64_t grant_ttl_ms;
    uint64_t grant_wait_ms;
    int log_level;
    char metrics[EC_METRICS_ADDR_MAX]; /* Prometheus address, "" for none             */
} s_config_t;

typedef struct {
    const char *name; /* the config file, for messages                                      */
    const char *dir;  /* its folder: relative paths start there                             */
    ec_status_t *st;
} s_cfgctx_t;

static int s_bad(const s_cfgctx_t *c, const ec_yaml_node_t *n, const char *key, const char *what)
{
    return ec_yaml_expected(n, c->name, key, what, c->st);
}

static int s_text(const s_cfgctx_t *c, const ec_yaml_node_t *map, const char *key, bool required,
                  const char *what, const char **out)
{
    return ec_yaml_text(map, c->name, key, required, what, out, c->st);
}

static int s_path(const s_cfgctx_t *c, const ec_yaml_node_t *map, const char *key, bool required,
                  char out[EC_PATH_MAX])
{
    return ec_yaml_path(map, c->name, c->dir, key, required, out, c->st);
}

/* An optional decimal integer in [min, max] (*out keeps its default when absent). */
static int s_uint(const s_cfgctx_t *c, const ec_yaml_node_t *map, const char *key, uint64_t min,
                  uint64_t max, uint64_t *out)
{
    char what[96];
    snprintf(what, sizeof what, "an integer from %llu to %llu", (unsigned long long)min,
             (unsigned long long)max);
    const char *s = NULL;
    int rc = s_text(c, map, key, false, what, &s);
    if (rc || !s)
        return rc;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end || errno || v < min || v > max)
        return s_bad(c, ec_yaml_get(map, key), key, what);
    *out = v;
    return 0;
}

/* An optional name into out (cap bytes), checked by valid(). */
static int s_name(const s_cfgctx_t *c, const ec_yaml_node_t *map, const char *key,
                  bool (*valid)(const char *), const char *what, char *out, size_t cap)
{
    const char *s = NULL;
    int rc = s_text(c, map, key, false, what, &s);
    if (rc || !s)
        return rc;
    if (strlen(s) >= cap || !valid(s))
        return s_bad(c, ec_yaml_get(map, key), key, what);
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

/* `uploaders`: a list of 0..S_UPLOADERS_MAX Ed25519 public keys in hex. */
static int s_uploaders(const s_cfgctx_t *c, const ec_yaml_node_t *map, s_config_t *cfg)
{
    static const char what[] = "a list of at most 64 Ed25519 public keys (64 hex digits each)";
    const ec_yaml_node_t *n = ec_yaml_get(map, "uploaders");
    if (!n)
        return 0;
    if (!ec_yaml_is_seq(n) || ec_yaml_count(n) > S_UPLOADERS_MAX)
        return s_bad(c, n, "uploaders", what);
    for (size_t i = 0; i < ec_yaml_count(n); i++) {
        const ec_yaml_node_t *item = ec_yaml_item(n, i);
        const char *s = ec_yaml_scalar(item);
        uint8_t curve[EC_CURVE_KEY_BYTES];
        /* A key that is no curve point can sign nothing: a typo, refused now. */
        if (!s || ec_unhex(cfg->uploaders[i], EC_PK_BYTES, s) != 0 ||
            ec_curve_pk(curve, cfg->uploaders[i]) != 0)
            return s_bad(c, item, "uploaders", what);
        cfg->uploader_count = (uint32_t)i + 1;
    }
    return 0;
}

static int s_fields(const s_cfgctx_t *c, const ec_yaml_node_t *root, s_config_t *cfg)
{
    static const char *const keys[] = {
        "listen",     "dir",      "key_file",  "passphrase_file", "client_config",
        "share_type", "registry", "uploaders", "grant_ttl_ms",    "grant_wait_ms",
        "log_level",  "metrics",  NULL};
    if (!ec_yaml_is_map(root))
        return ec_status_set(c->st, EC_ECONFIG, "%s: expected a mapping of keys to values",
                             c->name);
    int rc = ec_yaml_keys_check(root, c->name, "", keys, c->st);
    const char *s = NULL;
    if (rc == 0)
        rc = s_text(c, root, "listen", true, "an endpoint like tcp://127.0.0.1:7400", &s);
    if (rc == 0 && (strlen(s) >= EC_ENDPOINT_MAX || !ec_config_endpoint_valid(s, true)))
        rc = s_bad(c, ec_yaml_get(root, "listen"), "listen",
                   "an endpoint like tcp://127.0.0.1:7400");
    if (rc == 0)
        memcpy(cfg->listen, s, strlen(s) + 1);
    if (rc == 0)
        rc = s_path(c, root, "dir", true, cfg->dir);
    if (rc == 0)
        rc = s_path(c, root, "key_file", true, cfg->key_path);
    if (rc == 0)
        rc = s_path(c, root, "passphrase_file", false, cfg->passphrase_file);
    if (rc == 0)
        rc = s_path(c, root, "client_config", true, cfg->client_config);
    if (rc == 0)
        rc = s_name(c, root, "share_type", ec_cert_type_valid,
                    "a certificate type (1..31 of a-z 0-9 _ -)", cfg->share_type,
                    sizeof cfg->share_type);
    if (rc == 0)
        rc = s_name(c, root, "registry", ec_contract_name_valid,
                    "a contract name (1..63 of a-z 0-9 _ -)", cfg->registry, sizeof cfg->registry);
    if (rc == 0)
        rc = s_uploaders(c, root, cfg);
    if (rc == 0)
        rc = s_uint(c, root, "grant_ttl_ms", S_GRANT_TTL_MS_MIN, S_GRANT_TTL_MS_MAX,
                    &cfg->grant_ttl_ms);
    if (rc == 0)
        rc = s_uint(c, root, "grant_wait_ms", 0, S_GRANT_WAIT_MS_MAX, &cfg->grant_wait_ms);
    if (rc == 0)
        rc = s_text(c, root, "log_level", false, "debug, info, warn or error", &s);
    if (rc == 0 && s && (cfg->log_level = ec_log_level_parse(s)) < 0)
        rc = s_bad(c, ec_yaml_get(root, "log_level"), "log_level", "debug, info, warn or error");
    if (rc == 0)
        rc = ec_yaml_metrics(root, c->name, cfg->metrics, c->st);
    return rc;
}

/* Loads the config file at path into cfg. 0, or EC_ECONFIG / EC_EIO with st set. */
static int s_config_load(s_config_t *cfg, const char *path, ec_status_t *st)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->share_type, sizeof cfg->share_type, "share");
    snprintf(cfg->registry, sizeof cfg->registry, "assets");
    cfg->grant_ttl_ms = EC_ODS_GRANT_TTL_MS_DEFAULT;
    cfg->grant_wait_ms = S_GRANT_WAIT_MS_DEFAULT;
    cfg->log_level = EC_LOG_INFO;
    char dir[EC_PATH_MAX];
    int rc = ec_config_dir(dir, path, st);
    if (rc)
        return rc;
    ec_yaml_t *doc = ec_yaml_load(path, st);
    if (!doc)
        return st->code ? st->code : EC_ECONFIG;
    s_cfgctx_t c = {.name = path, .dir = dir, .st = st};
    rc = s_fields(&c, ec_yaml_root(doc), cfg);
    ec_yaml_destroy(&doc);
    return rc;
}

/* ---- sessions ------------------------------------------------------------------------------- */

typedef enum { S_FREE = 0, S_PUT, S_GET } s_kind_t;

/* An upload or a download in progress. */
typedef struct {
    s_kind_t kind;
    uint64_t id;                   /* random, 1..S_SESSION_ID_MASK, unique among open    */
    uint64_t last_ms;              /* monotonic time of its last request                  */
    ods_put_t *put;                /* S_PUT                                               */
    ods_get_t *get;                /* S_GET                                               */
    uint8_t digest[EC_HASH_BYTES]; /* the object                                          */
    char who[EC_ADDR_MAX];         /* the uploader's or the requester's address           */
    char asset[ODS_ASSET_ID_MAX];  /* S_GET: the asset and version granted                */
    uint64_t version;
} s_session_t;

/* Requests as ecert_ods_requests_total{request} names them: the protocol's seven, then
 * whatever could not be read as one. */
static const char *const s_request_names[] = {"put",  "chunk", "end",  "get",
                                              "read", "has",   "ping", "invalid"};
#define S_REQUESTS (sizeof s_request_names / sizeof s_request_names[0])
#define S_CODES_MAX 32 /* -EC_E* codes counted (0: ok)                                  */

/* odsd's Prometheus series (docs/OPERATIONS.md, "Metrics and alerts"); the loop's thread
 * writes them, a scrape reads them. */
typedef struct {
    ec_metrics_t *reg;
    ec_metric_t *requests[S_REQUESTS][S_CODES_MAX]; /* by request and result, on first use */
    ec_metric_t *served;                            /* file bytes sent in "data" replies    */
    ec_metric_t *received;                          /* request bytes taken                  */
    ec_metric_t *downloads[2];                      /* finished downloads: damaged, intact  */
    ec_metric_t *sessions[2];                       /* open sessions: put, get              */
} s_metrics_t;

/* The daemon. */
typedef struct {
    const s_config_t *cfg;
    const ec_key_t *key;
    ods_store_t *store;
    cl_ctx_t *cl; /* the client library's context: chains and the main genesis             */
    ods_grant_opts_t grant;
    void *zctx, *sock;
    s_session_t sessions[EC_ODS_SESSIONS_MAX];
    ec_decoder_t dec; /* parses one request at a time                                      */
    ec_writer_t out;  /* builds one reply at a time (its capacity is kept)                  */
    size_t request;   /* the request being answered (index of s_request_names)             */
    s_metrics_t m;
} s_odsd_t;

static uint64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t s_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static s_session_t *s_session_find(s_odsd_t *d, uint64_t id, s_kind_t kind)
{
    for (size_t i = 0; id != 0 && i < EC_ODS_SESSIONS_MAX; i++)
        if (d->sessions[i].kind == kind && d->sessions[i].id == id)
            return &d->sessions[i];
    return NULL;
}

/* A free slot with a fresh id, or NULL when all EC_ODS_SESSIONS_MAX are in use. */
static s_session_t *s_session_new(s_odsd_t *d, s_kind_t kind)
{
    s_session_t *free_slot = NULL;
    for (size_t i = 0; !free_slot && i < EC_ODS_SESSIONS_MAX; i++)
        if (d->sessions[i].kind == S_FREE)
            free_slot = &d->sessions[i];
    if (!free_slot)
        return NULL;
    uint64_t id = 0;
    /* A collision among 64 open ids in 2^53 is all but impossible; the loop is bounded
     * anyway. */
    for (int tries = 0;
         tries < 16 && (id == 0 || s_session_find(d, id, S_PUT) || s_session_find(d, id, S_GET));
         tries++) {
        randombytes_buf(&id, sizeof id);
        id &= S_SESSION_ID_MASK;
    }
    if (id == 0)
        return NULL;
    memset(free_slot, 0, sizeof *free_slot);
    free_slot->kind = kind;
    free_slot->id = id;
    free_slot->last_ms = s_mono_ms();
    return free_slot;
}

static bool s_sessions_full(const s_odsd_t *d)
{
    for (size_t i = 0; i < EC_ODS_SESSIONS_MAX; i++)
        if (d->sessions[i].kind == S_FREE)
            return false;
    return true;
}

/* Ends a session: an unfinished upload's temporary file is removed. */
static void s_session_drop(s_session_t *s)
{
    ods_store_put_abort(&s->put);
    ods_store_get_close(&s->get);
    memset(s, 0, sizeof *s);
}

/* Drops the sessions that have been idle for EC_ODS_IDLE_MS. */
static void s_sessions_expire(s_odsd_t *d, uint64_t now_ms)
{
    for (size_t i = 0; i < EC_ODS_SESSIONS_MAX; i++) {
        s_session_t *s = &d->sessions[i];
        if (s->kind == S_FREE || now_ms - s->last_ms < EC_ODS_IDLE_MS)
            continue;
        char hex[2 * EC_HASH_BYTES + 1];
        ec_hex(hex, s->digest, EC_HASH_BYTES);
        ec_info("%s of object %s by %s idle for %u ms: dropped",
                s->kind == S_PUT ? "upload" : "download", hex, s->who, EC_ODS_IDLE_MS);
        s_session_drop(s);
    }
}

/* ---- requests ------------------------------------------------------------------------------- */

/* The size of an encrypted file of some plaintext size (ec_ods_cipher_size's image). */
static bool s_cipher_size_valid(uint64_t size)
{
    const uint64_t piece = EC_ODS_PLAIN_CHUNK + EC_ODS_STREAM_ABYTES;
    if (size < EC_ODS_STREAM_HEADER + EC_ODS_STREAM_ABYTES)
        return false;
    uint64_t rest = size - EC_ODS_STREAM_HEADER;
    /* Full chunks, then the final one of ABYTES plus 0..PLAIN_CHUNK-1 plaintext bytes. */
    uint64_t last = rest % piece;
    if (last < EC_ODS_STREAM_ABYTES)
        return false;
    uint64_t plain = rest / piece * EC_ODS_PLAIN_CHUNK + (last - EC_ODS_STREAM_ABYTES);
    return ec_ods_cipher_size(plain) == size;
}

static bool s_uploader_listed(const s_config_t *cfg, const uint8_t pk[EC_PK_BYTES])
{
    for (uint32_t i = 0; i < cfg->uploader_count; i++)
        if (sodium_memcmp(cfg->uploaders[i], pk, EC_PK_BYTES) == 0)
            return true;
    return false;
}

/* Whether a sealed content key opens with odsd's key (the opened key is wiped). */
static int s_key_opens(const s_odsd_t *d, const uint8_t sealed[EC_ODS_SEALED_KEY_BYTES],
                       ec_status_t *st)
{
    uint8_t *ckey = sodium_malloc(EC_ODS_KEY_BYTES);
    if (!ckey)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    int rc = ec_unseal(ckey, sealed, EC_ODS_SEALED_KEY_BYTES, d->key);
    sodium_free(ckey); /* wipes it */
    return rc == 0 ? 0
                   : ec_status_set(st, EC_ECRYPTO,
                                   "put: the content key is not sealed to this ODS's key "
                                   "(ping gives the key)");
}

/* ["put", digest, size, sealed_key, time_ms, uploader, sig] -> ["ok", session] */
static int s_do_put(s_odsd_t *d, ec_cur_t *c, ec_status_t *st)
{
    uint8_t sha[EC_HASH_BYTES], sealed[EC_ODS_SEALED_KEY_BYTES], uploader[EC_PK_BYTES],
        sig[EC_SIG_BYTES];
    uint64_t size = 0, time_ms = 0;
    ec_cur_bin_fixed(c, sha, sizeof sha);
    ec_cur_uint(c, &size);
    ec_cur_bin_fixed(c, sealed, sizeof sealed);
    ec_cur_uint(c, &time_ms);
    ec_cur_bin_fixed(c, uploader, sizeof uploader);
    ec_cur_bin_fixed(c, sig, sizeof sig);
    if (ec_cur_finish(c) != 0)
        return ec_status_set(st, EC_EINVAL,
                             "put: expected [\"put\", digest: bin32, size: uint, sealed_key: "
                             "bin80, time_ms: uint, uploader: bin32, sig: bin64]");
    char who[EC_ADDR_MAX];
    ec_address_from_pk(who, uploader);
    if (!s_uploader_listed(d->cfg, uploader))
        return ec_status_set(st, EC_EPERM, "put: %s is not an uploader of this ODS", who);
    ec_writer_t m;
    ec_writer_init(&m);
    ec_ods_put_message(&m, sha, size, sealed, time_ms);
    bool signed_ok = ec_verify(sig, ec_writer_data(&m), ec_writer_size(&m), uploader);
    ec_writer_fini(&m);
    if (!signed_ok)
        return ec_status_set(st, EC_ESIG, "put: the signature of %s does not verify", who);
    uint64_t now = s_wall_ms(), off = now > time_ms ? now - time_ms : time_ms - now;
    if (off > EC_ODS_SKEW_MS)
        return ec_status_set(st, EC_ESTALE,
                             "put: its time is %llu ms off this ODS's clock (at most %u)",
                             (unsigned long long)off, EC_ODS_SKEW_MS);
    if (size > EC_ODS_FILE_BYTES_MAX)
        return ec_status_set(st, EC_ETOOBIG, "put: %llu bytes; a stored file has at most %llu",
                             (unsigned long long)size, (unsigned long long)EC_ODS_FILE_BYTES_MAX);
    if (!s_cipher_size_valid(size))
        return ec_status_set(st, EC_EINVAL,
                             "put: %llu bytes is not the size of an encrypted file (ec_ods.h)",
                             (unsigned long long)size);
    int rc = s_key_opens(d, sealed, st);
    if (rc)
        return rc;
    s_session_t *s = s_session_new(d, S_PUT);
    if (!s)
        return ec_status_set(st, EC_EBUSY, "put: all %d sessions are in use; retry later",
                             EC_ODS_SESSIONS_MAX);
    if ((rc = ods_store_put_begin(d->store, &s->put, sha, size, sealed, st)) != 0) {
        s_session_drop(s);
        return rc;
    }
    memcpy(s->digest, sha, EC_HASH_BYTES);
    memcpy(s->who, who, sizeof s->who);
    ec_write_array(&d->out, 2);
    ec_write_cstr(&d->out, "ok");
    ec_write_uint(&d->out, s->id);
    return 0;
}

/* An unknown session, for messages. */
static int s_no_session(ec_status_t *st, const char *what, uint64_t id)
{
    return ec_status_set(st, EC_ENOTFOUND,
                         "%s: no session %llu (unknown, ended, or idle for more than %u ms)", what,
                         (unsigned long long)id, EC_ODS_IDLE_MS);
}

/* ["chunk", session, offset, data] -> ["ok", received] */
static int s_do_chunk(s_odsd_t *d, ec_cur_t *c, ec_status_t *st)
{
    uint64_t id = 0, offset = 0;
    const uint8_t *data = NULL;
    size_t size = 0;
    ec_cur_uint(c, &id);
    ec_cur_uint(c, &offset);
    ec_cur_bin(c, &data, &size, EC_ODS_CHUNK_MAX);
    int rc = ec_cur_finish(c);
    if (rc)
        return ec_status_set(st, rc,
                             "chunk: expected [\"chunk\", session: uint, offset: uint, data: "
                             "bin of at most %u bytes]",
                             EC_ODS_CHUNK_MAX);
    s_session_t *s = s_session_find(d, id, S_PUT);
    if (!s)
        return s_no_session(st, "chunk", id);
    s->last_ms = s_mono_ms();
    if ((rc = ods_store_put_write(s->put, offset, data, size, st)) != 0) {
        if (rc == EC_EIO) {
            /* The local fault spoils this upload (the file is half written): end it. */
            ec_error("upload by %s: %s", s->who, st->msg);
            s_session_drop(s);
        }
        return rc;
    }
    ec_write_array(&d->out, 2);
    ec_write_cstr(&d->out, "ok");
    ec_write_uint(&d->out, ods_store_put_received(s->put));
    return 0;
}

/* ["end", session] -> ["ok", digest] */
static int s_do_end(s_odsd_t *d, ec_cur_t *c, ec_status_t *st)
{
    uint64_t id = 0;
    ec_cur_uint(c, &id);
    if (ec_cur_finish(c) != 0)
        return ec_status_set(st, EC_EINVAL, "end: expected [\"end\", session: uint]");
    s_session_t *s = s_session_find(d, id, S_PUT);
    if (!s)
        return s_no_session(st, "end", id);
    char hex[2 * EC_HASH_BYTES + 1];
    ec_hex(hex, s->digest, EC_HASH_BYTES);
    uint64_t size = ods_store_put_received(s->put);
    bool already = false;
    int rc = ods_store_put_end(&s->put, &already, st);
    if (rc)
        ec_warn("put of object %s by %s refused: %s", hex, s->who, st->msg);
    else
        ec_info("put of object %s (%llu bytes) by %s: %s", hex, (unsigned long long)size, s->who,
                already ? "already stored" : "stored");
    uint8_t sha[EC_HASH_BYTES];
    memcpy(sha, s->digest, sizeof sha);
    s_session_drop(s);
    if (rc)
        return rc;
    ec_write_array(&d->out, 2);
    ec_write_cstr(&d->out, "ok");
    ec_write_bin(&d->out, sha, sizeof sha);
    return 0;
}

/* (e): the granted version's object and key are stored here, with the chain's size. */
static int s_grant_stored(s_odsd_t *d, const ods_grant_t *g, ec_status_t *st)
{
    char hex[2 * EC_HASH_BYTES + 1];
    ec_hex(hex, g->digest, EC_HASH_BYTES);
    uint64_t size = 0, want = ec_ods_cipher_size(g->plain_size);
    int rc = ods_store_has(d->store, g->digest, &size);
    if (rc == EC_ENOTFOUND && ods_store_is_damaged(d->store, g->digest))
        return ec_status_set(st, EC_ENOTFOUND,
                             "store: object %s (asset %s version %llu) was found damaged here "
                             "and set aside: the owner must upload it again",
                             hex, g->asset, (unsigned long long)g->version);
    if (rc)
        return ec_status_set(st, rc, "store: object %s (asset %s version %llu) is %s", hex,
                             g->asset, (unsigned long long)g->version,
                             rc == EC_ENOTFOUND ? "not stored in this ODS" : "unreadable");
    if (size != want) {
        /* The name is the hash, so the bytes are the published ones unless damaged; or the
         * publisher declared another size. Either way the client would refuse it. */
        ec_error("object %s has %llu bytes, but version %llu of asset %s says %llu encrypted "
                 "bytes (damaged, or a wrong size published)",
                 hex, (unsigned long long)size, (unsigned long long)g->version, g->asset,
                 (unsigned long long)want);
        return ec_status_set(st, EC_EPROOF,
                             "store: object %s has %llu bytes, the chain's version %llu bytes", hex,
                             (unsigned long long)size, (unsigned long long)want);
    }
    return 0;
}

/* The content key of object digest, opened with odsd's key and sealed to `to`. */
static int s_key_reseal(s_odsd_t *d, const uint8_t digest[EC_HASH_BYTES],
                        const uint8_t to[EC_PK_BYTES], uint8_t out[EC_ODS_SEALED_KEY_BYTES],
                        ec_status_t *st)
{
    uint8_t sealed[EC_ODS_SEALED_KEY_BYTES];
    int rc = ods_store_key(d->store, digest, sealed);
    if (rc)
        return ec_status_set(st, rc, "store: the object's key file is %s",
                             rc == EC_ENOTFOUND ? "missing" : "unreadable");
    uint8_t *ckey = sodium_malloc(EC_ODS_KEY_BYTES);
    if (!ckey)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    if (ec_unseal(ckey, sealed, sizeof sealed, d->key) != 0)
        rc = ec_status_set(st, EC_ECRYPTO,
                           "store: the object's key does not open with this "
                           "ODS's key");
    else if (ec_seal(out, ckey, EC_ODS_KEY_BYTES, to) != 0)
        rc = ec_status_set(st, EC_EINVAL, "get: cannot seal to the requester's key");
    sodium_free(ckey); /* wipes it */
    return rc;
}

/* ["get", grant_tx] -> ["meta", session, size, digest, sealed_key] */
static int s_do_get(s_odsd_t *d, ec_cur_t *c, ec_status_t *st)
{
    uint8_t tx[EC_HASH_BYTES];
    ec_cur_bin_fixed(c, tx, sizeof tx);
    if (ec_cur_finish(c) != 0)
        return ec_status_set(st, EC_EINVAL, "get: expected [\"get\", grant_tx: bin32]");
    /* Before the chain is asked (seconds): a full table would refuse anyway. */
    if (s_sessions_full(d))
        return ec_status_set(st, EC_EBUSY, "get: all %d sessions are in use; retry later",
                             EC_ODS_SESSIONS_MAX);
    char txhex[2 * EC_HASH_BYTES + 1], hex[2 * EC_HASH_BYTES + 1], who[EC_ADDR_MAX];
    ec_hex(txhex, tx, sizeof tx);
    ods_grant_t g;
    int rc = ods_grant_check(d->cl, &d->grant, tx, s_wall_ms(), &g, st);
    if (rc == 0)
        rc = s_grant_stored(d, &g, st);
    uint8_t sealed[EC_ODS_SEALED_KEY_BYTES];
    if (rc == 0)
        rc = s_key_reseal(d, g.digest, g.requester, sealed, st);
    s_session_t *s = rc == 0 ? s_session_new(d, S_GET) : NULL;
    if (rc == 0 && !s)
        rc = ec_status_set(st, EC_EBUSY, "get: no session free; retry later");
    uint64_t size = 0;
    if (rc == 0 && (rc = ods_store_get_open(d->store, &s->get, &size, g.digest, st)) != 0)
        s_session_drop(s);
    if (rc) {
        ec_warn("get refused (grant %s): %s", txhex, st->msg);
        return rc;
    }
    ec_hex(hex, g.digest, EC_HASH_BYTES);
    ec_address_from_pk(who, g.requester);
    memcpy(s->digest, g.digest, EC_HASH_BYTES);
    memcpy(s->who, who, sizeof s->who);
    memcpy(s->asset, g.asset, sizeof s->asset);
    s->version = g.version;
    ec_info("get of asset %s version %llu (object %s, %llu bytes) by %s: granted by %s (tx %s, "
            "share block %llu, main block %llu)",
            g.asset, (unsigned long long)g.version, hex, (unsigned long long)size, who, g.acl,
            txhex, (unsigned long long)g.side_height, (unsigned long long)g.main_height);
    ec_write_array(&d->out, 5);
    ec_write_cstr(&d->out, "meta");
    ec_write_uint(&d->out, s->id);
    ec_write_uint(&d->out, size);
    ec_write_bin(&d->out, g.digest, EC_HASH_BYTES);
    ec_write_bin(&d->out, sealed, sizeof sealed);
    return 0;
}

/* The last read: ["done", intact]; a damaged object is set aside. Ends the session. */
static int s_read_done(s_odsd_t *d, s_session_t *s)
{
    bool intact = false;
    int rc = ods_store_get_finish(s->get, &intact);
    assert(rc == 0); /* the caller saw offset == size */
    (void)rc;
    char hex[2 * EC_HASH_BYTES + 1];
    ec_hex(hex, s->digest, EC_HASH_BYTES);
    if (!intact) {
        int q = ods_store_quarantine(d->store, s->digest);
        ec_error("object %s (asset %s version %llu) is damaged: its bytes no longer hash to "
                 "its name; %s",
                 hex, s->asset, (unsigned long long)s->version,
                 q == 0 ? "moved to damaged/, upload it again" : "could not be moved aside");
    } else
        ec_debug("download of object %s by %s complete", hex, s->who);
    s_session_drop(s);
    ec_metrics_inc(d->m.downloads[intact ? 1 : 0]);
    ec_write_array(&d->out, 2);
    ec_write_cstr(&d->out, "done");
    ec_write_bool(&d->out, intact);
    return 0;
}

/* ["read", session, offset] -> ["data", offset, bytes] built straight into *reply (the
 * file is read into the frame that is sent: no other copy), or ["done", intact]. */
static int s_do_read(s_odsd_t *d, ec_cur_t *c, zmq_msg_t *reply, ec_status_t *st)
{
    uint64_t id = 0, offset = 0;
    ec_cur_uint(c, &id);
    ec_cur_uint(c, &offset);
    if (ec_cur_finish(c) != 0)
        return ec_status_set(st, EC_EINVAL,
                             "read: expected [\"read\", session: uint, offset: "
                             "uint]");
    s_session_t *s = s_session_find(d, id, S_GET);
    if (!s)
        return s_no_session(st, "read", id);
    s->last_ms = s_mono_ms();
    uint64_t size = ods_store_get_size(s->get), at = ods_store_get_offset(s->get);
    if (offset == size && at == size)
        return s_read_done(d, s);
    if (offset != at)
        return ec_status_set(st, EC_EINVAL, "read: offset %llu, expected %llu (in order)",
                             (unsigned long long)offset, (unsigned long long)at);
    size_t n = size - at < EC_ODS_CHUNK_MAX ? (size_t)(size - at) : EC_ODS_CHUNK_MAX;
    ec_write_array(&d->out, 3);
    ec_write_cstr(&d->out, "data");
    ec_write_uint(&d->out, offset);
    /* The bin header alone; the bytes follow from the file. The writer aborts rather than
     * fail to grow, as every ec_write_* does. */
    (void)msgpack_pack_bin(&d->out.pk, n);
    size_t head = ec_writer_size(&d->out);
    if (zmq_msg_init_size(reply, head + n) != 0)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    uint8_t *frame = zmq_msg_data(reply);
    memcpy(frame, ec_writer_data(&d->out), head);
    size_t got = 0;
    int rc = ods_store_get_read(s->get, offset, frame + head, n, &got, st);
    if (rc == 0 && got != n)
        rc = ec_status_set(st, EC_EINTERNAL, "read: %zu bytes of %zu", got, n);
    if (rc) {
        char hex[2 * EC_HASH_BYTES + 1];
        ec_hex(hex, s->digest, EC_HASH_BYTES);
        ec_error("download of object %s (asset %s version %llu) by %s: %s", hex, s->asset,
                 (unsigned long long)s->version, s->who, st->msg);
        s_session_drop(s);
        zmq_msg_close(reply);
        return rc;
    }
    ec_metrics_add(d->m.served, n);
    return S_REPLY_HANDLED;
}

/* ["has", digest] -> ["ok", size] */
static int s_do_has(s_odsd_t *d, ec_cur_t *c, ec_status_t *st)
{
    uint8_t sha[EC_HASH_BYTES];
    ec_cur_bin_fixed(c, sha, sizeof sha);
    if (ec_cur_finish(c) != 0)
        return ec_status_set(st, EC_EINVAL, "has: expected [\"has\", digest: bin32]");
    uint64_t size = 0;
    int rc = ods_store_has(d->store, sha, &size);
    if (rc) {
        char hex[2 * EC_HASH_BYTES + 1];
        ec_hex(hex, sha, sizeof sha);
        return ec_status_set(st, rc, "has: object %s is %s", hex,
                             rc == EC_ENOTFOUND ? "not stored here" : "unreadable");
    }
    ec_write_array(&d->out, 2);
    ec_write_cstr(&d->out, "ok");
    ec_write_uint(&d->out, size);
    return 0;
}

/* ["ping"] -> ["pong", pk] */
static int s_do_ping(s_odsd_t *d, ec_cur_t *c, ec_status_t *st)
{
    if (ec_cur_finish(c) != 0)
        return ec_status_set(st, EC_EINVAL, "ping: expected [\"ping\"]");
    ec_write_array(&d->out, 2);
    ec_write_cstr(&d->out, "pong");
    ec_write_bin(&d->out, ec_key_pk(d->key), EC_PK_BYTES);
    return 0;
}

/* One request frame: decoded, dispatched by its name, answered in d->out or in *reply
 * (S_REPLY_HANDLED). 0, S_REPLY_HANDLED, or an EC_E* code with st set. */
static int s_dispatch(s_odsd_t *d, const uint8_t *data, size_t size, zmq_msg_t *reply,
                      ec_status_t *st)
{
    static const struct {
        const char *name;
        uint32_t fields; /* with the name                                             */
    } kinds[] = {{"put", 7},  {"chunk", 4}, {"end", 2}, {"get", 2},
                 {"read", 3}, {"has", 2},   {"ping", 1}};
    if (size > EC_ODS_MSG_MAX)
        return ec_status_set(st, EC_ETOOBIG, "a request of %zu bytes; at most %u", size,
                             EC_ODS_MSG_MAX);
    const msgpack_object *root = NULL;
    int rc = ec_decode(&d->dec, data, size, &root);
    if (rc)
        return ec_status_set(st, rc, "a request is one canonical msgpack array (%s)",
                             ec_errname(rc));
    if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size == 0 ||
        root->via.array.ptr[0].type != MSGPACK_OBJECT_STR)
        return ec_status_set(st, EC_EINVAL, "a request is an array that starts with its name");
    const msgpack_object_str *name = &root->via.array.ptr[0].via.str;
    size_t k = 0;
    while (k < sizeof kinds / sizeof kinds[0] &&
           (strlen(kinds[k].name) != name->size || memcmp(kinds[k].name, name->ptr, name->size)))
        k++;
    if (k == sizeof kinds / sizeof kinds[0])
        return ec_status_set(st, EC_EMETHOD,
                             "unknown request (put, chunk, end, get, read, has, ping)");
    if (root->via.array.size != kinds[k].fields)
        return ec_status_set(st, EC_EINVAL, "%s: %u fields, expected %u", kinds[k].name,
                             (unsigned)root->via.array.size, kinds[k].fields);
    d->request = k;
    ec_cur_t c;
    ec_cur_open(&c, root, kinds[k].fields);
    const char *skip = NULL;
    size_t skip_len = 0;
    ec_cur_str(&c, &skip, &skip_len, 8);
    switch (k) {
        case 0:
            return s_do_put(d, &c, st);
        case 1:
            return s_do_chunk(d, &c, st);
        case 2:
            return s_do_end(d, &c, st);
        case 3:
            return s_do_get(d, &c, st);
        case 4:
            return s_do_read(d, &c, reply, st);
        case 5:
            return s_do_has(d, &c, st);
        default:
            return s_do_ping(d, &c, st);
    }
}

/* Counts a request by kind and result (rc: 0, S_REPLY_HANDLED or an EC_E* code). The
 * series of a pair is registered when it first happens. */
static void s_count(s_odsd_t *d, int rc, size_t size)
{
    s_metrics_t *m = &d->m;
    if (!m->reg)
        return;
    ec_metrics_add(m->received, size);
    int code = rc == S_REPLY_HANDLED ? 0 : rc;
    if (code > 0 || -code >= S_CODES_MAX)
        code = EC_EINTERNAL;
    ec_metric_t **slot = &m->requests[d->request][-code];
    if (!*slot)
        *slot = ec_metrics_counter(m->reg, "ecert_ods_requests_total",
                                   "Requests answered, by request and result (ok or the error).",
                                   "request", s_request_names[d->request], "result",
                                   code == 0 ? "ok" : ec_errname(code), NULL);
    ec_metrics_inc(*slot);
}

/* Answers one request frame into *reply (initialised here). */
static void s_answer(s_odsd_t *d, const uint8_t *data, size_t size, zmq_msg_t *reply)
{
    ec_status_t st;
    ec_status_clear(&st);
    ec_writer_reset(&d->out);
    d->request = S_REQUESTS - 1; /* "invalid" until the dispatch knows better */
    int rc = s_dispatch(d, data, size, reply, &st);
    s_count(d, rc, size);
    ec_decoder_fini(&d->dec); /* the parse points into the request frame, closed next */
    if (rc == S_REPLY_HANDLED)
        return;
    if (rc != 0) {
        ec_writer_reset(&d->out);
        ec_write_array(&d->out, 3);
        ec_write_cstr(&d->out, "err");
        ec_write_int(&d->out, rc);
        ec_write_cstr(&d->out, st.msg[0] ? st.msg : ec_strerror(rc));
        ec_debug("request refused: %s", st.msg[0] ? st.msg : ec_strerror(rc));
    }
    size_t n = ec_writer_size(&d->out);
    if (zmq_msg_init_size(reply, n) != 0) {
        zmq_msg_init(reply); /* an empty frame: the client sees a garbled reply */
        return;
    }
    memcpy(zmq_msg_data(reply), ec_writer_data(&d->out), n);
}

/* ---- the loop ------------------------------------------------------------------------------- */

/* An err reply for a request that was not one frame, into *reply. */
static void s_answer_envelope(s_odsd_t *d, zmq_msg_t *reply)
{
    static const char msg[] = "a request is one frame (from a DEALER, or a REQ)";
    ec_writer_reset(&d->out);
    ec_write_array(&d->out, 3);
    ec_write_cstr(&d->out, "err");
    ec_write_int(&d->out, EC_EINVAL);
    ec_write_cstr(&d->out, msg);
    size_t n = ec_writer_size(&d->out);
    if (zmq_msg_init_size(reply, n) != 0)
        zmq_msg_init(reply);
    else
        memcpy(zmq_msg_data(reply), ec_writer_data(&d->out), n);
}

/*
 * Receives one request (routing id, an optional empty delimiter from a REQ peer, one body
 * frame), answers it and sends the reply on the same route. Returns 1 when one was served
 * (or dropped), 0 when none was waiting, -1 when the socket failed.
 */
static int s_serve_one(s_odsd_t *d)
{
    zmq_msg_t frames[S_FRAMES_MAX];
    size_t count = 0;
    bool more = true, extra = false, broken = false;
    int rc = 1;
    /* ZeroMQ delivers the frames of a message together: none of them blocks. */
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, d->sock, ZMQ_DONTWAIT) < 0) {
            int e = zmq_errno();
            zmq_msg_close(&m);
            if (count == 0)
                rc = e == EAGAIN || e == EINTR ? 0 : -1;
            broken = true;
            break;
        }
        more = zmq_msg_more(&m);
        if (count < S_FRAMES_MAX)
            frames[count++] = m;
        else {
            zmq_msg_close(&m); /* more frames than a request has: drained, refused below */
            extra = true;
        }
    }
    if (!broken && count >= 2) {
        /* A DEALER sends [body]; a REQ sends [empty, body]. Anything else is refused. */
        bool req_style = count == 3 && zmq_msg_size(&frames[1]) == 0;
        zmq_msg_t *body = &frames[count - 1];
        zmq_msg_t reply;
        if ((count == 2 || req_style) && !extra)
            s_answer(d, zmq_msg_data(body), zmq_msg_size(body), &reply);
        else
            s_answer_envelope(d, &reply);
        /* ZeroMQ learns that a peer's queue drained from commands it processes lazily (on
         * a send, at most once a millisecond); requests that arrive faster than that would
         * find a queue of S_HWM replies that the peer has long read "full". Reading
         * ZMQ_EVENTS processes them now. */
        uint32_t events = 0;
        size_t events_size = sizeof events;
        if (zmq_getsockopt(d->sock, ZMQ_EVENTS, &events, &events_size) != 0)
            ec_debug("ZMQ_EVENTS: %s", zmq_strerror(zmq_errno())); /* the send will say */
        /* The route: the routing id, then the REQ delimiter when there was one. */
        bool sent =
            zmq_msg_send(&frames[0], d->sock, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
            (!req_style || zmq_msg_send(&frames[1], d->sock, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0) &&
            zmq_msg_send(&reply, d->sock, ZMQ_DONTWAIT) >= 0;
        if (!sent) {
            /* Gone, or its queue is full (S_HWM): the reply is dropped, the client's own
             * timeout tells it. */
            ec_debug("a reply was dropped: %s", zmq_strerror(zmq_errno()));
            zmq_msg_close(&reply);
        }
    }
    for (size_t i = 0; i < count; i++)
        zmq_msg_close(&frames[i]); /* closing a sent message is harmless */
    return rc;
}

/* Publishes the open sessions by kind. O(EC_ODS_SESSIONS_MAX) per turn of the loop. */
static void s_sessions_count(s_odsd_t *d)
{
    unsigned put = 0, get = 0;
    for (size_t i = 0; i < EC_ODS_SESSIONS_MAX; i++) {
        put += d->sessions[i].kind == S_PUT;
        get += d->sessions[i].kind == S_GET;
    }
    ec_metrics_set(d->m.sessions[0], put);
    ec_metrics_set(d->m.sessions[1], get);
}

/* Registers odsd's series and serves them when the config names an address. 0, or an
 * exit status with the reason logged. */
static int s_metrics_start(s_odsd_t *d)
{
    s_metrics_t *m = &d->m;
    m->reg = ec_metrics_new();
    if (!m->reg || ec_metrics_add_process(m->reg, d->cfg->dir, NULL) != 0) {
        ec_error("out of memory");
        return S_EXIT_RUNTIME;
    }
    m->served = ec_metrics_counter(m->reg, "ecert_ods_served_bytes_total",
                                   "File bytes sent to requesters (encrypted, as stored).", NULL);
    m->received = ec_metrics_counter(m->reg, "ecert_ods_received_bytes_total",
                                     "Request bytes received (uploads' chunks included).", NULL);
    static const char dl_help[] = "Downloads finished, by whether the bytes still hashed to "
                                  "the object's name (damaged ones are set aside).";
    m->downloads[0] =
        ec_metrics_counter(m->reg, "ecert_ods_downloads_total", dl_help, "result", "damaged", NULL);
    m->downloads[1] =
        ec_metrics_counter(m->reg, "ecert_ods_downloads_total", dl_help, "result", "intact", NULL);
    static const char ses_help[] = "Open upload (put) and download (get) sessions.";
    m->sessions[0] = ec_metrics_gauge(m->reg, "ecert_ods_sessions", ses_help, "kind", "put", NULL);
    m->sessions[1] = ec_metrics_gauge(m->reg, "ecert_ods_sessions", ses_help, "kind", "get", NULL);
    if (!d->cfg->metrics[0])
        return 0;
    int rc = ec_metrics_serve(m->reg, d->cfg->metrics);
    if (rc != 0) {
        ec_error("metrics: cannot serve on %s: %s", d->cfg->metrics, ec_strerror(rc));
        return S_EXIT_RUNTIME;
    }
    return 0;
}

static int s_run(s_odsd_t *d)
{
    zmq_pollitem_t it = {d->sock, 0, ZMQ_POLLIN, 0};
    while (!s_stop) {
        int n = zmq_poll(&it, 1, S_POLL_MS);
        if (n < 0 && zmq_errno() == EINTR)
            continue;
        if (n < 0) {
            ec_error("poll: %s", zmq_strerror(zmq_errno()));
            return EC_EIO;
        }
        for (int i = 0; n > 0 && i < S_BATCH && !s_stop; i++) {
            int rc = s_serve_one(d);
            if (rc < 0) {
                ec_error("receive: %s", zmq_strerror(zmq_errno()));
                return EC_EIO;
            }
            if (rc == 0)
                break;
        }
        s_sessions_expire(d, s_mono_ms());
        s_sessions_count(d);
    }
    return 0;
}

/* Binds the ROUTER with its bounds. 0, or an exit status with the reason logged. */
static int s_bind(s_odsd_t *d)
{
    int hwm = S_HWM, linger = 0, mandatory = 1;
    int64_t max = (int64_t)EC_ODS_MSG_MAX + S_OVERSIZE_SLACK;
    d->zctx = zmq_ctx_new();
    d->sock = d->zctx ? zmq_socket(d->zctx, ZMQ_ROUTER) : NULL;
    if (!d->sock || zmq_setsockopt(d->sock, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(d->sock, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(d->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(d->sock, ZMQ_MAXMSGSIZE, &max, sizeof max) != 0 ||
        zmq_setsockopt(d->sock, ZMQ_ROUTER_MANDATORY, &mandatory, sizeof mandatory) != 0) {
        ec_error("cannot make the ROUTER socket: %s", zmq_strerror(zmq_errno()));
        return S_EXIT_RUNTIME;
    }
    if (zmq_bind(d->sock, d->cfg->listen) != 0) {
        int e = zmq_errno();
        ec_error("cannot listen on %s: %s", d->cfg->listen, zmq_strerror(e));
        return e == EADDRINUSE || e == EADDRNOTAVAIL ? S_EXIT_RUNTIME : S_EXIT_CONFIG;
    }
    return 0;
}

static void s_close(s_odsd_t *d)
{
    if (d->m.reg)
        ec_metrics_stop(d->m.reg); /* before what a scrape reads goes away */
    for (size_t i = 0; i < EC_ODS_SESSIONS_MAX; i++)
        if (d->sessions[i].kind != S_FREE)
            s_session_drop(&d->sessions[i]);
    if (d->sock)
        zmq_close(d->sock);
    if (d->zctx)
        zmq_ctx_term(d->zctx);
    d->sock = d->zctx = NULL;
    ods_store_destroy(&d->store);
    ec_decoder_fini(&d->dec);
    ec_writer_fini(&d->out);
    ec_metrics_destroy(&d->m.reg);
}

/* ---- main ----------------------------------------------------------------------------------- */

static void s_usage(FILE *out)
{
    fprintf(out,
            "Usage: odsd --config FILE\n"
            "       odsd --help | --version\n"
            "\n"
            "The operational data store: keeps an agency's shared files encrypted at rest by\n"
            "content hash, takes uploads from its listed uploaders, and serves a file only to\n"
            "a requester whose grant (a CONTRACT_CALL of the asset's access contract that the\n"
            "share chain applied, proven against the main genesis, and fresh) it checks on\n"
            "the chain, with the content key sealed to that requester. Protocol: ZeroMQ\n"
            "ROUTER, common/ec_ods.h. Runs until SIGINT or SIGTERM.\n"
            "\n"
            "Configuration (YAML; relative paths are relative to the config file):\n"
            "  listen:           the ROUTER endpoint, e.g. tcp://127.0.0.1:7400\n"
            "  dir:              the store folder (made with mode 0700 when missing)\n"
            "  key_file:         odsd's encrypted Ed25519 key; content keys are sealed to it\n"
            "  passphrase_file:  optional; else the ECERT_PASSPHRASE environment variable\n"
            "  client_config:    an ecert client config: the share chain and main.genesis\n"
            "  share_type:       optional, default share: the share chain's type\n"
            "  registry:         optional, default assets: the directory contract's name\n"
            "  uploaders:        optional list of 64-hex Ed25519 public keys allowed to put\n"
            "  grant_ttl_ms:     optional, default %u: a grant's life after its block\n"
            "  grant_wait_ms:    optional, default %u: how long a get waits for the\n"
            "                    grant's block to be anchored (its proof)\n"
            "  log_level:        optional: debug, info (default), warn, error\n"
            "  metrics:          optional: Prometheus metrics address, e.g. 127.0.0.1:7405\n"
            "\n"
            "Store layout under dir:\n"
            "  objects/<h2>/<h64>  an encrypted file, named by the BLAKE2b-256 of its bytes (hex;\n"
            "                      h2: its first two digits)\n"
            "  keys/<h64>          its content key sealed to odsd's key (80 bytes)\n"
            "  tmp/                uploads in progress (emptied at start-up)\n"
            "  damaged/<h64>       objects found damaged while served (no longer served)\n"
            "\n"
            "Unknown keys are errors. Exit status: 0 after a clean stop, 1 on a runtime\n"
            "failure, 2 on bad usage or configuration.\n",
            EC_ODS_GRANT_TTL_MS_DEFAULT, S_GRANT_WAIT_MS_DEFAULT);
}

static int s_load_key(const s_config_t *cfg, ec_key_t **key)
{
    ec_status_t st;
    ec_status_clear(&st);
    if (ec_daemon_key_load(cfg->key_path, cfg->passphrase_file, key, &st) != 0) {
        ec_error("cannot load odsd's key: %s", st.msg);
        return S_EXIT_CONFIG;
    }
    return 0;
}

/* Sets up the client context on the client config and checks, before serving, that it
 * names the share chain and a main genesis for the main chain it names. 0 or exit 2. */
static int s_chain_setup(cl_ctx_t *cl, const s_config_t *cfg, const char **share_id)
{
    cl->config_path = cfg->client_config;
    cl->json = true; /* the library prints nothing of its own then */
    cl->timeout_ms = S_CHAIN_TIMEOUT_MS;
    cl->timeout_set = true;
    cl->command = "odsd";
    cl_chain_t *share = cl_side(cl, cfg->share_type);
    ec_genesis_t *g = malloc(sizeof *g);
    int rc = share && g ? cl_main_genesis(cl, NULL, g) : 1;
    if (rc == 0 && strcmp(g->chain_id, cl->cfg.main.chain_id) != 0)
        rc = cl_fail(cl, EC_ECONFIG, "main.genesis is for %s but main.chain_id is %s", g->chain_id,
                     cl->cfg.main.chain_id);
    free(g);
    if (rc) {
        ec_error("client config %s: %s", cfg->client_config,
                 cl->err_msg[0] ? cl->err_msg : "out of memory");
        return S_EXIT_CONFIG;
    }
    *share_id = share->chain_id;
    return 0;
}

int main(int argc, char **argv)
{
    static cl_ctx_t cl; /* large (paths): static rather than on the stack */
    static s_config_t cfg;
    static s_odsd_t d;
    const char *config = NULL;
    int rc = ec_daemon_simple_options(argc, argv, "odsd", s_usage, &config);
    if (rc >= 0)
        return rc;
    ec_log_init("odsd", EC_LOG_INFO);
    if (ec_crypto_init() != 0) {
        ec_error("libsodium failed to initialise");
        return S_EXIT_RUNTIME;
    }
    ec_status_t st;
    ec_status_clear(&st);
    if (s_config_load(&cfg, config, &st) != 0) {
        ec_error("%s", st.msg);
        return S_EXIT_CONFIG;
    }
    ec_log_init("odsd", cfg.log_level);
    const char *share_id = NULL;
    if ((rc = s_chain_setup(&cl, &cfg, &share_id)) != 0)
        return rc;
    ec_key_t *key = NULL;
    if ((rc = s_load_key(&cfg, &key)) != 0) {
        cl_disconnect_all(&cl);
        return rc;
    }
    d.cfg = &cfg;
    d.key = key;
    d.cl = &cl;
    d.grant = (ods_grant_opts_t){.share_type = cfg.share_type,
                                 .registry = cfg.registry,
                                 .ttl_ms = cfg.grant_ttl_ms,
                                 .wait_ms = cfg.grant_wait_ms};
    ec_decoder_init(&d.dec);
    ec_writer_init(&d.out);
    if (!(d.store = ods_store_open(cfg.dir, &st))) {
        ec_error("cannot open the store: %s", st.msg);
        rc = S_EXIT_RUNTIME;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (rc == 0)
        rc = s_bind(&d);
    if (rc == 0)
        rc = s_metrics_start(&d);
    if (rc == 0) {
        char addr[EC_ADDR_MAX];
        ec_address_from_pk(addr, ec_key_pk(key));
        ec_info("odsd %s listening on %s: store %s, %u uploader(s), grants from %s (%s)", addr,
                cfg.listen, cfg.dir, cfg.uploader_count, share_id, cfg.registry);
        rc = s_run(&d) == 0 ? S_EXIT_OK : S_EXIT_RUNTIME;
        ec_info("stopped");
    }
    s_close(&d);
    cl_disconnect_all(&cl);
    ec_key_destroy(&key);
    return rc;
}
