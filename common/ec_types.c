/*
 * ec_types.c - encoders, strict decoders and checks for the chain data types both chain
 * kinds share (transactions, validator sets, headers, commits, blocks, genesis, anchor
 * entries). The layouts are tabled in ec_types.h and docs/PROTOCOL.md.
 *
 * Invariants: every decoder accepts exactly the bytes the matching encoder writes (the
 * codec proves canonical form; this file checks field counts, types, sizes and value
 * ranges), a format version other than EC_VERSION is EC_EVERSION, and nothing is
 * allocated before its size was checked against a limit. The transaction envelope is split
 * by hand (it is two bins) so the hot path parses only the signed part once.
 */
#include "ec_types.h"

#include <assert.h>
#include <string.h>

#include "ec_merkle.h"

/* The signing prefixes include the terminating NUL: "ecert/tx" 0x00. */
#define S_TX_TAG_BYTES (sizeof EC_TAG_TX)
#define S_VOTE_TAG_BYTES (sizeof EC_TAG_VOTE)
#define S_PROPOSAL_TAG_BYTES (sizeof EC_TAG_PROPOSAL)

enum {
    S_HEADER_FIELDS = 15,
    S_COMMIT_FIELDS = 5,
    S_TX_FIELDS = 7,
    S_GENESIS_FIELDS = 11,
    S_BLOCK_FIELDS = 5,
    S_VOTE_FIELDS = 6,
    S_EVIDENCE_FIELDS = 3,
};
/* Result codes a block may record: 0, or one of the EC_E* codes (ec_err.h). */
#define S_RESULT_CODE_MIN (-64)

/* ---- small helpers ---------------------------------------------------------------------- */

static bool s_name_valid(const char *s, size_t max_len, bool underscore)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char ch = s[n];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
                  (underscore && ch == '_');
        if (!ok || n >= max_len)
            return false;
    }
    return n >= 1;
}

bool ec_chain_id_valid(const char *chain_id)
{
    return chain_id && s_name_valid(chain_id, EC_CHAIN_ID_MAX - 1, false);
}

bool ec_cert_type_valid(const char *cert_type)
{
    return cert_type && s_name_valid(cert_type, EC_CERT_TYPE_MAX - 1, true);
}

static bool s_all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/*
 * Opens sub over obj, an array of `count` fields whose first is the format version, and
 * consumes the version. A version other than `version` is EC_EVERSION, reported before
 * the field count is checked, so a newer (or older) format is named as such.
 */
