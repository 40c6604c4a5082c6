/* lanes_bf16.c - LeNet-5 forward and backward for one group of 16 samples
 * with bf16 operands and float32 accumulation (see lanes_bf16.h for the
 * arithmetic and the layouts, lanes.h for the group).
 *
 * Compiled per instruction set like lanes_kernels.c (LN_KSUFFIX = generic
 * | avx2 | avx512 | avx512bf16). DP(acc, a, b) is one vdpbf16ps: the
 * instruction in the avx512bf16 build, an exact emulation in the others.
 * The emulation has two forms. DPF, where the build has an FMA instruction:
 * two hardware FMAs on the bf16 halves, nothing else. The kernels run in the
 * engine's floating-point mode (fpflush.h: MXCSR FTZ + DAZ), in which an x86
 * FMA reads denormal operands as zero and flushes a result tiny after
 * rounding, exactly the instruction's rules; it differs only in which NaN
 * comes out. A NaN never leaves an accumulator chain, so each block of
 * outputs is checked once at its end and, if a lane holds a NaN, the block
 * is computed again with the exact form. DP (exact): the same FMAs with the
 * denormal rules spelled out, the lanes the vector form cannot decide (a
 * NaN, or a result at the smallest normal) recomputed by the scalar
 * reference, ln_bf16_dot_ref; it needs no floating-point mode. Measured on
 * a Skylake-SP Xeon (no AVX512_BF16), an O2 training epoch on one thread:
 * DP alone 44 s, DPF 6.4-6.9 s (float32: 2.8-3.0 s), the same bits. The float parts
 * (bias, ReLU, pooling) are lanes_kernels.c's, in the same order.
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include "fpflush.h"
#include "lanes_bf16.h"
#include "kernel_suffix.h"
#include "lanes_vec.h"

typedef float vfu __attribute__((vector_size(64), aligned(4)));
typedef uint32_t vuu __attribute__((vector_size(64), aligned(4)));

/* Register blocking per instruction set: output channels x pixels. */
#if defined(__AVX512F__)
enum { C1_OCB = 6, C1_PX = 4, C2_OCB = 4, C2_PX = 5, DW1_OCB = 3, DW2_OCB = 4, FC_OB = 8, BWD_KXB = 2 };
#elif defined(__AVX2__)
enum { C1_OCB = 3, C1_PX = 2, C2_OCB = 2, C2_PX = 2, DW1_OCB = 1, DW2_OCB = 1, FC_OB = 4, BWD_KXB = 1 };
#else
enum { C1_OCB = 1, C1_PX = 2, C2_OCB = 1, C2_PX = 2, DW1_OCB = 1, DW2_OCB = 1, FC_OB = 2, BWD_KXB = 1 };
#endif
#define MAX_OCB 8
#define MAX_PX 8
#define MAX_ROW 16
#define KP 3 /* tap pairs per kernel row: (0,1) (2,3) (4,-) */

_Static_assert(LN_CONV1_C % C1_OCB == 0 && LN_CONV1_SIDE % C1_PX == 0, "conv1 blocking");
_Static_assert(LN_CONV2_C % C2_OCB == 0 && LN_CONV2_SIDE % C2_PX == 0, "conv2 blocking");
_Static_assert(LN_CONV1_C % DW1_OCB == 0 && LN_CONV2_C % DW2_OCB == 0, "weight-gradient blocking");
_Static_assert(LN_CONV2_SIDE <= MAX_ROW && K == 5 && LN_POOL == 2 && LN_IN_C == 1, "the shapes");
_Static_assert(LN_CONV2_C % 2 == 0 && LN_CONV1_SIDE % 2 == 0 && LN_CONV2_SIDE % 2 == 0 && LN_FLAT % 2 == 0 &&
                   LN_FC1_N % 2 == 0 && LN_FC2_N % 2 == 0 && LN_CLASSES % 2 == 0,
               "every paired dimension is even");

#if defined(__AVX512F__) || !defined(__AVX2__)
#define bcastu(s) ((vu){(s), (s), (s), (s), (s), (s), (s), (s), (s), (s), (s), (s), (s), (s), (s), (s)})
#else
/* Where a vu is two registers (AVX2), gcc 12 builds a 16-lane splat with 16
 * scalar stores and reloads it (a store-forwarding stall at every weight
 * of the AVX2 kernels); a register-wide splat copied into each part is one
 * broadcast. */
#define bcastu(s)                                                                                            \
    __extension__({                                                                                          \
        const vup_ h_ = (vup_){0} + (uint32_t)(s);                                                           \
        vu r_;                                                                                               \
        for (int i_ = 0; i_ < LN_VPARTS; i_++) memcpy((char *)&r_ + i_ * sizeof h_, &h_, sizeof h_);         \
        r_;                                                                                                  \
    })
#endif

/* ---------- the two primitives ---------- */

