/*
 * ec_codec.h - canonical msgpack: the one encoding for everything hashed, signed, sent or
 * stored (docs/PROTOCOL.md "Encoding"; docs/ARCHITECTURE.md section 10).
 *
 * Canonical means: fixed-order arrays (never maps), minimal-length integer, string and
 * binary headers, `bin` for bytes, `str` for UTF-8 text, no floats, no ext types, and no
 * trailing bytes. The writer wraps msgpack-c's packer, which always picks the minimal form.
 * The decoder parses with msgpack-c and then proves the input canonical by re-encoding the
 * parsed object and comparing bytes: anything a canonical writer would not have produced is
 * rejected, so every accepted message has exactly one encoding and one hash.
 *
 * Reading uses a cursor with a sticky error: read the fields of an array in order, then call
 * ec_cur_finish(), which reports the first error and also fails if fields were left unread.
 * Pointers returned for `bin` and `str` point into the caller's input buffer (msgpack-c does
 * not copy them), so they live exactly as long as that buffer.
 */
#ifndef EC_CODEC_H
#define EC_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "ec_err.h"

/* Hard upper bound on any single decoded message; bigger input is EC_ETOOBIG. */
#define EC_CODEC_MESSAGE_BYTES_MAX (64u * 1024 * 1024)
/* Maximum nesting depth accepted by the decoder: a root array is depth 1, an array inside
 * it depth 2, and so on; a scalar root is depth 0. */
#define EC_CODEC_DEPTH_MAX 16

/* ---------------------------------------------------------------------------------------- */
/* Writer                                                                                   */

typedef struct {
    msgpack_sbuffer sbuf; /* owned growable output buffer                                  */
    msgpack_packer pk;    /* packer writing into sbuf                                      */
} ec_writer_t;

/* Initialises an empty writer. Allocation failure inside msgpack-c aborts the process. */
void ec_writer_init(ec_writer_t *w);
/* Frees the writer's buffer. Safe to call twice. */
void ec_writer_fini(ec_writer_t *w);
/* Empties the writer but keeps its capacity, for reuse on hot paths. */
void ec_writer_reset(ec_writer_t *w);
/*
 * Gives an empty writer room for cap bytes, so that writing up to cap bytes never moves
 * the buffer. For secrets and personal data: a buffer that grows is copied and the old
 * copy freed as it is, out of the caller's reach. Allocation failure aborts the process.
 */
void ec_writer_reserve(ec_writer_t *w, size_t cap);
/* The bytes written so far, borrowed; valid until the next write, reset or fini. */
const uint8_t *ec_writer_data(const ec_writer_t *w);
size_t ec_writer_size(const ec_writer_t *w);
/*
 * Hands the buffer to the caller (free() it) and leaves the writer empty and reusable.
 * Returns NULL when nothing was written.
 */
uint8_t *ec_writer_take(ec_writer_t *w, size_t *size);

void ec_write_array(ec_writer_t *w, uint32_t count);
/* A map header, for contract values only (ec_contract.h): the chains carry those as bin,
 * and ec_decode refuses maps. */
void ec_write_map(ec_writer_t *w, uint32_t count);
void ec_write_uint(ec_writer_t *w, uint64_t v);
void ec_write_int(ec_writer_t *w, int64_t v);
void ec_write_bool(ec_writer_t *w, bool v);
void ec_write_nil(ec_writer_t *w);
void ec_write_bin(ec_writer_t *w, const void *data, size_t size);
void ec_write_str(ec_writer_t *w, const char *s, size_t len);
/* Writes a NUL-terminated string as msgpack str. */
void ec_write_cstr(ec_writer_t *w, const char *s);
/* Appends bytes that already are one canonical msgpack object (e.g. an encoded header). */
void ec_write_raw(ec_writer_t *w, const void *data, size_t size);

/*
 * True when data[0..n) is well-formed UTF-8 as RFC 3629 section 4 defines it: no overlong
 * forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequence. The
 * one validator of the code base: ec_decode applies it to every str, and applications that
 * check text of their own (names shown to people) use it too. Pure; O(n).
 */
bool ec_utf8_valid(const void *data, size_t n);

/* ---------------------------------------------------------------------------------------- */
/* Decoder                                                                                  */

typedef struct {
    msgpack_unpacked up; /* parsed object tree; arrays live in its zone                    */
    bool live;           /* up holds a parse result that fini must release                 */
} ec_decoder_t;

/* Initialises a decoder. One decoder can parse many messages in turn. */
void ec_decoder_init(ec_decoder_t *d);
/* Releases the last parse result. Safe to call twice. */
void ec_decoder_fini(ec_decoder_t *d);

/*
 * Parses exactly one canonical msgpack object that spans all of data[0..size).
 * Returns 0 and sets *root (valid until the next parse or fini, and only while `data`
 * lives), EC_ETOOBIG when size exceeds EC_CODEC_MESSAGE_BYTES_MAX or the nesting exceeds
 * EC_CODEC_DEPTH_MAX, or EC_EINVAL when the bytes are not msgpack, are not canonical, use
 * maps, floats or ext types, or have trailing bytes, or EC_ENOMEM (first use only, when the
 * decoder's zone cannot be allocated). An array may declare at most as many elements as
 * bytes remain, which bounds the parse tree at about 24 bytes per input byte.
 */
EC_WUR int ec_decode(ec_decoder_t *d, const uint8_t *data, size_t size,
                     const msgpack_object **root);

