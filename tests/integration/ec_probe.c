/*
 * ec_probe.c - a raw RPC client for the integration tests, written from docs/PROTOCOL.md
 * alone (libzmq, msgpack-c and libsodium directly, none of libecert), so it checks the wire
 * contract independently of the code that implements it.
 *
 *   ec_probe status ENDPOINT                       one line: chain_id= kind= height= ...
 *   ec_probe sidechains ENDPOINT                   main chain: one line per side chain
 *   ec_probe anchor-of ENDPOINT CHAIN_ID HEIGHT    main chain: the anchor covering HEIGHT
 *   ec_probe tx ENDPOINT TX_HEX                    where a committed transaction is
 *   ec_probe header ENDPOINT HEIGHT                block HEIGHT: hash=HEX time_ms=N
 *   ec_probe attack ENDPOINT [--holder ADDRESS]    the bad-input battery (below)
 *
 * The battery sends malformed msgpack, non-canonical encodings, wrong types and counts, an
 * oversized frame, an unsupported version, unknown methods and query paths, and signed
 * transactions with a wrong chain id, a bad signature, a replay and an unauthorized sender,
 * and checks that each gets its status code; finally the node must still answer `status`.
 * On a side chain, --holder names a valid address for the unauthorized ISSUE.
 *
 * Exit status: 0 success, 1 a check failed or the node misbehaved, 2 bad usage, 3 the node
 * answered ENOTFOUND (queries; lets scripts poll).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>
#include <sodium.h>
#include <zmq.h>

/* Status codes from docs/PROTOCOL.md. */
enum {
    P_OK = 0,
    P_EINVAL = -1,
    P_ETOOBIG = -2,
    P_ENOTFOUND = -3,
    P_ESIG = -5,
    P_EREPLAY = -6,
    P_EPERM = -7,
    P_ECHAIN = -8,
    P_EMETHOD = -9,
    P_EVERSION = -19,
};

#define P_MESSAGE_MAX (1u * 1024 * 1024) /* a request over this is refused            */
#define P_TIMEOUT_MS 15000               /* a submit is answered at commit time         */
#define P_NO_REPLY 1000                  /* pseudo code: the node sent nothing          */
#define P_CHAIN_ID_MAX 64
#define P_TX_REGISTER 1
#define P_TX_ORG 2
#define P_TX_ISSUE 1

static void *s_zctx;
static const char *s_endpoint;
static uint64_t s_req_id = 1000;
static int s_failures;

/* ---- transport --------------------------------------------------------------------------- */

/* A reply: the raw frame, its parse and the fields of [1, req_id, code, result]. */
typedef struct {
    msgpack_unpacked up;
    char *frame;
    size_t size;
    int64_t code;
    msgpack_object result;
    char message[256];
} s_reply_t;

static void s_reply_fini(s_reply_t *r)
{
    msgpack_unpacked_destroy(&r->up);
    free(r->frame);
    memset(r, 0, sizeof *r);
}

/*
 * Sends one frame on a fresh DEALER and waits for one reply. Returns 0 with *r filled,
 * P_NO_REPLY when nothing came back in time, or -1 when the reply is not a well-formed
 * reply array (the node broke the protocol).
 */
static int s_exchange(const void *frame, size_t size, s_reply_t *r)
{
    memset(r, 0, sizeof *r);
    msgpack_unpacked_init(&r->up);
    void *sock = zmq_socket(s_zctx, ZMQ_DEALER);
    int linger = 0;
    int timeout = P_TIMEOUT_MS;
    if (sock == NULL || zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout) != 0 ||
        zmq_connect(sock, s_endpoint) != 0) {
        fprintf(stderr, "ec_probe: cannot connect to %s: %s\n", s_endpoint,
                zmq_strerror(zmq_errno()));
        exit(1);
    }
    int rc = -1;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_send(sock, frame, size, 0) < 0) {
        fprintf(stderr, "ec_probe: send failed: %s\n", zmq_strerror(zmq_errno()));
        goto done;
    }
    if (zmq_msg_recv(&msg, sock, 0) < 0) {
        rc = P_NO_REPLY;
        goto done;
    }
    r->size = zmq_msg_size(&msg);
    r->frame = malloc(r->size ? r->size : 1);
    if (r->frame == NULL) {
        goto done;
    }
    memcpy(r->frame, zmq_msg_data(&msg), r->size);
    size_t off = 0;
    if (msgpack_unpack_next(&r->up, r->frame, r->size, &off) != MSGPACK_UNPACK_SUCCESS ||
        off != r->size) {
        fprintf(stderr, "ec_probe: reply is not one msgpack object\n");
        goto done;
    }
    const msgpack_object *o = &r->up.data;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 4 ||
        o->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        o->via.array.ptr[0].via.u64 != 1 ||
        o->via.array.ptr[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        fprintf(stderr, "ec_probe: reply is not [1, req_id, code, result]\n");
        goto done;
    }
    const msgpack_object *code = &o->via.array.ptr[2];
    if (code->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        r->code = (int64_t)code->via.u64;
    } else if (code->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        r->code = code->via.i64;
    } else {
        fprintf(stderr, "ec_probe: reply code is not an integer\n");
        goto done;
    }
    r->result = o->via.array.ptr[3];
    if (r->code != 0 && r->result.type == MSGPACK_OBJECT_STR) {
        size_t n = r->result.via.str.size;
        n = n < sizeof r->message - 1 ? n : sizeof r->message - 1;
        memcpy(r->message, r->result.via.str.ptr, n);
    }
    rc = 0;
