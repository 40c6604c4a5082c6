/* test_lanes.c - the lanes engine (batch in the vector lanes) against the
 * reference im2col+GEMM engine, for batch sizes that are and are not
 * multiples of 16, every instruction-set variant, and the property that a
 * sample's logits do not depend on the batch it is in; the fused training
 * step against the separate calls it replaces, for several thread counts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lenet/gemm.h"
#include "lenet/loss.h"
#include "lenet/net.h"
#include "lenet/optim.h"
#include "lenet/transform.h"
#include "../src/net_internal.h"

#define MAXB 37

static float frand(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffff) / 65536.0f * 2.0f - 1.0f;
}

/* Run forward + loss + backward; copy logits and grads out. */
static int run(const char *kernels, int conv_bias, int threads, const float *params, size_t np, const float *x,
               const int32_t *y, int B, float *logits, float *grads) {
    ln_lenet net;
    ln_error err;
    if (ln_lenet_init(&net, conv_bias, MAXB, threads, kernels, &err)) return -1;
    memcpy(net.params, params, np * sizeof(float));
    ln_lenet_forward(&net, x, B);
    memcpy(logits, ln_lenet_logits(&net), sizeof(float) * (size_t)B * 10);
    float dl[MAXB * 10];
    ln_softmax_xent(ln_lenet_logits(&net), y, B, 10, dl, NULL);
    ln_lenet_zero_grad(&net);
    ln_lenet_backward(&net, dl, B);
    memcpy(grads, net.grads, np * sizeof(float));
    ln_lenet_free(&net);
    return 0;
}

/* max |a-b| / (max|b| over the array): a normwise relative difference. */
static double normdiff(const float *a, const float *b, size_t n) {
    double m = 0, d = 0;
    for (size_t i = 0; i < n; i++) {
        m = fmax(m, fabs(b[i]));
        d = fmax(d, fabs((double)a[i] - b[i]));
    }
    return m > 0 ? d / m : d;
}

/* Three steps of batch B on `threads` threads, fused (ln_lenet_train_step)
 * or as separate calls (normalise, forward, loss, zero_grad, backward,
 * momentum step), with weight decay, Nesterov, a loss scale, a dynamic rate
 * and, if `centralise`, a group with grad centralisation (the fused step
 * then sums into net.grads, else in L1 unless `keep`: ln_lenet_keep_grads).
 * Parameters, moments, the last losses and the gradient buffer are copied
 * out. */
static int steps(const char *kernels, int fused, int threads, int B, const uint8_t *img, const int32_t *y,
                 int centralise, int keep, float *params, float *moments, double *losses, float *grads) {
    ln_lenet net;
    ln_error err;
    if (ln_lenet_init(&net, 1, MAXB, threads, kernels, &err)) return -1;
    ln_lenet_init_weights(&net, 7);
    const float lrs[3] = {0.05f, 0.04f, 0.03f};
    ln_group_spec gs = {.patterns = "conv2.weight", .set_weight_decay = 1, .weight_decay = 0.f,
                        .grad_centralization = 1};
    ln_momentum_config oc = {.lr_list = lrs, .lr_len = 3, .momentum = 0.9f, .weight_decay = 1e-3f,
                             .loss_scale = 64.f, .nesterov = 1, .n_groups = centralise, .groups = &gs};
    ln_momentum opt;
    if (ln_momentum_create(&opt, &oc, net.info, net.n_tensors, net.n_params, &err)) return -1;
    opt.threads = threads;
    ln_lenet_keep_grads(&net, keep);
    const uint8_t *px[MAXB];
    float lut[256], *x = malloc(sizeof(float) * MAXB * 1024);
    ln_normalize_lut(lut);
    int rc = 0;
    for (int st = 0; st < 3 && !rc; st++) {
        const uint8_t *im = img + (size_t)st * 1024 * 5; /* a different batch each step */
        for (int i = 0; i < B; i++) px[i] = im + (size_t)i * 1024;
        double loss = 0;
        if (fused) {
            rc = ln_lenet_train_step(&net, px, y, B, 64.f, &opt, losses, &loss);
        } else {
            for (int i = 0; i < B * 1024; i++) x[i] = lut[im[i]];
            ln_lenet_forward(&net, x, B);
            float *dl = ln_lenet_acts_of(&net)->dlogits;
            loss = ln_softmax_xent(ln_lenet_logits(&net), y, B, 10, dl, losses);
            for (int i = 0; i < B * 10; i++) dl[i] *= 64.f;
            ln_lenet_zero_grad(&net);
            ln_lenet_backward(&net, dl, B);
            ln_momentum_step(&opt, net.params, net.grads);
        }
    }
    memcpy(params, net.params, net.n_params * sizeof(float));
    memcpy(moments, opt.moments, net.n_params * sizeof(float));
    memcpy(grads, net.grads, net.n_params * sizeof(float));
    rc |= opt.global_step != 3;
    free(x);
    ln_momentum_free(&opt);
    ln_lenet_free(&net);
    return rc;
}

