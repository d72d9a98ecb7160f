/*
 * test_body.c - unit tests for common/ec_body.c, the typed transaction bodies: every body
 * round-trips (read what the encoder wrote, write it again, same bytes), the wire bytes of
 * a few bodies are pinned by hand from docs/PROTOCOL.md (so the module cannot drift from
 * the spec together with its own reader), and every reader refuses malformed bodies: wrong
 * counts, wrong types, strings over their limits, bad UTF-8, bad addresses, broken rules,
 * leaving its struct zeroed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec_body.h"

/* Every reader, with one signature, so tables can name them. */
typedef int (*read_fn)(void *b, const msgpack_object *body, ec_status_t *st);

#define READER(name)                                                                               \
    static int r_##name(void *b, const msgpack_object *body, ec_status_t *st)                      \
    {                                                                                              \
        return ec_##name##_body_read(b, body, st);                                                 \
    }
READER(register)
READER(org)
READER(role)
READER(attest)
READER(sidechain)
READER(issue)
READER(inspect)
READER(ack)
READER(renew)
READER(change)
READER(revoke)
READER(erase)
READER(evidence)
#undef READER

/* Big enough for any body struct. */
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
    ec_evidence_body_t evidence;
} any_body_t;

static char s_addr[EC_ADDR_MAX]; /* a valid address                                       */
static uint8_t s_addr_hash[EC_ADDR_HASH_BYTES];

static int s_setup(void **state)
{
    (void)state;
    if (ec_crypto_init() != 0)
        return -1;
    uint8_t pk[EC_PK_BYTES];
    memset(pk, 0x42, sizeof pk);
    ec_address_from_pk(s_addr, pk);
    ec_address_hash(s_addr_hash, pk);
    return 0;
}

/* Decodes w's bytes and runs `read` over them into a struct first filled with 0xaa. Checks
 * the result code, that the struct is zeroed on error, and that the status names the body.
 * Returns the struct (static) for the caller to inspect. */
static any_body_t *s_read(read_fn read, size_t size, const ec_writer_t *w, int want,
                          const char *what)
{
    static any_body_t b;
    static const any_body_t zero;
    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *root = NULL;
    int rc = ec_decode(&d, ec_writer_data(w), ec_writer_size(w), &root);
    if (rc != 0)
        fail_msg("%s: the test's body does not decode (%d)", what, rc);
    memset(&b, 0xaa, sizeof b);
    ec_status_t st = {0};
    rc = read(&b, root, &st);
    if (rc != want)
        fail_msg("%s: got %d (%s), want %d", what, rc, st.msg, want);
    if (rc != 0) {
        assert_memory_equal(&b, &zero, size);
        assert_int_equal(st.code, rc);
        assert_true(st.msg[0] != '\0');
        /* A NULL status is allowed. */
        assert_int_equal(read(&b, root, NULL), want);
    }
    ec_decoder_fini(&d);
    return &b;
}

/* Reads w's bytes with `read` (must succeed), encodes the result with `encode` and checks
 * the bytes are the same. */
