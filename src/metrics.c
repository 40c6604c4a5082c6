/* metrics.c - accuracy and confusion matrix (see include/lenet/metrics.h). */
#include "lenet/metrics.h"

#include <string.h>

void ln_metrics_reset(ln_metrics *m) { memset(m, 0, sizeof *m); }

int ln_argmax(const float *x, int n) {
    int k = 0;
    for (int j = 1; j < n; j++)
        if (x[j] > x[k]) k = j;
    return k;
}

void ln_metrics_update(ln_metrics *m, const float *logits, const int32_t *labels, int B,
                       const double *losses) {
    for (int i = 0; i < B; i++) {
        int p = ln_argmax(logits + (long)i * LN_CLASSES, LN_CLASSES);
        m->correct += p == labels[i];
        m->confusion[labels[i]][p]++;
        if (losses) m->loss_sum += losses[i];
    }
    m->total += B;
}

double ln_metrics_accuracy(const ln_metrics *m) { return m->total ? (double)m->correct / m->total : 0.0; }
double ln_metrics_loss(const ln_metrics *m) { return m->total ? m->loss_sum / m->total : 0.0; }