/*
 * A read position inside one msgpack array. Zero-initialise or use ec_cur_open().
 *
 * Safe by construction: the first error (sticky) also sets count to 0, so a loop
 * `for (i = 0; i < c.count; i++)` over an array whose length was checked against a limit
 * never runs past that limit, and every later read fails with zeroed outputs. A cursor made
 * by ec_cur_enter or ec_cur_enter_max remembers its parent, and an error in it is set in the
 * parent (and the parent's parent) at once, so the root's ec_cur_finish reports it even when
 * nobody folds the nested cursor. A nested cursor must not outlive its parent: keep the
 * msgpack_object (ec_cur_object) and open a fresh cursor on it when the array is read later.
 */
typedef struct ec_cur {
    const msgpack_object *items; /* the array's elements (NULL after an error)              */
    uint32_t count;              /* number of elements; 0 after an error                   */
    uint32_t pos;                /* next element to read                                    */
    int err;                     /* first error seen, 0 if none (sticky)                    */
    struct ec_cur *parent;       /* the cursor this one was entered from, or NULL           */
} ec_cur_t;

/*
 * Opens a cursor (without parent) over `obj`, which must be an array of exactly `count`
 * elements. Otherwise the cursor's error is EC_EINVAL, its count 0, and every read fails.
 */
void ec_cur_open(ec_cur_t *c, const msgpack_object *obj, uint32_t count);
/*
 * Opens a cursor over an array of 0..max elements; the actual count is c->count. More than
 * max elements (EC_ETOOBIG) or no array (EC_EINVAL) leaves the cursor failed with count 0,
 * so c->count never exceeds max.
 */
void ec_cur_open_max(ec_cur_t *c, const msgpack_object *obj, uint32_t max);

/* Each reader below consumes one element. On any error (wrong type, value above max,
 * wrong length, no element left), or when the cursor has failed before, it zeroes its
 * outputs and the cursor (and its parents) hold the error. */
void ec_cur_uint(ec_cur_t *c, uint64_t *v);
/* A uint that must be <= max. */
void ec_cur_uint_max(ec_cur_t *c, uint64_t *v, uint64_t max);
void ec_cur_int(ec_cur_t *c, int64_t *v);
void ec_cur_bool(ec_cur_t *c, bool *v);
/* bin of 0..max bytes; *data points into the input buffer. */
void ec_cur_bin(ec_cur_t *c, const uint8_t **data, size_t *size, size_t max);
/* bin of exactly `size` bytes, copied into out. */
void ec_cur_bin_fixed(ec_cur_t *c, uint8_t *out, size_t size);
/* bin of exactly `size` bytes, or nil; *present says which (out is zeroed for nil). */
void ec_cur_bin_fixed_opt(ec_cur_t *c, uint8_t *out, size_t size, bool *present);
/* str of 0..max bytes; NOT NUL-terminated; *s points into the input buffer. */
void ec_cur_str(ec_cur_t *c, const char **s, size_t *len, size_t max);
/* str copied into buf (capacity cap, including the NUL); longer than cap-1 is EC_ETOOBIG.
 * Strings containing a NUL byte are EC_EINVAL. buf is "" on any error. */
void ec_cur_str_copy(ec_cur_t *c, char *buf, size_t cap);
/* Consumes an element that must be nil. */
void ec_cur_nil(ec_cur_t *c);
/* True (without consuming) when the next element is nil; false on a failed cursor. */
bool ec_cur_peek_nil(const ec_cur_t *c);
/* Consumes any element and returns it (NULL on error), for nested structures. */
const msgpack_object *ec_cur_object(ec_cur_t *c);
/*
 * Consumes a nested array of exactly `count` elements and opens `sub` over it, with c as
 * its parent: any error in sub (a wrong count included) is set in c too. When c has failed
 * already, sub starts failed with c's error. Unread elements of sub are not errors of c
 * until ec_cur_fold(c, sub) or ec_cur_finish(sub) says so.
 */
void ec_cur_enter(ec_cur_t *c, ec_cur_t *sub, uint32_t count);
/* Like ec_cur_enter for a nested array of 0..max elements (EC_ETOOBIG beyond, in both). */
void ec_cur_enter_max(ec_cur_t *c, ec_cur_t *sub, uint32_t max);
/* Sets c's sticky error (and its parents') from `code` < 0 if c has none yet (for errors
 * found by the caller). */
void ec_cur_fail(ec_cur_t *c, int code);
/*
 * Returns the cursor's first error (its own, or one of a cursor entered from it), or
 * EC_EINVAL if elements were left unread, or 0. Call once after the last read.
 */
EC_WUR int ec_cur_finish(const ec_cur_t *c);
/* Fails c with ec_cur_finish(sub) when that is not 0. Since errors reach the parent by
 * themselves, what this adds is the check that sub was read to its end. */
void ec_cur_fold(ec_cur_t *c, const ec_cur_t *sub);

/* Reads one message into `out` from cursor c, whose one element is the message's root
 * (ec_header_read is one); errors go into c's sticky error. */
typedef void (*ec_read_fn)(ec_cur_t *c, void *out);

/*
 * Decodes a whole message with a decoder of its own: ec_decode, then `read` over a cursor
 * whose one element is the root, then ec_cur_finish. `out` (out_size bytes) is zeroed first
 * and again on any error, so it never holds half a message. Returns 0, an ec_decode error
 * or the reader's first error. Pointers into `data` live as long as data; the parse tree
 * does not outlive the call, so the reader must copy what it keeps of it.
 */
EC_WUR int ec_decode_read(void *out, size_t out_size, const uint8_t *data, size_t size,
                          ec_read_fn read);

/*
 * Re-encodes a parsed object canonically into w (used to carry a nested object, such as a
 * transaction body, as bytes). The bytes equal the input bytes it was parsed from.
 */
void ec_write_object(ec_writer_t *w, const msgpack_object *obj);

#endif
