/* prepare.c - MNIST-style preparation of a digit picture (see
 * include/lenet/prepare.h). */
#include "lenet/prepare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BOX_THRESHOLD 32

static int cmp_u8(const void *a, const void *b) { return (int)*(const uint8_t *)a - (int)*(const uint8_t *)b; }

static int border_median(const uint8_t *g, int w, int h) {
    const size_t n = (h == 1 || w == 1) ? (size_t)w * (size_t)h : 2 * (size_t)w + 2 * (size_t)(h - 2);
    uint8_t *b = malloc(n ? n : 1);
    if (!b) return -1;
    size_t k = 0;
    if (h == 1 || w == 1) {
        memcpy(b, g, n);
        k = n;
    } else {
        for (int x = 0; x < w; x++) b[k++] = g[x], b[k++] = g[(size_t)(h - 1) * (size_t)w + (size_t)x];
        for (int y = 1; y < h - 1; y++) b[k++] = g[(size_t)y * (size_t)w], b[k++] = g[(size_t)y * (size_t)w + (size_t)w - 1];
    }
    qsort(b, k, 1, cmp_u8);
    int med = b[k / 2];
    free(b);
    return med;
}

/* Resample src (sw x sh floats) to dst (dw x dh): area averaging when an
 * axis shrinks, bilinear (half-pixel centres) when it grows. Separable. */
static void resample_axis(const float *src, int sn, int stride_s, float *dst, int dn, int stride_d, int count,
                          int count_stride_s, int count_stride_d) {
    const double scale = (double)sn / dn;
    for (int c = 0; c < count; c++) {
        const float *s = src + (size_t)c * (size_t)count_stride_s;
        float *d = dst + (size_t)c * (size_t)count_stride_d;
        for (int i = 0; i < dn; i++) {
            double acc = 0.0;
            if (scale >= 1.0) { /* area: source interval [i*scale, (i+1)*scale) */
                const double a = i * scale, b = (i + 1) * scale;
                for (int j = (int)floor(a); j < sn && j < (int)ceil(b); j++) {
                    const double lo = j > a ? j : a, hi = j + 1 < b ? j + 1 : b;
                    if (hi > lo) acc += (hi - lo) * s[(size_t)j * (size_t)stride_s];
                }
                acc /= scale;
            } else { /* bilinear */
                double x = (i + 0.5) * scale - 0.5;
                if (x < 0) x = 0;
                int j = (int)floor(x);
                if (j > sn - 1) j = sn - 1;
                const int j1 = j + 1 < sn ? j + 1 : sn - 1;
                const double f = x - j;
                acc = (1 - f) * s[(size_t)j * (size_t)stride_s] + f * s[(size_t)j1 * (size_t)stride_s];
            }
            d[(size_t)i * (size_t)stride_d] = (float)acc;
        }
    }
}

