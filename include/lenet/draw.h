/* draw.h - painting on an ln_image (see image.h): filled and outlined
 * rectangles, lines of any thickness, images blitted at any size (nearest
 * neighbour, optionally through a 256-entry colour map) and text in the
 * built-in bitmap font (font.h) at an integer scale. Meant for pictures
 * people look at: a data-set item, a labelled grid of samples, training
 * curves, a confusion matrix.
 *
 * Coordinates are pixels, x to the right, y down, (0, 0) the top-left
 * corner. Everything is clipped to the image, so any coordinates are safe,
 * including ones far outside it. Colours are RGB; on a gray (1-channel)
 * image they are drawn as their luma. These calls never allocate and never
 * fail: make the canvas with ln_image_alloc(&im, w, h, 3, 255, &err) (white)
 * and save it with ln_image_write_png.
 */
#ifndef LENET_DRAW_H
#define LENET_DRAW_H

#include <stdint.h>

#include "lenet/image.h"

typedef struct {
    uint8_t r, g, b;
} ln_rgb;

#define LN_RGB(r, g, b) ((ln_rgb){(uint8_t)(r), (uint8_t)(g), (uint8_t)(b)})

/* One pixel (ignored outside the image). */
void ln_draw_pixel(ln_image *im, int x, int y, ln_rgb c);

/* The w x h rectangle whose top-left corner is (x, y), filled. */
void ln_draw_fill_rect(ln_image *im, int x, int y, int w, int h, ln_rgb c);

/* Its outline, `thickness` pixels wide, drawn inside the rectangle. */
void ln_draw_rect(ln_image *im, int x, int y, int w, int h, int thickness, ln_rgb c);

/* A straight line from (x0, y0) to (x1, y1), both ends included, with a
 * square pen `thickness` pixels wide centred on the line. */
void ln_draw_line(ln_image *im, int x0, int y0, int x1, int y1, int thickness, ln_rgb c);

/* Draw `src` (1 or 3 channels) scaled to w x h at (x, y), nearest
 * neighbour (an integer factor enlarges every pixel to a square block).
 * For a gray src, `cmap` (256 colours, may be NULL for plain gray) maps
 * each value to a colour. */
void ln_draw_image(ln_image *im, int x, int y, int w, int h, const ln_image *src, const ln_rgb *cmap);

/* Text on one line with its top-left corner at (x, y); every font pixel
 * becomes a scale x scale block. Returns the width drawn (as
 * ln_text_width). Paper pixels are left as they are. */
int ln_draw_text(ln_image *im, int x, int y, const char *text, int scale, ln_rgb c);

/* Size of `text` drawn at `scale`: width without a trailing gap, and the
 * height of the cell (descenders included). */
int ln_text_width(const char *text, int scale);
int ln_text_height(int scale);

#endif
