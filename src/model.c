/* model.c - train / eval / save / load (see include/lenet/model.h). */
#include "lenet/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lenet/loss.h"
#include "lenet/transform.h"

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

ln_status ln_model_init(ln_model *m, const ln_model_config *cfg, ln_error *err) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    ln_status s = ln_lenet_init(&m->net, cfg->conv_bias, cfg->batch_size, cfg->threads, cfg->kernels, err);
    if (s) return s;
    s = ln_momentum_init(&m->opt, m->net.n_params, cfg->lr, cfg->momentum, cfg->weight_decay,
                         cfg->loss_scale, cfg->nesterov, err);
    if (s) { ln_lenet_free(&m->net); return s; }
    ln_lenet_init_weights(&m->net, cfg->seed);
    const size_t B = (size_t)cfg->batch_size;
    m->xbuf = malloc(sizeof(float) * B * LN_IMG * LN_IMG);
    m->ybuf = malloc(sizeof(int32_t) * B);
    m->lossbuf = malloc(sizeof(double) * B);
    if (!m->xbuf || !m->ybuf || !m->lossbuf) {
        ln_model_free(m);
        return ln_fail(err, LN_E_NOMEM, "out of memory for batch buffers");
    }
    return LN_OK;
}

void ln_model_free(ln_model *m) {
    ln_lenet_free(&m->net);
    ln_momentum_free(&m->opt);
    free(m->xbuf);
    free(m->ybuf);
    free(m->lossbuf);
    memset(m, 0, sizeof *m);
}

ln_status ln_model_train_epoch(ln_model *m, ln_pipeline *p, int epoch, long max_steps,
                               const ln_callbacks *cb, ln_epoch_info *out, ln_error *err) {
    const int nb = ln_pipeline_num_batches(p);
    const double t0 = now_seconds();
    double loss_sum = 0.0;
    long images = 0;
    int steps = 0;
    ln_status s = LN_OK;
    for (int b = 0; b < nb; b++) {
        if (max_steps > 0 && m->global_step >= max_steps) break;
        const int rows = ln_pipeline_batch(p, b, m->xbuf, m->ybuf);
        ln_lenet_forward(&m->net, m->xbuf, rows);
        ln_lenet_zero_grad(&m->net);
        /* Loss scaling: MindSpore multiplies the loss's gradient by the scale
         * and the optimizer divides it out again. */
        const double loss = ln_softmax_xent(m->net.act.logits, m->ybuf, rows, LN_CLASSES, m->net.act.dlogits, NULL);
        if (m->cfg.loss_scale != 1.0f)
            for (int i = 0; i < rows * LN_CLASSES; i++) m->net.act.dlogits[i] *= m->cfg.loss_scale;
        if (!isfinite(loss)) {
            s = ln_fail(err, LN_E_SYSTEM, "epoch: %d step: %d, loss is NAN or INF; lower --lr", epoch, b + 1);
            break;
        }
        ln_lenet_backward(&m->net, m->net.act.dlogits, rows);
        ln_momentum_step(&m->opt, m->net.params, m->net.grads);
        m->global_step++;
        steps++;
        images += rows;
        loss_sum += loss;
        if (cb && cb->on_step_end) {
            ln_step_info si = {epoch, b + 1, nb, m->global_step, (float)loss};
            if (cb->on_step_end(cb->user, m, &si)) break;
        }
    }
    const double dt = now_seconds() - t0;
    ln_epoch_info e = {epoch, steps, steps ? loss_sum / steps : 0.0, dt, dt > 0 ? images / dt : 0.0};
    if (out) *out = e;
    if (!s && cb && cb->on_epoch_end) cb->on_epoch_end(cb->user, m, &e);
    return s;
}

void ln_model_eval(ln_model *m, const ln_dataset *ds, long limit, ln_metrics *out) {
    float lut[256];
    ln_normalize_lut(lut);
    ln_metrics_reset(out);
    long n = ds->images.count;
    if (limit > 0 && limit < n) n = limit;
    const int B = m->net.max_batch;
    for (long first = 0; first < n; first += B) {
        const int rows = (int)(n - first < B ? n - first : B);
        ln_pipeline_rows(ds, lut, (uint32_t)first, rows, m->net.threads, m->xbuf, m->ybuf);
        ln_lenet_forward(&m->net, m->xbuf, rows);
        ln_softmax_xent(m->net.act.logits, m->ybuf, rows, LN_CLASSES, NULL, m->lossbuf);
        ln_metrics_update(out, m->net.act.logits, m->ybuf, rows, m->lossbuf);
    }
}

