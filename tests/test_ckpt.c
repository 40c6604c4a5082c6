/* test_ckpt.c - MindSpore checkpoints: the bytes ln_model_save writes (checked
 * against an independent protobuf encoder in this file and MindSpore's
 * reference size), ln_ckpt_read, ln_model_load_weights round trips, and the
 * rejection of every kind of damaged or mismatched file (LN_E_INPUT, a
 * one-line message naming the tensor or problem, parameters unchanged). */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"
#include "lenet/bytebuf.h"
#include "lenet/ckpt.h"
#include "lenet/fileio.h"
#include "lenet/model.h"

static char g_tmp[256];

static void tpath(char *out, size_t sz, const char *name) { snprintf(out, sz, "%s/%s", g_tmp, name); }

static int write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = len ? fwrite(data, 1, len, f) : 0;
    return (fclose(f) == 0 && w == len) ? 0 : -1;
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* ---- an independent encoder of MindSpore's Checkpoint message ----
 * record := 0x0A len(Value) Value
 * Value  := 0x0A len(name) name  0x12 len(Tensor) Tensor
 * Tensor := (0x08 varint(dim))*  0x12 len(type) type  0x1A len(content) content
 * A scalar is written with the single dim 0. */
typedef struct {
    uint8_t *b;
    size_t n, cap;
} buf_t;

static void bput(buf_t *b, const void *p, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->b = realloc(b->b, b->cap);
    }
    memcpy(b->b + b->n, p, n);
    b->n += n;
}
static void bvarint(buf_t *b, uint64_t v) {
    uint8_t tmp[10];
    size_t k = 0;
    while (v >= 0x80) tmp[k++] = (uint8_t)(v | 0x80), v >>= 7;
    tmp[k++] = (uint8_t)v;
    bput(b, tmp, k);
}
static void bbyte(buf_t *b, uint8_t c) { bput(b, &c, 1); }
static void blenfield(buf_t *b, uint8_t key, const void *p, size_t n) {
    bbyte(b, key);
    bvarint(b, n);
    bput(b, p, n);
}

static void enc_record(buf_t *out, const char *name, const char *dtype, int ndim, const int64_t *dims,
                       const void *data, size_t nbytes) {
    buf_t tensor = {0}, value = {0};
    if (ndim == 0) bbyte(&tensor, 0x08), bvarint(&tensor, 0);
    for (int d = 0; d < ndim; d++) bbyte(&tensor, 0x08), bvarint(&tensor, (uint64_t)dims[d]);
    blenfield(&tensor, 0x12, dtype, strlen(dtype));
    blenfield(&tensor, 0x1A, data, nbytes);
    blenfield(&value, 0x0A, name, strlen(name));
    blenfield(&value, 0x12, tensor.b, tensor.n);
    blenfield(out, 0x0A, value.b, value.n);
    free(tensor.b);
    free(value.b);
}

/* ---- model helpers ---- */

static ln_model_config base_cfg(int conv_bias, uint32_t seed) {
    ln_model_config c = {.conv_bias = conv_bias, .batch_size = 4, .lr = 0.01f, .momentum = 0.9f,
                         .weight_decay = 0.f, .loss_scale = 1.f, .nesterov = 0, .seed = seed, .threads = 1,
                         .kernels = NULL};
    return c;
}

static const char *const names_bias[] = {"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight",
                                         "fc1.bias",     "fc2.weight", "fc2.bias",     "fc3.weight", "fc3.bias"};
static const int shapes_bias[10][5] = {/* ndim, dims */
                                       {4, 6, 1, 5, 5}, {1, 6},  {4, 16, 6, 5, 5}, {1, 16}, {2, 120, 400},
                                       {1, 120},        {2, 84, 120}, {1, 84},     {2, 10, 84}, {1, 10}};

/* Items exactly as the model's checkpoint should hold them, in order. */
static int model_items(const ln_model *m, ln_ckpt_item *items, char names[][64]) {
    const ln_lenet *net = &m->net;
    int n = 0;
    for (int i = 0; i < net->n_tensors; i++) {
        const ln_tensor_info *ti = &net->info[i];
        ln_ckpt_item it = {ti->name, "Float32", ti->ndim, {0}, net->params + ti->offset};
        for (int d = 0; d < ti->ndim; d++) it.dims[d] = ti->shape[d];
        items[n++] = it;
    }
    items[n++] = (ln_ckpt_item){"learning_rate", "Float32", 0, {0}, &m->opt.lr};
    items[n++] = (ln_ckpt_item){"momentum", "Float32", 0, {0}, &m->opt.momentum};
    for (int i = 0; i < net->n_tensors; i++) {
        const ln_tensor_info *ti = &net->info[i];
        snprintf(names[i], 64, "moments.%s", ti->name);
        ln_ckpt_item it = {names[i], "Float32", ti->ndim, {0}, m->opt.moments + ti->offset};
        for (int d = 0; d < ti->ndim; d++) it.dims[d] = ti->shape[d];
        items[n++] = it;
    }
    return n;
}

