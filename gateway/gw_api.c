/*
 * gw_api.c - the read and submit handlers of the API (docs/GATEWAY.md "Endpoints"): each
 * turns path values and arguments into one or a few RPC calls through the client's own
 * helpers (cl_call, cl_query, cl_account_get, cl_cert_fetch, cl_proof_build, ...) and the
 * reply into named JSON with libecert's decoders. Nothing here keeps state between
 * requests. Every handler returns 0 with c->out set, or an EC_E* code with c->err_msg.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cl_commands.h"
#include "ec_body.h"
#include "ec_chain.h"
#include "gw_app.h"
#include "gw_err.h"
#include "gw_tjson.h"

#define S_HEADERS_MAX 100  /* headers in one list                                     */
#define S_ANCHORS_MAX 64   /* anchor entries shown for one block                       */
#define S_BUNDLE_WAIT_MS 0 /* a bundle is served once anchored, never waited for       */
/* Likewise a status list: it is proven by the side block the main chain anchored last
 * when the list has not changed since (so an idle side chain's list is served at once);
 * else by the newest block, which, when it holds only MAIN_ANCHORs, the relay does not
 * anchor alone: waiting would mostly tie up a thread for nothing (docs/GATEWAY.md). */
#define S_SLIST_WAIT_MS 0
#define S_BLOCK_TXS_MAX 20000u

/* ---- common ----------------------------------------------------------------------------- */

int gw_fail(gw_call_t *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err_msg, sizeof c->err_msg, fmt, ap);
    va_end(ap);
    c->err = code ? code : EC_EINTERNAL;
    return c->err;
}

int gw_fail_ctx(gw_call_t *c)
{
    int code = c->ctx->err_code ? c->ctx->err_code : EC_EINTERNAL;
    /* A node's refusal reads "NAME: text" in the client; the name is in the JSON already,
     * but the text is kept whole so that it matches what the CLI prints. */
    return gw_fail(c, code, "%s", c->ctx->err_msg);
}

const char *gw_arg(const gw_call_t *c, const char *name)
{
    if (!c->conn)
        return NULL;
    return MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* The chain path value i names (ENOTFOUND when the config has none). */
static int s_chain(gw_call_t *c, size_t i, cl_chain_t **ch)
{
    *ch = gw_chain(c->ctx, c->values[i]);
    if (!*ch)
        return gw_fail(c, EC_ENOTFOUND, "no chain '%s' in the gateway's client config",
                       c->values[i]);
    return 0;
}

/* The same for a route that only side chains serve. */
static int s_side(gw_call_t *c, size_t i, cl_chain_t **ch)
{
    int rc = s_chain(c, i, ch);
    if (rc == 0 && *ch == &c->ctx->cfg.main)
        return gw_fail(c, EC_ECHAIN, "the main chain has no %s: name a side chain",
                       c->route->op_id);
    return rc;
}

/* A decimal uint64, whole string. */
static bool s_parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || strlen(s) > 20)
        return false;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *out = v;
    return true;
}

/* Query argument `name` as a uint64 (dflt when absent). */
static int s_arg_u64(gw_call_t *c, const char *name, uint64_t dflt, uint64_t *out)
{
    const char *s = gw_arg(c, name);
    *out = dflt;
    if (s && !s_parse_u64(s, out))
        return gw_fail(c, EC_EINVAL, "'%s' must be a decimal number, not '%s'", name, s);
    return 0;
}

/* Path value i as a uint64. */
static int s_value_u64(gw_call_t *c, size_t i, const char *what, uint64_t *out)
{
    if (!s_parse_u64(c->values[i], out))
        return gw_fail(c, EC_EINVAL, "%s must be a decimal number, not '%s'", what, c->values[i]);
    return 0;
}

/* Path value i as a 32-byte hex id. */
static int s_value_hash(gw_call_t *c, size_t i, const char *what, uint8_t out[EC_HASH_BYTES])
{
    if (gw_hex_decode(out, EC_HASH_BYTES, NULL, c->values[i], EC_HASH_BYTES))
        return gw_fail(c, EC_EINVAL, "%s must be 64 hex digits, not '%s'", what, c->values[i]);
    return 0;
}

/* Path value i as an address (checksum checked). */
static int s_value_address(gw_call_t *c, size_t i)
{
    uint8_t hash[EC_ADDR_HASH_BYTES];
    if (ec_address_parse(hash, c->values[i]))
        return gw_fail(c, EC_EINVAL, "'%s' is not an address (ec1..., checksum included)",
                       c->values[i]);
    return 0;
}

/* cl_call with the error recorded on c. */
static int s_call(gw_call_t *c, cl_chain_t *ch, const char *method, const ec_writer_t *params,
                  ec_rpc_reply_t *r)
{
    return cl_call(c->ctx, ch, method, params, r, 0) ? gw_fail_ctx(c) : 0;
}

static int s_query(gw_call_t *c, cl_chain_t *ch, const char *path, const ec_writer_t *args,
                   ec_rpc_reply_t *r)
{
    return cl_query(c->ctx, ch, path, args, r, 0) ? gw_fail_ctx(c) : 0;
}

static int s_garbled(gw_call_t *c, const cl_chain_t *ch, const char *what)
{
    cl_garbled(c->ctx, ch, what);
    return gw_fail_ctx(c);
}

static json_t *s_u64(uint64_t v)
{
    return json_integer((json_int_t)v);
}

static uint32_t s_kind(const gw_call_t *c, const cl_chain_t *ch)
{
    return ch == &c->ctx->cfg.main ? EC_CHAIN_MAIN : EC_CHAIN_SIDE;
}

/* ---- chains ----------------------------------------------------------------------------- */

static const char *s_step_name(uint64_t step)
{
    static const char *const names[] = {"idle", "propose", "prevote", "precommit"};
    return step < sizeof names / sizeof names[0] ? names[step] : "unknown";
}

/* The `status` of ch as JSON into *out. 0 or the error (recorded). */
static int s_status(gw_call_t *c, cl_chain_t *ch, json_t **out)
{
    ec_rpc_reply_t r;
    ec_rpc_status_t s;
    int rc = s_call(c, ch, "status", NULL, &r);
    if (rc)
        return rc;
    rc = ec_rpc_status_read(&s, r.result);
    ec_rpc_reply_fini(&r);
    if (rc)
        return s_garbled(c, ch, "status");
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:o,s:o,s:I,s:I,s:I,s:I,s:s,s:o,s:I,s:I}", "name",
                          gw_chain_name(ch), "chain_id", s.chain_id, "kind",
                          s.kind == EC_CHAIN_MAIN ? "main" : "side", "cert_type", s.cert_type,
                          "height", (json_int_t)s.height, "tip_hash",
                          s.has_tip ? gw_json_hex(s.tip_hash, 32) : json_null(), "genesis_hash",
                          gw_json_hex(s.genesis_hash, 32), "tip_time_ms", (json_int_t)s.tip_time_ms,
                          "mempool", (json_int_t)s.mempool, "round", (json_int_t)s.round, "step",
                          (json_int_t)s.step, "step_name", s_step_name(s.step), "validator",
                          s.is_validator ? s_u64(s.validator) : json_null(), "validators",
                          (json_int_t)s.validators, "peers", (json_int_t)s.peers);
    *out = o;
    return 0;
}

