/*
 * fuzz_contract.c - libFuzzer target for contract values (ec_contract.h): the input is a
 * call's argument list. Whatever ec_contract_value_check accepts goes into a contract that
 * returns its arguments; the call must succeed or refuse with a code and a message (never
 * crash or leak), its result must be a valid value, and the engine's encoding must be a
 * fixed point: passing the result through the contract again gives the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ec_contract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int s_get(void *ctx, const uint8_t *k, size_t ks, uint8_t **v, size_t *vs)
{
    (void)ctx, (void)k, (void)ks, (void)v, (void)vs;
    return EC_ENOTFOUND;
}
static int s_put(void *ctx, const uint8_t *k, size_t ks, const uint8_t *v, size_t vs)
{
    (void)ctx, (void)k, (void)ks, (void)v, (void)vs;
    return 0;
}
static int s_del(void *ctx, const uint8_t *k, size_t ks)
{
    (void)ctx, (void)k, (void)ks;
    return 0;
}
static int s_emit(void *ctx, const char *n, const uint8_t *d, size_t s)
{
    (void)ctx, (void)n, (void)d, (void)s;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char code[] = "function all(...) return {...} end\n"
                               "function first(v) return v end\n";
    static const ec_contract_host_t host = {
        .get = s_get, .put = s_put, .del = s_del, .emit = s_emit, .caller = "ec1fuzz"};
    static const ec_contract_limits_t lim = {.budget = 100000, .mem_max = 8u << 20};
    if (ec_contract_value_check(data, size) != 0)
        return 0;
    ec_writer_t out, again, args;
    ec_writer_init(&out);
    ec_writer_init(&again);
    ec_writer_init(&args);
    ec_status_t st = {0};
    int rc = ec_contract_call((const uint8_t *)code, sizeof code - 1, "all", data, size, &host,
                              &lim, &out, NULL, &st);
    if (rc != 0 && (st.code != rc || st.msg[0] == '\0'))
        abort();
    if (rc == 0) {
        if (ec_contract_value_check(ec_writer_data(&out), ec_writer_size(&out)) != 0)
            abort();
        ec_write_array(&args, 1);
        ec_write_raw(&args, ec_writer_data(&out), ec_writer_size(&out));
        if (ec_writer_size(&args) <= EC_CONTRACT_VALUE_MAX) {
            rc = ec_contract_call((const uint8_t *)code, sizeof code - 1, "first",
                                  ec_writer_data(&args), ec_writer_size(&args), &host, &lim, &again,
                                  NULL, &st);
            if (rc == 0 &&
                (ec_writer_size(&again) != ec_writer_size(&out) ||
                 memcmp(ec_writer_data(&again), ec_writer_data(&out), ec_writer_size(&out)) != 0))
                abort();
        }
    }
    ec_writer_fini(&out);
    ec_writer_fini(&again);
    ec_writer_fini(&args);
    return 0;
}
