/* bench_infer.c - inference side of `make bench`: evaluation throughput over
 * the 10,000 test images and single-image latency (the one-image snapshot,
 * and ln_lenet_forward of one image), measured like
 * bench/torch_lenet.py (images preprocessed before timing; the network's
 * weights are random - speed does not depend on them).
 *
 * Usage: bench_infer MNIST_DIR THREADS   -> one JSON object on stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lenet/net.h"
#include "lenet/pipeline.h"
#include "lenet/single.h"
#include "lenet/transform.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: bench_infer MNIST_DIR THREADS\n");
        return 2;
    }
    const int threads = atoi(argv[2]);
    ln_error err;
    ln_dataset test;
    if (ln_dataset_load(argv[1], "test", &test, &err)) {
        fprintf(stderr, "bench_infer: %s\n", err.msg);
        return 2;
    }
    const int n = (int)test.images.count, EB = 256;
    float *x = malloc(sizeof(float) * (size_t)n * 1024);
    int32_t *y = malloc(sizeof(int32_t) * (size_t)n);
    ln_pipeline_rows(&test, 0, n, threads, x, y);

    ln_lenet net, one;
    if (ln_lenet_init(&net, 1, EB, threads, NULL, &err) || ln_lenet_init(&one, 1, 1, 1, NULL, &err)) {
        fprintf(stderr, "bench_infer: %s\n", err.msg);
        return 1;
    }
    ln_lenet_init_weights(&net, 1);
    memcpy(one.params, net.params, net.n_params * sizeof(float));

    /* evaluation: best of 5 passes over the test set */
    double best = 1e9;
    for (int r = 0; r < 6; r++) {
        double t0 = now();
        for (int i = 0; i < n; i += EB) ln_lenet_forward(&net, x + (size_t)i * 1024, n - i < EB ? n - i : EB);
        double dt = now() - t0;
        if (r > 0 && dt < best) best = dt; /* r = 0 warms up */
    }
    /* latency: one image, one thread, median of 2000 calls, alternating
     * between the one-image snapshot (single.h: what `lenet serve` runs for
     * a request of one image) and ln_lenet_forward of one image */
    enum { CALLS = 2000 };
    static double lat[CALLS], lat_fwd[CALLS];
    ln_single *snap;
    if (ln_single_new(&one, &snap, &err)) {
        fprintf(stderr, "bench_infer: %s\n", err.msg);
        return 1;
    }
    float z[10];
    for (int i = 0; i < 200; i++) {
        ln_lenet_forward(&one, x + (size_t)(i % n) * 1024, 1);
        ln_single_logits(snap, x + (size_t)(i % n) * 1024, z);
    }
    for (int i = 0; i < CALLS; i++) {
        double t0 = now();
        ln_single_logits(snap, x + (size_t)(i % n) * 1024, z);
        double t1 = now();
        ln_lenet_forward(&one, x + (size_t)(i % n) * 1024, 1);
        lat[i] = t1 - t0, lat_fwd[i] = now() - t1;
    }
    qsort(lat, CALLS, sizeof lat[0], cmp_double);
    qsort(lat_fwd, CALLS, sizeof lat_fwd[0], cmp_double);
    printf("{\"kernels\": \"%s\", \"eval_images_per_second\": %.0f, \"latency_us\": %.2f, \"latency_forward_us\": %.2f}\n",
           ln_lenet_kernels(&net), n / best, lat[CALLS / 2] * 1e6, lat_fwd[CALLS / 2] * 1e6);
    ln_single_free(snap);
    ln_lenet_free(&net);
    ln_lenet_free(&one);
    free(x), free(y);
    ln_dataset_free(&test);
    return 0;
}
