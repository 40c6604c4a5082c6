/* plot.h - charts drawn with draw.h into new RGB images (save them with
 * ln_image_write_png): a line chart with axes, "nice" ticks, labelled axes
 * and a legend, and a confusion matrix with the count in every cell.
 *
 * Line chart: the title is centred on top; the y-axis label is written
 * horizontally above the y axis (the font does not rotate), the x-axis label
 * centred under the x tick labels. Axis ranges come from the data (NaN and
 * infinite points are skipped) unless fixed in the options, then widened to
 * whole tick steps of 1, 2 or 5 x 10^k. A series is a polyline, optionally
 * with square markers at each point (a single point is always drawn as a
 * marker). Every series with a label gets a legend entry (top right).
 *
 * Confusion matrix: rows are the true class, columns the predicted one;
 * cells on the diagonal are shaded blue by the row's fraction, mistakes red
 * by their count relative to the largest mistake, every count printed (in
 * white on dark cells); each row ends with its total and its recall.
 */
#ifndef LENET_PLOT_H
#define LENET_PLOT_H

#include "lenet/draw.h"
#include "lenet/image.h"

typedef struct {
    const double *x, *y;
    int n;
    ln_rgb color;
    int thickness; /* pixels, >= 1 */
    int markers;   /* 1: a square at every point */
    const char *label; /* legend text, or NULL */
} ln_plot_series;

typedef struct {
    int width, height;     /* pixels (0: 900 x 460) */
    const char *title, *xlabel, *ylabel;
    int fix_x, fix_y;      /* 1: use the range below instead of the data's */
    double xmin, xmax, ymin, ymax;
    int y_from_zero;       /* include 0 in the y range */
    int x_integer;         /* ticks at whole numbers only (epochs) */
} ln_plot_opts;

ln_status ln_plot_lines(const ln_plot_series *series, int n_series, const ln_plot_opts *opts, ln_image *out,
                        ln_error *err);

/* counts[t * n + p]: images of true class t predicted as p; n <= 16. */
ln_status ln_plot_confusion(const long *counts, int n, const char *title, ln_image *out, ln_error *err);

/* "Nice" tick step for a range split into about `want` intervals. */
double ln_plot_nice_step(double range, int want);

#endif
