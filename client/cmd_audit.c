/*
 * cmd_audit.c - what a supervisor and a billing office read: `ecert usage` (an
 * organization's inspections in a period, metered), `ecert audit cert` (every transaction applied
 * to a certificate, in order, each with its time, sender and a verified proof against the main
 * genesis) and `ecert audit identity` (an account's main-chain facts, each record proven
 * against a main header, and the audit of every certificate it holds on every side chain).
 * Everything read is public chain data; nothing sealed is opened.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cl_commands.h"
#include "cl_contract.h"

#define S_WAIT_MS_DEFAULT 10000
#define S_RECORDS_PAGE 256

/* One audited transaction: its bundle fetched and verified. */
typedef struct {
    ec_bundle_info_t info;
    uint64_t time_ms; /* its side block's time                                      */
} s_checked_t;

/* Fetches and verifies the proof of side-chain transaction tx (cl_proof_build, then
 * ec_bundle_verify against g for the facts). 0 or 1. */
static int s_check_tx(cl_ctx_t *ctx, cl_chain_t *side, const ec_genesis_t *g,
                      const uint8_t tx[EC_HASH_BYTES], uint64_t wait_ms, s_checked_t *out)
{
    ec_writer_t w;
    ec_writer_init(&w);
    int rc = cl_proof_build(ctx, side, tx, wait_ms, true, &w);
    ec_status_t st = {0};
    if (rc == 0 && ec_bundle_verify(ec_writer_data(&w), ec_writer_size(&w), g->chain_id,
                                    &g->validators, NULL, &out->info, &st) != 0)
        rc = cl_fail(ctx, st.code, "proof does not verify: %s", st.msg);
    ec_bundle_t *b = rc == 0 ? malloc(sizeof *b) : NULL;
    if (rc == 0 && !b)
        rc = cl_fail(ctx, EC_ENOMEM, "out of memory");
    if (rc == 0 && ec_bundle_decode(b, ec_writer_data(&w), ec_writer_size(&w)) == 0) {
        ec_header_t h;
        if (ec_header_decode(&h, b->parts.side_header, b->parts.side_header_size) == 0)
            out->time_ms = h.time_ms;
        ec_bundle_fini(b);
    }
    free(b);
    ec_writer_fini(&w);
    return rc;
}

/*
 * Audits one certificate: its history, each entry proven. Prints a table (with `indent`)
 * and returns its JSON array in *list. 0, or 1 (a proof that fails, or an entry whose
 * proof says otherwise than the history: recorded).
 */
static int s_audit_cert(cl_ctx_t *ctx, cl_chain_t *side, const ec_genesis_t *g,
                        const uint8_t id[EC_HASH_BYTES], uint64_t wait_ms, const char *indent,
                        json_t **list)
{
    *list = json_array();
    cl_history_t h;
    int rc = cl_history_get(ctx, side, id, &h);
    if (rc)
        return rc;
    cl_out(ctx, "%s%-24s  %-9s  %-44s  %7s  %7s  %s\n", indent, "time", "action", "by", "height",
           "main", "transaction (proof verified)");
    for (size_t i = 0; rc == 0 && i < h.count; i++) {
        const cl_history_entry_t *x = &h.items[i];
        s_checked_t c;
        memset(&c, 0, sizeof c);
        char tx_hex[2 * EC_HASH_BYTES + 1], by[EC_ADDR_MAX], when[40];
        ec_hex(tx_hex, x->tx, sizeof x->tx);
        rc = s_check_tx(ctx, side, g, x->tx, wait_ms, &c);
        if (rc)
            break;
        if (c.info.tx_type != x->type || c.info.side_height != x->height ||
            c.info.result_code != 0) {
            rc = cl_fail(ctx, EC_EPROOF,
                         "history entry %zu (%s at height %llu) is not what its proof shows "
                         "(%s at height %llu, code %d)",
                         i, ec_tx_type_name(EC_CHAIN_SIDE, x->type), (unsigned long long)x->height,
                         ec_tx_type_name(EC_CHAIN_SIDE, c.info.tx_type),
                         (unsigned long long)c.info.side_height, (int)c.info.result_code);
            break;
        }
        ec_address_from_pk(by, c.info.sender);
        cl_format_time(when, sizeof when, c.time_ms);
        const char *name = ec_tx_type_name(EC_CHAIN_SIDE, x->type);
        cl_out(ctx, "%s%-24s  %-9s  %-44s  %7llu  %7llu  %s\n", indent, when, name, by,
               (unsigned long long)x->height, (unsigned long long)c.info.main_height, tx_hex);
        json_array_append_new(
            *list, json_pack("{s:I,s:s,s:I,s:s,s:I,s:I,s:s,s:I,s:b}", "seq", (json_int_t)i,
                             "action", name, "time_ms", (json_int_t)c.time_ms, "by", by, "height",
                             (json_int_t)x->height, "main_height", (json_int_t)c.info.main_height,
                             "tx", tx_hex, "version", (json_int_t)x->version, "verified", 1));
    }
    cl_history_fini(&h);
    return rc;
}