/* *out = pairs (bf16(lo), bf16(hi)) lane by lane. A macro, like the
 * other helpers taking vectors: a 64-byte vector passed by value would
 * have a different ABI in each build. */
#if defined(__AVX512BF16__)
#include <immintrin.h>
/* VCVTNE2PS2BF16 (hi's 16 bf16 above lo's), then interleave the halves. */
#define pack_v(out, lo, hi)                                                                                  \
    do {                                                                                                     \
        const __m512i idx_ = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,  \
                                              23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);       \
        *(out) = (vu)_mm512_permutexvar_epi16(idx_, (__m512i)_mm512_cvtne2ps_pbh((__m512)(hi), (__m512)(lo))); \
    } while (0)
#else
/* float32 -> bf16 bits (low 16 bits of each lane), VCVTNEPS2BF16's rule. */
static inline __attribute__((always_inline)) void round16(vu *out, const vf *x) {
    const vu u = (vu)*x;
    vu r = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
    const vu tiny = (vu)vcmpu(u & 0x7F800000u, (vu){0}, ==), nan = (vu)vcmpu(u & 0x7FFFFFFFu, (vu){0} + 0x7F800000u, >);
    r = (r & ~tiny) | ((u >> 16) & 0x8000u & tiny);
    *out = (r & ~nan) | (((u >> 16) | 0x40u) & nan);
}
#define pack_v(out, lo, hi)                                                                                  \
    do {                                                                                                     \
        const vf lo_ = (lo), hi_ = (hi);                                                                     \
        vu a_, b_;                                                                                           \
        round16(&a_, &lo_);                                                                                  \
        round16(&b_, &hi_);                                                                                  \
        *(out) = (b_ << 16) | a_;                                                                            \
    } while (0)
#endif
static inline uint32_t round1(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (u >> 16) | 0x40u;
    if (!(u & 0x7F800000u)) return (u >> 16) & 0x8000u;
    return (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
}
#define PACK1(lo, hi) ((round1(hi) << 16) | round1(lo))

#if defined(__AVX512BF16__)
#include <immintrin.h>
#define DP(acc, a, b) ((acc) = (vf)_mm512_dpbf16_ps((__m512)(acc), (__m512bh)(a), (__m512bh)(b)))
#else
#if defined(__AVX512F__)
#define ANY(m) (_mm512_test_epi32_mask((__m512i)(m), (__m512i)(m)) != 0)
#endif
#ifdef FMA_HW
#define FMAV(acc, a, b) FMA_HW(acc, a, b)
#else
/* No FMA instruction: libm's fmaf, correctly rounded like the instruction. */
#define FMAV(acc, a, b)                                                                                      \
    do {                                                                                                     \
        for (int i_ = 0; i_ < L; i_++) (acc)[i_] = fmaf((a)[i_], (b)[i_], (acc)[i_]);                     \
    } while (0)
#endif
#ifndef ANY
static inline int any16(const vu *m) {
    uint32_t o = 0;
    for (int i = 0; i < L; i++) o |= (*m)[i];
    return o != 0;
}
#define ANY(m) any16(&(m))
#endif
/* Denormals (exponent bits 0) -> zero of the same sign. */
#define daz(v) daz_((vu)(v))
#define daz_(u) ((vf)(((u) & ~(vu)vcmpu((u) & 0x7F800000u, (vu){0}, ==)) | ((u) & 0x80000000u & (vu)vcmpu((u) & 0x7F800000u, (vu){0}, ==))))
/* Inlined where AVX-512 makes it a few instructions; a call in the
 * narrower builds, whose inlined copies would make the kernels several
 * times larger (only CPUs without AVX-512 run them). */
#if defined(__AVX512F__)
#define DP_EMU_ATTR static inline __attribute__((always_inline))
#else
#define DP_EMU_ATTR static __attribute__((noinline))
#endif
DP_EMU_ATTR void dp_emu(vf *acc, const vu *ap, const vu *bp) {
    const vu a = *ap, b = *bp;
    const vf c0 = *acc;
    vf t = daz(c0);
    FMAV(t, daz((vf)(a & 0xFFFF0000u)), daz((vf)(b & 0xFFFF0000u)));
    const vu ut = (vu)t & 0x7FFFFFFFu;
    t = daz(t);
    vf r = t;
    FMAV(r, daz((vf)(a << 16)), daz((vf)(b << 16)));
    const vu ur = (vu)r & 0x7FFFFFFFu;
    r = daz(r);
    /* a NaN (from a NaN operand or an invalid operation), or a result that
     * fmaf rounded to the smallest normal (the hardware may flush it) */
    const vu odd = (vu)vcmpu(ut, (vu){0} + 0x00800000u, ==) | (vu)vcmpu(ur, (vu){0} + 0x00800000u, ==) |
                   (vu)vcmpu(ur, (vu){0} + 0x7F800000u, >);
    if (__builtin_expect(ANY(odd), 0))
        for (int i = 0; i < L; i++)
            if (odd[i]) r[i] = ln_bf16_dot_ref(c0[i], a[i], b[i]);
    *acc = r;
}
#define DP(acc, a, b)                                                                                        \
    do {                                                                                                     \
        const vu a_ = (a), b_ = (b);                                                                         \
        dp_emu(&(acc), &a_, &b_);                                                                            \
    } while (0)
#endif

/* DPX(acc, a, b, exact): DP if exact, else DPF where the build has it (see
 * the top); nan_rows(v, rows, cols, stride): 1 if one of rows x cols
 * vectors (row r at v + r * stride) holds a NaN, always 0 without DPF. */
#if !defined(__AVX512BF16__) && defined(FMA_HW) && (defined(__x86_64__) || defined(__i386__))
#define DPF(acc, a, b)                                                                                       \
    do {                                                                                                     \
        const vu pa_ = (a), pb_ = (b); /* not a_, b_: FMA_HW's own names */                                \
        FMA_HW(acc, (vf)(pa_ & 0xFFFF0000u), (vf)(pb_ & 0xFFFF0000u));                                      \
        FMA_HW(acc, (vf)(pa_ << 16), (vf)(pb_ << 16));                                                       \
    } while (0)
#define DPX(acc, a, b, exact)                                                                                \
    do {                                                                                                     \
        if (exact) DP(acc, a, b);                                                                            \
        else DPF(acc, a, b);                                                                                 \
    } while (0)
static inline __attribute__((always_inline)) int nan_rows(const vf *v, int rows, int cols, int stride) {
    vu m = {0};
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) m |= (vu)vcmpf(v[r * stride + c], v[r * stride + c], !=);
    return ANY(m);
}
#else
#define DPX(acc, a, b, exact) do { (void)(exact); DP(acc, a, b); } while (0)
#define nan_rows(v, rows, cols, stride) 0
#endif

