/* test_export.c - exports (export.h): network detection and its errors,
 * MindSpore re-encoding round trips through ln_ckpt_read (every entry, any
 * order, CRC), the safetensors byte layout, the ONNX message's top-level
 * structure (walked with an independent protobuf reader here), and atomic
 * output (a failed export leaves an existing file as it was). ONNX Runtime,
 * onnx.checker and an independent safetensors reader run in the shell tests
 * test_onnx.sh and test_export.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "lenet/ckpt.h"
#include "lenet/export.h"

static char g_tmp[256];

static void tpath(char *out, size_t sz, const char *name) { snprintf(out, sz, "%s/%s", g_tmp, name); }

/* A synthetic LeNet-5 checkpoint: network tensors (with or without conv
 * bias) with distinct values, optimizer entries, an Int32 global_step. */
typedef struct {
    ln_ckpt_item it[32];
    int n;
    float *mem;
} synth;

static void add(synth *s, const char *name, const char *dtype, int ndim, int64_t d0, int64_t d1, int64_t d2,
                int64_t d3, const void *data) {
    ln_ckpt_item *it = &s->it[s->n++];
    it->name = name;
    it->dtype = dtype;
    it->ndim = ndim;
    int64_t d[4] = {d0, d1, d2, d3};
    for (int i = 0; i < ndim; i++) it->dims[i] = d[i];
    it->data = data;
}

static const struct { const char *name; int ndim; int64_t d[4]; int bias; } NET[] = {
    {"conv1.weight", 4, {6, 1, 5, 5}, 0}, {"conv1.bias", 1, {6}, 1},   {"conv2.weight", 4, {16, 6, 5, 5}, 0},
    {"conv2.bias", 1, {16}, 1},           {"fc1.weight", 2, {120, 400}, 0}, {"fc1.bias", 1, {120}, 0},
    {"fc2.weight", 2, {84, 120}, 0},      {"fc2.bias", 1, {84}, 0},     {"fc3.weight", 2, {10, 84}, 0},
    {"fc3.bias", 1, {10}, 0}};

static void make_synth(synth *s, int conv_bias, int optimizer, int shuffled) {
    memset(s, 0, sizeof *s);
    s->mem = malloc(sizeof(float) * 200000);
    static const float lr = 0.01f, mom = 0.9f;
    static const int32_t step = 1875;
    static char mnames[10][64];
    size_t off = 0;
    if (shuffled && optimizer) add(s, "learning_rate", "Float32", 0, 0, 0, 0, 0, &lr);
    for (int k = 0; k < 10; k++) {
        int i = shuffled ? 9 - k : k; /* reversed order when shuffled */
        if (NET[i].bias && !conv_bias) continue;
        size_t cnt = 1;
        for (int d = 0; d < NET[i].ndim; d++) cnt *= (size_t)NET[i].d[d];
        for (size_t j = 0; j < cnt; j++) s->mem[off + j] = (float)(i + 1) + (float)j * 1e-4f;
        add(s, NET[i].name, "Float32", NET[i].ndim, NET[i].d[0], NET[i].d[1], NET[i].d[2], NET[i].d[3],
            s->mem + off);
        off += cnt;
    }
    if (optimizer) {
        if (!shuffled) add(s, "learning_rate", "Float32", 0, 0, 0, 0, 0, &lr);
        add(s, "momentum", "Float32", 0, 0, 0, 0, 0, &mom);
        add(s, "global_step", "Int32", 1, 1, 0, 0, 0, &step);
        for (int i = 0; i < 10; i++) {
            if (NET[i].bias && !conv_bias) continue;
            snprintf(mnames[i], sizeof mnames[i], "moments.%s", NET[i].name);
            add(s, mnames[i], "Float32", NET[i].ndim, NET[i].d[0], NET[i].d[1], NET[i].d[2], NET[i].d[3],
                s->mem); /* any content of the right size */
        }
    }
}

/* The synthetic checkpoint (conv bias or not, with optimizer entries, in
 * order) written to PATH and read back into *c. */
static void synth_ckpt(synth *s, int conv_bias, const char *path, ln_ckpt *c) {
    ln_error err;
    make_synth(s, conv_bias, 1, 0);
    ln_ckpt_write(path, s->it, s->n, 0, &err);
    ln_ckpt_read(path, c, &err);
}

