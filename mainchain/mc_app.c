/*
 * mc_app.c - the main chain's rules (ec_app_t): accounts, organizations, roles, real-name
 * attestations, side-chain registrations, anchors of side-chain headers, the records log
 * side chains mirror, and the queries of docs/PROTOCOL.md ("Main-chain queries").
 *
 * Invariants: every deliver function checks everything before its first write, so a
 * refused transaction writes nothing (the engine's save point is a second line of defence);
 * the records log (EC_MLOG_RECORDS) only grows, and record `seq` is stored at "rec/"+seq;
 * an account's role counts equal the number of its "r/" keys; a frozen side chain never
 * accepts another anchor until an operator's SIDECHAIN_UPDATE unfreezes it; anchors are
 * checked against the "v/" validator set when there is one, else the registered genesis's.
 *
 * State layout (EC_CF_STATE; every value canonical msgpack unless said otherwise; h20 is
 * the 20-byte address hash of ec_address_hash, be64 a big-endian uint64):
 *
 *   key                                        value
 *   "a/" h20                                   account [name: str, pk: bin32, height: uint,
 *                                               attested: bool, roles_held: [ca, issuer,
 *                                               inspector, supervisor] (uint counts)]
 *   "o/" org_code                              organization [name: str, height: uint]
 *   "r/" h20 role(1) cert_type 0x00 org_code   role held [height granted: uint]
 *   "i/" identity_hash(32)                     h20 of the attested account (raw 20 bytes)
 *   "s/" chain_id                              side-chain genesis (its encoded bytes)
 *   "t/" cert_type                             chain_id of that type's side chain (raw)
 *   "l/" chain_id                              light client (ec_light_encode)
 *   "f/" chain_id                              fork evidence [main_height, header: bin,
 *                                               commit: bin] (first fork only; kept when
 *                                               SIDECHAIN_UPDATE unfreezes)
 *   "v/" chain_id                              current validator set of that side chain
 *                                               (ec_valset_encode), written by
 *                                               SIDECHAIN_UPDATE and by an ANCHOR whose
 *                                               header names a new set; absent = the
 *                                               genesis one
 *   "x/" chain_id 0x00 be64(side_height)       anchor [main_height: uint, anchor_index: uint]
 *   "rec/" be64(seq)                           encoded record (ec_record_encode)
 *
 * EC_CF_META (not in the state digest): "mc/rs/" be64(~height) -> [records_count: uint,
 * records_root: bin32, state_digest: bin32], written by end_block only when it differs
 * from the latest earlier snapshot; the `records` query seeks the first key at or after
 * be64(~h), which is the latest snapshot at or below h.
 *
 * Chain ids, certificate types and organization codes never contain NUL (the decoder
 * refuses it), so the 0x00 separators above are unambiguous. Rules: docs/MAINCHAIN.md.
 */
#include "mc_app.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ec_body.h"
#include "ec_chain.h"
#include "ec_cstate.h"
#include "ec_log.h"
#include "ec_mlog.h"
#include "mc_gov.h"
#include "mc_priv.h"

#define S_KEY_MAX MC_KEY_MAX
#define S_HEADER_BYTES_MAX 1024 /* an encoded header is about 330 bytes               */
#define S_COMMIT_BYTES_MAX 4096 /* 32 signatures of ~70 bytes each                    */
#define S_RECORDS_QUERY_MAX EC_ANCHOR_RECORDS_MAX
#define S_SNAP_PREFIX "mc/rs/"
#define S_SNAP_PREFIX_LEN 6

/* Decoded bodies of ANCHOR and SIDECHAIN_UPDATE (the others are ec_body.h's). */
typedef struct {
    char chain_id[EC_CHAIN_ID_MAX];
    ec_valset_t validators; /* the new set, 1..EC_VALIDATORS_MAX                  */
    bool unfreeze;
} s_side_update_t;

typedef struct {
    char chain_id[EC_CHAIN_ID_MAX];
    ec_header_t header;
    ec_commit_t commit;
    const uint8_t *header_bytes; /* borrowed from the transaction                      */
    size_t header_size;
    const uint8_t *commit_bytes;
    size_t commit_size;
    ec_hash32_t prev_path[EC_MERKLE_PROOF_MAX];
    size_t prev_len;
    ec_hash32_t consistency[EC_MERKLE_PROOF_MAX];
    size_t consistency_len;
    bool has_next; /* the header names a new set, and this is it             */
    ec_valset_t next_valset;
    bool has_claimed; /* a fork claim: the block the relay holds at the height  */
    uint8_t claimed[EC_HASH_BYTES];
} s_anchor_t;

typedef struct {
    ec_app_t app;         /* first member: mc_app_free casts back               */
    ec_genesis_t genesis; /* this chain's genesis (a copy)                      */
    uint8_t genesis_hash[EC_HASH_BYTES];
    ec_writer_t w;     /* commit-thread scratch for values                   */
    ec_decoder_t dec;  /* commit-thread decoder for stored values            */
    s_anchor_t anchor; /* commit-thread scratch (too big to want on a stack) */
    ec_sidechain_body_t side;
    s_side_update_t update; /* commit-thread scratch                             */
    ec_valset_t valset;     /* commit-thread scratch: a chain's current set      */
    mc_gov_t gov;           /* operator governance (commit thread, queries)      */
    bool gov_running;       /* a proposal's action is running: no operator check */
} mc_app_t;

/* ---- small helpers ---------------------------------------------------------------------- */

/* Key "<kind>/" followed by `size` bytes. */
static size_t s_key(uint8_t out[S_KEY_MAX], char kind, const void *data, size_t size)
{
    assert(size + 2 <= S_KEY_MAX);
    out[0] = (uint8_t)kind;
    out[1] = '/';
    memcpy(out + 2, data, size);
    return size + 2;
}

static size_t s_key_str(uint8_t out[S_KEY_MAX], char kind, const char *s)
{
    return s_key(out, kind, s, strlen(s));
}

/* "r/" h20 role(1) cert_type 0x00 org_code */
size_t mc_role_key(uint8_t out[MC_KEY_MAX], const uint8_t hash[EC_ADDR_HASH_BYTES], uint64_t role,
                   const char *cert_type, const char *org_code)
{
    size_t n = s_key(out, 'r', hash, EC_ADDR_HASH_BYTES);
    size_t ct = strlen(cert_type), oc = strlen(org_code);
    assert(role <= EC_ROLE_MAX && n + 2 + ct + oc <= MC_KEY_MAX);
    out[n++] = (uint8_t)role;
    memcpy(out + n, cert_type, ct);
    n += ct;
    out[n++] = 0;
    memcpy(out + n, org_code, oc);
    return n + oc;
}

/* "x/" chain_id 0x00, then be64(side_height) when with_height. */
static size_t s_anchor_key(uint8_t out[S_KEY_MAX], const char *chain_id, bool with_height,
                           uint64_t side_height)
{
    size_t n = s_key_str(out, 'x', chain_id);
    out[n++] = 0;
    if (with_height) {
        ec_be64_put(out + n, side_height);
        n += 8;
    }
    return n;
}

static size_t s_record_key(uint8_t out[12], uint64_t seq)
{
    memcpy(out, "rec/", 4);
    ec_be64_put(out + 4, seq);
    return 12;
}

static size_t s_snap_key(uint8_t out[S_SNAP_PREFIX_LEN + 8], uint64_t height)
{
    memcpy(out, S_SNAP_PREFIX, S_SNAP_PREFIX_LEN);
    ec_be64_put(out + S_SNAP_PREFIX_LEN, ~height);
    return S_SNAP_PREFIX_LEN + 8;
}

int mc_state_get(ec_ledger_t *l, bool pending, const void *key, size_t key_size, uint8_t **val,
                 size_t *val_size)
{
    if (pending)
        return ec_ledger_get_pending(l, EC_CF_STATE, key, key_size, val, val_size);
    return ec_ledger_get(l, EC_CF_STATE, key, key_size, val, val_size);
}

/* Returns 1 when the key exists, 0 when not, or a negative code (with st set). */
static int s_exists(ec_ledger_t *l, bool pending, const uint8_t *key, size_t key_size,
                    ec_status_t *st)
{
    uint8_t *val = NULL;
    size_t size = 0;
    int rc = mc_state_get(l, pending, key, key_size, &val, &size);
    free(val);
    if (rc == 0)
        return 1;
    if (rc == EC_ENOTFOUND)
        return 0;
    return ec_status_set(st, rc, "storage error: %s", ec_strerror(rc));
}

int mc_io(ec_status_t *st, int rc)
{
    return ec_status_set(st, rc, "storage error: %s", ec_strerror(rc));
}

int mc_corrupt(ec_status_t *st, const char *what)
{
    ec_error("mainchain: stored %s does not decode", what);
    return ec_status_set(st, EC_EINTERNAL, "stored %s is corrupt", what);
}

/* "issuer (degree, ORG-1)" for messages. */
static const char *s_role_desc(char *buf, size_t cap, uint64_t role, const char *cert_type,
                               const char *org_code)
{
    const char *name = ec_role_name((uint32_t)role);
    if (!name)
        name = "unknown role";
    if (*cert_type && *org_code)
        snprintf(buf, cap, "%s (%s, %s)", name, cert_type, org_code);
    else if (*cert_type || *org_code)
        snprintf(buf, cap, "%s (%s)", name, *cert_type ? cert_type : org_code);
    else
        snprintf(buf, cap, "%s", name);
    return buf;
}

/* ---- stored values ---------------------------------------------------------------------- */

/* [name, pk, height, attested, roles], and the signing key after it once it is not pk. */
static void s_account_encode(ec_writer_t *w, const mc_account_t *a)
{
    bool keyed = memcmp(a->key, a->pk, EC_PK_BYTES) != 0;
    ec_write_array(w, keyed ? 6 : 5);
    ec_write_cstr(w, a->name);
    ec_write_bin(w, a->pk, EC_PK_BYTES);
    ec_write_uint(w, a->height);
    ec_write_bool(w, a->attested);
    ec_write_array(w, EC_ROLE_MAX);
    for (int r = 1; r <= EC_ROLE_MAX; r++)
        ec_write_uint(w, a->roles[r]);
    if (keyed)
        ec_write_bin(w, a->key, EC_PK_BYTES);
}

