/* test_optim.c - nn.Momentum in full and nn.dynamic_lr's schedules, against
 * values worked out by hand (in the comments) or printed by MindSpore's own
 * docstrings: every step of the update alone and combined, parameter groups
 * and their errors, order_params, per-step rate lists, every schedule at its
 * first / middle / last step and past its end, and the optimizer state a
 * checkpoint holds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "lenet/lr_schedule.h"
#include "lenet/model.h"
#include "lenet/optim.h"

static int near(double a, double b, double tol) { return fabs(a - b) <= tol * (fabs(b) > 1e-30 ? fabs(b) : 1.0); }

/* Two tensors: "a.weight" (2, 3) and "a.bias" (2), 8 floats. */
static const ln_tensor_info TINY[2] = {{"a.weight", 2, {2, 3, 0, 0}, 0, 6}, {"a.bias", 1, {2, 0, 0, 0}, 6, 2}};

typedef struct {
    float w[8], g[8];
} tiny_state;

static void fill(tiny_state *s, float w, float g) {
    for (int i = 0; i < 8; i++) s->w[i] = w, s->g[i] = g;
}

static ln_status mk(ln_momentum *o, ln_momentum_config c, ln_error *err) {
    return ln_momentum_create(o, &c, TINY, 2, 8, err);
}

static void test_update_rule(test_ctx *t) {
    ln_momentum o;
    ln_error err;
    tiny_state s;
    /* Plain: lr 0.1, mu 0.9, w 1, g 0.5 -> v 0.5, w 0.95; again g 0.5 ->
     * v 0.9*0.5+0.5 = 0.95, w 0.95 - 0.095 = 0.855. */
    ln_momentum_config base = {.lr = 0.1f, .momentum = 0.9f, .loss_scale = 1.f};
    CHECK(t, mk(&o, base, &err) == LN_OK, "create plain momentum");
    fill(&s, 1.f, 0.5f);
    ln_momentum_step(&o, s.w, s.g);
    CHECK(t, near(o.moments[0], 0.5, 1e-7) && near(s.w[0], 0.95, 1e-7) && near(s.w[7], 0.95, 1e-7),
          "plain step 1: v = 0.5, w = 0.95");
    fill(&s, s.w[0], 0.5f);
    ln_momentum_step(&o, s.w, s.g);
    CHECK(t, near(o.moments[3], 0.95, 1e-7) && near(s.w[3], 0.855, 1e-6) && o.global_step == 2,
          "plain step 2: v = 0.95, w = 0.855, global_step 2");
    ln_momentum_free(&o);

    /* Weight decay 0.1: g = 0.5 + 0.1*1 = 0.6 -> v 0.6, w 1 - 0.06 = 0.94
     * (on the bias too: MindSpore decays every LeNet parameter). */
    ln_momentum_config wd = base;
    wd.weight_decay = 0.1f;
    mk(&o, wd, &err);
    fill(&s, 1.f, 0.5f);
    ln_momentum_step(&o, s.w, s.g);
    CHECK(t, near(s.g[0], 0.6, 1e-7) && near(o.moments[0], 0.6, 1e-7) && near(s.w[0], 0.94, 1e-7) &&
                 near(s.w[7], 0.94, 1e-7), "weight decay alone: g 0.6, v 0.6, w 0.94 (weights and biases)");
    ln_momentum_free(&o);

    /* Loss scale 4, gradient arrives scaled (2.0): g = 2 * 0.25 = 0.5 ->
     * exactly the plain step. */
    ln_momentum_config ls = base;
    ls.loss_scale = 4.f;
    mk(&o, ls, &err);
    fill(&s, 1.f, 2.0f);
    ln_momentum_step(&o, s.w, s.g);
    CHECK(t, s.g[0] == 0.5f && near(s.w[0], 0.95, 1e-7), "loss scale alone: g 2/4 = 0.5, w 0.95");
    ln_momentum_free(&o);

    /* Loss scale 4 + weight decay 0.1: g = 2 + 0.1*4*1 = 2.4, /4 = 0.6. */
    ls.weight_decay = 0.1f;
    mk(&o, ls, &err);
    fill(&s, 1.f, 2.0f);
    ln_momentum_step(&o, s.w, s.g);
    CHECK(t, near(s.g[0], 0.6, 1e-7) && near(s.w[0], 0.94, 1e-7), "loss scale 4 + wd 0.1: g (2 + 0.4)/4 = 0.6, w 0.94");
    ln_momentum_free(&o);

    /* Nesterov: v 0.5, w = 1 - 0.1*(0.5 + 0.9*0.5) = 0.905; step 2 (g 0.5):
     * v 0.95, w = 0.905 - 0.1*(0.5 + 0.855) = 0.7695. */
    ln_momentum_config ne = base;
    ne.nesterov = 1;
    mk(&o, ne, &err);
    fill(&s, 1.f, 0.5f);
    ln_momentum_step(&o, s.w, s.g);
    CHECK(t, near(o.moments[0], 0.5, 1e-7) && near(s.w[0], 0.905, 1e-7), "Nesterov step 1: w 0.905");
    fill(&s, s.w[0], 0.5f);
    ln_momentum_step(&o, s.w, s.g);
    CHECK(t, near(o.moments[0], 0.95, 1e-7) && near(s.w[0], 0.7695, 1e-6), "Nesterov step 2: v 0.95, w 0.7695");
    ln_momentum_free(&o);

    /* Momentum 0: plain SGD, w = 1 - 0.1*0.5 twice = 0.9. */
    ln_momentum_config m0 = base;
    m0.momentum = 0.f;
    mk(&o, m0, &err);
    fill(&s, 1.f, 0.5f);
    ln_momentum_step(&o, s.w, s.g);
    fill(&s, s.w[0], 0.5f);
    ln_momentum_step(&o, s.w, s.g);
    CHECK(t, near(s.w[0], 0.9, 1e-6), "momentum 0: plain SGD, w 0.9 after 2 steps");
    ln_momentum_free(&o);
}