#define ROUNDTRIP(name, w)                                                                         \
    do {                                                                                           \
        any_body_t *b_ = s_read(r_##name, sizeof(ec_##name##_body_t), (w), 0, #name);              \
        ec_writer_t again_;                                                                        \
        ec_writer_init(&again_);                                                                   \
        ec_##name##_body_encode(&again_, (const ec_##name##_body_t *)b_);                          \
        assert_int_equal(ec_writer_size(&again_), ec_writer_size(w));                              \
        assert_memory_equal(ec_writer_data(&again_), ec_writer_data(w), ec_writer_size(w));        \
        ec_writer_fini(&again_);                                                                   \
    } while (0)

static void s_side_genesis(ec_genesis_t *g)
{
    memset(g, 0, sizeof *g);
    snprintf(g->chain_id, sizeof g->chain_id, "degree-dev");
    g->kind = EC_CHAIN_SIDE;
    snprintf(g->cert_type, sizeof g->cert_type, "degree");
    g->time_ms = 1700000000000;
    g->validators.count = 1;
    memset(g->validators.v[0].pk, 0x11, EC_PK_BYTES);
    g->validators.v[0].power = 1;
    snprintf(g->main_chain_id, sizeof g->main_chain_id, "main-dev");
    memset(g->main_genesis_hash, 0x22, EC_HASH_BYTES);
    g->main_validators = g->validators;
    g->main_freshness_ms = EC_MAIN_FRESHNESS_MS_DEFAULT;
}

/* ---- round trips -------------------------------------------------------------------------- */

static void test_roundtrip_main(void **state)
{
    (void)state;
    ec_writer_t w;
    ec_writer_init(&w);

    ec_register_body_t reg = {0};
    snprintf(reg.name, sizeof reg.name, "Zo\xc3\xab \xe5\xbc\xa0\xe4\xb8\x89");
    ec_register_body_encode(&w, &reg);
    ROUNDTRIP(register, &w);
    any_body_t *b = s_read(r_register, sizeof reg, &w, 0, "register");
    assert_string_equal(b->reg.name, reg.name);

    ec_org_body_t org = {0};
    snprintf(org.org_code, sizeof org.org_code, "12100000400000624D");
    snprintf(org.name, sizeof org.name, "Peking University");
    org.billing = EC_BILLING_COMMERCIAL;
    ec_writer_reset(&w);
    ec_org_body_encode(&w, &org);
    ROUNDTRIP(org, &w);
    b = s_read(r_org, sizeof org, &w, 0, "org");
    assert_memory_equal(&b->org, &org, sizeof org);

    const struct {
        uint32_t role;
        const char *ct, *org;
    } roles[] = {{EC_ROLE_CA, "", ""},
                 {EC_ROLE_CA, "", "CA-ORG"},
                 {EC_ROLE_ISSUER, "degree", "ORG-1"},
                 {EC_ROLE_INSPECTOR, "marriage_x", "ORG-2"},
                 {EC_ROLE_SUPERVISOR, "", ""}};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        ec_role_body_t r = {0};
        snprintf(r.address, sizeof r.address, "%s", s_addr);
        r.role = roles[i].role;
        snprintf(r.cert_type, sizeof r.cert_type, "%s", roles[i].ct);
        snprintf(r.org_code, sizeof r.org_code, "%s", roles[i].org);
        ec_writer_reset(&w);
        ec_role_body_encode(&w, &r);
        ROUNDTRIP(role, &w);
        b = s_read(r_role, sizeof r, &w, 0, "role");
        memcpy(r.hash, s_addr_hash, sizeof r.hash);
        assert_memory_equal(&b->role, &r, sizeof r);
    }

    ec_attest_body_t at = {0};
    snprintf(at.address, sizeof at.address, "%s", s_addr);
    memset(at.identity_hash, 0x5a, sizeof at.identity_hash);
    ec_writer_reset(&w);
    ec_attest_body_encode(&w, &at);
    ROUNDTRIP(attest, &w);
    b = s_read(r_attest, sizeof at, &w, 0, "attest");
    assert_memory_equal(b->attest.hash, s_addr_hash, EC_ADDR_HASH_BYTES);
    assert_memory_equal(b->attest.identity_hash, at.identity_hash, EC_HASH_BYTES);

    ec_sidechain_body_t sc;
    memset(&sc, 0, sizeof sc);
    s_side_genesis(&sc.genesis);
    ec_writer_reset(&w);
    ec_sidechain_body_encode(&w, &sc);
    ROUNDTRIP(sidechain, &w);
    b = s_read(r_sidechain, sizeof sc, &w, 0, "sidechain");
    assert_memory_equal(&b->side.genesis, &sc.genesis, sizeof sc.genesis);
    ec_writer_t g;
    ec_writer_init(&g);
    ec_genesis_encode(&g, &sc.genesis);
    assert_int_equal(b->side.size, ec_writer_size(&g));
    /* The bytes borrow from the buffer the body came from: right after its bin header. */
    assert_ptr_equal(b->side.bytes, ec_writer_data(&w) + ec_writer_size(&w) - b->side.size);
    assert_memory_equal(b->side.bytes, ec_writer_data(&g), ec_writer_size(&g));
    ec_writer_fini(&g);
    ec_writer_fini(&w);
}

static void test_roundtrip_side(void **state)
{
    (void)state;
    ec_writer_t w;
    ec_writer_init(&w);
    any_body_t *b;

    ec_issue_body_t is = {0};
    snprintf(is.holder, sizeof is.holder, "%s", s_addr);
    snprintf(is.org_code, sizeof is.org_code, "ORG-1");
    memset(is.fields_root, 0x33, sizeof is.fields_root);
    is.expires_ms = 1893456000000;
    ec_issue_body_encode(&w, &is);
    ROUNDTRIP(issue, &w);
    b = s_read(r_issue, sizeof is, &w, 0, "issue");
    memcpy(is.holder_hash, s_addr_hash, sizeof is.holder_hash);
    assert_memory_equal(&b->issue, &is, sizeof is);

    ec_inspect_body_t in = {0};
    snprintf(in.holder, sizeof in.holder, "%s", s_addr);
    snprintf(in.org_code, sizeof in.org_code, "ORG-2");
    memset(in.cert_id, 0x44, sizeof in.cert_id);
    memcpy(in.verdict, "valid\0ok", 8); /* a str may hold NUL bytes */
    in.verdict_len = 8;
    ec_writer_reset(&w);
    ec_inspect_body_encode(&w, &in);
    ROUNDTRIP(inspect, &w);
    b = s_read(r_inspect, sizeof in, &w, 0, "inspect");
    memcpy(in.holder_hash, s_addr_hash, sizeof in.holder_hash);
    assert_memory_equal(&b->inspect, &in, sizeof in);

    ec_ack_body_t ack;
    memset(ack.cert_id, 0x55, sizeof ack.cert_id);
    ec_writer_reset(&w);
    ec_ack_body_encode(&w, &ack);
    ROUNDTRIP(ack, &w);

    ec_renew_body_t renew = {.expires_ms = 0};
    memset(renew.cert_id, 0x66, sizeof renew.cert_id);
    ec_writer_reset(&w);
    ec_renew_body_encode(&w, &renew);
    ROUNDTRIP(renew, &w);
    renew.expires_ms = UINT64_MAX;
    ec_writer_reset(&w);
    ec_renew_body_encode(&w, &renew);
    ROUNDTRIP(renew, &w);
    assert_true(s_read(r_renew, sizeof renew, &w, 0, "renew")->renew.expires_ms == UINT64_MAX);

    ec_change_body_t ch;
    memset(ch.cert_id, 0x77, sizeof ch.cert_id);
    memset(ch.fields_root, 0x88, sizeof ch.fields_root);
    ec_writer_reset(&w);
    ec_change_body_encode(&w, &ch);
    ROUNDTRIP(change, &w);

    ec_revoke_body_t rv = {0};
    memset(rv.cert_id, 0x99, sizeof rv.cert_id);
    ec_writer_reset(&w);
    ec_revoke_body_encode(&w, &rv); /* an empty reason is fine for REVOKE */
    ROUNDTRIP(revoke, &w);
    s_read(r_erase, sizeof rv, &w, EC_EINVAL, "erase with an empty reason");
    snprintf(rv.reason, sizeof rv.reason, "right to erasure");
    rv.reason_len = strlen(rv.reason);
    ec_writer_reset(&w);
    ec_erase_body_encode(&w, &rv);
    ROUNDTRIP(erase, &w);
    ROUNDTRIP(revoke, &w);
    b = s_read(r_erase, sizeof rv, &w, 0, "erase");
    assert_string_equal(b->revoke.reason, "right to erasure");
    assert_int_equal(b->revoke.reason_len, 16);
    ec_writer_fini(&w);
}

