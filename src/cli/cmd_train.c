/* cmd_train.c - `lenet train`: the tutorial's training run (Model.train with
 * ModelCheckpoint, LossMonitor, TimeMonitor), with the full Momentum
 * optimizer (groups, rate schedules), resume, and a JSON-lines log. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "lenet/callbacks.h"
#include "lenet/fileio.h"
#include "lenet/load.h"
#include "lenet/lr_schedule.h"
#include "lenet/model.h"
#include "lenet/report.h"
#include "lenet/trainlog.h"
#include "monitor.h"
#include "train_guard.h"
#include "train_opts.h"
#include "train_world.h"

/* --profile: per-layer thread-time and achieved GFLOP/s (per core). */
static void print_profile(const ln_lenet *net, FILE *f) {
    ln_lenet_profile pr;
    ln_lenet_get_profile(net, &pr);
    double tf = 0, tb = 0;
    for (int l = 0; l < LN_PROF_LAYERS; l++) tf += pr.fwd_seconds[l], tb += pr.bwd_seconds[l];
    fprintf(f, "profile (lanes engine; thread-time per sample, GFLOP/s per core; forward includes evaluation):\n");
    fprintf(f, "  %-6s %12s %10s %12s %10s %7s\n", "layer", "fwd us/img", "fwd GF/s", "bwd us/img", "bwd GF/s",
            "share");
    for (int l = 0; l < LN_PROF_LAYERS; l++) {
        const double fu = pr.samples_fwd ? pr.fwd_seconds[l] / pr.samples_fwd * 1e6 : 0;
        const double bu = pr.samples_bwd ? pr.bwd_seconds[l] / pr.samples_bwd * 1e6 : 0;
        const double fg = pr.fwd_seconds[l] > 0 ? pr.fwd_flops[l] * pr.samples_fwd / pr.fwd_seconds[l] / 1e9 : 0;
        const double bg = pr.bwd_seconds[l] > 0 ? pr.bwd_flops[l] * pr.samples_bwd / pr.bwd_seconds[l] / 1e9 : 0;
        fprintf(f, "  %-6s %12.3f %10.1f %12.3f %10.1f %6.1f%%\n", pr.name[l], fu, fg, bu, bg,
                tf + tb > 0 ? 100 * (pr.fwd_seconds[l] + pr.bwd_seconds[l]) / (tf + tb) : 0);
    }
    for (int l = 1; l < LN_PROF_LAYERS; l++)
        if (pr.samples_bwd && pr.bwd_seconds[l] == 0)
            fprintf(f, "  (%s's backward runs inside %s's and is counted there)\n", pr.name[l], pr.name[l - 1]);
    fprintf(f, "  total  %12.3f %10s %12.3f   (samples: %ld forward, %ld backward, incl. padding lanes)\n",
            pr.samples_fwd ? tf / pr.samples_fwd * 1e6 : 0, "", pr.samples_bwd ? tb / pr.samples_bwd * 1e6 : 0,
            pr.samples_fwd, pr.samples_bwd);
}

/* --profile --json: the same figures as one JSON line (bench/run.sh reads it). */
static void json_profile(const ln_lenet *net, FILE *f) {
    ln_lenet_profile pr;
    ln_lenet_get_profile(net, &pr);
    fprintf(f, "{\"event\": \"profile\", \"samples_forward\": %ld, \"samples_backward\": %ld, \"layers\": [",
            pr.samples_fwd, pr.samples_bwd);
    for (int l = 0; l < LN_PROF_LAYERS; l++)
        fprintf(f, "%s{\"name\": \"%s\", \"forward_seconds\": %.6f, \"backward_seconds\": %.6f, "
                "\"forward_flops\": %.0f, \"backward_flops\": %.0f}", l ? ", " : "", pr.name[l],
                pr.fwd_seconds[l], pr.bwd_seconds[l], pr.fwd_flops[l], pr.bwd_flops[l]);
    fputs("]}\n", f);
}

/* Network parameter names in order, for --order-params net. */
static int net_order(int conv_bias, const char **names) {
    ln_tensor_info info[LN_MAX_TENSORS];
    const int n = ln_arch_tensors(conv_bias, info, NULL);
    for (int i = 0; i < n; i++) names[i] = info[i].name;
    return n;
}

static void print_saved(void *user, const char *path) {
    char line[4200];
    snprintf(line, sizeof line, "saved checkpoint %s", path);
    cli_monitor_note(user, line);
}

/* --log: appended to (runs accumulate), a regular file only (fileio.h), and
 * never one of the run's inputs. */
