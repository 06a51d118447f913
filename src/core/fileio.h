/* fileio.h - whole-file reads and durable writes of small files (keys, PEMs). */
#ifndef KW_FILEIO_H
#define KW_FILEIO_H

#include <sys/stat.h>
#include <sys/types.h>

#include "buf.h"

/* write(2)/read(2) until done, retrying EINTR; 0 or -1 (errno set). */
int fd_write_all(int fd, const void *p, size_t n);
int fd_read_exact(int fd, void *p, size_t n);
/* fsync the directory holding `path`, so a new or renamed entry is durable. */
void dir_sync_parent(const char *path);
/* Append the file to `out` (its max applies). A missing file is not an error:
 * *missing says so. The read buffer is wiped: files may hold keys. */
int file_read_all(const char *path, struct buf *out, bool *missing, struct errbuf *eb);
/* The same for a regular file only (a FIFO or a device is refused without
 * waiting on it), its stat in *st: what was read is what was judged.
 * E_NOTFOUND, without a message, when there is none. */
int file_read_regular(const char *path, struct buf *out, struct stat *st, struct errbuf *eb);
/* Whether the server may trust what `path` (stat in *st) holds, as sshd's
 * StrictModes judges: owned by the server's user or root, and writable by
 * neither group nor others; else E_FORBIDDEN naming it and the fix. Another
 * local user able to write the data directory, the config or the master key
 * could point the store at a file of theirs or plant a key they know. */
int file_trusted(const char *path, const struct stat *st, struct errbuf *eb);
/* Replace `path` atomically (temporary file, fsync, rename, directory fsync)
 * with `data`, mode `mode`; the temporary file is 0600 until then. */
int file_write_atomic(const char *path, struct str data, mode_t mode, struct errbuf *eb);

#endif
