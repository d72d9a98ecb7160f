/*
 * test_client.c - unit tests for the ecert client: its pure encodings (client/cl_fields.c:
 * the certificate payload, fields_root, the holder's check of a decrypted payload against
 * the certificate's fields_root, and the identity hash), its reply readers
 * (client/cl_common.c) and its commands, called in-process several times as a test does.
 * Expected hashes are computed here from hand-written msgpack bytes and libsodium's
 * SHA-256, independently of ec_codec and ec_merkle, so a change in either format makes
 * these tests fail.
 *
 * Personal data must be wiped before it is freed. This program is linked with
 * -Wl,--wrap=free (tests/unit/meson.build), so every free() called from the client and
 * libecert code linked into it goes through __wrap_free below, which counts blocks that
 * still hold S_MARKER when they are freed; jansson, a shared library, frees through the
 * allocator cl_json_wipe_on_free installs, which calls free() from client code and so is
 * watched too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cl_commands.h"
#include "cl_common.h"
#include "cl_fields.h"
#include "cl_present.h"
#include "ec_crypto.h"
#include "ec_merkle.h"

/* ---- watching free() -------------------------------------------------------------------- */

#define S_MARKER "Personal-Data-7f3a91"

void __real_free(void *p);
void __wrap_free(void *p);

static size_t s_frees;        /* frees seen since s_watch_reset                     */
static size_t s_marked_frees; /* of those, blocks that still held S_MARKER           */

void __wrap_free(void *p)
{
    if (p) {
        s_frees++;
        size_t n = malloc_usable_size(p);
        if (memmem(p, n, S_MARKER, sizeof S_MARKER - 1))
            s_marked_frees++;
    }
    __real_free(p);
}

static void s_watch_reset(void)
{
    s_frees = 0;
    s_marked_frees = 0;
}

static const uint8_t s_zero_salt[CL_FIELD_SALT_BYTES] = {0};

/* SHA-256(0x00 || 0x05 || data): a field leaf, by hand. */
static void s_leaf(uint8_t out[32], const uint8_t *data, size_t size)
{
    crypto_hash_sha256_state st;
    const uint8_t prefix[2] = {0x00, EC_LEAF_FIELD};
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, prefix, 2);
    crypto_hash_sha256_update(&st, data, size);
    crypto_hash_sha256_final(&st, out);
}

/* msgpack [name, value, bin16 salt] for one-byte name and value, by hand. */
static size_t s_field_bytes(uint8_t *out, char name, char value, uint8_t salt_byte)
{
    size_t n = 0;
    out[n++] = 0x93;
    out[n++] = 0xa1;
    out[n++] = (uint8_t)name;
    out[n++] = 0xa1;
    out[n++] = (uint8_t)value;
    out[n++] = 0xc4;
    out[n++] = 0x10;
    memset(out + n, salt_byte, 16);
    return n + 16;
}

static int s_setup(void **state)
{
    (void)state;
    cl_json_wipe_on_free(); /* before any jansson call, as ecert's main() does */
    return ec_crypto_init();
}

static void test_fields_add_limits(void **state)
{
    (void)state;
    cl_fields_t f;
    ec_status_t st = {0};
    cl_fields_init(&f);
    assert_int_equal(cl_fields_add(&f, "degree", "MSc", NULL, &st), 0);
    assert_int_equal(cl_fields_add(&f, "degree", "BSc", NULL, &st), EC_EINVAL);
    assert_int_equal(cl_fields_add(&f, "", "x", NULL, &st), EC_EINVAL);
    char long_name[CL_FIELD_NAME_MAX + 2];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(cl_fields_add(&f, long_name, "x", NULL, &st), EC_ETOOBIG);
    long_name[CL_FIELD_NAME_MAX] = '\0'; /* exactly the limit: accepted */
    assert_int_equal(cl_fields_add(&f, long_name, "", NULL, &st), 0);
    static char long_value[CL_FIELD_VALUE_MAX + 2];
    memset(long_value, 'v', sizeof long_value - 1);
    assert_int_equal(cl_fields_add(&f, "big", long_value, NULL, &st), EC_ETOOBIG);
    assert_int_equal(f.count, 2);
    /* Random salts differ between fields. */
    assert_memory_not_equal(f.items[0].salt, f.items[1].salt, CL_FIELD_SALT_BYTES);
    cl_fields_fini(&f);
    cl_fields_fini(&f); /* twice is safe */

    cl_fields_init(&f);
    for (int i = 0; i < CL_FIELDS_MAX; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%d", i);
        assert_int_equal(cl_fields_add(&f, name, "v", NULL, &st), 0);
    }
    assert_int_equal(cl_fields_add(&f, "one-too-many", "v", NULL, &st), EC_ETOOBIG);
    cl_fields_fini(&f);
}

static void test_split_arg(void **state)
{
    (void)state;
    char name[CL_FIELD_NAME_MAX + 1];
    const char *value = NULL;
    ec_status_t st = {0};
    assert_int_equal(cl_split_arg("major=Physics=Applied", name, &value, &st), 0);
    assert_string_equal(name, "major");
    assert_string_equal(value, "Physics=Applied");
    assert_int_equal(cl_split_arg("year=", name, &value, &st), 0);
    assert_string_equal(value, "");
    assert_int_equal(cl_split_arg("novalue", name, &value, &st), EC_EINVAL);
    assert_int_equal(cl_split_arg("=x", name, &value, &st), EC_EINVAL);

    cl_fields_t f;
    cl_fields_init(&f);
    assert_int_equal(cl_fields_add_arg(&f, "name=Zhang Wei", &st), 0);
    assert_string_equal(f.items[0].name, "name");
    assert_string_equal(f.items[0].value, "Zhang Wei");
    assert_int_equal(cl_fields_add_arg(&f, "broken", &st), EC_EINVAL);
    cl_fields_fini(&f);
}

