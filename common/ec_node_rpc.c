/*
 * ec_node_rpc.c - the node's rpc thread (ec_node.h, ec_node_priv.h): reads requests from
 * the ROUTER, answers queries from committed data, hands submissions to the verifiers,
 * forwards the replies the other threads send back, and keeps every client within its
 * bounds (ec_clients.h).
 *
 * Every reply to a client leaves through s_client_send or s_client_send_bytes, which
 * charge its bytes to that client until ZeroMQ has written them out.
 */
#include <assert.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec_exec.h"
#include "ec_log.h"
#include "ec_mlog.h"
#include "ec_node_priv.h"
#include "ec_rpc.h"

/* When the node stops, requests still arriving are answered (EC_ESHUTDOWN for submissions)
 * until none came for S_DRAIN_IDLE_MS, for at most S_DRAIN_MAX_MS. */
#define S_DRAIN_IDLE_MS 100
#define S_DRAIN_MAX_MS 1000
/* Queued replies above S_TRIM_HIGH_BYTES make the rpc thread return freed memory to the
 * system once they are back under S_TRIM_LOW_BYTES. */
#define S_TRIM_HIGH_BYTES (32u << 20)
#define S_TRIM_LOW_BYTES (1u << 20)

/*
 * Sends [route, data] to a client through the ROUTER (rpc thread), charging the bytes to
 * `client` until ZeroMQ has written them out (ec_clients.h). A NULL client (the table is
 * full) is sent uncharged: only short EC_EBUSY answers go to such clients. The route
 * message is left to the caller.
 */
static void s_client_send_bytes(ec_node_t *node, ec_client_t *client, zmq_msg_t *route,
                                const uint8_t *data, size_t size)
{
    zmq_msg_t head, body;
    zmq_msg_init(&head);
    if (zmq_msg_copy(&head, route) != 0) {
        zmq_msg_close(&head);
        return;
    }
    int rc;
    if (client) {
        uint8_t *copy = malloc(size ? size : 1);
        rc = copy ? 0 : EC_ENOMEM;
        if (copy) {
            memcpy(copy, data, size);
            rc = ec_client_reply_msg(node->clients, client, &body, copy, size);
        }
    } else {
        rc = zmq_msg_init_size(&body, size) == 0 ? 0 : EC_ENOMEM;
        if (rc == 0)
            memcpy(zmq_msg_data(&body), data, size);
    }
    if (rc != 0) {
        zmq_msg_close(&head);
        return;
    }
    if (zmq_msg_send(&head, node->router, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&head);
        zmq_msg_close(&body);
        return;
    }
    if (zmq_msg_send(&body, node->router, ZMQ_DONTWAIT) < 0)
        zmq_msg_close(&body);
}

/* s_client_send_bytes for a reply being built in w; takes w's buffer without a copy. */
static void s_client_send(ec_node_t *node, ec_client_t *client, zmq_msg_t *route, ec_writer_t *w)
{
    if (!client) {
        s_client_send_bytes(node, NULL, route, ec_writer_data(w), ec_writer_size(w));
        return;
    }
    zmq_msg_t head, body;
    zmq_msg_init(&head);
    if (zmq_msg_copy(&head, route) != 0) {
        zmq_msg_close(&head);
        return;
    }
    size_t size = 0;
    uint8_t *data = ec_writer_take(w, &size);
    /* The writer's buffer grows by doubling from 8 KiB: give back what the reply does not
     * use before it waits in a queue (a short error reply would otherwise hold 8 KiB). */
    uint8_t *fit = data ? realloc(data, size) : NULL;
    if (fit)
        data = fit;
    if (!data || ec_client_reply_msg(node->clients, client, &body, data, size) != 0) {
        zmq_msg_close(&head);
        return; /* ec_client_reply_msg freed data on failure */
    }
    if (zmq_msg_send(&head, node->router, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&head);
        zmq_msg_close(&body);
        return;
    }
    if (zmq_msg_send(&body, node->router, ZMQ_DONTWAIT) < 0)
        zmq_msg_close(&body);
}

/* ---- RPC: parameters -------------------------------------------------------------------- */

static int s_params(const msgpack_object *p, uint32_t n, const char *method, const char *usage,
                    ec_status_t *st)
{
    if (p->via.array.size != n)
        return ec_status_set(st, EC_EINVAL, "%s: params must be %s", method, usage);
    return 0;
}

static int s_param_uint(const msgpack_object *p, uint32_t i, const char *name, uint64_t *v,
                        ec_status_t *st)
{
    const msgpack_object *o = &p->via.array.ptr[i];
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return ec_status_set(st, EC_EINVAL, "param %s must be uint", name);
    *v = o->via.u64;
    return 0;
}

