/*
 * sc_contract.c - contracts on a side chain (sc_contract.h): their records, code versions,
 * storage, events and call results in the state, and the engine (ec_contract.h) run
 * against them. A refused call writes nothing: every write goes to the pending block
 * after the checks, and the engine's own writes are undone by the transaction's save point
 * when the call fails.
 */
#include "sc_contract.h"

#include <stdlib.h>
#include <string.h>

#include "ec_chain.h"
#include "ec_contract.h"
#include "ec_crypto.h"
#include "ec_ledger.h"
#include "ec_log.h"

#define S_KEY_MAX (2 + EC_CONTRACT_NAME_MAX + EC_CONTRACT_KEY_MAX)
#define S_EVENTS_PAGE 256 /* events one contract_events answer holds at most             */

typedef struct {
    uint8_t owner[EC_PK_BYTES];
    char org_code[EC_ORG_CODE_MAX];
    uint64_t version;
    uint8_t code_hash[EC_HASH_BYTES];
    uint64_t height;
    uint64_t events;
} s_record_t;

/* kind name [0x00 tail] */
static size_t s_key(uint8_t out[S_KEY_MAX], char kind, const char *name, const void *tail,
                    size_t tail_size, bool sep)
{
    size_t n = strlen(name), at = 0;
    out[at++] = (uint8_t)kind;
    memcpy(out + at, name, n);
    at += n;
    if (sep)
        out[at++] = 0;
    if (tail_size)
        memcpy(out + at, tail, tail_size);
    return at + tail_size;
}

static int s_io(ec_status_t *st, int rc)
{
    ec_error("sidechain: contract state read failed: %s", ec_strerror(rc));
    return ec_status_set(st, rc, "reading state: %s", ec_strerror(rc));
}

static void s_record_read(ec_cur_t *c, void *out)
{
    s_record_t *r = out;
    ec_cur_t f;
    ec_cur_enter(c, &f, 6);
    ec_cur_bin_fixed(&f, r->owner, EC_PK_BYTES);
    ec_cur_str_copy(&f, r->org_code, sizeof r->org_code);
    ec_cur_uint(&f, &r->version);
    ec_cur_bin_fixed(&f, r->code_hash, EC_HASH_BYTES);
    ec_cur_uint(&f, &r->height);
    ec_cur_uint(&f, &r->events);
    ec_cur_fold(c, &f);
}

/* Loads contract `name`: 0, EC_ENOTFOUND (st says so), or a local fault. */
static int s_record_load(ec_ledger_t *l, bool pending, const char *name, s_record_t *r,
                         ec_status_t *st)
{
    uint8_t key[S_KEY_MAX], *val = NULL;
    size_t size = 0, ks = s_key(key, 'X', name, NULL, 0, false);
    int rc = pending ? ec_state_get(l, key, ks, &val, &size)
                     : ec_ledger_get(l, EC_CF_STATE, key, ks, &val, &size);
    if (rc == EC_ENOTFOUND)
        return ec_status_set(st, EC_ENOTFOUND, "no contract named %s", name);
    if (rc != 0)
        return s_io(st, rc);
    rc = ec_decode_read(r, sizeof *r, val, size, s_record_read);
    free(val);
    if (rc != 0) {
        ec_error("sidechain: stored contract %s does not decode", name);
        return ec_status_set(st, EC_EINTERNAL, "stored contract %s is corrupt", name);
    }
    return 0;
}

static void s_record_store(ec_ledger_t *l, const char *name, const s_record_t *r)
{
    uint8_t key[S_KEY_MAX];
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 6);
    ec_write_bin(&w, r->owner, EC_PK_BYTES);
    ec_write_cstr(&w, r->org_code);
    ec_write_uint(&w, r->version);
    ec_write_bin(&w, r->code_hash, EC_HASH_BYTES);
    ec_write_uint(&w, r->height);
    ec_write_uint(&w, r->events);
    ec_state_put(l, key, s_key(key, 'X', name, NULL, 0, false), ec_writer_data(&w),
                 ec_writer_size(&w));
    ec_writer_fini(&w);
}

static size_t s_code_key(uint8_t out[S_KEY_MAX], const char *name, uint64_t version)
{
    uint8_t v[4];
    v[0] = (uint8_t)(version >> 24);
    v[1] = (uint8_t)(version >> 16);
    v[2] = (uint8_t)(version >> 8);
    v[3] = (uint8_t)version;
    return s_key(out, 'Y', name, v, 4, true);
}

