/* amx_probe.c - what Intel AMX's TDPBF16PS computes, bit for bit, and how
 * fast, on this CPU (a measurement program, not part of the library).
 *
 *   build/amx_probe rule [CASES]   one TDPBF16PS (16 x 16 outputs, K pairs)
 *       against candidate rules written in scalar C; prints, per rule and
 *       per input class, how many outputs agree (default 10^7 outputs)
 *   build/amx_probe nan            which NaN comes out of several
 *   build/amx_probe boundary       the flush-to-zero boundary of a step
 *   build/amx_probe speed          TDPBF16PS throughput for LeNet-sized
 *       tiles, with and without tile loads/stores
 *   build/amx_probe conv2 [REPS]   the AMX conv2 prototypes (src/amx_conv2.c,
 *       amx_conv2_bwd.c) against float32's and O2's conv2, per sample
 *
 * Exit 1 if ln_amx_enable() says no (CPUID, XCR0, arch_prctl). The AMX
 * code is compiled per function (target attributes): no -m flags. */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../src/amx.h"
#include "../src/lanes_bf16.h"
#include "lenet/net.h"

/* ---- scalar models ---- */

static float lo_of(uint32_t p) { return ln_f32_of(p << 16); }
static float hi_of(uint32_t p) { return ln_f32_of(p & 0xFFFF0000u); }
static float daz(float x) { return fabsf(x) < 0x1p-126f ? copysignf(0.f, x) : x; }
/* a double result rounded to float32, then a result tiny after rounding
 * (at 24 bits, unbounded exponent) flushed to a zero of its sign; exact
 * when the double is the exact value */
static float rnd_ftz(double s) {
    if (fabs(s) < 0x1p-126 - 0x1p-151) return copysignf(0.f, (float)s);
    float r = (float)s;
    if (fabsf(r) < 0x1p-126f) return copysignf(0.f, r);
    return r;
}
#define fma_ftz(x, y, c) ln_bf16_fma_ref(x, y, c)

/* x + y of two floats that are 0 or normal: a sum below 2^-126 is exact */
static float add_ftz(float x, float y) {
    float r = x + y;
    return fabsf(r) < 0x1p-126f ? copysignf(0.f, r) : r;
}

enum { MAXK = 16 };
/* Each model: one output from acc and K pairs. Products of bf16 are exact
 * in double, and every sum below of two doubles is exact for the exponent
 * ranges the random cases use; the adversarial cases are checked against
 * an exact sum (long double is not enough in general, so those models keep
 * two-term sums only). */
typedef float (*model_fn)(float acc, const uint32_t *a, const uint32_t *b, int K);

/* R1: vdpbf16ps chain, ascending k, hi then lo (lanes_bf16.h's rule) */
static float m_chain_hilo(float acc, const uint32_t *a, const uint32_t *b, int K) {
    for (int k = 0; k < K; k++) acc = ln_bf16_dot_ref(acc, a[k], b[k]);
    return acc;
}
/* R2: chain, ascending k, lo then hi */
static float m_chain_lohi(float acc, const uint32_t *a, const uint32_t *b, int K) {
    acc = daz(acc);
    for (int k = 0; k < K; k++) {
        acc = fma_ftz(daz(lo_of(a[k])), daz(lo_of(b[k])), acc);
        acc = fma_ftz(daz(hi_of(a[k])), daz(hi_of(b[k])), acc);
    }
    return acc;
}
/* the SDM's pseudo-code: an even (lo) and an odd (hi) chain from 0, then
 * added to the accumulator; variants of the final adds */
static void chains(const uint32_t *a, const uint32_t *b, int K, float *e, float *o) {
    float se = 0.f, so = 0.f;
    for (int k = 0; k < K; k++) {
        se = fma_ftz(daz(lo_of(a[k])), daz(lo_of(b[k])), se);
        so = fma_ftz(daz(hi_of(a[k])), daz(hi_of(b[k])), so);
    }
    *e = se, *o = so;
}
static float m_sdm_acc_e_o(float acc, const uint32_t *a, const uint32_t *b, int K) {
    float e, o;
    chains(a, b, K, &e, &o);
    return add_ftz(add_ftz(daz(acc), e), o);
}
static float m_sdm_acc_o_e(float acc, const uint32_t *a, const uint32_t *b, int K) {
    float e, o;
    chains(a, b, K, &e, &o);
    return add_ftz(add_ftz(daz(acc), o), e);
}
static float m_sdm_acc_eo(float acc, const uint32_t *a, const uint32_t *b, int K) {
    float e, o;
    chains(a, b, K, &e, &o);
    return add_ftz(daz(acc), add_ftz(e, o));
}
/* per pair: both products summed exactly, one rounding, then added to acc
 * with a second rounding (a "dot2" unit) */
