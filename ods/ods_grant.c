/*
 * ods_grant.c - checks a grant against the share chain for odsd (the steps, their order and
 * what is trusted: ods_grant.h).
 *
 * The chain is reached through the client library (client/cl_common.h: the client config,
 * cl_query, cl_main_genesis and cl_proof_build), the same code `ecert` runs, so odsd and
 * the client read the chains alike. Contract values (the directory's records, the access
 * contract's answer) are contract msgpack, with maps, which ec_decode refuses: they are
 * checked with ec_contract_value_check and read with msgpack-c, field by field, with exact
 * types (cl_cv_*), through the client's own contract calls (client/cl_contract.h:
 * cl_contract_result, cl_contract_query, cl_cvalue_read).
 * Every failure sets st to "<step>: <why>" and clears the client context's error.
 */
#include "ods_grant.h"

#include <stdlib.h>
#include <string.h>

#include "cl_commands.h"
#include "cl_contract.h"
#include "ec_bundle.h"
#include "ec_chain.h"
#include "ec_contract.h"
#include "ec_ods.h"

/* The client context's recorded error as st, prefixed with the step; returns its code. */
static int s_cl_error(cl_ctx_t *cl, ec_status_t *st, const char *step)
{
    int code = cl->err_code ? cl->err_code : EC_EINTERNAL;
    ec_status_set(st, code, "%s: %s", step, cl->err_msg[0] ? cl->err_msg : ec_strerror(code));
    cl_clear_error(cl);
    return code;
}

/* A str field of a contract map copied into out (cap bytes with the NUL); false when it is
 * absent, of another type, too long or holds a NUL. */
static bool s_cv_text(const msgpack_object *map, const char *key, char *out, size_t cap)
{
    return cl_cv_str(map, key, out, cap) && strlen(out) > 0;
}

/* ---- (a) the contract's answer -------------------------------------------------------------- */

/* Reads the access contract's result map: granted, asset, version. */
static int s_answer_read(const msgpack_object *m, ods_grant_t *g, ec_status_t *st)
{
    bool granted = false;
    char why[160] = "";
    if (m->type != MSGPACK_OBJECT_MAP || !cl_cv_bool(m, "granted", &granted))
        return ec_status_set(st, EC_EPERM,
                             "grant: %s.request answered no {granted = ...}: not an access "
                             "contract's request",
                             g->acl);
    if (!granted) {
        if (!cl_cv_str(m, "why", why, sizeof why))
            snprintf(why, sizeof why, "no reason given");
        return ec_status_set(st, EC_EPERM, "grant: %s refused this request (%s)", g->acl, why);
    }
    if (!s_cv_text(m, "asset", g->asset, sizeof g->asset) ||
        !cl_cv_uint(m, "version", &g->version) || g->version == 0)
        return ec_status_set(st, EC_EINVAL, "grant: %s.request's answer names no asset and version",
                             g->acl);
    return 0;
}

/* (a): contract_result [tx]: a call of <acl>.request that answered granted. */
static int s_check_result(cl_ctx_t *cl, cl_chain_t *share, ods_grant_t *g, ec_status_t *st)
{
    char hex[2 * EC_HASH_BYTES + 1], fn[EC_CONTRACT_NAME_MAX];
    ec_hex(hex, g->tx, EC_HASH_BYTES);
    cl_cvalue_t cv;
    int rc = cl_contract_result(cl, share, g->tx, g->acl, fn, &cv, EC_ENOTFOUND);
    if (rc == EC_ENOTFOUND)
        return ec_status_set(st, EC_ENOTFOUND,
                             "grant: %s applied no contract call %s (refused, not committed, or "
                             "not a call)",
                             share->chain_id, hex);
    if (rc)
        return s_cl_error(cl, st, "grant");
    if (!ec_contract_name_valid(g->acl))
        rc =
            ec_status_set(st, EC_EINVAL, "grant: garbled contract_result from %s", share->chain_id);
    else if (strcmp(fn, "request") != 0)
        rc =
            ec_status_set(st, EC_EPERM, "grant: %s called %s.%s, not a request()", hex, g->acl, fn);
    else
        rc = s_answer_read(cv.v, g, st);
    cl_cvalue_fini(&cv);
    return rc;
}

/* ---- (b) the directory ---------------------------------------------------------------------- */

/* registry.fn(asset[, version]) into cv (cl_cvalue_fini it). 0, EC_ENOTFOUND (nil), or an
 * error. */
