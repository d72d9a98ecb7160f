/*
 * ec_body.c - typed transaction bodies (ec_body.h; tables in docs/PROTOCOL.md).
 *
 * Invariants: each reader accepts exactly the arrays its encoder writes for structs that
 * satisfy the body's rules, so a body read and written again gives the same bytes
 * (fuzz_body checks it); a reader that fails leaves its struct zeroed. The messages are
 * the ones a node sends back when it refuses a transaction, so they name the shape a body
 * must have.
 */
#include "ec_body.h"

#include <assert.h>
#include <string.h>

/* ---- shared pieces ---------------------------------------------------------------------- */

void ec_cur_address(ec_cur_t *c, char addr[EC_ADDR_MAX], uint8_t hash[EC_ADDR_HASH_BYTES])
{
    ec_cur_str_copy(c, addr, EC_ADDR_MAX);
    if (c->err == 0 && ec_address_parse(hash, addr) != 0)
        ec_cur_fail(c, EC_EINVAL);
    if (c->err) {
        addr[0] = '\0';
        memset(hash, 0, EC_ADDR_HASH_BYTES);
    }
}

bool ec_org_code_valid(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char ch = s[n];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-'))
            return false;
    }
    return n >= 1 && n < EC_ORG_CODE_MAX;
}

/*
 * True when s[0..len) is UTF-8 (ec_utf8_valid) without C0 or C1 control characters or DEL:
 * names are shown to people and must not carry terminal escapes. In valid UTF-8 the C1
 * controls U+0080..U+009F are exactly the pairs 0xc2 0x80..0x9f (0xc2 is never a
 * continuation byte), so a byte scan finds them.
 */
static bool s_text_ok(const char *s, size_t len)
{
    const uint8_t *p = (const uint8_t *)s;
    if (!ec_utf8_valid(p, len))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f)
            return false;
        if (p[i] == 0xc2 && i + 1 < len && p[i + 1] <= 0x9f)
            return false;
    }
    return true;
}

/* A display name (account or organization): not empty, text_ok. 0 or EC_EINVAL with st. */
static int s_check_name(const char *name, const char *what, ec_status_t *st)
{
    size_t len = strlen(name);
    if (len == 0)
        return ec_status_set(st, EC_EINVAL, "%s is empty", what);
    if (!s_text_ok(name, len))
        return ec_status_set(st, EC_EINVAL, "%s must be UTF-8 without control characters", what);
    return 0;
}

/* Ends a reader: on rc != 0 zeroes the struct (size bytes at b) and passes rc on. */
static int s_done(void *b, size_t size, int rc)
{
    if (rc)
        memset(b, 0, size);
    return rc;
}

/* A str of min..cap-1 bytes copied into buf with its length (NUL bytes allowed, as for any
 * str: only UTF-8 is required); buf is NUL-terminated after them. ec_decode has checked
 * the UTF-8 of a transaction's strings already; a reader handed an object parsed some
 * other way checks it here. */
static void s_cur_text(ec_cur_t *c, char *buf, size_t cap, size_t *len, size_t min)
{
    const char *s = NULL;
    ec_cur_str(c, &s, len, cap - 1);
    if (c->err == 0 && (*len < min || !ec_utf8_valid(s, *len)))
        ec_cur_fail(c, EC_EINVAL);
    if (c->err == 0 && *len)
        memcpy(buf, s, *len);
    if (c->err)
        *len = 0;
    buf[*len] = '\0';
}

/* ---- main chain ------------------------------------------------------------------------- */

void ec_register_body_encode(ec_writer_t *w, const ec_register_body_t *b)
{
    ec_write_array(w, 1);
    ec_write_cstr(w, b->name);
}

int ec_register_body_read(ec_register_body_t *b, const msgpack_object *body, ec_status_t *st)
{
    ec_cur_t c;
    memset(b, 0, sizeof *b);
    ec_cur_open(&c, body, 1);
    ec_cur_str_copy(&c, b->name, sizeof b->name);
    int rc = ec_cur_finish(&c);
    if (rc != 0)
        rc = ec_status_set(st, rc, "REGISTER body must be [name: str of 1..%d bytes]",
                           EC_NAME_MAX - 1);
    else
        rc = s_check_name(b->name, "account name", st);
    return s_done(b, sizeof *b, rc);
}

void ec_org_body_encode(ec_writer_t *w, const ec_org_body_t *b)
{
    ec_write_array(w, 3);
    ec_write_cstr(w, b->org_code);
    ec_write_cstr(w, b->name);
    ec_write_uint(w, b->billing);
}

