/* fma_peak.c - the machine's float32 FMA peak, for `make bench`.
 *
 * A loop of independent fused multiply-adds on registers only: 12 chains of
 * 512-bit FMAs (AVX-512F) where the CPU has it, else 12 chains of 256-bit
 * FMAs (AVX2 + FMA), picked at run time. 12 independent accumulators cover
 * two FMA ports with a 4-6 cycle latency, so the loop is limited by the
 * FMA throughput alone. Run on 1 thread and on every CPU the process may use
 * (one loop per thread, no shared data); best of 60 short trials, since
 * other work on a shared machine only ever makes a trial slower.
 *
 * Then, on 1 thread, SHORT trials of about half a millisecond (a training
 * step's length), alternating two loops: the FMA loop above and a
 * convolution-shaped one (20 chains, each FMA taking a broadcast weight and
 * a vector loaded from a 16 KB block in L1, as src/lanes_kernels.c's conv_fwd
 * does). On a machine of its own both run near the peak in nearly every
 * trial; where something outside the process shares the core (a busy SMT
 * sibling on the host of a virtual machine), the loop with loads loses far
 * more than the register-only one, and so do the real kernels. Reported as
 * best and median GFLOP/s of each.
 *
 * Prints one JSON object: {"isa", "cpu", "threads", "gflops_1", "gflops_n",
 * "short_fma_best", "short_fma_median", "short_conv_best",
 * "short_conv_median"}, FLOP counted as 2 per lane per FMA. Exit 1 if the
 * CPU has neither. */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { CHAINS = 12, ITERS = 1000000, TRIALS = 60 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

#define FMA12(f)                                                                                             \
    (c0 = f(c0, a, b), c1 = f(c1, a, b), c2 = f(c2, a, b), c3 = f(c3, a, b), c4 = f(c4, a, b),              \
     c5 = f(c5, a, b), c6 = f(c6, a, b), c7 = f(c7, a, b), c8 = f(c8, a, b), c9 = f(c9, a, b),              \
     c10 = f(c10, a, b), c11 = f(c11, a, b))

/* Each returns a value depending on every chain, so nothing is elided. */
__attribute__((target("avx512f"))) static float loop_avx512(float seed, long iters) {
    /* Twelve named registers (an array would be kept in memory). */
    __m512 c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11;
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f * seed);
    c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = c8 = c9 = c10 = c11 = _mm512_set1_ps(seed);
    for (long i = 0; i < iters; i++) {
        FMA12(_mm512_fmadd_ps);
        __asm__ volatile("" : "+v"(c0), "+v"(c1), "+v"(c2), "+v"(c3), "+v"(c4), "+v"(c5),
                         "+v"(c6), "+v"(c7), "+v"(c8), "+v"(c9), "+v"(c10), "+v"(c11));
    }
    const __m512 acc[CHAINS] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11};
    __m512 s = acc[0];
    for (int c = 1; c < CHAINS; c++) s = _mm512_add_ps(s, acc[c]);
    return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) static float loop_avx2(float seed, long iters) {
    /* Twelve named registers (an array would be kept in memory). */
    __m256 c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11;
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f * seed);
    c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = c8 = c9 = c10 = c11 = _mm256_set1_ps(seed);
    for (long i = 0; i < iters; i++) {
        FMA12(_mm256_fmadd_ps);
        __asm__ volatile("" : "+x"(c0), "+x"(c1), "+x"(c2), "+x"(c3), "+x"(c4), "+x"(c5),
                         "+x"(c6), "+x"(c7), "+x"(c8), "+x"(c9), "+x"(c10), "+x"(c11));
    }
    const __m256 acc[CHAINS] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11};
    __m256 s = acc[0];
    for (int c = 1; c < CHAINS; c++) s = _mm256_add_ps(s, acc[c]);
    float t[8];
    _mm256_storeu_ps(t, s);
    return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}

/* The convolution-shaped loop: per iteration 4 broadcast weights x 5
 * vectors loaded from blk (16 KB, 64-byte aligned), 20 chains. */
