/*
 * cmd_cert.c - `ecert cert issue|inspect|get|list|history|ack|renew|change|revoke|erase|
 * suspend|reinstate|cancel`: certificates on the side chain of their type.
 *
 * Certificate contents never travel in the clear: the client builds the plaintext payload
 * (cl_fields.h), seals it to the holder's public key (fetched from the main chain), and
 * puts only fields_root in the transaction body. The certificate id is the ISSUE
 * transaction's id.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_commands.h"
#include "cl_did.h"
#include "cl_sdjwt.h"
#include "cl_vc.h"

#define S_FIELD_OPTS                                                                               \
    "  --field NAME=VALUE     a certificate field (repeatable; order kept; names unique)\n"        \
    "  --data FILE            fields from a JSON object of strings, e.g. {\"degree\": \"MSc\"}\n"  \
    "  --attachment FILE      optional binary attachment sealed with the fields\n"

/* Options shared by the certificate commands; unset ones stay NULL / 0. */
typedef struct {
    const char *type;
    const char *holder;
    const char *org;
    const char *verdict;
    const char *reason;
    bool has_cert;
    uint8_t cert[EC_HASH_BYTES];
    bool has_expires;
    uint64_t expires_ms;
    bool has_height;
    uint64_t height;
    cl_fields_t fields;
    bool fields_given;
    const char *proof; /* cert get --proof FILE                                  */
    uint64_t wait_ms;
    bool credentials;       /* issue/change --credentials: sign the VC and SD-JWT VC */
    const char *status_url; /* --status-url BASE of the status list credentials      */
} s_args_t;

/* cl_opt_t handlers for --field, --data and --attachment (out: the s_args_t). */
static int s_opt_field(cl_ctx_t *ctx, const char *value, void *out)
{
    s_args_t *a = out;
    ec_status_t st = {0};
    if (cl_fields_add_arg(&a->fields, value, &st))
        return cl_usage(ctx, "--field: %s", st.msg);
    return 0;
}

static int s_opt_file(cl_ctx_t *ctx, const char *path, s_args_t *a, bool attachment)
{
    uint8_t *data = NULL;
    size_t size = 0;
    ec_status_t st = {0};
    if (cl_read_file(ctx, path, EC_PAYLOAD_BYTES_MAX, &data, &size))
        return 1;
    int rc = attachment ? cl_fields_set_attachment(&a->fields, data, size, &st)
                        : cl_fields_add_json(&a->fields, (const char *)data, size, &st);
    sodium_memzero(data, size + 1); /* certificate contents (cl_read_file adds a NUL) */
    free(data);
    if (rc)
        return cl_fail(ctx, st.code, "%s: %s", path, st.msg);
    return 0;
}

static int s_opt_data(cl_ctx_t *ctx, const char *value, void *out)
{
    return s_opt_file(ctx, value, out, false);
}

static int s_opt_attachment(cl_ctx_t *ctx, const char *value, void *out)
{
    return s_opt_file(ctx, value, out, true);
}

/* Whether the space-separated word list `list` holds `word`. */
static bool s_has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
            return true;
    return false;
}

/*
 * Parses argv with the options named in `names` (space-separated, e.g. "type holder
 * fields"; "fields" stands for --field, --data and --attachment); they are stored in a.
 * Returns -1 to go on, or an exit status (0 after --help). Fields are freed by the caller
 * with cl_fields_fini.
 */
static int s_parse(cl_ctx_t *ctx, int argc, char **argv, const char *names, const char *help,
                   s_args_t *a)
{
    const cl_opt_t all[] = {
        {"type", CL_ARG_STR, &a->type},
        {"holder", CL_ARG_ADDRESS, &a->holder},
        {"org", CL_ARG_STR, &a->org},
        {"cert", CL_ARG_HASH, a->cert, &a->has_cert},
        {"tx", CL_ARG_HASH, a->cert, &a->has_cert},
        {"height", CL_ARG_U64, &a->height, &a->has_height},
        {"expires-ms", CL_ARG_U64, &a->expires_ms, &a->has_expires},
        {"verdict", CL_ARG_STR, &a->verdict},
        {"reason", CL_ARG_STR, &a->reason},
        {"proof", CL_ARG_STR, &a->proof},
        {"wait-ms", CL_ARG_U64, &a->wait_ms},
        {"credentials", CL_ARG_FLAG, &a->credentials},
        {"status-url", CL_ARG_STR, &a->status_url},
        {"field", CL_ARG_FN, a, &a->fields_given, s_opt_field},
        {"data", CL_ARG_FN, a, &a->fields_given, s_opt_data},
        {"attachment", CL_ARG_FN, a, &a->fields_given, s_opt_attachment},
    };
    cl_opt_t opts[sizeof all / sizeof all[0] + 1];
    size_t n = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        bool field = i >= sizeof all / sizeof all[0] - 3;
        if (s_has_word(names, field ? "fields" : all[i].name))
            opts[n++] = all[i];
    }
    opts[n] = (cl_opt_t){NULL};
    return cl_parse_opts(ctx, argc, argv, opts, help, NULL);
}

/* Ends a command after parsing stopped (help or a usage error): frees what s_parse kept. */
static int s_stop(s_args_t *a, int rc)
{
    cl_fields_fini(&a->fields);
    return rc;
}

/* Checks the options a command needs; "type holder org cert fields" style list. */
static int s_require(cl_ctx_t *ctx, const s_args_t *a, const char *need)
{
    if (strstr(need, "type") && !a->type)
        return cl_missing(ctx, "--type");
    if (strstr(need, "holder") && !a->holder)
        return cl_missing(ctx, "--holder");
    if (strstr(need, "org") && !a->org)
        return cl_missing(ctx, "--org");
    if (a->org && (!*a->org || strlen(a->org) >= EC_ORG_CODE_MAX))
        return cl_usage(ctx, "--org must be 1..%d bytes", EC_ORG_CODE_MAX - 1);
    if (strstr(need, "cert") && !a->has_cert)
        return cl_missing(ctx, strstr(need, "tx") ? "--tx" : "--cert");
    if (strstr(need, "fields") && a->fields.count == 0)
        return cl_missing(ctx, "--field NAME=VALUE or --data FILE");
    if (strstr(need, "expires") && !a->has_expires)
        return cl_missing(ctx, "--expires-ms");
    if (strstr(need, "height") && !a->has_height)
        return cl_missing(ctx, "--height");
    if (strstr(need, "verdict") &&
        (!a->verdict || !*a->verdict || strlen(a->verdict) >= EC_VERDICT_MAX))
        return a->verdict ? cl_usage(ctx, "--verdict must be 1..%d bytes", EC_VERDICT_MAX - 1)
                          : cl_missing(ctx, "--verdict");
    return 0;
}

/* Encodes the plaintext payload and seals it to pk. *sealed is malloc'd. 0 or 1. */
static int s_seal(cl_ctx_t *ctx, const cl_fields_t *f, const uint8_t pk[EC_PK_BYTES],
                  uint8_t **sealed, size_t *sealed_size)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_writer_reserve(&w, CL_PAYLOAD_PLAIN_BYTES_MAX); /* never moved, so wiped whole below */
    cl_fields_encode(&w, f);
    size_t plain = ec_writer_size(&w);
    int rc = 0;
    if (plain + EC_SEAL_OVERHEAD > EC_PAYLOAD_BYTES_MAX) {
        rc = cl_fail(ctx, EC_ETOOBIG, "certificate data is %zu bytes, above the %u-byte limit",
                     plain, EC_PAYLOAD_BYTES_MAX - EC_SEAL_OVERHEAD);
    } else if (!(*sealed = malloc(plain + EC_SEAL_OVERHEAD))) {
        rc = cl_fail(ctx, EC_ENOMEM, "out of memory");
    } else if (ec_seal(*sealed, ec_writer_data(&w), plain, pk) != 0) {
        free(*sealed);
        *sealed = NULL;
        rc = cl_fail(ctx, EC_EINVAL, "the holder's public key is not a valid Ed25519 key");
    } else {
        *sealed_size = plain + EC_SEAL_OVERHEAD;
    }
    /* The plaintext is personal data: wipe the buffer before it goes back to the heap. */
    cl_writer_wipe_fini(&w);
    return rc;
}

