/* cmd_eval.c - `lenet eval`: accuracy, loss, per-class accuracy and the
 * confusion matrix of a checkpoint on the test set. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lenet/load.h"
#include "lenet/pipeline.h"

/* Per class: correct / total of row c of the confusion matrix. */
static void class_counts(const ln_metrics *met, int c, long *correct, long *total) {
    *total = 0;
    for (int p = 0; p < LN_CLASSES; p++) *total += met->confusion[c][p];
    *correct = met->confusion[c][c];
}

static void print_json(const ln_metrics *met) {
    char acc[32], loss[32];
    cli_json_num(acc, sizeof acc, "%.6f", ln_metrics_accuracy(met));
    cli_json_num(loss, sizeof loss, "%.6f", ln_metrics_loss(met));
    printf("{\"accuracy\": %s, \"loss\": %s, \"correct\": %ld, \"total\": %ld, \"per_class_accuracy\": [", acc,
           loss, met->correct, met->total);
    for (int c = 0; c < LN_CLASSES; c++) {
        long k, n;
        class_counts(met, c, &k, &n);
        if (n) printf("%s%.6f", c ? ", " : "", (double)k / (double)n);
        else printf("%snull", c ? ", " : "");
    }
    fputs("], \"per_class_total\": [", stdout);
    for (int c = 0; c < LN_CLASSES; c++) {
        long k, n;
        class_counts(met, c, &k, &n);
        printf("%s%ld", c ? ", " : "", n);
    }
    fputs("], \"confusion_matrix\": [", stdout);
    for (int c = 0; c < LN_CLASSES; c++) {
        printf("%s[", c ? ", " : "");
        for (int p = 0; p < LN_CLASSES; p++) printf("%s%ld", p ? ", " : "", met->confusion[c][p]);
        putchar(']');
    }
    puts("]}");
}

static void print_text(const char *ckpt, const ln_metrics *met) {
    printf("checkpoint %s: accuracy %.2f%% (%ld/%ld), loss %.4f\n", ckpt, 100.0 * ln_metrics_accuracy(met),
           met->correct, met->total, ln_metrics_loss(met));
    puts("per-class accuracy:");
    for (int c = 0; c < LN_CLASSES; c++) {
        long k, n;
        class_counts(met, c, &k, &n);
        if (n) printf("  %d: %6.2f%% (%ld/%ld)\n", c, 100.0 * (double)k / (double)n, k, n);
        else printf("  %d:      - (0 images)\n", c);
    }
    puts("confusion matrix (rows: true label, columns: predicted):");
    fputs("      ", stdout);
    for (int p = 0; p < LN_CLASSES; p++) printf("%6d", p);
    putchar('\n');
    for (int c = 0; c < LN_CLASSES; c++) {
        printf("  %d | ", c);
        for (int p = 0; p < LN_CLASSES; p++) printf("%6ld", met->confusion[c][p]);
        putchar('\n');
    }
}

/* One JSON line per test image: what `lenet predict --json` and `lenet serve`
 * print for it (probabilities to 9 significant digits: float32 exactly). */
static int print_per_image(ln_lenet *net, const ln_dataset *ds, long limit, int threads) {
    long n = ds->images.count;
    if (limit > 0 && limit < n) n = limit;
    enum { STEP = 256 };
    float *x = malloc(sizeof(float) * STEP * LN_IMG * LN_IMG), probs[LN_CLASSES * STEP];
    int32_t labels[STEP];
    if (!x) {
        cli_error("out of memory for the evaluation");
        return 1;
    }
    for (long first = 0; first < n; first += STEP) {
        const int rows = (int)(n - first < STEP ? n - first : STEP);
        ln_pipeline_rows(ds, (uint32_t)first, rows, threads, x, labels);
        ln_lenet_predict(net, x, rows, probs);
        for (int r = 0; r < rows; r++) {
            const float *p = probs + (size_t)r * LN_CLASSES;
            printf("{\"index\": %ld, \"label\": %d, ", first + r, (int)labels[r]);
            cli_json_prediction(stdout, p, LN_CLASSES);
            puts("}");
        }
    }
    free(x);
    return 0;
}

