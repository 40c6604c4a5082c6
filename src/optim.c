/* optim.c - Momentum optimizer with groups and dynamic rates (see
 * include/lenet/optim.h). */
#include "lenet/optim.h"

#include <fnmatch.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "clones.h"
#include "fpflush.h"
#include "split.h"

static ln_status check_hyper(float momentum, float weight_decay, float loss_scale, ln_error *err) {
    if (!(momentum >= 0.f) || !isfinite(momentum))
        return ln_fail(err, LN_E_USAGE, "not a finite number >= 0: `momentum`");
    if (!(weight_decay >= 0.f) || !isfinite(weight_decay))
        return ln_fail(err, LN_E_USAGE, "not a finite number >= 0: `weight_decay`");
    if (!(loss_scale > 0.f) || !isfinite(loss_scale))
        return ln_fail(err, LN_E_USAGE, "not a finite number > 0: `loss_scale`");
    return LN_OK;
}

ln_status ln_momentum_init(ln_momentum *o, size_t n, float lr, float momentum, float weight_decay,
                           float loss_scale, int nesterov, ln_error *err) {
    ln_tensor_info all = {"params", 1, {(int)n, 0, 0, 0}, 0, n};
    ln_momentum_config c = {.lr = lr, .momentum = momentum, .weight_decay = weight_decay,
                            .loss_scale = loss_scale, .nesterov = nesterov};
    return ln_momentum_create(o, &c, &all, 1, n, err);
}

/* Does `name` match one of the ',' or '|' separated globs in `patterns`? */
static int matches(const char *patterns, const char *name) {
    char buf[512];
    size_t len = strlen(patterns);
    if (len >= sizeof buf) return 0;
    memcpy(buf, patterns, len + 1);
    for (char *save = NULL, *p = strtok_r(buf, ",|", &save); p; p = strtok_r(NULL, ",|", &save))
        if (!fnmatch(p, name, 0)) return 1;
    return 0;
}

/* Every single pattern of a group must select at least one tensor. */
static ln_status check_patterns(const char *patterns, int gi, const ln_tensor_info *info, int nt, ln_error *err) {
    char buf[512];
    size_t len = strlen(patterns);
    if (len == 0 || len >= sizeof buf)
        return ln_fail(err, LN_E_USAGE, "no name patterns (or more than 511 characters) in group %d: `groups`; "
                       "give them before ':' (e.g. 'conv*')", gi + 1);
    memcpy(buf, patterns, len + 1);
    for (char *save = NULL, *p = strtok_r(buf, ",|", &save); p; p = strtok_r(NULL, ",|", &save)) {
        int hit = 0;
        for (int t = 0; t < nt && !hit; t++) hit = !fnmatch(p, info[t].name, 0);
        if (!hit)
            return ln_fail(err, LN_E_USAGE, "pattern '%s' matches no parameter in group %d: `groups`; the names are "
                           "conv1.weight, conv1.bias, ..., fc3.bias", p, gi + 1);
    }
    return LN_OK;
}