static float m_pair_round_add(float acc, const uint32_t *a, const uint32_t *b, int K) {
    acc = daz(acc);
    for (int k = 0; k < K; k++) {
        const double p = (double)daz(lo_of(a[k])) * daz(lo_of(b[k])) + (double)daz(hi_of(a[k])) * daz(hi_of(b[k]));
        acc = add_ftz(acc, rnd_ftz(p));
    }
    return acc;
}
/* per pair: acc + both products with one rounding (3-term fused) */
static float m_pair_fused3(float acc, const uint32_t *a, const uint32_t *b, int K) {
    acc = daz(acc);
    for (int k = 0; k < K; k++) {
        const double p = (double)daz(lo_of(a[k])) * daz(lo_of(b[k])) + (double)daz(hi_of(a[k])) * daz(hi_of(b[k]));
        acc = rnd_ftz(p + (double)acc);
    }
    return acc;
}
/* the whole dot in one rounding (exact sum) */
static float m_fused_all(float acc, const uint32_t *a, const uint32_t *b, int K) {
    long double s = daz(acc);
    for (int k = 0; k < K; k++)
        s += (long double)daz(lo_of(a[k])) * daz(lo_of(b[k])) + (long double)daz(hi_of(a[k])) * daz(hi_of(b[k]));
    return rnd_ftz((double)s);
}

static const struct {
    const char *name;
    model_fn f;
} models[] = {
    {"chain k asc, hi then lo (vdpbf16ps rule)", m_chain_hilo},
    {"chain k asc, lo then hi", m_chain_lohi},
    {"SDM: lo chain, hi chain from 0; (acc+lo)+hi", m_sdm_acc_e_o},
    {"SDM: lo chain, hi chain from 0; (acc+hi)+lo", m_sdm_acc_o_e},
    {"SDM: lo chain, hi chain from 0; acc+(lo+hi)", m_sdm_acc_eo},
    {"per pair: round(lo*lo+hi*hi), then acc+it", m_pair_round_add},
    {"per pair: round(acc+lo*lo+hi*hi)", m_pair_fused3},
    {"whole dot, one rounding", m_fused_all},
    {"AMX rule, NaN bits exact (ln_amx_block_ref)", ln_amx_block_ref},
};
enum { NMODELS = sizeof models / sizeof models[0] };

/* ---- inputs ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 32);
}
/* a bf16 with exponent field e0 + [0, spread) and a random sign/mantissa */
static uint16_t bf(int e0, int spread) {
    const uint32_t r = rnd();
    int e = e0 + (int)(r % (unsigned)spread);
    if (e < 1) e = 1;
    if (e > 254) e = 254;
    return (uint16_t)((r >> 31) << 15 | (unsigned)e << 7 | ((r >> 8) & 0x7F));
}
static float f(int e0, int spread) {
    const uint32_t r = rnd();
    int e = e0 + (int)(r % (unsigned)spread);
    if (e < 1) e = 1;
    if (e > 254) e = 254;
    return ln_f32_of((rnd() & 0x807FFFFFu) | (uint32_t)e << 23);
}

enum { CLASS_RANDOM, CLASS_CANCEL, CLASS_SPREAD, CLASS_TINY, CLASS_DENORM, CLASS_SPECIAL, NCLASSES };
static const char *class_names[NCLASSES] = {"random (exp 120..135)", "cancellation", "exponent spread 60..190",
                                            "near the smallest normal", "denormal operands/acc", "Inf/NaN/zero"};

static uint16_t special16(void) {
    static const uint16_t s[] = {0x0000, 0x8000, 0x7F80, 0xFF80, 0x7FC0, 0xFFC1, 0x7F81, 0x0001, 0x8040, 0x3F80};
    return s[rnd() % (sizeof s / sizeof s[0])];
}

