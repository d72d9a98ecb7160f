/*
 * ec_slist.c - certificate status lists: codes, the status_root and the status-list
 * object (ec_slist.h).
 *
 * Invariant: every byte of an accepted object is covered: the list and count by the
 * status_root (bits past count must be zero, so one list has one encoding), the digest and
 * records count with it by the side header's state_root, and the header by the anchoring
 * proof (ec_bundle_anchoring_verify).
 */
#include "ec_slist.h"

#include <stdlib.h>
#include <string.h>

#include "ec_chain.h"
#include "ec_ledger.h"
#include "ec_merkle.h"

enum { S_FIELDS = 14 };

static const char *const s_names[4] = {"valid", "suspended", "revoked", "ended"};

const char *ec_slist_code_name(unsigned code)
{
    return s_names[code & 3u];
}

size_t ec_slist_bytes(uint64_t count)
{
    return (size_t)((count + 3) / 4);
}

unsigned ec_slist_get(const uint8_t *list, uint64_t index)
{
    return (list[index / 4] >> (2 * (index % 4))) & 3u;
}

void ec_slist_set(uint8_t *list, uint64_t index, unsigned code)
{
    unsigned shift = 2 * (unsigned)(index % 4);
    uint8_t *b = &list[index / 4];
    *b = (uint8_t)((*b & ~(3u << shift)) | ((code & 3u) << shift));
}

/* The final hash over count and the pages' Merkle root. */
static void s_finish(uint8_t out[EC_HASH_BYTES], uint64_t count, const uint8_t mth[EC_HASH_BYTES])
{
    static const char tag[] = "ecert/status"; /* sizeof includes the 0x00 separator */
    uint8_t be[8];
    ec_be64_put(be, count);
    ec_sha256_t st;
    ec_sha256_init(&st);
    ec_sha256_update(&st, tag, sizeof tag);
    ec_sha256_update(&st, be, sizeof be);
    ec_sha256_update(&st, mth, EC_HASH_BYTES);
    ec_sha256_final(&st, out);
}

/* Bytes of page `page` in a list of `bytes` bytes (the last page may be short). */
static size_t s_page_size(size_t bytes, uint64_t page)
{
    size_t start = (size_t)page * EC_SLIST_PAGE_BYTES;
    size_t left = bytes - start;
    return left < EC_SLIST_PAGE_BYTES ? left : EC_SLIST_PAGE_BYTES;
}

int ec_slist_root(uint8_t out[EC_HASH_BYTES], uint64_t count, ec_slist_page_fn fn, void *ctx)
{
    size_t bytes = ec_slist_bytes(count);
    uint64_t pages = (bytes + EC_SLIST_PAGE_BYTES - 1) / EC_SLIST_PAGE_BYTES;
    ec_hash32_t *leaves = pages ? malloc(pages * sizeof *leaves) : NULL;
    if (pages && !leaves)
        return EC_ENOMEM;
    uint8_t buf[EC_SLIST_PAGE_BYTES];
    for (uint64_t i = 0; i < pages; i++) {
        int rc = fn(ctx, i, buf);
        if (rc) {
            free(leaves);
            return rc;
        }
        ec_merkle_leaf(leaves[i], EC_LEAF_STATUS, buf, s_page_size(bytes, i));
    }
    uint8_t mth[EC_HASH_BYTES];
    ec_merkle_root(mth, leaves, (size_t)pages);
    free(leaves);
    s_finish(out, count, mth);
    return 0;
}

/* A list in memory, as a page reader sees it. */
typedef struct {
    const uint8_t *list;
    size_t bytes;
} s_mem_t;

/* Page reader over a list in memory; the last page padded with zeros. */
static int s_mem_page(void *ctx, uint64_t page, uint8_t out[EC_SLIST_PAGE_BYTES])
{
    const s_mem_t *m = ctx;
    size_t n = s_page_size(m->bytes, page);
    memcpy(out, m->list + (size_t)page * EC_SLIST_PAGE_BYTES, n);
    memset(out + n, 0, EC_SLIST_PAGE_BYTES - n);
    return 0;
}

void ec_slist_root_mem(uint8_t out[EC_HASH_BYTES], const uint8_t *list, uint64_t count)
{
    s_mem_t m = {list, ec_slist_bytes(count)};
    if (ec_slist_root(out, count, s_mem_page, &m) != 0)
        memset(out, 0, EC_HASH_BYTES); /* only allocation fails: never a root that is not one */
}

/* ---- the object ------------------------------------------------------------------------- */

