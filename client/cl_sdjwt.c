/*
 * cl_sdjwt.c - SD-JWT VC issue, presentation and verification (format in cl_sdjwt.h).
 * Compact JWS with EdDSA only: the header's alg must be "EdDSA" and nothing else is
 * accepted, so no algorithm confusion is possible. Everything read is bounded
 * (CL_SDJWT_BYTES_MAX) before it is decoded.
 */
#include "cl_sdjwt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_did.h"
#include "cl_jcs.h"

void cl_sdjwt_digest(char out[48], const char *disclosure, size_t len)
{
    uint8_t h[EC_HASH_BYTES];
    ec_sha256(h, disclosure, len);
    sodium_bin2base64(out, 48, h, sizeof h, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* A compact JWS of header and payload signed by key, malloc'd; NULL on ENOMEM. */
static char *s_jws(const json_t *header, const json_t *payload, const ec_key_t *key)
{
    char *h = cl_json_compact(header), *p = cl_json_compact(payload);
    char *hb = h ? cl_b64url_encode((const uint8_t *)h, strlen(h)) : NULL;
    char *pb = p ? cl_b64url_encode((const uint8_t *)p, strlen(p)) : NULL;
    free(h);
    free(p);
    char *out = NULL;
    if (hb && pb) {
        size_t n = strlen(hb) + 1 + strlen(pb);
        out = malloc(n + 1 + 90);
        if (out) {
            snprintf(out, n + 1, "%s.%s", hb, pb);
            uint8_t sig[EC_SIG_BYTES];
            ec_sign(sig, out, n, key);
            out[n] = '.';
            sodium_bin2base64(out + n + 1, 90, sig, sizeof sig,
                              sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        }
    }
    free(hb);
    free(pb);
    return out;
}

/* A JWK of an Ed25519 public key. */
static json_t *s_jwk(const uint8_t pk[EC_PK_BYTES])
{
    char *x = cl_b64url_encode(pk, EC_PK_BYTES);
    json_t *jwk = x ? json_pack("{s:s,s:s,s:s}", "kty", "OKP", "crv", "Ed25519", "x", x) : NULL;
    free(x);
    return jwk;
}

/* Appends s to the growing string *buf (*len); 0 or EC_ENOMEM. The texts hold disclosures
 * (certificate contents), so the outgrown buffer is wiped rather than realloc'd away. */
static int s_append(char **buf, size_t *len, const char *s, size_t n)
{
    char *p = malloc(*len + n + 1);
    if (!p)
        return EC_ENOMEM;
    if (*buf)
        memcpy(p, *buf, *len);
    memcpy(p + *len, s, n);
    cl_str_wipe_free(*buf);
    *len += n;
    p[*len] = '\0';
    *buf = p;
    return 0;
}

static int s_str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int cl_sdjwt_issue(char **out, const cl_cred_info_t *info, const cl_fields_t *f,
                   const ec_key_t *issuer, ec_status_t *st)
{
    *out = NULL;
    char *disc[CL_FIELDS_MAX] = {0};
    char *digests[CL_FIELDS_MAX] = {0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < f->count; i++) {
        if (!cl_cred_name_ok(f->items[i].name)) {
            rc = ec_status_set(st, EC_EINVAL,
                               "the field name '%s' is reserved in SD-JWT VC: rename the field "
                               "to export the certificate",
                               f->items[i].name);
            break;
        }
        json_t *probe = json_stringn(f->items[i].value, f->items[i].value_len);
        json_decref(probe); /* NULL: not UTF-8 (or no memory) */
        if (!probe) {
            rc = ec_status_set(st, EC_EINVAL,
                               "the field '%s' is not UTF-8 text: it cannot be "
                               "exported",
                               f->items[i].name);
            break;
        }
        char *salt = cl_b64url_encode(f->items[i].salt, CL_FIELD_SALT_BYTES);
        json_t *arr = salt ? json_pack("[s,s,s%]", salt, f->items[i].name, f->items[i].value,
                                       f->items[i].value_len)
                           : NULL;
        char *text = arr ? cl_json_compact(arr) : NULL;
        disc[i] = text ? cl_b64url_encode((const uint8_t *)text, strlen(text)) : NULL;
        digests[i] = malloc(48);
        if (disc[i] && digests[i])
            cl_sdjwt_digest(digests[i], disc[i], strlen(disc[i]));
        else
            rc = ec_status_set(st, EC_ENOMEM, "out of memory");
        free(salt);
        json_decref(arr);
        cl_str_wipe_free(text);
    }
    char issuer_vm[CL_DID_VM_MAX], issuer_did[CL_DID_MAX], vct[96];
    cl_did_vm_from_pk(issuer_vm, info->issuer_pk);
    cl_did_from_pk(issuer_did, info->issuer_pk);
    snprintf(vct, sizeof vct, "urn:ecert:vct:%s", info->cert_type);
    json_t *header =
        json_pack("{s:s,s:s,s:s}", "alg", "EdDSA", "typ", "dc+sd-jwt", "kid", issuer_vm);
    json_t *sd = json_array();
    if (rc == 0) {
        qsort(digests, f->count, sizeof digests[0], s_str_cmp); /* order hides nothing */
        for (size_t i = 0; sd && i < f->count; i++)
            json_array_append_new(sd, json_string(digests[i]));
    }
    json_t *payload =
        rc == 0 && sd
            ? json_pack("{s:s,s:I,s:s,s:{s:o},s:s,s:O,s:o,s:o}", "iss", issuer_did, "iat",
                        (json_int_t)(info->signed_ms / 1000), "vct", vct, "cnf", "jwk",
                        s_jwk(info->holder_pk), "_sd_alg", "sha-256", "_sd", sd, "ecert",
                        cl_cred_ecert_facts(info), "credentialStatus", cl_cred_status(info))
            : NULL;
    if (payload && info->expires_ms)
        json_object_set_new(payload, "exp", json_integer((json_int_t)(info->expires_ms / 1000)));
    char *jwt = payload && header ? s_jws(header, payload, issuer) : NULL;
    char *buf = NULL;
    size_t len = 0;
    if (rc == 0 && !jwt)
        rc = ec_status_set(st, EC_ENOMEM, "out of memory");
    if (rc == 0)
        rc = s_append(&buf, &len, jwt, strlen(jwt));
    for (size_t i = 0; rc == 0 && i < f->count; i++)
        if (s_append(&buf, &len, "~", 1) || s_append(&buf, &len, disc[i], strlen(disc[i])))
            rc = ec_status_set(st, EC_ENOMEM, "out of memory");
    if (rc == 0 && s_append(&buf, &len, "~", 1))
        rc = ec_status_set(st, EC_ENOMEM, "out of memory");
    for (size_t i = 0; i < f->count; i++) {
        cl_str_wipe_free(disc[i]);
        free(digests[i]);
    }
    free(jwt);
    json_decref(header);
    json_decref(sd);
    json_decref(payload);
    if (rc)
        cl_str_wipe_free(buf);
    else
        *out = buf;
    return rc;
}

/* Decodes a base64url JSON object part (len chars). NULL on error. */
static json_t *s_part(const char *text, size_t len)
{
    uint8_t *raw = NULL;
    size_t n = 0;
    if (cl_b64url_decode(text, len, CL_SDJWT_BYTES_MAX, &raw, &n))
        return NULL;
    json_t *v = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL);
    sodium_memzero(raw, n); /* a disclosure's claim */
    free(raw);
    if (v && !json_is_object(v) && !json_is_array(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

/*
 * Checks a compact EdDSA JWS (len chars) and returns its header and payload. pk: the
 * expected signer, or NULL to take it from the did:key in the payload's iss (out in
 * signer). 0, EC_EINVAL or EC_ESIG with st set.
 */
static int s_jws_open(const char *jws, size_t len, const uint8_t *pk, uint8_t signer[EC_PK_BYTES],
                      json_t **header, json_t **payload, ec_status_t *st, const char *what)
{
    *header = *payload = NULL;
    const char *d1 = memchr(jws, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jws)) : NULL;
    if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - jws)))
        return ec_status_set(st, EC_EINVAL, "the %s is not a compact JWS", what);
    *header = s_part(jws, (size_t)(d1 - jws));
    *payload = s_part(d1 + 1, (size_t)(d2 - d1 - 1));
    uint8_t *sig = NULL;
    size_t sig_len = 0;
    if (!json_is_object(*header) || !json_is_object(*payload) ||
        cl_b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - jws), 128, &sig, &sig_len) ||
        sig_len != EC_SIG_BYTES) {
        free(sig);
        return ec_status_set(st, EC_EINVAL, "the %s does not decode", what);
    }
    const char *alg = json_string_value(json_object_get(*header, "alg"));
    int rc = 0;
    if (!alg || strcmp(alg, "EdDSA") != 0)
        rc = ec_status_set(st, EC_EINVAL, "the %s is not signed with EdDSA", what);
    if (rc == 0 && !pk) {
        const char *iss = json_string_value(json_object_get(*payload, "iss"));
        const char *kid = json_string_value(json_object_get(*header, "kid"));
        uint8_t kid_pk[EC_PK_BYTES];
        if (!iss || cl_did_parse(signer, iss) || strchr(iss, '#'))
            rc = ec_status_set(st, EC_EINVAL, "the %s's iss is not an Ed25519 did:key", what);
        else if (kid && (cl_did_parse(kid_pk, kid) || memcmp(kid_pk, signer, EC_PK_BYTES) != 0))
            rc = ec_status_set(st, EC_EINVAL, "the %s's kid is not its iss's key", what);
        pk = signer;
    }
    if (rc == 0 && !ec_verify(sig, jws, (size_t)(d2 - jws), pk))
        rc = ec_status_set(st, EC_ESIG, "the %s's signature does not verify", what);
    free(sig);
    return rc;
}

