/*
 * ec_consensus.c - the consensus wrapper and the solo implementation (see ec_consensus.h).
 *
 * Solo signs the precommit for every block its own node proposes, at round 0. That is
 * safe only because it alone holds a quorum: nobody else can commit a different block at
 * the same height. Nothing signed leaves the node before the block and its commit are
 * durably written together (the engine's write comes first), so a crash between signing
 * and writing at most produces a signature nobody ever saw.
 */
#include "ec_consensus.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ec_consensus {
    const ec_consensus_ops_t *ops;
    void *self;
};

ec_consensus_t *ec_consensus_new(const ec_consensus_ops_t *ops, void *self)
{
    assert(ops && ops->decide && ops->destroy);
    ec_consensus_t *c = calloc(1, sizeof(*c));
    if (!c) {
        ops->destroy(self);
        return NULL;
    }
    c->ops = ops;
    c->self = self;
    return c;
}

void ec_consensus_destroy(ec_consensus_t **self_p)
{
    assert(self_p);
    ec_consensus_t *c = *self_p;
    if (!c)
        return;
    c->ops->destroy(c->self);
    free(c);
    *self_p = NULL;
}

int ec_consensus_decide(ec_consensus_t *c, const ec_header_t *header, ec_commit_t *commit,
                        ec_status_t *st)
{
    assert(c && header && commit);
    return c->ops->decide(c->self, header, commit, st);
}

const char *ec_consensus_name(const ec_consensus_t *c)
{
    assert(c);
    return c->ops->name;
}

/* ---- solo ------------------------------------------------------------------------------- */

typedef struct {
    char chain_id[EC_CHAIN_ID_MAX];
    uint32_t index;      /* our position in the validator set                       */
    const ec_key_t *key; /* borrowed                                                 */
} s_solo_t;

static int s_solo_decide(void *self, const ec_header_t *header, ec_commit_t *commit,
                         ec_status_t *st)
{
    s_solo_t *solo = self;
    (void)st;
    assert(strcmp(header->chain_id, solo->chain_id) == 0);
    memset(commit, 0, sizeof(*commit));
    commit->height = header->height;
    commit->round = 0;
    ec_header_hash(commit->block_hash, header);
    ec_commit_sign(commit, solo->chain_id, solo->index, solo->key);
    return 0;
}

static void s_solo_destroy(void *self)
{
    free(self);
}

static const ec_consensus_ops_t s_solo_ops = {"solo", s_solo_decide, s_solo_destroy};

ec_consensus_t *ec_consensus_solo_new(const ec_genesis_t *genesis, const ec_key_t *key,
                                      ec_status_t *st)
{
    assert(genesis && key);
    const ec_valset_t *vs = &genesis->validators;
    uint64_t total = 0, mine = 0;
    uint32_t index = UINT32_MAX;
    for (uint32_t i = 0; i < vs->count && i < EC_VALIDATORS_MAX; i++) {
        total += vs->v[i].power;
        if (memcmp(vs->v[i].pk, ec_key_pk(key), EC_PK_BYTES) == 0) {
            index = i;
            mine = vs->v[i].power;
        }
    }
    if (index == UINT32_MAX) {
        ec_status_set(st, EC_ECONFIG, "validator key is not in the genesis validator set");
        return NULL;
    }
    /* Quorum as everywhere: 3 * power > 2 * total. */
    if (!(3 * (unsigned __int128)mine > 2 * (unsigned __int128)total)) {
        ec_status_set(st, EC_ECONFIG,
                      "solo consensus needs a validator with more than 2/3 of the power "
                      "(this key has %llu of %llu); multi-validator consensus is not built",
                      (unsigned long long)mine, (unsigned long long)total);
        return NULL;
    }
    s_solo_t *solo = calloc(1, sizeof(*solo));
    if (!solo) {
        ec_status_set(st, EC_ENOMEM, "out of memory");
        return NULL;
    }
    snprintf(solo->chain_id, sizeof(solo->chain_id), "%s", genesis->chain_id);
    solo->index = index;
    solo->key = key;
    ec_consensus_t *c = ec_consensus_new(&s_solo_ops, solo);
    if (!c)
        ec_status_set(st, EC_ENOMEM, "out of memory");
    return c;
}
