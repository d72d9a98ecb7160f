/*
 * test_appfaults.c - local faults inside deliver_tx and end_block are not verdicts.
 *
 * A read of the pending state that fails (EC_EIO from RocksDB, EC_ENOMEM) must come back out
 * of the chain applications as that fault, so the engine stops the block; if an app turned
 * it into "absent" it would refuse the transaction with a rule verdict (EC_EPERM,
 * EC_ENOTFOUND) that validators whose disks work would not give. A real ledger cannot be
 * made to fail on demand, so this program is linked with -Wl,--wrap=ec_ledger_get_pending
 * (tests/unit/meson.build): every pending read from the apps goes through
 * __wrap_ec_ledger_get_pending below, which fails with s_fault once s_skip reads have
 * passed. State the apps would normally get from main-chain records is written straight
 * into the ledger, in the layout sc_app.c documents.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec_app.h"
#include "ec_body.h"
#include "ec_chain.h"
#include "ec_codec.h"
#include "ec_crypto.h"
#include "ec_ledger.h"
#include "ec_types.h"
#include "mc_app.h"
#include "sc_app.h"
#include "test_util.h"

/* ---- the fault injector ----------------------------------------------------------------- */

int __real_ec_ledger_get_pending(ec_ledger_t *l, ec_cf_t cf, const void *key, size_t key_size,
                                 uint8_t **val, size_t *val_size);
int __wrap_ec_ledger_get_pending(ec_ledger_t *l, ec_cf_t cf, const void *key, size_t key_size,
                                 uint8_t **val, size_t *val_size);

static int s_fault; /* 0: reads pass; else the code reads fail with after s_skip passed */
static int s_skip;
static int s_reads; /* pending reads seen since the last s_arm                          */

int __wrap_ec_ledger_get_pending(ec_ledger_t *l, ec_cf_t cf, const void *key, size_t key_size,
                                 uint8_t **val, size_t *val_size)
{
    s_reads++;
    if (s_fault != 0 && s_skip-- <= 0) {
        *val = NULL;
        *val_size = 0;
        return s_fault;
    }
    return __real_ec_ledger_get_pending(l, cf, key, key_size, val, val_size);
}

/* From now on the pending read after `skip` good ones fails with `fault` (0: none fail). */
static void s_arm(int fault, int skip)
{
    s_fault = fault;
    s_skip = skip;
    s_reads = 0;
}

/* ---- fixture ---------------------------------------------------------------------------- */

#define SIDE_ID "degree-faults"
#define MAIN_ID "main-faults"
#define ORG "ORG-1"

typedef struct {
    char dir[64];
    ec_ledger_t *ledger;
    ec_key_t *issuer, *holder;
    ec_genesis_t genesis;
    ec_app_t *app;
    bool side; /* which app                                                */
    ec_block_ctx_t ctx;
    ec_writer_t env;
    ec_tx_t tx;
    bool have_tx;
    ec_status_t st;
} fx_t;

static int s_setup(fx_t **out, bool side)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->side = side;
    fx->ledger = tu_ledger_make(fx->dir, sizeof fx->dir, "ecert-appfaults");
    fx->issuer = tu_key(0x11);
    fx->holder = tu_key(0x22);
    ec_genesis_t *g = &fx->genesis;
    g->validators.count = 1;
    memcpy(g->validators.v[0].pk, ec_key_pk(fx->issuer), EC_PK_BYTES);
    g->validators.v[0].power = 1;
    ec_status_t st = {0};
    if (side) {
        snprintf(g->chain_id, sizeof g->chain_id, "%s", SIDE_ID);
        g->kind = EC_CHAIN_SIDE;
        snprintf(g->cert_type, sizeof g->cert_type, "degree");
        snprintf(g->main_chain_id, sizeof g->main_chain_id, "%s", MAIN_ID);
        memset(g->main_genesis_hash, 0x33, EC_HASH_BYTES);
        g->main_validators = g->validators;
        g->main_freshness_ms = EC_MAIN_FRESHNESS_MS_DEFAULT;
        fx->app = sc_app_new(g, &st);
    } else {
        snprintf(g->chain_id, sizeof g->chain_id, "%s", MAIN_ID);
        g->kind = EC_CHAIN_MAIN;
        g->operator_count = 1;
        g->operator_quorum = 1;
        memcpy(g->operators[0], ec_key_pk(fx->issuer), EC_PK_BYTES);
        fx->app = mc_app_new(g, &st);
    }
    assert_non_null(fx->app);
    fx->ctx.genesis = &fx->genesis;
    fx->ctx.ledger = fx->ledger;
    fx->ctx.height = 1;
    fx->ctx.time_ms = 1000;
    ec_writer_init(&fx->env);
    *out = fx;
    return 0;
}

static int s_setup_side(void **state)
{
    return s_setup((fx_t **)state, true);
}

static int s_setup_main(void **state)
{
    return s_setup((fx_t **)state, false);
}

