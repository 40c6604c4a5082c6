/* samples.c - a titled, enlarged sample and a captioned grid of samples
 * (see include/lenet/samples.h). */
#include "lenet/samples.h"

#include <string.h>

#define PAD 8                              /* margin around everything, pixels */
static const ln_rgb INK = {0, 0, 0};       /* text */
static const ln_rgb FRAME = {160, 160, 160}; /* 1-pixel line around each image */

void ln_sample_fit(int w, int h, int box, int *ow, int *oh) {
    int m = w > h ? w : h;
    if (m <= 0 || box <= 0) {
        *ow = *oh = 0;
        return;
    }
    if (m <= box) { /* enlarge by a whole factor */
        int k = box / m;
        *ow = w * k, *oh = h * k;
    } else { /* shrink to fit */
        *ow = (int)((long long)w * box / m), *oh = (int)((long long)h * box / m);
        if (*ow < 1) *ow = 1;
        if (*oh < 1) *oh = 1;
    }
}

/* Text scale for a caption over an image `w` pixels wide: 2..4. */
static int title_scale(int w) {
    int s = w / 70;
    return s < 2 ? 2 : s > 4 ? 4 : s;
}

ln_status ln_sample_picture(const ln_image *src, const char *title, int box, ln_image *out, ln_error *err) {
    memset(out, 0, sizeof *out);
    if (!src || !src->data || box < 1 || box > 4096)
        return ln_fail(err, LN_E_USAGE, "no image, or box %d outside 1..4096, for a sample picture", box);
    int w, h;
    ln_sample_fit(src->width, src->height, box, &w, &h);
    int ts = title_scale(w), tw = ln_text_width(title, ts), th = title && *title ? ln_text_height(ts) : 0;
    int inner = w > tw ? w : tw;
    int cw = inner + 2 * PAD + 2, ch = PAD + th + (th ? PAD : 0) + h + 2 + PAD;
    ln_status s = ln_image_alloc(out, cw, ch, 3, 255, err);
    if (s) return s;
    if (th) ln_draw_text(out, (cw - tw) / 2, PAD, title, ts, INK);
    int ix = (cw - w) / 2, iy = PAD + th + (th ? PAD : 0) + 1;
    ln_draw_rect(out, ix - 1, iy - 1, w + 2, h + 2, 1, FRAME);
    ln_draw_image(out, ix, iy, w, h, src, NULL);
    return LN_OK;
}

ln_status ln_sample_grid(const ln_grid_cell *cells, int n, int rows, int cols, int per_row, int box,
                         ln_image *out, ln_error *err) {
    memset(out, 0, sizeof *out);
    if (!cells || n < 1 || rows < 1 || cols < 1 || per_row < 1 || box < 1 || box > 4096)
        return ln_fail(err, LN_E_USAGE, "nothing to draw in a sample grid (n %d, %d x %d, per_row %d, box %d)", n, rows,
                       cols, per_row, box);
    int w, h;
    ln_sample_fit(cols, rows, box, &w, &h);
    const int ts = 2;
    int capw = 0, caph = 0;
    for (int i = 0; i < n; i++) {
        int tw = ln_text_width(cells[i].caption, ts);
        if (tw > capw) capw = tw;
        if (tw) caph = ln_text_height(ts);
    }
    int cellw = (w > capw ? w : capw) + 2, cellh = caph + (caph ? 3 : 0) + h + 2;
    int ncol = per_row < n ? per_row : n, nrow = (n + per_row - 1) / per_row;
    long long cw = PAD + (long long)ncol * (cellw + PAD), ch = PAD + (long long)nrow * (cellh + PAD);
    if (cw > (int)LN_IMAGE_MAX_SIDE || ch > (int)LN_IMAGE_MAX_SIDE || cw * ch > (long long)LN_IMAGE_MAX_PIXELS)
        return ln_fail(err, LN_E_USAGE, "sample grid of %d images would be %lld x %lld pixels; show fewer or smaller",
                       n, cw, ch);
    ln_status s = ln_image_alloc(out, (int)cw, (int)ch, 3, 255, err);
    if (s) return s;
    for (int i = 0; i < n; i++) {
        int x = PAD + (i % per_row) * (cellw + PAD), y = PAD + (i / per_row) * (cellh + PAD);
        if (cells[i].caption)
            ln_draw_text(out, x + (cellw - ln_text_width(cells[i].caption, ts)) / 2, y, cells[i].caption, ts,
                         cells[i].color);
        int ix = x + (cellw - w) / 2, iy = y + caph + (caph ? 3 : 0) + 1;
        ln_draw_rect(out, ix - 1, iy - 1, w + 2, h + 2, 1, FRAME);
        ln_image v = {cols, rows, 1, (uint8_t *)cells[i].pixels};
        ln_draw_image(out, ix, iy, w, h, &v, NULL);
    }
    return LN_OK;
}
