/*
 * test_mlog.c - ec_mlog: roots against RFC 6962/9162 known answers and against
 * ec_merkle_root, every inclusion and consistency proof served by ec_mlog_oracle against
 * the in-memory oracle for sizes 1..100, pending versus committed views, rollback and
 * reopen.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec_crypto.h"
#include "ec_ledger.h"
#include "ec_merkle.h"
#include "ec_mlog.h"
#include "test_util.h"

#define N_MAX 100

typedef struct {
    char dir[64];
    ec_ledger_t *l;
    ec_hash32_t leaves[N_MAX];
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->l = tu_ledger_make(f->dir, sizeof f->dir, "ec-mlog");
    for (uint32_t i = 0; i < N_MAX; i++)
        ec_merkle_leaf(f->leaves[i], EC_LEAF_BLOCK, &i, sizeof i);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    ec_ledger_destroy(&f->l);
    tu_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

static void s_reopen(fixture_t *f)
{
    tu_ledger_reopen(f->dir, &f->l);
}

/* RFC 6962 reference vectors (certificate-transparency merkle_tree_test): leaf hashes are
 * SHA-256(0x00 || data) with no type tag, so the log is fed raw leaf hashes. */
static void test_known_answers(void **state)
{
    fixture_t *f = *state;
    static const char *const data_hex[8] = {
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    };
    static const char *const roots[8] = {
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    };
    uint8_t root[32], want[32];
    assert_int_equal(ec_mlog_root(f->l, 'k', root), 0);
    ec_sha256(want, "", 0);
    assert_memory_equal(root, want, 32); /* the empty tree */
    for (int i = 0; i < 8; i++) {
        uint8_t buf[1 + 16], leaf[32];
        size_t n = strlen(data_hex[i]) / 2;
        buf[0] = 0x00;
        assert_int_equal(ec_unhex(buf + 1, n, data_hex[i]), 0);
        ec_sha256(leaf, buf, 1 + n);
        assert_int_equal(ec_mlog_append(f->l, 'k', leaf), 0);
        assert_int_equal(ec_mlog_root(f->l, 'k', root), 0);
        assert_int_equal(ec_unhex(want, 32, roots[i]), 0);
        assert_memory_equal(root, want, 32);
    }
}

/* Appends all leaves, committing in uneven batches, and checks the pending root after
 * every append against ec_merkle_root. */
static void s_build(fixture_t *f, uint8_t id)
{
    uint64_t size = 0;
    for (uint32_t i = 0; i < N_MAX; i++) {
        uint8_t root[32], want[32];
        assert_int_equal(ec_mlog_append(f->l, id, f->leaves[i]), 0);
        assert_int_equal(ec_mlog_size(f->l, id, &size), 0);
        assert_true(size == i + 1);
        assert_int_equal(ec_mlog_root(f->l, id, root), 0);
        ec_merkle_root(want, f->leaves, i + 1);
        assert_memory_equal(root, want, 32);
        if (i % 7 == 3 || i == N_MAX - 1)
            assert_int_equal(ec_ledger_write(f->l, ec_ledger_height(f->l) + 1), 0);
    }
}

