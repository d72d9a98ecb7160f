/*
 * ec_twin.c - a validator that lies, for consensus_faults.sh: with a stopped validator's
 * own node.yaml (its key, genesis and peers), it asks a running validator for the height
 * in progress, connects to the chain's validators as that validator does (CurveZMQ, its
 * key) and sends them two prevotes for that height, round 0, for two different blocks:
 * exactly what a validator whose key runs in two places would sign. The chain must record
 * the pair as evidence. Test code only; it signs nothing else.
 *
 *   ec_twin NODE_YAML RPC_ENDPOINT
 *
 * The passphrase comes as for the daemons (node.yaml's passphrase_file, else
 * ECERT_PASSPHRASE). Prints "height=H validator=I" for the votes it sent.
 * Exit status: 0 sent to every other validator, 1 a failure, 2 bad usage.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "ec_config.h"
#include "ec_crypto.h"
#include "ec_p2p.h"
#include "ec_p2pmsg.h"
#include "ec_rpc.h"

#define S_CONNECT_MS 10000

static int s_die(const char *what, const char *why)
{
    fprintf(stderr, "ec_twin: %s: %s\n", what, why);
    return 1;
}

/* The height the chain at rpc is deciding: its tip + 1. 0 on failure. */
static uint64_t s_height_in_progress(const char *rpc)
{
    ec_rpc_t *c = ec_rpc_connect(rpc, 5000);
    if (!c)
        return 0;
    ec_rpc_reply_t r;
    ec_status_t st = {0};
    ec_rpc_status_t s;
    uint64_t h = 0;
    if (ec_rpc_call(c, "status", NULL, 0, &r, &st) == 0) {
        if (r.code == 0 && ec_rpc_status_read(&s, r.result) == 0)
            h = s.height + 1;
        ec_rpc_reply_fini(&r);
    }
    ec_rpc_destroy(&c);
    return h;
}

static void s_vote(ec_vote_t *v, const char *chain_id, uint64_t height, uint32_t me,
                   const ec_key_t *key)
{
    memset(v, 0, sizeof *v);
    v->height = height;
    v->round = 0;
    v->type = EC_VOTE_PREVOTE;
    v->validator = me;
    randombytes_buf(v->hash, sizeof v->hash); /* a block that does not exist: still a vote */
    ec_writer_t w;
    ec_writer_init(&w);
    ec_vote_sign_bytes(&w, chain_id, height, 0, EC_VOTE_PREVOTE, v->hash);
    ec_sign(v->sig, ec_writer_data(&w), ec_writer_size(&w), key);
    ec_writer_fini(&w);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: ec_twin NODE_YAML RPC_ENDPOINT\n");
        return 2;
    }
    if (ec_crypto_init() != 0)
        return s_die("libsodium", "cannot initialise");
    static ec_node_file_t f;
    static ec_genesis_t g;
    ec_status_t st = {0};
    if (ec_node_file_load(&f, argv[1], &st) != 0 || ec_genesis_load(&g, f.genesis_path, &st) != 0)
        return s_die(argv[1], st.msg);
    char *pass = ec_passphrase_read(f.passphrase_file, &st);
    if (!pass)
        return s_die("passphrase", st.msg);
    ec_key_t *key = NULL;
    int rc = ec_key_load(&key, f.validator_key_path, pass, &st);
    ec_passphrase_free(&pass);
    if (rc != 0)
        return s_die("validator key", st.msg);

    /* The genesis set, with each validator's endpoint from the peers of node.yaml. */
    const ec_valset_t *vs = &g.validators;
    static char endpoints[EC_VALIDATORS_MAX][EC_P2P_ENDPOINT_MAX];
    uint32_t me = UINT32_MAX;
    for (uint32_t i = 0; i < vs->count; i++) {
        if (memcmp(vs->v[i].pk, ec_key_pk(key), EC_PK_BYTES) == 0) {
            me = i;
            snprintf(endpoints[i], sizeof endpoints[i], "%s", f.p2p);
        }
        for (uint32_t k = 0; k < f.peer_count; k++)
            if (memcmp(f.peers[k].pk, vs->v[i].pk, EC_PK_BYTES) == 0)
                snprintf(endpoints[i], sizeof endpoints[i], "%s", f.peers[k].endpoint);
    }
    if (me == UINT32_MAX)
        return s_die(argv[1], "its key is not in the genesis validator set");

    uint64_t height = s_height_in_progress(argv[2]);
    if (height == 0)
        return s_die(argv[2], "no status answer");
    ec_p2p_config_t cfg = {.key = key,
                           .vs = vs,
                           .endpoints = (const char(*)[EC_P2P_ENDPOINT_MAX])endpoints,
                           .me = me,
                           .message_bytes_max = 1u << 20,
                           .queue_max = 64};
    ec_p2p_t *p = ec_p2p_new(&cfg, &st);
    if (!p)
        return s_die("p2p", st.msg);
    for (int waited = 0; ec_p2p_connected(p) + 1 < vs->count; waited += 50) {
        if (waited >= S_CONNECT_MS) {
            ec_p2p_destroy(&p);
            return s_die("p2p", "the other validators did not all connect within 10 s");
        }
        usleep(50 * 1000);
    }
    ec_writer_t w;
    ec_writer_init(&w);
    uint32_t sent = UINT32_MAX;
    for (int i = 0; i < 2; i++) {
        ec_vote_t v;
        s_vote(&v, g.chain_id, height, me, key);
        ec_writer_reset(&w);
        ec_p2pmsg_vote(&w, &v);
        uint32_t n = ec_p2p_broadcast(p, ec_writer_data(&w), ec_writer_size(&w));
        if (n < sent)
            sent = n;
    }
    ec_writer_fini(&w);
    usleep(500 * 1000); /* linger is 0: let ZeroMQ hand the frames over before closing */
    ec_p2p_destroy(&p);
    ec_key_destroy(&key);
    if (sent + 1 < vs->count)
        return s_die("p2p", "a vote did not reach every other validator");
    printf("height=%llu validator=%u\n", (unsigned long long)height, me);
    return 0;
}
