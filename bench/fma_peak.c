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
 * Prints one JSON object: {"isa", "cpu", "threads", "gflops_1", "gflops_n"},
 * FLOP counted as 2 per lane per FMA. Exit 1 if the CPU has neither. */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
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
__attribute__((target("avx512f"))) static float loop_avx512(float seed) {
    /* Twelve named registers (an array would be kept in memory). */
    __m512 c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11;
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f * seed);
    c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = c8 = c9 = c10 = c11 = _mm512_set1_ps(seed);
    for (long i = 0; i < ITERS; i++) {
        FMA12(_mm512_fmadd_ps);
        __asm__ volatile("" : "+v"(c0), "+v"(c1), "+v"(c2), "+v"(c3), "+v"(c4), "+v"(c5),
                         "+v"(c6), "+v"(c7), "+v"(c8), "+v"(c9), "+v"(c10), "+v"(c11));
    }
    const __m512 acc[CHAINS] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11};
    __m512 s = acc[0];
    for (int c = 1; c < CHAINS; c++) s = _mm512_add_ps(s, acc[c]);
    return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) static float loop_avx2(float seed) {
    /* Twelve named registers (an array would be kept in memory). */
    __m256 c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11;
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f * seed);
    c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = c8 = c9 = c10 = c11 = _mm256_set1_ps(seed);
    for (long i = 0; i < ITERS; i++) {
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

/* Best GFLOP/s of TRIALS runs on `threads` threads (each runs the loop). */
static double measure(int avx512, int threads, volatile float *sink) {
    const int lanes = avx512 ? 16 : 8;
    double best = 0.0;
    for (int t = 0; t < TRIALS + 1; t++) {
        const double t0 = now();
        float s = 0.f;
        #pragma omp parallel num_threads(threads) reduction(+ : s)
        s += avx512 ? loop_avx512((float)omp_get_thread_num()) : loop_avx2((float)omp_get_thread_num());
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
    printf("{\"isa\": \"%s\", \"cpu\": \"%s\", \"threads\": %d, \"gflops_1\": %.1f, \"gflops_n\": %.1f}\n",
           avx512 ? "avx512" : "avx2", cpu, n, g1, gn);
    return sink == 12345.f; /* never; keeps the results used */
}
