/* net.h - LeNet-5: parameters in one buffer with named views, activations
 * allocated once for up to `max_batch` rows, forward and backward.
 *
 * The layers, their shapes and the parameter order (= checkpoint order) are
 * arch.h's table; `info` is ln_arch_tensors of the variant (conv biases only
 * with conv_bias = 1). `grads` is laid out exactly like `params`.
 */
#ifndef LENET_NET_H
#define LENET_NET_H

#include <stddef.h>
#include <stdint.h>

#include "lenet/arch.h"
#include "lenet/error.h"

/* Named views into a parameter-shaped buffer, one per tensor in the layer
 * table's order (weight, then bias, per layer); absent tensors are NULL. */
typedef struct {
    float *conv1_w, *conv1_b; /* conv1.weight, conv1.bias (or NULL) */
    float *conv2_w, *conv2_b; /* conv2.weight, conv2.bias (or NULL) */
    float *fc1_w, *fc1_b;
    float *fc2_w, *fc2_b;
    float *fc3_w, *fc3_b;
} ln_lenet_views;

/* Compute engines. Both give the same results to float rounding; each is
 * bit-reproducible for any thread count.
 * - LN_ENGINE_LANES (default): batch in the vector lanes, groups of 16
 *   samples, one thread per group (src/lanes.h). Fast.
 * - LN_ENGINE_GEMM: the reference - channel-major activations, im2col and a
 *   GEMM per layer (layers.h). */
typedef enum { LN_ENGINE_LANES = 0, LN_ENGINE_GEMM = 1 } ln_engine;

typedef struct {
    int conv_bias;
    ln_engine engine;
    int n_tensors;
    ln_tensor_info info[LN_MAX_TENSORS];
    size_t n_params;
    float *params, *grads;
    ln_lenet_views p, g;
    int max_batch;
    int threads;
    int amp;    /* LN_AMP_O0 or LN_AMP_O2 (ln_lenet_set_amp) */
    struct ln_lenet_engine *eng; /* kernels, activations, engine state (private: src/net_internal.h) */
} ln_lenet;

/* Set up the parameter table and allocate parameters (zeroed), gradients and
 * activations for batches up to max_batch. `kernels` picks engine and
 * instruction set: NULL or "auto" (lanes engine, best for the CPU),
 * "avx512", "avx2", "generic" (lanes engine with that instruction set), or
 * the same prefixed with "gemm:" for the reference engine ("gemm:auto"...). */
ln_status ln_lenet_init(ln_lenet *net, int conv_bias, int max_batch, int threads, const char *kernels,
                        ln_error *err);
void ln_lenet_free(ln_lenet *net);

/* Mixed precision, MindSpore's amp_level for this network. LN_AMP_O0: all
 * float32 (the default). LN_AMP_O2: the convolutions and dense layers,
 * forward and backward, multiply bf16 operands (float32 rounded to nearest
 * even) and accumulate in float32, bit-identically on every CPU (AVX512_BF16
 * where present, an exact emulation elsewhere; src/lanes_bf16.h); params,
 * gradients, bias, ReLU, pooling and the loss stay float32. Every forward
 * pass of the network uses it, evaluation included. Lanes engine only.
 * `isa` picks the bf16 variant: NULL for the one matching the engine's
 * instruction set (with AVX512_BF16 if the CPU has it), or "avx512bf16",
 * "avx512-emulated", "avx2", "generic". */
typedef enum { LN_AMP_O0 = 0, LN_AMP_O2 = 2 } ln_amp_level;
ln_status ln_lenet_set_amp(ln_lenet *net, int level, const char *isa, ln_error *err);
/* The bf16 variant in use ("avx512bf16", "avx512", ...), or NULL at O0. */
const char *ln_lenet_amp_kernels(const ln_lenet *net);

/* Initialise weights from `seed`: conv weights and biases U(+-1/sqrt(fan_in))
 * (HeUniform(sqrt 5), MindSpore >= 2.1 and PyTorch's default), fc weights
 * Normal(0, 0.02), fc biases 0. Draws come from an mt19937 seeded with a
 * SplitMix64 mix of `seed`, a stream independent of the data pipeline's
 * (which uses `seed` directly as MindSpore's dataset seed). */
void ln_lenet_init_weights(ln_lenet *net, uint32_t seed);

/* Views of any parameter-shaped buffer (params, grads, moments). */
ln_lenet_views ln_lenet_views_of(const ln_lenet *net, float *buf);

/* Index of tensor `name`, or -1. */
int ln_lenet_find(const ln_lenet *net, const char *name);

/* Forward B <= max_batch rows of x (B,1,32,32); logits in ln_lenet_logits. */
void ln_lenet_forward(ln_lenet *net, const float *x, int B);

/* Logits (B, 10) of the last forward pass, valid until the next one. */
const float *ln_lenet_logits(const ln_lenet *net);

/* Instruction set of the kernels in use: "avx512", "avx2" or "generic". */
const char *ln_lenet_kernels(const ln_lenet *net);

/* A training step of the lanes engine (ln_model_train on one process)
 * sums the groups' gradients and applies the update chunk by chunk in a
 * buffer that stays in L1, and does not write net->grads (measured: ~3%
 * of a 1-thread epoch, 1-3% of a 2-thread one). on = 1: it writes each step's summed
 * gradient there too, as the optimizer leaves it (after weight decay and
 * the loss-scale undo), for a caller that reads it. Default 0. */
void ln_lenet_keep_grads(ln_lenet *net, int on);

/* Backward from dlogits (B,10) of the last forward; adds into net->grads. */
void ln_lenet_backward(ln_lenet *net, const float *dlogits, int B);

void ln_lenet_zero_grad(ln_lenet *net);

/* Per-layer timing of the lanes engine (`lenet train --profile`). Layers:
 * conv1, pool1, conv2, pool2, fc1, fc2, fc3; forward and backward (a
 * layer's backward includes its ReLU). Times are thread-seconds: each
 * thread's time in the layer (for every group, or its part of a group the
 * threads share), summed over the threads and every step since profiling
 * was switched on. */
#define LN_PROF_LAYERS 7
#define LN_PROF_SLOTS (2 * LN_PROF_LAYERS)
typedef struct {
    const char *name[LN_PROF_LAYERS];
    double fwd_seconds[LN_PROF_LAYERS], bwd_seconds[LN_PROF_LAYERS];
    double fwd_flops[LN_PROF_LAYERS], bwd_flops[LN_PROF_LAYERS]; /* per sample */
    long samples_fwd, samples_bwd; /* samples (lanes) processed, padding included */
} ln_lenet_profile;

/* Switch per-layer timing on (clearing it) or off; lanes engine only
 * (returns -1 for the GEMM engine). Costs two clock reads per layer. */
int ln_lenet_set_profiling(ln_lenet *net, int on);
void ln_lenet_get_profile(const ln_lenet *net, ln_lenet_profile *out);

#endif