const char *ec_billing_name(uint64_t billing)
{
    return billing == EC_BILLING_PUBLIC       ? "public"
           : billing == EC_BILLING_COMMERCIAL ? "commercial"
                                              : NULL;
}

/* The message for an organization code that is not ec_org_code_valid. */
static int s_bad_org_code(ec_status_t *st)
{
    return ec_status_set(st, EC_EINVAL,
                         "organization code must be 1..%d characters of A-Z a-z 0-9 -",
                         EC_ORG_CODE_MAX - 1);
}

int ec_org_body_read(ec_org_body_t *b, const msgpack_object *body, ec_status_t *st)
{
    ec_cur_t c;
    memset(b, 0, sizeof *b);
    ec_cur_open(&c, body, 3);
    ec_cur_str_copy(&c, b->org_code, sizeof b->org_code);
    ec_cur_str_copy(&c, b->name, sizeof b->name);
    ec_cur_uint_max(&c, &b->billing, EC_BILLING_COMMERCIAL);
    int rc = ec_cur_finish(&c);
    if (rc != 0)
        rc = ec_status_set(st, rc,
                           "ORG body must be [org_code: str of 1..%d, name: str of 1..%d, "
                           "billing: 0 (public service) or 1 (commercial)]",
                           EC_ORG_CODE_MAX - 1, EC_NAME_MAX - 1);
    else if (!ec_org_code_valid(b->org_code))
        rc = s_bad_org_code(st);
    else
        rc = s_check_name(b->name, "organization name", st);
    return s_done(b, sizeof *b, rc);
}

void ec_role_body_encode(ec_writer_t *w, const ec_role_body_t *b)
{
    ec_write_array(w, 4);
    ec_write_cstr(w, b->address);
    ec_write_uint(w, b->role);
    ec_write_cstr(w, b->cert_type);
    ec_write_cstr(w, b->org_code);
}

/* The rules of a role body's fields, after its shape was read. 0 or EC_EINVAL with st. */
static int s_role_rules(const ec_role_body_t *b, ec_status_t *st)
{
    if (b->role == 0)
        return ec_status_set(st, EC_EINVAL, "role 0 is not a role (1..%d)", EC_ROLE_MAX);
    const char *name = ec_role_name(b->role);
    if (b->role == EC_ROLE_ISSUER || b->role == EC_ROLE_INSPECTOR) {
        if (!b->cert_type[0] || !b->org_code[0])
            return ec_status_set(st, EC_EINVAL,
                                 "the %s role needs a certificate type and an organization code",
                                 name);
    } else if (b->role == EC_ROLE_DEPLOYER) {
        /* With a certificate type: for that side chain; without: for the main chain. */
        if (!b->org_code[0])
            return ec_status_set(st, EC_EINVAL, "the deployer role needs an organization code");
    } else if (b->cert_type[0]) {
        return ec_status_set(st, EC_EINVAL, "the %s role takes no certificate type", name);
    }
    if (b->cert_type[0] && !ec_cert_type_valid(b->cert_type))
        return ec_status_set(st, EC_EINVAL,
                             "certificate type must be 1..%d characters of a-z 0-9 - _",
                             EC_CERT_TYPE_MAX - 1);
    if (b->org_code[0] && !ec_org_code_valid(b->org_code))
        return s_bad_org_code(st);
    return 0;
}

int ec_role_body_read(ec_role_body_t *b, const msgpack_object *body, ec_status_t *st)
{
    ec_cur_t c;
    uint64_t role = 0;
    memset(b, 0, sizeof *b);
    ec_cur_open(&c, body, 4);
    ec_cur_address(&c, b->address, b->hash);
    ec_cur_uint_max(&c, &role, EC_ROLE_MAX);
    ec_cur_str_copy(&c, b->cert_type, sizeof b->cert_type);
    ec_cur_str_copy(&c, b->org_code, sizeof b->org_code);
    b->role = (uint32_t)role;
    int rc = ec_cur_finish(&c);
    if (rc != 0)
        rc = ec_status_set(st, rc,
                           "ROLE_GRANT/ROLE_REVOKE body must be [address: ec1 address, role: "
                           "1..%d, cert_type: str of 0..%d, org_code: str of 0..%d]",
                           EC_ROLE_MAX, EC_CERT_TYPE_MAX - 1, EC_ORG_CODE_MAX - 1);
    else
        rc = s_role_rules(b, st);
    return s_done(b, sizeof *b, rc);
}

void ec_attest_body_encode(ec_writer_t *w, const ec_attest_body_t *b)
{
    ec_write_array(w, 2);
    ec_write_cstr(w, b->address);
    ec_write_bin(w, b->identity_hash, EC_HASH_BYTES);
}