static void test_centralisation(test_ctx *t) {
    ln_momentum o;
    ln_error err;
    /* Group "a.*" with grad_centralization: weight rows g = [1 2 3], [4 4 4]
     * have means 2 and 4 -> [-1 0 1], [0 0 0]; the bias (rank 1) is left
     * alone: [5 6]. lr 1, mu 0: w = -g. */
    ln_group_spec gc = {.patterns = "a.*", .grad_centralization = 1};
    ln_momentum_config c = {.lr = 1.f, .momentum = 0.f, .loss_scale = 1.f, .n_groups = 1, .groups = &gc};
    CHECK(t, mk(&o, c, &err) == LN_OK, "create with a centralising group");
    float w[8] = {0}, g[8] = {1, 2, 3, 4, 4, 4, 5, 6};
    ln_momentum_step(&o, w, g);
    const float want[8] = {1, 0, -1, 0, 0, 0, -5, -6};
    CHECK(t, !memcmp(w, want, sizeof w), "grad centralisation: rows minus their means, rank-1 bias unchanged");
    CHECK(t, o.t[0].centralize == 1 && o.t[1].centralize == 0, "centralise flag: weight yes, bias no");
    ln_momentum_free(&o);

    /* Combined, in MindSpore's order: wd 0.5 and loss scale 2 on w = 1:
     * g = [2 4 6] + 0.5*2*1 = [3 5 7] -> centralise (mean 5) [-2 0 2] -> /2 =
     * [-1 0 1]; Nesterov lr 1 mu 0.5: v = g, w = 1 - (g + 0.5 g) =
     * [2.5 1 -0.5]. Bias: g = [2 2] + 1 = 3 -> /2 = 1.5, w = 1 - 2.25 = -1.25. */
    ln_group_spec g2 = {.patterns = "a.weight,a.bias", .grad_centralization = 1};
    ln_momentum_config all = {.lr = 1.f, .momentum = 0.5f, .weight_decay = 0.5f, .loss_scale = 2.f, .nesterov = 1,
                              .n_groups = 1, .groups = &g2};
    mk(&o, all, &err);
    float w2[8] = {1, 1, 1, 1, 1, 1, 1, 1}, gg[8] = {2, 4, 6, 2, 4, 6, 2, 2};
    ln_momentum_step(&o, w2, gg);
    const float want2[8] = {2.5f, 1, -0.5f, 2.5f, 1, -0.5f, -1.25f, -1.25f};
    CHECK(t, !memcmp(w2, want2, sizeof w2), "all options combined (wd, centralise, unscale, Nesterov): hand values");
    ln_momentum_free(&o);
}

