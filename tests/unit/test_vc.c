/*
 * test_vc.c - known-answer tests of the credential formats (client/cl_jcs.c, cl_did.c,
 * cl_vc.c, cl_sdjwt.c) against the specifications' own examples: RFC 8785's number table,
 * escaping and UTF-16 key order; the W3C vc-di-eddsa eddsa-jcs-2022 test vector (its key
 * pair, document, proof options and proofValue); did:key's Ed25519 form; RFC 9901's
 * disclosure digests. Then round trips with tampering: a changed field, a dropped, added
 * or repeated disclosure, a wrong nonce or audience, and the status list bit layout.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "cl_did.h"
#include "cl_jcs.h"
#include "cl_sdjwt.h"
#include "cl_vc.h"
#include "ec_slist.h"

static char *s_canon(const char *json)
{
    json_error_t err;
    json_t *v = json_loads(json, JSON_ALLOW_NUL, &err);
    assert_non_null(v);
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(cl_jcs_dump(v, &out, &len), 0);
    json_decref(v);
    return out;
}

/* RFC 8785 appendix B: IEEE 754 bit patterns and their ECMAScript text. */
static void test_jcs_numbers(void **state)
{
    (void)state;
    static const struct {
        uint64_t bits;
        const char *text;
    } v[] = {
        {0x0000000000000000ull, "0"},
        {0x8000000000000000ull, "0"},
        {0x0000000000000001ull, "5e-324"},
        {0x8000000000000001ull, "-5e-324"},
        {0x7fefffffffffffffull, "1.7976931348623157e+308"},
        {0xffefffffffffffffull, "-1.7976931348623157e+308"},
        {0x4340000000000000ull, "9007199254740992"},
        {0xc340000000000000ull, "-9007199254740992"},
        {0x4430000000000000ull, "295147905179352830000"},
        {0x44b52d02c7e14af5ull, "9.999999999999997e+22"},
        {0x44b52d02c7e14af6ull, "1e+23"},
        {0x44b52d02c7e14af7ull, "1.0000000000000001e+23"},
        {0x444b1ae4d6e2ef4eull, "999999999999999700000"},
        {0x444b1ae4d6e2ef4full, "999999999999999900000"},
        {0x444b1ae4d6e2ef50ull, "1e+21"},
        {0x3eb0c6f7a0b5ed8cull, "9.999999999999997e-7"},
        {0x3eb0c6f7a0b5ed8dull, "0.000001"},
        {0x41b3de4355555553ull, "333333333.3333332"},
        {0x41b3de4355555554ull, "333333333.33333325"},
        {0x41b3de4355555555ull, "333333333.3333333"},
        {0x41b3de4355555556ull, "333333333.3333334"},
        {0x41b3de4355555557ull, "333333333.33333343"},
        {0xbecbf647612f3696ull, "-0.0000033333333333333333"},
        {0x43143ff3c1cb0959ull, "1424953923781206.2"},
        /* powers of two whose shortest form lies above them (JSON.stringify's output) */
        {0x1730000000000000ull, "5.351097043477547e-197"},
        {0xc580000000000000ull, "-6.189700196426902e+26"},
        {0x39e0000000000000ull, "6.310887241768095e-30"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        double d;
        memcpy(&d, &v[i].bits, sizeof d);
        char buf[CL_JCS_NUMBER_MAX];
        assert_int_equal(cl_jcs_number(buf, d), 0);
        assert_string_equal(buf, v[i].text);
    }
    char buf[CL_JCS_NUMBER_MAX];
    assert_int_equal(cl_jcs_number(buf, NAN), EC_EINVAL);
    assert_int_equal(cl_jcs_number(buf, INFINITY), EC_EINVAL);
}

/* RFC 8785 section 3.2.2's example input and its canonical output. */
static void test_jcs_example(void **state)
{
    (void)state;
    char *out = s_canon("{\"numbers\": [333333333.33333329, 1E30, 4.50, 2e-3, "
                        "0.000000000000000000000000001], \"string\": "
                        "\"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\", "
                        "\"literals\": [null, true, false]}");
    assert_string_equal(out, "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,"
                             "1e+30,4.5,0.002,1e-27],\"string\":\"\xe2\x82\xac$\\u000f\\nA'B"
                             "\\\"\\\\\\\\\\\"/\"}");
    free(out);
}

/* RFC 8785 section 3.2.3: members sorted by UTF-16 code units. */
static void test_jcs_sorting(void **state)
{
    (void)state;
    char *out = s_canon("{\"\\u20ac\": \"Euro Sign\", \"\\r\": \"Carriage Return\", "
                        "\"\\ufb33\": \"Hebrew Letter Dalet With Dagesh\", \"1\": \"One\", "
                        "\"\\ud83d\\ude00\": \"Emoji: Grinning Face\", \"\\u0080\": \"Control\", "
                        "\"\\u00f6\": \"Latin Small Letter O With Diaeresis\"}");
    assert_string_equal(out, "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\","
                             "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\","
                             "\"\xe2\x82\xac\":\"Euro Sign\","
                             "\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\","
                             "\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}");
    free(out);
}

static void test_base64url(void **state)
{
    (void)state;
    uint8_t *out = NULL;
    size_t n = 0;
    assert_int_equal(cl_b64url_decode("AQID", 4, 16, &out, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(out[2], 3);
    free(out);
    assert_int_equal(cl_b64url_decode("AQID=", 5, 16, &out, &n), EC_EINVAL); /* padding */
    assert_int_equal(cl_b64url_decode("AQ+D", 4, 16, &out, &n), EC_EINVAL);  /* not url-safe */
    assert_int_equal(cl_b64url_decode("AR", 2, 16, &out, &n), EC_EINVAL);    /* stray bits */
    assert_int_equal(cl_b64url_decode("AQIDBAUG", 8, 4, &out, &n), EC_ETOOBIG);
}

/* The vc-di-eddsa key pair: did:key form, and the secret key's multibase seed. */
static ec_key_t *s_spec_key(void)
{
    uint8_t raw[40];
    size_t n = 0;
    assert_int_equal(
        cl_base58_decode(raw, sizeof raw, &n, "3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"),
        0);
    assert_int_equal(n, 34);
    assert_int_equal(raw[0], 0x80); /* multicodec ed25519-priv, varint 0x1300 */
    assert_int_equal(raw[1], 0x26);
    ec_key_t *key = ec_key_from_seed(raw + 2);
    assert_non_null(key);
    return key;
}

static void test_did_key(void **state)
{
    (void)state;
    ec_key_t *key = s_spec_key();
    char did[CL_DID_MAX], vm[CL_DID_VM_MAX];
    cl_did_from_pk(did, ec_key_pk(key));
    assert_string_equal(did, "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2");
    cl_did_vm_from_pk(vm, ec_key_pk(key));
    uint8_t pk[EC_PK_BYTES];
    assert_int_equal(cl_did_parse(pk, vm), 0);
    assert_memory_equal(pk, ec_key_pk(key), EC_PK_BYTES);
    /* did:key spec example (Ed25519), round trip */
    static const char *ex = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
    assert_int_equal(cl_did_parse(pk, ex), 0);
    cl_did_from_pk(did, pk);
    assert_string_equal(did, ex);
    assert_int_equal(cl_did_parse(pk, "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"),
                     EC_EINVAL); /* secp256k1, not Ed25519 */
    assert_int_equal(cl_did_parse(pk, "did:web:example.com"), EC_EINVAL);
    assert_int_equal(
        cl_did_parse(pk, "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#z6Mkother"),
        EC_EINVAL);
    ec_key_destroy(&key);
}

static const char s_unsigned[] =
    "{\"@context\":[\"https://www.w3.org/ns/credentials/v2\","
    "\"https://www.w3.org/ns/credentials/examples/v2\"],"
    "\"id\":\"urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33\","
    "\"type\":[\"VerifiableCredential\",\"AlumniCredential\"],\"name\":\"Alumni Credential\","
    "\"description\":\"A minimum viable example of an Alumni Credential.\","
    "\"issuer\":\"https://vc.example/issuers/5678\",\"validFrom\":\"2023-01-01T00:00:00Z\","
    "\"credentialSubject\":{\"id\":\"did:example:abcdefgh\",\"alumniOf\":\"The School of "
    "Examples\"}}";

/* W3C vc-di-eddsa test vector for eddsa-jcs-2022: the exact proofValue. */
static void test_eddsa_jcs_2022_vector(void **state)
{
    (void)state;
    ec_key_t *key = s_spec_key();
    json_t *doc = json_loads(s_unsigned, 0, NULL);
    assert_non_null(doc);
    assert_int_equal(cl_di_sign(doc, key, "2023-02-24T23:36:38Z"), 0);
    json_t *proof = json_object_get(doc, "proof");
    assert_string_equal(json_string_value(json_object_get(proof, "proofValue")),
                        "z2HnFSSPPBzR36zdDgK8PbEHeXbR56YF24jwMpt3R1eHXQzJDMWS93FCzpvJpwTWd3GAVFu"
                        "UfjoJdcnTMuVor51aX");
    uint8_t pk[EC_PK_BYTES];
    ec_status_t st = {0};
    assert_int_equal(cl_di_verify(doc, pk, &st), 0);
    assert_memory_equal(pk, ec_key_pk(key), EC_PK_BYTES);
    /* a changed claim breaks it */
    json_object_set_new(json_object_get(doc, "credentialSubject"), "alumniOf",
                        json_string("The School of Forgeries"));
    assert_int_equal(cl_di_verify(doc, pk, &st), EC_ESIG);
    json_decref(doc);
    ec_key_destroy(&key);
}

/* RFC 9901 (draft 07 onward) disclosure digest examples. */
static void test_sdjwt_digests(void **state)
{
    (void)state;
    char d[48];
    const char *a = "WyI2cU1RdlJMNWhhaiIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0";
    cl_sdjwt_digest(d, a, strlen(a));
    assert_string_equal(d, "uutlBuYeMDyjLLTpf6Jxi7yNkEF35jdyWMn9U7b_RYY");
    const char *b = "WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0";
    cl_sdjwt_digest(d, b, strlen(b));
    assert_string_equal(d, "w0I8EKcdCtUPkGCNUrfwVp2xEgNjtoIDlOxc9-PlOhs");
}

/* A certificate's issue info for the round trips. */
typedef struct {
    ec_key_t *agency, *holder;
    cl_fields_t f;
    uint8_t cert[EC_HASH_BYTES], bundle[8];
    cl_cred_info_t info;
} s_fix_t;

static void s_fix(s_fix_t *x)
{
    memset(x, 0, sizeof *x);
    uint8_t seed[32] = {1};
    x->agency = ec_key_from_seed(seed);
    seed[0] = 2;
    x->holder = ec_key_from_seed(seed);
    ec_status_t st = {0};
    assert_int_equal(cl_fields_add(&x->f, "degree", "Master of Science", NULL, &st), 0);
    assert_int_equal(cl_fields_add(&x->f, "major", "Physics", NULL, &st), 0);
    assert_int_equal(cl_fields_add(&x->f, "year", "2024", NULL, &st), 0);
    memset(x->cert, 0xab, sizeof x->cert);
    x->info = (cl_cred_info_t){.issuer_pk = ec_key_pk(x->agency),
                               .holder_pk = ec_key_pk(x->holder),
                               .cert_type = "degree",
                               .org_code = "ORG1",
                               .side_chain_id = "side-degree",
                               .cert_id = x->cert,
                               .slot = 5,
                               .issued_ms = 1700000000000,
                               .signed_ms = 1700000100000,
                               .status_base = "https://status.example/degree",
                               .bundle = x->bundle,
                               .bundle_size = sizeof x->bundle};
}

static void s_unfix(s_fix_t *x)
{
    cl_fields_fini(&x->f);
    ec_key_destroy(&x->agency);
    ec_key_destroy(&x->holder);
}

static void test_vc_time(void **state)
{
    (void)state;
    char text[CL_VC_TIME_MAX];
    cl_vc_time(text, 1700000000999);
    assert_string_equal(text, "2023-11-14T22:13:20Z");
    uint64_t ms = 0;
    assert_int_equal(cl_vc_time_parse(text, &ms), 0);
    assert_int_equal(ms, 1700000000000);
    assert_int_equal(cl_vc_time_parse("2023-11-14T22:13:20.25Z", &ms), 0);
    assert_int_equal(ms, 1700000000000);
    /* out of range fields are refused, not normalized into another time */
    assert_int_equal(cl_vc_time_parse("2023-13-14T22:13:20Z", &ms), EC_EINVAL);
    assert_int_equal(cl_vc_time_parse("2023-11-00T22:13:20Z", &ms), EC_EINVAL);
    assert_int_equal(cl_vc_time_parse("2023-11-14T22:61:20Z", &ms), EC_EINVAL);
    assert_int_equal(cl_vc_time_parse("2023-11-14T22:13:20", &ms), EC_EINVAL);
    assert_int_equal(cl_vc_time_parse("2023-11-14T22:13:20+08:00", &ms), EC_EINVAL);
}

static void test_vc_round_trip(void **state)
{
    (void)state;
    s_fix_t x;
    s_fix(&x);
    char *text = NULL;
    ec_status_t st = {0};
    assert_int_equal(cl_vc_issue(&text, &x.info, &x.f, x.agency, &st), 0);
    json_t *doc = cl_json_parse(text, strlen(text), CL_VC_BYTES_MAX, &st);
    assert_non_null(doc);
    uint8_t pk[EC_PK_BYTES];
    assert_int_equal(cl_di_verify(doc, pk, &st), 0);
    assert_memory_equal(pk, ec_key_pk(x.agency), EC_PK_BYTES);
    json_t *subject = json_object_get(doc, "credentialSubject");
    assert_string_equal(json_string_value(json_object_get(subject, "degree")), "Master of Science");
    /* valid from the ISSUE's block time, signed later */
    assert_string_equal(json_string_value(json_object_get(doc, "validFrom")),
                        "2023-11-14T22:13:20Z");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(doc, "proof"), "created")),
        "2023-11-14T22:15:00Z");
    json_t *status = json_array_get(json_object_get(doc, "credentialStatus"), 0);
    assert_string_equal(json_string_value(json_object_get(status, "statusListIndex")), "5");
    json_object_set_new(subject, "degree", json_string("Doctor of Science"));
    assert_int_equal(cl_di_verify(doc, pk, &st), EC_ESIG);
    json_decref(doc);
    free(text);
    /* a reserved field name is refused */
    assert_int_equal(cl_fields_add(&x.f, "iss", "x", NULL, &st), 0);
    assert_int_equal(cl_vc_issue(&text, &x.info, &x.f, x.agency, &st), EC_EINVAL);
    s_unfix(&x);
    /* a value that is not UTF-8 is refused, not left out of what is signed */
    s_fix(&x);
    assert_int_equal(cl_fields_add(&x.f, "note", "caf\xe9", NULL, &st), 0);
    assert_int_equal(cl_vc_issue(&text, &x.info, &x.f, x.agency, &st), EC_EINVAL);
    assert_null(text);
    assert_int_equal(cl_sdjwt_issue(&text, &x.info, &x.f, x.agency, &st), EC_EINVAL);
    s_unfix(&x);
}

