/*
 * cmd_verify.c - proof bundles and status lists: `ecert cert proof` gathers a bundle from
 * the nodes (waiting for the side block to be anchored in the main chain), `ecert
 * status-list fetch` a side chain's certificate status list with the same anchoring proof,
 * and `ecert verify` checks a bundle offline against the main chain's genesis (its chain
 * id and validator set), and the certificate's status with a status list fetched earlier
 * (offline, its age shown) or now (--online).
 *
 * The chain of evidence (ec_bundle.h):
 *   tx --tx_root--> side header h --hist_root--> anchored side header a (>= h)
 *      --xanchor_root--> main header --commit--> main validators from the main genesis
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cl_commands.h"
#include "cl_present.h"
#include "cl_qr.h"
#include "ec_slist.h"

#define S_POLL_MS 200
#define S_WAIT_MS_DEFAULT 10000

int cl_main_genesis(cl_ctx_t *ctx, const char *path, ec_genesis_t *g)
{
    if (!path) {
        cl_config_t *cfg = cl_config(ctx);
        if (!cfg)
            return 1;
        if (!cfg->main.genesis[0])
            return cl_fail(ctx, EC_ECONFIG,
                           "no main genesis: give --main-genesis FILE or set main.genesis in %s",
                           cfg->path);
        path = cfg->main.genesis;
    }
    ec_status_t st = {0};
    if (ec_genesis_load(g, path, &st))
        return cl_fail_st(ctx, &st, NULL);
    if (g->kind != EC_CHAIN_MAIN)
        return cl_fail(ctx, EC_ECHAIN, "%s is not a main-chain genesis", path);
    return 0;
}

static void s_sleep_ms(uint32_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* ---- cert proof ------------------------------------------------------------------------- */

/* Everything fetched for one bundle; replies own the bytes the parts borrow. */
typedef struct {
    ec_rpc_reply_t r_txproof, r_hist, r_header, r_anchor, r_tx, r_slist, r_sheader;
    uint64_t slist_count, slist_time_ms; /* a status list's, once verified             */
    uint64_t h, tx_index, tx_count;
    ec_tx_result_t result;
    ec_hash32_t tx_path[EC_MERKLE_PROOF_MAX];
    size_t tx_path_len;
    const uint8_t *side_header;
    size_t side_header_size;
    uint64_t a, main_height, anchor_index;
    ec_hash32_t hist_path[EC_MERKLE_PROOF_MAX];
    size_t hist_path_len;
    const uint8_t *anchored_header;
    size_t anchored_header_size;
    ec_hash32_t anchor_path[EC_MERKLE_PROOF_MAX];
    size_t anchor_path_len;
    const uint8_t *main_header, *main_commit;
    size_t main_header_size, main_commit_size;
    const uint8_t *tx, *payload;
    size_t tx_size, payload_size;
    /* The main chain's validator-set changes up to main_height (ec_bundle.h). */
    ec_bundle_transition_t transitions[EC_BUNDLE_TRANSITIONS_MAX];
    ec_rpc_reply_t r_transitions[EC_BUNDLE_TRANSITIONS_MAX];
    size_t transition_count;
} s_proof_t;

static void s_proof_fini(s_proof_t *p)
{
    ec_rpc_reply_fini(&p->r_txproof);
    ec_rpc_reply_fini(&p->r_hist);
    ec_rpc_reply_fini(&p->r_header);
    ec_rpc_reply_fini(&p->r_anchor);
    ec_rpc_reply_fini(&p->r_tx);
    ec_rpc_reply_fini(&p->r_slist);
    ec_rpc_reply_fini(&p->r_sheader);
    for (size_t i = 0; i < p->transition_count; i++)
        ec_rpc_reply_fini(&p->r_transitions[i]);
}

/* One-element params [x] for a bin32 or a uint. */
static void s_param_bin(ec_writer_t *w, const uint8_t id[EC_HASH_BYTES])
{
    ec_write_array(w, 1);
    ec_write_bin(w, id, EC_HASH_BYTES);
}

/* Side `tx_proof [id]` -> h, index, count, path, header. */
static int s_fetch_tx_proof(cl_ctx_t *ctx, cl_chain_t *side, const uint8_t id[EC_HASH_BYTES],
                            s_proof_t *p)
{
    ec_writer_t w;
    ec_writer_init(&w);
    s_param_bin(&w, id);
    int rc = cl_call(ctx, side, "tx_proof", &w, &p->r_txproof, 0);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    ec_cur_t c;
    int64_t code = 0;
    ec_cur_open(&c, p->r_txproof.result, 8);
    ec_cur_uint(&c, &p->h);
    ec_cur_uint(&c, &p->tx_index);
    ec_cur_uint(&c, &p->tx_count);
    ec_cur_path(&c, p->tx_path, &p->tx_path_len);
    ec_cur_bin(&c, &p->side_header, &p->side_header_size, EC_TX_BYTES_MAX);
    ec_cur_int(&c, &code);
    ec_cur_uint(&c, &p->result.ref);
    ec_cur_uint(&c, &p->result.slot);
    if (ec_cur_finish(&c) || code > 0 || code < -64)
        return cl_garbled(ctx, side, "tx_proof");
    p->result.code = (int32_t)code;
    return 0;
}

/* Main `query anchor_of [chain_id, p->h]` into p->a, p->main_height, p->anchor_index.
 * Returns 0, EC_ENOTFOUND (not anchored yet; nothing recorded) or 1 (recorded). */
static int s_anchor_of(cl_ctx_t *ctx, cl_chain_t *main, const cl_chain_t *side, s_proof_t *p)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 2);
    ec_write_cstr(&w, side->chain_id);
    ec_write_uint(&w, p->h);
    ec_rpc_reply_t r;
    int rc = cl_query(ctx, main, "anchor_of", &w, &r, EC_ENOTFOUND);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    ec_cur_t c;
    ec_cur_open(&c, r.result, 3);
    ec_cur_uint(&c, &p->a);
    ec_cur_uint(&c, &p->main_height);
    ec_cur_uint(&c, &p->anchor_index);
    rc = ec_cur_finish(&c);
    ec_rpc_reply_fini(&r);
    if (rc || p->a < p->h)
        return cl_garbled(ctx, main, "query anchor_of");
    return 0;
}

/* s_anchor_of until it answers or wait_ms passes. 0 or 1 (recorded). */
static int s_wait_anchor(cl_ctx_t *ctx, cl_chain_t *main, const cl_chain_t *side, uint64_t wait_ms,
                         s_proof_t *p)
{
    uint64_t deadline = cl_now_ms() + wait_ms;
    for (;;) {
        int rc = s_anchor_of(ctx, main, side, p);
        if (rc != EC_ENOTFOUND)
            return rc;
        /* Not waiting at all (the gateway): not anchored yet is a state, not a timeout. */
        if (wait_ms == 0)
            return cl_fail(ctx, EC_ESTATE,
                           "block %llu of %s is not anchored in the main chain %s yet",
                           (unsigned long long)p->h, side->chain_id, main->chain_id);
        if (cl_now_ms() >= deadline)
            return cl_fail(ctx, EC_ETIMEOUT,
                           "block %llu of %s was not anchored in the main chain %s within "
                           "%llu ms (is anchord running? retry with a larger --wait-ms)",
                           (unsigned long long)p->h, side->chain_id, main->chain_id,
                           (unsigned long long)wait_ms);
        s_sleep_ms(S_POLL_MS);
    }
}

