/*
 * cl_vc.c - eddsa-jcs-2022 Data Integrity proofs, the certificate VC and the Bitstring
 * Status List credential (formats in cl_vc.h and docs/INTEROP.md). Documents are built as
 * jansson values and canonicalized with cl_jcs only for hashing; what is written out is
 * jansson's compact text, which any verifier re-canonicalizes.
 */
#define _DEFAULT_SOURCE /* timegm */
#include "cl_vc.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "cl_did.h"
#include "cl_jcs.h"
#include "ec_slist.h"

void cl_vc_time(char out[CL_VC_TIME_MAX], uint64_t ms)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&secs, &tm) || strftime(out, CL_VC_TIME_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, CL_VC_TIME_MAX, "1970-01-01T00:00:00Z");
}

int cl_vc_time_parse(const char *s, uint64_t *ms)
{
    struct tm tm = {0};
    int n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &n) != 6 ||
        n != 19)
        return EC_EINVAL;
    const char *rest = s + n;
    if (*rest == '.')
        for (rest++; *rest >= '0' && *rest <= '9'; rest++) {
        }
    if (strcmp(rest, "Z") != 0 || tm.tm_year < 1970 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
        tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60 ||
        tm.tm_hour < 0 || tm.tm_min < 0 || tm.tm_sec < 0)
        return EC_EINVAL; /* timegm would quietly move "2026-13-45T99:00:00Z" elsewhere */
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    if (t < 0)
        return EC_EINVAL;
    *ms = (uint64_t)t * 1000;
    return 0;
}

json_t *cl_json_parse(const char *text, size_t size, size_t max, ec_status_t *st)
{
    if (size > max) {
        ec_status_set(st, EC_ETOOBIG, "%zu bytes of JSON, above the %zu-byte limit", size, max);
        return NULL;
    }
    json_error_t err;
    json_t *v = json_loadb(text, size, JSON_REJECT_DUPLICATES, &err);
    if (!v)
        ec_status_set(st, EC_EINVAL, "not JSON: %s (line %d)", err.text, err.line);
    return v;
}

/* SHA-256 of JCS(v) into out. */
static int s_jcs_hash(uint8_t out[EC_HASH_BYTES], const json_t *v)
{
    char *canon = NULL;
    size_t len = 0;
    int rc = cl_jcs_dump(v, &canon, &len);
    if (rc == 0)
        ec_sha256(out, canon, len);
    cl_str_wipe_free(canon); /* a certificate's canonical text holds its fields */
    return rc;
}

/* hash_data of eddsa-jcs-2022: SHA-256(JCS(options)) || SHA-256(JCS(doc without proof)). */
static int s_hash_data(uint8_t out[2 * EC_HASH_BYTES], const json_t *options, const json_t *doc)
{
    json_t *bare = json_copy((json_t *)doc); /* shallow: only "proof" is removed */
    if (!bare)
        return EC_ENOMEM;
    json_object_del(bare, "proof");
    int rc = s_jcs_hash(out, options);
    if (rc == 0)
        rc = s_jcs_hash(out + EC_HASH_BYTES, bare);
    json_decref(bare);
    return rc;
}

int cl_di_sign(json_t *doc, const ec_key_t *key, const char *created)
{
    if (!json_is_object(doc) || json_object_get(doc, "proof"))
        return EC_EINVAL;
    char vm[CL_DID_VM_MAX];
    cl_did_vm_from_pk(vm, ec_key_pk(key));
    json_t *proof = json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "DataIntegrityProof", "cryptosuite",
                              "eddsa-jcs-2022", "created", created, "verificationMethod", vm,
                              "proofPurpose", "assertionMethod");
    if (!proof)
        return EC_ENOMEM;
    json_t *ctx = json_object_get(doc, "@context");
    if (ctx)
        json_object_set(proof, "@context", ctx);
    uint8_t hash[2 * EC_HASH_BYTES], sig[EC_SIG_BYTES];
    int rc = s_hash_data(hash, proof, doc);
    char value[1 + 100];
    value[0] = 'z';
    if (rc == 0) {
        ec_sign(sig, hash, sizeof hash, key);
        rc = cl_base58_encode(value + 1, sizeof value - 1, sig, sizeof sig);
    }
    if (rc == 0 && (json_object_set_new(proof, "proofValue", json_string(value)) ||
                    json_object_set(doc, "proof", proof)))
        rc = EC_ENOMEM;
    json_decref(proof);
    return rc;
}

