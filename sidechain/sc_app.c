/*
 * sc_app.c - the side chain's rules (ec_app_t): certificates of the genesis' type, judged
 * against a mirror of main-chain facts that MAIN_ANCHOR transactions bring in with proofs.
 *
 * Invariants: the mirror only moves forward along a main history whose headers carry a
 * valid commit of genesis.main_validators; mirrored records are applied exactly once, in
 * sequence order, each proven against the records root of an accepted main header; a
 * certificate's id is the id of its ISSUE transaction; a revoked certificate never
 * changes again (ERASE excepted: erasure is the holder's right whatever the status); an
 * erased certificate never carries a payload again, and every payload it had is gone from
 * EC_CF_PAYLOADS while every hash (blocks, tx index, payload_hash) stays. deliver_tx
 * checks everything before it writes (the engine still rolls a failed transaction back)
 * and reads no clock.
 *
 * State keys (EC_CF_STATE; the first byte says the kind; be64 = big-endian uint64 so that
 * RocksDB's byte order is numeric order). Also in docs/SIDECHAIN.md; keep both in step.
 *
 *   key                                               value
 *   'M'                                               mirror: see SC_MIRROR_* below
 *   'R' pk(32) role(1) ct_len(1) cert_type org_code   be64(seq of the granting record)
 *   'A' pk(32)                                        identity_hash(32)   (attested)
 *   'a' address_hash(20)                              pk(32)              (attested)
 *   'C' cert_id(32)                                   certificate: see SC_CERT_* below
 *   'H' holder_hash(20) be64(height) cert_id(32)      empty (holder index, issue order)
 *   'I' cert_id(32) be64(height) tx_id(32)            pk(32) org_len(1) org_code verdict
 *   'P' cert_id(32)                                   be32(n): payloads besides the ISSUE's
 *   'P' cert_id(32) be32(i)                           tx_id(32) of payload i (0 <= i < n)
 *   'V'                                               the main chain's validator set after
 *                                                     the mirrored header (ec_valset_encode);
 *                                                     absent: genesis.main_validators
 *   'N'                                               be64(certificates issued): the status
 *                                                     list's length (absent: 0)
 *   'S' be64(page)                                    status-list page (EC_SLIST_PAGE_BYTES;
 *                                                     absent: all zeros, every code valid)
 *   'L' cert_id(32) be64(seq)                         history entry seq of a certificate:
 *                                                     type(1) be64(height) tx_id(32)
 *   'U' org_len(1) org be64(time_ms) be64(height)     one inspection by org (metering):
 *       tx_id(32)                                     cert_id(32) verdict
 *   'K' key(32)                                       identity(32) state(1): a key that
 *                                                     signs for the account of that
 *                                                     identity key (state 0) or did
 *                                                     (1: retired or revoked)
 *   'k' identity(32)                                  the account's signing key (zero:
 *                                                     revoked); absent: the identity key
 *   'v' root(32) signer(32)                           be64(height) tx_id(32) be64(count):
 *                                                     the EVIDENCE by which the key
 *                                                     signer deposited this batch root
 *                                                     (once per key and root: someone who
 *                                                     copies a pending root deposits it
 *                                                     as theirs, never in one's place)
 *
 * Roles, attestations and holders name accounts by their identity key (the key they
 * registered with, whose hash is the address): a transaction signed by a key that
 * replaced it (main-chain KEY records) acts as that identity, one signed by a retired key
 * is refused.
 *
 * Outside the state (EC_CF_META, written by end_block with the block, so it always
 * describes the committed tip): "sc/slist" -> be64(height) state_digest(32)
 * be64(mirrored records) be64(status list length): what a status-list query needs to
 * prove the list against the tip's header (ec_slist.h). And per block, for the last
 * SC_SLIST_HISTORY blocks (end_block deletes the record that many blocks below):
 * "sc/slh" be64(height) -> state_digest(32) be64(mirrored records) be64(status list
 * length) status_root(32) be64(since: the height from which the list has been this one,
 * as far as the records kept tell), 88 bytes: what proves the tip's list against an older
 * header (the anchored one) while the list has not changed since. Neither enters the state
 * digest (only EC_CF_STATE writes do), so they do not touch consensus.
 *
 * The 'P' keys list the payload-carrying CHANGE and INSPECT transactions of a certificate
 * (the ISSUE's payload is keyed by the cert id itself), so ERASE finds every payload with
 * point reads through the pending batch; n is at most SC_PAYLOADS_MAX (EC_ETOOBIG beyond),
 * which bounds an ERASE to SC_PAYLOADS_MAX + 1 payload deletes. ERASE deletes the 'P' keys
 * with the payloads. A missing count key means n = 0.
 *
 * Mirror value (SC_MIRROR_BYTES, 90 bytes):
 *   offset size  meaning
 *        0    1  format version (SC_FORMAT, 2)
 *        1    8  be64 height of the last accepted main header (0: none yet)
 *        9   32  its block hash (main genesis hash at height 0)
 *       41   32  its hist_root (SHA-256("") at height 0)
 *       73    1  frozen (1 after a proven main-chain fork)
 *       74    8  be64 mirrored records count (the next expected seq)
 *       82    8  be64 time_ms of the last accepted main header (0: none yet)
 * A missing 'M' key means the initial mirror built from the genesis.
 *
 * Freshness: a transaction that needs a main-chain role (ISSUE, INSPECT, RENEW, CHANGE,
 * REVOKE, ERASE by an agency) is refused with EC_ESTALE when the block's time is more than
 * genesis.main_freshness_ms after the mirror's main header time: a side chain whose relay
 * stopped must not go on trusting roles the main chain may have revoked since. The main
 * height whose roles authorized such a transaction is its result's `ref`, and an ISSUE
 * keeps it in the certificate.
 *
 * Certificate value (175 + org_len bytes):
 *   offset size  meaning
 *        0    1  format version (SC_CERT_FORMAT, 3)
 *        1   20  holder address hash
 *       21   32  issuer public key
 *       53    8  be64 issue height
 *       61   32  fields_root
 *       93    8  be64 expires_ms
 *      101    1  status: 1 issued, 2 acknowledged, 3 revoked, 4 cancelled; | 0x40 while
 *                suspended (SUSPEND, until REINSTATE); | 0x80 once erased (ERASE)
 *      102   32  id of the transaction whose payload is current (ISSUE or last CHANGE)
 *      134    8  be64 inspections count
 *      142    8  be64 height of the last change (issue, inspect, ack, renew, change, revoke)
 *      150    8  be64 main-chain height whose roles authorized the ISSUE
 *      158    8  be64 index in the status list (the order of issue, from 0)
 *      166    8  be64 history entries ('L' keys), ISSUE included
 *      174    1  org_len (1..EC_ORG_CODE_MAX-1)
 *      175    n  org_code
 *
 * Status list (ec_slist.h): a certificate's code is revoked (2) once revoked, ended (3)
 * once cancelled or erased, suspended (1) while suspended, else valid (0); every change of
 * a certificate rewrites its page in the same transaction, and end_block folds the list's
 * root into the state root (reading ceil(n / 4096) pages and hashing n / 4 bytes: 1.6 ms a
 * block per million certificates on the test host, `ecert-bench --status-list`).
 */
#include "sc_app.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "ec_body.h"
#include "ec_chain.h"
#include "ec_crypto.h"
#include "ec_ledger.h"
#include "ec_log.h"
#include "ec_merkle.h"
#include "ec_slist.h"
#include "ec_cstate.h"

enum {
    SC_K_MIRROR = 'M',
    SC_K_ROLE = 'R',
    SC_K_ATTEST = 'A',
    SC_K_ADDR = 'a',
    SC_K_CERT = 'C',
    SC_K_HOLDER = 'H',
    SC_K_INSPECT = 'I',
    SC_K_PAYLOADS = 'P',
    SC_K_MAIN_VALSET = 'V',
    SC_K_CERT_COUNT = 'N',
    SC_K_SLIST_PAGE = 'S',
    SC_K_HISTORY = 'L',
    SC_K_USAGE = 'U',
    SC_K_KEY = 'K',
    SC_K_SIGNER = 'k',
    SC_K_EVIDENCE = 'v',
};

enum { SC_ISSUED = 1, SC_ACKNOWLEDGED = 2, SC_REVOKED = 3, SC_CANCELLED = 4 };
#define SC_SUSPENDED_BIT 0x40 /* in the stored status byte: suspended until REINSTATE   */
#define SC_ERASED_BIT 0x80    /* in the stored status byte: the payloads were erased        */

#define SC_FORMAT 2      /* of the mirror value                                          */
#define SC_CERT_FORMAT 3 /* of the certificate value                                     */
#define SC_MIRROR_BYTES 90
#define SC_CERT_FIXED_BYTES 175
#define SC_HISTORY_KEY_BYTES (1 + EC_HASH_BYTES + 8)
#define SC_HISTORY_VAL_BYTES (1 + 8 + EC_HASH_BYTES)
#define SC_USAGE_KEY_MAX (1 + 1 + EC_ORG_CODE_MAX + 8 + 8 + EC_HASH_BYTES)
#define SC_SLIST_META "sc/slist"
#define SC_SLIST_META_BYTES (8 + EC_HASH_BYTES + 8 + 8)
#define SC_SLH_PREFIX "sc/slh" /* + be64(height): the status list's inputs at that height */
#define SC_SLH_PREFIX_LEN 6
#define SC_SLH_KEY_BYTES (SC_SLH_PREFIX_LEN + 8)
#define SC_SLH_BYTES (EC_HASH_BYTES + 8 + 8 + EC_HASH_BYTES + 8)
/* Blocks whose "sc/slh" record is kept: a status list can be proven against any of the
 * last SC_SLIST_HISTORY headers (an anchor comes every few blocks; 4,096 records are about
 * 420 KB). */
#define SC_SLIST_HISTORY 4096
#define SC_CERT_BYTES_MAX (SC_CERT_FIXED_BYTES + EC_ORG_CODE_MAX)
#define SC_ROLE_KEY_MAX (1 + EC_PK_BYTES + 2 + EC_CERT_TYPE_MAX + EC_ORG_CODE_MAX)
#define SC_HOLDER_KEY_BYTES (1 + EC_ADDR_HASH_BYTES + 8 + EC_HASH_BYTES)
#define SC_INSPECT_KEY_BYTES (1 + EC_HASH_BYTES + 8 + EC_HASH_BYTES)
#define SC_INSPECT_VAL_MAX (EC_PK_BYTES + 1 + EC_ORG_CODE_MAX + EC_VERDICT_MAX)
#define SC_HEADER_BYTES_MAX 1024 /* an encoded header is about 350 bytes               */
#define SC_COMMIT_BYTES_MAX 4096 /* 32 signatures of about 72 bytes each               */
#define SC_RECORD_BYTES_MAX 512  /* an encoded record is under 150 bytes               */
#define SC_LIST_MAX 1000         /* certs_by_holder limit                              */
#define SC_PAYLOADS_MAX 1024     /* CHANGE + INSPECT payloads one certificate may have */
#define SC_PAYLOAD_KEY_BYTES (1 + EC_HASH_BYTES + 4)
#define SC_EVIDENCE_VAL_BYTES (8 + EC_HASH_BYTES + 8)

/* ---- the app ---------------------------------------------------------------------------- */

/* A MAIN_ANCHOR body, parsed; `records` is the unread records array (a fresh cursor is
 * opened on it by s_anchor_records: a nested cursor must not outlive its parent). */
typedef struct {
    ec_header_t header;
    ec_commit_t commit;
    ec_hash32_t prev_path[EC_MERKLE_PROOF_MAX];
    size_t prev_len;
    ec_hash32_t consistency[EC_MERKLE_PROOF_MAX];
    size_t consistency_len;
    uint8_t records_root[EC_HASH_BYTES];
    uint64_t records_count;
    uint8_t state_digest[EC_HASH_BYTES];
    const msgpack_object *records; /* [[record: bin, path]...], into the tx's parse tree */
    uint32_t record_count;         /* its length, <= EC_ANCHOR_RECORDS_MAX              */
    bool has_next;                 /* the header names a new main set, and this is it  */
    ec_valset_t next_valset;
    bool has_claimed; /* a fork claim (ec_light_check)                          */
    uint8_t claimed[EC_HASH_BYTES];
} sc_anchor_t;

typedef struct {
    ec_app_t app;         /* first, so sc_app_free can find the rest             */
    ec_genesis_t genesis; /* this chain's genesis (copy)                         */
    size_t cert_type_len; /* strlen(genesis.cert_type)                           */
    ec_cfacts_t facts;    /* what contracts may ask of a caller                     */
    /* Decoded records of the MAIN_ANCHOR being delivered (commit thread only).            */
    ec_record_t records[EC_ANCHOR_RECORDS_MAX];
    sc_anchor_t anchor; /* its parse (~7 KB), here so that deliver_tx allocates nothing */
} sc_app_t;

/* A certificate record, unpacked. */
typedef struct {
    uint8_t holder[EC_ADDR_HASH_BYTES];
    uint8_t issuer[EC_PK_BYTES];
    uint64_t height;
    uint8_t fields_root[EC_HASH_BYTES];
    uint64_t expires_ms;
    uint8_t status; /* SC_ISSUED, SC_ACKNOWLEDGED, SC_REVOKED or SC_CANCELLED   */
    bool suspended; /* SUSPEND, until REINSTATE                                 */
    bool erased;    /* ERASE deleted its payloads                               */
    uint8_t payload_tx[EC_HASH_BYTES];
    uint64_t inspections;
    uint64_t updated_height;
    uint64_t auth_height; /* main height whose roles authorized the ISSUE          */
    uint64_t sidx;        /* index in the status list                              */
    uint64_t ops;         /* history entries so far                                */
    size_t org_len;
    char org[EC_ORG_CODE_MAX]; /* NUL-terminated                                      */
} sc_cert_t;

/* The mirror of the main chain. */
typedef struct {
    ec_light_t light;
    uint64_t records;      /* mirrored records count = next expected seq          */
    uint64_t main_time_ms; /* time of the last accepted main header (0: none)     */
} sc_mirror_t;

/* Every body but MAIN_ANCHOR, read with ec_body.h; tx->type says which member is set. */
typedef union {
    ec_issue_body_t issue;
    ec_inspect_body_t inspect;
    ec_ack_body_t ack;
    ec_renew_body_t renew;
    ec_change_body_t change;
    ec_revoke_body_t revoke;          /* REVOKE, ERASE, SUSPEND, REINSTATE and CANCEL           */
    ec_contract_deploy_body_t deploy; /* CONTRACT_DEPLOY and CONTRACT_UPGRADE            */
    ec_contract_call_body_t call;
    ec_contract_decide_body_t decide;
    ec_evidence_body_t evidence;
} sc_body_t;

/* The status a reader sees: final states first, then a suspension. */
static const char *s_status_name(const sc_cert_t *c)
{
    switch (c->status) {
        case SC_REVOKED:
            return "revoked";
        case SC_CANCELLED:
            return "cancelled";
        default:
            break;
    }
    if (c->suspended)
        return "suspended";
    return c->status == SC_ACKNOWLEDGED ? "acknowledged" : "issued";
}

