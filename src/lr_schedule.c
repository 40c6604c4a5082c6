/* lr_schedule.c - nn.dynamic_lr's schedules and per-step lists (see
 * include/lenet/lr_schedule.h). Each formula keeps the Python's order of
 * operations, in double, so the float32 list matches MindSpore's. */
#include "lenet/lr_schedule.h"
#include "lenet/fileio.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const NAMES[] = {"fixed", "piecewise", "exponential", "natural-exp",
                                    "inverse", "cosine",    "polynomial",  "warmup"};

int ln_lr_kind_from_name(const char *name) {
    for (int k = 0; k < (int)(sizeof NAMES / sizeof NAMES[0]); k++)
        if (!strcmp(name, NAMES[k])) return k;
    return -1;
}

const char *ln_lr_kind_name(ln_lr_kind k) {
    return (unsigned)k < sizeof NAMES / sizeof NAMES[0] ? NAMES[k] : "?";
}

void ln_lr_defaults(ln_lr_schedule *s) {
    memset(s, 0, sizeof *s);
    s->kind = LN_LR_FIXED;
    s->decay_rate = 0.9;
    s->power = 1.0;
}

void ln_lr_fit(ln_lr_schedule *s, long steps_per_epoch, long epochs, long max_steps) {
    if (s->step_per_epoch == 0) s->step_per_epoch = steps_per_epoch;
    if (s->decay_epoch == 0)
        s->decay_epoch = s->kind == LN_LR_COSINE || s->kind == LN_LR_POLYNOMIAL || s->kind == LN_LR_WARMUP ? epochs : 1;
    if (s->total_step == 0)
        s->total_step = max_steps > 0 && max_steps < epochs * steps_per_epoch ? max_steps : epochs * steps_per_epoch;
}

ln_status ln_lr_check(const ln_lr_schedule *s, ln_error *err) {
    const char *name = ln_lr_kind_name(s->kind);
    if (!isfinite(s->lr) || s->lr < 0)
        return ln_fail(err, LN_E_USAGE, "not a finite number >= 0: `lr` %g", s->lr);
    if (s->kind == LN_LR_FIXED) return LN_OK;
    if (s->kind == LN_LR_PIECEWISE) {
        if (s->n_pieces < 1 || s->n_pieces > LN_LR_MAX_PIECES)
            return ln_fail(err, LN_E_USAGE, "no milestones for the piecewise schedule: `milestones`; give 1 to %d "
                           "with as many rates (`values`)", LN_LR_MAX_PIECES);
        for (int k = 0; k < s->n_pieces; k++) {
            if (s->milestones[k] < 1 || (k && s->milestones[k] < s->milestones[k - 1]))
                return ln_fail(err, LN_E_USAGE, "not positive and increasing: `milestones` (milestone %d is %ld)",
                           k + 1, s->milestones[k]);
            if (!isfinite(s->values[k]) || s->values[k] < 0)
                return ln_fail(err, LN_E_USAGE, "rate %d is not a finite number >= 0: `values`", k + 1);
        }
        return LN_OK;
    }
    if (s->total_step < 1) return ln_fail(err, LN_E_USAGE, "must be >= 1 for the %s schedule: `total_step`", name);
    if (s->step_per_epoch < 1)
        return ln_fail(err, LN_E_USAGE, "steps per epoch must be >= 1 for the %s schedule", name);
    if (s->decay_epoch < 1)
        return ln_fail(err, LN_E_USAGE, "must be >= 1 for the %s schedule: `decay_epoch`", name);
    switch (s->kind) {
    case LN_LR_EXPONENTIAL: case LN_LR_NATURAL_EXP: case LN_LR_INVERSE:
        if (!(s->lr > 0)) return ln_fail(err, LN_E_USAGE, "must be > 0 for the %s schedule: `lr`", name);
        if (!isfinite(s->decay_rate) || !(s->decay_rate > 0))
            return ln_fail(err, LN_E_USAGE, "must be a finite number > 0 for the %s schedule: `decay_rate`", name);
        break;
    case LN_LR_COSINE:
        if (!isfinite(s->end_lr) || s->end_lr < 0 || !(s->end_lr < s->lr))
            return ln_fail(err, LN_E_USAGE, "must be >= 0 and below `lr` (%g) for the cosine schedule: `min_lr` %g",
                           s->lr, s->end_lr);
        break;
    case LN_LR_POLYNOMIAL:
        if (!(s->lr > 0)) return ln_fail(err, LN_E_USAGE, "must be > 0 for the polynomial schedule: `lr`");
        if (!isfinite(s->end_lr) || s->end_lr < 0)
            return ln_fail(err, LN_E_USAGE, "must be a finite number >= 0 for the polynomial schedule: `end_learning_rate`");
        if (!isfinite(s->power) || !(s->power > 0))
            return ln_fail(err, LN_E_USAGE, "must be a finite number > 0 for the polynomial schedule: `power`");
        break;
    default: break;
    }
    return LN_OK;
}

