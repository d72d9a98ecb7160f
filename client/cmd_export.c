/*
 * cmd_export.c - `ecert export vc|sd-jwt|status-list` and `ecert import-verify`: a
 * certificate as the credentials outside verifiers read (W3C VC 2.0 with an eddsa-jcs-2022
 * proof, SD-JWT VC), a side chain's status as W3C Bitstring Status List credentials, and
 * ecert's own check of either format (docs/INTEROP.md).
 *
 * The issuing agency signs both credentials when it issues (`cert issue --credentials`),
 * because only it holds its key; they travel sealed to the holder inside the payload
 * (version 2, cl_fields.h). Export therefore needs the holder's key and no agency: the VC
 * is written as signed (it cannot drop a field without breaking its proof), the SD-JWT
 * with the disclosures the holder chooses and the holder's key-binding JWT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_commands.h"
#include "cl_did.h"
#include "cl_jcs.h"
#include "cl_present.h"
#include "cl_sdjwt.h"
#include "cl_vc.h"
#include "ec_slist.h"

/* Writes text to path, or to stdout when path is NULL or "-". 0 or 1. */
static int s_write_out(cl_ctx_t *ctx, const char *path, const char *text, bool private_data)
{
    if (!path || strcmp(path, "-") == 0) {
        printf("%s\n", text);
        return 0;
    }
    return private_data ? cl_write_private(ctx, path, (const uint8_t *)text, strlen(text))
                        : cl_write_file(ctx, path, (const uint8_t *)text, strlen(text));
}

/* Opens certificate `cert` of `type` with the holder's --key into f (fields_root checked). */
static int s_open_cert(cl_ctx_t *ctx, const char *type, const uint8_t cert[EC_HASH_BYTES],
                       cl_fields_t *f)
{
    cl_chain_t *side = cl_side(ctx, type);
    if (!side)
        return 1;
    ec_key_t *key = cl_key_load(ctx, NULL);
    if (!key)
        return 1;
    cl_cert_t c;
    ec_rpc_reply_t reply;
    int rc = cl_cert_fetch(ctx, side, cert, &c, &reply);
    ec_status_t st = {0};
    if (rc == 0) {
        if (c.erased || !c.payload)
            rc = cl_fail(ctx, EC_ESTATE, "the certificate's contents were erased");
        else if (cl_fields_open(f, key, c.payload, c.payload_size, c.fields_root, &st))
            rc = cl_fail_st(ctx, &st, NULL);
        else if (!f->vc)
            rc = cl_fail(ctx, EC_ENOTFOUND,
                         "this certificate carries no exported credentials: its issuing agency "
                         "adds them with 'ecert cert change --credentials' (or issues with "
                         "'cert issue --credentials')");
        ec_rpc_reply_fini(&reply);
    }
    ec_key_destroy(&key);
    return rc;
}

static const char s_help_vc[] =
    "usage: ecert export vc --key HOLDER --type TYPE --cert TXHASH [--out FILE]\n\n"
    "Writes the certificate as a W3C Verifiable Credential 2.0 (JSON), secured by the\n"
    "issuing agency's eddsa-jcs-2022 Data Integrity proof (its did:key), with the ISSUE's\n"
    "proof bundle as evidence and the status list entries. The agency signed it at issue\n"
    "('cert issue --credentials'); it is sealed to you, so --key is the holder's key. A\n"
    "VC's proof covers every field: to disclose only some, use 'ecert export sd-jwt'.\n\n"
    "Options:\n"
    "  --type TYPE     certificate type\n"
    "  --cert TXHASH   the certificate id\n"
    "  --out FILE      where to write it (default: standard output)\n"
    "\nExample:\n  ecert export vc --key zhangwei.key --type degree --cert 3fa9...c2d1 "
    "--out degree.vc.json\n" CL_GLOBAL_NOTE;