static int fails_with(ln_momentum_config c, const char *needle, const char *needle2) {
    ln_momentum o;
    ln_error err = {0};
    ln_status s = mk(&o, c, &err);
    if (s == LN_OK) { ln_momentum_free(&o); return 0; }
    int ok = s == LN_E_USAGE && !strchr(err.msg, '\n') && strstr(err.msg, needle) && (!needle2 || strstr(err.msg, needle2));
    if (!ok || getenv("TEST_VERBOSE")) printf("  [%s] %s\n", ok ? "ok" : "BAD", err.msg);
    return ok;
}

static void test_groups(test_ctx *t) {
    ln_momentum o;
    ln_error err;
    ln_momentum_config base = {.lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.01f, .loss_scale = 1.f};
    /* Group for the bias with its own lr and wd 0; the weight falls in the
     * implicit last group (defaults). */
    ln_group_spec gb = {.patterns = "*.bias", .set_lr = 1, .lr = 0.5f, .set_weight_decay = 1, .weight_decay = 0.f};
    ln_momentum_config c = base;
    c.n_groups = 1, c.groups = &gb;
    CHECK(t, mk(&o, c, &err) == LN_OK, "create with a bias group");
    CHECK(t, o.n_groups == 2 && o.group_lr == 1 && o.t[1].group == 0 && o.t[0].group == 1,
          "bias in group 0, weight in the implicit group 1; learning_rate_group_* entries");
    CHECK(t, o.t[1].weight_decay == 0.f && o.t[0].weight_decay == 0.01f, "group wd 0 for the bias, default 0.01 for the weight");
    CHECK(t, ln_momentum_lr(&o, 1) == 0.5f && ln_momentum_lr(&o, 0) == 0.1f, "rates: bias 0.5 (group), weight 0.1 (default)");
    CHECK(t, o.order[0] == 1 && o.order[1] == 0, "without order_params the optimizer's order is group by group (bias, weight)");
    /* w 1, g 0.5: weight g = 0.5 + 0.01 = 0.51, w = 1 - 0.051 = 0.949; bias
     * g 0.5 (no decay), w = 1 - 0.25 = 0.75. */
    tiny_state s;
    fill(&s, 1.f, 0.5f);
    ln_momentum_step(&o, s.w, s.g);
    CHECK(t, near(s.w[0], 0.949, 1e-6) && near(s.w[6], 0.75, 1e-7), "group step: weight 0.949 (wd, lr 0.1), bias 0.75 (no wd, lr 0.5)");
    ln_momentum_free(&o);

    /* order_params puts them back in network order. */
    const char *ord[2] = {"a.weight", "a.bias"};
    c.n_order = 2, c.order_params = ord;
    CHECK(t, mk(&o, c, &err) == LN_OK && o.order[0] == 0 && o.order[1] == 1, "order_params: network order restored");
    ln_momentum_free(&o);

    /* Errors. */
    ln_group_spec two[2] = {{.patterns = "a.*"}, {.patterns = "*.bias"}};
    ln_momentum_config e = base;
    e.n_groups = 2, e.groups = two;
    CHECK(t, fails_with(e, "a.bias", "two groups"), "a parameter in two groups: error naming it");
    ln_group_spec none = {.patterns = "conv*"};
    e.n_groups = 1, e.groups = &none;
    CHECK(t, fails_with(e, "conv*", "matches no parameter"), "a pattern matching nothing: error naming it");
    ln_group_spec part = {.patterns = "a.weight|zz*"};
    e.groups = &part;
    CHECK(t, fails_with(e, "zz*", NULL), "one pattern of a list matching nothing: error naming it");
    const char *bad1[1] = {"a.weight"};
    e = base, e.n_order = 1, e.order_params = bad1;
    CHECK(t, fails_with(e, "`order_params`", "not 2"), "order_params missing a parameter: error");
    const char *bad2[2] = {"a.weight", "a.weight"};
    e.n_order = 2, e.order_params = bad2;
    CHECK(t, fails_with(e, "twice", NULL), "order_params listing one twice: error");
    const char *bad3[2] = {"a.weight", "b.bias"};
    e.order_params = bad3;
    CHECK(t, fails_with(e, "b.bias", NULL), "order_params naming an unknown parameter: error");
    e = base, e.momentum = -1.f;
    CHECK(t, fails_with(e, "`momentum`", NULL), "negative momentum: error");
    e = base, e.loss_scale = 0.f;
    CHECK(t, fails_with(e, "`loss_scale`", NULL), "loss scale 0: error");
}

