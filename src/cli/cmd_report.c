/* cmd_report.c - `lenet report`: a training report folder (PNGs + index.html)
 * from a metrics log and a checkpoint. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "lenet/report.h"

int cmd_report(int argc, char **argv) {
    const char *log = NULL, *ckpt = NULL, *data = "datasets/MNIST_Data", *out = NULL;
    enum { O_LOG = 256, O_CKPT, O_DATA, O_OUT, O_HELP };
    static const struct option opts[] = {{"log", 1, 0, O_LOG},    {"ckpt", 1, 0, O_CKPT}, {"data", 1, 0, O_DATA},
                                         {"output", 1, 0, O_OUT}, {"help", 0, 0, O_HELP}, {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = cli_getopt(argc, argv, "o:", opts)) != -1) {
        switch (c) {
        case O_LOG: log = optarg; break;
        case O_CKPT: ckpt = optarg; break;
        case O_DATA: data = optarg; break;
        case 'o':
        case O_OUT: out = optarg; break;
        case O_HELP:
            puts("usage: lenet report --log FILE.jsonl [--ckpt FILE] [--data DIR] -o DIR\n"
                 "  --log FILE.jsonl  metrics log written by `lenet train --log` (required)\n"
                 "  --ckpt FILE       checkpoint to judge on the test set (default: the log's final checkpoint)\n"
                 "  --data DIR        MNIST root or flat folder (default datasets/MNIST_Data)\n"
                 "  -o, --output DIR  report folder, created if missing (required); open DIR/index.html\n"
                 "Writes loss and accuracy curves, the confusion matrix and the misclassified test images\n"
                 "as PNGs and an index.html that shows them (opens from disk, no scripts).");
            return 0;
        default: return 2;
        }
    }
    if (optind < argc) { cli_error("unexpected argument '%s'; see `lenet report --help`", argv[optind]); return 2; }
    if (!log) { cli_error("missing option: --log FILE.jsonl; write one with `lenet train --log FILE.jsonl`"); return 2; }
    if (!out) { cli_error("missing option: -o DIR; give the folder to write the report into"); return 2; }
    ln_error err;
    ln_report_summary sum;
    if (ln_report_write_ex(out, log, ckpt, data, &sum, &err)) return cli_fail(&err);
    if (sum.log_cut_line)
        fprintf(stderr, "lenet: warning: last line cut short (the run was killed while writing it): %s:%ld; the "
                "report shows the lines before it\n", log, sum.log_cut_line);
    printf("report written to %s/index.html (%d files): %d epochs, %d steps logged; checkpoint: test accuracy "
           "%.2f%% (%ld/%ld), %ld misclassified\n", out, sum.files, sum.n_epochs, sum.n_steps,
           sum.total ? 100.0 * (double)sum.correct / (double)sum.total : 0.0, sum.correct, sum.total, sum.mistakes);
    return 0;
}