int cmd_export_vc(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *type = NULL, *out = NULL, *fields = NULL;
    uint8_t cert[EC_HASH_BYTES];
    bool has_cert = false;
    const cl_opt_t opts[] = {{"type", CL_ARG_STR, &type},
                             {"cert", CL_ARG_HASH, cert, &has_cert},
                             {"out", CL_ARG_STR, &out},
                             {"fields", CL_ARG_STR, &fields},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_vc, NULL);
    if (rc >= 0)
        return rc;
    if (fields)
        return cl_usage(ctx, "a VC's proof covers all its fields, so --fields cannot drop any: "
                             "use 'ecert export sd-jwt --fields ...' to disclose some");
    if (!type || !has_cert || !ctx->key_path)
        return cl_missing(ctx, !type ? "--type" : !has_cert ? "--cert" : "--key");
    cl_fields_t f;
    cl_fields_init(&f);
    rc = s_open_cert(ctx, type, cert, &f);
    if (rc == 0)
        rc = s_write_out(ctx, out, f.vc, true);
    if (rc == 0 && out) {
        cl_out(ctx, "wrote %s (%zu bytes): W3C VC 2.0, eddsa-jcs-2022, %zu fields\n", out, f.vc_len,
               f.count);
        cl_emit(ctx, json_pack("{s:s,s:I,s:I}", "file", out, "bytes", (json_int_t)f.vc_len,
                               "fields", (json_int_t)f.count));
    }
    cl_fields_fini(&f);
    return rc;
}

static const char s_help_sdjwt[] =
    "usage: ecert export sd-jwt --key HOLDER --type TYPE --cert TXHASH --nonce N --aud A\n"
    "                          [--fields NAME,NAME...] [--out FILE]\n\n"
    "Writes the certificate as an SD-JWT VC presentation (RFC 9901): the issuing agency's\n"
    "signed JWT, the disclosures of the fields you choose (all by default), and a key\n"
    "binding JWT you sign over the verifier's nonce and audience, so it answers that\n"
    "verifier's request only.\n\n"
    "Options:\n"
    "  --type TYPE       certificate type\n"
    "  --cert TXHASH     the certificate id\n"
    "  --fields LIST     comma-separated names of the fields to disclose\n"
    "  --nonce N         the verifier's nonce\n"
    "  --aud A           the verifier's identifier (audience)\n"
    "  --out FILE        where to write it (default: standard output)\n"
    "\nExample:\n  ecert export sd-jwt --key zhangwei.key --type degree --cert 3fa9...c2d1 "
    "--fields degree,year --nonce 8f2c1e --aud https://bank.example --out "
    "degree.sdjwt\n" CL_GLOBAL_NOTE;

/* Splits "a,b,c" into names (borrowing copies in buf). Returns the count, or -1. */
static int s_split_names(char *buf, const char **names, size_t max)
{
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (n == max || !*t)
            return -1;
        names[n++] = t;
    }
    return n ? (int)n : -1;
}