/* The certificate's code in the status list. */
static unsigned s_slist_code(const sc_cert_t *c)
{
    if (c->status == SC_REVOKED)
        return EC_SLIST_REVOKED;
    if (c->status == SC_CANCELLED || c->erased)
        return EC_SLIST_ENDED;
    return c->suspended ? EC_SLIST_SUSPENDED : EC_SLIST_VALID;
}

/* ---- keys and values -------------------------------------------------------------------- */

/* Builds a role key into key (SC_ROLE_KEY_MAX bytes); returns its size. */
static size_t s_role_key(uint8_t *key, const uint8_t pk[EC_PK_BYTES], uint32_t role,
                         const char *cert_type, size_t ct_len, const char *org, size_t org_len)
{
    assert(ct_len < EC_CERT_TYPE_MAX && org_len < EC_ORG_CODE_MAX && role <= 255);
    size_t n = 0;
    key[n++] = SC_K_ROLE;
    memcpy(key + n, pk, EC_PK_BYTES);
    n += EC_PK_BYTES;
    key[n++] = (uint8_t)role;
    key[n++] = (uint8_t)ct_len;
    memcpy(key + n, cert_type, ct_len);
    n += ct_len;
    memcpy(key + n, org, org_len);
    return n + org_len;
}

static void s_cert_key(uint8_t key[1 + EC_HASH_BYTES], const uint8_t id[EC_HASH_BYTES])
{
    key[0] = SC_K_CERT;
    memcpy(key + 1, id, EC_HASH_BYTES);
}

/* Packs a certificate into buf (SC_CERT_BYTES_MAX); returns the size. */
static size_t s_cert_pack(uint8_t *buf, const sc_cert_t *c)
{
    assert(c->org_len > 0 && c->org_len < EC_ORG_CODE_MAX);
    buf[0] = SC_CERT_FORMAT;
    memcpy(buf + 1, c->holder, EC_ADDR_HASH_BYTES);
    memcpy(buf + 21, c->issuer, EC_PK_BYTES);
    ec_be64_put(buf + 53, c->height);
    memcpy(buf + 61, c->fields_root, EC_HASH_BYTES);
    ec_be64_put(buf + 93, c->expires_ms);
    buf[101] = (uint8_t)(c->status | (c->suspended ? SC_SUSPENDED_BIT : 0) |
                         (c->erased ? SC_ERASED_BIT : 0));
    memcpy(buf + 102, c->payload_tx, EC_HASH_BYTES);
    ec_be64_put(buf + 134, c->inspections);
    ec_be64_put(buf + 142, c->updated_height);
    ec_be64_put(buf + 150, c->auth_height);
    ec_be64_put(buf + 158, c->sidx);
    ec_be64_put(buf + 166, c->ops);
    buf[174] = (uint8_t)c->org_len;
    memcpy(buf + SC_CERT_FIXED_BYTES, c->org, c->org_len);
    return SC_CERT_FIXED_BYTES + c->org_len;
}

/* Unpacks a stored certificate. Returns 0, or EC_EINTERNAL for a corrupt value. */
static int s_cert_unpack(sc_cert_t *c, const uint8_t *buf, size_t size)
{
    if (size < SC_CERT_FIXED_BYTES || buf[0] != SC_CERT_FORMAT || buf[174] == 0 ||
        buf[174] >= EC_ORG_CODE_MAX || size != SC_CERT_FIXED_BYTES + (size_t)buf[174])
        return EC_EINTERNAL;
    uint8_t base = buf[101] & (uint8_t) ~(SC_ERASED_BIT | SC_SUSPENDED_BIT);
    if (base < SC_ISSUED || base > SC_CANCELLED)
        return EC_EINTERNAL;
    memcpy(c->holder, buf + 1, EC_ADDR_HASH_BYTES);
    memcpy(c->issuer, buf + 21, EC_PK_BYTES);
    c->height = ec_be64_get(buf + 53);
    memcpy(c->fields_root, buf + 61, EC_HASH_BYTES);
    c->expires_ms = ec_be64_get(buf + 93);
    c->status = base;
    c->suspended = (buf[101] & SC_SUSPENDED_BIT) != 0;
    c->erased = (buf[101] & SC_ERASED_BIT) != 0;
    memcpy(c->payload_tx, buf + 102, EC_HASH_BYTES);
    c->inspections = ec_be64_get(buf + 134);
    c->updated_height = ec_be64_get(buf + 142);
    c->auth_height = ec_be64_get(buf + 150);
    c->sidx = ec_be64_get(buf + 158);
    c->ops = ec_be64_get(buf + 166);
    c->org_len = buf[174];
    memcpy(c->org, buf + SC_CERT_FIXED_BYTES, c->org_len);
    c->org[c->org_len] = '\0';
    return 0;
}

/*
 * Reads a certificate through the pending batch (pending = true, commit thread) or from
 * committed data. Returns 0, EC_ENOTFOUND, EC_EIO or EC_EINTERNAL, with st set.
 */
static int s_cert_load(ec_ledger_t *l, bool pending, const uint8_t id[EC_HASH_BYTES], sc_cert_t *c,
                       ec_status_t *st)
{
    uint8_t key[1 + EC_HASH_BYTES];
    uint8_t *val = NULL;
    size_t size = 0;
    s_cert_key(key, id);
    int rc = pending ? ec_state_get(l, key, sizeof key, &val, &size)
                     : ec_ledger_get(l, EC_CF_STATE, key, sizeof key, &val, &size);
    if (rc == EC_ENOTFOUND) {
        char hex[2 * EC_HASH_BYTES + 1];
        ec_hex(hex, id, EC_HASH_BYTES);
        return ec_status_set(st, EC_ENOTFOUND, "no certificate %s", hex);
    }
    if (rc)
        return ec_status_set(st, rc, "reading a certificate: %s", ec_strerror(rc));
    rc = s_cert_unpack(c, val, size);
    free(val);
    if (rc)
        return ec_status_set(st, rc, "corrupt certificate record");
    return 0;
}

static void s_cert_store(ec_ledger_t *l, const uint8_t id[EC_HASH_BYTES], const sc_cert_t *c)
{
    uint8_t key[1 + EC_HASH_BYTES];
    uint8_t val[SC_CERT_BYTES_MAX];
    s_cert_key(key, id);
    size_t size = s_cert_pack(val, c);
    ec_state_put(l, key, sizeof key, val, size);
}

/* ---- status list and history ---------------------------------------------------------- */

/* Reads a be64 state value through the pending batch (0 when absent). 0, or EC_EIO /
 * EC_EINTERNAL with st set. */
static int s_state_u64(ec_ledger_t *l, const uint8_t *key, size_t key_size, uint64_t *v,
                       ec_status_t *st)
{
    uint8_t *val = NULL;
    size_t size = 0;
    *v = 0;
    int rc = ec_state_get(l, key, key_size, &val, &size);
    if (rc == EC_ENOTFOUND)
        return 0;
    if (rc == 0 && size != 8)
        rc = EC_EINTERNAL;
    if (rc == 0)
        *v = ec_be64_get(val);
    free(val);
    return rc ? ec_status_set(st, rc, "reading a counter: %s", ec_strerror(rc)) : 0;
}

/* Reads status-list page `page` (zeros when absent) through the pending batch, or from
 * committed data. 0, EC_EIO or EC_EINTERNAL. */
static int s_slist_page_read(ec_ledger_t *l, bool pending, uint64_t page,
                             uint8_t out[EC_SLIST_PAGE_BYTES])
{
    uint8_t key[9];
    key[0] = SC_K_SLIST_PAGE;
    ec_be64_put(key + 1, page);
    uint8_t *val = NULL;
    size_t size = 0;
    int rc = pending ? ec_state_get(l, key, sizeof key, &val, &size)
                     : ec_ledger_get(l, EC_CF_STATE, key, sizeof key, &val, &size);
    if (rc == EC_ENOTFOUND) {
        memset(out, 0, EC_SLIST_PAGE_BYTES);
        return 0;
    }
    if (rc == 0 && size != EC_SLIST_PAGE_BYTES)
        rc = EC_EINTERNAL;
    if (rc == 0)
        memcpy(out, val, EC_SLIST_PAGE_BYTES);
    free(val);
    return rc;
}

static int s_slist_page_pending(void *ctx, uint64_t page, uint8_t out[EC_SLIST_PAGE_BYTES])
{
    return s_slist_page_read(ctx, true, page, out);
}

/* Sets certificate sidx's code in its page (one get, one put). */
static int s_slist_put(ec_ledger_t *l, uint64_t sidx, unsigned code, ec_status_t *st)
{
    uint8_t page[EC_SLIST_PAGE_BYTES];
    uint64_t n = sidx / EC_SLIST_PAGE_CERTS;
    int rc = s_slist_page_read(l, true, n, page);
    if (rc)
        return ec_status_set(st, rc, "reading status-list page %llu: %s", (unsigned long long)n,
                             ec_strerror(rc));
    ec_slist_set(page, sidx % EC_SLIST_PAGE_CERTS, code);
    uint8_t key[9];
    key[0] = SC_K_SLIST_PAGE;
    ec_be64_put(key + 1, n);
    ec_state_put(l, key, sizeof key, page, sizeof page);
    return 0;
}

/*
 * Writes certificate c (id) after transaction tx changed it: appends its history entry,
 * moves its status-list code when it is no longer `was`, and stores it.
 */
static int s_cert_commit(ec_block_ctx_t *ctx, const ec_tx_t *tx, const uint8_t id[EC_HASH_BYTES],
                         sc_cert_t *c, unsigned was, ec_status_t *st)
{
    ec_ledger_t *l = ctx->ledger;
    uint8_t key[SC_HISTORY_KEY_BYTES], val[SC_HISTORY_VAL_BYTES];
    key[0] = SC_K_HISTORY;
    memcpy(key + 1, id, EC_HASH_BYTES);
    ec_be64_put(key + 1 + EC_HASH_BYTES, c->ops);
    val[0] = (uint8_t)tx->type;
    ec_be64_put(val + 1, ctx->height);
    memcpy(val + 9, tx->id, EC_HASH_BYTES);
    ec_state_put(l, key, sizeof key, val, sizeof val);
    c->ops++;
    c->updated_height = ctx->height;
    unsigned now = s_slist_code(c);
    if (now != was) {
        int rc = s_slist_put(l, c->sidx, now, st);
        if (rc)
            return rc;
    }
    s_cert_store(l, id, c);
    return 0;
}

/* ---- the payload index of a certificate ('P' keys) ------------------------------------ */

/* Builds the 'P' key of payload i of certificate id; returns its size. */
static size_t s_payload_key(uint8_t key[SC_PAYLOAD_KEY_BYTES], const uint8_t id[EC_HASH_BYTES],
                            uint32_t i)
{
    key[0] = SC_K_PAYLOADS;
    memcpy(key + 1, id, EC_HASH_BYTES);
    key[1 + EC_HASH_BYTES] = (uint8_t)(i >> 24);
    key[2 + EC_HASH_BYTES] = (uint8_t)(i >> 16);
    key[3 + EC_HASH_BYTES] = (uint8_t)(i >> 8);
    key[4 + EC_HASH_BYTES] = (uint8_t)i;
    return SC_PAYLOAD_KEY_BYTES;
}

/*
 * Reads how many payloads besides the ISSUE's certificate id has (pending state). Returns
 * 0 with *count set (0 when the key is missing), EC_EIO or EC_EINTERNAL with st set.
 */
static int s_payload_count(ec_ledger_t *l, const uint8_t id[EC_HASH_BYTES], uint32_t *count,
                           ec_status_t *st)
{
    uint8_t key[SC_PAYLOAD_KEY_BYTES];
    uint8_t *val = NULL;
    size_t size = 0;
    s_payload_key(key, id, 0);
    *count = 0;
    int rc = ec_state_get(l, key, 1 + EC_HASH_BYTES, &val, &size);
    if (rc == EC_ENOTFOUND)
        return 0;
    if (rc)
        return ec_status_set(st, rc, "reading the payload index: %s", ec_strerror(rc));
    if (size != 4) {
        free(val);
        return ec_status_set(st, EC_EINTERNAL, "corrupt payload index count");
    }
    *count = (uint32_t)val[0] << 24 | (uint32_t)val[1] << 16 | (uint32_t)val[2] << 8 | val[3];
    free(val);
    if (*count > SC_PAYLOADS_MAX)
        return ec_status_set(st, EC_EINTERNAL, "corrupt payload index count");
    return 0;
}

/*
 * Checks that certificate id may take one more payload (CHANGE, INSPECT with payload):
 * not erased (EC_ESTATE) and below SC_PAYLOADS_MAX (EC_ETOOBIG). Returns 0 with *count
 * set to the current count, or an error with st set. Writes nothing.
 */
static int s_payload_admit(ec_ledger_t *l, const uint8_t id[EC_HASH_BYTES], const sc_cert_t *c,
                           const char *what, uint32_t *count, ec_status_t *st)
{
    if (c->erased)
        return ec_status_set(
            st, EC_ESTATE, "%s with a payload refused: the certificate's content was erased", what);
    int rc = s_payload_count(l, id, count, st);
    if (rc)
        return rc;
    if (*count >= SC_PAYLOADS_MAX)
        return ec_status_set(st, EC_ETOOBIG,
                             "the certificate already has %u CHANGE and INSPECT payloads, the "
                             "most it may have",
                             (unsigned)SC_PAYLOADS_MAX);
    return 0;
}

/* Appends tx_id as payload `count` of certificate id (after s_payload_admit). */
static void s_payload_add(ec_ledger_t *l, const uint8_t id[EC_HASH_BYTES], uint32_t count,
                          const uint8_t tx_id[EC_HASH_BYTES])
{
    assert(count < SC_PAYLOADS_MAX);
    uint8_t key[SC_PAYLOAD_KEY_BYTES];
    s_payload_key(key, id, count);
    ec_state_put(l, key, sizeof key, tx_id, EC_HASH_BYTES);
    /* The count is the big-endian index just past the new entry: the key's last 4 bytes. */
    s_payload_key(key, id, count + 1);
    ec_state_put(l, key, 1 + EC_HASH_BYTES, key + 1 + EC_HASH_BYTES, 4);
}

/* The mirror before any MAIN_ANCHOR: the main genesis, nothing mirrored. */
static void s_mirror_initial(const sc_app_t *app, sc_mirror_t *m)
{
    memset(m, 0, sizeof *m);
    ec_light_init(&m->light, app->genesis.main_genesis_hash);
}

