/*
 * ods_store.c - odsd's object store on local disk (layout and invariants in ods_store.h).
 *
 * Every path is reached through a file descriptor of its folder (openat, renameat,
 * fstatat), opened once when the store opens, so that fsync of "the folder a rename went
 * into" is exactly that folder and a store folder moved while odsd runs cannot split a put
 * between two places. Names are built from a hash in hex, never from outside text.
 */
#include "ods_store.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "ec_config.h"

#define S_HEX_BYTES (2 * EC_HASH_BYTES + 1) /* a hash in hex, with its NUL                */
#define S_TMP_NAME_BYTES (S_HEX_BYTES + 17) /* <h64>.<16 hex>, with its NUL              */
#define S_VERIFY_BUF_BYTES (64u * 1024)
#define S_TMP_SCAN_MAX 100000 /* entries removed from tmp/ at start-up, at most           */

struct ods_store {
    char dir[EC_PATH_MAX]; /* the store folder, for messages                         */
    int dir_fd;            /* the store folder                                        */
    int objects_fd;        /* objects/                                                */
    int keys_fd;           /* keys/                                                   */
    int tmp_fd;            /* tmp/                                                    */
    int damaged_fd;        /* damaged/                                                */
};

struct ods_put {
    ods_store_t *store;
    int fd;                        /* the temporary file, open for writing          */
    char tmp[S_TMP_NAME_BYTES];    /* its name in tmp/                              */
    uint8_t digest[EC_HASH_BYTES]; /* declared                                      */
    uint64_t size;                 /* declared                                      */
    uint64_t received;             /* bytes written so far                          */
    uint8_t sealed_key[EC_ODS_SEALED_KEY_BYTES];
    ec_ods_hash_t hash; /* over the bytes received                   */
};

struct ods_get {
    int fd;                        /* the object, open for reading                      */
    uint8_t digest[EC_HASH_BYTES]; /* its name                                          */
    uint64_t size;
    uint64_t offset;    /* bytes served so far                               */
    ec_ods_hash_t hash; /* over the bytes served                             */
    bool finished;
};

static void s_hex(char out[S_HEX_BYTES], const uint8_t digest[EC_HASH_BYTES])
{
    ec_hex(out, digest, EC_HASH_BYTES);
}

