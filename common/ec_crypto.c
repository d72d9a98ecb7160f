/*
 * ec_crypto.c - hashes, Ed25519, sealed boxes, encrypted key files and bech32m addresses,
 * all on libsodium (ec_crypto.h; key file format in ec_crypto.h and docs/PROTOCOL.md).
 *
 * Invariants: a secret key is only ever in sodium_malloc memory, which is read-only except
 * while the key is being built and wiped by sodium_free; the X25519 form of the secret key,
 * needed to open sealed boxes, is derived once when the key is made and lives in the same
 * guarded block, so ec_unseal allocates nothing. Key files are written atomically and never
 * overwritten, only files their owner alone may read are loaded, and the Argon2id cost read
 * from a file is bounded before it is used.
 */
#include "ec_crypto.h"

#include "ec_codec.h"
#include "ec_log.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ec_crypto_init(void)
{
    /* sodium_init returns 1 when already initialised, which is fine; it is thread-safe. */
    return sodium_init() < 0 ? EC_EINTERNAL : 0;
}

/* ---- hashing ---------------------------------------------------------------------------- */

void ec_sha256(uint8_t out[EC_HASH_BYTES], const void *data, size_t size)
{
    assert(out && (data || size == 0));
    (void)crypto_hash_sha256(out, data, size);
}

void ec_sha256_init(ec_sha256_t *st)
{
    (void)crypto_hash_sha256_init(st);
}

void ec_sha256_update(ec_sha256_t *st, const void *data, size_t size)
{
    assert(data || size == 0);
    (void)crypto_hash_sha256_update(st, data, size);
}

void ec_sha256_final(ec_sha256_t *st, uint8_t out[EC_HASH_BYTES])
{
    (void)crypto_hash_sha256_final(st, out);
}

/* ---- hex: libsodium's constant-time codec ----------------------------------------------- */

void ec_hex(char *out, const uint8_t *data, size_t size)
{
    assert(out && (data || size == 0));
    assert(size <= (SIZE_MAX - 1) / 2);
    (void)sodium_bin2hex(out, 2 * size + 1, data, size);
}

int ec_unhex(uint8_t *out, size_t size, const char *hex)
{
    assert(out && hex);
    assert(size <= (SIZE_MAX - 1) / 2);
    /* strnlen: never read further than one character past what a valid string needs. */
    size_t len = strnlen(hex, 2 * size + 1);
    size_t got = 0;
    /* No characters to ignore and no end pointer: sodium_hex2bin then fails on an odd
     * count, on any non-hex character and on anything left over. */
    if (len != 2 * size || sodium_hex2bin(out, size, hex, len, NULL, &got, NULL) != 0 ||
        got != size) {
        if (size)
            memset(out, 0, size);
        return EC_EINVAL;
    }
    return 0;
}

/* ---- keys and signatures ---------------------------------------------------------------- */

_Static_assert(EC_CURVE_KEY_BYTES == crypto_scalarmult_curve25519_BYTES &&
                   EC_CURVE_KEY_BYTES == crypto_box_PUBLICKEYBYTES &&
                   EC_CURVE_KEY_BYTES == crypto_box_SECRETKEYBYTES,
               "ec_key_curve_pk/sk hand out the crypto_box halves as EC_CURVE_KEY_BYTES");

/* Layout of the guarded secret block. */
typedef struct {
    uint8_t sk[EC_SK_BYTES];                /* Ed25519 secret key (seed || pk)          */
    uint8_t xsk[crypto_box_SECRETKEYBYTES]; /* the same key as X25519, for sealed boxes */
} s_secret_t;

struct ec_key {
    uint8_t pk[EC_PK_BYTES];                /* Ed25519 public key                         */
    uint8_t xpk[crypto_box_PUBLICKEYBYTES]; /* the same key as X25519 (CurveZMQ, boxes)   */
    s_secret_t *secret;                     /* sodium_malloc, read-only once built        */
};

