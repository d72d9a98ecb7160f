/*
 * fuzz_sidechain.c - libFuzzer target for the side chain's transaction-body decoders
 * (sidechain/sc_app.c check_tx, including MAIN_ANCHOR's records and proofs); see
 * fuzz_apptx.h.
 */
#include "fuzz_apptx.h"
#include "sc_app.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_app) {
        strcpy(s_genesis.chain_id, "fuzz-degree");
        s_genesis.kind = EC_CHAIN_SIDE;
        strcpy(s_genesis.cert_type, "degree");
        s_genesis.validators.count = 1;
        s_genesis.validators.v[0].power = 1;
        strcpy(s_genesis.main_chain_id, "fuzz-main");
        s_genesis.main_validators.count = 1;
        s_genesis.main_validators.v[0].power = 1;
        s_genesis.main_freshness_ms = EC_MAIN_FRESHNESS_MS_DEFAULT;
        s_genesis.features = EC_GENESIS_F_CONTRACTS; /* the contract bodies too */
        s_fuzz_setup(sc_app_new);
    }
    return s_fuzz_one(data, size);
}
