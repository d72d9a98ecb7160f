/*
 * fuzz_p2pmsg.c - libFuzzer target for ec_p2pmsg_decode, the decoder of every message one
 * validator sends another: whatever decodes must re-encode, through the encoders, to
 * exactly the input bytes (one encoding per message), and the item accessors must stay
 * inside what the decoder checked.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ec_p2pmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Re-encodes a payload list given as msgpack objects. */
static void s_payloads(const msgpack_object *items, uint32_t count, const uint8_t **ptrs,
                       size_t *sizes)
{
    for (uint32_t i = 0; i < count; i++)
        ec_p2pmsg_payload(items, i, &ptrs[i], &sizes[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t *ptrs[EC_BLOCK_TXS_MAX];
    static size_t sizes[EC_BLOCK_TXS_MAX];
    ec_decoder_t d;
    ec_decoder_init(&d);
    ec_p2pmsg_t m;
    if (ec_p2pmsg_decode(&d, data, size, &m) != 0) {
        ec_decoder_fini(&d);
        return 0;
    }
    ec_writer_t w;
    ec_writer_init(&w);
    switch (m.type) {
        case EC_P2P_PROPOSAL:
            s_payloads(m.payloads, m.payload_count, ptrs, sizes);
            ec_p2pmsg_proposal(&w, m.from, m.height, m.round, m.valid_round, m.block, m.block_size,
                               ptrs, sizes, m.payload_count, m.sig);
            break;
        case EC_P2P_VOTE:
            ec_p2pmsg_vote(&w, &m.vote);
            break;
        case EC_P2P_TXS:
            ec_p2pmsg_txs_begin(&w, m.from, m.count);
            for (uint32_t i = 0; i < m.count; i++) {
                const uint8_t *tx, *payload;
                size_t tx_size, payload_size;
                ec_p2pmsg_tx(&m, i, &tx, &tx_size, &payload, &payload_size);
                ec_p2pmsg_txs_add(&w, tx, tx_size, payload, payload_size);
            }
            break;
        case EC_P2P_STATUS:
            ec_p2pmsg_status(&w, m.from, m.height, m.round, m.step, m.tip);
            break;
        case EC_P2P_GET_BLOCKS:
            ec_p2pmsg_get_blocks(&w, m.from, m.height, m.count);
            break;
        case EC_P2P_BLOCKS:
            ec_p2pmsg_blocks_begin(&w, m.from, m.count);
            for (uint32_t i = 0; i < m.count; i++) {
                const uint8_t *block, *commit;
                size_t block_size, commit_size;
                const msgpack_object *payloads;
                uint32_t n;
                ec_p2pmsg_block(&m, i, &block, &block_size, &commit, &commit_size, &payloads, &n);
                s_payloads(payloads, n, ptrs, sizes);
                ec_p2pmsg_blocks_add(&w, block, block_size, commit, commit_size, ptrs, sizes, n);
            }
            break;
        case EC_P2P_GET_PROPOSAL:
            ec_p2pmsg_get_proposal(&w, m.from, m.height, m.round);
            break;
        default:
            abort(); /* the decoder accepted a type it does not know */
    }
    if (ec_writer_size(&w) != size || memcmp(ec_writer_data(&w), data, size) != 0)
        abort();
    ec_writer_fini(&w);
    ec_decoder_fini(&d);
    return 0;
}