static int s_account_decode(ec_decoder_t *d, mc_account_t *a, const uint8_t *data, size_t size)
{
    const msgpack_object *root = NULL;
    if (ec_decode(d, data, size, &root) != 0)
        return EC_EINTERNAL;
    ec_cur_t c, sub;
    ec_cur_open_max(&c, root, 6);
    bool keyed = c.count == 6;
    if (!c.err && c.count < 5)
        ec_cur_fail(&c, EC_EINVAL);
    ec_cur_str_copy(&c, a->name, sizeof a->name);
    ec_cur_bin_fixed(&c, a->pk, EC_PK_BYTES);
    ec_cur_uint(&c, &a->height);
    ec_cur_bool(&c, &a->attested);
    /* Accounts written before the deployer role (5) hold four counts. */
    ec_cur_enter_max(&c, &sub, EC_ROLE_MAX);
    if (!sub.err && sub.count < EC_ROLE_DEPLOYER - 1)
        ec_cur_fail(&sub, EC_EINVAL);
    memset(a->roles, 0, sizeof a->roles);
    for (uint32_t r = 1; !sub.err && r <= sub.count; r++)
        ec_cur_uint(&sub, &a->roles[r]);
    ec_cur_fold(&c, &sub);
    if (keyed)
        ec_cur_bin_fixed(&c, a->key, EC_PK_BYTES);
    else
        memcpy(a->key, a->pk, EC_PK_BYTES);
    return ec_cur_finish(&c) == 0 ? 0 : EC_EINTERNAL;
}

int mc_account_load(ec_ledger_t *l, bool pending, ec_decoder_t *d,
                    const uint8_t hash[EC_ADDR_HASH_BYTES], mc_account_t *a, ec_status_t *st)
{
    uint8_t key[S_KEY_MAX], *val = NULL;
    size_t size = 0;
    size_t ks = s_key(key, 'a', hash, EC_ADDR_HASH_BYTES);
    int rc = mc_state_get(l, pending, key, ks, &val, &size);
    if (rc == EC_ENOTFOUND) {
        char addr[EC_ADDR_MAX];
        ec_address_from_hash(addr, hash);
        return ec_status_set(st, EC_ENOTFOUND, "account %s is not registered", addr);
    }
    if (rc != 0)
        return mc_io(st, rc);
    rc = s_account_decode(d, a, val, size);
    free(val);
    return rc == 0 ? 0 : mc_corrupt(st, "account");
}

void mc_account_store(ec_writer_t *w, ec_ledger_t *l, const uint8_t hash[EC_ADDR_HASH_BYTES],
                      const mc_account_t *a)
{
    uint8_t key[S_KEY_MAX];
    size_t ks = s_key(key, 'a', hash, EC_ADDR_HASH_BYTES);
    ec_writer_reset(w);
    s_account_encode(w, a);
    ec_state_put(l, key, ks, ec_writer_data(w), ec_writer_size(w));
}

int mc_record_append(ec_writer_t *w, ec_ledger_t *l, ec_record_t *r, ec_status_t *st)
{
    uint64_t seq = 0;
    int rc = ec_mlog_size(l, EC_MLOG_RECORDS, &seq);
    if (rc != 0)
        return mc_io(st, rc);
    r->seq = seq;
    ec_writer_reset(w);
    ec_record_encode(w, r);
    const uint8_t *data = ec_writer_data(w);
    size_t size = ec_writer_size(w);
    uint8_t key[12], leaf[EC_HASH_BYTES];
    ec_state_put(l, key, s_record_key(key, seq), data, size);
    ec_record_leaf(leaf, data, size);
    rc = ec_mlog_append(l, EC_MLOG_RECORDS, leaf);
    return rc == 0 ? 0 : mc_io(st, rc);
}

/* ---- body parsers (stateless; shared by check_tx and deliver_tx) ------------------------ */

/*
 * Reads a SIDECHAIN body (ec_sidechain_body_read: a side-chain genesis that decodes) and
 * checks that it names this main chain: its id, and the hash of this genesis.
 */
static int s_parse_sidechain(const mc_app_t *self, const ec_tx_t *tx, ec_sidechain_body_t *b,
                             ec_status_t *st)
{
    int rc = ec_sidechain_body_read(b, tx->body, st);
    if (rc != 0)
        return rc;
    const ec_genesis_t *g = &b->genesis;
    if (strcmp(g->chain_id, self->genesis.chain_id) == 0)
        return ec_status_set(st, EC_ECHAIN, "side chain id %s is the main chain's id", g->chain_id);
    if (strcmp(g->main_chain_id, self->genesis.chain_id) != 0)
        return ec_status_set(st, EC_ECHAIN, "side chain %s trusts main chain %s, not %s",
                             g->chain_id, g->main_chain_id, self->genesis.chain_id);
    if (memcmp(g->main_genesis_hash, self->genesis_hash, EC_HASH_BYTES) != 0)
        return ec_status_set(st, EC_ECHAIN, "side chain %s names another genesis of main chain %s",
                             g->chain_id, self->genesis.chain_id);
    return 0;
}

static int s_parse_anchor(const ec_tx_t *tx, s_anchor_t *b, ec_status_t *st)
{
    ec_cur_t c;
    ec_cur_open(&c, tx->body, 7);
    ec_cur_str_copy(&c, b->chain_id, sizeof b->chain_id);
    ec_cur_bin(&c, &b->header_bytes, &b->header_size, S_HEADER_BYTES_MAX);
    ec_cur_bin(&c, &b->commit_bytes, &b->commit_size, S_COMMIT_BYTES_MAX);
    ec_cur_path(&c, b->prev_path, &b->prev_len);
    ec_cur_path(&c, b->consistency, &b->consistency_len);
    b->has_next = !ec_cur_peek_nil(&c);
    if (b->has_next)
        ec_valset_read(&c, &b->next_valset);
    else
        ec_cur_nil(&c);
    b->has_claimed = !ec_cur_peek_nil(&c);
    if (b->has_claimed)
        ec_cur_bin_fixed(&c, b->claimed, EC_HASH_BYTES);
    else
        ec_cur_nil(&c);
    int rc = ec_cur_finish(&c);
    if (rc != 0)
        return ec_status_set(st, rc,
                             "ANCHOR body must be [chain_id: str, header: bin, commit: bin, "
                             "prev_path: [bin32...], consistency: [bin32...], next_valset: "
                             "[[pk: bin32, power]...] | nil, claimed: bin32 | nil]");
    if (b->has_next && b->next_valset.count == 0)
        return ec_status_set(st, EC_EINVAL, "ANCHOR next_valset is empty");
    if (!ec_chain_id_valid(b->chain_id))
        return ec_status_set(st, EC_EINVAL, "ANCHOR chain id must be 1..%d of a-z 0-9 -",
                             EC_CHAIN_ID_MAX - 1);
    rc = ec_header_decode(&b->header, b->header_bytes, b->header_size);
    if (rc != 0)
        return ec_status_set(st, rc, "ANCHOR header does not decode (%s)", ec_strerror(rc));
    rc = ec_commit_decode(&b->commit, b->commit_bytes, b->commit_size);
    if (rc != 0)
        return ec_status_set(st, rc, "ANCHOR commit does not decode (%s)", ec_strerror(rc));
    if (strcmp(b->header.chain_id, b->chain_id) != 0)
        return ec_status_set(st, EC_ECHAIN, "ANCHOR header is for chain %s, not %s",
                             b->header.chain_id, b->chain_id);
    if (b->header.height == 0 || b->commit.height != b->header.height)
        return ec_status_set(
            st, EC_EINVAL, "ANCHOR commit height %" PRIu64 " does not match header height %" PRIu64,
            b->commit.height, b->header.height);
    return 0;
}

static int s_parse_side_update(const ec_tx_t *tx, s_side_update_t *b, ec_status_t *st)
{
    ec_cur_t c;
    ec_cur_open(&c, tx->body, 3);
    ec_cur_str_copy(&c, b->chain_id, sizeof b->chain_id);
    ec_valset_read(&c, &b->validators);
    ec_cur_bool(&c, &b->unfreeze);
    int rc = ec_cur_finish(&c);
    if (rc != 0)
        return ec_status_set(st, rc,
                             "SIDECHAIN_UPDATE body must be [chain_id: str, validators: "
                             "[[pk: bin32, power: 1..2^48]...] (distinct keys, at most %d), "
                             "unfreeze: bool]",
                             EC_VALIDATORS_MAX);
    if (!ec_chain_id_valid(b->chain_id))
        return ec_status_set(st, EC_EINVAL, "SIDECHAIN_UPDATE chain id must be 1..%d of a-z 0-9 -",
                             EC_CHAIN_ID_MAX - 1);
    if (b->validators.count == 0)
        return ec_status_set(st, EC_EINVAL, "SIDECHAIN_UPDATE needs at least one validator");
    return 0;
}

/* A validator change: [pk: bin32, power: uint], after the chain id for SIDECHAIN_VALIDATOR. */
typedef struct {
    char chain_id[EC_CHAIN_ID_MAX]; /* SIDECHAIN_VALIDATOR; "" for VALIDATOR_UPDATE        */
    ec_validator_t v;
} s_validator_body_t;