ln_status ln_momentum_create(ln_momentum *o, const ln_momentum_config *cfg, const ln_tensor_info *info,
                             int n_tensors, size_t n, ln_error *err) {
    memset(o, 0, sizeof *o);
    if (n_tensors < 1 || n_tensors > LN_MAX_TENSORS)
        return ln_fail(err, LN_E_USAGE, "optimizer over %d tensors (1..%d allowed)", n_tensors, LN_MAX_TENSORS);
    if (cfg->n_groups < 0 || cfg->n_groups >= LN_MAX_GROUPS)
        return ln_fail(err, LN_E_USAGE, "too many groups: `groups`; give at most %d", LN_MAX_GROUPS - 1);
    ln_status s = check_hyper(cfg->momentum, cfg->weight_decay, cfg->loss_scale, err);
    if (s) return s;
    const int dynamic = cfg->lr_list != NULL;
    if (dynamic && cfg->lr_len < 1) return ln_fail(err, LN_E_USAGE, "learning-rate list is empty");
    if (!dynamic && (!(cfg->lr >= 0.f) || !isfinite(cfg->lr)))
        return ln_fail(err, LN_E_USAGE, "not a finite number >= 0: `lr`");
    for (int g = 0; g < cfg->n_groups; g++) {
        const ln_group_spec *gs = &cfg->groups[g];
        if ((s = check_patterns(gs->patterns ? gs->patterns : "", g, info, n_tensors, err))) return s;
        if (gs->set_lr && (!(gs->lr >= 0.f) || !isfinite(gs->lr)))
            return ln_fail(err, LN_E_USAGE, "lr of group %d is not a finite number >= 0: `groups`", g + 1);
        if (gs->set_weight_decay && (!(gs->weight_decay >= 0.f) || !isfinite(gs->weight_decay)))
            return ln_fail(err, LN_E_USAGE, "weight_decay of group %d is not a finite number >= 0: `groups`", g + 1);
    }
    o->lr = dynamic ? cfg->lr_list[0] : cfg->lr;
    o->momentum = cfg->momentum, o->weight_decay = cfg->weight_decay, o->loss_scale = cfg->loss_scale;
    o->nesterov = cfg->nesterov;
    o->n = n;
    o->threads = 1;
    o->n_tensors = n_tensors;
    memcpy(o->info, info, sizeof *info * (size_t)n_tensors);

    /* Assign tensors to groups; the implicit group takes the rest. */
    const int ng = cfg->n_groups;
    int rest = 0;
    for (int t = 0; t < n_tensors; t++) {
        int gi = -1;
        for (int g = 0; g < ng; g++) {
            if (!matches(cfg->groups[g].patterns, info[t].name)) continue;
            if (gi >= 0)
                return ln_fail(err, LN_E_USAGE, "parameter %s is in two groups (%d and %d of `groups`); a "
                               "parameter may belong to one group only", info[t].name, gi + 1, g + 1);
            gi = g;
        }
        if (gi < 0) gi = ng, rest = 1;
        o->t[t].group = gi;
        const ln_group_spec *gs = gi < ng ? &cfg->groups[gi] : NULL;
        o->t[t].weight_decay = gs && gs->set_weight_decay ? gs->weight_decay : cfg->weight_decay;
        o->t[t].centralize = gs && gs->grad_centralization && info[t].ndim >= 2;
    }
    o->n_groups = ng ? ng + rest : 0;
    for (int g = 0; g < ng; g++) o->group_lr |= cfg->groups[g].set_lr;

    /* The optimizer's parameter order. */
    if (cfg->n_order > 0) {
        if (cfg->n_order != n_tensors)
            return ln_fail(err, LN_E_USAGE, "wrong number of names (%d, not %d): `order_params`; name every parameter once",
                           cfg->n_order, n_tensors);
        int used[LN_MAX_TENSORS] = {0};
        for (int k = 0; k < n_tensors; k++) {
            int found = -1;
            for (int t = 0; t < n_tensors; t++)
                if (!strcmp(cfg->order_params[k], info[t].name)) found = t;
            if (found < 0)
                return ln_fail(err, LN_E_USAGE, "not a parameter of the network: '%s' in `order_params`",
                               cfg->order_params[k]);
            if (used[found]++)
                return ln_fail(err, LN_E_USAGE, "listed twice: '%s' in `order_params`", cfg->order_params[k]);
            o->order[k] = found;
        }
    } else {
        int k = 0;
        for (int g = 0; g <= ng; g++)
            for (int t = 0; t < n_tensors; t++)
                if (o->t[t].group == g) o->order[k++] = t;
    }

    /* Rate tables. */
    o->dynamic = dynamic;
    o->lr_len = dynamic ? cfg->lr_len : 1;
    const size_t L = (size_t)o->lr_len;
    o->lr_default = malloc(sizeof(float) * L);
    if (o->group_lr) o->lr_table = malloc(sizeof(float) * L * (size_t)o->n_groups);
    o->moments = calloc(n ? n : 1, sizeof(float));
    if (!o->lr_default || (o->group_lr && !o->lr_table) || !o->moments) {
        ln_momentum_free(o);
        return ln_fail(err, LN_E_NOMEM, "out of memory for optimizer state");
    }
    if (dynamic) memcpy(o->lr_default, cfg->lr_list, sizeof(float) * L);
    else o->lr_default[0] = cfg->lr;
    for (int g = 0; o->group_lr && g < o->n_groups; g++) {
        float *row = o->lr_table + (size_t)g * L;
        if (g < ng && cfg->groups[g].set_lr)
            for (size_t i = 0; i < L; i++) row[i] = cfg->groups[g].lr;
        else
            memcpy(row, o->lr_default, sizeof(float) * L);
    }
    return LN_OK;
}

void ln_momentum_free(ln_momentum *o) {
    free(o->moments);
    free(o->lr_default);
    free(o->lr_table);
    o->moments = o->lr_default = o->lr_table = NULL;
}

static long lr_index(const ln_momentum *o) {
    if (!o->dynamic) return 0;
    return o->global_step < o->lr_len ? o->global_step : o->lr_len - 1;
}

float ln_momentum_lr(const ln_momentum *o, int tensor) {
    const long i = lr_index(o);
    if (o->group_lr) return o->lr_table[(size_t)o->t[tensor].group * (size_t)o->lr_len + (size_t)i];
    return o->lr_default[i];
}

