/*
 * test_mainchain.c - the main-chain application (mainchain/mc_app.c) driven directly, the
 * way the engine drives it but without sockets: a real ledger in a temporary directory,
 * real signed transactions (ec_tx_build + ec_tx_decode), check_tx, deliver_tx inside save
 * points, end_block and ec_ledger_write. Anchors use a real tiny side chain: headers with
 * correct hist roots and commits signed by the side validator of the registered genesis.
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

#include "ec_body.h"
#include "ec_chain.h"
#include "ec_ledger.h"
#include "ec_mlog.h"
#include "mc_app.h"
#include "test_util.h"

#define MAIN_ID "ecert-main-test"
#define SIDE_ID "ecert-degree-test"
#define SIDE_BLOCKS 8
#define HEIGHTS_MAX 64

typedef struct {
    char dir[64];
    ec_ledger_t *l;
    ec_app_t *app;
    ec_genesis_t g;
    uint8_t ghash[EC_HASH_BYTES];
    ec_key_t *op, *op2, *val, *alice, *bob, *carol, *ca, *side_val, *stranger;
    ec_block_ctx_t ctx;
    uint64_t nonce;
    uint8_t roots[HEIGHTS_MAX][EC_HASH_BYTES]; /* state root returned for each height     */
    ec_status_t st;                            /* status of the last transaction          */
    uint8_t vs_hash[EC_HASH_BYTES];            /* set by s_sidechain_light                */
    ec_valset_t next_valset;                   /* ctx.next_valset points here             */
    uint8_t last_id[EC_HASH_BYTES];            /* id of the last transaction built        */
} fx_t;

/* A side chain built in memory: headers 1..SIDE_BLOCKS, hashes[0] = its genesis hash. */
typedef struct {
    ec_genesis_t g;
    uint8_t *genesis;
    size_t genesis_size;
    ec_header_t h[SIDE_BLOCKS + 1];
    uint8_t hashes[SIDE_BLOCKS + 1][EC_HASH_BYTES];
    ec_hash32_t leaves[SIDE_BLOCKS + 1];
} side_t;

static void s_addr(char out[EC_ADDR_MAX], const ec_key_t *k)
{
    ec_address_from_pk(out, ec_key_pk(k));
}

static int s_setup(void **state)
{
    assert_int_equal(ec_crypto_init(), 0);
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->l = tu_ledger_make(fx->dir, sizeof fx->dir, "ec-mc");
    ec_status_t st;
    fx->op = tu_key(1);
    fx->val = tu_key(2);
    fx->alice = tu_key(3);
    fx->bob = tu_key(4);
    fx->carol = tu_key(5);
    fx->ca = tu_key(6);
    fx->side_val = tu_key(7);
    fx->stranger = tu_key(8);
    fx->op2 = tu_key(9);
    strcpy(fx->g.chain_id, MAIN_ID);
    fx->g.kind = EC_CHAIN_MAIN;
    fx->g.time_ms = 1700000000000ull;
    fx->g.validators.count = 1;
    memcpy(fx->g.validators.v[0].pk, ec_key_pk(fx->val), EC_PK_BYTES);
    fx->g.validators.v[0].power = 1;
    fx->g.operator_count = 2; /* the second, op2, checks that every operator counts */
    fx->g.operator_quorum = 1;
    memcpy(fx->g.operators[0], ec_key_pk(fx->op), EC_PK_BYTES);
    memcpy(fx->g.operators[1], ec_key_pk(fx->op2), EC_PK_BYTES);
    ec_genesis_hash(fx->ghash, &fx->g);
    fx->app = mc_app_new(&fx->g, &st);
    assert_non_null(fx->app);
    fx->ctx.genesis = &fx->g;
    fx->ctx.ledger = fx->l;
    fx->ctx.height = 1;
    fx->ctx.time_ms = fx->g.time_ms + 1000;
    fx->next_valset = fx->g.validators;
    fx->ctx.next_valset = &fx->next_valset;
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fx_t *fx = *state;
    mc_app_free(fx->app);
    ec_ledger_destroy(&fx->l);
    ec_key_t **keys[] = {&fx->op,    &fx->op2, &fx->val,      &fx->alice,   &fx->bob,
                         &fx->carol, &fx->ca,  &fx->side_val, &fx->stranger};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        ec_key_destroy(keys[i]);
    tu_tmpdir_remove(fx->dir);
    free(fx);
    return 0;
}

/*
 * Builds, decodes and runs one transaction like the engine: check_tx, then deliver_tx in
 * a save point, rolled back on failure. A body refused by check_tx must be refused by
 * deliver_tx too, with the same code (blocks from other proposers are re-checked there).
 */
static int s_tx_on(fx_t *fx, const char *chain_id, const ec_key_t *key, uint64_t type,
                   const ec_writer_t *body, const uint8_t *payload, size_t payload_size)
{
    ec_writer_t env;
    ec_writer_init(&env);
    uint8_t ph[EC_HASH_BYTES];
    if (payload)
        ec_sha256(ph, payload, payload_size);
    ec_tx_build(&env, NULL, chain_id, type, key, ++fx->nonce, payload ? ph : NULL,
                ec_writer_data(body), ec_writer_size(body));
    ec_tx_t tx;
    int drc = ec_tx_decode(&tx, ec_writer_data(&env), ec_writer_size(&env));
    if (drc == 0)
        memcpy(fx->last_id, tx.id, EC_HASH_BYTES);
    if (drc != 0) {
        /* The engine refuses such a transaction before the app sees it (e.g. a name that
         * is not UTF-8 fails the codec's str check): that is the refusal. */
        ec_writer_fini(&env);
        return drc;
    }
    ec_status_t cst;
    ec_status_clear(&cst);
    ec_status_clear(&fx->st);
    int crc = fx->app->check_tx(fx->app->self, &tx, payload, payload_size, &cst);
    uint8_t before[EC_HASH_BYTES], after[EC_HASH_BYTES];
    ec_ledger_state_digest(fx->l, before);
    uint32_t anchors = fx->ctx.anchor_count;
    ec_ledger_savepoint(fx->l);
    int rc = fx->app->deliver_tx(fx->app->self, &fx->ctx, &tx, payload, payload_size, &fx->st);
    if (rc != 0) {
        ec_ledger_rollback(fx->l);
        ec_ledger_state_digest(fx->l, after);
        assert_memory_equal(before, after, EC_HASH_BYTES);
        assert_int_equal(fx->ctx.anchor_count, anchors);
        assert_int_equal(fx->st.code, rc);
        assert_true(fx->st.msg[0] != 0);
    }
    if (crc != 0) {
        assert_int_equal(cst.code, crc);
        assert_true(cst.msg[0] != 0);
        assert_int_equal(rc, crc);
    }
    ec_tx_fini(&tx);
    ec_writer_fini(&env);
    return rc;
}

static int s_tx(fx_t *fx, const ec_key_t *key, uint64_t type, const ec_writer_t *body)
{
    return s_tx_on(fx, MAIN_ID, key, type, body, NULL, 0);
}

/* Ends the block, writes it, and starts the next one. */
static void s_commit(fx_t *fx)
{
    uint64_t h = fx->ctx.height;
    assert_true(h < HEIGHTS_MAX);
    assert_int_equal(fx->app->end_block(fx->app->self, &fx->ctx, fx->roots[h]), 0);
    assert_int_equal(ec_ledger_write(fx->l, h), 0);
    fx->ctx.height = h + 1;
    fx->ctx.time_ms += 1000;
    fx->ctx.anchor_count = 0;
    fx->ctx.valset_changed = false; /* the engine applies the change to its sets */
}

/* ---- bodies ------------------------------------------------------------------------------ */

static int s_register(fx_t *fx, const ec_key_t *key, const char *name)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 1);
    ec_write_str(&w, name, strlen(name));
    int rc = s_tx(fx, key, EC_MTX_REGISTER, &w);
    ec_writer_fini(&w);
    return rc;
}

static int s_org(fx_t *fx, const ec_key_t *key, const char *code, const char *name)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 3);
    ec_write_cstr(&w, code);
    ec_write_cstr(&w, name);
    ec_write_uint(&w, EC_BILLING_COMMERCIAL);
    int rc = s_tx(fx, key, EC_MTX_ORG, &w);
    ec_writer_fini(&w);
    return rc;
}

static int s_role_addr(fx_t *fx, const ec_key_t *key, bool grant, const char *addr, uint64_t role,
                       const char *cert_type, const char *org_code)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 4);
    ec_write_cstr(&w, addr);
    ec_write_uint(&w, role);
    ec_write_cstr(&w, cert_type);
    ec_write_cstr(&w, org_code);
    int rc = s_tx(fx, key, grant ? EC_MTX_ROLE_GRANT : EC_MTX_ROLE_REVOKE, &w);
    ec_writer_fini(&w);
    return rc;
}

static int s_role(fx_t *fx, const ec_key_t *key, bool grant, const ec_key_t *target, uint64_t role,
                  const char *cert_type, const char *org_code)
{
    char addr[EC_ADDR_MAX];
    s_addr(addr, target);
    return s_role_addr(fx, key, grant, addr, role, cert_type, org_code);
}

static int s_attest(fx_t *fx, const ec_key_t *key, const ec_key_t *target, uint8_t id)
{
    char addr[EC_ADDR_MAX];
    s_addr(addr, target);
    uint8_t idh[EC_HASH_BYTES];
    memset(idh, id, sizeof idh);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 2);
    ec_write_cstr(&w, addr);
    ec_write_bin(&w, idh, sizeof idh);
    int rc = s_tx(fx, key, EC_MTX_ATTEST, &w);
    ec_writer_fini(&w);
    return rc;
}

static int s_sidechain_raw(fx_t *fx, const ec_key_t *key, const uint8_t *g, size_t size)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 1);
    ec_write_bin(&w, g, size);
    int rc = s_tx(fx, key, EC_MTX_SIDECHAIN, &w);
    ec_writer_fini(&w);
    return rc;
}

static int s_sidechain(fx_t *fx, const ec_key_t *key, const ec_genesis_t *g)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_genesis_encode(&w, g);
    int rc = s_sidechain_raw(fx, key, ec_writer_data(&w), ec_writer_size(&w));
    ec_writer_fini(&w);
    return rc;
}

/* SIDECHAIN_UPDATE of chain_id to `vs` (NULL: an empty set). */
static int s_side_update(fx_t *fx, const ec_key_t *key, const char *chain_id, const ec_valset_t *vs,
                         bool unfreeze)
{
    ec_valset_t empty = {0};
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 3);
    ec_write_cstr(&w, chain_id);
    ec_valset_encode(&w, vs ? vs : &empty);
    ec_write_bool(&w, unfreeze);
    int rc = s_tx(fx, key, EC_MTX_SIDECHAIN_UPDATE, &w);
    ec_writer_fini(&w);
    return rc;
}

/* ---- queries ----------------------------------------------------------------------------- */

typedef struct {
    ec_writer_t out;
    ec_decoder_t dec;
    const msgpack_object *root;
    ec_status_t st;
} q_t;

/* Runs a query; args are one encoded array in `args`. On success q->root is the result. */
static int s_query(fx_t *fx, q_t *q, const char *path, const ec_writer_t *args)
{
    ec_writer_init(&q->out);
    ec_decoder_init(&q->dec);
    ec_decoder_t ad;
    ec_decoder_init(&ad);
    const msgpack_object *aroot = NULL;
    assert_int_equal(ec_decode(&ad, ec_writer_data(args), ec_writer_size(args), &aroot), 0);
    ec_status_clear(&q->st);
    int rc = fx->app->query(fx->app->self, fx->l, path, aroot, &q->out, &q->st);
    ec_decoder_fini(&ad);
    q->root = NULL;
    if (rc == 0)
        assert_int_equal(
            ec_decode(&q->dec, ec_writer_data(&q->out), ec_writer_size(&q->out), &q->root), 0);
    else
        assert_int_equal(q->st.code, rc);
    return rc;
}

static void s_q_fini(q_t *q)
{
    ec_writer_fini(&q->out);
    ec_decoder_fini(&q->dec);
}

static int s_query_str(fx_t *fx, q_t *q, const char *path, const char *arg)
{
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 1);
    ec_write_cstr(&a, arg);
    int rc = s_query(fx, q, path, &a);
    ec_writer_fini(&a);
    return rc;
}

typedef struct {
    char address[EC_ADDR_MAX];
    char name[EC_NAME_MAX];
    uint8_t pk[EC_PK_BYTES];
    uint64_t height;
    bool attested;
    uint32_t role_count;
    uint64_t roles[8];
    char cert_types[8][EC_CERT_TYPE_MAX];
    char org_codes[8][EC_ORG_CODE_MAX];
    uint8_t key[EC_PK_BYTES]; /* the signing key                                   */
    bool recovery;            /* a recovery is pending                             */
    uint8_t recovery_key[EC_PK_BYTES];
    uint64_t recovery_ready_ms;
} acct_t;

static int s_account(fx_t *fx, const ec_key_t *k, acct_t *a)
{
    char addr[EC_ADDR_MAX];
    s_addr(addr, k);
    q_t q;
    memset(a, 0, sizeof *a);
    int rc = s_query_str(fx, &q, "account", addr);
    if (rc == 0) {
        ec_cur_t c, roles;
        ec_cur_open(&c, q.root, 8);
        ec_cur_str_copy(&c, a->address, sizeof a->address);
        ec_cur_str_copy(&c, a->name, sizeof a->name);
        ec_cur_bin_fixed(&c, a->pk, EC_PK_BYTES);
        ec_cur_uint(&c, &a->height);
        ec_cur_bool(&c, &a->attested);
        ec_cur_enter_max(&c, &roles, 8);
        a->role_count = roles.count;
        for (uint32_t i = 0; i < roles.count; i++) {
            ec_cur_t r;
            ec_cur_enter(&roles, &r, 3);
            ec_cur_uint(&r, &a->roles[i]);
            ec_cur_str_copy(&r, a->cert_types[i], EC_CERT_TYPE_MAX);
            ec_cur_str_copy(&r, a->org_codes[i], EC_ORG_CODE_MAX);
            ec_cur_fold(&roles, &r);
        }
        ec_cur_fold(&c, &roles);
        ec_cur_bin_fixed(&c, a->key, EC_PK_BYTES);
        a->recovery = !ec_cur_peek_nil(&c);
        if (a->recovery) {
            ec_cur_t r;
            ec_cur_enter(&c, &r, 2);
            ec_cur_bin_fixed(&r, a->recovery_key, EC_PK_BYTES);
            ec_cur_uint(&r, &a->recovery_ready_ms);
            ec_cur_fold(&c, &r);
        } else {
            ec_cur_nil(&c);
        }
        assert_int_equal(ec_cur_finish(&c), 0);
        assert_string_equal(a->address, addr);
    }
    s_q_fini(&q);
    return rc;
}