/* `header [height]` of ch into *r; *header borrows the header bytes from it. 0 or 1. */
static int s_fetch_header(cl_ctx_t *ctx, cl_chain_t *ch, uint64_t height, ec_rpc_reply_t *r,
                          const uint8_t **header, size_t *header_size)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 1);
    ec_write_uint(&w, height);
    int rc = cl_call(ctx, ch, "header", &w, r, 0);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    const uint8_t *commit;
    size_t commit_size;
    ec_cur_t c;
    ec_cur_open(&c, r->result, 2);
    ec_cur_bin(&c, header, header_size, EC_TX_BYTES_MAX);
    ec_cur_bin(&c, &commit, &commit_size, EC_TX_BYTES_MAX);
    if (ec_cur_finish(&c))
        return cl_garbled(ctx, ch, "header");
    return 0;
}

/* When a > h: side `hist_proof [h, a]` and `header [a]`. */
static int s_fetch_history(cl_ctx_t *ctx, cl_chain_t *side, s_proof_t *p)
{
    if (p->a == p->h)
        return 0;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 2);
    ec_write_uint(&w, p->h);
    ec_write_uint(&w, p->a);
    int rc = cl_call(ctx, side, "hist_proof", &w, &p->r_hist, 0);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    /* hist_proof's result is the path itself: [bin32...]. */
    ec_cur_t c;
    ec_cur_open_max(&c, p->r_hist.result, EC_MERKLE_PROOF_MAX);
    p->hist_path_len = c.err ? 0 : c.count;
    for (size_t i = 0; i < p->hist_path_len; i++)
        ec_cur_bin_fixed(&c, p->hist_path[i], EC_HASH_BYTES);
    if (ec_cur_finish(&c))
        return cl_garbled(ctx, side, "hist_proof");
    return s_fetch_header(ctx, side, p->a, &p->r_header, &p->anchored_header,
                          &p->anchored_header_size);
}

/* Main `anchor_proof [main_height, anchor_index]` -> entry, path, header, commit. */
static int s_fetch_anchor_proof(cl_ctx_t *ctx, cl_chain_t *main, s_proof_t *p)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 2);
    ec_write_uint(&w, p->main_height);
    ec_write_uint(&w, p->anchor_index);
    int rc = cl_call(ctx, main, "anchor_proof", &w, &p->r_anchor, 0);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    const uint8_t *entry;
    size_t entry_size;
    ec_cur_t c;
    ec_cur_open(&c, p->r_anchor.result, 4);
    ec_cur_bin(&c, &entry, &entry_size, EC_TX_BYTES_MAX);
    ec_cur_path(&c, p->anchor_path, &p->anchor_path_len);
    ec_cur_bin(&c, &p->main_header, &p->main_header_size, EC_TX_BYTES_MAX);
    ec_cur_bin(&c, &p->main_commit, &p->main_commit_size, EC_TX_BYTES_MAX);
    if (ec_cur_finish(&c))
        return cl_garbled(ctx, main, "anchor_proof");
    return 0;
}

/* Side `tx [id]` -> the transaction and its payload. */
static int s_fetch_tx(cl_ctx_t *ctx, cl_chain_t *side, const uint8_t id[EC_HASH_BYTES],
                      s_proof_t *p)
{
    ec_writer_t w;
    ec_writer_init(&w);
    s_param_bin(&w, id);
    int rc = cl_call(ctx, side, "tx", &w, &p->r_tx, 0);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    uint64_t height = 0, index = 0;
    ec_cur_t c;
    int64_t code = 0;
    uint64_t ref = 0, slot = 0;
    ec_cur_open(&c, p->r_tx.result, 7);
    ec_cur_uint(&c, &height);
    ec_cur_uint(&c, &index);
    ec_cur_bin(&c, &p->tx, &p->tx_size, EC_TX_BYTES_MAX);
    if (ec_cur_peek_nil(&c))
        ec_cur_nil(&c);
    else
        ec_cur_bin(&c, &p->payload, &p->payload_size, EC_PAYLOAD_BYTES_MAX);
    ec_cur_int(&c, &code);
    ec_cur_uint(&c, &ref);
    ec_cur_uint(&c, &slot);
    if (ec_cur_finish(&c) || code != p->result.code || ref != p->result.ref ||
        slot != p->result.slot)
        return cl_garbled(ctx, side, "tx");
    if (height != p->h || index != p->tx_index)
        return cl_fail(ctx, EC_EINVAL,
                       "%s placed the transaction at %llu/%llu in 'tx' but at "
                       "%llu/%llu in 'tx_proof'",
                       side->chain_id, (unsigned long long)height, (unsigned long long)index,
                       (unsigned long long)p->h, (unsigned long long)p->tx_index);
    return 0;
}

static const char s_help_proof[] =
    "usage: ecert cert proof --type TYPE --tx TXHASH (--out FILE | --qr FILE.png | both)\n"
    "                        [--no-payload] [--wait-ms N]\n\n"
    "Fetches a proof bundle for a side-chain transaction (a certificate, an inspection,\n"
    "...): its inclusion in a side block, that block's place in the side chain's history up\n"
    "to the block the main chain anchored, and the main block that accepted the anchor with\n"
    "its commit. Waits up to --wait-ms for the anchor, checks the bundle itself against the\n"
    "main genesis (main.genesis in the config), then writes it (binary, about 2 KB) and/or a\n"
    "QR code PNG of it to show at a service counter. Anyone can check it offline with\n"
    "'ecert verify'.\n\n"
    "Options:\n"
    "  --type TYPE     certificate type (which side chain)\n"
    "  --tx TXHASH     the transaction (for a certificate: its id)\n"
    "  --out FILE      where to write the bundle\n"
    "  --qr FILE.png   where to write the bundle as a QR code (at most 2953 bytes)\n"
    "  --no-payload    leave the sealed certificate data out (a smaller bundle; the\n"
    "                  holder's key then cannot read the fields from it)\n"
    "  --wait-ms N     how long to wait for the anchor (default 10000)\n"
    "\nExample:\n  ecert cert proof --type degree --tx 3fa9...c2d1 --out "
    "degree.proof\n"
    "  ecert cert proof --type degree --tx 3fa9...c2d1 --qr degree.png\n" CL_GLOBAL_NOTE;

/* Writes a verified bundle to `out` and/or as a QR code PNG to `qr`. 0 or 1 (recorded). */
static int s_write_bundle(cl_ctx_t *ctx, const char *out, const char *qr, const uint8_t *bundle,
                          size_t size)
{
    if (out && cl_write_file(ctx, out, bundle, size))
        return 1;
    ec_status_t st = {0};
    if (!qr || cl_qr_write_png(qr, bundle, size, &st) == 0)
        return 0;
    if (st.code == EC_ETOOBIG)
        return cl_fail(ctx, EC_ETOOBIG,
                       "the bundle (%zu bytes) is too big for a QR code (%s): fetch it "
                       "with --no-payload, or use --out alone",
                       size, st.msg);
    return cl_fail_st(ctx, &st, NULL);
}