static int open_log(const train_opts *o, FILE **log, ln_error *err) {
    int fd;
    if (ln_out_distinct(o->log, o->init, "--init", err) || ln_out_distinct(o->log, o->resume, "--resume", err) ||
        ln_out_distinct(o->log, o->lr_file, "--lr-file", err) || ln_append_open(o->log, "--log", &fd, err))
        return cli_fail(err);
    if (!(*log = fdopen(fd, "a"))) {
        close(fd);
        cli_error("out of memory opening --log %s", o->log);
        return 1;
    }
    return 0;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* After SIGINT / SIGTERM: the checkpoint of the last step (ModelCheckpoint
 * saved it at the end), how to resume, an "interrupted" line in the log and
 * on --json's stdout; exit status 128 + signal. */
static int interrupted(const train_opts *o, const ln_model *m, const char *ckpt, FILE *human, FILE *log, int argc,
                       char **argv) {
    const int sig = train_guard_signal();
    const char *name = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal";
    if (ckpt[0]) {
        fprintf(human, "interrupted by %s after epoch %d step %d (global step %ld); checkpoint %s\n", name,
                m->pos.epoch, m->pos.step, m->global_step, ckpt);
        train_guard_print_resume(human, argc, argv, ckpt);
    } else {
        fprintf(human, "interrupted by %s before the first step; nothing was saved\n", name);
    }
    ln_error err;
    if ((o->json && ln_trainlog_write_interrupted(stdout, "standard output", name, ckpt, &err)) ||
        (log && ln_trainlog_write_interrupted(log, o->log, name, ckpt, &err)))
        cli_fail(&err); /* said; the exit status still tells the signal */
    return 128 + sig;
}

static int run_train(int argc, char **argv, train_world *tw) {
    train_opts o;
    int rc = train_parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    if (o.help) { train_usage(stdout); return 0; }
    ln_error err;
    /* Data parallel (mpirun -np N): rank 0 alone prints and writes. */
    const int rank = ln_dist_rank(tw->dist), world = ln_dist_size(tw->dist);
    o.threads = train_world_threads(tw->dist, o.threads_given, o.threads);
    if (rank != 0) o.report = NULL, o.log = NULL;
    /* Ctrl-C / SIGTERM end a one-process run after its step with a checkpoint.
     * Under mpirun every rank would have to stop at the same step, which a
     * signal arriving at each rank separately does not guarantee: there the
     * signal ends the job as mpirun ends it, and the last checkpoint stays. */
    if (world == 1) train_guard_signals();
    if ((rc = train_guard_check_paths(&o)) || (rc = train_guard_threads(o.threads))) return rc;
    FILE *human = train_world_human(tw, o.json ? stderr : stdout);
    /* --init / --resume's file, read once; the network variant comes from it
     * unless given. */
    const char *from = o.resume ? o.resume : o.init;
    ln_ckpt from_ck = {0};
    if (from && (ln_ckpt_read(from, &from_ck, &err) ||
                 (o.conv_bias < 0 && ln_ckpt_conv_bias(&from_ck, from, &o.conv_bias, &err)))) {
        ln_ckpt_free(&from_ck);
        return cli_fail(&err);
    }
    if (o.conv_bias < 0) o.conv_bias = 1;
    char report_log[4096];
    FILE *log = NULL;
    ln_dataset train, test;
    if (ln_dataset_load(o.data, "train", &train, &err)) {
        ln_ckpt_free(&from_ck);
        return cli_fail_data(&err);
    }
    /* Evaluation: the test set, or with --holdout the training set's tail. */
    if (o.holdout ? ln_dataset_split_tail(&train, (uint32_t)(o.holdout < (long)train.images.count ? o.holdout
                                                                        : (long)train.images.count), &test, &err)
                  : ln_dataset_load(o.data, "test", &test, &err)) {
        ln_dataset_free(&train);
        ln_ckpt_free(&from_ck);
        return o.holdout ? cli_fail(&err) : cli_fail_data(&err);
    }
    rc = 0;
    ln_model m;
    ln_pipeline p;
    ln_model_checkpoint ck;
    float *lr_list = NULL;
    int have_model = 0, have_pipe = 0, have_ck = 0;
    if (train.images.rows != 28 || train.images.cols != 28 || test.images.rows != 28 || test.images.cols != 28) {
        cli_error("images are %ux%u, not 28x28: %s; LeNet-5 here needs 28x28 input", train.images.rows,
                  train.images.cols, train.images_path);
        rc = 2;
        goto out;
    }
    /* Steps per epoch: of this rank's shard (ceil(rows / N) rows). */
    const long shard_rows = ((long)train.images.count + world - 1) / world, nb = shard_rows / o.batch_size;
    if (nb == 0) {
        cli_error("no full batch of %d in %ld images: %s; lower --batch-size", o.batch_size, shard_rows,
                  train.images_path);
        rc = 2;
        goto out;
    }
    /* The learning rate: a number, a list from a file, or a schedule. */
    long lr_len = 0;
    if (o.lr_file) {
        if (ln_lr_read_list(o.lr_file, &lr_list, &lr_len, &err)) { rc = cli_fail(&err); goto out; }
    } else if (o.sched.kind != LN_LR_FIXED) {
        o.sched.lr = o.lr;
        if (o.decay_over_run) /* --decay-steps run: per step over all the run's steps */
            o.sched.decay_epoch = o.max_steps > 0 && o.max_steps < o.epochs * nb ? o.max_steps : o.epochs * nb;
        ln_lr_fit(&o.sched, nb, o.epochs, o.max_steps);
        if (ln_lr_build(&o.sched, &lr_list, &lr_len, &err)) { rc = cli_fail(&err); goto out; }
    }
    o.lr_steps = lr_len;
    const char *order[LN_MAX_TENSORS];
    int n_order = o.order_params ? (strcmp(o.order_params, "net") ? o.n_order : net_order(o.conv_bias, order)) : 0;
    ln_model_config mc = {.conv_bias = o.conv_bias, .batch_size = o.batch_size, .lr = o.lr, .momentum = o.momentum,
                          .weight_decay = o.weight_decay, .loss_scale = o.loss_scale, .nesterov = o.nesterov,
                          .seed = o.seed, .threads = o.threads, .kernels = o.kernels, .amp_level = o.amp_level,
                          .lr_list = lr_list,
                          .lr_len = lr_len, .n_groups = o.n_groups, .groups = o.groups, .n_order = n_order,
                          .order_params = o.order_params && strcmp(o.order_params, "net") ? o.order_names : order,
                          .dist = tw->dist};
    train_echo_config(&o, human);
    if (ln_model_init(&m, &mc, &err)) { rc = cli_fail(&err); goto out; }
    have_model = 1;
    if (o.profile && ln_lenet_set_profiling(&m.net, 1)) {
        cli_error("per-layer timing needs the lanes engine: --profile; drop --kernels gemm:... or --profile");
        rc = 2;
        goto out;
    }
    char amp[96] = "";
    if (ln_lenet_amp_kernels(&m.net))
        snprintf(amp, sizeof amp, ", bf16 products %s (amp level O%d)", ln_lenet_amp_kernels(&m.net), m.net.amp);
    fprintf(human, "network: LeNet-5, %zu parameters, kernels %s%s; data: %u train images (%s), %u %s images\n",
            m.net.n_params, ln_lenet_kernels(&m.net), amp, train.images.count, train.images_path, test.images.count,
            o.holdout ? "validation (held out of train)" : "test");
    if (o.init && ln_model_load_weights_ckpt(&m, &from_ck, o.init, &err)) { rc = cli_fail(&err); goto out; }
    if (o.resume) {
        if (ln_model_load_state_ckpt(&m, &from_ck, o.resume, &err)) { rc = cli_fail(&err); goto out; }
        fprintf(human, "resuming from %s: epoch %d, step %d of %d (global step %ld)\n", o.resume, m.pos.epoch,
                m.pos.step, m.pos.steps_per_epoch, m.global_step);
    }
    ln_ckpt_free(&from_ck); /* loaded */
    ln_pipeline_config pc = {o.batch_size, 1, o.shuffle, 10000, o.seed, o.threads, world, rank};
    /* the raw 28x28 training images are not needed once resized: no second
     * copy (the evaluation resizes the test images a batch at a time) */
    if (ln_dataset_resize32(&train, o.threads, &err) || ln_pipeline_init(&p, &train, &pc, &err)) { rc = cli_fail(&err); goto out; }
    have_pipe = 1;
    /* Outputs only now, after the large allocations: running out of memory leaves none. */
    if ((rc = train_guard_report_dir(&o, report_log, sizeof report_log))) goto out;
    if (o.log && (rc = open_log(&o, &log, &err))) goto out;
    if (log && train_log_config(&o, log, o.log, &err)) { rc = cli_fail(&err); goto out; }
    cli_monitor mon = {.human = human, .json = o.json ? stdout : NULL, .log = log, .log_name = o.log,
                       .print_every = o.print_every,
                       .progress = o.progress > 0 || (o.progress < 0 && world == 1 && isatty(fileno(human))),
                       .test = &test, /* mpirun hands every rank a terminal: no bar by default */
                       .eval_every = o.eval_every, .eval_name = o.holdout ? "validation" : "test",
                       .interrupt = train_guard_flag()};
    ln_checkpoint_config cc = {o.ckpt_dir, o.prefix, o.save_steps, (int)o.keep_max, o.crc, print_saved, &mon};
    if (rank == 0) {
        if (ln_model_checkpoint_init(&ck, &cc, &err)) { rc = cli_fail(&err); goto out; }
        have_ck = 1;
    }
    if (have_ck && ck.stale_removed)
        fprintf(human, "removed %d unfinished temporary checkpoint file%s (%s/%s*.ckpt.tmp.*) left by an "
                "interrupted run\n", ck.stale_removed, ck.stale_removed > 1 ? "s" : "", o.ckpt_dir, o.prefix);
    if (world > 1)
        fprintf(human, "data parallel: %d processes (mpirun), this shard %u of %u rows per epoch, %d steps of %d; "
                "global batch %d\n", world, ln_pipeline_shard_size(&p), ln_pipeline_size(&p),
                ln_pipeline_num_batches(&p), o.batch_size, world * o.batch_size);
    if ((rc = train_world_agree(tw, 0))) goto out; /* every rank is ready */
    ln_callback cbs[3];
    int n_cbs = 0;
    if (have_ck) cbs[n_cbs++] = ln_model_checkpoint_callback(&ck);
    cbs[n_cbs++] = cli_monitor_callback(&mon);
    cbs[n_cbs++] = train_world_test_hooks(tw);
    const double t0 = now_seconds();
    if (ln_model_train(&m, &p, (int)o.epochs, o.max_steps, cbs, n_cbs, &err)) {
        rc = train_world_fail(tw, &m, &err);
        goto out;
    }
    train_world_summary(tw, human, o.threads, now_seconds() - t0);
    const char *final = have_ck ? ck.last_path : "";
    if (train_guard_signal()) { rc = interrupted(&o, &m, final, human, log, argc, argv); goto out; }
    if (!final[0]) { /* nothing trained: the resumed checkpoint is the result */
        if (o.max_steps > 0 && m.global_step >= o.max_steps)
            fprintf(human, "nothing to train: the checkpoint is at global step %ld; --max-steps is %ld (the run's "
                    "total, counted from its start)\n", m.global_step, o.max_steps);
        else
            fprintf(human, "nothing to train: the checkpoint is at epoch %d, step %d; --epochs is %ld\n", m.pos.epoch,
                    m.pos.step, o.epochs);
        final = o.resume ? o.resume : "";
    }
    if (o.profile) print_profile(&m.net, human);
    if (o.profile && o.json) json_profile(&m.net, stdout);
    /* A failed stdout is reported by `lenet` at its end (exit 1); the log's
     * failure is this run's. */
    if (o.json) (void)ln_trainlog_write_done(stdout, "standard output", final, NULL);
    if (log && ln_trainlog_write_done(log, o.log, final, &err)) {
        rc = cli_fail(&err);
        goto out;
    }
    if ((fflush(stdout) != 0 || ferror(stdout)) && final[0]) /* main reports the lost output (exit 1) */
        fprintf(stderr, "lenet: training finished; last checkpoint %s\n", final);
    if (o.report) {
        if (log) fflush(log);
        if (ln_report_write(o.report, o.log, final[0] ? final : NULL, o.data, &err)) { rc = cli_fail(&err); goto out; }
        fprintf(human, "report: %s/index.html\n", o.report);
    }
out:
    if (have_ck) ln_model_checkpoint_free(&ck);
    if (have_pipe) ln_pipeline_free(&p);
    if (have_model) ln_model_free(&m);
    free(lr_list);
    ln_ckpt_free(&from_ck);
    ln_dataset_free(&train);
    ln_dataset_free(&test);
    if (log) fclose(log);
    return rc;
}

int cmd_train(int argc, char **argv) {
    ln_dist dist;
    ln_error err;
    if (ln_dist_open(&dist, &err)) {
        /* Started by mpirun without MPI support: say so once (rank 0). */
        const char *r = getenv("OMPI_COMM_WORLD_RANK") ? getenv("OMPI_COMM_WORLD_RANK") : getenv("PMIX_RANK");
        if (!r || atoi(r) == 0) return cli_fail(&err);
        return ln_status_exit_code(err.status);
    }
    train_world tw;
    train_world_begin(&tw, &dist);
    int rc = run_train(argc, argv, &tw);
    rc = train_world_agree(&tw, rc); /* a rank that failed before training */
    train_world_end(&tw);
    ln_dist_close(&dist);
    return rc;
}
