/* loss.c - sparse softmax cross-entropy (see include/lenet/loss.h). */
#include "lenet/loss.h"

#include <math.h>

/* Row i's loss; its gradient (divided by B) to dlogits' row i if not NULL. */
static double xent_row(const float *logits, const int32_t *labels, int i, int B, int C, float *dlogits) {
    const float *x = logits + (long)i * C;
    float m = x[0];
    for (int j = 1; j < C; j++) m = x[j] > m ? x[j] : m;
    double sum = 0.0;
    for (int j = 0; j < C; j++) sum += exp((double)x[j] - m);
    const double lse = m + log(sum);
    const double li = lse - x[labels[i]];
    if (dlogits)
        for (int j = 0; j < C; j++) {
            double p = exp((double)x[j] - lse);
            dlogits[(long)i * C + j] = (float)((p - (j == labels[i])) / B);
        }
    return li;
}

double ln_softmax_xent(const float *logits, const int32_t *labels, int B, int C, float *dlogits,
                       double *per_sample) {
    double total = 0.0;
    for (int i = 0; i < B; i++) {
        const double li = xent_row(logits, labels, i, B, C, dlogits);
        total += li;
        if (per_sample) per_sample[i] = li;
    }
    return total / B;
}

void ln_softmax_xent_rows(const float *logits, const int32_t *labels, int first, int count, int B, int C,
                          float *dlogits, double *per_sample) {
    for (int i = first; i < first + count; i++) per_sample[i] = xent_row(logits, labels, i, B, C, dlogits);
}

double ln_softmax_xent_mean(const double *per_sample, int B) {
    double total = 0.0;
    for (int i = 0; i < B; i++) total += per_sample[i];
    return total / B;
}

void ln_softmax_probs(const float *z, int C, float *probs) {
    if (C < 1) return;
    double mx = z[0], sum = 0.0;
    for (int c = 1; c < C; c++)
        if (z[c] > mx) mx = z[c];
    for (int c = 0; c < C; c++) sum += exp((double)z[c] - mx);
    for (int c = 0; c < C; c++) probs[c] = (float)(exp((double)z[c] - mx) / sum); /* the same exp as summed */
}
