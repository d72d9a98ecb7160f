/*
 * ec_bundle.c - the proof bundle: encoding, strict parsing and offline verification of the
 * chain of proofs from a side-chain transaction to a trusted main-chain header (layout in
 * ec_bundle.h and docs/PROTOCOL.md "Proof bundle").
 *
 * Invariant: every byte of an accepted bundle is covered by a check. The structure is
 * canonical (the codec), each proof step binds the next object's hash, and the main
 * header is bound by its commit (every signature checked) or by a trusted hash. The unit
 * test flips each byte of a real bundle and expects a failure at every position.
 */
#include "ec_bundle.h"

#include <stdlib.h>
#include <string.h>

#include "ec_chain.h"

enum { S_BUNDLE_FIELDS = 15 };

void ec_bundle_encode(ec_writer_t *w, const ec_bundle_parts_t *p)
{
    ec_write_array(w, S_BUNDLE_FIELDS);
    ec_write_uint(w, EC_BUNDLE_VERSION);
    ec_write_cstr(w, p->side_chain_id);
    ec_write_bin(w, p->tx, p->tx_size);
    if (p->payload)
        ec_write_bin(w, p->payload, p->payload_size);
    else
        ec_write_nil(w);
    ec_write_uint(w, p->tx_index);
    ec_write_array(w, 3);
    ec_write_int(w, p->result.code);
    ec_write_uint(w, p->result.ref);
    ec_write_uint(w, p->result.slot);
    ec_write_path(w, p->tx_path, p->tx_path_len);
    ec_bundle_anchoring_encode(w, p);
}

void ec_bundle_anchoring_encode(ec_writer_t *w, const ec_bundle_parts_t *p)
{
    ec_write_bin(w, p->side_header, p->side_header_size);
    if (p->anchored_header)
        ec_write_bin(w, p->anchored_header, p->anchored_header_size);
    else
        ec_write_nil(w);
    ec_write_path(w, p->hist_path, p->hist_path_len);
    ec_write_uint(w, p->anchor_index);
    ec_write_path(w, p->anchor_path, p->anchor_path_len);
    ec_write_bin(w, p->main_header, p->main_header_size);
    ec_write_bin(w, p->main_commit, p->main_commit_size);
    ec_write_array(w, (uint32_t)p->transition_count);
    for (size_t i = 0; i < p->transition_count; i++) {
        const ec_bundle_transition_t *t = &p->transitions[i];
        ec_write_array(w, 3);
        ec_write_bin(w, t->header, t->header_size);
        ec_write_bin(w, t->commit, t->commit_size);
        ec_valset_encode(w, &t->next);
    }
}

/* Reads the result [code, ref, slot]: code 0 or an EC_E* code. Sticky. */
static void s_cur_result(ec_cur_t *c, ec_tx_result_t *r)
{
    ec_cur_t f;
    int64_t code = 0;
    ec_cur_enter(c, &f, 3);
    ec_cur_int(&f, &code);
    ec_cur_uint(&f, &r->ref);
    ec_cur_uint(&f, &r->slot);
    if (!f.err && (code > 0 || code < -64))
        ec_cur_fail(&f, EC_EINVAL);
    r->code = (int32_t)code;
    ec_cur_fold(c, &f);
}

/* Reads the transitions list into b. Sticky. */
static void s_cur_transitions(ec_cur_t *c, ec_bundle_t *b)
{
    ec_cur_t list;
    ec_cur_enter_max(c, &list, EC_BUNDLE_TRANSITIONS_MAX);
    for (uint32_t i = 0; !list.err && i < list.count; i++) {
        ec_bundle_transition_t *t = &b->transitions[i];
        ec_cur_t f;
        ec_cur_enter(&list, &f, 3);
        ec_cur_bin(&f, &t->header, &t->header_size, 1024);
        ec_cur_bin(&f, &t->commit, &t->commit_size, 4096);
        ec_valset_read(&f, &t->next);
        if (!f.err && t->next.count == 0)
            ec_cur_fail(&f, EC_EINVAL);
        ec_cur_fold(&list, &f);
    }
    b->parts.transition_count = list.err ? 0 : list.count;
    ec_cur_fold(c, &list);
}