int gw_h_chains(gw_call_t *c)
{
    cl_config_t *cfg = &c->ctx->cfg;
    json_t *list = json_array();
    for (size_t i = 0; i <= cfg->side_count; i++) {
        cl_chain_t *ch = i == 0 ? &cfg->main : &cfg->sides[i - 1];
        json_t *st = NULL;
        if (s_status(c, ch, &st)) {
            json_t *e = gw_err_json(c->err, c->err_msg);
            st = json_pack("{s:s,s:s,s:O}", "name", gw_chain_name(ch), "chain_id", ch->chain_id,
                           "error", json_object_get(e, "error"));
            json_decref(e);
            c->err = 0;
            c->err_msg[0] = '\0';
            cl_clear_error(c->ctx);
        }
        json_array_append_new(list, st);
    }
    c->out = json_pack("{s:o}", "chains", list);
    return 0;
}

int gw_h_chain(gw_call_t *c)
{
    cl_chain_t *ch;
    return s_chain(c, 0, &ch) ? c->err : s_status(c, ch, &c->out);
}

/* ---- genesis and validators ------------------------------------------------------------- */

static json_t *s_valset_json(const ec_valset_t *vs)
{
    json_t *a = json_array();
    for (uint32_t i = 0; i < vs->count; i++)
        json_array_append_new(a, json_pack("{s:o,s:I}", "pk", gw_json_hex(vs->v[i].pk, EC_PK_BYTES),
                                           "power", (json_int_t)vs->v[i].power));
    return a;
}

int gw_h_genesis(gw_call_t *c)
{
    cl_chain_t *ch;
    ec_rpc_reply_t r;
    if (s_chain(c, 0, &ch) || s_call(c, ch, "genesis", NULL, &r))
        return c->err;
    int rc = EC_EINVAL;
    ec_genesis_t *g = calloc(1, sizeof *g);
    if (g && r.result->type == MSGPACK_OBJECT_BIN)
        rc = ec_genesis_decode(g, (const uint8_t *)r.result->via.bin.ptr, r.result->via.bin.size);
    if (rc == 0) {
        uint8_t hash[EC_HASH_BYTES];
        ec_genesis_hash(hash, g);
        c->out = json_pack(
            "{s:o,s:s,s:s,s:s,s:I,s:o,s:o}", "hash", gw_json_hex(hash, 32), "chain_id", g->chain_id,
            "kind", g->kind == EC_CHAIN_MAIN ? "main" : "side", "cert_type", g->cert_type,
            "time_ms", (json_int_t)g->time_ms, "validators", s_valset_json(&g->validators),
            "genesis", gw_json_b64((const uint8_t *)r.result->via.bin.ptr, r.result->via.bin.size));
        if (g->kind == EC_CHAIN_SIDE)
            json_object_set_new(c->out, "main_chain_id", json_string(g->main_chain_id));
        json_object_set_new(c->out, "contracts",
                            json_boolean(g->features & EC_GENESIS_F_CONTRACTS));
    }
    free(g);
    ec_rpc_reply_fini(&r);
    return rc ? s_garbled(c, ch, "genesis") : 0;
}

static void s_valset_read_fn(ec_cur_t *cur, void *out)
{
    ec_valset_read(cur, out);
}

int gw_h_validators(gw_call_t *c)
{
    cl_chain_t *ch;
    uint64_t height;
    if (s_chain(c, 0, &ch) || s_arg_u64(c, "height", 0, &height))
        return c->err;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 1);
    ec_write_uint(&w, height);
    ec_rpc_reply_t r;
    int rc = s_call(c, ch, "valset", &w, &r);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    ec_valset_t vs;
    rc = EC_EINVAL;
    if (r.result->type == MSGPACK_OBJECT_BIN)
        rc = ec_decode_read(&vs, sizeof vs, (const uint8_t *)r.result->via.bin.ptr,
                            r.result->via.bin.size, s_valset_read_fn);
    ec_rpc_reply_fini(&r);
    if (rc)
        return s_garbled(c, ch, "valset");
    uint8_t hash[EC_HASH_BYTES];
    ec_valset_hash(hash, &vs);
    c->out = json_pack("{s:I,s:o,s:o}", "height", (json_int_t)height, "hash", gw_json_hex(hash, 32),
                       "validators", s_valset_json(&vs));
    return 0;
}

/* ---- headers and blocks ----------------------------------------------------------------- */

static json_t *s_header_fields(const ec_header_t *h)
{
    uint8_t hash[EC_HASH_BYTES];
    ec_header_hash(hash, h);
    return json_pack(
        "{s:s,s:I,s:o,s:I,s:o,s:o,s:I,s:o,s:o,s:o,s:I,s:o,s:o,s:o,s:I}", "chain_id", h->chain_id,
        "height", (json_int_t)h->height, "hash", gw_json_hex(hash, 32), "time_ms",
        (json_int_t)h->time_ms, "prev_hash", gw_json_hex(h->prev_hash, 32), "tx_root",
        gw_json_hex(h->tx_root, 32), "tx_count", (json_int_t)h->tx_count, "state_root",
        gw_json_hex(h->state_root, 32), "hist_root", gw_json_hex(h->hist_root, 32), "xanchor_root",
        gw_json_hex(h->xanchor_root, 32), "xanchor_count", (json_int_t)h->xanchor_count,
        "valset_hash", gw_json_hex(h->valset_hash, 32), "next_valset_hash",
        gw_json_hex(h->next_valset_hash, 32), "evidence_root", gw_json_hex(h->evidence_root, 32),
        "evidence_count", (json_int_t)h->evidence_count);
}

/* `header [height]` of ch, decoded with its commit, into *out; *h (may be NULL) gets the
 * header. 0 or the error (recorded). */
static int s_header(gw_call_t *c, cl_chain_t *ch, uint64_t height, json_t **out, ec_header_t *h)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 1);
    ec_write_uint(&w, height);
    ec_rpc_reply_t r;
    int rc = s_call(c, ch, "header", &w, &r);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    ec_cur_t cur;
    const uint8_t *hb = NULL, *cb = NULL;
    size_t hn = 0, cn = 0;
    ec_cur_open(&cur, r.result, 2);
    ec_cur_bin(&cur, &hb, &hn, EC_RPC_MESSAGE_BYTES_MAX);
    ec_cur_bin(&cur, &cb, &cn, EC_RPC_MESSAGE_BYTES_MAX);
    ec_header_t hdr;
    ec_commit_t *commit = malloc(sizeof *commit);
    rc = ec_cur_finish(&cur);
    if (rc == 0)
        rc = ec_header_decode(&hdr, hb, hn);
    if (rc == 0)
        rc = commit ? ec_commit_decode(commit, cb, cn) : EC_ENOMEM;
    if (rc == 0) {
        *out = s_header_fields(&hdr);
        json_object_set_new(*out, "commit_round", s_u64(commit->round));
        json_object_set_new(*out, "commit_signatures", s_u64(commit->sig_count));
        json_object_set_new(*out, "header", gw_json_b64(hb, hn));
        json_object_set_new(*out, "commit", gw_json_b64(cb, cn));
        if (h)
            *h = hdr;
    }
    free(commit);
    ec_rpc_reply_fini(&r);
    return rc ? s_garbled(c, ch, "header") : 0;
}

