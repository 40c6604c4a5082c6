/* plot_lines.c - line charts with axes, ticks, labels and a legend (see
 * include/lenet/plot.h). */
#include "lenet/plot.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define INK LN_RGB(20, 20, 20)
#define GRID LN_RGB(225, 225, 225)
#define AXIS LN_RGB(90, 90, 90)
#define TS 2 /* text scale: the 5x8 font drawn 10x16 */

double ln_plot_nice_step(double range, int want) {
    if (!(range > 0) || !isfinite(range)) return 1;
    double raw = range / (want > 0 ? want : 5);
    double p = pow(10, floor(log10(raw))), m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/* Tick label: as few decimals as the step needs, no "-0". */
static void tick_label(char *buf, size_t size, double v, double step) {
    int dec = 0;
    while (dec < 6 && fabs(step * pow(10, dec) - round(step * pow(10, dec))) > 1e-6 * pow(10, dec)) dec++;
    if (fabs(v) < step * 1e-9) v = 0;
    if (fabs(v) >= 1e6 || (fabs(v) < 1e-4 && v != 0)) snprintf(buf, size, "%.2g", v);
    else snprintf(buf, size, "%.*f", dec, v);
}

static void range_of(const ln_plot_series *s, int ns, int axis, double *lo, double *hi) {
    *lo = INFINITY, *hi = -INFINITY;
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < s[k].n; i++) {
            double x = s[k].x[i], y = s[k].y[i];
            if (!isfinite(x) || !isfinite(y)) continue;
            double v = axis ? y : x;
            if (v < *lo) *lo = v;
            if (v > *hi) *hi = v;
        }
    if (!isfinite(*lo)) *lo = 0, *hi = 1;
    if (*hi - *lo < 1e-12 * (fabs(*hi) + 1)) { /* a flat or single point: give it room */
        double pad = fabs(*hi) > 0 ? fabs(*hi) * 0.05 : 1;
        *lo -= pad, *hi += pad;
    }
}

