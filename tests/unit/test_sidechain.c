/*
 * test_sidechain.c - the side-chain app driven directly, as the engine would: a real
 * ledger in a temporary directory, a save point per transaction with rollback on failure,
 * end_block and a synced write per block. A tiny main chain is built here for real (main
 * genesis with one validator, records log, headers whose state_root and hist_root are
 * computed with the library, signed commits) to feed MAIN_ANCHOR transactions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ec_app.h"
#include "ec_body.h"
#include "ec_chain.h"
#include "ec_codec.h"
#include "ec_crypto.h"
#include "ec_ledger.h"
#include "ec_merkle.h"
#include "ec_slist.h"
#include "ec_types.h"
#include "sc_app.h"
#include "test_util.h"

#define MAIN_ID "main-test"
#define SIDE_ID "degree-test"
#define MAIN_HEIGHTS_MAX 16
#define RECORDS_MAX 64

enum {
    K_MAINVAL,
    K_ISSUER1,
    K_ISSUER2,
    K_INSPECTOR,
    K_OTHERTYPE,
    K_HOLDER,
    K_HOLDER2,
    K_STRANGER,
    K_REVOKED,   /* test_authorization: issuer and inspector roles granted, then revoked */
    K_WRONGROLE, /* test_authorization: an inspector of the issuers' org ORG1            */
    K_COUNT
};

typedef struct {
    char dir[64];
    ec_ledger_t *ledger;
    ec_key_t *keys[K_COUNT];
    ec_genesis_t main_gen;
    ec_genesis_t side_gen;
    ec_app_t *app;
    /* The main chain: hist leaves (leaf k = block k, leaf 0 = genesis), headers by height. */
    uint64_t main_height;
    ec_hash32_t hist_leaves[MAIN_HEIGHTS_MAX];
    uint8_t block_hash[MAIN_HEIGHTS_MAX][EC_HASH_BYTES];
    ec_header_t headers[MAIN_HEIGHTS_MAX];
    uint64_t records_at[MAIN_HEIGHTS_MAX]; /* records count committed by each header */
    uint8_t state_digest[EC_HASH_BYTES];
    /* The main chain's records log. */
    uint64_t rec_count;
    uint8_t *rec_data[RECORDS_MAX];
    size_t rec_size[RECORDS_MAX];
    ec_hash32_t rec_leaves[RECORDS_MAX];
    /* The side block being built. */
    ec_block_ctx_t ctx;
    ec_valset_t next_valset; /* ctx.next_valset points here */
    uint64_t nonce;
    ec_writer_t env;
    ec_decoder_t qdec;
    ec_writer_t qout;
    uint8_t last_root[EC_HASH_BYTES]; /* state root end_block gave the last committed block */
} fx_t;

static const char *pk_addr(fx_t *fx, int k, char out[EC_ADDR_MAX])
{
    ec_address_from_pk(out, ec_key_pk(fx->keys[k]));
    return out;
}

/* ---- the main chain ----------------------------------------------------------------- */

/* Appends r to the main chain's records log (its seq is the next). */
static void push_record(fx_t *fx, ec_record_t *r)
{
    assert_true(fx->rec_count < RECORDS_MAX);
    r->seq = fx->rec_count;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_record_encode(&w, r);
    uint64_t i = fx->rec_count++;
    fx->rec_data[i] = ec_writer_take(&w, &fx->rec_size[i]);
    ec_record_leaf(fx->rec_leaves[i], fx->rec_data[i], fx->rec_size[i]);
    ec_writer_fini(&w);
}

static void main_record(fx_t *fx, uint32_t kind, int k, uint32_t role, const char *ct,
                        const char *org)
{
    assert_true(fx->rec_count < RECORDS_MAX);
    ec_record_t r;
    memset(&r, 0, sizeof r);
    r.seq = fx->rec_count;
    r.kind = kind;
    memcpy(r.pk, ec_key_pk(fx->keys[k]), EC_PK_BYTES);
    r.role = role;
    snprintf(r.cert_type, sizeof r.cert_type, "%s", ct ? ct : "");
    snprintf(r.org_code, sizeof r.org_code, "%s", org ? org : "");
    if (kind == EC_REC_ATTEST)
        ec_sha256(r.identity_hash, &k, sizeof k);
    push_record(fx, &r);
}

/* Appends a main-chain record of side chain chain_id's validator k getting `power`. */
static void main_validator_record(fx_t *fx, const char *chain_id, int k, uint64_t power)
{
    assert_true(fx->rec_count < RECORDS_MAX);
    ec_record_t r;
    memset(&r, 0, sizeof r);
    r.seq = fx->rec_count;
    r.kind = EC_REC_VALIDATOR;
    memcpy(r.pk, ec_key_pk(fx->keys[k]), EC_PK_BYTES);
    r.power = power;
    snprintf(r.chain_id, sizeof r.chain_id, "%s", chain_id);
    push_record(fx, &r);
}

/* Builds a main header at `height` on top of block height-1, committing the first
 * `records` records. hist_leaf_alt, when not NULL, replaces leaf height-1 (a fork). */
static void main_header(fx_t *fx, ec_header_t *h, uint64_t height, uint64_t records,
                        uint64_t time_ms, const uint8_t *prev_leaf_alt)
{
    memset(h, 0, sizeof *h);
    snprintf(h->chain_id, sizeof h->chain_id, "%s", MAIN_ID);
    h->height = height;
    h->time_ms = time_ms;
    memcpy(h->prev_hash, fx->block_hash[height - 1], EC_HASH_BYTES);
    ec_sha256(h->tx_root, "", 0);
    uint8_t records_root[EC_HASH_BYTES];
    ec_merkle_root(records_root, (const ec_hash32_t *)fx->rec_leaves, records);
    ec_main_state_root(h->state_root, records_root, records, fx->state_digest);
    ec_hash32_t leaves[MAIN_HEIGHTS_MAX];
    memcpy(leaves, fx->hist_leaves, sizeof leaves);
    if (prev_leaf_alt)
        memcpy(leaves[height - 1], prev_leaf_alt, EC_HASH_BYTES);
    ec_merkle_root(h->hist_root, (const ec_hash32_t *)leaves, height);
    ec_sha256(h->xanchor_root, "", 0);
    ec_valset_hash(h->valset_hash, &fx->main_gen.validators);
    memcpy(h->next_valset_hash, h->valset_hash, EC_HASH_BYTES);
}

/* Commits the next main block with the first `records` records of the log. */
static void main_block_n(fx_t *fx, uint64_t records)
{
    uint64_t height = ++fx->main_height;
    assert_true(height < MAIN_HEIGHTS_MAX);
    main_header(fx, &fx->headers[height], height, records, 1000 * height, NULL);
    fx->records_at[height] = records;
    ec_header_hash(fx->block_hash[height], &fx->headers[height]);
    ec_merkle_leaf(fx->hist_leaves[height], EC_LEAF_BLOCK, fx->block_hash[height], EC_HASH_BYTES);
}

/* Commits the next main block with every record so far. */
static void main_block(fx_t *fx)
{
    main_block_n(fx, fx->rec_count);
}

typedef struct {
    const ec_header_t *header; /* default: fx->headers[height]                           */
    uint64_t height;           /* main header to anchor                                   */
    uint64_t from;             /* light client height the proofs start from              */
    uint64_t rec_from;         /* first record carried                                    */
    uint32_t rec_n;            /* records carried                                         */
    uint64_t records_count;    /* default: fx->records_at[height]                         */
    const ec_hash32_t *hist;   /* hist leaves for prev_path, default fx->hist_leaves      */
    bool bad_state;            /* state_digest that does not match                       */
    bool bad_commit;           /* flip one signature byte                                  */
    bool bad_record_path;      /* flip one byte of the first record's path                 */
    bool bad_prev_path;        /* flip one byte of prev_path                               */
    const ec_valset_t *next;   /* next_valset to carry (NULL: nil)                         */
    const uint8_t *claimed;    /* fork claim (NULL: nil)                                   */
    const ec_key_t *signer;    /* commit signer (default K_MAINVAL)                        */
} anchor_opts_t;

static void anchor_body(fx_t *fx, ec_writer_t *w, const anchor_opts_t *o)
{
    const ec_header_t *h = o->header ? o->header : &fx->headers[o->height];
    const ec_hash32_t *hist = o->hist ? o->hist : (const ec_hash32_t *)fx->hist_leaves;
    uint64_t count = o->records_count ? o->records_count : fx->records_at[h->height];
    ec_writer_t hw, cw;
    ec_writer_init(&hw);
    ec_writer_init(&cw);
    ec_header_encode(&hw, h);
    ec_commit_t c;
    memset(&c, 0, sizeof c);
    c.height = h->height;
    ec_header_hash(c.block_hash, h);
    ec_commit_sign(&c, MAIN_ID, 0, o->signer ? o->signer : fx->keys[K_MAINVAL]);
    if (o->bad_commit)
        c.sigs[0].sig[5] ^= 1;
    ec_commit_encode(&cw, &c);

    ec_hash32_t path[EC_MERKLE_PROOF_MAX];
    size_t len = 0;
    ec_merkle_mem_t mem = {hist, h->height};
    ec_write_array(w, 10);
    ec_write_bin(w, ec_writer_data(&hw), ec_writer_size(&hw));
    ec_write_bin(w, ec_writer_data(&cw), ec_writer_size(&cw));
    assert_int_equal(
        ec_merkle_inclusion_proof(path, &len, ec_merkle_mem_oracle, &mem, o->from, h->height), 0);
    if (o->bad_prev_path && len > 0)
        path[0][7] ^= 1;
    ec_write_path(w, (const ec_hash32_t *)path, len);
    len = 0;
    if (o->from > 0)
        assert_int_equal(
            ec_merkle_consistency_proof(path, &len, ec_merkle_mem_oracle, &mem, o->from, h->height),
            0);
    ec_write_path(w, (const ec_hash32_t *)path, len);
    uint8_t records_root[EC_HASH_BYTES];
    ec_merkle_root(records_root, (const ec_hash32_t *)fx->rec_leaves, count);
    ec_write_bin(w, records_root, EC_HASH_BYTES);
    ec_write_uint(w, count);
    uint8_t digest[EC_HASH_BYTES];
    memcpy(digest, fx->state_digest, EC_HASH_BYTES);
    if (o->bad_state)
        digest[0] ^= 1;
    ec_write_bin(w, digest, EC_HASH_BYTES);
    ec_write_array(w, o->rec_n);
    ec_merkle_mem_t rmem = {(const ec_hash32_t *)fx->rec_leaves, count};
    for (uint32_t i = 0; i < o->rec_n; i++) {
        uint64_t seq = o->rec_from + i;
        ec_write_array(w, 2);
        ec_write_bin(w, fx->rec_data[seq], fx->rec_size[seq]);
        len = 0;
        if (seq < count) /* past the tree: an empty path */
            assert_int_equal(
                ec_merkle_inclusion_proof(path, &len, ec_merkle_mem_oracle, &rmem, seq, count), 0);
        if (o->bad_record_path && i == 0 && len > 0)
            path[0][3] ^= 1;
        ec_write_path(w, (const ec_hash32_t *)path, len);
    }
    if (o->next)
        ec_valset_encode(w, o->next);
    else
        ec_write_nil(w);
    if (o->claimed)
        ec_write_bin(w, o->claimed, EC_HASH_BYTES);
    else
        ec_write_nil(w);
    ec_writer_fini(&hw);
    ec_writer_fini(&cw);
}

/* ---- driving the app -------------------------------------------------------------------- */

/*
 * Builds, checks (when check) and delivers one transaction as the engine does. Payload
 * bytes go to EC_CF_PAYLOADS when the transaction succeeds. Returns the first error.
 */
static int side_tx_ex(fx_t *fx, bool check, uint64_t type, int k, const ec_writer_t *body,
                      const uint8_t *payload, size_t payload_size, bool hash_payload,
                      uint8_t id[EC_HASH_BYTES], ec_status_t *st)
{
    uint8_t ph[EC_HASH_BYTES];
    if (payload)
        ec_sha256(ph, payload, payload_size);
    uint8_t local_id[EC_HASH_BYTES];
    if (id == NULL)
        id = local_id;
    ec_tx_build(&fx->env, id, SIDE_ID, type, fx->keys[k], ++fx->nonce,
                hash_payload && payload ? ph : NULL, ec_writer_data(body), ec_writer_size(body));
    ec_tx_t tx;
    assert_int_equal(ec_tx_decode(&tx, ec_writer_data(&fx->env), ec_writer_size(&fx->env)), 0);
    ec_status_clear(st);
    int rc = 0;
    if (check)
        rc = fx->app->check_tx(fx->app->self, &tx, payload, payload_size, st);
    if (rc == 0) {
        ec_ledger_savepoint(fx->ledger);
        fx->ctx.ref = 0; /* as ec_exec does before each transaction */
        rc = fx->app->deliver_tx(fx->app->self, &fx->ctx, &tx, payload, payload_size, st);
        if (rc)
            ec_ledger_rollback(fx->ledger);
        else if (payload)
            ec_ledger_put(fx->ledger, EC_CF_PAYLOADS, id, EC_HASH_BYTES, payload, payload_size);
    }
    if (rc)
        assert_int_equal(st->code, rc);
    ec_tx_fini(&tx);
    return rc;
}

static int side_tx(fx_t *fx, uint64_t type, int k, const ec_writer_t *body, const uint8_t *payload,
                   size_t payload_size, uint8_t id[EC_HASH_BYTES])
{
    ec_status_t st;
    return side_tx_ex(fx, true, type, k, body, payload, payload_size, true, id, &st);
}

static int anchor_tx(fx_t *fx, const anchor_opts_t *o)
{
    ec_writer_t w;
    ec_writer_init(&w);
    anchor_body(fx, &w, o);
    int rc = side_tx(fx, EC_STX_MAIN_ANCHOR, K_STRANGER, &w, NULL, 0, NULL);
    ec_writer_fini(&w);
    return rc;
}

/* Ends the side block: state root check, durable write, next height. */
static void side_commit(fx_t *fx)
{
    uint8_t digest[EC_HASH_BYTES], want[EC_HASH_BYTES], root[EC_HASH_BYTES];
    ec_ledger_state_digest(fx->ledger, digest);
    assert_int_equal(fx->app->end_block(fx->app->self, &fx->ctx, root), 0);
    /* The mirrored count comes from the mirror query after the write, so check it then. */
    assert_int_equal(ec_ledger_write(fx->ledger, fx->ctx.height), 0);
    ec_writer_t args;
    ec_writer_init(&args);
    ec_write_array(&args, 0);
    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *a = NULL;
    assert_int_equal(ec_decode(&d, ec_writer_data(&args), ec_writer_size(&args), &a), 0);
    ec_writer_reset(&fx->qout);
    ec_status_t st;
    assert_int_equal(fx->app->query(fx->app->self, fx->ledger, "mirror", a, &fx->qout, &st), 0);
    ec_decoder_t d2;
    ec_decoder_init(&d2);
    const msgpack_object *m = NULL;
    assert_int_equal(ec_decode(&d2, ec_writer_data(&fx->qout), ec_writer_size(&fx->qout), &m), 0);
    uint64_t records = m->via.array.ptr[1].via.u64;
    /* The status list the query serves is this block's, and with the block's digest and
     * mirror count it gives the state root end_block reported. */
    ec_writer_reset(&fx->qout);
    assert_int_equal(fx->app->query(fx->app->self, fx->ledger, "status_list", a, &fx->qout, &st),
                     0);
    ec_decoder_t d3;
    ec_decoder_init(&d3);
    const msgpack_object *sl = NULL;
    assert_int_equal(ec_decode(&d3, ec_writer_data(&fx->qout), ec_writer_size(&fx->qout), &sl), 0);
    assert_int_equal(sl->via.array.size, 5);
    assert_int_equal(sl->via.array.ptr[0].via.u64, fx->ctx.height);
    uint64_t count = sl->via.array.ptr[1].via.u64;
    assert_int_equal(sl->via.array.ptr[2].via.bin.size, ec_slist_bytes(count));
    assert_memory_equal(sl->via.array.ptr[3].via.bin.ptr, digest, EC_HASH_BYTES);
    assert_int_equal(sl->via.array.ptr[4].via.u64, records);
    uint8_t status_root[EC_HASH_BYTES];
    ec_slist_root_mem(status_root, (const uint8_t *)sl->via.array.ptr[2].via.bin.ptr, count);
    ec_side_state_root(want, digest, records, status_root);
    assert_memory_equal(root, want, EC_HASH_BYTES);
    memcpy(fx->last_root, root, EC_HASH_BYTES);
    ec_decoder_fini(&d3);
    ec_decoder_fini(&d2);
    ec_decoder_fini(&d);
    ec_writer_fini(&args);
    fx->ctx.height++;
    fx->ctx.time_ms += 1000;
    fx->ctx.anchor_count = 0;
    fx->ctx.valset_changed = false; /* the engine takes the change into its sets */
}

/* Runs a query; args is one encoded array. Returns the code; *res is the decoded result. */
static int query(fx_t *fx, const char *path, const ec_writer_t *args, const msgpack_object **res)
{
    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *a = NULL;
    assert_int_equal(ec_decode(&d, ec_writer_data(args), ec_writer_size(args), &a), 0);
    ec_writer_reset(&fx->qout);
    ec_status_t st;
    ec_status_clear(&st);
    int rc = fx->app->query(fx->app->self, fx->ledger, path, a, &fx->qout, &st);
    ec_decoder_fini(&d);
    if (rc) {
        assert_int_equal(st.code, rc);
        return rc;
    }
    assert_int_equal(
        ec_decode(&fx->qdec, ec_writer_data(&fx->qout), ec_writer_size(&fx->qout), res), 0);
    return 0;
}

static const msgpack_object *el(const msgpack_object *o, uint32_t i)
{
    assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);
    assert_true(i < o->via.array.size);
    return &o->via.array.ptr[i];
}

static void assert_str(const msgpack_object *o, const char *s)
{
    assert_int_equal(o->type, MSGPACK_OBJECT_STR);
    assert_int_equal(o->via.str.size, strlen(s));
    assert_memory_equal(o->via.str.ptr, s, strlen(s));
}

static void assert_bin(const msgpack_object *o, const void *b, size_t n)
{
    assert_int_equal(o->type, MSGPACK_OBJECT_BIN);
    assert_int_equal(o->via.bin.size, n);
    if (n)
        assert_memory_equal(o->via.bin.ptr, b, n);
}

/* Runs the "role" query for key k (args written into a). Returns the result
 * [roles, attested]; fails the test unless the query succeeds with a pair. */
static const msgpack_object *query_role(fx_t *fx, ec_writer_t *a, int k)
{
    const msgpack_object *r = NULL;
    ec_writer_reset(a);
    ec_write_array(a, 1);
    ec_write_bin(a, ec_key_pk(fx->keys[k]), EC_PK_BYTES);
    assert_int_equal(query(fx, "role", a, &r), 0);
    assert_int_equal(r->via.array.size, 2);
    return r;
}

/* ---- bodies ----------------------------------------------------------------------------- */

static const uint8_t s_fields_root[EC_HASH_BYTES] = {1, 2, 3};
static uint8_t s_payload[100];

static void issue_body(fx_t *fx, ec_writer_t *w, int holder, const char *org)
{
    char addr[EC_ADDR_MAX];
    ec_writer_reset(w);
    ec_write_array(w, 4);
    ec_write_cstr(w, pk_addr(fx, holder, addr));
    ec_write_cstr(w, org);
    ec_write_bin(w, s_fields_root, EC_HASH_BYTES);
    ec_write_uint(w, 2000000000000ull);
}

