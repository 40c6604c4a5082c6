/* model_ckpt.c - the Model's checkpoints: save (network, optimizer state,
 * training position), load weights (to start a run) and load state (to resume one).
 * See include/lenet/model.h and optim.h for the entries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lenet/load.h"
#include "lenet/model.h"

#define MAX_ITEMS (2 * LN_MAX_TENSORS + LN_MAX_GROUPS + 16)

typedef struct {
    ln_ckpt_item items[MAX_ITEMS];
    int n;
    char names[LN_MAX_TENSORS + LN_MAX_GROUPS][64];
    int nn;
    int32_t ints[16];
    int ni;
    uint32_t rng[625];
    uint32_t hash[2];
    uint32_t rank_hash[2 * LN_MAX_WORLD];
} item_list;

static void add(item_list *l, const char *name, const char *dtype, int ndim, const int64_t *dims, const void *data) {
    ln_ckpt_item *it = &l->items[l->n++];
    *it = (ln_ckpt_item){name, dtype, ndim, {0}, data};
    for (int d = 0; d < ndim; d++) it->dims[d] = dims[d];
}

static void add_tensor(item_list *l, const char *name, const ln_tensor_info *ti, const float *base) {
    int64_t dims[4];
    for (int d = 0; d < ti->ndim; d++) dims[d] = ti->shape[d];
    add(l, name, "Float32", ti->ndim, dims, base + ti->offset);
}

static void add_int(item_list *l, const char *name, int32_t v) {
    l->ints[l->ni] = v;
    add(l, name, "Int32", 0, NULL, &l->ints[l->ni++]);
}

static void build_items(const ln_model *m, item_list *l) {
    const ln_lenet *net = &m->net;
    const ln_momentum *o = &m->opt;
    memset(l, 0, sizeof *l);
    for (int t = 0; t < net->n_tensors; t++) add_tensor(l, net->info[t].name, &net->info[t], net->params);
    if (o->dynamic) {
        l->ints[l->ni] = o->global_step;
        const int64_t one = 1;
        add(l, "global_step", "Int32", 1, &one, &l->ints[l->ni++]);
    }
    const int64_t len = o->lr_len;
    if (o->group_lr) {
        for (int g = 0; g < o->n_groups; g++) {
            snprintf(l->names[l->nn], 64, "learning_rate_group_%d", g);
            add(l, l->names[l->nn++], "Float32", o->dynamic, &len, o->lr_table + (size_t)g * (size_t)len);
        }
    } else {
        add(l, "learning_rate", "Float32", o->dynamic, &len, o->dynamic ? o->lr_default : &o->lr);
    }
    add(l, "momentum", "Float32", 0, NULL, &o->momentum);
    for (int k = 0; k < o->n_tensors; k++) {
        const ln_tensor_info *ti = &net->info[o->order[k]];
        snprintf(l->names[l->nn], 64, "moments.%s", ti->name);
        add_tensor(l, l->names[l->nn++], ti, o->moments);
    }
    const ln_train_position *q = &m->pos;
    if (!q->valid) return;
    add_int(l, "train.epoch", q->epoch);
    add_int(l, "train.step", q->step);
    add_int(l, "train.steps_per_epoch", q->steps_per_epoch);
    add_int(l, "train.global_step", (int32_t)m->global_step);
    const ln_pipeline_pos *d = &q->data;
    add_int(l, "train.seed", (int32_t)d->seed);
    add_int(l, "train.batch_size", d->batch_size);
    add_int(l, "train.shuffle", d->shuffle);
    add_int(l, "train.rows", d->rows);
    l->hash[0] = (uint32_t)d->order_hash, l->hash[1] = (uint32_t)(d->order_hash >> 32);
    const int64_t two = 2, nrng = 625;
    add(l, "train.order_hash", "Int32", 1, &two, l->hash);
    for (int i = 0; i < 312; i++) l->rng[2 * i] = (uint32_t)d->rng[i], l->rng[2 * i + 1] = (uint32_t)(d->rng[i] >> 32);
    l->rng[624] = (uint32_t)d->rng_idx;
    add(l, "train.shuffle_rng", "Int32", 1, &nrng, l->rng);
    if (m->cfg.amp_level != LN_AMP_O0) add_int(l, "train.amp_level", m->cfg.amp_level);
    if (q->world_size > 1) { /* a data-parallel run: every rank's position */
        add_int(l, "train.world_size", q->world_size);
        for (int r = 0; r < q->world_size; r++)
            l->rank_hash[2 * r] = (uint32_t)q->rank_hash[r], l->rank_hash[2 * r + 1] = (uint32_t)(q->rank_hash[r] >> 32);
        const int64_t dims[2] = {q->world_size, 2};
        add(l, "train.rank_order_hash", "Int32", 2, dims, l->rank_hash);
    }
}