/* Fetches records [from, from+max) as of `height`; checks every proof; returns the count
 * of records returned (or a negative code). recs receives the decoded records. */
static int s_records(fx_t *fx, uint64_t height, uint64_t from, uint64_t max, ec_record_t *recs,
                     size_t recs_cap, uint64_t *count_out)
{
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 3);
    ec_write_uint(&a, height);
    ec_write_uint(&a, from);
    ec_write_uint(&a, max);
    q_t q;
    int rc = s_query(fx, &q, "records", &a);
    ec_writer_fini(&a);
    if (rc != 0) {
        s_q_fini(&q);
        return rc;
    }
    ec_cur_t c, list;
    uint64_t count = 0;
    uint8_t root[EC_HASH_BYTES], digest[EC_HASH_BYTES], sr[EC_HASH_BYTES];
    ec_cur_open(&c, q.root, 4);
    ec_cur_uint(&c, &count);
    ec_cur_bin_fixed(&c, root, EC_HASH_BYTES);
    ec_cur_bin_fixed(&c, digest, EC_HASH_BYTES);
    ec_cur_enter_max(&c, &list, 256);
    /* The three values rebuild the state root the block header carries. */
    ec_main_state_root(sr, root, count, digest);
    assert_memory_equal(sr, fx->roots[height], EC_HASH_BYTES);
    int n = (int)list.count;
    for (uint32_t i = 0; i < list.count; i++) {
        ec_cur_t item;
        const uint8_t *rb = NULL;
        size_t rs = 0, plen = 0;
        ec_hash32_t path[EC_MERKLE_PROOF_MAX];
        ec_cur_enter(&list, &item, 2);
        ec_cur_bin(&item, &rb, &rs, 4096);
        ec_cur_path(&item, path, &plen);
        assert_int_equal(ec_cur_finish(&item), 0);
        ec_record_t r;
        assert_int_equal(ec_record_decode(&r, rb, rs), 0);
        assert_int_equal(r.seq, from + i);
        uint8_t leaf[EC_HASH_BYTES];
        ec_record_leaf(leaf, rb, rs);
        assert_int_equal(ec_merkle_inclusion_verify(leaf, r.seq, count, path, plen, root), 0);
        /* A changed record no longer verifies. */
        leaf[0] ^= 1;
        assert_int_equal(ec_merkle_inclusion_verify(leaf, r.seq, count, path, plen, root),
                         EC_EPROOF);
        if (i < recs_cap)
            recs[i] = r;
        ec_cur_fold(&list, &item);
    }
    ec_cur_fold(&c, &list);
    assert_int_equal(ec_cur_finish(&c), 0);
    if (count_out)
        *count_out = count;
    s_q_fini(&q);
    return n;
}

/* ---- tests: REGISTER ---------------------------------------------------------------------- */

static void test_register(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(s_register(fx, fx->alice, "Alice"), 0);
    assert_int_equal(s_register(fx, fx->alice, "Alice again"), EC_EEXIST);
    assert_non_null(strstr(fx->st.msg, "already registered"));
    s_commit(fx);
    assert_int_equal(s_register(fx, fx->alice, "Alice"), EC_EEXIST);

    /* Names: 1..127 bytes of UTF-8 without control characters. */
    assert_int_equal(s_register(fx, fx->bob, ""), EC_EINVAL);
    char big[EC_NAME_MAX + 1];
    memset(big, 'b', EC_NAME_MAX);
    big[EC_NAME_MAX] = 0;
    assert_int_equal(s_register(fx, fx->bob, big), EC_ETOOBIG);
    const char *bad[] = {"\xff",
                         "a\x01",
                         "tab\there",
                         "del\x7f",
                         "c1\xc2\x85",
                         "overlong\xc0\xaf",
                         "surrogate\xed\xa0\x80",
                         "cut\xe4\xb8",
                         "big\xf4\x90\x80\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(s_register(fx, fx->bob, bad[i]), EC_EINVAL);
    big[EC_NAME_MAX - 1] = 0; /* 127 bytes: the longest allowed */
    assert_int_equal(s_register(fx, fx->bob, big), 0);
    assert_int_equal(
        s_register(fx, fx->carol, "Zo\xc3\xab \xe5\xbc\xa0\xe4\xb8\x89 \xf0\x9f\x98\x80"), 0);

    /* Body shape: exact field count and types. */
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 2);
    ec_write_cstr(&w, "x");
    ec_write_cstr(&w, "y");
    assert_int_equal(s_tx(fx, fx->stranger, EC_MTX_REGISTER, &w), EC_EINVAL);
    ec_writer_reset(&w);
    ec_write_array(&w, 1);
    ec_write_uint(&w, 7);
    assert_int_equal(s_tx(fx, fx->stranger, EC_MTX_REGISTER, &w), EC_EINVAL);
    ec_writer_fini(&w);
    s_commit(fx);

    acct_t a;
    assert_int_equal(s_account(fx, fx->alice, &a), 0);
    assert_string_equal(a.name, "Alice");
    assert_memory_equal(a.pk, ec_key_pk(fx->alice), EC_PK_BYTES);
    assert_int_equal(a.height, 1);
    assert_false(a.attested);
    assert_int_equal(a.role_count, 0);
    assert_int_equal(s_account(fx, fx->bob, &a), 0);
    assert_int_equal(strlen(a.name), EC_NAME_MAX - 1);
    assert_int_equal(a.height, 2);
    assert_int_equal(s_account(fx, fx->stranger, &a), EC_ENOTFOUND);
}

/* ---- tests: envelope and unknown types ----------------------------------------------------- */

static void test_envelope(void **state)
{
    fx_t *fx = *state;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 1);
    ec_write_cstr(&w, "Alice");
    assert_int_equal(s_tx_on(fx, "ecert-other", fx->alice, EC_MTX_REGISTER, &w, NULL, 0),
                     EC_ECHAIN);
    const uint8_t payload[4] = {1, 2, 3, 4};
    assert_int_equal(s_tx_on(fx, MAIN_ID, fx->alice, EC_MTX_REGISTER, &w, payload, 4), EC_EINVAL);
    assert_int_equal(s_tx(fx, fx->alice, 99, &w), EC_EINVAL);
    assert_int_equal(s_tx(fx, fx->alice, 0, &w), EC_EINVAL);
    ec_writer_fini(&w);
    /* Nothing above left a trace: alice can still register. */
    assert_int_equal(s_register(fx, fx->alice, "Alice"), 0);
}

/* ---- tests: ORG --------------------------------------------------------------------------- */

static void test_org(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(s_org(fx, fx->alice, "ORG-1", "First Org"), EC_EPERM);
    assert_non_null(strstr(fx->st.msg, "not an operator"));
    assert_int_equal(s_org(fx, fx->op, "", "Empty"), EC_EINVAL);
    assert_int_equal(s_org(fx, fx->op, "bad code", "Space"), EC_EINVAL);
    assert_int_equal(s_org(fx, fx->op, "bad_code", "Underscore"), EC_EINVAL);
    assert_int_equal(s_org(fx, fx->op, "0123456789012345678901234567890123", "Long"), EC_ETOOBIG);
    assert_int_equal(s_org(fx, fx->op, "ORG-1", ""), EC_EINVAL);
    assert_int_equal(s_org(fx, fx->op, "ORG-1", "First Org"), 0);
    assert_int_equal(s_org(fx, fx->op, "ORG-1", "Again"), EC_EEXIST);
    assert_int_equal(s_org(fx, fx->op, "91350100M000100Y43", "Credit Code Org"), 0);
    s_commit(fx);
    assert_int_equal(s_org(fx, fx->op, "ORG-1", "Again"), EC_EEXIST);

    q_t q;
    assert_int_equal(s_query_str(fx, &q, "org", "ORG-1"), 0);
    ec_cur_t c;
    char code[EC_ORG_CODE_MAX], name[EC_NAME_MAX];
    uint64_t height = 0;
    char billing[16];
    ec_cur_open(&c, q.root, 4);
    ec_cur_str_copy(&c, code, sizeof code);
    ec_cur_str_copy(&c, name, sizeof name);
    ec_cur_uint(&c, &height);
    ec_cur_str_copy(&c, billing, sizeof billing);
    assert_int_equal(ec_cur_finish(&c), 0);
    assert_string_equal(code, "ORG-1");
    assert_string_equal(name, "First Org");
    assert_int_equal(height, 1);
    assert_string_equal(billing, "commercial");
    s_q_fini(&q);
    /* a billing class that is neither public service (0) nor commercial (1) */
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 3);
    ec_write_cstr(&w, "ORG-2");
    ec_write_cstr(&w, "Second Org");
    ec_write_uint(&w, 2);
    assert_int_equal(s_tx(fx, fx->op, EC_MTX_ORG, &w), EC_EINVAL);
    ec_writer_fini(&w);
    assert_int_equal(s_query_str(fx, &q, "org", "NOPE"), EC_ENOTFOUND);
    s_q_fini(&q);
}

/* ---- tests: ROLE_GRANT / ROLE_REVOKE and their records ------------------------------------ */

static void test_roles(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(s_register(fx, fx->alice, "Alice"), 0);
    assert_int_equal(s_org(fx, fx->op, "ORG-1", "First Org"), 0);
    s_commit(fx);

    assert_int_equal(s_role(fx, fx->alice, true, fx->alice, EC_ROLE_CA, "", ""), EC_EPERM);
    assert_int_equal(s_role(fx, fx->op, true, fx->bob, EC_ROLE_CA, "", ""), EC_ENOTFOUND);
    assert_non_null(strstr(fx->st.msg, "not registered"));
    assert_int_equal(s_role(fx, fx->op, true, fx->alice, EC_ROLE_ISSUER, "", "ORG-1"), EC_EINVAL);
    assert_int_equal(s_role(fx, fx->op, true, fx->alice, EC_ROLE_INSPECTOR, "degree", ""),
                     EC_EINVAL);
    assert_int_equal(s_role(fx, fx->op, true, fx->alice, EC_ROLE_ISSUER, "degree", "NOPE"),
                     EC_ENOTFOUND);
    assert_non_null(strstr(fx->st.msg, "NOPE"));
    assert_int_equal(s_role(fx, fx->op, true, fx->alice, EC_ROLE_CA, "degree", ""), EC_EINVAL);
    assert_int_equal(s_role(fx, fx->op, true, fx->alice, EC_ROLE_SUPERVISOR, "", "NOPE"),
                     EC_ENOTFOUND);
    assert_int_equal(s_role(fx, fx->op, true, fx->alice, 0, "", ""), EC_EINVAL);
    assert_int_equal(s_role(fx, fx->op, true, fx->alice, 5, "", ""), EC_EINVAL);
    assert_int_equal(s_role(fx, fx->op, true, fx->alice, EC_ROLE_ISSUER, "Bad Type", "ORG-1"),
                     EC_EINVAL);
    assert_int_equal(s_role_addr(fx, fx->op, true, "ec1notanaddress", EC_ROLE_CA, "", ""),
                     EC_EINVAL);

    assert_int_equal(s_role(fx, fx->op, true, fx->alice, EC_ROLE_ISSUER, "degree", "ORG-1"), 0);
    assert_int_equal(s_role(fx, fx->op, true, fx->alice, EC_ROLE_ISSUER, "degree", "ORG-1"),
                     EC_EEXIST);
    assert_int_equal(s_role(fx, fx->op, true, fx->alice, EC_ROLE_CA, "", ""), 0);
    assert_int_equal(s_role(fx, fx->op, true, fx->alice, EC_ROLE_SUPERVISOR, "", "ORG-1"), 0);
    assert_int_equal(s_role(fx, fx->op, false, fx->alice, EC_ROLE_INSPECTOR, "degree", "ORG-1"),
                     EC_ENOTFOUND);
    s_commit(fx);
    assert_int_equal(s_role(fx, fx->op, false, fx->alice, EC_ROLE_ISSUER, "degree", "ORG-1"), 0);
    assert_int_equal(s_role(fx, fx->op, false, fx->alice, EC_ROLE_ISSUER, "degree", "ORG-1"),
                     EC_ENOTFOUND);
    assert_int_equal(s_role(fx, fx->op, true, fx->alice, EC_ROLE_ISSUER, "marriage", "ORG-1"), 0);
    s_commit(fx);

    acct_t a;
    assert_int_equal(s_account(fx, fx->alice, &a), 0);
    assert_int_equal(a.role_count, 3);
    /* Key order: role byte, then cert_type, then org_code. */
    assert_int_equal(a.roles[0], EC_ROLE_CA);
    assert_string_equal(a.cert_types[0], "");
    assert_string_equal(a.org_codes[0], "");
    assert_int_equal(a.roles[1], EC_ROLE_ISSUER);
    assert_string_equal(a.cert_types[1], "marriage");
    assert_string_equal(a.org_codes[1], "ORG-1");
    assert_int_equal(a.roles[2], EC_ROLE_SUPERVISOR);
    assert_string_equal(a.org_codes[2], "ORG-1");

    /* Records: grant issuer, grant ca, grant supervisor, revoke issuer, grant issuer. */
    ec_record_t recs[8];
    uint64_t count = 0;
    assert_int_equal(s_records(fx, 3, 0, 100, recs, 8, &count), 5);
    assert_int_equal(count, 5);
    const uint32_t kinds[] = {EC_REC_ROLE_GRANT, EC_REC_ROLE_GRANT, EC_REC_ROLE_GRANT,
                              EC_REC_ROLE_REVOKE, EC_REC_ROLE_GRANT};
    const uint32_t roles[] = {EC_ROLE_ISSUER, EC_ROLE_CA, EC_ROLE_SUPERVISOR, EC_ROLE_ISSUER,
                              EC_ROLE_ISSUER};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(recs[i].seq, i);
        assert_int_equal(recs[i].kind, kinds[i]);
        assert_int_equal(recs[i].role, roles[i]);
        assert_memory_equal(recs[i].pk, ec_key_pk(fx->alice), EC_PK_BYTES);
    }
    assert_string_equal(recs[0].cert_type, "degree");
    assert_string_equal(recs[0].org_code, "ORG-1");
    assert_string_equal(recs[4].cert_type, "marriage");
    /* As of height 2 only the first three existed. */
    assert_int_equal(s_records(fx, 2, 0, 100, recs, 8, &count), 3);
    assert_int_equal(count, 3);
    /* As of height 1 none. */
    assert_int_equal(s_records(fx, 1, 0, 100, recs, 8, &count), 0);
    assert_int_equal(count, 0);
}

