/*
 * ec_p2pmsg.h - the messages validators of one chain send each other (docs/CONSENSUS.md,
 * section 3): their encoders and one strict decoder.
 *
 * Every message is one canonical msgpack array [type, from, ...]: `from` is the sender's
 * validator index as the sender states it. Receivers never trust it: the engine is given
 * the index of the key the connection authenticated (ec_p2p) and uses that; a vote or a
 * proposal is checked against its signer's key whatever link brought it. Bytes (blocks,
 * transactions, payloads, commits) are `bin` and are read in place: pointers returned by
 * the decoder point into the message buffer.
 *
 *   1 PROPOSAL     [1, from, height, round, valid_round + 1, block: bin,
 *                   payloads: [bin | nil, ...], sig: bin(64)]
 *   2 VOTE         [2, from, vote]                              (ec_vote_encode)
 *   3 TXS          [3, from, [[tx: bin, payload: bin | nil], ...]]
 *   4 STATUS       [4, from, height, round, step, tip]
 *   5 GET_BLOCKS   [5, from, from_height, count]
 *   6 BLOCKS       [6, from, [[block: bin, commit: bin, payloads: [bin | nil, ...]], ...]]
 *   7 GET_PROPOSAL [7, from, height, round]
 *
 * Limits are checked before anything is used: EC_P2P_MESSAGE_BYTES_MAX per message,
 * EC_BLOCK_TXS_MAX transactions or payloads per list, EC_P2P_TXS_MAX per TXS,
 * EC_P2P_BLOCKS_MAX blocks per BLOCKS, EC_TX_BYTES_MAX per transaction,
 * EC_PAYLOAD_BYTES_MAX per payload.
 */
#ifndef EC_P2PMSG_H
#define EC_P2PMSG_H

#include <stdint.h>

#include "ec_codec.h"
#include "ec_types.h"

#define EC_P2P_MESSAGE_BYTES_MAX (40u * 1024 * 1024) /* a proposal: block + payloads  */
#define EC_P2P_TXS_MAX 4096u                         /* transactions in one TXS       */
#define EC_P2P_BLOCKS_MAX 64u                        /* blocks in one BLOCKS          */

enum {
    EC_P2P_PROPOSAL = 1,
    EC_P2P_VOTE = 2,
    EC_P2P_TXS = 3,
    EC_P2P_STATUS = 4,
    EC_P2P_GET_BLOCKS = 5,
    EC_P2P_BLOCKS = 6,
    EC_P2P_GET_PROPOSAL = 7,
};

/* A decoded message; pointers borrow from the message bytes and the decoder. */
typedef struct {
    uint32_t type;
    uint32_t from;        /* as the sender states it: informational, never trusted    */
    uint64_t height;      /* PROPOSAL, STATUS, GET_PROPOSAL; GET_BLOCKS: from_height */
    uint64_t round;       /* PROPOSAL, STATUS, GET_PROPOSAL                          */
    int64_t valid_round;  /* PROPOSAL (-1: none)                                    */
    uint32_t step;        /* STATUS                                                 */
    uint64_t tip;         /* STATUS                                                 */
    uint32_t count;       /* GET_BLOCKS: blocks asked; TXS, BLOCKS: items           */
    const uint8_t *block; /* PROPOSAL                                               */
    size_t block_size;
    const msgpack_object *payloads; /* PROPOSAL: payload_count bin-or-nil objects   */
    uint32_t payload_count;
    uint8_t sig[EC_SIG_BYTES];   /* PROPOSAL                                       */
    ec_vote_t vote;              /* VOTE                                           */
    const msgpack_object *items; /* TXS, BLOCKS: `count` checked arrays            */
} ec_p2pmsg_t;

/*
 * Decodes one message with decoder d (its parse lives until d's next use). Returns 0, or
 * EC_EINVAL / EC_ETOOBIG / EC_EVERSION for anything not exactly a message above (a VOTE
 * whose vote names another validator than `from` included). *m is zeroed on error.
 */
EC_WUR int ec_p2pmsg_decode(ec_decoder_t *d, const uint8_t *data, size_t size, ec_p2pmsg_t *m);

/* Item i of a TXS message (checked by the decoder): the transaction and its payload
 * (NULL when nil). */
void ec_p2pmsg_tx(const ec_p2pmsg_t *m, uint32_t i, const uint8_t **tx, size_t *tx_size,
                  const uint8_t **payload, size_t *payload_size);
/* Payload i of a PROPOSAL, or of BLOCKS item `block` (NULL when nil). */
void ec_p2pmsg_payload(const msgpack_object *payloads, uint32_t i, const uint8_t **payload,
                       size_t *size);
/* Item i of a BLOCKS message: block and commit bytes, and its payload list. */
void ec_p2pmsg_block(const ec_p2pmsg_t *m, uint32_t i, const uint8_t **block, size_t *block_size,
                     const uint8_t **commit, size_t *commit_size, const msgpack_object **payloads,
                     uint32_t *payload_count);

/* ---- encoders (w is appended to; reset it first) ---------------------------------------- */

void ec_p2pmsg_proposal(ec_writer_t *w, uint32_t from, uint64_t height, uint64_t round,
                        int64_t valid_round, const uint8_t *block, size_t block_size,
                        const uint8_t *const *payloads, const size_t *payload_sizes,
                        uint32_t payload_count, const uint8_t sig[EC_SIG_BYTES]);
void ec_p2pmsg_vote(ec_writer_t *w, const ec_vote_t *v);
/* TXS: begin with the item count, then add exactly that many. */
void ec_p2pmsg_txs_begin(ec_writer_t *w, uint32_t from, uint32_t count);
void ec_p2pmsg_txs_add(ec_writer_t *w, const uint8_t *tx, size_t tx_size, const uint8_t *payload,
                       size_t payload_size);
void ec_p2pmsg_status(ec_writer_t *w, uint32_t from, uint64_t height, uint64_t round, uint32_t step,
                      uint64_t tip);
void ec_p2pmsg_get_blocks(ec_writer_t *w, uint32_t from, uint64_t from_height, uint32_t count);
/* BLOCKS: begin with the block count, then add exactly that many. */
void ec_p2pmsg_blocks_begin(ec_writer_t *w, uint32_t from, uint32_t count);
void ec_p2pmsg_blocks_add(ec_writer_t *w, const uint8_t *block, size_t block_size,
                          const uint8_t *commit, size_t commit_size, const uint8_t *const *payloads,
                          const size_t *payload_sizes, uint32_t payload_count);
void ec_p2pmsg_get_proposal(ec_writer_t *w, uint32_t from, uint64_t height, uint64_t round);

#endif
