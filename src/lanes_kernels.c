/* lanes_kernels.c - LeNet-5 forward and backward for one group of 16
 * samples held in the vector lanes (see lanes.h for the layout).
 *
 * Written once with GCC vector types (`vf` = 16 floats) and compiled per
 * instruction set (LN_KSUFFIX = generic | avx2 | avx512, see the Makefile):
 * a `vf` is one zmm register with AVX-512, two ymm with AVX2, four xmm
 * otherwise. Register blocking (how many output channels x pixels are
 * accumulated at once) is chosen per instruction set to fit its register
 * file. Hand-written because frameworks lose at this size to per-operation
 * overhead and to layouts that leave vector lanes idle (LeNet's channel
 * counts are 1, 6 and 16); here every multiply-add is a full-width FMA.
 *
 * Every value is computed by one fixed sequence of operations (no
 * dependence on threads), so a group's results are reproducible bit for bit.
 */
#include <string.h>
#include <time.h>

#include "lanes.h"
#include "kernel_suffix.h"
#include "lanes_vec.h"
#include "lenet/transform.h"


/* Register blocking per instruction set: output channels x pixels. B4_C1
 * is not a blocking: it is how many of conv1's channels make one share of
 * backward stage 4 when threads share a group (conv1_dw_pooled takes any
 * range of channels). AVX2's BWD_SEG = 1 (conv2's input gradient a pixel
 * and its 5 taps at a time, 10 ymm chains) replaced 1 tap x the 10-pixel
 * row, whose 20 ymm chains spilled: conv2 backward 27.4-27.5 -> 22.2-22.3 us
 * a sample (bench_layers, Skylake-SP), the same bits. */
#if defined(__AVX512F__)
enum { C1_OCB = 6, C1_PX = 4, C2_OCB = 4, C2_PX = 5, B4_C1 = 3, DW2_OCB = 4, DW_SUM16 = 1, FC_OB = 8, FC_FB = 8, FC_DWO = 8, FC_DWV = 3, FC_BIT = 1, FC_BIL = 8, FC_BIV = 3, BWD_KXB = 2, BWD_SEG = 5, DW1_PAIRS = 1 };
#elif defined(__AVX2__)
enum { C1_OCB = 3, C1_PX = 2, C2_OCB = 2, C2_PX = 2, B4_C1 = 1, DW2_OCB = 1, DW_SUM16 = 0, FC_OB = 4, FC_FB = 4, FC_DWO = 4, FC_DWV = 1, FC_BIT = 0, FC_BIL = 2, FC_BIV = 2, BWD_KXB = 1, BWD_SEG = 1, DW1_PAIRS = 0 };
#else
enum { C1_OCB = 1, C1_PX = 2, C2_OCB = 1, C2_PX = 2, B4_C1 = 1, DW2_OCB = 1, DW_SUM16 = 0, FC_OB = 2, FC_FB = 2, FC_DWO = 2, FC_DWV = 1, FC_BIT = 0, FC_BIL = 2, FC_BIV = 1, BWD_KXB = 1, BWD_SEG = 0, DW1_PAIRS = 1 };
#endif
#define MAX_OCB 8
#define FC_BIPF 8 /* fc_bwd_in_tblk prefetches the weights this many rows ahead */
#define MAX_PX 8
#define MAX_ROW 16 /* conv_bwd_in keeps one output row in registers */

/* The shapes these kernels are specialised for (arch.h), against the
 * blocking above: whole blocks in every call, rows that fit, 2x2 pooling. */
_Static_assert(LN_CONV1_C % C1_OCB == 0 && LN_CONV1_SIDE % C1_PX == 0, "conv1 blocking");
_Static_assert(LN_CONV2_C % C2_OCB == 0 && LN_CONV2_SIDE % C2_PX == 0, "conv2 blocking");
_Static_assert(LN_CONV1_C % B4_C1 == 0 && LN_CONV2_C % DW2_OCB == 0, "weight-gradient blocking and shares");
_Static_assert(C1_OCB <= MAX_OCB && C2_OCB <= MAX_OCB && DW2_OCB <= MAX_OCB, "OCB");
_Static_assert(C1_PX <= MAX_PX && C2_PX <= MAX_PX, "PX");
_Static_assert(LN_CONV2_SIDE <= MAX_ROW, "conv2's input gradient row fits the registers");
_Static_assert(BWD_SEG == 0 || LN_CONV2_SIDE % BWD_SEG == 0, "conv2's input gradient row is whole segments");
_Static_assert(LN_LANES_PAD(LN_FLAT) <= LN_LANES_TX && LN_LANES_PAD(LN_FC1_N) <= LN_LANES_TX &&
                   LN_LANES_PAD(LN_FC2_N) <= LN_LANES_TX, "fc_dw's transposed input fits tx");


/* acc = a * b + acc. Fused (one rounding) wherever the build has FMA, and
 * written explicitly so that it does not depend on what the compiler
 * chooses to contract (this file is compiled with -ffp-contract=off): GCC
 * and clang builds, and the one-image path below, then round every
 * multiply-add identically. FMA1 is the scalar twin. */
#ifdef FMA_HW
#define FMA_ACC(acc, a, b) FMA_HW(acc, a, b)
#else
#define FMA_ACC(acc, a, b) ((acc) = (acc) + (a) * (b))
#endif
#if defined(__FMA__)
#include <math.h>
#define FMA1(a, b, c) fmaf((a), (b), (c))
#else
#define FMA1(a, b, c) ((c) + (a) * (b))
#endif

/* Sum of the 16 lanes in a fixed pairwise order: u[i] = t[i] + t[i+8],
 * w[i] = u[i] + u[i+4], then (w0 + w2) + (w1 + w3) - as vector halves. */
typedef float vf8 __attribute__((vector_size(32)));
typedef float vf4 __attribute__((vector_size(16)));
static inline float hsum(const vf *v) {
    const vf8 u = __builtin_shufflevector(*v, *v, 0, 1, 2, 3, 4, 5, 6, 7) +
                  __builtin_shufflevector(*v, *v, 8, 9, 10, 11, 12, 13, 14, 15);
    const vf4 w = __builtin_shufflevector(u, u, 0, 1, 2, 3) + __builtin_shufflevector(u, u, 4, 5, 6, 7);
    return (w[0] + w[2]) + (w[1] + w[3]);
}

/* out[i] = hsum(&v[i]) for i < n <= 16, bit for bit, 16 sums at once:
 * each level of hsum's pairwise order is one vector add over the lanes of
 * several sums (the same operands, in the same order), so n sums cost 15
 * adds and 30 shuffles instead of 16 x 10 instructions. The sum in slot s
 * ends in lane 4 * (s % 4) + s / 4, so slot s takes v[4 * (s % 4) + s / 4]
 * and the lanes come out in order. */
