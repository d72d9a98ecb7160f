/*
 * fuzz_rpc.c - libFuzzer target for the two RPC frame decoders: the node's request parser
 * (ec_rpc_request_parse_st, fed by anyone who can reach a ROUTER) and the client's reply
 * parser (ec_rpc_reply_parse). Every input goes through both. An accepted request must
 * re-encode to exactly the input; an accepted reply too (when its message was not
 * truncated). A refused request must still explain itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ec_rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_request(const uint8_t *data, size_t size, ec_decoder_t *d, ec_writer_t *w,
                      ec_writer_t *p)
{
    ec_rpc_request_t req;
    ec_status_t st = {0};
    int rc = ec_rpc_request_parse_st(d, data, size, &req, &st);
    if (rc != 0) {
        if (rc != EC_EINVAL && rc != EC_ETOOBIG && rc != EC_EVERSION && rc != EC_ENOMEM)
            abort();
        if (st.code != rc || st.msg[0] == '\0')
            abort();
        return;
    }
    if (req.method[0] == '\0' || strlen(req.method) >= EC_RPC_METHOD_MAX ||
        req.params->type != MSGPACK_OBJECT_ARRAY)
        abort();
    ec_writer_reset(p);
    ec_writer_reset(w);
    ec_write_object(p, req.params);
    ec_rpc_request_encode(w, req.req_id, req.method, ec_writer_data(p), ec_writer_size(p));
    if (ec_writer_size(w) != size || memcmp(ec_writer_data(w), data, size) != 0)
        abort();
}

static void s_reply(const uint8_t *data, size_t size, ec_writer_t *w, ec_writer_t *p)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return;
    if (size)
        memcpy(copy, data, size);
    ec_rpc_reply_t r;
    if (ec_rpc_reply_parse(&r, copy, size) != 0)
        return; /* copy was freed */
    ec_writer_reset(w);
    if (r.code == 0) {
        ec_writer_reset(p);
        ec_write_object(p, r.result);
        ec_rpc_reply_ok(w, r.req_id, ec_writer_data(p), ec_writer_size(p));
    } else {
        if (r.code > 0 || strlen(r.message) >= sizeof(r.message))
            abort();
        ec_rpc_reply_error(w, r.req_id, r.code, r.message);
    }
    bool truncated = r.code != 0 && strlen(r.message) == sizeof(r.message) - 1;
    bool empty_msg = r.code != 0 && r.message[0] == '\0'; /* re-encoded with a default */
    if (!truncated && !empty_msg &&
        (ec_writer_size(w) != size || memcmp(ec_writer_data(w), data, size) != 0))
        abort();
    ec_rpc_reply_fini(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ec_decoder_t d;
    static ec_writer_t w, p;
    static int ready;
    if (!ready) {
        ec_decoder_init(&d);
        ec_writer_init(&w);
        ec_writer_init(&p);
        ready = 1;
    }
    s_request(data, size, &d, &w, &p);
    s_reply(data, size, &w, &p);
    return 0;
}
