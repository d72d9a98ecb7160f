/*
 * test_node.c - the chain engine end to end: a real node in a temporary directory, bound
 * on ipc:// sockets inside it, with a small key-value app defined here, driven through the
 * ec_rpc client and through a raw DEALER for malformed frames.
 *
 * The app: type 1 PUT [key: str, value: str] (check_tx refuses an empty key; deliver_tx
 * first records "last" = key, then refuses a key that exists with EC_EEXIST, so a failed
 * transaction proves the rollback), type 2 ANCHOR [chain_id: str, height: uint, hash:
 * bin32] (adds an anchor entry to the block). Query "get" [key] returns the value.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "ec_log.h"
#include "ec_mempool.h"
#include "ec_merkle.h"
#include "ec_mlog.h"
#include "ec_node.h"
#include "ec_rpc.h"
#include "test_util.h"

enum { KV_PUT = 1, KV_ANCHOR = 2 };
#define CHAIN "kv-test"

/* ---- the test app ----------------------------------------------------------------------- */

static int kv_body(const ec_tx_t *tx, const char **k, size_t *kl, const char **v, size_t *vl)
{
    ec_cur_t c;
    ec_cur_open(&c, tx->body, 2);
    ec_cur_str(&c, k, kl, 64);
    ec_cur_str(&c, v, vl, 1024);
    return ec_cur_finish(&c);
}

static int kv_anchor_body(const ec_tx_t *tx, ec_anchor_entry_t *e)
{
    ec_cur_t c;
    memset(e, 0, sizeof(*e));
    ec_cur_open(&c, tx->body, 3);
    ec_cur_str_copy(&c, e->chain_id, sizeof(e->chain_id));
    ec_cur_uint(&c, &e->height);
    ec_cur_bin_fixed(&c, e->header_hash, EC_HASH_BYTES);
    return ec_cur_finish(&c);
}

static int kv_check(void *self, const ec_tx_t *tx, const uint8_t *payload, size_t payload_size,
                    ec_status_t *st)
{
    (void)self, (void)payload, (void)payload_size;
    const char *k, *v;
    size_t kl, vl;
    ec_anchor_entry_t e;
    if (tx->type == KV_ANCHOR)
        return kv_anchor_body(tx, &e) ? ec_status_set(st, EC_EINVAL, "bad anchor body") : 0;
    if (tx->type != KV_PUT)
        return ec_status_set(st, EC_EINVAL, "unknown type");
    if (kv_body(tx, &k, &kl, &v, &vl) != 0)
        return ec_status_set(st, EC_EINVAL, "body must be [key, value]");
    if (kl == 0)
        return ec_status_set(st, EC_EINVAL, "empty key");
    return 0;
}

static int kv_deliver(void *self, ec_block_ctx_t *ctx, const ec_tx_t *tx, const uint8_t *payload,
                      size_t payload_size, ec_status_t *st)
{
    (void)self, (void)payload, (void)payload_size;
    if (tx->type == KV_ANCHOR) {
        ec_anchor_entry_t e;
        assert_int_equal(kv_anchor_body(tx, &e), 0);
        return ec_block_ctx_add_anchor(ctx, &e) ? ec_status_set(st, EC_EBUSY, "full") : 0;
    }
    const char *k, *v;
    size_t kl, vl;
    assert_int_equal(kv_body(tx, &k, &kl, &v, &vl), 0);
    if (kl == 8 && memcmp(k, "io-fault", 8) == 0)
        return ec_status_set(st, EC_EIO, "simulated storage read error");
    /* Written before the check on purpose: a refused tx must leave no trace. */
    ec_state_put(ctx->ledger, "last", 4, k, kl);
    uint8_t *old = NULL;
    size_t old_size;
    int rc = ec_state_get(ctx->ledger, k, kl, &old, &old_size);
    if (rc == 0) {
        free(old);
        return ec_status_set(st, EC_EEXIST, "key %.*s exists", (int)kl, k);
    }
    assert_int_equal(rc, EC_ENOTFOUND);
    ec_state_put(ctx->ledger, k, kl, v, vl);
    return 0;
}

static int kv_end(void *self, ec_block_ctx_t *ctx, uint8_t root[EC_HASH_BYTES])
{
    (void)self;
    ec_ledger_state_digest(ctx->ledger, root);
    return 0;
}

static int kv_query(void *self, ec_ledger_t *ledger, const char *path, const msgpack_object *args,
                    ec_writer_t *out, ec_status_t *st)
{
    (void)self;
    if (strcmp(path, "get") != 0)
        return ec_status_set(st, EC_EMETHOD, "unknown query path %s", path);
    ec_cur_t c;
    const char *k;
    size_t kl;
    ec_cur_open(&c, args, 1);
    ec_cur_str(&c, &k, &kl, 64);
    if (ec_cur_finish(&c) != 0)
        return ec_status_set(st, EC_EINVAL, "args must be [key]");
    uint8_t *v = NULL;
    size_t vl;
    int rc = ec_ledger_get(ledger, EC_CF_STATE, k, kl, &v, &vl);
    if (rc != 0)
        return ec_status_set(st, rc, "no key");
    ec_write_str(out, (const char *)v, vl);
    free(v);
    return 0;
}

/* ---- fixture ---------------------------------------------------------------------------- */

typedef struct {
    char dir[64];
    char data[96];
    char rpc_ep[128];
    char pub_ep[128];
    ec_key_t *vkey;
    ec_key_t *user;
    ec_genesis_t genesis;
    ec_app_t app;
    ec_node_config_t cfg;
    ec_node_t *node;
    pthread_t thread;
    int run_rc;
    ec_rpc_t *rpc;
    uint64_t nonce;
} fx_t;

static void *s_run(void *arg)
{
    fx_t *f = arg;
    f->run_rc = ec_node_run(f->node);
    return NULL;
}

static void s_genesis(ec_genesis_t *g, const char *chain_id, const ec_key_t *vkey)
{
    memset(g, 0, sizeof(*g));
    snprintf(g->chain_id, sizeof(g->chain_id), "%s", chain_id);
    g->kind = EC_CHAIN_MAIN;
    g->time_ms = 1700000000000ull;
    g->validators.count = 1;
    memcpy(g->validators.v[0].pk, ec_key_pk(vkey), EC_PK_BYTES);
    g->validators.v[0].power = 10;
    g->operator_count = 1; /* a main chain names its governance keys */
    g->operator_quorum = 1;
    memset(g->operators[0], 0x11, EC_PK_BYTES);
}

static fx_t *s_fx_new(uint32_t interval_ms, uint32_t txs_max, uint32_t mempool_max)
{
    fx_t *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    tu_tmpdir_make(f->dir, sizeof f->dir, "ec-node");
    snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
    snprintf(f->rpc_ep, sizeof(f->rpc_ep), "ipc://%s/rpc", f->dir);
    snprintf(f->pub_ep, sizeof(f->pub_ep), "ipc://%s/pub", f->dir);
    uint8_t seed[32] = {1};
    f->vkey = ec_key_from_seed(seed);
    seed[0] = 2;
    f->user = ec_key_from_seed(seed);
    s_genesis(&f->genesis, CHAIN, f->vkey);
    f->app = (ec_app_t){"kv", NULL, kv_check, kv_deliver, kv_end, kv_query};
    f->cfg = (ec_node_config_t){
        .data_dir = f->data,
        .rpc_endpoint = f->rpc_ep,
        .pub_endpoint = f->pub_ep,
        .genesis = &f->genesis,
        .validator_key = f->vkey,
        .block_interval_ms = interval_ms,
        .block_txs_max = txs_max,
        .verify_threads = 2,
        .mempool_max = mempool_max,
    };
    f->nonce = 1000;
    return f;
}

static void s_fx_start(fx_t *f)
{
    ec_status_t st = {0};
    f->node = ec_node_new(&f->cfg, &f->app, &st);
    if (!f->node)
        fail_msg("ec_node_new: %s", st.msg);
    assert_int_equal(pthread_create(&f->thread, NULL, s_run, f), 0);
    if (!f->rpc)
        f->rpc = ec_rpc_connect(f->rpc_ep, 10000);
    assert_non_null(f->rpc);
}

static void s_fx_stop(fx_t *f)
{
    ec_node_stop(f->node);
    pthread_join(f->thread, NULL);
    assert_int_equal(f->run_rc, 0);
    ec_node_destroy(&f->node);
    assert_null(f->node);
}