int ec_attest_body_read(ec_attest_body_t *b, const msgpack_object *body, ec_status_t *st)
{
    ec_cur_t c;
    memset(b, 0, sizeof *b);
    ec_cur_open(&c, body, 2);
    ec_cur_address(&c, b->address, b->hash);
    ec_cur_bin_fixed(&c, b->identity_hash, EC_HASH_BYTES);
    int rc = ec_cur_finish(&c);
    if (rc != 0)
        rc = ec_status_set(st, rc,
                           "ATTEST body must be [address: ec1 address, identity_hash: bin32]");
    return s_done(b, sizeof *b, rc);
}

void ec_sidechain_body_encode(ec_writer_t *w, const ec_sidechain_body_t *b)
{
    ec_writer_t g;
    ec_writer_init(&g);
    ec_genesis_encode(&g, &b->genesis);
    ec_write_array(w, 1);
    ec_write_bin(w, ec_writer_data(&g), ec_writer_size(&g));
    ec_writer_fini(&g);
}

/* The rules of a SIDECHAIN body's genesis, after it decoded. 0 or an error with st. */
static int s_sidechain_rules(const ec_genesis_t *g, ec_status_t *st)
{
    if (g->kind != EC_CHAIN_SIDE)
        return ec_status_set(st, EC_ECHAIN, "genesis of %s is not a side-chain genesis",
                             g->chain_id);
    /* ec_genesis_decode already holds a side genesis to these; kept as the rule. */
    if (!ec_chain_id_valid(g->chain_id) || !ec_cert_type_valid(g->cert_type))
        return ec_status_set(st, EC_EINVAL,
                             "side chain needs a valid chain id and certificate type");
    if (g->validators.count == 0)
        return ec_status_set(st, EC_EINVAL, "side chain %s has no validators", g->chain_id);
    return 0;
}

int ec_sidechain_body_read(ec_sidechain_body_t *b, const msgpack_object *body, ec_status_t *st)
{
    ec_cur_t c;
    memset(b, 0, sizeof *b);
    ec_cur_open(&c, body, 1);
    ec_cur_bin(&c, &b->bytes, &b->size, EC_TX_BYTES_MAX);
    int rc = ec_cur_finish(&c);
    if (rc != 0)
        return s_done(b, sizeof *b, ec_status_set(st, rc, "SIDECHAIN body must be [genesis: bin]"));
    rc = ec_genesis_decode(&b->genesis, b->bytes, b->size);
    if (rc != 0)
        rc = ec_status_set(st, rc, "SIDECHAIN genesis does not decode (%s)", ec_strerror(rc));
    else
        rc = s_sidechain_rules(&b->genesis, st);
    return s_done(b, sizeof *b, rc);
}

/* ---- operator governance ---------------------------------------------------------------- */

bool ec_gov_action_type(uint64_t type)
{
    switch (type) {
        case EC_MTX_ORG:
        case EC_MTX_ROLE_GRANT:
        case EC_MTX_ROLE_REVOKE:
        case EC_MTX_SIDECHAIN:
        case EC_MTX_SIDECHAIN_UPDATE:
        case EC_MTX_VALIDATOR_UPDATE:
        case EC_MTX_SIDECHAIN_VALIDATOR:
        case EC_MTX_OPERATORS:
            return true;
        default:
            return false;
    }
}

void ec_propose_body_encode(ec_writer_t *w, const ec_propose_body_t *b)
{
    ec_write_array(w, 3);
    ec_write_uint(w, b->action_type);
    ec_write_bin(w, b->action, b->action_size);
    ec_write_uint(w, b->expires_ms);
}

int ec_propose_body_read(ec_propose_body_t *b, const msgpack_object *body, ec_status_t *st)
{
    ec_cur_t c;
    memset(b, 0, sizeof *b);
    ec_cur_open(&c, body, 3);
    ec_cur_uint(&c, &b->action_type);
    ec_cur_bin(&c, &b->action, &b->action_size, EC_GOV_ACTION_BYTES_MAX);
    ec_cur_uint(&c, &b->expires_ms);
    int rc = ec_cur_finish(&c);
    if (rc != 0)
        rc = ec_status_set(st, rc,
                           "GOV_PROPOSE body must be [action_type: uint, action: bin of "
                           "1..%u, expires_ms: uint]",
                           EC_GOV_ACTION_BYTES_MAX);
    else if (!ec_gov_action_type(b->action_type))
        rc = ec_status_set(st, EC_EINVAL, "a proposal cannot carry a %s transaction",
                           ec_tx_type_name(EC_CHAIN_MAIN, b->action_type));
    else if (b->action_size == 0 || b->expires_ms == 0)
        rc = ec_status_set(st, EC_EINVAL, "GOV_PROPOSE needs an action and an expiry");
    return s_done(b, sizeof *b, rc);
}

