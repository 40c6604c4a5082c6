/* test_load.c - load.h: a network from a checkpoint without training state
 * (both variants detected, weights bit for bit, defaults), predict and eval
 * equal to the Model's on the same weights, and the one checkpoint check:
 * every mismatch LN_E_INPUT in one line naming the file and the tensor,
 * nothing left to free after a failed load. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"
#include "lenet/export.h"
#include "lenet/load.h"
#include "lenet/model.h"
#include "lenet/pipeline.h"
#include "lenet/metrics.h"
#include "lenet/loss.h"

static char g_dir[64];

static uint8_t hashed_pixel(uint32_t image, uint32_t k) {
    (void)image;
    return (uint8_t)((k * 2654435761u) >> 24);
}

static void tpath(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", g_dir, name); }

static ln_model_config cfg(int conv_bias, int batch) {
    return (ln_model_config){.conv_bias = conv_bias, .batch_size = batch, .lr = 0.05f, .momentum = 0.9f,
                             .loss_scale = 1.f, .seed = 7, .threads = 1};
}

/* A failed load: `st`, one line naming the file and `needle`, *net zeroed. */
static int fails(ln_status st, const ln_error *err, const ln_lenet *net, const char *path, const char *needle) {
    static const ln_lenet zero;
    int ok = st == LN_E_INPUT && err->msg[0] && !strchr(err->msg, '\n') && strstr(err->msg, path) &&
             (!needle || strstr(err->msg, needle)) && !memcmp(net, &zero, sizeof zero);
    if (!ok || getenv("TEST_VERBOSE")) printf("  [%s] status %d: %s\n", ok ? "ok" : "BAD", (int)st, err->msg);
    return ok;
}

