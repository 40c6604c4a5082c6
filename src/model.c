/* model.c - Model: train with callbacks, eval, predict (see
 * include/lenet/model.h; checkpoints are in model_ckpt.c). */
#include "lenet/model.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lenet/loss.h"
#include "lenet/transform.h"
#include "fpflush.h"
#include "load_internal.h"
#include "net_internal.h"

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

ln_status ln_model_init(ln_model *m, const ln_model_config *cfg, ln_error *err) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->cfg.lr_list = NULL; /* copied into the optimizer; not kept */
    if (cfg->batch_size < 1) return ln_fail(err, LN_E_USAGE, "must be >= 1: `batch_size=%d`", cfg->batch_size);
    ln_status s = ln_lenet_init(&m->net, cfg->conv_bias, cfg->batch_size, cfg->threads, cfg->kernels, err);
    if (s) return s;
    /* The lanes engine evaluates (ln_model_eval) in batches of up to its
     * max_batch: at least LN_MODEL_EVAL_BATCH, so that at a training batch
     * of 16 each thread takes whole groups rather than sharing one stage by
     * stage with barriers (speedrun's final evaluation of the 10,000 test
     * images: ~55 -> ~35 ms, 2 threads). Its per-group memory is touched only
     * where used; results are per row, the same for any batch. */
    if (m->net.engine == LN_ENGINE_LANES && cfg->batch_size < LN_MODEL_EVAL_BATCH) {
        ln_lenet_free(&m->net);
        if ((s = ln_lenet_init(&m->net, cfg->conv_bias, LN_MODEL_EVAL_BATCH, cfg->threads, cfg->kernels, err)))
            return s;
    }
    if (cfg->amp_level != LN_AMP_O0 && (s = ln_lenet_set_amp(&m->net, cfg->amp_level, NULL, err))) {
        ln_lenet_free(&m->net);
        return s;
    }
    ln_momentum_config oc = {.lr = cfg->lr, .lr_list = cfg->lr_list, .lr_len = cfg->lr_len,
                             .momentum = cfg->momentum, .weight_decay = cfg->weight_decay,
                             .loss_scale = cfg->loss_scale, .nesterov = cfg->nesterov, .n_groups = cfg->n_groups,
                             .groups = cfg->groups, .n_order = cfg->n_order, .order_params = cfg->order_params};
    s = ln_momentum_create(&m->opt, &oc, m->net.info, m->net.n_tensors, m->net.n_params, err);
    if (s) { ln_lenet_free(&m->net); return s; }
    m->opt.threads = m->net.threads;
    m->cfg.groups = NULL, m->cfg.order_params = NULL; /* likewise */
    ln_lenet_init_weights(&m->net, cfg->seed);
    const size_t B = (size_t)cfg->batch_size, EB = (size_t)m->net.max_batch; /* EB >= B: evaluation's rows */
    m->xbuf = malloc(sizeof(float) * EB * LN_IMG * LN_IMG);
    m->ybuf = malloc(sizeof(int32_t) * EB);
    m->lossbuf = malloc(sizeof(double) * EB);
    m->pxbuf = malloc(sizeof *m->pxbuf * B);
    if (!m->xbuf || !m->ybuf || !m->lossbuf || !m->pxbuf) {
        ln_model_free(m);
        return ln_fail(err, LN_E_NOMEM, "out of memory for batch buffers");
    }
    /* train_step's gathered images: 1 MB (64 batches of 16); without it
     * (out of memory, the GEMM engine, or several processes, which take
     * step_in_parts) the steps read the data set */
    if (m->net.engine == LN_ENGINE_LANES && ln_dist_size(cfg->dist) == 1) {
        struct ln_lenet_engine *e = m->net.eng;
        const size_t batch_bytes = B * LN_IMG * LN_IMG, fit = ((size_t)1 << 20) / batch_bytes;
        e->stage_cap = fit > 0 ? (int)fit : 1;
        e->stage = malloc((size_t)e->stage_cap * batch_bytes);
    }
    return LN_OK;
}

