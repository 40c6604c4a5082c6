/* train_world.c - `lenet train` under mpirun (see train_world.h). */
#include "train_world.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int rank(const train_world *w) { return ln_dist_rank(w->dist); }
static int size(const train_world *w) { return ln_dist_size(w->dist); }

void train_world_begin(train_world *w, ln_dist *d) {
    memset(w, 0, sizeof *w);
    w->dist = d;
    w->saved_fd = -1;
    w->diverge_rank = -1;
#ifdef LN_TEST_HOOKS
    const char *dd = getenv("LENET_TEST_DUMP_DIR"), *ds = getenv("LENET_TEST_DUMP_STEP"),
               *dv = getenv("LENET_TEST_DIVERGE_RANK");
    if (dd) snprintf(w->dump_dir, sizeof w->dump_dir, "%s", dd);
    w->dump_step = ds ? atol(ds) : 100;
    if (dv) w->diverge_rank = atoi(dv);
#endif
    if (size(w) < 2 || rank(w) == 0) return;
    w->null = fopen("/dev/null", "w");
    fflush(stdout);
    if (!freopen("/dev/null", "w", stdout)) { /* keep stdout as it is */ }
    fflush(stderr);
    w->held = tmpfile();
    if (w->held && (w->saved_fd = dup(2)) >= 0 && dup2(fileno(w->held), 2) < 0) {
        close(w->saved_fd);
        w->saved_fd = -1;
    }
}

static void release(train_world *w) {
    if (w->saved_fd < 0) return;
    fflush(stderr);
    dup2(w->saved_fd, 2);
    close(w->saved_fd);
    w->saved_fd = -1;
}

/* "rank R of N": which process says a line. */
static void origin(const train_world *w, char *buf, size_t cap) {
    snprintf(buf, cap, "rank %d of %d", rank(w), size(w));
}

/* Show the held-back lines as this rank's: "lenet: ... (rank R of N)". */
static void replay(train_world *w) {
    if (!w->held) return;
    rewind(w->held);
    char line[1024], who[32];
    origin(w, who, sizeof who);
    while (fgets(line, sizeof line, w->held)) {
        const char *msg = strncmp(line, "lenet: ", 7) ? line : line + 7;
        fprintf(stderr, "lenet: %.*s (%s)\n", (int)strcspn(msg, "\n"), msg, who);
    }
    fflush(stderr);
}

int train_world_agree(train_world *w, int rc) {
    if (w->agreed || size(w) < 2) return rc;
    w->agreed = 1;
    release(w);
    int *all = calloc((size_t)size(w), sizeof(int));
    ln_error err;
    if (!all || ln_dist_allgather(w->dist, &rc, sizeof rc, all, &err)) {
        free(all);
        if (rc) replay(w);
        ln_dist_abort(w->dist, rc ? rc : 1);
        return rc ? rc : 1;
    }
    int first = -1;
    for (int r = 0; r < size(w) && first < 0; r++)
        if (all[r]) first = r;
    const int job_rc = first >= 0 ? all[first] : 0;
    free(all);
    if (first == rank(w) && first != 0) replay(w);
    return job_rc;
}

int train_world_fail(train_world *w, const ln_model *m, const ln_error *err) {
    const int code = ln_status_exit_code(err->status);
    if (size(w) < 2) return cli_fail(err);
    if (m && m->error_everywhere) { /* every rank has it and returns */
        if (rank(w) == 0) cli_fail(err);
        return code;
    }
    char who[32];
    origin(w, who, sizeof who);
    cli_fail_from(err, who);
    fflush(stderr);
    ln_dist_abort(w->dist, code);
    return code;
}

FILE *train_world_human(train_world *w, FILE *human) {
    return rank(w) != 0 && w->null ? w->null : human;
}

int train_world_threads(const ln_dist *d, int given, int threads) {
    if (ln_dist_size(d) < 2 || given) return threads;
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    const int mask = cli_ncpus();
    if (online > 0 && mask < online) return mask; /* the launcher bound us to these */
    const long per = online / (d->local_size > 0 ? d->local_size : 1);
    return per > 1 ? (int)per : 1;
}

void train_world_summary(const train_world *w, FILE *f, int threads, double train_seconds) {
    const ln_dist *d = w->dist;
    if (size(w) < 2 || rank(w) != 0 || d->reduce_calls == 0) return;
    const double per_step = d->reduce_seconds / (double)d->reduce_calls;
    const double bytes = d->reduce_bytes / (double)d->reduce_calls;
    fprintf(f, "data parallel: %d processes x %d thread%s; gradient all-reduce (rank-order sum): %.3f ms per step, "
            "%.1f%% of the training time, %.0f bytes per step (each process sends and receives %.0f)\n",
            size(w), threads, threads > 1 ? "s" : "", per_step * 1e3,
            train_seconds > 0 ? 100.0 * d->reduce_seconds / train_seconds : 0.0, bytes,
            2.0 * (size(w) - 1) / size(w) * bytes);
}

#ifdef LN_TEST_HOOKS
static ln_status dump(const char *dir, const char *name, const float *v, size_t n, ln_error *err) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(v, sizeof(float), n, f) == n;
    if (f && fclose(f)) ok = 0;
    return ok ? LN_OK : ln_fail(err, LN_E_SYSTEM, "cannot write %s: LENET_TEST_DUMP_DIR", path);
}

static ln_status on_step(void *user, ln_model *m, const ln_step_info *s, ln_error *err) {
    train_world *w = user;
    if (s->global_step == 1 && rank(w) == w->diverge_rank)
        m->net.params[0] = nextafterf(m->net.params[0], INFINITY);
    if (!w->dump_dir[0] || rank(w) != 0) return LN_OK;
    ln_status st = LN_OK;
    if (s->global_step == 1) st = dump(w->dump_dir, "grads_1.bin", m->net.grads, m->net.n_params, err);
    if (!st && s->global_step == w->dump_step) {
        char name[64];
        snprintf(name, sizeof name, "params_%ld.bin", w->dump_step);
        st = dump(w->dump_dir, name, m->net.params, m->net.n_params, err);
    }
    return st;
}

/* grads_1.bin needs the summed gradient, which a training step does not
 * otherwise keep (ln_lenet_keep_grads). */
static ln_status on_begin(void *user, ln_model *m, const ln_run_info *r, ln_error *err) {
    (void)r, (void)err;
    const train_world *w = user;
    if (w->dump_dir[0]) ln_lenet_keep_grads(&m->net, 1);
    return LN_OK;
}

#endif

ln_callback train_world_test_hooks(train_world *w) {
    ln_callback c = {.user = w};
#ifdef LN_TEST_HOOKS
    if (w->dump_dir[0] || w->diverge_rank >= 0) c.step_end = on_step, c.begin = on_begin;
#endif
    return c;
}

void train_world_end(train_world *w) {
    release(w);
    if (w->held) fclose(w->held);
    if (w->null) fclose(w->null);
    w->held = w->null = NULL;
}
