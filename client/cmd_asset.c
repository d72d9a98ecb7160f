/*
 * cmd_asset.c - data sharing between agencies (docs/SHARING.md): `ecert asset
 * publish|update|withdraw|transfer|accept|show|get|search`, `ecert acl grant|revoke|list`
 * and `ecert access log`.
 *
 * The chain side is two contracts on the share chain: the directory (assets.lua, deployed
 * once as `assets`: `ecert asset init`) and, per asset, its access contract (acl.lua,
 * deployed by `asset publish` as acl-<random> unless the owner names their own). Files go
 * to the owning agency's ODS (`odsd`, protocol in common/ec_ods.h): encrypted here with a
 * fresh content key before they leave the machine, the key sealed to odsd; the chain gets
 * the encrypted file's hash (BLAKE2b-256), its size, the ODS endpoint and the key sealed to the
 * owner. A download first asks the access contract on chain (a signed CONTRACT_CALL of request():
 * granted or refused, recorded either way), then hands that transaction to the ODS, which checks it
 * and answers with the content key sealed to the requester; the file is hashed against the chain's
 * hash and decrypted in bounded memory, and only a complete, intact file is renamed into place.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "cl_commands.h"
#include "cl_contract.h"
#include "ec_contract.h"
#include "ec_ods.h"

#define S_TYPE_DEFAULT "share"
#define S_REGISTRY_DEFAULT "assets"
#define S_ODS_TIMEOUT_MS 30000
#define S_INFLIGHT 2 /* download reads in flight: odsd reads the next while we decrypt */

/* ---- common options -------------------------------------------------------------------- */

typedef struct {
    const char *type;     /* the share chain's certificate type                       */
    const char *registry; /* the directory contract's name                            */
    cl_chain_t *chain;
} s_share_t;

#define S_SHARE_OPTS(sh)                                                                           \
    {"type", CL_ARG_STR, &(sh)->type},                                                             \
    {                                                                                              \
        "registry", CL_ARG_STR, &(sh)->registry                                                    \
    }

static int s_share_connect(cl_ctx_t *ctx, s_share_t *sh)
{
    if (!sh->type)
        sh->type = S_TYPE_DEFAULT;
    if (!sh->registry)
        sh->registry = S_REGISTRY_DEFAULT;
    if (!ec_contract_name_valid(sh->registry))
        return cl_usage(ctx, "--registry must be 1..63 of a-z 0-9 _ -");
    sh->chain = cl_side(ctx, sh->type);
    return sh->chain ? 0 : 1;
}

/* The positional ASSET id (NULL: none given). 0 or 2. */
static int s_asset_arg(cl_ctx_t *ctx, const char *id)
{
    if (!id)
        return cl_missing(ctx, "ASSET (its id: A1, A2, ...)");
    if (strlen(id) > 63)
        return cl_usage(ctx, "ASSET is an id such as A1");
    return 0;
}

/* The directory's record of asset id (with its current version as `current`). */
static int s_asset_get(cl_ctx_t *ctx, s_share_t *sh, const char *id, cl_cvalue_t *out)
{
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 1);
    ec_write_cstr(&a, id);
    int rc = cl_contract_query(ctx, sh->chain, sh->registry, "asset", &a, out);
    ec_writer_fini(&a);
    if (rc == 0 && out->v->type == MSGPACK_OBJECT_NIL) {
        cl_cvalue_fini(out);
        return cl_fail(ctx, EC_ENOTFOUND, "no asset %s in the directory %s on %s", id, sh->registry,
                       sh->chain->chain_id);
    }
    return rc;
}

/* Prints a contract value as one JSON line after `label` and adds it to obj as `field`. */
static void s_show(cl_ctx_t *ctx, const char *label, const msgpack_object *v, json_t *obj,
                   const char *field)
{
    json_t *j = cl_cobject_json(v, 0);
    char *text = j ? cl_json_text(j) : NULL;
    if (label)
        cl_out(ctx, "%s%s\n", label, text ? text : "?");
    cl_json_text_free(text);
    if (obj && j)
        json_object_set_new(obj, field, j);
    else
        json_decref(j);
}

/* ---- the ODS client (common/ec_ods.h) -------------------------------------------------- */

typedef struct {
    void *zctx, *sock;
    char endpoint[EC_ENDPOINT_MAX];
    zmq_msg_t reply; /* the last reply: what s_ods_recv decoded points into it      */
    bool has_reply;
} s_ods_t;

static void s_ods_close(s_ods_t *o)
{
    if (o->has_reply)
        zmq_msg_close(&o->reply);
    if (o->sock)
        zmq_close(o->sock);
    if (o->zctx)
        zmq_ctx_term(o->zctx);
    memset(o, 0, sizeof *o);
}

static int s_ods_open(cl_ctx_t *ctx, const char *endpoint, s_ods_t *o)
{
    memset(o, 0, sizeof *o);
    if (strncmp(endpoint, "tcp://", 6) != 0 && strncmp(endpoint, "ipc://", 6) != 0)
        return cl_fail(ctx, EC_EINVAL, "the ODS endpoint '%s' is not tcp:// or ipc://", endpoint);
    snprintf(o->endpoint, sizeof o->endpoint, "%s", endpoint);
    int linger = 0;
    int64_t max = EC_ODS_MSG_MAX;
    o->zctx = zmq_ctx_new();
    o->sock = o->zctx ? zmq_socket(o->zctx, ZMQ_DEALER) : NULL;
    if (!o->sock || zmq_setsockopt(o->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(o->sock, ZMQ_MAXMSGSIZE, &max, sizeof max) != 0 ||
        zmq_connect(o->sock, endpoint) != 0) {
        s_ods_close(o);
        return cl_fail(ctx, EC_EIO, "cannot connect to the ODS at %s: %s", endpoint,
                       zmq_strerror(zmq_errno()));
    }
    return 0;
}

static int s_ods_send(cl_ctx_t *ctx, s_ods_t *o, const ec_writer_t *w)
{
    if (zmq_send(o->sock, ec_writer_data(w), ec_writer_size(w), 0) < 0)
        return cl_fail(ctx, EC_EIO, "cannot send to the ODS at %s: %s", o->endpoint,
                       zmq_strerror(zmq_errno()));
    return 0;
}

/*
 * Receives one reply into u and checks its kind: *arr points at its fields. An ["err",
 * code, message] reply is recorded as that error. 0, or 1 with the error recorded.
 */
static int s_ods_recv(cl_ctx_t *ctx, s_ods_t *o, msgpack_unpacked *u, const char *want,
                      uint32_t fields, const msgpack_object **arr)
{
    zmq_pollitem_t it = {o->sock, 0, ZMQ_POLLIN, 0};
    uint32_t timeout = ctx->timeout_set ? ctx->timeout_ms : S_ODS_TIMEOUT_MS;
    if (zmq_poll(&it, 1, (long)timeout) <= 0)
        return cl_fail(ctx, EC_ETIMEOUT, "the ODS at %s did not answer within %u ms", o->endpoint,
                       timeout);
    /* The decoded reply points into the message (msgpack-c copies no str or bin): it
     * stays open until the next reply, which is as long as callers use it. */
    if (o->has_reply)
        zmq_msg_close(&o->reply);
    zmq_msg_init(&o->reply);
    o->has_reply = true;
    if (zmq_msg_recv(&o->reply, o->sock, 0) < 0)
        return cl_fail(ctx, EC_EIO, "receiving from the ODS: %s", zmq_strerror(zmq_errno()));
    size_t off = 0;
    int ok = msgpack_unpack_next(u, zmq_msg_data(&o->reply), zmq_msg_size(&o->reply), &off) ==
             MSGPACK_UNPACK_SUCCESS;
    const msgpack_object *d = ok ? &u->data : NULL;
    if (!d || d->type != MSGPACK_OBJECT_ARRAY || d->via.array.size < 1 ||
        d->via.array.ptr[0].type != MSGPACK_OBJECT_STR)
        return cl_fail(ctx, EC_EINVAL, "a garbled reply from the ODS at %s", o->endpoint);
    const msgpack_object *a = d->via.array.ptr;
    const msgpack_object_str *kind = &a[0].via.str;
    if (kind->size == 3 && memcmp(kind->ptr, "err", 3) == 0 && d->via.array.size == 3 &&
        a[2].type == MSGPACK_OBJECT_STR) {
        int code = a[1].type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? (int)a[1].via.i64 : EC_EINVAL;
        return cl_fail(ctx, code, "the ODS refused: %.*s", (int)a[2].via.str.size,
                       a[2].via.str.ptr);
    }
    if (kind->size != strlen(want) || memcmp(kind->ptr, want, kind->size) != 0 ||
        d->via.array.size != fields)
        return cl_fail(ctx, EC_EINVAL, "an unexpected reply from the ODS at %s (%.*s)", o->endpoint,
                       (int)kind->size, kind->ptr);
    *arr = a;
    return 0;
}

/* One request, one reply. */
static int s_ods_call(cl_ctx_t *ctx, s_ods_t *o, const ec_writer_t *req, msgpack_unpacked *u,
                      const char *want, uint32_t fields, const msgpack_object **arr)
{
    int rc = s_ods_send(ctx, o, req);
    return rc ? rc : s_ods_recv(ctx, o, u, want, fields, arr);
}

/* ---- upload ---------------------------------------------------------------------------- */

/* What an upload puts on chain. */
typedef struct {
    uint8_t digest[EC_HASH_BYTES];           /* BLAKE2b-256 of the encrypted file      */
    uint64_t size;                           /* of the plaintext                      */
    uint8_t access[EC_ODS_SEALED_KEY_BYTES]; /* the content key sealed to the owner    */
} s_uploaded_t;

/* Encrypts the file fd (from its start) through stream s, calling sink per ciphertext
 * piece. 0, or 1 with the error recorded. */
typedef int (*s_sink_fn)(void *ctx, const uint8_t *data, size_t size);

static int s_encrypt_file(cl_ctx_t *ctx, int fd, const char *path, ec_ods_stream_t *s,
                          const uint8_t header[EC_ODS_STREAM_HEADER], s_sink_fn sink, void *sctx)
{
    uint8_t *plain = malloc(EC_ODS_PLAIN_CHUNK), *cipher = malloc(EC_ODS_PLAIN_CHUNK + 64);
    int rc = plain && cipher ? 0 : cl_fail(ctx, EC_ENOMEM, "out of memory");
    if (rc == 0 && lseek(fd, 0, SEEK_SET) != 0)
        rc = cl_fail(ctx, EC_EIO, "cannot read %s: %s", path, strerror(errno));
    if (rc == 0)
        rc = sink(sctx, header, EC_ODS_STREAM_HEADER);
    for (bool last = false; rc == 0 && !last;) {
        size_t n = 0;
        while (n < EC_ODS_PLAIN_CHUNK) {
            ssize_t got = read(fd, plain + n, EC_ODS_PLAIN_CHUNK - n);
            if (got < 0 && errno == EINTR)
                continue;
            if (got < 0) {
                rc = cl_fail(ctx, EC_EIO, "cannot read %s: %s", path, strerror(errno));
                break;
            }
            if (got == 0)
                break;
            n += (size_t)got;
        }
        if (rc)
            break;
        last = n < EC_ODS_PLAIN_CHUNK;
        ec_ods_enc_chunk(s, cipher, plain, n, last);
        rc = sink(sctx, cipher, n + EC_ODS_STREAM_ABYTES);
    }
    if (plain)
        sodium_memzero(plain, EC_ODS_PLAIN_CHUNK);
    free(plain);
    free(cipher);
    return rc;
}

static int s_sink_hash(void *vctx, const uint8_t *data, size_t size)
{
    ec_ods_hash_update(vctx, data, size);
    return 0;
}

/* The second pass: ciphertext into chunk requests of up to EC_ODS_CHUNK_MAX bytes. */
typedef struct {
    cl_ctx_t *ctx;
    s_ods_t *ods;
    uint64_t session, sent;
    uint8_t *buf;
    size_t fill;
} s_push_t;

static int s_push_flush(s_push_t *p)
{
    if (p->fill == 0)
        return 0;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 4);
    ec_write_cstr(&w, "chunk");
    ec_write_uint(&w, p->session);
    ec_write_uint(&w, p->sent);
    ec_write_bin(&w, p->buf, p->fill);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    const msgpack_object *a = NULL;
    int rc = s_ods_call(p->ctx, p->ods, &w, &u, "ok", 2, &a);
    ec_writer_fini(&w);
    msgpack_unpacked_destroy(&u);
    p->sent += p->fill;
    p->fill = 0;
    return rc;
}