static void s_open_format(ec_cur_t *sub, const msgpack_object *obj, uint32_t count,
                          uint64_t version)
{
    memset(sub, 0, sizeof *sub);
    if (!obj) {
        sub->err = EC_EINVAL;
        return;
    }
    if (obj->type == MSGPACK_OBJECT_ARRAY && obj->via.array.size >= 1 &&
        obj->via.array.ptr[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
        obj->via.array.ptr[0].via.u64 != version) {
        sub->err = EC_EVERSION;
        return;
    }
    ec_cur_open(sub, obj, count);
    uint64_t got = 0;
    ec_cur_uint(sub, &got);
}

/* s_open_format for the formats at EC_VERSION. */
static void s_open_versioned(ec_cur_t *sub, const msgpack_object *obj, uint32_t count)
{
    s_open_format(sub, obj, count, EC_VERSION);
}

/* Reads a chain id into buf and checks its alphabet; sticky. */
static void s_cur_chain_id(ec_cur_t *c, char buf[EC_CHAIN_ID_MAX])
{
    ec_cur_str_copy(c, buf, EC_CHAIN_ID_MAX);
    if (!c->err && !ec_chain_id_valid(buf))
        ec_cur_fail(c, EC_EINVAL);
}

/* ---- transactions ----------------------------------------------------------------------- */

/*
 * Splits an envelope [signed: bin, sig: bin(64)] without a parser. Only the canonical
 * encodings are accepted: fixarray(2), bin8 for < 256 bytes else bin16 (the envelope limit
 * is below 64 KiB), bin8(64) for the signature, and nothing after it.
 */
static int s_envelope_split(const uint8_t *p, size_t size, const uint8_t **signed_bytes,
                            size_t *signed_size, const uint8_t **sig)
{
    if (size > EC_TX_BYTES_MAX)
        return EC_ETOOBIG;
    if (size < 3 || p[0] != 0x92)
        return EC_EINVAL;
    size_t pos = 1, len;
    if (p[pos] == 0xc4) {
        len = p[pos + 1];
        pos += 2;
    } else if (p[pos] == 0xc5) {
        if (size - pos < 3)
            return EC_EINVAL;
        len = ((size_t)p[pos + 1] << 8) | p[pos + 2];
        if (len < 256)
            return EC_EINVAL;
        pos += 3;
    } else {
        return EC_EINVAL;
    }
    if (size - pos < len)
        return EC_EINVAL;
    *signed_bytes = p + pos;
    *signed_size = len;
    pos += len;
    if (size - pos != 2 + EC_SIG_BYTES || p[pos] != 0xc4 || p[pos + 1] != EC_SIG_BYTES)
        return EC_EINVAL;
    *sig = p + pos + 2;
    return 0;
}

/* Reads the signed part [1, chain_id, type, sender, nonce, payload_hash|nil, body]. */
static int s_tx_read_signed(ec_tx_t *tx, const msgpack_object *root)
{
    ec_cur_t c;
    s_open_versioned(&c, root, S_TX_FIELDS);
    s_cur_chain_id(&c, tx->chain_id);
    ec_cur_uint(&c, &tx->type);
    ec_cur_bin_fixed(&c, tx->sender, EC_PK_BYTES);
    ec_cur_uint(&c, &tx->nonce);
    ec_cur_bin_fixed_opt(&c, tx->payload_hash, EC_HASH_BYTES, &tx->has_payload);
    tx->body = ec_cur_object(&c);
    if (tx->body && tx->body->type != MSGPACK_OBJECT_ARRAY)
        ec_cur_fail(&c, EC_EINVAL);
    return ec_cur_finish(&c);
}

/* The id hashes the signing message without assembling it: tag, then signed bytes. */
static void s_tx_id(uint8_t id[EC_HASH_BYTES], const uint8_t *signed_bytes, size_t signed_size)
{
    ec_sha256_t st;
    ec_sha256_init(&st);
    ec_sha256_update(&st, EC_TAG_TX, S_TX_TAG_BYTES);
    ec_sha256_update(&st, signed_bytes, signed_size);
    ec_sha256_final(&st, id);
}

int ec_tx_envelope_id(uint8_t id[EC_HASH_BYTES], const uint8_t *envelope, size_t size)
{
    const uint8_t *signed_bytes = NULL, *sig = NULL;
    size_t signed_size = 0;
    int rc = s_envelope_split(envelope, size, &signed_bytes, &signed_size, &sig);
    if (rc == 0)
        s_tx_id(id, signed_bytes, signed_size);
    return rc;
}

int ec_tx_decode(ec_tx_t *tx, const uint8_t *envelope, size_t size)
{
    memset(tx, 0, sizeof *tx);
    const uint8_t *sig = NULL;
    int rc = s_envelope_split(envelope, size, &tx->signed_bytes, &tx->signed_size, &sig);
    if (rc)
        return rc;
    ec_decoder_init(&tx->dec);
    const msgpack_object *root = NULL;
    rc = ec_decode(&tx->dec, tx->signed_bytes, tx->signed_size, &root);
    if (rc == 0)
        rc = s_tx_read_signed(tx, root);
    if (rc) {
        ec_decoder_fini(&tx->dec);
        memset(tx, 0, sizeof *tx);
        return rc;
    }
    memcpy(tx->sig, sig, EC_SIG_BYTES);
    s_tx_id(tx->id, tx->signed_bytes, tx->signed_size);
    return 0;
}

bool ec_tx_verify_sig(const ec_tx_t *tx)
{
    /* Ed25519 needs the message in one piece; a 16 KiB stack copy is cheap next to the
     * ~37 us verification itself. */
    uint8_t msg[S_TX_TAG_BYTES + EC_TX_BYTES_MAX];
    assert(tx->signed_bytes && tx->signed_size <= EC_TX_BYTES_MAX);
    memcpy(msg, EC_TAG_TX, S_TX_TAG_BYTES);
    memcpy(msg + S_TX_TAG_BYTES, tx->signed_bytes, tx->signed_size);
    return ec_verify(tx->sig, msg, S_TX_TAG_BYTES + tx->signed_size, tx->sender);
}

void ec_tx_fini(ec_tx_t *tx)
{
    if (tx)
        ec_decoder_fini(&tx->dec);
}

void ec_tx_build(ec_writer_t *out, uint8_t id_out[EC_HASH_BYTES], const char *chain_id,
                 uint64_t type, const ec_key_t *key, uint64_t nonce, const uint8_t *payload_hash,
                 const uint8_t *body, size_t body_size)
{
    assert(ec_chain_id_valid(chain_id));
    assert(body && body_size >= 1);
    assert((body[0] & 0xf0) == 0x90 || body[0] == 0xdc || body[0] == 0xdd);
    ec_writer_t msg;
    ec_writer_init(&msg);
    /* The signing message is the tag followed by the signed bytes; the tag is not msgpack,
     * so it goes straight into the buffer. */
    int rc = msgpack_sbuffer_write(&msg.sbuf, EC_TAG_TX, S_TX_TAG_BYTES);
    assert(rc == 0);
    (void)rc;
    ec_write_array(&msg, S_TX_FIELDS);
    ec_write_uint(&msg, EC_VERSION);
    ec_write_cstr(&msg, chain_id);
    ec_write_uint(&msg, type);
    ec_write_bin(&msg, ec_key_pk(key), EC_PK_BYTES);
    ec_write_uint(&msg, nonce);
    if (payload_hash)
        ec_write_bin(&msg, payload_hash, EC_HASH_BYTES);
    else
        ec_write_nil(&msg);
    ec_write_raw(&msg, body, body_size);

    const uint8_t *m = ec_writer_data(&msg);
    size_t m_size = ec_writer_size(&msg);
    uint8_t sig[EC_SIG_BYTES];
    ec_sign(sig, m, m_size, key);
    if (id_out)
        ec_sha256(id_out, m, m_size);

    ec_writer_reset(out);
    ec_write_array(out, 2);
    ec_write_bin(out, m + S_TX_TAG_BYTES, m_size - S_TX_TAG_BYTES);
    ec_write_bin(out, sig, EC_SIG_BYTES);
    ec_writer_fini(&msg);
}

/* ---- validator sets --------------------------------------------------------------------- */

int ec_valset_change_check(const ec_valset_t *vs, const ec_validator_t *v, uint32_t *index)
{
    assert(vs && v && index);
    uint32_t i = 0;
    while (i < vs->count && memcmp(vs->v[i].pk, v->pk, EC_PK_BYTES) != 0)
        i++;
    *index = i;
    if (v->power == 0 && i == vs->count)
        return EC_ENOTFOUND;
    if (v->power == 0 && vs->count == 1)
        return EC_EINVAL;
    if (i == vs->count && vs->count == EC_VALIDATORS_MAX)
        return EC_ETOOBIG;
    if (i < vs->count && vs->v[i].power == v->power)
        return EC_EEXIST;
    return 0;
}

void ec_valset_change_apply(ec_valset_t *vs, const ec_validator_t *v, uint32_t index)
{
    assert(vs && v);
    assert(v->power ? index < vs->count || vs->count < EC_VALIDATORS_MAX : index < vs->count);
    if (v->power == 0) {
        memmove(&vs->v[index], &vs->v[index + 1], (vs->count - index - 1) * sizeof vs->v[0]);
        vs->count--;
    } else if (index < vs->count) {
        vs->v[index].power = v->power;
    } else {
        vs->v[vs->count++] = *v;
    }
}

void ec_valset_encode(ec_writer_t *w, const ec_valset_t *vs)
{
    assert(vs->count <= EC_VALIDATORS_MAX);
    ec_write_array(w, vs->count);
    for (uint32_t i = 0; i < vs->count; i++) {
        ec_write_array(w, 2);
        ec_write_bin(w, vs->v[i].pk, EC_PK_BYTES);
        ec_write_uint(w, vs->v[i].power);
    }
}

void ec_valset_read(ec_cur_t *c, ec_valset_t *vs)
{
    memset(vs, 0, sizeof *vs);
    ec_cur_t sub;
    ec_cur_enter_max(c, &sub, EC_VALIDATORS_MAX);
    for (uint32_t i = 0; !sub.err && i < sub.count && i < EC_VALIDATORS_MAX; i++) {
        ec_cur_t v;
        ec_cur_enter(&sub, &v, 2);
        ec_cur_bin_fixed(&v, vs->v[i].pk, EC_PK_BYTES);
        ec_cur_uint_max(&v, &vs->v[i].power, EC_VALIDATOR_POWER_MAX);
        if (!v.err && vs->v[i].power == 0)
            ec_cur_fail(&v, EC_EINVAL);
        /* A key listed twice would count its one signature twice: O(n^2), n <= 32. */
        for (uint32_t j = 0; !v.err && j < i; j++)
            if (memcmp(vs->v[j].pk, vs->v[i].pk, EC_PK_BYTES) == 0)
                ec_cur_fail(&v, EC_EINVAL);
        ec_cur_fold(&sub, &v);
        vs->count = i + 1;
    }
    ec_cur_fold(c, &sub);
    if (c->err)
        memset(vs, 0, sizeof *vs);
}

void ec_valset_hash(uint8_t out[EC_HASH_BYTES], const ec_valset_t *vs)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_valset_encode(&w, vs);
    ec_sha256(out, ec_writer_data(&w), ec_writer_size(&w));
    ec_writer_fini(&w);
}