static void s_fx_free(fx_t *f)
{
    if (f->node)
        s_fx_stop(f);
    ec_rpc_destroy(&f->rpc);
    ec_key_destroy(&f->vkey);
    ec_key_destroy(&f->user);
    tu_tmpdir_remove(f->dir);
    free(f);
}

/* ---- helpers ---------------------------------------------------------------------------- */

/* Builds a signed PUT (or, with type KV_ANCHOR, whatever body is given) into out. */
static void s_tx(fx_t *f, ec_writer_t *out, uint8_t id[EC_HASH_BYTES], const char *chain,
                 const char *key, const char *value, const uint8_t *payload_hash)
{
    ec_writer_t b;
    ec_writer_init(&b);
    ec_write_array(&b, 2);
    ec_write_cstr(&b, key);
    ec_write_cstr(&b, value);
    ec_writer_reset(out);
    ec_tx_build(out, id, chain, KV_PUT, f->user, f->nonce++, payload_hash, ec_writer_data(&b),
                ec_writer_size(&b));
    ec_writer_fini(&b);
}

static void s_submit_params(ec_writer_t *p, const ec_writer_t *tx, const uint8_t *payload,
                            size_t payload_size)
{
    ec_writer_reset(p);
    ec_write_array(p, 2);
    ec_write_bin(p, ec_writer_data(tx), ec_writer_size(tx));
    if (payload)
        ec_write_bin(p, payload, payload_size);
    else
        ec_write_nil(p);
}

/* Submits and waits; returns the node's code; fills height/index on success. */
static int s_submit(fx_t *f, const ec_writer_t *tx, const uint8_t *payload, size_t payload_size,
                    const uint8_t id[EC_HASH_BYTES], uint64_t *height, uint64_t *index, char *msg)
{
    ec_writer_t p;
    ec_writer_init(&p);
    s_submit_params(&p, tx, payload, payload_size);
    ec_rpc_reply_t r;
    ec_status_t st;
    assert_int_equal(ec_rpc_call(f->rpc, "submit", ec_writer_data(&p), ec_writer_size(&p), &r, &st),
                     0);
    ec_writer_fini(&p);
    int code = r.code;
    if (msg)
        strcpy(msg, r.message);
    if (code == 0) {
        ec_cur_t c;
        uint8_t got[EC_HASH_BYTES];
        uint64_t h, i;
        ec_cur_open(&c, r.result, 3);
        ec_cur_bin_fixed(&c, got, EC_HASH_BYTES);
        ec_cur_uint(&c, &h);
        ec_cur_uint(&c, &i);
        assert_int_equal(ec_cur_finish(&c), 0);
        if (id)
            assert_memory_equal(got, id, EC_HASH_BYTES);
        if (height)
            *height = h;
        if (index)
            *index = i;
    }
    ec_rpc_reply_fini(&r);
    return code;
}

static int s_put(fx_t *f, const char *key, const char *value, uint8_t id[EC_HASH_BYTES],
                 uint64_t *height, uint64_t *index)
{
    ec_writer_t tx;
    ec_writer_init(&tx);
    uint8_t local[EC_HASH_BYTES];
    if (!id)
        id = local;
    s_tx(f, &tx, id, CHAIN, key, value, NULL);
    int rc = s_submit(f, &tx, NULL, 0, id, height, index, NULL);
    ec_writer_fini(&tx);
    return rc;
}

/* Calls a method with params built from a printf-like spec of uints ("u") or bins. */
static int s_call(fx_t *f, const char *method, const ec_writer_t *params, ec_rpc_reply_t *r)
{
    ec_status_t st;
    assert_int_equal(ec_rpc_call(f->rpc, method, params ? ec_writer_data(params) : NULL,
                                 params ? ec_writer_size(params) : 0, r, &st),
                     0);
    return r->code;
}

static int s_call_u(fx_t *f, const char *method, int n, uint64_t a, uint64_t b, ec_rpc_reply_t *r)
{
    ec_writer_t p;
    ec_writer_init(&p);
    ec_write_array(&p, (uint32_t)n);
    if (n > 0)
        ec_write_uint(&p, a);
    if (n > 1)
        ec_write_uint(&p, b);
    int rc = s_call(f, method, &p, r);
    ec_writer_fini(&p);
    return rc;
}

static int s_call_id(fx_t *f, const char *method, const uint8_t id[EC_HASH_BYTES],
                     ec_rpc_reply_t *r)
{
    ec_writer_t p;
    ec_writer_init(&p);
    ec_write_array(&p, 1);
    ec_write_bin(&p, id, EC_HASH_BYTES);
    int rc = s_call(f, method, &p, r);
    ec_writer_fini(&p);
    return rc;
}

/* Fetches and decodes header `height` (0 = tip) and its commit. */
static void s_header(fx_t *f, uint64_t height, ec_header_t *h, ec_commit_t *c)
{
    ec_rpc_reply_t r;
    assert_int_equal(s_call_u(f, "header", 1, height, 0, &r), 0);
    ec_cur_t cur;
    const uint8_t *hb, *cb;
    size_t hs, cs;
    ec_cur_open(&cur, r.result, 2);
    ec_cur_bin(&cur, &hb, &hs, 1 << 20);
    ec_cur_bin(&cur, &cb, &cs, 1 << 20);
    assert_int_equal(ec_cur_finish(&cur), 0);
    assert_int_equal(ec_header_decode(h, hb, hs), 0);
    ec_commit_t local;
    assert_int_equal(ec_commit_decode(c ? c : &local, cb, cs), 0);
    ec_rpc_reply_fini(&r);
}

