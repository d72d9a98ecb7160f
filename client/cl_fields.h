/*
 * cl_fields.h - the certificate payload and the identity hash: the pure (no network, no
 * files) encodings the ecert client builds, kept apart so unit tests can link them.
 *
 * Certificate payload (plaintext, before it is sealed to the holder; docs/PROTOCOL.md,
 * "Certificate payload"):
 *
 *   [ version=1, fields: [[name: str, value: str, salt: bin(16)]...], attachment: bin|nil ]
 *   [ version=2, fields, attachment, credentials: [vc: str, sd_jwt: str] ]
 *
 * Version 2 adds the credentials the issuing agency signed for outside verifiers (W3C VC
 * 2.0 with an eddsa-jcs-2022 proof, and an SD-JWT VC whose disclosures use the fields'
 * own salts; cl_vc.h, cl_sdjwt.h). Both versions are read; version 1 is written unless
 * credentials are set.
 *
 *   fields_root = RFC 9162 root over leaf_i = ec_merkle_leaf(EC_LEAF_FIELD,
 *                 msgpack [name, value, salt]) in the order the fields appear.
 *
 * Field names are unique, 1..CL_FIELD_NAME_MAX bytes; values 0..CL_FIELD_VALUE_MAX bytes;
 * neither holds a NUL byte. The random 16-byte salt per field lets a holder disclose one
 * field (name, value, salt and its Merkle path) without revealing the others.
 *
 * Identity hash (ATTEST body):
 *
 *   identity_hash = SHA-256("ecert/identity" 0x00 || salt || msgpack [[name, value]...])
 *
 * with the attributes sorted by name in byte order (strcmp) and names unique. The salt is
 * the certification authorities' shared secret, so the hash cannot be brute-forced from
 * public data, yet the same person always hashes the same (duplicates are refused).
 */
#ifndef CL_FIELDS_H
#define CL_FIELDS_H

#include <stddef.h>
#include <stdint.h>

#include "ec_codec.h"
#include "ec_crypto.h"
#include "ec_err.h"

#define CL_PAYLOAD_VERSION 1
#define CL_PAYLOAD_VERSION_CREDS 2 /* version 1 plus the exported credentials (cl_vc.h)  */
#define CL_FIELDS_MAX 64           /* fields in one certificate                          */
#define CL_FIELD_NAME_MAX 64       /* bytes of a field or attribute name                 */
#define CL_FIELD_VALUE_MAX 4096    /* bytes of a field or attribute value                */
#define CL_FIELD_SALT_BYTES 16
#define CL_ATTRS_MAX 32         /* attributes in one identity                         */
#define CL_IDENTITY_SALT_MIN 16 /* shortest identity salt accepted, bytes             */
#define CL_IDENTITY_TAG "ecert/identity"
/* More than cl_fields_encode ever writes (per field: name, value, salt and headers; the
 * attachment), so a writer reserved to it never moves personal data around. */
#define CL_PAYLOAD_PLAIN_BYTES_MAX                                                                 \
    (32 + CL_FIELDS_MAX * (CL_FIELD_NAME_MAX + CL_FIELD_VALUE_MAX + 32) + 3 * EC_PAYLOAD_BYTES_MAX)

/* One certificate field. */
typedef struct {
    char name[CL_FIELD_NAME_MAX + 1]; /* NUL-terminated                              */
    char *value;                      /* heap, NUL-terminated (owned)                */
    size_t value_len;
    uint8_t salt[CL_FIELD_SALT_BYTES];
} cl_field_t;

/* A certificate's fields and optional attachment. Zero-initialise or cl_fields_init. */
typedef struct {
    size_t count;
    cl_field_t items[CL_FIELDS_MAX];
    uint8_t *attachment; /* heap (owned), NULL when absent              */
    size_t attachment_size;
    char *vc; /* version 2: the issuer-signed VC 2.0 JSON (owned), else NULL   */
    size_t vc_len;
    char *sd_jwt; /* version 2: the issued SD-JWT VC (owned), else NULL            */
    size_t sd_jwt_len;
} cl_fields_t;

/* A name/value pair for the identity hash (borrowed strings). */
typedef struct {
    const char *name;
    const char *value;
} cl_attr_t;

void cl_fields_init(cl_fields_t *f);
/* Wipes (sodium_memzero) and frees values and attachment, wipes names and salts; leaves f
 * empty and reusable. Safe to call twice. */
void cl_fields_fini(cl_fields_t *f);