/* Reads the mirror (pending or committed). Returns 0, EC_EIO or EC_EINTERNAL. */
static int s_mirror_load(const sc_app_t *app, ec_ledger_t *l, bool pending, sc_mirror_t *m,
                         ec_status_t *st)
{
    const uint8_t key = SC_K_MIRROR;
    uint8_t *val = NULL;
    size_t size = 0;
    int rc = pending ? ec_state_get(l, &key, 1, &val, &size)
                     : ec_ledger_get(l, EC_CF_STATE, &key, 1, &val, &size);
    if (rc == EC_ENOTFOUND) {
        s_mirror_initial(app, m);
        return 0;
    }
    if (rc)
        return ec_status_set(st, rc, "reading the mirror: %s", ec_strerror(rc));
    if (size != SC_MIRROR_BYTES || val[0] != SC_FORMAT || val[73] > 1) {
        free(val);
        return ec_status_set(st, EC_EINTERNAL, "corrupt mirror record");
    }
    memset(m, 0, sizeof *m);
    m->light.height = ec_be64_get(val + 1);
    memcpy(m->light.hash, val + 9, EC_HASH_BYTES);
    memcpy(m->light.hist_root, val + 41, EC_HASH_BYTES);
    m->light.frozen = val[73] == 1;
    m->records = ec_be64_get(val + 74);
    m->main_time_ms = ec_be64_get(val + 82);
    free(val);
    return 0;
}

static void s_mirror_store(ec_ledger_t *l, const sc_mirror_t *m)
{
    const uint8_t key = SC_K_MIRROR;
    uint8_t val[SC_MIRROR_BYTES];
    val[0] = SC_FORMAT;
    ec_be64_put(val + 1, m->light.height);
    memcpy(val + 9, m->light.hash, EC_HASH_BYTES);
    memcpy(val + 41, m->light.hist_root, EC_HASH_BYTES);
    val[73] = m->light.frozen ? 1 : 0;
    ec_be64_put(val + 74, m->records);
    ec_be64_put(val + 82, m->main_time_ms);
    ec_state_put(l, &key, 1, val, sizeof val);
}

/*
 * Whether the key exists in the pending state: 1 or 0, or the ledger's error (EC_EIO,
 * EC_ENOMEM) with st set. A failed read is a local fault, not an answer: it must stop the
 * block, never turn into "absent" and so into a refusal (EC_EPERM) that other validators,
 * whose disks work, would not give.
 */
static int s_state_has(ec_ledger_t *l, const uint8_t *key, size_t key_size, ec_status_t *st)
{
    uint8_t *val = NULL;
    size_t size = 0;
    int rc = ec_state_get(l, key, key_size, &val, &size);
    free(val);
    if (rc == 0)
        return 1;
    if (rc == EC_ENOTFOUND)
        return 0;
    ec_error("sidechain: state read failed: %s", ec_strerror(rc));
    return ec_status_set(st, rc, "reading state: %s", ec_strerror(rc));
}

/* Whether pk holds `role` for this chain's certificate type and `org` (one point get):
 * 1, 0, or a local fault as s_state_has says. */
static int s_has_role(const sc_app_t *app, ec_ledger_t *l, const uint8_t pk[EC_PK_BYTES],
                      uint32_t role, const char *org, size_t org_len, ec_status_t *st)
{
    uint8_t key[SC_ROLE_KEY_MAX];
    size_t n = s_role_key(key, pk, role, app->genesis.cert_type, app->cert_type_len, org, org_len);
    return s_state_has(l, key, n, st);
}

/*
 * The mirror, if it is fresh enough to trust its roles at this block's time: 0 with *m
 * set, EC_ESTALE (a refusal) when its newest main header is older than the genesis
 * bound, or a local fault.
 */
static int s_fresh_mirror(const sc_app_t *app, const ec_block_ctx_t *ctx, sc_mirror_t *m,
                          ec_status_t *st)
{
    int rc = s_mirror_load(app, ctx->ledger, true, m, st);
    if (rc != 0)
        return rc;
    uint64_t bound = app->genesis.main_freshness_ms;
    if (m->main_time_ms == 0 || ctx->time_ms > m->main_time_ms + bound)
        return ec_status_set(
            st, EC_ESTALE,
            "the side chain's view of main-chain roles is stale (its newest "
            "main header, height %llu, is %llu ms older than this block; the "
            "bound is %llu ms): is a relay running?",
            (unsigned long long)m->light.height,
            (unsigned long long)(m->main_time_ms ? ctx->time_ms - m->main_time_ms : ctx->time_ms),
            (unsigned long long)bound);
    return 0;
}

/*
 * Requires that pk holds `role` (what: "issuing agency", ...) for org, as a mirror fresh
 * enough to trust says: 0 (ctx->ref is then the main height whose roles authorized it), a
 * refusal (EC_EPERM without the role, EC_ESTALE when the mirror is too old to believe
 * that it still holds it) with st saying why, or a local fault from the reads.
 */
static int s_need_role(const sc_app_t *app, ec_block_ctx_t *ctx, const uint8_t pk[EC_PK_BYTES],
                       uint32_t role, const char *what, const char *org, size_t org_len,
                       ec_status_t *st)
{
    int rc = s_has_role(app, ctx->ledger, pk, role, org, org_len, st);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        char addr[EC_ADDR_MAX];
        ec_address_from_pk(addr, pk);
        return ec_status_set(st, EC_EPERM, "sender %s is not an %s of org %s for %s", addr, what,
                             org, app->genesis.cert_type);
    }
    /* The mirror says the sender holds the role: only a fresh mirror is believed (the
     * role may have been revoked on the main chain since). */
    sc_mirror_t m;
    rc = s_fresh_mirror(app, ctx, &m, st);
    if (rc == 0)
        ctx->ref = m.light.height;
    return rc;
}

/* ---- body parsing (shared by check_tx and deliver_tx) ----------------------------------- */

static const char s_anchor_shape[] =
    "[header: bin, commit: bin, prev_path, consistency, records_root: bin32, "
    "records_count: uint, state_digest: bin32, records: [[record: bin, path]...], "
    "next_valset: [[pk: bin32, power]...] | nil, claimed: bin32 | nil]";

/*
 * Reads the body of a certificate transaction (every type but MAIN_ANCHOR) with its
 * ec_body.h reader and checks the payload_hash presence rule, which is deterministic.
 * Returns 0 or an EC_E* code with st set; EC_EINVAL for an unknown type.
 */
static int s_parse_body(const ec_tx_t *tx, sc_body_t *b, ec_status_t *st)
{
    int rc;
    switch (tx->type) {
        case EC_STX_ISSUE:
            rc = ec_issue_body_read(&b->issue, tx->body, st);
            break;
        case EC_STX_INSPECT:
            rc = ec_inspect_body_read(&b->inspect, tx->body, st);
            break;
        case EC_STX_ACK:
            rc = ec_ack_body_read(&b->ack, tx->body, st);
            break;
        case EC_STX_RENEW:
            rc = ec_renew_body_read(&b->renew, tx->body, st);
            break;
        case EC_STX_CHANGE:
            rc = ec_change_body_read(&b->change, tx->body, st);
            break;
        case EC_STX_REVOKE:
            rc = ec_revoke_body_read(&b->revoke, tx->body, st);
            break;
        case EC_STX_ERASE:
            rc = ec_erase_body_read(&b->revoke, tx->body, st);
            break;
        case EC_STX_SUSPEND:
        case EC_STX_REINSTATE:
        case EC_STX_CANCEL:
            rc = ec_status_body_read(&b->revoke, tx->body, tx->type, st);
            break;
        case EC_STX_CONTRACT_DEPLOY:
        case EC_STX_CONTRACT_UPGRADE:
            rc = ec_contract_deploy_body_read(&b->deploy, tx->body, tx->type, st);
            break;
        case EC_STX_CONTRACT_CALL:
            rc = ec_contract_call_body_read(&b->call, tx->body, st);
            break;
        case EC_STX_CONTRACT_DECIDE:
            rc = ec_contract_decide_body_read(&b->decide, tx->body, st);
            break;
        case EC_STX_EVIDENCE:
            rc = ec_evidence_body_read(&b->evidence, tx->body, st);
            break;
        default:
            return ec_status_set(st, EC_EINVAL, "unknown side-chain transaction type %llu",
                                 (unsigned long long)tx->type);
    }
    if (rc)
        return rc;
    bool needs = tx->type == EC_STX_ISSUE || tx->type == EC_STX_CHANGE;
    bool may = needs || tx->type == EC_STX_INSPECT;
    if (needs && !tx->has_payload)
        return ec_status_set(st, EC_EINVAL, "%s needs a payload sealed to the holder",
                             ec_tx_type_name(EC_CHAIN_SIDE, tx->type));
    if (!may && tx->has_payload)
        return ec_status_set(st, EC_EINVAL, "%s takes no payload",
                             ec_tx_type_name(EC_CHAIN_SIDE, tx->type));
    return 0;
}

/*
 * Parses a MAIN_ANCHOR body: decodes header and commit, reads both paths, and checks that
 * the three state values hash to header.state_root. Records are left for
 * s_anchor_records. Returns 0, EC_EINVAL, EC_ETOOBIG or EC_EPROOF with st set.
 */
static int s_parse_anchor(const ec_tx_t *tx, sc_anchor_t *a, ec_status_t *st)
{
    ec_cur_t c;
    const uint8_t *header = NULL, *commit = NULL;
    size_t header_size = 0, commit_size = 0;
    memset(a, 0, sizeof *a);
    ec_cur_open(&c, tx->body, 10);
    ec_cur_bin(&c, &header, &header_size, SC_HEADER_BYTES_MAX);
    ec_cur_bin(&c, &commit, &commit_size, SC_COMMIT_BYTES_MAX);
    ec_cur_path(&c, a->prev_path, &a->prev_len);
    ec_cur_path(&c, a->consistency, &a->consistency_len);
    ec_cur_bin_fixed(&c, a->records_root, EC_HASH_BYTES);
    ec_cur_uint(&c, &a->records_count);
    ec_cur_bin_fixed(&c, a->state_digest, EC_HASH_BYTES);
    a->records = ec_cur_object(&c); /* read by s_anchor_records; its length checked here */
    ec_cur_t list;
    ec_cur_open_max(&list, a->records, EC_ANCHOR_RECORDS_MAX);
    if (list.err)
        ec_cur_fail(&c, list.err);
    a->record_count = list.count;
    a->has_next = !ec_cur_peek_nil(&c);
    if (a->has_next)
        ec_valset_read(&c, &a->next_valset);
    else
        ec_cur_nil(&c);
    a->has_claimed = !ec_cur_peek_nil(&c);
    if (a->has_claimed)
        ec_cur_bin_fixed(&c, a->claimed, EC_HASH_BYTES);
    else
        ec_cur_nil(&c);
    int rc = ec_cur_finish(&c);
    if (rc)
        return ec_status_set(st, rc, "MAIN_ANCHOR body must be %s", s_anchor_shape);
    if (tx->has_payload)
        return ec_status_set(st, EC_EINVAL, "MAIN_ANCHOR takes no payload");
    rc = ec_header_decode(&a->header, header, header_size);
    if (rc)
        return ec_status_set(st, rc, "MAIN_ANCHOR header does not decode");
    rc = ec_commit_decode(&a->commit, commit, commit_size);
    if (rc)
        return ec_status_set(st, rc, "MAIN_ANCHOR commit does not decode");
    uint8_t root[EC_HASH_BYTES];
    ec_main_state_root(root, a->records_root, a->records_count, a->state_digest);
    if (memcmp(root, a->header.state_root, EC_HASH_BYTES) != 0)
        return ec_status_set(st, EC_EPROOF,
                             "records_root, records_count and state_digest do not give the "
                             "state_root of main header %llu",
                             (unsigned long long)a->header.height);
    return 0;
}

/*
 * Reads and proves the records of a MAIN_ANCHOR: consecutive seqs starting at next_seq
 * (or at the first record's seq when any_start), each below records_count and included
 * at index seq in records_root. Decoded records go to out[] when out is not NULL.
 * Returns 0 with *count set, or EC_EINVAL / EC_ETOOBIG / EC_EPROOF with st set.
 */
static int s_anchor_records(const sc_anchor_t *a, uint64_t next_seq, bool any_start,
                            ec_record_t *out, uint32_t *count, ec_status_t *st)
{
    ec_cur_t list;
    ec_hash32_t path[EC_MERKLE_PROOF_MAX];
    ec_cur_open_max(&list, a->records, EC_ANCHOR_RECORDS_MAX); /* checked by s_parse_anchor */
    assert(list.err == 0 && list.count == a->record_count);
    *count = list.count;
    for (uint32_t i = 0; i < list.count; i++) {
        ec_cur_t item;
        const uint8_t *data = NULL;
        size_t size = 0, len = 0;
        ec_record_t local, *r = out ? &out[i] : &local;
        ec_cur_enter(&list, &item, 2);
        ec_cur_bin(&item, &data, &size, SC_RECORD_BYTES_MAX);
        ec_cur_path(&item, path, &len);
        ec_cur_fold(&list, &item);
        int rc = list.err;
        if (rc == 0)
            rc = ec_record_decode(r, data, size);
        if (rc)
            return ec_status_set(st, rc, "MAIN_ANCHOR record %u is not [record: bin, path]", i);
        if (i == 0 && any_start)
            next_seq = r->seq;
        if (r->seq != next_seq + i)
            return ec_status_set(st, EC_EINVAL,
                                 "MAIN_ANCHOR record seq %llu where %llu was expected",
                                 (unsigned long long)r->seq, (unsigned long long)(next_seq + i));
        if (r->seq >= a->records_count)
            return ec_status_set(st, EC_EPROOF, "record seq %llu is past records_count %llu",
                                 (unsigned long long)r->seq, (unsigned long long)a->records_count);
        uint8_t leaf[EC_HASH_BYTES];
        ec_record_leaf(leaf, data, size);
        if (ec_merkle_inclusion_verify(leaf, r->seq, a->records_count, path, len,
                                       a->records_root) != 0)
            return ec_status_set(st, EC_EPROOF, "record %llu is not in records_root",
                                 (unsigned long long)r->seq);
    }
    return 0;
}

/* ---- check_tx --------------------------------------------------------------------------- */

/* Contract transactions only on a chain whose genesis enables contracts (EC_EPERM). */
static int s_contracts_enabled(const sc_app_t *app, const ec_tx_t *tx, ec_status_t *st)
{
    if (tx->type < EC_STX_CONTRACT_DEPLOY || tx->type > EC_STX_CONTRACT_DECIDE ||
        (app->genesis.features & EC_GENESIS_F_CONTRACTS))
        return 0;
    return ec_status_set(st, EC_EPERM, "%s hosts no contracts (its genesis does not enable them)",
                         app->genesis.chain_id);
}