/* ---- headers ---------------------------------------------------------------------------- */

void ec_header_encode(ec_writer_t *w, const ec_header_t *h)
{
    ec_write_array(w, S_HEADER_FIELDS);
    ec_write_uint(w, EC_HEADER_VERSION);
    ec_write_cstr(w, h->chain_id);
    ec_write_uint(w, h->height);
    ec_write_uint(w, h->time_ms);
    ec_write_bin(w, h->prev_hash, EC_HASH_BYTES);
    ec_write_bin(w, h->tx_root, EC_HASH_BYTES);
    ec_write_uint(w, h->tx_count);
    ec_write_bin(w, h->state_root, EC_HASH_BYTES);
    ec_write_bin(w, h->hist_root, EC_HASH_BYTES);
    ec_write_bin(w, h->xanchor_root, EC_HASH_BYTES);
    ec_write_uint(w, h->xanchor_count);
    ec_write_bin(w, h->valset_hash, EC_HASH_BYTES);
    ec_write_bin(w, h->next_valset_hash, EC_HASH_BYTES);
    ec_write_bin(w, h->evidence_root, EC_HASH_BYTES);
    ec_write_uint(w, h->evidence_count);
}

void ec_header_read(ec_cur_t *c, ec_header_t *h)
{
    memset(h, 0, sizeof *h);
    const msgpack_object *obj = ec_cur_object(c);
    if (!obj)
        return;
    ec_cur_t f;
    s_open_format(&f, obj, S_HEADER_FIELDS, EC_HEADER_VERSION);
    s_cur_chain_id(&f, h->chain_id);
    ec_cur_uint(&f, &h->height);
    ec_cur_uint(&f, &h->time_ms);
    ec_cur_bin_fixed(&f, h->prev_hash, EC_HASH_BYTES);
    ec_cur_bin_fixed(&f, h->tx_root, EC_HASH_BYTES);
    ec_cur_uint_max(&f, &h->tx_count, EC_BLOCK_TXS_MAX);
    ec_cur_bin_fixed(&f, h->state_root, EC_HASH_BYTES);
    ec_cur_bin_fixed(&f, h->hist_root, EC_HASH_BYTES);
    ec_cur_bin_fixed(&f, h->xanchor_root, EC_HASH_BYTES);
    ec_cur_uint_max(&f, &h->xanchor_count, EC_BLOCK_TXS_MAX);
    ec_cur_bin_fixed(&f, h->valset_hash, EC_HASH_BYTES);
    ec_cur_bin_fixed(&f, h->next_valset_hash, EC_HASH_BYTES);
    ec_cur_bin_fixed(&f, h->evidence_root, EC_HASH_BYTES);
    ec_cur_uint_max(&f, &h->evidence_count, EC_BLOCK_EVIDENCE_MAX);
    if (!f.err && h->height == 0) /* heights start at 1; the genesis is not a header */
        ec_cur_fail(&f, EC_EINVAL);
    ec_cur_fold(c, &f);
    if (c->err)
        memset(h, 0, sizeof *h);
}

