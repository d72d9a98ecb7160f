/*
 * cl_present.c - verifier requests and holder presentations (cl_present.h).
 *
 * Invariant: cl_present_check accepts a presentation only when every byte of it is bound:
 * the holder's signature covers the body; the body carries the verifier's request byte
 * for byte (checked against the verifier's own copy and its signature), the ISSUE bundle
 * (verified against the main chain) and each disclosed field (a leaf of the fields_root
 * that bundle proves). Strict canonical msgpack leaves one encoding per presentation.
 */
#include "cl_present.h"

#include <stdlib.h>
#include <string.h>

#include "ec_body.h"
#include "ec_chain.h"
#include "ec_merkle.h"

static const char s_request_tag[] = "ecert/request"; /* sizeof: with its 0x00 */
static const char s_present_tag[] = "ecert/presentation";

/* Signs tag 0x00 || body with key. */
static void s_sign(uint8_t sig[EC_SIG_BYTES], const char *tag, size_t tag_size, const uint8_t *body,
                   size_t body_size, const ec_key_t *key)
{
    ec_writer_t m;
    ec_writer_init(&m);
    ec_write_raw(&m, tag, tag_size);
    ec_write_raw(&m, body, body_size);
    ec_sign(sig, ec_writer_data(&m), ec_writer_size(&m), key);
    ec_writer_fini(&m);
}

static bool s_verify(const uint8_t sig[EC_SIG_BYTES], const char *tag, size_t tag_size,
                     const uint8_t *body, size_t body_size, const uint8_t pk[EC_PK_BYTES])
{
    ec_writer_t m;
    ec_writer_init(&m);
    ec_write_raw(&m, tag, tag_size);
    ec_write_raw(&m, body, body_size);
    bool ok = ec_verify(sig, ec_writer_data(&m), ec_writer_size(&m), pk);
    ec_writer_fini(&m);
    return ok;
}

/* Writes [body: bin, sig: bin64]. */
static void s_envelope(ec_writer_t *w, const ec_writer_t *body, const char *tag, size_t tag_size,
                       const ec_key_t *key)
{
    uint8_t sig[EC_SIG_BYTES];
    s_sign(sig, tag, tag_size, ec_writer_data(body), ec_writer_size(body), key);
    ec_write_array(w, 2);
    ec_write_bin(w, ec_writer_data(body), ec_writer_size(body));
    ec_write_bin(w, sig, sizeof sig);
}

/* Reads [body: bin, sig: bin64] from data with decoder d. */
static int s_open_envelope(ec_decoder_t *d, const uint8_t *data, size_t size, size_t body_max,
                           const uint8_t **body, size_t *body_size, uint8_t sig[EC_SIG_BYTES])
{
    const msgpack_object *root = NULL;
    int rc = ec_decode(d, data, size, &root);
    if (rc)
        return rc;
    ec_cur_t c;
    ec_cur_open(&c, root, 2);
    ec_cur_bin(&c, body, body_size, body_max);
    ec_cur_bin_fixed(&c, sig, EC_SIG_BYTES);
    return ec_cur_finish(&c);
}

/* ---- requests ---------------------------------------------------------------------------- */

void cl_request_sign(ec_writer_t *w, const cl_request_t *r, const ec_key_t *verifier)
{
    ec_writer_t body;
    ec_writer_init(&body);
    ec_write_array(&body, 6);
    ec_write_uint(&body, CL_REQUEST_VERSION);
    ec_write_bin(&body, r->verifier_pk, EC_PK_BYTES);
    ec_write_cstr(&body, r->side_chain_id);
    ec_write_array(&body, r->field_count);
    for (uint32_t i = 0; i < r->field_count; i++)
        ec_write_cstr(&body, r->fields[i]);
    ec_write_bin(&body, r->nonce, CL_NONCE_BYTES);
    ec_write_uint(&body, r->expires_ms);
    s_envelope(w, &body, s_request_tag, sizeof s_request_tag, verifier);
    ec_writer_fini(&body);
}