/* ---- the wire bytes, by hand from docs/PROTOCOL.md ---------------------------------------- */

static void s_assert_bytes(const ec_writer_t *w, const uint8_t *want, size_t size)
{
    assert_int_equal(ec_writer_size(w), size);
    assert_memory_equal(ec_writer_data(w), want, size);
}

static void test_known_bytes(void **state)
{
    (void)state;
    ec_writer_t w;
    ec_writer_init(&w);

    /* REGISTER ["a"] = fixarray(1) fixstr(1) 'a' */
    ec_register_body_t reg = {.name = "a"};
    ec_register_body_encode(&w, &reg);
    s_assert_bytes(&w,
                   (const uint8_t *)"\x91\xa1"
                                    "a",
                   3);

    /* ROLE_GRANT [addr, 2, "d", "O"] */
    ec_role_body_t role = {.role = EC_ROLE_ISSUER, .cert_type = "d", .org_code = "O"};
    snprintf(role.address, sizeof role.address, "%s", s_addr);
    ec_writer_reset(&w);
    ec_role_body_encode(&w, &role);
    uint8_t want[128];
    size_t n = 0, alen = strlen(s_addr);
    assert_true(alen >= 32 && alen < 256); /* an address is a str8: d9 <len> */
    want[n++] = 0x94;
    want[n++] = 0xd9;
    want[n++] = (uint8_t)alen;
    memcpy(want + n, s_addr, alen);
    n += alen;
    memcpy(want + n,
           "\x02\xa1"
           "d"
           "\xa1"
           "O",
           5);
    n += 5;
    s_assert_bytes(&w, want, n);

    /* ISSUE [holder, "ORG", fields_root, 1000] = 94 d9 <len> <holder> a3 "ORG" c4 20 <32>
     * cd 03 e8 */
    ec_issue_body_t is = {.org_code = "ORG", .expires_ms = 1000};
    snprintf(is.holder, sizeof is.holder, "%s", s_addr);
    memset(is.fields_root, 0xab, sizeof is.fields_root);
    ec_writer_reset(&w);
    ec_issue_body_encode(&w, &is);
    n = 0;
    want[n++] = 0x94;
    want[n++] = 0xd9;
    want[n++] = (uint8_t)alen;
    memcpy(want + n, s_addr, alen);
    n += alen;
    memcpy(want + n, "\xa3ORG\xc4\x20", 6);
    n += 6;
    memset(want + n, 0xab, 32);
    n += 32;
    memcpy(want + n, "\xcd\x03\xe8", 3);
    n += 3;
    s_assert_bytes(&w, want, n);

    /* REVOKE [cert_id, ""] = 92 c4 20 <32> a0 */
    ec_revoke_body_t rv = {0};
    ec_writer_reset(&w);
    ec_revoke_body_encode(&w, &rv);
    n = 0;
    memcpy(want, "\x92\xc4\x20", 3);
    n = 3;
    memset(want + n, 0, 32);
    n += 32;
    want[n++] = 0xa0;
    s_assert_bytes(&w, want, n);
    ec_writer_fini(&w);
}

/* ---- refusals ----------------------------------------------------------------------------- */

/* One body built by a function of the test, and the code its reader must return. */
typedef struct {
    const char *what;
    read_fn read;
    size_t size;
    int want;
} s_case_t;

static void s_check(const s_case_t *c, const ec_writer_t *w)
{
    (void)s_read(c->read, c->size, w, c->want, c->what);
}