int cmd_export_sdjwt(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *type = NULL, *out = NULL, *fields = NULL, *nonce = NULL, *aud = NULL;
    uint8_t cert[EC_HASH_BYTES];
    bool has_cert = false;
    const cl_opt_t opts[] = {{"type", CL_ARG_STR, &type},
                             {"cert", CL_ARG_HASH, cert, &has_cert},
                             {"out", CL_ARG_STR, &out},
                             {"fields", CL_ARG_STR, &fields},
                             {"nonce", CL_ARG_STR, &nonce},
                             {"aud", CL_ARG_STR, &aud},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_sdjwt, NULL);
    if (rc >= 0)
        return rc;
    if (!type || !has_cert || !ctx->key_path || !nonce || !aud)
        return cl_missing(ctx, !type       ? "--type"
                               : !has_cert ? "--cert"
                               : !nonce    ? "--nonce"
                               : !aud      ? "--aud"
                                           : "--key");
    if (!*nonce || strlen(nonce) > CL_SDJWT_NONCE_MAX || !*aud || strlen(aud) > CL_SDJWT_NONCE_MAX)
        return cl_usage(ctx, "--nonce and --aud must be 1..%d bytes", CL_SDJWT_NONCE_MAX);
    char list[CL_FIELDS_MAX * (CL_FIELD_NAME_MAX + 1) + 1];
    const char *names[CL_FIELDS_MAX];
    int n = 0;
    if (fields) {
        if (strlen(fields) >= sizeof list)
            return cl_usage(ctx, "--fields is too long");
        snprintf(list, sizeof list, "%s", fields);
        if ((n = s_split_names(list, names, CL_FIELDS_MAX)) < 0)
            return cl_usage(ctx, "--fields: comma-separated field names, none empty");
    }
    cl_fields_t f;
    cl_fields_init(&f);
    rc = s_open_cert(ctx, type, cert, &f);
    ec_key_t *key = rc == 0 ? cl_key_load(ctx, NULL) : NULL;
    if (rc == 0 && !key)
        rc = 1;
    char *pres = NULL;
    ec_status_t st = {0};
    if (rc == 0 &&
        cl_sdjwt_present(&pres, f.sd_jwt, names, (size_t)n, key, nonce, aud, cl_now_ms(), &st))
        rc = cl_fail_st(ctx, &st, "export sd-jwt");
    if (rc == 0)
        rc = s_write_out(ctx, out, pres, true);
    if (rc == 0 && out) {
        cl_out(ctx, "wrote %s (%zu bytes): SD-JWT VC, %d of %zu fields disclosed, bound to %s\n",
               out, strlen(pres), n ? n : (int)f.count, f.count, aud);
        cl_emit(ctx, json_pack("{s:s,s:I,s:I}", "file", out, "bytes", (json_int_t)strlen(pres),
                               "disclosed", (json_int_t)(n ? (size_t)n : f.count)));
    }
    if (pres)
        sodium_memzero(pres, strlen(pres));
    free(pres);
    ec_key_destroy(&key);
    cl_fields_fini(&f);
    return rc;
}

int cl_vc_status_list_from_object(char **out, const uint8_t *object, size_t size,
                                  const ec_genesis_t *g, const char *purpose,
                                  const char *status_base, const ec_key_t *key, ec_status_t *st)
{
    *out = NULL;
    ec_slist_t *s = malloc(sizeof *s);
    if (!s)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    int rc = ec_slist_decode(s, object, size);
    if (rc) {
        free(s);
        return ec_status_set(st, rc, "the status-list object does not decode");
    }
    ec_slist_info_t info;
    rc = ec_slist_verify(s, g->chain_id, &g->validators, NULL, &info, st);
    if (rc == 0)
        rc = cl_vc_status_list(out, s->parts.list, s->parts.count, purpose, status_base,
                               info.time_ms, info.at.side_chain_id, info.at.side_height, key, st);
    ec_slist_fini(s);
    free(s);
    return rc;
}

static const char s_help_slist[] =
    "usage: ecert export status-list --key AGENCY --type TYPE --from FILE --out FILE\n"
    "                               [--purpose revocation|suspension] [--status-url BASE]\n"
    "                               [--main-genesis FILE]\n\n"
    "Makes a W3C Bitstring Status List credential from a side chain's status list ('ecert\n"
    "status-list fetch' writes FILE; it is verified against the main genesis first) and\n"
    "signs it with the issuing agency's key, whose did:key is the issuer of the\n"
    "certificates' credentials: W3C verifiers accept a status list only from the\n"
    "credential's own issuer. 'revocation' sets the bit of revoked and ended certificates,\n"
    "'suspension' that of suspended ones. Serve the file at BASE/PURPOSE.\n\n"
    "Options:\n"
    "  --type TYPE         certificate type (which side chain)\n"
    "  --from FILE         the status-list object ('ecert status-list fetch --out FILE')\n"
    "  --purpose P         revocation (default) or suspension\n"
    "  --status-url BASE   the BASE given at issue (default urn:ecert:status:CHAIN:ADDRESS)\n"
    "  --main-genesis FILE the trusted main genesis (default main.genesis of the config)\n"
    "  --out FILE          where to write the credential\n"
    "\nExample:\n  ecert export status-list --key pku-issuer.key --type degree --from "
    "degree.status "
    "--out revocation.json\n" CL_GLOBAL_NOTE;

