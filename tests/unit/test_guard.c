/*
 * test_guard.c - the guard record (common/ec_guard.c): round trips through a real file,
 * the alternating slots surviving a torn or damaged slot, refusal of a file with no valid
 * slot, and the memory variant the simulator uses.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ec_guard.h"
#include "test_util.h"

typedef struct {
    char dir[64];
    char path[128];
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tu_tmpdir_make(f->dir, sizeof f->dir, "ecert-guard");
    snprintf(f->path, sizeof f->path, "%s/%s", f->dir, EC_GUARD_FILE);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    tu_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

/* A state with every field set to something recognisable. */
static void s_sample(ec_guard_state_t *s, uint64_t n)
{
    ec_guard_state_init(s, NULL);
    s->committed_height = 100 + n;
    memset(s->committed_hash, (int)(0x10 + n), EC_HASH_BYTES);
    s->signed_height = 101 + n;
    s->signed_round = 3;
    s->signed_step = EC_GUARD_STEP_PRECOMMIT;
    s->signed_nil = (n % 2) == 1;
    memset(s->signed_hash, 0x22, EC_HASH_BYTES);
    memset(s->signed_sig, 0x33, EC_SIG_BYTES);
    s->locked_round = 2;
    memset(s->locked_hash, 0x44, EC_HASH_BYTES);
    s->valid_round = (int64_t)n;
    memset(s->valid_hash, 0x55, EC_HASH_BYTES);
    s->voted_round = 3;
    s->voted_type = 2;
    s->prevote_round = 3;
    s->prevote_nil = (n % 3) == 1;
    memset(s->prevote_hash, 0x66, EC_HASH_BYTES);
    memset(s->prevote_sig, (int)(0x70 + n), EC_SIG_BYTES);
    s->fresh = (n % 2) == 0;
    s->abstain_until = 1000 + n;
}

static void s_assert_same(const ec_guard_state_t *a, const ec_guard_state_t *b)
{
    assert_int_equal(a->committed_height, b->committed_height);
    assert_memory_equal(a->committed_hash, b->committed_hash, EC_HASH_BYTES);
    assert_int_equal(a->signed_height, b->signed_height);
    assert_int_equal(a->signed_round, b->signed_round);
    assert_int_equal(a->signed_step, b->signed_step);
    assert_int_equal(a->signed_nil, b->signed_nil);
    assert_memory_equal(a->signed_hash, b->signed_hash, EC_HASH_BYTES);
    assert_memory_equal(a->signed_sig, b->signed_sig, EC_SIG_BYTES);
    assert_int_equal(a->locked_round, b->locked_round);
    assert_memory_equal(a->locked_hash, b->locked_hash, EC_HASH_BYTES);
    assert_int_equal(a->valid_round, b->valid_round);
    assert_memory_equal(a->valid_hash, b->valid_hash, EC_HASH_BYTES);
    assert_int_equal(a->voted_round, b->voted_round);
    assert_int_equal(a->voted_type, b->voted_type);
    assert_int_equal(a->prevote_round, b->prevote_round);
    assert_int_equal(a->prevote_nil, b->prevote_nil);
    assert_memory_equal(a->prevote_hash, b->prevote_hash, EC_HASH_BYTES);
    assert_memory_equal(a->prevote_sig, b->prevote_sig, EC_SIG_BYTES);
    assert_int_equal(a->fresh, b->fresh);
    assert_int_equal(a->abstain_until, b->abstain_until);
}

static ec_guard_t *s_open(const char *path, bool create, bool *created)
{
    ec_status_t st = {0};
    ec_guard_t *g = ec_guard_open(path, create, created, &st);
    if (!g)
        fail_msg("ec_guard_open(%s): %s", path, st.msg);
    return g;
}

