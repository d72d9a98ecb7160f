/*
 * gw_err.h - the one mapping from the wire protocol's error codes (ec_err.h,
 * docs/PROTOCOL.md "Status codes") to HTTP statuses, and the JSON error body every failed
 * request gets: {"error": {"code": -3, "name": "ENOTFOUND", "message": "..."}}. The table
 * is printed in docs/GATEWAY.md ("Errors"); keep the two in step.
 */
#ifndef GW_ERR_H
#define GW_ERR_H

#include <jansson.h>

/* The HTTP status for an EC_E* code (500 for a code that is not one, 200 for 0). */
unsigned gw_err_http_status(int code);
/* {"error": {"code", "name", "message"}} as a new reference (message NULL: the code's
 * ec_strerror). */
json_t *gw_err_json(int code, const char *message);

#endif