static void test_sdjwt_round_trip(void **state)
{
    (void)state;
    s_fix_t x;
    s_fix(&x);
    char *issued = NULL, *pres = NULL;
    ec_status_t st = {0};
    uint64_t now = 1700000100000;
    assert_int_equal(cl_sdjwt_issue(&issued, &x.info, &x.f, x.agency, &st), 0);
    const char *names[] = {"degree", "year"};
    assert_int_equal(cl_sdjwt_present(&pres, issued, names, 2, x.holder, "n-1", "bank", now, &st),
                     0);
    cl_sdjwt_t v;
    assert_int_equal(cl_sdjwt_verify(&v, pres, strlen(pres), "n-1", "bank", now, &st), 0);
    assert_string_equal(json_string_value(json_object_get(v.disclosed, "year")), "2024");
    assert_null(json_object_get(v.disclosed, "major"));
    cl_sdjwt_fini(&v);
    /* wrong nonce, wrong audience */
    assert_int_equal(cl_sdjwt_verify(&v, pres, strlen(pres), "n-2", "bank", now, &st), EC_EPERM);
    cl_sdjwt_fini(&v);
    assert_int_equal(cl_sdjwt_verify(&v, pres, strlen(pres), "n-1", "shop", now, &st), EC_EPERM);
    cl_sdjwt_fini(&v);
    /* a disclosure dropped after the holder signed: sd_hash no longer matches */
    char *t1 = strdup(pres);
    char *first = strchr(t1, '~'), *second = strchr(first + 1, '~');
    memmove(first, second, strlen(second) + 1);
    assert_int_equal(cl_sdjwt_verify(&v, t1, strlen(t1), "n-1", "bank", now, &st), EC_EINVAL);
    cl_sdjwt_fini(&v);
    free(t1);
    /* a disclosure the issuer did not sign (a made-up field) */
    char *forged = NULL;
    {
        const char *d =
            "WyJzYWx0c2FsdHNhbHQiLCJtYWpvciIsIkxhdyJd"; /* ["saltsaltsalt","major","Law"] */
        size_t jwt_len = (size_t)(strchr(pres, '~') - pres);
        forged = malloc(strlen(pres) + strlen(d) + 2);
        memcpy(forged, pres, jwt_len + 1);
        strcpy(forged + jwt_len + 1, d);
        strcat(forged, pres + jwt_len);
    }
    assert_int_equal(cl_sdjwt_verify(&v, forged, strlen(forged), "n-1", "bank", now, &st),
                     EC_EINVAL);
    cl_sdjwt_fini(&v);
    free(forged);
    /* a presentation by someone else's key is not built */
    free(pres);
    pres = NULL;
    assert_int_equal(cl_sdjwt_present(&pres, issued, names, 2, x.agency, "n", "a", now, &st),
                     EC_EPERM);
    /* a field it does not have */
    const char *none[] = {"gpa"};
    assert_int_equal(cl_sdjwt_present(&pres, issued, none, 1, x.holder, "n", "a", now, &st),
                     EC_ENOTFOUND);
    /* the disclosures reuse the payload salts: the digest of field 0 is predictable */
    char *salt = cl_b64url_encode(x.f.items[0].salt, CL_FIELD_SALT_BYTES);
    assert_non_null(strstr(issued, "~"));
    free(salt);
    free(issued);
    s_unfix(&x);
}

