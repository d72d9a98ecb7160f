/*
 * ec_evidence.c - evidence deposits (ec_evidence.h): batch trees, file hashing, and the
 * evidence bundle's encoding, strict decoding and offline verification.
 *
 * Invariants: a decoded bundle re-encodes to exactly its input bytes (fuzz_evidence checks
 * it); every byte of an accepted bundle is covered by a check: the file hash by the caller's
 * own hash of the file, index, count and path by the inclusion proof against the root the
 * EVIDENCE body names, and the tx bundle by ec_bundle_verify, which binds that body to a
 * main header the trusted main validators committed. The tree is ec_merkle's (RFC 9162),
 * so a batch of one file has its leaf as root and an empty path.
 */
#include "ec_evidence.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ec_chain.h"

enum { S_FIELDS = 6 };

#define S_READ_BYTES (64u * 1024) /* one read of a file being hashed                     */
#define S_RUN 64                  /* files a hashing thread takes at a time              */

/* ---- batches ---------------------------------------------------------------------------- */

void ec_evidence_leaf(uint8_t out[EC_HASH_BYTES], const uint8_t file_hash[EC_HASH_BYTES])
{
    ec_merkle_leaf(out, EC_LEAF_DEPOSIT, file_hash, EC_HASH_BYTES);
}

void ec_evidence_root(uint8_t root[EC_HASH_BYTES], ec_hash32_t *leaves,
                      const ec_hash32_t *file_hashes, size_t count)
{
    assert(root && leaves && file_hashes);
    assert(count >= 1 && count <= EC_EVIDENCE_BATCH_MAX);
    for (size_t i = 0; i < count; i++)
        ec_evidence_leaf(leaves[i], file_hashes[i]);
    ec_merkle_root(root, (const ec_hash32_t *)leaves, count);
}

int ec_evidence_path(ec_hash32_t path[EC_MERKLE_PROOF_MAX], size_t *len, const ec_hash32_t *leaves,
                     uint64_t count, uint64_t index)
{
    assert(path && len && leaves);
    *len = 0;
    if (count == 0 || count > EC_EVIDENCE_BATCH_MAX || index >= count)
        return EC_EINVAL;
    ec_merkle_mem_t mem = {.leaves = leaves, .count = (size_t)count};
    return ec_merkle_inclusion_proof(path, len, ec_merkle_mem_oracle, &mem, index, count);
}

/* The length RFC 9162 gives the path of leaf `index` in a tree of `count` leaves (index <
 * count): one step per split on the way down. */
static size_t s_path_len(uint64_t index, uint64_t count)
{
    size_t n = 0;
    while (count > 1) {
        uint64_t k = 1;
        while (k << 1 < count)
            k <<= 1;
        if (index < k) {
            count = k;
        } else {
            index -= k;
            count -= k;
        }
        n++;
    }
    return n;
}

int ec_evidence_hash_file(uint8_t out[EC_HASH_BYTES], const char *path, ec_status_t *st)
{
    /* Hashing must not touch the evidence: no access time is written (the first read of a
     * new file would otherwise dirty its inode, a journal write per file). O_NOATIME is only
     * for the file's owner; anyone else reads it plainly. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOATIME);
    if (fd < 0 && errno == EPERM)
        fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ec_status_set(st, errno == ENOENT ? EC_ENOTFOUND : EC_EIO, "cannot read %s: %s",
                             path, strerror(errno));
    /* A FIFO or a device could block or never end: only regular files are evidence. */
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return ec_status_set(st, EC_EIO, "cannot read %s: not a regular file", path);
    }
    uint8_t buf[S_READ_BYTES];
    ec_sha256_t h;
    ec_sha256_init(&h);
    uint64_t total = 0;
    for (;;) {
        ssize_t got = read(fd, buf, sizeof buf);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;
            close(fd);
            return ec_status_set(st, EC_EIO, "cannot read %s: %s", path, strerror(e));
        }
        if (got == 0)
            break;
        ec_sha256_update(&h, buf, (size_t)got);
        total += (uint64_t)got;
        /* A short read that reaches the size fstat gave is the end: saves a read per small
         * file (a tenth of its cost). A file that grew since is read on to its end. */
        if ((size_t)got < sizeof buf && total == (uint64_t)sb.st_size)
            break;
    }
    close(fd);
    ec_sha256_final(&h, out);
    return 0;
}

