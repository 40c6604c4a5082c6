/* faultinject.c - an LD_PRELOAD shim for the fault tests (tests/test_faults.sh):
 * makes the Nth call of one I/O function fail with a chosen errno, the way
 * a full disk or a failing device would, so every write path of `lenet` can
 * be driven through its error handling.
 *
 * Environment (read once, at the first intercepted call):
 *   LENET_FAULT_CALL   write | fsync | rename | link | fflush | dlopen   (required to fail anything);
 *                      `write` counts write(2) and fflush(3) (stdio writes
 *                      inside the C library, where no shim can see them)
 *   LENET_FAULT_N      the call to fail, counted from 1 (default 1); later calls succeed
 *   LENET_FAULT_ERRNO  ENOSPC (default) | EIO | EDQUOT | EFBIG | EROFS | a number
 *   LENET_FAULT_PATH   only calls on files whose path contains this text count
 *                      (write/fsync/fflush: the descriptor's path in /proc/self/fd;
 *                      rename/link: either path; dlopen: the library's name)
 *   LENET_FAULT_COUNT  a file that receives, at exit, how many calls counted
 *
 * Built by the Makefile as $(BUILD)/faultinject.so. Not part of lenet. Under
 * AddressSanitizer (clang's static runtime) the executable's interceptors
 * call these through dlsym(RTLD_NEXT), so the shim works there too.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { F_NONE, F_WRITE, F_FSYNC, F_RENAME, F_LINK, F_FFLUSH, F_DLOPEN };

static int target = -1; /* -1: not read yet */
static long fail_at = 1, counted;
static int fail_errno = ENOSPC;
static const char *path_filter;

static void setup(void) {
    if (target >= 0) return;
    const char *c = getenv("LENET_FAULT_CALL"), *n = getenv("LENET_FAULT_N"), *e = getenv("LENET_FAULT_ERRNO");
    target = !c ? F_NONE : !strcmp(c, "write") ? F_WRITE : !strcmp(c, "fsync") ? F_FSYNC
           : !strcmp(c, "rename") ? F_RENAME : !strcmp(c, "link") ? F_LINK : !strcmp(c, "fflush") ? F_FFLUSH
           : !strcmp(c, "dlopen") ? F_DLOPEN : F_NONE;
    if (n) fail_at = atol(n);
    if (e) {
        fail_errno = !strcmp(e, "ENOSPC") ? ENOSPC : !strcmp(e, "EIO") ? EIO : !strcmp(e, "EDQUOT") ? EDQUOT
                   : !strcmp(e, "EFBIG") ? EFBIG : !strcmp(e, "EROFS") ? EROFS : atoi(e);
    }
    path_filter = getenv("LENET_FAULT_PATH");
}

static int fd_matches(int fd) {
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 0) return 0;
    path[n] = 0;
    return strstr(path, path_filter) != NULL;
}

/* Count this call of `which` (on descriptor fd, or on paths a and b); 1 if
 * it is the one to fail (errno is then set). */
static int hit(int which, int fd, const char *a, const char *b) {
    const int saved = errno;
    setup();
    int matches = which == target || (which == F_FFLUSH && target == F_WRITE);
    if (matches && path_filter)
        matches = fd >= 0 ? fd_matches(fd) : (a && strstr(a, path_filter)) || (b && strstr(b, path_filter));
    errno = saved;
    if (!matches || ++counted != fail_at) return 0;
    errno = fail_errno;
    return 1;
}

__attribute__((destructor)) static void report_count(void) {
    const char *f = getenv("LENET_FAULT_COUNT");
    setup();
    if (!f || target <= F_NONE) return;
    FILE *o = fopen(f, "w");
    if (o) {
        fprintf(o, "%ld\n", counted);
        fclose(o);
    }
}

#define REAL(name, type) ((type)dlsym(RTLD_NEXT, name))

ssize_t write(int fd, const void *buf, size_t n) {
    if (hit(F_WRITE, fd, NULL, NULL)) return -1;
    return REAL("write", ssize_t (*)(int, const void *, size_t))(fd, buf, n);
}

int fsync(int fd) {
    if (hit(F_FSYNC, fd, NULL, NULL)) return -1;
    return REAL("fsync", int (*)(int))(fd);
}

int rename(const char *from, const char *to) {
    if (hit(F_RENAME, -1, from, to)) return -1;
    return REAL("rename", int (*)(const char *, const char *))(from, to);
}

int link(const char *from, const char *to) {
    if (hit(F_LINK, -1, from, to)) return -1;
    return REAL("link", int (*)(const char *, const char *))(from, to);
}

/* A library that is not installed (the errno is not used: dlopen reports
 * through dlerror, which then has nothing to say). */
void *dlopen(const char *file, int mode) {
    if (file && hit(F_DLOPEN, -1, file, NULL)) return NULL;
    return REAL("dlopen", void *(*)(const char *, int))(file, mode);
}

/* A stream whose flush failed keeps failing, as one whose buffered bytes
 * cannot reach a full disk does: its later flushes and its fclose too. */
static FILE *failed_stream;

int fflush(FILE *f) {
    /* stdio's own write(2) is internal to the C library, out of the shim's
     * reach: for `write`, a stream's flush counts as its write. */
    if (f && f == failed_stream) { errno = fail_errno; return EOF; }
    if (f && hit(F_FFLUSH, fileno(f), NULL, NULL)) {
        failed_stream = f;
        return EOF;
    }
    return REAL("fflush", int (*)(FILE *))(f);
}

int fclose(FILE *f) {
    const int failed = f && f == failed_stream;
    if (failed) failed_stream = NULL;
    const int r = REAL("fclose", int (*)(FILE *))(f);
    if (failed) { errno = fail_errno; return EOF; }
    return r;
}