void KFN(ln_bf16_dot)(float *acc, const uint32_t *a, const uint32_t *b, long n) {
    long i = 0;
    const unsigned fp = ln_fpflush_enter(); /* the kernels' mode */
    for (; i + L <= n; i += L) {
        vf c = *(const vfu *)(acc + i);
        DPX(c, *(const vuu *)(a + i), *(const vuu *)(b + i), 0);
        if (nan_rows(&c, 1, 1, 1)) {
            c = *(const vfu *)(acc + i);
            DP(c, *(const vuu *)(a + i), *(const vuu *)(b + i));
        }
        *(vfu *)(acc + i) = c;
    }
    ln_fpflush_leave(fp);
    for (; i < n; i++) acc[i] = ln_bf16_dot_ref(acc[i], a[i], b[i]);
}

void KFN(ln_bf16_pack2)(const float *lo, const float *hi, uint32_t *pairs, long n) {
    long i = 0;
    for (; i + L <= n; i += L) {
        vu r;
        pack_v(&r, *(const vfu *)(lo + i), *(const vfu *)(hi + i));
        *(vuu *)(pairs + i) = r;
    }
    for (; i < n; i++) pairs[i] = PACK1(lo[i], hi[i]);
}

/* pairs[i] = (src[2i], src[2i+1]), i < n. */
static void pack_adjacent(const float *src, uint32_t *pairs, long n) {
    long i = 0;
    for (; i + L <= n; i += L) {
        const vf a = *(const vfu *)(src + 2 * i), b = *(const vfu *)(src + 2 * i + L);
        const vf ev = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        const vf od = __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        vu r;
        pack_v(&r, ev, od);
        *(vuu *)(pairs + i) = r;
    }
    for (; i < n; i++) pairs[i] = PACK1(src[2 * i], src[2 * i + 1]);
}

/* ---------- weights ---------- */

/* Kernel rows of 5 taps -> 3 pairs (w0,w1) (w2,w3) (w4,0); `rows` rows. */
static void pack_taps(const float *w, long rows, uint32_t *out) {
    for (long r = 0; r < rows; r++, w += K, out += KP)
        out[0] = PACK1(w[0], w[1]), out[1] = PACK1(w[2], w[3]), out[2] = PACK1(w[4], 0.f);
}

/* fc weights w (O, F): (O, F/2) pairs along f, then (O/2, F) pairs along o. */
static uint32_t *pack_fc(const float *w, int O, int F, uint32_t *out) {
    pack_adjacent(w, out, (long)O * F / 2);
    out += (long)O * F / 2;
    for (int k = 0; k < O / 2; k++) KFN(ln_bf16_pack2)(w + 2L * k * F, w + (2L * k + 1) * F, out + (long)k * F, F);
    return out + (long)O / 2 * F;
}