/* Encode items with the test's own encoder; record ends go to `ends`. */
static buf_t encode_items(const ln_ckpt_item *items, int n, size_t *ends) {
    buf_t b = {0};
    for (int i = 0; i < n; i++) {
        size_t count = 1;
        for (int d = 0; d < items[i].ndim; d++) count *= (size_t)items[i].dims[d];
        enc_record(&b, items[i].name, items[i].dtype, items[i].ndim, items[i].dims, items[i].data, count * 4);
        if (ends) ends[i] = b.n;
    }
    return b;
}

/* A failed load: LN_E_INPUT, one line containing `needle`, params intact. */
static int load_fails(ln_model *m, const char *path, const char *needle, const char *needle2) {
    static float snap[61706]; /* the largest network; reused (cheap under ASan) */
    size_t nb = m->net.n_params * sizeof(float);
    if (nb > sizeof snap) return 0;
    memcpy(snap, m->net.params, nb);
    ln_error err = {0};
    ln_status s = ln_model_load_weights(m, path, &err);
    int ok = s == LN_E_INPUT && err.status == LN_E_INPUT && err.msg[0] && !strchr(err.msg, '\n') &&
             (!needle || strstr(err.msg, needle)) && (!needle2 || strstr(err.msg, needle2)) &&
             !memcmp(snap, m->net.params, nb);
    if (!ok || getenv("TEST_VERBOSE")) printf("  [%s] status %d: %s\n", ok ? "ok" : "BAD", (int)s, err.msg);
    return ok;
}

static int read_fails(const char *path) {
    ln_ckpt c;
    ln_error err = {0};
    ln_status s = ln_ckpt_read(path, &c, &err);
    int ok = s == LN_E_INPUT && err.msg[0] && !strchr(err.msg, '\n') && strstr(err.msg, path) && c.n == 0 && c.e == NULL;
    if (s == LN_OK) ln_ckpt_free(&c);
    return ok;
}

/* ---- tests ---- */

static void test_save_format(test_ctx *t, ln_model *m, const char *path) {
    /* Give the optimizer state recognisable values. */
    for (size_t i = 0; i < m->net.n_params; i++) m->opt.moments[i] = (float)i * 0.5f - 7.0f;
    ln_error err = {0};
    ln_status s = ln_model_save(m, path, &err);
    CHECK(t, s == LN_OK, "ln_model_save (conv bias on)");
    if (s) { printf("  %s\n", err.msg); return; }

    ln_ckpt c;
    s = ln_ckpt_read(path, &c, &err);
    CHECK(t, s == LN_OK && c.n == 22 && c.had_crc == 0, "ln_ckpt_read: 22 records, no CRC trailer");
    if (s) { printf("  %s\n", err.msg); return; }
    int names_ok = c.n == 22, shapes_ok = 1, data_ok = 1, moments_ok = 1;
    for (int i = 0; i < 10 && names_ok; i++) {
        char mom[64];
        snprintf(mom, sizeof mom, "moments.%s", names_bias[i]);
        names_ok &= !strcmp(c.e[i].name, names_bias[i]) && !strcmp(c.e[12 + i].name, mom);
        for (int k = 0; k < 2; k++) {
            const ln_ckpt_entry *e = &c.e[k ? 12 + i : i];
            shapes_ok &= e->ndim == shapes_bias[i][0] && !strcmp(e->dtype, "Float32");
            size_t count = 1;
            for (int d = 0; d < shapes_bias[i][0] && d < e->ndim; d++) {
                shapes_ok &= e->dims[d] == shapes_bias[i][1 + d];
                count *= (size_t)shapes_bias[i][1 + d];
            }
            shapes_ok &= e->count == count && e->nbytes == count * 4;
        }
        const ln_tensor_info *ti = &m->net.info[i];
        data_ok &= c.e[i].nbytes == ti->size * 4 && !memcmp(c.e[i].data, m->net.params + ti->offset, ti->size * 4);
        moments_ok &= c.e[12 + i].nbytes == ti->size * 4 &&
                      !memcmp(c.e[12 + i].data, m->opt.moments + ti->offset, ti->size * 4);
    }
    names_ok &= !strcmp(c.e[10].name, "learning_rate") && !strcmp(c.e[11].name, "momentum");
    CHECK(t, names_ok, "names in order: conv1.weight, conv1.bias, ..., fc3.bias, learning_rate, momentum, moments.*");
    CHECK(t, shapes_ok, "every parameter and moment: dtype Float32, MindSpore shape, count, bytes");
    CHECK(t, data_ok, "parameter contents == model params");
    CHECK(t, moments_ok, "moments.* contents == optimizer moments");
    float lr, mom;
    const ln_ckpt_entry *e = ln_ckpt_get(&c, "learning_rate");
    CHECK(t, e && e->ndim == 1 && e->dims[0] == 0 && e->count == 1 && e->nbytes == 4 && !strcmp(e->dtype, "Float32"),
          "learning_rate: scalar stored as dims [0], 1 element, Float32");
    if (e) memcpy(&lr, e->data, 4);
    CHECK(t, e && lr == 0.01f, "learning_rate value 0.01f");
    e = ln_ckpt_get(&c, "momentum");
    if (e) memcpy(&mom, e->data, 4);
    CHECK(t, e && e->ndim == 1 && e->dims[0] == 0 && mom == 0.9f, "momentum: dims [0], value 0.9f");
    CHECK(t, ln_ckpt_get(&c, "no.such") == NULL, "ln_ckpt_get of an absent name is NULL");
    ln_ckpt_free(&c);
    CHECK(t, c.n == 0 && c.e == NULL, "ln_ckpt_free clears the struct");

    /* The whole file equals the independent encoder's output. */
    ln_ckpt_item items[22];
    char mnames[10][64];
    int n = model_items(m, items, mnames);
    buf_t want = encode_items(items, n, NULL);
    size_t len;
    uint8_t *got = test_read_file(path, &len);
    CHECK(t, got && len == want.n && !memcmp(got, want.b, len), "file bytes == independent protobuf encoding");
    /* learning_rate's record, byte for byte. */
    static const uint8_t lr_rec[] = {0x0A, 0x22, 0x0A, 0x0D, 'l', 'e', 'a', 'r', 'n', 'i', 'n', 'g', '_', 'r', 'a',
                                     't',  'e',  0x12, 0x11, 0x08, 0x00, 0x12, 0x07, 'F', 'l', 'o', 'a', 't', '3',
                                     '2',  0x1A, 0x04, 0x0A, 0xD7, 0x23, 0x3C};
    int found = 0;
    for (size_t i = 0; got && i + sizeof lr_rec <= len; i++)
        if (!memcmp(got + i, lr_rec, sizeof lr_rec)) found++;
    CHECK(t, found == 1, "learning_rate record bytes == 0A 22 0A 0D 'learning_rate' 12 11 08 00 12 07 'Float32' 1A 04 0A D7 23 3C");
    free(got);
    free(want.b);
}

