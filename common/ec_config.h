/*
 * ec_config.h - YAML configuration (libyaml) for daemons and genesis files.
 *
 * A small read-only tree over a YAML document (mappings, sequences, scalars) with lookups
 * by dotted path, plus typed loaders for the files ecert uses. Formats, with examples, are
 * in docs/OPERATIONS.md; every key a loader does not know is an error (typos must not pass
 * silently), and every error names the file, the key and what was expected.
 *
 * Node config (mainchaind / sidechaind):
 *   data_dir: ./data            # relative paths are relative to the config file
 *   genesis: ./genesis.yaml
 *   validator_key: ./validator.key
 *   passphrase_file: ./validator.pass   # optional; else env ECERT_PASSPHRASE
 *   rpc: tcp://127.0.0.1:7100
 *   pub: tcp://127.0.0.1:7101
 *   block_interval_ms: 20       # optional, default 20
 *   block_txs_max: 10000        # optional
 *   verify_threads: 2           # optional, default: online cores
 *   mempool_max: 100000         # optional
 *   log_level: info             # optional
 *   p2p: tcp://127.0.0.1:7102   # several validators: this one's validator link endpoint
 *   peers:                      # and the chain's other validators
 *     - {pk: <64 hex digits>, p2p: "tcp://10.0.0.2:7102"}
 *   heartbeat_ms: 5000          # optional, 0: a block only when transactions wait
 *   timeout_propose_ms: 1000    # optional, and the other consensus timeouts
 *                               # (docs/CONSENSUS.md section 8)
 *   metrics: 127.0.0.1:7005     # optional: Prometheus metrics on http://ADDR/metrics
 *
 * Genesis:
 *   chain_id: ecert-main-dev
 *   kind: main | side
 *   cert_type: degree           # side only
 *   time_ms: 1763700000000
 *   validators: [{pk: <64 hex>, power: 1}]
 *   operators: [<64 hex>]       # main only
 *   main_chain_id: ...          # side only
 *   main_genesis_hash: <64 hex> # side only
 *   main_validators: [...]      # side only
 */
#ifndef EC_CONFIG_H
#define EC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ec_err.h"
#include "ec_metrics.h"
#include "ec_node.h"
#include "ec_types.h"

#define EC_PATH_MAX 4096
#define EC_ENDPOINT_MAX 128

/* ---- generic YAML tree ------------------------------------------------------------------ */

typedef struct ec_yaml ec_yaml_t; /* a parsed document (owns every node)              */
typedef struct ec_yaml_node ec_yaml_node_t;

/* Parses a YAML file. NULL with st set (file, line, problem) on failure. */
ec_yaml_t *ec_yaml_load(const char *path, ec_status_t *st);
/* Parses YAML from memory (tests). */
ec_yaml_t *ec_yaml_parse(const char *text, size_t size, ec_status_t *st);
void ec_yaml_destroy(ec_yaml_t **self_p);
const ec_yaml_node_t *ec_yaml_root(const ec_yaml_t *doc);

bool ec_yaml_is_map(const ec_yaml_node_t *n);
bool ec_yaml_is_seq(const ec_yaml_node_t *n);
/* Scalar text (borrowed) or NULL if n is not a scalar. */
const char *ec_yaml_scalar(const ec_yaml_node_t *n);
/* Value for key in a mapping, or NULL. */
const ec_yaml_node_t *ec_yaml_get(const ec_yaml_node_t *map, const char *key);
/* Number of items in a sequence or pairs in a mapping. */
size_t ec_yaml_count(const ec_yaml_node_t *n);
/* i-th item of a sequence, or NULL. */
const ec_yaml_node_t *ec_yaml_item(const ec_yaml_node_t *seq, size_t i);
/* i-th key of a mapping (borrowed), or NULL. */
const char *ec_yaml_key(const ec_yaml_node_t *map, size_t i);
/* Follows a dotted path of mapping keys ("main.rpc") from n; NULL when any step is absent. */
const ec_yaml_node_t *ec_yaml_lookup(const ec_yaml_node_t *n, const char *path);
/* 1-based line where n starts in its file (0 for NULL), for error messages. */
unsigned ec_yaml_line(const ec_yaml_node_t *n);

/* ---- checks every strict config loader shares (node, genesis, relay) -------------------- */

/*
 * Fails on the first key of the mapping `map` that is not in `allowed` (NULL-terminated).
 * Returns 0, or EC_ECONFIG with st set to "FILE:LINE: unknown key 'WHERE.KEY'" (`where`
 * is "" at the top level).
 */
EC_WUR int ec_yaml_keys_check(const ec_yaml_node_t *map, const char *file, const char *where,
                              const char *const *allowed, ec_status_t *st);
/* EC_ECONFIG with st set to "FILE:LINE: key 'KEY': expected WHAT" (n: the value found). */
int ec_yaml_expected(const ec_yaml_node_t *n, const char *file, const char *key, const char *what,
                     ec_status_t *st);
/*
 * The non-empty scalar under `key` of `map` into *out (borrowed from the document), or
 * NULL when the key is absent. Returns 0, or EC_ECONFIG (absent but required: "missing
 * key 'KEY' (WHAT)"; not a non-empty scalar: ec_yaml_expected).
 */
EC_WUR int ec_yaml_text(const ec_yaml_node_t *map, const char *file, const char *key, bool required,
                        const char *what, const char **out, ec_status_t *st);
