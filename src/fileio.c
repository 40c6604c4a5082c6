/* fileio.c - exclusive temporary files renamed into place, the append-only
 * log, bounded inputs (see include/lenet/fileio.h). */
#include "lenet/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *ln_file_kind(unsigned mode) {
    switch (mode & S_IFMT) {
    case S_IFREG: return "a regular file";
    case S_IFDIR: return "a folder";
    case S_IFLNK: return "a symbolic link";
    case S_IFIFO: return "a FIFO (named pipe)";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFSOCK: return "a socket";
    default: return "not a regular file";
    }
}

/* LN_E_USAGE if `path` exists and is not a regular file (never followed). */
static ln_status check_target(const char *path, ln_error *err) {
    struct stat st;
    if (lstat(path, &st) != 0 || S_ISREG(st.st_mode)) return LN_OK;
    return ln_fail(err, LN_E_USAGE, "refusing to write over %s, which is %s; give the name of a regular file "
                   "(or a new one)", path, ln_file_kind(st.st_mode));
}

static uint32_t random32(unsigned attempt) {
    uint32_t r;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) == (ssize_t)sizeof r) return r;
    struct timespec ts; /* no entropy source: still unpredictable enough to retry */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)ts.tv_nsec * 2654435761u ^ (uint32_t)getpid() ^ attempt * 40503u;
}

ln_status ln_out_begin(ln_out *o, const char *path, ln_error *err) {
    o->fd = -1;
    o->tmp = NULL;
    o->path = path;
    ln_status s = check_target(path, err);
    if (s) return s;
    const size_t cap = strlen(path) + 48;
    if (!(o->tmp = malloc(cap))) return ln_fail(err, LN_E_NOMEM, "out of memory writing %s", path);
    for (unsigned attempt = 0; attempt < 100; attempt++) {
        snprintf(o->tmp, cap, "%s.tmp.%ld.%08x", path, (long)getpid(), random32(attempt));
        o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (o->fd >= 0) return LN_OK;
        if (errno != EEXIST) break;
    }
    s = ln_fail(err, LN_E_SYSTEM, "cannot create a temporary file next to %s (%s); check the folder exists and "
                "is writable", path, strerror(errno));
    free(o->tmp);
    o->tmp = NULL;
    return s;
}

ln_status ln_out_write(ln_out *o, const void *data, size_t n, ln_error *err) {
    const unsigned char *p = data;
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(o->fd, p + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0)
            return ln_fail(err, LN_E_SYSTEM, "write failed (%s) writing %s", w < 0 ? strerror(errno) : "no progress",
                           o->path);
        off += (size_t)w;
    }
    return LN_OK;
}

void ln_out_abort(ln_out *o) {
    if (o->fd >= 0) close(o->fd);
    if (o->tmp) unlink(o->tmp);
    free(o->tmp);
    o->fd = -1;
    o->tmp = NULL;
}

static void fsync_parent_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
    if (!dir) return;
    int dfd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd); /* best effort: the data itself is already synced */
        close(dfd);
    }
    free(dir);
}

/* Put the finished temporary file at `path`: rename, or - never replacing -
 * link (fails with EEXIST atomically) then unlink the temporary name. */
static ln_status place(const char *tmp, const char *path, int no_replace, ln_error *err) {
    ln_status s = check_target(path, err);
    if (s) return s;
    if (!no_replace) {
        if (rename(tmp, path) == 0) return LN_OK;
        return ln_fail(err, LN_E_SYSTEM, "cannot rename into place (%s): %s", strerror(errno), path);
    }
    if (link(tmp, path) == 0) {
        unlink(tmp);
        return LN_OK;
    }
    if (errno == EEXIST)
        return ln_fail(err, LN_E_USAGE, "not overwriting %s, which already exists (choose another name or folder)",
                       path);
    if (errno == EPERM || errno == ENOTSUP || errno == EOPNOTSUPP) { /* no hard links here */
        struct stat st;
        if (lstat(path, &st) == 0)
            return ln_fail(err, LN_E_USAGE, "not overwriting %s, which already exists (choose another name or "
                           "folder)", path);
        if (rename(tmp, path) == 0) return LN_OK;
    }
    return ln_fail(err, LN_E_SYSTEM, "cannot move into place (%s): %s", strerror(errno), path);
}

ln_status ln_out_commit(ln_out *o, ln_status s, int no_replace, ln_error *err) {
    if (!s && fsync(o->fd) != 0) s = ln_fail(err, LN_E_SYSTEM, "fsync failed (%s) writing %s", strerror(errno), o->path);
    if (close(o->fd) != 0 && !s) s = ln_fail(err, LN_E_SYSTEM, "close failed (%s) writing %s", strerror(errno), o->path);
    o->fd = -1;
    if (!s) s = place(o->tmp, o->path, no_replace, err);
    if (s) {
        ln_out_abort(o);
        return s;
    }
    free(o->tmp);
    o->tmp = NULL;
    fsync_parent_dir(o->path); /* make the rename durable */
    return LN_OK;
}

ln_status ln_write_file_atomic(const char *path, const void *data, size_t n, ln_error *err) {
    ln_out o;
    ln_status s = ln_out_begin(&o, path, err);
    if (s) return s;
    return ln_out_commit(&o, ln_out_write(&o, data, n, err), 0, err);
}

ln_status ln_out_distinct(const char *out, const char *in, const char *what, ln_error *err) {
    struct stat a, b;
    if (!in || stat(out, &a) != 0 || stat(in, &b) != 0) return LN_OK;
    if (a.st_dev != b.st_dev || a.st_ino != b.st_ino) return LN_OK;
    return ln_fail(err, LN_E_USAGE, "refusing to write %s: it is the input %s %s; writing it would destroy it "
                   "(choose another output)", out, what, in);
}

/* Clear O_NONBLOCK (set only so that opening a FIFO never blocks). */
static void blocking(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
}

ln_status ln_append_open(const char *path, const char *what, int *fd, ln_error *err) {
    *fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0644);
    struct stat st;
    if (*fd < 0) {
        const int e = errno;
        if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
            return ln_fail(err, LN_E_USAGE, "refusing to append to %s %s, which is %s; give a regular file", what,
                           path, ln_file_kind(st.st_mode));
        return ln_fail(err, LN_E_USAGE, "cannot open %s %s for appending (%s); check the folder exists and is "
                       "writable", what, path, strerror(e));
    }
    if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(*fd);
        *fd = -1;
        return ln_fail(err, LN_E_USAGE, "refusing to append to %s %s, which is %s; give a regular file", what, path,
                       ln_file_kind(st.st_mode));
    }
    blocking(*fd);
    return LN_OK;
}

ln_status ln_input_open(const char *path, int allow_pipe, const char *what, int *fd, ln_error *err) {
    *fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (*fd < 0)
        return ln_fail(err, LN_E_INPUT, "cannot open %s %s (%s); check the path", what, path, strerror(errno));
    struct stat st;
    if (fstat(*fd, &st) != 0 || !(S_ISREG(st.st_mode) || (allow_pipe && S_ISFIFO(st.st_mode)))) {
        close(*fd);
        *fd = -1;
        return ln_fail(err, LN_E_INPUT, "refusing to read %s %s, which is %s; give a regular file%s", what, path,
                       ln_file_kind(st.st_mode), allow_pipe ? " or a pipe" : "");
    }
    blocking(*fd);
    return LN_OK;
}
