/*
 * mc_keys.c - accounts' signing keys on the main chain (mc_priv.h): rotation signed by the
 * old and the new key, revocation by the holder, and recovery of a lost key started by a
 * certification authority, which the current key can veto during a waiting period.
 *
 * The account is the identity, not the key: its address is the hash of the key it
 * registered with (`pk`, kept forever), and `key` is the one that signs for it now. Every
 * key that ever signed for an account other than as its identity key, and every key
 * retired, is in "k/":
 *
 *   "k/" key(32)   [h20: bin20, state: uint]  0 signs for that account now, 1 retired
 *                  (rotated away or replaced by a recovery), 2 revoked by its holder
 *   "y/" h20       [new_key: bin32, ca: bin32, ready_ms: uint]  the pending recovery
 *
 * so a key is never reused, and one with no "k/" entry signs for the account its hash
 * names, which has never rotated. Each change appends a KEY record (EC_REC_KEY) that side
 * chains mirror, so they too refuse a retired key once the relay brought the record.
 * Deliver functions check everything before their first write.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec_log.h"
#include "mc_priv.h"

enum { S_KEY_CURRENT = 0, S_KEY_RETIRED = 1, S_KEY_REVOKED = 2 };

static const uint8_t s_zero[EC_PK_BYTES];

static size_t s_kkey(uint8_t out[2 + EC_PK_BYTES], const uint8_t pk[EC_PK_BYTES])
{
    out[0] = 'k';
    out[1] = '/';
    memcpy(out + 2, pk, EC_PK_BYTES);
    return 2 + EC_PK_BYTES;
}

static size_t s_ykey(uint8_t out[2 + EC_ADDR_HASH_BYTES], const uint8_t hash[EC_ADDR_HASH_BYTES])
{
    out[0] = 'y';
    out[1] = '/';
    memcpy(out + 2, hash, EC_ADDR_HASH_BYTES);
    return 2 + EC_ADDR_HASH_BYTES;
}

/* Reads the value under key with `read` (ec_decode_read): 1, 0 when absent, or a local
 * fault (st set; `what` names a value that does not decode). */
static int s_read(ec_ledger_t *l, bool pending, const uint8_t *key, size_t ks, void *out,
                  size_t out_size, ec_read_fn read, const char *what, ec_status_t *st)
{
    uint8_t *val = NULL;
    size_t size = 0;
    int rc = mc_state_get(l, pending, key, ks, &val, &size);
    if (rc == EC_ENOTFOUND)
        return 0;
    if (rc != 0)
        return mc_io(st, rc);
    rc = ec_decode_read(out, out_size, val, size, read);
    free(val);
    return rc == 0 ? 1 : mc_corrupt(st, what);
}

typedef struct {
    uint8_t hash[EC_ADDR_HASH_BYTES];
    uint64_t state;
} s_key_entry_t;

static void s_key_entry_read(ec_cur_t *c, void *out)
{
    s_key_entry_t *e = out;
    ec_cur_t f;
    ec_cur_enter(c, &f, 2);
    ec_cur_bin_fixed(&f, e->hash, EC_ADDR_HASH_BYTES);
    ec_cur_uint_max(&f, &e->state, S_KEY_REVOKED);
    ec_cur_fold(c, &f);
}

/* "k/" pk: 1 with *hash and *state, 0 when absent, or a local fault. */
static int s_key_entry(ec_ledger_t *l, bool pending, const uint8_t pk[EC_PK_BYTES],
                       uint8_t hash[EC_ADDR_HASH_BYTES], uint64_t *state, ec_status_t *st)
{
    uint8_t key[2 + EC_PK_BYTES];
    s_key_entry_t e;
    int rc =
        s_read(l, pending, key, s_kkey(key, pk), &e, sizeof e, s_key_entry_read, "key entry", st);
    if (rc == 1) {
        memcpy(hash, e.hash, EC_ADDR_HASH_BYTES);
        *state = e.state;
    }
    return rc;
}

