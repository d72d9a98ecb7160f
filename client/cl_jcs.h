/*
 * cl_jcs.h - RFC 8785 JSON Canonicalization Scheme (JCS) over jansson values, and the
 * base64url (no padding) helpers the credential formats share.
 *
 * JCS is what the eddsa-jcs-2022 Data Integrity cryptosuite hashes: a JSON value written
 * with no white space, object members sorted by their names compared as arrays of UTF-16
 * code units, strings escaped as ECMAScript's JSON.stringify escapes them (only '"', '\\'
 * and the controls below U+0020; lower-case \u00xx where no short form exists), and
 * numbers written as ECMAScript writes an IEEE 754 double (shortest round-trip digits,
 * exponent form below 1e-6 and from 1e21). Debian has no C library for it, so it is here,
 * with RFC 8785's examples as its tests (tests/unit/test_vc.c).
 *
 * jansson integers within +-2^53 are written as integers; others go through the double
 * path as JSON.parse would have read them. NaN and infinities are refused (EC_EINVAL).
 */
#ifndef CL_JCS_H
#define CL_JCS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ec_err.h"

/* Room for any number cl_jcs_number writes ("-1.7976931348623157e+308" and a NUL). */
#define CL_JCS_NUMBER_MAX 32
/* Deepest nesting cl_jcs_dump follows: credentials are shallow, and recursion is bounded. */
#define CL_JCS_DEPTH_MAX 32

/*
 * Writes the canonical form of v into a malloc'd NUL-terminated string *out (*len bytes,
 * holding whatever v holds, so wipe it; the buffers it outgrew are wiped as it grows,
 * no NUL inside unless a string held U+0000, which is escaped). Returns 0, EC_EINVAL (a
 * NaN or infinite number, a string that is not UTF-8, nesting deeper than
 * CL_JCS_DEPTH_MAX) or EC_ENOMEM; *out is NULL on error.
 */
EC_WUR int cl_jcs_dump(const json_t *v, char **out, size_t *len);

/* Writes d as ECMAScript's Number.prototype.toString does (RFC 8785 section 3.2.2.3) into
 * buf. Returns 0, or EC_EINVAL for NaN and the infinities. */
EC_WUR int cl_jcs_number(char buf[CL_JCS_NUMBER_MAX], double d);

/* v as compact JSON text in a malloc'd (free()able) NUL-terminated string; NULL on ENOMEM. */
char *cl_json_compact(const json_t *v);
/* Wipes (sodium_memzero) and frees a NUL-terminated string: the credential texts hold
 * certificate contents. NULL is fine. */
void cl_str_wipe_free(char *s);

/* base64url without padding (RFC 4648 section 5) of size bytes; malloc'd, NUL-terminated.
 * NULL when memory is exhausted. */
char *cl_b64url_encode(const uint8_t *data, size_t size);
/*
 * Decodes unpadded base64url text (len chars) into a malloc'd buffer *out (*size bytes,
 * plus a NUL after them). Anything else (padding, '+', '/', white space, trailing bits
 * not zero) is EC_EINVAL; more than max bytes EC_ETOOBIG; EC_ENOMEM.
 */
EC_WUR int cl_b64url_decode(const char *text, size_t len, size_t max, uint8_t **out, size_t *size);

#endif