static void s_str_n(ec_writer_t *w, char ch, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, ch, n);
    ec_write_str(w, s, n);
    free(s);
}

static void test_refuse_counts_and_types(void **state)
{
    (void)state;
    /* Every reader, on the empty array, on a scalar, and on an array one too long. */
    const struct {
        const char *what;
        read_fn read;
        size_t size;
        uint32_t count;
    } all[] = {
        {"register", r_register, sizeof(ec_register_body_t), 1},
        {"org", r_org, sizeof(ec_org_body_t), 3},
        {"role", r_role, sizeof(ec_role_body_t), 4},
        {"attest", r_attest, sizeof(ec_attest_body_t), 2},
        {"sidechain", r_sidechain, sizeof(ec_sidechain_body_t), 1},
        {"issue", r_issue, sizeof(ec_issue_body_t), 4},
        {"inspect", r_inspect, sizeof(ec_inspect_body_t), 4},
        {"ack", r_ack, sizeof(ec_ack_body_t), 1},
        {"renew", r_renew, sizeof(ec_renew_body_t), 2},
        {"change", r_change, sizeof(ec_change_body_t), 2},
        {"revoke", r_revoke, sizeof(ec_revoke_body_t), 2},
        {"erase", r_erase, sizeof(ec_erase_body_t), 2},
    };
    ec_writer_t w;
    ec_writer_init(&w);
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        s_case_t c = {all[i].what, all[i].read, all[i].size, EC_EINVAL};
        ec_writer_reset(&w);
        ec_write_array(&w, 0);
        s_check(&c, &w);
        ec_writer_reset(&w);
        ec_write_uint(&w, 1);
        s_check(&c, &w);
        /* The right count of nils: a type error at the first field. */
        ec_writer_reset(&w);
        ec_write_array(&w, all[i].count);
        for (uint32_t k = 0; k < all[i].count; k++)
            ec_write_nil(&w);
        s_check(&c, &w);
        /* count + 1 elements */
        ec_writer_reset(&w);
        ec_write_array(&w, all[i].count + 1);
        for (uint32_t k = 0; k <= all[i].count; k++)
            ec_write_nil(&w);
        s_check(&c, &w);
    }

    /* Wrong types further in: each valid but for one field. */
    uint8_t h32[32] = {0}, h31[31] = {0};
    s_case_t c = {"issue: fields_root of 31 bytes", r_issue, sizeof(ec_issue_body_t), EC_EINVAL};
    ec_writer_reset(&w);
    ec_write_array(&w, 4);
    ec_write_cstr(&w, s_addr);
    ec_write_cstr(&w, "ORG");
    ec_write_bin(&w, h31, sizeof h31);
    ec_write_uint(&w, 0);
    s_check(&c, &w);
    c = (s_case_t){"issue: expires_ms negative", r_issue, sizeof(ec_issue_body_t), EC_EINVAL};
    ec_writer_reset(&w);
    ec_write_array(&w, 4);
    ec_write_cstr(&w, s_addr);
    ec_write_cstr(&w, "ORG");
    ec_write_bin(&w, h32, sizeof h32);
    ec_write_int(&w, -1);
    s_check(&c, &w);
    c = (s_case_t){"role: role as str", r_role, sizeof(ec_role_body_t), EC_EINVAL};
    ec_writer_reset(&w);
    ec_write_array(&w, 4);
    ec_write_cstr(&w, s_addr);
    ec_write_cstr(&w, "2");
    ec_write_cstr(&w, "degree");
    ec_write_cstr(&w, "ORG");
    s_check(&c, &w);
    c = (s_case_t){"attest: identity hash as str", r_attest, sizeof(ec_attest_body_t), EC_EINVAL};
    ec_writer_reset(&w);
    ec_write_array(&w, 2);
    ec_write_cstr(&w, s_addr);
    ec_write_str(&w, (const char *)h32, 32);
    s_check(&c, &w);
    c = (s_case_t){"change: cert_id nil", r_change, sizeof(ec_change_body_t), EC_EINVAL};
    ec_writer_reset(&w);
    ec_write_array(&w, 2);
    ec_write_nil(&w);
    ec_write_bin(&w, h32, sizeof h32);
    s_check(&c, &w);
    c = (s_case_t){"sidechain: genesis as an array", r_sidechain, sizeof(ec_sidechain_body_t),
                   EC_EINVAL};
    ec_writer_reset(&w);
    ec_write_array(&w, 1);
    ec_write_array(&w, 0);
    s_check(&c, &w);
    ec_writer_fini(&w);
}