static int issue(fx_t *fx, int issuer, int holder, const char *org, uint8_t id[EC_HASH_BYTES])
{
    ec_writer_t w;
    ec_writer_init(&w);
    issue_body(fx, &w, holder, org);
    int rc = side_tx(fx, EC_STX_ISSUE, issuer, &w, s_payload, sizeof s_payload, id);
    ec_writer_fini(&w);
    return rc;
}

/* An INSPECT, with s_payload when `payload`; its id goes to id (may be NULL). */
static int inspect_ex(fx_t *fx, int inspector, int holder, const char *org,
                      const uint8_t cert[EC_HASH_BYTES], const char *verdict, bool payload,
                      uint8_t id[EC_HASH_BYTES])
{
    char addr[EC_ADDR_MAX];
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 4);
    ec_write_cstr(&w, pk_addr(fx, holder, addr));
    ec_write_cstr(&w, org);
    ec_write_bin(&w, cert, EC_HASH_BYTES);
    ec_write_cstr(&w, verdict);
    int rc = side_tx(fx, EC_STX_INSPECT, inspector, &w, payload ? s_payload : NULL,
                     payload ? sizeof s_payload : 0, id);
    ec_writer_fini(&w);
    return rc;
}

static int inspect(fx_t *fx, int inspector, int holder, const char *org,
                   const uint8_t cert[EC_HASH_BYTES], const char *verdict)
{
    return inspect_ex(fx, inspector, holder, org, cert, verdict, false, NULL);
}

/* An INSPECT by K_INSPECTOR (org INSP1) carrying a payload; its id goes to id. */
static int inspect_payload(fx_t *fx, int holder, const uint8_t cert[EC_HASH_BYTES],
                           uint8_t id[EC_HASH_BYTES])
{
    return inspect_ex(fx, K_INSPECTOR, holder, "INSP1", cert, "see report", true, id);
}

/* ACK [id], RENEW [id, expires], CHANGE [id, root] (+payload), REVOKE [id, reason]. */
static int update(fx_t *fx, uint64_t type, int k, const uint8_t cert[EC_HASH_BYTES],
                  const uint8_t *payload, size_t payload_size, uint8_t id[EC_HASH_BYTES])
{
    static const uint8_t root2[EC_HASH_BYTES] = {9, 9, 9};
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, type == EC_STX_ACK ? 1 : 2);
    ec_write_bin(&w, cert, EC_HASH_BYTES);
    if (type == EC_STX_RENEW)
        ec_write_uint(&w, 3000000000000ull);
    else if (type == EC_STX_CHANGE)
        ec_write_bin(&w, root2, EC_HASH_BYTES);
    else if (type == EC_STX_REVOKE || type == EC_STX_SUSPEND || type == EC_STX_REINSTATE ||
             type == EC_STX_CANCEL)
        ec_write_cstr(&w, "issued in error");
    int rc = side_tx(fx, type, k, &w, payload, payload_size, id);
    ec_writer_fini(&w);
    return rc;
}

static int query_cert(fx_t *fx, const uint8_t id[EC_HASH_BYTES], const msgpack_object **res)
{
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 1);
    ec_write_bin(&a, id, EC_HASH_BYTES);
    int rc = query(fx, "cert", &a, res);
    ec_writer_fini(&a);
    return rc;
}

/* ---- fixture ---------------------------------------------------------------------------- */

/*
 * A main chain with roles (issuer1: degree/ORG1, issuer2: degree/ORG2, inspector:
 * degree/INSP1, othertype: marriage/ORG1) and attested holder and holder2 in records 0..5
 * of main block 1; a side chain whose block 1 anchored it. The side block being built is 2.
 */
static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    assert_int_equal(ec_crypto_init(), 0);
    fx->ledger = tu_ledger_make(fx->dir, sizeof fx->dir, "test_sidechain");
    ec_status_t st;
    for (int k = 0; k < K_COUNT; k++) {
        uint8_t seed[32] = {(uint8_t)(k + 1), 0x5c};
        fx->keys[k] = ec_key_from_seed(seed);
        assert_non_null(fx->keys[k]);
    }
    ec_writer_init(&fx->env);
    ec_writer_init(&fx->qout);
    ec_decoder_init(&fx->qdec);
    memset(s_payload, 0xab, sizeof s_payload);

    ec_genesis_t *mg = &fx->main_gen;
    snprintf(mg->chain_id, sizeof mg->chain_id, "%s", MAIN_ID);
    mg->kind = EC_CHAIN_MAIN;
    mg->time_ms = 1;
    mg->validators.count = 1;
    memcpy(mg->validators.v[0].pk, ec_key_pk(fx->keys[K_MAINVAL]), EC_PK_BYTES);
    mg->validators.v[0].power = 10;
    mg->operator_count = 1;
    mg->operator_quorum = 1;
    memcpy(mg->operators[0], ec_key_pk(fx->keys[K_MAINVAL]), EC_PK_BYTES);
    ec_genesis_hash(fx->block_hash[0], mg);
    ec_merkle_leaf(fx->hist_leaves[0], EC_LEAF_BLOCK, fx->block_hash[0], EC_HASH_BYTES);
    ec_sha256(fx->state_digest, "main state", 10);

    ec_genesis_t *sg = &fx->side_gen;
    snprintf(sg->chain_id, sizeof sg->chain_id, "%s", SIDE_ID);
    sg->kind = EC_CHAIN_SIDE;
    snprintf(sg->cert_type, sizeof sg->cert_type, "degree");
    sg->time_ms = 1;
    sg->validators.count = 1;
    memcpy(sg->validators.v[0].pk, ec_key_pk(fx->keys[K_STRANGER]), EC_PK_BYTES);
    sg->validators.v[0].power = 1;
    snprintf(sg->main_chain_id, sizeof sg->main_chain_id, "%s", MAIN_ID);
    memcpy(sg->main_genesis_hash, fx->block_hash[0], EC_HASH_BYTES);
    sg->main_validators = mg->validators;
    sg->main_freshness_ms = EC_MAIN_FRESHNESS_MS_DEFAULT;
    sg->features = EC_GENESIS_F_CONTRACTS;
    fx->app = sc_app_new(sg, &st);
    assert_non_null(fx->app);

    fx->ctx.genesis = sg;
    fx->ctx.ledger = fx->ledger;
    fx->next_valset = sg->validators;
    fx->ctx.next_valset = &fx->next_valset;
    fx->ctx.height = 1;
    fx->ctx.time_ms = 5000;

    main_record(fx, EC_REC_ROLE_GRANT, K_ISSUER1, EC_ROLE_ISSUER, "degree", "ORG1");
    main_record(fx, EC_REC_ROLE_GRANT, K_ISSUER2, EC_ROLE_ISSUER, "degree", "ORG2");
    main_record(fx, EC_REC_ROLE_GRANT, K_INSPECTOR, EC_ROLE_INSPECTOR, "degree", "INSP1");
    main_record(fx, EC_REC_ROLE_GRANT, K_OTHERTYPE, EC_ROLE_ISSUER, "marriage", "ORG1");
    main_record(fx, EC_REC_ATTEST, K_HOLDER, 0, NULL, NULL);
    main_record(fx, EC_REC_ATTEST, K_HOLDER2, 0, NULL, NULL);
    main_block(fx);
    anchor_opts_t o = {.height = 1, .from = 0, .rec_from = 0, .rec_n = 6};
    assert_int_equal(anchor_tx(fx, &o), 0);
    assert_int_equal(fx->ctx.anchor_count, 1);
    assert_string_equal(fx->ctx.anchors[0].chain_id, MAIN_ID);
    assert_int_equal(fx->ctx.anchors[0].height, 1);
    assert_memory_equal(fx->ctx.anchors[0].header_hash, fx->block_hash[1], EC_HASH_BYTES);
    side_commit(fx);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    sc_app_free(fx->app);
    ec_ledger_destroy(&fx->ledger);
    for (int k = 0; k < K_COUNT; k++)
        ec_key_destroy(&fx->keys[k]);
    for (uint64_t i = 0; i < fx->rec_count; i++)
        free(fx->rec_data[i]);
    ec_writer_fini(&fx->env);
    ec_writer_fini(&fx->qout);
    ec_decoder_fini(&fx->qdec);
    tu_tmpdir_remove(fx->dir);
    free(fx);
    return 0;
}

/* ---- tests: construction ---------------------------------------------------------------- */

static void test_new_refuses_bad_genesis(void **state)
{
    fx_t *fx = *state;
    ec_status_t st;
    assert_null(sc_app_new(&fx->main_gen, &st));
    assert_int_equal(st.code, EC_ECHAIN);
    ec_genesis_t g = fx->side_gen;
    g.cert_type[0] = '\0';
    assert_null(sc_app_new(&g, &st));
    assert_int_equal(st.code, EC_EINVAL);
    sc_app_free(NULL);
}

/* The main-chain height of the side chain's mirror (the `mirror` query). */
static uint64_t mirror_height(fx_t *fx)
{
    const msgpack_object *r = NULL;
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 0);
    assert_int_equal(query(fx, "mirror", &a, &r), 0);
    ec_writer_fini(&a);
    return el(el(r, 0), 0)->via.u64;
}

/* ---- tests: the mirror ------------------------------------------------------------------ */

static void test_mirror_and_role_queries(void **state)
{
    fx_t *fx = *state;
    const msgpack_object *r = NULL;
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 0);
    assert_int_equal(query(fx, "mirror", &a, &r), 0);
    assert_int_equal(el(r, 0)->via.array.size, 4);
    assert_int_equal(el(el(r, 0), 0)->via.u64, 1);
    assert_bin(el(el(r, 0), 1), fx->block_hash[1], EC_HASH_BYTES);
    assert_bin(el(el(r, 0), 2), fx->headers[1].hist_root, EC_HASH_BYTES);
    assert_int_equal(el(el(r, 0), 3)->type, MSGPACK_OBJECT_BOOLEAN);
    assert_false(el(el(r, 0), 3)->via.boolean);
    assert_int_equal(el(r, 1)->via.u64, 6);

    /* issuer1: one role, not attested; holder: no roles, attested; a role for another
     * certificate type is not kept */
    static const struct {
        int key;
        uint32_t role_count; /* 0 or 1: the one role is then [role, cert_type, org] */
        uint64_t role;
        const char *cert_type, *org;
        bool attested;
    } cases[] = {
        {K_ISSUER1, 1, EC_ROLE_ISSUER, "degree", "ORG1", false},
        {K_HOLDER, 0, 0, NULL, NULL, true},
        {K_OTHERTYPE, 0, 0, NULL, NULL, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        r = query_role(fx, &a, cases[i].key);
        assert_int_equal(el(r, 0)->via.array.size, cases[i].role_count);
        if (cases[i].role_count == 1) {
            assert_int_equal(el(el(el(r, 0), 0), 0)->via.u64, cases[i].role);
            assert_str(el(el(el(r, 0), 0), 1), cases[i].cert_type);
            assert_str(el(el(el(r, 0), 0), 2), cases[i].org);
        }
        assert_int_equal(el(r, 1)->type, MSGPACK_OBJECT_BOOLEAN);
        assert_int_equal(el(r, 1)->via.boolean, cases[i].attested);
    }
    /* bad args */
    ec_writer_reset(&a);
    ec_write_array(&a, 1);
    ec_write_bin(&a, "short", 5);
    assert_int_equal(query(fx, "role", &a, &r), EC_EINVAL);
    ec_writer_reset(&a);
    ec_write_array(&a, 1);
    ec_write_uint(&a, 1);
    assert_int_equal(query(fx, "mirror", &a, &r), EC_EINVAL);
    assert_int_equal(query(fx, "no_such_path", &a, &r), EC_EMETHOD);
    ec_writer_fini(&a);
}

static void test_anchor_errors(void **state)
{
    fx_t *fx = *state;
    /* main block 2 carries records 6..9: a grant, a revoke of issuer2's role, two attests */
    main_record(fx, EC_REC_ROLE_GRANT, K_STRANGER, EC_ROLE_SUPERVISOR, "", "");
    main_record(fx, EC_REC_ROLE_REVOKE, K_ISSUER2, EC_ROLE_ISSUER, "degree", "ORG2");
    main_record(fx, EC_REC_ATTEST, K_ISSUER1, 0, NULL, NULL);
    main_record(fx, EC_REC_ATTEST, K_INSPECTOR, 0, NULL, NULL);
    main_block(fx);

    anchor_opts_t o = {.height = 2, .from = 1, .rec_from = 6, .rec_n = 2};
    anchor_opts_t bad = o;
    bad.rec_from = 7; /* gap */
    assert_int_equal(anchor_tx(fx, &bad), EC_EINVAL);
    bad.rec_from = 5; /* repeat */
    assert_int_equal(anchor_tx(fx, &bad), EC_EINVAL);
    bad = o;
    bad.bad_record_path = true;
    assert_int_equal(anchor_tx(fx, &bad), EC_EPROOF);
    bad = o;
    bad.bad_state = true;
    assert_int_equal(anchor_tx(fx, &bad), EC_EPROOF);
    bad = o;
    bad.bad_commit = true;
    assert_int_equal(anchor_tx(fx, &bad), EC_ESIG);
    bad = o;
    bad.height = 1; /* the mirrored header again, without records */
    bad.rec_n = 0;
    bad.from = 0;
    assert_int_equal(anchor_tx(fx, &bad), EC_EDUPLICATE);
    assert_int_equal(fx->ctx.anchor_count, 0);

    /* accepted: header 2 with records 6..7 */
    assert_int_equal(anchor_tx(fx, &o), 0);
    assert_int_equal(fx->ctx.anchor_count, 1);
    assert_int_equal(fx->ctx.anchors[0].height, 2);
    /* the same header again: duplicate; header 1: below the mirror */
    anchor_opts_t dup = o;
    dup.rec_n = 0;
    assert_int_equal(anchor_tx(fx, &dup), EC_EDUPLICATE);
    dup.height = 1;
    dup.from = 0;
    assert_int_equal(anchor_tx(fx, &dup), EC_EDUPLICATE);
    /* records continuation on header 2: wrong start, then 8..9 */
    anchor_opts_t cont = o;
    cont.rec_from = 6;
    assert_int_equal(anchor_tx(fx, &cont), EC_EINVAL);
    cont.rec_from = 8;
    assert_int_equal(anchor_tx(fx, &cont), 0);
    assert_int_equal(fx->ctx.anchor_count, 1); /* no anchor entry for a continuation */
    side_commit(fx);

    const msgpack_object *r = NULL;
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 0);
    assert_int_equal(query(fx, "mirror", &a, &r), 0);
    assert_int_equal(el(el(r, 0), 0)->via.u64, 2);
    assert_int_equal(el(r, 1)->via.u64, 10);
    /* the supervisor role with cert_type "" is kept */
    r = query_role(fx, &a, K_STRANGER);
    assert_int_equal(el(r, 0)->via.array.size, 1);
    assert_int_equal(el(el(el(r, 0), 0), 0)->via.u64, EC_ROLE_SUPERVISOR);
    assert_str(el(el(el(r, 0), 0), 1), "");
    ec_writer_fini(&a);
    /* issuer2's role was revoked: it can no longer issue */
    assert_int_equal(issue(fx, K_ISSUER2, K_HOLDER, "ORG2", NULL), EC_EPERM);
    /* issuer1 is now attested and can hold a certificate */
    assert_int_equal(issue(fx, K_ISSUER1, K_ISSUER1, "ORG1", NULL), 0);

    /* header 3 commits 11 of 12 records: record 11 is past its records_count */
    main_record(fx, EC_REC_ATTEST, K_OTHERTYPE, 0, NULL, NULL);
    main_record(fx, EC_REC_ATTEST, K_HOLDER, 0, NULL, NULL);
    main_block_n(fx, 11);
    anchor_opts_t past = {.height = 3, .from = 2, .rec_from = 10, .rec_n = 2};
    assert_int_equal(anchor_tx(fx, &past), EC_EPROOF);
    /* a records_count that does not match the header's state root */
    past.rec_n = 1;
    past.records_count = 12;
    assert_int_equal(anchor_tx(fx, &past), EC_EPROOF);
    past.records_count = 0;
    assert_int_equal(anchor_tx(fx, &past), 0);
    side_commit(fx);
    /* main block 4 and 5; the mirror jumps from 3 straight to 5 */
    main_block(fx);
    main_block(fx);
    anchor_opts_t skip = {.height = 5, .from = 3, .rec_from = 11, .rec_n = 1};
    assert_int_equal(anchor_tx(fx, &skip), 0);
    side_commit(fx);
    ec_writer_init(&a);
    ec_write_array(&a, 0);
    assert_int_equal(query(fx, "mirror", &a, &r), 0);
    assert_int_equal(el(el(r, 0), 0)->via.u64, 5);
    assert_bin(el(el(r, 0), 1), fx->block_hash[5], EC_HASH_BYTES);
    assert_bin(el(el(r, 0), 2), fx->headers[5].hist_root, EC_HASH_BYTES);
    assert_int_equal(el(r, 1)->via.u64, 12);
    ec_writer_fini(&a);
}

static void test_anchor_wrong_chain_and_check_tx(void **state)
{
    fx_t *fx = *state;
    /* a header of another chain, signed by the same key */
    main_block(fx);
    ec_header_t h = fx->headers[2];
    snprintf(h.chain_id, sizeof h.chain_id, "other-main");
    anchor_opts_t o = {.header = &h, .height = 2, .from = 1};
    int rc = anchor_tx(fx, &o);
    assert_true(rc == EC_ECHAIN || rc == EC_ESIG);
    /* malformed bodies are refused by check_tx */
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 3);
    ec_write_bin(&w, "x", 1);
    ec_write_bin(&w, "y", 1);
    ec_write_uint(&w, 1);
    assert_int_equal(side_tx(fx, EC_STX_MAIN_ANCHOR, K_STRANGER, &w, NULL, 0, NULL), EC_EINVAL);
    /* unknown type */
    assert_int_equal(side_tx(fx, 99, K_STRANGER, &w, NULL, 0, NULL), EC_EINVAL);
    ec_writer_fini(&w);
    assert_int_equal(fx->ctx.anchor_count, 0);
}

/* The mirror's records count (the `mirror` query). */
static uint64_t mirror_records(fx_t *fx)
{
    const msgpack_object *r = NULL;
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 0);
    assert_int_equal(query(fx, "mirror", &a, &r), 0);
    ec_writer_fini(&a);
    return el(r, 1)->via.u64;
}

/*
 * Validator changes the main chain decided for this side chain reach it as records: the
 * first in a block becomes the block's change; a second in the same MAIN_ANCHOR waits (the
 * mirror stops before it) for the next block; another chain's are skipped; one that cannot
 * apply is skipped as nothing.
 */