static int s_param_hash(const msgpack_object *p, uint32_t i, const char *name,
                        uint8_t out[EC_HASH_BYTES], ec_status_t *st)
{
    const msgpack_object *o = &p->via.array.ptr[i];
    if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != EC_HASH_BYTES)
        return ec_status_set(st, EC_EINVAL, "param %s must be bin of 32 bytes", name);
    memcpy(out, o->via.bin.ptr, EC_HASH_BYTES);
    return 0;
}

static void s_write_path(ec_writer_t *w, const ec_hash32_t *path, size_t len)
{
    ec_write_array(w, (uint32_t)len);
    for (size_t i = 0; i < len; i++)
        ec_write_bin(w, path[i], EC_HASH_BYTES);
}

static int s_io(ec_status_t *st, int rc, const char *what)
{
    if (rc == EC_ENOTFOUND)
        return ec_status_set(st, EC_EIO, "%s is missing from the ledger", what);
    return ec_status_set(st, rc, "%s: storage error", what);
}

/* ---- RPC: read methods (rpc thread, committed data only) ----------------------------------- */

typedef int (*s_method_fn)(ec_node_t *node, const msgpack_object *params, ec_writer_t *out,
                           ec_status_t *st);

static int s_m_status(ec_node_t *node, const msgpack_object *params, ec_writer_t *out,
                      ec_status_t *st)
{
    if (s_params(params, 0, "status", "[]", st))
        return st->code;
    uint64_t height = ec_ledger_height(node->ledger);
    ec_header_t h;
    uint8_t tip_hash[EC_HASH_BYTES];
    uint64_t tip_time = node->genesis.time_ms;
    if (height > 0) {
        int rc = ec_ledger_header(node->ledger, height, &h, NULL);
        if (rc != 0)
            return s_io(st, rc, "tip header");
        ec_header_hash(tip_hash, &h);
        tip_time = h.time_ms;
    }
    const ec_node_stats_t *s = &node->stats;
    uint32_t me = atomic_load(&s->validator);
    ec_write_array(out, 13);
    ec_write_cstr(out, node->genesis.chain_id);
    ec_write_uint(out, node->genesis.kind);
    ec_write_cstr(out, node->genesis.cert_type);
    ec_write_uint(out, height);
    if (height > 0)
        ec_write_bin(out, tip_hash, EC_HASH_BYTES);
    else
        ec_write_nil(out);
    ec_write_bin(out, node->genesis_hash, EC_HASH_BYTES);
    ec_write_uint(out, tip_time);
    ec_write_uint(out, atomic_load(&s->mempool));
    ec_write_uint(out, atomic_load(&s->round));
    ec_write_uint(out, atomic_load(&s->step));
    if (me == UINT32_MAX)
        ec_write_nil(out);
    else
        ec_write_uint(out, me);
    ec_write_uint(out, atomic_load(&s->validators));
    ec_write_uint(out, atomic_load(&s->peers));
    return 0;
}

/* Reads and decodes the stored block at height (*raw malloc'd; b needs ec_block_fini). */
static int s_load_block(ec_node_t *node, uint64_t height, uint8_t **raw, size_t *size,
                        ec_block_t *b, ec_status_t *st)
{
    uint8_t key[8];
    ec_be64_put(key, height);
    int rc = ec_ledger_get(node->ledger, EC_CF_BLOCKS, key, sizeof(key), raw, size);
    if (rc == EC_ENOTFOUND)
        return ec_status_set(st, EC_ENOTFOUND, "no block at height %llu (tip %llu)",
                             (unsigned long long)height,
                             (unsigned long long)ec_ledger_height(node->ledger));
    if (rc != 0)
        return s_io(st, rc, "block");
    if (b && ec_block_decode(b, *raw, *size) != 0) {
        free(*raw);
        *raw = NULL;
        return ec_status_set(st, EC_EIO, "stored block %llu is corrupt",
                             (unsigned long long)height);
    }
    return 0;
}

/* Finds a committed transaction: its location and its stored block, decoded. */
static int s_locate(ec_node_t *node, const uint8_t id[EC_HASH_BYTES], uint64_t *height,
                    uint32_t *index, uint8_t **raw, size_t *size, ec_block_t *b, ec_status_t *st)
{
    int rc = ec_ledger_tx_location(node->ledger, id, height, index);
    if (rc == EC_ENOTFOUND)
        return ec_status_set(st, EC_ENOTFOUND, "transaction not found");
    if (rc != 0)
        return s_io(st, rc, "transaction index");
    rc = s_load_block(node, *height, raw, size, b, st);
    if (rc != 0)
        return rc;
    if (*index >= b->tx_count) {
        ec_block_fini(b);
        free(*raw);
        *raw = NULL;
        return ec_status_set(st, EC_EIO, "transaction index points past block %llu",
                             (unsigned long long)*height);
    }
    return 0;
}