static uint64_t s_status_height(fx_t *f)
{
    ec_rpc_reply_t r;
    assert_int_equal(s_call(f, "status", NULL, &r), 0);
    assert_int_equal(r.result->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(r.result->via.array.size, 13);
    uint64_t h = r.result->via.array.ptr[3].via.u64;
    ec_rpc_reply_fini(&r);
    return h;
}

/* ---- shared node for most tests -------------------------------------------------------- */

static int s_group_setup(void **state)
{
    ec_log_init("test_node", EC_LOG_WARN);
    assert_int_equal(ec_crypto_init(), 0);
    fx_t *f = s_fx_new(20, 500, 10000);
    s_fx_start(f);
    *state = f;
    return 0;
}

static int s_group_teardown(void **state)
{
    s_fx_free(*state);
    return 0;
}

/* A node of its own for a test that stops or damages it. */
static int s_own_setup(void **state)
{
    fx_t *f = s_fx_new(20, 1000, 1000);
    s_fx_start(f);
    *state = f;
    return 0;
}

static int s_own_teardown(void **state)
{
    s_fx_free(*state);
    return 0;
}

static void test_status_genesis(void **state)
{
    fx_t *f = *state;
    ec_rpc_reply_t r;
    assert_int_equal(s_call(f, "status", NULL, &r), 0);
    ec_rpc_status_t s;
    uint8_t expect[EC_HASH_BYTES];
    assert_int_equal(ec_rpc_status_read(&s, r.result), 0);
    assert_string_equal(s.chain_id, CHAIN);
    assert_int_equal(s.kind, EC_CHAIN_MAIN);
    ec_genesis_hash(expect, &f->genesis);
    assert_memory_equal(s.genesis_hash, expect, EC_HASH_BYTES);
    /* a chain of one validator: this node is validator 0 of 1, with no peers */
    assert_true(s.is_validator);
    assert_int_equal(s.validator, 0);
    assert_int_equal(s.validators, 1);
    assert_int_equal(s.peers, 0);
    ec_rpc_reply_fini(&r);

    /* The validator set of the next block, and the changes since the genesis (none). */
    assert_int_equal(s_call_u(f, "valset", 1, 0, 0, &r), 0);
    assert_int_equal(r.result->type, MSGPACK_OBJECT_BIN);
    ec_writer_t vw;
    ec_writer_init(&vw);
    ec_valset_encode(&vw, &f->genesis.validators);
    assert_int_equal(r.result->via.bin.size, ec_writer_size(&vw));
    assert_memory_equal(r.result->via.bin.ptr, ec_writer_data(&vw), ec_writer_size(&vw));
    ec_writer_fini(&vw);
    ec_rpc_reply_fini(&r);
    assert_int_equal(s_call_u(f, "valset", 1, 1000000, 0, &r), EC_ENOTFOUND);
    ec_rpc_reply_fini(&r);
    assert_int_equal(s_call_u(f, "valsets", 1, 1, 0, &r), 0);
    assert_int_equal(r.result->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(r.result->via.array.size, 0);
    ec_rpc_reply_fini(&r);

    assert_int_equal(s_call(f, "genesis", NULL, &r), 0);
    assert_int_equal(r.result->type, MSGPACK_OBJECT_BIN);
    ec_genesis_t g;
    assert_int_equal(
        ec_genesis_decode(&g, (const uint8_t *)r.result->via.bin.ptr, r.result->via.bin.size), 0);
    assert_string_equal(g.chain_id, CHAIN);
    ec_rpc_reply_fini(&r);
}

static void test_submit_and_read(void **state)
{
    fx_t *f = *state;
    uint8_t id[EC_HASH_BYTES];
    uint64_t h = 0, idx = 9;
    ec_writer_t tx;
    ec_writer_init(&tx);
    s_tx(f, &tx, id, CHAIN, "alpha", "one", NULL);
    assert_int_equal(s_submit(f, &tx, NULL, 0, id, &h, &idx, NULL), 0);
    assert_true(h >= 1);
    assert_true(s_status_height(f) >= h);

    /* tx */
    ec_rpc_reply_t r;
    assert_int_equal(s_call_id(f, "tx", id, &r), 0);
    ec_cur_t c;
    uint64_t th, ti;
    const uint8_t *tb;
    size_t ts;
    int64_t code = -1;
    uint64_t ref = 1, slot = 1;
    ec_cur_open(&c, r.result, 7);
    ec_cur_uint(&c, &th);
    ec_cur_uint(&c, &ti);
    ec_cur_bin(&c, &tb, &ts, EC_TX_BYTES_MAX);
    ec_cur_nil(&c);
    ec_cur_int(&c, &code);
    ec_cur_uint(&c, &ref);
    ec_cur_uint(&c, &slot);
    assert_int_equal(ec_cur_finish(&c), 0);
    assert_int_equal(code, 0);
    assert_int_equal(ref, 0);
    assert_int_equal(th, h);
    assert_int_equal(ti, idx);
    assert_int_equal(ts, ec_writer_size(&tx));
    assert_memory_equal(tb, ec_writer_data(&tx), ts);
    ec_rpc_reply_fini(&r);

    /* header + commit */
    ec_header_t hd;
    ec_commit_t cm;
    s_header(f, h, &hd, &cm);
    assert_int_equal(hd.height, h);
    assert_string_equal(hd.chain_id, CHAIN);
    assert_true(hd.tx_count > idx);
    assert_true(hd.time_ms >= f->genesis.time_ms);
    assert_int_equal(ec_commit_verify(&cm, &hd, &f->genesis.validators), 0);
    uint8_t vh[EC_HASH_BYTES];
    ec_valset_hash(vh, &f->genesis.validators);
    assert_memory_equal(hd.valset_hash, vh, EC_HASH_BYTES);

    /* block */
    assert_int_equal(s_call_u(f, "block", 1, h, 0, &r), 0);
    ec_block_t b;
    assert_int_equal(r.result->type, MSGPACK_OBJECT_BIN);
    assert_int_equal(
        ec_block_decode(&b, (const uint8_t *)r.result->via.bin.ptr, r.result->via.bin.size), 0);
    assert_int_equal(b.tx_count, hd.tx_count);
    assert_memory_equal(b.header.tx_root, hd.tx_root, EC_HASH_BYTES);
    assert_int_equal(b.txs[idx].via.bin.size, ec_writer_size(&tx));
    ec_block_fini(&b);
    ec_rpc_reply_fini(&r);

    /* tx_proof verifies against the header's tx_root */
    assert_int_equal(s_call_id(f, "tx_proof", id, &r), 0);
    uint64_t ph, pi, pn;
    const msgpack_object *path;
    ec_cur_open(&c, r.result, 8);
    ec_cur_uint(&c, &ph);
    ec_cur_uint(&c, &pi);
    ec_cur_uint(&c, &pn);
    path = ec_cur_object(&c);
    ec_cur_bin(&c, &tb, &ts, 1 << 16);
    ec_cur_int(&c, &code);
    ec_cur_uint(&c, &ref);
    ec_cur_uint(&c, &slot);
    assert_int_equal(ec_cur_finish(&c), 0);
    assert_int_equal(code, 0);
    assert_int_equal(ph, h);
    assert_int_equal(pi, idx);
    assert_int_equal(pn, hd.tx_count);
    ec_header_t ph_hd;
    assert_int_equal(ec_header_decode(&ph_hd, tb, ts), 0);
    ec_hash32_t hashes[EC_MERKLE_PROOF_MAX];
    size_t len = 0;
    ec_cur_t pc;
    ec_cur_open_max(&pc, path, EC_MERKLE_PROOF_MAX);
    for (uint32_t i = 0; i < pc.count; i++)
        ec_cur_bin_fixed(&pc, hashes[len++], EC_HASH_BYTES);
    assert_int_equal(ec_cur_finish(&pc), 0);
    uint8_t leaf[EC_HASH_BYTES];
    ec_tx_result_t applied = {0, 0};
    ec_tx_leaf(leaf, id, &applied);
    assert_int_equal(
        ec_merkle_inclusion_verify(leaf, pi, pn, (const ec_hash32_t *)hashes, len, ph_hd.tx_root),
        0);
    /* a wrong leaf does not */
    leaf[0] ^= 1;
    assert_int_equal(
        ec_merkle_inclusion_verify(leaf, pi, pn, (const ec_hash32_t *)hashes, len, ph_hd.tx_root),
        EC_EPROOF);
    ec_rpc_reply_fini(&r);

    /* the app's state and query */
    ec_writer_t q;
    ec_writer_init(&q);
    ec_write_array(&q, 2);
    ec_write_cstr(&q, "get");
    ec_write_array(&q, 1);
    ec_write_cstr(&q, "alpha");
    assert_int_equal(s_call(f, "query", &q, &r), 0);
    assert_int_equal(r.result->type, MSGPACK_OBJECT_STR);
    assert_int_equal(r.result->via.str.size, 3);
    assert_memory_equal(r.result->via.str.ptr, "one", 3);
    ec_rpc_reply_fini(&r);
    ec_writer_reset(&q);
    ec_write_array(&q, 2);
    ec_write_cstr(&q, "nope");
    ec_write_array(&q, 0);
    assert_int_equal(s_call(f, "query", &q, &r), EC_EMETHOD);
    ec_rpc_reply_fini(&r);
    ec_writer_fini(&q);

    /* replay: refused, and the refusal says where the committed transaction is */
    char msg[200], want[96];
    assert_int_equal(s_submit(f, &tx, NULL, 0, NULL, NULL, NULL, msg), EC_EREPLAY);
    snprintf(want, sizeof want, "already committed at height %llu, index %llu",
             (unsigned long long)h, (unsigned long long)idx);
    if (!strstr(msg, want))
        fail_msg("replay message \"%s\" does not say \"%s\"", msg, want);
    ec_writer_fini(&tx);
}

static void test_refusals(void **state)
{
    fx_t *f = *state;
    ec_writer_t tx;
    ec_writer_init(&tx);
    uint8_t id[EC_HASH_BYTES];
    char msg[200];
    /* another chain */
    s_tx(f, &tx, id, "other-chain", "k", "v", NULL);
    assert_int_equal(s_submit(f, &tx, NULL, 0, NULL, NULL, NULL, msg), EC_ECHAIN);
    /* a broken signature: flip the last byte of the envelope (inside the signature) */
    s_tx(f, &tx, id, CHAIN, "k", "v", NULL);
    uint8_t *bytes = (uint8_t *)ec_writer_data(&tx);
    bytes[ec_writer_size(&tx) - 1] ^= 0x01;
    assert_int_equal(s_submit(f, &tx, NULL, 0, NULL, NULL, NULL, msg), EC_ESIG);
    /* check_tx refuses an empty key */
    s_tx(f, &tx, id, CHAIN, "", "v", NULL);
    assert_int_equal(s_submit(f, &tx, NULL, 0, NULL, NULL, NULL, msg), EC_EINVAL);
    assert_non_null(strstr(msg, "empty key"));
    /* not a transaction at all */
    ec_writer_reset(&tx);
    ec_write_array(&tx, 1);
    ec_write_uint(&tx, 5);
    assert_int_equal(s_submit(f, &tx, NULL, 0, NULL, NULL, NULL, msg), EC_EINVAL);

    /* payloads: matching, missing, unexpected, mismatching, too big */
    static const uint8_t payload[] = "sealed certificate bytes";
    uint8_t ph[EC_HASH_BYTES];
    ec_sha256(ph, payload, sizeof(payload));
    s_tx(f, &tx, id, CHAIN, "with-payload", "v", ph);
    assert_int_equal(s_submit(f, &tx, NULL, 0, NULL, NULL, NULL, msg), EC_EINVAL);
    assert_non_null(strstr(msg, "payload"));
    assert_int_equal(s_submit(f, &tx, payload, sizeof(payload) - 1, NULL, NULL, NULL, msg),
                     EC_EINVAL);
    uint64_t h;
    assert_int_equal(s_submit(f, &tx, payload, sizeof(payload), id, &h, NULL, msg), 0);
    ec_rpc_reply_t r;
    assert_int_equal(s_call_id(f, "tx", id, &r), 0);
    const msgpack_object *pl = &r.result->via.array.ptr[3];
    assert_int_equal(pl->type, MSGPACK_OBJECT_BIN);
    assert_int_equal(pl->via.bin.size, sizeof(payload));
    assert_memory_equal(pl->via.bin.ptr, payload, sizeof(payload));
    ec_rpc_reply_fini(&r);
    s_tx(f, &tx, id, CHAIN, "no-payload", "v", NULL);
    assert_int_equal(s_submit(f, &tx, payload, sizeof(payload), NULL, NULL, NULL, msg), EC_EINVAL);
    uint8_t *big = calloc(1, EC_PAYLOAD_BYTES_MAX + 1);
    assert_int_equal(s_submit(f, &tx, big, EC_PAYLOAD_BYTES_MAX + 1, NULL, NULL, NULL, msg),
                     EC_ETOOBIG);
    free(big);

    /* unknown tx id */
    memset(id, 0x5a, sizeof(id));
    assert_int_equal(s_call_id(f, "tx", id, &r), EC_ENOTFOUND);
    ec_rpc_reply_fini(&r);
    assert_int_equal(s_call_id(f, "tx_proof", id, &r), EC_ENOTFOUND);
    ec_rpc_reply_fini(&r);
    ec_writer_fini(&tx);
}

static void test_bad_requests(void **state)
{
    fx_t *f = *state;
    ec_rpc_reply_t r;
    assert_int_equal(s_call(f, "frobnicate", NULL, &r), EC_EMETHOD);
    assert_non_null(strstr(r.message, "frobnicate"));
    ec_rpc_reply_fini(&r);
    /* wrong parameter shapes name the parameter */
    assert_int_equal(s_call(f, "header", NULL, &r), EC_EINVAL);
    ec_rpc_reply_fini(&r);
    ec_writer_t p;
    ec_writer_init(&p);
    ec_write_array(&p, 1);
    ec_write_cstr(&p, "ten");
    assert_int_equal(s_call(f, "header", &p, &r), EC_EINVAL);
    assert_non_null(strstr(r.message, "height"));
    ec_rpc_reply_fini(&r);
    ec_writer_reset(&p);
    ec_write_array(&p, 1);
    ec_write_bin(&p, "short", 5);
    assert_int_equal(s_call(f, "tx", &p, &r), EC_EINVAL);
    assert_non_null(strstr(r.message, "tx_id"));
    ec_rpc_reply_fini(&r);
    ec_writer_reset(&p);
    ec_write_array(&p, 2);
    ec_write_uint(&p, 1);
    ec_write_nil(&p);
    assert_int_equal(s_call(f, "submit", &p, &r), EC_EINVAL);
    assert_non_null(strstr(r.message, "tx"));
    ec_rpc_reply_fini(&r);
    ec_writer_fini(&p);
    assert_int_equal(s_call(f, "status", NULL, &r), 0);
    ec_rpc_reply_fini(&r);
    /* heights past the tip, and out-of-range or reversed proof sizes */
    static const struct {
        const char *method;
        int argc;
        uint64_t a, b;
        int want;
    } cases[] = {
        {"header", 1, 1000000, 0, EC_ENOTFOUND},  {"block", 1, 1000000, 0, EC_ENOTFOUND},
        {"hist_proof", 2, 0, 1000000, EC_EINVAL}, {"hist_proof", 2, 5, 5, EC_EINVAL},
        {"hist_consistency", 2, 3, 2, EC_EINVAL}, {"anchor_proof", 2, 1000000, 0, EC_ENOTFOUND},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = s_call_u(f, cases[i].method, cases[i].argc, cases[i].a, cases[i].b, &r);
        if (rc != cases[i].want)
            print_error("case %zu (%s): got %d, want %d\n", i, cases[i].method, rc, cases[i].want);
        assert_int_equal(rc, cases[i].want);
        ec_rpc_reply_fini(&r);
    }
}

/* Sends raw frames on a DEALER and returns the reply's code and req_id. */
static int s_raw(fx_t *f, void *dealer, const void *data, size_t size, bool two_frames,
                 uint64_t *req_id)
{
    (void)f;
    if (two_frames)
        assert_true(zmq_send(dealer, data, size, ZMQ_SNDMORE) >= 0);
    assert_true(zmq_send(dealer, data, size, 0) >= 0);
    zmq_pollitem_t item = {dealer, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&item, 1, 5000), 1);
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    assert_true(zmq_msg_recv(&msg, dealer, 0) >= 0);
    assert_false(zmq_msg_more(&msg));
    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *root;
    assert_int_equal(ec_decode(&d, zmq_msg_data(&msg), zmq_msg_size(&msg), &root), 0);
    ec_cur_t c;
    uint64_t version;
    int64_t code;
    const char *s;
    size_t sl;
    ec_cur_open(&c, root, 4);
    ec_cur_uint(&c, &version);
    ec_cur_uint(&c, req_id);
    ec_cur_int(&c, &code);
    ec_cur_str(&c, &s, &sl, 200);
    assert_int_equal(ec_cur_finish(&c), 0);
    assert_true(sl > 0);
    ec_decoder_fini(&d);
    zmq_msg_close(&msg);
    return (int)code;
}

static void test_malformed_frames(void **state)
{
    fx_t *f = *state;
    void *ctx = zmq_ctx_new();
    void *dealer = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof(linger));
    assert_int_equal(zmq_connect(dealer, f->rpc_ep), 0);
    uint64_t id = 99;
    static const uint8_t garbage[] = {0xc1, 0xff, 0x00, 0x13};
    static const uint8_t map[] = {0x81, 0xa1, 'a', 0x01};
    static const uint8_t trailing[] = {0x94, 0x01, 0x07, 0xa6, 's',  't',
                                       'a',  't',  'u',  's',  0x90, 0x00};
    static const uint8_t version9[] = {0x94, 0x09, 0x08, 0xa6, 's', 't', 'a', 't', 'u', 's', 0x90};
    static const uint8_t status[] = {0x94, 0x01, 0x07, 0xa6, 's', 't', 'a', 't', 'u', 's', 0x90};
    assert_int_equal(s_raw(f, dealer, garbage, sizeof(garbage), false, &id), EC_EINVAL);
    assert_int_equal(id, 0);
    assert_int_equal(s_raw(f, dealer, map, sizeof(map), false, &id), EC_EINVAL);
    assert_int_equal(s_raw(f, dealer, trailing, sizeof(trailing), false, &id), EC_EINVAL);
    assert_int_equal(s_raw(f, dealer, version9, sizeof(version9), false, &id), EC_EVERSION);
    assert_int_equal(id, 8);
    assert_int_equal(s_raw(f, dealer, "", 0, false, &id), EC_EINVAL);
    assert_int_equal(s_raw(f, dealer, status, sizeof(status), true, &id), EC_EINVAL);
    /* bigger than EC_RPC_MESSAGE_BYTES_MAX */
    size_t huge = EC_RPC_MESSAGE_BYTES_MAX + 4096;
    uint8_t *blob = calloc(1, huge);
    assert_int_equal(s_raw(f, dealer, blob, huge, false, &id), EC_ETOOBIG);
    free(blob);
    /* and it still serves, on this socket and on the client */
    ec_rpc_reply_t r;
    memset(&r, 0, sizeof(r));
    zmq_send(dealer, status, sizeof(status), 0);
    zmq_pollitem_t item = {dealer, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&item, 1, 5000), 1);
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    assert_true(zmq_msg_recv(&msg, dealer, 0) > 0);
    assert_int_equal(((uint8_t *)zmq_msg_data(&msg))[3], 0x00); /* code 0 */
    zmq_msg_close(&msg);
    zmq_close(dealer);
    zmq_ctx_term(ctx);
    assert_int_equal(s_call(f, "status", NULL, &r), 0);
    ec_rpc_reply_fini(&r);
}

