/* export_onnx.c - LeNet-5 as an ONNX ModelProto, written with our own
 * protobuf encoder (see include/lenet/export.h for the graph).
 *
 * Field numbers are onnx.proto's (ONNX 1.8+, proto2): ModelProto {ir_version 1,
 * producer_name 2, producer_version 3, doc_string 6, graph 7, opset_import 8,
 * metadata_props 14}; GraphProto {node 1, name 2, initializer 5, doc_string
 * 10, input 11, output 12}; NodeProto {input 1, output 2, name 3, op_type 4,
 * attribute 5}; AttributeProto {name 1, i 3, ints 8, type 20 (INT 2, INTS 7)};
 * TensorProto {dims 1, data_type 2 (FLOAT 1), name 8, raw_data 9};
 * ValueInfoProto {name 1, type 2}; TypeProto {tensor_type 1}; TypeProto.Tensor
 * {elem_type 1, shape 2}; TensorShapeProto {dim 1}; Dimension {dim_value 1,
 * dim_param 2}; OperatorSetIdProto {domain 1, version 2};
 * StringStringEntryProto {key 1, value 2}.
 */
#include "lenet/export.h"

#include <stdio.h>
#include <string.h>

#include "lenet/pbwrite.h"

#define ONNX_IR_VERSION 7 /* the IR that goes with opset 13 (ONNX 1.8) */
#define ONNX_OPSET 13
#define ONNX_FLOAT 1
#define ATTR_INT 2
#define ATTR_INTS 7

static void attr_ints(ln_buf *node, const char *name, const int64_t *v, int n) {
    ln_buf a;
    ln_buf_init(&a);
    ln_pb_str(&a, 1, name);
    for (int i = 0; i < n; i++) ln_pb_int(&a, 8, v[i]);
    ln_pb_int(&a, 20, ATTR_INTS);
    ln_pb_msg(node, 5, &a);
    ln_buf_free(&a);
}

static void attr_int(ln_buf *node, const char *name, int64_t v) {
    ln_buf a;
    ln_buf_init(&a);
    ln_pb_str(&a, 1, name);
    ln_pb_int(&a, 3, v);
    ln_pb_int(&a, 20, ATTR_INT);
    ln_pb_msg(node, 5, &a);
    ln_buf_free(&a);
}

/* Start a node: inputs (NULL entries skipped), one output, name, op type.
 * The caller adds attributes and then calls end_node. */
static void begin_node(ln_buf *node, const char *const *in, int n_in, const char *out, const char *name,
                       const char *op) {
    ln_buf_init(node);
    for (int i = 0; i < n_in; i++)
        if (in[i]) ln_pb_str(node, 1, in[i]);
    ln_pb_str(node, 2, out);
    ln_pb_str(node, 3, name);
    ln_pb_str(node, 4, op);
}

static void end_node(ln_buf *graph, ln_buf *node) {
    ln_pb_msg(graph, 1, node);
    ln_buf_free(node);
}

static void conv(ln_buf *g, const char *name, int kernel, const char *in, const ln_ckpt_entry *w,
                 const ln_ckpt_entry *b, const char *out) {
    const char *ins[3] = {in, w->name, b ? b->name : NULL};
    const int64_t k[2] = {kernel, kernel};
    static const int64_t one[2] = {1, 1}, pads[4] = {0, 0, 0, 0};
    ln_buf n;
    begin_node(&n, ins, 3, out, name, "Conv");
    attr_ints(&n, "kernel_shape", k, 2);
    attr_ints(&n, "strides", one, 2);
    attr_ints(&n, "dilations", one, 2);
    attr_ints(&n, "pads", pads, 4);
    attr_int(&n, "group", 1);
    end_node(g, &n);
}

static void unary(ln_buf *g, const char *op, const char *name, const char *in, const char *out) {
    ln_buf n;
    begin_node(&n, &in, 1, out, name, op);
    end_node(g, &n);
}

static void maxpool(ln_buf *g, const char *name, int window, const char *in, const char *out) {
    const int64_t win[2] = {window, window};
    static const int64_t pads[4] = {0, 0, 0, 0};
    ln_buf n;
    begin_node(&n, &in, 1, out, name, "MaxPool");
    attr_ints(&n, "kernel_shape", win, 2);
    attr_ints(&n, "strides", win, 2);
    attr_ints(&n, "pads", pads, 4);
    end_node(g, &n);
}

static void flatten(ln_buf *g, const char *name, const char *in, const char *out) {
    ln_buf n;
    begin_node(&n, &in, 1, out, name, "Flatten");
    attr_int(&n, "axis", 1);
    end_node(g, &n);
}

/* y = x W^T + b (Dense with W of shape (out, in)). */
static void gemm(ln_buf *g, const char *name, const char *in, const ln_ckpt_entry *w, const ln_ckpt_entry *b,
                 const char *out) {
    const char *ins[3] = {in, w->name, b->name};
    ln_buf n;
    begin_node(&n, ins, 3, out, name, "Gemm");
    attr_int(&n, "transB", 1);
    end_node(g, &n);
}

static void initializer(ln_buf *g, const ln_ckpt_entry *e) {
    ln_buf t;
    ln_buf_init(&t);
    for (int d = 0; d < e->ndim; d++) ln_pb_int(&t, 1, e->dims[d]);
    ln_pb_int(&t, 2, ONNX_FLOAT);
    ln_pb_str(&t, 8, e->name);
    ln_pb_bytes(&t, 9, e->data, e->nbytes); /* checkpoint content is little-endian float32 */
    ln_pb_msg(g, 5, &t);
    ln_buf_free(&t);
}

