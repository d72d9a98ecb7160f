/*
 * gw_routes.c - the route table: every path the gateway serves under /api/v1, with its
 * handler, its parameters (with an example each, which tests/js/openapi_check.mjs uses
 * unless it is given a live value) and its schemas. The dispatcher matches requests
 * against this table and /openapi.json is written from it, so what is documented is
 * exactly what is served. The prose contract is docs/GATEWAY.md.
 */
#include <stdio.h>
#include <string.h>

#include "gw_app.h"
#include "gw_err.h"

/* ---- schema pieces ---------------------------------------------------------------------- */

#define S_HEX32 "{\"type\":\"string\",\"pattern\":\"^[0-9a-f]{64}$\"}"
#define S_HEX64 "{\"type\":\"string\",\"pattern\":\"^[0-9a-f]{128}$\"}"
#define S_B64 "{\"type\":\"string\",\"contentEncoding\":\"base64\"}"
#define S_UINT "{\"type\":\"integer\",\"minimum\":0}"
#define S_STR "{\"type\":\"string\"}"
#define S_TJSON "{\"description\":\"typed JSON (docs/GATEWAY.md)\"}"
#define S_OBJ(req) "{\"type\":\"object\",\"required\":[" req "]}"

#define P_CHAIN(ex)                                                                                \
    {                                                                                              \
        "chain", "path", S_STR, ex, "main, or a side chain's certificate type", true               \
    }
#define P_HEIGHT                                                                                   \
    {                                                                                              \
        "height", "path", S_UINT, "1", "block height (0: the tip)", true                           \
    }
#define P_TXID                                                                                     \
    {                                                                                              \
        "id", "path", S_HEX32, "", "transaction id (hex)", true                                    \
    }
#define P_CERTID                                                                                   \
    {                                                                                              \
        "id", "path", S_HEX32, "", "certificate id: its ISSUE's transaction id", true              \
    }
#define P_ADDR(d)                                                                                  \
    {                                                                                              \
        "address", "path", S_STR, "", d, true                                                      \
    }

#define E_READ                                                                                     \
    {                                                                                              \
        400, 404, 429, 502, 503, 504, 0                                                            \
    }
#define E_SIDE                                                                                     \
    {                                                                                              \
        400, 404, 409, 429, 502, 503, 504, 0                                                       \
    }
#define E_SUBMIT                                                                                   \
    {                                                                                              \
        400, 403, 404, 409, 413, 422, 429, 502, 503, 504                                           \
    }

#define R_HEADER                                                                                   \
    "{\"type\":\"object\",\"required\":[\"height\",\"hash\",\"time_ms\",\"prev_hash\",\"tx_"       \
    "root\","                                                                                      \
    "\"tx_count\",\"state_root\",\"hist_root\",\"valset_hash\",\"next_valset_hash\","              \
    "\"commit_signatures\",\"header\",\"commit\"]}"
#define R_STATUS                                                                                   \
    "{\"type\":\"object\",\"required\":[\"name\",\"chain_id\",\"kind\",\"height\",\"genesis_"      \
    "hash\"]}"