/* ec_header_read as an ec_read_fn, for ec_decode_read. */
static void s_header_read(ec_cur_t *c, void *h)
{
    ec_header_read(c, h);
}

int ec_header_decode(ec_header_t *h, const uint8_t *data, size_t size)
{
    return ec_decode_read(h, sizeof *h, data, size, s_header_read);
}

void ec_header_hash(uint8_t out[EC_HASH_BYTES], const ec_header_t *h)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_header_encode(&w, h);
    ec_sha256(out, ec_writer_data(&w), ec_writer_size(&w));
    ec_writer_fini(&w);
}

bool ec_header_anchor_only(const ec_header_t *h)
{
    return h->tx_count > 0 && h->tx_count == h->xanchor_count;
}

/* ---- commits ---------------------------------------------------------------------------- */

void ec_commit_encode(ec_writer_t *w, const ec_commit_t *c)
{
    assert(c->sig_count <= EC_VALIDATORS_MAX);
    ec_write_array(w, S_COMMIT_FIELDS);
    ec_write_uint(w, EC_VERSION);
    ec_write_uint(w, c->height);
    ec_write_uint(w, c->round);
    ec_write_bin(w, c->block_hash, EC_HASH_BYTES);
    ec_write_array(w, c->sig_count);
    for (uint32_t i = 0; i < c->sig_count; i++) {
        ec_write_array(w, 2);
        ec_write_uint(w, c->sigs[i].index);
        ec_write_bin(w, c->sigs[i].sig, EC_SIG_BYTES);
    }
}

void ec_commit_read(ec_cur_t *cur, ec_commit_t *c)
{
    memset(c, 0, sizeof *c);
    const msgpack_object *obj = ec_cur_object(cur);
    if (!obj)
        return;
    ec_cur_t f, sigs;
    s_open_versioned(&f, obj, S_COMMIT_FIELDS);
    ec_cur_uint(&f, &c->height);
    ec_cur_uint(&f, &c->round);
    ec_cur_bin_fixed(&f, c->block_hash, EC_HASH_BYTES);
    ec_cur_enter_max(&f, &sigs, EC_VALIDATORS_MAX);
    for (uint32_t i = 0; !sigs.err && i < sigs.count && i < EC_VALIDATORS_MAX; i++) {
        ec_cur_t s;
        uint64_t index = 0;
        ec_cur_enter(&sigs, &s, 2);
        ec_cur_uint_max(&s, &index, EC_VALIDATORS_MAX - 1);
        ec_cur_bin_fixed(&s, c->sigs[i].sig, EC_SIG_BYTES);
        /* Strictly increasing signer indexes: one encoding per set of signatures, so a
         * bundle or anchor with two signatures swapped does not verify as the same commit. */
        if (!s.err && i > 0 && index <= c->sigs[i - 1].index)
            ec_cur_fail(&s, EC_EINVAL);
        ec_cur_fold(&sigs, &s);
        c->sigs[i].index = (uint32_t)index;
        c->sig_count = i + 1;
    }
    ec_cur_fold(&f, &sigs);
    if (!f.err && c->height == 0)
        ec_cur_fail(&f, EC_EINVAL);
    ec_cur_fold(cur, &f);
    if (cur->err)
        memset(c, 0, sizeof *c);
}

/* ec_commit_read as an ec_read_fn, for ec_decode_read. */
static void s_commit_read(ec_cur_t *cur, void *c)
{
    ec_commit_read(cur, c);
}

int ec_commit_decode(ec_commit_t *c, const uint8_t *data, size_t size)
{
    return ec_decode_read(c, sizeof *c, data, size, s_commit_read);
}

/* The start of a consensus message's signed bytes: tag, then [chain_id, height, round, ...
 * (five fields)]. w is reset first. */
static void s_consensus_sign_start(ec_writer_t *w, const char *tag, size_t tag_bytes,
                                   const char *chain_id, uint64_t height, uint64_t round)
{
    ec_writer_reset(w);
    int rc = msgpack_sbuffer_write(&w->sbuf, tag, tag_bytes);
    assert(rc == 0);
    (void)rc;
    ec_write_array(w, 5);
    ec_write_cstr(w, chain_id);
    ec_write_uint(w, height);
    ec_write_uint(w, round);
}

void ec_vote_sign_bytes(ec_writer_t *w, const char *chain_id, uint64_t height, uint64_t round,
                        uint32_t vote_type, const uint8_t *block_hash)
{
    s_consensus_sign_start(w, EC_TAG_VOTE, S_VOTE_TAG_BYTES, chain_id, height, round);
    ec_write_uint(w, vote_type);
    if (block_hash)
        ec_write_bin(w, block_hash, EC_HASH_BYTES);
    else
        ec_write_nil(w);
}

void ec_proposal_sign_bytes(ec_writer_t *w, const char *chain_id, uint64_t height, uint64_t round,
                            int64_t valid_round, const uint8_t block_hash[EC_HASH_BYTES])
{
    assert(valid_round >= -1);
    s_consensus_sign_start(w, EC_TAG_PROPOSAL, S_PROPOSAL_TAG_BYTES, chain_id, height, round);
    ec_write_uint(w, (uint64_t)(valid_round + 1));
    ec_write_bin(w, block_hash, EC_HASH_BYTES);
}

/* ---- votes and evidence ----------------------------------------------------------------- */

