/*
 * ec_contract.c - the contract engine (ec_contract.h): a sandboxed Lua 5.4 interpreter per
 * call, contract-msgpack values in and out, an instruction budget and a memory cap.
 *
 * Each call builds a fresh lua_State whose allocator counts every byte (s_alloc) and whose
 * count hook charges the budget every S_HOOK_STEP instructions (s_hook). Both limits are
 * sticky: once hit, every allocation fails and every instruction raises, so a contract
 * that catches the error with pcall cannot go on, and the call is refused with EC_ELIMIT
 * whatever it returns. A host fault (storage I/O) is sticky too and ends the call with the
 * host's code.
 */
#include "ec_contract.h"

#include <assert.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define S_HOOK_STEP 1000 /* instructions between two budget checks                       */

/* One call's bookkeeping; the interpreter's allocator user data. */
typedef struct {
    size_t mem_used, mem_max;
    bool mem_hit;
    uint64_t budget, spent;
    bool budget_hit;
    const ec_contract_host_t *host;
    int fault;       /* a host callback's or the system's local fault (0: none)          */
    uint32_t events; /* emitted so far                                               */
    uint8_t *held;   /* a host value being copied in: freed at the end if an error jumps */
} s_run_t;

static s_run_t *s_run_of(lua_State *L)
{
    void *ud = NULL;
    (void)lua_getallocf(L, &ud);
    return ud;
}

static void *s_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    s_run_t *r = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        r->mem_used -= old;
        return NULL;
    }
    /* Lua requires that shrinking never fails: only growth is refused. */
    if (nsize > old && (r->mem_hit || r->mem_used - old + nsize > r->mem_max)) {
        r->mem_hit = true;
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (!p) {
        if (!r->fault)
            r->fault = EC_ENOMEM;
        return NULL;
    }
    r->mem_used = r->mem_used - old + nsize;
    return p;
}

static void s_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    s_run_t *r = s_run_of(L);
    r->spent += r->budget_hit ? 1 : S_HOOK_STEP;
    if (!r->budget_hit && r->spent > r->budget) {
        r->budget_hit = true;
        lua_sethook(L, s_hook, LUA_MASKCOUNT, 1); /* from now on, every instruction raises */
    }
    if (r->budget_hit || r->mem_hit || r->fault)
        luaL_error(L, "instruction budget exhausted");
}

/* ---- contract msgpack: Lua -> bytes --------------------------------------------------- */

typedef struct {
    bool is_str;
    lua_Integer i;
    const char *s;
    size_t len;
} s_key_t;

static int s_key_cmp(const void *pa, const void *pb)
{
    const s_key_t *a = pa, *b = pb;
    if (a->is_str != b->is_str)
        return a->is_str ? 1 : -1; /* integers first */
    if (!a->is_str)
        return a->i < b->i ? -1 : a->i > b->i;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->s, b->s, n);
    return c ? c : a->len < b->len ? -1 : a->len > b->len;
}

void ec_contract_write_string(ec_writer_t *w, const uint8_t *s, size_t len)
{
    if (ec_utf8_valid((const char *)s, len))
        ec_write_str(w, (const char *)s, len);
    else
        ec_write_bin(w, s, len);
}

static void s_write_bytes(ec_writer_t *w, const char *s, size_t len)
{
    if (ec_utf8_valid(s, len))
        ec_write_str(w, s, len);
    else
        ec_write_bin(w, s, len);
}