/* A compact EdDSA JWS of the JSON texts header and payload (the tests' own, so that they
 * can sign what cl_sdjwt_issue never writes). malloc'd. */
static char *s_jwt(const char *header, const char *payload, const ec_key_t *key)
{
    char *h = cl_b64url_encode((const uint8_t *)header, strlen(header));
    char *p = cl_b64url_encode((const uint8_t *)payload, strlen(payload));
    size_t n = strlen(h) + 1 + strlen(p);
    char *out = malloc(n + 100);
    snprintf(out, n + 1, "%s.%s", h, p);
    uint8_t sig[EC_SIG_BYTES];
    ec_sign(sig, out, n, key);
    char *s = cl_b64url_encode(sig, sizeof sig);
    snprintf(out + n, 100, ".%s", s);
    free(h);
    free(p);
    free(s);
    return out;
}

/*
 * A presentation "<issuer JWT>~<disclosure>~<KB-JWT>" whose issuer JWT payload is
 * {iss, cnf, _sd: [digest of the disclosure] + sd_extra (JSON members after it)} and
 * whose KB-JWT carries kb_iat; verified with nonce "n" and aud "a" at now.
 */
static int s_crafted(s_fix_t *x, const char *disclosure, const char *sd_extra,
                     const char *payload_extra, long long kb_iat, uint64_t now)
{
    char did[CL_DID_MAX], digest[48], payload[2048], kb_payload[512];
    cl_did_from_pk(did, ec_key_pk(x->agency));
    cl_sdjwt_digest(digest, disclosure, strlen(disclosure));
    char *x64 = cl_b64url_encode(ec_key_pk(x->holder), EC_PK_BYTES);
    snprintf(payload, sizeof payload,
             "{\"iss\":\"%s\",\"cnf\":{\"jwk\":{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
             "\"x\":\"%s\"}},\"_sd\":[\"%s\"%s]%s}",
             did, x64, digest, sd_extra, payload_extra);
    free(x64);
    char *jwt = s_jwt("{\"alg\":\"EdDSA\",\"typ\":\"dc+sd-jwt\"}", payload, x->agency);
    size_t len = strlen(jwt) + strlen(disclosure) + 3;
    char *pres = malloc(len + 1024);
    snprintf(pres, len, "%s~%s~", jwt, disclosure);
    char sd_hash[48];
    cl_sdjwt_digest(sd_hash, pres, strlen(pres));
    snprintf(kb_payload, sizeof kb_payload,
             "{\"iat\":%lld,\"aud\":\"a\",\"nonce\":\"n\",\"sd_hash\":\"%s\"}", kb_iat, sd_hash);
    char *kb = s_jwt("{\"alg\":\"EdDSA\",\"typ\":\"kb+jwt\"}", kb_payload, x->holder);
    strcat(pres, kb);
    cl_sdjwt_t v;
    ec_status_t st = {0};
    int rc = cl_sdjwt_verify(&v, pres, strlen(pres), "n", "a", now, &st);
    cl_sdjwt_fini(&v);
    free(kb);
    free(jwt);
    free(pres);
    return rc;
}