static const char s_help_cert[] =
    "usage: ecert audit cert --type TYPE --cert TXHASH [--main-genesis FILE] [--wait-ms N]\n\n"
    "Lists, in time order, every transaction applied to a certificate (issue,\n"
    "acknowledgement, inspections, renewals, changes, suspensions, reinstatement,\n"
    "cancellation, revocation, erasure): its time, action, sender, side block and the main\n"
    "block that anchored it. Each entry's proof is fetched and verified against the main\n"
    "genesis, as 'ecert verify' would, and must show that very transaction applied: any\n"
    "entry that does not verify stops the audit with exit 1.\n\n"
    "Options:\n"
    "  --type TYPE           certificate type\n"
    "  --cert TXHASH         the certificate id\n"
    "  --main-genesis FILE   the trusted main genesis (default: main.genesis in the config)\n"
    "  --wait-ms N           how long to wait for the newest entries' anchoring (default "
    "10000)\n"
    "\nExample:\n  ecert audit cert --type degree --cert 3fa9...c2d1\n" CL_GLOBAL_NOTE;

int cmd_audit_cert(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *type = NULL, *genesis_path = NULL;
    uint8_t id[EC_HASH_BYTES];
    bool have_id = false;
    uint64_t wait_ms = S_WAIT_MS_DEFAULT;
    const cl_opt_t opts[] = {{"type", CL_ARG_STR, &type},
                             {"cert", CL_ARG_HASH, id, &have_id},
                             {"main-genesis", CL_ARG_STR, &genesis_path},
                             {"wait-ms", CL_ARG_U64, &wait_ms},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_cert, NULL);
    if (rc >= 0)
        return rc;
    if (!type)
        return cl_missing(ctx, "--type");
    if (!have_id)
        return cl_missing(ctx, "--cert");
    ec_genesis_t g;
    cl_chain_t *side = cl_side(ctx, type);
    if (!side || cl_main_genesis(ctx, genesis_path, &g))
        return 1;
    char id_hex[2 * EC_HASH_BYTES + 1];
    ec_hex(id_hex, id, sizeof id);
    cl_out(ctx, "audit of certificate %s (%s)\n", id_hex, side->chain_id);
    json_t *list = NULL;
    rc = s_audit_cert(ctx, side, &g, id, wait_ms, "", &list);
    if (rc) {
        json_decref(list);
        return rc;
    }
    cl_out(ctx, "%zu entries, each proven against the main genesis of %s\n", json_array_size(list),
           g.chain_id);
    return cl_emit(ctx, json_pack("{s:s,s:s,s:o}", "cert_id", id_hex, "chain_id", side->chain_id,
                                  "entries", list));
}

/* ---- decision ---------------------------------------------------------------------------- */

#define S_TRAIL_MAX 16 /* steps of a contract's audit trail that are checked             */

typedef struct {
    char what[128];
    uint8_t tx[EC_HASH_BYTES];
} s_step_t;

/*
 * The contract's own account of decision `id`: its read-only audit_trail(id), a list of
 * {what, tx} (tx: 64 hex digits). Returns the steps found (0 when the contract has no
 * such function or lists none); a reply that does not read is recorded and returns -1.
 */
static int s_trail(cl_ctx_t *ctx, cl_chain_t *side, const char *name, uint64_t id, s_step_t *steps)
{
    ec_writer_t args;
    ec_writer_init(&args);
    ec_write_array(&args, 1);
    ec_write_uint(&args, id);
    cl_cvalue_t cv;
    int rc = cl_contract_query(ctx, side, name, "audit_trail", &args, &cv);
    ec_writer_fini(&args);
    if (rc) { /* no such function (ECONTRACT), or nothing to add: the decision alone */
        cl_clear_error(ctx);
        return 0;
    }
    int n = 0;
    bool ok = cv.v->type == MSGPACK_OBJECT_ARRAY;
    for (uint32_t i = 0; ok && i < cv.v->via.array.size && n < S_TRAIL_MAX; i++) {
        char hex[2 * EC_HASH_BYTES + 1];
        const msgpack_object *e = &cv.v->via.array.ptr[i];
        ok = cl_cv_str(e, "what", steps[n].what, sizeof steps[n].what) &&
             cl_cv_str(e, "tx", hex, sizeof hex) && cl_parse_hash(ctx, "tx", hex, steps[n].tx) == 0;
        n++;
    }
    cl_cvalue_fini(&cv);
    if (!ok) {
        cl_garbled(ctx, side, "audit_trail");
        return -1;
    }
    return n;
}