int cmd_export_status_list(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *type = NULL, *from = NULL, *out = NULL, *purpose = "revocation", *base = NULL,
               *genesis = NULL;
    const cl_opt_t opts[] = {{"type", CL_ARG_STR, &type},
                             {"from", CL_ARG_STR, &from},
                             {"out", CL_ARG_STR, &out},
                             {"purpose", CL_ARG_STR, &purpose},
                             {"status-url", CL_ARG_STR, &base},
                             {"main-genesis", CL_ARG_STR, &genesis},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_slist, NULL);
    if (rc >= 0)
        return rc;
    if (!type || !from || !out || !ctx->key_path)
        return cl_missing(ctx, !type ? "--type" : !from ? "--from FILE" : !out ? "--out" : "--key");
    if (strcmp(purpose, "revocation") != 0 && strcmp(purpose, "suspension") != 0)
        return cl_usage(ctx, "--purpose is revocation or suspension");
    if (base && (!*base || strlen(base) >= 200))
        return cl_usage(ctx, "--status-url must be 1..199 bytes");
    cl_chain_t *side = cl_side(ctx, type);
    if (!side)
        return 1;
    ec_genesis_t g;
    if (cl_main_genesis(ctx, genesis, &g))
        return 1;
    uint8_t *data = NULL;
    size_t size = 0;
    if (cl_read_file(ctx, from, EC_SLIST_BYTES_MAX, &data, &size))
        return 1;
    ec_key_t *key = cl_key_load(ctx, NULL);
    char def[256], *text = NULL;
    ec_status_t st = {0};
    if (!key) {
        rc = 1;
    } else {
        char addr[EC_ADDR_MAX];
        ec_address_from_pk(addr, ec_key_pk(key));
        snprintf(def, sizeof def, "urn:ecert:status:%s:%s", side->chain_id, addr);
        if (cl_vc_status_list_from_object(&text, data, size, &g, purpose, base ? base : def, key,
                                          &st))
            rc = cl_fail_st(ctx, &st, from);
    }
    if (rc < 0 && text)
        rc = cl_write_file(ctx, out, (const uint8_t *)text, strlen(text));
    if (rc == 0) {
        char url[512];
        cl_cred_status_url(url, sizeof url, base ? base : def, purpose);
        cl_out(ctx,
               "wrote %s (%zu bytes): Bitstring Status List credential (%s) for %s,\n"
               "  id %s: serve it there\n",
               out, strlen(text), purpose, side->chain_id, url);
        cl_emit(ctx, json_pack("{s:s,s:I,s:s,s:s}", "file", out, "bytes", (json_int_t)strlen(text),
                               "purpose", purpose, "id", url));
    }
    free(text);
    free(data);
    ec_key_destroy(&key);
    return rc < 0 ? 0 : rc;
}

/* ---- import-verify ---------------------------------------------------------------------- */

static const char s_help_import[] =
    "usage: ecert import-verify FILE [--nonce N --aud A] [--status-list FILE | --online]\n"
    "                           [--status-vc FILE]... [--main-genesis FILE]\n\n"
    "Checks an exported credential with ecert's own code: a W3C VC 2.0 (JSON) or an SD-JWT\n"
    "VC presentation. The issuer's signature (its did:key), the key binding to --nonce and\n"
    "--aud (SD-JWT), the validity period, the ISSUE's proof bundle it carries (against the\n"
    "main genesis: the did:key is the key that issued the certificate on the chain, whose\n"
    "issuing-agency role the chain checked), and the status: from ecert's status list\n"
    "(--status-list FILE or --online) and/or W3C status list credentials (--status-vc).\n"
    "With --online the did:key is also looked up on the main chain now: the account it\n"
    "signs for, and that it still holds the issuing-agency role for the certificate's type\n"
    "and organization.\n\n"
    "Options:\n"
    "  --nonce N          the nonce you (the verifier) gave the holder (SD-JWT)\n"
    "  --aud A            your identifier, the audience (SD-JWT)\n"
    "  --status-list FILE ecert status list ('ecert status-list fetch')\n"
    "  --online           fetch the status now and check the agency's account\n"
    "  --status-vc FILE   a Bitstring Status List credential (repeatable: revocation,\n"
    "                     suspension)\n"
    "  --main-genesis FILE the trusted main genesis (default main.genesis of the config)\n"
    "  --wait-ms N        with --online: how long to wait for the status list's anchoring\n"
    "\nExample:\n  ecert import-verify degree.sdjwt --nonce 8f2c1e --aud https://bank.example "
    "--online\n" CL_GLOBAL_NOTE;