/* ---- tests: ATTEST ------------------------------------------------------------------------ */

static void test_attest(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(s_register(fx, fx->alice, "Alice"), 0);
    assert_int_equal(s_register(fx, fx->bob, "Bob"), 0);
    assert_int_equal(s_register(fx, fx->carol, "Carol"), 0);
    assert_int_equal(s_register(fx, fx->ca, "The CA"), 0);
    assert_int_equal(s_role(fx, fx->op, true, fx->ca, EC_ROLE_CA, "", ""), 0);
    s_commit(fx);

    assert_int_equal(s_attest(fx, fx->bob, fx->alice, 0xa1), EC_EPERM);
    assert_non_null(strstr(fx->st.msg, "not a certification authority"));
    assert_int_equal(s_attest(fx, fx->stranger, fx->alice, 0xa1), EC_EPERM);
    assert_int_equal(s_attest(fx, fx->op, fx->alice, 0xa1), EC_EPERM);
    assert_int_equal(s_attest(fx, fx->ca, fx->stranger, 0xa1), EC_ENOTFOUND);
    assert_int_equal(s_attest(fx, fx->ca, fx->alice, 0xa1), 0);
    assert_int_equal(s_attest(fx, fx->ca, fx->alice, 0xa2), EC_EEXIST);
    assert_non_null(strstr(fx->st.msg, "already attested"));
    /* The same person again under another account: the chain can tell. */
    assert_int_equal(s_attest(fx, fx->ca, fx->bob, 0xa1), EC_EEXIST);
    char alice[EC_ADDR_MAX];
    s_addr(alice, fx->alice);
    assert_non_null(strstr(fx->st.msg, "this identity is already attested for"));
    assert_non_null(strstr(fx->st.msg, alice));
    assert_int_equal(s_attest(fx, fx->ca, fx->bob, 0xb1), 0);
    s_commit(fx);
    assert_int_equal(s_attest(fx, fx->ca, fx->carol, 0xa1), EC_EEXIST);

    /* Bad bodies. */
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 2);
    ec_write_cstr(&w, alice);
    ec_write_bin(&w, "short", 5);
    assert_int_equal(s_tx(fx, fx->ca, EC_MTX_ATTEST, &w), EC_EINVAL);
    ec_writer_fini(&w);

    /* A revoked CA can no longer attest. */
    assert_int_equal(s_role(fx, fx->op, false, fx->ca, EC_ROLE_CA, "", ""), 0);
    assert_int_equal(s_attest(fx, fx->ca, fx->carol, 0xc1), EC_EPERM);
    s_commit(fx);

    acct_t a;
    assert_int_equal(s_account(fx, fx->alice, &a), 0);
    assert_true(a.attested);
    assert_int_equal(s_account(fx, fx->carol, &a), 0);
    assert_false(a.attested);

    ec_record_t recs[8];
    assert_int_equal(s_records(fx, 3, 0, 10, recs, 8, NULL), 4);
    assert_int_equal(recs[1].kind, EC_REC_ATTEST);
    assert_memory_equal(recs[1].pk, ec_key_pk(fx->alice), EC_PK_BYTES);
    uint8_t idh[EC_HASH_BYTES];
    memset(idh, 0xa1, sizeof idh);
    assert_memory_equal(recs[1].identity_hash, idh, EC_HASH_BYTES);
    assert_int_equal(recs[2].kind, EC_REC_ATTEST);
    assert_memory_equal(recs[2].pk, ec_key_pk(fx->bob), EC_PK_BYTES);
    assert_int_equal(recs[3].kind, EC_REC_ROLE_REVOKE);
}

/* ---- side chains -------------------------------------------------------------------------- */

static void s_side_genesis(fx_t *fx, ec_genesis_t *g, const char *chain_id, const char *cert_type)
{
    memset(g, 0, sizeof *g);
    strcpy(g->chain_id, chain_id);
    g->kind = EC_CHAIN_SIDE;
    strcpy(g->cert_type, cert_type);
    g->time_ms = fx->g.time_ms;
    g->validators.count = 1;
    memcpy(g->validators.v[0].pk, ec_key_pk(fx->side_val), EC_PK_BYTES);
    g->validators.v[0].power = 10;
    strcpy(g->main_chain_id, MAIN_ID);
    memcpy(g->main_genesis_hash, fx->ghash, EC_HASH_BYTES);
    g->main_validators = fx->g.validators;
    g->main_freshness_ms = EC_MAIN_FRESHNESS_MS_DEFAULT;
}

/* Builds headers 1..SIDE_BLOCKS with correct prev hashes and hist roots. */
static void s_side_build(fx_t *fx, side_t *s, const char *chain_id, const char *cert_type)
{
    memset(s, 0, sizeof *s);
    s_side_genesis(fx, &s->g, chain_id, cert_type);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_genesis_encode(&w, &s->g);
    s->genesis = ec_writer_take(&w, &s->genesis_size);
    ec_writer_fini(&w);
    ec_genesis_hash(s->hashes[0], &s->g);
    ec_merkle_leaf(s->leaves[0], EC_LEAF_BLOCK, s->hashes[0], EC_HASH_BYTES);
    for (uint64_t k = 1; k <= SIDE_BLOCKS; k++) {
        ec_header_t *h = &s->h[k];
        strcpy(h->chain_id, chain_id);
        h->height = k;
        h->time_ms = s->g.time_ms + k * 1000;
        memcpy(h->prev_hash, s->hashes[k - 1], EC_HASH_BYTES);
        ec_merkle_root(h->tx_root, NULL, 0);
        ec_merkle_root(h->xanchor_root, NULL, 0);
        memset(h->state_root, (int)k, EC_HASH_BYTES);
        ec_merkle_root(h->hist_root, (const ec_hash32_t *)s->leaves, k);
        ec_valset_hash(h->valset_hash, &s->g.validators);
        memcpy(h->next_valset_hash, h->valset_hash, EC_HASH_BYTES);
        ec_header_hash(s->hashes[k], h);
        ec_merkle_leaf(s->leaves[k], EC_LEAF_BLOCK, s->hashes[k], EC_HASH_BYTES);
    }
}

/*
 * The side chain changes validators: header from-1 names `vs` as the next set and headers
 * from.. are committed by it. Rehashes the chain from from-1 on (hist roots included).
 */
static void s_side_change_set(side_t *s, uint64_t from, const ec_valset_t *vs)
{
    uint8_t hash[EC_HASH_BYTES];
    ec_valset_hash(hash, vs);
    memcpy(s->h[from - 1].next_valset_hash, hash, EC_HASH_BYTES);
    for (uint64_t k = from; k <= SIDE_BLOCKS; k++) {
        memcpy(s->h[k].valset_hash, hash, EC_HASH_BYTES);
        memcpy(s->h[k].next_valset_hash, hash, EC_HASH_BYTES);
    }
    for (uint64_t k = from - 1; k <= SIDE_BLOCKS; k++) {
        ec_header_t *h = &s->h[k];
        memcpy(h->prev_hash, s->hashes[k - 1], EC_HASH_BYTES);
        ec_merkle_root(h->hist_root, (const ec_hash32_t *)s->leaves, k);
        ec_header_hash(s->hashes[k], h);
        ec_merkle_leaf(s->leaves[k], EC_LEAF_BLOCK, s->hashes[k], EC_HASH_BYTES);
    }
}

static void s_side_free(side_t *s)
{
    free(s->genesis);
}

/*
 * Submits an ANCHOR of header `h` (hashed into `leaves`, the history it claims, of
 * h->height leaves) for a light client at height `from`, signed by `signer`.
 */
static int s_anchor_full(fx_t *fx, const char *chain_id, const ec_header_t *h,
                         const ec_hash32_t *leaves, uint64_t from, const ec_key_t *signer,
                         const ec_valset_t *next, const uint8_t *claimed)
{
    uint8_t hash[EC_HASH_BYTES];
    ec_header_hash(hash, h);
    ec_commit_t c;
    memset(&c, 0, sizeof c);
    c.height = h->height;
    memcpy(c.block_hash, hash, EC_HASH_BYTES);
    ec_commit_sign(&c, h->chain_id, 0, signer);
    ec_merkle_mem_t mem = {leaves, (size_t)h->height};
    ec_hash32_t prev[EC_MERKLE_PROOF_MAX], cons[EC_MERKLE_PROOF_MAX];
    size_t prev_len = 0, cons_len = 0;
    assert_int_equal(
        ec_merkle_inclusion_proof(prev, &prev_len, ec_merkle_mem_oracle, &mem, from, h->height), 0);
    if (from > 0)
        assert_int_equal(ec_merkle_consistency_proof(cons, &cons_len, ec_merkle_mem_oracle, &mem,
                                                     from, h->height),
                         0);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 7);
    ec_write_cstr(&w, chain_id);
    ec_writer_t hw, cw;
    ec_writer_init(&hw);
    ec_writer_init(&cw);
    ec_header_encode(&hw, h);
    ec_commit_encode(&cw, &c);
    ec_write_bin(&w, ec_writer_data(&hw), ec_writer_size(&hw));
    ec_write_bin(&w, ec_writer_data(&cw), ec_writer_size(&cw));
    ec_write_path(&w, prev, prev_len);
    ec_write_path(&w, cons, cons_len);
    if (next)
        ec_valset_encode(&w, next);
    else
        ec_write_nil(&w);
    if (claimed)
        ec_write_bin(&w, claimed, EC_HASH_BYTES);
    else
        ec_write_nil(&w);
    int rc = s_tx(fx, fx->stranger, EC_MTX_ANCHOR, &w);
    ec_writer_fini(&hw);
    ec_writer_fini(&cw);
    ec_writer_fini(&w);
    return rc;
}

static int s_anchor_of_header(fx_t *fx, const char *chain_id, const ec_header_t *h,
                              const ec_hash32_t *leaves, uint64_t from, const ec_key_t *signer)
{
    return s_anchor_full(fx, chain_id, h, leaves, from, signer, NULL, NULL);
}

static int s_anchor(fx_t *fx, side_t *s, uint64_t from, uint64_t to)
{
    return s_anchor_of_header(fx, s->g.chain_id, &s->h[to], s->leaves, from, fx->side_val);
}

/* Reads `sidechain` for chain_id: the light client, the genesis bytes and (into
 * fx->vs_hash) the hash of the validator set anchors are checked against. */
static int s_sidechain_light(fx_t *fx, const char *chain_id, ec_light_t *lc, uint8_t *gbuf,
                             size_t *gsize)
{
    q_t q;
    int rc = s_query_str(fx, &q, "sidechain", chain_id);
    if (rc == 0) {
        ec_cur_t c, l;
        const uint8_t *g = NULL;
        size_t gs = 0;
        ec_cur_open(&c, q.root, 3);
        ec_cur_bin(&c, &g, &gs, 8192);
        ec_cur_enter(&c, &l, 4);
        ec_cur_uint(&l, &lc->height);
        ec_cur_bin_fixed(&l, lc->hash, EC_HASH_BYTES);
        ec_cur_bin_fixed(&l, lc->hist_root, EC_HASH_BYTES);
        ec_cur_bool(&l, &lc->frozen);
        ec_cur_fold(&c, &l);
        ec_cur_bin_fixed(&c, fx->vs_hash, EC_HASH_BYTES);
        assert_int_equal(ec_cur_finish(&c), 0);
        if (gbuf) {
            memcpy(gbuf, g, gs);
            *gsize = gs;
        }
    }
    s_q_fini(&q);
    return rc;
}