float ln_momentum_current_lr(const ln_momentum *o) { return o->lr_default[lr_index(o)]; }

long ln_momentum_steps_left(const ln_momentum *o) {
    return o->dynamic ? (o->global_step < o->lr_len ? o->lr_len - o->global_step : 0) : LONG_MAX;
}

/* g -= mean(g[row, :]) for each of the first axis's rows. */
static void centralize(float *g, const ln_tensor_info *ti) {
    const size_t rows = (size_t)ti->shape[0], cols = ti->size / rows;
    for (size_t r = 0; r < rows; r++) {
        float *gr = g + r * cols;
        double sum = 0.0;
        for (size_t c = 0; c < cols; c++) sum += gr[c];
        const float mean = (float)(sum / (double)cols);
        for (size_t c = 0; c < cols; c++) gr[c] -= mean;
    }
}

/* v = mu*v + g; w -= lr*v (or Nesterov: w -= lr*(g + mu*v)), over n
 * elements. */
LN_CLONES static void apply_momentum(float *restrict w, const float *restrict g, float *restrict v, long n, float lr,
                           float mu, int nesterov) {
    if (nesterov) {
        for (long i = 0; i < n; i++) {
            v[i] = mu * v[i] + g[i];
            w[i] -= lr * (g[i] + mu * v[i]);
        }
    } else {
        for (long i = 0; i < n; i++) {
            v[i] = mu * v[i] + g[i];
            w[i] -= lr * v[i];
        }
    }
}

/* The whole update of elements [a, b) of tensor t (offsets relative to the
 * tensor), whose gradients are g[0 .. b - a): weight decay,
 * [centralisation: whole tensors only], loss-scale undo, momentum. */
static void update_range(ln_momentum *o, int t, float *params, float *g, long a, long b) {
    const ln_tensor_info *ti = &o->info[t];
    float *w = params + ti->offset + a, *v = o->moments + ti->offset + a;
    const long n = b - a;
    const float wd = (float)((double)o->t[t].weight_decay * (double)o->loss_scale);
    if (o->t[t].weight_decay > 0.f)
        for (long i = 0; i < n; i++) g[i] += wd * w[i];
    if (o->t[t].centralize) centralize(g, ti); /* a == 0, b == size: see ln_momentum_step */
    if (o->loss_scale != 1.0f) {
        const float inv_ls = (float)(1.0 / (double)o->loss_scale);
        for (long i = 0; i < n; i++) g[i] *= inv_ls;
    }
    apply_momentum(w, g, v, n, ln_momentum_lr(o, t), o->momentum, o->nesterov);
}

void ln_momentum_step_chunk(ln_momentum *o, float *params, float *g, long lo, long hi) {
    for (int t = 0; t < o->n_tensors; t++) {
        const long off = (long)o->info[t].offset, end = off + (long)o->info[t].size;
        const long a = off > lo ? off : lo, b = end < hi ? end : hi;
        if (!o->t[t].centralize && a < b) update_range(o, t, params, g + (a - lo), a - off, b - off);
    }
}

void ln_momentum_step_range(ln_momentum *o, float *params, float *grads, long lo, long hi) {
    ln_momentum_step_chunk(o, params, grads + lo, lo, hi);
}

int ln_momentum_step_needs_whole(const ln_momentum *o) {
    for (int t = 0; t < o->n_tensors; t++)
        if (o->t[t].centralize) return 1;
    return 0;
}

void ln_momentum_step_whole(ln_momentum *o, float *params, float *grads) {
    /* Centralisation needs whole rows of a tensor: such tensors are updated
     * here, whole, by one thread. */
    for (int t = 0; t < o->n_tensors; t++)
        if (o->t[t].centralize) update_range(o, t, params, grads + o->info[t].offset, 0, (long)o->info[t].size);
}

void ln_momentum_step_done(ln_momentum *o) { o->global_step++; }

void ln_momentum_step(ln_momentum *o, float *params, float *grads) {
    const unsigned fp = ln_fpflush_enter(); /* each thread: fpflush.h */
    ln_momentum_step_whole(o, params, grads);
    /* Everything else is elementwise: each thread updates its part of the
     * flat buffer (split.h), the part whose gradients it summed. Every
     * element gets the same arithmetic whichever thread takes it. */
    #pragma omp parallel num_threads(o->threads) if (o->threads > 1)
    {
        const unsigned fpt = ln_fpflush_enter();
        long lo, hi;
        ln_split_range((long)o->n, omp_get_num_threads(), omp_get_thread_num(), &lo, &hi);
        ln_momentum_step_range(o, params, grads, lo, hi);
        ln_fpflush_leave(fpt);
    }
    ln_fpflush_leave(fp);
    ln_momentum_step_done(o);
}