int gw_h_header(gw_call_t *c)
{
    cl_chain_t *ch;
    uint64_t height;
    if (s_chain(c, 0, &ch) || s_value_u64(c, 1, "the height", &height))
        return c->err;
    return s_header(c, ch, height, &c->out, NULL);
}

int gw_h_headers(gw_call_t *c)
{
    cl_chain_t *ch;
    uint64_t from, count;
    if (s_chain(c, 0, &ch) || s_arg_u64(c, "from", 0, &from) || s_arg_u64(c, "count", 20, &count))
        return c->err;
    if (count == 0 || count > S_HEADERS_MAX)
        return gw_fail(c, EC_EINVAL, "count must be 1..%d", S_HEADERS_MAX);
    json_t *list = json_array(), *one = NULL;
    ec_header_t h;
    int rc = s_header(c, ch, from, &one, &h); /* 0: the tip */
    if (rc == EC_ENOTFOUND && from == 0) {    /* no block yet */
        c->err = 0;
        c->out = json_pack("{s:o}", "headers", list);
        return 0;
    }
    if (rc) {
        json_decref(list);
        return rc;
    }
    json_array_append_new(list, one);
    for (uint64_t height = h.height; height > 1 && json_array_size(list) < count; height--) {
        if ((rc = s_header(c, ch, height - 1, &one, NULL)) != 0) {
            json_decref(list);
            return rc;
        }
        json_array_append_new(list, one);
    }
    c->out = json_pack("{s:o}", "headers", list);
    return 0;
}

/* The block's anchor entries (anchor_proof [height, i] for each), appended to list. */
static int s_block_anchors(gw_call_t *c, cl_chain_t *ch, uint64_t height, uint64_t count,
                           json_t *list)
{
    for (uint64_t i = 0; i < count && i < S_ANCHORS_MAX; i++) {
        ec_writer_t w;
        ec_writer_init(&w);
        ec_write_array(&w, 2);
        ec_write_uint(&w, height);
        ec_write_uint(&w, i);
        ec_rpc_reply_t r;
        int rc = s_call(c, ch, "anchor_proof", &w, &r);
        ec_writer_fini(&w);
        if (rc)
            return rc;
        ec_anchor_entry_t e;
        const msgpack_object *o = r.result;
        rc = EC_EINVAL;
        if (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == 4 &&
            o->via.array.ptr[0].type == MSGPACK_OBJECT_BIN)
            rc = ec_anchor_entry_decode(&e, (const uint8_t *)o->via.array.ptr[0].via.bin.ptr,
                                        o->via.array.ptr[0].via.bin.size);
        ec_rpc_reply_fini(&r);
        if (rc)
            return s_garbled(c, ch, "anchor_proof");
        json_array_append_new(list, json_pack("{s:s,s:I,s:o}", "chain_id", e.chain_id, "height",
                                              (json_int_t)e.height, "hash",
                                              gw_json_hex(e.header_hash, 32)));
    }
    return 0;
}

int gw_h_block(gw_call_t *c)
{
    cl_chain_t *ch;
    uint64_t height;
    if (s_chain(c, 0, &ch) || s_value_u64(c, 1, "the height", &height))
        return c->err;
    int rc = s_header(c, ch, height, &c->out, NULL);
    if (rc)
        return rc;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 1);
    ec_write_uint(&w, height);
    ec_rpc_reply_t r;
    rc = s_call(c, ch, "block", &w, &r);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    ec_block_t *b = calloc(1, sizeof *b);
    rc = b ? EC_EINVAL : EC_ENOMEM;
    if (b && r.result->type == MSGPACK_OBJECT_BIN)
        rc = ec_block_decode(b, (const uint8_t *)r.result->via.bin.ptr, r.result->via.bin.size);
    if (rc) {
        free(b);
        ec_rpc_reply_fini(&r);
        return s_garbled(c, ch, "block");
    }
    json_t *txs = json_array();
    for (uint32_t i = 0; i < b->tx_count; i++) {
        ec_tx_t tx;
        ec_tx_result_t res;
        ec_block_result(b, i, &res);
        json_t *item = json_pack("{s:I,s:i,s:s,s:I,s:I}", "index", (json_int_t)i, "code", res.code,
                                 "code_name", res.code ? ec_errname(res.code) : "OK", "ref",
                                 (json_int_t)res.ref, "slot", (json_int_t)res.slot);
        if (ec_tx_decode(&tx, (const uint8_t *)b->txs[i].via.bin.ptr, b->txs[i].via.bin.size) ==
            0) {
            json_object_set_new(item, "id", gw_json_hex(tx.id, 32));
            json_object_set_new(item, "type", s_u64(tx.type));
            json_object_set_new(item, "type_name",
                                json_string(ec_tx_type_name(s_kind(c, ch), tx.type)));
            json_object_set_new(item, "sender", gw_json_hex(tx.sender, EC_PK_BYTES));
            ec_tx_fini(&tx);
        }
        json_array_append_new(txs, item);
    }
    uint64_t xcount = b->header.xanchor_count;
    ec_block_fini(b);
    free(b);
    ec_rpc_reply_fini(&r);
    json_object_set_new(c->out, "txs", txs);
    json_t *anchors = json_array();
    json_object_set_new(c->out, "anchors", anchors);
    return s_block_anchors(c, ch, height, xcount, anchors);
}

/* ---- transactions ----------------------------------------------------------------------- */