/* Known answer: the root of one field is its leaf; of two, SHA-256(0x01 || l0 || l1). */
static void test_fields_root_known_answer(void **state)
{
    (void)state;
    uint8_t bytes[64], l0[32], l1[32], expect[32], root[32];
    size_t n = s_field_bytes(bytes, 'a', 'b', 0x00);
    s_leaf(l0, bytes, n);
    n = s_field_bytes(bytes, 'c', 'd', 0x11);
    s_leaf(l1, bytes, n);

    cl_fields_t f;
    ec_status_t st = {0};
    uint8_t salt1[CL_FIELD_SALT_BYTES];
    memset(salt1, 0x11, sizeof salt1);
    cl_fields_init(&f);
    assert_int_equal(cl_fields_add(&f, "a", "b", s_zero_salt, &st), 0);
    cl_fields_root(root, &f);
    assert_memory_equal(root, l0, 32);
    /* The same vector as docs/PROTOCOL.md, "Certificate payload". */
    uint8_t kat[32];
    assert_int_equal(
        ec_unhex(kat, 32, "fb759401f06658b343b9cab4ae94fb4970910920bf6c6bf813f0c4c1a6046b56"), 0);
    assert_memory_equal(root, kat, 32);

    assert_int_equal(cl_fields_add(&f, "c", "d", salt1, &st), 0);
    crypto_hash_sha256_state h;
    const uint8_t one = 0x01;
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, &one, 1);
    crypto_hash_sha256_update(&h, l0, 32);
    crypto_hash_sha256_update(&h, l1, 32);
    crypto_hash_sha256_final(&h, expect);
    cl_fields_root(root, &f);
    assert_memory_equal(root, expect, 32);

    /* Order matters: the same fields the other way round give another root. */
    cl_fields_t g;
    cl_fields_init(&g);
    assert_int_equal(cl_fields_add(&g, "c", "d", salt1, &st), 0);
    assert_int_equal(cl_fields_add(&g, "a", "b", s_zero_salt, &st), 0);
    uint8_t other[32];
    cl_fields_root(other, &g);
    assert_memory_not_equal(other, root, 32);
    cl_fields_fini(&f);
    cl_fields_fini(&g);
}

/* The payload's exact bytes: [1, [["a","b",salt]], nil]. */
static void test_payload_encode_known_bytes(void **state)
{
    (void)state;
    cl_fields_t f;
    ec_status_t st = {0};
    cl_fields_init(&f);
    assert_int_equal(cl_fields_add(&f, "a", "b", s_zero_salt, &st), 0);
    ec_writer_t w;
    ec_writer_init(&w);
    cl_fields_encode(&w, &f);
    uint8_t expect[64];
    size_t n = 0;
    expect[n++] = 0x93;
    expect[n++] = 0x01;
    expect[n++] = 0x91;
    n += s_field_bytes(expect + n, 'a', 'b', 0x00);
    expect[n++] = 0xc0;
    assert_int_equal(ec_writer_size(&w), n);
    assert_memory_equal(ec_writer_data(&w), expect, n);
    ec_writer_fini(&w);
    cl_fields_fini(&f);
}

static void test_payload_roundtrip(void **state)
{
    (void)state;
    cl_fields_t f, g;
    ec_status_t st = {0};
    cl_fields_init(&f);
    cl_fields_init(&g);
    assert_int_equal(cl_fields_add(&f, "degree", "Master of Science", NULL, &st), 0);
    assert_int_equal(cl_fields_add(&f, "year", "2024", NULL, &st), 0);
    const uint8_t att[3] = {1, 2, 3};
    assert_int_equal(cl_fields_set_attachment(&f, att, sizeof att, &st), 0);
    ec_writer_t w;
    ec_writer_init(&w);
    cl_fields_encode(&w, &f);
    assert_int_equal(cl_fields_decode(&g, ec_writer_data(&w), ec_writer_size(&w), &st), 0);
    assert_int_equal(g.count, 2);
    assert_string_equal(g.items[1].name, "year");
    assert_string_equal(g.items[1].value, "2024");
    assert_memory_equal(g.items[0].salt, f.items[0].salt, CL_FIELD_SALT_BYTES);
    assert_int_equal(g.attachment_size, 3);
    assert_memory_equal(g.attachment, att, 3);
    uint8_t r1[32], r2[32];
    cl_fields_root(r1, &f);
    cl_fields_root(r2, &g);
    assert_memory_equal(r1, r2, 32);

    /* Sealed to a holder and opened with the holder's key: same fields. */
    uint8_t seed[32] = {7};
    ec_key_t *holder = ec_key_from_seed(seed);
    assert_non_null(holder);
    size_t size = ec_writer_size(&w);
    uint8_t *box = malloc(size + EC_SEAL_OVERHEAD), *plain = malloc(size);
    assert_int_equal(ec_seal(box, ec_writer_data(&w), size, ec_key_pk(holder)), 0);
    assert_int_equal(ec_unseal(plain, box, size + EC_SEAL_OVERHEAD, holder), 0);
    assert_memory_equal(plain, ec_writer_data(&w), size);
    free(box);
    free(plain);
    ec_key_destroy(&holder);
    ec_writer_fini(&w);
    cl_fields_fini(&f);
    cl_fields_fini(&g);
}

