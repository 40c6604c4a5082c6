/* test_bf16.c - mixed precision (amp level O2, src/lanes_bf16.h):
 * - the plain C reference of the two bf16 primitives on hand-made cases
 *   (rounding ties, denormals, NaN priority, the flush-to-zero boundary
 *   measured on AVX512_BF16 hardware);
 * - every kernel variant's primitives against the reference bit for bit on
 *   random data with zeros, denormals, huge values, Inf and NaN (the
 *   vdpbf16ps variant only where the CPU has AVX512_BF16);
 * - the whole network at O2: every variant gives the same logits and
 *   gradients bit for bit, for any thread count, close to float32's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "../src/lanes_bf16.h"
#include "lenet/loss.h"
#include "lenet/net.h"

/* A float32 from a mix of classes: ordinary, tiny/denormal, huge, zero,
 * Inf, NaN, and exact bf16 rounding ties. */
static float anyfloat(uint64_t *s) {
    const uint32_t r = test_rnd(s), m = test_rnd(s);
    switch (r % 16) {
    case 0: return 0.f;
    case 1: return -0.f;
    case 2: return ln_f32_of((m & 0x807FFFFFu));                   /* denormal */
    case 3: return ln_f32_of((m & 0x80FFFFFFu) | 0x00800000u);     /* near the smallest normal */
    case 4: return ln_f32_of((m & 0x80FFFFFFu) | 0x7E000000u);     /* huge */
    case 5: return (m & 1) ? INFINITY : -INFINITY;
    case 6: return ln_f32_of(0x7F800001u | (m & 0x803FFFFFu) | ((m >> 8) & 0x00400000u)); /* NaN, quiet or not */
    case 7: return ln_f32_of((m & 0xFFFF0000u) | 0x8000u);          /* a tie */
    default: return (float)((int32_t)m) * 0x1p-31f * (float)(1 << (r % 8));
    }
}
/* A bf16 pair from the same classes, sometimes with small exponents so
 * that products underflow. */
static uint32_t anypair(uint64_t *s) {
    uint32_t hi = ln_bits_of(anyfloat(s)) >> 16, lo = ln_bits_of(anyfloat(s)) >> 16;
    if (test_rnd(s) % 4 == 0) lo = (lo & 0x807Fu) | ((test_rnd(s) % 40) << 7); /* exponent 0..39 */
    return hi << 16 | lo;
}