static int s_parse_validator(const ec_tx_t *tx, s_validator_body_t *b, ec_status_t *st)
{
    bool side = tx->type == EC_MTX_SIDECHAIN_VALIDATOR;
    ec_cur_t c;
    memset(b, 0, sizeof *b);
    ec_cur_open(&c, tx->body, side ? 3 : 2);
    if (side)
        ec_cur_str_copy(&c, b->chain_id, sizeof b->chain_id);
    ec_cur_bin_fixed(&c, b->v.pk, EC_PK_BYTES);
    ec_cur_uint_max(&c, &b->v.power, EC_VALIDATOR_POWER_MAX);
    int rc = ec_cur_finish(&c);
    if (rc != 0)
        return ec_status_set(st, rc, "%s body must be [%spk: bin32, power: 0..%llu]",
                             side ? "SIDECHAIN_VALIDATOR" : "VALIDATOR_UPDATE",
                             side ? "chain_id: str, " : "",
                             (unsigned long long)EC_VALIDATOR_POWER_MAX);
    if (side && !ec_chain_id_valid(b->chain_id))
        return ec_status_set(st, EC_EINVAL,
                             "SIDECHAIN_VALIDATOR chain id must be 1..%d of "
                             "a-z 0-9 -",
                             EC_CHAIN_ID_MAX - 1);
    return 0;
}

/* Checks what every main-chain transaction shares: the chain id and no payload. */
static int s_check_envelope(const mc_app_t *self, const ec_tx_t *tx, const uint8_t *payload,
                            size_t payload_size, ec_status_t *st)
{
    if (strcmp(tx->chain_id, self->genesis.chain_id) != 0)
        return ec_status_set(st, EC_ECHAIN, "transaction is for chain %s, not %s", tx->chain_id,
                             self->genesis.chain_id);
    if (tx->has_payload || payload != NULL || payload_size != 0)
        return ec_status_set(st, EC_EINVAL, "main-chain transactions carry no payload");
    return 0;
}

/* ---- check_tx ------------------------------------------------------------------------- */

static int s_check_tx(void *vself, const ec_tx_t *tx, const uint8_t *payload, size_t payload_size,
                      ec_status_t *st)
{
    const mc_app_t *self = vself;
    int rc = s_check_envelope(self, tx, payload, payload_size, st);
    if (rc != 0)
        return rc;
    switch (tx->type) {
        case EC_MTX_REGISTER: {
            ec_register_body_t b;
            return ec_register_body_read(&b, tx->body, st);
        }
        case EC_MTX_ORG: {
            ec_org_body_t b;
            return ec_org_body_read(&b, tx->body, st);
        }
        case EC_MTX_ROLE_GRANT:
        case EC_MTX_ROLE_REVOKE: {
            ec_role_body_t b;
            return ec_role_body_read(&b, tx->body, st);
        }
        case EC_MTX_ATTEST: {
            ec_attest_body_t b;
            return ec_attest_body_read(&b, tx->body, st);
        }
        case EC_MTX_SIDECHAIN: {
            ec_sidechain_body_t *b = malloc(sizeof *b); /* ~3 KB, rare: off the stack */
            if (!b)
                return ec_status_set(st, EC_ENOMEM, "out of memory");
            rc = s_parse_sidechain(self, tx, b, st);
            free(b);
            return rc;
        }
        case EC_MTX_SIDECHAIN_UPDATE: {
            s_side_update_t *b = malloc(sizeof *b); /* ~1.3 KB, rare: off the stack */
            if (!b)
                return ec_status_set(st, EC_ENOMEM, "out of memory");
            rc = s_parse_side_update(tx, b, st);
            free(b);
            return rc;
        }
        case EC_MTX_VALIDATOR_UPDATE:
        case EC_MTX_SIDECHAIN_VALIDATOR: {
            s_validator_body_t b;
            return s_parse_validator(tx, &b, st);
        }
        case EC_MTX_GOV_PROPOSE:
        case EC_MTX_GOV_APPROVE:
        case EC_MTX_OPERATORS:
            return mc_gov_check_tx(&self->gov, tx, st);
        case EC_MTX_KEY_ROTATE:
        case EC_MTX_KEY_REVOKE:
        case EC_MTX_KEY_RECOVER:
        case EC_MTX_KEY_VETO:
        case EC_MTX_KEY_RECOVER_FINISH:
            return mc_keys_check_tx(tx, st);
        case EC_MTX_CONTRACT_DEPLOY:
        case EC_MTX_CONTRACT_UPGRADE:
        case EC_MTX_CONTRACT_CALL:
        case EC_MTX_CONTRACT_DECIDE:
            return mc_contract_check_tx(&self->genesis, tx, st);
        case EC_MTX_ANCHOR: {
            /* ~7 KB: off the worker's stack. Anchors are about one a second per chain. */
            s_anchor_t *b = malloc(sizeof *b);
            if (!b)
                return ec_status_set(st, EC_ENOMEM, "out of memory");
            rc = s_parse_anchor(tx, b, st);
            free(b);
            return rc;
        }
        default:
            return ec_status_set(st, EC_EINVAL, "unknown main-chain transaction type %" PRIu64,
                                 tx->type);
    }
}

/* ---- deliver_tx: one function per type ---------------------------------------------------- */

/* REGISTER: one get and one put, the chain's hottest path. */
static int s_deliver_register(mc_app_t *self, ec_block_ctx_t *ctx, const ec_tx_t *tx,
                              ec_status_t *st)
{
    ec_register_body_t b;
    int rc = ec_register_body_read(&b, tx->body, st);
    if (rc != 0)
        return rc;
    uint8_t hash[EC_ADDR_HASH_BYTES], key[S_KEY_MAX];
    ec_address_hash(hash, tx->sender);
    size_t ks = s_key(key, 'a', hash, sizeof hash);
    rc = s_exists(ctx->ledger, true, key, ks, st);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        char addr[EC_ADDR_MAX];
        ec_address_from_hash(addr, hash);
        return ec_status_set(st, EC_EEXIST, "account %s is already registered", addr);
    }
    /* A key another account rotated to (or away from) never starts an account. */
    rc = mc_key_taken(ctx->ledger, tx->sender, st);
    if (rc != 0)
        return rc < 0 ? rc : EC_EEXIST;
    mc_account_t a;
    memcpy(a.name, b.name, sizeof a.name);
    memcpy(a.pk, tx->sender, EC_PK_BYTES);
    memcpy(a.key, tx->sender, EC_PK_BYTES);
    a.height = ctx->height;
    a.attested = false;
    memset(a.roles, 0, sizeof a.roles);
    mc_account_store(&self->w, ctx->ledger, hash, &a);
    return 0;
}

static int s_not_operator(const ec_tx_t *tx, ec_status_t *st)
{
    char addr[EC_ADDR_MAX];
    ec_address_from_pk(addr, tx->sender);
    return ec_status_set(st, EC_EPERM, "sender %s is not an operator", addr);
}

/*
 * Lets an operator action through: when a proposal that reached its quorum runs it, or
 * when its sender is an operator in force and the quorum is 1. 0, EC_EPERM (st says which
 * way to go), or a storage error.
 */
static int s_operator_gate(mc_app_t *self, ec_block_ctx_t *ctx, const ec_tx_t *tx, ec_status_t *st)
{
    if (self->gov_running)
        return 0;
    mc_operators_t ops;
    int rc = mc_operators_load(ctx->ledger, true, &self->genesis, &ops, st);
    if (rc != 0)
        return rc;
    if (!mc_operators_has(&ops, tx->sender))
        return s_not_operator(tx, st);
    if (ops.quorum > 1)
        return ec_status_set(st, EC_EPERM,
                             "%s needs %u of the %u operators: propose it (GOV_PROPOSE, "
                             "'ecert gov propose') for the others to approve",
                             ec_tx_type_name(EC_CHAIN_MAIN, tx->type), ops.quorum, ops.count);
    return 0;
}

static int s_deliver_org(mc_app_t *self, ec_block_ctx_t *ctx, const ec_tx_t *tx, ec_status_t *st)
{
    ec_org_body_t b;
    int rc = ec_org_body_read(&b, tx->body, st);
    if (rc != 0)
        return rc;
    if ((rc = s_operator_gate(self, ctx, tx, st)) != 0)
        return rc;
    uint8_t key[S_KEY_MAX];
    size_t ks = s_key_str(key, 'o', b.org_code);
    rc = s_exists(ctx->ledger, true, key, ks, st);
    if (rc < 0)
        return rc;
    if (rc == 1)
        return ec_status_set(st, EC_EEXIST, "organization %s is already registered", b.org_code);
    ec_writer_reset(&self->w);
    ec_write_array(&self->w, 3);
    ec_write_cstr(&self->w, b.name);
    ec_write_uint(&self->w, ctx->height);
    ec_write_uint(&self->w, b.billing);
    ec_state_put(ctx->ledger, key, ks, ec_writer_data(&self->w), ec_writer_size(&self->w));
    return 0;
}