int cl_di_verify(const json_t *doc, uint8_t pk[EC_PK_BYTES], ec_status_t *st)
{
    json_t *proof = json_object_get(doc, "proof");
    if (!json_is_object(proof))
        return ec_status_set(st, EC_EINVAL, "no proof (one Data Integrity proof expected)");
    const char *type = json_string_value(json_object_get(proof, "type"));
    const char *suite = json_string_value(json_object_get(proof, "cryptosuite"));
    const char *purpose = json_string_value(json_object_get(proof, "proofPurpose"));
    const char *vm = json_string_value(json_object_get(proof, "verificationMethod"));
    const char *value = json_string_value(json_object_get(proof, "proofValue"));
    if (!type || strcmp(type, "DataIntegrityProof") != 0 || !suite ||
        strcmp(suite, "eddsa-jcs-2022") != 0)
        return ec_status_set(st, EC_EINVAL,
                             "the proof is not an eddsa-jcs-2022 DataIntegrityProof");
    if (!purpose || strcmp(purpose, "assertionMethod") != 0)
        return ec_status_set(st, EC_EINVAL, "the proof's purpose is not assertionMethod");
    if (!vm || cl_did_parse(pk, vm) != 0 || !strchr(vm, '#'))
        return ec_status_set(st, EC_EINVAL, "the verification method is not an Ed25519 did:key");
    json_t *dctx = json_object_get(doc, "@context"), *pctx = json_object_get(proof, "@context");
    if ((dctx || pctx) && !json_equal(dctx, pctx))
        return ec_status_set(st, EC_EINVAL, "the proof's @context is not the document's");
    uint8_t sig[EC_SIG_BYTES + 8];
    size_t n = 0;
    if (!value || value[0] != 'z' || cl_base58_decode(sig, sizeof sig, &n, value + 1) != 0 ||
        n != EC_SIG_BYTES)
        return ec_status_set(st, EC_EINVAL, "the proofValue is not a base58btc Ed25519 signature");
    json_t *options = json_copy(proof);
    if (!options)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    json_object_del(options, "proofValue");
    uint8_t hash[2 * EC_HASH_BYTES];
    int rc = s_hash_data(hash, options, doc);
    json_decref(options);
    if (rc)
        return ec_status_set(st, rc, "the document cannot be canonicalized (RFC 8785)");
    if (!ec_verify(sig, hash, sizeof hash, pk))
        return ec_status_set(st, EC_ESIG,
                             "the eddsa-jcs-2022 signature does not verify: "
                             "the credential was altered or not signed by its key");
    return 0;
}

bool cl_cred_name_ok(const char *name)
{
    static const char *const reserved[] = {
        "id",  "type", "@context", "iss",    "sub", "aud", "exp",     "nbf",   "iat",
        "jti", "cnf",  "vct",      "status", "_sd", "...", "_sd_alg", "ecert", "vct#integrity"};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strcmp(name, reserved[i]) == 0)
            return false;
    return true;
}

void cl_cred_status_url(char *out, size_t cap, const char *status_base, const char *purpose)
{
    snprintf(out, cap, "%s/%s", status_base, purpose);
}

json_t *cl_cred_ecert_facts(const cl_cred_info_t *info)
{
    char hex[2 * EC_HASH_BYTES + 1];
    ec_hex(hex, info->cert_id, EC_HASH_BYTES);
    char *bundle = cl_b64url_encode(info->bundle, info->bundle_size);
    if (!bundle)
        return NULL;
    json_t *o = json_pack("{s:s,s:s,s:I,s:s,s:s,s:s}", "sideChain", info->side_chain_id,
                          "certificate", hex, "statusSlot", (json_int_t)info->slot, "certType",
                          info->cert_type, "org", info->org_code, "proofBundle", bundle);
    free(bundle);
    return o;
}

