/* lr_schedule.h - learning rates: a number, a per-step list, or one of the
 * schedules of MindSpore's nn.dynamic_lr, materialised as a per-step list.
 *
 * MindSpore turns a dynamic learning rate into a float32 tensor lr[0..n) and
 * step t (0-based global step) uses lr[t]. The schedules below are computed
 * in double exactly as nn.dynamic_lr's Python does and rounded to float32
 * once, with current_epoch = floor(i / step_per_epoch):
 *
 *   piecewise    lr[i] = values[k] for i in [milestone[k-1], milestone[k])
 *                (length = the last milestone)
 *   exponential  lr * rate^(e / decay_epoch)      stair: rate^floor(e/de)
 *   natural_exp  lr * exp(-rate * e)              stair: e -> floor(e/de)*de
 *   inverse      lr / (1 + rate * e / de)         stair: floor(e/de)
 *   cosine       min + 0.5*(lr - min)*(1 + cos(pi * min(e, de) / de))
 *   polynomial   (lr - end)*(1 - min(e, de)/de)^power + end;
 *                update_decay_epoch: de' = de*max(ceil(e/de), 1), no clamp
 *   warmup       lr * min(e, de) / de             (0 during the first epoch)
 *
 * ln_lr_value() evaluates the formula at any step, also past total_step
 * (where the clamped schedules stay at their last value and the others keep
 * decaying); ln_lr_build() makes the list MindSpore would make.
 */
#ifndef LENET_LR_SCHEDULE_H
#define LENET_LR_SCHEDULE_H

#include "lenet/error.h"

#define LN_LR_MAX_PIECES 64

typedef enum {
    LN_LR_FIXED = 0,
    LN_LR_PIECEWISE,
    LN_LR_EXPONENTIAL,
    LN_LR_NATURAL_EXP,
    LN_LR_INVERSE,
    LN_LR_COSINE,
    LN_LR_POLYNOMIAL,
    LN_LR_WARMUP,
} ln_lr_kind;

typedef struct {
    ln_lr_kind kind;
    double lr;         /* fixed rate; learning_rate / max_lr of the schedules */
    double end_lr;     /* cosine: min_lr; polynomial: end_learning_rate */
    double decay_rate; /* exponential, natural_exp, inverse */
    double power;      /* polynomial */
    long total_step;   /* list length (piecewise: from the milestones) */
    long step_per_epoch;
    long decay_epoch;  /* warmup: warmup_epoch */
    int is_stair;
    int update_decay_epoch;
    int n_pieces;      /* piecewise */
    long milestones[LN_LR_MAX_PIECES];
    double values[LN_LR_MAX_PIECES];
} ln_lr_schedule;

/* The defaults for parameters a caller does not choose: s zeroed, kind
 * LN_LR_FIXED, decay_rate 0.9, power 1. */
void ln_lr_defaults(ln_lr_schedule *s);

/* Fit a schedule to a run of `epochs` epochs of `steps_per_epoch` steps,
 * stopping after `max_steps` steps (0 = no limit): parameters left at 0
 * take the run's values - step_per_epoch the run's; decay_epoch `epochs`
 * for cosine, polynomial and warmup (they end with the run), 1 for the
 * others; total_step the steps the run takes. */
void ln_lr_fit(ln_lr_schedule *s, long steps_per_epoch, long epochs, long max_steps);

/* Name <-> kind: "fixed", "piecewise", "exponential", "natural-exp",
 * "inverse", "cosine", "polynomial", "warmup". Returns -1 if unknown. */
int ln_lr_kind_from_name(const char *name);
const char *ln_lr_kind_name(ln_lr_kind k);

/* Check the parameters as nn.dynamic_lr does (positive counts, rates > 0,
 * cosine min < max, increasing milestones, ...); LN_E_USAGE naming the
 * parameter on failure. */
ln_status ln_lr_check(const ln_lr_schedule *s, ln_error *err);

/* The rate at 0-based step i (any i >= 0), in double. */
double ln_lr_value(const ln_lr_schedule *s, long i);

/* Materialise lr[0..total_step) as float32 (malloc'd, caller frees). */
ln_status ln_lr_build(const ln_lr_schedule *s, float **out, long *n, ln_error *err);

/* Read a per-step list: one number per line (blank lines and lines starting
 * with '#' skipped). LN_E_INPUT naming the file and line on a bad value. */
ln_status ln_lr_read_list(const char *path, float **out, long *n, ln_error *err);

#endif
