/*
 * test_p2pmsg.c - the messages validators send each other (common/ec_p2pmsg.c): every type
 * round-trips through its encoder and the decoder, the accessors give back what went in,
 * and the decoder refuses what is not exactly a message: unknown types, wrong field counts,
 * out-of-range indexes and values, lists over their limits, empty payloads, trailing bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ec_p2pmsg.h"
#include "test_util.h"

/* Decodes w's bytes into m with d; returns the code. */
static int s_decode(ec_decoder_t *d, const ec_writer_t *w, ec_p2pmsg_t *m)
{
    return ec_p2pmsg_decode(d, ec_writer_data(w), ec_writer_size(w), m);
}

static void test_status_and_requests(void **state)
{
    (void)state;
    ec_decoder_t d;
    ec_decoder_init(&d);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_p2pmsg_t m;
    ec_p2pmsg_status(&w, 3, 100, 2, 3, 99);
    assert_int_equal(s_decode(&d, &w, &m), 0);
    assert_int_equal(m.type, EC_P2P_STATUS);
    assert_int_equal(m.from, 3);
    assert_int_equal(m.height, 100);
    assert_int_equal(m.round, 2);
    assert_int_equal(m.step, 3);
    assert_int_equal(m.tip, 99);
    ec_writer_reset(&w);
    ec_p2pmsg_get_blocks(&w, 1, 50, EC_P2P_BLOCKS_MAX);
    assert_int_equal(s_decode(&d, &w, &m), 0);
    assert_int_equal(m.type, EC_P2P_GET_BLOCKS);
    assert_int_equal(m.height, 50);
    assert_int_equal(m.count, EC_P2P_BLOCKS_MAX);
    ec_writer_reset(&w);
    ec_p2pmsg_get_proposal(&w, 0, 7, 4);
    assert_int_equal(s_decode(&d, &w, &m), 0);
    assert_int_equal(m.type, EC_P2P_GET_PROPOSAL);
    assert_int_equal(m.height, 7);
    assert_int_equal(m.round, 4);

    /* Out of range: a step past precommit, GET_BLOCKS of 0 or too many, from 0 height. */
    static const uint8_t step4[] = {0x96, 4, 1, 5, 0, 4, 4};
    static const uint8_t zero_count[] = {0x94, 5, 1, 5, 0};
    static const uint8_t many[] = {0x94, 5, 1, 5, 65};
    static const uint8_t height0[] = {0x94, 5, 1, 0, 1};
    static const uint8_t from_big[] = {0x94, 7, 32, 1, 1};
    static const uint8_t short_status[] = {0x95, 4, 1, 5, 0, 2};
    static const uint8_t unknown[] = {0x93, 8, 0, 0};
    static const uint8_t type0[] = {0x91, 0};
    static const uint8_t not_array[] = {0x04};
    static const uint8_t neg_from[] = {0x94, 7, 0xff, 1, 1};
    struct {
        const uint8_t *data;
        size_t size;
        int want;
    } bad[] = {
        {step4, sizeof step4, EC_EINVAL},         {zero_count, sizeof zero_count, EC_EINVAL},
        {many, sizeof many, EC_ETOOBIG},          {height0, sizeof height0, EC_EINVAL},
        {from_big, sizeof from_big, EC_ETOOBIG},  {short_status, sizeof short_status, EC_EINVAL},
        {unknown, sizeof unknown, EC_EINVAL},     {type0, sizeof type0, EC_EINVAL},
        {not_array, sizeof not_array, EC_EINVAL}, {neg_from, sizeof neg_from, EC_EINVAL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        m.type = 99;
        int rc = ec_p2pmsg_decode(&d, bad[i].data, bad[i].size, &m);
        if (rc == 0)
            fail_msg("case %zu decoded", i);
        assert_int_not_equal(rc, 0);
        assert_int_equal(m.type, 0); /* zeroed on error */
    }
    /* Trailing bytes after a valid message. */
    ec_writer_reset(&w);
    ec_p2pmsg_status(&w, 3, 100, 2, 3, 99);
    ec_write_nil(&w);
    assert_int_equal(s_decode(&d, &w, &m), EC_EINVAL);
    ec_writer_fini(&w);
    ec_decoder_fini(&d);
}

static void test_vote(void **state)
{
    (void)state;
    ec_key_t *k = tu_key(0x31);
    ec_vote_t v;
    memset(&v, 0, sizeof v);
    v.height = 9;
    v.round = 1;
    v.type = EC_VOTE_PRECOMMIT;
    v.validator = 2;
    memset(v.hash, 0x5a, sizeof v.hash);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_vote_sign_bytes(&w, "chain", v.height, v.round, v.type, v.hash);
    ec_sign(v.sig, ec_writer_data(&w), ec_writer_size(&w), k);
    ec_writer_reset(&w);
    ec_p2pmsg_vote(&w, &v);
    ec_decoder_t d;
    ec_decoder_init(&d);
    ec_p2pmsg_t m;
    assert_int_equal(s_decode(&d, &w, &m), 0);
    assert_int_equal(m.type, EC_P2P_VOTE);
    assert_int_equal(m.from, 2);
    assert_memory_equal(&m.vote, &v, sizeof v);
    assert_true(ec_vote_verify_sig(&m.vote, "chain", ec_key_pk(k)));
    /* A vote travels under its signer's index: another `from` is refused. */
    uint8_t *bytes = (uint8_t *)ec_writer_data(&w);
    assert_int_equal(bytes[2], 2);
    bytes[2] = 1;
    assert_int_equal(s_decode(&d, &w, &m), EC_EINVAL);
    ec_writer_fini(&w);
    ec_decoder_fini(&d);
    ec_key_destroy(&k);
}

static void test_txs(void **state)
{
    (void)state;
    const uint8_t t1[] = {1, 2, 3}, t2[] = {4}, p2[] = {9, 9};
    ec_writer_t w;
    ec_writer_init(&w);
    ec_p2pmsg_txs_begin(&w, 1, 2);
    ec_p2pmsg_txs_add(&w, t1, sizeof t1, NULL, 0);
    ec_p2pmsg_txs_add(&w, t2, sizeof t2, p2, sizeof p2);
    ec_decoder_t d;
    ec_decoder_init(&d);
    ec_p2pmsg_t m;
    assert_int_equal(s_decode(&d, &w, &m), 0);
    assert_int_equal(m.type, EC_P2P_TXS);
    assert_int_equal(m.count, 2);
    const uint8_t *tx, *payload;
    size_t tx_size, payload_size;
    ec_p2pmsg_tx(&m, 0, &tx, &tx_size, &payload, &payload_size);
    assert_int_equal(tx_size, sizeof t1);
    assert_memory_equal(tx, t1, sizeof t1);
    assert_null(payload);
    ec_p2pmsg_tx(&m, 1, &tx, &tx_size, &payload, &payload_size);
    assert_memory_equal(tx, t2, sizeof t2);
    assert_int_equal(payload_size, sizeof p2);
    assert_memory_equal(payload, p2, sizeof p2);
    /* An empty payload is nil, never an empty bin; a transaction is a bin. */
    ec_writer_reset(&w);
    ec_p2pmsg_txs_begin(&w, 1, 1);
    ec_p2pmsg_txs_add(&w, t1, sizeof t1, p2, 0);
    assert_int_equal(s_decode(&d, &w, &m), EC_EINVAL);
    ec_writer_reset(&w);
    ec_p2pmsg_txs_begin(&w, 1, 1);
    ec_write_array(&w, 2);
    ec_write_nil(&w);
    ec_write_nil(&w);
    assert_int_equal(s_decode(&d, &w, &m), EC_EINVAL);
    /*
     * Regression: an empty transaction is refused whatever follows it. The emptiness check
     * read the length of the field read last, so an empty transaction passed when it came
     * with a (non-empty) payload and was refused only with nil.
     */
    ec_writer_reset(&w);
    ec_p2pmsg_txs_begin(&w, 1, 1);
    ec_p2pmsg_txs_add(&w, t1, 0, p2, sizeof p2);
    assert_int_equal(s_decode(&d, &w, &m), EC_EINVAL);
    ec_writer_reset(&w);
    ec_p2pmsg_txs_begin(&w, 1, 1);
    ec_p2pmsg_txs_add(&w, t1, 0, NULL, 0);
    assert_int_equal(s_decode(&d, &w, &m), EC_EINVAL);
    /* An empty payload after a good transaction, second in the list, is refused too. */
    ec_writer_reset(&w);
    ec_p2pmsg_txs_begin(&w, 1, 2);
    ec_p2pmsg_txs_add(&w, t2, sizeof t2, p2, sizeof p2);
    ec_p2pmsg_txs_add(&w, t1, sizeof t1, p2, 0);
    assert_int_equal(s_decode(&d, &w, &m), EC_EINVAL);
    /* Over the count and size limits. */
    ec_writer_reset(&w);
    ec_p2pmsg_txs_begin(&w, 1, 0);
    uint8_t *raw = (uint8_t *)ec_writer_data(&w);
    size_t n = ec_writer_size(&w);
    uint8_t big[16] = {0};
    memcpy(big, raw, n - 1);
    big[n - 1] = 0xdd; /* array32 of EC_P2P_TXS_MAX + 1 */
    uint32_t count = EC_P2P_TXS_MAX + 1;
    big[n] = (uint8_t)(count >> 24);
    big[n + 1] = (uint8_t)(count >> 16);
    big[n + 2] = (uint8_t)(count >> 8);
    big[n + 3] = (uint8_t)count;
    assert_int_not_equal(ec_p2pmsg_decode(&d, big, n + 4, &m), 0);
    uint8_t *huge = calloc(1, EC_TX_BYTES_MAX + 1);
    ec_writer_reset(&w);
    ec_p2pmsg_txs_begin(&w, 1, 1);
    ec_p2pmsg_txs_add(&w, huge, EC_TX_BYTES_MAX + 1, NULL, 0);
    assert_int_equal(s_decode(&d, &w, &m), EC_ETOOBIG);
    free(huge);
    ec_writer_fini(&w);
    ec_decoder_fini(&d);
}

static void test_proposal_and_blocks(void **state)
{
    (void)state;
    const uint8_t block[] = {0x90, 1, 2, 3}, commit[] = {7, 7};
    const uint8_t pay[] = {5, 6, 7};
    const uint8_t *payloads[] = {NULL, pay};
    const size_t sizes[] = {0, sizeof pay};
    uint8_t sig[EC_SIG_BYTES];
    memset(sig, 0x42, sizeof sig);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_p2pmsg_proposal(&w, 2, 11, 3, 1, block, sizeof block, payloads, sizes, 2, sig);
    ec_decoder_t d;
    ec_decoder_init(&d);
    ec_p2pmsg_t m;
    assert_int_equal(s_decode(&d, &w, &m), 0);
    assert_int_equal(m.type, EC_P2P_PROPOSAL);
    assert_int_equal(m.height, 11);
    assert_int_equal(m.round, 3);
    assert_int_equal(m.valid_round, 1);
    assert_int_equal(m.block_size, sizeof block);
    assert_memory_equal(m.block, block, sizeof block);
    assert_int_equal(m.payload_count, 2);
    assert_memory_equal(m.sig, sig, sizeof sig);
    const uint8_t *p;
    size_t ps;
    ec_p2pmsg_payload(m.payloads, 0, &p, &ps);
    assert_null(p);
    ec_p2pmsg_payload(m.payloads, 1, &p, &ps);
    assert_int_equal(ps, sizeof pay);
    assert_memory_equal(p, pay, sizeof pay);
    /* valid_round must be below the round: a round cannot hold its own proof of lock. */
    ec_writer_reset(&w);
    ec_p2pmsg_proposal(&w, 2, 11, 0, -1, block, sizeof block, payloads, sizes, 2, sig);
    assert_int_equal(s_decode(&d, &w, &m), 0);
    assert_int_equal(m.valid_round, -1);
    uint8_t *bytes = (uint8_t *)ec_writer_data(&w);
    assert_int_equal(bytes[5], 0); /* valid_round + 1 */
    bytes[5] = 1;                  /* valid_round 0 at round 0 */
    assert_int_equal(s_decode(&d, &w, &m), EC_EINVAL);

    ec_writer_reset(&w);
    ec_p2pmsg_blocks_begin(&w, 0, 2);
    ec_p2pmsg_blocks_add(&w, block, sizeof block, commit, sizeof commit, payloads, sizes, 2);
    ec_p2pmsg_blocks_add(&w, block, 2, commit, 1, NULL, NULL, 0);
    assert_int_equal(s_decode(&d, &w, &m), 0);
    assert_int_equal(m.type, EC_P2P_BLOCKS);
    assert_int_equal(m.count, 2);
    const uint8_t *b, *c;
    size_t bs, cs;
    const msgpack_object *pl;
    uint32_t pc;
    ec_p2pmsg_block(&m, 0, &b, &bs, &c, &cs, &pl, &pc);
    assert_int_equal(bs, sizeof block);
    assert_int_equal(cs, sizeof commit);
    assert_int_equal(pc, 2);
    ec_p2pmsg_payload(pl, 1, &p, &ps);
    assert_memory_equal(p, pay, sizeof pay);
    ec_p2pmsg_block(&m, 1, &b, &bs, &c, &cs, &pl, &pc);
    assert_int_equal(bs, 2);
    assert_int_equal(pc, 0);
    /* A payload list entry that is an empty bin. */
    const size_t zero[] = {0, 0};
    const uint8_t *both[] = {pay, pay};
    ec_writer_reset(&w);
    ec_p2pmsg_blocks_begin(&w, 0, 1);
    ec_p2pmsg_blocks_add(&w, block, sizeof block, commit, sizeof commit, both, zero, 2);
    assert_int_equal(s_decode(&d, &w, &m), EC_EINVAL);
    /* Over the message limit, before parsing. */
    uint8_t one = 0;
    assert_int_equal(ec_p2pmsg_decode(&d, &one, (size_t)EC_P2P_MESSAGE_BYTES_MAX + 1, &m),
                     EC_ETOOBIG);
    ec_writer_fini(&w);
    ec_decoder_fini(&d);
}

int main(void)
{
    if (ec_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_and_requests),
        cmocka_unit_test(test_vote),
        cmocka_unit_test(test_txs),
        cmocka_unit_test(test_proposal_and_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