static int s_sink_push(void *vctx, const uint8_t *data, size_t size)
{
    s_push_t *p = vctx;
    while (size > 0) {
        size_t n = EC_ODS_CHUNK_MAX - p->fill < size ? EC_ODS_CHUNK_MAX - p->fill : size;
        memcpy(p->buf + p->fill, data, n);
        p->fill += n;
        data += n;
        size -= n;
        if (p->fill == EC_ODS_CHUNK_MAX) {
            int rc = s_push_flush(p);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/*
 * Encrypts `path` with a fresh content key and stores it in the ODS at `endpoint`, signed
 * by key (which odsd must list as an uploader). Two passes over the file with the same
 * stream state: the first learns the hash the put declares, the second sends. 0, or 1.
 */
static int s_upload(cl_ctx_t *ctx, const char *endpoint, const char *path, const ec_key_t *key,
                    s_uploaded_t *up)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return cl_fail(ctx, EC_EIO, "cannot read %s: %s", path,
                       fd >= 0 ? "not a regular file" : strerror(e));
    }
    up->size = (uint64_t)sb.st_size;
    uint64_t csize = ec_ods_cipher_size(up->size);
    s_ods_t ods;
    int rc = csize > EC_ODS_FILE_BYTES_MAX
                 ? cl_fail(ctx, EC_ETOOBIG, "%s is too large for an ODS", path)
                 : s_ods_open(ctx, endpoint, &ods);
    if (rc) {
        close(fd);
        return rc;
    }
    uint8_t *ckey = sodium_malloc(EC_ODS_KEY_BYTES);
    ec_ods_stream_t *s0 = sodium_malloc(sizeof *s0), *s = sodium_malloc(sizeof *s);
    uint8_t header[EC_ODS_STREAM_HEADER], ods_pk[EC_PK_BYTES], sealed[EC_ODS_SEALED_KEY_BYTES];
    uint8_t *buf = malloc(EC_ODS_CHUNK_MAX);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    const msgpack_object *a = NULL;
    ec_writer_t w;
    ec_writer_init(&w);
    if (!ckey || !s0 || !s || !buf)
        rc = cl_fail(ctx, EC_ENOMEM, "out of memory");
    if (rc == 0) {
        /* The ODS's key, to seal the content key to. */
        ec_write_array(&w, 1);
        ec_write_cstr(&w, "ping");
        rc = s_ods_call(ctx, &ods, &w, &u, "pong", 2, &a);
        if (rc == 0 && (a[1].type != MSGPACK_OBJECT_BIN || a[1].via.bin.size != EC_PK_BYTES))
            rc = cl_fail(ctx, EC_EINVAL, "the ODS at %s sent no key", endpoint);
        if (rc == 0)
            memcpy(ods_pk, a[1].via.bin.ptr, EC_PK_BYTES);
    }
    if (rc == 0) {
        randombytes_buf(ckey, EC_ODS_KEY_BYTES);
        ec_ods_enc_init(s0, ckey, header);
        memcpy(s, s0, sizeof *s);
        ec_ods_hash_t h;
        ec_ods_hash_init(&h);
        rc = s_encrypt_file(ctx, fd, path, s, header, s_sink_hash, &h);
        ec_ods_hash_final(&h, up->digest);
    }
    if (rc == 0 && (ec_seal(sealed, ckey, EC_ODS_KEY_BYTES, ods_pk) != 0 ||
                    ec_seal(up->access, ckey, EC_ODS_KEY_BYTES, ec_key_pk(key)) != 0))
        rc = cl_fail(ctx, EC_EINVAL, "cannot seal the content key (a bad public key)");
    if (rc == 0) {
        uint64_t now = cl_now_ms();
        ec_writer_t m;
        ec_writer_init(&m);
        ec_ods_put_message(&m, up->digest, csize, sealed, now);
        uint8_t sig[EC_SIG_BYTES];
        ec_sign(sig, ec_writer_data(&m), ec_writer_size(&m), key);
        ec_writer_fini(&m);
        ec_writer_reset(&w);
        ec_write_array(&w, 7);
        ec_write_cstr(&w, "put");
        ec_write_bin(&w, up->digest, EC_HASH_BYTES);
        ec_write_uint(&w, csize);
        ec_write_bin(&w, sealed, sizeof sealed);
        ec_write_uint(&w, now);
        ec_write_bin(&w, ec_key_pk(key), EC_PK_BYTES);
        ec_write_bin(&w, sig, sizeof sig);
        msgpack_unpacked_destroy(&u);
        msgpack_unpacked_init(&u);
        rc = s_ods_call(ctx, &ods, &w, &u, "ok", 2, &a);
    }
    if (rc == 0 && a[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        rc = cl_fail(ctx, EC_EINVAL, "the ODS at %s sent no session", endpoint);
    if (rc == 0) {
        s_push_t p = {.ctx = ctx, .ods = &ods, .session = a[1].via.u64, .buf = buf};
        memcpy(s, s0, sizeof *s); /* the same stream again: the same bytes */
        rc = s_encrypt_file(ctx, fd, path, s, header, s_sink_push, &p);
        if (rc == 0)
            rc = s_push_flush(&p);
        if (rc == 0 && p.sent != csize)
            rc = cl_fail(ctx, EC_EIO, "%s changed while it was being sent", path);
        if (rc == 0) {
            ec_writer_reset(&w);
            ec_write_array(&w, 2);
            ec_write_cstr(&w, "end");
            ec_write_uint(&w, p.session);
            msgpack_unpacked_destroy(&u);
            msgpack_unpacked_init(&u);
            rc = s_ods_call(ctx, &ods, &w, &u, "ok", 2, &a);
        }
    }
    ec_writer_fini(&w);
    msgpack_unpacked_destroy(&u);
    sodium_free(ckey);
    sodium_free(s0);
    sodium_free(s);
    free(buf);
    s_ods_close(&ods);
    close(fd);
    return rc;
}

/* ---- download -------------------------------------------------------------------------- */

typedef struct {
    ec_ods_stream_t *s;
    uint8_t *piece; /* one sealed chunk being assembled (or the header first)       */
    size_t fill, want;
    bool started, ended;
    uint8_t *plain;
    int out;
} s_pull_t;

/* Feeds ciphertext bytes: the header, then each sealed chunk decrypted and written. */
static int s_pull_feed(cl_ctx_t *ctx, s_pull_t *p, const uint8_t *key, const uint8_t *data,
                       size_t size)
{
    while (size > 0) {
        if (p->ended)
            return cl_fail(ctx, EC_ECRYPTO, "data after the end of the encrypted file");
        size_t n = p->want - p->fill < size ? p->want - p->fill : size;
        memcpy(p->piece + p->fill, data, n);
        p->fill += n;
        data += n;
        size -= n;
        if (p->fill < p->want)
            continue;
        if (!p->started) {
            if (ec_ods_dec_init(p->s, key, p->piece) != 0)
                return cl_fail(ctx, EC_ECRYPTO, "the encrypted file's header does not open");
            p->started = true;
        } else {
            bool last = false;
            size_t plain = p->fill - EC_ODS_STREAM_ABYTES;
            if (ec_ods_dec_chunk(p->s, p->plain, p->piece, p->fill, &last) != 0)
                return cl_fail(ctx, EC_ECRYPTO,
                               "a chunk does not decrypt: the file is damaged or not for this key");
            for (size_t done = 0; done < plain;) {
                ssize_t wr = write(p->out, p->plain + done, plain - done);
                if (wr < 0 && errno == EINTR)
                    continue;
                if (wr < 0)
                    return cl_fail(ctx, EC_EIO, "cannot write: %s", strerror(errno));
                done += (size_t)wr;
            }
            p->ended = last;
        }
        p->fill = 0;
        p->want = EC_ODS_PLAIN_CHUNK + EC_ODS_STREAM_ABYTES;
    }
    return 0;
}

/* Ends a pull: a short last chunk is still in the buffer. */
static int s_pull_finish(cl_ctx_t *ctx, s_pull_t *p, const uint8_t *key)
{
    if (!p->ended && p->started && p->fill >= EC_ODS_STREAM_ABYTES) {
        p->want = p->fill; /* the final chunk is the short one */
        size_t n = p->fill;
        p->fill = 0;
        uint8_t *copy = malloc(n);
        if (!copy)
            return cl_fail(ctx, EC_ENOMEM, "out of memory");
        memcpy(copy, p->piece, n);
        int rc = s_pull_feed(ctx, p, key, copy, n);
        free(copy);
        if (rc)
            return rc;
    }
    return p->ended ? 0 : cl_fail(ctx, EC_ECRYPTO, "the encrypted file is truncated");
}

/*
 * A second thread hashes what a download receives while the first decrypts and writes it:
 * both cost about the same (BLAKE2b and XChaCha20-Poly1305 each run about 460 MB/s on one
 * core of the test host). The received chunks are copied into a ring of S_HASH_SLOTS
 * buffers of EC_ODS_CHUNK_MAX bytes (a copy costs a twentieth of hashing it), so memory
 * stays bounded. Without a thread (it could not start) the hashing is done inline.
 */
#define S_HASH_SLOTS 3

typedef struct {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint8_t *buf[S_HASH_SLOTS];
    size_t len[S_HASH_SLOTS];
    unsigned head, count; /* the oldest full slot, and how many are full               */
    bool done, threaded;
    ec_ods_hash_t h;
} s_hasher_t;

static void *s_hasher_main(void *arg)
{
    s_hasher_t *hs = arg;
    pthread_mutex_lock(&hs->mu);
    for (;;) {
        while (hs->count == 0 && !hs->done)
            pthread_cond_wait(&hs->cv, &hs->mu);
        if (hs->count == 0)
            break;
        unsigned i = hs->head;
        pthread_mutex_unlock(&hs->mu);
        ec_ods_hash_update(&hs->h, hs->buf[i], hs->len[i]);
        pthread_mutex_lock(&hs->mu);
        hs->head = (i + 1) % S_HASH_SLOTS;
        hs->count--;
        pthread_cond_broadcast(&hs->cv);
    }
    pthread_mutex_unlock(&hs->mu);
    return NULL;
}

static void s_hasher_start(s_hasher_t *hs)
{
    memset(hs, 0, sizeof *hs);
    ec_ods_hash_init(&hs->h);
    bool bufs = true;
    for (int i = 0; i < S_HASH_SLOTS; i++)
        bufs = (hs->buf[i] = malloc(EC_ODS_CHUNK_MAX)) != NULL && bufs;
    hs->threaded = bufs && pthread_mutex_init(&hs->mu, NULL) == 0;
    if (hs->threaded && pthread_cond_init(&hs->cv, NULL) != 0) {
        pthread_mutex_destroy(&hs->mu);
        hs->threaded = false;
    }
    if (hs->threaded && pthread_create(&hs->thread, NULL, s_hasher_main, hs) != 0) {
        pthread_cond_destroy(&hs->cv);
        pthread_mutex_destroy(&hs->mu);
        hs->threaded = false;
    }
}

static void s_hasher_feed(s_hasher_t *hs, const uint8_t *data, size_t size)
{
    assert(size <= EC_ODS_CHUNK_MAX);
    if (!hs->threaded) {
        ec_ods_hash_update(&hs->h, data, size);
        return;
    }
    pthread_mutex_lock(&hs->mu);
    while (hs->count == S_HASH_SLOTS)
        pthread_cond_wait(&hs->cv, &hs->mu);
    unsigned i = (hs->head + hs->count) % S_HASH_SLOTS;
    pthread_mutex_unlock(&hs->mu);
    memcpy(hs->buf[i], data, size); /* a free slot: the hasher reads only full ones */
    hs->len[i] = size;
    pthread_mutex_lock(&hs->mu);
    hs->count++;
    pthread_cond_broadcast(&hs->cv);
    pthread_mutex_unlock(&hs->mu);
}

/* Waits for the hasher to finish what it was fed and frees it; the hash into out. */
static void s_hasher_finish(s_hasher_t *hs, uint8_t out[EC_HASH_BYTES])
{
    if (hs->threaded) {
        pthread_mutex_lock(&hs->mu);
        hs->done = true;
        pthread_cond_broadcast(&hs->cv);
        pthread_mutex_unlock(&hs->mu);
        pthread_join(hs->thread, NULL);
        pthread_cond_destroy(&hs->cv);
        pthread_mutex_destroy(&hs->mu);
    }
    ec_ods_hash_final(&hs->h, out);
    for (int i = 0; i < S_HASH_SLOTS; i++)
        free(hs->buf[i]);
}

static int s_read_req(cl_ctx_t *ctx, s_ods_t *o, uint64_t session, uint64_t offset)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 3);
    ec_write_cstr(&w, "read");
    ec_write_uint(&w, session);
    ec_write_uint(&w, offset);
    int rc = s_ods_send(ctx, o, &w);
    ec_writer_fini(&w);
    return rc;
}

/*
 * Fetches the file a grant (transaction `grant`) entitles us to from the ODS at endpoint,
 * checks it is the one the chain names (hash, size of the encrypted file), decrypts it
 * with the content key the ODS sealed to `key`, and renames it to `out` only when whole
 * and intact. 0, or 1.
 */
static int s_download(cl_ctx_t *ctx, const char *endpoint, const uint8_t grant[EC_HASH_BYTES],
                      const uint8_t digest[EC_HASH_BYTES], uint64_t plain_size, const ec_key_t *key,
                      const char *out, uint64_t *transfer_ms)
{
    s_ods_t ods;
    int rc = s_ods_open(ctx, endpoint, &ods);
    if (rc)
        return rc;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    const msgpack_object *a = NULL;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 2);
    ec_write_cstr(&w, "get");
    ec_write_bin(&w, grant, EC_HASH_BYTES);
    rc = s_ods_call(ctx, &ods, &w, &u, "meta", 5, &a);
    ec_writer_fini(&w);
    uint64_t size = ec_ods_cipher_size(plain_size), session = 0;
    uint8_t *ckey = sodium_malloc(EC_ODS_KEY_BYTES);
    if (rc == 0 && !ckey)
        rc = cl_fail(ctx, EC_ENOMEM, "out of memory");
    if (rc == 0 &&
        (a[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
         a[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER || a[3].type != MSGPACK_OBJECT_BIN ||
         a[3].via.bin.size != EC_HASH_BYTES || a[4].type != MSGPACK_OBJECT_BIN ||
         a[4].via.bin.size != EC_ODS_SEALED_KEY_BYTES))
        rc = cl_fail(ctx, EC_EINVAL, "a garbled meta reply from the ODS");
    if (rc == 0 && (a[2].via.u64 != size || memcmp(a[3].via.bin.ptr, digest, EC_HASH_BYTES) != 0))
        rc = cl_fail(ctx, EC_EPROOF, "the ODS offers another file than the chain names");
    if (rc == 0 &&
        ec_unseal(ckey, (const uint8_t *)a[4].via.bin.ptr, EC_ODS_SEALED_KEY_BYTES, key) != 0)
        rc = cl_fail(ctx, EC_ECRYPTO, "the content key does not open with this key");
    if (rc == 0)
        session = a[1].via.u64;
    char tmp[EC_PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.part", out);
    s_pull_t p = {.want = EC_ODS_STREAM_HEADER, .out = -1};
    p.s = sodium_malloc(sizeof *p.s);
    p.piece = malloc(EC_ODS_PLAIN_CHUNK + EC_ODS_STREAM_ABYTES);
    p.plain = sodium_malloc(EC_ODS_PLAIN_CHUNK);
    if (rc == 0 && (!p.s || !p.piece || !p.plain))
        rc = cl_fail(ctx, EC_ENOMEM, "out of memory");
    if (rc == 0 && (p.out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        rc = cl_fail(ctx, EC_EIO, "cannot write %s: %s", tmp, strerror(errno));
    s_hasher_t *hs = malloc(sizeof *hs);
    if (!hs) {
        rc = rc ? rc : cl_fail(ctx, EC_ENOMEM, "out of memory");
    } else {
        s_hasher_start(hs);
    }
    uint64_t asked = 0, got = 0, started = cl_now_ms();
    /* Keep S_INFLIGHT reads outstanding: odsd reads and hashes the next chunk while this
     * one is decrypted. */
    for (int i = 0; rc == 0 && i < S_INFLIGHT && asked < size; i++) {
        rc = s_read_req(ctx, &ods, session, asked);
        asked += EC_ODS_CHUNK_MAX;
    }
    while (rc == 0 && got < size) {
        msgpack_unpacked_destroy(&u);
        msgpack_unpacked_init(&u);
        rc = s_ods_recv(ctx, &ods, &u, "data", 3, &a);
        if (rc == 0 && (a[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER || a[1].via.u64 != got ||
                        a[2].type != MSGPACK_OBJECT_BIN || a[2].via.bin.size == 0 ||
                        a[2].via.bin.size > size - got))
            rc = cl_fail(ctx, EC_EINVAL, "a garbled data reply from the ODS at offset %llu",
                         (unsigned long long)got);
        if (rc == 0 && asked < size) {
            rc = s_read_req(ctx, &ods, session, asked);
            asked += EC_ODS_CHUNK_MAX;
        }
        if (rc == 0) {
            const uint8_t *d = (const uint8_t *)a[2].via.bin.ptr;
            size_t n = a[2].via.bin.size;
            s_hasher_feed(hs, d, n);
            rc = s_pull_feed(ctx, &p, ckey, d, n);
            got += n;
        }
    }
    if (rc == 0) {
        /* The ODS's own verdict on what it served. */
        rc = s_read_req(ctx, &ods, session, size);
        msgpack_unpacked_destroy(&u);
        msgpack_unpacked_init(&u);
        rc = rc ? rc : s_ods_recv(ctx, &ods, &u, "done", 2, &a);
        if (rc == 0 && (a[1].type != MSGPACK_OBJECT_BOOLEAN || !a[1].via.boolean))
            rc = cl_fail(ctx, EC_ECRYPTO, "the ODS found its stored copy damaged (tampered?)");
    }
    uint8_t got_digest[EC_HASH_BYTES];
    if (hs) {
        s_hasher_finish(hs, got_digest);
        free(hs);
    }
    if (rc == 0 && memcmp(got_digest, digest, EC_HASH_BYTES) != 0)
        rc = cl_fail(ctx, EC_ECRYPTO, "the file received does not have the chain's hash");
    if (rc == 0)
        rc = s_pull_finish(ctx, &p, ckey);
    *transfer_ms = cl_now_ms() - started; /* the data moved; the grant check came before */
    if (rc == 0 && fsync(p.out) != 0)
        rc = cl_fail(ctx, EC_EIO, "cannot write %s: %s", tmp, strerror(errno));
    if (p.out >= 0)
        close(p.out);
    if (rc == 0 && rename(tmp, out) != 0)
        rc = cl_fail(ctx, EC_EIO, "cannot rename %s to %s: %s", tmp, out, strerror(errno));
    if (rc != 0 && p.out >= 0)
        unlink(tmp);
    if (p.s)
        ec_ods_stream_fini(p.s);
    sodium_free(p.s);
    sodium_free(p.plain);
    free(p.piece);
    sodium_free(ckey);
    msgpack_unpacked_destroy(&u);
    s_ods_close(&ods);
    return rc;
}

/* ---- init, publish, update ------------------------------------------------------------- */

static const char s_help_init[] =
    "usage: ecert --key DEPLOYER asset init --org CODE [--type TYPE] [--registry NAME]\n\n"
    "Deploys the directory of shared data (the assets contract shipped with ecert) on the\n"
    "share chain, once per chain. KEY must hold the deployer role of that chain for CODE.\n\n"
    "Options:\n"
    "  --type TYPE       the share chain (default share)\n"
    "  --registry NAME   the directory's contract name (default assets)\n"
    "\nExample:\n  ecert --key registry.key asset init --org DATA-1\n" CL_GLOBAL_NOTE;

int cmd_asset_init(cl_ctx_t *ctx, int argc, char **argv)
{
    s_share_t sh = {0};
    const char *org = NULL;
    const cl_opt_t opts[] = {S_SHARE_OPTS(&sh), {"org", CL_ARG_STR, &org}, {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_init, NULL);
    if (rc >= 0)
        return rc;
    if (!org)
        return cl_missing(ctx, "--org");
    if (!ctx->key_path)
        return cl_missing(ctx, "--key");
    if ((rc = s_share_connect(ctx, &sh)))
        return rc;
    cl_txres_t res;
    rc = cl_contract_deploy(ctx, sh.chain, false, sh.registry, org, cl_contract_assets,
                            cl_contract_assets_size, &res);
    if (rc)
        return rc;
    cl_out(ctx, "the directory %s is deployed on %s\n", sh.registry, sh.chain->chain_id);
    return cl_emit_txres(
        ctx, json_pack("{s:s,s:s}", "registry", sh.registry, "chain_id", sh.chain->chain_id), &res);
}

static const char s_help_publish[] =
    "usage: ecert --key PUBLISHER asset publish --org CODE --title TEXT\n"
    "             --data-type structured|unstructured [--schema TEXT] [--description TEXT]\n"
    "             [--keyword WORD]... (--file FILE --ods ENDPOINT | --text TEXT)\n"
    "             [--acl CONTRACT] [--type TYPE] [--registry NAME]\n"
    "       ecert --key PUBLISHER asset update ASSET (--file FILE --ods ENDPOINT | --text TEXT)\n"
    "             [--note TEXT]\n\n"
    "publish: makes a dataset a digital asset of organization CODE. The file is encrypted\n"
    "here with a fresh content key and stored in the agency's ODS at ENDPOINT (odsd, which\n"
    "must list KEY as an uploader); the directory on the share chain gets its title, data\n"
    "type, schema, keywords, the encrypted file's BLAKE2b-256 hash and size, the ODS endpoint and "
    "the\n"
    "content key sealed to KEY. --text puts a small public text on chain instead of a file.\n"
    "Access is ruled by CONTRACT, or by a copy of the standard access contract that publish\n"
    "deploys for the asset (acl-<random>): nobody may fetch it until 'ecert acl grant'.\n"
    "KEY must hold the issuer role of the share chain for CODE (and the deployer role, to\n"
    "deploy the access contract).\n"
    "update: a new version of the asset (the old ones stay listed).\n\n"
    "Options:\n"
    "  --org CODE            the owning organization\n"
    "  --title TEXT          up to 200 bytes; --description up to 2000\n"
    "  --data-type T         structured (with --schema: how the data is laid out) or\n"
    "                        unstructured\n"
    "  --keyword WORD        for the directory's search (repeatable, up to 16)\n"
    "  --file FILE           the data (any size: it is streamed)\n"
    "  --ods ENDPOINT        the agency's ODS, e.g. tcp://127.0.0.1:7400\n"
    "  --acl CONTRACT        an access contract of your own, already deployed\n"
    "  --type TYPE           the share chain (default share); --registry NAME (default assets)\n"
    "\nExample:\n  ecert --key health.key asset publish --org HEALTH-1 --title \"Vaccinations "
    "2026\"\n"
    "        --data-type structured --schema \"csv: district,age,count\" --keyword vaccination\n"
    "        --file vacc.csv --ods tcp://127.0.0.1:7400\n" CL_GLOBAL_NOTE;

typedef struct {
    const char *file, *ods, *text, *note;
} s_data_opts_t;

/* Uploads (or takes the text) and writes the version fields into the open map w. */
static int s_version_fields(cl_ctx_t *ctx, const s_data_opts_t *d, const ec_key_t *key,
                            ec_writer_t *w, uint32_t *fields, char hash_hex[65])
{
    hash_hex[0] = '\0';
    if (!d->file != !d->ods)
        return cl_usage(ctx, "--file and --ods go together");
    if (!d->file == !d->text)
        return cl_usage(ctx, "give --file and --ods, or --text");
    s_uploaded_t up;
    memset(&up, 0, sizeof up);
    if (d->file) {
        int rc = s_upload(ctx, d->ods, d->file, key, &up);
        if (rc)
            return rc;
        ec_hex(hash_hex, up.digest, EC_HASH_BYTES);
    } else {
        if (strlen(d->text) == 0 || strlen(d->text) > 4096)
            return cl_usage(ctx, "--text must have 1..4096 bytes");
        up.size = strlen(d->text);
        ec_ods_hash(up.digest, d->text, up.size);
        /* Public text: the access field still names the owner's key, for the format. */
        uint8_t zero[EC_ODS_KEY_BYTES] = {0};
        if (ec_seal(up.access, zero, sizeof zero, ec_key_pk(key)) != 0)
            return cl_fail(ctx, EC_EINVAL, "cannot seal to this key");
    }
    ec_write_cstr(w, "access");
    ec_write_bin(w, up.access, sizeof up.access);
    ec_write_cstr(w, "hash");
    ec_write_bin(w, up.digest, EC_HASH_BYTES);
    ec_write_cstr(w, "size");
    ec_write_uint(w, up.size);
    *fields += 3;
    if (d->ods) {
        ec_write_cstr(w, "ods");
        ec_write_cstr(w, d->ods);
        (*fields)++;
    }
    if (d->text) {
        ec_write_cstr(w, "text");
        ec_write_cstr(w, d->text);
        (*fields)++;
    }
    if (d->note) {
        ec_write_cstr(w, "note");
        ec_write_cstr(w, d->note);
        (*fields)++;
    }
    return 0;
}

/* Patches the count of a map whose header was written as map32 at offset `at`. */
static void s_map32(ec_writer_t *w)
{
    uint8_t h[5] = {0xdf, 0, 0, 0, 0};
    ec_write_raw(w, h, sizeof h);
}

static void s_map32_set(ec_writer_t *w, size_t at, uint32_t n)
{
    uint8_t *d = (uint8_t *)ec_writer_data(w) + at;
    d[1] = (uint8_t)(n >> 24);
    d[2] = (uint8_t)(n >> 16);
    d[3] = (uint8_t)(n >> 8);
    d[4] = (uint8_t)n;
}

#define S_KEYWORDS_MAX 16

typedef struct {
    const char *words[S_KEYWORDS_MAX];
    size_t count;
} s_words_t;

static int s_opt_keyword(cl_ctx_t *ctx, const char *value, void *out)
{
    s_words_t *w = out;
    if (w->count == S_KEYWORDS_MAX)
        return cl_usage(ctx, "at most %d --keyword", S_KEYWORDS_MAX);
    w->words[w->count++] = value;
    return 0;
}

int cmd_asset_publish(cl_ctx_t *ctx, int argc, char **argv)
{
    s_share_t sh = {0};
    s_data_opts_t d = {0};
    s_words_t words = {.count = 0};
    const char *org = NULL, *title = NULL, *desc = NULL, *dtype = NULL, *schema = NULL, *acl = NULL;
    const cl_opt_t opts[] = {S_SHARE_OPTS(&sh),
                             {"org", CL_ARG_STR, &org},
                             {"title", CL_ARG_STR, &title},
                             {"description", CL_ARG_STR, &desc},
                             {"data-type", CL_ARG_STR, &dtype},
                             {"schema", CL_ARG_STR, &schema},
                             {"keyword", CL_ARG_FN, &words, NULL, s_opt_keyword},
                             {"file", CL_ARG_STR, &d.file},
                             {"ods", CL_ARG_STR, &d.ods},
                             {"text", CL_ARG_STR, &d.text},
                             {"acl", CL_ARG_STR, &acl},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_publish, NULL);
    if (rc >= 0)
        return rc;
    if (!org || !title || !dtype)
        return cl_missing(ctx, !org ? "--org" : !title ? "--title" : "--data-type");
    if (strcmp(dtype, "structured") != 0 && strcmp(dtype, "unstructured") != 0)
        return cl_usage(ctx, "--data-type is structured or unstructured");
    if (!strcmp(dtype, "structured") && !schema)
        return cl_missing(ctx, "--schema (structured data)");
    if (acl && !ec_contract_name_valid(acl))
        return cl_usage(ctx, "--acl must be 1..63 of a-z 0-9 _ -");
    if (!ctx->key_path)
        return cl_missing(ctx, "--key");
    if ((rc = s_share_connect(ctx, &sh)))
        return rc;
    ec_key_t *key = cl_key_load(ctx, NULL);
    if (!key)
        return 1;
    /* The access contract first: nothing is published that nobody could rule. */
    char acl_name[EC_CONTRACT_NAME_MAX];
    cl_txres_t res;
    if (acl) {
        snprintf(acl_name, sizeof acl_name, "%s", acl);
    } else {
        uint8_t r[6];
        char hex[13];
        randombytes_buf(r, sizeof r);
        ec_hex(hex, r, sizeof r);
        snprintf(acl_name, sizeof acl_name, "acl-%s", hex);
        rc = cl_contract_deploy(ctx, sh.chain, false, acl_name, org, cl_contract_acl,
                                cl_contract_acl_size, &res);
    }
    ec_writer_t a;
    ec_writer_init(&a);
    char hash_hex[65] = "";
    if (rc == 0) {
        ec_write_array(&a, 1);
        size_t at = ec_writer_size(&a);
        s_map32(&a);
        uint32_t n = 5;
        ec_write_cstr(&a, "acl");
        ec_write_cstr(&a, acl_name);
        ec_write_cstr(&a, "data_type");
        ec_write_cstr(&a, dtype);
        ec_write_cstr(&a, "keywords");
        ec_write_array(&a, (uint32_t)words.count);
        for (size_t i = 0; i < words.count; i++)
            ec_write_cstr(&a, words.words[i]);
        ec_write_cstr(&a, "org");
        ec_write_cstr(&a, org);
        ec_write_cstr(&a, "title");
        ec_write_cstr(&a, title);
        if (desc) {
            ec_write_cstr(&a, "description");
            ec_write_cstr(&a, desc);
            n++;
        }
        if (schema) {
            ec_write_cstr(&a, "schema");
            ec_write_cstr(&a, schema);
            n++;
        }
        rc = s_version_fields(ctx, &d, key, &a, &n, hash_hex);
        s_map32_set(&a, at, n);
    }
    cl_cvalue_t out = {0};
    if (rc == 0)
        rc = cl_contract_call(ctx, sh.chain, sh.registry, "publish", &a, &res, &out);
    char id[64] = "";
    if (rc == 0 && !cl_cv_str(out.v, "id", id, sizeof id))
        rc = cl_garbled(ctx, sh.chain, "publish");
    cl_cvalue_fini(&out);
    if (rc == 0 && !acl) {
        /* The standard access contract guards this asset from now on. */
        ec_writer_reset(&a);
        ec_write_array(&a, 1);
        ec_write_cstr(&a, id);
        cl_txres_t ires;
        rc = cl_contract_call(ctx, sh.chain, acl_name, "init", &a, &ires, &out);
        cl_cvalue_fini(&out);
    }
    ec_writer_fini(&a);
    ec_key_destroy(&key);
    if (rc)
        return rc;
    cl_out(ctx, "published asset %s (version 1) of %s, access ruled by %s%s%s\n", id, org, acl_name,
           hash_hex[0] ? "; blake2b-256 " : "", hash_hex);
    return cl_emit_txres(ctx,
                         json_pack("{s:s,s:i,s:s,s:s,s:s}", "id", id, "version", 1, "org", org,
                                   "acl", acl_name, "hash", hash_hex),
                         &res);
}

int cmd_asset_update(cl_ctx_t *ctx, int argc, char **argv)
{
    s_share_t sh = {0};
    s_data_opts_t d = {0};
    const char *id = NULL;
    const cl_opt_t opts[] = {S_SHARE_OPTS(&sh),
                             {"file", CL_ARG_STR, &d.file},
                             {"ods", CL_ARG_STR, &d.ods},
                             {"text", CL_ARG_STR, &d.text},
                             {"note", CL_ARG_STR, &d.note},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_publish, &id);
    if (rc >= 0)
        return rc;
    if ((rc = s_asset_arg(ctx, id)))
        return rc;
    if (!ctx->key_path)
        return cl_missing(ctx, "--key");
    if ((rc = s_share_connect(ctx, &sh)))
        return rc;
    ec_key_t *key = cl_key_load(ctx, NULL);
    if (!key)
        return 1;
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 2);
    ec_write_cstr(&a, id);
    size_t at = ec_writer_size(&a);
    s_map32(&a);
    uint32_t n = 0;
    char hash_hex[65];
    rc = s_version_fields(ctx, &d, key, &a, &n, hash_hex);
    s_map32_set(&a, at, n);
    cl_txres_t res;
    cl_cvalue_t out = {0};
    if (rc == 0)
        rc = cl_contract_call(ctx, sh.chain, sh.registry, "update", &a, &res, &out);
    uint64_t version = 0;
    if (rc == 0 && !cl_cv_uint(out.v, "version", &version))
        rc = cl_garbled(ctx, sh.chain, "update");
    cl_cvalue_fini(&out);
    ec_writer_fini(&a);
    ec_key_destroy(&key);
    if (rc)
        return rc;
    cl_out(ctx, "asset %s is at version %llu\n", id, (unsigned long long)version);
    return cl_emit_txres(ctx, json_pack("{s:s,s:I}", "id", id, "version", (json_int_t)version),
                         &res);
}

/* ---- withdraw, transfer, accept ------------------------------------------------------- */

static const char s_help_owner[] =
    "usage: ecert --key PUBLISHER asset withdraw ASSET --reason TEXT\n"
    "       ecert --key PUBLISHER asset transfer ASSET --to-org CODE\n"
    "       ecert --key PUBLISHER asset accept ASSET\n"
    "       ecert --key PUBLISHER asset set-acl ASSET --acl CONTRACT\n\n"
    "withdraw: no version of the asset is served any more. transfer: offers the asset to\n"
    "organization CODE; accept: a publisher of CODE takes it (the directory keeps who held\n"
    "it, from which height). set-acl: another access contract rules the asset from now on\n"
    "(after a transfer, the new owner deploys its own: the old one stays its deployer's).\n"
    "KEY must hold the issuer role of the share chain for the owning (for accept: the\n"
    "receiving) organization.\n" CL_GLOBAL_NOTE;

/* Calls fn(ASSET [, value]) of the directory and prints what it answered. */
static int s_owner_call(cl_ctx_t *ctx, int argc, char **argv, const char *fn, const char *opt)
{
    s_share_t sh = {0};
    const char *id = NULL, *value = NULL;
    cl_opt_t opts[] = {S_SHARE_OPTS(&sh), {opt ? opt : "reason", CL_ARG_STR, &value}, {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_owner, &id);
    if (rc >= 0)
        return rc;
    if ((rc = s_asset_arg(ctx, id)))
        return rc;
    if (opt && !value)
        return cl_missing(ctx, opt);
    if (!ctx->key_path)
        return cl_missing(ctx, "--key");
    if ((rc = s_share_connect(ctx, &sh)))
        return rc;
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, opt ? 2 : 1);
    ec_write_cstr(&a, id);
    if (opt)
        ec_write_cstr(&a, value);
    cl_txres_t res;
    cl_cvalue_t out = {0};
    rc = cl_contract_call(ctx, sh.chain, sh.registry, fn, &a, &res, &out);
    ec_writer_fini(&a);
    if (rc)
        return rc;
    json_t *obj = json_pack("{s:s,s:s}", "id", id, "action", fn);
    s_show(ctx, "asset ", out.v, obj, "result");
    cl_cvalue_fini(&out);
    return cl_emit_txres(ctx, obj, &res);
}

int cmd_asset_withdraw(cl_ctx_t *ctx, int argc, char **argv)
{
    return s_owner_call(ctx, argc, argv, "withdraw", "reason");
}

int cmd_asset_transfer(cl_ctx_t *ctx, int argc, char **argv)
{
    return s_owner_call(ctx, argc, argv, "transfer", "to-org");
}

int cmd_asset_accept(cl_ctx_t *ctx, int argc, char **argv)
{
    return s_owner_call(ctx, argc, argv, "accept", NULL);
}

int cmd_asset_set_acl(cl_ctx_t *ctx, int argc, char **argv)
{
    return s_owner_call(ctx, argc, argv, "set_acl", "acl");
}

/* ---- show, search ---------------------------------------------------------------------- */

static const char s_help_show[] =
    "usage: ecert asset show ASSET [--version N] [--type TYPE] [--registry NAME]\n"
    "       ecert [--key ASKER] asset search [--data-type T] [--org CODE] [--keyword WORD]\n"
    "             [--since-ms MS] [--purpose TEXT] [--all]\n\n"
    "show: the asset's directory record (owner, title, data type, schema, keywords, state,\n"
    "access contract, ownership history) and its current version (or version N): size,\n"
    "the encrypted file's BLAKE2b-256 hash, the ODS that serves it.\n"
    "search: the directory's published assets that match (withdrawn ones too with --all),\n"
    "each with its current version; with --key, also whether ASKER may request it now, as\n"
    "its access contract would answer for ASKER's roles and attestation on the main "
    "chain.\n" CL_GLOBAL_NOTE;

int cmd_asset_show(cl_ctx_t *ctx, int argc, char **argv)
{
    s_share_t sh = {0};
    const char *id = NULL;
    uint64_t version = 0;
    const cl_opt_t opts[] = {S_SHARE_OPTS(&sh), {"version", CL_ARG_U64, &version}, {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_show, &id);
    if (rc >= 0)
        return rc;
    if ((rc = s_asset_arg(ctx, id)))
        return rc;
    if ((rc = s_share_connect(ctx, &sh)))
        return rc;
    cl_cvalue_t rec = {0}, ver = {0};
    if ((rc = s_asset_get(ctx, &sh, id, &rec)))
        return rc;
    json_t *obj = json_object();
    s_show(ctx, "asset    ", rec.v, obj, "asset");
    if (version) {
        ec_writer_t a;
        ec_writer_init(&a);
        ec_write_array(&a, 2);
        ec_write_cstr(&a, id);
        ec_write_uint(&a, version);
        rc = cl_contract_query(ctx, sh.chain, sh.registry, "version", &a, &ver);
        ec_writer_fini(&a);
        if (rc == 0 && ver.v->type == MSGPACK_OBJECT_NIL)
            rc = cl_fail(ctx, EC_ENOTFOUND, "asset %s has no version %llu", id,
                         (unsigned long long)version);
        if (rc == 0)
            s_show(ctx, "version  ", ver.v, obj, "version");
        cl_cvalue_fini(&ver);
    }
    cl_cvalue_fini(&rec);
    if (rc) {
        json_decref(obj);
        return rc;
    }
    return cl_emit(ctx, obj);
}

/* Whether the asker may request the asset: its access contract's may() for the asker's
 * main-chain facts. Writes "yes", "no: why" into out. 0, or 1. */
static int s_may(cl_ctx_t *ctx, s_share_t *sh, const char *acl, const cl_account_t *asker,
                 const char *purpose, char *out, size_t cap)
{
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 5);
    ec_write_cstr(&a, asker->address);
    /* Only the roles the share chain mirrors count there: those of its type, and the
     * untyped ones (a certification authority's, a supervisor's). */
    bool counts[EC_ACCOUNT_ROLES_MAX] = {false};
    uint32_t n = 0;
    for (size_t i = 0; i < asker->role_count; i++) {
        uint32_t r = asker->roles[i].role;
        const char *ct = asker->roles[i].cert_type;
        counts[i] = ec_role_name(r) && (ct[0] ? strcmp(ct, sh->type) == 0
                                              : r == EC_ROLE_CA || r == EC_ROLE_SUPERVISOR);
        n += counts[i];
    }
    ec_write_array(&a, n);
    for (size_t i = 0; i < asker->role_count; i++) {
        const char *name = ec_role_name(asker->roles[i].role);
        if (!counts[i])
            continue;
        ec_write_map(&a, 2);
        ec_write_cstr(&a, "org");
        ec_write_cstr(&a, asker->roles[i].org_code);
        ec_write_cstr(&a, "role");
        ec_write_cstr(&a, name);
    }
    ec_write_bool(&a, asker->attested);
    if (purpose)
        ec_write_cstr(&a, purpose);
    else
        ec_write_nil(&a);
    ec_write_uint(&a, cl_now_ms());
    cl_cvalue_t v = {0};
    int rc = cl_contract_query(ctx, sh->chain, acl, "may", &a, &v);
    ec_writer_fini(&a);
    if (rc)
        return rc;
    bool may = false;
    char why[256] = "";
    cl_cv_bool(v.v, "may", &may);
    cl_cv_str(v.v, "why", why, sizeof why);
    snprintf(out, cap, "%s%s%s", may ? "yes" : "no", why[0] ? ": " : "", why);
    cl_cvalue_fini(&v);
    return 0;
}

int cmd_asset_search(cl_ctx_t *ctx, int argc, char **argv)
{
    s_share_t sh = {0};
    const char *dtype = NULL, *org = NULL, *word = NULL, *purpose = NULL;
    uint64_t since = 0;
    bool all = false;
    const cl_opt_t opts[] = {S_SHARE_OPTS(&sh),
                             {"data-type", CL_ARG_STR, &dtype},
                             {"org", CL_ARG_STR, &org},
                             {"keyword", CL_ARG_STR, &word},
                             {"since-ms", CL_ARG_U64, &since},
                             {"purpose", CL_ARG_STR, &purpose},
                             {"all", CL_ARG_FLAG, &all},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_show, NULL);
    if (rc >= 0)
        return rc;
    if ((rc = s_share_connect(ctx, &sh)))
        return rc;
    cl_account_t *asker = NULL;
    if (ctx->key_path) {
        uint8_t pk[EC_PK_BYTES];
        char addr[EC_ADDR_MAX];
        asker = malloc(sizeof *asker);
        if (!asker)
            return cl_fail(ctx, EC_ENOMEM, "out of memory");
        if (cl_key_file_pk(ctx, ctx->key_path, pk) || cl_signer_current(ctx, pk, addr) ||
            cl_account_get(ctx, addr, asker)) {
            free(asker);
            return 1;
        }
    }
    json_t *list = json_array();
    char after[128] = "";
    for (int page = 0; rc == 0 && page < 100; page++) {
        ec_writer_t a;
        ec_writer_init(&a);
        ec_write_array(&a, 1);
        uint32_t n = (dtype != NULL) + (org != NULL) + (word != NULL) + (since != 0) + (!all) +
                     (after[0] != 0);
        ec_write_map(&a, n);
        if (after[0]) {
            ec_write_cstr(&a, "after");
            ec_write_cstr(&a, after);
        }
        if (dtype) {
            ec_write_cstr(&a, "data_type");
            ec_write_cstr(&a, dtype);
        }
        if (word) {
            ec_write_cstr(&a, "keyword");
            ec_write_cstr(&a, word);
        }
        if (org) {
            ec_write_cstr(&a, "org");
            ec_write_cstr(&a, org);
        }
        if (since) {
            ec_write_cstr(&a, "since_ms");
            ec_write_uint(&a, since);
        }
        if (!all) {
            ec_write_cstr(&a, "state");
            ec_write_cstr(&a, "published");
        }
        cl_cvalue_t v = {0};
        rc = cl_contract_query(ctx, sh.chain, sh.registry, "search", &a, &v);
        ec_writer_fini(&a);
        if (rc)
            break;
        const msgpack_object *items = cl_cv_get(v.v, "assets");
        for (uint32_t i = 0;
             rc == 0 && items && items->type == MSGPACK_OBJECT_ARRAY && i < items->via.array.size;
             i++) {
            const msgpack_object *it = &items->via.array.ptr[i];
            char id[64] = "?", title[256] = "", aorg[32] = "", acl[64] = "", may[300] = "";
            uint64_t version = 0;
            cl_cv_str(it, "id", id, sizeof id);
            cl_cv_str(it, "title", title, sizeof title);
            cl_cv_str(it, "org", aorg, sizeof aorg);
            cl_cv_str(it, "acl", acl, sizeof acl);
            cl_cv_uint(it, "version", &version);
            json_t *j = json_object();
            s_show(ctx, NULL, it, j, "asset");
            if (asker && acl[0] && s_may(ctx, &sh, acl, asker, purpose, may, sizeof may) != 0) {
                cl_clear_error(ctx); /* an access contract that does not answer: unknown */
                snprintf(may, sizeof may, "unknown");
            }
            cl_out(ctx, "%-6s v%-3llu %-16s %s%s%s\n", id, (unsigned long long)version, aorg, title,
                   may[0] ? "  | may request: " : "", may);
            if (may[0])
                json_object_set_new(j, "may_request", json_string(may));
            json_array_append_new(list, j);
        }
        bool more = cl_cv_str(v.v, "next", after, sizeof after);
        cl_cvalue_fini(&v);
        if (!more)
            break;
    }
    free(asker);
    if (rc) {
        json_decref(list);
        return rc;
    }
    if (json_array_size(list) == 0)
        cl_out(ctx, "no asset matches\n");
    return cl_emit(ctx, json_pack("{s:o}", "assets", list));
}

/* ---- get -------------------------------------------------------------------------------- */

static const char s_help_get[] =
    "usage: ecert --key REQUESTER asset get ASSET --out FILE [--version N] [--purpose TEXT]\n\n"
    "Requests the asset from its access contract on the share chain (a signed transaction,\n"
    "recorded granted or refused), then, when granted, fetches the file from the owner's\n"
    "ODS, which checks the grant on the chain and hands over the content key sealed to\n"
    "REQUESTER. The file is checked against the chain's hash and decrypted; FILE appears\n"
    "only when complete and intact. A refusal exits 1 with the access contract's reasons.\n"
    "Text carried on chain (--text at publish) is written to FILE directly, after the same\n"
    "request.\n" CL_GLOBAL_NOTE;

int cmd_asset_get(cl_ctx_t *ctx, int argc, char **argv)
{
    s_share_t sh = {0};
    const char *id = NULL, *out = NULL, *purpose = NULL;
    uint64_t version = 0;
    const cl_opt_t opts[] = {S_SHARE_OPTS(&sh),
                             {"out", CL_ARG_STR, &out},
                             {"version", CL_ARG_U64, &version},
                             {"purpose", CL_ARG_STR, &purpose},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_get, &id);
    if (rc >= 0)
        return rc;
    if ((rc = s_asset_arg(ctx, id)))
        return rc;
    if (!out)
        return cl_missing(ctx, "--out");
    if (!ctx->key_path)
        return cl_missing(ctx, "--key");
    if ((rc = s_share_connect(ctx, &sh)))
        return rc;
    cl_cvalue_t rec = {0}, ver = {0}, got = {0};
    if ((rc = s_asset_get(ctx, &sh, id, &rec)))
        return rc;
    char acl[64] = "", state[32] = "";
    uint64_t current = 0;
    cl_cv_str(rec.v, "acl", acl, sizeof acl);
    cl_cv_str(rec.v, "state", state, sizeof state);
    cl_cv_uint(rec.v, "version", &current);
    cl_cvalue_fini(&rec);
    if (!version)
        version = current;
    if (!acl[0] || !current)
        return cl_garbled(ctx, sh.chain, "asset");
    if (!strcmp(state, "withdrawn"))
        return cl_fail(ctx, EC_ENOTFOUND, "asset %s was withdrawn", id);
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 2);
    ec_write_cstr(&a, id);
    ec_write_uint(&a, version);
    rc = cl_contract_query(ctx, sh.chain, sh.registry, "version", &a, &ver);
    if (rc == 0 && ver.v->type == MSGPACK_OBJECT_NIL)
        rc = cl_fail(ctx, EC_ENOTFOUND, "asset %s has no version %llu", id,
                     (unsigned long long)version);
    /* Ask the access contract: granted or refused, it is recorded. */
    cl_txres_t res;
    if (rc == 0) {
        ec_writer_reset(&a);
        ec_write_array(&a, 3);
        ec_write_cstr(&a, id);
        ec_write_uint(&a, version);
        if (purpose)
            ec_write_cstr(&a, purpose);
        else
            ec_write_nil(&a);
        rc = cl_contract_call(ctx, sh.chain, acl, "request", &a, &res, &got);
    }
    ec_writer_fini(&a);
    bool granted = false;
    char why[512] = "";
    if (rc == 0) {
        cl_cv_bool(got.v, "granted", &granted);
        cl_cv_str(got.v, "why", why, sizeof why);
        cl_cvalue_fini(&got);
        if (!granted)
            rc = cl_fail(ctx, EC_EPERM, "access to %s refused by %s (recorded on chain): %s", id,
                         acl, why[0] ? why : "no rule grants it");
    }
    const uint8_t *hash = NULL, *text = NULL;
    size_t hash_size = 0, text_size = 0;
    uint64_t transfer_ms = 0;
    char ods[EC_ENDPOINT_MAX] = "";
    uint64_t size = 0;
    if (rc == 0 && (!cl_cv_bytes(ver.v, "hash", &hash, &hash_size) || hash_size != EC_HASH_BYTES ||
                    !cl_cv_uint(ver.v, "size", &size)))
        rc = cl_garbled(ctx, sh.chain, "version");
    if (rc == 0 && !cl_cv_str(ver.v, "ods", ods, sizeof ods) &&
        !cl_cv_bytes(ver.v, "text", &text, &text_size))
        rc = cl_garbled(ctx, sh.chain, "version");
    if (rc == 0 && text) {
        uint8_t h[EC_HASH_BYTES];
        ec_ods_hash(h, text, text_size);
        rc = memcmp(h, hash, EC_HASH_BYTES) == 0
                 ? cl_write_file(ctx, out, text, text_size)
                 : cl_fail(ctx, EC_ECRYPTO, "the text on chain does not have its hash");
    } else if (rc == 0) {
        ec_key_t *key = cl_key_load(ctx, NULL);
        rc = key ? s_download(ctx, ods, res.id, hash, size, key, out, &transfer_ms) : 1;
        ec_key_destroy(&key);
    }
    cl_cvalue_fini(&ver);
    if (rc)
        return rc;
    char tx[2 * EC_HASH_BYTES + 1];
    ec_hex(tx, res.id, EC_HASH_BYTES);
    cl_out(ctx, "asset %s version %llu: %llu bytes written to %s (access granted by %s, tx %s)\n",
           id, (unsigned long long)version, (unsigned long long)size, out, acl, tx);
    if (!text)
        cl_out(ctx, "transfer: %llu ms, %.0f MB/s\n", (unsigned long long)transfer_ms,
               transfer_ms ? (double)size / 1e3 / (double)transfer_ms : 0.0);
    return cl_emit_txres(ctx,
                         json_pack("{s:s,s:I,s:I,s:s,s:s,s:I}", "id", id, "version",
                                   (json_int_t)version, "size", (json_int_t)size, "out", out, "acl",
                                   acl, "transfer_ms", (json_int_t)transfer_ms),
                         &res);
}

/* ---- acl, access log -------------------------------------------------------------------- */

static const char s_help_acl[] =
    "usage: ecert --key OWNER acl grant ASSET (--address ADDR | --org CODE | --role ROLE)\n"
    "             [--purpose TEXT] [--from-ms MS] [--until-ms MS] [--max N] [--attested]\n"
    "       ecert --key OWNER acl revoke ASSET --rule N\n"
    "       ecert acl list ASSET\n"
    "       ecert access log ASSET [--after N]\n\n"
    "The access rules of an asset, in its access contract (the standard one: acl.lua).\n"
    "grant: a rule that admits a requester named by address, by organization (any role it\n"
    "holds for CODE) or by role (ca, issuer, inspector, supervisor, deployer), optionally\n"
    "only for a purpose, within a time window, up to N granted accesses, and only when the\n"
    "requester's real-name identity is attested. The first rule that holds grants. Only the\n"
    "owner (the contract's deployer) changes the rules. revoke: rule N stops granting.\n"
    "list: the rules. access log: every request, granted or refused, with who, the version,\n"
    "the purpose and when, numbered (100 a call; --after the last number shown for "
    "more).\n" CL_GLOBAL_NOTE;

/* The asset's access contract's name. 0, or 1. */
static int s_acl_of(cl_ctx_t *ctx, s_share_t *sh, const char *id, char acl[64])
{
    cl_cvalue_t rec = {0};
    int rc = s_asset_get(ctx, sh, id, &rec);
    if (rc == 0 && !cl_cv_str(rec.v, "acl", acl, 64))
        rc = cl_garbled(ctx, sh->chain, "asset");
    cl_cvalue_fini(&rec);
    return rc;
}

int cmd_acl_grant(cl_ctx_t *ctx, int argc, char **argv)
{
    s_share_t sh = {0};
    const char *id = NULL, *addr = NULL, *org = NULL, *role = NULL, *purpose = NULL;
    uint64_t from = 0, until = 0, max = 0;
    bool attested = false;
    const cl_opt_t opts[] = {S_SHARE_OPTS(&sh),
                             {"address", CL_ARG_ADDRESS, &addr},
                             {"org", CL_ARG_STR, &org},
                             {"role", CL_ARG_STR, &role},
                             {"purpose", CL_ARG_STR, &purpose},
                             {"from-ms", CL_ARG_U64, &from},
                             {"until-ms", CL_ARG_U64, &until},
                             {"max", CL_ARG_U64, &max},
                             {"attested", CL_ARG_FLAG, &attested},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_acl, &id);
    if (rc >= 0)
        return rc;
    if ((rc = s_asset_arg(ctx, id)))
        return rc;
    if ((addr != NULL) + (org != NULL) + (role != NULL) != 1)
        return cl_usage(ctx, "name exactly one of --address, --org or --role");
    if (role && !ec_role_parse(role))
        return cl_usage(ctx, "--role is one of ca, issuer, inspector, supervisor, deployer");
    if (!ctx->key_path)
        return cl_missing(ctx, "--key");
    char acl[64];
    if ((rc = s_share_connect(ctx, &sh)) || (rc = s_acl_of(ctx, &sh, id, acl)))
        return rc;
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 1);
    uint32_t n = 1 + (purpose != NULL) + (from != 0) + (until != 0) + (max != 0) + attested;
    ec_write_map(&a, n);
    ec_write_cstr(&a, addr ? "address" : org ? "org" : "role");
    ec_write_cstr(&a, addr ? addr : org ? org : role);
    if (attested) {
        ec_write_cstr(&a, "attested");
        ec_write_bool(&a, true);
    }
    if (from) {
        ec_write_cstr(&a, "from_ms");
        ec_write_uint(&a, from);
    }
    if (max) {
        ec_write_cstr(&a, "max");
        ec_write_uint(&a, max);
    }
    if (purpose) {
        ec_write_cstr(&a, "purpose");
        ec_write_cstr(&a, purpose);
    }
    if (until) {
        ec_write_cstr(&a, "until_ms");
        ec_write_uint(&a, until);
    }
    cl_txres_t res;
    cl_cvalue_t out = {0};
    rc = cl_contract_call(ctx, sh.chain, acl, "grant", &a, &res, &out);
    ec_writer_fini(&a);
    if (rc)
        return rc;
    uint64_t rule = out.v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? out.v->via.u64 : 0;
    cl_cvalue_fini(&out);
    cl_out(ctx, "rule %llu of %s (asset %s) grants %s %s\n", (unsigned long long)rule, acl, id,
           addr  ? "address"
           : org ? "org"
                 : "role",
           addr  ? addr
           : org ? org
                 : role);
    return cl_emit_txres(
        ctx, json_pack("{s:s,s:s,s:I}", "id", id, "acl", acl, "rule", (json_int_t)rule), &res);
}

int cmd_acl_revoke(cl_ctx_t *ctx, int argc, char **argv)
{
    s_share_t sh = {0};
    const char *id = NULL;
    uint64_t rule = 0;
    const cl_opt_t opts[] = {S_SHARE_OPTS(&sh), {"rule", CL_ARG_U64, &rule}, {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_acl, &id);
    if (rc >= 0)
        return rc;
    if ((rc = s_asset_arg(ctx, id)))
        return rc;
    if (!rule)
        return cl_missing(ctx, "--rule");
    if (!ctx->key_path)
        return cl_missing(ctx, "--key");
    char acl[64];
    if ((rc = s_share_connect(ctx, &sh)) || (rc = s_acl_of(ctx, &sh, id, acl)))
        return rc;
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 1);
    ec_write_uint(&a, rule);
    cl_txres_t res;
    cl_cvalue_t out = {0};
    rc = cl_contract_call(ctx, sh.chain, acl, "revoke", &a, &res, &out);
    ec_writer_fini(&a);
    cl_cvalue_fini(&out);
    if (rc)
        return rc;
    cl_out(ctx, "rule %llu of %s (asset %s) revoked\n", (unsigned long long)rule, acl, id);
    return cl_emit_txres(
        ctx, json_pack("{s:s,s:s,s:I}", "id", id, "acl", acl, "rule", (json_int_t)rule), &res);
}

/* acl list and access log: a read-only function of the access contract, listed. */
static int s_acl_read(cl_ctx_t *ctx, int argc, char **argv, const char *fn)
{
    s_share_t sh = {0};
    const char *id = NULL;
    uint64_t after = 0;
    bool log = strcmp(fn, "log") == 0;
    /* acl list takes no --after (an access contract has at most 64 rules) */
    const cl_opt_t opts[] = {S_SHARE_OPTS(&sh), {log ? "after" : NULL, CL_ARG_U64, &after}, {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_acl, &id);
    if (rc >= 0)
        return rc;
    if ((rc = s_asset_arg(ctx, id)))
        return rc;
    char acl[64];
    if ((rc = s_share_connect(ctx, &sh)) || (rc = s_acl_of(ctx, &sh, id, acl)))
        return rc;
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, log ? 1 : 0);
    if (log)
        ec_write_uint(&a, after);
    cl_cvalue_t out = {0};
    rc = cl_contract_query(ctx, sh.chain, acl, fn, &a, &out);
    ec_writer_fini(&a);
    if (rc)
        return rc;
    json_t *list = json_array();
    const msgpack_object *v = out.v;
    for (uint32_t i = 0; v->type == MSGPACK_OBJECT_ARRAY && i < v->via.array.size; i++) {
        json_t *j = json_object();
        s_show(ctx, "", &v->via.array.ptr[i], j, "entry");
        json_array_append(list, json_object_get(j, "entry"));
        json_decref(j);
    }
    if (json_array_size(list) == 0)
        cl_out(ctx, "none\n");
    cl_cvalue_fini(&out);
    return cl_emit(ctx, json_pack("{s:s,s:s,s:o}", "id", id, "acl", acl,
                                  strcmp(fn, "log") ? "rules" : "accesses", list));
}

int cmd_acl_list(cl_ctx_t *ctx, int argc, char **argv)
{
    return s_acl_read(ctx, argc, argv, "rules");
}

int cmd_access_log(cl_ctx_t *ctx, int argc, char **argv)
{
    return s_acl_read(ctx, argc, argv, "log");
}

/* ---- watch: subscriptions ---------------------------------------------------------------- */

static const char s_help_watch[] =
    "usage: ecert asset watch [--org CODE] [--count N] [--wait-ms N] [--pub ENDPOINT]\n"
    "                         [--type TYPE] [--registry NAME]\n\n"
    "Subscribes to the share chain's announcements (its PUB socket, topic \"event\") and\n"
    "prints each change of the directory as its block is stored: an asset published, a new\n"
    "version, withdrawn, offered, transferred, its access contract changed. With --org,\n"
    "only that organization's assets. Stops after N changes (--count) or N ms (--wait-ms);\n"
    "else runs until interrupted. The endpoint is the chain's `pub` in the client config,\n"
    "or --pub. A subscriber that reads too slowly misses announcements (PUB drops them):\n"
    "'asset search --since-ms' catches up.\n" CL_GLOBAL_NOTE;

int cmd_asset_watch(cl_ctx_t *ctx, int argc, char **argv)
{
    s_share_t sh = {0};
    const char *org = NULL, *pub = NULL;
    uint64_t count = 0, wait_ms = 0;
    const cl_opt_t opts[] = {S_SHARE_OPTS(&sh),
                             {"org", CL_ARG_STR, &org},
                             {"count", CL_ARG_U64, &count},
                             {"wait-ms", CL_ARG_U64, &wait_ms},
                             {"pub", CL_ARG_STR, &pub},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_watch, NULL);
    if (rc >= 0)
        return rc;
    if (!pub) {
        if ((rc = s_share_connect(ctx, &sh)))
            return rc;
        if (!sh.chain->pub[0])
            return cl_fail(ctx, EC_ECONFIG,
                           "the client config names no pub endpoint for %s: give --pub",
                           sh.chain->chain_id);
        pub = sh.chain->pub;
    }
    if (!sh.registry)
        sh.registry = S_REGISTRY_DEFAULT;
    void *zctx = zmq_ctx_new(), *sub = zctx ? zmq_socket(zctx, ZMQ_SUB) : NULL;
    int linger = 0;
    int64_t max = EC_CONTRACT_VALUE_MAX + 4096;
    if (!sub || zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(sub, ZMQ_MAXMSGSIZE, &max, sizeof max) != 0 ||
        zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "event", 5) != 0 || zmq_connect(sub, pub) != 0) {
        rc = cl_fail(ctx, EC_EIO, "cannot subscribe to %s: %s", pub, zmq_strerror(zmq_errno()));
        goto out;
    }
    uint64_t seen = 0, started = cl_now_ms();
    while (rc == 0 && (count == 0 || seen < count)) {
        uint64_t now = cl_now_ms();
        if (wait_ms && now - started >= wait_ms)
            break;
        zmq_pollitem_t it = {sub, 0, ZMQ_POLLIN, 0};
        long slice = wait_ms ? (long)(wait_ms - (now - started)) : 1000;
        if (zmq_poll(&it, 1, slice > 1000 ? 1000 : slice) <= 0)
            continue;
        /* Two frames: the topic, then [height, contract, seq, tx_id, fn, event, data]. */
        zmq_msg_t topic, frame;
        zmq_msg_init(&topic);
        zmq_msg_init(&frame);
        bool ok = zmq_msg_recv(&topic, sub, 0) >= 0 && zmq_msg_more(&topic) &&
                  zmq_msg_recv(&frame, sub, 0) >= 0;
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        const msgpack_object *a = NULL;
        if (ok &&
            msgpack_unpack_next(&u, zmq_msg_data(&frame), zmq_msg_size(&frame), NULL) ==
                MSGPACK_UNPACK_SUCCESS &&
            u.data.type == MSGPACK_OBJECT_ARRAY && u.data.via.array.size == 7)
            a = u.data.via.array.ptr;
        bool ours = a && a[1].type == MSGPACK_OBJECT_STR && a[5].type == MSGPACK_OBJECT_STR &&
                    a[6].type == MSGPACK_OBJECT_BIN &&
                    a[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                    a[1].via.str.size == strlen(sh.registry) &&
                    memcmp(a[1].via.str.ptr, sh.registry, a[1].via.str.size) == 0;
        json_t *data =
            ours ? cl_cvalue_json((const uint8_t *)a[6].via.bin.ptr, a[6].via.bin.size) : NULL;
        const char *dorg = data ? json_string_value(json_object_get(data, "org")) : NULL;
        if (!dorg && data) /* a transfer names both sides */
            dorg = json_string_value(json_object_get(data, "to"));
        if (data && (!org || (dorg && !strcmp(dorg, org)))) {
            char *text = cl_json_text(data);
            cl_out(ctx, "height %llu  %.*s  %s\n", (unsigned long long)a[0].via.u64,
                   (int)a[5].via.str.size, a[5].via.str.ptr, text ? text : "?");
            cl_json_text_free(text);
            json_t *o = json_pack("{s:I,s:s%,s:O}", "height", (json_int_t)a[0].via.u64, "event",
                                  a[5].via.str.ptr, (size_t)a[5].via.str.size, "data", data);
            cl_emit(ctx, o);
            fflush(stdout);
            seen++;
        }
        json_decref(data);
        msgpack_unpacked_destroy(&u);
        zmq_msg_close(&topic);
        zmq_msg_close(&frame);
    }
    if (rc == 0 && count && seen < count)
        rc = cl_fail(ctx, EC_ETIMEOUT, "%llu of %llu changes seen in %llu ms",
                     (unsigned long long)seen, (unsigned long long)count,
                     (unsigned long long)wait_ms);
out:
    if (sub)
        zmq_close(sub);
    if (zctx)
        zmq_ctx_term(zctx);
    return rc;
}
