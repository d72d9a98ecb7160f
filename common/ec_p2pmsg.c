/*
 * ec_p2pmsg.c - validator messages (formats and limits in ec_p2pmsg.h).
 *
 * The decoder checks every list element's type and size here, so the item accessors can
 * read them without checks of their own.
 */
#include "ec_p2pmsg.h"

#include <assert.h>
#include <string.h>

/* Reads a list of 0..max payloads (bin of 1..EC_PAYLOAD_BYTES_MAX, or nil); sticky. */
static void s_payloads(ec_cur_t *c, const msgpack_object **items, uint32_t *count, uint32_t max)
{
    ec_cur_t p;
    ec_cur_enter_max(c, &p, max);
    for (uint32_t i = 0; !p.err && i < p.count; i++) {
        if (ec_cur_peek_nil(&p)) {
            ec_cur_nil(&p);
            continue;
        }
        const uint8_t *b;
        size_t n;
        ec_cur_bin(&p, &b, &n, EC_PAYLOAD_BYTES_MAX);
        if (!p.err && n == 0)
            ec_cur_fail(&p, EC_EINVAL);
    }
    if (!p.err) {
        *items = p.items;
        *count = p.count;
    }
    ec_cur_fold(c, &p);
}

static void s_read_proposal(ec_cur_t *c, ec_p2pmsg_t *m)
{
    uint64_t vr = 0;
    ec_cur_uint(c, &m->height);
    ec_cur_uint(c, &m->round);
    ec_cur_uint_max(c, &vr, INT64_MAX);
    ec_cur_bin(c, &m->block, &m->block_size, EC_P2P_MESSAGE_BYTES_MAX);
    s_payloads(c, &m->payloads, &m->payload_count, EC_BLOCK_TXS_MAX);
    ec_cur_bin_fixed(c, m->sig, EC_SIG_BYTES);
    m->valid_round = (int64_t)vr - 1;
    if (!c->err && (m->height == 0 || m->valid_round >= (int64_t)m->round))
        ec_cur_fail(c, EC_EINVAL);
}

static void s_read_txs(ec_cur_t *c, ec_p2pmsg_t *m)
{
    ec_cur_t list;
    ec_cur_enter_max(c, &list, EC_P2P_TXS_MAX);
    for (uint32_t i = 0; !list.err && i < list.count; i++) {
        ec_cur_t item;
        const uint8_t *b;
        size_t n;
        ec_cur_enter(&list, &item, 2);
        /* Each length is checked right after its own field is read: one check after both
         * would see only the payload's (an empty transaction passed when it had one). */
        ec_cur_bin(&item, &b, &n, EC_TX_BYTES_MAX);
        if (!item.err && n == 0)
            ec_cur_fail(&item, EC_EINVAL); /* a transaction is never empty */
        if (ec_cur_peek_nil(&item)) {
            ec_cur_nil(&item);
        } else {
            ec_cur_bin(&item, &b, &n, EC_PAYLOAD_BYTES_MAX);
            if (!item.err && n == 0)
                ec_cur_fail(&item, EC_EINVAL); /* no payload is nil, never an empty bin */
        }
        ec_cur_fold(&list, &item);
    }
    if (!list.err) {
        m->items = list.items;
        m->count = list.count;
    }
    ec_cur_fold(c, &list);
}

static void s_read_blocks(ec_cur_t *c, ec_p2pmsg_t *m)
{
    ec_cur_t list;
    ec_cur_enter_max(c, &list, EC_P2P_BLOCKS_MAX);
    for (uint32_t i = 0; !list.err && i < list.count; i++) {
        ec_cur_t item;
        const uint8_t *b;
        size_t n;
        const msgpack_object *p = NULL;
        uint32_t pc = 0;
        ec_cur_enter(&list, &item, 3);
        ec_cur_bin(&item, &b, &n, EC_P2P_MESSAGE_BYTES_MAX);
        ec_cur_bin(&item, &b, &n, 64u * 1024);
        s_payloads(&item, &p, &pc, EC_BLOCK_TXS_MAX);
        ec_cur_fold(&list, &item);
    }
    if (!list.err) {
        m->items = list.items;
        m->count = list.count;
    }
    ec_cur_fold(c, &list);
}