/* Splits a compact SD-JWT into '~'-separated parts (borrowed pointers and lengths). */
typedef struct {
    size_t count; /* parts: JWT, disclosures..., then the KB-JWT (possibly empty) */
    const char *at[CL_FIELDS_MAX + 2];
    size_t len[CL_FIELDS_MAX + 2];
} s_parts_t;

static int s_split(s_parts_t *p, const char *text, size_t len, ec_status_t *st)
{
    memset(p, 0, sizeof *p);
    const char *s = text, *end = text + len;
    for (;;) {
        const char *t = memchr(s, '~', (size_t)(end - s));
        if (p->count == CL_FIELDS_MAX + 2)
            return ec_status_set(st, EC_ETOOBIG, "more than %d disclosures", CL_FIELDS_MAX);
        p->at[p->count] = s;
        p->len[p->count++] = t ? (size_t)(t - s) : (size_t)(end - s);
        if (!t)
            break;
        s = t + 1;
    }
    if (p->count < 2)
        return ec_status_set(st, EC_EINVAL, "not an SD-JWT (no '~')");
    return 0;
}

/* Reads an Ed25519 OKP JWK into pk. 0 or EC_EINVAL. */
static int s_jwk_pk(const json_t *jwk, uint8_t pk[EC_PK_BYTES])
{
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    const char *x = json_string_value(json_object_get(jwk, "x"));
    uint8_t *raw = NULL;
    size_t n = 0;
    if (!kty || strcmp(kty, "OKP") || !crv || strcmp(crv, "Ed25519") || !x ||
        cl_b64url_decode(x, strlen(x), 64, &raw, &n) || n != EC_PK_BYTES) {
        free(raw);
        return EC_EINVAL;
    }
    memcpy(pk, raw, EC_PK_BYTES);
    free(raw);
    return 0;
}

