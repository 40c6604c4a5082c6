/* harness.c - see harness.h. */
#include "harness.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void test_check(test_ctx *t, int ok, const char *what, const char *file, int line) {
    if (ok) {
        t->passed++;
        printf("  ok    %s\n", what);
    } else {
        t->failed++;
        printf("  FAIL  %s  (%s:%d)\n", what, file, line);
    }
    fflush(stdout);
}

int test_finish(test_ctx *t) {
    printf("%s: %d passed, %d failed\n", t->name, t->passed, t->failed);
    return t->failed ? 1 : 0;
}

double test_max_rel(const float *a, const double *b, size_t n, double floor, size_t *worst) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double den = fabs(b[i]) > floor ? fabs(b[i]) : floor;
        double r = fabs((double)a[i] - b[i]) / den;
        if (r > m || isnan(r)) {
            m = isnan(r) ? INFINITY : r;
            if (worst) *worst = i;
        }
    }
    return m;
}

const char *test_data_dir(void) {
    const char *d = getenv("TEST_DATA");
    return d ? d : "tests/data";
}

const char *test_mnist_dir(void) {
    const char *d = getenv("MNIST_DIR");
    return d ? d : "datasets/MNIST_Data";
}

unsigned char *test_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = n >= 0 ? (size_t)n : 0;
    return b;
}

int test_make_tmpdir(char *dir, size_t size, const char *name) {
    if (snprintf(dir, size, "/tmp/lenet_%s_XXXXXX", name) >= (int)size || !mkdtemp(dir)) {
        fprintf(stderr, "cannot make a temporary folder /tmp/lenet_%s_XXXXXX: %s\n", name, strerror(errno));
        return -1;
    }
    return 0;
}

void test_rm_tmpdir(const char *dir) {
    char cmd[600];
    if (strncmp(dir, "/tmp/lenet_", 11) != 0 || strchr(dir, '\'') || strlen(dir) > 500) return;
    snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

void test_dataset(ln_dataset *d, uint32_t n, uint8_t (*pixel)(uint32_t image, uint32_t k)) {
    memset(d, 0, sizeof *d);
    d->images.count = d->labels.count = n;
    d->images.rows = d->images.cols = 28;
    d->images.pixels = malloc((size_t)n * 784);
    d->labels.labels = malloc(n ? n : 1);
    if (!d->images.pixels || !d->labels.labels) {
        fprintf(stderr, "test_dataset: out of memory\n");
        exit(1);
    }
    for (uint32_t k = 0; k < n * 784; k++) d->images.pixels[k] = pixel(k / 784, k);
    for (uint32_t i = 0; i < n; i++) d->labels.labels[i] = (uint8_t)(i % 10);
}
