/*
 * gw_tjson.h - typed JSON (docs/GATEWAY.md "Typed JSON"): the JSON form of a raw msgpack
 * value that keeps every msgpack type the chains use across a round trip.
 *
 *   msgpack              typed JSON
 *   str                  string
 *   uint / int           integer (a negative one is an int)
 *   true, false, nil     true, false, null
 *   array                array
 *   bin                  {"hex": "<lowercase hex>"}        (the only object allowed)
 *
 * Maps, floats and ext types have no typed-JSON form (the chains never carry them: the
 * canonical codec refuses them), and JSON reals and other objects have no msgpack form.
 * Integers are those jansson holds: -2^63..2^63-1; a uint above that is refused both ways
 * (no chain query returns one). Nesting is bounded like the codec's (GW_TJSON_DEPTH_MAX:
 * a root array is depth 1) and the encoded size by GW_TJSON_BYTES_MAX, checked as it grows.
 */
#ifndef GW_TJSON_H
#define GW_TJSON_H

#include <jansson.h>

#include "ec_codec.h"
#include "ec_err.h"

#define GW_TJSON_DEPTH_MAX EC_CODEC_DEPTH_MAX /* 16: a root array is depth 1            */
#define GW_TJSON_BYTES_MAX (1u * 1024 * 1024) /* encoded msgpack of one value              */

/*
 * Appends the msgpack form of typed JSON `j` to w. Returns 0, or EC_EINVAL (a real, an
 * object other than {"hex": even-length hex}, an integer out of range) or EC_ETOOBIG
 * (deeper than GW_TJSON_DEPTH_MAX, or encoded above GW_TJSON_BYTES_MAX), with st (may be
 * NULL) saying where. On error what was appended to w is unspecified: discard w.
 */
EC_WUR int gw_tjson_to_msgpack(ec_writer_t *w, const json_t *j, ec_status_t *st);

/*
 * The typed JSON of a parsed msgpack object, as a new reference. Returns 0 with *out set,
 * or EC_EINVAL (a map, float or ext; a str that is not UTF-8; a uint above 2^63-1) or
 * EC_ETOOBIG (deeper than GW_TJSON_DEPTH_MAX), *out NULL then.
 */
EC_WUR int gw_tjson_from_msgpack(json_t **out, const msgpack_object *o);

/* Bytes as a new JSON string of lowercase hex; NULL only when out of memory. */
json_t *gw_json_hex(const uint8_t *data, size_t size);
/* Bytes as a new JSON string of base64 (RFC 4648 section 4, padded). */
json_t *gw_json_b64(const uint8_t *data, size_t size);
/*
 * Decodes a hex string of exactly `size` bytes (size 0: any length up to cap, the length
 * in *len). Returns 0 or EC_EINVAL (not hex, odd length, wrong length).
 */
EC_WUR int gw_hex_decode(uint8_t *out, size_t cap, size_t *len, const char *hex, size_t size);
/* Decodes base64 (padded, RFC 4648 section 4) into a new malloc buffer (free it).
 * Returns 0, EC_EINVAL or EC_ETOOBIG (more than max bytes). */
EC_WUR int gw_b64_decode(uint8_t **out, size_t *len, const char *b64, size_t max);

#endif
