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
#include "kernel_suffix.h"
#include "fpflush.h"

#define MR 4
#define NR 16
#define LANES 16

/* Portable tiles (used by the generic build). */
#if !defined(__AVX2__)
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
#endif

#if defined(__AVX512F__)
#include <immintrin.h>
/* AVX-512: tiles of up to 8 rows x 32 columns (16 zmm accumulators), masked
 * loads/stores for the last columns, FMA. */
#define TMR 8
#define TNR 32
static inline __attribute__((always_inline)) void tile_simd(int MRc, int nr, int K, const float *A, long sai,
                                                            long sak, const float *B, int ldb, float *C,
                                                            int ldc, int accumulate) {
    const __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1);
    const __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1) : 0;
    __m512 c0[TMR], c1[TMR];
    for (int r = 0; r < MRc; r++) {
        c0[r] = accumulate ? _mm512_maskz_loadu_ps(m0, C + (long)r * ldc) : _mm512_setzero_ps();
        c1[r] = accumulate ? _mm512_maskz_loadu_ps(m1, C + (long)r * ldc + 16) : _mm512_setzero_ps();
    }
    for (int k = 0; k < K; k++) {
        const float *b = B + (long)k * ldb;
        const __m512 b0 = _mm512_maskz_loadu_ps(m0, b), b1 = _mm512_maskz_loadu_ps(m1, b + 16);
        for (int r = 0; r < MRc; r++) {
            const __m512 a = _mm512_set1_ps(A[r * sai + k * sak]);
            c0[r] = _mm512_fmadd_ps(a, b0, c0[r]);
            c1[r] = _mm512_fmadd_ps(a, b1, c1[r]);
        }
    }
    for (int r = 0; r < MRc; r++) {
        _mm512_mask_storeu_ps(C + (long)r * ldc, m0, c0[r]);
        _mm512_mask_storeu_ps(C + (long)r * ldc + 16, m1, c1[r]);
    }
}
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
/* AVX2: tiles of up to 6 rows x 16 columns (12 ymm accumulators), masked
 * loads/stores for the last columns, FMA. */
#define TMR 6
#define TNR 16
static inline __m256i lane_mask(int n) { /* lanes < n set */
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}
static inline __attribute__((always_inline)) void tile_simd(int MRc, int nr, int K, const float *A, long sai,
                                                            long sak, const float *B, int ldb, float *C,
                                                            int ldc, int accumulate) {
    const __m256i m0 = lane_mask(nr), m1 = lane_mask(nr - 8);
    __m256 c0[TMR], c1[TMR];
    for (int r = 0; r < MRc; r++) {
        c0[r] = accumulate ? _mm256_maskload_ps(C + (long)r * ldc, m0) : _mm256_setzero_ps();
        c1[r] = accumulate ? _mm256_maskload_ps(C + (long)r * ldc + 8, m1) : _mm256_setzero_ps();
    }
    for (int k = 0; k < K; k++) {
        const float *b = B + (long)k * ldb;
        const __m256 b0 = _mm256_maskload_ps(b, m0), b1 = _mm256_maskload_ps(b + 8, m1);
        for (int r = 0; r < MRc; r++) {
            const __m256 a = _mm256_broadcast_ss(&A[r * sai + k * sak]);
            c0[r] = _mm256_fmadd_ps(a, b0, c0[r]);
            c1[r] = _mm256_fmadd_ps(a, b1, c1[r]);
        }
    }
    for (int r = 0; r < MRc; r++) {
        _mm256_maskstore_ps(C + (long)r * ldc, m0, c0[r]);
        _mm256_maskstore_ps(C + (long)r * ldc + 8, m1, c1[r]);
    }
}
#endif

#ifdef TMR
/* Intrinsics build: every tile (full or edge) goes through tile_simd with a
 * compile-time row count, so each element is summed the same way. */
static void gemm_tiles(int M, int N, int K, const float *A, long sai, long sak, const float *B, int ldb,
                       float *C, int ldc, int accumulate, int threads) {
    const int tm = (M + TMR - 1) / TMR, tn = (N + TNR - 1) / TNR, ntiles = tm * tn;
    const double flops = 2.0 * M * N * K;
    #pragma omp parallel num_threads(threads) if (flops > 2e5 && threads > 1)
    {
        const unsigned fp = ln_fpflush_enter(); /* fpflush.h */
        #pragma omp for schedule(static)
        for (int t = 0; t < ntiles; t++) {
            const int i0 = (t % tm) * TMR, j0 = (t / tm) * TNR;
            const int mr = M - i0 < TMR ? M - i0 : TMR, nr = N - j0 < TNR ? N - j0 : TNR;
            const float *a = A + i0 * sai;
            const float *b = B + j0;
            float *c = C + (long)i0 * ldc + j0;
            switch (mr) {
#if TMR == 8
            case 8: tile_simd(8, nr, K, a, sai, sak, b, ldb, c, ldc, accumulate); break;
            case 7: tile_simd(7, nr, K, a, sai, sak, b, ldb, c, ldc, accumulate); break;
#endif
            case 6: tile_simd(6, nr, K, a, sai, sak, b, ldb, c, ldc, accumulate); break;
            case 5: tile_simd(5, nr, K, a, sai, sak, b, ldb, c, ldc, accumulate); break;
            case 4: tile_simd(4, nr, K, a, sai, sak, b, ldb, c, ldc, accumulate); break;
            case 3: tile_simd(3, nr, K, a, sai, sak, b, ldb, c, ldc, accumulate); break;
            case 2: tile_simd(2, nr, K, a, sai, sak, b, ldb, c, ldc, accumulate); break;
            default: tile_simd(1, nr, K, a, sai, sak, b, ldb, c, ldc, accumulate); break;
            }
        }
        ln_fpflush_leave(fp);
    }
}
#else
static void gemm_tiles(int M, int N, int K, const float *A, long sai, long sak, const float *B, int ldb,
                       float *C, int ldc, int accumulate, int threads) {
    const int tm = (M + MR - 1) / MR, tn = (N + NR - 1) / NR, ntiles = tm * tn;
    const double flops = 2.0 * M * N * K;
    /* Column tiles outermost so a thread streams a contiguous block of B. */
    #pragma omp parallel num_threads(threads) if (flops > 2e5 && threads > 1)
    {
        const unsigned fp = ln_fpflush_enter(); /* fpflush.h */
        #pragma omp for schedule(static)
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
        ln_fpflush_leave(fp);
    }
}
#endif

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
    #pragma omp parallel num_threads(threads) if (flops > 2e5 && threads > 1)
    {
        const unsigned fp = ln_fpflush_enter(); /* fpflush.h */
        #pragma omp for schedule(static)
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
        ln_fpflush_leave(fp);
    }
}