static void test_sidechain(void **state)
{
    fx_t *fx = *state;
    ec_genesis_t g;
    s_side_genesis(fx, &g, SIDE_ID, "degree");
    assert_int_equal(s_sidechain(fx, fx->alice, &g), EC_EPERM);
    /* A main-chain genesis is not a side chain. */
    assert_int_equal(s_sidechain(fx, fx->op, &fx->g), EC_ECHAIN);
    ec_genesis_t bad = g;
    strcpy(bad.main_chain_id, "ecert-main-other");
    assert_int_equal(s_sidechain(fx, fx->op, &bad), EC_ECHAIN);
    bad = g;
    bad.main_genesis_hash[0] ^= 1;
    assert_int_equal(s_sidechain(fx, fx->op, &bad), EC_ECHAIN);
    assert_int_equal(s_sidechain_raw(fx, fx->op, (const uint8_t *)"\x93\x02\x02\x03", 4),
                     EC_EINVAL);

    assert_int_equal(s_sidechain(fx, fx->op, &g), 0);
    assert_int_equal(s_sidechain(fx, fx->op, &g), EC_EEXIST);
    ec_genesis_t same_type;
    s_side_genesis(fx, &same_type, "ecert-degree-two", "degree");
    assert_int_equal(s_sidechain(fx, fx->op, &same_type), EC_EEXIST);
    assert_non_null(strstr(fx->st.msg, SIDE_ID));
    ec_genesis_t other;
    s_side_genesis(fx, &other, "ecert-license-test", "license");
    assert_int_equal(s_sidechain(fx, fx->op, &other), 0);
    s_commit(fx);

    /* sidechains: key order, so degree (ecert-d...) before license (ecert-l...). */
    q_t q;
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 0);
    assert_int_equal(s_query(fx, &q, "sidechains", &a), 0);
    ec_writer_fini(&a);
    ec_cur_t c;
    ec_cur_open_max(&c, q.root, 10);
    assert_int_equal(c.count, 2);
    const char *types[] = {"degree", "license"}, *ids[] = {SIDE_ID, "ecert-license-test"};
    for (int i = 0; i < 2; i++) {
        ec_cur_t e;
        char ct[EC_CERT_TYPE_MAX], id[EC_CHAIN_ID_MAX];
        uint8_t gh[EC_HASH_BYTES], want[EC_HASH_BYTES];
        uint64_t height = 9;
        bool frozen = true;
        ec_cur_enter(&c, &e, 5);
        ec_cur_str_copy(&e, ct, sizeof ct);
        ec_cur_str_copy(&e, id, sizeof id);
        ec_cur_bin_fixed(&e, gh, EC_HASH_BYTES);
        ec_cur_uint(&e, &height);
        ec_cur_bool(&e, &frozen);
        ec_cur_fold(&c, &e);
        assert_string_equal(ct, types[i]);
        assert_string_equal(id, ids[i]);
        ec_genesis_hash(want, i == 0 ? &g : &other);
        assert_memory_equal(gh, want, EC_HASH_BYTES);
        assert_int_equal(height, 0);
        assert_false(frozen);
    }
    assert_int_equal(ec_cur_finish(&c), 0);
    s_q_fini(&q);

    ec_light_t lc;
    uint8_t gbuf[8192];
    size_t gsize = 0;
    assert_int_equal(s_sidechain_light(fx, SIDE_ID, &lc, gbuf, &gsize), 0);
    ec_writer_t gw;
    ec_writer_init(&gw);
    ec_genesis_encode(&gw, &g);
    assert_int_equal(gsize, ec_writer_size(&gw));
    assert_memory_equal(gbuf, ec_writer_data(&gw), gsize);
    ec_writer_fini(&gw);
    uint8_t want[EC_HASH_BYTES], empty[EC_HASH_BYTES];
    ec_genesis_hash(want, &g);
    ec_sha256(empty, "", 0);
    assert_int_equal(lc.height, 0);
    assert_memory_equal(lc.hash, want, EC_HASH_BYTES);
    assert_memory_equal(lc.hist_root, empty, EC_HASH_BYTES);
    assert_false(lc.frozen);
    ec_valset_hash(want, &g.validators); /* no SIDECHAIN_UPDATE yet: the genesis set */
    assert_memory_equal(fx->vs_hash, want, EC_HASH_BYTES);
    assert_int_equal(s_sidechain_light(fx, "ecert-nope", &lc, NULL, NULL), EC_ENOTFOUND);
}

/* Reads anchor_of; returns the code and fills out[3]. */

static int s_anchor_of(fx_t *fx, const char *chain_id, uint64_t side_height, uint64_t out[3])
{
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 2);
    ec_write_cstr(&a, chain_id);
    ec_write_uint(&a, side_height);
    q_t q;
    int rc = s_query(fx, &q, "anchor_of", &a);
    ec_writer_fini(&a);
    if (rc == 0) {
        ec_cur_t c;
        ec_cur_open(&c, q.root, 3);
        for (int i = 0; i < 3; i++)
            ec_cur_uint(&c, &out[i]);
        assert_int_equal(ec_cur_finish(&c), 0);
    }
    s_q_fini(&q);
    return rc;
}

static void test_anchor(void **state)
{
    fx_t *fx = *state;
    side_t *s = malloc(sizeof *s), *s2 = malloc(sizeof *s2);
    assert_non_null(s);
    assert_non_null(s2);
    s_side_build(fx, s, SIDE_ID, "degree");
    s_side_build(fx, s2, "ecert-license-test", "license");
    assert_int_equal(s_anchor(fx, s, 0, 2), EC_ENOTFOUND); /* not registered yet */
    assert_int_equal(s_sidechain(fx, fx->op, &s->g), 0);
    assert_int_equal(s_sidechain(fx, fx->op, &s2->g), 0);
    s_commit(fx); /* main height 1 */

    /* Advance 0 -> 2, and the second chain in the same block (anchor index 1). */
    assert_int_equal(s_anchor(fx, s, 0, 2), 0);
    assert_int_equal(fx->ctx.anchor_count, 1);
    assert_string_equal(fx->ctx.anchors[0].chain_id, SIDE_ID);
    assert_int_equal(fx->ctx.anchors[0].height, 2);
    assert_memory_equal(fx->ctx.anchors[0].header_hash, s->hashes[2], EC_HASH_BYTES);
    assert_int_equal(s_anchor(fx, s2, 0, 3), 0);
    assert_int_equal(fx->ctx.anchor_count, 2);
    /* Duplicates are cheap refusals, in the same block or later. */
    assert_int_equal(s_anchor(fx, s, 0, 1), EC_EDUPLICATE);
    assert_int_equal(s_anchor(fx, s, 0, 2), EC_EDUPLICATE);
    s_commit(fx); /* main height 2 */
    assert_int_equal(s_anchor(fx, s, 0, 2), EC_EDUPLICATE);

    /* A commit by a key outside the side validator set. */
    assert_int_equal(s_anchor_of_header(fx, SIDE_ID, &s->h[4], s->leaves, 2, fx->alice), EC_ESIG);
    /* A real header with a garbage path proves nothing and freezes nothing. */
    ec_hash32_t junk[SIDE_BLOCKS + 1];
    memcpy(junk, s->leaves, sizeof junk);
    junk[1][0] ^= 1;
    assert_int_equal(s_anchor_of_header(fx, SIDE_ID, &s->h[4], junk, 2, fx->side_val), EC_EPROOF);
    /* A header of another chain under this chain's id. */
    assert_int_equal(s_anchor_of_header(fx, SIDE_ID, &s2->h[4], s2->leaves, 2, fx->side_val),
                     EC_ECHAIN);
    /* The block's anchor list is full: retry later. */
    fx->ctx.anchor_count = EC_BLOCK_ANCHORS_MAX;
    assert_int_equal(s_anchor(fx, s, 2, 5), EC_EBUSY);
    fx->ctx.anchor_count = 0;

    assert_int_equal(s_anchor(fx, s, 2, 5), 0);
    assert_int_equal(fx->ctx.anchor_count, 1);
    s_commit(fx); /* main height 3 */

    ec_light_t lc;
    assert_int_equal(s_sidechain_light(fx, SIDE_ID, &lc, NULL, NULL), 0);
    assert_int_equal(lc.height, 5);
    assert_memory_equal(lc.hash, s->hashes[5], EC_HASH_BYTES);
    assert_memory_equal(lc.hist_root, s->h[5].hist_root, EC_HASH_BYTES);
    assert_false(lc.frozen);

    /* anchor_of: the first anchor at or above a side height. */
    uint64_t r[3];
    assert_int_equal(s_anchor_of(fx, SIDE_ID, 0, r), 0);
    assert_int_equal(r[0], 2);
    assert_int_equal(r[1], 2);
    assert_int_equal(r[2], 0);
    assert_int_equal(s_anchor_of(fx, SIDE_ID, 2, r), 0);
    assert_int_equal(r[0], 2);
    assert_int_equal(s_anchor_of(fx, SIDE_ID, 3, r), 0);
    assert_int_equal(r[0], 5);
    assert_int_equal(r[1], 3);
    assert_int_equal(r[2], 0);
    assert_int_equal(s_anchor_of(fx, "ecert-license-test", 1, r), 0);
    assert_int_equal(r[0], 3);
    assert_int_equal(r[1], 2);
    assert_int_equal(r[2], 1);
    assert_int_equal(s_anchor_of(fx, SIDE_ID, 6, r), EC_ENOTFOUND);
    assert_int_equal(s_anchor_of(fx, "ecert-nope", 1, r), EC_ENOTFOUND);

    /*
     * Fork: a validly signed header 7 whose history differs at block 3 (light client at
     * 5, not a power of two, so the consistency proof carries the old root).
     */
    side_t *f = malloc(sizeof *f);
    assert_non_null(f);
    memcpy(f, s, sizeof *f);
    f->genesis = NULL;
    memset(f->leaves[3], 0x33, EC_HASH_BYTES);
    ec_merkle_root(f->h[7].hist_root, (const ec_hash32_t *)f->leaves, 7);
    assert_int_equal(s_anchor_of_header(fx, SIDE_ID, &f->h[7], f->leaves, 5, fx->side_val), 0);
    assert_int_equal(fx->ctx.anchor_count, 0); /* evidence only: no anchor entry */
    s_commit(fx);                              /* main height 4: the freeze is committed */
    assert_int_equal(s_sidechain_light(fx, SIDE_ID, &lc, NULL, NULL), 0);
    assert_true(lc.frozen);
    assert_int_equal(lc.height, 5);
    assert_int_equal(s_anchor(fx, s, 5, 6), EC_EFROZEN);
    assert_int_equal(s_anchor_of(fx, SIDE_ID, 6, r), EC_ENOTFOUND);
    /* The other chain is unaffected. */
    assert_int_equal(s_anchor(fx, s2, 3, 8), 0);
    s_commit(fx);

    /* Governance: only an operator unfreezes; the evidence stays; anchors resume from the
     * pre-fork state (5), so the honest header 6 extends it and is accepted again. */
    assert_int_equal(s_side_update(fx, fx->alice, SIDE_ID, &s->g.validators, true), EC_EPERM);
    assert_int_equal(s_side_update(fx, fx->op, SIDE_ID, &s->g.validators, true), 0);
    assert_int_equal(s_anchor(fx, s, 5, 6), 0);
    assert_int_equal(fx->ctx.anchor_count, 1);
    s_commit(fx);
    assert_int_equal(s_sidechain_light(fx, SIDE_ID, &lc, NULL, NULL), 0);
    assert_false(lc.frozen);
    assert_int_equal(lc.height, 6);
    assert_memory_equal(lc.hash, s->hashes[6], EC_HASH_BYTES);
    uint8_t fkey[64] = "f/" SIDE_ID, *fval = NULL;
    size_t fsize = 0;
    assert_int_equal(ec_ledger_get(fx->l, EC_CF_STATE, fkey, strlen((char *)fkey), &fval, &fsize),
                     0);
    free(fval);
    assert_int_equal(s_anchor_of(fx, SIDE_ID, 6, r), 0);
    assert_int_equal(r[0], 6);
    /* Not frozen any more: a second unfreeze is refused. */
    assert_int_equal(s_side_update(fx, fx->op, SIDE_ID, &s->g.validators, true), EC_ESTATE);

    free(f);
    s_side_free(s);
    s_side_free(s2);
    free(s);
    free(s2);
}

static void test_sidechain_update(void **state)
{
    fx_t *fx = *state;
    side_t *s = malloc(sizeof *s);
    assert_non_null(s);
    s_side_build(fx, s, SIDE_ID, "degree");
    ec_valset_t carol = {0};
    carol.count = 1;
    memcpy(carol.v[0].pk, ec_key_pk(fx->carol), EC_PK_BYTES);
    carol.v[0].power = 3;
    assert_int_equal(s_side_update(fx, fx->op, SIDE_ID, &carol, false), EC_ENOTFOUND);
    assert_int_equal(s_sidechain(fx, fx->op, &s->g), 0);
    s_commit(fx);

    /* Refusals, all before any write (s_tx checks the digest is unchanged). */
    assert_int_equal(s_side_update(fx, fx->alice, SIDE_ID, &carol, false), EC_EPERM);
    assert_int_equal(s_side_update(fx, fx->op, "ecert-nope", &carol, false), EC_ENOTFOUND);
    assert_int_equal(s_side_update(fx, fx->op, SIDE_ID, NULL, false), EC_EINVAL);
    assert_int_equal(s_side_update(fx, fx->op, "Bad_Id", &carol, false), EC_EINVAL);
    assert_int_equal(s_side_update(fx, fx->op, SIDE_ID, &s->g.validators, false), EC_EINVAL);
    assert_non_null(strstr(fx->st.msg, "nothing to change"));
    assert_int_equal(s_side_update(fx, fx->op, SIDE_ID, &s->g.validators, true), EC_ESTATE);
    assert_int_equal(s_side_update(fx, fx->op, SIDE_ID, &carol, true), EC_ESTATE);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 2); /* unfreeze missing */
    ec_write_cstr(&w, SIDE_ID);
    ec_valset_encode(&w, &carol);
    assert_int_equal(s_tx(fx, fx->op, EC_MTX_SIDECHAIN_UPDATE, &w), EC_EINVAL);
    ec_writer_fini(&w);

    /* Under the genesis set: the genesis validator's anchor goes through. */
    assert_int_equal(s_anchor(fx, s, 0, 2), 0);
    s_commit(fx);

    /* The new set replaces it; the registered genesis is unchanged. */
    assert_int_equal(s_side_update(fx, fx->op, SIDE_ID, &carol, false), 0);
    s_commit(fx);
    ec_light_t lc;
    uint8_t gbuf[8192], want[EC_HASH_BYTES];
    size_t gsize = 0;
    assert_int_equal(s_sidechain_light(fx, SIDE_ID, &lc, gbuf, &gsize), 0);
    ec_valset_hash(want, &carol);
    assert_memory_equal(fx->vs_hash, want, EC_HASH_BYTES);
    assert_int_equal(gsize, s->genesis_size);
    assert_memory_equal(gbuf, s->genesis, gsize);
    assert_int_equal(lc.height, 2);
    assert_int_equal(s_side_update(fx, fx->op, SIDE_ID, &carol, false), EC_EINVAL);

    /* The old validator's commit no longer counts; the new validator's does, for headers
     * that name it (the side chain moved to carol after its height 3). */
    s_side_change_set(s, 4, &carol);
    assert_int_equal(s_anchor_of_header(fx, SIDE_ID, &s->h[4], s->leaves, 2, fx->side_val),
                     EC_ESIG);
    assert_int_equal(s_anchor_of_header(fx, SIDE_ID, &s->h[4], s->leaves, 2, fx->carol), 0);
    s_commit(fx);
    uint64_t r[3];
    assert_int_equal(s_anchor_of(fx, SIDE_ID, 3, r), 0);
    assert_int_equal(r[0], 4);

    /* Governance overrides: back to the genesis set, and no header of carol's checks. */
    assert_int_equal(s_side_update(fx, fx->op, SIDE_ID, &s->g.validators, false), 0);
    assert_int_equal(s_anchor_of_header(fx, SIDE_ID, &s->h[5], s->leaves, 4, fx->carol), EC_ESIG);
    assert_int_equal(s_anchor_of_header(fx, SIDE_ID, &s->h[5], s->leaves, 4, fx->side_val),
                     EC_ESIG);
    s_commit(fx);
    assert_int_equal(s_sidechain_light(fx, SIDE_ID, &lc, NULL, NULL), 0);
    ec_valset_hash(want, &s->g.validators);
    assert_memory_equal(fx->vs_hash, want, EC_HASH_BYTES);
    assert_int_equal(lc.height, 4);
    assert_int_equal(s_side_update(fx, fx->op, SIDE_ID, &carol, false), 0);
    assert_int_equal(s_anchor_of_header(fx, SIDE_ID, &s->h[5], s->leaves, 4, fx->carol), 0);
    s_side_free(s);
    free(s);
}