static void test_refuse_limits(void **state)
{
    (void)state;
    ec_writer_t w;
    ec_writer_init(&w);
    uint8_t h32[32] = {0};

    /* REGISTER: 127 bytes fine, 128 too big, 0 empty. */
    s_case_t c = {"register: 127-byte name", r_register, sizeof(ec_register_body_t), 0};
    ec_write_array(&w, 1);
    s_str_n(&w, 'n', EC_NAME_MAX - 1);
    s_check(&c, &w);
    c = (s_case_t){"register: 128-byte name", r_register, sizeof(ec_register_body_t), EC_ETOOBIG};
    ec_writer_reset(&w);
    ec_write_array(&w, 1);
    s_str_n(&w, 'n', EC_NAME_MAX);
    s_check(&c, &w);
    c = (s_case_t){"register: empty name", r_register, sizeof(ec_register_body_t), EC_EINVAL};
    ec_writer_reset(&w);
    ec_write_array(&w, 1);
    ec_write_cstr(&w, "");
    s_check(&c, &w);

    /* ORG: code length and name length. */
    c = (s_case_t){"org: 32-byte code", r_org, sizeof(ec_org_body_t), EC_ETOOBIG};
    ec_writer_reset(&w);
    ec_write_array(&w, 3);
    s_str_n(&w, 'A', EC_ORG_CODE_MAX);
    ec_write_cstr(&w, "name");
    ec_write_uint(&w, EC_BILLING_PUBLIC);
    s_check(&c, &w);
    c = (s_case_t){"org: 31-byte code", r_org, sizeof(ec_org_body_t), 0};
    ec_writer_reset(&w);
    ec_write_array(&w, 3);
    s_str_n(&w, 'A', EC_ORG_CODE_MAX - 1);
    ec_write_cstr(&w, "name");
    ec_write_uint(&w, EC_BILLING_COMMERCIAL);
    s_check(&c, &w);
    /* ORG: billing is 0 or 1 */
    c = (s_case_t){"org: billing 2", r_org, sizeof(ec_org_body_t), EC_EINVAL};
    ec_writer_reset(&w);
    ec_write_array(&w, 3);
    ec_write_cstr(&w, "ORG");
    ec_write_cstr(&w, "name");
    ec_write_uint(&w, 2);
    s_check(&c, &w);

    /* ISSUE: org code 32 bytes, empty; holder too long. */
    c = (s_case_t){"issue: 32-byte org", r_issue, sizeof(ec_issue_body_t), EC_ETOOBIG};
    ec_writer_reset(&w);
    ec_write_array(&w, 4);
    ec_write_cstr(&w, s_addr);
    s_str_n(&w, 'O', EC_ORG_CODE_MAX);
    ec_write_bin(&w, h32, 32);
    ec_write_uint(&w, 0);
    s_check(&c, &w);
    c = (s_case_t){"issue: empty org", r_issue, sizeof(ec_issue_body_t), EC_EINVAL};
    ec_writer_reset(&w);
    ec_write_array(&w, 4);
    ec_write_cstr(&w, s_addr);
    ec_write_cstr(&w, "");
    ec_write_bin(&w, h32, 32);
    ec_write_uint(&w, 0);
    s_check(&c, &w);
    c = (s_case_t){"issue: 64-byte holder", r_issue, sizeof(ec_issue_body_t), EC_ETOOBIG};
    ec_writer_reset(&w);
    ec_write_array(&w, 4);
    s_str_n(&w, 'q', EC_ADDR_MAX);
    ec_write_cstr(&w, "ORG");
    ec_write_bin(&w, h32, 32);
    ec_write_uint(&w, 0);
    s_check(&c, &w);

    /* INSPECT: verdict 1..255. */
    const struct {
        size_t len;
        int want;
    } verdicts[] = {{0, EC_EINVAL}, {1, 0}, {EC_VERDICT_MAX - 1, 0}, {EC_VERDICT_MAX, EC_ETOOBIG}};
    for (size_t i = 0; i < 4; i++) {
        c = (s_case_t){"inspect: verdict length", r_inspect, sizeof(ec_inspect_body_t),
                       verdicts[i].want};
        ec_writer_reset(&w);
        ec_write_array(&w, 4);
        ec_write_cstr(&w, s_addr);
        ec_write_cstr(&w, "ORG");
        ec_write_bin(&w, h32, 32);
        s_str_n(&w, 'v', verdicts[i].len);
        s_check(&c, &w);
    }
    /* REVOKE 0..255, ERASE 1..255. */
    const struct {
        read_fn read;
        size_t len;
        int want;
    } reasons[] = {{r_revoke, 0, 0},
                   {r_revoke, EC_REASON_MAX - 1, 0},
                   {r_revoke, EC_REASON_MAX, EC_ETOOBIG},
                   {r_erase, 0, EC_EINVAL},
                   {r_erase, EC_REASON_MAX - 1, 0},
                   {r_erase, EC_REASON_MAX, EC_ETOOBIG}};
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
        c = (s_case_t){"revoke/erase: reason length", reasons[i].read, sizeof(ec_revoke_body_t),
                       reasons[i].want};
        ec_writer_reset(&w);
        ec_write_array(&w, 2);
        ec_write_bin(&w, h32, 32);
        s_str_n(&w, 'r', reasons[i].len);
        s_check(&c, &w);
    }

    /* SIDECHAIN: a genesis above EC_TX_BYTES_MAX. */
    c = (s_case_t){"sidechain: oversized genesis", r_sidechain, sizeof(ec_sidechain_body_t),
                   EC_ETOOBIG};
    uint8_t *big = calloc(1, EC_TX_BYTES_MAX + 1);
    assert_non_null(big);
    ec_writer_reset(&w);
    ec_write_array(&w, 1);
    ec_write_bin(&w, big, EC_TX_BYTES_MAX + 1);
    s_check(&c, &w);
    free(big);
    ec_writer_fini(&w);
}

