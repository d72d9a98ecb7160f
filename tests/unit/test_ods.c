/*
 * test_ods.c - the ODS's encrypted-file stream and put message (common/ec_ods.c) and
 * odsd's object store (ods/ods_store.c).
 *
 * The stream is round-tripped over the plaintext sizes where chunking changes (0, 1, one
 * chunk less one, exactly one chunk, one more, several), and every way a stream can be
 * spoiled (a flipped bit, a dropped, repeated or reordered chunk, a cut final chunk, the
 * wrong key) must be refused. The store is driven through whole puts and gets in a fresh
 * folder under /tmp: its layout, the order and bounds of uploads and downloads, a
 * wrong hash, idempotent puts, a damaged object found while served and set aside, and the
 * clean-up of tmp/ at start-up.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ec_ods.h"
#include "ods_store.h"
#include "test_util.h"

#define S_PIECE (EC_ODS_PLAIN_CHUNK + EC_ODS_STREAM_ABYTES) /* one full sealed chunk */

/* ---- the stream ------------------------------------------------------------------------- */

/* Deterministic test bytes. */
static void s_fill(uint8_t *buf, size_t size, uint32_t seed)
{
    for (size_t i = 0; i < size; i++) {
        seed = seed * 1103515245u + 12345u;
        buf[i] = (uint8_t)(seed >> 16);
    }
}

/* Encrypts plain (size bytes) under key into a new buffer of ec_ods_cipher_size(size). */
static uint8_t *s_encrypt(const uint8_t key[EC_ODS_KEY_BYTES], const uint8_t *plain, size_t size,
                          size_t *out_size)
{
    size_t total = (size_t)ec_ods_cipher_size(size);
    uint8_t *out = malloc(total);
    assert_non_null(out);
    ec_ods_stream_t s;
    ec_ods_enc_init(&s, key, out);
    size_t at = EC_ODS_STREAM_HEADER, done = 0;
    for (bool last = false; !last;) {
        size_t n = size - done < EC_ODS_PLAIN_CHUNK ? size - done : EC_ODS_PLAIN_CHUNK;
        last = n < EC_ODS_PLAIN_CHUNK;
        ec_ods_enc_chunk(&s, out + at, plain + done, n, last);
        at += n + EC_ODS_STREAM_ABYTES;
        done += n;
    }
    ec_ods_stream_fini(&s);
    assert_int_equal(at, total);
    *out_size = total;
    return out;
}

/* Decrypts a whole encrypted file into plain (capacity cap) as a reader would: the header,
 * then full pieces, the last one possibly short. Returns 0 and *size, or EC_ECRYPTO
 * (including a stream that ends without its final chunk). */
static int s_decrypt(const uint8_t key[EC_ODS_KEY_BYTES], const uint8_t *in, size_t in_size,
                     uint8_t *plain, size_t cap, size_t *size)
{
    *size = 0;
    if (in_size < EC_ODS_STREAM_HEADER)
        return EC_ECRYPTO;
    ec_ods_stream_t s;
    int rc = ec_ods_dec_init(&s, key, in);
    size_t at = EC_ODS_STREAM_HEADER;
    bool last = false;
    while (rc == 0 && !last && at < in_size) {
        size_t n = in_size - at < S_PIECE ? in_size - at : S_PIECE;
        assert_true(*size + EC_ODS_PLAIN_CHUNK <= cap || n < S_PIECE);
        rc = ec_ods_dec_chunk(&s, plain + *size, in + at, n, &last);
        if (rc == 0)
            *size += n - EC_ODS_STREAM_ABYTES;
        at += n;
    }
    ec_ods_stream_fini(&s);
    if (rc == 0 && (!last || at != in_size))
        rc = EC_ECRYPTO; /* truncated, or bytes after the final chunk */
    return rc;
}

static void test_cipher_size(void **state)
{
    (void)state;
    assert_int_equal(ec_ods_cipher_size(0), 24 + 17);
    assert_int_equal(ec_ods_cipher_size(1), 24 + 1 + 17);
    assert_int_equal(ec_ods_cipher_size(EC_ODS_PLAIN_CHUNK - 1), 24 + 65535 + 17);
    /* A whole chunk is followed by an empty final one. */
    assert_int_equal(ec_ods_cipher_size(EC_ODS_PLAIN_CHUNK), 24 + 65536 + 2 * 17);
    assert_int_equal(ec_ods_cipher_size(3 * EC_ODS_PLAIN_CHUNK + 5), 24 + 3 * 65536 + 5 + 4 * 17);
}