/* Fill A (16 x K), B (K x 16), C (16 x 16) for one class. */
static void fill(int cls, int K, uint32_t *A, uint32_t *B, float *C) {
    for (int i = 0; i < 16 * K; i++) {
        uint16_t l, h, l2, h2;
        switch (cls) {
        case CLASS_CANCEL: /* lo*lo and hi*hi nearly opposite, over several magnitudes */
            l = bf(110, 30), l2 = bf(120, 10), h = l ^ 0x8000u, h2 = (uint16_t)(l2 ^ (rnd() % 4));
            if (rnd() % 2) h = (uint16_t)(h ^ (rnd() % 2)), h2 = l2;
            break;
        case CLASS_SPREAD: l = bf(60, 130), h = bf(60, 130), l2 = bf(60, 130), h2 = bf(60, 130); break;
        case CLASS_TINY: /* products near 2^-126 */
            l = bf(60, 8), h = bf(60, 8), l2 = bf(60, 8), h2 = bf(60, 8);
            break;
        case CLASS_DENORM:
            l = bf(60, 8), h = bf(60, 8), l2 = bf(60, 8), h2 = bf(60, 8);
            if (rnd() % 3 == 0) l = (uint16_t)(rnd() & 0x807F);
            if (rnd() % 3 == 0) h2 = (uint16_t)(rnd() & 0x807F);
            break;
        case CLASS_SPECIAL:
            l = bf(120, 16), h = bf(120, 16), l2 = bf(120, 16), h2 = bf(120, 16);
            if (rnd() % 8 == 0) l = special16();
            if (rnd() % 8 == 0) h = special16();
            if (rnd() % 8 == 0) l2 = special16();
            if (rnd() % 8 == 0) h2 = special16();
            break;
        default: l = bf(120, 16), h = bf(120, 16), l2 = bf(120, 16), h2 = bf(120, 16); break;
        }
        A[i] = (uint32_t)h << 16 | l;
        B[i] = (uint32_t)h2 << 16 | l2;
    }
    for (int i = 0; i < 256; i++) {
        switch (cls) {
        case CLASS_CANCEL: C[i] = rnd() % 4 ? f(90, 20) : 0.f; break;
        case CLASS_SPREAD: C[i] = f(60, 130); break;
        case CLASS_TINY: C[i] = rnd() % 2 ? f(1, 3) : 0.f; break;
        case CLASS_DENORM: C[i] = rnd() % 2 ? ln_f32_of(rnd() & 0x807FFFFFu) : f(1, 3); break;
        case CLASS_SPECIAL: C[i] = rnd() % 8 ? f(240, 16) : ln_f32_of((uint32_t)special16() << 16); break;
        default: C[i] = f(118, 20); break;
        }
    }
}

/* equal bits; NaNs equal to any NaN except for the exact-NaN rule */
static int same_any_nan(float x, float y) { return ln_bits_of(x) == ln_bits_of(y) || (isnan(x) && isnan(y)); }

