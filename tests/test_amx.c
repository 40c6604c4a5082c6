/* test_amx.c - AMX's TDPBF16PS rule (src/amx.h):
 * - the plain C reference ln_amx_block_ref on hand-made cases: the chains
 *   from zero (a case where it differs from VDPBF16PS's one chain), the
 *   flush boundary and NaN priority as measured on AMX hardware
 *   (bench/amx_probe.c boundary / nan);
 * - where the CPU and OS run AMX-BF16: one TDPBF16PS against the reference
 *   bit for bit on random tiles of every K (ordinary values, cancellation,
 *   products near the smallest normal, denormals, Inf and NaN);
 * - the conv2 prototype (AMX, where it runs) and its float32-FMA emulation
 *   (where AVX-512F runs) against their scalar reference bit for bit. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "../src/amx.h"
#include "../src/lanes_bf16.h"


#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include "../src/fpflush.h"
/* The chain fma(x[k], y[k], e) from +0 with the hardware's float32 FMA
 * under MXCSR FTZ and DAZ (what ln_amx_conv2_fwd_emu relies on); x, y
 * hold the bf16 in their high halves. */
__attribute__((target("fma"), noinline)) static uint32_t fma_chain_ftz(const uint32_t *x, const uint32_t *y, int K) {
    const unsigned fp = ln_fpflush_enter();
    __m128 e = _mm_setzero_ps();
    for (int k = 0; k < K; k++) e = _mm_fmadd_ss(_mm_set_ss(ln_f32_of(x[k])), _mm_set_ss(ln_f32_of(y[k])), e);
    ln_fpflush_leave(fp);
    return ln_bits_of(_mm_cvtss_f32(e));
}
#endif

static void reference_cases(test_ctx *t) {
    /* 1 + 2^-24 + 2^-24: one chain rounds twice to 1, the two chains sum
     * the products first (2^-23) */
    const uint32_t p = 0x39803980u; /* (2^-12, 2^-12) */
    CHECK(t, ln_bits_of(ln_amx_block_ref(1.f, &p, &p, 1)) == 0x3F800001u, "lo and hi chains meet before the accumulator");
    CHECK(t, ln_bits_of(ln_bf16_dot_ref(1.f, p, p)) == 0x3F800000u, "VDPBF16PS's single chain rounds twice");
    /* chains start at +0: a lone -0 product stays +0 */
    const uint32_t nz = 0x00008000u, one = 0x3F803F80u;
    CHECK(t, ln_bits_of(ln_amx_block_ref(-0.f, &nz, &one, 1)) == 0x00000000u, "-0 + (+0 + +0) = +0");
    /* the flush boundary (bench/amx_probe.c boundary, measured): three
     * exact steps to just below / on / above the 24-bit midpoint under 2^-126 */
    const struct {
        uint16_t x[3], y[3];
        uint32_t want;
    } b[] = {
        {{0x1e00, 0x9e17, 0x99e8}, {0x2201, 0x1e59, 0x1b1f}, 0x00000000u}, /* below: flushed */
        {{0x1e00, 0x9e33, 0x9b37}, {0x2201, 0x1e37, 0x1b79}, 0x00800000u}, /* above: 2^-126 */
        {{0x1e00, 0x9e17, 0x9980}, {0x2201, 0x1e59, 0x1b90}, 0x00800000u}, /* on it: even, 2^-126 */
        {{0x1e00, 0x9e17, 0x9a00}, {0x2201, 0x1e59, 0x1b20}, 0x00000000u}, /* 2^-126 - 2^-150: flushed */
        {{0x1e00, 0x9dfe, 0x9abe}, {0x2201, 0x1e81, 0x1ac2}, 0x00000000u}, /* just above that: flushed */
        {{0x1e00, 0x9e17, 0x9988}, {0x2201, 0x1e59, 0x1b71}, 0x00800000u}, /* just below 2^-126: kept */
    };
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
        uint32_t lo_a[3], lo_b[3], hi_a[3], hi_b[3];
        for (int k = 0; k < 3; k++)
            lo_a[k] = b[i].x[k], lo_b[k] = b[i].y[k], hi_a[k] = lo_a[k] << 16, hi_b[k] = lo_b[k] << 16;
        CHECK(t, ln_bits_of(ln_amx_block_ref(0.f, lo_a, lo_b, 3)) == b[i].want, "flush boundary, low chain");
        CHECK(t, ln_bits_of(ln_amx_block_ref(0.f, hi_a, hi_b, 3)) == b[i].want, "flush boundary, high chain");
#if defined(__x86_64__) && defined(__GNUC__)
        if (__builtin_cpu_supports("fma"))
            CHECK(t, fma_chain_ftz(hi_a, hi_b, 3) == b[i].want, "a float32 FMA under FTZ/DAZ flushes as the rule");
#endif
    }
    /* NaN priority (measured): the accumulator's over the chains', the low
     * chain's over the high one's, a later product's over the chain */
    const uint32_t a1[2] = {0x7F81u, 0xFF84u << 16}, b1[2] = {0x3F80u, 0x3F80u << 16};
    CHECK(t, ln_bits_of(ln_amx_block_ref(1.f, a1, b1, 2)) == 0x7FC10000u, "low chain's NaN before the high chain's");
    CHECK(t, ln_bits_of(ln_amx_block_ref(ln_f32_of(0x7FA00005u), a1, b1, 1)) == 0x7FE00005u, "the accumulator's NaN first");
    const uint32_t a2[2] = {0x7F81u, 0xFF84u}, b2[2] = {0x3F80u, 0x3F80u};
    CHECK(t, ln_bits_of(ln_amx_block_ref(1.f, a2, b2, 2)) == 0xFFC40000u, "a later product's NaN before the chain's");
    const uint32_t ia = 0x7F80u, ib = 0;
    CHECK(t, ln_bits_of(ln_amx_block_ref(1.f, &ia, &ib, 1)) == 0xFFC00000u, "Inf x 0: the default NaN");
}

