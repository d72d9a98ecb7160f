/*
 * mc_app.h - the main chain's application: identities (accounts), organizations, roles,
 * real-name attestations, side-chain registrations and the anchors of side-chain headers.
 * It implements the ec_app_t interface (common/ec_app.h) for mainchaind; the engine knows
 * nothing of these rules. Rules and the state layout are in docs/MAINCHAIN.md and in the
 * opening comment of mc_app.c; transaction bodies in common/ec_chain.h; query paths in
 * docs/PROTOCOL.md ("Main-chain queries").
 */
#ifndef MC_APP_H
#define MC_APP_H

#include "ec_app.h"
#include "ec_chain.h"
#include "ec_types.h"

/* Roles one account may hold at once (every grant is one state key and one record); the
 * protocol's limit, which clients size their replies by. */
#define MC_ACCOUNT_ROLES_MAX EC_ACCOUNT_ROLES_MAX
/* Side chains the `sidechains` query lists at most. */
#define MC_SIDECHAINS_MAX 4096

/*
 * Makes the main-chain app for `genesis` (copied; it must be a main-chain genesis).
 * Returns NULL and fills st (EC_ECHAIN for a side-chain genesis, EC_ENOMEM) on failure.
 * The shape of ec_app_make_fn (ec_daemon.h).
 */
ec_app_t *mc_app_new(const ec_genesis_t *genesis, ec_status_t *st);

/* Frees an app made by mc_app_new. NULL is a no-op. The shape of ec_app_free_fn. */
void mc_app_free(ec_app_t *app);

#endif