ln_status ln_model_save_ex(const ln_model *m, const char *path, const ln_ckpt_write_opts *opts, ln_error *err) {
    item_list *l = malloc(sizeof *l);
    if (!l) return ln_fail(err, LN_E_NOMEM, "out of memory saving %s", path);
    build_items(m, l);
    ln_status s = ln_ckpt_write_ex(path, l->items, l->n, opts, err);
    free(l);
    return s;
}

ln_status ln_model_save(const ln_model *m, const char *path, ln_error *err) {
    return ln_model_save_ex(m, path, NULL, err);
}

ln_status ln_model_load_weights_ckpt(ln_model *m, const ln_ckpt *c, const char *path, ln_error *err) {
    /* Validate every tensor first, then copy: never a partial load. */
    ln_status s = ln_ckpt_check_net(c, path, &m->net, err);
    if (!s) ln_ckpt_copy_tensors(c, m->net.info, m->net.n_tensors, "", m->net.params);
    return s;
}

/* Read `path`, then run `load` on it. */
static ln_status with_ckpt(ln_model *m, const char *path,
                           ln_status (*load)(ln_model *, const ln_ckpt *, const char *, ln_error *), ln_error *err) {
    ln_ckpt c;
    ln_status s = ln_ckpt_read(path, &c, err);
    if (s) return s;
    s = load(m, &c, path, err);
    ln_ckpt_free(&c);
    return s;
}

ln_status ln_model_load_weights(ln_model *m, const char *path, ln_error *err) {
    return with_ckpt(m, path, ln_model_load_weights_ckpt, err);
}

/* An Int32 entry of `count` elements (0 = scalar). */
static const int32_t *get_int(const ln_ckpt *c, const char *path, const char *name, size_t count, ln_status *s,
                              ln_error *err) {
    if (*s) return NULL;
    const ln_ckpt_entry *e = ln_ckpt_get(c, name);
    if (!e) {
        *s = ln_fail(err, LN_E_INPUT, "no %s entry: this checkpoint holds no training position (written by MindSpore "
                     "or an older lenet?): %s; start a new run from its weights instead (`init`)", name, path);
        return NULL;
    }
    const int scalar = e->ndim == 1 && e->dims[0] == 0;
    if (strcmp(e->dtype, "Int32") || (count ? scalar || e->count != count : !scalar)) {
        *s = ln_fail(err, LN_E_INPUT, "entry %s should be Int32 with %zu element(s) (got %s, %zu): %s; the "
                     "checkpoint is corrupt", name, count ? count : 1, e->dtype, e->count, path);
        return NULL;
    }
    return (const int32_t *)(const void *)e->data;
}

