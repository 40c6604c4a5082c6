/* single.c - the one-image snapshot (include/lenet/single.h): the weights
 * packed as lanes.h lays them out (LN_SINGLE_*), run by the lanes kernels'
 * ln_lanes_single of the network's instruction set. */
#include "lenet/single.h"

#include <stdlib.h>
#include <string.h>

#include "fpflush.h"
#include "lanes.h"
#include "lenet/loss.h"

struct ln_single {
    void (*run)(const float *pk, const float *x, float *s, float *logits);
    const char *kernels;
    float *pk;      /* LN_SINGLE_FLOATS */
    float *scratch; /* LN_SINGLE_SCRATCH */
};

/* (O, F) -> (F, NV * 16): column o of row f is w[o][f]; outputs past O stay 0. */
static void transpose_fc(const float *w, const float *b, int O, int F, int NV, float *wt, float *bt) {
    for (int o = 0; o < O; o++) {
        for (int f = 0; f < F; f++) wt[(size_t)f * NV * LN_LANES + o] = w[(size_t)o * F + f];
        bt[o] = b[o];
    }
}

static void pack(const ln_lenet_views *p, float *pk) {
    enum { KK = LN_KERNEL * LN_KERNEL };
    memcpy(pk + LN_SINGLE_C1W, p->conv1_w, sizeof(float) * LN_CONV1_C * LN_IN_C * KK);
    if (p->conv1_b) memcpy(pk + LN_SINGLE_C1B, p->conv1_b, sizeof(float) * LN_CONV1_C);
    /* conv2 (oc, ic, ky, kx) -> (ic, ky, kx, oc) */
    for (int oc = 0; oc < LN_CONV2_C; oc++)
        for (int t = 0; t < LN_CONV1_C * KK; t++) pk[LN_SINGLE_C2W + t * LN_LANES + oc] = p->conv2_w[oc * LN_CONV1_C * KK + t];
    if (p->conv2_b) memcpy(pk + LN_SINGLE_C2B, p->conv2_b, sizeof(float) * LN_CONV2_C);
    transpose_fc(p->fc1_w, p->fc1_b, LN_FC1_N, LN_FLAT, LN_SINGLE_F1V, pk + LN_SINGLE_F1W, pk + LN_SINGLE_F1B);
    transpose_fc(p->fc2_w, p->fc2_b, LN_FC2_N, LN_FC1_N, LN_SINGLE_F2V, pk + LN_SINGLE_F2W, pk + LN_SINGLE_F2B);
    transpose_fc(p->fc3_w, p->fc3_b, LN_CLASSES, LN_FC2_N, LN_SINGLE_F3V, pk + LN_SINGLE_F3W, pk + LN_SINGLE_F3B);
}

ln_status ln_single_new(const ln_lenet *net, ln_single **out, ln_error *err) {
    *out = NULL;
    if (net->engine != LN_ENGINE_LANES || net->amp != LN_AMP_O0)
        return ln_fail(err, LN_E_USAGE, "a one-image snapshot needs the lanes engine at amp level O0 (kernels %s%s)",
                       net->engine == LN_ENGINE_LANES ? "" : "gemm:", ln_lenet_kernels(net));
    ln_single *one = calloc(1, sizeof *one);
    if (!one) return ln_fail(err, LN_E_NOMEM, "out of memory for a one-image snapshot");
    one->kernels = ln_lenet_kernels(net);
    if (!strcmp(one->kernels, "avx512")) one->run = ln_lanes_single_avx512;
    else if (!strcmp(one->kernels, "avx2")) one->run = ln_lanes_single_avx2;
    else one->run = ln_lanes_single_generic, one->kernels = "generic";
    /* zeroed: the padding of the fc layers' outputs (and absent conv biases) */
    one->pk = aligned_alloc(64, sizeof(float) * LN_SINGLE_FLOATS);
    one->scratch = aligned_alloc(64, sizeof(float) * LN_LANES_PAD(LN_SINGLE_SCRATCH));
    if (!one->pk || !one->scratch) {
        ln_single_free(one);
        return ln_fail(err, LN_E_NOMEM, "out of memory for a one-image snapshot");
    }
    memset(one->pk, 0, sizeof(float) * LN_SINGLE_FLOATS);
    memset(one->scratch, 0, sizeof(float) * LN_LANES_PAD(LN_SINGLE_SCRATCH));
    pack(&net->p, one->pk);
    *out = one;
    return LN_OK;
}

void ln_single_logits(ln_single *one, const float *x, float *logits) {
    const unsigned fp = ln_fpflush_enter(); /* as ln_lenet_forward computes (fpflush.h) */
    one->run(one->pk, x, one->scratch, logits);
    ln_fpflush_leave(fp);
}

void ln_single_probs(ln_single *one, const float *x, float *probs) {
    float z[LN_CLASSES];
    ln_single_logits(one, x, z);
    ln_softmax_probs(z, LN_CLASSES, probs);
}

const char *ln_single_kernels(const ln_single *one) { return one->kernels; }

void ln_single_free(ln_single *one) {
    if (!one) return;
    free(one->pk);
    free(one->scratch);
    free(one);
}