static void test_sizes_no_bias(test_ctx *t) {
    ln_model m;
    ln_model_config cfg = base_cfg(0, 3);
    ln_error err;
    if (ln_model_init(&m, &cfg, &err)) { CHECK(t, 0, "model init (no conv bias)"); return; }
    char p[512];
    tpath(p, sizeof p, "nobias.ckpt");
    ln_status s = ln_model_save(&m, p, &err);
    CHECK(t, s == LN_OK && m.net.n_params == 61684, "save a no-conv-bias model (61,684 params)");
    CHECK(t, file_size(p) == 494155, "no-conv-bias checkpoint is 494,155 bytes (MindSpore's tutorial checkpoint)");
    ln_ckpt c;
    s = ln_ckpt_read(p, &c, &err);
    CHECK(t, s == LN_OK && c.n == 18 && !strcmp(c.e[1].name, "conv2.weight") && !strcmp(c.e[8].name, "learning_rate") &&
                 !strcmp(c.e[10].name, "moments.conv1.weight") && !strcmp(c.e[17].name, "moments.fc3.bias"),
          "no-conv-bias checkpoint: 18 records in MindSpore's order");
    if (!s) ln_ckpt_free(&c);
    ln_model_free(&m);
}

static void test_roundtrip(test_ctx *t, const char *path_a) {
    ln_model a, b;
    ln_model_config ca = base_cfg(1, 3), cb = base_cfg(1, 4);
    ln_error err = {0};
    if (ln_model_init(&a, &ca, &err) || ln_model_init(&b, &cb, &err)) { CHECK(t, 0, "init models"); return; }
    size_t nb = a.net.n_params * sizeof(float);
    CHECK(t, memcmp(a.net.params, b.net.params, nb) != 0, "seeds 3 and 4 give different weights");
    ln_status s = ln_model_load_weights(&b, path_a, &err);
    CHECK(t, s == LN_OK && !memcmp(a.net.params, b.net.params, nb), "ln_model_load_weights round-trips params bit for bit");
    int mom_zero = 1;
    for (size_t i = 0; i < b.opt.n; i++) mom_zero &= b.opt.moments[i] == 0.0f;
    CHECK(t, mom_zero && b.opt.lr == 0.01f, "loading weights leaves the optimizer state alone");
    /* Save b again: identical weights -> identical parameter records. */
    char p[512];
    tpath(p, sizeof p, "b.ckpt");
    s = ln_model_save(&b, p, &err);
    ln_ckpt c1, c2;
    int same = s == LN_OK && !ln_ckpt_read(path_a, &c1, &err) && !ln_ckpt_read(p, &c2, &err);
    if (same) {
        for (int i = 0; i < 10; i++) same &= c1.e[i].nbytes == c2.e[i].nbytes && !memcmp(c1.e[i].data, c2.e[i].data, c1.e[i].nbytes);
        ln_ckpt_free(&c1);
        ln_ckpt_free(&c2);
    }
    CHECK(t, same, "save -> load -> save keeps every parameter record");
    /* Overwriting an existing checkpoint replaces it atomically. */
    for (size_t i = 0; i < b.net.n_params; i++) b.net.params[i] = 1.0f;
    s = ln_model_save(&b, p, &err);
    ln_model_config cc = base_cfg(1, 5);
    ln_model c;
    int ok = s == LN_OK && !ln_model_init(&c, &cc, &err);
    if (ok) {
        ok = !ln_model_load_weights(&c, p, &err) && c.net.params[0] == 1.0f && c.net.params[c.net.n_params - 1] == 1.0f;
        ln_model_free(&c);
    }
    CHECK(t, ok, "saving over an existing checkpoint replaces its contents");
    ln_model_free(&a);
    ln_model_free(&b);
}