/*
 * The main chain follows a side chain's own validator change through its anchors: the
 * header that names the new set must be anchored with that set, which then checks the
 * anchors after it; a header of the new set cannot be anchored before the change.
 */
static void test_anchor_follows_valset(void **state)
{
    fx_t *fx = *state;
    side_t *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s_side_build(fx, s, SIDE_ID, "degree");
    ec_valset_t carol = {0};
    carol.count = 2;
    memcpy(carol.v[0].pk, ec_key_pk(fx->carol), EC_PK_BYTES);
    carol.v[0].power = 5;
    memcpy(carol.v[1].pk, ec_key_pk(fx->side_val), EC_PK_BYTES);
    carol.v[1].power = 1;
    s_side_change_set(s, 4, &carol); /* header 3 names carol's set; 4.. are committed by it */
    assert_int_equal(s_sidechain(fx, fx->op, &s->g), 0);
    s_commit(fx);
    assert_int_equal(s_anchor(fx, s, 0, 2), 0);
    s_commit(fx);
    /* Past the change without the header that names it: not the set known. */
    assert_int_equal(s_anchor_of_header(fx, SIDE_ID, &s->h[5], s->leaves, 2, fx->carol), EC_ESIG);
    assert_non_null(strstr(fx->st.msg, "changed validators"));
    /* Header 3 without the set it names, with another set, and with the right one. */
    assert_int_equal(s_anchor_full(fx, SIDE_ID, &s->h[3], s->leaves, 2, fx->side_val, NULL, NULL),
                     EC_EINVAL);
    assert_non_null(strstr(fx->st.msg, "next_valset"));
    assert_int_equal(
        s_anchor_full(fx, SIDE_ID, &s->h[3], s->leaves, 2, fx->side_val, &s->g.validators, NULL),
        EC_EINVAL);
    assert_int_equal(s_anchor_full(fx, SIDE_ID, &s->h[3], s->leaves, 2, fx->side_val, &carol, NULL),
                     0);
    s_commit(fx);
    ec_light_t lc;
    uint8_t want[EC_HASH_BYTES];
    assert_int_equal(s_sidechain_light(fx, SIDE_ID, &lc, NULL, NULL), 0);
    ec_valset_hash(want, &carol);
    assert_memory_equal(fx->vs_hash, want, EC_HASH_BYTES);
    /* A set carried when the header names no change is refused too. */
    assert_int_equal(s_anchor_full(fx, SIDE_ID, &s->h[5], s->leaves, 3, fx->carol, &carol, NULL),
                     EC_EINVAL);
    /* The new set now checks: carol's power 5 of 6 commits; the old validator alone not. */
    assert_int_equal(s_anchor_of_header(fx, SIDE_ID, &s->h[5], s->leaves, 3, fx->side_val),
                     EC_ESIG);
    assert_int_equal(s_anchor_of_header(fx, SIDE_ID, &s->h[5], s->leaves, 3, fx->carol), 0);
    s_side_free(s);
    free(s);
}

/*
 * A fork at the anchored height is provable by the header alone; below it, or at a
 * power-of-two height, by a claim with its inclusion path: each freezes the chain.
 */
static void test_anchor_fork_claims(void **state)
{
    fx_t *fx = *state;
    side_t *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    s_side_build(fx, a, SIDE_ID, "degree");
    s_side_build(fx, b, SIDE_ID, "degree");
    /* b differs from height 4 on (another time there). */
    b->h[4].time_ms += 7;
    for (uint64_t k = 4; k <= SIDE_BLOCKS; k++) {
        ec_header_t *h = &b->h[k];
        memcpy(h->prev_hash, b->hashes[k - 1], EC_HASH_BYTES);
        ec_merkle_root(h->hist_root, (const ec_hash32_t *)b->leaves, k);
        ec_header_hash(b->hashes[k], h);
        ec_merkle_leaf(b->leaves[k], EC_LEAF_BLOCK, b->hashes[k], EC_HASH_BYTES);
    }
    assert_int_equal(s_sidechain(fx, fx->op, &a->g), 0);
    s_commit(fx);
    assert_int_equal(s_anchor(fx, a, 0, 4), 0); /* light client at 4, a power of two */
    s_commit(fx);
    /* b's header 6 without a claim: not provable at old size 4, refused only. */
    assert_int_equal(s_anchor(fx, b, 4, 6), EC_EPROOF);
    /* b's header 4 at the anchored height: validly committed, another block: a fork. */
    assert_int_equal(s_anchor(fx, b, 0, 4), 0);
    s_commit(fx);
    ec_light_t lc;
    assert_int_equal(s_sidechain_light(fx, SIDE_ID, &lc, NULL, NULL), 0);
    assert_true(lc.frozen);
    assert_int_equal(s_anchor(fx, a, 4, 6), EC_EFROZEN);
    s_side_free(a);
    s_side_free(b);
    free(a);
    free(b);
}

/* VALIDATOR_UPDATE [pk, power] (main) or SIDECHAIN_VALIDATOR [chain_id, pk, power]. */
static int s_validator(fx_t *fx, const ec_key_t *sender, const char *chain_id, const ec_key_t *k,
                       uint64_t power)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, chain_id ? 3 : 2);
    if (chain_id)
        ec_write_cstr(&w, chain_id);
    ec_write_bin(&w, ec_key_pk(k), EC_PK_BYTES);
    ec_write_uint(&w, power);
    int rc = s_tx(fx, sender, chain_id ? EC_MTX_SIDECHAIN_VALIDATOR : EC_MTX_VALIDATOR_UPDATE, &w);
    ec_writer_fini(&w);
    return rc;
}

/*
 * Validator governance: the main chain's own set changes by VALIDATOR_UPDATE (one per
 * block, through the block context), a side chain's by SIDECHAIN_VALIDATOR, which becomes
 * a record the side chain applies.
 */
static void test_validator_governance(void **state)
{
    fx_t *fx = *state;
    /* Operators only; one change per block; changes that change nothing are refused. */
    assert_int_equal(s_validator(fx, fx->alice, NULL, fx->bob, 1), EC_EPERM);
    assert_int_equal(s_validator(fx, fx->op, NULL, fx->bob, 0), EC_ENOTFOUND);
    assert_int_equal(s_validator(fx, fx->op, NULL, fx->val, 0), EC_EINVAL); /* the last one */
    assert_int_equal(s_validator(fx, fx->op, NULL, fx->val, 1), EC_EINVAL); /* same power */
    assert_int_equal(s_validator(fx, fx->op, NULL, fx->bob, EC_VALIDATOR_POWER_MAX + 1), EC_EINVAL);
    assert_false(fx->ctx.valset_changed);
    assert_int_equal(s_validator(fx, fx->op2, NULL, fx->bob, 3), 0);
    assert_true(fx->ctx.valset_changed);
    assert_memory_equal(fx->ctx.valset_change.pk, ec_key_pk(fx->bob), EC_PK_BYTES);
    assert_int_equal(fx->ctx.valset_change.power, 3);
    assert_int_equal(s_validator(fx, fx->op, NULL, fx->carol, 1), EC_EBUSY);
    assert_non_null(strstr(fx->st.msg, "one per block"));
    s_commit(fx);
    /* The next block may change another (the engine moved the set on: here by hand). */
    fx->next_valset.v[fx->next_valset.count++] = fx->ctx.valset_change;
    assert_int_equal(s_validator(fx, fx->op, NULL, fx->val, 0), 0);
    assert_int_equal(fx->ctx.valset_change.power, 0);
    s_commit(fx);

    /* A side chain's change is a record, for registered chains only. */
    ec_genesis_t g;
    s_side_genesis(fx, &g, SIDE_ID, "degree");
    assert_int_equal(s_validator(fx, fx->op, SIDE_ID, fx->carol, 2), EC_ENOTFOUND);
    assert_int_equal(s_sidechain(fx, fx->op, &g), 0);
    assert_int_equal(s_validator(fx, fx->bob, SIDE_ID, fx->carol, 2), EC_EPERM);
    assert_int_equal(s_validator(fx, fx->op, "Bad_Id", fx->carol, 2), EC_EINVAL);
    assert_int_equal(s_validator(fx, fx->op, SIDE_ID, fx->carol, 2), 0);
    assert_int_equal(s_validator(fx, fx->op, SIDE_ID, fx->side_val, 0), 0); /* several: fine */
    assert_false(fx->ctx.valset_changed); /* the main set is not touched */
    s_commit(fx);
    ec_record_t recs[4];
    uint64_t total = 0;
    int n = s_records(fx, fx->ctx.height - 1, 0, 4, recs, 4, &total);
    assert_int_equal(n, 2);
    assert_int_equal(total, 2);
    assert_int_equal(recs[0].kind, EC_REC_VALIDATOR);
    assert_string_equal(recs[0].chain_id, SIDE_ID);
    assert_memory_equal(recs[0].pk, ec_key_pk(fx->carol), EC_PK_BYTES);
    assert_int_equal(recs[0].power, 2);
    assert_int_equal(recs[1].power, 0);
}

/* ---- tests: who may do what --------------------------------------------------------------- */

/* How many roles the account of k holds (it must be registered). */
static uint32_t s_role_count(fx_t *fx, const ec_key_t *k)
{
    acct_t a;
    assert_int_equal(s_account(fx, k, &a), 0);
    return a.role_count;
}

/*
 * Every permission rule of the main chain against every kind of sender it must refuse, so
 * that deleting or loosening any one check in mc_app.c fails here: ORG, ROLE_GRANT,
 * ROLE_REVOKE, SIDECHAIN and SIDECHAIN_UPDATE belong to the genesis operators (either of
 * two); ATTEST to holders of a CA role, whatever its organization, and only while they
 * hold it. Refused senders: the main validator, a CA, an account with every other role, a
 * registered account without roles, a key never registered, and the side chain's own
 * validator.
 */
/* ---- operator governance ---------------------------------------------------------------- */

/* OPERATORS [keys..., quorum] sent by `key`. */
static int s_operators(fx_t *fx, const ec_key_t *key, const ec_key_t *const *ops, uint32_t n,
                       uint32_t quorum)
{
    ec_operators_body_t b;
    memset(&b, 0, sizeof b);
    b.count = n;
    for (uint32_t i = 0; i < n; i++)
        memcpy(b.pks[i], ec_key_pk(ops[i]), EC_PK_BYTES);
    b.quorum = quorum;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_operators_body_encode(&w, &b);
    int rc = s_tx(fx, key, EC_MTX_OPERATORS, &w);
    ec_writer_fini(&w);
    return rc;
}

/* GOV_PROPOSE of an action (type, encoded body) expiring `ttl_ms` after the block time;
 * the proposal's id is then fx->last_id. */
static int s_propose(fx_t *fx, const ec_key_t *key, uint64_t type, const ec_writer_t *action,
                     uint64_t ttl_ms)
{
    ec_propose_body_t b = {.action_type = type,
                           .action = ec_writer_data(action),
                           .action_size = ec_writer_size(action),
                           .expires_ms = fx->ctx.time_ms + ttl_ms};
    ec_writer_t w;
    ec_writer_init(&w);
    ec_propose_body_encode(&w, &b);
    int rc = s_tx(fx, key, EC_MTX_GOV_PROPOSE, &w);
    ec_writer_fini(&w);
    return rc;
}

static int s_propose_org(fx_t *fx, const ec_key_t *key, const char *code, uint64_t ttl_ms)
{
    ec_org_body_t org = {.billing = EC_BILLING_PUBLIC};
    snprintf(org.org_code, sizeof org.org_code, "%s", code);
    snprintf(org.name, sizeof org.name, "Org %s", code);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_org_body_encode(&w, &org);
    int rc = s_propose(fx, key, EC_MTX_ORG, &w, ttl_ms);
    ec_writer_fini(&w);
    return rc;
}