/* Allocates an empty key whose secret block is writable; NULL when out of memory. */
static ec_key_t *s_key_new(void)
{
    ec_key_t *key = calloc(1, sizeof *key);
    if (!key)
        return NULL;
    key->secret = sodium_malloc(sizeof *key->secret);
    if (!key->secret) {
        free(key);
        return NULL;
    }
    return key;
}

/* Derives the X25519 halves from key->secret->sk and seals the secret block read-only.
 * Returns 0, or EC_EINVAL if the public half is not a usable curve point. */
static int s_key_finish(ec_key_t *key)
{
    if (crypto_sign_ed25519_pk_to_curve25519(key->xpk, key->pk) != 0)
        return EC_EINVAL;
    if (crypto_sign_ed25519_sk_to_curve25519(key->secret->xsk, key->secret->sk) != 0)
        return EC_EINVAL;
    (void)sodium_mprotect_readonly(key->secret);
    return 0;
}

ec_key_t *ec_key_generate(void)
{
    ec_key_t *key = s_key_new();
    if (!key)
        return NULL;
    if (crypto_sign_keypair(key->pk, key->secret->sk) != 0 || s_key_finish(key) != 0)
        ec_key_destroy(&key);
    return key;
}

ec_key_t *ec_key_from_seed(const uint8_t seed[32])
{
    assert(seed);
    ec_key_t *key = s_key_new();
    if (!key)
        return NULL;
    if (crypto_sign_seed_keypair(key->pk, key->secret->sk, seed) != 0 || s_key_finish(key) != 0)
        ec_key_destroy(&key);
    return key;
}

void ec_key_destroy(ec_key_t **self_p)
{
    assert(self_p);
    ec_key_t *key = *self_p;
    if (!key)
        return;
    /* sodium_free wipes the block (it makes it writable first). */
    sodium_free(key->secret);
    sodium_memzero(key, sizeof *key);
    free(key);
    *self_p = NULL;
}

const uint8_t *ec_key_pk(const ec_key_t *key)
{
    assert(key);
    return key->pk;
}

const uint8_t *ec_key_sk(const ec_key_t *key)
{
    assert(key);
    return key->secret->sk;
}

void ec_sign(uint8_t sig[EC_SIG_BYTES], const void *msg, size_t size, const ec_key_t *key)
{
    assert(sig && key && (msg || size == 0));
    int rc = crypto_sign_detached(sig, NULL, msg, size, key->secret->sk);
    assert(rc == 0);
    (void)rc;
}

bool ec_verify(const uint8_t sig[EC_SIG_BYTES], const void *msg, size_t size,
               const uint8_t pk[EC_PK_BYTES])
{
    assert(sig && pk && (msg || size == 0));
    return crypto_sign_verify_detached(sig, msg, size, pk) == 0;
}

/* ---- Curve25519 (X25519) forms of Ed25519 keys ------------------------------------------ */

const uint8_t *ec_key_curve_pk(const ec_key_t *key)
{
    assert(key);
    return key->xpk;
}

const uint8_t *ec_key_curve_sk(const ec_key_t *key)
{
    assert(key);
    return key->secret->xsk;
}

int ec_curve_pk(uint8_t out[EC_CURVE_KEY_BYTES], const uint8_t pk[EC_PK_BYTES])
{
    assert(out && pk);
    if (crypto_sign_ed25519_pk_to_curve25519(out, pk) != 0) {
        memset(out, 0, EC_CURVE_KEY_BYTES);
        return EC_EINVAL;
    }
    return 0;
}

/* ---- encryption to a holder ------------------------------------------------------------- */

int ec_seal(uint8_t *out, const void *msg, size_t size, const uint8_t pk[EC_PK_BYTES])
{
    assert(out && pk && (msg || size == 0));
    uint8_t xpk[EC_CURVE_KEY_BYTES];
    if (ec_curve_pk(xpk, pk) != 0)
        return EC_EINVAL;
    if (crypto_box_seal(out, msg, size, xpk) != 0)
        return EC_EINTERNAL;
    return 0;
}

