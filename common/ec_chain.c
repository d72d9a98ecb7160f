/*
 * ec_chain.c - what the chain kinds, the relay and the client agree on: role and
 * transaction type names, the main chain's records, the two state root formulas, and the
 * light client that accepts a foreign chain's headers (ec_chain.h, docs/PROTOCOL.md).
 *
 * Invariants: record and light client decoders accept only what their encoders write;
 * ec_light_check never freezes on a proof that merely fails to verify, only on a proof
 * that ties a different history to the header's signed hist_root (see ec_chain.h).
 */
#include "ec_chain.h"

#include <assert.h>
#include <string.h>

/* ---- names ------------------------------------------------------------------------------ */

static const char *const s_roles[] = {NULL, "ca", "issuer", "inspector", "supervisor", "deployer"};

static const char *const s_main_types[] = {NULL,
                                           "REGISTER",
                                           "ORG",
                                           "ROLE_GRANT",
                                           "ROLE_REVOKE",
                                           "ATTEST",
                                           "SIDECHAIN",
                                           "ANCHOR",
                                           "SIDECHAIN_UPDATE",
                                           "VALIDATOR_UPDATE",
                                           "SIDECHAIN_VALIDATOR",
                                           "GOV_PROPOSE",
                                           "GOV_APPROVE",
                                           "OPERATORS",
                                           "KEY_ROTATE",
                                           "KEY_REVOKE",
                                           "KEY_RECOVER",
                                           "KEY_VETO",
                                           "KEY_RECOVER_FINISH",
                                           "CONTRACT_DEPLOY",
                                           "CONTRACT_UPGRADE",
                                           "CONTRACT_CALL",
                                           "CONTRACT_DECIDE"};

static const char *const s_side_types[] = {
    NULL,
    "ISSUE",
    "INSPECT",
    "ACK",
    "RENEW",
    "CHANGE",
    "REVOKE",
    "MAIN_ANCHOR",
    "ERASE",
    "SUSPEND",
    "REINSTATE",
    "CANCEL",
    "CONTRACT_DEPLOY",
    "CONTRACT_UPGRADE",
    "CONTRACT_CALL",
    "CONTRACT_DECIDE",
    "EVIDENCE",
};

const char *ec_role_name(uint32_t role)
{
    return role >= 1 && role <= EC_ROLE_MAX ? s_roles[role] : NULL;
}

uint32_t ec_role_parse(const char *name)
{
    for (uint32_t r = 1; name && r <= EC_ROLE_MAX; r++)
        if (strcmp(name, s_roles[r]) == 0)
            return r;
    return 0;
}

const char *ec_tx_type_name(uint32_t chain_kind, uint64_t type)
{
    if (chain_kind == EC_CHAIN_MAIN && type >= 1 && type <= EC_MTX_MAX)
        return s_main_types[type];
    if (chain_kind == EC_CHAIN_SIDE && type >= 1 && type <= EC_STX_MAX)
        return s_side_types[type];
    return "UNKNOWN";
}

/* ---- records ---------------------------------------------------------------------------- */

/* Fields of a record of each kind (an unknown kind: 6, refused after). */
static uint32_t s_record_fields(uint64_t kind)
{
    return kind == EC_REC_ATTEST || kind == EC_REC_KEY ? 4 : kind == EC_REC_VALIDATOR ? 5 : 6;
}

void ec_record_encode(ec_writer_t *w, const ec_record_t *r)
{
    assert(r->kind >= EC_REC_ROLE_GRANT && r->kind <= EC_REC_KEY);
    ec_write_array(w, s_record_fields(r->kind));
    ec_write_uint(w, r->seq);
    ec_write_uint(w, r->kind);
    ec_write_bin(w, r->pk, EC_PK_BYTES);
    if (r->kind == EC_REC_KEY) {
        ec_write_bin(w, r->key, EC_PK_BYTES);
        return;
    }
    if (r->kind == EC_REC_ATTEST) {
        ec_write_bin(w, r->identity_hash, EC_HASH_BYTES);
        return;
    }
    if (r->kind == EC_REC_VALIDATOR) {
        ec_write_uint(w, r->power);
        ec_write_cstr(w, r->chain_id);
        return;
    }
    ec_write_uint(w, r->role);
    ec_write_cstr(w, r->cert_type);
    ec_write_cstr(w, r->org_code);
}

