/*
 * test_contract.c - the contract engine (common/ec_contract.c): calls and values, storage
 * and events through a host in memory, the sandbox against what a hostile contract would
 * try (each removed library function, floats and addresses in text, string and table
 * bombs, endless loops, deep recursion, errors caught with pcall), determinism across
 * interpreters, and malformed inputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ec_codec.h"
#include "ec_contract.h"

/* ---- a host in memory ------------------------------------------------------------------- */

#define S_KEYS_MAX 64

typedef struct {
    size_t count;
    char *keys[S_KEYS_MAX];
    size_t key_len[S_KEYS_MAX];
    uint8_t *vals[S_KEYS_MAX];
    size_t val_len[S_KEYS_MAX];
    int fail; /* a fault every storage call returns (0: none)                 */
    char last_event[64];
    size_t events;
    uint64_t range_cost; /* what range charges                                      */
    char escalated_role[32];
} s_store_t;

static int s_find(s_store_t *s, const uint8_t *key, size_t ks)
{
    for (size_t i = 0; i < s->count; i++)
        if (s->key_len[i] == ks && memcmp(s->keys[i], key, ks) == 0)
            return (int)i;
    return -1;
}

static int s_get(void *ctx, const uint8_t *key, size_t ks, uint8_t **val, size_t *vs)
{
    s_store_t *s = ctx;
    if (s->fail)
        return s->fail;
    int i = s_find(s, key, ks);
    if (i < 0)
        return EC_ENOTFOUND;
    *val = malloc(s->val_len[i]);
    memcpy(*val, s->vals[i], s->val_len[i]);
    *vs = s->val_len[i];
    return 0;
}

static int s_put(void *ctx, const uint8_t *key, size_t ks, const uint8_t *val, size_t vs)
{
    s_store_t *s = ctx;
    if (s->fail)
        return s->fail;
    int i = s_find(s, key, ks);
    if (i < 0) {
        assert_true(s->count < S_KEYS_MAX);
        i = (int)s->count++;
        s->keys[i] = malloc(ks);
        memcpy(s->keys[i], key, ks);
        s->key_len[i] = ks;
    } else {
        free(s->vals[i]);
    }
    s->vals[i] = malloc(vs);
    memcpy(s->vals[i], val, vs);
    s->val_len[i] = vs;
    return 0;
}

static int s_del(void *ctx, const uint8_t *key, size_t ks)
{
    s_store_t *s = ctx;
    int i = s_find(s, key, ks);
    if (i >= 0) {
        free(s->keys[i]);
        free(s->vals[i]);
        s->count--;
        s->keys[i] = s->keys[s->count];
        s->key_len[i] = s->key_len[s->count];
        s->vals[i] = s->vals[s->count];
        s->val_len[i] = s->val_len[s->count];
    }
    return 0;
}

static int s_emit(void *ctx, const char *name, const uint8_t *data, size_t size)
{
    s_store_t *s = ctx;
    (void)data;
    assert_true(size > 0);
    snprintf(s->last_event, sizeof s->last_event, "%s", name);
    s->events++;
    return 0;
}

/* Every key under the prefix, in insertion order (enough for the engine's side). */
static int s_range(void *ctx, const uint8_t *prefix, size_t ps, const uint8_t *after, size_t as,
                   uint32_t limit, ec_writer_t *out, uint64_t *cost)
{
    s_store_t *s = ctx;
    (void)after, (void)as;
    uint32_t n = 0;
    for (size_t i = 0; i < s->count; i++)
        n += s->key_len[i] >= ps && memcmp(s->keys[i], prefix, ps) == 0;
    n = n < limit ? n : limit;
    ec_write_array(out, n);
    for (size_t i = 0, k = 0; i < s->count && k < n; i++) {
        if (s->key_len[i] < ps || memcmp(s->keys[i], prefix, ps) != 0)
            continue;
        ec_write_map(out, 2);
        ec_write_cstr(out, "key");
        ec_contract_write_string(out, (const uint8_t *)s->keys[i], s->key_len[i]);
        ec_write_cstr(out, "value");
        ec_write_raw(out, s->vals[i], s->val_len[i]);
        k++;
    }
    *cost = s->range_cost;
    return 0;
}

