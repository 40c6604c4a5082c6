/* export.h - a LeNet-5 checkpoint in other formats: ONNX, safetensors, and
 * MindSpore's own .ckpt (a normalising copy).
 *
 * Every exporter starts from a checkpoint already read with ln_ckpt_read. The
 * network is found by ln_export_find_net: every tensor of LeNet-5 (net.h's
 * names and order) must be present as Float32 with its exact shape; the
 * variant (conv bias on/off) is whatever the checkpoint holds (conv1.bias and
 * conv2.bias both present or both absent), checked by load.h's checks. A
 * mismatch is LN_E_INPUT naming the tensor. Outputs are written atomically (fileio.h): complete or absent.
 *
 * ONNX (ir_version 7, opset 13, the default domain): input "input" float32
 * [N, 1, 32, 32] with a symbolic batch "N", normalised as the pipeline does
 * ((x/255 - 0.1307)/0.3081 after the bilinear 28->32 resize); output "logits"
 * float32 [N, 10]. Nodes: Conv (5x5, no padding, bias input only when the
 * checkpoint has one) -> Relu -> MaxPool (2, stride 2) twice, Flatten (axis 1,
 * C,H,W order), then Gemm (transB = 1) -> Relu, Gemm -> Relu, Gemm. The
 * initializers carry the checkpoint's names and raw little-endian floats.
 *
 * safetensors: 8-byte little-endian header length, a JSON header (padded with
 * spaces to a multiple of 8 bytes) with "__metadata__" (string values) and one
 * entry per network tensor in checkpoint order {"dtype": "F32", "shape": [...],
 * "data_offsets": [begin, end]}, then the tensors' bytes back to back in that
 * order (offsets relative to the end of the header).
 *
 * MindSpore: the network tensors first in net.h's order, then every other
 * entry of the checkpoint (optimizer state: learning_rate, momentum,
 * moments.*, global_step, ...) in file order, any dtype, byte for byte. Split
 * records come out merged; with_crc adds MindSpore 2.3's CRC trailer.
 */
#ifndef LENET_EXPORT_H
#define LENET_EXPORT_H

#include "lenet/bytebuf.h"
#include "lenet/ckpt.h"
#include "lenet/error.h"
#include "lenet/net.h"

typedef struct {
    int conv_bias;
    int n;                                /* tensors, in network order */
    const ln_ckpt_entry *t[LN_MAX_TENSORS]; /* point into the ln_ckpt */
    long n_params;                        /* floats over all tensors */
} ln_export_net;

/* Locate and check LeNet-5's tensors in `c` (`path` only names the file in
 * messages). */
ln_status ln_export_find_net(const ln_ckpt *c, const char *path, ln_export_net *out, ln_error *err);

/* Encoders into memory (the file writers below use them). */
ln_status ln_export_onnx_encode(const ln_export_net *net, ln_buf *out, ln_error *err);
ln_status ln_export_safetensors_encode(const ln_export_net *net, ln_buf *out, ln_error *err);
ln_status ln_export_mindspore_encode(const ln_ckpt *c, const ln_export_net *net, int with_crc, ln_buf *out,
                                     ln_error *err);

/* Read nothing, write `out_path` atomically from an already-read checkpoint. */
ln_status ln_export_onnx(const ln_ckpt *c, const char *ckpt_path, const char *out_path, ln_error *err);
ln_status ln_export_safetensors(const ln_ckpt *c, const char *ckpt_path, const char *out_path, ln_error *err);
ln_status ln_export_mindspore(const ln_ckpt *c, const char *ckpt_path, const char *out_path, int with_crc,
                              ln_error *err);

#endif
