/*
 * cl_vc.h - W3C Verifiable Credentials 2.0 for ecert certificates: the Data Integrity
 * proof of the eddsa-jcs-2022 cryptosuite, the certificate credential, and the Bitstring
 * Status List credential made from a side chain's status list (docs/INTEROP.md).
 *
 * eddsa-jcs-2022 (W3C vc-di-eddsa): the proof options are
 *   {type: "DataIntegrityProof", cryptosuite: "eddsa-jcs-2022", created, verificationMethod:
 *    "did:key:z6Mk...#z6Mk...", proofPurpose: "assertionMethod", @context: the document's}
 * hash_data = SHA-256(JCS(options)) || SHA-256(JCS(document without proof)), the signature
 * is Ed25519 over those 64 bytes, and proofValue = "z" + base58btc(signature).
 *
 * Status: ecert's list has two bits per certificate (ec_slist.h); W3C's Bitstring Status
 * List has one bit per entry and one purpose per list, so a side chain gives two lists:
 * "revocation" (bit set when revoked or ended) and "suspension" (bit set when suspended).
 * Entry i is bit 7 - (i mod 8) of byte i / 8 (the first entry is the left-most bit); the
 * bitstring is at least 16 KiB (131,072 entries) for herd privacy, GZIP-compressed, and
 * written "u" + base64url (multibase). A certificate's index in both is its ISSUE's slot.
 */
#ifndef CL_VC_H
#define CL_VC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cl_fields.h"
#include "ec_crypto.h"
#include "ec_err.h"

#define CL_VC_CONTEXT "https://www.w3.org/ns/credentials/v2"
#define CL_VC_SLIST_BITS_MIN 131072u /* entries: 16 KiB, the spec's minimum */
/* Largest credential document cl_vc_parse reads (a certificate's VC fits its 64 KiB
 * payload; a status list credential of 2^26 entries compresses far below this). */
#define CL_VC_BYTES_MAX (4u << 20)
#define CL_VC_TIME_MAX 32 /* "2026-01-31T12:00:00Z" and a NUL */

/* "YYYY-MM-DDTHH:MM:SSZ" (XML Schema dateTimeStamp in UTC, seconds) for ms since the epoch. */
void cl_vc_time(char out[CL_VC_TIME_MAX], uint64_t ms);
/* The reverse, for that exact form (optionally with fractional seconds, ignored). 0 or
 * EC_EINVAL. */
EC_WUR int cl_vc_time_parse(const char *s, uint64_t *ms);

/*
 * Adds an eddsa-jcs-2022 DataIntegrityProof by key to doc (an object with no "proof"),
 * created at `created` (cl_vc_time form). Returns 0, or EC_EINVAL (doc has a proof, or is
 * not canonicalizable) / EC_ENOMEM.
 */
EC_WUR int cl_di_sign(json_t *doc, const ec_key_t *key, const char *created);
/*
 * Checks doc's one eddsa-jcs-2022 proof: its type, cryptosuite, proofPurpose
 * "assertionMethod", a did:key verification method, the proof's @context equal to the
 * document's, and the signature over the document without the proof. Puts the signer's
 * key in pk. Returns 0, EC_EINVAL (no proof or a malformed one), EC_ESIG (does not verify)
 * or EC_ENOMEM, with st saying which.
 */
EC_WUR int cl_di_verify(const json_t *doc, uint8_t pk[EC_PK_BYTES], ec_status_t *st);

/* What goes in a certificate's credential (borrowed). */
typedef struct {
    const uint8_t *issuer_pk;  /* the issuing agency's key: the ISSUE's signer            */
    const uint8_t *holder_pk;  /* the key the payload is sealed to                         */
    const char *cert_type;     /* side chain type                                          */
    const char *org_code;      /* issuing organization                                     */
    const char *side_chain_id; /* the chain the certificate lives on                       */
    const uint8_t *cert_id;    /* EC_HASH_BYTES: the ISSUE transaction id                  */
    uint64_t slot;             /* the ISSUE's result slot: index in the status lists       */
    uint64_t issued_ms;        /* validFrom: the ISSUE's side block time                   */
    uint64_t signed_ms;        /* the proof's created and the SD-JWT's iat: signing time  */
    uint64_t expires_ms;       /* validUntil / exp; 0: never                               */
    const char *status_base;   /* status list credentials are <status_base>/<purpose>      */
    const uint8_t *bundle;     /* the ISSUE's proof bundle (without payload)               */
    size_t bundle_size;
} cl_cred_info_t;

/* Whether `name` may be a claim of an exported credential: not one of the names the VC
 * and SD-JWT VC formats reserve ("id", "iss", "_sd", "cnf", ...). */
bool cl_cred_name_ok(const char *name);
/* The status list credential URL for `purpose` ("revocation"/"suspension"). */
void cl_cred_status_url(char *out, size_t cap, const char *status_base, const char *purpose);
/* The "ecert" facts both formats carry: {sideChain, certificate, statusSlot, certType, org,
 * proofBundle}. NULL when memory is exhausted. */
json_t *cl_cred_ecert_facts(const cl_cred_info_t *info);
/* The credentialStatus array: one BitstringStatusListEntry per purpose. */
json_t *cl_cred_status(const cl_cred_info_t *info);

/*
 * Builds and signs (cl_di_sign, created = signed_ms) the certificate's VC 2.0 document
 * with every field of f as a credentialSubject claim. Returns 0 with *out the compact JSON
 * text (malloc'd), or EC_EINVAL (a field name cl_cred_name_ok refuses) / EC_ENOMEM, with
 * st saying which.
 */
EC_WUR int cl_vc_issue(char **out, const cl_cred_info_t *info, const cl_fields_t *f,
                       const ec_key_t *issuer, ec_status_t *st);

/*
 * The Bitstring Status List credential of purpose "revocation" or "suspension" made from
 * ecert's two-bit list (count entries), signed by key, valid from time_ms, with id
 * <status_base>/<purpose>. Returns 0 with *out the JSON text (malloc'd), or EC_EINVAL (an
 * unknown purpose) / EC_ENOMEM / EC_EINTERNAL (zlib).
 */
EC_WUR int cl_vc_status_list(char **out, const uint8_t *list, uint64_t count, const char *purpose,
                             const char *status_base, uint64_t time_ms, const char *side_chain_id,
                             uint64_t side_height, const ec_key_t *key, ec_status_t *st);
/*
 * Reads entry `index` of a verified status list credential slc (its signature checked by
 * the caller with cl_di_verify): *bit and its statusPurpose in purpose (32 bytes). Returns
 * 0, or EC_EINVAL (not a BitstringStatusList, a bad encodedList) / EC_ETOOBIG / EC_ESTALE
 * (index past the list) with st saying which.
 */
EC_WUR int cl_vc_status_bit(const json_t *slc, uint64_t index, bool *bit, char purpose[32],
                            ec_status_t *st);

/* json_loadb with duplicate keys refused and a size limit; NULL with st set. */
json_t *cl_json_parse(const char *text, size_t size, size_t max, ec_status_t *st);

#endif
