/*
 * test_config.c - ec_config: the YAML tree and its refusals (aliases, anchors, several
 * documents, duplicate keys, deep nesting, big files), the node config loader with its
 * defaults and every error path, genesis save/load round trips, and passphrase reading.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ec_config.h"
#include "ec_crypto.h"
#include "ec_log.h"
#include "test_util.h"

static char s_dir[64];
static char s_real[PATH_MAX];

static int group_setup(void **state)
{
    (void)state;
    tu_tmpdir_make(s_dir, sizeof s_dir, "ec-config");
    assert_non_null(realpath(s_dir, s_real));
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    tu_tmpdir_remove(s_dir);
    return 0;
}

/* Writes text to s_dir/name and returns the path (static buffer). */
static const char *s_write(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
    return path;
}

/* ---- YAML tree -------------------------------------------------------------------------- */

static void test_yaml_tree(void **state)
{
    (void)state;
    static const char text[] = "a: 1\n"
                               "b:\n"
                               "  c: hello world\n"
                               "  d: [x, 'y', \"z\"]\n"
                               "e:\n"
                               "  - {k: v}\n"
                               "  - 2\n"
                               "empty:\n";
    ec_status_t st = {0};
    ec_yaml_t *doc = ec_yaml_parse(text, strlen(text), &st);
    assert_non_null(doc);
    const ec_yaml_node_t *root = ec_yaml_root(doc);
    assert_true(ec_yaml_is_map(root));
    assert_int_equal(ec_yaml_count(root), 4);
    assert_string_equal(ec_yaml_key(root, 0), "a");
    assert_string_equal(ec_yaml_key(root, 3), "empty");
    assert_null(ec_yaml_key(root, 4));
    assert_string_equal(ec_yaml_scalar(ec_yaml_get(root, "a")), "1");
    assert_string_equal(ec_yaml_scalar(ec_yaml_lookup(root, "b.c")), "hello world");
    assert_int_equal(ec_yaml_line(ec_yaml_lookup(root, "b.c")), 3);
    const ec_yaml_node_t *d = ec_yaml_lookup(root, "b.d");
    assert_true(ec_yaml_is_seq(d));
    assert_int_equal(ec_yaml_count(d), 3);
    assert_string_equal(ec_yaml_scalar(ec_yaml_item(d, 1)), "y");
    assert_string_equal(ec_yaml_scalar(ec_yaml_item(d, 2)), "z");
    assert_null(ec_yaml_item(d, 3));
    assert_null(ec_yaml_scalar(d));
    const ec_yaml_node_t *e = ec_yaml_get(root, "e");
    assert_string_equal(ec_yaml_scalar(ec_yaml_get(ec_yaml_item(e, 0), "k")), "v");
    assert_string_equal(ec_yaml_scalar(ec_yaml_get(root, "empty")), "");
    assert_null(ec_yaml_get(root, "missing"));
    assert_null(ec_yaml_lookup(root, "b.c.x"));
    assert_null(ec_yaml_get(d, "x")); /* not a mapping */
    assert_false(ec_yaml_is_map(NULL));
    ec_yaml_destroy(&doc);
    assert_null(doc);
    ec_yaml_destroy(&doc);

    /* An empty document parses to no root. */
    doc = ec_yaml_parse("", 0, &st);
    assert_non_null(doc);
    assert_null(ec_yaml_root(doc));
    ec_yaml_destroy(&doc);
}

static void s_yaml_bad(const char *text, const char *why)
{
    ec_status_t st = {0};
    ec_yaml_t *doc = ec_yaml_parse(text, strlen(text), &st);
    if (doc)
        fail_msg("accepted: %s", text);
    assert_int_equal(st.code, EC_ECONFIG);
    if (!strstr(st.msg, why))
        fail_msg("message '%s' lacks '%s'", st.msg, why);
}