done:
    zmq_msg_close(&msg);
    zmq_close(sock);
    return rc;
}

/* ---- request building ---------------------------------------------------------------- */

static void s_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void s_bin(msgpack_packer *pk, const void *data, size_t size)
{
    msgpack_pack_bin(pk, size);
    msgpack_pack_bin_body(pk, data, size);
}

/* Starts a request [1, req_id, method, params...]: the caller packs the params array. */
static void s_request_begin(msgpack_packer *pk, uint64_t version, const char *method)
{
    msgpack_pack_array(pk, 4);
    msgpack_pack_uint64(pk, version);
    msgpack_pack_uint64(pk, ++s_req_id);
    s_str(pk, method);
}

/* Calls a method whose params the caller already packed into `params` (one array). */
static int s_call_raw(const char *method, const msgpack_sbuffer *params, s_reply_t *r)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    s_request_begin(&pk, 1, method);
    if (params != NULL) {
        msgpack_sbuffer_write(&sb, params->data, params->size);
    } else {
        msgpack_pack_array(&pk, 0);
    }
    int rc = s_exchange(sb.data, sb.size, r);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

/* ---- signed transactions --------------------------------------------------------------- */

typedef struct {
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
} s_key_t;

/*
 * Builds a transaction envelope [signed: bin, sig: bin(64)] into env, per ec_types.h /
 * PROTOCOL.md: signed = [1, chain_id, type, sender, nonce, payload_hash|nil, body], signed
 * over "ecert/tx" 0x00 || signed. `body` is one encoded array.
 */
static void s_tx_build(msgpack_sbuffer *env, const char *chain_id, uint64_t type,
                       const s_key_t *key, const uint8_t *payload_hash, const msgpack_sbuffer *body)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    uint64_t nonce;
    randombytes_buf(&nonce, sizeof nonce);
    msgpack_pack_array(&pk, 7);
    msgpack_pack_uint64(&pk, 1);
    s_str(&pk, chain_id);
    msgpack_pack_uint64(&pk, type);
    s_bin(&pk, key->pk, sizeof key->pk);
    msgpack_pack_uint64(&pk, nonce);
    if (payload_hash != NULL) {
        s_bin(&pk, payload_hash, crypto_hash_sha256_BYTES);
    } else {
        msgpack_pack_nil(&pk);
    }
    msgpack_sbuffer_write(&sb, body->data, body->size);

    static const char tag[] = "ecert/tx"; /* followed by its NUL: the 0x00 separator */
    size_t msg_size = sizeof tag + sb.size;
    uint8_t *msg = malloc(msg_size);
    if (msg == NULL) {
        abort();
    }
    memcpy(msg, tag, sizeof tag);
    memcpy(msg + sizeof tag, sb.data, sb.size);
    uint8_t sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, NULL, msg, msg_size, key->sk);
    free(msg);

    msgpack_packer epk;
    msgpack_sbuffer_init(env);
    msgpack_packer_init(&epk, env, msgpack_sbuffer_write);
    msgpack_pack_array(&epk, 2);
    s_bin(&epk, sb.data, sb.size);
    s_bin(&epk, sig, sizeof sig);
    msgpack_sbuffer_destroy(&sb);
}