void ec_approve_body_encode(ec_writer_t *w, const ec_approve_body_t *b)
{
    ec_write_array(w, 1);
    ec_write_bin(w, b->proposal, EC_HASH_BYTES);
}

int ec_approve_body_read(ec_approve_body_t *b, const msgpack_object *body, ec_status_t *st)
{
    ec_cur_t c;
    memset(b, 0, sizeof *b);
    ec_cur_open(&c, body, 1);
    ec_cur_bin_fixed(&c, b->proposal, EC_HASH_BYTES);
    int rc = ec_cur_finish(&c);
    if (rc != 0)
        rc = ec_status_set(st, rc, "GOV_APPROVE body must be [proposal: bin32]");
    return s_done(b, sizeof *b, rc);
}

void ec_operators_body_encode(ec_writer_t *w, const ec_operators_body_t *b)
{
    assert(b->count <= EC_OPERATORS_MAX);
    ec_write_array(w, 2);
    ec_write_array(w, b->count);
    for (uint32_t i = 0; i < b->count; i++)
        ec_write_bin(w, b->pks[i], EC_PK_BYTES);
    ec_write_uint(w, b->quorum);
}

int ec_operators_check(const ec_operators_body_t *b, ec_status_t *st)
{
    if (b->count == 0 || b->count > EC_OPERATORS_MAX)
        return ec_status_set(st, EC_EINVAL, "an operator set has 1..%d keys", EC_OPERATORS_MAX);
    for (uint32_t i = 0; i < b->count; i++)
        for (uint32_t j = 0; j < i; j++)
            if (memcmp(b->pks[i], b->pks[j], EC_PK_BYTES) == 0)
                return ec_status_set(st, EC_EINVAL, "operator %u is listed twice", i);
    if (b->quorum < 1 || b->quorum > b->count)
        return ec_status_set(st, EC_EINVAL, "the operator quorum must be 1..%u", b->count);
    return 0;
}

int ec_operators_body_read(ec_operators_body_t *b, const msgpack_object *body, ec_status_t *st)
{
    ec_cur_t c, ops;
    uint64_t quorum = 0;
    memset(b, 0, sizeof *b);
    ec_cur_open(&c, body, 2);
    ec_cur_enter_max(&c, &ops, EC_OPERATORS_MAX);
    for (uint32_t i = 0; !ops.err && i < ops.count && i < EC_OPERATORS_MAX; i++) {
        ec_cur_bin_fixed(&ops, b->pks[i], EC_PK_BYTES);
        b->count = i + 1;
    }
    ec_cur_fold(&c, &ops);
    ec_cur_uint_max(&c, &quorum, EC_OPERATORS_MAX);
    int rc = ec_cur_finish(&c);
    b->quorum = (uint32_t)quorum;
    if (rc != 0)
        rc = ec_status_set(st, rc,
                           "OPERATORS body must be [operators: [bin32...] (1..%d), quorum: uint]",
                           EC_OPERATORS_MAX);
    else
        rc = ec_operators_check(b, st);
    return s_done(b, sizeof *b, rc);
}

void ec_proposal_encode(ec_writer_t *w, const ec_proposal_t *p)
{
    assert(p->approval_count <= EC_OPERATORS_MAX);
    ec_write_array(w, 9);
    ec_write_bin(w, p->id, EC_HASH_BYTES);
    ec_write_uint(w, p->seq);
    ec_write_uint(w, p->action_type);
    ec_write_bin(w, p->action, p->action_size);
    ec_write_bin(w, p->proposer, EC_PK_BYTES);
    ec_write_uint(w, p->height);
    ec_write_uint(w, p->expires_ms);
    ec_write_array(w, p->approval_count);
    for (uint32_t i = 0; i < p->approval_count; i++)
        ec_write_bin(w, p->approvals[i], EC_PK_BYTES);
    ec_write_uint(w, p->executed_height);
}

int ec_proposal_read(ec_proposal_t *p, const msgpack_object *o)
{
    ec_cur_t c, ap;
    memset(p, 0, sizeof *p);
    ec_cur_open(&c, o, 9);
    ec_cur_bin_fixed(&c, p->id, EC_HASH_BYTES);
    ec_cur_uint(&c, &p->seq);
    ec_cur_uint(&c, &p->action_type);
    ec_cur_bin(&c, &p->action, &p->action_size, EC_GOV_ACTION_BYTES_MAX);
    ec_cur_bin_fixed(&c, p->proposer, EC_PK_BYTES);
    ec_cur_uint(&c, &p->height);
    ec_cur_uint(&c, &p->expires_ms);
    ec_cur_enter_max(&c, &ap, EC_OPERATORS_MAX);
    for (uint32_t i = 0; !ap.err && i < ap.count && i < EC_OPERATORS_MAX; i++) {
        ec_cur_bin_fixed(&ap, p->approvals[i], EC_PK_BYTES);
        p->approval_count = i + 1;
    }
    ec_cur_fold(&c, &ap);
    ec_cur_uint(&c, &p->executed_height);
    return s_done(p, sizeof *p, ec_cur_finish(&c) == 0 ? 0 : EC_EINVAL);
}