static void test_validator_records(void **state)
{
    fx_t *fx = *state;
    main_validator_record(fx, SIDE_ID, K_ISSUER1, 2);       /* 6: joins            */
    main_validator_record(fx, "ecert-other", K_ISSUER2, 2); /* 7: another chain    */
    main_validator_record(fx, SIDE_ID, K_STRANGER, 3);      /* 8: waits a block    */
    main_validator_record(fx, SIDE_ID, K_ISSUER2, 0);       /* 9: not a validator  */
    main_block(fx);                                         /* height 2 */
    anchor_opts_t o = {.height = 2, .from = 1, .rec_from = 6, .rec_n = 4};
    assert_int_equal(anchor_tx(fx, &o), 0);
    assert_true(fx->ctx.valset_changed);
    assert_memory_equal(fx->ctx.valset_change.pk, ec_key_pk(fx->keys[K_ISSUER1]), EC_PK_BYTES);
    assert_int_equal(fx->ctx.valset_change.power, 2);
    side_commit(fx);
    assert_int_equal(mirror_records(fx), 8); /* 6 and 7 applied; 8 waits */
    fx->next_valset.v[fx->next_valset.count++] = (ec_validator_t){{0}, 2};
    memcpy(fx->next_valset.v[fx->next_valset.count - 1].pk, ec_key_pk(fx->keys[K_ISSUER1]),
           EC_PK_BYTES);
    /* The same header again brings the rest: 8 changes the stranger's power. */
    anchor_opts_t rest = {.height = 2, .from = 1, .rec_from = 8, .rec_n = 2};
    assert_int_equal(anchor_tx(fx, &rest), 0);
    assert_true(fx->ctx.valset_changed);
    assert_memory_equal(fx->ctx.valset_change.pk, ec_key_pk(fx->keys[K_STRANGER]), EC_PK_BYTES);
    assert_int_equal(fx->ctx.valset_change.power, 3);
    side_commit(fx);
    /* 9 waits too: a change pending in the block may be the one it undoes. */
    assert_int_equal(mirror_records(fx), 9);
    anchor_opts_t last = {.height = 2, .from = 1, .rec_from = 9, .rec_n = 1};
    assert_int_equal(anchor_tx(fx, &last), 0);
    assert_false(fx->ctx.valset_changed); /* removes a key that is no validator: nothing */
    side_commit(fx);
    assert_int_equal(mirror_records(fx), 10);
}

/* Appends a KEY record: identity k signs with key `to` from now on (-1: revoked). */
static void main_key_record(fx_t *fx, int k, int to)
{
    assert_true(fx->rec_count < RECORDS_MAX);
    ec_record_t r;
    memset(&r, 0, sizeof r);
    r.seq = fx->rec_count;
    r.kind = EC_REC_KEY;
    memcpy(r.pk, ec_key_pk(fx->keys[k]), EC_PK_BYTES);
    if (to >= 0)
        memcpy(r.key, ec_key_pk(fx->keys[to]), EC_PK_BYTES);
    push_record(fx, &r);
}

/*
 * KEY records: once mirrored, the key that replaced a holder's identity key acts as the
 * holder (acknowledges its certificate) and the replaced key is refused; an issuing
 * agency's new key issues under the agency's roles; a revoked key is refused.
 */
static void test_key_records(void **state)
{
    fx_t *fx = *state;
    uint8_t id[EC_HASH_BYTES], id2[EC_HASH_BYTES];
    assert_int_equal(issue(fx, K_ISSUER1, K_HOLDER, "ORG1", id), 0);
    side_commit(fx);
    uint64_t from = fx->rec_count;
    main_key_record(fx, K_HOLDER, K_STRANGER); /* the holder rotates to the stranger's key */
    main_key_record(fx, K_ISSUER1, K_HOLDER2); /* the issuer to holder 2's */
    main_block(fx);                            /* height 2 */
    anchor_opts_t o = {.height = 2, .from = 1, .rec_from = from, .rec_n = 2};
    assert_int_equal(anchor_tx(fx, &o), 0);
    side_commit(fx);
    assert_int_equal(update(fx, EC_STX_ACK, K_HOLDER, id, NULL, 0, NULL), EC_EPERM);
    assert_int_equal(update(fx, EC_STX_ACK, K_STRANGER, id, NULL, 0, NULL), 0);
    assert_int_equal(issue(fx, K_ISSUER1, K_HOLDER, "ORG1", id2), EC_EPERM);
    assert_int_equal(issue(fx, K_HOLDER2, K_HOLDER, "ORG1", id2), 0);
    side_commit(fx);
    const msgpack_object *r = NULL;
    assert_int_equal(query_cert(fx, id, &r), 0);
    assert_str(el(r, 7), "acknowledged");
    /* Revoked: the stranger's key signs for nobody any more. */
    from = fx->rec_count;
    main_key_record(fx, K_HOLDER, -1);
    main_block(fx); /* height 3 */
    anchor_opts_t o3 = {.height = 3, .from = 2, .rec_from = from, .rec_n = 1};
    assert_int_equal(anchor_tx(fx, &o3), 0);
    side_commit(fx);
    assert_int_equal(update(fx, EC_STX_CANCEL, K_STRANGER, id, NULL, 0, NULL), EC_EPERM);
    assert_int_equal(update(fx, EC_STX_CANCEL, K_HOLDER, id, NULL, 0, NULL), EC_EPERM);
}

/* ---- contracts ------------------------------------------------------------------------ */

static int contract_deploy(fx_t *fx, uint64_t type, int k, const char *name, const char *org,
                           const char *code)
{
    ec_contract_deploy_body_t b = {.code = (const uint8_t *)code, .code_size = strlen(code)};
    snprintf(b.name, sizeof b.name, "%s", name);
    snprintf(b.org_code, sizeof b.org_code, "%s", org);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_contract_deploy_body_encode(&w, &b);
    int rc = side_tx(fx, type, k, &w, NULL, 0, NULL);
    ec_writer_fini(&w);
    return rc;
}

/* CONTRACT_CALL of name.fn with one string argument (NULL: none). */
static int contract_call(fx_t *fx, int k, const char *name, const char *fn, const char *arg,
                         uint8_t id[EC_HASH_BYTES])
{
    ec_writer_t args, w;
    ec_writer_init(&args);
    ec_writer_init(&w);
    ec_write_array(&args, arg ? 1 : 0);
    if (arg)
        ec_write_cstr(&args, arg);
    ec_contract_call_body_t b = {.args = ec_writer_data(&args), .args_size = ec_writer_size(&args)};
    snprintf(b.name, sizeof b.name, "%s", name);
    snprintf(b.fn, sizeof b.fn, "%s", fn);
    ec_contract_call_body_encode(&w, &b);
    int rc = side_tx(fx, EC_STX_CONTRACT_CALL, k, &w, NULL, 0, id);
    ec_writer_fini(&w);
    ec_writer_fini(&args);
    return rc;
}

/*
 * Contracts: a deployer of the chain's type and org deploys; calls run with the caller's
 * address, write the contract's own storage and events, and a refusal writes nothing;
 * only the owner upgrades; queries read committed state and cannot write; the budget and
 * bad code are refusals like any other.
 */
static void test_contracts(void **state)
{
    fx_t *fx = *state;
    const char *v1 = "function pay(n) if storage.get(n) then error('paid already: ' .. n) end "
                     "storage.put(n, call.caller) emit('paid', {number = n}) return 'ok' end\n"
                     "function who(n) return storage.get(n) end\n"
                     "function spin() while true do end end\n";
    uint64_t from = fx->rec_count;
    main_record(fx, EC_REC_ROLE_GRANT, K_ISSUER1, EC_ROLE_DEPLOYER, "degree", "ORG1");
    main_block(fx);
    anchor_opts_t o = {.height = 2, .from = 1, .rec_from = from, .rec_n = 1};
    assert_int_equal(anchor_tx(fx, &o), 0);
    side_commit(fx);

    assert_int_equal(contract_deploy(fx, EC_STX_CONTRACT_DEPLOY, K_ISSUER2, "inv", "ORG2", v1),
                     EC_EPERM); /* an issuer, no deployer */
    assert_int_equal(
        contract_deploy(fx, EC_STX_CONTRACT_DEPLOY, K_ISSUER1, "inv", "ORG1", "function ("),
        EC_ECONTRACT);
    assert_int_equal(contract_deploy(fx, EC_STX_CONTRACT_DEPLOY, K_ISSUER1, "Bad Name", "ORG1", v1),
                     EC_EINVAL);
    /* A chain whose genesis does not enable contracts takes none. */
    ec_app_t *with = fx->app;
    ec_genesis_t plain = *fx->ctx.genesis;
    plain.features = 0;
    ec_status_t st;
    fx->app = sc_app_new(&plain, &st);
    assert_non_null(fx->app);
    assert_int_equal(contract_deploy(fx, EC_STX_CONTRACT_DEPLOY, K_ISSUER1, "inv", "ORG1", v1),
                     EC_EPERM);
    sc_app_free(fx->app);
    fx->app = with;
    assert_int_equal(contract_deploy(fx, EC_STX_CONTRACT_DEPLOY, K_ISSUER1, "inv", "ORG1", v1), 0);
    side_commit(fx);
    assert_int_equal(contract_deploy(fx, EC_STX_CONTRACT_DEPLOY, K_ISSUER1, "inv", "ORG1", v1),
                     EC_EEXIST);

    uint8_t id[EC_HASH_BYTES];
    assert_int_equal(contract_call(fx, K_HOLDER, "inv", "pay", "INV-1", id), 0);
    assert_int_equal(contract_call(fx, K_HOLDER2, "inv", "pay", "INV-1", NULL), EC_ECONTRACT);
    assert_int_equal(contract_call(fx, K_HOLDER2, "inv", "spin", NULL, NULL), EC_ELIMIT);
    assert_int_equal(contract_call(fx, K_HOLDER2, "nope", "pay", "INV-1", NULL), EC_ENOTFOUND);
    side_commit(fx);

    /* The call's result, the stored caller, the event, all committed. */
    const msgpack_object *r = NULL;
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 1);
    ec_write_bin(&a, id, EC_HASH_BYTES);
    assert_int_equal(query(fx, "contract_result", &a, &r), 0);
    assert_str(el(r, 1), "pay");
    assert_bin(el(r, 2), "\xa2ok", 3);
    ec_writer_t qa;
    ec_writer_init(&qa);
    ec_write_array(&qa, 1);
    ec_write_cstr(&qa, "INV-1");
    ec_writer_reset(&a);
    ec_write_array(&a, 3);
    ec_write_cstr(&a, "inv");
    ec_write_cstr(&a, "who");
    ec_write_bin(&a, ec_writer_data(&qa), ec_writer_size(&qa));
    assert_int_equal(query(fx, "contract_query", &a, &r), 0);
    char addr[EC_ADDR_MAX];
    pk_addr(fx, K_HOLDER, addr);
    assert_int_equal(r->type, MSGPACK_OBJECT_BIN);
    assert_int_equal(r->via.bin.size, 2 + strlen(addr)); /* str8: 0xd9, length */
    assert_memory_equal(r->via.bin.ptr + 2, addr, strlen(addr));
    /* A query cannot write. */
    ec_writer_reset(&a);
    ec_write_array(&a, 3);
    ec_write_cstr(&a, "inv");
    ec_write_cstr(&a, "pay");
    ec_write_bin(&a, ec_writer_data(&qa), ec_writer_size(&qa));
    assert_int_equal(query(fx, "contract_query", &a, &r), EC_ECONTRACT); /* paid already */
    ec_writer_reset(&qa);
    ec_write_array(&qa, 1);
    ec_write_cstr(&qa, "INV-2");
    ec_writer_reset(&a);
    ec_write_array(&a, 3);
    ec_write_cstr(&a, "inv");
    ec_write_cstr(&a, "pay");
    ec_write_bin(&a, ec_writer_data(&qa), ec_writer_size(&qa));
    assert_int_equal(query(fx, "contract_query", &a, &r), EC_ESTATE);
    ec_writer_reset(&a);
    ec_write_array(&a, 2);
    ec_write_cstr(&a, "inv");
    ec_write_uint(&a, 0);
    assert_int_equal(query(fx, "contract_events", &a, &r), 0);
    assert_int_equal(r->via.array.size, 1);
    assert_str(el(el(el(r, 0), 1), 2), "paid");

    /* Only the owner upgrades; the new version runs, the old one is kept. */
    const char *v2 = "function who(n) return 'v2' end";
    assert_int_equal(contract_deploy(fx, EC_STX_CONTRACT_UPGRADE, K_HOLDER, "inv", "ORG1", v2),
                     EC_EPERM);
    assert_int_equal(contract_deploy(fx, EC_STX_CONTRACT_UPGRADE, K_ISSUER1, "inv", "ORG2", v2),
                     EC_EPERM); /* no deployer role for ORG2 */
    assert_int_equal(contract_deploy(fx, EC_STX_CONTRACT_UPGRADE, K_ISSUER1, "inv", "ORG1", v2), 0);
    side_commit(fx);
    ec_writer_reset(&a);
    ec_write_array(&a, 1);
    ec_write_cstr(&a, "inv");
    assert_int_equal(query(fx, "contract", &a, &r), 0);
    assert_int_equal(el(r, 3)->via.u64, 2); /* version */
    assert_int_equal(el(r, 6)->via.u64, 1); /* events */
    assert_bin(el(r, 7), v2, strlen(v2));
    ec_writer_fini(&qa);
    ec_writer_fini(&a);
}

/* K_ISSUER1 gets the deployer role for ORG1 (mirrored) and deploys `code` as `name`. */
static void deploy_as_org1(fx_t *fx, const char *name, const char *code)
{
    uint64_t from = fx->rec_count;
    main_record(fx, EC_REC_ROLE_GRANT, K_ISSUER1, EC_ROLE_DEPLOYER, "degree", "ORG1");
    main_block(fx);
    anchor_opts_t o = {.height = 2, .from = 1, .rec_from = from, .rec_n = 1};
    assert_int_equal(anchor_tx(fx, &o), 0);
    side_commit(fx);
    assert_int_equal(contract_deploy(fx, EC_STX_CONTRACT_DEPLOY, K_ISSUER1, name, "ORG1", code), 0);
    side_commit(fx);
}

static int contract_decide(fx_t *fx, int k, const char *name, uint64_t id, const char *decision)
{
    ec_writer_t d, w;
    ec_writer_init(&d);
    ec_writer_init(&w);
    ec_write_cstr(&d, decision);
    ec_contract_decide_body_t b = {
        .id = id, .decision = ec_writer_data(&d), .decision_size = ec_writer_size(&d)};
    snprintf(b.name, sizeof b.name, "%s", name);
    ec_contract_decide_body_encode(&w, &b);
    int rc = side_tx(fx, EC_STX_CONTRACT_DECIDE, k, &w, NULL, 0, NULL);
    ec_writer_fini(&w);
    ec_writer_fini(&d);
    return rc;
}

/* contract_query of name.fn with one string argument; the result's bytes in *r. */
static int contract_ask(fx_t *fx, const char *name, const char *fn, const char *arg,
                        const msgpack_object **r)
{
    ec_writer_t qa, a;
    ec_writer_init(&qa);
    ec_writer_init(&a);
    ec_write_array(&qa, 1);
    ec_write_cstr(&qa, arg);
    ec_write_array(&a, 3);
    ec_write_cstr(&a, name);
    ec_write_cstr(&a, fn);
    ec_write_bin(&a, ec_writer_data(&qa), ec_writer_size(&qa));
    int rc = query(fx, "contract_query", &a, r);
    ec_writer_fini(&qa);
    ec_writer_fini(&a);
    return rc;
}

/*
 * What a contract knows of its caller (roles, attestation) comes from the mirror; an
 * escalation waits for a holder of the role it names, whose DECIDE calls the contract
 * back once; storage.range sees the block's own writes; events are block results.
 */
static void test_contract_escalation(void **state)
{
    fx_t *fx = *state;
    const char *code =
        "function apply(name)\n"
        "  if not call.attested() then error('applicant not attested') end\n"
        "  if call.has_role('issuer') then error('an issuer does not apply') end\n"
        "  storage.put('app/' .. name, 'pending')\n"
        "  return escalate('issuer', {name = name}, 'ORG1')\n"
        "end\n"
        "function on_decision(id, request, decision)\n"
        "  if decision ~= 'approve' and decision ~= 'refuse' then error('no such decision') end\n"
        "  storage.put('app/' .. request.name, decision)\n"
        "  emit('decided', {id = id, decision = decision})\n"
        "  return decision\n"
        "end\n"
        "function keys(prefix)\n"
        "  local out = {}\n"
        "  for _, e in ipairs(storage.range(prefix)) do out[#out + 1] = e.key .. '=' .. e.value "
        "end\n"
        "  return table.concat(out, ',')\n"
        "end\n"
        "function mine(x) storage.put('app/' .. x, 'x') return keys('app/') end\n"
        "function roles() return call.roles() end\n"
        "function bad() return escalate('nobody', {}) end\n";
    deploy_as_org1(fx, "lic", code);

    assert_int_equal(contract_call(fx, K_STRANGER, "lic", "apply", "acme", NULL), EC_ECONTRACT);
    assert_int_equal(contract_call(fx, K_ISSUER1, "lic", "apply", "acme", NULL), EC_ECONTRACT);
    assert_int_equal(contract_call(fx, K_HOLDER, "lic", "bad", NULL, NULL), EC_ECONTRACT);
    assert_int_equal(contract_call(fx, K_HOLDER, "lic", "apply", "acme", NULL), 0);
    assert_int_equal(contract_call(fx, K_HOLDER2, "lic", "apply", "bolt", NULL), 0);
    /* Not yet committed: range merges the block's writes with the store. */
    assert_int_equal(contract_call(fx, K_HOLDER2, "lic", "mine", "ant", NULL), 0);
    side_commit(fx);

    /* Decision 1: not an issuer of ORG1 (another org, or none) may settle it. */
    assert_int_equal(contract_decide(fx, K_ISSUER2, "lic", 1, "approve"), EC_EPERM);
    assert_int_equal(contract_decide(fx, K_HOLDER, "lic", 1, "approve"), EC_EPERM);
    assert_int_equal(contract_decide(fx, K_ISSUER1, "lic", 9, "approve"), EC_ENOTFOUND);
    assert_int_equal(contract_decide(fx, K_ISSUER1, "lic", 1, "maybe"), EC_ECONTRACT);
    assert_int_equal(contract_decide(fx, K_ISSUER1, "lic", 1, "approve"), 0);
    assert_int_equal(contract_decide(fx, K_ISSUER1, "lic", 1, "refuse"), EC_EEXIST);
    uint64_t decided_at = fx->ctx.height;
    side_commit(fx);

    const msgpack_object *r = NULL;
    assert_int_equal(contract_ask(fx, "lic", "keys", "app/", &r), 0);
    const char *want = "\xd9\x2b"
                       "app/acme=approve,app/ant=x,app/bolt=pending";
    assert_bin(r, want, strlen(want));
    assert_int_equal(contract_ask(fx, "lic", "keys", "zzz", &r), 0);
    assert_bin(r, "\xa0", 1);
    /* A query has no caller: no roles. */
    assert_int_equal(contract_ask(fx, "lic", "roles", "", &r), 0);
    assert_bin(r, "\x90", 1);

    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 3);
    ec_write_cstr(&a, "lic");
    ec_write_uint(&a, 0);
    ec_write_bool(&a, false);
    assert_int_equal(query(fx, "decisions", &a, &r), 0);
    assert_int_equal(r->via.array.size, 2);
    assert_int_equal(el(el(r, 0), 0)->via.u64, 1);
    assert_str(el(el(r, 0), 4), "issuer");
    assert_str(el(el(r, 0), 5), "ORG1");
    assert_int_equal(el(el(r, 0), 7)->via.u64, decided_at);
    char addr[EC_ADDR_MAX];
    pk_addr(fx, K_ISSUER1, addr);
    assert_str(el(el(r, 0), 8), addr);
    assert_int_equal(el(el(r, 1), 7)->via.u64, 0); /* decision 2 still pending */
    ec_writer_reset(&a);
    ec_write_array(&a, 3);
    ec_write_cstr(&a, "lic");
    ec_write_uint(&a, 0);
    ec_write_bool(&a, true);
    assert_int_equal(query(fx, "decisions", &a, &r), 0);
    assert_int_equal(r->via.array.size, 1);
    assert_int_equal(el(el(r, 0), 0)->via.u64, 2);

    /* The decided event is a result of the block that applied the DECIDE. */
    ec_writer_reset(&a);
    ec_write_array(&a, 1);
    ec_write_uint(&a, decided_at);
    assert_int_equal(query(fx, "block_events", &a, &r), 0);
    assert_int_equal(r->via.array.size, 1);
    assert_str(el(el(r, 0), 0), "lic");
    assert_str(el(el(r, 0), 3), "on_decision");
    assert_str(el(el(r, 0), 4), "decided");
    ec_writer_reset(&a);
    ec_write_array(&a, 1);
    ec_write_uint(&a, decided_at - 1);
    assert_int_equal(query(fx, "block_events", &a, &r), 0);
    assert_int_equal(r->via.array.size, 0);
    ec_writer_fini(&a);
}