static int s_approve(fx_t *fx, const ec_key_t *key, const uint8_t id[EC_HASH_BYTES])
{
    ec_approve_body_t b;
    memcpy(b.proposal, id, EC_HASH_BYTES);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_approve_body_encode(&w, &b);
    int rc = s_tx(fx, key, EC_MTX_GOV_APPROVE, &w);
    ec_writer_fini(&w);
    return rc;
}

/* The committed proposal's approvals and executed height (query "proposal"). */
static void s_proposal_state(fx_t *fx, const uint8_t id[EC_HASH_BYTES], uint32_t *approvals,
                             uint64_t *executed)
{
    q_t q;
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 1);
    ec_write_bin(&a, id, EC_HASH_BYTES);
    assert_int_equal(s_query(fx, &q, "proposal", &a), 0);
    assert_int_equal(q.root->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(q.root->via.array.size, 9);
    assert_memory_equal(q.root->via.array.ptr[0].via.bin.ptr, id, EC_HASH_BYTES);
    *approvals = q.root->via.array.ptr[7].via.array.size;
    *executed = q.root->via.array.ptr[8].via.u64;
    s_q_fini(&q);
    ec_writer_fini(&a);
}

/* Proposals listed by query "proposals" [all, nil]. */
static uint32_t s_proposals_listed(fx_t *fx, bool all)
{
    q_t q;
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 2);
    ec_write_bool(&a, all);
    ec_write_nil(&a);
    assert_int_equal(s_query(fx, &q, "proposals", &a), 0);
    uint32_t n = q.root->via.array.ptr[0].via.array.size;
    s_q_fini(&q);
    ec_writer_fini(&a);
    return n;
}

static void test_governance(void **state)
{
    fx_t *fx = *state;
    uint8_t id[EC_HASH_BYTES], stale[EC_HASH_BYTES];
    uint32_t approvals = 0;
    uint64_t executed = 0;
    q_t q;

    /* Quorum 1 (the genesis): an operator changes the set alone, to 2 of 3. */
    const ec_key_t *three[] = {fx->op, fx->op2, fx->carol};
    assert_int_equal(s_operators(fx, fx->stranger, three, 3, 2), EC_EPERM);
    assert_int_equal(s_operators(fx, fx->op, three, 3, 4), EC_EINVAL);
    const ec_key_t *twice[] = {fx->op, fx->op};
    assert_int_equal(s_operators(fx, fx->op, twice, 2, 1), EC_EINVAL);
    assert_int_equal(s_operators(fx, fx->op, three, 3, 2), 0);
    s_commit(fx);
    ec_writer_t none;
    ec_writer_init(&none);
    ec_write_array(&none, 0);
    assert_int_equal(s_query(fx, &q, "operators", &none), 0);
    assert_int_equal(q.root->via.array.ptr[0].via.array.size, 3);
    assert_int_equal(q.root->via.array.ptr[1].via.u64, 2);
    s_q_fini(&q);

    /* Now an operator alone is refused, and told to propose. */
    assert_int_equal(s_org(fx, fx->op, "ORG-G", "Gov"), EC_EPERM);
    assert_non_null(strstr(fx->st.msg, "propose"));
    assert_int_equal(s_propose_org(fx, fx->stranger, "ORG-G", 3600000), EC_EPERM);

    /* Proposed by one, approved by another: it runs in the approving transaction. */
    assert_int_equal(s_propose_org(fx, fx->op, "ORG-G", 3600000), 0);
    memcpy(id, fx->last_id, sizeof id);
    s_commit(fx);
    assert_int_equal(s_query_str(fx, &q, "org", "ORG-G"), EC_ENOTFOUND);
    s_q_fini(&q);
    s_proposal_state(fx, id, &approvals, &executed);
    assert_int_equal(approvals, 1);
    assert_int_equal(executed, 0);
    assert_int_equal(s_proposals_listed(fx, false), 1);
    assert_int_equal(s_approve(fx, fx->op, id), EC_EEXIST);
    assert_int_equal(s_approve(fx, fx->stranger, id), EC_EPERM);
    uint64_t ran_at = fx->ctx.height;
    assert_int_equal(s_approve(fx, fx->op2, id), 0);
    s_commit(fx);
    assert_int_equal(s_query_str(fx, &q, "org", "ORG-G"), 0);
    s_q_fini(&q);
    s_proposal_state(fx, id, &approvals, &executed);
    assert_int_equal(approvals, 2);
    assert_int_equal(executed, ran_at);
    assert_int_equal(s_proposals_listed(fx, false), 0);
    assert_int_equal(s_approve(fx, fx->carol, id), EC_ESTATE);

    /* An action that fails when it runs refuses the approval, which is not recorded. */
    assert_int_equal(s_propose_org(fx, fx->op, "ORG-G", 3600000), 0);
    memcpy(id, fx->last_id, sizeof id);
    s_commit(fx);
    assert_int_equal(s_approve(fx, fx->carol, id), EC_EEXIST);
    assert_non_null(strstr(fx->st.msg, "the proposed ORG was refused"));
    s_commit(fx);
    s_proposal_state(fx, id, &approvals, &executed);
    assert_int_equal(approvals, 1);
    assert_int_equal(executed, 0);

    /* Bodies and expiry. */
    ec_writer_t bad;
    ec_writer_init(&bad);
    ec_write_array(&bad, 3);
    ec_write_cstr(&bad, "bad code!");
    ec_write_cstr(&bad, "x");
    ec_write_uint(&bad, 0);
    assert_int_equal(s_propose(fx, fx->op, EC_MTX_ORG, &bad, 3600000), EC_EINVAL);
    assert_int_equal(s_propose(fx, fx->op, EC_MTX_REGISTER, &bad, 3600000), EC_EINVAL);
    assert_int_equal(s_propose(fx, fx->op, EC_MTX_GOV_APPROVE, &bad, 3600000), EC_EINVAL);
    ec_writer_fini(&bad);
    assert_int_equal(s_propose_org(fx, fx->op, "ORG-X", 0), EC_EINVAL);
    assert_int_equal(s_propose_org(fx, fx->op, "ORG-X", EC_GOV_EXPIRY_MAX_MS + 1), EC_EINVAL);
    assert_int_equal(s_propose_org(fx, fx->op, "ORG-X", 1500), 0);
    memcpy(stale, fx->last_id, sizeof stale);
    s_commit(fx);
    s_commit(fx); /* 2 s later: past its expiry */
    assert_int_equal(s_approve(fx, fx->op2, stale), EC_ESTATE);
    assert_non_null(strstr(fx->st.msg, "expired"));
    uint8_t unknown[EC_HASH_BYTES];
    memset(unknown, 0x5a, sizeof unknown);
    assert_int_equal(s_approve(fx, fx->op2, unknown), EC_ENOTFOUND);

    /* At most EC_GOV_OPEN_MAX open at once; the expired one made room when counted. */
    assert_int_equal(s_proposals_listed(fx, false), 2);
    for (int i = 0; i < EC_GOV_OPEN_MAX - 1; i++) {
        char code[16];
        snprintf(code, sizeof code, "ORG-B%d", i);
        assert_int_equal(s_propose_org(fx, fx->op, code, 3600000), 0);
    }
    assert_int_equal(s_propose_org(fx, fx->op, "ORG-LAST", 3600000), EC_EBUSY);
    s_commit(fx);
    assert_int_equal(s_proposals_listed(fx, false), EC_GOV_OPEN_MAX);
    assert_int_equal(s_proposals_listed(fx, true), 32); /* a page */

    /* The set changes by the same quorum: back to op and op2, each alone. */
    ec_operators_body_t ob = {.count = 2, .quorum = 1};
    memcpy(ob.pks[0], ec_key_pk(fx->op), EC_PK_BYTES);
    memcpy(ob.pks[1], ec_key_pk(fx->op2), EC_PK_BYTES);
    ec_writer_t ow;
    ec_writer_init(&ow);
    ec_operators_body_encode(&ow, &ob);
    assert_int_equal(s_propose(fx, fx->carol, EC_MTX_OPERATORS, &ow, 3600000), EC_EBUSY);
    ec_writer_fini(&ow);
    assert_int_equal(s_approve(fx, fx->op2, id), EC_EEXIST); /* ORG-G again: still refused */
    s_commit(fx);
    /* Approving one of the 63 runs it and frees a place. */
    {
        q_t lq;
        ec_writer_t a;
        ec_writer_init(&a);
        ec_write_array(&a, 2);
        ec_write_bool(&a, false);
        ec_write_nil(&a);
        assert_int_equal(s_query(fx, &lq, "proposals", &a), 0);
        const msgpack_object *last = &lq.root->via.array.ptr[0].via.array.ptr[EC_GOV_OPEN_MAX - 1];
        memcpy(id, last->via.array.ptr[0].via.bin.ptr, EC_HASH_BYTES);
        s_q_fini(&lq);
        ec_writer_fini(&a);
    }
    assert_int_equal(s_approve(fx, fx->carol, id), 0);
    assert_int_equal(s_query_str(fx, &q, "org", "ORG-B62"), EC_ENOTFOUND); /* not committed */
    s_q_fini(&q);
    s_commit(fx);
    assert_int_equal(s_query_str(fx, &q, "org", "ORG-B62"), 0);
    s_q_fini(&q);
    ec_writer_init(&ow);
    ec_operators_body_encode(&ow, &ob);
    assert_int_equal(s_propose(fx, fx->carol, EC_MTX_OPERATORS, &ow, 3600000), 0);
    memcpy(id, fx->last_id, sizeof id);
    ec_writer_fini(&ow);
    assert_int_equal(s_approve(fx, fx->op, id), 0);
    s_commit(fx);
    assert_int_equal(s_query(fx, &q, "operators", &none), 0);
    assert_int_equal(q.root->via.array.ptr[0].via.array.size, 2);
    assert_int_equal(q.root->via.array.ptr[1].via.u64, 1);
    s_q_fini(&q);
    assert_int_equal(s_org(fx, fx->op2, "ORG-ALONE", "Alone"), 0);
    assert_int_equal(s_propose_org(fx, fx->carol, "ORG-C", 3600000), EC_EPERM);
    /* A proposal made under quorum 1 runs at once. */
    assert_int_equal(s_propose_org(fx, fx->op, "ORG-NOW", 3600000), 0);
    s_commit(fx);
    assert_int_equal(s_query_str(fx, &q, "org", "ORG-NOW"), 0);
    s_q_fini(&q);
    ec_writer_fini(&none);
}

/* ---- signing keys ----------------------------------------------------------------------- */

/* KEY_ROTATE signed by `key`, to `to`, the proof signed by `prover` (normally `to`) over the
 * account of `account` with current key `key`. */
static int s_rotate(fx_t *fx, const ec_key_t *key, const ec_key_t *account, const ec_key_t *to,
                    const ec_key_t *prover)
{
    ec_key_rotate_body_t b;
    uint8_t hash[EC_ADDR_HASH_BYTES], msg[EC_KEY_PROOF_MSG_BYTES];
    ec_address_hash(hash, ec_key_pk(account));
    memcpy(b.new_key, ec_key_pk(to), EC_PK_BYTES);
    ec_key_proof_msg(msg, hash, ec_key_pk(key), b.new_key);
    ec_sign(b.proof, msg, sizeof msg, prover);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_key_rotate_body_encode(&w, &b);
    int rc = s_tx(fx, key, EC_MTX_KEY_ROTATE, &w);
    ec_writer_fini(&w);
    return rc;
}

static int s_key_tx(fx_t *fx, const ec_key_t *key, uint64_t type)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_empty_body_encode(&w);
    int rc = s_tx(fx, key, type, &w);
    ec_writer_fini(&w);
    return rc;
}

/* KEY_RECOVER by `ca` of `account` (current key `current`, NULL when revoked) to `to`. */
static int s_recover(fx_t *fx, const ec_key_t *ca, const ec_key_t *account, const ec_key_t *current,
                     const ec_key_t *to)
{
    static const uint8_t zero[EC_PK_BYTES];
    ec_key_recover_body_t b;
    uint8_t msg[EC_KEY_PROOF_MSG_BYTES];
    s_addr(b.address, account);
    ec_address_hash(b.hash, ec_key_pk(account));
    memcpy(b.new_key, ec_key_pk(to), EC_PK_BYTES);
    ec_key_proof_msg(msg, b.hash, current ? ec_key_pk(current) : zero, b.new_key);
    ec_sign(b.proof, msg, sizeof msg, to);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_key_recover_body_encode(&w, &b);
    int rc = s_tx(fx, ca, EC_MTX_KEY_RECOVER, &w);
    ec_writer_fini(&w);
    return rc;
}

static int s_finish(fx_t *fx, const ec_key_t *sender, const ec_key_t *account)
{
    ec_key_finish_body_t b;
    s_addr(b.address, account);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_key_finish_body_encode(&w, &b);
    int rc = s_tx(fx, sender, EC_MTX_KEY_RECOVER_FINISH, &w);
    ec_writer_fini(&w);
    return rc;
}

