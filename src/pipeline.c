/* pipeline.c - sampler, shuffle buffer, batching (see include/lenet/pipeline.h). */
#include "lenet/pipeline.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "lenet/rng.h"
#include "lenet/transform.h"

struct ln_pipeline_state {
    ln_pipeline_config cfg;
    const ln_dataset *ds;
    uint32_t n;           /* rows in the data set */
    uint32_t len;         /* rows per epoch of this shard (n when not sharded) */
    uint32_t *perm;       /* sampler permutation (carried across epochs) */
    uint32_t *shard;      /* this epoch's rows of the shard, before the shuffle buffer */
    uint32_t *order;      /* this epoch's final row order (len rows) */
    uint32_t *buf;        /* shuffle buffer scratch */
    uint8_t *resized;     /* (n, 32, 32) every image after Resize */
    int owns_resized;     /* 0: `resized` is the data set's own (already 32x32) pixels */
    ln_mt64 shuffle_rng;  /* continues across epochs */
    int epoch;            /* epochs prepared so far */
};

ln_status ln_pipeline_init(ln_pipeline *pl, const ln_dataset *ds, const ln_pipeline_config *cfg,
                           ln_error *err) {
    pl->s = NULL;
    if (cfg->batch_size < 1)
        return ln_fail(err, LN_E_USAGE, "must be >= 1: `batch_size=%d`", cfg->batch_size);
    if (cfg->shuffle && cfg->buffer_size < 2)
        return ln_fail(err, LN_E_USAGE, "shuffle buffer size must be >= 2 (got %d)", cfg->buffer_size);
    const int shards = cfg->num_shards > 1 ? cfg->num_shards : 1;
    if (cfg->shard_id < 0 || cfg->shard_id >= shards)
        return ln_fail(err, LN_E_USAGE, "shard %d of %d does not exist", cfg->shard_id, shards);
    struct ln_pipeline_state *p = calloc(1, sizeof *p);
    if (!p) return ln_fail(err, LN_E_NOMEM, "out of memory for the data pipeline");
    pl->s = p;
    p->cfg = *cfg;
    p->cfg.num_shards = shards;
    p->ds = ds;
    p->n = ds->images.count;
    p->len = (uint32_t)(((uint64_t)p->n + (uint64_t)shards - 1) / (uint64_t)shards);
    p->perm = malloc(sizeof(uint32_t) * (p->n ? p->n : 1));
    p->shard = malloc(sizeof(uint32_t) * (p->len ? p->len : 1));
    p->order = malloc(sizeof(uint32_t) * (p->len ? p->len : 1));
    p->buf = malloc(sizeof(uint32_t) * (size_t)(cfg->buffer_size > 0 ? cfg->buffer_size : 1));
    const ln_idx_images *im = &ds->images;
    const int have32 = im->rows == LN_IMG && im->cols == LN_IMG; /* resized already (ln_dataset_resize32) */
    p->resized = have32 ? im->pixels : malloc((size_t)p->n * LN_IMG * LN_IMG);
    p->owns_resized = !have32;
    if (!p->perm || !p->shard || !p->order || !p->buf || !p->resized) {
        ln_pipeline_free(pl);
        return ln_fail(err, LN_E_NOMEM, "out of memory for the data pipeline");
    }
    for (uint32_t i = 0; i < p->n; i++) p->perm[i] = i;
    ln_mt64_seed(&p->shuffle_rng, cfg->seed);
    if (have32) return LN_OK;
    ln_resize_plan *plan = malloc(sizeof *plan);
    if (!plan) {
        ln_pipeline_free(pl);
        return ln_fail(err, LN_E_NOMEM, "out of memory for the data pipeline");
    }
    ln_resize_plan_init(plan, (int)im->rows, (int)im->cols, LN_IMG, LN_IMG);
    const long n = (long)p->n;
    #pragma omp parallel for num_threads(cfg->threads > 0 ? cfg->threads : 1) schedule(static)
    for (long i = 0; i < n; i++)
        ln_resize_plan_apply(plan, im->pixels + (size_t)i * im->rows * im->cols,
                             p->resized + (size_t)i * LN_IMG * LN_IMG);
    free(plan);
    return LN_OK;
}

