/* report_charts.c - the report's curves from the metrics log (see
 * report_internal.h): loss per step, loss and accuracy per epoch, the
 * learning rate when it changes. It draws them; report.c saves them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lenet/image.h"
#include "lenet/plot.h"
#include "report_internal.h"

#define BLUE_LIGHT LN_RGB(160, 190, 230)
#define BLUE LN_RGB(31, 86, 168)
#define ORANGE LN_RGB(230, 120, 20)
#define GREEN LN_RGB(30, 140, 60)
#define PURPLE LN_RGB(120, 60, 160)

static const char *const FILES[LN_N_CHARTS] = {"loss_steps.png", "loss_epochs.png", "accuracy.png", "lr.png"};

const char *ln_report_chart_file(int chart) { return FILES[chart]; }

/* "global step (batches of N images)" when the config tells N. */
static void step_label(const ln_trainlog *log, char *buf, size_t size) {
    for (int i = 0; i < log->n_config; i++)
        if (!strcmp(log->config_key[i], "batch_size")) {
            snprintf(buf, size, "global step (batches of %s images)", log->config_val[i]);
            return;
        }
    snprintf(buf, size, "global step (batches)");
}

static ln_status loss_steps(const ln_trainlog *log, ln_image *im, ln_error *err) {
    const int n = log->n_steps, ne = log->n_epochs;
    double *x = malloc(sizeof *x * (size_t)(3 * n + 6 * ne + 1));
    if (!x) return ln_fail(err, LN_E_NOMEM, "out of memory for the loss chart");
    double *y = x + n, *avg = y + n, *ex = avg + n, *ey = ex + 3 * ne;
    /* Trailing moving average over about 1% of the run (at least 1 step). */
    int win = n / 100 > 1 ? n / 100 : 1;
    double sum = 0;
    int cnt = 0;
    for (int i = 0; i < n; i++) {
        x[i] = (double)log->steps[i].global_step;
        y[i] = log->steps[i].loss;
        if (isfinite(y[i])) sum += y[i], cnt++;
        if (i >= win && isfinite(y[i - win])) sum -= y[i - win], cnt--;
        avg[i] = cnt ? sum / cnt : NAN;
    }
    /* Each epoch's mean as a level segment over the epoch's steps (NaN breaks the line). */
    for (int e = 0; e < ne; e++) {
        const ln_log_epoch *ep = &log->epochs[e];
        ex[3 * e] = (double)(ep->last_global_step - ep->steps), ex[3 * e + 1] = (double)ep->last_global_step;
        ey[3 * e] = ey[3 * e + 1] = ep->loss;
        ex[3 * e + 2] = ey[3 * e + 2] = NAN;
    }
    char avg_label[64], xl[96];
    snprintf(avg_label, sizeof avg_label, "moving average (%d steps)", win);
    step_label(log, xl, sizeof xl);
    ln_plot_series s[3] = {
        {x, y, n, BLUE_LIGHT, 1, 0, "loss per step"},
        {x, avg, n, BLUE, 3, 0, win > 1 ? avg_label : NULL},
        {ex, ey, 3 * ne, ORANGE, 3, 0, "epoch mean"},
    };
    ln_plot_opts o = {.title = "Training loss per step", .xlabel = xl,
                      .ylabel = "loss (softmax cross-entropy, nats)", .y_from_zero = 1};
    ln_status st = ln_plot_lines(s, ne ? 3 : 2, &o, im, err);
    free(x);
    return st;
}

static ln_status loss_epochs(const ln_trainlog *log, ln_image *im, ln_error *err) {
    const int ne = log->n_epochs;
    double *x = malloc(sizeof *x * (size_t)(3 * ne));
    if (!x) return ln_fail(err, LN_E_NOMEM, "out of memory for the epoch chart");
    double *tr = x + ne, *te = tr + ne;
    int have_test = 0;
    for (int e = 0; e < ne; e++) {
        x[e] = log->epochs[e].epoch;
        tr[e] = log->epochs[e].loss;
        te[e] = log->epochs[e].test_loss;
        have_test |= isfinite(te[e]) != 0;
    }
    ln_plot_series s[2] = {{x, tr, ne, ORANGE, 3, 1, "mean training loss"}, {x, te, ne, PURPLE, 3, 1, "test loss"}};
    ln_plot_opts o = {.title = "Loss per epoch", .xlabel = "epoch", .ylabel = "loss (softmax cross-entropy, nats)",
                      .y_from_zero = 1, .x_integer = 1};
    if (ne == 1) o.fix_x = 1, o.xmin = x[0] - 1, o.xmax = x[0] + 1;
    ln_status st = ln_plot_lines(s, have_test ? 2 : 1, &o, im, err);
    free(x);
    return st;
}