static void test_stream_round_trip(void **state)
{
    (void)state;
    const size_t sizes[] = {0,
                            1,
                            EC_ODS_PLAIN_CHUNK - 1,
                            EC_ODS_PLAIN_CHUNK,
                            EC_ODS_PLAIN_CHUNK + 1,
                            2 * EC_ODS_PLAIN_CHUNK,
                            3 * EC_ODS_PLAIN_CHUNK + 12345};
    uint8_t key[EC_ODS_KEY_BYTES];
    s_fill(key, sizeof key, 7);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t size = sizes[i], csize = 0, got = 0;
        uint8_t *plain = malloc(size + 1), *back = malloc(size + EC_ODS_PLAIN_CHUNK);
        assert_non_null(plain);
        assert_non_null(back);
        s_fill(plain, size, (uint32_t)i + 1);
        uint8_t *cipher = s_encrypt(key, plain, size, &csize);
        assert_int_equal(csize, ec_ods_cipher_size(size));
        assert_int_equal(s_decrypt(key, cipher, csize, back, size + EC_ODS_PLAIN_CHUNK, &got), 0);
        assert_int_equal(got, size);
        assert_memory_equal(back, plain, size);
        /* Two encryptions of the same file differ (a fresh header each time). */
        size_t csize2 = 0;
        uint8_t *cipher2 = s_encrypt(key, plain, size, &csize2);
        assert_int_equal(csize2, csize);
        assert_memory_not_equal(cipher2, cipher, EC_ODS_STREAM_HEADER);
        free(cipher2);
        free(cipher);
        free(plain);
        free(back);
    }
}

static void test_stream_spoiled(void **state)
{
    (void)state;
    uint8_t key[EC_ODS_KEY_BYTES], other[EC_ODS_KEY_BYTES];
    s_fill(key, sizeof key, 11);
    s_fill(other, sizeof other, 12);
    size_t size = 2 * EC_ODS_PLAIN_CHUNK + 100, csize = 0, got = 0;
    uint8_t *plain = malloc(size), *back = malloc(size + EC_ODS_PLAIN_CHUNK);
    assert_non_null(plain);
    assert_non_null(back);
    s_fill(plain, size, 3);
    uint8_t *cipher = s_encrypt(key, plain, size, &csize);
    uint8_t *copy = malloc(csize);
    assert_non_null(copy);
    size_t cap = size + EC_ODS_PLAIN_CHUNK;

    /* The wrong key. */
    assert_int_equal(s_decrypt(other, cipher, csize, back, cap, &got), EC_ECRYPTO);
    /* One flipped bit anywhere: in the header, a full chunk, the final chunk's tag. */
    const size_t flips[] = {0, EC_ODS_STREAM_HEADER + 5, EC_ODS_STREAM_HEADER + S_PIECE + 7000,
                            csize - 1};
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        memcpy(copy, cipher, csize);
        copy[flips[i] < csize ? flips[i] : csize - 1] ^= 0x10;
        assert_int_equal(s_decrypt(key, copy, csize, back, cap, &got), EC_ECRYPTO);
    }
    /* Truncated: the final chunk dropped (the stream ends on a full chunk), or cut short. */
    assert_int_equal(s_decrypt(key, cipher, EC_ODS_STREAM_HEADER + 2 * S_PIECE, back, cap, &got),
                     EC_ECRYPTO);
    assert_int_equal(s_decrypt(key, cipher, csize - 1, back, cap, &got), EC_ECRYPTO);
    /* Bytes after the final chunk. */
    uint8_t *longer = malloc(csize + 1);
    assert_non_null(longer);
    memcpy(longer, cipher, csize);
    longer[csize] = 0;
    assert_int_equal(s_decrypt(key, longer, csize + 1, back, cap, &got), EC_ECRYPTO);
    free(longer);
    /* Two full chunks swapped. */
    memcpy(copy, cipher, csize);
    memcpy(copy + EC_ODS_STREAM_HEADER, cipher + EC_ODS_STREAM_HEADER + S_PIECE, S_PIECE);
    memcpy(copy + EC_ODS_STREAM_HEADER + S_PIECE, cipher + EC_ODS_STREAM_HEADER, S_PIECE);
    assert_int_equal(s_decrypt(key, copy, csize, back, cap, &got), EC_ECRYPTO);
    /* A chunk repeated in place of the next. */
    memcpy(copy, cipher, csize);
    memcpy(copy + EC_ODS_STREAM_HEADER + S_PIECE, cipher + EC_ODS_STREAM_HEADER, S_PIECE);
    assert_int_equal(s_decrypt(key, copy, csize, back, cap, &got), EC_ECRYPTO);
    /* A sealed chunk of an impossible size is refused before decryption. */
    ec_ods_stream_t s;
    bool last = true;
    assert_int_equal(ec_ods_dec_init(&s, key, cipher), 0);
    assert_int_equal(ec_ods_dec_chunk(&s, back, cipher + EC_ODS_STREAM_HEADER, 16, &last),
                     EC_ECRYPTO);
    assert_false(last);
    assert_int_equal(ec_ods_dec_chunk(&s, back, cipher + EC_ODS_STREAM_HEADER, S_PIECE + 1, &last),
                     EC_ECRYPTO);
    /* A full chunk's bytes presented as a shorter chunk do not open. */
    assert_int_equal(ec_ods_dec_chunk(&s, back, cipher + EC_ODS_STREAM_HEADER, S_PIECE - 1, &last),
                     EC_ECRYPTO);
    ec_ods_stream_fini(&s);
    free(copy);
    free(cipher);
    free(plain);
    free(back);
}