static void s_valset_read_fn(ec_cur_t *c, void *out)
{
    ec_valset_read(c, out);
}

/*
 * Main `valsets [1]`: every change of the main chain's validators since its genesis that is
 * in force at the bundle's main header or before, each with the header that named it and
 * that header's commit, so a verifier holding only the genesis can follow them. 0 or 1.
 */
static int s_fetch_transitions(cl_ctx_t *ctx, cl_chain_t *main, s_proof_t *p)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 1);
    ec_write_uint(&w, 1);
    ec_rpc_reply_t r;
    int rc = cl_call(ctx, main, "valsets", &w, &r, 0);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    ec_cur_t c;
    ec_cur_open_max(&c, r.result, EC_BUNDLE_TRANSITIONS_MAX);
    for (uint32_t i = 0; !c.err && i < c.count; i++) {
        ec_cur_t item;
        uint64_t from = 0;
        const uint8_t *set;
        size_t set_size;
        ec_cur_enter(&c, &item, 2);
        ec_cur_uint(&item, &from);
        ec_cur_bin(&item, &set, &set_size, EC_TX_BYTES_MAX);
        ec_cur_fold(&c, &item);
        if (c.err || from < 2 || from > p->main_height)
            continue;
        ec_bundle_transition_t *t = &p->transitions[p->transition_count];
        if (ec_decode_read(&t->next, sizeof t->next, set, set_size, s_valset_read_fn) != 0) {
            ec_cur_fail(&c, EC_EINVAL);
            break;
        }
        ec_writer_init(&w);
        ec_write_array(&w, 1);
        ec_write_uint(&w, from - 1); /* the header that names the set */
        ec_rpc_reply_t *hr = &p->r_transitions[p->transition_count];
        rc = cl_call(ctx, main, "header", &w, hr, 0);
        ec_writer_fini(&w);
        if (rc) {
            ec_rpc_reply_fini(&r);
            return rc;
        }
        p->transition_count++;
        ec_cur_t hc;
        ec_cur_open(&hc, hr->result, 2);
        ec_cur_bin(&hc, &t->header, &t->header_size, EC_TX_BYTES_MAX);
        ec_cur_bin(&hc, &t->commit, &t->commit_size, EC_TX_BYTES_MAX);
        if (ec_cur_finish(&hc) != 0) {
            ec_rpc_reply_fini(&r);
            return cl_garbled(ctx, main, "header");
        }
    }
    rc = c.err;
    ec_rpc_reply_fini(&r);
    return rc ? cl_garbled(ctx, main, "valsets") : 0;
}

/* Gathers the parts, in the order the chain of evidence runs. 0 or 1. */
static int s_gather(cl_ctx_t *ctx, cl_chain_t *side, cl_chain_t *main,
                    const uint8_t id[EC_HASH_BYTES], uint64_t wait_ms, s_proof_t *p)
{
    if (s_fetch_tx_proof(ctx, side, id, p) || s_wait_anchor(ctx, main, side, wait_ms, p) ||
        s_fetch_history(ctx, side, p) || s_fetch_anchor_proof(ctx, main, p) ||
        s_fetch_tx(ctx, side, id, p) || s_fetch_transitions(ctx, main, p))
        return 1;
    return 0;
}

/* The trusted main genesis, checked against the config's main chain. 0 or 1. */
static int s_main_trusted(cl_ctx_t *ctx, cl_chain_t *main, ec_genesis_t *g)
{
    if (cl_main_genesis(ctx, NULL, g))
        return 1;
    if (strcmp(g->chain_id, main->chain_id) != 0)
        return cl_fail(ctx, EC_ECONFIG, "main.genesis is for %s but main.chain_id is %s",
                       g->chain_id, main->chain_id);
    return 0;
}

/* The anchoring half of a proof (ec_bundle_anchoring_encode) from what p gathered, into
 * out (the transaction's fields zeroed). */
static void s_anchoring_parts(const s_proof_t *p, const char *side_chain_id, ec_bundle_parts_t *out)
{
    *out = (ec_bundle_parts_t){
        .side_chain_id = side_chain_id,
        .side_header = p->side_header,
        .side_header_size = p->side_header_size,
        .anchored_header = p->anchored_header,
        .anchored_header_size = p->anchored_header_size,
        .hist_path = p->hist_path,
        .hist_path_len = p->hist_path_len,
        .anchor_index = p->anchor_index,
        .anchor_path = p->anchor_path,
        .anchor_path_len = p->anchor_path_len,
        .main_header = p->main_header,
        .main_header_size = p->main_header_size,
        .main_commit = p->main_commit,
        .main_commit_size = p->main_commit_size,
        .transitions = p->transitions,
        .transition_count = p->transition_count,
    };
}

/* Gathers the bundle of tx id into w (p keeps what it borrows) and checks it as a verifier
 * would: a bundle that does not verify is never handed out. 0 or 1. */
static int s_bundle_build(cl_ctx_t *ctx, cl_chain_t *side, cl_chain_t *main, const ec_genesis_t *g,
                          const uint8_t id[EC_HASH_BYTES], uint64_t wait_ms, bool no_payload,
                          s_proof_t *p, ec_writer_t *w)
{
    if (s_gather(ctx, side, main, id, wait_ms, p))
        return 1;
    ec_bundle_parts_t parts;
    s_anchoring_parts(p, side->chain_id, &parts);
    parts.tx = p->tx;
    parts.tx_size = p->tx_size;
    parts.payload = no_payload ? NULL : p->payload;
    parts.payload_size = no_payload ? 0 : p->payload_size;
    parts.tx_index = p->tx_index;
    parts.result = p->result;
    parts.tx_path = p->tx_path;
    parts.tx_path_len = p->tx_path_len;
    ec_bundle_encode(w, &parts);
    ec_bundle_info_t info;
    ec_status_t st = {0};
    int rc = ec_bundle_verify(ec_writer_data(w), ec_writer_size(w), g->chain_id, &g->validators,
                              NULL, &info, &st);
    if (rc)
        return cl_fail(ctx, rc, "the nodes' proof does not verify (not written): %s: %s",
                       ec_errname(rc), st.msg);
    return 0;
}

int cl_proof_build(cl_ctx_t *ctx, cl_chain_t *side, const uint8_t id[EC_HASH_BYTES],
                   uint64_t wait_ms, bool no_payload, ec_writer_t *out)
{
    ec_genesis_t g;
    cl_chain_t *main = cl_main(ctx);
    if (!main || s_main_trusted(ctx, main, &g))
        return 1;
    s_proof_t p;
    memset(&p, 0, sizeof p);
    int rc = s_bundle_build(ctx, side, main, &g, id, wait_ms, no_payload, &p, out);
    s_proof_fini(&p);
    return rc;
}

int cl_proof_write(cl_ctx_t *ctx, cl_chain_t *side, const uint8_t id[EC_HASH_BYTES],
                   const char *out, uint64_t wait_ms)
{
    ec_writer_t w;
    ec_writer_init(&w);
    int rc = cl_proof_build(ctx, side, id, wait_ms, false, &w);
    if (rc == 0)
        rc = s_write_bundle(ctx, out, NULL, ec_writer_data(&w), ec_writer_size(&w));
    ec_writer_fini(&w);
    return rc;
}