/* Encodes the value at idx; on failure returns a static reason. */
static const char *s_encode(lua_State *L, int idx, ec_writer_t *w, int depth)
{
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
        case LUA_TNIL:
            ec_write_nil(w);
            return NULL;
        case LUA_TBOOLEAN:
            ec_write_bool(w, lua_toboolean(L, idx));
            return NULL;
        case LUA_TNUMBER:
            if (!lua_isinteger(L, idx))
                return "a float (only integers cross the sandbox's edge)";
            ec_write_int(w, (int64_t)lua_tointeger(L, idx));
            return NULL;
        case LUA_TSTRING: {
            size_t len = 0;
            const char *s = lua_tolstring(L, idx, &len);
            s_write_bytes(w, s, len);
            return NULL;
        }
        case LUA_TTABLE:
            break;
        default:
            return "a function, userdata or thread";
    }
    if (depth >= EC_CONTRACT_DEPTH_MAX)
        return "tables nested too deep";
    if (!lua_checkstack(L, 4))
        return "no room on the stack";
    /* Count the keys and find whether they are exactly 1..n. */
    size_t n = 0;
    bool seq = true;
    lua_Integer max = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        n++;
        if (lua_type(L, -1) == LUA_TNUMBER && lua_isinteger(L, -1)) {
            lua_Integer k = lua_tointeger(L, -1);
            if (k < 1)
                seq = false;
            else if (k > max)
                max = k;
        } else if (lua_type(L, -1) == LUA_TSTRING) {
            seq = false;
        } else {
            lua_pop(L, 1);
            return "a table key that is neither an integer nor a string";
        }
        if (n > EC_CONTRACT_VALUE_MAX) {
            lua_pop(L, 1);
            return "a table too large";
        }
    }
    if (seq && (size_t)max == n) {
        ec_write_array(w, (uint32_t)n);
        for (size_t i = 1; i <= n; i++) {
            lua_rawgeti(L, idx, (lua_Integer)i);
            const char *why = s_encode(L, -1, w, depth + 1);
            lua_pop(L, 1);
            if (why)
                return why;
        }
        return NULL;
    }
    /* A map: keys sorted (integers, then strings bytewise). The key array lives in a
     * userdata, so the allocator counts it and the GC frees it on any error. */
    s_key_t *keys = lua_newuserdatauv(L, n * sizeof *keys, 0);
    if (!keys)
        return "out of memory";
    size_t k = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        s_key_t *e = &keys[k++];
        e->is_str = lua_type(L, -1) == LUA_TSTRING;
        if (e->is_str)
            e->s = lua_tolstring(L, -1, &e->len); /* kept alive by the table itself */
        else
            e->i = lua_tointeger(L, -1);
    }
    qsort(keys, n, sizeof *keys, s_key_cmp);
    ec_write_map(w, (uint32_t)n);
    const char *why = NULL;
    for (size_t i = 0; !why && i < n; i++) {
        if (keys[i].is_str) {
            s_write_bytes(w, keys[i].s, keys[i].len);
            lua_pushlstring(L, keys[i].s, keys[i].len);
        } else {
            ec_write_int(w, (int64_t)keys[i].i);
            lua_pushinteger(L, keys[i].i);
        }
        lua_rawget(L, idx);
        why = s_encode(L, -1, w, depth + 1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1); /* the key array */
    return why;
}

/* ---- contract msgpack: bytes -> checked, canonical -------------------------------------- */

/* Whether a value starting with byte t may be a map key: an integer or a string. */
static bool s_key_type(uint8_t t)
{
    return t <= 0x7f || t >= 0xe0 || (t & 0xe0) == 0xa0 || (t >= 0xcc && t <= 0xd3) ||
           (t >= 0xd9 && t <= 0xdb) || (t >= 0xc4 && t <= 0xc6);
}

/*
 * Walks one value in data[*at..size) without allocating: only nil, booleans, integers
 * (int64 range), str, bin, arrays and maps, counts no larger than the bytes left, at most
 * EC_CONTRACT_DEPTH_MAX deep. Canonical form is checked by re-encoding (s_canon).
 */
static bool s_scan(const uint8_t *d, size_t size, size_t *at, int depth)
{
    if (*at >= size || depth > EC_CONTRACT_DEPTH_MAX)
        return false;
    uint8_t t = d[(*at)++];
    size_t left = size - *at, n = 0, skip = 0;
    uint64_t count = 0;
    bool map = false;
    if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3)
        return true;
    if ((t & 0xe0) == 0xa0) {
        skip = t & 0x1f;
    } else if ((t & 0xf0) == 0x90) {
        count = t & 0x0f;
    } else if ((t & 0xf0) == 0x80) {
        count = t & 0x0f;
        map = true;
    } else {
        switch (t) {
            case 0xcc:
            case 0xd0:
                skip = 1;
                break;
            case 0xcd:
            case 0xd1:
                skip = 2;
                break;
            case 0xce:
            case 0xd2:
                skip = 4;
                break;
            case 0xd3:
                skip = 8;
                break;
            case 0xcf: /* uint64: only up to INT64_MAX is a Lua integer */
                if (left < 8 || d[*at] & 0x80)
                    return false;
                skip = 8;
                break;
            case 0xd9:
            case 0xc4:
                n = 1;
                break;
            case 0xda:
            case 0xc5:
                n = 2;
                break;
            case 0xdb:
            case 0xc6:
                n = 4;
                break;
            case 0xdc:
                n = 2;
                break;
            case 0xdd:
                n = 4;
                break;
            case 0xde:
                n = 2;
                map = true;
                break;
            case 0xdf:
                n = 4;
                map = true;
                break;
            default:
                return false; /* floats, ext, 0xc1 */
        }
        if (n) {
            if (left < n)
                return false;
            uint64_t v = 0;
            for (size_t i = 0; i < n; i++)
                v = v << 8 | d[*at + i];
            *at += n;
            left -= n;
            if (t == 0xdc || t == 0xdd || t == 0xde || t == 0xdf)
                count = v;
            else
                skip = v;
        }
    }
    if (skip) {
        if (left < skip)
            return false;
        *at += skip;
        return true;
    }
    if (count > left)
        return false;
    for (uint64_t i = 0; i < count; i++) {
        if (map && (*at >= size || !s_key_type(d[*at]) || !s_scan(d, size, at, depth + 1)))
            return false;
        if (!s_scan(d, size, at, depth + 1))
            return false;
    }
    return true;
}

