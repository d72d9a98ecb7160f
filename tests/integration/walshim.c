/*
 * walshim.c - an LD_PRELOAD library for the durability test (wal_sync.sh): it watches
 * RocksDB's write-ahead log files (names ending in ".log" under $ECERT_SHIM_DIR) and
 * records, at every send on a socket, whether some of the bytes written to those files
 * were not yet made durable with fsync() or fdatasync().
 *
 * A node must answer a submission only after the block holding it is on stable storage.
 * A SIGKILL cannot tell (the kernel keeps unsynced writes), a power cut can; this shim
 * makes the difference visible without one: with one client submitting one transaction
 * at a time, a reply that leaves while the log has unsynced bytes is a reply sent before
 * its block was durable.
 *
 * After every log sync, every violation and at exit it rewrites $ECERT_SHIM_REPORT as one
 * line:
 *   wal_writes=N wal_bytes=N wal_syncs=N sends=N unsynced_sends=N
 * Interposed: open, open64, openat, openat64, close, write, writev, pwrite, pwrite64,
 * pwritev, fsync, fdatasync, send, sendto, sendmsg. Test code only: never linked into
 * a daemon.
 */
/* Both the plain and the 64-bit names are defined below: headers must not rename one into
 * the other. */
#undef _FILE_OFFSET_BITS
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define S_FDS 4096 /* file descriptors tracked; RocksDB's stay far below */

static atomic_bool s_wal[S_FDS];        /* fd is a watched write-ahead log     */
static atomic_ullong s_unsynced[S_FDS]; /* bytes written since its last sync   */
static atomic_ullong s_writes, s_bytes, s_syncs, s_sends, s_violations;
static pthread_mutex_t s_report_lock = PTHREAD_MUTEX_INITIALIZER;

#define S_REAL(name, ret, ...)                                                                     \
    static ret (*real_##name)(__VA_ARGS__);                                                        \
    if (!real_##name)                                                                              \
    real_##name = (ret(*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name)

static void s_report(void)
{
    const char *path = getenv("ECERT_SHIM_REPORT");
    if (!path)
        return;
    pthread_mutex_lock(&s_report_lock);
    S_REAL(open, int, const char *, int, ...);
    S_REAL(write, ssize_t, int, const void *, size_t);
    S_REAL(close, int, int);
    int fd = real_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        char line[200];
        int n = snprintf(line, sizeof line,
                         "wal_writes=%llu wal_bytes=%llu wal_syncs=%llu sends=%llu "
                         "unsynced_sends=%llu\n",
                         atomic_load(&s_writes), atomic_load(&s_bytes), atomic_load(&s_syncs),
                         atomic_load(&s_sends), atomic_load(&s_violations));
        if (n > 0)
            (void)real_write(fd, line, (size_t)n);
        real_close(fd);
    }
    pthread_mutex_unlock(&s_report_lock);
}

__attribute__((destructor)) static void s_at_exit(void)
{
    s_report();
}

static void s_track_open(int fd, const char *path)
{
    const char *dir = getenv("ECERT_SHIM_DIR");
    size_t n = path ? strlen(path) : 0;
    if (fd < 0 || fd >= S_FDS || !dir)
        return;
    bool wal = n > 4 && strcmp(path + n - 4, ".log") == 0 && strstr(path, dir) != NULL;
    atomic_store(&s_wal[fd], wal);
    atomic_store(&s_unsynced[fd], 0);
}

static void s_track_write(int fd, ssize_t n)
{
    if (n > 0 && fd >= 0 && fd < S_FDS && atomic_load(&s_wal[fd])) {
        atomic_fetch_add(&s_unsynced[fd], (unsigned long long)n);
        atomic_fetch_add(&s_writes, 1);
        atomic_fetch_add(&s_bytes, (unsigned long long)n);
    }
}

static void s_track_sync(int fd, int rc)
{
    if (rc == 0 && fd >= 0 && fd < S_FDS && atomic_load(&s_wal[fd])) {
        atomic_store(&s_unsynced[fd], 0);
        atomic_fetch_add(&s_syncs, 1);
        s_report();
    }
}

static void s_track_send(void)
{
    atomic_fetch_add(&s_sends, 1);
    for (int fd = 0; fd < S_FDS; fd++)
        if (atomic_load(&s_wal[fd]) && atomic_load(&s_unsynced[fd]) > 0) {
            atomic_fetch_add(&s_violations, 1);
            s_report();
            return;
        }
}

static mode_t s_mode(int flags, va_list ap)
{
    return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = s_mode(flags, ap);
    va_end(ap);
    S_REAL(open, int, const char *, int, ...);
    int fd = real_open(path, flags, mode);
    s_track_open(fd, path);
    return fd;
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = s_mode(flags, ap);
    va_end(ap);
    S_REAL(open64, int, const char *, int, ...);
    int fd = real_open64(path, flags, mode);
    s_track_open(fd, path);
    return fd;
}

int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = s_mode(flags, ap);
    va_end(ap);
    S_REAL(openat, int, int, const char *, int, ...);
    int fd = real_openat(dirfd, path, flags, mode);
    s_track_open(fd, path);
    return fd;
}

int openat64(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = s_mode(flags, ap);
    va_end(ap);
    S_REAL(openat64, int, int, const char *, int, ...);
    int fd = real_openat64(dirfd, path, flags, mode);
    s_track_open(fd, path);
    return fd;
}

int close(int fd)
{
    S_REAL(close, int, int);
    if (fd >= 0 && fd < S_FDS) {
        atomic_store(&s_wal[fd], false);
        atomic_store(&s_unsynced[fd], 0);
    }
    return real_close(fd);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    S_REAL(write, ssize_t, int, const void *, size_t);
    ssize_t r = real_write(fd, buf, n);
    s_track_write(fd, r);
    return r;
}

ssize_t writev(int fd, const struct iovec *iov, int count)
{
    S_REAL(writev, ssize_t, int, const struct iovec *, int);
    ssize_t r = real_writev(fd, iov, count);
    s_track_write(fd, r);
    return r;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    S_REAL(pwrite, ssize_t, int, const void *, size_t, off_t);
    ssize_t r = real_pwrite(fd, buf, n, off);
    s_track_write(fd, r);
    return r;
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    S_REAL(pwrite64, ssize_t, int, const void *, size_t, off64_t);
    ssize_t r = real_pwrite64(fd, buf, n, off);
    s_track_write(fd, r);
    return r;
}

ssize_t pwritev(int fd, const struct iovec *iov, int count, off_t off)
{
    S_REAL(pwritev, ssize_t, int, const struct iovec *, int, off_t);
    ssize_t r = real_pwritev(fd, iov, count, off);
    s_track_write(fd, r);
    return r;
}

int fsync(int fd)
{
    S_REAL(fsync, int, int);
    int rc = real_fsync(fd);
    s_track_sync(fd, rc);
    return rc;
}

int fdatasync(int fd)
{
    S_REAL(fdatasync, int, int);
    int rc = real_fdatasync(fd);
    s_track_sync(fd, rc);
    return rc;
}

ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    S_REAL(send, ssize_t, int, const void *, size_t, int);
    s_track_send();
    return real_send(fd, buf, n, flags);
}

ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to,
               socklen_t tolen)
{
    S_REAL(sendto, ssize_t, int, const void *, size_t, int, const struct sockaddr *, socklen_t);
    s_track_send();
    return real_sendto(fd, buf, n, flags, to, tolen);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    S_REAL(sendmsg, ssize_t, int, const struct msghdr *, int);
    s_track_send();
    return real_sendmsg(fd, msg, flags);
}
