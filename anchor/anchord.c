/*
 * anchord.c - the untrusted relay between the main chain and the side chains (docs/ARCHITECTURE.md
 * section 9; the loop is in ar_relay.c, the config format in ar_config.h).
 *
 *   anchord --config FILE | --help | --version
 *
 * Exit status: 0 after SIGINT/SIGTERM, 1 on a runtime failure, 2 on bad usage or bad
 * configuration (including a key that does not decrypt). The passphrase lives only until
 * the key is decrypted; neither is ever printed or logged, only the relay's address.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ar_config.h"
#include "ar_relay.h"
#include "ec_config.h"
#include "ec_daemon.h"
#include "ec_crypto.h"
#include "ec_log.h"
#include "ec_metrics.h"

enum { S_EXIT_OK = 0, S_EXIT_RUNTIME = 1, S_EXIT_CONFIG = 2 };

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

static void s_usage(FILE *out)
{
    fprintf(out,
            "Usage: anchord --config FILE\n"
            "       anchord --help | --version\n"
            "\n"
            "Relays side-chain headers to the main chain (ANCHOR) and main-chain headers with\n"
            "identity and role records to every side chain (MAIN_ANCHOR), until SIGINT or\n"
            "SIGTERM. The relay is untrusted: the chains check everything it sends.\n"
            "\n"
            "Configuration (YAML; relative paths are relative to the config file):\n"
            "  main:             {rpc: tcp://HOST:PORT, pub: tcp://HOST:PORT}\n"
            "  sides:            [{rpc: ..., pub: ...}, ...]  (ids come from `status`)\n"
            "  key:              encrypted key file that signs the anchor transactions\n"
            "  passphrase_file:  optional; else the ECERT_PASSPHRASE environment variable\n"
            "  interval_ms:      optional, default %d: cadence of anchoring rounds\n"
            "  log_level:        optional: debug, info (default), warn, error\n"
            "  metrics:          optional: Prometheus metrics address, e.g. 127.0.0.1:7305\n"
            "\n"
            "Unknown keys are errors. Exit status: 0 after a clean stop, 1 on a runtime\n"
            "failure, 2 on bad usage or configuration.\n",
            AR_INTERVAL_MS_DEFAULT);
}

static int s_load_key(const ar_config_t *cfg, ec_key_t **key)
{
    ec_status_t st;
    ec_status_clear(&st);
    if (ec_daemon_key_load(cfg->key_path, cfg->passphrase_file, key, &st) != 0) {
        ec_error("cannot load the relay key: %s", st.msg);
        return S_EXIT_CONFIG;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *config = NULL;
    int rc = ec_daemon_simple_options(argc, argv, "anchord", s_usage, &config);
    if (rc >= 0)
        return rc;
    ec_log_init("anchord", EC_LOG_INFO);
    if (ec_crypto_init() != 0) {
        ec_error("libsodium failed to initialise");
        return S_EXIT_RUNTIME;
    }
    ar_config_t cfg;
    ec_status_t st;
    ec_status_clear(&st);
    if (ar_config_load(&cfg, config, &st) != 0) {
        ec_error("%s", st.msg);
        return S_EXIT_CONFIG;
    }
    ec_log_init("anchord", cfg.log_level);
    ec_key_t *key = NULL;
    if ((rc = s_load_key(&cfg, &key)) != 0)
        return rc;
    char addr[EC_ADDR_MAX];
    ec_address_from_pk(addr, ec_key_pk(key));

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    ar_relay_t *relay = ar_relay_new(&cfg, &key, &st);
    if (!relay) {
        ec_key_destroy(&key);
        ec_error("%s", st.msg);
        return st.code == EC_ECONFIG ? S_EXIT_CONFIG : S_EXIT_RUNTIME;
    }
    /* The registry outlives the relay, which writes into it; the server stops first. */
    ec_metrics_t *metrics = ec_metrics_new();
    if (!metrics || ec_metrics_add_process(metrics, NULL, NULL) != 0) {
        ec_error("out of memory");
        ar_relay_destroy(&relay);
        ec_metrics_destroy(&metrics);
        return S_EXIT_RUNTIME;
    }
    ar_relay_metrics(relay, metrics);
    if (cfg.metrics[0] && (rc = ec_metrics_serve(metrics, cfg.metrics)) != 0) {
        ec_error("metrics: cannot serve on %s: %s", cfg.metrics, ec_strerror(rc));
        ar_relay_destroy(&relay);
        ec_metrics_destroy(&metrics);
        return S_EXIT_RUNTIME;
    }
    ec_info("relay %s started: main %s, %u side chain(s), every %u ms", addr, cfg.main.rpc[0],
            cfg.side_count, cfg.interval_ms);
    rc = ar_relay_run(relay, &s_stop);
    ec_metrics_stop(metrics);
    ar_relay_destroy(&relay);
    ec_metrics_destroy(&metrics);
    ec_info("stopped");
    return rc == 0 ? S_EXIT_OK : S_EXIT_RUNTIME;
}