json_t *cl_cred_status(const cl_cred_info_t *info)
{
    static const char *const purposes[] = {"revocation", "suspension"};
    json_t *arr = json_array();
    char idx[24];
    snprintf(idx, sizeof idx, "%llu", (unsigned long long)info->slot);
    for (size_t i = 0; arr && i < 2; i++) {
        char url[512], id[560];
        cl_cred_status_url(url, sizeof url, info->status_base, purposes[i]);
        snprintf(id, sizeof id, "%s#%s", url, idx);
        json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", id, "type", "BitstringStatusListEntry",
                              "statusPurpose", purposes[i], "statusListIndex", idx,
                              "statusListCredential", url);
        if (!e || json_array_append_new(arr, e)) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

int cl_vc_issue(char **out, const cl_cred_info_t *info, const cl_fields_t *f,
                const ec_key_t *issuer, ec_status_t *st)
{
    *out = NULL;
    char issuer_did[CL_DID_MAX], holder_did[CL_DID_MAX], from[CL_VC_TIME_MAX],
        until[CL_VC_TIME_MAX], hex[2 * EC_HASH_BYTES + 1], id[2 * EC_HASH_BYTES + 160];
    cl_did_from_pk(issuer_did, info->issuer_pk);
    cl_did_from_pk(holder_did, info->holder_pk);
    cl_vc_time(from, info->issued_ms);
    ec_hex(hex, info->cert_id, EC_HASH_BYTES);
    snprintf(id, sizeof id, "urn:ecert:%s:%s", info->side_chain_id, hex);
    json_t *subject = json_pack("{s:s}", "id", holder_did);
    for (size_t i = 0; subject && i < f->count; i++) {
        if (!cl_cred_name_ok(f->items[i].name)) {
            json_decref(subject);
            return ec_status_set(st, EC_EINVAL,
                                 "the field name '%s' is reserved in verifiable credentials: "
                                 "rename the field to export the certificate",
                                 f->items[i].name);
        }
        if (json_object_set_new(subject, f->items[i].name,
                                json_stringn(f->items[i].value, f->items[i].value_len))) {
            json_decref(subject); /* JSON holds UTF-8 only: never sign without the field */
            return ec_status_set(st, EC_EINVAL,
                                 "the field '%s' is not UTF-8 text: it cannot be exported",
                                 f->items[i].name);
        }
    }
    json_t *facts = cl_cred_ecert_facts(info);
    json_t *doc =
        facts && subject
            ? json_pack("{s:[s],s:s,s:[s,s],s:s,s:s,s:O,s:o,s:[o]}", "@context", CL_VC_CONTEXT,
                        "id", id, "type", "VerifiableCredential", "EcertCertificate", "issuer",
                        issuer_did, "validFrom", from, "credentialSubject", subject,
                        "credentialStatus", cl_cred_status(info), "evidence", facts)
            : NULL;
    if (!subject)
        json_decref(facts); /* not handed to json_pack */
    json_decref(subject);
    if (doc && facts) {
        json_t *ev = json_array_get(json_object_get(doc, "evidence"), 0);
        json_object_set_new(ev, "type", json_pack("[s]", "EcertIssueProof"));
    }
    if (doc && info->expires_ms) {
        cl_vc_time(until, info->expires_ms);
        json_object_set_new(doc, "validUntil", json_string(until));
    }
    char created[CL_VC_TIME_MAX];
    cl_vc_time(created, info->signed_ms);
    int rc = doc ? cl_di_sign(doc, issuer, created) : EC_ENOMEM;
    if (rc == 0 && !(*out = cl_json_compact(doc)))
        rc = EC_ENOMEM;
    json_decref(doc);
    return rc ? ec_status_set(st, rc, "the credential could not be built") : 0;
}

/* GZIP (RFC 1952) of data into a malloc'd *out. 0, EC_ENOMEM or EC_EINTERNAL. */
static int s_gzip(const uint8_t *data, size_t size, uint8_t **out, size_t *out_size)
{
    z_stream z = {0};
    if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return EC_EINTERNAL;
    size_t cap = deflateBound(&z, (uLong)size) + 32;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        deflateEnd(&z);
        return EC_ENOMEM;
    }
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)size;
    z.next_out = buf;
    z.avail_out = (uInt)cap;
    int zrc = deflate(&z, Z_FINISH);
    *out_size = z.total_out;
    deflateEnd(&z);
    if (zrc != Z_STREAM_END) {
        free(buf);
        return EC_EINTERNAL;
    }
    *out = buf;
    return 0;
}

/* Inflates GZIP data into exactly want bytes at most (more is EC_ETOOBIG). */
static int s_gunzip(const uint8_t *data, size_t size, uint8_t *out, size_t cap, size_t *got)
{
    z_stream z = {0};
    if (inflateInit2(&z, 15 + 16) != Z_OK)
        return EC_EINTERNAL;
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)size;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int zrc = inflate(&z, Z_FINISH);
    *got = z.total_out;
    inflateEnd(&z);
    if (zrc == Z_BUF_ERROR && z.avail_out == 0)
        return EC_ETOOBIG;
    return zrc == Z_STREAM_END && z.avail_in == 0 ? 0 : EC_EINVAL;
}

