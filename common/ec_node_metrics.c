/*
 * ec_node_metrics.c - the Prometheus series of a chain node (mainchaind, sidechaind), on
 * the registry of common/ec_metrics.h (ec_node_priv.h declares the functions).
 *
 * Where each value comes from, so that no scrape ever races the node:
 *   - the core thread sets the chain's gauges (height, mempool, round, validators, peers)
 *     after each turn of its loop from the engine's status, and counts blocks, their
 *     intervals (header times, the proposers' clocks: the same on every node) and their
 *     consensus rounds when one is stored;
 *   - the engine counts applied and refused transactions in its status; the core thread
 *     adds what is new to ecert_txs_total (the counts are written, never read, by chain
 *     logic);
 *   - every thread that answers a client's submission counts it by code;
 *   - the verifier queue is a gauge the rpc and core threads raise and the verifiers lower;
 *   - RocksDB's properties and the process's memory, descriptors and disk are read at
 *     scrape time (RocksDB's property calls are thread-safe; the ledger outlives the
 *     server, which ec_node_destroy stops first).
 * The list of series with their meaning is in docs/OPERATIONS.md, "Metrics and alerts".
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec_log.h"
#include "ec_node_priv.h"

/* Block interval buckets, seconds: from a loaded chain's 20 ms to a quiet chain's
 * heartbeat and beyond (a stalled chain shows in the +Inf bucket). */
static const double s_interval_bounds[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                           2.5,  5,     10,   30,  60,   300};
/* Transactions per block: up to EC_BLOCK_TXS_MAX. */
static const double s_block_txs_bounds[] = {0, 1, 10, 100, 1000, 10000, 100000};

/* A RocksDB property read at scrape time. */
typedef struct {
    const char *metric;   /* ecert_rocksdb_...                                   */
    const char *help;     /* its HELP                                            */
    const char *property; /* RocksDB's name                                      */
    bool per_cf;          /* summed over the column families                     */
} s_rocks_t;

static const s_rocks_t s_rocks[] = {
    {"ecert_rocksdb_live_data_bytes", "RocksDB's estimate of the live data size.",
     "rocksdb.estimate-live-data-size", true},
    {"ecert_rocksdb_sst_files_bytes", "Size of all RocksDB table (SST) files.",
     "rocksdb.total-sst-files-size", true},
    {"ecert_rocksdb_memtable_bytes", "Size of RocksDB's memtables, active and immutable.",
     "rocksdb.cur-size-all-mem-tables", true},
    {"ecert_rocksdb_keys", "RocksDB's estimate of the number of keys.", "rocksdb.estimate-num-keys",
     true},
    {"ecert_rocksdb_pending_compaction_bytes",
     "Bytes RocksDB estimates compaction must rewrite to settle.",
     "rocksdb.estimate-pending-compaction-bytes", true},
    {"ecert_rocksdb_running_compactions", "RocksDB compactions running now.",
     "rocksdb.num-running-compactions", false},
    {"ecert_rocksdb_running_flushes", "RocksDB memtable flushes running now.",
     "rocksdb.num-running-flushes", false},
    {"ecert_rocksdb_block_cache_bytes", "Memory held by RocksDB's shared block cache.",
     "rocksdb.block-cache-usage", false},
    {"ecert_rocksdb_background_errors", "RocksDB background errors since the store opened.",
     "rocksdb.background-errors", false},
};

#define S_ROCKS_COUNT (sizeof s_rocks / sizeof s_rocks[0])
_Static_assert(S_ROCKS_COUNT <= EC_NODE_ROCKS_MAX, "raise EC_NODE_ROCKS_MAX");

/* Reads one RocksDB property (arg: an ec_node_rocks_arg_t of node->metrics.rocks). */
static int s_rocks_read(void *arg, double *value)
{
    const ec_node_rocks_arg_t *a = arg;
    const s_rocks_t *what = &s_rocks[a->index];
    uint64_t v = 0;
    if (ec_ledger_property(a->node->ledger, what->property, what->per_cf, &v) != 0)
        return -1;
    *value = (double)v;
    return 0;
}

/* The series ecert_submit_total{code=NAME} for code (0 or an EC_E* code), registered on
 * first use: a lock once per code, then a plain atomic load. */
static ec_metric_t *s_submit_series(ec_node_t *node, int code)
{
    ec_node_metrics_t *m = &node->metrics;
    int i = -code;
    if (!m->reg || i < 0 || i >= EC_NODE_CODES_MAX)
        return NULL;
    ec_metric_t *s = atomic_load_explicit(&m->submit[i], memory_order_acquire);
    if (s)
        return s;
    s = ec_metrics_counter(m->reg, "ecert_submit_total",
                           "Client submissions answered by this node, by code (OK: committed "
                           "and applied; else the error, before or in the block).",
                           "chain_id", node->genesis.chain_id, "code",
                           code == 0 ? "OK" : ec_errname(code), NULL);
    atomic_store_explicit(&m->submit[i], s, memory_order_release);
    return s;
}

void ec_node_metrics_submit(ec_node_t *node, int code)
{
    ec_metrics_inc(s_submit_series(node, code));
}