/* ec_yaml_text for a path, a relative one resolved against `dir` (the config's folder),
 * into out ("" when absent). */
EC_WUR int ec_yaml_path(const ec_yaml_node_t *map, const char *file, const char *dir,
                        const char *key, bool required, char out[EC_PATH_MAX], ec_status_t *st);
/*
 * The optional key `metrics` of map (every daemon's Prometheus address, "IPV4:PORT",
 * ec_metrics_serve) into out, "" when absent. Returns 0, or EC_ECONFIG with st set for a
 * value that is not such an address. An address outside 127.0.0.0/8 draws a warning.
 */
EC_WUR int ec_yaml_metrics(const ec_yaml_node_t *map, const char *file,
                           char out[EC_METRICS_ADDR_MAX], ec_status_t *st);
/*
 * True for tcp://HOST:PORT (PORT 1..65535, or * when `bind`: a listening socket may take
 * any port; one that connects may not), ipc://PATH and inproc://NAME.
 */
bool ec_config_endpoint_valid(const char *endpoint, bool bind);
/* Who can reach an endpoint a node listens on (ec_config_endpoint_scope). */
typedef enum {
    EC_ENDPOINT_OTHER = 0, /* neither tcp:// nor ipc:// (inproc://, or not an endpoint)   */
    EC_ENDPOINT_LOOPBACK,  /* tcp:// on a loopback address: this machine only             */
    EC_ENDPOINT_NETWORK,   /* tcp:// on any other address, a wildcard, a name             */
    EC_ENDPOINT_IPC,       /* ipc://: a socket file, open to the local users its mode admits */
} ec_endpoint_scope_t;
/*
 * Classifies a listening endpoint, without validating it. LOOPBACK is tcp:// on an IPv4
 * address in 127.0.0.0/8, on [::1] or [::ffff:127.x.y.z], on "localhost" or on the
 * interface "lo"; every other tcp:// host is NETWORK, including "*", 0.0.0.0, [::], host
 * names and interface names such as eth0 (ZeroMQ binds those to the interface's
 * addresses). A pure function: it resolves no name.
 */
ec_endpoint_scope_t ec_config_endpoint_scope(const char *endpoint);
/*
 * Sets dir to the absolute folder of the file at `path`, the folder a config's relative
 * paths start from; the root folder is "" so that "dir/x" reads "/x". Returns 0, or EC_EIO
 * with st set when the folder cannot be resolved.
 */
EC_WUR int ec_config_dir(char dir[EC_PATH_MAX], const char *path, ec_status_t *st);

/* ---- typed loaders ---------------------------------------------------------------------- */

/* A node daemon's configuration, paths already resolved against the config's folder. */
typedef struct {
    char data_dir[EC_PATH_MAX];
    char genesis_path[EC_PATH_MAX];
    char validator_key_path[EC_PATH_MAX];
    char passphrase_file[EC_PATH_MAX]; /* "" when not set                                  */
    char rpc[EC_ENDPOINT_MAX];
    char pub[EC_ENDPOINT_MAX];
    uint32_t block_interval_ms;
    uint32_t block_txs_max;
    uint32_t verify_threads;
    uint32_t mempool_max;
    int log_level;
    /* Consensus (docs/CONSENSUS.md): this validator's p2p endpoint ("" for a chain of one)
     * and the other validators' keys and endpoints. */
    char p2p[EC_ENDPOINT_MAX];
    uint32_t peer_count;
    ec_node_peer_t peers[EC_NODE_PEERS_MAX];
    uint32_t heartbeat_ms;
    uint32_t gossip_ms;
    ec_tm_config_t timeouts;
    /* Per-client and node bounds (docs/PROTOCOL.md, "Sizes and bounds"). */
    uint32_t clients_max;
    uint64_t client_reply_bytes_max;
    uint64_t client_submit_bytes_max;
    uint64_t submit_bytes_max;
    char metrics[EC_METRICS_ADDR_MAX]; /* Prometheus address, "" for none (ec_yaml_metrics) */
} ec_node_file_t;

/*
 * Loads a node config file. Returns 0 or EC_ECONFIG / EC_EIO with st naming the problem.
 * An `rpc` endpoint that other machines (NETWORK) or other local users (IPC) may reach is
 * accepted with a warning in the log that says what is then exposed: whoever reaches the
 * ROUTER can submit transactions and read every query. `pub` only announces committed
 * headers, which are public, and draws no warning.
 */
EC_WUR int ec_node_file_load(ec_node_file_t *out, const char *path, ec_status_t *st);

/* Loads a genesis YAML file. Returns 0 or EC_ECONFIG / EC_EIO with st set. */
EC_WUR int ec_genesis_load(ec_genesis_t *out, const char *path, ec_status_t *st);
/* Writes a genesis YAML file (atomically; refuses to overwrite). 0, EC_EEXIST or EC_EIO. */
EC_WUR int ec_genesis_save(const ec_genesis_t *g, const char *path, ec_status_t *st);

/*
 * Reads a passphrase: from `file` when not empty (first line, without the newline),
 * else from the environment variable ECERT_PASSPHRASE. The result is in sodium_malloc
 * memory (free with ec_passphrase_free). NULL with st set when neither is available, and
 * (EC_ECONFIG, naming the mode and the chmod that fixes it) when group or others may read
 * or write the file.
 */
char *ec_passphrase_read(const char *file, ec_status_t *st);
void ec_passphrase_free(char **p);

#endif