int cl_sdjwt_present(char **out, const char *issued, const char *const *names, size_t n,
                     const ec_key_t *holder, const char *nonce, const char *aud, uint64_t iat_ms,
                     ec_status_t *st)
{
    *out = NULL;
    s_parts_t p;
    int rc = s_split(&p, issued, strlen(issued), st);
    if (rc)
        return rc;
    json_t *h = NULL, *pl = NULL;
    uint8_t issuer[EC_PK_BYTES], cnf[EC_PK_BYTES];
    rc = s_jws_open(p.at[0], p.len[0], NULL, issuer, &h, &pl, st, "issuer JWT");
    if (rc == 0 && s_jwk_pk(json_object_get(json_object_get(pl, "cnf"), "jwk"), cnf))
        rc = ec_status_set(st, EC_EINVAL, "the SD-JWT has no Ed25519 cnf key");
    if (rc == 0 && memcmp(cnf, ec_key_pk(holder), EC_PK_BYTES) != 0)
        rc = ec_status_set(st, EC_EPERM, "this key is not the one the credential is bound to");
    json_decref(h);
    json_decref(pl);
    char *buf = NULL;
    size_t len = 0;
    bool used[CL_FIELDS_MAX] = {false};
    if (rc == 0 && s_append(&buf, &len, p.at[0], p.len[0]))
        rc = EC_ENOMEM;
    for (size_t i = 1; rc == 0 && i + 1 < p.count; i++) {
        bool want = n == 0;
        json_t *d = s_part(p.at[i], p.len[i]);
        const char *name = json_string_value(json_array_get(d, 1));
        for (size_t k = 0; name && k < n; k++)
            if (strcmp(names[k], name) == 0) {
                want = true;
                used[k] = true;
            }
        if (!name)
            rc = ec_status_set(st, EC_EINVAL, "disclosure %zu does not decode", i);
        else if (want && (s_append(&buf, &len, "~", 1) || s_append(&buf, &len, p.at[i], p.len[i])))
            rc = ec_status_set(st, EC_ENOMEM, "out of memory");
        json_decref(d);
    }
    for (size_t k = 0; rc == 0 && k < n; k++)
        if (!used[k])
            rc = ec_status_set(st, EC_ENOTFOUND, "the certificate has no field '%s'", names[k]);
    if (rc == 0 && s_append(&buf, &len, "~", 1))
        rc = EC_ENOMEM;
    if (rc == 0) {
        char sd_hash[48];
        cl_sdjwt_digest(sd_hash, buf, len);
        json_t *kh = json_pack("{s:s,s:s}", "alg", "EdDSA", "typ", "kb+jwt");
        json_t *kp = json_pack("{s:I,s:s,s:s,s:s}", "iat", (json_int_t)(iat_ms / 1000), "aud", aud,
                               "nonce", nonce, "sd_hash", sd_hash);
        char *kb = kh && kp ? s_jws(kh, kp, holder) : NULL;
        if (!kb || s_append(&buf, &len, kb, strlen(kb)))
            rc = EC_ENOMEM;
        free(kb);
        json_decref(kh);
        json_decref(kp);
    }
    if (rc == EC_ENOMEM)
        ec_status_set(st, rc, "out of memory");
    if (rc)
        cl_str_wipe_free(buf);
    else
        *out = buf;
    return rc;
}