/* Registers the gauges and counters the core thread writes. */
static void s_register_core(ec_node_t *node)
{
    ec_node_metrics_t *m = &node->metrics;
    ec_metrics_t *r = m->reg;
    const char *id = node->genesis.chain_id;
    m->height = ec_metrics_gauge(r, "ecert_chain_height", "Height of the last committed block.",
                                 "chain_id", id, NULL);
    m->interval = ec_metrics_histogram(
        r, "ecert_block_interval_seconds",
        "Time between consecutive committed blocks, from their headers (proposers' clocks).",
        s_interval_bounds, sizeof s_interval_bounds / sizeof s_interval_bounds[0], "chain_id", id,
        NULL);
    m->block_txs = ec_metrics_histogram(
        r, "ecert_block_txs", "Transactions per committed block.", s_block_txs_bounds,
        sizeof s_block_txs_bounds / sizeof s_block_txs_bounds[0], "chain_id", id, NULL);
    static const char txs_help[] =
        "Transactions in blocks stored by this node since it started, by result.";
    m->applied = ec_metrics_counter(r, "ecert_txs_total", txs_help, "chain_id", id, "result",
                                    "applied", NULL);
    m->refused = ec_metrics_counter(r, "ecert_txs_total", txs_help, "chain_id", id, "result",
                                    "refused", NULL);
    m->mempool = ec_metrics_gauge(
        r, "ecert_mempool_txs", "Verified transactions waiting for a block.", "chain_id", id, NULL);
    m->verify_queue =
        ec_metrics_gauge(r, "ecert_verify_queue_txs",
                         "Transactions queued for or in the signature verifiers (client "
                         "submissions and other validators' transactions).",
                         "chain_id", id, NULL);
    m->round = ec_metrics_gauge(r, "ecert_consensus_round",
                                "Consensus round of the height in progress (0: first round).",
                                "chain_id", id, NULL);
    m->rounds = ec_metrics_counter(r, "ecert_consensus_rounds_total",
                                   "Rounds beyond the first that stored blocks needed (each one "
                                   "a round that timed out), summed.",
                                   "chain_id", id, NULL);
    m->validators = ec_metrics_gauge(r, "ecert_validators", "Validators in the current set.",
                                     "chain_id", id, NULL);
    m->validating = ec_metrics_gauge(r, "ecert_validator_active",
                                     "1 when this node's key is in the current validator set.",
                                     "chain_id", id, NULL);
    m->peers = ec_metrics_gauge(r, "ecert_peers", "Other validators this node has a link to.",
                                "chain_id", id, NULL);
    m->catching_up = ec_metrics_gauge(r, "ecert_catching_up",
                                      "1 while a peer reports a higher tip than this node's.",
                                      "chain_id", id, NULL);
}

int ec_node_metrics_init(ec_node_t *node, ec_status_t *st)
{
    ec_node_metrics_t *m = &node->metrics;
    m->reg = ec_metrics_new();
    if (!m->reg)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    s_register_core(node);
    for (unsigned i = 0; i < S_ROCKS_COUNT; i++) {
        m->rocks[i] = (ec_node_rocks_arg_t){node, i};
        (void)ec_metrics_callback(m->reg, EC_METRICS_GAUGE, s_rocks[i].metric, s_rocks[i].help,
                                  s_rocks_read, &m->rocks[i], "chain_id", node->genesis.chain_id,
                                  NULL);
    }
    if (ec_metrics_add_process(m->reg, node->data_dir, "chain_id", node->genesis.chain_id, NULL) !=
        0)
        ec_warn("metrics: some process series could not be registered");
    ec_metrics_set(m->height, (double)ec_ledger_height(node->ledger));
    if (!node->metrics_addr || !node->metrics_addr[0])
        return 0;
    int rc = ec_metrics_serve(m->reg, node->metrics_addr);
    if (rc != 0)
        return ec_status_set(st, rc, "metrics: cannot serve on %s%s", node->metrics_addr,
                             rc == EC_EIO ? " (the port is taken?)" : "");
    return 0;
}

void ec_node_metrics_stop(ec_node_t *node)
{
    if (node->metrics.reg)
        ec_metrics_stop(node->metrics.reg);
}

void ec_node_metrics_fini(ec_node_t *node)
{
    ec_metrics_destroy(&node->metrics.reg);
}

void ec_node_metrics_block(ec_node_t *node, const uint8_t *header, size_t header_size,
                           const uint8_t *commit, size_t commit_size)
{
    ec_node_metrics_t *m = &node->metrics;
    ec_header_t h;
    if (ec_header_decode(&h, header, header_size) != 0)
        return;
    ec_metrics_set(m->height, (double)h.height);
    ec_metrics_observe(m->block_txs, (double)h.tx_count);
    /* The first block this process sees has no predecessor here to measure from. */
    if (m->last_time_ms && h.time_ms >= m->last_time_ms)
        ec_metrics_observe(m->interval, (double)(h.time_ms - m->last_time_ms) / 1000.0);
    m->last_time_ms = h.time_ms;
    ec_commit_t c;
    if (ec_commit_decode(&c, commit, commit_size) == 0)
        ec_metrics_add(m->rounds, c.round);
}

void ec_node_metrics_publish(ec_node_t *node, const ec_engine_status_t *es, uint32_t peers)
{
    ec_node_metrics_t *m = &node->metrics;
    ec_metrics_set(m->mempool, es->mempool);
    ec_metrics_set(m->round, (double)es->round);
    ec_metrics_set(m->validators, es->validators);
    ec_metrics_set(m->validating, es->validator != UINT32_MAX ? 1 : 0);
    ec_metrics_set(m->peers, peers);
    ec_metrics_set(m->catching_up, es->catching_up ? 1 : 0);
    if (es->txs_applied > m->applied_seen) {
        ec_metrics_add(m->applied, es->txs_applied - m->applied_seen);
        m->applied_seen = es->txs_applied;
    }
    if (es->txs_refused > m->refused_seen) {
        ec_metrics_add(m->refused, es->txs_refused - m->refused_seen);
        m->refused_seen = es->txs_refused;
    }
}
