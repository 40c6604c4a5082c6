/* lanes_vec.h - what the lanes kernel files (lanes_kernels.c, lanes_bf16.c)
 * share: the 16-lane vector types and helpers, the profiling marks, short
 * names for arch.h's sizes, and the 2x2 max pooling with its backward
 * (float32 at every amp level). Included only by those files, each
 * compiled once per instruction set (kernel_suffix.h): everything here is
 * static, so each build gets its own copy.
 */
#ifndef LENET_LANES_VEC_H
#define LENET_LANES_VEC_H

#include <stdint.h>
#include <string.h>
#include <time.h>

#include "lanes.h"

#define L LN_LANES
#define K LN_KERNEL

typedef float vf __attribute__((vector_size(64)));
typedef int32_t vi __attribute__((vector_size(64)));
typedef uint32_t vu __attribute__((vector_size(64)));

/* Helpers are macros, not functions: a 64-byte vector passed by value
 * would have a different ABI in each build. */
#define bcast(s) ((vf){(s), (s), (s), (s), (s), (s), (s), (s), (s), (s), (s), (s), (s), (s), (s), (s)})
#define vsel(m, a, b) ((vf)(((vi)(a) & (m)) | ((vi)(b) & ~(m))))

/* Lane-wise comparisons, -1 where true: vcmpf / vcmpi / vcmpu (a, b, op)
 * = a op b of float / int32 / uint32 vectors; vgt = vcmpf >, veqi = vcmpi
 * ==. Where a vf is wider than the registers
 * (AVX2: two ymm, SSE2: four xmm), gcc 12 turns a 16-lane comparison into
 * 16 scalar compares and branches-free setcc's (measured with AVX2 on a
 * Skylake-SP Xeon: the 2x2 pooling took longer than conv1 itself), so
 * the AVX2 build compares register-wide parts and joins them (by memcpy:
 * gcc's shuffles made lane-by-lane inserts of the same). */
#if defined(__AVX512F__) || !defined(__AVX2__)
/* (The SSE2 build keeps the plain operators: there the parts' copies became
 * rep movs and the whole was slower than the scalar compares; measured
 * with test_bf16_ref, 19 s against 73.) */
#define vcmpf(a, b, op) ((vi)((a)op(b)))
#define vcmpi(a, b, op) ((vi)((a)op(b)))
#define vcmpu(a, b, op) ((vi)((a)op(b)))
#else
#define LN_VPARTS 2
typedef float vfp_ __attribute__((vector_size(64 / LN_VPARTS)));
typedef int32_t vip_ __attribute__((vector_size(64 / LN_VPARTS)));
typedef uint32_t vup_ __attribute__((vector_size(64 / LN_VPARTS)));
#define vcmp_(a, b, T, PT, op)                                                                               \
    __extension__({                                                                                          \
        const T a_ = (a), b_ = (b);                                                                          \
        PT pa_[LN_VPARTS], pb_[LN_VPARTS];                                                                   \
        vip_ pk_[LN_VPARTS];                                                                                 \
        memcpy(pa_, &a_, sizeof a_);                                                                         \
        memcpy(pb_, &b_, sizeof b_);                                                                         \
        for (int i_ = 0; i_ < LN_VPARTS; i_++) pk_[i_] = (vip_)(pa_[i_] op pb_[i_]);                         \
        vi k_;                                                                                               \
        memcpy(&k_, pk_, sizeof k_);                                                                         \
        k_;                                                                                                  \
    })
#define vcmpf(a, b, op) vcmp_(a, b, vf, vfp_, op)
#define vcmpi(a, b, op) vcmp_(a, b, vi, vip_, op)
#define vcmpu(a, b, op) vcmp_(a, b, vu, vup_, op)
#endif
#define vgt(a, b) vcmpf(a, b, >)
#define veqi(a, b) vcmpi(a, b, ==)
#define relu(v) vsel(vgt((v), (vf){0}), (v), (vf){0})

/* FMA_HW(acc, a, b): acc = a * b + acc lane by lane, one rounding, where
 * the build has an FMA instruction (undefined otherwise: each file picks
 * its own fallback). With AVX2 a vf is two ymm registers: each half fused. */
#if defined(__AVX512F__)
#include <immintrin.h>
#define FMA_HW(acc, a, b) ((acc) = (vf)_mm512_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(acc)))
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define FMA_HW(acc, a, b)                                                                                    \
    do {                                                                                                     \
        const vf a_ = (a), b_ = (b);                                                                         \
        __m256 ah_[2], bh_[2], ch_[2];                                                                       \
        memcpy(ah_, &a_, sizeof a_);                                                                         \
        memcpy(bh_, &b_, sizeof b_);                                                                         \
        memcpy(ch_, &(acc), sizeof ch_);                                                                     \
        ch_[0] = _mm256_fmadd_ps(ah_[0], bh_[0], ch_[0]);                                                    \
        ch_[1] = _mm256_fmadd_ps(ah_[1], bh_[1], ch_[1]);                                                    \
        memcpy(&(acc), ch_, sizeof ch_);                                                                     \
    } while (0)
#endif

static inline const vf *cvec(const float *p, long e) { return (const vf *)(p + e * L); }
static inline vf *mvec(float *p, long e) { return (vf *)(p + e * L); }

