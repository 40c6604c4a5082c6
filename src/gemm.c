/* gemm.c - reference kernels and run-time kernel selection (see gemm.h). */
#include "lenet/gemm.h"

#include <string.h>

#include "gemm_kernels.h"

/* Reference: one double-free float accumulator per element, k ascending. */
void ln_gemm_ref_nn(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
                    int ldc, int accumulate, int threads) {
    (void)threads;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float s = accumulate ? C[(long)i * ldc + j] : 0.f;
            for (int k = 0; k < K; k++) s += A[(long)i * lda + k] * B[(long)k * ldb + j];
            C[(long)i * ldc + j] = s;
        }
}

void ln_gemm_ref_tn(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
                    int ldc, int accumulate, int threads) {
    (void)threads;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float s = accumulate ? C[(long)i * ldc + j] : 0.f;
            for (int k = 0; k < K; k++) s += A[(long)k * lda + i] * B[(long)k * ldb + j];
            C[(long)i * ldc + j] = s;
        }
}

void ln_gemm_ref_nt(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
                    int ldc, int accumulate, int threads) {
    (void)threads;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float s = accumulate ? C[(long)i * ldc + j] : 0.f;
            for (int k = 0; k < K; k++) s += A[(long)i * lda + k] * B[(long)j * ldb + k];
            C[(long)i * ldc + j] = s;
        }
}

int ln_gemm_select(ln_gemm_kernels *k, const char *want) {
    int auto_pick = !want || !strcmp(want, "auto");
    __builtin_cpu_init();
    int has512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
                 __builtin_cpu_supports("fma");
    int has2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if ((auto_pick && has512) || (!auto_pick && !strcmp(want, "avx512"))) {
        if (!has512) return -1;
        *k = (ln_gemm_kernels){"avx512", ln_gemm_nn_avx512, ln_gemm_tn_avx512, ln_gemm_nt_avx512};
    } else if ((auto_pick && has2) || (!auto_pick && !strcmp(want, "avx2"))) {
        if (!has2) return -1;
        *k = (ln_gemm_kernels){"avx2", ln_gemm_nn_avx2, ln_gemm_tn_avx2, ln_gemm_nt_avx2};
    } else if (auto_pick || !strcmp(want, "generic")) {
        *k = (ln_gemm_kernels){"generic", ln_gemm_nn_generic, ln_gemm_tn_generic, ln_gemm_nt_generic};
    } else {
        return -1;
    }
    return 0;
}
