/* draw.c - rectangles, lines, scaled images and bitmap text on an ln_image
 * (see include/lenet/draw.h). */
#include "lenet/draw.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lenet/font.h"

static uint8_t luma(ln_rgb c) { return (uint8_t)((19595u * c.r + 38470u * c.g + 7471u * c.b + 32768u) >> 16); }

static void put(ln_image *im, int x, int y, ln_rgb c) {
    uint8_t *p = im->data + ((size_t)y * (size_t)im->width + (size_t)x) * (size_t)im->channels;
    if (im->channels == 3) p[0] = c.r, p[1] = c.g, p[2] = c.b;
    else p[0] = luma(c);
}

static int usable(const ln_image *im) { return im && im->data && (im->channels == 1 || im->channels == 3); }

void ln_draw_pixel(ln_image *im, int x, int y, ln_rgb c) {
    if (usable(im) && x >= 0 && y >= 0 && x < im->width && y < im->height) put(im, x, y, c);
}

/* Clip [x, x+w) x [y, y+h) to the image; 0 if nothing is left. Computed in
 * long long so that huge coordinates cannot overflow. */
static int clip(const ln_image *im, long long x, long long y, long long w, long long h, int *x0, int *y0, int *x1,
                int *y1) {
    long long a = x < 0 ? 0 : x, b = y < 0 ? 0 : y;
    long long c = x + w > im->width ? im->width : x + w, d = y + h > im->height ? im->height : y + h;
    if (a >= c || b >= d) return 0;
    *x0 = (int)a, *y0 = (int)b, *x1 = (int)c, *y1 = (int)d;
    return 1;
}

static void fill(ln_image *im, long long x, long long y, long long w, long long h, ln_rgb c) {
    int x0, y0, x1, y1;
    if (!usable(im) || w <= 0 || h <= 0 || !clip(im, x, y, w, h, &x0, &y0, &x1, &y1)) return;
    for (int yy = y0; yy < y1; yy++)
        for (int xx = x0; xx < x1; xx++) put(im, xx, yy, c);
}

void ln_draw_fill_rect(ln_image *im, int x, int y, int w, int h, ln_rgb c) { fill(im, x, y, w, h, c); }

void ln_draw_rect(ln_image *im, int x, int y, int w, int h, int thickness, ln_rgb c) {
    if (w <= 0 || h <= 0 || thickness <= 0) return;
    long long t = thickness;
    if (2 * t >= w || 2 * t >= h) {
        fill(im, x, y, w, h, c);
        return;
    }
    fill(im, x, y, w, t, c);
    fill(im, x, (long long)y + h - t, w, t, c);
    fill(im, x, (long long)y + t, t, h - 2 * t, c);
    fill(im, (long long)x + w - t, (long long)y + t, t, h - 2 * t, c);
}

void ln_draw_line(ln_image *im, int x0, int y0, int x1, int y1, int thickness, ln_rgb c) {
    if (!usable(im) || thickness <= 0) return;
    if (thickness > 2 * (im->width + im->height)) thickness = 2 * (im->width + im->height); /* covers it all */
    /* Clip the segment to the image grown by the pen (Liang-Barsky), so a
     * line with far-away ends costs only the pixels it actually covers. */
    double m = thickness, ax = x0, ay = y0, dx = (double)x1 - x0, dy = (double)y1 - y0, t0 = 0, t1 = 1;
    const double p[4] = {-dx, dx, -dy, dy};
    const double q[4] = {ax + m, im->width - 1 + m - ax, ay + m, im->height - 1 + m - ay};
    for (int i = 0; i < 4; i++) {
        if (p[i] == 0) {
            if (q[i] < 0) return;
        } else {
            double r = q[i] / p[i];
            if (p[i] < 0 && r > t0) t0 = r;
            if (p[i] > 0 && r < t1) t1 = r;
        }
    }
    if (t0 > t1) return;
    int xa = (int)(ax + t0 * dx + (ax + t0 * dx < 0 ? -0.5 : 0.5)), ya = (int)(ay + t0 * dy + (ay + t0 * dy < 0 ? -0.5 : 0.5));
    int xb = (int)(ax + t1 * dx + (ax + t1 * dx < 0 ? -0.5 : 0.5)), yb = (int)(ay + t1 * dy + (ay + t1 * dy < 0 ? -0.5 : 0.5));
    /* Bresenham between the clipped ends, stamping a square pen. */
    int sx = xa < xb ? 1 : -1, sy = ya < yb ? 1 : -1;
    long long ddx = llabs((long long)xb - xa), ddy = -llabs((long long)yb - ya), e = ddx + ddy;
    int half = (thickness - 1) / 2;
    for (;;) {
        fill(im, (long long)xa - half, (long long)ya - half, thickness, thickness, c);
        if (xa == xb && ya == yb) break;
        long long e2 = 2 * e;
        if (e2 >= ddy) e += ddy, xa += sx;
        if (e2 <= ddx) e += ddx, ya += sy;
    }
}

void ln_draw_image(ln_image *im, int x, int y, int w, int h, const ln_image *src, const ln_rgb *cmap) {
    int x0, y0, x1, y1;
    if (!usable(im) || !usable(src) || w <= 0 || h <= 0 || !clip(im, x, y, w, h, &x0, &y0, &x1, &y1)) return;
    for (int yy = y0; yy < y1; yy++) {
        size_t sy = (size_t)((((long long)yy - y) * src->height) / h);
        const uint8_t *row = src->data + sy * (size_t)src->width * (size_t)src->channels;
        for (int xx = x0; xx < x1; xx++) {
            size_t sx = (size_t)((((long long)xx - x) * src->width) / w);
            const uint8_t *s = row + sx * (size_t)src->channels;
            ln_rgb c = src->channels == 3 ? LN_RGB(s[0], s[1], s[2]) : cmap ? cmap[s[0]] : LN_RGB(s[0], s[0], s[0]);
            put(im, xx, yy, c);
        }
    }
}

int ln_text_width(const char *text, int scale) {
    size_t n = text ? strlen(text) : 0;
    if (n == 0 || scale <= 0) return 0;
    long long w = ((long long)n * LN_FONT_ADVANCE - 1) * scale;
    return w > INT_MAX ? INT_MAX : (int)w;
}

int ln_text_height(int scale) { return scale > 0 ? LN_FONT_H * scale : 0; }

int ln_draw_text(ln_image *im, int x, int y, const char *text, int scale, ln_rgb c) {
    if (!text || scale <= 0) return 0;
    long long pen = x;
    for (const char *s = text; *s && usable(im); s++, pen += (long long)LN_FONT_ADVANCE * scale) {
        if (pen >= im->width) break;
        if (pen + (long long)LN_FONT_W * scale < 0) continue;
        for (int gy = 0; gy < LN_FONT_H; gy++)
            for (int gx = 0; gx < LN_FONT_W; gx++)
                if (ln_font_pixel(*s, gx, gy))
                    fill(im, pen + (long long)gx * scale, (long long)y + (long long)gy * scale, scale, scale, c);
    }
    return ln_text_width(text, scale);
}