static void s_request_read(ec_cur_t *c, void *out)
{
    cl_request_t *r = out;
    ec_cur_t b, f;
    uint64_t version = 0;
    ec_cur_enter(c, &b, 6);
    ec_cur_uint(&b, &version);
    if (!b.err && version != CL_REQUEST_VERSION)
        ec_cur_fail(&b, EC_EVERSION);
    ec_cur_bin_fixed(&b, r->verifier_pk, EC_PK_BYTES);
    ec_cur_str_copy(&b, r->side_chain_id, sizeof r->side_chain_id);
    ec_cur_enter_max(&b, &f, CL_REQUEST_FIELDS_MAX);
    r->field_count = f.count;
    for (uint32_t i = 0; i < r->field_count; i++) {
        ec_cur_str_copy(&f, r->fields[i], sizeof r->fields[i]);
        for (uint32_t j = 0; !f.err && j < i; j++)
            if (strcmp(r->fields[i], r->fields[j]) == 0)
                ec_cur_fail(&f, EC_EINVAL);
        if (!f.err && r->fields[i][0] == '\0')
            ec_cur_fail(&f, EC_EINVAL);
    }
    ec_cur_fold(&b, &f);
    ec_cur_bin_fixed(&b, r->nonce, CL_NONCE_BYTES);
    ec_cur_uint(&b, &r->expires_ms);
    if (!b.err && (r->field_count == 0 || !ec_chain_id_valid(r->side_chain_id)))
        ec_cur_fail(&b, EC_EINVAL);
    ec_cur_fold(c, &b);
}

int cl_request_open(cl_request_t *r, const uint8_t *data, size_t size, ec_status_t *st)
{
    memset(r, 0, sizeof *r);
    if (size > CL_REQUEST_BYTES_MAX)
        return ec_status_set(st, EC_ETOOBIG, "a request is at most %d bytes", CL_REQUEST_BYTES_MAX);
    ec_decoder_t d;
    ec_decoder_init(&d);
    const uint8_t *body = NULL;
    size_t body_size = 0;
    uint8_t sig[EC_SIG_BYTES];
    int rc = s_open_envelope(&d, data, size, CL_REQUEST_BYTES_MAX, &body, &body_size, sig);
    if (rc == 0)
        rc = ec_decode_read(r, sizeof *r, body, body_size, s_request_read);
    if (rc == 0 &&
        !s_verify(sig, s_request_tag, sizeof s_request_tag, body, body_size, r->verifier_pk))
        rc = ec_status_set(st, EC_ESIG, "the request's signature does not hold (altered)");
    else if (rc)
        ec_status_set(st, rc, "not a verifier request (%s)", ec_errname(rc));
    ec_decoder_fini(&d);
    if (rc)
        memset(r, 0, sizeof *r);
    return rc;
}

/* ---- building a presentation --------------------------------------------------------------- */

int cl_present_build(ec_writer_t *w, const uint8_t *request, size_t request_size,
                     const ec_key_t *holder, const uint8_t *bundle, size_t bundle_size,
                     const cl_fields_t *all, const char *const *names, size_t n,
                     const uint8_t *status_list, size_t status_list_size, ec_status_t *st)
{
    if (n == 0 || n > CL_FIELDS_MAX)
        return ec_status_set(st, EC_EINVAL, "disclose 1..%d fields", CL_FIELDS_MAX);
    bool chosen[CL_FIELDS_MAX] = {false};
    for (size_t k = 0; k < n; k++) {
        size_t i = 0;
        while (i < all->count && strcmp(all->items[i].name, names[k]) != 0)
            i++;
        if (i == all->count)
            return ec_status_set(st, EC_ENOTFOUND, "the certificate has no field '%s'", names[k]);
        if (chosen[i])
            return ec_status_set(st, EC_EINVAL, "field '%s' named twice", names[k]);
        chosen[i] = true;
    }
    ec_hash32_t leaves[CL_FIELDS_MAX];
    for (size_t i = 0; i < all->count; i++)
        cl_field_leaf(leaves[i], &all->items[i]);
    ec_merkle_mem_t mem = {.leaves = leaves, .count = all->count};
    ec_writer_t body;
    ec_writer_init(&body);
    ec_write_array(&body, 7);
    ec_write_uint(&body, CL_PRESENT_VERSION);
    ec_write_bin(&body, request, request_size);
    ec_write_bin(&body, ec_key_pk(holder), EC_PK_BYTES);
    ec_write_bin(&body, bundle, bundle_size);
    ec_write_uint(&body, all->count);
    ec_write_array(&body, (uint32_t)n);
    for (size_t i = 0; i < all->count; i++) { /* in index order */
        if (!chosen[i])
            continue;
        ec_hash32_t path[EC_MERKLE_PROOF_MAX];
        size_t len = 0;
        int rc = ec_merkle_inclusion_proof(path, &len, ec_merkle_mem_oracle, &mem, i, all->count);
        if (rc) {
            ec_writer_fini(&body);
            return ec_status_set(st, rc, "field path: %s", ec_strerror(rc));
        }
        const cl_field_t *f = &all->items[i];
        ec_write_array(&body, 5);
        ec_write_uint(&body, i);
        ec_write_cstr(&body, f->name);
        ec_write_str(&body, f->value, f->value_len);
        ec_write_bin(&body, f->salt, CL_FIELD_SALT_BYTES);
        ec_write_path(&body, path, len);
    }
    if (status_list)
        ec_write_bin(&body, status_list, status_list_size);
    else
        ec_write_nil(&body);
    s_envelope(w, &body, s_present_tag, sizeof s_present_tag, holder);
    cl_writer_wipe_fini(&body);
    return 0;
}

