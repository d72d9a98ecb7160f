/*
 * ec_cstate.c - contracts in a chain's state (ec_cstate.h): their records, code versions,
 * storage, events and call results in the state, and the engine (ec_contract.h) run
 * against them. A refused call writes nothing: every write goes to the pending block
 * after the checks, and the engine's own writes are undone by the transaction's save point
 * when the call fails.
 */
#include "ec_cstate.h"

#include <stdlib.h>
#include <string.h>

#include "ec_chain.h"
#include "ec_contract.h"
#include "ec_crypto.h"
#include "ec_ledger.h"
#include "ec_log.h"

#define S_KEY_MAX (2 + EC_CONTRACT_NAME_MAX + EC_CONTRACT_KEY_MAX)
#define S_EVENTS_PAGE 256       /* events one contract_events answer holds at most             */
#define S_BLOCK_EVENTS_MAX 4096 /* events one block_events answer holds at most        */
#define S_DECISIONS_PAGE 64     /* decisions one answer holds at most                  */
#define S_EV_PREFIX "ct/ev/"
#define S_EV_KEY_MAX (6 + 8 + EC_CONTRACT_NAME_MAX + 8)

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
    ec_error("contracts: contract state read failed: %s", ec_strerror(rc));
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
        ec_error("contracts: stored contract %s does not decode", name);
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

int ec_cstate_deploy(ec_block_ctx_t *ctx, const ec_tx_t *tx, const ec_contract_deploy_body_t *b,
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
    const uint8_t *tx_id;  /* the transaction (calls only)                                */
    const uint8_t *caller; /* its identity key (NULL in a query: no caller)               */
    const ec_cfacts_t *facts;
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

/* META key of an event of this block: "ct/ev/" be64(height) name 0x00 be64(seq). */
static size_t s_event_meta_key(uint8_t *out, uint64_t height, const char *name, uint64_t seq)
{
    size_t n = strlen(S_EV_PREFIX), len = strlen(name);
    memcpy(out, S_EV_PREFIX, n);
    ec_be64_put(out + n, height);
    n += 8;
    memcpy(out + n, name, len);
    n += len;
    out[n++] = 0;
    ec_be64_put(out + n, seq);
    return n + 8;
}

static int s_host_emit(void *vctx, const char *event, const uint8_t *data, size_t size)
{
    s_host_t *h = vctx;
    if (!h->pending)
        return EC_ESTATE;
    uint64_t seq = h->record->events++;
    uint8_t k[S_KEY_MAX], be[8];
    ec_be64_put(be, seq);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 4);
    ec_write_uint(&w, h->height);
    ec_write_cstr(&w, h->fn);
    ec_write_cstr(&w, event);
    ec_write_bin(&w, data, size);
    ec_state_put(h->l, k, s_key(k, 'E', h->name, be, 8, true), ec_writer_data(&w),
                 ec_writer_size(&w));
    /* The block's results: the same event, keyed by height (not state; rolled back with
     * the transaction like any pending write). */
    ec_writer_reset(&w);
    ec_write_array(&w, 4);
    ec_write_bin(&w, h->tx_id, EC_HASH_BYTES);
    ec_write_cstr(&w, h->fn);
    ec_write_cstr(&w, event);
    ec_write_bin(&w, data, size);
    uint8_t mk[S_EV_KEY_MAX];
    ec_ledger_put(h->l, EC_CF_META, mk, s_event_meta_key(mk, h->height, h->name, seq),
                  ec_writer_data(&w), ec_writer_size(&w));
    ec_writer_fini(&w);
    return 0;
}

/* storage.range: one {key, value} map per entry, gathered first and counted after. */
typedef struct {
    ec_writer_t items;
    uint32_t count, limit;
    size_t skip;          /* the 'Z' name 0x00 prefix each key starts with         */
    const uint8_t *after; /* a committed scan starts at it: skipped                 */
    size_t after_size;
} s_range_t;