/* Submits [tx, payload|nil]. */
static int s_submit(const msgpack_sbuffer *env, const uint8_t *payload, size_t payload_size,
                    s_reply_t *r)
{
    msgpack_sbuffer params;
    msgpack_packer pk;
    msgpack_sbuffer_init(&params);
    msgpack_packer_init(&pk, &params, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    s_bin(&pk, env->data, env->size);
    if (payload != NULL) {
        s_bin(&pk, payload, payload_size);
    } else {
        msgpack_pack_nil(&pk);
    }
    int rc = s_call_raw("submit", &params, r);
    msgpack_sbuffer_destroy(&params);
    return rc;
}

/* ---- checks ---------------------------------------------------------------------------- */

static const char *s_code_name(int64_t code)
{
    switch (code) {
        case P_OK:
            return "OK";
        case P_EINVAL:
            return "EINVAL";
        case P_ETOOBIG:
            return "ETOOBIG";
        case P_ENOTFOUND:
            return "ENOTFOUND";
        case -4:
            return "EEXIST";
        case P_ESIG:
            return "ESIG";
        case P_EREPLAY:
            return "EREPLAY";
        case P_EPERM:
            return "EPERM";
        case P_ECHAIN:
            return "ECHAIN";
        case P_EMETHOD:
            return "EMETHOD";
        case -13:
            return "EBUSY";
        case P_EVERSION:
            return "EVERSION";
        case -22:
            return "EINTERNAL";
        case P_NO_REPLY:
            return "no reply";
        default:
            return "other";
    }
}

/* Records one case: `got` (a code, P_NO_REPLY or -1000 for a broken reply) vs `want`. */
static void s_expect(const char *what, int64_t got, int64_t want, const char *message)
{
    if (got == want) {
        printf("ok    %-44s %s\n", what, s_code_name(got));
        return;
    }
    s_failures++;
    printf("FAIL  %-44s got %s (%" PRId64 ")%s%s, want %s (%" PRId64 ")\n", what, s_code_name(got),
           got, message && *message ? ": " : "", message ? message : "", s_code_name(want), want);
}

/* Sends raw bytes and checks the reply code. */
static void s_case_raw(const char *what, const void *frame, size_t size, int64_t want)
{
    s_reply_t r;
    int rc = s_exchange(frame, size, &r);
    s_expect(what, rc == 0 ? r.code : (rc == P_NO_REPLY ? P_NO_REPLY : -1000), want, r.message);
    s_reply_fini(&r);
}

/* Calls `method` with an encoded params array (NULL for []) and checks the reply code. */
static void s_case_call(const char *what, const char *method, const msgpack_sbuffer *params,
                        int64_t want)
{
    s_reply_t r;
    int rc = s_call_raw(method, params, &r);
    s_expect(what, rc == 0 ? r.code : (rc == P_NO_REPLY ? P_NO_REPLY : -1000), want, r.message);
    s_reply_fini(&r);
}

static void s_case_submit(const char *what, const msgpack_sbuffer *env, const uint8_t *payload,
                          size_t payload_size, int64_t want)
{
    s_reply_t r;
    int rc = s_submit(env, payload, payload_size, &r);
    s_expect(what, rc == 0 ? r.code : (rc == P_NO_REPLY ? P_NO_REPLY : -1000), want, r.message);
    s_reply_fini(&r);
}

/* ---- status ---------------------------------------------------------------------------- */

typedef struct {
    char chain_id[P_CHAIN_ID_MAX];
    uint64_t kind;
    char cert_type[P_CHAIN_ID_MAX];
    uint64_t height;
    uint64_t mempool;
} s_status_t;

static void s_copy_str(char *dst, size_t cap, const msgpack_object *o)
{
    dst[0] = '\0';
    if (o->type == MSGPACK_OBJECT_STR && o->via.str.size < cap) {
        memcpy(dst, o->via.str.ptr, o->via.str.size);
        dst[o->via.str.size] = '\0';
    }
}

/* Calls `status`. Returns 0, or 1 when the node does not answer it properly. */
static int s_status(s_status_t *st)
{
    s_reply_t r;
    memset(st, 0, sizeof *st);
    int rc = s_call_raw("status", NULL, &r);
    if (rc != 0 || r.code != 0 || r.result.type != MSGPACK_OBJECT_ARRAY ||
        r.result.via.array.size != 13) {
        fprintf(stderr, "ec_probe: status failed (%s%s%s)\n",
                rc == P_NO_REPLY ? "no reply" : (rc != 0 ? "bad reply" : s_code_name(r.code)),
                *r.message ? ": " : "", r.message);
        s_reply_fini(&r);
        return 1;
    }
    const msgpack_object *f = r.result.via.array.ptr;
    s_copy_str(st->chain_id, sizeof st->chain_id, &f[0]);
    st->kind = f[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER ? f[1].via.u64 : 0;
    s_copy_str(st->cert_type, sizeof st->cert_type, &f[2]);
    st->height = f[3].type == MSGPACK_OBJECT_POSITIVE_INTEGER ? f[3].via.u64 : 0;
    st->mempool = f[7].type == MSGPACK_OBJECT_POSITIVE_INTEGER ? f[7].via.u64 : 0;
    s_reply_fini(&r);
    return 0;
}

/* ---- the battery ----------------------------------------------------------------------- */

static void s_attack_framing(void)
{
    static const uint8_t garbage[] = {0xc1, 0xc1, 0xc1, 0xc1};
    s_case_raw("garbage bytes (0xc1)", garbage, sizeof garbage, P_EINVAL);
    static const uint8_t truncated[] = {0x94, 0x01, 0xcd};
    s_case_raw("truncated msgpack", truncated, sizeof truncated, P_EINVAL);
    static const uint8_t empty[] = {0};
    s_case_raw("empty frame", empty, 0, P_EINVAL);
    static const uint8_t str[] = {0xa5, 'h', 'e', 'l', 'l', 'o'};
    s_case_raw("a string, not an array", str, sizeof str, P_EINVAL);
    static const uint8_t map[] = {0x81, 0xa1, 'a', 0x01};
    s_case_raw("a map", map, sizeof map, P_EINVAL);
    static const uint8_t three[] = {0x93, 0x01, 0x07, 0xa6, 's', 't', 'a', 't', 'u', 's'};
    s_case_raw("request with 3 fields", three, sizeof three, P_EINVAL);
    static const uint8_t id_str[] = {0x94, 0x01, 0xa1, '7', 0xa6, 's',
                                     't',  'a',  't',  'u', 's',  0x90};
    s_case_raw("req_id is a string", id_str, sizeof id_str, P_EINVAL);
    static const uint8_t method_int[] = {0x94, 0x01, 0x07, 0x2a, 0x90};
    s_case_raw("method is an integer", method_int, sizeof method_int, P_EINVAL);
    static const uint8_t params_str[] = {0x94, 0x01, 0x07, 0xa6, 's',  't',
                                         'a',  't',  'u',  's',  0xa1, 'x'};
    s_case_raw("params is a string", params_str, sizeof params_str, P_EINVAL);
    static const uint8_t wide_id[] = {0x94, 0x01, 0xcd, 0x00, 0x07, 0xa6, 's',
                                      't',  'a',  't',  'u',  's',  0x90};
    s_case_raw("non-canonical uint16 req_id", wide_id, sizeof wide_id, P_EINVAL);
    static const uint8_t str8[] = {0x94, 0x01, 0x07, 0xd9, 0x06, 's',
                                   't',  'a',  't',  'u',  's',  0x90};
    s_case_raw("non-canonical str8 method", str8, sizeof str8, P_EINVAL);
    static const uint8_t trailing[] = {0x94, 0x01, 0x07, 0xa6, 's',  't',
                                       'a',  't',  'u',  's',  0x90, 0x00};
    s_case_raw("trailing byte", trailing, sizeof trailing, P_EINVAL);
    static const uint8_t fl[] = {0x94, 0x01, 0xca, 0x40, 0xe0, 0x00, 0x00, 0xa6,
                                 's',  't',  'a',  't',  'u',  's',  0x90};
    s_case_raw("float req_id", fl, sizeof fl, P_EINVAL);
    static const uint8_t v2[] = {0x94, 0x02, 0x07, 0xa6, 's', 't', 'a', 't', 'u', 's', 0x90};
    s_case_raw("version 2 request", v2, sizeof v2, P_EVERSION);

    /* One byte over the limit, inside an otherwise valid request. */
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    s_request_begin(&pk, 1, "status");
    msgpack_pack_array(&pk, 1);
    size_t head = sb.size + 5; /* bin32 header */
    size_t n = P_MESSAGE_MAX + 1 - head;
    uint8_t *big = calloc(1, n);
    if (big == NULL) {
        abort();
    }
    s_bin(&pk, big, n);
    free(big);
    s_reply_t r;
    int rc = s_exchange(sb.data, sb.size, &r);
    if (rc == P_NO_REPLY) {
        /* A node may also cut such a peer off (ZMQ_MAXMSGSIZE) instead of answering. */
        printf("ok    %-44s no reply (frame dropped by the transport)\n", "frame of 1 MiB + 1");
    } else {
        s_expect("frame of 1 MiB + 1", rc == 0 ? r.code : -1000, P_ETOOBIG, r.message);
    }
    s_reply_fini(&r);
    msgpack_sbuffer_destroy(&sb);
}

static void s_attack_methods(void)
{
    s_case_call("unknown method \"nosuch\"", "nosuch", NULL, P_EMETHOD);

    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    s_str(&pk, "nosuch");
    msgpack_pack_array(&pk, 0);
    s_case_call("query with unknown path", "query", &sb, P_EMETHOD);

    msgpack_sbuffer_clear(&sb);
    msgpack_pack_array(&pk, 1);
    s_str(&pk, "not a hash");
    s_case_call("tx with a string id", "tx", &sb, P_EINVAL);

    msgpack_sbuffer_clear(&sb);
    msgpack_pack_array(&pk, 1);
    uint8_t zero[32] = {0};
    s_bin(&pk, zero, sizeof zero);
    s_case_call("tx that does not exist", "tx", &sb, P_ENOTFOUND);

    msgpack_sbuffer_clear(&sb);
    msgpack_pack_array(&pk, 1);
    s_bin(&pk, zero, 31);
    s_case_call("tx with a 31-byte id", "tx", &sb, P_EINVAL);

    msgpack_sbuffer_clear(&sb);
    msgpack_pack_array(&pk, 1);
    s_str(&pk, "1");
    s_case_call("header with a string height", "header", &sb, P_EINVAL);

    msgpack_sbuffer_clear(&sb);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_uint64(&pk, UINT64_MAX);
    s_case_call("header far past the tip", "header", &sb, P_ENOTFOUND);

    msgpack_sbuffer_clear(&sb);
    msgpack_pack_array(&pk, 1);
    s_bin(&pk, "\x92\x01\x02", 3);
    s_case_call("submit with 1 param", "submit", &sb, P_EINVAL);

    msgpack_sbuffer_clear(&sb);
    msgpack_pack_array(&pk, 2);
    s_bin(&pk, "\xc1\xc1", 2);
    msgpack_pack_nil(&pk);
    s_case_call("submit of garbage tx bytes", "submit", &sb, P_EINVAL);
    msgpack_sbuffer_destroy(&sb);
}

/* Bodies: REGISTER [name]; ORG [code, name]; ISSUE [holder, org, fields_root, expires]. */
static void s_attack_transactions(const s_status_t *st, const char *holder)
{
    s_key_t stranger;
    crypto_sign_keypair(stranger.pk, stranger.sk);
    char name[64];
    uint32_t tag = randombytes_random();
    msgpack_sbuffer body, env;
    msgpack_packer pk;
    msgpack_sbuffer_init(&body);
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);

    const bool is_main = st->kind == 1;
    uint64_t type;
    uint8_t payload[100];
    uint8_t payload_hash[crypto_hash_sha256_BYTES];
    const uint8_t *pl = NULL;
    size_t pl_size = 0;
    if (is_main) {
        snprintf(name, sizeof name, "probe-%08x", (unsigned)tag);
        msgpack_pack_array(&pk, 1);
        s_str(&pk, name);
        type = P_TX_REGISTER;
    } else {
        uint8_t fields_root[32];
        randombytes_buf(fields_root, sizeof fields_root);
        randombytes_buf(payload, sizeof payload);
        crypto_hash_sha256(payload_hash, payload, sizeof payload);
        pl = payload;
        pl_size = sizeof payload;
        msgpack_pack_array(&pk, 4);
        s_str(&pk, holder);
        s_str(&pk, "PROBE-ORG");
        s_bin(&pk, fields_root, sizeof fields_root);
        msgpack_pack_uint64(&pk, 0);
        type = P_TX_ISSUE;
    }
    const uint8_t *ph = pl ? payload_hash : NULL;

    s_tx_build(&env, "ecert-no-such-chain", type, &stranger, ph, &body);
    s_case_submit("tx signed for another chain id", &env, pl, pl_size, P_ECHAIN);
    msgpack_sbuffer_destroy(&env);

    s_tx_build(&env, st->chain_id, type, &stranger, ph, &body);
    env.data[env.size - 1] ^= 0x01; /* last byte of the signature */
    s_case_submit("tx with a corrupted signature", &env, pl, pl_size, P_ESIG);
    msgpack_sbuffer_destroy(&env);

    s_key_t other;
    crypto_sign_keypair(other.pk, other.sk);
    s_tx_build(&env, st->chain_id, type, &stranger, ph, &body);
    /* Re-sign by another key: the signature is valid, but not the sender's. */
    {
        size_t off = 0;
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        if (msgpack_unpack_next(&up, env.data, env.size, &off) == MSGPACK_UNPACK_SUCCESS) {
            const msgpack_object *signed_obj = &up.data.via.array.ptr[0];
            static const char txtag[] = "ecert/tx";
            size_t n = sizeof txtag + signed_obj->via.bin.size;
            uint8_t *msg = malloc(n);
            if (msg == NULL) {
                abort();
            }
            memcpy(msg, txtag, sizeof txtag);
            memcpy(msg + sizeof txtag, signed_obj->via.bin.ptr, signed_obj->via.bin.size);
            crypto_sign_detached((uint8_t *)env.data + env.size - crypto_sign_BYTES, NULL, msg, n,
                                 other.sk);
            free(msg);
        }
        msgpack_unpacked_destroy(&up);
    }
    s_case_submit("tx signed by a key not the sender", &env, pl, pl_size, P_ESIG);
    msgpack_sbuffer_destroy(&env);

    if (is_main) {
        /* A stranger may register itself (REGISTER): accepted once, then a replay. */
        s_tx_build(&env, st->chain_id, type, &stranger, NULL, &body);
        s_case_submit("valid REGISTER from a new key", &env, NULL, 0, P_OK);
        s_case_submit("the same REGISTER again (replay)", &env, NULL, 0, P_EREPLAY);
        msgpack_sbuffer_destroy(&env);

        /* ...but only the operator registers organizations. */
        msgpack_sbuffer_clear(&body);
        msgpack_pack_array(&pk, 3);
        s_str(&pk, "PROBE-ORG");
        s_str(&pk, "not allowed");
        msgpack_pack_uint64(&pk, 0); /* billing: public service */
        s_tx_build(&env, st->chain_id, P_TX_ORG, &stranger, NULL, &body);
        s_case_submit("ORG from a non-operator", &env, NULL, 0, P_EPERM);
        msgpack_sbuffer_destroy(&env);
    } else {
        s_tx_build(&env, st->chain_id, type, &stranger, ph, &body);
        s_case_submit("ISSUE from a key without the role", &env, pl, pl_size, P_EPERM);
        msgpack_sbuffer_destroy(&env);
    }
    msgpack_sbuffer_destroy(&body);
}

static int s_cmd_attack(const char *holder)
{
    s_status_t before, after;
    if (s_status(&before) != 0) {
        return 1;
    }
    if (before.kind == 2 && holder == NULL) {
        fprintf(stderr, "ec_probe: a side chain needs --holder ADDRESS\n");
        return 2;
    }
    printf("probing %s (%s chain) at height %" PRIu64 "\n", before.chain_id,
           before.kind == 1 ? "main" : "side", before.height);
    s_attack_framing();
    s_attack_methods();
    s_attack_transactions(&before, holder);
    if (s_status(&after) != 0) {
        printf("FAIL  the node no longer answers status\n");
        return 1;
    }
    printf("ok    %-44s height %" PRIu64 "\n", "status still served afterwards", after.height);
    if (s_failures) {
        printf("%d check(s) failed\n", s_failures);
        return 1;
    }
    return 0;
}

/* ---- queries --------------------------------------------------------------------------- */

static int s_cmd_status(void)
{
    s_status_t st;
    if (s_status(&st) != 0) {
        return 1;
    }
    printf("chain_id=%s kind=%" PRIu64 " cert_type=%s height=%" PRIu64 " mempool=%" PRIu64 "\n",
           st.chain_id, st.kind, st.cert_type, st.height, st.mempool);
    return 0;
}

/* Runs `query path args` and returns the reply; 0, 1 (failure) or 3 (ENOTFOUND). */
static int s_query(const char *path, const msgpack_sbuffer *args, s_reply_t *r)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    s_str(&pk, path);
    if (args) {
        msgpack_sbuffer_write(&sb, args->data, args->size);
    } else {
        msgpack_pack_array(&pk, 0);
    }
    int rc = s_call_raw("query", &sb, r);
    msgpack_sbuffer_destroy(&sb);
    if (rc != 0) {
        fprintf(stderr, "ec_probe: query %s: %s\n", path, rc == P_NO_REPLY ? "no reply" : "bad");
        return 1;
    }
    if (r->code == P_ENOTFOUND) {
        return 3;
    }
    if (r->code != 0) {
        fprintf(stderr, "ec_probe: query %s: %s: %s\n", path, s_code_name(r->code), r->message);
        return 1;
    }
    return 0;
}

