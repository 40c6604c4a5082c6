/* plot_confusion.c - a confusion matrix as a picture with every count (see
 * include/lenet/plot.h). */
#include "lenet/plot.h"

#include <stdio.h>
#include <string.h>

#define INK LN_RGB(20, 20, 20)
#define GRIDC LN_RGB(200, 200, 200)
#define TS 2

/* Blend white -> c by t in [0, 1]. */
static ln_rgb shade(ln_rgb c, double t) {
    if (t < 0) t = 0;
    if (t > 1) t = 1;
    return LN_RGB(255 - (255 - c.r) * t, 255 - (255 - c.g) * t, 255 - (255 - c.b) * t);
}

static void centered(ln_image *im, int cx, int cy, const char *s, ln_rgb c) {
    ln_draw_text(im, cx - ln_text_width(s, TS) / 2, cy - ln_text_height(TS) / 2 + 1, s, TS, c);
}

ln_status ln_plot_confusion(const long *counts, int n, const char *title, ln_image *out, ln_error *err) {
    memset(out, 0, sizeof *out);
    if (!counts || n < 1 || n > 16) return ln_fail(err, LN_E_USAGE, "wrong class count for a confusion matrix: %d (1..16)", n);
    const int cell = 64, th = ln_text_height(TS);
    long rowsum[16] = {0}, maxoff = 0, total = 0, correct = 0;
    for (int t = 0; t < n; t++)
        for (int p = 0; p < n; p++) {
            long v = counts[t * n + p];
            rowsum[t] += v;
            total += v;
            if (t == p) correct += v;
            else if (v > maxoff) maxoff = v;
        }
    const int label_w = ln_text_width("true digit", TS);
    const int gx = 24 + label_w + 16 + 20, gy = 12 + th + 16 + th + 10 + th + 8;
    const int side_w = ln_text_width("  total  recall", TS) + 24;
    const int W = gx + n * cell + side_w, H = gy + n * cell + 16 + th + 12;
    ln_status s = ln_image_alloc(out, W, H, 3, 255, err);
    if (s) return s;
    if (title) ln_draw_text(out, (W - ln_text_width(title, TS)) / 2, 12, title, TS, INK);
    const char *px = "predicted digit";
    ln_draw_text(out, gx + (n * cell - ln_text_width(px, TS)) / 2, 12 + th + 16, px, TS, INK);
    ln_draw_text(out, 24, gy + n * cell / 2 - th / 2, "true digit", TS, INK);
    char buf[32];
    for (int p = 0; p < n; p++) { /* column headers */
        snprintf(buf, sizeof buf, "%d", p);
        centered(out, gx + p * cell + cell / 2, gy - th / 2 - 6, buf, INK);
    }
    ln_draw_text(out, gx + n * cell + 12, gy - th - 6, "total", TS, INK);
    ln_draw_text(out, gx + n * cell + 12 + ln_text_width("total  ", TS), gy - th - 6, "recall", TS, INK);
    for (int t = 0; t < n; t++) {
        snprintf(buf, sizeof buf, "%d", t);
        centered(out, gx - 18, gy + t * cell + cell / 2, buf, INK);
        for (int p = 0; p < n; p++) {
            long v = counts[t * n + p];
            double frac = t == p ? (rowsum[t] ? (double)v / rowsum[t] : 0) : (maxoff ? (double)v / maxoff : 0);
            ln_rgb bg = t == p ? shade(LN_RGB(33, 90, 170), 0.25 + 0.75 * frac)
                               : (v ? shade(LN_RGB(215, 48, 39), 0.12 + 0.78 * frac) : LN_RGB(255, 255, 255));
            int x = gx + p * cell, y = gy + t * cell;
            ln_draw_fill_rect(out, x, y, cell, cell, bg);
            ln_draw_rect(out, x, y, cell + 1, cell + 1, 1, GRIDC);
            snprintf(buf, sizeof buf, "%ld", v);
            int dark = (bg.r * 299 + bg.g * 587 + bg.b * 114) / 1000 < 140;
            centered(out, x + cell / 2, y + cell / 2, buf, dark ? LN_RGB(255, 255, 255) : v ? INK : LN_RGB(170, 170, 170));
        }
        snprintf(buf, sizeof buf, "%ld", rowsum[t]);
        ln_draw_text(out, gx + n * cell + 12, gy + t * cell + cell / 2 - th / 2 + 1, buf, TS, INK);
        snprintf(buf, sizeof buf, "%.1f%%", rowsum[t] ? 100.0 * counts[t * n + t] / rowsum[t] : 0.0);
        ln_draw_text(out, gx + n * cell + 12 + ln_text_width("total  ", TS), gy + t * cell + cell / 2 - th / 2 + 1, buf,
                     TS, INK);
    }
    ln_draw_rect(out, gx, gy, n * cell + 1, n * cell + 1, 2, LN_RGB(90, 90, 90));
    snprintf(buf, sizeof buf, "%ld of %ld correct (%.2f%%)", correct, total, total ? 100.0 * correct / total : 0.0);
    ln_draw_text(out, gx, gy + n * cell + 14, buf, TS, INK);
    return LN_OK;
}
