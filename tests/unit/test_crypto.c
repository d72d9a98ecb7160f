/*
 * test_crypto.c - hashes, Ed25519, sealed boxes, key files and bech32m addresses
 * (common/ec_crypto.c).
 *
 * Known answers: SHA-256 from FIPS 180-2, Ed25519 from RFC 8032 section 7.1 (tests 1, 2),
 * the Ed25519 to Curve25519 conversion from libsodium's test/default/ed25519_convert.exp,
 * bech32m strings from BIP-350, and ecert addresses computed by an independent Python
 * bech32m implementation. Key files are written under a mkdtemp directory that the test
 * removes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ec_codec.h"
#include "ec_crypto.h"
#include "test_util.h"

static void s_from_hex(uint8_t *out, size_t size, const char *hex)
{
    assert_int_equal(ec_unhex(out, size, hex), 0);
}

/* ---- hashing and hex -------------------------------------------------------------------- */

static void test_sha256(void **state)
{
    (void)state;
    uint8_t h[32], want[32];
    ec_sha256(h, "", 0);
    s_from_hex(want, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_memory_equal(h, want, 32);
    ec_sha256(h, "abc", 3);
    s_from_hex(want, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_memory_equal(h, want, 32);
    ec_sha256_t st;
    ec_sha256_init(&st);
    ec_sha256_update(&st, "a", 1);
    ec_sha256_update(&st, "", 0);
    ec_sha256_update(&st, "bc", 2);
    ec_sha256_final(&st, h);
    assert_memory_equal(h, want, 32);
}

static void test_hex(void **state)
{
    (void)state;
    const uint8_t data[4] = {0x00, 0x9f, 0xab, 0xff};
    char out[9];
    ec_hex(out, data, 4);
    assert_string_equal(out, "009fabff");
    uint8_t back[4];
    assert_int_equal(ec_unhex(back, 4, "009FabFF"), 0);
    assert_memory_equal(back, data, 4);
    assert_int_equal(ec_unhex(back, 4, "009fab"), EC_EINVAL);     /* short        */
    assert_int_equal(ec_unhex(back, 4, "009fabff00"), EC_EINVAL); /* long         */
    assert_int_equal(ec_unhex(back, 4, "009fabfg"), EC_EINVAL);   /* not hex      */
    assert_int_equal(ec_unhex(back, 4, "009fab f"), EC_EINVAL);   /* space        */
    assert_int_equal(ec_unhex(back, 4, "009fabf"), EC_EINVAL);    /* odd          */
    assert_int_equal(ec_unhex(back, 0, ""), 0);
    ec_hex(out, data, 0);
    assert_string_equal(out, "");
}

/*
 * ec_unhex on libsodium (issue 6): the strict contract, edge by edge, and out zeroed on
 * every refusal (the hand-written parser left the digits before a bad one in out).
 */
static void test_unhex_edges(void **state)
{
    (void)state;
    const uint8_t want[4] = {0xde, 0xad, 0xbe, 0xef}, zero[4] = {0};
    uint8_t back[4];
    assert_int_equal(ec_unhex(back, 4, "deadbeef"), 0);
    assert_memory_equal(back, want, 4);
    assert_int_equal(ec_unhex(back, 4, "DEADBEEF"), 0); /* upper case: accepted */
    assert_memory_equal(back, want, 4);
    assert_int_equal(ec_unhex(back, 4, "DeAdBeEf"), 0);
    assert_memory_equal(back, want, 4);
    const char *bad[] = {
        "deadbeefg",   /* trailing garbage          */
        "deadbeef\n",  /* trailing newline          */
        "deadbee",     /* odd count                 */
        "deadbeefa",   /* odd count, too long       */
        "0xdeadbe",    /* prefix                    */
        " deadbeef",   /* leading space             */
        "de:ad:be:ef", /* separators               */
        "dead beef",   /* inner space               */
        "deadbeeg",    /* not hex at the end        */
        "gdeadbee",    /* not hex at the start      */
        "",            /* empty                     */
        "deadbeef00",  /* one byte too many         */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(back, 0x55, sizeof back);
        if (ec_unhex(back, 4, bad[i]) != EC_EINVAL)
            fail_msg("ec_unhex accepted '%s'", bad[i]);
        assert_memory_equal(back, zero, 4);
    }
    /* Every byte value both ways. */
    uint8_t all[256], again[256];
    char text[513];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    ec_hex(text, all, sizeof all);
    assert_int_equal(strlen(text), 512);
    for (size_t i = 0; i < 512; i++)
        assert_true((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f'));
    assert_int_equal(ec_unhex(again, sizeof again, text), 0);
    assert_memory_equal(again, all, sizeof all);
}

/* ---- signatures ------------------------------------------------------------------------- */

static void test_ed25519_rfc8032(void **state)
{
    (void)state;
    static const struct {
        const char *seed, *pk, *msg, *sig;
    } v[] = {
        {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
         "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
         "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
        {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
         "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
         "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t seed[32], pk[32], msg[8], sig[64], got[64];
        size_t mlen = strlen(v[i].msg) / 2;
        s_from_hex(seed, 32, v[i].seed);
        s_from_hex(pk, 32, v[i].pk);
        s_from_hex(msg, mlen, v[i].msg);
        s_from_hex(sig, 64, v[i].sig);
        ec_key_t *key = ec_key_from_seed(seed);
        assert_non_null(key);
        assert_memory_equal(ec_key_pk(key), pk, 32);
        assert_memory_equal(ec_key_sk(key), seed, 32); /* sk = seed || pk */
        assert_memory_equal(ec_key_sk(key) + 32, pk, 32);
        ec_sign(got, msg, mlen, key);
        assert_memory_equal(got, sig, 64);
        assert_true(ec_verify(sig, msg, mlen, pk));
        ec_key_destroy(&key);
        assert_null(key);
        ec_key_destroy(&key); /* idempotent */
    }
}

static void test_sign_tamper(void **state)
{
    (void)state;
    ec_key_t *key = ec_key_generate();
    ec_key_t *other = ec_key_generate();
    assert_non_null(key);
    assert_non_null(other);
    uint8_t msg[100];
    randombytes_buf(msg, sizeof msg);
    uint8_t sig[64];
    ec_sign(sig, msg, sizeof msg, key);
    assert_true(ec_verify(sig, msg, sizeof msg, ec_key_pk(key)));
    assert_false(ec_verify(sig, msg, sizeof msg, ec_key_pk(other)));
    assert_false(ec_verify(sig, msg, sizeof msg - 1, ec_key_pk(key)));
    for (size_t i = 0; i < sizeof msg; i += 7) {
        msg[i] ^= 1;
        assert_false(ec_verify(sig, msg, sizeof msg, ec_key_pk(key)));
        msg[i] ^= 1;
    }
    for (size_t i = 0; i < sizeof sig; i++) {
        sig[i] ^= 0x10;
        assert_false(ec_verify(sig, msg, sizeof msg, ec_key_pk(key)));
        sig[i] ^= 0x10;
    }
    /* two fresh keys differ */
    assert_memory_not_equal(ec_key_pk(key), ec_key_pk(other), 32);
    ec_key_destroy(&key);
    ec_key_destroy(&other);
}

/* ---- sealed boxes ----------------------------------------------------------------------- */

static void test_seal(void **state)
{
    (void)state;
    ec_key_t *holder = ec_key_generate();
    ec_key_t *stranger = ec_key_generate();
    const char msg[] = "degree: BSc Physics, 2024";
    uint8_t box[sizeof msg + EC_SEAL_OVERHEAD];
    char out[sizeof msg];
    assert_int_equal(EC_SEAL_OVERHEAD, crypto_box_SEALBYTES);
    assert_int_equal(ec_seal(box, msg, sizeof msg, ec_key_pk(holder)), 0);
    assert_int_equal(ec_unseal((uint8_t *)out, box, sizeof box, holder), 0);
    assert_memory_equal(out, msg, sizeof msg);
    assert_int_equal(ec_unseal((uint8_t *)out, box, sizeof box, stranger), EC_ECRYPTO);
    for (size_t i = 0; i < sizeof box; i += 5) {
        box[i] ^= 0x80;
        assert_int_equal(ec_unseal((uint8_t *)out, box, sizeof box, holder), EC_ECRYPTO);
        box[i] ^= 0x80;
    }
    assert_int_equal(ec_unseal((uint8_t *)out, box, sizeof box - 1, holder), EC_ECRYPTO);
    assert_int_equal(ec_unseal((uint8_t *)out, box, EC_SEAL_OVERHEAD - 1, holder), EC_EINVAL);
    /* an empty message still seals */
    uint8_t empty_box[EC_SEAL_OVERHEAD];
    assert_int_equal(ec_seal(empty_box, NULL, 0, ec_key_pk(holder)), 0);
    assert_int_equal(ec_unseal(NULL, empty_box, sizeof empty_box, holder), 0);
    /* two seals of one message differ (ephemeral keys) */
    uint8_t box2[sizeof box];
    assert_int_equal(ec_seal(box2, msg, sizeof msg, ec_key_pk(holder)), 0);
    assert_memory_not_equal(box, box2, sizeof box);
    /* a public key that is not a curve point is refused: a small-order point */
    uint8_t bad_pk[32] = {0};
    assert_int_equal(ec_seal(box, msg, sizeof msg, bad_pk), EC_EINVAL);
    ec_key_destroy(&holder);
    ec_key_destroy(&stranger);
}

/* ---- Curve25519 forms of Ed25519 keys --------------------------------------------------- */

/* libsodium's test/default/ed25519_convert.c: a fixed seed and the X25519 halves it gives. */
static void test_curve_known_answer(void **state)
{
    (void)state;
    uint8_t seed[32], want_pk[32], want_sk[32], pk[32];
    s_from_hex(seed, 32, "421151a459faeade3d247115f94aedae42318124095afabe4d1451a559faedee");
    s_from_hex(want_pk, 32, "f1814f0e8ff1043d8a44d25babff3cedcae6c22c3edaa48f857ae70de2baae50");
    s_from_hex(want_sk, 32, "8052030376d47112be7f73ed7a019293dd12ad910b654455798b4667d73de166");
    ec_key_t *k = ec_key_from_seed(seed);
    assert_non_null(k);
    assert_memory_equal(ec_key_curve_pk(k), want_pk, 32);
    assert_memory_equal(ec_key_curve_sk(k), want_sk, 32);
    /* a peer's view of the same key: converted from the Ed25519 public key alone */
    assert_int_equal(ec_curve_pk(pk, ec_key_pk(k)), 0);
    assert_memory_equal(pk, want_pk, 32);
    ec_key_destroy(&k);
}

/*
 * Two converted key pairs talk with crypto_box (the primitive under CurveZMQ): each side
 * uses its own secret and the peer's public key converted from the Ed25519 key alone, and
 * the secret is the scalar of the public key. A third key cannot open the box.
 */
static void test_curve_box(void **state)
{
    (void)state;
    ec_key_t *a = ec_key_generate(), *b = ec_key_generate(), *c = ec_key_generate();
    assert_true(a && b && c);
    uint8_t a_pk[32], b_pk[32], base[32];
    assert_int_equal(ec_curve_pk(a_pk, ec_key_pk(a)), 0);
    assert_int_equal(ec_curve_pk(b_pk, ec_key_pk(b)), 0);
    assert_int_equal(crypto_scalarmult_base(base, ec_key_curve_sk(a)), 0);
    assert_memory_equal(base, a_pk, 32);
    const char msg[] = "prevote height=7 round=0";
    uint8_t nonce[crypto_box_NONCEBYTES], box[sizeof msg + crypto_box_MACBYTES];
    char out[sizeof msg];
    randombytes_buf(nonce, sizeof nonce);
    assert_int_equal(
        crypto_box_easy(box, (const uint8_t *)msg, sizeof msg, nonce, b_pk, ec_key_curve_sk(a)), 0);
    assert_int_equal(
        crypto_box_open_easy((uint8_t *)out, box, sizeof box, nonce, a_pk, ec_key_curve_sk(b)), 0);
    assert_memory_equal(out, msg, sizeof msg);
    assert_int_not_equal(
        crypto_box_open_easy((uint8_t *)out, box, sizeof box, nonce, a_pk, ec_key_curve_sk(c)), 0);
    /* keys that are no usable point are refused, and out is zeroed */
    uint8_t bad[32] = {0}, identity[32] = {1}, out_pk[32], zero[32] = {0};
    memset(out_pk, 0xa5, sizeof out_pk);
    assert_int_equal(ec_curve_pk(out_pk, bad), EC_EINVAL);
    assert_memory_equal(out_pk, zero, 32);
    assert_int_equal(ec_curve_pk(out_pk, identity), EC_EINVAL);
    ec_key_destroy(&a);
    ec_key_destroy(&b);
    ec_key_destroy(&c);
}

/* ---- key files -------------------------------------------------------------------------- */

typedef struct {
    char dir[64];
    char path[128];
} s_tmp_t;

static int s_setup_tmp(void **state)
{
    s_tmp_t *t = calloc(1, sizeof *t);
    assert_non_null(t);
    tu_tmpdir_make(t->dir, sizeof t->dir, "ec_crypto_test");
    snprintf(t->path, sizeof t->path, "%s/node.key", t->dir);
    *state = t;
    return 0;
}

static int s_teardown_tmp(void **state)
{
    s_tmp_t *t = *state;
    tu_tmpdir_remove(t->dir);
    free(t);
    return 0;
}

#define FAST_OPS crypto_pwhash_OPSLIMIT_MIN
#define FAST_MEM crypto_pwhash_MEMLIMIT_MIN

static void test_keyfile_roundtrip(void **state)
{
    s_tmp_t *t = *state;
    ec_key_t *key = ec_key_generate();
    assert_int_equal(ec_key_save_ex(key, t->path, "correct horse", FAST_OPS, FAST_MEM), 0);

    struct stat st;
    assert_int_equal(stat(t->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    ec_key_t *back = NULL;
    assert_int_equal(ec_key_load(&back, t->path, "correct horse", NULL), 0);
    assert_non_null(back);
    assert_memory_equal(ec_key_pk(back), ec_key_pk(key), EC_PK_BYTES);
    assert_memory_equal(ec_key_sk(back), ec_key_sk(key), EC_SK_BYTES);
    /* the loaded key works for signing and opening boxes */
    uint8_t sig[64], box[3 + EC_SEAL_OVERHEAD], out[3];
    ec_sign(sig, "abc", 3, back);
    assert_true(ec_verify(sig, "abc", 3, ec_key_pk(key)));
    assert_int_equal(ec_seal(box, "xyz", 3, ec_key_pk(key)), 0);
    assert_int_equal(ec_unseal(out, box, sizeof box, back), 0);
    assert_memory_equal(out, "xyz", 3);

    uint8_t pk[EC_PK_BYTES];
    assert_int_equal(ec_key_file_pk(pk, t->path, NULL), 0);
    assert_memory_equal(pk, ec_key_pk(key), EC_PK_BYTES);

    ec_key_t *none = (ec_key_t *)1;
    assert_int_equal(ec_key_load(&none, t->path, "wrong horse", NULL), EC_ECRYPTO);
    assert_null(none);
    assert_int_equal(ec_key_load(&none, t->path, "", NULL), EC_ECRYPTO);

    /* refuses to overwrite, and leaves the file (and no temp files) untouched */
    assert_int_equal(ec_key_save_ex(key, t->path, "other", FAST_OPS, FAST_MEM), EC_EEXIST);
    assert_int_equal(ec_key_load(&none, t->path, "other", NULL), EC_ECRYPTO);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 1", t->dir);
    assert_int_equal(system(cmd), 0);

    ec_key_destroy(&back);
    ec_key_destroy(&key);
}

static void test_keyfile_default_cost(void **state)
{
    s_tmp_t *t = *state;
    ec_key_t *key = ec_key_generate();
    assert_int_equal(ec_key_save(key, t->path, "pass"), 0);
    ec_key_t *back = NULL;
    assert_int_equal(ec_key_load(&back, t->path, "pass", NULL), 0);
    assert_memory_equal(ec_key_sk(back), ec_key_sk(key), EC_SK_BYTES);
    ec_key_destroy(&back);
    ec_key_destroy(&key);
}

/* Writes a key-file-shaped file the way key files must be made: mode 0600 from the start,
 * since the loader refuses a file that group or others may read. */
static void s_write_file(const char *path, const uint8_t *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(fchmod(fd, 0600), 0);
    assert_int_equal(write(fd, data, size), (ssize_t)size);
    assert_int_equal(close(fd), 0);
}

/* Writes a key-file-shaped message with chosen fields. */
static void s_write_keyfile(const char *path, uint64_t version, const char *suite,
                            const uint8_t pk[32], uint64_t ops, uint64_t mem, size_t ct_len)
{
    uint8_t zeros[128] = {0};
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 8);
    ec_write_uint(&w, version);
    ec_write_cstr(&w, suite);
    ec_write_bin(&w, pk, 32);
    ec_write_bin(&w, zeros, 16);
    ec_write_uint(&w, ops);
    ec_write_uint(&w, mem);
    ec_write_bin(&w, zeros, 24);
    ec_write_bin(&w, zeros, ct_len);
    s_write_file(path, ec_writer_data(&w), ec_writer_size(&w));
    ec_writer_fini(&w);
}

static void test_keyfile_hostile(void **state)
{
    s_tmp_t *t = *state;
    const char *suite = "ed25519/argon2id13/xsalsa20poly1305";
    uint8_t pk[32] = {1};
    ec_key_t *key = NULL;
    uint8_t got[32];

    ec_status_t st = {0};
    assert_int_equal(ec_key_load(&key, t->path, "x", NULL), EC_ENOTFOUND);
    assert_int_equal(ec_key_file_pk(got, t->path, NULL), EC_ENOTFOUND);
    assert_int_equal(ec_key_file_pk(got, t->path, &st), EC_ENOTFOUND);
    assert_non_null(strstr(st.msg, "not found"));

    /* a well-formed file with a wrong MAC: decryption fails */
    s_write_keyfile(t->path, 1, suite, pk, FAST_OPS, FAST_MEM, 80);
    assert_int_equal(ec_key_file_pk(got, t->path, NULL), 0);
    assert_int_equal(ec_key_load(&key, t->path, "x", NULL), EC_ECRYPTO);
    unlink(t->path);
    /* a hostile cost must be refused before any Argon2id runs (100 GB, 2^40 passes) */
    s_write_keyfile(t->path, 1, suite, pk, FAST_OPS, 100ull << 30, 80);
    assert_int_equal(ec_key_load(&key, t->path, "x", NULL), EC_EINVAL);
    unlink(t->path);
    s_write_keyfile(t->path, 1, suite, pk, 1ull << 40, FAST_MEM, 80);
    assert_int_equal(ec_key_load(&key, t->path, "x", NULL), EC_EINVAL);
    unlink(t->path);
    s_write_keyfile(t->path, 1, suite, pk, 0, FAST_MEM, 80);
    assert_int_equal(ec_key_load(&key, t->path, "x", NULL), EC_EINVAL);
    unlink(t->path);
    /* version and suite */
    s_write_keyfile(t->path, 2, suite, pk, FAST_OPS, FAST_MEM, 80);
    assert_int_equal(ec_key_load(&key, t->path, "x", NULL), EC_EVERSION);
    assert_int_equal(ec_key_load(&key, t->path, "x", &st), EC_EVERSION);
    assert_non_null(strstr(st.msg, "version"));
    unlink(t->path);
    s_write_keyfile(t->path, 1, "ed25519/scrypt/aes", pk, FAST_OPS, FAST_MEM, 80);
    assert_int_equal(ec_key_load(&key, t->path, "x", NULL), EC_EVERSION);
    unlink(t->path);
    /* wrong ciphertext length */
    s_write_keyfile(t->path, 1, suite, pk, FAST_OPS, FAST_MEM, 79);
    assert_int_equal(ec_key_load(&key, t->path, "x", NULL), EC_EINVAL);
    unlink(t->path);
    /* not msgpack, and too big */
    s_write_file(t->path, (const uint8_t *)"hello", 5);
    assert_int_equal(ec_key_load(&key, t->path, "x", NULL), EC_EINVAL);
    assert_int_equal(ec_key_file_pk(got, t->path, NULL), EC_EINVAL);
    assert_int_equal(ec_key_file_pk(got, t->path, &st), EC_EINVAL);
    assert_non_null(strstr(st.msg, "is not an ecert key file"));
    unlink(t->path);
    static uint8_t big[5000];
    s_write_file(t->path, big, sizeof big);
    assert_int_equal(ec_key_load(&key, t->path, "x", NULL), EC_EINVAL);
    unlink(t->path);
    assert_null(key);

    /* a real file whose plaintext pk was swapped decrypts but is refused */
    ec_key_t *real = ec_key_generate();
    assert_int_equal(ec_key_save_ex(real, t->path, "pw", FAST_OPS, FAST_MEM), 0);
    FILE *f = fopen(t->path, "rb");
    uint8_t buf[1024];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    uint8_t *at = memmem(buf, n, ec_key_pk(real), 32);
    assert_non_null(at);
    at[0] ^= 1;
    unlink(t->path);
    s_write_file(t->path, buf, n);
    assert_int_equal(ec_key_load(&key, t->path, "pw", NULL), EC_EINVAL);
    assert_null(key);
    ec_key_destroy(&real);

    /* cost out of range is refused on save too; missing directory is EC_EIO */
    unlink(t->path);
    ec_key_t *k2 = ec_key_generate();
    assert_int_equal(ec_key_save_ex(k2, t->path, "pw", FAST_OPS, 100ull << 30), EC_EINVAL);
    assert_int_equal(ec_key_save_ex(k2, "/nonexistent-dir/x.key", "pw", FAST_OPS, FAST_MEM),
                     EC_EIO);
    char longpass[EC_PASSPHRASE_MAX + 2];
    memset(longpass, 'p', sizeof longpass - 1);
    longpass[sizeof longpass - 1] = '\0';
    assert_int_equal(ec_key_save_ex(k2, t->path, longpass, FAST_OPS, FAST_MEM), EC_EINVAL);
    ec_key_destroy(&k2);
}

/* A key file that group or others may read or write is refused, as ssh refuses such
 * private keys, by the loader and by the public-key reader, with the mode and the fix. */
static void test_keyfile_mode(void **state)
{
    s_tmp_t *t = *state;
    ec_key_t *key = ec_key_generate();
    assert_int_equal(ec_key_save_ex(key, t->path, "pw", FAST_OPS, FAST_MEM), 0);
    ec_key_t *back = NULL;
    uint8_t pk[EC_PK_BYTES];
    static const mode_t refused[] = {0644, 0640, 0604, 0660, 0620, 0602, 0610, 0601, 0666};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        assert_int_equal(chmod(t->path, refused[i]), 0);
        back = (ec_key_t *)1;
        assert_int_equal(ec_key_load(&back, t->path, "pw", NULL), EC_ECONFIG);
        assert_null(back);
        assert_int_equal(ec_key_file_pk(pk, t->path, NULL), EC_ECONFIG);
    }
    /* What the operator reads (the callers print st): the file, its mode and the command
     * that fixes it. */
    assert_int_equal(chmod(t->path, 0644), 0);
    char log[1024];
    tu_stderr_t cap;
    ec_status_t st = {0};
    int rc = ec_key_load(&back, t->path, "pw", &st);
    assert_int_equal(rc, EC_ECONFIG);
    assert_non_null(strstr(st.msg, t->path));
    assert_non_null(strstr(st.msg, "mode 0644"));
    assert_non_null(strstr(st.msg, "chmod 600"));
    int fd = open(t->path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    ec_status_clear(&st);
    assert_int_equal(ec_file_private_check(fd, t->path, "key file", &st), EC_ECONFIG);
    assert_int_equal(st.code, EC_ECONFIG);
    assert_non_null(strstr(st.msg, "key file"));
    assert_non_null(strstr(st.msg, "mode 0644"));
    assert_non_null(strstr(st.msg, "chmod 600"));
    assert_int_equal(fchmod(fd, 0600), 0);
    assert_int_equal(ec_file_private_check(fd, t->path, "key file", &st), 0);
    close(fd);
    /*
     * Regression: the loaders hand the same reason to the caller, so a client can put
     * it in its one error message (under --json a separate log line was lost), and log
     * nothing themselves.
     */
    assert_int_equal(chmod(t->path, 0640), 0);
    const char *what[] = {"load", "pk"};
    for (size_t i = 0; i < 2; i++) {
        ec_status_clear(&st);
        tu_stderr_begin(&cap);
        rc = i == 0 ? ec_key_load(&back, t->path, "pw", &st) : ec_key_file_pk(pk, t->path, &st);
        tu_stderr_end(&cap, log, sizeof log);
        assert_int_equal(rc, EC_ECONFIG);
        assert_int_equal(st.code, EC_ECONFIG);
        if (!strstr(st.msg, t->path) || !strstr(st.msg, "mode 0640") ||
            !strstr(st.msg, "chmod 600"))
            fail_msg("%s: '%s' does not say the mode and the fix", what[i], st.msg);
        assert_string_equal(log, "");
    }
    assert_int_equal(chmod(t->path, 0600), 0);
    ec_status_clear(&st);
    assert_int_equal(ec_key_load(&back, t->path, "wrong", &st), EC_ECRYPTO);
    assert_non_null(strstr(st.msg, "wrong passphrase"));
    assert_non_null(strstr(st.msg, t->path));
    /* Owner-only modes load. */
    static const mode_t accepted[] = {0600, 0400, 0700};
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
        assert_int_equal(chmod(t->path, accepted[i]), 0);
        assert_int_equal(ec_key_load(&back, t->path, "pw", NULL), 0);
        assert_memory_equal(ec_key_pk(back), ec_key_pk(key), EC_PK_BYTES);
        ec_key_destroy(&back);
        assert_int_equal(ec_key_file_pk(pk, t->path, NULL), 0);
    }
    ec_key_destroy(&key);
}

/* ---- bech32m and addresses -------------------------------------------------------------- */

static void test_bech32m_bip350_valid(void **state)
{
    (void)state;
    static const char *const valid[] = {
        "A1LQFN3A",
        "a1lqfn3a",
        "an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg"
        "7hg6",
        "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
        "11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr"
        "8",
        "split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
        "?1v759aa",
    };
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        char hrp[EC_BECH32_MAX + 1], again[EC_BECH32_MAX + 1];
        uint8_t data[EC_BECH32_MAX];
        size_t n;
        if (ec_bech32m_decode(hrp, sizeof hrp, data, &n, sizeof data, valid[i]) != 0)
            fail_msg("rejected valid %s", valid[i]);
        assert_int_equal(ec_bech32m_encode(again, sizeof again, hrp, data, n), 0);
        assert_int_equal(strcasecmp(again, valid[i]), 0);
    }
}

static void test_bech32m_bip350_invalid(void **state)
{
    (void)state;
    static const char *const invalid[] = {
        "\x20"
        "1xj0phk",
        "\x7f"
        "1g6xzxy",
        "\x80"
        "1vctc34",
        "an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d"
        "6pts4",
        "qyrz8wqd2c9m",
        "1qyrz8wqd2c9m",
        "y1b0jsk6g",
        "lt1igcx5c0",
        "in1muywd",
        "mm1crxm3i",
        "au1s5cgom",
        "M1VUXWEZ",
        "16plkw9",
        "1p2gdwpf",
        /* valid bech32 (BIP-173) strings: the old constant must not pass as bech32m */
        "A12UEL5L",
        "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
        "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
        /* mixed case of a valid string */
        "A1lqfn3a",
        "",
    };
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        char hrp[EC_BECH32_MAX + 1];
        uint8_t data[EC_BECH32_MAX];
        size_t n;
        if (ec_bech32m_decode(hrp, sizeof hrp, data, &n, sizeof data, invalid[i]) == 0)
            fail_msg("accepted invalid #%zu %s", i, invalid[i]);
    }
    /* encoder input checks */
    char out[EC_BECH32_MAX + 1];
    uint8_t five[2] = {1, 32};
    assert_int_equal(ec_bech32m_encode(out, sizeof out, "a", five, 2), EC_EINVAL);
    assert_int_equal(ec_bech32m_encode(out, sizeof out, "", five, 1), EC_EINVAL);
    assert_int_equal(ec_bech32m_encode(out, sizeof out, "A", five, 1), EC_EINVAL);
    assert_int_equal(ec_bech32m_encode(out, 9, "a", five, 1), EC_EINVAL);
    assert_int_equal(ec_bech32m_encode(out, 10, "a", five, 1), 0);
}

static void test_address(void **state)
{
    (void)state;
    char addr[EC_ADDR_MAX];
    uint8_t hash[20], back[20];
    for (int i = 0; i < 20; i++)
        hash[i] = (uint8_t)i;
    ec_address_from_hash(addr, hash);
    assert_string_equal(addr, "ec1qqqsyqcyq5rqwzqfpg9scrgwpugpzysnaz2sk0");
    assert_int_equal(ec_address_parse(back, addr), 0);
    assert_memory_equal(back, hash, 20);

    /* the RFC 8032 test-1 public key */
    uint8_t pk[32], want[20];
    s_from_hex(pk, 32, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    ec_address_hash(hash, pk);
    s_from_hex(want, 20, "462f297569da2f0073c88f45c6155dee4fc95486");
    assert_memory_equal(hash, want, 20);
    ec_address_from_pk(addr, pk);
    const char *good = "ec1gchjjatfmghsqu7g3azuv92aae8uj4yxpjw9s2";
    assert_string_equal(addr, good);
    assert_int_equal(ec_address_parse(back, good), 0);
    assert_memory_equal(back, want, 20);
    /* all-uppercase is the same address */
    assert_int_equal(ec_address_parse(back, "EC1GCHJJATFMGHSQU7G3AZUV92AAE8UJ4YXPJW9S2"), 0);
    assert_memory_equal(back, want, 20);

    /* mixed case */
    assert_int_equal(ec_address_parse(back, "ec1gchjjatfmghsqu7g3azuv92aae8uj4yxpjw9S2"),
                     EC_EINVAL);
    /* every single-character substitution is caught */
    char mut[EC_ADDR_MAX];
    for (size_t i = 0; i < strlen(good); i++) {
        strcpy(mut, good);
        mut[i] = mut[i] == 'q' ? 'p' : 'q';
        if (ec_address_parse(back, mut) == 0)
            fail_msg("accepted %s", mut);
    }
    /* character outside the charset ('b', 'i', 'o', '1' in the data part) */
    strcpy(mut, good);
    mut[5] = 'b';
    assert_int_equal(ec_address_parse(back, mut), EC_EINVAL);
    /* wrong prefix with a valid checksum */
    char other[EC_ADDR_MAX];
    uint8_t groups[40] = {0};
    assert_int_equal(ec_bech32m_encode(other, sizeof other, "bc", groups, 32), 0);
    assert_int_equal(ec_address_parse(back, other), EC_EINVAL);
    /* right prefix and checksum, wrong length (31 and 33 groups) */
    assert_int_equal(ec_bech32m_encode(other, sizeof other, "ec", groups, 31), 0);
    assert_int_equal(ec_address_parse(back, other), EC_EINVAL);
    assert_int_equal(ec_bech32m_encode(other, sizeof other, "ec", groups, 33), 0);
    assert_int_equal(ec_address_parse(back, other), EC_EINVAL);
    assert_int_equal(ec_bech32m_encode(other, sizeof other, "ec", groups, 32), 0);
    assert_int_equal(ec_address_parse(back, other), 0);
    /* truncated, empty, junk */
    strcpy(mut, good);
    mut[strlen(mut) - 1] = '\0';
    assert_int_equal(ec_address_parse(back, mut), EC_EINVAL);
    assert_int_equal(ec_address_parse(back, ""), EC_EINVAL);
    assert_int_equal(ec_address_parse(back, "ec1"), EC_EINVAL);
    assert_int_equal(ec_address_parse(back, "not an address"), EC_EINVAL);
}

static int s_init(void **state)
{
    (void)state;
    return ec_crypto_init() == 0 && ec_crypto_init() == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_unhex_edges),
        cmocka_unit_test(test_ed25519_rfc8032),
        cmocka_unit_test(test_sign_tamper),
        cmocka_unit_test(test_seal),
        cmocka_unit_test(test_curve_known_answer),
        cmocka_unit_test(test_curve_box),
        cmocka_unit_test_setup_teardown(test_keyfile_roundtrip, s_setup_tmp, s_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_keyfile_default_cost, s_setup_tmp, s_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_keyfile_hostile, s_setup_tmp, s_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_keyfile_mode, s_setup_tmp, s_teardown_tmp),
        cmocka_unit_test(test_bech32m_bip350_valid),
        cmocka_unit_test(test_bech32m_bip350_invalid),
        cmocka_unit_test(test_address),
    };
    return cmocka_run_group_tests(tests, s_init, NULL);
}