/* The caller is an issuer of ORG1, attested. */
static int s_roles(void *ctx, ec_writer_t *out)
{
    (void)ctx;
    ec_write_array(out, 1);
    ec_write_map(out, 2);
    ec_write_cstr(out, "org");
    ec_write_cstr(out, "ORG1");
    ec_write_cstr(out, "role");
    ec_write_cstr(out, "issuer");
    return 0;
}

static int s_has_role(void *ctx, const char *role, const char *org)
{
    (void)ctx;
    if (strcmp(role, "issuer") != 0 && strcmp(role, "ca") != 0)
        return EC_EINVAL;
    return strcmp(role, "issuer") == 0 && (!org || strcmp(org, "ORG1") == 0);
}

static int s_attested(void *ctx)
{
    return ((s_store_t *)ctx)->fail ? ((s_store_t *)ctx)->fail : 1;
}

static int s_escalate(void *ctx, const char *role, const char *org, const uint8_t *req, size_t size,
                      uint64_t *id)
{
    s_store_t *s = ctx;
    (void)org, (void)req;
    assert_true(size > 0);
    if (strcmp(role, "issuer") != 0)
        return EC_EINVAL;
    snprintf(s->escalated_role, sizeof s->escalated_role, "%s", role);
    *id = 7;
    return 0;
}

static void s_store_free(s_store_t *s)
{
    for (size_t i = 0; i < s->count; i++) {
        free(s->keys[i]);
        free(s->vals[i]);
    }
    memset(s, 0, sizeof *s);
}

/* ---- helpers ------------------------------------------------------------------------------ */

typedef struct {
    s_store_t store;
    ec_contract_host_t host;
    ec_writer_t out;
    ec_status_t st;
    uint64_t used;
} fx_t;

static int s_setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    fx->host = (ec_contract_host_t){.ctx = &fx->store,
                                    .get = s_get,
                                    .put = s_put,
                                    .del = s_del,
                                    .emit = s_emit,
                                    .range = s_range,
                                    .roles = s_roles,
                                    .has_role = s_has_role,
                                    .attested = s_attested,
                                    .escalate = s_escalate,
                                    .caller = "ec1caller",
                                    .height = 42,
                                    .time_ms = 1700000000000ull};
    ec_writer_init(&fx->out);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fx_t *fx = *state;
    s_store_free(&fx->store);
    ec_writer_fini(&fx->out);
    free(fx);
    return 0;
}

/* Calls fn of `code` with the arguments written by the caller into args (or none). */
static int s_call_w(fx_t *fx, const char *code, const char *fn, const ec_writer_t *args,
                    const ec_contract_limits_t *lim)
{
    ec_writer_t none;
    ec_writer_init(&none);
    ec_write_array(&none, 0);
    const ec_writer_t *a = args ? args : &none;
    ec_writer_reset(&fx->out);
    ec_status_clear(&fx->st);
    int rc = ec_contract_call((const uint8_t *)code, strlen(code), fn, ec_writer_data(a),
                              ec_writer_size(a), &fx->host, lim, &fx->out, &fx->used, &fx->st);
    ec_writer_fini(&none);
    if (rc != 0) {
        assert_int_equal(fx->st.code, rc);
        assert_true(fx->st.msg[0] != '\0');
    }
    return rc;
}

static int s_call(fx_t *fx, const char *code, const char *fn)
{
    return s_call_w(fx, code, fn, NULL, NULL);
}

/* The result's bytes as hex. */
static const char *s_hex(const fx_t *fx)
{
    static char buf[1024];
    size_t n = ec_writer_size(&fx->out);
    assert_true(2 * n < sizeof buf);
    for (size_t i = 0; i < n; i++)
        snprintf(buf + 2 * i, 3, "%02x", ec_writer_data(&fx->out)[i]);
    return buf;
}

/* ---- calls and values --------------------------------------------------------------------- */

