/*
 * ecert_bench.c - ecert-bench, the benchmark driver (issue "Performance"; method and
 * results in docs/PERFORMANCE.md).
 *
 * It drives a running network described by a devnet folder (client.yaml, the operator key,
 * the passphrase, pid files, data folders): it prepares accounts, roles and attested
 * holders through the real chains (so the side chain's mirror is fed by the real relay),
 * then prepares every request of the measured phase (signed, payloads sealed to their
 * holders) before the clock starts, and sends them with bench_drive(). While issuing it
 * samples the anchoring lag: how long until a committed certificate's block is anchored in
 * the main chain, i.e. verifiable against it.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <dirent.h>
#include <getopt.h>
#include <limits.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "bench.h"
#include "ec_body.h"
#include "ec_bundle.h"
#include "ec_chain.h"
#include "ec_config.h"
#include "ec_crypto.h"
#include "ec_evidence.h"
#include "ec_rpc.h"
#include "ec_slist.h"
#include "ec_types.h"

#define S_HOLDERS 64
#define S_SIGNERS_MAX 256
#define S_PROCS_MAX 64
#define S_RPCS_BYTES 1024 /* a chain's rpc endpoints, comma-separated                   */

typedef struct {
    /* options */
    char devnet[EC_PATH_MAX];
    char type[EC_CERT_TYPE_MAX];
    const char *workload;
    size_t count;
    double rate;
    uint32_t signers;
    uint32_t connections;
    uint32_t window;
    uint32_t payload_bytes;
    bool json;
    bool progress;
    const char *plot;
    bool resync; /* after the load: wipe one validator and time its catch-up            */
    bool connections_set;
    char gateway[256]; /* the gateway workloads' base URL ("" until found)                */
    /* network, from the devnet's client.yaml */
    /* rpc endpoints: the chain's validators, comma-separated (bench_drive spreads its
     * connections over them; single calls use the first) */
    char main_rpc[S_RPCS_BYTES];
    char main_chain_id[EC_CHAIN_ID_MAX];
    char side_rpc[S_RPCS_BYTES];
    char side_chain_id[EC_CHAIN_ID_MAX];
    char main_genesis[EC_PATH_MAX];
    /* keys made for this run (never written anywhere) */
    ec_key_t *operator_key;
    ec_key_t *ca;
    ec_key_t *signer[S_SIGNERS_MAX];
    ec_key_t *inspector[S_SIGNERS_MAX];
    ec_key_t *holder[S_HOLDERS];
    char org[EC_ORG_CODE_MAX];
} s_bench_t;

/* The first endpoint of a comma-separated list (for single calls). */
static const char *s_first(const char *list, char out[EC_ENDPOINT_MAX])
{
    size_t n = strcspn(list, ",");
    if (n >= EC_ENDPOINT_MAX)
        n = EC_ENDPOINT_MAX - 1;
    memcpy(out, list, n);
    out[n] = '\0';
    return out;
}

/* A daemon of the devnet, found through its pid file, sampled from /proc. */
typedef struct {
    char name[64];
    int pid;
    double cpu_start_s;
    double cpu_s;
    double peak_rss_mb;
} s_proc_t;

static void s_die(const char *fmt, const char *arg)
{
    fprintf(stderr, "ecert-bench: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(1);
}

/* ---- preparing requests -------------------------------------------------------------------- */

/* Encodes a submit request frame for an envelope and optional payload into tx. */
static void s_frame_submit(bench_tx_t *tx, uint64_t req_id, const uint8_t *env, size_t env_size,
                           const uint8_t *payload, size_t payload_size)
{
    ec_writer_t params, req;
    ec_writer_init(&params);
    ec_writer_init(&req);
    ec_write_array(&params, 2);
    ec_write_bin(&params, env, env_size);
    if (payload)
        ec_write_bin(&params, payload, payload_size);
    else
        ec_write_nil(&params);
    /* req_id 0 is reserved (docs/PROTOCOL.md): request i goes as i + 1. */
    ec_rpc_request_encode(&req, req_id + 1, "submit", ec_writer_data(&params),
                          ec_writer_size(&params));
    tx->frame = ec_writer_take(&req, &tx->frame_size);
    ec_writer_fini(&params);
    ec_writer_fini(&req);
}

/* Signs a transaction with a random nonce and frames it as request req_id. */
static void s_prepare(bench_tx_t *tx, uint64_t req_id, const char *chain_id, uint64_t type,
                      const ec_key_t *key, const ec_writer_t *body, const uint8_t *payload,
                      size_t payload_size, uint8_t id_out[EC_HASH_BYTES])
{
    uint8_t payload_hash[EC_HASH_BYTES];
    uint64_t nonce;
    randombytes_buf(&nonce, sizeof nonce);
    if (payload)
        ec_sha256(payload_hash, payload, payload_size);
    ec_writer_t env;
    ec_writer_init(&env);
    ec_tx_build(&env, id_out, chain_id, type, key, nonce, payload ? payload_hash : NULL,
                ec_writer_data(body), ec_writer_size(body));
    s_frame_submit(tx, req_id, ec_writer_data(&env), ec_writer_size(&env), payload, payload_size);
    ec_writer_fini(&env);
}

static void s_free_txs(bench_tx_t *txs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(txs[i].frame);
        free(txs[i].url);
    }
    free(txs);
}

/*
 * Sends prepared setup transactions and requires every one to commit (EC_EEXIST is fine:
 * a role granted by an earlier run). Exits with the node's message otherwise.
 */
static void s_run_setup(const char *what, const char *endpoint, bench_tx_t *txs, size_t n)
{
    bench_result_t res = {.workload = what};
    int rc = bench_drive(endpoint, txs, n, 2, 1000, 0, 30000, false, &res);
    if (rc != 0 || (res.failed > 0 && res.first_error != EC_EEXIST)) {
        fprintf(stderr,
                "ecert-bench: setup step '%s' failed: %llu of %zu refused, %llu unanswered%s%s%s\n",
                what, (unsigned long long)(res.failed - res.unanswered), n,
                (unsigned long long)res.unanswered, res.first_error ? " (first refusal: " : "",
                res.first_error ? res.first_error_msg : "", res.first_error ? ")" : "");
        exit(1);
    }
    s_free_txs(txs, n);
}

/* REGISTER an account for each key. */
static void s_setup_register(s_bench_t *b, ec_key_t **keys, size_t n, const char *prefix)
{
    bench_tx_t *txs = calloc(n, sizeof *txs);
    ec_writer_t body;
    ec_writer_init(&body);
    for (size_t i = 0; i < n; i++) {
        ec_register_body_t reg;
        snprintf(reg.name, sizeof reg.name, "%s-%zu", prefix, i);
        ec_writer_reset(&body);
        ec_register_body_encode(&body, &reg);
        s_prepare(&txs[i], i, b->main_chain_id, EC_MTX_REGISTER, keys[i], &body, NULL, 0, NULL);
    }
    ec_writer_fini(&body);
    s_run_setup("register accounts", b->main_rpc, txs, n);
}

/* The operator grants `role` for this run's certificate type and organization. */
static void s_setup_roles(s_bench_t *b, ec_key_t **keys, size_t n, uint32_t role)
{
    bench_tx_t *txs = calloc(n, sizeof *txs);
    ec_writer_t body;
    ec_writer_init(&body);
    for (size_t i = 0; i < n; i++) {
        ec_role_body_t rb = {.role = role};
        ec_address_from_pk(rb.address, ec_key_pk(keys[i]));
        if (role != EC_ROLE_CA) {
            snprintf(rb.cert_type, sizeof rb.cert_type, "%s", b->type);
            snprintf(rb.org_code, sizeof rb.org_code, "%s", b->org);
        }
        ec_writer_reset(&body);
        ec_role_body_encode(&body, &rb);
        s_prepare(&txs[i], i, b->main_chain_id, EC_MTX_ROLE_GRANT, b->operator_key, &body, NULL, 0,
                  NULL);
    }
    ec_writer_fini(&body);
    s_run_setup("grant roles", b->main_rpc, txs, n);
}

static void s_setup_attest(s_bench_t *b)
{
    bench_tx_t *txs = calloc(S_HOLDERS, sizeof *txs);
    ec_writer_t body;
    ec_writer_init(&body);
    for (size_t i = 0; i < S_HOLDERS; i++) {
        ec_attest_body_t at;
        randombytes_buf(at.identity_hash, sizeof at.identity_hash); /* a made-up person each */
        ec_address_from_pk(at.address, ec_key_pk(b->holder[i]));
        ec_writer_reset(&body);
        ec_attest_body_encode(&body, &at);
        s_prepare(&txs[i], i, b->main_chain_id, EC_MTX_ATTEST, b->ca, &body, NULL, 0, NULL);
    }
    ec_writer_fini(&body);
    s_run_setup("attest holders", b->main_rpc, txs, S_HOLDERS);
}

/* Polls the side chain's `role` query until pk shows `role` (or, role 0, is attested). */
static void s_wait_mirror(s_bench_t *b, const uint8_t pk[EC_PK_BYTES], uint32_t role)
{
    char first[EC_ENDPOINT_MAX];
    ec_rpc_t *rpc = ec_rpc_connect(s_first(b->side_rpc, first), 5000);
    uint64_t deadline = bench_now_ns() + 60ull * 1000000000u;
    while (bench_now_ns() < deadline) {
        ec_writer_t p;
        ec_writer_init(&p);
        ec_write_array(&p, 2);
        ec_write_cstr(&p, "role");
        ec_write_array(&p, 1);
        ec_write_bin(&p, pk, EC_PK_BYTES);
        ec_rpc_reply_t r = {0};
        ec_status_t st;
        int rc = ec_rpc_call(rpc, "query", ec_writer_data(&p), ec_writer_size(&p), &r, &st);
        ec_writer_fini(&p);
        bool found = false;
        if (rc == 0 && r.code == 0) {
            ec_cur_t c, roles;
            bool attested = false;
            ec_cur_open(&c, r.result, 2);
            ec_cur_enter_max(&c, &roles, 1024);
            for (uint32_t i = 0; i < roles.count && !roles.err; i++) {
                ec_cur_t one;
                uint64_t rl;
                ec_cur_enter(&roles, &one, 3);
                ec_cur_uint(&one, &rl);
                if (rl == role)
                    found = true;
                roles.pos = i + 1;
            }
            ec_cur_bool(&c, &attested);
            if (role == 0)
                found = attested;
        }
        if (rc == 0)
            ec_rpc_reply_fini(&r);
        if (found) {
            ec_rpc_destroy(&rpc);
            return;
        }
        usleep(100000);
    }
    ec_rpc_destroy(&rpc);
    s_die("the side chain's mirror did not receive the roles within 60 s (is anchord running?)%s",
          "");
}

