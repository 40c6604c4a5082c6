/* load_internal.h - library-internal part of load.c: evaluation over
 * caller-owned batch buffers (the Model evaluates with its own). */
#ifndef LENET_LOAD_INTERNAL_H
#define LENET_LOAD_INTERNAL_H

#include "lenet/load.h"

/* ln_lenet_eval with buffers for max_batch rows: x (B,1,32,32), y (B), loss (B). */
void ln_lenet_eval_into(ln_lenet *net, const ln_dataset *ds, long limit, ln_metrics *out, float *x, int32_t *y,
                        double *loss);
/* The same over rows [first, last) of `ds` only. */
void ln_lenet_eval_range(ln_lenet *net, const ln_dataset *ds, long first, long last, ln_metrics *out, float *x,
                         int32_t *y, double *loss);

#endif
