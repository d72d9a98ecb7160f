/*
 * ar_config.h - anchord's configuration file (YAML, docs/OPERATIONS.md "Relay"):
 *
 *   main: {rpc: tcp://127.0.0.1:7000, pub: tcp://127.0.0.1:7001}
 *   sides:
 *     - {rpc: tcp://127.0.0.1:7100, pub: tcp://127.0.0.1:7101}
 *   key: ./anchor.key              # encrypted key file that signs the anchor transactions
 *   passphrase_file: ./passphrase  # optional; else the ECERT_PASSPHRASE variable
 *   interval_ms: 200               # optional, default 1000: cadence of anchoring rounds
 *   log_level: info                # optional
 *   metrics: 127.0.0.1:7305        # optional: Prometheus metrics on http://ADDR/metrics
 *
 * `pub` is optional everywhere (without it the relay only works on its timer). Relative
 * paths are relative to the config file's folder. Every unknown key is an error.
 */
#ifndef AR_CONFIG_H
#define AR_CONFIG_H

#include <stdint.h>

#include "ec_config.h"
#include "ec_err.h"

#define AR_SIDES_MAX 64
#define AR_INTERVAL_MS_DEFAULT 1000
#define AR_INTERVAL_MS_MIN 10
#define AR_INTERVAL_MS_MAX 600000

#define AR_ENDPOINTS_MAX 8 /* nodes of one chain the relay knows                      */

/* Where one chain's nodes listen: `rpc` and `pub` are each one endpoint or a list (a
 * chain of several validators). The relay talks to one rpc at a time and moves to the
 * next when it does not answer; it subscribes to every pub. */
typedef struct {
    uint32_t rpc_count; /* 1..AR_ENDPOINTS_MAX                                          */
    char rpc[AR_ENDPOINTS_MAX][EC_ENDPOINT_MAX];
    uint32_t pub_count; /* 0 when not configured                                        */
    char pub[AR_ENDPOINTS_MAX][EC_ENDPOINT_MAX];
} ar_endpoint_t;

typedef struct {
    ar_endpoint_t main;
    uint32_t side_count;
    ar_endpoint_t sides[AR_SIDES_MAX];
    char key_path[EC_PATH_MAX];
    char passphrase_file[EC_PATH_MAX]; /* "" when not set                                   */
    uint32_t interval_ms;
    int log_level;
    char metrics[EC_METRICS_ADDR_MAX]; /* "" when not set (ec_yaml_metrics)               */
} ar_config_t;

/*
 * Loads the config file at `path`. Returns 0, or EC_ECONFIG / EC_EIO with st naming the
 * file, the key and what was expected.
 */
EC_WUR int ar_config_load(ar_config_t *cfg, const char *path, ec_status_t *st);
/* The same from memory; `name` is used in messages, relative paths start at `dir`. */
EC_WUR int ar_config_parse(ar_config_t *cfg, const char *text, size_t size, const char *name,
                           const char *dir, ec_status_t *st);

#endif