/* Pushes the scanned value at data[*at] as a Lua value (trusted: s_scan passed). */
static void s_push(lua_State *L, const uint8_t *d, size_t *at, int depth);

static uint64_t s_be(const uint8_t *d, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | d[i];
    return v;
}

static void s_push(lua_State *L, const uint8_t *d, size_t *at, int depth)
{
    luaL_checkstack(L, 3, "value too deep");
    uint8_t t = d[(*at)++];
    uint64_t count = 0;
    bool map = false;
    size_t len = 0;
    if (t <= 0x7f) {
        lua_pushinteger(L, t);
        return;
    }
    if (t >= 0xe0) {
        lua_pushinteger(L, (int8_t)t);
        return;
    }
    if ((t & 0xe0) == 0xa0) {
        len = t & 0x1f;
        lua_pushlstring(L, (const char *)d + *at, len);
        *at += len;
        return;
    }
    if ((t & 0xf0) == 0x90 || (t & 0xf0) == 0x80) {
        count = t & 0x0f;
        map = (t & 0xf0) == 0x80;
    } else {
        switch (t) {
            case 0xc0:
                lua_pushnil(L);
                return;
            case 0xc2:
                lua_pushboolean(L, 0);
                return;
            case 0xc3:
                lua_pushboolean(L, 1);
                return;
            case 0xcc:
                lua_pushinteger(L, (lua_Integer)s_be(d + *at, 1));
                *at += 1;
                return;
            case 0xcd:
                lua_pushinteger(L, (lua_Integer)s_be(d + *at, 2));
                *at += 2;
                return;
            case 0xce:
                lua_pushinteger(L, (lua_Integer)s_be(d + *at, 4));
                *at += 4;
                return;
            case 0xcf:
                lua_pushinteger(L, (lua_Integer)s_be(d + *at, 8));
                *at += 8;
                return;
            case 0xd0:
                lua_pushinteger(L, (int8_t)s_be(d + *at, 1));
                *at += 1;
                return;
            case 0xd1:
                lua_pushinteger(L, (int16_t)s_be(d + *at, 2));
                *at += 2;
                return;
            case 0xd2:
                lua_pushinteger(L, (int32_t)s_be(d + *at, 4));
                *at += 4;
                return;
            case 0xd3:
                lua_pushinteger(L, (lua_Integer)(int64_t)s_be(d + *at, 8));
                *at += 8;
                return;
            case 0xd9:
            case 0xc4:
                len = (size_t)s_be(d + *at, 1);
                *at += 1;
                break;
            case 0xda:
            case 0xc5:
                len = (size_t)s_be(d + *at, 2);
                *at += 2;
                break;
            case 0xdb:
            case 0xc6:
                len = (size_t)s_be(d + *at, 4);
                *at += 4;
                break;
            case 0xdc:
                count = s_be(d + *at, 2);
                *at += 2;
                break;
            case 0xdd:
                count = s_be(d + *at, 4);
                *at += 4;
                break;
            case 0xde:
                count = s_be(d + *at, 2);
                *at += 2;
                map = true;
                break;
            default:
                count = s_be(d + *at, 4);
                *at += 4;
                map = true;
                break; /* 0xdf */
        }
        if (t == 0xd9 || t == 0xda || t == 0xdb || t == 0xc4 || t == 0xc5 || t == 0xc6) {
            lua_pushlstring(L, (const char *)d + *at, len);
            *at += len;
            return;
        }
    }
    lua_createtable(L, map ? 0 : (int)count, map ? (int)count : 0);
    for (uint64_t i = 0; i < count; i++) {
        if (map) {
            s_push(L, d, at, depth + 1);
            s_push(L, d, at, depth + 1);
            lua_rawset(L, -3);
        } else {
            s_push(L, d, at, depth + 1);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
    }
}

/* ---- host functions ------------------------------------------------------------------- */

static int s_fail_fault(lua_State *L, int code)
{
    s_run_t *r = s_run_of(L);
    if (!r->fault)
        r->fault = code;
    return luaL_error(L, "host fault");
}

static const char *s_key_arg(lua_State *L, size_t *len)
{
    const char *k = luaL_checklstring(L, 1, len);
    if (*len == 0 || *len > EC_CONTRACT_KEY_MAX)
        luaL_error(L, "a storage key has 1..%d bytes", EC_CONTRACT_KEY_MAX);
    return k;
}

static int s_storage_get(lua_State *L)
{
    size_t klen = 0;
    const char *k = s_key_arg(L, &klen);
    const ec_contract_host_t *h = s_run_of(L)->host;
    if (!h->get)
        return luaL_error(L, "storage is not available here");
    uint8_t *val = NULL;
    size_t size = 0;
    int rc = h->get(h->ctx, (const uint8_t *)k, klen, &val, &size);
    if (rc == EC_ENOTFOUND) {
        lua_pushnil(L);
        return 1;
    }
    if (rc != 0)
        return s_fail_fault(L, rc);
    size_t at = 0;
    bool ok = s_scan(val, size, &at, 0) && at == size;
    if (!ok) {
        free(val);
        return s_fail_fault(L, EC_EINTERNAL); /* our own bytes: a damaged store */
    }
    at = 0;
    /* Copy it onto the Lua stack; an error while copying jumps past free: held frees it. */
    s_run_t *r = s_run_of(L);
    r->held = val;
    lua_pushlstring(L, (const char *)val, size);
    r->held = NULL;
    free(val);
    const uint8_t *copy = (const uint8_t *)lua_tostring(L, -1);
    s_push(L, copy, &at, 0);
    return 1;
}

/* Encodes the value at idx into a writer owned by a userdata on the stack (freed by the
 * GC on any error). Returns the writer; raises when the value cannot cross. */
static int s_writer_gc(lua_State *L)
{
    ec_writer_t *w = lua_touserdata(L, 1);
    ec_writer_fini(w);
    return 0;
}

/* A writer owned by a userdata pushed on the stack: the GC frees it, even when an error
 * jumps past its user. */
static ec_writer_t *s_writer_push(lua_State *L)
{
    /* Everything that may raise comes before the writer holds memory: then its __gc. */
    lua_newtable(L);
    lua_pushcfunction(L, s_writer_gc);
    lua_setfield(L, -2, "__gc");
    ec_writer_t *w = lua_newuserdatauv(L, sizeof *w, 0);
    lua_insert(L, -2);
    ec_writer_init(w);
    lua_setmetatable(L, -2);
    return w;
}

static ec_writer_t *s_encode_arg(lua_State *L, int idx, const char *what)
{
    idx = lua_absindex(L, idx);
    ec_writer_t *w = s_writer_push(L);
    const char *why = s_encode(L, idx, w, 0);
    if (why)
        luaL_error(L, "%s cannot be stored: it holds %s", what, why);
    if (ec_writer_size(w) > EC_CONTRACT_VALUE_MAX)
        luaL_error(L, "%s is over %d bytes encoded", what, EC_CONTRACT_VALUE_MAX);
    return w;
}

static int s_storage_put(lua_State *L)
{
    size_t klen = 0;
    const char *k = s_key_arg(L, &klen);
    luaL_checkany(L, 2);
    ec_writer_t *w = s_encode_arg(L, 2, "the value");
    const ec_contract_host_t *h = s_run_of(L)->host;
    if (!h->put)
        return luaL_error(L, "storage is not available here");
    int rc = h->put(h->ctx, (const uint8_t *)k, klen, ec_writer_data(w), ec_writer_size(w));
    return rc ? s_fail_fault(L, rc) : 0;
}

static int s_storage_del(lua_State *L)
{
    size_t klen = 0;
    const char *k = s_key_arg(L, &klen);
    const ec_contract_host_t *h = s_run_of(L)->host;
    if (!h->del)
        return luaL_error(L, "storage is not available here");
    int rc = h->del(h->ctx, (const uint8_t *)k, klen);
    return rc ? s_fail_fault(L, rc) : 0;
}

static int s_emit(lua_State *L)
{
    size_t len = 0;
    const char *name = luaL_checklstring(L, 1, &len);
    if (len == 0 || len > 63 || strlen(name) != len)
        return luaL_error(L, "an event name has 1..63 bytes");
    if (s_run_of(L)->events >= EC_CONTRACT_EVENTS_MAX)
        return luaL_error(L, "a call emits at most %d events", EC_CONTRACT_EVENTS_MAX);
    ec_writer_t *w = s_encode_arg(L, 2, "the event's data");
    const ec_contract_host_t *h = s_run_of(L)->host;
    if (!h->emit)
        return luaL_error(L, "events are not available here");
    int rc = h->emit(h->ctx, name, ec_writer_data(w), ec_writer_size(w));
    if (rc)
        return s_fail_fault(L, rc);
    s_run_of(L)->events++;
    return 0;
}

/* Pushes the one contract-msgpack value a host callback wrote (our own bytes: a value
 * that does not scan is a damaged store, a local fault). */
static int s_push_host(lua_State *L, ec_writer_t *w)
{
    const uint8_t *d = ec_writer_data(w);
    size_t size = ec_writer_size(w), at = 0;
    if (size == 0 || !s_scan(d, size, &at, 0) || at != size)
        return s_fail_fault(L, EC_EINTERNAL);
    at = 0;
    s_push(L, d, &at, 0);
    return 1;
}

/* Charges host work to the budget; raises once it is spent (sticky, like s_hook). */
static void s_charge(lua_State *L, uint64_t cost)
{
    s_run_t *r = s_run_of(L);
    r->spent += cost;
    if (!r->budget_hit && r->spent > r->budget) {
        r->budget_hit = true;
        lua_sethook(L, s_hook, LUA_MASKCOUNT, 1);
        luaL_error(L, "instruction budget exhausted");
    }
}

/* storage.range(prefix [, after [, limit]]): entries {key, value} in key order. */
static int s_storage_range(lua_State *L)
{
    size_t plen = 0, alen = 0;
    const char *prefix = luaL_checklstring(L, 1, &plen);
    const char *after = luaL_optlstring(L, 2, "", &alen);
    lua_Integer limit = luaL_optinteger(L, 3, EC_CONTRACT_RANGE_MAX);
    if (plen > EC_CONTRACT_KEY_MAX || alen > EC_CONTRACT_KEY_MAX)
        return luaL_error(L, "a storage key has at most %d bytes", EC_CONTRACT_KEY_MAX);
    if (limit < 1 || limit > EC_CONTRACT_RANGE_MAX)
        return luaL_error(L, "storage.range returns 1..%d entries a call", EC_CONTRACT_RANGE_MAX);
    const ec_contract_host_t *h = s_run_of(L)->host;
    if (!h->range)
        return luaL_error(L, "storage is not available here");
    ec_writer_t *w = s_writer_push(L);
    uint64_t cost = 0;
    int rc = h->range(h->ctx, (const uint8_t *)prefix, plen, (const uint8_t *)after, alen,
                      (uint32_t)limit, w, &cost);
    if (rc != 0)
        return s_fail_fault(L, rc);
    s_charge(L, cost);
    return s_push_host(L, w);
}

/* call.roles(): the caller's roles, an array of {role = name, org = code}. */
static int s_call_roles(lua_State *L)
{
    const ec_contract_host_t *h = s_run_of(L)->host;
    if (!h->roles)
        return luaL_error(L, "the caller's roles are not available here");
    ec_writer_t *w = s_writer_push(L);
    int rc = h->roles(h->ctx, w);
    return rc ? s_fail_fault(L, rc) : s_push_host(L, w);
}

/* call.has_role(role [, org]): whether the caller holds it (for org, or for any). */
static int s_call_has_role(lua_State *L)
{
    const char *role = luaL_checkstring(L, 1);
    const char *org = luaL_optstring(L, 2, NULL);
    const ec_contract_host_t *h = s_run_of(L)->host;
    if (!h->has_role)
        return luaL_error(L, "the caller's roles are not available here");
    int rc = h->has_role(h->ctx, role, org);
    if (rc == EC_EINVAL)
        return luaL_error(L, "call.has_role: no role named '%s'", role);
    if (rc < 0)
        return s_fail_fault(L, rc);
    lua_pushboolean(L, rc);
    return 1;
}

/* call.attested(): whether the caller's real-name identity is attested. */
static int s_call_attested(lua_State *L)
{
    const ec_contract_host_t *h = s_run_of(L)->host;
    if (!h->attested)
        return luaL_error(L, "attestations are not available here");
    int rc = h->attested(h->ctx);
    if (rc < 0)
        return s_fail_fault(L, rc);
    lua_pushboolean(L, rc);
    return 1;
}

/* escalate(role, request [, org]): a pending decision for a holder of role; its number. */
static int s_escalate(lua_State *L)
{
    size_t rlen = 0, olen = 0;
    const char *role = luaL_checklstring(L, 1, &rlen);
    luaL_checkany(L, 2);
    const char *org = luaL_optlstring(L, 3, "", &olen);
    if (rlen == 0 || strlen(role) != rlen || olen >= 32 || strlen(org) != olen)
        return luaL_error(L, "escalate(role, request [, org]): a role name and an org code");
    ec_writer_t *w = s_encode_arg(L, 2, "the request");
    const ec_contract_host_t *h = s_run_of(L)->host;
    if (!h->escalate)
        return luaL_error(L, "escalation is not available here");
    uint64_t id = 0;
    int rc = h->escalate(h->ctx, role, org, ec_writer_data(w), ec_writer_size(w), &id);
    if (rc == EC_EINVAL)
        return luaL_error(L, "escalate: no role named '%s', or '%s' is no organization code", role,
                          org);
    if (rc != 0)
        return s_fail_fault(L, rc);
    lua_pushinteger(L, (lua_Integer)id);
    return 1;
}

/* sorted_pairs(t): its keys in a defined order (integers ascending, then strings). */
static int s_sorted_next(lua_State *L)
{
    lua_Integer i = lua_tointeger(L, lua_upvalueindex(3)) + 1;
    lua_pushinteger(L, i);
    lua_replace(L, lua_upvalueindex(3));
    if (lua_rawgeti(L, lua_upvalueindex(2), i) == LUA_TNIL)
        return 1;
    lua_pushvalue(L, -1);
    lua_rawget(L, lua_upvalueindex(1));
    return 2;
}

static int s_sorted_pairs(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        lua_pop(L, 1);
        int kt = lua_type(L, -1);
        if (!(kt == LUA_TSTRING || (kt == LUA_TNUMBER && lua_isinteger(L, -1))))
            return luaL_error(L, "sorted_pairs: a key that is neither an integer nor a string");
        n++;
    }
    s_key_t *keys = lua_newuserdatauv(L, (n ? n : 1) * sizeof *keys, 0);
    size_t k = 0;
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        lua_pop(L, 1);
        s_key_t *e = &keys[k++];
        e->is_str = lua_type(L, -1) == LUA_TSTRING;
        if (e->is_str)
            e->s = lua_tolstring(L, -1, &e->len);
        else
            e->i = lua_tointeger(L, -1);
    }
    qsort(keys, n, sizeof *keys, s_key_cmp);
    lua_pushvalue(L, 1);           /* upvalue 1: the table            */
    lua_createtable(L, (int)n, 0); /* upvalue 2: its keys, in order   */
    for (size_t i = 0; i < n; i++) {
        if (keys[i].is_str)
            lua_pushlstring(L, keys[i].s, keys[i].len);
        else
            lua_pushinteger(L, keys[i].i);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_pushinteger(L, 0); /* upvalue 3: the position         */
    lua_pushcclosure(L, s_sorted_next, 3);
    return 1;
}