#if defined(__x86_64__) && defined(__GNUC__)
/* A bf16 of one class: ordinary (exponent 115..138), tiny (products near
 * 2^-126), a wide exponent range, or special (zero, denormal, Inf, NaN). */
static uint16_t anybf(uint64_t *s, int cls) {
    const uint32_t r = test_rnd(s), m = test_rnd(s);
    static const uint16_t sp[] = {0x0000, 0x8000, 0x0001, 0x807F, 0x7F80, 0xFF80, 0x7FC0, 0xFF81};
    int e;
    switch (cls) {
    case 1: e = 58 + (int)(r % 10); break;
    case 2: e = 40 + (int)(r % 180); break;
    case 3:
        if (r % 6 == 0) return sp[m % 8];
        /* fall through */
    default: e = 115 + (int)(r % 24); break;
    }
    return (uint16_t)((m >> 31) << 15 | (unsigned)e << 7 | (m & 0x7F));
}
static float anyacc(uint64_t *s, int cls) {
    const uint32_t m = test_rnd(s);
    switch (cls) {
    case 1: return ln_f32_of((m & 0x80FFFFFFu) | 0x00800000u);      /* near 2^-126 */
    case 2: return ln_f32_of((m & 0x807FFFFFu) | (40u + m % 180) << 23);
    case 3: return m % 4 ? ln_f32_of(m & 0x807FFFFFu) : ln_f32_of((uint32_t)anybf(s, 3) << 16); /* denormal or special */
    default: return ln_f32_of((m & 0x807FFFFFu) | (118u + m % 16) << 23);
    }
}

static void hardware_rule(test_ctx *t) {
    uint64_t s = 42;
    uint32_t A[16 * 16], B[16 * 16];
    float C[256], out[256];
    long bad = 0, n = 0;
    for (int it = 0; it < 4000; it++) {
        const int K = 1 + it % 16, cls = (it / 16) % 5;
        for (int i = 0; i < 16 * K; i++) {
            A[i] = (uint32_t)anybf(&s, cls % 4) << 16 | anybf(&s, cls % 4);
            B[i] = (uint32_t)anybf(&s, cls % 4) << 16 | anybf(&s, cls % 4);
            if (cls == 4) B[i] = A[i] ^ 0x80000000u ^ (test_rnd(&s) & 0x00010001u); /* hi and lo cancel */
        }
        for (int i = 0; i < 256; i++) C[i] = anyacc(&s, cls % 4);
        memcpy(out, C, sizeof C);
        ln_amx_tdp(out, A, B, K);
        for (int m = 0; m < 16; m++)
            for (int j = 0; j < 16; j++) {
                uint32_t a[16], b[16];
                for (int k = 0; k < K; k++) a[k] = A[m * K + k], b[k] = B[k * 16 + j];
                const float r = ln_amx_block_ref(C[m * 16 + j], a, b, K);
                n++;
                if (ln_bits_of(r) != ln_bits_of(out[m * 16 + j]) && bad++ < 5)
                    fprintf(stderr, "K=%d class %d: acc %a, TDPBF16PS 0x%08x, reference 0x%08x\n", K, cls, C[m * 16 + j],
                            ln_bits_of(out[m * 16 + j]), ln_bits_of(r));
            }
    }
    printf("TDPBF16PS vs ln_amx_block_ref: %ld of %ld outputs differ\n", bad, n);
    CHECK(t, bad == 0, "TDPBF16PS = the reference rule, bit for bit");
}

/* The prototype (AMX) and its AVX-512 emulation against the scalar
 * reference: ordinary values, a few specials, and values whose products
 * and sums sit near 2^-126 (the flush boundary). */