static void test_yaml_refusals(void **state)
{
    (void)state;
    s_yaml_bad("a: &x 1\nb: *x\n", "anchors are not allowed");
    s_yaml_bad("a: [1]\nb: *x\n", ""); /* undefined alias: parser error */
    s_yaml_bad("base: &b {k: v}\n", "anchors are not allowed");
    s_yaml_bad("a: 1\n---\nb: 2\n", "more than one YAML document");
    s_yaml_bad("a: 1\nb: 2\na: 3\n", "duplicate key 'a'");
    s_yaml_bad("? [1, 2]\n: v\n", "mapping keys must be plain scalars");
    s_yaml_bad("a: [1, 2\n", "<memory>:");
    s_yaml_bad("a: b: c\n", "<memory>:");

    /* 32 levels are fine, 33 are not. */
    char deep[128];
    memset(deep, '[', 32);
    memset(deep + 32, ']', 32);
    deep[64] = '\0';
    ec_status_t st = {0};
    ec_yaml_t *doc = ec_yaml_parse(deep, strlen(deep), &st);
    assert_non_null(doc);
    ec_yaml_destroy(&doc);
    memset(deep, '[', 33);
    memset(deep + 33, ']', 33);
    deep[66] = '\0';
    s_yaml_bad(deep, "nesting deeper than 32");

    /* Files over 1 MiB are refused before parsing. */
    size_t big = (1u << 20) + 1;
    char *text = malloc(big + 1);
    assert_non_null(text);
    memset(text, '#', big);
    text[big] = '\0';
    ec_status_clear(&st);
    assert_null(ec_yaml_parse(text, big, &st));
    assert_int_equal(st.code, EC_ETOOBIG);
    const char *path = s_write("big.yaml", text);
    free(text);
    ec_node_file_t nf;
    ec_status_clear(&st);
    assert_int_equal(ec_node_file_load(&nf, path, &st), EC_ECONFIG);
    assert_non_null(strstr(st.msg, "larger than"));

    /* A missing file is an I/O error naming the file. */
    ec_status_clear(&st);
    assert_null(ec_yaml_load("/nonexistent/x.yaml", &st));
    assert_non_null(strstr(st.msg, "/nonexistent/x.yaml"));
}

/* ---- node config ------------------------------------------------------------------------ */

#define S_HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define S_HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void test_node_config(void **state)
{
    (void)state;
    const char *path = s_write("node.yaml", "data_dir: ./data\n"
                                            "genesis: genesis.yaml\n"
                                            "validator_key: /etc/ecert/validator.key\n"
                                            "passphrase_file: ./validator.pass\n"
                                            "rpc: tcp://127.0.0.1:7100\n"
                                            "pub: tcp://127.0.0.1:7101\n"
                                            "block_interval_ms: 50\n"
                                            "block_txs_max: 20000\n"
                                            "verify_threads: 3\n"
                                            "mempool_max: 1000\n"
                                            "log_level: debug\n");
    ec_node_file_t nf;
    ec_status_t st = {0};
    assert_int_equal(ec_node_file_load(&nf, path, &st), 0);
    char want[PATH_MAX + 32];
    snprintf(want, sizeof want, "%s/data", s_real);
    assert_string_equal(nf.data_dir, want);
    snprintf(want, sizeof want, "%s/genesis.yaml", s_real);
    assert_string_equal(nf.genesis_path, want);
    assert_string_equal(nf.validator_key_path, "/etc/ecert/validator.key");
    snprintf(want, sizeof want, "%s/validator.pass", s_real);
    assert_string_equal(nf.passphrase_file, want);
    assert_string_equal(nf.rpc, "tcp://127.0.0.1:7100");
    assert_string_equal(nf.pub, "tcp://127.0.0.1:7101");
    assert_int_equal(nf.block_interval_ms, 50);
    assert_int_equal(nf.block_txs_max, 20000);
    assert_int_equal(nf.verify_threads, 3);
    assert_int_equal(nf.mempool_max, 1000);
    assert_int_equal(nf.log_level, EC_LOG_DEBUG);

    /* Defaults, and the other endpoint kinds. */
    path = s_write("min.yaml", "data_dir: d\ngenesis: g\nvalidator_key: k\n"
                               "rpc: ipc:///tmp/ecert.rpc\npub: inproc://pub\n");
    assert_int_equal(ec_node_file_load(&nf, path, &st), 0);
    assert_string_equal(nf.passphrase_file, "");
    assert_int_equal(nf.block_interval_ms, 20);
    assert_int_equal(nf.block_txs_max, 10000);
    assert_int_equal(nf.verify_threads, (uint32_t)sysconf(_SC_NPROCESSORS_ONLN));
    assert_int_equal(nf.mempool_max, 200000);
    assert_int_equal(nf.log_level, EC_LOG_INFO);
    assert_string_equal(nf.rpc, "ipc:///tmp/ecert.rpc");
    /* a chain of one: no p2p, no peers, no heartbeat; Tendermint's default timeouts */
    assert_string_equal(nf.p2p, "");
    assert_int_equal(nf.peer_count, 0);
    assert_int_equal(nf.heartbeat_ms, 0);
    assert_int_equal(nf.gossip_ms, 200);
    assert_int_equal(nf.timeouts.propose_ms, 1000);
    assert_int_equal(nf.timeouts.precommit_delta_ms, 250);
    assert_int_equal(nf.clients_max, 1024);
    assert_int_equal(nf.submit_bytes_max, 512u << 20);

    /* A validator of four: its p2p endpoint, its peers, its timings. */
    path = s_write("val.yaml", "data_dir: d\ngenesis: g\nvalidator_key: k\n"
                               "rpc: tcp://127.0.0.1:7100\npub: tcp://127.0.0.1:7101\n"
                               "p2p: tcp://127.0.0.1:7102\n"
                               "peers:\n"
                               "  - {pk: " S_HEX_A ", p2p: 'tcp://127.0.0.1:7112'}\n"
                               "  - pk: " S_HEX_B "\n"
                               "    p2p: ipc:///run/ecert/v3.p2p\n"
                               "heartbeat_ms: 5000\ngossip_ms: 100\n"
                               "timeout_propose_ms: 3000\ntimeout_propose_delta_ms: 0\n"
                               "timeout_prevote_ms: 700\ntimeout_prevote_delta_ms: 70\n"
                               "timeout_precommit_ms: 800\ntimeout_precommit_delta_ms: 80\n"
                               "clients_max: 10\nclient_reply_bytes_max: 1048576\n"
                               "client_submit_bytes_max: 2097152\nsubmit_bytes_max: 4194304\n");
    assert_int_equal(ec_node_file_load(&nf, path, &st), 0);
    assert_string_equal(nf.p2p, "tcp://127.0.0.1:7102");
    assert_int_equal(nf.peer_count, 2);
    assert_int_equal(nf.peers[0].pk[0], 0xaa);
    assert_int_equal(nf.peers[1].pk[31], 0xbb);
    assert_string_equal(nf.peers[0].endpoint, "tcp://127.0.0.1:7112");
    assert_string_equal(nf.peers[1].endpoint, "ipc:///run/ecert/v3.p2p");
    assert_int_equal(nf.heartbeat_ms, 5000);
    assert_int_equal(nf.gossip_ms, 100);
    assert_int_equal(nf.timeouts.propose_ms, 3000);
    assert_int_equal(nf.timeouts.propose_delta_ms, 0);
    assert_int_equal(nf.timeouts.prevote_ms, 700);
    assert_int_equal(nf.timeouts.prevote_delta_ms, 70);
    assert_int_equal(nf.timeouts.precommit_ms, 800);
    assert_int_equal(nf.timeouts.precommit_delta_ms, 80);
    assert_int_equal(nf.clients_max, 10);
    assert_int_equal(nf.client_reply_bytes_max, 1048576);
    assert_int_equal(nf.client_submit_bytes_max, 2097152);
    assert_int_equal(nf.submit_bytes_max, 4194304);
}

