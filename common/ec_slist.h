/*
 * ec_slist.h - a side chain's certificate status list: two bits per certificate, in issue
 * order, committed in every block's state root, so that a verifier can learn from one
 * cacheable object, offline and with a proof, whether a certificate was suspended,
 * revoked or ended at a given anchored height.
 *
 * Codes (two bits; certificate i sits in byte i / 4, bits 2 * (i % 4) and up):
 *   0 valid       issued or acknowledged, in force (expiry is checked apart, by time)
 *   1 suspended   the issuing agency suspended it; REINSTATE makes it 0 again
 *   2 revoked     final
 *   3 ended       cancelled at the holder's or agency's request, or its content erased
 *
 * Commitment: the list is cut in pages of EC_SLIST_PAGE_BYTES (4,096 certificates); the
 * last page holds only the list's bytes (ceil(count / 4) in all), and bits past `count`
 * are zero. status_root = SHA-256("ecert/status" 0x00 || be64(count) || MTH(pages)),
 * where MTH is the RFC 9162 root over leaves ec_merkle_leaf(EC_LEAF_STATUS, page). The
 * side chain folds status_root into its header's state_root (ec_side_state_root).
 *
 * The status-list object (canonical msgpack; docs/PROTOCOL.md "Status list"):
 *   [ version=1, side_chain_id: str, count: uint, list: bin (ceil(count / 4) bytes),
 *     state_digest: bin32, mirrored_records: uint,
 *     side_header, anchored_header, hist_path, anchor_index, anchor_path, main_header,
 *     main_commit, main_transitions ]     (the last eight as in a proof bundle)
 * state_digest and mirrored_records are the other inputs of the side header's state_root;
 * the rest proves the side header against the main chain exactly as a bundle does.
 */
#ifndef EC_SLIST_H
#define EC_SLIST_H

#include <stdbool.h>
#include <stdint.h>

#include "ec_bundle.h"
#include "ec_err.h"

#define EC_SLIST_VERSION 1
#define EC_SLIST_PAGE_BYTES 1024
#define EC_SLIST_PAGE_CERTS (4u * EC_SLIST_PAGE_BYTES)
/* Certificates one list may count: 2^26 (a 16 MiB list). A side chain refuses an ISSUE
 * beyond it (EC_ETOOBIG). */
#define EC_SLIST_CERTS_MAX (UINT64_C(1) << 26)
#define EC_SLIST_BYTES_MAX ((size_t)(EC_SLIST_CERTS_MAX / 4) + 64u * 1024 + 8192u * 64)

enum { EC_SLIST_VALID = 0, EC_SLIST_SUSPENDED = 1, EC_SLIST_REVOKED = 2, EC_SLIST_ENDED = 3 };

/* "valid", "suspended", "revoked", "ended". */
const char *ec_slist_code_name(unsigned code);
/* Bytes of a list of `count` certificates: ceil(count / 4). */
size_t ec_slist_bytes(uint64_t count);
/* Code of certificate `index` in a list (index < count). */
unsigned ec_slist_get(const uint8_t *list, uint64_t index);
/* Sets code of certificate `index` in a buffer laid out as the list (or one page of it,
 * with index taken modulo EC_SLIST_PAGE_CERTS by the caller). */
void ec_slist_set(uint8_t *list, uint64_t index, unsigned code);

/* Reads page `page` (0-based; EC_SLIST_PAGE_BYTES, zeros where nothing was written) into
 * out. Returns 0 or an EC_E* code (a storage fault). */
typedef int (*ec_slist_page_fn)(void *ctx, uint64_t page, uint8_t out[EC_SLIST_PAGE_BYTES]);
/* status_root of a list of `count` certificates whose pages come from fn. O(count / 4)
 * hashing, ceil(count / 4096) page reads. Returns 0 or fn's error. */
EC_WUR int ec_slist_root(uint8_t out[EC_HASH_BYTES], uint64_t count, ec_slist_page_fn fn,
                         void *ctx);
/* The same for a list in memory (ec_slist_bytes(count) bytes). */
void ec_slist_root_mem(uint8_t out[EC_HASH_BYTES], const uint8_t *list, uint64_t count);

/* A status-list object's parts (buffers borrowed). */
typedef struct {
    const char *side_chain_id;
    uint64_t count;
    const uint8_t *list; /* ec_slist_bytes(count) bytes                          */
    uint8_t state_digest[EC_HASH_BYTES];
    uint64_t mirrored_records;
    ec_bundle_parts_t anchoring; /* side_header .. transitions; the tx fields unused */
} ec_slist_parts_t;

void ec_slist_encode(ec_writer_t *w, const ec_slist_parts_t *p);

/* A decoded (not yet verified) object; parts borrow from the input and from this. */
typedef struct {
    ec_decoder_t dec;
    ec_slist_parts_t parts;
    char side_chain_id[EC_CHAIN_ID_MAX];
    ec_bundle_t anchoring; /* holds the anchoring paths and transitions               */
} ec_slist_t;

/* Parses the structure only. 0, EC_EINVAL, EC_ETOOBIG or EC_EVERSION; on error *s needs
 * no fini. ec_slist_encode(&s->parts) reproduces the input. */
EC_WUR int ec_slist_decode(ec_slist_t *s, const uint8_t *data, size_t size);
void ec_slist_fini(ec_slist_t *s);

/* What a verified list proves (its codes are s->parts.list of the verified object). */
typedef struct {
    ec_bundle_info_t at; /* side_chain_id, side_height (the list's height), main_*       */
    uint64_t time_ms;    /* the side header's time: the list is as of then              */
    uint64_t count;      /* certificates listed                                         */
} ec_slist_info_t;

/*
 * Verifies a decoded status-list object against a trusted main chain (as ec_bundle_verify): the
 * list's bytes and count give the status_root that, with state_digest and
 * mirrored_records, gives the side header's state_root; the side header is anchored in a
 * trusted main header. Returns 0 and fills info, or EC_EINVAL / EC_ETOOBIG / EC_EVERSION
 * (malformed; bits set past count), EC_EPROOF (the list is not the one the header
 * commits to, or a Merkle step), EC_ESIG, EC_ECHAIN, with st saying which.
 */
EC_WUR int ec_slist_verify(const ec_slist_t *s, const char *main_chain_id,
                           const ec_valset_t *main_vs,
                           const uint8_t trusted_main_hash[EC_HASH_BYTES], ec_slist_info_t *info,
                           ec_status_t *st);

#endif