int cmd_cert_proof(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *type = NULL, *out = NULL, *qr = NULL;
    uint8_t id[EC_HASH_BYTES];
    bool have_id = false, no_payload = false;
    uint64_t wait_ms = S_WAIT_MS_DEFAULT;
    const cl_opt_t opts[] = {{"type", CL_ARG_STR, &type},
                             {"tx", CL_ARG_HASH, id, &have_id},
                             {"out", CL_ARG_STR, &out},
                             {"qr", CL_ARG_STR, &qr},
                             {"no-payload", CL_ARG_FLAG, &no_payload},
                             {"wait-ms", CL_ARG_U64, &wait_ms},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_proof, NULL);
    if (rc >= 0)
        return rc;
    if (!type)
        return cl_missing(ctx, "--type");
    if (!have_id)
        return cl_missing(ctx, "--tx");
    if (!out && !qr)
        return cl_missing(ctx, "--out FILE or --qr FILE.png");
    ec_genesis_t g;
    cl_chain_t *side = cl_side(ctx, type), *main = side ? cl_main(ctx) : NULL;
    if (!main || s_main_trusted(ctx, main, &g))
        return 1;
    s_proof_t p;
    memset(&p, 0, sizeof p);
    ec_writer_t w;
    ec_writer_init(&w);
    rc = s_bundle_build(ctx, side, main, &g, id, wait_ms, no_payload, &p, &w);
    if (rc == 0)
        rc = s_write_bundle(ctx, out, qr, ec_writer_data(&w), ec_writer_size(&w));
    size_t size = ec_writer_size(&w);
    ec_writer_fini(&w);
    if (rc == 0) {
        char hex[2 * EC_HASH_BYTES + 1];
        ec_hex(hex, id, sizeof id);
        if (out && qr)
            cl_out(ctx, "wrote %s and its QR code %s", out, qr);
        else
            cl_out(ctx, "wrote %s%s", out ? "" : "QR code ", out ? out : qr);
        cl_out(ctx,
               " (%zu bytes): proves tx %s\n  is in block %llu of %s, which the main "
               "chain %s anchored\n  (as side block %llu) in main block %llu\n",
               size, hex, (unsigned long long)p.h, side->chain_id, main->chain_id,
               (unsigned long long)p.a, (unsigned long long)p.main_height);
        cl_emit(ctx, json_pack("{s:s?,s:s?,s:I,s:s,s:s,s:I,s:I,s:s,s:I}", "file", out, "qr", qr,
                               "bytes", (json_int_t)size, "tx", hex, "side_chain_id",
                               side->chain_id, "side_height", (json_int_t)p.h, "anchored_height",
                               (json_int_t)p.a, "main_chain_id", main->chain_id, "main_height",
                               (json_int_t)p.main_height));
    }
    s_proof_fini(&p);
    return rc;
}

/* ---- status lists ----------------------------------------------------------------------- */

/*
 * Side `status_list []`, or `status_list [at]` when at is not 0, into p->r_slist; p->h gets
 * the height it answers for and sp the list's parts (borrowed from the reply). Returns 0,
 * 1 (recorded), or with `at`, EC_ESTATE when the side node answers ESTATE (the list changed
 * after `at`), ENOTFOUND (no record kept for it) or EINVAL (a node from before queries took
 * a height), nothing recorded.
 */
static int s_slist_query(cl_ctx_t *ctx, cl_chain_t *side, uint64_t at, s_proof_t *p,
                         ec_slist_parts_t *sp)
{
    ec_writer_t args;
    ec_writer_init(&args);
    ec_write_array(&args, at ? 1 : 0);
    if (at)
        ec_write_uint(&args, at);
    int rc = cl_query(ctx, side, "status_list", &args, &p->r_slist, 0);
    ec_writer_fini(&args);
    if (rc && at && ctx->err_node_msg[0] &&
        (ctx->err_code == EC_ESTATE || ctx->err_code == EC_ENOTFOUND ||
         ctx->err_code == EC_EINVAL)) {
        cl_clear_error(ctx);
        return EC_ESTATE;
    }
    if (rc)
        return rc;
    memset(sp, 0, sizeof *sp);
    size_t list_size = 0;
    ec_cur_t c;
    ec_cur_open(&c, p->r_slist.result, 5);
    ec_cur_uint(&c, &p->h);
    ec_cur_uint(&c, &sp->count);
    ec_cur_bin(&c, &sp->list, &list_size, (size_t)(EC_SLIST_CERTS_MAX / 4));
    ec_cur_bin_fixed(&c, sp->state_digest, EC_HASH_BYTES);
    ec_cur_uint(&c, &sp->mirrored_records);
    if (ec_cur_finish(&c) || list_size != ec_slist_bytes(sp->count) || p->h == 0 ||
        (at && p->h != at))
        return cl_garbled(ctx, side, "query status_list");
    return 0;
}

/*
 * The list as of the side block the main chain anchored last, A: main `sidechain
 * [chain_id]` (its light client's height is A) and `anchor_of [chain_id, A]` (the anchor
 * of A itself), then side `status_list [A]`, which answers when the list has not changed
 * since A. The side header A is then the anchored one (no history path). Returns 0, 1
 * (recorded), or EC_ESTATE with nothing recorded when this way does not apply (nothing
 * anchored yet, the list changed since, a node that keeps no record of A).
 */
static int s_slist_anchored(cl_ctx_t *ctx, cl_chain_t *side, cl_chain_t *main, s_proof_t *p,
                            ec_slist_parts_t *sp)
{
    uint64_t anchored = 0;
    bool frozen = false;
    int rc = cl_side_light(ctx, main, side->chain_id, &anchored, &frozen);
    if (rc == EC_ENOTFOUND)
        return EC_ESTATE; /* not registered: the usual way says so */
    if (rc)
        return rc;
    if (anchored == 0)
        return EC_ESTATE;
    p->h = anchored;
    rc = s_anchor_of(ctx, main, side, p);
    if (rc == EC_ENOTFOUND)
        return EC_ESTATE;
    if (rc)
        return rc;
    if (p->a != anchored) /* A came some other way than an anchor: the usual way */
        return EC_ESTATE;
    rc = s_slist_query(ctx, side, anchored, p, sp);
    if (rc)
        return rc;
    return s_fetch_header(ctx, side, p->h, &p->r_sheader, &p->side_header, &p->side_header_size);
}

/*
 * The list as of the side chain's tip h: side `status_list []` and `header [h]`, then the
 * anchoring of h as for a bundle, waiting up to wait_ms for it. 0 or 1.
 */
static int s_slist_tip(cl_ctx_t *ctx, cl_chain_t *side, cl_chain_t *main, uint64_t wait_ms,
                       s_proof_t *p, ec_slist_parts_t *sp)
{
    if (s_slist_query(ctx, side, 0, p, sp) ||
        s_fetch_header(ctx, side, p->h, &p->r_sheader, &p->side_header, &p->side_header_size) ||
        s_wait_anchor(ctx, main, side, wait_ms, p) || s_fetch_history(ctx, side, p))
        return 1;
    return 0;
}