void ec_vote_encode(ec_writer_t *w, const ec_vote_t *v)
{
    ec_write_array(w, S_VOTE_FIELDS);
    ec_write_uint(w, v->type);
    ec_write_uint(w, v->height);
    ec_write_uint(w, v->round);
    ec_write_uint(w, v->validator);
    if (v->nil)
        ec_write_nil(w);
    else
        ec_write_bin(w, v->hash, EC_HASH_BYTES);
    ec_write_bin(w, v->sig, EC_SIG_BYTES);
}

void ec_vote_read(ec_cur_t *c, ec_vote_t *v)
{
    memset(v, 0, sizeof *v);
    ec_cur_t f;
    uint64_t type = 0, validator = 0;
    bool present = false;
    ec_cur_enter(c, &f, S_VOTE_FIELDS);
    ec_cur_uint_max(&f, &type, EC_VOTE_PRECOMMIT);
    ec_cur_uint(&f, &v->height);
    ec_cur_uint(&f, &v->round);
    ec_cur_uint_max(&f, &validator, EC_VALIDATORS_MAX - 1);
    ec_cur_bin_fixed_opt(&f, v->hash, EC_HASH_BYTES, &present);
    ec_cur_bin_fixed(&f, v->sig, EC_SIG_BYTES);
    if (!f.err && (type < EC_VOTE_PREVOTE || v->height == 0))
        ec_cur_fail(&f, EC_EINVAL);
    v->type = (uint32_t)type;
    v->validator = (uint32_t)validator;
    v->nil = !present;
    ec_cur_fold(c, &f);
    if (c->err)
        memset(v, 0, sizeof *v);
}

bool ec_vote_verify_sig(const ec_vote_t *v, const char *chain_id, const uint8_t pk[EC_PK_BYTES])
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_vote_sign_bytes(&w, chain_id, v->height, v->round, v->type, v->nil ? NULL : v->hash);
    bool ok = ec_verify(v->sig, ec_writer_data(&w), ec_writer_size(&w), pk);
    ec_writer_fini(&w);
    return ok;
}

/* Orders two votes by their encodings (memcmp, then length). */
static int s_vote_cmp(const ec_vote_t *a, const ec_vote_t *b)
{
    ec_writer_t wa, wb;
    ec_writer_init(&wa);
    ec_writer_init(&wb);
    ec_vote_encode(&wa, a);
    ec_vote_encode(&wb, b);
    size_t na = ec_writer_size(&wa), nb = ec_writer_size(&wb);
    int c = memcmp(ec_writer_data(&wa), ec_writer_data(&wb), na < nb ? na : nb);
    if (c == 0)
        c = na < nb ? -1 : na > nb ? 1 : 0;
    ec_writer_fini(&wa);
    ec_writer_fini(&wb);
    return c;
}

void ec_evidence_order(ec_evidence_t *e)
{
    if (s_vote_cmp(&e->a, &e->b) > 0) {
        ec_vote_t t = e->a;
        e->a = e->b;
        e->b = t;
    }
}

void ec_evidence_encode(ec_writer_t *w, const ec_evidence_t *e)
{
    ec_write_array(w, S_EVIDENCE_FIELDS);
    ec_write_uint(w, EC_VERSION);
    ec_vote_encode(w, &e->a);
    ec_vote_encode(w, &e->b);
}

/* Reads [version, vote, vote] (an ec_read_fn for ec_evidence_decode); sticky. */
static void s_evidence_read(ec_cur_t *c, void *out)
{
    ec_evidence_t *e = out;
    ec_cur_t f;
    s_open_versioned(&f, ec_cur_object(c), S_EVIDENCE_FIELDS);
    ec_vote_read(&f, &e->a);
    ec_vote_read(&f, &e->b);
    ec_cur_fold(c, &f);
}

int ec_evidence_decode(ec_evidence_t *e, const uint8_t *data, size_t size)
{
    return ec_decode_read(e, sizeof *e, data, size, s_evidence_read);
}

int ec_evidence_check(const ec_evidence_t *e, const char *chain_id, const ec_valset_t *vs)
{
    const ec_vote_t *a = &e->a, *b = &e->b;
    if (a->height != b->height || a->round != b->round || a->type != b->type ||
        a->validator != b->validator || a->validator >= vs->count)
        return EC_EINVAL;
    if (a->nil == b->nil && memcmp(a->hash, b->hash, EC_HASH_BYTES) == 0)
        return EC_EINVAL; /* the same vote twice is not equivocation */
    if (s_vote_cmp(a, b) >= 0)
        return EC_EINVAL; /* one encoding per pair */
    const uint8_t *pk = vs->v[a->validator].pk;
    if (!ec_vote_verify_sig(a, chain_id, pk) || !ec_vote_verify_sig(b, chain_id, pk))
        return EC_ESIG;
    return 0;
}

/* ---- transaction results ---------------------------------------------------------------- */

void ec_tx_leaf(uint8_t out[EC_HASH_BYTES], const uint8_t tx_id[EC_HASH_BYTES],
                const ec_tx_result_t *result)
{
    assert(result->code <= 0 && result->code >= S_RESULT_CODE_MIN);
    uint8_t data[EC_HASH_BYTES + 1 + 16];
    memcpy(data, tx_id, EC_HASH_BYTES);
    data[EC_HASH_BYTES] = (uint8_t)(-result->code);
    for (int i = 0; i < 8; i++) {
        data[EC_HASH_BYTES + 1 + i] = (uint8_t)(result->ref >> (56 - 8 * i));
        data[EC_HASH_BYTES + 9 + i] = (uint8_t)(result->slot >> (56 - 8 * i));
    }
    ec_merkle_leaf(out, EC_LEAF_TX, data, sizeof data);
}