/* ---- the shipped applications (deploy/contracts) ---------------------------------------- */

/* The code of deploy/contracts/<file> (ECERT_CONTRACTS names the folder), malloc'd. */
static char *contract_code(const char *file)
{
    const char *dir = getenv("ECERT_CONTRACTS");
    assert_non_null(dir);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *code = calloc(1, EC_CONTRACT_CODE_TX_MAX + 1);
    size_t n = fread(code, 1, EC_CONTRACT_CODE_TX_MAX, f);
    fclose(f);
    assert_true(n > 0 && n < EC_CONTRACT_CODE_TX_MAX);
    return code;
}

/* CONTRACT_CALL with arguments already encoded; on success *res is the result, decoded
 * (valid until the next call of this helper). */
static msgpack_unpacked g_result;

static int app_call(fx_t *fx, int k, const char *name, const char *fn, const ec_writer_t *args,
                    const msgpack_object **res)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_contract_call_body_t b = {.args = ec_writer_data(args), .args_size = ec_writer_size(args)};
    snprintf(b.name, sizeof b.name, "%s", name);
    snprintf(b.fn, sizeof b.fn, "%s", fn);
    ec_contract_call_body_encode(&w, &b);
    uint8_t id[EC_HASH_BYTES];
    int rc = side_tx(fx, EC_STX_CONTRACT_CALL, k, &w, NULL, 0, id);
    ec_writer_fini(&w);
    if (rc || !res)
        return rc;
    side_commit(fx);
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 1);
    ec_write_bin(&a, id, EC_HASH_BYTES);
    const msgpack_object *r = NULL;
    assert_int_equal(query(fx, "contract_result", &a, &r), 0);
    ec_writer_fini(&a);
    msgpack_unpacked_destroy(&g_result);
    msgpack_unpacked_init(&g_result);
    size_t off = 0;
    assert_int_equal(
        msgpack_unpack_next(&g_result, el(r, 2)->via.bin.ptr, el(r, 2)->via.bin.size, &off),
        MSGPACK_UNPACK_SUCCESS);
    *res = &g_result.data;
    return 0;
}

/* The value of key `key` in map m (NULL when absent). */
static const msgpack_object *mget(const msgpack_object *m, const char *key)
{
    assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) &&
            memcmp(k->via.str.ptr, key, k->via.str.size) == 0)
            return &m->via.map.ptr[i].val;
    }
    return NULL;
}

static bool mstr_has(const msgpack_object *m, const char *key, const char *text)
{
    const msgpack_object *v = mget(m, key);
    if (!v || v->type != MSGPACK_OBJECT_STR)
        return false;
    char buf[512];
    snprintf(buf, sizeof buf, "%.*s", (int)v->via.str.size, v->via.str.ptr);
    return strstr(buf, text) != NULL;
}

/* apply({name, address, scope, capital}) of license.lua by key k. */
static int license_apply(fx_t *fx, int k, const char *name, const char *scope, int64_t capital,
                         const msgpack_object **res)
{
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 1);
    ec_write_map(&a, name ? 4 : 3);
    ec_write_cstr(&a, "address");
    ec_write_cstr(&a, "1 Market Street");
    ec_write_cstr(&a, "capital");
    ec_write_int(&a, capital);
    if (name) {
        ec_write_cstr(&a, "name");
        ec_write_cstr(&a, name);
    }
    ec_write_cstr(&a, "scope");
    ec_write_cstr(&a, scope);
    int rc = app_call(fx, k, "license", "apply", &a, res);
    ec_writer_fini(&a);
    return rc;
}

/*
 * deploy/contracts/license.lua: an unattested applicant, a missing field, a low capital
 * and a scope not licensable are refused with the rule that failed; a clear application
 * is approved; a name close to one taken is escalated to an issuer of the contract's
 * organization, whose decision settles it; the issuance is recorded once approved, and
 * the audit trail links application, decision and certificate.
 */
static void test_app_license(void **state)
{
    fx_t *fx = *state;
    char *code = contract_code("license.lua");
    deploy_as_org1(fx, "license", code);
    free(code);

    const msgpack_object *r = NULL;
    assert_int_equal(license_apply(fx, K_STRANGER, "Acme Tools", "retail", 50000, &r), 0);
    assert_true(mstr_has(r, "state", "refused") && mstr_has(r, "rule", "rule 1"));
    assert_int_equal(license_apply(fx, K_HOLDER, NULL, "retail", 50000, &r), 0);
    assert_true(mstr_has(r, "rule", "rule 2: the field 'name'"));
    assert_int_equal(license_apply(fx, K_HOLDER, "Acme Tools", "retail", 100, &r), 0);
    assert_true(mstr_has(r, "rule", "rule 3"));
    assert_int_equal(license_apply(fx, K_HOLDER, "Acme Tools", "casino", 50000, &r), 0);
    assert_true(mstr_has(r, "rule", "rule 4"));
    assert_int_equal(license_apply(fx, K_HOLDER, "Li Hua Tea House", "catering", 50000, &r), 0);
    assert_true(mstr_has(r, "state", "approved"));
    assert_int_equal(license_apply(fx, K_HOLDER2, "li hua tea-house", "catering", 80000, &r), 0);
    assert_true(mstr_has(r, "rule", "rule 5: the name is taken"));
    assert_int_equal(license_apply(fx, K_HOLDER2, "Li Hua Tea Houses", "catering", 80000, &r), 0);
    assert_true(mstr_has(r, "state", "escalated"));
    assert_int_equal(mget(r, "decision")->via.u64, 1);
    uint64_t app = mget(r, "id")->via.u64;

    /* Not approved yet: no issuance; an issuer of another org decides nothing. */
    ec_writer_t a;
    ec_writer_init(&a);
    char cert[65];
    memset(cert, 'a', 64);
    cert[64] = 0;
    ec_write_array(&a, 2);
    ec_write_uint(&a, app);
    ec_write_cstr(&a, cert);
    assert_int_equal(app_call(fx, K_ISSUER1, "license", "issued", &a, NULL), EC_ECONTRACT);
    assert_int_equal(contract_decide(fx, K_ISSUER2, "license", 1, "approve"), EC_EPERM);
    assert_int_equal(contract_decide(fx, K_ISSUER1, "license", 1, "approve"), 0);
    side_commit(fx);
    assert_int_equal(app_call(fx, K_HOLDER2, "license", "issued", &a, NULL), EC_ECONTRACT);
    assert_int_equal(app_call(fx, K_ISSUER1, "license", "issued", &a, &r), 0);
    assert_true(mstr_has(r, "state", "licensed"));
    assert_int_equal(app_call(fx, K_ISSUER1, "license", "issued", &a, NULL), EC_ECONTRACT);

    ec_writer_reset(&a);
    ec_write_array(&a, 1);
    ec_write_uint(&a, 1);
    assert_int_equal(app_call(fx, K_STRANGER, "license", "audit_trail", &a, &r), 0);
    assert_int_equal(r->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(r->via.array.size, 4);
    assert_true(mstr_has(&r->via.array.ptr[1], "what", "approved by a licensing officer"));
    assert_true(mstr_has(&r->via.array.ptr[2], "tx", cert));
    ec_writer_fini(&a);
    msgpack_unpacked_destroy(&g_result);
    msgpack_unpacked_init(&g_result);
}

/* Writes the sealed-contents argument 'contract call --seal' makes, for the given keys. */
static void invoice_box(fx_t *fx, ec_writer_t *w, int k1, int k2)
{
    char a1[EC_ADDR_MAX], a2[EC_ADDR_MAX];
    pk_addr(fx, k1, a1);
    pk_addr(fx, k2, a2);
    uint8_t box[60] = {1}, hash[EC_HASH_BYTES] = {2};
    ec_write_map(w, 2);
    ec_write_cstr(w, "sealed");
    ec_write_map(w, k1 == k2 ? 1 : 2);
    ec_write_cstr(w, a1);
    ec_write_bin(w, box, sizeof box);
    if (k1 != k2) {
        ec_write_cstr(w, a2);
        ec_write_bin(w, box, sizeof box);
    }
    ec_write_cstr(w, "sha256");
    ec_write_bin(w, hash, sizeof hash);
}

static int invoice_issue(fx_t *fx, int issuer, const char *number, int buyer, int sealed_to)
{
    char b[EC_ADDR_MAX];
    pk_addr(fx, buyer, b);
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 4);
    ec_write_cstr(&a, number);
    ec_write_cstr(&a, b);
    ec_write_int(&a, 12500);
    invoice_box(fx, &a, buyer, sealed_to);
    int rc = app_call(fx, issuer, "invoice", "issue", &a, NULL);
    ec_writer_fini(&a);
    return rc;
}

static int invoice_do(fx_t *fx, int k, const char *fn, const char *number)
{
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 1);
    ec_write_cstr(&a, number);
    int rc = app_call(fx, k, "invoice", fn, &a, NULL);
    ec_writer_fini(&a);
    return rc;
}

/*
 * deploy/contracts/invoice.lua: the tax bureau (the owner, an issuer of its org) registers
 * an issuer; the issuer issues an invoice sealed to the buyer and the bureau, once per
 * number; only the buyer accepts; reimbursement happens exactly once; the bureau lists the
 * issuer's invoices of a period.
 */
static void test_app_invoice(void **state)
{
    fx_t *fx = *state;
    char *code = contract_code("invoice.lua");
    deploy_as_org1(fx, "invoice", code);
    free(code);

    char shop[EC_ADDR_MAX];
    pk_addr(fx, K_ISSUER2, shop);
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 2);
    ec_write_cstr(&a, shop);
    ec_write_cstr(&a, "Tea Shop");
    assert_int_equal(app_call(fx, K_HOLDER, "invoice", "register_issuer", &a, NULL), EC_ECONTRACT);
    assert_int_equal(invoice_issue(fx, K_ISSUER2, "INV-1", K_HOLDER, K_ISSUER1), EC_ECONTRACT);
    assert_int_equal(app_call(fx, K_ISSUER1, "invoice", "register_issuer", &a, NULL), 0);
    side_commit(fx);

    assert_int_equal(invoice_issue(fx, K_ISSUER2, "INV-1", K_HOLDER, K_HOLDER), EC_ECONTRACT);
    uint64_t t1 = fx->ctx.time_ms; /* each block is 1 s after the one before */
    assert_int_equal(invoice_issue(fx, K_ISSUER2, "INV-1", K_HOLDER, K_ISSUER1), 0);
    assert_int_equal(invoice_issue(fx, K_ISSUER2, "INV-1", K_HOLDER2, K_ISSUER1), EC_ECONTRACT);
    side_commit(fx);
    uint64_t t2 = fx->ctx.time_ms;
    assert_int_equal(invoice_issue(fx, K_ISSUER2, "INV-2", K_HOLDER2, K_ISSUER1), 0);
    assert_int_equal(invoice_do(fx, K_STRANGER, "reimburse", "INV-1"), EC_ECONTRACT);
    assert_int_equal(invoice_do(fx, K_HOLDER2, "accept", "INV-1"), EC_ECONTRACT);
    assert_int_equal(invoice_do(fx, K_HOLDER, "accept", "INV-1"), 0);
    assert_int_equal(invoice_do(fx, K_STRANGER, "reimburse", "INV-1"), 0);
    assert_int_equal(invoice_do(fx, K_INSPECTOR, "reimburse", "INV-1"), EC_ECONTRACT);
    side_commit(fx);

    const msgpack_object *r = NULL;
    ec_writer_reset(&a);
    ec_write_array(&a, 3);
    ec_write_cstr(&a, shop);
    ec_write_uint(&a, 0);
    ec_write_uint(&a, t2 - 1);
    assert_int_equal(app_call(fx, K_STRANGER, "invoice", "list", &a, &r), 0);
    const msgpack_object *list = mget(r, "invoices");
    assert_int_equal(list->via.array.size, 1); /* INV-2 came later */
    assert_true(mstr_has(&list->via.array.ptr[0], "state", "reimbursed"));
    ec_writer_reset(&a);
    ec_write_array(&a, 3);
    ec_write_cstr(&a, shop);
    ec_write_uint(&a, t1 + 1);
    ec_write_uint(&a, t2);
    assert_int_equal(app_call(fx, K_STRANGER, "invoice", "list", &a, &r), 0);
    list = mget(r, "invoices");
    assert_int_equal(list->via.array.size, 1);
    assert_true(mstr_has(&list->via.array.ptr[0], "number", "INV-2"));
    ec_writer_fini(&a);
    msgpack_unpacked_destroy(&g_result);
    msgpack_unpacked_init(&g_result);
}

/* publish() of assets.lua: a structured dataset of org, access ruled by acl. */
static int share_publish(fx_t *fx, int k, const char *org, const char *acl,
                         const msgpack_object **res)
{
    uint8_t sha[EC_HASH_BYTES] = {7}, access[80] = {9};
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 1);
    ec_write_map(&a, 11);
    ec_write_cstr(&a, "access");
    ec_write_bin(&a, access, sizeof access);
    ec_write_cstr(&a, "acl");
    ec_write_cstr(&a, acl);
    ec_write_cstr(&a, "data_type");
    ec_write_cstr(&a, "structured");
    ec_write_cstr(&a, "description");
    ec_write_cstr(&a, "Vaccinations by district");
    ec_write_cstr(&a, "keywords");
    ec_write_array(&a, 1);
    ec_write_cstr(&a, "Vacc");
    ec_write_cstr(&a, "ods");
    ec_write_cstr(&a, "tcp://127.0.0.1:7400");
    ec_write_cstr(&a, "org");
    ec_write_cstr(&a, org);
    ec_write_cstr(&a, "schema");
    ec_write_cstr(&a, "csv: district,count");
    ec_write_cstr(&a, "hash");
    ec_write_bin(&a, sha, sizeof sha);
    ec_write_cstr(&a, "size");
    ec_write_uint(&a, 10);
    ec_write_cstr(&a, "title");
    ec_write_cstr(&a, "Vaccinations 2026");
    int rc = app_call(fx, k, "assets", "publish", &a, res);
    ec_writer_fini(&a);
    return rc;
}

/* A call with string arguments (NULL ends them; "#N" writes the integer N). */
static int share_call(fx_t *fx, int k, const char *name, const char *fn, const msgpack_object **res,
                      ...)
{
    const char *args[8];
    uint32_t n = 0;
    va_list ap;
    va_start(ap, res);
    for (const char *x; n < 8 && (x = va_arg(ap, const char *));)
        args[n++] = x;
    va_end(ap);
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, n);
    for (uint32_t i = 0; i < n; i++) {
        if (args[i][0] == '#')
            ec_write_uint(&a, strtoull(args[i] + 1, NULL, 10));
        else
            ec_write_cstr(&a, args[i]);
    }
    int rc = app_call(fx, k, name, fn, &a, res);
    ec_writer_fini(&a);
    return rc;
}

/* grant({org = org, purpose = purpose}) of an acl.lua. */
static int share_grant(fx_t *fx, int k, const char *acl, const char *org, const char *purpose)
{
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 1);
    ec_write_map(&a, 2);
    ec_write_cstr(&a, "org");
    ec_write_cstr(&a, org);
    ec_write_cstr(&a, "purpose");
    ec_write_cstr(&a, purpose);
    int rc = app_call(fx, k, acl, "grant", &a, NULL);
    ec_writer_fini(&a);
    return rc;
}

/*
 * deploy/contracts/assets.lua and acl.lua: a publisher of an org publishes for it only;
 * the access contract admits by organization and purpose, records every request (granted
 * or refused), and stops admitting once its rule is revoked; only its owner changes the
 * rules; the directory finds the asset by keyword, moves it between organizations with
 * both sides' consent and keeps the history.
 */
static void test_app_sharing(void **state)
{
    fx_t *fx = *state;
    char *code = contract_code("assets.lua");
    deploy_as_org1(fx, "assets", code);
    free(code);
    code = contract_code("acl.lua");
    assert_int_equal(contract_deploy(fx, EC_STX_CONTRACT_DEPLOY, K_ISSUER1, "acl-1", "ORG1", code),
                     0);
    free(code);
    side_commit(fx);

    const msgpack_object *r = NULL;
    assert_int_equal(share_publish(fx, K_ISSUER2, "ORG1", "acl-1", NULL), EC_ECONTRACT);
    assert_int_equal(share_publish(fx, K_ISSUER1, "ORG1", "acl-1", &r), 0);
    assert_true(mstr_has(r, "id", "A1"));
    assert_int_equal(share_call(fx, K_HOLDER, "acl-1", "init", NULL, "A1", NULL), EC_ECONTRACT);
    assert_int_equal(share_call(fx, K_ISSUER1, "acl-1", "init", NULL, "A1", NULL), 0);
    assert_int_equal(share_grant(fx, K_HOLDER, "acl-1", "ORG2", "stats"), EC_ECONTRACT);
    assert_int_equal(share_grant(fx, K_ISSUER1, "acl-1", "ORG2", "stats"), 0);
    side_commit(fx);

    /* An issuer of ORG2 for the purpose: granted; otherwise refused, and recorded. */
    assert_int_equal(share_call(fx, K_ISSUER2, "acl-1", "request", &r, "A1", "#1", "stats", NULL),
                     0);
    bool granted = false;
    assert_int_equal(mget(r, "granted")->type, MSGPACK_OBJECT_BOOLEAN);
    granted = mget(r, "granted")->via.boolean;
    assert_true(granted);
    assert_int_equal(share_call(fx, K_ISSUER2, "acl-1", "request", &r, "A1", "#1", "ads", NULL), 0);
    assert_false(mget(r, "granted")->via.boolean);
    assert_true(mstr_has(r, "why", "for stats only"));
    assert_int_equal(share_call(fx, K_HOLDER, "acl-1", "request", &r, "A1", "#1", "stats", NULL),
                     0);
    assert_false(mget(r, "granted")->via.boolean);
    assert_true(mstr_has(r, "why", "not of ORG2"));
    assert_int_equal(share_call(fx, K_ISSUER2, "acl-1", "request", NULL, "A9", "#1", "stats", NULL),
                     EC_ECONTRACT);
    assert_int_equal(share_call(fx, K_ISSUER1, "acl-1", "revoke", NULL, "#1", NULL), 0);
    side_commit(fx);
    assert_int_equal(share_call(fx, K_ISSUER2, "acl-1", "request", &r, "A1", "#1", "stats", NULL),
                     0);
    assert_false(mget(r, "granted")->via.boolean);
    assert_true(mstr_has(r, "why", "revoked"));
    assert_int_equal(share_call(fx, K_STRANGER, "acl-1", "log", &r, NULL), 0);
    assert_int_equal(r->via.array.size, 4);

    /* The directory: found by keyword (any case), not by another org. */
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 1);
    ec_write_map(&a, 1);
    ec_write_cstr(&a, "keyword");
    ec_write_cstr(&a, "VACC");
    assert_int_equal(app_call(fx, K_STRANGER, "assets", "search", &a, &r), 0);
    assert_int_equal(mget(r, "assets")->via.array.size, 1);
    ec_writer_reset(&a);
    ec_write_array(&a, 1);
    ec_write_map(&a, 1);
    ec_write_cstr(&a, "org");
    ec_write_cstr(&a, "ORG2");
    assert_int_equal(app_call(fx, K_STRANGER, "assets", "search", &a, &r), 0);
    assert_int_equal(mget(r, "assets")->via.array.size, 0);
    ec_writer_fini(&a);

    /* Ownership: offered by ORG1, taken by a publisher of ORG2 only. */
    assert_int_equal(share_call(fx, K_ISSUER1, "assets", "transfer", NULL, "A1", "ORG2", NULL), 0);
    assert_int_equal(share_call(fx, K_HOLDER, "assets", "accept", NULL, "A1", NULL), EC_ECONTRACT);
    assert_int_equal(share_call(fx, K_ISSUER2, "assets", "accept", NULL, "A1", NULL), 0);
    side_commit(fx);
    assert_int_equal(share_call(fx, K_STRANGER, "assets", "asset", &r, "A1", NULL), 0);
    assert_true(mstr_has(r, "org", "ORG2"));
    assert_int_equal(mget(r, "history")->via.array.size, 2);
    assert_int_equal(share_call(fx, K_ISSUER1, "assets", "withdraw", NULL, "A1", "old", NULL),
                     EC_ECONTRACT); /* no longer its owner */
    assert_int_equal(share_call(fx, K_ISSUER2, "assets", "withdraw", NULL, "A1", "old", NULL), 0);
    msgpack_unpacked_destroy(&g_result);
    msgpack_unpacked_init(&g_result);
}

