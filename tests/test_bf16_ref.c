/* test_bf16_ref.c - the O2 network (src/lanes_bf16.c) against a plain C
 * reference written from lanes_bf16.h's description alone: scalar loops,
 * every product pair one ln_bf16_dot_ref, every operand rounded by
 * ln_bf16_round, in the documented pair order; float32 everywhere else in
 * the engine's order (bias first, lane sums pairwise, group gradients added
 * in group order). Logits and every gradient must agree bit for bit, for a
 * batch that leaves a group partly empty (its lanes zero, as the engine's),
 * with each bf16 variant this CPU runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "../src/lanes_bf16.h"
#include "lenet/loss.h"
#include "lenet/net.h"

#define L 16
#define K 5
#define B 37

/* the pair (lo, hi) of two floats, each rounded to bf16 */
static uint32_t pr(float lo, float hi) { return (uint32_t)ln_bf16_round(hi) << 16 | ln_bf16_round(lo); }

/* the engine's lane sum: u[i] = t[i] + t[i+8], w[i] = u[i] + u[i+4], (w0 + w2) + (w1 + w3) */
static float hsum(const float *t) {
    float u[8], w[4];
    for (int i = 0; i < 8; i++) u[i] = t[i] + t[i + 8];
    for (int i = 0; i < 4; i++) w[i] = u[i] + u[i + 4];
    return (w[0] + w[2]) + (w[1] + w[3]);
}

/* One group's activations, element-major with the 16 lanes last. */
typedef struct {
    float x[32 * 32][L], a1[6 * 28 * 28][L], p1[6 * 14 * 14][L], a2[16 * 10 * 10][L], p2[400][L];
    int arg1[6 * 14 * 14][L], arg2[400][L];
    float h1[120][L], h2[84][L], lo[10][L];
    float dlo[10][L], dh2[84][L], dh1[120][L], dp2[400][L], da2[1600][L], dp1[6 * 14 * 14][L], da1[6 * 784][L];
} grp;

/* conv + ReLU, taps paired along kx: (0,1) (2,3) (4,-); the input's pixel
 * past a row's end reads as 0 */
static void conv_fwd(const float (*in)[L], int IC, int H, const float *w, const float *b, int OC, float (*out)[L]) {
    const int OH = H - K + 1;
    for (int l = 0; l < L; l++)
        for (int oc = 0; oc < OC; oc++)
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OH; ox++) {
                    float acc = b ? b[oc] : 0.f;
                    for (int ic = 0; ic < IC; ic++)
                        for (int ky = 0; ky < K; ky++)
                            for (int kx = 0; kx < K; kx += 2) {
                                const int y = oy + ky, x = ox + kx;
                                const float *wr = w + ((oc * IC + ic) * K + ky) * K;
                                const float i1 = x + 1 < H ? in[(ic * H + y) * H + x + 1][l] : 0.f;
                                acc = ln_bf16_dot_ref(acc, pr(in[(ic * H + y) * H + x][l], i1),
                                                      pr(wr[kx], kx + 1 < K ? wr[kx + 1] : 0.f));
                            }
                    out[(oc * OH + oy) * OH + ox][l] = acc > 0.f ? acc : 0.f;
                }
}

static void pool(const float (*in)[L], int C, int H, float (*out)[L], int (*arg)[L]) {
    const int OH = H / 2;
    for (int l = 0; l < L; l++)
        for (int c = 0; c < C; c++)
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OH; ox++) {
                    const int base = (c * H + 2 * oy) * H + 2 * ox, at[4] = {base, base + 1, base + H, base + H + 1};
                    float m = in[at[0]][l];
                    int a = 0;
                    for (int k = 1; k < 4; k++)
                        if (in[at[k]][l] > m) m = in[at[k]][l], a = k;
                    out[(c * OH + oy) * OH + ox][l] = m, arg[(c * OH + oy) * OH + ox][l] = a;
                }
}

static void pool_bwd(const float (*d)[L], const int (*arg)[L], const float (*pooled)[L], int C, int H, float (*din)[L]) {
    const int OH = H / 2;
    memset(din, 0, sizeof(float) * L * (size_t)(C * H * H));
    for (int l = 0; l < L; l++)
        for (int c = 0; c < C; c++)
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OH; ox++) {
                    const int o = (c * OH + oy) * OH + ox, a = arg[o][l];
                    din[(c * H + 2 * oy + a / 2) * H + 2 * ox + a % 2][l] = pooled[o][l] > 0.f ? d[o][l] : 0.f;
                }
}

/* dense: features paired */
static void fc_fwd(const float (*x)[L], int F, const float *w, const float *b, int O, float (*y)[L], int relu) {
    for (int l = 0; l < L; l++)
        for (int o = 0; o < O; o++) {
            float acc = b[o];
            for (int f = 0; f < F; f += 2)
                acc = ln_bf16_dot_ref(acc, pr(x[f][l], x[f + 1][l]), pr(w[o * F + f], w[o * F + f + 1]));
            y[o][l] = relu && !(acc > 0.f) ? 0.f : acc;
        }
}