static int run_rule(long cases) {
    static long agree[NMODELS][NCLASSES], total[NCLASSES], agree_nan_bits[NCLASSES], nan_out[NCLASSES];
    static long shown[NMODELS];
    uint32_t A[16 * MAXK], B[MAXK * 16];
    float C[256], out[256];
    for (long done = 0; done < cases;) {
        const int K = 1 + (int)(rnd() % MAXK), cls = (int)(rnd() % NCLASSES);
        fill(cls, K, A, B, C);
        memcpy(out, C, sizeof C);
        ln_amx_tdp(out, A, B, K);
        for (int m = 0; m < 16; m++)
            for (int n = 0; n < 16; n++) {
                uint32_t a[MAXK], b[MAXK];
                for (int k = 0; k < K; k++) a[k] = A[m * K + k], b[k] = B[k * 16 + n];
                const float hw = out[m * 16 + n];
                total[cls]++;
                for (int i = 0; i < NMODELS; i++) {
                    const float r = models[i].f(C[m * 16 + n], a, b, K);
                    if (models[i].f == ln_amx_block_ref ? ln_bits_of(hw) == ln_bits_of(r) : same_any_nan(hw, r)) agree[i][cls]++;
                    else if (i == 0 && shown[i] < 8) {
                        shown[i]++;
                        printf("  differs from rule 1: class %d K=%d acc=%a (0x%08x) hw=%a (0x%08x) rule=%a (0x%08x)\n",
                               cls, K, C[m * 16 + n], ln_bits_of(C[m * 16 + n]), hw, ln_bits_of(hw), r, ln_bits_of(r));
                        for (int k = 0; k < K; k++)
                            printf("    k=%d a=0x%08x b=0x%08x  lo*lo=%a hi*hi=%a\n", k, a[k], b[k],
                                   (double)lo_of(a[k]) * lo_of(b[k]), (double)hi_of(a[k]) * hi_of(b[k]));
                    }
                }
                /* NaN results: the exact bits the rule gives */
                if (isnan(hw)) nan_out[cls]++;
                if (isnan(hw) && ln_bits_of(hw) == ln_bits_of(m_chain_hilo(C[m * 16 + n], a, b, K))) agree_nan_bits[cls]++;
            }
        done += 256;
    }
    printf("%-46s", "rule \\ class (outputs agreeing)");
    for (int c = 0; c < NCLASSES; c++) printf(" | %s", class_names[c]);
    printf("\n%-46s", "outputs");
    for (int c = 0; c < NCLASSES; c++) printf(" | %ld", total[c]);
    printf("\n");
    for (int i = 0; i < NMODELS; i++) {
        printf("%-46s", models[i].name);
        for (int c = 0; c < NCLASSES; c++) printf(" | %.6f%%", 100.0 * agree[i][c] / (double)total[c]);
        printf("\n");
    }
    printf("NaN outputs / with rule 1's exact NaN bits:");
    for (int c = 0; c < NCLASSES; c++) printf(" %ld/%ld", nan_out[c], agree_nan_bits[c]);
    printf("\n");
    return 0;
}

/* One output (m = n = 0) of one TDPBF16PS with K pairs, other lanes zero. */
static float one(float acc, const uint32_t *a, const uint32_t *b, int K) {
    uint32_t A[16 * MAXK] = {0}, B[MAXK * 16] = {0};
    float C[256] = {0};
    for (int k = 0; k < K; k++) A[k] = a[k], B[k * 16] = b[k];
    C[0] = acc;
    ln_amx_tdp(C, A, B, K);
    return C[0];
}

/* NaN propagation: which NaN comes out when several operands are NaN. */
static int run_nan(void) {
    /* distinct NaNs: bf16 0x7F81.. (signalling), 0xFFC2.., 0x7FC3, 0xFF84 */
    const uint16_t n1 = 0x7F81, n2 = 0xFFC2, n3 = 0x7FC3, n4 = 0xFF84, one16 = 0x3F80, inf = 0x7F80, ninf = 0xFF80;
    const float accn = ln_f32_of(0x7FA00005u), acc1 = 1.f;
    struct { const char *what; float acc; uint32_t a0, b0, a1, b1; int K; } c[] = {
        {"a0.lo NaN", acc1, n1, one16, 0, 0, 1},
        {"a0.hi NaN", acc1, (uint32_t)n1 << 16, (uint32_t)one16 << 16, 0, 0, 1},
        {"b0.lo NaN", acc1, one16, n2, 0, 0, 1},
        {"acc NaN", accn, one16, one16, 0, 0, 1},
        {"acc NaN, a0.lo NaN", accn, n1, one16, 0, 0, 1},
        {"a0.lo, b0.lo NaN", acc1, n1, n2, 0, 0, 1},
        {"a0.hi, b0.hi NaN", acc1, (uint32_t)n1 << 16, (uint32_t)n2 << 16, 0, 0, 1},
        {"a0.lo, a0.hi NaN", acc1, (uint32_t)n3 << 16 | n1, (uint32_t)one16 << 16 | one16, 0, 0, 1},
        {"a0.hi, b0.lo NaN", acc1, (uint32_t)n3 << 16 | one16, (uint32_t)one16 << 16 | n2, 0, 0, 1},
        {"a0.lo NaN, a1.lo NaN", acc1, n1, one16, n4, one16, 2},
        {"a0.hi NaN, a1.lo NaN", acc1, (uint32_t)n1 << 16, (uint32_t)one16 << 16, n4, one16, 2},
        {"a0.lo NaN, a1.hi NaN", acc1, n1, one16, (uint32_t)n4 << 16, (uint32_t)one16 << 16, 2},
        {"inf*0 lo", acc1, inf, 0, 0, 0, 1},
        {"inf lo + -inf hi", acc1, (uint32_t)ninf << 16 | inf, (uint32_t)one16 << 16 | one16, 0, 0, 1},
        {"inf lo then -inf lo", acc1, inf, one16, ninf, one16, 2},
        {"inf lo + acc -inf", -INFINITY, inf, one16, 0, 0, 1},
        {"acc NaN + inf*0", accn, inf, 0, 0, 0, 1},
        {"NaN lo + inf*0 hi", acc1, (uint32_t)inf << 16 | n1, one16, 0, 0, 1},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        const uint32_t a[2] = {c[i].a0, c[i].a1}, b[2] = {c[i].b0, c[i].b1};
        const float hw = one(c[i].acc, a, b, c[i].K);
        printf("%-24s -> 0x%08x   (vdpbf16ps rule: 0x%08x)\n", c[i].what, ln_bits_of(hw), ln_bits_of(m_chain_hilo(c[i].acc, a, b, c[i].K)));
    }
    return 0;
}