/* Makes keys, accounts, the organization, roles and attested holders for this run. */
static void s_setup_actors(s_bench_t *b, bool inspectors)
{
    char suffix[17];
    uint8_t rnd[8];
    randombytes_buf(rnd, sizeof rnd);
    ec_hex(suffix, rnd, 4);
    snprintf(b->org, sizeof b->org, "BENCH-%s", suffix);

    b->ca = ec_key_generate();
    for (uint32_t i = 0; i < b->signers; i++) {
        b->signer[i] = ec_key_generate();
        b->inspector[i] = ec_key_generate();
    }
    for (uint32_t i = 0; i < S_HOLDERS; i++)
        b->holder[i] = ec_key_generate();

    s_setup_register(b, &b->ca, 1, "bench-ca");
    s_setup_register(b, b->signer, b->signers, "bench-issuer");
    if (inspectors)
        s_setup_register(b, b->inspector, b->signers, "bench-inspector");
    s_setup_register(b, b->holder, S_HOLDERS, "bench-holder");

    bench_tx_t *org = calloc(1, sizeof *org);
    ec_org_body_t ob = {.name = "Benchmark agency"};
    snprintf(ob.org_code, sizeof ob.org_code, "%s", b->org);
    ec_writer_t body;
    ec_writer_init(&body);
    ec_org_body_encode(&body, &ob);
    s_prepare(org, 0, b->main_chain_id, EC_MTX_ORG, b->operator_key, &body, NULL, 0, NULL);
    ec_writer_fini(&body);
    s_run_setup("register organization", b->main_rpc, org, 1);

    s_setup_roles(b, &b->ca, 1, EC_ROLE_CA);
    s_setup_roles(b, b->signer, b->signers, EC_ROLE_ISSUER);
    if (inspectors)
        s_setup_roles(b, b->inspector, b->signers, EC_ROLE_INSPECTOR);
    s_setup_attest(b);

    s_wait_mirror(b, ec_key_pk(b->signer[b->signers - 1]), EC_ROLE_ISSUER);
    if (inspectors)
        s_wait_mirror(b, ec_key_pk(b->inspector[b->signers - 1]), EC_ROLE_INSPECTOR);
    s_wait_mirror(b, ec_key_pk(b->holder[S_HOLDERS - 1]), 0);
}

/* Prepares n ISSUE requests: payloads of payload_bytes sealed to rotating holders. */
static bench_tx_t *s_prepare_issue(s_bench_t *b, size_t n, uint8_t (*ids)[EC_HASH_BYTES])
{
    bench_tx_t *txs = calloc(n, sizeof *txs);
    size_t plain_size =
        b->payload_bytes > EC_SEAL_OVERHEAD ? b->payload_bytes - EC_SEAL_OVERHEAD : 1;
    uint8_t *plain = malloc(plain_size);
    uint8_t *sealed = malloc(plain_size + EC_SEAL_OVERHEAD);
    ec_writer_t body;
    ec_writer_init(&body);
    ec_issue_body_t is = {.expires_ms = 0};
    snprintf(is.org_code, sizeof is.org_code, "%s", b->org);
    for (size_t i = 0; i < n; i++) {
        const ec_key_t *holder = b->holder[i % S_HOLDERS];
        ec_address_from_pk(is.holder, ec_key_pk(holder));
        randombytes_buf(plain, plain_size);
        randombytes_buf(is.fields_root, sizeof is.fields_root);
        if (ec_seal(sealed, plain, plain_size, ec_key_pk(holder)) != 0)
            s_die("sealing failed%s", "");
        ec_writer_reset(&body);
        ec_issue_body_encode(&body, &is);
        s_prepare(&txs[i], i, b->side_chain_id, EC_STX_ISSUE, b->signer[i % b->signers], &body,
                  sealed, plain_size + EC_SEAL_OVERHEAD, ids ? ids[i] : NULL);
    }
    ec_writer_fini(&body);
    free(plain);
    free(sealed);
    return txs;
}

/* Prepares n INSPECT requests over the given certificates. */
static bench_tx_t *s_prepare_inspect(s_bench_t *b, size_t n, uint8_t (*certs)[EC_HASH_BYTES],
                                     size_t cert_count)
{
    bench_tx_t *txs = calloc(n, sizeof *txs);
    ec_writer_t body;
    ec_writer_init(&body);
    static const char verdict[] = "checked at the counter: valid";
    ec_inspect_body_t in = {.verdict_len = sizeof verdict - 1};
    memcpy(in.verdict, verdict, sizeof verdict);
    snprintf(in.org_code, sizeof in.org_code, "%s", b->org);
    for (size_t i = 0; i < n; i++) {
        size_t c = i % cert_count;
        ec_address_from_pk(in.holder, ec_key_pk(b->holder[c % S_HOLDERS]));
        memcpy(in.cert_id, certs[c], EC_HASH_BYTES);
        ec_writer_reset(&body);
        ec_inspect_body_encode(&body, &in);
        s_prepare(&txs[i], i, b->side_chain_id, EC_STX_INSPECT, b->inspector[i % b->signers], &body,
                  NULL, 0, NULL);
    }
    ec_writer_fini(&body);
    return txs;
}

/* Prepares n `query cert` requests over the given certificates. */
static bench_tx_t *s_prepare_query(size_t n, uint8_t (*certs)[EC_HASH_BYTES], size_t cert_count)
{
    bench_tx_t *txs = calloc(n, sizeof *txs);
    ec_writer_t params, req;
    ec_writer_init(&params);
    ec_writer_init(&req);
    for (size_t i = 0; i < n; i++) {
        ec_writer_reset(&params);
        ec_write_array(&params, 2);
        ec_write_cstr(&params, "cert");
        ec_write_array(&params, 1);
        ec_write_bin(&params, certs[i % cert_count], EC_HASH_BYTES);
        ec_rpc_request_encode(&req, i + 1, "query", ec_writer_data(&params),
                              ec_writer_size(&params));
        txs[i].frame = ec_writer_take(&req, &txs[i].frame_size);
    }
    ec_writer_fini(&params);
    ec_writer_fini(&req);
    return txs;
}

/* Prepares n REGISTER requests, each from a fresh key (an account is its key). */
static bench_tx_t *s_prepare_register(s_bench_t *b, size_t n)
{
    bench_tx_t *txs = calloc(n, sizeof *txs);
    ec_writer_t body;
    ec_writer_init(&body);
    for (size_t i = 0; i < n; i++) {
        ec_register_body_t reg;
        snprintf(reg.name, sizeof reg.name, "citizen-%zu", i);
        ec_writer_reset(&body);
        ec_register_body_encode(&body, &reg);
        ec_key_t *k = ec_key_generate();
        s_prepare(&txs[i], i, b->main_chain_id, EC_MTX_REGISTER, k, &body, NULL, 0, NULL);
        ec_key_destroy(&k);
    }
    ec_writer_fini(&body);
    return txs;
}

/* ---- anchoring lag ------------------------------------------------------------------------- */

#define S_LAG_SAMPLES_MAX 4096

typedef struct {
    s_bench_t *b;
    volatile bool stop;
    size_t n;
    double lag_ms[S_LAG_SAMPLES_MAX];
} s_lag_t;

/* Height of a chain's tip via `status`, or 0 when it does not answer. */
static uint64_t s_tip(ec_rpc_t *rpc)
{
    ec_rpc_reply_t r = {0};
    ec_status_t st;
    uint8_t params[] = {0x90};
    if (ec_rpc_call(rpc, "status", params, sizeof params, &r, &st) != 0)
        return 0;
    uint64_t height = 0;
    if (r.code == 0 && r.result->type == MSGPACK_OBJECT_ARRAY && r.result->via.array.size > 3 &&
        r.result->via.array.ptr[3].type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        height = r.result->via.array.ptr[3].via.u64;
    ec_rpc_reply_fini(&r);
    return height;
}

/* True when the main chain has anchored the side chain at or above `height`. */
static bool s_anchored(ec_rpc_t *main_rpc, const char *chain_id, uint64_t height)
{
    ec_writer_t p;
    ec_writer_init(&p);
    ec_write_array(&p, 2);
    ec_write_cstr(&p, "anchor_of");
    ec_write_array(&p, 2);
    ec_write_cstr(&p, chain_id);
    ec_write_uint(&p, height);
    ec_rpc_reply_t r = {0};
    ec_status_t st;
    int rc = ec_rpc_call(main_rpc, "query", ec_writer_data(&p), ec_writer_size(&p), &r, &st);
    ec_writer_fini(&p);
    if (rc != 0)
        return false;
    bool ok = r.code == 0;
    ec_rpc_reply_fini(&r);
    return ok;
}

/*
 * Every time the side chain's tip moves, notes the new height and the time it was seen,
 * then polls the main chain until that height is anchored: the lag from commit to
 * "verifiable against the main chain". Polls every 20 ms, so each sample is late by at
 * most that much at its start.
 */
static void *s_lag_thread(void *arg)
{
    s_lag_t *lag = arg;
    char first[2][EC_ENDPOINT_MAX];
    ec_rpc_t *side = ec_rpc_connect(s_first(lag->b->side_rpc, first[0]), 2000);
    ec_rpc_t *main_rpc = ec_rpc_connect(s_first(lag->b->main_rpc, first[1]), 2000);
    uint64_t last = s_tip(side);
    while (!lag->stop && lag->n < S_LAG_SAMPLES_MAX) {
        uint64_t h = s_tip(side);
        if (h <= last) {
            usleep(20000);
            continue;
        }
        last = h;
        uint64_t seen = bench_now_ns();
        while (!s_anchored(main_rpc, lag->b->side_chain_id, h)) {
            if (bench_now_ns() - seen > 60ull * 1000000000u)
                break;
            usleep(20000);
        }
        lag->lag_ms[lag->n++] = (double)(bench_now_ns() - seen) / 1e6;
    }
    ec_rpc_destroy(&side);
    ec_rpc_destroy(&main_rpc);
    return NULL;
}

static int s_cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- the machine: daemons' CPU and memory, bytes on disk ----------------------------------- */

static double s_proc_cpu_s(int pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p)
        return 0;
    unsigned long utime = 0, stime = 0;
    /* fields after ')': state(3) ... utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return 0;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static double s_proc_peak_mb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    double mb = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long kb;
        if (sscanf(line, "VmHWM: %lu kB", &kb) == 1)
            mb = (double)kb / 1024.0;
    }
    fclose(f);
    return mb;
}

/* Finds the devnet's daemons through DIR/run/<name>.pid. Returns how many. */
static size_t s_procs_find(const char *devnet, s_proc_t *procs)
{
    char dir[EC_PATH_MAX + 8];
    snprintf(dir, sizeof dir, "%s/run", devnet);
    DIR *d = opendir(dir);
    size_t n = 0;
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < S_PROCS_MAX) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".pid") != 0 || len - 4 >= sizeof procs->name)
            continue;
        char path[EC_PATH_MAX + 300];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        int pid = 0;
        if (f) {
            if (fscanf(f, "%d", &pid) != 1)
                pid = 0;
            fclose(f);
        }
        if (pid <= 0 || kill(pid, 0) != 0)
            continue;
        memcpy(procs[n].name, e->d_name, len - 4);
        procs[n].name[len - 4] = '\0';
        procs[n].pid = pid;
        procs[n].cpu_start_s = s_proc_cpu_s(pid);
        n++;
    }
    closedir(d);
    return n;
}

