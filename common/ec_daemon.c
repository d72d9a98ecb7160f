/*
 * ec_daemon.c - the main() shared by mainchaind and sidechaind (contract in ec_daemon.h).
 *
 * Order matters: configuration errors are reported before anything is opened (exit 2);
 * the passphrase lives only until the validator key is decrypted and is wiped right after;
 * the node runs until SIGINT/SIGTERM (ec_node installs the handlers). The private key and
 * the passphrase are never printed or logged: only the validator's address is.
 */
#include "ec_daemon.h"

#include <assert.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec_check.h"
#include "ec_config.h"
#include "ec_crypto.h"
#include "ec_log.h"
#include "ec_metrics.h"
#include "ec_node.h"

enum { S_EXIT_OK = 0, S_EXIT_RUNTIME = 1, S_EXIT_CONFIG = 2 };

#ifndef EC_VERSION_STRING
#define EC_VERSION_STRING "0.1.0"
#endif

static void s_usage(FILE *out, const char *program)
{
    fprintf(out,
            "Usage: %s --config FILE [--check | --check-config | --adopt-store] [--sign-at-once]\n"
            "                  [--metrics ADDR]\n"
            "       %s --help | --version\n"
            "\n"
            "Runs one validator node of an ecert chain until SIGINT or SIGTERM.\n"
            "\n"
            "Options:\n"
            "  --config FILE   node configuration (YAML), required\n"
            "  --check         check the store in data_dir end to end, read-only: every\n"
            "                  RocksDB checksum, the guard record, the block hash chain,\n"
            "                  every commit, the history and records logs, block times;\n"
            "                  print what was checked and the first fault; exit 0 when\n"
            "                  the store is sound, 1 on a fault (docs/OPERATIONS.md)\n"
            "  --check-config  load and validate the configuration, genesis and validator\n"
            "                  key, print a summary and exit\n"
            "  --adopt-store   start on a store that has blocks but no guard file (made by\n"
            "                  an older version), taking it as complete; run --check first\n"
            "  --sign-at-once  with a new signer record (a validator that lost its data\n"
            "                  folder), take part at once instead of abstaining up to two\n"
            "                  heights past its peers' tips: only to restart a chain stopped\n"
            "                  because such a validator holds a third of the power or more,\n"
            "                  once sure it signed nothing there (docs/CONSENSUS.md, 4)\n"
            "  --metrics ADDR  serve Prometheus metrics on http://ADDR/metrics (IPv4:port,\n"
            "                  e.g. 127.0.0.1:7005); overrides the config's `metrics`\n"
            "  --help          this text\n"
            "  --version       print the version\n"
            "\n"
            "Configuration keys (relative paths are relative to the config file):\n"
            "  data_dir           ledger folder (RocksDB), created if missing\n"
            "  genesis            the chain's genesis YAML file\n"
            "  validator_key      encrypted validator key file\n"
            "  passphrase_file    optional; else the ECERT_PASSPHRASE environment variable\n"
            "  rpc                ROUTER endpoint for requests, e.g. tcp://127.0.0.1:7100\n"
            "  pub                PUB endpoint for committed headers, e.g. tcp://127.0.0.1:7101\n"
            "  block_interval_ms  optional, default 20\n"
            "  block_txs_max      optional, default 10000 (at most %u)\n"
            "  verify_threads     optional, default: number of online CPUs (at most 64)\n"
            "  mempool_max        optional, default 200000 (at most 262144)\n"
            "  p2p                this validator's CurveZMQ endpoint for the other validators\n"
            "                     (with more than one validator), e.g. tcp://10.0.0.1:7102\n"
            "  peers              the other validators: [{pk: <64 hex>, p2p: <endpoint>}, ...]\n"
            "  heartbeat_ms       optional: a block at least this often, even empty (the\n"
            "                     main chain: a third of the side chains' freshness bound)\n"
            "  gossip_ms, timeout_propose_ms, timeout_prevote_ms, timeout_precommit_ms and\n"
            "  their _delta_ms    optional consensus timing (docs/CONSENSUS.md)\n"
            "  clients_max, client_reply_bytes_max, client_submit_bytes_max,\n"
            "  submit_bytes_max   optional client bounds (docs/PROTOCOL.md)\n"
            "  log_level          optional: debug, info (default), warn, error\n"
            "  metrics            optional: Prometheus metrics address, e.g. 127.0.0.1:7005\n"
            "                     (docs/OPERATIONS.md, \"Metrics and alerts\")\n"
            "\n"
            "Unknown keys are errors. See docs/OPERATIONS.md for examples.\n"
            "Exit status: 0 after a clean stop, 1 on a runtime failure, 2 on bad usage or\n"
            "configuration.\n",
            program, program, EC_BLOCK_TXS_MAX);
}

