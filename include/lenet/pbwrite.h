/* pbwrite.h - a minimal protocol-buffers encoder on top of ln_buf.
 *
 * Enough for the ONNX and MindSpore messages we write: varint fields
 * (wire type 0), length-delimited fields (wire type 2: bytes, strings and
 * embedded messages) and packed/unpacked repeated int64. An embedded message
 * is built in its own ln_buf and appended with ln_pb_msg. Field order is the
 * caller's; fields are emitted exactly as called (no defaults are dropped).
 * Errors (out of memory) are the buffer's sticky `oom` flag.
 */
#ifndef LENET_PBWRITE_H
#define LENET_PBWRITE_H

#include <stddef.h>
#include <stdint.h>

#include "lenet/bytebuf.h"

void ln_pb_varint(ln_buf *b, uint64_t v);
/* Key of `field` with wire type `wire`. */
void ln_pb_key(ln_buf *b, int field, int wire);
/* int32/int64/enum/bool field (negative values as 10-byte varints, as protobuf does). */
void ln_pb_int(ln_buf *b, int field, int64_t v);
void ln_pb_bytes(ln_buf *b, int field, const void *data, size_t n);
void ln_pb_str(ln_buf *b, int field, const char *s);
/* Embedded message: `sub`'s bytes as a length-delimited field. */
void ln_pb_msg(ln_buf *b, int field, const ln_buf *sub);

#endif