void ec_commit_sign(ec_commit_t *c, const char *chain_id, uint32_t index, const ec_key_t *key)
{
    assert(c->sig_count < EC_VALIDATORS_MAX);
    assert(index < EC_VALIDATORS_MAX);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_vote_sign_bytes(&w, chain_id, c->height, c->round, EC_VOTE_PRECOMMIT, c->block_hash);
    uint8_t sig[EC_SIG_BYTES];
    ec_sign(sig, ec_writer_data(&w), ec_writer_size(&w), key);
    ec_writer_fini(&w);

    /* Insert in index order so equal commits encode equally. */
    uint32_t pos = 0;
    while (pos < c->sig_count && c->sigs[pos].index < index)
        pos++;
    assert(pos == c->sig_count || c->sigs[pos].index != index);
    memmove(&c->sigs[pos + 1], &c->sigs[pos], (c->sig_count - pos) * sizeof c->sigs[0]);
    c->sigs[pos].index = index;
    memcpy(c->sigs[pos].sig, sig, EC_SIG_BYTES);
    c->sig_count++;
}

int ec_commit_verify(const ec_commit_t *c, const ec_header_t *h, const ec_valset_t *vs)
{
    if (vs->count == 0 || vs->count > EC_VALIDATORS_MAX || c->sig_count > EC_VALIDATORS_MAX)
        return EC_EINVAL;
    /* 128-bit sums: a caller-built set need not respect EC_VALIDATOR_POWER_MAX. */
    unsigned __int128 total = 0, signed_power = 0;
    for (uint32_t i = 0; i < vs->count; i++)
        total += vs->v[i].power;
    for (uint32_t i = 0; i < c->sig_count; i++) {
        uint32_t index = c->sigs[i].index;
        /* In range and strictly increasing, which also rules out a signer counted twice. */
        if (index >= vs->count || (i > 0 && index <= c->sigs[i - 1].index))
            return EC_EINVAL;
        signed_power += vs->v[index].power;
    }
    if (c->height != h->height)
        return EC_ESIG;
    uint8_t hash[EC_HASH_BYTES];
    ec_header_hash(hash, h);
    if (memcmp(hash, c->block_hash, EC_HASH_BYTES) != 0)
        return EC_ESIG;
    if (3 * signed_power <= 2 * total)
        return EC_ESIG;

    ec_writer_t w;
    ec_writer_init(&w);
    ec_vote_sign_bytes(&w, h->chain_id, c->height, c->round, EC_VOTE_PRECOMMIT, c->block_hash);
    int rc = 0;
    /* Every signature, not just a quorum: an extra bad one still fails the commit. */
    for (uint32_t i = 0; i < c->sig_count && rc == 0; i++)
        if (!ec_verify(c->sigs[i].sig, ec_writer_data(&w), ec_writer_size(&w),
                       vs->v[c->sigs[i].index].pk))
            rc = EC_ESIG;
    ec_writer_fini(&w);
    return rc;
}

/* ---- blocks ----------------------------------------------------------------------------- */

void ec_block_encode(ec_writer_t *w, const ec_header_t *h, const uint8_t *const *txs,
                     const size_t *tx_sizes, const ec_tx_result_t *results, size_t tx_count,
                     const uint8_t *const *evidence, const size_t *evidence_sizes,
                     size_t evidence_count)
{
    assert(tx_count <= EC_BLOCK_TXS_MAX && evidence_count <= EC_BLOCK_EVIDENCE_MAX);
    ec_writer_t hw;
    ec_writer_init(&hw);
    ec_header_encode(&hw, h);
    ec_write_array(w, S_BLOCK_FIELDS);
    ec_write_uint(w, EC_BLOCK_VERSION);
    ec_write_bin(w, ec_writer_data(&hw), ec_writer_size(&hw));
    ec_writer_fini(&hw);
    ec_write_array(w, (uint32_t)tx_count);
    for (size_t i = 0; i < tx_count; i++)
        ec_write_bin(w, txs[i], tx_sizes[i]);
    ec_write_array(w, (uint32_t)tx_count);
    for (size_t i = 0; i < tx_count; i++) {
        assert(results[i].code <= 0 && results[i].code >= S_RESULT_CODE_MIN);
        ec_write_array(w, 3);
        ec_write_int(w, results[i].code);
        ec_write_uint(w, results[i].ref);
        ec_write_uint(w, results[i].slot);
    }
    ec_write_array(w, (uint32_t)evidence_count);
    for (size_t i = 0; i < evidence_count; i++)
        ec_write_bin(w, evidence[i], evidence_sizes[i]);
}

/* Reads one result [code, ref, slot]: code 0 or an EC_E* code. Sticky. */
static void s_result_read(ec_cur_t *c, ec_tx_result_t *r)
{
    ec_cur_t f;
    int64_t code = 0;
    ec_cur_enter(c, &f, 3);
    ec_cur_int(&f, &code);
    ec_cur_uint(&f, &r->ref);
    ec_cur_uint(&f, &r->slot);
    if (!f.err && (code > 0 || code < S_RESULT_CODE_MIN))
        ec_cur_fail(&f, EC_EINVAL);
    r->code = (int32_t)code;
    ec_cur_fold(c, &f);
}