static void test_keys(void **state)
{
    fx_t *fx = *state;
    ec_key_t *k2 = tu_key(40), *k3 = tu_key(41), *k4 = tu_key(42), *k5 = tu_key(43);
    acct_t a;
    assert_int_equal(s_register(fx, fx->alice, "Alice"), 0);
    assert_int_equal(s_register(fx, fx->bob, "Bob"), 0);
    assert_int_equal(s_register(fx, fx->ca, "CA"), 0);
    assert_int_equal(s_role(fx, fx->op, true, fx->ca, EC_ROLE_CA, "", ""), 0);
    assert_int_equal(s_attest(fx, fx->ca, fx->alice, 0x31), 0);
    s_commit(fx);
    ec_record_t recs[16];
    uint64_t count = 0;
    assert_int_equal(s_records(fx, fx->ctx.height - 1, 0, 16, recs, 16, &count), 2);

    /* Rotation: signed by the current key, proven by the new one, to a key never used. */
    assert_int_equal(s_rotate(fx, fx->alice, fx->alice, k2, k3), EC_ESIG);
    assert_int_equal(s_rotate(fx, fx->alice, fx->alice, fx->alice, fx->alice), EC_EINVAL);
    assert_int_equal(s_rotate(fx, fx->alice, fx->alice, fx->bob, fx->bob), EC_EEXIST);
    assert_int_equal(s_rotate(fx, fx->stranger, fx->stranger, k2, k2), EC_ENOTFOUND);
    assert_int_equal(s_rotate(fx, fx->alice, fx->alice, k2, k2), 0);
    s_commit(fx);
    assert_int_equal(s_account(fx, fx->alice, &a), 0);
    assert_memory_equal(a.pk, ec_key_pk(fx->alice), EC_PK_BYTES); /* the identity stays */
    assert_memory_equal(a.key, ec_key_pk(k2), EC_PK_BYTES);
    assert_true(a.attested);
    assert_int_equal(s_records(fx, fx->ctx.height - 1, 0, 16, recs, 16, &count), 3);
    assert_int_equal(recs[2].kind, EC_REC_KEY);
    assert_memory_equal(recs[2].pk, ec_key_pk(fx->alice), EC_PK_BYTES);
    assert_memory_equal(recs[2].key, ec_key_pk(k2), EC_PK_BYTES);

    /* The old key signs nothing more, and no key is used twice. */
    assert_int_equal(s_rotate(fx, fx->alice, fx->alice, k3, k3), EC_EPERM);
    assert_non_null(strstr(fx->st.msg, "replaced"));
    assert_int_equal(s_register(fx, fx->alice, "Alice again"), EC_EEXIST);
    assert_int_equal(s_register(fx, k2, "Not a new account"), EC_EEXIST);
    assert_int_equal(s_rotate(fx, k2, fx->alice, fx->alice, fx->alice),
                     EC_EEXIST); /* never back to a retired key */
    /* The CA still attests with its (unrotated) key; the new key is the account's. */
    assert_int_equal(s_attest(fx, fx->ca, fx->bob, 0x32), 0);
    assert_int_equal(s_rotate(fx, k2, fx->alice, k3, k3), 0);
    assert_int_equal(s_rotate(fx, k2, fx->alice, k4, k4), EC_EPERM);
    s_commit(fx);

    /* Revoked by the holder: no key signs for the account. */
    assert_int_equal(s_key_tx(fx, k3, EC_MTX_KEY_REVOKE), 0);
    assert_int_equal(s_key_tx(fx, k3, EC_MTX_KEY_REVOKE), EC_EPERM);
    assert_non_null(strstr(fx->st.msg, "revoked"));
    s_commit(fx);
    assert_int_equal(s_account(fx, fx->alice, &a), 0);
    static const uint8_t zero[EC_PK_BYTES];
    assert_memory_equal(a.key, zero, EC_PK_BYTES);

    /* Recovery: a CA starts it for an attested identity; it finishes after the delay. */
    assert_int_equal(s_recover(fx, fx->bob, fx->alice, NULL, k4), EC_EPERM);
    assert_int_equal(s_recover(fx, fx->ca, fx->alice, k3, k4), EC_ESIG); /* wrong old key */
    assert_int_equal(s_recover(fx, fx->ca, fx->alice, NULL, k2), EC_EEXIST);
    assert_int_equal(s_recover(fx, fx->ca, fx->alice, NULL, k4), 0);
    assert_int_equal(s_recover(fx, fx->ca, fx->alice, NULL, k5), EC_EEXIST);
    s_commit(fx);
    assert_int_equal(s_account(fx, fx->alice, &a), 0);
    assert_true(a.recovery);
    assert_memory_equal(a.recovery_key, ec_key_pk(k4), EC_PK_BYTES);
    assert_int_equal(s_finish(fx, fx->stranger, fx->alice), EC_ESTATE);
    fx->ctx.time_ms += EC_KEY_RECOVERY_DELAY_MS;
    assert_int_equal(s_finish(fx, fx->stranger, fx->alice), 0);
    assert_int_equal(s_finish(fx, fx->stranger, fx->alice), EC_ENOTFOUND);
    s_commit(fx);
    assert_int_equal(s_account(fx, fx->alice, &a), 0);
    assert_false(a.recovery);
    assert_memory_equal(a.key, ec_key_pk(k4), EC_PK_BYTES);

    /* The current key vetoes a recovery it did not ask for. */
    assert_int_equal(s_recover(fx, fx->ca, fx->alice, k4, k5), 0);
    s_commit(fx);
    assert_int_equal(s_key_tx(fx, fx->bob, EC_MTX_KEY_VETO), EC_ENOTFOUND);
    assert_int_equal(s_key_tx(fx, k4, EC_MTX_KEY_VETO), 0);
    s_commit(fx);
    fx->ctx.time_ms += EC_KEY_RECOVERY_DELAY_MS;
    assert_int_equal(s_finish(fx, fx->stranger, fx->alice), EC_ENOTFOUND);
    assert_int_equal(s_account(fx, fx->alice, &a), 0);
    assert_memory_equal(a.key, ec_key_pk(k4), EC_PK_BYTES);
    /* Only attested identities recover. */
    assert_int_equal(s_register(fx, fx->carol, "Carol"), 0);
    s_commit(fx);
    assert_int_equal(s_recover(fx, fx->ca, fx->carol, fx->carol, k5), EC_ESTATE);
    /* Roles granted after the rotation name the identity key (side chains mirror by it). */
    assert_int_equal(s_org(fx, fx->op, "ORG-K", "Keys"), 0);
    assert_int_equal(s_role(fx, fx->op, true, fx->alice, EC_ROLE_ISSUER, "degree", "ORG-K"), 0);
    s_commit(fx);
    assert_int_equal(s_records(fx, fx->ctx.height - 1, 0, 16, recs, 16, &count), 8);
    assert_int_equal(recs[7].kind, EC_REC_ROLE_GRANT);
    assert_memory_equal(recs[7].pk, ec_key_pk(fx->alice), EC_PK_BYTES);
    ec_key_t **keys[] = {&k2, &k3, &k4, &k5};
    for (size_t i = 0; i < 4; i++)
        ec_key_destroy(keys[i]);
}

static void test_authorization(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(s_register(fx, fx->alice, "Alice"), 0);
    assert_int_equal(s_register(fx, fx->bob, "Bob"), 0);
    assert_int_equal(s_register(fx, fx->carol, "Carol"), 0);
    assert_int_equal(s_register(fx, fx->ca, "The CA"), 0);
    assert_int_equal(s_org(fx, fx->op, "ORG-1", "First Org"), 0);
    assert_int_equal(s_role(fx, fx->op, true, fx->ca, EC_ROLE_CA, "", ""), 0);
    /* the second operator grants bob every role but CA */
    assert_int_equal(s_role(fx, fx->op2, true, fx->bob, EC_ROLE_ISSUER, "degree", "ORG-1"), 0);
    assert_int_equal(s_role(fx, fx->op2, true, fx->bob, EC_ROLE_INSPECTOR, "degree", "ORG-1"), 0);
    assert_int_equal(s_role(fx, fx->op2, true, fx->bob, EC_ROLE_SUPERVISOR, "", "ORG-1"), 0);
    s_commit(fx);

    const ec_key_t *const not_operators[] = {fx->val,   fx->ca,       fx->bob,
                                             fx->carol, fx->stranger, fx->side_val};
    const size_t n_not_operators = sizeof not_operators / sizeof not_operators[0];
    ec_genesis_t g;
    s_side_genesis(fx, &g, SIDE_ID, "degree");
    ec_valset_t vs = {0};
    vs.count = 1;
    memcpy(vs.v[0].pk, ec_key_pk(fx->carol), EC_PK_BYTES);
    vs.v[0].power = 1;
    for (size_t i = 0; i < n_not_operators; i++) {
        const ec_key_t *k = not_operators[i];
        assert_int_equal(s_org(fx, k, "ORG-X", "Not Theirs"), EC_EPERM);
        assert_non_null(strstr(fx->st.msg, "not an operator"));
        assert_int_equal(s_role(fx, k, true, fx->carol, EC_ROLE_CA, "", ""), EC_EPERM);
        assert_int_equal(s_role(fx, k, true, fx->carol, EC_ROLE_ISSUER, "degree", "ORG-1"),
                         EC_EPERM);
        assert_int_equal(s_role(fx, k, false, fx->bob, EC_ROLE_ISSUER, "degree", "ORG-1"),
                         EC_EPERM);
        assert_int_equal(s_role(fx, k, false, fx->ca, EC_ROLE_CA, "", ""), EC_EPERM);
        assert_int_equal(s_sidechain(fx, k, &g), EC_EPERM);
    }
    /* a role holder cannot give up its own role either: revocation is governance */
    assert_int_equal(s_role(fx, fx->bob, false, fx->bob, EC_ROLE_SUPERVISOR, "", "ORG-1"),
                     EC_EPERM);
    assert_int_equal(s_role(fx, fx->ca, false, fx->ca, EC_ROLE_CA, "", ""), EC_EPERM);
    assert_int_equal(s_role_count(fx, fx->bob), 3);
    assert_int_equal(s_role_count(fx, fx->carol), 0);
    assert_int_equal(s_role_count(fx, fx->ca), 1);

    /* ATTEST: only a CA; operators, a validator, other roles and no role are refused */
    const ec_key_t *const not_cas[] = {fx->op,    fx->op2,      fx->val,     fx->bob,
                                       fx->carol, fx->stranger, fx->side_val};
    for (size_t i = 0; i < sizeof not_cas / sizeof not_cas[0]; i++) {
        assert_int_equal(s_attest(fx, not_cas[i], fx->alice, 0xa1), EC_EPERM);
        assert_non_null(strstr(fx->st.msg, "not a certification authority"));
    }
    assert_int_equal(s_attest(fx, fx->ca, fx->alice, 0xa1), 0);
    /* a CA role names an organization or none: either makes a CA; held twice, revoking one
     * leaves a CA, revoking both leaves none */
    assert_int_equal(s_role(fx, fx->op, true, fx->carol, EC_ROLE_CA, "", "ORG-1"), 0);
    assert_int_equal(s_role(fx, fx->op, true, fx->carol, EC_ROLE_CA, "", ""), 0);
    s_commit(fx);
    assert_int_equal(s_role(fx, fx->op2, false, fx->carol, EC_ROLE_CA, "", ""), 0);
    assert_int_equal(s_attest(fx, fx->carol, fx->bob, 0xb1), 0);
    assert_int_equal(s_role(fx, fx->op2, false, fx->carol, EC_ROLE_CA, "", "ORG-1"), 0);
    assert_int_equal(s_attest(fx, fx->carol, fx->carol, 0xc1), EC_EPERM);
    s_commit(fx);
    assert_int_equal(s_attest(fx, fx->carol, fx->carol, 0xc1), EC_EPERM);

    /* the second operator may govern as the first does */
    assert_int_equal(s_org(fx, fx->op2, "ORG-2", "Second Org"), 0);
    assert_int_equal(s_sidechain(fx, fx->op2, &g), 0);
    s_commit(fx);
    for (size_t i = 0; i < n_not_operators; i++) {
        /* not even the side chain's own validator may change its set or unfreeze it */
        assert_int_equal(s_side_update(fx, not_operators[i], SIDE_ID, &vs, false), EC_EPERM);
        assert_int_equal(s_side_update(fx, not_operators[i], SIDE_ID, &vs, true), EC_EPERM);
        assert_non_null(strstr(fx->st.msg, "not an operator"));
    }
    assert_int_equal(s_side_update(fx, fx->op2, SIDE_ID, &vs, false), 0);
    assert_int_equal(s_role(fx, fx->op2, false, fx->bob, EC_ROLE_ISSUER, "degree", "ORG-1"), 0);
    s_commit(fx);
    assert_int_equal(s_role_count(fx, fx->bob), 2);
}

/* ---- records query, snapshots and state roots --------------------------------------------- */

static void test_records(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(s_register(fx, fx->alice, "Alice"), 0);
    assert_int_equal(s_register(fx, fx->ca, "CA"), 0);
    assert_int_equal(s_org(fx, fx->op, "ORG-1", "Org"), 0);
    s_commit(fx); /* 1: no records */
    s_commit(fx); /* 2: empty block */
    s_commit(fx); /* 3: empty block, shares the snapshot of 2 */
    assert_int_equal(s_role(fx, fx->op, true, fx->ca, EC_ROLE_CA, "", ""), 0);
    for (int i = 0; i < 40; i++) {
        const char *type = (i % 2) ? "degree" : "license";
        bool grant = (i / 2) % 2 == 0;
        assert_int_equal(s_role(fx, fx->op, grant, fx->alice, EC_ROLE_ISSUER, type, "ORG-1"), 0);
    }
    s_commit(fx); /* 4: 41 records */
    assert_int_equal(s_attest(fx, fx->ca, fx->alice, 0x11), 0);
    s_commit(fx); /* 5: 42 records */
    s_commit(fx); /* 6: empty */

    ec_record_t recs[64];
    uint64_t count = 0;
    assert_int_equal(s_records(fx, 1, 0, 10, recs, 64, &count), 0);
    assert_int_equal(count, 0);
    assert_int_equal(s_records(fx, 3, 0, 10, recs, 64, &count), 0);
    assert_int_equal(s_records(fx, 4, 0, 100, recs, 64, &count), 41);
    assert_int_equal(count, 41);
    assert_int_equal(s_records(fx, 5, 0, 100, recs, 64, &count), 42);
    assert_int_equal(recs[41].kind, EC_REC_ATTEST);
    assert_int_equal(s_records(fx, 6, 0, 100, recs, 64, &count), 42);
    /* Windows, and proofs against an older size still verify. */
    assert_int_equal(s_records(fx, 6, 10, 5, recs, 64, &count), 5);
    assert_int_equal(recs[0].seq, 10);
    assert_int_equal(s_records(fx, 4, 40, 5, recs, 64, &count), 1);
    assert_int_equal(s_records(fx, 4, 41, 5, recs, 64, &count), 0);
    assert_int_equal(s_records(fx, 6, 1000, 5, recs, 64, &count), 0);
    assert_int_equal(s_records(fx, 6, 0, 0, recs, 64, &count), 0);
    /* max above 256 is served in part. */
    assert_int_equal(s_records(fx, 6, 0, 100000, recs, 64, &count), 42);
    /* Heights not committed. */
    assert_int_equal(s_records(fx, 0, 0, 5, recs, 64, &count), EC_ENOTFOUND);
    assert_int_equal(s_records(fx, 7, 0, 5, recs, 64, &count), EC_ENOTFOUND);

    /* Empty blocks share one state root shape: SHA-256 of no writes. */
    assert_memory_equal(fx->roots[2], fx->roots[3], EC_HASH_BYTES);
    assert_memory_not_equal(fx->roots[1], fx->roots[2], EC_HASH_BYTES);
    assert_memory_not_equal(fx->roots[3], fx->roots[6], EC_HASH_BYTES); /* records differ */
    /* The root formula, recomputed from the log itself. */
    uint8_t root[EC_HASH_BYTES], digest[EC_HASH_BYTES], sr[EC_HASH_BYTES];
    assert_int_equal(ec_mlog_root(fx->l, EC_MLOG_RECORDS, root), 0);
    ec_sha256(digest, "", 0);
    ec_main_state_root(sr, root, 42, digest);
    assert_memory_equal(sr, fx->roots[6], EC_HASH_BYTES);

    /* Bad args. */
    q_t q;
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 2);
    ec_write_uint(&a, 1);
    ec_write_uint(&a, 1);
    assert_int_equal(s_query(fx, &q, "records", &a), EC_EINVAL);
    s_q_fini(&q);
    ec_writer_fini(&a);
}