const gw_route_t gw_routes[] = {
    {"GET",
     "/api/v1/chains",
     gw_h_chains,
     "listChains",
     "Every configured chain's status",
     {{0}},
     NULL,
     "{\"type\":\"object\",\"required\":[\"chains\"],\"properties\":{\"chains\":{"
     "\"type\":\"array\"}}}",
     NULL,
     {429, 0},
     true},
    {"GET",
     "/api/v1/chains/{chain}",
     gw_h_chain,
     "getChain",
     "One chain's status",
     {P_CHAIN("main")},
     NULL,
     R_STATUS,
     NULL,
     E_READ,
     true},
    {"GET",
     "/api/v1/chains/{chain}/genesis",
     gw_h_genesis,
     "getGenesis",
     "The chain's genesis, decoded and encoded",
     {P_CHAIN("main")},
     NULL,
     S_OBJ("\"hash\",\"chain_id\",\"time_ms\",\"validators\",\"genesis\""),
     NULL,
     E_READ,
     true},
    {"GET",
     "/api/v1/chains/{chain}/validators",
     gw_h_validators,
     "getValidators",
     "The validator set that commits a block",
     {P_CHAIN("main"),
      {"height", "query", S_UINT, "0", "the block (0 or absent: the next one)", false}},
     NULL,
     S_OBJ("\"height\",\"hash\",\"validators\""),
     NULL,
     E_READ,
     true},
    {"GET",
     "/api/v1/chains/{chain}/headers",
     gw_h_headers,
     "listHeaders",
     "Up to 100 decoded headers from a height downwards",
     {P_CHAIN("main"),
      {"from", "query", S_UINT, "", "the highest height (absent: the tip)", false},
      {"count", "query", "{\"type\":\"integer\",\"minimum\":1,\"maximum\":100}", "10",
       "how many (default 20)", false}},
     NULL,
     S_OBJ("\"headers\""),
     NULL,
     E_READ,
     true},
    {"GET",
     "/api/v1/chains/{chain}/headers/{height}",
     gw_h_header,
     "getHeader",
     "One header, decoded, with its commit",
     {P_CHAIN("main"), P_HEIGHT},
     NULL,
     R_HEADER,
     NULL,
     E_READ,
     true},
    {"GET",
     "/api/v1/chains/{chain}/blocks/{height}",
     gw_h_block,
     "getBlock",
     "A block: its header, its transactions and its anchor entries",
     {P_CHAIN("main"), {"height", "path", S_UINT, "1", "block height (1..tip)", true}},
     NULL,
     S_OBJ("\"height\",\"hash\",\"txs\",\"anchors\""),
     NULL,
     E_READ,
     true},
    {"GET",
     "/api/v1/chains/{chain}/txs/{id}",
     gw_h_tx,
     "getTx",
     "A committed transaction, decoded",
     {P_CHAIN("main"), P_TXID},
     NULL,
     S_OBJ("\"id\",\"height\",\"index\",\"type\",\"type_name\",\"sender\",\"nonce\",\"code\","
           "\"body\",\"tx\""),
     NULL,
     E_READ,
     true},
    {"GET",
     "/api/v1/chains/{chain}/txs/{id}/bundle",
     gw_h_bundle,
     "getBundle",
     "A side-chain transaction's proof bundle, once anchored",
     {P_CHAIN("marriage"), P_TXID},
     NULL,
     S_OBJ("\"bundle\""),
     NULL,
     E_SIDE,
     true},
    {"POST",
     "/api/v1/chains/{chain}/tx/prepare",
     gw_h_prepare,
     "prepareTx",
     "The exact bytes a sender signs for a transaction",
     {P_CHAIN("main")},
     "{\"type\":\"object\",\"required\":[\"type\",\"sender\",\"body\"],\"properties\":{"
     "\"type\":" S_UINT ",\"sender\":" S_HEX32
     ",\"nonce\":{\"type\":\"string\",\"pattern\":\"^[0-9]{1,20}$\"},"
     "\"payload_hash\":{\"oneOf\":[" S_HEX32
     ",{\"type\":\"null\"}]},\"body\":{\"type\":\"array\"}}}",
     S_OBJ("\"tx_id\",\"signed\",\"sign_bytes\""),
     NULL,
     {400, 404, 413, 429, 0},
     true},
    {"POST",
     "/api/v1/chains/{chain}/tx",
     gw_h_submit,
     "submitTx",
     "Submits a signed transaction and waits for its block",
     {P_CHAIN("main")},
     "{\"type\":\"object\",\"required\":[\"signed\",\"sig\"],\"properties\":{\"signed\":" S_B64
     ",\"sig\":" S_HEX64 ",\"payload\":{\"oneOf\":[" S_B64 ",{\"type\":\"null\"}]}}}",
     S_OBJ("\"tx_id\",\"height\",\"index\""),
     NULL,
     E_SUBMIT,
     true},
    {"GET",
     "/api/v1/chains/{chain}/query/{path}",
     gw_h_query_get,
     "queryGet",
     "Any query of the chain (docs/PROTOCOL.md), arguments as typed JSON",
     {P_CHAIN("main"),
      {"path", "path", S_STR, "sidechains", "the query path", true},
      {"args", "query", S_STR, "[]", "the arguments: a typed-JSON array, URL-encoded", false}},
     NULL,
     S_OBJ("\"result\""),
     NULL,
     {400, 404, 409, 422, 429, 502, 503, 504, 0},
     true},
    {"POST",
     "/api/v1/chains/{chain}/query/{path}",
     gw_h_query_post,
     "queryPost",
     "The same with the arguments in the body",
     {P_CHAIN("main"), {"path", "path", S_STR, "sidechains", "the query path", true}},
     "{\"type\":\"object\",\"required\":[\"args\"],\"properties\":{\"args\":{\"type\":\"array\"}}}",
     S_OBJ("\"result\""),
     NULL,
     {400, 404, 409, 413, 422, 429, 502, 503, 504, 0},
     true},
    {"GET",
     "/api/v1/accounts/{address}",
     gw_h_account,
     "getAccount",
     "A main-chain account, named",
     {P_ADDR("the account's address (ec1...)")},
     NULL,
     S_OBJ("\"address\",\"name\",\"pk\",\"key\",\"height\",\"attested\",\"roles\""),
     NULL,
     E_READ,
     true},
    {"GET",
     "/api/v1/chains/{chain}/certs/{id}",
     gw_h_cert,
     "getCert",
     "A certificate with its history and inspections",
     {P_CHAIN("marriage"), P_CERTID},
     NULL,
     S_OBJ("\"cert_id\",\"holder\",\"org_code\",\"issuer\",\"status\",\"history\","
           "\"inspections\""),
     NULL,
     E_READ,
     true},
    {"GET",
     "/api/v1/chains/{chain}/certs/{id}/events",
     gw_h_cert_events,
     "certEvents",
     "Server-sent events: the certificate's status, at once and on each change",
     {P_CHAIN("marriage"), P_CERTID},
     NULL,
     S_STR,
     "text/event-stream",
     {400, 404, 429, 503, 504, 0},
     false},
    {"GET",
     "/api/v1/chains/{chain}/holders/{address}/certs",
     gw_h_holder_certs,
     "holderCerts",
     "The certificates a holder holds on a side chain, in issue order",
     {P_CHAIN("marriage"),
      P_ADDR("the holder's address"),
      {"after", "query", S_HEX32, "", "continue after this certificate id", false},
      {"limit", "query", "{\"type\":\"integer\",\"minimum\":0,\"maximum\":1000}", "100",
       "at most this many (0 or absent: 1000)", false}},
     NULL,
     S_OBJ("\"certs\""),
     NULL,
     E_READ,
     true},
    {"GET",
     "/api/v1/chains/{chain}/status-list",
     gw_h_status_list,
     "getStatusList",
     "A side chain's certificate status list, with its proof",
     {P_CHAIN("marriage")},
     NULL,
     S_OBJ("\"height\",\"count\",\"list\",\"object\""),
     NULL,
     E_SIDE,
     true},
    {"GET",
     "/api/v1/chains/{chain}/status-lists/{address}/{purpose}",
     gw_h_status_vc,
     "getStatusListCredential",
     "A W3C Bitstring Status List credential an issuing agency exported for a side chain "
     "(docs/INTEROP.md), as the agency signed it",
     {P_CHAIN("marriage"),
      P_ADDR("the issuing agency's address (its credentials' did:key account)"),
      {"purpose", "path", "{\"type\":\"string\",\"enum\":[\"revocation\",\"suspension\"]}",
       "revocation", "the list's statusPurpose", true}},
     NULL,
     S_OBJ("\"@context\",\"type\",\"issuer\",\"credentialSubject\",\"proof\""),
     NULL,
     E_READ,
     true},
    {"GET",
     "/api/v1/chains/{chain}/usage",
     gw_h_usage,
     "getUsage",
     "Inspections by one organization in a time window",
     {P_CHAIN("marriage"),
      {"org", "query", S_STR, "ORG1", "the inspecting organization's code", true},
      {"from_ms", "query", S_UINT, "0", "window start (ms since the epoch)", false},
      {"to_ms", "query", S_UINT, "", "window end, exclusive (absent: now + 1 day)", false}},
     NULL,
     S_OBJ("\"org\",\"inspections\""),
     NULL,
     E_READ,
     true},
    {"GET",
     "/api/v1/anchors",
     gw_h_anchors,
     "getAnchors",
     "Anchoring both ways, per side chain",
     {{0}},
     NULL,
     S_OBJ("\"main_height\",\"sides\""),
     NULL,
     {429, 502, 503, 504, 0},
     true},
    {"GET",
     "/api/v1/events",
     gw_h_events,
     "events",
     "Server-sent events: header, anchor and contract events",
     {{"chains", "query", S_STR, "", "comma-separated chain names (absent: all)", false},
      {"topics", "query", S_STR, "", "comma-separated: header, anchor, event (absent: all)",
       false}},
     NULL,
     S_STR,
     "text/event-stream",
     {400, 429, 503, 0},
     false},
    {"GET",
     "/openapi.json",
     gw_h_openapi,
     "openapi",
     "This document",
     {{0}},
     NULL,
     S_OBJ("\"openapi\",\"paths\""),
     NULL,
     {429, 0},
     false},
    {"GET",
     "/healthz",
     gw_h_healthz,
     "healthz",
     "The gateway runs (the chains are not asked)",
     {{0}},
     NULL,
     S_OBJ("\"ok\",\"chains\""),
     NULL,
     {0},
     false},
};
const size_t gw_route_count = sizeof gw_routes / sizeof gw_routes[0];

