/* image.h - 8-bit images in memory, read from PNG or PGM, written as PNG.
 *
 * An ln_image is `height` rows of `width` pixels, `channels` bytes per pixel
 * (1 = gray, 3 = RGB), row-major without padding. The drawing module
 * (draw.h) paints into RGB ones; ln_image_write_png saves either kind.
 *
 * Reading (`ln_image_read_gray`) accepts, detected by content, not by name:
 *   - PNG (libpng): gray, gray+alpha, RGB, RGBA, palette, 1/2/4/8/16-bit,
 *     interlaced or not;
 *   - PGM: binary P5 and plain-text P2, maxval 1..65535, '#' comments.
 * Every image comes back as 8-bit gray: RGB becomes luma
 * (0.299 R + 0.587 G + 0.114 B, rounded), 16-bit samples are scaled to 8
 * bits with rounding, PGM samples are scaled from 0..maxval to 0..255, and
 * alpha is composited over white (so dark ink on a transparent background
 * reads as it looks on a page).
 *
 * Safety: the file must hold exactly one well-formed image; truncated data,
 * bad CRCs, trailing bytes after a PGM raster, sample values above maxval,
 * and sizes of 0 or above LN_IMAGE_MAX_SIDE per side or LN_IMAGE_MAX_PIXELS
 * in all are rejected with LN_E_INPUT and one line naming the file. The
 * size is checked before any pixel memory is allocated, and libpng's own
 * per-chunk allocations are capped, so the memory a hostile file can make a
 * read allocate is bounded (about 5 bytes per allowed pixel plus the file
 * itself, which must be at most LN_IMAGE_MAX_FILE bytes).
 *
 * Writing is atomic: a temporary file in the same folder, fsync, rename; a
 * failed write leaves any previous file of that name untouched.
 */
#ifndef LENET_IMAGE_H
#define LENET_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "lenet/error.h"

#define LN_IMAGE_MAX_SIDE 16384u
#define LN_IMAGE_MAX_PIXELS (16u << 20) /* 16 Mi pixels, e.g. 4096 x 4096 */
#define LN_IMAGE_MAX_FILE (256u << 20)  /* bytes */

typedef struct {
    int width, height;
    int channels; /* 1 (gray) or 3 (RGB) */
    uint8_t *data; /* height * width * channels bytes */
} ln_image;

/* Allocate a width x height image with `channels` 1 or 3, every byte set to
 * `fill`. LN_E_USAGE for a size outside the limits above. */
ln_status ln_image_alloc(ln_image *im, int width, int height, int channels, uint8_t fill, ln_error *err);
void ln_image_free(ln_image *im);

/* Read a PNG or PGM file as 8-bit gray (channels = 1). On failure *out is
 * zeroed and nothing stays allocated. */
ln_status ln_image_read_gray(const char *path, ln_image *out, ln_error *err);

/* The same from a buffer already in memory; `name` is used in messages
 * (what ln_image_read_gray uses after reading the file, and what the
 * fuzzer calls). */
ln_status ln_image_decode_gray(const uint8_t *buf, size_t len, const char *name, ln_image *out, ln_error *err);

/* Write `im` (channels 1 or 3) as an 8-bit PNG, atomically. Failure to
 * create, write or rename is LN_E_SYSTEM naming the path. */
ln_status ln_image_write_png(const char *path, const ln_image *im, ln_error *err);

#endif
