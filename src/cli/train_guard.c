/* train_guard.c - signals, output-path checks, thread start-up and output
 * opening for `lenet train` (see train_guard.h). */
#include "train_guard.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* ---- signals ---- */

static volatile sig_atomic_t first_signal; /* written only by the handler */

static void on_signal(int sig) {
    if (first_signal) {
        static const char msg[] = "\nlenet: second signal: stopping at once, nothing more saved\n";
        ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
        _exit(128 + sig);
    }
    first_signal = sig;
}

void train_guard_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int train_guard_signal(void) { return first_signal; }

const volatile sig_atomic_t *train_guard_flag(void) { return &first_signal; }

/* ---- fail fast: can the outputs be written? ---- */

/* The folder holding `path` ("." for a bare name) into parent[size]. */
static void parent_of(const char *path, char *parent, size_t size) {
    snprintf(parent, size, "%s", path);
    size_t n = strlen(parent);
    while (n > 1 && parent[n - 1] == '/') parent[--n] = 0; /* "a/b/" is "a/b" */
    char *slash = strrchr(parent, '/');
    if (!slash) snprintf(parent, size, ".");
    else if (slash == parent) parent[1] = 0;
    else *slash = 0;
}

/* Can `path` be written: an existing folder (want_dir) or file that is
 * writable, or a missing one whose folder is writable? 0, or the exit code
 * with one line naming `opt`: 2 when the path itself is wrong (a file where
 * a folder belongs, a folder where a file belongs, a missing folder), as
 * `export -o` and every other bad path; 1 when the path is right but the
 * system refuses it (permissions, a read-only file system). */
static int check_writable(const char *opt, const char *path, int want_dir) {
    struct stat st;
    const char *what = want_dir ? "folder" : "file";
    if (stat(path, &st) == 0) {
        if (want_dir && !S_ISDIR(st.st_mode)) {
            cli_error("exists and is not a folder: %s %s; choose another path", opt, path);
            return 2;
        }
        if (!want_dir && S_ISDIR(st.st_mode)) {
            cli_error("is a folder: %s %s; give a file name", opt, path);
            return 2;
        }
        if (access(path, want_dir ? W_OK | X_OK : W_OK) != 0) {
            cli_error("cannot write to this %s (%s): %s %s; choose a writable one", what, strerror(errno), opt, path);
            return 1;
        }
        return 0;
    }
    if (errno != ENOENT) {
        const int e = errno;
        cli_error("cannot use this path (%s): %s %s; choose another path", strerror(e), opt, path);
        return e == ENOTDIR || e == ENAMETOOLONG || e == ELOOP ? 2 : 1;
    }
    char parent[4096];
    parent_of(path, parent, sizeof parent);
    if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cli_error("folder %s does not exist: %s %s; create it or choose another path", parent, opt, path);
        return 2;
    }
    if (access(parent, W_OK | X_OK) != 0) {
        cli_error("cannot create a file in %s (%s): %s %s; choose a writable folder", parent, strerror(errno),
                  opt, path);
        return 1;
    }
    return 0;
}

int train_guard_check_paths(const train_opts *o) {
    int rc = check_writable("--ckpt-dir", o->ckpt_dir, 1);
    if (!rc && o->log) rc = check_writable("--log", o->log, 0);
    if (!rc && o->report) rc = check_writable("--report", o->report, 1);
    return rc;
}

/* ---- worker threads ---- */

static void *idle(void *arg) { return arg; }

int train_guard_threads(int threads) {
    /* The OpenMP runtime aborts the process with its own message when it
     * cannot start a thread; trying with pthreads first (the same default
     * stack size) turns that into our error. */
    if (threads < 2) return 0;
    pthread_t t[256];
    int n = 0, e = 0;
    for (; n < threads - 1 && n < 256; n++)
        if ((e = pthread_create(&t[n], NULL, idle, NULL)) != 0) break;
    for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
    if (e) {
        cli_error("cannot start %d worker threads (%s): too little memory (see ulimit -v) or too many processes; "
                  "lower --threads or raise the limit", threads, strerror(e));
        return 1;
    }
    /* Now the OpenMP team itself, started once here rather than at the first
     * step; the region has nothing else to do. */
    #pragma omp parallel num_threads(threads)
    {
    }
    return 0;
}

/* ---- outputs ---- */

int train_guard_report_dir(train_opts *o, char *report_log, size_t report_log_size) {
    if (!o->report) return 0;
    if (mkdir(o->report, 0755) != 0 && errno != EEXIST) {
        cli_error("cannot create the folder (%s): --report %s", strerror(errno), o->report);
        return 1;
    }
    if (!o->log) {
        snprintf(report_log, report_log_size, "%s/metrics.jsonl", o->report);
        remove(report_log); /* this run's log only */
        o->log = report_log;
    }
    return 0;
}

/* ---- how to resume ---- */

static void put_quoted(FILE *f, const char *s) {
    int plain = *s != 0;
    for (const char *p = s; *p && plain; p++)
        plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=.,/:@%", *p) != NULL;
    if (plain) { fputs(s, f); return; }
    fputc('\'', f);
    for (const char *p = s; *p; p++) {
        if (*p == '\'') fputs("'\\''", f);
        else fputc(*p, f);
    }
    fputc('\'', f);
}

void train_guard_print_resume(FILE *f, int argc, char **argv, const char *path) {
    fputs("to resume: lenet train", f);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--resume") || !strcmp(a, "--init")) { i++; continue; }
        if (!strncmp(a, "--resume=", 9) || !strncmp(a, "--init=", 7)) continue;
        fputc(' ', f);
        put_quoted(f, a);
    }
    fputs(" --resume ", f);
    put_quoted(f, path);
    fputc('\n', f);
    fflush(f);
}
