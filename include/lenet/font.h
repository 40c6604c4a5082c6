/* font.h - a small built-in bitmap font (our own glyphs) for labels drawn
 * on images: printable ASCII (32..126) in a 5 x 8 cell, capitals and digits
 * 7 pixels high on rows 0..6, descenders (g j p q y , _) reaching row 7.
 * Text is drawn by draw.h (ln_draw_text); this module only answers which
 * pixels of a glyph are set. Characters outside 32..126 show as '?'. */
#ifndef LENET_FONT_H
#define LENET_FONT_H

#define LN_FONT_W 5       /* glyph width in pixels */
#define LN_FONT_H 8       /* glyph height in pixels, descender row included */
#define LN_FONT_ADVANCE 6 /* pen advance per character: glyph + 1 pixel gap */

/* 1 if pixel (x, y), 0 <= x < LN_FONT_W, 0 <= y < LN_FONT_H, of character
 * c is ink; 0 outside the cell. */
int ln_font_pixel(char c, int x, int y);

/* Check the glyph table (each glyph LN_FONT_H rows of LN_FONT_W '.'/'#',
 * in ASCII order): 0 if sound, else the first bad character code. For the
 * tests. */
int ln_font_selfcheck(void);

#endif