/* dense backward: dw, db of this group (added into the net's), dx (outputs paired; ReLU mask act) */
static void fc_bwd(const float (*dy)[L], int O, const float (*x)[L], int F, const float *w, float *dw, float *db,
                   float (*dx)[L], const float (*act)[L]) {
    for (int o = 0; o < O; o++) {
        db[o] += hsum(dy[o]);
        for (int f = 0; f < F; f++) {
            float acc = 0.f; /* lanes paired */
            for (int k = 0; k < L; k += 2) acc = ln_bf16_dot_ref(acc, pr(x[f][k], x[f][k + 1]), pr(dy[o][k], dy[o][k + 1]));
            dw[o * F + f] += acc;
        }
    }
    for (int l = 0; l < L; l++)
        for (int f = 0; f < F; f++) {
            float acc = 0.f;
            for (int o = 0; o < O; o += 2)
                acc = ln_bf16_dot_ref(acc, pr(dy[o][l], dy[o + 1][l]), pr(w[o * F + f], w[(o + 1) * F + f]));
            dx[f][l] = act && !(act[f][l] > 0.f) ? 0.f : acc;
        }
}

/* conv weight and bias gradients of this group: output pixels paired along x */
static void conv_dw(const float (*d)[L], int OC, int OH, const float (*in)[L], int IC, float *dw, float *db) {
    const int H = OH + K - 1;
    for (int oc = 0; oc < OC; oc++) {
        float s[L];
        for (int l = 0; l < L; l++) {
            s[l] = 0.f;
            for (int i = 0; i < OH * OH; i++) s[l] += d[oc * OH * OH + i][l];
        }
        if (db) db[oc] += hsum(s);
        for (int ic = 0; ic < IC; ic++)
            for (int ky = 0; ky < K; ky++)
                for (int kx = 0; kx < K; kx++) {
                    float acc[L];
                    for (int l = 0; l < L; l++) {
                        acc[l] = 0.f;
                        for (int oy = 0; oy < OH; oy++)
                            for (int ox = 0; ox < OH; ox += 2) {
                                const float *ir0 = in[(ic * H + oy + ky) * H + ox + kx], *ir1 = in[(ic * H + oy + ky) * H + ox + kx + 1];
                                const float *d0 = d[(oc * OH + oy) * OH + ox], *d1 = d[(oc * OH + oy) * OH + ox + 1];
                                acc[l] = ln_bf16_dot_ref(acc[l], pr(ir0[l], ir1[l]), pr(d0[l], d1[l]));
                            }
                    }
                    dw[((oc * IC + ic) * K + ky) * K + kx] += hsum(acc);
                }
    }
}

/* conv2's input gradient: output channels paired; per (oy, ic, ky, kx) the
 * row's sums are added into din */
static void conv_bwd_in(const float (*d)[L], int OC, int OH, const float *w, int IC, float (*din)[L]) {
    const int H = OH + K - 1;
    memset(din, 0, sizeof(float) * L * (size_t)(IC * H * H));
    for (int l = 0; l < L; l++)
        for (int oy = 0; oy < OH; oy++)
            for (int ic = 0; ic < IC; ic++)
                for (int ky = 0; ky < K; ky++)
                    for (int kx = 0; kx < K; kx++)
                        for (int ox = 0; ox < OH; ox++) {
                            float acc = 0.f;
                            for (int c = 0; c < OC; c += 2)
                                acc = ln_bf16_dot_ref(acc, pr(d[(c * OH + oy) * OH + ox][l], d[((c + 1) * OH + oy) * OH + ox][l]),
                                                      pr(w[((c * IC + ic) * K + ky) * K + kx], w[(((c + 1) * IC + ic) * K + ky) * K + kx]));
                            din[(ic * H + oy + ky) * H + ox + kx][l] += acc;
                        }
}