/*
 * A side chain's status list with its proof: against the side block the main chain
 * anchored last when the list is the same at the tip (no waiting: an idle side chain's tip
 * is a block of MAIN_ANCHOR transactions, which nothing anchors), else as of the tip,
 * waiting up to wait_ms for its anchor. Encodes the object into w and checks it against
 * the trusted genesis (nothing unverified is handed out). 0 or 1.
 */
static int s_slist_build(cl_ctx_t *ctx, cl_chain_t *side, cl_chain_t *main, const ec_genesis_t *g,
                         uint64_t wait_ms, s_proof_t *p, ec_writer_t *w)
{
    ec_slist_parts_t sp;
    int rc = s_slist_anchored(ctx, side, main, p, &sp);
    if (rc == EC_ESTATE) {
        s_proof_fini(p);
        memset(p, 0, sizeof *p);
        rc = s_slist_tip(ctx, side, main, wait_ms, p, &sp);
    }
    if (rc || s_fetch_anchor_proof(ctx, main, p) || s_fetch_transitions(ctx, main, p))
        return 1;
    sp.side_chain_id = side->chain_id;
    s_anchoring_parts(p, side->chain_id, &sp.anchoring);
    ec_slist_encode(w, &sp);
    ec_slist_t *s = malloc(sizeof *s);
    if (!s)
        return cl_fail(ctx, EC_ENOMEM, "out of memory");
    ec_slist_info_t info;
    ec_status_t st = {0};
    rc = ec_slist_decode(s, ec_writer_data(w), ec_writer_size(w));
    if (rc == 0) {
        rc = ec_slist_verify(s, g->chain_id, &g->validators, NULL, &info, &st);
        ec_slist_fini(s);
        p->slist_count = info.count;
        p->slist_time_ms = info.time_ms;
    } else {
        ec_status_set(&st, rc, "it does not decode");
    }
    free(s);
    if (rc)
        return cl_fail(ctx, rc, "the nodes' status list does not verify (not used): %s: %s",
                       ec_errname(rc), st.msg);
    return 0;
}

int cl_status_list_build(cl_ctx_t *ctx, cl_chain_t *side, uint64_t wait_ms, ec_writer_t *object,
                         ec_writer_t *list, uint64_t *height, uint64_t *count)
{
    ec_genesis_t g;
    cl_chain_t *main = cl_main(ctx);
    if (!main || s_main_trusted(ctx, main, &g))
        return 1;
    s_proof_t p;
    memset(&p, 0, sizeof p);
    int rc = s_slist_build(ctx, side, main, &g, wait_ms, &p, object);
    if (rc == 0) {
        *height = p.h;
        *count = p.slist_count;
        if (list) { /* the list's bytes, as the status_list query gave them (checked above) */
            const msgpack_object *o = &p.r_slist.result->via.array.ptr[2];
            ec_write_raw(list, o->via.bin.ptr, o->via.bin.size);
        }
    }
    s_proof_fini(&p);
    return rc;
}

static const char s_help_slist_fetch[] =
    "usage: ecert status-list fetch --type TYPE --out FILE [--wait-ms N]\n\n"
    "Fetches the certificate status list of a side chain as of its newest block, with the\n"
    "proof that it is the list a side block commits to and that the main chain anchored that\n"
    "block, checks it against the main genesis, and writes it to FILE. The block is the one\n"
    "the main chain anchored last when the list has not changed since; else the newest, and\n"
    "then it waits up to --wait-ms for that block's anchor. Two bits per\n"
    "certificate ever issued on the chain (valid, suspended, revoked, ended): about 250 KB\n"
    "per million certificates. A verifier keeps it and checks certificates offline with\n"
    "'ecert verify --status-list FILE', which shows how old it is.\n\n"
    "Options:\n"
    "  --type TYPE     certificate type (which side chain)\n"
    "  --out FILE      where to write the list\n"
    "  --wait-ms N     how long to wait for the newest block to be anchored when the\n"
    "                  list changed since the last anchor (default 10000)\n"
    "\nExample:\n  ecert status-list fetch --type degree --out degree.status\n" CL_GLOBAL_NOTE;

int cmd_status_list_fetch(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *type = NULL, *out = NULL;
    uint64_t wait_ms = S_WAIT_MS_DEFAULT;
    const cl_opt_t opts[] = {{"type", CL_ARG_STR, &type},
                             {"out", CL_ARG_STR, &out},
                             {"wait-ms", CL_ARG_U64, &wait_ms},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_slist_fetch, NULL);
    if (rc >= 0)
        return rc;
    if (!type)
        return cl_missing(ctx, "--type");
    if (!out)
        return cl_missing(ctx, "--out FILE");
    ec_genesis_t g;
    cl_chain_t *side = cl_side(ctx, type), *main = side ? cl_main(ctx) : NULL;
    if (!main || s_main_trusted(ctx, main, &g))
        return 1;
    s_proof_t p;
    memset(&p, 0, sizeof p);
    ec_writer_t w;
    ec_writer_init(&w);
    rc = s_slist_build(ctx, side, main, &g, wait_ms, &p, &w);
    if (rc == 0)
        rc = cl_write_file(ctx, out, ec_writer_data(&w), ec_writer_size(&w));
    if (rc == 0) {
        uint64_t count = p.slist_count;
        char when[40];
        cl_format_time(when, sizeof when, p.slist_time_ms);
        cl_out(ctx,
               "wrote %s (%zu bytes): the status of %llu certificate(s) of %s as of its block "
               "%llu (%s),\n  anchored (as side block %llu) in main block %llu of %s\n",
               out, ec_writer_size(&w), (unsigned long long)count, side->chain_id,
               (unsigned long long)p.h, when, (unsigned long long)p.a,
               (unsigned long long)p.main_height, main->chain_id);
        cl_emit(ctx, json_pack("{s:s,s:I,s:s,s:I,s:I,s:I,s:I,s:s,s:I}", "file", out, "bytes",
                               (json_int_t)ec_writer_size(&w), "side_chain_id", side->chain_id,
                               "certificates", (json_int_t)count, "side_height", (json_int_t)p.h,
                               "time_ms", (json_int_t)p.slist_time_ms, "anchored_height",
                               (json_int_t)p.a, "main_chain_id", main->chain_id, "main_height",
                               (json_int_t)p.main_height));
    }
    ec_writer_fini(&w);
    s_proof_fini(&p);
    return rc;
}

static const char s_help_verify[] =
    "usage: ecert verify (--bundle FILE | --qr FILE.png) [--main-genesis FILE]\n"
    "                    [--status-list FILE | --online [--wait-ms N]] [--key HOLDER_KEY]\n\n"
    "Checks a proof bundle offline (no network) against the main chain's genesis: the\n"
    "transaction's signature, its inclusion in the side block, the side chain's history up\n"
    "to the anchored block, the anchor entry in the main block, and that block's commit by\n"
    "the main validators. Prints what is proven; exits 1 naming the step that failed.\n"
    "For a certificate (the bundle of its ISSUE) it also checks the expiry against the\n"
    "clock, and the status against a status list, which is proven against the same\n"
    "genesis: one fetched earlier ('ecert status-list fetch'; works offline, and its age is\n"
    "shown), or one fetched now with --online. A certificate that is revoked, suspended,\n"
    "cancelled, erased or expired never verifies as valid: exit 1, saying which. Without a\n"
    "status list the status is reported as not checked.\n"
    "With the holder's key, also decrypts the certificate's fields and checks them against\n"
    "the fields_root the transaction commits to.\n\n"
    "Options:\n"
    "  --bundle FILE         the bundle (from 'ecert cert proof --out')\n"
    "  --qr FILE.png         a picture of the bundle's QR code (from 'ecert cert proof --qr',\n"
    "                        or a scan of one)\n"
    "  --main-genesis FILE   the trusted main genesis (default: main.genesis in the config)\n"
    "  --status-list FILE    a status list of the certificate's chain, fetched earlier\n"
    "  --online              fetch the chain's status list now (needs the nodes)\n"
    "  --wait-ms N           with --online: how long to wait for anchoring (default 10000)\n"
    "  --key FILE            the holder's key file, to read the contents\n"
    "\nExample:\n  ecert verify --bundle degree.proof --main-genesis "
    "main/genesis.yaml --status-list degree.status\n"
    "  ecert verify --qr degree.png --online\n" CL_GLOBAL_NOTE;