/* A step whose loss is not finite (one row's logits overflow) returns 1
 * and changes nothing: parameters, moments, the step count and the
 * gradient buffer, for batches of solo groups (32 on 2 threads), a shared
 * group (16 on 2) and both (37 on 2), 1 and 2 threads. */
static void diverged_step_tests(test_ctx *t, const uint8_t *img, const int32_t *y) {
    static const int batches[3] = {16, 32, 37};
    char what[160];
    for (int th = 1; th <= 2; th++)
        for (int bi = 0; bi < 3; bi++) {
            const int B = batches[bi];
            ln_lenet net;
            ln_error err;
            ln_momentum opt;
            if (ln_lenet_init(&net, 1, 64, th, NULL, &err) ||
                ln_momentum_init(&opt, net.n_params, 0.01f, 0.9f, 0.f, 1.f, 0, &err)) {
                CHECK(t, 0, "init");
                return;
            }
            opt.threads = th;
            ln_lenet_init_weights(&net, 3);
            for (size_t i = 0; i < net.n_params; i++) opt.moments[i] = 0.001f * (float)(i % 7), net.grads[i] = 5.f;
            net.p.fc3_w[3 * 84 + 5] = 3e38f; /* class 3's logit overflows for rows with h2[5] > 1 */
            for (int i = 0; i < 84; i++) net.p.fc2_b[i] = 2.f;
            const size_t bytes = net.n_params * sizeof(float);
            float *p0 = malloc(bytes), *m0 = malloc(bytes), *g0 = malloc(bytes);
            memcpy(p0, net.params, bytes), memcpy(m0, opt.moments, bytes), memcpy(g0, net.grads, bytes);
            const uint8_t *px[64];
            double per[64], loss = 0;
            for (int i = 0; i < B; i++) px[i] = img + (size_t)i * 1024;
            const int rc = ln_lenet_train_step(&net, px, y, B, 1.f, &opt, per, &loss);
            snprintf(what, sizeof what, "B=%d, %d thread(s): a non-finite loss returns 1 and changes nothing", B, th);
            CHECK(t, rc == 1 && !isfinite(loss) && opt.global_step == 0 && !memcmp(p0, net.params, bytes) &&
                         !memcmp(m0, opt.moments, bytes) && !memcmp(g0, net.grads, bytes),
                  what);
            free(p0), free(m0), free(g0);
            ln_momentum_free(&opt);
            ln_lenet_free(&net);
        }
}

