/* optim.h - nn.Momentum over the flat parameter buffer, in full.
 *
 * Per step, for every parameter tensor w with gradient g, in MindSpore's
 * order (nn/optim/momentum.py):
 *   1. weight decay    g += float32(wd * loss_scale) * w      (if wd > 0)
 *   2. grad centralisation, only for tensors of a group that asks for it and
 *      of rank >= 2: g -= mean of g over all axes but the first (per output
 *      row / filter; the mean is summed in double). MindSpore additionally
 *      requires shape[1] % 16 == 0, which for LeNet would leave only
 *      fc1.weight; we centralise every rank >= 2 tensor of the group, as the
 *      grad-centralisation paper (and MindSpore's documentation) describe.
 *   3. loss-scale undo g *= float32(1 / loss_scale)             (if ls != 1)
 *   4. lr = the group's rate: a number, or list[global_step] when dynamic
 *   5. v = momentum*v + g; w -= lr*v, or with Nesterov w -= lr*(g + momentum*v)
 *      (MindSpore's CPU kernel ignores use_nesterov; we honour it).
 * Then global_step += 1. v starts at 0.
 *
 * Parameter groups (MindSpore's group dicts): each group selects tensors by
 * name patterns (fnmatch globs, ',' or '|' separated, e.g. "conv*" or
 * "fc1.*|fc2.weight") and may set lr, weight_decay, grad_centralization.
 * Tensors no group selects form an implicit last group with the defaults
 * (MindSpore would leave them untrained; we train them). A tensor selected
 * by two groups, or a pattern that selects nothing, is LN_E_USAGE.
 * Weight decay: ungrouped, every tensor decays when wd > 0 (LeNet has no
 * beta/gamma); grouped, a tensor decays when its group's wd > 0.
 *
 * order_params reorders the optimizer's parameters (hence the order of the
 * moments.* entries in a checkpoint); it must name every tensor once.
 * Without it the order is group by group (group order, then network order),
 * as MindSpore's.
 *
 * Checkpoint state (names/shapes as MindSpore's): [global_step (1,) Int32 if
 * the rate is dynamic], learning_rate (() fixed, (n,) list) - or, when any
 * group sets its own lr, learning_rate_group_<i> for every group i - then
 * momentum (), then moments.<param> in the optimizer's order.
 */
#ifndef LENET_OPTIM_H
#define LENET_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "lenet/error.h"
#include "lenet/net.h"

#define LN_MAX_GROUPS 8

typedef struct {
    const char *patterns;   /* globs over tensor names, ',' or '|' separated */
    int set_lr;             /* 1: lr below replaces the default rate (fixed) */
    float lr;
    int set_weight_decay;
    float weight_decay;
    int grad_centralization;
} ln_group_spec;

typedef struct {
    float lr;               /* fixed rate (used when lr_list is NULL) */
    const float *lr_list;   /* dynamic: rate per global step (copied) */
    long lr_len;
    float momentum, weight_decay, loss_scale;
    int nesterov;
    int n_groups;
    const ln_group_spec *groups;
    int n_order;            /* 0: group order; else every tensor name once */
    const char *const *order_params;
} ln_momentum_config;

typedef struct {
    int group;              /* index into the optimizer's groups */
    float weight_decay;     /* effective (group or default) */
    int centralize;         /* grad centralisation applies (group flag, rank >= 2) */
} ln_momentum_tensor;

typedef struct {
    float lr;               /* fixed rate (learning_rate when not grouped / dynamic) */
    float momentum, weight_decay, loss_scale;
    int nesterov;
    size_t n;
    float *moments;         /* (n), laid out like the parameters */
    /* tensors (one pseudo-tensor of n elements for ln_momentum_init) */
    int n_tensors;
    ln_tensor_info info[LN_MAX_TENSORS];
    ln_momentum_tensor t[LN_MAX_TENSORS];
    int order[LN_MAX_TENSORS]; /* optimizer's parameter order (tensor indices) */
    /* groups and rates */
    int n_groups;           /* groups incl. the implicit last one; 0 = ungrouped */
    int group_lr;           /* 1: learning_rate_group_<i> entries (some group set lr) */
    int dynamic;            /* the rate is a per-step list */
    long lr_len;            /* entries per rate table (1 when fixed) */
    float *lr_default;      /* (lr_len) the default rate (fixed: 1 entry) */
    float *lr_table;        /* group_lr: (n_groups, lr_len) rates, else NULL */
    int32_t global_step;    /* steps taken */
    int threads;            /* threads for the update (results do not depend on it); 1 by default */
} ln_momentum;

/* The simple form (no groups, fixed rate) over n floats; kept for callers
 * that have no network (one rank-1 pseudo-tensor). */
ln_status ln_momentum_init(ln_momentum *o, size_t n, float lr, float momentum, float weight_decay,
                           float loss_scale, int nesterov, ln_error *err);

/* The full form over a network's tensors (info[0..n_tensors), total n). */
ln_status ln_momentum_create(ln_momentum *o, const ln_momentum_config *cfg, const ln_tensor_info *info,
                             int n_tensors, size_t n, ln_error *err);
void ln_momentum_free(ln_momentum *o);

/* The rate tensor `tensor` gets at the next step (group's, at global_step;
 * past the end of a list: its last value, though callers should never get
 * there - see ln_momentum_steps_left). */
float ln_momentum_lr(const ln_momentum *o, int tensor);
/* The default group's rate at the next step (the one reports print). */
float ln_momentum_current_lr(const ln_momentum *o);
/* Steps the rate list still covers (LONG_MAX for a fixed rate). */
long ln_momentum_steps_left(const ln_momentum *o);

/* One update of params from grads (grads are modified: decay, centralise,
 * unscale); then global_step += 1. */
void ln_momentum_step(ln_momentum *o, float *params, float *grads);

/* The same step in pieces, for a caller that runs its own threads (the
 * lanes engine's fused training step): ln_momentum_step_range updates the
 * elements [lo, hi) of the flat buffer (all but the centralised tensors);
 * ln_momentum_step_whole the centralised tensors (if
 * ln_momentum_step_needs_whole), once their gradients are complete;
 * ln_momentum_step_done ends the step. Ranges that partition [0, n), then
 * whole, then done: the same bits as ln_momentum_step. */
void ln_momentum_step_range(ln_momentum *o, float *params, float *grads, long lo, long hi);
/* ln_momentum_step_range with the gradient of [lo, hi) in g[0 .. hi - lo)
 * (a chunk of its own, e.g. a sum kept in L1) instead of at its offsets in
 * a parameter-shaped buffer: the same bits. */
void ln_momentum_step_chunk(ln_momentum *o, float *params, float *g, long lo, long hi);
int ln_momentum_step_needs_whole(const ln_momentum *o);
void ln_momentum_step_whole(ln_momentum *o, float *params, float *grads);
void ln_momentum_step_done(ln_momentum *o);

#endif