static void conv2_prototype(test_ctx *t, int amx, int emu) {
    enum { IN = LN_CONV1_C * LN_POOL1_PX * 16, W = LN_CONV2_C * LN_CONV1_C * LN_KERNEL * 3,
           OUT = LN_CONV2_C * LN_CONV2_PX * 16 };
    static uint32_t in[IN], w[W];
    static float out[OUT], ref[OUT];
    float bias[LN_CONV2_C];
    uint64_t s = 7;
    static const char *what[3] = {"ordinary", "specials", "near 2^-126"};
    for (int pass = 0; pass < 3; pass++) {
        const int wc = pass == 2 ? 1 : 0;
        for (int i = 0; i < IN; i++) {
            const int c = pass == 2 ? 1 : pass == 1 && test_rnd(&s) % 40 == 0 ? 3 : 0;
            in[i] = (uint32_t)anybf(&s, c) << 16 | anybf(&s, c);
        }
        for (int i = 0; i < W; i++) w[i] = (uint32_t)anybf(&s, wc) << 16 | anybf(&s, wc);
        for (int i = 0; i < LN_CONV2_C; i++) bias[i] = anyacc(&s, wc);
        ln_amx_conv_fwd_ref(in, LN_CONV1_C, LN_POOL1_SIDE, w, bias, LN_CONV2_C, ref);
        long pos = 0;
        for (int i = 0; i < OUT; i++) pos += ref[i] > 0.f;
        char msg[96];
        snprintf(msg, sizeof msg, "the reference's outputs are not all zero (%s)", what[pass]);
        CHECK(t, pos > OUT / 8, msg);
        for (int v = 0; v < 2; v++) {
            if (!(v ? emu : amx)) continue;
            memset(out, 0xFF, sizeof out);
            if (v) ln_amx_conv2_fwd_emu(in, w, bias, out);
            else ln_amx_conv_fwd(in, LN_CONV1_C, LN_POOL1_SIDE, w, bias, LN_CONV2_C, out);
            long bad = 0;
            for (int i = 0; i < OUT; i++) bad += ln_bits_of(out[i]) != ln_bits_of(ref[i]);
            snprintf(msg, sizeof msg, "conv2 %s = its reference (%s)", v ? "emulation" : "AMX prototype", what[pass]);
            CHECK(t, bad == 0, msg);
        }
    }
}

/* conv1's shape (1 input channel, 6 output channels, 32 x 32): AMX against
 * the scalar reference. */
static void conv1_prototype(test_ctx *t) {
    enum { IN = 32 * 32 * 16, W = LN_CONV1_C * LN_KERNEL * 3, OUT = LN_CONV1_C * 28 * 28 * 16 };
    static uint32_t in[IN], w[W];
    static float out[OUT], ref[OUT];
    float bias[LN_CONV1_C];
    uint64_t s = 3;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < IN; i++) in[i] = (uint32_t)anybf(&s, pass) << 16 | anybf(&s, pass);
        for (int i = 0; i < W; i++) w[i] = (uint32_t)anybf(&s, pass) << 16 | anybf(&s, pass);
        for (int i = 0; i < LN_CONV1_C; i++) bias[i] = anyacc(&s, pass);
        ln_amx_conv_fwd_ref(in, 1, 32, w, bias, LN_CONV1_C, ref);
        memset(out, 0xFF, sizeof out);
        ln_amx_conv_fwd(in, 1, 32, w, bias, LN_CONV1_C, out);
        long bad = 0, pos = 0;
        for (int i = 0; i < OUT; i++) bad += ln_bits_of(out[i]) != ln_bits_of(ref[i]), pos += ref[i] > 0.f;
        CHECK(t, bad == 0 && pos > OUT / 8, pass ? "conv1 AMX = its reference (near 2^-126)" : "conv1 AMX = its reference");
    }
}