#define S_STATUS_VC_MAX 4

typedef struct {
    const char *nonce, *aud, *status_list, *genesis;
    bool online;
    uint64_t wait_ms;
    size_t status_vc_count;
    const char *status_vc[S_STATUS_VC_MAX];
} s_import_t;

static int s_opt_status_vc(cl_ctx_t *ctx, const char *value, void *out)
{
    s_import_t *a = out;
    if (a->status_vc_count == S_STATUS_VC_MAX)
        return cl_usage(ctx, "at most %d --status-vc", S_STATUS_VC_MAX);
    a->status_vc[a->status_vc_count++] = value;
    return 0;
}

/*
 * The ecert facts a credential carries ({sideChain, certificate, statusSlot, org,
 * proofBundle}): the bundle verifies against g, proves an applied ISSUE with that id on
 * that chain and slot, signed by issuer_pk. Fills info and issue. 0 or 1.
 */
static int s_check_facts(cl_ctx_t *ctx, const json_t *facts, const ec_genesis_t *g,
                         const uint8_t issuer_pk[EC_PK_BYTES], ec_bundle_info_t *info,
                         ec_issue_body_t *issue, json_t *obj)
{
    const char *chain = json_string_value(json_object_get(facts, "sideChain"));
    const char *cert = json_string_value(json_object_get(facts, "certificate"));
    const char *b64 = json_string_value(json_object_get(facts, "proofBundle"));
    json_t *slot = json_object_get(facts, "statusSlot");
    if (!chain || !cert || !b64 || !json_is_integer(slot))
        return cl_fail(ctx, EC_EINVAL, "REFUSED: the credential carries no ecert proof (evidence)");
    uint8_t *bundle = NULL;
    size_t size = 0;
    if (cl_b64url_decode(b64, strlen(b64), EC_BUNDLE_BYTES_MAX, &bundle, &size))
        return cl_fail(ctx, EC_EINVAL, "REFUSED: the proof bundle is not base64url");
    ec_status_t st = {0};
    int rc = ec_bundle_verify(bundle, size, g->chain_id, &g->validators, NULL, info, &st);
    char hex[2 * EC_HASH_BYTES + 1] = "";
    if (rc == 0) /* info is filled only then */
        ec_hex(hex, info->tx_id, EC_HASH_BYTES);
    if (rc)
        rc = cl_fail(ctx, rc, "REFUSED: the proof bundle does not verify against %s: %s",
                     g->chain_id, st.msg);
    else if (info->tx_type != EC_STX_ISSUE || info->result_code != 0)
        rc = cl_fail(ctx, EC_EPROOF, "REFUSED: the proof bundle is not of an applied ISSUE");
    else if (strcmp(hex, cert) != 0 || strcmp(info->side_chain_id, chain) != 0 ||
             info->result_slot != (uint64_t)json_integer_value(slot))
        rc = cl_fail(ctx, EC_EPROOF,
                     "REFUSED: the proof bundle is of another certificate than the credential's");
    else if (memcmp(info->sender, issuer_pk, EC_PK_BYTES) != 0)
        rc = cl_fail(ctx, EC_EPERM,
                     "REFUSED: the credential's did:key is not the key that issued the "
                     "certificate on the chain");
    else if (cl_bundle_issue(bundle, size, issue) != 0)
        rc = cl_fail(ctx, EC_EINTERNAL, "verified bundle could not be re-read (a bug)");
    free(bundle);
    if (rc)
        return rc;
    cl_out(ctx,
           "chain proof   ISSUE %s on %s, side block %llu, anchored in main block %llu\n"
           "issued by     organization %s (the chain checked the issuing-agency role)\n"
           "holder        %s\n",
           hex, info->side_chain_id, (unsigned long long)info->side_height,
           (unsigned long long)info->main_height, issue->org_code, issue->holder);
    json_object_set_new(obj, "cert_id", json_string(hex));
    json_object_set_new(obj, "side_chain_id", json_string(info->side_chain_id));
    json_object_set_new(obj, "org_code", json_string(issue->org_code));
    json_object_set_new(obj, "holder", json_string(issue->holder));
    return 0;
}

