/*
 * fuzz_block.c - libFuzzer target for ec_block_decode (blocks arrive from peers and from
 * the `block` RPC): whatever decodes must re-encode, through ec_block_encode, to exactly
 * the input bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ec_types.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ec_block_t b;
    if (ec_block_decode(&b, data, size) != 0)
        return 0;
    size_t n = b.tx_count ? b.tx_count : 1, ne = b.evidence_count ? b.evidence_count : 1;
    const uint8_t **txs = calloc(n, sizeof *txs);
    size_t *sizes = calloc(n, sizeof *sizes);
    ec_tx_result_t *results = calloc(n, sizeof *results);
    const uint8_t **ev = calloc(ne, sizeof *ev);
    size_t *ev_sizes = calloc(ne, sizeof *ev_sizes);
    if (!txs || !sizes || !results || !ev || !ev_sizes)
        abort();
    for (uint32_t i = 0; i < b.tx_count; i++) {
        txs[i] = (const uint8_t *)b.txs[i].via.bin.ptr;
        sizes[i] = b.txs[i].via.bin.size;
        ec_block_result(&b, i, &results[i]);
    }
    for (uint32_t i = 0; i < b.evidence_count; i++) {
        ev[i] = (const uint8_t *)b.evidence[i].via.bin.ptr;
        ev_sizes[i] = b.evidence[i].via.bin.size;
    }
    ec_writer_t w;
    ec_writer_init(&w);
    ec_block_encode(&w, &b.header, txs, sizes, results, b.tx_count, ev, ev_sizes, b.evidence_count);
    if (ec_writer_size(&w) != size || memcmp(ec_writer_data(&w), data, size) != 0)
        abort();
    ec_writer_fini(&w);
    free(txs);
    free(sizes);
    free(results);
    free(ev);
    free(ev_sizes);
    ec_block_fini(&b);
    return 0;
}