/* Loads a node config made of the valid base with `line` replaced or appended, and checks
 * the error code and message. */
static void s_node_bad(const char *drop, const char *add, int code, const char *why)
{
    static const char *const base[] = {
        "data_dir: ./data",          "genesis: ./genesis.yaml",   "validator_key: ./v.key",
        "rpc: tcp://127.0.0.1:7100", "pub: tcp://127.0.0.1:7101", NULL,
    };
    char text[1024] = "";
    for (const char *const *b = base; *b; b++) {
        if (drop && strncmp(*b, drop, strlen(drop)) == 0)
            continue;
        strcat(text, *b);
        strcat(text, "\n");
    }
    if (add)
        strcat(text, add);
    const char *path = s_write("bad.yaml", text);
    ec_node_file_t nf;
    ec_status_t st = {0};
    assert_int_equal(ec_node_file_load(&nf, path, &st), code);
    assert_int_equal(st.code, code);
    if (!strstr(st.msg, why))
        fail_msg("message '%s' lacks '%s'", st.msg, why);
    assert_non_null(strstr(st.msg, "bad.yaml"));
}

static void test_node_config_errors(void **state)
{
    (void)state;
    s_node_bad(NULL, "rcp: tcp://127.0.0.1:7102\n", EC_ECONFIG, "unknown key 'rcp'");
    s_node_bad("rpc", "rpc: http://127.0.0.1:7100\n", EC_ECONFIG,
               "bad.yaml: key 'rpc': expected an endpoint like tcp://127.0.0.1:7100");
    s_node_bad("rpc", "rpc: tcp://127.0.0.1\n", EC_ECONFIG, "key 'rpc': expected an endpoint");
    s_node_bad("rpc", "rpc: tcp://127.0.0.1:70000\n", EC_ECONFIG, "key 'rpc'");
    s_node_bad("rpc", "rpc: [tcp://127.0.0.1:7100]\n", EC_ECONFIG, "key 'rpc'");
    s_node_bad("pub", "pub: tcp://127.0.0.1:7100\n", EC_ECONFIG, "key 'pub'"); /* == rpc */
    s_node_bad("rpc", NULL, EC_ECONFIG, "missing key 'rpc'");
    s_node_bad("data_dir", NULL, EC_ECONFIG, "missing key 'data_dir'");
    s_node_bad("validator_key", NULL, EC_ECONFIG, "missing key 'validator_key'");
    s_node_bad(NULL, "block_txs_max: 20001\n", EC_ECONFIG,
               "key 'block_txs_max': expected an integer from 1 to 20000");
    s_node_bad(NULL, "block_interval_ms: -5\n", EC_ECONFIG, "key 'block_interval_ms'");
    s_node_bad(NULL, "block_interval_ms: 0\n", EC_ECONFIG, "key 'block_interval_ms'");
    s_node_bad(NULL, "verify_threads: two\n", EC_ECONFIG, "key 'verify_threads'");
    s_node_bad(NULL, "mempool_max: 99999999999999999999999\n", EC_ECONFIG, "key 'mempool_max'");
    /* above what the engine accepts: refused here, not silently lowered by the node */
    s_node_bad(NULL, "mempool_max: 262145\n", EC_ECONFIG, "key 'mempool_max'");
    s_node_bad(NULL, "verify_threads: 65\n", EC_ECONFIG, "key 'verify_threads'");
    s_node_bad(NULL, "log_level: loud\n", EC_ECONFIG, "key 'log_level'");
    s_node_bad(NULL, "genesis: again.yaml\n", EC_ECONFIG, "duplicate key 'genesis'");
    /* consensus settings */
    s_node_bad(NULL, "peers:\n  - {pk: " S_HEX_A ", p2p: 'tcp://127.0.0.1:7112'}\n", EC_ECONFIG,
               "key 'p2p': expected this node's p2p endpoint, since peers are listed");
    s_node_bad(NULL, "p2p: tcp://127.0.0.1:7102\npeers: {pk: x}\n", EC_ECONFIG,
               "key 'peers': expected a list");
    s_node_bad(NULL, "p2p: tcp://127.0.0.1:7102\npeers:\n  - {pk: abc, p2p: 'tcp://h:1'}\n",
               EC_ECONFIG, "peers[0].pk");
    s_node_bad(NULL, "p2p: tcp://127.0.0.1:7102\npeers:\n  - {p2p: 'tcp://h:1'}\n", EC_ECONFIG,
               "missing key 'peers[0].pk'");
    s_node_bad(NULL, "p2p: tcp://127.0.0.1:7102\npeers:\n  - {pk: " S_HEX_A ", p2p: 'http://h'}\n",
               EC_ECONFIG, "key 'peers[0].p2p'");
    s_node_bad(NULL,
               "p2p: tcp://127.0.0.1:7102\npeers:\n  - {pk: " S_HEX_A ", p2p: 'tcp://h:1', x: 1}\n",
               EC_ECONFIG, "unknown key");
    s_node_bad(NULL,
               "p2p: tcp://127.0.0.1:7102\npeers:\n  - {pk: " S_HEX_A ", p2p: 'tcp://h:1'}\n"
               "  - {pk: " S_HEX_A ", p2p: 'tcp://h:2'}\n",
               EC_ECONFIG, "peers[1].pk names the key of peers[0]");
    s_node_bad(NULL, "p2p: tcp://127.0.0.1:7100\n", EC_ECONFIG, "key 'p2p'"); /* == rpc */
    s_node_bad(NULL, "gossip_ms: 5\n", EC_ECONFIG, "key 'gossip_ms'");
    s_node_bad(NULL, "timeout_propose_ms: 0\n", EC_ECONFIG, "key 'timeout_propose_ms'");
    s_node_bad(NULL, "heartbeat_ms: 3600001\n", EC_ECONFIG, "key 'heartbeat_ms'");
    s_node_bad(NULL, "clients_max: 0\n", EC_ECONFIG, "key 'clients_max'");

    ec_node_file_t nf;
    ec_status_t st = {0};
    const char *path = s_write("list.yaml", "- a\n- b\n");
    assert_int_equal(ec_node_file_load(&nf, path, &st), EC_ECONFIG);
    assert_non_null(strstr(st.msg, "expected a mapping"));
    ec_status_clear(&st);
    assert_int_equal(ec_node_file_load(&nf, "/nonexistent/node.yaml", &st), EC_EIO);
    assert_non_null(strstr(st.msg, "/nonexistent"));
}

