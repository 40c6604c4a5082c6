/* image_codec.h - internal: the decoders and the encoder behind image.h.
 * Each decoder gets the whole file in memory, returns 8-bit gray and
 * follows image.h's contract (limits checked before allocating). */
#ifndef LENET_IMAGE_CODEC_H
#define LENET_IMAGE_CODEC_H

#include <stdio.h>

#include "lenet/image.h"

ln_status ln_png_decode_gray(const uint8_t *buf, size_t len, const char *name, ln_image *out, ln_error *err);
ln_status ln_pgm_decode_gray(const uint8_t *buf, size_t len, const char *name, ln_image *out, ln_error *err);
/* Write `im` as PNG to an open stream; `name` is used in messages. */
ln_status ln_png_encode(FILE *f, const ln_image *im, const char *name, ln_error *err);

#endif
