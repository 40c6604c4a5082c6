/* decode.h - `lenet serve`: turning request bodies into 28x28 grey images.
 * No network code here, so the libFuzzer target (fuzz/fuzz_serve.c) runs
 * exactly what the server runs on untrusted bytes.
 *
 * serve_decode_instances: a `:predict` body, JSON (jansson) of the
 * TensorFlow Serving / KServe v1 row format:
 *     {"instances": [IMAGE, ...]}   optionally with "signature_name": STRING
 * where IMAGE is 28 lists of 28 grey levels or one flat list of 784; a grey
 * level is a whole number 0..255 (127 and 127.0 are the same; 127.5, -1,
 * 256, strings, null, booleans are refused). At least 1 and at most
 * `max_instances` images. Duplicate keys, any other key, NaN/Infinity
 * tokens, trailing bytes and invalid UTF-8 are refused. On success
 * *images (malloc'ed, n * 784 bytes, row-major) and *n are set.
 * The common body - {"instances": [...]} of images whose levels are written
 * as plain integers - is read by serve_decode_fast; any other body, and
 * every refusal, is jansson's (serve_decode_instances_json), so both paths
 * give the same answer to every body.
 *
 * serve_decode_fast: 1 and *images / *n set (as above) when `body` is
 * exactly {"instances": [IMAGE, ...]} with 1..max_instances images whose
 * levels are JSON integers 0..255 without sign, fraction or exponent, and
 * only JSON whitespace between tokens; 0 (nothing allocated, *images and *n
 * untouched) for anything else, valid or not - including out of memory.
 * Whatever it accepts, serve_decode_instances_json accepts with the same
 * images (decode_fast.c says why it exists).
 *
 * serve_decode_picture: a `:classify-image` body, PNG or PGM bytes of any
 * size, read and prepared exactly as `lenet predict FILE` does
 * (ln_image_decode_gray, then ln_prepare_digit); out is the 28x28 the
 * network sees.
 *
 * Both return LN_E_INPUT with one line in err->msg that says what is wrong
 * with the request (what the client gets as {"error": ...}, status 400), or
 * LN_E_NOMEM. Nothing stays allocated on failure.
 */
#ifndef LENET_SERVE_DECODE_H
#define LENET_SERVE_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "lenet/error.h"

#define SERVE_SIDE 28
#define SERVE_PIXELS (SERVE_SIDE * SERVE_SIDE)

ln_status serve_decode_instances(const char *body, size_t len, int max_instances, uint8_t **images, int *n,
                                 ln_error *err);

ln_status serve_decode_instances_json(const char *body, size_t len, int max_instances, uint8_t **images, int *n,
                                      ln_error *err);
int serve_decode_fast(const char *body, size_t len, int max_instances, uint8_t **images, int *n);

ln_status serve_decode_picture(const uint8_t *body, size_t len, uint8_t out[SERVE_PIXELS], ln_error *err);

#endif