static int s_registry(cl_ctx_t *cl, cl_chain_t *share, const char *registry, const char *fn,
                      const ods_grant_t *g, bool with_version, cl_cvalue_t *cv, ec_status_t *st)
{
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, with_version ? 2 : 1);
    ec_write_cstr(&a, g->asset);
    if (with_version)
        ec_write_uint(&a, g->version);
    int rc = cl_contract_query(cl, share, registry, fn, &a, cv);
    ec_writer_fini(&a);
    if (rc)
        return s_cl_error(cl, st, "directory");
    if (cv->v->type == MSGPACK_OBJECT_NIL) {
        cl_cvalue_fini(cv);
        return with_version ? ec_status_set(st, EC_ENOTFOUND,
                                            "directory: asset %s has no version %llu in %s",
                                            g->asset, (unsigned long long)g->version, registry)
                            : ec_status_set(st, EC_ENOTFOUND, "directory: no asset %s in %s",
                                            g->asset, registry);
    }
    return 0;
}

/* (b): the asset's record and the version's file. */
static int s_check_directory(cl_ctx_t *cl, cl_chain_t *share, const char *registry, ods_grant_t *g,
                             ec_status_t *st)
{
    cl_cvalue_t v;
    int rc = s_registry(cl, share, registry, "asset", g, false, &v, st);
    if (rc)
        return rc;
    char acl[EC_CONTRACT_NAME_MAX] = "", state[32] = "";
    if (!s_cv_text(v.v, "acl", acl, sizeof acl) || !s_cv_text(v.v, "state", state, sizeof state))
        rc = ec_status_set(st, EC_EINVAL, "directory: garbled record of asset %s", g->asset);
    else if (strcmp(acl, g->acl) != 0)
        rc = ec_status_set(st, EC_EPERM,
                           "directory: asset %s is ruled by %s, but the grant came from %s",
                           g->asset, acl, g->acl);
    else if (strcmp(state, "withdrawn") == 0)
        rc = ec_status_set(st, EC_ESTATE, "directory: asset %s was withdrawn", g->asset);
    cl_cvalue_fini(&v);
    if (rc || (rc = s_registry(cl, share, registry, "version", g, true, &v, st)) != 0)
        return rc;
    const uint8_t *hash = NULL;
    size_t hash_size = 0;
    char ods[EC_ENDPOINT_MAX];
    if (!cl_cv_bytes(v.v, "hash", &hash, &hash_size) || hash_size != EC_HASH_BYTES ||
        !cl_cv_uint(v.v, "size", &g->plain_size))
        rc = ec_status_set(st, EC_EINVAL, "directory: garbled version %llu of asset %s",
                           (unsigned long long)g->version, g->asset);
    else if (!cl_cv_str(v.v, "ods", ods, sizeof ods))
        rc = ec_status_set(st, EC_ESTATE,
                           "directory: version %llu of asset %s is carried on chain, not by an "
                           "ODS",
                           (unsigned long long)g->version, g->asset);
    else
        memcpy(g->digest, hash, EC_HASH_BYTES);
    cl_cvalue_fini(&v);
    return rc;
}

/* ---- (c) the proof -------------------------------------------------------------------------- */

/* The proven transaction's body: a CONTRACT_CALL of g->acl.request(g->asset, g->version,
 * ...). 0 or EC_EPERM. */