/* Looks the holder up on the main chain and seals the fields to its key. 0 or 1. */
static int s_seal_to(cl_ctx_t *ctx, const cl_fields_t *f, const char *holder, uint8_t **sealed,
                     size_t *sealed_size, uint8_t holder_key[EC_PK_BYTES])
{
    cl_account_t *acct = malloc(sizeof *acct); /* ~17 KB */
    if (!acct)
        return cl_fail(ctx, EC_ENOMEM, "out of memory");
    static const uint8_t zero[EC_PK_BYTES];
    int rc = cl_account_get(ctx, holder, acct);
    if (rc == 0 && memcmp(acct->key, zero, EC_PK_BYTES) == 0)
        rc = cl_fail(ctx, EC_ESTATE,
                     "the holder %s revoked its key: nothing can be sealed to it until a "
                     "certification authority recovers the account",
                     holder);
    if (rc == 0)
        rc = s_seal(ctx, f, acct->key, sealed, sealed_size);
    if (rc == 0 && holder_key)
        memcpy(holder_key, acct->key, EC_PK_BYTES);
    free(acct);
    return rc;
}

/* When *rc is 0: checks that --key is given (when `signing`) and finds the side chain of
 * --type, else sets *rc (2 or 1). Returns the side chain, NULL when *rc is not 0. */
static cl_chain_t *s_find_side(cl_ctx_t *ctx, const s_args_t *a, bool signing, int *rc)
{
    cl_chain_t *side = NULL;
    if (*rc == 0 && signing && !ctx->key_path)
        *rc = cl_missing(ctx, "--key");
    if (*rc == 0 && !(side = cl_side(ctx, a->type)))
        *rc = 1;
    return side;
}

/*
 * Starts a certificate command: s_parse with `names`, s_require with `need`, then, when
 * side is not NULL, s_find_side. Returns -1 to go on, else the exit status (with the
 * fields freed).
 */
static int s_start(cl_ctx_t *ctx, int argc, char **argv, const char *names, const char *need,
                   const char *help, s_args_t *a, bool signing, cl_chain_t **side)
{
    int rc = s_parse(ctx, argc, argv, names, help, a);
    if (rc >= 0)
        return s_stop(a, rc);
    rc = s_require(ctx, a, need);
    /* Checked before anything is sent: --credentials uses it only after the ISSUE. */
    if (rc == 0 && a->status_url && (!*a->status_url || strlen(a->status_url) >= 200))
        rc = cl_usage(ctx, "--status-url must be 1..199 bytes");
    if (rc == 0 && a->status_url && !a->credentials)
        rc = cl_usage(ctx, "--status-url goes with --credentials");
    if (side && rc == 0)
        *side = s_find_side(ctx, a, signing, &rc);
    return rc ? s_stop(a, rc) : -1;
}

/* Submits one side-chain transaction signed by --key. 0, or 1/2. */
static int s_submit_side(cl_ctx_t *ctx, cl_chain_t *side, uint64_t type, const ec_writer_t *body,
                         const uint8_t *payload, size_t payload_size, cl_txres_t *res)
{
    return cl_submit_signed(ctx, side, type, body, payload, payload_size, res, NULL);
}

/* ---- reading a certificate -------------------------------------------------------------- */

int cl_cert_fetch(cl_ctx_t *ctx, cl_chain_t *side, const uint8_t id[EC_HASH_BYTES], cl_cert_t *c,
                  ec_rpc_reply_t *reply)
{
    ec_writer_t args;
    ec_writer_init(&args);
    ec_write_array(&args, 1);
    ec_write_bin(&args, id, EC_HASH_BYTES);
    int rc = cl_query(ctx, side, "cert", &args, reply, EC_ENOTFOUND);
    ec_writer_fini(&args);
    char hex[2 * EC_HASH_BYTES + 1];
    ec_hex(hex, id, EC_HASH_BYTES);
    if (rc == EC_ENOTFOUND)
        return cl_fail(ctx, EC_ENOTFOUND, "no certificate %s on %s (%s)", hex, side->chain_id,
                       side->type);
    if (rc)
        return rc;
    memset(c, 0, sizeof *c);
    ec_cur_t cur;
    ec_cur_open(&cur, reply->result, 15);
    ec_cur_bin_fixed(&cur, c->id, sizeof c->id);
    ec_cur_str_copy(&cur, c->holder, sizeof c->holder);
    ec_cur_str_copy(&cur, c->org_code, sizeof c->org_code);
    ec_cur_bin_fixed(&cur, c->issuer, sizeof c->issuer);
    ec_cur_uint(&cur, &c->height);
    ec_cur_bin_fixed(&cur, c->fields_root, sizeof c->fields_root);
    ec_cur_uint(&cur, &c->expires_ms);
    ec_cur_str_copy(&cur, c->status, sizeof c->status);
    ec_cur_bin(&cur, &c->payload, &c->payload_size, EC_PAYLOAD_BYTES_MAX);
    ec_cur_uint(&cur, &c->inspections);
    ec_cur_uint(&cur, &c->updated_height);
    ec_cur_bool(&cur, &c->erased);
    ec_cur_uint(&cur, &c->auth_height);
    ec_cur_uint(&cur, &c->slot);
    ec_cur_uint(&cur, &c->history);
    rc = ec_cur_finish(&cur);
    if (rc || memcmp(c->id, id, EC_HASH_BYTES) != 0) {
        ec_rpc_reply_fini(reply);
        return cl_garbled(ctx, side, "query cert");
    }
    return 0;
}

int cl_cert_show_fields(cl_ctx_t *ctx, const ec_key_t *key, const uint8_t *sealed,
                        size_t sealed_size, const uint8_t *fields_root, json_t *obj)
{
    cl_fields_t f;
    cl_fields_init(&f);
    ec_status_t st = {0};
    if (cl_fields_open(&f, key, sealed, sealed_size, fields_root, &st))
        return cl_fail_st(ctx, &st, NULL);
    cl_out(ctx, "fields (decrypted%s):\n", fields_root ? ", fields_root verified" : "");
    json_t *fields = json_object();
    for (size_t i = 0; i < f.count; i++) {
        cl_out_field(ctx, f.items[i].name, f.items[i].value, strlen(f.items[i].value));
        json_object_set_new(fields, f.items[i].name, json_string(f.items[i].value));
    }
    json_object_set_new(obj, "fields", fields);
    json_object_set_new(obj, "fields_root_ok", json_boolean(fields_root != NULL));
    if (f.attachment) {
        cl_out(ctx, "attachment: %zu bytes\n", f.attachment_size);
        json_object_set_new(obj, "attachment_bytes", json_integer((json_int_t)f.attachment_size));
    }
    cl_fields_fini(&f);
    return 0;
}

/* ---- credentials for outside verifiers (docs/INTEROP.md) -------------------------------- */