static int s_m_tx(ec_node_t *node, const msgpack_object *params, ec_writer_t *out, ec_status_t *st)
{
    uint8_t id[EC_HASH_BYTES];
    if (s_params(params, 1, "tx", "[tx_id: bin32]", st) || s_param_hash(params, 0, "tx_id", id, st))
        return st->code;
    uint64_t height = 0;
    uint32_t index;
    uint8_t *raw = NULL, *payload = NULL;
    size_t raw_size, payload_size = 0;
    ec_block_t b;
    int rc = s_locate(node, id, &height, &index, &raw, &raw_size, &b, st);
    if (rc != 0)
        return rc;
    rc = ec_ledger_get(node->ledger, EC_CF_PAYLOADS, id, EC_HASH_BYTES, &payload, &payload_size);
    if (rc != 0 && rc != EC_ENOTFOUND) {
        ec_block_fini(&b);
        free(raw);
        return s_io(st, rc, "payload");
    }
    ec_tx_result_t res;
    ec_block_result(&b, index, &res);
    ec_write_array(out, 7);
    ec_write_uint(out, height);
    ec_write_uint(out, index);
    ec_write_bin(out, b.txs[index].via.bin.ptr, b.txs[index].via.bin.size);
    if (rc == 0)
        ec_write_bin(out, payload, payload_size);
    else
        ec_write_nil(out);
    ec_write_int(out, res.code);
    ec_write_uint(out, res.ref);
    ec_write_uint(out, res.slot);
    free(payload);
    ec_block_fini(&b);
    free(raw);
    return 0;
}

static int s_m_header(ec_node_t *node, const msgpack_object *params, ec_writer_t *out,
                      ec_status_t *st)
{
    uint64_t height = 0;
    if (s_params(params, 1, "header", "[height] (0 = tip)", st) ||
        s_param_uint(params, 0, "height", &height, st))
        return st->code;
    uint64_t tip = ec_ledger_height(node->ledger);
    if (height == 0)
        height = tip;
    if (height == 0)
        return ec_status_set(st, EC_ENOTFOUND, "no block committed yet");
    uint8_t *header = NULL, *commit = NULL;
    size_t header_size, commit_size;
    int rc =
        ec_ledger_header_raw(node->ledger, height, &header, &header_size, &commit, &commit_size);
    if (rc == EC_ENOTFOUND)
        return ec_status_set(st, EC_ENOTFOUND, "no block at height %llu (tip %llu)",
                             (unsigned long long)height, (unsigned long long)tip);
    if (rc != 0)
        return s_io(st, rc, "header");
    ec_write_array(out, 2);
    ec_write_bin(out, header, header_size);
    ec_write_bin(out, commit, commit_size);
    free(header);
    free(commit);
    return 0;
}

static int s_m_block(ec_node_t *node, const msgpack_object *params, ec_writer_t *out,
                     ec_status_t *st)
{
    uint64_t height = 0;
    if (s_params(params, 1, "block", "[height]", st) ||
        s_param_uint(params, 0, "height", &height, st))
        return st->code;
    uint8_t *block = NULL;
    size_t size;
    int rc = s_load_block(node, height, &block, &size, NULL, st);
    if (rc != 0)
        return rc;
    ec_write_bin(out, block, size);
    free(block);
    return 0;
}

static int s_m_tx_proof(ec_node_t *node, const msgpack_object *params, ec_writer_t *out,
                        ec_status_t *st)
{
    uint8_t id[EC_HASH_BYTES];
    if (s_params(params, 1, "tx_proof", "[tx_id: bin32]", st) ||
        s_param_hash(params, 0, "tx_id", id, st))
        return st->code;
    uint64_t height = 0;
    uint32_t index;
    uint8_t *raw = NULL;
    size_t raw_size;
    ec_block_t b;
    int rc = s_locate(node, id, &height, &index, &raw, &raw_size, &b, st);
    if (rc != 0)
        return rc;
    ec_hash32_t *leaves = node->srv.leaves;
    bool ok = true;
    for (uint32_t i = 0; ok && i < b.tx_count; i++) {
        uint8_t tx_id[EC_HASH_BYTES];
        ec_tx_result_t res;
        const msgpack_object *o = &b.txs[i];
        ok = ec_tx_envelope_id(tx_id, (const uint8_t *)o->via.bin.ptr, o->via.bin.size) == 0;
        ec_block_result(&b, i, &res);
        if (ok)
            ec_tx_leaf(leaves[i], tx_id, &res);
    }
    ec_hash32_t path[EC_MERKLE_PROOF_MAX];
    size_t len = 0;
    ec_merkle_mem_t mem = {leaves, b.tx_count};
    if (!ok ||
        ec_merkle_inclusion_proof(path, &len, ec_merkle_mem_oracle, &mem, index, b.tx_count) != 0) {
        ec_block_fini(&b);
        free(raw);
        return ec_status_set(st, EC_EIO, "stored block %llu is corrupt",
                             (unsigned long long)height);
    }
    ec_tx_result_t res;
    ec_block_result(&b, index, &res);
    ec_write_array(out, 8);
    ec_write_uint(out, height);
    ec_write_uint(out, index);
    ec_write_uint(out, b.tx_count);
    s_write_path(out, path, len);
    ec_write_bin(out, b.header_bytes, b.header_size);
    ec_write_int(out, res.code);
    ec_write_uint(out, res.ref);
    ec_write_uint(out, res.slot);
    ec_block_fini(&b);
    free(raw);
    return 0;
}