void ln_model_free(ln_model *m) {
    ln_lenet_free(&m->net);
    ln_momentum_free(&m->opt);
    free(m->xbuf);
    free(m->ybuf);
    free(m->lossbuf);
    free(m->pxbuf);
    memset(m, 0, sizeof *m);
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t bytes) {
    const unsigned char *b = data;
    for (size_t i = 0; i < bytes; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* Record the data position of the epoch the pipeline just prepared; in a
 * data-parallel run every rank's order hash (rank 0 saves the checkpoints). */
static ln_status note_epoch(ln_model *m, const ln_pipeline *p, ln_error *err) {
    ln_pipeline_save(p, &m->pos.data);
    m->pos.world_size = ln_dist_size(m->cfg.dist);
    return ln_dist_allgather(m->cfg.dist, &m->pos.data.order_hash, sizeof(uint64_t), m->pos.rank_hash, err);
}

/* Every rank must hold the same weights and moments: compare a checksum of
 * both across the ranks. */
static ln_status check_replicas(ln_model *m, int epoch, ln_error *err) {
    const int N = ln_dist_size(m->cfg.dist);
    if (N < 2) return LN_OK;
    uint64_t mine = fnv1a(1469598103934665603ull, m->net.params, m->net.n_params * sizeof(float));
    mine = fnv1a(mine, m->opt.moments, m->net.n_params * sizeof(float));
    uint64_t *all = malloc(sizeof(uint64_t) * (size_t)N);
    if (!all) return ln_fail(err, LN_E_NOMEM, "out of memory comparing the replicas");
    ln_status s = ln_dist_allgather(m->cfg.dist, &mine, sizeof mine, all, err);
    for (int r = 1; r < N && !s; r++)
        if (all[r] != all[0]) {
            m->error_everywhere = 1;
            s = ln_fail(err, LN_E_SYSTEM, "replicas differ %s epoch %d: rank %d's weights (checksum %016llx) are not "
                        "rank 0's (%016llx); every rank must run the same lenet build with the same options and "
                        "files", epoch ? "after" : "before", epoch ? epoch : 1, r, (unsigned long long)all[r],
                        (unsigned long long)all[0]);
        }
    free(all);
    return s;
}

/* The first non-finite element of buf (n floats), or -1. */
static long first_non_finite(const float *buf, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(buf[i])) return (long)i;
    return -1;
}

ln_status ln_model_check_finite(const ln_model *m, ln_error *err) {
    for (int k = 0; k < 2; k++) {
        const float *buf = k ? m->opt.moments : m->net.params;
        if (!buf) continue;
        const long i = first_non_finite(buf, m->net.n_params);
        if (i < 0) continue;
        const ln_tensor_info *ti = &m->net.info[0];
        for (int t = 0; t < m->net.n_tensors; t++)
            if ((size_t)i >= m->net.info[t].offset) ti = &m->net.info[t];
        return ln_fail(err, LN_E_SYSTEM, "training diverged at step %ld: %s%s[%zu] is %s; lower `lr` (the last "
                       "checkpoint saved before it is kept)", m->global_step, k ? "moments." : "", ti->name,
                       (size_t)i - ti->offset, isnan(buf[i]) ? "NaN" : "infinite");
    }
    return LN_OK;
}

#define CALL_HOOKS(hook, arg)                                                          \
    do {                                                                               \
        for (int c_ = 0; c_ < n_cbs && !s; c_++)                                      \
            if (cbs[c_].hook) s = cbs[c_].hook(cbs[c_].user, m, (arg), err);          \
    } while (0)

static ln_status diverged(const ln_model *m, int epoch, int b, double loss, ln_error *err) {
    return ln_fail(err, LN_E_SYSTEM, "training diverged at step %ld (epoch %d, step %d): the loss is %s; lower `lr` "
                   "(the last checkpoint saved before it is kept)", m->global_step + 1, epoch, b + 1,
                   isnan(loss) ? "NaN" : "infinite");
}

static ln_status step_in_parts(ln_model *m, ln_pipeline *p, int epoch, int b, double *loss_out, int *rows_out,
                               ln_error *err);

/* Point rows [0, rows) of pixels at batch b's images in the stage, if it
 * holds them; returns whether it did. */
static int staged_refs(const struct ln_lenet_engine *e, const ln_pipeline *p, int b, int rows, const uint8_t **pixels) {
    if (!e->stage || e->stage_epoch != ln_pipeline_epoch(p) || b < e->stage_b0 || b >= e->stage_b0 + e->stage_nb)
        return 0;
    const size_t first = (size_t)(b - e->stage_b0) * (size_t)ln_pipeline_batch_size(p);
    for (int i = 0; i < rows; i++) pixels[i] = e->stage + (first + (size_t)i) * LN_IMG * LN_IMG;
    return 1;
}

/* One training step on batch b; returns the batch's mean loss. */
static ln_status train_step(ln_model *m, ln_pipeline *p, int epoch, int b, double *loss_out, int *rows_out,
                            ln_error *err) {
    if (ln_dist_size(m->cfg.dist) == 1 && m->net.engine == LN_ENGINE_LANES) {
        /* One process, lanes engine: the whole step in one parallel pass. */
        const int rows = ln_pipeline_refs(p, b, m->pxbuf, m->ybuf), nb = ln_pipeline_num_batches(p);
        /* Its images from the stage: every stage_cap steps the images of
         * the coming batches are gathered into it (many misses in flight at
         * once), so that a step reads them from 1 MB instead of from
         * anywhere in the data set, a TLB miss and a DRAM access an image
         * that the thread waits for. Measured on 2 vCPUs of a Xeon, paired
         * runs against the same build without it: speedrun (batch 16, 2
         * threads) training time -7.1% (8 pairs, 0.89-0.97); batch 32 on 2
         * threads -2.4% (10 pairs), on 1 thread +0.1% (8 pairs); the upper
         * bound, every step given the same batch (its images in cache):
         * -12.5%. A stage of 256 KB or 512 KB gained less. Same pixels,
         * same bits. (Each thread used to prefetch the next step's rows at
         * the end of a step; with the stage that made no difference in
         * paired runs, 0.99-1.01, so it went.) */
        struct ln_lenet_engine *e = m->net.eng;
        if (e->stage && !staged_refs(e, p, b, rows, m->pxbuf)) {
            e->stage_nb = nb - b < e->stage_cap ? nb - b : e->stage_cap;
            if (e->stage_until > m->global_step && e->stage_until - m->global_step < e->stage_nb)
                e->stage_nb = (int)(e->stage_until - m->global_step); /* no more than this call will take */
            e->stage_b0 = b, e->stage_epoch = ln_pipeline_epoch(p);
            ln_pipeline_gather(p, b, e->stage_nb, e->stage, m->net.threads);
            staged_refs(e, p, b, rows, m->pxbuf);
        }
        double loss = 0.0;
        if (ln_lenet_train_step(&m->net, m->pxbuf, m->ybuf, rows, m->cfg.loss_scale, &m->opt, m->lossbuf, &loss))
            return diverged(m, epoch, b, loss, err);
        m->global_step = m->opt.global_step;
        *loss_out = loss;
        *rows_out = rows;
        return LN_OK;
    }
    /* The loss and its scaling as well as the layers compute with
     * subnormals flushed (fpflush.h), as in the one-pass step. */
    const unsigned fp = ln_fpflush_enter();
    const ln_status s = step_in_parts(m, p, epoch, b, loss_out, rows_out, err);
    ln_fpflush_leave(fp);
    return s;
}

/* train_step for several processes or the GEMM engine: forward, loss,
 * backward, gradient mean over the ranks, optimizer, one after another. */
static ln_status step_in_parts(ln_model *m, ln_pipeline *p, int epoch, int b, double *loss_out, int *rows_out,
                               ln_error *err) {
    const int rows = ln_pipeline_batch(p, b, m->xbuf, m->ybuf);
    ln_lenet_forward(&m->net, m->xbuf, rows);
    ln_lenet_zero_grad(&m->net);
    float *dlogits = ln_lenet_acts_of(&m->net)->dlogits;
    const double loss = ln_softmax_xent(ln_lenet_logits(&m->net), m->ybuf, rows, LN_CLASSES, dlogits, NULL);
    if (!isfinite(loss)) return diverged(m, epoch, b, loss, err);
    /* Loss scaling: MindSpore multiplies the loss's gradient by the scale and
     * the optimizer divides it out again. */
    if (m->cfg.loss_scale != 1.0f)
        for (int i = 0; i < rows * LN_CLASSES; i++) dlogits[i] *= m->cfg.loss_scale;
    ln_lenet_backward(&m->net, dlogits, rows);
    /* Data parallel: the mean of every rank's gradients, the same bits on
     * every rank (rank-order sum), so every rank takes the same step. */
    ln_status s = ln_dist_allreduce_mean(m->cfg.dist, m->net.grads, m->net.n_params, err);
    if (s) return s;
    ln_momentum_step(&m->opt, m->net.params, m->net.grads);
    m->global_step = m->opt.global_step;
    *loss_out = loss;
    *rows_out = rows;
    return LN_OK;
}

ln_status ln_model_train(ln_model *m, ln_pipeline *p, int epochs, long max_steps, const ln_callback *cbs,
                         int n_cbs, ln_error *err) {
    const int nb = ln_pipeline_num_batches(p), bs = ln_pipeline_batch_size(p);
    if (nb < 1)
        return ln_fail(err, LN_E_USAGE, "no full batch of %d in %u training images: `batch_size`; lower it", bs,
                       ln_pipeline_size(p));
    if (bs > m->cfg.batch_size) /* not net.max_batch: that can be larger, for evaluation (ln_model_init) */
        return ln_fail(err, LN_E_USAGE, "pipeline batch %d exceeds the model's batch size %d", bs, m->cfg.batch_size);
    ln_status s = LN_OK;
    m->error_everywhere = 0;
    if (ln_dist_size(m->cfg.dist) > LN_MAX_WORLD)
        return ln_fail(err, LN_E_USAGE, "too many processes (%d): at most %d can train together",
                       ln_dist_size(m->cfg.dist), LN_MAX_WORLD);
    int start_e = 1, start_b = 0;
    if (m->pos.valid) {
        /* The data the model was trained on so far must be what `p` gives;
         * in a data-parallel run, this rank's shard. */
        ln_pipeline_pos mine = m->pos.data;
        if (m->pos.world_size > 1) mine.order_hash = m->pos.rank_hash[ln_dist_rank(m->cfg.dist)];
        if ((s = ln_pipeline_restore(p, &mine, m->pos.epoch, err))) return s;
        if (m->pos.steps_per_epoch != nb)
            return ln_fail(err, LN_E_INPUT, "the checkpoint was trained with %d steps per epoch, this pipeline has "
                           "%d; use the same training data and batch size", m->pos.steps_per_epoch, nb);
        start_e = m->pos.epoch, start_b = m->pos.step;
        if (start_b >= nb) start_e++, start_b = 0;
    }
    /* Steps this call will take at most; a rate list must cover them. */
    long todo = epochs >= start_e ? (long)(epochs - start_e + 1) * nb - start_b : 0;
    if (max_steps > 0 && max_steps - m->global_step < todo) todo = max_steps - m->global_step;
    if (todo > 0 && ln_momentum_steps_left(&m->opt) < todo)
        return ln_fail(err, LN_E_USAGE, "the learning-rate list has %ld steps but the run needs %ld (from step %ld); "
                       "give a longer list or fewer `epochs` / `max_steps`", m->opt.lr_len,
                       m->global_step + todo, m->global_step);
    ln_run_info run = {epochs, start_e, start_b, nb, m->global_step, max_steps, bs};
    m->stop = 0;
    /* The stage (train_step) holds images of this call's pipeline only:
     * another call may bring another pipeline, or other data, whose epoch
     * and batch numbers repeat. */
    m->net.eng->stage_nb = 0;
    m->net.eng->stage_until = m->global_step + todo;
    if ((s = check_replicas(m, 0, err))) return s;
    CALL_HOOKS(begin, &run);
    for (int e = start_e; e <= epochs && !s && !m->stop; e++) {
        if (max_steps > 0 && m->global_step >= max_steps) break;
        if (ln_pipeline_epoch(p) > e)
            return ln_fail(err, LN_E_USAGE, "the pipeline has prepared %d epochs; training resumes in epoch %d (pass "
                           "a fresh pipeline)", ln_pipeline_epoch(p), e);
        while (ln_pipeline_epoch(p) < e) ln_pipeline_next_epoch(p);
        if ((s = note_epoch(m, p, err))) return s; /* the data fingerprint of this epoch */
        m->pos.steps_per_epoch = nb;
        const double t0 = now_seconds();
        double loss_sum = 0.0;
        long images = 0;
        ln_epoch_info ei = {.epoch = e, .lr_first = ln_momentum_current_lr(&m->opt)};
        for (int b = e == start_e ? start_b : 0; b < nb && !s && !m->stop; b++) {
            if (max_steps > 0 && m->global_step >= max_steps) break;
            const float lr = ln_momentum_current_lr(&m->opt);
            double loss = 0.0;
            int rows = 0;
            if ((s = train_step(m, p, e, b, &loss, &rows, err))) return s;
            m->pos.epoch = e, m->pos.step = b + 1, m->pos.valid = 1;
            ei.steps++;
            ei.lr_last = lr;
            ei.complete = b + 1 == nb;
            images += rows;
            loss_sum += loss;
            ln_step_info si = {e, b + 1, nb, m->global_step, rows, (float)loss, lr};
            CALL_HOOKS(step_end, &si);
        }
        if (s || (s = check_replicas(m, e, err))) return s;
        const double dt = now_seconds() - t0;
        ei.mean_loss = ei.steps ? loss_sum / ei.steps : 0.0;
        ei.seconds = dt;
        ei.images_per_second = dt > 0 ? images / dt : 0.0;
        if (ei.steps && (s = ln_model_check_finite(m, err))) return s;
        if (ei.steps) CALL_HOOKS(epoch_end, &ei);
    }
    if (!s) CALL_HOOKS(end, &run);
    return s;
}

/* Data parallel: every rank's counts, summed in rank order. */
static void sum_over_ranks(ln_model *m, ln_metrics *out) {
    const int N = ln_dist_size(m->cfg.dist);
    ln_metrics *all = malloc(sizeof *all * (size_t)N);
    ln_error err;
    if (!all || ln_dist_allgather(m->cfg.dist, out, sizeof *out, all, &err)) {
        free(all);
        return;
    }
    ln_metrics_reset(out);
    for (int r = 0; r < N; r++) {
        out->correct += all[r].correct, out->total += all[r].total, out->loss_sum += all[r].loss_sum;
        for (int i = 0; i < LN_CLASSES; i++)
            for (int j = 0; j < LN_CLASSES; j++) out->confusion[i][j] += all[r].confusion[i][j];
    }
    free(all);
}

void ln_model_eval(ln_model *m, const ln_dataset *ds, long limit, ln_metrics *out) {
    long n = ds->images.count;
    if (limit > 0 && limit < n) n = limit;
    /* Data parallel: rank r evaluates rows [n*r/N, n*(r+1)/N). */
    const long N = ln_dist_size(m->cfg.dist), r = ln_dist_rank(m->cfg.dist);
    ln_lenet_eval_range(&m->net, ds, n * r / N, n * (r + 1) / N, out, m->xbuf, m->ybuf, m->lossbuf);
    if (N > 1) sum_over_ranks(m, out);
}

void ln_model_predict(ln_model *m, const float *images, int B, float *probs) {
    ln_lenet_predict(&m->net, images, B, probs);
}