int cmd_eval(int argc, char **argv) {
    const char *data = "datasets/MNIST_Data", *ckpt = NULL, *kernels = NULL;
    long batch = 256, threads = cli_ncpus(), limit = 0;
    int json = 0, conv_bias = -1, per_image = 0;
    enum { O_DATA = 256, O_CKPT, O_BS, O_THREADS, O_CB, O_JSON, O_MS, O_KERN, O_PER, O_HELP };
    static const struct option opts[] = {
        {"data", 1, 0, O_DATA}, {"ckpt", 1, 0, O_CKPT}, {"batch-size", 1, 0, O_BS}, {"threads", 1, 0, O_THREADS},
        {"conv-bias", 1, 0, O_CB}, {"json", 0, 0, O_JSON}, {"mindspore-count", 0, 0, O_MS},
        {"kernels", 1, 0, O_KERN}, {"per-image", 0, 0, O_PER}, {"help", 0, 0, O_HELP}, {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = cli_getopt(argc, argv, "", opts)) != -1) {
        switch (c) {
        case O_DATA: data = optarg; break;
        case O_CKPT: ckpt = optarg; break;
        case O_BS: if (cli_int("--batch-size", optarg, 1, 4096, &batch)) return 2; break;
        case O_THREADS: if (cli_int("--threads", optarg, 1, 256, &threads)) return 2; break;
        case O_CB: if (cli_onoff("--conv-bias", optarg, &conv_bias)) return 2; break;
        case O_JSON: json = 1; break;
        case O_MS: limit = -1; break;
        case O_KERN: kernels = optarg; break;
        case O_PER: per_image = 1; break;
        case O_HELP:
            puts("usage: lenet eval --ckpt FILE [options]\n"
                 "  --data DIR          MNIST root or flat folder (default datasets/MNIST_Data)\n"
                 "  --ckpt FILE         checkpoint to evaluate (default: the newest *.ckpt in checkpoints/)\n"
                 "  --batch-size N      rows per forward pass (default 256; results do not depend on it)\n"
                 "  --threads T         worker threads (default: all CPUs)\n"
                 "  --conv-bias on|off  network variant (default: detected from the checkpoint)\n"
                 "  --mindspore-count   count only full batches of 32, as MindSpore's tutorial (9984 images)\n"
                 "  --json              one JSON object: accuracy, loss, correct, total, per_class_accuracy,\n"
                 "                      per_class_total, confusion_matrix (rows: true label)\n"
                 "  --per-image         instead, one JSON line per image: index, label, digit and the 10\n"
                 "                      probabilities (9 significant digits, as predict --json and serve)\n"
                 "Prints the accuracy and loss, the accuracy per class and the confusion matrix.");
            return 0;
        default: return 2;
        }
    }
    if (optind < argc) { cli_error("unexpected argument '%s'; see `lenet eval --help`", argv[optind]); return 2; }
    char newest[4096];
    if (!(ckpt = cli_ckpt_or_newest(ckpt, newest, sizeof newest))) return 2;
    ln_error err;
    ln_dataset test;
    /* The summary reads the images as it evaluates them (a batch at a time,
     * no copy of the whole file: at 10,000 images its pages cost ~6 ms of
     * a ~60 ms process here); --per-image reads them first. */
    ln_idx_stream *st = NULL;
    if (per_image ? ln_dataset_load(data, "test", &test, &err) : ln_dataset_open(data, "test", &test, &st, &err))
        return cli_fail_data(&err);
    if (test.images.rows != 28 || test.images.cols != 28) {
        cli_error("images are %ux%u, not 28x28: %s; LeNet-5 here needs 28x28 input", test.images.rows,
                  test.images.cols, test.images_path);
        ln_idx_stream_close(st);
        ln_dataset_free(&test);
        return 2;
    }
    if (limit < 0) limit = test.images.count / 32 * 32;
    ln_load_opts lo = {.conv_bias = conv_bias, .max_batch = (int)batch, .threads = (int)threads, .kernels = kernels};
    ln_lenet net;
    if (ln_lenet_load(&net, ckpt, &lo, &err)) {
        ln_idx_stream_close(st);
        ln_dataset_free(&test);
        return cli_fail(&err);
    }
    ln_metrics met;
    int rc = 0;
    if (per_image) rc = print_per_image(&net, &test, limit, (int)threads);
    else if (ln_lenet_eval_stream(&net, st, &test, limit, &met, &err))
        rc = err.status == LN_E_INPUT ? cli_fail_data(&err) : cli_fail(&err); /* (a file gone bad on the way) */
    else if (json) print_json(&met);
    else print_text(ckpt, &met);
    ln_lenet_free(&net);
    ln_idx_stream_close(st);
    ln_dataset_free(&test);
    return rc;
}