static void reference_cases(test_ctx *t) {
    CHECK(t, ln_bf16_round(1.0f) == 0x3F80, "1.0");
    CHECK(t, ln_bf16_round(ln_f32_of(0x3F808000u)) == 0x3F80, "a tie rounds to even (down)");
    CHECK(t, ln_bf16_round(ln_f32_of(0x3F818000u)) == 0x3F82, "a tie rounds to even (up)");
    CHECK(t, ln_bf16_round(ln_f32_of(0x3F808001u)) == 0x3F81, "above the tie rounds up");
    CHECK(t, ln_bf16_round(ln_f32_of(0x80000001u)) == 0x8000, "a denormal becomes a signed zero");
    CHECK(t, ln_bf16_round(ln_f32_of(0x7F7FFFFFu)) == 0x7F80, "overflow rounds to Inf");
    CHECK(t, ln_bf16_round(ln_f32_of(0xFF800001u)) == 0xFFC0, "NaN: quiet bit set, payload truncated");
    CHECK(t, ln_bf16_round(-INFINITY) == 0xFF80, "-Inf");
    const uint32_t one = 0x3F80u << 16 | 0x3F80u;
    CHECK(t, ln_bf16_dot_ref(1.f, one, one) == 3.f, "1 + 1*1 + 1*1");
    /* high pair first: (1 + 2^24) - 2^24 = 0 ... vs the other order */
    const uint32_t a = (ln_bits_of(0x1p24f) >> 16) << 16 | 0x3F80u, b = (ln_bits_of(-1.f) >> 16) << 16 | 0x3F80u;
    CHECK(t, ln_bf16_dot_ref(0x1p24f, a, b) == 1.f, "high pair, then low pair");
    /* the FTZ boundary (measured on Sapphire Rapids class hardware): exact
     * 2^-126 - 1.5*2^-151 flushes, 2^-126 - 2^-151 rounds to 2^-126 */
    uint32_t x = (uint32_t)(ln_bits_of(-0x1.8p-76f) >> 16) << 16, y = (uint32_t)(ln_bits_of(0x1p-75f) >> 16) << 16;
    CHECK(t, ln_bits_of(ln_bf16_dot_ref(0x1p-126f, x, y)) == 0, "tiny after rounding: flushed");
    x = (uint32_t)(ln_bits_of(-0x1p-75f) >> 16) << 16, y = (uint32_t)(ln_bits_of(0x1p-76f) >> 16) << 16;
    CHECK(t, ln_bf16_dot_ref(0x1p-126f, x, y) == 0x1p-126f, "rounds up to the smallest normal: kept");
    CHECK(t, ln_bits_of(ln_bf16_dot_ref(-0x1p-130f, 0, 0)) == 0, "a denormal accumulator is read as -0");
    const uint32_t nan1 = 0x7FA1u, nan2 = 0xFFA2u;
    CHECK(t, ln_bits_of(ln_bf16_dot_ref(NAN, nan1 << 16 | 0x3F80u, nan2)) == 0xFFE20000u, "NaN priority: src2 low first");
    CHECK(t, ln_bits_of(ln_bf16_dot_ref(0.f, 0x7F80u << 16, 0)) == 0xFFC00000u, "Inf * 0: the default NaN");
}

#define N 4096

static void primitives(test_ctx *t) {
    static const char *const names[] = {"generic", "avx2", "avx512-emulated", "avx512bf16"};
    uint64_t s = 42;
    uint32_t *a = malloc(N * 4), *b = malloc(N * 4), *p = malloc(N * 4);
    float *acc = malloc(N * 4), *ref = malloc(N * 4), *got = malloc(N * 4), *lo = malloc(N * 4), *hi = malloc(N * 4);
    for (int i = 0; i < N; i++) {
        a[i] = anypair(&s), b[i] = anypair(&s), acc[i] = anyfloat(&s);
        lo[i] = anyfloat(&s), hi[i] = anyfloat(&s);
        /* an accumulator that cancels the products now and then */
        if (i % 7 == 0) {
            const float q = ln_f32_of(a[i] & 0xFFFF0000u) * ln_f32_of(b[i] & 0xFFFF0000u);
            if (isfinite(q)) acc[i] = -q;
        }
        ref[i] = ln_bf16_dot_ref(acc[i], a[i], b[i]);
    }
    /* the measured boundary cases, in vector position too */
    acc[5] = 0x1p-126f, a[5] = (ln_bits_of(-0x1.8p-76f) >> 16) << 16, b[5] = (ln_bits_of(0x1p-75f) >> 16) << 16;
    ref[5] = ln_bf16_dot_ref(acc[5], a[5], b[5]);
    char what[160];
    int ran_hw = 0;
    for (int v = 0; v < 4; v++) {
        ln_bf16_kernels k;
        if (ln_bf16_select(&k, names[v])) {
            printf("  note: bf16 kernels %s not supported by this CPU: skipped%s\n", names[v],
                   v == 3 ? " (no AVX512_BF16: vdpbf16ps not compared with the emulation)" : "");
            continue;
        }
        ran_hw |= v == 3;
        memcpy(got, acc, N * 4);
        k.dot(got, a, b, N - 3); /* a tail too */
        int bad = 0, first = -1;
        for (int i = 0; i < N - 3; i++)
            if (ln_bits_of(got[i]) != ln_bits_of(ref[i]) && !bad++) first = i;
        snprintf(what, sizeof what, "%s: vdpbf16ps = reference on %d lanes (first mismatch %d: acc %a a %08x b %08x "
                 "got %08x want %08x)", names[v], N - 3, first, first < 0 ? 0 : acc[first], first < 0 ? 0 : a[first],
                 first < 0 ? 0 : b[first], first < 0 ? 0 : ln_bits_of(got[first]), first < 0 ? 0 : ln_bits_of(ref[first]));
        CHECK(t, !bad, what);
        k.pack2(lo, hi, p, N - 5);
        bad = 0;
        for (int i = 0; i < N - 5; i++)
            if (p[i] != ((uint32_t)ln_bf16_round(hi[i]) << 16 | ln_bf16_round(lo[i])) && !bad++) first = i;
        snprintf(what, sizeof what, "%s: float32 -> bf16 pairs = reference (first mismatch %d)", names[v], first);
        CHECK(t, !bad, what);
    }
    if (!ran_hw) printf("  note: this CPU lacks AVX512_BF16: only the emulations were checked\n");
    free(a), free(b), free(p), free(acc), free(ref), free(got), free(lo), free(hi);
}