static void test_roots_and_proofs(void **state)
{
    fixture_t *f = *state;
    s_build(f, EC_MLOG_HIST);
    ec_mlog_reader_t r = {.ledger = f->l, .log_id = EC_MLOG_HIST};
    uint64_t committed = 0;
    assert_int_equal(ec_mlog_committed_size(f->l, EC_MLOG_HIST, &committed), 0);
    assert_true(committed == N_MAX);

    for (uint64_t n = 1; n <= N_MAX; n++) {
        ec_merkle_mem_t mem = {.leaves = f->leaves, .count = n};
        uint8_t root[32], want[32];
        assert_int_equal(ec_mlog_oracle(&r, 0, n, root), 0);
        ec_merkle_root(want, f->leaves, n);
        assert_memory_equal(root, want, 32);

        for (uint64_t i = 0; i < n; i++) {
            ec_hash32_t p1[EC_MERKLE_PROOF_MAX], p2[EC_MERKLE_PROOF_MAX];
            size_t l1 = 0, l2 = 0;
            assert_int_equal(ec_merkle_inclusion_proof(p1, &l1, ec_mlog_oracle, &r, i, n), 0);
            assert_int_equal(ec_merkle_inclusion_proof(p2, &l2, ec_merkle_mem_oracle, &mem, i, n),
                             0);
            assert_int_equal(l1, l2);
            assert_memory_equal(p1, p2, l1 * 32);
            assert_int_equal(ec_merkle_inclusion_verify(f->leaves[i], i, n, p1, l1, root), 0);
        }
        for (uint64_t m = 1; m <= n; m++) {
            ec_hash32_t p1[EC_MERKLE_PROOF_MAX], p2[EC_MERKLE_PROOF_MAX];
            size_t l1 = 0, l2 = 0;
            uint8_t old_root[32];
            assert_int_equal(ec_merkle_consistency_proof(p1, &l1, ec_mlog_oracle, &r, m, n), 0);
            assert_int_equal(ec_merkle_consistency_proof(p2, &l2, ec_merkle_mem_oracle, &mem, m, n),
                             0);
            assert_int_equal(l1, l2);
            assert_memory_equal(p1, p2, l1 * 32);
            ec_merkle_root(old_root, f->leaves, m);
            assert_int_equal(ec_merkle_consistency_verify(m, n, old_root, root, p1, l1), 0);
        }
    }
    /* Every range, not only those proofs ask for. */
    for (uint64_t b = 0; b < N_MAX; b += 3)
        for (uint64_t e = b + 1; e <= N_MAX; e++) {
            uint8_t got[32], want[32];
            assert_int_equal(ec_mlog_oracle(&r, b, e, got), 0);
            ec_merkle_root(want, f->leaves + b, e - b);
            assert_memory_equal(got, want, 32);
        }
    for (uint64_t i = 0; i < N_MAX; i++) {
        uint8_t leaf[32];
        assert_int_equal(ec_mlog_leaf(f->l, EC_MLOG_HIST, i, leaf), 0);
        assert_memory_equal(leaf, f->leaves[i], 32);
    }
}

static void test_errors(void **state)
{
    fixture_t *f = *state;
    ec_mlog_reader_t r = {.ledger = f->l, .log_id = EC_MLOG_HIST};
    uint8_t out[32];
    for (int i = 0; i < 5; i++)
        assert_int_equal(ec_mlog_append(f->l, EC_MLOG_HIST, f->leaves[i]), 0);
    assert_int_equal(ec_ledger_write(f->l, 1), 0);
    assert_int_equal(ec_mlog_oracle(&r, 3, 3, out), EC_EINVAL);
    assert_int_equal(ec_mlog_oracle(&r, 4, 3, out), EC_EINVAL);
    assert_int_equal(ec_mlog_oracle(&r, 0, 6, out), EC_ENOTFOUND); /* past the size */
    assert_int_equal(ec_mlog_leaf(f->l, EC_MLOG_HIST, 5, out), EC_ENOTFOUND);
    ec_hash32_t path[EC_MERKLE_PROOF_MAX];
    size_t len = 0;
    assert_int_not_equal(ec_merkle_inclusion_proof(path, &len, ec_mlog_oracle, &r, 0, 8), 0);
}