static void test_call_and_values(void **state)
{
    fx_t *fx = *state;
    const char *code = "function add(a, b) return a + b end\n"
                       "function echo(v) return v end\n"
                       "function nothing() end\n"
                       "function facts() return {call.caller, call.height, call.time_ms} end\n";
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 2);
    ec_write_int(&a, 40);
    ec_write_int(&a, -2);
    assert_int_equal(s_call_w(fx, code, "add", &a, NULL), 0);
    assert_string_equal(s_hex(fx), "26"); /* 38 */
    assert_int_equal(s_call(fx, code, "nothing"), 0);
    assert_string_equal(s_hex(fx), "c0");
    assert_int_equal(s_call(fx, code, "facts"), 0);
    assert_string_equal(s_hex(fx), "93a965633163616c6c65722acf0000018bcfe56800");

    /* A map comes back canonical: integer keys first, then strings bytewise; a string
     * that is not UTF-8 as bin. */
    ec_writer_reset(&a);
    ec_write_array(&a, 1);
    ec_write_map(&a, 4);
    ec_write_cstr(&a, "b");
    ec_write_int(&a, 1);
    ec_write_cstr(&a, "a");
    ec_write_bin(&a, "\xff", 1);
    ec_write_int(&a, 7);
    ec_write_bool(&a, true);
    ec_write_int(&a, -1);
    ec_write_nil(&a); /* nil values vanish from a Lua table */
    assert_int_equal(s_call_w(fx, code, "echo", &a, NULL), 0);
    assert_string_equal(s_hex(fx), "8307c3a161c401ffa16201");
    /* An array stays an array; the empty table is the empty array. */
    ec_writer_reset(&a);
    ec_write_array(&a, 1);
    ec_write_array(&a, 3);
    ec_write_cstr(&a, "x");
    ec_write_array(&a, 0);
    ec_write_int(&a, 3);
    assert_int_equal(s_call_w(fx, code, "echo", &a, NULL), 0);
    assert_string_equal(s_hex(fx), "93a1789003");

    /* Unknown function, malformed arguments. */
    assert_int_equal(s_call(fx, code, "missing"), EC_ECONTRACT);
    assert_non_null(strstr(fx->st.msg, "no function"));
    ec_writer_reset(&a);
    ec_write_int(&a, 1); /* not an array */
    assert_int_equal(s_call_w(fx, code, "echo", &a, NULL), EC_EINVAL);
    const uint8_t bomb[] = {0x91, 0xdd, 0xff, 0xff, 0xff, 0xff}; /* 4 G elements in 6 bytes */
    assert_int_equal(ec_contract_value_check(bomb, sizeof bomb), EC_EINVAL);
    const uint8_t fl[] = {0x91, 0xca, 0, 0, 0, 0}; /* a float32 */
    assert_int_equal(ec_contract_value_check(fl, sizeof fl), EC_EINVAL);
    const uint8_t big[] = {0x91, 0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0}; /* above INT64_MAX */
    assert_int_equal(ec_contract_value_check(big, sizeof big), EC_EINVAL);
    ec_writer_fini(&a);
}

static void test_storage_and_events(void **state)
{
    fx_t *fx = *state;
    const char *code = "function put(k, v) storage.put(k, v) end\n"
                       "function get(k) return storage.get(k) end\n"
                       "function del(k) storage.del(k) end\n"
                       "function pay(n) if storage.get('paid/' .. n) then error('invoice ' .. n .. "
                       "' was reimbursed already') end storage.put('paid/' .. n, true) "
                       "emit('reimbursed', {number = n}) return 1 end\n"
                       "function badkey() storage.put('', 1) end\n"
                       "function badval() storage.put('k', function() end) end\n";
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 2);
    ec_write_cstr(&a, "inv");
    ec_write_map(&a, 2);
    ec_write_cstr(&a, "amount");
    ec_write_int(&a, 1200);
    ec_write_cstr(&a, "lines");
    ec_write_array(&a, 2);
    ec_write_cstr(&a, "desk");
    ec_write_cstr(&a, "chair");
    assert_int_equal(s_call_w(fx, code, "put", &a, NULL), 0);
    ec_writer_reset(&a);
    ec_write_array(&a, 1);
    ec_write_cstr(&a, "inv");
    assert_int_equal(s_call_w(fx, code, "get", &a, NULL), 0);
    assert_string_equal(s_hex(fx), "82a6616d6f756e74cd04b0a56c696e657392a46465736ba56368616972");
    assert_int_equal(s_call_w(fx, code, "del", &a, NULL), 0);
    assert_int_equal(s_call_w(fx, code, "get", &a, NULL), 0);
    assert_string_equal(s_hex(fx), "c0");

    /* Exactly once: the second reimbursement is the contract's refusal. */
    ec_writer_reset(&a);
    ec_write_array(&a, 1);
    ec_write_cstr(&a, "INV-7");
    assert_int_equal(s_call_w(fx, code, "pay", &a, NULL), 0);
    assert_int_equal(fx->store.events, 1);
    assert_string_equal(fx->store.last_event, "reimbursed");
    assert_int_equal(s_call_w(fx, code, "pay", &a, NULL), EC_ECONTRACT);
    assert_non_null(strstr(fx->st.msg, "invoice INV-7 was reimbursed already"));
    assert_int_equal(s_call(fx, code, "badkey"), EC_ECONTRACT);
    assert_int_equal(s_call(fx, code, "badval"), EC_ECONTRACT);

    /* A storage fault is the host's, not a verdict on the contract. */
    fx->store.fail = EC_EIO;
    assert_int_equal(s_call_w(fx, code, "get", &a, NULL), EC_EIO);
    /* ... even when the contract catches it. */
    const char *catcher = "function f() pcall(storage.get, 'k') return 1 end";
    assert_int_equal(s_call(fx, catcher, "f"), EC_EIO);
    fx->store.fail = 0;
    ec_writer_fini(&a);
}