/* A msgpack_object array of one str (bytes not checked by a decoder, as a reader handed an
 * object parsed some other way would see). */
static void s_one_str(msgpack_object *arr, msgpack_object *items, size_t n, const char *s,
                      size_t len)
{
    memset(items, 0, n * sizeof *items);
    for (size_t i = 0; i < n; i++) {
        items[i].type = MSGPACK_OBJECT_STR;
        items[i].via.str.ptr = s;
        items[i].via.str.size = (uint32_t)len;
    }
    arr->type = MSGPACK_OBJECT_ARRAY;
    arr->via.array.size = (uint32_t)n;
    arr->via.array.ptr = items;
}

static void test_refuse_text(void **state)
{
    (void)state;
    ec_writer_t w;
    ec_writer_init(&w);

    /* Names: UTF-8 without C0, DEL or C1 controls. */
    const char *bad[] = {"a\x01", "tab\there", "del\x7f", "c1\xc2\x85", "nl\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_case_t c = {bad[i], r_register, sizeof(ec_register_body_t), EC_EINVAL};
        ec_writer_reset(&w);
        ec_write_array(&w, 1);
        ec_write_cstr(&w, bad[i]);
        s_check(&c, &w);
        c.read = r_org;
        c.size = sizeof(ec_org_body_t);
        ec_writer_reset(&w);
        ec_write_array(&w, 2);
        ec_write_cstr(&w, "ORG");
        ec_write_cstr(&w, bad[i]);
        s_check(&c, &w);
    }
    s_case_t ok = {"U+00A0 is no control", r_register, sizeof(ec_register_body_t), 0};
    ec_writer_reset(&w);
    ec_write_array(&w, 1);
    ec_write_cstr(&w, "nb\xc2\xa0sp");
    s_check(&ok, &w);
    ok = (s_case_t){"a NUL byte in a name", r_register, sizeof(ec_register_body_t), EC_EINVAL};
    ec_writer_reset(&w);
    ec_write_array(&w, 1);
    ec_write_str(&w, "a\0b", 3);
    s_check(&ok, &w);

    /* Bad UTF-8 that no decoder let through: the readers refuse it themselves. */
    const char *invalid[] = {"\xff", "overlong\xc0\xaf", "surrogate\xed\xa0\x80", "cut\xe4\xb8",
                             "big\xf4\x90\x80\x80"};
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        msgpack_object arr, items[2];
        ec_register_body_t reg;
        s_one_str(&arr, items, 1, invalid[i], strlen(invalid[i]));
        assert_int_equal(ec_register_body_read(&reg, &arr, NULL), EC_EINVAL);
        ec_revoke_body_t rv;
        s_one_str(&arr, items, 2, invalid[i], strlen(invalid[i]));
        items[0].type = MSGPACK_OBJECT_BIN; /* cert_id: 32 bytes of anything */
        items[0].via.bin.ptr = "0123456789abcdef0123456789abcdef";
        items[0].via.bin.size = 32;
        assert_int_equal(ec_revoke_body_read(&rv, &arr, NULL), EC_EINVAL);
        items[1].via.str.ptr = "fine";
        items[1].via.str.size = 4;
        assert_int_equal(ec_revoke_body_read(&rv, &arr, NULL), 0);
    }

    /* ORG codes: [A-Za-z0-9-] only. */
    const char *codes[] = {"ORG_1", "ORG 1", "ORG.1", "\xc3\xa9"};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        s_case_t c = {codes[i], r_org, sizeof(ec_org_body_t), EC_EINVAL};
        ec_writer_reset(&w);
        ec_write_array(&w, 2);
        ec_write_cstr(&w, codes[i]);
        ec_write_cstr(&w, "name");
        s_check(&c, &w);
    }
    ec_writer_fini(&w);
}

