/*
 * fuzz_evidence.c - libFuzzer target for evidence deposits (ec_evidence.h, ec_body.h).
 *
 * Every input is tried two ways. As an evidence bundle: whatever ec_evidence_bundle_decode
 * accepts must re-encode to exactly the input bytes, and then the full verifier runs
 * (against a fixed main validator set, with the bundle's own file hash and another) and
 * must not crash, whatever it answers. As an EVIDENCE body: whatever ec_decode and
 * ec_evidence_body_read accept must encode to exactly the input bytes, and a refusal must
 * come with a code and a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ec_evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_bundle(const uint8_t *data, size_t size)
{
    static ec_evidence_bundle_t b;
    if (ec_evidence_bundle_decode(&b, data, size) != 0)
        return;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_evidence_bundle_encode(&w, &b);
    if (ec_writer_size(&w) != size || memcmp(ec_writer_data(&w), data, size) != 0)
        abort();
    ec_writer_fini(&w);
    uint8_t file_hash[EC_HASH_BYTES];
    memcpy(file_hash, b.file_hash, sizeof file_hash);

    ec_valset_t vs;
    memset(&vs, 0, sizeof vs);
    vs.count = 1;
    vs.v[0].power = 1;
    ec_evidence_info_t info;
    ec_status_t st;
    if (ec_evidence_verify(data, size, file_hash, "ecert-main", &vs, &info, &st) != 0 &&
        (st.code == 0 || st.msg[0] == '\0'))
        abort();
    file_hash[0] ^= 1;
    if (ec_evidence_verify(data, size, file_hash, "ecert-main", &vs, &info, &st) == 0)
        abort(); /* another file never verifies */
}

static void s_body(const uint8_t *data, size_t size)
{
    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *root = NULL;
    if (ec_decode(&d, data, size, &root) == 0) {
        ec_evidence_body_t b;
        ec_status_t st = {0};
        int rc = ec_evidence_body_read(&b, root, &st);
        if (rc != 0 && (st.code != rc || st.msg[0] == '\0'))
            abort();
        if (rc == 0) {
            ec_writer_t w;
            ec_writer_init(&w);
            ec_evidence_body_encode(&w, &b);
            if (ec_writer_size(&w) != size || memcmp(ec_writer_data(&w), data, size) != 0)
                abort();
            ec_writer_fini(&w);
        }
    }
    ec_decoder_fini(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (ec_crypto_init() != 0)
            abort();
        ready = 1;
    }
    s_bundle(data, size);
    s_body(data, size);
    return 0;
}