/* Profiling: when prof is set, each layer's time is added to its slot
 * (0..6 forward, 7..13 backward; layers conv1 pool1 conv2 pool2 fc1 fc2 fc3). */
static double prof_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}
#define PROF_START double prof_t_ = prof ? prof_now() : 0.0
#define PROF_MARK(slot)                                                                                      \
    do {                                                                                                     \
        if (prof) {                                                                                          \
            const double t1_ = prof_now();                                                                   \
            prof[slot] += t1_ - prof_t_;                                                                     \
            prof_t_ = t1_;                                                                                   \
        }                                                                                                    \
    } while (0)

/* Shorter names for arch.h's sizes in the layer calls below. */
#define S0 LN_IN_SIDE
#define C1 LN_CONV1_C
#define S1 LN_CONV1_SIDE
#define P1 LN_POOL1_SIDE
#define C2 LN_CONV2_C
#define S2 LN_CONV2_SIDE
#define P2 LN_POOL2_SIDE
#define F1 LN_FC1_N
#define F2 LN_FC2_N
#define NC LN_CLASSES

_Static_assert(LN_POOL == 2, "pool_fwd / pool_relu_bwd are 2x2, stride 2");

/* 2x2 max pooling, stride 2, of an (C, H, W, L) input; arg = position of
 * the first maximum (0..3), or NULL when no backward pass will need it (an
 * evaluation: then neither computed nor stored, half the stores of pool1).
 * Channels [c_a, c_b), output rows [oy_a, oy_b). `in` holds rows [row0,
 * row0 + rows) of each channel (all: 0, H). */
static inline __attribute__((always_inline)) void pool_fwd_(const float *in, int rows, int row0, int c_a, int c_b,
                                                            int H, int W, int oy_a, int oy_b, float *out,
                                                            int32_t *arg, int with_arg) {
    const int OH = H / 2, OW = W / 2;
    for (int c = c_a; c < c_b; c++)
        for (int oy = oy_a; oy < oy_b; oy++)
            for (int ox = 0; ox < OW; ox++) {
                const vf *r0 = cvec(in, ((long)c * rows + 2 * oy - row0) * W + 2 * ox), *r1 = r0 + W;
                vf m = r0[0];
                vi a = (vi){0};
                vi k = vgt(r0[1], m);
                m = vsel(k, r0[1], m), a = (a & ~k) | (k & 1);
                k = vgt(r1[0], m);
                m = vsel(k, r1[0], m), a = (a & ~k) | (k & 2);
                k = vgt(r1[1], m);
                m = vsel(k, r1[1], m), a = (a & ~k) | (k & 3);
                const long o = ((long)c * OH + oy) * OW + ox;
                *mvec(out, o) = m;
                if (with_arg) memcpy(arg + o * L, &a, sizeof a); /* (else a is dead code) */
            }
}
static void pool_fwd(const float *in, int rows, int row0, int c_a, int c_b, int H, int W, int oy_a, int oy_b,
                     float *out, int32_t *arg) {
    if (arg) pool_fwd_(in, rows, row0, c_a, c_b, H, W, oy_a, oy_b, out, arg, 1);
    else pool_fwd_(in, rows, row0, c_a, c_b, H, W, oy_a, oy_b, out, NULL, 0);
}

/* Window o's pre-pooling gradient: the pooled gradient routed to the
 * window's maximum (arg, pool_fwd's 0..3), times ReLU's derivative (act >
 * 0) there. The maximum's activation is the pooled value itself, so the
 * ReLU test is made once per window on `pooled` rather than on the four
 * activations. r0: the window's two positions in the top row, r1 below. */
static inline __attribute__((always_inline)) void pool_route(const float *dout, const int32_t *arg,
                                                             const float *pooled, long o, vf *r0, vf *r1) {
    const vf d = vsel(vgt(*cvec(pooled, o), (vf){0}), *cvec(dout, o), (vf){0});
    vi a;
    memcpy(&a, arg + o * L, sizeof a);
    r0[0] = vsel(veqi(a, (vi){0}), d, (vf){0});
    r0[1] = vsel(veqi(a, (vi){0} + 1), d, (vf){0});
    r1[0] = vsel(veqi(a, (vi){0} + 2), d, (vf){0});
    r1[1] = vsel(veqi(a, (vi){0} + 3), d, (vf){0});
}

/* din (C, H, W, L): pool_route of every window (dout, arg, pooled: (C,
 * H/2, W/2, L)). Channels [c_a, c_b). */
static void pool_relu_bwd(const float *dout, const int32_t *arg, const float *pooled, int c_a, int c_b, int H, int W,
                          float *din) {
    const int OH = H / 2, OW = W / 2;
    for (int c = c_a; c < c_b; c++)
        for (int oy = 0; oy < OH; oy++) {
            const long o0 = ((long)c * OH + oy) * OW;
            vf *r0 = mvec(din, ((long)c * H + 2 * oy) * W), *r1 = r0 + W;
            for (int ox = 0; ox < OW; ox++) pool_route(dout, arg, pooled, o0 + ox, r0 + 2 * ox, r1 + 2 * ox);
        }
}

#endif
