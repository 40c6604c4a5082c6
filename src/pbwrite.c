/* pbwrite.c - minimal protobuf encoder (see include/lenet/pbwrite.h). */
#include "lenet/pbwrite.h"

#include <string.h>

void ln_pb_varint(ln_buf *b, uint64_t v) {
    uint8_t tmp[10];
    size_t n = 0;
    do {
        uint8_t c = v & 0x7f;
        v >>= 7;
        tmp[n++] = c | (v ? 0x80 : 0);
    } while (v);
    ln_buf_append(b, tmp, n);
}

void ln_pb_key(ln_buf *b, int field, int wire) { ln_pb_varint(b, ((uint64_t)field << 3) | (uint64_t)wire); }

void ln_pb_int(ln_buf *b, int field, int64_t v) {
    ln_pb_key(b, field, 0);
    ln_pb_varint(b, (uint64_t)v);
}

void ln_pb_bytes(ln_buf *b, int field, const void *data, size_t n) {
    ln_pb_key(b, field, 2);
    ln_pb_varint(b, n);
    ln_buf_append(b, data, n);
}

void ln_pb_str(ln_buf *b, int field, const char *s) { ln_pb_bytes(b, field, s, strlen(s)); }

void ln_pb_msg(ln_buf *b, int field, const ln_buf *sub) {
    if (sub->oom) b->oom = 1;
    ln_pb_bytes(b, field, sub->p, sub->len);
}