#define S_CRED_WAIT_MS 60000 /* default wait for the ISSUE to be anchored (its bundle) */

/* The time of the side block holding a bundle's transaction (the ISSUE's block time: when
 * the certificate came to be, hence the VC's validFrom even when its credentials are signed
 * later by cert change). 0, or the EC_* of ec_bundle_decode/ec_header_decode, EC_ENOMEM. */
static int s_bundle_time(const uint8_t *data, size_t size, uint64_t *time_ms)
{
    ec_bundle_t *b = malloc(sizeof *b); /* ~7 KB of path arrays */
    if (!b)
        return EC_ENOMEM;
    int rc = ec_bundle_decode(b, data, size);
    if (rc == 0) {
        ec_header_t h;
        rc = ec_header_decode(&h, b->parts.side_header, b->parts.side_header_size);
        if (rc == 0)
            *time_ms = h.time_ms;
        ec_bundle_fini(b);
    }
    free(b);
    return rc;
}

/*
 * Signs the exported credentials of certificate `id` for fields f with --key and puts them
 * in f (a version 2 payload): the W3C VC 2.0 with its eddsa-jcs-2022 proof and the SD-JWT
 * VC whose disclosures reuse the fields' salts. Both name the certificate's status slot and
 * carry its ISSUE's proof bundle (without payload), so the ISSUE must be anchored: this
 * waits for it up to --wait-ms. Only the key that signed the ISSUE may sign them, so the
 * did:key of a credential is always the one the chain proves issued it. 0 or 1.
 */
static int s_credentials(cl_ctx_t *ctx, cl_chain_t *side, const s_args_t *a,
                         const uint8_t id[EC_HASH_BYTES], const uint8_t holder_key[EC_PK_BYTES],
                         cl_fields_t *f)
{
    ec_key_t *key = cl_key_load(ctx, NULL);
    if (!key)
        return 1;
    cl_cert_t c;
    ec_rpc_reply_t reply;
    int rc = cl_cert_fetch(ctx, side, id, &c, &reply);
    if (rc) {
        ec_key_destroy(&key);
        return rc;
    }
    ec_rpc_reply_fini(&reply); /* the scalar facts stay in c */
    char issuer_addr[EC_ADDR_MAX], base[256];
    ec_address_from_pk(issuer_addr, ec_key_pk(key));
    if (memcmp(c.issuer, ec_key_pk(key), EC_PK_BYTES) != 0)
        rc = cl_fail(ctx, EC_EPERM,
                     "--credentials: only the key that issued the certificate may sign its "
                     "credentials (the ISSUE's signer), not %s",
                     issuer_addr);
    snprintf(base, sizeof base, "%s", a->status_url ? a->status_url : "");
    if (!a->status_url)
        snprintf(base, sizeof base, "urn:ecert:status:%s:%s", side->chain_id, issuer_addr);
    ec_writer_t bundle;
    ec_writer_init(&bundle);
    if (rc == 0)
        rc = cl_proof_build(ctx, side, id, a->wait_ms ? a->wait_ms : S_CRED_WAIT_MS, true, &bundle);
    uint64_t issued_ms = 0;
    if (rc == 0 && s_bundle_time(ec_writer_data(&bundle), ec_writer_size(&bundle), &issued_ms))
        rc =
            cl_fail(ctx, EC_EINTERNAL, "--credentials: the ISSUE's proof bundle has no block time");
    cl_cred_info_t info = {.issuer_pk = ec_key_pk(key),
                           .holder_pk = holder_key,
                           .cert_type = side->type,
                           .org_code = c.org_code,
                           .side_chain_id = side->chain_id,
                           .cert_id = id,
                           .slot = c.slot,
                           .issued_ms = issued_ms,
                           .signed_ms = cl_now_ms(),
                           .expires_ms = c.expires_ms,
                           .status_base = base,
                           .bundle = ec_writer_data(&bundle),
                           .bundle_size = ec_writer_size(&bundle)};
    char *vc = NULL, *sd = NULL;
    ec_status_t st = {0};
    if (rc == 0 &&
        (cl_vc_issue(&vc, &info, f, key, &st) || cl_sdjwt_issue(&sd, &info, f, key, &st) ||
         cl_fields_set_credentials(f, vc, sd, &st)))
        rc = cl_fail_st(ctx, &st, "--credentials");
    if (rc == 0)
        cl_out(ctx, "credentials signed by %s (VC %zu bytes, SD-JWT %zu bytes, status slot %llu)\n",
               issuer_addr, strlen(vc), strlen(sd), (unsigned long long)c.slot);
    if (vc)
        sodium_memzero(vc, strlen(vc)); /* certificate contents */
    if (sd)
        sodium_memzero(sd, strlen(sd));
    free(vc);
    free(sd);
    ec_writer_fini(&bundle);
    ec_key_destroy(&key);
    return rc;
}

/* ---- issue ------------------------------------------------------------------------------ */

static const char s_help_issue[] =
    "usage: ecert cert issue --key ISSUER --type TYPE --holder ADDR --org CODE\n"
    "                        (--field NAME=VALUE ... | --data FILE) [--attachment FILE]\n"
    "                        [--expires-ms N] [--credentials [--status-url BASE]]\n\n"
    "Issues a certificate on the side chain of TYPE (ISSUE, signed by an issuing agency of\n"
    "TYPE and CODE). The fields are sealed to the holder's public key (looked up on the main\n"
    "chain) and only their Merkle root goes in the transaction. Prints the certificate id\n"
    "(the transaction hash) and the block height: both are needed by 'cert get'.\n\n"
    "Options:\n"
    "  --type TYPE            certificate type (a side chain in the client config)\n"
    "  --holder ADDR          the holder's address (a registered account)\n"
    "  --org CODE             the issuing organization's code\n" S_FIELD_OPTS
    "  --expires-ms N         expiry, ms since the Unix epoch (default 0: never)\n"
    "  --credentials          also sign the certificate as a W3C VC 2.0 and an SD-JWT VC for\n"
    "                         outside verifiers ('ecert export'): waits for the ISSUE to be\n"
    "                         anchored, then sends a CHANGE with the same fields carrying them\n"
    "  --status-url BASE      where the status list credentials will be served\n"
    "                         (BASE/revocation, BASE/suspension; default urn:ecert:status:...)\n"
    "  --wait-ms N            with --credentials: how long to wait for anchoring (60000)\n"
    "\nExample:\n  ecert cert issue --key pku-issuer.key --type degree --holder ec1q... "
    "--org 12100000400000624D --field degree=\"Master of Science\" --field major=Physics "
    "--field year=2024\n" CL_GLOBAL_NOTE;