static int s_teardown(void **state)
{
    fx_t *fx = *state;
    s_arm(0, 0);
    if (fx->have_tx)
        ec_tx_fini(&fx->tx);
    if (fx->side)
        sc_app_free(fx->app);
    else
        mc_app_free(fx->app);
    ec_writer_fini(&fx->env);
    ec_key_destroy(&fx->issuer);
    ec_key_destroy(&fx->holder);
    ec_ledger_destroy(&fx->ledger);
    tu_tmpdir_remove(fx->dir);
    free(fx);
    return 0;
}

/* Signs `body` as a transaction of `type` from key (with a payload hash when `payload`)
 * and delivers it to the app. Returns deliver_tx's code; fx->st holds the reason. */
static int s_deliver(fx_t *fx, const ec_key_t *key, uint64_t type, const ec_writer_t *body,
                     bool payload)
{
    static uint64_t nonce = 1;
    uint8_t payload_hash[EC_HASH_BYTES];
    memset(payload_hash, 0x44, sizeof payload_hash);
    ec_tx_build(&fx->env, NULL, fx->genesis.chain_id, type, key, nonce++,
                payload ? payload_hash : NULL, ec_writer_data(body), ec_writer_size(body));
    if (fx->have_tx)
        ec_tx_fini(&fx->tx);
    assert_int_equal(ec_tx_decode(&fx->tx, ec_writer_data(&fx->env), ec_writer_size(&fx->env)), 0);
    fx->have_tx = true;
    memset(&fx->st, 0, sizeof fx->st);
    ec_ledger_savepoint(fx->ledger);
    int rc = fx->app->deliver_tx(fx->app->self, &fx->ctx, &fx->tx, NULL, 0, &fx->st);
    if (rc != 0)
        ec_ledger_rollback(fx->ledger);
    return rc;
}

/* An ISSUE body from the fixture's issuer to its holder. */
static void s_issue_body(fx_t *fx, ec_writer_t *w)
{
    char holder[EC_ADDR_MAX];
    uint8_t root[EC_HASH_BYTES] = {0};
    ec_address_from_pk(holder, ec_key_pk(fx->holder));
    ec_writer_reset(w);
    ec_write_array(w, 4);
    ec_write_cstr(w, holder);
    ec_write_cstr(w, ORG);
    ec_write_bin(w, root, sizeof root);
    ec_write_uint(w, 0);
}

/* Writes the side chain's mirror of "issuer holds the issuer role for degree/ORG-1"
 * ('R' pk role ct_len cert_type org_code -> be64 seq, sc_app.c) and commits it. */
static void s_side_grant_issuer(fx_t *fx)
{
    uint8_t key[1 + EC_PK_BYTES + 2 + 6 + 5], seq[8] = {0};
    size_t n = 0;
    key[n++] = 'R';
    memcpy(key + n, ec_key_pk(fx->issuer), EC_PK_BYTES);
    n += EC_PK_BYTES;
    key[n++] = EC_ROLE_ISSUER;
    key[n++] = 6;
    memcpy(key + n, "degree", 6);
    n += 6;
    memcpy(key + n, ORG, 5);
    n += 5;
    assert_int_equal(n, sizeof key);
    ec_state_put(fx->ledger, key, sizeof key, seq, sizeof seq);
    /* And a mirror fresh enough to believe it: main height 1, read at this block's time
     * ('M' -> format 2, height, hash, hist_root, frozen, records, main_time_ms). */
    uint8_t mirror[90] = {2}, mkey = 'M';
    ec_be64_put(mirror + 1, 1);
    ec_be64_put(mirror + 74, 1);
    ec_be64_put(mirror + 82, fx->ctx.time_ms);
    ec_state_put(fx->ledger, &mkey, 1, mirror, sizeof mirror);
    assert_int_equal(ec_ledger_write(fx->ledger, 1), 0);
    fx->ctx.height = 2;
}

/* ---- side chain ------------------------------------------------------------------------- */

/*
 * Regression (issue 6): the side chain's role and attestation checks treated a failed read
 * as "absent" and refused the ISSUE with EC_EPERM. The fault must come out as itself.
 */
static void test_side_issue_role_read_fault(void **state)
{
    fx_t *fx = *state;
    ec_writer_t body;
    ec_writer_init(&body);
    s_issue_body(fx, &body);
    /* Without a fault: a plain refusal, the issuer holds no role. */
    s_arm(0, 0);
    assert_int_equal(s_deliver(fx, fx->issuer, EC_STX_ISSUE, &body, true), EC_EPERM);
    assert_true(s_reads > 0);
    /* The role read fails: a local fault, not EC_EPERM. */
    s_arm(EC_EIO, 0);
    assert_int_equal(s_deliver(fx, fx->issuer, EC_STX_ISSUE, &body, true), EC_EIO);
    assert_int_equal(fx->st.code, EC_EIO);
    s_arm(EC_ENOMEM, 0);
    assert_int_equal(s_deliver(fx, fx->issuer, EC_STX_ISSUE, &body, true), EC_ENOMEM);
    ec_writer_fini(&body);
}