void KFN(ln_bf16_pack)(const ln_lenet_views *p, uint32_t *w) {
    pack_taps(p->conv1_w, LN_CONV1_C * LN_IN_C * K, w);
    w += LN_BF16_W_C1;
    pack_taps(p->conv2_w, LN_CONV2_C * LN_CONV1_C * K, w);
    w += LN_BF16_W_C2;
    const long row = (long)LN_CONV1_C * K * K;
    for (int k = 0; k < LN_CONV2_C / 2; k++)
        KFN(ln_bf16_pack2)(p->conv2_w + 2 * k * row, p->conv2_w + (2 * k + 1) * row, w + k * row, row);
    w += LN_BF16_W_C2T;
    w = pack_fc(p->fc1_w, LN_FC1_N, LN_FLAT, w);
    w = pack_fc(p->fc2_w, LN_FC2_N, LN_FC1_N, w);
    pack_fc(p->fc3_w, LN_CLASSES, LN_FC2_N, w);
}

/* ---------- activations ---------- */

static inline const vu *cpair(const uint32_t *p, long e) { return (const vu *)(p + e * L); }
static inline vu *mpair(uint32_t *p, long e) { return (vu *)(p + e * L); }

/* (E, L) floats -> (E/2, L) pairs of elements 2e, 2e+1. */
static void pairs_elements(const float *x, long E, uint32_t *out) {
    for (long e = 0; e < E / 2; e++) pack_v(mpair(out, e), *cvec(x, 2 * e), *cvec(x, 2 * e + 1));
}

/* (C, H, W, L) floats -> (C/2, H, W, L) pairs of channels 2c, 2c+1. */
static void pairs_channels(const float *x, int C, long HW, uint32_t *out) {
    for (int c = 0; c < C / 2; c++)
        for (long i = 0; i < HW; i++)
            pack_v(mpair(out, c * HW + i), *cvec(x, 2 * c * HW + i), *cvec(x, (2 * c + 1) * HW + i));
}

/* (R, W, L) floats (R = channels x rows) -> sliding pairs (x, x+1). */
static void pairs_sliding(const float *x, long R, int W, uint32_t *out) {
    for (long r = 0; r < R; r++) {
        const vf *row = cvec(x, r * W);
        vu *o = mpair(out, r * W);
        for (int i = 0; i + 1 < W; i++) pack_v(&o[i], row[i], row[i + 1]);
        pack_v(&o[W - 1], row[W - 1], (vf){0});
    }
}

/* dy (O, L) -> dyl (O, L/2): pairs of lanes 2k, 2k+1 of each row. */
static void pairs_lanes(const float *dy, int O, uint32_t *dyl) { pack_adjacent(dy, dyl, (long)O * L / 2); }

/* x (F, L) -> txp (Fp/L, L/2, L): for each vector of 16 features and each
 * lane pair k, the 16 features' pairs (x[f][2k], x[f][2k+1]); zero past F. */
static void pairs_lanes_t(const float *x, int F, uint32_t *txp) {
    const int Fp = (F + L - 1) / L * L;
    for (int f = 0; f < Fp; f++) {
        uint32_t pr[L / 2];
        if (f < F) pack_adjacent(x + (long)f * L, pr, L / 2);
        else memset(pr, 0, sizeof pr);
        uint32_t *d = txp + (long)(f / L) * (L / 2) * L + f % L;
        for (int k = 0; k < L / 2; k++) d[k * L] = pr[k];
    }
}

/* ---------- layers ---------- */

static inline float hsum(const vf *v) {
    typedef float vf8 __attribute__((vector_size(32)));
    typedef float vf4 __attribute__((vector_size(16)));
    const vf8 u = __builtin_shufflevector(*v, *v, 0, 1, 2, 3, 4, 5, 6, 7) +
                  __builtin_shufflevector(*v, *v, 8, 9, 10, 11, 12, 13, 14, 15);
    const vf4 w = __builtin_shufflevector(u, u, 0, 1, 2, 3) + __builtin_shufflevector(u, u, 4, 5, 6, 7);
    return (w[0] + w[2]) + (w[1] + w[3]);
}

/* out (OC, H-4, W-4, L) = [relu](bias + w (*) in), in as sliding pairs
 * (IC, H, W, L), w as tap pairs (OC, IC, 5, 3); per output the pairs in
 * (ic, ky, kx) order. */