static void test_put_message(void **state)
{
    (void)state;
    uint8_t sha[EC_HASH_BYTES], sealed[EC_ODS_SEALED_KEY_BYTES];
    s_fill(sha, sizeof sha, 1);
    s_fill(sealed, sizeof sealed, 2);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_ods_put_message(&w, sha, 0x0102030405060708ull, sealed, 0x1122334455667788ull);
    const uint8_t *m = ec_writer_data(&w);
    /* tag with its NUL || digest || be64(size) || sealed_key || be64(time_ms) */
    assert_int_equal(ec_writer_size(&w), 14 + 32 + 8 + 80 + 8);
    assert_memory_equal(m, "ecert/ods/put", 14);
    assert_memory_equal(m + 14, sha, 32);
    const uint8_t be_size[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const uint8_t be_time[8] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
    assert_memory_equal(m + 46, be_size, 8);
    assert_memory_equal(m + 54, sealed, 80);
    assert_memory_equal(m + 134, be_time, 8);
    /* A signature over it verifies, and not over another size. */
    ec_key_t *k = tu_key(9);
    uint8_t sig[EC_SIG_BYTES];
    ec_sign(sig, m, ec_writer_size(&w), k);
    assert_true(ec_verify(sig, m, ec_writer_size(&w), ec_key_pk(k)));
    ec_writer_reset(&w);
    ec_ods_put_message(&w, sha, 0x0102030405060709ull, sealed, 0x1122334455667788ull);
    assert_false(ec_verify(sig, ec_writer_data(&w), ec_writer_size(&w), ec_key_pk(k)));
    ec_key_destroy(&k);
    ec_writer_fini(&w);
}

/* ---- the store ------------------------------------------------------------------------------ */

typedef struct {
    char dir[256];   /* the test's temporary folder                                  */
    char store[300]; /* the store folder in it (made by ods_store_open)              */
    ods_store_t *s;
} s_fix_t;

static int s_setup(void **state)
{
    s_fix_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tu_tmpdir_make(f->dir, sizeof f->dir, "ec-test-ods");
    snprintf(f->store, sizeof f->store, "%s/store", f->dir);
    ec_status_t st = {0};
    f->s = ods_store_open(f->store, &st);
    if (!f->s)
        fail_msg("ods_store_open: %s", st.msg);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    s_fix_t *f = *state;
    ods_store_destroy(&f->s);
    tu_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

/* Entries in folder store/sub, without . and .. */
static int s_entries(const s_fix_t *f, const char *sub)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", f->store, sub);
    DIR *d = opendir(path);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* The path of object digest in the store. */
static void s_object_path(const s_fix_t *f, const uint8_t sha[EC_HASH_BYTES], char *out, size_t cap)
{
    char hex[65];
    ec_hex(hex, sha, EC_HASH_BYTES);
    snprintf(out, cap, "%s/objects/%.2s/%s", f->store, hex, hex);
}

/* Puts data (size bytes) in chunks of `chunk` bytes under its true hash; returns what
 * ods_store_put_end returned. */
static int s_put(s_fix_t *f, const uint8_t *data, size_t size, size_t chunk,
                 const uint8_t sealed[EC_ODS_SEALED_KEY_BYTES], uint8_t sha[EC_HASH_BYTES],
                 bool *already)
{
    ec_ods_hash(sha, data, size);
    ods_put_t *p = NULL;
    ec_status_t st = {0};
    assert_int_equal(ods_store_put_begin(f->s, &p, sha, size, sealed, &st), 0);
    for (size_t off = 0; off < size; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        assert_int_equal(ods_store_put_write(p, off, data + off, n, &st), 0);
        assert_int_equal(ods_store_put_received(p), off + n);
    }
    int rc = ods_store_put_end(&p, already, &st);
    assert_null(p);
    return rc;
}

/* Reads object digest whole through a download, chunk bytes at a time, into out; returns
 * whether it was intact. */
static bool s_get(s_fix_t *f, const uint8_t sha[EC_HASH_BYTES], uint8_t *out, size_t size,
                  size_t chunk)
{
    ods_get_t *g = NULL;
    uint64_t got_size = 0;
    ec_status_t st = {0};
    assert_int_equal(ods_store_get_open(f->s, &g, &got_size, sha, &st), 0);
    assert_int_equal(got_size, size);
    for (uint64_t off = 0; off < size;) {
        size_t n = 0;
        assert_int_equal(ods_store_get_read(g, off, out + off, chunk, &n, &st), 0);
        assert_int_equal(n, size - off < chunk ? size - off : chunk);
        off += n;
        assert_int_equal(ods_store_get_offset(g), off);
    }
    bool intact = false;
    assert_int_equal(ods_store_get_finish(g, &intact), 0);
    ods_store_get_close(&g);
    assert_null(g);
    return intact;
}

static void test_store_layout(void **state)
{
    s_fix_t *f = *state;
    const char *subs[] = {"", "/objects", "/keys", "/tmp", "/damaged"};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        char path[400];
        struct stat sb;
        snprintf(path, sizeof path, "%s%s", f->store, subs[i]);
        assert_int_equal(stat(path, &sb), 0);
        assert_true(S_ISDIR(sb.st_mode));
        assert_int_equal(sb.st_mode & 0777, 0700);
    }
}

static void test_store_put_get(void **state)
{
    s_fix_t *f = *state;
    size_t size = 3 * EC_ODS_CHUNK_MAX + 777;
    uint8_t *data = malloc(size), *back = malloc(size);
    assert_non_null(data);
    assert_non_null(back);
    s_fill(data, size, 42);
    uint8_t sealed[EC_ODS_SEALED_KEY_BYTES], sha[EC_HASH_BYTES], key[EC_ODS_SEALED_KEY_BYTES];
    s_fill(sealed, sizeof sealed, 43);
    bool already = true;
    ec_status_t st = {0};
    assert_int_equal(s_put(f, data, size, EC_ODS_CHUNK_MAX, sealed, sha, &already), 0);
    assert_false(already);
    assert_int_equal(s_entries(f, "tmp"), 0);
    /* The layout: objects/<h2>/<h64> with the bytes, keys/<h64> with the sealed key. */
    char path[400];
    struct stat sb;
    s_object_path(f, sha, path, sizeof path);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_size, size);
    assert_int_equal(sb.st_mode & 0777, 0600);
    uint64_t has = 0;
    assert_int_equal(ods_store_has(f->s, sha, &has), 0);
    assert_int_equal(has, size);
    assert_int_equal(ods_store_key(f->s, sha, key), 0);
    assert_memory_equal(key, sealed, sizeof key);
    bool intact = false;
    assert_int_equal(ods_store_verify(f->s, sha, &intact), 0);
    assert_true(intact);
    /* Read back with the wire's chunk size and with an odd one. */
    assert_true(s_get(f, sha, back, size, EC_ODS_CHUNK_MAX));
    assert_memory_equal(back, data, size);
    memset(back, 0, size);
    assert_true(s_get(f, sha, back, size, 65521));
    assert_memory_equal(back, data, size);
    /* Another hash is not there. */
    uint8_t none[EC_HASH_BYTES] = {1};
    assert_int_equal(ods_store_has(f->s, none, NULL), EC_ENOTFOUND);
    assert_int_equal(ods_store_key(f->s, none, key), EC_ENOTFOUND);
    ods_get_t *g = NULL;
    uint64_t gs = 0;
    assert_int_equal(ods_store_get_open(f->s, &g, &gs, none, &st), EC_ENOTFOUND);
    assert_null(g);
    free(data);
    free(back);
}