/* --online: the account the issuer key signs for, and its role now. 0 or 1. */
static int s_check_agency(cl_ctx_t *ctx, const uint8_t pk[EC_PK_BYTES],
                          const ec_bundle_info_t *info, const ec_issue_body_t *issue, json_t *obj)
{
    char addr[EC_ADDR_MAX];
    if (cl_signer_current(ctx, pk, addr))
        return 1;
    cl_account_t *acct = malloc(sizeof *acct);
    if (!acct)
        return cl_fail(ctx, EC_ENOMEM, "out of memory");
    int rc = cl_account_get(ctx, addr, acct);
    cl_config_t *cfg = rc == 0 ? cl_config(ctx) : NULL;
    const char *type = NULL;
    for (size_t i = 0; cfg && i < cfg->side_count; i++)
        if (strcmp(cfg->sides[i].chain_id, info->side_chain_id) == 0)
            type = cfg->sides[i].type;
    bool ok = false;
    for (size_t i = 0; rc == 0 && type && i < acct->role_count; i++)
        ok |= acct->roles[i].role == EC_ROLE_ISSUER &&
              strcmp(acct->roles[i].cert_type, type) == 0 &&
              strcmp(acct->roles[i].org_code, issue->org_code) == 0;
    if (rc == 0 && !ok)
        rc = cl_fail(ctx, EC_EPERM, "REFUSED: %s (%s) is no longer an issuing agency of %s for %s",
                     addr, acct->name, issue->org_code, type ? type : info->side_chain_id);
    if (rc == 0) {
        cl_out(ctx, "agency now    %s (%s): issuing agency of %s for %s on the main chain\n", addr,
               acct->name, issue->org_code, type);
        json_object_set_new(obj, "agency", json_string(addr));
    }
    free(acct);
    return rc;
}

/* Whether status list credential slc (of statusPurpose purpose) is one that the signed
 * credentialStatus entries name: same statusListCredential id and purpose. The issuer signs
 * a list per side chain and purpose, so without this a clean list of another chain would
 * pass for the certificate's. */
static bool s_status_named(const json_t *entries, const json_t *slc, const char *purpose)
{
    const char *id = json_string_value(json_object_get(slc, "id"));
    for (size_t i = 0; id && i < json_array_size(entries); i++) {
        const json_t *e = json_array_get(entries, i);
        const char *url = json_string_value(json_object_get(e, "statusListCredential"));
        const char *p = json_string_value(json_object_get(e, "statusPurpose"));
        if (url && p && strcmp(url, id) == 0 && strcmp(p, purpose) == 0)
            return true;
    }
    return false;
}

/* Each --status-vc: signed by the credential's issuer, one of the lists its credentialStatus
 * entries (signed with it) name, and its bit at slot clear. 0 or 1. */