static void test_roundtrip(test_ctx *t, const ln_dataset *d) {
    for (int cb = 0; cb <= 1; cb++) {
        char p[128], what[160];
        tpath(p, sizeof p, cb ? "bias.ckpt" : "nobias.ckpt");
        ln_model m;
        ln_model_config c = cfg(cb, 8);
        ln_error err;
        if (ln_model_init(&m, &c, &err) || ln_model_save(&m, p, &err)) { CHECK(t, 0, "model and checkpoint"); return; }
        ln_lenet net;
        ln_status s = ln_lenet_load(&net, p, NULL, &err);
        snprintf(what, sizeof what, "conv bias %s: loaded with defaults, variant from the file, weights bit for bit",
                 cb ? "on" : "off");
        CHECK(t, s == LN_OK && net.conv_bias == cb && net.n_params == m.net.n_params && net.max_batch == 256 &&
                     net.threads == 1 && !memcmp(net.params, m.net.params, net.n_params * sizeof(float)),
              what);
        if (s) { ln_model_free(&m); continue; }
        /* predict: 20 rows, max_batch 8 in the model, 256 here: the same probabilities. */
        static float x[20 * 1024], pa[200], pb[200];
        int32_t y[20];
        ln_pipeline_rows(d, 0, 20, 1, x, y);
        ln_model_predict(&m, x, 20, pa);
        ln_lenet_predict(&net, x, 20, pb);
        int ok = !memcmp(pa, pb, sizeof pa);
        for (int r = 0; r < 20; r++) {
            double sum = 0;
            for (int k = 0; k < 10; k++) sum += pb[r * 10 + k];
            ok &= fabs(sum - 1) < 1e-5;
        }
        snprintf(what, sizeof what, "conv bias %s: ln_lenet_predict = ln_model_predict bit for bit, rows sum to 1",
                 cb ? "on" : "off");
        CHECK(t, ok, what);
        ln_lenet_predict(&net, x, 0, pb); /* B = 0: nothing to do */
        /* eval: the same metrics as the Model's. */
        ln_metrics ma, mb;
        ln_model_eval(&m, d, 0, &ma);
        s = ln_lenet_eval(&net, d, 0, &mb, &err);
        snprintf(what, sizeof what, "conv bias %s: ln_lenet_eval = ln_model_eval (correct, loss, confusion)",
                 cb ? "on" : "off");
        CHECK(t, s == LN_OK && ma.total == mb.total && ma.total == (long)d->images.count && ma.correct == mb.correct &&
                     ma.loss_sum == mb.loss_sum && !memcmp(ma.confusion, mb.confusion, sizeof ma.confusion),
              what);
        ln_lenet_free(&net);
        /* eval of images resized already (the straight uint8 path: one
         * parallel region a batch), batches of 256 and 3, 1 and 2 threads,
         * and the GEMM engine (the float path on 32x32 rows): the same. */
        ln_dataset d32;
        test_dataset(&d32, (uint32_t)d->images.count, hashed_pixel);
        CHECK(t, ln_dataset_resize32(&d32, 1, &err) == LN_OK && d32.images.rows == 32, "resize32 of the test set");
        static const ln_load_opts how[4] = {{.conv_bias = -1, .max_batch = 256, .threads = 1},
                                            {.conv_bias = -1, .max_batch = 3, .threads = 2},
                                            {.conv_bias = -1, .max_batch = 37, .threads = 2},
                                            {.conv_bias = -1, .max_batch = 16, .threads = 2, .kernels = "gemm:auto"}};
        for (int h = 0; h < 4; h++) {
            if (ln_lenet_load(&net, p, &how[h], &err)) { CHECK(t, 0, "load"); continue; }
            if (how[h].kernels) ln_lenet_eval(&net, d, 0, &ma, &err); /* its own bits on the 28x28 rows */
            s = ln_lenet_eval(&net, &d32, 0, &mb, &err);
            snprintf(what, sizeof what, "conv bias %s: resized test set, batch %d, threads %d%s: the same metrics",
                     cb ? "on" : "off", how[h].max_batch, how[h].threads, how[h].kernels ? ", GEMM engine" : "");
            CHECK(t, s == LN_OK && ma.total == mb.total && ma.correct == mb.correct && ma.loss_sum == mb.loss_sum &&
                         !memcmp(ma.confusion, mb.confusion, sizeof ma.confusion),
                  what);
            ln_lenet_free(&net);
        }
        /* ... and the float path they replace (ln_pipeline_rows, forward,
         * ln_softmax_xent), batch by batch: the same metrics bit for bit. */
        if (!ln_lenet_load(&net, p, &how[1], &err)) {
            static float xf[3 * 1024];
            int32_t yf[3];
            double lf[3];
            ln_metrics mf;
            ln_metrics_reset(&mf);
            for (uint32_t first = 0; first < d->images.count; first += 3) {
                const int rows = d->images.count - first < 3 ? (int)(d->images.count - first) : 3;
                ln_pipeline_rows(d, first, rows, 1, xf, yf);
                ln_lenet_forward(&net, xf, rows);
                ln_softmax_xent(ln_lenet_logits(&net), yf, rows, 10, NULL, lf);
                ln_metrics_update(&mf, ln_lenet_logits(&net), yf, rows, lf);
            }
            s = ln_lenet_eval(&net, d, 0, &mb, &err);
            CHECK(t, s == LN_OK && mf.total == mb.total && mf.correct == mb.correct && mf.loss_sum == mb.loss_sum &&
                         !memcmp(mf.confusion, mb.confusion, sizeof mf.confusion),
                  "ln_lenet_eval (uint8 path, resized inside the job) = the float path, bit for bit");
            ln_lenet_free(&net);
        }
        ln_dataset_free(&d32);
        /* Required variant: the file's is accepted, the other is refused naming why. */
        ln_load_opts same = {.conv_bias = cb, .max_batch = 3, .threads = 2};
        s = ln_lenet_load(&net, p, &same, &err);
        CHECK(t, s == LN_OK && net.max_batch == 3 && net.threads == 2 && net.conv_bias == cb,
              "options honoured: the file's variant required, max_batch 3, threads 2");
        if (!s) ln_lenet_free(&net);
        ln_load_opts other = {.conv_bias = !cb};
        err.msg[0] = 0;
        s = ln_lenet_load(&net, p, &other, &err);
        snprintf(what, sizeof what, "conv bias %s file loaded as %s: LN_E_INPUT naming conv1.bias and the setting",
                 cb ? "on" : "off", cb ? "off" : "on");
        CHECK(t, fails(s, &err, &net, p, cb ? "conv biases" : "conv1.bias") && strstr(err.msg, "conv_bias"), what);
        ln_model_free(&m);
    }
}

