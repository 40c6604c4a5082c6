/* gemm_kernels.c - tiled GEMM kernels in portable C, written so that the
 * compiler vectorises the inner loops for whatever instruction set this file
 * is compiled for (the Makefile builds it as generic, AVX2+FMA and AVX-512;
 * gemm.c picks one at run time). Hand-written rather than a BLAS because
 * LeNet's matrices are tiny and odd-shaped (M = 6 or 16, N = 10..25088),
 * where per-call overhead dominates, and because we need every element's
 * summation order fixed regardless of threads (see gemm.h).
 *
 * nn/tn: 4 x 16 register tiles, k innermost, one accumulator per element.
 * nt:    dot products with 16 lane-accumulators, reduced in a fixed tree.
 */
#include "gemm_kernels.h"

#ifndef LN_KSUFFIX
#error "compile with -DLN_KSUFFIX=generic|avx2|avx512"
#endif
#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define KFN(name) CAT(name, LN_KSUFFIX)

#define MR 4
#define NR 16
#define LANES 16

/* One MRc x NR tile of C: element (i, k) of op(A) is A[i*sai + k*sak]. */
static inline __attribute__((always_inline)) void tile_full(int MRc, int K, const float *A, long sai,
                                                            long sak, const float *B, int ldb, float *C,
                                                            int ldc, int accumulate) {
    float c[MR][NR];
    for (int r = 0; r < MRc; r++)
        for (int j = 0; j < NR; j++) c[r][j] = accumulate ? C[(long)r * ldc + j] : 0.f;
    for (int k = 0; k < K; k++) {
        const float *b = B + (long)k * ldb;
        for (int r = 0; r < MRc; r++) {
            const float a = A[r * sai + k * sak];
            for (int j = 0; j < NR; j++) c[r][j] += a * b[j];
        }
    }
    for (int r = 0; r < MRc; r++)
        for (int j = 0; j < NR; j++) C[(long)r * ldc + j] = c[r][j];
}

/* Edge tile (mr <= MR rows, nr < NR columns): plain loops, same k order. */
static void tile_edge(int mr, int nr, int K, const float *A, long sai, long sak, const float *B, int ldb,
                      float *C, int ldc, int accumulate) {
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++) {
            float s = accumulate ? C[(long)r * ldc + j] : 0.f;
            for (int k = 0; k < K; k++) s += A[r * sai + k * sak] * B[(long)k * ldb + j];
            C[(long)r * ldc + j] = s;
        }
}

static void gemm_tiles(int M, int N, int K, const float *A, long sai, long sak, const float *B, int ldb,
                       float *C, int ldc, int accumulate, int threads) {
    const int tm = (M + MR - 1) / MR, tn = (N + NR - 1) / NR, ntiles = tm * tn;
    const double flops = 2.0 * M * N * K;
    /* Column tiles outermost so a thread streams a contiguous block of B. */
    #pragma omp parallel for num_threads(threads) schedule(static) if (flops > 2e5 && threads > 1)
    for (int t = 0; t < ntiles; t++) {
        const int i0 = (t % tm) * MR, j0 = (t / tm) * NR;
        const int mr = M - i0 < MR ? M - i0 : MR, nr = N - j0 < NR ? N - j0 : NR;
        const float *a = A + i0 * sai;
        const float *b = B + j0;
        float *c = C + (long)i0 * ldc + j0;
        if (nr == NR) {
            switch (mr) {
            case 4: tile_full(4, K, a, sai, sak, b, ldb, c, ldc, accumulate); break;
            case 3: tile_full(3, K, a, sai, sak, b, ldb, c, ldc, accumulate); break;
            case 2: tile_full(2, K, a, sai, sak, b, ldb, c, ldc, accumulate); break;
            default: tile_full(1, K, a, sai, sak, b, ldb, c, ldc, accumulate); break;
            }
        } else {
            tile_edge(mr, nr, K, a, sai, sak, b, ldb, c, ldc, accumulate);
        }
    }
}

void KFN(ln_gemm_nn)(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
                     int ldc, int accumulate, int threads) {
    gemm_tiles(M, N, K, A, lda, 1, B, ldb, C, ldc, accumulate, threads);
}

void KFN(ln_gemm_tn)(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
                     int ldc, int accumulate, int threads) {
    gemm_tiles(M, N, K, A, 1, lda, B, ldb, C, ldc, accumulate, threads);
}

/* Sum 16 lanes in a fixed pairwise order. */
static inline float reduce_lanes(const float *v) {
    float t8[8], t4[4];
    for (int i = 0; i < 8; i++) t8[i] = v[i] + v[i + 8];
    for (int i = 0; i < 4; i++) t4[i] = t8[i] + t8[i + 4];
    return (t4[0] + t4[2]) + (t4[1] + t4[3]);
}

/* C[i][j] = dot(A row i, B row j) over K, 4 rows of A at a time. */
void KFN(ln_gemm_nt)(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
                     int ldc, int accumulate, int threads) {
    const int kv = K / LANES * LANES;
    const double flops = 2.0 * M * N * K;
    #pragma omp parallel for num_threads(threads) schedule(static) if (flops > 2e5 && threads > 1)
    for (int j = 0; j < N; j++) {
        const float *b = B + (long)j * ldb;
        int i = 0;
        for (; i + 4 <= M; i += 4) {
            float acc[4][LANES] = {{0}};
            const float *a0 = A + (long)i * lda;
            for (int k = 0; k < kv; k += LANES)
                for (int r = 0; r < 4; r++)
                    for (int l = 0; l < LANES; l++) acc[r][l] += a0[(long)r * lda + k + l] * b[k + l];
            for (int r = 0; r < 4; r++) {
                float s = reduce_lanes(acc[r]);
                for (int k = kv; k < K; k++) s += a0[(long)r * lda + k] * b[k];
                float *c = &C[(long)(i + r) * ldc + j];
                *c = accumulate ? *c + s : s;
            }
        }
        for (; i < M; i++) {
            float acc[LANES] = {0};
            const float *a = A + (long)i * lda;
            for (int k = 0; k < kv; k += LANES)
                for (int l = 0; l < LANES; l++) acc[l] += a[k + l] * b[k + l];
            float s = reduce_lanes(acc);
            for (int k = kv; k < K; k++) s += a[k] * b[k];
            float *c = &C[(long)i * ldc + j];
            *c = accumulate ? *c + s : s;
        }
    }
}