static void test_dynamic(test_ctx *t) {
    ln_momentum o;
    ln_error err;
    const float list[3] = {0.1f, 0.2f, 0.3f};
    ln_momentum_config c = {.lr_list = list, .lr_len = 3, .momentum = 0.f, .loss_scale = 1.f};
    CHECK(t, mk(&o, c, &err) == LN_OK && o.dynamic && o.lr_len == 3, "create with a 3-step rate list");
    /* momentum 0, g = 1: w -= lr[t] -> 1 - 0.1 - 0.2 - 0.3 = 0.4. */
    tiny_state s;
    float seen[3];
    for (int k = 0; k < 3; k++) {
        seen[k] = ln_momentum_current_lr(&o);
        fill(&s, k ? s.w[0] : 1.f, 1.f);
        ln_momentum_step(&o, s.w, s.g);
    }
    CHECK(t, seen[0] == 0.1f && seen[1] == 0.2f && seen[2] == 0.3f, "step t uses lr[t]");
    CHECK(t, near(s.w[0], 0.4, 1e-6) && o.global_step == 3 && ln_momentum_steps_left(&o) == 0,
          "w = 1 - 0.1 - 0.2 - 0.3 = 0.4; global_step 3; no steps left");
    ln_momentum_free(&o);
}

/* ---- schedules ---- */

static ln_lr_schedule sched(ln_lr_kind k, double lr, double rate, long total, long spe, long de, int stair) {
    ln_lr_schedule s = {.kind = k, .lr = lr, .decay_rate = rate, .total_step = total, .step_per_epoch = spe,
                        .decay_epoch = de, .is_stair = stair, .power = 1.0};
    return s;
}

/* build the list, compare with want[0..n) (float32 of the doubles), and
 * check the formula past the end: value(n) == past. */
static int list_is(const ln_lr_schedule *s, const double *want, long n, double past) {
    float *v;
    long len;
    ln_error err;
    if (ln_lr_build(s, &v, &len, &err)) { printf("  build: %s\n", err.msg); return 0; }
    int ok = len == n;
    for (long i = 0; ok && i < n; i++) ok = v[i] == (float)want[i];
    if (!ok)
        for (long i = 0; i < len && i < n; i++) printf("  [%ld] got %.9g want %.9g\n", i, v[i], (float)want[i]);
    ok &= near(ln_lr_value(s, n), past, 1e-12);
    if (!near(ln_lr_value(s, n), past, 1e-12)) printf("  past end: got %.17g want %.17g\n", ln_lr_value(s, n), past);
    free(v);
    return ok;
}

