/*
 * test_util.h - helpers shared by the cmocka unit tests: deterministic keys from a seed
 * byte, temporary directories under /tmp that a test creates and removes again, a
 * real ledger opened in one, and stderr captured to check what was logged.
 * Header-only (static inline) so that every test program stays a single source file and
 * tests/unit/meson.build needs no change. Include it after <cmocka.h>: the helpers fail
 * the running test through cmocka's asserts instead of returning error codes, because a
 * failure here is a broken test environment, not a result under test.
 */
#ifndef EC_TEST_UTIL_H
#define EC_TEST_UTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ec_crypto.h"
#include "ec_ledger.h"

/* Returns a key whose 32-byte seed is seed_byte repeated; fails the test if it cannot be
 * made. The caller owns the key (ec_key_destroy). */
static inline ec_key_t *tu_key(uint8_t seed_byte)
{
    uint8_t seed[32];
    memset(seed, seed_byte, sizeof seed);
    ec_key_t *k = ec_key_from_seed(seed);
    assert_non_null(k);
    return k;
}

/* Creates a fresh directory /tmp/<tag>-XXXXXX and writes its path to dir (cap bytes).
 * Fails the test if the name does not fit or the directory cannot be made. */
static inline void tu_tmpdir_make(char *dir, size_t cap, const char *tag)
{
    int n = snprintf(dir, cap, "/tmp/%s-XXXXXX", tag);
    assert_true(n > 0 && (size_t)n < cap);
    assert_non_null(mkdtemp(dir));
}

/* nftw callback for tu_tmpdir_remove: removes one file or (emptied) directory. */
static inline int tu_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Removes dir and everything below it, depth first, without following links. Fails the
 * test if anything cannot be removed, so a test never leaves its files behind silently. */
static inline void tu_tmpdir_remove(const char *dir)
{
    assert_int_equal(nftw(dir, tu_rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* Makes a fresh temporary directory /tmp/<tag>-XXXXXX (path into dir) and opens a ledger
 * in it; fails the test if either cannot be done. */
static inline ec_ledger_t *tu_ledger_make(char *dir, size_t cap, const char *tag)
{
    tu_tmpdir_make(dir, cap, tag);
    ec_status_t st = {0};
    ec_ledger_t *l = ec_ledger_open(dir, &st);
    if (!l)
        fail_msg("ec_ledger_open(%s): %s", dir, st.msg);
    return l;
}

/* Closes *l (if open) and opens the ledger in dir again, as a restarted node would. */
static inline void tu_ledger_reopen(const char *dir, ec_ledger_t **l)
{
    ec_ledger_destroy(l);
    ec_status_t st = {0};
    *l = ec_ledger_open(dir, &st);
    if (!*l)
        fail_msg("ec_ledger_open(%s): %s", dir, st.msg);
}

/* Where stderr went while tu_stderr_begin captured it. */
typedef struct {
    int saved_fd; /* the real stderr                                   */
    int file_fd;  /* an unlinked temporary file that receives it        */
} tu_stderr_t;

/* Sends stderr (where ec_log writes) to a temporary file until tu_stderr_end. */
static inline void tu_stderr_begin(tu_stderr_t *c)
{
    char path[] = "/tmp/ec-test-stderr-XXXXXX";
    c->file_fd = mkstemp(path);
    assert_true(c->file_fd >= 0);
    unlink(path);
    fflush(stderr);
    c->saved_fd = dup(2);
    assert_true(c->saved_fd >= 0);
    assert_true(dup2(c->file_fd, 2) >= 0);
}

/* Restores stderr and copies what was written to it (at most cap - 1 bytes) into out,
 * NUL-terminated. */
static inline void tu_stderr_end(tu_stderr_t *c, char *out, size_t cap)
{
    fflush(stderr);
    assert_true(dup2(c->saved_fd, 2) >= 0);
    close(c->saved_fd);
    ssize_t n = pread(c->file_fd, out, cap - 1, 0);
    assert_true(n >= 0);
    out[n] = '\0';
    close(c->file_fd);
}

#endif
