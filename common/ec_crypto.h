/*
 * ec_crypto.h - every cryptographic operation in ecert, all through libsodium.
 *
 * - Hashes: SHA-256, with an incremental form.
 * - Signatures: Ed25519 (crypto_sign_detached / verify_detached). Signed messages are
 *   domain-separated by the caller (see ec_types.h: "ecert/tx", "ecert/vote").
 * - Encryption to a holder: sealed boxes to the holder's Ed25519 key converted to X25519
 *   (crypto_sign_ed25519_pk_to_curve25519), so one key pair serves signing and receiving.
 * - Curve25519 keys: the same conversion gives a validator its CurveZMQ key pair
 *   (ec_key_curve_pk / ec_key_curve_sk) and the CurveZMQ key of any peer (ec_curve_pk).
 * - Key files: the 64-byte secret key encrypted with XSalsa20-Poly1305 (crypto_secretbox)
 *   under a key derived from a passphrase with Argon2id (crypto_pwhash). Format in
 *   docs/PROTOCOL.md, "Key files". Secret keys live only in sodium_malloc memory.
 * - Addresses: bech32m text with human-readable prefix "ec" over the first 20 bytes of
 *   SHA-256("ecert/address" || public key). Example: ec1q... Checksums catch typos.
 *
 * ec_crypto_init() must be called once before anything else (it calls sodium_init()).
 *
 * Key file format (version 1): one canonical msgpack array of 8 elements, written with
 * mode 0600, atomically, never over an existing file.
 *
 *   | # | field      | type  | meaning                                                      |
 *   |---|------------|-------|--------------------------------------------------------------|
 *   | 0 | version    | uint  | 1; anything else is EC_EVERSION                              |
 *   | 1 | suite      | str   | "ed25519/argon2id13/xsalsa20poly1305"; else EC_EVERSION      |
 *   | 2 | pk         | bin32 | Ed25519 public key, plaintext (ec_key_file_pk reads it)      |
 *   | 3 | salt       | bin16 | Argon2id salt (crypto_pwhash_SALTBYTES), random per file     |
 *   | 4 | opslimit   | uint  | Argon2id passes; 1..EC_KEYFILE_OPSLIMIT_MAX                  |
 *   | 5 | memlimit   | uint  | Argon2id memory in bytes; 8192..EC_KEYFILE_MEMLIMIT_MAX      |
 *   | 6 | nonce      | bin24 | XSalsa20 nonce, random per file                              |
 *   | 7 | ciphertext | bin80 | crypto_secretbox_easy(sk (64 bytes), nonce, key): MAC || ct  |
 *
 * key = crypto_pwhash(32 bytes, passphrase, salt, opslimit, memlimit, ALG_ARGON2ID13);
 * ec_key_save uses OPSLIMIT_INTERACTIVE (2) and MEMLIMIT_INTERACTIVE (64 MiB). The limits
 * read from a file are bounded before use, so a hostile file cannot make a loader spend
 * more than EC_KEYFILE_MEMLIMIT_MAX of memory. The plaintext pk must equal the public half
 * of the decrypted secret key (else EC_EINVAL). Files above 1024 bytes are rejected, and so
 * are files that group or others may read or write (EC_ECONFIG, as ssh refuses such
 * private keys): a key file must have mode 0600 or 0400.
 */
#ifndef EC_CRYPTO_H
#define EC_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "ec_err.h"

#define EC_HASH_BYTES 32
#define EC_PK_BYTES 32
#define EC_SK_BYTES 64
#define EC_SIG_BYTES 64
#define EC_SEAL_OVERHEAD 48   /* crypto_box_SEALBYTES                               */
#define EC_CURVE_KEY_BYTES 32 /* crypto_scalarmult_curve25519_BYTES: an X25519 key  */
#define EC_ADDR_HASH_BYTES 20 /* bytes of the key hash inside an address            */
#define EC_ADDR_MAX 64        /* buffer size for an address string, with the NUL    */
#define EC_ADDR_HRP "ec"      /* bech32m human-readable prefix                      */
#define EC_PASSPHRASE_MAX 1024
#define EC_KEYFILE_OPSLIMIT_MAX 16u                   /* Argon2id passes accepted from a file */
#define EC_KEYFILE_MEMLIMIT_MAX (1024u * 1024 * 1024) /* 1 GiB (MEMLIMIT_SENSITIVE)         */
#define EC_BECH32_MAX 90             /* longest bech32m string (BIP-173), without the NUL  */
#define EC_BECH32M_CONST 0x2bc830a3u /* BIP-350 checksum constant                          */

/* Returns 0, or EC_EINTERNAL if libsodium cannot initialise. Idempotent, thread-safe. */
EC_WUR int ec_crypto_init(void);

/* ---- hashing ---------------------------------------------------------------------------- */