/* ---- matching --------------------------------------------------------------------------- */

bool gw_route_path_match(const char *tmpl, const char *url,
                         char values[GW_PATH_VALUES_MAX][GW_PATH_VALUE_BYTES], size_t *count)
{
    *count = 0;
    const char *t = tmpl, *u = url;
    while (*t && *u) {
        if (*t == '{') {
            const char *close = strchr(t, '}');
            const char *end = strchr(u, '/');
            size_t n = end ? (size_t)(end - u) : strlen(u);
            if (!close || n == 0 || n >= GW_PATH_VALUE_BYTES || *count >= GW_PATH_VALUES_MAX)
                return false;
            memcpy(values[*count], u, n);
            values[(*count)++][n] = '\0';
            t = close + 1;
            u += n;
            continue;
        }
        if (*t != *u)
            return false;
        t++;
        u++;
    }
    return *t == '\0' && *u == '\0';
}

const gw_route_t *gw_route_match(const char *method, const char *url, gw_call_t *c,
                                 bool *path_known)
{
    *path_known = false;
    for (size_t i = 0; i < gw_route_count; i++) {
        const gw_route_t *r = &gw_routes[i];
        if (!gw_route_path_match(r->path, url, c->values, &c->value_count))
            continue;
        if (strcmp(r->method, method) == 0 ||
            (!strcmp(method, "HEAD") && !strcmp(r->method, "GET")))
            return r;
        *path_known = true;
    }
    c->value_count = 0;
    return NULL;
}