ln_status ln_model_save(const ln_model *m, const char *path, ln_error *err) {
    const ln_lenet *net = &m->net;
    ln_ckpt_item items[2 * LN_MAX_TENSORS + 2];
    int n = 0;
    for (int t = 0; t < net->n_tensors; t++) {
        const ln_tensor_info *ti = &net->info[t];
        ln_ckpt_item it = {ti->name, "Float32", ti->ndim, {0}, net->params + ti->offset};
        for (int d = 0; d < ti->ndim; d++) it.dims[d] = ti->shape[d];
        items[n++] = it;
    }
    items[n++] = (ln_ckpt_item){"learning_rate", "Float32", 0, {0}, &m->opt.lr};
    items[n++] = (ln_ckpt_item){"momentum", "Float32", 0, {0}, &m->opt.momentum};
    char names[LN_MAX_TENSORS][64];
    for (int t = 0; t < net->n_tensors; t++) {
        const ln_tensor_info *ti = &net->info[t];
        snprintf(names[t], sizeof names[t], "moments.%s", ti->name);
        ln_ckpt_item it = {names[t], "Float32", ti->ndim, {0}, m->opt.moments + ti->offset};
        for (int d = 0; d < ti->ndim; d++) it.dims[d] = ti->shape[d];
        items[n++] = it;
    }
    return ln_ckpt_write(path, items, n, 0, err);
}

static void shape_str(char *buf, size_t sz, const int64_t *dims, int ndim) {
    size_t o = (size_t)snprintf(buf, sz, "(");
    for (int d = 0; d < ndim && o < sz; d++)
        o += (size_t)snprintf(buf + o, sz - o, d ? ", %lld" : "%lld", (long long)dims[d]);
    if (o < sz) snprintf(buf + o, sz - o, ")");
}

ln_status ln_model_load_weights(ln_model *m, const char *path, ln_error *err) {
    ln_ckpt c;
    ln_status s = ln_ckpt_read(path, &c, err);
    if (s) return s;
    ln_lenet *net = &m->net;
    /* Validate every tensor first, then copy: never a partial load. */
    for (int t = 0; t < net->n_tensors && !s; t++) {
        const ln_tensor_info *ti = &net->info[t];
        const ln_ckpt_entry *e = ln_ckpt_get(&c, ti->name);
        int64_t want[4];
        for (int d = 0; d < ti->ndim; d++) want[d] = ti->shape[d];
        char ws[64], gs[64];
        shape_str(ws, sizeof ws, want, ti->ndim);
        if (!e) {
            s = ln_fail(err, LN_E_INPUT, "%s: no tensor %s %s in the checkpoint%s", path, ti->name, ws,
                        strstr(ti->name, "conv") && strstr(ti->name, "bias")
                            ? "; it may be a network without conv bias: try --conv-bias off" : "");
            break;
        }
        shape_str(gs, sizeof gs, e->dims, e->ndim);
        int same = e->ndim == ti->ndim && e->count == ti->size;
        for (int d = 0; same && d < ti->ndim; d++) same = e->dims[d] == ti->shape[d];
        if (!same)
            s = ln_fail(err, LN_E_INPUT, "%s: tensor %s has shape %s, the network needs %s", path, ti->name,
                        gs, ws);
        else if (strcmp(e->dtype, "Float32"))
            s = ln_fail(err, LN_E_INPUT, "%s: tensor %s has dtype %s, expected Float32", path, ti->name,
                        e->dtype);
    }
    if (!s && !net->conv_bias && ln_ckpt_get(&c, "conv1.bias"))
        s = ln_fail(err, LN_E_INPUT, "%s: the checkpoint has conv biases but the network has none; use "
                    "--conv-bias on", path);
    if (!s)
        for (int t = 0; t < net->n_tensors; t++) {
            const ln_tensor_info *ti = &net->info[t];
            memcpy(net->params + ti->offset, ln_ckpt_get(&c, ti->name)->data, ti->size * sizeof(float));
        }
    ln_ckpt_free(&c);
    return s;
}