static void s_key_put(ec_writer_t *w, ec_ledger_t *l, const uint8_t pk[EC_PK_BYTES],
                      const uint8_t hash[EC_ADDR_HASH_BYTES], uint64_t state)
{
    uint8_t key[2 + EC_PK_BYTES];
    ec_writer_reset(w);
    ec_write_array(w, 2);
    ec_write_bin(w, hash, EC_ADDR_HASH_BYTES);
    ec_write_uint(w, state);
    ec_state_put(l, key, s_kkey(key, pk), ec_writer_data(w), ec_writer_size(w));
}

int mc_signer(ec_ledger_t *l, ec_decoder_t *d, const uint8_t pk[EC_PK_BYTES],
              uint8_t hash[EC_ADDR_HASH_BYTES], mc_account_t *a, ec_status_t *st)
{
    uint64_t state = 0;
    int rc = s_key_entry(l, true, pk, hash, &state, st);
    if (rc < 0)
        return rc;
    char hex[2 * EC_PK_BYTES + 1], addr[EC_ADDR_MAX];
    ec_hex(hex, pk, EC_PK_BYTES);
    if (rc == 1 && state != S_KEY_CURRENT) {
        ec_address_from_hash(addr, hash);
        return ec_status_set(st, EC_EPERM, "key %.16s... no longer signs for %s: it was %s", hex,
                             addr, state == S_KEY_REVOKED ? "revoked" : "replaced");
    }
    if (rc == 0)
        ec_address_hash(hash, pk);
    rc = mc_account_load(l, true, d, hash, a, st);
    if (rc != 0)
        return rc;
    if (memcmp(a->key, pk, EC_PK_BYTES) != 0) {
        ec_address_from_hash(addr, hash);
        return ec_status_set(st, EC_EPERM, "key %.16s... does not sign for %s", hex, addr);
    }
    return 0;
}

/* Whether an account registered with pk (pk is its identity key): 1 with *hash set, 0, or
 * a local fault. */
static int s_identity_of(ec_ledger_t *l, bool pending, const uint8_t pk[EC_PK_BYTES],
                         uint8_t hash[EC_ADDR_HASH_BYTES], ec_status_t *st)
{
    uint8_t key[2 + EC_ADDR_HASH_BYTES], *val = NULL;
    size_t size = 0;
    key[0] = 'a';
    key[1] = '/';
    ec_address_hash(key + 2, pk);
    int rc = mc_state_get(l, pending, key, sizeof key, &val, &size);
    free(val);
    if (rc == EC_ENOTFOUND)
        return 0;
    if (rc != 0)
        return mc_io(st, rc);
    memcpy(hash, key + 2, EC_ADDR_HASH_BYTES);
    return 1;
}

int mc_key_taken(ec_ledger_t *l, const uint8_t pk[EC_PK_BYTES], ec_status_t *st)
{
    uint8_t hash[EC_ADDR_HASH_BYTES];
    uint64_t state = 0;
    int rc = s_key_entry(l, true, pk, hash, &state, st);
    if (rc == 0)
        rc = s_identity_of(l, true, pk, hash, st); /* an account registered with it */
    if (rc != 1)
        return rc;
    char addr[EC_ADDR_MAX];
    ec_address_from_hash(addr, hash);
    ec_status_set(st, EC_EEXIST, "that key belongs (or belonged) to account %s", addr);
    return 1;
}

typedef struct {
    uint8_t new_key[EC_PK_BYTES];
    uint8_t ca[EC_PK_BYTES];
    uint64_t ready_ms;
} s_recovery_t;

static void s_recovery_read(ec_cur_t *c, void *out)
{
    s_recovery_t *r = out;
    ec_cur_t f;
    ec_cur_enter(c, &f, 3);
    ec_cur_bin_fixed(&f, r->new_key, EC_PK_BYTES);
    ec_cur_bin_fixed(&f, r->ca, EC_PK_BYTES);
    ec_cur_uint(&f, &r->ready_ms);
    ec_cur_fold(c, &f);
}

