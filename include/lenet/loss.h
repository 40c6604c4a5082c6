/* loss.h - SoftmaxCrossEntropyWithLogits(sparse=True, reduction='mean').
 *
 * loss = -(1/B) sum_i log softmax(x_i)[y_i], computed stably (max
 * subtracted, log-sum-exp in double); gradient (softmax - onehot) / B.
 */
#ifndef LENET_LOSS_H
#define LENET_LOSS_H

#include <stdint.h>

/* logits (B, C); labels in [0, C). dlogits (B, C) may be NULL. Returns the
 * mean loss; per-sample losses go to `per_sample` (B) if not NULL. */
double ln_softmax_xent(const float *logits, const int32_t *labels, int B, int C, float *dlogits,
                       double *per_sample);

#endif