/* Reads the four lists of a block after its version; sticky. */
static void s_block_lists(ec_cur_t *f, ec_block_t *b)
{
    ec_cur_t txs, results, evidence;
    ec_cur_bin(f, &b->header_bytes, &b->header_size, 1024);
    ec_cur_enter_max(f, &txs, EC_BLOCK_TXS_MAX);
    for (uint32_t i = 0; !txs.err && i < txs.count; i++) {
        const uint8_t *p;
        size_t n;
        ec_cur_bin(&txs, &p, &n, EC_TX_BYTES_MAX);
    }
    ec_cur_enter_max(f, &results, EC_BLOCK_TXS_MAX);
    for (uint32_t i = 0; !results.err && i < results.count; i++) {
        ec_tx_result_t r;
        s_result_read(&results, &r);
    }
    ec_cur_enter_max(f, &evidence, EC_BLOCK_EVIDENCE_MAX);
    for (uint32_t i = 0; !evidence.err && i < evidence.count; i++) {
        const uint8_t *p;
        size_t n;
        ec_cur_bin(&evidence, &p, &n, 1024);
    }
    if (!f->err && txs.count != results.count)
        ec_cur_fail(f, EC_EINVAL);
    if (!f->err) {
        b->txs = txs.items;
        b->tx_count = txs.count;
        b->results = results.items;
        b->evidence = evidence.items;
        b->evidence_count = evidence.count;
    }
    ec_cur_fold(f, &txs);
    ec_cur_fold(f, &results);
    ec_cur_fold(f, &evidence);
}

int ec_block_decode(ec_block_t *b, const uint8_t *data, size_t size)
{
    memset(b, 0, sizeof *b);
    ec_decoder_init(&b->dec);
    const msgpack_object *root = NULL;
    int rc = ec_decode(&b->dec, data, size, &root);
    if (rc == 0) {
        ec_cur_t f;
        s_open_format(&f, root, S_BLOCK_FIELDS, EC_BLOCK_VERSION);
        s_block_lists(&f, b);
        rc = ec_cur_finish(&f);
    }
    if (rc == 0)
        rc = ec_header_decode(&b->header, b->header_bytes, b->header_size);
    if (rc == 0 &&
        (b->header.tx_count != b->tx_count || b->header.evidence_count != b->evidence_count))
        rc = EC_EINVAL;
    if (rc) {
        ec_decoder_fini(&b->dec);
        memset(b, 0, sizeof *b);
    }
    return rc;
}

void ec_block_result(const ec_block_t *b, uint32_t i, ec_tx_result_t *out)
{
    assert(i < b->tx_count);
    const msgpack_object *r = &b->results[i];
    /* Checked by ec_block_decode: [int, uint, uint]. */
    const msgpack_object *code = &r->via.array.ptr[0];
    out->code = code->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? (int32_t)code->via.i64 : 0;
    out->ref = r->via.array.ptr[1].via.u64;
    out->slot = r->via.array.ptr[2].via.u64;
}

void ec_block_fini(ec_block_t *b)
{
    if (b)
        ec_decoder_fini(&b->dec);
}

/* ---- genesis ---------------------------------------------------------------------------- */

void ec_genesis_encode(ec_writer_t *w, const ec_genesis_t *g)
{
    assert(g->operator_count <= EC_OPERATORS_MAX);
    bool v4 = g->features != 0, quorum = v4 || g->operator_quorum > 1;
    ec_write_array(w, S_GENESIS_FIELDS + (quorum ? 1 : 0) + (v4 ? 1 : 0));
    ec_write_uint(w, v4       ? EC_GENESIS_VERSION_FEATURES
                     : quorum ? EC_GENESIS_VERSION_QUORUM
                              : EC_GENESIS_VERSION);
    ec_write_cstr(w, g->chain_id);
    ec_write_uint(w, g->kind);
    ec_write_cstr(w, g->cert_type);
    ec_write_uint(w, g->time_ms);
    ec_valset_encode(w, &g->validators);
    ec_write_array(w, g->operator_count);
    for (uint32_t i = 0; i < g->operator_count; i++)
        ec_write_bin(w, g->operators[i], EC_PK_BYTES);
    if (quorum)
        ec_write_uint(w, g->operator_quorum);
    ec_write_cstr(w, g->main_chain_id);
    ec_write_bin(w, g->main_genesis_hash, EC_HASH_BYTES);
    ec_valset_encode(w, &g->main_validators);
    ec_write_uint(w, g->main_freshness_ms);
    if (v4)
        ec_write_uint(w, g->features);
}

/* The rules that tie the fields to the kind; returns 0 or EC_EINVAL. */
static int s_genesis_check(const ec_genesis_t *g)
{
    if (!ec_chain_id_valid(g->chain_id) || g->validators.count == 0)
        return EC_EINVAL;
    for (uint32_t i = 0; i < g->operator_count; i++)
        for (uint32_t j = 0; j < i; j++)
            if (memcmp(g->operators[i], g->operators[j], EC_PK_BYTES) == 0)
                return EC_EINVAL;
    if (g->kind == EC_CHAIN_MAIN) {
        /* A main chain trusts no other chain: its main_* fields are empty. */
        if (g->operator_count == 0 || g->operator_quorum == 0 ||
            g->operator_quorum > g->operator_count || g->cert_type[0] || g->main_chain_id[0] ||
            !s_all_zero(g->main_genesis_hash, EC_HASH_BYTES) || g->main_validators.count ||
            g->main_freshness_ms != 0)
            return EC_EINVAL;
        return 0;
    }
    if (g->kind == EC_CHAIN_SIDE) {
        if (!ec_cert_type_valid(g->cert_type) || !ec_chain_id_valid(g->main_chain_id) ||
            strcmp(g->main_chain_id, g->chain_id) == 0 || g->operator_count != 0 ||
            g->operator_quorum != 0 || s_all_zero(g->main_genesis_hash, EC_HASH_BYTES) ||
            g->main_validators.count == 0 || g->main_freshness_ms < EC_MAIN_FRESHNESS_MS_MIN)
            return EC_EINVAL;
        return 0;
    }
    return EC_EINVAL;
}