static void test_refuse_addresses_and_roles(void **state)
{
    (void)state;
    ec_writer_t w;
    ec_writer_init(&w);
    uint8_t h32[32] = {0};
    char typo[EC_ADDR_MAX];
    snprintf(typo, sizeof typo, "%s", s_addr);
    typo[strlen(typo) - 1] = typo[strlen(typo) - 1] == 'q' ? 'p' : 'q'; /* checksum breaks */
    const char *addrs[] = {typo, "", "ec1", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"};
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        s_case_t c = {"attest: bad address", r_attest, sizeof(ec_attest_body_t), EC_EINVAL};
        ec_writer_reset(&w);
        ec_write_array(&w, 2);
        ec_write_cstr(&w, addrs[i]);
        ec_write_bin(&w, h32, 32);
        s_check(&c, &w);
        c = (s_case_t){"issue: bad holder", r_issue, sizeof(ec_issue_body_t), EC_EINVAL};
        ec_writer_reset(&w);
        ec_write_array(&w, 4);
        ec_write_cstr(&w, addrs[i]);
        ec_write_cstr(&w, "ORG");
        ec_write_bin(&w, h32, 32);
        ec_write_uint(&w, 0);
        s_check(&c, &w);
        c = (s_case_t){"inspect: bad holder", r_inspect, sizeof(ec_inspect_body_t), EC_EINVAL};
        ec_writer_reset(&w);
        ec_write_array(&w, 4);
        ec_write_cstr(&w, addrs[i]);
        ec_write_cstr(&w, "ORG");
        ec_write_bin(&w, h32, 32);
        ec_write_cstr(&w, "valid");
        s_check(&c, &w);
    }

    /* Role rules. */
    const struct {
        const char *what;
        uint64_t role;
        const char *ct, *org;
        int want;
    } roles[] = {
        {"role 0", 0, "", "", EC_EINVAL},
        {"role 6", EC_ROLE_MAX + 1, "", "", EC_EINVAL},
        {"deployer for the main chain", EC_ROLE_DEPLOYER, "", "ORG", 0},
        {"deployer without an org", EC_ROLE_DEPLOYER, "degree", "", EC_EINVAL},
        {"issuer without type", EC_ROLE_ISSUER, "", "ORG", EC_EINVAL},
        {"issuer without org", EC_ROLE_ISSUER, "degree", "", EC_EINVAL},
        {"inspector without both", EC_ROLE_INSPECTOR, "", "", EC_EINVAL},
        {"ca with a type", EC_ROLE_CA, "degree", "", EC_EINVAL},
        {"supervisor with a type", EC_ROLE_SUPERVISOR, "degree", "ORG", EC_EINVAL},
        {"bad cert type", EC_ROLE_ISSUER, "Degree", "ORG", EC_EINVAL},
        {"bad org code", EC_ROLE_ISSUER, "degree", "ORG 1", EC_EINVAL},
        {"ca with an org", EC_ROLE_CA, "", "ORG", 0},
        {"issuer", EC_ROLE_ISSUER, "degree", "ORG", 0},
    };
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        s_case_t c = {roles[i].what, r_role, sizeof(ec_role_body_t), roles[i].want};
        ec_writer_reset(&w);
        ec_write_array(&w, 4);
        ec_write_cstr(&w, s_addr);
        ec_write_uint(&w, roles[i].role);
        ec_write_cstr(&w, roles[i].ct);
        ec_write_cstr(&w, roles[i].org);
        s_check(&c, &w);
    }
    ec_writer_fini(&w);
}

static void test_refuse_sidechain(void **state)
{
    (void)state;
    ec_writer_t w, g;
    ec_writer_init(&w);
    ec_writer_init(&g);
    /* Not a genesis at all. */
    s_case_t c = {"sidechain: garbage", r_sidechain, sizeof(ec_sidechain_body_t), EC_EINVAL};
    ec_write_array(&w, 1);
    ec_write_bin(&w, "\x93\x02\x02\x03", 4);
    s_check(&c, &w);
    /* A main-chain genesis. */
    ec_genesis_t main_g;
    memset(&main_g, 0, sizeof main_g);
    snprintf(main_g.chain_id, sizeof main_g.chain_id, "main-dev");
    main_g.kind = EC_CHAIN_MAIN;
    main_g.validators.count = 1;
    memset(main_g.validators.v[0].pk, 1, EC_PK_BYTES);
    main_g.validators.v[0].power = 1;
    main_g.operator_count = 1;
    main_g.operator_quorum = 1;
    memset(main_g.operators[0], 2, EC_PK_BYTES);
    ec_genesis_encode(&g, &main_g);
    c = (s_case_t){"sidechain: a main genesis", r_sidechain, sizeof(ec_sidechain_body_t),
                   EC_ECHAIN};
    ec_writer_reset(&w);
    ec_write_array(&w, 1);
    ec_write_bin(&w, ec_writer_data(&g), ec_writer_size(&g));
    s_check(&c, &w);
    /* A side genesis with trailing bytes after it. */
    ec_genesis_t side_g;
    s_side_genesis(&side_g);
    ec_writer_reset(&g);
    ec_genesis_encode(&g, &side_g);
    ec_write_uint(&g, 0);
    c = (s_case_t){"sidechain: trailing byte", r_sidechain, sizeof(ec_sidechain_body_t), EC_EINVAL};
    ec_writer_reset(&w);
    ec_write_array(&w, 1);
    ec_write_bin(&w, ec_writer_data(&g), ec_writer_size(&g));
    s_check(&c, &w);
    ec_writer_fini(&g);
    ec_writer_fini(&w);
}

/* ---- EVIDENCE --------------------------------------------------------------------------- */

/* [root: bin32, count: uint, note: str]: round trips, the wire bytes by hand, and every
 * rule: a count of 1..2^20, a note of 0..255 bytes of text without control characters. */