int sc_contract_deploy(ec_block_ctx_t *ctx, const ec_tx_t *tx, const ec_contract_deploy_body_t *b,
                       ec_status_t *st)
{
    ec_ledger_t *l = ctx->ledger;
    bool upgrade = tx->type == EC_STX_CONTRACT_UPGRADE;
    s_record_t r;
    memset(&r, 0, sizeof r);
    ec_status_t nf;
    int rc = s_record_load(l, true, b->name, &r, &nf);
    if (rc != 0 && rc != EC_ENOTFOUND)
        return ec_status_set(st, rc, "%s", nf.msg);
    if (!upgrade && rc == 0)
        return ec_status_set(st, EC_EEXIST, "a contract named %s exists (upgrade it)", b->name);
    if (upgrade && rc == EC_ENOTFOUND)
        return ec_status_set(st, EC_ENOTFOUND, "no contract named %s to upgrade", b->name);
    if (upgrade && memcmp(r.owner, tx->sender, EC_PK_BYTES) != 0) {
        char owner[EC_ADDR_MAX];
        ec_address_from_pk(owner, r.owner);
        return ec_status_set(st, EC_EPERM, "only the owner of %s (%s) upgrades it", b->name, owner);
    }
    if (upgrade && strcmp(r.org_code, b->org_code) != 0)
        return ec_status_set(st, EC_EINVAL, "contract %s belongs to org %s, not %s", b->name,
                             r.org_code, b->org_code);
    rc = ec_contract_check(b->code, b->code_size, st);
    if (rc != 0)
        return rc; /* the code's own fault (or a local one) */
    if (!upgrade) {
        memcpy(r.owner, tx->sender, EC_PK_BYTES);
        snprintf(r.org_code, sizeof r.org_code, "%s", b->org_code);
        r.events = 0;
    }
    r.version++;
    r.height = ctx->height;
    ec_sha256(r.code_hash, b->code, b->code_size);
    uint8_t key[S_KEY_MAX];
    ec_state_put(l, key, s_code_key(key, b->name, r.version), b->code, b->code_size);
    s_record_store(l, b->name, &r);
    return 0;
}

/* ---- the engine's host over the ledger ----------------------------------------------------- */

typedef struct {
    ec_ledger_t *l;
    bool pending; /* a call in a block (writes allowed) or a query (committed, read-only) */
    const char *name;
    const char *fn;
    s_record_t *record; /* events counted here (calls only)                               */
    uint64_t height;
} s_host_t;

static int s_host_get(void *vctx, const uint8_t *key, size_t ks, uint8_t **val, size_t *vs)
{
    s_host_t *h = vctx;
    uint8_t k[S_KEY_MAX];
    size_t n = s_key(k, 'Z', h->name, key, ks, true);
    return h->pending ? ec_state_get(h->l, k, n, val, vs)
                      : ec_ledger_get(h->l, EC_CF_STATE, k, n, val, vs);
}

static int s_host_put(void *vctx, const uint8_t *key, size_t ks, const uint8_t *val, size_t vs)
{
    s_host_t *h = vctx;
    if (!h->pending)
        return EC_ESTATE;
    uint8_t k[S_KEY_MAX];
    ec_state_put(h->l, k, s_key(k, 'Z', h->name, key, ks, true), val, vs);
    return 0;
}

static int s_host_del(void *vctx, const uint8_t *key, size_t ks)
{
    s_host_t *h = vctx;
    if (!h->pending)
        return EC_ESTATE;
    uint8_t k[S_KEY_MAX];
    ec_state_del(h->l, k, s_key(k, 'Z', h->name, key, ks, true));
    return 0;
}

static int s_host_emit(void *vctx, const char *event, const uint8_t *data, size_t size)
{
    s_host_t *h = vctx;
    if (!h->pending)
        return EC_ESTATE;
    uint8_t k[S_KEY_MAX], seq[8];
    ec_be64_put(seq, h->record->events++);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 4);
    ec_write_uint(&w, h->height);
    ec_write_cstr(&w, h->fn);
    ec_write_cstr(&w, event);
    ec_write_bin(&w, data, size);
    ec_state_put(h->l, k, s_key(k, 'E', h->name, seq, 8, true), ec_writer_data(&w),
                 ec_writer_size(&w));
    ec_writer_fini(&w);
    return 0;
}