/* ---- the sandbox -------------------------------------------------------------------------- */

static void test_sandbox_removed(void **state)
{
    fx_t *fx = *state;
    static const char *const gone[] = {
        "io",   "os",          "debug",        "package",        "require",
        "load", "loadfile",    "dofile",       "collectgarbage", "pairs",
        "next", "print",       "setmetatable", "getmetatable",   "coroutine",
        "warn", "string.dump", "table.sort",   "math.random",    "math.randomseed",
    };
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++) {
        char code[512];
        snprintf(code, sizeof code,
                 "function f() local v = _G for p in string.gmatch('%s', '[^.]+') do "
                 "if v == nil then return true end v = v[p] end return v == nil end",
                 gone[i]);
        assert_int_equal(s_call(fx, code, "f"), 0);
        if (strcmp(s_hex(fx), "c3") != 0)
            fail_msg("%s is reachable in the sandbox", gone[i]);
    }
    /* The string metatable is out of reach (no getmetatable), so is bytecode. */
    assert_int_equal(s_call(fx, "function f() return ('').dump end", "f"), 0);
    assert_string_equal(s_hex(fx), "c0");
    const char bytecode[] = "\x1bLua\x54";
    ec_status_t st = {0};
    assert_int_equal(ec_contract_check((const uint8_t *)bytecode, sizeof bytecode - 1, &st),
                     EC_ECONTRACT);
    assert_int_equal(ec_contract_check((const uint8_t *)"function (", 10, &st), EC_ECONTRACT);
    assert_non_null(strstr(st.msg, "contract code"));
    assert_int_equal(ec_contract_check((const uint8_t *)"x = 1", 0, &st), EC_ETOOBIG);
    assert_int_equal(ec_contract_check((const uint8_t *)"x = 1", 5, &st), 0);
}

static void test_sandbox_text(void **state)
{
    fx_t *fx = *state;
    /* Floats never leave, and never turn into text; nor do addresses. */
    assert_int_equal(s_call(fx, "function f() return 1 / 2 end", "f"), EC_ECONTRACT);
    assert_non_null(strstr(fx->st.msg, "float"));
    assert_int_equal(s_call(fx, "function f() return tostring(0.5) end", "f"), EC_ECONTRACT);
    assert_int_equal(s_call(fx, "function f() return tostring({}) end", "f"), EC_ECONTRACT);
    assert_int_equal(s_call(fx, "function f() return string.format('%f', 1) end", "f"),
                     EC_ECONTRACT);
    assert_int_equal(s_call(fx, "function f() return string.format('%s', {}) end", "f"),
                     EC_ECONTRACT);
    int frc = s_call(fx, "function f() return string.format('%05d-%s', 42, 'x') end", "f");
    if (frc != 0)
        fail_msg("string.format refused: %s", fx->st.msg);
    assert_string_equal(s_hex(fx), "a730303034322d78"); /* "00042-x" */
    assert_int_equal(s_call(fx, "function f() return tostring(7) .. tostring(true) end", "f"), 0);
    assert_string_equal(s_hex(fx), "a53774727565");
    assert_int_equal(s_call(fx, "function f() return {string.rep} end", "f"), EC_ECONTRACT);
    assert_int_equal(s_call(fx, "function f() error({}) end", "f"), EC_ECONTRACT);
    assert_non_null(strstr(fx->st.msg, "not a string"));
}