static int s_hist_size(ec_node_t *node, uint64_t *size, ec_status_t *st)
{
    int rc = ec_mlog_committed_size(node->ledger, EC_MLOG_HIST, size);
    return rc ? s_io(st, rc, "history log size") : 0;
}

static int s_m_hist_proof(ec_node_t *node, const msgpack_object *params, ec_writer_t *out,
                          ec_status_t *st)
{
    uint64_t index = 0, size = 0, committed = 0;
    if (s_params(params, 2, "hist_proof", "[index, size]", st) ||
        s_param_uint(params, 0, "index", &index, st) ||
        s_param_uint(params, 1, "size", &size, st) || s_hist_size(node, &committed, st))
        return st->code;
    if (size == 0 || size > committed)
        return ec_status_set(st, EC_EINVAL, "param size must be 1..%llu",
                             (unsigned long long)committed);
    if (index >= size)
        return ec_status_set(st, EC_EINVAL, "param index must be below size %llu",
                             (unsigned long long)size);
    ec_hash32_t path[EC_MERKLE_PROOF_MAX];
    size_t len = 0;
    ec_mlog_reader_t reader = {node->ledger, EC_MLOG_HIST};
    int rc = ec_merkle_inclusion_proof(path, &len, ec_mlog_oracle, &reader, index, size);
    if (rc != 0)
        return s_io(st, rc, "history log");
    s_write_path(out, path, len);
    return 0;
}

static int s_m_hist_consistency(ec_node_t *node, const msgpack_object *params, ec_writer_t *out,
                                ec_status_t *st)
{
    uint64_t old_size = 0, new_size = 0, committed = 0;
    if (s_params(params, 2, "hist_consistency", "[old_size, new_size]", st) ||
        s_param_uint(params, 0, "old_size", &old_size, st) ||
        s_param_uint(params, 1, "new_size", &new_size, st) || s_hist_size(node, &committed, st))
        return st->code;
    if (new_size == 0 || new_size > committed)
        return ec_status_set(st, EC_EINVAL, "param new_size must be 1..%llu",
                             (unsigned long long)committed);
    if (old_size > new_size)
        return ec_status_set(st, EC_EINVAL, "param old_size must be at most new_size");
    ec_hash32_t path[EC_MERKLE_PROOF_MAX];
    size_t len = 0;
    if (old_size > 0) { /* size 0 is consistent with everything: empty proof */
        ec_mlog_reader_t reader = {node->ledger, EC_MLOG_HIST};
        int rc =
            ec_merkle_consistency_proof(path, &len, ec_mlog_oracle, &reader, old_size, new_size);
        if (rc != 0)
            return s_io(st, rc, "history log");
    }
    s_write_path(out, path, len);
    return 0;
}

static int s_m_anchor_proof(ec_node_t *node, const msgpack_object *params, ec_writer_t *out,
                            ec_status_t *st)
{
    uint64_t height = 0, index = 0;
    if (s_params(params, 2, "anchor_proof", "[height, index]", st) ||
        s_param_uint(params, 0, "height", &height, st) ||
        s_param_uint(params, 1, "index", &index, st))
        return st->code;
    uint8_t key[8], *val = NULL;
    size_t size;
    ec_be64_put(key, height);
    int rc = ec_ledger_get(node->ledger, EC_CF_HEADERS, key, sizeof(key), &val, &size);
    if (rc == EC_ENOTFOUND)
        return ec_status_set(st, EC_ENOTFOUND, "no block at height %llu",
                             (unsigned long long)height);
    if (rc != 0)
        return s_io(st, rc, "header");
    const msgpack_object *root;
    ec_cur_t c, a;
    const uint8_t *header = NULL, *commit = NULL;
    size_t header_size = 0, commit_size = 0;
    rc = ec_decode(&node->srv.val_dec, val, size, &root);
    if (rc == 0) {
        ec_cur_open(&c, root, 3);
        ec_cur_bin(&c, &header, &header_size, EC_CODEC_MESSAGE_BYTES_MAX);
        ec_cur_bin(&c, &commit, &commit_size, EC_CODEC_MESSAGE_BYTES_MAX);
        ec_cur_enter_max(&c, &a, EC_BLOCK_ANCHORS_MAX);
        rc = ec_cur_finish(&c);
        /* leaves[] below holds EC_BLOCK_ANCHORS_MAX: a longer list is a damaged store. */
        if (rc == 0 && (a.err != 0 || a.count > EC_BLOCK_ANCHORS_MAX))
            rc = EC_EIO;
    }
    if (rc != 0) {
        free(val);
        return ec_status_set(st, EC_EIO, "stored header %llu is corrupt",
                             (unsigned long long)height);
    }
    if (index >= a.count) {
        free(val);
        return ec_status_set(st, EC_ENOTFOUND, "block %llu has %u anchor entries",
                             (unsigned long long)height, a.count);
    }
    ec_hash32_t leaves[EC_BLOCK_ANCHORS_MAX];
    const uint8_t *entry = NULL;
    size_t entry_size = 0;
    for (uint32_t i = 0; i < a.count; i++) {
        const uint8_t *e;
        size_t es;
        ec_cur_bin(&a, &e, &es, EC_CODEC_MESSAGE_BYTES_MAX);
        ec_merkle_leaf(leaves[i], EC_LEAF_ANCHOR, e, es);
        if (i == index) {
            entry = e;
            entry_size = es;
        }
    }
    ec_hash32_t path[EC_MERKLE_PROOF_MAX];
    size_t len = 0;
    ec_merkle_mem_t mem = {leaves, a.count};
    if (ec_cur_finish(&a) != 0 ||
        ec_merkle_inclusion_proof(path, &len, ec_merkle_mem_oracle, &mem, index, a.count)) {
        free(val);
        return ec_status_set(st, EC_EIO, "stored header %llu is corrupt",
                             (unsigned long long)height);
    }
    ec_write_array(out, 4);
    ec_write_bin(out, entry, entry_size);
    s_write_path(out, path, len);
    ec_write_bin(out, header, header_size);
    ec_write_bin(out, commit, commit_size);
    free(val);
    return 0;
}

