/* report.c - the training report: read the log, judge the checkpoint on the
 * test set, draw the pictures, write index.html (see include/lenet/report.h). */
#include "lenet/report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lenet/ckpt.h"
#include "lenet/fileio.h"
#include "lenet/loss.h"
#include "lenet/metrics.h"
#include "lenet/load.h"
#include "lenet/pipeline.h"
#include "lenet/plot.h"
#include "lenet/samples.h"
#include "lenet/transform.h"
#include "report_internal.h"

/* Write `name` in the report folder atomically. */
static ln_status save_file(const ln_report_ctx *r, const char *name, const void *data, size_t n, ln_error *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", r->dir, name);
    return ln_write_file_atomic(path, data, n, err);
}

/* Save picture `im` as PNG file `name` in the report folder and free it;
 * *have tells whether it was written. */
static ln_status save_png(const ln_report_ctx *r, const char *name, ln_image *im, int *have, ln_error *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", r->dir, name);
    ln_status s = ln_image_write_png(path, im, err);
    ln_image_free(im);
    *have = !s;
    return s;
}

/* mkdir -p */
static ln_status make_dir(const char *dir, ln_error *err) {
    char p[4096];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) return ln_fail(err, LN_E_USAGE, "path too long: %s", dir);
    for (char *c = p + 1;; c++) {
        if (*c == '/' || *c == 0) {
            char saved = *c;
            *c = 0;
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                return ln_fail(err, LN_E_SYSTEM, "cannot create the report folder (%s): %s", strerror(errno), p);
            *c = saved;
            if (!saved) break;
        }
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return ln_fail(err, LN_E_SYSTEM, "not a folder: %s; give the report a folder name", dir);
    return LN_OK;
}

/* No report file may be the log or the checkpoint it reads. */
static ln_status outputs_distinct(const ln_report_ctx *r, ln_error *err) {
    static const char *const others[] = {LN_REPORT_CONFUSION_FILE, LN_REPORT_MISCLASSIFIED_FILE,
                                         LN_REPORT_INDEX_FILE};
    char path[4200];
    ln_status s = LN_OK;
    for (int i = 0; i < LN_N_CHARTS + 3 && !s; i++) {
        const char *name = i < LN_N_CHARTS ? ln_report_chart_file(i) : others[i - LN_N_CHARTS];
        snprintf(path, sizeof path, "%s/%s", r->dir, name);
        s = ln_out_distinct(path, r->log_path, "`log`", err);
        if (!s) s = ln_out_distinct(path, r->ckpt_path, "`ckpt`", err);
    }
    return s;
}

/* Evaluate the checkpoint on every test image: confusion matrix, and the
 * misclassified images (up to LN_REPORT_MAX_MISTAKES) as a captioned grid. */
static ln_status judge(ln_report_ctx *r, ln_error *err) {
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    const int B = 256;
    const ln_load_opts lo = {.conv_bias = -1, .max_batch = B, .threads = ncpu > 0 ? (int)(ncpu < 16 ? ncpu : 16) : 1};
    ln_lenet net;
    ln_status s = ln_lenet_load(&net, r->ckpt_path, &lo, err);
    if (s) return s;
    r->conv_bias = net.conv_bias;
    ln_dataset ds;
    if ((s = ln_dataset_load(r->data_dir, "test", &ds, err))) { ln_lenet_free(&net); return s; }
    float *xbuf = NULL;
    int32_t *ybuf = NULL;
    double *lossbuf = NULL;
    if (ds.images.rows != 28 || ds.images.cols != 28) {
        s = ln_fail(err, LN_E_INPUT, "test images are %ux%u, not 28x28: %s; LeNet-5 here needs 28x28",
                    ds.images.rows, ds.images.cols, r->data_dir);
        goto out;
    }
    xbuf = malloc(sizeof(float) * B * LN_IMG * LN_IMG);
    ybuf = malloc(sizeof(int32_t) * B);
    lossbuf = malloc(sizeof(double) * B);
    if (!xbuf || !ybuf || !lossbuf) {
        s = ln_fail(err, LN_E_NOMEM, "out of memory for the report");
        goto out;
    }

    const uint32_t n = ds.images.count;
    ln_grid_cell *cells = calloc(LN_REPORT_MAX_MISTAKES, sizeof *cells);
    char (*caps)[16] = calloc(LN_REPORT_MAX_MISTAKES, sizeof *caps);
    if (!cells || !caps) {
        free(cells), free(caps);
        s = ln_fail(err, LN_E_NOMEM, "out of memory for the report");
        goto out;
    }
    ln_metrics met;
    ln_metrics_reset(&met);
    const size_t px = (size_t)ds.images.rows * ds.images.cols;
    for (uint32_t first = 0; first < n; first += (uint32_t)B) {
        const int rows = (int)(n - first < (uint32_t)B ? n - first : (uint32_t)B);
        ln_pipeline_rows(&ds, first, rows, net.threads, xbuf, ybuf);
        ln_lenet_forward(&net, xbuf, rows);
        ln_softmax_xent(ln_lenet_logits(&net), ybuf, rows, LN_CLASSES, NULL, lossbuf);
        ln_metrics_update(&met, ln_lenet_logits(&net), ybuf, rows, lossbuf);
        for (int i = 0; i < rows; i++) {
            int pred = ln_argmax(ln_lenet_logits(&net) + (size_t)i * LN_CLASSES, LN_CLASSES), truth = ybuf[i];
            if (pred == truth || r->shown_mistakes >= LN_REPORT_MAX_MISTAKES) continue;
            int k = r->shown_mistakes++;
            snprintf(caps[k], sizeof caps[k], "%d as %d", truth, pred);
            cells[k] = (ln_grid_cell){ds.images.pixels + (size_t)(first + (uint32_t)i) * px, caps[k],
                                      LN_RGB(200, 30, 30)};
        }
    }
    r->correct = met.correct, r->total = met.total, r->mistakes = met.total - met.correct;
    r->test_loss = ln_metrics_loss(&met);
    for (int t = 0; t < LN_CLASSES; t++)
        for (int p = 0; p < LN_CLASSES; p++) r->confusion[t * LN_CLASSES + p] = met.confusion[t][p];

    char title[128];
    snprintf(title, sizeof title, "Confusion matrix: %ld test images", r->total);
    ln_image im;
    if (!(s = ln_plot_confusion(r->confusion, LN_CLASSES, title, &im, err)))
        s = save_png(r, LN_REPORT_CONFUSION_FILE, &im, &r->have_confusion, err);
    if (!s && r->shown_mistakes > 0 &&
        !(s = ln_sample_grid(cells, r->shown_mistakes, (int)ds.images.rows, (int)ds.images.cols, 10, 84, &im, err)))
        s = save_png(r, LN_REPORT_MISCLASSIFIED_FILE, &im, &r->have_misclassified, err);
    free(cells);
    free(caps);
out:
    free(xbuf), free(ybuf), free(lossbuf);
    ln_lenet_free(&net);
    ln_dataset_free(&ds);
    return s;
}

