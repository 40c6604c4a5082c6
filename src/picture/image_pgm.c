/* image_pgm.c - PGM (netpbm graymap) decoding to 8-bit gray: binary P5 and
 * plain P2, maxval 1..65535 (2-byte big-endian samples above 255), '#'
 * comments in the header (and, for P2, between samples). Samples are scaled
 * from 0..maxval to 0..255 with rounding. See include/lenet/image.h. */
#include <stdlib.h>
#include <string.h>

#include "image_codec.h"

typedef struct {
    const uint8_t *p;
    size_t len, pos;
} cursor;

static int is_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* Skip whitespace and '#' comments (to the end of the line). */
static void skip_space(cursor *c) {
    while (c->pos < c->len) {
        uint8_t b = c->p[c->pos];
        if (b == '#') {
            while (c->pos < c->len && c->p[c->pos] != '\n' && c->p[c->pos] != '\r') c->pos++;
        } else if (is_space(b)) {
            c->pos++;
        } else {
            break;
        }
    }
}

/* A decimal number (digits only) at most `max`: 0 on success, -1 if there
 * is no number, -2 if it is larger than `max`. Leading space skipped. */
static int get_uint(cursor *c, unsigned long max, unsigned long *out) {
    skip_space(c);
    size_t start = c->pos;
    unsigned long v = 0;
    int big = 0;
    while (c->pos < c->len && c->p[c->pos] >= '0' && c->p[c->pos] <= '9') {
        if (!big) {
            v = v * 10 + (unsigned long)(c->p[c->pos] - '0');
            if (v > max) big = 1;
        }
        c->pos++;
    }
    if (c->pos == start || (c->pos < c->len && !is_space(c->p[c->pos]) && c->p[c->pos] != '#')) return -1;
    if (big) return -2;
    *out = v;
    return 0;
}

ln_status ln_pgm_decode_gray(const uint8_t *buf, size_t len, const char *name, ln_image *out, ln_error *err) {
    memset(out, 0, sizeof *out);
    cursor c = {buf, len, 2};
    int plain = buf[1] == '2';
    if (len < 3 || !is_space(buf[2]))
        return ln_fail(err, LN_E_INPUT, "bad PGM header (no space after P%c): %s; the file is corrupt", buf[1], name);
    static const char *const field[3] = {"width", "height", "maxval"};
    static const unsigned long limit[3] = {LN_IMAGE_MAX_SIDE, LN_IMAGE_MAX_SIDE, 65535};
    unsigned long v[3];
    for (int i = 0; i < 3; i++) {
        int r = get_uint(&c, limit[i], &v[i]);
        if (r == -1)
            return ln_fail(err, LN_E_INPUT, "bad PGM header: %s missing or not a number: %s; the file is corrupt",
                           field[i], name);
        if (r == -2 || v[i] == 0)
            return ln_fail(err, LN_E_INPUT, "bad PGM header: %s must be 1..%lu: %s; the file is corrupt",
                           field[i], limit[i], name);
    }
    unsigned long w = v[0], h = v[1], maxval = v[2];
    if ((unsigned long long)w * h > LN_IMAGE_MAX_PIXELS)
        return ln_fail(err, LN_E_INPUT, "PGM of %lu x %lu pixels is more than the %u we read: %s; scale it down", w, h,
                       LN_IMAGE_MAX_PIXELS, name);
    size_t npix = (size_t)w * h;
    if (!plain) {
        /* Exactly one whitespace byte separates maxval from the raster. */
        if (c.pos >= len)
            return ln_fail(err, LN_E_INPUT, "PGM ends after its header (no pixel data): %s; the file is truncated",
                           name);
        if (!is_space(buf[c.pos]))
            return ln_fail(err, LN_E_INPUT, "bad PGM header: no space between maxval and the pixels: %s", name);
        c.pos++;
        size_t bps = maxval > 255 ? 2 : 1, need = npix * bps, have = len - c.pos;
        if (have < need)
            return ln_fail(err, LN_E_INPUT, "truncated PGM: %zu data bytes, header says %zu (%lu x %lu): %s",
                           have, need, w, h, name);
        if (have > need)
            return ln_fail(err, LN_E_INPUT, "extra data (%zu bytes) after the PGM's %lu x %lu pixels: %s; the file is corrupt",
                           have - need, w, h, name);
    }
    uint8_t *pix = malloc(npix);
    if (!pix) return ln_fail(err, LN_E_NOMEM, "out of memory for %lu x %lu pixels: %s", w, h, name);
    for (size_t i = 0; i < npix; i++) {
        unsigned long s;
        if (plain) {
            int r = get_uint(&c, maxval, &s);
            if (r) {
                free(pix);
                if (r == -2)
                    return ln_fail(err, LN_E_INPUT, "PGM sample %zu is above maxval %lu: %s; the file is corrupt", i,
                                   maxval, name);
                return ln_fail(err, LN_E_INPUT, "PGM sample %zu of %zu missing or not a number: %s; the file is "
                               "truncated or corrupt", i, npix, name);
            }
        } else if (maxval > 255) {
            s = (unsigned long)buf[c.pos] << 8 | buf[c.pos + 1];
            c.pos += 2;
        } else {
            s = buf[c.pos++];
        }
        if (s > maxval) {
            free(pix);
            return ln_fail(err, LN_E_INPUT, "PGM sample %zu is %lu, above maxval %lu: %s; the file is corrupt",
                           i, s, maxval, name);
        }
        pix[i] = (uint8_t)((s * 255 + maxval / 2) / maxval);
    }
    if (plain) {
        skip_space(&c);
        if (c.pos != len) {
            free(pix);
            return ln_fail(err, LN_E_INPUT, "more than %lu x %lu samples in the PGM: %s; the file is corrupt",
                           w, h, name);
        }
    }
    out->width = (int)w, out->height = (int)h, out->channels = 1, out->data = pix;
    return LN_OK;
}