static void test_schedules(test_ctx *t) {
    /* Values from MindSpore's docstrings (nn/dynamic_lr.py) and by hand. */
    ln_lr_schedule s = {.kind = LN_LR_PIECEWISE, .n_pieces = 3, .milestones = {2, 5, 10}, .values = {0.1, 0.05, 0.01}};
    const double pw[10] = {0.1, 0.1, 0.05, 0.05, 0.05, 0.01, 0.01, 0.01, 0.01, 0.01};
    CHECK(t, list_is(&s, pw, 10, 0.01), "piecewise [2,5,10] x [0.1,0.05,0.01]: docstring list; past the end 0.01");

    s = sched(LN_LR_EXPONENTIAL, 0.1, 0.9, 6, 2, 1, 0);
    const double ex[6] = {0.1, 0.1, 0.09000000000000001, 0.09000000000000001, 0.08100000000000002, 0.08100000000000002};
    CHECK(t, list_is(&s, ex, 6, 0.1 * 0.9 * 0.9 * 0.9), "exponential (0.1, 0.9, 6, 2, 1): docstring list; step 6: 0.0729");
    s = sched(LN_LR_EXPONENTIAL, 0.1, 0.9, 6, 1, 2, 0);
    /* e/2: 0.1*0.9^(i/2): i=1 -> 0.1*sqrt(0.9) = 0.0948683298 */
    const double ex2[6] = {0.1, 0.1 * pow(0.9, 0.5), 0.09, 0.1 * pow(0.9, 1.5), 0.081, 0.1 * pow(0.9, 2.5)};
    CHECK(t, list_is(&s, ex2, 6, 0.0729), "exponential, decay_epoch 2: 0.1*0.9^(i/2) (step 1: 0.0948683)");
    s.is_stair = 1;
    const double ex3[6] = {0.1, 0.1, 0.09, 0.09, 0.081, 0.081};
    CHECK(t, list_is(&s, ex3, 6, 0.0729), "exponential stair, decay_epoch 2: 0.1, 0.1, 0.09, 0.09, 0.081, 0.081");

    s = sched(LN_LR_NATURAL_EXP, 0.1, 0.9, 6, 2, 2, 1);
    const double ne[6] = {0.1, 0.1, 0.1, 0.1, 0.016529888822158657, 0.016529888822158657};
    CHECK(t, list_is(&s, ne, 6, 0.016529888822158657), "natural_exp stair (0.1, 0.9, 6, 2, 2): docstring list");
    s.is_stair = 0;
    /* 0.1*e^(-0.9*e): e = 0,0,1,1,2,2 */
    const double ne2[6] = {0.1, 0.1, 0.1 * exp(-0.9), 0.1 * exp(-0.9), 0.1 * exp(-1.8), 0.1 * exp(-1.8)};
    CHECK(t, list_is(&s, ne2, 6, 0.1 * exp(-2.7)), "natural_exp: 0.1*e^(-0.9*epoch) (step 2: 0.0406570)");

    s = sched(LN_LR_INVERSE, 0.1, 0.5, 6, 1, 1, 1);
    const double iv[6] = {0.1, 0.06666666666666667, 0.05, 0.04, 0.03333333333333333, 0.028571428571428574};
    CHECK(t, list_is(&s, iv, 6, 0.025), "inverse stair (0.1, 0.5, 6, 1, 1): docstring list; step 6: 0.1/4 = 0.025");
    s = sched(LN_LR_INVERSE, 0.1, 0.5, 6, 1, 2, 0);
    /* 0.1/(1 + 0.5*i/2): i=3 -> 0.1/1.75 = 0.0571428571 */
    const double iv2[6] = {0.1, 0.1 / 1.25, 0.1 / 1.5, 0.1 / 1.75, 0.1 / 2.0, 0.1 / 2.25};
    CHECK(t, list_is(&s, iv2, 6, 0.1 / 2.5), "inverse, decay_epoch 2: 0.1/(1 + 0.25 i) (step 3: 0.0571429)");

    s = sched(LN_LR_COSINE, 0.1, 0, 6, 2, 2, 0);
    s.end_lr = 0.01;
    const double co[6] = {0.1, 0.1, 0.05500000000000001, 0.05500000000000001, 0.01, 0.01};
    CHECK(t, list_is(&s, co, 6, 0.01), "cosine (0.01, 0.1, 6, 2, 2): docstring list; past the end stays at min 0.01");

    s = sched(LN_LR_POLYNOMIAL, 0.1, 0, 6, 2, 2, 0);
    s.end_lr = 0.01, s.power = 0.5;
    const double po[6] = {0.1, 0.1, 0.07363961030678928, 0.07363961030678928, 0.01, 0.01};
    CHECK(t, list_is(&s, po, 6, 0.01), "polynomial (0.1, 0.01, 6, 2, 2, 0.5): docstring list; past the end 0.01");
    s = sched(LN_LR_POLYNOMIAL, 0.1, 0, 6, 1, 2, 0);
    s.end_lr = 0.01, s.power = 1.0, s.update_decay_epoch = 1;
    /* de' = 2*max(ceil(i/2),1), tmp = i: i=0: 0.1; 1: 0.09*(1-1/2)+0.01 =
     * 0.055; 2: 0.01; 3: de' 4 -> 0.09*0.25+0.01 = 0.0325; 4: 0.01;
     * 5: de' 6 -> 0.09/6+0.01 = 0.025; 6: 0.01 */
    const double po2[6] = {0.1, 0.055, 0.01, 0.0325, 0.01, 0.025};
    CHECK(t, list_is(&s, po2, 6, 0.01), "polynomial update_decay_epoch: 0.1, 0.055, 0.01, 0.0325, 0.01, 0.025");

    s = sched(LN_LR_WARMUP, 0.1, 0, 6, 2, 2, 0);
    const double wu[6] = {0.0, 0.0, 0.05, 0.05, 0.1, 0.1};
    CHECK(t, list_is(&s, wu, 6, 0.1), "warmup (0.1, 6, 2, 2): docstring list [0, 0, 0.05, 0.05, 0.1, 0.1]; past end 0.1");

    s = sched(LN_LR_FIXED, 0.25, 0, 0, 0, 0, 0);
    CHECK(t, ln_lr_value(&s, 12345) == 0.25, "fixed: the same rate at every step");

    /* Names and parameter checks. */
    CHECK(t, ln_lr_kind_from_name("natural-exp") == LN_LR_NATURAL_EXP && ln_lr_kind_from_name("cos") == -1 &&
                 !strcmp(ln_lr_kind_name(LN_LR_COSINE), "cosine"), "schedule names");
    ln_error err;
    s = sched(LN_LR_COSINE, 0.1, 0, 6, 2, 2, 0);
    s.end_lr = 0.2;
    CHECK(t, ln_lr_check(&s, &err) == LN_E_USAGE && strstr(err.msg, "`min_lr`"), "cosine with min >= max: error naming `min_lr`");
    s = sched(LN_LR_EXPONENTIAL, 0.1, 0, 6, 2, 2, 0);
    CHECK(t, ln_lr_check(&s, &err) == LN_E_USAGE && strstr(err.msg, "`decay_rate`"), "exponential with rate 0: error");
    s = sched(LN_LR_WARMUP, 0.1, 0, 6, 2, 0, 0);
    CHECK(t, ln_lr_check(&s, &err) == LN_E_USAGE && strstr(err.msg, "`decay_epoch`"), "decay_epoch 0: error");
    ln_lr_schedule pwb = {.kind = LN_LR_PIECEWISE, .n_pieces = 2, .milestones = {5, 3}, .values = {0.1, 0.2}};
    CHECK(t, ln_lr_check(&pwb, &err) == LN_E_USAGE && strstr(err.msg, "`milestones`"), "decreasing milestones: error");

    /* Defaults, and fitting a schedule to a run (3 epochs of 100 steps). */
    ln_lr_defaults(&s);
    CHECK(t, s.kind == LN_LR_FIXED && s.decay_rate == 0.9 && s.power == 1.0 && s.decay_epoch == 0 && s.total_step == 0,
          "defaults: fixed, decay_rate 0.9, power 1, the rest left to the run");
    s.kind = LN_LR_COSINE;
    ln_lr_fit(&s, 100, 3, 0);
    CHECK(t, s.step_per_epoch == 100 && s.decay_epoch == 3 && s.total_step == 300,
          "cosine fitted to 3 x 100 steps: decay_epoch 3 (ends with the run), 300 steps");
    ln_lr_defaults(&s);
    s.kind = LN_LR_EXPONENTIAL;
    ln_lr_fit(&s, 100, 3, 250);
    CHECK(t, s.decay_epoch == 1 && s.total_step == 250, "exponential: decay_epoch 1, the list stops at max_steps");
    ln_lr_defaults(&s);
    s.kind = LN_LR_WARMUP, s.step_per_epoch = 1, s.decay_epoch = 7, s.total_step = 40;
    ln_lr_fit(&s, 100, 3, 1000);
    CHECK(t, s.step_per_epoch == 1 && s.decay_epoch == 7 && s.total_step == 40, "values given are kept");
}

