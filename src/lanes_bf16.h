/* lanes_bf16.h - the lanes engine in mixed precision (amp level O2,
 * internal): convolutions and dense layers, forward and backward, multiply
 * bf16 operands and accumulate in float32; everything else (bias, ReLU,
 * pooling, the loss, the gradient sum, the optimizer) stays float32, as do
 * the weights the optimizer updates (the "master" weights).
 *
 * bf16 = the upper 16 bits of a float32. A float32 becomes bf16 by the rule
 * of VCVTNE(2)PS2BF16: round to nearest even; denormals become a zero of
 * the same sign; NaN keeps its sign and top payload bits, quiet bit set.
 * Every product is made by one step of VDPBF16PS: a 32-bit "pair" holds two
 * bf16 (lo = bits 15:0, hi = bits 31:16), and per 32-bit lane
 *     acc = FMA(a.hi, b.hi, acc); acc = FMA(a.lo, b.lo, acc)
 * with bf16 operands and the accumulator read with denormals as zero, each
 * FMA rounded to nearest even (exact bf16 products, so one rounding each),
 * and a result that is tiny after rounding (|r| < 2^-126, at 24-bit
 * precision) flushed to a zero of its sign. Builds for CPUs with
 * AVX512_BF16 use the instruction; the others emulate it exactly (two FMAs
 * in the engine's FTZ + DAZ mode, NaNs redone by the flushing rules spelled
 * out; lanes_bf16.c), so results are bit-identical on every CPU.
 *
 * Layouts. A pair runs along a layer's reduction: vdpbf16ps multiplies the
 * two bf16 of a lane by the two of the broadcast weight pair. Activations
 * of a group (element, 16 lanes) become (element / 2, 16 lanes) pairs of
 * adjacent elements ("element pairs"), or, for a convolution's input, pairs
 * of horizontally adjacent pixels at every x ("sliding pairs": position x
 * holds pixels x and x+1, zero past the row's end), so that any tap pair
 * (kx, kx+1) and any output pixel pair (ox, ox+1) reads one aligned vector.
 * Kernel rows of 5 taps are 3 pairs, the last one (w4, 0).
 *   conv forward:     taps paired along kx         (input: sliding pairs)
 *   conv weight grad: output pixels paired along x (input: sliding pairs)
 *   conv input grad:  output channels paired        (conv2 only)
 *   fc forward:       input features paired
 *   fc input grad:    output features paired
 *   fc weight grad:   the 16 samples paired (lanes 2k, 2k+1)
 *
 * The weights are packed into bf16 pairs once per forward pass
 * (ln_bf16_pack_weights), shared by all groups; each group has its own
 * bf16 scratch (LN_BF16_GROUP_WORDS 32-bit words, g->bf). Kernels are
 * compiled per instruction set like lanes_kernels.c, plus "avx512bf16".
 */
#ifndef LENET_LANES_BF16_H
#define LENET_LANES_BF16_H

#include <stdint.h>
#include <string.h>

#include "lanes.h"

/* A float32 from its 32 bits, and its bits. */
static inline float ln_f32_of(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static inline uint32_t ln_bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Packed weights, in 32-bit words (see ln_bf16_pack_weights). */
#define LN_BF16_W_C1 (LN_CONV1_C * LN_IN_C * LN_KERNEL * 3)       /* conv1, taps paired along kx */
#define LN_BF16_W_C2 (LN_CONV2_C * LN_CONV1_C * LN_KERNEL * 3)    /* conv2, taps paired along kx */
#define LN_BF16_W_C2T (LN_CONV2_C / 2 * LN_CONV1_C * LN_KERNEL * LN_KERNEL) /* conv2, channels paired */
#define LN_BF16_W_F1 (LN_FC1_N * LN_FLAT / 2)                     /* fc1 (O, F/2), then (O/2, F) */
#define LN_BF16_W_F2 (LN_FC2_N * LN_FC1_N / 2)
#define LN_BF16_W_F3 (LN_CLASSES * LN_FC2_N / 2)
#define LN_BF16_WORDS (LN_BF16_W_C1 + LN_BF16_W_C2 + LN_BF16_W_C2T + 2 * (LN_BF16_W_F1 + LN_BF16_W_F2 + LN_BF16_W_F3))

/* Per-group scratch, in 32-bit words (lanes_bf16.c carves it). */
#define LN_BF16_GROUP_WORDS                                                                                  \
    (LN_LANES * (LN_IN_SIZE + LN_CONV1_C * LN_POOL1_PX + LN_FLAT / 2 + LN_FC1_N / 2 + LN_FC2_N / 2 +         \
                 LN_FC1_N / 2 + 2 * LN_CONV2_C * LN_CONV2_PX / 2 +                           \
                 LN_CONV1_C * LN_CONV1_PX / 2) +                                                             \
     LN_LANES / 2 * LN_LANES_TX + LN_FC1_N * LN_LANES / 2)

typedef struct {
    const char *name; /* "avx512bf16", "avx512-emulated", "avx2", "generic" */
    /* Pack p's weights into w (LN_BF16_WORDS words). */
    void (*pack)(const ln_lenet_views *p, uint32_t *w);
    /* A group's whole forward (g->x to g->lo) / backward (g->dlo to every
     * element of dg), with g->bf set and w packed from p (p still gives the
     * float32 biases); prof: NULL, or LN_PROF_SLOTS seconds per layer. */
    void (*forward)(const ln_lenet_views *p, const uint32_t *w, ln_lane_group *g, double *prof);
    void (*backward)(const ln_lenet_views *p, const uint32_t *w, ln_lenet_views *dg, ln_lane_group *g,
                     double *prof);
    /* The two primitives, for the tests: acc[i] = vdpbf16ps(acc[i], a[i],
     * b[i]) and pairs[i] = (bf16(hi[i]) << 16) | bf16(lo[i]), i < n. */
    void (*dot)(float *acc, const uint32_t *a, const uint32_t *b, long n);
    void (*pack2)(const float *lo, const float *hi, uint32_t *pairs, long n);
} ln_bf16_kernels;

/* The variant for an instruction set name: "avx512bf16", "avx512-emulated",
 * "avx2", "generic", or a lanes engine's name ("avx512" takes "avx512bf16"
 * if the CPU has it, else the emulation); "auto" (or NULL) picks the best
 * this CPU runs. -1 if the name is unknown or the CPU lacks it. */
int ln_bf16_select(ln_bf16_kernels *k, const char *isa);
/* 1 if this CPU (and OS) runs AVX512_BF16 instructions. */
int ln_bf16_cpu_has_avx512bf16(void);

/* The plain C reference: one float32 -> bf16 conversion and one
 * vdpbf16ps lane. */
uint16_t ln_bf16_round(float x);
float ln_bf16_dot_ref(float acc, uint32_t a, uint32_t b);

#define LN_BF16_DECLARE(isa)                                                                                 \
    void ln_bf16_pack_##isa(const ln_lenet_views *, uint32_t *);                                             \
    void ln_bf16_forward_##isa(const ln_lenet_views *, const uint32_t *, ln_lane_group *, double *);         \
    void ln_bf16_backward_##isa(const ln_lenet_views *, const uint32_t *, ln_lenet_views *, ln_lane_group *,   \
                                double *);                                                                   \
    void ln_bf16_dot_##isa(float *, const uint32_t *, const uint32_t *, long);                               \
    void ln_bf16_pack2_##isa(const float *, const float *, uint32_t *, long);
LN_BF16_DECLARE(generic)
LN_BF16_DECLARE(avx2)
LN_BF16_DECLARE(avx512)
LN_BF16_DECLARE(avx512bf16)

#endif