void cl_sdjwt_fini(cl_sdjwt_t *s)
{
    json_decref(s->payload);
    json_decref(s->disclosed);
    memset(s, 0, sizeof *s);
}

/* Checks disclosure i against the _sd digests (marking the one it matches) and adds its
 * claim to out->disclosed. 0, EC_EINVAL with st set. */
static int s_disclosure(cl_sdjwt_t *out, const char *d, size_t len, json_t *sd, bool *matched,
                        ec_status_t *st)
{
    char digest[48];
    cl_sdjwt_digest(digest, d, len);
    size_t hit = SIZE_MAX;
    for (size_t k = 0; k < json_array_size(sd); k++) {
        const char *s = json_string_value(json_array_get(sd, k));
        if (s && strcmp(s, digest) == 0)
            hit = k;
    }
    if (hit == SIZE_MAX)
        return ec_status_set(st, EC_EINVAL,
                             "a disclosure is not one the issuer signed (added or altered)");
    if (matched[hit])
        return ec_status_set(st, EC_EINVAL, "a disclosure is sent twice");
    matched[hit] = true;
    json_t *arr = s_part(d, len);
    const char *name = json_string_value(json_array_get(arr, 1));
    json_t *value = json_array_get(arr, 2);
    int rc = 0;
    if (json_array_size(arr) != 3 || !json_is_string(json_array_get(arr, 0)) || !name ||
        !json_is_string(value) || !cl_cred_name_ok(name))
        rc = ec_status_set(st, EC_EINVAL, "a disclosure is not [salt, name, string value]");
    else if (json_object_get(out->disclosed, name) || json_object_get(out->payload, name))
        rc = ec_status_set(st, EC_EINVAL,
                           "the claim '%s' is disclosed twice or is already in the issuer JWT",
                           name);
    else
        json_object_set(out->disclosed, name, value);
    json_decref(arr);
    return rc;
}

/* RFC 9901 section 7.1: a digest that appears twice in _sd makes the SD-JWT invalid (one
 * disclosure would then stand for two claims). 0 or EC_EINVAL with st set. */
static int s_sd_unique(const json_t *sd, ec_status_t *st)
{
    for (size_t i = 0; i < json_array_size(sd); i++) {
        const char *a = json_string_value(json_array_get(sd, i));
        if (!a)
            return ec_status_set(st, EC_EINVAL, "the issuer JWT's _sd holds a non-string");
        for (size_t k = 0; k < i; k++)
            if (strcmp(a, json_string_value(json_array_get(sd, k))) == 0)
                return ec_status_set(st, EC_EINVAL, "the issuer JWT's _sd repeats a digest");
    }
    return 0;
}

/* Whether JWT time claim t (seconds, a JSON integer) lies after now_ms + skew_ms, compared
 * in seconds so that no hostile value can overflow into the past; a negative t counts as
 * after (for iat: refused), so an exp check tests t < 0 itself. */
static bool s_after(const json_t *t, uint64_t now_ms, uint64_t skew_ms)
{
    json_int_t v = json_integer_value(t);
    return v < 0 || (uint64_t)v > (now_ms + skew_ms) / 1000;
}

