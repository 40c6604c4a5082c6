/* prepare.c - MNIST-style preparation of a digit picture (see
 * include/lenet/prepare.h). */
#include "lenet/prepare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BOX_THRESHOLD 32

/* The median of the border pixels of a w x h picture in rows `stride`
 * apart (all of its pixels if `all`), by a histogram: the value at index
 * k / 2 of its k values in order. */
static int median_u8(const uint8_t *g, size_t stride, int w, int h, int all) {
    size_t hist[256] = {0}, k = 0;
    for (int y = 0; y < h; y++) {
        const uint8_t *row = g + (size_t)y * stride;
        if (all || y == 0 || y == h - 1) {
            for (int x = 0; x < w; x++) hist[row[x]]++;
            k += (size_t)w;
        } else {
            hist[row[0]]++, k++;
            if (w > 1) hist[row[w - 1]]++, k++;
        }
    }
    size_t c = 0;
    int v = 0;
    while ((c += hist[v]) <= k / 2) v++;
    return v;
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

/* Step 2a (prepare.h): in lv (w x h levels, ink >= BOX_THRESHOLD), a
 * rectangle whose four sides are unbroken ink, at least a quarter of the
 * picture each way and 8 pixels, at least 60% ink inside, page around it:
 * a picture placed on a page (the titled sample picture samples.h draws, a
 * screenshot of an MNIST digit), not a stroke. Its top side is the first longest
 * horizontal run of ink, its sides the columns under that run's ends
 * while both are ink, its bottom the lowest full row above their end.
 * Returns 1 and the rectangle, or 0. */
static int find_frame(const uint8_t *lv, int w, int h, int *fx, int *fy, int *fw, int *fh) {
#define INK(x, y) (lv[(size_t)(y) * (size_t)w + (size_t)(x)] >= BOX_THRESHOLD)
    const int min_w = w / 4 > 8 ? w / 4 : 8, min_h = h / 4 > 8 ? h / 4 : 8;
    int best = 0, by = 0, bx = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0, run = 0; x < w; x++) {
            run = INK(x, y) ? run + 1 : 0;
            if (run > best) best = run, by = y, bx = x - run + 1;
        }
    if (best < min_w) return 0;
    const int x0 = bx, x1 = bx + best - 1;
    int y1 = by;
    while (y1 + 1 < h && INK(x0, y1 + 1) && INK(x1, y1 + 1)) y1++;
    for (;; y1--) { /* the lowest row of unbroken ink between the sides */
        if (y1 - by + 1 < min_h) return 0;
        int x = x0;
        while (x <= x1 && INK(x, y1)) x++;
        if (x > x1) break;
    }
    size_t ink = 0;
    for (int y = by; y <= y1; y++)
        for (int x = x0; x <= x1; x++) ink += INK(x, y);
    if (ink * 10 < (size_t)best * (size_t)(y1 - by + 1) * 6) return 0;
    /* Page all round it: at most 1 in 10 ink pixels on the ring just
     * outside (within the picture). A block inside a bold stroke has the
     * stroke going on past its sides. */
    size_t ring = 0, ring_ink = 0;
    for (int x = x0 - 1; x <= x1 + 1; x++)
        for (int k = 0; k < 2; k++) {
            const int y = k ? y1 + 1 : by - 1;
            if (x >= 0 && x < w && y >= 0 && y < h) ring++, ring_ink += INK(x, y);
        }
    for (int y = by; y <= y1; y++)
        for (int k = 0; k < 2; k++) {
            const int x = k ? x1 + 1 : x0 - 1;
            if (x >= 0 && x < w) ring++, ring_ink += INK(x, y);
        }
    if (ring_ink * 10 > ring) return 0;
    *fx = x0, *fy = by, *fw = best, *fh = y1 - by + 1;
    return 1;
#undef INK
}

/* framed: -1 for a whole picture; for the inside of a frame, whether to
 * invert it. frame (may be NULL): where step 2a took the digit from, w = 0
 * if it did not. */
static ln_status prepare(const uint8_t *gray, int w, int h, const char *name, uint8_t out[28 * 28],
                         ln_prepare_info *info, int frame[4], ln_error *err, int framed);

/* The digit inside a frame (find_frame), prepared as a picture of its own.
 * A line drawn around the picture (unlike its background) is peeled off
 * first, ring by ring, up to an eighth of the frame's side. The inside must
 * hold a digit as a picture does: contrast at least half the page's
 * (`contrast`), and its box clear, by a 28th of the side (an MNIST pixel),
 * of three of the four sides at least (an MNIST digit may touch one edge
 * of its field); otherwise LN_E_INPUT, and the picture is prepared as a
 * whole (a solid block, or a bold stroke taken for a frame: what its
 * texture gives spans the whole inside). */