int cmd_cert_issue(cl_ctx_t *ctx, int argc, char **argv)
{
    s_args_t a = {0}; /* per call: nothing of an earlier invocation survives */
    cl_chain_t *side = NULL;
    int rc =
        s_start(ctx, argc, argv, "type holder org expires-ms fields credentials status-url wait-ms",
                "type holder org fields", s_help_issue, &a, true, &side);
    if (rc >= 0)
        return rc;
    uint8_t *sealed = NULL;
    size_t sealed_size = 0;
    uint8_t holder_key[EC_PK_BYTES];
    rc = s_seal_to(ctx, &a.fields, a.holder, &sealed, &sealed_size, holder_key);
    cl_txres_t res;
    if (rc == 0) {
        ec_issue_body_t b = {.expires_ms = a.expires_ms};
        snprintf(b.holder, sizeof b.holder, "%s", a.holder); /* checked by s_start */
        snprintf(b.org_code, sizeof b.org_code, "%s", a.org);
        cl_fields_root(b.fields_root, &a.fields);
        ec_writer_t body;
        ec_writer_init(&body);
        ec_issue_body_encode(&body, &b);
        rc = s_submit_side(ctx, side, EC_STX_ISSUE, &body, sealed, sealed_size, &res);
        ec_writer_fini(&body);
    }
    free(sealed);
    sealed = NULL;
    cl_txres_t cred_res;
    if (rc == 0 && a.credentials) {
        /* The credentials name the certificate's id and status slot, known only now: they
         * travel in a CHANGE with the same fields (fields_root unchanged). */
        rc = s_credentials(ctx, side, &a, res.id, holder_key, &a.fields);
        if (rc == 0)
            rc = s_seal(ctx, &a.fields, holder_key, &sealed, &sealed_size);
        if (rc == 0) {
            ec_change_body_t b;
            memcpy(b.cert_id, res.id, sizeof b.cert_id);
            cl_fields_root(b.fields_root, &a.fields);
            ec_writer_t body;
            ec_writer_init(&body);
            ec_change_body_encode(&body, &b);
            rc = s_submit_side(ctx, side, EC_STX_CHANGE, &body, sealed, sealed_size, &cred_res);
            ec_writer_fini(&body);
        }
        free(sealed);
        if (rc) { /* the ISSUE stands: say so, or the agency would issue it twice */
            char hex[2 * EC_HASH_BYTES + 1], *why = strdup(ctx->err_msg);
            ec_hex(hex, res.id, sizeof res.id);
            cl_fail(ctx, ctx->err_code,
                    "certificate %s WAS issued, but its credentials were not sent (%s): "
                    "send them with 'ecert cert change --cert %s --credentials' and the same "
                    "fields",
                    hex, why ? why : "see above", hex);
            free(why);
        }
    }
    size_t field_count = a.fields.count;
    cl_fields_fini(&a.fields);
    if (rc)
        return rc;
    char hex[2 * EC_HASH_BYTES + 1];
    ec_hex(hex, res.id, sizeof res.id);
    cl_out(ctx, "certificate %s\n  type %s, holder %s, org %s, height %llu, %zu field%s\n", hex,
           a.type, a.holder, a.org, (unsigned long long)res.height, field_count,
           field_count == 1 ? "" : "s");
    json_t *obj = json_pack("{s:s,s:s,s:s,s:s,s:I}", "cert_id", hex, "type", a.type, "holder",
                            a.holder, "org_code", a.org, "field_count", (json_int_t)field_count);
    if (a.credentials) {
        char cred_hex[2 * EC_HASH_BYTES + 1];
        ec_hex(cred_hex, cred_res.id, sizeof cred_res.id);
        cl_out(ctx, "  credentials sent in CHANGE %s (height %llu)\n", cred_hex,
               (unsigned long long)cred_res.height);
        json_object_set_new(obj, "credentials_tx", json_string(cred_hex));
    }
    return cl_emit_txres(ctx, obj, &res);
}

/* ---- inspect ---------------------------------------------------------------------------- */

static const char s_help_inspect[] =
    "usage: ecert cert inspect --key INSPECTOR --type TYPE --holder ADDR --org CODE\n"
    "                          --cert TXHASH --verdict TEXT\n"
    "                          [--field NAME=VALUE ...] [--data FILE] [--attachment FILE]\n\n"
    "Records an inspection of a certificate (INSPECT, signed by an inspection agency of\n"
    "TYPE and CODE). The verdict is public; optional fields are sealed to the holder.\n\n"
    "Options:\n"
    "  --type TYPE            certificate type\n"
    "  --holder ADDR          the certificate's holder\n"
    "  --org CODE             the inspecting organization's code\n"
    "  --cert TXHASH          the certificate id\n"
    "  --verdict TEXT         the outcome, e.g. \"valid\" (1..255 bytes)\n" S_FIELD_OPTS
    "\nExample:\n  ecert cert inspect --key csc-inspector.key --type degree --holder ec1q... "
    "--org 12100000717800702X --cert 3fa9...c2d1 --verdict valid\n" CL_GLOBAL_NOTE;

int cmd_cert_inspect(cl_ctx_t *ctx, int argc, char **argv)
{
    s_args_t a = {0}; /* per call: nothing of an earlier invocation survives */
    cl_chain_t *side = NULL;
    int rc = s_start(ctx, argc, argv, "type holder org cert verdict fields",
                     "type holder org cert verdict", s_help_inspect, &a, true, &side);
    if (rc >= 0)
        return rc;
    uint8_t *sealed = NULL;
    size_t sealed_size = 0;
    rc = a.fields_given ? s_seal_to(ctx, &a.fields, a.holder, &sealed, &sealed_size, NULL) : 0;
    cl_txres_t res;
    if (rc == 0) {
        ec_inspect_body_t b = {.verdict_len = strlen(a.verdict)}; /* checked by s_start */
        snprintf(b.holder, sizeof b.holder, "%s", a.holder);
        snprintf(b.org_code, sizeof b.org_code, "%s", a.org);
        memcpy(b.cert_id, a.cert, sizeof a.cert);
        memcpy(b.verdict, a.verdict, b.verdict_len + 1);
        ec_writer_t body;
        ec_writer_init(&body);
        ec_inspect_body_encode(&body, &b);
        rc = s_submit_side(ctx, side, EC_STX_INSPECT, &body, sealed, sealed_size, &res);
        ec_writer_fini(&body);
    }
    free(sealed);
    cl_fields_fini(&a.fields);
    if (rc)
        return rc;
    char hex[2 * EC_HASH_BYTES + 1];
    ec_hex(hex, a.cert, sizeof a.cert);
    cl_out(ctx, "inspection of certificate %s recorded: %s\n", hex, a.verdict);
    json_t *obj =
        json_pack("{s:s,s:s,s:s}", "cert_id", hex, "org_code", a.org, "verdict", a.verdict);
    return cl_emit_txres(ctx, obj, &res);
}

/* ---- get -------------------------------------------------------------------------------- */

static const char s_help_get[] =
    "usage: ecert cert get --type TYPE --tx TXHASH [--holder ADDR] [--height H]\n"
    "                      [--key HOLDER_KEY] [--proof FILE [--wait-ms N]]\n\n"
    "Shows a certificate: issuing organization code, status (issued, acknowledged,\n"
    "suspended, revoked, cancelled; expired is computed now from its expiry), issuer,\n"
    "expiry, number of inspections and of history entries. The id alone finds it; a holder\n"
    "or issue height given must match what the chain has. With the holder's key the sealed\n"
    "contents are decrypted, checked against fields_root, and the fields printed; without\n"
    "it they stay encrypted to the holder. --proof also writes the proof bundle of its\n"
    "ISSUE (as 'ecert cert proof' does), to check offline with 'ecert verify'.\n\n"
    "Options:\n"
    "  --type TYPE       certificate type\n"
    "  --tx TXHASH       the certificate id (the ISSUE transaction hash; --cert works too)\n"
    "  --holder ADDR     the holder's address, checked when given\n"
    "  --height H        the block height it was issued at, checked when given\n"
    "  --key FILE        the holder's key file, to decrypt the contents\n"
    "  --proof FILE      write the ISSUE's proof bundle to FILE\n"
    "  --wait-ms N       for --proof: how long to wait for anchoring (default 10000)\n"
    "\nExample:\n  ecert cert get --type degree --tx 3fa9...c2d1 --key zhangwei.key "
    "--proof degree.proof\n" CL_GLOBAL_NOTE;