static void test_store_put_idempotent(void **state)
{
    s_fix_t *f = *state;
    uint8_t data[1000], sealed1[EC_ODS_SEALED_KEY_BYTES], sealed2[EC_ODS_SEALED_KEY_BYTES];
    uint8_t sha[EC_HASH_BYTES], key[EC_ODS_SEALED_KEY_BYTES];
    s_fill(data, sizeof data, 5);
    s_fill(sealed1, sizeof sealed1, 6);
    s_fill(sealed2, sizeof sealed2, 7);
    bool already = true;
    assert_int_equal(s_put(f, data, sizeof data, 300, sealed1, sha, &already), 0);
    assert_false(already);
    assert_int_equal(s_put(f, data, sizeof data, 1000, sealed2, sha, &already), 0);
    assert_true(already);
    /* The first key stays; nothing is left in tmp/. */
    assert_int_equal(ods_store_key(f->s, sha, key), 0);
    assert_memory_equal(key, sealed1, sizeof key);
    assert_int_equal(s_entries(f, "tmp"), 0);
    /* A key file lost (a crash between the two renames) is added by the next put. */
    char hex[65], path[400];
    ec_hex(hex, sha, sizeof sha);
    snprintf(path, sizeof path, "%s/keys/%s", f->store, hex);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(ods_store_has(f->s, sha, NULL), EC_ENOTFOUND);
    assert_int_equal(s_put(f, data, sizeof data, 1000, sealed2, sha, &already), 0);
    assert_true(already);
    assert_int_equal(ods_store_key(f->s, sha, key), 0);
    assert_memory_equal(key, sealed2, sizeof key);
}