/* ---- checking a presentation ------------------------------------------------------------- */

/* Fails p with reason and code (st set from fmt). */
static int s_refuse(cl_presentation_t *p, const char *reason, ec_status_t *st, int code,
                    const char *fmt, const char *arg)
{
    p->reason = reason;
    return ec_status_set(st, code, fmt, arg ? arg : "");
}

int cl_bundle_issue(const uint8_t *bundle, size_t size, ec_issue_body_t *issue)
{
    ec_bundle_t *b = malloc(sizeof *b);
    if (!b)
        return EC_ENOMEM;
    int rc = ec_bundle_decode(b, bundle, size);
    if (rc == 0) {
        ec_tx_t tx;
        rc = ec_tx_decode(&tx, b->parts.tx, b->parts.tx_size);
        if (rc == 0) {
            rc = tx.type == EC_STX_ISSUE ? ec_issue_body_read(issue, tx.body, NULL) : EC_EINVAL;
            ec_tx_fini(&tx);
        }
        ec_bundle_fini(b);
    }
    free(b);
    return rc;
}

/* Checks disclosed field i (its cursor e) against fields_root; fills p->disclosed. */
static int s_check_field(cl_presentation_t *p, ec_cur_t *list, uint64_t field_count,
                         const uint8_t fields_root[EC_HASH_BYTES], uint64_t *last_index,
                         ec_status_t *st)
{
    ec_cur_t e;
    uint64_t index = 0;
    cl_field_t f;
    const char *value = NULL;
    size_t value_len = 0;
    ec_hash32_t path[EC_MERKLE_PROOF_MAX];
    size_t path_len = 0;
    memset(&f, 0, sizeof f);
    ec_cur_enter(list, &e, 5);
    ec_cur_uint(&e, &index);
    ec_cur_str_copy(&e, f.name, sizeof f.name);
    ec_cur_str(&e, &value, &value_len, CL_FIELD_VALUE_MAX);
    ec_cur_bin_fixed(&e, f.salt, CL_FIELD_SALT_BYTES);
    ec_cur_path(&e, path, &path_len);
    int rc = ec_cur_finish(&e);
    if (rc == 0 && (index >= field_count || (p->disclosed_count > 0 && index <= *last_index) ||
                    !f.name[0] || memchr(value, 0, value_len)))
        rc = EC_EINVAL;
    if (rc)
        return s_refuse(p, "malformed", st, rc, "a disclosed field is malformed%s", NULL);
    /* cl_field_leaf reads the value through the struct, which borrows it here */
    f.value = (char *)value;
    f.value_len = value_len;
    uint8_t leaf[EC_HASH_BYTES];
    cl_field_leaf(leaf, &f);
    if (ec_merkle_inclusion_verify(leaf, index, field_count, path, path_len, fields_root) != 0)
        return s_refuse(p, "altered", st, EC_EPROOF,
                        "altered: field '%s' is not the one the certificate holds", f.name);
    cl_disclosed_t *d = &p->disclosed[p->disclosed_count++];
    memcpy(d->name, f.name, sizeof d->name);
    d->value = value;
    d->value_len = value_len;
    *last_index = index;
    return 0;
}

