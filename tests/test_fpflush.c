/* test_fpflush.c - the engine computes with subnormals flushed to zero
 * (src/fpflush.h) and gives the caller its floating-point environment back.
 *
 * Forward: fc3's weights are set to subnormals (+-2^-140) and its bias to
 * 0, so the logits are sums of products with subnormal factors: with
 * "denormals are zero" every logit is exactly 0; computed without it they
 * would be nonzero subnormals (the test checks that too, in plain C, so it
 * cannot pass on a machine where nothing would differ). Every engine and
 * instruction set, 1 and 2 threads, the one-image path and batches of 16
 * and 37, float32 and bf16 (O2). Backward: the gradient of a tensor fed by
 * subnormal activations is 0. Optimizer: a momentum buffer decaying below
 * 2^-126 becomes exactly 0. After each call the caller's MXCSR control
 * bits are what they were. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lenet/gemm.h"
#include "lenet/net.h"
#include "lenet/optim.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_MXCSR 1
#else
#define HAVE_MXCSR 0
#endif

#define MAXB 37

static float frand(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffff) / 65536.0f;
}

/* MXCSR's control bits: rounding, exception masks, FTZ, DAZ. The six
 * exception flags (bits 0-5) are left out: any float arithmetic may raise
 * them, and LLVM's OpenMP runtime clears them at the end of a parallel
 * region that runs on one thread. */
static unsigned csr(void) {
#if HAVE_MXCSR
    return _mm_getcsr() & ~0x3fu;
#else
    return 0;
#endif
}

/* One engine: forward with subnormal fc3 weights; then backward. */
static void check_engine(test_ctx *t, const char *kernels, int amp, int threads, int B, const float *x) {
    char what[200];
    ln_lenet net;
    ln_error err;
    if (ln_lenet_init(&net, 1, MAXB, threads, kernels, &err)) {
        snprintf(what, sizeof what, "[%s] init: %.120s", kernels, err.msg);
        CHECK(t, 0, what);
        return;
    }
    if (amp && ln_lenet_set_amp(&net, LN_AMP_O2, NULL, &err)) {
        ln_lenet_free(&net);
        return; /* O2 is lanes-only: the gemm engines refuse it */
    }
    ln_lenet_init_weights(&net, 7);
    const float tiny = ldexpf(1.0f, -140);
    for (int i = 0; i < 10 * 84; i++) net.p.fc3_w[i] = i % 3 ? tiny : -tiny;
    memset(net.p.fc3_b, 0, sizeof(float) * 10);
    const unsigned before = csr();
    ln_lenet_forward(&net, x, B);
    const unsigned after = csr();
    const float *lg = ln_lenet_logits(&net);
    int zero = 1;
    for (int i = 0; i < B * 10; i++) zero &= lg[i] == 0.0f;
    snprintf(what, sizeof what, "[%s%s] threads %d, batch %d: logits from subnormal weights are exactly 0", kernels,
             amp ? " O2" : "", threads, B);
    CHECK(t, zero, what);
    snprintf(what, sizeof what, "[%s%s] threads %d, batch %d: forward leaves the caller's MXCSR control bits as they were (%#x, got %#x)",
             kernels, amp ? " O2" : "", threads, B, before, after);
    CHECK(t, before == after, what);

    /* Backward: fc3's weight gradient is dlogits x h2; with the input
     * layer's weights scaled into the subnormals it must come out 0 too:
     * here simply fc2's gradient through fc3's subnormal weights. */
    float dl[MAXB * 10];
    for (int i = 0; i < B * 10; i++) dl[i] = (float)(i % 7) - 3.0f;
    ln_lenet_zero_grad(&net);
    ln_lenet_backward(&net, dl, B);
    int gz = 1;
    for (int i = 0; i < 84 * 120; i++) gz &= net.g.fc2_w[i] == 0.0f;
    for (int i = 0; i < 84; i++) gz &= net.g.fc2_b[i] == 0.0f;
    snprintf(what, sizeof what, "[%s%s] threads %d, batch %d: gradients through subnormal weights are exactly 0",
             kernels, amp ? " O2" : "", threads, B);
    CHECK(t, gz, what);
    CHECK(t, csr() == before, "backward leaves the caller's MXCSR control bits as they were");
    ln_lenet_free(&net);
}

static void check_optimizer(test_ctx *t, int threads) {
    char what[160];
    ln_momentum o;
    ln_error err;
    enum { N = 1000 };
    if (ln_momentum_init(&o, N, 0.01f, 0.5f, 0.0f, 1.0f, 0, &err)) {
        CHECK(t, 0, "momentum init");
        return;
    }
    o.threads = threads;
    float params[N], grads[N];
    for (int i = 0; i < N; i++) params[i] = 1.0f, o.moments[i] = ldexpf(1.0f, -125);
    const unsigned before = csr();
    for (int s = 0; s < 3; s++) { /* 2^-126, then 2^-127 and 2^-128 unflushed */
        memset(grads, 0, sizeof grads);
        ln_momentum_step(&o, params, grads);
    }
    int zero = 1;
    for (int i = 0; i < N; i++) zero &= o.moments[i] == 0.0f && params[i] == 1.0f;
    snprintf(what, sizeof what, "optimizer, threads %d: a moment decaying below 2^-126 becomes 0", threads);
    CHECK(t, zero, what);
    CHECK(t, csr() == before, "optimizer leaves the caller's MXCSR control bits as they were");
    ln_momentum_free(&o);
}

int main(void) {
    test_ctx t = {"test_fpflush", 0, 0};
    if (!HAVE_MXCSR) {
        printf("  note: not x86: the flush modes are not checked here\n");
        return test_finish(&t);
    }
    /* The premise: computed without the flush modes, these products are
     * nonzero (volatile keeps the compiler from folding them). */
    volatile float tiny = ldexpf(1.0f, -140), h = 0.75f;
    CHECK(&t, h * tiny != 0.0f, "control: without flushing, a subnormal weight times 0.75 is nonzero");
    CHECK(&t, (csr() & 0x8040u) == 0, "control: the test starts with FTZ and DAZ off");

    unsigned s = 4242;
    float *x = malloc(sizeof(float) * MAXB * 1024);
    for (int i = 0; i < MAXB * 1024; i++) x[i] = frand(&s);
    static const char *const engines[] = {"generic", "avx2", "avx512", "gemm:generic", "gemm:avx2", "gemm:avx512"};
    static const int batches[3] = {1, 16, MAXB};
    for (size_t e = 0; e < sizeof engines / sizeof *engines; e++) {
        ln_gemm_kernels k;
        const char *isa = strncmp(engines[e], "gemm:", 5) ? engines[e] : engines[e] + 5;
        if (ln_gemm_select(&k, isa)) {
            printf("  note: %s not supported here: skipped\n", engines[e]);
            continue;
        }
        for (int amp = 0; amp <= 1; amp++)
            for (int th = 1; th <= 2; th++)
                for (int b = 0; b < 3; b++) check_engine(&t, engines[e], amp, th, batches[b], x);
    }
    check_optimizer(&t, 1);
    check_optimizer(&t, 2);
    free(x);
    return test_finish(&t);
}