/* Fills f with `n` fields name_i=value_i, each with the salt byte salt[i]. */
static void s_fields_make(cl_fields_t *f, size_t n, const char *const *names,
                          const char *const *values, const uint8_t *salt_bytes)
{
    ec_status_t st = {0};
    cl_fields_init(f);
    for (size_t i = 0; i < n; i++) {
        uint8_t salt[CL_FIELD_SALT_BYTES];
        memset(salt, salt_bytes[i], sizeof salt);
        assert_int_equal(cl_fields_add(f, names[i], values[i], salt, &st), 0);
    }
}

/* Seals the payload of f to pk; the caller frees *box (*size bytes). */
static void s_fields_seal(uint8_t **box, size_t *size, const cl_fields_t *f, const uint8_t *pk)
{
    ec_writer_t w;
    ec_writer_init(&w);
    cl_fields_encode(&w, f);
    *size = ec_writer_size(&w) + EC_SEAL_OVERHEAD;
    *box = malloc(*size);
    assert_non_null(*box);
    assert_int_equal(ec_seal(*box, ec_writer_data(&w), ec_writer_size(&w), pk), 0);
    ec_writer_fini(&w);
}

/*
 * The holder's check that what it decrypts is what the certificate commits to: a payload
 * sealed for one field set, under the fields_root of another, is refused (EC_EPROOF), for
 * every way the two sets can differ, and the fields are not handed out.
 */
static void test_fields_open_checks_root(void **state)
{
    (void)state;
    static const char *const names[] = {"degree", "name", "year"};
    static const char *const values[] = {"BSc", "Li Hua", "2024"};
    static const uint8_t salts[] = {1, 2, 3};
    uint8_t seed[32] = {9};
    ec_key_t *holder = ec_key_from_seed(seed);
    assert_non_null(holder);
    cl_fields_t sealed_set, f;
    s_fields_make(&sealed_set, 3, names, values, salts);
    uint8_t *box = NULL;
    size_t box_size = 0;
    s_fields_seal(&box, &box_size, &sealed_set, ec_key_pk(holder));
    uint8_t root[EC_HASH_BYTES];
    cl_fields_root(root, &sealed_set);
    ec_status_t st = {0};

    /* Under its own root it opens, field for field. */
    cl_fields_init(&f);
    assert_int_equal(cl_fields_open(&f, holder, box, box_size, root, &st), 0);
    assert_int_equal(f.count, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(f.items[i].name, names[i]);
        assert_string_equal(f.items[i].value, values[i]);
    }
    cl_fields_fini(&f);

    /* Under the root of another field set it is refused, however little they differ. */
    static const char *const other_value[] = {"PhD", "Li Hua", "2024"};
    static const char *const other_name[] = {"level", "name", "year"};
    static const char *const reordered_names[] = {"name", "degree", "year"};
    static const char *const reordered_values[] = {"Li Hua", "BSc", "2024"};
    static const char *const extra_names[] = {"degree", "name", "year", "honours"};
    static const char *const extra_values[] = {"BSc", "Li Hua", "2024", "first"};
    static const uint8_t other_salts[] = {1, 2, 4};
    static const uint8_t reordered_salts[] = {2, 1, 3};
    static const uint8_t extra_salts[] = {1, 2, 3, 4};
    const struct {
        const char *what;
        size_t n;
        const char *const *names, *const *values;
        const uint8_t *salts;
    } others[] = {
        {"another value", 3, names, other_value, salts},
        {"another name", 3, other_name, values, salts},
        {"another salt", 3, names, values, other_salts},
        {"another order", 3, reordered_names, reordered_values, reordered_salts},
        {"one field fewer", 2, names, values, salts},
        {"one field more", 4, extra_names, extra_values, extra_salts},
        {"no fields", 0, names, values, salts},
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        cl_fields_t other;
        s_fields_make(&other, others[i].n, others[i].names, others[i].values, others[i].salts);
        uint8_t other_root[EC_HASH_BYTES];
        cl_fields_root(other_root, &other);
        cl_fields_fini(&other);
        assert_memory_not_equal(other_root, root, EC_HASH_BYTES);
        cl_fields_init(&f);
        ec_status_clear(&st);
        if (cl_fields_open(&f, holder, box, box_size, other_root, &st) != EC_EPROOF)
            fail_msg("%s: opened under another set's fields_root", others[i].what);
        assert_int_equal(st.code, EC_EPROOF);
        assert_non_null(strstr(st.msg, "fields_root"));
        assert_int_equal(f.count, 0); /* nothing to show */
    }

    /* Without a root (nothing to check against) it opens; other keys and damage do not. */
    cl_fields_init(&f);
    assert_int_equal(cl_fields_open(&f, holder, box, box_size, NULL, &st), 0);
    assert_int_equal(f.count, 3);
    cl_fields_fini(&f);
    ec_key_t *stranger = ec_key_generate();
    assert_non_null(stranger);
    assert_int_equal(cl_fields_open(&f, stranger, box, box_size, root, &st), EC_ECRYPTO);
    ec_key_destroy(&stranger);
    box[box_size / 2] ^= 1;
    assert_int_equal(cl_fields_open(&f, holder, box, box_size, root, &st), EC_ECRYPTO);
    assert_int_equal(cl_fields_open(&f, holder, box, EC_SEAL_OVERHEAD - 1, root, &st), EC_EINVAL);
    assert_int_equal(f.count, 0);
    free(box);
    cl_fields_fini(&sealed_set);
    ec_key_destroy(&holder);
}