int ec_unseal(uint8_t *out, const uint8_t *box, size_t size, const ec_key_t *key)
{
    assert(key && (box || size == 0));
    if (size < crypto_box_SEALBYTES)
        return EC_EINVAL;
    assert(out || size == crypto_box_SEALBYTES);
    if (crypto_box_seal_open(out, box, size, key->xpk, key->secret->xsk) != 0)
        return EC_ECRYPTO;
    return 0;
}

/* ---- key files -------------------------------------------------------------------------- */

/* Fixed parts of the key file format (table in ec_crypto.h). */
#define S_KEYFILE_VERSION 1
#define S_KEYFILE_SUITE "ed25519/argon2id13/xsalsa20poly1305"
#define S_KEYFILE_FIELDS 8
#define S_KEYFILE_BYTES_MAX 1024 /* a real key file is about 200 bytes */
#define S_CT_BYTES (EC_SK_BYTES + crypto_secretbox_MACBYTES)

/* Secrets needed while sealing or opening a key file, kept together in guarded memory. */
typedef struct {
    uint8_t k[crypto_secretbox_KEYBYTES]; /* key derived from the passphrase   */
} s_kdf_t;

/* Derives the secretbox key from the passphrase. Returns 0, EC_EINVAL or EC_ENOMEM. */
static int s_kdf(s_kdf_t *kdf, const char *passphrase, const uint8_t *salt, uint64_t opslimit,
                 uint64_t memlimit)
{
    size_t len = strnlen(passphrase, EC_PASSPHRASE_MAX + 1);
    if (len > EC_PASSPHRASE_MAX)
        return EC_EINVAL;
    if (crypto_pwhash(kdf->k, sizeof kdf->k, passphrase, len, salt, opslimit, (size_t)memlimit,
                      crypto_pwhash_ALG_ARGON2ID13) != 0)
        return EC_ENOMEM; /* libsodium fails here only when it cannot get the memory */
    return 0;
}

/* Writes all of buf to fd, retrying on EINTR and short writes. */
static int s_write_all(int fd, const uint8_t *buf, size_t size)
{
    while (size > 0) {
        ssize_t n = write(fd, buf, size);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return EC_EIO;
        }
        buf += n;
        size -= (size_t)n;
    }
    return 0;
}

/* fsyncs the directory that holds path, so a rename inside it is durable. */
static int s_fsync_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return EC_ENOMEM;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return EC_EIO;
    int rc = fsync(fd) == 0 ? 0 : EC_EIO;
    close(fd);
    return rc;
}

/* Moves tmp to path unless path exists: renameat2(RENAME_NOREPLACE) where the file system
 * supports it, otherwise link + unlink, which is just as atomic. */
static int s_publish(const char *tmp, const char *path)
{
#ifdef RENAME_NOREPLACE
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno == EEXIST)
        return EC_EEXIST;
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return EC_EIO;
#endif
    if (link(tmp, path) != 0)
        return errno == EEXIST ? EC_EEXIST : EC_EIO;
    (void)unlink(tmp);
    return 0;
}

/* Writes bytes to a fresh file at path atomically with mode 0600; never overwrites. */
static int s_write_file_atomic(const char *path, const uint8_t *data, size_t size)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + sizeof ".tmp.XXXXXX");
    if (!tmp)
        return EC_ENOMEM;
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
    /* mkostemp creates the file with O_EXCL and mode 0600. */
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        free(tmp);
        return EC_EIO;
    }
    int rc = fchmod(fd, 0600) == 0 ? 0 : EC_EIO;
    if (rc == 0)
        rc = s_write_all(fd, data, size);
    if (rc == 0 && fsync(fd) != 0)
        rc = EC_EIO;
    if (close(fd) != 0 && rc == 0)
        rc = EC_EIO;
    if (rc == 0)
        rc = s_publish(tmp, path);
    if (rc != 0)
        (void)unlink(tmp);
    free(tmp);
    if (rc == 0)
        rc = s_fsync_dir(path);
    return rc;
}