static int s_range_fn(void *vctx, const uint8_t *key, size_t ks, const uint8_t *val, size_t vs)
{
    s_range_t *r = vctx;
    if (r->after_size == ks && memcmp(key, r->after, ks) == 0)
        return 0;
    ec_write_map(&r->items, 2);
    ec_write_cstr(&r->items, "key");
    ec_contract_write_string(&r->items, key + r->skip, ks - r->skip);
    ec_write_cstr(&r->items, "value");
    ec_write_raw(&r->items, val, vs);
    return ++r->count == r->limit; /* 1 stops the scan (a committed one has no limit) */
}

static int s_host_range(void *vctx, const uint8_t *prefix, size_t ps, const uint8_t *after,
                        size_t as, uint32_t limit, ec_writer_t *out, uint64_t *cost)
{
    s_host_t *h = vctx;
    uint8_t p[S_KEY_MAX], a[S_KEY_MAX];
    size_t pn = s_key(p, 'Z', h->name, prefix, ps, true), an = 0;
    if (as)
        an = s_key(a, 'Z', h->name, after, as, true);
    s_range_t r = {.limit = limit, .skip = strlen(h->name) + 2, .after = a, .after_size = an};
    ec_writer_init(&r.items);
    int rc = h->pending
                 ? ec_ledger_scan_pending(h->l, EC_CF_STATE, p, pn, a, an, limit, s_range_fn, &r)
                 : ec_ledger_scan(h->l, EC_CF_STATE, p, pn, an ? a : NULL, an, 0, s_range_fn, &r);
    if (rc == 1)
        rc = 0;
    /* The work: every pending write looked at, and each entry handed over. */
    *cost = (h->pending ? ec_ledger_pending_count(h->l) : 0) + 100u * r.count;
    if (rc == 0) {
        ec_write_array(out, r.count);
        ec_write_raw(out, ec_writer_data(&r.items), ec_writer_size(&r.items));
    }
    ec_writer_fini(&r.items);
    return rc;
}
static int s_host_roles(void *vctx, ec_writer_t *out)
{
    s_host_t *h = vctx;
    if (!h->caller) {
        ec_write_array(out, 0);
        return 0;
    }
    return h->facts->roles(h->facts->app, h->l, h->pending, h->caller, out);
}

static int s_host_has_role(void *vctx, const char *role, const char *org)
{
    s_host_t *h = vctx;
    uint32_t r = ec_role_parse(role);
    if (r == 0)
        return EC_EINVAL;
    if (!h->caller)
        return 0;
    return h->facts->has_role(h->facts->app, h->l, h->pending, h->caller, r, org);
}

static int s_host_attested(void *vctx)
{
    s_host_t *h = vctx;
    return h->caller ? h->facts->attested(h->facts->app, h->l, h->pending, h->caller) : 0;
}

/* The decision counter and records ('D'). */
static size_t s_decision_key(uint8_t out[S_KEY_MAX], const char *name, uint64_t id)
{
    uint8_t be[8];
    ec_be64_put(be, id);
    return s_key(out, 'D', name, be, 8, true);
}

typedef struct {
    uint64_t height;
    uint8_t tx_id[EC_HASH_BYTES];
    char fn[EC_CONTRACT_NAME_MAX];
    uint64_t role;
    char org[EC_ORG_CODE_MAX];
    uint8_t request[EC_CONTRACT_VALUE_MAX];
    size_t request_size;
    uint64_t decided_height; /* 0 while pending                                        */
    uint8_t decider[EC_PK_BYTES];
    uint8_t decide_tx[EC_HASH_BYTES];
    uint8_t decision[EC_CONTRACT_ARGS_TX_MAX];
    size_t decision_size;
} s_decision_t;

static void s_decision_write(ec_writer_t *w, const s_decision_t *d)
{
    ec_write_array(w, 10);
    ec_write_uint(w, d->height);
    ec_write_bin(w, d->tx_id, EC_HASH_BYTES);
    ec_write_cstr(w, d->fn);
    ec_write_uint(w, d->role);
    ec_write_cstr(w, d->org);
    ec_write_bin(w, d->request, d->request_size);
    ec_write_uint(w, d->decided_height);
    ec_write_bin(w, d->decider, EC_PK_BYTES);
    ec_write_bin(w, d->decide_tx, EC_HASH_BYTES);
    ec_write_bin(w, d->decision, d->decision_size);
}

