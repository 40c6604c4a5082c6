/* cmd_train.c - `lenet train`: the tutorial's training run with LossMonitor
 * lines, a per-epoch evaluation line and a checkpoint at the end. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "lenet/model.h"

typedef struct {
    const char *data, *ckpt_dir, *prefix, *init, *kernels;
    long epochs, save_steps, keep_max, max_steps, print_every;
    int json, shuffle;
    ln_model_config m;
} train_opts;

typedef struct {
    const train_opts *o;
    FILE *human; /* stdout, or stderr in --json mode */
    char prefix[512];
    char last_ckpt[4096];
    long last_saved_step;
    int epoch;
    ln_error err;
    int failed;
    char saved[64][4096]; /* rotation queue, oldest first */
    int nsaved;
} train_ctx;

static void usage(void) {
    puts("usage: lenet train [options]\n"
         "  --data DIR          MNIST root (train/ and test/) or flat folder (default datasets/MNIST_Data)\n"
         "  --epochs N          passes over the training set (default 1)\n"
         "  --batch-size N      rows per step, last short batch dropped (default 32)\n"
         "  --lr X              learning rate (default 0.01)\n"
         "  --momentum X        momentum (default 0.9)\n"
         "  --weight-decay X    L2 weight decay (default 0)\n"
         "  --loss-scale X      static loss scale, undone by the optimizer (default 1)\n"
         "  --nesterov          Nesterov momentum (default off)\n"
         "  --seed S            seed for weights and data order (default 1)\n"
         "  --threads T         worker threads (default: all CPUs)\n"
         "  --conv-bias on|off  conv layers with bias (default on: the seed's network)\n"
         "  --ckpt-dir DIR      checkpoint folder (default checkpoints)\n"
         "  --prefix NAME       checkpoint prefix (default checkpoint_lenet)\n"
         "  --save-steps N      save every N steps (default 1875, once per epoch)\n"
         "  --keep-max N        keep at most N checkpoints (default 10)\n"
         "  --max-steps N       stop after N steps in all (default 0 = no limit)\n"
         "  --print-every N     LossMonitor line every N steps (default 125; 0 = never)\n"
         "  --no-shuffle        keep the files' order\n"
         "  --init CKPT         start from a checkpoint's network weights\n"
         "  --kernels NAME      auto|generic|avx2|avx512 (default auto)\n"
         "  --json              machine-readable lines on stdout");
}