/* What the verified transaction's body says, for the display: an ISSUE's holder and
 * organization, and the fields_root an ISSUE or CHANGE commits to. */
typedef struct {
    bool is_issue;
    ec_issue_body_t issue;
    bool has_root;
    uint8_t fields_root[EC_HASH_BYTES];
    /* a transaction on a certificate (every side-chain type but ISSUE and MAIN_ANCHOR) */
    bool has_cert;
    uint8_t cert_id[EC_HASH_BYTES];
    bool is_inspect;
    ec_inspect_body_t inspect;
    bool is_renew;
    uint64_t expires_ms; /* RENEW's new expiry                                        */
    const char *reason;  /* REVOKE, ERASE, SUSPEND, REINSTATE, CANCEL (into `revoke`)  */
    ec_revoke_body_t revoke;
} s_body_facts_t;

/* Reads the body of tx (ec_body.h) into f; other types, or a body that does not read, give
 * nothing (a committed transaction's body always reads). */
static void s_body_facts(const ec_tx_t *tx, s_body_facts_t *f)
{
    memset(f, 0, sizeof *f);
    if (tx->type == EC_STX_ISSUE && ec_issue_body_read(&f->issue, tx->body, NULL) == 0) {
        f->is_issue = f->has_root = true;
        memcpy(f->fields_root, f->issue.fields_root, EC_HASH_BYTES);
    } else if (tx->type == EC_STX_CHANGE) {
        ec_change_body_t ch;
        if (ec_change_body_read(&ch, tx->body, NULL) == 0) {
            f->has_root = f->has_cert = true;
            memcpy(f->fields_root, ch.fields_root, EC_HASH_BYTES);
            memcpy(f->cert_id, ch.cert_id, EC_HASH_BYTES);
        }
    } else if (tx->type == EC_STX_INSPECT) {
        if (ec_inspect_body_read(&f->inspect, tx->body, NULL) == 0) {
            f->is_inspect = f->has_cert = true;
            memcpy(f->cert_id, f->inspect.cert_id, EC_HASH_BYTES);
        }
    } else if (tx->type == EC_STX_ACK) {
        ec_ack_body_t ack;
        if ((f->has_cert = ec_ack_body_read(&ack, tx->body, NULL) == 0))
            memcpy(f->cert_id, ack.cert_id, EC_HASH_BYTES);
    } else if (tx->type == EC_STX_RENEW) {
        ec_renew_body_t rn;
        if ((f->has_cert = f->is_renew = ec_renew_body_read(&rn, tx->body, NULL) == 0)) {
            memcpy(f->cert_id, rn.cert_id, EC_HASH_BYTES);
            f->expires_ms = rn.expires_ms;
        }
    } else if (tx->type != EC_STX_MAIN_ANCHOR) {
        int rc = tx->type == EC_STX_REVOKE ? ec_revoke_body_read(&f->revoke, tx->body, NULL)
                 : tx->type == EC_STX_ERASE
                     ? ec_erase_body_read(&f->revoke, tx->body, NULL)
                     : ec_status_body_read(&f->revoke, tx->body, tx->type, NULL);
        if ((f->has_cert = rc == 0)) {
            memcpy(f->cert_id, f->revoke.cert_id, EC_HASH_BYTES);
            f->reason = f->revoke.reason;
        }
    }
}

/* Prints what the body says: an ISSUE's holder and organization; for a transaction on a
 * certificate, which one, and an inspection's verdict, a renewal's new expiry, a reason. */
static void s_show_issue(cl_ctx_t *ctx, const s_body_facts_t *f, json_t *obj)
{
    if (f->is_issue) {
        cl_out(ctx, "holder        %s\norganization  %s\n", f->issue.holder, f->issue.org_code);
        json_object_set_new(obj, "holder", json_string(f->issue.holder));
        json_object_set_new(obj, "org_code", json_string(f->issue.org_code));
        return;
    }
    if (!f->has_cert)
        return;
    char hex[2 * EC_HASH_BYTES + 1];
    ec_hex(hex, f->cert_id, sizeof f->cert_id);
    cl_out(ctx, "certificate   %s (its versions: 'ecert cert history')\n", hex);
    json_object_set_new(obj, "cert_id", json_string(hex));
    if (f->is_inspect) {
        cl_out(ctx, "inspected by  organization %s, for holder %s\nverdict       %.*s\n",
               f->inspect.org_code, f->inspect.holder, (int)f->inspect.verdict_len,
               f->inspect.verdict);
        json_object_set_new(obj, "inspector_org", json_string(f->inspect.org_code));
        json_object_set_new(obj, "verdict",
                            json_stringn(f->inspect.verdict, f->inspect.verdict_len));
    } else if (f->is_renew) {
        char when[40] = "never";
        if (f->expires_ms)
            cl_format_time(when, sizeof when, f->expires_ms);
        cl_out(ctx, "new expiry    %s\n", when);
        json_object_set_new(obj, "expires_ms", json_integer((json_int_t)f->expires_ms));
    } else if (f->reason && f->revoke.reason_len) {
        cl_out(ctx, "reason        %.*s\n", (int)f->revoke.reason_len, f->reason);
        json_object_set_new(obj, "reason", json_stringn(f->reason, f->revoke.reason_len));
    }
}