/* Reads the fields after seq and kind; sticky. */
static void s_record_read_rest(ec_cur_t *c, ec_record_t *r)
{
    ec_cur_bin_fixed(c, r->pk, EC_PK_BYTES);
    if (r->kind == EC_REC_KEY) {
        ec_cur_bin_fixed(c, r->key, EC_PK_BYTES);
        return;
    }
    if (r->kind == EC_REC_ATTEST) {
        ec_cur_bin_fixed(c, r->identity_hash, EC_HASH_BYTES);
        return;
    }
    if (r->kind == EC_REC_VALIDATOR) {
        ec_cur_uint_max(c, &r->power, EC_VALIDATOR_POWER_MAX);
        ec_cur_str_copy(c, r->chain_id, EC_CHAIN_ID_MAX);
        if (!c->err && !ec_chain_id_valid(r->chain_id))
            ec_cur_fail(c, EC_EINVAL);
        return;
    }
    uint64_t role = 0;
    ec_cur_uint_max(c, &role, EC_ROLE_MAX);
    ec_cur_str_copy(c, r->cert_type, EC_CERT_TYPE_MAX);
    ec_cur_str_copy(c, r->org_code, EC_ORG_CODE_MAX);
    r->role = (uint32_t)role;
    /* cert_type is "" for roles that span types (CA, supervisor), else a valid name. */
    if (!c->err && (role == 0 || (r->cert_type[0] && !ec_cert_type_valid(r->cert_type))))
        ec_cur_fail(c, EC_EINVAL);
}