/* ---- accounts' signing keys ------------------------------------------------------------- */

void ec_key_proof_msg(uint8_t out[EC_KEY_PROOF_MSG_BYTES], const uint8_t hash[EC_ADDR_HASH_BYTES],
                      const uint8_t old_key[EC_PK_BYTES], const uint8_t new_key[EC_PK_BYTES])
{
    memcpy(out, "ecert/key", 10); /* with its NUL */
    memcpy(out + 10, hash, EC_ADDR_HASH_BYTES);
    memcpy(out + 10 + EC_ADDR_HASH_BYTES, old_key, EC_PK_BYTES);
    memcpy(out + 10 + EC_ADDR_HASH_BYTES + EC_PK_BYTES, new_key, EC_PK_BYTES);
}

void ec_key_rotate_body_encode(ec_writer_t *w, const ec_key_rotate_body_t *b)
{
    ec_write_array(w, 2);
    ec_write_bin(w, b->new_key, EC_PK_BYTES);
    ec_write_bin(w, b->proof, EC_SIG_BYTES);
}

int ec_key_rotate_body_read(ec_key_rotate_body_t *b, const msgpack_object *body, ec_status_t *st)
{
    ec_cur_t c;
    memset(b, 0, sizeof *b);
    ec_cur_open(&c, body, 2);
    ec_cur_bin_fixed(&c, b->new_key, EC_PK_BYTES);
    ec_cur_bin_fixed(&c, b->proof, EC_SIG_BYTES);
    int rc = ec_cur_finish(&c);
    if (rc != 0)
        rc = ec_status_set(st, rc, "KEY_ROTATE body must be [new_key: bin32, proof: bin64]");
    return s_done(b, sizeof *b, rc);
}

void ec_key_recover_body_encode(ec_writer_t *w, const ec_key_recover_body_t *b)
{
    ec_write_array(w, 3);
    ec_write_cstr(w, b->address);
    ec_write_bin(w, b->new_key, EC_PK_BYTES);
    ec_write_bin(w, b->proof, EC_SIG_BYTES);
}

int ec_key_recover_body_read(ec_key_recover_body_t *b, const msgpack_object *body, ec_status_t *st)
{
    ec_cur_t c;
    memset(b, 0, sizeof *b);
    ec_cur_open(&c, body, 3);
    ec_cur_address(&c, b->address, b->hash);
    ec_cur_bin_fixed(&c, b->new_key, EC_PK_BYTES);
    ec_cur_bin_fixed(&c, b->proof, EC_SIG_BYTES);
    int rc = ec_cur_finish(&c);
    if (rc != 0)
        rc = ec_status_set(st, rc,
                           "KEY_RECOVER body must be [address: ec1 address, new_key: bin32, "
                           "proof: bin64]");
    return s_done(b, sizeof *b, rc);
}

void ec_key_finish_body_encode(ec_writer_t *w, const ec_key_finish_body_t *b)
{
    ec_write_array(w, 1);
    ec_write_cstr(w, b->address);
}

int ec_key_finish_body_read(ec_key_finish_body_t *b, const msgpack_object *body, ec_status_t *st)
{
    ec_cur_t c;
    memset(b, 0, sizeof *b);
    ec_cur_open(&c, body, 1);
    ec_cur_address(&c, b->address, b->hash);
    int rc = ec_cur_finish(&c);
    if (rc != 0)
        rc = ec_status_set(st, rc, "KEY_RECOVER_FINISH body must be [address: ec1 address]");
    return s_done(b, sizeof *b, rc);
}

void ec_empty_body_encode(ec_writer_t *w)
{
    ec_write_array(w, 0);
}

int ec_empty_body_read(const msgpack_object *body, uint64_t type, ec_status_t *st)
{
    ec_cur_t c;
    ec_cur_open(&c, body, 0);
    int rc = ec_cur_finish(&c);
    if (rc != 0)
        rc = ec_status_set(st, rc, "%s body must be []", ec_tx_type_name(EC_CHAIN_MAIN, type));
    return rc;
}

/* ---- side chain ------------------------------------------------------------------------- */