/* Reads the fields of a genesis (an ec_read_fn for ec_genesis_decode); sticky. */
static void s_genesis_read(ec_cur_t *c, void *out)
{
    ec_genesis_t *g = out;
    ec_cur_t f, ops;
    uint64_t kind = 0, quorum = 1;
    /* Format 3 is format 2 with the quorum, format 4 format 3 with the features; any other
     * version is refused below. */
    const msgpack_object *o = ec_cur_object(c);
    uint64_t version = o && o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size >= 1 &&
                               o->via.array.ptr[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER
                           ? o->via.array.ptr[0].via.u64
                           : 0;
    bool v4 = version == EC_GENESIS_VERSION_FEATURES;
    bool v3 = v4 || version == EC_GENESIS_VERSION_QUORUM;
    if (v4)
        s_open_format(&f, o, S_GENESIS_FIELDS + 2, EC_GENESIS_VERSION_FEATURES);
    else if (v3)
        s_open_format(&f, o, S_GENESIS_FIELDS + 1, EC_GENESIS_VERSION_QUORUM);
    else
        s_open_format(&f, o, S_GENESIS_FIELDS, EC_GENESIS_VERSION);
    ec_cur_str_copy(&f, g->chain_id, EC_CHAIN_ID_MAX);
    ec_cur_uint_max(&f, &kind, UINT32_MAX);
    ec_cur_str_copy(&f, g->cert_type, EC_CERT_TYPE_MAX);
    ec_cur_uint(&f, &g->time_ms);
    ec_valset_read(&f, &g->validators);
    ec_cur_enter_max(&f, &ops, EC_OPERATORS_MAX);
    for (uint32_t i = 0; !ops.err && i < ops.count && i < EC_OPERATORS_MAX; i++) {
        ec_cur_bin_fixed(&ops, g->operators[i], EC_PK_BYTES);
        g->operator_count = i + 1;
    }
    ec_cur_fold(&f, &ops);
    if (v3) {
        /* Format 3 only for a quorum above 1: one encoding per genesis. */
        ec_cur_uint_max(&f, &quorum, EC_OPERATORS_MAX);
        if (!f.err && !v4 && quorum < 2)
            ec_cur_fail(&f, EC_EINVAL);
    }
    ec_cur_str_copy(&f, g->main_chain_id, EC_CHAIN_ID_MAX);
    ec_cur_bin_fixed(&f, g->main_genesis_hash, EC_HASH_BYTES);
    ec_valset_read(&f, &g->main_validators);
    ec_cur_uint(&f, &g->main_freshness_ms);
    if (v4) {
        /* Format 4 only with a known flag set. */
        ec_cur_uint(&f, &g->features);
        if (!f.err && (g->features == 0 || (g->features & ~(uint64_t)EC_GENESIS_F_CONTRACTS)))
            ec_cur_fail(&f, EC_EINVAL);
    }
    g->kind = (uint32_t)kind;
    /* Format 2: a main chain's operators act alone. A side chain has none, and a format 3
     * side genesis fails the check (its quorum is above 0). */
    g->operator_quorum = v3 ? (uint32_t)quorum : g->kind == EC_CHAIN_MAIN ? 1 : 0;
    ec_cur_fold(c, &f);
}

int ec_genesis_decode(ec_genesis_t *g, const uint8_t *data, size_t size)
{
    int rc = ec_decode_read(g, sizeof *g, data, size, s_genesis_read);
    if (rc == 0)
        rc = s_genesis_check(g);
    if (rc)
        memset(g, 0, sizeof *g);
    return rc;
}

void ec_genesis_hash(uint8_t out[EC_HASH_BYTES], const ec_genesis_t *g)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_genesis_encode(&w, g);
    ec_sha256(out, ec_writer_data(&w), ec_writer_size(&w));
    ec_writer_fini(&w);
}

/* ---- anchor entries --------------------------------------------------------------------- */

void ec_anchor_entry_encode(ec_writer_t *w, const ec_anchor_entry_t *e)
{
    ec_write_array(w, 3);
    ec_write_cstr(w, e->chain_id);
    ec_write_uint(w, e->height);
    ec_write_bin(w, e->header_hash, EC_HASH_BYTES);
}

void ec_anchor_entry_leaf(uint8_t out[EC_HASH_BYTES], const ec_anchor_entry_t *e)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_anchor_entry_encode(&w, e);
    ec_merkle_leaf(out, EC_LEAF_ANCHOR, ec_writer_data(&w), ec_writer_size(&w));
    ec_writer_fini(&w);
}

/* Reads an anchor entry [chain_id, height, header_hash] (an ec_read_fn); sticky. */
static void s_anchor_entry_read(ec_cur_t *c, void *out)
{
    ec_anchor_entry_t *e = out;
    ec_cur_t f;
    ec_cur_enter(c, &f, 3);
    s_cur_chain_id(&f, e->chain_id);
    ec_cur_uint(&f, &e->height);
    ec_cur_bin_fixed(&f, e->header_hash, EC_HASH_BYTES);
    if (!f.err && e->height == 0)
        ec_cur_fail(&f, EC_EINVAL);
    ec_cur_fold(c, &f);
}

int ec_anchor_entry_decode(ec_anchor_entry_t *e, const uint8_t *data, size_t size)
{
    return ec_decode_read(e, sizeof *e, data, size, s_anchor_entry_read);
}