/* Reads a whole record (an ec_read_fn for ec_record_decode); sticky. */
static void s_record_read(ec_cur_t *c, void *out)
{
    ec_record_t *r = out;
    const msgpack_object *root = ec_cur_object(c);
    if (!root)
        return;
    /* The kind (second field) decides the field count. */
    uint32_t count = 6;
    if (root->type == MSGPACK_OBJECT_ARRAY && root->via.array.size >= 2 &&
        root->via.array.ptr[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        count = s_record_fields(root->via.array.ptr[1].via.u64);
    ec_cur_t f;
    uint64_t kind = 0;
    ec_cur_open(&f, root, count);
    ec_cur_uint(&f, &r->seq);
    ec_cur_uint_max(&f, &kind, EC_REC_KEY);
    if (!f.err && kind == 0)
        ec_cur_fail(&f, EC_EINVAL);
    r->kind = (uint32_t)kind;
    if (!f.err)
        s_record_read_rest(&f, r);
    ec_cur_fold(c, &f);
}

int ec_record_decode(ec_record_t *r, const uint8_t *data, size_t size)
{
    return ec_decode_read(r, sizeof *r, data, size, s_record_read);
}

void ec_record_leaf(uint8_t out[EC_HASH_BYTES], const uint8_t *encoded, size_t size)
{
    ec_merkle_leaf(out, EC_LEAF_RECORD, encoded, size);
}

/* ---- state roots ------------------------------------------------------------------------ */

static void s_be64(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

void ec_main_state_root(uint8_t out[EC_HASH_BYTES], const uint8_t records_root[EC_HASH_BYTES],
                        uint64_t records_count, const uint8_t state_digest[EC_HASH_BYTES])
{
    static const char tag[] = "ecert/mainstate"; /* sizeof includes the 0x00 separator */
    uint8_t count[8];
    s_be64(count, records_count);
    ec_sha256_t st;
    ec_sha256_init(&st);
    ec_sha256_update(&st, tag, sizeof tag);
    ec_sha256_update(&st, records_root, EC_HASH_BYTES);
    ec_sha256_update(&st, count, sizeof count);
    ec_sha256_update(&st, state_digest, EC_HASH_BYTES);
    ec_sha256_final(&st, out);
}

void ec_side_state_root(uint8_t out[EC_HASH_BYTES], const uint8_t state_digest[EC_HASH_BYTES],
                        uint64_t mirrored_records, const uint8_t status_root[EC_HASH_BYTES])
{
    static const char tag[] = "ecert/sidestate";
    uint8_t count[8];
    s_be64(count, mirrored_records);
    ec_sha256_t st;
    ec_sha256_init(&st);
    ec_sha256_update(&st, tag, sizeof tag);
    ec_sha256_update(&st, state_digest, EC_HASH_BYTES);
    ec_sha256_update(&st, count, sizeof count);
    ec_sha256_update(&st, status_root, EC_HASH_BYTES);
    ec_sha256_final(&st, out);
}

/* ---- light client ----------------------------------------------------------------------- */

void ec_light_init(ec_light_t *lc, const uint8_t genesis_hash[EC_HASH_BYTES])
{
    memset(lc, 0, sizeof *lc);
    memcpy(lc->hash, genesis_hash, EC_HASH_BYTES);
    ec_sha256(lc->hist_root, "", 0);
}

void ec_light_encode(ec_writer_t *w, const ec_light_t *lc)
{
    ec_write_array(w, 4);
    ec_write_uint(w, lc->height);
    ec_write_bin(w, lc->hash, EC_HASH_BYTES);
    ec_write_bin(w, lc->hist_root, EC_HASH_BYTES);
    ec_write_bool(w, lc->frozen);
}

void ec_light_read(ec_cur_t *c, ec_light_t *lc)
{
    memset(lc, 0, sizeof *lc);
    ec_cur_t f;
    ec_cur_enter(c, &f, 4);
    ec_cur_uint(&f, &lc->height);
    ec_cur_bin_fixed(&f, lc->hash, EC_HASH_BYTES);
    ec_cur_bin_fixed(&f, lc->hist_root, EC_HASH_BYTES);
    ec_cur_bool(&f, &lc->frozen);
    ec_cur_fold(c, &f);
    if (c->err)
        memset(lc, 0, sizeof *lc);
}

/* ec_light_read as an ec_read_fn, for ec_decode_read. */
static void s_light_read(ec_cur_t *c, void *lc)
{
    ec_light_read(c, lc);
}

int ec_light_decode(ec_light_t *lc, const uint8_t *data, size_t size)
{
    return ec_decode_read(lc, sizeof *lc, data, size, s_light_read);
}

/*
 * Runs RFC 9162 section 2.1.4.2 on a consistency proof from old_size m to new_size n
 * (0 < m < n) and returns the two roots it implies, so the caller can tell a proof that
 * does not reach the new root (garbage) from one that reaches it from a different old root
 * (a fork). When m is a power of two the old root is not in the proof and `seed` (the old
 * root the verifier knows) stands in. Returns 0, or EC_EPROOF when the path has the wrong
 * shape for (m, n).
 */
static int s_consistency_roots(uint64_t m, uint64_t n, const uint8_t seed[EC_HASH_BYTES],
                               const ec_hash32_t *path, size_t len, uint8_t fr[EC_HASH_BYTES],
                               uint8_t sr[EC_HASH_BYTES])
{
    assert(m > 0 && m < n);
    size_t i = 0;
    if ((m & (m - 1)) == 0) {
        memcpy(fr, seed, EC_HASH_BYTES);
    } else {
        if (len == 0)
            return EC_EPROOF;
        memcpy(fr, path[i++], EC_HASH_BYTES);
    }
    memcpy(sr, fr, EC_HASH_BYTES);
    uint64_t fn = m - 1, sn = n - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    for (; i < len; i++) {
        if (sn == 0)
            return EC_EPROOF;
        uint8_t t[EC_HASH_BYTES];
        if ((fn & 1) || fn == sn) {
            ec_merkle_node(t, path[i], fr);
            memcpy(fr, t, EC_HASH_BYTES);
            ec_merkle_node(t, path[i], sr);
            memcpy(sr, t, EC_HASH_BYTES);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            ec_merkle_node(t, sr, path[i]);
            memcpy(sr, t, EC_HASH_BYTES);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 ? 0 : EC_EPROOF;
}

/* The history part of ec_light_check: 0, EC_EPROOF or EC_EFORK. */
static int s_light_history(const ec_light_t *lc, const ec_header_t *h, const ec_hash32_t *prev_path,
                           size_t prev_len, const ec_hash32_t *consistency, size_t consistency_len,
                           ec_status_t *st)
{
    if (lc->height == 0) {
        if (consistency_len != 0)
            return ec_status_set(st, EC_EPROOF, "consistency proof must be empty at height 0");
    } else {
        uint8_t fr[EC_HASH_BYTES], sr[EC_HASH_BYTES];
        if (s_consistency_roots(lc->height, h->height, lc->hist_root, consistency, consistency_len,
                                fr, sr) != 0 ||
            memcmp(sr, h->hist_root, EC_HASH_BYTES) != 0)
            return ec_status_set(st, EC_EPROOF,
                                 "consistency proof %llu->%llu does not reach hist_root",
                                 (unsigned long long)lc->height, (unsigned long long)h->height);
        if (memcmp(fr, lc->hist_root, EC_HASH_BYTES) != 0)
            return ec_status_set(st, EC_EFORK,
                                 "header %llu commits to a history that differs before "
                                 "height %llu",
                                 (unsigned long long)h->height, (unsigned long long)lc->height);
        /* Belt and braces: the shared verifier must agree. */
        if (ec_merkle_consistency_verify(lc->height, h->height, lc->hist_root, h->hist_root,
                                         consistency, consistency_len) != 0)
            return ec_status_set(st, EC_EPROOF, "consistency proof does not verify");
    }
    uint8_t leaf[EC_HASH_BYTES];
    ec_merkle_leaf(leaf, EC_LEAF_BLOCK, lc->hash, EC_HASH_BYTES);
    if (ec_merkle_inclusion_verify(leaf, lc->height, h->height, prev_path, prev_len,
                                   h->hist_root) != 0)
        return ec_status_set(st, EC_EPROOF,
                             "prev_path does not prove block %llu in header %llu's history",
                             (unsigned long long)lc->height, (unsigned long long)h->height);
    return 0;
}

/* Verifies c as the commit of h by vs: 0 or EC_ESIG with st set. */
static int s_light_commit(const char *chain_id, const ec_header_t *h, const ec_commit_t *c,
                          const ec_valset_t *vs, ec_status_t *st)
{
    int rc = ec_commit_verify(c, h, vs);
    if (rc)
        return ec_status_set(st, EC_ESIG, "commit for %s height %llu does not verify (%s)",
                             chain_id, (unsigned long long)h->height, ec_errname(rc));
    return 0;
}

/* True when path proves `leaf_hash` (a block hash) as leaf `index` of `root` (size). */
static bool s_light_leaf(const uint8_t leaf_hash[EC_HASH_BYTES], uint64_t index, uint64_t size,
                         const ec_hash32_t *path, size_t len, const uint8_t root[EC_HASH_BYTES])
{
    uint8_t leaf[EC_HASH_BYTES];
    ec_merkle_leaf(leaf, EC_LEAF_BLOCK, leaf_hash, EC_HASH_BYTES);
    return ec_merkle_inclusion_verify(leaf, index, size, path, len, root) == 0;
}

/* A header at or below the anchored height: a duplicate, or a proven fork. */
static int s_light_old(const ec_light_t *lc, const char *chain_id, const ec_header_t *h,
                       const ec_commit_t *c, const ec_valset_t *vs, const ec_hash32_t *prev_path,
                       size_t prev_len, const uint8_t *claimed, ec_status_t *st)
{
    uint8_t hash[EC_HASH_BYTES];
    ec_header_hash(hash, h);
    const uint8_t *ours = lc->hash; /* the block lc holds at h->height */
    if (h->height < lc->height) {
        if (!claimed)
            return ec_status_set(st, EC_EDUPLICATE, "height %llu already anchored (at %llu)",
                                 (unsigned long long)h->height, (unsigned long long)lc->height);
        if (!s_light_leaf(claimed, h->height, lc->height, prev_path, prev_len, lc->hist_root))
            return ec_status_set(st, EC_EPROOF,
                                 "prev_path does not prove the claimed block %llu in the "
                                 "anchored history",
                                 (unsigned long long)h->height);
        ours = claimed;
    }
    if (memcmp(hash, ours, EC_HASH_BYTES) == 0)
        return ec_status_set(st, EC_EDUPLICATE, "height %llu already anchored (at %llu)",
                             (unsigned long long)h->height, (unsigned long long)lc->height);
    int rc = s_light_commit(chain_id, h, c, vs, st);
    if (rc)
        return rc;
    return ec_status_set(st, EC_EFORK,
                         "a validly committed header %llu differs from the block anchored at "
                         "that height",
                         (unsigned long long)h->height);
}

int ec_light_check(const ec_light_t *lc, const char *chain_id, const ec_header_t *h,
                   const ec_commit_t *c, const ec_valset_t *vs, const ec_hash32_t *prev_path,
                   size_t prev_len, const ec_hash32_t *consistency, size_t consistency_len,
                   const uint8_t *claimed, ec_status_t *st)
{
    ec_status_clear(st);
    if (lc->frozen)
        return ec_status_set(st, EC_EFROZEN, "chain %s is frozen", chain_id);
    if (strcmp(h->chain_id, chain_id) != 0)
        return ec_status_set(st, EC_ECHAIN, "header is for chain %s, not %s", h->chain_id,
                             chain_id);
    if (h->height <= lc->height)
        return s_light_old(lc, chain_id, h, c, vs, prev_path, prev_len, claimed, st);
    uint8_t vs_hash[EC_HASH_BYTES];
    ec_valset_hash(vs_hash, vs);
    if (memcmp(vs_hash, h->valset_hash, EC_HASH_BYTES) != 0)
        return ec_status_set(st, EC_ESIG,
                             "header %llu of %s is committed by another validator set than "
                             "the one known after height %llu: the chain changed validators, "
                             "and the header that names the change must be anchored first",
                             (unsigned long long)h->height, chain_id,
                             (unsigned long long)lc->height);
    int rc = s_light_commit(chain_id, h, c, vs, st);
    if (rc)
        return rc;
    if (claimed) {
        if (!s_light_leaf(claimed, lc->height, h->height, prev_path, prev_len, h->hist_root))
            return ec_status_set(st, EC_EPROOF,
                                 "prev_path does not prove the claimed block %llu in header "
                                 "%llu's history",
                                 (unsigned long long)lc->height, (unsigned long long)h->height);
        if (memcmp(claimed, lc->hash, EC_HASH_BYTES) != 0)
            return ec_status_set(st, EC_EFORK,
                                 "header %llu holds another block at height %llu than the one "
                                 "anchored",
                                 (unsigned long long)h->height, (unsigned long long)lc->height);
    }
    return s_light_history(lc, h, prev_path, prev_len, consistency, consistency_len, st);
}

void ec_light_advance(ec_light_t *lc, const ec_header_t *h)
{
    assert(h->height > lc->height);
    lc->height = h->height;
    ec_header_hash(lc->hash, h);
    memcpy(lc->hist_root, h->hist_root, EC_HASH_BYTES);
}

/* ---- proof paths ------------------------------------------------------------------------ */

void ec_cur_path(ec_cur_t *c, ec_hash32_t *path, size_t *len)
{
    *len = 0;
    ec_cur_t sub;
    ec_cur_enter_max(c, &sub, EC_MERKLE_PROOF_MAX);
    for (uint32_t i = 0; !sub.err && i < sub.count && i < EC_MERKLE_PROOF_MAX; i++)
        ec_cur_bin_fixed(&sub, path[i], EC_HASH_BYTES);
    if (!sub.err)
        *len = sub.count;
    ec_cur_fold(c, &sub);
    if (c->err)
        *len = 0;
}

void ec_write_path(ec_writer_t *w, const ec_hash32_t *path, size_t len)
{
    assert(len <= EC_MERKLE_PROOF_MAX);
    ec_write_array(w, (uint32_t)len);
    for (size_t i = 0; i < len; i++)
        ec_write_bin(w, path[i], EC_HASH_BYTES);
}
