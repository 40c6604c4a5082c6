/* loss.c - sparse softmax cross-entropy (see include/lenet/loss.h). */
#include "lenet/loss.h"

#include <math.h>

double ln_softmax_xent(const float *logits, const int32_t *labels, int B, int C, float *dlogits,
                       double *per_sample) {
    double total = 0.0;
    for (int i = 0; i < B; i++) {
        const float *x = logits + (long)i * C;
        float m = x[0];
        for (int j = 1; j < C; j++) m = x[j] > m ? x[j] : m;
        double sum = 0.0;
        for (int j = 0; j < C; j++) sum += exp((double)x[j] - m);
        const double lse = m + log(sum);
        const double li = lse - x[labels[i]];
        total += li;
        if (per_sample) per_sample[i] = li;
        if (dlogits)
            for (int j = 0; j < C; j++) {
                double p = exp((double)x[j] - lse);
                dlogits[(long)i * C + j] = (float)((p - (j == labels[i])) / B);
            }
    }
    return total / B;
}