static void test_read_list(test_ctx *t) {
    char path[] = "/tmp/lenet_lr_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fputs("# rates\n0.1\n\n  0.05 \n1e-3\n", f);
    fclose(f);
    float *v;
    long n;
    ln_error err;
    ln_status s = ln_lr_read_list(path, &v, &n, &err);
    CHECK(t, s == LN_OK && n == 3 && v[0] == 0.1f && v[1] == 0.05f && v[2] == 0.001f,
          "rate list: comments and blank lines skipped, 3 values");
    if (!s) free(v);
    f = fopen(path, "w");
    fputs("0.1\n0.2x\n", f);
    fclose(f);
    s = ln_lr_read_list(path, &v, &n, &err);
    CHECK(t, s == LN_E_INPUT && strstr(err.msg, path) && strstr(err.msg, ":2;") && strstr(err.msg, "0.2x"),
          "bad value: LN_E_INPUT naming file, line 2 and the text");
    f = fopen(path, "w");
    fputs("# nothing\n", f);
    fclose(f);
    CHECK(t, ln_lr_read_list(path, &v, &n, &err) == LN_E_INPUT && strstr(err.msg, "no learning rates"), "empty list: error");
    unlink(path);
    CHECK(t, ln_lr_read_list(path, &v, &n, &err) == LN_E_INPUT && strstr(err.msg, path), "missing file: error naming it");
}