int cl_vc_status_list(char **out, const uint8_t *list, uint64_t count, const char *purpose,
                      const char *status_base, uint64_t time_ms, const char *side_chain_id,
                      uint64_t side_height, const ec_key_t *key, ec_status_t *st)
{
    *out = NULL;
    bool revocation = strcmp(purpose, "revocation") == 0;
    if (!revocation && strcmp(purpose, "suspension") != 0)
        return ec_status_set(st, EC_EINVAL, "unknown status purpose '%s'", purpose);
    uint64_t bits = count > CL_VC_SLIST_BITS_MIN ? (count + 7) / 8 * 8 : CL_VC_SLIST_BITS_MIN;
    uint8_t *bitstring = calloc((size_t)(bits / 8), 1);
    if (!bitstring)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    for (uint64_t i = 0; i < count; i++) {
        unsigned code = (list[i / 4] >> (2 * (i % 4))) & 3; /* ec_slist layout */
        bool set = revocation ? code >= 2 : code == 1;
        if (set)
            bitstring[i / 8] |= (uint8_t)(0x80u >> (i % 8));
    }
    uint8_t *gz = NULL;
    size_t gz_size = 0;
    int rc = s_gzip(bitstring, (size_t)(bits / 8), &gz, &gz_size);
    free(bitstring);
    if (rc)
        return ec_status_set(st, rc, "compressing the status list failed");
    char *b64 = cl_b64url_encode(gz, gz_size);
    free(gz);
    size_t enc_len = b64 ? strlen(b64) + 2 : 0;
    char *encoded = b64 ? malloc(enc_len) : NULL;
    if (encoded)
        snprintf(encoded, enc_len, "u%s", b64);
    free(b64);
    char url[512], subject_id[530], from[CL_VC_TIME_MAX], did[CL_DID_MAX];
    cl_cred_status_url(url, sizeof url, status_base, purpose);
    snprintf(subject_id, sizeof subject_id, "%s#list", url);
    cl_vc_time(from, time_ms);
    cl_did_from_pk(did, ec_key_pk(key));
    json_t *doc =
        encoded
            ? json_pack("{s:[s],s:s,s:[s,s],s:s,s:s,s:{s:s,s:s,s:s,s:s},s:[{s:[s],s:s,s:I,s:I}]}",
                        "@context", CL_VC_CONTEXT, "id", url, "type", "VerifiableCredential",
                        "BitstringStatusListCredential", "issuer", did, "validFrom", from,
                        "credentialSubject", "id", subject_id, "type", "BitstringStatusList",
                        "statusPurpose", purpose, "encodedList", encoded, "evidence", "type",
                        "EcertStatusList", "sideChain", side_chain_id, "sideHeight",
                        (json_int_t)side_height, "certificates", (json_int_t)count)
            : NULL;
    free(encoded);
    rc = doc ? cl_di_sign(doc, key, from) : EC_ENOMEM;
    if (rc == 0 && !(*out = cl_json_compact(doc)))
        rc = EC_ENOMEM;
    json_decref(doc);
    return rc ? ec_status_set(st, rc, "the status list credential could not be built") : 0;
}

int cl_vc_status_bit(const json_t *slc, uint64_t index, bool *bit, char purpose[32],
                     ec_status_t *st)
{
    json_t *subject = json_object_get(slc, "credentialSubject");
    const char *type = json_string_value(json_object_get(subject, "type"));
    const char *p = json_string_value(json_object_get(subject, "statusPurpose"));
    const char *list = json_string_value(json_object_get(subject, "encodedList"));
    if (!type || strcmp(type, "BitstringStatusList") != 0 || !p || strlen(p) >= 32 || !list ||
        list[0] != 'u')
        return ec_status_set(st, EC_EINVAL, "not a BitstringStatusList credential");
    snprintf(purpose, 32, "%s", p);
    uint8_t *gz = NULL;
    size_t gz_size = 0;
    int rc = cl_b64url_decode(list + 1, strlen(list + 1), CL_VC_BYTES_MAX, &gz, &gz_size);
    if (rc)
        return ec_status_set(st, rc, "the encodedList is not base64url");
    size_t cap = (size_t)(EC_SLIST_CERTS_MAX / 8) + CL_VC_SLIST_BITS_MIN / 8;
    uint8_t *bits = malloc(cap);
    size_t got = 0;
    rc = bits ? s_gunzip(gz, gz_size, bits, cap, &got) : EC_ENOMEM;
    free(gz);
    if (rc == 0 && index / 8 >= got)
        rc = EC_ESTALE;
    if (rc == 0)
        *bit = (bits[index / 8] >> (7 - index % 8)) & 1;
    free(bits);
    if (rc == EC_ESTALE)
        return ec_status_set(st, rc, "the status list has %zu entries: index %llu is past it",
                             got * 8, (unsigned long long)index);
    return rc ? ec_status_set(st, rc, "the encodedList is not a GZIP bitstring") : 0;
}