/* The KB-JWT checks: signed by the cnf key, typ, nonce, aud, sd_hash over prefix, iat. */
static int s_kb_check(const cl_sdjwt_t *out, const char *kb, size_t kb_len, const char *prefix,
                      size_t prefix_len, const char *nonce, const char *aud, uint64_t now_ms,
                      ec_status_t *st)
{
    if (kb_len == 0)
        return ec_status_set(st, EC_EPERM, "no key binding JWT: the holder did not sign");
    json_t *h = NULL, *p = NULL;
    uint8_t unused[EC_PK_BYTES];
    int rc = s_jws_open(kb, kb_len, out->holder_pk, unused, &h, &p, st, "key binding JWT");
    const char *typ = json_string_value(json_object_get(h, "typ"));
    const char *n = json_string_value(json_object_get(p, "nonce"));
    const char *a = json_string_value(json_object_get(p, "aud"));
    const char *hash = json_string_value(json_object_get(p, "sd_hash"));
    json_t *iat = json_object_get(p, "iat");
    char want[48];
    cl_sdjwt_digest(want, prefix, prefix_len);
    if (rc == 0 && (!typ || strcmp(typ, "kb+jwt") != 0))
        rc = ec_status_set(st, EC_EINVAL, "the key binding JWT's typ is not kb+jwt");
    else if (rc == 0 && (!hash || strcmp(hash, want) != 0))
        rc = ec_status_set(st, EC_EINVAL,
                           "the key binding JWT's sd_hash does not cover these disclosures "
                           "(one was dropped, added or altered)");
    else if (rc == 0 && (!n || strcmp(n, nonce) != 0))
        rc = ec_status_set(st, EC_EPERM, "wrong nonce: this presentation answers another request");
    else if (rc == 0 && (!a || strcmp(a, aud) != 0))
        rc = ec_status_set(st, EC_EPERM, "wrong audience: this presentation is for %s",
                           a ? a : "(none)");
    else if (rc == 0 && (!json_is_integer(iat) || s_after(iat, now_ms, CL_SDJWT_SKEW_MS)))
        rc = ec_status_set(st, EC_EINVAL, "the key binding JWT's iat is missing or in the future");
    json_decref(h);
    json_decref(p);
    return rc;
}

int cl_sdjwt_verify(cl_sdjwt_t *out, const char *text, size_t len, const char *nonce,
                    const char *aud, uint64_t now_ms, ec_status_t *st)
{
    memset(out, 0, sizeof *out);
    if (len > CL_SDJWT_BYTES_MAX)
        return ec_status_set(st, EC_ETOOBIG, "the SD-JWT is above %u bytes", CL_SDJWT_BYTES_MAX);
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    s_parts_t p;
    int rc = s_split(&p, text, len, st);
    if (rc)
        return rc;
    json_t *h = NULL;
    rc = s_jws_open(p.at[0], p.len[0], NULL, out->issuer_pk, &h, &out->payload, st, "issuer JWT");
    const char *typ = json_string_value(json_object_get(h, "typ"));
    if (rc == 0 && (!typ || (strcmp(typ, "dc+sd-jwt") != 0 && strcmp(typ, "vc+sd-jwt") != 0)))
        rc = ec_status_set(st, EC_EINVAL, "the issuer JWT's typ is not dc+sd-jwt");
    json_decref(h);
    const char *alg = json_string_value(json_object_get(out->payload, "_sd_alg"));
    json_t *sd = json_object_get(out->payload, "_sd");
    if (rc == 0 && ((alg && strcmp(alg, "sha-256") != 0) || !json_is_array(sd) ||
                    json_array_size(sd) > CL_FIELDS_MAX))
        rc = ec_status_set(st, EC_EINVAL, "the issuer JWT has no sha-256 _sd digests");
    if (rc == 0)
        rc = s_sd_unique(sd, st);
    if (rc == 0 &&
        s_jwk_pk(json_object_get(json_object_get(out->payload, "cnf"), "jwk"), out->holder_pk))
        rc = ec_status_set(st, EC_EINVAL, "the issuer JWT has no Ed25519 cnf key");
    out->disclosed = json_object();
    bool matched[CL_FIELDS_MAX] = {false};
    for (size_t i = 1; rc == 0 && i + 1 < p.count; i++)
        rc = s_disclosure(out, p.at[i], p.len[i], sd, matched, st);
    if (rc == 0) {
        size_t prefix = (size_t)(p.at[p.count - 1] - text);
        rc = s_kb_check(out, p.at[p.count - 1], p.len[p.count - 1], text, prefix, nonce, aud,
                        now_ms, st);
    }
    json_t *exp = json_object_get(out->payload, "exp");
    if (rc == 0 && exp &&
        (!json_is_integer(exp) || json_integer_value(exp) < 0 || !s_after(exp, now_ms, 0)))
        rc = ec_status_set(st, EC_ETIMEOUT, "the credential expired (exp)");
    return rc;
}