static int s_m_genesis(ec_node_t *node, const msgpack_object *params, ec_writer_t *out,
                       ec_status_t *st)
{
    if (s_params(params, 0, "genesis", "[]", st))
        return st->code;
    ec_write_bin(out, node->genesis_bytes, node->genesis_size);
    return 0;
}

static int s_m_query(ec_node_t *node, const msgpack_object *params, ec_writer_t *out,
                     ec_status_t *st)
{
    if (s_params(params, 2, "query", "[path: str, args: array]", st))
        return st->code;
    const msgpack_object *p = &params->via.array.ptr[0], *args = &params->via.array.ptr[1];
    char path[64];
    if (p->type != MSGPACK_OBJECT_STR || p->via.str.size == 0 || p->via.str.size >= sizeof(path) ||
        memchr(p->via.str.ptr, 0, p->via.str.size))
        return ec_status_set(st, EC_EINVAL, "param path must be str of 1..%zu bytes",
                             sizeof(path) - 1);
    if (args->type != MSGPACK_OBJECT_ARRAY)
        return ec_status_set(st, EC_EINVAL, "param args must be an array");
    memcpy(path, p->via.str.ptr, p->via.str.size);
    path[p->via.str.size] = '\0';
    if (!node->app->query)
        return ec_status_set(st, EC_EMETHOD, "unknown query path \"%s\"", path);
    size_t before = ec_writer_size(out);
    int rc = node->app->query(node->app->self, node->ledger, path, args, out, st);
    if (rc != 0)
        return st->code == rc ? rc : ec_status_set(st, rc, "query %s: %s", path, ec_strerror(rc));
    if (ec_writer_size(out) == before)
        return ec_status_set(st, EC_EINTERNAL, "query %s wrote no result", path);
    return 0;
}

/* The validator set in force at a height (0: the next block's), encoded. */
static int s_m_valset(ec_node_t *node, const msgpack_object *params, ec_writer_t *out,
                      ec_status_t *st)
{
    uint64_t height = 0;
    if (s_params(params, 1, "valset", "[height] (0 = the next block)", st) ||
        s_param_uint(params, 0, "height", &height, st))
        return st->code;
    uint64_t tip = ec_ledger_height(node->ledger);
    if (height == 0)
        height = tip + 1;
    if (height > tip + 2)
        return ec_status_set(st, EC_ENOTFOUND, "the set of height %llu is not known yet (tip %llu)",
                             (unsigned long long)height, (unsigned long long)tip);
    ec_valset_t vs;
    int rc = ec_exec_valset_stored(node->ledger, &node->genesis, height, &vs);
    if (rc != 0)
        return s_io(st, rc, "validator set");
    ec_writer_t w;
    ec_writer_init(&w);
    ec_valset_encode(&w, &vs);
    ec_write_bin(out, ec_writer_data(&w), ec_writer_size(&w));
    ec_writer_fini(&w);
    return 0;
}

#define S_VALSETS_MAX 64