static int s_check_tx(void *self, const ec_tx_t *tx, const uint8_t *payload, size_t payload_size,
                      ec_status_t *st)
{
    const sc_app_t *app = self;
    if (strcmp(tx->chain_id, app->genesis.chain_id) != 0)
        return ec_status_set(st, EC_ECHAIN, "transaction for chain %s sent to %s", tx->chain_id,
                             app->genesis.chain_id);
    if ((payload != NULL) != tx->has_payload)
        return ec_status_set(st, EC_EINVAL,
                             tx->has_payload ? "the payload named by payload_hash is missing"
                                             : "a payload came without a payload_hash");
    if (payload != NULL && (payload_size < EC_SEAL_OVERHEAD || payload_size > EC_PAYLOAD_BYTES_MAX))
        return ec_status_set(st, payload_size < EC_SEAL_OVERHEAD ? EC_EINVAL : EC_ETOOBIG,
                             "a payload must be a sealed box of %u..%u bytes, not %zu",
                             (unsigned)EC_SEAL_OVERHEAD, (unsigned)EC_PAYLOAD_BYTES_MAX,
                             payload_size);
    if (tx->type == EC_STX_MAIN_ANCHOR) {
        /* Everything but the commit and history checks, which need the mirror. */
        sc_anchor_t *a = malloc(sizeof *a);
        if (a == NULL)
            return ec_status_set(st, EC_ENOMEM, "out of memory");
        uint32_t count = 0;
        int rc = s_parse_anchor(tx, a, st);
        if (rc == 0)
            rc = s_anchor_records(a, 0, true, NULL, &count, st);
        free(a);
        return rc;
    }
    sc_body_t b;
    int rc = s_contracts_enabled(app, tx, st);
    return rc ? rc : s_parse_body(tx, &b, st);
}

/* ---- deliver_tx: MAIN_ANCHOR ------------------------------------------------------------ */

/* The main chain's validator set after the mirrored header ('V', else the genesis's).
 * Returns 0, or a local fault / EC_EINTERNAL (corrupt) with st set. */
static void s_valset_read_fn(ec_cur_t *c, void *out)
{
    ec_valset_read(c, out);
}

static int s_main_valset_load(const sc_app_t *app, ec_ledger_t *l, ec_valset_t *vs, ec_status_t *st)
{
    const uint8_t key = SC_K_MAIN_VALSET;
    uint8_t *val = NULL;
    size_t size = 0;
    int rc = ec_state_get(l, &key, 1, &val, &size);
    if (rc == EC_ENOTFOUND) {
        *vs = app->genesis.main_validators;
        return 0;
    }
    if (rc)
        return ec_status_set(st, rc, "reading the main validator set: %s", ec_strerror(rc));
    rc = ec_decode_read(vs, sizeof *vs, val, size, s_valset_read_fn);
    free(val);
    if (rc || vs->count == 0)
        return ec_status_set(st, EC_EINTERNAL, "corrupt main validator set");
    return 0;
}

/*
 * A validator change the main chain decided for this side chain (EC_REC_VALIDATOR): sets
 * ctx's change. Returns false when this block already changes one (the record waits for
 * the next MAIN_ANCHOR). A change that cannot apply to the set (it would remove a
 * validator that is not there or the last one, or add one to a full set) is skipped, with
 * a warning: it is applied as nothing, the same on every node.
 */
static bool s_apply_validator(ec_block_ctx_t *ctx, const ec_record_t *r)
{
    if (ctx->valset_changed)
        return false;
    ec_validator_t v = {.power = r->power};
    memcpy(v.pk, r->pk, EC_PK_BYTES);
    uint32_t i;
    char hex[2 * EC_PK_BYTES + 1];
    ec_hex(hex, r->pk, EC_PK_BYTES);
    if (ec_valset_change_check(ctx->next_valset, &v, &i) != 0) {
        ec_warn("sidechain: record %llu (validator %.16s... power %llu) changes nothing here: "
                "skipped",
                (unsigned long long)r->seq, hex, (unsigned long long)r->power);
        return true;
    }
    ctx->valset_changed = true;
    ctx->valset_change = v;
    ec_info("sidechain: validator %.16s... gets power %llu from height %llu (main record %llu)",
            hex, (unsigned long long)r->power, (unsigned long long)(ctx->height + 2),
            (unsigned long long)r->seq);
    return true;
}

/* A KEY record: the identity r->pk signs with r->key from now on (zero: with none); the key
 * it signed with before is retired. 0, or a local fault reading the old key (st set). */
static int s_apply_key(ec_ledger_t *l, const ec_record_t *r, ec_status_t *st)
{
    static const uint8_t zero[EC_PK_BYTES];
    uint8_t skey[1 + EC_PK_BYTES], kkey[1 + EC_PK_BYTES], old[EC_PK_BYTES], val[EC_PK_BYTES + 1];
    uint8_t *got = NULL;
    size_t size = 0;
    skey[0] = SC_K_SIGNER;
    memcpy(skey + 1, r->pk, EC_PK_BYTES);
    int rc = ec_state_get(l, skey, sizeof skey, &got, &size);
    if (rc == 0 && size == EC_PK_BYTES)
        memcpy(old, got, EC_PK_BYTES);
    else if (rc == EC_ENOTFOUND)
        memcpy(old, r->pk, EC_PK_BYTES);
    free(got);
    if ((rc != 0 && rc != EC_ENOTFOUND) || (rc == 0 && size != EC_PK_BYTES)) {
        rc = rc ? rc : EC_EINTERNAL;
        ec_error("sidechain: reading the signing key of a mirrored account: %s", ec_strerror(rc));
        return ec_status_set(st, rc, "reading state: %s", ec_strerror(rc));
    }
    memcpy(val, r->pk, EC_PK_BYTES);
    kkey[0] = SC_K_KEY;
    if (memcmp(old, zero, EC_PK_BYTES) != 0) {
        val[EC_PK_BYTES] = 1;
        memcpy(kkey + 1, old, EC_PK_BYTES);
        ec_state_put(l, kkey, sizeof kkey, val, sizeof val);
    }
    if (memcmp(r->key, zero, EC_PK_BYTES) != 0) {
        val[EC_PK_BYTES] = 0;
        memcpy(kkey + 1, r->key, EC_PK_BYTES);
        ec_state_put(l, kkey, sizeof kkey, val, sizeof val);
    }
    ec_state_put(l, skey, sizeof skey, r->key, EC_PK_BYTES);
    return 0;
}

/*
 * The identity a transaction's sender acts as: its own key, unless the mirror knows it as
 * a key that replaced an account's identity key. 0 with *identity set, EC_EPERM for a
 * retired or revoked key, or a local fault (st set).
 */
static int s_identity(ec_ledger_t *l, const uint8_t sender[EC_PK_BYTES],
                      uint8_t identity[EC_PK_BYTES], ec_status_t *st)
{
    uint8_t key[1 + EC_PK_BYTES], *val = NULL;
    size_t size = 0;
    key[0] = SC_K_KEY;
    memcpy(key + 1, sender, EC_PK_BYTES);
    int rc = ec_state_get(l, key, sizeof key, &val, &size);
    if (rc == EC_ENOTFOUND) {
        memcpy(identity, sender, EC_PK_BYTES);
        return 0;
    }
    if (rc != 0) {
        ec_error("sidechain: state read failed: %s", ec_strerror(rc));
        return ec_status_set(st, rc, "reading state: %s", ec_strerror(rc));
    }
    bool ok = size == EC_PK_BYTES + 1 && val[EC_PK_BYTES] <= 1;
    bool retired = ok && val[EC_PK_BYTES] == 1;
    if (ok)
        memcpy(identity, val, EC_PK_BYTES);
    free(val);
    if (!ok)
        return ec_status_set(st, EC_EINTERNAL, "stored key entry is corrupt");
    if (retired) {
        char hex[2 * EC_PK_BYTES + 1], addr[EC_ADDR_MAX];
        ec_hex(hex, sender, EC_PK_BYTES);
        ec_address_from_pk(addr, identity);
        return ec_status_set(st, EC_EPERM,
                             "key %.16s... no longer signs for %s: the main chain replaced or "
                             "revoked it",
                             hex, addr);
    }
    return 0;
}

/* Applies one proven record to the mirror. Returns 1, 0 when it must wait for the next
 * block (a second validator change in one block), or a local fault (st set). */
static int s_apply_record(const sc_app_t *app, ec_block_ctx_t *ctx, const ec_record_t *r,
                          ec_status_t *st)
{
    ec_ledger_t *l = ctx->ledger;
    uint8_t key[SC_ROLE_KEY_MAX];
    uint8_t seq[8];
    if (r->kind == EC_REC_VALIDATOR)
        return strcmp(r->chain_id, app->genesis.chain_id) != 0 || s_apply_validator(ctx, r);
    if (r->kind == EC_REC_ATTEST) {
        uint8_t akey[1 + EC_ADDR_HASH_BYTES];
        key[0] = SC_K_ATTEST;
        memcpy(key + 1, r->pk, EC_PK_BYTES);
        ec_state_put(l, key, 1 + EC_PK_BYTES, r->identity_hash, EC_HASH_BYTES);
        akey[0] = SC_K_ADDR;
        ec_address_hash(akey + 1, r->pk);
        ec_state_put(l, akey, sizeof akey, r->pk, EC_PK_BYTES);
        return true;
    }
    if (r->kind == EC_REC_KEY) {
        int rc = s_apply_key(l, r, st);
        return rc == 0 ? 1 : rc;
    }
    if (r->kind != EC_REC_ROLE_GRANT && r->kind != EC_REC_ROLE_REVOKE)
        return true;
    /* Roles for other certificate types govern other side chains, and a typed role
     * without a type (a deployer for the main chain) governs the main chain. */
    if (r->cert_type[0] != '\0' && strcmp(r->cert_type, app->genesis.cert_type) != 0)
        return true;
    bool typed =
        r->role == EC_ROLE_ISSUER || r->role == EC_ROLE_INSPECTOR || r->role == EC_ROLE_DEPLOYER;
    if (typed && r->cert_type[0] == '\0')
        return true;
    if (r->role == 0 || r->role > 255)
        return true;
    size_t n = s_role_key(key, r->pk, r->role, r->cert_type, strlen(r->cert_type), r->org_code,
                          strlen(r->org_code));
    if (r->kind == EC_REC_ROLE_GRANT) {
        ec_be64_put(seq, r->seq);
        ec_state_put(l, key, n, seq, sizeof seq);
    } else {
        ec_state_del(l, key, n);
    }
    return true;
}

/*
 * Decides what a MAIN_ANCHOR's header means for the mirror: 0 with *advance true for a
 * header that extends it, 0 with *advance false for a records continuation of the header
 * it holds, 1 for a proven fork (the caller freezes), or an error with st set.
 */
static int s_anchor_header(const sc_app_t *app, const sc_mirror_t *m, const sc_anchor_t *a,
                           const uint8_t hash[EC_HASH_BYTES], const ec_valset_t *vs, bool *advance,
                           ec_status_t *st)
{
    unsigned long long height = a->header.height;
    *advance = a->header.height > m->light.height;
    if (!*advance && !a->has_claimed && a->header.height == m->light.height &&
        memcmp(hash, m->light.hash, EC_HASH_BYTES) == 0) {
        if (a->record_count == 0)
            return ec_status_set(st, EC_EDUPLICATE, "main header %llu already mirrored, no records",
                                 height);
        return 0;
    }
    int rc = ec_light_check(&m->light, app->genesis.main_chain_id, &a->header, &a->commit, vs,
                            (const ec_hash32_t *)a->prev_path, a->prev_len,
                            (const ec_hash32_t *)a->consistency, a->consistency_len,
                            a->has_claimed ? a->claimed : NULL, st);
    if (rc == EC_EFORK) {
        ec_warn("main chain %s forked (proven by header %llu): mirror frozen",
                app->genesis.main_chain_id, height);
        ec_status_clear(st);
        return 1;
    }
    if (rc && st != NULL && st->code == 0)
        ec_status_set(st, rc, "main header %llu rejected: %s", height, ec_strerror(rc));
    return rc;
}

/*
 * The main chain's set after an accepted header: when the header names a new one the
 * anchor must carry exactly that set, which replaces 'V'; otherwise none. 0 or EC_EINVAL.
 */
static int s_anchor_next_set(ec_ledger_t *l, const sc_anchor_t *a, ec_status_t *st)
{
    const ec_header_t *h = &a->header;
    bool changes = memcmp(h->next_valset_hash, h->valset_hash, EC_HASH_BYTES) != 0;
    uint8_t hash[EC_HASH_BYTES];
    if (a->has_next)
        ec_valset_hash(hash, &a->next_valset);
    if (!changes && a->has_next)
        return ec_status_set(st, EC_EINVAL,
                             "MAIN_ANCHOR carries a validator set, but main "
                             "header %llu names no change",
                             (unsigned long long)h->height);
    if (changes && (!a->has_next || memcmp(hash, h->next_valset_hash, EC_HASH_BYTES) != 0))
        return ec_status_set(st, EC_EINVAL,
                             "main header %llu names a new validator set: the MAIN_ANCHOR "
                             "must carry that set as next_valset",
                             (unsigned long long)h->height);
    if (changes) {
        const uint8_t key = SC_K_MAIN_VALSET;
        ec_writer_t w;
        ec_writer_init(&w);
        ec_valset_encode(&w, &a->next_valset);
        ec_state_put(l, &key, 1, ec_writer_data(&w), ec_writer_size(&w));
        ec_writer_fini(&w);
    }
    return 0;
}

static int s_deliver_anchor(sc_app_t *app, ec_block_ctx_t *ctx, const ec_tx_t *tx, ec_status_t *st)
{
    sc_mirror_t m;
    int rc = s_mirror_load(app, ctx->ledger, true, &m, st);
    if (rc)
        return rc;
    if (m.light.frozen)
        return ec_status_set(st, EC_EFROZEN, "the main-chain mirror is frozen after a proven fork");
    sc_anchor_t *a = &app->anchor; /* deliver_tx runs on the commit thread alone */
    uint8_t hash[EC_HASH_BYTES];
    bool advance = false;
    uint32_t count = 0;
    ec_valset_t vs;
    rc = s_parse_anchor(tx, a, st);
    if (rc == 0)
        rc = s_main_valset_load(app, ctx->ledger, &vs, st);
    if (rc == 0) {
        ec_header_hash(hash, &a->header);
        rc = s_anchor_header(app, &m, a, hash, &vs, &advance, st);
    }
    if (rc == 1) {
        /* A valid commit on another history: the transaction succeeds so that the freeze
         * is recorded in this block. */
        m.light.frozen = true;
        s_mirror_store(ctx->ledger, &m);
        return 0;
    }
    if (rc == 0)
        rc = s_anchor_records(a, m.records, false, app->records, &count, st);
    if (rc == 0 && advance)
        rc = s_anchor_next_set(ctx->ledger, a, st);
    if (rc == 0 && advance) {
        ec_anchor_entry_t e;
        memset(&e, 0, sizeof e);
        memcpy(e.chain_id, app->genesis.main_chain_id, sizeof e.chain_id);
        e.height = a->header.height;
        memcpy(e.header_hash, hash, EC_HASH_BYTES);
        rc = ec_block_ctx_add_anchor(ctx, &e);
        if (rc)
            rc = ec_status_set(st, rc, "this block holds all the anchors it may");
        else {
            ec_light_advance(&m.light, &a->header);
            m.main_time_ms = a->header.time_ms;
        }
    }
    if (rc)
        return rc;
    /* Records in order; a second validator change in one block stops here, and the next
     * MAIN_ANCHOR brings the rest. */
    uint32_t applied = 0;
    int ar = 1;
    while (applied < count && (ar = s_apply_record(app, ctx, &app->records[applied], st)) == 1)
        applied++;
    if (ar < 0)
        return ar;
    m.records += applied;
    s_mirror_store(ctx->ledger, &m);
    return 0;
}