static void test_failed_deliver(void **state)
{
    fx_t *f = *state;
    /* Three transactions sent back to back land in one block (20 ms interval): the two
     * writes of "dup" conflict, so deliver_tx refuses the second and rolls it back. */
    ec_writer_t tx, p;
    ec_writer_init(&tx);
    ec_writer_init(&p);
    const char *keys[3] = {"dup", "dup", "other"};
    uint64_t req[3];
    for (int i = 0; i < 3; i++) {
        uint8_t id[EC_HASH_BYTES];
        s_tx(f, &tx, id, CHAIN, keys[i], i == 1 ? "second" : "first", NULL);
        s_submit_params(&p, &tx, NULL, 0);
        assert_int_equal(
            ec_rpc_send(f->rpc, &req[i], "submit", ec_writer_data(&p), ec_writer_size(&p)), 0);
    }
    int ok = 0, exist = 0;
    uint64_t best_h = 0, best_i = 0, last_req = 0, refused_req = 0;
    char refused_msg[200] = "";
    for (int n = 0; n < 3; n++) {
        ec_rpc_reply_t r;
        assert_int_equal(ec_rpc_recv(f->rpc, &r, 10000), 0);
        if (r.code == 0) {
            ok++;
            uint64_t h = r.result->via.array.ptr[1].via.u64;
            uint64_t i = r.result->via.array.ptr[2].via.u64;
            if (h > best_h || (h == best_h && i >= best_i)) {
                best_h = h;
                best_i = i;
                last_req = r.req_id;
            }
        } else {
            assert_int_equal(r.code, EC_EEXIST);
            refused_req = r.req_id;
            snprintf(refused_msg, sizeof refused_msg, "%s", r.message);
            exist++;
        }
        ec_rpc_reply_fini(&r);
    }
    assert_int_equal(ok, 2);
    assert_int_equal(exist, 1);
    /* "last" is the key of the last successful transaction: the failed one left no trace */
    const char *expect = last_req == req[2] ? "other" : "dup";
    ec_writer_reset(&p);
    ec_write_array(&p, 2);
    ec_write_cstr(&p, "get");
    ec_write_array(&p, 1);
    ec_write_cstr(&p, "last");
    ec_rpc_reply_t r;
    assert_int_equal(s_call(f, "query", &p, &r), 0);
    assert_int_equal(r.result->via.str.size, strlen(expect));
    assert_memory_equal(r.result->via.str.ptr, expect, strlen(expect));
    ec_rpc_reply_fini(&r);
    /* The refused transaction stays in its block with its code: the reply says where and
     * why, `tx` shows it with code EEXIST, and its id is spent. */
    unsigned long long rh = 0, ri = 0;
    if (sscanf(refused_msg, "refused at height %llu, index %llu:", &rh, &ri) != 2)
        fail_msg("refusal message \"%s\" does not say where", refused_msg);
    assert_non_null(strstr(refused_msg, "exists"));
    int refused_at = refused_req == req[0] ? 0 : refused_req == req[1] ? 1 : 2;
    uint8_t rid[EC_HASH_BYTES];
    f->nonce -= 3 - refused_at; /* rebuild the same transaction: same nonce, same id */
    s_tx(f, &tx, rid, CHAIN, keys[refused_at], refused_at == 1 ? "second" : "first", NULL);
    f->nonce += 3 - refused_at - 1;
    assert_int_equal(s_call_id(f, "tx", rid, &r), 0);
    assert_int_equal(r.result->via.array.ptr[0].via.u64, rh);
    assert_int_equal(r.result->via.array.ptr[1].via.u64, ri);
    assert_int_equal(r.result->via.array.ptr[4].via.i64, EC_EEXIST);
    ec_rpc_reply_fini(&r);
    char msg[200];
    assert_int_equal(s_submit(f, &tx, NULL, 0, NULL, NULL, NULL, msg), EC_EREPLAY);
    ec_writer_fini(&tx);
    ec_writer_fini(&p);
}