/* What RFC 9901 section 7.1 makes a verifier refuse, on presentations signed correctly. */
static void test_sdjwt_hostile(void **state)
{
    (void)state;
    s_fix_t x;
    s_fix(&x);
    uint64_t now = 1700000100000;
    long long iat = 1700000000;
    const char *claim = "[\"c2FsdA\",\"year\",\"2024\"]";
    char *d = cl_b64url_encode((const uint8_t *)claim, strlen(claim));
    char digest[48], twice[64];
    cl_sdjwt_digest(digest, d, strlen(d));
    snprintf(twice, sizeof twice, ",\"%s\"", digest);
    /* well-formed: accepted (so the refusals below are for the one thing changed) */
    assert_int_equal(s_crafted(&x, d, "", "", iat, now), 0);
    /* a digest twice in _sd */
    assert_int_equal(s_crafted(&x, d, twice, "", iat, now), EC_EINVAL);
    /* a disclosed claim the issuer JWT already has in the clear */
    assert_int_equal(s_crafted(&x, d, "", ",\"year\":\"1999\"", iat, now), EC_EINVAL);
    /* exp before 1970 is expired, not (as a wrapped unsigned) far in the future */
    assert_int_equal(s_crafted(&x, d, "", ",\"exp\":-1", iat, now), EC_ETIMEOUT);
    assert_int_equal(s_crafted(&x, d, "", ",\"exp\":1700000100", iat, now), EC_ETIMEOUT);
    assert_int_equal(s_crafted(&x, d, "", ",\"exp\":1700000101", iat, now), 0);
    /* a KB-JWT iat whose milliseconds overflow 64 bits is in the future */
    assert_int_equal(s_crafted(&x, d, "", "", 18446744073709552LL, now), EC_EINVAL);
    assert_int_equal(s_crafted(&x, d, "", "", -5, now), EC_EINVAL);
    free(d);
    s_unfix(&x);
}