/* "y/" hash: 1 with the recovery's fields, 0 when none, or a local fault. */
static int s_recovery(ec_ledger_t *l, bool pending, const uint8_t hash[EC_ADDR_HASH_BYTES],
                      uint8_t new_key[EC_PK_BYTES], uint8_t ca[EC_PK_BYTES], uint64_t *ready_ms,
                      ec_status_t *st)
{
    uint8_t key[2 + EC_ADDR_HASH_BYTES];
    s_recovery_t r;
    int rc =
        s_read(l, pending, key, s_ykey(key, hash), &r, sizeof r, s_recovery_read, "recovery", st);
    if (rc == 1) {
        memcpy(new_key, r.new_key, EC_PK_BYTES);
        memcpy(ca, r.ca, EC_PK_BYTES);
        *ready_ms = r.ready_ms;
    }
    return rc;
}

int mc_recovery_get(ec_ledger_t *l, const uint8_t hash[EC_ADDR_HASH_BYTES],
                    uint8_t new_key[EC_PK_BYTES], uint64_t *ready_ms, ec_status_t *st)
{
    uint8_t ca[EC_PK_BYTES];
    return s_recovery(l, false, hash, new_key, ca, ready_ms, st);
}

/* The account now signs with new_key (zero: none): retires `old` (revoked when asked),
 * stores the account and appends the KEY record. */
static int s_switch(ec_writer_t *w, ec_ledger_t *l, const uint8_t hash[EC_ADDR_HASH_BYTES],
                    mc_account_t *a, const uint8_t new_key[EC_PK_BYTES], bool revoked,
                    ec_status_t *st)
{
    if (memcmp(a->key, s_zero, EC_PK_BYTES) != 0)
        s_key_put(w, l, a->key, hash, revoked ? S_KEY_REVOKED : S_KEY_RETIRED);
    if (memcmp(new_key, s_zero, EC_PK_BYTES) != 0)
        s_key_put(w, l, new_key, hash, S_KEY_CURRENT);
    memcpy(a->key, new_key, EC_PK_BYTES);
    mc_account_store(w, l, hash, a);
    ec_record_t r;
    memset(&r, 0, sizeof r);
    r.kind = EC_REC_KEY;
    memcpy(r.pk, a->pk, EC_PK_BYTES);
    memcpy(r.key, new_key, EC_PK_BYTES);
    return mc_record_append(w, l, &r, st);
}

/* The new key is usable: not zero, not the current one, never any account's, and its
 * proof verifies. */
static int s_new_key_ok(ec_ledger_t *l, const uint8_t hash[EC_ADDR_HASH_BYTES],
                        const uint8_t old_key[EC_PK_BYTES], const uint8_t new_key[EC_PK_BYTES],
                        const uint8_t proof[EC_SIG_BYTES], ec_status_t *st)
{
    if (memcmp(new_key, s_zero, EC_PK_BYTES) == 0 || memcmp(new_key, old_key, EC_PK_BYTES) == 0)
        return ec_status_set(st, EC_EINVAL, "the new key must differ from the current one");
    int rc = mc_key_taken(l, new_key, st);
    if (rc != 0)
        return rc < 0 ? rc : EC_EEXIST;
    uint8_t msg[EC_KEY_PROOF_MSG_BYTES];
    ec_key_proof_msg(msg, hash, old_key, new_key);
    if (!ec_verify(proof, msg, sizeof msg, new_key))
        return ec_status_set(st, EC_ESIG,
                             "the new key's proof does not verify (it signs the account, the "
                             "current key and itself)");
    return 0;
}

static int s_rotate(ec_writer_t *w, ec_decoder_t *d, ec_block_ctx_t *ctx, const ec_tx_t *tx,
                    ec_status_t *st)
{
    ec_key_rotate_body_t b;
    uint8_t hash[EC_ADDR_HASH_BYTES];
    mc_account_t a;
    int rc = ec_key_rotate_body_read(&b, tx->body, st);
    rc = rc ? rc : mc_signer(ctx->ledger, d, tx->sender, hash, &a, st);
    rc = rc ? rc : s_new_key_ok(ctx->ledger, hash, tx->sender, b.new_key, b.proof, st);
    return rc ? rc : s_switch(w, ctx->ledger, hash, &a, b.new_key, false, st);
}

