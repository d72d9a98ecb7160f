/*
 * cl_contract.c - contract values to and from JSON, and calling, querying and deploying
 * contracts from the client (cl_contract.h).
 */
#include "cl_contract.h"

#include <stdlib.h>
#include <string.h>

#include "ec_body.h"
#include "ec_contract.h"

char *cl_json_text(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
}

void cl_json_text_free(char *text)
{
    json_free_t json_free = NULL;
    json_get_alloc_funcs(NULL, &json_free);
    if (text)
        json_free(text);
}

static int s_key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char *cl_cvalue_from_json(const json_t *j, ec_writer_t *w, int depth)
{
    if (depth > EC_CONTRACT_DEPTH_MAX)
        return "nested too deep";
    switch (json_typeof(j)) {
        case JSON_NULL:
            ec_write_nil(w);
            return NULL;
        case JSON_TRUE:
        case JSON_FALSE:
            ec_write_bool(w, json_is_true(j));
            return NULL;
        case JSON_INTEGER:
            ec_write_int(w, (int64_t)json_integer_value(j));
            return NULL;
        case JSON_REAL:
            return "a number with a fraction (contracts take integers)";
        case JSON_STRING:
            ec_write_str(w, json_string_value(j), json_string_length(j));
            return NULL;
        case JSON_ARRAY: {
            ec_write_array(w, (uint32_t)json_array_size(j));
            size_t i;
            json_t *v;
            json_array_foreach(j, i, v)
            {
                const char *why = cl_cvalue_from_json(v, w, depth + 1);
                if (why)
                    return why;
            }
            return NULL;
        }
        case JSON_OBJECT: {
            size_t n = json_object_size(j), k = 0;
            const char **keys = malloc((n ? n : 1) * sizeof *keys);
            if (!keys)
                return "out of memory";
            const char *key;
            json_t *v;
            json_object_foreach((json_t *)j, key, v) keys[k++] = key;
            qsort(keys, n, sizeof *keys, s_key_cmp);
            ec_write_map(w, (uint32_t)n);
            const char *why = NULL;
            for (size_t i = 0; !why && i < n; i++) {
                ec_write_cstr(w, keys[i]);
                why = cl_cvalue_from_json(json_object_get(j, keys[i]), w, depth + 1);
            }
            free(keys);
            return why;
        }
    }
    return "an unknown JSON value";
}

