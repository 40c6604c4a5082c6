/* bench_layers.c - per-layer time of the lanes kernels, robust to a shared
 * machine: one group of 16 samples, forward + backward REPS times on one
 * thread, each layer's time the minimum over the repetitions (other work on
 * the machine only ever adds time). Prints one line per layer: microseconds
 * per sample and GFLOP/s, forward and backward.
 *
 * Usage: bench_layers [KERNELS] [REPS] [B]   (default: auto, 3000, 16) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lenet/net.h"

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    const char *kernels = argc > 1 ? argv[1] : NULL;
    const int reps = argc > 2 ? atoi(argv[2]) : 3000, B = argc > 3 ? atoi(argv[3]) : 16;
    if (reps < 1 || B < 1 || B > 256) {
        fprintf(stderr, "usage: bench_layers [KERNELS] [REPS >= 1] [B in 1..256]\n");
        return 2;
    }
    ln_lenet net;
    ln_error err;
    if (ln_lenet_init(&net, 1, B, 1, kernels, &err)) {
        fprintf(stderr, "bench_layers: %s\n", err.msg);
        return 1;
    }
    ln_lenet_init_weights(&net, 1);
    static float x[256 * 1024], dlo[256 * 10];
    for (int i = 0; i < B * 1024; i++) x[i] = (float)((i * 7919) % 255) / 64.f - 1.f;
    for (int i = 0; i < B * 10; i++) dlo[i] = (i % 10 == i / 10 % 10 ? -0.9f : 0.1f) / (float)B;
    double fmin[LN_PROF_LAYERS], bmin[LN_PROF_LAYERS];
    for (int l = 0; l < LN_PROF_LAYERS; l++) fmin[l] = bmin[l] = 1e9;
    ln_lenet_profile pr;
    double *steps = malloc(sizeof(double) * (size_t)reps);
    if (!steps) return 1;
    for (int r = 0; r < reps; r++) {
        if (ln_lenet_set_profiling(&net, 1)) return 1;
        ln_lenet_forward(&net, x, B);
        ln_lenet_zero_grad(&net);
        ln_lenet_backward(&net, dlo, B);
        ln_lenet_get_profile(&net, &pr);
        double t = 0;
        for (int l = 0; l < LN_PROF_LAYERS; l++) {
            if (pr.fwd_seconds[l] < fmin[l]) fmin[l] = pr.fwd_seconds[l];
            if (pr.bwd_seconds[l] < bmin[l]) bmin[l] = pr.bwd_seconds[l];
            t += pr.fwd_seconds[l] + pr.bwd_seconds[l];
        }
        steps[r] = t;
    }
    qsort(steps, (size_t)reps, sizeof(double), cmp_double);
    double sf = 0, sb = 0;
    const double S = pr.samples_bwd; /* lanes per repetition, padding included */
    printf("kernels %s, batch %d, min of %d\n%-6s %9s %9s %9s %9s\n", ln_lenet_kernels(&net), B, reps, "layer",
           "fwd us", "fwd GF/s", "bwd us", "bwd GF/s");
    for (int l = 0; l < LN_PROF_LAYERS; l++) {
        sf += fmin[l], sb += bmin[l];
        printf("%-6s %9.3f %9.1f %9.3f %9.1f\n", pr.name[l], fmin[l] / S * 1e6,
               pr.fwd_flops[l] ? pr.fwd_flops[l] * S / fmin[l] * 1e-9 : 0, bmin[l] / S * 1e6,
               pr.bwd_flops[l] ? pr.bwd_flops[l] * S / bmin[l] * 1e-9 : 0);
    }
    printf("sum of minima %.3f us/sample (fwd %.3f, bwd %.3f); best whole step %.3f us/sample, median %.3f\n",
           (sf + sb) / S * 1e6, sf / S * 1e6, sb / S * 1e6, steps[0] / S * 1e6, steps[reps / 2] / S * 1e6);
    printf("whole step percentiles (us/sample): p10 %.2f p25 %.2f p50 %.2f p75 %.2f p90 %.2f\n", steps[reps / 10] / S * 1e6,
           steps[reps / 4] / S * 1e6, steps[reps / 2] / S * 1e6, steps[3 * reps / 4] / S * 1e6, steps[9 * reps / 10] / S * 1e6);
    free(steps);
    ln_lenet_free(&net);
    return 0;
}