int ec_key_save_ex(const ec_key_t *key, const char *path, const char *passphrase, uint64_t opslimit,
                   uint64_t memlimit)
{
    assert(key && path && passphrase);
    if (opslimit < crypto_pwhash_OPSLIMIT_MIN || opslimit > EC_KEYFILE_OPSLIMIT_MAX ||
        memlimit < crypto_pwhash_MEMLIMIT_MIN || memlimit > EC_KEYFILE_MEMLIMIT_MAX)
        return EC_EINVAL;
    if (access(path, F_OK) == 0)
        return EC_EEXIST; /* fail fast before the slow KDF; s_publish rechecks atomically */

    uint8_t salt[crypto_pwhash_SALTBYTES];
    uint8_t nonce[crypto_secretbox_NONCEBYTES];
    uint8_t ct[S_CT_BYTES];
    randombytes_buf(salt, sizeof salt);
    randombytes_buf(nonce, sizeof nonce);

    s_kdf_t *kdf = sodium_malloc(sizeof *kdf);
    if (!kdf)
        return EC_ENOMEM;
    int rc = s_kdf(kdf, passphrase, salt, opslimit, memlimit);
    if (rc == 0 && crypto_secretbox_easy(ct, key->secret->sk, EC_SK_BYTES, nonce, kdf->k) != 0)
        rc = EC_EINTERNAL;
    sodium_free(kdf);
    if (rc != 0)
        return rc;

    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, S_KEYFILE_FIELDS);
    ec_write_uint(&w, S_KEYFILE_VERSION);
    ec_write_cstr(&w, S_KEYFILE_SUITE);
    ec_write_bin(&w, key->pk, EC_PK_BYTES);
    ec_write_bin(&w, salt, sizeof salt);
    ec_write_uint(&w, opslimit);
    ec_write_uint(&w, memlimit);
    ec_write_bin(&w, nonce, sizeof nonce);
    ec_write_bin(&w, ct, sizeof ct);
    rc = s_write_file_atomic(path, ec_writer_data(&w), ec_writer_size(&w));
    ec_writer_fini(&w);
    return rc;
}

int ec_key_save(const ec_key_t *key, const char *path, const char *passphrase)
{
    return ec_key_save_ex(key, path, passphrase, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE);
}

/* A key file's fields after parsing; pointers into the file buffer. */
typedef struct {
    uint8_t pk[EC_PK_BYTES];
    uint8_t salt[crypto_pwhash_SALTBYTES];
    uint64_t opslimit;
    uint64_t memlimit;
    uint8_t nonce[crypto_secretbox_NONCEBYTES];
    uint8_t ct[S_CT_BYTES];
} s_keyfile_t;

int ec_file_private_check(int fd, const char *path, const char *what, ec_status_t *st)
{
    assert(fd >= 0 && path && what);
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return ec_status_set(st, EC_EIO, "%s %s: %s", what, path, strerror(errno));
    if ((sb.st_mode & 077) == 0)
        return 0;
    return ec_status_set(st, EC_ECONFIG,
                         "%s %s has mode %04o: group or others may read or change it; run: "
                         "chmod 600 %s",
                         what, path, (unsigned)(sb.st_mode & 07777), path);
}

/*
 * Reads at most S_KEYFILE_BYTES_MAX bytes of path into buf, after checking on the open file
 * that only its owner may read or write it. On error the reason is in st (when not NULL).
 */
static int s_read_small(const char *path, uint8_t *buf, size_t *size, ec_status_t *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return ec_status_set(st, EC_ENOTFOUND, "key file %s not found", path);
        return ec_status_set(st, EC_EIO, "cannot open key file %s: %s", path, strerror(errno));
    }
    int rc = ec_file_private_check(fd, path, "key file", st);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, S_KEYFILE_BYTES_MAX + 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = ec_status_set(st, EC_EIO, "cannot read key file %s: %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        got += (size_t)n;
        if (got > S_KEYFILE_BYTES_MAX) {
            rc = ec_status_set(st, EC_EINVAL, "%s is not an ecert key file (larger than %d bytes)",
                               path, S_KEYFILE_BYTES_MAX);
            break;
        }
    }
    close(fd);
    *size = got;
    return rc;
}