void ec_slist_encode(ec_writer_t *w, const ec_slist_parts_t *p)
{
    ec_write_array(w, S_FIELDS);
    ec_write_uint(w, EC_SLIST_VERSION);
    ec_write_cstr(w, p->side_chain_id);
    ec_write_uint(w, p->count);
    ec_write_bin(w, p->list, ec_slist_bytes(p->count));
    ec_write_bin(w, p->state_digest, EC_HASH_BYTES);
    ec_write_uint(w, p->mirrored_records);
    ec_bundle_anchoring_encode(w, &p->anchoring);
}

static int s_read(ec_slist_t *s, const msgpack_object *root)
{
    ec_slist_parts_t *p = &s->parts;
    if (root->type == MSGPACK_OBJECT_ARRAY && root->via.array.size >= 1 &&
        root->via.array.ptr[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
        root->via.array.ptr[0].via.u64 != EC_SLIST_VERSION)
        return EC_EVERSION;
    ec_cur_t c;
    uint64_t version = 0;
    size_t list_size = 0;
    ec_cur_open(&c, root, S_FIELDS);
    ec_cur_uint(&c, &version);
    ec_cur_str_copy(&c, s->side_chain_id, EC_CHAIN_ID_MAX);
    ec_cur_uint(&c, &p->count);
    if (!c.err && p->count > EC_SLIST_CERTS_MAX)
        ec_cur_fail(&c, EC_ETOOBIG);
    ec_cur_bin(&c, &p->list, &list_size, (size_t)(EC_SLIST_CERTS_MAX / 4));
    ec_cur_bin_fixed(&c, p->state_digest, EC_HASH_BYTES);
    ec_cur_uint(&c, &p->mirrored_records);
    ec_bundle_anchoring_read(&c, &s->anchoring);
    int rc = ec_cur_finish(&c);
    if (rc == 0 && (!ec_chain_id_valid(s->side_chain_id) || list_size != ec_slist_bytes(p->count)))
        rc = EC_EINVAL;
    /* bits past count are zero: one list, one encoding */
    if (rc == 0 && p->count % 4 != 0 && (p->list[list_size - 1] >> (2 * (p->count % 4))) != 0)
        rc = EC_EINVAL;
    p->side_chain_id = s->side_chain_id;
    p->anchoring = s->anchoring.parts;
    p->anchoring.side_chain_id = s->side_chain_id;
    return rc;
}

int ec_slist_decode(ec_slist_t *s, const uint8_t *data, size_t size)
{
    memset(s, 0, sizeof *s);
    if (size > EC_SLIST_BYTES_MAX)
        return EC_ETOOBIG;
    ec_decoder_init(&s->dec);
    const msgpack_object *root = NULL;
    int rc = ec_decode(&s->dec, data, size, &root);
    if (rc == 0)
        rc = s_read(s, root);
    if (rc) {
        ec_decoder_fini(&s->dec);
        memset(s, 0, sizeof *s);
    }
    return rc;
}

void ec_slist_fini(ec_slist_t *s)
{
    if (s)
        ec_decoder_fini(&s->dec);
}

int ec_slist_verify(const ec_slist_t *s, const char *main_chain_id, const ec_valset_t *main_vs,
                    const uint8_t trusted_main_hash[EC_HASH_BYTES], ec_slist_info_t *info,
                    ec_status_t *st)
{
    ec_status_clear(st);
    memset(info, 0, sizeof *info);
    const ec_slist_parts_t *p = &s->parts;
    ec_header_t side;
    int rc = ec_header_decode(&side, p->anchoring.side_header, p->anchoring.side_header_size);
    if (rc)
        return ec_status_set(st, rc, "side header: malformed (%s)", ec_errname(rc));
    uint8_t status_root[EC_HASH_BYTES], state_root[EC_HASH_BYTES];
    ec_slist_root_mem(status_root, p->list, p->count);
    ec_side_state_root(state_root, p->state_digest, p->mirrored_records, status_root);
    if (memcmp(state_root, side.state_root, EC_HASH_BYTES) != 0)
        return ec_status_set(st, EC_EPROOF,
                             "status list: not the list side block %llu of %s commits to",
                             (unsigned long long)side.height, p->side_chain_id);
    rc = ec_bundle_anchoring_verify(&p->anchoring, &side, main_chain_id, main_vs, trusted_main_hash,
                                    &info->at, st);
    if (rc) {
        memset(info, 0, sizeof *info);
        return rc;
    }
    info->time_ms = side.time_ms;
    info->count = p->count;
    return 0;
}