/* The network at O2 with bf16 variant `isa`: logits and gradients. */
static int run(const char *isa, int amp, int threads, const float *params, const float *x, const int32_t *y, int B,
               float *logits, float *grads, size_t *np) {
    ln_lenet net;
    ln_error err;
    if (ln_lenet_init(&net, 1, B, threads, NULL, &err)) return -1;
    if (amp && ln_lenet_set_amp(&net, LN_AMP_O2, isa, &err)) {
        ln_lenet_free(&net);
        return 1;
    }
    *np = net.n_params;
    if (params) memcpy(net.params, params, net.n_params * 4);
    else ln_lenet_init_weights(&net, 7);
    ln_lenet_forward(&net, x, B);
    memcpy(logits, ln_lenet_logits(&net), sizeof(float) * (size_t)B * 10);
    float *dl = malloc(sizeof(float) * (size_t)B * 10);
    ln_softmax_xent(ln_lenet_logits(&net), y, B, 10, dl, NULL);
    ln_lenet_zero_grad(&net);
    ln_lenet_backward(&net, dl, B);
    memcpy(grads, net.grads, net.n_params * 4);
    free(dl);
    ln_lenet_free(&net);
    return 0;
}

static double normdiff(const float *a, const float *b, size_t n) {
    double m = 0, d = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(b[i])), d = fmax(d, fabs((double)a[i] - b[i]));
    return m > 0 ? d / m : d;
}

