/*
 * cmd_present.c - private presentation at the counter (cl_present.h):
 *   `ecert verifier request`   the verifier's signed request (fields wanted, fresh nonce,
 *                              short expiry), as a file and/or a QR code;
 *   `ecert present`            the holder checks who asks (an inspection agency of the
 *                              type, on the main chain) and answers with the chosen fields
 *                              of a certificate, its ISSUE proof and optionally a status
 *                              list, signed with the holder's key;
 *   `ecert verify-presentation` the verifier checks the answer offline against its own
 *                              request and the main genesis, once per request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cl_commands.h"
#include "cl_present.h"
#include "cl_qr.h"
#include "ec_slist.h"

#define S_VALID_S_DEFAULT 300 /* how long a request stays valid by default            */
#define S_VALID_S_MAX 86400
#define S_ANSWERED_SUFFIX ".answered"

/* Splits a comma-separated list of field names into names (at most max). 0 or 2. */
static int s_split_fields(cl_ctx_t *ctx, const char *list, char (*names)[CL_FIELD_NAME_MAX + 1],
                          uint32_t max, uint32_t *count)
{
    *count = 0;
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0 || n > CL_FIELD_NAME_MAX)
            return cl_usage(ctx, "--fields: names of 1..%d bytes, separated by commas",
                            CL_FIELD_NAME_MAX);
        if (*count == max)
            return cl_usage(ctx, "--fields: at most %u names", max);
        memcpy(names[*count], p, n);
        names[*count][n] = '\0';
        for (uint32_t i = 0; i < *count; i++)
            if (strcmp(names[i], names[*count]) == 0)
                return cl_usage(ctx, "--fields: '%s' twice", names[i]);
        (*count)++;
        p = end ? end + 1 : p + n;
    }
    return *count ? 0 : cl_usage(ctx, "--fields: name at least one field");
}

/* Writes bytes to a file and/or as a QR code. 0 or 1 (recorded). */
static int s_write_out(cl_ctx_t *ctx, const char *out, const char *qr, const uint8_t *data,
                       size_t size, const char *what)
{
    if (out && cl_write_file(ctx, out, data, size))
        return 1;
    ec_status_t st = {0};
    if (qr && cl_qr_write_png(qr, data, size, &st) != 0)
        return st.code == EC_ETOOBIG ? cl_fail(ctx, EC_ETOOBIG,
                                               "the %s (%zu bytes) is too big for a QR code: "
                                               "use --out alone",
                                               what, size)
                                     : cl_fail_st(ctx, &st, NULL);
    return 0;
}

/* Reads bytes from a file or a QR code picture (exactly one given). 0, 1 or 2. */
static int s_read_in(cl_ctx_t *ctx, const char *file, const char *qr, size_t max, const char *what,
                     uint8_t **data, size_t *size)
{
    if (!file == !qr)
        return cl_usage(ctx, "give the %s as a file or as a QR code picture, one of them", what);
    if (file)
        return cl_read_file(ctx, file, max, data, size);
    ec_status_t st = {0};
    if (cl_qr_read_png(qr, data, size, &st) != 0)
        return cl_fail_st(ctx, &st, NULL);
    if (*size > max) {
        free(*data);
        *data = NULL;
        return cl_fail(ctx, EC_ETOOBIG, "the %s in %s is too big", what, qr);
    }
    return 0;
}

/* ---- verifier request ---------------------------------------------------------------------- */

static const char s_help_request[] =
    "usage: ecert verifier request --key VERIFIER_KEY --type TYPE --fields NAME[,NAME...]\n"
    "                              (--out FILE | --qr FILE.png | both) [--valid-s N]\n\n"
    "Makes a verifier's request for a holder to present a certificate of TYPE with the\n"
    "named fields: it names the verifier (its key signs it), the side chain, the fields,\n"
    "a fresh random nonce and an expiry. Show it to the holder as a QR code; keep the file:\n"
    "'ecert verify-presentation --request FILE' checks the answer against it, once.\n"
    "The verifier should be an inspection agency for TYPE on the main chain: a holder's\n"
    "client refuses to answer anyone else.\n\n"
    "Options:\n"
    "  --key FILE        the verifier's key file (it signs the request)\n"
    "  --type TYPE       the certificate type asked for\n"
    "  --fields LIST     the fields wanted, comma-separated (1..16)\n"
    "  --out FILE        where to write the request\n"
    "  --qr FILE.png     the request as a QR code picture\n"
    "  --valid-s N       how long it may be answered, seconds (default 300, at most 86400)\n"
    "\nExample:\n  ecert verifier request --key hr-office.key --type degree --fields name,degree "
    "--out req.bin --qr req.png\n" CL_GLOBAL_NOTE;