static void test_pipelined_2000(void **state)
{
    fx_t *f = *state;
    enum { N = 2000 };
    ec_writer_t tx, p;
    ec_writer_init(&tx);
    ec_writer_init(&p);
    uint64_t first = s_status_height(f);
    for (int i = 0; i < N; i++) {
        char key[32];
        uint8_t id[EC_HASH_BYTES];
        snprintf(key, sizeof(key), "bulk-%d", i);
        s_tx(f, &tx, id, CHAIN, key, "v", NULL);
        s_submit_params(&p, &tx, NULL, 0);
        uint64_t rid;
        assert_int_equal(
            ec_rpc_send(f->rpc, &rid, "submit", ec_writer_data(&p), ec_writer_size(&p)), 0);
    }
    uint8_t *seen = calloc(N * 8, 1); /* (height - first) * 500 + index */
    uint64_t max_h = 0;
    for (int n = 0; n < N; n++) {
        ec_rpc_reply_t r;
        assert_int_equal(ec_rpc_recv(f->rpc, &r, 20000), 0);
        if (r.code != 0)
            fail_msg("submit %d: %d %s", n, r.code, r.message);
        uint64_t h = r.result->via.array.ptr[1].via.u64;
        uint64_t i = r.result->via.array.ptr[2].via.u64;
        assert_true(h > first && i < 500);
        size_t slot = (size_t)(h - first - 1) * 500 + i;
        assert_true(slot < N * 8);
        assert_int_equal(seen[slot], 0);
        seen[slot] = 1;
        if (h > max_h)
            max_h = h;
        ec_rpc_reply_fini(&r);
    }
    free(seen);
    /* at least 4 blocks of at most 500 */
    assert_true(max_h - first >= 4);
    /* every block's commit verifies and chains to its predecessor */
    ec_header_t prev, cur;
    ec_commit_t c;
    s_header(f, first, &prev, NULL);
    for (uint64_t h = first + 1; h <= max_h; h++) {
        s_header(f, h, &cur, &c);
        uint8_t ph[EC_HASH_BYTES];
        ec_header_hash(ph, &prev);
        assert_memory_equal(cur.prev_hash, ph, EC_HASH_BYTES);
        assert_true(cur.time_ms >= prev.time_ms);
        assert_true(cur.tx_count >= 1 && cur.tx_count <= 500);
        assert_int_equal(ec_commit_verify(&c, &cur, &f->genesis.validators), 0);
        prev = cur;
    }
    ec_writer_fini(&tx);
    ec_writer_fini(&p);
}

static void s_read_path(const msgpack_object *o, ec_hash32_t *path, size_t *len)
{
    ec_cur_t c;
    ec_cur_open_max(&c, o, EC_MERKLE_PROOF_MAX);
    *len = c.count;
    for (uint32_t i = 0; i < c.count; i++)
        ec_cur_bin_fixed(&c, path[i], EC_HASH_BYTES);
    assert_int_equal(ec_cur_finish(&c), 0);
}