#define SHUF(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
static inline __attribute__((always_inline)) void hsum16(const vf *v, int n, float *out) {
    vf u[8], w[4], s[2];
    for (int i = 0; i < 8; i++) { /* u = t[0..7] + t[8..15], two sums per vector */
        const int sa = 2 * i, sb = 2 * i + 1, ta = 4 * (sa % 4) + sa / 4, tb = 4 * (sb % 4) + sb / 4;
        const vf a = ta < n ? v[ta] : (vf){0}, b = tb < n ? v[tb] : (vf){0};
        u[i] = SHUF(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) +
               SHUF(a, b, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    }
    for (int i = 0; i < 4; i++) /* w = u[0..3] + u[4..7], four sums per vector */
        w[i] = SHUF(u[2 * i], u[2 * i + 1], 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27) +
               SHUF(u[2 * i], u[2 * i + 1], 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
    for (int i = 0; i < 2; i++) /* (w0 + w2), (w1 + w3) */
        s[i] = SHUF(w[2 * i], w[2 * i + 1], 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29) +
               SHUF(w[2 * i], w[2 * i + 1], 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
    const vf r = SHUF(s[0], s[1], 0, 2, 16, 18, 4, 6, 20, 22, 8, 10, 24, 26, 12, 14, 28, 30) +
                 SHUF(s[0], s[1], 1, 3, 17, 19, 5, 7, 21, 23, 9, 11, 25, 27, 13, 15, 29, 31);
    memcpy(out, &r, sizeof(float) * (size_t)n);
}
#undef SHUF


/* The next pf->step lines of pf (lanes.h); nothing once it is done. */
static inline __attribute__((always_inline)) void pf_take(ln_lanes_pf *pf) {
    for (; pf->ngates; pf->ngates--)
        if (__atomic_load_n(pf->gate[pf->ngates - 1], __ATOMIC_RELAXED) < pf->need) return;
    int c = pf->cur;
    while (c < pf->n && pf->p[c] >= pf->end[c]) c++;
    pf->cur = c;
    if (c == pf->n) return;
    const char *q = pf->p[c];
    if (pf->write[c])
        for (int i = 0; i < pf->step && q < pf->end[c]; i++, q += 64)
#if defined(__x86_64__) || defined(__i386__)
            __asm__ volatile("prefetchw %0" ::"m"(*q)); /* a NOP on x86 CPUs without it */
#else
            __builtin_prefetch(q, 1, 2);
#endif
    else
        for (int i = 0; i < pf->step && q < pf->end[c]; i++, q += 64) __builtin_prefetch(q, 0, 2);
    pf->p[c] = q;
}

/* out (OC, H-4, W-4, L) = [relu](bias + w (OC, IC, 5, 5) (*) in (IC, H, W, L)),
 * for the output channels [oc_a, oc_b) and rows [oy_a, oy_b), which are all
 * `out` holds: (OC, oy_b - oy_a, W-4, L). Blocks of OCB
 * output channels x PX adjacent output pixels stay in registers for the
 * whole reduction over (ic, ky, kx). (oc_b - oc_a) % OCB == 0 and
 * (W-4) % PX == 0 for every call here. */
static inline __attribute__((always_inline)) void conv_fwd(const float *in, int IC, int H, int W, const float *w,
                                                           const float *bias, int oc_a, int oc_b, int oy_a, int oy_b,
                                                           float *out, int do_relu, int OCB, int PX,
                                                           ln_lanes_pf *pf) {
    const int OH = oy_b - oy_a, OW = W - K + 1;
    for (int oc0 = oc_a; oc0 < oc_b; oc0 += OCB)
        for (int oy = oy_a; oy < oy_b; oy++)
            for (int ox0 = 0; ox0 < OW; ox0 += PX) {
                vf acc[MAX_OCB][MAX_PX];
                for (int j = 0; j < OCB; j++)
                    for (int p = 0; p < PX; p++) acc[j][p] = bcast(bias ? bias[oc0 + j] : 0.f);
                for (int ic = 0; ic < IC; ic++)
                    for (int ky = 0; ky < K; ky++) {
                        const vf *row = cvec(in, ((long)ic * H + oy + ky) * W + ox0);
                        const float *wr = w + ((long)oc0 * IC + ic) * K * K + ky * K;
                        for (int kx = 0; kx < K; kx++)
                            for (int j = 0; j < OCB; j++) {
                                const vf wv = bcast(wr[(long)j * IC * K * K + kx]);
                                for (int p = 0; p < PX; p++) FMA_ACC(acc[j][p], wv, row[p + kx]);
                            }
                    }
                for (int j = 0; j < OCB; j++)
                    for (int p = 0; p < PX; p++)
                        *mvec(out, ((long)(oc0 + j) * OH + oy - oy_a) * OW + ox0 + p) =
                            do_relu ? relu(acc[j][p]) : acc[j][p];
                if (pf) pf_take(pf);
            }
}

/* dw (OC, IC, 5, 5) = sum over pixels and lanes of dout (OC, OH, OW, L) x
 * in (IC, OH+4, OW+4, L); db (OC) = sum of dout (if db); for the output
 * channels [oc_a, oc_b). For each (ic, ky), OCB output channels x 5 kernel
 * columns are accumulated in registers while one pass walks the pixels; the
 * 5 input vectors of a pixel are shared by the OCB channels.
 * (oc_b - oc_a) % OCB == 0. */
static inline __attribute__((always_inline)) void conv_dw(const float *dout, int oc_a, int oc_b, int OH, int OW,
                                                          const float *in, int IC, float *dw, float *db, int OCB,
                                                          ln_lanes_pf *pf) {
    const int H = OH + K - 1, W = OW + K - 1;
    if (db)
        for (int oc = oc_a; oc < oc_b; oc++) {
            const float *d = dout + (long)oc * OH * OW * L;
            vf s = (vf){0};
            for (int i = 0; i < OH * OW; i++) s += *cvec(d, i);
            db[oc] = hsum(&s);
        }
    for (int oc0 = oc_a; oc0 < oc_b; oc0 += OCB)
        for (int ic = 0; ic < IC; ic++) {
            vf sums[MAX_OCB][K * K]; /* the (ic) chains of the block, for hsum16 */
            for (int ky = 0; ky < K; ky++) {
                vf acc[MAX_OCB][K];
                for (int j = 0; j < OCB; j++)
                    for (int kx = 0; kx < K; kx++) acc[j][kx] = (vf){0};
                for (int oy = 0; oy < OH; oy++) {
                    const vf *row = cvec(in, ((long)ic * H + oy + ky) * W);
                    const vf *g = cvec(dout, ((long)oc0 * OH + oy) * OW);
                    if (pf) pf_take(pf);
#pragma GCC unroll 10 /* conv2's whole row: ~1% (AVX-512), ~5% (AVX2) */
                    for (int ox = 0; ox < OW; ox++)
                        for (int kx = 0; kx < K; kx++) {
                            const vf v = row[ox + kx];
                            for (int j = 0; j < OCB; j++) FMA_ACC(acc[j][kx], g[(long)j * OH * OW + ox], v);
                        }
                }
                for (int j = 0; j < OCB; j++)
                    for (int kx = 0; kx < K; kx++)
                        if (DW_SUM16) sums[j][ky * K + kx] = acc[j][kx];
                        else dw[(((long)(oc0 + j) * IC + ic) * K + ky) * K + kx] = hsum(&acc[j][kx]);
            }
            for (int j = 0; j < OCB && DW_SUM16; j++) { /* dw[oc][ic][0..24], 16 + 9 sums */
                float *d = dw + ((long)(oc0 + j) * IC + ic) * K * K;
                hsum16(sums[j], 16, d);
                hsum16(sums[j] + 16, K * K - 16, d + 16);
            }
        }
}

/* NKY kernel rows [ky0, ky0+NKY) x 5 columns of conv1's weight-gradient
 * chains (acc, in memory between calls), continued over one row oy of
 * conv1's output gradient (grow, 28 vectors), two pixels at a time where
 * DW1_PAIRS (each input vector then feeds two multiply-adds), else one:
 * with AVX2 the pairs' registers spilled every iteration (bench_layers,
 * Skylake-SP: conv1 backward 13.1-13.2 -> 11.7 us a sample with one). Every
 * chain takes its pixels in (oy, ox) order either way, so the bits are the
 * same. in: the input image (1, 32, 32, L). */
static inline __attribute__((always_inline)) void conv1_dw_row(const vf *grow, const float *in, int oy, vf *accm,
                                                               int ky0, int NKY) {
    vf acc[K][K];
    for (int j = 0; j < NKY; j++)
        for (int kx = 0; kx < K; kx++) acc[j][kx] = accm[(ky0 + j) * K + kx];
    if (!DW1_PAIRS) { /* one pixel at a time: the chains and two gradient vectors do not fit 16 registers */
        for (int ox = 0; ox < S1; ox++) {
            const vf g = grow[ox];
            for (int j = 0; j < NKY; j++) {
                const vf *row = cvec(in, (long)(oy + ky0 + j) * S0 + ox);
                for (int kx = 0; kx < K; kx++) FMA_ACC(acc[j][kx], g, row[kx]);
            }
        }
    } else {
        for (int ox = 0; ox < S1; ox += 2) {
            const vf g0 = grow[ox], g1 = grow[ox + 1];
            for (int j = 0; j < NKY; j++) {
                const vf *row = cvec(in, (long)(oy + ky0 + j) * S0 + ox);
                FMA_ACC(acc[j][0], g0, row[0]);
                for (int kx = 1; kx < K; kx++) {
                    const vf v = row[kx];
                    FMA_ACC(acc[j][kx], g0, v);
                    FMA_ACC(acc[j][kx - 1], g1, v);
                }
                FMA_ACC(acc[j][K - 1], g1, row[K]);
            }
        }
    }
    for (int j = 0; j < NKY; j++)
        for (int kx = 0; kx < K; kx++) accm[(ky0 + j) * K + kx] = acc[j][kx];
}

/* conv1's weight and bias gradients (output channels [oc_a, oc_b)) with
 * pool1's backward folded in: what pool_relu_bwd then conv_dw compute for
 * conv1 (the same chains, so the same bits), without writing conv1's
 * output gradient (6 x 28 x 28 x 16 floats, 301 KB, in L2) and reading it
 * back once per kernel row. Two rows at a time, each channel's gradient
 * rows are routed from pool1's gradient (pool_route; dp, arg, pooled: (C1,
 * 14, 14, L)) into 2 x 28 vectors in L1 and taken, row after row, by all
 * 25 of the channel's chains, which wait in
 * acc (C1 x 26 vectors: 25 chains and the bias sum, if db; 64-byte
 * aligned scratch) between rows; the input's rows are then read from L2 once, not
 * once per channel and kernel row. With AVX-512's 32 registers the chains
 * of kernel rows 0-2 then 3-4 are held at once (all 25 spill), elsewhere
 * one kernel row. */
static void conv1_dw_pooled(const float *dp, const int32_t *arg, const float *pooled, int oc_a, int oc_b,
                            const float *in, float *dw, float *db, float *acc) {
    _Static_assert(LN_IN_C == 1 && S1 % 2 == 0 && S1 == 2 * P1 && S0 == S1 + K - 1, "conv1_dw_pooled's shapes");
    enum { NA = K * K + 1 };
    vf *accm = (vf *)acc;
    for (long i = (long)oc_a * NA; i < (long)oc_b * NA; i++) accm[i] = (vf){0};
    for (int py = 0; py < P1; py++)
        for (int oc = oc_a; oc < oc_b; oc++) {
            vf grow[2][S1], *am = accm + (long)oc * NA; /* gradient rows 2 py and 2 py + 1 */
            const long o0 = ((long)oc * P1 + py) * P1;
            for (int px = 0; px < P1; px++) pool_route(dp, arg, pooled, o0 + px, grow[0] + 2 * px, grow[1] + 2 * px);
            for (int r = 0; r < 2; r++) {
                const int oy = 2 * py + r;
                if (db)
                    for (int ox = 0; ox < S1; ox++) am[K * K] += grow[r][ox];
#if defined(__AVX512F__)
                conv1_dw_row(grow[r], in, oy, am, 0, 3);
                conv1_dw_row(grow[r], in, oy, am, 3, 2);
#else
                for (int ky = 0; ky < K; ky++) conv1_dw_row(grow[r], in, oy, am, ky, 1);
#endif
            }
        }
    for (int oc = oc_a; oc < oc_b; oc++) {
        const vf *am = accm + (long)oc * NA;
        if (DW_SUM16) { /* hsum16's sums are hsum's, 16 at a time */
            hsum16(am, 16, dw + (long)oc * K * K);
            hsum16(am + 16, K * K - 16, dw + (long)oc * K * K + 16);
        } else
            for (int k = 0; k < K * K; k++) dw[(long)oc * K * K + k] = hsum(&am[k]);
        if (db) db[oc] = hsum(&am[K * K]);
    }
}

/* NT taps (kx0, kx0+1, ...) of one (oy, ic, ky) of conv_bwd_in: for each
 * tap t and pixel ox, the chain over oc of w[oc][t] * dout[oc][oy][ox] from
 * 0, then added into the din row (drow = din at column kx0) at ox + t, tap
 * after tap. The row is loaded once, gets the taps' sums in t order and is
 * stored once. */
static inline __attribute__((always_inline)) void bwd_in_taps(const float *dout, int OC, int OH, int OW,
                                                              const float *wk, long wstride, int oy, float *drow,
                                                              int NT) {
    vf acc[BWD_KXB][MAX_ROW];
    for (int t = 0; t < NT; t++)
        for (int ox = 0; ox < OW; ox++) acc[t][ox] = (vf){0};
    for (int oc = 0; oc < OC; oc++) {
        const vf *d = cvec(dout, ((long)oc * OH + oy) * OW);
        for (int t = 0; t < NT; t++) {
            const vf wv = bcast(wk[(long)oc * wstride + t]);
            for (int ox = 0; ox < OW; ox++) FMA_ACC(acc[t][ox], wv, d[ox]);
        }
    }
    vf *o = (vf *)drow;
    for (int x = 0; x < OW + NT - 1; x++) {
        vf v = o[x];
        for (int t = 0; t < NT; t++)
            if (x - t >= 0 && x - t < OW) v += acc[t][x - t];
        o[x] = v;
    }
}

/* The same for BWD_SEG output pixels [ox0, ox0+SEG) and all K taps at once
 * (more multiply-adds per load; AVX-512's 32 registers hold the K x SEG
 * sums). A din element receives its taps from this segment in kx order; a
 * segment further right reaches it with smaller kx, so the segments are
 * taken right to left and each element still receives every tap in kx
 * order. */
static inline __attribute__((always_inline)) void bwd_in_seg(const float *dout, int OC, int OH, int OW,
                                                             const float *wk, long wstride, int oy, int ox0,
                                                             float *drow, int SEG) {
    vf acc[K][MAX_PX];
    for (int kx = 0; kx < K; kx++)
        for (int p = 0; p < SEG; p++) acc[kx][p] = (vf){0};
    for (int oc = 0; oc < OC; oc++) {
        const vf *d = cvec(dout, ((long)oc * OH + oy) * OW + ox0);
        for (int kx = 0; kx < K; kx++) {
            const vf wv = bcast(wk[(long)oc * wstride + kx]);
            for (int p = 0; p < SEG; p++) FMA_ACC(acc[kx][p], wv, d[p]);
        }
    }
    vf *o = (vf *)drow + ox0;
    for (int x = 0; x < SEG + K - 1; x++) {
        vf v = o[x];
        for (int kx = 0; kx < K; kx++)
            if (x - kx >= 0 && x - kx < SEG) v += acc[kx][x - kx];
        o[x] = v;
    }
}

/* din (IC, OH+4, OW+4, L) = the transposed convolution of dout (OC, OH, OW,
 * L) with w (OC, IC, 5, 5): every input position receives w[oc][ic][ky][kx]
 * * dout[oc][y-ky][x-kx] for each tap that reaches it. For each (ic, ky, kx)
 * and output row, the row (OW <= 16 pixels) is accumulated over oc in
 * registers, then added into din in kx order. BWD_KXB taps (kx, kx+1, ...)
 * are accumulated at once: they read the same dout vectors with different
 * weights, so each load feeds BWD_KXB multiply-adds; their sums are still
 * added into din one tap after the other. Only the input channels
 * [ic_a, ic_b) of din are computed. */
static inline __attribute__((always_inline)) void conv_bwd_in(const float *dout, int OC, int OH, int OW,
                                                              const float *w, int IC, int ic_a, int ic_b, float *din) {
    const int H = OH + K - 1, W = OW + K - 1;
    memset(din + (size_t)ic_a * H * W * L, 0, sizeof(float) * (size_t)(ic_b - ic_a) * H * W * L);
    /* oy outermost: one row of dout (OC x OW vectors) stays in L1 while all
     * (ic, ky, kx) taps use it. */
    for (int oy = 0; oy < OH; oy++)
        for (int ic = ic_a; ic < ic_b; ic++)
            for (int ky = 0; ky < K; ky++) {
                const float *wk = w + ((long)ic * K + ky) * K; /* w[oc][ic][ky][0] at oc * IC*K*K */
                float *drow = din + (((long)ic * H + oy + ky) * W) * L;
                if (BWD_SEG) {
                    for (int ox0 = OW - BWD_SEG; ox0 >= 0; ox0 -= BWD_SEG)
                        bwd_in_seg(dout, OC, OH, OW, wk, (long)IC * K * K, oy, ox0, drow, BWD_SEG);
                    continue;
                }
                int kx0 = 0;
                for (; kx0 + BWD_KXB <= K; kx0 += BWD_KXB)
                    bwd_in_taps(dout, OC, OH, OW, wk + kx0, (long)IC * K * K, oy, drow + kx0 * L, BWD_KXB);
                if (K % BWD_KXB) bwd_in_taps(dout, OC, OH, OW, wk + kx0, (long)IC * K * K, oy, drow + kx0 * L, K % BWD_KXB);
            }
}


/* The fully connected kernels take their outputs (or features) in blocks of
 * NBMAX independent chains, the last few in blocks of 8, 4, 2 and 1:
 * FC_BLOCKS walks [a, b) so, calling BLK(start, NB) with a constant NB each
 * time. How outputs are blocked never changes an output's own chain of
 * operations. */
#define FC_BLOCKS(a, b, NBMAX, BLK)                                                                          \
    for (int i0_ = (a); i0_ < (b);) {                                                                        \
        const int n_ = (b) - i0_;                                                                            \
        if (n_ >= (NBMAX)) BLK(i0_, (NBMAX)), i0_ += (NBMAX);                                                \
        else if ((NBMAX) > 8 && n_ >= 8) BLK(i0_, 8), i0_ += 8;                                              \
        else if ((NBMAX) > 4 && n_ >= 4) BLK(i0_, 4), i0_ += 4;                                              \
        else if ((NBMAX) > 2 && n_ >= 2) BLK(i0_, 2), i0_ += 2;                                              \
        else BLK(i0_, 1), i0_ += 1;                                                                          \
    }

/* y[o0 .. o0+NB) = [relu](b + w x): each the chain bias, then the features
 * in order. */
static inline __attribute__((always_inline)) void fc_fwd_blk(const float *x, int F, const float *w, const float *b,
                                                             float *y, int do_relu, int o0, int NB) {
    vf acc[FC_OB];
    for (int j = 0; j < NB; j++) acc[j] = bcast(b[o0 + j]);
    for (int f = 0; f < F; f++) {
        const vf xv = *cvec(x, f);
        for (int j = 0; j < NB; j++) FMA_ACC(acc[j], bcast(w[(long)(o0 + j) * F + f]), xv);
    }
    for (int j = 0; j < NB; j++) *mvec(y, o0 + j) = do_relu ? relu(acc[j]) : acc[j];
}

/* y (O, L) = [relu](b + w (O, F) x (F, L)), the outputs [o_a, o_b). */
static inline __attribute__((always_inline)) void fc_fwd(const float *x, int F, const float *w, const float *b,
                                                         int o_a, int o_b, float *y, int do_relu) {
#define BLK(o0, NB) fc_fwd_blk(x, F, w, b, y, do_relu, o0, NB)
    FC_BLOCKS(o_a, o_b, FC_OB, BLK)
#undef BLK
}

/* dx[f0 .. f0+NB) = sum over o of w[o][f] dy[o], in o order from 0, times
 * (act > 0) if act. */
static inline __attribute__((always_inline)) void fc_bwd_in_blk(const float *dy, int O, const float *w, int F,
                                                                float *dx, const float *act, int f0, int NB) {
    vf acc[FC_FB];
    for (int j = 0; j < NB; j++) acc[j] = (vf){0};
    for (int o = 0; o < O; o++) {
        const vf d = *cvec(dy, o);
        for (int j = 0; j < NB; j++) FMA_ACC(acc[j], bcast(w[(long)o * F + f0 + j]), d);
    }
    for (int j = 0; j < NB; j++)
        *mvec(dx, f0 + j) = act ? vsel(vgt(*cvec(act, f0 + j), (vf){0}), acc[j], (vf){0}) : acc[j];
}

/* The same sums transposed, for the lanes [l0, l0+NL) and the whole
 * feature vectors [v0, v0+NV) (features v*16 .. v*16+15): txo[l][f] = the
 * chain over o of w[o][f] dy[o][l] from 0, with the weights loaded as
 * vectors (16 features of a row) and dy[o][l] broadcast: NL x NV
 * independent chains, each broadcast feeding NV of them and each weight
 * vector NL. */
static inline __attribute__((always_inline)) void fc_bwd_in_tblk(const float *dy, int O, const float *w, int F,
                                                                 float *txo, int Fp, int v0, int NV, int l0, int NL) {
    vf acc[FC_BIL][FC_BIV];
    for (int i = 0; i < NL; i++)
        for (int k = 0; k < NV; k++) acc[i][k] = (vf){0};
    for (int o = 0; o < O; o++) {
        vf wv[FC_BIV];
        for (int k = 0; k < NV; k++) memcpy(&wv[k], w + (long)o * F + (long)(v0 + k) * L, sizeof wv[k]);
        if (o + FC_BIPF < O) /* the rows are strided: fetch ahead from L3 */
            for (int k = 0; k < NV; k++) __builtin_prefetch(w + (long)(o + FC_BIPF) * F + (long)(v0 + k) * L);
        for (int i = 0; i < NL; i++) {
            const vf d = bcast(dy[(long)o * L + l0 + i]);
            for (int k = 0; k < NV; k++) FMA_ACC(acc[i][k], d, wv[k]);
        }
    }
    for (int i = 0; i < NL; i++)
        for (int k = 0; k < NV; k++) *mvec(txo + (long)(l0 + i) * Fp, v0 + k) = acc[i][k];
}

static inline void transpose16(vf t[16]);

/* dx (F, L) = w^T (F, O) dy (O, L), times (act > 0) if act (ReLU before);
 * the features [f_a, f_b), f_a a multiple of 16. With enough outputs
 * (chains long enough to pay for the transposes) the whole vectors of
 * features are summed transposed into tx (lanes x features: each weight
 * vector then feeds several chains, where the lanes layout needs one
 * broadcast of a weight per multiply-add), FC_BIV vectors x FC_BIL lanes at
 * a time, and transposed back by 16 x 16 tiles; the other features by
 * blocks of FC_FB in the lanes layout. Either way each element is the same
 * chain. */
static inline __attribute__((always_inline)) void fc_bwd_in(const float *dy, int O, const float *w, int F, int f_a,
                                                            int f_b, float *dx, const float *act, float *tx) {
    const int F16 = FC_BIT && O >= 2 * L ? F / L * L : 0, Fp = LN_LANES_PAD(F), v_a = f_a / L,
              v_b = (f_b < F16 ? f_b : F16) / L;
    for (int v = v_a; v < v_b;) {
        const int n = v_b - v, nv = n >= FC_BIV && n != FC_BIV + 1 ? FC_BIV : FC_BIV > 2 && n >= 2 ? 2 : 1;
        for (int l0 = 0; l0 < L; l0 += FC_BIL) {
            if (nv == FC_BIV) fc_bwd_in_tblk(dy, O, w, F, tx, Fp, v, FC_BIV, l0, FC_BIL);
            else if (nv == 2) fc_bwd_in_tblk(dy, O, w, F, tx, Fp, v, 2, l0, FC_BIL);
            else fc_bwd_in_tblk(dy, O, w, F, tx, Fp, v, 1, l0, FC_BIL);
        }
        v += nv;
    }
    for (int v = v_a; v < v_b; v++) {
        vf t[16];
        for (int l = 0; l < L; l++) t[l] = *cvec(tx + (long)l * Fp, v);
        transpose16(t);
        for (int k = 0; k < L; k++) {
            const long f = (long)v * L + k;
            *mvec(dx, f) = act ? vsel(vgt(*cvec(act, f), (vf){0}), t[k], (vf){0}) : t[k];
        }
    }
#define BLK(f0, NB) fc_bwd_in_blk(dy, O, w, F, dx, act, f0, NB)
    FC_BLOCKS(f_a > F16 ? f_a : F16, f_b, FC_FB, BLK)
#undef BLK
}

/* d[0 .. n) = the first n < 16 lanes of *v (a masked store with AVX-512). */
static inline void store_first(float *d, const vf *v, int n) {
#if defined(__AVX512F__)
    _mm512_mask_storeu_ps(d, (__mmask16)((1u << n) - 1), (__m512)*v);
#else
    memcpy(d, v, sizeof(float) * (size_t)n);
#endif
}

/* dw[o0 .. o0+NB][v0*16 .. (v0+NV)*16) (clipped at F) = the chains over
 * lanes l = 0..15 of dy[o][l] * tx[l][f], from 0: NB x NV independent
 * chains, each broadcast of dy[o][l] feeding NV of them and each vector of
 * tx NB. */
static inline __attribute__((always_inline)) void fc_dw_blk(const float *dy, const float *tx, int Fp, int F, int v0,
                                                            int NV, float *dw, int o0, int NB) {
    vf acc[FC_DWO][FC_DWV];
    for (int j = 0; j < NB; j++)
        for (int k = 0; k < NV; k++) acc[j][k] = (vf){0};
    for (int l = 0; l < L; l++) {
        vf t[FC_DWV];
        for (int k = 0; k < NV; k++) t[k] = *cvec(tx + (long)l * Fp, v0 + k);
        for (int j = 0; j < NB; j++) {
            const vf d = bcast(dy[(long)(o0 + j) * L + l]);
            for (int k = 0; k < NV; k++) FMA_ACC(acc[j][k], d, t[k]);
        }
    }
    for (int j = 0; j < NB; j++)
        for (int k = 0; k < NV; k++) {
            const int v = v0 + k, n = F - v * L < L ? F - v * L : L;
            float *d = dw + (long)(o0 + j) * F + v * L;
            if (n == L) memcpy(d, &acc[j][k], sizeof acc[j][k]);
            else store_first(d, &acc[j][k], n);
        }
}

/* The outputs [o0, o0+NB) of fc_dw over the vectors [v_a, v_b), FC_DWV
 * vectors at a time, the last few 2 and 1. */
static inline __attribute__((always_inline)) void fc_dw_rows(const float *dy, const float *tx, int Fp, int F, int v_a,
                                                             int v_b, float *dw, int o0, int NB) {
    int v = v_a;
    for (; v + FC_DWV <= v_b; v += FC_DWV) fc_dw_blk(dy, tx, Fp, F, v, FC_DWV, dw, o0, NB);
    if (FC_DWV > 2 && v + 2 <= v_b) fc_dw_blk(dy, tx, Fp, F, v, 2, dw, o0, NB), v += 2;
    if (FC_DWV > 1 && v < v_b) fc_dw_blk(dy, tx, Fp, F, v, 1, dw, o0, NB);
}

/* dw (O, F) = sum over lanes of dy (O, L) x x (F, L), for the outputs
 * [o_a, o_b) and the features of the vectors [v_a, v_b) (features v*16 ..
 * v*16+15); db [o_a, o_b) = lane sums, if db. x is transposed to lane-major
 * first (tx (L, Fp), the columns of those vectors; 16 x 16 tiles transposed
 * in registers, features past F zero) so that 16 consecutive features form
 * a vector; each dw[o][f] is then the chain over lanes l = 0..15 of
 * dy[o][l] * tx[l][f], starting from 0. FC_DWO outputs x FC_DWV vectors of
 * features are accumulated at once (independent chains); dy[o][l] is
 * broadcast straight from its lanes layout. */
static void fc_dw(const float *dy, int o_a, int o_b, const float *x, int F, float *dw, float *db, float *tx, int v_a,
                  int v_b) {
    const int Fp = (F + L - 1) / L * L;
    for (int v = v_a; v < v_b; v++) {
        vf t[16];
        for (int k = 0; k < L; k++) t[k] = v * L + k < F ? *cvec(x, (long)v * L + k) : (vf){0};
        transpose16(t);
        for (int l = 0; l < L; l++) *mvec(tx + (long)l * Fp, v) = t[l];
    }
    if (db)
        for (int o = o_a; o < o_b; o++) db[o] = hsum(cvec(dy, o));
#define BLK(o0, NB) fc_dw_rows(dy, tx, Fp, F, v_a, v_b, dw, o0, NB)
    FC_BLOCKS(o_a, o_b, FC_DWO, BLK)
#undef BLK
}


/* The fc layers are shared by blocks of blk outputs (features). */
static void share_fc(int n, int blk, int part, int parts, int *a, int *b) {
    ln_lanes_share((n + blk - 1) / blk, part, parts, a, b);
    *a *= blk;
    *b = *b * blk < n ? *b * blk : n;
}

void KFN(ln_lanes_forward_stage)(const ln_lenet_views *p, ln_lane_group *g, int stage, int part, int parts,
                                 double *prof) {
    PROF_START;
    int a, b;
    switch (stage) {
    case 0: { /* conv1 + pool1, by pooled rows (each needs two conv1 rows) */
        ln_lanes_share(P1, part, parts, &a, &b);
        /* a pooled row at a time: its two conv1 rows (21 KB) go to a buffer
         * that stays in L1 for pool1, not to a1 (301 KB a group), which
         * nothing else reads */
        float band[C1 * 2 * S1 * L] __attribute__((aligned(64)));
        for (int py = a; py < b; py++) {
            conv_fwd(g->x, LN_IN_C, S0, S0, p->conv1_w, p->conv1_b, 0, C1, 2 * py, 2 * py + 2, band, 1, C1_OCB,
                     C1_PX, g->pf);
            PROF_MARK(0);
            pool_fwd(band, 2, 2 * py, 0, C1, S1, S1, py, py + 1, g->p1, g->arg1);
            PROF_MARK(1);
        }
        break;
    }
    case 1: { /* conv2 + pool2, by blocks of output channels */
        ln_lanes_share(C2 / C2_OCB, part, parts, &a, &b);
        float band[C2 * 2 * S2 * L] __attribute__((aligned(64)));
        for (int py = 0; py < P2; py++) { /* as conv1 + pool1 */
            conv_fwd(g->p1, C1, P1, P1, p->conv2_w, p->conv2_b, a * C2_OCB, b * C2_OCB, 2 * py, 2 * py + 2, band, 1,
                     C2_OCB, C2_PX, g->pf);
            PROF_MARK(2);
            pool_fwd(band, 2, 2 * py, a * C2_OCB, b * C2_OCB, S2, S2, py, py + 1, g->p2, g->arg2);
            PROF_MARK(3);
        }
        break;
    }
    case 2:
        share_fc(F1, FC_OB, part, parts, &a, &b);
        fc_fwd(g->p2, LN_FLAT, p->fc1_w, p->fc1_b, a, b, g->h1, 1);
        PROF_MARK(4);
        break;
    case 3:
        share_fc(F2, FC_OB, part, parts, &a, &b);
        fc_fwd(g->h1, F1, p->fc2_w, p->fc2_b, a, b, g->h2, 1);
        PROF_MARK(5);
        break;
    case 4:
        share_fc(NC, FC_OB, part, parts, &a, &b);
        fc_fwd(g->h2, F2, p->fc3_w, p->fc3_b, a, b, g->lo, 0);
        PROF_MARK(6);
        break;
    }
}

/* A fully connected layer's backward: the weight gradient shared by rows
 * (outputs) when there are enough of them (fc1, fc2), else by vectors of
 * input features (part 0 also takes the bias); the input gradient by blocks
 * of features, or whole in every part if whole_dx. Which part computes a
 * gradient element never changes its chain of operations. Each part
 * transposes into its own slice of tx, so parts never share it. */
static inline __attribute__((always_inline)) void fc_bwd(const float *dy, int O, const float *x, int F, const float *w,
                                                         float *dw, float *db, float *dx, const float *act, float *tx,
                                                         int part, int parts, int whole_dx) {
    int a, b;
    tx += (long)part * L * LN_LANES_TX;
    if (parts > 1 && O >= 2 * parts * FC_DWO) {
        /* By rows: each part writes whole rows of dw, the contiguous
         * memory the gradient sum (net.c, split.h over each tensor) then
         * reads from the same thread; each part transposes all of x. */
        ln_lanes_share(O, part, parts, &a, &b);
        fc_dw(dy, a, b, x, F, dw, db, tx, 0, (F + L - 1) / L);
    } else {
        ln_lanes_share((F + L - 1) / L, part, parts, &a, &b);
        fc_dw(dy, 0, O, x, F, dw, part == 0 ? db : NULL, tx, a, b);
    }
    if (whole_dx) a = 0, b = F;
    else share_fc(F, L, part, parts, &a, &b);
    fc_bwd_in(dy, O, w, F, a, b, dx, act, tx);
}

void KFN(ln_lanes_backward_stage)(const ln_lenet_views *p, ln_lenet_views *dg, ln_lane_group *g, int stage, int part,
                                  int parts, double *prof) {
    PROF_START;
    int a, b;
    switch (stage) {
    case 0:
        fc_bwd(g->dlo, NC, g->h2, F2, p->fc3_w, dg->fc3_w, dg->fc3_b, g->dh2, g->h2, g->tx, part, parts, 1);
        PROF_MARK(13);
        break;
    case 1:
        fc_bwd(g->dh2, F2, g->h1, F1, p->fc2_w, dg->fc2_w, dg->fc2_b, g->dh1, g->h1, g->tx, part, parts, 0);
        PROF_MARK(12);
        break;
    case 2:
        fc_bwd(g->dh1, F1, g->p2, LN_FLAT, p->fc1_w, dg->fc1_w, dg->fc1_b, g->dp2, NULL, g->tx, part, parts, 0);
        PROF_MARK(11);
        break;
    case 3: /* pool2 + conv2's weight gradient, by blocks of conv2's output channels */
        ln_lanes_share(C2 / DW2_OCB, part, parts, &a, &b);
        pool_relu_bwd(g->dp2, g->arg2, g->p2, a * DW2_OCB, b * DW2_OCB, S2, S2, g->da2);
        PROF_MARK(10);
        conv_dw(g->da2, a * DW2_OCB, b * DW2_OCB, S2, S2, g->p1, C1, dg->conv2_w, dg->conv2_b, DW2_OCB, g->pf);
        PROF_MARK(9);
        break;
    case 4: /* conv2's input gradient, pool1 and conv1's weight gradient, by blocks of conv1's channels */
        ln_lanes_share(C1 / B4_C1, part, parts, &a, &b);
        conv_bwd_in(g->da2, C2, S2, S2, p->conv2_w, C1, a * B4_C1, b * B4_C1, g->dp1);
        PROF_MARK(9);
        conv1_dw_pooled(g->dp1, g->arg1, g->p1, a * B4_C1, b * B4_C1, g->x, dg->conv1_w, dg->conv1_b, g->da1);
        PROF_MARK(7); /* pool1's backward is in conv1's time now */
        break;
    }
}

/* ---------- one image, pixels in the lanes (latency path) ----------
 * The same arithmetic as above, element by element (bias first, then the
 * taps in (ic, ky, kx) order, one fused multiply-add each; the same pooling
 * comparisons; fc sums in feature order), but vectorised across the pixels
 * of one image instead of across 16 images, so a single image costs ~1/16
 * of a group. The results are bit-identical to the batch path. Rows are
 * stored with padded strides; lanes past a row's end hold junk that is
 * never read as data. */
typedef float vfu __attribute__((vector_size(64), aligned(4)));



/* out row stride os, in row stride is; OW <= 32. OCB output channels x RB
 * output rows are computed at once: independent accumulation chains that
 * keep the FMA units busy (each still sums bias, then the taps in (ic, ky,
 * kx) order). OC % OCB == 0, OH % RB == 0. */
static inline __attribute__((always_inline)) void conv_fwd1(const float *in, int IC, int H, int is, const float *w,
                                                            const float *bias, int OC, int OW, float *out, int os,
                                                            int OCB, int RB) {
    const int OH = H - K + 1, NV = (OW + L - 1) / L;
    for (int oc0 = 0; oc0 < OC; oc0 += OCB)
        for (int oy0 = 0; oy0 < OH; oy0 += RB)
            for (int v = 0; v < NV; v++) {
                vf acc[MAX_OCB][MAX_PX];
                for (int j = 0; j < OCB; j++)
                    for (int r = 0; r < RB; r++) acc[j][r] = bcast(bias ? bias[oc0 + j] : 0.f);
                for (int ic = 0; ic < IC; ic++)
                    for (int ky = 0; ky < K; ky++) {
                        const float *rw = in + ((long)ic * H + oy0 + ky) * is + v * L;
                        const float *wr = w + (((long)oc0 * IC + ic) * K + ky) * K;
                        for (int kx = 0; kx < K; kx++)
                            for (int j = 0; j < OCB; j++) {
                                const vf wv = bcast(wr[(long)j * IC * K * K + kx]);
                                for (int r = 0; r < RB; r++)
                                    FMA_ACC(acc[j][r], wv, *(const vfu *)(rw + (long)r * is + kx));
                            }
                    }
                for (int j = 0; j < OCB; j++)
                    for (int r = 0; r < RB; r++)
                        *(vfu *)(out + ((long)(oc0 + j) * OH + oy0 + r) * os + v * L) = relu(acc[j][r]);
            }
}

/* 2x2 max pooling of a (C, H, W) image with row strides is -> os. */
static void pool_fwd1(const float *in, int C, int H, int W, int is, float *out, int os) {
    for (int c = 0; c < C; c++)
        for (int oy = 0; oy < H / 2; oy++)
            for (int ox = 0; ox < W / 2; ox++) {
                const float *r0 = in + ((long)c * H + 2 * oy) * is + 2 * ox, *r1 = r0 + is;
                float m = r0[0];
                if (r0[1] > m) m = r0[1];
                if (r1[0] > m) m = r1[0];
                if (r1[1] > m) m = r1[1];
                out[((long)c * (H / 2) + oy) * os + ox] = m;
            }
}

/* Transpose a 16 x 16 tile held as 16 vectors (rows) in place: four rounds
 * that swap the off-diagonal blocks of 8, 4, 2 and 1. */
#define SWAP_BLOCKS(b, LO, HI)                                                                               \
    for (int i_ = 0; i_ < 16; i_++)                                                                          \
        if (!(i_ & (b))) {                                                                                   \
            const vf a_ = t[i_], c_ = t[i_ + (b)];                                                           \
            t[i_] = __builtin_shufflevector(a_, c_, LO);                                                     \
            t[i_ + (b)] = __builtin_shufflevector(a_, c_, HI);                                               \
        }
#define IDX8 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23
#define IDX8H 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31
#define IDX4 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27
#define IDX4H 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31
#define IDX2 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29
#define IDX2H 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31
#define IDX1 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30
#define IDX1H 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31
static inline void transpose16(vf t[16]) {
    SWAP_BLOCKS(8, IDX8, IDX8H)
    SWAP_BLOCKS(4, IDX4, IDX4H)
    SWAP_BLOCKS(2, IDX2, IDX2H)
    SWAP_BLOCKS(1, IDX1, IDX1H)
}
#undef SWAP_BLOCKS
#undef IDX8
#undef IDX8H
#undef IDX4
#undef IDX4H
#undef IDX2
#undef IDX2H
#undef IDX1
#undef IDX1H

/* y (O) = [relu](b + w (O, F) x (F)), each output summed in feature order.
 * 16 outputs at a time in one vector: a 16 x 16 tile of w (16 outputs x 16
 * features) is transposed in registers so that each vector holds one
 * feature's weights for the 16 outputs - the same fused multiply-adds, in
 * the same order, as the batch path's fc_fwd. Outputs past the last 16
 * take scalar chains. */
static void fc_fwd1(const float *x, int F, const float *w, const float *b, int O, float *y, int do_relu) {
    const int F16 = F / L * L;
    int o0 = 0;
    for (; o0 + L <= O; o0 += L) {
        vf acc = *(const vfu *)(b + o0);
        const float *wo = w + (long)o0 * F;
        for (int f0 = 0; f0 < F16; f0 += L) {
            vf t[16];
            for (int j = 0; j < L; j++) t[j] = *(const vfu *)(wo + (long)j * F + f0);
            transpose16(t);
            for (int k = 0; k < L; k++) FMA_ACC(acc, t[k], bcast(x[f0 + k]));
        }
        for (int f = F16; f < F; f++) {
            vf col;
            for (int j = 0; j < L; j++) col[j] = wo[(long)j * F + f];
            FMA_ACC(acc, col, bcast(x[f]));
        }
        *(vfu *)(y + o0) = do_relu ? relu(acc) : acc;
    }
    enum { P = 8 }; /* independent chains for instruction-level parallelism */
    for (; o0 < O; o0 += P) {
        const int np = O - o0 < P ? O - o0 : P;
        float acc[P];
        for (int j = 0; j < np; j++) acc[j] = b[o0 + j];
        for (int f = 0; f < F; f++)
            for (int j = 0; j < np; j++) acc[j] = FMA1(w[(long)(o0 + j) * F + f], x[f], acc[j]);
        for (int j = 0; j < np; j++) y[o0 + j] = do_relu && !(acc[j] > 0.f) ? 0.f : acc[j];
    }
}

void KFN(ln_lanes_forward1)(const ln_lenet_views *p, const float *x, float *s, float *logits) {
    /* scratch layout (floats), as LN_LANES_SCRATCH1 counts it: the input +
     * slack, a1, p1 and a2 with rows padded to whole vectors (+ slack each),
     * then p2 (dense: flattened), h1, h2 */
    enum { R1 = LN_LANES_PAD(S1), RP1 = LN_LANES_PAD(P1), R2 = LN_LANES_PAD(S2) };
    float *xin = s, *a1 = xin + LN_IN_SIZE + 64, *p1 = a1 + C1 * S1 * R1 + 64, *a2 = p1 + C1 * P1 * RP1 + 64;
    float *p2 = a2 + C2 * S2 * R2 + 64, *h1 = p2 + LN_FLAT, *h2 = h1 + F1;
    memcpy(xin, x, sizeof(float) * LN_IN_SIZE);
    conv_fwd1(xin, LN_IN_C, S0, S0, p->conv1_w, p->conv1_b, C1, S1, a1, R1, 2, 4);
    pool_fwd1(a1, C1, S1, S1, R1, p1, RP1);
    conv_fwd1(p1, C1, P1, RP1, p->conv2_w, p->conv2_b, C2, S2, a2, R2, 4, 2);
    pool_fwd1(a2, C2, S2, S2, R2, p2, P2);
    fc_fwd1(p2, LN_FLAT, p->fc1_w, p->fc1_b, F1, h1, 1);
    fc_fwd1(h1, F1, p->fc2_w, p->fc2_b, F2, h2, 1);
    fc_fwd1(h2, F2, p->fc3_w, p->fc3_b, NC, logits, 0);
}

/* ---------- one image from packed weights (the snapshot, single.h) ----------
 * conv1 as in forward1; conv2 with its 16 output channels in the lanes (a
 * weight vector times a broadcast input pixel: no idle lanes, where
 * forward1's 10-pixel rows leave 6 of 16 idle); the fc layers with their
 * outputs in the lanes from transposed weights (forward1 transposes 16 x 16
 * tiles of the weights on every call). Every output still sums its bias,
 * then its terms in the batch path's order, with the same multiply-adds. */
#if defined(__AVX512F__)
enum { SG_C1_OCB = 2, SG_C1_RB = 4, SG_C2_PX = 10, SG_F1_NB = 8, SG_F2_NB = 6 };
#elif defined(__AVX2__)
enum { SG_C1_OCB = 1, SG_C1_RB = 4, SG_C2_PX = 5, SG_F1_NB = 4, SG_F2_NB = 3 };
#else
enum { SG_C1_OCB = 1, SG_C1_RB = 2, SG_C2_PX = 2, SG_F1_NB = 2, SG_F2_NB = 2 };
#endif
_Static_assert(C1 % SG_C1_OCB == 0 && S1 % SG_C1_RB == 0 && SG_C1_OCB <= MAX_OCB && SG_C1_RB <= MAX_PX,
               "the snapshot's conv1 blocking");
_Static_assert(S2 % SG_C2_PX == 0 && LN_SINGLE_F1V % SG_F1_NB == 0 && LN_SINGLE_F2V % SG_F2_NB == 0,
               "the snapshot's conv2 and fc blocking");

/* conv2 + ReLU, output channels in the lanes: in (C1, P1, is) -> out (S2 *
 * S2, 16); w (C1, K, K, 16), b (16). SG_C2_PX pixels of a row at once. */
static inline __attribute__((always_inline)) void single_conv2(const float *in, int is, const float *w,
                                                               const float *b, float *out) {
    for (int y = 0; y < S2; y++)
        for (int x0 = 0; x0 < S2; x0 += SG_C2_PX) {
            vf acc[SG_C2_PX];
            for (int p = 0; p < SG_C2_PX; p++) acc[p] = *cvec(b, 0);
            for (int ic = 0; ic < C1; ic++)
                for (int ky = 0; ky < K; ky++) {
                    const float *row = in + ((long)ic * P1 + y + ky) * is + x0;
                    const float *wr = w + ((long)ic * K + ky) * K * L;
                    for (int kx = 0; kx < K; kx++) {
                        const vf wv = *cvec(wr, kx);
                        for (int p = 0; p < SG_C2_PX; p++) FMA_ACC(acc[p], wv, bcast(row[p + kx]));
                    }
                }
            for (int p = 0; p < SG_C2_PX; p++) *mvec(out, (long)y * S2 + x0 + p) = relu(acc[p]);
        }
}

/* y (NV vectors) = [relu](b + x (F) w (F, NV * 16)), feature f = i * n2 + j
 * read at x[i * xs1 + j * xs2], in feature order; NB vectors at a time. */
static inline __attribute__((always_inline)) void single_fc(const float *x, int n1, int xs1, int n2, int xs2,
                                                            const float *w, const float *b, int NV, int NB, float *y,
                                                            int do_relu) {
    for (int v0 = 0; v0 < NV; v0 += NB) {
        vf acc[8];
        for (int j = 0; j < NB; j++) acc[j] = *cvec(b, v0 + j);
        const float *wf = w + (long)v0 * L;
        for (int i = 0; i < n1; i++)
            for (int jf = 0; jf < n2; jf++, wf += (long)NV * L) {
                const vf xv = bcast(x[(long)i * xs1 + (long)jf * xs2]);
                for (int j = 0; j < NB; j++) FMA_ACC(acc[j], *cvec(wf, j), xv);
            }
        for (int j = 0; j < NB; j++) *mvec(y, v0 + j) = do_relu ? relu(acc[j]) : acc[j];
    }
}

void KFN(ln_lanes_single)(const float *pk, const float *x, float *s, float *logits) {
    enum { R1 = LN_LANES_PAD(S1), RP1 = LN_LANES_PAD(P1) };
    float *xin = s, *a1 = xin + LN_IN_SIZE + 64, *p1 = a1 + C1 * S1 * R1 + 64, *a2 = p1 + C1 * P1 * RP1 + 64;
    float *p2 = a2 + S2 * S2 * L, *h1 = p2 + P2 * P2 * L, *h2 = h1 + LN_SINGLE_F1V * L, *lo = h2 + LN_SINGLE_F2V * L;
    memcpy(xin, x, sizeof(float) * LN_IN_SIZE); /* conv1's last vectors read into the slack after it */
    conv_fwd1(xin, LN_IN_C, S0, S0, pk + LN_SINGLE_C1W, pk + LN_SINGLE_C1B, C1, S1, a1, R1, SG_C1_OCB, SG_C1_RB);
    pool_fwd1(a1, C1, S1, S1, R1, p1, RP1);
    single_conv2(p1, RP1, pk + LN_SINGLE_C2W, pk + LN_SINGLE_C2B, a2);
    pool_fwd(a2, S2, 0, 0, 1, S2, S2, 0, P2, p2, NULL); /* (S2, S2, 16): one "channel", the 16 in the lanes */
    /* fc1's features are flattened (channel, row, column): p2 (pixel, channel) read across */
    single_fc(p2, C2, 1, P2 * P2, L, pk + LN_SINGLE_F1W, pk + LN_SINGLE_F1B, LN_SINGLE_F1V, SG_F1_NB, h1, 1);
    single_fc(h1, 1, 0, F1, 1, pk + LN_SINGLE_F2W, pk + LN_SINGLE_F2B, LN_SINGLE_F2V, SG_F2_NB, h2, 1);
    single_fc(h2, 1, 0, F2, 1, pk + LN_SINGLE_F3W, pk + LN_SINGLE_F3B, LN_SINGLE_F3V, 1, lo, 0);
    memcpy(logits, lo, sizeof(float) * NC);
}

/* ---------- a group's input ----------
 * Tiles [t0, t1) of 16 pixels of the group's input x (LN_IN_SIZE, 16) from n
 * rows (images); lanes n..15 are zero. A tile is 16 rows x 16 pixels,
 * transposed in registers. From uint8 images the pixels are normalised on
 * the way, with ln_normalize_px's operations (two multiplies, an add, each
 * rounded: the same bits as the scalar function). */
typedef uint8_t vu8 __attribute__((vector_size(16), aligned(1)));
typedef float vfu1 __attribute__((vector_size(64), aligned(4)));

/* 16 bytes -> 16 floats (exact). GCC compiles __builtin_convertvector from
 * uint8 to float into one scalar conversion per byte (measured: 4-6% of a
 * 1-thread epoch in this function); the intrinsics are vpmovzxbd and
 * vcvtdq2ps. */
static inline void u8_to_float(const uint8_t *p, vf *out) {
#if defined(__AVX512F__)
    *out = (vf)_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p)));
#elif defined(__AVX2__) && defined(__FMA__)
    const __m128i b = _mm_loadu_si128((const __m128i *)p);
    const __m256 lo = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b));
    const __m256 hi = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(b, 8)));
    memcpy(out, &lo, sizeof lo);
    memcpy((char *)out + sizeof lo, &hi, sizeof hi);