static void test_pending_committed_rollback(void **state)
{
    fixture_t *f = *state;
    uint64_t size = 0;
    uint8_t root[32], want[32], before[32];
    /* Two logs side by side do not interfere. */
    for (int i = 0; i < 10; i++) {
        assert_int_equal(ec_mlog_append(f->l, EC_MLOG_HIST, f->leaves[i]), 0);
        assert_int_equal(ec_mlog_append(f->l, EC_MLOG_RECORDS, f->leaves[N_MAX - 1 - i]), 0);
    }
    assert_int_equal(ec_mlog_size(f->l, EC_MLOG_HIST, &size), 0);
    assert_true(size == 10);
    assert_int_equal(ec_mlog_committed_size(f->l, EC_MLOG_HIST, &size), 0);
    assert_true(size == 0); /* nothing committed yet */
    assert_int_equal(ec_mlog_leaf(f->l, EC_MLOG_HIST, 0, root), EC_ENOTFOUND);
    assert_int_equal(ec_ledger_write(f->l, 1), 0);
    assert_int_equal(ec_mlog_committed_size(f->l, EC_MLOG_HIST, &size), 0);
    assert_true(size == 10);
    assert_int_equal(ec_mlog_committed_size(f->l, EC_MLOG_RECORDS, &size), 0);
    assert_true(size == 10);

    /* A rolled-back append leaves no trace; a kept one survives. */
    assert_int_equal(ec_mlog_root(f->l, EC_MLOG_HIST, before), 0);
    ec_ledger_savepoint(f->l);
    assert_int_equal(ec_mlog_append(f->l, EC_MLOG_HIST, f->leaves[10]), 0);
    assert_int_equal(ec_mlog_append(f->l, EC_MLOG_HIST, f->leaves[11]), 0);
    assert_int_equal(ec_mlog_size(f->l, EC_MLOG_HIST, &size), 0);
    assert_true(size == 12);
    ec_ledger_rollback(f->l);
    assert_int_equal(ec_mlog_size(f->l, EC_MLOG_HIST, &size), 0);
    assert_true(size == 10);
    assert_int_equal(ec_mlog_root(f->l, EC_MLOG_HIST, root), 0);
    assert_memory_equal(root, before, 32);

    /* A different leaf appended after the rollback lands at index 10. */
    assert_int_equal(ec_mlog_append(f->l, EC_MLOG_HIST, f->leaves[50]), 0);
    ec_hash32_t expect[11];
    memcpy(expect, f->leaves, 10 * 32);
    memcpy(expect[10], f->leaves[50], 32);
    ec_merkle_root(want, expect, 11);
    assert_int_equal(ec_mlog_root(f->l, EC_MLOG_HIST, root), 0);
    assert_memory_equal(root, want, 32);

    /* Discarding the block drops pending appends as well. */
    ec_ledger_discard(f->l);
    assert_int_equal(ec_mlog_root(f->l, EC_MLOG_HIST, root), 0);
    assert_memory_equal(root, before, 32);

    /* Reopen keeps the committed log, in both logs. */
    assert_int_equal(ec_mlog_append(f->l, EC_MLOG_HIST, f->leaves[50]), 0);
    assert_int_equal(ec_ledger_write(f->l, 2), 0);
    assert_int_equal(ec_mlog_append(f->l, EC_MLOG_HIST, f->leaves[51]), 0); /* never written */
    s_reopen(f);
    assert_int_equal(ec_mlog_size(f->l, EC_MLOG_HIST, &size), 0);
    assert_true(size == 11);
    assert_int_equal(ec_mlog_root(f->l, EC_MLOG_HIST, root), 0);
    assert_memory_equal(root, want, 32);
    ec_mlog_reader_t r = {.ledger = f->l, .log_id = EC_MLOG_HIST};
    assert_int_equal(ec_mlog_oracle(&r, 0, 11, root), 0);
    assert_memory_equal(root, want, 32);
    ec_hash32_t rev[10];
    for (int i = 0; i < 10; i++)
        memcpy(rev[i], f->leaves[N_MAX - 1 - i], 32);
    ec_merkle_root(want, rev, 10);
    assert_int_equal(ec_mlog_root(f->l, EC_MLOG_RECORDS, root), 0);
    assert_memory_equal(root, want, 32);
}

int main(void)
{
    assert_int_equal(ec_crypto_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_known_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roots_and_proofs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_committed_rollback, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
