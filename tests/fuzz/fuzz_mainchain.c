/*
 * fuzz_mainchain.c - libFuzzer target for the main chain's transaction-body decoders
 * (mainchain/mc_app.c check_tx); see fuzz_apptx.h.
 */
#include "fuzz_apptx.h"
#include "mc_app.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_app) {
        strcpy(s_genesis.chain_id, "fuzz-main");
        s_genesis.kind = EC_CHAIN_MAIN;
        s_genesis.validators.count = 1;
        s_genesis.validators.v[0].power = 1;
        s_genesis.operator_count = 1;
        s_genesis.operator_quorum = 1;
        s_genesis.features = EC_GENESIS_F_CONTRACTS; /* the contract bodies too */
        s_fuzz_setup(mc_app_new);
    }
    return s_fuzz_one(data, size);
}