/* ValueInfoProto for a float tensor whose first dimension is "N". */
static void value_info(ln_buf *g, int field, const char *name, const int64_t *rest, int n_rest) {
    ln_buf shape, dim, tensor, type, vi;
    ln_buf_init(&shape);
    ln_buf_init(&dim);
    ln_pb_str(&dim, 2, "N");
    ln_pb_msg(&shape, 1, &dim);
    for (int i = 0; i < n_rest; i++) {
        dim.len = 0;
        ln_pb_int(&dim, 1, rest[i]);
        ln_pb_msg(&shape, 1, &dim);
    }
    ln_buf_init(&tensor);
    ln_pb_int(&tensor, 1, ONNX_FLOAT);
    ln_pb_msg(&tensor, 2, &shape);
    ln_buf_init(&type);
    ln_pb_msg(&type, 1, &tensor);
    ln_buf_init(&vi);
    ln_pb_str(&vi, 1, name);
    ln_pb_msg(&vi, 2, &type);
    ln_pb_msg(g, field, &vi);
    ln_buf_free(&vi);
    ln_buf_free(&type);
    ln_buf_free(&tensor);
    ln_buf_free(&dim);
    ln_buf_free(&shape);
}

static void metadata(ln_buf *m, const char *key, const char *value) {
    ln_buf e;
    ln_buf_init(&e);
    ln_pb_str(&e, 1, key);
    ln_pb_str(&e, 2, value);
    ln_pb_msg(m, 14, &e);
    ln_buf_free(&e);
}

#define STR_(x) #x
#define STR(x) STR_(x)
#define SIDE STR(LN_IN_SIDE)
static const char DOC[] =
    "LeNet-5 for MNIST digits, exported by lenet. Input: float32 [N, " STR(LN_IN_C) ", " SIDE ", " SIDE "], "
    "each 28x28 uint8 image resized to " SIDE "x" SIDE " (bilinear, OpenCV INTER_LINEAR), then x/255, then "
    "(x - 0.1307)/0.3081. Output: logits [N, " STR(LN_CLASSES) "]; the predicted digit is the argmax (softmax "
    "gives probabilities).";

ln_status ln_export_onnx_encode(const ln_export_net *net, ln_buf *out, ln_error *err) {
    const ln_ckpt_entry *const *t = net->t;
    const int cb = net->conv_bias;
    ln_tensor_info info[LN_MAX_TENSORS];
    if (net->n != ln_arch_tensors(cb, info, NULL))
        return ln_fail(err, LN_E_USAGE, "incomplete network table for the ONNX export");

    /* One node per row of the layer table; each reads the previous node's
     * output ("input" first) and writes "<name>_out" ("logits" last). The
     * tensors t[] are in the table's order, so they are taken in turn. */
    ln_buf g;
    ln_buf_init(&g);
    const ln_layer *layers = ln_arch_layers();
    char prev[32] = "input", dst[32];
    int k = 0;
    for (int i = 0; i < LN_ARCH_LAYERS; i++) {
        const ln_layer *l = &layers[i];
        if (i == LN_ARCH_LAYERS - 1) snprintf(dst, sizeof dst, "logits");
        else snprintf(dst, sizeof dst, "%s_out", l->name);
        const ln_ckpt_entry *w = l->weight ? t[k++] : NULL;
        const ln_ckpt_entry *b = l->weight && (!l->bias_optional || cb) ? t[k++] : NULL;
        switch (l->kind) {
        case LN_LAYER_CONV: conv(&g, l->name, l->kernel, prev, w, b, dst); break;
        case LN_LAYER_RELU: unary(&g, "Relu", l->name, prev, dst); break;
        case LN_LAYER_MAXPOOL: maxpool(&g, l->name, l->kernel, prev, dst); break;
        case LN_LAYER_FLATTEN: flatten(&g, l->name, prev, dst); break;
        case LN_LAYER_DENSE: gemm(&g, l->name, prev, w, b, dst); break;
        }
        memcpy(prev, dst, sizeof prev);
    }
    ln_pb_str(&g, 2, "lenet5");
    for (int i = 0; i < net->n; i++) initializer(&g, t[i]);
    ln_pb_str(&g, 10, DOC);
    static const int64_t in_dims[3] = {LN_IN_C, LN_IN_SIDE, LN_IN_SIDE}, out_dims[1] = {LN_CLASSES};
    value_info(&g, 11, "input", in_dims, 3);
    value_info(&g, 12, "logits", out_dims, 1);

    ln_buf opset;
    ln_buf_init(&opset);
    ln_pb_int(&opset, 2, ONNX_OPSET); /* domain "" (the default ai.onnx) is left unset */

    ln_pb_int(out, 1, ONNX_IR_VERSION);
    ln_pb_str(out, 2, "lenet");
    ln_pb_str(out, 3, "1");
    ln_pb_str(out, 6, DOC);
    ln_pb_msg(out, 7, &g);
    ln_pb_msg(out, 8, &opset);
    metadata(out, "conv_bias", cb ? "on" : "off");
    metadata(out, "input_normalisation", "(x/255 - 0.1307)/0.3081 after resize 28x28 -> 32x32");
    ln_buf_free(&opset);
    ln_buf_free(&g);
    if (!ln_buf_ok(out)) return ln_fail(err, LN_E_NOMEM, "out of memory encoding the ONNX model");
    return LN_OK;
}