static void test_truncations(test_ctx *t, ln_model *m, const char *path_a) {
    size_t len;
    uint8_t *full = test_read_file(path_a, &len);
    ln_ckpt_item items[22];
    char mnames[10][64];
    int n = model_items(m, items, mnames);
    size_t ends[22];
    buf_t enc = encode_items(items, n, ends);
    free(enc.b);
    char p[512];
    tpath(p, sizeof p, "trunc.ckpt");
    write_file(p, full, len);
    /* Offsets, descending (the file is shrunk in place): the last 1..20
     * bytes cut, then every 97th byte. A cut exactly at a record boundary
     * leaves a well-formed, shorter checkpoint: the reader cannot know, so
     * there the load must fail only if a network tensor is gone. */
    size_t offs[8000];
    int no = 0;
    for (size_t k = 1; k <= 20; k++) offs[no++] = len - k;
    for (size_t o = (len - 21) / 97 * 97; ; o -= 97) {
        offs[no++] = o;
        if (o < 97) break;
    }
    int bad = 0, reads_bad = 0, boundary = 0, boundary_ok = 1;
    for (int i = 0; i < no; i++) {
        if (truncate(p, (off_t)offs[i]) != 0) { bad++; continue; }
        int at_boundary = 0, full_params = 0;
        for (int r = 0; r < n; r++)
            if (ends[r] == offs[i]) at_boundary = 1, full_params = r >= 9;
        if (at_boundary) {
            boundary++;
            ln_error err = {0};
            size_t nb = m->net.n_params * sizeof(float);
            float *snap = malloc(nb);
            memcpy(snap, m->net.params, nb);
            ln_status s = ln_model_load_weights(m, p, &err);
            boundary_ok &= full_params ? s == LN_OK : (s == LN_E_INPUT && strstr(err.msg, "no tensor") && !memcmp(snap, m->net.params, nb));
            free(snap);
            printf("  cut at record boundary %zu: %s\n", offs[i], s ? err.msg : "loads (all network tensors present)");
            continue;
        }
        /* ln_model_load_weights at every offset; the bare reader's
         * contract (output zeroed) at the last 20 and every 5th. */
        if ((i < 20 || i % 5 == 0) && !read_fails(p)) reads_bad++;
        if (!load_fails(m, p, p, NULL)) bad++;
    }
    char what[200];
    snprintf(what, sizeof what, "%d truncations (last 1..20 bytes, every 97th byte): ln_model_load_weights rejects, one line naming the file, params unchanged", no - boundary);
    CHECK(t, bad == 0, what);
    CHECK(t, reads_bad == 0, "... and ln_ckpt_read rejects them (sampled), output zeroed");
    CHECK(t, boundary_ok, "cuts at record boundaries: missing network tensors are reported");
    free(full);
}

