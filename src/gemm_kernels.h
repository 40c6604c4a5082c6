/* gemm_kernels.h - the tiled kernels, one set per instruction-set variant.
 * gemm_kernels.c is compiled once per variant with LN_KSUFFIX set. */
#ifndef LENET_GEMM_KERNELS_H
#define LENET_GEMM_KERNELS_H

#include "lenet/gemm.h"

#define LN_DECLARE_GEMM(sfx)                                                                           \
    void ln_gemm_nn_##sfx(int, int, int, const float *, int, const float *, int, float *, int, int, int); \
    void ln_gemm_tn_##sfx(int, int, int, const float *, int, const float *, int, float *, int, int, int); \
    void ln_gemm_nt_##sfx(int, int, int, const float *, int, const float *, int, float *, int, int, int);

LN_DECLARE_GEMM(generic)
LN_DECLARE_GEMM(avx2)
LN_DECLARE_GEMM(avx512)

#endif