ln_status ln_model_load_state_ckpt(ln_model *m, const ln_ckpt *c, const char *path, ln_error *err) {
    ln_status s = ln_ckpt_check_net(c, path, &m->net, err);
    if (!s)
        s = ln_ckpt_check_tensors(c, path, m->net.info, m->net.n_tensors, "moments.",
                                  "a checkpoint without optimizer state can only start a new run (`init`)", err);
    const int32_t *ep = get_int(c, path, "train.epoch", 0, &s, err);
    const int32_t *st = get_int(c, path, "train.step", 0, &s, err);
    const int32_t *spe = get_int(c, path, "train.steps_per_epoch", 0, &s, err);
    const int32_t *gs = get_int(c, path, "train.global_step", 0, &s, err);
    const int32_t *seed = get_int(c, path, "train.seed", 0, &s, err);
    const int32_t *bs = get_int(c, path, "train.batch_size", 0, &s, err);
    const int32_t *sh = get_int(c, path, "train.shuffle", 0, &s, err);
    const int32_t *rows = get_int(c, path, "train.rows", 0, &s, err);
    const int32_t *hash = get_int(c, path, "train.order_hash", 2, &s, err);
    const int32_t *rng = get_int(c, path, "train.shuffle_rng", 625, &s, err);
    /* A data-parallel run's checkpoint continues only with as many ranks. */
    const int32_t one = 1, *ws = ln_ckpt_get(c, "train.world_size") ? get_int(c, path, "train.world_size", 0, &s, err)
                                                                      : &one;
    const int32_t *rh = !s && *ws > 1 ? get_int(c, path, "train.rank_order_hash", 2 * (size_t)*ws, &s, err) : NULL;
    if (!s && (*ws < 1 || *ws > LN_MAX_WORLD))
        s = ln_fail(err, LN_E_INPUT, "train.world_size is %d: %s; the checkpoint is corrupt", *ws, path);
    const int here = ln_dist_size(m->cfg.dist);
    if (!s && *ws != here) {
        char how[64] = "a single process (no mpirun)";
        if (*ws > 1) snprintf(how, sizeof how, "mpirun -np %d", *ws);
        m->error_everywhere = 1;
        s = ln_fail(err, LN_E_INPUT, "the checkpoint was trained by %d process%s and this run has %d: %s; resume "
                    "it with %s, or start a new run from its weights (`init`)", *ws, *ws > 1 ? "es" : "", here, path,
                    how);
    }
    /* A run continues at its own amp level (absent: O0). */
    const int32_t o0 = LN_AMP_O0, *amp = ln_ckpt_get(c, "train.amp_level") ? get_int(c, path, "train.amp_level", 0, &s, err)
                                                                            : &o0;
    if (!s && *amp != m->cfg.amp_level) {
        m->error_everywhere = 1;
        if (*amp != LN_AMP_O0 && *amp != LN_AMP_O2)
            s = ln_fail(err, LN_E_INPUT, "train.amp_level is %d: %s; the checkpoint is corrupt", *amp, path);
        else
            s = ln_fail(err, LN_E_INPUT, "the checkpoint was trained at amp level O%d and this run uses O%d: %s; "
                        "resume it with `amp_level=O%d`, or start a new run from its weights (`init`)", *amp,
                        m->cfg.amp_level, path, *amp);
    }
    if (!s && (*ep < 1 || *st < 1 || *spe < 1 || *st > *spe || *gs < 1 || *bs < 1 || *rows < 1 ||
               (int64_t)(*ep - 1) * *spe + *st != *gs || (uint32_t)rng[624] > 312))
        s = ln_fail(err, LN_E_INPUT, "inconsistent training position (epoch %d, step %d of %d, global step %d): %s; "
                    "the checkpoint is corrupt", *ep, *st, *spe, *gs, path);
    if (!s) {
        ln_ckpt_copy_tensors(c, m->net.info, m->net.n_tensors, "", m->net.params);
        ln_ckpt_copy_tensors(c, m->net.info, m->net.n_tensors, "moments.", m->opt.moments);
        m->opt.global_step = *gs;
        m->global_step = *gs;
        ln_train_position *q = &m->pos;
        memset(q, 0, sizeof *q);
        q->valid = 1;
        q->epoch = *ep, q->step = *st, q->steps_per_epoch = *spe;
        ln_pipeline_pos *d = &q->data;
        d->seed = (uint32_t)*seed, d->batch_size = *bs, d->shuffle = *sh, d->rows = *rows;
        d->order_hash = (uint64_t)(uint32_t)hash[0] | (uint64_t)(uint32_t)hash[1] << 32;
        for (int i = 0; i < 312; i++) d->rng[i] = (uint64_t)(uint32_t)rng[2 * i] | (uint64_t)(uint32_t)rng[2 * i + 1] << 32;
        d->rng_idx = rng[624];
        q->world_size = *ws;
        for (int r = 0; rh && r < *ws; r++)
            q->rank_hash[r] = (uint64_t)(uint32_t)rh[2 * r] | (uint64_t)(uint32_t)rh[2 * r + 1] << 32;
    }
    return s;
}

ln_status ln_model_load_state(ln_model *m, const char *path, ln_error *err) {
    return with_ckpt(m, path, ln_model_load_state_ckpt, err);
}