/* Runs fn of contract `name` (its newest version) against the host. */
static int s_run(ec_ledger_t *l, bool pending, const char *name, const char *fn,
                 const uint8_t *args, size_t args_size, const char *caller, uint64_t height,
                 uint64_t time_ms, s_record_t *r, ec_writer_t *result, ec_status_t *st)
{
    int rc = s_record_load(l, pending, name, r, st);
    if (rc != 0)
        return rc;
    if (ec_contract_value_check(args, args_size) != 0)
        return ec_status_set(st, EC_EINVAL, "the arguments are not one contract-msgpack array");
    uint8_t key[S_KEY_MAX], *code = NULL;
    size_t code_size = 0, ks = s_code_key(key, name, r->version);
    rc = pending ? ec_state_get(l, key, ks, &code, &code_size)
                 : ec_ledger_get(l, EC_CF_STATE, key, ks, &code, &code_size);
    if (rc != 0)
        return rc == EC_ENOTFOUND
                   ? ec_status_set(st, EC_EINTERNAL, "contract %s lost its code", name)
                   : s_io(st, rc);
    s_host_t h = {
        .l = l, .pending = pending, .name = name, .fn = fn, .record = r, .height = height};
    ec_contract_host_t host = {.ctx = &h,
                               .get = s_host_get,
                               .put = s_host_put,
                               .del = s_host_del,
                               .emit = s_host_emit,
                               .caller = caller,
                               .height = height,
                               .time_ms = time_ms};
    rc = ec_contract_call(code, code_size, fn, args, args_size, &host, NULL, result, NULL, st);
    free(code);
    if (rc == EC_ESTATE && !pending)
        return ec_status_set(st, EC_ESTATE, "%s.%s tried to write: a query only reads", name, fn);
    return rc;
}

int sc_contract_call(ec_block_ctx_t *ctx, const ec_tx_t *tx, const ec_contract_call_body_t *b,
                     ec_status_t *st)
{
    char caller[EC_ADDR_MAX];
    ec_address_from_pk(caller, tx->sender);
    s_record_t r;
    ec_writer_t result;
    ec_writer_init(&result);
    int rc = s_run(ctx->ledger, true, b->name, b->fn, b->args, b->args_size, caller, ctx->height,
                   ctx->time_ms, &r, &result, st);
    if (rc == 0) {
        s_record_store(ctx->ledger, b->name, &r); /* its events count */
        ec_writer_t w;
        ec_writer_init(&w);
        ec_write_array(&w, 3);
        ec_write_cstr(&w, b->name);
        ec_write_cstr(&w, b->fn);
        ec_write_bin(&w, ec_writer_data(&result), ec_writer_size(&result));
        uint8_t key[1 + EC_HASH_BYTES];
        key[0] = 'W';
        memcpy(key + 1, tx->id, EC_HASH_BYTES);
        ec_state_put(ctx->ledger, key, sizeof key, ec_writer_data(&w), ec_writer_size(&w));
        ec_writer_fini(&w);
    }
    ec_writer_fini(&result);
    return rc;
}

/* ---- queries ---------------------------------------------------------------------------- */

static int s_bad(ec_status_t *st, const char *path, const char *shape)
{
    return ec_status_set(st, EC_EINVAL, "%s takes %s", path, shape);
}

static int s_name_arg(ec_cur_t *c, char name[EC_CONTRACT_NAME_MAX])
{
    ec_cur_str_copy(c, name, EC_CONTRACT_NAME_MAX);
    if (!c->err && !ec_contract_name_valid(name))
        ec_cur_fail(c, EC_EINVAL);
    return c->err;
}

typedef struct {
    ec_writer_t *items;
    uint32_t count;
    size_t prefix;
} s_events_t;

static int s_event_fn(void *vctx, const uint8_t *key, size_t ks, const uint8_t *val, size_t vs)
{
    s_events_t *e = vctx;
    if (ks != e->prefix + 8)
        return EC_EINTERNAL;
    uint64_t seq = 0;
    for (int i = 0; i < 8; i++)
        seq = seq << 8 | key[e->prefix + (size_t)i];
    ec_write_array(e->items, 2);
    ec_write_uint(e->items, seq);
    ec_write_raw(e->items, val, vs);
    e->count++;
    return 0;
}