int cl_present_check(cl_presentation_t *p, const uint8_t *data, size_t size,
                     const uint8_t *own_request, size_t own_request_size, uint64_t now_ms,
                     const char *main_chain_id, const ec_valset_t *main_vs, ec_status_t *st)
{
    memset(p, 0, sizeof *p);
    ec_decoder_init(&p->dec);
    ec_decoder_init(&p->inner);
    if (size > CL_PRESENT_BYTES_MAX)
        return s_refuse(p, "malformed", st, EC_ETOOBIG, "a presentation is too big%s", NULL);
    const uint8_t *body = NULL;
    size_t body_size = 0;
    uint8_t sig[EC_SIG_BYTES];
    int rc = s_open_envelope(&p->dec, data, size, CL_PRESENT_BYTES_MAX, &body, &body_size, sig);
    const msgpack_object *root = NULL;
    if (rc == 0)
        rc = ec_decode(&p->inner, body, body_size, &root);
    ec_cur_t c, list;
    const uint8_t *request = NULL, *bundle = NULL;
    size_t request_size = 0, bundle_size = 0;
    uint64_t version = 0, field_count = 0;
    ec_cur_open(&c, root, 7);
    ec_cur_uint(&c, &version);
    ec_cur_bin(&c, &request, &request_size, CL_REQUEST_BYTES_MAX);
    ec_cur_bin_fixed(&c, p->holder_pk, EC_PK_BYTES);
    ec_cur_bin(&c, &bundle, &bundle_size, EC_BUNDLE_BYTES_MAX);
    ec_cur_uint_max(&c, &field_count, CL_FIELDS_MAX);
    const msgpack_object *disclosed = ec_cur_object(&c);
    if (ec_cur_peek_nil(&c))
        ec_cur_nil(&c);
    else
        ec_cur_bin(&c, &p->status_list, &p->status_list_size, CL_PRESENT_BYTES_MAX);
    if (rc == 0)
        rc = ec_cur_finish(&c);
    if (rc == 0 && version != CL_PRESENT_VERSION)
        rc = EC_EVERSION;
    if (rc)
        return s_refuse(p, "malformed", st, rc, "not a presentation%s", NULL);
    ec_address_from_pk(p->holder, p->holder_pk);
    if (!s_verify(sig, s_present_tag, sizeof s_present_tag, body, body_size, p->holder_pk))
        return s_refuse(p, "altered", st, EC_ESIG,
                        "altered: the holder's signature does not hold%s", NULL);
    /* The request it answers: signed by its verifier, and the one this verifier made. */
    ec_status_t rst = {0};
    rc = cl_request_open(&p->request, request, request_size, &rst);
    if (rc)
        return s_refuse(p, "altered", st, rc, "altered: the request inside: %s", rst.msg);
    cl_request_t own;
    rc = cl_request_open(&own, own_request, own_request_size, &rst);
    if (rc)
        return s_refuse(p, "malformed", st, rc, "your request: %s", rst.msg);
    if (memcmp(own.verifier_pk, p->request.verifier_pk, EC_PK_BYTES) != 0) {
        char who[EC_ADDR_MAX];
        ec_address_from_pk(who, p->request.verifier_pk);
        return s_refuse(p, "wrong-verifier", st, EC_EPERM,
                        "made for another verifier (%s), not for you", who);
    }
    if (request_size != own_request_size || memcmp(request, own_request, request_size) != 0)
        return s_refuse(p, "foreign-nonce", st, EC_EINVAL,
                        "foreign nonce: it answers another of your requests, not this one%s", NULL);
    if (now_ms > p->request.expires_ms)
        return s_refuse(p, "expired", st, EC_ETIMEOUT,
                        "expired: the request it answers is no longer valid%s", NULL);
    /* The certificate: its ISSUE, proven against the main chain, on the requested chain. */
    rc = ec_bundle_verify(bundle, bundle_size, main_chain_id, main_vs, NULL, &p->bundle, &rst);
    if (rc)
        return s_refuse(p, "bad-proof", st, rc, "the certificate's proof does not verify: %s",
                        rst.msg);
    ec_issue_body_t issue;
    if (p->bundle.result_code != 0 || p->bundle.tx_type != EC_STX_ISSUE ||
        cl_bundle_issue(bundle, bundle_size, &issue) != 0)
        return s_refuse(p, "bad-proof", st, EC_EINVAL,
                        "the bundle is not that of an applied ISSUE%s", NULL);
    if (strcmp(p->bundle.side_chain_id, p->request.side_chain_id) != 0)
        return s_refuse(p, "bad-proof", st, EC_ECHAIN,
                        "the certificate is of %s, not of the chain requested",
                        p->bundle.side_chain_id);
    if (strcmp(issue.holder, p->holder) != 0)
        return s_refuse(p, "wrong-holder", st, EC_EPERM,
                        "wrong holder: the certificate belongs to %s, not to who signed",
                        issue.holder);
    p->expires_ms = issue.expires_ms;
    memcpy(p->org_code, issue.org_code, sizeof p->org_code);
    /* The fields, each in the certificate's fields_root; every requested one present. */
    ec_cur_open_max(&list, disclosed, CL_FIELDS_MAX);
    if (list.err || list.count == 0)
        return s_refuse(p, "malformed", st, EC_EINVAL, "no field disclosed%s", NULL);
    uint64_t last = 0;
    for (uint32_t i = 0; i < list.count; i++) {
        rc = s_check_field(p, &list, field_count, issue.fields_root, &last, st);
        if (rc)
            return rc;
    }
    for (uint32_t k = 0; k < p->request.field_count; k++) {
        size_t i = 0;
        while (i < p->disclosed_count && strcmp(p->disclosed[i].name, p->request.fields[k]) != 0)
            i++;
        if (i == p->disclosed_count)
            return s_refuse(p, "missing-field", st, EC_ENOTFOUND,
                            "the holder did not disclose the field '%s' you asked for",
                            p->request.fields[k]);
    }
    return 0;
}

void cl_present_fini(cl_presentation_t *p)
{
    if (!p)
        return;
    ec_decoder_fini(&p->inner);
    ec_decoder_fini(&p->dec);
}