static void test_payload_decode_rejects(void **state)
{
    (void)state;
    cl_fields_t f;
    ec_status_t st = {0};
    cl_fields_init(&f);
    uint8_t buf[128];
    size_t n = 0;
    /* version 2 */
    buf[n++] = 0x93, buf[n++] = 0x02, buf[n++] = 0x90, buf[n++] = 0xc0;
    assert_int_equal(cl_fields_decode(&f, buf, n, &st), EC_EVERSION);
    /* trailing byte */
    n = 0;
    buf[n++] = 0x93, buf[n++] = 0x01, buf[n++] = 0x90, buf[n++] = 0xc0, buf[n++] = 0xc0;
    assert_int_not_equal(cl_fields_decode(&f, buf, n, &st), 0);
    /* the empty payload is fine */
    assert_int_equal(cl_fields_decode(&f, buf, n - 1, &st), 0);
    assert_int_equal(f.count, 0);
    cl_fields_fini(&f);
    /* duplicate field names */
    n = 0;
    buf[n++] = 0x93, buf[n++] = 0x01, buf[n++] = 0x92;
    n += s_field_bytes(buf + n, 'a', 'b', 0);
    n += s_field_bytes(buf + n, 'a', 'c', 1);
    buf[n++] = 0xc0;
    assert_int_equal(cl_fields_decode(&f, buf, n, &st), EC_EINVAL);
    assert_int_equal(f.count, 0); /* left empty on error */
    /* a salt of 15 bytes */
    n = 0;
    buf[n++] = 0x93, buf[n++] = 0x01, buf[n++] = 0x91;
    size_t at = n;
    n += s_field_bytes(buf + n, 'a', 'b', 0);
    buf[at + 6] = 0x0f;
    n--;
    buf[n++] = 0xc0;
    assert_int_not_equal(cl_fields_decode(&f, buf, n, &st), 0);
    /* a field with 2 elements */
    n = 0;
    buf[n++] = 0x93, buf[n++] = 0x01, buf[n++] = 0x91, buf[n++] = 0x92, buf[n++] = 0xa1;
    buf[n++] = 'a', buf[n++] = 0xa1, buf[n++] = 'b', buf[n++] = 0xc0;
    assert_int_not_equal(cl_fields_decode(&f, buf, n, &st), 0);
    /* not msgpack at all */
    assert_int_not_equal(cl_fields_decode(&f, (const uint8_t *)"\xc1", 1, &st), 0);
    cl_fields_fini(&f);
}

static void test_fields_json(void **state)
{
    (void)state;
    cl_fields_t f;
    ec_status_t st = {0};
    cl_fields_init(&f);
    const char *ok = "{\"zeta\": \"1\", \"alpha\": \"2\", \"mid\": \"\\u4e2d\"}";
    assert_int_equal(cl_fields_add_json(&f, ok, strlen(ok), &st), 0);
    assert_int_equal(f.count, 3);
    assert_string_equal(f.items[0].name, "zeta"); /* file order kept, not sorted */
    assert_string_equal(f.items[1].name, "alpha");
    assert_string_equal(f.items[2].value, "\xe4\xb8\xad");
    cl_fields_fini(&f);

    const char *bad[] = {"{\"a\": 1}", "[\"a\"]", "{\"a\": \"1\", \"a\": \"2\"}", "{nope",
                         "{\"\": \"x\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cl_fields_init(&f);
        assert_int_equal(cl_fields_add_json(&f, bad[i], strlen(bad[i]), &st), EC_EINVAL);
        cl_fields_fini(&f);
    }
}

/* Known answer: SHA-256("ecert/identity" 0x00 || salt || [["a","1"],["b","2"]]). */
static void test_identity_hash(void **state)
{
    (void)state;
    uint8_t salt[16];
    memset(salt, 0x5a, sizeof salt);
    const uint8_t list[] = {0x92, 0x92, 0xa1, 'a', 0xa1, '1', 0x92, 0xa1, 'b', 0xa1, '2'};
    uint8_t expect[32], got[32];
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, (const uint8_t *)"ecert/identity", 15); /* with the NUL */
    crypto_hash_sha256_update(&h, salt, sizeof salt);
    crypto_hash_sha256_update(&h, list, sizeof list);
    crypto_hash_sha256_final(&h, expect);

    ec_status_t st = {0};
    cl_attr_t attrs[2] = {{"b", "2"}, {"a", "1"}}; /* unsorted on purpose */
    assert_int_equal(cl_identity_hash(got, salt, sizeof salt, attrs, 2, &st), 0);
    assert_memory_equal(got, expect, 32);
    uint8_t kat[32];
    assert_int_equal(
        ec_unhex(kat, 32, "75f3b074b7f382c76ab46e6a80d4cdf3d27f31f8f43232d9bbc6537c26718c09"), 0);
    assert_memory_equal(got, kat, 32);

    /* Another salt, another hash. */
    salt[0] ^= 1;
    assert_int_equal(cl_identity_hash(got, salt, sizeof salt, attrs, 2, &st), 0);
    assert_memory_not_equal(got, expect, 32);

    /* Errors: short salt, no attributes, duplicates, empty name. */
    assert_int_equal(cl_identity_hash(got, salt, 15, attrs, 2, &st), EC_EINVAL);
    assert_int_equal(cl_identity_hash(got, salt, sizeof salt, attrs, 0, &st), EC_EINVAL);
    cl_attr_t dup[2] = {{"a", "1"}, {"a", "2"}};
    assert_int_equal(cl_identity_hash(got, salt, sizeof salt, dup, 2, &st), EC_EINVAL);
    cl_attr_t empty[1] = {{"", "1"}};
    assert_int_equal(cl_identity_hash(got, salt, sizeof salt, empty, 1, &st), EC_EINVAL);
}

/* A `query account` result with n roles [2, "degree", "ORG-1"]; with bad_last the last
 * role's number is a str. */