/* The fields after [type, from]; sticky. */
static void s_read_body(ec_cur_t *c, ec_p2pmsg_t *m)
{
    uint64_t v = 0;
    switch (m->type) {
        case EC_P2P_PROPOSAL:
            s_read_proposal(c, m);
            break;
        case EC_P2P_VOTE:
            ec_vote_read(c, &m->vote);
            if (!c->err && m->vote.validator != m->from)
                ec_cur_fail(c, EC_EINVAL);
            break;
        case EC_P2P_TXS:
            s_read_txs(c, m);
            break;
        case EC_P2P_STATUS:
            ec_cur_uint(c, &m->height);
            ec_cur_uint(c, &m->round);
            ec_cur_uint_max(c, &v, 3);
            ec_cur_uint(c, &m->tip);
            m->step = (uint32_t)v;
            break;
        case EC_P2P_GET_BLOCKS:
            ec_cur_uint(c, &m->height);
            ec_cur_uint_max(c, &v, EC_P2P_BLOCKS_MAX);
            m->count = (uint32_t)v;
            if (!c->err && (m->height == 0 || v == 0))
                ec_cur_fail(c, EC_EINVAL);
            break;
        case EC_P2P_BLOCKS:
            s_read_blocks(c, m);
            break;
        case EC_P2P_GET_PROPOSAL:
            ec_cur_uint(c, &m->height);
            ec_cur_uint(c, &m->round);
            break;
        default:
            ec_cur_fail(c, EC_EINVAL);
    }
}

/* Fields per message type, [type, from] included. */
static uint32_t s_fields(uint64_t type)
{
    static const uint32_t fields[] = {0, 8, 3, 3, 6, 4, 3, 4};
    return type < sizeof fields / sizeof fields[0] ? fields[type] : 0;
}

