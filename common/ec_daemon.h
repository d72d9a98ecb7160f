/*
 * ec_daemon.h - the main() that mainchaind and sidechaind share: option parsing (--config,
 * --help, --version, --check), logging set-up, loading the node config, the genesis and the
 * passphrase-protected validator key, then running ec_node until SIGINT/SIGTERM.
 *
 * Exit codes: 0 after a clean stop, 1 on a runtime failure, 2 on bad usage or bad
 * configuration (the message names the file and the key).
 */
#ifndef EC_DAEMON_H
#define EC_DAEMON_H

#include <stdint.h>
#include <stdio.h>

#include "ec_app.h"
#include "ec_crypto.h"
#include "ec_types.h"

/* Makes the chain's app for this genesis, or returns NULL with st set. */
typedef ec_app_t *(*ec_app_make_fn)(const ec_genesis_t *genesis, ec_status_t *st);
/* Frees what ec_app_make_fn made. */
typedef void (*ec_app_free_fn)(ec_app_t *app);

/*
 * Runs a chain daemon. `program` names it in --help and logs; `chain_kind` is the genesis
 * kind it accepts (EC_CHAIN_MAIN or EC_CHAIN_SIDE). Returns the process exit code.
 */
int ec_daemon_main(int argc, char **argv, const char *program, uint32_t chain_kind,
                   ec_app_make_fn make_app, ec_app_free_fn free_app);

/* ---- what the other daemons (anchord, odsd) share -------------------------------------- */

/*
 * The command line of a daemon that takes `--config FILE | --help | --version` only:
 * usage(stdout) for --help, "<program> <version>" for --version. Returns -1 to go on with
 * *config set, or the exit code to stop with (0, or 2 after a message on stderr).
 */
int ec_daemon_simple_options(int argc, char **argv, const char *program, void (*usage)(FILE *out),
                             const char **config);
/*
 * Decrypts a daemon's key file with the passphrase from passphrase_file ("" or NULL: the
 * ECERT_PASSPHRASE environment variable), wiped before this returns. 0, or the error
 * (EC_ECRYPTO for a wrong passphrase, EC_EIO, ...) with st set; nothing is printed.
 */
EC_WUR int ec_daemon_key_load(const char *key_path, const char *passphrase_file, ec_key_t **key,
                              ec_status_t *st);

#endif