static int s_deliver_role(mc_app_t *self, ec_block_ctx_t *ctx, const ec_tx_t *tx, ec_status_t *st)
{
    ec_ledger_t *l = ctx->ledger;
    bool grant = tx->type == EC_MTX_ROLE_GRANT;
    ec_role_body_t b;
    int rc = ec_role_body_read(&b, tx->body, st);
    if (rc != 0)
        return rc;
    if ((rc = s_operator_gate(self, ctx, tx, st)) != 0)
        return rc;
    mc_account_t a;
    rc = mc_account_load(l, true, &self->dec, b.hash, &a, st);
    if (rc != 0)
        return rc;
    uint8_t key[S_KEY_MAX];
    if (b.org_code[0]) {
        size_t ks = s_key_str(key, 'o', b.org_code);
        rc = s_exists(l, true, key, ks, st);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return ec_status_set(st, EC_ENOTFOUND, "organization %s is not registered", b.org_code);
    }
    size_t ks = mc_role_key(key, b.hash, b.role, b.cert_type, b.org_code);
    int held = s_exists(l, true, key, ks, st);
    if (held < 0)
        return held;
    char addr[EC_ADDR_MAX], desc[128];
    ec_address_from_hash(addr, b.hash);
    s_role_desc(desc, sizeof desc, b.role, b.cert_type, b.org_code);
    if (grant && held)
        return ec_status_set(st, EC_EEXIST, "%s already holds the role %s", addr, desc);
    if (!grant && !held)
        return ec_status_set(st, EC_ENOTFOUND, "%s does not hold the role %s", addr, desc);
    uint64_t total = 0;
    for (int r = 1; r <= EC_ROLE_MAX; r++)
        total += a.roles[r];
    if (grant && total >= MC_ACCOUNT_ROLES_MAX)
        return ec_status_set(st, EC_ETOOBIG, "%s already holds the most roles allowed (%d)", addr,
                             MC_ACCOUNT_ROLES_MAX);
    assert(grant || a.roles[b.role] > 0);

    /* Checks done: write. */
    if (grant) {
        ec_writer_reset(&self->w);
        ec_write_array(&self->w, 1);
        ec_write_uint(&self->w, ctx->height);
        ec_state_put(l, key, ks, ec_writer_data(&self->w), ec_writer_size(&self->w));
        a.roles[b.role]++;
    } else {
        ec_state_del(l, key, ks);
        a.roles[b.role]--;
    }
    mc_account_store(&self->w, l, b.hash, &a);
    ec_record_t r;
    memset(&r, 0, sizeof r);
    r.kind = grant ? EC_REC_ROLE_GRANT : EC_REC_ROLE_REVOKE;
    memcpy(r.pk, a.pk, EC_PK_BYTES);
    r.role = b.role;
    memcpy(r.cert_type, b.cert_type, sizeof r.cert_type);
    memcpy(r.org_code, b.org_code, sizeof r.org_code);
    return mc_record_append(&self->w, l, &r, st);
}

static int s_deliver_attest(mc_app_t *self, ec_block_ctx_t *ctx, const ec_tx_t *tx, ec_status_t *st)
{
    ec_ledger_t *l = ctx->ledger;
    ec_attest_body_t b;
    int rc = ec_attest_body_read(&b, tx->body, st);
    if (rc != 0)
        return rc;
    mc_account_t a;
    uint8_t sender_hash[EC_ADDR_HASH_BYTES];
    rc = mc_signer(l, &self->dec, tx->sender, sender_hash, &a, st);
    if (rc != 0 && rc != EC_ENOTFOUND)
        return rc;
    if (rc == EC_ENOTFOUND)
        ec_address_hash(sender_hash, tx->sender);
    if (rc == EC_ENOTFOUND || a.roles[EC_ROLE_CA] == 0) {
        char addr[EC_ADDR_MAX];
        ec_address_from_hash(addr, sender_hash);
        return ec_status_set(st, EC_EPERM, "sender %s is not a certification authority", addr);
    }
    rc = mc_account_load(l, true, &self->dec, b.hash, &a, st);
    if (rc != 0)
        return rc;
    char addr[EC_ADDR_MAX];
    ec_address_from_hash(addr, b.hash);
    if (a.attested)
        return ec_status_set(st, EC_EEXIST, "account %s is already attested", addr);
    uint8_t key[S_KEY_MAX], *val = NULL;
    size_t size = 0, ks = s_key(key, 'i', b.identity_hash, EC_HASH_BYTES);
    rc = ec_state_get(l, key, ks, &val, &size);
    if (rc == 0) {
        char other[EC_ADDR_MAX] = "another account";
        if (size == EC_ADDR_HASH_BYTES)
            ec_address_from_hash(other, val);
        free(val);
        return ec_status_set(st, EC_EEXIST, "this identity is already attested for %s", other);
    }
    if (rc != EC_ENOTFOUND)
        return mc_io(st, rc);

    ec_state_put(l, key, ks, b.hash, EC_ADDR_HASH_BYTES);
    a.attested = true;
    mc_account_store(&self->w, l, b.hash, &a);
    ec_record_t r;
    memset(&r, 0, sizeof r);
    r.kind = EC_REC_ATTEST;
    memcpy(r.pk, a.pk, EC_PK_BYTES);
    memcpy(r.identity_hash, b.identity_hash, EC_HASH_BYTES);
    return mc_record_append(&self->w, l, &r, st);
}

/* Writes a side chain's light client under "l/" chain_id (pending state). */
static void s_light_store(mc_app_t *self, ec_ledger_t *l, const char *chain_id,
                          const ec_light_t *lc)
{
    uint8_t key[S_KEY_MAX];
    size_t ks = s_key_str(key, 'l', chain_id);
    ec_writer_reset(&self->w);
    ec_light_encode(&self->w, lc);
    ec_state_put(l, key, ks, ec_writer_data(&self->w), ec_writer_size(&self->w));
}

static int s_deliver_sidechain(mc_app_t *self, ec_block_ctx_t *ctx, const ec_tx_t *tx,
                               ec_status_t *st)
{
    ec_ledger_t *l = ctx->ledger;
    ec_sidechain_body_t *b = &self->side;
    int rc = s_parse_sidechain(self, tx, b, st);
    if (rc != 0)
        return rc;
    if ((rc = s_operator_gate(self, ctx, tx, st)) != 0)
        return rc;
    const ec_genesis_t *g = &b->genesis;
    uint8_t skey[S_KEY_MAX], tkey[S_KEY_MAX], *val = NULL;
    size_t sks = s_key_str(skey, 's', g->chain_id);
    size_t tks = s_key_str(tkey, 't', g->cert_type);
    rc = s_exists(l, true, skey, sks, st);
    if (rc < 0)
        return rc;
    if (rc == 1)
        return ec_status_set(st, EC_EEXIST, "side chain %s is already registered", g->chain_id);
    size_t size = 0;
    rc = ec_state_get(l, tkey, tks, &val, &size);
    if (rc == 0) {
        ec_status_set(st, EC_EEXIST, "certificate type %s already has side chain %.*s",
                      g->cert_type, (int)(size < 64 ? size : 64), (const char *)val);
        free(val);
        return EC_EEXIST;
    }
    if (rc != EC_ENOTFOUND)
        return mc_io(st, rc);

    uint8_t side_hash[EC_HASH_BYTES];
    ec_light_t lc;
    ec_genesis_hash(side_hash, g);
    ec_light_init(&lc, side_hash);
    ec_state_put(l, skey, sks, b->bytes, b->size);
    ec_state_put(l, tkey, tks, g->chain_id, strlen(g->chain_id));
    s_light_store(self, l, g->chain_id, &lc);
    return 0;
}

/*
 * Reads a registered side chain's value under "<kind>/" chain_id (malloc'd; free it).
 * Returns 0, EC_ENOTFOUND (st: the chain is not registered) or a storage error.
 */
static int s_side_get(ec_ledger_t *l, bool pending, char kind, const char *chain_id, uint8_t **val,
                      size_t *size, ec_status_t *st)
{
    uint8_t key[S_KEY_MAX];
    size_t ks = s_key_str(key, kind, chain_id);
    int rc = mc_state_get(l, pending, key, ks, val, size);
    if (rc == EC_ENOTFOUND)
        return ec_status_set(st, EC_ENOTFOUND, "side chain %s is not registered", chain_id);
    return rc == 0 ? 0 : mc_io(st, rc);
}

/* Loads and decodes a side chain's light client. Returns 0, EC_ENOTFOUND or an error. */
static int s_light_load(ec_ledger_t *l, bool pending, const char *chain_id, ec_light_t *lc,
                        ec_status_t *st)
{
    uint8_t *val = NULL;
    size_t size = 0;
    int rc = s_side_get(l, pending, 'l', chain_id, &val, &size, st);
    if (rc != 0)
        return rc;
    rc = ec_light_decode(lc, val, size);
    free(val);
    return rc == 0 ? 0 : mc_corrupt(st, "light client");
}

/* Loads and decodes a registered side chain's genesis into g. */
static int s_side_genesis_load(ec_ledger_t *l, bool pending, const char *chain_id, ec_genesis_t *g,
                               ec_status_t *st)
{
    uint8_t *val = NULL;
    size_t size = 0;
    int rc = s_side_get(l, pending, 's', chain_id, &val, &size, st);
    if (rc != 0)
        return rc;
    rc = ec_genesis_decode(g, val, size);
    free(val);
    return rc == 0 ? 0 : mc_corrupt(st, "side-chain genesis");
}

static void s_valset_read_fn(ec_cur_t *c, void *out)
{
    ec_valset_read(c, out);
}

/*
 * Loads the validator set that checks a registered side chain's anchors: the one the last
 * SIDECHAIN_UPDATE stored under "v/" chain_id, or else the registered genesis's. Returns 0,
 * EC_ENOTFOUND (not registered), a storage error or EC_EINTERNAL (corrupt).
 */
static int s_side_valset_load(ec_ledger_t *l, bool pending, const char *chain_id, ec_valset_t *vs,
                              ec_genesis_t *scratch, ec_status_t *st)
{
    uint8_t *val = NULL;
    size_t size = 0;
    uint8_t key[S_KEY_MAX];
    size_t ks = s_key_str(key, 'v', chain_id);
    int rc = mc_state_get(l, pending, key, ks, &val, &size);
    if (rc == 0) {
        rc = ec_decode_read(vs, sizeof *vs, val, size, s_valset_read_fn);
        free(val);
        if (rc != 0 || vs->count == 0)
            return mc_corrupt(st, "side-chain validator set");
        return 0;
    }
    if (rc != EC_ENOTFOUND)
        return mc_io(st, rc);
    rc = s_side_genesis_load(l, pending, chain_id, scratch, st);
    if (rc != 0)
        return rc;
    *vs = scratch->validators;
    return 0;
}

/*
 * The fork branch of ANCHOR: keep the evidence, freeze the chain, and succeed. Only the
 * first fork's evidence is kept: once governance unfreezes the chain (SIDECHAIN_UPDATE) a
 * later fork freezes it again but leaves "f/" as it was, so the record of what happened
 * first cannot be replaced by whoever forks next. 0, or a storage error (st set).
 */