static const char s_help_decision[] =
    "usage: ecert audit decision --type TYPE --name CONTRACT --id ID [--main-genesis FILE]\n"
    "                            [--wait-ms N]\n\n"
    "The whole path of an escalated decision of a contract: the transaction that escalated\n"
    "it, the decision and who made it, and every further step the contract lists for it\n"
    "(its read-only audit_trail(ID), when it has one: for the business-license rule, the\n"
    "license certificate issued and the issuance recorded). Each transaction's proof is\n"
    "fetched and verified against the main genesis and must show it applied; a certificate\n"
    "on the path is audited in full as 'ecert audit cert' does. Exit 1 when a step does\n"
    "not verify.\n\n"
    "Options:\n"
    "  --type TYPE           the side chain\n"
    "  --name CONTRACT       the contract\n"
    "  --id ID               the decision\n"
    "  --main-genesis FILE   the trusted main genesis (default: main.genesis in the config)\n"
    "  --wait-ms N           how long to wait for anchoring (default 10000)\n"
    "\nExample:\n  ecert audit decision --type license --name license --id 1\n" CL_GLOBAL_NOTE;

int cmd_audit_decision(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *type = NULL, *name = NULL, *genesis_path = NULL;
    uint64_t id = 0, wait_ms = S_WAIT_MS_DEFAULT;
    const cl_opt_t opts[] = {
        {"type", CL_ARG_STR, &type},       {"name", CL_ARG_STR, &name},
        {"id", CL_ARG_U64, &id},           {"main-genesis", CL_ARG_STR, &genesis_path},
        {"wait-ms", CL_ARG_U64, &wait_ms}, {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_decision, NULL);
    if (rc >= 0)
        return rc;
    if (!type || !name || !id)
        return cl_missing(ctx, !type ? "--type" : !name ? "--name" : "--id");
    ec_genesis_t g;
    cl_chain_t *side = cl_side(ctx, type);
    if (!side || cl_main_genesis(ctx, genesis_path, &g))
        return 1;
    ec_writer_t q;
    ec_writer_init(&q);
    ec_write_array(&q, 2);
    ec_write_cstr(&q, name);
    ec_write_uint(&q, id);
    ec_rpc_reply_t r;
    rc = cl_query(ctx, side, "decision", &q, &r, 0);
    ec_writer_fini(&q);
    if (rc)
        return rc;
    s_step_t steps[2 + S_TRAIL_MAX];
    cl_decision_t d;
    rc = cl_decision_read(&d, r.result);
    ec_rpc_reply_fini(&r); /* d's request and decision are not used below */
    if (rc)
        return cl_garbled(ctx, side, "decision");
    bool decided = d.decided_height != 0;
    size_t n = 1;
    memcpy(steps[0].tx, d.tx, EC_HASH_BYTES);
    snprintf(steps[0].what, sizeof steps[0].what, "escalated");
    if (decided) {
        snprintf(steps[1].what, sizeof steps[1].what, "decided by %s", d.decider);
        memcpy(steps[1].tx, d.decide_tx, EC_HASH_BYTES);
        n = 2;
    }
    int t = s_trail(ctx, side, name, id, steps + n);
    if (t < 0)
        return 1;
    /* A step the contract also names (the escalating call, the decision) is shown once,
     * with both descriptions. */
    for (size_t i = n, end = n + (size_t)t; i < end; i++) {
        size_t j = 0;
        while (j < n && memcmp(steps[j].tx, steps[i].tx, EC_HASH_BYTES) != 0)
            j++;
        if (j == n) {
            steps[n++] = steps[i];
            continue;
        }
        char both[sizeof steps[j].what];
        snprintf(both, sizeof both, "%s; %s", steps[j].what, steps[i].what);
        memcpy(steps[j].what, both, sizeof both);
    }
    cl_out(ctx, "audit of decision %llu of contract %s (%s): %s\n", (unsigned long long)id, name,
           side->chain_id, decided ? "decided" : "pending");
    cl_out(ctx, "%-24s  %-15s  %-44s  %7s  %7s  %s\n", "time", "action", "by", "height", "main",
           "step (transaction proof verified)");
    json_t *list = json_array();
    for (size_t i = 0; rc == 0 && i < n; i++) {
        s_checked_t c;
        memset(&c, 0, sizeof c);
        rc = s_check_tx(ctx, side, &g, steps[i].tx, wait_ms, &c);
        if (rc == 0 && c.info.result_code != 0)
            rc = cl_fail(ctx, EC_EPROOF, "step '%s' was refused by the chain (code %d)",
                         steps[i].what, (int)c.info.result_code);
        if (rc)
            break;
        char tx_hex[2 * EC_HASH_BYTES + 1], by[EC_ADDR_MAX], when[40];
        ec_hex(tx_hex, steps[i].tx, EC_HASH_BYTES);
        ec_address_from_pk(by, c.info.sender);
        cl_format_time(when, sizeof when, c.time_ms);
        const char *action = ec_tx_type_name(EC_CHAIN_SIDE, c.info.tx_type);
        cl_out(ctx, "%-24s  %-15s  %-44s  %7llu  %7llu  %s\n%26s%s\n", when, action, by,
               (unsigned long long)c.info.side_height, (unsigned long long)c.info.main_height,
               steps[i].what, "tx ", tx_hex);
        json_t *step = json_pack("{s:s,s:s,s:I,s:s,s:I,s:I,s:s,s:b}", "step", steps[i].what,
                                 "action", action, "time_ms", (json_int_t)c.time_ms, "by", by,
                                 "height", (json_int_t)c.info.side_height, "main_height",
                                 (json_int_t)c.info.main_height, "tx", tx_hex, "verified", 1);
        if (c.info.tx_type == EC_STX_ISSUE) {
            json_t *hist = NULL;
            rc = s_audit_cert(ctx, side, &g, steps[i].tx, wait_ms, "      ", &hist);
            json_object_set_new(step, "certificate", hist ? hist : json_null());
        }
        json_array_append_new(list, step);
    }
    if (rc) {
        json_decref(list);
        return rc;
    }
    cl_out(ctx, "%zu steps, each proven against the main genesis of %s\n", n, g.chain_id);
    return cl_emit(ctx, json_pack("{s:s,s:I,s:s,s:s,s:o}", "name", name, "id", (json_int_t)id,
                                  "state", decided ? "decided" : "pending", "chain_id",
                                  side->chain_id, "steps", list));
}

/* ---- identity ---------------------------------------------------------------------------- */

/* The main chain's tip header (`header [0]`), decoded. 0 or 1. */
static int s_main_tip(cl_ctx_t *ctx, cl_chain_t *main, ec_header_t *h)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 1);
    ec_write_uint(&w, 0);
    ec_rpc_reply_t r;
    int rc = cl_call(ctx, main, "header", &w, &r, 0);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    const uint8_t *bytes, *commit;
    size_t size, commit_size;
    ec_cur_t c;
    ec_cur_open(&c, r.result, 2);
    ec_cur_bin(&c, &bytes, &size, EC_TX_BYTES_MAX);
    ec_cur_bin(&c, &commit, &commit_size, EC_TX_BYTES_MAX);
    rc = ec_cur_finish(&c);
    if (rc == 0)
        rc = ec_header_decode(h, bytes, size);
    ec_rpc_reply_fini(&r);
    return rc ? cl_garbled(ctx, main, "header") : 0;
}