/* Opens (making it when missing, mode 0700) folder `name` under at_fd. -1 with errno. */
static int s_subdir(int at_fd, const char *name)
{
    if (mkdirat(at_fd, name, 0700) != 0 && errno != EEXIST)
        return -1;
    return openat(at_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Removes every file in tmp/ (a bounded number: a folder with more is an operator's
 * problem, reported). 0 or EC_EIO. */
static int s_tmp_clean(ods_store_t *s, ec_status_t *st)
{
    int fd = dup(s->tmp_fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return ec_status_set(st, EC_EIO, "%s/tmp: cannot list: %s", s->dir, strerror(errno));
    }
    rewinddir(d);
    int rc = 0;
    struct dirent *e;
    for (unsigned n = 0; rc == 0 && (e = readdir(d)) != NULL; n++) {
        if (n >= S_TMP_SCAN_MAX)
            rc = ec_status_set(st, EC_EIO, "%s/tmp: more than %u entries", s->dir, S_TMP_SCAN_MAX);
        else if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
                 unlinkat(s->tmp_fd, e->d_name, 0) != 0)
            rc = ec_status_set(st, EC_EIO, "%s/tmp/%s: cannot remove: %s", s->dir, e->d_name,
                               strerror(errno));
    }
    closedir(d);
    return rc;
}

ods_store_t *ods_store_open(const char *dir, ec_status_t *st)
{
    assert(dir && st);
    ods_store_t *s = calloc(1, sizeof *s);
    if (!s) {
        ec_status_set(st, EC_ENOMEM, "out of memory");
        return NULL;
    }
    s->dir_fd = s->objects_fd = s->keys_fd = s->tmp_fd = s->damaged_fd = -1;
    if (snprintf(s->dir, sizeof s->dir, "%s", dir) >= (int)sizeof s->dir) {
        ec_status_set(st, EC_EIO, "store folder path too long");
        free(s);
        return NULL;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        ec_status_set(st, EC_EIO, "%s: cannot create: %s", dir, strerror(errno));
        free(s);
        return NULL;
    }
    const char *failed = NULL;
    if ((s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        failed = "";
    else if ((s->objects_fd = s_subdir(s->dir_fd, "objects")) < 0)
        failed = "/objects";
    else if ((s->keys_fd = s_subdir(s->dir_fd, "keys")) < 0)
        failed = "/keys";
    else if ((s->tmp_fd = s_subdir(s->dir_fd, "tmp")) < 0)
        failed = "/tmp";
    else if ((s->damaged_fd = s_subdir(s->dir_fd, "damaged")) < 0)
        failed = "/damaged";
    if (failed) {
        ec_status_set(st, EC_EIO, "%s%s: cannot open: %s", dir, failed, strerror(errno));
        ods_store_destroy(&s);
        return NULL;
    }
    /* New sub-folders must survive a crash before anything is renamed into them. */
    if (fsync(s->dir_fd) != 0) {
        ec_status_set(st, EC_EIO, "%s: fsync: %s", dir, strerror(errno));
        ods_store_destroy(&s);
        return NULL;
    }
    if (s_tmp_clean(s, st) != 0)
        ods_store_destroy(&s);
    return s;
}

void ods_store_destroy(ods_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ods_store_t *s = *self_p;
    int fds[] = {s->dir_fd, s->objects_fd, s->keys_fd, s->tmp_fd, s->damaged_fd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(s);
    *self_p = NULL;
}

/* ---- helpers -------------------------------------------------------------------------------- */

/* Writes all of data to fd (retrying short writes). 0, or -1 with errno. */
static int s_write_all(int fd, const uint8_t *data, size_t size)
{
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        data += n;
        size -= (size_t)n;
    }
    return 0;
}

/* Reads exactly size bytes at offset (retrying short reads). The count read: less than size
 * only at the end of the file; -1 with errno on a failure. */
static ssize_t s_pread_all(int fd, uint8_t *buf, size_t size, uint64_t offset)
{
    size_t got = 0;
    while (got < size) {
        ssize_t n = pread(fd, buf + got, size - got, (off_t)(offset + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* A fresh temporary name for hash hex: <h64>.<16 random hex>. */
static void s_tmp_name(char out[S_TMP_NAME_BYTES], const char *hex)
{
    uint8_t r[8];
    char rhex[17];
    randombytes_buf(r, sizeof r);
    ec_hex(rhex, r, sizeof r);
    snprintf(out, S_TMP_NAME_BYTES, "%s.%s", hex, rhex);
}

/* Opens objects/<h2>/ (made when missing; the objects folder then fsync'd so the new
 * folder is durable). -1 with errno. */
static int s_bucket(ods_store_t *s, const char *hex, bool create)
{
    char h2[3] = {hex[0], hex[1], '\0'};
    int fd = openat(s->objects_fd, h2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0 || errno != ENOENT || !create)
        return fd;
    if (mkdirat(s->objects_fd, h2, 0700) != 0 && errno != EEXIST)
        return -1;
    if (fsync(s->objects_fd) != 0)
        return -1;
    return openat(s->objects_fd, h2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Whether name exists under at_fd: 1 yes, 0 no, -1 (errno) cannot tell. */
static int s_exists(int at_fd, const char *name)
{
    struct stat sb;
    if (fstatat(at_fd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
        return 1;
    return errno == ENOENT ? 0 : -1;
}

/* Writes the key file keys/<hex> through tmp/: write, fsync, rename, fsync keys/. */
static int s_key_write(ods_store_t *s, const char *hex,
                       const uint8_t sealed_key[EC_ODS_SEALED_KEY_BYTES], ec_status_t *st)
{
    char tmp[S_TMP_NAME_BYTES];
    s_tmp_name(tmp, hex);
    int fd = openat(s->tmp_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return ec_status_set(st, EC_EIO, "%s/tmp: cannot create a key file: %s", s->dir,
                             strerror(errno));
    int e = 0;
    if (s_write_all(fd, sealed_key, EC_ODS_SEALED_KEY_BYTES) != 0 || fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && e == 0)
        e = errno;
    if (e == 0 && renameat(s->tmp_fd, tmp, s->keys_fd, hex) != 0)
        e = errno;
    if (e != 0)
        (void)unlinkat(s->tmp_fd, tmp, 0);
    else if (fsync(s->keys_fd) != 0)
        e = errno; /* in place, but perhaps not durable: say so, a new put repeats it */
    return e == 0 ? 0
                  : ec_status_set(st, EC_EIO, "%s/keys/%s: cannot store: %s", s->dir, hex,
                                  strerror(e));
}

/* ---- uploads -------------------------------------------------------------------------------- */

int ods_store_put_begin(ods_store_t *s, ods_put_t **out, const uint8_t digest[EC_HASH_BYTES],
                        uint64_t size, const uint8_t sealed_key[EC_ODS_SEALED_KEY_BYTES],
                        ec_status_t *st)
{
    assert(s && out && digest && sealed_key);
    *out = NULL;
    if (size > EC_ODS_FILE_BYTES_MAX)
        return ec_status_set(st, EC_ETOOBIG, "%llu bytes: a stored file has at most %llu",
                             (unsigned long long)size, (unsigned long long)EC_ODS_FILE_BYTES_MAX);
    /* A rough early refusal: concurrent uploads share the space, and the final write can
     * still fail, but a file that cannot fit is refused before its first byte. */
    struct statvfs vfs;
    if (fstatvfs(s->tmp_fd, &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < size)
        return ec_status_set(st, EC_EIO, "not enough free space for %llu bytes",
                             (unsigned long long)size);
    ods_put_t *p = calloc(1, sizeof *p);
    if (!p)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    char hex[S_HEX_BYTES];
    s_hex(hex, digest);
    s_tmp_name(p->tmp, hex);
    p->fd = openat(s->tmp_fd, p->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (p->fd < 0) {
        int e = errno;
        free(p);
        return ec_status_set(st, EC_EIO, "%s/tmp: cannot create: %s", s->dir, strerror(e));
    }
    p->store = s;
    memcpy(p->digest, digest, EC_HASH_BYTES);
    memcpy(p->sealed_key, sealed_key, EC_ODS_SEALED_KEY_BYTES);
    p->size = size;
    ec_ods_hash_init(&p->hash);
    *out = p;
    return 0;
}

int ods_store_put_write(ods_put_t *p, uint64_t offset, const uint8_t *data, size_t size,
                        ec_status_t *st)
{
    assert(p && (data || size == 0));
    if (offset != p->received)
        return ec_status_set(st, EC_EINVAL, "chunk at offset %llu, expected %llu (in order)",
                             (unsigned long long)offset, (unsigned long long)p->received);
    if (size > p->size - p->received)
        return ec_status_set(st, EC_ETOOBIG, "chunk of %zu bytes at %llu overruns the size %llu",
                             size, (unsigned long long)offset, (unsigned long long)p->size);
    if (s_write_all(p->fd, data, size) != 0)
        return ec_status_set(st, EC_EIO, "cannot write the upload: %s", strerror(errno));
    ec_ods_hash_update(&p->hash, data, size);
    p->received += size;
    return 0;
}

uint64_t ods_store_put_received(const ods_put_t *p)
{
    return p->received;
}

/* Renames the finished temporary file into objects/<h2>/<hex> unless an object is there
 * (*already). 0 or EC_EIO. */
static int s_put_place(ods_put_t *p, const char *hex, bool *already, ec_status_t *st)
{
    ods_store_t *s = p->store;
    int bucket = s_bucket(s, hex, true);
    if (bucket < 0)
        return ec_status_set(st, EC_EIO, "%s/objects/%.2s: cannot open: %s", s->dir, hex,
                             strerror(errno));
    int rc = 0, there = s_exists(bucket, hex);
    *already = there == 1;
    if (there < 0)
        rc = ec_status_set(st, EC_EIO, "%s/objects/%.2s/%s: %s", s->dir, hex, hex, strerror(errno));
    else if (there == 0 && (renameat(s->tmp_fd, p->tmp, bucket, hex) != 0 || fsync(bucket) != 0))
        rc = ec_status_set(st, EC_EIO, "%s/objects/%.2s/%s: cannot store: %s", s->dir, hex, hex,
                           strerror(errno));
    close(bucket);
    return rc;
}

int ods_store_put_end(ods_put_t **pp, bool *already, ec_status_t *st)
{
    assert(pp && *pp && already);
    ods_put_t *p = *pp;
    ods_store_t *s = p->store;
    *already = false;
    char hex[S_HEX_BYTES];
    s_hex(hex, p->digest);
    uint8_t got[EC_HASH_BYTES];
    ec_ods_hash_final(&p->hash, got);
    int rc = 0;
    if (p->received != p->size)
        rc = ec_status_set(st, EC_EINVAL, "received %llu of %llu bytes",
                           (unsigned long long)p->received, (unsigned long long)p->size);
    else if (memcmp(got, p->digest, EC_HASH_BYTES) != 0)
        rc = ec_status_set(st, EC_ECRYPTO, "the bytes received do not hash to %s", hex);
    else if (fsync(p->fd) != 0)
        rc = ec_status_set(st, EC_EIO, "cannot fsync the upload: %s", strerror(errno));
    if (close(p->fd) != 0 && rc == 0)
        rc = ec_status_set(st, EC_EIO, "cannot close the upload: %s", strerror(errno));
    p->fd = -1;
    if (rc == 0)
        rc = s_put_place(p, hex, already, st);
    /* The object is in place (or was): the key file follows, unless one is there already
     * (the first upload's key stays, as its object does). */
    int key_there = rc == 0 ? s_exists(s->keys_fd, hex) : 0;
    if (rc == 0 && key_there < 0)
        rc = ec_status_set(st, EC_EIO, "%s/keys/%s: %s", s->dir, hex, strerror(errno));
    if (rc == 0 && key_there == 0)
        rc = s_key_write(s, hex, p->sealed_key, st);
    ods_store_put_abort(pp); /* removes the temporary file when it was not renamed */
    return rc;
}

void ods_store_put_abort(ods_put_t **pp)
{
    if (!pp || !*pp)
        return;
    ods_put_t *p = *pp;
    if (p->fd >= 0)
        close(p->fd);
    (void)unlinkat(p->store->tmp_fd, p->tmp, 0); /* ENOENT once renamed into place */
    sodium_memzero(p, sizeof *p);
    free(p);
    *pp = NULL;
}

/* ---- lookups -------------------------------------------------------------------------------- */

/* Opens objects/<h2>/<hex> for reading. -1 with errno. */
static int s_object_open(ods_store_t *s, const char *hex)
{
    int bucket = s_bucket(s, hex, false);
    if (bucket < 0)
        return -1;
    int fd = openat(bucket, hex, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    int e = errno;
    close(bucket);
    errno = e;
    return fd;
}

int ods_store_has(ods_store_t *s, const uint8_t digest[EC_HASH_BYTES], uint64_t *size)
{
    assert(s && digest);
    char hex[S_HEX_BYTES];
    s_hex(hex, digest);
    int fd = s_object_open(s, hex);
    if (fd < 0)
        return errno == ENOENT ? EC_ENOTFOUND : EC_EIO;
    struct stat sb;
    int rc = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) ? 0 : EC_EIO;
    close(fd);
    int key = rc == 0 ? s_exists(s->keys_fd, hex) : 1;
    if (rc == 0 && key != 1)
        rc = key == 0 ? EC_ENOTFOUND : EC_EIO;
    if (rc == 0 && size)
        *size = (uint64_t)sb.st_size;
    return rc;
}

bool ods_store_is_damaged(ods_store_t *s, const uint8_t digest[EC_HASH_BYTES])
{
    char hex[S_HEX_BYTES];
    s_hex(hex, digest);
    return s_exists(s->damaged_fd, hex) == 1;
}

int ods_store_key(ods_store_t *s, const uint8_t digest[EC_HASH_BYTES],
                  uint8_t sealed_key[EC_ODS_SEALED_KEY_BYTES])
{
    assert(s && digest && sealed_key);
    char hex[S_HEX_BYTES];
    s_hex(hex, digest);
    int fd = openat(s->keys_fd, hex, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? EC_ENOTFOUND : EC_EIO;
    /* One byte more than a key file holds, to see a longer (damaged) file. */
    uint8_t buf[EC_ODS_SEALED_KEY_BYTES + 1];
    ssize_t n = s_pread_all(fd, buf, sizeof buf, 0);
    close(fd);
    int rc = n == EC_ODS_SEALED_KEY_BYTES ? 0 : EC_EIO;
    if (rc == 0)
        memcpy(sealed_key, buf, EC_ODS_SEALED_KEY_BYTES);
    sodium_memzero(buf, sizeof buf);
    return rc;
}

int ods_store_quarantine(ods_store_t *s, const uint8_t digest[EC_HASH_BYTES])
{
    assert(s && digest);
    char hex[S_HEX_BYTES];
    s_hex(hex, digest);
    int bucket = s_bucket(s, hex, false);
    if (bucket < 0)
        return errno == ENOENT ? EC_ENOTFOUND : EC_EIO;
    int rc = 0;
    if (renameat(bucket, hex, s->damaged_fd, hex) != 0)
        rc = errno == ENOENT ? EC_ENOTFOUND : EC_EIO;
    else if (fsync(s->damaged_fd) != 0 || fsync(bucket) != 0)
        rc = EC_EIO;
    close(bucket);
    return rc;
}

int ods_store_verify(ods_store_t *s, const uint8_t digest[EC_HASH_BYTES], bool *intact)
{
    assert(s && digest && intact);
    *intact = false;
    char hex[S_HEX_BYTES];
    s_hex(hex, digest);
    int fd = s_object_open(s, hex);
    if (fd < 0)
        return errno == ENOENT ? EC_ENOTFOUND : EC_EIO;
    uint8_t *buf = malloc(S_VERIFY_BUF_BYTES);
    int rc = buf ? 0 : EC_ENOMEM;
    ec_ods_hash_t h;
    ec_ods_hash_init(&h);
    for (uint64_t off = 0; rc == 0;) {
        ssize_t n = s_pread_all(fd, buf, S_VERIFY_BUF_BYTES, off);
        if (n < 0)
            rc = EC_EIO;
        else if (n == 0)
            break;
        else {
            ec_ods_hash_update(&h, buf, (size_t)n);
            off += (uint64_t)n;
        }
    }
    close(fd);
    free(buf);
    uint8_t got[EC_HASH_BYTES];
    ec_ods_hash_final(&h, got);
    if (rc == 0)
        *intact = memcmp(got, digest, EC_HASH_BYTES) == 0;
    return rc;
}

/* ---- downloads ------------------------------------------------------------------------------ */

int ods_store_get_open(ods_store_t *s, ods_get_t **out, uint64_t *size,
                       const uint8_t digest[EC_HASH_BYTES], ec_status_t *st)
{
    assert(s && out && size && digest);
    *out = NULL;
    char hex[S_HEX_BYTES];
    s_hex(hex, digest);
    int rc = ods_store_has(s, digest, NULL);
    if (rc)
        return ec_status_set(st, rc, "object %s is %s", hex,
                             rc == EC_ENOTFOUND ? "not stored here" : "unreadable");
    ods_get_t *g = calloc(1, sizeof *g);
    if (!g)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    struct stat sb;
    g->fd = s_object_open(s, hex);
    if (g->fd < 0 || fstat(g->fd, &sb) != 0) {
        int e = errno;
        if (g->fd >= 0)
            close(g->fd);
        free(g);
        return ec_status_set(st, e == ENOENT ? EC_ENOTFOUND : EC_EIO, "object %s: %s", hex,
                             strerror(e));
    }
    memcpy(g->digest, digest, EC_HASH_BYTES);
    g->size = (uint64_t)sb.st_size;
    ec_ods_hash_init(&g->hash);
    *size = g->size;
    *out = g;
    return 0;
}

int ods_store_get_read(ods_get_t *g, uint64_t offset, uint8_t *buf, size_t cap, size_t *n,
                       ec_status_t *st)
{
    assert(g && buf && n && cap > 0);
    *n = 0;
    if (offset != g->offset || offset >= g->size)
        return ec_status_set(st, EC_EINVAL, "read at offset %llu, expected %llu (in order)",
                             (unsigned long long)offset, (unsigned long long)g->offset);
    size_t want = g->size - offset < cap ? (size_t)(g->size - offset) : cap;
    ssize_t got = s_pread_all(g->fd, buf, want, offset);
    if (got < 0)
        return ec_status_set(st, EC_EIO, "cannot read the object: %s", strerror(errno));
    if ((size_t)got != want)
        return ec_status_set(st, EC_EIO, "the object ended at %llu bytes of %llu",
                             (unsigned long long)(offset + (uint64_t)got),
                             (unsigned long long)g->size);
    ec_ods_hash_update(&g->hash, buf, want);
    g->offset += want;
    *n = want;
    return 0;
}

uint64_t ods_store_get_offset(const ods_get_t *g)
{
    return g->offset;
}

uint64_t ods_store_get_size(const ods_get_t *g)
{
    return g->size;
}

int ods_store_get_finish(ods_get_t *g, bool *intact)
{
    assert(g && intact && !g->finished);
    *intact = false;
    if (g->offset != g->size)
        return EC_EINVAL;
    uint8_t got[EC_HASH_BYTES];
    ec_ods_hash_final(&g->hash, got);
    g->finished = true;
    *intact = memcmp(got, g->digest, EC_HASH_BYTES) == 0;
    return 0;
}

void ods_store_get_close(ods_get_t **gp)
{
    if (!gp || !*gp)
        return;
    if ((*gp)->fd >= 0)
        close((*gp)->fd);
    free(*gp);
    *gp = NULL;
}