int cmd_cert_get(cl_ctx_t *ctx, int argc, char **argv)
{
    s_args_t a = {0}; /* per call: nothing of an earlier invocation survives */
    cl_chain_t *side = NULL;
    int rc = s_start(ctx, argc, argv, "type holder height tx cert proof wait-ms", "type cert tx",
                     s_help_get, &a, false, &side);
    if (rc >= 0)
        return rc;
    cl_cert_t c;
    ec_rpc_reply_t reply;
    if (cl_cert_fetch(ctx, side, a.cert, &c, &reply))
        return 1;
    char id_hex[2 * EC_HASH_BYTES + 1], root_hex[2 * EC_HASH_BYTES + 1], issuer[EC_ADDR_MAX];
    ec_hex(id_hex, c.id, sizeof c.id);
    ec_hex(root_hex, c.fields_root, sizeof c.fields_root);
    ec_address_from_pk(issuer, c.issuer);
    if (a.holder && strcmp(c.holder, a.holder) != 0) {
        ec_rpc_reply_fini(&reply);
        return cl_fail(ctx, EC_ENOTFOUND, "certificate %s belongs to %s, not to %s", id_hex,
                       c.holder, a.holder);
    }
    if (a.has_height && c.height != a.height) {
        ec_rpc_reply_fini(&reply);
        return cl_fail(ctx, EC_ENOTFOUND,
                       "certificate %s was issued at height %llu, not at height %llu", id_hex,
                       (unsigned long long)c.height, (unsigned long long)a.height);
    }
    if (ctx->key_path) {
        /* Refuse a key that is not the holder's before printing anything (no passphrase
         * needed to read a key file's public key). */
        uint8_t pk[EC_PK_BYTES];
        char key_addr[EC_ADDR_MAX];
        int krc = cl_key_file_pk(ctx, ctx->key_path, pk);
        if (krc == 0)
            ec_address_from_pk(key_addr, pk);
        /* A key that replaced the holder's (or was replaced) is the holder's too: data is
         * sealed to the key the account signed with when it was written. */
        char state[16];
        if (krc == 0 && strcmp(key_addr, c.holder) != 0 &&
            cl_signer_get(ctx, pk, key_addr, state) != 0)
            cl_clear_error(ctx); /* a key no account has: said just below */
        if (krc == 0 && strcmp(key_addr, c.holder) != 0)
            krc = cl_fail(ctx, EC_ECRYPTO,
                          "key %s belongs to %s, not to the holder %s: it cannot decrypt",
                          ctx->key_path, key_addr, c.holder);
        if (krc) {
            ec_rpc_reply_fini(&reply);
            return 1;
        }
    }
    char expires[40] = "never";
    if (c.expires_ms)
        cl_format_time(expires, sizeof expires, c.expires_ms);
    bool expired = c.expires_ms && c.expires_ms < cl_now_ms();
    cl_out(ctx,
           "certificate  %s\ntype         %s (chain %s)\nholder       %s\norganization %s\n"
           "issuer       %s\nissued at    height %llu\nstatus       %s%s\nexpires      %s\n"
           "inspections  %llu\nhistory      %llu entries ('ecert cert history')\n"
           "fields_root  %s\n",
           id_hex, a.type, side->chain_id, c.holder, c.org_code, issuer,
           (unsigned long long)c.height, c.status, expired ? " (expired)" : "", expires,
           (unsigned long long)c.inspections, (unsigned long long)c.history, root_hex);
    if (c.updated_height != c.height)
        cl_out(ctx, "updated at   height %llu\n", (unsigned long long)c.updated_height);
    cl_out(ctx, "authorized   by the issuer's role as of main-chain height %llu\n",
           (unsigned long long)c.auth_height);
    json_t *obj =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:I,s:I,s:I,s:s}", "cert_id", id_hex, "type",
                  a.type, "chain_id", side->chain_id, "holder", c.holder, "org_code", c.org_code,
                  "issuer", issuer, "height", (json_int_t)c.height, "status", c.status,
                  "expires_ms", (json_int_t)c.expires_ms, "inspections", (json_int_t)c.inspections,
                  "updated_height", (json_int_t)c.updated_height, "fields_root", root_hex);
    json_object_set_new(obj, "auth_main_height", json_integer((json_int_t)c.auth_height));
    json_object_set_new(obj, "expired", json_boolean(expired));
    json_object_set_new(obj, "status_slot", json_integer((json_int_t)c.slot));
    json_object_set_new(obj, "history", json_integer((json_int_t)c.history));
    rc = 0;
    if (c.erased || c.payload_size == 0) {
        /* An authorized erasure removed the personal data; the hashes remain. */
        cl_out(ctx, "content      erased (only fields_root remains)\n");
        json_object_set_new(obj, "erased", json_true());
    } else if (ctx->key_path) {
        ec_key_t *key = cl_key_load(ctx, NULL);
        rc = key ? cl_cert_show_fields(ctx, key, c.payload, c.payload_size, c.fields_root, obj) : 1;
        ec_key_destroy(&key);
    } else {
        cl_out(ctx,
               "content      encrypted to the holder (%zu bytes; give --key HOLDER_KEY to "
               "read it)\n",
               c.payload_size);
        json_object_set_new(obj, "encrypted", json_true());
    }
    ec_rpc_reply_fini(&reply);
    if (rc == 0 && a.proof) {
        rc = cl_proof_write(ctx, side, c.id, a.proof, a.wait_ms ? a.wait_ms : 10000);
        if (rc == 0) {
            cl_out(ctx, "proof        written to %s ('ecert verify --bundle %s')\n", a.proof,
                   a.proof);
            json_object_set_new(obj, "proof", json_string(a.proof));
        }
    }
    if (rc) {
        json_decref(obj);
        return rc;
    }
    return cl_emit(ctx, obj);
}

/* ---- list ------------------------------------------------------------------------------- */

static const char s_help_list[] =
    "usage: ecert cert list --type TYPE --holder ADDR\n\n"
    "Lists a holder's certificates of one type, in issue order: id, height, organization\n"
    "code, status.\n\n"
    "Options:\n"
    "  --type TYPE     certificate type\n"
    "  --holder ADDR   the holder's address\n"
    "\nExample:\n  ecert cert list --type degree --holder ec1q...\n" CL_GLOBAL_NOTE;

#define S_LIST_PAGE 1000

void cl_holder_certs_fini(cl_holder_certs_t *l)
{
    free(l->items);
    memset(l, 0, sizeof *l);
}

