/*
 * ec_ods.c - the ODS's encrypted-file stream and the bytes a put signs (ec_ods.h). The
 * stream is libsodium's secretstream; the sizes in ec_ods.h are its constants, checked here
 * at compile time so the header needs no sodium.h.
 */
#include "ec_ods.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

_Static_assert(sizeof(((ec_ods_stream_t *)0)->state) ==
                   sizeof(crypto_secretstream_xchacha20poly1305_state),
               "ec_ods_stream_t holds a secretstream state");
_Static_assert(EC_ODS_STREAM_HEADER == crypto_secretstream_xchacha20poly1305_HEADERBYTES,
               "secretstream header size");
_Static_assert(EC_ODS_STREAM_ABYTES == crypto_secretstream_xchacha20poly1305_ABYTES,
               "secretstream tag size");
_Static_assert(EC_ODS_KEY_BYTES == crypto_secretstream_xchacha20poly1305_KEYBYTES,
               "content key size");
_Static_assert(EC_ODS_SEALED_KEY_BYTES == EC_ODS_KEY_BYTES + crypto_box_SEALBYTES,
               "sealed content key size");

_Static_assert(sizeof(((ec_ods_hash_t *)0)->state) == sizeof(crypto_generichash_state),
               "ec_ods_hash_t holds a generichash state");

static crypto_generichash_state *s_hstate(ec_ods_hash_t *h)
{
    return (crypto_generichash_state *)(void *)h->state;
}

void ec_ods_hash_init(ec_ods_hash_t *h)
{
    assert(h);
    crypto_generichash_init(s_hstate(h), NULL, 0, EC_HASH_BYTES);
}

void ec_ods_hash_update(ec_ods_hash_t *h, const void *data, size_t size)
{
    assert(h && (data || size == 0));
    crypto_generichash_update(s_hstate(h), data, size);
}

void ec_ods_hash_final(ec_ods_hash_t *h, uint8_t out[EC_HASH_BYTES])
{
    assert(h && out);
    crypto_generichash_final(s_hstate(h), out, EC_HASH_BYTES);
}

void ec_ods_hash(uint8_t out[EC_HASH_BYTES], const void *data, size_t size)
{
    ec_ods_hash_t h;
    ec_ods_hash_init(&h);
    ec_ods_hash_update(&h, data, size);
    ec_ods_hash_final(&h, out);
}

uint64_t ec_ods_cipher_size(uint64_t plain)
{
    /* Full chunks, then the final one (possibly empty): each carries ABYTES. */
    uint64_t chunks = plain / EC_ODS_PLAIN_CHUNK + 1;
    return EC_ODS_STREAM_HEADER + plain + chunks * EC_ODS_STREAM_ABYTES;
}

static crypto_secretstream_xchacha20poly1305_state *s_state(ec_ods_stream_t *s)
{
    return (crypto_secretstream_xchacha20poly1305_state *)(void *)s->state;
}

void ec_ods_enc_init(ec_ods_stream_t *s, const uint8_t key[EC_ODS_KEY_BYTES],
                     uint8_t header[EC_ODS_STREAM_HEADER])
{
    assert(s && key && header);
    crypto_secretstream_xchacha20poly1305_init_push(s_state(s), header, key);
}

void ec_ods_enc_chunk(ec_ods_stream_t *s, uint8_t *out, const uint8_t *plain, size_t size,
                      bool last)
{
    assert(s && out && (plain || size == 0) && size <= EC_ODS_PLAIN_CHUNK);
    assert(last || size == EC_ODS_PLAIN_CHUNK);
    unsigned char tag = last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
                             : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
    crypto_secretstream_xchacha20poly1305_push(s_state(s), out, NULL, plain, size, NULL, 0, tag);
}

int ec_ods_dec_init(ec_ods_stream_t *s, const uint8_t key[EC_ODS_KEY_BYTES],
                    const uint8_t header[EC_ODS_STREAM_HEADER])
{
    assert(s && key && header);
    return crypto_secretstream_xchacha20poly1305_init_pull(s_state(s), header, key) == 0
               ? 0
               : EC_ECRYPTO;
}

int ec_ods_dec_chunk(ec_ods_stream_t *s, uint8_t *plain, const uint8_t *in, size_t size, bool *last)
{
    assert(s && plain && in && last);
    *last = false;
    if (size < EC_ODS_STREAM_ABYTES || size > EC_ODS_PLAIN_CHUNK + EC_ODS_STREAM_ABYTES)
        return EC_ECRYPTO;
    unsigned char tag = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(s_state(s), plain, NULL, &tag, in, size, NULL,
                                                   0) != 0)
        return EC_ECRYPTO;
    *last = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
    /* Only the final chunk may be short, and nothing else is tagged. */
    if (!*last && (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE ||
                   size != EC_ODS_PLAIN_CHUNK + EC_ODS_STREAM_ABYTES))
        return EC_ECRYPTO;
    return 0;
}

void ec_ods_stream_fini(ec_ods_stream_t *s)
{
    if (s)
        sodium_memzero(s, sizeof *s);
}

void ec_ods_put_message(ec_writer_t *w, const uint8_t hash[EC_HASH_BYTES], uint64_t size,
                        const uint8_t sealed_key[EC_ODS_SEALED_KEY_BYTES], uint64_t time_ms)
{
    uint8_t be[8];
    ec_write_raw(w, EC_ODS_PUT_TAG, sizeof EC_ODS_PUT_TAG); /* with its NUL, as a separator */
    ec_write_raw(w, hash, EC_HASH_BYTES);
    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t)(size >> (56 - 8 * i));
    ec_write_raw(w, be, 8);
    ec_write_raw(w, sealed_key, EC_ODS_SEALED_KEY_BYTES);
    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t)(time_ms >> (56 - 8 * i));
    ec_write_raw(w, be, 8);
}