/* ---- OpenAPI ---------------------------------------------------------------------------- */

static json_t *s_schema(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j) { /* the table is ours: a schema that does not parse is a bug */
        fprintf(stderr, "gw_routes: bad schema text %s: %s\n", text, e.text);
        abort();
    }
    return j;
}

static const char *s_status_text(unsigned status)
{
    switch (status) {
        case 400:
            return "bad request (EINVAL, ECHAIN, EVERSION)";
        case 403:
            return "not allowed (EPERM)";
        case 404:
            return "not found (ENOTFOUND, EMETHOD), or no such chain";
        case 409:
            return "conflict (EEXIST, EREPLAY, EFROZEN, ESTATE)";
        case 413:
            return "too big (ETOOBIG)";
        case 422:
            return "a check failed (ESIG, EPROOF, ECONTRACT, ELIMIT)";
        case 429:
            return "rate limited or busy (EBUSY): see Retry-After";
        case 500:
            return "configuration or internal error";
        case 502:
            return "the node failed (EIO)";
        case 503:
            return "unavailable (ESHUTDOWN, ESTALE, ENOMEM, too many streams)";
        case 504:
            return "the node did not answer in time (ETIMEOUT)";
        default:
            return "error";
    }
}

static json_t *s_operation(const gw_route_t *r)
{
    json_t *op = json_pack("{s:s,s:s}", "operationId", r->op_id, "summary", r->summary);
    json_t *params = json_array();
    for (size_t i = 0; i < GW_PARAMS_MAX && r->params[i].name; i++) {
        const gw_param_t *p = &r->params[i];
        json_t *jp =
            json_pack("{s:s,s:s,s:b,s:o,s:s}", "name", p->name, "in", p->in, "required",
                      p->required, "schema", s_schema(p->schema), "description", p->description);
        if (p->example && *p->example) {
            json_t *ex = json_object_get(json_object_get(jp, "schema"), "type");
            if (json_is_string(ex) && !strcmp(json_string_value(ex), "integer"))
                json_object_set_new(jp, "example", json_integer(atoll(p->example)));
            else
                json_object_set_new(jp, "example", json_string(p->example));
        }
        json_array_append_new(params, jp);
    }
    if (json_array_size(params))
        json_object_set(op, "parameters", params);
    json_decref(params);
    if (r->request_schema)
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b,s:{s:{s:o}}}", "required", 1, "content",
                                      "application/json", "schema", s_schema(r->request_schema)));
    json_t *responses = json_object();
    const char *ct = r->content_type ? r->content_type : "application/json";
    json_object_set_new(responses, "200",
                        json_pack("{s:s,s:{s:{s:o}}}", "description", "success", "content", ct,
                                  "schema", s_schema(r->response_schema)));
    for (size_t i = 0; i < GW_ROUTE_ERRORS_MAX && r->errors[i]; i++) {
        char key[16];
        snprintf(key, sizeof key, "%u", r->errors[i]);
        json_object_set_new(responses, key,
                            json_pack("{s:s,s:{s:{s:{s:s}}}}", "description",
                                      s_status_text(r->errors[i]), "content", "application/json",
                                      "schema", "$ref", "#/components/schemas/Error"));
    }
    json_object_set_new(op, "responses", responses);
    return op;
}

