/*
 * ods_grant.h - how odsd decides that a `get` may be served: the grant it names is checked
 * against the share chain (docs/SHARING.md; wire protocol in common/ec_ods.h).
 *
 * A grant is a CONTRACT_CALL transaction of an asset's access contract (deploy/contracts/
 * acl.lua, or the owner's own), function `request(asset, version, purpose)`, that the
 * share chain applied with the answer {granted = true, asset, version, ...}. The checks run
 * in this order, and the first that fails is the answer, with a message that says which:
 *
 *   (a) the share chain's `contract_result [tx]` exists, names function "request", and its
 *       result says granted == true, with the asset's id and the version;
 *   (b) the directory (`registry`, deploy/contracts/assets.lua) knows the asset, names the
 *       grant's contract as its access contract (`acl`), has not withdrawn it, and its
 *       `version(id, n)` gives the encrypted file's digest and (plaintext) size and is
 *       served by an ODS (not carried on chain as text);
 *   (c) the transaction's proof bundle, built from the chains and verified against the
 *       main genesis of the client config (as `ecert audit` does), shows it applied
 *       (result code 0) on the share chain as a CONTRACT_CALL of that contract's request()
 *       for that asset and version; its sender is the requester, its side block's time the
 *       grant's time. The bundle may take a while to exist (the block must be anchored in
 *       the main chain): the check waits up to wait_ms for it;
 *   (d) that time is at most ttl_ms before now (and not more than EC_ODS_SKEW_MS after).
 *
 * (e), that the object and its key are stored, is the caller's (it owns the store).
 * Trust: (c) is proven against the main genesis and needs no trust in the node; the
 * verdict `granted` of (a) and the directory's answers of (b) are contract state, which no
 * bundle proves: odsd takes them from the share-chain node of its client config, which the
 * operator runs or trusts. Nothing is cached from one check to the next.
 */
#ifndef ODS_GRANT_H
#define ODS_GRANT_H

#include <stdint.h>

#include "cl_common.h"
#include "ec_body.h"
#include "ec_err.h"

#define ODS_ASSET_ID_MAX 64 /* an asset id, with its NUL (acl.lua: 1..63 bytes)           */

/* What odsd's config says about the chain side. */
typedef struct {
    const char *share_type; /* the share chain's certificate type in the client config  */
    const char *registry;   /* the directory contract's name                            */
    uint64_t ttl_ms;        /* a grant is good this long after its block's time         */
    uint64_t wait_ms;       /* how long to wait for the grant's proof bundle            */
} ods_grant_opts_t;

/* A grant that passed (a) to (d). */
typedef struct {
    uint8_t tx[EC_HASH_BYTES];      /* the CONTRACT_CALL                                */
    char acl[EC_CONTRACT_NAME_MAX]; /* the access contract it called                    */
    char asset[ODS_ASSET_ID_MAX];   /* the asset's id                                   */
    uint64_t version;               /* the version granted                              */
    uint8_t digest[EC_HASH_BYTES];  /* that version's encrypted file                    */
    uint64_t plain_size;            /* that version's size (plaintext bytes)            */
    uint8_t requester[EC_PK_BYTES]; /* the transaction's sender (proven)                */
    uint64_t side_height;           /* its block on the share chain                     */
    uint64_t time_ms;               /* that block's time                                */
    uint64_t main_height;           /* the main block that anchored it                  */
} ods_grant_t;

/*
 * Checks grant transaction `tx` as the file comment says, through the client context cl
 * (its config loaded; its connections are used and kept; its recorded error is cleared).
 * Returns: 0 with *out filled; else the failing step's code: EC_ENOTFOUND (no such applied
 *          call, asset or version), EC_EPERM (not a request, refused by the contract, or
 *          another contract than the asset's), EC_ESTATE (withdrawn, or a version carried
 *          on chain), EC_ESTALE (older than ttl_ms), EC_EPROOF / EC_ESIG / EC_ECHAIN (the
 *          proof), EC_ETIMEOUT (a chain did not answer, or the block was not anchored in
 *          time), EC_EINVAL (a garbled answer), EC_ECONFIG; st says which step and why.
 *          *out is zeroed on failure.
 * In:      now_ms, the wall clock (ms since the epoch).
 */
EC_WUR int ods_grant_check(cl_ctx_t *cl, const ods_grant_opts_t *opts,
                           const uint8_t tx[EC_HASH_BYTES], uint64_t now_ms, ods_grant_t *out,
                           ec_status_t *st);

#endif