int gw_h_tx(gw_call_t *c)
{
    cl_chain_t *ch;
    uint8_t id[EC_HASH_BYTES];
    if (s_chain(c, 0, &ch) || s_value_hash(c, 1, "the transaction id", id))
        return c->err;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 1);
    ec_write_bin(&w, id, sizeof id);
    ec_rpc_reply_t r;
    int rc = s_call(c, ch, "tx", &w, &r);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    ec_cur_t cur;
    uint64_t height, index, ref, slot;
    int64_t code;
    const uint8_t *txb = NULL, *payload = NULL;
    size_t txn = 0, pn = 0;
    bool has_payload = false;
    ec_cur_open(&cur, r.result, 7);
    ec_cur_uint(&cur, &height);
    ec_cur_uint(&cur, &index);
    ec_cur_bin(&cur, &txb, &txn, EC_TX_BYTES_MAX);
    if (ec_cur_peek_nil(&cur)) {
        ec_cur_nil(&cur);
    } else {
        ec_cur_bin(&cur, &payload, &pn, EC_PAYLOAD_BYTES_MAX);
        has_payload = true;
    }
    ec_cur_int(&cur, &code);
    ec_cur_uint(&cur, &ref);
    ec_cur_uint(&cur, &slot);
    ec_tx_t tx;
    json_t *body = NULL;
    rc = ec_cur_finish(&cur);
    if (rc == 0)
        rc = ec_tx_decode(&tx, txb, txn);
    if (rc == 0) {
        rc = gw_tjson_from_msgpack(&body, tx.body);
        char nonce[24];
        snprintf(nonce, sizeof nonce, "%" PRIu64, tx.nonce);
        if (rc == 0)
            c->out = json_pack(
                "{s:o,s:I,s:I,s:I,s:s,s:o,s:s,s:o,s:I,s:s,s:I,s:I,s:o,s:o,s:o,s:s}", "id",
                gw_json_hex(tx.id, 32), "height", (json_int_t)height, "index", (json_int_t)index,
                "type", (json_int_t)tx.type, "type_name", ec_tx_type_name(s_kind(c, ch), tx.type),
                "sender", gw_json_hex(tx.sender, EC_PK_BYTES), "nonce", nonce, "payload_hash",
                tx.has_payload ? gw_json_hex(tx.payload_hash, 32) : json_null(), "code",
                (json_int_t)code, "code_name", code ? ec_errname((int)code) : "OK", "ref",
                (json_int_t)ref, "slot", (json_int_t)slot, "body", body, "payload",
                has_payload ? gw_json_b64(payload, pn) : json_null(), "tx", gw_json_b64(txb, txn),
                "chain_id", tx.chain_id);
        ec_tx_fini(&tx);
    }
    ec_rpc_reply_fini(&r);
    return rc ? s_garbled(c, ch, "tx") : 0;
}

int gw_h_bundle(gw_call_t *c)
{
    cl_chain_t *ch;
    uint8_t id[EC_HASH_BYTES];
    if (s_side(c, 0, &ch) || s_value_hash(c, 1, "the transaction id", id))
        return c->err;
    ec_writer_t w;
    ec_writer_init(&w);
    int rc = cl_proof_build(c->ctx, ch, id, S_BUNDLE_WAIT_MS, true, &w);
    if (rc == 0)
        c->out = json_pack("{s:o}", "bundle", gw_json_b64(ec_writer_data(&w), ec_writer_size(&w)));
    ec_writer_fini(&w);
    return rc ? gw_fail_ctx(c) : 0;
}

/* ---- submit ----------------------------------------------------------------------------- */

/* Checks a transaction body with the chain's own reader for its type (ec_body.h). Types
 * whose bodies the apps read themselves (anchors, validator and side-chain updates) only
 * need to be an array here: the node checks them. */
static int s_body_check(uint32_t kind, uint64_t type, const msgpack_object *body, ec_status_t *st)
{
    union {
        ec_register_body_t reg;
        ec_org_body_t org;
        ec_role_body_t role;
        ec_attest_body_t attest;
        ec_sidechain_body_t side;
        ec_propose_body_t propose;
        ec_approve_body_t approve;
        ec_operators_body_t ops;
        ec_key_rotate_body_t rotate;
        ec_key_recover_body_t recover;
        ec_key_finish_body_t finish;
        ec_issue_body_t issue;
        ec_inspect_body_t inspect;
        ec_ack_body_t ack;
        ec_renew_body_t renew;
        ec_change_body_t change;
        ec_revoke_body_t revoke;
        ec_contract_deploy_body_t deploy;
        ec_contract_call_body_t call;
        ec_contract_decide_body_t decide;
        ec_evidence_body_t evidence;
    } *u = malloc(sizeof *u);
    if (!u)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    int rc = 0;
    if (kind == EC_CHAIN_MAIN) {
        switch (type) {
            case EC_MTX_REGISTER:
                rc = ec_register_body_read(&u->reg, body, st);
                break;
            case EC_MTX_ORG:
                rc = ec_org_body_read(&u->org, body, st);
                break;
            case EC_MTX_ROLE_GRANT:
            case EC_MTX_ROLE_REVOKE:
                rc = ec_role_body_read(&u->role, body, st);
                break;
            case EC_MTX_ATTEST:
                rc = ec_attest_body_read(&u->attest, body, st);
                break;
            case EC_MTX_SIDECHAIN:
                rc = ec_sidechain_body_read(&u->side, body, st);
                break;
            case EC_MTX_GOV_PROPOSE:
                rc = ec_propose_body_read(&u->propose, body, st);
                break;
            case EC_MTX_GOV_APPROVE:
                rc = ec_approve_body_read(&u->approve, body, st);
                break;
            case EC_MTX_OPERATORS:
                rc = ec_operators_body_read(&u->ops, body, st);
                break;
            case EC_MTX_KEY_ROTATE:
                rc = ec_key_rotate_body_read(&u->rotate, body, st);
                break;
            case EC_MTX_KEY_RECOVER:
                rc = ec_key_recover_body_read(&u->recover, body, st);
                break;
            case EC_MTX_KEY_RECOVER_FINISH:
                rc = ec_key_finish_body_read(&u->finish, body, st);
                break;
            case EC_MTX_KEY_REVOKE:
            case EC_MTX_KEY_VETO:
                rc = ec_empty_body_read(body, type, st);
                break;
            case EC_MTX_CONTRACT_DEPLOY:
            case EC_MTX_CONTRACT_UPGRADE:
                rc = ec_contract_deploy_body_read(&u->deploy, body,
                                                  type == EC_MTX_CONTRACT_DEPLOY
                                                      ? EC_STX_CONTRACT_DEPLOY
                                                      : EC_STX_CONTRACT_UPGRADE,
                                                  st);
                break;
            case EC_MTX_CONTRACT_CALL:
                rc = ec_contract_call_body_read(&u->call, body, st);
                break;
            case EC_MTX_CONTRACT_DECIDE:
                rc = ec_contract_decide_body_read(&u->decide, body, st);
                break;
            default:
                if (type < 1 || type > EC_MTX_MAX)
                    rc = ec_status_set(st, EC_EINVAL, "no main-chain transaction type %" PRIu64,
                                       type);
        }
    } else {
        switch (type) {
            case EC_STX_ISSUE:
                rc = ec_issue_body_read(&u->issue, body, st);
                break;
            case EC_STX_INSPECT:
                rc = ec_inspect_body_read(&u->inspect, body, st);
                break;
            case EC_STX_ACK:
                rc = ec_ack_body_read(&u->ack, body, st);
                break;
            case EC_STX_RENEW:
                rc = ec_renew_body_read(&u->renew, body, st);
                break;
            case EC_STX_CHANGE:
                rc = ec_change_body_read(&u->change, body, st);
                break;
            case EC_STX_REVOKE:
                rc = ec_revoke_body_read(&u->revoke, body, st);
                break;
            case EC_STX_ERASE:
                rc = ec_erase_body_read(&u->revoke, body, st);
                break;
            case EC_STX_SUSPEND:
            case EC_STX_REINSTATE:
            case EC_STX_CANCEL:
                rc = ec_status_body_read(&u->revoke, body, type, st);
                break;
            case EC_STX_CONTRACT_DEPLOY:
            case EC_STX_CONTRACT_UPGRADE:
                rc = ec_contract_deploy_body_read(&u->deploy, body, type, st);
                break;
            case EC_STX_CONTRACT_CALL:
                rc = ec_contract_call_body_read(&u->call, body, st);
                break;
            case EC_STX_CONTRACT_DECIDE:
                rc = ec_contract_decide_body_read(&u->decide, body, st);
                break;
            case EC_STX_EVIDENCE:
                rc = ec_evidence_body_read(&u->evidence, body, st);
                break;
            default:
                if (type < 1 || type > EC_STX_MAX)
                    rc = ec_status_set(st, EC_EINVAL, "no side-chain transaction type %" PRIu64,
                                       type);
        }
    }
    free(u);
    return rc;
}