static void test_damaged(test_ctx *t, ln_model *m, const char *path_a) {
    size_t len;
    uint8_t *full = test_read_file(path_a, &len);
    uint8_t *c = malloc(len + 64);
    char p[512];
    tpath(p, sizeof p, "damaged.ckpt");
    /* Varint lengths in the first record (conv1.weight, 150 floats):
     * [0] 0x0A [1..2] len(Value) [3] 0x0A [4] len(name)=12 ... */
    CHECK(t, full[0] == 0x0A && full[3] == 0x0A && full[4] == 12 && !memcmp(full + 5, "conv1.weight", 12),
          "first record starts 0A <len> 0A 0C 'conv1.weight'");
    /* Content length of conv1.weight: 600 = D8 04, right before the data. */
    size_t content_len_at = 0;
    for (size_t i = 17; i + 3 < 80; i++)
        if (full[i] == 0x1A && full[i + 1] == 0xD8 && full[i + 2] == 0x04) content_len_at = i + 1;
    CHECK(t, content_len_at != 0, "found conv1.weight's content length varint (D8 04)");
    struct { size_t at; uint8_t xor; const char *what; } flips[] = {
        {1, 0x01, "record length +-1"},
        {2, 0x01, "record length high byte"},
        {4, 0x01, "name length 12 -> 13"},
        {4, 0x80, "name length gets a continuation bit"},
        {content_len_at, 0x01, "content length 600 -> 601"},
        {content_len_at, 0x08, "content length 600 -> 592"},
        {content_len_at + 1, 0x80, "content length continuation bit"},
        {1, 0x80, "record length high continuation"},
    };
    int ok = 1;
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        memcpy(c, full, len);
        c[flips[i].at] ^= flips[i].xor;
        write_file(p, c, len);
        int r = read_fails(p) && load_fails(m, p, p, NULL);
        if (!r) printf("  flip '%s' at %zu not rejected\n", flips[i].what, flips[i].at);
        ok &= r;
    }
    CHECK(t, ok, "a flipped byte in a varint length (record, name, content): rejected, params unchanged");
    /* Wrong top-level tag: field 2 instead of Checkpoint.value (field 1). */
    memcpy(c, full, len);
    c[0] = 0x12;
    write_file(p, c, len);
    CHECK(t, read_fails(p) && load_fails(m, p, p, NULL), "top-level tag 0x0A changed to 0x12: rejected");
    /* A shorter name that still parses would be an unknown tensor: flip a
     * letter of the name instead -> conv1.weight is missing. */
    memcpy(c, full, len);
    c[5] = 'k';
    write_file(p, c, len);
    CHECK(t, load_fails(m, p, "conv1.weight", NULL), "renamed tensor: 'no tensor conv1.weight'");

    write_file(p, "", 0);
    CHECK(t, read_fails(p) && load_fails(m, p, p, NULL), "empty file: rejected");
    uint32_t x = 99;
    for (size_t i = 0; i < 4096; i++) x = x * 1664525u + 1013904223u, c[i] = (uint8_t)(x >> 24);
    write_file(p, c, 4096);
    CHECK(t, read_fails(p) && load_fails(m, p, p, NULL), "4 KB of random garbage: rejected");
    c[0] = 0x0A;
    write_file(p, c, 4096);
    CHECK(t, read_fails(p), "garbage starting with 0x0A: rejected");
    char dir[512];
    tpath(dir, sizeof dir, "a-directory.ckpt");
    mkdir(dir, 0755);
    CHECK(t, read_fails(dir) && load_fails(m, dir, dir, NULL), "a directory as checkpoint: rejected");
    tpath(dir, sizeof dir, "missing.ckpt");
    CHECK(t, read_fails(dir) && load_fails(m, dir, dir, NULL), "a missing checkpoint: rejected naming it");
    free(c);
    free(full);
}

static void test_mismatches(test_ctx *t, ln_model *m) {
    ln_ckpt_item items[22];
    char mnames[10][64];
    int n = model_items(m, items, mnames);
    ln_error err = {0};
    char p[512];

    /* fc1.weight (120, 401) */
    float *big = calloc(120 * 401, sizeof(float));
    ln_ckpt_item wrong[22];
    memcpy(wrong, items, sizeof wrong);
    wrong[4].dims[1] = 401;
    wrong[4].data = big;
    tpath(p, sizeof p, "shape.ckpt");
    ln_status s = ln_ckpt_write(p, wrong, n, 0, &err);
    CHECK(t, s == LN_OK, "ln_ckpt_write a checkpoint with fc1.weight (120, 401)");
    CHECK(t, load_fails(m, p, "fc1.weight", "(120, 401)"), "wrong shape: rejected naming fc1.weight and (120, 401)");
    /* also a wrong rank: fc3.bias as (10, 1) */
    memcpy(wrong, items, sizeof wrong);
    wrong[9].ndim = 2, wrong[9].dims[1] = 1;
    ln_ckpt_write(p, wrong, n, 0, &err);
    CHECK(t, load_fails(m, p, "fc3.bias", NULL), "wrong rank (fc3.bias (10, 1)): rejected naming fc3.bias");
    free(big);

    /* Float16 fc1.weight: well-formed (96,000 content bytes), wrong dtype. */
    buf_t b = {0};
    uint16_t *half = calloc(120 * 400, 2);
    for (int i = 0; i < n; i++) {
        if (i == 4) {
            enc_record(&b, "fc1.weight", "Float16", 2, items[4].dims, half, 120 * 400 * 2);
            continue;
        }
        size_t count = 1;
        for (int d = 0; d < items[i].ndim; d++) count *= (size_t)items[i].dims[d];
        enc_record(&b, items[i].name, items[i].dtype, items[i].ndim, items[i].dims, items[i].data, count * 4);
    }
    free(half);
    tpath(p, sizeof p, "f16.ckpt");
    write_file(p, b.b, b.n);
    free(b.b);
    ln_ckpt ck;
    s = ln_ckpt_read(p, &ck, &err);
    CHECK(t, s == LN_OK && !strcmp(ln_ckpt_get(&ck, "fc1.weight")->dtype, "Float16") && ln_ckpt_get(&ck, "fc1.weight")->count == 48000,
          "a Float16 tensor is read (dtype Float16, 48000 elements)");
    if (!s) ln_ckpt_free(&ck);
    CHECK(t, load_fails(m, p, "fc1.weight", "Float16"), "wrong dtype Float16: rejected naming fc1.weight and Float16");

    /* Content size that does not fit shape x dtype. */
    b = (buf_t){0};
    float tiny[3] = {1, 2, 3};
    int64_t d6[1] = {6};
    enc_record(&b, "conv1.bias", "Float32", 1, d6, tiny, sizeof tiny);
    tpath(p, sizeof p, "size.ckpt");
    write_file(p, b.b, b.n);
    free(b.b);
    CHECK(t, read_fails(p) && load_fails(m, p, "conv1.bias", NULL), "content bytes != shape x dtype: rejected naming the tensor");
    b = (buf_t){0};
    enc_record(&b, "conv1.bias", "Complex7", 1, d6, tiny, sizeof tiny);
    write_file(p, b.b, b.n);
    free(b.b);
    CHECK(t, load_fails(m, p, "Complex7", NULL), "unknown dtype: rejected naming it");

    /* Missing tensor: everything but fc2.bias. */
    ln_ckpt_item less[22];
    int k = 0;
    for (int i = 0; i < n; i++)
        if (strcmp(items[i].name, "fc2.bias")) less[k++] = items[i];
    tpath(p, sizeof p, "missing.ckpt");
    ln_ckpt_write(p, less, k, 0, &err);
    CHECK(t, load_fails(m, p, "fc2.bias", NULL), "missing tensor: rejected naming fc2.bias");

    /* Optimizer state only. */
    tpath(p, sizeof p, "moments-only.ckpt");
    ln_ckpt_write(p, items + 10, n - 10, 0, &err);
    CHECK(t, load_fails(m, p, "conv1.weight", NULL), "checkpoint with only optimizer state: rejected");

    /* Extra entries are ignored. */
    float extra = 5.0f;
    ln_ckpt_item more[23];
    memcpy(more, items, sizeof(ln_ckpt_item) * (size_t)n);
    more[n] = (ln_ckpt_item){"global_step", "Int32", 0, {0}, &extra};
    tpath(p, sizeof p, "extra.ckpt");
    ln_ckpt_write(p, more, n + 1, 0, &err);
    s = ln_model_load_weights(m, p, &err);
    CHECK(t, s == LN_OK, "extra entries (an Int32 global_step) are ignored");
}