/*
 * The mirror follows the main chain's own validator change: the main header that names
 * the new set is accepted only with that set, which then checks the headers after it.
 */
static void test_main_valset_change(void **state)
{
    fx_t *fx = *state;
    ec_valset_t next;
    next.count = 1;
    memcpy(next.v[0].pk, ec_key_pk(fx->keys[K_INSPECTOR]), EC_PK_BYTES);
    next.v[0].power = 4;
    uint8_t next_hash[EC_HASH_BYTES];
    ec_valset_hash(next_hash, &next);
    /* Main header 2 names the new set; headers 3.. are committed by it. */
    main_block(fx);
    memcpy(fx->headers[2].next_valset_hash, next_hash, EC_HASH_BYTES);
    ec_header_hash(fx->block_hash[2], &fx->headers[2]);
    ec_merkle_leaf(fx->hist_leaves[2], EC_LEAF_BLOCK, fx->block_hash[2], EC_HASH_BYTES);
    main_block(fx);
    memcpy(fx->headers[3].valset_hash, next_hash, EC_HASH_BYTES);
    memcpy(fx->headers[3].next_valset_hash, next_hash, EC_HASH_BYTES);
    ec_header_hash(fx->block_hash[3], &fx->headers[3]);
    ec_merkle_leaf(fx->hist_leaves[3], EC_LEAF_BLOCK, fx->block_hash[3], EC_HASH_BYTES);
    /* Header 3 first: not the set the mirror knows. */
    anchor_opts_t o3 = {.height = 3, .from = 1, .signer = fx->keys[K_INSPECTOR]};
    assert_int_equal(anchor_tx(fx, &o3), EC_ESIG);
    /* Header 2 without the set, and with it. */
    anchor_opts_t o2 = {.height = 2, .from = 1};
    assert_int_equal(anchor_tx(fx, &o2), EC_EINVAL);
    o2.next = &next;
    assert_int_equal(anchor_tx(fx, &o2), 0);
    side_commit(fx);
    /* Now header 3 by the new set; the old validator's commit no longer counts. */
    o3.from = 2;
    o3.signer = fx->keys[K_MAINVAL];
    assert_int_equal(anchor_tx(fx, &o3), EC_ESIG);
    o3.signer = fx->keys[K_INSPECTOR];
    assert_int_equal(anchor_tx(fx, &o3), 0);
    side_commit(fx);
    assert_int_equal(mirror_height(fx), 3);
}

static void test_fork_freezes(void **state)
{
    fx_t *fx = *state;
    main_block(fx); /* height 2 */
    main_block(fx); /* height 3 */
    anchor_opts_t o = {.height = 3, .from = 1};
    assert_int_equal(anchor_tx(fx, &o), 0);
    side_commit(fx);

    /* A garbage prev_path for the honest header 4 is only a bad proof, not a fork. */
    main_block(fx);
    anchor_opts_t garbage = {.height = 4, .from = 3, .bad_prev_path = true};
    assert_int_equal(anchor_tx(fx, &garbage), EC_EPROOF);

    /* A fork: other blocks 2' and 3', then a validly committed header 4' on top of them.
     * Its hist_root ties a different 3-block history to a valid commit. */
    ec_hash32_t fork_leaves[MAIN_HEIGHTS_MAX];
    memcpy(fork_leaves, fx->hist_leaves, sizeof fork_leaves);
    ec_header_t alt;
    uint8_t alt_hash[EC_HASH_BYTES];
    for (uint64_t hgt = 2; hgt <= 3; hgt++) {
        main_header(fx, &alt, hgt, fx->rec_count, 777 + hgt, hgt == 3 ? fork_leaves[2] : NULL);
        if (hgt == 3)
            memcpy(alt.prev_hash, alt_hash, EC_HASH_BYTES);
        ec_header_hash(alt_hash, &alt);
        ec_merkle_leaf(fork_leaves[hgt], EC_LEAF_BLOCK, alt_hash, EC_HASH_BYTES);
    }
    ec_header_t fork4;
    main_header(fx, &fork4, 4, fx->rec_count, 4000, NULL);
    memcpy(fork4.prev_hash, alt_hash, EC_HASH_BYTES);
    ec_merkle_root(fork4.hist_root, (const ec_hash32_t *)fork_leaves, 4);
    anchor_opts_t f = {.header = &fork4,
                       .from = 3,
                       .records_count = fx->rec_count,
                       .hist = (const ec_hash32_t *)fork_leaves};
    assert_int_equal(anchor_tx(fx, &f), 0); /* succeeds: the freeze is recorded */
    assert_int_equal(fx->ctx.anchor_count, 0);
    side_commit(fx);

    const msgpack_object *r = NULL;
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 0);
    assert_int_equal(query(fx, "mirror", &a, &r), 0);
    assert_true(el(el(r, 0), 3)->via.boolean);
    assert_int_equal(el(el(r, 0), 0)->via.u64, 3);
    ec_writer_fini(&a);

    /* the real block 4 is refused now */
    anchor_opts_t next = {.height = 4, .from = 3};
    assert_int_equal(anchor_tx(fx, &next), EC_EFROZEN);
    /* certificates still work against the frozen mirror */
    assert_int_equal(issue(fx, K_ISSUER1, K_HOLDER, "ORG1", NULL), 0);
}

/* ---- tests: certificates ---------------------------------------------------------------- */

static void test_issue_and_query(void **state)
{
    fx_t *fx = *state;
    uint8_t id[EC_HASH_BYTES];
    assert_int_equal(issue(fx, K_ISSUER1, K_HOLDER, "ORG1", id), 0);
    uint64_t h = fx->ctx.height;
    side_commit(fx);
    const msgpack_object *r = NULL;
    /* authorized by the roles of the newest main header the side chain holds */
    uint64_t main_h = mirror_height(fx);
    assert_true(main_h > 0);
    assert_int_equal(query_cert(fx, id, &r), 0);
    assert_int_equal(r->via.array.size, 15);
    assert_int_equal(el(r, 12)->via.u64, main_h);
    assert_int_equal(el(r, 14)->via.u64, 1); /* history: the ISSUE */
    char addr[EC_ADDR_MAX];
    assert_bin(el(r, 0), id, EC_HASH_BYTES);
    assert_str(el(r, 1), pk_addr(fx, K_HOLDER, addr));
    assert_str(el(r, 2), "ORG1");
    assert_bin(el(r, 3), ec_key_pk(fx->keys[K_ISSUER1]), EC_PK_BYTES);
    assert_int_equal(el(r, 4)->via.u64, h);
    assert_bin(el(r, 5), s_fields_root, EC_HASH_BYTES);
    assert_int_equal(el(r, 6)->via.u64, 2000000000000ull);
    assert_str(el(r, 7), "issued");
    assert_bin(el(r, 8), s_payload, sizeof s_payload);
    assert_int_equal(el(r, 9)->via.u64, 0);
    assert_int_equal(el(r, 10)->via.u64, h);
    assert_int_equal(el(r, 11)->type, MSGPACK_OBJECT_BOOLEAN);
    assert_false(el(r, 11)->via.boolean);

    /* unknown certificate, bad args */
    uint8_t none[EC_HASH_BYTES] = {0};
    assert_int_equal(query_cert(fx, none, &r), EC_ENOTFOUND);
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 0);
    assert_int_equal(query(fx, "cert", &a, &r), EC_EINVAL);
    ec_writer_fini(&a);

    /* an erased payload is served as empty bytes */
    ec_ledger_del(fx->ledger, EC_CF_PAYLOADS, id, EC_HASH_BYTES);
    side_commit(fx);
    assert_int_equal(query_cert(fx, id, &r), 0);
    assert_bin(el(r, 8), NULL, 0);
}

static int erase(fx_t *fx, int k, const uint8_t cert[EC_HASH_BYTES], const char *reason);

/*
 * A side chain believes main-chain roles only while its mirror is fresh: a block more than
 * main_freshness_ms after the newest main header it holds refuses role-based transactions
 * with ESTALE (a revoked issuer must not go on issuing because no relay runs), while a
 * sender without the role still hears EPERM; the holder's own transactions wait for a
 * fresh mirror too (its key may have been retired on the main chain).
 */
static void test_issue_stale(void **state)
{
    fx_t *fx = *state;
    const msgpack_object *r = NULL;
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 0);
    assert_int_equal(query(fx, "mirror", &a, &r), 0);
    assert_int_equal(r->via.array.size, 4);
    uint64_t main_time = el(r, 2)->via.u64, bound = el(r, 3)->via.u64;
    assert_int_equal(bound, EC_MAIN_FRESHNESS_MS_DEFAULT);
    assert_true(main_time > 0);
    ec_writer_fini(&a);
    /* At the bound: still fresh. */
    uint8_t id[EC_HASH_BYTES];
    fx->ctx.time_ms = main_time + bound;
    assert_int_equal(issue(fx, K_ISSUER1, K_HOLDER, "ORG1", id), 0);
    /* One millisecond past it: stale, and the message says what to do. */
    fx->ctx.time_ms = main_time + bound + 1;
    ec_status_t st;
    ec_writer_t w;
    ec_writer_init(&w);
    issue_body(fx, &w, K_HOLDER, "ORG1");
    assert_int_equal(side_tx_ex(fx, true, EC_STX_ISSUE, K_ISSUER1, &w, s_payload, sizeof s_payload,
                                true, NULL, &st),
                     EC_ESTALE);
    assert_non_null(strstr(st.msg, "stale"));
    assert_non_null(strstr(st.msg, "relay"));
    /* No role at all: EPERM, whatever the mirror's age. */
    assert_int_equal(issue(fx, K_STRANGER, K_HOLDER, "ORG1", NULL), EC_EPERM);
    /* The holder needs no role, but its key may have been replaced on the main chain
     * since: its transactions wait for a fresh mirror too. */
    side_commit(fx);
    fx->ctx.time_ms = main_time + bound + 1;
    assert_int_equal(update(fx, EC_STX_ACK, K_HOLDER, id, NULL, 0, NULL), EC_ESTALE);
    assert_int_equal(update(fx, EC_STX_CANCEL, K_HOLDER, id, NULL, 0, NULL), EC_ESTALE);
    assert_int_equal(erase(fx, K_HOLDER, id, "mine"), EC_ESTALE);
    ec_writer_fini(&w);
}

static void test_issue_refused(void **state)
{
    fx_t *fx = *state;
    /* wrong org, no role at all, wrong certificate type, inspector role */
    assert_int_equal(issue(fx, K_ISSUER2, K_HOLDER, "ORG1", NULL), EC_EPERM);
    assert_int_equal(issue(fx, K_STRANGER, K_HOLDER, "ORG1", NULL), EC_EPERM);
    assert_int_equal(issue(fx, K_OTHERTYPE, K_HOLDER, "ORG1", NULL), EC_EPERM);
    assert_int_equal(issue(fx, K_INSPECTOR, K_HOLDER, "INSP1", NULL), EC_EPERM);
    /* unattested holder */
    ec_status_t st;
    ec_writer_t w;
    ec_writer_init(&w);
    issue_body(fx, &w, K_STRANGER, "ORG1");
    assert_int_equal(side_tx_ex(fx, true, EC_STX_ISSUE, K_ISSUER1, &w, s_payload, sizeof s_payload,
                                true, NULL, &st),
                     EC_EPERM);
    assert_non_null(strstr(st.msg, "not an attested identity"));
    /* the EPERM message names the sender and the org */
    issue_body(fx, &w, K_HOLDER, "ORG1");
    assert_int_equal(side_tx_ex(fx, true, EC_STX_ISSUE, K_ISSUER2, &w, s_payload, sizeof s_payload,
                                true, NULL, &st),
                     EC_EPERM);
    assert_non_null(strstr(st.msg, "ORG1"));
    assert_non_null(strstr(st.msg, "degree"));
    assert_non_null(strstr(st.msg, "ec1"));
    /* missing payload: check_tx refuses, and so does deliver_tx on its own */
    assert_int_equal(side_tx_ex(fx, true, EC_STX_ISSUE, K_ISSUER1, &w, NULL, 0, true, NULL, &st),
                     EC_EINVAL);
    assert_int_equal(side_tx_ex(fx, false, EC_STX_ISSUE, K_ISSUER1, &w, NULL, 0, true, NULL, &st),
                     EC_EINVAL);
    /* payload bytes without a payload_hash; a payload too short to be a sealed box */
    assert_int_equal(side_tx_ex(fx, true, EC_STX_ISSUE, K_ISSUER1, &w, s_payload, sizeof s_payload,
                                false, NULL, &st),
                     EC_EINVAL);
    assert_int_equal(side_tx_ex(fx, true, EC_STX_ISSUE, K_ISSUER1, &w, s_payload,
                                EC_SEAL_OVERHEAD - 1, true, NULL, &st),
                     EC_EINVAL);
    /* a bad holder address, an empty org, a wrong field type */
    ec_writer_reset(&w);
    ec_write_array(&w, 4);
    ec_write_cstr(&w, "ec1notanaddress");
    ec_write_cstr(&w, "ORG1");
    ec_write_bin(&w, s_fields_root, EC_HASH_BYTES);
    ec_write_uint(&w, 1);
    assert_int_equal(side_tx(fx, EC_STX_ISSUE, K_ISSUER1, &w, s_payload, sizeof s_payload, NULL),
                     EC_EINVAL);
    issue_body(fx, &w, K_HOLDER, "");
    assert_int_equal(side_tx(fx, EC_STX_ISSUE, K_ISSUER1, &w, s_payload, sizeof s_payload, NULL),
                     EC_EINVAL);
    char addr[EC_ADDR_MAX];
    ec_writer_reset(&w);
    ec_write_array(&w, 4);
    ec_write_cstr(&w, pk_addr(fx, K_HOLDER, addr));
    ec_write_cstr(&w, "ORG1");
    ec_write_bin(&w, s_fields_root, 31);
    ec_write_uint(&w, 1);
    assert_int_equal(side_tx(fx, EC_STX_ISSUE, K_ISSUER1, &w, s_payload, sizeof s_payload, NULL),
                     EC_EINVAL);
    /* a transaction for another chain */
    issue_body(fx, &w, K_HOLDER, "ORG1");
    uint8_t ph[EC_HASH_BYTES];
    ec_sha256(ph, s_payload, sizeof s_payload);
    ec_tx_build(&fx->env, NULL, "marriage-test", EC_STX_ISSUE, fx->keys[K_ISSUER1], 1, ph,
                ec_writer_data(&w), ec_writer_size(&w));
    ec_tx_t tx;
    assert_int_equal(ec_tx_decode(&tx, ec_writer_data(&fx->env), ec_writer_size(&fx->env)), 0);
    assert_int_equal(fx->app->check_tx(fx->app->self, &tx, s_payload, sizeof s_payload, &st),
                     EC_ECHAIN);
    ec_tx_fini(&tx);
    ec_writer_fini(&w);
    /* nothing was written */
    side_commit(fx);
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 3);
    ec_write_cstr(&a, pk_addr(fx, K_HOLDER, addr));
    ec_write_nil(&a);
    ec_write_uint(&a, 10);
    const msgpack_object *r = NULL;
    assert_int_equal(query(fx, "certs_by_holder", &a, &r), 0);
    assert_int_equal(r->via.array.size, 0);
    ec_writer_fini(&a);
}

static void test_inspect(void **state)
{
    fx_t *fx = *state;
    uint8_t id[EC_HASH_BYTES];
    assert_int_equal(issue(fx, K_ISSUER1, K_HOLDER, "ORG1", id), 0);
    side_commit(fx);
    uint64_t h = fx->ctx.height;
    assert_int_equal(inspect(fx, K_INSPECTOR, K_HOLDER, "INSP1", id, "compliant"), 0);
    assert_int_equal(inspect(fx, K_ISSUER1, K_HOLDER, "INSP1", id, "x"), EC_EPERM);
    assert_int_equal(inspect(fx, K_INSPECTOR, K_HOLDER, "ORG1", id, "x"), EC_EPERM);
    assert_int_equal(inspect(fx, K_INSPECTOR, K_HOLDER2, "INSP1", id, "x"), EC_EINVAL);
    uint8_t none[EC_HASH_BYTES] = {7};
    assert_int_equal(inspect(fx, K_INSPECTOR, K_HOLDER, "INSP1", none, "x"), EC_ENOTFOUND);
    assert_int_equal(inspect(fx, K_INSPECTOR, K_HOLDER, "INSP1", id, ""), EC_EINVAL);
    char longv[EC_VERDICT_MAX + 1];
    memset(longv, 'v', EC_VERDICT_MAX);
    longv[EC_VERDICT_MAX] = '\0';
    assert_int_not_equal(inspect(fx, K_INSPECTOR, K_HOLDER, "INSP1", id, longv), 0);
    longv[EC_VERDICT_MAX - 1] = '\0'; /* 255 bytes: the longest allowed */
    assert_int_equal(inspect(fx, K_INSPECTOR, K_HOLDER, "INSP1", id, longv), 0);
    /* an inspection with a sealed payload */
    assert_int_equal(inspect_payload(fx, K_HOLDER, id, NULL), 0);
    side_commit(fx);

    const msgpack_object *r = NULL;
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 1);
    ec_write_bin(&a, id, EC_HASH_BYTES);
    assert_int_equal(query(fx, "inspections", &a, &r), 0);
    assert_int_equal(r->via.array.size, 3);
    for (uint32_t i = 0; i < 3; i++) {
        const msgpack_object *e = el(r, i);
        assert_int_equal(e->via.array.size, 5);
        assert_int_equal(el(e, 0)->type, MSGPACK_OBJECT_BIN);
        assert_int_equal(el(e, 1)->via.u64, h);
        assert_str(el(e, 2), "INSP1");
        assert_bin(el(e, 3), ec_key_pk(fx->keys[K_INSPECTOR]), EC_PK_BYTES);
    }
    bool saw_compliant = false;
    for (uint32_t i = 0; i < 3; i++)
        if (el(el(r, i), 4)->via.str.size == 9 &&
            memcmp(el(el(r, i), 4)->via.str.ptr, "compliant", 9) == 0)
            saw_compliant = true;
    assert_true(saw_compliant);
    assert_int_equal(query_cert(fx, id, &r), 0);
    assert_int_equal(el(r, 9)->via.u64, 3);
    assert_int_equal(el(r, 10)->via.u64, h);
    /* inspections of an unknown certificate */
    ec_writer_reset(&a);
    ec_write_array(&a, 1);
    ec_write_bin(&a, none, EC_HASH_BYTES);
    assert_int_equal(query(fx, "inspections", &a, &r), EC_ENOTFOUND);
    ec_writer_fini(&a);
}