ln_status ln_report_write_ex(const char *dir, const char *log_path, const char *ckpt_path, const char *data_dir,
                             ln_report_summary *summary, ln_error *err) {
    if (summary) memset(summary, 0, sizeof *summary);
    if (!dir || !*dir || !log_path || !data_dir)
        return ln_fail(err, LN_E_USAGE, "missing input for the report: a folder, a metrics log and a data folder "
                       "are needed");
    ln_trainlog *log = malloc(sizeof *log);
    ln_report_ctx *r = calloc(1, sizeof *r);
    if (!log || !r) {
        free(log), free(r);
        return ln_fail(err, LN_E_NOMEM, "out of memory for the report");
    }
    ln_status s = ln_trainlog_read(log_path, log, err);
    if (s) { free(log), free(r); return s; }
    r->dir = dir, r->log_path = log_path, r->data_dir = data_dir, r->log = log;
    r->ckpt_path = ckpt_path && *ckpt_path ? ckpt_path : log->checkpoint;
    /* The log names its checkpoint relative to where training ran; if that is
     * not here, try next to the log. */
    char beside[8400];
    struct stat st;
    if (r->ckpt_path == log->checkpoint && log->checkpoint[0] && log->checkpoint[0] != '/' &&
        stat(log->checkpoint, &st) != 0 && strrchr(log_path, '/')) {
        snprintf(beside, sizeof beside, "%.*s/%s", (int)(strrchr(log_path, '/') - log_path), log_path, log->checkpoint);
        if (stat(beside, &st) == 0) r->ckpt_path = beside;
    }
    if (!*r->ckpt_path)
        s = ln_fail(err, LN_E_USAGE, "no checkpoint named in the metrics log (no \"done\" line): %s; give the "
                    "checkpoint to judge (`ckpt=FILE`)", log_path);
    if (!s) s = make_dir(dir, err);
    if (!s) s = outputs_distinct(r, err);
    if (!s) s = judge(r, err);
    ln_image charts[LN_N_CHARTS];
    if (!s && !(s = ln_report_charts(log, charts, err)))
        for (int k = 0; k < LN_N_CHARTS; k++)
            if (charts[k].data) {
                if (!s) s = save_png(r, ln_report_chart_file(k), &charts[k], &r->have_chart[k], err);
                else ln_image_free(&charts[k]);
            }
    if (!s) {
        ln_buf b;
        ln_buf_init(&b);
        ln_report_html(r, &b);
        s = ln_buf_ok(&b) ? save_file(r, LN_REPORT_INDEX_FILE, b.p, b.len, err)
                          : ln_fail(err, LN_E_NOMEM, "out of memory for index.html");
        ln_buf_free(&b);
    }
    if (!s && summary) {
        summary->correct = r->correct, summary->total = r->total, summary->mistakes = r->mistakes;
        summary->conv_bias = r->conv_bias;
        summary->n_steps = log->n_steps, summary->n_epochs = log->n_epochs;
        summary->log_cut_line = log->cut_line;
        summary->files = 1 + r->have_confusion + r->have_misclassified;
        for (int k = 0; k < LN_N_CHARTS; k++) summary->files += r->have_chart[k];
    }
    ln_trainlog_free(log);
    free(log);
    free(r);
    return s;
}

ln_status ln_report_write(const char *dir, const char *log_path, const char *ckpt_path, const char *data_dir,
                          ln_error *err) {
    return ln_report_write_ex(dir, log_path, ckpt_path, data_dir, NULL, err);
}