/* The validator-set changes at or after a height, oldest first: [[height, set: bin]...]. */
static int s_m_valsets(ec_node_t *node, const msgpack_object *params, ec_writer_t *out,
                       ec_status_t *st)
{
    uint64_t from = 0;
    if (s_params(params, 1, "valsets", "[from_height]", st) ||
        s_param_uint(params, 0, "from_height", &from, st))
        return st->code;
    uint64_t *heights = calloc(S_VALSETS_MAX, sizeof *heights);
    ec_valset_t *sets = calloc(S_VALSETS_MAX, sizeof *sets);
    int n = heights && sets
                ? ec_exec_valset_changes(node->ledger, from, S_VALSETS_MAX, heights, sets)
                : EC_ENOMEM;
    if (n >= 0) {
        ec_writer_t w;
        ec_writer_init(&w);
        ec_write_array(out, (uint32_t)n);
        for (int i = 0; i < n; i++) {
            ec_writer_reset(&w);
            ec_valset_encode(&w, &sets[i]);
            ec_write_array(out, 2);
            ec_write_uint(out, heights[i]);
            ec_write_bin(out, ec_writer_data(&w), ec_writer_size(&w));
        }
        ec_writer_fini(&w);
    }
    free(heights);
    free(sets);
    return n < 0 ? s_io(st, n, "validator sets") : 0;
}

/* Evidence entries per `evidence` reply (each two votes, about 250 bytes). */
#define S_EVIDENCE_MAX 64

typedef struct {
    ec_writer_t w; /* the entries, counted in n */
    uint32_t n;
} s_evidence_out_t;

static int s_evidence_add(void *ctx, uint64_t height, uint32_t index, const uint8_t *evidence,
                          size_t size)
{
    s_evidence_out_t *o = ctx;
    ec_write_array(&o->w, 3);
    ec_write_uint(&o->w, height);
    ec_write_uint(&o->w, index);
    ec_write_bin(&o->w, evidence, size);
    o->n++;
    return 0;
}

static int s_m_evidence(ec_node_t *node, const msgpack_object *params, ec_writer_t *out,
                        ec_status_t *st)
{
    uint64_t from = 0;
    if (s_params(params, 1, "evidence", "[from_height]", st) ||
        s_param_uint(params, 0, "from_height", &from, st))
        return st->code;
    s_evidence_out_t o = {.n = 0};
    ec_writer_init(&o.w);
    int n = ec_exec_evidence_list(node->ledger, from, S_EVIDENCE_MAX, s_evidence_add, &o);
    if (n >= 0) {
        ec_write_array(out, o.n);
        ec_write_raw(out, ec_writer_data(&o.w), ec_writer_size(&o.w));
    }
    ec_writer_fini(&o.w);
    return n < 0 ? s_io(st, n, "evidence") : 0;
}

static const struct {
    const char *name;
    s_method_fn fn;
} s_methods[] = {
    {"valset", s_m_valset},
    {"valsets", s_m_valsets},
    {"evidence", s_m_evidence},
    {"status", s_m_status},
    {"tx", s_m_tx},
    {"header", s_m_header},
    {"block", s_m_block},
    {"tx_proof", s_m_tx_proof},
    {"hist_proof", s_m_hist_proof},
    {"hist_consistency", s_m_hist_consistency},
    {"anchor_proof", s_m_anchor_proof},
    {"genesis", s_m_genesis},
    {"query", s_m_query},
};

/* ---- RPC: submit (rpc thread side) ---------------------------------------------------------- */

/* Checks the shape of a submit and hands it to the verifiers. Takes route and frame on
 * success; otherwise returns an error for the caller to reply. */