/* ---- deliver_tx: certificates ----------------------------------------------------------- */

/* ISSUE: the hot path. Two point gets (role, attested holder) and two puts. */
static int s_deliver_issue(sc_app_t *app, ec_block_ctx_t *ctx, const ec_tx_t *tx,
                           const ec_issue_body_t *b, ec_status_t *st)
{
    ec_ledger_t *l = ctx->ledger;
    size_t org_len = strlen(b->org_code);
    int rc = s_need_role(app, ctx, tx->sender, EC_ROLE_ISSUER, "issuing agency", b->org_code,
                         org_len, st);
    if (rc)
        return rc;
    uint8_t akey[1 + EC_ADDR_HASH_BYTES];
    akey[0] = SC_K_ADDR;
    memcpy(akey + 1, b->holder_hash, EC_ADDR_HASH_BYTES);
    rc = s_state_has(l, akey, sizeof akey, st);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return ec_status_set(st, EC_EPERM, "holder %s is not an attested identity", b->holder);
    uint8_t nkey[1] = {SC_K_CERT_COUNT};
    uint64_t issued = 0;
    rc = s_state_u64(l, nkey, sizeof nkey, &issued, st);
    if (rc)
        return rc;
    if (issued >= EC_SLIST_CERTS_MAX)
        return ec_status_set(st, EC_ETOOBIG, "this chain's status list is full (%llu certificates)",
                             (unsigned long long)issued);
    uint8_t nval[8];
    ec_be64_put(nval, issued + 1);
    ec_state_put(l, nkey, sizeof nkey, nval, sizeof nval);
    sc_cert_t c;
    memset(&c, 0, sizeof c);
    memcpy(c.holder, b->holder_hash, EC_ADDR_HASH_BYTES);
    memcpy(c.issuer, tx->sender, EC_PK_BYTES);
    c.height = ctx->height;
    memcpy(c.fields_root, b->fields_root, EC_HASH_BYTES);
    c.expires_ms = b->expires_ms;
    c.status = SC_ISSUED;
    memcpy(c.payload_tx, tx->id, EC_HASH_BYTES);
    c.auth_height = ctx->ref;
    c.sidx = issued;
    ctx->slot = issued;
    c.org_len = org_len;
    memcpy(c.org, b->org_code, org_len + 1);
    rc = s_cert_commit(ctx, tx, tx->id, &c, EC_SLIST_VALID, st);
    if (rc)
        return rc;
    uint8_t hkey[SC_HOLDER_KEY_BYTES];
    hkey[0] = SC_K_HOLDER;
    memcpy(hkey + 1, b->holder_hash, EC_ADDR_HASH_BYTES);
    ec_be64_put(hkey + 1 + EC_ADDR_HASH_BYTES, ctx->height);
    memcpy(hkey + 1 + EC_ADDR_HASH_BYTES + 8, tx->id, EC_HASH_BYTES);
    ec_state_put(l, hkey, sizeof hkey, "", 0);
    return 0;
}

static int s_deliver_inspect(sc_app_t *app, ec_block_ctx_t *ctx, const ec_tx_t *tx,
                             const ec_inspect_body_t *b, ec_status_t *st)
{
    ec_ledger_t *l = ctx->ledger;
    size_t org_len = strlen(b->org_code);
    int rc = s_need_role(app, ctx, tx->sender, EC_ROLE_INSPECTOR, "inspection agency", b->org_code,
                         org_len, st);
    if (rc)
        return rc;
    sc_cert_t c;
    rc = s_cert_load(l, true, b->cert_id, &c, st);
    if (rc)
        return rc;
    if (memcmp(c.holder, b->holder_hash, EC_ADDR_HASH_BYTES) != 0)
        return ec_status_set(st, EC_EINVAL, "the certificate's holder is not %s", b->holder);
    if (c.status == SC_REVOKED || c.status == SC_CANCELLED)
        return ec_status_set(st, EC_ESTATE, "the certificate is %s", s_status_name(&c));
    uint32_t payloads = 0;
    if (tx->has_payload) {
        rc = s_payload_admit(l, b->cert_id, &c, "INSPECT", &payloads, st);
        if (rc)
            return rc;
        s_payload_add(l, b->cert_id, payloads, tx->id);
    }
    uint8_t key[SC_INSPECT_KEY_BYTES], val[SC_INSPECT_VAL_MAX];
    key[0] = SC_K_INSPECT;
    memcpy(key + 1, b->cert_id, EC_HASH_BYTES);
    ec_be64_put(key + 1 + EC_HASH_BYTES, ctx->height);
    memcpy(key + 1 + EC_HASH_BYTES + 8, tx->id, EC_HASH_BYTES);
    memcpy(val, tx->sender, EC_PK_BYTES);
    val[EC_PK_BYTES] = (uint8_t)org_len;
    memcpy(val + EC_PK_BYTES + 1, b->org_code, org_len);
    memcpy(val + EC_PK_BYTES + 1 + org_len, b->verdict, b->verdict_len);
    ec_state_put(l, key, sizeof key, val, EC_PK_BYTES + 1 + org_len + b->verdict_len);
    /* metering: the inspecting organization's index, by block time */
    uint8_t ukey[SC_USAGE_KEY_MAX], uval[EC_HASH_BYTES + EC_VERDICT_MAX];
    size_t un = 0;
    ukey[un++] = SC_K_USAGE;
    ukey[un++] = (uint8_t)org_len;
    memcpy(ukey + un, b->org_code, org_len);
    un += org_len;
    ec_be64_put(ukey + un, ctx->time_ms);
    ec_be64_put(ukey + un + 8, ctx->height);
    memcpy(ukey + un + 16, tx->id, EC_HASH_BYTES);
    un += 16 + EC_HASH_BYTES;
    memcpy(uval, b->cert_id, EC_HASH_BYTES);
    memcpy(uval + EC_HASH_BYTES, b->verdict, b->verdict_len);
    ec_state_put(l, ukey, un, uval, EC_HASH_BYTES + b->verdict_len);
    unsigned was = s_slist_code(&c);
    c.inspections++;
    return s_cert_commit(ctx, tx, b->cert_id, &c, was, st);
}

/* True when tx's sender is the holder of c. */
static bool s_is_holder(const ec_tx_t *tx, const sc_cert_t *c)
{
    uint8_t hash[EC_ADDR_HASH_BYTES];
    ec_address_hash(hash, tx->sender);
    return memcmp(hash, c->holder, EC_ADDR_HASH_BYTES) == 0;
}

/*
 * The holder acts needing no role, but only while the mirror is fresh: a key the main chain
 * replaced or revoked must stop working here within the freshness bound, as a revoked
 * role does. 0, EC_ESTALE, or a local fault.
 */
static int s_holder_fresh(const sc_app_t *app, const ec_block_ctx_t *ctx, ec_status_t *st)
{
    sc_mirror_t m;
    return s_fresh_mirror(app, ctx, &m, st);
}

/*
 * Who may send an update: ACK the holder alone; CANCEL the holder or an issuing agency of
 * the certificate's organization; the rest such an agency. 0 or the refusal, st set.
 */
static int s_update_allowed(sc_app_t *app, ec_block_ctx_t *ctx, const ec_tx_t *tx,
                            const sc_cert_t *c, ec_status_t *st)
{
    bool holder = s_is_holder(tx, c);
    if (tx->type == EC_STX_ACK)
        return holder
                   ? s_holder_fresh(app, ctx, st)
                   : ec_status_set(st, EC_EPERM, "only the holder may acknowledge a certificate");
    if (tx->type == EC_STX_CANCEL && holder)
        return s_holder_fresh(app, ctx, st);
    int rc =
        s_need_role(app, ctx, tx->sender, EC_ROLE_ISSUER, "issuing agency", c->org, c->org_len, st);
    if (rc == EC_EPERM && tx->type == EC_STX_CANCEL)
        return ec_status_set(st, EC_EPERM,
                             "only the holder or an issuing agency of org %s for %s may "
                             "cancel a certificate",
                             c->org, app->genesis.cert_type);
    return rc;
}

/*
 * The status rules of an update, on c as loaded: revoked and cancelled are final; a
 * suspension is lifted by REINSTATE alone and cannot be doubled. Applies the status
 * change to c. 0 or EC_ESTATE with st set.
 */
static int s_update_status(const ec_tx_t *tx, sc_cert_t *c, ec_status_t *st)
{
    const char *name = ec_tx_type_name(EC_CHAIN_SIDE, tx->type);
    if (c->status == SC_REVOKED || c->status == SC_CANCELLED)
        return ec_status_set(st, EC_ESTATE, "%s refused: the certificate is %s", name,
                             s_status_name(c));
    switch (tx->type) {
        case EC_STX_ACK:
            if (c->status != SC_ISSUED)
                return ec_status_set(st, EC_ESTATE, "the certificate is already acknowledged");
            c->status = SC_ACKNOWLEDGED;
            break;
        case EC_STX_REVOKE:
            c->status = SC_REVOKED;
            c->suspended = false;
            break;
        case EC_STX_CANCEL:
            c->status = SC_CANCELLED;
            c->suspended = false;
            break;
        case EC_STX_SUSPEND:
            if (c->suspended)
                return ec_status_set(st, EC_ESTATE, "the certificate is already suspended");
            c->suspended = true;
            break;
        case EC_STX_REINSTATE:
            if (!c->suspended)
                return ec_status_set(st, EC_ESTATE, "the certificate is not suspended");
            c->suspended = false;
            break;
        default:
            break;
    }
    return 0;
}

/* ACK, RENEW, CHANGE, REVOKE, SUSPEND, REINSTATE, CANCEL: one certificate get, its
 * history entry, its status-list page when its code changes, and its put. */
static int s_deliver_update(sc_app_t *app, ec_block_ctx_t *ctx, const ec_tx_t *tx,
                            const sc_body_t *b, ec_status_t *st)
{
    ec_ledger_t *l = ctx->ledger;
    const uint8_t *cert_id = tx->type == EC_STX_ACK      ? b->ack.cert_id
                             : tx->type == EC_STX_RENEW  ? b->renew.cert_id
                             : tx->type == EC_STX_CHANGE ? b->change.cert_id
                                                         : b->revoke.cert_id;
    sc_cert_t c;
    int rc = s_cert_load(l, true, cert_id, &c, st);
    if (rc)
        return rc;
    if ((rc = s_update_allowed(app, ctx, tx, &c, st)) != 0)
        return rc;
    unsigned was = s_slist_code(&c);
    if ((rc = s_update_status(tx, &c, st)) != 0)
        return rc;
    if (tx->type == EC_STX_RENEW) {
        c.expires_ms = b->renew.expires_ms;
    } else if (tx->type == EC_STX_CHANGE) {
        uint32_t payloads = 0;
        rc = s_payload_admit(l, cert_id, &c, "CHANGE", &payloads, st);
        if (rc)
            return rc;
        memcpy(c.fields_root, b->change.fields_root, EC_HASH_BYTES);
        memcpy(c.payload_tx, tx->id, EC_HASH_BYTES);
        s_payload_add(l, cert_id, payloads, tx->id);
    }
    return s_cert_commit(ctx, tx, cert_id, &c, was, st);
}

/*
 * ERASE: the holder or an issuing agency of the certificate's org deletes every payload of
 * the certificate from EC_CF_PAYLOADS (ISSUE, each CHANGE, each INSPECT that had one) in
 * the block's batch, drops its 'P' keys and marks it erased. Blocks, the tx index and
 * every payload_hash stay, so no hash breaks. Cost: one certificate get, one role get
 * (for an agency), 1 + n index gets, and 2 + 2n deletes with n <= SC_PAYLOADS_MAX.
 */
static int s_deliver_erase(sc_app_t *app, ec_block_ctx_t *ctx, const ec_tx_t *tx,
                           const ec_erase_body_t *b, ec_status_t *st)
{
    ec_ledger_t *l = ctx->ledger;
    sc_cert_t c;
    int rc = s_cert_load(l, true, b->cert_id, &c, st);
    if (rc)
        return rc;
    bool holder = s_is_holder(tx, &c);
    if (holder && (rc = s_holder_fresh(app, ctx, st)) != 0)
        return rc;
    if (!holder && (rc = s_need_role(app, ctx, tx->sender, EC_ROLE_ISSUER, "issuing agency", c.org,
                                     c.org_len, st)) != 0)
        return rc == EC_EPERM ? ec_status_set(st, EC_EPERM,
                                              "only the holder or an issuing agency of org %s "
                                              "for %s may erase a certificate's content",
                                              c.org, app->genesis.cert_type)
                              : rc;
    if (c.erased)
        return ec_status_set(st, EC_ESTATE, "the certificate's content is already erased");
    uint32_t count = 0;
    rc = s_payload_count(l, b->cert_id, &count, st);
    if (rc)
        return rc;
    uint8_t key[SC_PAYLOAD_KEY_BYTES];
    for (uint32_t i = 0; i < count; i++) {
        uint8_t *val = NULL;
        size_t size = 0;
        s_payload_key(key, b->cert_id, i);
        rc = ec_state_get(l, key, sizeof key, &val, &size);
        if (rc == 0 && size != EC_HASH_BYTES)
            rc = EC_EINTERNAL;
        if (rc) {
            free(val);
            return ec_status_set(st, rc, "reading payload %u of the index: %s", i, ec_strerror(rc));
        }
        ec_ledger_del(l, EC_CF_PAYLOADS, val, EC_HASH_BYTES);
        free(val);
        ec_state_del(l, key, sizeof key);
    }
    if (count > 0)
        ec_state_del(l, key, 1 + EC_HASH_BYTES);
    ec_ledger_del(l, EC_CF_PAYLOADS, b->cert_id, EC_HASH_BYTES); /* the ISSUE's payload */
    unsigned was = s_slist_code(&c);
    c.erased = true;
    return s_cert_commit(ctx, tx, b->cert_id, &c, was, st);
}

/* ---- deliver_tx: evidence deposits ----------------------------------------------------- */

/* A deposit as the 'v' key's value holds it. */
typedef struct {
    uint64_t height;              /* side block of the EVIDENCE                        */
    uint8_t tx_id[EC_HASH_BYTES]; /* the EVIDENCE transaction                          */
    uint64_t count;               /* files in the batch                                */
} sc_deposit_t;

/*
 * Reads the deposit of `root` through the pending batch (pending = true, commit thread) or
 * from committed data. Returns 0, EC_ENOTFOUND, or a local fault (EC_EIO, EC_ENOMEM,
 * EC_EINTERNAL for a corrupt value), with st set for every code but EC_ENOTFOUND.
 */
