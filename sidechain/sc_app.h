/*
 * sc_app.h - the side chain's rules: certificates of one type (the genesis names it) and a
 * mirror of the main-chain facts issuance depends on (docs/ARCHITECTURE.md section 9).
 *
 * The app never asks the main chain anything at run time. MAIN_ANCHOR transactions, which
 * anyone may submit, carry main headers with their commits and the main chain's records
 * (role grants and revocations, identity attestations) with Merkle proofs; the app checks
 * them against the main validator set in the genesis and keeps what it needs. ISSUE,
 * INSPECT, ACK, RENEW, CHANGE and REVOKE are then judged against that mirror alone.
 *
 * State layout and rules: docs/SIDECHAIN.md (also tabled at the top of sc_app.c). Query
 * paths: docs/PROTOCOL.md, "Side-chain queries".
 */
#ifndef SC_APP_H
#define SC_APP_H

#include "ec_app.h"
#include "ec_err.h"
#include "ec_types.h"

/*
 * Makes the side-chain app for `genesis` (copied; it must be a side-chain genesis with a
 * non-empty cert_type). Returns NULL and fills st (EC_ECHAIN for a wrong kind, EC_EINVAL
 * for a missing cert_type, EC_ENOMEM) on failure.
 */
ec_app_t *sc_app_new(const ec_genesis_t *genesis, ec_status_t *st);
/* Frees an app made by sc_app_new. NULL is allowed. */
void sc_app_free(ec_app_t *app);

#endif
