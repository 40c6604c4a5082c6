/* load.c - a network from a checkpoint, its checks, predict and eval (see
 * include/lenet/load.h). */
#include "lenet/load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lenet/loss.h"
#include "lenet/pipeline.h"
#include "lenet/transform.h"
#include "load_internal.h"
#include "net_internal.h"

static void shape_str(char *buf, size_t size, const int64_t *d, int n) {
    size_t k = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < n && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, "%s%lld", i ? ", " : "", (long long)d[i]);
    if (k < size) snprintf(buf + k, size - k, ")");
}

ln_status ln_ckpt_conv_bias(const ln_ckpt *c, const char *path, int *conv_bias, ln_error *err) {
    const int b1 = ln_ckpt_get(c, "conv1.bias") != NULL, b2 = ln_ckpt_get(c, "conv2.bias") != NULL;
    if (b1 != b2)
        return ln_fail(err, LN_E_INPUT, "the checkpoint has %s but not %s: %s; a LeNet-5 checkpoint has both conv "
                       "biases or neither", b1 ? "conv1.bias" : "conv2.bias", b1 ? "conv2.bias" : "conv1.bias", path);
    *conv_bias = b1;
    return LN_OK;
}

ln_status ln_ckpt_check_tensors(const ln_ckpt *c, const char *path, const ln_tensor_info *info, int n,
                                const char *prefix, const char *hint, ln_error *err) {
    for (int t = 0; t < n; t++) {
        const ln_tensor_info *ti = &info[t];
        char name[96], ws[64], gs[96];
        snprintf(name, sizeof name, "%s%s", prefix, ti->name);
        int64_t want[4];
        for (int d = 0; d < ti->ndim; d++) want[d] = ti->shape[d];
        shape_str(ws, sizeof ws, want, ti->ndim);
        const ln_ckpt_entry *e = ln_ckpt_get(c, name);
        if (!e)
            return ln_fail(err, LN_E_INPUT, "no tensor %s %s in the checkpoint: %s; %s", name, ws, path,
                           hint ? hint : "not a LeNet-5 checkpoint");
        int same = e->ndim == ti->ndim && e->count == ti->size;
        for (int d = 0; same && d < ti->ndim; d++) same = e->dims[d] == ti->shape[d];
        shape_str(gs, sizeof gs, e->dims, e->ndim);
        if (!same) return ln_fail(err, LN_E_INPUT, "tensor %s has shape %s, LeNet-5 needs %s: %s", name, gs, ws, path);
        if (strcmp(e->dtype, "Float32"))
            return ln_fail(err, LN_E_INPUT, "tensor %s has dtype %s, LeNet-5 needs Float32: %s", name, e->dtype, path);
        if (e->nbytes != ti->size * sizeof(float))
            return ln_fail(err, LN_E_INPUT, "tensor %s has %zu content bytes, LeNet-5 needs %zu: %s", name,
                           e->nbytes, ti->size * sizeof(float), path);
    }
    return LN_OK;
}

ln_status ln_ckpt_check_net(const ln_ckpt *c, const char *path, const ln_lenet *net, ln_error *err) {
    int cb = 0;
    ln_status s = ln_ckpt_conv_bias(c, path, &cb, err);
    if (s) return s;
    if (cb && !net->conv_bias)
        return ln_fail(err, LN_E_INPUT, "the checkpoint has conv biases but the network has none: %s; load it with "
                       "`conv_bias=on`", path);
    return ln_ckpt_check_tensors(c, path, net->info, net->n_tensors, "",
                                 cb == net->conv_bias ? NULL
                                                      : "the checkpoint has no conv biases; load it with `conv_bias=off`",
                                 err);
}

void ln_ckpt_copy_tensors(const ln_ckpt *c, const ln_tensor_info *info, int n, const char *prefix, float *dst) {
    char name[96];
    for (int t = 0; t < n; t++) {
        snprintf(name, sizeof name, "%s%s", prefix, info[t].name);
        memcpy(dst + info[t].offset, ln_ckpt_get(c, name)->data, info[t].size * sizeof(float));
    }
}

