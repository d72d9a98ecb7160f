/*
 * fuzz_tx.c - libFuzzer target for ec_tx_decode: whatever decodes must re-encode, field
 * by field, to exactly the signed bytes and the envelope (so a transaction id names one
 * byte string). The signature check runs too, for coverage; its answer is not used.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ec_types.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (ec_crypto_init() != 0)
            abort();
        ready = 1;
    }
    ec_tx_t tx;
    if (ec_tx_decode(&tx, data, size) != 0)
        return 0;
    ec_writer_t s, env;
    ec_writer_init(&s);
    ec_writer_init(&env);
    ec_write_array(&s, 7);
    ec_write_uint(&s, EC_VERSION);
    ec_write_cstr(&s, tx.chain_id);
    ec_write_uint(&s, tx.type);
    ec_write_bin(&s, tx.sender, EC_PK_BYTES);
    ec_write_uint(&s, tx.nonce);
    if (tx.has_payload)
        ec_write_bin(&s, tx.payload_hash, EC_HASH_BYTES);
    else
        ec_write_nil(&s);
    ec_write_object(&s, tx.body);
    if (ec_writer_size(&s) != tx.signed_size ||
        memcmp(ec_writer_data(&s), tx.signed_bytes, tx.signed_size) != 0)
        abort();
    ec_write_array(&env, 2);
    ec_write_bin(&env, ec_writer_data(&s), ec_writer_size(&s));
    ec_write_bin(&env, tx.sig, EC_SIG_BYTES);
    if (ec_writer_size(&env) != size || memcmp(ec_writer_data(&env), data, size) != 0)
        abort();
    (void)ec_tx_verify_sig(&tx);
    ec_writer_fini(&s);
    ec_writer_fini(&env);
    ec_tx_fini(&tx);
    return 0;
}