/* The body's "nonce": absent (drawn here), an integer, or a decimal string (JavaScript
 * numbers stop being exact at 2^53, and nonces are 64 random bits). */
static int s_nonce(gw_call_t *c, const json_t *j, uint64_t *nonce)
{
    if (!j || json_is_null(j)) {
        randombytes_buf(nonce, sizeof *nonce);
        return 0;
    }
    if (json_is_integer(j) && json_integer_value(j) >= 0) {
        *nonce = (uint64_t)json_integer_value(j);
        return 0;
    }
    if (json_is_string(j) && s_parse_u64(json_string_value(j), nonce))
        return 0;
    return gw_fail(c, EC_EINVAL, "'nonce' must be a decimal string or a non-negative integer");
}

int gw_h_prepare(gw_call_t *c)
{
    cl_chain_t *ch;
    if (s_chain(c, 0, &ch))
        return c->err;
    const json_t *b = c->body, *jtype = json_object_get(b, "type"),
                 *jsender = json_object_get(b, "sender"), *jph = json_object_get(b, "payload_hash"),
                 *jbody = json_object_get(b, "body");
    uint8_t sender[EC_PK_BYTES], ph[EC_HASH_BYTES];
    uint64_t nonce;
    if (!json_is_integer(jtype) || json_integer_value(jtype) < 1)
        return gw_fail(c, EC_EINVAL, "'type' must be a transaction type number");
    if (!json_is_string(jsender) ||
        gw_hex_decode(sender, sizeof sender, NULL, json_string_value(jsender), sizeof sender))
        return gw_fail(c, EC_EINVAL, "'sender' must be the sender's public key, 64 hex digits");
    if (jph && !json_is_null(jph) &&
        (!json_is_string(jph) ||
         gw_hex_decode(ph, sizeof ph, NULL, json_string_value(jph), sizeof ph)))
        return gw_fail(c, EC_EINVAL, "'payload_hash' must be 64 hex digits or null");
    if (!json_is_array(jbody))
        return gw_fail(c, EC_EINVAL, "'body' must be a typed-JSON array");
    if (s_nonce(c, json_object_get(b, "nonce"), &nonce))
        return c->err;
    ec_writer_t body, sig;
    ec_writer_init(&body);
    ec_writer_init(&sig);
    ec_status_t st = {0};
    int rc = gw_tjson_to_msgpack(&body, jbody, &st);
    if (rc) {
        ec_writer_fini(&body);
        return gw_fail(c, rc, "body: %s", st.msg);
    }
    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *root;
    rc = ec_decode(&d, ec_writer_data(&body), ec_writer_size(&body), &root);
    if (rc == 0)
        rc = s_body_check(s_kind(c, ch), (uint64_t)json_integer_value(jtype), root, &st);
    ec_decoder_fini(&d);
    if (rc) {
        ec_writer_fini(&body);
        return gw_fail(c, rc, "body of a %s: %s",
                       ec_tx_type_name(s_kind(c, ch), (uint64_t)json_integer_value(jtype)),
                       st.msg[0] ? st.msg : ec_strerror(rc));
    }
    /* signed = [1, chain_id, type, sender, nonce, payload_hash | nil, body] (ec_types.h) */
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 7);
    ec_write_uint(&w, EC_VERSION);
    ec_write_cstr(&w, ch->chain_id);
    ec_write_uint(&w, (uint64_t)json_integer_value(jtype));
    ec_write_bin(&w, sender, sizeof sender);
    ec_write_uint(&w, nonce);
    if (jph && !json_is_null(jph))
        ec_write_bin(&w, ph, sizeof ph);
    else
        ec_write_nil(&w);
    ec_write_raw(&w, ec_writer_data(&body), ec_writer_size(&body));
    ec_writer_fini(&body);
    ec_write_raw(&sig, EC_TAG_TX, sizeof EC_TAG_TX); /* the tag and its NUL */
    ec_write_raw(&sig, ec_writer_data(&w), ec_writer_size(&w));
    uint8_t id[EC_HASH_BYTES];
    ec_sha256(id, ec_writer_data(&sig), ec_writer_size(&sig));
    char nonce_s[24];
    snprintf(nonce_s, sizeof nonce_s, "%" PRIu64, nonce);
    if (ec_writer_size(&w) + 80 > EC_TX_BYTES_MAX)
        rc = gw_fail(c, EC_ETOOBIG, "the transaction would be %zu bytes, above %u",
                     ec_writer_size(&w) + 80, EC_TX_BYTES_MAX);
    else
        c->out = json_pack("{s:o,s:o,s:o,s:s,s:s}", "tx_id", gw_json_hex(id, 32), "signed",
                           gw_json_b64(ec_writer_data(&w), ec_writer_size(&w)), "sign_bytes",
                           gw_json_b64(ec_writer_data(&sig), ec_writer_size(&sig)), "nonce",
                           nonce_s, "chain_id", ch->chain_id);
    ec_writer_fini(&w);
    ec_writer_fini(&sig);
    return rc;
}

