/* load.h - a trained LeNet-5 from a checkpoint, ready for forward passes
 * (no optimizer, no training state), and the one check of a checkpoint's
 * tensors against the network that every loader uses.
 *
 *   ln_lenet net;
 *   if (ln_lenet_load(&net, "checkpoint_lenet-1_1875.ckpt", NULL, &err)) ...;
 *   ln_lenet_predict(&net, images, B, probs);   // (B,1,32,32) -> (B,10)
 *   ln_lenet_free(&net);
 *
 * Loading reads the file once (ckpt.h: framing, dtypes, content lengths),
 * takes the variant from it (conv1.bias and conv2.bias both present: conv
 * bias on; both absent: off; one alone: LN_E_INPUT), checks every network
 * tensor (name, shape, Float32) and only then builds the network and copies
 * the weights. Extra entries (optimizer state, training position) are
 * ignored. Every mismatch is LN_E_INPUT, one line naming the file and the
 * tensor:
 *   PATH: no tensor NAME (SHAPE) in the checkpoint; HINT
 *   PATH: tensor NAME has shape (GOT), LeNet-5 needs (SHAPE)
 *   PATH: tensor NAME has dtype D, LeNet-5 needs Float32
 */
#ifndef LENET_LOAD_H
#define LENET_LOAD_H

#include "lenet/ckpt.h"
#include "lenet/error.h"
#include "lenet/idx.h"
#include "lenet/metrics.h"
#include "lenet/net.h"

typedef struct {
    int conv_bias;       /* -1: from the checkpoint; 0 / 1: required (a mismatch is LN_E_INPUT) */
    int max_batch;       /* rows per forward pass; 0: 256 */
    int threads;         /* 0: 1 */
    const char *kernels; /* NULL: auto (see ln_lenet_init) */
} ln_load_opts;

/* Read `path` and return a ready network in *net (free with ln_lenet_free).
 * opts may be NULL (all defaults). On failure *net holds nothing to free. */
ln_status ln_lenet_load(ln_lenet *net, const char *path, const ln_load_opts *opts, ln_error *err);

/* The same from a checkpoint already read (`path` only names it in messages). */
ln_status ln_lenet_load_ckpt(ln_lenet *net, const ln_ckpt *c, const char *path, const ln_load_opts *opts,
                             ln_error *err);

/* Softmax probabilities (B, 10) of B prepared images (B, 1, 32, 32),
 * normalised as the pipeline does; any B >= 0 (run max_batch rows at a time). */
void ln_lenet_predict(ln_lenet *net, const float *x, int B, float *probs);

/* Accuracy, loss and confusion matrix over every row of `ds` (limit > 0: the
 * first `limit`), in file order, max_batch rows per forward pass. */
ln_status ln_lenet_eval(ln_lenet *net, const ln_dataset *ds, long limit, ln_metrics *out, ln_error *err);

/* The same reading the images from st as it goes (ds from ln_dataset_open:
 * the labels and the images' shape), max_batch images in memory at a time,
 * the rest of the file then read to check it (ln_idx_stream_finish): the
 * same results as ln_lenet_eval of the whole file. LN_E_INPUT for a file
 * that turns out truncated or corrupt on the way. */
ln_status ln_lenet_eval_stream(ln_lenet *net, ln_idx_stream *st, const ln_dataset *ds, long limit, ln_metrics *out,
                               ln_error *err);

/* ---- the checkpoint check (also used by ln_model_load_* and export.h) ---- */

/* The variant the checkpoint holds: *conv_bias = 1 with both conv biases,
 * 0 with neither; LN_E_INPUT naming the missing one if only one is there. */
ln_status ln_ckpt_conv_bias(const ln_ckpt *c, const char *path, int *conv_bias, ln_error *err);

/* Every tensor of the table (n entries; names prefixed with `prefix`, e.g.
 * "" or "moments.") present as Float32 with exactly its shape. `hint` ends
 * the message for a missing tensor (NULL: a generic one). */
ln_status ln_ckpt_check_tensors(const ln_ckpt *c, const char *path, const ln_tensor_info *info, int n,
                                const char *prefix, const char *hint, ln_error *err);

/* The network's own tensors: the variant is consistent (ln_ckpt_conv_bias),
 * is the network's, and ln_ckpt_check_tensors passes. */
ln_status ln_ckpt_check_net(const ln_ckpt *c, const char *path, const ln_lenet *net, ln_error *err);

/* Copy the table's tensors (names prefixed with `prefix`) from a checked
 * checkpoint into the parameter-shaped buffer dst. */
void ln_ckpt_copy_tensors(const ln_ckpt *c, const ln_tensor_info *info, int n, const char *prefix, float *dst);

#endif