/* Describes a main-chain record about an account, for the listing. */
static void s_record_text(char *out, size_t cap, const ec_record_t *r)
{
    switch (r->kind) {
        case EC_REC_ROLE_GRANT:
        case EC_REC_ROLE_REVOKE:
            snprintf(
                out, cap, "%s %s%s%s%s%s", r->kind == EC_REC_ROLE_GRANT ? "granted" : "revoked",
                ec_role_name(r->role) ? ec_role_name(r->role) : "?", r->cert_type[0] ? " for " : "",
                r->cert_type, r->org_code[0] ? " of " : "", r->org_code);
            break;
        case EC_REC_ATTEST:
            snprintf(out, cap, "identity attested by a certification authority");
            break;
        case EC_REC_KEY: {
            static const uint8_t zero[EC_PK_BYTES];
            char hex[2 * EC_PK_BYTES + 1];
            ec_hex(hex, r->key, EC_PK_BYTES);
            if (memcmp(r->key, zero, EC_PK_BYTES) == 0)
                snprintf(out, cap, "signing key revoked");
            else
                snprintf(out, cap, "signs with key %.16s... from now on", hex);
            break;
        }
        default:
            snprintf(out, cap, "validator of %s, power %llu", r->chain_id,
                     (unsigned long long)r->power);
    }
}

/*
 * Every main-chain record about pk, as of the tip: each proven against the records_root,
 * which with the count and digest must give the tip header's state_root. Prints them and
 * appends them to list. 0 or 1.
 */