/* Two apps applying the same transactions report the same state roots. */
static void test_determinism(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(s_register(fx, fx->alice, "Alice"), 0);
    assert_int_equal(s_register(fx, fx->bob, "Bob"), 0);
    assert_int_equal(s_org(fx, fx->op, "ORG-1", "Org"), 0);
    assert_int_equal(s_role(fx, fx->op, true, fx->bob, EC_ROLE_CA, "", ""), 0);
    s_commit(fx);
    uint8_t first[EC_HASH_BYTES];
    memcpy(first, fx->roots[1], EC_HASH_BYTES);

    /* Replay into a fresh ledger with the same nonces. */
    char dir[64];
    ec_ledger_t *l2 = tu_ledger_make(dir, sizeof dir, "ec-mc2");
    ec_ledger_t *saved = fx->l;
    fx->l = l2;
    fx->ctx.ledger = l2;
    fx->ctx.height = 1;
    fx->nonce = 0;
    assert_int_equal(s_register(fx, fx->alice, "Alice"), 0);
    assert_int_equal(s_register(fx, fx->bob, "Bob"), 0);
    assert_int_equal(s_org(fx, fx->op, "ORG-1", "Org"), 0);
    assert_int_equal(s_role(fx, fx->op, true, fx->bob, EC_ROLE_CA, "", ""), 0);
    s_commit(fx);
    assert_memory_equal(first, fx->roots[1], EC_HASH_BYTES);
    fx->l = saved;
    fx->ctx.ledger = saved;
    ec_ledger_destroy(&l2);
    tu_tmpdir_remove(dir);
}

static void test_query_errors(void **state)
{
    fx_t *fx = *state;
    q_t q;
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 0);
    assert_int_equal(s_query(fx, &q, "nope", &a), EC_EMETHOD);
    s_q_fini(&q);
    assert_int_equal(s_query(fx, &q, "account", &a), EC_EINVAL);
    s_q_fini(&q);
    assert_int_equal(s_query(fx, &q, "org", &a), EC_EINVAL);
    s_q_fini(&q);
    assert_int_equal(s_query(fx, &q, "sidechain", &a), EC_EINVAL);
    s_q_fini(&q);
    assert_int_equal(s_query(fx, &q, "anchor_of", &a), EC_EINVAL);
    s_q_fini(&q);
    ec_writer_fini(&a);
    assert_int_equal(s_query_str(fx, &q, "account", "ec1bad"), EC_EINVAL);
    s_q_fini(&q);
    ec_writer_init(&a);
    ec_write_array(&a, 1);
    ec_write_uint(&a, 1);
    assert_int_equal(s_query(fx, &q, "sidechains", &a), EC_EINVAL);
    s_q_fini(&q);
    ec_writer_fini(&a);

    /* The app refuses a side-chain genesis. */
    ec_genesis_t g;
    s_side_genesis(fx, &g, SIDE_ID, "degree");
    ec_status_t st;
    assert_null(mc_app_new(&g, &st));
    assert_int_equal(st.code, EC_ECHAIN);
}

/* The key of citizen i of test_register_many. */
static ec_key_t *s_citizen_key(int i)
{
    uint8_t seed[32] = {0};
    memcpy(seed, &i, sizeof i);
    seed[31] = 0x5a;
    ec_key_t *k = ec_key_from_seed(seed);
    assert_non_null(k);
    return k;
}

/* Many REGISTERs in full blocks, as the engine delivers them (decoded beforehand, one save
 * point each): every one succeeds and every account is there afterwards. How fast this
 * runs is measured by ecert-bench (docs/PERFORMANCE.md), not here. */
static void test_register_many(void **state)
{
    fx_t *fx = *state;
    enum { N = 10000, BLOCK = 2000 };
    ec_writer_t *envs = calloc(N, sizeof *envs);
    ec_tx_t *txs = calloc(N, sizeof *txs);
    assert_non_null(envs);
    assert_non_null(txs);
    ec_writer_t body;
    ec_writer_init(&body);
    ec_write_array(&body, 1);
    ec_write_cstr(&body, "Citizen Name");
    for (int i = 0; i < N; i++) {
        ec_key_t *k = s_citizen_key(i);
        ec_writer_init(&envs[i]);
        ec_tx_build(&envs[i], NULL, MAIN_ID, EC_MTX_REGISTER, k, (uint64_t)i, NULL,
                    ec_writer_data(&body), ec_writer_size(&body));
        ec_key_destroy(&k);
        assert_int_equal(ec_tx_decode(&txs[i], ec_writer_data(&envs[i]), ec_writer_size(&envs[i])),
                         0);
    }
    ec_writer_fini(&body);
    for (int i = 0; i < N; i++) {
        ec_status_t st;
        ec_ledger_savepoint(fx->l);
        assert_int_equal(fx->app->deliver_tx(fx->app->self, &fx->ctx, &txs[i], NULL, 0, &st), 0);
        if ((i + 1) % BLOCK == 0)
            s_commit(fx);
    }
    assert_int_equal(fx->ctx.height, 1 + N / BLOCK);
    /* The first and the last account of the run are stored, at their blocks' heights. */
    static const int probe[] = {0, N - 1};
    for (size_t p = 0; p < sizeof probe / sizeof probe[0]; p++) {
        ec_key_t *k = s_citizen_key(probe[p]);
        acct_t a;
        assert_int_equal(s_account(fx, k, &a), 0);
        assert_string_equal(a.name, "Citizen Name");
        assert_int_equal(a.height, 1 + (uint64_t)probe[p] / BLOCK);
        ec_key_destroy(&k);
    }
    for (int i = 0; i < N; i++) {
        ec_tx_fini(&txs[i]);
        ec_writer_fini(&envs[i]);
    }
    free(txs);
    free(envs);
}

/* A main-chain contract transaction: DEPLOY (code), CALL (fn with one string argument,
 * or none) or DECIDE (decision as a string). */
static int s_contract(fx_t *fx, const ec_key_t *key, uint64_t type, const char *name,
                      const char *org_or_fn, const char *text)
{
    ec_writer_t w, v;
    ec_writer_init(&w);
    ec_writer_init(&v);
    if (type == EC_MTX_CONTRACT_DEPLOY || type == EC_MTX_CONTRACT_UPGRADE) {
        ec_contract_deploy_body_t b = {.code = (const uint8_t *)text, .code_size = strlen(text)};
        snprintf(b.name, sizeof b.name, "%s", name);
        snprintf(b.org_code, sizeof b.org_code, "%s", org_or_fn);
        ec_contract_deploy_body_encode(&w, &b);
    } else if (type == EC_MTX_CONTRACT_CALL) {
        ec_write_array(&v, text ? 1 : 0);
        if (text)
            ec_write_cstr(&v, text);
        ec_contract_call_body_t b = {.args = ec_writer_data(&v), .args_size = ec_writer_size(&v)};
        snprintf(b.name, sizeof b.name, "%s", name);
        snprintf(b.fn, sizeof b.fn, "%s", org_or_fn);
        ec_contract_call_body_encode(&w, &b);
    } else {
        ec_write_cstr(&v, text);
        ec_contract_decide_body_t b = {
            .id = 1, .decision = ec_writer_data(&v), .decision_size = ec_writer_size(&v)};
        snprintf(b.name, sizeof b.name, "%s", name);
        ec_contract_decide_body_encode(&w, &b);
    }
    int rc = s_tx(fx, key, type, &w);
    ec_writer_fini(&w);
    ec_writer_fini(&v);
    return rc;
}

/*
 * Contracts on the main chain: only when the genesis enables them; deployed by a holder
 * of the main chain's deployer role (no certificate type); a contract sees its caller's
 * account (a rotated key acts as it), roles and attestation; an escalation to a CA is
 * settled by a CA only.
 */
static void test_contracts(void **state)
{
    fx_t *fx = *state;
    const char *code =
        "function whoami() return {call.caller, call.attested(), call.has_role('ca')} end\n"
        "function ask(x) return escalate('ca', {x = x}) end\n"
        "function on_decision(id, request, d) storage.put('d/' .. id, d) emit('decided', d) "
        "return d end\n";
    assert_int_equal(s_register(fx, fx->alice, "Alice"), 0);
    assert_int_equal(s_register(fx, fx->ca, "CA"), 0);
    assert_int_equal(s_org(fx, fx->op, "GOV", "Government"), 0);
    assert_int_equal(s_role(fx, fx->op, true, fx->ca, EC_ROLE_CA, "", ""), 0);
    assert_int_equal(s_role(fx, fx->op, true, fx->alice, EC_ROLE_DEPLOYER, "", "GOV"), 0);
    /* A deployer for a side chain's type does not deploy on the main chain. */
    assert_int_equal(s_register(fx, fx->bob, "Bob"), 0);
    assert_int_equal(s_role(fx, fx->op, true, fx->bob, EC_ROLE_DEPLOYER, "degree", "GOV"), 0);
    assert_int_equal(s_attest(fx, fx->ca, fx->alice, 1), 0);
    s_commit(fx);
    /* Not enabled by this genesis. */
    assert_int_equal(s_contract(fx, fx->alice, EC_MTX_CONTRACT_DEPLOY, "law", "GOV", code),
                     EC_EPERM);
    mc_app_free(fx->app);
    fx->g.features = EC_GENESIS_F_CONTRACTS;
    ec_status_t st;
    fx->app = mc_app_new(&fx->g, &st);
    assert_non_null(fx->app);

    assert_int_equal(s_contract(fx, fx->bob, EC_MTX_CONTRACT_DEPLOY, "law", "GOV", code), EC_EPERM);
    assert_int_equal(s_contract(fx, fx->alice, EC_MTX_CONTRACT_DEPLOY, "law", "OTHER", code),
                     EC_EPERM);
    assert_int_equal(s_contract(fx, fx->alice, EC_MTX_CONTRACT_DEPLOY, "law", "GOV", code), 0);
    s_commit(fx);
    assert_int_equal(s_contract(fx, fx->alice, EC_MTX_CONTRACT_CALL, "law", "ask", "x1"), 0);
    assert_int_equal(s_contract(fx, fx->alice, EC_MTX_CONTRACT_DECIDE, "law", NULL, "yes"),
                     EC_EPERM);
    assert_int_equal(s_contract(fx, fx->ca, EC_MTX_CONTRACT_DECIDE, "law", NULL, "yes"), 0);
    s_commit(fx);

    /* The caller's facts, read back through a call's stored result. */
    assert_int_equal(s_contract(fx, fx->alice, EC_MTX_CONTRACT_CALL, "law", "whoami", NULL), 0);
    uint8_t id[EC_HASH_BYTES];
    memcpy(id, fx->last_id, EC_HASH_BYTES);
    s_commit(fx);
    q_t q;
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 1);
    ec_write_bin(&a, id, EC_HASH_BYTES);
    assert_int_equal(s_query(fx, &q, "contract_result", &a), 0);
    const msgpack_object *r = &q.root->via.array.ptr[2];
    char alice[EC_ADDR_MAX], want[128];
    s_addr(alice, fx->alice);
    size_t n =
        (size_t)snprintf(want, sizeof want, "\x93\xd9%c%s\xc3\xc2", (int)strlen(alice), alice);
    assert_int_equal(r->via.bin.size, n);
    assert_memory_equal(r->via.bin.ptr, want, n);
    s_q_fini(&q);
    ec_writer_reset(&a);
    ec_write_array(&a, 2);
    ec_write_cstr(&a, "law");
    ec_write_uint(&a, 1);
    assert_int_equal(s_query(fx, &q, "decision", &a), 0);
    const msgpack_object *role = &q.root->via.array.ptr[4];
    assert_int_equal(role->type, MSGPACK_OBJECT_STR);
    assert_memory_equal(role->via.str.ptr, "ca", 2);
    assert_int_equal(q.root->via.array.ptr[7].via.u64, fx->ctx.height - 2); /* decided at */
    s_q_fini(&q);
    ec_writer_fini(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_register, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_envelope, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_org, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_roles, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_attest, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_sidechain, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_anchor, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_sidechain_update, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_anchor_follows_valset, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_anchor_fork_claims, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_validator_governance, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_authorization, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_governance, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_keys, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_contracts, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_records, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_determinism, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_query_errors, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_register_many, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