/* The flush-to-zero boundary of a chain step: three products x[k]*y[k]
 * (exact, normal) whose running sum, after two exact steps, lands by the
 * third within 2^-150 below 2^-126 (computed offline with exact rationals:
 * A just below the 24-bit midpoint 2^-126 - 2^-151, B just above it, C on
 * it, D just above 2^-126 - 2^-150, E on it, F just below 2^-126). "Tiny
 * after rounding to 24 bits" flushes A, D, E and keeps B, C, F (2^-126);
 * "tiny before rounding" flushes all; gradual underflow keeps all. */
static const struct { const char *what; uint16_t x[3], y[3]; } boundary[] = {
    {"A below midpoint 3", {0x1e00, 0x9e17, 0x99e8}, {0x2201, 0x1e59, 0x1b1f}},
    {"A below midpoint 3 (neg)", {0x9e00, 0x1e17, 0x19e8}, {0x2201, 0x1e59, 0x1b1f}},
    {"A below midpoint 7", {0x1e00, 0x9e17, 0x9a82}, {0x2201, 0x1e59, 0x1a8e}},
    {"A below midpoint 7 (neg)", {0x9e00, 0x1e17, 0x1a82}, {0x2201, 0x1e59, 0x1a8e}},
    {"A below midpoint 9", {0x1e00, 0x9e17, 0x9998}, {0x2201, 0x1e59, 0x1b73}},
    {"A below midpoint 9 (neg)", {0x9e00, 0x1e17, 0x1998}, {0x2201, 0x1e59, 0x1b73}},
    {"A below midpoint 11", {0x1e00, 0x9e17, 0x99f8}, {0x2201, 0x1e59, 0x1b15}},
    {"A below midpoint 11 (neg)", {0x9e00, 0x1e17, 0x19f8}, {0x2201, 0x1e59, 0x1b15}},
    {"B above midpoint", {0x1e00, 0x9e33, 0x9b37}, {0x2201, 0x1e37, 0x1b79}},
    {"B above midpoint (neg)", {0x9e00, 0x1e33, 0x1b37}, {0x2201, 0x1e37, 0x1b79}},
    {"C midpoint", {0x1e00, 0x9e17, 0x9980}, {0x2201, 0x1e59, 0x1b90}},
    {"C midpoint (neg)", {0x9e00, 0x1e17, 0x1980}, {0x2201, 0x1e59, 0x1b90}},
    {"D just above 2^-126-2^-150", {0x1e00, 0x9dfe, 0x9abe}, {0x2201, 0x1e81, 0x1ac2}},
    {"D just above 2^-126-2^-150 (neg)", {0x9e00, 0x1dfe, 0x1abe}, {0x2201, 0x1e81, 0x1ac2}},
    {"E exactly 2^-126-2^-150", {0x1e00, 0x9e17, 0x9a00}, {0x2201, 0x1e59, 0x1b20}},
    {"E exactly 2^-126-2^-150 (neg)", {0x9e00, 0x1e17, 0x1a00}, {0x2201, 0x1e59, 0x1b20}},
    {"F just below 2^-126", {0x1e00, 0x9e17, 0x9988}, {0x2201, 0x1e59, 0x1b71}},
    {"F just below 2^-126 (neg)", {0x9e00, 0x1e17, 0x1988}, {0x2201, 0x1e59, 0x1b71}},
};