int sc_contract_query(ec_ledger_t *l, const char *path, const msgpack_object *args,
                      ec_writer_t *out, ec_status_t *st)
{
    char name[EC_CONTRACT_NAME_MAX];
    ec_cur_t c;
    if (strcmp(path, "contract") == 0) {
        ec_cur_open(&c, args, 1);
        if (s_name_arg(&c, name) || ec_cur_finish(&c))
            return s_bad(st, path, "[name: str]");
        s_record_t r;
        int rc = s_record_load(l, false, name, &r, st);
        uint8_t key[S_KEY_MAX], *code = NULL;
        size_t code_size = 0;
        if (rc == 0 && (rc = ec_ledger_get(l, EC_CF_STATE, key, s_code_key(key, name, r.version),
                                           &code, &code_size)) != 0)
            rc = s_io(st, rc);
        if (rc != 0)
            return rc;
        ec_write_array(out, 8);
        ec_write_cstr(out, name);
        ec_write_bin(out, r.owner, EC_PK_BYTES);
        ec_write_cstr(out, r.org_code);
        ec_write_uint(out, r.version);
        ec_write_bin(out, r.code_hash, EC_HASH_BYTES);
        ec_write_uint(out, r.height);
        ec_write_uint(out, r.events);
        ec_write_bin(out, code, code_size);
        free(code);
        return 0;
    }
    if (strcmp(path, "contract_query") == 0) {
        char fn[EC_CONTRACT_NAME_MAX];
        const uint8_t *a = NULL;
        size_t as = 0;
        ec_cur_open(&c, args, 3);
        s_name_arg(&c, name);
        ec_cur_str_copy(&c, fn, sizeof fn);
        ec_cur_bin(&c, &a, &as, EC_CONTRACT_ARGS_TX_MAX);
        if (ec_cur_finish(&c) || !fn[0])
            return s_bad(st, path, "[name: str, fn: str, args: bin]");
        s_record_t r;
        ec_writer_t result;
        ec_writer_init(&result);
        int rc = s_run(l, false, name, fn, a, as, "", 0, 0, &r, &result, st);
        if (rc == 0)
            ec_write_bin(out, ec_writer_data(&result), ec_writer_size(&result));
        ec_writer_fini(&result);
        return rc;
    }
    if (strcmp(path, "contract_events") == 0) {
        uint64_t from = 0;
        ec_cur_open(&c, args, 2);
        s_name_arg(&c, name);
        ec_cur_uint(&c, &from);
        if (ec_cur_finish(&c))
            return s_bad(st, path, "[name: str, from: uint]");
        uint8_t prefix[S_KEY_MAX], start[S_KEY_MAX], seq[8];
        size_t ps = s_key(prefix, 'E', name, NULL, 0, true);
        ec_be64_put(seq, from);
        size_t ss = s_key(start, 'E', name, seq, 8, true);
        ec_writer_t items;
        ec_writer_init(&items);
        s_events_t e = {.items = &items, .prefix = ps};
        int rc =
            ec_ledger_scan(l, EC_CF_STATE, prefix, ps, start, ss, S_EVENTS_PAGE, s_event_fn, &e);
        if (rc < 0)
            rc = rc == EC_EINTERNAL ? ec_status_set(st, rc, "stored event key is corrupt")
                                    : s_io(st, rc);
        else {
            rc = 0;
            ec_write_array(out, e.count);
            ec_write_raw(out, ec_writer_data(&items), ec_writer_size(&items));
        }
        ec_writer_fini(&items);
        return rc;
    }
    if (strcmp(path, "contract_result") == 0) {
        uint8_t key[1 + EC_HASH_BYTES], *val = NULL;
        size_t size = 0;
        key[0] = 'W';
        ec_cur_open(&c, args, 1);
        ec_cur_bin_fixed(&c, key + 1, EC_HASH_BYTES);
        if (ec_cur_finish(&c))
            return s_bad(st, path, "[tx_id: bin32]");
        int rc = ec_ledger_get(l, EC_CF_STATE, key, sizeof key, &val, &size);
        if (rc == EC_ENOTFOUND)
            return ec_status_set(st, EC_ENOTFOUND, "no applied contract call with that id");
        if (rc != 0)
            return s_io(st, rc);
        ec_write_raw(out, val, size);
        free(val);
        return 0;
    }
    return 1;
}
