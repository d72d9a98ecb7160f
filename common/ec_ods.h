/*
 * ec_ods.h - the operational data store (ODS) of docs/SHARING.md: its wire protocol
 * between `odsd` (one per agency front-end) and clients, and the encrypted-file format.
 *
 * Files are encrypted by their owner before they leave the owner's machine, with a fresh
 * 32-byte content key, as a libsodium secretstream (XChaCha20-Poly1305): a 24-byte header,
 * then chunks of EC_ODS_PLAIN_CHUNK plaintext bytes each sealed with 17 bytes of tag and
 * MAC (the last chunk, possibly shorter or empty, tagged FINAL). The file's integrity hash
 * is BLAKE2b-256 of the encrypted bytes (ec_ods_hash): the owner puts it on chain, odsd stores the
 * file under it and checks it on upload and while serving, and a downloader checks it again before
 * decrypting. The content key never travels in clear: the owner hands it to its odsd
 * sealed to odsd's key (crypto_box_seal over the X25519 form of odsd's Ed25519 key), and
 * odsd hands it to an authorized requester sealed to the key that signed the request.
 *
 * Transport: ZeroMQ. odsd binds a ROUTER; a client connects a DEALER and sends one
 * request at a time, each one frame of canonical msgpack, and gets one reply frame.
 * Sessions (an upload or a download in progress) are numbered by odsd; at most
 * EC_ODS_SESSIONS_MAX at once, each dropped after EC_ODS_IDLE_MS without a request. Data
 * moves in chunks of at most EC_ODS_CHUNK_MAX bytes, one per request, so each side holds
 * one chunk at a time whatever the file's size.
 *
 *   request                                          reply
 *   ["put", hash: bin32, size: uint,                ["ok", session: uint]
 *    sealed_key: bin(80), time_ms: uint,             the uploader's key must be listed
 *    uploader: bin32, sig: bin64]                    in odsd's config; time within
 *                                                    EC_ODS_SKEW_MS of odsd's clock
 *   ["chunk", session, offset: uint, data: bin]      ["ok", received: uint]   in order
 *   ["end", session]                                 ["ok", hash: bin32]      stored once
 *                                                    the size and hash match (fsync'd)
 *   ["get", grant_tx: bin32]                         ["meta", session, size: uint,
 *                                                     hash: bin32, sealed_key: bin]
 *   ["read", session, offset: uint]                  ["data", offset, data: bin]; at
 *                                                    offset == size: ["done", intact:
 *                                                    bool] (the hash odsd computed while
 *                                                    serving matched)
 *   ["has", hash: bin32]                             ["ok", size: uint]
 *   ["ping"]                                         ["pong", pk: bin32] (odsd's key)
 *   any refusal                                      ["err", code: int, message: str]
 *
 * The put signature covers EC_ODS_PUT_TAG || hash || be64(size) || sealed_key ||
 * be64(time_ms) (ec_ods_put_message). A get names a CONTRACT_CALL of the asset's access
 * contract (its function `request`) that the share chain applied with the answer
 * granted; odsd checks it against the chain (with the transaction's proof), that it is
 * fresh, and that the asset's version is published and stored here.
 */
#ifndef EC_ODS_H
#define EC_ODS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ec_codec.h"
#include "ec_crypto.h"
#include "ec_err.h"

#define EC_ODS_CHUNK_MAX (1u << 20)               /* data bytes in one chunk or data reply    */
#define EC_ODS_PLAIN_CHUNK (64u * 1024)           /* plaintext bytes per secretstream chunk   */
#define EC_ODS_STREAM_HEADER 24                   /* crypto_secretstream_..._HEADERBYTES      */
#define EC_ODS_STREAM_ABYTES 17                   /* crypto_secretstream_..._ABYTES           */
#define EC_ODS_KEY_BYTES 32                       /* a content key                            */
#define EC_ODS_SEALED_KEY_BYTES (32u + 48u)       /* a content key sealed (crypto_box_seal)   */
#define EC_ODS_SESSIONS_MAX 64                    /* uploads and downloads at once            */
#define EC_ODS_IDLE_MS 60000u                     /* a session without a request is dropped   */
#define EC_ODS_SKEW_MS 300000u                    /* a put's time, against odsd's clock       */
#define EC_ODS_GRANT_TTL_MS_DEFAULT 600000u       /* a grant is good this long after its block */
#define EC_ODS_FILE_BYTES_MAX (1ull << 40)        /* one stored file                          */
#define EC_ODS_MSG_MAX (EC_ODS_CHUNK_MAX + 4096u) /* one request or reply frame            */
#define EC_ODS_PUT_TAG "ecert/ods/put"

/*
 * The integrity hash of an encrypted file: BLAKE2b with a 32-byte output (libsodium's
 * generichash), "blake2b-256" in the directory. Not SHA-256: on the test host libsodium's
 * SHA-256 runs at about 140 MB/s and BLAKE2b at 460 MB/s, and every byte of a shared file is
 * hashed three times (by the owner, by odsd, by the requester).
 */
#define EC_ODS_HASH_ALGORITHM "blake2b-256"
typedef struct {
    _Alignas(64) uint8_t state[384]; /* crypto_generichash_state                         */
} ec_ods_hash_t;

void ec_ods_hash_init(ec_ods_hash_t *h);
void ec_ods_hash_update(ec_ods_hash_t *h, const void *data, size_t size);
void ec_ods_hash_final(ec_ods_hash_t *h, uint8_t out[EC_HASH_BYTES]);
/* The hash of data in one call. */
void ec_ods_hash(uint8_t out[EC_HASH_BYTES], const void *data, size_t size);

/* The size of the encrypted form of `plain` plaintext bytes. */
uint64_t ec_ods_cipher_size(uint64_t plain);

/* ---- the encrypted-file stream --------------------------------------------------------- */

/*
 * Encrypts a file as a stream: ec_ods_enc_init writes the header into out (24 bytes),
 * ec_ods_enc_chunk seals one plaintext chunk (at most EC_ODS_PLAIN_CHUNK bytes; every chunk
 * but the last exactly that size) into out (size + 17 bytes). The state holds key material:
 * ec_ods_enc_fini wipes it.
 */
typedef struct {
    uint8_t state[52]; /* crypto_secretstream_xchacha20poly1305_state                  */
} ec_ods_stream_t;

void ec_ods_enc_init(ec_ods_stream_t *s, const uint8_t key[EC_ODS_KEY_BYTES],
                     uint8_t header[EC_ODS_STREAM_HEADER]);
void ec_ods_enc_chunk(ec_ods_stream_t *s, uint8_t *out, const uint8_t *plain, size_t size,
                      bool last);
/* Decrypts: init from the header, then each sealed chunk (size - 17 plaintext bytes out).
 * Returns 0, or EC_ECRYPTO (wrong key, tampered, truncated: *last tells whether the chunk
 * was the final one). */
EC_WUR int ec_ods_dec_init(ec_ods_stream_t *s, const uint8_t key[EC_ODS_KEY_BYTES],
                           const uint8_t header[EC_ODS_STREAM_HEADER]);
EC_WUR int ec_ods_dec_chunk(ec_ods_stream_t *s, uint8_t *plain, const uint8_t *in, size_t size,
                            bool *last);
void ec_ods_stream_fini(ec_ods_stream_t *s);

/* The bytes a put's signature covers, written to w. */
void ec_ods_put_message(ec_writer_t *w, const uint8_t hash[EC_HASH_BYTES], uint64_t size,
                        const uint8_t sealed_key[EC_ODS_SEALED_KEY_BYTES], uint64_t time_ms);

#endif