int gw_h_submit(gw_call_t *c)
{
    cl_chain_t *ch;
    if (s_chain(c, 0, &ch))
        return c->err;
    const json_t *js = json_object_get(c->body, "signed"), *jsig = json_object_get(c->body, "sig"),
                 *jp = json_object_get(c->body, "payload");
    uint8_t sig[EC_SIG_BYTES];
    uint8_t *signed_bytes = NULL, *payload = NULL;
    size_t signed_size = 0, payload_size = 0;
    int rc;
    if (!json_is_string(js) || (rc = gw_b64_decode(&signed_bytes, &signed_size,
                                                   json_string_value(js), EC_TX_BYTES_MAX)) != 0)
        return gw_fail(c, EC_EINVAL, "'signed' must be base64 of at most %u bytes",
                       EC_TX_BYTES_MAX);
    if (!json_is_string(jsig) ||
        gw_hex_decode(sig, sizeof sig, NULL, json_string_value(jsig), sizeof sig)) {
        free(signed_bytes);
        return gw_fail(c, EC_EINVAL, "'sig' must be an Ed25519 signature, 128 hex digits");
    }
    if (jp && !json_is_null(jp) &&
        (!json_is_string(jp) || (rc = gw_b64_decode(&payload, &payload_size, json_string_value(jp),
                                                    EC_PAYLOAD_BYTES_MAX)) != 0)) {
        free(signed_bytes);
        return gw_fail(c, rc == EC_ETOOBIG ? EC_ETOOBIG : EC_EINVAL,
                       "'payload' must be base64 of at most %u bytes, or null",
                       EC_PAYLOAD_BYTES_MAX);
    }
    ec_writer_t env, params;
    ec_writer_init(&env);
    ec_writer_init(&params);
    ec_write_array(&env, 2);
    ec_write_bin(&env, signed_bytes, signed_size);
    ec_write_bin(&env, sig, sizeof sig);
    free(signed_bytes);
    ec_tx_t tx;
    rc = ec_tx_decode(&tx, ec_writer_data(&env), ec_writer_size(&env));
    if (rc == 0)
        ec_tx_fini(&tx);
    else
        gw_fail(c, rc,
                "'signed' is not a transaction's signed part (docs/PROTOCOL.md "
                "\"Transactions\")");
    if (rc == 0) {
        ec_write_array(&params, 2);
        ec_write_bin(&params, ec_writer_data(&env), ec_writer_size(&env));
        if (jp && !json_is_null(jp))
            ec_write_bin(&params, payload, payload_size);
        else
            ec_write_nil(&params);
        uint32_t saved = c->ctx->timeout_ms;
        c->ctx->timeout_ms = c->app->submit_timeout_ms;
        ec_rpc_reply_t r;
        rc = s_call(c, ch, "submit", &params, &r);
        c->ctx->timeout_ms = saved;
        if (rc == 0) {
            ec_cur_t cur;
            uint8_t id[EC_HASH_BYTES];
            uint64_t height, index;
            ec_cur_open(&cur, r.result, 3);
            ec_cur_bin_fixed(&cur, id, sizeof id);
            ec_cur_uint(&cur, &height);
            ec_cur_uint(&cur, &index);
            rc = ec_cur_finish(&cur);
            ec_rpc_reply_fini(&r);
            if (rc)
                rc = s_garbled(c, ch, "submit");
            else
                c->out = json_pack("{s:o,s:I,s:I}", "tx_id", gw_json_hex(id, 32), "height",
                                   (json_int_t)height, "index", (json_int_t)index);
        }
    }
    free(payload);
    ec_writer_fini(&env);
    ec_writer_fini(&params);
    return rc;
}

/* ---- generic queries -------------------------------------------------------------------- */

static int s_query_tjson(gw_call_t *c, const json_t *args)
{
    cl_chain_t *ch;
    if (s_chain(c, 0, &ch))
        return c->err;
    size_t plen = strlen(c->values[1]);
    if (plen < 1 || plen > 63)
        return gw_fail(c, EC_EINVAL, "a query path is 1..63 bytes");
    if (!json_is_array(args))
        return gw_fail(c, EC_EINVAL, "'args' must be a typed-JSON array");
    ec_writer_t w;
    ec_writer_init(&w);
    ec_status_t st = {0};
    int rc = gw_tjson_to_msgpack(&w, args, &st);
    if (rc) {
        ec_writer_fini(&w);
        return gw_fail(c, rc, "args: %s", st.msg);
    }
    ec_rpc_reply_t r;
    rc = s_query(c, ch, c->values[1], &w, &r);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    json_t *result;
    rc = gw_tjson_from_msgpack(&result, r.result);
    ec_rpc_reply_fini(&r);
    if (rc)
        return gw_fail(c, rc, "the result has no typed-JSON form");
    c->out = json_pack("{s:o}", "result", result);
    return 0;
}

int gw_h_query_get(gw_call_t *c)
{
    const char *text = gw_arg(c, "args");
    if (!text)
        text = "[]";
    json_error_t e;
    json_t *args = json_loads(text, JSON_REJECT_DUPLICATES, &e);
    if (!args)
        return gw_fail(c, EC_EINVAL, "'args' is not JSON: %s", e.text);
    int rc = s_query_tjson(c, args);
    json_decref(args);
    return rc;
}

int gw_h_query_post(gw_call_t *c)
{
    return s_query_tjson(c, json_object_get(c->body, "args"));
}

/* ---- accounts and certificates ---------------------------------------------------------- */

int gw_h_account(gw_call_t *c)
{
    if (s_value_address(c, 0))
        return c->err;
    cl_account_t *a = malloc(sizeof *a);
    if (!a)
        return gw_fail(c, EC_ENOMEM, "out of memory");
    if (cl_account_get(c->ctx, c->values[0], a)) {
        free(a);
        return gw_fail_ctx(c);
    }
    json_t *roles = json_array();
    for (size_t i = 0; i < a->role_count; i++) {
        const char *rn = ec_role_name(a->roles[i].role);
        json_array_append_new(roles,
                              json_pack("{s:I,s:s,s:s,s:s}", "role", (json_int_t)a->roles[i].role,
                                        "role_name", rn ? rn : "unknown", "cert_type",
                                        a->roles[i].cert_type, "org_code", a->roles[i].org_code));
    }
    json_t *recovery = json_null();
    if (a->recovery)
        recovery = json_pack("{s:o,s:I}", "new_key", gw_json_hex(a->recovery_key, EC_PK_BYTES),
                             "ready_ms", (json_int_t)a->recovery_ready_ms);
    static const uint8_t zero[EC_PK_BYTES];
    c->out = json_pack("{s:s,s:s,s:o,s:o,s:b,s:I,s:b,s:o,s:o}", "address", a->address, "name",
                       a->name, "pk", gw_json_hex(a->pk, EC_PK_BYTES), "key",
                       gw_json_hex(a->key, EC_PK_BYTES), "revoked",
                       memcmp(a->key, zero, EC_PK_BYTES) == 0, "height", (json_int_t)a->height,
                       "attested", a->attested, "roles", roles, "recovery", recovery);
    free(a);
    return 0;
}

/* The `inspections` query of a certificate as JSON. */
static int s_inspections(gw_call_t *c, cl_chain_t *ch, const uint8_t id[EC_HASH_BYTES],
                         json_t **out)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 1);
    ec_write_bin(&w, id, EC_HASH_BYTES);
    ec_rpc_reply_t r;
    int rc = s_query(c, ch, "inspections", &w, &r);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    ec_cur_t cur;
    ec_cur_open_max(&cur, r.result, 100000);
    json_t *list = json_array();
    for (uint32_t i = 0; i < cur.count; i++) {
        ec_cur_t it;
        uint8_t tx[32], inspector[32];
        uint64_t height;
        char org[EC_ORG_CODE_MAX], verdict[EC_VERDICT_MAX];
        ec_cur_enter(&cur, &it, 5);
        ec_cur_bin_fixed(&it, tx, 32);
        ec_cur_uint(&it, &height);
        ec_cur_str_copy(&it, org, sizeof org);
        ec_cur_bin_fixed(&it, inspector, 32);
        ec_cur_str_copy(&it, verdict, sizeof verdict);
        ec_cur_fold(&cur, &it);
        if (cur.err)
            break;
        json_array_append_new(list,
                              json_pack("{s:o,s:I,s:s,s:o,s:s}", "tx_id", gw_json_hex(tx, 32),
                                        "height", (json_int_t)height, "org_code", org, "inspector",
                                        gw_json_hex(inspector, 32), "verdict", verdict));
    }
    rc = ec_cur_finish(&cur);
    ec_rpc_reply_fini(&r);
    if (rc) {
        json_decref(list);
        return s_garbled(c, ch, "query inspections");
    }
    *out = list;
    return 0;
}