/* Reads and parses a key file, bounding the KDF cost. On error the reason is in st. */
static int s_keyfile_read(s_keyfile_t *kf, const char *path, ec_status_t *st)
{
    uint8_t buf[S_KEYFILE_BYTES_MAX + 1];
    size_t size = 0;
    int rc = s_read_small(path, buf, &size, st);
    if (rc != 0)
        return rc;
    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *root;
    rc = ec_decode(&d, buf, size, &root);
    if (rc == 0) {
        ec_cur_t c;
        uint64_t version = 0;
        const char *suite = NULL;
        size_t suite_len = 0;
        ec_cur_open_max(&c, root, S_KEYFILE_FIELDS);
        ec_cur_uint(&c, &version);
        if (c.err == 0 && version != S_KEYFILE_VERSION) {
            rc = EC_EVERSION;
        } else {
            ec_cur_str(&c, &suite, &suite_len, 64);
            if (c.err == 0 && (suite_len != strlen(S_KEYFILE_SUITE) ||
                               memcmp(suite, S_KEYFILE_SUITE, suite_len) != 0))
                ec_cur_fail(&c, EC_EVERSION);
            ec_cur_bin_fixed(&c, kf->pk, sizeof kf->pk);
            ec_cur_bin_fixed(&c, kf->salt, sizeof kf->salt);
            ec_cur_uint_max(&c, &kf->opslimit, EC_KEYFILE_OPSLIMIT_MAX);
            ec_cur_uint_max(&c, &kf->memlimit, EC_KEYFILE_MEMLIMIT_MAX);
            ec_cur_bin_fixed(&c, kf->nonce, sizeof kf->nonce);
            ec_cur_bin_fixed(&c, kf->ct, sizeof kf->ct);
            rc = ec_cur_finish(&c);
            if (rc == 0 && (kf->opslimit < crypto_pwhash_OPSLIMIT_MIN ||
                            kf->memlimit < crypto_pwhash_MEMLIMIT_MIN))
                rc = EC_EINVAL;
        }
    }
    ec_decoder_fini(&d);
    if (rc == EC_EVERSION)
        return ec_status_set(st, rc,
                             "key file %s has a version or cipher suite this ecert does not "
                             "read (it reads version %d, %s)",
                             path, S_KEYFILE_VERSION, S_KEYFILE_SUITE);
    if (rc == EC_ENOMEM)
        return ec_status_set(st, rc, "out of memory reading key file %s", path);
    if (rc != 0)
        return ec_status_set(st, EC_EINVAL, "%s is not an ecert key file", path);
    return 0;
}

int ec_key_file_pk(uint8_t pk[EC_PK_BYTES], const char *path, ec_status_t *st)
{
    assert(pk && path);
    s_keyfile_t kf;
    int rc = s_keyfile_read(&kf, path, st);
    if (rc == 0)
        memcpy(pk, kf.pk, EC_PK_BYTES);
    return rc;
}