static inline __attribute__((always_inline)) void conv_fwd_blk(const uint32_t *in, int IC, int H, int W,
                                                               const uint32_t *w, const float *bias, int oc0,
                                                               int oy, int ox0, int OCB, int PX,
                                                               vf acc[MAX_OCB][MAX_PX], const int exact) {
    for (int j = 0; j < OCB; j++)
        for (int p = 0; p < PX; p++) acc[j][p] = bcast(bias ? bias[oc0 + j] : 0.f);
    for (int ic = 0; ic < IC; ic++)
        for (int ky = 0; ky < K; ky++) {
            const vu *row = cpair(in, ((long)ic * H + oy + ky) * W + ox0);
            const uint32_t *wr = w + (((long)oc0 * IC + ic) * K + ky) * KP;
            for (int kp = 0; kp < KP; kp++)
                for (int j = 0; j < OCB; j++) {
                    const vu wv = bcastu(wr[(long)j * IC * K * KP + kp]);
                    for (int p = 0; p < PX; p++) DPX(acc[j][p], row[p + 2 * kp], wv, exact);
                }
        }
}
static inline __attribute__((always_inline)) void conv_fwd(const uint32_t *in, int IC, int H, int W,
                                                           const uint32_t *w, const float *bias, int OC,
                                                           float *out, int OCB, int PX) {
    const int OH = H - K + 1, OW = W - K + 1;
    for (int oc0 = 0; oc0 < OC; oc0 += OCB)
        for (int oy = 0; oy < OH; oy++)
            for (int ox0 = 0; ox0 < OW; ox0 += PX) {
                vf acc[MAX_OCB][MAX_PX];
                conv_fwd_blk(in, IC, H, W, w, bias, oc0, oy, ox0, OCB, PX, acc, 0);
                if (nan_rows(acc[0], OCB, PX, MAX_PX)) conv_fwd_blk(in, IC, H, W, w, bias, oc0, oy, ox0, OCB, PX, acc, 1);
                for (int j = 0; j < OCB; j++)
                    for (int p = 0; p < PX; p++)
                        *mvec(out, ((long)(oc0 + j) * OH + oy) * OW + ox0 + p) = relu(acc[j][p]);
            }
}

static inline __attribute__((always_inline)) void conv_dw_blk(const uint32_t *dout, int OH, int OW, const uint32_t *in,
                                                              int ic, int oc0, int ky, int OCB, vf acc[MAX_OCB][K],
                                                              const int exact) {
    const int W = OW + K - 1, OQ = OW / 2;
    for (int j = 0; j < OCB; j++)
        for (int kx = 0; kx < K; kx++) acc[j][kx] = (vf){0};
    for (int oy = 0; oy < OH; oy++) {
        const vu *row = cpair(in, ((long)ic * (OH + K - 1) + oy + ky) * W);
        const vu *g = cpair(dout, ((long)oc0 * OH + oy) * OQ);
        for (int q = 0; q < OQ; q++)
            for (int kx = 0; kx < K; kx++) {
                const vu v = row[2 * q + kx];
                for (int j = 0; j < OCB; j++) DPX(acc[j][kx], v, g[(long)j * OH * OQ + q], exact);
            }
    }
}
/* dw (OC, IC, 5, 5) = sum over pixels and lanes of dout x in: dout as
 * pixel pairs (OC, OH, OW/2, L), in as sliding pairs (IC, OH+4, OW+4, L);
 * each pair of output pixels (2q, 2q+1) meets input pixels (2q+kx, 2q+kx+1)
 * = sliding pair 2q+kx. db (OC) = float32 sums of doutf (if db). */
static inline __attribute__((always_inline)) void conv_dw(const uint32_t *dout, const float *doutf, int OC, int OH,
                                                          int OW, const uint32_t *in, int IC, float *dw, float *db,
                                                          int OCB) {
    if (db)
        for (int oc = 0; oc < OC; oc++) {
            const float *d = doutf + (long)oc * OH * OW * L;
            vf s = (vf){0};
            for (int i = 0; i < OH * OW; i++) s += *cvec(d, i);
            db[oc] = hsum(&s);
        }
    for (int oc0 = 0; oc0 < OC; oc0 += OCB)
        for (int ic = 0; ic < IC; ic++)
            for (int ky = 0; ky < K; ky++) {
                vf acc[MAX_OCB][K];
                conv_dw_blk(dout, OH, OW, in, ic, oc0, ky, OCB, acc, 0);
                if (nan_rows(acc[0], OCB, K, K)) conv_dw_blk(dout, OH, OW, in, ic, oc0, ky, OCB, acc, 1);
                for (int j = 0; j < OCB; j++)
                    for (int kx = 0; kx < K; kx++)
                        dw[(((long)(oc0 + j) * IC + ic) * K + ky) * K + kx] = hsum(&acc[j][kx]);
            }
}

static inline __attribute__((always_inline)) void bwd_in_blk(const uint32_t *dout, int OC2, int OH, int OW, int oy,
                                                             const uint32_t *wk, int IC, int nk,
                                                             vf acc[BWD_KXB][MAX_ROW], const int exact) {
    for (int t = 0; t < BWD_KXB; t++)
        for (int ox = 0; ox < OW; ox++) acc[t][ox] = (vf){0};
    for (int c = 0; c < OC2; c++) {
        const vu *d = cpair(dout, ((long)c * OH + oy) * OW);
        for (int t = 0; t < nk; t++) {
            const vu wv = bcastu(wk[(long)c * IC * K * K + t]);
            for (int ox = 0; ox < OW; ox++) DPX(acc[t][ox], d[ox], wv, exact);
        }
    }
}
/* din (IC, OH+4, OW+4, L) = transposed convolution of dout as channel pairs
 * (OC/2, OH, OW, L) with w as channel pairs (OC/2, IC, 5, 5); per (ic, ky,
 * kx) and output row the sum over channel pairs is made in registers, then
 * added into din tap after tap (as lanes_kernels.c). */