static void test_ack(void **state)
{
    fx_t *fx = *state;
    uint8_t id[EC_HASH_BYTES];
    assert_int_equal(issue(fx, K_ISSUER1, K_HOLDER, "ORG1", id), 0);
    side_commit(fx);
    assert_int_equal(update(fx, EC_STX_ACK, K_HOLDER2, id, NULL, 0, NULL), EC_EPERM);
    assert_int_equal(update(fx, EC_STX_ACK, K_ISSUER1, id, NULL, 0, NULL), EC_EPERM);
    assert_int_equal(update(fx, EC_STX_ACK, K_HOLDER, id, s_payload, sizeof s_payload, NULL),
                     EC_EINVAL);
    assert_int_equal(update(fx, EC_STX_ACK, K_HOLDER, id, NULL, 0, NULL), 0);
    assert_int_equal(update(fx, EC_STX_ACK, K_HOLDER, id, NULL, 0, NULL), EC_ESTATE);
    uint8_t none[EC_HASH_BYTES] = {1};
    assert_int_equal(update(fx, EC_STX_ACK, K_HOLDER, none, NULL, 0, NULL), EC_ENOTFOUND);
    side_commit(fx);
    const msgpack_object *r = NULL;
    assert_int_equal(query_cert(fx, id, &r), 0);
    assert_str(el(r, 7), "acknowledged");
}

static void test_renew_change_revoke(void **state)
{
    fx_t *fx = *state;
    uint8_t id[EC_HASH_BYTES], change_id[EC_HASH_BYTES];
    static const uint8_t root2[EC_HASH_BYTES] = {9, 9, 9};
    assert_int_equal(issue(fx, K_ISSUER1, K_HOLDER, "ORG1", id), 0);
    side_commit(fx);
    /* only an issuing agency of the certificate's org */
    assert_int_equal(update(fx, EC_STX_RENEW, K_ISSUER2, id, NULL, 0, NULL), EC_EPERM);
    assert_int_equal(update(fx, EC_STX_RENEW, K_HOLDER, id, NULL, 0, NULL), EC_EPERM);
    assert_int_equal(update(fx, EC_STX_RENEW, K_ISSUER1, id, NULL, 0, NULL), 0);
    uint8_t payload2[80];
    memset(payload2, 0x77, sizeof payload2);
    assert_int_equal(update(fx, EC_STX_CHANGE, K_ISSUER1, id, NULL, 0, NULL), EC_EINVAL);
    assert_int_equal(update(fx, EC_STX_CHANGE, K_OTHERTYPE, id, payload2, sizeof payload2, NULL),
                     EC_EPERM);
    assert_int_equal(update(fx, EC_STX_CHANGE, K_ISSUER1, id, payload2, sizeof payload2, change_id),
                     0);
    uint64_t h = fx->ctx.height;
    side_commit(fx);
    const msgpack_object *r = NULL;
    assert_int_equal(query_cert(fx, id, &r), 0);
    assert_int_equal(el(r, 6)->via.u64, 3000000000000ull);
    assert_bin(el(r, 5), root2, EC_HASH_BYTES);
    assert_bin(el(r, 8), payload2, sizeof payload2);
    assert_str(el(r, 7), "issued");
    assert_int_equal(el(r, 10)->via.u64, h);
    assert_true(el(r, 4)->via.u64 < h);

    assert_int_equal(update(fx, EC_STX_REVOKE, K_ISSUER2, id, NULL, 0, NULL), EC_EPERM);
    assert_int_equal(update(fx, EC_STX_REVOKE, K_ISSUER1, id, NULL, 0, NULL), 0);
    /* revoked refuses everything */
    assert_int_equal(update(fx, EC_STX_REVOKE, K_ISSUER1, id, NULL, 0, NULL), EC_ESTATE);
    assert_int_equal(update(fx, EC_STX_RENEW, K_ISSUER1, id, NULL, 0, NULL), EC_ESTATE);
    assert_int_equal(update(fx, EC_STX_CHANGE, K_ISSUER1, id, payload2, sizeof payload2, NULL),
                     EC_ESTATE);
    assert_int_equal(update(fx, EC_STX_ACK, K_HOLDER, id, NULL, 0, NULL), EC_ESTATE);
    assert_int_equal(inspect(fx, K_INSPECTOR, K_HOLDER, "INSP1", id, "late"), EC_ESTATE);
    side_commit(fx);
    assert_int_equal(query_cert(fx, id, &r), 0);
    assert_str(el(r, 7), "revoked");
    assert_int_equal(el(r, 9)->via.u64, 0);
}

/* The status-list code of certificate index i, from the status_list query. */
static unsigned slist_code(fx_t *fx, uint64_t i, uint64_t *count)
{
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 0);
    const msgpack_object *r = NULL;
    assert_int_equal(query(fx, "status_list", &a, &r), 0);
    ec_writer_fini(&a);
    *count = el(r, 1)->via.u64;
    assert_true(i < *count);
    return ec_slist_get((const uint8_t *)el(r, 2)->via.bin.ptr, i);
}

/* The types of a certificate's history, from cert_history, into types (up to n). */
static uint32_t history(fx_t *fx, const uint8_t id[EC_HASH_BYTES], uint64_t from, uint64_t *types,
                        uint32_t n)
{
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 2);
    ec_write_bin(&a, id, EC_HASH_BYTES);
    ec_write_uint(&a, from);
    const msgpack_object *r = NULL;
    assert_int_equal(query(fx, "cert_history", &a, &r), 0);
    ec_writer_fini(&a);
    uint32_t got = r->via.array.size;
    for (uint32_t i = 0; i < got && i < n; i++) {
        const msgpack_object *e = el(r, i);
        assert_int_equal(el(e, 0)->via.u64, from + i); /* seq */
        types[i] = el(e, 1)->via.u64;
        assert_true(el(e, 2)->via.u64 >= 2); /* height */
        assert_int_equal(el(e, 3)->via.bin.size, EC_HASH_BYTES);
    }
    return got;
}

/*
 * Suspension and reinstatement by the issuing agency, cancellation by the holder or the
 * agency, their refusals, the status each shows, the status-list code each sets, and the
 * history they leave.
 */
static void test_status_lifecycle(void **state)
{
    fx_t *fx = *state;
    uint8_t a[EC_HASH_BYTES], b[EC_HASH_BYTES], c[EC_HASH_BYTES];
    assert_int_equal(issue(fx, K_ISSUER1, K_HOLDER, "ORG1", a), 0);
    assert_int_equal(fx->ctx.slot, 0); /* each ISSUE's result names its place in the list */
    assert_int_equal(issue(fx, K_ISSUER1, K_HOLDER, "ORG1", b), 0);
    assert_int_equal(fx->ctx.slot, 1);
    assert_int_equal(issue(fx, K_ISSUER1, K_HOLDER2, "ORG1", c), 0);
    assert_int_equal(fx->ctx.slot, 2);
    side_commit(fx);
    uint64_t count = 0;
    assert_int_equal(slist_code(fx, 0, &count), EC_SLIST_VALID);
    assert_int_equal(count, 3);

    /* SUSPEND: the agency of the org only; not twice; REINSTATE only when suspended */
    assert_int_equal(update(fx, EC_STX_REINSTATE, K_ISSUER1, a, NULL, 0, NULL), EC_ESTATE);
    assert_int_equal(update(fx, EC_STX_SUSPEND, K_HOLDER, a, NULL, 0, NULL), EC_EPERM);
    assert_int_equal(update(fx, EC_STX_SUSPEND, K_ISSUER2, a, NULL, 0, NULL), EC_EPERM);
    assert_int_equal(update(fx, EC_STX_SUSPEND, K_ISSUER1, a, NULL, 0, NULL), 0);
    assert_int_equal(update(fx, EC_STX_SUSPEND, K_ISSUER1, a, NULL, 0, NULL), EC_ESTATE);
    /* a suspended certificate is still acknowledged, inspected and renewed */
    assert_int_equal(update(fx, EC_STX_ACK, K_HOLDER, a, NULL, 0, NULL), 0);
    assert_int_equal(inspect(fx, K_INSPECTOR, K_HOLDER, "INSP1", a, "checked"), 0);
    side_commit(fx);
    const msgpack_object *r = NULL;
    assert_int_equal(query_cert(fx, a, &r), 0);
    assert_str(el(r, 7), "suspended");
    assert_int_equal(slist_code(fx, 0, &count), EC_SLIST_SUSPENDED);
    assert_int_equal(slist_code(fx, 1, &count), EC_SLIST_VALID);
    assert_int_equal(update(fx, EC_STX_REINSTATE, K_HOLDER, a, NULL, 0, NULL), EC_EPERM);
    assert_int_equal(update(fx, EC_STX_REINSTATE, K_ISSUER1, a, NULL, 0, NULL), 0);
    side_commit(fx);
    assert_int_equal(query_cert(fx, a, &r), 0);
    assert_str(el(r, 7), "acknowledged"); /* what it was before the suspension */
    assert_int_equal(slist_code(fx, 0, &count), EC_SLIST_VALID);

    /* CANCEL: by the holder (no role needed), or the agency; another holder may not */
    assert_int_equal(update(fx, EC_STX_CANCEL, K_HOLDER2, b, NULL, 0, NULL), EC_EPERM);
    assert_int_equal(update(fx, EC_STX_CANCEL, K_ISSUER2, b, NULL, 0, NULL), EC_EPERM);
    assert_int_equal(update(fx, EC_STX_SUSPEND, K_ISSUER1, b, NULL, 0, NULL), 0);
    assert_int_equal(update(fx, EC_STX_CANCEL, K_HOLDER, b, NULL, 0, NULL), 0);
    assert_int_equal(update(fx, EC_STX_CANCEL, K_ISSUER1, c, NULL, 0, NULL), 0);
    side_commit(fx);
    assert_int_equal(query_cert(fx, b, &r), 0);
    assert_str(el(r, 7), "cancelled");
    assert_int_equal(slist_code(fx, 1, &count), EC_SLIST_ENDED);
    assert_int_equal(slist_code(fx, 2, &count), EC_SLIST_ENDED);
    /* cancelled is final, as revoked is */
    assert_int_equal(update(fx, EC_STX_CANCEL, K_HOLDER, b, NULL, 0, NULL), EC_ESTATE);
    assert_int_equal(update(fx, EC_STX_REINSTATE, K_ISSUER1, b, NULL, 0, NULL), EC_ESTATE);
    assert_int_equal(update(fx, EC_STX_SUSPEND, K_ISSUER1, b, NULL, 0, NULL), EC_ESTATE);
    assert_int_equal(update(fx, EC_STX_REVOKE, K_ISSUER1, b, NULL, 0, NULL), EC_ESTATE);
    assert_int_equal(update(fx, EC_STX_RENEW, K_ISSUER1, b, NULL, 0, NULL), EC_ESTATE);
    assert_int_equal(inspect(fx, K_INSPECTOR, K_HOLDER, "INSP1", b, "late"), EC_ESTATE);

    /* REVOKE of a suspended certificate: revoked, not suspended */
    assert_int_equal(update(fx, EC_STX_SUSPEND, K_ISSUER1, a, NULL, 0, NULL), 0);
    assert_int_equal(update(fx, EC_STX_REVOKE, K_ISSUER1, a, NULL, 0, NULL), 0);
    assert_int_equal(update(fx, EC_STX_CANCEL, K_HOLDER, a, NULL, 0, NULL), EC_ESTATE);
    side_commit(fx);
    assert_int_equal(query_cert(fx, a, &r), 0);
    assert_str(el(r, 7), "revoked");
    assert_int_equal(slist_code(fx, 0, &count), EC_SLIST_REVOKED);

    /* the history: every applied transaction, in order; refused ones left nothing */
    uint64_t types[16];
    static const uint64_t want_a[] = {EC_STX_ISSUE,   EC_STX_SUSPEND,   EC_STX_ACK,
                                      EC_STX_INSPECT, EC_STX_REINSTATE, EC_STX_SUSPEND,
                                      EC_STX_REVOKE};
    assert_int_equal(history(fx, a, 0, types, 16), 7);
    for (int i = 0; i < 7; i++)
        assert_int_equal(types[i], want_a[i]);
    assert_int_equal(history(fx, a, 5, types, 16), 2); /* from entry 5 on */
    assert_int_equal(types[0], EC_STX_SUSPEND);
    static const uint64_t want_b[] = {EC_STX_ISSUE, EC_STX_SUSPEND, EC_STX_CANCEL};
    assert_int_equal(history(fx, b, 0, types, 16), 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(types[i], want_b[i]);
    ec_writer_t q;
    ec_writer_init(&q);
    static const uint8_t none[EC_HASH_BYTES] = {1};
    ec_write_array(&q, 2);
    ec_write_bin(&q, none, EC_HASH_BYTES);
    ec_write_uint(&q, 0);
    assert_int_equal(query(fx, "cert_history", &q, &r), EC_ENOTFOUND);
    ec_writer_fini(&q);
}

/* ERASE ends a certificate in the status list, unless it was revoked (which says more). */
static void test_status_erase(void **state)
{
    fx_t *fx = *state;
    uint8_t a[EC_HASH_BYTES], b[EC_HASH_BYTES];
    assert_int_equal(issue(fx, K_ISSUER1, K_HOLDER, "ORG1", a), 0);
    assert_int_equal(issue(fx, K_ISSUER1, K_HOLDER, "ORG1", b), 0);
    side_commit(fx);
    assert_int_equal(update(fx, EC_STX_REVOKE, K_ISSUER1, b, NULL, 0, NULL), 0);
    side_commit(fx);
    ec_writer_t w;
    for (int i = 0; i < 2; i++) {
        ec_writer_init(&w);
        ec_write_array(&w, 2);
        ec_write_bin(&w, i == 0 ? a : b, EC_HASH_BYTES);
        ec_write_cstr(&w, "my right");
        assert_int_equal(side_tx(fx, EC_STX_ERASE, K_HOLDER, &w, NULL, 0, NULL), 0);
        ec_writer_fini(&w);
    }
    side_commit(fx);
    uint64_t count = 0;
    assert_int_equal(slist_code(fx, 0, &count), EC_SLIST_ENDED);
    assert_int_equal(slist_code(fx, 1, &count), EC_SLIST_REVOKED);
}

/*
 * status_list [height] against block `height`'s state root `root`: the tip's list with
 * that block's state_digest and mirrored records gives it. Returns the query's code; on
 * success checks the root and writes the list's count.
 */
static int slist_at(fx_t *fx, uint64_t height, const uint8_t root[EC_HASH_BYTES], uint64_t *count,
                    ec_status_t *st)
{
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 1);
    ec_write_uint(&a, height);
    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *args = NULL;
    assert_int_equal(ec_decode(&d, ec_writer_data(&a), ec_writer_size(&a), &args), 0);
    ec_writer_reset(&fx->qout);
    ec_status_clear(st);
    int rc = fx->app->query(fx->app->self, fx->ledger, "status_list", args, &fx->qout, st);
    ec_decoder_fini(&d);
    ec_writer_fini(&a);
    if (rc) {
        assert_int_equal(st->code, rc);
        return rc;
    }
    const msgpack_object *r = NULL;
    assert_int_equal(ec_decode(&fx->qdec, ec_writer_data(&fx->qout), ec_writer_size(&fx->qout), &r),
                     0);
    assert_int_equal(r->via.array.size, 5);
    assert_int_equal(el(r, 0)->via.u64, height);
    *count = el(r, 1)->via.u64;
    assert_int_equal(el(r, 2)->via.bin.size, ec_slist_bytes(*count));
    assert_int_equal(el(r, 3)->via.bin.size, EC_HASH_BYTES);
    uint8_t status_root[EC_HASH_BYTES], want[EC_HASH_BYTES];
    ec_slist_root_mem(status_root, (const uint8_t *)el(r, 2)->via.bin.ptr, *count);
    ec_side_state_root(want, (const uint8_t *)el(r, 3)->via.bin.ptr, el(r, 4)->via.u64,
                       status_root);
    assert_memory_equal(want, root, EC_HASH_BYTES);
    return 0;
}

/*
 * status_list [height]: the tip's list proven against an older block's header while the
 * list has not changed since (what lets a client prove it against the anchored block of an
 * idle side chain); EC_ESTATE, naming the block of the change, once it has; EC_ENOTFOUND
 * for a height with no record (0, above the tip); EC_EINVAL for other arguments.
 */
static void test_status_list_at_height(void **state)
{
    fx_t *fx = *state;
    ec_status_t st;
    uint64_t count = 0;
    uint8_t root1[EC_HASH_BYTES], root2[EC_HASH_BYTES], root3[EC_HASH_BYTES];
    /* The setup's blocks: the tip's own height is always there. */
    assert_true(fx->ctx.height > 1);
    assert_int_equal(slist_at(fx, fx->ctx.height - 1, fx->last_root, &count, &st), 0);
    assert_int_equal(count, 0);

    uint8_t id[EC_HASH_BYTES];
    assert_int_equal(issue(fx, K_ISSUER1, K_HOLDER, "ORG1", id), 0);
    uint64_t h1 = fx->ctx.height;
    side_commit(fx);
    memcpy(root1, fx->last_root, EC_HASH_BYTES);
    side_commit(fx); /* an empty block: another state digest, the same list */
    memcpy(root2, fx->last_root, EC_HASH_BYTES);
    assert_memory_not_equal(root1, root2, EC_HASH_BYTES);
    assert_int_equal(slist_at(fx, h1, root1, &count, &st), 0);
    assert_int_equal(count, 1);
    assert_int_equal(slist_at(fx, h1 + 1, root2, &count, &st), 0);

    /* A REVOKE changes the list: the older heights no longer prove the tip's. */
    assert_int_equal(update(fx, EC_STX_REVOKE, K_ISSUER1, id, NULL, 0, NULL), 0);
    uint64_t h3 = fx->ctx.height;
    side_commit(fx);
    memcpy(root3, fx->last_root, EC_HASH_BYTES);
    side_commit(fx);
    char want[64];
    snprintf(want, sizeof want, "ask for %llu or later", (unsigned long long)h3);
    assert_int_equal(slist_at(fx, h1, root1, &count, &st), EC_ESTATE);
    assert_non_null(strstr(st.msg, want));
    assert_int_equal(slist_at(fx, h1 + 1, root2, &count, &st), EC_ESTATE);
    assert_non_null(strstr(st.msg, want));
    assert_int_equal(slist_at(fx, h3, root3, &count, &st), 0);
    assert_int_equal(slist_at(fx, h3 + 1, fx->last_root, &count, &st), 0);
    assert_int_equal(count, 1);

    /* Heights with no record: 0, above the tip. */
    assert_int_equal(slist_at(fx, 0, root1, &count, &st), EC_ENOTFOUND);
    assert_int_equal(slist_at(fx, h3 + 2, root1, &count, &st), EC_ENOTFOUND);
    assert_int_equal(slist_at(fx, UINT64_MAX, root1, &count, &st), EC_ENOTFOUND);

    /* Other arguments. */
    const msgpack_object *r = NULL;
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 1);
    ec_write_cstr(&a, "1");
    assert_int_equal(query(fx, "status_list", &a, &r), EC_EINVAL);
    ec_writer_reset(&a);
    ec_write_array(&a, 2);
    ec_write_uint(&a, h1);
    ec_write_uint(&a, h1);
    assert_int_equal(query(fx, "status_list", &a, &r), EC_EINVAL);
    ec_writer_reset(&a);
    ec_write_array(&a, 1);
    ec_write_int(&a, -1);
    assert_int_equal(query(fx, "status_list", &a, &r), EC_EINVAL);
    ec_writer_fini(&a);
}

