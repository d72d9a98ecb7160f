/*
 * ec_guard.c - the guard record kept outside RocksDB (format and contract in ec_guard.h).
 *
 * Invariants: `state` is what the newest valid slot holds; `seq` is that slot's sequence
 * number and the next save writes slot (seq + 1) % 2, so the slot holding the current
 * record is never the one being overwritten.
 */
#include "ec_guard.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ec_ledger.h" /* ec_be64_put / ec_be64_get */

static const uint8_t s_magic[8] = {'e', 'c', 'g', 'u', 'a', 'r', 'd', 2};

/* Offsets inside a slot (ec_guard.h has the table). */
enum {
    S_OFF_MAGIC = 0,
    S_OFF_SEQ = 8,
    S_OFF_COMMITTED_HEIGHT = 16,
    S_OFF_COMMITTED_HASH = 24,
    S_OFF_SIGNED_HEIGHT = 56,
    S_OFF_SIGNED_ROUND = 64,
    S_OFF_SIGNED_STEP = 72,
    S_OFF_FLAGS = 73,
    S_OFF_SIGNED_HASH = 74,
    S_OFF_SIGNED_SIG = 106,
    S_OFF_LOCKED_ROUND = 170,
    S_OFF_LOCKED_HASH = 178,
    S_OFF_VALID_ROUND = 210,
    S_OFF_VALID_HASH = 218,
    S_OFF_VOTED_ROUND = 250,
    S_OFF_VOTED_TYPE = 258,
    S_OFF_PREVOTE_ROUND = 288,
    S_OFF_PREVOTE_FLAGS = 296,
    S_OFF_PREVOTE_HASH = 297,
    S_OFF_PREVOTE_SIG = 329,
    S_OFF_NEW_FLAGS = 393,
    S_OFF_ABSTAIN_UNTIL = 394,
    S_OFF_CHECKSUM = 480,
};

struct ec_guard {
    int fd;              /* the file, or -1 for a memory guard                       */
    ec_guard_mem_t *mem; /* the memory guard's storage, or NULL                      */
    uint64_t seq;        /* sequence number of the slot holding `state`             */
    uint64_t saves;      /* saves since open                                         */
    ec_guard_state_t state;
};

void ec_guard_state_init(ec_guard_state_t *s, const uint8_t genesis_hash[EC_HASH_BYTES])
{
    memset(s, 0, sizeof *s);
    if (genesis_hash)
        memcpy(s->committed_hash, genesis_hash, EC_HASH_BYTES);
    s->locked_round = -1;
    s->valid_round = -1;
    s->voted_round = -1;
    s->prevote_round = -1;
}

/* Round + 1 on disk so that "none" (-1) is 0. */
static void s_round_put(uint8_t out[8], int64_t round)
{
    assert(round >= -1);
    ec_be64_put(out, (uint64_t)(round + 1));
}

static int64_t s_round_get(const uint8_t in[8])
{
    uint64_t v = ec_be64_get(in);
    return v == 0 ? -1 : (int64_t)(v - 1);
}

static void s_encode(uint8_t slot[EC_GUARD_SLOT_BYTES], uint64_t seq, const ec_guard_state_t *s)
{
    memset(slot, 0, EC_GUARD_SLOT_BYTES);
    memcpy(slot + S_OFF_MAGIC, s_magic, sizeof s_magic);
    ec_be64_put(slot + S_OFF_SEQ, seq);
    ec_be64_put(slot + S_OFF_COMMITTED_HEIGHT, s->committed_height);
    memcpy(slot + S_OFF_COMMITTED_HASH, s->committed_hash, EC_HASH_BYTES);
    ec_be64_put(slot + S_OFF_SIGNED_HEIGHT, s->signed_height);
    ec_be64_put(slot + S_OFF_SIGNED_ROUND, s->signed_round);
    slot[S_OFF_SIGNED_STEP] = s->signed_step;
    slot[S_OFF_FLAGS] = s->signed_nil ? 1 : 0;
    memcpy(slot + S_OFF_SIGNED_HASH, s->signed_hash, EC_HASH_BYTES);
    memcpy(slot + S_OFF_SIGNED_SIG, s->signed_sig, EC_SIG_BYTES);
    s_round_put(slot + S_OFF_LOCKED_ROUND, s->locked_round);
    memcpy(slot + S_OFF_LOCKED_HASH, s->locked_hash, EC_HASH_BYTES);
    s_round_put(slot + S_OFF_VALID_ROUND, s->valid_round);
    memcpy(slot + S_OFF_VALID_HASH, s->valid_hash, EC_HASH_BYTES);
    s_round_put(slot + S_OFF_VOTED_ROUND, s->voted_round);
    slot[S_OFF_VOTED_TYPE] = s->voted_type;
    s_round_put(slot + S_OFF_PREVOTE_ROUND, s->prevote_round);
    slot[S_OFF_PREVOTE_FLAGS] = s->prevote_nil ? 1 : 0;
    memcpy(slot + S_OFF_PREVOTE_HASH, s->prevote_hash, EC_HASH_BYTES);
    memcpy(slot + S_OFF_PREVOTE_SIG, s->prevote_sig, EC_SIG_BYTES);
    slot[S_OFF_NEW_FLAGS] = s->fresh ? 1 : 0;
    ec_be64_put(slot + S_OFF_ABSTAIN_UNTIL, s->abstain_until);
    ec_sha256(slot + S_OFF_CHECKSUM, slot, S_OFF_CHECKSUM);
}