static void s_decision_read(ec_cur_t *c, void *out)
{
    s_decision_t *d = out;
    const uint8_t *req = NULL, *dec = NULL;
    ec_cur_t f;
    ec_cur_enter(c, &f, 10);
    ec_cur_uint(&f, &d->height);
    ec_cur_bin_fixed(&f, d->tx_id, EC_HASH_BYTES);
    ec_cur_str_copy(&f, d->fn, sizeof d->fn);
    ec_cur_uint(&f, &d->role);
    ec_cur_str_copy(&f, d->org, sizeof d->org);
    ec_cur_bin(&f, &req, &d->request_size, EC_CONTRACT_VALUE_MAX);
    ec_cur_uint(&f, &d->decided_height);
    ec_cur_bin_fixed(&f, d->decider, EC_PK_BYTES);
    ec_cur_bin_fixed(&f, d->decide_tx, EC_HASH_BYTES);
    ec_cur_bin(&f, &dec, &d->decision_size, EC_CONTRACT_ARGS_TX_MAX);
    if (!f.err) {
        memcpy(d->request, req, d->request_size);
        if (d->decision_size)
            memcpy(d->decision, dec, d->decision_size);
    }
    ec_cur_fold(c, &f);
}

static void s_decision_store(ec_ledger_t *l, const char *name, uint64_t id, const s_decision_t *d)
{
    uint8_t key[S_KEY_MAX];
    ec_writer_t w;
    ec_writer_init(&w);
    s_decision_write(&w, d);
    ec_state_put(l, key, s_decision_key(key, name, id), ec_writer_data(&w), ec_writer_size(&w));
    ec_writer_fini(&w);
}

/* Loads decision id of contract name (malloc'd into *out): 0, EC_ENOTFOUND, or a fault. */
static int s_decision_load(ec_ledger_t *l, bool pending, const char *name, uint64_t id,
                           s_decision_t **out, ec_status_t *st)
{
    uint8_t key[S_KEY_MAX], *val = NULL;
    size_t size = 0, ks = s_decision_key(key, name, id);
    *out = NULL;
    int rc = pending ? ec_state_get(l, key, ks, &val, &size)
                     : ec_ledger_get(l, EC_CF_STATE, key, ks, &val, &size);
    if (rc == EC_ENOTFOUND)
        return ec_status_set(st, EC_ENOTFOUND, "contract %s has no decision %llu", name,
                             (unsigned long long)id);
    if (rc != 0)
        return s_io(st, rc);
    s_decision_t *d = malloc(sizeof *d);
    rc = d ? ec_decode_read(d, sizeof *d, val, size, s_decision_read) : EC_ENOMEM;
    free(val);
    if (rc == EC_ENOMEM) {
        free(d);
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    }
    if (rc != 0) {
        free(d);
        ec_error("contracts: stored decision %llu of %s does not decode", (unsigned long long)id,
                 name);
        return ec_status_set(st, EC_EINTERNAL, "stored decision of %s is corrupt", name);
    }
    *out = d;
    return 0;
}

