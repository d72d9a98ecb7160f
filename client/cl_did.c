/*
 * cl_did.c - did:key (Ed25519) and base58btc. Base58 is the schoolbook base conversion:
 * each input byte multiplies the big number held in base 58 digits, O(n^2) for n bytes,
 * fine for the 34-byte keys and 64-byte signatures it encodes here.
 */
#include "cl_did.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

static const char s_alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

int cl_base58_encode(char *out, size_t cap, const uint8_t *data, size_t size)
{
    if (size > CL_BASE58_BYTES_MAX)
        return EC_ETOOBIG;
    uint8_t digits[CL_BASE58_BYTES_MAX * 138 / 100 + 1] = {0}; /* little-endian base 58 */
    size_t len = 0, zeros = 0;
    while (zeros < size && data[zeros] == 0)
        zeros++;
    for (size_t i = zeros; i < size; i++) {
        unsigned carry = data[i];
        for (size_t j = 0; j < len; j++) {
            carry += (unsigned)digits[j] << 8;
            digits[j] = (uint8_t)(carry % 58);
            carry /= 58;
        }
        while (carry) {
            digits[len++] = (uint8_t)(carry % 58);
            carry /= 58;
        }
    }
    if (zeros + len + 1 > cap)
        return EC_ETOOBIG;
    size_t o = 0;
    for (size_t i = 0; i < zeros; i++)
        out[o++] = '1';
    for (size_t i = 0; i < len; i++)
        out[o++] = s_alphabet[digits[len - 1 - i]];
    out[o] = '\0';
    return 0;
}

int cl_base58_decode(uint8_t *out, size_t cap, size_t *size, const char *text)
{
    size_t n = strlen(text);
    if (n == 0)
        return EC_EINVAL;
    if (n > CL_BASE58_BYTES_MAX * 138 / 100 + 1)
        return EC_ETOOBIG;
    uint8_t bytes[CL_BASE58_BYTES_MAX + 1] = {0}; /* little-endian base 256 */
    size_t len = 0, zeros = 0;
    while (zeros < n && text[zeros] == '1')
        zeros++;
    for (size_t i = zeros; i < n; i++) {
        const char *p = strchr(s_alphabet, text[i]);
        if (!p || !*p)
            return EC_EINVAL;
        unsigned carry = (unsigned)(p - s_alphabet);
        for (size_t j = 0; j < len; j++) {
            carry += (unsigned)bytes[j] * 58;
            bytes[j] = (uint8_t)carry;
            carry >>= 8;
        }
        while (carry) {
            if (len == sizeof bytes)
                return EC_ETOOBIG;
            bytes[len++] = (uint8_t)carry;
            carry >>= 8;
        }
    }
    if (zeros + len > cap || zeros + len > CL_BASE58_BYTES_MAX)
        return EC_ETOOBIG;
    memset(out, 0, zeros);
    for (size_t i = 0; i < len; i++)
        out[zeros + i] = bytes[len - 1 - i];
    *size = zeros + len;
    return 0;
}

void cl_multikey_from_pk(char out[CL_MULTIKEY_MAX], const uint8_t pk[EC_PK_BYTES])
{
    uint8_t mc[2 + EC_PK_BYTES] = {0xed, 0x01};
    memcpy(mc + 2, pk, EC_PK_BYTES);
    out[0] = 'z';
    int rc = cl_base58_encode(out + 1, CL_MULTIKEY_MAX - 1, mc, sizeof mc);
    assert(rc == 0); /* 34 bytes always fit */
    (void)rc;
}

void cl_did_from_pk(char out[CL_DID_MAX], const uint8_t pk[EC_PK_BYTES])
{
    char mk[CL_MULTIKEY_MAX];
    cl_multikey_from_pk(mk, pk);
    snprintf(out, CL_DID_MAX, "did:key:%s", mk);
}

void cl_did_vm_from_pk(char out[CL_DID_VM_MAX], const uint8_t pk[EC_PK_BYTES])
{
    char mk[CL_MULTIKEY_MAX];
    cl_multikey_from_pk(mk, pk);
    snprintf(out, CL_DID_VM_MAX, "did:key:%s#%s", mk, mk);
}

int cl_did_parse(uint8_t pk[EC_PK_BYTES], const char *did)
{
    static const char prefix[] = "did:key:z";
    if (strncmp(did, prefix, sizeof prefix - 1) != 0)
        return EC_EINVAL;
    const char *key = did + sizeof prefix - 2; /* at the 'z' */
    const char *hash = strchr(key, '#');
    size_t key_len = hash ? (size_t)(hash - key) : strlen(key);
    if (key_len >= CL_MULTIKEY_MAX || key_len < 2)
        return EC_EINVAL;
    if (hash && (strlen(hash + 1) != key_len || memcmp(hash + 1, key, key_len) != 0))
        return EC_EINVAL;
    char b58[CL_MULTIKEY_MAX];
    memcpy(b58, key + 1, key_len - 1);
    b58[key_len - 1] = '\0';
    uint8_t mc[2 + EC_PK_BYTES + 8];
    size_t n = 0;
    if (cl_base58_decode(mc, sizeof mc, &n, b58) != 0 || n != 2 + EC_PK_BYTES || mc[0] != 0xed ||
        mc[1] != 0x01)
        return EC_EINVAL;
    memcpy(pk, mc + 2, EC_PK_BYTES);
    return 0;
}