static int s_audit_records(cl_ctx_t *ctx, cl_chain_t *main, const uint8_t pk[EC_PK_BYTES],
                           json_t *list)
{
    ec_header_t tip;
    int rc = s_main_tip(ctx, main, &tip);
    for (uint64_t from = 0, count = 1; rc == 0 && from < count;) {
        ec_writer_t w;
        ec_writer_init(&w);
        ec_write_array(&w, 3);
        ec_write_uint(&w, tip.height);
        ec_write_uint(&w, from);
        ec_write_uint(&w, S_RECORDS_PAGE);
        ec_rpc_reply_t r;
        rc = cl_query(ctx, main, "records", &w, &r, 0);
        ec_writer_fini(&w);
        if (rc)
            break;
        ec_cur_t c, items;
        uint8_t root[EC_HASH_BYTES], digest[EC_HASH_BYTES], state[EC_HASH_BYTES];
        ec_cur_open(&c, r.result, 4);
        ec_cur_uint(&c, &count);
        ec_cur_bin_fixed(&c, root, sizeof root);
        ec_cur_bin_fixed(&c, digest, sizeof digest);
        ec_cur_enter_max(&c, &items, S_RECORDS_PAGE);
        ec_main_state_root(state, root, count, digest);
        if (!c.err && memcmp(state, tip.state_root, EC_HASH_BYTES) != 0)
            ec_cur_fail(&c, EC_EPROOF);
        uint32_t n = items.count;
        for (uint32_t i = 0; i < n && !c.err; i++) {
            ec_cur_t e;
            const uint8_t *bytes;
            size_t size;
            ec_hash32_t path[EC_MERKLE_PROOF_MAX];
            size_t path_len = 0;
            uint8_t leaf[EC_HASH_BYTES];
            ec_record_t rec;
            ec_cur_enter(&items, &e, 2);
            ec_cur_bin(&e, &bytes, &size, 1024);
            ec_cur_path(&e, path, &path_len);
            ec_cur_fold(&items, &e);
            if (items.err)
                break;
            ec_record_leaf(leaf, bytes, size);
            if (ec_record_decode(&rec, bytes, size) != 0 || rec.seq != from + i ||
                ec_merkle_inclusion_verify(leaf, rec.seq, count, path, path_len, root) != 0) {
                ec_cur_fail(&items, EC_EPROOF);
                break;
            }
            if (memcmp(rec.pk, pk, EC_PK_BYTES) != 0)
                continue;
            char text[200];
            s_record_text(text, sizeof text, &rec);
            cl_out(ctx, "  record %-6llu %s\n", (unsigned long long)rec.seq, text);
            json_array_append_new(list,
                                  json_pack("{s:I,s:s}", "seq", (json_int_t)rec.seq, "fact", text));
        }
        ec_cur_fold(&c, &items);
        int bad = ec_cur_finish(&c);
        ec_rpc_reply_fini(&r);
        if (bad == EC_EPROOF)
            rc = cl_fail(ctx, EC_EPROOF,
                         "a main-chain record does not prove against main block %llu",
                         (unsigned long long)tip.height);
        else if (bad || n == 0)
            rc = count == 0 ? 0 : cl_garbled(ctx, main, "query records");
        from += n;
    }
    if (rc == 0)
        cl_out(ctx, "  (records proven against main block %llu)\n", (unsigned long long)tip.height);
    return rc;
}

static const char s_help_identity[] =
    "usage: ecert audit identity --address ADDR [--main-genesis FILE] [--wait-ms N]\n\n"
    "Everything the chains hold about one identity: its account on the main chain (name,\n"
    "registration, attestation), every main-chain record about it (roles granted and\n"
    "revoked, attestation, validator changes), each proven against the main chain's newest\n"
    "block, and on every side chain in the client config each certificate it holds, with\n"
    "the audit of each ('ecert audit cert'): every transaction, in time order, proven\n"
    "against the main genesis.\n\n"
    "Options:\n"
    "  --address ADDR        the identity's address\n"
    "  --main-genesis FILE   the trusted main genesis (default: main.genesis in the config)\n"
    "  --wait-ms N           how long to wait for the newest entries' anchoring (default "
    "10000)\n"
    "\nExample:\n  ecert audit identity --address ec1q...\n" CL_GLOBAL_NOTE;

/* Certificates of `address` on side chain `side`, each audited. 0 or 1. */
static int s_audit_holder(cl_ctx_t *ctx, cl_chain_t *side, const ec_genesis_t *g,
                          const char *address, uint64_t wait_ms, json_t *certs)
{
    cl_holder_certs_t l;
    int rc = cl_holder_certs_get(ctx, side, address, &l);
    for (size_t i = 0; rc == 0 && i < l.count; i++) {
        const cl_holder_cert_t *x = &l.items[i];
        char hex[2 * EC_HASH_BYTES + 1];
        ec_hex(hex, x->id, sizeof x->id);
        cl_out(ctx, "  certificate %s (%s, organization %s, %s)\n", hex, side->type, x->org_code,
               x->status);
        json_t *entries = NULL;
        rc = s_audit_cert(ctx, side, g, x->id, wait_ms, "    ", &entries);
        json_array_append_new(certs, json_pack("{s:s,s:s,s:s,s:s,s:o}", "cert_id", hex, "type",
                                               side->type, "org_code", x->org_code, "status",
                                               x->status, "entries", entries));
    }
    cl_holder_certs_fini(&l);
    return rc;
}

