/*
 * ec_err.c - names and descriptions for the codes in ec_err.h.
 */
#include "ec_err.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

typedef struct {
    int code;
    const char *name;
    const char *text;
} s_entry_t;

static const s_entry_t s_table[] = {
    {EC_OK, "OK", "success"},
    {EC_EINVAL, "EINVAL", "malformed input"},
    {EC_ETOOBIG, "ETOOBIG", "input larger than allowed"},
    {EC_ENOTFOUND, "ENOTFOUND", "not found"},
    {EC_EEXIST, "EEXIST", "already exists"},
    {EC_ESIG, "ESIG", "signature does not verify"},
    {EC_EREPLAY, "EREPLAY", "transaction already seen (replay)"},
    {EC_EPERM, "EPERM", "sender is not authorized for this action"},
    {EC_ECHAIN, "ECHAIN", "wrong chain"},
    {EC_EMETHOD, "EMETHOD", "unknown method"},
    {EC_EIO, "EIO", "storage error"},
    {EC_ENOMEM, "ENOMEM", "out of memory"},
    {EC_ETIMEOUT, "ETIMEOUT", "timed out"},
    {EC_EBUSY, "EBUSY", "busy, retry later"},
    {EC_EPROOF, "EPROOF", "proof does not verify"},
    {EC_EDUPLICATE, "EDUPLICATE", "already anchored"},
    {EC_EFORK, "EFORK", "anchor conflicts with known history (fork)"},
    {EC_EFROZEN, "EFROZEN", "chain is frozen"},
    {EC_ESTATE, "ESTATE", "not allowed in the current state"},
    {EC_EVERSION, "EVERSION", "unsupported version"},
    {EC_ECRYPTO, "ECRYPTO", "decryption failed (wrong key or passphrase, or tampered)"},
    {EC_ECONFIG, "ECONFIG", "bad configuration"},
    {EC_EINTERNAL, "EINTERNAL", "internal error"},
    {EC_ESHUTDOWN, "ESHUTDOWN", "node is shutting down"},
    {EC_ESTALE, "ESTALE", "the main-chain view is too old to trust its roles"},
    {EC_ELIMIT, "ELIMIT", "a contract went over its instruction budget or memory cap"},
    {EC_ECONTRACT, "ECONTRACT", "the contract refused the call"},
};

static const s_entry_t *s_find(int code)
{
    for (size_t i = 0; i < sizeof s_table / sizeof s_table[0]; i++)
        if (s_table[i].code == code)
            return &s_table[i];
    return NULL;
}

const char *ec_strerror(int code)
{
    const s_entry_t *e = s_find(code);
    return e ? e->text : "unknown error";
}

const char *ec_errname(int code)
{
    const s_entry_t *e = s_find(code);
    return e ? e->name : "EUNKNOWN";
}

int ec_status_set(ec_status_t *st, int code, const char *fmt, ...)
{
    if (st) {
        va_list ap;
        va_start(ap, fmt);
        st->code = code;
        vsnprintf(st->msg, sizeof st->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void ec_status_clear(ec_status_t *st)
{
    if (st) {
        st->code = 0;
        st->msg[0] = '\0';
    }
}
