/* test_single.c - the one-image snapshot (single.h): bit-identical logits
 * to ln_lenet_forward, in a batch on 2 threads and alone, for every instruction set the
 * CPU has and both conv-bias variants; probabilities identical to
 * ln_lenet_predict's; a snapshot that later weight changes do not reach;
 * clear refusals for the engines it does not cover. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lenet/gemm.h"
#include "lenet/load.h"
#include "lenet/net.h"
#include "lenet/single.h"

#define NB 37 /* two groups of 16 and a part of one */

static float frand(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffff) / 65536.0f * 2.0f - 1.0f;
}

/* Every image's snapshot logits against the batch of NB and against a
 * forward pass of that image alone (bits); the number of mismatches. */
static int mismatches(ln_lenet *batch, ln_lenet *alone, ln_single *one, const float *x) {
    ln_lenet_forward(batch, x, NB);
    int bad = 0;
    for (int i = 0; i < NB; i++) {
        float z[10];
        ln_single_logits(one, x + (size_t)i * 1024, z);
        ln_lenet_forward(alone, x + (size_t)i * 1024, 1);
        bad += memcmp(z, ln_lenet_logits(batch) + (size_t)i * 10, sizeof z) != 0 ||
               memcmp(z, ln_lenet_logits(alone), sizeof z) != 0;
    }
    return bad;
}

int main(void) {
    test_ctx t = {"test_single", 0, 0};
    unsigned s = 2024;
    float *x = malloc(sizeof(float) * NB * 1024);
    for (int i = 0; i < NB * 1024; i++) x[i] = frand(&s) * 2.5f;
    for (int i = 0; i < 1024; i++) x[i] = 0.f;                     /* a blank image */
    for (int i = 1024; i < 2048; i++) x[i] = (i % 3) ? 2.8f : -0.4f; /* saturated strokes */
    static const char *const isas[3] = {"generic", "avx2", "avx512"};
    char what[200];
    for (int v = 0; v < 3; v++) {
        ln_gemm_kernels k;
        if (ln_gemm_select(&k, isas[v])) {
            printf("  note: %s not supported here: skipped\n", isas[v]);
            continue;
        }
        for (int cb = 0; cb <= 1; cb++) {
            ln_lenet batch, alone;
            ln_error err;
            ln_single *one = NULL;
            if (ln_lenet_init(&batch, cb, NB, 2, isas[v], &err) || ln_lenet_init(&alone, cb, 1, 1, isas[v], &err)) {
                CHECK(&t, 0, "init");
                return test_finish(&t);
            }
            ln_lenet_init_weights(&batch, 7 + (uint32_t)cb);
            for (size_t i = 0; i < batch.n_params; i++) /* nonzero biases too */
                if (batch.params[i] == 0.f) batch.params[i] = 0.05f * frand(&s);
            memcpy(alone.params, batch.params, batch.n_params * sizeof(float));
            const int made = !ln_single_new(&batch, &one, &err);
            snprintf(what, sizeof what, "[%s conv_bias=%d] a snapshot is made, with the network's kernels", isas[v], cb);
            CHECK(&t, made && !strcmp(ln_single_kernels(one), ln_lenet_kernels(&batch)), what);
            if (!made) continue;
            snprintf(what, sizeof what,
                     "[%s conv_bias=%d] all %d images' logits bit-identical to ln_lenet_forward in a batch on 2 threads and "
                     "alone",
                     isas[v], cb, NB);
            CHECK(&t, mismatches(&batch, &alone, one, x) == 0, what);

            /* probabilities: the same bits as ln_lenet_predict */
            float pb[NB * 10], p1[10];
            ln_lenet_predict(&batch, x, NB, pb);
            int same = 1;
            for (int i = 0; i < NB; i++) {
                ln_single_probs(one, x + (size_t)i * 1024, p1);
                same &= !memcmp(p1, pb + (size_t)i * 10, sizeof p1);
            }
            snprintf(what, sizeof what, "[%s conv_bias=%d] ln_single_probs = ln_lenet_predict, bit for bit", isas[v], cb);
            CHECK(&t, same, what);

            /* a snapshot: changing the network's weights afterwards does not reach it */
            float before[10], after[10];
            ln_single_logits(one, x + 5 * 1024, before);
            for (size_t i = 0; i < batch.n_params; i++) batch.params[i] *= 1.5f;
            ln_single_logits(one, x + 5 * 1024, after);
            ln_lenet_forward(&batch, x + 5 * 1024, 1);
            snprintf(what, sizeof what, "[%s conv_bias=%d] later weight changes do not reach a snapshot", isas[v], cb);
            CHECK(&t, !memcmp(before, after, sizeof after) && memcmp(after, ln_lenet_logits(&batch), sizeof after), what);
            ln_single *fresh = NULL;
            memcpy(alone.params, batch.params, batch.n_params * sizeof(float));
            snprintf(what, sizeof what, "[%s conv_bias=%d] a new snapshot of the changed weights matches again", isas[v], cb);
            CHECK(&t, !ln_single_new(&batch, &fresh, &err) && mismatches(&batch, &alone, fresh, x) == 0, what);
            ln_single_free(fresh);
            ln_single_free(one);
            ln_lenet_free(&batch);
            ln_lenet_free(&alone);
        }
    }

    /* The engines it does not cover are refused with a usage error that says why. */
    {
        ln_lenet net;
        ln_error err;
        ln_single *one = NULL;
        int ok = !ln_lenet_init(&net, 1, 4, 1, "gemm:generic", &err);
        ln_status st = ok ? ln_single_new(&net, &one, &err) : LN_OK;
        CHECK(&t, ok && st == LN_E_USAGE && !one && strstr(err.msg, "lanes engine"),
              "the reference GEMM engine: LN_E_USAGE naming the lanes engine");
        if (ok) ln_lenet_free(&net);
        ok = !ln_lenet_init(&net, 1, 4, 1, NULL, &err) && !ln_lenet_set_amp(&net, LN_AMP_O2, NULL, &err);
        st = ok ? ln_single_new(&net, &one, &err) : LN_OK;
        CHECK(&t, ok && st == LN_E_USAGE && !one && strstr(err.msg, "O0"), "amp level O2: LN_E_USAGE naming O0");
        if (ok) ln_lenet_free(&net);
        ln_single_free(NULL); /* like free(NULL) */
    }
    free(x);
    return test_finish(&t);
}