static int run_boundary(void) {
    ln_bf16_kernels vdp;
    const int have_vdp = ln_bf16_select(&vdp, "avx512bf16") == 0;
    printf("%-34s %-12s %-12s %-12s %s\n", "case", "AMX lo", "AMX hi", "AMX rule", have_vdp ? "vdpbf16ps chain" : "");
    int bad = 0;
    for (size_t i = 0; i < sizeof boundary / sizeof boundary[0]; i++) {
        uint32_t alo[3], blo[3], ahi[3], bhi[3];
        for (int k = 0; k < 3; k++) {
            alo[k] = boundary[i].x[k], blo[k] = boundary[i].y[k];
            ahi[k] = alo[k] << 16, bhi[k] = blo[k] << 16;
        }
        const float hl = one(0.f, alo, blo, 3), hh = one(0.f, ahi, bhi, 3), r = ln_amx_block_ref(0.f, alo, blo, 3);
        float v = 0.f;
        if (have_vdp)
            for (int k = 0; k < 3; k++) vdp.dot(&v, &ahi[k], &bhi[k], 1);
        printf("%-34s %-12a %-12a %-12a %a\n", boundary[i].what, hl, hh, r, v);
        bad += ln_bits_of(hl) != ln_bits_of(r) || ln_bits_of(hh) != ln_bits_of(r);
    }
    printf("%s\n", bad ? "AMX differs from the rule" : "AMX agrees with the rule (tiny after rounding to 24 bits)");
    return bad != 0;
}

/* ---- throughput ---- */

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* Tiles 0-3: C (M x 16 floats); 4, 5: A (M x K pairs); 6, 7: B (K x 16
 * pairs). mode 0: TDPBF16PS only, 4 independent accumulators; mode 1: A and
 * B loaded before every 4 (from a 32 KB ring, in L1), C kept in the tiles;
 * mode 2: as 1, and each C loaded before and stored after its TDPBF16PS
 * (one instruction per accumulation, the worst case). Returns seconds per
 * TDPBF16PS, best of TRIALS. */
__attribute__((target("amx-tile,amx-bf16"), noinline)) static double tdp_speed(int M, int K, int mode, long iters) {
    static uint32_t ring[8192] __attribute__((aligned(64)));
    static float cbuf[4][256] __attribute__((aligned(64)));
    for (int i = 0; i < 8192; i++) ring[i] = 0x3F803F80u ^ (uint32_t)(i & 7);
    ln_amx_tilecfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 4; t++) cfg.rows[t] = (uint8_t)M, cfg.colsb[t] = 64;
    for (int t = 4; t < 6; t++) cfg.rows[t] = (uint8_t)M, cfg.colsb[t] = (uint16_t)(4 * K);
    for (int t = 6; t < 8; t++) cfg.rows[t] = (uint8_t)K, cfg.colsb[t] = 64;
    _tile_loadconfig(&cfg);
    _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
    _tile_loadd(4, ring, 4 * K); _tile_loadd(5, ring, 4 * K); _tile_loadd(6, ring, 64); _tile_loadd(7, ring, 64);
    double best = 1e9;
    for (int trial = 0; trial < 20; trial++) {
        const double t0 = now();
        if (mode == 0)
            for (long i = 0; i < iters; i++) {
                _tile_dpbf16ps(0, 4, 6); _tile_dpbf16ps(1, 4, 7); _tile_dpbf16ps(2, 5, 6); _tile_dpbf16ps(3, 5, 7);
            }
        else if (mode == 1)
            for (long i = 0; i < iters; i++) {
                const uint32_t *p = ring + (i & 7) * 1024;
                _tile_loadd(4, p, 4 * K); _tile_loadd(5, p + 256, 4 * K);
                _tile_loadd(6, p + 512, 64); _tile_loadd(7, p + 768, 64);
                _tile_dpbf16ps(0, 4, 6); _tile_dpbf16ps(1, 4, 7); _tile_dpbf16ps(2, 5, 6); _tile_dpbf16ps(3, 5, 7);
            }
        else
            for (long i = 0; i < iters; i++) {
                const uint32_t *p = ring + (i & 7) * 1024;
                _tile_loadd(4, p, 4 * K); _tile_loadd(5, p + 256, 4 * K);
                _tile_loadd(6, p + 512, 64); _tile_loadd(7, p + 768, 64);
                _tile_loadd(0, cbuf[0], 64); _tile_loadd(1, cbuf[1], 64);
                _tile_loadd(2, cbuf[2], 64); _tile_loadd(3, cbuf[3], 64);
                _tile_dpbf16ps(0, 4, 6); _tile_dpbf16ps(1, 4, 7); _tile_dpbf16ps(2, 5, 6); _tile_dpbf16ps(3, 5, 7);
                _tile_stored(0, cbuf[0], 64); _tile_stored(1, cbuf[1], 64);
                _tile_stored(2, cbuf[2], 64); _tile_stored(3, cbuf[3], 64);
            }
        const double dt = (now() - t0) / (4.0 * (double)iters);
        if (dt < best) best = dt;
    }
    _tile_stored(0, cbuf[0], 64);
    _tile_release();
    return best;
}

