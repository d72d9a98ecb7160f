/*
 * gw_err.c - error codes to HTTP statuses (gw_err.h). The choices: a request the client
 * got wrong is 400, something that does not exist 404, a state conflict (already there,
 * replay, frozen, wrong state) 409, a well-formed request that fails a check (signature,
 * proof, contract) 422, back-off 429, and the gateway's or the node's own trouble 5xx.
 */
#include "gw_err.h"

#include "ec_err.h"

unsigned gw_err_http_status(int code)
{
    switch (code) {
        case EC_OK:
            return 200;
        case EC_EINVAL:
        case EC_ECHAIN:
        case EC_EVERSION:
            return 400;
        case EC_ETOOBIG:
            return 413;
        case EC_ENOTFOUND:
        case EC_EMETHOD:
            return 404;
        case EC_EEXIST:
        case EC_EREPLAY:
        case EC_EDUPLICATE:
        case EC_EFORK:
        case EC_EFROZEN:
        case EC_ESTATE:
            return 409;
        case EC_ESIG:
        case EC_EPROOF:
        case EC_ECRYPTO:
        case EC_ELIMIT:
        case EC_ECONTRACT:
            return 422;
        case EC_EPERM:
            return 403;
        case EC_EIO:
            return 502;
        case EC_ETIMEOUT:
            return 504;
        case EC_EBUSY:
            return 429;
        case EC_ENOMEM:
        case EC_ESHUTDOWN:
        case EC_ESTALE:
            return 503;
        case EC_ECONFIG:
        case EC_EINTERNAL:
        default:
            return 500;
    }
}

json_t *gw_err_json(int code, const char *message)
{
    return json_pack("{s:{s:i,s:s,s:s}}", "error", "code", code, "name", ec_errname(code),
                     "message", message && *message ? message : ec_strerror(code));
}