static void s_procs_sample(s_proc_t *procs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        procs[i].cpu_s = s_proc_cpu_s(procs[i].pid) - procs[i].cpu_start_s;
        procs[i].peak_rss_mb = s_proc_peak_mb(procs[i].pid);
    }
}

/* Total bytes of the regular files below path (0 if it does not exist). */
static uint64_t s_du(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return 0;
    if (!S_ISDIR(sb.st_mode))
        return S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
    DIR *d = opendir(path);
    if (!d)
        return 0;
    uint64_t total = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char sub[PATH_MAX];
        if ((size_t)snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) < sizeof sub)
            total += s_du(sub);
    }
    closedir(d);
    return total;
}

/* ---- configuration ------------------------------------------------------------------------- */

/* `key` of map: one endpoint, or a list of them joined with commas. */
static void s_copy_endpoints(char *out, size_t cap, const ec_yaml_node_t *map, const char *key,
                             const char *where)
{
    const ec_yaml_node_t *n = ec_yaml_get(map, key);
    size_t count = ec_yaml_is_seq(n) ? ec_yaml_count(n) : 1, off = 0;
    for (size_t i = 0; i < count; i++) {
        const char *v = ec_yaml_scalar(ec_yaml_is_seq(n) ? ec_yaml_item(n, i) : n);
        int w = v ? snprintf(out + off, cap - off, "%s%s", i ? "," : "", v) : -1;
        if (w < 0 || (size_t)w >= cap - off) {
            fprintf(stderr, "ecert-bench: client config: missing or bad '%s' in %s\n", key, where);
            exit(2);
        }
        off += (size_t)w;
    }
}

static void s_copy_scalar(char *out, size_t cap, const ec_yaml_node_t *map, const char *key,
                          const char *where)
{
    const char *v = ec_yaml_scalar(ec_yaml_get(map, key));
    if (!v || strlen(v) >= cap) {
        fprintf(stderr, "ecert-bench: client config: missing or bad '%s' in %s\n", key, where);
        exit(2);
    }
    memcpy(out, v, strlen(v) + 1);
}

/* Reads DIR/client.yaml (written by scripts/devnet) and the operator key. */
static void s_load_network(s_bench_t *b)
{
    char path[EC_PATH_MAX + 32];
    ec_status_t st = {0};
    snprintf(path, sizeof path, "%s/client.yaml", b->devnet);
    ec_yaml_t *doc = ec_yaml_load(path, &st);
    if (!doc)
        s_die("%s", st.msg);
    const ec_yaml_node_t *root = ec_yaml_root(doc);
    const ec_yaml_node_t *main_node = ec_yaml_get(root, "main");
    const ec_yaml_node_t *sides = ec_yaml_get(root, "sides");
    const ec_yaml_node_t *side = sides ? ec_yaml_get(sides, b->type) : NULL;
    if (!main_node || !side) {
        fprintf(stderr, "ecert-bench: %s has no 'main' or no side chain '%s'\n", path, b->type);
        exit(2);
    }
    s_copy_endpoints(b->main_rpc, sizeof b->main_rpc, main_node, "rpc", "main");
    s_copy_scalar(b->main_chain_id, sizeof b->main_chain_id, main_node, "chain_id", "main");
    s_copy_scalar(b->main_genesis, sizeof b->main_genesis, main_node, "genesis", "main");
    s_copy_endpoints(b->side_rpc, sizeof b->side_rpc, side, "rpc", b->type);
    s_copy_scalar(b->side_chain_id, sizeof b->side_chain_id, side, "chain_id", b->type);
    ec_yaml_destroy(&doc);

    char pass_path[EC_PATH_MAX + 32], key_path[EC_PATH_MAX + 32];
    snprintf(pass_path, sizeof pass_path, "%s/passphrase", b->devnet);
    snprintf(key_path, sizeof key_path, "%s/keys/operator.key", b->devnet);
    char *pass = ec_passphrase_read(access(pass_path, R_OK) == 0 ? pass_path : "", &st);
    if (!pass)
        s_die("%s", st.msg);
    int rc = ec_key_load(&b->operator_key, key_path, pass, &st);
    ec_passphrase_free(&pass);
    if (rc != 0) {
        fprintf(stderr, "ecert-bench: cannot load the operator key: %s\n", st.msg);
        exit(1);
    }
}

static void s_measure_begin(void);

/* ---- workloads ----------------------------------------------------------------------------- */

typedef struct {
    bench_result_t load;
    bool has_lag;
    size_t lag_samples;
    double lag_p50_ms, lag_p99_ms, lag_max_ms;
    double disk_bytes_per_tx;    /* growth of the side chain's data folder per commit    */
    double payload_bytes;        /* of which payload                                      */
    double verify_trusted_per_s; /* offline bundle checks against a trusted main header  */
    double verify_valset_per_s;  /* ... against the main validator set (commit check)    */
    size_t bundle_bytes;
    bool has_resync;        /* --resync ran                                          */
    uint64_t resync_blocks; /* the wiped validator fetched, applied and stored these */
    uint64_t resync_txs;    /* transactions in those blocks                          */
    double resync_s;        /* from its start to the others' tip, process start included */
    bool has_evidence;      /* the evidence workload ran                             */
    size_t evidence_files;  /* files hashed and deposited                            */
    size_t evidence_batches;
    unsigned evidence_threads;   /* hashing threads                                       */
    double evidence_create_s;    /* writing the files (not measured)                      */
    double evidence_hash_s;      /* reading, hashing, trees, signing: the client's part   */
    double evidence_commit_s;    /* submitting the batches until the last committed       */
    double evidence_files_per_s; /* files / (hash_s + commit_s)                          */
    bool has_direct;             /* a gateway workload: the same requests over ZeroMQ    */
    bench_result_t direct;       /* ... measured in the same run, before the gateway's   */
} s_report_t;

/*
 * The measured phase of a workload: takes the daemons' CPU baseline, sends the prepared
 * requests to endpoint with the run's connections, window and rate, and frees them.
 */
static void s_measured(s_bench_t *b, const char *endpoint, bench_tx_t *txs, s_report_t *rep)
{
    s_measure_begin();
    bench_drive(endpoint, txs, b->count, b->connections, b->window, b->rate, 30000, b->progress,
                &rep->load);
    s_free_txs(txs, b->count);
}

/* Issues `n` certificates outside the measurement, returning their ids. */
static uint8_t (*s_issue_some(s_bench_t *b, size_t n))[EC_HASH_BYTES]
{
    uint8_t(*ids)[EC_HASH_BYTES] = calloc(n, EC_HASH_BYTES);
    bench_tx_t *txs = s_prepare_issue(b, n, ids);
    s_run_setup("issue certificates", b->side_rpc, txs, n);
    return ids;
}

static void s_run_issue(s_bench_t *b, s_report_t *rep)
{
    s_setup_actors(b, false);
    if (b->progress)
        fprintf(stderr, "  preparing %zu certificates (%u-byte sealed payloads)...\n", b->count,
                b->payload_bytes);
    bench_tx_t *txs = s_prepare_issue(b, b->count, NULL);

    char data_dir[EC_PATH_MAX + 64];
    /* One validator's store: with several, the first's (v1/); each holds the same. */
    snprintf(data_dir, sizeof data_dir, "%s/sides/%s/data", b->devnet, b->type);
    if (access(data_dir, F_OK) != 0)
        snprintf(data_dir, sizeof data_dir, "%s/sides/%s/v1/data", b->devnet, b->type);
    uint64_t disk_before = s_du(data_dir);

    s_lag_t *lag = calloc(1, sizeof *lag);
    lag->b = b;
    pthread_t thread;
    pthread_create(&thread, NULL, s_lag_thread, lag);
    s_measured(b, b->side_rpc, txs, rep);
    usleep(2500000); /* let the last blocks anchor: the sampler is still measuring */
    lag->stop = true;
    pthread_join(thread, NULL);

    qsort(lag->lag_ms, lag->n, sizeof lag->lag_ms[0], s_cmp_d);
    rep->has_lag = lag->n > 0;
    rep->lag_samples = lag->n;
    if (lag->n) {
        rep->lag_p50_ms = lag->lag_ms[(lag->n - 1) / 2];
        rep->lag_p99_ms = lag->lag_ms[(size_t)((double)(lag->n - 1) * 0.99)];
        rep->lag_max_ms = lag->lag_ms[lag->n - 1];
    }
    free(lag);
    uint64_t disk_after = s_du(data_dir);
    if (rep->load.ok && disk_after > disk_before) {
        rep->disk_bytes_per_tx = (double)(disk_after - disk_before) / (double)rep->load.ok;
        rep->payload_bytes = b->payload_bytes;
    }
}