int cmd_audit_identity(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *address = NULL, *genesis_path = NULL;
    uint64_t wait_ms = S_WAIT_MS_DEFAULT;
    const cl_opt_t opts[] = {{"address", CL_ARG_ADDRESS, &address},
                             {"main-genesis", CL_ARG_STR, &genesis_path},
                             {"wait-ms", CL_ARG_U64, &wait_ms},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_identity, NULL);
    if (rc >= 0)
        return rc;
    if (!address)
        return cl_missing(ctx, "--address");
    ec_genesis_t g;
    cl_chain_t *main = cl_main(ctx);
    cl_config_t *cfg = main ? cl_config(ctx) : NULL;
    if (!cfg || cl_main_genesis(ctx, genesis_path, &g))
        return 1;
    cl_account_t *acc = malloc(sizeof *acc);
    if (!acc)
        return cl_fail(ctx, EC_ENOMEM, "out of memory");
    rc = cl_account_get(ctx, address, acc);
    json_t *records = json_array(), *certs = json_array();
    if (rc == 0) {
        cl_out(ctx, "audit of %s (%s)\nmain chain %s: registered at block %llu, %s, %zu role(s)\n",
               address, acc->name, main->chain_id, (unsigned long long)acc->height,
               acc->attested ? "attested" : "not attested", acc->role_count);
        rc = s_audit_records(ctx, main, acc->pk, records);
    }
    for (size_t i = 0; rc == 0 && i < cfg->side_count; i++) {
        cl_chain_t *side = cl_side(ctx, cfg->sides[i].type);
        if (!side) {
            rc = 1;
            break;
        }
        cl_out(ctx, "side chain %s (%s):\n", side->chain_id, side->type);
        size_t before = json_array_size(certs);
        rc = s_audit_holder(ctx, side, &g, address, wait_ms, certs);
        if (rc == 0 && json_array_size(certs) == before)
            cl_out(ctx, "  no certificate\n");
    }
    json_t *obj = rc ? NULL
                     : json_pack("{s:s,s:s,s:I,s:b,s:o,s:o}", "address", address, "name", acc->name,
                                 "registered_height", (json_int_t)acc->height, "attested",
                                 acc->attested, "records", records, "certificates", certs);
    free(acc);
    if (rc) {
        json_decref(records);
        json_decref(certs);
        return rc;
    }
    return cl_emit(ctx, obj);
}

/* ---- usage (metering) ---------------------------------------------------------------------- */

#define S_USAGE_PAGE 1000

/* Parses a time: ms since the epoch, YYYY-MM-DD (UTC midnight) or YYYY-MM-DDTHH:MM:SSZ.
 * 0 or 2 (usage error). */
static int s_parse_time(cl_ctx_t *ctx, const char *opt, const char *s, uint64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end) {
        memset(&tm, 0, sizeof tm);
        end = strptime(s, "%Y-%m-%d", &tm);
    }
    if (end && !*end) {
        time_t t = timegm(&tm);
        if (t < 0)
            return cl_usage(ctx, "%s: %s is before 1970", opt, s);
        *out = (uint64_t)t * 1000;
        return 0;
    }
    return cl_parse_u64(ctx, opt, s, out) == 0
               ? 0
               : cl_usage(ctx, "%s: a date (2026-11-01, 2026-11-01T08:00:00Z) or ms since 1970",
                          opt);
}

/* Writes one CSV field: quoted, with quotes doubled (RFC 4180). */
static void s_csv_field(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            putchar('"');
        putchar(s[i]);
    }
    putchar('"');
}

/* The organization's name and billing class from the main chain. 0 or 1. */
static int s_org_get(cl_ctx_t *ctx, cl_chain_t *main, const char *code, char *name, size_t name_cap,
                     char *billing, size_t billing_cap)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 1);
    ec_write_cstr(&w, code);
    ec_rpc_reply_t r;
    int rc = cl_query(ctx, main, "org", &w, &r, 0);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    char got[EC_ORG_CODE_MAX];
    uint64_t height = 0;
    ec_cur_t c;
    ec_cur_open(&c, r.result, 4);
    ec_cur_str_copy(&c, got, sizeof got);
    ec_cur_str_copy(&c, name, name_cap);
    ec_cur_uint(&c, &height);
    ec_cur_str_copy(&c, billing, billing_cap);
    rc = ec_cur_finish(&c);
    ec_rpc_reply_fini(&r);
    return rc || strcmp(got, code) != 0 ? cl_garbled(ctx, main, "query org") : 0;
}