ln_status ln_lenet_load_ckpt(ln_lenet *net, const ln_ckpt *c, const char *path, const ln_load_opts *opts,
                             ln_error *err) {
    memset(net, 0, sizeof *net);
    const ln_load_opts o = opts ? *opts : (ln_load_opts){.conv_bias = -1};
    int cb = o.conv_bias;
    ln_status s = LN_OK;
    if (cb < 0 && (s = ln_ckpt_conv_bias(c, path, &cb, err))) return s;
    if ((s = ln_lenet_init(net, cb, o.max_batch > 0 ? o.max_batch : 256, o.threads > 0 ? o.threads : 1, o.kernels,
                           err)))
        return s;
    if ((s = ln_ckpt_check_net(c, path, net, err))) {
        ln_lenet_free(net);
        return s;
    }
    ln_ckpt_copy_tensors(c, net->info, net->n_tensors, "", net->params);
    return LN_OK;
}

ln_status ln_lenet_load(ln_lenet *net, const char *path, const ln_load_opts *opts, ln_error *err) {
    memset(net, 0, sizeof *net);
    ln_ckpt c;
    ln_status s = ln_ckpt_read(path, &c, err);
    if (s) return s;
    s = ln_lenet_load_ckpt(net, &c, path, opts, err);
    ln_ckpt_free(&c);
    return s;
}

void ln_lenet_predict(ln_lenet *net, const float *x, int B, float *probs) {
    const int mb = net->max_batch;
    for (int first = 0; first < B; first += mb) {
        const int rows = B - first < mb ? B - first : mb;
        ln_lenet_forward(net, x + (size_t)first * LN_IMG * LN_IMG, rows);
        for (int r = 0; r < rows; r++)
            ln_softmax_probs(ln_lenet_logits(net) + (size_t)r * LN_CLASSES, LN_CLASSES,
                             probs + (size_t)(first + r) * LN_CLASSES);
    }
}

void ln_lenet_eval_into(ln_lenet *net, const ln_dataset *ds, long limit, ln_metrics *out, float *x, int32_t *y,
                        double *loss) {
    long n = ds->images.count;
    if (limit > 0 && limit < n) n = limit;
    ln_lenet_eval_range(net, ds, 0, n, out, x, y, loss);
}

/* An evaluation's batches. On the lanes engine a batch goes straight from
 * the uint8 images: one parallel region from the pixels to the losses;
 * images not yet 32x32 are resized there, a group at a time, by the thread
 * that runs the group, into a buffer on its stack (rather than a batch at a
 * time in a region of its own, or a resized 10 MB copy of the whole set
 * written out and read back). Otherwise (the GEMM engine, or images larger
 * than a resize plan takes) through the float pipeline. */
typedef struct {
    ln_lenet *net;
    const uint8_t **px; /* lanes: the batch's rows */
    ln_resize_plan *pl; /* lanes, images not 32x32 */
    int lanes;
} eval_ctx;

/* Out of memory, e->lanes is 0: the float path needs nothing more. */
static void eval_ctx_init(eval_ctx *e, ln_lenet *net, const ln_idx_images *im) {
    memset(e, 0, sizeof *e);
    e->net = net;
    if (net->engine != LN_ENGINE_LANES || im->rows > LN_RESIZE_MAX || im->cols > LN_RESIZE_MAX) return;
    const int have32 = im->rows == LN_IMG && im->cols == LN_IMG;
    e->px = malloc(sizeof *e->px * (size_t)net->max_batch);
    e->pl = have32 ? NULL : malloc(sizeof *e->pl);
    if (!e->px || (!have32 && !e->pl)) return;
    if (e->pl) ln_resize_plan_init(e->pl, (int)im->rows, (int)im->cols, LN_IMG, LN_IMG);
    e->lanes = !e->pl || e->pl->ok;
}

static void eval_ctx_free(eval_ctx *e) { free(e->px), free(e->pl); }

/* Rows [first, first + rows) of ds (rows <= max_batch) into out. */
static void eval_batch(eval_ctx *e, const ln_dataset *ds, long first, int rows, ln_metrics *out, float *x,
                       int32_t *y, double *loss) {
    ln_lenet *net = e->net;
    if (e->lanes) {
        const size_t ssz = (size_t)ds->images.rows * ds->images.cols;
        for (int i = 0; i < rows; i++) {
            e->px[i] = ds->images.pixels + (size_t)(first + i) * ssz;
            y[i] = (int32_t)ds->labels.labels[first + i];
        }
        ln_lenet_eval_step(net, e->pl, e->px, y, rows, loss);
    } else {
        ln_pipeline_rows(ds, (uint32_t)first, rows, net->threads, x, y);
        ln_lenet_forward(net, x, rows);
        ln_softmax_xent(ln_lenet_logits(net), y, rows, LN_CLASSES, NULL, loss);
    }
    ln_metrics_update(out, ln_lenet_logits(net), y, rows, loss);
}

