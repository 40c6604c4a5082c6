/* metrics.h - Accuracy (argmax, first maximum wins on ties) and the
 * confusion matrix, accumulated over batches. */
#ifndef LENET_METRICS_H
#define LENET_METRICS_H

#include <stdint.h>

#include "lenet/net.h"

typedef struct {
    long correct, total;
    double loss_sum; /* sum of per-sample losses */
    long confusion[LN_CLASSES][LN_CLASSES]; /* [true][predicted] */
} ln_metrics;

void ln_metrics_reset(ln_metrics *m);
/* Index of the first maximum of x[0..n). */
int ln_argmax(const float *x, int n);
/* Add a batch: logits (B, 10), labels (B), optional per-sample losses. */
void ln_metrics_update(ln_metrics *m, const float *logits, const int32_t *labels, int B,
                       const double *losses);
double ln_metrics_accuracy(const ln_metrics *m);
double ln_metrics_loss(const ln_metrics *m);

#endif