/* The shape of each side-chain body, for messages; index = tx type. */
static const char *const s_side_shapes[] = {
    [EC_STX_ISSUE] = "[holder: address, org_code: str(1..31), fields_root: bin32, "
                     "expires_ms: uint]",
    [EC_STX_INSPECT] = "[holder: address, org_code: str(1..31), cert_id: bin32, "
                       "verdict: str(1..255)]",
    [EC_STX_ACK] = "[cert_id: bin32]",
    [EC_STX_RENEW] = "[cert_id: bin32, expires_ms: uint]",
    [EC_STX_CHANGE] = "[cert_id: bin32, fields_root: bin32]",
    [EC_STX_REVOKE] = "[cert_id: bin32, reason: str(0..255)]",
    [EC_STX_ERASE] = "[cert_id: bin32, reason: str(1..255)]",
    [EC_STX_SUSPEND] = "[cert_id: bin32, reason: str(0..255)]",
    [EC_STX_REINSTATE] = "[cert_id: bin32, reason: str(0..255)]",
    [EC_STX_CANCEL] = "[cert_id: bin32, reason: str(0..255)]",
    [EC_STX_CONTRACT_DEPLOY] = "[name: str(1..63 of a-z 0-9 _ -), org_code: str(1..31), "
                               "code: bin(1..14336)]",
    [EC_STX_CONTRACT_UPGRADE] = "[name: str(1..63 of a-z 0-9 _ -), org_code: str(1..31), "
                                "code: bin(1..14336)]",
    [EC_STX_CONTRACT_CALL] = "[name: str(1..63 of a-z 0-9 _ -), fn: str(1..63 of A-Z a-z 0-9 _), "
                             "args: bin(1..8192)]",
    [EC_STX_CONTRACT_DECIDE] =
        "[name: str(1..63 of a-z 0-9 _ -), id: uint, decision: bin(1..8192)]",
    [EC_STX_EVIDENCE] = "[root: bin32, count: uint(1..1048576), note: str(0..255, no control "
                        "characters)]",
};

/* Ends a side-chain reader: finishes c, and on an error zeroes b and says the shape. */
static int s_side_done(ec_cur_t *c, void *b, size_t size, uint64_t type, ec_status_t *st)
{
    assert(type < sizeof s_side_shapes / sizeof s_side_shapes[0] && s_side_shapes[type]);
    int rc = ec_cur_finish(c);
    if (rc != 0)
        ec_status_set(st, rc, "%s body must be %s", ec_tx_type_name(EC_CHAIN_SIDE, type),
                      s_side_shapes[type]);
    return s_done(b, size, rc);
}

/* An organization code on the side chain: 1..EC_ORG_CODE_MAX-1 bytes (the main chain
 * checked its alphabet when it registered the organization). */
static void s_cur_org(ec_cur_t *c, char org[EC_ORG_CODE_MAX])
{
    ec_cur_str_copy(c, org, EC_ORG_CODE_MAX);
    if (c->err == 0 && (org[0] == '\0' || !ec_utf8_valid(org, strlen(org))))
        ec_cur_fail(c, EC_EINVAL);
}

void ec_issue_body_encode(ec_writer_t *w, const ec_issue_body_t *b)
{
    ec_write_array(w, 4);
    ec_write_cstr(w, b->holder);
    ec_write_cstr(w, b->org_code);
    ec_write_bin(w, b->fields_root, EC_HASH_BYTES);
    ec_write_uint(w, b->expires_ms);
}

int ec_issue_body_read(ec_issue_body_t *b, const msgpack_object *body, ec_status_t *st)
{
    ec_cur_t c;
    memset(b, 0, sizeof *b);
    ec_cur_open(&c, body, 4);
    ec_cur_address(&c, b->holder, b->holder_hash);
    s_cur_org(&c, b->org_code);
    ec_cur_bin_fixed(&c, b->fields_root, EC_HASH_BYTES);
    ec_cur_uint(&c, &b->expires_ms);
    return s_side_done(&c, b, sizeof *b, EC_STX_ISSUE, st);
}

void ec_inspect_body_encode(ec_writer_t *w, const ec_inspect_body_t *b)
{
    assert(b->verdict_len < EC_VERDICT_MAX);
    ec_write_array(w, 4);
    ec_write_cstr(w, b->holder);
    ec_write_cstr(w, b->org_code);
    ec_write_bin(w, b->cert_id, EC_HASH_BYTES);
    ec_write_str(w, b->verdict, b->verdict_len);
}