static void s_account_reply(ec_writer_t *w, uint32_t n, bool bad_last)
{
    uint8_t pk[EC_PK_BYTES];
    char addr[EC_ADDR_MAX];
    memset(pk, 0x42, sizeof pk);
    ec_address_from_pk(addr, pk);
    ec_writer_reset(w);
    ec_write_array(w, 8);
    ec_write_cstr(w, addr);
    ec_write_cstr(w, "Zhang Wei");
    ec_write_bin(w, pk, sizeof pk);
    ec_write_uint(w, 7);
    ec_write_bool(w, true);
    ec_write_array(w, n);
    for (uint32_t i = 0; i < n; i++) {
        ec_write_array(w, 3);
        if (bad_last && i + 1 == n)
            ec_write_cstr(w, "2");
        else
            ec_write_uint(w, EC_ROLE_ISSUER);
        ec_write_cstr(w, "degree");
        ec_write_cstr(w, "ORG-1");
    }
    ec_write_bin(w, pk, sizeof pk); /* signs with its identity key */
    ec_write_nil(w);                /* no recovery pending        */
}

/*
 * Regression (issue 6): `ecert account pubkey` wrote past a 64-entry role array for an
 * account with more roles (the main chain allows EC_ACCOUNT_ROLES_MAX). Every count the
 * chain allows must read, and a reply above the limit is EC_ETOOBIG with nothing written
 * past the array (the canary after it stays intact, and ASan watches the rest).
 */
static void test_account_read_roles(void **state)
{
    (void)state;
    struct {
        cl_account_t a;
        uint8_t canary[4096];
    } *box = malloc(sizeof *box);
    assert_non_null(box);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *root = NULL;
    const uint32_t counts[] = {0, 1, 64, 65, EC_ACCOUNT_ROLES_MAX};
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        s_account_reply(&w, counts[k], false);
        assert_int_equal(ec_decode(&d, ec_writer_data(&w), ec_writer_size(&w), &root), 0);
        assert_int_equal(cl_account_read(&box->a, root), 0);
        assert_int_equal(box->a.role_count, counts[k]);
        assert_string_equal(box->a.name, "Zhang Wei");
        assert_int_equal(box->a.height, 7);
        if (counts[k]) {
            size_t last = counts[k] - 1;
            assert_int_equal(box->a.roles[last].role, EC_ROLE_ISSUER);
            assert_string_equal(box->a.roles[last].cert_type, "degree");
            assert_string_equal(box->a.roles[last].org_code, "ORG-1");
        }
    }
    const uint32_t too_many[] = {EC_ACCOUNT_ROLES_MAX + 1, 1000};
    for (size_t k = 0; k < 2; k++) {
        memset(box->canary, 0xa5, sizeof box->canary);
        s_account_reply(&w, too_many[k], false);
        assert_int_equal(ec_decode(&d, ec_writer_data(&w), ec_writer_size(&w), &root), 0);
        assert_int_equal(cl_account_read(&box->a, root), EC_ETOOBIG);
        assert_int_equal(box->a.role_count, 0);
        for (size_t i = 0; i < sizeof box->canary; i++)
            assert_int_equal(box->canary[i], 0xa5);
    }
    /* A malformed role (a str where the role number goes) is EC_EINVAL. */
    s_account_reply(&w, 1, true);
    assert_int_equal(ec_decode(&d, ec_writer_data(&w), ec_writer_size(&w), &root), 0);
    assert_int_equal(cl_account_read(&box->a, root), EC_EINVAL);
    assert_int_equal(box->a.role_count, 0);
    ec_decoder_fini(&d);
    ec_writer_fini(&w);
    free(box);
}

/* ---- personal data is wiped before it is freed ------------------------------------------ */

/*
 * Regression (issue 6): cl_fields_fini freed field values and the attachment without
 * wiping them (only the sealed plaintext was wiped, in cmd_cert.c).
 */
static void test_fields_wiped_on_free(void **state)
{
    (void)state;
    cl_fields_t f;
    ec_status_t st = {0};
    cl_fields_init(&f);
    assert_int_equal(cl_fields_add(&f, "name", S_MARKER, NULL, &st), 0);
    assert_int_equal(cl_fields_add_arg(&f, "id=" S_MARKER, &st), 0);
    const char json[] = "{\"address\": \"" S_MARKER "\"}";
    assert_int_equal(cl_fields_add_json(&f, json, sizeof json - 1, &st), 0);
    assert_int_equal(cl_fields_set_attachment(&f, (const uint8_t *)S_MARKER, sizeof S_MARKER, &st),
                     0);
    /* Replacing the attachment frees the old one: wiped too. */
    s_watch_reset();
    assert_int_equal(
        cl_fields_set_attachment(&f, (const uint8_t *)S_MARKER "2", sizeof S_MARKER + 1, &st), 0);
    uint8_t root[EC_HASH_BYTES];
    cl_fields_root(root, &f); /* the leaf encodings hold names and values */
    cl_fields_fini(&f);
    assert_true(s_frees > 0);
    assert_int_equal(s_marked_frees, 0);

    /* The identity hash encodes the attributes: wiped as well. */
    uint8_t salt[16] = {1}, hash[EC_HASH_BYTES];
    cl_attr_t attrs[1] = {{"name", S_MARKER}};
    s_watch_reset();
    assert_int_equal(cl_identity_hash(hash, salt, sizeof salt, attrs, 1, &st), 0);
    assert_int_equal(s_marked_frees, 0);

    /* jansson's blocks, through the wiping allocator. */
    s_watch_reset();
    json_t *js = json_pack("{s:s}", "k", S_MARKER);
    char *text = json_dumps(js, 0);
    json_decref(js);
    json_free_t jfree = NULL;
    json_get_alloc_funcs(NULL, &jfree);
    jfree(text);
    assert_true(s_frees > 0);
    assert_int_equal(s_marked_frees, 0);
}

