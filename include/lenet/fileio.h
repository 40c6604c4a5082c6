/* fileio.h - the one way every output file is written, and how inputs and
 * the append-only log are opened.
 *
 * Whole outputs (checkpoints, exports, PNGs, report pages) go through
 * ln_out: the bytes go to a temporary file created exclusively in the
 * target's folder - `<path>.tmp.<pid>.<8 random hex>`, opened with
 * O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, so a symlink or any file planted
 * under that name (or any other) is never opened or followed - then fsynced
 * and renamed over `path` (or linked, never replacing); the folder is
 * fsynced so the rename survives a crash.
 * - A `path` that exists and is not a regular file (symlink, FIFO, device,
 *   socket, folder) is refused before anything is written: LN_E_USAGE
 *   naming it and its kind. Checked when the write begins and again just
 *   before the rename.
 * - Every failure (write, fsync, close, rename; a file-size limit is an
 *   ordinary write error since the CLI ignores SIGXFSZ) removes the
 *   temporary file and leaves an existing `path` untouched.
 * Outputs that must not be an input: ln_out_distinct.
 *
 * The metrics log is appended to (runs accumulate): ln_append_open opens it
 * O_WRONLY|O_APPEND|O_CREAT|O_NOFOLLOW|O_CLOEXEC and refuses anything but a
 * regular file (a symlink, FIFO, device or folder: LN_E_USAGE naming it).
 *
 * Inputs read whole: ln_input_open refuses folders and devices (reading
 * /dev/zero never ends) and, unless allowed, pipes; it never blocks on a
 * FIFO without a writer (such a FIFO reads as empty).
 */
#ifndef LENET_FILEIO_H
#define LENET_FILEIO_H

#include <stddef.h>

#include "lenet/error.h"

typedef struct {
    int fd;
    char *tmp;        /* the temporary file's name (malloc'd) */
    const char *path; /* the target */
} ln_out;

/* Refuse a non-regular `path`, then create the temporary file. */
ln_status ln_out_begin(ln_out *o, const char *path, ln_error *err);
/* Write all n bytes (short writes and EINTR retried). On failure the caller
 * still calls ln_out_abort (or ln_out_commit, which then fails). */
ln_status ln_out_write(ln_out *o, const void *data, size_t n, ln_error *err);
/* fsync, close and put the file at its path: rename (replacing a regular
 * file), or with no_replace link it (an existing path is LN_E_USAGE, never
 * overwritten). Always ends `o`; on failure the temporary file is removed.
 * `s` is an earlier status: if non-zero the write is abandoned and s kept. */
ln_status ln_out_commit(ln_out *o, ln_status s, int no_replace, ln_error *err);
/* Abandon: close and remove the temporary file. */
void ln_out_abort(ln_out *o);

/* begin + write + commit (replacing a regular file). */
ln_status ln_write_file_atomic(const char *path, const void *data, size_t n, ln_error *err);

/* LN_E_USAGE if `out` exists and is the same file (device and inode) as
 * `in` (which may be NULL): writing it would destroy the input. `what`
 * names the input's option, e.g. "--ckpt". */
ln_status ln_out_distinct(const char *out, const char *in, const char *what, ln_error *err);

/* Open `path` for appending (created 0644 if missing); see above. */
ln_status ln_append_open(const char *path, const char *what, int *fd, ln_error *err);

/* Open an input for reading; regular files only, or also pipes and FIFOs
 * when allow_pipe. `what` describes it for messages ("the metrics log"). */
ln_status ln_input_open(const char *path, int allow_pipe, const char *what, int *fd, ln_error *err);

/* "a FIFO", "a symbolic link", "a character device", ... for st_mode. */
const char *ln_file_kind(unsigned mode);

#endif