void ln_pipeline_free(ln_pipeline *pl) {
    struct ln_pipeline_state *p = pl->s;
    if (p) {
        if (p->owns_resized) free(p->resized);
        free(p->perm);
        free(p->shard);
        free(p->order);
        free(p->buf);
        free(p);
    }
    pl->s = NULL;
}

int ln_pipeline_epoch(const ln_pipeline *p) { return p->s->epoch; }
uint32_t ln_pipeline_size(const ln_pipeline *p) { return p->s->n; }
uint32_t ln_pipeline_shard_size(const ln_pipeline *p) { return p->s->len; }
int ln_pipeline_batch_size(const ln_pipeline *p) { return p->s->cfg.batch_size; }
const uint32_t *ln_pipeline_order(const ln_pipeline *p) { return p->s->order; }

ln_status ln_dataset_resize32(ln_dataset *ds, int threads, ln_error *err) {
    ln_idx_images *im = &ds->images;
    const size_t n = im->count, ssz = (size_t)im->rows * im->cols, dsz = LN_IMG * LN_IMG;
    if (im->rows == LN_IMG && im->cols == LN_IMG) return LN_OK;
    if (ssz > dsz)
        return ln_fail(err, LN_E_USAGE, "images of %ux%u are larger than the network's %dx%d input: %s", im->rows,
                       im->cols, LN_IMG, LN_IMG, ds->images_path);
    /* Grow the buffer (a large block grows by remapping, not by copying), then
     * resize from the last image to the first: image i's result ends at
     * (i+1)*dsz and starts at i*dsz >= i*ssz, past every source image before
     * i, so only the sources of images >= i are overwritten - those of a
     * block are copied aside first, and later blocks are done already. */
    enum { BLOCK = 512 };
    uint8_t *block = malloc(BLOCK * ssz);
    ln_resize_plan *pl = malloc(sizeof *pl);
    uint8_t *px = block && pl ? realloc(im->pixels, n * dsz) : NULL;
    if (!px) {
        free(block), free(pl);
        return ln_fail(err, LN_E_NOMEM, "out of memory to resize %zu images: %s", n, ds->images_path);
    }
    im->pixels = px;
    ln_resize_plan_init(pl, (int)im->rows, (int)im->cols, LN_IMG, LN_IMG);
    for (size_t end = n; end > 0;) {
        const size_t first = end > BLOCK ? end - BLOCK : 0;
        const long cnt = (long)(end - first);
        memcpy(block, px + first * ssz, (size_t)cnt * ssz);
        ln_resize_plan_apply_rows(pl, block, cnt, px + first * dsz, threads);
        end = first;
    }
    free(block), free(pl);
    im->rows = im->cols = LN_IMG;
    return LN_OK;
}

/* MindSpore's ShuffleOp over the sampler's output `in` (n rows) -> `out`. */
static void shuffle_buffer(const uint32_t *in, uint32_t n, uint32_t *buf, int bufsize, ln_mt64 *rng,
                           uint32_t *out) {
    uint32_t filled = n < (uint32_t)bufsize ? n : (uint32_t)bufsize, next = filled, emitted = 0;
    memcpy(buf, in, sizeof(uint32_t) * filled);
    if (filled == 0) return;
    uint32_t last = filled - 1;
    for (;;) {
        uint32_t k = (uint32_t)(ln_mt64_next(rng) % ((uint64_t)last + 1));
        out[emitted++] = buf[k];
        buf[k] = buf[last];
        if (next < n) {
            buf[last] = in[next++];
        } else {
            if (last == 0) break;
            last--;
        }
    }
}

void ln_pipeline_next_epoch(ln_pipeline *pl) {
    struct ln_pipeline_state *p = pl->s;
    if (p->cfg.shuffle) {
        ln_mt32 r;
        ln_mt32_seed(&r, p->cfg.seed + (uint32_t)p->epoch);
        ln_std_shuffle(p->perm, p->n, &r, LN_LIBSTDCXX_DOWNSCALE);
    }
    /* DistributedSampler: item k of shard r is perm[(N*k + r) mod n]; one
     * shard is the whole perm. */
    const uint64_t N = (uint64_t)p->cfg.num_shards, r = (uint64_t)p->cfg.shard_id;
    for (uint32_t k = 0; k < p->len; k++) p->shard[k] = p->perm[(N * k + r) % p->n];
    if (p->cfg.shuffle) shuffle_buffer(p->shard, p->len, p->buf, p->cfg.buffer_size, &p->shuffle_rng, p->order);
    else memcpy(p->order, p->shard, sizeof(uint32_t) * p->len);
    p->epoch++;
}