static int same_entry(const ln_ckpt_entry *a, const ln_ckpt_entry *b) {
    if (strcmp(a->name, b->name) || strcmp(a->dtype, b->dtype) || a->ndim != b->ndim || a->nbytes != b->nbytes)
        return 0;
    for (int d = 0; d < a->ndim; d++)
        if (a->dims[d] != b->dims[d]) return 0;
    return !memcmp(a->data, b->data, a->nbytes);
}

static void test_find_net(test_ctx *t) {
    char p[512];
    tpath(p, sizeof p, "net.ckpt");
    ln_error err;
    for (int cb = 0; cb <= 1; cb++) {
        synth s;
        make_synth(&s, cb, 1, 0);
        ln_ckpt_write(p, s.it, s.n, 0, &err);
        ln_ckpt c;
        CHECK(t, ln_ckpt_read(p, &c, &err) == LN_OK, "synthetic checkpoint reads");
        ln_export_net net;
        CHECK(t, ln_export_find_net(&c, p, &net, &err) == LN_OK, "network found");
        CHECK(t, net.conv_bias == cb && net.n == (cb ? 10 : 8), "variant detected from the checkpoint");
        CHECK(t, net.n_params == (cb ? 61706 : 61684), "parameter count 61,706 / 61,684");
        CHECK(t, !strcmp(net.t[0]->name, "conv1.weight") && !strcmp(net.t[net.n - 1]->name, "fc3.bias"),
              "tensors in network order");
        ln_ckpt_free(&c);
        free(s.mem);
    }
    /* Broken networks: each must be LN_E_INPUT naming the tensor. */
    struct { const char *what, *drop, *needle; int bad_shape, bad_dtype; } cases[] = {
        {"missing fc2.bias", "fc2.bias", "fc2.bias", 0, 0},
        {"only one conv bias", "conv2.bias", "conv2.bias", 0, 0},
        {"wrong shape of fc1.weight", NULL, "fc1.weight", 1, 0},
        {"Int32 fc3.bias", NULL, "fc3.bias", 0, 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        synth s;
        make_synth(&s, 1, 0, 0);
        for (int i = 0; i < s.n; i++) {
            if (cases[k].drop && !strcmp(s.it[i].name, cases[k].drop)) {
                memmove(&s.it[i], &s.it[i + 1], sizeof s.it[0] * (size_t)(s.n - i - 1));
                s.n--;
                break;
            }
            if (cases[k].bad_shape && !strcmp(s.it[i].name, "fc1.weight")) s.it[i].dims[0] = 400, s.it[i].dims[1] = 120;
            if (cases[k].bad_dtype && !strcmp(s.it[i].name, "fc3.bias")) s.it[i].dtype = "Int32";
        }
        ln_ckpt_write(p, s.it, s.n, 0, &err);
        ln_ckpt c;
        ln_ckpt_read(p, &c, &err);
        ln_export_net net;
        err.msg[0] = 0;
        ln_status st = ln_export_find_net(&c, p, &net, &err);
        CHECK(t, st == LN_E_INPUT && strstr(err.msg, cases[k].needle) && strstr(err.msg, p) &&
                     !strchr(err.msg, '\n'),
              cases[k].what);
        /* The file writers refuse too, and leave an existing output alone. */
        char out[512];
        tpath(out, sizeof out, "keep.onnx");
        FILE *f = fopen(out, "wb");
        fputs("old", f);
        fclose(f);
        CHECK(t, ln_export_onnx(&c, p, out, &err) == LN_E_INPUT, "ONNX export of a broken network fails");
        size_t len;
        uint8_t *b = test_read_file(out, &len);
        CHECK(t, b && len == 3 && !memcmp(b, "old", 3), "a failed export leaves the existing file as it was");
        free(b);
        ln_ckpt_free(&c);
        free(s.mem);
    }
}

static void test_mindspore_roundtrip(test_ctx *t) {
    char p[512], q[512];
    tpath(p, sizeof p, "in.ckpt");
    tpath(q, sizeof q, "out.ckpt");
    ln_error err;
    for (int variant = 0; variant < 6; variant++) {
        const int cb = variant & 1, shuffled = variant >> 1 == 1, crc = variant >> 1 == 2;
        synth s;
        make_synth(&s, cb, 1, shuffled);
        ln_ckpt_write(p, s.it, s.n, crc, &err);
        ln_ckpt in, out;
        ln_ckpt_read(p, &in, &err);
        CHECK(t, ln_export_mindspore(&in, p, q, crc, &err) == LN_OK, "mindspore export succeeds");
        CHECK(t, ln_ckpt_read(q, &out, &err) == LN_OK, "the exported .ckpt reads back with ln_ckpt_read");
        CHECK(t, out.n == in.n && out.had_crc == crc, "same number of entries; CRC trailer when asked");
        int all = out.n == in.n;
        for (int i = 0; all && i < in.n; i++) {
            const ln_ckpt_entry *o = ln_ckpt_get(&out, in.e[i].name);
            all = o && same_entry(o, &in.e[i]);
        }
        CHECK(t, all, "every entry (network, optimizer, Int32 global_step, scalars) identical");
        const char *order0 = out.e[0].name, *orderN = out.e[(cb ? 10 : 8) - 1].name;
        CHECK(t, !strcmp(order0, "conv1.weight") && !strcmp(orderN, "fc3.bias"), "network tensors first, in order");
        if (!shuffled && !crc) {
            size_t a, b;
            uint8_t *x = test_read_file(p, &a), *y = test_read_file(q, &b);
            CHECK(t, x && y && a == b && !memcmp(x, y, a), "a canonical checkpoint converts to identical bytes");
            free(x);
            free(y);
        }
        ln_ckpt_free(&in);
        ln_ckpt_free(&out);
        free(s.mem);
    }
}

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

static void test_safetensors(test_ctx *t) {
    char p[512], q[512];
    tpath(p, sizeof p, "st.ckpt");
    tpath(q, sizeof q, "m.safetensors");
    ln_error err;
    for (int cb = 0; cb <= 1; cb++) {
        synth s;
        ln_ckpt c;
        synth_ckpt(&s, cb, p, &c);
        CHECK(t, ln_export_safetensors(&c, p, q, &err) == LN_OK, "safetensors export succeeds");
        size_t len;
        uint8_t *b = test_read_file(q, &len);
        uint64_t h = b ? rd32(b) | (uint64_t)rd32(b + 4) << 32 : 0;
        CHECK(t, b && h % 8 == 0 && 8 + h <= len, "header length is little-endian and a multiple of 8");
        const size_t data_bytes = (cb ? 61706 : 61684) * 4;
        CHECK(t, b && 8 + h + data_bytes == len, "file = 8 + header + every float once");
        char *hdr = b ? strndup((const char *)b + 8, h) : NULL;
        size_t end = hdr ? strlen(hdr) : 0;
        while (end > 0 && hdr[end - 1] == ' ') end--;
        CHECK(t, hdr && hdr[0] == '{' && end > 0 && hdr[end - 1] == '}' && strlen(hdr) == h,
              "header is a JSON object padded with spaces");
        CHECK(t, hdr && strstr(hdr, "\"__metadata__\":{") && strstr(hdr, "\"conv1.weight\":{\"dtype\":\"F32\","
                                                                          "\"shape\":[6,1,5,5],\"data_offsets\":[0,600]}"),
              "metadata and conv1.weight's entry");
        CHECK(t, hdr && (strstr(hdr, "\"conv1.bias\"") != NULL) == cb && !strstr(hdr, "moments."),
              "network tensors only, conv biases as in the checkpoint");
        /* fc3.bias is last: its bytes end the file. */
        const ln_ckpt_entry *fc3b = ln_ckpt_get(&c, "fc3.bias");
        CHECK(t, b && !memcmp(b + len - 40, fc3b->data, 40), "fc3.bias's bytes end the file");
        char want[96];
        snprintf(want, sizeof want, "\"fc3.bias\":{\"dtype\":\"F32\",\"shape\":[10],\"data_offsets\":[%zu,%zu]}",
                 data_bytes - 40, data_bytes);
        CHECK(t, hdr && strstr(hdr, want), "fc3.bias's offsets end at the data size");
        free(hdr);
        free(b);
        ln_ckpt_free(&c);
        free(s.mem);
    }
}

/* ---- an independent protobuf walk of the ONNX ModelProto ---- */
static int varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
    *v = 0;
    for (int s = 0; s < 64 && *p < end; s += 7) {
        uint8_t c = *(*p)++;
        *v |= (uint64_t)(c & 0x7f) << s;
        if (!(c & 0x80)) return 0;
    }
    return -1;
}