/* The shared state of one ec_evidence_hash_files call. */
typedef struct {
    ec_hash32_t *out;
    const char *const *paths;
    size_t count;
    atomic_size_t next;   /* the first file no thread has taken yet                    */
    atomic_size_t failed; /* the lowest failing index so far (SIZE_MAX: none)          */
    pthread_mutex_t lock; /* guards rc and st                                         */
    int rc;
    ec_status_t st;
} s_hash_job_t;

/* Takes runs of S_RUN files until none is left. A file after one that failed is skipped:
 * only the first failure in path order is reported, so every earlier file is still hashed
 * (runs are taken in order, so a run not taken yet holds only later files). */
static void *s_hash_worker(void *arg)
{
    s_hash_job_t *job = arg;
    for (;;) {
        size_t begin = atomic_fetch_add(&job->next, S_RUN);
        if (begin >= job->count || begin > atomic_load(&job->failed))
            return NULL;
        size_t end = job->count - begin < S_RUN ? job->count : begin + S_RUN;
        for (size_t i = begin; i < end && i < atomic_load(&job->failed); i++) {
            ec_status_t st;
            int rc = ec_evidence_hash_file(job->out[i], job->paths[i], &st);
            if (rc == 0)
                continue;
            pthread_mutex_lock(&job->lock);
            if (i < atomic_load(&job->failed)) {
                atomic_store(&job->failed, i);
                job->rc = rc;
                job->st = st;
            }
            pthread_mutex_unlock(&job->lock);
            break;
        }
    }
}