/* Decrypting a certificate (cert get, verify --key) leaves no copy of the fields behind. */
static void test_show_fields_wiped(void **state)
{
    (void)state;
    uint8_t seed[32];
    memset(seed, 0x61, sizeof seed);
    ec_key_t *key = ec_key_from_seed(seed);
    assert_non_null(key);
    cl_fields_t f;
    ec_status_t st = {0};
    cl_fields_init(&f);
    assert_int_equal(cl_fields_add(&f, "degree", S_MARKER, NULL, &st), 0);
    uint8_t root[EC_HASH_BYTES];
    cl_fields_root(root, &f);
    ec_writer_t w;
    ec_writer_init(&w);
    cl_fields_encode(&w, &f);
    size_t sealed_size = ec_writer_size(&w) + EC_SEAL_OVERHEAD;
    uint8_t *sealed = malloc(sealed_size);
    assert_non_null(sealed);
    assert_int_equal(ec_seal(sealed, ec_writer_data(&w), ec_writer_size(&w), ec_key_pk(key)), 0);
    cl_writer_wipe_fini(&w);
    cl_fields_fini(&f);

    cl_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.json = true; /* nothing printed */
    json_t *obj = json_object();
    s_watch_reset();
    assert_int_equal(cl_cert_show_fields(&ctx, key, sealed, sealed_size, root, obj), 0);
    json_t *fields = json_object_get(obj, "fields");
    assert_string_equal(json_string_value(json_object_get(fields, "degree")), S_MARKER);
    json_decref(obj);
    assert_true(s_frees > 0);
    assert_int_equal(s_marked_frees, 0);
    free(sealed);
    ec_key_destroy(&key);
}

/* ---- commands, called twice in one process ---------------------------------------------- */

/* Runs fn over the NULL-terminated arguments (argv[0] is the command's name) with a fresh
 * context; returns the exit status and leaves the context's message in msg. */
static int s_run(cl_command_fn fn, const char *const *args, char *msg, size_t cap)
{
    char buf[16][256];
    char *argv[17];
    int argc = 0;
    for (; args[argc]; argc++) {
        assert_true(argc < 16 && strlen(args[argc]) < sizeof buf[0]);
        snprintf(buf[argc], sizeof buf[argc], "%s", args[argc]);
        argv[argc] = buf[argc];
    }
    argv[argc] = NULL;
    cl_ctx_t *ctx = calloc(1, sizeof *ctx);
    assert_non_null(ctx);
    ctx->timeout_ms = 1000;
    ctx->json = true;
    int rc = fn(ctx, argc, argv);
    snprintf(msg, cap, "%s", ctx->err_msg);
    free(ctx);
    return rc;
}

/*
 * Regression (issue 6): the certificate commands kept their options in `static` structs
 * that were never reset, so a second invocation in the same process saw the first one's
 * --holder, --org, --cert and --verdict.
 */
static void test_cert_args_do_not_survive(void **state)
{
    (void)state;
    uint8_t pk[EC_PK_BYTES];
    memset(pk, 0x42, sizeof pk);
    char holder[EC_ADDR_MAX], msg[512];
    ec_address_from_pk(holder, pk);
    const char cert[] = "3fa90000000000000000000000000000000000000000000000000000000000c2";
    const char *first[] = {"inspect", "--type", "degree", "--holder",  holder,  "--org",
                           "ORG-1",   "--cert", cert,     "--verdict", "valid", NULL};
    /* Everything given but --key: refused at the key. */
    assert_int_equal(s_run(cmd_cert_inspect, first, msg, sizeof msg), 2);
    assert_non_null(strstr(msg, "missing --key"));
    /* Only --type: the command must miss --holder, not remember it. */
    const char *second[] = {"inspect", "--type", "degree", NULL};
    assert_int_equal(s_run(cmd_cert_inspect, second, msg, sizeof msg), 2);
    if (!strstr(msg, "missing --holder"))
        fail_msg("second invocation: '%s' (arguments of the first survived)", msg);

    const char *renew[] = {"renew", "--type", "degree", "--cert", cert, "--expires-ms", "5", NULL};
    assert_int_equal(s_run(cmd_cert_renew, renew, msg, sizeof msg), 2);
    assert_non_null(strstr(msg, "missing --key"));
    const char *renew2[] = {"renew", "--type", "degree", NULL};
    assert_int_equal(s_run(cmd_cert_renew, renew2, msg, sizeof msg), 2);
    if (!strstr(msg, "missing --cert"))
        fail_msg("second renew: '%s' (arguments of the first survived)", msg);
}