/* Reads a bin that may be nil; NULL data for nil. */
static void s_cur_bin_opt(ec_cur_t *c, const uint8_t **data, size_t *size, size_t max)
{
    *data = NULL;
    *size = 0;
    if (ec_cur_peek_nil(c))
        ec_cur_nil(c);
    else
        ec_cur_bin(c, data, size, max);
}

static int s_bundle_read(ec_bundle_t *b, const msgpack_object *root)
{
    ec_bundle_parts_t *p = &b->parts;
    ec_cur_t c;
    uint64_t version = 0;
    if (root->type == MSGPACK_OBJECT_ARRAY && root->via.array.size >= 1 &&
        root->via.array.ptr[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
        root->via.array.ptr[0].via.u64 != EC_BUNDLE_VERSION)
        return EC_EVERSION;
    ec_cur_open(&c, root, S_BUNDLE_FIELDS);
    ec_cur_uint(&c, &version);
    ec_cur_str_copy(&c, b->side_chain_id, EC_CHAIN_ID_MAX);
    ec_cur_bin(&c, &p->tx, &p->tx_size, EC_TX_BYTES_MAX);
    s_cur_bin_opt(&c, &p->payload, &p->payload_size, EC_PAYLOAD_BYTES_MAX);
    ec_cur_uint(&c, &p->tx_index);
    s_cur_result(&c, &p->result);
    ec_cur_path(&c, b->tx_path, &p->tx_path_len);
    ec_bundle_anchoring_read(&c, b);
    int rc = ec_cur_finish(&c);
    if (rc == 0 && !ec_chain_id_valid(b->side_chain_id))
        rc = EC_EINVAL;
    p->side_chain_id = b->side_chain_id;
    p->tx_path = b->tx_path;
    return rc;
}

void ec_bundle_anchoring_read(ec_cur_t *c, ec_bundle_t *b)
{
    ec_bundle_parts_t *p = &b->parts;
    ec_cur_bin(c, &p->side_header, &p->side_header_size, 1024);
    s_cur_bin_opt(c, &p->anchored_header, &p->anchored_header_size, 1024);
    ec_cur_path(c, b->hist_path, &p->hist_path_len);
    ec_cur_uint(c, &p->anchor_index);
    ec_cur_path(c, b->anchor_path, &p->anchor_path_len);
    ec_cur_bin(c, &p->main_header, &p->main_header_size, 1024);
    ec_cur_bin(c, &p->main_commit, &p->main_commit_size, 4096);
    s_cur_transitions(c, b);
    p->hist_path = b->hist_path;
    p->anchor_path = b->anchor_path;
    p->transitions = b->transitions;
}

int ec_bundle_decode(ec_bundle_t *b, const uint8_t *bundle, size_t size)
{
    memset(b, 0, sizeof *b);
    if (size > EC_BUNDLE_BYTES_MAX)
        return EC_ETOOBIG;
    ec_decoder_init(&b->dec);
    const msgpack_object *root = NULL;
    int rc = ec_decode(&b->dec, bundle, size, &root);
    if (rc == 0)
        rc = s_bundle_read(b, root);
    if (rc) {
        ec_decoder_fini(&b->dec);
        memset(b, 0, sizeof *b);
    }
    return rc;
}

void ec_bundle_fini(ec_bundle_t *b)
{
    if (b)
        ec_decoder_fini(&b->dec);
}

/* Step 1-2: the transaction, its signature and its payload. */
static int s_verify_tx(const ec_bundle_parts_t *p, ec_tx_t *tx, ec_bundle_info_t *info,
                       ec_status_t *st)
{
    int rc = ec_tx_decode(tx, p->tx, p->tx_size);
    if (rc)
        return ec_status_set(st, rc, "transaction: malformed (%s)", ec_errname(rc));
    if (strcmp(tx->chain_id, p->side_chain_id) != 0)
        return ec_status_set(st, EC_ECHAIN, "transaction: chain %s, bundle says %s", tx->chain_id,
                             p->side_chain_id);
    if (!ec_tx_verify_sig(tx))
        return ec_status_set(st, EC_ESIG, "transaction: signature does not verify");
    if (p->payload) {
        uint8_t hash[EC_HASH_BYTES];
        if (!tx->has_payload)
            return ec_status_set(st, EC_EINVAL, "payload: transaction has no payload_hash");
        ec_sha256(hash, p->payload, p->payload_size);
        if (memcmp(hash, tx->payload_hash, EC_HASH_BYTES) != 0)
            return ec_status_set(st, EC_EPROOF, "payload: hash differs from payload_hash");
        info->has_payload = true;
    }
    memcpy(info->tx_id, tx->id, EC_HASH_BYTES);
    memcpy(info->sender, tx->sender, EC_PK_BYTES);
    info->tx_type = tx->type;
    return 0;
}

/* Step 3: the side header and the transaction's place in its tx_root. */
static int s_verify_side(const ec_bundle_parts_t *p, const ec_tx_t *tx, ec_header_t *side,
                         ec_status_t *st)
{
    int rc = ec_header_decode(side, p->side_header, p->side_header_size);
    if (rc)
        return ec_status_set(st, rc, "side header: malformed (%s)", ec_errname(rc));
    if (strcmp(side->chain_id, p->side_chain_id) != 0)
        return ec_status_set(st, EC_ECHAIN, "side header: chain %s, bundle says %s", side->chain_id,
                             p->side_chain_id);
    uint8_t leaf[EC_HASH_BYTES];
    ec_tx_leaf(leaf, tx->id, &p->result);
    if (ec_merkle_inclusion_verify(leaf, p->tx_index, side->tx_count, p->tx_path, p->tx_path_len,
                                   side->tx_root) != 0)
        return ec_status_set(st, EC_EPROOF, "tx_path: tx %llu of %llu not in side block %llu",
                             (unsigned long long)p->tx_index, (unsigned long long)side->tx_count,
                             (unsigned long long)side->height);
    return 0;
}

/*
 * Step 4: the side block in the anchored side header's history. Writes the anchored
 * height and hash. With no anchored header the block itself was anchored (a == h).
 */
static int s_verify_hist(const ec_bundle_parts_t *p, const ec_header_t *side,
                         uint64_t *anchored_height, uint8_t anchored_hash[EC_HASH_BYTES],
                         ec_status_t *st)
{
    uint8_t side_hash[EC_HASH_BYTES];
    ec_header_hash(side_hash, side);
    if (!p->anchored_header) {
        if (p->hist_path_len != 0)
            return ec_status_set(st, EC_EINVAL,
                                 "hist_path: must be empty without an "
                                 "anchored header");
        *anchored_height = side->height;
        memcpy(anchored_hash, side_hash, EC_HASH_BYTES);
        return 0;
    }
    ec_header_t anchored;
    int rc = ec_header_decode(&anchored, p->anchored_header, p->anchored_header_size);
    if (rc)
        return ec_status_set(st, rc, "anchored header: malformed (%s)", ec_errname(rc));
    if (strcmp(anchored.chain_id, p->side_chain_id) != 0)
        return ec_status_set(st, EC_ECHAIN, "anchored header: chain %s, bundle says %s",
                             anchored.chain_id, p->side_chain_id);
    if (anchored.height <= side->height)
        return ec_status_set(st, EC_EINVAL, "anchored header: height %llu not above %llu",
                             (unsigned long long)anchored.height, (unsigned long long)side->height);
    uint8_t leaf[EC_HASH_BYTES];
    ec_merkle_leaf(leaf, EC_LEAF_BLOCK, side_hash, EC_HASH_BYTES);
    if (ec_merkle_inclusion_verify(leaf, side->height, anchored.height, p->hist_path,
                                   p->hist_path_len, anchored.hist_root) != 0)
        return ec_status_set(st, EC_EPROOF,
                             "hist_path: side block %llu not in the history of block %llu",
                             (unsigned long long)side->height, (unsigned long long)anchored.height);
    *anchored_height = anchored.height;
    ec_header_hash(anchored_hash, &anchored);
    return 0;
}

/* Step 5-6: the anchor entry in the main header, and the main header's chain id. */
static int s_verify_main(const ec_bundle_parts_t *p, const char *main_chain_id,
                         uint64_t anchored_height, const uint8_t anchored_hash[EC_HASH_BYTES],
                         ec_header_t *main, ec_status_t *st)
{
    int rc = ec_header_decode(main, p->main_header, p->main_header_size);
    if (rc)
        return ec_status_set(st, rc, "main header: malformed (%s)", ec_errname(rc));
    ec_anchor_entry_t entry;
    memset(&entry, 0, sizeof entry);
    memcpy(entry.chain_id, p->side_chain_id, strlen(p->side_chain_id) + 1);
    entry.height = anchored_height;
    memcpy(entry.header_hash, anchored_hash, EC_HASH_BYTES);
    uint8_t leaf[EC_HASH_BYTES];
    ec_anchor_entry_leaf(leaf, &entry);
    if (ec_merkle_inclusion_verify(leaf, p->anchor_index, main->xanchor_count, p->anchor_path,
                                   p->anchor_path_len, main->xanchor_root) != 0)
        return ec_status_set(st, EC_EPROOF,
                             "anchor_path: anchor of %s height %llu not entry %llu of main "
                             "block %llu",
                             p->side_chain_id, (unsigned long long)anchored_height,
                             (unsigned long long)p->anchor_index, (unsigned long long)main->height);
    if (strcmp(main->chain_id, main_chain_id) != 0)
        return ec_status_set(st, EC_ECHAIN, "main header: chain %s, trusted chain is %s",
                             main->chain_id, main_chain_id);
    return 0;
}

/*
 * Carries the trusted set vs forward through the main chain's validator-set changes the
 * bundle lists: each transition header must be committed by the set in force, come before
 * the main header, and name the next set, which then takes over. 0 or EC_ESIG / EC_EINVAL.
 */
static int s_verify_transitions(const ec_bundle_parts_t *p, const ec_header_t *main,
                                ec_valset_t *vs, ec_status_t *st)
{
    uint64_t last = 0;
    for (size_t i = 0; i < p->transition_count; i++) {
        const ec_bundle_transition_t *t = &p->transitions[i];
        ec_header_t h;
        ec_commit_t c;
        uint8_t hash[EC_HASH_BYTES];
        if (ec_header_decode(&h, t->header, t->header_size) != 0 ||
            ec_commit_decode(&c, t->commit, t->commit_size) != 0)
            return ec_status_set(st, EC_EINVAL, "main transition %zu: malformed", i);
        if (strcmp(h.chain_id, main->chain_id) != 0 || h.height <= last || h.height >= main->height)
            return ec_status_set(st, EC_EINVAL, "main transition %zu: out of order", i);
        ec_valset_hash(hash, vs);
        if (memcmp(hash, h.valset_hash, EC_HASH_BYTES) != 0)
            return ec_status_set(st, EC_ESIG,
                                 "main transition %zu: header %llu is not committed by the set "
                                 "this bundle trusts at that height",
                                 i, (unsigned long long)h.height);
        int rc = ec_commit_verify(&c, &h, vs);
        if (rc)
            return ec_status_set(st, EC_ESIG, "main transition %zu: commit does not verify (%s)", i,
                                 ec_errname(rc));
        ec_valset_hash(hash, &t->next);
        if (memcmp(hash, h.next_valset_hash, EC_HASH_BYTES) != 0)
            return ec_status_set(st, EC_ESIG,
                                 "main transition %zu: the set given is not the one header %llu "
                                 "names",
                                 i, (unsigned long long)h.height);
        *vs = t->next;
        last = h.height;
    }
    return 0;
}

/* Step 7: the main header is trusted, by its commit or by its hash. */
static int s_verify_trust(const ec_bundle_parts_t *p, const ec_header_t *main,
                          const ec_valset_t *main_vs,
                          const uint8_t trusted_main_hash[EC_HASH_BYTES],
                          uint8_t main_hash[EC_HASH_BYTES], ec_status_t *st)
{
    ec_commit_t commit;
    int rc = ec_commit_decode(&commit, p->main_commit, p->main_commit_size);
    if (rc)
        return ec_status_set(st, rc, "main commit: malformed (%s)", ec_errname(rc));
    ec_header_hash(main_hash, main);
    /* Even when only a hash is trusted, the commit must at least name this header. */
    if (commit.height != main->height || memcmp(commit.block_hash, main_hash, EC_HASH_BYTES))
        return ec_status_set(st, EC_ESIG, "main commit: not for this main header");
    if (main_vs) {
        ec_valset_t vs = *main_vs;
        rc = s_verify_transitions(p, main, &vs, st);
        if (rc)
            return rc;
        rc = ec_commit_verify(&commit, main, &vs);
        if (rc)
            return ec_status_set(st, EC_ESIG, "main commit: does not verify (%s)", ec_errname(rc));
    }
    if (trusted_main_hash && memcmp(trusted_main_hash, main_hash, EC_HASH_BYTES) != 0)
        return ec_status_set(st, EC_ESIG, "main header: not the trusted header");
    return 0;
}

int ec_bundle_anchoring_verify(const ec_bundle_parts_t *p, const ec_header_t *side,
                               const char *main_chain_id, const ec_valset_t *main_vs,
                               const uint8_t trusted_main_hash[EC_HASH_BYTES],
                               ec_bundle_info_t *info, ec_status_t *st)
{
    if (!main_vs && !trusted_main_hash)
        return ec_status_set(st, EC_EINVAL, "no trusted main validator set or header hash");
    if (strcmp(side->chain_id, p->side_chain_id) != 0)
        return ec_status_set(st, EC_ECHAIN, "side header: chain %s, expected %s", side->chain_id,
                             p->side_chain_id);
    ec_header_t main;
    uint8_t anchored_hash[EC_HASH_BYTES];
    uint64_t anchored_height = 0;
    int rc = s_verify_hist(p, side, &anchored_height, anchored_hash, st);
    if (rc == 0)
        rc = s_verify_main(p, main_chain_id, anchored_height, anchored_hash, &main, st);
    if (rc == 0)
        rc = s_verify_trust(p, &main, main_vs, trusted_main_hash, info->main_hash, st);
    if (rc)
        return rc;
    memcpy(info->side_chain_id, p->side_chain_id, strlen(p->side_chain_id) + 1);
    memcpy(info->main_chain_id, main.chain_id, strlen(main.chain_id) + 1);
    info->side_height = side->height;
    info->anchored_height = anchored_height;
    info->main_height = main.height;
    info->main_transitions = p->transition_count;
    return 0;
}

int ec_bundle_verify(const uint8_t *bundle, size_t size, const char *main_chain_id,
                     const ec_valset_t *main_vs, const uint8_t trusted_main_hash[EC_HASH_BYTES],
                     ec_bundle_info_t *info, ec_status_t *st)
{
    /* Misuse: a caller that trusts nothing would accept anything. */
    if (!main_vs && !trusted_main_hash)
        return ec_status_set(st, EC_EINVAL, "no trusted main validator set or header hash");
    ec_status_clear(st);
    memset(info, 0, sizeof *info);
    ec_bundle_t *b = malloc(sizeof *b);
    if (!b)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    int rc = ec_bundle_decode(b, bundle, size);
    if (rc) {
        free(b);
        return ec_status_set(st, rc, "bundle: malformed (%s)", ec_errname(rc));
    }
    const ec_bundle_parts_t *p = &b->parts;
    ec_tx_t tx;
    ec_header_t side;
    memset(&tx, 0, sizeof tx);
    rc = s_verify_tx(p, &tx, info, st);
    if (rc == 0)
        rc = s_verify_side(p, &tx, &side, st);
    if (rc == 0)
        rc = ec_bundle_anchoring_verify(p, &side, main_chain_id, main_vs, trusted_main_hash, info,
                                        st);
    if (rc == 0) {
        info->result_code = p->result.code;
        info->result_ref = p->result.ref;
        info->result_slot = p->result.slot;
    } else {
        memset(info, 0, sizeof *info);
    }
    ec_tx_fini(&tx);
    ec_bundle_fini(b);
    free(b);
    return rc;
}