int gw_h_cert(gw_call_t *c)
{
    cl_chain_t *ch;
    uint8_t id[EC_HASH_BYTES];
    if (s_side(c, 0, &ch) || s_value_hash(c, 1, "the certificate id", id))
        return c->err;
    cl_cert_t cert;
    ec_rpc_reply_t r;
    if (cl_cert_fetch(c->ctx, ch, id, &cert, &r))
        return gw_fail_ctx(c);
    c->out = json_pack(
        "{s:o,s:s,s:s,s:o,s:I,s:o,s:I,s:s,s:I,s:I,s:I,s:b,s:I,s:I,s:I}", "cert_id",
        gw_json_hex(cert.id, 32), "holder", cert.holder, "org_code", cert.org_code, "issuer",
        gw_json_hex(cert.issuer, 32), "height", (json_int_t)cert.height, "fields_root",
        gw_json_hex(cert.fields_root, 32), "expires_ms", (json_int_t)cert.expires_ms, "status",
        cert.status, "payload_size", (json_int_t)cert.payload_size, "inspection_count",
        (json_int_t)cert.inspections, "updated_height", (json_int_t)cert.updated_height, "erased",
        cert.erased, "auth_height", (json_int_t)cert.auth_height, "slot", (json_int_t)cert.slot,
        "history_count", (json_int_t)cert.history);
    ec_rpc_reply_fini(&r);
    cl_history_t h = {0};
    if (cl_history_get(c->ctx, ch, id, &h))
        return gw_fail_ctx(c);
    json_t *hist = json_array();
    for (size_t i = 0; i < h.count; i++)
        json_array_append_new(hist, json_pack("{s:I,s:I,s:s,s:I,s:o}", "seq", (json_int_t)i, "type",
                                              (json_int_t)h.items[i].type, "type_name",
                                              ec_tx_type_name(EC_CHAIN_SIDE, h.items[i].type),
                                              "height", (json_int_t)h.items[i].height, "tx_id",
                                              gw_json_hex(h.items[i].tx, 32)));
    cl_history_fini(&h);
    json_object_set_new(c->out, "history", hist);
    json_t *insp = NULL;
    if (s_inspections(c, ch, id, &insp))
        return c->err;
    json_object_set_new(c->out, "inspections", insp);
    return 0;
}

int gw_h_holder_certs(gw_call_t *c)
{
    cl_chain_t *ch;
    uint64_t limit;
    uint8_t after[EC_HASH_BYTES];
    const char *after_s = gw_arg(c, "after");
    if (s_side(c, 0, &ch) || s_value_address(c, 1) || s_arg_u64(c, "limit", 0, &limit))
        return c->err;
    if (limit > 1000)
        return gw_fail(c, EC_EINVAL, "limit is at most 1000");
    if (after_s && gw_hex_decode(after, sizeof after, NULL, after_s, sizeof after))
        return gw_fail(c, EC_EINVAL, "'after' must be a certificate id, 64 hex digits");
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 3);
    ec_write_cstr(&w, c->values[1]);
    if (after_s)
        ec_write_bin(&w, after, sizeof after);
    else
        ec_write_nil(&w);
    ec_write_uint(&w, limit);
    ec_rpc_reply_t r;
    int rc = s_query(c, ch, "certs_by_holder", &w, &r);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    ec_cur_t cur;
    ec_cur_open_max(&cur, r.result, 1000);
    json_t *list = json_array();
    for (uint32_t i = 0; i < cur.count; i++) {
        ec_cur_t it;
        uint8_t id[32];
        uint64_t height;
        char org[EC_ORG_CODE_MAX], status[32];
        ec_cur_enter(&cur, &it, 4);
        ec_cur_bin_fixed(&it, id, 32);
        ec_cur_uint(&it, &height);
        ec_cur_str_copy(&it, org, sizeof org);
        ec_cur_str_copy(&it, status, sizeof status);
        ec_cur_fold(&cur, &it);
        if (cur.err)
            break;
        json_array_append_new(list, json_pack("{s:o,s:I,s:s,s:s}", "cert_id", gw_json_hex(id, 32),
                                              "height", (json_int_t)height, "org_code", org,
                                              "status", status));
    }
    rc = ec_cur_finish(&cur);
    ec_rpc_reply_fini(&r);
    if (rc) {
        json_decref(list);
        return s_garbled(c, ch, "query certs_by_holder");
    }
    c->out = json_pack("{s:s,s:o}", "holder", c->values[1], "certs", list);
    return 0;
}

int gw_h_status_list(gw_call_t *c)
{
    cl_chain_t *ch;
    if (s_side(c, 0, &ch))
        return c->err;
    ec_writer_t obj, list;
    ec_writer_init(&obj);
    ec_writer_init(&list);
    uint64_t height = 0, count = 0;
    int rc = cl_status_list_build(c->ctx, ch, S_SLIST_WAIT_MS, &obj, &list, &height, &count);
    if (rc == 0)
        c->out =
            json_pack("{s:I,s:I,s:o,s:o}", "height", (json_int_t)height, "count", (json_int_t)count,
                      "list", gw_json_b64(ec_writer_data(&list), ec_writer_size(&list)), "object",
                      gw_json_b64(ec_writer_data(&obj), ec_writer_size(&obj)));
    ec_writer_fini(&obj);
    ec_writer_fini(&list);
    return rc ? gw_fail_ctx(c) : 0;
}

/*
 * A W3C status-list credential: the file DIR/<chain>/<agency address>/<purpose>.json under
 * --status-dir, which the agency writes with `ecert export status-list` (docs/INTEROP.md)
 * whenever its list changes. The gateway holds no agency key, so it cannot make one: it
 * serves the agency's file as it is, and outside verifiers check the agency's proof. The
 * file must parse as a JSON object (a half-written file is not served; the CLI writes
 * atomically anyway) and is at most S_STATUS_VC_BYTES_MAX.
 */