static int parse(int argc, char **argv, train_opts *o) {
    *o = (train_opts){.data = "datasets/MNIST_Data", .ckpt_dir = "checkpoints", .prefix = "checkpoint_lenet",
                      .epochs = 1, .save_steps = 1875, .keep_max = 10, .print_every = 125, .shuffle = 1,
                      .m = {.conv_bias = 1, .batch_size = 32, .lr = 0.01f, .momentum = 0.9f,
                            .weight_decay = 0.f, .loss_scale = 1.f, .seed = 1, .threads = cli_ncpus()}};
    enum { O_DATA = 256, O_EPOCHS, O_BS, O_LR, O_MOM, O_WD, O_LS, O_NEST, O_SEED, O_THREADS, O_CB, O_CKDIR,
           O_PREFIX, O_SAVE, O_KEEP, O_MAXS, O_PRINT, O_NOSHUF, O_INIT, O_RESUME, O_KERN, O_JSON, O_LOG, O_HELP };
    static const struct option opts[] = {
        {"data", 1, 0, O_DATA}, {"epochs", 1, 0, O_EPOCHS}, {"batch-size", 1, 0, O_BS}, {"lr", 1, 0, O_LR},
        {"momentum", 1, 0, O_MOM}, {"weight-decay", 1, 0, O_WD}, {"loss-scale", 1, 0, O_LS},
        {"nesterov", 0, 0, O_NEST}, {"seed", 1, 0, O_SEED}, {"threads", 1, 0, O_THREADS},
        {"conv-bias", 1, 0, O_CB}, {"ckpt-dir", 1, 0, O_CKDIR}, {"prefix", 1, 0, O_PREFIX},
        {"save-steps", 1, 0, O_SAVE}, {"keep-max", 1, 0, O_KEEP}, {"max-steps", 1, 0, O_MAXS},
        {"print-every", 1, 0, O_PRINT}, {"no-shuffle", 0, 0, O_NOSHUF}, {"init", 1, 0, O_INIT},
        {"resume", 1, 0, O_RESUME}, {"kernels", 1, 0, O_KERN}, {"json", 0, 0, O_JSON}, {"log", 1, 0, O_LOG},
        {"help", 0, 0, O_HELP}, {0, 0, 0, 0}};
    int c;
    long v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_DATA: o->data = optarg; break;
        case O_EPOCHS: if (cli_int("--epochs", optarg, 1, 100000, &o->epochs)) return 2; break;
        case O_BS: if (cli_int("--batch-size", optarg, 1, 4096, &v)) return 2; o->m.batch_size = (int)v; break;
        case O_LR: if (cli_float("--lr", optarg, 0, 1e6, &o->m.lr)) return 2; break;
        case O_MOM: if (cli_float("--momentum", optarg, 0, 1e6, &o->m.momentum)) return 2; break;
        case O_WD: if (cli_float("--weight-decay", optarg, 0, 1e6, &o->m.weight_decay)) return 2; break;
        case O_LS: if (cli_float("--loss-scale", optarg, 1e-30, 1e30, &o->m.loss_scale)) return 2; break;
        case O_NEST: o->m.nesterov = 1; break;
        case O_SEED: if (cli_int("--seed", optarg, 0, 4294967295L, &v)) return 2; o->m.seed = (uint32_t)v; break;
        case O_THREADS: if (cli_int("--threads", optarg, 1, 256, &v)) return 2; o->m.threads = (int)v; break;
        case O_CB: if (cli_onoff("--conv-bias", optarg, &o->m.conv_bias)) return 2; break;
        case O_CKDIR: o->ckpt_dir = optarg; break;
        case O_PREFIX:
            if (!*optarg || strchr(optarg, '/')) { cli_error("--prefix: '%s' must be a non-empty name without '/'", optarg); return 2; }
            o->prefix = optarg;
            break;
        case O_SAVE: if (cli_int("--save-steps", optarg, 1, 1L << 40, &o->save_steps)) return 2; break;
        case O_KEEP: if (cli_int("--keep-max", optarg, 1, 100000, &o->keep_max)) return 2; break;
        case O_MAXS: if (cli_int("--max-steps", optarg, 0, 1L << 40, &o->max_steps)) return 2; break;
        case O_PRINT: if (cli_int("--print-every", optarg, 0, 1L << 40, &o->print_every)) return 2; break;
        case O_NOSHUF: o->shuffle = 0; break;
        case O_INIT: o->init = optarg; break;
        case O_RESUME: cli_error("--resume: not available yet; use --init CKPT to start from saved weights"); return 2;
        case O_LOG: cli_error("--log: not available yet"); return 2;
        case O_KERN: o->m.kernels = optarg; break;
        case O_JSON: o->json = 1; break;
        case O_HELP: usage(); return -1;
        default: return 2;
        }
    }
    if (optind < argc) { cli_error("train: unexpected argument '%s'", argv[optind]); return 2; }
    return 0;
}

/* MindSpore's ModelCheckpoint rule: if <prefix>-*.ckpt or <prefix>_N-*.ckpt
 * exists in the folder, the new run uses <prefix>_<max N + 1>, so an existing
 * checkpoint is never overwritten. */
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
            if (n[pl] == '-') { if (maxn < 0) maxn = 0; }
            else if (n[pl] == '_') {
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

static int save_now(train_ctx *t, ln_model *m, int epoch, int step_in_epoch) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s-%d_%d.ckpt", t->o->ckpt_dir, t->prefix, epoch, step_in_epoch);
    /* Rotation: delete the oldest when keep_max would be exceeded. */
    if (t->nsaved >= t->o->keep_max || t->nsaved == 64) {
        remove(t->saved[0]);
        memmove(t->saved[0], t->saved[1], sizeof t->saved[0] * (size_t)(t->nsaved - 1));
        t->nsaved--;
    }
    if (ln_model_save(m, path, &t->err)) { t->failed = 1; return 1; }
    snprintf(t->saved[t->nsaved++], sizeof t->saved[0], "%s", path);
    snprintf(t->last_ckpt, sizeof t->last_ckpt, "%s", path);
    t->last_saved_step = m->global_step;
    fprintf(t->human, "saved checkpoint %s\n", path);
    return 0;
}

static int on_step(void *user, ln_model *m, const ln_step_info *s) {
    train_ctx *t = user;
    t->epoch = s->epoch;
    if (t->o->print_every > 0 && s->global_step % t->o->print_every == 0) {
        char lb[32];
        cli_fmt_float(lb, sizeof lb, s->loss);
        fprintf(t->human, "epoch: %d step: %d, loss is %s\n", s->epoch, s->step_in_epoch, lb);
        fflush(t->human);
    }
    if (m->global_step - t->last_saved_step >= t->o->save_steps)
        if (save_now(t, m, s->epoch, s->step_in_epoch)) return 1;
    return 0;
}