static void test_status_list(void **state)
{
    (void)state;
    uint8_t seed[32] = {7};
    ec_key_t *key = ec_key_from_seed(seed);
    uint8_t list[3] = {0};
    ec_slist_set(list, 1, EC_SLIST_SUSPENDED);
    ec_slist_set(list, 2, EC_SLIST_REVOKED);
    ec_slist_set(list, 9, EC_SLIST_ENDED);
    static const char *const purposes[] = {"revocation", "suspension"};
    for (int p = 0; p < 2; p++) {
        char *text = NULL;
        ec_status_t st = {0};
        assert_int_equal(cl_vc_status_list(&text, list, 10, purposes[p], "urn:x", 1700000000000,
                                           "side", 7, key, &st),
                         0);
        json_t *slc = cl_json_parse(text, strlen(text), CL_VC_BYTES_MAX, &st);
        uint8_t pk[EC_PK_BYTES];
        assert_int_equal(cl_di_verify(slc, pk, &st), 0);
        for (uint64_t i = 0; i < 10; i++) {
            bool bit = true;
            char purpose[32];
            assert_int_equal(cl_vc_status_bit(slc, i, &bit, purpose, &st), 0);
            assert_string_equal(purpose, purposes[p]);
            bool want = p == 0 ? (i == 2 || i == 9) : i == 1;
            assert_int_equal(bit, want);
        }
        bool bit;
        char purpose[32];
        assert_int_equal(cl_vc_status_bit(slc, CL_VC_SLIST_BITS_MIN, &bit, purpose, &st),
                         EC_ESTALE);
        /* the first entry is the left-most bit of the first byte */
        const char *enc = json_string_value(
            json_object_get(json_object_get(slc, "credentialSubject"), "encodedList"));
        assert_int_equal(enc[0], 'u');
        json_decref(slc);
        free(text);
    }
    ec_key_destroy(&key);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jcs_numbers),      cmocka_unit_test(test_jcs_example),
        cmocka_unit_test(test_jcs_sorting),      cmocka_unit_test(test_base64url),
        cmocka_unit_test(test_did_key),          cmocka_unit_test(test_eddsa_jcs_2022_vector),
        cmocka_unit_test(test_sdjwt_digests),    cmocka_unit_test(test_vc_round_trip),
        cmocka_unit_test(test_sdjwt_round_trip), cmocka_unit_test(test_status_list),
        cmocka_unit_test(test_sdjwt_hostile),    cmocka_unit_test(test_vc_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