int cl_holder_certs_get(cl_ctx_t *ctx, cl_chain_t *side, const char *holder, cl_holder_certs_t *l)
{
    memset(l, 0, sizeof *l);
    for (;;) {
        ec_writer_t args;
        ec_writer_init(&args);
        ec_write_array(&args, 3);
        ec_write_cstr(&args, holder);
        if (l->count)
            ec_write_bin(&args, l->items[l->count - 1].id, EC_HASH_BYTES);
        else
            ec_write_nil(&args);
        ec_write_uint(&args, S_LIST_PAGE);
        ec_rpc_reply_t reply;
        int rc = cl_query(ctx, side, "certs_by_holder", &args, &reply, 0);
        ec_writer_fini(&args);
        if (rc) {
            cl_holder_certs_fini(l);
            return rc;
        }
        ec_cur_t c;
        ec_cur_open_max(&c, reply.result, S_LIST_PAGE);
        uint32_t n = c.err ? 0 : c.count;
        cl_holder_cert_t *more = n ? realloc(l->items, (l->count + n) * sizeof *more) : l->items;
        if (n && !more) {
            ec_rpc_reply_fini(&reply);
            cl_holder_certs_fini(l);
            return cl_fail(ctx, EC_ENOMEM, "out of memory");
        }
        l->items = more;
        for (uint32_t i = 0; i < n && !c.err; i++) {
            cl_holder_cert_t *x = &l->items[l->count];
            ec_cur_t e;
            ec_cur_enter(&c, &e, 4);
            ec_cur_bin_fixed(&e, x->id, sizeof x->id);
            ec_cur_uint(&e, &x->height);
            ec_cur_str_copy(&e, x->org_code, sizeof x->org_code);
            ec_cur_str_copy(&e, x->status, sizeof x->status);
            ec_cur_fold(&c, &e);
            if (!c.err)
                l->count++;
        }
        rc = ec_cur_finish(&c);
        ec_rpc_reply_fini(&reply);
        if (rc) {
            cl_holder_certs_fini(l);
            return cl_garbled(ctx, side, "query certs_by_holder");
        }
        if (n < S_LIST_PAGE)
            return 0;
    }
}

int cmd_cert_list(cl_ctx_t *ctx, int argc, char **argv)
{
    s_args_t a = {0}; /* per call: nothing of an earlier invocation survives */
    cl_chain_t *side = NULL;
    int rc = s_start(ctx, argc, argv, "type holder", "type holder", s_help_list, &a, false, &side);
    if (rc >= 0)
        return rc;
    cl_holder_certs_t l;
    if ((rc = cl_holder_certs_get(ctx, side, a.holder, &l)) != 0)
        return rc;
    json_t *list = json_array();
    if (l.count)
        cl_out(ctx, "%-64s  %8s  %-20s  %s\n", "certificate", "height", "organization", "status");
    for (size_t i = 0; i < l.count; i++) {
        const cl_holder_cert_t *x = &l.items[i];
        char hex[2 * EC_HASH_BYTES + 1];
        ec_hex(hex, x->id, sizeof x->id);
        cl_out(ctx, "%s  %8llu  %-20s  %s\n", hex, (unsigned long long)x->height, x->org_code,
               x->status);
        json_array_append_new(list, json_pack("{s:s,s:I,s:s,s:s}", "cert_id", hex, "height",
                                              (json_int_t)x->height, "org_code", x->org_code,
                                              "status", x->status));
    }
    if (l.count == 0)
        cl_out(ctx, "no %s certificates for %s\n", a.type, a.holder);
    cl_holder_certs_fini(&l);
    return cl_emit(
        ctx, json_pack("{s:s,s:s,s:o}", "type", a.type, "holder", a.holder, "certificates", list));
}

/* ---- ack / renew / change / revoke ------------------------------------------------------ */

static const char s_help_ack[] =
    "usage: ecert cert ack --key HOLDER --type TYPE --cert TXHASH\n\n"
    "The holder acknowledges receiving a certificate (ACK, signed by the holder).\n\n"
    "Options:\n"
    "  --type TYPE     certificate type\n"
    "  --cert TXHASH   the certificate id\n"
    "\nExample:\n  ecert cert ack --key zhangwei.key --type degree --cert "
    "3fa9...c2d1\n" CL_GLOBAL_NOTE;

static const char s_help_renew[] =
    "usage: ecert cert renew --key ISSUER --type TYPE --cert TXHASH --expires-ms N\n\n"
    "Sets a new expiry (RENEW, signed by an issuing agency of the certificate's\n"
    "organization).\n\n"
    "Options:\n"
    "  --type TYPE       certificate type\n"
    "  --cert TXHASH     the certificate id\n"
    "  --expires-ms N    new expiry, ms since the Unix epoch (0: never)\n"
    "\nExample:\n  ecert cert renew --key pku-issuer.key --type degree --cert 3fa9...c2d1 "
    "--expires-ms 1893456000000\n" CL_GLOBAL_NOTE;

static const char s_help_change[] =
    "usage: ecert cert change --key ISSUER --type TYPE --cert TXHASH\n"
    "                         (--field NAME=VALUE ... | --data FILE) [--attachment FILE]\n"
    "                         [--credentials [--status-url BASE] [--wait-ms N]]\n\n"
    "Replaces a certificate's contents (CHANGE, signed by an issuing agency of its\n"
    "organization): the new fields are sealed to the holder and their root recorded. Give\n"
    "every field again: the new set replaces the old one.\n\n"
    "Options:\n"
    "  --type TYPE            certificate type\n"
    "  --cert TXHASH          the certificate id\n" S_FIELD_OPTS
    "  --credentials          also sign the new contents as a W3C VC 2.0 and an SD-JWT VC\n"
    "                         for 'ecert export' (only the key that issued the certificate)\n"
    "  --status-url BASE      where the status list credentials are served (see cert issue)\n"
    "  --wait-ms N            how long to wait for the ISSUE's proof (default 60000)\n"
    "\nExample:\n  ecert cert change --key pku-issuer.key --type degree --cert 3fa9...c2d1 "
    "--field degree=\"Master of Science\" --field major=\"Applied Physics\"\n" CL_GLOBAL_NOTE;

static const char s_help_revoke[] =
    "usage: ecert cert revoke --key ISSUER --type TYPE --cert TXHASH --reason TEXT\n\n"
    "Revokes a certificate (REVOKE, signed by an issuing agency of its organization). A\n"
    "revoked certificate cannot be renewed or changed.\n\n"
    "Options:\n"
    "  --type TYPE       certificate type\n"
    "  --cert TXHASH     the certificate id\n"
    "  --reason TEXT     why (1..255 bytes; public)\n"
    "\nExample:\n  ecert cert revoke --key pku-issuer.key --type degree --cert 3fa9...c2d1 "
    "--reason \"issued in error\"\n" CL_GLOBAL_NOTE;

static const char s_help_erase[] =
    "usage: ecert cert erase --key HOLDER_OR_ISSUER --type TYPE --cert TXHASH --reason TEXT\n\n"
    "Erases a certificate's contents (ERASE, signed by the holder or by an issuing agency of\n"
    "its organization): every sealed payload of the certificate (issue, changes, inspection\n"
    "reports) is deleted from the chain's nodes. The hashes stay, so blocks and proofs still\n"
    "verify; the certificate's status, fields_root and history remain, and it can take no new\n"
    "contents (no change, no inspection report). Erasing cannot be undone.\n\n"
    "Options:\n"
    "  --type TYPE       certificate type\n"
    "  --cert TXHASH     the certificate id\n"
    "  --reason TEXT     why (1..255 bytes; public: put no personal data here)\n"
    "\nExample:\n  ecert cert erase --key zhangwei.key --type degree --cert 3fa9...c2d1 "
    "--reason \"right to erasure\"\n" CL_GLOBAL_NOTE;

static const char s_help_suspend[] =
    "usage: ecert cert suspend --key ISSUER --type TYPE --cert TXHASH [--reason TEXT]\n\n"
    "Suspends a certificate (SUSPEND, signed by an issuing agency of its organization): it\n"
    "stops verifying as valid, and the chain's status list says so, until 'cert reinstate'.\n\n"
    "Options:\n"
    "  --type TYPE       certificate type\n"
    "  --cert TXHASH     the certificate id\n"
    "  --reason TEXT     why (0..255 bytes; public)\n"
    "\nExample:\n  ecert cert suspend --key pku-issuer.key --type degree --cert 3fa9...c2d1 "
    "--reason \"under review\"\n" CL_GLOBAL_NOTE;

