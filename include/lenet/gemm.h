/* gemm.h - the matrix products every layer is built from.
 *
 * Row-major float32. Three shapes (M, N, K as in C(MxN) = op(A) op(B)):
 *   nn: C = A B        A (M x K, lda), B (K x N, ldb)
 *   tn: C = A^T B      A (K x M, lda), B (K x N, ldb)
 *   nt: C = A B^T      A (M x K, lda), B (N x K, ldb)
 * `accumulate` = 0 overwrites C, 1 adds to it.
 *
 * Determinism: every element of C is computed by one thread, summing over k
 * in an order fixed by the kernel alone, and work is split on tile
 * boundaries that do not depend on the thread count, so results are
 * bit-identical for any `threads`.
 *
 * Kernels: a plain C reference (`ln_gemm_ref_*`, straightforward loops, used
 * by the tests) and tiled kernels compiled three times - generic x86-64
 * (SSE2), AVX2+FMA and AVX-512 - one of which is chosen at run time from the
 * CPU's features (ln_gemm_select). Fast kernels may use FMA, so they agree
 * with the reference to rounding, not bit for bit.
 */
#ifndef LENET_GEMM_H
#define LENET_GEMM_H

typedef void (*ln_gemm_fn)(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                           float *C, int ldc, int accumulate, int threads);

typedef struct {
    const char *name; /* "generic", "avx2", "avx512" */
    ln_gemm_fn nn, tn, nt;
} ln_gemm_kernels;

/* Pick kernels: `want` NULL or "auto" = best the CPU supports; else a name.
 * Returns 0, or -1 if the named variant is unknown or unsupported here. */
int ln_gemm_select(ln_gemm_kernels *k, const char *want);

void ln_gemm_ref_nn(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
                    int ldc, int accumulate, int threads);
void ln_gemm_ref_tn(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
                    int ldc, int accumulate, int threads);
void ln_gemm_ref_nt(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
                    int ldc, int accumulate, int threads);

#endif