#else
    *out = __builtin_convertvector(*(const vu8 *)p, vf);
#endif
}

void KFN(ln_lanes_load_u8)(const uint8_t *const *rows, int n, float *x, int t0, int t1) {
    const vf r1 = bcast(LN_RESCALE1), r2 = bcast(LN_RESCALE2), s2 = bcast(LN_SHIFT2);
    for (int t = t0; t < t1; t++) {
        vf tile[16];
        for (int l = 0; l < L; l++) {
            if (l < n) {
                vf v;
                u8_to_float(rows[l] + t * 16, &v);
                const vf a = v * r1;
                const vf b = a * r2;
                tile[l] = b + s2;
            } else {
                tile[l] = (vf){0};
            }
        }
        transpose16(tile);
        for (int i = 0; i < 16; i++) *mvec(x, (long)t * 16 + i) = tile[i];
    }
}

void KFN(ln_lanes_load_f32)(const float *rows, int n, float *x, int t0, int t1) {
    for (int t = t0; t < t1; t++) {
        vf tile[16];
        for (int l = 0; l < L; l++) tile[l] = l < n ? *(const vfu1 *)(rows + (long)l * LN_IN_SIZE + t * 16) : (vf){0};
        transpose16(tile);
        for (int i = 0; i < 16; i++) *mvec(x, (long)t * 16 + i) = tile[i];
    }
}
