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

/* The same in pieces, for callers that share the rows between threads: rows
 * [first, first+count) of a batch of B (per_sample (B) required; dlogits
 * may be NULL), then the mean of all B per-sample losses. Together: the
 * same bits as ln_softmax_xent. */
void ln_softmax_xent_rows(const float *logits, const int32_t *labels, int first, int count, int B, int C,
                          float *dlogits, double *per_sample);
double ln_softmax_xent_mean(const double *per_sample, int B);

/* Softmax of one row of C >= 1 logits (max subtracted, exp and sum in
 * double), rounded to float: what prediction reports. */
void ln_softmax_probs(const float *z, int C, float *probs);

#endif
