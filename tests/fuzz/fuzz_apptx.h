/*
 * fuzz_apptx.h - the body of the two chain-application fuzz targets (fuzz_mainchain.c,
 * fuzz_sidechain.c), which differ only in the app they make.
 *
 * Input: byte 0 picks the transaction type, byte 1 whether a payload goes with it (and its
 * length), the rest is the body. The target signs a real transaction around that body
 * (ec_tx_build), so the fuzzer spends its time in the application's body decoders
 * (check_tx: the stateless checks that every submitted transaction reaches) rather than in
 * the envelope, which fuzz_tx covers. Any input must be accepted or refused with a
 * message; never a crash, a leak or undefined behaviour.
 */
#ifndef FUZZ_APPTX_H
#define FUZZ_APPTX_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ec_app.h"
#include "ec_crypto.h"
#include "ec_types.h"

/* Makes the app under test from the genesis filled in by the caller. */
typedef ec_app_t *(*fuzz_make_fn)(const ec_genesis_t *genesis, ec_status_t *st);

static ec_app_t *s_app;
static ec_key_t *s_key;
static ec_genesis_t s_genesis;

static void s_fuzz_setup(fuzz_make_fn make)
{
    if (ec_crypto_init() != 0)
        abort();
    uint8_t seed[32] = {7};
    s_key = ec_key_from_seed(seed);
    ec_status_t st = {0};
    s_app = make(&s_genesis, &st);
    if (!s_app || !s_key)
        abort();
}

static int s_fuzz_one(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint64_t type = data[0];
    size_t payload_size = data[1] == 0 ? 0 : (size_t)data[1] * 4;
    const uint8_t *body = data + 2;
    size_t body_size = size - 2;
    /* ec_tx_build asserts that the body is an array (a caller's bug otherwise); bodies that
     * are not arrays at all are the envelope decoder's business (fuzz_tx). */
    if (body_size == 0 || !((body[0] & 0xf0) == 0x90 || body[0] == 0xdc || body[0] == 0xdd))
        return 0;
    uint8_t *payload = payload_size ? calloc(1, payload_size) : NULL;
    uint8_t payload_hash[EC_HASH_BYTES];
    if (payload)
        ec_sha256(payload_hash, payload, payload_size);

    ec_writer_t env;
    ec_writer_init(&env);
    ec_tx_build(&env, NULL, s_genesis.chain_id, type, s_key, 1, payload ? payload_hash : NULL, body,
                body_size);
    ec_tx_t tx;
    if (ec_tx_decode(&tx, ec_writer_data(&env), ec_writer_size(&env)) == 0) {
        ec_status_t st = {0};
        int rc = s_app->check_tx(s_app->self, &tx, payload, payload_size, &st);
        if (rc > 0 || (rc < 0 && st.msg[0] == '\0'))
            abort(); /* refusals are negative codes with a reason */
        ec_tx_fini(&tx);
    }
    ec_writer_fini(&env);
    free(payload);
    return 0;
}

#endif