static ln_status prepare_framed(const uint8_t *gray, int w, int fx, int fy, int fw, int fh, int inverted,
                                int contrast, const char *name, uint8_t out[28 * 28], ln_prepare_info *inf,
                                int frame[4], ln_error *err) {
    const uint8_t *at = gray + (size_t)fy * (size_t)w + (size_t)fx;
    const int bg = median_u8(at, (size_t)w, fw, fh, 1);
    for (int k = 0; k < (fw < fh ? fw : fh) / 8; k++) {
        const int ring = median_u8(at, (size_t)w, fw, fh, 0);
        if (abs(ring - bg) <= 32) break;
        at += (size_t)w + 1, fx++, fy++, fw -= 2, fh -= 2;
    }
    int lo = 255, hi = 0; /* the inside's range: its digit is the other way from the page's */
    for (int y = 0; y < fh; y++)
        for (int x = 0; x < fw; x++) {
            const int v = at[(size_t)y * (size_t)w + (size_t)x];
            lo = v < lo ? v : lo, hi = v > hi ? v : hi;
        }
    if ((inverted ? hi - bg : bg - lo) * 2 < contrast) return LN_E_INPUT;
    uint8_t *sub = malloc((size_t)fw * (size_t)fh);
    if (!sub) return ln_fail(err, LN_E_NOMEM, "out of memory: %s", name);
    for (int y = 0; y < fh; y++) memcpy(sub + (size_t)y * (size_t)fw, at + (size_t)y * (size_t)w, (size_t)fw);
    ln_error inner;
    const ln_status s = prepare(sub, fw, fh, name, out, inf, NULL, &inner, !inverted);
    free(sub);
    if (s == LN_E_NOMEM) return ln_fail(err, s, "%s", inner.msg);
    const int m = (fw < fh ? fw : fh) / 28 > 1 ? (fw < fh ? fw : fh) / 28 : 1;
    const int touching = (inf->box_x < m) + (inf->box_y < m) + (inf->box_x + inf->box_w > fw - m) +
                         (inf->box_y + inf->box_h > fh - m);
    if (s || touching > 1) return LN_E_INPUT;
    inf->box_x += fx, inf->box_y += fy;
    if (frame) frame[0] = fx, frame[1] = fy, frame[2] = fw, frame[3] = fh;
    return LN_OK;
}

ln_status ln_prepare_digit(const uint8_t *gray, int w, int h, const char *name, uint8_t out[28 * 28],
                           ln_prepare_info *info, ln_error *err) {
    return prepare(gray, w, h, name, out, info, NULL, err, -1);
}

ln_status ln_prepare_digit_framed(const uint8_t *gray, int w, int h, const char *name, uint8_t out[28 * 28],
                                  ln_prepare_info *info, int frame[4], ln_error *err) {
    return prepare(gray, w, h, name, out, info, frame, err, -1);
}

static ln_status prepare(const uint8_t *gray, int w, int h, const char *name, uint8_t out[28 * 28],
                         ln_prepare_info *info, int frame[4], ln_error *err, int framed) {
    if (frame) memset(frame, 0, 4 * sizeof *frame);
    ln_prepare_info inf;
    memset(&inf, 0, sizeof inf);
    memset(out, 0, LN_PREP_SIDE * LN_PREP_SIDE);
    if (w < 1 || h < 1) return ln_fail(err, LN_E_INPUT, "empty image: %s", name);
    const size_t n = (size_t)w * (size_t)h;
    /* 1. polarity (in a frame, step 2a: the opposite of the page's, and
     * the background is the median of all its pixels) */
    int bg = median_u8(gray, (size_t)w, w, h, framed >= 0);
    inf.inverted = framed >= 0 ? framed : bg > 127;
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
    int fx, fy, fw, fh;
    if (framed < 0 && find_frame(lv, w, h, &fx, &fy, &fw, &fh)) {
        ln_prepare_info fin;
        const ln_status fs =
            prepare_framed(gray, w, fx, fy, fw, fh, inf.inverted, hi - bg, name, out, &fin, frame, err);
        if (fs != LN_E_INPUT) { /* a digit in the frame (or out of memory) */
            free(lv);
            if (!fs && info) *info = fin;
            return fs;
        }
        memset(out, 0, LN_PREP_SIDE * LN_PREP_SIDE); /* no digit in it: the picture as a whole */
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
