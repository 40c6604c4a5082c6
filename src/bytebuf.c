/* bytebuf.c - growable byte buffer (see include/lenet/bytebuf.h). */
#include "lenet/bytebuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ln_buf_init(ln_buf *b) { memset(b, 0, sizeof *b); }

void ln_buf_free(ln_buf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* Make room for n more bytes; 0 on success. */
static int reserve(ln_buf *b, size_t n) {
    if (b->oom) return -1;
    if (n <= b->cap - b->len) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n) {
        if (cap > (size_t)-1 / 2) { b->oom = 1; return -1; }
        cap *= 2;
    }
    uint8_t *p = realloc(b->p, cap);
    if (!p) { b->oom = 1; return -1; }
    b->p = p;
    b->cap = cap;
    return 0;
}

void ln_buf_append(ln_buf *b, const void *data, size_t n) {
    if (!n || reserve(b, n)) return;
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

void ln_buf_fill(ln_buf *b, uint8_t c, size_t n) {
    if (!n || reserve(b, n)) return;
    memset(b->p + b->len, c, n);
    b->len += n;
}

void ln_buf_printf(ln_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) { b->oom = 1; return; }
    if (reserve(b, (size_t)n + 1)) return; /* +1: vsnprintf writes a NUL */
    va_start(ap, fmt);
    vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at c (1-4), or 0 if it is not one
 * (a stray continuation byte, a truncated or overlong sequence, a surrogate,
 * beyond U+10FFFF). */
static int utf8_len(const unsigned char *c) {
    int n;
    unsigned v;
    if (c[0] < 0x80) return 1;
    if (c[0] >= 0xc2 && c[0] <= 0xdf) n = 2, v = c[0] & 0x1f;
    else if (c[0] >= 0xe0 && c[0] <= 0xef) n = 3, v = c[0] & 0x0f;
    else if (c[0] >= 0xf0 && c[0] <= 0xf4) n = 4, v = c[0] & 0x07;
    else return 0;
    for (int i = 1; i < n; i++) {
        if ((c[i] & 0xc0) != 0x80) return 0;
        v = v << 6 | (c[i] & 0x3f);
    }
    if ((n == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) || (n == 4 && (v < 0x10000 || v > 0x10ffff))) return 0;
    return n;
}

void ln_buf_json_str(ln_buf *b, const char *s) {
    ln_buf_append(b, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c;) {
        const int n = utf8_len(c);
        if (*c == '"' || *c == '\\') {
            uint8_t esc[2] = {'\\', *c};
            ln_buf_append(b, esc, 2);
        } else if (*c < 0x20 || *c == 0x7f) {
            ln_buf_printf(b, "\\u%04x", *c);
        } else if (n == 0) { /* not UTF-8 (a file name in another encoding): U+FFFD */
            ln_buf_printf(b, "\\ufffd");
        } else {
            ln_buf_append(b, c, (size_t)n);
        }
        c += n ? n : 1;
    }
    ln_buf_append(b, "\"", 1);
}

void ln_buf_json_float(ln_buf *b, float v) {
    char num[32];
    if (isfinite(v)) ln_fmt_float(num, sizeof num, v);
    else snprintf(num, sizeof num, "null");
    ln_buf_printf(b, "%s", num);
}

void ln_fmt_float(char *buf, size_t size, float v) {
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, size, "%.*g", prec, (double)v);
        if (strtof(buf, NULL) == v) return;
    }
}

int ln_buf_ok(const ln_buf *b) { return !b->oom; }
