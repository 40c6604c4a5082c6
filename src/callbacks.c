/* callbacks.c - ModelCheckpoint (see include/lenet/callbacks.h). */
#include "lenet/callbacks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* MindSpore's rule: if <prefix>-*.ckpt or <prefix>_N-*.ckpt exists, use
 * <prefix>_<max N + 1>. */
static void choose_prefix(const char *dir, const char *prefix, char *out, size_t outsz) {
    DIR *d = opendir(dir);
    long maxn = -1;
    size_t pl = strlen(prefix);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            const char *n = e->d_name;
            size_t l = strlen(n);
            if (l < 5 || strcmp(n + l - 5, ".ckpt") || strncmp(n, prefix, pl)) continue;
            if (n[pl] == '-') {
                if (maxn < 0) maxn = 0;
            } else if (n[pl] == '_') {
                char *end;
                long k = strtol(n + pl + 1, &end, 10);
                if (end != n + pl + 1 && *end == '-' && k > maxn) maxn = k;
            }
        }
        closedir(d);
    }
    if (maxn < 0) snprintf(out, outsz, "%s", prefix);
    else snprintf(out, outsz, "%s_%ld", prefix, maxn + 1);
}

/* Remove <prefix>*.ckpt.tmp.<pid>.<random> left in `dir` by a writer that was
 * killed mid-write (fileio.h's temporary names), when process <pid> no
 * longer exists. Files of a live process (another trainer writing into the
 * same folder) are left alone. Returns how many were removed. */
static int remove_stale_tmp(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    const size_t pl = strlen(prefix);
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name, *t = strstr(n, ".ckpt.tmp.");
        if (strncmp(n, prefix, pl) || !t) continue;
        char *end;
        errno = 0;
        const long pid = strtol(t + 10, &end, 10);
        if (end == t + 10 || (*end && *end != '.') || errno || pid <= 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive, or not ours to judge */
        char path[4400];
        if (snprintf(path, sizeof path, "%s/%s", dir, n) < (int)sizeof path && unlink(path) == 0) removed++;
    }
    closedir(d);
    return removed;
}

/* Claim `prefix` in `dir` for this process: open <dir>/<prefix>.lock
 * (created if missing) and take flock(LOCK_EX | LOCK_NB) on it; the kernel
 * releases it when the process ends, however it ends. The lock must still
 * be the file at that name (a run that ends unlinks its lock). Returns the
 * open descriptor, -1 if another live run holds the prefix, -2 on another
 * error (errno set). */
static int claim(const char *dir, const char *prefix) {
    char path[4400];
    if (snprintf(path, sizeof path, "%s/%s.lock", dir, prefix) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -2;
    }
    for (;;) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0) return -2;
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            const int e = errno;
            close(fd);
            if (e == EWOULDBLOCK) return -1;
            errno = e;
            return -2;
        }
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) return fd;
        close(fd); /* unlinked by its previous holder meanwhile: take the new one */
    }
}

/* Test-only build (-DLN_TEST_HOOKS, the Makefile's $(BUILD)/lenet-testhooks,
 * never installed): with LENET_TEST_CLAIM_GATE=FILE set, say so on stderr
 * once the prefix is chosen, then wait (at most 120 s) for FILE to exist
 * before claiming it, so a test can run another trainer in between. */
static void test_gate_before_claim(const char *chosen) {
#ifdef LN_TEST_HOOKS
    const char *gate = getenv("LENET_TEST_CLAIM_GATE");
    if (!gate) return;
    fprintf(stderr, "test hook: chose prefix %s; claiming it once %s exists\n", chosen, gate);
    for (int i = 0; i < 1200 && access(gate, F_OK) != 0; i++) {
        struct timespec ts = {0, 100000000L};
        nanosleep(&ts, NULL);
    }
#else
    (void)chosen;
#endif
}

/* N of the chosen <prefix>_N (0 for <prefix> itself; choose_prefix never
 * gives <prefix>_0). */
static long prefix_n(const char *chosen, size_t prefix_len) {
    const char *u = chosen + prefix_len;
    return *u == '_' ? strtol(u + 1, NULL, 10) : 0;
}

/* Give up a claim: remove the lock file while holding it (a run waiting on
 * it retries, see claim), then close it. */
static void release(const char *dir, const char *chosen, int fd) {
    char path[4400];
    if (snprintf(path, sizeof path, "%s/%s.lock", dir, chosen) < (int)sizeof path) unlink(path);
    close(fd);
}

/* MindSpore's prefix rule, safe against runs starting together: choose
 * <prefix>[_N] from the checkpoints present, and move on to the next N
 * while another live run holds the chosen one's lock. Once a lock is held,
 * the folder is read again: a run that held that prefix may have saved its
 * checkpoints and ended (releasing the lock) after the first look; the
 * rule's choice is then further on, and that is tried next. */