/* Count fields by number in a message; for length-delimited ones remember the
 * last body. Returns -1 on malformed input. */
typedef struct { int count[32]; const uint8_t *body[32]; size_t blen[32]; uint64_t ival[32]; } fields;

static int walk(const uint8_t *p, size_t n, fields *f) {
    memset(f, 0, sizeof *f);
    const uint8_t *end = p + n;
    while (p < end) {
        uint64_t key, v;
        if (varint(&p, end, &key)) return -1;
        int num = (int)(key >> 3), wire = (int)(key & 7);
        if (num >= 32) return -1;
        f->count[num]++;
        if (wire == 0) {
            if (varint(&p, end, &v)) return -1;
            f->ival[num] = v;
        } else if (wire == 2) {
            if (varint(&p, end, &v) || v > (uint64_t)(end - p)) return -1;
            f->body[num] = p, f->blen[num] = v;
            p += v;
        } else {
            return -1;
        }
    }
    return 0;
}

static void test_onnx(test_ctx *t) {
    char p[512], q[512];
    tpath(p, sizeof p, "o.ckpt");
    tpath(q, sizeof q, "m.onnx");
    ln_error err;
    for (int cb = 0; cb <= 1; cb++) {
        synth s;
        ln_ckpt c;
        synth_ckpt(&s, cb, p, &c);
        CHECK(t, ln_export_onnx(&c, p, q, &err) == LN_OK, "ONNX export succeeds");
        size_t len;
        uint8_t *b = test_read_file(q, &len);
        fields m, g, op, node;
        CHECK(t, b && walk(b, len, &m) == 0, "the model parses as protobuf");
        CHECK(t, m.count[1] == 1 && m.ival[1] == 7, "ir_version 7");
        CHECK(t, m.count[8] == 1 && walk(m.body[8], m.blen[8], &op) == 0 && op.ival[2] == 13 && op.count[1] == 0,
              "opset_import: default domain, version 13");
        CHECK(t, m.count[7] == 1 && walk(m.body[7], m.blen[7], &g) == 0, "one graph");
        CHECK(t, g.count[1] == 12, "12 nodes (conv relu pool x2, flatten, gemm relu gemm relu gemm)");
        CHECK(t, g.count[5] == (cb ? 10 : 8), "one initializer per network tensor");
        CHECK(t, g.count[11] == 1 && g.count[12] == 1, "one graph input and one output");
        /* The first node is conv1: inputs input, conv1.weight [, conv1.bias]. The
         * walk keeps the first node's body only if we re-walk; find it directly. */
        const uint8_t *gp = m.body[7], *gend = gp + m.blen[7];
        uint64_t key, l;
        varint(&gp, gend, &key);
        varint(&gp, gend, &l);
        CHECK(t, key == ((1 << 3) | 2) && walk(gp, l, &node) == 0 && node.count[1] == (cb ? 3 : 2) &&
                     node.blen[4] == 4 && !memcmp(node.body[4], "Conv", 4),
              "conv1 is a Conv with a bias input exactly when the checkpoint has one");
        free(b);
        ln_ckpt_free(&c);
        free(s.mem);
    }
}

static void test_atomic(test_ctx *t) {
    char p[512];
    tpath(p, sizeof p, "a.ckpt");
    ln_error err;
    synth s;
    make_synth(&s, 1, 0, 0);
    ln_ckpt_write(p, s.it, s.n, 0, &err);
    ln_ckpt c;
    ln_ckpt_read(p, &c, &err);
    err.msg[0] = 0;
    ln_status st = ln_export_safetensors(&c, p, "/nonexistent-folder/x.safetensors", &err);
    CHECK(t, st == LN_E_SYSTEM && strstr(err.msg, "/nonexistent-folder/"), "unwritable output: LN_E_SYSTEM naming it");
    ln_ckpt_free(&c);
    free(s.mem);
}

int main(void) {
    test_ctx t = {"test_export", 0, 0};
    if (test_make_tmpdir(g_tmp, sizeof g_tmp, "export")) return 1;
    test_find_net(&t);
    test_mindspore_roundtrip(&t);
    test_safetensors(&t);
    test_onnx(&t);
    test_atomic(&t);
    test_rm_tmpdir(g_tmp);
    return test_finish(&t);
}
