/*
 * cl_present.h - private presentation at the counter: a verifier's signed request, and the
 * holder's signed answer disclosing chosen certificate fields (the pure encodings and
 * checks; no network, no files, so unit tests link them).
 *
 * Request (the verifier shows it, as a QR code or a file):
 *
 *   request = [ body: bin, sig: bin64 ]
 *   body    = [ 1, verifier_pk: bin32, side_chain_id: str, fields: [name: str...] (1..16),
 *               nonce: bin16, expires_ms: uint ]
 *   sig     = Ed25519 by the verifier over "ecert/request" 0x00 || body
 *
 * Presentation (the holder's answer):
 *
 *   presentation = [ body: bin, sig: bin64 ]
 *   body         = [ 1, request: bin (the request, byte for byte), holder_pk: bin32,
 *                    bundle: bin (the proof bundle of the certificate's ISSUE),
 *                    field_count: uint, disclosed: [[index: uint, name: str, value: str,
 *                    salt: bin16, path: [bin32...]]...] (1..64, indexes increasing),
 *                    status_list: bin | nil ]
 *   sig          = Ed25519 by the holder over "ecert/presentation" 0x00 || body
 *
 * A disclosed field is leaf `index` of the ISSUE's fields_root (a tree of field_count
 * leaves, cl_fields.h): the verifier learns those fields and nothing of the others but
 * their number. The holder's key signs the nonce, the verifier, the certificate (through
 * the bundle), the fields and the status list it brings, so nothing can be swapped.
 */
#ifndef CL_PRESENT_H
#define CL_PRESENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cl_fields.h"
#include "ec_body.h"
#include "ec_bundle.h"
#include "ec_chain.h"
#include "ec_codec.h"
#include "ec_crypto.h"
#include "ec_err.h"

#define CL_REQUEST_VERSION 1
#define CL_PRESENT_VERSION 1
#define CL_NONCE_BYTES 16
#define CL_REQUEST_FIELDS_MAX 16
#define CL_REQUEST_BYTES_MAX 2048
#define CL_PRESENT_BYTES_MAX (EC_BUNDLE_BYTES_MAX + (size_t)(16u << 20) + 512u * 1024)

typedef struct {
    uint8_t verifier_pk[EC_PK_BYTES];
    char side_chain_id[EC_CHAIN_ID_MAX];
    uint32_t field_count;
    char fields[CL_REQUEST_FIELDS_MAX][CL_FIELD_NAME_MAX + 1];
    uint8_t nonce[CL_NONCE_BYTES];
    uint64_t expires_ms;
} cl_request_t;

/* Encodes r and signs it with the verifier's key into w. */
void cl_request_sign(ec_writer_t *w, const cl_request_t *r, const ec_key_t *verifier);
/* Decodes a request and checks its signature. 0, or EC_EINVAL / EC_ETOOBIG / EC_EVERSION
 * (malformed) or EC_ESIG, with st saying which. */
EC_WUR int cl_request_open(cl_request_t *r, const uint8_t *data, size_t size, ec_status_t *st);

/*
 * The holder's answer to `request` (its bytes): discloses the fields of `all` named in
 * `names` (n of them; every name must be in all), with their paths in the tree of all
 * fields, binds `bundle` (the ISSUE's) and, when not NULL, a status list, and signs with
 * the holder's key. 0, or EC_ENOTFOUND (a name not in all) / EC_EINVAL (a name twice, or
 * none) with st set.
 */
EC_WUR int cl_present_build(ec_writer_t *w, const uint8_t *request, size_t request_size,
                            const ec_key_t *holder, const uint8_t *bundle, size_t bundle_size,
                            const cl_fields_t *all, const char *const *names, size_t n,
                            const uint8_t *status_list, size_t status_list_size, ec_status_t *st);

/* One disclosed field of a checked presentation; the value borrows from it and is not
 * NUL-terminated (value_len bytes, no NUL inside). */
typedef struct {
    char name[CL_FIELD_NAME_MAX + 1];
    const char *value;
    size_t value_len;
} cl_disclosed_t;

/* What a checked presentation says; pointers borrow from the decoder, valid until
 * cl_present_fini. */
typedef struct {
    ec_decoder_t dec, inner;
    cl_request_t request;
    uint8_t holder_pk[EC_PK_BYTES];
    char holder[EC_ADDR_MAX];
    ec_bundle_info_t bundle; /* the ISSUE's proof, verified                         */
    uint64_t expires_ms;     /* the certificate's, from its ISSUE                   */
    char org_code[EC_ORG_CODE_MAX];
    size_t disclosed_count;
    cl_disclosed_t disclosed[CL_FIELDS_MAX];
    const uint8_t *status_list; /* embedded, unverified here; NULL when none          */
    size_t status_list_size;
    const char *reason; /* on failure: "malformed", "altered", "expired",
                           "foreign-nonce", "wrong-verifier", "wrong-holder",
                           "bad-proof", "missing-field"                          */
} cl_presentation_t;

/*
 * Checks a presentation offline against the verifier's own request (its bytes) at time
 * now_ms and the trusted main chain: the holder's signature, the request it answers (the
 * same bytes: else a foreign nonce, or another verifier's), the request's expiry, the
 * ISSUE's bundle (applied, of the requested chain), that the holder's key is the
 * certificate holder's, that every disclosed field is in the certificate's fields_root
 * and every requested field disclosed. Not checked here: replay (the caller keeps which
 * requests were answered) and status (the caller's status list). Returns 0, or the first
 * failure with p->reason and st saying it: EC_EINVAL/EC_ETOOBIG (malformed), EC_ESIG
 * (altered), EC_EINVAL (foreign nonce), EC_EPERM (another verifier's request; not the
 * holder), EC_ETIMEOUT (expired), the bundle's code (bad proof), EC_EPROOF (an altered
 * field), EC_ENOTFOUND (a requested field not disclosed). cl_present_fini after any.
 */
EC_WUR int cl_present_check(cl_presentation_t *p, const uint8_t *data, size_t size,
                            const uint8_t *own_request, size_t own_request_size, uint64_t now_ms,
                            const char *main_chain_id, const ec_valset_t *main_vs, ec_status_t *st);
void cl_present_fini(cl_presentation_t *p);

/* The ISSUE body of a bundle's transaction (no proof checked). 0, EC_EINVAL (not an
 * ISSUE, or malformed) or EC_ENOMEM. */
EC_WUR int cl_bundle_issue(const uint8_t *bundle, size_t size, ec_issue_body_t *issue);

#endif
