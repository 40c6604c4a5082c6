/* bytebuf.h - a growable byte buffer for building files in memory.
 *
 * Appends never fail loudly: on allocation failure the buffer sets its
 * sticky `oom` flag and ignores later appends, so a writer checks once at
 * the end (ln_buf_ok) instead of after every call. No global state.
 */
#ifndef LENET_BYTEBUF_H
#define LENET_BYTEBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *p;
    size_t len, cap;
    int oom; /* an append ran out of memory; contents are incomplete */
} ln_buf;

void ln_buf_init(ln_buf *b);
void ln_buf_free(ln_buf *b);
/* Append n bytes (n may be 0; data may be NULL then). */
void ln_buf_append(ln_buf *b, const void *data, size_t n);
/* Append n copies of byte c. */
void ln_buf_fill(ln_buf *b, uint8_t c, size_t n);
/* Append printf-formatted text (no terminating NUL is kept in the buffer). */
void ln_buf_printf(ln_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as a JSON string literal with quotes and escapes; always valid
 * JSON: bytes that are not UTF-8 (a file name in another encoding) become
 * \ufffd, the replacement character. */
void ln_buf_json_str(ln_buf *b, const char *s);
/* Append v as float32's shortest repr (JSON null when not finite). */
void ln_buf_json_float(ln_buf *b, float v);
/* 1 if every append succeeded. */
int ln_buf_ok(const ln_buf *b);

/* The shortest decimal (printf %g) that reads back as the float32 v, as
 * numpy prints it ("nan", "inf" for those); size >= 16. */
void ln_fmt_float(char *buf, size_t size, float v);

#endif