static const char s_help_reinstate[] =
    "usage: ecert cert reinstate --key ISSUER --type TYPE --cert TXHASH [--reason TEXT]\n\n"
    "Lifts a suspension (REINSTATE, signed by an issuing agency of the certificate's\n"
    "organization): the certificate is in force again, with the status it had before.\n\n"
    "Options:\n"
    "  --type TYPE       certificate type\n"
    "  --cert TXHASH     the certificate id\n"
    "  --reason TEXT     why (0..255 bytes; public)\n"
    "\nExample:\n  ecert cert reinstate --key pku-issuer.key --type degree --cert "
    "3fa9...c2d1\n" CL_GLOBAL_NOTE;

static const char s_help_cancel[] =
    "usage: ecert cert cancel --key HOLDER_OR_ISSUER --type TYPE --cert TXHASH [--reason TEXT]\n\n"
    "Cancels a certificate at its holder's or its issuing agency's request (CANCEL, signed\n"
    "by the holder or by an issuing agency of its organization). Like a revocation it is\n"
    "final; unlike one it says nothing was wrong with the certificate.\n\n"
    "Options:\n"
    "  --type TYPE       certificate type\n"
    "  --cert TXHASH     the certificate id\n"
    "  --reason TEXT     why (0..255 bytes; public: put no personal data here)\n"
    "\nExample:\n  ecert cert cancel --key zhangwei.key --type degree --cert 3fa9...c2d1 "
    "--reason \"no longer needed\"\n" CL_GLOBAL_NOTE;

/* Writes the body of a follow-up transaction (ACK, RENEW, CHANGE, REVOKE, ERASE, SUSPEND,
 * REINSTATE, CANCEL) from the checked options into w. */
static void s_followup_body(ec_writer_t *w, uint64_t stx, const s_args_t *a)
{
    if (stx == EC_STX_ACK) {
        ec_ack_body_t b;
        memcpy(b.cert_id, a->cert, sizeof b.cert_id);
        ec_ack_body_encode(w, &b);
    } else if (stx == EC_STX_RENEW) {
        ec_renew_body_t b = {.expires_ms = a->expires_ms};
        memcpy(b.cert_id, a->cert, sizeof b.cert_id);
        ec_renew_body_encode(w, &b);
    } else if (stx == EC_STX_CHANGE) {
        ec_change_body_t b;
        memcpy(b.cert_id, a->cert, sizeof b.cert_id);
        cl_fields_root(b.fields_root, &a->fields);
        ec_change_body_encode(w, &b);
    } else {
        /* The rest carry a reason, checked to be at most EC_REASON_MAX-1 bytes (1 at least
         * for REVOKE and ERASE); the three status changes may go without. */
        const char *reason = a->reason ? a->reason : "";
        ec_revoke_body_t b = {.reason_len = strlen(reason)};
        assert(b.reason_len < sizeof b.reason);
        memcpy(b.cert_id, a->cert, sizeof b.cert_id);
        memcpy(b.reason, reason, b.reason_len + 1);
        if (stx == EC_STX_ERASE)
            ec_erase_body_encode(w, &b);
        else
            ec_revoke_body_encode(w, &b);
    }
}

/* The follow-up transactions share their shape: [cert_id, one more value]. */
static int s_followup(cl_ctx_t *ctx, int argc, char **argv, uint64_t stx)
{
    const char *help = stx == EC_STX_ACK         ? s_help_ack
                       : stx == EC_STX_RENEW     ? s_help_renew
                       : stx == EC_STX_CHANGE    ? s_help_change
                       : stx == EC_STX_ERASE     ? s_help_erase
                       : stx == EC_STX_SUSPEND   ? s_help_suspend
                       : stx == EC_STX_REINSTATE ? s_help_reinstate
                       : stx == EC_STX_CANCEL    ? s_help_cancel
                                                 : s_help_revoke;
    bool reasoned = stx == EC_STX_REVOKE || stx == EC_STX_ERASE; /* a reason required */
    bool may_reason =
        reasoned || stx == EC_STX_SUSPEND || stx == EC_STX_REINSTATE || stx == EC_STX_CANCEL;
    s_args_t a = {0}; /* per call: nothing of an earlier invocation survives */
    const char *need = stx == EC_STX_RENEW    ? "type cert expires"
                       : stx == EC_STX_CHANGE ? "type cert fields"
                                              : "type cert";
    int rc = s_start(ctx, argc, argv,
                     stx == EC_STX_CHANGE ? "type cert fields credentials status-url wait-ms"
                                          : "type cert expires-ms reason fields",
                     need, help, &a, false, NULL);
    if (rc >= 0)
        return rc;
    rc = 0;
    /* Options that belong to another of the five are mistakes, not silently ignored. */
    if (rc == 0 && a.has_expires && stx != EC_STX_RENEW)
        rc = cl_usage(ctx, "--expires-ms is only for 'cert renew'");
    if (rc == 0 && a.fields_given && stx != EC_STX_CHANGE)
        rc = cl_usage(ctx, "--field/--data/--attachment are only for 'cert change'");
    if (rc == 0 && a.reason && !may_reason)
        rc = cl_usage(ctx, "--reason is not for 'cert %s'",
                      stx == EC_STX_ACK     ? "ack"
                      : stx == EC_STX_RENEW ? "renew"
                                            : "change");
    if (rc == 0 && reasoned && (!a.reason || !*a.reason || strlen(a.reason) >= EC_REASON_MAX))
        rc = a.reason ? cl_usage(ctx, "--reason must be 1..%d bytes", EC_REASON_MAX - 1)
                      : cl_missing(ctx, "--reason");
    if (rc == 0 && a.reason && strlen(a.reason) >= EC_REASON_MAX)
        rc = cl_usage(ctx, "--reason must be at most %d bytes", EC_REASON_MAX - 1);
    cl_chain_t *side = s_find_side(ctx, &a, true, &rc);
    ec_writer_t body;
    ec_writer_init(&body);
    uint8_t *sealed = NULL;
    size_t sealed_size = 0;
    if (rc == 0 && stx == EC_STX_CHANGE) {
        /* The new contents are sealed to the certificate's holder. */
        cl_cert_t c;
        ec_rpc_reply_t reply;
        rc = cl_cert_fetch(ctx, side, a.cert, &c, &reply);
        uint8_t holder_key[EC_PK_BYTES];
        if (rc == 0) {
            ec_rpc_reply_fini(&reply);
            rc = s_seal_to(ctx, &a.fields, c.holder, &sealed, &sealed_size, holder_key);
        }
        if (rc == 0 && a.credentials) { /* sealed again, with the credentials inside */
            free(sealed);
            sealed = NULL;
            rc = s_credentials(ctx, side, &a, a.cert, holder_key, &a.fields);
            if (rc == 0)
                rc = s_seal(ctx, &a.fields, holder_key, &sealed, &sealed_size);
        }
    }
    cl_txres_t res;
    if (rc == 0) {
        s_followup_body(&body, stx, &a);
        rc = s_submit_side(ctx, side, stx, &body, sealed, sealed_size, &res);
    }
    ec_writer_fini(&body);
    free(sealed);
    cl_fields_fini(&a.fields);
    if (rc)
        return rc;
    char hex[2 * EC_HASH_BYTES + 1];
    ec_hex(hex, a.cert, sizeof a.cert);
    const char *done = stx == EC_STX_ACK         ? "acknowledged"
                       : stx == EC_STX_RENEW     ? "renewed"
                       : stx == EC_STX_CHANGE    ? "changed"
                       : stx == EC_STX_ERASE     ? "erased (its contents are deleted; hashes stay)"
                       : stx == EC_STX_SUSPEND   ? "suspended"
                       : stx == EC_STX_REINSTATE ? "reinstated"
                       : stx == EC_STX_CANCEL    ? "cancelled"
                                                 : "revoked";
    cl_out(ctx, "certificate %s %s\n", hex, done);
    json_t *obj =
        json_pack("{s:s,s:s}", "cert_id", hex, "action", stx == EC_STX_ERASE ? "erased" : done);
    if (stx == EC_STX_RENEW)
        json_object_set_new(obj, "expires_ms", json_integer((json_int_t)a.expires_ms));
    return cl_emit_txres(ctx, obj, &res);
}

