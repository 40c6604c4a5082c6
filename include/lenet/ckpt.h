/* ckpt.h - MindSpore .ckpt files (protobuf "Checkpoint" messages).
 *
 * Wire format (see shared reference mindspore_checkpoint.proto): the file is
 * a concatenation of top-level messages, one per tensor:
 *   Checkpoint { repeated Value value = 1; }
 *   Value      { required string tag = 1; TensorProto tensor = 2; }
 *   TensorProto{ repeated int64 dims = 1; required string tensor_type = 2;
 *                required bytes tensor_content = 3; }
 * Scalars have dims [0]. dtype strings: "Float32", "Int32", ... Content is
 * little-endian, C order. Optional trailer (MindSpore >= 2.3): "crc_num" and
 * the crc32 of all records.
 *
 * Reading validates everything before returning: message framing, varints,
 * lengths, dtype names, content size = product of dims * element size. A
 * file that fails any check is rejected whole (nothing partially loaded).
 * Writing is atomic: a temporary file in the same folder, fsync, rename.
 */
#ifndef LENET_CKPT_H
#define LENET_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "lenet/error.h"

#define LN_CKPT_MAX_DIMS 8

typedef struct {
    char name[256];
    char dtype[16];
    int ndim; /* as stored: a scalar has ndim 1, dims[0] = 0 */
    int64_t dims[LN_CKPT_MAX_DIMS];
    size_t count;  /* elements (1 for a scalar) */
    size_t nbytes; /* content bytes */
    uint8_t *data;
} ln_ckpt_entry;

typedef struct {
    int n;
    ln_ckpt_entry *e;
    int had_crc; /* a CRC trailer was present and matched */
} ln_ckpt;

ln_status ln_ckpt_read(const char *path, ln_ckpt *out, ln_error *err);
void ln_ckpt_free(ln_ckpt *c);
const ln_ckpt_entry *ln_ckpt_get(const ln_ckpt *c, const char *name);

/* One tensor to write. ndim 0 = scalar (stored as dims [0]). */
typedef struct {
    const char *name;
    const char *dtype; /* "Float32" or "Int32" (4-byte elements) */
    int ndim;
    int64_t dims[LN_CKPT_MAX_DIMS];
    const void *data;
} ln_ckpt_item;

/* Write items atomically to `path` (replacing it only when complete).
 * with_crc appends MindSpore 2.3's CRC trailer. */
ln_status ln_ckpt_write(const char *path, const ln_ckpt_item *items, int n, int with_crc, ln_error *err);

/* Options of ln_ckpt_write_ex. */
typedef struct {
    int with_crc;   /* append MindSpore 2.3's CRC trailer */
    int no_replace; /* never replace an existing `path`: LN_E_USAGE naming it
                     * (the final link is atomic, so a file appearing
                     * meanwhile is not overwritten either) */
} ln_ckpt_write_opts;

ln_status ln_ckpt_write_ex(const char *path, const ln_ckpt_item *items, int n, const ln_ckpt_write_opts *opts,
                           ln_error *err);

#endif
