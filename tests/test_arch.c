/* test_arch.c - the layer table (arch.h) and what is derived from it: shapes
 * chain from the input to the logits, the parameter table of both variants,
 * FLOP counts, the network's views and profile rows. */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "lenet/arch.h"
#include "lenet/net.h"

int main(void) {
    test_ctx t = {"arch", 0, 0};
    const ln_layer *L = ln_arch_layers();

    /* Shapes chain: walk (C, H, W) from the input through every layer. */
    int c = LN_IN_C, h = LN_IN_SIDE, w = LN_IN_SIDE, flat = 0, chain = 1;
    for (int i = 0; i < LN_ARCH_LAYERS; i++) {
        const ln_layer *l = &L[i];
        chain &= l->in_c == (flat ? flat : c);
        switch (l->kind) {
        case LN_LAYER_CONV: c = l->out_c, h = h - l->kernel + 1, w = w - l->kernel + 1; break;
        case LN_LAYER_MAXPOOL: chain &= l->out_c == c, h /= l->kernel, w /= l->kernel; break;
        case LN_LAYER_RELU: chain &= l->out_c == l->in_c; break;
        case LN_LAYER_FLATTEN: flat = c * h * w, chain &= l->out_c == flat; break;
        case LN_LAYER_DENSE: flat = l->out_c; break;
        }
        if (flat) chain &= l->ndim == 1 && l->out[0] == flat;
        else chain &= l->ndim == 3 && l->out[0] == c && l->out[1] == h && l->out[2] == w;
    }
    CHECK(&t, chain, "every layer's input is the previous layer's output");
    CHECK(&t, flat == LN_CLASSES, "the last layer gives the class logits");
    CHECK(&t, L[6].out[0] == LN_FLAT && L[6].out[0] == 400, "flatten: 400 features");

    /* The parameter tables: names, order, offsets, totals. */
    static const char *const names[] = {"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight",
                                        "fc1.bias",     "fc2.weight", "fc2.bias",     "fc3.weight", "fc3.bias"};
    for (int cb = 0; cb < 2; cb++) {
        ln_tensor_info info[LN_MAX_TENSORS];
        size_t np = 0, sum = 0, layer_sum = 0;
        const int n = ln_arch_tensors(cb, info, &np);
        int ok = n == (cb ? 10 : 8) && np == (cb ? 61706u : 61684u);
        for (int i = 0, k = 0; ok && i < n; i++, k++) {
            if (!cb && (k == 1 || k == 3)) k++; /* no conv biases */
            ok &= !strcmp(info[i].name, names[k]) && info[i].offset == sum;
            sum += info[i].size;
        }
        for (int i = 0; i < LN_ARCH_LAYERS; i++) layer_sum += ln_arch_layer_params(&L[i], cb);
        char what[96];
        snprintf(what, sizeof what, "conv_bias %d: tensors in checkpoint order, contiguous, %zu parameters", cb, np);
        CHECK(&t, ok && sum == np && layer_sum == np, what);
        if (cb) {
            CHECK(&t, info[2].ndim == 4 && info[2].shape[0] == 16 && info[2].shape[1] == 6 && info[2].shape[2] == 5 &&
                          info[2].shape[3] == 5,
                  "conv2.weight is (16, 6, 5, 5)");
            CHECK(&t, info[4].ndim == 2 && info[4].shape[0] == 120 && info[4].shape[1] == 400,
                  "fc1.weight is (120, 400)");
        }
    }

    /* FLOPs per sample: 2 x multiply-adds. */
    CHECK(&t, ln_arch_layer_flops(&L[0]) == 2.0 * 6 * 28 * 28 * 25 && ln_arch_layer_flops(&L[3]) == 2.0 * 16 * 100 * 150 &&
                  ln_arch_layer_flops(&L[7]) == 2.0 * 400 * 120 && ln_arch_layer_flops(&L[11]) == 2.0 * 84 * 10 &&
                  ln_arch_layer_flops(&L[2]) == 0,
          "FLOP counts of conv1, conv2, fc1, fc3, pool1");

    /* The network: views point at the named tensors; profile rows are the
     * table's working layers. */
    for (int cb = 0; cb < 2; cb++) {
        ln_lenet net;
        ln_error err;
        if (ln_lenet_init(&net, cb, 1, 1, NULL, &err)) {
            CHECK(&t, 0, "network init");
            continue;
        }
        float *const got[] = {net.p.conv1_w, net.p.conv1_b, net.p.conv2_w, net.p.conv2_b, net.p.fc1_w,
                              net.p.fc1_b,   net.p.fc2_w,   net.p.fc2_b,   net.p.fc3_w,   net.p.fc3_b};
        int ok = 1;
        for (int k = 0; k < LN_MAX_TENSORS; k++) {
            const int i = ln_lenet_find(&net, names[k]);
            ok &= i < 0 ? got[k] == NULL : got[k] == net.params + net.info[i].offset;
        }
        CHECK(&t, ok, cb ? "views (conv bias on) point at their tensors" : "views (conv bias off): conv biases NULL");
        ln_lenet_profile pr;
        ln_lenet_get_profile(&net, &pr);
        static const char *const prof[LN_PROF_LAYERS] = {"conv1", "pool1", "conv2", "pool2", "fc1", "fc2", "fc3"};
        ok = 1;
        for (int l = 0; l < LN_PROF_LAYERS; l++) ok &= pr.name[l] && !strcmp(pr.name[l], prof[l]);
        ok &= pr.fwd_flops[0] == 235200 && pr.bwd_flops[0] == 235200 && pr.bwd_flops[2] == 960000 &&
              pr.fwd_flops[1] == 0 && pr.fwd_flops[6] == 1680;
        CHECK(&t, ok, "profile rows: the table's layers with work, their FLOPs");
        ln_lenet_free(&net);
    }
    return test_finish(&t);
}