json_t *cl_cobject_json(const msgpack_object *o, int depth)
{
    if (depth > EC_CONTRACT_DEPTH_MAX)
        return json_null();
    switch (o->type) {
        case MSGPACK_OBJECT_NIL:
            return json_null();
        case MSGPACK_OBJECT_BOOLEAN:
            return json_boolean(o->via.boolean);
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            return json_integer((json_int_t)o->via.u64);
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            return json_integer((json_int_t)o->via.i64);
        case MSGPACK_OBJECT_STR:
            return json_stringn(o->via.str.ptr, o->via.str.size);
        case MSGPACK_OBJECT_BIN: {
            char *hex = malloc(2 * o->via.bin.size + 3);
            if (!hex)
                return json_null();
            strcpy(hex, "0x");
            ec_hex(hex + 2, (const uint8_t *)o->via.bin.ptr, o->via.bin.size);
            json_t *s = json_string(hex);
            free(hex);
            return s;
        }
        case MSGPACK_OBJECT_ARRAY: {
            json_t *a = json_array();
            for (uint32_t i = 0; i < o->via.array.size; i++)
                json_array_append_new(a, cl_cobject_json(&o->via.array.ptr[i], depth + 1));
            return a;
        }
        case MSGPACK_OBJECT_MAP: {
            json_t *m = json_object();
            for (uint32_t i = 0; i < o->via.map.size; i++) {
                const msgpack_object *k = &o->via.map.ptr[i].key;
                char buf[EC_CONTRACT_KEY_MAX + 32];
                if (k->type == MSGPACK_OBJECT_STR)
                    snprintf(buf, sizeof buf, "%.*s", (int)k->via.str.size, k->via.str.ptr);
                else if (k->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                    snprintf(buf, sizeof buf, "%llu", (unsigned long long)k->via.u64);
                else if (k->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
                    snprintf(buf, sizeof buf, "%lld", (long long)k->via.i64);
                else
                    snprintf(buf, sizeof buf, "?");
                json_object_set_new(m, buf, cl_cobject_json(&o->via.map.ptr[i].val, depth + 1));
            }
            return m;
        }
        default:
            return json_null();
    }
}

/* Contract msgpack bytes (checked) as JSON; NULL when they are not a value. */
json_t *cl_cvalue_json(const uint8_t *data, size_t size)
{
    if (ec_contract_value_check(data, size) != 0)
        return NULL;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    json_t *j = NULL;
    if (msgpack_unpack_next(&u, (const char *)data, size, &off) == MSGPACK_UNPACK_SUCCESS &&
        off == size)
        j = cl_cobject_json(&u.data, 0);
    msgpack_unpacked_destroy(&u);
    return j;
}

uint64_t cl_contract_txtype(const cl_chain_t *ch, uint64_t side_type)
{
    return strcmp(ch->type, "main") == 0
               ? side_type - EC_STX_CONTRACT_DEPLOY + EC_MTX_CONTRACT_DEPLOY
               : side_type;
}

void cl_cvalue_fini(cl_cvalue_t *cv)
{
    if (cv && cv->v) {
        msgpack_unpacked_destroy(&cv->u);
        cv->v = NULL;
    }
    if (cv) {
        free(cv->buf);
        cv->buf = NULL;
    }
}

int cl_cvalue_read(const uint8_t *data, size_t size, cl_cvalue_t *out)
{
    memset(out, 0, sizeof *out);
    if (ec_contract_value_check(data, size) != 0)
        return EC_EINVAL;
    /* msgpack-c's objects point into the bytes they were read from: keep a copy. */
    out->buf = malloc(size);
    if (!out->buf)
        return EC_ENOMEM;
    memcpy(out->buf, data, size);
    msgpack_unpacked_init(&out->u);
    size_t off = 0;
    if (msgpack_unpack_next(&out->u, (const char *)out->buf, size, &off) !=
            MSGPACK_UNPACK_SUCCESS ||
        off != size) {
        msgpack_unpacked_destroy(&out->u);
        free(out->buf);
        memset(out, 0, sizeof *out);
        return EC_EINVAL;
    }
    out->v = &out->u.data;
    return 0;
}

/* cl_cvalue_read of a reply's bytes: 0, or 1 with the error recorded. */
static int s_cvalue(cl_ctx_t *ctx, cl_chain_t *ch, const char *what, const uint8_t *data,
                    size_t size, cl_cvalue_t *out)
{
    int rc = cl_cvalue_read(data, size, out);
    return rc == 0           ? 0
           : rc == EC_ENOMEM ? cl_fail(ctx, rc, "out of memory")
                             : cl_garbled(ctx, ch, what);
}

int cl_contract_result(cl_ctx_t *ctx, cl_chain_t *ch, const uint8_t tx[EC_HASH_BYTES], char *name,
                       char *fn, cl_cvalue_t *out, int quiet_code)
{
    memset(out, 0, sizeof *out);
    ec_writer_t q;
    ec_writer_init(&q);
    ec_write_array(&q, 1);
    ec_write_bin(&q, tx, EC_HASH_BYTES);
    ec_rpc_reply_t r;
    int rc = cl_query(ctx, ch, "contract_result", &q, &r, quiet_code);
    ec_writer_fini(&q);
    if (rc)
        return rc;
    /* [name, fn, result: bin] */
    char n[EC_CONTRACT_NAME_MAX], f[EC_CONTRACT_NAME_MAX];
    const uint8_t *v = NULL;
    size_t vs = 0;
    ec_cur_t c;
    ec_cur_open(&c, r.result, 3);
    ec_cur_str_copy(&c, n, sizeof n);
    ec_cur_str_copy(&c, f, sizeof f);
    ec_cur_bin(&c, &v, &vs, EC_CONTRACT_VALUE_MAX);
    rc = ec_cur_finish(&c) ? cl_garbled(ctx, ch, "contract_result")
                           : s_cvalue(ctx, ch, "contract_result", v, vs, out);
    if (rc == 0 && name)
        memcpy(name, n, sizeof n);
    if (rc == 0 && fn)
        memcpy(fn, f, sizeof f);
    ec_rpc_reply_fini(&r);
    return rc;
}

int cl_contract_call(cl_ctx_t *ctx, cl_chain_t *ch, const char *name, const char *fn,
                     const ec_writer_t *args, cl_txres_t *res, cl_cvalue_t *out)
{
    memset(out, 0, sizeof *out);
    ec_contract_call_body_t b = {.args = ec_writer_data(args), .args_size = ec_writer_size(args)};
    snprintf(b.name, sizeof b.name, "%s", name);
    snprintf(b.fn, sizeof b.fn, "%s", fn);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_contract_call_body_encode(&w, &b);
    int rc = cl_submit_signed(ctx, ch, cl_contract_txtype(ch, EC_STX_CONTRACT_CALL), &w, NULL, 0,
                              res, NULL);
    ec_writer_fini(&w);
    return rc ? rc : cl_contract_result(ctx, ch, res->id, NULL, NULL, out, 0);
}

int cl_contract_query(cl_ctx_t *ctx, cl_chain_t *ch, const char *name, const char *fn,
                      const ec_writer_t *args, cl_cvalue_t *out)
{
    memset(out, 0, sizeof *out);
    ec_writer_t q;
    ec_writer_init(&q);
    ec_write_array(&q, 3);
    ec_write_cstr(&q, name);
    ec_write_cstr(&q, fn);
    ec_write_bin(&q, ec_writer_data(args), ec_writer_size(args));
    ec_rpc_reply_t r;
    int rc = cl_query(ctx, ch, "contract_query", &q, &r, 0);
    ec_writer_fini(&q);
    if (rc)
        return rc;
    rc = r.result->type == MSGPACK_OBJECT_BIN
             ? s_cvalue(ctx, ch, "contract_query", (const uint8_t *)r.result->via.bin.ptr,
                        r.result->via.bin.size, out)
             : cl_garbled(ctx, ch, "contract_query");
    ec_rpc_reply_fini(&r);
    return rc;
}

int cl_contract_deploy(cl_ctx_t *ctx, cl_chain_t *ch, bool upgrade, const char *name,
                       const char *org, const uint8_t *code, size_t size, cl_txres_t *res)
{
    ec_contract_deploy_body_t b = {.code = code, .code_size = size};
    snprintf(b.name, sizeof b.name, "%s", name);
    snprintf(b.org_code, sizeof b.org_code, "%s", org);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_contract_deploy_body_encode(&w, &b);
    uint64_t type = upgrade ? EC_STX_CONTRACT_UPGRADE : EC_STX_CONTRACT_DEPLOY;
    int rc = cl_submit_signed(ctx, ch, cl_contract_txtype(ch, type), &w, NULL, 0, res, NULL);
    ec_writer_fini(&w);
    return rc;
}

int cl_decision_read(cl_decision_t *d, const msgpack_object *o)
{
    memset(d, 0, sizeof *d);
    ec_cur_t c;
    ec_cur_open(&c, o, 11);
    ec_cur_uint(&c, &d->id);
    ec_cur_uint(&c, &d->height);
    ec_cur_bin_fixed(&c, d->tx, EC_HASH_BYTES);
    ec_cur_str_copy(&c, d->fn, sizeof d->fn);
    ec_cur_str_copy(&c, d->role, sizeof d->role);
    ec_cur_str_copy(&c, d->org, sizeof d->org);
    ec_cur_bin(&c, &d->request, &d->request_size, EC_CONTRACT_VALUE_MAX);
    ec_cur_uint(&c, &d->decided_height);
    ec_cur_str_copy(&c, d->decider, sizeof d->decider);
    ec_cur_bin_fixed(&c, d->decide_tx, EC_HASH_BYTES);
    ec_cur_bin(&c, &d->decision, &d->decision_size, EC_CONTRACT_ARGS_TX_MAX);
    if (ec_cur_finish(&c) != 0) {
        memset(d, 0, sizeof *d);
        return EC_EINVAL;
    }
    return 0;
}

const msgpack_object *cl_cv_get(const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t len = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == len &&
            memcmp(k->via.str.ptr, key, len) == 0)
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

bool cl_cv_bytes(const msgpack_object *map, const char *key, const uint8_t **data, size_t *size)
{
    const msgpack_object *v = cl_cv_get(map, key);
    if (v && v->type == MSGPACK_OBJECT_STR) {
        *data = (const uint8_t *)v->via.str.ptr;
        *size = v->via.str.size;
        return true;
    }
    if (v && v->type == MSGPACK_OBJECT_BIN) {
        *data = (const uint8_t *)v->via.bin.ptr;
        *size = v->via.bin.size;
        return true;
    }
    return false;
}

bool cl_cv_str(const msgpack_object *map, const char *key, char *out, size_t cap)
{
    const msgpack_object *v = cl_cv_get(map, key);
    if (!v || v->type != MSGPACK_OBJECT_STR || v->via.str.size >= cap)
        return false;
    memcpy(out, v->via.str.ptr, v->via.str.size);
    out[v->via.str.size] = '\0';
    return true;
}

bool cl_cv_uint(const msgpack_object *map, const char *key, uint64_t *out)
{
    const msgpack_object *v = cl_cv_get(map, key);
    if (!v || v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return false;
    *out = v->via.u64;
    return true;
}

bool cl_cv_bool(const msgpack_object *map, const char *key, bool *out)
{
    const msgpack_object *v = cl_cv_get(map, key);
    if (!v || v->type != MSGPACK_OBJECT_BOOLEAN)
        return false;
    *out = v->via.boolean;
    return true;
}
