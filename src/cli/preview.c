/* preview.c - an 8-bit gray image drawn in the terminal with shade
 * characters (see cli.h). Each pixel is two characters wide so that pixels
 * look roughly square; large images are averaged down to fit. */
#include <stdio.h>

#include "cli.h"

void cli_preview_gray(FILE *f, const uint8_t *px, int rows, int cols, int max_width, int max_lines) {
    static const char *const shade[5] = {"  ", "\u2591\u2591", "\u2592\u2592", "\u2593\u2593", "\u2588\u2588"};
    if (rows < 1 || cols < 1) return;
    int maxc = max_width / 2 > 0 ? max_width / 2 : 1, maxr = max_lines > 0 ? max_lines : 1;
    double fx = (double)cols / maxc, fy = (double)rows / maxr, k = fx > fy ? fx : fy;
    if (k < 1) k = 1;
    int oc = (int)(cols / k + 0.999999), orows = (int)(rows / k + 0.999999);
    for (int y = 0; y < orows; y++) {
        int y0 = (int)(y * k), y1 = (int)((y + 1) * k);
        if (y1 > rows) y1 = rows;
        if (y1 <= y0) y1 = y0 + 1;
        for (int x = 0; x < oc; x++) {
            int x0 = (int)(x * k), x1 = (int)((x + 1) * k);
            if (x1 > cols) x1 = cols;
            if (x1 <= x0) x1 = x0 + 1;
            unsigned long sum = 0, n = 0;
            for (int yy = y0; yy < y1 && yy < rows; yy++)
                for (int xx = x0; xx < x1 && xx < cols; xx++) sum += px[(size_t)yy * cols + xx], n++;
            unsigned v = n ? (unsigned)(sum / n) : 0;
            fputs(shade[(v * 5) / 256], f);
        }
        fputc('\n', f);
    }
}
