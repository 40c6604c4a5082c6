/* stats.h - what `inspect` reports about a data set: the mean and standard
 * deviation of its pixels (scaled to [0, 1], as the tutorial's Normalize
 * constants 0.1307 / 0.3081 are) and how many items each class has.
 * Exact: pixels are counted in a 256-bin histogram, then summed in double. */
#ifndef LENET_STATS_H
#define LENET_STATS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    double mean, std; /* of x / 255 over all pixels; population std (divide by n) */
    uint64_t n;       /* pixels counted */
} ln_pixel_stats;

/* Statistics of n 8-bit pixels (n = 0 gives mean = std = 0). */
ln_pixel_stats ln_pixel_stats_compute(const uint8_t *pixels, size_t n);

/* counts[c] = how many of the n labels equal c, for c < nclasses; labels
 * >= nclasses are not counted. */
void ln_label_counts(const uint8_t *labels, size_t n, uint64_t *counts, int nclasses);

#endif