static int s_anchor_freeze(mc_app_t *self, ec_block_ctx_t *ctx, const s_anchor_t *b, ec_light_t *lc,
                           ec_status_t *st)
{
    uint8_t key[S_KEY_MAX];
    size_t ks = s_key_str(key, 'f', b->chain_id);
    int had = s_exists(ctx->ledger, true, key, ks, st);
    if (had < 0)
        return had;
    lc->frozen = true;
    ec_warn("mainchain: side chain %s is FROZEN: a valid commit for height %" PRIu64
            " does not extend the anchored history at height %" PRIu64 " (main height %" PRIu64 ")",
            b->chain_id, b->header.height, lc->height, ctx->height);
    if (had)
        return 0;
    ec_writer_reset(&self->w);
    ec_write_array(&self->w, 3);
    ec_write_uint(&self->w, ctx->height);
    ec_write_bin(&self->w, b->header_bytes, b->header_size);
    ec_write_bin(&self->w, b->commit_bytes, b->commit_size);
    ec_state_put(ctx->ledger, key, ks, ec_writer_data(&self->w), ec_writer_size(&self->w));
    return 0;
}

/*
 * The side chain's set after an anchored header: when the header names a new one (its
 * next_valset_hash differs from its valset_hash) the anchor must carry exactly that set,
 * which replaces "v/" chain_id; otherwise it must carry none. Checks, then writes.
 */
static int s_anchor_next_set(mc_app_t *self, ec_ledger_t *l, const s_anchor_t *b, ec_status_t *st)
{
    const ec_header_t *h = &b->header;
    bool changes = memcmp(h->next_valset_hash, h->valset_hash, EC_HASH_BYTES) != 0;
    if (!changes && b->has_next)
        return ec_status_set(
            st, EC_EINVAL, "ANCHOR carries a validator set, but header %" PRIu64 " names no change",
            h->height);
    if (!changes)
        return 0;
    uint8_t hash[EC_HASH_BYTES];
    if (b->has_next)
        ec_valset_hash(hash, &b->next_valset);
    if (!b->has_next || memcmp(hash, h->next_valset_hash, EC_HASH_BYTES) != 0)
        return ec_status_set(st, EC_EINVAL,
                             "header %" PRIu64 " of %s names a new validator set: the anchor "
                             "must carry that set as next_valset",
                             h->height, b->chain_id);
    uint8_t key[S_KEY_MAX];
    size_t ks = s_key_str(key, 'v', b->chain_id);
    ec_writer_reset(&self->w);
    ec_valset_encode(&self->w, &b->next_valset);
    ec_state_put(l, key, ks, ec_writer_data(&self->w), ec_writer_size(&self->w));
    ec_info("mainchain: side chain %s moves to %u validator%s after its height %" PRIu64,
            b->chain_id, b->next_valset.count, b->next_valset.count == 1 ? "" : "s", h->height);
    return 0;
}

static int s_deliver_anchor(mc_app_t *self, ec_block_ctx_t *ctx, const ec_tx_t *tx, ec_status_t *st)
{
    ec_ledger_t *l = ctx->ledger;
    s_anchor_t *b = &self->anchor;
    int rc = s_parse_anchor(tx, b, st);
    if (rc != 0)
        return rc;
    if (ctx->anchor_count >= EC_BLOCK_ANCHORS_MAX)
        return ec_status_set(st, EC_EBUSY, "this block already holds %d anchors",
                             EC_BLOCK_ANCHORS_MAX);
    ec_light_t lc;
    rc = s_light_load(l, true, b->chain_id, &lc, st);
    if (rc != 0)
        return rc;
    if (lc.frozen)
        return ec_status_set(st, EC_EFROZEN, "side chain %s is frozen until governance acts",
                             b->chain_id);
    /* The cheap refusal first: no genesis decode, no signature check. */
    if (b->header.height < lc.height && !b->has_claimed)
        return ec_status_set(st, EC_EDUPLICATE,
                             "side chain %s is already anchored at height %" PRIu64, b->chain_id,
                             lc.height);
    ec_valset_t *vs = &self->valset;
    rc = s_side_valset_load(l, true, b->chain_id, vs, &self->side.genesis, st);
    if (rc != 0)
        return rc;
    rc = ec_light_check(&lc, b->chain_id, &b->header, &b->commit, vs, b->prev_path, b->prev_len,
                        b->consistency, b->consistency_len, b->has_claimed ? b->claimed : NULL, st);
    if (rc == EC_EFORK) {
        ec_status_clear(st);
        rc = s_anchor_freeze(self, ctx, b, &lc, st);
        if (rc != 0)
            return rc;
        s_light_store(self, l, b->chain_id, &lc);
        ec_status_clear(st);
        return 0;
    }
    if (rc != 0) {
        if (st && st->code != rc)
            ec_status_set(st, rc, "anchor of %s refused: %s", b->chain_id, ec_strerror(rc));
        return rc;
    }
    rc = s_anchor_next_set(self, l, b, st);
    if (rc != 0)
        return rc;
    ec_light_advance(&lc, &b->header);
    s_light_store(self, l, b->chain_id, &lc);

    ec_anchor_entry_t entry;
    memset(&entry, 0, sizeof entry);
    memcpy(entry.chain_id, b->chain_id, sizeof entry.chain_id);
    entry.height = b->header.height;
    memcpy(entry.header_hash, lc.hash, EC_HASH_BYTES);
    uint32_t index = ctx->anchor_count;
    uint8_t key[S_KEY_MAX];
    size_t ks = s_anchor_key(key, b->chain_id, true, b->header.height);
    ec_writer_reset(&self->w);
    ec_write_array(&self->w, 2);
    ec_write_uint(&self->w, ctx->height);
    ec_write_uint(&self->w, index);
    ec_state_put(l, key, ks, ec_writer_data(&self->w), ec_writer_size(&self->w));
    /* Last, and it cannot fail (room was checked above): the block context is not rolled
     * back with the ledger. */
    rc = ec_block_ctx_add_anchor(ctx, &entry);
    assert(rc == 0 && ctx->anchor_count == index + 1);
    (void)rc;
    return 0;
}

/*
 * SIDECHAIN_UPDATE: governance over a registered side chain. The validator set replaces the
 * one anchors are checked against (the registered genesis is never rewritten); unfreeze
 * clears a proven fork's freeze but keeps the "f/" evidence, and the light client goes on
 * from its last anchored (pre-fork) state, so the next anchor must extend that history.
 */
static int s_deliver_side_update(mc_app_t *self, ec_block_ctx_t *ctx, const ec_tx_t *tx,
                                 ec_status_t *st)
{
    ec_ledger_t *l = ctx->ledger;
    s_side_update_t *b = &self->update;
    int rc = s_parse_side_update(tx, b, st);
    if (rc != 0)
        return rc;
    if ((rc = s_operator_gate(self, ctx, tx, st)) != 0)
        return rc;
    ec_light_t lc;
    rc = s_light_load(l, true, b->chain_id, &lc, st);
    if (rc != 0)
        return rc;
    ec_valset_t *cur = &self->valset;
    rc = s_side_valset_load(l, true, b->chain_id, cur, &self->side.genesis, st);
    if (rc != 0)
        return rc;
    uint8_t cur_hash[EC_HASH_BYTES], new_hash[EC_HASH_BYTES];
    ec_valset_hash(cur_hash, cur);
    ec_valset_hash(new_hash, &b->validators);
    bool same = memcmp(cur_hash, new_hash, EC_HASH_BYTES) == 0;
    if (b->unfreeze && !lc.frozen)
        return ec_status_set(st, EC_ESTATE, "side chain %s is not frozen", b->chain_id);
    if (!b->unfreeze && same)
        return ec_status_set(st, EC_EINVAL,
                             "nothing to change: side chain %s already has this validator set",
                             b->chain_id);

    /* Checks done: write. */
    if (!same) {
        uint8_t key[S_KEY_MAX];
        size_t ks = s_key_str(key, 'v', b->chain_id);
        ec_writer_reset(&self->w);
        ec_valset_encode(&self->w, &b->validators);
        ec_state_put(l, key, ks, ec_writer_data(&self->w), ec_writer_size(&self->w));
        ec_info("mainchain: side chain %s now has %u validator%s (main height %" PRIu64 ")",
                b->chain_id, b->validators.count, b->validators.count == 1 ? "" : "s", ctx->height);
    }
    if (b->unfreeze) {
        lc.frozen = false;
        s_light_store(self, l, b->chain_id, &lc);
        ec_warn("mainchain: side chain %s UNFROZEN by governance at main height %" PRIu64
                "; anchors resume from side height %" PRIu64,
                b->chain_id, ctx->height, lc.height);
    }
    return 0;
}

/*
 * VALIDATOR_UPDATE: the main chain's own validator set, one validator per block, in force
 * two heights later (ec_exec.h). Refused (nothing changes) when it would change nothing,
 * remove a validator that is not there or the last one, or add one to a full set.
 */
static int s_deliver_validator(mc_app_t *self, ec_block_ctx_t *ctx, const ec_tx_t *tx,
                               ec_status_t *st)
{
    s_validator_body_t b;
    int rc = s_parse_validator(tx, &b, st);
    if (rc != 0)
        return rc;
    if ((rc = s_operator_gate(self, ctx, tx, st)) != 0)
        return rc;
    if (ctx->valset_changed)
        return ec_status_set(st, EC_EBUSY,
                             "this block already changes a validator: one per "
                             "block, send it again");
    const ec_valset_t *vs = ctx->next_valset;
    uint32_t i;
    char hex[2 * EC_PK_BYTES + 1];
    ec_hex(hex, b.v.pk, EC_PK_BYTES);
    switch (ec_valset_change_check(vs, &b.v, &i)) {
        case 0:
            break;
        case EC_ENOTFOUND:
            return ec_status_set(st, EC_ENOTFOUND, "%.16s... is not a validator", hex);
        case EC_EINVAL:
            return ec_status_set(st, EC_EINVAL, "cannot remove the last validator");
        case EC_ETOOBIG:
            return ec_status_set(st, EC_ETOOBIG, "the validator set is full (%d)",
                                 EC_VALIDATORS_MAX);
        default: /* EC_EEXIST */
            return ec_status_set(st, EC_EINVAL,
                                 "nothing to change: %.16s... already has power %llu", hex,
                                 (unsigned long long)b.v.power);
    }
    ctx->valset_changed = true;
    ctx->valset_change = b.v;
    ec_info("mainchain: validator %.16s... %s power %llu from height %" PRIu64, hex,
            i == vs->count ? "joins with"
            : b.v.power    ? "changes to"
                           : "leaves, was",
            (unsigned long long)(b.v.power ? b.v.power : vs->v[i].power), ctx->height + 2);
    return 0;
}