/* The reference O2 step: logits (B, 10), dl from them, grads (zeroed, then summed over groups). */
static void reference(const ln_lenet_views *p, ln_lenet_views *g, const float *x, const int32_t *y, float *logits) {
    grp *G = calloc((B + L - 1) / L, sizeof *G);
    float dl[B * 10];
    for (int gi = 0; gi * L < B; gi++) {
        grp *q = &G[gi];
        for (int l = 0; l < L && gi * L + l < B; l++)
            for (int i = 0; i < 1024; i++) q->x[i][l] = x[(gi * L + l) * 1024 + i];
        conv_fwd(q->x, 1, 32, p->conv1_w, p->conv1_b, 6, q->a1);
        pool(q->a1, 6, 28, q->p1, q->arg1);
        conv_fwd(q->p1, 6, 14, p->conv2_w, p->conv2_b, 16, q->a2);
        pool(q->a2, 16, 10, q->p2, q->arg2);
        fc_fwd(q->p2, 400, p->fc1_w, p->fc1_b, 120, q->h1, 1);
        fc_fwd(q->h1, 120, p->fc2_w, p->fc2_b, 84, q->h2, 1);
        fc_fwd(q->h2, 84, p->fc3_w, p->fc3_b, 10, q->lo, 0);
        for (int l = 0; l < L && gi * L + l < B; l++)
            for (int o = 0; o < 10; o++) logits[(gi * L + l) * 10 + o] = q->lo[o][l];
    }
    ln_softmax_xent(logits, y, B, 10, dl, NULL);
    for (int gi = 0; gi * L < B; gi++) {
        grp *q = &G[gi];
        for (int l = 0; l < L && gi * L + l < B; l++)
            for (int o = 0; o < 10; o++) q->dlo[o][l] = dl[(gi * L + l) * 10 + o];
        fc_bwd(q->dlo, 10, q->h2, 84, p->fc3_w, g->fc3_w, g->fc3_b, q->dh2, q->h2);
        fc_bwd(q->dh2, 84, q->h1, 120, p->fc2_w, g->fc2_w, g->fc2_b, q->dh1, q->h1);
        fc_bwd(q->dh1, 120, q->p2, 400, p->fc1_w, g->fc1_w, g->fc1_b, q->dp2, NULL);
        pool_bwd(q->dp2, q->arg2, q->p2, 16, 10, q->da2);
        conv_dw(q->da2, 16, 10, q->p1, 6, g->conv2_w, g->conv2_b);
        conv_bwd_in(q->da2, 16, 10, p->conv2_w, 6, q->dp1);
        pool_bwd(q->dp1, q->arg1, q->p1, 6, 28, q->da1);
        conv_dw(q->da1, 6, 28, q->x, 1, g->conv1_w, g->conv1_b);
    }
    free(G);
}


int main(void) {
    test_ctx t = {"test_bf16_ref", 0, 0};
    static const char *const names[] = {"avx512bf16", "avx512-emulated", "avx2", "generic"};
    uint64_t s = 5;
    float *x = malloc(sizeof(float) * B * 1024), logits[B * 10];
    int32_t y[B];
    for (int i = 0; i < B * 1024; i++) x[i] = (float)(test_rnd(&s) % 256) / 255.f * 3.2f - 0.42f;
    for (int i = 0; i < B; i++) y[i] = (int32_t)(test_rnd(&s) % 10);
    for (int cb = 0; cb <= 1; cb++) {
        ln_lenet ref;
        ln_error err;
        if (ln_lenet_init(&ref, cb, B, 1, "gemm:generic", &err)) {
            CHECK(&t, 0, "init");
            return test_finish(&t);
        }
        ln_lenet_init_weights(&ref, 3);
        for (size_t i = 0; i < ref.n_params; i++) /* nonzero biases, some denormal or tiny weights */
            if (ref.params[i] == 0.f) ref.params[i] = (float)((int)(test_rnd(&s) % 2001) - 1000) * 5e-5f;
            else if (test_rnd(&s) % 97 == 0) ref.params[i] *= (test_rnd(&s) % 2) ? 0x1p-120f : 0x1p-135f;
        ln_lenet_zero_grad(&ref);
        reference(&ref.p, &ref.g, x, y, logits);
        int ran = 0;
        for (int v = 0; v < 4; v++) {
            for (int threads = 1; threads <= 2; threads++) {
                ln_lenet net;
                if (ln_lenet_init(&net, cb, B, threads, NULL, &err)) break;
                if (ln_lenet_set_amp(&net, LN_AMP_O2, names[v], &err)) {
                    ln_lenet_free(&net);
                    printf("  note: bf16 kernels %s not supported by this CPU: skipped\n", names[v]);
                    break;
                }
                memcpy(net.params, ref.params, ref.n_params * sizeof(float));
                ln_lenet_forward(&net, x, B);
                float dl[B * 10];
                ln_softmax_xent(ln_lenet_logits(&net), y, B, 10, dl, NULL);
                ln_lenet_zero_grad(&net);
                ln_lenet_backward(&net, dl, B);
                size_t bad = 0, first = 0;
                for (size_t i = 0; i < net.n_params; i++)
                    if (memcmp(&net.grads[i], &ref.grads[i], 4) && !bad++) first = i;
                char what[200];
                snprintf(what, sizeof what, "conv_bias %d, %s, %d thread(s): logits = reference bit for bit", cb,
                         names[v], threads);
                CHECK(&t, !memcmp(ln_lenet_logits(&net), logits, sizeof logits), what);
                snprintf(what, sizeof what, "conv_bias %d, %s, %d thread(s): %zu gradients differ from the reference "
                         "(first %zu: %a, want %a)", cb, names[v], threads, bad, first, net.grads[first], ref.grads[first]);
                CHECK(&t, !bad, what);
                ran++;
                ln_lenet_free(&net);
            }
        }
        CHECK(&t, ran >= 2, "at least the generic variant ran");
        ln_lenet_free(&ref);
    }
    free(x);
    return test_finish(&t);
}