/* What the command line asks for. */
typedef enum { S_MODE_RUN, S_MODE_CHECK_STORE, S_MODE_CHECK_CONFIG } s_mode_t;

typedef struct {
    const char *config;
    s_mode_t mode;
    bool adopt_store;
    bool sign_at_once;
    const char *metrics; /* --metrics ADDR, or NULL                              */
} s_args_t;

/* Parses the command line. Returns -1 to go on, or an exit code to stop with. */
static int s_options(int argc, char **argv, const char *program, s_args_t *args)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 'k'},
        {"check-config", no_argument, NULL, 'K'},
        {"adopt-store", no_argument, NULL, 'A'},
        {"sign-at-once", no_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"metrics", required_argument, NULL, 'M'},
        {NULL, 0, NULL, 0},
    };
    memset(args, 0, sizeof *args);
    optind = 1;
    opterr = 0;
    int opt, modes = 0;
    while ((opt = getopt_long(argc, argv, ":c:hV", longopts, NULL)) != -1) {
        switch (opt) {
            case 'c':
                args->config = optarg;
                break;
            case 'k':
                args->mode = S_MODE_CHECK_STORE;
                modes++;
                break;
            case 'K':
                args->mode = S_MODE_CHECK_CONFIG;
                modes++;
                break;
            case 'A':
                args->adopt_store = true;
                break;
            case 'S':
                args->sign_at_once = true;
                break;
            case 'M':
                if (!ec_metrics_addr_valid(optarg)) {
                    fprintf(stderr, "%s: --metrics %s: expected IPv4:port, e.g. 127.0.0.1:7005\n",
                            program, optarg);
                    return S_EXIT_CONFIG;
                }
                args->metrics = optarg;
                break;
            case 'h':
                s_usage(stdout, program);
                return S_EXIT_OK;
            case 'V':
                printf("%s %s\n", program, EC_VERSION_STRING);
                return S_EXIT_OK;
            case ':':
                fprintf(stderr, "%s: option %s needs an argument\n", program, argv[optind - 1]);
                return S_EXIT_CONFIG;
            default:
                fprintf(stderr, "%s: unknown option %s (try --help)\n", program, argv[optind - 1]);
                return S_EXIT_CONFIG;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s' (try --help)\n", program, argv[optind]);
        return S_EXIT_CONFIG;
    }
    if (modes > 1 || (modes > 0 && args->adopt_store)) {
        fprintf(stderr, "%s: --check, --check-config and --adopt-store exclude each other\n",
                program);
        return S_EXIT_CONFIG;
    }
    if (!args->config) {
        fprintf(stderr, "%s: --config FILE is required (try --help)\n", program);
        return S_EXIT_CONFIG;
    }
    return -1;
}

int ec_daemon_simple_options(int argc, char **argv, const char *program, void (*usage)(FILE *out),
                             const char **config)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    *config = NULL;
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":c:hV", longopts, NULL)) != -1) {
        switch (opt) {
            case 'c':
                *config = optarg;
                break;
            case 'h':
                usage(stdout);
                return S_EXIT_OK;
            case 'V':
                printf("%s %s\n", program, EC_VERSION_STRING);
                return S_EXIT_OK;
            case ':':
                fprintf(stderr, "%s: option %s needs a value\n", program, argv[optind - 1]);
                return S_EXIT_CONFIG;
            default:
                fprintf(stderr, "%s: unknown option %s\n", program, argv[optind - 1]);
                usage(stderr);
                return S_EXIT_CONFIG;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument %s\n", program, argv[optind]);
        return S_EXIT_CONFIG;
    }
    if (!*config) {
        fprintf(stderr, "%s: --config FILE is required\n", program);
        usage(stderr);
        return S_EXIT_CONFIG;
    }
    return -1;
}

int ec_daemon_key_load(const char *key_path, const char *passphrase_file, ec_key_t **key,
                       ec_status_t *st)
{
    char *pass = ec_passphrase_read(passphrase_file, st);
    if (!pass)
        return st->code ? st->code : EC_ECONFIG;
    int rc = ec_key_load(key, key_path, pass, st);
    ec_passphrase_free(&pass);
    return rc;
}

/* Everything main() loads before the node starts; freed by s_loaded_fini. */
typedef struct {
    ec_node_file_t file;  /* the node config                                            */
    ec_genesis_t genesis; /* the chain's genesis                                        */
    ec_key_t *key;        /* the validator key (secret half in sodium_malloc memory)    */
    char address[EC_ADDR_MAX];
} s_loaded_t;

