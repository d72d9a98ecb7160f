/*
 * cl_common.h - what every ecert subcommand shares: the global options and client config,
 * connections to the chains by type, key files and passphrases, the submit-and-wait
 * helper, reading replies, and output (human text, or one JSON object with --json).
 *
 * Error convention: a command returns its exit status. cl_fail() records the error
 * (code + message) and returns 1; cl_usage() records a usage error and returns 2; main()
 * prints the recorded error once, as `ecert: <message>` on stderr (and, with --json, as
 * {"error": {...}} on stdout). Messages from a node read "NAME: what the node said".
 */
#ifndef CL_COMMON_H
#define CL_COMMON_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ec_bundle.h"
#include "ec_chain.h"
#include "ec_codec.h"
#include "ec_config.h"
#include "ec_crypto.h"
#include "ec_err.h"
#include "ec_rpc.h"
#include "ec_types.h"

#define CL_SIDES_MAX 32 /* side chains in one client config                   */
#define CL_TIMEOUT_MS_DEFAULT 10000
#define CL_DEFAULT_CONFIG "./.devnet/client.yaml"

#define CL_RPCS_MAX 16 /* rpc endpoints of one chain (its validators)             */

/* One chain the client can talk to (main or a side chain), from the client config. */
typedef struct {
    char type[EC_CERT_TYPE_MAX]; /* "main", or the side chain's certificate type    */
    char chain_id[EC_CHAIN_ID_MAX];
    char rpc[EC_ENDPOINT_MAX]; /* the endpoint in use, e.g. tcp://127.0.0.1:7000    */
    /* Every endpoint of the chain (`rpc:` as a string or a list), in the order they are
     * tried: a call that gets no answer moves on to the next (cl_call). */
    char rpcs[CL_RPCS_MAX][EC_ENDPOINT_MAX];
    uint32_t rpc_count;        /* 0 means rpc alone                                        */
    uint32_t rpc_at;           /* index of rpc in rpcs                                     */
    char genesis[EC_PATH_MAX]; /* absolute path, "" when not configured          */
    char pub[EC_ENDPOINT_MAX]; /* where the chain announces (PUB), "" when not given; of
                                * a list, the first                                    */
    ec_rpc_t *conn;            /* NULL until first used                          */
} cl_chain_t;

/* The client config file, paths resolved against the file's folder. */
typedef struct {
    char path[EC_PATH_MAX];
    cl_chain_t main;
    size_t side_count;
    cl_chain_t sides[CL_SIDES_MAX];
    char identity_salt_file[EC_PATH_MAX]; /* "" when not configured                      */
} cl_config_t;

/* The state of one ecert run. */
typedef struct {
    /* global options (also accepted after the command name) */
    const char *config_path; /* NULL: $ECERT_CONFIG, else CL_DEFAULT_CONFIG     */
    bool json;
    const char *key_path;
    const char *passphrase_file;
    uint32_t timeout_ms;
    bool timeout_set;    /* --timeout-ms was given                          */
    const char *command; /* "cert issue", for messages                      */
    /* loaded lazily by cl_config() */
    bool config_loaded;
    cl_config_t cfg;
    /* the error to report, set by cl_fail / cl_usage */
    int err_code;
    bool err_usage;
    char err_msg[512];
    char err_node_msg[256]; /* the node's own text, for --json ("" if local)  */
    /* `gov propose`: the operator action the command builds is proposed (GOV_PROPOSE,
     * expiring gov_ttl_ms after now) instead of sent (cmd_gov_submit). */
    bool gov_propose;
    uint64_t gov_ttl_ms;
} cl_ctx_t;

/* ---- errors and output ------------------------------------------------------------------ */

