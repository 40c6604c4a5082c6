/* arch.c - LeNet-5's layer table and what is computed from it (see
 * include/lenet/arch.h). */
#include "lenet/arch.h"

#define S3(c, side) 3, {(c), (side), (side)}
#define F1(n) 1, {(n), 0, 0}

static const ln_layer layers[] = {
    {"conv1", LN_LAYER_CONV, LN_IN_C, LN_CONV1_C, LN_KERNEL, S3(LN_CONV1_C, LN_CONV1_SIDE), "conv1.weight",
     "conv1.bias", 1},
    {"relu1", LN_LAYER_RELU, LN_CONV1_C, LN_CONV1_C, 0, S3(LN_CONV1_C, LN_CONV1_SIDE), NULL, NULL, 0},
    {"pool1", LN_LAYER_MAXPOOL, LN_CONV1_C, LN_CONV1_C, LN_POOL, S3(LN_CONV1_C, LN_POOL1_SIDE), NULL, NULL, 0},
    {"conv2", LN_LAYER_CONV, LN_CONV1_C, LN_CONV2_C, LN_KERNEL, S3(LN_CONV2_C, LN_CONV2_SIDE), "conv2.weight",
     "conv2.bias", 1},
    {"relu2", LN_LAYER_RELU, LN_CONV2_C, LN_CONV2_C, 0, S3(LN_CONV2_C, LN_CONV2_SIDE), NULL, NULL, 0},
    {"pool2", LN_LAYER_MAXPOOL, LN_CONV2_C, LN_CONV2_C, LN_POOL, S3(LN_CONV2_C, LN_POOL2_SIDE), NULL, NULL, 0},
    {"flatten", LN_LAYER_FLATTEN, LN_CONV2_C, LN_FLAT, 0, F1(LN_FLAT), NULL, NULL, 0},
    {"fc1", LN_LAYER_DENSE, LN_FLAT, LN_FC1_N, 0, F1(LN_FC1_N), "fc1.weight", "fc1.bias", 0},
    {"relu3", LN_LAYER_RELU, LN_FC1_N, LN_FC1_N, 0, F1(LN_FC1_N), NULL, NULL, 0},
    {"fc2", LN_LAYER_DENSE, LN_FC1_N, LN_FC2_N, 0, F1(LN_FC2_N), "fc2.weight", "fc2.bias", 0},
    {"relu4", LN_LAYER_RELU, LN_FC2_N, LN_FC2_N, 0, F1(LN_FC2_N), NULL, NULL, 0},
    {"fc3", LN_LAYER_DENSE, LN_FC2_N, LN_CLASSES, 0, F1(LN_CLASSES), "fc3.weight", "fc3.bias", 0},
};
_Static_assert(sizeof layers / sizeof layers[0] == LN_ARCH_LAYERS, "LN_ARCH_LAYERS counts the table's rows");
_Static_assert(LN_CONV1_SIDE % LN_POOL == 0 && LN_CONV2_SIDE % LN_POOL == 0, "pooling windows tile the maps");

const ln_layer *ln_arch_layers(void) { return layers; }

size_t ln_arch_layer_size(const ln_layer *l) {
    size_t n = 1;
    for (int d = 0; d < l->ndim; d++) n *= (size_t)l->out[d];
    return n;
}

/* Weight shape of a layer with parameters; returns its rank. */
static int weight_shape(const ln_layer *l, int *shape) {
    shape[0] = l->out_c, shape[1] = l->in_c;
    if (l->kind != LN_LAYER_CONV) return 2;
    shape[2] = shape[3] = l->kernel;
    return 4;
}

static size_t weight_size(const ln_layer *l) {
    int shape[4];
    const int nd = weight_shape(l, shape);
    size_t n = 1;
    for (int d = 0; d < nd; d++) n *= (size_t)shape[d];
    return n;
}

static int has_bias(const ln_layer *l, int conv_bias) { return l->bias && (!l->bias_optional || conv_bias); }

size_t ln_arch_layer_params(const ln_layer *l, int conv_bias) {
    if (!l->weight) return 0;
    return weight_size(l) + (has_bias(l, conv_bias) ? (size_t)l->out_c : 0);
}

double ln_arch_layer_flops(const ln_layer *l) {
    if (!l->weight) return 0;
    /* every output element takes one multiply-add per weight of its channel */
    const double per_output = (double)weight_size(l) / l->out_c;
    return 2.0 * (double)ln_arch_layer_size(l) * per_output;
}

static void put(ln_tensor_info *t, const char *name, int ndim, const int *shape, size_t *offset) {
    t->name = name;
    t->ndim = ndim;
    t->size = 1;
    for (int d = 0; d < 4; d++) {
        t->shape[d] = d < ndim ? shape[d] : 0;
        if (d < ndim) t->size *= (size_t)shape[d];
    }
    t->offset = *offset;
    *offset += t->size;
}

int ln_arch_tensors(int conv_bias, ln_tensor_info *out, size_t *n_params) {
    int n = 0;
    size_t offset = 0;
    for (int i = 0; i < LN_ARCH_LAYERS; i++) {
        const ln_layer *l = &layers[i];
        if (!l->weight) continue;
        int shape[4];
        const int nd = weight_shape(l, shape);
        put(&out[n++], l->weight, nd, shape, &offset);
        if (has_bias(l, conv_bias)) put(&out[n++], l->bias, 1, &l->out_c, &offset);
    }
    if (n_params) *n_params = offset;
    return n;
}