static int s_deposit_load(ec_ledger_t *l, bool pending, const uint8_t root[EC_HASH_BYTES],
                          const uint8_t signer[EC_PK_BYTES], sc_deposit_t *d, ec_status_t *st)
{
    uint8_t key[1 + EC_HASH_BYTES + EC_PK_BYTES], *val = NULL;
    size_t size = 0;
    key[0] = SC_K_EVIDENCE;
    memcpy(key + 1, root, EC_HASH_BYTES);
    memcpy(key + 1 + EC_HASH_BYTES, signer, EC_PK_BYTES);
    int rc = pending ? ec_state_get(l, key, sizeof key, &val, &size)
                     : ec_ledger_get(l, EC_CF_STATE, key, sizeof key, &val, &size);
    if (rc == EC_ENOTFOUND)
        return rc;
    if (rc == 0 && size != SC_EVIDENCE_VAL_BYTES)
        rc = EC_EINTERNAL;
    if (rc == 0) {
        d->height = ec_be64_get(val);
        memcpy(d->tx_id, val + 8, EC_HASH_BYTES);
        d->count = ec_be64_get(val + 8 + EC_HASH_BYTES);
    }
    free(val);
    if (rc) {
        ec_error("sidechain: reading a deposit failed: %s", ec_strerror(rc));
        return ec_status_set(st, rc, "reading a deposit: %s", ec_strerror(rc));
    }
    return 0;
}

/*
 * EVIDENCE: anyone deposits a batch root, once per signing key (one point get, one put):
 * the key that signs is the depositor a proof names, so the deposit is keyed by it too. The
 * chain cannot
 * check what the root covers (it never sees the files); it vouches for who deposited it
 * and when, which is what a file's proof (ec_evidence.h) needs from it.
 */
static int s_deliver_evidence(ec_block_ctx_t *ctx, const ec_tx_t *tx, const ec_evidence_body_t *b,
                              ec_status_t *st)
{
    sc_deposit_t d;
    int rc = s_deposit_load(ctx->ledger, true, b->root, tx->sender, &d, st);
    if (rc == 0) {
        char root[2 * EC_HASH_BYTES + 1], id[2 * EC_HASH_BYTES + 1];
        ec_hex(root, b->root, EC_HASH_BYTES);
        ec_hex(id, d.tx_id, EC_HASH_BYTES);
        return ec_status_set(st, EC_EEXIST,
                             "this key deposited batch root %.16s... already, at height %llu by "
                             "tx %.16s... (%llu files)",
                             root, (unsigned long long)d.height, id, (unsigned long long)d.count);
    }
    if (rc != EC_ENOTFOUND)
        return rc;
    uint8_t key[1 + EC_HASH_BYTES + EC_PK_BYTES], val[SC_EVIDENCE_VAL_BYTES];
    key[0] = SC_K_EVIDENCE;
    memcpy(key + 1, b->root, EC_HASH_BYTES);
    memcpy(key + 1 + EC_HASH_BYTES, tx->sender, EC_PK_BYTES);
    ec_be64_put(val, ctx->height);
    memcpy(val + 8, tx->id, EC_HASH_BYTES);
    ec_be64_put(val + 8 + EC_HASH_BYTES, b->count);
    ec_state_put(ctx->ledger, key, sizeof key, val, sizeof val);
    return 0;
}

static int s_deliver_tx(void *self, ec_block_ctx_t *ctx, const ec_tx_t *tx, const uint8_t *payload,
                        size_t payload_size, ec_status_t *st)
{
    sc_app_t *app = self;
    /* Only tx->has_payload counts here: whether the bytes are at hand (a block fetched
     * from a peer may come without them) must not change the outcome. */
    (void)payload;
    (void)payload_size;
    if (tx->type == EC_STX_MAIN_ANCHOR)
        return s_deliver_anchor(app, ctx, tx, st);
    sc_body_t b;
    int rc = s_contracts_enabled(app, tx, st);
    if (rc == 0)
        rc = s_parse_body(tx, &b, st);
    if (rc)
        return rc;
    /* The rules below see the sender as the account it signs for (a shallow copy whose
     * decoder is never used). */
    ec_tx_t as = *tx;
    rc = s_identity(ctx->ledger, tx->sender, as.sender, st);
    if (rc)
        return rc;
    switch (tx->type) {
        case EC_STX_ISSUE:
            return s_deliver_issue(app, ctx, &as, &b.issue, st);
        case EC_STX_INSPECT:
            return s_deliver_inspect(app, ctx, &as, &b.inspect, st);
        case EC_STX_ERASE:
            return s_deliver_erase(app, ctx, &as, &b.revoke, st);
        case EC_STX_CONTRACT_DEPLOY:
        case EC_STX_CONTRACT_UPGRADE:
            rc = s_need_role(app, ctx, as.sender, EC_ROLE_DEPLOYER, "contract deployer",
                             b.deploy.org_code, strlen(b.deploy.org_code), st);
            return rc ? rc : ec_cstate_deploy(ctx, &as, &b.deploy, st);
        case EC_STX_CONTRACT_CALL:
            /* The caller's address, roles and attestation may decide the outcome: its key
             * must still be current and the roles the mirror holds believable. */
            rc = s_holder_fresh(app, ctx, st);
            return rc ? rc : ec_cstate_call(ctx, &as, &b.call, &app->facts, st);
        case EC_STX_CONTRACT_DECIDE:
            rc = s_holder_fresh(app, ctx, st);
            return rc ? rc : ec_cstate_decide(ctx, &as, &b.decide, &app->facts, st);
        case EC_STX_EVIDENCE:
            return s_deliver_evidence(ctx, tx, &b.evidence, st); /* the key that signed */
        default:
            return s_deliver_update(app, ctx, &as, &b, st);
    }
}

/* ---- end_block -------------------------------------------------------------------------- */

static void s_slh_key(uint8_t key[SC_SLH_KEY_BYTES], uint64_t height)
{
    memcpy(key, SC_SLH_PREFIX, SC_SLH_PREFIX_LEN);
    ec_be64_put(key + SC_SLH_PREFIX_LEN, height);
}

/*
 * Reads the "sc/slh" record of a committed height into rec (SC_SLH_BYTES). Returns 0,
 * EC_ENOTFOUND (never written, pruned, or above the tip), EC_EINTERNAL (a record of the
 * wrong size) or a storage fault.
 */
static int s_slh_read(ec_ledger_t *l, uint64_t height, uint8_t rec[SC_SLH_BYTES])
{
    uint8_t key[SC_SLH_KEY_BYTES], *val = NULL;
    size_t size = 0;
    s_slh_key(key, height);
    int rc = ec_ledger_get(l, EC_CF_META, key, sizeof key, &val, &size);
    if (rc == 0 && size != SC_SLH_BYTES)
        rc = EC_EINTERNAL;
    if (rc == 0)
        memcpy(rec, val, SC_SLH_BYTES);
    free(val);
    return rc;
}

/*
 * Writes, with the block at `height`, its "sc/slh" record (see the file comment): the
 * inputs of its state root besides the list's bytes, and the height since which the list
 * has been the one it is (carried from the previous block's record while the root and
 * count stay the same; `height` itself when they changed or that record is missing). Deletes
 * the record SC_SLIST_HISTORY blocks below, so at most that many are kept. One point read
 * and two writes a block. Returns 0 or a storage fault.
 */
static int s_slh_write(ec_ledger_t *l, uint64_t height, const uint8_t digest[EC_HASH_BYTES],
                       uint64_t records, uint64_t count, const uint8_t status_root[EC_HASH_BYTES])
{
    uint8_t rec[SC_SLH_BYTES], prev[SC_SLH_BYTES], key[SC_SLH_KEY_BYTES];
    memcpy(rec, digest, EC_HASH_BYTES);
    ec_be64_put(rec + EC_HASH_BYTES, records);
    ec_be64_put(rec + EC_HASH_BYTES + 8, count);
    memcpy(rec + EC_HASH_BYTES + 16, status_root, EC_HASH_BYTES);
    uint64_t since = height;
    int rc = height > 1 ? s_slh_read(l, height - 1, prev) : EC_ENOTFOUND;
    if (rc == 0 &&
        memcmp(prev + EC_HASH_BYTES + 8, rec + EC_HASH_BYTES + 8, 8 + EC_HASH_BYTES) == 0)
        since = ec_be64_get(prev + 2 * EC_HASH_BYTES + 16);
    else if (rc != 0 && rc != EC_ENOTFOUND && rc != EC_EINTERNAL) {
        ec_error("end_block: reading the status list record of block %llu: %s",
                 (unsigned long long)(height - 1), ec_strerror(rc));
        return rc;
    }
    ec_be64_put(rec + 2 * EC_HASH_BYTES + 16, since);
    s_slh_key(key, height);
    ec_ledger_put(l, EC_CF_META, key, sizeof key, rec, sizeof rec);
    if (height > SC_SLIST_HISTORY) {
        s_slh_key(key, height - SC_SLIST_HISTORY);
        ec_ledger_del(l, EC_CF_META, key, sizeof key);
    }
    return 0;
}

static int s_end_block(void *self, ec_block_ctx_t *ctx, uint8_t state_root[EC_HASH_BYTES])
{
    sc_app_t *app = self;
    sc_mirror_t m;
    ec_status_t st;
    int rc = s_mirror_load(app, ctx->ledger, true, &m, &st);
    if (rc) {
        ec_error("end_block: %s", st.msg);
        return rc;
    }
    uint8_t digest[EC_HASH_BYTES], status_root[EC_HASH_BYTES];
    ec_ledger_state_digest(ctx->ledger, digest);
    uint8_t nkey[1] = {SC_K_CERT_COUNT};
    uint64_t count = 0;
    rc = s_state_u64(ctx->ledger, nkey, sizeof nkey, &count, &st);
    if (rc == 0 && count > EC_SLIST_CERTS_MAX)
        rc = ec_status_set(&st, EC_EINTERNAL, "the status list counts %llu certificates",
                           (unsigned long long)count);
    if (rc == 0 && (rc = ec_slist_root(status_root, count, s_slist_page_pending, ctx->ledger)) != 0)
        ec_status_set(&st, rc, "reading the status list: %s", ec_strerror(rc));
    if (rc) {
        ec_error("end_block: %s", st.msg);
        return rc;
    }
    ec_side_state_root(state_root, digest, m.records, status_root);
    /* What a status-list query needs to prove the list against this block's header; not
     * state (it would change the digest it records), and written with the block. */
    uint8_t meta[SC_SLIST_META_BYTES];
    ec_be64_put(meta, ctx->height);
    memcpy(meta + 8, digest, EC_HASH_BYTES);
    ec_be64_put(meta + 8 + EC_HASH_BYTES, m.records);
    ec_be64_put(meta + 16 + EC_HASH_BYTES, count);
    ec_ledger_put(ctx->ledger, EC_CF_META, SC_SLIST_META, strlen(SC_SLIST_META), meta, sizeof meta);
    return s_slh_write(ctx->ledger, ctx->height, digest, m.records, count, status_root);
}

/* ---- queries ---------------------------------------------------------------------------- */

/*
 * Reads query args that are one bin of exactly `size` bytes (a cert id or a public key)
 * into out. Returns 0, or the cursor's error with st set to `usage` ("cert takes ...").
 */
static int s_args_bin(const msgpack_object *args, uint8_t *out, size_t size, const char *usage,
                      ec_status_t *st)
{
    ec_cur_t c;
    ec_cur_open(&c, args, 1);
    ec_cur_bin_fixed(&c, out, size);
    int rc = ec_cur_finish(&c);
    return rc ? ec_status_set(st, rc, "%s", usage) : 0;
}

static int s_query_cert(sc_app_t *app, ec_ledger_t *l, const msgpack_object *args, ec_writer_t *out,
                        ec_status_t *st)
{
    (void)app;
    uint8_t id[EC_HASH_BYTES];
    int rc = s_args_bin(args, id, EC_HASH_BYTES, "cert takes [cert_id: bin32]", st);
    if (rc)
        return rc;
    sc_cert_t cert;
    rc = s_cert_load(l, false, id, &cert, st);
    if (rc)
        return rc;
    uint8_t *payload = NULL;
    size_t payload_size = 0;
    rc = EC_ENOTFOUND; /* erased: served as empty bytes */
    if (!cert.erased)
        rc = ec_ledger_get(l, EC_CF_PAYLOADS, cert.payload_tx, EC_HASH_BYTES, &payload,
                           &payload_size);
    if (rc && rc != EC_ENOTFOUND)
        return ec_status_set(st, rc, "reading the payload: %s", ec_strerror(rc));
    char holder[EC_ADDR_MAX];
    ec_address_from_hash(holder, cert.holder);
    ec_write_array(out, 15);
    ec_write_bin(out, id, EC_HASH_BYTES);
    ec_write_cstr(out, holder);
    ec_write_str(out, cert.org, cert.org_len);
    ec_write_bin(out, cert.issuer, EC_PK_BYTES);
    ec_write_uint(out, cert.height);
    ec_write_bin(out, cert.fields_root, EC_HASH_BYTES);
    ec_write_uint(out, cert.expires_ms);
    ec_write_cstr(out, s_status_name(&cert));
    ec_write_bin(out, payload, rc == 0 ? payload_size : 0);
    ec_write_uint(out, cert.inspections);
    ec_write_uint(out, cert.updated_height);
    ec_write_bool(out, cert.erased);
    ec_write_uint(out, cert.auth_height);
    ec_write_uint(out, cert.sidx);
    ec_write_uint(out, cert.ops);
    free(payload);
    return 0;
}

/* Scan state for certs_by_holder and inspections. */
typedef struct {
    ec_ledger_t *ledger;
    ec_writer_t items; /* the result's elements, one msgpack object each          */
    uint32_t count;
    uint32_t limit;      /* 0 = no limit                                            */
    const uint8_t *skip; /* a key to step over (the `after` entry), or NULL         */
    size_t skip_size;
    int err;
} sc_scan_t;

static int s_holder_item(void *ctx, const uint8_t *key, size_t key_size, const uint8_t *val,
                         size_t val_size)
{
    sc_scan_t *s = ctx;
    (void)val;
    (void)val_size;
    if (s->skip && key_size == s->skip_size && memcmp(key, s->skip, key_size) == 0)
        return 0;
    if (key_size != SC_HOLDER_KEY_BYTES) {
        s->err = EC_EINTERNAL;
        return 1;
    }
    const uint8_t *id = key + 1 + EC_ADDR_HASH_BYTES + 8;
    sc_cert_t cert;
    ec_status_t st;
    int rc = s_cert_load(s->ledger, false, id, &cert, &st);
    if (rc) {
        s->err = rc;
        return 1;
    }
    ec_write_array(&s->items, 4);
    ec_write_bin(&s->items, id, EC_HASH_BYTES);
    ec_write_uint(&s->items, ec_be64_get(key + 1 + EC_ADDR_HASH_BYTES));
    ec_write_str(&s->items, cert.org, cert.org_len);
    ec_write_cstr(&s->items, s_status_name(&cert));
    return ++s->count == s->limit;
}

