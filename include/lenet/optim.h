/* optim.h - nn.Momentum over the flat parameter buffer.
 *
 * Per step and element, in MindSpore's order: g += wd*loss_scale*w (if
 * wd > 0); g *= 1/loss_scale (if loss_scale != 1); v = momentum*v + g;
 * w -= lr*v, or with Nesterov w -= lr*(g + momentum*v). v starts at 0.
 */
#ifndef LENET_OPTIM_H
#define LENET_OPTIM_H

#include <stddef.h>

#include "lenet/error.h"

typedef struct {
    float lr, momentum, weight_decay, loss_scale;
    int nesterov;
    size_t n;
    float *moments; /* (n), laid out like the parameters */
} ln_momentum;

ln_status ln_momentum_init(ln_momentum *o, size_t n, float lr, float momentum, float weight_decay,
                           float loss_scale, int nesterov, ln_error *err);
void ln_momentum_free(ln_momentum *o);
/* One update of params from grads (grads are modified: decay/unscale). */
void ln_momentum_step(ln_momentum *o, float *params, float *grads);

#endif