static void s_loaded_fini(s_loaded_t *ld)
{
    ec_key_destroy(&ld->key);
}

static const char *s_kind_name(uint32_t kind)
{
    return kind == EC_CHAIN_MAIN ? "main" : kind == EC_CHAIN_SIDE ? "side" : "?";
}

/* Decrypts the validator key; the passphrase is wiped before this returns. */
static int s_key_load(s_loaded_t *ld, const char *program)
{
    ec_status_t st = {0};
    if (ec_daemon_key_load(ld->file.validator_key_path, ld->file.passphrase_file, &ld->key, &st) !=
        0) {
        fprintf(stderr, "%s: validator key: %s\n", program, st.msg);
        return S_EXIT_CONFIG;
    }
    ec_address_from_pk(ld->address, ec_key_pk(ld->key));
    for (uint32_t i = 0; i < ld->genesis.validators.count; i++)
        if (memcmp(ld->genesis.validators.v[i].pk, ec_key_pk(ld->key), EC_PK_BYTES) == 0)
            return -1;
    /* A validator that joins after the genesis (docs/OPERATIONS.md, "Adding or removing a
     * validator") starts outside the set: it connects to the validators, who admit it once
     * governance has added it, and it votes from the height its blocks say it joined. */
    ec_warn("%s: validator key %s (%s) is not in the genesis validator set of %s: this node "
            "votes only once governance adds it (until then `ecert node status` says \"not a "
            "validator\")",
            program, ld->file.validator_key_path, ld->address, ld->file.genesis_path);
    return -1;
}

/* Loads config and genesis, and the key unless `with_key` is false. Returns -1 to go on,
 * or an exit code. */
static int s_load(s_loaded_t *ld, const char *config, const char *program, uint32_t chain_kind,
                  bool with_key)
{
    ec_status_t st = {0};
    /* Warnings about the config (an rpc endpoint beyond loopback) name the daemon. */
    ec_log_init(program, EC_LOG_INFO);
    if (ec_node_file_load(&ld->file, config, &st) != 0) {
        fprintf(stderr, "%s: %s\n", program, st.msg);
        return S_EXIT_CONFIG;
    }
    ec_log_init(program, ld->file.log_level);
    if (ec_genesis_load(&ld->genesis, ld->file.genesis_path, &st) != 0) {
        fprintf(stderr, "%s: %s\n", program, st.msg);
        return S_EXIT_CONFIG;
    }
    if (ld->genesis.kind != chain_kind) {
        fprintf(stderr, "%s: %s: key 'kind': expected %s (this is %s), found %s\n", program,
                ld->file.genesis_path, s_kind_name(chain_kind), program,
                s_kind_name(ld->genesis.kind));
        return S_EXIT_CONFIG;
    }
    return with_key ? s_key_load(ld, program) : -1;
}

static void s_summary(const s_loaded_t *ld)
{
    const ec_node_file_t *f = &ld->file;
    printf("config ok\n"
           "  chain_id        %s\n"
           "  kind            %s%s%s\n"
           "  validators      %u\n"
           "  validator       %s\n"
           "  rpc             %s\n"
           "  pub             %s\n"
           "  data_dir        %s\n"
           "  genesis         %s\n"
           "  block_interval  %u ms\n"
           "  block_txs_max   %u\n"
           "  verify_threads  %u\n"
           "  mempool_max     %u\n"
           "  p2p             %s (%u peers)\n"
           "  heartbeat       %u ms\n"
           "  metrics         %s\n",
           ld->genesis.chain_id, s_kind_name(ld->genesis.kind), ld->genesis.cert_type[0] ? " " : "",
           ld->genesis.cert_type, ld->genesis.validators.count, ld->address, f->rpc, f->pub,
           f->data_dir, f->genesis_path, f->block_interval_ms, f->block_txs_max, f->verify_threads,
           f->mempool_max, f->p2p[0] ? f->p2p : "none", f->peer_count, f->heartbeat_ms,
           f->metrics[0] ? f->metrics : "none");
}

/* Checks the store (--check). Returns the exit code. */
static int s_check(s_loaded_t *ld, const char *program, ec_app_make_fn make_app,
                   ec_app_free_fn free_app)
{
    ec_status_t st = {0};
    ec_app_t *app = make_app(&ld->genesis, &st);
    if (!app) {
        fprintf(stderr, "%s: cannot make the application: %s\n", program, st.msg);
        return S_EXIT_RUNTIME;
    }
    printf("checking %s (chain %s)\n", ld->file.data_dir, ld->genesis.chain_id);
    int rc = ec_check_store(ld->file.data_dir, &ld->genesis, app, stdout, &st);
    if (free_app)
        free_app(app);
    return rc == 0 ? S_EXIT_OK : S_EXIT_RUNTIME;
}

