/* net.h - LeNet-5: parameters in one buffer with named views, activations
 * allocated once for up to `max_batch` rows, forward and backward.
 *
 *   input (B,1,32,32) -> conv1 5x5 (6) -> ReLU -> maxpool 2 -> conv2 5x5 (16)
 *   -> ReLU -> maxpool 2 -> flatten (400, C,H,W order) -> fc1 120 -> ReLU
 *   -> fc2 84 -> ReLU -> fc3 10 (logits)
 *
 * Parameter order (= checkpoint order): conv1.weight (6,1,5,5), [conv1.bias
 * (6)], conv2.weight (16,6,5,5), [conv2.bias (16)], fc1.weight (120,400),
 * fc1.bias, fc2.weight (84,120), fc2.bias, fc3.weight (10,84), fc3.bias.
 * Conv biases exist only with conv_bias = 1 (the seed's network: 61,706
 * parameters; without: 61,684, MindSpore's default). `grads` is laid out
 * exactly like `params`.
 */
#ifndef LENET_NET_H
#define LENET_NET_H

#include <stddef.h>
#include <stdint.h>

#include "lenet/error.h"

#define LN_CLASSES 10
#define LN_MAX_TENSORS 10

typedef struct {
    const char *name;
    int ndim;
    int shape[4];
    size_t offset, size; /* in floats, within params / grads */
} ln_tensor_info;

/* Named views into a parameter-shaped buffer; absent tensors are NULL. */
typedef struct {
    float *conv1_w; /* (6, 1, 5, 5) */
    float *conv1_b; /* (6) or NULL */
    float *conv2_w; /* (16, 6, 5, 5) */
    float *conv2_b; /* (16) or NULL */
    float *fc1_w;   /* (120, 400) */
    float *fc1_b;   /* (120) */
    float *fc2_w;   /* (84, 120) */
    float *fc2_b;   /* (84) */
    float *fc3_w;   /* (10, 84) */
    float *fc3_b;   /* (10) */
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

/* Backward from dlogits (B,10) of the last forward; adds into net->grads. */
void ln_lenet_backward(ln_lenet *net, const float *dlogits, int B);

void ln_lenet_zero_grad(ln_lenet *net);

/* Per-layer timing of the lanes engine (`lenet train --profile`). Layers:
 * conv1, pool1, conv2, pool2, fc1, fc2, fc3; forward and backward (a
 * layer's backward includes its ReLU). Times are thread-seconds summed over
 * the groups of every step since profiling was switched on. */
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

/* Per-layer description for `summary`. */
typedef struct {
    const char *name;
    int ndim;
    int shape[3]; /* output shape without the batch dimension */
    size_t params;
} ln_layer_info;

/* Fill up to 16 layer rows; returns the count. */
int ln_lenet_layers(const ln_lenet *net, ln_layer_info *rows);

#endif