static uint64_t s_u64(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? o->via.u64 : 0;
}

static int s_cmd_sidechains(void)
{
    s_reply_t r;
    int rc = s_query("sidechains", NULL, &r);
    if (rc == 0 && r.result.type != MSGPACK_OBJECT_ARRAY) {
        rc = 1;
    }
    for (uint32_t i = 0; rc == 0 && i < r.result.via.array.size; i++) {
        const msgpack_object *e = &r.result.via.array.ptr[i];
        if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 5) {
            fprintf(stderr, "ec_probe: sidechains: entry %u is not a 5-array\n", i);
            rc = 1;
            break;
        }
        char type[P_CHAIN_ID_MAX], id[P_CHAIN_ID_MAX];
        s_copy_str(type, sizeof type, &e->via.array.ptr[0]);
        s_copy_str(id, sizeof id, &e->via.array.ptr[1]);
        bool frozen =
            e->via.array.ptr[4].type == MSGPACK_OBJECT_BOOLEAN && e->via.array.ptr[4].via.boolean;
        printf("%s %s anchored_height=%" PRIu64 " frozen=%s\n", type, id,
               s_u64(&e->via.array.ptr[3]), frozen ? "true" : "false");
    }
    s_reply_fini(&r);
    return rc;
}

static int s_cmd_anchor_of(const char *chain_id, uint64_t height)
{
    msgpack_sbuffer args;
    msgpack_packer pk;
    msgpack_sbuffer_init(&args);
    msgpack_packer_init(&pk, &args, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    s_str(&pk, chain_id);
    msgpack_pack_uint64(&pk, height);
    s_reply_t r;
    int rc = s_query("anchor_of", &args, &r);
    msgpack_sbuffer_destroy(&args);
    if (rc == 0) {
        if (r.result.type != MSGPACK_OBJECT_ARRAY || r.result.via.array.size != 3) {
            fprintf(stderr, "ec_probe: anchor_of: result is not a 3-array\n");
            rc = 1;
        } else {
            const msgpack_object *f = r.result.via.array.ptr;
            printf("anchored_side_height=%" PRIu64 " main_height=%" PRIu64 " anchor_index=%" PRIu64
                   "\n",
                   s_u64(&f[0]), s_u64(&f[1]), s_u64(&f[2]));
        }
    }
    s_reply_fini(&r);
    return rc;
}

static int s_cmd_tx(const char *hex)
{
    uint8_t id[32];
    size_t n = 0;
    if (sodium_hex2bin(id, sizeof id, hex, strlen(hex), NULL, &n, NULL) != 0 || n != 32) {
        fprintf(stderr, "ec_probe: tx id must be 64 hex digits\n");
        return 2;
    }
    msgpack_sbuffer params;
    msgpack_packer pk;
    msgpack_sbuffer_init(&params);
    msgpack_packer_init(&pk, &params, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 1);
    s_bin(&pk, id, sizeof id);
    s_reply_t r;
    int rc = s_call_raw("tx", &params, &r);
    msgpack_sbuffer_destroy(&params);
    if (rc != 0) {
        fprintf(stderr, "ec_probe: tx: no proper reply\n");
        return 1;
    }
    if (r.code == P_ENOTFOUND) {
        s_reply_fini(&r);
        return 3;
    }
    if (r.code != 0 || r.result.type != MSGPACK_OBJECT_ARRAY || r.result.via.array.size != 7) {
        fprintf(stderr, "ec_probe: tx: %s %s\n", s_code_name(r.code), r.message);
        s_reply_fini(&r);
        return 1;
    }
    printf("height=%" PRIu64 " index=%" PRIu64 "\n", s_u64(&r.result.via.array.ptr[0]),
           s_u64(&r.result.via.array.ptr[1]));
    s_reply_fini(&r);
    return 0;
}

/*
 * `events PUB_ENDPOINT COUNT TIMEOUT_MS`: subscribes to a node's "event" announcements
 * (contract events of stored blocks, docs/PROTOCOL.md) and prints one line per event,
 * "event HEIGHT CONTRACT SEQ FN NAME", until COUNT arrived (exit 0) or TIMEOUT_MS passed
 * (exit 1). Each frame must be [height, name, seq, tx_id: bin32, fn, event, data: bin].
 */
static int s_cmd_events(uint64_t count, uint64_t timeout_ms)
{
    void *sub = zmq_socket(s_zctx, ZMQ_SUB);
    int linger = 0;
    if (!sub || zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "event", 5) != 0 || zmq_connect(sub, s_endpoint) != 0) {
        fprintf(stderr, "ec_probe: cannot subscribe to %s\n", s_endpoint);
        if (sub)
            zmq_close(sub);
        return 1;
    }
    uint64_t seen = 0, waited = 0;
    int rc = 1;
    while (seen < count && waited < timeout_ms) {
        zmq_pollitem_t it = {sub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 100) <= 0) {
            waited += 100;
            continue;
        }
        char topic[16], frame[1 << 16];
        int tn = zmq_recv(sub, topic, sizeof topic, 0);
        int more = 0;
        size_t ms = sizeof more;
        zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &ms);
        if (tn != 5 || !more)
            continue;
        int n = zmq_recv(sub, frame, sizeof frame, 0);
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        const msgpack_object *a = NULL;
        if (n > 0 && n <= (int)sizeof frame &&
            msgpack_unpack_next(&u, frame, (size_t)n, NULL) == MSGPACK_UNPACK_SUCCESS &&
            u.data.type == MSGPACK_OBJECT_ARRAY && u.data.via.array.size == 7)
            a = u.data.via.array.ptr;
        if (!a || a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER || a[1].type != MSGPACK_OBJECT_STR ||
            a[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER || a[3].type != MSGPACK_OBJECT_BIN ||
            a[3].via.bin.size != 32 || a[4].type != MSGPACK_OBJECT_STR ||
            a[5].type != MSGPACK_OBJECT_STR || a[6].type != MSGPACK_OBJECT_BIN) {
            fprintf(stderr, "ec_probe: a malformed event frame\n");
            msgpack_unpacked_destroy(&u);
            break;
        }
        printf("event %" PRIu64 " %.*s %" PRIu64 " %.*s %.*s\n", a[0].via.u64,
               (int)a[1].via.str.size, a[1].via.str.ptr, a[2].via.u64, (int)a[4].via.str.size,
               a[4].via.str.ptr, (int)a[5].via.str.size, a[5].via.str.ptr);
        fflush(stdout);
        msgpack_unpacked_destroy(&u);
        seen++;
    }
    if (seen == count)
        rc = 0;
    zmq_close(sub);
    return rc;
}