void ln_lenet_eval_range(ln_lenet *net, const ln_dataset *ds, long lo, long hi, ln_metrics *out, float *x,
                         int32_t *y, double *loss) {
    ln_metrics_reset(out);
    eval_ctx e;
    eval_ctx_init(&e, net, &ds->images);
    const int B = net->max_batch;
    for (long first = lo; first < hi; first += B)
        eval_batch(&e, ds, first, (int)(hi - first < B ? hi - first : B), out, x, y, loss);
    eval_ctx_free(&e);
}

/* Buffers for max_batch rows: x (B,1,32,32), y (B), loss (B). */
typedef struct {
    float *x;
    int32_t *y;
    double *loss;
} eval_bufs;

static ln_status eval_bufs_new(eval_bufs *b, const ln_lenet *net, ln_error *err) {
    const size_t B = (size_t)net->max_batch;
    b->x = malloc(sizeof(float) * B * LN_IMG * LN_IMG);
    b->y = malloc(sizeof(int32_t) * B);
    b->loss = malloc(sizeof(double) * B);
    if (b->x && b->y && b->loss) return LN_OK;
    free(b->x), free(b->y), free(b->loss);
    return ln_fail(err, LN_E_NOMEM, "out of memory for evaluation buffers (batch %zu)", B);
}

static void eval_bufs_free(eval_bufs *b) { free(b->x), free(b->y), free(b->loss); }

ln_status ln_lenet_eval(ln_lenet *net, const ln_dataset *ds, long limit, ln_metrics *out, ln_error *err) {
    eval_bufs b;
    const ln_status s = eval_bufs_new(&b, net, err);
    if (s) return s;
    ln_lenet_eval_into(net, ds, limit, out, b.x, b.y, b.loss);
    eval_bufs_free(&b);
    return LN_OK;
}

ln_status ln_lenet_eval_stream(ln_lenet *net, ln_idx_stream *st, const ln_dataset *ds, long limit, ln_metrics *out,
                               ln_error *err) {
    ln_metrics_reset(out);
    long n = ds->images.count;
    if (limit > 0 && limit < n) n = limit;
    ln_idx_images shape;
    ln_idx_stream_shape(st, &shape);
    if (shape.count != ds->images.count || shape.rows != ds->images.rows || shape.cols != ds->images.cols ||
        ds->labels.count != shape.count)
        return ln_fail(err, LN_E_USAGE, "the data set (%u images of %ux%u, %u labels) is not the stream's (%u of %ux%u): %s",
                       ds->images.count, ds->images.rows, ds->images.cols, ds->labels.count, shape.count, shape.rows,
                       shape.cols, ds->images_path);
    const int B = n < net->max_batch ? (int)n : net->max_batch; /* (a batch of images in memory, no more) */
    eval_bufs b;
    ln_status s = eval_bufs_new(&b, net, err);
    if (s) return s;
    eval_ctx e;
    uint8_t *chunk = malloc((size_t)ds->images.rows * ds->images.cols * (size_t)B); /* (n >= 1: the stream's count) */
    if (!chunk) {
        eval_bufs_free(&b);
        return ln_fail(err, LN_E_NOMEM, "out of memory for the evaluation (batch %d): %s", B, ds->images_path);
    }
    eval_ctx_init(&e, net, &ds->images);
    /* Each batch is a data set of its own: its images in chunk, its labels
     * ds's; the same batches, in the same order, as ln_lenet_eval. */
    ln_dataset win = *ds;
    win.images.pixels = chunk;
    for (long first = 0; first < n; first += B) {
        const int rows = (int)(n - first < B ? n - first : B);
        if ((s = ln_idx_stream_read(st, (uint32_t)rows, chunk, err))) break;
        win.labels.labels = ds->labels.labels + first;
        win.images.count = win.labels.count = (uint32_t)rows;
        eval_batch(&e, &win, 0, rows, out, b.x, b.y, b.loss);
    }
    if (!s) s = ln_idx_stream_finish(st, err);
    eval_ctx_free(&e);
    free(chunk);
    eval_bufs_free(&b);
    return s;
}