static void test_side_issue_holder_read_fault(void **state)
{
    fx_t *fx = *state;
    s_side_grant_issuer(fx);
    ec_writer_t body;
    ec_writer_init(&body);
    s_issue_body(fx, &body);
    /* The role is there; the holder is not attested: a verdict. */
    s_arm(0, 0);
    assert_int_equal(s_deliver(fx, fx->issuer, EC_STX_ISSUE, &body, true), EC_EPERM);
    assert_non_null(strstr(fx->st.msg, "not an attested identity"));
    /* The second read (the holder's attestation) fails: EC_EIO, not "not attested". */
    s_arm(EC_EIO, 1);
    assert_int_equal(s_deliver(fx, fx->issuer, EC_STX_ISSUE, &body, true), EC_EIO);
    ec_writer_fini(&body);
}

/* The certificate read of ACK, RENEW, ... and the mirror read of end_block and MAIN_ANCHOR
 * pass a fault through too (they did before; kept that way). */
static void test_side_other_read_faults(void **state)
{
    fx_t *fx = *state;
    ec_writer_t body;
    ec_writer_init(&body);
    uint8_t cert[EC_HASH_BYTES] = {1};
    ec_write_array(&body, 1);
    ec_write_bin(&body, cert, sizeof cert);
    s_arm(0, 0);
    assert_int_equal(s_deliver(fx, fx->holder, EC_STX_ACK, &body, false), EC_ENOTFOUND);
    s_arm(EC_EIO, 0);
    assert_int_equal(s_deliver(fx, fx->holder, EC_STX_ACK, &body, false), EC_EIO);

    uint8_t root[EC_HASH_BYTES];
    s_arm(EC_EIO, 0);
    assert_int_equal(fx->app->end_block(fx->app->self, &fx->ctx, root), EC_EIO);
    s_arm(0, 0);
    assert_int_equal(fx->app->end_block(fx->app->self, &fx->ctx, root), 0);

    /* MAIN_ANCHOR reads the mirror before anything else. */
    ec_writer_reset(&body);
    ec_write_array(&body, 8);
    ec_write_bin(&body, "", 0);
    ec_write_bin(&body, "", 0);
    ec_write_array(&body, 0);
    ec_write_array(&body, 0);
    ec_write_bin(&body, root, sizeof root);
    ec_write_uint(&body, 0);
    ec_write_bin(&body, root, sizeof root);
    ec_write_array(&body, 0);
    s_arm(EC_EIO, 0);
    assert_int_equal(s_deliver(fx, fx->holder, EC_STX_MAIN_ANCHOR, &body, false), EC_EIO);
    ec_writer_fini(&body);
}

/* ---- main chain ------------------------------------------------------------------------- */

/* The main chain's existence checks and account loads pass faults through (pinned). */
static void test_main_read_faults(void **state)
{
    fx_t *fx = *state;
    ec_writer_t body;
    ec_writer_init(&body);
    ec_write_array(&body, 1);
    ec_write_cstr(&body, "Zhang Wei");
    s_arm(EC_EIO, 0);
    assert_int_equal(s_deliver(fx, fx->holder, EC_MTX_REGISTER, &body, false), EC_EIO);
    s_arm(EC_ENOMEM, 0);
    assert_int_equal(s_deliver(fx, fx->holder, EC_MTX_REGISTER, &body, false), EC_ENOMEM);

    /* ATTEST: the sender's account read fails; without the fault it is "not a CA". */
    char addr[EC_ADDR_MAX];
    uint8_t identity[EC_HASH_BYTES] = {9};
    ec_address_from_pk(addr, ec_key_pk(fx->holder));
    ec_writer_reset(&body);
    ec_write_array(&body, 2);
    ec_write_cstr(&body, addr);
    ec_write_bin(&body, identity, sizeof identity);
    s_arm(0, 0);
    assert_int_equal(s_deliver(fx, fx->issuer, EC_MTX_ATTEST, &body, false), EC_EPERM);
    s_arm(EC_EIO, 0);
    assert_int_equal(s_deliver(fx, fx->issuer, EC_MTX_ATTEST, &body, false), EC_EIO);

    /* ORG (sender is the genesis operator): the existence check fails. */
    ec_writer_reset(&body);
    ec_write_array(&body, 3);
    ec_write_cstr(&body, ORG);
    ec_write_cstr(&body, "An organization");
    ec_write_uint(&body, EC_BILLING_PUBLIC);
    s_arm(EC_EIO, 0);
    assert_int_equal(s_deliver(fx, fx->issuer, EC_MTX_ORG, &body, false), EC_EIO);
    s_arm(0, 0);
    assert_int_equal(s_deliver(fx, fx->issuer, EC_MTX_ORG, &body, false), 0);
    ec_writer_fini(&body);
}

int main(void)
{
    if (ec_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_side_issue_role_read_fault, s_setup_side, s_teardown),
        cmocka_unit_test_setup_teardown(test_side_issue_holder_read_fault, s_setup_side,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_side_other_read_faults, s_setup_side, s_teardown),
        cmocka_unit_test_setup_teardown(test_main_read_faults, s_setup_main, s_teardown),
    };
    return cmocka_run_group_tests_name("appfaults", tests, NULL, NULL);
}