/* tostring without platform- or address-dependent text. */
static int s_tostring(lua_State *L)
{
    luaL_checkany(L, 1);
    switch (lua_type(L, 1)) {
        case LUA_TNIL:
        case LUA_TBOOLEAN:
        case LUA_TSTRING:
            luaL_tolstring(L, 1, NULL);
            return 1;
        case LUA_TNUMBER:
            if (lua_isinteger(L, 1)) {
                luaL_tolstring(L, 1, NULL);
                return 1;
            }
            return luaL_error(L, "tostring of a float is not allowed (its text is not portable)");
        default:
            return luaL_error(L, "tostring of a %s is not allowed (its text names an address)",
                              luaL_typename(L, 1));
    }
}

/* string.format with %d %i %x %X %c %s and %% only, and only integers and strings. */
static int s_format(lua_State *L)
{
    const char *f = luaL_checkstring(L, 1);
    int arg = 1;
    for (const char *p = f; *p; p++) {
        if (*p != '%')
            continue;
        p++;
        if (*p == '%')
            continue;
        while (*p && strchr("-+ #0123456789.", *p))
            p++;
        arg++;
        if (*p && strchr("dixXc", *p)) {
            if (!lua_isinteger(L, arg))
                return luaL_error(L, "string.format: argument %d must be an integer", arg - 1);
        } else if (*p == 's') {
            int t = lua_type(L, arg);
            if (t != LUA_TSTRING && !(t == LUA_TNUMBER && lua_isinteger(L, arg)))
                return luaL_error(L, "string.format: argument %d must be a string or an integer",
                                  arg - 1);
        } else {
            return luaL_error(L, "string.format: only %%d %%i %%x %%X %%c %%s are allowed");
        }
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static void s_drop(lua_State *L, const char *table, const char *const *names)
{
    if (table)
        lua_getglobal(L, table);
    else
        lua_pushglobaltable(L);
    for (; *names; names++) {
        lua_pushnil(L);
        lua_setfield(L, -2, *names);
    }
    lua_pop(L, 1);
}

/* Opens the sandbox's libraries and the host's functions (runs under lua_pcall). */
static int s_open(lua_State *L)
{
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
    lua_settop(L, 0);
    static const char *const base[] = {"collectgarbage", "dofile", "getmetatable", "load",
                                       "loadfile",       "next",   "pairs",        "print",
                                       "setmetatable",   "warn",   "require",      NULL};
    static const char *const string[] = {"dump", NULL};
    static const char *const table[] = {"sort", NULL};
    static const char *const math[] = {"random", "randomseed", NULL};
    s_drop(L, NULL, base);
    s_drop(L, LUA_STRLIBNAME, string);
    s_drop(L, LUA_TABLIBNAME, table);
    s_drop(L, LUA_MATHLIBNAME, math);
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_getfield(L, -1, "format");
    lua_pushcclosure(L, s_format, 1);
    lua_setfield(L, -2, "format");
    lua_pop(L, 1);
    lua_register(L, "tostring", s_tostring);
    lua_register(L, "sorted_pairs", s_sorted_pairs);
    lua_register(L, "emit", s_emit);
    lua_register(L, "escalate", s_escalate);
    static const luaL_Reg storage[] = {{"get", s_storage_get},
                                       {"put", s_storage_put},
                                       {"del", s_storage_del},
                                       {"range", s_storage_range},
                                       {NULL, NULL}};
    luaL_newlib(L, storage);
    lua_setglobal(L, "storage");
    const ec_contract_host_t *h = s_run_of(L)->host;
    static const luaL_Reg call[] = {{"roles", s_call_roles},
                                    {"has_role", s_call_has_role},
                                    {"attested", s_call_attested},
                                    {NULL, NULL}};
    luaL_newlib(L, call);
    lua_pushstring(L, h->tx ? h->tx : "");
    lua_setfield(L, -2, "tx");
    lua_pushstring(L, h->caller ? h->caller : "");
    lua_setfield(L, -2, "caller");
    lua_pushinteger(L, (lua_Integer)h->height);
    lua_setfield(L, -2, "height");
    lua_pushinteger(L, (lua_Integer)h->time_ms);
    lua_setfield(L, -2, "time_ms");
    lua_setglobal(L, "call");
    lua_createtable(L, 0, 4);
    lua_pushstring(L, h->name ? h->name : "");
    lua_setfield(L, -2, "name");
    lua_pushstring(L, h->owner ? h->owner : "");
    lua_setfield(L, -2, "owner");
    lua_pushstring(L, h->org ? h->org : "");
    lua_setfield(L, -2, "org");
    lua_pushinteger(L, (lua_Integer)h->version);
    lua_setfield(L, -2, "version");
    lua_setglobal(L, "contract");
    return 0;
}

/* ---- calls ------------------------------------------------------------------------------- */

/* The message of the error on top of the stack, or a fixed text for a non-string one. */
static const char *s_errmsg(lua_State *L)
{
    const char *m = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    return m ? m : "the contract raised an error that is not a string";
}

/* Builds the sandbox and loads the code. 0, or a code with st set (state in *out). */
static int s_start(s_run_t *r, const uint8_t *code, size_t size, lua_State **out, ec_status_t *st)
{
    *out = NULL;
    if (size == 0 || size > EC_CONTRACT_CODE_MAX)
        return ec_status_set(st, EC_ETOOBIG, "contract code must have 1..%u bytes",
                             EC_CONTRACT_CODE_MAX);
    if (code[0] == LUA_SIGNATURE[0])
        return ec_status_set(st, EC_ECONTRACT, "contract code must be Lua source, not bytecode");
    lua_State *L = lua_newstate(s_alloc, r);
    if (!L)
        return ec_status_set(st, EC_ENOMEM, "cannot create an interpreter");
    *out = L;
    lua_sethook(L, s_hook, LUA_MASKCOUNT, S_HOOK_STEP);
    lua_pushcfunction(L, s_open);
    int rc = lua_pcall(L, 0, 0, 0);
    if (rc == LUA_OK)
        rc = luaL_loadbufferx(L, (const char *)code, size, "=contract", "t");
    if (rc == LUA_OK)
        rc = lua_pcall(L, 0, 0, 0); /* the chunk defines the functions */
    if (rc == LUA_OK)
        return 0;
    if (r->fault)
        return ec_status_set(st, r->fault, "local fault while loading the contract");
    if (r->budget_hit || r->mem_hit)
        return ec_status_set(st, EC_ELIMIT, "the contract went over its %s while loading",
                             r->budget_hit ? "instruction budget" : "memory cap");
    return ec_status_set(st, EC_ECONTRACT, "contract code: %s", s_errmsg(L));
}

static void s_limits(s_run_t *r, const ec_contract_limits_t *lim)
{
    r->budget = lim && lim->budget ? lim->budget : EC_CONTRACT_BUDGET_DEFAULT;
    r->mem_max = lim && lim->mem_max ? lim->mem_max : EC_CONTRACT_MEM_DEFAULT;
}

int ec_contract_check(const uint8_t *code, size_t size, ec_status_t *st)
{
    static const ec_contract_host_t none = {0};
    s_run_t r = {.host = &none};
    s_limits(&r, NULL);
    lua_State *L = NULL;
    int rc = s_start(&r, code, size, &L, st);
    if (L)
        lua_close(L);
    return rc;
}

int ec_contract_value_check(const uint8_t *data, size_t size)
{
    size_t at = 0;
    if (size == 0 || size > EC_CONTRACT_VALUE_MAX || !s_scan(data, size, &at, 0) || at != size)
        return EC_EINVAL;
    return 0;
}

/* What s_invoke needs (passed as light userdata). */
typedef struct {
    const char *fn;
    const uint8_t *args;
    uint64_t count;
    size_t at; /* the first argument's offset                                  */
    ec_writer_t *result;
} s_invoke_t;

/* Under lua_pcall, everything that may allocate: finds the function, converts the
 * arguments, calls it and encodes its result, so a memory error anywhere is caught. */
static int s_invoke(lua_State *L)
{
    s_invoke_t *iv = lua_touserdata(L, 1);
    lua_settop(L, 0);
    if (lua_getglobal(L, iv->fn) != LUA_TFUNCTION)
        return luaL_error(L, "the contract has no function '%s'", iv->fn);
    luaL_checkstack(L, (int)iv->count + 4, "too many arguments");
    size_t at = iv->at;
    for (uint64_t i = 0; i < iv->count; i++)
        s_push(L, iv->args, &at, 1);
    lua_call(L, (int)iv->count, 1);
    size_t before = ec_writer_size(iv->result);
    const char *why = s_encode(L, -1, iv->result, 0);
    if (why)
        return luaL_error(L, "the result cannot leave the contract: it holds %s", why);
    if (ec_writer_size(iv->result) - before > EC_CONTRACT_VALUE_MAX)
        return luaL_error(L, "the result is over %d bytes", EC_CONTRACT_VALUE_MAX);
    return 0;
}

/* Runs fn with the arguments (one array, spread); writes the result (unspecified bytes
 * when the call fails). */
static int s_call(lua_State *L, s_run_t *r, const char *fn, const uint8_t *args,
                  ec_writer_t *result, ec_status_t *st)
{
    if ((args[0] < 0x90 || args[0] > 0x9f) && args[0] != 0xdc && args[0] != 0xdd)
        return ec_status_set(st, EC_EINVAL, "contract arguments must be an array");
    s_invoke_t iv = {.fn = fn, .args = args, .at = 1, .result = result};
    uint8_t t = args[0];
    iv.count = t <= 0x9f ? (uint64_t)(t & 0x0f) : t == 0xdc ? s_be(args + 1, 2) : s_be(args + 1, 4);
    iv.at += t == 0xdc ? 2 : t == 0xdd ? 4 : 0;
    if (iv.count > 32)
        return ec_status_set(st, EC_EINVAL, "a contract call takes at most 32 arguments");
    lua_pushcfunction(L, s_invoke);
    lua_pushlightuserdata(L, &iv);
    int rc = lua_pcall(L, 1, 0, 0);
    if (r->fault)
        return ec_status_set(st, r->fault, "local fault during the contract call");
    if (r->budget_hit || r->mem_hit)
        return ec_status_set(st, EC_ELIMIT, "the contract went over its %s",
                             r->budget_hit ? "instruction budget" : "memory cap");
    if (rc != LUA_OK)
        return ec_status_set(st, EC_ECONTRACT, "%s", s_errmsg(L));
    return 0;
}

int ec_contract_call(const uint8_t *code, size_t code_size, const char *fn, const uint8_t *args,
                     size_t args_size, const ec_contract_host_t *host,
                     const ec_contract_limits_t *limits, ec_writer_t *result, uint64_t *used,
                     ec_status_t *st)
{
    assert(code && fn && host && result);
    if (used)
        *used = 0;
    if (!fn[0] || strlen(fn) >= EC_CONTRACT_FN_MAX)
        return ec_status_set(st, EC_EINVAL, "a function name has 1..%d bytes",
                             EC_CONTRACT_FN_MAX - 1);
    if (!args || ec_contract_value_check(args, args_size) != 0)
        return ec_status_set(st, EC_EINVAL,
                             "contract arguments must be one canonical contract-msgpack array");
    s_run_t r = {.host = host};
    s_limits(&r, limits);
    lua_State *L = NULL;
    int rc = s_start(&r, code, code_size, &L, st);
    if (rc == 0)
        rc = s_call(L, &r, fn, args, result, st);
    if (L)
        lua_close(L);
    free(r.held);
    if (used)
        *used = r.spent;
    return rc;
}