static int s_check_status_vcs(cl_ctx_t *ctx, const s_import_t *a, const uint8_t issuer[EC_PK_BYTES],
                              const json_t *entries, uint64_t slot, json_t *obj)
{
    for (size_t i = 0; i < a->status_vc_count; i++) {
        uint8_t *data = NULL;
        size_t size = 0;
        if (cl_read_file(ctx, a->status_vc[i], CL_VC_BYTES_MAX, &data, &size))
            return 1;
        ec_status_t st = {0};
        json_t *slc = cl_json_parse((const char *)data, size, CL_VC_BYTES_MAX, &st);
        free(data);
        uint8_t pk[EC_PK_BYTES];
        bool bit = false;
        char purpose[32] = "";
        int rc = !slc ? st.code : cl_di_verify(slc, pk, &st);
        if (rc == 0 && memcmp(pk, issuer, EC_PK_BYTES) != 0)
            rc = ec_status_set(&st, EC_EPERM, "it is not signed by the credential's issuer");
        if (rc == 0)
            rc = cl_vc_status_bit(slc, slot, &bit, purpose, &st);
        if (rc == 0 && !s_status_named(entries, slc, purpose))
            rc = ec_status_set(&st, EC_EPERM,
                               "it is not a status list the credential names (its id and "
                               "statusPurpose match no credentialStatus entry)");
        json_decref(slc);
        if (rc)
            return cl_fail(ctx, rc, "REFUSED: status list credential %s: %s", a->status_vc[i],
                           st.msg);
        cl_out(ctx, "status (W3C)  %s: %s\n", purpose, bit ? "SET" : "clear");
        json_object_set_new(obj, purpose, json_boolean(bit));
        if (bit)
            return cl_fail(ctx, EC_ESTATE,
                           "REFUSED: the certificate is NOT valid: its %s bit is "
                           "set in %s",
                           purpose, a->status_vc[i]);
    }
    return 0;
}

/* The VC path: proof, issuer, validity window; returns the ecert facts (borrowed). */
static int s_verify_vc(cl_ctx_t *ctx, json_t *doc, uint8_t issuer[EC_PK_BYTES], json_t **facts,
                       json_t *obj)
{
    ec_status_t st = {0};
    if (cl_di_verify(doc, issuer, &st))
        return cl_fail(ctx, st.code, "REFUSED: %s", st.msg);
    char did[CL_DID_MAX];
    cl_did_from_pk(did, issuer);
    const char *iss = json_string_value(json_object_get(doc, "issuer"));
    if (!iss || strcmp(iss, did) != 0)
        return cl_fail(ctx, EC_EPERM, "REFUSED: the proof is not by the credential's issuer");
    uint64_t now = cl_now_ms(), from = 0, until = 0;
    const char *vf = json_string_value(json_object_get(doc, "validFrom"));
    const char *vu = json_string_value(json_object_get(doc, "validUntil"));
    if (vf && (cl_vc_time_parse(vf, &from) || from > now + CL_SDJWT_SKEW_MS))
        return cl_fail(ctx, EC_ESTATE, "REFUSED: validFrom %s is not a past time", vf);
    if (vu && (cl_vc_time_parse(vu, &until) || until <= now))
        return cl_fail(ctx, EC_ESTATE, "REFUSED: the credential expired (validUntil %s)", vu);
    *facts = json_array_get(json_object_get(doc, "evidence"), 0);
    cl_out(ctx, "format        W3C VC 2.0, eddsa-jcs-2022 proof VALID\nissuer        %s\n", did);
    json_t *subject = json_object_get(doc, "credentialSubject");
    const char *k;
    json_t *v;
    json_object_foreach(subject, k, v)
    {
        if (strcmp(k, "id") != 0 && json_is_string(v))
            cl_out_field(ctx, k, json_string_value(v), json_string_length(v));
    }
    json_object_set(obj, "fields", subject);
    return 0;
}