static void s_run_inspect(s_bench_t *b, s_report_t *rep)
{
    s_setup_actors(b, true);
    size_t certs_n = b->count < 2000 ? b->count : 2000;
    uint8_t(*certs)[EC_HASH_BYTES] = s_issue_some(b, certs_n);
    bench_tx_t *txs = s_prepare_inspect(b, b->count, certs, certs_n);
    s_measured(b, b->side_rpc, txs, rep);
    free(certs);
}

static void s_run_query(s_bench_t *b, s_report_t *rep)
{
    s_setup_actors(b, false);
    size_t certs_n = 2000;
    uint8_t(*certs)[EC_HASH_BYTES] = s_issue_some(b, certs_n);
    bench_tx_t *txs = s_prepare_query(b->count, certs, certs_n);
    s_measured(b, b->side_rpc, txs, rep);
    free(certs);
}

/* The contract the `contract` workload calls: each call reads and writes two keys (the
 * invoice's and a running total) and refuses an invoice paid twice. */
static const char s_bench_contract[] =
    "function pay(n, amount)\n"
    "  local k = 'p/' .. n\n"
    "  if storage.get(k) then error('invoice ' .. n .. ' was paid already') end\n"
    "  storage.put(k, amount)\n"
    "  storage.put('total', (storage.get('total') or 0) + amount)\n"
    "  return true\n"
    "end\n";

/* Deploys the bench contract (a deployer role granted first), then calls pay() b->count
 * times from rotating holders, each with its own invoice number. */