static void test_hist_proofs(void **state)
{
    fx_t *f = *state;
    /* make sure there are a few blocks */
    assert_int_equal(s_put(f, "h1", "x", NULL, NULL, NULL), 0);
    assert_int_equal(s_put(f, "h2", "x", NULL, NULL, NULL), 0);
    ec_header_t tip, b1, bk;
    s_header(f, 0, &tip, NULL);
    assert_true(tip.height >= 3);
    s_header(f, 1, &b1, NULL);
    uint64_t k = tip.height - 1;
    s_header(f, k, &bk, NULL);
    ec_hash32_t path[EC_MERKLE_PROOF_MAX];
    size_t len;
    uint8_t leaf[EC_HASH_BYTES], hash[EC_HASH_BYTES];
    ec_rpc_reply_t r;

    /* block 1 is leaf 1 of the tip's history (size = tip height) */
    assert_int_equal(s_call_u(f, "hist_proof", 2, 1, tip.height, &r), 0);
    s_read_path(r.result, path, &len);
    ec_rpc_reply_fini(&r);
    ec_header_hash(hash, &b1);
    ec_merkle_leaf(leaf, EC_LEAF_BLOCK, hash, EC_HASH_BYTES);
    assert_int_equal(ec_merkle_inclusion_verify(leaf, 1, tip.height, (const ec_hash32_t *)path, len,
                                                tip.hist_root),
                     0);
    /* the genesis hash is leaf 0 */
    assert_int_equal(s_call_u(f, "hist_proof", 2, 0, tip.height, &r), 0);
    s_read_path(r.result, path, &len);
    ec_rpc_reply_fini(&r);
    ec_genesis_hash(hash, &f->genesis);
    ec_merkle_leaf(leaf, EC_LEAF_BLOCK, hash, EC_HASH_BYTES);
    assert_int_equal(ec_merkle_inclusion_verify(leaf, 0, tip.height, (const ec_hash32_t *)path, len,
                                                tip.hist_root),
                     0);
    /* block 1's own hist_root is the tree of the genesis leaf alone */
    uint8_t root1[EC_HASH_BYTES];
    ec_merkle_root(root1, (const ec_hash32_t *)&leaf, 1);
    assert_memory_equal(b1.hist_root, root1, EC_HASH_BYTES);
    /* the tip's hist extends block k's */
    assert_int_equal(s_call_u(f, "hist_consistency", 2, k, tip.height, &r), 0);
    s_read_path(r.result, path, &len);
    ec_rpc_reply_fini(&r);
    assert_int_equal(ec_merkle_consistency_verify(k, tip.height, bk.hist_root, tip.hist_root,
                                                  (const ec_hash32_t *)path, len),
                     0);
    /* the committed history is one longer than the tip's hist_root */
    assert_int_equal(s_call_u(f, "hist_proof", 2, tip.height, tip.height + 1, &r), 0);
    ec_rpc_reply_fini(&r);
    assert_int_equal(s_call_u(f, "hist_consistency", 2, 0, tip.height, &r), 0);
    assert_int_equal(r.result->via.array.size, 0);
    ec_rpc_reply_fini(&r);
}

static void test_anchor_proof(void **state)
{
    fx_t *f = *state;
    ec_writer_t b, tx, p;
    ec_writer_init(&b);
    ec_writer_init(&tx);
    ec_writer_init(&p);
    uint8_t hh[EC_HASH_BYTES];
    memset(hh, 0xab, sizeof(hh));
    ec_write_array(&b, 3);
    ec_write_cstr(&b, "side-chain");
    ec_write_uint(&b, 77);
    ec_write_bin(&b, hh, EC_HASH_BYTES);
    uint8_t id[EC_HASH_BYTES];
    ec_tx_build(&tx, id, CHAIN, KV_ANCHOR, f->user, f->nonce++, NULL, ec_writer_data(&b),
                ec_writer_size(&b));
    uint64_t h;
    assert_int_equal(s_submit(f, &tx, NULL, 0, id, &h, NULL, NULL), 0);
    ec_rpc_reply_t r;
    assert_int_equal(s_call_u(f, "anchor_proof", 2, h, 0, &r), 0);
    ec_cur_t c;
    const uint8_t *entry, *hb, *cb;
    size_t es, hs, cs;
    ec_hash32_t path[EC_MERKLE_PROOF_MAX];
    size_t len;
    ec_cur_open(&c, r.result, 4);
    ec_cur_bin(&c, &entry, &es, 1024);
    s_read_path(ec_cur_object(&c), path, &len);
    ec_cur_bin(&c, &hb, &hs, 1 << 16);
    ec_cur_bin(&c, &cb, &cs, 1 << 16);
    assert_int_equal(ec_cur_finish(&c), 0);
    ec_header_t hd;
    assert_int_equal(ec_header_decode(&hd, hb, hs), 0);
    assert_int_equal(hd.xanchor_count, 1);
    ec_anchor_entry_t e;
    assert_int_equal(ec_anchor_entry_decode(&e, entry, es), 0);
    assert_string_equal(e.chain_id, "side-chain");
    assert_int_equal(e.height, 77);
    uint8_t leaf[EC_HASH_BYTES];
    ec_anchor_entry_leaf(leaf, &e);
    assert_int_equal(ec_merkle_inclusion_verify(leaf, 0, hd.xanchor_count,
                                                (const ec_hash32_t *)path, len, hd.xanchor_root),
                     0);
    ec_rpc_reply_fini(&r);
    assert_int_equal(s_call_u(f, "anchor_proof", 2, h, 1, &r), EC_ENOTFOUND);
    ec_rpc_reply_fini(&r);
    ec_writer_fini(&b);
    ec_writer_fini(&tx);
    ec_writer_fini(&p);
}

/* A local fault inside deliver_tx (here a storage read error) is not a verdict on the
 * transaction: the node stops with that error instead of refusing it, and the submitter
 * hears ESHUTDOWN, never EIO as if the transaction had broken a rule. */
static void test_local_fault_stops(void **state)
{
    fx_t *f = *state;
    uint64_t h = 0;
    assert_int_equal(s_put(f, "before", "1", NULL, &h, NULL), 0);
    assert_int_equal(s_put(f, "io-fault", "x", NULL, NULL, NULL), EC_ESHUTDOWN);
    pthread_join(f->thread, NULL);
    assert_int_equal(f->run_rc, EC_EIO);
    ec_node_destroy(&f->node);
    /* Nothing of the faulty block was committed; the node starts again at the same tip. */
    s_fx_start(f);
    assert_int_equal(s_status_height(f), h);
    uint64_t h2 = 0;
    assert_int_equal(s_put(f, "after", "2", NULL, &h2, NULL), 0);
    assert_int_equal(h2, h + 1);
}

/* A stored header record with more anchor entries than a block may hold (a damaged or
 * hostile store) is answered EIO by anchor_proof, not read past the entries' array. */
static void test_anchor_entries_overflow(void **state)
{
    fx_t *f = *state;
    uint64_t h = 0;
    assert_int_equal(s_put(f, "k", "v", NULL, &h, NULL), 0);
    s_fx_stop(f);
    ec_status_t st = {0};
    ec_ledger_t *l = ec_ledger_open(f->data, &st);
    assert_non_null(l);
    uint8_t *hb = NULL, *cb = NULL;
    size_t hs, cs;
    assert_int_equal(ec_ledger_header_raw(l, h, &hb, &hs, &cb, &cs), 0);
    ec_writer_t w, e;
    ec_writer_init(&w);
    ec_writer_init(&e);
    ec_anchor_entry_t entry;
    memset(&entry, 0, sizeof entry);
    snprintf(entry.chain_id, sizeof entry.chain_id, "other");
    ec_anchor_entry_encode(&e, &entry);
    ec_write_array(&w, 3);
    ec_write_bin(&w, hb, hs);
    ec_write_bin(&w, cb, cs);
    ec_write_array(&w, EC_BLOCK_ANCHORS_MAX + 1);
    for (uint32_t i = 0; i <= EC_BLOCK_ANCHORS_MAX; i++)
        ec_write_bin(&w, ec_writer_data(&e), ec_writer_size(&e));
    uint8_t key[8];
    ec_be64_put(key, h);
    ec_ledger_put(l, EC_CF_HEADERS, key, sizeof key, ec_writer_data(&w), ec_writer_size(&w));
    assert_int_equal(ec_ledger_write(l, h), 0);
    ec_ledger_destroy(&l);
    free(hb);
    free(cb);
    ec_writer_fini(&w);
    ec_writer_fini(&e);
    s_fx_start(f);
    ec_rpc_reply_t r;
    assert_int_equal(s_call_u(f, "anchor_proof", 2, h, 0, &r), EC_EIO);
    ec_rpc_reply_fini(&r);
    assert_int_equal(s_status_height(f), h); /* and it goes on serving */
}