int ln_pipeline_num_batches(const ln_pipeline *pl) {
    const struct ln_pipeline_state *p = pl->s;
    int b = p->cfg.batch_size;
    return p->cfg.drop_remainder ? (int)(p->len / (uint32_t)b) : (int)((p->len + (uint32_t)b - 1) / (uint32_t)b);
}


int ln_pipeline_batch(const ln_pipeline *pl, int b, float *images, int32_t *labels) {
    const struct ln_pipeline_state *p = pl->s;
    int bs = p->cfg.batch_size;
    long first = (long)b * bs;
    int rows = (int)((long)p->len - first < bs ? (long)p->len - first : bs);
    const long next = first + bs; /* the next batch's rows: fetched into cache now, read next step */
    #pragma omp parallel for num_threads(p->cfg.threads) schedule(static) if (rows >= 16 && p->cfg.threads > 1)
    for (int i = 0; i < rows; i++) {
        const uint32_t row = p->order[first + i];
        const uint8_t *restrict src = p->resized + (size_t)row * LN_IMG * LN_IMG;
        float *restrict dst = images + (size_t)i * LN_IMG * LN_IMG;
        /* Arithmetic rather than a table lookup: the same bits (see
         * ln_normalize_px), about 3x faster because it vectorises. */
        for (int k = 0; k < LN_IMG * LN_IMG; k++) dst[k] = ln_normalize_px((float)src[k]);
        labels[i] = (int32_t)p->ds->labels.labels[row];
        if (next + i < (long)p->len) {
            const char *nx = (const char *)(p->resized + (size_t)p->order[next + i] * LN_IMG * LN_IMG);
            for (int k = 0; k < LN_IMG * LN_IMG; k += 64) __builtin_prefetch(nx + k);
        }
    }
    return rows;
}

int ln_pipeline_refs(const ln_pipeline *pl, int b, const uint8_t **pixels, int32_t *labels) {
    const struct ln_pipeline_state *p = pl->s;
    const int bs = p->cfg.batch_size;
    const long first = (long)b * bs;
    const int rows = (int)((long)p->len - first < bs ? (long)p->len - first : bs);
    for (int i = 0; i < rows; i++) {
        const uint32_t row = p->order[first + i];
        pixels[i] = p->resized + (size_t)row * LN_IMG * LN_IMG;
        if (labels) labels[i] = (int32_t)p->ds->labels.labels[row];
    }
    return rows;
}

long ln_pipeline_gather(const ln_pipeline *pl, int b, int nb, uint8_t *dst, int threads) {
    const struct ln_pipeline_state *p = pl->s;
    const long first = (long)b * p->cfg.batch_size, want = (long)nb * p->cfg.batch_size;
    const long rows = (long)p->len - first < want ? (long)p->len - first : want;
    /* Each thread copies its share of the rows in order, reading row i + 2D
     * for real (its page walk: prefetches alone did not help, README
     * "Numbers") and prefetching row i + D's lines, so the misses
     * of a few rows are in flight while one is copied. Measured (speedrun, 2
     * threads, 1,024 rows a call): 1.0-1.2 ms a call without, 0.83-0.99 ms
     * with D = 4; D = 1, 2, 8, 16 were no better. */
    enum { PX = LN_IMG * LN_IMG, D = 4 };
    const int asked = threads > 1 && rows >= 64 ? threads : 1;
    #pragma omp parallel num_threads(asked) if (asked > 1)
    {
        /* the threads the runtime gave (fewer where it limits them, or
         * inside another parallel region), not the threads asked for */
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        const long lo = rows * t / nt, hi = rows * (t + 1) / nt;
        for (long i = lo; i < hi; i++) {
            if (i + 2 * D < hi) (void)*(volatile const uint8_t *)(p->resized + (size_t)p->order[first + i + 2 * D] * PX);
            if (i + D < hi)
                for (int k = 0; k < PX; k += 64) __builtin_prefetch(p->resized + (size_t)p->order[first + i + D] * PX + k, 0, 0);
            memcpy(dst + (size_t)i * PX, p->resized + (size_t)p->order[first + i] * PX, PX);
        }
    }
    return rows;
}