static void test_bias_variants(test_ctx *t, const char *path_bias) {
    ln_model nb, wb;
    ln_model_config c0 = base_cfg(0, 3), c1 = base_cfg(1, 9);
    ln_error err = {0};
    if (ln_model_init(&nb, &c0, &err) || ln_model_init(&wb, &c1, &err)) { CHECK(t, 0, "init models"); return; }
    CHECK(t, load_fails(&nb, path_bias, "conv", "bias"), "conv-bias checkpoint into a no-bias network: rejected");
    char p[512];
    tpath(p, sizeof p, "nobias2.ckpt");
    ln_model_save(&nb, p, &err);
    CHECK(t, load_fails(&wb, p, "conv1.bias", NULL), "no-bias checkpoint into a conv-bias network: rejected naming conv1.bias");
    ln_model_free(&nb);
    ln_model_free(&wb);
}

/* A tensor recorded twice (not a split: the sizes then exceed the shape). */
static void test_duplicate(test_ctx *t, ln_model *m) {
    ln_ckpt_item items[23];
    char mnames[10][64];
    int n = model_items(m, items, mnames);
    items[n] = items[4]; /* fc1.weight again, at the end */
    ln_ckpt_item tmp = items[n];
    memmove(&items[6], &items[5], sizeof items[0] * (size_t)(n - 5));
    items[5] = tmp; /* ... right after the first fc1.weight */
    ln_error err = {0};
    char p[512];
    tpath(p, sizeof p, "dup.ckpt");
    ln_status s = ln_ckpt_write(p, items, n + 1, 0, &err);
    CHECK(t, s == LN_OK && !strcmp(items[4].name, "fc1.weight") && !strcmp(items[5].name, "fc1.weight"),
          "write a checkpoint with fc1.weight recorded twice in a row");
    CHECK(t, read_fails(p) && load_fails(m, p, "fc1.weight", NULL), "tensor recorded twice: rejected naming fc1.weight");
}

