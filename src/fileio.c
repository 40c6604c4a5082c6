/* fileio.c - atomic whole-file writes (see include/lenet/fileio.h). */
#include "lenet/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

ln_status ln_tmp_create(const char *path, char *tmp, size_t tmpsz, int *fd, ln_error *err) {
    if (snprintf(tmp, tmpsz, "%s.tmp.%ld", path, (long)getpid()) >= (int)tmpsz)
        return ln_fail(err, LN_E_USAGE, "%s: path too long", path);
    *fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (*fd < 0)
        return ln_fail(err, LN_E_SYSTEM, "%s: cannot create (%s); check the folder exists and is writable", tmp,
                       strerror(errno));
    return LN_OK;
}

ln_status ln_write_all(int fd, const void *data, size_t n, const char *tmp, ln_error *err) {
    const unsigned char *p = data;
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, p + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return ln_fail(err, LN_E_SYSTEM, "%s: write failed (%s)", tmp, strerror(errno));
        off += (size_t)w;
    }
    return LN_OK;
}

ln_status ln_sync_close(int fd, const char *tmp, ln_status s, ln_error *err) {
    if (!s && fsync(fd) != 0) s = ln_fail(err, LN_E_SYSTEM, "%s: fsync failed (%s)", tmp, strerror(errno));
    if (close(fd) != 0 && !s) s = ln_fail(err, LN_E_SYSTEM, "%s: close failed (%s)", tmp, strerror(errno));
    return s;
}

ln_status ln_write_file_atomic(const char *path, const void *data, size_t n, ln_error *err) {
    char tmp[4200];
    int fd;
    ln_status s = ln_tmp_create(path, tmp, sizeof tmp, &fd, err);
    if (s) return s;
    s = ln_sync_close(fd, tmp, ln_write_all(fd, data, n, tmp, err), err);
    if (!s && rename(tmp, path) != 0)
        s = ln_fail(err, LN_E_SYSTEM, "%s: cannot rename into place (%s)", path, strerror(errno));
    if (s) {
        unlink(tmp);
        return s;
    }
    ln_fsync_parent_dir(path);
    return LN_OK;
}

void ln_fsync_parent_dir(const char *path) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0; else snprintf(dir, sizeof dir, ".");
    int dfd = open(dir[0] ? dir : "/", O_RDONLY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}