int cmd_verifier_request(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *type = NULL, *fields = NULL, *out = NULL, *qr = NULL;
    uint64_t valid_s = S_VALID_S_DEFAULT;
    const cl_opt_t opts[] = {{"type", CL_ARG_STR, &type},       {"fields", CL_ARG_STR, &fields},
                             {"out", CL_ARG_STR, &out},         {"qr", CL_ARG_STR, &qr},
                             {"valid-s", CL_ARG_U64, &valid_s}, {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_request, NULL);
    if (rc >= 0)
        return rc;
    if (!ctx->key_path)
        return cl_missing(ctx, "--key");
    if (!type)
        return cl_missing(ctx, "--type");
    if (!fields)
        return cl_missing(ctx, "--fields");
    if (!out && !qr)
        return cl_missing(ctx, "--out FILE or --qr FILE.png");
    if (valid_s < 1 || valid_s > S_VALID_S_MAX)
        return cl_usage(ctx, "--valid-s must be 1..%d", S_VALID_S_MAX);
    cl_request_t r;
    memset(&r, 0, sizeof r);
    if ((rc = s_split_fields(ctx, fields, r.fields, CL_REQUEST_FIELDS_MAX, &r.field_count)) != 0)
        return rc;
    cl_config_t *cfg = cl_config(ctx);
    if (!cfg)
        return 1;
    size_t i = 0;
    while (i < cfg->side_count && strcmp(cfg->sides[i].type, type) != 0)
        i++;
    if (i == cfg->side_count)
        return cl_fail(ctx, EC_ECONFIG, "no side chain for certificate type '%s' in %s", type,
                       cfg->path);
    memcpy(r.side_chain_id, cfg->sides[i].chain_id, sizeof r.side_chain_id);
    ec_key_t *key = cl_key_load(ctx, NULL);
    if (!key)
        return 1;
    memcpy(r.verifier_pk, ec_key_pk(key), EC_PK_BYTES);
    randombytes_buf(r.nonce, sizeof r.nonce);
    r.expires_ms = cl_now_ms() + valid_s * 1000;
    ec_writer_t w;
    ec_writer_init(&w);
    cl_request_sign(&w, &r, key);
    ec_key_destroy(&key);
    rc = s_write_out(ctx, out, qr, ec_writer_data(&w), ec_writer_size(&w), "request");
    ec_writer_fini(&w);
    if (rc)
        return rc;
    char who[EC_ADDR_MAX], until[40], nonce[2 * CL_NONCE_BYTES + 1];
    ec_address_from_pk(who, r.verifier_pk);
    cl_format_time(until, sizeof until, r.expires_ms);
    ec_hex(nonce, r.nonce, sizeof r.nonce);
    cl_out(ctx, "request by %s for a %s certificate (%s): fields %s\nvalid until %s, nonce %s\n",
           who, type, r.side_chain_id, fields, until, nonce);
    return cl_emit(ctx, json_pack("{s:s?,s:s?,s:s,s:s,s:s,s:I,s:s}", "file", out, "qr", qr,
                                  "verifier", who, "side_chain_id", r.side_chain_id, "fields",
                                  fields, "expires_ms", (json_int_t)r.expires_ms, "nonce", nonce));
}

/* ---- present ------------------------------------------------------------------------------- */

static const char s_help_present[] =
    "usage: ecert present --key HOLDER_KEY --type TYPE --cert TXHASH\n"
    "                     (--request FILE | --request-qr FILE.png) [--fields NAME[,NAME...]]\n"
    "                     [--status-list FILE] (--out FILE | --qr FILE.png | both)\n"
    "                     [--wait-ms N]\n\n"
    "Answers a verifier's request with a certificate, disclosing only chosen fields. First\n"
    "it checks the request: its signature, its expiry, the chain, and on the main chain that\n"
    "the verifier is an inspection agency for TYPE (anyone else is refused: a request is\n"
    "no proof of who shows it). It prints who asks for what. Then it reads the certificate\n"
    "with the holder's key, fetches its ISSUE's proof (without the sealed contents) and\n"
    "writes the presentation, signed with the holder's key: the request, the proof, each\n"
    "disclosed field with its salt and Merkle path, and the status list when given.\n\n"
    "Options:\n"
    "  --key FILE            the holder's key file\n"
    "  --type TYPE           the certificate type\n"
    "  --cert TXHASH         the certificate id\n"
    "  --request FILE        the verifier's request (or --request-qr FILE.png)\n"
    "  --fields LIST         the fields to disclose (default: those requested)\n"
    "  --status-list FILE    a status list to bring along ('ecert status-list fetch')\n"
    "  --out FILE            where to write the presentation\n"
    "  --qr FILE.png         the presentation as a QR code picture (when it fits)\n"
    "  --wait-ms N           how long to wait for the proof's anchoring (default 10000)\n"
    "\nExample:\n  ecert present --key zhangwei.key --type degree --cert 3fa9...c2d1 "
    "--request-qr req.png --qr answer.png\n" CL_GLOBAL_NOTE;

/* Checks on the main chain that the request's verifier is an inspection agency for `type`.
 * Prints who asks. 0 or 1 (recorded: "unauthorized verifier"). */
static int s_check_verifier(cl_ctx_t *ctx, const cl_request_t *r, const char *type)
{
    char who[EC_ADDR_MAX];
    ec_address_from_pk(who, r->verifier_pk);
    cl_account_t *acc = malloc(sizeof *acc);
    if (!acc)
        return cl_fail(ctx, EC_ENOMEM, "out of memory");
    int rc = cl_account_get(ctx, who, acc);
    const char *org = NULL;
    for (size_t i = 0; rc == 0 && !org && i < acc->role_count; i++)
        if (acc->roles[i].role == EC_ROLE_INSPECTOR && strcmp(acc->roles[i].cert_type, type) == 0)
            org = acc->roles[i].org_code;
    if (rc == 0 && !org)
        rc = cl_fail(ctx, EC_EPERM,
                     "unauthorized verifier: %s (%s) is no inspection agency for %s on the main "
                     "chain: not answering",
                     who, acc->name, type);
    if (rc == 0) {
        char fields[CL_REQUEST_FIELDS_MAX * (CL_FIELD_NAME_MAX + 2)] = "";
        for (uint32_t i = 0; i < r->field_count; i++) {
            if (i)
                strcat(fields, ", ");
            strcat(fields, r->fields[i]);
        }
        char until[40];
        cl_format_time(until, sizeof until, r->expires_ms);
        cl_out(ctx,
               "request from %s (%s, inspection agency %s for %s)\nasks for: %s\nvalid "
               "until %s\n",
               who, acc->name, org, type, fields, until);
    }
    free(acc);
    return rc;
}

/* The holder's certificate: checks that the key is its holder's and that its contents
 * are the issued ones, then opens them into f. 0 or 1. */
static int s_open_cert(cl_ctx_t *ctx, cl_chain_t *side, const uint8_t id[EC_HASH_BYTES],
                       const ec_key_t *key, cl_fields_t *f)
{
    cl_cert_t c;
    ec_rpc_reply_t reply;
    int rc = cl_cert_fetch(ctx, side, id, &c, &reply);
    if (rc)
        return rc;
    char mine[EC_ADDR_MAX];
    ec_address_from_pk(mine, ec_key_pk(key));
    if (strcmp(c.holder, mine) != 0)
        rc = cl_fail(ctx, EC_EPERM, "the certificate belongs to %s, not to this key's %s", c.holder,
                     mine);
    else if (c.erased || c.payload_size == 0)
        rc = cl_fail(ctx, EC_ESTATE, "the certificate's content was erased: nothing to present");
    if (rc == 0) {
        ec_status_t st = {0};
        /* Only the issued contents can be disclosed against the ISSUE's proof. */
        if (cl_fields_open(f, key, c.payload, c.payload_size, c.fields_root, &st) != 0)
            rc = cl_fail_st(ctx, &st, NULL);
    }
    ec_rpc_reply_fini(&reply);
    return rc;
}

int cmd_present(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *type = NULL, *req_file = NULL, *req_qr = NULL, *fields = NULL, *list_file = NULL,
               *out = NULL, *qr = NULL;
    uint8_t id[EC_HASH_BYTES];
    bool have_id = false;
    uint64_t wait_ms = 10000;
    const cl_opt_t opts[] = {
        {"type", CL_ARG_STR, &type},        {"cert", CL_ARG_HASH, id, &have_id},
        {"request", CL_ARG_STR, &req_file}, {"request-qr", CL_ARG_STR, &req_qr},
        {"fields", CL_ARG_STR, &fields},    {"status-list", CL_ARG_STR, &list_file},
        {"out", CL_ARG_STR, &out},          {"qr", CL_ARG_STR, &qr},
        {"wait-ms", CL_ARG_U64, &wait_ms},  {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_present, NULL);
    if (rc >= 0)
        return rc;
    if (!ctx->key_path)
        return cl_missing(ctx, "--key");
    if (!type)
        return cl_missing(ctx, "--type");
    if (!have_id)
        return cl_missing(ctx, "--cert");
    if (!out && !qr)
        return cl_missing(ctx, "--out FILE or --qr FILE.png");
    uint8_t *request = NULL, *list = NULL;
    size_t request_size = 0, list_size = 0;
    if ((rc = s_read_in(ctx, req_file, req_qr, CL_REQUEST_BYTES_MAX, "request", &request,
                        &request_size)) != 0)
        return rc;
    cl_request_t r;
    ec_status_t st = {0};
    cl_chain_t *side = NULL;
    char names[CL_FIELDS_MAX][CL_FIELD_NAME_MAX + 1];
    uint32_t count = 0;
    if (cl_request_open(&r, request, request_size, &st) != 0)
        rc = cl_fail(ctx, st.code, "the request cannot be trusted: %s", st.msg);
    else if (cl_now_ms() > r.expires_ms)
        rc = cl_fail(ctx, EC_ETIMEOUT, "the request has expired: ask the verifier for a new one");
    else if (!(side = cl_side(ctx, type)))
        rc = 1;
    else if (strcmp(side->chain_id, r.side_chain_id) != 0)
        rc = cl_fail(ctx, EC_ECHAIN, "the request asks for a certificate of %s, not of %s (%s)",
                     r.side_chain_id, side->chain_id, type);
    if (rc == 0)
        rc = s_check_verifier(ctx, &r, type);
    if (rc == 0 && fields)
        rc = s_split_fields(ctx, fields, names, CL_FIELDS_MAX, &count);
    if (rc == 0 && !fields) {
        count = r.field_count;
        memcpy(names, r.fields, sizeof r.fields);
    }
    if (rc == 0 && list_file)
        rc = cl_read_file(ctx, list_file, EC_SLIST_BYTES_MAX, &list, &list_size);
    ec_key_t *key = rc == 0 ? cl_key_load(ctx, NULL) : NULL;
    if (rc == 0 && !key)
        rc = 1;
    cl_fields_t f;
    cl_fields_init(&f);
    ec_writer_t bundle, w;
    ec_writer_init(&bundle);
    ec_writer_init(&w);
    if (rc == 0)
        rc = s_open_cert(ctx, side, id, key, &f);
    if (rc == 0)
        rc = cl_proof_build(ctx, side, id, wait_ms, true, &bundle);
    uint8_t now_root[EC_HASH_BYTES];
    ec_issue_body_t issue;
    if (rc == 0 && cl_bundle_issue(ec_writer_data(&bundle), ec_writer_size(&bundle), &issue) != 0)
        rc = cl_fail(ctx, EC_EINTERNAL, "the proof's ISSUE does not read (a bug)");
    if (rc == 0) {
        cl_fields_root(now_root, &f);
        if (memcmp(now_root, issue.fields_root, EC_HASH_BYTES) != 0)
            rc = cl_fail(ctx, EC_ESTATE,
                         "the certificate was changed since its issue: a presentation proves "
                         "issued fields only (not supported yet for changed certificates)");
    }
    if (rc == 0) {
        const char *ptrs[CL_FIELDS_MAX];
        for (uint32_t i = 0; i < count; i++)
            ptrs[i] = names[i];
        if (cl_present_build(&w, request, request_size, key, ec_writer_data(&bundle),
                             ec_writer_size(&bundle), &f, ptrs, count, list, list_size, &st) != 0)
            rc = cl_fail_st(ctx, &st, NULL);
    }
    if (rc == 0)
        rc = s_write_out(ctx, out, qr, ec_writer_data(&w), ec_writer_size(&w), "presentation");
    if (rc == 0) {
        cl_out(ctx, "presentation of %u field(s) written to %s%s%s (%zu bytes)\n", count,
               out ? out : "", out && qr ? " and " : "", qr ? qr : "", ec_writer_size(&w));
        rc = cl_emit(ctx, json_pack("{s:s?,s:s?,s:I,s:I}", "file", out, "qr", qr, "fields",
                                    (json_int_t)count, "bytes", (json_int_t)ec_writer_size(&w)));
    }
    cl_writer_wipe_fini(&w);
    ec_writer_fini(&bundle);
    cl_fields_fini(&f);
    ec_key_destroy(&key);
    free(request);
    free(list);
    return rc;
}

/* ---- verify-presentation ------------------------------------------------------------------- */

static const char s_help_verify_presentation[] =
    "usage: ecert verify-presentation (--in FILE | --qr FILE.png) --request FILE\n"
    "                                 [--main-genesis FILE]\n"
    "                                 [--status-list FILE | --online [--wait-ms N]]\n"
    "                                 [--report [--org CODE]]\n\n"
    "Checks a holder's presentation offline against the request you made and the main\n"
    "chain's genesis: the holder's signature; that it answers this very request (not another\n"
    "verifier's, not another of yours) before it expired, and only once (the request file\n"
    "gets a companion FILE.answered); the certificate's ISSUE proof; that the holder who\n"
    "signed is the certificate's holder; each disclosed field against the certificate's\n"
    "field commitments, and every field you asked for; its expiry; and its status, from the\n"
    "status list the holder brought, one you give (--status-list) or one fetched now\n"
    "(--online). Prints the disclosed fields on success; exits 1 with the reason otherwise.\n"
    "With --report and --key (your inspection agency's key, the request's), a presentation\n"
    "that verifies is then recorded on the certificate's side chain as an inspection with\n"
    "the verdict \"presentation verified\": it counts in 'ecert usage' for your\n"
    "organization like any inspection.\n\n"
    "Options:\n"
    "  --in FILE             the presentation (or --qr FILE.png, a picture of its QR code)\n"
    "  --request FILE        the request you made ('ecert verifier request --out')\n"
    "  --main-genesis FILE   the trusted main genesis (default: main.genesis in the config)\n"
    "  --status-list FILE    a status list of the certificate's chain\n"
    "  --online              fetch the status list now\n"
    "  --wait-ms N           with --online: how long to wait for anchoring (default 10000)\n"
    "  --report              record the verified presentation as an inspection (with --key)\n"
    "  --org CODE            your organization (default: your inspection role's for the\n"
    "                        certificate's type, when it is the only one)\n"
    "\nExample:\n  ecert verify-presentation --qr answer.png --request req.bin "
    "--online\n" CL_GLOBAL_NOTE;

#define S_REPORT_VERDICT "presentation verified"

/* Online: the key that signed still signs for the holder's account (not rotated away or
 * revoked since). 0 or 1 (recorded). */
static int s_holder_key_current(cl_ctx_t *ctx, const cl_presentation_t *p)
{
    char who[EC_ADDR_MAX];
    if (cl_signer_current(ctx, p->holder_pk, who) == 0)
        return 0;
    if (ctx->err_code != EC_EPERM)
        return 1;
    char why[sizeof ctx->err_msg];
    snprintf(why, sizeof why, "%s", ctx->err_msg);
    cl_clear_error(ctx);
    return cl_fail(ctx, EC_EPERM, "presentation REFUSED: key-retired: the key that signed it: %s",
                   why);
}

/* The verifier's organization for inspections of `type`: --org, else its one inspector
 * role for that type on the main chain. 0 or 1/2 (recorded). */
static int s_report_org(cl_ctx_t *ctx, const uint8_t verifier_pk[EC_PK_BYTES], const char *type,
                        const char *given, char org[EC_ORG_CODE_MAX])
{
    if (given) {
        if (!ec_org_code_valid(given))
            return cl_usage(ctx, "--org must be 1..%d of A-Z a-z 0-9 -", EC_ORG_CODE_MAX - 1);
        snprintf(org, EC_ORG_CODE_MAX, "%s", given);
        return 0;
    }
    char who[EC_ADDR_MAX], state[16];
    if (cl_signer_get(ctx, verifier_pk, who, state) != 0)
        return 1;
    cl_account_t *acc = malloc(sizeof *acc);
    if (!acc)
        return cl_fail(ctx, EC_ENOMEM, "out of memory");
    int rc = cl_account_get(ctx, who, acc), found = 0;
    for (size_t i = 0; rc == 0 && i < acc->role_count; i++)
        if (acc->roles[i].role == EC_ROLE_INSPECTOR && strcmp(acc->roles[i].cert_type, type) == 0 &&
            found++ == 0)
            snprintf(org, EC_ORG_CODE_MAX, "%s", acc->roles[i].org_code);
    free(acc);
    if (rc == 0 && found != 1)
        rc = cl_usage(ctx, "%s holds %s inspection role%s for %s: name the organization with --org",
                      who, found ? "several" : "no", found ? "s" : "", type);
    return rc;
}

/* Records a verified presentation as an INSPECT by the verifier (--key). 0 or 1/2. */
static int s_report(cl_ctx_t *ctx, const cl_presentation_t *p, const char *org_opt, json_t *obj)
{
    if (!ctx->key_path)
        return cl_missing(ctx, "--key (the verifier's, to --report)");
    uint8_t pk[EC_PK_BYTES];
    if (cl_key_file_pk(ctx, ctx->key_path, pk) != 0)
        return 1;
    if (memcmp(pk, p->request.verifier_pk, EC_PK_BYTES) != 0)
        return cl_usage(ctx, "--key is not the key that signed the request: the report must come "
                             "from the verifier who asked");
    cl_config_t *cfg = cl_config(ctx);
    if (!cfg)
        return 1;
    const char *type = NULL;
    for (size_t i = 0; i < cfg->side_count && !type; i++)
        if (strcmp(cfg->sides[i].chain_id, p->bundle.side_chain_id) == 0)
            type = cfg->sides[i].type;
    if (!type)
        return cl_fail(ctx, EC_ECONFIG, "side chain %s is not in the client config: cannot report",
                       p->bundle.side_chain_id);
    ec_inspect_body_t b;
    memset(&b, 0, sizeof b);
    int rc = s_report_org(ctx, pk, type, org_opt, b.org_code);
    cl_chain_t *side = rc ? NULL : cl_side(ctx, type);
    if (rc || !side)
        return rc ? rc : 1;
    snprintf(b.holder, sizeof b.holder, "%s", p->holder);
    memcpy(b.cert_id, p->bundle.tx_id, EC_HASH_BYTES);
    snprintf(b.verdict, sizeof b.verdict, "%s", S_REPORT_VERDICT);
    b.verdict_len = strlen(b.verdict);
    ec_writer_t body;
    ec_writer_init(&body);
    ec_inspect_body_encode(&body, &b);
    cl_txres_t res;
    rc = cl_submit_signed(ctx, side, EC_STX_INSPECT, &body, NULL, 0, &res, NULL);
    ec_writer_fini(&body);
    if (rc)
        return rc;
    char tx[2 * EC_HASH_BYTES + 1];
    ec_hex(tx, res.id, EC_HASH_BYTES);
    cl_out(ctx, "reported as an inspection by %s on %s: tx %s at height %llu\n", b.org_code,
           side->chain_id, tx, (unsigned long long)res.height);
    json_object_set_new(obj, "report",
                        json_pack("{s:s,s:s,s:I}", "org_code", b.org_code, "tx", tx, "height",
                                  (json_int_t)res.height));
    return 0;
}

int cmd_verify_presentation(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *in = NULL, *qr = NULL, *req_file = NULL, *genesis_path = NULL, *org = NULL;
    bool report = false;
    cl_status_src_t src = {.wait_ms = 10000};
    const cl_opt_t opts[] = {{"in", CL_ARG_STR, &in},
                             {"report", CL_ARG_FLAG, &report},
                             {"org", CL_ARG_STR, &org},
                             {"qr", CL_ARG_STR, &qr},
                             {"request", CL_ARG_STR, &req_file},
                             {"main-genesis", CL_ARG_STR, &genesis_path},
                             {"status-list", CL_ARG_STR, &src.file},
                             {"online", CL_ARG_FLAG, &src.online},
                             {"wait-ms", CL_ARG_U64, &src.wait_ms},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_verify_presentation, NULL);
    if (rc >= 0)
        return rc;
    if (!req_file)
        return cl_missing(ctx, "--request FILE");
    if (src.file && src.online)
        return cl_usage(ctx, "give either --status-list or --online, not both");
    if (org && !report)
        return cl_usage(ctx, "--org goes with --report");
    if (report && !ctx->key_path)
        return cl_missing(ctx, "--key (the verifier's, to --report)");
    ec_genesis_t g;
    if (cl_main_genesis(ctx, genesis_path, &g))
        return 1;
    uint8_t *data = NULL, *request = NULL;
    size_t size = 0, request_size = 0;
    if ((rc = s_read_in(ctx, in, qr, CL_PRESENT_BYTES_MAX, "presentation", &data, &size)) != 0)
        return rc;
    if (cl_read_file(ctx, req_file, CL_REQUEST_BYTES_MAX, &request, &request_size)) {
        free(data);
        return 1;
    }
    char answered[EC_PATH_MAX + 16];
    snprintf(answered, sizeof answered, "%s%s", req_file, S_ANSWERED_SUFFIX);
    cl_presentation_t *p = NULL;
    ec_status_t st = {0};
    if (access(answered, F_OK) == 0) {
        rc = cl_fail(ctx, EC_EREPLAY,
                     "presentation REFUSED: replayed: request %s was answered already (%s); "
                     "make a new request",
                     req_file, answered);
    } else if (!(p = malloc(sizeof *p))) {
        rc = cl_fail(ctx, EC_ENOMEM, "out of memory");
    } else if (cl_present_check(p, data, size, request, request_size, cl_now_ms(), g.chain_id,
                                &g.validators, &st) != 0) {
        rc = cl_fail(ctx, st.code, "presentation REFUSED: %s", st.msg);
    }
    json_t *obj = NULL;
    if (rc == 0) {
        /* The request is spent: a second answer to it is a replay. */
        static const uint8_t mark[] = "answered\n";
        rc = cl_write_file(ctx, answered, mark, sizeof mark - 1);
    }
    if (rc == 0) {
        char id_hex[2 * EC_HASH_BYTES + 1];
        ec_hex(id_hex, p->bundle.tx_id, sizeof p->bundle.tx_id);
        cl_out(ctx,
               "presentation verifies: it answers your request, signed by the holder\n"
               "holder        %s\ncertificate   %s (%s, block %llu, anchored in main block "
               "%llu)\norganization  %s\nfields disclosed:\n",
               p->holder, id_hex, p->bundle.side_chain_id,
               (unsigned long long)p->bundle.side_height, (unsigned long long)p->bundle.main_height,
               p->org_code);
        json_t *fields = json_object();
        for (size_t i = 0; i < p->disclosed_count; i++) {
            const cl_disclosed_t *d = &p->disclosed[i];
            cl_out_field(ctx, d->name, d->value, d->value_len);
            json_object_set_new(fields, d->name, json_stringn(d->value, d->value_len));
        }
        obj = json_pack("{s:b,s:s,s:s,s:s,s:o}", "verified", 1, "holder", p->holder, "cert_id",
                        id_hex, "side_chain_id", p->bundle.side_chain_id, "fields", fields);
        if (!src.file && !src.online && p->status_list) {
            src.data = p->status_list;
            src.size = p->status_list_size;
        }
        /* Online, a retired holder key is refused before waiting for a status list. */
        if (src.online)
            rc = s_holder_key_current(ctx, p);
        if (rc == 0)
            rc = cl_cert_validity(ctx, &g, &p->bundle, p->expires_ms, &src, obj);
        if (rc == 0 && report)
            rc = s_report(ctx, p, org, obj);
    }
    if (p)
        cl_present_fini(p);
    free(p);
    free(data);
    free(request);
    if (rc) {
        json_decref(obj);
        return rc;
    }
    return cl_emit(ctx, obj);
}