void ln_pipeline_rows(const ln_dataset *ds, uint32_t first, int count, int threads, float *images,
                      int32_t *labels) {
    const ln_idx_images *im = &ds->images;
    ln_resize_plan *pl = malloc(sizeof *pl);
    if (!pl) { /* keep going without the plan: the same bits, slower */
        for (int i = 0; i < count; i++) {
            ln_transform_image(im->pixels + (size_t)(first + i) * im->rows * im->cols, (int)im->rows, (int)im->cols,
                               images + (size_t)i * LN_IMG * LN_IMG);
            labels[i] = (int32_t)ds->labels.labels[first + i];
        }
        return;
    }
    ln_resize_plan_init(pl, (int)im->rows, (int)im->cols, LN_IMG, LN_IMG);
    #pragma omp parallel for num_threads(threads) schedule(static) if (count >= 16)
    for (int i = 0; i < count; i++) {
        ln_transform_planned(pl, im->pixels + (size_t)(first + i) * im->rows * im->cols,
                             images + (size_t)i * LN_IMG * LN_IMG);
        labels[i] = (int32_t)ds->labels.labels[first + i];
    }
    free(pl);
}

/* FNV-1a 64 of the epoch's row order (ids as 4 little-endian bytes). */
static uint64_t order_hash(const struct ln_pipeline_state *p) {
    uint64_t h = 1469598103934665603ull;
    for (uint32_t i = 0; i < p->len; i++)
        for (int k = 0; k < 4; k++) h = (h ^ ((p->order[i] >> (8 * k)) & 0xff)) * 1099511628211ull;
    return h;
}

void ln_pipeline_save(const ln_pipeline *pl, ln_pipeline_pos *pos) {
    const struct ln_pipeline_state *p = pl->s;
    memset(pos, 0, sizeof *pos);
    pos->seed = p->cfg.seed, pos->batch_size = p->cfg.batch_size, pos->shuffle = p->cfg.shuffle;
    pos->rows = (int32_t)p->n;
    pos->order_hash = order_hash(p);
    memcpy(pos->rng, p->shuffle_rng.mt, sizeof pos->rng);
    pos->rng_idx = p->shuffle_rng.idx;
}

ln_status ln_pipeline_restore(ln_pipeline *pl, const ln_pipeline_pos *q, int epoch, ln_error *err) {
    struct ln_pipeline_state *p = pl->s;
    if (q->seed != p->cfg.seed)
        return ln_fail(err, LN_E_INPUT, "the checkpoint was trained with `seed=%u`, not %u; continue it with "
                       "`seed=%u`", q->seed, p->cfg.seed, q->seed);
    if (q->batch_size != p->cfg.batch_size)
        return ln_fail(err, LN_E_INPUT, "the checkpoint was trained with `batch_size=%d`, not %d; continue it "
                       "with `batch_size=%d`", q->batch_size, p->cfg.batch_size, q->batch_size);
    if (q->shuffle != p->cfg.shuffle)
        return ln_fail(err, LN_E_INPUT, "the checkpoint was trained with `shuffle=%s` but this run has "
                       "`shuffle=%s`; continue it with the checkpoint's setting", q->shuffle ? "on" : "off",
                       p->cfg.shuffle ? "on" : "off");
    if ((uint32_t)q->rows != p->n)
        return ln_fail(err, LN_E_INPUT, "the checkpoint was trained on %d images, this data set has %u; use the "
                       "same training data", q->rows, p->n);
    if (p->epoch > epoch)
        return ln_fail(err, LN_E_USAGE, "the pipeline has prepared %d epochs; training resumes in epoch %d (pass "
                       "a fresh pipeline)", p->epoch, epoch);
    while (p->epoch < epoch) ln_pipeline_next_epoch(pl);
    if (epoch > 0 && (order_hash(p) != q->order_hash || memcmp(q->rng, p->shuffle_rng.mt, sizeof q->rng) ||
                      q->rng_idx != p->shuffle_rng.idx))
        return ln_fail(err, LN_E_INPUT, "epoch %d's data order differs from the checkpoint's (other training data "
                       "or another pipeline version); cannot continue exactly", epoch);
    return LN_OK;
}
