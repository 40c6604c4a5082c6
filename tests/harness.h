/* harness.h - a tiny test harness: CHECK records a pass or a failure with
 * its line; finish() prints "<name>: N passed, M failed" and returns the
 * exit code (non-zero on any failure). */
#ifndef LENET_TEST_HARNESS_H
#define LENET_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "lenet/idx.h"

typedef struct {
    const char *name;
    int passed, failed;
} test_ctx;

void test_check(test_ctx *t, int ok, const char *what, const char *file, int line);
int test_finish(test_ctx *t);
/* max |a-b| / max(|b|, floor) over n values; reports the worst index. */
double test_max_rel(const float *a, const double *b, size_t n, double floor, size_t *worst);

#define CHECK(t, cond, what) test_check((t), (cond) ? 1 : 0, (what), __FILE__, __LINE__)

/* The whole file at `path` (malloc'd, one spare byte), its size in *len;
 * NULL if it cannot be read. */
unsigned char *test_read_file(const char *path, size_t *len);

/* Make a fresh temporary folder /tmp/lenet_<name>_XXXXXX (mkdtemp) into
 * dir; 0, or -1 after saying why on stderr. */
int test_make_tmpdir(char *dir, size_t size, const char *name);
/* rm -rf a temporary folder this suite made; refuses anything not under
 * /tmp/lenet_ (a guard against removing the wrong thing). */
void test_rm_tmpdir(const char *dir);

/* TEST_UNDER_ASAN: 1 when built with AddressSanitizer (gcc or clang). */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_UNDER_ASAN 1
#endif
#endif
#ifndef TEST_UNDER_ASAN
#define TEST_UNDER_ASAN 0
#endif

/* An in-memory data set of n 28x28 images: pixel k of the whole buffer
 * (image k / 784) is pixel(k / 784, k); label of image i is i % 10. Free
 * with ln_dataset_free. Exits on out of memory. */
void test_dataset(ln_dataset *d, uint32_t n, uint8_t (*pixel)(uint32_t image, uint32_t k));

/* A 64-bit LCG's next state, its high 32 bits returned (the tests' seeded
 * random numbers). */
static inline uint32_t test_rnd(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 32);
}

/* Path of the repo's test data folder (env TEST_DATA or tests/data). */
const char *test_data_dir(void);
/* MNIST root for end-to-end tests (env MNIST_DIR or datasets/MNIST_Data). */
const char *test_mnist_dir(void);

#endif
