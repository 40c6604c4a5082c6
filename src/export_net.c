/* export_net.c - find LeNet-5's tensors in a checkpoint and write exports to
 * files (see include/lenet/export.h). */
#include "lenet/export.h"

#include <stdio.h>
#include <string.h>

#include "lenet/fileio.h"
#include "lenet/load.h"

ln_status ln_export_find_net(const ln_ckpt *c, const char *path, ln_export_net *out, ln_error *err) {
    memset(out, 0, sizeof *out);
    int cb = 0;
    ln_status s = ln_ckpt_conv_bias(c, path, &cb, err);
    if (s) return s;
    /* The layer table's parameter tensors are the reference for names and shapes. */
    ln_tensor_info info[LN_MAX_TENSORS];
    const int n = ln_arch_tensors(cb, info, NULL);
    if ((s = ln_ckpt_check_tensors(c, path, info, n, "", NULL, err))) return s;
    out->conv_bias = cb;
    for (int i = 0; i < n; i++) {
        out->t[out->n++] = ln_ckpt_get(c, info[i].name);
        out->n_params += (long)info[i].size;
    }
    return LN_OK;
}

typedef ln_status (*encoder)(const ln_ckpt *c, const ln_export_net *net, int flag, ln_buf *out, ln_error *err);

static ln_status enc_onnx(const ln_ckpt *c, const ln_export_net *net, int flag, ln_buf *out, ln_error *err) {
    (void)c, (void)flag;
    return ln_export_onnx_encode(net, out, err);
}
static ln_status enc_st(const ln_ckpt *c, const ln_export_net *net, int flag, ln_buf *out, ln_error *err) {
    (void)c, (void)flag;
    return ln_export_safetensors_encode(net, out, err);
}
static ln_status enc_ms(const ln_ckpt *c, const ln_export_net *net, int flag, ln_buf *out, ln_error *err) {
    return ln_export_mindspore_encode(c, net, flag, out, err);
}

static ln_status export_to(const ln_ckpt *c, const char *ckpt_path, const char *out_path, encoder enc, int flag,
                           ln_error *err) {
    ln_export_net net;
    ln_status s = ln_export_find_net(c, ckpt_path, &net, err);
    if (s) return s;
    ln_buf b;
    ln_buf_init(&b);
    s = enc(c, &net, flag, &b, err);
    if (!s && !ln_buf_ok(&b)) s = ln_fail(err, LN_E_NOMEM, "out of memory while encoding: %s", out_path);
    if (!s) s = ln_write_file_atomic(out_path, b.p, b.len, err);
    ln_buf_free(&b);
    return s;
}

ln_status ln_export_onnx(const ln_ckpt *c, const char *ckpt_path, const char *out_path, ln_error *err) {
    return export_to(c, ckpt_path, out_path, enc_onnx, 0, err);
}

ln_status ln_export_safetensors(const ln_ckpt *c, const char *ckpt_path, const char *out_path, ln_error *err) {
    return export_to(c, ckpt_path, out_path, enc_st, 0, err);
}

ln_status ln_export_mindspore(const ln_ckpt *c, const char *ckpt_path, const char *out_path, int with_crc,
                              ln_error *err) {
    return export_to(c, ckpt_path, out_path, enc_ms, with_crc, err);
}