static int s_host_escalate(void *vctx, const char *role, const char *org, const uint8_t *request,
                           size_t size, uint64_t *id)
{
    s_host_t *h = vctx;
    uint32_t r = ec_role_parse(role);
    if (r == 0 || (org[0] && !ec_org_code_valid(org)))
        return EC_EINVAL;
    if (!h->pending)
        return EC_ESTATE;
    uint8_t ckey[S_KEY_MAX], *val = NULL;
    size_t vs = 0, cks = s_key(ckey, 'D', h->name, NULL, 0, false);
    uint64_t count = 0;
    int rc = ec_state_get(h->l, ckey, cks, &val, &vs);
    if (rc == 0 && vs == 8)
        count = ec_be64_get(val);
    else if (rc == 0)
        rc = EC_EINTERNAL;
    free(val);
    if (rc != 0 && rc != EC_ENOTFOUND)
        return rc;
    s_decision_t *d = calloc(1, sizeof *d);
    if (!d)
        return EC_ENOMEM;
    d->height = h->height;
    memcpy(d->tx_id, h->tx_id, EC_HASH_BYTES);
    snprintf(d->fn, sizeof d->fn, "%s", h->fn);
    d->role = r;
    snprintf(d->org, sizeof d->org, "%s", org);
    memcpy(d->request, request, size);
    d->request_size = size;
    *id = ++count;
    s_decision_store(h->l, h->name, *id, d);
    free(d);
    uint8_t be[8];
    ec_be64_put(be, count);
    ec_state_put(h->l, ckey, cks, be, 8);
    return 0;
}

/* What one run needs besides the contract's name and function. */
typedef struct {
    const uint8_t *args;
    size_t args_size;
    const uint8_t *caller_pk; /* NULL: no caller (a query)                                */
    const uint8_t *tx_id;
    uint64_t height, time_ms;
    const ec_cfacts_t *facts;
} s_call_in_t;

/* Runs fn of contract `name` (its newest version) against the host. */
static int s_run(ec_ledger_t *l, bool pending, const char *name, const char *fn,
                 const s_call_in_t *in, s_record_t *r, ec_writer_t *result, ec_status_t *st)
{
    int rc = s_record_load(l, pending, name, r, st);
    if (rc != 0)
        return rc;
    if (ec_contract_value_check(in->args, in->args_size) != 0)
        return ec_status_set(st, EC_EINVAL, "the arguments are not one contract-msgpack array");
    uint8_t key[S_KEY_MAX], *code = NULL;
    size_t code_size = 0, ks = s_code_key(key, name, r->version);
    rc = pending ? ec_state_get(l, key, ks, &code, &code_size)
                 : ec_ledger_get(l, EC_CF_STATE, key, ks, &code, &code_size);
    if (rc != 0)
        return rc == EC_ENOTFOUND
                   ? ec_status_set(st, EC_EINTERNAL, "contract %s lost its code", name)
                   : s_io(st, rc);
    char caller[EC_ADDR_MAX] = "", owner[EC_ADDR_MAX], tx[2 * EC_HASH_BYTES + 1] = "";
    if (in->caller_pk)
        ec_address_from_pk(caller, in->caller_pk);
    if (in->tx_id)
        ec_hex(tx, in->tx_id, EC_HASH_BYTES);
    ec_address_from_pk(owner, r->owner);
    s_host_t h = {.l = l,
                  .pending = pending,
                  .name = name,
                  .fn = fn,
                  .record = r,
                  .height = in->height,
                  .tx_id = in->tx_id,
                  .caller = in->caller_pk,
                  .facts = in->facts};
    ec_contract_host_t host = {.ctx = &h,
                               .get = s_host_get,
                               .put = s_host_put,
                               .del = s_host_del,
                               .emit = s_host_emit,
                               .range = s_host_range,
                               .roles = s_host_roles,
                               .has_role = s_host_has_role,
                               .attested = s_host_attested,
                               .escalate = s_host_escalate,
                               .caller = caller,
                               .tx = tx,
                               .height = in->height,
                               .time_ms = in->time_ms,
                               .name = name,
                               .owner = owner,
                               .org = r->org_code,
                               .version = r->version};
    rc = ec_contract_call(code, code_size, fn, in->args, in->args_size, &host, NULL, result, NULL,
                          st);
    free(code);
    if (rc == EC_ESTATE && !pending)
        return ec_status_set(st, EC_ESTATE, "%s.%s tried to write: a query only reads", name, fn);
    return rc;
}

