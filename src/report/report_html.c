/* report_html.c - the report's index.html: plain HTML and CSS, no scripts,
 * pictures by relative links, so it opens from disk (see report.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report_internal.h"

static void esc(ln_buf *b, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&': ln_buf_printf(b, "&amp;"); break;
        case '<': ln_buf_printf(b, "&lt;"); break;
        case '>': ln_buf_printf(b, "&gt;"); break;
        case '"': ln_buf_printf(b, "&quot;"); break;
        default: ln_buf_append(b, s, 1);
        }
    }
}

static void num(ln_buf *b, const char *fmt, double v) {
    if (isfinite(v)) ln_buf_printf(b, fmt, v);
    else ln_buf_printf(b, "&ndash;");
}

static void figure(ln_buf *b, const char *file, const char *alt, const char *caption) {
    ln_buf_printf(b, "<figure><img src=\"%s\" alt=\"", file);
    esc(b, alt);
    ln_buf_printf(b, "\"><figcaption>");
    esc(b, caption);
    ln_buf_printf(b, "</figcaption></figure>\n");
}

static const char CSS[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;margin:0;"
    "background:#f6f7f9;color:#1d1f23}\n"
    "main{max-width:1000px;margin:0 auto;padding:24px}\n"
    "h1{margin:0 0 4px;font-size:28px}h2{margin:32px 0 12px;font-size:21px;border-bottom:1px solid #d8dbe0;"
    "padding-bottom:4px}\n"
    ".sub{color:#5a5f69;margin:0 0 16px;font-size:14px;word-break:break-all}\n"
    ".cards{display:flex;flex-wrap:wrap;gap:12px}\n"
    ".card{background:#fff;border:1px solid #d8dbe0;border-radius:8px;padding:10px 16px;min-width:140px}\n"
    ".card b{display:block;font-size:22px}.card span{color:#5a5f69;font-size:13px}\n"
    "figure{background:#fff;border:1px solid #d8dbe0;border-radius:8px;margin:0 0 16px;padding:12px}\n"
    "figure img{display:block;max-width:100%;height:auto;margin:0 auto;image-rendering:pixelated}\n"
    "figcaption{color:#5a5f69;font-size:14px;margin-top:8px}\n"
    "table{border-collapse:collapse;background:#fff;font-size:14px}\n"
    "th,td{border:1px solid #d8dbe0;padding:4px 10px;text-align:right}th{background:#eef0f3}\n"
    "td.k,th.k{text-align:left}\n";

void ln_report_html(const ln_report_ctx *r, ln_buf *b) {
    const ln_trainlog *log = r->log;
    ln_buf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                     "<title>LeNet-5 training report</title>\n<style>\n%s</style>\n</head>\n<body><main>\n", CSS);
    ln_buf_printf(b, "<h1>LeNet-5 training report</h1>\n<p class=\"sub\">metrics log <code>");
    esc(b, r->log_path);
    ln_buf_printf(b, "</code> &middot; checkpoint <code>");
    esc(b, r->ckpt_path);
    ln_buf_printf(b, "</code> &middot; test data <code>");
    esc(b, r->data_dir);
    ln_buf_printf(b, "</code></p>\n");

    /* Summary cards. */
    const double acc = r->total ? 100.0 * (double)r->correct / (double)r->total : NAN;
    double secs = 0;
    for (int e = 0; e < log->n_epochs; e++)
        if (isfinite(log->epochs[e].seconds)) secs += log->epochs[e].seconds;
    ln_buf_printf(b, "<div class=\"cards\">\n");
    ln_buf_printf(b, "<div class=\"card\"><b>%.2f%%</b><span>test accuracy (%ld / %ld)</span></div>\n", acc,
                  r->correct, r->total);
    ln_buf_printf(b, "<div class=\"card\"><b>%.4f</b><span>test loss (nats)</span></div>\n", r->test_loss);
    ln_buf_printf(b, "<div class=\"card\"><b>%ld</b><span>misclassified test images</span></div>\n", r->mistakes);
    ln_buf_printf(b, "<div class=\"card\"><b>%d</b><span>epochs logged</span></div>\n", log->n_epochs);
    ln_buf_printf(b, "<div class=\"card\"><b>%ld</b><span>steps logged</span></div>\n",
                  log->n_steps ? log->steps[log->n_steps - 1].global_step : 0L);
    if (secs > 0) ln_buf_printf(b, "<div class=\"card\"><b>%.1f s</b><span>training time</span></div>\n", secs);
    ln_buf_printf(b, "<div class=\"card\"><b>%s</b><span>conv bias (%s parameters)</span></div>\n",
                  r->conv_bias ? "on" : "off", r->conv_bias ? "61,706" : "61,684");
    ln_buf_printf(b, "</div>\n");
    if (log->n_runs > 1)
        ln_buf_printf(b, "<p class=\"sub\">The log holds %d runs; this report shows the last one.</p>\n", log->n_runs);

    ln_buf_printf(b, "<h2>Training curves</h2>\n");
    if (r->have_chart[LN_CHART_LOSS_STEPS])
        figure(b, ln_report_chart_file(LN_CHART_LOSS_STEPS), "Training loss per step",
               "Softmax cross-entropy of each training batch (light), its moving average (dark) and each "
               "epoch's mean over its steps (level segments).");
    if (r->have_chart[LN_CHART_LOSS_EPOCHS])
        figure(b, ln_report_chart_file(LN_CHART_LOSS_EPOCHS), "Loss per epoch",
               "Per epoch: the mean training loss over its steps and the loss on the test set after it.");
    if (r->have_chart[LN_CHART_ACCURACY])
        figure(b, ln_report_chart_file(LN_CHART_ACCURACY), "Test accuracy per epoch",
               "Share of the test images whose predicted digit (the largest logit) is the true one, after each epoch.");
    if (r->have_chart[LN_CHART_LR])
        figure(b, ln_report_chart_file(LN_CHART_LR), "Learning rate per step", "The learning rate the optimizer used at each step.");

    if (log->n_epochs) {
        ln_buf_printf(b, "<h2>Per epoch</h2>\n<table>\n<tr><th>epoch</th><th>steps</th><th>mean training loss</th>"
                         "<th>test loss</th><th>test accuracy</th><th>seconds</th><th>images/s</th>"
                         "<th>learning rate</th></tr>\n");
        for (int e = 0; e < log->n_epochs; e++) {
            const ln_log_epoch *ep = &log->epochs[e];
            ln_buf_printf(b, "<tr><td>%d</td><td>%d</td><td>", ep->epoch, ep->steps);
            num(b, "%.4f", ep->loss);
            ln_buf_printf(b, "</td><td>");
            num(b, "%.4f", ep->test_loss);
            ln_buf_printf(b, "</td><td>");
            num(b, "%.2f%%", 100.0 * ep->test_accuracy);
            ln_buf_printf(b, "</td><td>");
            num(b, "%.2f", ep->seconds);
            ln_buf_printf(b, "</td><td>");
            num(b, "%.0f", ep->images_per_second);
            ln_buf_printf(b, "</td><td>");
            num(b, "%g", ep->lr);
            ln_buf_printf(b, "</td></tr>\n");
        }
        ln_buf_printf(b, "</table>\n");
    }

    ln_buf_printf(b, "<h2>Confusion matrix</h2>\n");
    if (r->have_confusion) {
        char cap[256];
        snprintf(cap, sizeof cap, "The checkpoint on all %ld test images: row = true digit, column = predicted "
                 "digit, each cell the number of images; blue = correct, red = mistakes (darker = more).", r->total);
        figure(b, LN_REPORT_CONFUSION_FILE, "Confusion matrix with counts", cap);
    }
    ln_buf_printf(b, "<h2>Misclassified test images</h2>\n");
    if (r->have_misclassified) {
        char cap[256];
        snprintf(cap, sizeof cap, "%s%d of the %ld misclassified test images, in test-set order; "
                 "each captioned \"true as predicted\".", r->shown_mistakes < r->mistakes ? "The first " : "All ",
                 r->shown_mistakes, r->mistakes);
        figure(b, LN_REPORT_MISCLASSIFIED_FILE, "Misclassified test images with true and predicted digits", cap);
    } else {
        ln_buf_printf(b, "<p>None: every test image is classified correctly.</p>\n");
    }

    if (log->n_config) {
        ln_buf_printf(b, "<h2>Run settings</h2>\n<table>\n");
        for (int i = 0; i < log->n_config; i++) {
            ln_buf_printf(b, "<tr><td class=\"k\">");
            esc(b, log->config_key[i]);
            ln_buf_printf(b, "</td><td class=\"k\">");
            esc(b, log->config_val[i]);
            ln_buf_printf(b, "</td></tr>\n");
        }
        ln_buf_printf(b, "</table>\n");
    }
    ln_buf_printf(b, "<p class=\"sub\" style=\"margin-top:24px\">Written by <code>lenet report</code>.</p>\n"
                     "</main></body>\n</html>\n");
}