static ln_status choose_and_claim(ln_model_checkpoint *c, ln_error *err) {
    const char *dir = c->cfg.directory, *prefix = c->cfg.prefix;
    const size_t pl = strlen(prefix);
    choose_prefix(dir, prefix, c->prefix, sizeof c->prefix);
    test_gate_before_claim(c->prefix);
    for (int tries = 0; tries < 10000; tries++) {
        const int fd = claim(dir, c->prefix);
        if (fd == -2)
            return ln_fail(err, LN_E_SYSTEM, "cannot create the lock file %s.lock (%s): `directory` %s; check "
                           "the folder is writable", c->prefix, strerror(errno), dir);
        const long n = prefix_n(c->prefix, pl);
        if (fd >= 0) {
            char now[sizeof c->prefix];
            choose_prefix(dir, prefix, now, sizeof now);
            if (prefix_n(now, pl) <= n) {
                c->lock_fd = fd;
                return LN_OK;
            }
            release(dir, c->prefix, fd);
            snprintf(c->prefix, sizeof c->prefix, "%s", now);
            continue;
        }
        snprintf(c->prefix, sizeof c->prefix, "%s_%ld", prefix, n + 1);
    }
    return ln_fail(err, LN_E_SYSTEM, "no free checkpoint prefix %s_N: `directory` %s; remove old runs' "
                   "lock files or give another `prefix`", prefix, dir);
}

ln_status ln_model_checkpoint_init(ln_model_checkpoint *c, const ln_checkpoint_config *cfg, ln_error *err) {
    memset(c, 0, sizeof *c);
    c->lock_fd = -1;
    c->cfg = *cfg;
    if (cfg->save_steps < 1 || cfg->keep_max < 1)
        return ln_fail(err, LN_E_USAGE, "must be >= 1: `save_steps` and `keep_max`");
    if (!cfg->prefix[0] || strchr(cfg->prefix, '/') || strlen(cfg->prefix) > 200)
        return ln_fail(err, LN_E_USAGE, "not a non-empty name without '/': `prefix` '%s'", cfg->prefix);
    if (mkdir(cfg->directory, 0755) != 0 && errno != EEXIST)
        return ln_fail(err, LN_E_SYSTEM, "cannot create the folder (%s): `directory` %s", strerror(errno),
                       cfg->directory);
    struct stat st;
    if (stat(cfg->directory, &st) != 0 || !S_ISDIR(st.st_mode))
        return ln_fail(err, LN_E_SYSTEM, "not a folder: `directory` %s; give a folder for the checkpoints", cfg->directory);
    c->saved = calloc((size_t)cfg->keep_max, sizeof *c->saved);
    if (!c->saved) return ln_fail(err, LN_E_NOMEM, "out of memory");
    c->stale_removed = remove_stale_tmp(cfg->directory, cfg->prefix);
    ln_status s = choose_and_claim(c, err);
    if (s) ln_model_checkpoint_free(c);
    return s;
}

void ln_model_checkpoint_free(ln_model_checkpoint *c) {
    free(c->saved);
    c->saved = NULL;
    if (c->lock_fd >= 0) {
        release(c->cfg.directory, c->prefix, c->lock_fd);
        c->lock_fd = -1;
    }
}

static ln_status save(ln_model_checkpoint *c, ln_model *m, ln_error *err) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s-%d_%d.ckpt", c->cfg.directory, c->prefix, c->last_epoch,
                 c->last_step) >= (int)sizeof path)
        return ln_fail(err, LN_E_USAGE, "checkpoint path too long: `directory` %s", c->cfg.directory);
    ln_status s = ln_model_check_finite(m, err); /* never save a diverged model */
    if (s) return s;
    ln_ckpt_write_opts o = {.with_crc = c->cfg.with_crc, .no_replace = 1};
    s = ln_model_save_ex(m, path, &o, err);
    if (s) return s;
    if (c->nsaved == c->cfg.keep_max) { /* rotation: drop the oldest */
        remove(c->saved[0]);
        memmove(c->saved[0], c->saved[1], sizeof c->saved[0] * (size_t)(c->nsaved - 1));
        c->nsaved--;
    }
    snprintf(c->saved[c->nsaved++], sizeof c->saved[0], "%s", path);
    snprintf(c->last_path, sizeof c->last_path, "%s", path);
    c->last_saved_step = m->global_step;
    if (c->cfg.on_saved) c->cfg.on_saved(c->cfg.user, path);
    return LN_OK;
}

static ln_status on_begin(void *user, ln_model *m, const ln_run_info *r, ln_error *err) {
    (void)m, (void)err;
    ln_model_checkpoint *c = user;
    c->last_saved_step = r->start_global_step;
    return LN_OK;
}

static ln_status on_step(void *user, ln_model *m, const ln_step_info *s, ln_error *err) {
    ln_model_checkpoint *c = user;
    c->last_epoch = s->epoch, c->last_step = s->step_in_epoch;
    if (m->global_step - c->last_saved_step >= c->cfg.save_steps) return save(c, m, err);
    return LN_OK;
}

static ln_status on_end(void *user, ln_model *m, const ln_run_info *r, ln_error *err) {
    (void)r;
    ln_model_checkpoint *c = user;
    if (m->global_step > c->last_saved_step) return save(c, m, err);
    return LN_OK;
}

ln_callback ln_model_checkpoint_callback(ln_model_checkpoint *c) {
    return (ln_callback){.user = c, .begin = on_begin, .step_end = on_step, .end = on_end};
}
