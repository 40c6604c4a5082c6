/* optim.c - Momentum optimizer (see include/lenet/optim.h). */
#include "lenet/optim.h"

#include <math.h>
#include <stdlib.h>

ln_status ln_momentum_init(ln_momentum *o, size_t n, float lr, float momentum, float weight_decay,
                           float loss_scale, int nesterov, ln_error *err) {
    if (!(lr >= 0.f) || !isfinite(lr)) return ln_fail(err, LN_E_USAGE, "--lr must be a finite number >= 0");
    if (!(momentum >= 0.f) || !isfinite(momentum))
        return ln_fail(err, LN_E_USAGE, "--momentum must be a finite number >= 0");
    if (!(weight_decay >= 0.f) || !isfinite(weight_decay))
        return ln_fail(err, LN_E_USAGE, "--weight-decay must be a finite number >= 0");
    if (!(loss_scale > 0.f) || !isfinite(loss_scale))
        return ln_fail(err, LN_E_USAGE, "--loss-scale must be a finite number > 0");
    o->lr = lr, o->momentum = momentum, o->weight_decay = weight_decay, o->loss_scale = loss_scale;
    o->nesterov = nesterov;
    o->n = n;
    o->moments = calloc(n ? n : 1, sizeof(float));
    if (!o->moments) return ln_fail(err, LN_E_NOMEM, "out of memory for optimizer state");
    return LN_OK;
}

void ln_momentum_free(ln_momentum *o) {
    free(o->moments);
    o->moments = NULL;
}

void ln_momentum_step(ln_momentum *o, float *w, float *g) {
    const float lr = o->lr, mu = o->momentum;
    const float wd = o->weight_decay * o->loss_scale;
    const float inv_ls = 1.0f / o->loss_scale;
    float *v = o->moments;
    for (size_t i = 0; i < o->n; i++) {
        float gi = g[i];
        if (wd > 0.f) gi += wd * w[i];
        if (o->loss_scale != 1.0f) gi *= inv_ls;
        v[i] = mu * v[i] + gi;
        w[i] -= o->nesterov ? lr * (gi + mu * v[i]) : lr * v[i];
    }
}
