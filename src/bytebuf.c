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

void ln_buf_json_str(ln_buf *b, const char *s) {
    ln_buf_append(b, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            uint8_t esc[2] = {'\\', *c};
            ln_buf_append(b, esc, 2);
        } else if (*c < 0x20) {
            ln_buf_printf(b, "\\u%04x", *c);
        } else {
            ln_buf_append(b, c, 1);
        }
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