int ec_inspect_body_read(ec_inspect_body_t *b, const msgpack_object *body, ec_status_t *st)
{
    ec_cur_t c;
    memset(b, 0, sizeof *b);
    ec_cur_open(&c, body, 4);
    ec_cur_address(&c, b->holder, b->holder_hash);
    s_cur_org(&c, b->org_code);
    ec_cur_bin_fixed(&c, b->cert_id, EC_HASH_BYTES);
    s_cur_text(&c, b->verdict, sizeof b->verdict, &b->verdict_len, 1);
    return s_side_done(&c, b, sizeof *b, EC_STX_INSPECT, st);
}

void ec_ack_body_encode(ec_writer_t *w, const ec_ack_body_t *b)
{
    ec_write_array(w, 1);
    ec_write_bin(w, b->cert_id, EC_HASH_BYTES);
}

int ec_ack_body_read(ec_ack_body_t *b, const msgpack_object *body, ec_status_t *st)
{
    ec_cur_t c;
    memset(b, 0, sizeof *b);
    ec_cur_open(&c, body, 1);
    ec_cur_bin_fixed(&c, b->cert_id, EC_HASH_BYTES);
    return s_side_done(&c, b, sizeof *b, EC_STX_ACK, st);
}

void ec_renew_body_encode(ec_writer_t *w, const ec_renew_body_t *b)
{
    ec_write_array(w, 2);
    ec_write_bin(w, b->cert_id, EC_HASH_BYTES);
    ec_write_uint(w, b->expires_ms);
}

int ec_renew_body_read(ec_renew_body_t *b, const msgpack_object *body, ec_status_t *st)
{
    ec_cur_t c;
    memset(b, 0, sizeof *b);
    ec_cur_open(&c, body, 2);
    ec_cur_bin_fixed(&c, b->cert_id, EC_HASH_BYTES);
    ec_cur_uint(&c, &b->expires_ms);
    return s_side_done(&c, b, sizeof *b, EC_STX_RENEW, st);
}

void ec_change_body_encode(ec_writer_t *w, const ec_change_body_t *b)
{
    ec_write_array(w, 2);
    ec_write_bin(w, b->cert_id, EC_HASH_BYTES);
    ec_write_bin(w, b->fields_root, EC_HASH_BYTES);
}

int ec_change_body_read(ec_change_body_t *b, const msgpack_object *body, ec_status_t *st)
{
    ec_cur_t c;
    memset(b, 0, sizeof *b);
    ec_cur_open(&c, body, 2);
    ec_cur_bin_fixed(&c, b->cert_id, EC_HASH_BYTES);
    ec_cur_bin_fixed(&c, b->fields_root, EC_HASH_BYTES);
    return s_side_done(&c, b, sizeof *b, EC_STX_CHANGE, st);
}

void ec_revoke_body_encode(ec_writer_t *w, const ec_revoke_body_t *b)
{
    assert(b->reason_len < EC_REASON_MAX);
    ec_write_array(w, 2);
    ec_write_bin(w, b->cert_id, EC_HASH_BYTES);
    ec_write_str(w, b->reason, b->reason_len);
}

/* REVOKE and ERASE: [cert_id, reason of min..EC_REASON_MAX-1 bytes]. */
static int s_reason_read(ec_revoke_body_t *b, const msgpack_object *body, uint64_t type, size_t min,
                         ec_status_t *st)
{
    ec_cur_t c;
    memset(b, 0, sizeof *b);
    ec_cur_open(&c, body, 2);
    ec_cur_bin_fixed(&c, b->cert_id, EC_HASH_BYTES);
    s_cur_text(&c, b->reason, sizeof b->reason, &b->reason_len, min);
    return s_side_done(&c, b, sizeof *b, type, st);
}

int ec_revoke_body_read(ec_revoke_body_t *b, const msgpack_object *body, ec_status_t *st)
{
    return s_reason_read(b, body, EC_STX_REVOKE, 0, st);
}

void ec_erase_body_encode(ec_writer_t *w, const ec_erase_body_t *b)
{
    ec_revoke_body_encode(w, b);
}

int ec_erase_body_read(ec_erase_body_t *b, const msgpack_object *body, ec_status_t *st)
{
    return s_reason_read(b, body, EC_STX_ERASE, 1, st);
}

int ec_status_body_read(ec_revoke_body_t *b, const msgpack_object *body, uint64_t type,
                        ec_status_t *st)
{
    assert(type == EC_STX_SUSPEND || type == EC_STX_REINSTATE || type == EC_STX_CANCEL);
    return s_reason_read(b, body, type, 0, st);
}

/* ---- contracts ------------------------------------------------------------------------- */