static int run_speed(void) {
    static const char *modes[3] = {"tdpbf16ps only", "+ A,B tile loads", "+ A,B,C loads, C stores"};
    printf("# best of 20 trials, one thread; useful GFLOP/s = 2*M*16*2K per TDPBF16PS\n");
    printf("%-26s %3s %3s %10s %12s\n", "mode", "M", "K", "ns/tdp", "GFLOP/s");
    const int Ms[] = {6, 16}, Ks[] = {3, 8, 13, 15, 16};
    for (int mode = 0; mode < 3; mode++)
        for (int mi = 0; mi < 2; mi++)
            for (int ki = 0; ki < 5; ki++) {
                const int M = Ms[mi], K = Ks[ki];
                const double t = tdp_speed(M, K, mode, 20000);
                printf("%-26s %3d %3d %10.3f %12.1f\n", modes[mode], M, K, t * 1e9, 2.0 * M * 16 * 2 * K / t * 1e-9);
            }
    return 0;
}

/* ---- the conv2 prototype ---- */

/* One forward and backward with the engine's profile; the minima of
 * conv2's forward and backward seconds. */
static void profile_step(ln_lenet *net, const float *x, double *fwd, double *bwd, ln_lenet_profile *pr) {
    static float dlo[16 * 10];
    for (int i = 0; i < 160; i++) dlo[i] = (i % 10 == i / 10 % 10 ? -0.9f : 0.1f) / 16.f;
    if (ln_lenet_set_profiling(net, 1)) return;
    ln_lenet_forward(net, x, 16);
    ln_lenet_zero_grad(net);
    ln_lenet_backward(net, dlo, 16);
    ln_lenet_get_profile(net, pr);
    if (pr->fwd_seconds[2] < *fwd) *fwd = pr->fwd_seconds[2];
    if (pr->bwd_seconds[2] < *bwd) *bwd = pr->bwd_seconds[2];
}