/* After an applied call or decision: the record (its events count) and the result. */
static void s_applied(ec_block_ctx_t *ctx, const ec_tx_t *tx, const char *name, const char *fn,
                      const s_record_t *r, const ec_writer_t *result)
{
    s_record_store(ctx->ledger, name, r);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, 3);
    ec_write_cstr(&w, name);
    ec_write_cstr(&w, fn);
    ec_write_bin(&w, ec_writer_data(result), ec_writer_size(result));
    uint8_t key[1 + EC_HASH_BYTES];
    key[0] = 'W';
    memcpy(key + 1, tx->id, EC_HASH_BYTES);
    ec_state_put(ctx->ledger, key, sizeof key, ec_writer_data(&w), ec_writer_size(&w));
    ec_writer_fini(&w);
}

int ec_cstate_call(ec_block_ctx_t *ctx, const ec_tx_t *tx, const ec_contract_call_body_t *b,
                   const ec_cfacts_t *facts, ec_status_t *st)
{
    s_record_t r;
    ec_writer_t result;
    ec_writer_init(&result);
    s_call_in_t in = {.args = b->args,
                      .args_size = b->args_size,
                      .caller_pk = tx->sender,
                      .tx_id = tx->id,
                      .height = ctx->height,
                      .time_ms = ctx->time_ms,
                      .facts = facts};
    int rc = s_run(ctx->ledger, true, b->name, b->fn, &in, &r, &result, st);
    if (rc == 0)
        s_applied(ctx, tx, b->name, b->fn, &r, &result);
    ec_writer_fini(&result);
    return rc;
}

int ec_cstate_decide(ec_block_ctx_t *ctx, const ec_tx_t *tx, const ec_contract_decide_body_t *b,
                     const ec_cfacts_t *facts, ec_status_t *st)
{
    ec_ledger_t *l = ctx->ledger;
    s_decision_t *d = NULL;
    int rc = s_decision_load(l, true, b->name, b->id, &d, st);
    if (rc != 0)
        return rc;
    if (d->decided_height) {
        rc = ec_status_set(st, EC_EEXIST, "decision %llu of %s was settled at height %llu",
                           (unsigned long long)b->id, b->name,
                           (unsigned long long)d->decided_height);
        goto out;
    }
    rc = facts->has_role(facts->app, l, true, tx->sender, (uint32_t)d->role, d->org);
    if (rc == 0) {
        char addr[EC_ADDR_MAX];
        ec_address_from_pk(addr, tx->sender);
        rc = ec_status_set(st, EC_EPERM, "%s is not a %s%s%s, whom decision %llu of %s awaits",
                           addr, ec_role_name((uint32_t)d->role), d->org[0] ? " of org " : "",
                           d->org, (unsigned long long)b->id, b->name);
        goto out;
    }
    if (rc < 0) {
        rc = s_io(st, rc);
        goto out;
    }
    if (ec_contract_value_check(b->decision, b->decision_size) != 0) {
        rc = ec_status_set(st, EC_EINVAL, "the decision is not one contract-msgpack value");
        goto out;
    }
    /* on_decision(id, request, decision) */
    ec_writer_t args, result;
    ec_writer_init(&args);
    ec_writer_init(&result);
    ec_write_array(&args, 3);
    ec_write_uint(&args, b->id);
    ec_write_raw(&args, d->request, d->request_size);
    ec_write_raw(&args, b->decision, b->decision_size);
    s_call_in_t in = {.args = ec_writer_data(&args),
                      .args_size = ec_writer_size(&args),
                      .caller_pk = tx->sender,
                      .tx_id = tx->id,
                      .height = ctx->height,
                      .time_ms = ctx->time_ms,
                      .facts = facts};
    s_record_t r;
    rc = ec_writer_size(&args) > EC_CONTRACT_VALUE_MAX
             ? ec_status_set(st, EC_ETOOBIG, "the request and the decision are too large together")
             : s_run(l, true, b->name, "on_decision", &in, &r, &result, st);
    if (rc == 0) {
        s_applied(ctx, tx, b->name, "on_decision", &r, &result);
        d->decided_height = ctx->height;
        memcpy(d->decider, tx->sender, EC_PK_BYTES);
        memcpy(d->decide_tx, tx->id, EC_HASH_BYTES);
        memcpy(d->decision, b->decision, b->decision_size);
        d->decision_size = b->decision_size;
        s_decision_store(l, b->name, b->id, d);
    }
    ec_writer_fini(&args);
    ec_writer_fini(&result);
out:
    free(d);
    return rc;
}