/* `header [height]`: the block hash is SHA-256 of the header bytes (PROTOCOL.md). */
static int s_cmd_header(uint64_t height)
{
    msgpack_sbuffer params;
    msgpack_packer pk;
    msgpack_sbuffer_init(&params);
    msgpack_packer_init(&pk, &params, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_uint64(&pk, height);
    s_reply_t r;
    int rc = s_call_raw("header", &params, &r);
    msgpack_sbuffer_destroy(&params);
    if (rc != 0) {
        fprintf(stderr, "ec_probe: header: no proper reply\n");
        return 1;
    }
    if (r.code == P_ENOTFOUND) {
        s_reply_fini(&r);
        return 3;
    }
    if (r.code != 0 || r.result.type != MSGPACK_OBJECT_ARRAY || r.result.via.array.size != 2 ||
        r.result.via.array.ptr[0].type != MSGPACK_OBJECT_BIN) {
        fprintf(stderr, "ec_probe: header: %s %s\n", s_code_name(r.code), r.message);
        s_reply_fini(&r);
        return 1;
    }
    const msgpack_object_bin *h = &r.result.via.array.ptr[0].via.bin;
    uint8_t hash[32];
    char hex[65];
    crypto_hash_sha256(hash, (const uint8_t *)h->ptr, h->size);
    sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
    /* The header is itself msgpack: field 3 is time_ms (PROTOCOL.md, "Header"). */
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    uint64_t time_ms = 0;
    bool ok = msgpack_unpack_next(&u, h->ptr, h->size, NULL) == MSGPACK_UNPACK_SUCCESS &&
              u.data.type == MSGPACK_OBJECT_ARRAY && u.data.via.array.size > 3 &&
              u.data.via.array.ptr[3].type == MSGPACK_OBJECT_POSITIVE_INTEGER;
    if (ok)
        time_ms = u.data.via.array.ptr[3].via.u64;
    msgpack_unpacked_destroy(&u);
    s_reply_fini(&r);
    if (!ok) {
        fprintf(stderr, "ec_probe: header: not a header with a time_ms\n");
        return 1;
    }
    printf("hash=%s time_ms=%" PRIu64 "\n", hex, time_ms);
    return 0;
}

static int s_usage(void)
{
    fprintf(stderr, "usage: ec_probe status|sidechains ENDPOINT\n"
                    "       ec_probe anchor-of ENDPOINT CHAIN_ID SIDE_HEIGHT\n"
                    "       ec_probe tx ENDPOINT TX_HEX\n"
                    "       ec_probe header ENDPOINT HEIGHT\n"
                    "       ec_probe events PUB_ENDPOINT COUNT TIMEOUT_MS\n"
                    "       ec_probe attack ENDPOINT [--holder ADDRESS]\n"
                    "       ec_probe forge-holder PRESENTATION OUT\n");
    return 2;
}

/*
 * `forge-holder IN OUT`: a holder presentation (docs/PROTOCOL.md, cl_present.h: [body,
 * sig], body[2] the holder's key) re-signed by a fresh key put in place of the holder's:
 * a well-formed presentation whose signer is not the certificate's holder.
 */
static int s_cmd_forge_holder(const char *in, const char *out)
{
    FILE *f = fopen(in, "rb");
    if (f == NULL) {
        perror(in);
        return 1;
    }
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    msgpack_unpacked outer, body;
    msgpack_unpacked_init(&outer);
    msgpack_unpacked_init(&body);
    int rc = 1;
    if (msgpack_unpack_next(&outer, buf, n, NULL) == MSGPACK_UNPACK_SUCCESS &&
        outer.data.type == MSGPACK_OBJECT_ARRAY && outer.data.via.array.size == 2 &&
        outer.data.via.array.ptr[0].type == MSGPACK_OBJECT_BIN) {
        const msgpack_object_bin *b = &outer.data.via.array.ptr[0].via.bin;
        char *bytes = malloc(b->size);
        memcpy(bytes, b->ptr, b->size);
        if (msgpack_unpack_next(&body, bytes, b->size, NULL) == MSGPACK_UNPACK_SUCCESS &&
            body.data.type == MSGPACK_OBJECT_ARRAY && body.data.via.array.size == 7 &&
            body.data.via.array.ptr[2].type == MSGPACK_OBJECT_BIN &&
            body.data.via.array.ptr[2].via.bin.size == 32) {
            uint8_t pk[32], sk[64], sig[64];
            crypto_sign_keypair(pk, sk);
            memcpy((char *)body.data.via.array.ptr[2].via.bin.ptr, pk, 32);
            static const char tag[] = "ecert/presentation";
            size_t m = sizeof tag + b->size;
            uint8_t *msg = malloc(m);
            memcpy(msg, tag, sizeof tag);
            memcpy(msg + sizeof tag, bytes, b->size);
            crypto_sign_detached(sig, NULL, msg, m, sk);
            free(msg);
            msgpack_sbuffer sb;
            msgpack_packer pk2;
            msgpack_sbuffer_init(&sb);
            msgpack_packer_init(&pk2, &sb, msgpack_sbuffer_write);
            msgpack_pack_array(&pk2, 2);
            s_bin(&pk2, bytes, b->size);
            s_bin(&pk2, sig, sizeof sig);
            FILE *o = fopen(out, "wb");
            if (o != NULL && fwrite(sb.data, 1, sb.size, o) == sb.size)
                rc = 0;
            if (o != NULL)
                fclose(o);
            msgpack_sbuffer_destroy(&sb);
        }
        free(bytes);
    }
    msgpack_unpacked_destroy(&body);
    msgpack_unpacked_destroy(&outer);
    if (rc != 0)
        fprintf(stderr, "ec_probe: forge-holder: %s is no presentation\n", in);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        return s_usage();
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "ec_probe: libsodium failed to initialise\n");
        return 1;
    }
    if (strcmp(argv[1], "forge-holder") == 0) {
        return argc == 4 ? s_cmd_forge_holder(argv[2], argv[3]) : s_usage();
    }
    s_zctx = zmq_ctx_new();
    if (s_zctx == NULL) {
        return 1;
    }
    s_endpoint = argv[2];
    const char *cmd = argv[1];
    int rc;
    if (strcmp(cmd, "status") == 0 && argc == 3) {
        rc = s_cmd_status();
    } else if (strcmp(cmd, "sidechains") == 0 && argc == 3) {
        rc = s_cmd_sidechains();
    } else if (strcmp(cmd, "anchor-of") == 0 && argc == 5) {
        rc = s_cmd_anchor_of(argv[3], strtoull(argv[4], NULL, 10));
    } else if (strcmp(cmd, "tx") == 0 && argc == 4) {
        rc = s_cmd_tx(argv[3]);
    } else if (strcmp(cmd, "events") == 0 && argc == 5) {
        rc = s_cmd_events(strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10));
    } else if (strcmp(cmd, "header") == 0 && argc == 4) {
        rc = s_cmd_header(strtoull(argv[3], NULL, 10));
    } else if (strcmp(cmd, "attack") == 0 && (argc == 3 || argc == 5)) {
        const char *holder = NULL;
        if (argc == 5) {
            if (strcmp(argv[3], "--holder") != 0) {
                return s_usage();
            }
            holder = argv[4];
        }
        rc = s_cmd_attack(holder);
    } else {
        rc = s_usage();
    }
    zmq_ctx_term(s_zctx);
    return rc;
}