static void test_pub_announcement(void **state)
{
    fx_t *f = *state;
    void *ctx = zmq_ctx_new();
    void *sub = zmq_socket(ctx, ZMQ_SUB);
    int linger = 0;
    zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "header", 6);
    assert_int_equal(zmq_connect(sub, f->pub_ep), 0);
    usleep(200 * 1000); /* let the subscription reach the PUB */
    uint64_t h;
    assert_int_equal(s_put(f, "announced", "x", NULL, &h, NULL), 0);
    bool found = false;
    for (int tries = 0; tries < 10 && !found; tries++) {
        zmq_pollitem_t item = {sub, 0, ZMQ_POLLIN, 0};
        assert_int_equal(zmq_poll(&item, 1, 5000), 1);
        zmq_msg_t parts[3];
        for (int i = 0; i < 3; i++) {
            zmq_msg_init(&parts[i]);
            assert_true(zmq_msg_recv(&parts[i], sub, 0) >= 0);
            assert_int_equal(zmq_msg_more(&parts[i]), i < 2);
        }
        assert_int_equal(zmq_msg_size(&parts[0]), 6);
        assert_memory_equal(zmq_msg_data(&parts[0]), "header", 6);
        ec_header_t hd;
        ec_commit_t c;
        assert_int_equal(ec_header_decode(&hd, zmq_msg_data(&parts[1]), zmq_msg_size(&parts[1])),
                         0);
        assert_int_equal(ec_commit_decode(&c, zmq_msg_data(&parts[2]), zmq_msg_size(&parts[2])), 0);
        assert_int_equal(ec_commit_verify(&c, &hd, &f->genesis.validators), 0);
        found = hd.height == h;
        for (int i = 0; i < 3; i++)
            zmq_msg_close(&parts[i]);
    }
    assert_true(found);
    zmq_close(sub);
    zmq_ctx_term(ctx);
}

/* ---- tests with their own node ----------------------------------------------------------- */

static void test_restart(void **state)
{
    (void)state;
    fx_t *f = s_fx_new(5, 100, 1000);
    s_fx_start(f);
    uint8_t id[EC_HASH_BYTES];
    uint64_t h1;
    assert_int_equal(s_put(f, "persist", "yes", id, &h1, NULL), 0);
    assert_int_equal(s_put(f, "persist2", "yes", NULL, NULL, NULL), 0);
    uint64_t tip = s_status_height(f);
    ec_header_t before;
    s_header(f, 0, &before, NULL);
    s_fx_stop(f);

    /* another chain's genesis on the same data dir is refused */
    ec_genesis_t other;
    s_genesis(&other, "another-chain", f->vkey);
    ec_node_config_t cfg = f->cfg;
    cfg.genesis = &other;
    ec_status_t st = {0};
    assert_null(ec_node_new(&cfg, &f->app, &st));
    assert_int_equal(st.code, EC_ECHAIN);
    /* a validator key that is not in the genesis is refused */
    cfg = f->cfg;
    cfg.validator_key = f->user;
    assert_null(ec_node_new(&cfg, &f->app, &st));
    assert_int_equal(st.code, EC_ECONFIG);
    /* an invalid genesis (a main chain without operators) */
    s_genesis(&other, CHAIN, f->vkey);
    other.operator_count = 0;
    cfg = f->cfg;
    cfg.genesis = &other;
    assert_null(ec_node_new(&cfg, &f->app, &st));
    assert_int_equal(st.code, EC_ECONFIG);
    /* bad limits */
    cfg = f->cfg;
    cfg.verify_threads = 0;
    assert_null(ec_node_new(&cfg, &f->app, &st));
    assert_int_equal(st.code, EC_ECONFIG);
    cfg = f->cfg;
    cfg.block_txs_max = EC_BLOCK_TXS_MAX + 1;
    assert_null(ec_node_new(&cfg, &f->app, &st));
    assert_int_equal(st.code, EC_ECONFIG);

    /* same dir, same genesis: everything is there and heights continue */
    s_fx_start(f);
    assert_int_equal(s_status_height(f), tip);
    ec_rpc_reply_t r;
    assert_int_equal(s_call_id(f, "tx", id, &r), 0);
    assert_int_equal(r.result->via.array.ptr[0].via.u64, h1);
    ec_rpc_reply_fini(&r);
    uint64_t h2;
    assert_int_equal(s_put(f, "persist", "again", NULL, NULL, NULL), EC_EEXIST);
    assert_int_equal(s_put(f, "after", "restart", NULL, &h2, NULL), 0);
    /* the refused "persist" is in block tip + 1 (with its code), "after" in tip + 2 */
    assert_int_equal(h2, tip + 2);
    ec_header_t after;
    s_header(f, tip + 1, &after, NULL);
    uint8_t ph[EC_HASH_BYTES];
    ec_header_hash(ph, &before);
    assert_memory_equal(after.prev_hash, ph, EC_HASH_BYTES);
    /* a second node on the same endpoint cannot bind (and not on the same dir either) */
    s_fx_free(f);
}

/*
 * A damaged data folder is refused at start, not served: a stray block above the tip, and
 * a history leaf that no longer matches the tip's hash (docs/ARCHITECTURE.md section 4).
 */
static void test_damaged_ledger(void **state)
{
    (void)state;
    fx_t *f = s_fx_new(5, 100, 1000);
    s_fx_start(f);
    assert_int_equal(s_put(f, "a", "1", NULL, NULL, NULL), 0);
    assert_int_equal(s_put(f, "b", "2", NULL, NULL, NULL), 0);
    uint64_t tip = s_status_height(f);
    s_fx_stop(f);
    ec_status_t st = {0};
    uint8_t key[8];

    /* 1. a header stored above the tip */
    ec_ledger_t *l = NULL;
    tu_ledger_reopen(f->cfg.data_dir, &l);
    uint8_t *hdr = NULL;
    size_t hdr_size = 0;
    ec_be64_put(key, tip);
    assert_int_equal(ec_ledger_get(l, EC_CF_HEADERS, key, sizeof key, &hdr, &hdr_size), 0);
    ec_be64_put(key, tip + 1);
    ec_ledger_put(l, EC_CF_HEADERS, key, sizeof key, hdr, hdr_size);
    assert_int_equal(ec_ledger_write(l, tip), 0);
    ec_ledger_destroy(&l);
    assert_null(ec_node_new(&f->cfg, &f->app, &st));
    assert_int_equal(st.code, EC_EIO);
    assert_non_null(strstr(st.msg, "above the tip"));

    /* 2. remove it again: the node starts; then damage the history's last leaf */
    tu_ledger_reopen(f->cfg.data_dir, &l);
    ec_ledger_del(l, EC_CF_HEADERS, key, sizeof key);
    assert_int_equal(ec_ledger_write(l, tip), 0);
    ec_ledger_destroy(&l);
    s_fx_start(f);
    assert_int_equal(s_status_height(f), tip);
    s_fx_stop(f);
    tu_ledger_reopen(f->cfg.data_dir, &l);
    uint8_t node_key[10] = {EC_MLOG_HIST, 0};
    ec_be64_put(node_key + 2, tip);
    uint8_t bogus[EC_HASH_BYTES];
    memset(bogus, 0x5a, sizeof bogus);
    ec_ledger_put(l, EC_CF_MERKLE, node_key, sizeof node_key, bogus, sizeof bogus);
    assert_int_equal(ec_ledger_write(l, tip), 0);
    ec_ledger_destroy(&l);
    assert_null(ec_node_new(&f->cfg, &f->app, &st));
    assert_int_equal(st.code, EC_EIO);
    assert_non_null(strstr(st.msg, "history"));
    free(hdr);
    s_fx_free(f);
}

static void test_bind_in_use(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    void *holder = zmq_socket(ctx, ZMQ_REP);
    int linger = 0;
    zmq_setsockopt(holder, ZMQ_LINGER, &linger, sizeof(linger));
    assert_int_equal(zmq_bind(holder, "tcp://127.0.0.1:*"), 0);
    char ep[128];
    size_t len = sizeof(ep);
    assert_int_equal(zmq_getsockopt(holder, ZMQ_LAST_ENDPOINT, ep, &len), 0);
    fx_t *f = s_fx_new(5, 100, 1000);
    f->cfg.rpc_endpoint = ep;
    ec_status_t st = {0};
    assert_null(ec_node_new(&f->cfg, &f->app, &st));
    assert_int_equal(st.code, EC_EIO);
    assert_non_null(strstr(st.msg, "bind"));
    zmq_close(holder);
    zmq_ctx_term(ctx);
    /* now free: a node on tcp works */
    f->cfg.rpc_endpoint = ep;
    ec_node_t *node = ec_node_new(&f->cfg, &f->app, &st);
    if (!node)
        fail_msg("%s", st.msg);
    ec_rpc_t *rpc = ec_rpc_connect(ep, 5000);
    ec_rpc_reply_t r;
    assert_int_equal(ec_rpc_call(rpc, "status", NULL, 0, &r, &st), 0);
    assert_int_equal(r.code, 0);
    ec_rpc_reply_fini(&r);
    ec_rpc_destroy(&rpc);
    /* stop before run: run returns at once */
    ec_node_stop(node);
    assert_int_equal(ec_node_run(node), 0);
    ec_node_destroy(&node);
    s_fx_free(f);
}