/*
 * SIDECHAIN_VALIDATOR: a registered side chain's validator change, decided here and carried
 * to the side chain as a record (EC_REC_VALIDATOR) that it applies when it mirrors it.
 */
static int s_deliver_side_validator(mc_app_t *self, ec_block_ctx_t *ctx, const ec_tx_t *tx,
                                    ec_status_t *st)
{
    s_validator_body_t b;
    int rc = s_parse_validator(tx, &b, st);
    if (rc != 0)
        return rc;
    if ((rc = s_operator_gate(self, ctx, tx, st)) != 0)
        return rc;
    uint8_t key[S_KEY_MAX];
    rc = s_exists(ctx->ledger, true, key, s_key_str(key, 's', b.chain_id), st);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return ec_status_set(st, EC_ENOTFOUND, "side chain %s is not registered", b.chain_id);
    ec_record_t r;
    memset(&r, 0, sizeof r);
    r.kind = EC_REC_VALIDATOR;
    memcpy(r.pk, b.v.pk, EC_PK_BYTES);
    r.power = b.v.power;
    memcpy(r.chain_id, b.chain_id, sizeof r.chain_id);
    return mc_record_append(&self->w, ctx->ledger, &r, st);
}

static int s_deliver_tx(void *vself, ec_block_ctx_t *ctx, const ec_tx_t *tx, const uint8_t *payload,
                        size_t payload_size, ec_status_t *st)
{
    mc_app_t *self = vself;
    assert(self && ctx && ctx->ledger && tx);
    int rc = s_check_envelope(self, tx, payload, payload_size, st);
    if (rc != 0)
        return rc;
    switch (tx->type) {
        case EC_MTX_REGISTER:
            return s_deliver_register(self, ctx, tx, st);
        case EC_MTX_ORG:
            return s_deliver_org(self, ctx, tx, st);
        case EC_MTX_ROLE_GRANT:
        case EC_MTX_ROLE_REVOKE:
            return s_deliver_role(self, ctx, tx, st);
        case EC_MTX_ATTEST:
            return s_deliver_attest(self, ctx, tx, st);
        case EC_MTX_SIDECHAIN:
            return s_deliver_sidechain(self, ctx, tx, st);
        case EC_MTX_ANCHOR:
            return s_deliver_anchor(self, ctx, tx, st);
        case EC_MTX_SIDECHAIN_UPDATE:
            return s_deliver_side_update(self, ctx, tx, st);
        case EC_MTX_VALIDATOR_UPDATE:
            return s_deliver_validator(self, ctx, tx, st);
        case EC_MTX_SIDECHAIN_VALIDATOR:
            return s_deliver_side_validator(self, ctx, tx, st);
        case EC_MTX_GOV_PROPOSE:
        case EC_MTX_GOV_APPROVE:
            return mc_gov_deliver(&self->gov, ctx, tx, st);
        case EC_MTX_OPERATORS:
            rc = s_operator_gate(self, ctx, tx, st);
            return rc ? rc : mc_gov_set_operators(&self->gov, ctx, tx, st);
        case EC_MTX_KEY_ROTATE:
        case EC_MTX_KEY_REVOKE:
        case EC_MTX_KEY_RECOVER:
        case EC_MTX_KEY_VETO:
        case EC_MTX_KEY_RECOVER_FINISH:
            return mc_keys_deliver(&self->w, &self->dec, ctx, tx, st);
        case EC_MTX_CONTRACT_DEPLOY:
        case EC_MTX_CONTRACT_UPGRADE:
        case EC_MTX_CONTRACT_CALL:
        case EC_MTX_CONTRACT_DECIDE:
            return mc_contract_deliver(&self->dec, ctx, tx, st);
        default:
            return ec_status_set(st, EC_EINVAL, "unknown main-chain transaction type %" PRIu64,
                                 tx->type);
    }
}

/* mc_gov_exec_fn: runs a proposal's action, which its approvals let past the operator
 * check. Only operator actions reach here (ec_gov_action_type). */
static int s_gov_exec(void *vself, ec_block_ctx_t *ctx, const ec_tx_t *action, ec_status_t *st)
{
    mc_app_t *self = vself;
    assert(ec_gov_action_type(action->type) && !self->gov_running);
    self->gov_running = true;
    int rc = s_deliver_tx(self, ctx, action, NULL, 0, st);
    self->gov_running = false;
    return rc;
}

/* mc_gov_check_fn: the action's stateless checks. */
static int s_gov_check(void *vself, const ec_tx_t *action, ec_status_t *st)
{
    return s_check_tx(vself, action, NULL, 0, st);
}

/* ---- end_block ---------------------------------------------------------------------------- */

typedef struct {
    const uint8_t *val; /* the snapshot about to be written                   */
    size_t size;
    bool same;
} s_snap_cmp_t;

static int s_snap_cmp_fn(void *vctx, const uint8_t *key, size_t key_size, const uint8_t *val,
                         size_t val_size)
{
    (void)key;
    (void)key_size;
    s_snap_cmp_t *c = vctx;
    c->same = val_size == c->size && memcmp(val, c->val, val_size) == 0;
    return 1;
}

/*
 * Writes the records snapshot of `height` to EC_CF_META unless the latest committed one
 * below it is identical (runs of empty blocks share one). One seek per block.
 */
static int s_snapshot_save(mc_app_t *self, ec_ledger_t *l, uint64_t height, uint64_t count,
                           const uint8_t root[EC_HASH_BYTES], const uint8_t digest[EC_HASH_BYTES])
{
    ec_writer_reset(&self->w);
    ec_write_array(&self->w, 3);
    ec_write_uint(&self->w, count);
    ec_write_bin(&self->w, root, EC_HASH_BYTES);
    ec_write_bin(&self->w, digest, EC_HASH_BYTES);
    s_snap_cmp_t cmp = {ec_writer_data(&self->w), ec_writer_size(&self->w), false};
    uint8_t key[S_SNAP_PREFIX_LEN + 8];
    size_t ks = s_snap_key(key, height);
    int rc = ec_ledger_scan(l, EC_CF_META, S_SNAP_PREFIX, S_SNAP_PREFIX_LEN, key, ks, 1,
                            s_snap_cmp_fn, &cmp);
    if (rc < 0)
        return rc;
    if (!cmp.same)
        ec_ledger_put(l, EC_CF_META, key, ks, cmp.val, cmp.size);
    return 0;
}

static int s_end_block(void *vself, ec_block_ctx_t *ctx, uint8_t state_root[EC_HASH_BYTES])
{
    mc_app_t *self = vself;
    ec_ledger_t *l = ctx->ledger;
    uint64_t count = 0;
    uint8_t root[EC_HASH_BYTES], digest[EC_HASH_BYTES];
    int rc = ec_mlog_size(l, EC_MLOG_RECORDS, &count);
    if (rc == 0)
        rc = ec_mlog_root(l, EC_MLOG_RECORDS, root);
    if (rc != 0) {
        ec_error("mainchain: records log unreadable at height %" PRIu64 ": %s", ctx->height,
                 ec_strerror(rc));
        return rc;
    }
    /* The digest covers this block's state writes; the snapshot goes to EC_CF_META so it
     * does not change the digest it records. */
    ec_ledger_state_digest(l, digest);
    ec_main_state_root(state_root, root, count, digest);
    rc = s_snapshot_save(self, l, ctx->height, count, root, digest);
    if (rc != 0)
        ec_error("mainchain: records snapshot at height %" PRIu64 " failed: %s", ctx->height,
                 ec_strerror(rc));
    return rc;
}

/* ---- queries (committed data only; any thread but the commit thread's scratch) ----------- */

static int s_bad_args(ec_status_t *st, int rc, const char *path, const char *shape)
{
    return ec_status_set(st, rc == EC_ETOOBIG ? EC_ETOOBIG : EC_EINVAL, "%s query args must be %s",
                         path, shape);
}

/* Reads a query's single str argument into buf (cap bytes). 0, or the refusal with st set
 * naming the query and the shape it takes. */
static int s_args_str(const msgpack_object *args, char *buf, size_t cap, const char *path,
                      const char *shape, ec_status_t *st)
{
    ec_cur_t c;
    ec_cur_open(&c, args, 1);
    ec_cur_str_copy(&c, buf, cap);
    int rc = ec_cur_finish(&c);
    return rc != 0 ? s_bad_args(st, rc, path, shape) : 0;
}

typedef struct {
    ec_writer_t *w;
    uint32_t count;
} s_roles_ctx_t;

static int s_roles_fn(void *vctx, const uint8_t *key, size_t key_size, const uint8_t *val,
                      size_t val_size)
{
    (void)val;
    (void)val_size;
    s_roles_ctx_t *c = vctx;
    const size_t head = 2 + EC_ADDR_HASH_BYTES + 1;
    if (key_size <= head)
        return EC_EINTERNAL;
    const uint8_t *rest = key + head;
    size_t rest_size = key_size - head;
    const uint8_t *nul = memchr(rest, 0, rest_size);
    if (!nul)
        return EC_EINTERNAL;
    size_t ct = (size_t)(nul - rest);
    ec_write_array(c->w, 3);
    ec_write_uint(c->w, key[head - 1]);
    ec_write_str(c->w, (const char *)rest, ct);
    ec_write_str(c->w, (const char *)nul + 1, rest_size - ct - 1);
    c->count++;
    return 0;
}