static int s_submit(ec_node_t *node, ec_client_t *client, zmq_msg_t *route, zmq_msg_t *frame,
                    const ec_rpc_request_t *req, ec_status_t *st)
{
    const msgpack_object *p = req->params;
    if (s_params(p, 2, "submit", "[tx: bin, payload: bin|nil]", st))
        return st->code;
    const msgpack_object *tx = &p->via.array.ptr[0], *pl = &p->via.array.ptr[1];
    if (tx->type != MSGPACK_OBJECT_BIN || tx->via.bin.size == 0)
        return ec_status_set(st, EC_EINVAL, "param tx must be a non-empty bin");
    if (tx->via.bin.size > EC_TX_BYTES_MAX)
        return ec_status_set(st, EC_ETOOBIG, "param tx is %u bytes, more than %u", tx->via.bin.size,
                             EC_TX_BYTES_MAX);
    if (pl->type != MSGPACK_OBJECT_BIN && pl->type != MSGPACK_OBJECT_NIL)
        return ec_status_set(st, EC_EINVAL, "param payload must be bin or nil");
    if (pl->type == MSGPACK_OBJECT_BIN && pl->via.bin.size > EC_PAYLOAD_BYTES_MAX)
        return ec_status_set(st, EC_ETOOBIG, "param payload is %u bytes, more than %u",
                             pl->via.bin.size, EC_PAYLOAD_BYTES_MAX);
    if (atomic_load(&node->intake_closed))
        return ec_status_set(st, EC_ESHUTDOWN, "node is stopping");
    /* The frame, the sub and the decoded transaction stay in memory until the reply. */
    size_t charge = zmq_msg_size(frame) + sizeof(ec_sub_t);
    if (ec_client_submit_begin(node->clients, client, charge, st) != 0)
        return st->code;
    ec_sub_t *sub = calloc(1, sizeof(*sub));
    if (!sub) {
        ec_client_submit_done(node->clients, client, charge);
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    }
    sub->clients = node->clients;
    sub->client = client;
    sub->charged = charge;
    sub->req_id = req->req_id;
    /* Offsets first, pointers after the move: a tiny frame's bytes live inside the
     * zmq_msg_t itself and move with it. */
    const uint8_t *base = zmq_msg_data(frame);
    size_t tx_off = (size_t)((const uint8_t *)tx->via.bin.ptr - base);
    size_t payload_off =
        pl->type == MSGPACK_OBJECT_BIN ? (size_t)((const uint8_t *)pl->via.bin.ptr - base) : 0;
    zmq_msg_init(&sub->route);
    zmq_msg_init(&sub->frame);
    zmq_msg_move(&sub->route, route);
    zmq_msg_move(&sub->frame, frame);
    const uint8_t *data = zmq_msg_data(&sub->frame);
    sub->pending.envelope = data + tx_off;
    sub->pending.envelope_size = tx->via.bin.size;
    if (pl->type == MSGPACK_OBJECT_BIN) {
        sub->pending.payload = data + payload_off;
        sub->pending.payload_size = pl->via.bin.size;
    }
    sub->pending.client = sub;
    sub->pending.release = ec_node_sub_release;
    /* Counted before the send: a verifier may take it (and count it out) at once. */
    ec_metrics_gauge_add(node->metrics.verify_queue, 1);
    if (zmq_send(node->verify_push, &sub, sizeof(sub), ZMQ_DONTWAIT) == (int)sizeof(sub))
        return 0;
    ec_metrics_gauge_add(node->metrics.verify_queue, -1);
    /* The verifiers are saturated: give the message parts back for the error reply. */
    zmq_msg_move(route, &sub->route);
    zmq_msg_move(frame, &sub->frame);
    ec_node_sub_release(&sub->pending);
    return ec_status_set(st, EC_EBUSY, "verifier queue full, retry later");
}

/* ---- the rpc thread ------------------------------------------------------------------------ */

/* Serves one request from the ROUTER. Returns false when none was waiting. */
static bool s_serve_one(ec_node_t *node)
{
    ec_server_t *srv = &node->srv;
    zmq_msg_t route, frame;
    zmq_msg_init(&route);
    zmq_msg_init(&frame);
    if (zmq_msg_recv(&route, node->router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&route);
        zmq_msg_close(&frame);
        return false;
    }
    bool more = zmq_msg_more(&route), extra = false;
    if (more && zmq_msg_recv(&frame, node->router, ZMQ_DONTWAIT) >= 0)
        more = extra = zmq_msg_more(&frame);
    while (more) { /* a request is one frame: drop the rest */
        zmq_msg_t junk;
        zmq_msg_init(&junk);
        more = zmq_msg_recv(&junk, node->router, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&junk);
        zmq_msg_close(&junk);
    }
    ec_status_t st = {0};
    ec_rpc_request_t req = {0};
    int rc;
    ec_client_t *client = ec_clients_get(node->clients, zmq_msg_data(&route), zmq_msg_size(&route),
                                         ec_node_mono_ms());
    ec_client_verdict_t verdict = client ? ec_client_verdict(node->clients, client) : 0;
    if (client && verdict == EC_CLIENT_DROP) {
        /* It does not read what it asked for: no answer would reach it either. */
        zmq_msg_close(&route);
        zmq_msg_close(&frame);
        return true;
    }
    if (extra)
        rc = ec_status_set(&st, EC_EINVAL, "a request is exactly one frame");
    else
        rc = ec_rpc_request_parse_st(&srv->req_dec, zmq_msg_data(&frame), zmq_msg_size(&frame),
                                     &req, &st);
    ec_writer_reset(&srv->out);
    if (rc == 0 && !client) {
        rc = ec_status_set(&st, EC_EBUSY, "the node serves %u connections, its most: retry later",
                           ec_clients_count(node->clients));
    } else if (rc == 0 && verdict == EC_CLIENT_REFUSE) {
        rc = ec_status_set(&st, EC_EBUSY,
                           "%zu bytes of replies to this connection are still unread: read them "
                           "first",
                           (size_t)atomic_load(&client->queued));
    } else if (rc == 0 && strcmp(req.method, "submit") == 0) {
        rc = s_submit(node, client, &route, &frame, &req, &st);
        if (rc != 0)
            ec_node_metrics_submit(node, rc);
    } else if (rc == 0) {
        rc = ec_status_set(&st, EC_EMETHOD, "unknown method \"%s\"", req.method);
        for (size_t i = 0; i < sizeof(s_methods) / sizeof(s_methods[0]); i++)
            if (strcmp(req.method, s_methods[i].name) == 0) {
                ec_status_clear(&st);
                ec_rpc_reply_begin(&srv->out, req.req_id);
                rc = s_methods[i].fn(node, req.params, &srv->out, &st);
                if (rc == 0)
                    s_client_send(node, client, &route, &srv->out);
                break;
            }
    }
    if (rc != 0) {
        ec_debug("refused %s (req %llu): %s", req.method[0] ? req.method : "request",
                 (unsigned long long)req.req_id, st.msg);
        ec_writer_reset(&srv->out);
        ec_rpc_reply_error(&srv->out, req.req_id, rc, st.msg);
        s_client_send(node, client, &route, &srv->out);
    }
    zmq_msg_close(&route);
    zmq_msg_close(&frame);
    return true;
}

