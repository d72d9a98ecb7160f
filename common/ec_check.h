/*
 * ec_check.h - the store check behind `mainchaind --check` and `sidechaind --check`: reads
 * a node's data folder end to end, read-only, and reports the first fault.
 *
 * What it verifies, in this order (docs/OPERATIONS.md, "Checking a store"):
 *   1. RocksDB opens (paranoid checks) and every block of every table file matches its
 *      checksum (a full scan, no cache);
 *   2. the store belongs to this genesis;
 *   3. the guard record (ec_guard.h): the store reaches the highest block this node
 *      committed, with the same hash;
 *   4. every block 1..tip: it decodes strictly; its header equals the stored header; the
 *      height, chain id and prev_hash chain up from the genesis; block time never goes
 *      backwards; tx_root and tx_count match its transactions; every transaction's index
 *      entry points at it; xanchor_root matches its stored anchor entries; its commit
 *      verifies against the validator set; the history log holds its hash at its height
 *      and the header's hist_root is the log's root over the blocks before it;
 *   5. the application's own logs against the headers (app->check_block, e.g. the main
 *      chain's records log against each state root);
 *   6. nothing is stored above the tip.
 *
 * It can run while the node runs (it reads a snapshot), but is meant for a stopped node:
 * after a crash or a disk fault, before trusting a restored copy, and periodically to find
 * table files that went bad before anyone reads them.
 */
#ifndef EC_CHECK_H
#define EC_CHECK_H

#include <stdio.h>

#include "ec_app.h"
#include "ec_err.h"
#include "ec_types.h"

/*
 * Checks the store in data_dir against genesis; progress and the verdict go to `out` as
 * lines of text. `app` may be NULL (no application checks). Returns 0 when every check
 * passed, or the first fault's code with st describing it (EC_EIO for damage, EC_ECHAIN
 * for a store of another chain, EC_ESIG for a commit that does not verify).
 */
EC_WUR int ec_check_store(const char *data_dir, const ec_genesis_t *genesis, const ec_app_t *app,
                          FILE *out, ec_status_t *st);

#endif