static void test_store_put_refused(void **state)
{
    s_fix_t *f = *state;
    uint8_t data[4096], sealed[EC_ODS_SEALED_KEY_BYTES], sha[EC_HASH_BYTES];
    s_fill(data, sizeof data, 8);
    s_fill(sealed, sizeof sealed, 9);
    ec_ods_hash(sha, data, sizeof data);
    ec_status_t st = {0};
    ods_put_t *p = NULL;
    bool already = false;

    /* Above the bound: refused before a file is made. */
    assert_int_equal(ods_store_put_begin(f->s, &p, sha, EC_ODS_FILE_BYTES_MAX + 1, sealed, &st),
                     EC_ETOOBIG);
    assert_null(p);
    assert_int_equal(s_entries(f, "tmp"), 0);

    /* Out of order, and past the declared size: refused, nothing written. */
    assert_int_equal(ods_store_put_begin(f->s, &p, sha, sizeof data, sealed, &st), 0);
    assert_int_equal(s_entries(f, "tmp"), 1);
    assert_int_equal(ods_store_put_write(p, 10, data, 10, &st), EC_EINVAL);
    assert_int_equal(ods_store_put_write(p, 0, data, 100, &st), 0);
    assert_int_equal(ods_store_put_write(p, 0, data, 100, &st), EC_EINVAL);
    assert_int_equal(ods_store_put_write(p, 100, data, sizeof data, &st), EC_ETOOBIG);
    assert_int_equal(ods_store_put_received(p), 100);
    /* Ended short. */
    assert_int_equal(ods_store_put_end(&p, &already, &st), EC_EINVAL);
    assert_null(p);
    assert_int_equal(s_entries(f, "tmp"), 0);
    assert_int_equal(ods_store_has(f->s, sha, NULL), EC_ENOTFOUND);

    /* The bytes do not hash to the declared name. */
    uint8_t wrong[EC_HASH_BYTES];
    memcpy(wrong, sha, sizeof wrong);
    wrong[0] ^= 1;
    assert_int_equal(ods_store_put_begin(f->s, &p, wrong, sizeof data, sealed, &st), 0);
    assert_int_equal(ods_store_put_write(p, 0, data, sizeof data, &st), 0);
    assert_int_equal(ods_store_put_end(&p, &already, &st), EC_ECRYPTO);
    assert_int_equal(ods_store_has(f->s, wrong, NULL), EC_ENOTFOUND);
    assert_int_equal(s_entries(f, "tmp"), 0);
    assert_int_equal(s_entries(f, "keys"), 0);

    /* Aborted midway: its file goes. */
    assert_int_equal(ods_store_put_begin(f->s, &p, sha, sizeof data, sealed, &st), 0);
    assert_int_equal(ods_store_put_write(p, 0, data, 10, &st), 0);
    ods_store_put_abort(&p);
    assert_null(p);
    ods_store_put_abort(&p); /* idempotent */
    assert_int_equal(s_entries(f, "tmp"), 0);
    assert_int_equal(ods_store_has(f->s, sha, NULL), EC_ENOTFOUND);
}