int cmd_cert_ack(cl_ctx_t *ctx, int argc, char **argv)
{
    return s_followup(ctx, argc, argv, EC_STX_ACK);
}

int cmd_cert_renew(cl_ctx_t *ctx, int argc, char **argv)
{
    return s_followup(ctx, argc, argv, EC_STX_RENEW);
}

int cmd_cert_change(cl_ctx_t *ctx, int argc, char **argv)
{
    return s_followup(ctx, argc, argv, EC_STX_CHANGE);
}

int cmd_cert_revoke(cl_ctx_t *ctx, int argc, char **argv)
{
    return s_followup(ctx, argc, argv, EC_STX_REVOKE);
}

int cmd_cert_erase(cl_ctx_t *ctx, int argc, char **argv)
{
    return s_followup(ctx, argc, argv, EC_STX_ERASE);
}

int cmd_cert_suspend(cl_ctx_t *ctx, int argc, char **argv)
{
    return s_followup(ctx, argc, argv, EC_STX_SUSPEND);
}

int cmd_cert_reinstate(cl_ctx_t *ctx, int argc, char **argv)
{
    return s_followup(ctx, argc, argv, EC_STX_REINSTATE);
}

int cmd_cert_cancel(cl_ctx_t *ctx, int argc, char **argv)
{
    return s_followup(ctx, argc, argv, EC_STX_CANCEL);
}

/* ---- history ---------------------------------------------------------------------------- */

static const char s_help_history[] =
    "usage: ecert cert history --type TYPE --cert TXHASH\n\n"
    "Lists every transaction applied to a certificate, in order: its issue, and each\n"
    "acknowledgement, inspection, renewal, change, suspension, reinstatement, cancellation,\n"
    "revocation and erasure, with the block height and transaction hash of each. Versions\n"
    "count the contents and validity the certificate had: 1 at issue, one more at each\n"
    "renewal or change. 'ecert cert proof --tx HASH' proves any entry offline.\n\n"
    "Options:\n"
    "  --type TYPE     certificate type\n"
    "  --cert TXHASH   the certificate id (--tx works too)\n"
    "\nExample:\n  ecert cert history --type degree --cert 3fa9...c2d1\n" CL_GLOBAL_NOTE;

void cl_history_fini(cl_history_t *h)
{
    free(h->items);
    memset(h, 0, sizeof *h);
}

int cl_history_get(cl_ctx_t *ctx, cl_chain_t *side, const uint8_t id[EC_HASH_BYTES],
                   cl_history_t *h)
{
    memset(h, 0, sizeof *h);
    char id_hex[2 * EC_HASH_BYTES + 1];
    ec_hex(id_hex, id, EC_HASH_BYTES);
    uint64_t version = 0;
    for (;;) {
        ec_writer_t args;
        ec_writer_init(&args);
        ec_write_array(&args, 2);
        ec_write_bin(&args, id, EC_HASH_BYTES);
        ec_write_uint(&args, h->count);
        ec_rpc_reply_t reply;
        int rc = cl_query(ctx, side, "cert_history", &args, &reply, EC_ENOTFOUND);
        ec_writer_fini(&args);
        if (rc == EC_ENOTFOUND)
            rc = cl_fail(ctx, EC_ENOTFOUND, "no certificate %s on %s (%s)", id_hex, side->chain_id,
                         side->type);
        if (rc) {
            cl_history_fini(h);
            return rc;
        }
        ec_cur_t c;
        ec_cur_open_max(&c, reply.result, S_LIST_PAGE);
        uint32_t n = c.err ? 0 : c.count;
        cl_history_entry_t *more = n ? realloc(h->items, (h->count + n) * sizeof *more) : h->items;
        if (n && !more) {
            ec_rpc_reply_fini(&reply);
            cl_history_fini(h);
            return cl_fail(ctx, EC_ENOMEM, "out of memory");
        }
        h->items = more;
        for (uint32_t i = 0; i < n && !c.err; i++) {
            ec_cur_t e;
            cl_history_entry_t *x = &h->items[h->count];
            uint64_t seq = 0;
            ec_cur_enter(&c, &e, 4);
            ec_cur_uint(&e, &seq);
            ec_cur_uint(&e, &x->type);
            ec_cur_uint(&e, &x->height);
            ec_cur_bin_fixed(&e, x->tx, sizeof x->tx);
            ec_cur_fold(&c, &e);
            if (!c.err && seq != h->count)
                ec_cur_fail(&c, EC_EINVAL);
            if (c.err)
                break;
            if (x->type == EC_STX_ISSUE || x->type == EC_STX_RENEW || x->type == EC_STX_CHANGE)
                version++;
            x->version = version;
            h->count++;
        }
        rc = ec_cur_finish(&c);
        ec_rpc_reply_fini(&reply);
        if (rc || h->count == 0) {
            cl_history_fini(h);
            return cl_garbled(ctx, side, "query cert_history");
        }
        if (n < S_LIST_PAGE)
            return 0;
    }
}

int cmd_cert_history(cl_ctx_t *ctx, int argc, char **argv)
{
    s_args_t a = {0}; /* per call: nothing of an earlier invocation survives */
    cl_chain_t *side = NULL;
    int rc =
        s_start(ctx, argc, argv, "type cert tx", "type cert", s_help_history, &a, false, &side);
    if (rc >= 0)
        return rc;
    cl_history_t h;
    if ((rc = cl_history_get(ctx, side, a.cert, &h)) != 0)
        return rc;
    char id_hex[2 * EC_HASH_BYTES + 1];
    ec_hex(id_hex, a.cert, sizeof a.cert);
    cl_out(ctx, "history of certificate %s (%s)\n%4s  %-9s  %7s  %8s  %s\n", id_hex, side->chain_id,
           "#", "action", "version", "height", "transaction");
    json_t *list = json_array();
    for (size_t i = 0; i < h.count; i++) {
        const cl_history_entry_t *x = &h.items[i];
        char tx_hex[2 * EC_HASH_BYTES + 1];
        ec_hex(tx_hex, x->tx, sizeof x->tx);
        const char *name = ec_tx_type_name(EC_CHAIN_SIDE, x->type);
        cl_out(ctx, "%4zu  %-9s  %7llu  %8llu  %s\n", i, name, (unsigned long long)x->version,
               (unsigned long long)x->height, tx_hex);
        json_array_append_new(list, json_pack("{s:I,s:s,s:I,s:I,s:s}", "seq", (json_int_t)i,
                                              "action", name, "version", (json_int_t)x->version,
                                              "height", (json_int_t)x->height, "tx", tx_hex));
    }
    cl_history_fini(&h);
    return cl_emit(ctx, json_pack("{s:s,s:s,s:o}", "cert_id", id_hex, "chain_id", side->chain_id,
                                  "history", list));
}