void ec_sha256(uint8_t out[EC_HASH_BYTES], const void *data, size_t size);

typedef crypto_hash_sha256_state ec_sha256_t;
void ec_sha256_init(ec_sha256_t *st);
void ec_sha256_update(ec_sha256_t *st, const void *data, size_t size);
void ec_sha256_final(ec_sha256_t *st, uint8_t out[EC_HASH_BYTES]);

/* Lowercase hex of size bytes into out (capacity 2*size+1, NUL-terminated): libsodium's
 * sodium_bin2hex, constant time. */
void ec_hex(char *out, const uint8_t *data, size_t size);
/*
 * Parses a NUL-terminated string of exactly 2*size hex digits into size bytes (libsodium's
 * sodium_hex2bin, constant time). Upper and lower case are both accepted (ids are printed
 * in lower case, but people copy them from anywhere); nothing else is: no "0x", no
 * separators or whitespace, no odd digit, nothing after the last digit.
 * Returns 0, or EC_EINVAL with out zeroed.
 */
EC_WUR int ec_unhex(uint8_t *out, size_t size, const char *hex);

/* ---- keys and signatures ---------------------------------------------------------------- */

/* A key pair; the secret half is in guarded sodium_malloc memory. Opaque. */
typedef struct ec_key ec_key_t;

/* Makes a fresh random key pair. Returns NULL only when memory is exhausted. */
ec_key_t *ec_key_generate(void);
/* Derives a key pair from a 32-byte seed (tests and deterministic devnet fixtures only). */
ec_key_t *ec_key_from_seed(const uint8_t seed[32]);
/* Wipes and frees the key; sets *self_p to NULL. Idempotent. */
void ec_key_destroy(ec_key_t **self_p);
/* The public key (borrowed, EC_PK_BYTES). */
const uint8_t *ec_key_pk(const ec_key_t *key);
/* The secret key (borrowed, EC_SK_BYTES). Never log or print it. */
const uint8_t *ec_key_sk(const ec_key_t *key);

/*
 * Writes the key to `path`, encrypted under `passphrase`, with mode 0600, atomically
 * (temporary file, fsync, rename). Refuses to overwrite an existing file (EC_EEXIST).
 * Returns 0, EC_EEXIST, EC_EIO, or EC_ENOMEM.
 */
EC_WUR int ec_key_save(const ec_key_t *key, const char *path, const char *passphrase);
/*
 * Like ec_key_save with explicit Argon2id costs (tests use crypto_pwhash_OPSLIMIT_MIN and
 * crypto_pwhash_MEMLIMIT_MIN to stay fast). Returns 0, EC_EINVAL (cost out of the range a
 * loader accepts, or passphrase longer than EC_PASSPHRASE_MAX), EC_EEXIST, EC_EIO, EC_ENOMEM.
 */
EC_WUR int ec_key_save_ex(const ec_key_t *key, const char *path, const char *passphrase,
                          uint64_t opslimit, uint64_t memlimit);
/*
 * Reads and decrypts a key file.
 * Returns: 0 and sets *out; EC_ENOTFOUND (no file), EC_EIO, EC_EINVAL (not a key file, or
 *          a passphrase longer than EC_PASSPHRASE_MAX), EC_EVERSION, EC_ECRYPTO (wrong
 *          passphrase or tampered), EC_ENOMEM, or EC_ECONFIG (group or others may read or
 *          write the file).
 * Out:     *out, NULL on failure; st (may be NULL), on failure, the code and a message that
 *          names the file and says what is wrong, e.g. "key file k.key has mode 0644: group
 *          or others may read or change it; run: chmod 600 k.key". Nothing is logged: the
 *          caller reports st.
 */
EC_WUR int ec_key_load(ec_key_t **out, const char *path, const char *passphrase, ec_status_t *st);
/* Reads only the public key from a key file, without the passphrase. Same errors and st as
 * ec_key_load (but no EC_ECRYPTO): the file holds the secret key too, so a key file open
 * to others is refused here as well. */
EC_WUR int ec_key_file_pk(uint8_t pk[EC_PK_BYTES], const char *path, ec_status_t *st);

/*
 * Checks that the open file `fd`, read from `path`, is private to its owner: no permission
 * bit for group or others, as ssh demands of private keys. `what` names the file in the
 * message ("key file", "passphrase file"). Returns 0, EC_ECONFIG with st set to "WHAT PATH
 * has mode 0644: group or others may read or change it; run: chmod 600 PATH", or EC_EIO
 * (fstat failed) with st set. st may be NULL.
 */
EC_WUR int ec_file_private_check(int fd, const char *path, const char *what, ec_status_t *st);

