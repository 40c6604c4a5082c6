/* stats.c - pixel mean / std and label counts (see include/lenet/stats.h). */
#include "lenet/stats.h"

#include <math.h>
#include <string.h>

ln_pixel_stats ln_pixel_stats_compute(const uint8_t *pixels, size_t n) {
    uint64_t hist[256] = {0};
    for (size_t i = 0; i < n; i++) hist[pixels[i]]++;
    ln_pixel_stats s = {0, 0, (uint64_t)n};
    if (n == 0) return s;
    /* Integer sums are exact (n * 255^2 < 2^64 for any n < 2.8e14). */
    uint64_t sum = 0, sum2 = 0;
    for (int v = 0; v < 256; v++) sum += hist[v] * (uint64_t)v, sum2 += hist[v] * (uint64_t)(v * v);
    double mean = (double)sum / (double)n;                   /* in 0..255 */
    double var = (double)sum2 / (double)n - mean * mean;      /* E[x^2] - E[x]^2 */
    s.mean = mean / 255.0;
    s.std = var > 0 ? sqrt(var) / 255.0 : 0.0;
    return s;
}

void ln_label_counts(const uint8_t *labels, size_t n, uint64_t *counts, int nclasses) {
    memset(counts, 0, sizeof *counts * (size_t)(nclasses > 0 ? nclasses : 0));
    for (size_t i = 0; i < n; i++)
        if (labels[i] < nclasses) counts[labels[i]]++;
}
