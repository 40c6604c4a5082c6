/* report_internal.h - what report.c hands to the report's chart and HTML
 * writers (report_charts.c, report_html.c). Not a public API. */
#ifndef LENET_REPORT_INTERNAL_H
#define LENET_REPORT_INTERNAL_H

#include "lenet/bytebuf.h"
#include "lenet/error.h"
#include "lenet/net.h"
#include "lenet/trainlog.h"

typedef struct {
    const char *dir, *log_path, *ckpt_path, *data_dir;
    const ln_trainlog *log;
    int conv_bias;
    long confusion[LN_CLASSES * LN_CLASSES]; /* [true * 10 + predicted] */
    long correct, total, mistakes;
    double test_loss;
    int shown_mistakes; /* in misclassified.png */
    /* which pictures exist */
    int have_loss_steps, have_loss_epochs, have_accuracy, have_lr, have_confusion, have_misclassified;
} ln_report_ctx;

/* Write `name` in the report folder atomically. */
ln_status ln_report_file(const ln_report_ctx *r, const char *name, const void *data, size_t n, ln_error *err);
/* Path of `name` in the report folder (buf of size >= 4200). */
void ln_report_path(const ln_report_ctx *r, const char *name, char *buf, size_t size);

/* The curves from the log: loss_steps, loss_epochs, accuracy, lr. Sets the have_* flags. */
ln_status ln_report_charts(ln_report_ctx *r, ln_error *err);

/* index.html into b. */
void ln_report_html(const ln_report_ctx *r, ln_buf *b);

#endif
