/*
 * mainchaind.c - the main (identity) chain daemon: the shared daemon entry point
 * (common/ec_daemon.h) running the main-chain application (mc_app.h).
 */
#include "ec_daemon.h"
#include "mc_app.h"

int main(int argc, char **argv)
{
    return ec_daemon_main(argc, argv, "mainchaind", EC_CHAIN_MAIN, mc_app_new, mc_app_free);
}
