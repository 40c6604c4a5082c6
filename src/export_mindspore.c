/* export_mindspore.c - re-encode a checkpoint in MindSpore's .ckpt format:
 * network tensors first, then every other entry, merged, byte for byte (see
 * include/lenet/export.h and ckpt.h for the wire format). */
#include "lenet/export.h"

#include <string.h>
#include <zlib.h>

#include "lenet/pbwrite.h"

/* One top-level Checkpoint message holding one Value. */
static void record(ln_buf *out, const ln_ckpt_entry *e) {
    ln_buf tensor, value, msg;
    ln_buf_init(&tensor);
    for (int d = 0; d < e->ndim; d++) ln_pb_int(&tensor, 1, e->dims[d]); /* a scalar's [0] is kept as is */
    ln_pb_str(&tensor, 2, e->dtype);
    ln_pb_bytes(&tensor, 3, e->data, e->nbytes);
    ln_buf_init(&value);
    ln_pb_str(&value, 1, e->name);
    ln_pb_msg(&value, 2, &tensor);
    ln_buf_init(&msg);
    ln_pb_msg(&msg, 1, &value);
    ln_buf_append(out, msg.p, msg.len);
    if (msg.oom) out->oom = 1;
    ln_buf_free(&msg);
    ln_buf_free(&value);
    ln_buf_free(&tensor);
}

static int in_net(const ln_export_net *net, const ln_ckpt_entry *e) {
    for (int i = 0; i < net->n; i++)
        if (net->t[i] == e) return 1;
    return 0;
}

ln_status ln_export_mindspore_encode(const ln_ckpt *c, const ln_export_net *net, int with_crc, ln_buf *out,
                                     ln_error *err) {
    const size_t start = out->len;
    for (int i = 0; i < net->n; i++) record(out, net->t[i]);
    for (int i = 0; i < c->n; i++)
        if (!in_net(net, &c->e[i])) record(out, &c->e[i]);
    if (with_crc && ln_buf_ok(out)) {
        /* MindSpore 2.3: "crc_num" + crc32 of all records as 10 big-endian bytes. */
        uLong crc = crc32(0L, Z_NULL, 0);
        for (size_t off = start; off < out->len;) {
            size_t chunk = out->len - off > (1u << 30) ? (1u << 30) : out->len - off;
            crc = crc32(crc, out->p + off, (uInt)chunk);
            off += chunk;
        }
        uint8_t trailer[17];
        memcpy(trailer, "crc_num", 7);
        uint64_t v = crc;
        for (int i = 16; i >= 7; i--, v >>= 8) trailer[i] = (uint8_t)v;
        ln_buf_append(out, trailer, sizeof trailer);
    }
    if (!ln_buf_ok(out)) return ln_fail(err, LN_E_NOMEM, "out of memory encoding the checkpoint");
    return LN_OK;
}