/* Write the no-state network of a conv-bias model with one change. */
static void write_variant(const char *path, const ln_model *m, const char *drop, const char *reshape,
                          const char *retype) {
    ln_ckpt_item items[LN_MAX_TENSORS];
    int n = 0;
    for (int i = 0; i < m->net.n_tensors; i++) {
        const ln_tensor_info *ti = &m->net.info[i];
        if (drop && !strcmp(ti->name, drop)) continue;
        ln_ckpt_item *it = &items[n++];
        *it = (ln_ckpt_item){ti->name, "Float32", ti->ndim, {0}, m->net.params + ti->offset};
        for (int k = 0; k < ti->ndim; k++) it->dims[k] = ti->shape[k];
        if (reshape && !strcmp(ti->name, reshape)) it->dims[0] = ti->shape[1], it->dims[1] = ti->shape[0];
        if (retype && !strcmp(ti->name, retype)) it->dtype = "Int32";
    }
    ln_error err;
    ln_ckpt_write(path, items, n, 0, &err);
}

static void test_mismatches(test_ctx *t) {
    ln_model m;
    ln_model_config c = cfg(1, 4);
    ln_error err;
    if (ln_model_init(&m, &c, &err)) { CHECK(t, 0, "model"); return; }
    struct { const char *what, *drop, *reshape, *retype, *needle; } cases[] = {
        {"only conv1.bias: refused, the message names both biases", "conv2.bias", NULL, NULL, "conv2.bias"},
        {"fc2.bias missing: 'no tensor fc2.bias (84)'", "fc2.bias", NULL, NULL, "no tensor fc2.bias (84)"},
        {"fc1.weight (400, 120): 'has shape (400, 120), LeNet-5 needs (120, 400)'", NULL, "fc1.weight", NULL,
         "has shape (400, 120), LeNet-5 needs (120, 400)"},
        {"fc3.bias Int32: 'has dtype Int32, LeNet-5 needs Float32'", NULL, NULL, "fc3.bias",
         "fc3.bias has dtype Int32, LeNet-5 needs Float32"},
    };
    char p[128];
    tpath(p, sizeof p, "bad.ckpt");
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        write_variant(p, &m, cases[k].drop, cases[k].reshape, cases[k].retype);
        ln_lenet net;
        err.msg[0] = 0;
        ln_status s = ln_lenet_load(&net, p, NULL, &err);
        CHECK(t, fails(s, &err, &net, p, cases[k].needle), cases[k].what);
        /* The Model's --init check and the exporter say the same. */
        ln_error e2 = {0};
        ln_ckpt ck;
        if (ln_ckpt_read(p, &ck, &e2) == LN_OK) {
            ln_status s2 = ln_model_load_weights_ckpt(&m, &ck, p, &e2);
            CHECK(t, s2 == LN_E_INPUT && !strcmp(e2.msg, err.msg), "ln_model_load_weights_ckpt: the same message");
            ln_export_net en;
            s2 = ln_export_find_net(&ck, p, &en, &e2);
            CHECK(t, s2 == LN_E_INPUT && !strcmp(e2.msg, err.msg), "ln_export_find_net: the same message");
            ln_ckpt_free(&ck);
        }
    }
    /* The optimizer-state table: moments.* named with its prefix and the caller's hint. */
    write_variant(p, &m, NULL, NULL, NULL);
    ln_ckpt ck;
    if (ln_ckpt_read(p, &ck, &err) == LN_OK) {
        ln_status s = ln_ckpt_check_tensors(&ck, p, m.net.info, m.net.n_tensors, "moments.", "HINT", &err);
        CHECK(t, s == LN_E_INPUT && strstr(err.msg, "no tensor moments.conv1.weight (6, 1, 5, 5) in the checkpoint: ") &&
                     strstr(err.msg, "; HINT"),
              "ln_ckpt_check_tensors with prefix moments.: names moments.conv1.weight and ends with the hint");
        CHECK(t, ln_ckpt_check_net(&ck, p, &m.net, &err) == LN_OK, "the whole network passes ln_ckpt_check_net");
        ln_ckpt_free(&ck);
    }
    /* Unreadable files: the reader's error, nothing to free. */
    ln_lenet net;
    tpath(p, sizeof p, "missing.ckpt");
    ln_status s = ln_lenet_load(&net, p, NULL, &err);
    CHECK(t, fails(s, &err, &net, p, NULL), "a missing file: LN_E_INPUT naming it");
    ln_model_free(&m);
}