int ec_evidence_hash_files(ec_hash32_t *out, const char *const *paths, size_t count,
                           unsigned threads, size_t *failed, ec_status_t *st)
{
    assert(out && (paths || count == 0) && failed);
    assert(threads >= 1 && threads <= EC_EVIDENCE_THREADS_MAX);
    *failed = 0;
    s_hash_job_t *job = calloc(1, sizeof *job);
    if (!job)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    job->out = out;
    job->paths = paths;
    job->count = count;
    atomic_init(&job->next, 0);
    atomic_init(&job->failed, SIZE_MAX);
    pthread_mutex_init(&job->lock, NULL);
    /* Threads pay off only beyond a few runs; the caller's thread is always one of them. */
    size_t runs = (count + S_RUN - 1) / S_RUN;
    unsigned extra = threads - 1;
    if (extra >= runs)
        extra = runs ? (unsigned)runs - 1 : 0;
    pthread_t tids[EC_EVIDENCE_THREADS_MAX];
    unsigned started = 0;
    int rc = 0;
    for (; started < extra; started++)
        if (pthread_create(&tids[started], NULL, s_hash_worker, job) != 0)
            break;
    s_hash_worker(job);
    for (unsigned i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    /* A thread that could not be started only costs speed: the others took its runs. */
    if (job->rc) {
        *failed = atomic_load(&job->failed);
        rc = job->rc;
        if (st)
            *st = job->st;
    }
    pthread_mutex_destroy(&job->lock);
    free(job);
    return rc;
}

/* ---- the evidence bundle ---------------------------------------------------------------- */

void ec_evidence_bundle_encode(ec_writer_t *w, const ec_evidence_bundle_t *b)
{
    assert(b->path_len <= EC_MERKLE_PROOF_MAX);
    ec_write_array(w, S_FIELDS);
    ec_write_uint(w, EC_EVIDENCE_VERSION);
    ec_write_bin(w, b->file_hash, EC_HASH_BYTES);
    ec_write_uint(w, b->index);
    ec_write_uint(w, b->count);
    ec_write_path(w, b->path, b->path_len);
    ec_write_bin(w, b->tx_bundle, b->tx_bundle_size);
}

/* Reads a bundle's fields from the cursor whose one element is its root (an ec_read_fn). */
static void s_bundle_read(ec_cur_t *top, void *out)
{
    ec_evidence_bundle_t *b = out;
    ec_cur_t c;
    uint64_t version = 0;
    ec_cur_enter(top, &c, S_FIELDS);
    ec_cur_uint(&c, &version);
    ec_cur_bin_fixed(&c, b->file_hash, EC_HASH_BYTES);
    ec_cur_uint(&c, &b->index);
    ec_cur_uint_max(&c, &b->count, EC_EVIDENCE_BATCH_MAX);
    ec_cur_path(&c, b->path, &b->path_len);
    ec_cur_bin(&c, &b->tx_bundle, &b->tx_bundle_size, EC_BUNDLE_BYTES_MAX);
    if (!c.err && (version != EC_EVIDENCE_VERSION || b->count == 0 || b->index >= b->count ||
                   b->path_len != s_path_len(b->index, b->count) || b->tx_bundle_size == 0))
        ec_cur_fail(&c, EC_EINVAL);
    ec_cur_fold(top, &c);
}

int ec_evidence_bundle_decode(ec_evidence_bundle_t *b, const uint8_t *data, size_t size)
{
    memset(b, 0, sizeof *b);
    if (size > EC_EVIDENCE_BYTES_MAX)
        return EC_ETOOBIG;
    /* Another version is told apart from garbage: [version, ...] with version != 1. */
    if (size >= 2 && (data[0] & 0xf0) == 0x90 && data[1] != EC_EVIDENCE_VERSION && data[1] < 0x80)
        return EC_EVERSION;
    return ec_decode_read(b, sizeof *b, data, size, s_bundle_read);
}

/* Reads the EVIDENCE the verified tx bundle carries, with its side header's time. Returns
 * 0 or EC_EPROOF (another type, a body that does not read) with st set. */
static int s_deposit_of(const uint8_t *tx_bundle, size_t size, ec_evidence_body_t *body,
                        uint64_t *time_ms, ec_status_t *st)
{
    ec_bundle_t *b = malloc(sizeof *b);
    if (!b)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    ec_tx_t tx;
    ec_header_t side;
    memset(&tx, 0, sizeof tx);
    /* ec_bundle_verify accepted these bytes: they decode. */
    int rc = ec_bundle_decode(b, tx_bundle, size);
    bool decoded = rc == 0;
    if (rc == 0)
        rc = ec_tx_decode(&tx, b->parts.tx, b->parts.tx_size);
    if (rc == 0)
        rc = ec_header_decode(&side, b->parts.side_header, b->parts.side_header_size);
    if (rc) {
        rc = ec_status_set(st, EC_EINTERNAL, "a verified tx bundle does not decode (a bug)");
    } else if (tx.type != EC_STX_EVIDENCE) {
        rc = ec_status_set(st, EC_EPROOF, "tx bundle: proves a %s transaction, not an EVIDENCE",
                           ec_tx_type_name(EC_CHAIN_SIDE, tx.type));
    } else if (ec_evidence_body_read(body, tx.body, NULL) != 0) {
        rc = ec_status_set(st, EC_EPROOF, "tx bundle: its EVIDENCE body does not read");
    } else {
        *time_ms = side.time_ms;
    }
    ec_tx_fini(&tx);
    if (decoded)
        ec_bundle_fini(b);
    free(b);
    return rc;
}

/* The checks after decoding, in the order the chain of proofs runs. 0 or st's code. */
static int s_verify(const ec_evidence_bundle_t *b, const uint8_t file_hash[EC_HASH_BYTES],
                    const char *main_chain_id, const ec_valset_t *main_validators,
                    ec_evidence_info_t *info, ec_status_t *st)
{
    char want[2 * EC_HASH_BYTES + 1], have[2 * EC_HASH_BYTES + 1];
    if (memcmp(file_hash, b->file_hash, EC_HASH_BYTES) != 0) {
        ec_hex(want, b->file_hash, EC_HASH_BYTES);
        ec_hex(have, file_hash, EC_HASH_BYTES);
        return ec_status_set(st, EC_EPROOF,
                             "file: its SHA-256 is %.16s..., the bundle is for %.16s... (the "
                             "file changed, or it is another file)",
                             have, want);
    }
    ec_bundle_info_t tx;
    ec_status_t tst = {0};
    int rc = ec_bundle_verify(b->tx_bundle, b->tx_bundle_size, main_chain_id, main_validators, NULL,
                              &tx, &tst);
    if (rc)
        return ec_status_set(st, rc, "tx bundle: %s", tst.msg);
    if (tx.result_code != 0)
        return ec_status_set(st, EC_EPROOF, "tx bundle: the side chain refused the deposit (%s)",
                             ec_errname(tx.result_code));
    ec_evidence_body_t body;
    rc = s_deposit_of(b->tx_bundle, b->tx_bundle_size, &body, &info->time_ms, st);
    if (rc)
        return rc;
    if (body.count != b->count)
        return ec_status_set(st, EC_EPROOF, "count: the bundle says %llu files, the deposit %llu",
                             (unsigned long long)b->count, (unsigned long long)body.count);
    uint8_t leaf[EC_HASH_BYTES];
    ec_evidence_leaf(leaf, file_hash);
    if (ec_merkle_inclusion_verify(leaf, b->index, b->count, b->path, b->path_len, body.root) != 0)
        return ec_status_set(st, EC_EPROOF,
                             "path: the file is not file %llu of the %llu the deposit's root "
                             "covers",
                             (unsigned long long)b->index, (unsigned long long)b->count);
    memcpy(info->file_hash, file_hash, EC_HASH_BYTES);
    memcpy(info->root, body.root, EC_HASH_BYTES);
    info->index = b->index;
    info->count = b->count;
    memcpy(info->tx_id, tx.tx_id, EC_HASH_BYTES);
    memcpy(info->depositor_pk, tx.sender, EC_PK_BYTES);
    ec_address_from_pk(info->depositor, tx.sender);
    memcpy(info->side_chain_id, tx.side_chain_id, sizeof info->side_chain_id);
    info->side_height = tx.side_height;
    info->anchored_height = tx.anchored_height;
    memcpy(info->main_chain_id, tx.main_chain_id, sizeof info->main_chain_id);
    info->main_height = tx.main_height;
    memcpy(info->main_hash, tx.main_hash, EC_HASH_BYTES);
    memcpy(info->note, body.note, body.note_len + 1);
    info->note_len = body.note_len;
    return 0;
}

int ec_evidence_verify(const uint8_t *bundle, size_t size, const uint8_t file_hash[EC_HASH_BYTES],
                       const char *main_chain_id, const ec_valset_t *main_validators,
                       ec_evidence_info_t *info, ec_status_t *st)
{
    assert(bundle || size == 0);
    assert(file_hash && main_chain_id && main_validators && info);
    ec_status_clear(st);
    memset(info, 0, sizeof *info);
    ec_evidence_bundle_t *b = malloc(sizeof *b);
    if (!b)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    int rc = ec_evidence_bundle_decode(b, bundle, size);
    if (rc)
        rc = ec_status_set(st, rc, "evidence bundle: malformed (%s)", ec_errname(rc));
    else
        rc = s_verify(b, file_hash, main_chain_id, main_validators, info, st);
    if (rc)
        memset(info, 0, sizeof *info);
    free(b);
    return rc;
}