int ec_p2pmsg_decode(ec_decoder_t *d, const uint8_t *data, size_t size, ec_p2pmsg_t *m)
{
    assert(d && m && (data || size == 0));
    memset(m, 0, sizeof *m);
    if (size > EC_P2P_MESSAGE_BYTES_MAX)
        return EC_ETOOBIG;
    const msgpack_object *root = NULL;
    int rc = ec_decode(d, data, size, &root);
    if (rc != 0)
        return rc;
    uint64_t type = 0, from = 0;
    if (root->type == MSGPACK_OBJECT_ARRAY && root->via.array.size >= 1 &&
        root->via.array.ptr[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        type = root->via.array.ptr[0].via.u64;
    uint32_t fields = s_fields(type);
    if (fields == 0)
        return EC_EINVAL;
    ec_cur_t c;
    ec_cur_open(&c, root, fields);
    ec_cur_uint(&c, &type);
    ec_cur_uint_max(&c, &from, EC_VALIDATORS_MAX - 1);
    m->type = (uint32_t)type;
    m->from = (uint32_t)from;
    if (!c.err)
        s_read_body(&c, m);
    rc = ec_cur_finish(&c);
    if (rc != 0)
        memset(m, 0, sizeof *m);
    return rc;
}

/* A bin object's bytes, or NULL for nil. */
static void s_bin_or_nil(const msgpack_object *o, const uint8_t **data, size_t *size)
{
    if (o->type == MSGPACK_OBJECT_BIN) {
        *data = (const uint8_t *)o->via.bin.ptr;
        *size = o->via.bin.size;
    } else {
        *data = NULL;
        *size = 0;
    }
}

void ec_p2pmsg_tx(const ec_p2pmsg_t *m, uint32_t i, const uint8_t **tx, size_t *tx_size,
                  const uint8_t **payload, size_t *payload_size)
{
    assert(m->type == EC_P2P_TXS && i < m->count);
    const msgpack_object *item = m->items[i].via.array.ptr;
    s_bin_or_nil(&item[0], tx, tx_size);
    s_bin_or_nil(&item[1], payload, payload_size);
}

void ec_p2pmsg_payload(const msgpack_object *payloads, uint32_t i, const uint8_t **payload,
                       size_t *size)
{
    s_bin_or_nil(&payloads[i], payload, size);
}

void ec_p2pmsg_block(const ec_p2pmsg_t *m, uint32_t i, const uint8_t **block, size_t *block_size,
                     const uint8_t **commit, size_t *commit_size, const msgpack_object **payloads,
                     uint32_t *payload_count)
{
    assert(m->type == EC_P2P_BLOCKS && i < m->count);
    const msgpack_object *item = m->items[i].via.array.ptr;
    s_bin_or_nil(&item[0], block, block_size);
    s_bin_or_nil(&item[1], commit, commit_size);
    *payloads = item[2].via.array.ptr;
    *payload_count = item[2].via.array.size;
}

/* ---- encoders --------------------------------------------------------------------------- */

static void s_head(ec_writer_t *w, uint32_t type, uint32_t from)
{
    assert(from < EC_VALIDATORS_MAX);
    ec_write_array(w, s_fields(type));
    ec_write_uint(w, type);
    ec_write_uint(w, from);
}

static void s_write_payloads(ec_writer_t *w, const uint8_t *const *payloads,
                             const size_t *payload_sizes, uint32_t count)
{
    ec_write_array(w, count);
    for (uint32_t i = 0; i < count; i++) {
        if (payloads[i])
            ec_write_bin(w, payloads[i], payload_sizes[i]);
        else
            ec_write_nil(w);
    }
}

void ec_p2pmsg_proposal(ec_writer_t *w, uint32_t from, uint64_t height, uint64_t round,
                        int64_t valid_round, const uint8_t *block, size_t block_size,
                        const uint8_t *const *payloads, const size_t *payload_sizes,
                        uint32_t payload_count, const uint8_t sig[EC_SIG_BYTES])
{
    assert(valid_round >= -1 && (valid_round < 0 || valid_round < (int64_t)round));
    s_head(w, EC_P2P_PROPOSAL, from);
    ec_write_uint(w, height);
    ec_write_uint(w, round);
    ec_write_uint(w, (uint64_t)(valid_round + 1));
    ec_write_bin(w, block, block_size);
    s_write_payloads(w, payloads, payload_sizes, payload_count);
    ec_write_bin(w, sig, EC_SIG_BYTES);
}

void ec_p2pmsg_vote(ec_writer_t *w, const ec_vote_t *v)
{
    s_head(w, EC_P2P_VOTE, v->validator);
    ec_vote_encode(w, v);
}

void ec_p2pmsg_txs_begin(ec_writer_t *w, uint32_t from, uint32_t count)
{
    assert(count <= EC_P2P_TXS_MAX);
    s_head(w, EC_P2P_TXS, from);
    ec_write_array(w, count);
}

void ec_p2pmsg_txs_add(ec_writer_t *w, const uint8_t *tx, size_t tx_size, const uint8_t *payload,
                       size_t payload_size)
{
    ec_write_array(w, 2);
    ec_write_bin(w, tx, tx_size);
    if (payload)
        ec_write_bin(w, payload, payload_size);
    else
        ec_write_nil(w);
}

void ec_p2pmsg_status(ec_writer_t *w, uint32_t from, uint64_t height, uint64_t round, uint32_t step,
                      uint64_t tip)
{
    s_head(w, EC_P2P_STATUS, from);
    ec_write_uint(w, height);
    ec_write_uint(w, round);
    ec_write_uint(w, step);
    ec_write_uint(w, tip);
}

void ec_p2pmsg_get_blocks(ec_writer_t *w, uint32_t from, uint64_t from_height, uint32_t count)
{
    assert(from_height > 0 && count > 0 && count <= EC_P2P_BLOCKS_MAX);
    s_head(w, EC_P2P_GET_BLOCKS, from);
    ec_write_uint(w, from_height);
    ec_write_uint(w, count);
}

void ec_p2pmsg_blocks_begin(ec_writer_t *w, uint32_t from, uint32_t count)
{
    assert(count <= EC_P2P_BLOCKS_MAX);
    s_head(w, EC_P2P_BLOCKS, from);
    ec_write_array(w, count);
}

void ec_p2pmsg_blocks_add(ec_writer_t *w, const uint8_t *block, size_t block_size,
                          const uint8_t *commit, size_t commit_size, const uint8_t *const *payloads,
                          const size_t *payload_sizes, uint32_t payload_count)
{
    ec_write_array(w, 3);
    ec_write_bin(w, block, block_size);
    ec_write_bin(w, commit, commit_size);
    s_write_payloads(w, payloads, payload_sizes, payload_count);
}

void ec_p2pmsg_get_proposal(ec_writer_t *w, uint32_t from, uint64_t height, uint64_t round)
{
    s_head(w, EC_P2P_GET_PROPOSAL, from);
    ec_write_uint(w, height);
    ec_write_uint(w, round);
}