#define S_STATUS_VC_BYTES_MAX (16u << 20) /* 2^26 entries gzip to well under this       */
int gw_h_status_vc(gw_call_t *c)
{
    cl_chain_t *ch;
    if (s_side(c, 0, &ch))
        return c->err;
    const char *address = c->values[1], *purpose = c->values[2];
    uint8_t hash[EC_ADDR_HASH_BYTES];
    if (ec_address_parse(hash, address))
        return gw_fail(c, EC_EINVAL, "'%s' is not a valid ecert address (ec1...)", address);
    if (strcmp(purpose, "revocation") != 0 && strcmp(purpose, "suspension") != 0)
        return gw_fail(c, EC_EINVAL, "the purpose is 'revocation' or 'suspension'");
    if (!c->app->status_dir[0])
        return gw_fail(c, EC_ENOTFOUND,
                       "this gateway serves no status-list credentials (--status-dir)");
    char path[sizeof c->app->status_dir + 256];
    int n = snprintf(path, sizeof path, "%s/%s/%s/%s.json", c->app->status_dir, gw_chain_name(ch),
                     address, purpose);
    if (n < 0 || (size_t)n >= sizeof path) /* the parts are bounded: cannot happen */
        return gw_fail(c, EC_EINTERNAL, "status-list path too long");
    uint8_t *data = NULL;
    size_t size = 0;
    if (cl_read_file(c->ctx, path, S_STATUS_VC_BYTES_MAX, &data, &size)) {
        cl_clear_error(c->ctx);
        return gw_fail(c, EC_ENOTFOUND,
                       "no %s list from %s for %s here: the agency has not published one", purpose,
                       address, gw_chain_name(ch));
    }
    json_error_t jerr;
    c->out = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    free(data);
    if (!json_is_object(c->out)) {
        json_decref(c->out);
        c->out = NULL;
        return gw_fail(c, EC_EINTERNAL, "the %s list of %s for %s is not a JSON object", purpose,
                       address, gw_chain_name(ch));
    }
    return 0;
}

int gw_h_usage(gw_call_t *c)
{
    cl_chain_t *ch;
    uint64_t from_ms, to_ms;
    const char *org = gw_arg(c, "org");
    if (s_side(c, 0, &ch) || s_arg_u64(c, "from_ms", 0, &from_ms) ||
        s_arg_u64(c, "to_ms", cl_now_ms() + 86400000ull, &to_ms))
        return c->err;
    if (!org || !ec_org_code_valid(org))
        return gw_fail(c, EC_EINVAL, "'org' must be an organization code");
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 4);
    ec_write_cstr(&w, org);
    ec_write_uint(&w, from_ms);
    ec_write_uint(&w, to_ms);
    ec_write_nil(&w);
    ec_rpc_reply_t r;
    int rc = s_query(c, ch, "usage", &w, &r);
    ec_writer_fini(&w);
    if (rc)
        return rc;
    ec_cur_t cur;
    ec_cur_open_max(&cur, r.result, 1000);
    json_t *list = json_array();
    for (uint32_t i = 0; i < cur.count; i++) {
        ec_cur_t it;
        uint8_t tx[32], cert[32];
        uint64_t time_ms, height;
        char verdict[EC_VERDICT_MAX];
        ec_cur_enter(&cur, &it, 5);
        ec_cur_uint(&it, &time_ms);
        ec_cur_uint(&it, &height);
        ec_cur_bin_fixed(&it, tx, 32);
        ec_cur_bin_fixed(&it, cert, 32);
        ec_cur_str_copy(&it, verdict, sizeof verdict);
        ec_cur_fold(&cur, &it);
        if (cur.err)
            break;
        json_array_append_new(list,
                              json_pack("{s:I,s:I,s:o,s:o,s:s}", "time_ms", (json_int_t)time_ms,
                                        "height", (json_int_t)height, "tx_id", gw_json_hex(tx, 32),
                                        "cert_id", gw_json_hex(cert, 32), "verdict", verdict));
    }
    rc = ec_cur_finish(&cur);
    ec_rpc_reply_fini(&r);
    if (rc) {
        json_decref(list);
        return s_garbled(c, ch, "query usage");
    }
    c->out = json_pack("{s:s,s:I,s:I,s:I,s:o}", "org", org, "from_ms", (json_int_t)from_ms, "to_ms",
                       (json_int_t)to_ms, "count", (json_int_t)json_array_size(list), "inspections",
                       list);
    return 0;
}

/* ---- anchoring -------------------------------------------------------------------------- */

int gw_h_anchors(gw_call_t *c)
{
    cl_config_t *cfg = &c->ctx->cfg;
    json_t *main_st = NULL;
    if (s_status(c, &cfg->main, &main_st))
        return c->err;
    uint64_t main_height = (uint64_t)json_integer_value(json_object_get(main_st, "height"));
    json_decref(main_st);
    ec_rpc_reply_t r;
    int rc = s_query(c, &cfg->main, "sidechains", NULL, &r);
    if (rc)
        return rc;
    json_t *sides = json_array();
    ec_cur_t cur;
    ec_cur_open_max(&cur, r.result, 4096);
    for (uint32_t i = 0; i < cur.count; i++) {
        gw_sidechain_t sc;
        if (gw_sidechain_read(&cur, &sc))
            break;
        const char *chain_id = sc.chain_id;
        uint64_t anchored = sc.anchored;
        json_t *item = json_pack("{s:s,s:s,s:I,s:b}", "name", sc.type, "chain_id", chain_id,
                                 "anchored_height", (json_int_t)anchored, "frozen", sc.frozen);
        /* The side chain's own view, when the config names it: its tip and its mirror. */
        cl_chain_t *side = NULL;
        for (size_t k = 0; k < cfg->side_count; k++)
            if (!strcmp(cfg->sides[k].chain_id, chain_id))
                side = &cfg->sides[k];
        json_t *st = NULL;
        ec_rpc_reply_t m;
        if (side && s_status(c, side, &st) == 0) {
            uint64_t h = (uint64_t)json_integer_value(json_object_get(st, "height"));
            json_object_set_new(item, "name", json_string(gw_chain_name(side)));
            json_object_set_new(item, "height", s_u64(h));
            json_object_set_new(item, "lag_blocks", s_u64(h > anchored ? h - anchored : 0));
            json_decref(st);
            if (s_query(c, side, "mirror", NULL, &m) == 0) {
                uint64_t mh = 0;
                if (gw_mirror_read(m.result, &mh) == 0) {
                    json_object_set_new(item, "mirrored_main_height", s_u64(mh));
                    json_object_set_new(item, "main_lag_blocks",
                                        s_u64(main_height > mh ? main_height - mh : 0));
                }
                ec_rpc_reply_fini(&m);
            }
        }
        if (c->err) { /* a side chain that does not answer is shown without its view */
            json_object_set_new(item, "error",
                                json_pack("{s:i,s:s,s:s}", "code", c->err, "name",
                                          ec_errname(c->err), "message", c->err_msg));
            c->err = 0;
            cl_clear_error(c->ctx);
        }
        json_array_append_new(sides, item);
    }
    rc = ec_cur_finish(&cur);
    ec_rpc_reply_fini(&r);
    if (rc) {
        json_decref(sides);
        return s_garbled(c, &cfg->main, "query sidechains");
    }
    c->out = json_pack("{s:I,s:o}", "main_height", (json_int_t)main_height, "sides", sides);
    return 0;
}

/* ---- the gateway itself ----------------------------------------------------------------- */

int gw_h_healthz(gw_call_t *c)
{
    c->out =
        json_pack("{s:b,s:I}", "ok", 1, "chains", (json_int_t)(1 + c->app->tmpl.cfg.side_count));
    return 0;
}

int gw_h_openapi(gw_call_t *c)
{
    const char *host =
        c->conn ? MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, "Host") : NULL;
    char url[300];
    snprintf(url, sizeof url, "http://%s", host && strlen(host) < 256 ? host : "127.0.0.1");
    c->out = gw_openapi(url);
    return 0;
}