static inline __attribute__((always_inline)) void conv_bwd_in(const uint32_t *dout, int OC, int OH, int OW,
                                                              const uint32_t *w, int IC, float *din) {
    const int H = OH + K - 1, W = OW + K - 1, OC2 = OC / 2;
    memset(din, 0, sizeof(float) * (size_t)IC * H * W * L);
    for (int oy = 0; oy < OH; oy++)
        for (int ic = 0; ic < IC; ic++)
            for (int ky = 0; ky < K; ky++)
                for (int kx0 = 0; kx0 < K; kx0 += BWD_KXB) {
                    const int nk = K - kx0 < BWD_KXB ? K - kx0 : BWD_KXB;
                    const uint32_t *wk = w + ((long)ic * K + ky) * K + kx0;
                    vf acc[BWD_KXB][MAX_ROW];
                    bwd_in_blk(dout, OC2, OH, OW, oy, wk, IC, nk, acc, 0);
                    if (nan_rows(acc[0], nk, OW, MAX_ROW)) bwd_in_blk(dout, OC2, OH, OW, oy, wk, IC, nk, acc, 1);
                    for (int t = 0; t < nk; t++) {
                        vf *o = mvec(din, ((long)ic * H + oy + ky) * W + kx0 + t);
                        for (int ox = 0; ox < OW; ox++) o[ox] += acc[t][ox];
                    }
                }
}


static inline __attribute__((always_inline)) void fc_fwd_blk(const uint32_t *x, int F, const uint32_t *w,
                                                             const float *b, int o0, int nb, vf acc[FC_OB],
                                                             const int exact) {
    const int FH = F / 2;
    for (int j = 0; j < nb; j++) acc[j] = bcast(b[o0 + j]);
    if (nb == FC_OB)
        for (int f = 0; f < FH; f++) {
            const vu xv = *cpair(x, f);
            for (int j = 0; j < FC_OB; j++) DPX(acc[j], xv, bcastu(w[(long)(o0 + j) * FH + f]), exact);
        }
    else
        for (int f = 0; f < FH; f++) {
            const vu xv = *cpair(x, f);
            for (int j = 0; j < nb; j++) DPX(acc[j], xv, bcastu(w[(long)(o0 + j) * FH + f]), exact);
        }
}
/* y (O, L) = [relu](b + w x): x as feature pairs (F/2, L), w as (O, F/2). */
static inline __attribute__((always_inline)) void fc_fwd(const uint32_t *x, int F, const uint32_t *w, const float *b,
                                                         int O, float *y, int do_relu) {
    for (int o0 = 0; o0 < O; o0 += FC_OB) {
        const int nb = O - o0 < FC_OB ? O - o0 : FC_OB;
        vf acc[FC_OB];
        fc_fwd_blk(x, F, w, b, o0, nb, acc, 0);
        if (nan_rows(acc, 1, nb, 0)) fc_fwd_blk(x, F, w, b, o0, nb, acc, 1);
        for (int j = 0; j < nb; j++) *mvec(y, o0 + j) = do_relu ? relu(acc[j]) : acc[j];
    }
}

static inline __attribute__((always_inline)) void fc_bwd_in_blk(const uint32_t *dy, int O, const uint32_t *w, int F,
                                                                int f0, int nb, vf acc[FC_OB], const int exact) {
    for (int j = 0; j < nb; j++) acc[j] = (vf){0};
    if (nb == FC_OB)
        for (int o = 0; o < O / 2; o++) {
            const vu d = *cpair(dy, o);
            for (int j = 0; j < FC_OB; j++) DPX(acc[j], d, bcastu(w[(long)o * F + f0 + j]), exact);
        }
    else
        for (int o = 0; o < O / 2; o++) {
            const vu d = *cpair(dy, o);
            for (int j = 0; j < nb; j++) DPX(acc[j], d, bcastu(w[(long)o * F + f0 + j]), exact);
        }
}
/* dx (F, L) = w^T dy, times (act > 0) if act: dy as output pairs (O/2, L),
 * w as (O/2, F). */
static inline __attribute__((always_inline)) void fc_bwd_in(const uint32_t *dy, int O, const uint32_t *w, int F,
                                                            float *dx, const float *act) {
    for (int f0 = 0; f0 < F; f0 += FC_OB) {
        const int nb = F - f0 < FC_OB ? F - f0 : FC_OB;
        vf acc[FC_OB];
        fc_bwd_in_blk(dy, O, w, F, f0, nb, acc, 0);
        if (nan_rows(acc, 1, nb, 0)) fc_bwd_in_blk(dy, O, w, F, f0, nb, acc, 1);
        for (int j = 0; j < nb; j++)
            *mvec(dx, f0 + j) = act ? vsel(vgt(*cvec(act, f0 + j), (vf){0}), acc[j], (vf){0}) : acc[j];
    }
}