ln_status ln_prepare_digit(const uint8_t *gray, int w, int h, const char *name, uint8_t out[28 * 28],
                           ln_prepare_info *info, ln_error *err) {
    ln_prepare_info inf;
    memset(&inf, 0, sizeof inf);
    memset(out, 0, LN_PREP_SIDE * LN_PREP_SIDE);
    if (w < 1 || h < 1) return ln_fail(err, LN_E_INPUT, "empty image: %s", name);
    const size_t n = (size_t)w * (size_t)h;
    /* 1. polarity */
    int bg = border_median(gray, w, h);
    if (bg < 0) return ln_fail(err, LN_E_NOMEM, "out of memory: %s", name);
    inf.inverted = bg > 127;
    if (inf.inverted) bg = 255 - bg;
    inf.background = bg;
    int hi = 0;
    for (size_t i = 0; i < n; i++) {
        const int v = inf.inverted ? 255 - gray[i] : gray[i];
        if (v > hi) hi = v;
    }
    if (hi - bg < 16)
        return ln_fail(err, LN_E_INPUT, "no digit found (the picture has almost no contrast): %s; use a dark digit "
                       "on a light background or the reverse", name);
    /* 2. levels, 3. bounding box */
    uint8_t *lv = malloc(n);
    if (!lv) return ln_fail(err, LN_E_NOMEM, "out of memory: %s", name);
    int x0 = w, y0 = h, x1 = -1, y1 = -1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const size_t i = (size_t)y * (size_t)w + (size_t)x;
            const int v = inf.inverted ? 255 - gray[i] : gray[i];
            int u = (int)lround((double)(v - bg) * 255.0 / (double)(hi - bg));
            u = u < 0 ? 0 : u > 255 ? 255 : u;
            lv[i] = (uint8_t)u;
            if (u >= BOX_THRESHOLD) {
                if (x < x0) x0 = x;
                if (x > x1) x1 = x;
                if (y < y0) y0 = y;
                if (y > y1) y1 = y;
            }
        }
    const int bw = x1 - x0 + 1, bh = y1 - y0 + 1;
    inf.box_x = x0, inf.box_y = y0, inf.box_w = bw, inf.box_h = bh;
    /* 4. scale the longer side to 20 */
    const int longer = bw > bh ? bw : bh;
    int sw = bw, sh = bh;
    if (longer != LN_PREP_BOX) {
        sw = (int)lround((double)bw * LN_PREP_BOX / longer);
        sh = (int)lround((double)bh * LN_PREP_BOX / longer);
        if (sw < 1) sw = 1;
        if (sh < 1) sh = 1;
    }
    inf.scaled_w = sw, inf.scaled_h = sh;
    float *crop = malloc(sizeof(float) * (size_t)bw * (size_t)bh);
    float *tmp = malloc(sizeof(float) * (size_t)sw * (size_t)bh);
    float *sc = malloc(sizeof(float) * (size_t)sw * (size_t)sh);
    if (!crop || !tmp || !sc) {
        free(lv), free(crop), free(tmp), free(sc);
        return ln_fail(err, LN_E_NOMEM, "out of memory: %s", name);
    }
    for (int y = 0; y < bh; y++)
        for (int x = 0; x < bw; x++) crop[(size_t)y * (size_t)bw + (size_t)x] = lv[(size_t)(y0 + y) * (size_t)w + (size_t)(x0 + x)];
    free(lv);
    if (sw == bw && sh == bh) {
        memcpy(sc, crop, sizeof(float) * (size_t)bw * (size_t)bh);
    } else {
        resample_axis(crop, bw, 1, tmp, sw, 1, bh, bw, sw);  /* rows: x axis */
        resample_axis(tmp, bh, sw, sc, sh, sw, sw, 1, 1);    /* columns: y axis */
    }
    /* 5. centre of mass -> (14, 14) */
    double m = 0, mx = 0, my = 0;
    uint8_t *px = malloc((size_t)sw * (size_t)sh);
    if (!px) {
        free(crop), free(tmp), free(sc);
        return ln_fail(err, LN_E_NOMEM, "out of memory: %s", name);
    }
    for (int y = 0; y < sh; y++)
        for (int x = 0; x < sw; x++) {
            const float f = sc[(size_t)y * (size_t)sw + (size_t)x];
            const int v = (int)lroundf(f);
            const uint8_t u = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            px[(size_t)y * (size_t)sw + (size_t)x] = u;
            m += u, mx += u * (x + 0.5), my += u * (y + 0.5);
        }
    /* mx/m is in pixel-centre units (index + 0.5): index 14 = 14.5. */
    const int ox = m > 0 ? (int)lround(LN_PREP_SIDE / 2 + 0.5 - mx / m) : (LN_PREP_SIDE - sw) / 2;
    const int oy = m > 0 ? (int)lround(LN_PREP_SIDE / 2 + 0.5 - my / m) : (LN_PREP_SIDE - sh) / 2;
    inf.offset_x = ox, inf.offset_y = oy;
    for (int y = 0; y < sh; y++)
        for (int x = 0; x < sw; x++) {
            const int X = x + ox, Y = y + oy;
            if (X >= 0 && X < LN_PREP_SIDE && Y >= 0 && Y < LN_PREP_SIDE) out[Y * LN_PREP_SIDE + X] = px[(size_t)y * (size_t)sw + (size_t)x];
        }
    free(crop), free(tmp), free(sc), free(px);
    if (info) *info = inf;
    return LN_OK;
}
