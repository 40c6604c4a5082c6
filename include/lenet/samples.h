/* samples.h - pictures of data-set samples for people to look at:
 *   - one image enlarged under a title ("number: 5", as the tutorial's
 *     plt.title shows it), and
 *   - many images in a grid, each under its own caption (a label, or for a
 *     misclassified-image grid "7 as 2" in red).
 * Images are 8-bit gray, drawn as stored (MNIST: white digit on black) on a
 * white RGB canvas with black text; save the result with
 * ln_image_write_png. Enlarging uses whole-number nearest-neighbour factors
 * so pixels stay square; images larger than the box are shrunk to fit it.
 */
#ifndef LENET_SAMPLES_H
#define LENET_SAMPLES_H

#include "lenet/draw.h"
#include "lenet/image.h"

/* `src` (gray or RGB) drawn to fit a box x box square (e.g. 224: a 28 x 28
 * image enlarged x8), with `title` centred above it. *out is a new RGB
 * image (free with ln_image_free). */
ln_status ln_sample_picture(const ln_image *src, const char *title, int box, ln_image *out, ln_error *err);

typedef struct {
    const uint8_t *pixels; /* rows x cols gray pixels */
    const char *caption;   /* drawn above the image; may be NULL */
    ln_rgb color;          /* caption colour */
} ln_grid_cell;

/* n cells of rows x cols pixels each, `per_row` to a row, every image
 * drawn to fit a box x box square (e.g. 56: 28 x 28 enlarged x2). */
ln_status ln_sample_grid(const ln_grid_cell *cells, int n, int rows, int cols, int per_row, int box,
                         ln_image *out, ln_error *err);

/* The size (*w, *h) at which a w x h image is drawn in a box x box square. */
void ln_sample_fit(int w, int h, int box, int *ow, int *oh);

#endif