/* ---- in a Model: start-up check and checkpoint state ---- */

static uint8_t stepped_pixel(uint32_t image, uint32_t k) {
    (void)image;
    return (uint8_t)(k * 37 % 251);
}

static void test_model_state(test_ctx *t) {
    ln_dataset d;
    test_dataset(&d, 64, stepped_pixel); /* batch 8: 8 steps per epoch */
    float list[10];
    for (int i = 0; i < 10; i++) list[i] = 0.01f * (float)(i + 1);
    ln_model_config mc = {.conv_bias = 0, .batch_size = 8, .lr_list = list, .lr_len = 10, .momentum = 0.9f,
                          .loss_scale = 1.f, .seed = 3, .threads = 1};
    ln_model m;
    ln_error err = {0};
    ln_pipeline p;
    ln_pipeline_config pc = {8, 1, 1, 16, 3, 1, 1, 0};
    if (ln_model_init(&m, &mc, &err) || ln_pipeline_init(&p, &d, &pc, &err)) {
        CHECK(t, 0, "model/pipeline init");
        return;
    }
    float *snap = malloc(m.net.n_params * sizeof(float));
    memcpy(snap, m.net.params, m.net.n_params * sizeof(float));
    ln_status s = ln_model_train(&m, &p, 2, 0, NULL, 0, &err); /* needs 16 steps, list has 10 */
    CHECK(t, s == LN_E_USAGE && strstr(err.msg, "10 steps") && strstr(err.msg, "16") && m.global_step == 0 &&
                 !memcmp(snap, m.net.params, m.net.n_params * sizeof(float)),
          "rate list shorter than the run: LN_E_USAGE at start-up, nothing trained");
    s = ln_model_train(&m, &p, 2, 10, NULL, 0, &err);
    CHECK(t, s == LN_OK && m.global_step == 10 && m.opt.global_step == 10, "... with max_steps 10 it runs 10 steps");
    char path[] = "/tmp/lenet_optim_ckpt_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    s = ln_model_save(&m, path, &err);
    ln_ckpt c;
    int ok = s == LN_OK && ln_ckpt_read(path, &c, &err) == LN_OK;
    if (ok) {
        /* 8 params, global_step, learning_rate, momentum, 8 moments, train.* */
        const ln_ckpt_entry *gs = &c.e[8], *lr = &c.e[9], *mo = &c.e[10];
        CHECK(t, !strcmp(gs->name, "global_step") && !strcmp(gs->dtype, "Int32") && gs->ndim == 1 && gs->dims[0] == 1 &&
                     *(const int32_t *)(const void *)gs->data == 10, "dynamic rate: global_step (1,) Int32 = 10 after the params");
        CHECK(t, !strcmp(lr->name, "learning_rate") && lr->ndim == 1 && lr->dims[0] == 10 &&
                     !memcmp(lr->data, list, sizeof list), "learning_rate (10,) holds the list");
        CHECK(t, !strcmp(mo->name, "momentum") && !strcmp(c.e[11].name, "moments.conv1.weight") &&
                     !strcmp(c.e[18].name, "moments.fc3.bias") && !strcmp(c.e[19].name, "train.epoch"),
              "then momentum, moments.* in order, then the train.* position entries");
        ln_ckpt_free(&c);
    } else {
        CHECK(t, 0, "save/read the dynamic-rate checkpoint");
    }
    ln_pipeline_free(&p);
    ln_model_free(&m);

    /* Group rates and order_params in the checkpoint. */
    ln_group_spec g = {.patterns = "fc*", .set_lr = 1, .lr = 0.02f};
    const char *ord[8] = {"conv1.weight", "conv2.weight", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias",
                          "fc3.weight", "fc3.bias"};
    ln_model_config mg = {.conv_bias = 0, .batch_size = 8, .lr = 0.01f, .momentum = 0.9f, .loss_scale = 1.f,
                          .seed = 3, .threads = 1, .n_groups = 1, .groups = &g};
    ok = ln_model_init(&m, &mg, &err) == LN_OK && ln_model_save(&m, path, &err) == LN_OK &&
         ln_ckpt_read(path, &c, &err) == LN_OK;
    if (ok) {
        float g0, g1;
        memcpy(&g0, c.e[8].data, 4), memcpy(&g1, c.e[9].data, 4);
        CHECK(t, !strcmp(c.e[8].name, "learning_rate_group_0") && !strcmp(c.e[9].name, "learning_rate_group_1") &&
                     c.e[8].ndim == 1 && c.e[8].dims[0] == 0 && g0 == 0.02f && g1 == 0.01f &&
                     !strcmp(c.e[10].name, "momentum") && !ln_ckpt_get(&c, "learning_rate") && !ln_ckpt_get(&c, "global_step"),
              "group rates: learning_rate_group_0 = 0.02 (fc*), _1 = 0.01 (the rest), scalars; no global_step");
        CHECK(t, !strcmp(c.e[11].name, "moments.fc1.weight") && !strcmp(c.e[17].name, "moments.conv1.weight") &&
                     !strcmp(c.e[18].name, "moments.conv2.weight"),
              "moments in the optimizer's order: the fc* group first, then the rest");
        ln_ckpt_free(&c);
        ln_model_free(&m);
    } else {
        CHECK(t, 0, "grouped model save");
    }
    mg.n_order = 8, mg.order_params = ord;
    ok = ln_model_init(&m, &mg, &err) == LN_OK && ln_model_save(&m, path, &err) == LN_OK &&
         ln_ckpt_read(path, &c, &err) == LN_OK;
    if (ok) {
        CHECK(t, !strcmp(c.e[11].name, "moments.conv1.weight") && !strcmp(c.e[18].name, "moments.fc3.bias"),
              "order_params: moments back in network order");
        ln_ckpt_free(&c);
        ln_model_free(&m);
    } else {
        CHECK(t, 0, "order_params model save");
    }
    unlink(path);
    free(snap);
    ln_dataset_free(&d);
}

int main(void) {
    test_ctx t = {"test_optim", 0, 0};
    test_update_rule(&t);
    test_centralisation(&t);
    test_groups(&t);
    test_dynamic(&t);
    test_schedules(&t);
    test_read_list(&t);
    test_model_state(&t);
    return test_finish(&t);
}
