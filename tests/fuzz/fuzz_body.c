/*
 * fuzz_body.c - libFuzzer target for the typed transaction bodies (ec_body.h).
 *
 * Input: byte 0 picks the body (modulo the table below), the rest is one msgpack value. It
 * is decoded with ec_decode, as a transaction's body is, and read with that body's reader.
 * An accepted body must encode to exactly the input bytes (one encoding per body); a
 * refused one must come with a code and a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ec_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef union {
    ec_register_body_t reg;
    ec_org_body_t org;
    ec_role_body_t role;
    ec_attest_body_t attest;
    ec_sidechain_body_t side;
    ec_issue_body_t issue;
    ec_inspect_body_t inspect;
    ec_ack_body_t ack;
    ec_renew_body_t renew;
    ec_change_body_t change;
    ec_revoke_body_t revoke;
    ec_propose_body_t propose;
    ec_approve_body_t approve;
    ec_operators_body_t operators;
    ec_contract_deploy_body_t deploy;
    ec_contract_call_body_t call;
    ec_contract_decide_body_t decide;
} s_body_t;

/* Reads a body and, when it is accepted, encodes it again into w. Returns the reader's code. */
typedef int (*s_roundtrip_fn)(s_body_t *b, const msgpack_object *o, ec_status_t *st,
                              ec_writer_t *w);

#define ROUNDTRIP(name)                                                                            \
    static int s_##name(s_body_t *b, const msgpack_object *o, ec_status_t *st, ec_writer_t *w)     \
    {                                                                                              \
        ec_##name##_body_t *x = (ec_##name##_body_t *)b;                                           \
        int rc = ec_##name##_body_read(x, o, st);                                                  \
        if (rc == 0)                                                                               \
            ec_##name##_body_encode(w, x);                                                         \
        return rc;                                                                                 \
    }
ROUNDTRIP(register)
ROUNDTRIP(org)
ROUNDTRIP(role)
ROUNDTRIP(attest)
ROUNDTRIP(sidechain)
ROUNDTRIP(issue)
ROUNDTRIP(inspect)
ROUNDTRIP(ack)
ROUNDTRIP(renew)
ROUNDTRIP(change)
ROUNDTRIP(revoke)
ROUNDTRIP(erase)
ROUNDTRIP(propose)
ROUNDTRIP(approve)
ROUNDTRIP(operators)
ROUNDTRIP(contract_call)
ROUNDTRIP(contract_decide)
#undef ROUNDTRIP

static int s_contract_deploy(s_body_t *b, const msgpack_object *o, ec_status_t *st, ec_writer_t *w)
{
    int rc = ec_contract_deploy_body_read(&b->deploy, o, EC_STX_CONTRACT_DEPLOY, st);
    if (rc == 0)
        ec_contract_deploy_body_encode(w, &b->deploy);
    return rc;
}

/* Byte 0 of a seed: 0 register, 1 org, 2 role, 3 attest, 4 sidechain, 5 issue, 6 inspect,
 * 7 ack, 8 renew, 9 change, 10 revoke, 11 erase, 12 propose, 13 approve, 14 operators,
 * 15 contract deploy, 16 contract call, 17 contract decide. */
static const s_roundtrip_fn s_bodies[] = {
    s_register, s_org,     s_role,      s_attest,          s_sidechain,     s_issue,
    s_inspect,  s_ack,     s_renew,     s_change,          s_revoke,        s_erase,
    s_propose,  s_approve, s_operators, s_contract_deploy, s_contract_call, s_contract_decide,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ec_decoder_t dec;
    static ec_writer_t w;
    static s_body_t body;
    static int ready;
    if (!ready) {
        if (ec_crypto_init() != 0)
            abort();
        ec_decoder_init(&dec);
        ec_writer_init(&w);
        ready = 1;
    }
    if (size < 1)
        return 0;
    s_roundtrip_fn fn = s_bodies[data[0] % (sizeof s_bodies / sizeof s_bodies[0])];
    const msgpack_object *root = NULL;
    if (ec_decode(&dec, data + 1, size - 1, &root) != 0)
        return 0;
    ec_writer_reset(&w);
    ec_status_t st = {0};
    int rc = fn(&body, root, &st, &w);
    if (rc > 0 || (rc < 0 && (st.code != rc || st.msg[0] == '\0')))
        abort();
    if (rc == 0 &&
        (ec_writer_size(&w) != size - 1 || memcmp(ec_writer_data(&w), data + 1, size - 1) != 0))
        abort();
    return 0;
}