double ln_lr_value(const ln_lr_schedule *s, long i) {
    if (s->kind == LN_LR_FIXED) return s->lr;
    if (s->kind == LN_LR_PIECEWISE) {
        for (int k = 0; k < s->n_pieces; k++)
            if (i < s->milestones[k]) return s->values[k];
        return s->values[s->n_pieces - 1];
    }
    const long e = i / s->step_per_epoch; /* current_epoch (i >= 0) */
    const long de = s->decay_epoch;
    const double x = (double)e;
    switch (s->kind) {
    case LN_LR_EXPONENTIAL:
        return s->is_stair ? s->lr * pow(s->decay_rate, floor(x / (double)de))
                           : s->lr * pow(s->decay_rate, x / (double)de);
    case LN_LR_NATURAL_EXP: {
        const double f = s->is_stair ? floor(x / (double)de) * (double)de : x;
        return s->lr * pow(M_E, -s->decay_rate * f); /* Python: math.e ** (...) */
    }
    case LN_LR_INVERSE:
        return s->is_stair ? s->lr / (1 + s->decay_rate * floor(x / (double)de))
                           : s->lr / (1 + s->decay_rate * x / (double)de);
    case LN_LR_COSINE: {
        const double delta = 0.5 * (s->lr - s->end_lr);
        const double tmp = (double)(e < de ? e : de);
        return s->end_lr + delta * (1 + cos(M_PI * tmp / (double)de));
    }
    case LN_LR_POLYNOMIAL: {
        double dec = (double)de, tmp = (double)(e < de ? e : de);
        if (s->update_decay_epoch) {
            const double c = ceil(x / (double)de);
            dec = (double)de * (c > 1 ? c : 1);
            tmp = x;
        }
        return (s->lr - s->end_lr) * pow(1 - tmp / dec, s->power) + s->end_lr;
    }
    case LN_LR_WARMUP: {
        const double tmp = (double)(e < de ? e : de);
        return s->lr * tmp / (double)de;
    }
    default: return s->lr;
    }
}

ln_status ln_lr_build(const ln_lr_schedule *s, float **out, long *n, ln_error *err) {
    *out = NULL;
    *n = 0;
    ln_status st = ln_lr_check(s, err);
    if (st) return st;
    long len = s->kind == LN_LR_PIECEWISE ? s->milestones[s->n_pieces - 1]
               : s->kind == LN_LR_FIXED   ? 1
                                          : s->total_step;
    if (len > (1L << 31) - 1) return ln_fail(err, LN_E_USAGE, "learning-rate schedule longer than 2^31 steps");
    float *v = malloc(sizeof(float) * (size_t)len);
    if (!v) return ln_fail(err, LN_E_NOMEM, "out of memory for a %ld-step learning-rate list", len);
    for (long i = 0; i < len; i++) v[i] = (float)ln_lr_value(s, i);
    *out = v;
    *n = len;
    return LN_OK;
}

ln_status ln_lr_read_list(const char *path, float **out, long *n, ln_error *err) {
    *out = NULL;
    *n = 0;
    int fd;
    if (ln_input_open(path, 1, "the learning-rate list", &fd, err)) return LN_E_INPUT;
    FILE *f = fdopen(fd, "r");
    if (!f) { close(fd); return ln_fail(err, LN_E_NOMEM, "out of memory: %s", path); }
    long cap = 0, len = 0, line = 0;
    float *v = NULL;
    char buf[256];
    ln_status s = LN_OK;
    while (fgets(buf, sizeof buf, f)) {
        line++;
        if (!strchr(buf, '\n') && !feof(f)) {
            s = ln_fail(err, LN_E_INPUT, "line too long: %s:%ld; write one number per line", path, line);
            break;
        }
        char *p = buf;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '\n' || *p == '\r' || *p == 0 || *p == '#') continue;
        char *end;
        errno = 0;
        double x = strtod(p, &end);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n') end++;
        if (errno || end == p || *end || !isfinite(x) || x < 0) {
            s = ln_fail(err, LN_E_INPUT, "not a learning rate (a finite number >= 0): '%.*s' at %s:%ld; write one "
                        "number per line", (int)strcspn(p, "\r\n"), p, path, line);
            break;
        }
        if (len == cap) {
            cap = cap ? cap * 2 : 1024;
            float *nv = realloc(v, sizeof(float) * (size_t)cap);
            if (!nv) { s = ln_fail(err, LN_E_NOMEM, "out of memory: %s", path); break; }
            v = nv;
        }
        v[len++] = (float)x;
    }
    if (!s && ferror(f)) s = ln_fail(err, LN_E_INPUT, "read error: %s", path);
    fclose(f);
    if (!s && len == 0) s = ln_fail(err, LN_E_INPUT, "no learning rates in the file (one number per line): %s", path);
    if (s) { free(v); return s; }
    *out = v;
    *n = len;
    return LN_OK;
}