/* Prints a verified bundle's facts; with a key, decrypts the payload. 0 or 1. */
static int s_show_bundle(cl_ctx_t *ctx, const char *file, size_t size, const uint8_t *bundle,
                         const ec_bundle_info_t *info, json_t *obj)
{
    char id_hex[2 * EC_HASH_BYTES + 1], main_hex[2 * EC_HASH_BYTES + 1], sender[EC_ADDR_MAX];
    ec_hex(id_hex, info->tx_id, sizeof info->tx_id);
    ec_hex(main_hex, info->main_hash, sizeof info->main_hash);
    ec_address_from_pk(sender, info->sender);
    const char *type_name = ec_tx_type_name(EC_CHAIN_SIDE, info->tx_type);
    cl_out(ctx,
           "bundle %s (%zu bytes) verifies:\n"
           "transaction   %s (%s)\nside chain    %s, block %llu (anchored as block %llu)\n"
           "main chain    %s, block %llu (%.16s...), committed by its validators\n"
           "sender        %s\n",
           file, size, id_hex, type_name, info->side_chain_id,
           (unsigned long long)info->side_height, (unsigned long long)info->anchored_height,
           info->main_chain_id, (unsigned long long)info->main_height, main_hex, sender);
    json_object_set_new(obj, "verified", json_true());
    json_object_set_new(obj, "tx", json_string(id_hex));
    json_object_set_new(obj, "tx_type", json_string(type_name));
    json_object_set_new(obj, "side_chain_id", json_string(info->side_chain_id));
    json_object_set_new(obj, "side_height", json_integer((json_int_t)info->side_height));
    json_object_set_new(obj, "anchored_height", json_integer((json_int_t)info->anchored_height));
    json_object_set_new(obj, "main_chain_id", json_string(info->main_chain_id));
    json_object_set_new(obj, "main_height", json_integer((json_int_t)info->main_height));
    json_object_set_new(obj, "main_hash", json_string(main_hex));
    json_object_set_new(obj, "sender", json_string(sender));
    json_object_set_new(obj, "has_payload", json_boolean(info->has_payload));
    json_object_set_new(obj, "applied", json_boolean(info->result_code == 0));
    json_object_set_new(obj, "auth_main_height", json_integer((json_int_t)info->result_ref));
    json_object_set_new(obj, "main_transitions", json_integer((json_int_t)info->main_transitions));
    if (info->main_transitions)
        cl_out(ctx,
               "main validators followed through %llu validator-set change(s) since the "
               "genesis\n",
               (unsigned long long)info->main_transitions);
    if (info->result_code == 0 && info->result_ref)
        cl_out(ctx, "authorized    by the sender's role as of main-chain height %llu\n",
               (unsigned long long)info->result_ref);

    /* Re-read the verified bundle for the transaction body and the payload. */
    ec_bundle_t b;
    int rc = ec_bundle_decode(&b, bundle, size);
    if (rc)
        return cl_fail(ctx, EC_EINTERNAL, "verified bundle could not be re-read (a bug)");
    const uint8_t *payload = b.parts.payload;
    size_t payload_size = b.parts.payload_size;
    ec_tx_t tx;
    rc = ec_tx_decode(&tx, b.parts.tx, b.parts.tx_size);
    if (rc == 0) {
        s_body_facts_t facts;
        s_body_facts(&tx, &facts);
        s_show_issue(ctx, &facts, obj);
        if (ctx->key_path && payload && info->has_payload) {
            ec_key_t *key = cl_key_load(ctx, NULL);
            rc = key ? cl_cert_show_fields(ctx, key, payload, payload_size,
                                           facts.has_root ? facts.fields_root : NULL, obj)
                     : 1;
            ec_key_destroy(&key);
        } else if (ctx->key_path) {
            rc = cl_fail(ctx, EC_ENOTFOUND, "the bundle carries no payload to decrypt");
        } else if (payload) {
            cl_out(ctx, "payload       included, sealed to the holder (give --key to read it)\n");
        }
        ec_tx_fini(&tx);
    } else {
        rc = cl_fail(ctx, EC_EINTERNAL, "verified bundle could not be re-read (a bug)");
    }
    ec_bundle_fini(&b);
    return rc;
}

/* The configured side chain whose chain id is `chain_id`, connected; NULL recorded. */
static cl_chain_t *s_side_by_id(cl_ctx_t *ctx, const char *chain_id)
{
    cl_config_t *cfg = cl_config(ctx);
    if (!cfg)
        return NULL;
    for (size_t i = 0; i < cfg->side_count; i++)
        if (strcmp(cfg->sides[i].chain_id, chain_id) == 0)
            return cl_side(ctx, cfg->sides[i].type);
    cl_fail(ctx, EC_ECONFIG, "no side chain %s in %s: --online cannot fetch its status list",
            chain_id, cfg->path);
    return NULL;
}

/*
 * The certificate's code at `slot` in the status list src gives (the holder's bytes, a
 * file, or fetched now), decoded once and verified against g; *li describes the list.
 * 0, or 1 with the error recorded: a list that does not verify, is of another chain than
 * side_chain_id, or is older than the certificate.
 */
static int s_status_code(cl_ctx_t *ctx, const ec_genesis_t *g, const cl_status_src_t *src,
                         const char *side_chain_id, uint64_t slot, unsigned *code,
                         ec_slist_info_t *li)
{
    const uint8_t *data = src->data;
    size_t size = src->size;
    uint8_t *file = NULL;
    ec_writer_t fetched;
    ec_writer_init(&fetched);
    int rc = 0;
    if (data) {
        /* the bytes in hand */
    } else if (src->online) {
        cl_chain_t *side = s_side_by_id(ctx, side_chain_id), *main = side ? cl_main(ctx) : NULL;
        if (!main)
            rc = 1;
        else if (strcmp(main->chain_id, g->chain_id) != 0)
            rc = cl_fail(ctx, EC_ECONFIG, "the trusted genesis is for %s but main.chain_id is %s",
                         g->chain_id, main->chain_id);
        s_proof_t p;
        memset(&p, 0, sizeof p);
        if (rc == 0)
            rc = s_slist_build(ctx, side, main, g, src->wait_ms, &p, &fetched);
        s_proof_fini(&p);
        data = ec_writer_data(&fetched);
        size = ec_writer_size(&fetched);
    } else if (cl_read_file(ctx, src->file, EC_SLIST_BYTES_MAX, &file, &size)) {
        rc = 1;
    } else {
        data = file;
    }
    ec_slist_t *s = rc == 0 ? malloc(sizeof *s) : NULL;
    if (rc == 0 && !s)
        rc = cl_fail(ctx, EC_ENOMEM, "out of memory");
    if (rc == 0) {
        ec_status_t st = {0};
        int vrc = ec_slist_decode(s, data, size);
        if (vrc) {
            ec_status_set(&st, vrc, "malformed (%s)", ec_errname(vrc));
        } else {
            vrc = ec_slist_verify(s, g->chain_id, &g->validators, NULL, li, &st);
            if (vrc == 0 && slot < s->parts.count)
                *code = ec_slist_get(s->parts.list, slot);
            ec_slist_fini(s);
        }
        if (vrc)
            rc = cl_fail(ctx, vrc, "status list %s does NOT verify against %s: %s",
                         src->data     ? "(brought by the holder)"
                         : src->online ? "(fetched now)"
                                       : src->file,
                         g->chain_id, st.msg);
        else if (strcmp(li->at.side_chain_id, side_chain_id) != 0)
            rc = cl_fail(ctx, EC_ECHAIN, "the status list is of %s, the certificate of %s",
                         li->at.side_chain_id, side_chain_id);
        else if (slot >= li->count)
            rc = cl_fail(ctx, EC_ESTALE,
                         "the status list (block %llu of %s) is older than this certificate: "
                         "fetch a newer one",
                         (unsigned long long)li->at.side_height, li->at.side_chain_id);
    }
    free(s);
    free(file);
    ec_writer_fini(&fetched);
    return rc;
}