/* Starts an empty scan over l. Allocates nothing until the first item is written. */
static void s_scan_init(sc_scan_t *s, ec_ledger_t *l)
{
    memset(s, 0, sizeof *s);
    s->ledger = l;
    ec_writer_init(&s->items);
}

/* Writes the collected items as one array; frees the scan's writer. */
static int s_scan_finish(sc_scan_t *s, int rc, ec_writer_t *out, ec_status_t *st)
{
    if (rc >= 0 && s->err)
        rc = s->err;
    if (rc < 0) {
        ec_writer_fini(&s->items);
        return ec_status_set(st, rc, "scanning state: %s", ec_strerror(rc));
    }
    ec_write_array(out, s->count);
    if (s->count > 0)
        ec_write_raw(out, ec_writer_data(&s->items), ec_writer_size(&s->items));
    ec_writer_fini(&s->items);
    return 0;
}

static int s_query_by_holder(sc_app_t *app, ec_ledger_t *l, const msgpack_object *args,
                             ec_writer_t *out, ec_status_t *st)
{
    ec_cur_t c;
    char addr[EC_ADDR_MAX];
    uint8_t after[EC_HASH_BYTES];
    bool has_after = false;
    uint64_t limit = 0;
    ec_cur_open(&c, args, 3);
    ec_cur_str_copy(&c, addr, sizeof addr);
    ec_cur_bin_fixed_opt(&c, after, EC_HASH_BYTES, &has_after);
    ec_cur_uint_max(&c, &limit, SC_LIST_MAX);
    int rc = ec_cur_finish(&c);
    if (rc)
        return ec_status_set(st, rc,
                             "certs_by_holder takes [address: str, after: bin32|nil, "
                             "limit: uint (<= %u)]",
                             SC_LIST_MAX);
    uint8_t prefix[SC_HOLDER_KEY_BYTES];
    prefix[0] = SC_K_HOLDER;
    if (ec_address_parse(prefix + 1, addr) != 0)
        return ec_status_set(st, EC_EINVAL, "%s is not a valid address", addr);
    sc_scan_t s;
    s_scan_init(&s, l);
    s.limit = limit == 0 ? SC_LIST_MAX : (uint32_t)limit;
    if (has_after) {
        sc_cert_t cert;
        rc = s_cert_load(l, false, after, &cert, st);
        if (rc)
            return rc;
        if (memcmp(cert.holder, prefix + 1, EC_ADDR_HASH_BYTES) != 0)
            return ec_status_set(st, EC_EINVAL, "certificate `after` is not held by %s", addr);
        ec_be64_put(prefix + 1 + EC_ADDR_HASH_BYTES, cert.height);
        memcpy(prefix + 1 + EC_ADDR_HASH_BYTES + 8, after, EC_HASH_BYTES);
        s.skip = prefix;
        s.skip_size = sizeof prefix;
    }
    (void)app;
    rc = ec_ledger_scan(l, EC_CF_STATE, prefix, 1 + EC_ADDR_HASH_BYTES, has_after ? prefix : NULL,
                        has_after ? sizeof prefix : 0, 0, s_holder_item, &s);
    return s_scan_finish(&s, rc, out, st);
}

static int s_inspection_item(void *ctx, const uint8_t *key, size_t key_size, const uint8_t *val,
                             size_t val_size)
{
    sc_scan_t *s = ctx;
    if (key_size != SC_INSPECT_KEY_BYTES || val_size < EC_PK_BYTES + 1 ||
        val_size < EC_PK_BYTES + 1 + (size_t)val[EC_PK_BYTES]) {
        s->err = EC_EINTERNAL;
        return 1;
    }
    size_t org_len = val[EC_PK_BYTES];
    const uint8_t *org = val + EC_PK_BYTES + 1;
    ec_write_array(&s->items, 5);
    ec_write_bin(&s->items, key + 1 + EC_HASH_BYTES + 8, EC_HASH_BYTES);
    ec_write_uint(&s->items, ec_be64_get(key + 1 + EC_HASH_BYTES));
    ec_write_str(&s->items, (const char *)org, org_len);
    ec_write_bin(&s->items, val, EC_PK_BYTES);
    ec_write_str(&s->items, (const char *)org + org_len, val_size - EC_PK_BYTES - 1 - org_len);
    s->count++;
    return 0;
}

static int s_query_inspections(sc_app_t *app, ec_ledger_t *l, const msgpack_object *args,
                               ec_writer_t *out, ec_status_t *st)
{
    (void)app;
    uint8_t prefix[1 + EC_HASH_BYTES];
    int rc = s_args_bin(args, prefix + 1, EC_HASH_BYTES, "inspections takes [cert_id: bin32]", st);
    if (rc)
        return rc;
    sc_cert_t cert;
    rc = s_cert_load(l, false, prefix + 1, &cert, st);
    if (rc)
        return rc;
    prefix[0] = SC_K_INSPECT;
    sc_scan_t s;
    s_scan_init(&s, l);
    rc = ec_ledger_scan(l, EC_CF_STATE, prefix, sizeof prefix, NULL, 0, 0, s_inspection_item, &s);
    return s_scan_finish(&s, rc, out, st);
}

static int s_query_mirror(sc_app_t *app, ec_ledger_t *l, const msgpack_object *args,
                          ec_writer_t *out, ec_status_t *st)
{
    ec_cur_t c;
    ec_cur_open(&c, args, 0);
    int rc = ec_cur_finish(&c);
    if (rc)
        return ec_status_set(st, rc, "mirror takes []");
    sc_mirror_t m;
    rc = s_mirror_load(app, l, false, &m, st);
    if (rc)
        return rc;
    ec_write_array(out, 4);
    ec_write_array(out, 4);
    ec_write_uint(out, m.light.height);
    ec_write_bin(out, m.light.hash, EC_HASH_BYTES);
    ec_write_bin(out, m.light.hist_root, EC_HASH_BYTES);
    ec_write_bool(out, m.light.frozen);
    ec_write_uint(out, m.records);
    ec_write_uint(out, m.main_time_ms);
    ec_write_uint(out, app->genesis.main_freshness_ms);
    return 0;
}

static int s_role_item(void *ctx, const uint8_t *key, size_t key_size, const uint8_t *val,
                       size_t val_size)
{
    sc_scan_t *s = ctx;
    (void)val;
    (void)val_size;
    const size_t head = 1 + EC_PK_BYTES + 2;
    if (key_size < head || key_size < head + key[head - 1]) {
        s->err = EC_EINTERNAL;
        return 1;
    }
    size_t ct_len = key[head - 1];
    ec_write_array(&s->items, 3);
    ec_write_uint(&s->items, key[head - 2]);
    ec_write_str(&s->items, (const char *)key + head, ct_len);
    ec_write_str(&s->items, (const char *)key + head + ct_len, key_size - head - ct_len);
    s->count++;
    return 0;
}

static int s_query_role(sc_app_t *app, ec_ledger_t *l, const msgpack_object *args, ec_writer_t *out,
                        ec_status_t *st)
{
    (void)app;
    uint8_t key[1 + EC_PK_BYTES];
    int rc = s_args_bin(args, key + 1, EC_PK_BYTES, "role takes [pk: bin32]", st);
    if (rc)
        return rc;
    key[0] = SC_K_ATTEST;
    uint8_t *val = NULL;
    size_t size = 0;
    rc = ec_ledger_get(l, EC_CF_STATE, key, sizeof key, &val, &size);
    free(val);
    if (rc && rc != EC_ENOTFOUND)
        return ec_status_set(st, rc, "reading state: %s", ec_strerror(rc));
    bool attested = rc == 0;
    key[0] = SC_K_ROLE;
    sc_scan_t s;
    s_scan_init(&s, l);
    rc = ec_ledger_scan(l, EC_CF_STATE, key, sizeof key, NULL, 0, 0, s_role_item, &s);
    ec_write_array(out, 2);
    rc = s_scan_finish(&s, rc, out, st);
    if (rc)
        return rc;
    ec_write_bool(out, attested);
    return 0;
}

static int s_history_item(void *ctx, const uint8_t *key, size_t key_size, const uint8_t *val,
                          size_t val_size)
{
    sc_scan_t *s = ctx;
    if (key_size != SC_HISTORY_KEY_BYTES || val_size != SC_HISTORY_VAL_BYTES) {
        s->err = EC_EINTERNAL;
        return 1;
    }
    ec_write_array(&s->items, 4);
    ec_write_uint(&s->items, ec_be64_get(key + 1 + EC_HASH_BYTES));
    ec_write_uint(&s->items, val[0]);
    ec_write_uint(&s->items, ec_be64_get(val + 1));
    ec_write_bin(&s->items, val + 9, EC_HASH_BYTES);
    return ++s->count == s->limit;
}

/* cert_history [cert_id: bin32, from: uint] -> [[seq, type, height, tx_id]...]: the
 * certificate's transactions in the order they were applied, from entry `from`, at most
 * SC_LIST_MAX. */
static int s_query_history(sc_app_t *app, ec_ledger_t *l, const msgpack_object *args,
                           ec_writer_t *out, ec_status_t *st)
{
    (void)app;
    ec_cur_t c;
    uint8_t id[EC_HASH_BYTES];
    uint64_t from = 0;
    ec_cur_open(&c, args, 2);
    ec_cur_bin_fixed(&c, id, EC_HASH_BYTES);
    ec_cur_uint(&c, &from);
    int rc = ec_cur_finish(&c);
    if (rc)
        return ec_status_set(st, rc, "cert_history takes [cert_id: bin32, from: uint]");
    sc_cert_t cert;
    rc = s_cert_load(l, false, id, &cert, st);
    if (rc)
        return rc;
    uint8_t key[SC_HISTORY_KEY_BYTES];
    key[0] = SC_K_HISTORY;
    memcpy(key + 1, id, EC_HASH_BYTES);
    ec_be64_put(key + 1 + EC_HASH_BYTES, from);
    sc_scan_t s;
    s_scan_init(&s, l);
    s.limit = SC_LIST_MAX;
    rc = ec_ledger_scan(l, EC_CF_STATE, key, 1 + EC_HASH_BYTES, key, sizeof key, 0, s_history_item,
                        &s);
    return s_scan_finish(&s, rc, out, st);
}

/* Usage scan: inspections of one organization within [from_ms, to_ms). */
typedef struct {
    sc_scan_t scan;
    size_t prefix_size; /* 'U' org_len org                                         */
    uint64_t to_ms;
} sc_usage_t;

static int s_usage_item(void *ctx, const uint8_t *key, size_t key_size, const uint8_t *val,
                        size_t val_size)
{
    sc_usage_t *u = ctx;
    sc_scan_t *s = &u->scan;
    if (s->skip && key_size == s->skip_size && memcmp(key, s->skip, key_size) == 0)
        return 0;
    if (key_size != u->prefix_size + 16 + EC_HASH_BYTES || val_size < EC_HASH_BYTES) {
        s->err = EC_EINTERNAL;
        return 1;
    }
    const uint8_t *k = key + u->prefix_size;
    uint64_t time_ms = ec_be64_get(k);
    if (time_ms >= u->to_ms)
        return 1; /* past the range: done */
    ec_write_array(&s->items, 5);
    ec_write_uint(&s->items, time_ms);
    ec_write_uint(&s->items, ec_be64_get(k + 8));
    ec_write_bin(&s->items, k + 16, EC_HASH_BYTES);
    ec_write_bin(&s->items, val, EC_HASH_BYTES);
    ec_write_str(&s->items, (const char *)val + EC_HASH_BYTES, val_size - EC_HASH_BYTES);
    return ++s->count == s->limit;
}

/*
 * usage [org_code: str, from_ms: uint, to_ms: uint, after: [time_ms, height, tx_id] | nil]
 * -> [[time_ms, height, tx_id: bin32, cert_id: bin32, verdict: str]...]: the inspections
 * recorded by that organization in blocks whose time is in [from_ms, to_ms), in time order,
 * at most SC_LIST_MAX, after the entry `after` when given (paging).
 */
static int s_query_usage(sc_app_t *app, ec_ledger_t *l, const msgpack_object *args,
                         ec_writer_t *out, ec_status_t *st)
{
    (void)app;
    ec_cur_t c, a;
    char org[EC_ORG_CODE_MAX];
    uint64_t from = 0, to = 0, after_time = 0, after_height = 0;
    uint8_t after_tx[EC_HASH_BYTES];
    bool has_after = false;
    ec_cur_open(&c, args, 4);
    ec_cur_str_copy(&c, org, sizeof org);
    ec_cur_uint(&c, &from);
    ec_cur_uint(&c, &to);
    if (ec_cur_peek_nil(&c)) {
        ec_cur_nil(&c);
    } else {
        has_after = true;
        ec_cur_enter(&c, &a, 3);
        ec_cur_uint(&a, &after_time);
        ec_cur_uint(&a, &after_height);
        ec_cur_bin_fixed(&a, after_tx, EC_HASH_BYTES);
        ec_cur_fold(&c, &a);
    }
    int rc = ec_cur_finish(&c);
    if (rc == 0 && (!org[0] || from > to))
        rc = EC_EINVAL;
    if (rc)
        return ec_status_set(st, rc,
                             "usage takes [org_code: str, from_ms: uint, to_ms: uint (>= from), "
                             "after: [time_ms, height, tx_id: bin32] | nil]");
    size_t org_len = strlen(org);
    uint8_t start[SC_USAGE_KEY_MAX];
    size_t n = 0;
    start[n++] = SC_K_USAGE;
    start[n++] = (uint8_t)org_len;
    memcpy(start + n, org, org_len);
    n += org_len;
    sc_usage_t u;
    memset(&u, 0, sizeof u);
    s_scan_init(&u.scan, l);
    u.scan.limit = SC_LIST_MAX;
    u.prefix_size = n;
    u.to_ms = to;
    ec_be64_put(start + n, has_after ? after_time : from);
    ec_be64_put(start + n + 8, has_after ? after_height : 0);
    if (has_after)
        memcpy(start + n + 16, after_tx, EC_HASH_BYTES);
    else
        memset(start + n + 16, 0, EC_HASH_BYTES);
    size_t start_size = n + 16 + EC_HASH_BYTES;
    if (has_after) {
        u.scan.skip = start;
        u.scan.skip_size = start_size;
    }
    rc = ec_ledger_scan(l, EC_CF_STATE, start, n, start, start_size, 0, s_usage_item, &u);
    return s_scan_finish(&u.scan, rc, out, st);
}

