/* export_net.c - find LeNet-5's tensors in a checkpoint and write exports to
 * files (see include/lenet/export.h). */
#include "lenet/export.h"

#include <stdio.h>
#include <string.h>

#include "lenet/fileio.h"

static void shape_str(char *buf, size_t size, const int64_t *d, int n) {
    size_t k = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < n && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, "%s%lld", i ? ", " : "", (long long)d[i]);
    if (k < size) snprintf(buf + k, size - k, ")");
}

ln_status ln_export_find_net(const ln_ckpt *c, const char *path, ln_export_net *out, ln_error *err) {
    memset(out, 0, sizeof *out);
    const int b1 = ln_ckpt_get(c, "conv1.bias") != NULL, b2 = ln_ckpt_get(c, "conv2.bias") != NULL;
    if (b1 != b2)
        return ln_fail(err, LN_E_INPUT, "%s: has %s but not %s; a LeNet-5 checkpoint has both conv biases or "
                       "neither", path, b1 ? "conv1.bias" : "conv2.bias", b1 ? "conv2.bias" : "conv1.bias");
    /* The network's own parameter table is the reference for names and shapes. */
    ln_lenet net;
    ln_status s = ln_lenet_init(&net, b1, 1, 1, NULL, err);
    if (s) return s;
    out->conv_bias = b1;
    for (int i = 0; i < net.n_tensors && !s; i++) {
        const ln_tensor_info *ti = &net.info[i];
        const ln_ckpt_entry *e = ln_ckpt_get(c, ti->name);
        int64_t want[4];
        for (int d = 0; d < ti->ndim; d++) want[d] = ti->shape[d];
        char ws[64], gs[96];
        shape_str(ws, sizeof ws, want, ti->ndim);
        if (!e) {
            s = ln_fail(err, LN_E_INPUT, "%s: no tensor %s %s; not a LeNet-5 checkpoint (see `lenet summary`)",
                        path, ti->name, ws);
            break;
        }
        int same = e->ndim == ti->ndim && e->count == ti->size;
        for (int d = 0; same && d < ti->ndim; d++) same = e->dims[d] == ti->shape[d];
        shape_str(gs, sizeof gs, e->dims, e->ndim);
        if (!same)
            s = ln_fail(err, LN_E_INPUT, "%s: tensor %s has shape %s, LeNet-5 needs %s", path, ti->name, gs, ws);
        else if (strcmp(e->dtype, "Float32"))
            s = ln_fail(err, LN_E_INPUT, "%s: tensor %s has dtype %s; only Float32 networks can be exported",
                        path, ti->name, e->dtype);
        else if (e->nbytes != ti->size * sizeof(float))
            s = ln_fail(err, LN_E_INPUT, "%s: tensor %s has %zu content bytes, expected %zu", path, ti->name,
                        e->nbytes, ti->size * sizeof(float));
        out->t[out->n++] = e;
        out->n_params += (long)ti->size;
    }
    ln_lenet_free(&net);
    if (s) memset(out, 0, sizeof *out);
    return s;
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
    if (!s && !ln_buf_ok(&b)) s = ln_fail(err, LN_E_NOMEM, "%s: out of memory while encoding", out_path);
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