enum { CONV_W = 4, CONV_PX = 5, CONV_BLK = 4096 };
__attribute__((target("avx512f"))) static float conv_avx512(const float *blk, long iters) {
    __m512 c[CONV_W * CONV_PX];
#pragma GCC unroll 20
    for (int i = 0; i < CONV_W * CONV_PX; i++) c[i] = _mm512_setzero_ps();
    for (long k = 0; k < iters; k++) {
        const float *w = blk + (k * CONV_W) % 1024, *x = blk + 1024 + (k * 16) % 2048;
#pragma GCC unroll 4
        for (int j = 0; j < CONV_W; j++) {
            const __m512 wv = _mm512_set1_ps(w[j]);
#pragma GCC unroll 5
            for (int p = 0; p < CONV_PX; p++) c[j * CONV_PX + p] = _mm512_fmadd_ps(wv, _mm512_load_ps(x + 16 * p), c[j * CONV_PX + p]);
        }
    }
    __m512 s = c[0];
#pragma GCC unroll 20
    for (int i = 1; i < CONV_W * CONV_PX; i++) s = _mm512_add_ps(s, c[i]);
    return _mm512_reduce_add_ps(s);
}
__attribute__((target("avx2,fma"))) static float conv_avx2(const float *blk, long iters) {
    __m256 c[CONV_W * CONV_PX];
#pragma GCC unroll 20
    for (int i = 0; i < CONV_W * CONV_PX; i++) c[i] = _mm256_setzero_ps();
    for (long k = 0; k < iters; k++) {
        const float *w = blk + (k * CONV_W) % 1024, *x = blk + 1024 + (k * 8) % 2048;
#pragma GCC unroll 4
        for (int j = 0; j < CONV_W; j++) {
            const __m256 wv = _mm256_set1_ps(w[j]);
#pragma GCC unroll 5
            for (int p = 0; p < CONV_PX; p++) c[j * CONV_PX + p] = _mm256_fmadd_ps(wv, _mm256_load_ps(x + 8 * p), c[j * CONV_PX + p]);
        }
    }
    __m256 s = c[0];
#pragma GCC unroll 20
    for (int i = 1; i < CONV_W * CONV_PX; i++) s = _mm256_add_ps(s, c[i]);
    float t[8];
    _mm256_storeu_ps(t, s);
    return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Short trials on this thread (~0.3 ms each), the two loops alternating:
 * best and median GFLOP/s of each. */
enum { SHORT_TRIALS = 400, SHORT_FMA_ITERS = 100000, SHORT_CONV_ITERS = 60000 };
static void measure_short(int avx512, const float *blk, volatile float *sink, double out[4]) {
    const int lanes = avx512 ? 16 : 8;
    static double f[SHORT_TRIALS], c[SHORT_TRIALS];
    for (int t = 0; t < SHORT_TRIALS; t++) {
        const double t0 = now();
        *sink += avx512 ? loop_avx512(1.f, SHORT_FMA_ITERS) : loop_avx2(1.f, SHORT_FMA_ITERS);
        const double t1 = now();
        *sink += avx512 ? conv_avx512(blk, SHORT_CONV_ITERS) : conv_avx2(blk, SHORT_CONV_ITERS);
        const double t2 = now();
        f[t] = 2.0 * lanes * CHAINS * SHORT_FMA_ITERS / (t1 - t0) * 1e-9;
        c[t] = 2.0 * lanes * CONV_W * CONV_PX * SHORT_CONV_ITERS / (t2 - t1) * 1e-9;
    }
    qsort(f, SHORT_TRIALS, sizeof(double), cmp_double);
    qsort(c, SHORT_TRIALS, sizeof(double), cmp_double);
    out[0] = f[SHORT_TRIALS - 1], out[1] = f[SHORT_TRIALS / 2], out[2] = c[SHORT_TRIALS - 1], out[3] = c[SHORT_TRIALS / 2];
}

/* Best GFLOP/s of TRIALS runs on `threads` threads (each runs the loop). */
static double measure(int avx512, int threads, volatile float *sink) {
    const int lanes = avx512 ? 16 : 8;
    double best = 0.0;
    for (int t = 0; t < TRIALS + 1; t++) {
        const double t0 = now();
        float s = 0.f;
        #pragma omp parallel num_threads(threads) reduction(+ : s)
        s += avx512 ? loop_avx512((float)omp_get_thread_num(), ITERS) : loop_avx2((float)omp_get_thread_num(), ITERS);
        const double dt = now() - t0;
        *sink += s;
        const double gf = 2.0 * lanes * CHAINS * (double)ITERS * threads / dt * 1e-9;
        if (t > 0 && gf > best) best = gf; /* t = 0 warms up (clocks, page faults) */
    }
    return best;
}

int main(void) {
    __builtin_cpu_init();
    const int avx512 = __builtin_cpu_supports("avx512f");
    if (!avx512 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) {
        fprintf(stderr, "fma_peak: this CPU has neither AVX-512F nor AVX2+FMA\n");
        return 1;
    }
    char cpu[256] = "?";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
                snprintf(cpu, sizeof cpu, "%s", strchr(line, ':') + 2);
                cpu[strcspn(cpu, "\n\"\\")] = 0;
                break;
            }
        fclose(f);
    }
    const int n = omp_get_num_procs();
    volatile float sink = 0.f;
    const double g1 = measure(avx512, 1, &sink);
    const double gn = n > 1 ? measure(avx512, n, &sink) : g1;
    static float blk[CONV_BLK] __attribute__((aligned(64)));
    for (int i = 0; i < CONV_BLK; i++) blk[i] = 1e-3f * (float)(i % 7);
    double sh[4];
    measure_short(avx512, blk, &sink, sh);
    printf("{\"isa\": \"%s\", \"cpu\": \"%s\", \"threads\": %d, \"gflops_1\": %.1f, \"gflops_n\": %.1f, "
           "\"short_fma_best\": %.1f, \"short_fma_median\": %.1f, \"short_conv_best\": %.1f, "
           "\"short_conv_median\": %.1f}\n",
           avx512 ? "avx512" : "avx2", cpu, n, g1, gn, sh[0], sh[1], sh[2], sh[3]);
    return sink == 12345.f; /* never; keeps the results used */
}