/* Decodes one slot; false when it is not a valid record (never written, torn, damaged). */
static bool s_decode(const uint8_t slot[EC_GUARD_SLOT_BYTES], uint64_t *seq, ec_guard_state_t *s)
{
    uint8_t sum[EC_HASH_BYTES];
    if (memcmp(slot + S_OFF_MAGIC, s_magic, sizeof s_magic) != 0)
        return false;
    ec_sha256(sum, slot, S_OFF_CHECKSUM);
    if (sodium_memcmp(sum, slot + S_OFF_CHECKSUM, EC_HASH_BYTES) != 0)
        return false;
    if (slot[S_OFF_SIGNED_STEP] > EC_GUARD_STEP_PRECOMMIT || (slot[S_OFF_FLAGS] & ~1u) != 0 ||
        slot[S_OFF_VOTED_TYPE] > 2 || (slot[S_OFF_PREVOTE_FLAGS] & ~1u) != 0 ||
        (slot[S_OFF_NEW_FLAGS] & ~1u) != 0)
        return false;
    *seq = ec_be64_get(slot + S_OFF_SEQ);
    s->committed_height = ec_be64_get(slot + S_OFF_COMMITTED_HEIGHT);
    memcpy(s->committed_hash, slot + S_OFF_COMMITTED_HASH, EC_HASH_BYTES);
    s->signed_height = ec_be64_get(slot + S_OFF_SIGNED_HEIGHT);
    s->signed_round = ec_be64_get(slot + S_OFF_SIGNED_ROUND);
    s->signed_step = slot[S_OFF_SIGNED_STEP];
    s->signed_nil = slot[S_OFF_FLAGS] & 1;
    memcpy(s->signed_hash, slot + S_OFF_SIGNED_HASH, EC_HASH_BYTES);
    memcpy(s->signed_sig, slot + S_OFF_SIGNED_SIG, EC_SIG_BYTES);
    s->locked_round = s_round_get(slot + S_OFF_LOCKED_ROUND);
    memcpy(s->locked_hash, slot + S_OFF_LOCKED_HASH, EC_HASH_BYTES);
    s->valid_round = s_round_get(slot + S_OFF_VALID_ROUND);
    memcpy(s->valid_hash, slot + S_OFF_VALID_HASH, EC_HASH_BYTES);
    s->voted_round = s_round_get(slot + S_OFF_VOTED_ROUND);
    s->voted_type = slot[S_OFF_VOTED_TYPE];
    s->prevote_round = s_round_get(slot + S_OFF_PREVOTE_ROUND);
    s->prevote_nil = slot[S_OFF_PREVOTE_FLAGS] & 1;
    memcpy(s->prevote_hash, slot + S_OFF_PREVOTE_HASH, EC_HASH_BYTES);
    memcpy(s->prevote_sig, slot + S_OFF_PREVOTE_SIG, EC_SIG_BYTES);
    s->fresh = slot[S_OFF_NEW_FLAGS] & 1;
    s->abstain_until = ec_be64_get(slot + S_OFF_ABSTAIN_UNTIL);
    return *seq > 0;
}

/* Picks the newest valid slot of the two. Returns false when neither is valid. */
static bool s_pick(const uint8_t *slot0, const uint8_t *slot1, uint64_t *seq, ec_guard_state_t *s)
{
    ec_guard_state_t a, b;
    uint64_t sa = 0, sb = 0;
    bool va = s_decode(slot0, &sa, &a), vb = s_decode(slot1, &sb, &b);
    if (!va && !vb)
        return false;
    if (va && (!vb || sa > sb)) {
        *seq = sa;
        *s = a;
    } else {
        *seq = sb;
        *s = b;
    }
    return true;
}