static void fused_step_tests(test_ctx *t) {
    unsigned s = 777;
    const size_t nimg = (size_t)(MAXB + 10) * 1024;
    uint8_t *img = malloc(nimg);
    int32_t y[MAXB];
    for (size_t i = 0; i < nimg; i++) img[i] = (uint8_t)(frand(&s) * 127 + 128);
    for (int i = 0; i < MAXB; i++) y[i] = (int32_t)((unsigned)(frand(&s) * 1000 + 1000) % 10);
    ln_lenet probe;
    ln_error err;
    if (ln_lenet_init(&probe, 1, 1, 1, NULL, &err)) { CHECK(t, 0, "init"); return; }
    const size_t np = probe.n_params;
    ln_lenet_free(&probe);
    float *p0 = malloc(np * sizeof(float)), *m0 = malloc(np * sizeof(float)), *g0 = malloc(np * sizeof(float));
    float *p1 = malloc(np * sizeof(float)), *m1 = malloc(np * sizeof(float)), *g1 = malloc(np * sizeof(float));
    double l0[MAXB], l1[MAXB];
    static const int batches[4] = {1, 16, 21, 37};
    static const char *const isas[2] = {"generic", "avx512"};
    char what[160];
    for (int v = 0; v < 2; v++) {
        ln_gemm_kernels k;
        if (ln_gemm_select(&k, isas[v])) continue;
        for (int bi = 0; bi < 4; bi++)
            for (int c = 1; c >= 0; c--) {
                const int B = batches[bi];
                int ok = !steps(isas[v], 0, 1, B, img, y, c, 0, p0, m0, l0, g0), kept = 1, untouched = 1;
                for (int th = 1; th <= 3; th++) {
                    ok &= !steps(isas[v], 1, th, B, img, y, c, 0, p1, m1, l1, g1);
                    ok &= !memcmp(p0, p1, np * sizeof(float)) && !memcmp(m0, m1, np * sizeof(float)) &&
                          !memcmp(l0, l1, sizeof(double) * (size_t)B);
                    if (c) continue;
                    /* summed in L1: net.grads keeps ln_lenet_init's zeros; kept: the separate calls' */
                    for (size_t i = 0; i < np; i++) untouched &= g1[i] == 0.f && !signbit(g1[i]);
                    kept &= !steps(isas[v], 1, th, B, img, y, c, 1, p1, m1, l1, g1) &&
                            !memcmp(p0, p1, np * sizeof(float)) && !memcmp(g0, g1, np * sizeof(float));
                }
                snprintf(what, sizeof what, "[%s B=%d%s] fused training step on 1, 2, 3 threads: the separate calls' bits",
                         isas[v], B, c ? ", centralised" : "");
                CHECK(t, ok, what);
                if (c) continue;
                snprintf(what, sizeof what, "[%s B=%d] fused step: net.grads untouched by default, the separate calls' "
                         "gradient with ln_lenet_keep_grads", isas[v], B);
                CHECK(t, untouched && kept, what);
            }
    }
    diverged_step_tests(t, img, y);
    free(img), free(p0), free(m0), free(g0), free(p1), free(m1), free(g1);
}