/* d written as t10k-images / t10k-labels IDX files (gzip if gz, the images
 * file cut `cut` bytes short) in a folder of its own: its path in dir. */
static int write_test_split(const ln_dataset *d, const char *name, int gz, size_t cut, char *dir, size_t n) {
    snprintf(dir, n, "%s/%s", g_dir, name);
    if (mkdir(dir, 0700)) return -1;
    const uint32_t cnt = d->images.count;
    const size_t isz = (size_t)cnt * 784;
    uint8_t hdr[16] = {0, 0, 8, 3, (uint8_t)(cnt >> 24), (uint8_t)(cnt >> 16), (uint8_t)(cnt >> 8), (uint8_t)cnt,
                       0, 0, 0, 28, 0, 0, 0, 28};
    char p[600];
    int ok = 1;
    for (int k = 0; k < 2; k++) {
        snprintf(p, sizeof p, "%s/t10k-%s-idx%d-ubyte%s", dir, k ? "labels" : "images", k ? 1 : 3, gz ? ".gz" : "");
        gzFile f = gzopen(p, gz ? "wb6" : "wbT"); /* T: plain, no gzip */
        if (!f) return -1;
        if (k) hdr[3] = 1; /* labels: magic 2049, the same count */
        ok &= gzwrite(f, hdr, k ? 8 : 16) == (k ? 8 : 16);
        if (k) ok &= gzwrite(f, d->labels.labels, cnt) == (int)cnt;
        else ok &= gzwrite(f, d->images.pixels, (unsigned)(isz - cut)) == (int)(isz - cut);
        ok &= gzclose(f) == Z_OK;
    }
    return ok ? 0 : -1;
}

static int same_metrics(const ln_metrics *a, const ln_metrics *b) {
    return a->total == b->total && a->correct == b->correct && a->loss_sum == b->loss_sum &&
           !memcmp(a->confusion, b->confusion, sizeof a->confusion);
}

/* Evaluate dir's test split through ln_dataset_open and
 * ln_lenet_eval_stream on `net`; LN_E_SYSTEM if the open fails (where a
 * caller expects it to pass). */
static ln_status eval_streamed(ln_lenet *net, const char *dir, long limit, ln_metrics *out, ln_error *err) {
    ln_dataset ds;
    ln_idx_stream *st;
    if (ln_dataset_open(dir, "test", &ds, &st, err)) return LN_E_SYSTEM;
    const ln_status s = ln_lenet_eval_stream(net, st, &ds, limit, out, err);
    ln_idx_stream_close(st);
    ln_dataset_free(&ds);
    return s;
}

/* ln_lenet_eval_stream from the files = ln_lenet_eval of the data set in
 * memory, bit for bit (raw and gzip; batches of 256, 3 and 16; 1 and 2
 * threads; a limit; the GEMM engine); a file that turns out truncated on
 * the way is LN_E_INPUT naming it, also past a limit. */
