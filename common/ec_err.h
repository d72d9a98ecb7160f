/*
 * ec_err.h - error codes shared by every ecert module and by the wire protocol.
 *
 * Functions that can fail on outside input return 0 or one of the negative codes below.
 * The same numbers travel in RPC replies (docs/PROTOCOL.md, "Status codes"), so a client
 * written in another language can map them without reading this file. Never renumber a
 * code; add new ones at the end.
 */
#ifndef EC_ERR_H
#define EC_ERR_H

#define EC_WUR __attribute__((warn_unused_result))

enum {
    EC_OK = 0,
    EC_EINVAL = -1,      /* malformed input: bad msgpack, wrong type, non-canonical   */
    EC_ETOOBIG = -2,     /* a length or count above its limit                         */
    EC_ENOTFOUND = -3,   /* no such block, transaction, account, certificate, ...     */
    EC_EEXIST = -4,      /* already there: duplicate account, identity, organization  */
    EC_ESIG = -5,        /* a signature or commit does not verify                     */
    EC_EREPLAY = -6,     /* this transaction id was seen before                       */
    EC_EPERM = -7,       /* the sender lacks the role this action needs               */
    EC_ECHAIN = -8,      /* wrong chain id or chain kind                              */
    EC_EMETHOD = -9,     /* unknown RPC method or query path                          */
    EC_EIO = -10,        /* storage or file system error                              */
    EC_ENOMEM = -11,     /* allocation failed                                         */
    EC_ETIMEOUT = -12,   /* no answer in time                                         */
    EC_EBUSY = -13,      /* queue full: back off and retry                            */
    EC_EPROOF = -14,     /* a Merkle proof does not verify                            */
    EC_EDUPLICATE = -15, /* anchor at or below the known height: harmless, ignored    */
    EC_EFORK = -16,      /* anchor does not extend the known history: chain frozen    */
    EC_EFROZEN = -17,    /* the chain is frozen until governance acts                 */
    EC_ESTATE = -18,     /* action not allowed in the current state (e.g. revoked)    */
    EC_EVERSION = -19,   /* unsupported format version                                */
    EC_ECRYPTO = -20,    /* decryption failed: wrong key or passphrase, or tampering  */
    EC_ECONFIG = -21,    /* bad configuration file                                    */
    EC_EINTERNAL = -22,  /* bug or unexpected library failure; see the log            */
    EC_ESHUTDOWN = -23,  /* the node is stopping                                      */
    EC_ESTALE = -24,     /* a side chain's mirror of main-chain roles is too old       */
    EC_ELIMIT = -25,     /* a contract call went over its instruction budget or memory */
    EC_ECONTRACT = -26,  /* a contract refused the call (its error, or a runtime fault) */
};

/*
 * A result with a human-readable reason, for errors that travel back to a person or a
 * client ("sender ec1... is not an issuing agency for degree"). msg never holds a secret.
 */
typedef struct {
    int code;      /* 0 or an EC_E* code                                               */
    char msg[200]; /* NUL-terminated explanation; empty when code is 0                  */
} ec_status_t;

/*
 * Sets st (when not NULL) to code and a printf-formatted message, and returns code, so a
 * failing path reads `return ec_status_set(st, EC_EPERM, "...", ...);`.
 */
int ec_status_set(ec_status_t *st, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Resets st to success. */
void ec_status_clear(ec_status_t *st);

/*
 * Returns a short static English description of an error code ("malformed input"),
 * or "unknown error" for a number that is not a code. Never NULL.
 */
const char *ec_strerror(int code);

/*
 * Returns the stable symbolic name of a code ("EINVAL"), as used in --json output and
 * docs/PROTOCOL.md, or "EUNKNOWN". Never NULL.
 */
const char *ec_errname(int code);

#endif