/*
 * Appends a field. salt NULL draws 16 random bytes. Returns 0, EC_EINVAL (empty name, NUL
 * byte, duplicate name), EC_ETOOBIG (name, value or count above its limit) or EC_ENOMEM,
 * with st saying which.
 */
EC_WUR int cl_fields_add(cl_fields_t *f, const char *name, const char *value,
                         const uint8_t salt[CL_FIELD_SALT_BYTES], ec_status_t *st);
/* Appends a field from "NAME=VALUE" (the first '=' splits). Same errors as cl_fields_add. */
EC_WUR int cl_fields_add_arg(cl_fields_t *f, const char *arg, ec_status_t *st);
/*
 * Appends the fields of a JSON object of strings ({"degree": "MSc", ...}) in the order the
 * keys appear. Duplicate keys and non-string values are EC_EINVAL.
 */
EC_WUR int cl_fields_add_json(cl_fields_t *f, const char *text, size_t size, ec_status_t *st);
/* Copies an attachment (replacing any). 0, EC_ETOOBIG (above EC_PAYLOAD_BYTES_MAX) or
 * EC_ENOMEM. */
EC_WUR int cl_fields_set_attachment(cl_fields_t *f, const uint8_t *data, size_t size,
                                    ec_status_t *st);

/* Sets the credentials of a version 2 payload (copies of the NUL-terminated texts,
 * replacing any). 0, EC_ETOOBIG (either above EC_PAYLOAD_BYTES_MAX) or EC_ENOMEM. */
EC_WUR int cl_fields_set_credentials(cl_fields_t *f, const char *vc, const char *sd_jwt,
                                     ec_status_t *st);

/* Writes the plaintext payload [1, fields, attachment|nil] (or version 2) into w (appends):
 * personal data, so reserve w to CL_PAYLOAD_PLAIN_BYTES_MAX first and wipe it before
 * ec_writer_fini. */
void cl_fields_encode(ec_writer_t *w, const cl_fields_t *f);
/*
 * Parses a plaintext payload into f (which must be empty): strict canonical msgpack, version
 * 1 or 2, limits and unique names as above. Returns 0, EC_EINVAL, EC_ETOOBIG, EC_EVERSION or
 * EC_ENOMEM; on error f is left empty.
 */
EC_WUR int cl_fields_decode(cl_fields_t *f, const uint8_t *data, size_t size, ec_status_t *st);

/* Wipes the whole buffer of w (its capacity, not only what was written) and finis it: for
 * writers that held personal data. */
void cl_writer_wipe_fini(ec_writer_t *w);
/*
 * Opens a certificate payload sealed to `key` into f (which must be empty): unseals it,
 * decodes it (cl_fields_decode) and, when fields_root is not NULL, checks that the fields
 * hash to it. That check is the only link between what a holder reads and the chain, whose
 * certificate commits to fields_root alone. Returns 0, EC_EINVAL (shorter than a sealed
 * box), EC_ENOMEM, EC_ECRYPTO (not sealed to this key, or altered), a cl_fields_decode
 * error, or EC_EPROOF (the fields are not the ones fields_root commits to), with st saying
 * which; on error f is left empty. The plaintext is wiped before it is freed.
 */
EC_WUR int cl_fields_open(cl_fields_t *f, const ec_key_t *key, const uint8_t *sealed,
                          size_t sealed_size, const uint8_t *fields_root, ec_status_t *st);

/* Leaf hash of one field: ec_merkle_leaf(EC_LEAF_FIELD, msgpack [name, value, salt]). */
void cl_field_leaf(uint8_t out[EC_HASH_BYTES], const cl_field_t *field);
/* fields_root over all fields in order (the empty tree's root for none). */
void cl_fields_root(uint8_t out[EC_HASH_BYTES], const cl_fields_t *f);

/*
 * Splits "NAME=VALUE" at the first '=' into name (capacity CL_FIELD_NAME_MAX + 1) and a
 * borrowed pointer to the value. Returns 0, EC_EINVAL (no '=' or empty name) or EC_ETOOBIG.
 */
EC_WUR int cl_split_arg(const char *arg, char name[CL_FIELD_NAME_MAX + 1], const char **value,
                        ec_status_t *st);

/*
 * The identity hash of `count` attributes (any order; sorted internally) under `salt`.
 * Returns 0, EC_EINVAL (no attributes, empty or duplicate name, salt shorter than
 * CL_IDENTITY_SALT_MIN) or EC_ETOOBIG, with st saying which.
 */
EC_WUR int cl_identity_hash(uint8_t out[EC_HASH_BYTES], const uint8_t *salt, size_t salt_size,
                            const cl_attr_t *attrs, size_t count, ec_status_t *st);

#endif