/* Writes all of buf at off, retrying short writes and EINTR. 0 or errno. */
static int s_pwrite_all(int fd, const uint8_t *buf, size_t size, off_t off)
{
    while (size > 0) {
        ssize_t n = pwrite(fd, buf, size, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : EIO;
        buf += n;
        size -= (size_t)n;
        off += n;
    }
    return 0;
}

/* Writes the slot for seq and makes it durable. 0 or EC_EIO with st set. */
static int s_write_slot(ec_guard_t *g, uint64_t seq, const ec_guard_state_t *s, ec_status_t *st)
{
    uint8_t slot[EC_GUARD_SLOT_BYTES];
    s_encode(slot, seq, s);
    off_t off = (seq % 2) ? 0 : EC_GUARD_SLOT_STRIDE;
    if (g->mem) {
        memcpy(g->mem->bytes + off, slot, sizeof slot);
        g->mem->exists = true;
        return 0;
    }
    int err = s_pwrite_all(g->fd, slot, sizeof slot, off);
    if (err == 0 && fdatasync(g->fd) != 0)
        err = errno;
    if (err != 0)
        return ec_status_set(st, EC_EIO, "guard file: cannot write and sync: %s", strerror(err));
    return 0;
}

static ec_guard_t *s_new(void)
{
    ec_guard_t *g = calloc(1, sizeof *g);
    if (g)
        g->fd = -1;
    return g;
}

/* fsync()s the folder holding path, so a newly created file's name is durable too. */
static int s_sync_dir(const char *path)
{
    char copy[PATH_MAX];
    if (snprintf(copy, sizeof copy, "%s", path) >= (int)sizeof copy)
        return ENAMETOOLONG;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int err = fsync(fd) == 0 ? 0 : errno;
    close(fd);
    return err;
}

/* Creates a new guard file holding the initial record. */
static ec_guard_t *s_create(const char *path, ec_status_t *st)
{
    ec_guard_t *g = s_new();
    if (!g) {
        ec_status_set(st, EC_ENOMEM, "out of memory");
        return NULL;
    }
    g->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (g->fd < 0) {
        ec_status_set(st, EC_EIO, "cannot create guard file %s: %s", path, strerror(errno));
        ec_guard_destroy(&g);
        return NULL;
    }
    ec_guard_state_init(&g->state, NULL);
    g->state.fresh = true;
    int err = 0;
    if (s_write_slot(g, 1, &g->state, st) != 0 || (err = s_sync_dir(path)) != 0) {
        if (err)
            ec_status_set(st, EC_EIO, "cannot sync the folder of %s: %s", path, strerror(err));
        ec_guard_destroy(&g);
        unlink(path);
        return NULL;
    }
    g->seq = 1;
    return g;
}

ec_guard_t *ec_guard_open(const char *path, bool create, bool *created, ec_status_t *st)
{
    assert(path);
    if (created)
        *created = false;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        if (!create) {
            ec_status_set(st, EC_ENOTFOUND, "guard file %s does not exist", path);
            return NULL;
        }
        ec_guard_t *g = s_create(path, st);
        if (g && created)
            *created = true;
        return g;
    }
    if (fd < 0) {
        ec_status_set(st, EC_EIO, "cannot open guard file %s: %s", path, strerror(errno));
        return NULL;
    }
    uint8_t buf[EC_GUARD_SLOT_STRIDE + EC_GUARD_SLOT_BYTES];
    memset(buf, 0, sizeof buf);
    ssize_t n = pread(fd, buf, sizeof buf, 0);
    ec_guard_t *g = s_new();
    if (n < 0 || !g) {
        ec_status_set(st, n < 0 ? EC_EIO : EC_ENOMEM, "cannot read guard file %s: %s", path,
                      n < 0 ? strerror(errno) : "out of memory");
        close(fd);
        free(g);
        return NULL;
    }
    g->fd = fd;
    if (!s_pick(buf, buf + EC_GUARD_SLOT_STRIDE, &g->seq, &g->state)) {
        ec_status_set(st, EC_EIO,
                      "guard file %s is damaged (no valid record in either slot): this node "
                      "can no longer tell what it committed and signed",
                      path);
        ec_guard_destroy(&g);
        return NULL;
    }
    return g;
}

ec_guard_t *ec_guard_open_mem(ec_guard_mem_t *mem, bool *created)
{
    assert(mem);
    ec_guard_t *g = s_new();
    if (!g)
        return NULL;
    g->mem = mem;
    if (created)
        *created = !mem->exists;
    if (!mem->exists) {
        ec_guard_state_init(&g->state, NULL);
        g->state.fresh = true;
        (void)s_write_slot(g, 1, &g->state, NULL);
        g->seq = 1;
        return g;
    }
    bool ok = s_pick(mem->bytes, mem->bytes + EC_GUARD_SLOT_STRIDE, &g->seq, &g->state);
    assert(ok); /* memory is never torn */
    (void)ok;
    return g;
}

void ec_guard_destroy(ec_guard_t **self_p)
{
    assert(self_p);
    ec_guard_t *g = *self_p;
    if (!g)
        return;
    if (g->fd >= 0)
        close(g->fd);
    free(g);
    *self_p = NULL;
}

const ec_guard_state_t *ec_guard_state(const ec_guard_t *g)
{
    assert(g);
    return &g->state;
}

int ec_guard_save(ec_guard_t *g, const ec_guard_state_t *s, ec_status_t *st)
{
    assert(g && s);
    assert(s->locked_round >= -1 && s->valid_round >= -1 && s->voted_round >= -1 &&
           s->prevote_round >= -1);
    int rc = s_write_slot(g, g->seq + 1, s, st);
    if (rc != 0)
        return rc;
    g->seq++;
    g->saves++;
    g->state = *s;
    return 0;
}

uint64_t ec_guard_saves(const ec_guard_t *g)
{
    assert(g);
    return g->saves;
}
