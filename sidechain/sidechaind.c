/*
 * sidechaind.c - the side-chain daemon: the shared chain engine (ec_daemon) running the
 * certificate rules of sc_app. One binary serves every certificate type; the type comes
 * from the genesis named in the configuration.
 */
#include "ec_daemon.h"
#include "sc_app.h"

int main(int argc, char **argv)
{
    return ec_daemon_main(argc, argv, "sidechaind", EC_CHAIN_SIDE, sc_app_new, sc_app_free);
}