static void network(test_ctx *t) {
    enum { B = 37 };
    static const char *const names[] = {"generic", "avx2", "avx512-emulated", "avx512bf16"};
    uint64_t s = 9;
    float *x = malloc(sizeof(float) * B * 1024);
    int32_t y[B];
    for (int i = 0; i < B * 1024; i++) x[i] = (float)(test_rnd(&s) % 256) / 255.f * 3.2f - 0.42f;
    for (int i = 0; i < B; i++) y[i] = (int32_t)(test_rnd(&s) % 10);
    const size_t NP = 70000;
    float *l0 = malloc(B * 40), *g0 = malloc(NP * 4), *l = malloc(B * 40), *g = malloc(NP * 4);
    float *lf = malloc(B * 40), *gf = malloc(NP * 4), *params = malloc(NP * 4);
    size_t np = 0;
    /* the float32 network, and its weights for every run */
    int ok = !run(NULL, 0, 1, NULL, x, y, B, lf, gf, &np);
    CHECK(t, ok, "float32 network runs");
    {
        ln_lenet net;
        ln_error err;
        ok = ok && !ln_lenet_init(&net, 1, 1, 1, NULL, &err);
        if (ok) {
            ln_lenet_init_weights(&net, 7);
            memcpy(params, net.params, np * 4);
            ln_lenet_free(&net);
        }
    }
    int have = 0;
    char what[160];
    for (int v = 0; ok && v < 4; v++) {
        for (int threads = 1; threads <= 2; threads++) {
            const int r = run(names[v], 1, threads, params, x, y, B, l, g, &np);
            if (r > 0) {
                printf("  note: bf16 kernels %s not supported by this CPU: skipped\n", names[v]);
                break;
            }
            if (!have) {
                memcpy(l0, l, B * 40), memcpy(g0, g, np * 4);
                have = 1;
                const double dl = normdiff(l, lf, (size_t)B * 10), dg = normdiff(g, gf, np);
                snprintf(what, sizeof what, "O2 close to float32: logits %.2e, gradients %.2e (< 3e-2)", dl, dg);
                CHECK(t, dl < 3e-2 && dg < 3e-2 && dl > 0, what);
                continue;
            }
            snprintf(what, sizeof what, "O2 %s, %d thread(s): logits and gradients bit-identical to the first", names[v],
                     threads);
            CHECK(t, !memcmp(l, l0, B * 40) && !memcmp(g, g0, np * 4), what);
        }
    }
    /* NaN and Inf inside the chains: a NaN with a payload in conv2's weights,
     * +Inf in fc1's (times the ReLU's zeros: invalid operations), a
     * signalling NaN in fc2's, a NaN pixel; and in fc3, whose outputs are
     * the logits, two NaNs in one chain (the bias and a weight): the logits
     * must match bit for bit, NaNs included. Which NaN a plain FMA returns
     * depends on the places the compiler gave the operands, so the
     * emulation redoes a block holding a NaN exactly (lanes_bf16.c;
     * `primitives` above fails without that).
     * The gradients must match bit for bit where they are numbers and be
     * NaN at the same places: after the float32 parts (sums, pooling) a
     * NaN's payload depends on how the compiler ordered an addition's
     * operands, which differs between builds. */
    if (ok) {
        ln_lenet net;
        ln_error err;
        if (!ln_lenet_init(&net, 1, 1, 1, NULL, &err)) {
            const ln_lenet_views v = ln_lenet_views_of(&net, params);
            v.conv2_w[777] = ln_f32_of(0x7FA12345u);
            v.fc1_w[4321] = INFINITY;
            v.fc2_w[1234] = -ln_f32_of(0x7F800F00u); /* a signalling NaN */
            v.fc3_b[2] = ln_f32_of(0x7F811111u);
            v.fc3_w[2 * 84 + 5] = ln_f32_of(0x7FB22222u);
            ln_lenet_free(&net);
        } else
            ok = 0;
        x[5 * 1024 + 300] = ln_f32_of(0xFFC0BEEFu);
    }
    have = 0;
    for (int v = 0; ok && v < 4; v++) {
        for (int threads = 1; threads <= 2; threads++) {
            const int r = run(names[v], 1, threads, params, x, y, B, l, g, &np);
            if (r > 0) break;
            if (!have) {
                memcpy(l0, l, B * 40), memcpy(g0, g, np * 4);
                have = 1;
                int ng = 0;
                for (size_t i = 0; i < np; i++) ng += isnan(g[i]);
                snprintf(what, sizeof what, "O2 with NaN and Inf: logit 2 is fc3's weight's NaN (%08x, want 7ff20000), "
                         "%d NaN gradients", ln_bits_of(l[2]), ng);
                CHECK(t, ln_bits_of(l[2]) == 0x7FF20000u && ng > 0 && ng < (int)np, what);
                continue;
            }
            int same = !memcmp(l, l0, B * 40);
            for (size_t i = 0; i < np; i++)
                same &= isnan(g[i]) ? isnan(g0[i]) != 0 : ln_bits_of(g[i]) == ln_bits_of(g0[i]);
            snprintf(what, sizeof what, "O2 with NaN and Inf, %s, %d thread(s): logits bit-identical to the first "
                     "(NaNs too), gradients too (NaN as NaN)", names[v], threads);
            CHECK(t, same, what);
        }
    }
    free(x), free(l0), free(g0), free(l), free(g), free(lf), free(gf), free(params);
}

int main(void) {
    test_ctx t = {"test_bf16", 0, 0};
    reference_cases(&t);
    primitives(&t);
    network(&t);
    return test_finish(&t);
}