typedef struct {
    uint64_t height;
    uint32_t count, max;
    size_t prefix;
    void (*pub)(void *pctx, const uint8_t *frame, size_t size);
    void *pctx;
    ec_writer_t *items; /* block_events: gathered here instead                        */
    ec_writer_t frame;
} s_announce_t;

/* One block event (META key after the height: name 0x00 be64(seq)). */
static int s_block_event_fn(void *vctx, const uint8_t *key, size_t ks, const uint8_t *val,
                            size_t vs)
{
    s_announce_t *a = vctx;
    if (ks < a->prefix + 10 || key[ks - 9] != 0)
        return EC_EINTERNAL;
    ec_writer_t *w = a->items ? a->items : &a->frame;
    if (!a->items) {
        ec_writer_reset(w);
        ec_write_array(w, 7);
        ec_write_uint(w, a->height);
    } else {
        ec_write_array(w, 6);
    }
    ec_write_str(w, (const char *)key + a->prefix, ks - 9 - a->prefix);
    ec_write_uint(w, ec_be64_get(key + ks - 8));
    /* [tx_id, fn, event, data]: spread */
    if (vs < 1 || val[0] != 0x94)
        return EC_EINTERNAL;
    ec_write_raw(w, val + 1, vs - 1);
    if (!a->items)
        a->pub(a->pctx, ec_writer_data(w), ec_writer_size(w));
    return ++a->count == a->max;
}

/* Walks the events of committed block `height`. */
static int s_block_events(ec_ledger_t *l, s_announce_t *a)
{
    uint8_t prefix[S_EV_KEY_MAX];
    size_t n = strlen(S_EV_PREFIX);
    memcpy(prefix, S_EV_PREFIX, n);
    ec_be64_put(prefix + n, a->height);
    a->prefix = n + 8;
    int rc = ec_ledger_scan(l, EC_CF_META, prefix, a->prefix, NULL, 0, 0, s_block_event_fn, a);
    return rc == 1 ? 0 : rc;
}