static ln_status accuracy(const ln_trainlog *log, ln_image *im, ln_error *err) {
    const int ne = log->n_epochs;
    double *x = malloc(sizeof *x * (size_t)(2 * ne));
    if (!x) return ln_fail(err, LN_E_NOMEM, "out of memory for the accuracy chart");
    double *a = x + ne, lo = 100, hi = 0;
    for (int e = 0; e < ne; e++) {
        x[e] = log->epochs[e].epoch;
        a[e] = 100.0 * log->epochs[e].test_accuracy;
        if (isfinite(a[e])) lo = fmin(lo, a[e]), hi = fmax(hi, a[e]);
    }
    ln_plot_series s = {x, a, ne, GREEN, 3, 1, "test accuracy"};
    ln_plot_opts o = {.title = "Test accuracy per epoch", .xlabel = "epoch",
                      .ylabel = "accuracy (% of the 10,000 test images)", .x_integer = 1};
    if (ne == 1) o.fix_x = 1, o.xmin = x[0] - 1, o.xmax = x[0] + 1;
    /* Show at least a 2-point window, never above 100 %. */
    double step = ln_plot_nice_step(fmax(hi - lo, 2.0), 5);
    o.fix_y = 1;
    o.ymin = floor((lo - step * 0.5) / step) * step;
    o.ymax = fmin(100.0, ceil((hi + step * 0.5) / step) * step);
    if (o.ymin < 0) o.ymin = 0;
    if (o.ymax <= o.ymin) o.ymax = o.ymin + step;
    ln_status st = ln_plot_lines(&s, 1, &o, im, err);
    free(x);
    return st;
}

static ln_status lr_chart(const ln_trainlog *log, ln_image *im, ln_error *err) {
    const int n = log->n_steps;
    double *x = malloc(sizeof *x * (size_t)(2 * n));
    if (!x) return ln_fail(err, LN_E_NOMEM, "out of memory for the learning-rate chart");
    double *y = x + n;
    for (int i = 0; i < n; i++) x[i] = (double)log->steps[i].global_step, y[i] = log->steps[i].lr;
    char xl[96];
    step_label(log, xl, sizeof xl);
    ln_plot_series s = {x, y, n, BLUE, 2, 0, NULL};
    ln_plot_opts o = {.title = "Learning rate per step", .xlabel = xl, .ylabel = "learning rate (per step)",
                      .y_from_zero = 1};
    ln_status st = ln_plot_lines(&s, 1, &o, im, err);
    free(x);
    return st;
}

ln_status ln_report_charts(const ln_trainlog *log, ln_image charts[LN_N_CHARTS], ln_error *err) {
    memset(charts, 0, sizeof *charts * LN_N_CHARTS);
    int have_acc = 0, lr_changes = 0;
    for (int e = 0; e < log->n_epochs; e++) have_acc |= isfinite(log->epochs[e].test_accuracy) != 0;
    for (int i = 1; i < log->n_steps; i++) lr_changes |= log->steps[i].lr != log->steps[0].lr && isfinite(log->steps[i].lr);
    ln_status s = LN_OK;
    if (log->n_steps > 0) s = loss_steps(log, &charts[LN_CHART_LOSS_STEPS], err);
    if (!s && log->n_epochs > 0) s = loss_epochs(log, &charts[LN_CHART_LOSS_EPOCHS], err);
    if (!s && have_acc) s = accuracy(log, &charts[LN_CHART_ACCURACY], err);
    if (!s && lr_changes) s = lr_chart(log, &charts[LN_CHART_LR], err);
    if (s)
        for (int k = 0; k < LN_N_CHARTS; k++) ln_image_free(&charts[k]);
    return s;
}