ln_status ln_plot_lines(const ln_plot_series *series, int n_series, const ln_plot_opts *o, ln_image *out,
                        ln_error *err) {
    memset(out, 0, sizeof *out);
    const int W = o->width > 0 ? o->width : 900, H = o->height > 0 ? o->height : 460;
    ln_status s = ln_image_alloc(out, W, H, 3, 255, err);
    if (s) return s;
    double x0, x1, y0, y1;
    if (o->fix_x) x0 = o->xmin, x1 = o->xmax;
    else range_of(series, n_series, 0, &x0, &x1);
    if (o->fix_y) y0 = o->ymin, y1 = o->ymax;
    else range_of(series, n_series, 1, &y0, &y1);
    if (o->y_from_zero && y0 > 0) y0 = 0;
    double xs = ln_plot_nice_step(x1 - x0, 8), ys = ln_plot_nice_step(y1 - y0, 6);
    if (o->x_integer && xs < 1) xs = 1;
    if (!o->fix_x) x0 = floor(x0 / xs) * xs, x1 = ceil(x1 / xs) * xs;
    if (!o->fix_y) y0 = floor(y0 / ys + 1e-9) * ys, y1 = ceil(y1 / ys - 1e-9) * ys;
    if (x1 <= x0) x1 = x0 + xs;
    if (y1 <= y0) y1 = y0 + ys;

    /* Layout: title, y label above the plot, tick labels left and below, x label at the bottom. */
    const int th = ln_text_height(TS);
    char buf[64];
    int ylw = 0;
    for (double v = y0; v <= y1 + ys * 1e-6; v += ys) {
        tick_label(buf, sizeof buf, v, ys);
        int w = ln_text_width(buf, TS);
        if (w > ylw) ylw = w;
    }
    const int left = 16 + ylw + 10, right = W - 24, top = 12 + th + 14 + th + 10, bottom = H - (10 + th + 12 + th + 12);
    if (o->title) ln_draw_text(out, (W - ln_text_width(o->title, TS)) / 2, 12, o->title, TS, INK);
    if (o->ylabel) ln_draw_text(out, 16, 12 + th + 14, o->ylabel, TS, INK);
    if (o->xlabel) ln_draw_text(out, left + (right - left - ln_text_width(o->xlabel, TS)) / 2, H - 12 - th, o->xlabel, TS, INK);

#define PX(v) (left + (int)lround(((v) - x0) / (x1 - x0) * (right - left)))
#define PY(v) (bottom - (int)lround(((v) - y0) / (y1 - y0) * (bottom - top)))
    for (double v = y0; v <= y1 + ys * 1e-6; v += ys) { /* horizontal grid + y ticks */
        int y = PY(v);
        ln_draw_line(out, left, y, right, y, 1, GRID);
        ln_draw_line(out, left - 6, y, left, y, 2, AXIS);
        tick_label(buf, sizeof buf, v, ys);
        ln_draw_text(out, left - 10 - ln_text_width(buf, TS), y - th / 2 + 1, buf, TS, INK);
    }
    int last_label_end = -1000000;
    for (double v = x0; v <= x1 + xs * 1e-6; v += xs) { /* vertical grid + x ticks */
        int x = PX(v);
        ln_draw_line(out, x, top, x, bottom, 1, GRID);
        ln_draw_line(out, x, bottom, x, bottom + 6, 2, AXIS);
        tick_label(buf, sizeof buf, v, xs);
        int w = ln_text_width(buf, TS), lx = x - w / 2;
        if (lx > last_label_end + 8) { /* skip labels that would overlap */
            ln_draw_text(out, lx, bottom + 10, buf, TS, INK);
            last_label_end = lx + w;
        }
    }
    ln_draw_line(out, left, top, left, bottom, 2, AXIS);
    ln_draw_line(out, left, bottom, right, bottom, 2, AXIS);

    for (int k = 0; k < n_series; k++) {
        const ln_plot_series *sr = &series[k];
        int px = 0, py = 0, have = 0, count = 0;
        for (int i = 0; i < sr->n; i++) {
            double x = sr->x[i], y = sr->y[i];
            if (!isfinite(x) || !isfinite(y)) { have = 0; continue; }
            if (y < y0) y = y0; /* clip to the plot box */
            if (y > y1) y = y1;
            int cx = PX(x), cy = PY(y);
            if (have) ln_draw_line(out, px, py, cx, cy, sr->thickness > 0 ? sr->thickness : 1, sr->color);
            px = cx, py = cy, have = 1, count++;
        }
        if (sr->markers || count == 1)
            for (int i = 0; i < sr->n; i++) {
                double x = sr->x[i], y = sr->y[i];
                if (!isfinite(x) || !isfinite(y) || y < y0 || y > y1) continue;
                ln_draw_fill_rect(out, PX(x) - 4, PY(y) - 4, 9, 9, sr->color);
                ln_draw_rect(out, PX(x) - 4, PY(y) - 4, 9, 9, 1, INK);
            }
    }
#undef PX
#undef PY

    /* Legend, top right inside the plot. */
    int lw = 0, nl = 0;
    for (int k = 0; k < n_series; k++)
        if (series[k].label) {
            int w = ln_text_width(series[k].label, TS);
            if (w > lw) lw = w;
            nl++;
        }
    if (nl) {
        const int row = th + 8, bw = 12 + 30 + 10 + lw + 12, bh = 10 + nl * row;
        int bx = right - bw - 10, by = top + 10, r = 0;
        ln_draw_fill_rect(out, bx, by, bw, bh, LN_RGB(255, 255, 255));
        ln_draw_rect(out, bx, by, bw, bh, 1, AXIS);
        for (int k = 0; k < n_series; k++) {
            if (!series[k].label) continue;
            int y = by + 6 + r * row + th / 2;
            ln_draw_line(out, bx + 12, y, bx + 42, y, series[k].thickness > 2 ? series[k].thickness : 3, series[k].color);
            if (series[k].markers) ln_draw_fill_rect(out, bx + 23, y - 4, 9, 9, series[k].color);
            ln_draw_text(out, bx + 52, y - th / 2 + 1, series[k].label, TS, INK);
            r++;
        }
    }
    return LN_OK;
}