static int s_revoke(ec_writer_t *w, ec_decoder_t *d, ec_block_ctx_t *ctx, const ec_tx_t *tx,
                    ec_status_t *st)
{
    uint8_t hash[EC_ADDR_HASH_BYTES];
    mc_account_t a;
    int rc = ec_empty_body_read(tx->body, tx->type, st);
    rc = rc ? rc : mc_signer(ctx->ledger, d, tx->sender, hash, &a, st);
    return rc ? rc : s_switch(w, ctx->ledger, hash, &a, s_zero, true, st);
}

static int s_recover(ec_writer_t *w, ec_decoder_t *d, ec_block_ctx_t *ctx, const ec_tx_t *tx,
                     ec_status_t *st)
{
    ec_ledger_t *l = ctx->ledger;
    ec_key_recover_body_t b;
    uint8_t ca_hash[EC_ADDR_HASH_BYTES], new_key[EC_PK_BYTES], ca[EC_PK_BYTES];
    uint64_t ready = 0;
    mc_account_t a;
    int rc = ec_key_recover_body_read(&b, tx->body, st);
    rc = rc ? rc : mc_signer(l, d, tx->sender, ca_hash, &a, st);
    if (rc == 0 && a.roles[EC_ROLE_CA] == 0)
        rc = ec_status_set(st, EC_EPERM, "only a certification authority may start a recovery");
    rc = rc ? rc : mc_account_load(l, true, d, b.hash, &a, st);
    if (rc == 0 && !a.attested)
        rc = ec_status_set(st, EC_ESTATE, "%s is not an attested identity: only those recover",
                           b.address);
    if (rc == 0 && (rc = s_recovery(l, true, b.hash, new_key, ca, &ready, st)) == 1)
        rc = ec_status_set(st, EC_EEXIST, "a recovery of %s is already pending", b.address);
    rc = rc ? rc : s_new_key_ok(l, b.hash, a.key, b.new_key, b.proof, st);
    if (rc != 0)
        return rc;
    uint8_t key[2 + EC_ADDR_HASH_BYTES];
    ec_writer_reset(w);
    ec_write_array(w, 3);
    ec_write_bin(w, b.new_key, EC_PK_BYTES);
    ec_write_bin(w, tx->sender, EC_PK_BYTES);
    ec_write_uint(w, ctx->time_ms + EC_KEY_RECOVERY_DELAY_MS);
    ec_state_put(l, key, s_ykey(key, b.hash), ec_writer_data(w), ec_writer_size(w));
    return 0;
}

static int s_veto(ec_decoder_t *d, ec_block_ctx_t *ctx, const ec_tx_t *tx, ec_status_t *st)
{
    uint8_t hash[EC_ADDR_HASH_BYTES], new_key[EC_PK_BYTES], ca[EC_PK_BYTES];
    uint64_t ready = 0;
    mc_account_t a;
    int rc = ec_empty_body_read(tx->body, tx->type, st);
    rc = rc ? rc : mc_signer(ctx->ledger, d, tx->sender, hash, &a, st);
    if (rc == 0 && (rc = s_recovery(ctx->ledger, true, hash, new_key, ca, &ready, st)) == 0)
        rc = ec_status_set(st, EC_ENOTFOUND, "no recovery of this account is pending");
    if (rc != 1)
        return rc;
    uint8_t key[2 + EC_ADDR_HASH_BYTES];
    ec_state_del(ctx->ledger, key, s_ykey(key, hash));
    return 0;
}