/* Where a listening endpoint can be reached from. */
static void test_endpoint_scope(void **state)
{
    (void)state;
    static const struct {
        const char *endpoint;
        ec_endpoint_scope_t scope;
    } cases[] = {
        {"tcp://127.0.0.1:7100", EC_ENDPOINT_LOOPBACK},
        {"tcp://127.8.9.10:7100", EC_ENDPOINT_LOOPBACK},
        {"tcp://localhost:7100", EC_ENDPOINT_LOOPBACK},
        {"tcp://lo:7100", EC_ENDPOINT_LOOPBACK},
        {"tcp://[::1]:7100", EC_ENDPOINT_LOOPBACK},
        {"tcp://[::ffff:127.0.0.1]:7100", EC_ENDPOINT_LOOPBACK},
        {"tcp://127.0.0.1:*", EC_ENDPOINT_LOOPBACK},
        {"tcp://0.0.0.0:7100", EC_ENDPOINT_NETWORK},
        {"tcp://*:7100", EC_ENDPOINT_NETWORK},
        {"tcp://[::]:7100", EC_ENDPOINT_NETWORK},
        {"tcp://10.1.2.3:7100", EC_ENDPOINT_NETWORK},
        {"tcp://128.0.0.1:7100", EC_ENDPOINT_NETWORK},
        {"tcp://[::2]:7100", EC_ENDPOINT_NETWORK},
        {"tcp://[::ffff:10.0.0.1]:7100", EC_ENDPOINT_NETWORK},
        {"tcp://127.0.0.1.example.org:7100", EC_ENDPOINT_NETWORK},
        {"tcp://eth0:7100", EC_ENDPOINT_NETWORK},
        {"tcp://node1.example.org:7100", EC_ENDPOINT_NETWORK},
        {"ipc:///run/ecert/rpc", EC_ENDPOINT_IPC},
        {"ipc://@abstract", EC_ENDPOINT_IPC},
        {"inproc://rpc", EC_ENDPOINT_OTHER},
        {"udp://127.0.0.1:7100", EC_ENDPOINT_OTHER},
        {"", EC_ENDPOINT_OTHER},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (ec_config_endpoint_scope(cases[i].endpoint) != cases[i].scope)
            fail_msg("%s: scope %d, want %d", cases[i].endpoint,
                     (int)ec_config_endpoint_scope(cases[i].endpoint), (int)cases[i].scope);
}

/* Loads a node config whose rpc is `rpc` with warnings on; returns what was logged. */
static void s_node_rpc_log(const char *rpc, char *log, size_t cap)
{
    char text[512];
    snprintf(text, sizeof text,
             "data_dir: d\ngenesis: g\nvalidator_key: k\nrpc: %s\n"
             "pub: tcp://127.0.0.1:7101\n",
             rpc);
    const char *path = s_write("exposed.yaml", text);
    ec_node_file_t nf;
    ec_status_t st = {0};
    ec_log_init("test_config", EC_LOG_WARN);
    tu_stderr_t cap_err;
    tu_stderr_begin(&cap_err);
    int rc = ec_node_file_load(&nf, path, &st);
    tu_stderr_end(&cap_err, log, cap);
    ec_log_init("test_config", EC_LOG_ERROR);
    if (rc != 0)
        fail_msg("%s refused: %s", rpc, st.msg);
    assert_string_equal(nf.rpc, rpc);
}

/* An rpc endpoint others can reach is accepted, with a warning that says what it exposes. */
static void test_node_config_rpc_exposure(void **state)
{
    (void)state;
    char log[2048];
    s_node_rpc_log("tcp://0.0.0.0:7100", log, sizeof log);
    if (!strstr(log, "WARN") ||
        !strstr(log, "rpc tcp://0.0.0.0:7100 listens beyond this machine") ||
        !strstr(log, "submit transactions and read every query") || !strstr(log, "exposed.yaml"))
        fail_msg("no exposure warning for 0.0.0.0: '%s'", log);
    s_node_rpc_log("tcp://*:7100", log, sizeof log);
    assert_non_null(strstr(log, "listens beyond this machine"));
    s_node_rpc_log("ipc:///tmp/ecert-test.rpc", log, sizeof log);
    if (!strstr(log, "rpc ipc:///tmp/ecert-test.rpc is a socket file") ||
        !strstr(log, "submit transactions and read every query") || !strstr(log, "umask"))
        fail_msg("no exposure warning for ipc: '%s'", log);
    /* Loopback is what the devnet uses: no warning at all. */
    s_node_rpc_log("tcp://127.0.0.1:7100", log, sizeof log);
    assert_string_equal(log, "");
    s_node_rpc_log("tcp://[::1]:7100", log, sizeof log);
    assert_string_equal(log, "");
}

/* ---- genesis ---------------------------------------------------------------------------- */

static void s_genesis_main(ec_genesis_t *g)
{
    memset(g, 0, sizeof *g);
    strcpy(g->chain_id, "ecert-main-dev");
    g->kind = EC_CHAIN_MAIN;
    g->time_ms = 1763700000000ull;
    g->validators.count = 2;
    memset(g->validators.v[0].pk, 0xab, 32);
    g->validators.v[0].power = 1;
    for (int i = 0; i < 32; i++)
        g->validators.v[1].pk[i] = (uint8_t)i;
    g->validators.v[1].power = 4294967295u;
    g->operator_count = 2;
    g->operator_quorum = 1;
    memset(g->operators[0], 0x01, 32);
    memset(g->operators[1], 0xfe, 32);
}

static void s_genesis_side(ec_genesis_t *g)
{
    memset(g, 0, sizeof *g);
    strcpy(g->chain_id, "ecert-degree-dev");
    g->kind = EC_CHAIN_SIDE;
    strcpy(g->cert_type, "degree");
    g->time_ms = 0;
    g->validators.count = 1;
    memset(g->validators.v[0].pk, 0x42, 32);
    g->validators.v[0].power = 10;
    strcpy(g->main_chain_id, "ecert-main-dev");
    memset(g->main_genesis_hash, 0x99, 32);
    g->main_validators.count = 1;
    memset(g->main_validators.v[0].pk, 0xab, 32);
    g->main_validators.v[0].power = 1;
    g->main_freshness_ms = 45000;
}

static void test_genesis_round_trip(void **state)
{
    (void)state;
    ec_genesis_t g, back;
    ec_status_t st = {0};
    char path[256];
    for (int kind = 0; kind < 4; kind++) {
        if (kind == 0)
            s_genesis_main(&g);
        else if (kind == 1) {
            s_genesis_main(&g); /* two operators, both needed */
            g.operator_quorum = 2;
        } else if (kind == 2) {
            s_genesis_side(&g); /* hosting contracts */
            g.features = EC_GENESIS_F_CONTRACTS;
        } else
            s_genesis_side(&g);
        snprintf(path, sizeof path, "%s/genesis-%d.yaml", s_dir, kind);
        assert_int_equal(ec_genesis_save(&g, path, &st), 0);
        assert_int_equal(ec_genesis_load(&back, path, &st), 0);
        assert_memory_equal(&g, &back, sizeof g);
        /* Never overwritten. */
        ec_status_clear(&st);
        assert_int_equal(ec_genesis_save(&g, path, &st), EC_EEXIST);
        assert_int_equal(st.code, EC_EEXIST);
    }
    /* The file reads as ordinary YAML. */
    ec_yaml_t *doc = ec_yaml_load(path, &st);
    assert_non_null(doc);
    assert_string_equal(ec_yaml_scalar(ec_yaml_get(ec_yaml_root(doc), "cert_type")), "degree");
    ec_yaml_destroy(&doc);

    /* No temporary files are left behind. */
    DIR *dir = opendir(s_dir);
    assert_non_null(dir);
    for (struct dirent *de = readdir(dir); de; de = readdir(dir))
        assert_null(strstr(de->d_name, ".tmp."));
    closedir(dir);

    /* A hand-written genesis with flow style. */
    const char *hand =
        s_write("hand.yaml", "chain_id: ecert-main-dev\n"
                             "kind: main\n"
                             "time_ms: 1763700000000\n"
                             "validators: [{pk: ABABABABABABABABABABABABABABABABABABABABABABABAB"
                             "ABABABABABABABAB, power: 1}]\n"
                             "operators: []\n");
    assert_int_equal(ec_genesis_load(&back, hand, &st), 0);
    assert_int_equal(back.validators.count, 1);
    assert_int_equal(back.validators.v[0].pk[31], 0xab);
    assert_int_equal(back.operator_count, 0);

    /* Refuses to write nonsense. */
    s_genesis_main(&g);
    g.kind = 7;
    snprintf(path, sizeof path, "%s/never.yaml", s_dir);
    assert_int_equal(ec_genesis_save(&g, path, &st), EC_EINVAL);
    assert_int_equal(access(path, F_OK), -1);
}

static void s_genesis_bad(const char *text, const char *why)
{
    const char *path = s_write("gbad.yaml", text);
    ec_genesis_t g;
    ec_status_t st = {0};
    assert_int_equal(ec_genesis_load(&g, path, &st), EC_ECONFIG);
    if (!strstr(st.msg, why))
        fail_msg("message '%s' lacks '%s'", st.msg, why);
    assert_non_null(strstr(st.msg, "gbad.yaml"));
}

#define PK_A "abababababababababababababababababababababababababababababababab"
#define PK_B "0101010101010101010101010101010101010101010101010101010101010101"
#define MAIN_HEAD "chain_id: ecert-main-dev\nkind: main\ntime_ms: 1\n"
#define SIDE_HEAD                                                                                  \
    "chain_id: ecert-degree-dev\nkind: side\ncert_type: degree\ntime_ms: 1\n"                      \
    "validators: [{pk: " PK_A ", power: 1}]\nmain_chain_id: ecert-main-dev\n"

static void test_genesis_errors(void **state)
{
    (void)state;
    s_genesis_bad(MAIN_HEAD "validators: [{pk: " PK_A ", power: 1}]\noperators: [" PK_B
                            "]\nextra: 1\n",
                  "unknown key 'extra'");
    s_genesis_bad(MAIN_HEAD "validators: [{pk: abcd, power: 1}]\noperators: []\n",
                  "key 'validators[0].pk': expected 64 hex digits");
    s_genesis_bad(MAIN_HEAD "validators: [{pk: " PK_A "zz, power: 1}]\noperators: []\n",
                  "key 'validators[0].pk'");
    s_genesis_bad(MAIN_HEAD "validators: [{pk: " PK_A ", power: 0}]\noperators: []\n",
                  "key 'validators[0].power'");
    s_genesis_bad(MAIN_HEAD "validators: [{pk: " PK_A ", power: 1, weight: 2}]\noperators: []\n",
                  "unknown key 'validators[0].weight'");
    s_genesis_bad(MAIN_HEAD "validators: [{pk: " PK_A ", power: 1}, {pk: " PK_A
                            ", power: 1}]\noperators: []\n",
                  "key 'validators[1].pk': expected a key not listed twice");
    s_genesis_bad(MAIN_HEAD "validators: []\noperators: []\n", "key 'validators'");
    s_genesis_bad(MAIN_HEAD "operators: []\n", "missing key 'validators'");
    s_genesis_bad(MAIN_HEAD "validators: [{pk: " PK_A ", power: 1}]\n", "missing key 'operators'");
    s_genesis_bad(MAIN_HEAD "validators: [{pk: " PK_A ", power: 1}]\noperators: [xyz]\n",
                  "key 'operators[0]': expected 64 hex digits");
    s_genesis_bad(MAIN_HEAD "validators: [{pk: " PK_A ", power: 1}]\noperators: [" PK_B
                            "]\noperator_quorum: 2\n",
                  "key 'operator_quorum': expected an integer from 1 to 1");
    s_genesis_bad(SIDE_HEAD "main_genesis_hash: " PK_B "\nmain_validators: [{pk: " PK_A
                            ", power: 1}]\noperator_quorum: 1\n",
                  "key 'operator_quorum': only allowed when kind is main");
    s_genesis_bad(MAIN_HEAD "validators: [{pk: " PK_A ", power: 1}]\noperators: []\n"
                            "cert_type: degree\n",
                  "key 'cert_type': only allowed when kind is side");
    s_genesis_bad("chain_id: x\nkind: middle\ntime_ms: 1\n", "key 'kind': expected main or side");
    s_genesis_bad("chain_id: bad id!\nkind: main\n", "key 'chain_id'");
    s_genesis_bad("kind: main\n", "missing key 'chain_id'");
    s_genesis_bad("chain_id: x\nkind: main\ntime_ms: soon\n", "key 'time_ms'");
    s_genesis_bad(SIDE_HEAD "main_validators: [{pk: " PK_A ", power: 1}]\n",
                  "missing key 'main_genesis_hash'");
    s_genesis_bad(SIDE_HEAD "main_genesis_hash: 1234\nmain_validators: [{pk: " PK_A
                            ", power: 1}]\n",
                  "key 'main_genesis_hash': expected 64 hex digits");
    s_genesis_bad(SIDE_HEAD "main_genesis_hash: " PK_B "\n", "missing key 'main_validators'");
    s_genesis_bad(SIDE_HEAD "main_genesis_hash: " PK_B "\nmain_validators: [{pk: " PK_A
                            ", power: 1}]\noperators: []\n",
                  "key 'operators': only allowed when kind is main");
    s_genesis_bad("chain_id: ecert-x\nkind: side\ncert_type: Degree!\ntime_ms: 1\n"
                  "validators: [{pk: " PK_A ", power: 1}]\n",
                  "key 'cert_type'");
}

/* ---- passphrases ------------------------------------------------------------------------ */

static void s_pass_ok(const char *content, const char *want, mode_t mode)
{
    const char *path = s_write("pass", content);
    assert_int_equal(chmod(path, mode), 0);
    ec_status_t st = {0};
    char *p = ec_passphrase_read(path, &st);
    if (!p)
        fail_msg("refused '%s': %s", content, st.msg);
    assert_string_equal(p, want);
    ec_passphrase_free(&p);
    assert_null(p);
    ec_passphrase_free(&p);
}

static void s_pass_bad(const char *content, int code, const char *why)
{
    const char *path = s_write("pass", content);
    assert_int_equal(chmod(path, 0600), 0);
    ec_status_t st = {0};
    assert_null(ec_passphrase_read(path, &st));
    assert_int_equal(st.code, code);
    if (!strstr(st.msg, why))
        fail_msg("message '%s' lacks '%s'", st.msg, why);
    assert_null(strstr(st.msg, content[0] ? content : "\x01")); /* never echoes the secret */
}

static void test_passphrase(void **state)
{
    (void)state;
    unsetenv("ECERT_PASSPHRASE");
    s_pass_ok("correct horse\n", "correct horse", 0600);
    s_pass_ok("no newline", "no newline", 0600);
    s_pass_ok("windows\r\n", "windows", 0600);
    s_pass_ok("  spaces kept  \n", "  spaces kept  ", 0600);
    s_pass_ok("owner only\n", "owner only", 0400);
    s_pass_bad("", EC_ECONFIG, "empty passphrase");
    s_pass_bad("\n", EC_ECONFIG, "empty passphrase");
    s_pass_bad("two\nlines\n", EC_ECONFIG, "one line");
    s_pass_bad("trailing blank\n\n", EC_ECONFIG, "one line");

    char big[EC_PASSPHRASE_MAX + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    s_pass_bad(big, EC_ECONFIG, "longer than");
    big[EC_PASSPHRASE_MAX] = '\0'; /* exactly the maximum is fine */
    char *want = strdup(big);
    big[EC_PASSPHRASE_MAX] = '\n';
    s_pass_ok(big, want, 0600);
    free(want);

    /* A file that group or others may read or write is refused, naming mode and fix. */
    static const mode_t open_to_others[] = {0644, 0640, 0604, 0620, 0602, 0660};
    for (size_t i = 0; i < sizeof open_to_others / sizeof open_to_others[0]; i++) {
        const char *pass = s_write("pass", "readable\n");
        assert_int_equal(chmod(pass, open_to_others[i]), 0);
        ec_status_t bad = {0};
        assert_null(ec_passphrase_read(pass, &bad));
        assert_int_equal(bad.code, EC_ECONFIG);
        char mode[16];
        snprintf(mode, sizeof mode, "mode %04o", (unsigned)open_to_others[i]);
        if (!strstr(bad.msg, mode) || !strstr(bad.msg, "chmod 600") || !strstr(bad.msg, pass))
            fail_msg("message '%s' lacks the file, '%s' or the chmod fix", bad.msg, mode);
        assert_null(strstr(bad.msg, "readable")); /* never echoes the secret */
    }

    ec_status_t st = {0};
    char path[256];
    snprintf(path, sizeof path, "%s/missing.pass", s_dir);
    assert_null(ec_passphrase_read(path, &st));
    assert_int_equal(st.code, EC_ENOTFOUND);

    /* From the environment when no file is named. */
    ec_status_clear(&st);
    assert_null(ec_passphrase_read("", &st));
    assert_int_equal(st.code, EC_ECONFIG);
    assert_non_null(strstr(st.msg, "ECERT_PASSPHRASE"));
    setenv("ECERT_PASSPHRASE", "from env", 1);
    char *p = ec_passphrase_read(NULL, &st);
    assert_non_null(p);
    assert_string_equal(p, "from env");
    ec_passphrase_free(&p);
    setenv("ECERT_PASSPHRASE", "", 1);
    assert_null(ec_passphrase_read("", &st));
    assert_int_equal(st.code, EC_ECONFIG);
    unsetenv("ECERT_PASSPHRASE");
}

int main(void)
{
    assert_int_equal(ec_crypto_init(), 0);
    ec_log_init("test_config", EC_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml_tree),
        cmocka_unit_test(test_yaml_refusals),
        cmocka_unit_test(test_node_config),
        cmocka_unit_test(test_node_config_errors),
        cmocka_unit_test(test_genesis_round_trip),
        cmocka_unit_test(test_genesis_errors),
        cmocka_unit_test(test_passphrase),
        cmocka_unit_test(test_endpoint_scope),
        cmocka_unit_test(test_node_config_rpc_exposure),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