bool ec_contract_name_valid(const char *name)
{
    size_t n = strlen(name);
    return n >= 1 && n < EC_CONTRACT_NAME_MAX &&
           strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static bool s_fn_valid(const char *fn)
{
    size_t n = strlen(fn);
    return n >= 1 && n < EC_CONTRACT_NAME_MAX &&
           strspn(fn, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

void ec_contract_deploy_body_encode(ec_writer_t *w, const ec_contract_deploy_body_t *b)
{
    ec_write_array(w, 3);
    ec_write_cstr(w, b->name);
    ec_write_cstr(w, b->org_code);
    ec_write_bin(w, b->code, b->code_size);
}

int ec_contract_deploy_body_read(ec_contract_deploy_body_t *b, const msgpack_object *body,
                                 uint64_t type, ec_status_t *st)
{
    ec_cur_t c;
    memset(b, 0, sizeof *b);
    ec_cur_open(&c, body, 3);
    ec_cur_str_copy(&c, b->name, sizeof b->name);
    s_cur_org(&c, b->org_code);
    ec_cur_bin(&c, &b->code, &b->code_size, EC_CONTRACT_CODE_TX_MAX);
    if (!c.err && (!ec_contract_name_valid(b->name) || b->code_size == 0))
        ec_cur_fail(&c, EC_EINVAL);
    return s_side_done(&c, b, sizeof *b, type, st);
}

void ec_contract_call_body_encode(ec_writer_t *w, const ec_contract_call_body_t *b)
{
    ec_write_array(w, 3);
    ec_write_cstr(w, b->name);
    ec_write_cstr(w, b->fn);
    ec_write_bin(w, b->args, b->args_size);
}

int ec_contract_call_body_read(ec_contract_call_body_t *b, const msgpack_object *body,
                               ec_status_t *st)
{
    ec_cur_t c;
    memset(b, 0, sizeof *b);
    ec_cur_open(&c, body, 3);
    ec_cur_str_copy(&c, b->name, sizeof b->name);
    ec_cur_str_copy(&c, b->fn, sizeof b->fn);
    ec_cur_bin(&c, &b->args, &b->args_size, EC_CONTRACT_ARGS_TX_MAX);
    if (!c.err && (!ec_contract_name_valid(b->name) || !s_fn_valid(b->fn) || b->args_size == 0))
        ec_cur_fail(&c, EC_EINVAL);
    return s_side_done(&c, b, sizeof *b, EC_STX_CONTRACT_CALL, st);
}

void ec_contract_decide_body_encode(ec_writer_t *w, const ec_contract_decide_body_t *b)
{
    ec_write_array(w, 3);
    ec_write_cstr(w, b->name);
    ec_write_uint(w, b->id);
    ec_write_bin(w, b->decision, b->decision_size);
}

int ec_contract_decide_body_read(ec_contract_decide_body_t *b, const msgpack_object *body,
                                 ec_status_t *st)
{
    ec_cur_t c;
    memset(b, 0, sizeof *b);
    ec_cur_open(&c, body, 3);
    ec_cur_str_copy(&c, b->name, sizeof b->name);
    ec_cur_uint(&c, &b->id);
    ec_cur_bin(&c, &b->decision, &b->decision_size, EC_CONTRACT_ARGS_TX_MAX);
    if (!c.err && (!ec_contract_name_valid(b->name) || b->decision_size == 0))
        ec_cur_fail(&c, EC_EINVAL);
    return s_side_done(&c, b, sizeof *b, EC_STX_CONTRACT_DECIDE, st);
}

/* ---- evidence deposits ------------------------------------------------------------------ */

void ec_evidence_body_encode(ec_writer_t *w, const ec_evidence_body_t *b)
{
    assert(b->note_len < EC_EVIDENCE_NOTE_MAX);
    ec_write_array(w, 3);
    ec_write_bin(w, b->root, EC_HASH_BYTES);
    ec_write_uint(w, b->count);
    ec_write_str(w, b->note, b->note_len);
}

int ec_evidence_body_read(ec_evidence_body_t *b, const msgpack_object *body, ec_status_t *st)
{
    ec_cur_t c;
    memset(b, 0, sizeof *b);
    ec_cur_open(&c, body, 3);
    ec_cur_bin_fixed(&c, b->root, EC_HASH_BYTES);
    ec_cur_uint_max(&c, &b->count, EC_EVIDENCE_BATCH_MAX);
    s_cur_text(&c, b->note, sizeof b->note, &b->note_len, 0);
    /* A note is shown to whoever checks a file against the deposit: no terminal escapes. */
    if (!c.err && (b->count == 0 || !s_text_ok(b->note, b->note_len)))
        ec_cur_fail(&c, EC_EINVAL);
    return s_side_done(&c, b, sizeof *b, EC_STX_EVIDENCE, st);
}
