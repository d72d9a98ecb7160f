/*
 * ec_flood.c - a client that asks and never reads, for slow_client.sh: it connects one
 * DEALER with the smallest receive queue and socket buffer it can, sends COUNT `tx`
 * requests for one transaction (whose reply carries its payload), then holds the
 * connection for HOLD seconds without reading a single reply, and exits. Written from
 * docs/PROTOCOL.md ("Requests and replies"): request = [1, req_id, "tx", [tx_id: bin32]].
 *
 *   ec_flood ENDPOINT TX_ID_HEX COUNT HOLD_SECONDS
 *
 * Exit status: 0 when every request was handed to ZeroMQ, 1 otherwise, 2 bad usage.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <msgpack.h>
#include <sodium.h>
#include <zmq.h>

int main(int argc, char **argv)
{
    uint8_t id[32];
    if (argc != 5 || strlen(argv[2]) != 64 ||
        sodium_hex2bin(id, sizeof id, argv[2], 64, NULL, NULL, NULL) != 0) {
        fprintf(stderr, "usage: ec_flood ENDPOINT TX_ID_HEX COUNT HOLD_SECONDS\n");
        return 2;
    }
    long count = strtol(argv[3], NULL, 10), hold = strtol(argv[4], NULL, 10);
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int one = 1, small = 4096, linger = 0, sndhwm = 0;
    zmq_setsockopt(s, ZMQ_RCVHWM, &one, sizeof one);
    zmq_setsockopt(s, ZMQ_RCVBUF, &small, sizeof small);
    zmq_setsockopt(s, ZMQ_SNDHWM, &sndhwm, sizeof sndhwm); /* never drop a request */
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(s, argv[1]) != 0) {
        fprintf(stderr, "ec_flood: connect %s: %s\n", argv[1], zmq_strerror(zmq_errno()));
        return 1;
    }
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    long sent = 0;
    for (long i = 0; i < count; i++) {
        msgpack_packer pk;
        msgpack_sbuffer_clear(&buf);
        msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 4);
        msgpack_pack_uint64(&pk, 1);
        msgpack_pack_uint64(&pk, (uint64_t)i + 1);
        msgpack_pack_str_with_body(&pk, "tx", 2);
        msgpack_pack_array(&pk, 1);
        msgpack_pack_bin_with_body(&pk, id, sizeof id);
        if (zmq_send(s, buf.data, buf.size, 0) == (int)buf.size)
            sent++;
    }
    msgpack_sbuffer_destroy(&buf);
    printf("ec_flood: sent %ld requests, holding the connection %ld s without reading\n", sent,
           hold);
    fflush(stdout);
    sleep((unsigned)hold);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return sent == count ? 0 : 1;
}
