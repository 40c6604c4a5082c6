/* report_internal.h - the parts of the training report (not a public API):
 * report.c reads the log, judges the checkpoint and writes every file; it
 * calls report_charts.c to draw the curves and report_html.c to write
 * index.html, and neither calls back. */
#ifndef LENET_REPORT_INTERNAL_H
#define LENET_REPORT_INTERNAL_H

#include "lenet/bytebuf.h"
#include "lenet/error.h"
#include "lenet/image.h"
#include "lenet/net.h"
#include "lenet/trainlog.h"

/* The curves, in the order index.html shows them. */
enum { LN_CHART_LOSS_STEPS, LN_CHART_LOSS_EPOCHS, LN_CHART_ACCURACY, LN_CHART_LR, LN_N_CHARTS };

/* Draw the curves the log holds: charts[k] is a picture to free, or empty
 * (data NULL) when the log has nothing for it (no steps, no test accuracy,
 * a learning rate that never changes). On failure none is left. */
ln_status ln_report_charts(const ln_trainlog *log, ln_image charts[LN_N_CHARTS], ln_error *err);
/* The file a chart is saved as ("loss_steps.png", ...). */
const char *ln_report_chart_file(int chart);
/* The report's other files. */
#define LN_REPORT_CONFUSION_FILE "confusion.png"
#define LN_REPORT_MISCLASSIFIED_FILE "misclassified.png"
#define LN_REPORT_INDEX_FILE "index.html"

typedef struct {
    const char *dir, *log_path, *ckpt_path, *data_dir;
    const ln_trainlog *log;
    int conv_bias;
    long confusion[LN_CLASSES * LN_CLASSES]; /* [true * 10 + predicted] */
    long correct, total, mistakes;
    double test_loss;
    int shown_mistakes; /* in misclassified.png */
    /* which pictures exist */
    int have_chart[LN_N_CHARTS], have_confusion, have_misclassified;
} ln_report_ctx;

/* index.html into b. */
void ln_report_html(const ln_report_ctx *r, ln_buf *b);

#endif