static void test_stream(test_ctx *t, const ln_dataset *d) {
    char ck[300], dir[300];
    ln_error err;
    ln_model m;
    ln_model_config c = cfg(1, 8);
    tpath(ck, sizeof ck, "stream.ckpt");
    if (ln_model_init(&m, &c, &err) || ln_model_save(&m, ck, &err)) { CHECK(t, 0, "model and checkpoint"); return; }
    ln_model_free(&m);
    static const ln_load_opts how[4] = {{.conv_bias = -1, .max_batch = 256, .threads = 1},
                                        {.conv_bias = -1, .max_batch = 3, .threads = 2},
                                        {.conv_bias = -1, .max_batch = 16, .threads = 2},
                                        {.conv_bias = -1, .max_batch = 16, .threads = 2, .kernels = "gemm:auto"}};
    int ok = 1;
    for (int gz = 0; gz < 2; gz++) {
        if (write_test_split(d, gz ? "stream-gz" : "stream-raw", gz, 0, dir, sizeof dir)) { ok = 0; continue; }
        for (int h = 0; h < 4; h++) {
            const long limit = h == 2 ? 37 : 0;
            ln_lenet net;
            ln_metrics ma, mb;
            if (ln_lenet_load(&net, ck, &how[h], &err)) { ok = 0; continue; }
            ln_status s = ln_lenet_eval(&net, d, limit, &ma, &err);
            if (!s) s = eval_streamed(&net, dir, limit, &mb, &err);
            const int same = s == LN_OK && same_metrics(&ma, &mb) && mb.total == (limit ? limit : 40);
            if (!same) printf("  %s, batch %d, threads %d: status %d (%s)\n", gz ? "gzip" : "raw", how[h].max_batch,
                              how[h].threads, (int)s, err.msg);
            ok &= same;
            ln_lenet_free(&net);
        }
    }
    CHECK(t, ok, "ln_lenet_eval_stream from raw and gzip files = ln_lenet_eval in memory, bit for bit (4 set-ups)");
    /* A gzip file cut inside its images (the header and the labels are
     * fine, so the stream opens; a read finds the end), and one cut after
     * the images a limit evaluates (the rest is still read and checked,
     * ln_idx_stream_finish, as ln_dataset_load would). */
    static const struct { const char *name; size_t cut; long limit; const char *what; } cuts[2] = {
        {"stream-cut", 784 * 30 + 5, 0, "a gzip images file cut short: LN_E_INPUT on the way, naming it"},
        {"stream-cut-late", 784 * 2, 20,
         "... cut after the 20 images a limit of 20 evaluates: LN_E_INPUT all the same (the rest is checked)"}};
    for (int k = 0; k < 2; k++) {
        ln_lenet net;
        ln_metrics mb;
        ln_status s = write_test_split(d, cuts[k].name, 1, cuts[k].cut, dir, sizeof dir) ? LN_E_SYSTEM
                      : ln_lenet_load(&net, ck, &how[k], &err);
        if (!s) {
            s = eval_streamed(&net, dir, cuts[k].limit, &mb, &err);
            ln_lenet_free(&net);
        }
        CHECK(t, s == LN_E_INPUT && strstr(err.msg, "truncated") && strstr(err.msg, "t10k-images-idx3-ubyte.gz") &&
                     !strchr(err.msg, '\n'),
              cuts[k].what);
    }
}

int main(void) {
    test_ctx t = {"test_load", 0, 0};
    snprintf(g_dir, sizeof g_dir, "/tmp/lenet_load_XXXXXX");
    if (!mkdtemp(g_dir)) { CHECK(&t, 0, "temporary folder"); return test_finish(&t); }
    ln_dataset d;
    test_dataset(&d, 40, hashed_pixel);
    test_roundtrip(&t, &d);
    test_mismatches(&t);
    test_stream(&t, &d);
    ln_dataset_free(&d);
    test_rm_tmpdir(g_dir);
    return test_finish(&t);
}