void ec_cstate_announce(void *self, ec_ledger_t *l, uint64_t height,
                        void (*pub)(void *pctx, const uint8_t *frame, size_t size), void *pctx)
{
    (void)self;
    s_announce_t a = {.height = height, .max = S_BLOCK_EVENTS_MAX, .pub = pub, .pctx = pctx};
    ec_writer_init(&a.frame);
    int rc = s_block_events(l, &a);
    ec_writer_fini(&a.frame);
    if (rc != 0)
        ec_warn("contracts: the events of block %llu could not be read to announce them: %s",
                (unsigned long long)height, ec_strerror(rc));
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

/* A decision as queries answer it: [id, height, tx_id, fn, role: str, org, request,
 * decided_height, decider: str ("" while pending), decide_tx, decision]. */
static void s_decision_answer(ec_writer_t *out, uint64_t id, const s_decision_t *d)
{
    char decider[EC_ADDR_MAX] = "";
    if (d->decided_height)
        ec_address_from_pk(decider, d->decider);
    ec_write_array(out, 11);
    ec_write_uint(out, id);
    ec_write_uint(out, d->height);
    ec_write_bin(out, d->tx_id, EC_HASH_BYTES);
    ec_write_cstr(out, d->fn);
    ec_write_cstr(out, ec_role_name((uint32_t)d->role) ? ec_role_name((uint32_t)d->role) : "");
    ec_write_cstr(out, d->org);
    ec_write_bin(out, d->request, d->request_size);
    ec_write_uint(out, d->decided_height);
    ec_write_cstr(out, decider);
    ec_write_bin(out, d->decide_tx, EC_HASH_BYTES);
    ec_write_bin(out, d->decision, d->decision_size);
}

typedef struct {
    ec_writer_t *items;
    uint32_t count;
    size_t prefix;
    bool pending_only;
    s_decision_t *d; /* scratch                                                        */
} s_decisions_t;

static int s_decision_fn(void *vctx, const uint8_t *key, size_t ks, const uint8_t *val, size_t vs)
{
    s_decisions_t *e = vctx;
    if (ks != e->prefix + 8 || ec_decode_read(e->d, sizeof *e->d, val, vs, s_decision_read) != 0)
        return EC_EINTERNAL;
    if (e->pending_only && e->d->decided_height)
        return 0;
    s_decision_answer(e->items, ec_be64_get(key + e->prefix), e->d);
    return ++e->count == S_DECISIONS_PAGE;
}

/* decisions [name, from: uint, pending_only: bool] -> [decision...] from id `from` on. */
static int s_query_decisions(ec_ledger_t *l, const char *name, uint64_t from, bool pending_only,
                             ec_writer_t *out, ec_status_t *st)
{
    uint8_t prefix[S_KEY_MAX], start[S_KEY_MAX];
    size_t ps = s_key(prefix, 'D', name, NULL, 0, true);
    size_t ss = s_decision_key(start, name, from);
    ec_writer_t items;
    ec_writer_init(&items);
    s_decisions_t e = {.items = &items,
                       .prefix = ps,
                       .pending_only = pending_only,
                       .d = malloc(sizeof(s_decision_t))};
    int rc = e.d ? ec_ledger_scan(l, EC_CF_STATE, prefix, ps, start, ss, 0, s_decision_fn, &e)
                 : EC_ENOMEM;
    if (rc == 1)
        rc = 0;
    if (rc == EC_EINTERNAL)
        rc = ec_status_set(st, rc, "a stored decision of %s is corrupt", name);
    else if (rc != 0)
        rc = s_io(st, rc);
    else {
        ec_write_array(out, e.count);
        ec_write_raw(out, ec_writer_data(&items), ec_writer_size(&items));
    }
    free(e.d);
    ec_writer_fini(&items);
    return rc;
}

int ec_cstate_query(ec_ledger_t *l, const char *path, const msgpack_object *args,
                    const ec_cfacts_t *facts, ec_writer_t *out, ec_status_t *st)
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
        s_call_in_t in = {.args = a, .args_size = as, .facts = facts};
        int rc = s_run(l, false, name, fn, &in, &r, &result, st);
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
    if (strcmp(path, "decisions") == 0) {
        uint64_t from = 0;
        bool pending_only = false;
        ec_cur_open(&c, args, 3);
        s_name_arg(&c, name);
        ec_cur_uint(&c, &from);
        ec_cur_bool(&c, &pending_only);
        if (ec_cur_finish(&c))
            return s_bad(st, path, "[name: str, from: uint, pending_only: bool]");
        return s_query_decisions(l, name, from, pending_only, out, st);
    }
    if (strcmp(path, "decision") == 0) {
        uint64_t id = 0;
        ec_cur_open(&c, args, 2);
        s_name_arg(&c, name);
        ec_cur_uint(&c, &id);
        if (ec_cur_finish(&c))
            return s_bad(st, path, "[name: str, id: uint]");
        s_decision_t *d = NULL;
        int rc = s_decision_load(l, false, name, id, &d, st);
        if (rc == 0)
            s_decision_answer(out, id, d);
        free(d);
        return rc;
    }
    if (strcmp(path, "block_events") == 0) {
        uint64_t height = 0;
        ec_cur_open(&c, args, 1);
        ec_cur_uint(&c, &height);
        if (ec_cur_finish(&c))
            return s_bad(st, path, "[height: uint]");
        ec_writer_t items;
        ec_writer_init(&items);
        s_announce_t a = {.height = height, .max = S_BLOCK_EVENTS_MAX, .items = &items};
        int rc = s_block_events(l, &a);
        if (rc == EC_EINTERNAL)
            rc = ec_status_set(st, rc, "a stored block event is corrupt");
        else if (rc != 0)
            rc = s_io(st, rc);
        else {
            ec_write_array(out, a.count);
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
