/* export_safetensors.c - LeNet-5's tensors in the safetensors format (see
 * include/lenet/export.h for the layout). */
#include "lenet/export.h"

#include <stdint.h>

ln_status ln_export_safetensors_encode(const ln_export_net *net, ln_buf *out, ln_error *err) {
    ln_buf h;
    ln_buf_init(&h);
    /* "format": "pt" tells Hugging Face loaders the layout is PyTorch's, which
     * it is: conv weights (out, in, kh, kw), dense weights (out, in). */
    ln_buf_printf(&h, "{\"__metadata__\":{\"format\":\"pt\",\"producer\":\"lenet\",\"network\":\"LeNet-5\","
                      "\"conv_bias\":\"%s\"}", net->conv_bias ? "on" : "off");
    uint64_t off = 0;
    for (int i = 0; i < net->n; i++) {
        const ln_ckpt_entry *e = net->t[i];
        ln_buf_append(&h, ",", 1);
        ln_buf_json_str(&h, e->name);
        ln_buf_printf(&h, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < e->ndim; d++) ln_buf_printf(&h, "%s%lld", d ? "," : "", (long long)e->dims[d]);
        ln_buf_printf(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                      (unsigned long long)(off + e->nbytes));
        off += e->nbytes;
    }
    ln_buf_append(&h, "}", 1);
    ln_buf_fill(&h, ' ', (8 - h.len % 8) % 8); /* the data starts 8-byte aligned */

    uint8_t len8[8];
    uint64_t n = h.len;
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)(n >> (8 * i));
    ln_buf_append(out, len8, 8);
    ln_buf_append(out, h.p, h.len);
    for (int i = 0; i < net->n; i++) ln_buf_append(out, net->t[i]->data, net->t[i]->nbytes); /* LE float32 */
    int ok = ln_buf_ok(&h) && ln_buf_ok(out);
    ln_buf_free(&h);
    if (!ok) return ln_fail(err, LN_E_NOMEM, "out of memory encoding safetensors");
    return LN_OK;
}