/* Forwards up to max replies [route, reply] from the workers to the ROUTER, each charged
 * to its client (workers only ever send these two frames). */
static void s_forward(ec_node_t *node, uint32_t max)
{
    for (uint32_t i = 0; i < max; i++) {
        zmq_msg_t route, reply;
        zmq_msg_init(&route);
        zmq_msg_init(&reply);
        if (zmq_msg_recv(&route, node->reply_pull, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&route);
            zmq_msg_close(&reply);
            return;
        }
        bool ok = zmq_msg_more(&route) && zmq_msg_recv(&reply, node->reply_pull, 0) >= 0;
        if (ok) {
            ec_client_t *client = ec_clients_get(node->clients, zmq_msg_data(&route),
                                                 zmq_msg_size(&route), ec_node_mono_ms());
            s_client_send_bytes(node, client, &route, zmq_msg_data(&reply), zmq_msg_size(&reply));
        }
        zmq_msg_close(&route);
        zmq_msg_close(&reply);
    }
}

/*
 * Last act of the rpc thread when the node stops: requests already on their way (in TCP
 * buffers and ZeroMQ's queues: at 25,000 a second, some 600 in the last 25 ms) are still
 * read and answered, submissions with EC_ESHUTDOWN, until none has arrived for
 * S_DRAIN_IDLE_MS or S_DRAIN_MAX_MS have passed. Only what a client sends after that meets
 * a closed socket.
 */
static void s_drain_router(ec_node_t *node)
{
    uint64_t start = ec_node_mono_ms(), last = start;
    for (;;) {
        uint64_t now = ec_node_mono_ms();
        if (now - last >= S_DRAIN_IDLE_MS || now - start >= S_DRAIN_MAX_MS)
            return;
        zmq_pollitem_t item = {node->router, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, (long)S_DRAIN_IDLE_MS) < 0 && errno != EINTR)
            return;
        bool any = false;
        for (int i = 0; i < EC_NODE_BATCH && s_serve_one(node); i++)
            any = true;
        if (any)
            last = ec_node_mono_ms();
    }
}

/*
 * Gives memory back to the system once a burst of queued replies (a client that stopped
 * reading, say) has drained: glibc keeps freed memory in its arenas otherwise, and the
 * node's footprint would stay at its peak for good. At most once a second.
 */
static void s_trim(ec_node_t *node)
{
    size_t queued = ec_clients_queued_total(node->clients);
    if (queued > S_TRIM_HIGH_BYTES)
        node->trim_due = true;
    if (!node->trim_due || queued > S_TRIM_LOW_BYTES)
        return;
    uint64_t now = ec_node_mono_ms();
    if (now - node->trim_at_ms < 1000)
        return;
    node->trim_at_ms = now;
    node->trim_due = false;
    malloc_trim(0);
}

void *ec_node_rpc_main(void *arg)
{
    ec_node_t *node = arg;
    pthread_setname_np(pthread_self(), "ec-rpc");
    /* The halt item is last so it can be dropped once seen (it stays readable). */
    zmq_pollitem_t items[4] = {
        {node->router, 0, ZMQ_POLLIN, 0},
        {node->reply_pull, 0, ZMQ_POLLIN, 0},
        {NULL, node->final_pipe[0], ZMQ_POLLIN, 0},
        {NULL, node->halt_pipe[0], ZMQ_POLLIN, 0},
    };
    int count = 4;
    for (;;) {
        if (zmq_poll(items, count, -1) < 0) {
            if (errno == EINTR)
                continue;
            ec_error("rpc poll: %s", zmq_strerror(errno));
            ec_node_fatal(node, EC_EINTERNAL);
            break;
        }
        if (count == 4 && (items[3].revents & ZMQ_POLLIN)) {
            atomic_store(&node->intake_closed, 1);
            count = 3;
        }
        if (items[1].revents & ZMQ_POLLIN)
            s_forward(node, EC_NODE_BATCH);
        if (items[0].revents & ZMQ_POLLIN)
            for (int i = 0; i < EC_NODE_BATCH && s_serve_one(node); i++)
                ;
        s_trim(node);
        if (items[2].revents & ZMQ_POLLIN) {
            s_forward(node, UINT32_MAX);
            s_drain_router(node);
            break;
        }
    }
    atomic_store(&node->intake_closed, 1);
    return NULL;
}
