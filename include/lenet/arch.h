/* arch.h - LeNet-5 described once.
 *
 * The constants below are the network's only hand-written sizes; every other
 * size is computed from them. The layer table (ln_arch_layers) lists the
 * layers in forward order, written with these constants, and is what the rest
 * of the library walks: the parameter table and its checkpoint order
 * (ln_arch_tensors), `lenet summary`, FLOP counts, the ONNX graph and the
 * order of `--order-params net`. The compute kernels are specialised to these
 * shapes for speed; they take their sizes from the same constants and check
 * their own assumptions (register blocking, padded strides) with
 * _Static_assert against them.
 *
 *   input (1, 32, 32) -> conv1 5x5 (6) -> ReLU -> maxpool 2 -> conv2 5x5 (16)
 *   -> ReLU -> maxpool 2 -> flatten (400, C,H,W order) -> fc1 120 -> ReLU
 *   -> fc2 84 -> ReLU -> fc3 10 (logits)
 *
 * Convolutions have stride 1 and no padding; pooling is max over 2x2 windows,
 * stride 2. Conv biases exist only in the conv_bias variant (the seed's
 * network, 61,706 parameters; without: MindSpore's default, 61,684); dense
 * layers always have a bias. Tensor names and their order are MindSpore's
 * checkpoint names: conv1.weight, [conv1.bias], conv2.weight, [conv2.bias],
 * fc1.weight, fc1.bias, fc2.weight, fc2.bias, fc3.weight, fc3.bias.
 */
#ifndef LENET_ARCH_H
#define LENET_ARCH_H

#include <stddef.h>

/* ---- the hand-written sizes ---- */
#define LN_IN_C 1     /* input channels (gray) */
#define LN_IN_SIDE 32 /* input height = width */
#define LN_KERNEL 5   /* convolution kernel side */
#define LN_POOL 2     /* max-pool window side = stride */
#define LN_CONV1_C 6  /* conv1 output channels */
#define LN_CONV2_C 16 /* conv2 output channels */
#define LN_FC1_N 120  /* fc1 outputs */
#define LN_FC2_N 84   /* fc2 outputs */
#define LN_CLASSES 10 /* fc3 outputs: digits */

/* ---- derived ---- */
#define LN_IN_SIZE (LN_IN_C * LN_IN_SIDE * LN_IN_SIDE)          /* floats per input image */
#define LN_CONV1_SIDE (LN_IN_SIDE - LN_KERNEL + 1)             /* conv1 output side */
#define LN_POOL1_SIDE (LN_CONV1_SIDE / LN_POOL)                /* pool1 output side */
#define LN_CONV2_SIDE (LN_POOL1_SIDE - LN_KERNEL + 1)          /* conv2 output side */
#define LN_POOL2_SIDE (LN_CONV2_SIDE / LN_POOL)                /* pool2 output side */
#define LN_CONV1_PX (LN_CONV1_SIDE * LN_CONV1_SIDE)            /* conv1 output pixels per channel */
#define LN_POOL1_PX (LN_POOL1_SIDE * LN_POOL1_SIDE)
#define LN_CONV2_PX (LN_CONV2_SIDE * LN_CONV2_SIDE)
#define LN_POOL2_PX (LN_POOL2_SIDE * LN_POOL2_SIDE)
#define LN_FLAT (LN_CONV2_C * LN_POOL2_PX)                     /* flattened features into fc1 */

#define LN_ARCH_LAYERS 12 /* rows of the layer table */
#define LN_MAX_TENSORS 10 /* parameter tensors with conv biases */

typedef enum { LN_LAYER_CONV, LN_LAYER_RELU, LN_LAYER_MAXPOOL, LN_LAYER_FLATTEN, LN_LAYER_DENSE } ln_layer_kind;

/* One layer. Shapes exclude the batch dimension: (C, H, W) with ndim 3, or
 * (features) with ndim 1. A conv weight is (out_c, in_c, kernel, kernel), a
 * dense weight (out_c, in_c) (PyTorch / MindSpore layouts). */
typedef struct {
    const char *name;     /* "conv1": summary row, ONNX node, profile row */
    ln_layer_kind kind;
    int in_c, out_c;      /* channels (conv, pool, relu) or features (dense, flatten) */
    int kernel;           /* conv kernel side or pool window; 0 otherwise */
    int ndim;             /* of the output */
    int out[3];           /* output shape */
    const char *weight;   /* parameter tensor names; NULL: none */
    const char *bias;
    int bias_optional;    /* the bias exists only with conv_bias on */
} ln_layer;

/* A parameter tensor: name, shape, and where it sits in the parameter buffer. */
typedef struct {
    const char *name;
    int ndim;
    int shape[4];
    size_t offset, size; /* in floats, within params / grads */
} ln_tensor_info;

/* The layer table, LN_ARCH_LAYERS rows in forward order. */
const ln_layer *ln_arch_layers(void);

/* The parameter tensors of the variant, in checkpoint order, into
 * out[LN_MAX_TENSORS]: names, shapes, offsets in one buffer. Returns the
 * count; *n_params (if not NULL) gets the total in floats. */
int ln_arch_tensors(int conv_bias, ln_tensor_info *out, size_t *n_params);

/* Parameters of one layer in the variant. */
size_t ln_arch_layer_params(const ln_layer *l, int conv_bias);

/* Floating-point operations of a layer's forward pass per sample
 * (2 x multiply-adds; 0 for layers without them). */
double ln_arch_layer_flops(const ln_layer *l);

/* Output elements of a layer per sample. */
size_t ln_arch_layer_size(const ln_layer *l);

#endif