/* `cert issue --data FILE`: the file's contents and every copy of the fields are wiped. */
static void test_cert_data_file_wiped(void **state)
{
    (void)state;
    char path[] = "/tmp/ecert-test-client-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char json[] = "{\"degree\": \"" S_MARKER "\", \"major\": \"" S_MARKER "\"}";
    assert_int_equal(write(fd, json, sizeof json - 1), (ssize_t)(sizeof json - 1));
    close(fd);
    uint8_t pk[EC_PK_BYTES];
    memset(pk, 0x42, sizeof pk);
    char holder[EC_ADDR_MAX], msg[512];
    ec_address_from_pk(holder, pk);
    const char *args[] = {"issue", "--type", "degree", "--holder", holder,
                          "--org", "ORG-1",  "--data", path,       NULL};
    s_watch_reset();
    assert_int_equal(s_run(cmd_cert_issue, args, msg, sizeof msg), 2);
    assert_non_null(strstr(msg, "missing --key"));
    assert_true(s_frees > 0);
    assert_int_equal(s_marked_frees, 0);
    unlink(path);
}

/*
 * Regression: a key file open to group or others was refused with "cannot read key file X:
 * bad configuration"; the mode and the chmod that fixes it were only in a log line, which
 * --json output loses. The recorded error (printed as is, and as the --json message) must
 * carry them, and cl_key_load must refuse the file before it asks for a passphrase.
 */
static void test_key_file_mode_in_message(void **state)
{
    (void)state;
    char dir[] = "/tmp/ecert-test-client-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[sizeof dir + 16];
    snprintf(path, sizeof path, "%s/k.key", dir);
    ec_key_t *key = ec_key_generate();
    assert_non_null(key);
    assert_int_equal(
        ec_key_save_ex(key, path, "pw", crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN), 0);
    ec_key_destroy(&key);
    assert_int_equal(chmod(path, 0644), 0);
    char msg[512], mode[64], fix[sizeof path + 16];
    snprintf(mode, sizeof mode, "has mode 0644");
    snprintf(fix, sizeof fix, "chmod 600 %s", path);

    const char *address[] = {"address", "--key", path, NULL};
    assert_int_equal(s_run(cmd_account_address, address, msg, sizeof msg), 1);
    if (!strstr(msg, mode) || !strstr(msg, fix))
        fail_msg("account address: '%s' does not say the mode and the fix", msg);

    /* The passphrase file does not exist: asking for a passphrase first would fail on it. */
    cl_ctx_t *ctx = calloc(1, sizeof *ctx);
    assert_non_null(ctx);
    ctx->json = true;
    ctx->passphrase_file = "/nonexistent/ecert-passphrase";
    assert_null(cl_key_load(ctx, path));
    assert_int_equal(ctx->err_code, EC_ECONFIG);
    if (!strstr(ctx->err_msg, mode) || !strstr(ctx->err_msg, fix))
        fail_msg("cl_key_load: '%s' does not say the mode and the fix", ctx->err_msg);
    free(ctx);

    unlink(path);
    rmdir(dir);
}

/* ---- requests and presentations (cl_present.c) ------------------------------------------ */

/* A signed request by `key` for fields name,degree of chain "ecert-degree-dev". */
static void s_request(ec_writer_t *w, const ec_key_t *key, uint8_t nonce_byte, uint64_t expires)
{
    cl_request_t r;
    memset(&r, 0, sizeof r);
    memcpy(r.verifier_pk, ec_key_pk(key), EC_PK_BYTES);
    strcpy(r.side_chain_id, "ecert-degree-dev");
    r.field_count = 2;
    strcpy(r.fields[0], "name");
    strcpy(r.fields[1], "degree");
    memset(r.nonce, nonce_byte, sizeof r.nonce);
    r.expires_ms = expires;
    cl_request_sign(w, &r, key);
}

/* A request signs and reads back; any changed byte is refused; a duplicated field, no
 * field or a bad chain id never read. */
static void test_request_roundtrip(void **state)
{
    (void)state;
    ec_key_t *verifier = ec_key_generate();
    ec_writer_t w;
    ec_writer_init(&w);
    s_request(&w, verifier, 7, 1900000000000ull);
    cl_request_t r;
    ec_status_t st;
    assert_int_equal(cl_request_open(&r, ec_writer_data(&w), ec_writer_size(&w), &st), 0);
    assert_memory_equal(r.verifier_pk, ec_key_pk(verifier), EC_PK_BYTES);
    assert_int_equal(r.field_count, 2);
    assert_string_equal(r.fields[1], "degree");
    assert_int_equal(r.expires_ms, 1900000000000ull);
    uint8_t *b = (uint8_t *)ec_writer_data(&w);
    for (size_t i = 0; i < ec_writer_size(&w); i++) {
        b[i] ^= 0x20;
        assert_int_not_equal(cl_request_open(&r, b, ec_writer_size(&w), &st), 0);
        b[i] ^= 0x20;
    }
    /* signed, but not a well-formed request: a field twice */
    cl_request_t bad;
    memset(&bad, 0, sizeof bad);
    memcpy(bad.verifier_pk, ec_key_pk(verifier), EC_PK_BYTES);
    strcpy(bad.side_chain_id, "ecert-degree-dev");
    bad.field_count = 2;
    strcpy(bad.fields[0], "name");
    strcpy(bad.fields[1], "name");
    ec_writer_reset(&w);
    cl_request_sign(&w, &bad, verifier);
    assert_int_equal(cl_request_open(&r, ec_writer_data(&w), ec_writer_size(&w), &st), EC_EINVAL);
    ec_writer_fini(&w);
    ec_key_destroy(&verifier);
}

/*
 * The checks a presentation meets before its proof: the holder's signature, the request it
 * answers (this verifier's, this very one) and its expiry, each refused with its reason.
 * (A real ISSUE proof, the holder and the fields are exercised on a devnet:
 * tests/integration/presentation.sh.)
 */
static void test_presentation_refusals(void **state)
{
    (void)state;
    ec_key_t *verifier = ec_key_generate(), *other = ec_key_generate();
    uint8_t seed[32];
    memset(seed, 0x31, sizeof seed);
    ec_key_t *holder = ec_key_from_seed(seed);
    ec_writer_t req, req2, req3, pres;
    ec_writer_init(&req);
    ec_writer_init(&req2);
    ec_writer_init(&req3);
    ec_writer_init(&pres);
    s_request(&req, verifier, 1, 2000);
    s_request(&req2, verifier, 2, 2000); /* another request of the same verifier */
    s_request(&req3, other, 1, 2000);    /* another verifier's */
    cl_fields_t f;
    cl_fields_init(&f);
    ec_status_t st;
    assert_int_equal(cl_fields_add(&f, "name", "Li Hua", NULL, &st), 0);
    assert_int_equal(cl_fields_add(&f, "degree", "MSc", NULL, &st), 0);
    assert_int_equal(cl_fields_add(&f, "id", "110101", NULL, &st), 0);
    const char *names[] = {"name", "degree"};
    static const uint8_t not_a_bundle[] = {0x90};
    assert_int_equal(cl_present_build(&pres, ec_writer_data(&req), ec_writer_size(&req), holder,
                                      not_a_bundle, sizeof not_a_bundle, &f, names, 2, NULL, 0,
                                      &st),
                     0);
    const char *missing[] = {"photo"};
    ec_writer_t x;
    ec_writer_init(&x);
    assert_int_equal(cl_present_build(&x, ec_writer_data(&req), ec_writer_size(&req), holder,
                                      not_a_bundle, 1, &f, missing, 1, NULL, 0, &st),
                     EC_ENOTFOUND);
    ec_writer_fini(&x);
    /* the disclosed values are there; the undisclosed one is not */
    const uint8_t *pb = ec_writer_data(&pres);
    size_t ps = ec_writer_size(&pres);
    assert_non_null(memmem(pb, ps, "Li Hua", 6));
    assert_null(memmem(pb, ps, "110101", 6));

    ec_valset_t vs;
    memset(&vs, 0, sizeof vs);
    vs.count = 1;
    vs.v[0].power = 1;
    cl_presentation_t *p = malloc(sizeof *p);
    assert_non_null(p);
#define S_CHECK(data, size, own, now, code, why)                                                   \
    do {                                                                                           \
        assert_int_equal(cl_present_check(p, data, size, ec_writer_data(own), ec_writer_size(own), \
                                          now, "ecert-main", &vs, &st),                            \
                         code);                                                                    \
        assert_string_equal(p->reason, why);                                                       \
        cl_present_fini(p);                                                                        \
    } while (0)
    /* past the request checks, the dummy bundle is what fails */
    S_CHECK(pb, ps, &req, 1000, EC_EINVAL, "bad-proof");
    S_CHECK(pb, ps, &req2, 1000, EC_EINVAL, "foreign-nonce");
    S_CHECK(pb, ps, &req3, 1000, EC_EPERM, "wrong-verifier");
    S_CHECK(pb, ps, &req, 2001, EC_ETIMEOUT, "expired");
    assert_non_null(strstr(st.msg, "expired"));
    /* one byte of a disclosed value changed: the holder's signature no longer holds */
    uint8_t *copy = malloc(ps);
    memcpy(copy, pb, ps);
    uint8_t *at = memmem(copy, ps, "Li Hua", 6);
    at[0] = 'X';
    S_CHECK(copy, ps, &req, 1000, EC_ESIG, "altered");
    S_CHECK(copy, 3, &req, 1000, EC_EINVAL, "malformed");
#undef S_CHECK
    free(copy);
    free(p);
    cl_fields_fini(&f);
    ec_writer_fini(&pres);
    ec_writer_fini(&req3);
    ec_writer_fini(&req2);
    ec_writer_fini(&req);
    ec_key_destroy(&holder);
    ec_key_destroy(&other);
    ec_key_destroy(&verifier);
}

/* cl_out_field shows terminal control characters of a stranger's field as '?': C0 (ESC,
 * BEL, CR, NUL inside the value), DEL and the C1 controls, while other UTF-8 stays. */
static void test_out_field_controls(void **state)
{
    (void)state;
    char path[] = "/tmp/ecert-test-out-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
    cl_ctx_t ctx = {0};
    static const char value[] = "ok\x1b[2Jx\x07\r\0y\x7f\xc2\x9bz \xc3\xa9";
    cl_out_field(&ctx, "na\x1bme", value, sizeof value - 1);
    ctx.json = true;
    cl_out_field(&ctx, "silent", "with --json", 11);
    fflush(stdout);
    assert_int_equal(dup2(saved, STDOUT_FILENO), STDOUT_FILENO);
    close(saved);
    char buf[128] = {0};
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    unlink(path);
    assert_true(n > 0);
    assert_string_equal(buf, "  na?me: ok?[2Jx???y??z \xc3\xa9\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_add_limits),
        cmocka_unit_test(test_split_arg),
        cmocka_unit_test(test_fields_root_known_answer),
        cmocka_unit_test(test_payload_encode_known_bytes),
        cmocka_unit_test(test_payload_roundtrip),
        cmocka_unit_test(test_fields_open_checks_root),
        cmocka_unit_test(test_payload_decode_rejects),
        cmocka_unit_test(test_fields_json),
        cmocka_unit_test(test_identity_hash),
        cmocka_unit_test(test_account_read_roles),
        cmocka_unit_test(test_fields_wiped_on_free),
        cmocka_unit_test(test_show_fields_wiped),
        cmocka_unit_test(test_cert_args_do_not_survive),
        cmocka_unit_test(test_cert_data_file_wiped),
        cmocka_unit_test(test_key_file_mode_in_message),
        cmocka_unit_test(test_request_roundtrip),
        cmocka_unit_test(test_presentation_refusals),
        cmocka_unit_test(test_out_field_controls),
    };
    return cmocka_run_group_tests_name("client", tests, s_setup, NULL);
}