static int s_query_account(ec_ledger_t *l, const msgpack_object *args, ec_writer_t *out,
                           ec_status_t *st)
{
    uint8_t hash[EC_ADDR_HASH_BYTES];
    char addr_arg[EC_ADDR_MAX];
    ec_cur_t c;
    ec_cur_open(&c, args, 1);
    ec_cur_address(&c, addr_arg, hash);
    int rc = ec_cur_finish(&c);
    if (rc != 0)
        return s_bad_args(st, rc, "account", "[address: ec1 address]");
    mc_account_t a;
    ec_decoder_t d;
    ec_decoder_init(&d);
    rc = mc_account_load(l, false, &d, hash, &a, st);
    ec_decoder_fini(&d);
    if (rc != 0)
        return rc;
    ec_writer_t roles;
    ec_writer_init(&roles);
    s_roles_ctx_t rctx = {&roles, 0};
    uint8_t prefix[S_KEY_MAX];
    size_t ps = s_key(prefix, 'r', hash, EC_ADDR_HASH_BYTES);
    rc = ec_ledger_scan(l, EC_CF_STATE, prefix, ps, NULL, 0, MC_ACCOUNT_ROLES_MAX, s_roles_fn,
                        &rctx);
    uint8_t new_key[EC_PK_BYTES];
    uint64_t ready_ms = 0;
    int pending = rc == 0 ? mc_recovery_get(l, hash, new_key, &ready_ms, st) : 0;
    if (pending < 0) {
        ec_writer_fini(&roles);
        return pending;
    }
    if (rc == 0) {
        char addr[EC_ADDR_MAX];
        ec_address_from_hash(addr, hash);
        ec_write_array(out, 8);
        ec_write_cstr(out, addr);
        ec_write_cstr(out, a.name);
        ec_write_bin(out, a.pk, EC_PK_BYTES);
        ec_write_uint(out, a.height);
        ec_write_bool(out, a.attested);
        ec_write_array(out, rctx.count);
        ec_write_raw(out, ec_writer_data(&roles), ec_writer_size(&roles));
        ec_write_bin(out, a.key, EC_PK_BYTES);
        if (pending) {
            ec_write_array(out, 2);
            ec_write_bin(out, new_key, EC_PK_BYTES);
            ec_write_uint(out, ready_ms);
        } else {
            ec_write_nil(out);
        }
    }
    ec_writer_fini(&roles);
    if (rc == EC_EINTERNAL)
        return mc_corrupt(st, "role key");
    return rc == 0 ? 0 : mc_io(st, rc);
}

static int s_query_org(ec_ledger_t *l, const msgpack_object *args, ec_writer_t *out,
                       ec_status_t *st)
{
    char code[EC_ORG_CODE_MAX];
    int rc = s_args_str(args, code, sizeof code, "org", "[org_code: str]", st);
    if (rc != 0)
        return rc;
    uint8_t key[S_KEY_MAX], *val = NULL;
    size_t size = 0, ks = s_key_str(key, 'o', code);
    rc = ec_ledger_get(l, EC_CF_STATE, key, ks, &val, &size);
    if (rc == EC_ENOTFOUND)
        return ec_status_set(st, EC_ENOTFOUND, "organization %s is not registered", code);
    if (rc != 0)
        return mc_io(st, rc);
    char name[EC_NAME_MAX];
    uint64_t height = 0, billing = 0;
    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *root = NULL;
    rc = ec_decode(&d, val, size, &root);
    if (rc == 0) {
        ec_cur_t c;
        ec_cur_open(&c, root, 3);
        ec_cur_str_copy(&c, name, sizeof name);
        ec_cur_uint(&c, &height);
        ec_cur_uint_max(&c, &billing, EC_BILLING_COMMERCIAL);
        rc = ec_cur_finish(&c);
    }
    ec_decoder_fini(&d);
    free(val);
    if (rc != 0)
        return mc_corrupt(st, "organization");
    ec_write_array(out, 4);
    ec_write_cstr(out, code);
    ec_write_cstr(out, name);
    ec_write_uint(out, height);
    ec_write_cstr(out, ec_billing_name(billing));
    return 0;
}

typedef struct {
    ec_ledger_t *ledger;
    ec_writer_t *w;
    uint32_t count;
    ec_genesis_t genesis;
} s_sides_ctx_t;

static int s_sides_fn(void *vctx, const uint8_t *key, size_t key_size, const uint8_t *val,
                      size_t val_size)
{
    (void)key;
    (void)key_size;
    s_sides_ctx_t *c = vctx;
    if (ec_genesis_decode(&c->genesis, val, val_size) != 0)
        return EC_EINTERNAL;
    ec_light_t lc;
    int rc = s_light_load(c->ledger, false, c->genesis.chain_id, &lc, NULL);
    if (rc != 0)
        return rc == EC_ENOTFOUND ? EC_EINTERNAL : rc;
    uint8_t hash[EC_HASH_BYTES];
    ec_genesis_hash(hash, &c->genesis);
    ec_write_array(c->w, 5);
    ec_write_cstr(c->w, c->genesis.cert_type);
    ec_write_cstr(c->w, c->genesis.chain_id);
    ec_write_bin(c->w, hash, EC_HASH_BYTES);
    ec_write_uint(c->w, lc.height);
    ec_write_bool(c->w, lc.frozen);
    c->count++;
    return 0;
}

static int s_query_sidechains(ec_ledger_t *l, const msgpack_object *args, ec_writer_t *out,
                              ec_status_t *st)
{
    ec_cur_t c;
    ec_cur_open(&c, args, 0);
    int rc = ec_cur_finish(&c);
    if (rc != 0)
        return s_bad_args(st, rc, "sidechains", "[]");
    s_sides_ctx_t *sctx = calloc(1, sizeof *sctx);
    if (!sctx)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    ec_writer_t items;
    ec_writer_init(&items);
    sctx->ledger = l;
    sctx->w = &items;
    rc = ec_ledger_scan(l, EC_CF_STATE, "s/", 2, NULL, 0, MC_SIDECHAINS_MAX, s_sides_fn, sctx);
    if (rc == 0) {
        ec_write_array(out, sctx->count);
        ec_write_raw(out, ec_writer_data(&items), ec_writer_size(&items));
    }
    ec_writer_fini(&items);
    free(sctx);
    if (rc == EC_EINTERNAL)
        return mc_corrupt(st, "side chain");
    return rc == 0 ? 0 : mc_io(st, rc);
}

static int s_query_sidechain(ec_ledger_t *l, const msgpack_object *args, ec_writer_t *out,
                             ec_status_t *st)
{
    char chain_id[EC_CHAIN_ID_MAX];
    int rc = s_args_str(args, chain_id, sizeof chain_id, "sidechain", "[chain_id: str]", st);
    if (rc != 0)
        return rc;
    uint8_t *genesis = NULL, *light = NULL;
    size_t gsize = 0, lsize = 0;
    rc = s_side_get(l, false, 's', chain_id, &genesis, &gsize, st);
    if (rc == 0)
        rc = s_side_get(l, false, 'l', chain_id, &light, &lsize, st);
    /* Heap, not stack: a valset and a genesis are a few KB; queries run on any thread. */
    struct {
        ec_valset_t vs;
        ec_genesis_t g;
    } *tmp = NULL;
    if (rc == 0 && !(tmp = malloc(sizeof *tmp)))
        rc = ec_status_set(st, EC_ENOMEM, "out of memory");
    if (rc == 0)
        rc = s_side_valset_load(l, false, chain_id, &tmp->vs, &tmp->g, st);
    if (rc == 0) {
        uint8_t vs_hash[EC_HASH_BYTES];
        ec_valset_hash(vs_hash, &tmp->vs);
        ec_write_array(out, 3);
        ec_write_bin(out, genesis, gsize);
        ec_write_raw(out, light, lsize);
        ec_write_bin(out, vs_hash, EC_HASH_BYTES);
    }
    free(tmp);
    free(genesis);
    free(light);
    return rc;
}

typedef struct {
    uint64_t side_height;
    uint64_t main_height;
    uint64_t index;
    bool found;
} s_anchor_of_t;

static int s_anchor_of_fn(void *vctx, const uint8_t *key, size_t key_size, const uint8_t *val,
                          size_t val_size)
{
    s_anchor_of_t *a = vctx;
    if (key_size < 8)
        return EC_EINTERNAL;
    a->side_height = ec_be64_get(key + key_size - 8);
    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *root = NULL;
    int rc = ec_decode(&d, val, val_size, &root);
    if (rc == 0) {
        ec_cur_t c;
        ec_cur_open(&c, root, 2);
        ec_cur_uint(&c, &a->main_height);
        ec_cur_uint(&c, &a->index);
        rc = ec_cur_finish(&c);
    }
    ec_decoder_fini(&d);
    if (rc != 0)
        return EC_EINTERNAL;
    a->found = true;
    return 1;
}

static int s_query_anchor_of(ec_ledger_t *l, const msgpack_object *args, ec_writer_t *out,
                             ec_status_t *st)
{
    char chain_id[EC_CHAIN_ID_MAX];
    uint64_t side_height = 0;
    ec_cur_t c;
    ec_cur_open(&c, args, 2);
    ec_cur_str_copy(&c, chain_id, sizeof chain_id);
    ec_cur_uint(&c, &side_height);
    int rc = ec_cur_finish(&c);
    if (rc != 0)
        return s_bad_args(st, rc, "anchor_of", "[chain_id: str, side_height: uint]");
    uint8_t key[S_KEY_MAX];
    size_t ks = s_key_str(key, 's', chain_id);
    rc = s_exists(l, false, key, ks, st);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return ec_status_set(st, EC_ENOTFOUND, "side chain %s is not registered", chain_id);
    uint8_t start[S_KEY_MAX];
    size_t ps = s_anchor_key(key, chain_id, false, 0);
    size_t ss = s_anchor_key(start, chain_id, true, side_height);
    s_anchor_of_t a = {0};
    rc = ec_ledger_scan(l, EC_CF_STATE, key, ps, start, ss, 1, s_anchor_of_fn, &a);
    if (rc == EC_EINTERNAL)
        return mc_corrupt(st, "anchor index");
    if (rc < 0)
        return mc_io(st, rc);
    if (!a.found)
        return ec_status_set(st, EC_ENOTFOUND,
                             "no anchor of %s at or above side height %" PRIu64 " yet", chain_id,
                             side_height);
    ec_write_array(out, 3);
    ec_write_uint(out, a.side_height);
    ec_write_uint(out, a.main_height);
    ec_write_uint(out, a.index);
    return 0;
}