/* The record of a block SC_SLIST_HISTORY (4,096) blocks below the tip is pruned: its
 * height is EC_ENOTFOUND, the one above it still answers. */
static void test_status_list_pruned(void **state)
{
    fx_t *fx = *state;
    ec_status_t st;
    uint64_t count = 0, first = fx->ctx.height;
    uint8_t root[EC_HASH_BYTES];
    side_commit(fx);
    side_commit(fx);
    memcpy(root, fx->last_root, EC_HASH_BYTES); /* of block first + 1 */
    while (fx->ctx.height <= first + 4096)
        side_commit(fx);
    assert_int_equal(slist_at(fx, first, root, &count, &st), EC_ENOTFOUND);
    assert_int_equal(slist_at(fx, first + 1, root, &count, &st), 0);
}

/* The usage query: [org, from, to, after]; returns the result array. */
static const msgpack_object *usage(fx_t *fx, const char *org, uint64_t from, uint64_t to,
                                   const msgpack_object *after)
{
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 4);
    ec_write_cstr(&a, org);
    ec_write_uint(&a, from);
    ec_write_uint(&a, to);
    if (after) {
        ec_write_array(&a, 3);
        ec_write_uint(&a, el(after, 0)->via.u64);
        ec_write_uint(&a, el(after, 1)->via.u64);
        ec_write_bin(&a, el(after, 2)->via.bin.ptr, EC_HASH_BYTES);
    } else {
        ec_write_nil(&a);
    }
    const msgpack_object *r = NULL;
    assert_int_equal(query(fx, "usage", &a, &r), 0);
    ec_writer_fini(&a);
    return r;
}

/* Metering: every applied inspection is indexed by its organization and block time; the
 * usage query returns a time range, in order, with paging; refused ones are not counted. */
static void test_usage(void **state)
{
    fx_t *fx = *state;
    uint8_t a[EC_HASH_BYTES], b[EC_HASH_BYTES];
    assert_int_equal(issue(fx, K_ISSUER1, K_HOLDER, "ORG1", a), 0);
    assert_int_equal(issue(fx, K_ISSUER1, K_HOLDER2, "ORG1", b), 0);
    side_commit(fx);
    uint64_t t1 = fx->ctx.time_ms;
    assert_int_equal(inspect(fx, K_INSPECTOR, K_HOLDER, "INSP1", a, "authentic"), 0);
    assert_int_equal(inspect(fx, K_INSPECTOR, K_HOLDER2, "INSP1", b, "forged"), 0);
    side_commit(fx);
    uint64_t t2 = fx->ctx.time_ms;
    assert_int_equal(inspect(fx, K_INSPECTOR, K_HOLDER, "INSP1", a, "authentic"), 0);
    /* refused (the org is not the inspector's): leaves no usage */
    assert_int_equal(inspect(fx, K_INSPECTOR, K_HOLDER, "ORG1", a, "x"), EC_EPERM);
    side_commit(fx);
    const msgpack_object *r = usage(fx, "INSP1", 0, UINT64_MAX, NULL);
    assert_int_equal(r->via.array.size, 3);
    assert_int_equal(el(el(r, 0), 0)->via.u64, t1);
    assert_int_equal(el(el(r, 2), 0)->via.u64, t2);
    assert_bin(el(el(r, 0), 3), a, EC_HASH_BYTES);
    assert_str(el(el(r, 0), 4), "authentic");
    /* [t1, t2): the first block's two */
    r = usage(fx, "INSP1", t1, t2, NULL);
    assert_int_equal(r->via.array.size, 2);
    /* after the first entry: the two that follow it */
    const msgpack_object *all = usage(fx, "INSP1", 0, UINT64_MAX, NULL);
    ec_writer_t keep;
    ec_writer_init(&keep);
    ec_write_object(&keep, el(all, 0));
    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *first = NULL;
    assert_int_equal(ec_decode(&d, ec_writer_data(&keep), ec_writer_size(&keep), &first), 0);
    r = usage(fx, "INSP1", 0, UINT64_MAX, first);
    assert_int_equal(r->via.array.size, 2);
    assert_int_equal(el(el(r, 1), 0)->via.u64, t2);
    ec_decoder_fini(&d);
    ec_writer_fini(&keep);
    /* another organization, and one that is a prefix of it, see nothing */
    assert_int_equal(usage(fx, "INSP", 0, UINT64_MAX, NULL)->via.array.size, 0);
    assert_int_equal(usage(fx, "ORG1", 0, UINT64_MAX, NULL)->via.array.size, 0);
}

static void test_certs_by_holder(void **state)
{
    fx_t *fx = *state;
    uint8_t ids[4][EC_HASH_BYTES];
    assert_int_equal(issue(fx, K_ISSUER1, K_HOLDER, "ORG1", ids[0]), 0);
    side_commit(fx);
    assert_int_equal(issue(fx, K_ISSUER2, K_HOLDER, "ORG2", ids[1]), 0);
    assert_int_equal(issue(fx, K_ISSUER1, K_HOLDER2, "ORG1", ids[3]), 0);
    side_commit(fx);
    assert_int_equal(issue(fx, K_ISSUER1, K_HOLDER, "ORG1", ids[2]), 0);
    assert_int_equal(update(fx, EC_STX_REVOKE, K_ISSUER1, ids[0], NULL, 0, NULL), 0);
    side_commit(fx);

    char addr[EC_ADDR_MAX];
    ec_writer_t a;
    ec_writer_init(&a);
    const msgpack_object *r = NULL;
    ec_write_array(&a, 3);
    ec_write_cstr(&a, pk_addr(fx, K_HOLDER, addr));
    ec_write_nil(&a);
    ec_write_uint(&a, 0);
    assert_int_equal(query(fx, "certs_by_holder", &a, &r), 0);
    assert_int_equal(r->via.array.size, 3);
    for (int i = 0; i < 3; i++)
        assert_bin(el(el(r, (uint32_t)i), 0), ids[i], EC_HASH_BYTES);
    assert_int_equal(el(el(r, 0), 1)->via.u64, 2);
    assert_int_equal(el(el(r, 1), 1)->via.u64, 3);
    assert_str(el(el(r, 1), 2), "ORG2");
    assert_str(el(el(r, 0), 3), "revoked");
    assert_str(el(el(r, 2), 3), "issued");

    /* paging: limit 2, then after the second */
    ec_writer_reset(&a);
    ec_write_array(&a, 3);
    ec_write_cstr(&a, pk_addr(fx, K_HOLDER, addr));
    ec_write_nil(&a);
    ec_write_uint(&a, 2);
    assert_int_equal(query(fx, "certs_by_holder", &a, &r), 0);
    assert_int_equal(r->via.array.size, 2);
    ec_writer_reset(&a);
    ec_write_array(&a, 3);
    ec_write_cstr(&a, pk_addr(fx, K_HOLDER, addr));
    ec_write_bin(&a, ids[1], EC_HASH_BYTES);
    ec_write_uint(&a, 2);
    assert_int_equal(query(fx, "certs_by_holder", &a, &r), 0);
    assert_int_equal(r->via.array.size, 1);
    assert_bin(el(el(r, 0), 0), ids[2], EC_HASH_BYTES);
    /* `after` of another holder; limit too big; bad address */
    ec_writer_reset(&a);
    ec_write_array(&a, 3);
    ec_write_cstr(&a, pk_addr(fx, K_HOLDER, addr));
    ec_write_bin(&a, ids[3], EC_HASH_BYTES);
    ec_write_uint(&a, 2);
    assert_int_equal(query(fx, "certs_by_holder", &a, &r), EC_EINVAL);
    ec_writer_reset(&a);
    ec_write_array(&a, 3);
    ec_write_cstr(&a, pk_addr(fx, K_HOLDER, addr));
    ec_write_nil(&a);
    ec_write_uint(&a, 1001);
    assert_int_not_equal(query(fx, "certs_by_holder", &a, &r), 0);
    ec_writer_reset(&a);
    ec_write_array(&a, 3);
    ec_write_cstr(&a, "nope");
    ec_write_nil(&a);
    ec_write_uint(&a, 1);
    assert_int_equal(query(fx, "certs_by_holder", &a, &r), EC_EINVAL);
    /* holder2 has one */
    ec_writer_reset(&a);
    ec_write_array(&a, 3);
    ec_write_cstr(&a, pk_addr(fx, K_HOLDER2, addr));
    ec_write_nil(&a);
    ec_write_uint(&a, 5);
    assert_int_equal(query(fx, "certs_by_holder", &a, &r), 0);
    assert_int_equal(r->via.array.size, 1);
    assert_bin(el(el(r, 0), 0), ids[3], EC_HASH_BYTES);
    ec_writer_fini(&a);
}

/* ---- tests: ERASE ----------------------------------------------------------------------- */

static int erase(fx_t *fx, int k, const uint8_t cert[EC_HASH_BYTES], const char *reason)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 2);
    ec_write_bin(&w, cert, EC_HASH_BYTES);
    ec_write_cstr(&w, reason);
    int rc = side_tx(fx, EC_STX_ERASE, k, &w, NULL, 0, NULL);
    ec_writer_fini(&w);
    return rc;
}

/* Whether EC_CF_PAYLOADS holds the payload of tx id (committed data). */
static bool has_payload(fx_t *fx, const uint8_t id[EC_HASH_BYTES])
{
    uint8_t *val = NULL;
    size_t size = 0;
    int rc = ec_ledger_get(fx->ledger, EC_CF_PAYLOADS, id, EC_HASH_BYTES, &val, &size);
    free(val);
    assert_true(rc == 0 || rc == EC_ENOTFOUND);
    return rc == 0;
}

static int count_item(void *ctx, const uint8_t *key, size_t key_size, const uint8_t *val,
                      size_t val_size)
{
    (void)key;
    (void)key_size;
    (void)val;
    (void)val_size;
    (*(uint32_t *)ctx)++;
    return 0;
}

/* Committed state keys that start with kind ‖ id. */
static uint32_t state_keys(fx_t *fx, uint8_t kind, const uint8_t id[EC_HASH_BYTES])
{
    uint8_t prefix[1 + EC_HASH_BYTES];
    prefix[0] = kind;
    memcpy(prefix + 1, id, EC_HASH_BYTES);
    uint32_t n = 0;
    assert_int_equal(
        ec_ledger_scan(fx->ledger, EC_CF_STATE, prefix, sizeof prefix, NULL, 0, 0, count_item, &n),
        0);
    return n;
}

/* Certificate id was erased: its ISSUE payload, the payloads of tx a and b and its 'P'
 * keys are gone from committed data. */
static void assert_erased(fx_t *fx, const uint8_t id[EC_HASH_BYTES], const uint8_t a[EC_HASH_BYTES],
                          const uint8_t b[EC_HASH_BYTES])
{
    assert_false(has_payload(fx, id));
    assert_false(has_payload(fx, a));
    assert_false(has_payload(fx, b));
    assert_int_equal(state_keys(fx, 'P', id), 0);
}

static void test_erase_by_holder(void **state)
{
    fx_t *fx = *state;
    uint8_t id[EC_HASH_BYTES], change_id[EC_HASH_BYTES], insp_id[EC_HASH_BYTES];
    uint8_t id2[EC_HASH_BYTES], change2_id[EC_HASH_BYTES];
    uint8_t payload2[80];
    memset(payload2, 0x77, sizeof payload2);
    assert_int_equal(issue(fx, K_ISSUER1, K_HOLDER, "ORG1", id), 0);
    assert_int_equal(issue(fx, K_ISSUER1, K_HOLDER2, "ORG1", id2), 0);
    side_commit(fx);
    assert_int_equal(update(fx, EC_STX_CHANGE, K_ISSUER1, id, payload2, sizeof payload2, change_id),
                     0);
    assert_int_equal(inspect_payload(fx, K_HOLDER, id, insp_id), 0);
    assert_int_equal(inspect(fx, K_INSPECTOR, K_HOLDER, "INSP1", id, "compliant"), 0);
    assert_int_equal(
        update(fx, EC_STX_CHANGE, K_ISSUER1, id2, payload2, sizeof payload2, change2_id), 0);
    side_commit(fx);
    assert_true(has_payload(fx, id) && has_payload(fx, change_id) && has_payload(fx, insp_id));
    assert_int_equal(state_keys(fx, 'P', id), 3); /* count + two entries */

    /* who may erase: not a stranger, another org's issuer, an inspector, another holder */
    assert_int_equal(erase(fx, K_STRANGER, id, "mine"), EC_EPERM);
    assert_int_equal(erase(fx, K_ISSUER2, id, "mine"), EC_EPERM);
    assert_int_equal(erase(fx, K_INSPECTOR, id, "mine"), EC_EPERM);
    assert_int_equal(erase(fx, K_HOLDER2, id, "mine"), EC_EPERM);
    assert_int_equal(erase(fx, K_OTHERTYPE, id, "mine"), EC_EPERM);
    /* body and payload rules */
    assert_int_equal(erase(fx, K_HOLDER, id, ""), EC_EINVAL);
    uint8_t none[EC_HASH_BYTES] = {3};
    assert_int_equal(erase(fx, K_HOLDER, none, "mine"), EC_ENOTFOUND);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 2);
    ec_write_bin(&w, id, EC_HASH_BYTES);
    ec_write_cstr(&w, "mine");
    assert_int_equal(side_tx(fx, EC_STX_ERASE, K_HOLDER, &w, s_payload, sizeof s_payload, NULL),
                     EC_EINVAL);
    ec_writer_fini(&w);

    assert_int_equal(erase(fx, K_HOLDER, id, "right to erasure"), 0);
    assert_int_equal(erase(fx, K_HOLDER, id, "again"), EC_ESTATE); /* same block */
    uint64_t h = fx->ctx.height;
    side_commit(fx);
    assert_erased(fx, id, change_id, insp_id);
    /* the other certificate is untouched */
    assert_true(has_payload(fx, id2) && has_payload(fx, change2_id));
    assert_int_equal(state_keys(fx, 'P', id2), 2);
    /* the inspection records stay (they hold no personal data) */
    assert_int_equal(state_keys(fx, 'I', id), 2);

    const msgpack_object *r = NULL;
    assert_int_equal(query_cert(fx, id, &r), 0);
    assert_int_equal(r->via.array.size, 15);
    assert_bin(el(r, 8), NULL, 0);
    assert_true(el(r, 11)->via.boolean);
    assert_str(el(r, 7), "issued");
    assert_int_equal(el(r, 10)->via.u64, h);
    assert_int_equal(query_cert(fx, id2, &r), 0);
    assert_bin(el(r, 8), payload2, sizeof payload2);
    assert_false(el(r, 11)->via.boolean);

    /* after erasure: no new content, but the rest of the life cycle goes on */
    assert_int_equal(erase(fx, K_HOLDER, id, "again"), EC_ESTATE);
    assert_int_equal(erase(fx, K_ISSUER1, id, "again"), EC_ESTATE);
    assert_int_equal(update(fx, EC_STX_CHANGE, K_ISSUER1, id, payload2, sizeof payload2, NULL),
                     EC_ESTATE);
    assert_int_equal(inspect_payload(fx, K_HOLDER, id, NULL), EC_ESTATE);
    assert_int_equal(inspect(fx, K_INSPECTOR, K_HOLDER, "INSP1", id, "still fine"), 0);
    assert_int_equal(update(fx, EC_STX_ACK, K_HOLDER, id, NULL, 0, NULL), 0);
    assert_int_equal(update(fx, EC_STX_RENEW, K_ISSUER1, id, NULL, 0, NULL), 0);
    assert_int_equal(update(fx, EC_STX_REVOKE, K_ISSUER1, id, NULL, 0, NULL), 0);
    side_commit(fx);
    assert_int_equal(query_cert(fx, id, &r), 0);
    assert_str(el(r, 7), "revoked");
    assert_int_equal(el(r, 9)->via.u64, 3);
    assert_true(el(r, 11)->via.boolean);
    assert_int_equal(erase(fx, K_HOLDER, id, "again"), EC_ESTATE);
}

static void test_erase_by_agency(void **state)
{
    fx_t *fx = *state;
    uint8_t id[EC_HASH_BYTES], change_id[EC_HASH_BYTES], insp_id[EC_HASH_BYTES];
    uint8_t payload2[80];
    memset(payload2, 0x55, sizeof payload2);
    /* Issue, change, inspect and erase in one block: ERASE reads the pending index, and
     * the payloads the engine wrote earlier in the block are deleted too. */
    assert_int_equal(issue(fx, K_ISSUER1, K_HOLDER, "ORG1", id), 0);
    assert_int_equal(update(fx, EC_STX_CHANGE, K_ISSUER1, id, payload2, sizeof payload2, change_id),
                     0);
    assert_int_equal(inspect_payload(fx, K_HOLDER, id, insp_id), 0);
    assert_int_equal(erase(fx, K_ISSUER1, id, "court order 17/2024"), 0);
    side_commit(fx);
    assert_erased(fx, id, change_id, insp_id);
    const msgpack_object *r = NULL;
    assert_int_equal(query_cert(fx, id, &r), 0);
    assert_true(el(r, 11)->via.boolean);
    assert_bin(el(r, 8), NULL, 0);

    /* a revoked certificate can still be erased (the right to erasure stays) */
    uint8_t id2[EC_HASH_BYTES];
    assert_int_equal(issue(fx, K_ISSUER2, K_HOLDER2, "ORG2", id2), 0);
    side_commit(fx);
    assert_int_equal(update(fx, EC_STX_REVOKE, K_ISSUER2, id2, NULL, 0, NULL), 0);
    assert_int_equal(erase(fx, K_ISSUER1, id2, "wrong org"), EC_EPERM);
    assert_int_equal(erase(fx, K_ISSUER2, id2, "retention period over"), 0);
    side_commit(fx);
    assert_false(has_payload(fx, id2));
    assert_int_equal(query_cert(fx, id2, &r), 0);
    assert_str(el(r, 7), "revoked");
    assert_true(el(r, 11)->via.boolean);
}

/* Two nodes that apply the same transactions agree on the root of the ERASE block, and
 * that root differs from the one the block would have without the ERASE. */
static void test_erase_state_root(void **state)
{
    fx_t *fx[2] = {*state, NULL};
    void *other = NULL;
    assert_int_equal(setup(&other), 0);
    fx[1] = other;
    uint8_t root[2][EC_HASH_BYTES], before[EC_HASH_BYTES];
    uint8_t payload2[80];
    memset(payload2, 0x66, sizeof payload2);
    for (int n = 0; n < 2; n++) {
        uint8_t id[EC_HASH_BYTES];
        assert_int_equal(issue(fx[n], K_ISSUER1, K_HOLDER, "ORG1", id), 0);
        assert_int_equal(
            update(fx[n], EC_STX_CHANGE, K_ISSUER1, id, payload2, sizeof payload2, NULL), 0);
        side_commit(fx[n]);
        assert_int_equal(fx[n]->app->end_block(fx[n]->app->self, &fx[n]->ctx, before), 0);
        assert_int_equal(erase(fx[n], K_HOLDER, id, "right to erasure"), 0);
        assert_int_equal(fx[n]->app->end_block(fx[n]->app->self, &fx[n]->ctx, root[n]), 0);
        assert_memory_not_equal(before, root[n], EC_HASH_BYTES);
        side_commit(fx[n]);
    }
    assert_memory_equal(root[0], root[1], EC_HASH_BYTES);
    teardown(&other);
}

