/* fileio.c - see fileio.h. */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int
fd_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int
fd_read_exact(int fd, void *p, size_t n)
{
    char *c = p;

    while (n > 0) {
        ssize_t r = read(fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

void
dir_sync_parent(const char *path)
{
    char dir[PATH_MAX];
    int  fd, n = snprintf(dir, sizeof(dir), "%s", path);

    if (n < 0 || n >= (int)sizeof(dir))
        return;
    fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Append what is left to read from fd to `out`, and close it. */
static int
fd_read_into(int fd, const char *path, struct buf *out, struct errbuf *eb)
{
    char    chunk[4096];
    ssize_t n;
    int     rc = E_OK;

    for (;;) {
        n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = errbuf_set(eb, E_INTERNAL, "cannot read %s: %s", path, strerror(errno));
        else if (n > 0 && buf_append(out, chunk, (size_t)n) != E_OK)
            rc = errbuf_set(eb, E_INTERNAL, "%s is too large", path);
        if (n <= 0 || rc != E_OK)
            break;
    }
    OPENSSL_cleanse(chunk, sizeof(chunk));
    close(fd);
    return rc;
}

int
file_read_all(const char *path, struct buf *out, bool *missing, struct errbuf *eb)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    *missing = false;
    if (fd < 0) {
        if (errno == ENOENT) {
            *missing = true;
            return E_OK;
        }
        return errbuf_set(eb, E_INTERNAL, "cannot read %s: %s", path, strerror(errno));
    }
    return fd_read_into(fd, path, out, eb);
}

int
file_read_regular(const char *path, struct buf *out, struct stat *st, struct errbuf *eb)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

    if (fd < 0 && errno == ENOENT)
        return E_NOTFOUND;
    if (fd < 0)
        return errbuf_set(eb, E_INTERNAL, "cannot read %s: %s", path, strerror(errno));
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return errbuf_set(eb, E_INTERNAL, "%s is not a regular file", path);
    }
    return fd_read_into(fd, path, out, eb);
}

int
file_trusted(const char *path, const struct stat *st, struct errbuf *eb)
{
    uid_t me = geteuid();

    if (st->st_uid != me && st->st_uid != 0)
        return errbuf_set(eb, E_FORBIDDEN,
                          "%s: owned by uid %u, not by the server's user (uid %u) or root: "
                          "chown it, or run the server as its owner",
                          path, (unsigned)st->st_uid, (unsigned)me);
    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return errbuf_set(eb, E_FORBIDDEN,
                          "%s: mode %04o lets group or others write it: chmod go-w it", path,
                          (unsigned)(st->st_mode & 07777));
    return E_OK;
}

int
file_write_atomic(const char *path, struct str data, mode_t mode, struct errbuf *eb)
{
    char tmp[PATH_MAX];
    int  fd, n, rc = E_INTERNAL;

    n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
    if (n < 0 || n >= (int)sizeof(tmp))
        return errbuf_set(eb, E_INTERNAL, "path too long: %s", path);
    fd = mkstemp(tmp); /* created 0600, so a key is never briefly readable */
    if (fd < 0)
        return errbuf_set(eb, E_INTERNAL, "cannot write %s: %s", path, strerror(errno));
    if (fchmod(fd, mode) != 0 || fd_write_all(fd, data.p, data.len) != 0 || fsync(fd) != 0) {
        rc = errbuf_set(eb, E_INTERNAL, "cannot write %s: %s", path, strerror(errno));
        close(fd);
    } else if (close(fd) != 0 || rename(tmp, path) != 0) {
        rc = errbuf_set(eb, E_INTERNAL, "cannot write %s: %s", path, strerror(errno));
    } else {
        rc = E_OK;
    }
    if (rc != E_OK)
        unlink(tmp);
    else
        dir_sync_parent(path);
    return rc;
}