static inline __attribute__((always_inline)) void fc_dw_blk(const uint32_t *dyl, const uint32_t *tv, int o0, int nb,
                                                            vf acc[FC_OB], const int exact) {
    for (int j = 0; j < nb; j++) acc[j] = (vf){0};
    for (int k = 0; k < L / 2; k++) {
        const vu t = *cpair(tv, k);
        for (int j = 0; j < nb; j++) DPX(acc[j], t, bcastu(dyl[(long)(o0 + j) * (L / 2) + k]), exact);
    }
}
/* dw (O, F) = sum over the lanes of dy x x, the lanes taken in pairs: txp
 * = x's lane pairs (pairs_lanes_t), dyl (O, L/2) = dy's; each dw[o][f] is
 * the chain over k = 0..7 from 0. db (O) = float32 lane sums of dy. */
static void fc_dw(const float *dy, const uint32_t *dyl, int O, const uint32_t *txp, int F, float *dw, float *db) {
    const int NV = (F + L - 1) / L;
    for (int o = 0; o < O; o++) db[o] = hsum(cvec(dy, o));
    for (int v = 0; v < NV; v++) {
        const int n = F - v * L < L ? F - v * L : L;
        const uint32_t *tv = txp + (long)v * (L / 2) * L;
        for (int o0 = 0; o0 < O; o0 += FC_OB) {
            const int nb = O - o0 < FC_OB ? O - o0 : FC_OB;
            vf acc[FC_OB];
            fc_dw_blk(dyl, tv, o0, nb, acc, 0);
            if (nan_rows(acc, 1, nb, 0)) fc_dw_blk(dyl, tv, o0, nb, acc, 1);
            for (int j = 0; j < nb; j++) {
                float *d = dw + (long)(o0 + j) * F + v * L;
                if (n == L) memcpy(d, &acc[j], sizeof acc[j]);
                else
                    for (int k = 0; k < n; k++) d[k] = acc[j][k];
            }
        }
    }
}

/* ---------- the group ---------- */


/* The group's bf16 scratch (LN_BF16_GROUP_WORDS), carved in order. */
typedef struct {
    uint32_t *xs;   /* (32, 32, L) input, sliding pairs */
    uint32_t *p1s;  /* (6, 14, 14, L) pool1, sliding pairs */
    uint32_t *p2e;  /* (200, L) pool2 = fc1 input, feature pairs */
    uint32_t *h1e;  /* (60, L) */
    uint32_t *h2e;  /* (42, L) */
    uint32_t *dye;  /* (<= 60, L) an fc layer's output gradient, output pairs */
    uint32_t *da2x; /* (16, 10, 5, L) conv2's output gradient, pixel pairs */
    uint32_t *da2c; /* (8, 10, 10, L) the same, channel pairs */
    uint32_t *da1x; /* (6, 28, 14, L) conv1's output gradient, pixel pairs */
    uint32_t *txp;  /* (<= 25, 8, L) an fc input's lane pairs */
    uint32_t *dyl;  /* (<= 120, 8) an fc output gradient's lane pairs */
} bf_bufs;

static bf_bufs bufs_of(uint32_t *m) {
    bf_bufs b;
    const long sizes[] = {LN_IN_SIZE * L, C1 * LN_POOL1_PX * L, LN_FLAT / 2 * L, F1 / 2 * L, F2 / 2 * L, F1 / 2 * L,
                          C2 * LN_CONV2_PX / 2 * L, C2 * LN_CONV2_PX / 2 * L, C1 * LN_CONV1_PX / 2 * L,
                          L / 2 * LN_LANES_TX, F1 * L / 2};
    uint32_t **f[] = {&b.xs, &b.p1s, &b.p2e, &b.h1e, &b.h2e, &b.dye, &b.da2x, &b.da2c, &b.da1x, &b.txp, &b.dyl};
    _Static_assert(sizeof sizes / sizeof sizes[0] == sizeof f / sizeof f[0], "a size per buffer");
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) *f[i] = m, m += sizes[i];
    return b;
}

/* Offsets of the packed weights (ln_bf16_pack's order). */
typedef struct {
    const uint32_t *c1, *c2, *c2t, *f1, *f1t, *f2, *f2t, *f3, *f3t;
} bf_weights;

static bf_weights weights_of(const uint32_t *w) {
    bf_weights p;
    p.c1 = w, w += LN_BF16_W_C1;
    p.c2 = w, w += LN_BF16_W_C2;
    p.c2t = w, w += LN_BF16_W_C2T;
    p.f1 = w, w += LN_BF16_W_F1;
    p.f1t = w, w += LN_BF16_W_F1;
    p.f2 = w, w += LN_BF16_W_F2;
    p.f2t = w, w += LN_BF16_W_F2;
    p.f3 = w, w += LN_BF16_W_F3;
    p.f3t = w;
    return p;
}