/* Reads the committed "sc/slist" record. 0, EC_ENOTFOUND (no block yet) or a fault. */
static int s_slist_meta(ec_ledger_t *l, uint8_t meta[SC_SLIST_META_BYTES])
{
    uint8_t *val = NULL;
    size_t size = 0;
    int rc = ec_ledger_get(l, EC_CF_META, SC_SLIST_META, strlen(SC_SLIST_META), &val, &size);
    if (rc == 0 && size != SC_SLIST_META_BYTES)
        rc = EC_EINTERNAL;
    if (rc == 0)
        memcpy(meta, val, SC_SLIST_META_BYTES);
    free(val);
    return rc;
}

/*
 * Where status_list [height] stands: the tip's record `tip` (the "sc/slist" value) and the
 * "sc/slh" records of the tip and of `height` say whether the list read at the tip is the
 * one block `height` commits to (same status_root and count). On success writes that
 * block's state_digest and mirrored records into meta (as in "sc/slist"). Returns 0, or
 * the error with st set: EC_ENOTFOUND (no record kept for that height), EC_ESTATE (the
 * list changed after it), or a fault.
 */
static int s_slist_at(ec_ledger_t *l, uint64_t height, uint8_t meta[SC_SLIST_META_BYTES],
                      ec_status_t *st)
{
    uint64_t tip = ec_be64_get(meta);
    uint8_t at[SC_SLH_BYTES], now[SC_SLH_BYTES];
    int rc = height <= tip ? s_slh_read(l, height, at) : EC_ENOTFOUND;
    if (rc == 0)
        rc = s_slh_read(l, tip, now);
    if (rc == EC_ENOTFOUND)
        return ec_status_set(st, EC_ENOTFOUND,
                             "no status list record for block %llu (the tip is %llu; the last "
                             "%u blocks are kept)",
                             (unsigned long long)height, (unsigned long long)tip,
                             (unsigned)SC_SLIST_HISTORY);
    if (rc)
        return ec_status_set(st, rc, "reading the status list records: %s", ec_strerror(rc));
    /* Both of the tip are written in one batch: their counts agree. */
    if (memcmp(now + EC_HASH_BYTES + 8, meta + 16 + EC_HASH_BYTES, 8) != 0)
        return ec_status_set(st, EC_EINTERNAL, "the status list records of block %llu disagree",
                             (unsigned long long)tip);
    /* count and status_root, contiguous in the record */
    if (memcmp(at + EC_HASH_BYTES + 8, now + EC_HASH_BYTES + 8, 8 + EC_HASH_BYTES) != 0)
        return ec_status_set(st, EC_ESTATE,
                             "the status list changed after block %llu: ask for %llu or later",
                             (unsigned long long)height,
                             (unsigned long long)ec_be64_get(now + 2 * EC_HASH_BYTES + 16));
    memcpy(meta + 8, at, EC_HASH_BYTES + 8); /* state_digest, mirrored records */
    return 0;
}

/*
 * status_list [] or [height] -> [height, count, list: bin, state_digest: bin32,
 * mirrored_records]: the certificate status list as of the committed tip, with the other
 * inputs of the state root of the tip's block or, given a height, of that block's, when
 * the list is the same there (s_slist_at: else EC_ESTATE or EC_ENOTFOUND). The pages are
 * read between two reads of the tip's record; a block committed meanwhile makes it start
 * again (a few times, then EC_EBUSY).
 */
static int s_query_slist(sc_app_t *app, ec_ledger_t *l, const msgpack_object *args,
                         ec_writer_t *out, ec_status_t *st)
{
    (void)app;
    ec_cur_t c;
    uint64_t height = 0;
    ec_cur_open_max(&c, args, 1);
    bool at_height = c.count == 1;
    if (at_height)
        ec_cur_uint(&c, &height);
    int rc = ec_cur_finish(&c);
    if (rc) /* EC_ETOOBIG from a longer array is bad arguments too */
        return ec_status_set(st, EC_EINVAL, "status_list takes [] or [height: uint]");
    for (int attempt = 0; attempt < 8; attempt++) {
        uint8_t before[SC_SLIST_META_BYTES], after[SC_SLIST_META_BYTES];
        rc = s_slist_meta(l, before);
        if (rc == EC_ENOTFOUND)
            return ec_status_set(st, EC_ENOTFOUND, "no block yet: no status list");
        if (rc)
            return ec_status_set(st, rc, "reading the status list record: %s", ec_strerror(rc));
        uint8_t answer[SC_SLIST_META_BYTES];
        memcpy(answer, before, sizeof answer);
        if (at_height && (rc = s_slist_at(l, height, answer, st)) != 0) {
            /* A block committed since the tip's record was read may explain it. */
            if (s_slist_meta(l, after) == 0 && memcmp(before, after, sizeof after) != 0)
                continue;
            return rc;
        }
        uint64_t count = ec_be64_get(before + 16 + EC_HASH_BYTES);
        if (count > EC_SLIST_CERTS_MAX)
            return ec_status_set(st, EC_EINTERNAL, "the status list record is corrupt");
        size_t bytes = ec_slist_bytes(count);
        uint8_t *list = malloc(bytes + EC_SLIST_PAGE_BYTES);
        if (!list)
            return ec_status_set(st, EC_ENOMEM, "out of memory");
        for (uint64_t p = 0; rc == 0 && p * EC_SLIST_PAGE_BYTES < bytes; p++)
            rc = s_slist_page_read(l, false, p, list + p * EC_SLIST_PAGE_BYTES);
        if (rc == 0)
            rc = s_slist_meta(l, after);
        if (rc) {
            free(list);
            return ec_status_set(st, rc, "reading the status list: %s", ec_strerror(rc));
        }
        if (memcmp(before, after, SC_SLIST_META_BYTES) == 0) {
            ec_write_array(out, 5);
            ec_write_uint(out, at_height ? height : ec_be64_get(before));
            ec_write_uint(out, count);
            ec_write_bin(out, list, bytes);
            ec_write_bin(out, answer + 8, EC_HASH_BYTES);
            ec_write_uint(out, ec_be64_get(answer + 8 + EC_HASH_BYTES));
            free(list);
            return 0;
        }
        free(list);
    }
    return ec_status_set(st, EC_EBUSY, "blocks kept coming while the status list was read");
}

/* evidence [root: bin32, signer: bin32] -> [height: uint, tx_id: bin32, count: uint]: the
 * deposit of a batch root by a key, from committed data; EC_ENOTFOUND when that key never
 * deposited it here. */
static int s_query_evidence(ec_ledger_t *l, const msgpack_object *args, ec_writer_t *out,
                            ec_status_t *st)
{
    uint8_t root[EC_HASH_BYTES], signer[EC_PK_BYTES];
    ec_cur_t c;
    ec_cur_open(&c, args, 2);
    ec_cur_bin_fixed(&c, root, EC_HASH_BYTES);
    ec_cur_bin_fixed(&c, signer, EC_PK_BYTES);
    int rc = ec_cur_finish(&c);
    if (rc)
        return ec_status_set(st, rc, "evidence takes [root: bin32, signer: bin32]");
    sc_deposit_t d;
    rc = s_deposit_load(l, false, root, signer, &d, st);
    if (rc == EC_ENOTFOUND) {
        char hex[2 * EC_HASH_BYTES + 1];
        ec_hex(hex, root, EC_HASH_BYTES);
        return ec_status_set(st, EC_ENOTFOUND, "no deposit of batch root %s", hex);
    }
    if (rc)
        return rc;
    ec_write_array(out, 3);
    ec_write_uint(out, d.height);
    ec_write_bin(out, d.tx_id, EC_HASH_BYTES);
    ec_write_uint(out, d.count);
    return 0;
}

static int s_query(void *self, ec_ledger_t *ledger, const char *path, const msgpack_object *args,
                   ec_writer_t *out, ec_status_t *st)
{
    sc_app_t *app = self;
    int crc = ec_cstate_query(ledger, path, args, &app->facts, out, st);
    if (crc != 1)
        return crc;
    if (strcmp(path, "cert") == 0)
        return s_query_cert(app, ledger, args, out, st);
    if (strcmp(path, "certs_by_holder") == 0)
        return s_query_by_holder(app, ledger, args, out, st);
    if (strcmp(path, "inspections") == 0)
        return s_query_inspections(app, ledger, args, out, st);
    if (strcmp(path, "mirror") == 0)
        return s_query_mirror(app, ledger, args, out, st);
    if (strcmp(path, "role") == 0)
        return s_query_role(app, ledger, args, out, st);
    if (strcmp(path, "cert_history") == 0)
        return s_query_history(app, ledger, args, out, st);
    if (strcmp(path, "status_list") == 0)
        return s_query_slist(app, ledger, args, out, st);
    if (strcmp(path, "usage") == 0)
        return s_query_usage(app, ledger, args, out, st);
    if (strcmp(path, "evidence") == 0)
        return s_query_evidence(ledger, args, out, st);
    return ec_status_set(st, EC_EMETHOD, "unknown side-chain query %s", path);
}

/* ---- construction ----------------------------------------------------------------------- */

/* ---- what contracts may know of a caller (ec_cstate.h) --------------------------------- */

static int s_read(ec_ledger_t *l, bool pending, const uint8_t *key, size_t ks, uint8_t **val,
                  size_t *vs)
{
    return pending ? ec_state_get(l, key, ks, val, vs)
                   : ec_ledger_get(l, EC_CF_STATE, key, ks, val, vs);
}

typedef struct {
    ec_writer_t items;
    uint32_t count;
} s_roles_t;

/* One 'R' pk role ct_len cert_type org_code key: {org, role}. */
static int s_facts_role_fn(void *vctx, const uint8_t *key, size_t ks, const uint8_t *val, size_t vs)
{
    (void)val, (void)vs;
    s_roles_t *r = vctx;
    size_t at = 1 + EC_PK_BYTES;
    if (ks < at + 2 || ks < at + 2 + key[at + 1])
        return EC_EINTERNAL;
    const char *name = ec_role_name(key[at]);
    size_t org = at + 2 + key[at + 1];
    if (!name || r->count >= EC_ACCOUNT_ROLES_MAX)
        return 0;
    ec_write_map(&r->items, 2);
    ec_write_cstr(&r->items, "org");
    ec_write_str(&r->items, (const char *)key + org, ks - org);
    ec_write_cstr(&r->items, "role");
    ec_write_cstr(&r->items, name);
    r->count++;
    return 0;
}

static int s_facts_roles(const void *vapp, ec_ledger_t *l, bool pending, const uint8_t *pk,
                         ec_writer_t *out)
{
    (void)vapp;
    uint8_t prefix[1 + EC_PK_BYTES];
    prefix[0] = SC_K_ROLE;
    memcpy(prefix + 1, pk, EC_PK_BYTES);
    s_roles_t r = {.count = 0};
    ec_writer_init(&r.items);
    int rc = pending ? ec_ledger_scan_pending(l, EC_CF_STATE, prefix, sizeof prefix, NULL, 0,
                                              UINT32_MAX, s_facts_role_fn, &r)
                     : ec_ledger_scan(l, EC_CF_STATE, prefix, sizeof prefix, NULL, 0, 0,
                                      s_facts_role_fn, &r);
    if (rc == 0) {
        ec_write_array(out, r.count);
        ec_write_raw(out, ec_writer_data(&r.items), ec_writer_size(&r.items));
    }
    ec_writer_fini(&r.items);
    return rc;
}

static int s_facts_any_fn(void *vctx, const uint8_t *key, size_t ks, const uint8_t *val, size_t vs)
{
    (void)vctx, (void)key, (void)ks, (void)val, (void)vs;
    return 1;
}

static int s_facts_has_role(const void *vapp, ec_ledger_t *l, bool pending, const uint8_t *pk,
                            uint32_t role, const char *org)
{
    const sc_app_t *app = vapp;
    /* Roles of a certificate type are this chain's; a CA's and a supervisor's have none. */
    bool typed = role == EC_ROLE_ISSUER || role == EC_ROLE_INSPECTOR || role == EC_ROLE_DEPLOYER;
    const char *ct = typed ? app->genesis.cert_type : "";
    size_t ct_len = typed ? app->cert_type_len : 0, org_len = org ? strlen(org) : 0;
    if (org_len >= EC_ORG_CODE_MAX || role > 255)
        return 0;
    uint8_t key[SC_ROLE_KEY_MAX];
    size_t n = s_role_key(key, pk, role, ct, ct_len, org ? org : "", org_len);
    if (org_len) {
        uint8_t *val = NULL;
        size_t vs = 0;
        int rc = s_read(l, pending, key, n, &val, &vs);
        free(val);
        return rc == 0 ? 1 : rc == EC_ENOTFOUND ? 0 : rc;
    }
    return pending
               ? ec_ledger_scan_pending(l, EC_CF_STATE, key, n, NULL, 0, 1, s_facts_any_fn, NULL)
               : ec_ledger_scan(l, EC_CF_STATE, key, n, NULL, 0, 1, s_facts_any_fn, NULL);
}

static int s_facts_attested(const void *vapp, ec_ledger_t *l, bool pending, const uint8_t *pk)
{
    (void)vapp;
    uint8_t key[1 + EC_PK_BYTES], *val = NULL;
    size_t vs = 0;
    key[0] = SC_K_ATTEST;
    memcpy(key + 1, pk, EC_PK_BYTES);
    int rc = s_read(l, pending, key, sizeof key, &val, &vs);
    free(val);
    return rc == 0 ? 1 : rc == EC_ENOTFOUND ? 0 : rc;
}

ec_app_t *sc_app_new(const ec_genesis_t *genesis, ec_status_t *st)
{
    assert(genesis != NULL);
    if (genesis->kind != EC_CHAIN_SIDE) {
        ec_status_set(st, EC_ECHAIN, "genesis of %s is not a side chain", genesis->chain_id);
        return NULL;
    }
    if (genesis->cert_type[0] == '\0') {
        ec_status_set(st, EC_EINVAL, "side-chain genesis %s names no certificate type",
                      genesis->chain_id);
        return NULL;
    }
    if (genesis->main_validators.count == 0) {
        ec_status_set(st, EC_EINVAL, "side-chain genesis %s names no main validators",
                      genesis->chain_id);
        return NULL;
    }
    sc_app_t *app = calloc(1, sizeof *app);
    if (app == NULL) {
        ec_status_set(st, EC_ENOMEM, "out of memory");
        return NULL;
    }
    app->genesis = *genesis;
    app->cert_type_len = strnlen(genesis->cert_type, EC_CERT_TYPE_MAX - 1);
    app->genesis.cert_type[app->cert_type_len] = '\0';
    app->app.name = "sidechain";
    app->app.self = app;
    app->app.check_tx = s_check_tx;
    app->app.deliver_tx = s_deliver_tx;
    app->app.end_block = s_end_block;
    app->app.query = s_query;
    /* Only a chain that hosts contracts has events to announce after each block. */
    if (app->genesis.features & EC_GENESIS_F_CONTRACTS)
        app->app.announce = ec_cstate_announce;
    app->facts = (ec_cfacts_t){app, s_facts_roles, s_facts_has_role, s_facts_attested};
    return &app->app;
}

void sc_app_free(ec_app_t *app)
{
    if (app == NULL)
        return;
    free(app->self);
}