int ec_key_load(ec_key_t **out, const char *path, const char *passphrase, ec_status_t *st)
{
    assert(out && path && passphrase);
    *out = NULL;
    s_keyfile_t kf;
    int rc = s_keyfile_read(&kf, path, st);
    if (rc != 0)
        return rc;
    ec_key_t *key = s_key_new();
    s_kdf_t *kdf = sodium_malloc(sizeof *kdf);
    if (!key || !kdf) {
        sodium_free(kdf);
        ec_key_destroy(&key);
        return ec_status_set(st, EC_ENOMEM, "out of memory loading key file %s", path);
    }
    rc = s_kdf(kdf, passphrase, kf.salt, kf.opslimit, kf.memlimit);
    if (rc == EC_EINVAL)
        ec_status_set(st, rc, "the passphrase for key file %s is longer than %d bytes", path,
                      EC_PASSPHRASE_MAX);
    else if (rc != 0)
        ec_status_set(st, rc, "out of memory deriving the key of key file %s", path);
    if (rc == 0 &&
        crypto_secretbox_open_easy(key->secret->sk, kf.ct, sizeof kf.ct, kf.nonce, kdf->k) != 0)
        rc = ec_status_set(st, EC_ECRYPTO,
                           "wrong passphrase for key file %s (or the file was altered)", path);
    sodium_free(kdf);
    if (rc == 0) {
        /* The plaintext pk field is not authenticated: it must match the decrypted key. */
        uint8_t pk[EC_PK_BYTES];
        (void)crypto_sign_ed25519_sk_to_pk(pk, key->secret->sk);
        if (sodium_memcmp(pk, kf.pk, EC_PK_BYTES) != 0)
            rc = ec_status_set(st, EC_EINVAL,
                               "key file %s is damaged: its public key is not that of its "
                               "secret key",
                               path);
        memcpy(key->pk, kf.pk, EC_PK_BYTES);
    }
    if (rc == 0 && s_key_finish(key) != 0)
        rc = ec_status_set(st, EC_EINVAL,
                           "key file %s holds a key whose public half is no usable curve point",
                           path);
    if (rc != 0) {
        ec_key_destroy(&key);
        return rc;
    }
    *out = key;
    return 0;
}

/* ---- addresses (bech32m, BIP-350) ------------------------------------------------------- */

static const char s_charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/* The BCH checksum step of BIP-173, applied to one 5-bit value. */
static uint32_t s_polymod_step(uint32_t chk, uint8_t v)
{
    static const uint32_t gen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
    uint8_t top = (uint8_t)(chk >> 25);
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (int i = 0; i < 5; i++)
        if ((top >> i) & 1)
            chk ^= gen[i];
    return chk;
}

/* Checksum state after the expanded hrp (high bits, a zero, low bits). hrp is lowercase. */
static uint32_t s_polymod_hrp(const char *hrp, size_t hrp_len)
{
    uint32_t chk = 1;
    for (size_t i = 0; i < hrp_len; i++)
        chk = s_polymod_step(chk, (uint8_t)hrp[i] >> 5);
    chk = s_polymod_step(chk, 0);
    for (size_t i = 0; i < hrp_len; i++)
        chk = s_polymod_step(chk, (uint8_t)hrp[i] & 31);
    return chk;
}

int ec_bech32m_encode(char *out, size_t cap, const char *hrp, const uint8_t *data, size_t data_len)
{
    assert(out && hrp && (data || data_len == 0));
    size_t hrp_len = strlen(hrp);
    if (hrp_len < 1 || hrp_len + 1 + data_len + 6 > EC_BECH32_MAX || hrp_len + data_len + 8 > cap)
        return EC_EINVAL;
    for (size_t i = 0; i < hrp_len; i++)
        if (hrp[i] < 33 || hrp[i] > 126 || (hrp[i] >= 'A' && hrp[i] <= 'Z'))
            return EC_EINVAL;
    uint32_t chk = s_polymod_hrp(hrp, hrp_len);
    char *p = out;
    memcpy(p, hrp, hrp_len);
    p += hrp_len;
    *p++ = '1';
    for (size_t i = 0; i < data_len; i++) {
        if (data[i] >> 5)
            return EC_EINVAL;
        chk = s_polymod_step(chk, data[i]);
        *p++ = s_charset[data[i]];
    }
    for (int i = 0; i < 6; i++)
        chk = s_polymod_step(chk, 0);
    chk ^= EC_BECH32M_CONST;
    for (int i = 0; i < 6; i++)
        *p++ = s_charset[(chk >> (5 * (5 - i))) & 31];
    *p = '\0';
    return 0;
}