static void test_evidence(void **state)
{
    (void)state;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_evidence_body_t ev = {.count = 3};
    memset(ev.root, 0x11, sizeof ev.root);
    snprintf(ev.note, sizeof ev.note, "n");
    ev.note_len = 1;
    ec_evidence_body_encode(&w, &ev);
    /* fixarray(3) bin8(32) <root> fixint(3) fixstr(1) 'n' */
    uint8_t want[2 + 2 + 32 + 1 + 2] = {0x93, 0xc4, 0x20};
    memset(want + 3, 0x11, 32);
    want[35] = 0x03;
    want[36] = 0xa1;
    want[37] = 'n';
    s_assert_bytes(&w, want, 38);
    ROUNDTRIP(evidence, &w);
    any_body_t *b = s_read(r_evidence, sizeof ev, &w, 0, "evidence");
    assert_memory_equal(&b->evidence, &ev, sizeof ev);

    /* The limits, and text people read: an empty note, a full one, UTF-8 beyond ASCII. */
    const struct {
        uint64_t count;
        const char *note;
        size_t len;
        int want;
        const char *what;
    } cases[] = {
        {1, "", 0, 0, "one file, no note"},
        {EC_EVIDENCE_BATCH_MAX, "\xe5\x90\x88\xe5\x90\x8c 2026-17", 14, 0, "full batch, UTF-8"},
        {0, "", 0, EC_EINVAL, "an empty batch"},
        {EC_EVIDENCE_BATCH_MAX + 1ull, "", 0, EC_EINVAL, "a batch above the limit"},
        {1, "line\\nbreak", 11, 0, "a backslash is text"},
        {1, "line\nbreak", 10, EC_EINVAL, "a newline"},
        {1, "esc\x1b[2J", 7, EC_EINVAL, "a terminal escape"},
        {1, "del\x7f", 4, EC_EINVAL, "DEL"},
        {1, "c1\xc2\x9b", 4, EC_EINVAL, "a C1 control"},
        {1, "a\0b", 3, EC_EINVAL, "a NUL byte"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ec_writer_reset(&w);
        ec_write_array(&w, 3);
        ec_write_bin(&w, ev.root, 32);
        ec_write_uint(&w, cases[i].count);
        ec_write_str(&w, cases[i].note, cases[i].len);
        s_case_t c = {cases[i].what, r_evidence, sizeof(ec_evidence_body_t), cases[i].want};
        s_check(&c, &w);
        if (cases[i].want == 0)
            ROUNDTRIP(evidence, &w);
    }
    s_case_t c = {"a note of 255 bytes", r_evidence, sizeof(ec_evidence_body_t), 0};
    ec_writer_reset(&w);
    ec_write_array(&w, 3);
    ec_write_bin(&w, ev.root, 32);
    ec_write_uint(&w, 1);
    s_str_n(&w, 'x', EC_EVIDENCE_NOTE_MAX - 1);
    s_check(&c, &w);
    c = (s_case_t){"a note of 256 bytes", r_evidence, sizeof(ec_evidence_body_t), EC_ETOOBIG};
    ec_writer_reset(&w);
    ec_write_array(&w, 3);
    ec_write_bin(&w, ev.root, 32);
    ec_write_uint(&w, 1);
    s_str_n(&w, 'x', EC_EVIDENCE_NOTE_MAX);
    s_check(&c, &w);

    /* Shapes: wrong count of fields, a short root, a negative count; the message names the
     * body's shape. */
    c = (s_case_t){"two fields", r_evidence, sizeof(ec_evidence_body_t), EC_EINVAL};
    ec_writer_reset(&w);
    ec_write_array(&w, 2);
    ec_write_bin(&w, ev.root, 32);
    ec_write_uint(&w, 1);
    s_check(&c, &w);
    c = (s_case_t){"a root of 31 bytes", r_evidence, sizeof(ec_evidence_body_t), EC_EINVAL};
    ec_writer_reset(&w);
    ec_write_array(&w, 3);
    ec_write_bin(&w, ev.root, 31);
    ec_write_uint(&w, 1);
    ec_write_cstr(&w, "");
    s_check(&c, &w);
    c = (s_case_t){"a negative count", r_evidence, sizeof(ec_evidence_body_t), EC_EINVAL};
    ec_writer_reset(&w);
    ec_write_array(&w, 3);
    ec_write_bin(&w, ev.root, 32);
    ec_write_int(&w, -1);
    ec_write_cstr(&w, "");
    s_check(&c, &w);
    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *root = NULL;
    assert_int_equal(ec_decode(&d, ec_writer_data(&w), ec_writer_size(&w), &root), 0);
    ec_status_t st = {0};
    assert_int_equal(ec_evidence_body_read(&ev, root, &st), EC_EINVAL);
    assert_non_null(strstr(st.msg, "EVIDENCE body must be [root: bin32, count: uint"));
    ec_decoder_fini(&d);
    assert_string_equal(ec_tx_type_name(EC_CHAIN_SIDE, EC_STX_EVIDENCE), "EVIDENCE");
    ec_writer_fini(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_main),
        cmocka_unit_test(test_roundtrip_side),
        cmocka_unit_test(test_known_bytes),
        cmocka_unit_test(test_refuse_counts_and_types),
        cmocka_unit_test(test_refuse_limits),
        cmocka_unit_test(test_refuse_text),
        cmocka_unit_test(test_refuse_addresses_and_roles),
        cmocka_unit_test(test_refuse_sidechain),
        cmocka_unit_test(test_evidence),
    };
    return cmocka_run_group_tests_name("body", tests, s_setup, NULL);
}
