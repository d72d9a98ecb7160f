/*
 * cl_did.h - did:key for Ed25519 keys (W3C did:key method), and the base58btc it needs.
 *
 *   did:key:z<base58btc(0xed 0x01 || public key)>      (multibase 'z', multicodec ed25519-pub)
 *
 * which for every Ed25519 key starts "did:key:z6Mk". Its one verification method is
 * "<did>#<the same z... string>" (the Multikey form). An ecert account's key maps to it
 * one to one: an outside verifier turns the DID back into the 32-byte key, and the key into
 * the account address (ec_address_from_pk) whose roles the main chain publishes
 * (docs/INTEROP.md). Debian packages no C base58 library, so the encoder is here (about 40
 * lines, quadratic in the length, which is at most 80 bytes in this use).
 */
#ifndef CL_DID_H
#define CL_DID_H

#include <stddef.h>
#include <stdint.h>

#include "ec_crypto.h"
#include "ec_err.h"

/* "z" + 48 base58 characters for 34 bytes, and a NUL, with room. */
#define CL_MULTIKEY_MAX 56
/* "did:key:" and a multikey. */
#define CL_DID_MAX (8 + CL_MULTIKEY_MAX)
/* "<did>#<z...>": a verification method id. */
#define CL_DID_VM_MAX (2 * CL_DID_MAX)
/* The longest input cl_base58_encode and cl_base58_decode take, bytes. */
#define CL_BASE58_BYTES_MAX 128

/* base58btc (Bitcoin alphabet) of size <= CL_BASE58_BYTES_MAX bytes into out (cap bytes,
 * NUL-terminated). 0, or EC_ETOOBIG (input above the limit, or out too small). */
EC_WUR int cl_base58_encode(char *out, size_t cap, const uint8_t *data, size_t size);
/* Decodes base58btc text into out (cap bytes), *size set. EC_EINVAL (a character outside
 * the alphabet, empty text) or EC_ETOOBIG (longer than cap or CL_BASE58_BYTES_MAX). */
EC_WUR int cl_base58_decode(uint8_t *out, size_t cap, size_t *size, const char *text);

/* "z6Mk..." (multibase base58btc of the multicodec ed25519-pub key) into out. */
void cl_multikey_from_pk(char out[CL_MULTIKEY_MAX], const uint8_t pk[EC_PK_BYTES]);
/* "did:key:z6Mk..." into out. */
void cl_did_from_pk(char out[CL_DID_MAX], const uint8_t pk[EC_PK_BYTES]);
/* "did:key:z6Mk...#z6Mk..." into out. */
void cl_did_vm_from_pk(char out[CL_DID_VM_MAX], const uint8_t pk[EC_PK_BYTES]);
/*
 * Reads an Ed25519 public key from a did:key DID, or from a verification method id
 * ("<did>#<fragment>", whose fragment must then be the DID's own multibase key). Returns 0,
 * or EC_EINVAL (not did:key, not base58btc, not the ed25519-pub multicodec, not 32 bytes,
 * a foreign fragment).
 */
EC_WUR int cl_did_parse(uint8_t pk[EC_PK_BYTES], const char *did);

#endif