static void s_run_contract(s_bench_t *b, s_report_t *rep)
{
    s_setup_actors(b, false);
    s_setup_roles(b, &b->signer[0], 1, EC_ROLE_DEPLOYER);
    s_wait_mirror(b, ec_key_pk(b->signer[0]), EC_ROLE_DEPLOYER);
    char name[EC_CONTRACT_NAME_MAX];
    snprintf(name, sizeof name, "bench-%s", b->org + 6); /* the org's random suffix */
    for (char *p = name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    ec_contract_deploy_body_t db = {.code = (const uint8_t *)s_bench_contract,
                                    .code_size = sizeof s_bench_contract - 1};
    snprintf(db.name, sizeof db.name, "%s", name);
    snprintf(db.org_code, sizeof db.org_code, "%s", b->org);
    ec_writer_t body, args;
    ec_writer_init(&body);
    ec_writer_init(&args);
    ec_contract_deploy_body_encode(&body, &db);
    bench_tx_t *deploy = calloc(1, sizeof *deploy);
    s_prepare(deploy, 0, b->side_chain_id, EC_STX_CONTRACT_DEPLOY, b->signer[0], &body, NULL, 0,
              NULL);
    s_run_setup("deploy the contract", b->side_rpc, deploy, 1);
    if (b->progress)
        fprintf(stderr, "  preparing %zu contract calls...\n", b->count);
    bench_tx_t *txs = calloc(b->count, sizeof *txs);
    for (size_t i = 0; i < b->count; i++) {
        char number[32];
        snprintf(number, sizeof number, "INV-%zu", i);
        ec_writer_reset(&args);
        ec_write_array(&args, 2);
        ec_write_cstr(&args, number);
        ec_write_int(&args, 100);
        ec_contract_call_body_t cb = {.args = ec_writer_data(&args),
                                      .args_size = ec_writer_size(&args)};
        snprintf(cb.name, sizeof cb.name, "%s", name);
        snprintf(cb.fn, sizeof cb.fn, "pay");
        ec_writer_reset(&body);
        ec_contract_call_body_encode(&body, &cb);
        s_prepare(&txs[i], i, b->side_chain_id, EC_STX_CONTRACT_CALL, b->holder[i % S_HOLDERS],
                  &body, NULL, 0, NULL);
    }
    ec_writer_fini(&body);
    ec_writer_fini(&args);
    s_measured(b, b->side_rpc, txs, rep);
}

/* The evidence workload's files: small documents (an invoice's data, a contract's text). */
#define S_EVIDENCE_FILE_BYTES 256

/* Writes n files of S_EVIDENCE_FILE_BYTES random bytes into a new temporary folder (dir);
 * returns their paths (one block; free() it and the array). Exits on failure. */
static char **s_evidence_files(size_t n, char dir[PATH_MAX])
{
    snprintf(dir, PATH_MAX, "%s/ecert-bench-evidence-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir))
        s_die("cannot make a temporary folder: %s", strerror(errno));
    size_t name_max = strlen(dir) + 16;
    char **paths = malloc(n * sizeof *paths);
    char *names = malloc(n * name_max);
    if (!paths || !names)
        s_die("out of memory for %s", "the file names");
    uint8_t data[S_EVIDENCE_FILE_BYTES];
    for (size_t i = 0; i < n; i++) {
        paths[i] = names + i * name_max;
        snprintf(paths[i], name_max, "%s/f%08zu", dir, i);
        randombytes_buf(data, sizeof data);
        FILE *f = fopen(paths[i], "wb");
        if (!f || fwrite(data, 1, sizeof data, f) != sizeof data || fclose(f) != 0)
            s_die("cannot write %s", paths[i]);
    }
    return paths;
}

static void s_evidence_remove(char **paths, size_t n, const char *dir)
{
    for (size_t i = 0; i < n; i++)
        unlink(paths[i]);
    if (rmdir(dir) != 0)
        fprintf(stderr, "ecert-bench: could not remove %s: %s\n", dir, strerror(errno));
    free(paths[0]);
    free(paths);
}

/*
 * Evidence deposits: b->count small files, written outside the clock, then, timed as
 * `ecert evidence put` works: reading and hashing them (a thread per core), the batch trees
 * (at most EC_EVIDENCE_BATCH_MAX files each), one signed EVIDENCE per batch, and sending
 * those until every one committed. The depositor is a fresh key: a deposit needs no role.
 */
static void s_run_evidence(s_bench_t *b, s_report_t *rep)
{
    size_t n = b->count;
    char dir[PATH_MAX];
    uint64_t t0 = bench_now_ns();
    if (b->progress)
        fprintf(stderr, "  writing %zu files of %u bytes...\n", n, S_EVIDENCE_FILE_BYTES);
    char **paths = s_evidence_files(n, dir);
    ec_key_t *key = ec_key_generate();
    ec_hash32_t *hashes = malloc(n * sizeof *hashes);
    ec_hash32_t *leaves =
        malloc((n < EC_EVIDENCE_BATCH_MAX ? n : EC_EVIDENCE_BATCH_MAX) * sizeof *leaves);
    size_t batches = (n + EC_EVIDENCE_BATCH_MAX - 1) / EC_EVIDENCE_BATCH_MAX;
    bench_tx_t *txs = calloc(batches, sizeof *txs);
    if (!key || !hashes || !leaves || !txs)
        s_die("out of memory for %s", "the hashes");
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = cores < 1                         ? 1
                       : cores > EC_EVIDENCE_THREADS_MAX ? EC_EVIDENCE_THREADS_MAX
                                                         : (unsigned)cores;
    s_measure_begin();
    uint64_t t1 = bench_now_ns();
    size_t failed = 0;
    ec_status_t st = {0};
    if (ec_evidence_hash_files(hashes, (const char *const *)paths, n, threads, &failed, &st) != 0)
        s_die("%s", st.msg);
    ec_writer_t body;
    ec_writer_init(&body);
    for (size_t i = 0; i < batches; i++) {
        size_t off = i * EC_EVIDENCE_BATCH_MAX;
        ec_evidence_body_t eb = {.count = n - off < EC_EVIDENCE_BATCH_MAX ? n - off
                                                                          : EC_EVIDENCE_BATCH_MAX};
        ec_evidence_root(eb.root, leaves, (const ec_hash32_t *)hashes + off, eb.count);
        snprintf(eb.note, sizeof eb.note, "ecert-bench");
        eb.note_len = strlen(eb.note);
        ec_writer_reset(&body);
        ec_evidence_body_encode(&body, &eb);
        s_prepare(&txs[i], i, b->side_chain_id, EC_STX_EVIDENCE, key, &body, NULL, 0, NULL);
    }
    ec_writer_fini(&body);
    uint64_t t2 = bench_now_ns();
    bench_drive(b->side_rpc, txs, batches, 1, b->window, 0, 30000, false, &rep->load);
    uint64_t t3 = bench_now_ns();
    s_free_txs(txs, batches);
    rep->has_evidence = true;
    rep->evidence_files = n;
    rep->evidence_batches = batches;
    rep->evidence_threads = threads;
    rep->evidence_create_s = (double)(t1 - t0) / 1e9;
    rep->evidence_hash_s = (double)(t2 - t1) / 1e9;
    rep->evidence_commit_s = (double)(t3 - t2) / 1e9;
    rep->evidence_files_per_s = (double)n * 1e9 / (double)(t3 - t1);
    /* The generic figures read as files: per second and seconds of the whole timed part. */
    rep->load.seconds = (double)(t3 - t1) / 1e9;
    rep->load.per_second = rep->load.failed ? 0 : rep->evidence_files_per_s;
    free(hashes);
    free(leaves);
    ec_key_destroy(&key);
    s_evidence_remove(paths, n, dir);
}

static void s_run_register(s_bench_t *b, s_report_t *rep)
{
    if (b->progress)
        fprintf(stderr, "  preparing %zu registrations (one fresh key each)...\n", b->count);
    bench_tx_t *txs = s_prepare_register(b, b->count);
    s_measured(b, b->main_rpc, txs, rep);
}

/* ---- through the gateway ------------------------------------------------------------------ */

/* A gateway this run started (0: none), stopped at exit. */
static pid_t s_gateway_pid;

static void s_gateway_stop(void)
{
    if (s_gateway_pid > 0) {
        kill(s_gateway_pid, SIGTERM);
        waitpid(s_gateway_pid, NULL, 0);
        s_gateway_pid = 0;
    }
}

/*
 * The gateway's URL: --gateway, else a gateway of this build started for the run on a
 * free port of 127.0.0.1 with the devnet's client config and no rate limit (the devnet's
 * own gateway limits each address to 100 requests a second, and the load comes from one).
 */
static void s_gateway_url(s_bench_t *b)
{
    if (b->gateway[0])
        return;
    char exe[PATH_MAX], gw[PATH_MAX + 32], cfg[EC_PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        s_die("cannot find myself%s", "");
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0'; /* .../build/client */
    snprintf(gw, sizeof gw, "%s/../gateway/ecert-gateway", exe);
    snprintf(cfg, sizeof cfg, "%s/client.yaml", b->devnet);
    int fds[2];
    if (pipe(fds) != 0)
        s_die("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        s_die("fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl(gw, gw, "--client-config", cfg, "--listen", "127.0.0.1:0", "--rate", "0", "--portal",
              "", "--log-level", "warn", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    s_gateway_pid = pid;
    atexit(s_gateway_stop);
    FILE *f = fdopen(fds[0], "r");
    char line[256] = "", host[48];
    if (!f || !fgets(line, sizeof line, f) ||
        sscanf(line, "listening on http://%47[^/]/", host) != 1)
        s_die("could not start %s", gw);
    snprintf(b->gateway, sizeof b->gateway, "http://%s", host);
    fclose(f);
}

static char *s_strdup_printf(const char *fmt, const char *a, const char *b2, const char *c)
{
    int n = snprintf(NULL, 0, fmt, a, b2, c);
    char *out = malloc((size_t)n + 1);
    if (!out)
        s_die("out of memory%s", "");
    snprintf(out, (size_t)n + 1, fmt, a, b2, c);
    return out;
}

static void s_http_measured(s_bench_t *b, bench_tx_t *txs, s_report_t *rep)
{
    s_measure_begin();
    if (bench_http_drive(txs, b->count, b->connections, 30000, b->progress, &rep->load) != 0)
        s_die("libcurl did not start%s", "");
    s_free_txs(txs, b->count);
}

/* gateway-query: the query workload's `query cert`, first over ZeroMQ (the ratio's
 * reference), then as GET /api/v1/chains/TYPE/query/cert?args=[{"hex": ID}]. */
static void s_run_gateway_query(s_bench_t *b, s_report_t *rep)
{
    s_gateway_url(b);
    s_setup_actors(b, false);
    size_t certs_n = 2000;
    uint8_t(*certs)[EC_HASH_BYTES] = s_issue_some(b, certs_n);
    rep->has_direct = true;
    rep->direct.workload = "query";
    bench_tx_t *txs = s_prepare_query(b->count, certs, certs_n);
    bench_drive(b->side_rpc, txs, b->count, b->connections < 64 ? b->connections : 64, b->window,
                b->rate, 30000, b->progress, &rep->direct);
    s_free_txs(txs, b->count);
    txs = calloc(b->count, sizeof *txs);
    for (size_t i = 0; i < b->count; i++) {
        char hex[2 * EC_HASH_BYTES + 1];
        ec_hex(hex, certs[i % certs_n], EC_HASH_BYTES);
        txs[i].url = s_strdup_printf(
            "%s/api/v1/chains/%s/query/cert?args=%%5B%%7B%%22hex%%22%%3A%%22%s%%22%%7D%%5D",
            b->gateway, b->type, hex);
    }
    s_http_measured(b, txs, rep);
    free(certs);
}

/* gateway-submit: the register workload, first over ZeroMQ, then other registrations as
 * POST /api/v1/chains/main/tx {"signed", "sig"}, each answered once its block commits. */
static void s_run_gateway_submit(s_bench_t *b, s_report_t *rep)
{
    s_gateway_url(b);
    if (b->progress)
        fprintf(stderr, "  preparing 2 x %zu registrations (one fresh key each)...\n", b->count);
    rep->has_direct = true;
    rep->direct.workload = "register";
    bench_tx_t *txs = s_prepare_register(b, b->count);
    bench_drive(b->main_rpc, txs, b->count, b->connections < 64 ? b->connections : 64, b->window,
                b->rate, 30000, b->progress, &rep->direct);
    s_free_txs(txs, b->count);
    txs = calloc(b->count, sizeof *txs);
    char *url = s_strdup_printf("%s/api/v1/chains/%s/tx%s", b->gateway, "main", "");
    ec_writer_t body, env;
    ec_writer_init(&body);
    ec_writer_init(&env);
    for (size_t i = 0; i < b->count; i++) {
        ec_register_body_t reg;
        snprintf(reg.name, sizeof reg.name, "web-citizen-%zu", i);
        ec_writer_reset(&body);
        ec_register_body_encode(&body, &reg);
        ec_key_t *k = ec_key_generate();
        uint64_t nonce;
        randombytes_buf(&nonce, sizeof nonce);
        ec_tx_build(&env, NULL, b->main_chain_id, EC_MTX_REGISTER, k, nonce, NULL,
                    ec_writer_data(&body), ec_writer_size(&body));
        ec_key_destroy(&k);
        ec_tx_t tx;
        if (ec_tx_decode(&tx, ec_writer_data(&env), ec_writer_size(&env)) != 0)
            s_die("a transaction just built does not decode%s", "");
        size_t b64_cap = sodium_base64_ENCODED_LEN(tx.signed_size, sodium_base64_VARIANT_ORIGINAL);
        char *b64 = malloc(b64_cap), sig[2 * EC_SIG_BYTES + 1];
        sodium_bin2base64(b64, b64_cap, tx.signed_bytes, tx.signed_size,
                          sodium_base64_VARIANT_ORIGINAL);
        ec_hex(sig, tx.sig, EC_SIG_BYTES);
        ec_tx_fini(&tx);
        char *json = s_strdup_printf("{\"signed\":\"%s\",\"sig\":\"%s\"%s}", b64, sig, "");
        free(b64);
        txs[i].frame = (uint8_t *)json;
        txs[i].frame_size = strlen(json);
        txs[i].url = strdup(url);
    }
    ec_writer_fini(&body);
    ec_writer_fini(&env);
    free(url);
    s_http_measured(b, txs, rep);
}

/* Reads a whole file (malloc'd); NULL if it cannot. */
static uint8_t *s_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = malloc(EC_BUNDLE_BYTES_MAX);
    *size = fread(buf, 1, EC_BUNDLE_BYTES_MAX, f);
    fclose(f);
    return buf;
}

/*
 * Offline proof checks on one core: fetches one real bundle with `ecert cert proof` (the
 * client beside this program), then verifies it repeatedly, first against a trusted main
 * header hash, then against the main validator set (one more signature per bundle).
 */
static void s_run_verify(s_bench_t *b, s_report_t *rep)
{
    s_setup_actors(b, false);
    uint8_t(*certs)[EC_HASH_BYTES] = s_issue_some(b, 1);
    char self[PATH_MAX], cmd[3 * PATH_MAX], id_hex[2 * EC_HASH_BYTES + 1];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        s_die("cannot find myself%s", "");
    self[n] = '\0';
    *strrchr(self, '/') = '\0';
    ec_hex(id_hex, certs[0], EC_HASH_BYTES);
    char bundle_path[] = "/tmp/ecert-bench-bundle-XXXXXX";
    int fd = mkstemp(bundle_path);
    if (fd < 0)
        s_die("mkstemp: %s", strerror(errno));
    close(fd);
    snprintf(cmd, sizeof cmd,
             "'%s/ecert' --config '%s/client.yaml' cert proof --type '%s' --tx %s --out '%s' "
             "--wait-ms 30000 >/dev/null",
             self, b->devnet, b->type, id_hex, bundle_path);
    if (system(cmd) != 0)
        s_die("fetching a proof bundle failed: %s", cmd);
    size_t size = 0;
    uint8_t *bundle = s_read_file(bundle_path, &size);
    unlink(bundle_path);
    free(certs);
    if (!bundle)
        s_die("cannot read the bundle%s", "");

    ec_genesis_t g;
    ec_status_t st = {0};
    if (ec_genesis_load(&g, b->main_genesis, &st) != 0)
        s_die("%s", st.msg);
    ec_bundle_info_t info;
    if (ec_bundle_verify(bundle, size, g.chain_id, &g.validators, NULL, &info, &st) != 0)
        s_die("the fetched bundle does not verify: %s", st.msg);
    uint8_t trusted[EC_HASH_BYTES];
    memcpy(trusted, info.main_hash, sizeof trusted);

    for (int pass = 0; pass < 2; pass++) {
        uint64_t start = bench_now_ns(), count = 0;
        while (bench_now_ns() - start < 2000000000u) {
            for (int i = 0; i < 100; i++) {
                int rc = pass == 0
                             ? ec_bundle_verify(bundle, size, g.chain_id, NULL, trusted, &info, &st)
                             : ec_bundle_verify(bundle, size, g.chain_id, &g.validators, NULL,
                                                &info, &st);
                if (rc != 0)
                    s_die("bundle verification failed in the loop: %s", st.msg);
                count++;
            }
        }
        double rate = (double)count * 1e9 / (double)(bench_now_ns() - start);
        if (pass == 0)
            rep->verify_trusted_per_s = rate;
        else
            rep->verify_valset_per_s = rate;
    }
    rep->bundle_bytes = size;
    rep->load.ok = 1;
    free(bundle);
}

/* ---- a private network -------------------------------------------------------------------- */

/* snprintf into a fixed buffer, or exit: a path or command that does not fit is refused
 * rather than cut. */
#define S_FMT(buf, ...)                                                                            \
    do {                                                                                           \
        int n_ = snprintf((buf), sizeof(buf), __VA_ARGS__);                                        \
        if (n_ < 0 || (size_t)n_ >= sizeof(buf))                                                   \
            s_die("path too long: %s", (buf));                                                     \
    } while (0)

/* The folder of a private network started by --private, "" when none runs. */
static char s_private_dir[PATH_MAX];
static char s_private_script[PATH_MAX];

/* Stops the private network and removes its folder; runs at exit, however we exit. */
static void s_private_down(void)
{
    if (!s_private_dir[0])
        return;
    char cmd[3 * PATH_MAX];
    S_FMT(cmd, "'%s' down --dir '%s/devnet' >/dev/null 2>&1; rm -rf '%s'", s_private_script,
          s_private_dir, s_private_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "ecert-bench: could not remove the private network in %s\n", s_private_dir);
    s_private_dir[0] = '\0';
}

static void s_on_signal(int sig)
{
    (void)sig;
    exit(130); /* runs s_private_down */
}

/*
 * Starts a private network in a new temporary folder with scripts/devnet: the main chain,
 * the one side chain of `type` and the relay, on random free-ish ports, using the binaries
 * of the build this program belongs to. Writes the folder into devnet. Exits on failure.
 */
/* True when TCP port `port` on 127.0.0.1 can be bound now (nothing listens on it and no
 * connection holds it). */
static bool s_port_free(uint32_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/*
 * A port base for a private devnet: main rpc/pub at base and base+1, the side chain at
 * base+100 and base+101, validator v of a chain 1000 * (v - 1) above. Every port stays in
 * 20000-32000, below Linux's ephemeral range (32768-60999), so an outgoing connection
 * never holds one; each is tested by binding.
 */
static uint32_t s_port_base(uint32_t validators)
{
    assert(validators >= 1 && validators <= 7);
    uint32_t slots = (32000 - 250 - 1000 * (validators - 1) - 20000) / 250 + 1;
    for (int attempt = 0; attempt < 32; attempt++) {
        uint32_t base = 20000 + randombytes_uniform(slots) * 250;
        bool ok = true;
        /* validator v of a chain adds 1000 * (v - 1); p2p is pub + 1 */
        for (uint32_t v = 0; ok && v < validators; v++)
            for (uint32_t p = 0; ok && p < 3; p++)
                ok = s_port_free(base + 1000 * v + p) && s_port_free(base + 1000 * v + 100 + p);
        if (ok)
            return base;
    }
    s_die("no free port range in 20000-32000 for a private network%s", "");
    return 0;
}

/*
 * Starts a private network in a new temporary folder with scripts/devnet: the main chain,
 * the one side chain of `type` and the relay, using the binaries of the build this program
 * belongs to. A port can still be taken between the test and the bind, so a failed start
 * is retried (three times, each in a fresh folder). Writes the folder into devnet. Exits
 * on failure, keeping the last folder for a post-mortem.
 */
static void s_private_up(const char *type, uint32_t validators, char *devnet, size_t cap)
{
    char exe[PATH_MAX], build[PATH_MAX], source[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        s_die("cannot find myself%s", "");
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0'; /* .../build/client */
    S_FMT(build, "%s/..", exe);
    const char *env_source = getenv("ECERT_SOURCE");
    S_FMT(source, "%s", env_source ? env_source : "");
    if (!source[0])
        S_FMT(source, "%s/../..", exe); /* build/ inside the tree */
    S_FMT(s_private_script, "%s/scripts/devnet", source);
    if (access(s_private_script, X_OK) != 0)
        s_die("--private needs scripts/devnet: not found at %s (set ECERT_SOURCE)",
              s_private_script);
    atexit(s_private_down);
    signal(SIGINT, s_on_signal);
    signal(SIGTERM, s_on_signal);
    setenv("ECERT_BUILD", build, 1);

    for (int attempt = 1;; attempt++) {
        S_FMT(s_private_dir, "/tmp/ecert-bench-XXXXXX");
        if (!mkdtemp(s_private_dir))
            s_die("mkdtemp: %s", strerror(errno));
        char chains[PATH_MAX + 16], ports[16], cmd[3 * PATH_MAX];
        S_FMT(chains, "%s/chains.yaml", s_private_dir);
        FILE *f = fopen(chains, "w");
        if (!f || fprintf(f, "sides:\n  - {type: %s, rpc: 7100, pub: 7101}\n", type) < 0 ||
            fclose(f) != 0)
            s_die("cannot write %s", chains);
        S_FMT(ports, "%u", s_port_base(validators));
        setenv("ECERT_DEVNET_CHAINS", chains, 1);
        setenv("ECERT_PORT_BASE", ports, 1);
        S_FMT(cmd, "'%s' up --validators %u --dir '%s/devnet' >'%s/up.log' 2>&1", s_private_script,
              validators, s_private_dir, s_private_dir);
        fprintf(stderr, "ecert-bench: starting a private network in %s (ports from %s)\n",
                s_private_dir, ports);
        if (system(cmd) == 0)
            break;
        if (attempt == 3) {
            fprintf(stderr, "ecert-bench: the private network did not start; see %s/up.log\n",
                    s_private_dir);
            s_private_dir[0] = '\0'; /* keep the folder for a post-mortem */
            exit(1);
        }
        fprintf(stderr,
                "ecert-bench: the private network did not start (see %s/up.log); "
                "trying again\n",
                s_private_dir);
        s_private_down(); /* stops what did start and removes the folder */
    }
    int len = snprintf(devnet, cap, "%s/devnet", s_private_dir);
    if (len < 0 || (size_t)len >= cap)
        s_die("path too long: %s", s_private_dir);
}

/* ---- resync: a wiped validator catches up ---------------------------------------------------- */

/* Transactions in blocks 1..tip of the chain behind rpc (a `header` call per block). */
static uint64_t s_chain_txs(ec_rpc_t *rpc, uint64_t tip)
{
    uint64_t txs = 0;
    for (uint64_t h = 1; h <= tip; h++) {
        ec_writer_t p;
        ec_writer_init(&p);
        ec_write_array(&p, 1);
        ec_write_uint(&p, h);
        ec_rpc_reply_t r = {0};
        ec_status_t st;
        int rc = ec_rpc_call(rpc, "header", ec_writer_data(&p), ec_writer_size(&p), &r, &st);
        ec_writer_fini(&p);
        ec_header_t hd;
        if (rc != 0 || r.code != 0 || r.result->type != MSGPACK_OBJECT_ARRAY ||
            r.result->via.array.size != 2 ||
            r.result->via.array.ptr[0].type != MSGPACK_OBJECT_BIN ||
            ec_header_decode(&hd, (const uint8_t *)r.result->via.array.ptr[0].via.bin.ptr,
                             r.result->via.array.ptr[0].via.bin.size) != 0)
            s_die("could not read the side chain's headers%s", "");
        txs += hd.tx_count;
        ec_rpc_reply_fini(&r);
    }
    return txs;
}

/*
 * After the load, the side chain's last validator is killed, its data folder (store and
 * guard) removed, and it is started again: it must fetch every block from its peers,
 * check each commit, apply and store it. Measures the time from its start until it holds
 * the tip the others had when it was killed. Exits on failure.
 */
static void s_run_resync(const s_bench_t *b, s_report_t *rep)
{
    uint32_t n = 1;
    for (const char *c = b->side_rpc; *c; c++)
        n += *c == ',';
    if (n < 2)
        s_die("--resync needs a side chain of several validators (--validators N, N >= 2)%s", "");
    const char *last = strrchr(b->side_rpc, ',') + 1;
    char first[EC_ENDPOINT_MAX], name[96], data[EC_PATH_MAX + 64], cmd[4 * PATH_MAX];
    ec_rpc_t *peer = ec_rpc_connect(s_first(b->side_rpc, first), 5000);
    if (!peer)
        s_die("cannot connect to %s", first);
    S_FMT(name, "side-%s-%u", b->type, n);
    S_FMT(data, "%s/sides/%s/v%u/data", b->devnet, b->type, n);
    S_FMT(cmd, "'%s' kill %s --dir '%s' >/dev/null && rm -rf '%s'", s_private_script, name,
          b->devnet, data);
    if (system(cmd) != 0)
        s_die("could not kill and wipe %s", name);
    uint64_t tip = s_tip(peer);
    rep->resync_blocks = tip;
    rep->resync_txs = s_chain_txs(peer, tip);
    ec_rpc_destroy(&peer);
    if (b->progress)
        fprintf(stderr, "ecert-bench: %s wiped; resyncing %llu blocks, %llu transactions\n", name,
                (unsigned long long)tip, (unsigned long long)rep->resync_txs);
    uint64_t start = bench_now_ns();
    S_FMT(cmd, "'%s' start %s --dir '%s' >/dev/null", s_private_script, name, b->devnet);
    if (system(cmd) != 0)
        s_die("could not start %s again", name);
    ec_rpc_t *wiped = ec_rpc_connect(last, 1000);
    if (!wiped)
        s_die("cannot connect to %s", last);
    uint64_t deadline = start + 600ull * 1000000000u;
    while (s_tip(wiped) < tip) {
        if (bench_now_ns() > deadline)
            s_die("%s did not catch up within 10 minutes", name);
        usleep(5000);
    }
    rep->resync_s = (double)(bench_now_ns() - start) / 1e9;
    rep->has_resync = true;
    ec_rpc_destroy(&wiped);
}

/* ---- measuring the daemons ----------------------------------------------------------------- */

static s_proc_t s_procs[S_PROCS_MAX];
static size_t s_nprocs;
static const char *s_devnet_dir;

/* Finds the daemons and takes their CPU baseline, right before a measured phase. */
static void s_measure_begin(void)
{
    s_nprocs = s_procs_find(s_devnet_dir, s_procs);
}

/* ---- reporting ----------------------------------------------------------------------------- */

static void s_report_human(const s_bench_t *b, const s_report_t *r, double ed_rate)
{
    const bench_result_t *l = &r->load;
    printf("ecert-bench: workload %s on %s\n", b->workload,
           strcmp(b->workload, "register") == 0 || strcmp(b->workload, "gateway-submit") == 0
               ? b->main_chain_id
               : b->side_chain_id);
    printf("  machine: one core verifies %.0f Ed25519 signatures/s\n", ed_rate);
    if (strcmp(b->workload, "verify") == 0) {
        printf("  bundle: %zu bytes\n", r->bundle_bytes);
        printf("  offline verify, trusted main header : %9.0f /s  (%.2f x Ed25519 rate)\n",
               r->verify_trusted_per_s, r->verify_trusted_per_s / ed_rate);
        printf("  offline verify, main validator set  : %9.0f /s  (%.2f x Ed25519 rate)\n",
               r->verify_valset_per_s, r->verify_valset_per_s / ed_rate);
        return;
    }
    if (r->has_evidence) {
        printf("  %-22s %zu of %u bytes (written in %.2f s, not timed), %zu batch(es)\n", "files",
               r->evidence_files, S_EVIDENCE_FILE_BYTES, r->evidence_create_s, r->evidence_batches);
        printf("  %-22s %.3f s with %u thread(s): read, SHA-256, batch trees, EVIDENCE signed\n",
               "hashed", r->evidence_hash_s, r->evidence_threads);
        printf("  %-22s %.3f s: %llu of %zu EVIDENCE committed\n", "deposited",
               r->evidence_commit_s, (unsigned long long)l->ok, r->evidence_batches);
    }
    printf("  %-22s %llu sent, %llu ok, %llu failed", "requests", (unsigned long long)l->offered,
           (unsigned long long)l->ok, (unsigned long long)l->failed);
    if (l->unanswered)
        printf(" (%llu unanswered)", (unsigned long long)l->unanswered);
    if (l->first_error)
        printf(" (first refusal: %s %s)", ec_errname(l->first_error), l->first_error_msg);
    printf("\n");
    printf("  %-22s %.0f /s over %.2f s  (%.2f x Ed25519 rate)\n",
           strcmp(b->workload, "query") == 0 || strcmp(b->workload, "gateway-query") == 0
               ? "answered"
           : strcmp(b->workload, "evidence") == 0 ? "files deposited"
                                                  : "committed",
           l->per_second, l->seconds, l->per_second / ed_rate);
    if (b->rate > 0)
        printf("  %-22s %.0f /s\n", "offered rate", b->rate);
    printf("  %-22s p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n", "latency ms", l->p50_ms, l->p90_ms,
           l->p99_ms, l->max_ms);
    if (r->has_direct) {
        const bench_result_t *d = &r->direct;
        printf("  %-22s %.0f /s over %.2f s, p50 %.1f  p99 %.1f ms (%s, %llu ok, %llu failed)\n",
               "same over ZeroMQ", d->per_second, d->seconds, d->p50_ms, d->p99_ms, d->workload,
               (unsigned long long)d->ok, (unsigned long long)d->failed);
        printf("  %-22s %.2f x the ZeroMQ rate, over %u HTTP connection(s) to %s\n",
               "through the gateway", d->per_second > 0 ? l->per_second / d->per_second : 0,
               b->connections, b->gateway);
    }
    if (r->has_lag)
        printf("  %-22s p50 %.0f  p99 %.0f  max %.0f ms  (%zu samples)\n", "anchoring lag",
               r->lag_p50_ms, r->lag_p99_ms, r->lag_max_ms, r->lag_samples);
    if (r->disk_bytes_per_tx > 0)
        printf("  %-22s %.0f bytes per certificate (payload %.0f)\n", "disk growth",
               r->disk_bytes_per_tx, r->payload_bytes);
    if (r->has_resync)
        printf("  %-22s %llu blocks, %llu transactions in %.2f s: %.0f tx/s  (%.2f x Ed25519 "
               "rate)\n",
               "resync of a wiped node", (unsigned long long)r->resync_blocks,
               (unsigned long long)r->resync_txs, r->resync_s, (double)r->resync_txs / r->resync_s,
               (double)r->resync_txs / r->resync_s / ed_rate);
    for (size_t i = 0; i < s_nprocs; i++)
        printf("  %-22s cpu %5.1f%%  peak rss %.1f MB\n", s_procs[i].name,
               l->seconds > 0 ? 100.0 * s_procs[i].cpu_s / l->seconds : 0, s_procs[i].peak_rss_mb);
}

static void s_report_json(const s_bench_t *b, const s_report_t *r, double ed_rate)
{
    const bench_result_t *l = &r->load;
    json_t *daemons = json_array();
    for (size_t i = 0; i < s_nprocs; i++)
        json_array_append_new(
            daemons, json_pack("{s:s, s:f, s:f}", "name", s_procs[i].name, "cpu_percent",
                               l->seconds > 0 ? 100.0 * s_procs[i].cpu_s / l->seconds : 0.0,
                               "peak_rss_mb", s_procs[i].peak_rss_mb));
    json_t *o = json_pack(
        "{s:s, s:f, s:I, s:I, s:I, s:f, s:f, s:f, s:{s:f, s:f, s:f, s:f}, s:o}", "workload",
        b->workload, "ed25519_verify_per_s", ed_rate, "sent", (json_int_t)l->offered, "ok",
        (json_int_t)l->ok, "failed", (json_int_t)l->failed, "seconds", l->seconds, "per_second",
        l->per_second, "ratio_to_ed25519", l->per_second / ed_rate, "latency_ms", "p50", l->p50_ms,
        "p90", l->p90_ms, "p99", l->p99_ms, "max", l->max_ms, "daemons", daemons);
    json_object_set_new(o, "unanswered", json_integer((json_int_t)l->unanswered));
    if (b->rate > 0)
        json_object_set_new(o, "offered_rate", json_real(b->rate));
    if (r->has_lag)
        json_object_set_new(o, "anchor_lag_ms",
                            json_pack("{s:f, s:f, s:f, s:I}", "p50", r->lag_p50_ms, "p99",
                                      r->lag_p99_ms, "max", r->lag_max_ms, "samples",
                                      (json_int_t)r->lag_samples));
    if (r->disk_bytes_per_tx > 0)
        json_object_set_new(o, "disk_bytes_per_tx", json_real(r->disk_bytes_per_tx));
    if (r->has_resync)
        json_object_set_new(o, "resync",
                            json_pack("{s:I, s:I, s:f, s:f}", "blocks",
                                      (json_int_t)r->resync_blocks, "txs",
                                      (json_int_t)r->resync_txs, "seconds", r->resync_s,
                                      "txs_per_s", (double)r->resync_txs / r->resync_s));
    if (r->has_evidence)
        json_object_set_new(
            o, "evidence",
            json_pack("{s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f}", "files",
                      (json_int_t)r->evidence_files, "file_bytes",
                      (json_int_t)S_EVIDENCE_FILE_BYTES, "batches", (json_int_t)r->evidence_batches,
                      "threads", (json_int_t)r->evidence_threads, "create_s", r->evidence_create_s,
                      "hash_s", r->evidence_hash_s, "commit_s", r->evidence_commit_s, "files_per_s",
                      r->evidence_files_per_s, "ratio_to_ed25519",
                      r->evidence_files_per_s / ed_rate));
    if (strcmp(b->workload, "verify") == 0)
        json_object_set_new(o, "verify",
                            json_pack("{s:f, s:f, s:I}", "trusted_header_per_s",
                                      r->verify_trusted_per_s, "valset_per_s",
                                      r->verify_valset_per_s, "bundle_bytes",
                                      (json_int_t)r->bundle_bytes));
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    puts(text);
    free(text);
    json_decref(o);
}

/* Writes the per-second series and plots throughput and p99 latency with gnuplot. */
static int s_plot(const bench_result_t *l, const char *png)
{
    char data[] = "/tmp/ecert-bench-plot-XXXXXX";
    int fd = mkstemp(data);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "w");
    /* The last bucket is a fraction of a second: it would show as a collapse. */
    uint32_t n = l->series_len > 1 ? l->series_len - 1 : l->series_len;
    for (uint32_t i = 0; i < n; i++)
        fprintf(f, "%u %u %.2f\n", i + 1, l->series_ok[i], l->series_p99_ms[i]);
    fclose(f);
    char script[] = "/tmp/ecert-bench-gp-XXXXXX";
    fd = mkstemp(script);
    if (fd < 0) {
        unlink(data);
        return -1;
    }
    f = fdopen(fd, "w");
    fprintf(f,
            "set terminal pngcairo size 1000,500\nset output '%s'\n"
            "set title 'ecert-bench: %s'\nset xlabel 'seconds'\n"
            "set ylabel 'committed per second'\nset y2label 'p99 latency (ms)'\n"
            "set ytics nomirror\nset y2tics\nset grid\nset key bottom left\n"
            "set yrange [0:*]\nset y2range [0:*]\n"
            "plot '%s' using 1:2 with linespoints title 'per second' axes x1y1, "
            "'%s' using 1:3 with linespoints title 'p99 latency ms' axes x1y2\n",
            png, l->workload, data, data);
    fclose(f);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "gnuplot %s", script);
    int rc = system(cmd);
    unlink(data);
    unlink(script);
    return rc == 0 ? 0 : -1;
}

/* ---- main ---------------------------------------------------------------------------------- */

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: ecert-bench [options]\n"
            "\n"
            "Drives a running ecert network (started with ./scripts/devnet up) and reports\n"
            "committed transactions per second, submit->commit latency (p50/p90/p99/max),\n"
            "anchoring lag, daemon CPU and peak memory, disk bytes per certificate, and this\n"
            "machine's single-core Ed25519 verification rate measured in the same run.\n"
            "\n"
            "options:\n"
            "  --devnet DIR        the network's folder (default $ECERT_DEVNET_DIR or ./.devnet)\n"
            "  --private           start a private network (main chain, the --type side chain,\n"
            "                      relay) in a temporary folder for this run, then remove it\n"
            "  --validators N      with --private: validators per chain, 1 to 7 (default 1);\n"
            "                      the load is spread over the side chain's validators\n"
            "  --workload W        register | issue | inspect | query | verify | contract |\n"
            "                      evidence (default issue; contract: a deployed contract's\n"
            "                      pay(), reading and writing two keys per call; evidence:\n"
            "                      --count files of 256 bytes, written to a temporary folder,\n"
            "                      then timed: read, hashed on every core, batch trees, one\n"
            "                      EVIDENCE per batch until committed; reports files/s) |\n"
            "                      gateway-query | gateway-submit (query and register over\n"
            "                      ZeroMQ, then the same through ecert-gateway over HTTP with\n"
            "                      --connections keep-alive connections, default 64: requests/s,\n"
            "                      p50/p99 and the ratio of the two rates)\n"
            "  --gateway URL       the gateway workloads' gateway (default: one of this build\n"
            "                      started for the run, without a rate limit)\n"
            "  --type TYPE         side chain to drive (default degree)\n"
            "  --count N           requests in the measured phase (default 20000)\n"
            "  --rate R            offered rate per second (default: as fast as possible)\n"
            "  --signers N         distinct issuing keys (default 16, max %d)\n"
            "  --connections N     client connections (default 4; gateway workloads 64; max 64\n"
            "                      for ZeroMQ, 250 for HTTP)\n"
            "  --window N          outstanding requests per connection (default 4000)\n"
            "  --payload-bytes N   sealed payload size (default 256)\n"
            "  --resync            with --private --validators N (N >= 2): after the load, wipe\n"
            "                      the side chain's last validator, start it again and time\n"
            "                      how fast it fetches and applies every block from its peers\n"
            "  --status-list N     no network: time the status-list root a side chain computes\n"
            "                      at every block, over N certificates (median of 9 runs)\n"
            "  --plot FILE.png     chart of throughput and p99 latency over time (gnuplot)\n"
            "  --json              one JSON object instead of the table\n"
            "  --quiet             no progress line\n"
            "  --help\n"
            "\n"
            "example: ecert-bench --workload issue --count 100000 --plot issue.png\n"
            "See docs/PERFORMANCE.md for the method and scripts/bench for the standard set.\n",
            S_SIGNERS_MAX);
}

/* --status-list N: the status_root of N certificates (ec_slist_root_mem), as end_block
 * computes it at every block (it reads the pages from the store as well). */
static int s_slist_bench(uint64_t n, bool json)
{
    size_t bytes = ec_slist_bytes(n);
    uint8_t *list = calloc(bytes ? bytes : 1, 1);
    if (!list) {
        fprintf(stderr, "ecert-bench: out of memory\n");
        return 1;
    }
    for (uint64_t i = 0; i < n; i += 97)
        ec_slist_set(list, i, (unsigned)(i % 4));
    double ms[9];
    uint8_t root[EC_HASH_BYTES];
    for (int k = 0; k < 9; k++) {
        uint64_t t0 = bench_now_ns();
        ec_slist_root_mem(root, list, n);
        ms[k] = (double)(bench_now_ns() - t0) / 1e6;
    }
    free(list);
    qsort(ms, 9, sizeof ms[0], s_cmp_d);
    double mbps = ms[4] > 0 ? (double)bytes / (ms[4] * 1000.0) : 0;
    if (json)
        printf("{\"certificates\":%llu,\"list_bytes\":%zu,\"root_ms_median\":%.3f,"
               "\"mb_per_s\":%.1f}\n",
               (unsigned long long)n, bytes, ms[4], mbps);
    else
        printf("status list of %llu certificates (%zu bytes, %llu pages): root in %.3f ms "
               "(median of 9; min %.3f, max %.3f), %.0f MB/s\n",
               (unsigned long long)n, bytes,
               (unsigned long long)((bytes + EC_SLIST_PAGE_BYTES - 1) / EC_SLIST_PAGE_BYTES), ms[4],
               ms[0], ms[8], mbps);
    return 0;
}

static unsigned long s_number(const char *arg, const char *opt, unsigned long min,
                              unsigned long max)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(arg, &end, 10);
    if (errno || *end || end == arg || v < min || v > max) {
        fprintf(stderr, "ecert-bench: %s expects a number from %lu to %lu, not '%s'\n", opt, min,
                max, arg);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    s_bench_t b = {.workload = "issue",
                   .count = 20000,
                   .signers = 16,
                   .connections = 4,
                   .window = 4000,
                   .payload_bytes = 256,
                   .progress = true};
    const char *env_dir = getenv("ECERT_DEVNET_DIR");
    snprintf(b.devnet, sizeof b.devnet, "%s", env_dir ? env_dir : ".devnet");
    snprintf(b.type, sizeof b.type, "degree");
    bool private_net = false;
    uint32_t validators = 1;
    uint64_t slist_n = 0;
    static const struct option opts[] = {{"devnet", required_argument, 0, 'd'},
                                         {"private", no_argument, 0, 'x'},
                                         {"validators", required_argument, 0, 'V'},
                                         {"workload", required_argument, 0, 'w'},
                                         {"type", required_argument, 0, 't'},
                                         {"count", required_argument, 0, 'n'},
                                         {"rate", required_argument, 0, 'r'},
                                         {"signers", required_argument, 0, 's'},
                                         {"connections", required_argument, 0, 'c'},
                                         {"gateway", required_argument, 0, 'G'},
                                         {"window", required_argument, 0, 'W'},
                                         {"payload-bytes", required_argument, 0, 'p'},
                                         {"plot", required_argument, 0, 'P'},
                                         {"resync", no_argument, 0, 'R'},
                                         {"status-list", required_argument, 0, 'L'},
                                         {"json", no_argument, 0, 'j'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
            case 'd':
                snprintf(b.devnet, sizeof b.devnet, "%s", optarg);
                break;
            case 'x':
                private_net = true;
                break;
            case 'L':
                slist_n = s_number(optarg, "--status-list", 1, EC_SLIST_CERTS_MAX);
                break;
            case 'V':
                validators = (uint32_t)s_number(optarg, "--validators", 1, 7);
                break;
            case 'w':
                b.workload = optarg;
                break;
            case 't':
                snprintf(b.type, sizeof b.type, "%s", optarg);
                break;
            case 'n':
                b.count = s_number(optarg, "--count", 1, 10000000);
                break;
            case 'r':
                b.rate = (double)s_number(optarg, "--rate", 1, 10000000);
                break;
            case 's':
                b.signers = (uint32_t)s_number(optarg, "--signers", 1, S_SIGNERS_MAX);
                break;
            case 'c':
                b.connections = (uint32_t)s_number(optarg, "--connections", 1, 250);
                b.connections_set = true;
                break;
            case 'G':
                snprintf(b.gateway, sizeof b.gateway, "%s", optarg);
                break;
            case 'W':
                b.window = (uint32_t)s_number(optarg, "--window", 1, 1000000);
                break;
            case 'p':
                b.payload_bytes = (uint32_t)s_number(optarg, "--payload-bytes",
                                                     EC_SEAL_OVERHEAD + 1, EC_PAYLOAD_BYTES_MAX);
                break;
            case 'P':
                b.plot = optarg;
                break;
            case 'R':
                b.resync = true;
                break;
            case 'j':
                b.json = true;
                break;
            case 'q':
                b.progress = false;
                break;
            case 'h':
                s_usage(stdout);
                return 0;
            default:
                s_usage(stderr);
                return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ecert-bench: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    if (slist_n)
        return s_slist_bench(slist_n, b.json);
    static const char *const workloads[] = {"register", "issue",         "inspect",
                                            "query",    "verify",        "contract",
                                            "evidence", "gateway-query", "gateway-submit"};
    bool known = false;
    for (size_t i = 0; i < sizeof workloads / sizeof workloads[0]; i++)
        known |= strcmp(b.workload, workloads[i]) == 0;
    if (!known) {
        fprintf(stderr,
                "ecert-bench: unknown workload '%s' (register, issue, inspect, query, "
                "verify, contract, evidence, gateway-query, gateway-submit)\n",
                b.workload);
        return 2;
    }
    if (validators > 1 && !private_net) {
        fprintf(stderr, "ecert-bench: --validators N starts a private network: it needs "
                        "--private (a running devnet has the validators it was started with)\n");
        return 2;
    }
    if (b.resync && (!private_net || validators < 2 || strcmp(b.workload, "verify") == 0 ||
                     strcmp(b.workload, "register") == 0)) {
        fprintf(stderr, "ecert-bench: --resync needs --private --validators N (N >= 2) and a "
                        "side-chain workload (issue, inspect, query)\n");
        return 2;
    }
    if (ec_crypto_init() != 0)
        s_die("libsodium failed to initialise%s", "");
    if (!b.json && !isatty(STDERR_FILENO))
        b.progress = false;
    bool gateway_workload = strncmp(b.workload, "gateway-", 8) == 0;
    if (gateway_workload && !b.connections_set)
        b.connections = 64;
    if (!gateway_workload && b.connections > 64) {
        fprintf(stderr, "ecert-bench: --connections is at most 64 over ZeroMQ\n");
        return 2;
    }
    if (private_net)
        s_private_up(b.type, validators, b.devnet, sizeof b.devnet);
    s_devnet_dir = b.devnet;
    s_load_network(&b);

    double ed_rate = bench_ed25519_verify_rate(1000);
    s_report_t rep = {.load = {.workload = b.workload}};
    if (strcmp(b.workload, "register") == 0)
        s_run_register(&b, &rep);
    else if (strcmp(b.workload, "issue") == 0)
        s_run_issue(&b, &rep);
    else if (strcmp(b.workload, "inspect") == 0)
        s_run_inspect(&b, &rep);
    else if (strcmp(b.workload, "query") == 0)
        s_run_query(&b, &rep);
    else if (strcmp(b.workload, "contract") == 0)
        s_run_contract(&b, &rep);
    else if (strcmp(b.workload, "evidence") == 0)
        s_run_evidence(&b, &rep);
    else if (strcmp(b.workload, "gateway-query") == 0)
        s_run_gateway_query(&b, &rep);
    else if (strcmp(b.workload, "gateway-submit") == 0)
        s_run_gateway_submit(&b, &rep);
    else
        s_run_verify(&b, &rep);
    s_procs_sample(s_procs, s_nprocs);
    if (b.resync)
        s_run_resync(&b, &rep);

    if (b.json)
        s_report_json(&b, &rep, ed_rate);
    else
        s_report_human(&b, &rep, ed_rate);
    if (b.plot && strcmp(b.workload, "verify") != 0 && s_plot(&rep.load, b.plot) != 0)
        fprintf(stderr, "ecert-bench: could not draw %s (is gnuplot installed?)\n", b.plot);

    ec_key_destroy(&b.operator_key);
    ec_key_destroy(&b.ca);
    for (uint32_t i = 0; i < b.signers; i++) {
        ec_key_destroy(&b.signer[i]);
        ec_key_destroy(&b.inspector[i]);
    }
    for (uint32_t i = 0; i < S_HOLDERS; i++)
        ec_key_destroy(&b.holder[i]);
    bool ok = rep.load.ok > 0 && rep.load.failed == 0;
    return ok ? 0 : 1;
}
