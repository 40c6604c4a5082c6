/* single.h - one image at a time, fast: a snapshot of a network's float32
 * weights, packed once for the one-image forward pass.
 *
 *   ln_single *one;
 *   if (ln_single_new(&net, &one, &err)) ...;
 *   ln_single_probs(one, x, probs);   // x (1, 32, 32) prepared -> (10)
 *   ln_single_free(one);
 *
 * ln_lenet_forward of one image has to read the weights as training keeps
 * them, which for the dense layers means transposing them on every call
 * (48,000 of fc1's); the snapshot stores them transposed once, and conv2's
 * with its output channels in the vector lanes. The numbers are the same:
 * the logits are bit-identical to ln_lenet_forward of that image (any batch
 * size, any thread count) with the network's kernels.
 *
 * The weights are copied when the snapshot is made: later changes to
 * net->params (training, loading) do not reach it; make a new one. A
 * snapshot keeps its own scratch, so one thread at a time may run it;
 * threads that each have their own snapshot run in parallel. */
#ifndef LENET_SINGLE_H
#define LENET_SINGLE_H

#include "lenet/error.h"
#include "lenet/net.h"

typedef struct ln_single ln_single;

/* A snapshot of net's weights, with net's kernels (net: the lanes engine,
 * the default, at amp level O0; otherwise LN_E_USAGE; LN_E_NOMEM if its
 * 270 KB cannot be had). *out is NULL on failure. */
ln_status ln_single_new(const ln_lenet *net, ln_single **out, ln_error *err);

/* Logits (LN_CLASSES) of one prepared image (LN_IN_SIZE floats). */
void ln_single_logits(ln_single *one, const float *x, float *logits);

/* Softmax probabilities (LN_CLASSES) of one prepared image: the same values
 * as ln_lenet_predict's for it. */
void ln_single_probs(ln_single *one, const float *x, float *probs);

/* The instruction set its kernels use: "avx512", "avx2" or "generic". */
const char *ln_single_kernels(const ln_single *one);

void ln_single_free(ln_single *one);

#endif