/* "3 min", "2 h", ... for an age in ms. */
static void s_age(char *out, size_t cap, uint64_t ms)
{
    uint64_t s = ms / 1000;
    if (s < 120)
        snprintf(out, cap, "%llu s", (unsigned long long)s);
    else if (s < 7200)
        snprintf(out, cap, "%llu min", (unsigned long long)(s / 60));
    else if (s < 172800)
        snprintf(out, cap, "%llu h", (unsigned long long)(s / 3600));
    else
        snprintf(out, cap, "%llu days", (unsigned long long)(s / 86400));
}

/*
 * The certificate's validity beyond the proof: expiry (by the clock) and status (from a
 * status list), for the bundle of an ISSUE; other transactions are events, not
 * certificates, and say so. Prints and records the facts. Returns 0 (valid, or status not
 * checked), or 1 with the reason recorded (expired, suspended, revoked, ended, or a
 * status list that could not be used).
 */
static int s_check_validity(cl_ctx_t *ctx, const ec_genesis_t *g, const uint8_t *bundle,
                            size_t size, const ec_bundle_info_t *info, const cl_status_src_t *src,
                            json_t *obj)
{
    if (info->tx_type != EC_STX_ISSUE) {
        cl_out(ctx,
               "status        not checked: this bundle proves an event (%s), not the "
               "certificate; its ISSUE bundle carries its status\n",
               ec_tx_type_name(EC_CHAIN_SIDE, info->tx_type));
        json_object_set_new(obj, "status", json_string("unchecked"));
        return 0;
    }
    ec_issue_body_t issue;
    if (cl_bundle_issue(bundle, size, &issue) != 0)
        return cl_fail(ctx, EC_EINTERNAL, "verified bundle could not be re-read (a bug)");
    return cl_cert_validity(ctx, g, info, issue.expires_ms, src, obj);
}

int cl_cert_validity(cl_ctx_t *ctx, const ec_genesis_t *g, const ec_bundle_info_t *info,
                     uint64_t expires_ms, const cl_status_src_t *src, json_t *obj)
{
    uint64_t now = cl_now_ms();
    bool expired = expires_ms && expires_ms <= now;
    char when[40] = "never";
    if (expires_ms)
        cl_format_time(when, sizeof when, expires_ms);
    cl_out(ctx, "expires       %s%s\n", when, expired ? " (EXPIRED)" : "");
    json_object_set_new(obj, "expires_ms", json_integer((json_int_t)expires_ms));
    json_object_set_new(obj, "expired", json_boolean(expired));
    json_object_set_new(obj, "status_slot", json_integer((json_int_t)info->result_slot));
    unsigned code = EC_SLIST_VALID;
    bool checked = src->file || src->online || src->data;
    if (checked) {
        ec_slist_info_t li;
        if (s_status_code(ctx, g, src, info->side_chain_id, info->result_slot, &code, &li))
            return 1;
        char age[32];
        s_age(age, sizeof age, now > li.time_ms ? now - li.time_ms : 0);
        cl_out(ctx, "status        %s (status list of side block %llu, %s old%s)\n",
               ec_slist_code_name(code), (unsigned long long)li.at.side_height, age,
               src->online ? ", fetched now"
               : src->data ? ", brought by the holder"
                           : "");
        json_object_set_new(obj, "status", json_string(ec_slist_code_name(code)));
        json_object_set_new(obj, "status_height", json_integer((json_int_t)li.at.side_height));
        json_object_set_new(obj, "status_time_ms", json_integer((json_int_t)li.time_ms));
        json_object_set_new(obj, "status_age_ms",
                            json_integer((json_int_t)(now > li.time_ms ? now - li.time_ms : 0)));
    } else {
        cl_out(ctx, "status        not checked (give --status-list FILE or --online)\n");
        json_object_set_new(obj, "status", json_string("unchecked"));
    }
    bool valid = !expired && code == EC_SLIST_VALID;
    json_object_set_new(obj, "valid", json_boolean(valid));
    char id_hex[2 * EC_HASH_BYTES + 1];
    ec_hex(id_hex, info->tx_id, sizeof info->tx_id);
    if (code != EC_SLIST_VALID)
        return cl_fail(ctx, EC_ESTATE, "certificate %s is NOT valid: it is %s%s", id_hex,
                       code == EC_SLIST_ENDED ? "ended (cancelled, or its content erased)"
                                              : ec_slist_code_name(code),
                       expired ? ", and expired" : "");
    if (expired)
        return cl_fail(ctx, EC_ESTATE, "certificate %s is NOT valid: it expired on %s", id_hex,
                       when);
    if (checked)
        cl_out(ctx, "verdict       VALID\n");
    return 0;
}

int cmd_verify(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *bundle_path = NULL, *qr_path = NULL, *genesis_path = NULL;
    cl_status_src_t src = {.wait_ms = S_WAIT_MS_DEFAULT};
    const cl_opt_t opts[] = {{"bundle", CL_ARG_STR, &bundle_path},
                             {"qr", CL_ARG_STR, &qr_path},
                             {"main-genesis", CL_ARG_STR, &genesis_path},
                             {"status-list", CL_ARG_STR, &src.file},
                             {"online", CL_ARG_FLAG, &src.online},
                             {"wait-ms", CL_ARG_U64, &src.wait_ms},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_verify, NULL);
    if (rc >= 0)
        return rc;
    if (!bundle_path && !qr_path)
        return cl_missing(ctx, "--bundle FILE or --qr FILE.png");
    if (bundle_path && qr_path)
        return cl_usage(ctx, "give either --bundle or --qr, not both");
    if (src.file && src.online)
        return cl_usage(ctx, "give either --status-list or --online, not both");
    ec_genesis_t g;
    if (cl_main_genesis(ctx, genesis_path, &g))
        return 1;
    uint8_t *bundle = NULL;
    size_t size = 0;
    if (qr_path) {
        ec_status_t qst = {0};
        if (cl_qr_read_png(qr_path, &bundle, &size, &qst))
            return cl_fail_st(ctx, &qst, NULL);
        bundle_path = qr_path;
    } else if (cl_read_file(ctx, bundle_path, EC_BUNDLE_BYTES_MAX, &bundle, &size)) {
        return 1;
    }
    ec_bundle_info_t info;
    ec_status_t st = {0};
    rc = ec_bundle_verify(bundle, size, g.chain_id, &g.validators, NULL, &info, &st);
    if (rc) {
        free(bundle);
        return cl_fail(ctx, rc, "bundle %s does NOT verify against %s: %s: %s", bundle_path,
                       g.chain_id, ec_errname(rc), st.msg[0] ? st.msg : ec_strerror(rc));
    }
    if (info.result_code != 0) {
        /* A refused transaction is in its block too, and its proof checks: it proves the
         * refusal, never a certificate. */
        free(bundle);
        return cl_fail(ctx, info.result_code,
                       "bundle %s proves that the chain REFUSED this transaction (%s) at side "
                       "block %llu: it is not a valid certificate",
                       bundle_path, ec_errname(info.result_code),
                       (unsigned long long)info.side_height);
    }
    json_t *obj = json_pack("{s:s,s:I}", "file", bundle_path, "bytes", (json_int_t)size);
    rc = s_show_bundle(ctx, bundle_path, size, bundle, &info, obj);
    if (rc == 0)
        rc = s_check_validity(ctx, &g, bundle, size, &info, &src, obj);
    free(bundle);
    if (rc) {
        json_decref(obj);
        return rc;
    }
    return cl_emit(ctx, obj);
}
