/* fileio.h - writing a whole file atomically.
 *
 * The bytes go to a temporary file in the same folder (`<path>.tmp.<pid>`),
 * which is fsynced and then renamed over `path`; the folder is fsynced so the
 * rename survives a crash. A failure at any point removes the temporary file
 * and leaves an existing `path` untouched.
 */
#ifndef LENET_FILEIO_H
#define LENET_FILEIO_H

#include <stddef.h>

#include "lenet/error.h"

ln_status ln_write_file_atomic(const char *path, const void *data, size_t n, ln_error *err);

/* The pieces, for writers that produce their bytes as they go (ckpt.c):
 * ln_tmp_create opens `<path>.tmp.<pid>` (0644, truncated) into *fd, its
 * name in tmp[tmpsz];
 * ln_write_all writes all n bytes (short writes and EINTR retried);
 * ln_sync_close fsyncs and closes fd, keeping an earlier error `s`.
 * Errors name `tmp`. The caller renames tmp into place (or unlinks it). */
ln_status ln_tmp_create(const char *path, char *tmp, size_t tmpsz, int *fd, ln_error *err);
ln_status ln_write_all(int fd, const void *data, size_t n, const char *tmp, ln_error *err);
ln_status ln_sync_close(int fd, const char *tmp, ln_status s, ln_error *err);

/* fsync the folder that holds `path`, so that a rename into it survives a
 * crash (best effort: errors are ignored, the data itself is already synced).
 * Shared by every writer that renames a temporary file into place. */
void ln_fsync_parent_dir(const char *path);

#endif