int main(void) {
    test_ctx t = {"test_lanes", 0, 0};
    unsigned s = 12345;
    float *x = malloc(sizeof(float) * MAXB * 1024);
    int32_t y[MAXB];
    for (int i = 0; i < MAXB * 1024; i++) x[i] = frand(&s) * 2.0f;
    for (int i = 0; i < MAXB; i++) y[i] = (int32_t)((unsigned)(frand(&s) * 1000 + 1000) % 10);
    static const char *const isas[3] = {"generic", "avx2", "avx512"};
    static const int batches[5] = {1, 5, 16, 21, 37};
    char what[160];
    for (int cb = 0; cb <= 1; cb++) {
        ln_lenet ref;
        ln_error err;
        if (ln_lenet_init(&ref, cb, 1, 1, "gemm:generic", &err)) { CHECK(&t, 0, "init"); return test_finish(&t); }
        ln_lenet_init_weights(&ref, 99);
        for (size_t i = 0; i < ref.n_params; i++) /* nonzero fc biases too */
            if (ref.params[i] == 0.f) ref.params[i] = 0.05f * frand(&s);
        const size_t np = ref.n_params;
        float *params = malloc(np * sizeof(float));
        memcpy(params, ref.params, np * sizeof(float));
        ln_lenet_free(&ref);
        float *lr = malloc(sizeof(float) * MAXB * 10), *gr = malloc(np * sizeof(float));
        float *ll = malloc(sizeof(float) * MAXB * 10), *gl = malloc(np * sizeof(float));
        float *ll2 = malloc(sizeof(float) * MAXB * 10), *gl2 = malloc(np * sizeof(float));
        float *l1 = malloc(sizeof(float) * 10), *g1 = malloc(np * sizeof(float));
        for (int v = 0; v < 3; v++) {
            ln_gemm_kernels k;
            if (ln_gemm_select(&k, isas[v])) { printf("  note: %s not supported here: skipped\n", isas[v]); continue; }
            for (int bi = 0; bi < 5; bi++) {
                const int B = batches[bi];
                int ok = !run("gemm:generic", cb, 1, params, np, x, y, B, lr, gr) &&
                         !run(isas[v], cb, 1, params, np, x, y, B, ll, gl) &&
                         !run(isas[v], cb, 2, params, np, x, y, B, ll2, gl2);
                const double dl = normdiff(ll, lr, (size_t)B * 10), dg = normdiff(gl, gr, np);
                snprintf(what, sizeof what, "[%s conv_bias=%d B=%d] lanes vs reference: logits %.1e, grads %.1e (<= 1e-5)",
                         isas[v], cb, B, dl, dg);
                CHECK(&t, ok && dl <= 1e-5 && dg <= 1e-5, what);
                snprintf(what, sizeof what, "[%s conv_bias=%d B=%d] threads 1 and 2 bit-identical", isas[v], cb, B);
                CHECK(&t, ok && !memcmp(ll, ll2, sizeof(float) * (size_t)B * 10) && !memcmp(gl, gl2, np * sizeof(float)),
                      what);
            }
            /* A sample's logits are the same alone as in a batch of 37. */
            run(isas[v], cb, 1, params, np, x, y, MAXB, ll, gl);
            int same = 1;
            for (int i = 0; i < MAXB && same; i++) {
                run(isas[v], cb, 1, params, np, x + (size_t)i * 1024, y + i, 1, l1, g1);
                same = !memcmp(l1, ll + (size_t)i * 10, sizeof(float) * 10);
            }
            snprintf(what, sizeof what, "[%s conv_bias=%d] every sample's logits identical alone and in a batch of 37",
                     isas[v], cb);
            CHECK(&t, same, what);
        }
        free(params), free(lr), free(gr), free(ll), free(gl), free(ll2), free(gl2), free(l1), free(g1);
    }
    /* Profiling: every layer's forward and backward time is recorded. */
    {
        ln_lenet net;
        ln_error err;
        int ok = !ln_lenet_init(&net, 1, 32, 2, NULL, &err) && !ln_lenet_set_profiling(&net, 1);
        if (ok) {
            ln_lenet_init_weights(&net, 5);
            for (int r = 0; r < 3; r++) {
                float dl[21 * 10];
                ln_lenet_forward(&net, x, 21);
                ln_softmax_xent(ln_lenet_logits(&net), y, 21, 10, dl, NULL);
                ln_lenet_zero_grad(&net);
                ln_lenet_backward(&net, dl, 21);
            }
            ln_lenet_profile pr;
            ln_lenet_get_profile(&net, &pr);
            int all = pr.samples_fwd == 3 * 32 && pr.samples_bwd == 3 * 32;
            /* pool1's backward runs inside conv1's weight gradient (slot 1
             * then stays 0; the CLI says so). */
            for (int l = 0; l < LN_PROF_LAYERS; l++)
                all &= pr.fwd_seconds[l] > 0 && (l == 1 ? pr.bwd_seconds[l] == 0 : pr.bwd_seconds[l] > 0) && pr.name[l];
            all &= pr.fwd_flops[0] == 235200 && pr.bwd_flops[2] == 960000;
            CHECK(&t, all, "profiling: time for every layer, forward and backward (pool1's backward in conv1's); 96 lanes counted; FLOP counts");
            ln_lenet_set_profiling(&net, 0);
            ln_lenet_get_profile(&net, &pr);
            CHECK(&t, pr.samples_fwd == 0 && pr.fwd_seconds[0] == 0, "profiling off clears it");
            ln_lenet_free(&net);
        } else {
            CHECK(&t, 0, "profiling: init");
        }
    }
    fused_step_tests(&t);
    free(x);
    return test_finish(&t);
}