static int s_finish(ec_writer_t *w, ec_decoder_t *d, ec_block_ctx_t *ctx, const ec_tx_t *tx,
                    ec_status_t *st)
{
    ec_ledger_t *l = ctx->ledger;
    ec_key_finish_body_t b;
    uint8_t new_key[EC_PK_BYTES], ca[EC_PK_BYTES];
    uint64_t ready = 0;
    mc_account_t a;
    int rc = ec_key_finish_body_read(&b, tx->body, st);
    if (rc == 0 && (rc = s_recovery(l, true, b.hash, new_key, ca, &ready, st)) == 0)
        rc = ec_status_set(st, EC_ENOTFOUND, "no recovery of %s is pending", b.address);
    if (rc == 1 && ctx->time_ms < ready)
        rc = ec_status_set(st, EC_ESTATE,
                           "the recovery of %s can finish from %" PRIu64
                           " ms (block time), when its waiting period is over",
                           b.address, ready);
    if (rc != 1)
        return rc;
    rc = mc_account_load(l, true, d, b.hash, &a, st);
    if (rc == 0 && (rc = mc_key_taken(l, new_key, st)) == 1)
        rc = EC_EEXIST;
    if (rc != 0)
        return rc;
    uint8_t key[2 + EC_ADDR_HASH_BYTES];
    ec_state_del(l, key, s_ykey(key, b.hash));
    return s_switch(w, l, b.hash, &a, new_key, false, st);
}

int mc_keys_query_signer(ec_ledger_t *l, const msgpack_object *args, ec_writer_t *out,
                         ec_status_t *st)
{
    uint8_t pk[EC_PK_BYTES], hash[EC_ADDR_HASH_BYTES];
    ec_cur_t c;
    ec_cur_open(&c, args, 1);
    ec_cur_bin_fixed(&c, pk, EC_PK_BYTES);
    if (ec_cur_finish(&c) != 0)
        return ec_status_set(st, EC_EINVAL, "signer takes [key: bin32]");
    uint64_t state = S_KEY_CURRENT;
    int rc = s_key_entry(l, false, pk, hash, &state, st);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        /* Never rotated: the account its hash names, if registered. */
        rc = s_identity_of(l, false, pk, hash, st);
        if (rc == 0)
            return ec_status_set(st, EC_ENOTFOUND, "no account has that key");
        if (rc < 0)
            return rc;
    }
    char addr[EC_ADDR_MAX];
    ec_address_from_hash(addr, hash);
    ec_write_array(out, 2);
    ec_write_cstr(out, addr);
    ec_write_cstr(out, state == S_KEY_CURRENT   ? "current"
                       : state == S_KEY_RETIRED ? "retired"
                                                : "revoked");
    return 0;
}

int mc_keys_check_tx(const ec_tx_t *tx, ec_status_t *st)
{
    switch (tx->type) {
        case EC_MTX_KEY_ROTATE: {
            ec_key_rotate_body_t b;
            return ec_key_rotate_body_read(&b, tx->body, st);
        }
        case EC_MTX_KEY_RECOVER: {
            ec_key_recover_body_t b;
            return ec_key_recover_body_read(&b, tx->body, st);
        }
        case EC_MTX_KEY_RECOVER_FINISH: {
            ec_key_finish_body_t b;
            return ec_key_finish_body_read(&b, tx->body, st);
        }
        default:
            return ec_empty_body_read(tx->body, tx->type, st);
    }
}

int mc_keys_deliver(ec_writer_t *w, ec_decoder_t *d, ec_block_ctx_t *ctx, const ec_tx_t *tx,
                    ec_status_t *st)
{
    switch (tx->type) {
        case EC_MTX_KEY_ROTATE:
            return s_rotate(w, d, ctx, tx, st);
        case EC_MTX_KEY_REVOKE:
            return s_revoke(w, d, ctx, tx, st);
        case EC_MTX_KEY_RECOVER:
            return s_recover(w, d, ctx, tx, st);
        case EC_MTX_KEY_VETO:
            return s_veto(d, ctx, tx, st);
        default:
            return s_finish(w, d, ctx, tx, st);
    }
}
