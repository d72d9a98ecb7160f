/*
 * cl_sdjwt.h - SD-JWT VC (RFC 9901 Selective Disclosure for JWTs, and the IETF SD-JWT VC
 * draft) for ecert certificates, signed with EdDSA (Ed25519) and keyed by did:key.
 *
 * Issued form (made by the issuing agency's client, kept in the sealed payload):
 *
 *   <issuer JWT>~<disclosure 1>~...~<disclosure n>~
 *
 *   issuer JWT header  {"alg":"EdDSA","typ":"dc+sd-jwt","kid":"did:key:z6Mk...#z6Mk..."}
 *   issuer JWT payload {"iss": agency did:key, "iat", "exp" (when it expires), "vct":
 *                       "urn:ecert:vct:<type>", "cnf": {"jwk": holder's Ed25519 OKP key},
 *                       "_sd_alg": "sha-256", "_sd": [digests, sorted], "ecert": {...},
 *                       "credentialStatus": [BitstringStatusListEntry...]}
 *   disclosure i       base64url(JSON [salt, name, value]) with salt = base64url of the
 *                      field's own 16-byte payload salt, so the issue fixes every disclosure
 *   digest             base64url(SHA-256(ASCII of the disclosure))
 *
 * Presentation (made by the holder at export time):
 *
 *   <issuer JWT>~<chosen disclosures>~<KB-JWT>
 *   KB-JWT header  {"alg":"EdDSA","typ":"kb+jwt"}
 *   KB-JWT payload {"iat", "aud", "nonce", "sd_hash": base64url(SHA-256(everything before
 *                   the KB-JWT, its last '~' included))}, signed by the cnf key.
 */
#ifndef CL_SDJWT_H
#define CL_SDJWT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "cl_fields.h"
#include "cl_vc.h"
#include "ec_crypto.h"
#include "ec_err.h"

#define CL_SDJWT_BYTES_MAX (1u << 20) /* a presentation cl_sdjwt_verify reads at most */
#define CL_SDJWT_NONCE_MAX 256        /* bytes of a verifier's nonce or audience        */
/* How far in the future a KB-JWT's iat may lie (clock skew), ms. */
#define CL_SDJWT_SKEW_MS (5 * 60 * 1000)

/* base64url(SHA-256(disclosure)) of a disclosure string, into out (44 bytes with NUL). */
void cl_sdjwt_digest(char out[48], const char *disclosure, size_t len);

/*
 * The issued SD-JWT (issuer JWT, one disclosure per field of f, trailing '~') signed by
 * issuer, into a malloc'd *out. 0, or EC_EINVAL (a reserved field name, cl_cred_name_ok)
 * / EC_ENOMEM with st saying which.
 */
EC_WUR int cl_sdjwt_issue(char **out, const cl_cred_info_t *info, const cl_fields_t *f,
                          const ec_key_t *issuer, ec_status_t *st);

/*
 * The holder's presentation of an issued SD-JWT: the disclosures of the fields named in
 * names (n of them; all when n is 0) and a KB-JWT over nonce and aud at iat_ms, signed by
 * holder. 0, or EC_EINVAL (malformed SD-JWT) / EC_ENOTFOUND (a name with no disclosure) /
 * EC_EPERM (holder is not the cnf key) / EC_ENOMEM with st saying which.
 */
EC_WUR int cl_sdjwt_present(char **out, const char *issued, const char *const *names, size_t n,
                            const ec_key_t *holder, const char *nonce, const char *aud,
                            uint64_t iat_ms, ec_status_t *st);

/* What a verified presentation says. */
typedef struct {
    uint8_t issuer_pk[EC_PK_BYTES];
    uint8_t holder_pk[EC_PK_BYTES];
    json_t *payload;   /* the issuer JWT's payload (owned)                         */
    json_t *disclosed; /* {name: value} of the disclosures sent (owned)           */
} cl_sdjwt_t;

/*
 * Verifies a presentation: the issuer JWT's EdDSA signature by the did:key in iss (kid
 * the same key), typ dc+sd-jwt or vc+sd-jwt, each disclosure's digest in _sd once and no
 * disclosure twice, the KB-JWT (typ kb+jwt) signed by the cnf key over this nonce and aud
 * with a matching sd_hash and an iat not in the future, and exp against now_ms. Returns
 * 0, or EC_EINVAL (malformed; a disclosure not in _sd or repeated), EC_ESIG (a signature),
 * EC_EPERM (wrong nonce or audience; no key binding), EC_ETIMEOUT (expired) with st saying
 * which. cl_sdjwt_fini after any.
 */
EC_WUR int cl_sdjwt_verify(cl_sdjwt_t *out, const char *text, size_t len, const char *nonce,
                           const char *aud, uint64_t now_ms, ec_status_t *st);
void cl_sdjwt_fini(cl_sdjwt_t *s);

#endif
