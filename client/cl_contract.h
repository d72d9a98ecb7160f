/*
 * cl_contract.h - what the client's commands share to use contracts (docs/CONTRACTS.md):
 * contract values to and from JSON, and calling, querying and deploying a contract on a
 * chain (a side chain, or the main chain when its genesis hosts contracts). Used by
 * `ecert contract` (cmd_contract.c) and by the data-sharing commands (cmd_asset.c), which
 * run the shipped contracts (the directory, assets.lua, and the access contract, acl.lua)
 * embedded in the client (cl_contract_assets, cl_contract_acl).
 */
#ifndef CL_CONTRACT_H
#define CL_CONTRACT_H

#include <msgpack.h>

#include "cl_common.h"
#include "ec_body.h"

/* The shipped contracts' sources, generated from deploy/contracts at build time. */
extern const uint8_t cl_contract_assets[], cl_contract_acl[];
extern const size_t cl_contract_assets_size, cl_contract_acl_size;

/* JSON text of a value on one line (NULL on failure); free with cl_json_text_free. */
char *cl_json_text(const json_t *j);
void cl_json_text_free(char *text);
/* Writes JSON value j as contract msgpack (objects: keys in byte order; numbers with a
 * fraction refused); returns NULL, or why it cannot. */
const char *cl_cvalue_from_json(const json_t *j, ec_writer_t *w, int depth);
/* A decoded contract value (or part of one) as JSON: map keys as strings, bin as "0x" +
 * hex; depth: how deep o already is (0 for a whole value). */
json_t *cl_cobject_json(const msgpack_object *o, int depth);
/* Contract msgpack bytes (checked) as JSON (bin as "0x" + hex); NULL when not a value. */
json_t *cl_cvalue_json(const uint8_t *data, size_t size);

/* The transaction type of contract transaction side_type (EC_STX_CONTRACT_*) on chain ch:
 * the side chains' number, or the main chain's (EC_MTX_CONTRACT_*). */
uint64_t cl_contract_txtype(const cl_chain_t *ch, uint64_t side_type);

/* A contract value the chain answered, decoded: v points into u, whose strings and bins
 * point into buf, a copy of the bytes (the reply they came in is gone). */
typedef struct {
    msgpack_unpacked u;
    const msgpack_object *v;
    uint8_t *buf;
} cl_cvalue_t;

/* Checks and decodes contract msgpack bytes (copied) into out. 0, EC_EINVAL (not one
 * contract value) or EC_ENOMEM; nothing is recorded, out needs no fini on failure. */
EC_WUR int cl_cvalue_read(const uint8_t *data, size_t size, cl_cvalue_t *out);
void cl_cvalue_fini(cl_cvalue_t *cv);

/*
 * CONTRACT_CALL of name.fn with `args` (one encoded array) signed by --key; on success *out
 * holds the call's result as the chain stored it and *res the transaction. Returns 0, or
 * 1/2 with the error recorded (the contract's refusal is ECONTRACT with its message).
 */
int cl_contract_call(cl_ctx_t *ctx, cl_chain_t *ch, const char *name, const char *fn,
                     const ec_writer_t *args, cl_txres_t *res, cl_cvalue_t *out);
/*
 * contract_result [tx]: what an applied CONTRACT_CALL or CONTRACT_DECIDE returned, with the
 * contract's name and function (each EC_CONTRACT_NAME_MAX bytes; either may be NULL).
 * Returns 0, quiet_code (as cl_call does: e.g. EC_ENOTFOUND, nothing recorded), or 1 with
 * the error recorded.
 */
int cl_contract_result(cl_ctx_t *ctx, cl_chain_t *ch, const uint8_t tx[EC_HASH_BYTES], char *name,
                       char *fn, cl_cvalue_t *out, int quiet_code);
/* contract_query of name.fn (committed state, no caller). 0, or 1 with the error. */
int cl_contract_query(cl_ctx_t *ctx, cl_chain_t *ch, const char *name, const char *fn,
                      const ec_writer_t *args, cl_cvalue_t *out);
/* CONTRACT_DEPLOY (or UPGRADE) of code as name for org, signed by --key. 0, or 1/2. */
int cl_contract_deploy(cl_ctx_t *ctx, cl_chain_t *ch, bool upgrade, const char *name,
                       const char *org, const uint8_t *code, size_t size, cl_txres_t *res);

/* One escalated decision as the queries `decision` and `decisions` answer it (request and
 * decision borrow from the reply). */
typedef struct {
    uint64_t id, height;       /* its number; the block that escalated it              */
    uint8_t tx[EC_HASH_BYTES]; /* the transaction that escalated it                  */
    char fn[EC_CONTRACT_NAME_MAX];
    char role[16], org[EC_ORG_CODE_MAX]; /* who may settle it ("": any org)          */
    const uint8_t *request, *decision;   /* contract msgpack                          */
    size_t request_size, decision_size;
    uint64_t decided_height; /* 0 while pending                                      */
    char decider[EC_ADDR_MAX];
    uint8_t decide_tx[EC_HASH_BYTES];
} cl_decision_t;

/* Reads one decision answer: 0 or EC_EINVAL (the reply does not read; *d zeroed). */
EC_WUR int cl_decision_read(cl_decision_t *d, const msgpack_object *o);

/* Fields of a contract map (NULL / false when absent or of another type). */
const msgpack_object *cl_cv_get(const msgpack_object *map, const char *key);
bool cl_cv_str(const msgpack_object *map, const char *key, char *out, size_t cap);
bool cl_cv_uint(const msgpack_object *map, const char *key, uint64_t *out);
bool cl_cv_bool(const msgpack_object *map, const char *key, bool *out);
/* A str or bin field: its bytes (borrowed). */
bool cl_cv_bytes(const msgpack_object *map, const char *key, const uint8_t **data, size_t *size);

#endif