static void test_crc(test_ctx *t, ln_model *m) {
    ln_ckpt_item items[22];
    char mnames[10][64];
    int n = model_items(m, items, mnames);
    ln_error err = {0};
    char p[512];
    tpath(p, sizeof p, "crc.ckpt");
    ln_status s = ln_ckpt_write(p, items, n, 1, &err);
    CHECK(t, s == LN_OK, "ln_ckpt_write with a CRC trailer");
    size_t len;
    uint8_t *f = test_read_file(p, &len);
    size_t ends[22];
    buf_t enc = encode_items(items, n, ends);
    uLong crc = crc32(crc32(0L, Z_NULL, 0), enc.b, (uInt)enc.n);
    CHECK(t, f && len == enc.n + 17 && !memcmp(f, enc.b, enc.n) && !memcmp(f + enc.n, "crc_num", 7),
          "CRC file = the records + 17-byte 'crc_num' trailer");
    ln_ckpt c;
    s = ln_ckpt_read(p, &c, &err);
    CHECK(t, s == LN_OK && c.had_crc == 1 && c.n == 22, "matching CRC trailer: reads, had_crc = 1");
    if (!s) ln_ckpt_free(&c);
    s = ln_model_load_weights(m, p, &err);
    CHECK(t, s == LN_OK, "matching CRC trailer: loads");

    /* Flip a content byte (inside fc1.weight): CRC mismatch. */
    uint8_t *g = malloc(len);
    memcpy(g, f, len);
    g[ends[3] + 1000] ^= 0x10;
    write_file(p, g, len);
    CHECK(t, read_fails(p) && load_fails(m, p, "CRC", NULL), "content byte flipped under a CRC trailer: rejected (CRC)");
    /* Flip a trailer byte. */
    memcpy(g, f, len);
    g[len - 1] ^= 0x01;
    write_file(p, g, len);
    CHECK(t, read_fails(p), "trailer digit changed: rejected");
    /* Truncated trailer. */
    write_file(p, f, len - 3);
    CHECK(t, read_fails(p), "truncated trailer: rejected");

    /* MindSpore's own trailer: crc_num + crc as 10-byte big-endian. */
    uint8_t trailer[17];
    memcpy(trailer, "crc_num", 7);
    uint64_t v = crc;
    for (int i = 9; i >= 0; i--) trailer[7 + i] = (uint8_t)v, v >>= 8;
    memcpy(g, enc.b, enc.n);
    memcpy(g + enc.n, trailer, 17);
    write_file(p, g, enc.n + 17);
    s = ln_ckpt_read(p, &c, &err);
    CHECK(t, s == LN_OK && c.had_crc == 1, "MindSpore's big-endian crc_num trailer: reads, had_crc = 1");
    if (!s) ln_ckpt_free(&c);
    CHECK(t, f && len == enc.n + 17 && !memcmp(f + enc.n, trailer, 17),
          "our trailer bytes == MindSpore's (crc_num + 10-byte big-endian CRC)");
    g[enc.n + 16] ^= 0x01;
    write_file(p, g, enc.n + 17);
    CHECK(t, read_fails(p), "big-endian trailer with a wrong CRC: rejected");
    free(g);
    free(f);
    free(enc.b);
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static int has_tmp_file(const char *dir) {
    DIR *d = opendir(dir);
    int found = 0;
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp")) found = 1;
    closedir(d);
    return found;
}

static void test_write_errors(test_ctx *t, ln_model *m) {
    ln_error err = {0};
    char p[512];
    int before = count_entries(g_tmp);
    tpath(p, sizeof p, "no/such/dir/x.ckpt");
    ln_status s = ln_model_save(m, p, &err);
    CHECK(t, s == LN_E_SYSTEM && err.msg[0] && !strchr(err.msg, '\n') && strstr(err.msg, "no/such/dir"),
          "save into a missing folder: LN_E_SYSTEM, one line naming the path");
    CHECK(t, count_entries(g_tmp) == before && !has_tmp_file(g_tmp), "... and no file or temp file left behind");
    /* the target is a directory: refused before anything is written. */
    char sub[300];
    tpath(sub, sizeof sub, "wdir");
    mkdir(sub, 0755);
    snprintf(p, sizeof p, "%s/target.ckpt", sub);
    mkdir(p, 0755);
    memset(&err, 0, sizeof err);
    s = ln_model_save(m, p, &err);
    CHECK(t, s == LN_E_USAGE && !strchr(err.msg, '\n') && strstr(err.msg, "a folder") && strstr(err.msg, p),
          "save onto a directory: refused (LN_E_USAGE) naming it and its kind");
    CHECK(t, count_entries(sub) == 1 && !has_tmp_file(sub), "... and no temp file is left");
    /* read-only folder (skipped as root, who may write anyway) */
    if (geteuid() != 0) {
        char ro[300];
        tpath(ro, sizeof ro, "ro");
        mkdir(ro, 0555);
        snprintf(p, sizeof p, "%s/x.ckpt", ro);
        s = ln_model_save(m, p, &err);
        CHECK(t, s == LN_E_SYSTEM && count_entries(ro) == 0, "save into a read-only folder: LN_E_SYSTEM, nothing left");
    }
}

/* Issue 16: duplicates anywhere, non-finite values, the writer's refusals and
 * clean-up, divergence, message shortening, JSON strings. */
static void test_hostile(test_ctx *t, ln_model *m) {
    ln_ckpt_item items[23];
    char mnames[10][64];
    int n = model_items(m, items, mnames);
    ln_error err = {0};
    char p[512];
    ln_ckpt ck;
    items[n] = items[3]; /* conv2.bias again, at the very end */
    tpath(p, sizeof p, "dup_far.ckpt");
    CHECK(t, ln_ckpt_write(p, items, n + 1, 0, &err) == LN_OK, "write a file with conv2.bias at both ends");
    CHECK(t, ln_ckpt_read(p, &ck, &err) == LN_E_INPUT && strstr(err.msg, "conv2.bias") && strstr(err.msg, "twice"),
          "a duplicate name anywhere in the file: LN_E_INPUT naming it");
    for (int k = 0; k < 2; k++) { /* NaN in a weight, Inf in a moment */
        const int idx = k ? n - 1 : 2;
        const ln_tensor_info *ti = &m->net.info[k ? m->net.n_tensors - 1 : 2];
        float *bad = malloc(ti->size * sizeof(float));
        memcpy(bad, items[idx].data, ti->size * sizeof(float));
        bad[ti->size - 1] = k ? INFINITY : NAN;
        const void *keep = items[idx].data;
        items[idx].data = bad;
        tpath(p, sizeof p, "nonfinite.ckpt");
        CHECK(t, ln_ckpt_write(p, items, n, 0, &err) == LN_OK, "write a file with a non-finite value");
        char want[32];
        snprintf(want, sizeof want, "index %zu ", ti->size - 1);
        CHECK(t, ln_ckpt_read(p, &ck, &err) == LN_E_INPUT && strstr(err.msg, items[idx].name) && strstr(err.msg, want),
              k ? "Inf in the last moment: LN_E_INPUT naming tensor and index" : "NaN in conv2.weight: LN_E_INPUT naming tensor and index");
        items[idx].data = keep;
        free(bad);
    }
    /* the writer: a FIFO target is refused, a folder appearing mid-write
     * fails the rename step and the temporary file is removed */
    tpath(p, sizeof p, "fifo.out");
    mkfifo(p, 0644);
    CHECK(t, ln_write_file_atomic(p, "x", 1, &err) == LN_E_USAGE && strstr(err.msg, "FIFO") && strstr(err.msg, p),
          "a FIFO as output: LN_E_USAGE naming it");
    char sub[400];
    tpath(sub, sizeof sub, "midway");
    mkdir(sub, 0755);
    snprintf(p, sizeof p, "%s/late.ckpt", sub);
    ln_out out;
    ln_status s = ln_out_begin(&out, p, &err);
    if (!s) s = ln_out_write(&out, "data", 4, &err);
    mkdir(p, 0755); /* a folder appears at the target while it is written */
    CHECK(t, ln_out_commit(&out, s, 0, &err) == LN_E_USAGE && strstr(err.msg, "folder"),
          "a folder planted at the target mid-write: refused at the rename");
    CHECK(t, count_entries(sub) == 1 && !has_tmp_file(sub), "... and the temporary file is removed");
    CHECK(t, ln_out_distinct(p, p, "--ckpt", &err) == LN_E_USAGE, "an output that is its input: LN_E_USAGE");
    /* divergence */
    const float w = m->net.params[5];
    m->net.params[5] = NAN;
    CHECK(t, ln_model_check_finite(m, &err) == LN_E_SYSTEM && strstr(err.msg, "diverged") &&
                 strstr(err.msg, "conv1.weight[5]"), "a NaN weight: 'diverged' naming conv1.weight[5]");
    m->net.params[5] = w;
    CHECK(t, ln_model_check_finite(m, &err) == LN_OK, "finite weights and moments pass");
    /* a 100 kB path keeps the reason after it */
    char *longp = malloc(100001);
    memset(longp, 'a', 100000);
    longp[100000] = 0;
    ln_fail(&err, LN_E_INPUT, "cannot open %s (%s); check the path", longp, "No such file");
    CHECK(t, strstr(err.msg, "...") && strstr(err.msg, "(No such file); check the path") && strlen(err.msg) < 300,
          "a 100 kB path is cut in the middle, the reason kept");
    free(longp);
    /* JSON strings are valid UTF-8 */
    ln_buf b;
    ln_buf_init(&b);
    ln_buf_json_str(&b, "a\xff\xc3\xa9\xed\xa0\x80\n");
    CHECK(t, b.len == strlen("\"a\\ufffd\xc3\xa9\\ufffd\\ufffd\\ufffd\\u000a\"") &&
                 !memcmp(b.p, "\"a\\ufffd\xc3\xa9\\ufffd\\ufffd\\ufffd\\u000a\"", b.len),
          "JSON string: stray and surrogate bytes become \\ufffd, valid UTF-8 kept");
    ln_buf_free(&b);
}

int main(void) {
    test_ctx t = {"test_ckpt", 0, 0};
    if (test_make_tmpdir(g_tmp, sizeof g_tmp, "ckpt")) return 1;
    ln_model m;
    ln_model_config cfg = base_cfg(1, 3);
    ln_error err;
    if (ln_model_init(&m, &cfg, &err)) {
        printf("model init failed: %s\n", err.msg);
        return 1;
    }
    CHECK(&t, m.net.n_params == 61706, "conv-bias model has 61,706 params");
    char path_a[512];
    tpath(path_a, sizeof path_a, "a.ckpt");
    test_save_format(&t, &m, path_a);
    test_sizes_no_bias(&t);
    test_roundtrip(&t, path_a);
    test_truncations(&t, &m, path_a);
    test_damaged(&t, &m, path_a);
    test_mismatches(&t, &m);
    test_bias_variants(&t, path_a);
    test_crc(&t, &m);
    test_duplicate(&t, &m);
    test_write_errors(&t, &m);
    test_hostile(&t, &m);
    ln_model_free(&m);
    test_rm_tmpdir(g_tmp);
    return test_finish(&t);
}
