/*
 * test_client.c - unit tests for the ecert client's pure encodings (client/cl_fields.c):
 * the certificate payload, fields_root, the holder's check of a decrypted payload against
 * the certificate's fields_root, and the identity hash. Expected hashes are computed
 * here from hand-written msgpack bytes and libsodium's SHA-256, independently of ec_codec
 * and ec_merkle, so a change in either format makes these tests fail.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_fields.h"
#include "ec_crypto.h"
#include "ec_merkle.h"

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
    };
    return cmocka_run_group_tests_name("client", tests, s_setup, NULL);
}