/* Ed25519 detached signature of msg. */
void ec_sign(uint8_t sig[EC_SIG_BYTES], const void *msg, size_t size, const ec_key_t *key);
/* True only when sig is a valid signature of msg by pk (libsodium rejects malleable S). */
bool ec_verify(const uint8_t sig[EC_SIG_BYTES], const void *msg, size_t size,
               const uint8_t pk[EC_PK_BYTES]);

/* ---- Curve25519 (X25519) forms of Ed25519 keys ------------------------------------------ */

/*
 * The Curve25519 public key of a key pair: crypto_sign_ed25519_pk_to_curve25519 of its
 * Ed25519 public key, computed once when the key was made.
 * Returns: a borrowed pointer to EC_CURVE_KEY_BYTES bytes, valid while `key` lives.
 * In:      key, a key pair.
 */
const uint8_t *ec_key_curve_pk(const ec_key_t *key);
/*
 * The Curve25519 secret key of a key pair: crypto_sign_ed25519_sk_to_curve25519 of its
 * Ed25519 secret key, computed once when the key was made, into the same guarded
 * sodium_malloc block as the Ed25519 secret (read-only, wiped by ec_key_destroy). No copy
 * is made, so there is none to wipe; a caller that copies it (ZeroMQ's CURVE_SECRETKEY
 * option does) owns that copy. Never log or print it.
 * Returns: a borrowed pointer to EC_CURVE_KEY_BYTES bytes, valid while `key` lives.
 * In:      key, a key pair.
 */
const uint8_t *ec_key_curve_sk(const ec_key_t *key);
/*
 * Converts anyone's Ed25519 public key to its Curve25519 public key
 * (crypto_sign_ed25519_pk_to_curve25519), e.g. a peer validator's CurveZMQ server key.
 * Returns: 0, or EC_EINVAL (out zeroed) when pk is not a usable Ed25519 point (small
 *          order, or not on the curve): no secret key matches such a key.
 * Out:     out, EC_CURVE_KEY_BYTES bytes.
 * In:      pk, EC_PK_BYTES bytes.
 */
EC_WUR int ec_curve_pk(uint8_t out[EC_CURVE_KEY_BYTES], const uint8_t pk[EC_PK_BYTES]);

/* ---- encryption to a holder ------------------------------------------------------------- */

/*
 * Encrypts msg to the holder's Ed25519 public key. `out` must have size + EC_SEAL_OVERHEAD
 * bytes. Returns 0, or EC_EINVAL if pk is not a valid Ed25519 point.
 */
EC_WUR int ec_seal(uint8_t *out, const void *msg, size_t size, const uint8_t pk[EC_PK_BYTES]);
/*
 * Decrypts a sealed box with the holder's key. `out` must have size - EC_SEAL_OVERHEAD
 * bytes. Returns 0, EC_EINVAL (too short), or EC_ECRYPTO (not for this key, or tampered).
 */
EC_WUR int ec_unseal(uint8_t *out, const uint8_t *box, size_t size, const ec_key_t *key);

/* ---- addresses -------------------------------------------------------------------------- */

/* The 20-byte key hash an address encodes. */
void ec_address_hash(uint8_t out[EC_ADDR_HASH_BYTES], const uint8_t pk[EC_PK_BYTES]);
/* Writes the bech32m address of pk into out (EC_ADDR_MAX bytes). */
void ec_address_from_pk(char out[EC_ADDR_MAX], const uint8_t pk[EC_PK_BYTES]);
/* Writes the bech32m address of a 20-byte key hash into out. */
void ec_address_from_hash(char out[EC_ADDR_MAX], const uint8_t hash[EC_ADDR_HASH_BYTES]);
/*
 * Parses an address: right prefix, bech32m checksum, all one case, 20-byte payload.
 * Returns 0 and fills hash, or EC_EINVAL.
 */
EC_WUR int ec_address_parse(uint8_t hash[EC_ADDR_HASH_BYTES], const char *address);

/*
 * Generic bech32m (BIP-350), exposed for tests and other prefixes. data holds 5-bit values.
 * Encode: hrp must be 1..83 lowercase printable ASCII; out gets hrp "1" data checksum and a
 * NUL (capacity cap >= strlen(hrp) + data_len + 8). Returns 0 or EC_EINVAL.
 * Decode: accepts all-lowercase or all-uppercase strings of at most EC_BECH32_MAX
 * characters; writes the lowercased hrp (NUL-terminated, capacity hrp_cap) and the 5-bit
 * data without the checksum (capacity data_cap). Returns 0 or EC_EINVAL (mixed case, bad
 * character, no separator, empty hrp, short data, wrong checksum, buffers too small).
 */
EC_WUR int ec_bech32m_encode(char *out, size_t cap, const char *hrp, const uint8_t *data,
                             size_t data_len);
EC_WUR int ec_bech32m_decode(char *hrp, size_t hrp_cap, uint8_t *data, size_t *data_len,
                             size_t data_cap, const char *s);

#endif