int cmd_train(int argc, char **argv) {
    train_opts o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    ln_error err;
    train_ctx t = {.o = &o, .human = o.json ? stderr : stdout};
    /* Echo the full configuration. */
    fprintf(t.human,
            "config: data=%s epochs=%ld batch_size=%d lr=%g momentum=%g weight_decay=%g loss_scale=%g "
            "nesterov=%s seed=%u threads=%d conv_bias=%s shuffle=%s ckpt_dir=%s prefix=%s save_steps=%ld "
            "keep_max=%ld max_steps=%ld print_every=%ld init=%s\n",
            o.data, o.epochs, o.m.batch_size, o.m.lr, o.m.momentum, o.m.weight_decay, o.m.loss_scale,
            o.m.nesterov ? "on" : "off", o.m.seed, o.m.threads, o.m.conv_bias ? "on" : "off",
            o.shuffle ? "on" : "off", o.ckpt_dir, o.prefix, o.save_steps, o.keep_max, o.max_steps,
            o.print_every, o.init ? o.init : "none");
    fflush(t.human);
    ln_dataset train, test;
    if (ln_dataset_load(o.data, "train", &train, &err)) return cli_fail(&err);
    if (ln_dataset_load(o.data, "test", &test, &err)) { ln_dataset_free(&train); return cli_fail(&err); }
    rc = 0;
    ln_model m;
    ln_pipeline p;
    int have_model = 0, have_pipe = 0;
    if (train.images.rows != 28 || train.images.cols != 28 || test.images.rows != 28 || test.images.cols != 28) {
        cli_error("%s: images are %ux%u; LeNet-5 here needs 28x28 input", train.images_path, train.images.rows,
                  train.images.cols);
        rc = 2;
        goto out;
    }
    if (ln_model_init(&m, &o.m, &err)) { rc = cli_fail(&err); goto out; }
    have_model = 1;
    fprintf(t.human, "network: LeNet-5, %zu parameters, kernels %s; data: %u train images (%s), %u test images\n",
            m.net.n_params, m.net.gemm.name, train.images.count, train.images_path, test.images.count);
    if (o.init && ln_model_load_weights(&m, o.init, &err)) { rc = cli_fail(&err); goto out; }
    ln_pipeline_config pc = {o.m.batch_size, 1, o.shuffle, 10000, o.m.seed, o.m.threads};
    if (ln_pipeline_init(&p, &train, &pc, &err)) { rc = cli_fail(&err); goto out; }
    have_pipe = 1;
    if (ln_pipeline_num_batches(&p) == 0) {
        cli_error("%s: %u images make no full batch of %d; lower --batch-size", train.images_path,
                  train.images.count, o.m.batch_size);
        rc = 2;
        goto out;
    }
    if (mkdir(o.ckpt_dir, 0755) != 0 && errno != EEXIST) {
        cli_error("--ckpt-dir %s: cannot create (%s)", o.ckpt_dir, strerror(errno));
        rc = 1;
        goto out;
    }
    choose_prefix(o.ckpt_dir, o.prefix, t.prefix, sizeof t.prefix);
    ln_callbacks cb = {&t, on_step, NULL};
    int last_steps = 0;
    for (int e = 1; e <= o.epochs; e++) {
        if (o.max_steps > 0 && m.global_step >= o.max_steps) break;
        ln_pipeline_next_epoch(&p);
        ln_epoch_info ei;
        if (ln_model_train_epoch(&m, &p, e, o.max_steps, &cb, &ei, &err)) { rc = cli_fail(&err); goto out; }
        if (t.failed) { rc = cli_fail(&t.err); goto out; }
        last_steps = ei.steps;
        ln_metrics met;
        ln_model_eval(&m, &test, 0, &met);
        const double acc = ln_metrics_accuracy(&met);
        if (o.json)
            printf("{\"event\": \"epoch\", \"epoch\": %d, \"steps\": %d, \"loss\": %.6f, \"test_accuracy\": %.6f, "
                   "\"test_loss\": %.6f, \"train_seconds\": %.3f, \"images_per_second\": %.1f}\n",
                   e, ei.steps, ei.mean_loss, acc, ln_metrics_loss(&met), ei.seconds, ei.images_per_second);
        fprintf(t.human, "epoch %d: %d steps, mean loss %.4f, test accuracy %.2f%% (%ld/%ld), test loss %.4f, "
                "%.2f s, %.0f images/s\n", e, ei.steps, ei.mean_loss, 100.0 * acc, met.correct, met.total,
                ln_metrics_loss(&met), ei.seconds, ei.images_per_second);
        fflush(stdout);
    }
    /* ModelCheckpoint's end(): save the final step if not just saved. */
    if (m.global_step > t.last_saved_step && save_now(&t, &m, t.epoch, last_steps)) {
        rc = cli_fail(&t.err);
        goto out;
    }
    if (o.json) printf("{\"event\": \"done\", \"checkpoint\": \"%s\"}\n", t.last_ckpt);
out:
    if (have_pipe) ln_pipeline_free(&p);
    if (have_model) ln_model_free(&m);
    ln_dataset_free(&train);
    ln_dataset_free(&test);
    return rc;
}