static void test_store_get_bounds(void **state)
{
    s_fix_t *f = *state;
    uint8_t data[3000], back[3000], sealed[EC_ODS_SEALED_KEY_BYTES], sha[EC_HASH_BYTES];
    s_fill(data, sizeof data, 10);
    s_fill(sealed, sizeof sealed, 11);
    bool already = false, intact = true;
    assert_int_equal(s_put(f, data, sizeof data, 1024, sealed, sha, &already), 0);
    ods_get_t *g = NULL;
    uint64_t size = 0;
    size_t n = 0;
    ec_status_t st = {0};
    assert_int_equal(ods_store_get_open(f->s, &g, &size, sha, &st), 0);
    assert_int_equal(ods_store_get_size(g), sizeof data);
    /* Only in order; finish only at the end. */
    assert_int_equal(ods_store_get_read(g, 1, back, 1000, &n, &st), EC_EINVAL);
    assert_int_equal(n, 0);
    assert_int_equal(ods_store_get_finish(g, &intact), EC_EINVAL);
    assert_false(intact);
    assert_int_equal(ods_store_get_read(g, 0, back, 2000, &n, &st), 0);
    assert_int_equal(n, 2000);
    assert_int_equal(ods_store_get_read(g, 0, back, 2000, &n, &st), EC_EINVAL);
    /* The last read is short: what is left. */
    assert_int_equal(ods_store_get_read(g, 2000, back + 2000, 2000, &n, &st), 0);
    assert_int_equal(n, 1000);
    /* Nothing past the end. */
    assert_int_equal(ods_store_get_read(g, 3000, back, 2000, &n, &st), EC_EINVAL);
    assert_int_equal(ods_store_get_finish(g, &intact), 0);
    assert_true(intact);
    assert_memory_equal(back, data, sizeof data);
    ods_store_get_close(&g);
    ods_store_get_close(&g); /* idempotent */
}

static void test_store_damaged(void **state)
{
    s_fix_t *f = *state;
    size_t size = EC_ODS_CHUNK_MAX + 5000;
    uint8_t *data = malloc(size), *back = malloc(size);
    assert_non_null(data);
    assert_non_null(back);
    s_fill(data, size, 12);
    uint8_t sealed[EC_ODS_SEALED_KEY_BYTES], sha[EC_HASH_BYTES];
    s_fill(sealed, sizeof sealed, 13);
    bool already = false, intact = true;
    assert_int_equal(s_put(f, data, size, EC_ODS_CHUNK_MAX, sealed, sha, &already), 0);
    /* One byte changes on disk. */
    char path[400];
    s_object_path(f, sha, path, sizeof path);
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    uint8_t b = (uint8_t)(data[size / 2] ^ 0x80);
    assert_int_equal(pwrite(fd, &b, 1, (off_t)(size / 2)), 1);
    close(fd);
    /* The download serves every byte and then says the copy is not intact. */
    assert_false(s_get(f, sha, back, size, EC_ODS_CHUNK_MAX));
    assert_int_equal(ods_store_verify(f->s, sha, &intact), 0);
    assert_false(intact);
    /* Set aside: no longer served, but known as damaged and kept for the operator. */
    assert_false(ods_store_is_damaged(f->s, sha));
    assert_int_equal(ods_store_quarantine(f->s, sha), 0);
    assert_true(ods_store_is_damaged(f->s, sha));
    assert_int_equal(ods_store_has(f->s, sha, NULL), EC_ENOTFOUND);
    assert_int_equal(ods_store_verify(f->s, sha, &intact), EC_ENOTFOUND);
    assert_int_equal(ods_store_quarantine(f->s, sha), EC_ENOTFOUND);
    assert_int_equal(s_entries(f, "damaged"), 1);
    /* A new upload of the right bytes serves it again. */
    assert_int_equal(s_put(f, data, size, EC_ODS_CHUNK_MAX, sealed, sha, &already), 0);
    assert_false(already);
    assert_true(s_get(f, sha, back, size, EC_ODS_CHUNK_MAX));
    assert_memory_equal(back, data, size);
    free(data);
    free(back);
}