/* Records an error (code = an EC_E* code) and returns 1, the exit status for failure. */
int cl_fail(cl_ctx_t *ctx, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Records an error from an ec_status_t: "<prefix>: <st->msg>" (prefix may be NULL). */
int cl_fail_st(cl_ctx_t *ctx, const ec_status_t *st, const char *prefix);
/* Records a usage error and returns 2. */
int cl_usage(cl_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Forgets a recorded error (one the caller handled). */
void cl_clear_error(cl_ctx_t *ctx);
/* Prints the recorded error (stderr, and stdout with --json). */
void cl_report(const cl_ctx_t *ctx);

/*
 * Makes jansson wipe (sodium_memzero) every block it frees: certificate fields pass through
 * it (--data files, decrypted fields in --json output). Call once, first thing, before any
 * other jansson call: blocks jansson allocated before cannot be freed after it. Not
 * thread-safe (jansson's allocator is global).
 */
void cl_json_wipe_on_free(void);

/* printf to stdout, only without --json. */
void cl_out(const cl_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Prints "  name: value" and a newline, only without --json, each terminal control
 * character of either (C0, DEL, C1) shown as '?': certificate fields come from documents a
 * stranger hands over (presentations, exported credentials), and escape sequences in them
 * must not drive the reader's terminal. value is value_len bytes (may hold NUL).
 */
void cl_out_field(const cl_ctx_t *ctx, const char *name, const char *value, size_t value_len);
/* With --json, prints obj on one line to stdout. Always takes (decrefs) obj. Returns 0. */
int cl_emit(const cl_ctx_t *ctx, json_t *obj);
/* Hex of size bytes as a new JSON string. */
json_t *cl_json_hex(const uint8_t *data, size_t size);

/* The last lines of every command's --help. */
#define CL_GLOBAL_NOTE                                                                             \
    "\nGlobal options (--config, --json, --key, --passphrase-file, "                               \
    "--timeout-ms): see 'ecert --help'.\n"

/* ---- option parsing --------------------------------------------------------------------- */

enum {
    CL_OPT_HELP = 'h',
    CL_OPT_CONFIG = 1000,
    CL_OPT_JSON,
    CL_OPT_KEY,
    CL_OPT_PASSFILE,
    CL_OPT_TIMEOUT,
    CL_OPT_FIRST_LOCAL = 1100, /* commands number their own long options from here         */
};

/* The global options; every command's option table ends with these. */
#define CL_COMMON_OPTIONS                                                                          \
    {"config", required_argument, NULL, CL_OPT_CONFIG}, {"json", no_argument, NULL, CL_OPT_JSON},  \
        {"key", required_argument, NULL, CL_OPT_KEY},                                              \
        {"passphrase-file", required_argument, NULL, CL_OPT_PASSFILE},                             \
        {"timeout-ms", required_argument, NULL, CL_OPT_TIMEOUT},                                   \
        {"help", no_argument, NULL, CL_OPT_HELP},                                                  \
    {                                                                                              \
        NULL, 0, NULL, 0                                                                           \
    }

/* Starts a getopt_long pass over argv (argv[0] = the command's name). */
void cl_getopt_begin(void);
/* getopt_long with ecert's conventions (no getopt messages; ':' for a missing argument). */
int cl_getopt(int argc, char **argv, const struct option *opts);
/*
 * Handles an option the command did not: the global ones, --help (prints `help`, returns
 * 0), unknown options and missing arguments (usage error, returns 2). Returns -1 when the
 * option was handled and parsing goes on, else the exit status to return.
 */
int cl_option(cl_ctx_t *ctx, int opt, int argc, char **argv, const char *help);

/* What a command option takes, for cl_parse_opts. */
typedef enum {
    CL_ARG_FLAG,    /* no value: *(bool *)out = true                               */
    CL_ARG_STR,     /* *(const char **)out = the value                             */
    CL_ARG_U64,     /* *(uint64_t *)out, via cl_parse_u64                          */
    CL_ARG_HASH,    /* (uint8_t *)out, 32 bytes, via cl_parse_hash                 */
    CL_ARG_ADDRESS, /* *(const char **)out, checked with cl_check_address          */
    CL_ARG_FN,      /* fn(ctx, value, out): 0, or the exit status (error recorded) */
} cl_arg_t;

/* One option of a command (name without the leading "--"); a table ends with {NULL}. */
typedef struct {
    const char *name;
    cl_arg_t kind;
    void *out;
    bool *given; /* set to true when the option appears (may be NULL)              */
    int (*fn)(cl_ctx_t *ctx, const char *value, void *out);
} cl_opt_t;

#define CL_OPTS_MAX 24 /* options in one cl_opt_t table                            */

/*
 * Parses a command's argv (argv[0] = its name) against `opts` and the global options,
 * storing each value as its kind says, in the order given (so a bad value is reported
 * as it comes). `help` is printed for --help. When `positional` is not NULL it takes the
 * first positional argument (NULL when there is none); any other positional argument is
 * a usage error. Returns -1 when the command goes on, else the exit status to return
 * (0 after --help, 1 or 2 with the error recorded).
 */
int cl_parse_opts(cl_ctx_t *ctx, int argc, char **argv, const cl_opt_t *opts, const char *help,
                  const char **positional);

/* Parses a decimal uint64 (whole string). 0 or a usage error (returns 2). */
int cl_parse_u64(cl_ctx_t *ctx, const char *opt, const char *s, uint64_t *out);
/* Parses a 64-hex-digit hash (a transaction or certificate id). 0 or usage error 2. */
int cl_parse_hash(cl_ctx_t *ctx, const char *opt, const char *s, uint8_t out[EC_HASH_BYTES]);
/* Checks an address's form and checksum. 0 or usage error 2. */
int cl_check_address(cl_ctx_t *ctx, const char *opt, const char *address);
/* Usage error for a required option that is missing ("missing --type"). Returns 2. */
int cl_missing(cl_ctx_t *ctx, const char *opt);
/* Fails when positional arguments are left over. Returns 0 or 2. */
int cl_no_args(cl_ctx_t *ctx, int argc, char **argv);

/* ---- config and chains ------------------------------------------------------------------ */

/* Loads the client config once. Returns it, or NULL with the error recorded. */
cl_config_t *cl_config(cl_ctx_t *ctx);
/* The main chain, connected. NULL with the error recorded. */
cl_chain_t *cl_main(cl_ctx_t *ctx);
/* The side chain for a certificate type, connected. NULL with the error recorded. */
cl_chain_t *cl_side(cl_ctx_t *ctx, const char *cert_type);
/* Connects a configured chain (idempotent). 0, or 1 with the error recorded. */
int cl_connect(cl_ctx_t *ctx, cl_chain_t *ch);
/* Closes every connection. */
void cl_disconnect_all(cl_ctx_t *ctx);

/*
 * Calls `method` with `params` (an encoded msgpack array, NULL for []). Returns 0 with
 * *reply filled (fini it), or 1 with the error recorded: `no answer from <chain> at
 * <endpoint> within N ms`, or the node's "NAME: message". When `quiet_code` is not 0 and
 * the node answers with exactly that code, returns that code (negative) without recording
 * an error (e.g. EC_ENOTFOUND while polling).
 */
int cl_call(cl_ctx_t *ctx, cl_chain_t *ch, const char *method, const ec_writer_t *params,
            ec_rpc_reply_t *reply, int quiet_code);
/* `query` with [path, args]; args is an encoded array (NULL for []). Same as cl_call. */
int cl_query(cl_ctx_t *ctx, cl_chain_t *ch, const char *path, const ec_writer_t *args,
             ec_rpc_reply_t *reply, int quiet_code);
/* Records "garbled reply from <chain> to <what>" (EC_EINVAL) and returns 1. */
int cl_garbled(cl_ctx_t *ctx, const cl_chain_t *ch, const char *what);

/* ---- main-chain accounts ---------------------------------------------------------------- */

/* One account as `query account` returns it: up to EC_ACCOUNT_ROLES_MAX roles, the most the
 * main chain lets an account hold (about 17 KB: keep it off small stacks). */
typedef struct {
    char address[EC_ADDR_MAX];
    char name[EC_NAME_MAX];
    uint8_t pk[EC_PK_BYTES];  /* the identity key: the address is its hash        */
    uint8_t key[EC_PK_BYTES]; /* the key that signs for it now (and that data is
                               * sealed to); all zero when revoked               */
    bool recovery;            /* a recovery is pending: to recovery_key, from     */
    uint8_t recovery_key[EC_PK_BYTES];
    uint64_t recovery_ready_ms; /* block time from which it can finish         */
    uint64_t height;            /* block that registered it                        */
    bool attested;
    size_t role_count;
    struct {
        uint32_t role; /* EC_ROLE_*                                       */
        char cert_type[EC_CERT_TYPE_MAX];
        char org_code[EC_ORG_CODE_MAX];
    } roles[EC_ACCOUNT_ROLES_MAX];
} cl_account_t;

/*
 * Reads a `query account` result into out. Returns 0, EC_ETOOBIG (more roles than
 * EC_ACCOUNT_ROLES_MAX: a reply the protocol does not allow) or EC_EINVAL (any other
 * malformation). On error *out is zeroed; role_count never exceeds EC_ACCOUNT_ROLES_MAX.
 */
EC_WUR int cl_account_read(cl_account_t *out, const msgpack_object *result);

/* Looks up an account on the main chain. 0, or 1 with the error recorded (an unknown
 * address reads "no account ec1... on the main chain"). */
int cl_account_get(cl_ctx_t *ctx, const char *address, cl_account_t *out);

/*
 * The account a key signs for, or signed for (query signer): its address, and in `state`
 * (16 bytes) "current", "retired" or "revoked". A key never rotated is its own account's.
 * 0, or 1 with the error recorded (a key no account has: ENOTFOUND).
 */
int cl_signer_get(cl_ctx_t *ctx, const uint8_t pk[EC_PK_BYTES], char address[EC_ADDR_MAX],
                  char state[16]);
/* cl_signer_get for a key that must sign for its account now: 0, or 1 with the error
 * recorded (EC_EPERM "that key no longer signs for ec1...: it was replaced|revoked"). */
int cl_signer_current(cl_ctx_t *ctx, const uint8_t pk[EC_PK_BYTES], char address[EC_ADDR_MAX]);

/* ---- keys ------------------------------------------------------------------------------- */

/*
 * Gets the passphrase: --passphrase-file, else $ECERT_PASSPHRASE, else a prompt on
 * /dev/tty with echo off (asked twice when `confirm`). The result is sodium_malloc memory:
 * release with cl_passphrase_free. NULL with the error recorded.
 */
char *cl_passphrase(cl_ctx_t *ctx, const char *key_path, bool confirm);
void cl_passphrase_free(char **p);
/* Loads and decrypts the key file `path` (NULL: --key). NULL with the error recorded: the
 * message says what is wrong with the file (missing, mode open to others with the chmod that
 * fixes it, not a key file, wrong passphrase). */
ec_key_t *cl_key_load(cl_ctx_t *ctx, const char *path);
/* Reads the public key of key file `path` into pk, without a passphrase. 0, or 1 with the
 * error recorded as cl_key_load records it. */
int cl_key_file_pk(cl_ctx_t *ctx, const char *path, uint8_t pk[EC_PK_BYTES]);

/* ---- transactions ----------------------------------------------------------------------- */

/* What a committed submit returned. */
typedef struct {
    uint8_t id[EC_HASH_BYTES];
    uint64_t height;
    uint64_t index;
} cl_txres_t;

/*
 * Builds a transaction (random 64-bit nonce), submits it with its payload (may be NULL)
 * and waits for the commit. Prints "tx <hex> committed at height <h>" (human mode).
 * Returns 0 with *res filled, or 1 with the error recorded.
 */
int cl_submit(cl_ctx_t *ctx, cl_chain_t *ch, uint64_t type, const ec_key_t *key,
              const ec_writer_t *body, const uint8_t *payload, size_t payload_size,
              cl_txres_t *res);
/*
 * Signs with --key (a usage error when it is not given) and submits through cl_submit.
 * ch NULL means the main chain (connected after the --key check). When `signer` is not
 * NULL it receives the key's address. Returns 0, or 1/2 with the error recorded.
 */
int cl_submit_signed(cl_ctx_t *ctx, cl_chain_t *ch, uint64_t type, const ec_writer_t *body,
                     const uint8_t *payload, size_t payload_size, cl_txres_t *res,
                     char signer[EC_ADDR_MAX]);
/* Adds "tx", "height", "index" to obj. */
void cl_json_txres(json_t *obj, const cl_txres_t *res);
/* cl_json_txres, then cl_emit (takes obj). Returns 0. */
int cl_emit_txres(const cl_ctx_t *ctx, json_t *obj, const cl_txres_t *res);

/* ---- files ------------------------------------------------------------------------------ */

/*
 * Reads a whole file (at most max bytes) into a malloc buffer (one extra NUL byte after
 * the data). Returns 0, or 1 with the error recorded ("cannot read FILE: ...").
 */
int cl_read_file(cl_ctx_t *ctx, const char *path, size_t max, uint8_t **data, size_t *size);
/* Writes a file atomically (temporary + fsync + rename), mode 0644. 0 or 1 (recorded). */
int cl_write_file(cl_ctx_t *ctx, const char *path, const uint8_t *data, size_t size);
/* The same with mode 0600: for what was decrypted for its reader alone. */
int cl_write_private(cl_ctx_t *ctx, const char *path, const uint8_t *data, size_t size);

/* Current wall-clock time in ms since the Unix epoch. */
uint64_t cl_now_ms(void);
/* Formats ms since the epoch as "2026-01-31T12:00:00Z" into buf (>= 32 bytes). */
void cl_format_time(char *buf, size_t cap, uint64_t ms);

#endif