static void test_create_and_reopen(void **state)
{
    fixture_t *f = *state;
    ec_status_t st = {0};
    bool created = false;
    assert_null(ec_guard_open(f->path, false, &created, &st));
    assert_int_equal(st.code, EC_ENOTFOUND);

    ec_guard_t *g = s_open(f->path, true, &created);
    assert_true(created);
    const ec_guard_state_t *s = ec_guard_state(g);
    assert_true(s->fresh); /* a new record is marked new, with no bound yet */
    assert_int_equal(s->abstain_until, 0);
    assert_int_equal(s->committed_height, 0);
    assert_int_equal(s->locked_round, -1);
    assert_int_equal(s->valid_round, -1);
    struct stat sb;
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    ec_guard_state_t want;
    s_sample(&want, 1);
    assert_int_equal(ec_guard_save(g, &want, &st), 0);
    assert_int_equal(ec_guard_saves(g), 1);
    ec_guard_destroy(&g);
    assert_null(g);

    g = s_open(f->path, true, &created);
    assert_false(created);
    s_assert_same(ec_guard_state(g), &want);
    ec_guard_destroy(&g);
}

/* Each save goes to the other slot: damaging the newest slot falls back to the previous
 * record, never to garbage, and damaging both is refused. */
static void test_torn_slot_falls_back(void **state)
{
    fixture_t *f = *state;
    ec_status_t st = {0};
    ec_guard_t *g = s_open(f->path, true, NULL);
    ec_guard_state_t a, b;
    s_sample(&a, 2); /* seq 2: slot at EC_GUARD_SLOT_STRIDE */
    s_sample(&b, 3); /* seq 3: slot at 0                     */
    assert_int_equal(ec_guard_save(g, &a, &st), 0);
    assert_int_equal(ec_guard_save(g, &b, &st), 0);
    ec_guard_destroy(&g);

    /* Tear the newest slot (offset 0): one byte in its body. */
    int fd = open(f->path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t x = 0xff;
    assert_int_equal(pwrite(fd, &x, 1, 120), 1);
    close(fd);
    g = s_open(f->path, false, NULL);
    s_assert_same(ec_guard_state(g), &a);
    /* The next save must not overwrite the slot that now holds the record. */
    ec_guard_state_t c;
    s_sample(&c, 4);
    assert_int_equal(ec_guard_save(g, &c, &st), 0);
    ec_guard_destroy(&g);
    g = s_open(f->path, false, NULL);
    s_assert_same(ec_guard_state(g), &c);
    ec_guard_destroy(&g);

    /* Both slots damaged: refused, with a message that says so. */
    fd = open(f->path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, &x, 1, 120), 1);
    assert_int_equal(pwrite(fd, &x, 1, EC_GUARD_SLOT_STRIDE + 120), 1);
    close(fd);
    assert_null(ec_guard_open(f->path, false, NULL, &st));
    assert_int_equal(st.code, EC_EIO);
    assert_non_null(strstr(st.msg, "damaged"));
}

/* A truncated file (both slots cut) and an empty one are refused, not treated as new. */
static void test_truncated_refused(void **state)
{
    fixture_t *f = *state;
    ec_status_t st = {0};
    ec_guard_t *g = s_open(f->path, true, NULL);
    ec_guard_state_t a;
    s_sample(&a, 0);
    assert_int_equal(ec_guard_save(g, &a, &st), 0);
    ec_guard_destroy(&g);
    assert_int_equal(truncate(f->path, 100), 0);
    assert_null(ec_guard_open(f->path, true, NULL, &st));
    assert_int_equal(st.code, EC_EIO);
    assert_int_equal(truncate(f->path, 0), 0);
    assert_null(ec_guard_open(f->path, true, NULL, &st));
    assert_int_equal(st.code, EC_EIO);
}

static void test_memory_guard(void **state)
{
    (void)state;
    ec_guard_mem_t mem;
    memset(&mem, 0, sizeof mem);
    bool created = false;
    ec_guard_t *g = ec_guard_open_mem(&mem, &created);
    assert_non_null(g);
    assert_true(created);
    assert_true(ec_guard_state(g)->fresh);
    ec_guard_state_t a;
    s_sample(&a, 5);
    assert_int_equal(ec_guard_save(g, &a, NULL), 0);
    ec_guard_destroy(&g);
    g = ec_guard_open_mem(&mem, &created);
    assert_false(created);
    s_assert_same(ec_guard_state(g), &a);
    ec_guard_destroy(&g);
}

int main(void)
{
    assert_int_equal(ec_crypto_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_slot_falls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_refused, setup, teardown),
        cmocka_unit_test(test_memory_guard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
