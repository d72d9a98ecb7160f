/*
 * cmd_audit.c - what a supervisor reads: `ecert audit cert` (every transaction applied to
 * a certificate, in order, each with its time, sender and a verified proof against the main
 * genesis) and `ecert audit identity` (an account's main-chain facts, each record proven
 * against a main header, and the audit of every certificate it holds on every side chain).
 * Everything read is public chain data; nothing sealed is opened.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_commands.h"

#define S_WAIT_MS_DEFAULT 10000
#define S_RECORDS_PAGE 256
#define S_HOLDER_PAGE 1000

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
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 3);
    ec_write_cstr(&w, address);
    ec_write_nil(&w);
    ec_write_uint(&w, S_HOLDER_PAGE);
    ec_rpc_reply_t r;
    int rc = cl_query(ctx, side, "certs_by_holder", &w, &r, 0);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    ec_cur_t c;
    ec_cur_open_max(&c, r.result, S_HOLDER_PAGE);
    for (uint32_t i = 0; rc == 0 && !c.err && i < c.count; i++) {
        ec_cur_t e;
        uint8_t id[EC_HASH_BYTES];
        uint64_t height = 0;
        char org[EC_ORG_CODE_MAX], status[32], hex[2 * EC_HASH_BYTES + 1];
        ec_cur_enter(&c, &e, 4);
        ec_cur_bin_fixed(&e, id, sizeof id);
        ec_cur_uint(&e, &height);
        ec_cur_str_copy(&e, org, sizeof org);
        ec_cur_str_copy(&e, status, sizeof status);
        ec_cur_fold(&c, &e);
        if (c.err)
            break;
        ec_hex(hex, id, sizeof id);
        cl_out(ctx, "  certificate %s (%s, organization %s, %s)\n", hex, side->type, org, status);
        json_t *entries = NULL;
        rc = s_audit_cert(ctx, side, g, id, wait_ms, "    ", &entries);
        json_array_append_new(certs,
                              json_pack("{s:s,s:s,s:s,s:s,s:o}", "cert_id", hex, "type", side->type,
                                        "org_code", org, "status", status, "entries", entries));
    }
    int bad = ec_cur_finish(&c);
    ec_rpc_reply_fini(&r);
    return rc ? rc : bad ? cl_garbled(ctx, side, "query certs_by_holder") : 0;
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