static void test_shutdown_pending(void **state)
{
    (void)state;
    /* Blocks only every minute and room for 3: two refused EBUSY at once, three answered
     * EC_ESHUTDOWN when the node stops. */
    fx_t *f = s_fx_new(60000, 1000, 3);
    s_fx_start(f);
    ec_writer_t tx, p;
    ec_writer_init(&tx);
    ec_writer_init(&p);
    for (int i = 0; i < 5; i++) {
        char key[16];
        uint8_t id[EC_HASH_BYTES];
        snprintf(key, sizeof(key), "wait-%d", i);
        s_tx(f, &tx, id, CHAIN, key, "v", NULL);
        s_submit_params(&p, &tx, NULL, 0);
        uint64_t rid;
        assert_int_equal(
            ec_rpc_send(f->rpc, &rid, "submit", ec_writer_data(&p), ec_writer_size(&p)), 0);
    }
    int busy = 0, down = 0;
    for (int n = 0; n < 2; n++) {
        ec_rpc_reply_t r;
        assert_int_equal(ec_rpc_recv(f->rpc, &r, 5000), 0);
        busy += r.code == EC_EBUSY;
        ec_rpc_reply_fini(&r);
    }
    assert_int_equal(busy, 2);
    /* the mempool count shows in status */
    ec_rpc_reply_t r;
    assert_int_equal(s_call(f, "status", NULL, &r), 0);
    assert_int_equal(r.result->via.array.ptr[7].via.u64, 3);
    assert_int_equal(r.result->via.array.ptr[3].via.u64, 0);
    assert_int_equal(r.result->via.array.ptr[4].type, MSGPACK_OBJECT_NIL);
    ec_rpc_reply_fini(&r);
    s_fx_stop(f);
    for (int n = 0; n < 3; n++) {
        assert_int_equal(ec_rpc_recv(f->rpc, &r, 5000), 0);
        down += r.code == EC_ESHUTDOWN;
        ec_rpc_reply_fini(&r);
    }
    assert_int_equal(down, 3);
    /* nothing was committed: never an empty block, and none of these */
    s_fx_start(f);
    assert_int_equal(s_status_height(f), 0);
    assert_int_equal(s_call_u(f, "header", 1, 0, 0, &r), EC_ENOTFOUND);
    ec_rpc_reply_fini(&r);
    ec_writer_fini(&tx);
    ec_writer_fini(&p);
    s_fx_free(f);
}

/* ---- the engine's own modules ------------------------------------------------------- */

static void s_id(uint8_t id[EC_HASH_BYTES], uint32_t n)
{
    ec_sha256(id, &n, sizeof(n));
}

static void test_mempool(void **state)
{
    (void)state;
    enum { MAX = 300, IDS = 2000 };
    ec_mempool_t *mp = ec_mempool_new(MAX, 1000);
    assert_non_null(mp);
    uint32_t cursor = 0;
    assert_null(ec_mempool_next(mp, &cursor));
    assert_int_equal(ec_mempool_oldest_ms(mp), 0);
    /* Arrival order, arrival times, replay, count and byte bounds. */
    uint8_t id[EC_HASH_BYTES];
    int items[MAX + 1];
    for (uint32_t i = 0; i < MAX; i++) {
        s_id(id, i);
        assert_int_equal(ec_mempool_add(mp, id, &items[i], 3, 100 + i), 0);
    }
    assert_int_equal(ec_mempool_bytes(mp), 3 * MAX);
    s_id(id, 5);
    assert_int_equal(ec_mempool_add(mp, id, &items[MAX], 1, 1), EC_EREPLAY);
    s_id(id, MAX);
    assert_int_equal(ec_mempool_add(mp, id, &items[MAX], 1, 1), EC_EBUSY);
    assert_int_equal(ec_mempool_count(mp), MAX);
    assert_int_equal(ec_mempool_oldest_ms(mp), 100);
    /* Removal by id, from the front and the middle; iteration skips the holes. */
    for (uint32_t i = 0; i < 50; i++) {
        s_id(id, i);
        assert_ptr_equal(ec_mempool_remove(mp, id), &items[i]);
    }
    s_id(id, 60);
    assert_ptr_equal(ec_mempool_get(mp, id), &items[60]);
    assert_ptr_equal(ec_mempool_remove(mp, id), &items[60]);
    assert_null(ec_mempool_remove(mp, id)); /* twice is harmless */
    assert_null(ec_mempool_get(mp, id));
    assert_int_equal(ec_mempool_oldest_ms(mp), 150);
    assert_int_equal(ec_mempool_count(mp), MAX - 51);
    assert_int_equal(ec_mempool_bytes(mp), 3 * (MAX - 51));
    cursor = 0;
    uint32_t seen = 0;
    for (int *it; (it = ec_mempool_next(mp, &cursor)); seen++) {
        uint32_t want = 50 + seen + (seen >= 10); /* 60 is gone */
        assert_ptr_equal(it, &items[want]);
    }
    assert_int_equal(seen, MAX - 51);
    /* The byte bound: 1000 bytes in all. */
    s_id(id, 60);
    assert_int_equal(ec_mempool_add(mp, id, &items[60], 1000, 5), EC_EBUSY);
    assert_int_equal(ec_mempool_add(mp, id, &items[60], 1000 - 3 * (MAX - 51), 5), 0);
    ec_mempool_destroy(&mp);
    assert_null(mp);
    ec_mempool_destroy(&mp);

    /* Against a plain array under random adds and removes (the ring's holes, compaction
     * and the index's backward-shift deletion: a lookup must never stop early at a hole,
     * and iteration must give exactly the waiting items in arrival order). */
    mp = ec_mempool_new(IDS / 2, SIZE_MAX);
    uint64_t *at = calloc(IDS, sizeof(*at)); /* 0: not in; else arrival step + 1 */
    uint32_t rnd = 12345, count = 0;
    static int item[IDS];
    for (int step = 0; step < 200000; step++) {
        rnd = rnd * 1103515245u + 12345u;
        uint32_t n = (rnd >> 8) % IDS;
        s_id(id, n);
        if ((rnd >> 4) & 1) {
            int rc = ec_mempool_add(mp, id, &item[n], 1, (uint64_t)step + 1);
            int want = at[n] ? EC_EREPLAY : count == IDS / 2 ? EC_EBUSY : 0;
            assert_int_equal(rc, want);
            if (rc == 0) {
                at[n] = (uint64_t)step + 1;
                count++;
            }
        } else {
            void *got = ec_mempool_remove(mp, id);
            assert_ptr_equal(got, at[n] ? &item[n] : NULL);
            count -= at[n] != 0;
            at[n] = 0;
        }
        assert_int_equal(ec_mempool_count(mp), count);
        if (step % 1000 == 0) {
            for (uint32_t k = 0; k < IDS; k++) {
                s_id(id, k);
                assert_ptr_equal(ec_mempool_get(mp, id), at[k] ? &item[k] : NULL);
            }
            uint64_t last = 0;
            uint32_t n_iter = 0;
            cursor = 0;
            for (int *it; (it = ec_mempool_next(mp, &cursor)); n_iter++) {
                uint64_t a_ = at[it - item];
                assert_true(a_ > last);
                last = a_;
            }
            assert_int_equal(n_iter, count);
        }
    }
    free(at);
    ec_mempool_destroy(&mp);
}

int main(void)
{
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(test_status_genesis),   cmocka_unit_test(test_submit_and_read),
        cmocka_unit_test(test_refusals),         cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_malformed_frames), cmocka_unit_test(test_failed_deliver),
        cmocka_unit_test(test_pipelined_2000),   cmocka_unit_test(test_hist_proofs),
        cmocka_unit_test(test_anchor_proof),     cmocka_unit_test(test_pub_announcement),
    };
    const struct CMUnitTest own[] = {
        cmocka_unit_test(test_mempool),
        cmocka_unit_test(test_restart),
        cmocka_unit_test(test_damaged_ledger),
        cmocka_unit_test(test_bind_in_use),
        cmocka_unit_test(test_shutdown_pending),
        cmocka_unit_test_setup_teardown(test_local_fault_stops, s_own_setup, s_own_teardown),
        cmocka_unit_test_setup_teardown(test_anchor_entries_overflow, s_own_setup, s_own_teardown),
    };
    int failed =
        cmocka_run_group_tests_name("shared node", shared, s_group_setup, s_group_teardown);
    failed += cmocka_run_group_tests_name("own node", own, NULL, NULL);
    return failed;
}
