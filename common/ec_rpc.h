/*
 * ec_rpc.h - the request/reply protocol every node speaks, and a client for it.
 *
 * Transport: a client DEALER connects to the node's ROUTER. Each message is one frame of
 * canonical msgpack (docs/PROTOCOL.md, "RPC"):
 *
 *   request  [version=1, req_id: uint, method: str, params: array]
 *   reply    [version=1, req_id: uint, code: int, result]     result: any msgpack object
 *                                                             when code == 0, else
 *                                                             a str saying what was wrong
 *
 * Replies may arrive out of order (a submit is answered at commit time): match by req_id.
 * Requests larger than EC_RPC_MESSAGE_BYTES_MAX are refused by the server. req_id 0 is
 * reserved: the server answers a request whose req_id it cannot read (more than one frame,
 * too big, not msgpack, not an array, req_id not a uint) with req_id 0, so a client never
 * sends 0; the client below numbers its requests from 1.
 */
#ifndef EC_RPC_H
#define EC_RPC_H

#include <stdint.h>

#include "ec_codec.h"
#include "ec_err.h"

#define EC_RPC_MESSAGE_BYTES_MAX (1u * 1024 * 1024)
#define EC_RPC_METHOD_MAX 32

/* ---- encoding helpers (server and client) ----------------------------------------------- */

/* A parsed request. `params` borrows from the decoder and the frame. */
typedef struct {
    uint64_t req_id;
    char method[EC_RPC_METHOD_MAX];
    const msgpack_object *params;
} ec_rpc_request_t;

/* Parses a request frame. Returns 0, EC_EINVAL, EC_ETOOBIG or EC_EVERSION; when the req_id
 * could be read it is set even on error, so the reply can name it. */
EC_WUR int ec_rpc_request_parse(ec_decoder_t *d, const uint8_t *frame, size_t size,
                                ec_rpc_request_t *req);
/* Like ec_rpc_request_parse, and also explains the error in st (when not NULL), naming
 * the field that was wrong. */
EC_WUR int ec_rpc_request_parse_st(ec_decoder_t *d, const uint8_t *frame, size_t size,
                                   ec_rpc_request_t *req, ec_status_t *st);
/* Writes a request frame: `params` is one encoded msgpack array. */
void ec_rpc_request_encode(ec_writer_t *w, uint64_t req_id, const char *method,
                           const uint8_t *params, size_t params_size);
/* Writes a success reply around an encoded result object. */
void ec_rpc_reply_ok(ec_writer_t *w, uint64_t req_id, const uint8_t *result, size_t size);
/* Writes the first three fields of a success reply; the caller then writes exactly one
 * result object into w (this saves copying a large result). */
void ec_rpc_reply_begin(ec_writer_t *w, uint64_t req_id);
/* Writes an error reply. */
void ec_rpc_reply_error(ec_writer_t *w, uint64_t req_id, int code, const char *message);

/* ---- client ----------------------------------------------------------------------------- */

/* A node's `status` reply (docs/PROTOCOL.md): [chain_id, kind, cert_type, height,
 * tip_hash|nil, genesis_hash, tip_time_ms, mempool, round, step, validator|nil,
 * validators, peers]. */
typedef struct {
    char chain_id[64];
    uint64_t kind;
    char cert_type[32];
    uint64_t height;
    bool has_tip;
    uint8_t tip_hash[32];
    uint8_t genesis_hash[32];
    uint64_t tip_time_ms;
    uint64_t mempool;
    uint64_t round;
    uint64_t step; /* 0 idle, 1 propose, 2 prevote, 3 precommit                 */
    bool is_validator;
    uint64_t validator;  /* this node's index in the set, when is_validator          */
    uint64_t validators; /* in the set of the height in progress                     */
    uint64_t peers;      /* validator links up                                        */
} ec_rpc_status_t;

/* Reads a status result strictly. Returns 0, or EC_EINVAL / EC_ETOOBIG (out zeroed). */
EC_WUR int ec_rpc_status_read(ec_rpc_status_t *out, const msgpack_object *result);

typedef struct ec_rpc ec_rpc_t;

/* A reply as received: owns its frame. Zero-initialise; ec_rpc_reply_fini when done. */
typedef struct {
    uint8_t *frame; /* the raw reply (owned)                                  */
    size_t frame_size;
    ec_decoder_t dec;
    uint64_t req_id;
    int code;                     /* 0 or the node's EC_E* code                             */
    const msgpack_object *result; /* when code == 0                                         */
    char message[200];            /* when code != 0                                         */
} ec_rpc_reply_t;

void ec_rpc_reply_fini(ec_rpc_reply_t *r);
/*
 * Parses a reply frame. `frame` must be malloc'd; *reply takes it over in every case.
 * Returns 0 (ec_rpc_reply_fini when done) or EC_EINVAL: not [1, req_id, code, result], a
 * positive code, or an error whose result is not a str without NUL bytes (frame then
 * freed, reply needs no fini). A message longer than reply->message is truncated.
 */
EC_WUR int ec_rpc_reply_parse(ec_rpc_reply_t *reply, uint8_t *frame, size_t size);

/*
 * Connects a DEALER to endpoint ("tcp://127.0.0.1:7100"). Connecting never blocks; a node
 * that is down shows up as EC_ETIMEOUT on the first call. Returns NULL on bad endpoint.
 */
ec_rpc_t *ec_rpc_connect(const char *endpoint, uint32_t timeout_ms);
void ec_rpc_destroy(ec_rpc_t **self_p);
/*
 * Calls one method and waits for its reply (skipping stale replies). `params` is an encoded
 * msgpack array (NULL for []). Returns 0 with *reply filled (reply->code may still be an
 * error from the node: the return value is the transport result, and st is set to the
 * node's code and message when it is not 0), EC_ETIMEOUT, or EC_EINVAL (garbled reply).
 * On non-zero return reply needs no fini.
 */
EC_WUR int ec_rpc_call(ec_rpc_t *rpc, const char *method, const uint8_t *params, size_t params_size,
                       ec_rpc_reply_t *reply, ec_status_t *st);
/* Pipelining: send now, collect with ec_rpc_recv. Returns 0 or EC_EBUSY (HWM reached). */
EC_WUR int ec_rpc_send(ec_rpc_t *rpc, uint64_t *req_id, const char *method, const uint8_t *params,
                       size_t params_size);
/* Receives the next reply (any req_id) within timeout_ms. 0, EC_ETIMEOUT or EC_EINVAL. */
EC_WUR int ec_rpc_recv(ec_rpc_t *rpc, ec_rpc_reply_t *reply, int timeout_ms);

#endif
