/*
 * test_err.c - error codes, names and status messages (common/ec_err.c).
 *
 * The numeric values are part of the wire protocol (docs/PROTOCOL.md, "Status codes"), so
 * this test pins every one of them: renumbering a code must fail here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "ec_err.h"

typedef struct {
    int code;
    int value;
    const char *name;
} s_pin_t;

static const s_pin_t s_pins[] = {
    {EC_OK, 0, "OK"},
    {EC_EINVAL, -1, "EINVAL"},
    {EC_ETOOBIG, -2, "ETOOBIG"},
    {EC_ENOTFOUND, -3, "ENOTFOUND"},
    {EC_EEXIST, -4, "EEXIST"},
    {EC_ESIG, -5, "ESIG"},
    {EC_EREPLAY, -6, "EREPLAY"},
    {EC_EPERM, -7, "EPERM"},
    {EC_ECHAIN, -8, "ECHAIN"},
    {EC_EMETHOD, -9, "EMETHOD"},
    {EC_EIO, -10, "EIO"},
    {EC_ENOMEM, -11, "ENOMEM"},
    {EC_ETIMEOUT, -12, "ETIMEOUT"},
    {EC_EBUSY, -13, "EBUSY"},
    {EC_EPROOF, -14, "EPROOF"},
    {EC_EDUPLICATE, -15, "EDUPLICATE"},
    {EC_EFORK, -16, "EFORK"},
    {EC_EFROZEN, -17, "EFROZEN"},
    {EC_ESTATE, -18, "ESTATE"},
    {EC_EVERSION, -19, "EVERSION"},
    {EC_ECRYPTO, -20, "ECRYPTO"},
    {EC_ECONFIG, -21, "ECONFIG"},
    {EC_EINTERNAL, -22, "EINTERNAL"},
    {EC_ESHUTDOWN, -23, "ESHUTDOWN"},
    {EC_ESTALE, -24, "ESTALE"},
    {EC_ELIMIT, -25, "ELIMIT"},
    {EC_ECONTRACT, -26, "ECONTRACT"},
};
#define S_PINS (sizeof s_pins / sizeof s_pins[0])

static void test_values_and_names(void **state)
{
    (void)state;
    for (size_t i = 0; i < S_PINS; i++) {
        assert_int_equal(s_pins[i].code, s_pins[i].value);
        assert_string_equal(ec_errname(s_pins[i].code), s_pins[i].name);
        const char *text = ec_strerror(s_pins[i].code);
        assert_non_null(text);
        assert_true(strlen(text) > 0);
        assert_string_not_equal(text, "unknown error");
        /* names and texts are unique */
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(ec_errname(s_pins[j].code), s_pins[i].name);
            assert_string_not_equal(ec_strerror(s_pins[j].code), text);
        }
    }
}

static void test_unknown(void **state)
{
    (void)state;
    static const int unknown[] = {1, -27, -1000, 42, -2147483647 - 1};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        assert_string_equal(ec_strerror(unknown[i]), "unknown error");
        assert_string_equal(ec_errname(unknown[i]), "EUNKNOWN");
    }
}

static void test_status(void **state)
{
    (void)state;
    ec_status_t st;
    memset(&st, 0x55, sizeof st);
    ec_status_clear(&st);
    assert_int_equal(st.code, 0);
    assert_string_equal(st.msg, "");

    assert_int_equal(ec_status_set(&st, EC_EPERM, "sender %s is not %d", "ec1abc", 7), EC_EPERM);
    assert_int_equal(st.code, EC_EPERM);
    assert_string_equal(st.msg, "sender ec1abc is not 7");

    /* long messages are cut, still NUL-terminated */
    char big[500];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(ec_status_set(&st, EC_EINVAL, "%s", big), EC_EINVAL);
    assert_int_equal(strlen(st.msg), sizeof st.msg - 1);

    /* NULL status just passes the code through */
    assert_int_equal(ec_status_set(NULL, EC_EIO, "disk %d", 1), EC_EIO);
    ec_status_clear(NULL);

    ec_status_clear(&st);
    assert_int_equal(st.code, 0);
    assert_string_equal(st.msg, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_and_names),
        cmocka_unit_test(test_unknown),
        cmocka_unit_test(test_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