static void test_limits(void **state)
{
    fx_t *fx = *state;
    ec_contract_limits_t lim = {.budget = 200000, .mem_max = 4u << 20};
    static const char *const over[] = {
        "function f() while true do end end",
        "function f() while true do pcall(function() while true do end end) end end",
        "function f() return string.rep('x', 1 << 30) end",
        "function f() local t = {} for i = 1, 1 << 40 do t[i] = i end end",
        "function f() local s = 'x' while true do s = s .. s end end",
        "function f() pcall(string.rep, 'x', 1 << 30) return 1 end", /* caught: still refused */
    };
    for (size_t i = 0; i < sizeof over / sizeof over[0]; i++) {
        int rc = s_call_w(fx, over[i], "f", NULL, &lim);
        if (rc != EC_ELIMIT)
            fail_msg("contract %zu returned %d, want ELIMIT: %s", i, rc, fx->st.msg);
    }
    /* The budget bounds what a call spends, within a step of the hook. */
    assert_int_equal(s_call_w(fx, over[0], "f", NULL, &lim), EC_ELIMIT);
    assert_true(fx->used >= lim.budget && fx->used < lim.budget + 2000);
    /* Deep recursion is a refusal (Lua's own stack limit, or the memory cap), no crash. */
    int rc = s_call_w(fx, "function r(n) return r(n + 1) + 1 end function f() return r(1) end", "f",
                      NULL, &lim);
    assert_true(rc == EC_ECONTRACT || rc == EC_ELIMIT);
    /* A value nested deeper than the limit cannot leave. */
    rc = s_call(fx, "function f() local t = {} for i = 1, 40 do t = {t} end return t end", "f");
    assert_int_equal(rc, EC_ECONTRACT);
    /* Reading a stored value bigger than the memory left: refused, nothing leaks (the
     * value the host handed over is freed although the copy jumped out). */
    const char *big = "function put() storage.put('big', string.rep('x', 60000)) end\n"
                      "function get() local v = storage.get('big') return #v end\n";
    assert_int_equal(s_call(fx, big, "put"), 0);
    assert_int_equal(s_call(fx, big, "get"), 0);
    const char *small = "function get() return 1 end"; /* fits: the cap bites in the copy */
    ec_contract_limits_t tight = {.mem_max = 100000};
    assert_int_equal(s_call_w(fx, small, "get", NULL, &tight), 0);
    assert_int_equal(s_call_w(fx, big, "get", NULL, &tight), EC_ELIMIT);
    assert_null(strstr(fx->st.msg, "loading"));
    /* The defaults let ordinary work through. */
    assert_int_equal(s_call(fx,
                            "function f() local n = 0 for i = 1, 100000 do n = n + i end "
                            "return n end",
                            "f"),
                     0);
    assert_string_equal(s_hex(fx), "cf000000012a06b550"); /* 5000050000 */
    assert_true(fx->used >= 100000); /* counted in steps of 1000 instructions */
}

static void test_determinism(void **state)
{
    fx_t *fx = *state;
    const char *code = "function keys() local t = {} for i = 1, 200 do t['k' .. (i * 7919 % 1000)] "
                       "= i end t[3] = 'three' t[-1] = 'neg' t[1] = 'one' local out = {} "
                       "for k, v in sorted_pairs(t) do out[#out + 1] = k end return out end";
    assert_int_equal(s_call(fx, code, "keys"), 0);
    size_t n = ec_writer_size(&fx->out);
    uint8_t *first = malloc(n);
    memcpy(first, ec_writer_data(&fx->out), n);
    /* Fresh interpreters (each with its own string hash seed) give the same bytes. */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(s_call(fx, code, "keys"), 0);
        assert_int_equal(ec_writer_size(&fx->out), n);
        assert_memory_equal(ec_writer_data(&fx->out), first, n);
    }
    /* 203 keys: -1, 1, 3 first, then the strings bytewise. */
    assert_memory_equal(first, "\xdc\x00\xcb\xff\x01\x03", 6);
    assert_int_equal(first[7], 'k');
    free(first);
    assert_int_equal(s_call(fx, "function f() for k in sorted_pairs({[{}] = 1}) do end end", "f"),
                     EC_ECONTRACT);
}