/* conv2's input gradient: the AMX prototype against its scalar reference. */
static void conv2_bwd_prototype(test_ctx *t) {
    enum { DO = LN_CONV2_C / 2 * LN_CONV2_PX * 16, WT = LN_CONV2_C / 2 * LN_CONV1_C * LN_KERNEL * LN_KERNEL,
           DI = LN_CONV1_C * LN_POOL1_PX * 16 };
    static uint32_t dout[DO], wt[WT], pad[LN_AMX_CONV2_BWD_PAD];
    static float din[DI], ref[DI];
    uint64_t s = 11;
    static const char *what[3] = {"ordinary", "specials", "near 2^-126"};
    for (int pass = 0; pass < 3; pass++) {
        for (int i = 0; i < DO; i++) {
            const int c = pass == 2 ? 1 : pass == 1 && test_rnd(&s) % 40 == 0 ? 3 : 0;
            dout[i] = (uint32_t)anybf(&s, c) << 16 | anybf(&s, c);
        }
        for (int i = 0; i < WT; i++) wt[i] = (uint32_t)anybf(&s, pass == 2) << 16 | anybf(&s, pass == 2);
        ln_amx_conv2_bwd_in_ref(dout, wt, ref, pad);
        memset(din, 0xFF, sizeof din);
        ln_amx_conv2_bwd_in(dout, wt, din, pad);
        long bad = 0, nz = 0;
        for (int i = 0; i < DI; i++) bad += ln_bits_of(din[i]) != ln_bits_of(ref[i]), nz += ref[i] != 0.f && ref[i] == ref[i];
        char msg[96];
        snprintf(msg, sizeof msg, "conv2 input gradient, AMX = its reference (%s)", what[pass]);
        CHECK(t, bad == 0, msg);
        CHECK(t, nz > DI / 2, "the reference's gradient is mostly finite and non-zero");
    }
}

/* The dense layers at fc1's and fc3's shapes (partial tiles and blocks):
 * AMX against the scalar references. */
static void fc_prototypes(test_ctx *t) {
    static uint32_t x[400 / 2 * 16], w[120 * 400 / 2], wt[120 / 2 * 400], dy[120 / 2 * 16], dyl[120 * 8],
        txp[25 * 8 * 16], scratch[400 * 60];
    static float y[400 * 16], ry[400 * 16], act[400 * 16], dw[120 * 400], rdw[120 * 400];
    float b[120];
    uint64_t s = 5;
    const int shapes[2][2] = {{400, 120}, {84, 10}}; /* F, O */
    for (int sh = 0; sh < 2; sh++)
        for (int pass = 0; pass < 2; pass++) {
            const int F = shapes[sh][0], O = shapes[sh][1], c = pass ? 1 : 0;
            for (int i = 0; i < F / 2 * 16; i++) x[i] = (uint32_t)anybf(&s, c) << 16 | anybf(&s, c);
            for (int i = 0; i < O * F / 2; i++) w[i] = (uint32_t)anybf(&s, c) << 16 | anybf(&s, c);
            for (int i = 0; i < O / 2 * F; i++) wt[i] = (uint32_t)anybf(&s, c) << 16 | anybf(&s, c);
            for (int i = 0; i < O / 2 * 16; i++) dy[i] = (uint32_t)anybf(&s, c) << 16 | anybf(&s, c);
            for (int i = 0; i < O * 8; i++) dyl[i] = (uint32_t)anybf(&s, c) << 16 | anybf(&s, c);
            for (int i = 0; i < 25 * 8 * 16; i++) txp[i] = (uint32_t)anybf(&s, c) << 16 | anybf(&s, c);
            for (int i = 0; i < O; i++) b[i] = anyacc(&s, c);
            for (int i = 0; i < F * 16; i++) act[i] = (float)(test_rnd(&s) % 3) - 1.f;
            long bad = 0;
            ln_amx_fc_fwd(x, F, w, b, O, y, pass);
            ln_amx_fc_fwd_ref(x, F, w, b, O, ry, pass);
            for (int i = 0; i < O * 16; i++) bad += ln_bits_of(y[i]) != ln_bits_of(ry[i]);
            CHECK(t, bad == 0, "fc forward, AMX = its reference");
            bad = 0;
            ln_amx_fc_bwd_in(dy, O, wt, F, y, pass ? act : NULL, scratch);
            ln_amx_fc_bwd_in_ref(dy, O, wt, F, ry, pass ? act : NULL, scratch);
            for (int i = 0; i < F * 16; i++) bad += ln_bits_of(y[i]) != ln_bits_of(ry[i]);
            CHECK(t, bad == 0, "fc input gradient, AMX = its reference");
            bad = 0;
            ln_amx_fc_dw(dyl, O, txp, F, dw);
            ln_amx_fc_dw_ref(dyl, O, txp, F, rdw);
            long nz = 0;
            for (int i = 0; i < O * F; i++) bad += ln_bits_of(dw[i]) != ln_bits_of(rdw[i]), nz += rdw[i] != 0.f;
            CHECK(t, bad == 0 && nz > O * F / 2, "fc weight gradient, AMX = its reference");
        }
}
#endif

int main(void) {
    test_ctx t = {"test_amx", 0, 0};
    reference_cases(&t);
#if defined(__x86_64__) && defined(__GNUC__)
    const int amx = ln_amx_enable();
    if (amx) hardware_rule(&t), conv1_prototype(&t), conv2_bwd_prototype(&t), fc_prototypes(&t);
    else printf("test_amx: this CPU or OS does not run AMX-BF16: hardware checks skipped\n");
    conv2_prototype(&t, amx, __builtin_cpu_supports("avx512f"));
#endif
    return test_finish(&t);
}