static int run_conv2(int reps) {
    /* O2's conv2 forward: the engine's own profile, minimum over reps */
    ln_lenet net;
    ln_error err;
    if (ln_lenet_init(&net, 1, 16, 1, NULL, &err) || ln_lenet_set_amp(&net, LN_AMP_O2, NULL, &err)) {
        fprintf(stderr, "amx_probe: %s\n", err.msg);
        return 1;
    }
    ln_lenet_init_weights(&net, 1);
    static float x[16 * 1024];
    for (int i = 0; i < 16 * 1024; i++) x[i] = (float)((i * 7919) % 255) / 64.f - 1.f;
    double o2 = 1e9, o2b = 1e9, amx = 1e9;
    ln_lenet_profile pr;
    for (int r = 0; r < reps; r++) profile_step(&net, x, &o2, &o2b, &pr);
    /* the prototype on one group: bf16 pairs of normal values */
    static uint32_t in[LN_CONV1_C * LN_POOL1_PX * 16], w[LN_CONV2_C * LN_CONV1_C * LN_KERNEL * 3];
    static float out[LN_CONV2_C * LN_CONV2_PX * 16];
    float bias[LN_CONV2_C];
    for (size_t i = 0; i < sizeof in / 4; i++) in[i] = (uint32_t)bf(120, 8) << 16 | bf(120, 8);
    for (size_t i = 0; i < sizeof w / 4; i++) w[i] = (uint32_t)bf(118, 6) << 16 | bf(118, 6);
    for (int i = 0; i < LN_CONV2_C; i++) bias[i] = f(120, 4);
    double emu = 1e9, f32 = 1e9, f32b = 1e9, amxb = 1e9;
    static uint32_t dout[LN_CONV2_C / 2 * LN_CONV2_PX * 16], wt[LN_CONV2_C / 2 * LN_CONV1_C * 25],
        pad[LN_AMX_CONV2_BWD_PAD];
    static float din[LN_CONV1_C * LN_POOL1_PX * 16];
    for (size_t i = 0; i < sizeof dout / 4; i++) dout[i] = (uint32_t)bf(110, 8) << 16 | bf(110, 8);
    for (size_t i = 0; i < sizeof wt / 4; i++) wt[i] = (uint32_t)bf(118, 6) << 16 | bf(118, 6);
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        ln_amx_conv_fwd(in, LN_CONV1_C, LN_POOL1_SIDE, w, bias, LN_CONV2_C, out);
        double dt = now() - t0;
        if (dt < amx) amx = dt;
        t0 = now();
        ln_amx_conv2_fwd_emu(in, w, bias, out);
        dt = now() - t0;
        if (dt < emu) emu = dt;
        t0 = now();
        ln_amx_conv2_bwd_in(dout, wt, din, pad);
        dt = now() - t0;
        if (dt < amxb) amxb = dt;
    }
    const char *o2name = ln_lenet_amp_kernels(&net);
    /* float32 (O0): the same network at amp level 0 */
    if (ln_lenet_set_amp(&net, LN_AMP_O0, NULL, &err)) return fprintf(stderr, "amx_probe: %s\n", err.msg), 1;
    for (int r = 0; r < reps; r++) profile_step(&net, x, &f32, &f32b, &pr);
    const double S = (double)pr.samples_fwd, flops = 2.0 * LN_CONV2_C * LN_CONV2_PX * LN_CONV1_C * LN_KERNEL * LN_KERNEL;
    printf("conv2 forward, one group of 16, minimum of %d runs, us/sample (GFLOP/s):\n", reps);
    printf("  float32 (O0)                      %7.3f (%6.1f)\n", f32 / S * 1e6, flops * S / f32 * 1e-9);
    printf("  O2 (%-10s)                   %7.3f (%6.1f)\n", o2name, o2 / S * 1e6, flops * S / o2 * 1e-9);
    printf("  AMX rule, TDPBF16PS prototype     %7.3f (%6.1f)\n", amx / 16 * 1e6, flops * 16 / amx * 1e-9);
    printf("  AMX rule, float32-FMA emulation   %7.3f (%6.1f)\n", emu / 16 * 1e6, flops * 16 / emu * 1e-9);
    printf("conv2 backward, us/sample (GFLOP/s):\n");
    printf("  float32 (O0), weight + input gradients   %7.3f (%6.1f)\n", f32b / S * 1e6, 2 * flops * S / f32b * 1e-9);
    printf("  O2, weight + input gradients             %7.3f (%6.1f)\n", o2b / S * 1e6, 2 * flops * S / o2b * 1e-9);
    printf("  AMX rule, TDPBF16PS, input gradient only %7.3f (%6.1f; zero padding doubles its products)\n",
           amxb / 16 * 1e6, flops * 16 / amxb * 1e-9);
    ln_lenet_free(&net);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return fprintf(stderr, "usage: amx_probe rule [CASES] | speed\n"), 2;
    if (!ln_amx_enable()) {
        fprintf(stderr, "amx_probe: this CPU or OS does not run AMX-BF16 (CPUID, XCR0 or arch_prctl)\n");
        return 1;
    }
    if (!strcmp(argv[1], "rule")) return run_rule(argc > 2 ? atol(argv[2]) : 10000000L);
    if (!strcmp(argv[1], "nan")) return run_nan();
    if (!strcmp(argv[1], "boundary")) return run_boundary();
    if (!strcmp(argv[1], "speed")) return run_speed();
    if (!strcmp(argv[1], "conv2")) return run_conv2(argc > 2 ? atoi(argv[2]) : 2000);
    return fprintf(stderr, "amx_probe: unknown mode %s\n", argv[1]), 2;
}