int cmd_import_verify(cl_ctx_t *ctx, int argc, char **argv)
{
    s_import_t a = {.wait_ms = 10000};
    const char *file = NULL;
    const cl_opt_t opts[] = {{"nonce", CL_ARG_STR, &a.nonce},
                             {"aud", CL_ARG_STR, &a.aud},
                             {"status-list", CL_ARG_STR, &a.status_list},
                             {"online", CL_ARG_FLAG, &a.online},
                             {"status-vc", CL_ARG_FN, &a, NULL, s_opt_status_vc},
                             {"main-genesis", CL_ARG_STR, &a.genesis},
                             {"wait-ms", CL_ARG_U64, &a.wait_ms},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_import, &file);
    if (rc >= 0)
        return rc;
    if (!file)
        return cl_missing(ctx, "FILE");
    if (a.status_list && a.online)
        return cl_usage(ctx, "--status-list and --online are exclusive");
    ec_genesis_t g;
    if (cl_main_genesis(ctx, a.genesis, &g))
        return 1;
    uint8_t *data = NULL;
    size_t size = 0;
    if (cl_read_file(ctx, file, CL_SDJWT_BYTES_MAX, &data, &size))
        return 1;
    json_t *obj = json_object(), *doc = NULL, *facts = NULL, *entries = NULL;
    uint8_t issuer[EC_PK_BYTES];
    cl_sdjwt_t sd = {0};
    ec_status_t st = {0};
    size_t start = 0;
    while (start < size && (data[start] == ' ' || data[start] == '\n'))
        start++;
    if (start < size && data[start] == '{') {
        doc = cl_json_parse((const char *)data, size, CL_SDJWT_BYTES_MAX, &st);
        rc = !doc ? cl_fail(ctx, st.code, "REFUSED: %s", st.msg)
                  : s_verify_vc(ctx, doc, issuer, &facts, obj);
        entries = json_object_get(doc, "credentialStatus");
        json_object_set_new(obj, "format", json_string("vc"));
    } else if (!a.nonce || !a.aud) {
        rc = cl_missing(ctx, "--nonce and --aud (an SD-JWT is bound to a verifier's request)");
    } else if (cl_sdjwt_verify(&sd, (const char *)data, size, a.nonce, a.aud, cl_now_ms(), &st)) {
        rc = cl_fail(ctx, st.code, "REFUSED: %s", st.msg);
    } else {
        memcpy(issuer, sd.issuer_pk, EC_PK_BYTES);
        facts = json_object_get(sd.payload, "ecert");
        entries = json_object_get(sd.payload, "credentialStatus");
        char did[CL_DID_MAX];
        cl_did_from_pk(did, issuer);
        cl_out(ctx,
               "format        SD-JWT VC, issuer signature and key binding VALID\n"
               "issuer        %s\n",
               did);
        const char *k;
        json_t *v;
        json_object_foreach(sd.disclosed, k, v)
        {
            if (json_is_string(v))
                cl_out_field(ctx, k, json_string_value(v), json_string_length(v));
        }
        json_object_set(obj, "fields", sd.disclosed);
        json_object_set_new(obj, "format", json_string("sd-jwt"));
        rc = -1;
    }
    if (rc == -1) /* the SD-JWT branch's success */
        rc = 0;
    ec_bundle_info_t info;
    ec_issue_body_t issue;
    if (rc == 0)
        rc = s_check_facts(ctx, facts, &g, issuer, &info, &issue, obj);
    if (rc == 0 && a.online)
        rc = s_check_agency(ctx, issuer, &info, &issue, obj);
    if (rc == 0)
        rc = s_check_status_vcs(ctx, &a, issuer, entries, info.result_slot, obj);
    if (rc == 0) {
        cl_status_src_t src = {.file = a.status_list, .online = a.online, .wait_ms = a.wait_ms};
        rc = cl_cert_validity(ctx, &g, &info, issue.expires_ms, &src, obj);
    }
    if (rc == 0) {
        cl_out(ctx, "verdict       ACCEPTED\n");
        json_object_set_new(obj, "accepted", json_true());
        cl_emit(ctx, obj);
    } else {
        json_decref(obj);
    }
    json_decref(doc);
    cl_sdjwt_fini(&sd);
    sodium_memzero(data, size);
    free(data);
    return rc;
}