static void test_store_truncated(void **state)
{
    s_fix_t *f = *state;
    uint8_t data[5000], back[5000], sealed[EC_ODS_SEALED_KEY_BYTES], sha[EC_HASH_BYTES];
    s_fill(data, sizeof data, 14);
    s_fill(sealed, sizeof sealed, 15);
    bool already = false;
    assert_int_equal(s_put(f, data, sizeof data, 5000, sealed, sha, &already), 0);
    ods_get_t *g = NULL;
    uint64_t size = 0;
    size_t n = 0;
    ec_status_t st = {0};
    assert_int_equal(ods_store_get_open(f->s, &g, &size, sha, &st), 0);
    /* Cut on disk while the download is open: the read that reaches the cut fails. */
    char path[400];
    s_object_path(f, sha, path, sizeof path);
    assert_int_equal(truncate(path, 3000), 0);
    assert_int_equal(ods_store_get_read(g, 0, back, 2000, &n, &st), 0);
    assert_int_equal(ods_store_get_read(g, 2000, back, 2000, &n, &st), EC_EIO);
    ods_store_get_close(&g);
    /* A key file of the wrong length is unreadable, not a key. */
    char hex[65];
    ec_hex(hex, sha, sizeof sha);
    snprintf(path, sizeof path, "%s/keys/%s", f->store, hex);
    assert_int_equal(truncate(path, 79), 0);
    assert_int_equal(ods_store_key(f->s, sha, sealed), EC_EIO);
}

static void test_store_tmp_cleaned(void **state)
{
    s_fix_t *f = *state;
    uint8_t data[100], sealed[EC_ODS_SEALED_KEY_BYTES], sha[EC_HASH_BYTES];
    s_fill(data, sizeof data, 16);
    s_fill(sealed, sizeof sealed, 17);
    ec_ods_hash(sha, data, sizeof data);
    ec_status_t st = {0};
    /* An upload a stop interrupted, and a stray file. */
    ods_put_t *p = NULL;
    assert_int_equal(ods_store_put_begin(f->s, &p, sha, sizeof data, sealed, &st), 0);
    assert_int_equal(ods_store_put_write(p, 0, data, 50, &st), 0);
    char path[400];
    snprintf(path, sizeof path, "%s/tmp/stray", f->store);
    FILE *stray = fopen(path, "w");
    assert_non_null(stray);
    fclose(stray);
    assert_int_equal(s_entries(f, "tmp"), 2);
    ods_store_put_abort(&p);
    snprintf(path, sizeof path, "%s/tmp/stray2", f->store);
    stray = fopen(path, "w");
    assert_non_null(stray);
    fclose(stray);
    /* Reopened, as at start-up: tmp/ is empty, objects stay. */
    uint8_t sha2[EC_HASH_BYTES];
    bool already = false;
    assert_int_equal(s_put(f, data, sizeof data, 100, sealed, sha2, &already), 0);
    ods_store_destroy(&f->s);
    ods_store_destroy(&f->s); /* idempotent */
    f->s = ods_store_open(f->store, &st);
    assert_non_null(f->s);
    assert_int_equal(s_entries(f, "tmp"), 0);
    assert_int_equal(ods_store_has(f->s, sha2, NULL), 0);
}

static void test_store_open_fails(void **state)
{
    (void)state;
    ec_status_t st = {0};
    assert_null(ods_store_open("/nonexistent-ec-test/deeper/store", &st));
    assert_int_equal(st.code, EC_EIO);
    assert_non_null(strstr(st.msg, "/nonexistent-ec-test/deeper/store"));
}

int main(void)
{
    assert_int_equal(ec_crypto_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cipher_size),
        cmocka_unit_test(test_stream_round_trip),
        cmocka_unit_test(test_stream_spoiled),
        cmocka_unit_test(test_put_message),
        cmocka_unit_test_setup_teardown(test_store_layout, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_store_put_get, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_store_put_idempotent, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_store_put_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_store_get_bounds, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_store_damaged, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_store_truncated, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_store_tmp_cleaned, s_setup, s_teardown),
        cmocka_unit_test(test_store_open_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