/* Makes the app and the node, and serves until stopped. Returns the exit code. */
static int s_run(s_loaded_t *ld, const char *program, ec_app_make_fn make_app,
                 ec_app_free_fn free_app, const s_args_t *args)
{
    ec_status_t st = {0};
    ec_app_t *app = make_app(&ld->genesis, &st);
    if (!app) {
        ec_error("cannot start the %s application: %s", program, st.msg);
        return S_EXIT_RUNTIME;
    }
    ec_node_config_t cfg = {
        .data_dir = ld->file.data_dir,
        .rpc_endpoint = ld->file.rpc,
        .pub_endpoint = ld->file.pub,
        .genesis = &ld->genesis,
        .validator_key = ld->key,
        .block_interval_ms = ld->file.block_interval_ms,
        .block_txs_max = ld->file.block_txs_max,
        .verify_threads = ld->file.verify_threads,
        .mempool_max = ld->file.mempool_max,
        .adopt_store = args->adopt_store,
        .sign_at_once = args->sign_at_once,
        .clients_max = ld->file.clients_max,
        .client_reply_bytes_max = (size_t)ld->file.client_reply_bytes_max,
        .client_submit_bytes_max = (size_t)ld->file.client_submit_bytes_max,
        .submit_bytes_max = (size_t)ld->file.submit_bytes_max,
        .p2p_endpoint = ld->file.p2p,
        .peers = ld->file.peers,
        .peer_count = ld->file.peer_count,
        .heartbeat_ms = ld->file.heartbeat_ms,
        .gossip_ms = ld->file.gossip_ms,
        .timeouts = ld->file.timeouts,
        .metrics_addr = ld->file.metrics,
    };
    ec_info("starting chain_id=%s kind=%s%s%s rpc=%s pub=%s data_dir=%s validator=%s%s%s",
            ld->genesis.chain_id, s_kind_name(ld->genesis.kind),
            ld->genesis.cert_type[0] ? " cert_type=" : "", ld->genesis.cert_type, cfg.rpc_endpoint,
            cfg.pub_endpoint, cfg.data_dir, ld->address, cfg.metrics_addr[0] ? " metrics=" : "",
            cfg.metrics_addr);
    ec_node_t *node = ec_node_new(&cfg, app, &st);
    if (!node) {
        ec_error("cannot start the node: %s", st.msg);
        if (free_app)
            free_app(app);
        return S_EXIT_RUNTIME;
    }
    int rc = ec_node_run(node);
    ec_node_destroy(&node);
    if (free_app)
        free_app(app);
    if (rc != 0) {
        ec_error("stopped on error: %s", ec_strerror(rc));
        return S_EXIT_RUNTIME;
    }
    ec_info("stopped");
    return S_EXIT_OK;
}

int ec_daemon_main(int argc, char **argv, const char *program, uint32_t chain_kind,
                   ec_app_make_fn make_app, ec_app_free_fn free_app)
{
    assert(program && make_app);
    assert(chain_kind == EC_CHAIN_MAIN || chain_kind == EC_CHAIN_SIDE);
    /* glibc gives every thread that allocates its own arena (up to 8 per core); freed
     * memory then sits in arenas other threads never reuse. Four arenas measured 60 MB
     * less peak memory under a burst of issuance at the same throughput. */
    mallopt(M_ARENA_MAX, 4);
    if (ec_crypto_init() != 0) {
        fprintf(stderr, "%s: cannot initialise libsodium\n", program);
        return S_EXIT_RUNTIME;
    }
    /* SIGINT and SIGTERM stay pending until the node serves (ec_node_run unblocks them):
     * a stop asked for while the daemon is still starting ends it cleanly, with exit 0,
     * instead of killing it half-way through opening its store. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    s_args_t args;
    int code = s_options(argc, argv, program, &args);
    if (code >= 0)
        return code;

    s_loaded_t ld;
    memset(&ld, 0, sizeof ld);
    code = s_load(&ld, args.config, program, chain_kind, args.mode != S_MODE_CHECK_STORE);
    if (code < 0 && args.metrics)
        snprintf(ld.file.metrics, sizeof ld.file.metrics, "%s", args.metrics);
    if (code < 0) {
        if (args.mode == S_MODE_CHECK_CONFIG) {
            s_summary(&ld);
            code = S_EXIT_OK;
        } else if (args.mode == S_MODE_CHECK_STORE) {
            code = s_check(&ld, program, make_app, free_app);
        } else {
            code = s_run(&ld, program, make_app, free_app, &args);
        }
    }
    s_loaded_fini(&ld);
    return code;
}