/* One side chain's inspections by org in [from, to): appended to the chain's JSON object
 * (inspections, verdicts, count) and printed (CSV rows with csv). 0 or 1. */
static int s_usage_chain(cl_ctx_t *ctx, cl_chain_t *side, const char *org, const char *billing,
                         uint64_t from, uint64_t to, bool csv, json_t *chain)
{
    json_t *list = json_array(), *verdicts = json_object();
    json_object_set_new(chain, "inspections", list);
    json_object_set_new(chain, "verdicts", verdicts);
    bool have_after = false;
    uint64_t after_time = 0, after_height = 0;
    uint8_t after_tx[EC_HASH_BYTES];
    size_t count = 0;
    for (;;) {
        ec_writer_t w;
        ec_writer_init(&w);
        ec_write_array(&w, 4);
        ec_write_cstr(&w, org);
        ec_write_uint(&w, from);
        ec_write_uint(&w, to);
        if (have_after) {
            ec_write_array(&w, 3);
            ec_write_uint(&w, after_time);
            ec_write_uint(&w, after_height);
            ec_write_bin(&w, after_tx, sizeof after_tx);
        } else {
            ec_write_nil(&w);
        }
        ec_rpc_reply_t r;
        int rc = cl_query(ctx, side, "usage", &w, &r, 0);
        ec_writer_fini(&w);
        if (rc)
            return rc;
        ec_cur_t c;
        ec_cur_open_max(&c, r.result, S_USAGE_PAGE);
        uint32_t n = c.err ? 0 : c.count;
        for (uint32_t i = 0; i < n && !c.err; i++) {
            ec_cur_t e;
            uint8_t cert[EC_HASH_BYTES];
            const char *verdict = NULL;
            size_t verdict_len = 0;
            ec_cur_enter(&c, &e, 5);
            ec_cur_uint(&e, &after_time);
            ec_cur_uint(&e, &after_height);
            ec_cur_bin_fixed(&e, after_tx, sizeof after_tx);
            ec_cur_bin_fixed(&e, cert, sizeof cert);
            ec_cur_str(&e, &verdict, &verdict_len, EC_VERDICT_MAX - 1);
            ec_cur_fold(&c, &e);
            if (c.err)
                break;
            char tx_hex[2 * EC_HASH_BYTES + 1], cert_hex[2 * EC_HASH_BYTES + 1], when[40];
            ec_hex(tx_hex, after_tx, sizeof after_tx);
            ec_hex(cert_hex, cert, sizeof cert);
            cl_format_time(when, sizeof when, after_time);
            json_t *v = json_stringn(verdict, verdict_len);
            if (!v) /* not UTF-8: the chain checked it is; a garbled reply then */
                ec_cur_fail(&c, EC_EINVAL);
            else {
                json_t *seen = json_object_get(verdicts, json_string_value(v));
                json_object_set_new(verdicts, json_string_value(v),
                                    json_integer(seen ? json_integer_value(seen) + 1 : 1));
                json_array_append_new(list, json_pack("{s:I,s:I,s:s,s:s,s:o}", "time_ms",
                                                      (json_int_t)after_time, "height",
                                                      (json_int_t)after_height, "tx", tx_hex,
                                                      "cert_id", cert_hex, "verdict", v));
            }
            if (csv) {
                printf("%s,%s,%s,%s,%s,%llu,%llu,%s,%s,", org, billing, side->type, side->chain_id,
                       when, (unsigned long long)after_time, (unsigned long long)after_height,
                       tx_hex, cert_hex);
                s_csv_field(verdict, verdict_len);
                putchar('\n');
            }
            count++;
        }
        int bad = ec_cur_finish(&c);
        ec_rpc_reply_fini(&r);
        if (bad)
            return cl_garbled(ctx, side, "query usage");
        have_after = true;
        if (n < S_USAGE_PAGE)
            break;
    }
    json_object_set_new(chain, "count", json_integer((json_int_t)count));
    return 0;
}

static const char s_help_usage[] =
    "usage: ecert usage --org CODE --from TIME --to TIME [--type TYPE] [--csv]\n\n"
    "Counts the inspections an organization recorded in [--from, --to) (block time), per\n"
    "certificate type, with the verdicts and the transaction hash of each (which\n"
    "'ecert cert proof --tx' proves), and whether they are billed: an organization\n"
    "registered as commercial pays for its inspections, a public-service one does not.\n"
    "--csv prints one row per inspection for a billing office; --json one object.\n\n"
    "Options:\n"
    "  --org CODE      the inspecting organization\n"
    "  --from TIME     start, included: 2026-11-01, 2026-11-01T08:00:00Z (UTC) or ms\n"
    "  --to TIME       end, excluded, in the same forms\n"
    "  --type TYPE     one certificate type (default: every side chain in the config)\n"
    "  --csv           CSV rows: org_code,billing,type,chain_id,time_utc,time_ms,height,tx,\n"
    "                  cert_id,verdict\n"
    "\nExample:\n  ecert usage --org 91110000MA01 --from 2026-11-01 --to 2026-12-01 "
    "--csv\n" CL_GLOBAL_NOTE;