static int s_call_matches(const ec_bundle_t *b, const ods_grant_t *g, ec_status_t *st)
{
    ec_tx_t tx;
    if (ec_tx_decode(&tx, b->parts.tx, b->parts.tx_size) != 0)
        return ec_status_set(st, EC_EINVAL, "proof: the transaction does not decode");
    ec_contract_call_body_t call;
    ec_status_t why = {0};
    int rc = ec_contract_call_body_read(&call, tx.body, &why);
    cl_cvalue_t args = {0};
    bool ok = rc == 0 && strcmp(call.name, g->acl) == 0 && strcmp(call.fn, "request") == 0 &&
              cl_cvalue_read(call.args, call.args_size, &args) == 0;
    /* args = [asset: str, version: int, purpose: str | nil] */
    const msgpack_object *a = ok ? args.v : NULL;
    ok = ok && a->type == MSGPACK_OBJECT_ARRAY && a->via.array.size >= 2 &&
         a->via.array.ptr[0].type == MSGPACK_OBJECT_STR &&
         a->via.array.ptr[0].via.str.size == strlen(g->asset) &&
         memcmp(a->via.array.ptr[0].via.str.ptr, g->asset, strlen(g->asset)) == 0 &&
         a->via.array.ptr[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
         a->via.array.ptr[1].via.u64 == g->version;
    cl_cvalue_fini(&args);
    ec_tx_fini(&tx);
    return ok ? 0
              : ec_status_set(st, EC_EPERM,
                              "proof: the transaction is not a call of %s.request(%s, %llu)",
                              g->acl, g->asset, (unsigned long long)g->version);
}

/* Checks a verified bundle's facts and reads the side block's time. */
static int s_proven(const ec_bundle_info_t *info, const uint8_t *bundle, size_t size,
                    const cl_chain_t *share, ods_grant_t *g, ec_status_t *st)
{
    if (info->result_code != 0)
        return ec_status_set(st, EC_EPERM, "proof: the share chain refused the call (code %d)",
                             (int)info->result_code);
    if (info->tx_type != EC_STX_CONTRACT_CALL ||
        strcmp(info->side_chain_id, share->chain_id) != 0 ||
        memcmp(info->tx_id, g->tx, EC_HASH_BYTES) != 0)
        return ec_status_set(st, EC_EPROOF,
                             "proof: it proves another transaction than a contract call on %s",
                             share->chain_id);
    ec_bundle_t *b = malloc(sizeof *b);
    if (!b)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    int rc = ec_bundle_decode(b, bundle, size);
    ec_header_t h;
    if (rc == 0) {
        rc = ec_header_decode(&h, b->parts.side_header, b->parts.side_header_size) == 0
                 ? s_call_matches(b, g, st)
                 : ec_status_set(st, EC_EINVAL, "proof: the side header does not decode");
        ec_bundle_fini(b);
    } else
        rc = ec_status_set(st, rc, "proof: the bundle does not decode");
    free(b);
    if (rc)
        return rc;
    memcpy(g->requester, info->sender, EC_PK_BYTES);
    g->side_height = info->side_height;
    g->main_height = info->main_height;
    g->time_ms = h.time_ms;
    return 0;
}

/* (c): the bundle, built and verified against the main genesis. */
static int s_check_proof(cl_ctx_t *cl, cl_chain_t *share, uint64_t wait_ms, ods_grant_t *g,
                         ec_status_t *st)
{
    ec_genesis_t *gen = malloc(sizeof *gen);
    if (!gen)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    int rc = cl_main_genesis(cl, NULL, gen) ? s_cl_error(cl, st, "proof") : 0;
    ec_writer_t w;
    ec_writer_init(&w);
    if (rc == 0 && cl_proof_build(cl, share, g->tx, wait_ms, true, &w) != 0)
        rc = s_cl_error(cl, st, "proof");
    ec_bundle_info_t info;
    memset(&info, 0, sizeof info);
    ec_status_t why = {0};
    if (rc == 0 && ec_bundle_verify(ec_writer_data(&w), ec_writer_size(&w), gen->chain_id,
                                    &gen->validators, NULL, &info, &why) != 0)
        rc = ec_status_set(st, why.code ? why.code : EC_EPROOF, "proof: does not verify: %s",
                           why.msg);
    if (rc == 0)
        rc = s_proven(&info, ec_writer_data(&w), ec_writer_size(&w), share, g, st);
    ec_writer_fini(&w);
    free(gen);
    return rc;
}

/* ---- the whole check ------------------------------------------------------------------------ */

int ods_grant_check(cl_ctx_t *cl, const ods_grant_opts_t *opts, const uint8_t tx[EC_HASH_BYTES],
                    uint64_t now_ms, ods_grant_t *out, ec_status_t *st)
{
    memset(out, 0, sizeof *out);
    memcpy(out->tx, tx, EC_HASH_BYTES);
    cl_clear_error(cl);
    cl_chain_t *share = cl_side(cl, opts->share_type);
    int rc = share ? 0 : s_cl_error(cl, st, "config");
    if (rc == 0)
        rc = s_check_result(cl, share, out, st);
    if (rc == 0)
        rc = s_check_directory(cl, share, opts->registry, out, st);
    if (rc == 0)
        rc = s_check_proof(cl, share, opts->wait_ms, out, st);
    /* (d): a grant is good for ttl_ms from its block (as often as its holder asks: only
     * the holder's key opens what it yields). A block time ahead
     * of our clock by more than the skew a put may have is a clock to fix, not a grant. */
    if (rc == 0 && out->time_ms > now_ms + EC_ODS_SKEW_MS)
        rc = ec_status_set(st, EC_ESTALE,
                           "fresh: the grant's block time is %llu ms ahead of this ODS's clock",
                           (unsigned long long)(out->time_ms - now_ms));
    else if (rc == 0 && out->time_ms + opts->ttl_ms < now_ms)
        rc = ec_status_set(
            st, EC_ESTALE, "fresh: the grant is %llu ms old, more than %llu ms: request again",
            (unsigned long long)(now_ms - out->time_ms), (unsigned long long)opts->ttl_ms);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}