typedef struct {
    uint64_t count;
    uint8_t root[EC_HASH_BYTES];
    uint8_t digest[EC_HASH_BYTES];
    bool found;
} s_snap_t;

static int s_snap_fn(void *vctx, const uint8_t *key, size_t key_size, const uint8_t *val,
                     size_t val_size)
{
    (void)key;
    (void)key_size;
    s_snap_t *s = vctx;
    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *root = NULL;
    int rc = ec_decode(&d, val, val_size, &root);
    if (rc == 0) {
        ec_cur_t c;
        ec_cur_open(&c, root, 3);
        ec_cur_uint(&c, &s->count);
        ec_cur_bin_fixed(&c, s->root, EC_HASH_BYTES);
        ec_cur_bin_fixed(&c, s->digest, EC_HASH_BYTES);
        rc = ec_cur_finish(&c);
    }
    ec_decoder_fini(&d);
    if (rc != 0)
        return EC_EINTERNAL;
    s->found = true;
    return 1;
}

typedef struct {
    ec_ledger_t *ledger;
    ec_writer_t *out;
    uint64_t next; /* seq expected next                                  */
    uint64_t size; /* tree size the proofs are against                   */
} s_records_ctx_t;

static int s_records_fn(void *vctx, const uint8_t *key, size_t key_size, const uint8_t *val,
                        size_t val_size)
{
    s_records_ctx_t *c = vctx;
    if (key_size != 12 || ec_be64_get(key + 4) != c->next)
        return EC_EINTERNAL;
    ec_mlog_reader_t reader = {c->ledger, EC_MLOG_RECORDS};
    ec_hash32_t path[EC_MERKLE_PROOF_MAX];
    size_t len = 0;
    int rc = ec_merkle_inclusion_proof(path, &len, ec_mlog_oracle, &reader, c->next, c->size);
    if (rc != 0)
        return rc;
    ec_write_array(c->out, 2);
    ec_write_bin(c->out, val, val_size);
    ec_write_path(c->out, path, len);
    c->next++;
    return 0;
}

static int s_query_records(ec_ledger_t *l, const msgpack_object *args, ec_writer_t *out,
                           ec_status_t *st)
{
    uint64_t height = 0, from = 0, max = 0;
    ec_cur_t c;
    ec_cur_open(&c, args, 3);
    ec_cur_uint(&c, &height);
    ec_cur_uint(&c, &from);
    ec_cur_uint(&c, &max);
    int rc = ec_cur_finish(&c);
    if (rc != 0)
        return s_bad_args(st, rc, "records", "[main_height: uint, from_seq: uint, max: uint]");
    uint64_t tip = ec_ledger_height(l);
    if (height == 0 || height > tip)
        return ec_status_set(st, EC_ENOTFOUND,
                             "main height %" PRIu64 " is not committed (tip %" PRIu64 ")", height,
                             tip);
    uint8_t key[S_SNAP_PREFIX_LEN + 8];
    size_t ks = s_snap_key(key, height);
    s_snap_t snap = {0};
    rc = ec_ledger_scan(l, EC_CF_META, S_SNAP_PREFIX, S_SNAP_PREFIX_LEN, key, ks, 1, s_snap_fn,
                        &snap);
    if (rc == EC_EINTERNAL)
        return mc_corrupt(st, "records snapshot");
    if (rc < 0)
        return mc_io(st, rc);
    if (!snap.found)
        return ec_status_set(st, EC_ENOTFOUND, "no records snapshot at main height %" PRIu64,
                             height);
    /* Larger requests are served in part rather than refused: the reply says how many. */
    if (max > S_RECORDS_QUERY_MAX)
        max = S_RECORDS_QUERY_MAX;
    uint64_t n = from >= snap.count ? 0 : snap.count - from;
    if (n > max)
        n = max;
    ec_write_array(out, 4);
    ec_write_uint(out, snap.count);
    ec_write_bin(out, snap.root, EC_HASH_BYTES);
    ec_write_bin(out, snap.digest, EC_HASH_BYTES);
    ec_write_array(out, (uint32_t)n);
    if (n == 0)
        return 0;
    uint8_t start[12];
    s_record_key(start, from);
    s_records_ctx_t rctx = {l, out, from, snap.count};
    rc = ec_ledger_scan(l, EC_CF_STATE, "rec/", 4, start, sizeof start, (uint32_t)n, s_records_fn,
                        &rctx);
    if (rc == 0 && rctx.next != from + n)
        rc = EC_EINTERNAL;
    if (rc == EC_EINTERNAL || rc == EC_EINVAL)
        return mc_corrupt(st, "records log");
    return rc == 0 ? 0 : mc_io(st, rc);
}

static int s_query(void *vself, ec_ledger_t *l, const char *path, const msgpack_object *args,
                   ec_writer_t *out, ec_status_t *st)
{
    mc_app_t *self = vself;
    assert(l && path && args && out);
    int rc = mc_gov_query(&self->gov, l, path, args, out, st);
    if (rc == 1)
        rc = mc_contract_query(l, path, args, out, st);
    if (rc != 1)
        return rc;
    if (strcmp(path, "account") == 0)
        return s_query_account(l, args, out, st);
    if (strcmp(path, "signer") == 0)
        return mc_keys_query_signer(l, args, out, st);
    if (strcmp(path, "org") == 0)
        return s_query_org(l, args, out, st);
    if (strcmp(path, "sidechains") == 0)
        return s_query_sidechains(l, args, out, st);
    if (strcmp(path, "sidechain") == 0)
        return s_query_sidechain(l, args, out, st);
    if (strcmp(path, "anchor_of") == 0)
        return s_query_anchor_of(l, args, out, st);
    if (strcmp(path, "records") == 0)
        return s_query_records(l, args, out, st);
    return ec_status_set(st, EC_EMETHOD, "unknown main-chain query path '%.64s'", path);
}

/* ---- store check (ec_check.h) ------------------------------------------------------------ */

/*
 * The records log against header h: the snapshot in force at h (the latest at or below
 * it) must give h's state_root, and the stored records log must have that root at that
 * size. O(log^2 n) reads.
 */
static int s_check_block(void *vself, ec_ledger_t *l, const ec_header_t *h, ec_status_t *st)
{
    (void)vself;
    uint8_t key[S_SNAP_PREFIX_LEN + 8], root[EC_HASH_BYTES];
    size_t ks = s_snap_key(key, h->height);
    s_snap_t snap = {0};
    int rc = ec_ledger_scan(l, EC_CF_META, S_SNAP_PREFIX, S_SNAP_PREFIX_LEN, key, ks, 1, s_snap_fn,
                            &snap);
    if (rc < 0 || !snap.found)
        return ec_status_set(st, EC_EIO, "no readable records snapshot at or below it");
    ec_main_state_root(root, snap.root, snap.count, snap.digest);
    if (memcmp(root, h->state_root, EC_HASH_BYTES) != 0)
        return ec_status_set(st, EC_EIO, "its records snapshot does not give its state_root");
    uint64_t size = 0;
    if (ec_mlog_committed_size(l, EC_MLOG_RECORDS, &size) != 0 || size < snap.count)
        return ec_status_set(st, EC_EIO, "the records log is shorter than its snapshot says");
    if (snap.count == 0)
        ec_merkle_root(root, NULL, 0);
    else {
        ec_mlog_reader_t reader = {.ledger = l, .log_id = EC_MLOG_RECORDS};
        if (ec_mlog_oracle(&reader, 0, snap.count, root) != 0)
            return ec_status_set(st, EC_EIO, "the records log is unreadable");
    }
    if (memcmp(root, snap.root, EC_HASH_BYTES) != 0)
        return ec_status_set(st, EC_EIO, "the records log differs from its records_root");
    return 0;
}

/* ---- life cycle ------------------------------------------------------------------------- */

ec_app_t *mc_app_new(const ec_genesis_t *genesis, ec_status_t *st)
{
    assert(genesis);
    if (genesis->kind != EC_CHAIN_MAIN) {
        ec_status_set(st, EC_ECHAIN, "genesis of %s is not a main-chain genesis",
                      genesis->chain_id);
        return NULL;
    }
    mc_app_t *self = calloc(1, sizeof *self);
    if (!self) {
        ec_status_set(st, EC_ENOMEM, "out of memory");
        return NULL;
    }
    self->genesis = *genesis;
    ec_genesis_hash(self->genesis_hash, genesis);
    ec_writer_init(&self->w);
    ec_decoder_init(&self->dec);
    mc_gov_init(&self->gov, &self->genesis, self, s_gov_exec, s_gov_check);
    self->app.name = "mainchain";
    self->app.self = self;
    self->app.check_tx = s_check_tx;
    self->app.deliver_tx = s_deliver_tx;
    self->app.end_block = s_end_block;
    self->app.query = s_query;
    self->app.check_block = s_check_block;
    /* Only a chain that hosts contracts has events to announce after each block. */
    if (self->genesis.features & EC_GENESIS_F_CONTRACTS)
        self->app.announce = ec_cstate_announce;
    return &self->app;
}

void mc_app_free(ec_app_t *app)
{
    if (!app)
        return;
    mc_app_t *self = app->self;
    assert((void *)self == (void *)app);
    ec_writer_fini(&self->w);
    ec_decoder_fini(&self->dec);
    mc_gov_fini(&self->gov);
    free(self);
}
