/*
 * ec_contract.h - the contract engine: Lua 5.4 in a deterministic sandbox, for rules that
 * organizations write themselves (docs/CONTRACTS.md). One call runs one function of a
 * contract's code in a fresh interpreter, against storage and facts its host (a chain
 * application) gives it, under an instruction budget and a memory cap.
 *
 * Deterministic on every validator: no io, os, debug, package, coroutine, load, dofile,
 * require, string.dump, collectgarbage, print, metatables, random numbers or clock; no
 * `pairs`/`next`, whose order follows a per-process hash seed (contracts iterate with
 * `sorted_pairs`, integers ascending then strings bytewise); no table.sort (its pivot is
 * random); `tostring` and `string.format` refuse floats and tables (their text would depend
 * on the platform or on addresses). Floats never cross the sandbox's edge: arguments,
 * stored values, events and results are nil, booleans, integers, strings and tables of
 * them.
 *
 * Values cross as **contract msgpack**: msgpack with maps (nil, booleans, integers in the
 * int64 range, str and bin, arrays, maps), at most EC_CONTRACT_DEPTH_MAX deep and
 * EC_CONTRACT_VALUE_MAX bytes. The engine writes the canonical form: shortest encodings;
 * a table whose keys are exactly 1..n is an array (the empty table the empty array), any
 * other a map with integer or string keys, integers ascending then strings bytewise; a
 * string that is valid UTF-8 is a str, any other a bin. It reads any well-formed value
 * (a repeated map key: the last wins). The chains carry these bytes as opaque `bin`; only
 * this engine and the client read them.
 */
#ifndef EC_CONTRACT_H
#define EC_CONTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "ec_codec.h"
#include "ec_err.h"

#define EC_CONTRACT_CODE_MAX (64u * 1024)   /* Lua source of one contract                  */
#define EC_CONTRACT_VALUE_MAX (64u * 1024)  /* one encoded value (argument list, result...) */
#define EC_CONTRACT_KEY_MAX 256             /* a storage key, bytes                          */
#define EC_CONTRACT_DEPTH_MAX 16            /* nesting of tables in a value                  */
#define EC_CONTRACT_FN_MAX 64               /* a function name, bytes + NUL                   */
#define EC_CONTRACT_BUDGET_DEFAULT 2000000u /* Lua VM instructions per call                 */
#define EC_CONTRACT_MEM_DEFAULT (16u << 20) /* bytes one call's interpreter may hold        */
#define EC_CONTRACT_RANGE_MAX 100           /* entries one storage.range call returns        */
#define EC_CONTRACT_EVENTS_MAX 64           /* events one call emits                         */

/* What a call may use; zero fields take the defaults. */
typedef struct {
    uint64_t budget; /* VM instructions (counted in steps of 1000)                         */
    size_t mem_max;  /* bytes the interpreter may hold at once                             */
} ec_contract_limits_t;

/*
 * The host: the contract's own key space and the call's facts. Storage callbacks return 0,
 * EC_ENOTFOUND (get), or a local fault (EC_EIO, EC_ENOMEM...), which stops the call and is
 * returned as it is: it is no verdict on the contract. `get` hands over a malloc'd value.
 */
typedef struct {
    void *ctx;
    int (*get)(void *ctx, const uint8_t *key, size_t key_size, uint8_t **val, size_t *val_size);
    int (*put)(void *ctx, const uint8_t *key, size_t key_size, const uint8_t *val, size_t val_size);
    int (*del)(void *ctx, const uint8_t *key, size_t key_size);
    /* An event: its name (1..63 bytes) and its data, one contract-msgpack value. */
    int (*emit)(void *ctx, const char *name, const uint8_t *data, size_t size);
    /*
     * Up to `limit` (1..EC_CONTRACT_RANGE_MAX) stored entries whose keys start with
     * prefix (0..EC_CONTRACT_KEY_MAX bytes) and sort after `after` (bytewise; after_size 0:
     * from the first), in key order, as one contract-msgpack array of maps {key, value}.
     * *cost gets the instructions to charge the call for the work (at least the entries
     * looked at), so that a scan costs what it takes.
     */
    int (*range)(void *ctx, const uint8_t *prefix, size_t prefix_size, const uint8_t *after,
                 size_t after_size, uint32_t limit, ec_writer_t *out, uint64_t *cost);
    /* The caller's roles on this chain: one contract-msgpack array of maps {role: str, org:
     * str}, role names as ec_role_name gives them, in a defined order. */
    int (*roles)(void *ctx, ec_writer_t *out);
    /* Whether the caller holds role `role` (a name) for org (NULL: any org): 1, 0, or a
     * local fault. */
    int (*has_role)(void *ctx, const char *role, const char *org);
    /* Whether the main chain attested the caller's real-name identity: 1, 0, or a fault. */
    int (*attested)(void *ctx);
    /*
     * Opens a pending decision that only a holder of `role` (a name) for `org` ("" any
     * org) may settle with a DECIDE transaction; `request` is one contract-msgpack value.
     * Returns 0 with *id the decision's number, EC_EINVAL for an unknown role (which the
     * engine turns into the contract's error), or a local fault.
     */
    int (*escalate)(void *ctx, const char *role, const char *org, const uint8_t *request,
                    size_t size, uint64_t *id);
    const char *caller; /* the caller's address                                          */
    const char *tx;     /* the transaction's id, hex ("" in a query)                     */
    uint64_t height;    /* the block's height and time                                   */
    uint64_t time_ms;
    /* The contract itself: its name, owner's address, owner's organization, version. */
    const char *name, *owner, *org;
    uint64_t version;
} ec_contract_host_t;

/* Checks that `code` (Lua source text, not bytecode) compiles in the sandbox. 0, or
 * EC_ETOOBIG / EC_ECONTRACT with st saying where it does not. */
EC_WUR int ec_contract_check(const uint8_t *code, size_t size, ec_status_t *st);

/*
 * Runs global function `fn` of the contract with the arguments in `args` (one
 * contract-msgpack array) and writes its first return value (contract msgpack; nil when it
 * returns nothing) to `result`. `*used` gets the instructions spent (may be NULL).
 * Returns 0; EC_ECONTRACT when the contract refuses (error(), a runtime error, an unknown
 * function, a value that cannot cross: st has the contract's message); EC_ELIMIT when it
 * went over its budget or memory cap (even if it caught the error itself); EC_EINVAL for
 * malformed args; or a host callback's local fault. Storage writes made by a refused call
 * are the host's to undo (the chain's save point does).
 */
EC_WUR int ec_contract_call(const uint8_t *code, size_t code_size, const char *fn,
                            const uint8_t *args, size_t args_size, const ec_contract_host_t *host,
                            const ec_contract_limits_t *limits, ec_writer_t *result, uint64_t *used,
                            ec_status_t *st);

/* Writes a string as the engine does: a str when it is valid UTF-8, else a bin. */
void ec_contract_write_string(ec_writer_t *w, const uint8_t *s, size_t len);

/* Checks that data is one well-formed contract-msgpack value within the limits. 0 or
 * EC_EINVAL. */
EC_WUR int ec_contract_value_check(const uint8_t *data, size_t size);

#endif