int cmd_usage(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *org = NULL, *from_s = NULL, *to_s = NULL, *type = NULL;
    bool csv = false;
    const cl_opt_t opts[] = {{"org", CL_ARG_STR, &org},  {"from", CL_ARG_STR, &from_s},
                             {"to", CL_ARG_STR, &to_s},  {"type", CL_ARG_STR, &type},
                             {"csv", CL_ARG_FLAG, &csv}, {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_usage, NULL);
    if (rc >= 0)
        return rc;
    uint64_t from = 0, to = 0;
    if (!org)
        return cl_missing(ctx, "--org");
    if (!from_s)
        return cl_missing(ctx, "--from");
    if (!to_s)
        return cl_missing(ctx, "--to");
    if ((rc = s_parse_time(ctx, "--from", from_s, &from)) ||
        (rc = s_parse_time(ctx, "--to", to_s, &to)))
        return rc;
    if (from > to)
        return cl_usage(ctx, "--from is after --to");
    if (csv && ctx->json)
        return cl_usage(ctx, "give --csv or --json, not both");
    cl_chain_t *main = cl_main(ctx);
    cl_config_t *cfg = main ? cl_config(ctx) : NULL;
    char name[EC_NAME_MAX], billing[16];
    if (!cfg || s_org_get(ctx, main, org, name, sizeof name, billing, sizeof billing))
        return 1;
    bool billed = strcmp(billing, "commercial") == 0;
    char from_t[40], to_t[40];
    cl_format_time(from_t, sizeof from_t, from);
    cl_format_time(to_t, sizeof to_t, to);
    if (csv)
        printf("org_code,billing,type,chain_id,time_utc,time_ms,height,tx,cert_id,verdict\n");
    else
        cl_out(ctx, "inspections by %s (%s, %s: %s) from %s to %s\n", org, name, billing,
               billed ? "billed" : "free of charge", from_t, to_t);
    json_t *chains = json_array();
    json_int_t total = 0;
    for (size_t i = 0; rc == 0 && i < cfg->side_count; i++) {
        if (type && strcmp(cfg->sides[i].type, type) != 0)
            continue;
        cl_chain_t *side = cl_side(ctx, cfg->sides[i].type);
        if (!side) {
            rc = 1;
            break;
        }
        json_t *chain = json_pack("{s:s,s:s}", "type", side->type, "chain_id", side->chain_id);
        json_array_append_new(chains, chain);
        rc = s_usage_chain(ctx, side, org, billing, from, to, csv, chain);
        if (rc)
            break;
        json_int_t n = json_integer_value(json_object_get(chain, "count"));
        total += n;
        if (csv)
            continue;
        cl_out(ctx, "%s (%s): %lld inspection(s)", side->type, side->chain_id, (long long)n);
        const char *v;
        json_t *k;
        const char *sep = "; verdicts: ";
        json_object_foreach(json_object_get(chain, "verdicts"), v, k)
        {
            cl_out(ctx, "%s%s %lld", sep, v, (long long)json_integer_value(k));
            sep = ", ";
        }
        cl_out(ctx, "\n");
        json_t *item;
        size_t j;
        json_array_foreach(json_object_get(chain, "inspections"), j, item)
        {
            char when[40];
            cl_format_time(when, sizeof when,
                           (uint64_t)json_integer_value(json_object_get(item, "time_ms")));
            cl_out(ctx, "  %s  height %-7lld tx %s  %s\n", when,
                   (long long)json_integer_value(json_object_get(item, "height")),
                   json_string_value(json_object_get(item, "tx")),
                   json_string_value(json_object_get(item, "verdict")));
        }
    }
    if (type && json_array_size(chains) == 0 && rc == 0)
        rc = cl_fail(ctx, EC_ECONFIG, "no side chain for certificate type '%s' in %s", type,
                     cfg->path);
    if (rc) {
        json_decref(chains);
        return rc;
    }
    if (!csv)
        cl_out(ctx, "total: %lld inspection(s), %lld billable\n", (long long)total,
               (long long)(billed ? total : 0));
    json_t *obj =
        json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:o}", "org_code", org, "name", name, "billing",
                  billing, "from_ms", (json_int_t)from, "to_ms", (json_int_t)to, "total", total,
                  "billable", billed ? total : 0, "chains", chains);
    if (csv) {
        json_decref(obj);
        fflush(stdout);
        return 0;
    }
    return cl_emit(ctx, obj);
}