/* CHANGE and INSPECT payloads are capped per certificate (so one ERASE has a bound). */
static void test_erase_payload_cap(void **state)
{
    fx_t *fx = *state;
    uint8_t id[EC_HASH_BYTES], first[EC_HASH_BYTES], last[EC_HASH_BYTES];
    assert_int_equal(issue(fx, K_ISSUER1, K_HOLDER, "ORG1", id), 0);
    side_commit(fx);
    assert_int_equal(inspect_payload(fx, K_HOLDER, id, first), 0);
    for (int i = 1; i < 1024; i++) {
        assert_int_equal(
            update(fx, EC_STX_CHANGE, K_ISSUER1, id, s_payload, sizeof s_payload, last), 0);
        if (i % 256 == 0)
            side_commit(fx);
    }
    assert_int_equal(update(fx, EC_STX_CHANGE, K_ISSUER1, id, s_payload, sizeof s_payload, NULL),
                     EC_ETOOBIG);
    assert_int_equal(inspect_payload(fx, K_HOLDER, id, NULL), EC_ETOOBIG);
    assert_int_equal(inspect(fx, K_INSPECTOR, K_HOLDER, "INSP1", id, "no payload"), 0);
    side_commit(fx);
    assert_true(has_payload(fx, first) && has_payload(fx, last));
    assert_int_equal(state_keys(fx, 'P', id), 1025);
    assert_int_equal(erase(fx, K_HOLDER, id, "right to erasure"), 0);
    side_commit(fx);
    assert_erased(fx, id, first, last);
}

/* ---- tests: who may do what ------------------------------------------------------------ */

/*
 * Commits the next main block with every record so far and, as a relay would, anchors it
 * on the side chain from the previous main block with the records from rec_from on; then
 * commits the side block.
 */
static void main_block_mirrored(fx_t *fx, uint64_t rec_from)
{
    main_block(fx);
    anchor_opts_t o = {.height = fx->main_height,
                       .from = fx->main_height - 1,
                       .rec_from = rec_from,
                       .rec_n = (uint32_t)(fx->rec_count - rec_from)};
    assert_int_equal(anchor_tx(fx, &o), 0);
    side_commit(fx);
}

/* A sender (key index) and the org its transaction names, where the body names one. */
typedef struct {
    int key;
    const char *org;
} who_t;

static void expect_eperm(int rc, const char *what, const who_t *w)
{
    if (rc != EC_EPERM)
        fail_msg("%s by key %d (org %s): %d, want EPERM", what, w->key, w->org ? w->org : "-", rc);
}

/*
 * Every permission rule of the side chain against every kind of sender it must refuse, so
 * that deleting or loosening any one check in sc_app.c fails here: ISSUE, RENEW, CHANGE and
 * REVOKE need the issuer role for this type and the org (the body's for ISSUE, the
 * certificate's after), INSPECT the inspector role for this type and the body's org, ACK
 * the holder, ERASE the holder or an issuer of the certificate's org. Refused: the holder
 * or another holder where an agency is needed, a stranger, the right role for another org,
 * the right role and org for another certificate type, another role for the right org, a
 * role that was revoked, and an agency where the holder is needed.
 */
static void test_authorization(void **state)
{
    fx_t *fx = *state;
    /* main block 2: REVOKED becomes an issuer of degree/ORG1 and an inspector of
     * degree/INSP1, WRONGROLE an inspector of degree/ORG1, OTHERTYPE also an inspector of
     * marriage/INSP1 */
    main_record(fx, EC_REC_ROLE_GRANT, K_REVOKED, EC_ROLE_ISSUER, "degree", "ORG1");
    main_record(fx, EC_REC_ROLE_GRANT, K_REVOKED, EC_ROLE_INSPECTOR, "degree", "INSP1");
    main_record(fx, EC_REC_ROLE_GRANT, K_WRONGROLE, EC_ROLE_INSPECTOR, "degree", "ORG1");
    main_record(fx, EC_REC_ROLE_GRANT, K_OTHERTYPE, EC_ROLE_INSPECTOR, "marriage", "INSP1");
    main_block_mirrored(fx, 6);

    /* While REVOKED holds its roles it acts for ORG1: issues, inspects, and renews a
     * certificate another issuer of ORG1 issued (the org's agency, not the person). */
    uint8_t id[EC_HASH_BYTES], id2[EC_HASH_BYTES];
    assert_int_equal(issue(fx, K_ISSUER1, K_HOLDER, "ORG1", id), 0);
    assert_int_equal(issue(fx, K_REVOKED, K_HOLDER2, "ORG1", id2), 0);
    side_commit(fx);
    assert_int_equal(inspect(fx, K_REVOKED, K_HOLDER, "INSP1", id, "fine"), 0);
    assert_int_equal(update(fx, EC_STX_RENEW, K_REVOKED, id, NULL, 0, NULL), 0);
    side_commit(fx);

    /* main block 3 revokes both of REVOKED's roles */
    main_record(fx, EC_REC_ROLE_REVOKE, K_REVOKED, EC_ROLE_ISSUER, "degree", "ORG1");
    main_record(fx, EC_REC_ROLE_REVOKE, K_REVOKED, EC_ROLE_INSPECTOR, "degree", "INSP1");
    main_block_mirrored(fx, 10);

    /* Senders refused wherever an issuing agency of ORG1 for degree is needed. */
    static const who_t not_issuer[] = {
        {K_HOLDER, "ORG1"},     {K_HOLDER2, "ORG1"},   {K_STRANGER, "ORG1"},
        {K_ISSUER2, "ORG1"},    {K_OTHERTYPE, "ORG1"}, {K_INSPECTOR, "ORG1"},
        {K_INSPECTOR, "INSP1"}, {K_WRONGROLE, "ORG1"}, {K_REVOKED, "ORG1"},
    };
    uint8_t payload2[80];
    memset(payload2, 0x42, sizeof payload2);
    for (size_t i = 0; i < sizeof not_issuer / sizeof not_issuer[0]; i++) {
        const who_t *w = &not_issuer[i];
        expect_eperm(issue(fx, w->key, K_HOLDER, w->org, NULL), "ISSUE", w);
        expect_eperm(update(fx, EC_STX_RENEW, w->key, id, NULL, 0, NULL), "RENEW", w);
        expect_eperm(update(fx, EC_STX_CHANGE, w->key, id, payload2, sizeof payload2, NULL),
                     "CHANGE", w);
        expect_eperm(update(fx, EC_STX_REVOKE, w->key, id, NULL, 0, NULL), "REVOKE", w);
        if (w->key != K_HOLDER) /* the holder may erase */
            expect_eperm(erase(fx, w->key, id, "not yours"), "ERASE", w);
    }
    /* Senders refused for INSPECT with the org they name. */
    static const who_t not_inspector[] = {
        {K_ISSUER1, "ORG1"},   {K_HOLDER, "INSP1"},    {K_HOLDER2, "INSP1"}, {K_STRANGER, "INSP1"},
        {K_INSPECTOR, "ORG1"}, {K_OTHERTYPE, "INSP1"}, {K_REVOKED, "INSP1"}, {K_WRONGROLE, "INSP1"},
    };
    for (size_t i = 0; i < sizeof not_inspector / sizeof not_inspector[0]; i++) {
        const who_t *w = &not_inspector[i];
        expect_eperm(inspect(fx, w->key, K_HOLDER, w->org, id, "x"), "INSPECT", w);
    }
    /* Senders refused for ACK: anyone but the holder, the issuing agency included. */
    static const who_t not_holder[] = {
        {K_HOLDER2, NULL},   {K_STRANGER, NULL}, {K_ISSUER1, NULL},
        {K_INSPECTOR, NULL}, {K_REVOKED, NULL},
    };
    for (size_t i = 0; i < sizeof not_holder / sizeof not_holder[0]; i++)
        expect_eperm(update(fx, EC_STX_ACK, not_holder[i].key, id, NULL, 0, NULL), "ACK",
                     &not_holder[i]);
    /* Nothing above left a trace. */
    side_commit(fx);
    const msgpack_object *r = NULL;
    assert_int_equal(query_cert(fx, id, &r), 0);
    assert_str(el(r, 7), "issued");
    assert_int_equal(el(r, 9)->via.u64, 1);
    assert_bin(el(r, 8), s_payload, sizeof s_payload);
    assert_false(el(r, 11)->via.boolean);

    /* The senders each rule admits. */
    assert_int_equal(inspect(fx, K_INSPECTOR, K_HOLDER, "INSP1", id, "compliant"), 0);
    assert_int_equal(inspect(fx, K_WRONGROLE, K_HOLDER, "ORG1", id, "compliant"), 0);
    assert_int_equal(update(fx, EC_STX_ACK, K_HOLDER, id, NULL, 0, NULL), 0);
    assert_int_equal(update(fx, EC_STX_RENEW, K_ISSUER1, id, NULL, 0, NULL), 0);
    assert_int_equal(update(fx, EC_STX_CHANGE, K_ISSUER1, id, payload2, sizeof payload2, NULL), 0);
    assert_int_equal(erase(fx, K_ISSUER1, id, "court order"), 0);
    assert_int_equal(update(fx, EC_STX_REVOKE, K_ISSUER1, id, NULL, 0, NULL), 0);
    /* id2 was issued by REVOKED: its org's current agency, or its holder, act on it now */
    expect_eperm(erase(fx, K_REVOKED, id2, "mine"), "ERASE", &(who_t){K_REVOKED, "ORG1"});
    assert_int_equal(update(fx, EC_STX_RENEW, K_ISSUER1, id2, NULL, 0, NULL), 0);
    assert_int_equal(erase(fx, K_HOLDER2, id2, "right to erasure"), 0);
    side_commit(fx);
    assert_int_equal(query_cert(fx, id, &r), 0);
    assert_str(el(r, 7), "revoked");
    assert_int_equal(el(r, 9)->via.u64, 3);
    assert_true(el(r, 11)->via.boolean);
}

/* A failed transaction leaves no trace in the state root: the same successful
 * transactions give the same digest with or without failed ones between them. */
/* An EVIDENCE of `root` with `count` and `note`, sent by key k; status into st. */
static int evidence_tx(fx_t *fx, int k, const uint8_t root[EC_HASH_BYTES], uint64_t count,
                       const char *note, uint8_t id[EC_HASH_BYTES], ec_status_t *st)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 3); /* written by hand: the tests send what the encoder would refuse */
    ec_write_bin(&w, root, EC_HASH_BYTES);
    ec_write_uint(&w, count);
    ec_write_cstr(&w, note);
    int rc = side_tx_ex(fx, true, EC_STX_EVIDENCE, k, &w, NULL, 0, true, id, st);
    ec_writer_fini(&w);
    return rc;
}

/* Evidence deposits: anyone deposits a batch root, once per key (no role, no account, no
 * fresh mirror needed); the same key depositing it again is refused, saying when, in the
 * same block or a later one, and leaves no trace; another key depositing the same root
 * makes its own deposit (it cannot take one's place); bad bodies are refused before any
 * block; the `evidence` query serves [height, tx_id, count] per root and key. */
static void test_evidence(void **state)
{
    fx_t *fx = *state;
    uint8_t root[EC_HASH_BYTES], root2[EC_HASH_BYTES], id[EC_HASH_BYTES], id2[EC_HASH_BYTES];
    uint8_t id3[EC_HASH_BYTES];
    ec_sha256(root, "batch one", 9);
    ec_sha256(root2, "batch two", 9);
    ec_status_t st;
    uint64_t h1 = fx->ctx.height;
    /* K_STRANGER holds no role and is no account. */
    assert_int_equal(evidence_tx(fx, K_STRANGER, root, 1000, "Q3 invoices", id, &st), 0);
    assert_int_equal(evidence_tx(fx, K_HOLDER, root2, 1, "", id2, &st), 0);
    uint8_t d1[EC_HASH_BYTES], d2[EC_HASH_BYTES];
    ec_ledger_state_digest(fx->ledger, d1);
    /* The same root by the same key in the same block: the pending write is seen. */
    assert_int_equal(evidence_tx(fx, K_STRANGER, root, 1000, "again", NULL, &st), EC_EEXIST);
    ec_ledger_state_digest(fx->ledger, d2);
    assert_memory_equal(d1, d2, EC_HASH_BYTES);
    /* Another key copying it deposits it as its own. */
    assert_int_equal(evidence_tx(fx, K_HOLDER, root, 1000, "copied", id3, &st), 0);
    side_commit(fx);
    /* And in a later block, whatever the count or note: the message says when. */
    assert_int_equal(evidence_tx(fx, K_STRANGER, root, 7, "x", NULL, &st), EC_EEXIST);
    char want[64];
    snprintf(want, sizeof want, "already, at height %llu", (unsigned long long)h1);
    assert_non_null(strstr(st.msg, want));

    /* The query, per root and key. */
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 2);
    ec_write_bin(&a, root, EC_HASH_BYTES);
    ec_write_bin(&a, ec_key_pk(fx->keys[K_STRANGER]), EC_PK_BYTES);
    const msgpack_object *r = NULL;
    assert_int_equal(query(fx, "evidence", &a, &r), 0);
    assert_int_equal(r->via.array.size, 3);
    assert_int_equal(el(r, 0)->via.u64, h1);
    assert_bin(el(r, 1), id, EC_HASH_BYTES);
    assert_int_equal(el(r, 2)->via.u64, 1000);
    ec_writer_reset(&a);
    ec_write_array(&a, 2);
    ec_write_bin(&a, root, EC_HASH_BYTES);
    ec_write_bin(&a, ec_key_pk(fx->keys[K_HOLDER]), EC_PK_BYTES);
    assert_int_equal(query(fx, "evidence", &a, &r), 0);
    assert_bin(el(r, 1), id3, EC_HASH_BYTES);
    ec_writer_reset(&a);
    ec_write_array(&a, 2);
    ec_write_bin(&a, root2, EC_HASH_BYTES);
    ec_write_bin(&a, ec_key_pk(fx->keys[K_HOLDER]), EC_PK_BYTES);
    assert_int_equal(query(fx, "evidence", &a, &r), 0);
    assert_bin(el(r, 1), id2, EC_HASH_BYTES);
    assert_int_equal(el(r, 2)->via.u64, 1);
    ec_writer_reset(&a);
    ec_write_array(&a, 2);
    ec_write_bin(&a, root2, EC_HASH_BYTES);
    ec_write_bin(&a, ec_key_pk(fx->keys[K_STRANGER]), EC_PK_BYTES);
    assert_int_equal(query(fx, "evidence", &a, &r), EC_ENOTFOUND);
    uint8_t never[EC_HASH_BYTES];
    ec_sha256(never, "never", 5);
    ec_writer_reset(&a);
    ec_write_array(&a, 2);
    ec_write_bin(&a, never, 31);
    ec_write_bin(&a, ec_key_pk(fx->keys[K_HOLDER]), EC_PK_BYTES);
    assert_int_equal(query(fx, "evidence", &a, &r), EC_EINVAL);
    ec_writer_reset(&a);
    ec_write_array(&a, 1);
    ec_write_bin(&a, never, EC_HASH_BYTES);
    assert_int_equal(query(fx, "evidence", &a, &r), EC_EINVAL);
    ec_writer_fini(&a);

    /* Bodies the reader refuses, before any block (check_tx). */
    assert_int_equal(evidence_tx(fx, K_HOLDER, never, 0, "", NULL, &st), EC_EINVAL);
    assert_non_null(strstr(st.msg, "EVIDENCE body must be"));
    assert_int_equal(evidence_tx(fx, K_HOLDER, never, EC_EVIDENCE_BATCH_MAX + 1ull, "", NULL, &st),
                     EC_EINVAL);
    assert_int_equal(evidence_tx(fx, K_HOLDER, never, 1, "bell\a", NULL, &st), EC_EINVAL);
    assert_int_equal(evidence_tx(fx, K_HOLDER, never, EC_EVIDENCE_BATCH_MAX, "", NULL, &st), 0);
    /* No payload goes with a deposit (the files never leave their owner). */
    ec_writer_t w;
    ec_writer_init(&w);
    ec_evidence_body_t b = {.count = 1};
    ec_sha256(b.root, "with payload", 12);
    ec_evidence_body_encode(&w, &b);
    assert_int_equal(side_tx_ex(fx, true, EC_STX_EVIDENCE, K_HOLDER, &w, s_payload,
                                sizeof s_payload, true, NULL, &st),
                     EC_EINVAL);
    assert_non_null(strstr(st.msg, "takes no payload"));
    ec_writer_fini(&w);
    side_commit(fx);
}

static void test_failed_tx_leaves_no_trace(void **state)
{
    fx_t *fx = *state;
    uint8_t d1[EC_HASH_BYTES], d2[EC_HASH_BYTES];
    ec_ledger_state_digest(fx->ledger, d1);
    assert_int_equal(issue(fx, K_ISSUER2, K_HOLDER, "ORG1", NULL), EC_EPERM);
    assert_int_equal(inspect(fx, K_INSPECTOR, K_HOLDER, "INSP1", d1, "x"), EC_ENOTFOUND);
    ec_ledger_state_digest(fx->ledger, d2);
    assert_memory_equal(d1, d2, EC_HASH_BYTES);
}

/* ISSUE is the platform's hot path: one full-size block of issuances, delivered as the
 * engine does (decoded beforehand, one save point each), all succeed and are stored. How
 * fast this runs is measured by ecert-bench (docs/PERFORMANCE.md), not here. */
static void test_issue_big_block(void **state)
{
    fx_t *fx = *state;
    enum { N = 5000 };
    ec_writer_t body;
    ec_writer_init(&body);
    issue_body(fx, &body, K_HOLDER, "ORG1");
    uint8_t ph[EC_HASH_BYTES];
    ec_sha256(ph, s_payload, sizeof s_payload);
    uint8_t **env = calloc(N, sizeof *env);
    size_t *env_size = calloc(N, sizeof *env_size);
    ec_tx_t *txs = calloc(N, sizeof *txs);
    assert_non_null(env);
    assert_non_null(env_size);
    assert_non_null(txs);
    for (int i = 0; i < N; i++) {
        ec_tx_build(&fx->env, NULL, SIDE_ID, EC_STX_ISSUE, fx->keys[K_ISSUER1], 1000000 + i, ph,
                    ec_writer_data(&body), ec_writer_size(&body));
        env[i] = ec_writer_take(&fx->env, &env_size[i]);
        assert_int_equal(ec_tx_decode(&txs[i], env[i], env_size[i]), 0);
    }
    ec_status_t st;
    for (int i = 0; i < N; i++) {
        ec_ledger_savepoint(fx->ledger);
        assert_int_equal(
            fx->app->deliver_tx(fx->app->self, &fx->ctx, &txs[i], s_payload, sizeof s_payload, &st),
            0);
    }
    uint64_t h = fx->ctx.height;
    side_commit(fx);
    /* Every certificate of the block is stored, the first and the last included. */
    const msgpack_object *r = NULL;
    assert_int_equal(query_cert(fx, txs[0].id, &r), 0);
    assert_int_equal(el(r, 4)->via.u64, h);
    assert_int_equal(query_cert(fx, txs[N - 1].id, &r), 0);
    assert_int_equal(el(r, 4)->via.u64, h);
    assert_str(el(r, 7), "issued");
    for (int i = 0; i < N; i++) {
        ec_tx_fini(&txs[i]);
        free(env[i]);
    }
    free(txs);
    free(env);
    free(env_size);
    ec_writer_fini(&body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_refuses_bad_genesis, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mirror_and_role_queries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_anchor_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_anchor_wrong_chain_and_check_tx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fork_freezes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validator_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contracts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contract_escalation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_app_license, setup, teardown),
        cmocka_unit_test_setup_teardown(test_app_invoice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_app_sharing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_main_valset_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_issue_and_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_issue_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_issue_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inspect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renew_change_revoke, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_erase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_list_at_height, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_list_pruned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_certs_by_holder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_erase_by_holder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_erase_by_agency, setup, teardown),
        cmocka_unit_test_setup_teardown(test_erase_state_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_erase_payload_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_authorization, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_tx_leaves_no_trace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evidence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_issue_big_block, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