int ec_bech32m_decode(char *hrp, size_t hrp_cap, uint8_t *data, size_t *data_len, size_t data_cap,
                      const char *s)
{
    assert(hrp && data && data_len && s);
    *data_len = 0;
    size_t len = strnlen(s, EC_BECH32_MAX + 1);
    if (len > EC_BECH32_MAX)
        return EC_EINVAL;
    bool lower = false, upper = false;
    size_t sep = len; /* position of the last '1' */
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 33 || ch > 126)
            return EC_EINVAL;
        lower |= ch >= 'a' && ch <= 'z';
        upper |= ch >= 'A' && ch <= 'Z';
        if (ch == '1')
            sep = i;
    }
    if ((lower && upper) || sep == len || sep < 1 || len - sep - 1 < 6)
        return EC_EINVAL;
    size_t n = len - sep - 1 - 6;
    if (sep + 1 > hrp_cap || n > data_cap)
        return EC_EINVAL;
    for (size_t i = 0; i < sep; i++)
        hrp[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    hrp[sep] = '\0';
    uint32_t chk = s_polymod_hrp(hrp, sep);
    for (size_t i = sep + 1; i < len; i++) {
        char ch = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : s[i];
        const char *at = memchr(s_charset, ch, 32);
        if (!at)
            return EC_EINVAL;
        uint8_t v = (uint8_t)(at - s_charset);
        chk = s_polymod_step(chk, v);
        if (i < len - 6)
            data[i - sep - 1] = v;
    }
    if (chk != EC_BECH32M_CONST)
        return EC_EINVAL;
    *data_len = n;
    return 0;
}

void ec_address_hash(uint8_t out[EC_ADDR_HASH_BYTES], const uint8_t pk[EC_PK_BYTES])
{
    static const char tag[] = "ecert/address";
    uint8_t h[EC_HASH_BYTES];
    ec_sha256_t st;
    ec_sha256_init(&st);
    ec_sha256_update(&st, tag, sizeof tag - 1);
    ec_sha256_update(&st, pk, EC_PK_BYTES);
    ec_sha256_final(&st, h);
    memcpy(out, h, EC_ADDR_HASH_BYTES);
}

/* 20 bytes are 160 bits: exactly 32 groups of 5, so there is never padding. */
#define S_ADDR_GROUPS (EC_ADDR_HASH_BYTES * 8 / 5)

void ec_address_from_hash(char out[EC_ADDR_MAX], const uint8_t hash[EC_ADDR_HASH_BYTES])
{
    uint8_t groups[S_ADDR_GROUPS];
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (size_t i = 0; i < EC_ADDR_HASH_BYTES; i++) {
        acc = (acc << 8) | hash[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            groups[n++] = (acc >> bits) & 31;
        }
    }
    assert(n == S_ADDR_GROUPS && bits == 0);
    int rc = ec_bech32m_encode(out, EC_ADDR_MAX, EC_ADDR_HRP, groups, n);
    assert(rc == 0);
    (void)rc;
}

void ec_address_from_pk(char out[EC_ADDR_MAX], const uint8_t pk[EC_PK_BYTES])
{
    uint8_t hash[EC_ADDR_HASH_BYTES];
    ec_address_hash(hash, pk);
    ec_address_from_hash(out, hash);
}

int ec_address_parse(uint8_t hash[EC_ADDR_HASH_BYTES], const char *address)
{
    assert(hash && address);
    char hrp[EC_BECH32_MAX + 1];
    uint8_t groups[EC_BECH32_MAX];
    size_t n = 0;
    if (ec_bech32m_decode(hrp, sizeof hrp, groups, &n, sizeof groups, address) != 0)
        return EC_EINVAL;
    if (strcmp(hrp, EC_ADDR_HRP) != 0 || n != S_ADDR_GROUPS)
        return EC_EINVAL;
    uint32_t acc = 0;
    int bits = 0;
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 5) | groups[i];
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            hash[out++] = (uint8_t)(acc >> bits);
        }
    }
    assert(out == EC_ADDR_HASH_BYTES && bits == 0);
    return 0;
}