json_t *gw_openapi(const char *server_url)
{
    json_t *doc = json_pack(
        "{s:s,s:{s:s,s:s,s:s},s:[{s:s}],s:{},s:{s:{s:o}}}", "openapi", "3.1.0", "info", "title",
        "ecert gateway", "version", "1", "description",
        "HTTP/JSON API in front of the ecert chains (docs/GATEWAY.md). Errors carry the wire "
        "protocol's code and name.",
        "servers", "url", server_url, "paths", "components", "schemas", "Error",
        s_schema("{\"type\":\"object\",\"required\":[\"error\"],\"properties\":{\"error\":{"
                 "\"type\":\"object\",\"required\":[\"code\",\"name\",\"message\"],"
                 "\"properties\":{\"code\":{\"type\":\"integer\"},\"name\":{\"type\":"
                 "\"string\"},\"message\":{\"type\":\"string\"}}}}}"));
    json_t *paths = json_object_get(doc, "paths");
    for (size_t i = 0; i < gw_route_count; i++) {
        const gw_route_t *r = &gw_routes[i];
        json_t *item = json_object_get(paths, r->path);
        if (!item) {
            item = json_object();
            json_object_set_new(paths, r->path, item);
        }
        char m[8];
        size_t k = 0;
        for (; r->method[k] && k < sizeof m - 1; k++)
            m[k] = (char)(r->method[k] | 0x20);
        m[k] = '\0';
        json_object_set_new(item, m, s_operation(r));
    }
    return doc;
}