_Static_assert(LN_IN_SIZE * L + C1 * LN_POOL1_PX * L + (LN_FLAT / 2 + F1 / 2 + F2 / 2 + F1 / 2) * L +
                       2 * C2 * LN_CONV2_PX / 2 * L + C1 * LN_CONV1_PX / 2 * L + L / 2 * LN_LANES_TX + F1 * L / 2 ==
                   LN_BF16_GROUP_WORDS,
               "the scratch is carved as lanes_bf16.h counts it");

void KFN(ln_bf16_forward)(const ln_lenet_views *p, const uint32_t *wp, ln_lane_group *g, double *prof) {
    const bf_bufs b = bufs_of(g->bf);
    const bf_weights w = weights_of(wp);
    const unsigned fp = ln_fpflush_enter(); /* DPF's mode; the engine's callers have set it already */
    PROF_START;
    pairs_sliding(g->x, S0, S0, b.xs);
    conv_fwd(b.xs, LN_IN_C, S0, S0, w.c1, p->conv1_b, C1, g->a1, C1_OCB, C1_PX);
    PROF_MARK(0);
    pool_fwd(g->a1, S1, 0, 0, C1, S1, S1, 0, P1, g->p1, g->arg1);
    pairs_sliding(g->p1, (long)C1 * P1, P1, b.p1s);
    PROF_MARK(1);
    conv_fwd(b.p1s, C1, P1, P1, w.c2, p->conv2_b, C2, g->a2, C2_OCB, C2_PX);
    PROF_MARK(2);
    pool_fwd(g->a2, S2, 0, 0, C2, S2, S2, 0, P2, g->p2, g->arg2);
    pairs_elements(g->p2, LN_FLAT, b.p2e);
    PROF_MARK(3);
    fc_fwd(b.p2e, LN_FLAT, w.f1, p->fc1_b, F1, g->h1, 1);
    pairs_elements(g->h1, F1, b.h1e);
    PROF_MARK(4);
    fc_fwd(b.h1e, F1, w.f2, p->fc2_b, F2, g->h2, 1);
    pairs_elements(g->h2, F2, b.h2e);
    PROF_MARK(5);
    fc_fwd(b.h2e, F2, w.f3, p->fc3_b, NC, g->lo, 0);
    PROF_MARK(6);
    ln_fpflush_leave(fp);
}

/* One fc layer's backward: weight and bias gradients from dy and the
 * layer's input x, then dx (times the ReLU mask act, if any). */
static void fc_backward(const bf_bufs *b, const float *dy, int O, const float *x, int F, const uint32_t *wt,
                        float *dw, float *db, float *dx, const float *act) {
    pairs_lanes(dy, O, b->dyl);
    pairs_lanes_t(x, F, b->txp);
    fc_dw(dy, b->dyl, O, b->txp, F, dw, db);
    pairs_elements(dy, O, b->dye);
    fc_bwd_in(b->dye, O, wt, F, dx, act);
}

void KFN(ln_bf16_backward)(const ln_lenet_views *p, const uint32_t *wp, ln_lenet_views *dg, ln_lane_group *g,
                            double *prof) {
    (void)p;
    const bf_bufs b = bufs_of(g->bf);
    const bf_weights w = weights_of(wp);
    const unsigned fp = ln_fpflush_enter();
    PROF_START;
    fc_backward(&b, g->dlo, NC, g->h2, F2, w.f3t, dg->fc3_w, dg->fc3_b, g->dh2, g->h2);
    PROF_MARK(13);
    fc_backward(&b, g->dh2, F2, g->h1, F1, w.f2t, dg->fc2_w, dg->fc2_b, g->dh1, g->h1);
    PROF_MARK(12);
    fc_backward(&b, g->dh1, F1, g->p2, LN_FLAT, w.f1t, dg->fc1_w, dg->fc1_b, g->dp2, NULL);
    PROF_MARK(11);
    pool_relu_bwd(g->dp2, g->arg2, g->p2, 0, C2, S2, S2, g->da2);
    pairs_elements(g->da2, (long)C2 * LN_CONV2_PX, b.da2x);
    pairs_channels(g->da2, C2, LN_CONV2_PX, b.da2c);
    PROF_MARK(10);
    conv_dw(b.da2x, g->da2, C2, S2, S2, b.p1s, C1, dg->conv2_w, dg->conv2_b, DW2_OCB);
    conv_bwd_in(b.da2c, C2, S2, S2, w.c2t, C1, g->dp1);
    PROF_MARK(9);
    pool_relu_bwd(g->dp1, g->arg1, g->p1, 0, C1, S1, S1, g->da1);
    pairs_elements(g->da1, (long)C1 * LN_CONV1_PX, b.da1x);
    PROF_MARK(8);
    conv_dw(b.da1x, g->da1, C1, S1, S1, b.xs, LN_IN_C, dg->conv1_w, dg->conv1_b, DW1_OCB);
    PROF_MARK(7);
    ln_fpflush_leave(fp);
}