/* The caller's facts, escalation and range as the host gives them; their limits. */
static void test_host_facts(void **state)
{
    fx_t *fx = *state;
    const char *code =
        "function facts() return {call.attested(), call.has_role('issuer'),\n"
        "  call.has_role('issuer', 'ORG2'), call.has_role('ca'), call.roles()[1].org} end\n"
        "function nobody() return call.has_role('nobody') end\n"
        "function up() return escalate('issuer', {why = 'close name'}, 'ORG1') end\n"
        "function up_bad() return escalate('nobody', 1) end\n"
        "function up_float() return escalate('issuer', 1.5) end\n"
        "function fill() for i = 1, 3 do storage.put('k/' .. i, i) end storage.put('x', 0) end\n"
        "function keys() local n = 0 for _, e in ipairs(storage.range('k/')) do\n"
        "  n = n + e.value end return n end\n"
        "function lim(n) return #storage.range('k/', nil, n) end\n"
        "function loud(n) for i = 1, n do emit('e', i) end end\n";
    assert_int_equal(s_call(fx, code, "facts"), 0);
    assert_string_equal(s_hex(fx), "95c3c3c2c2a44f524731"); /* [true, true, false, false, 'ORG1'] */
    assert_int_equal(s_call(fx, code, "nobody"), EC_ECONTRACT);
    assert_int_equal(s_call(fx, code, "up"), 0);
    assert_string_equal(s_hex(fx), "07");
    assert_string_equal(fx->store.escalated_role, "issuer");
    assert_int_equal(s_call(fx, code, "up_bad"), EC_ECONTRACT);
    assert_int_equal(s_call(fx, code, "up_float"), EC_ECONTRACT);
    assert_int_equal(s_call(fx, code, "fill"), 0);
    assert_int_equal(s_call(fx, code, "keys"), 0);
    assert_string_equal(s_hex(fx), "06");
    ec_writer_t a;
    ec_writer_init(&a);
    ec_write_array(&a, 1);
    ec_write_int(&a, 2);
    assert_int_equal(s_call_w(fx, code, "lim", &a, NULL), 0);
    assert_string_equal(s_hex(fx), "02");
    ec_writer_reset(&a);
    ec_write_array(&a, 1);
    ec_write_int(&a, EC_CONTRACT_RANGE_MAX + 1);
    assert_int_equal(s_call_w(fx, code, "lim", &a, NULL), EC_ECONTRACT);
    /* A scan charges the work the host reports: past the budget, the call is over it. */
    fx->store.range_cost = EC_CONTRACT_BUDGET_DEFAULT + 1;
    assert_int_equal(s_call(fx, code, "keys"), EC_ELIMIT);
    fx->store.range_cost = 0;
    /* At most EC_CONTRACT_EVENTS_MAX events a call. */
    ec_writer_reset(&a);
    ec_write_array(&a, 1);
    ec_write_int(&a, EC_CONTRACT_EVENTS_MAX);
    assert_int_equal(s_call_w(fx, code, "loud", &a, NULL), 0);
    ec_writer_reset(&a);
    ec_write_array(&a, 1);
    ec_write_int(&a, EC_CONTRACT_EVENTS_MAX + 1);
    assert_int_equal(s_call_w(fx, code, "loud", &a, NULL), EC_ECONTRACT);
    /* A host fault is the node's, not the contract's. */
    fx->store.fail = EC_EIO;
    assert_int_equal(s_call(fx, code, "facts"), EC_EIO);
    fx->store.fail = 0;
    /* Without the host's callbacks, the functions refuse. */
    fx->host.roles = NULL;
    fx->host.escalate = NULL;
    fx->host.range = NULL;
    assert_int_equal(s_call(fx, code, "facts"), EC_ECONTRACT);
    assert_int_equal(s_call(fx, code, "up"), EC_ECONTRACT);
    assert_int_equal(s_call(fx, code, "keys"), EC_ECONTRACT);
    ec_writer_fini(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_call_and_values, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_storage_and_events, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_sandbox_removed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_sandbox_text, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_limits, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_determinism, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_host_facts, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
