/* prepare.h - turn a user's picture of a digit into an MNIST-style 28x28
 * image (what `lenet predict` feeds the training pipeline).
 *
 * MNIST's own recipe (LeCun et al.): a light digit on a dark background,
 * size-normalised to fit a 20x20 box keeping its aspect ratio, then centred
 * by its centre of mass in a 28x28 field. Here, on an 8-bit gray image of
 * any size:
 *   1. Polarity: the background is the median of the border pixels; if it
 *      is light (> 127) the image is inverted (dark ink on paper).
 *   2. Levels: v' = (v - background) * 255 / (max - background), clamped to
 *      0..255 (identity for an MNIST image: background 0, max 255). A
 *      picture with less than 16 levels of contrast is LN_E_INPUT ("no
 *      digit found").
 *   2a. A picture on a page: if the ink holds a rectangle whose four sides
 *      are unbroken ink, at least a quarter of the picture each way and 8
 *      pixels, at least 60% ink inside and with page all round it (at most
 *      1 in 10 ink pixels just outside: a bold stroke goes on past its
 *      solid parts), e.g. a picture placed on a page as samples.h draws it
 *      under its title, the digit may be what that rectangle holds: a line
 *      drawn round it is peeled off (rings whose median differs from the
 *      inside's by more than 32 levels, up to an eighth of the side), and
 *      the inside is prepared from step 1 as a picture of its own, once
 *      (no frame is looked for in it), with the page's opposite polarity
 *      and the median of all its pixels as background. It is taken if it
 *      holds a digit as a picture does: contrast at least half the page's,
 *      and step 3's box clear of three of its sides by a 28th of the side
 *      (an MNIST digit may touch one edge of its field). Step 3's
 *      box is then given in the whole picture's coordinates
 *      (ln_prepare_digit_framed also gives the rectangle). Otherwise (a
 *      solid block, a bold stroke's texture) the picture is prepared as a
 *      whole.
 *   3. Crop to the bounding box of the pixels with v' >= 32 (faint noise
 *      and antialiasing fringe do not widen the box; pixels inside the box
 *      keep their values).
 *   4. Scale so the longer side is 20 pixels (area averaging when
 *      shrinking, bilinear when enlarging; unchanged when already 20).
 *   5. Paste into a black 28x28 so that the centre of mass (weighted by
 *      value, in pixel-index coordinates) lands nearest to pixel (14, 14);
 *      whatever falls outside is dropped. This is MNIST's convention: it
 *      leaves 99.6% of the MNIST test digits where they are (the rest move
 *      by one pixel), and 72% of them unchanged byte for byte (the others
 *      lose only faint fringe pixels outside the step-3 box).
 */
#ifndef LENET_PREPARE_H
#define LENET_PREPARE_H

#include <stdint.h>

#include "lenet/error.h"

#define LN_PREP_SIDE 28
#define LN_PREP_BOX 20

typedef struct {
    int inverted;       /* step 1 inverted the picture */
    int background;     /* border median (after inversion) */
    int box_x, box_y, box_w, box_h; /* step 3's crop, in the input */
    int scaled_w, scaled_h;         /* after step 4 */
    int offset_x, offset_y;         /* where step 5 put the scaled crop */
} ln_prepare_info;

/* gray: h rows of w pixels (w, h >= 1). out: 28*28 bytes. `name` is used in
 * the error message. info may be NULL. */
ln_status ln_prepare_digit(const uint8_t *gray, int w, int h, const char *name, uint8_t out[28 * 28],
                           ln_prepare_info *info, ln_error *err);

/* The same, and where step 2a took the digit from: frame = {x, y, w, h} in
 * the input (after the line round it is peeled off), or w = 0 where the
 * picture was prepared as a whole. */
ln_status ln_prepare_digit_framed(const uint8_t *gray, int w, int h, const char *name, uint8_t out[28 * 28],
                                  ln_prepare_info *info, int frame[4], ln_error *err);

#endif
