/* net.c - LeNet-5 wiring, parameter table, init (see include/lenet/net.h). */
#include "lenet/net.h"

#include <math.h>
#include <omp.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lanes.h"
#include "lanes_bf16.h"
#include "net_internal.h"
#include "clones.h"
#include "fpflush.h"
#include "split.h"
#include "lenet/layers.h"
#include "lenet/loss.h"
#include "lenet/optim.h"
#include "lenet/rng.h"

int ln_lenet_find(const ln_lenet *net, const char *name) {
    for (int i = 0; i < net->n_tensors; i++)
        if (!strcmp(net->info[i].name, name)) return i;
    return -1;
}

ln_lenet_views ln_lenet_views_of(const ln_lenet *net, float *buf) {
    ln_lenet_views v;
    /* the fields in the layer table's order: each layer's weight, then bias */
    float **slots[] = {&v.conv1_w, &v.conv1_b, &v.conv2_w, &v.conv2_b, &v.fc1_w,
                       &v.fc1_b,   &v.fc2_w,   &v.fc2_b,   &v.fc3_w,   &v.fc3_b};
    _Static_assert(sizeof slots / sizeof slots[0] == LN_MAX_TENSORS, "a view per tensor");
    const ln_layer *layers = ln_arch_layers();
    int n = 0;
    for (int i = 0; i < LN_ARCH_LAYERS; i++) {
        if (!layers[i].weight) continue;
        const char *names[2] = {layers[i].weight, layers[i].bias};
        for (int j = 0; j < 2; j++) {
            int k = ln_lenet_find(net, names[j]);
            *slots[n++] = k < 0 ? NULL : buf + net->info[k].offset;
        }
    }
    return v;
}

/* ---------- lanes engine (see lanes.h) ---------- */

/* Below this many rows a forward pass takes the one-image path per row
 * (bit-identical results, a fraction of a 16-lane group's cost). A backward
 * pass after it first runs the group forward, which it needs. */
#define LANES_SMALL_BATCH 4

/* Groups needed for B rows, and the rows (1..16) of group g. */
static int lanes_groups(int B) { return (B + LN_LANES - 1) / LN_LANES; }
static int group_rows(int B, int g) { return B - g * LN_LANES < LN_LANES ? B - g * LN_LANES : LN_LANES; }

/* How many threads a job runs with. The threads of a job meet at barriers
 * (between the stages of a shared group, around the loss and the gradient
 * sum), so when other processes keep the cores busy, a thread that reaches
 * a barrier can wait a whole scheduler time slice for one that was
 * descheduled: measured here with other work on both cores, 1000 steps of
 * batch 16 took 0.5 s on 1 thread and 1.3-20 s on 2, whatever the OpenMP
 * wait policy. The thread count never changes the results, so each kind of
 * job chooses it by measurement: it runs blocks of AUTO_BLOCK jobs, and
 * every `gap` blocks one block with the other count (1 or all threads),
 * keeping whichever took less time per group. While probes confirm the
 * choice by a wide margin they grow 4 times rarer each time (up to every
 * AUTO_GAP_MAX blocks; growing 2 times, a quiet machine's first 2-thread
 * epoch ran ~135 of its 1875 steps in probes on 1 thread, ~5% of its time);
 * two blocks in a row much slower than the choice's last confirmed time
 * (the machine got busy; one such block is often a passing disturbance)
 * bring the next probe at once. */
/* A block ends after AUTO_BLOCK jobs or AUTO_BLOCK_GROUPS groups: an
 * evaluation of the 10,000 test images is 40 jobs of 16 groups, so its
 * blocks are 2 jobs and a busy machine is noticed within its first fifth. */
enum { AUTO_BLOCK = 8, AUTO_BLOCK_GROUPS = 32, AUTO_GAP0 = 4, AUTO_GAP_MAX = 256 };
enum { JOB_FORWARD, JOB_BACKWARD, JOB_TRAIN, JOB_KINDS };
/* Progress counters (lanes_state.progress), one 64-byte line each. */
enum { PROGRESS_STRIDE = 8 };
typedef struct {
    int cur;            /* the chosen count: 1 or net->threads */
    int probing;        /* this block runs the other count */
    int jobs;           /* jobs in this block so far */
    double sec, units;  /* their seconds and groups */
    double t_cur;       /* seconds per group of the last block at cur */
    double t_ref;       /* ... when a probe last confirmed cur (0: not yet) */
    int gap, since;     /* blocks between probes; blocks since the last */
    int slow;           /* blocks in a row much slower than t_ref */
} lanes_auto;

static int auto_threads(const lanes_auto *a, int max) {
    if (max < 2) return 1;
    return a->probing ? (a->cur == 1 ? max : 1) : a->cur;
}

static void auto_record(lanes_auto *a, int max, double sec, int units) {
    if (max < 2) return;
    a->sec += sec, a->units += units;
    if (++a->jobs < AUTO_BLOCK && a->units < AUTO_BLOCK_GROUPS) return;
    const double t = a->sec / a->units;
    a->jobs = 0, a->sec = a->units = 0;
    if (a->probing) {
        a->probing = 0, a->since = 0;
        if (t < a->t_cur) { /* the other count is faster now */
            a->cur = a->cur == 1 ? max : 1;
            a->t_cur = a->t_ref = t;
            a->gap = AUTO_GAP0;
        } else {
            a->gap = t > 1.3 * a->t_cur ? (4 * a->gap < AUTO_GAP_MAX ? 4 * a->gap : AUTO_GAP_MAX) : AUTO_GAP0;
            a->t_ref = a->t_cur;
        }
        return;
    }
    a->t_cur = t;
    if (a->t_ref == 0) a->t_ref = t;
    a->slow = t > 1.5 * a->t_ref ? a->slow + 1 : 0;
    if (++a->since >= a->gap || a->slow >= 2) a->probing = 1, a->slow = 0;
}

typedef struct {
    ln_lane_kernels k;
    lanes_auto au[JOB_KINDS];
    int ngroups;
    ln_lane_group *groups;
    float *scratch1; /* for the one-image path */
    float *xsmall;   /* (LANES_SMALL_BATCH - 1, LN_IN_SIZE) input of a small forward */
    int pending;     /* rows of a small forward whose group activations are not set */
    double *prof;    /* (threads, LN_PROF_SLOTS) or NULL */
    long prof_fwd, prof_bwd; /* lanes processed while profiling */
    void *mem;
    /* amp level O2 (ln_lenet_set_amp): the bf16 kernels, the weights packed
     * before each job with a forward pass, and the groups' bf16 scratch;
     * kb.forward is NULL at O0 */
    ln_bf16_kernels kb;
    uint32_t *wpack;
    void *bfmem;
    /* How far each group's pass has got in the current job, one counter a
     * cache line: job * 8 + 1 after the forward (the losses are written),
     * job * 8 + 2 + st after backward stage st; the gradient sum in lanes_run
     * waits on them. */
    long *progress;
    long job;             /* flagged jobs so far */
    int claimed;          /* an evaluation job's groups taken so far (lanes_run) */
    int stage_of[LN_MAX_TENSORS]; /* the backward stage after which each tensor may be updated */
} lanes_state;

static ln_status lanes_init(ln_lenet *net, ln_error *err) {
    lanes_state *s = calloc(1, sizeof *s);
    if (!s) return ln_fail(err, LN_E_NOMEM, "out of memory for the network");
    net->eng->lanes = s;
    if (!strcmp(net->eng->gemm.name, "avx512"))
        s->k = (ln_lane_kernels){ln_lanes_forward_stage_avx512, ln_lanes_backward_stage_avx512,
                                 ln_lanes_load_u8_avx512, ln_lanes_load_f32_avx512, ln_lanes_forward1_avx512};
    else if (!strcmp(net->eng->gemm.name, "avx2"))
        s->k = (ln_lane_kernels){ln_lanes_forward_stage_avx2, ln_lanes_backward_stage_avx2, ln_lanes_load_u8_avx2,
                                 ln_lanes_load_f32_avx2, ln_lanes_forward1_avx2};
    else
        s->k = (ln_lane_kernels){ln_lanes_forward_stage_generic, ln_lanes_backward_stage_generic,
                                 ln_lanes_load_u8_generic, ln_lanes_load_f32_generic, ln_lanes_forward1_generic};
    s->ngroups = lanes_groups(net->max_batch);
    for (int k = 0; k < JOB_KINDS; k++) s->au[k] = (lanes_auto){.cur = net->threads, .gap = AUTO_GAP0};
    /* Per-group buffers, in floats (int32 buffers count as floats). The
     * gradients before pooling (da1, da2) reuse the conv outputs' memory (a1,
     * a2): the backward pass never reads those (lanes.h). */
    const size_t L = LN_LANES;
    const size_t a1 = LN_CONV1_C * LN_CONV1_PX * L, p1 = LN_CONV1_C * LN_POOL1_PX * L;
    const size_t a2 = LN_CONV2_C * LN_CONV2_PX * L, p2 = LN_FLAT * L;
    const size_t sizes[] = {LN_IN_SIZE * L, a1, p1, p1, a2, p2, p2, LN_FC1_N * L, LN_FC2_N * L,
                            LN_CLASSES * L, LN_CLASSES * L, LN_FC2_N * L, LN_FC1_N * L, p2, p1,
                            L * LN_LANES_TX * (size_t)net->threads, net->n_params};
    const size_t nbuf = sizeof sizes / sizeof sizes[0];
    size_t per_group = 0;
    for (size_t i = 0; i < nbuf; i++) per_group += (sizes[i] + 15) & ~(size_t)15; /* 64-byte multiples */
    const size_t total = per_group * (size_t)s->ngroups + LN_LANES_SCRATCH1 + (LANES_SMALL_BATCH - 1) * LN_IN_SIZE;
    s->groups = calloc((size_t)s->ngroups, sizeof *s->groups);
    /* calloc, aligned by hand: a large block comes zeroed from the kernel
     * page by page as it is first touched, so buffers a run never uses (e.g.
     * the backward ones in evaluation) cost neither a memset nor page faults. */
    s->mem = calloc(total * sizeof(float) + 64, 1);
    if (!s->groups || !s->mem) return ln_fail(err, LN_E_NOMEM, "out of memory for activations (batch %d)", net->max_batch);
    float *cur = (float *)(((uintptr_t)s->mem + 63) & ~(uintptr_t)63);
    for (int g = 0; g < s->ngroups; g++) {
        ln_lane_group *G = &s->groups[g];
        float **fields[] = {&G->x,   &G->a1,  NULL,     &G->p1,  &G->a2,  NULL,     &G->p2,
                            &G->h1,  &G->h2,  &G->lo,   &G->dlo, &G->dh2, &G->dh1,  &G->dp2,
                            &G->dp1, &G->tx,  &G->grads};
        for (size_t i = 0; i < nbuf; i++) {
            if (fields[i]) *fields[i] = cur;
            else if (i == 2) G->arg1 = (int32_t *)cur;
            else G->arg2 = (int32_t *)cur;
            cur += (sizes[i] + 15) & ~(size_t)15;
        }
        G->da1 = G->a1, G->da2 = G->a2;
    }
    s->scratch1 = cur;
    s->xsmall = cur + LN_LANES_SCRATCH1;
    s->progress = calloc((size_t)s->ngroups * PROGRESS_STRIDE + PROGRESS_STRIDE, sizeof *s->progress);
    if (!s->progress) return ln_fail(err, LN_E_NOMEM, "out of memory for the network");
    /* The backward stage after which a tensor's gradient is complete and
     * its weights are no longer read (lanes.h): each fc layer's own stage
     * (its weight and input gradients); conv2 4, not 3 (stage 4 computes
     * its input gradient from its weights); conv1 4. Anything else: the
     * last stage. */
    static const struct { const char *layer; int stage; } after[] = {
        {"fc3.", 0}, {"fc2.", 1}, {"fc1.", 2}, {"conv2.", 4}, {"conv1.", 4}};
    for (int k = 0; k < net->n_tensors; k++) {
        s->stage_of[k] = LN_LANES_BWD_STAGES - 1;
        for (size_t i = 0; i < sizeof after / sizeof after[0]; i++)
            if (!strncmp(net->info[k].name, after[i].layer, strlen(after[i].layer))) s->stage_of[k] = after[i].stage;
    }
    return LN_OK;
}

static void lanes_free(ln_lenet *net) {
    lanes_state *s = net->eng->lanes;
    if (!s) return;
    free(s->prof);
    free(s->bfmem);
    free(s->groups);
    free(s->mem);
    free(s->progress);
    free(s);
    net->eng->lanes = NULL;
}

/* One batch's work for the threads of one parallel region (lanes_run). */
typedef struct {
    ln_lenet *net;
    const float *x;          /* forward from these rows (or px); NULL: the groups hold the forward already */
    const uint8_t *const *px; /* the rows as uint8 images, normalised on the way in */
    const ln_resize_plan *plan; /* px are images of the plan's source size, resized on the way in */
    int B;
    const int32_t *labels;   /* the loss (a training step): per-row losses and act.dlogits, or NULL */
    double *per_sample;
    float loss_scale;
    const float *dlogits;    /* backward from these (act.dlogits in a training step); NULL: none */
    ln_momentum *opt;        /* update each summed slice; NULL: add the gradient into net->grads */
    int forward_only;        /* evaluation: stop after the loss (act.dlogits is scratch) */
    long base;               /* > 0: groups publish their progress from this value (lanes_state.progress) */
} lanes_job;

static void publish(const lanes_state *s, int g, long v) {
    __atomic_store_n(&s->progress[(size_t)g * PROGRESS_STRIDE], v, __ATOMIC_RELEASE);
}
static void wait_for(const lanes_state *s, int g, long v) {
    for (int spins = 0; __atomic_load_n(&s->progress[(size_t)g * PROGRESS_STRIDE], __ATOMIC_ACQUIRE) < v; spins++) {
        if (spins > 4000) sched_yield(); /* the other thread is not running: let it */
#if defined(__x86_64__) || defined(__i386__)
        else __builtin_ia32_pause();
#endif
    }
}

/* ---- amp level O2: the bf16 kernels (lanes_bf16.h) ---- */
ln_status ln_lenet_set_amp(ln_lenet *net, int level, const char *isa, ln_error *err) {
    if (level != LN_AMP_O0 && level != LN_AMP_O2)
        return ln_fail(err, LN_E_USAGE, "unsupported amp level %d: `amp_level`; give O0 or O2", level);
    lanes_state *s = net->eng->lanes;
    if (level == LN_AMP_O2 && !s)
        return ln_fail(err, LN_E_USAGE, "amp level O2 needs the lanes engine, not the gemm kernels: `amp_level`, "
                       "`kernels`; drop one of them");
    if (s) {
        free(s->bfmem);
        s->bfmem = NULL;
        s->wpack = NULL;
        memset(&s->kb, 0, sizeof s->kb);
        for (int g = 0; g < s->ngroups; g++) s->groups[g].bf = NULL;
    }
    net->amp = LN_AMP_O0;
    if (level == LN_AMP_O0) return LN_OK;
    if (ln_bf16_select(&s->kb, isa ? isa : net->eng->gemm.name)) {
        memset(&s->kb, 0, sizeof s->kb);
        return ln_fail(err, LN_E_USAGE, "bf16 kernels unknown or not supported by this CPU: '%s'",
                       isa ? isa : net->eng->gemm.name);
    }
    const size_t words = LN_BF16_WORDS + (size_t)s->ngroups * LN_BF16_GROUP_WORDS + 16;
    s->bfmem = calloc(words, sizeof(uint32_t));
    if (!s->bfmem) {
        memset(&s->kb, 0, sizeof s->kb);
        return ln_fail(err, LN_E_NOMEM, "out of memory for the bf16 activations (batch %d)", net->max_batch);
    }
    uint32_t *cur = (uint32_t *)(((uintptr_t)s->bfmem + 63) & ~(uintptr_t)63);
    _Static_assert(LN_BF16_GROUP_WORDS % 16 == 0, "64-byte aligned group scratch");
    for (int g = 0; g < s->ngroups; g++, cur += LN_BF16_GROUP_WORDS) s->groups[g].bf = cur;
    s->wpack = cur;
    net->amp = level;
    return LN_OK;
}

const char *ln_lenet_amp_kernels(const ln_lenet *net) {
    const lanes_state *s = net->eng->lanes;
    return net->amp && s ? s->kb.name : NULL;
}

/* Between the stages of a shared group: every thread of the region shares
 * it, so this is the region's barrier. */
static void stage_barrier(int parts) {
    if (parts > 1) {
        #pragma omp barrier
    }
}

/* ---- prefetching what another core has in its cache (lanes.h: ln_lanes_pf) ----
 * With every group a thread's own (a batch of 32 on 2 threads), thread t
 * sums and updates its range of each tensor (split.h) and no other. So in
 * every step the dense layers' weights, ~0.2 MB, cross between the cores
 * twice: another thread's range of them, just updated, is read by this
 * thread's forward pass; and this thread's range of every other group's
 * weight gradients is read by its gradient sum. Each also comes back: the
 * lines read are then written by their owner. Fetched on demand, one
 * round trip per few lines, they stall whoever needs them (measured on 2
 * threads against 1: fc1's forward 1.15 us a sample against 0.70; the sum
 * and update of half the parameters 35 us a step, the same as all of them
 * on 1 thread). Instead they are prefetched a few lines at a time while
 * the convolutions compute, which changes no result. */
static const long dense_n[3] = {(long)LN_FC1_N * LN_FLAT, (long)LN_FC2_N * LN_FC1_N, (long)LN_CLASSES * LN_FC2_N},
                  dense_b[3] = {LN_FC1_N, LN_FC2_N, LN_CLASSES};

/* Appends to pf thread t's range (split.h) of tensor base[0 .. n), or if
 * !own the rest of it (up to two ranges). */
static void pf_add(ln_lanes_pf *pf, const float *base, long n, int t, int nt, int own, int write) {
    long a, b;
    ln_split_range(n, nt, t, &a, &b);
    const long lo[2] = {own ? a : 0, b}, hi[2] = {own ? b : a, n};
    for (int i = 0; i < (own ? 1 : 2) && pf->n < LN_LANES_PF_RANGES; i++) {
        pf->p[pf->n] = (const char *)(base + lo[i]);
        pf->end[pf->n] = (const char *)(base + hi[i]);
        pf->write[pf->n++] = (unsigned char)write;
    }
}

/* Appends thread t's range (split.h) of each dense layer's weights and bias
 * in v (the parameters, or a group's gradient). */
static void pf_add_dense(ln_lanes_pf *pf, const ln_lenet_views *v, int t, int nt, int write) {
    const float *w[3] = {v->fc1_w, v->fc2_w, v->fc3_w}, *b[3] = {v->fc1_b, v->fc2_b, v->fc3_b};
    for (int k = 0; k < 3; k++) {
        pf_add(pf, w[k], dense_n[k], t, nt, 1, write);
        pf_add(pf, b[k], dense_b[k], t, nt, 1, write);
    }
}

/* Forward of a thread's first group G in a training step: the others'
 * ranges of fc1's and fc2's weights, to read; then the same ranges of G's
 * gradient, which those threads read in the last sum and G's backward will
 * write, to own before it does. Taken by the convolutions' forward. */
static ln_lanes_pf *plan_forward(const ln_lenet *net, const ln_lane_group *G, ln_lanes_pf *pf) {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const ln_lenet_views dg = ln_lenet_views_of(net, G->grads);
    *pf = (ln_lanes_pf){.step = 12};
    pf_add(pf, net->p.fc1_w, dense_n[0], t, nt, 0, 0);
    pf_add(pf, net->p.fc2_w, dense_n[1], t, nt, 0, 0);
    pf_add(pf, dg.fc1_w, dense_n[0], t, nt, 0, 1);
    pf_add(pf, dg.fc2_w, dense_n[1], t, nt, 0, 1);
    return pf;
}

/* Backward of group g, before conv2's weight gradient: this thread's range
 * of every other group's dense weight gradients, to read; and of the dense
 * weights, which the others have read and this thread will update, to own.
 * Taken by conv2's weight gradient once every other group is past its
 * dense layers (the gates: about half the time one is still in them when
 * this pass gets here). */
static ln_lanes_pf *plan_backward(const lanes_job *j, int g, ln_lanes_pf *pf) {
    const lanes_state *s = j->net->eng->lanes;
    const int t = omp_get_thread_num(), nt = omp_get_num_threads(), ng = lanes_groups(j->B);
    if (ng - 1 > LN_LANES_PF_RANGES) return NULL; /* (pf_add drops ranges past the last) */
    *pf = (ln_lanes_pf){.step = 4, .need = j->base + 2 + 2};
    for (int h = 0; h < ng; h++) {
        if (h == g) continue;
        pf->gate[pf->ngates++] = &s->progress[(size_t)h * PROGRESS_STRIDE];
        const ln_lenet_views ov = ln_lenet_views_of(j->net, s->groups[h].grads);
        pf_add_dense(pf, &ov, t, nt, 0);
    }
    pf_add_dense(pf, &j->net->p, t, nt, 1);
    return pf;
}

/* Backward of a group all threads share (a batch of 16 on 2 threads),
 * before conv2's weight gradient: this thread's range of the dense weights
 * and biases, which the other threads have read (fc1's and fc2's input
 * gradients read every row) and this thread will update, to own. No gate:
 * the threads passed a barrier after the dense layers. (Their weight
 * gradients need nothing: a thread computed the rows it sums.) Measured,
 * speedrun seed 1, training time, 6 alternated runs, medians: 1525.7 ->
 * 1445.6 ms; prefetching the others' ranges of fc1's and fc2's weights
 * during the forward pass as well gained nothing more (1453.5). */
static ln_lanes_pf *plan_shared(const ln_lenet *net, ln_lanes_pf *pf) {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    *pf = (ln_lanes_pf){.step = 4};
    pf_add_dense(pf, &net->p, t, nt, 1);
    return pf;
}

/* Forward of group g (part `part` of `parts` of its work) in the
 * activations of group `slot`; then its rows' logits, and their losses and
 * loss gradients if the job has labels. */
static void group_forward(const lanes_job *j, int g, int slot, int part, int parts, double *prof) {
    lanes_state *s = j->net->eng->lanes;
    ln_lane_group *G = &s->groups[slot];
    const int n = group_rows(j->B, g);
    /* (n, LN_IN_SIZE) -> (LN_IN_SIZE, 16), in 16 x 16 tiles. */
    _Static_assert(LN_IN_SIZE % 16 == 0, "the input transposes in 16 x 16 tiles");
    int a, b;
    ln_lanes_share(LN_IN_SIZE / 16, part, parts, &a, &b);
    if (j->plan) { /* each part resizes all n rows (a shared group: a batch's last, fewer than the threads) */
        uint8_t img[LN_LANES][LN_IN_SIZE] __attribute__((aligned(64)));
        const uint8_t *rows[LN_LANES];
        for (int r = 0; r < n; r++) {
            ln_resize_plan_apply(j->plan, j->px[(long)g * LN_LANES + r], img[r]);
            rows[r] = img[r];
        }
        s->k.load_u8(rows, n, G->x, a, b);
    } else if (j->px) s->k.load_u8(j->px + (long)g * LN_LANES, n, G->x, a, b);
    else s->k.load_f32(j->x + (long)g * LN_LANES * LN_IN_SIZE, n, G->x, a, b);
    stage_barrier(parts);
    ln_lanes_pf pf;
    ln_lane_group mine = *G; /* the stages take this thread's copy, with its own pf */
    if (j->forward_only) mine.arg1 = mine.arg2 = NULL; /* no backward: pooling keeps no argmax */
    if (parts == 1 && g == omp_get_thread_num() && j->opt && !s->kb.forward && omp_get_num_threads() > 1)
        mine.pf = plan_forward(j->net, G, &pf);
    float lo[LN_CLASSES * LN_LANES] __attribute__((aligned(64)));
    if (s->kb.forward) { /* O2: the bf16 kernels take a group whole (part 0) */
        if (part == 0) s->kb.forward(&j->net->p, s->wpack, G, prof);
        stage_barrier(parts);
    } else {
        for (int st = 0; st < LN_LANES_FWD_STAGES - 1; st++) {
            s->k.forward(&j->net->p, &mine, st, part, parts, prof);
            if (st == 1) mine.pf = NULL;
            stage_barrier(parts);
        }
        /* The last stage (fc3: 840 multiply-adds a lane) runs whole in every
         * part, each into its own logits, which saves a barrier. */
        if (part) mine.lo = lo;
        s->k.forward(&j->net->p, &mine, LN_LANES_FWD_STAGES - 1, 0, 1, prof);
    }
    ln_lanes_share(n, part, parts, &a, &b);
    float *logits = j->net->eng->act.logits, *dlogits = j->net->eng->act.dlogits;
    const int r0 = g * LN_LANES;
    for (int l = a; l < b; l++)
        for (int o = 0; o < LN_CLASSES; o++) logits[(long)(r0 + l) * LN_CLASSES + o] = mine.lo[o * LN_LANES + l];
    if (!j->labels || a == b) return;
    ln_softmax_xent_rows(logits, j->labels, r0 + a, b - a, j->B, LN_CLASSES, dlogits, j->per_sample);
    /* Loss scaling: MindSpore multiplies the loss's gradient by the scale and
     * the optimizer divides it out again. */
    if (j->loss_scale != 1.0f)
        for (long i = (long)(r0 + a) * LN_CLASSES; i < (long)(r0 + b) * LN_CLASSES; i++) dlogits[i] *= j->loss_scale;
}

/* Backward of group g (its part), into the group's gradient buffer. */
static void group_backward(const lanes_job *j, int g, int part, int parts, double *prof) {
    lanes_state *s = j->net->eng->lanes;
    ln_lane_group *G = &s->groups[g];
    const int n = group_rows(j->B, g);
    /* Every part takes all of the loss gradient (dlo) and computes all of
     * fc3's input gradient (dh2, the first stage's), each into its own
     * copy: no barrier before the first stage, nor after it. */
    ln_lane_group mine = *G;
    float dlo[LN_CLASSES * LN_LANES] __attribute__((aligned(64)));
    float dh2[LN_FC2_N * LN_LANES] __attribute__((aligned(64)));
    if (part) mine.dlo = dlo, mine.dh2 = dh2;
    for (int o = 0; o < LN_CLASSES; o++)
        for (int l = 0; l < LN_LANES; l++)
            mine.dlo[o * LN_LANES + l] = l < n ? j->dlogits[((long)g * LN_LANES + l) * LN_CLASSES + o] : 0.f;
    ln_lenet_views dg = ln_lenet_views_of(j->net, G->grads);
    ln_lanes_pf pf;
    if (s->kb.backward) { /* O2, as in group_forward: part 0 has filled all of G->dlo */
        if (part == 0) s->kb.backward(&j->net->p, s->wpack, &dg, G, prof);
        if (j->base) publish(s, g, j->base + 2 + LN_LANES_BWD_STAGES - 1);
    } else
        for (int st = 0; st < LN_LANES_BWD_STAGES; st++) {
            if (st > 1) stage_barrier(parts);
            if (st == 3 && parts == 1 && j->base && j->opt) mine.pf = plan_backward(j, g, &pf);
            if (st == 3 && parts > 1 && j->opt) mine.pf = plan_shared(j->net, &pf);
            if (st == 4) mine.pf = NULL;
            s->k.backward(&j->net->p, &dg, &mine, st, part, parts, prof);
            if (j->base) publish(s, g, j->base + 2 + st);
        }
}

/* out[i] += in[i] over [0, n); from_zero: out[i] = 0 + in[i] (the same
 * bits as zeroing, then adding). */
LN_CLONES static void add_range(float *restrict out, const float *restrict in, long n, int from_zero) {
    if (from_zero)
        for (long i = 0; i < n; i++) out[i] = 0.0f + in[i];
    else
        for (long i = 0; i < n; i++) out[i] += in[i];
}

static int losses_finite(const lanes_job *j) {
    for (int i = 0; i < j->B; i++)
        if (!isfinite(j->per_sample[i])) return 0;
    return 1;
}

/* The job, run by every thread of the region. Whole groups go one to a
 * thread while each thread can have one; the groups left over (fewer than
 * the threads: all of a batch of 16 on 2 threads) are shared by all
 * threads, stage by stage. */
static void lanes_run(const lanes_job *j) {
    ln_lenet *net = j->net;
    lanes_state *s = net->eng->lanes;
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int ng = lanes_groups(j->B), solo = ng - ng % nt;
    double *prof = s->prof ? s->prof + (size_t)t * LN_PROF_SLOTS : NULL;
    /* A training step runs each of a thread's own groups forward and then
     * at once backward, while its activations (~0.9 MB) are still in the
     * core's L2; all forwards first would leave the first group's to be
     * read back from L3 when a thread has several groups (a batch of 32 on
     * 1 thread). The groups' gradients and their sum are the same either
     * way, and nothing is updated before the losses are checked below. */
    const int fused = (j->x || j->px) && j->labels && j->dlogits && !j->forward_only;
    if (j->x || j->px) {
        /* An evaluation keeps no activations for a backward pass: a thread
         * runs all its groups in the activations of one (~0.9 MB, which stay
         * in its L2), not in one per group (a batch of 256: 16 groups, 14
         * MB, cold every time; measured: 7.8 us per image on 1 thread
         * against 5.3). A shared group g >= solo keeps its own, which no
         * thread uses for its groups (g >= nt, or no thread has any). */
        /* An evaluation's groups are independent and nothing follows them
         * in the job, so each thread takes the next group not yet taken:
         * a thread slowed by another process on its core does fewer, and
         * the other does not wait for it at the end of the batch. Which
         * thread runs a group changes nothing in its results. */
        if (j->forward_only) {
            for (;;) {
                int g;
                #pragma omp atomic capture
                g = s->claimed++;
                if (g >= solo) break;
                group_forward(j, g, t, 0, 1, prof);
            }
        } else for (int g = t; g < solo; g += nt) {
            group_forward(j, g, g, 0, 1, prof);
            if (j->base) publish(s, g, j->base + 1);
            if (fused) group_backward(j, g, 0, 1, prof);
        }
        for (int g = solo; g < ng; g++) group_forward(j, g, g, t, nt, prof);
    }
    if (!j->dlogits || j->forward_only) return;
    /* The loss must be finite: otherwise stop before anything is updated
     * (after a barrier, so every thread sees every row's loss and decides
     * the same). A shared group's backward needs every thread's rows of the
     * loss gradient, so with one the check comes now; when every group is
     * a thread's own (a batch of 32 on 2 threads), its backward needs only
     * the thread's own rows, and the check waits for the barrier before the
     * sum: one barrier a step fewer. */
    const int check_now = j->labels && solo < ng;
    if (check_now) {
        #pragma omp barrier
        if (!losses_finite(j)) return;
    }
    if (!fused)
        for (int g = t; g < solo; g += nt) group_backward(j, g, 0, 1, prof);
    for (int g = solo; g < ng; g++) group_backward(j, g, t, nt, prof);
    if (j->base) { /* every forward done: the losses are final */
        for (int g = 0; g < ng; g++) wait_for(s, g, j->base + 1);
        if (!losses_finite(j)) return;
    } else {
        #pragma omp barrier
        if (j->labels && !check_now && !losses_finite(j)) return;
    }
    /* Sum the groups' gradients in group order (fixed for any thread count):
     * grads[i] = ((grads[i] + g0[i]) + g1[i]) + ... (a training step starts
     * from 0, as after ln_lenet_zero_grad), each thread over its part of
     * each tensor (split.h: for fc1 and fc2 the rows of the weight gradient
     * it computed in a shared group, so they are still in its cache), in
     * L1-sized chunks; a training step then updates each chunk while it is
     * in L1.
     * With every group a thread's own (j->base: a batch of 32 on 2 threads)
     * there is no barrier before this: the threads take the tensors in the
     * order the backward pass finishes them (fc3 first, conv1 last) and wait
     * only for the groups' progress past the last stage that writes its
     * gradient or reads its weights (stage_of), so
     * a thread that is done first sums fc3, fc2 and fc1 while the other is
     * still in the convolutions (measured: each thread waited ~30 us a step
     * at the barrier, of ~400). The sums are the same either way. */
    /* A training step sums each chunk into a buffer of its own, which
     * stays in L1 while the update reads it, rather than into net->grads,
     * which nothing else reads: one 247 KB buffer fewer in and out of the
     * caches every step (alternated epochs, 10 each, medians, two runs of
     * the comparison: 1 thread 1111 -> 1082 and 1080 -> 1050 ms, 2 threads
     * 606 -> 589 and 567 -> 562) - unless the caller keeps the gradients or
     * a centralised tensor needs them whole. */
    enum { chunk = 2048 };
    float *restrict out = net->grads;
    const int in_l1 = j->opt && !net->eng->keep_grads && !ln_momentum_step_needs_whole(j->opt);
    float sum[chunk] __attribute__((aligned(64)));
    for (int kk = 0; kk < net->n_tensors; kk++) {
        const int k = j->base ? net->n_tensors - 1 - kk : kk;
        if (j->base)
            for (int g = 0; g < ng; g++) wait_for(s, g, j->base + 2 + s->stage_of[k]);
        long a, b;
        ln_split_range((long)net->info[k].size, nt, t, &a, &b);
        a += (long)net->info[k].offset, b += (long)net->info[k].offset;
        for (long c0 = a; c0 < b; c0 += chunk) {
            const long c1 = c0 + chunk < b ? c0 + chunk : b;
            float *o = in_l1 ? sum : out + c0;
            for (int g = 0; g < ng; g++) add_range(o, s->groups[g].grads + c0, c1 - c0, g == 0 && j->opt);
            if (j->opt) ln_momentum_step_chunk(j->opt, net->params, o, c0, c1);
        }
    }
    if (j->opt && ln_momentum_step_needs_whole(j->opt)) {
        #pragma omp barrier
        if (t == 0) ln_momentum_step_whole(j->opt, net->params, out);
    }
}

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static void lanes_go(ln_lenet *net, const lanes_job *j, int kind) {
    lanes_state *s = net->eng->lanes;
    const int ng = lanes_groups(j->B);
    if (s->prof) {
        if (j->x || j->px) s->prof_fwd += (long)ng * LN_LANES;
        if (j->dlogits && !j->forward_only) s->prof_bwd += (long)ng * LN_LANES;
    }
    if (s->kb.forward && (j->x || j->px)) s->kb.pack(&net->p, s->wpack); /* O2: this step's weights in bf16 */
    lanes_auto *au = &s->au[kind];
    const int nt = auto_threads(au, net->threads);
    lanes_job flagged = *j;
    if (nt > 1 && ng % nt == 0 && j->labels && j->dlogits && !j->forward_only) {
        flagged.base = ++s->job * 8;
        j = &flagged;
    }
    const double t0 = net->threads > 1 ? now_seconds() : 0.0;
    s->claimed = 0;
    #pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const unsigned fp = ln_fpflush_enter(); /* each thread: fpflush.h */
        lanes_run(j);
        ln_fpflush_leave(fp);
    }
    if (net->threads > 1) auto_record(au, net->threads, now_seconds() - t0, ng);
}

static void lanes_forward(ln_lenet *net, const float *x, int B) {
    lanes_state *s = net->eng->lanes;
    s->pending = 0;
    if (B < LANES_SMALL_BATCH && !s->kb.forward) { /* (O2 has no one-image path) */
        const unsigned fp = ln_fpflush_enter();
        for (int b = 0; b < B; b++)
            s->k.forward1(&net->p, x + (long)b * LN_IN_SIZE, s->scratch1, net->eng->act.logits + (long)b * LN_CLASSES);
        ln_fpflush_leave(fp);
        memcpy(s->xsmall, x, sizeof(float) * LN_IN_SIZE * (size_t)B);
        s->pending = B;
        return;
    }
    lanes_go(net, &(lanes_job){.net = net, .x = x, .B = B}, JOB_FORWARD);
}

static void lanes_backward(ln_lenet *net, const float *dlogits, int B) {
    lanes_state *s = net->eng->lanes;
    /* If the last forward took the one-image path, the groups need it now. */
    const float *x = s->pending ? s->xsmall : NULL;
    s->pending = 0;
    lanes_go(net, &(lanes_job){.net = net, .x = x, .B = B, .dlogits = dlogits}, JOB_BACKWARD);
}

int ln_lenet_train_step(ln_lenet *net, const uint8_t *const *images, const int32_t *labels, int B, float loss_scale,
                        ln_momentum *opt, double *per_sample, double *loss) {
    lanes_state *s = net->eng->lanes;
    s->pending = 0;
    lanes_go(net, &(lanes_job){.net = net, .px = images, .B = B, .labels = labels, .per_sample = per_sample,
                               .loss_scale = loss_scale, .dlogits = net->eng->act.dlogits, .opt = opt}, JOB_TRAIN);
    *loss = ln_softmax_xent_mean(per_sample, B);
    if (!isfinite(*loss)) return 1;
    ln_momentum_step_done(opt);
    return 0;
}

int ln_lenet_eval_step(ln_lenet *net, const ln_resize_plan *plan, const uint8_t *const *images,
                       const int32_t *labels, int B, double *per_sample) {
    lanes_state *s = net->eng->lanes;
    if (!s || (plan && (!plan->ok || plan->dh != LN_IN_SIDE || plan->dw != LN_IN_SIDE))) return -1;
    s->pending = 0;
    lanes_go(net, &(lanes_job){.net = net, .px = images, .plan = plan, .B = B, .labels = labels,
                               .per_sample = per_sample, .loss_scale = 1.0f, .dlogits = net->eng->act.dlogits,
                               .forward_only = 1},
             JOB_FORWARD);
    return 0;
}

ln_status ln_lenet_init(ln_lenet *net, int conv_bias, int max_batch, int threads, const char *kernels,
                        ln_error *err) {
    memset(net, 0, sizeof *net);
    if (max_batch < 1) return ln_fail(err, LN_E_USAGE, "batch size must be >= 1 (got %d)", max_batch);
    const char *isa = kernels;
    if (kernels && !strncmp(kernels, "gemm:", 5)) net->engine = LN_ENGINE_GEMM, isa = kernels + 5;
    else if (kernels && !strcmp(kernels, "gemm")) net->engine = LN_ENGINE_GEMM, isa = NULL;
    ln_gemm_kernels gk;
    if (ln_gemm_select(&gk, isa) != 0)
        return ln_fail(err, LN_E_USAGE,
                       "kernels '%s' are unknown or not supported by this CPU (auto, avx512, avx2, generic, "
                       "or gemm[:ISA])",
                       kernels ? kernels : "auto");
    if (!(net->eng = calloc(1, sizeof *net->eng))) return ln_fail(err, LN_E_NOMEM, "out of memory for the network");
    net->eng->gemm = gk;
    net->conv_bias = conv_bias;
    net->max_batch = max_batch;
    net->threads = threads < 1 ? 1 : threads;
    net->n_tensors = ln_arch_tensors(conv_bias, net->info, &net->n_params);
    net->params = calloc(net->n_params * 2, sizeof(float));
    if (!net->params) {
        ln_lenet_free(net);
        return ln_fail(err, LN_E_NOMEM, "out of memory for parameters");
    }
    net->grads = net->params + net->n_params;
    net->p = ln_lenet_views_of(net, net->params);
    net->g = ln_lenet_views_of(net, net->grads);

    if (net->engine == LN_ENGINE_LANES && lanes_init(net, err)) {
        ln_lenet_free(net);
        return err ? err->status : LN_E_NOMEM;
    }

    /* Activations in one allocation, carved into the named fields; the lanes
     * engine needs only logits and dlogits here. */
    const size_t B = (size_t)max_batch;
    const size_t G = net->engine == LN_ENGINE_GEMM ? B : 0;
    const size_t KK = LN_KERNEL * LN_KERNEL;
    const size_t col1 = LN_IN_C * KK * G * LN_CONV1_PX, col2 = LN_CONV1_C * KK * G * LN_CONV2_PX;
    const size_t a1 = LN_CONV1_C * G * LN_CONV1_PX, p1 = LN_CONV1_C * G * LN_POOL1_PX;
    const size_t a2 = LN_CONV2_C * G * LN_CONV2_PX, p2 = G * LN_FLAT;
    struct { float **f; uint8_t **u; size_t n; } plan[] = {
        {&net->eng->act.logits, NULL, B * LN_CLASSES}, {&net->eng->act.dlogits, NULL, B * LN_CLASSES},
        {&net->eng->act.x, NULL, G * LN_IN_SIZE},      {&net->eng->act.col1, NULL, col1},
        {&net->eng->act.a1, NULL, a1},                 {&net->eng->act.p1, NULL, p1},
        {&net->eng->act.col2, NULL, col2},             {&net->eng->act.a2, NULL, a2},
        {&net->eng->act.p2, NULL, p2},                 {&net->eng->act.f0, NULL, p2},
        {&net->eng->act.h1, NULL, G * LN_FC1_N},       {&net->eng->act.h2, NULL, G * LN_FC2_N},
        {&net->eng->act.dh2, NULL, G * LN_FC2_N},      {&net->eng->act.dh1, NULL, G * LN_FC1_N},
        {&net->eng->act.df0, NULL, p2},                {&net->eng->act.dp2, NULL, p2},
        {&net->eng->act.da2, NULL, a2},                {&net->eng->act.dcol2, NULL, col2},
        {&net->eng->act.dp1, NULL, p1},                {&net->eng->act.da1, NULL, a1},
        {NULL, &net->eng->act.arg1, p1},               {NULL, &net->eng->act.arg2, p2},
    };
    const size_t nplan = sizeof plan / sizeof plan[0];
    size_t total = 0;
    for (size_t i = 0; i < nplan; i++) {
        size_t bytes = plan[i].f ? plan[i].n * sizeof(float) : plan[i].n;
        total += (bytes + 63) & ~(size_t)63;
    }
    net->eng->act_mem = aligned_alloc(64, total);
    if (!net->eng->act_mem) {
        ln_lenet_free(net);
        return ln_fail(err, LN_E_NOMEM, "out of memory for activations (batch %d)", max_batch);
    }
    char *cur = net->eng->act_mem;
    for (size_t i = 0; i < nplan; i++) {
        size_t bytes = plan[i].f ? plan[i].n * sizeof(float) : plan[i].n;
        void *ptr = plan[i].n ? (void *)cur : NULL;
        if (plan[i].f) *plan[i].f = ptr;
        else *plan[i].u = ptr;
        cur += (bytes + 63) & ~(size_t)63;
    }
    return LN_OK;
}

void ln_lenet_free(ln_lenet *net) {
    if (net->eng) {
        lanes_free(net);
        free(net->eng->stage);
        free(net->eng->act_mem);
        free(net->eng);
    }
    free(net->params);
    memset(net, 0, sizeof *net);
}

const float *ln_lenet_logits(const ln_lenet *net) { return net->eng->act.logits; }

const char *ln_lenet_kernels(const ln_lenet *net) { return net->eng->gemm.name; }

/* SplitMix64's finaliser: a well-mixed 64-bit function of its input. */
static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void ln_lenet_init_weights(ln_lenet *net, uint32_t seed) {
    /* The data pipeline seeds its mt19937 with `seed` itself (MindSpore's
     * dataset seed); the initialiser uses a stream derived from it, so that
     * weights and data order do not consume the same random numbers. */
    ln_mt32 r;
    ln_mt32_seed(&r, (uint32_t)(mix64((uint64_t)seed + 0x9e3779b97f4a7c15ull) >> 32));
    /* Tensors in checkpoint order (the draws' order): per layer, weight then bias. */
    const ln_layer *layers = ln_arch_layers();
    for (int i = 0; i < LN_ARCH_LAYERS; i++) {
        const ln_layer *l = &layers[i];
        if (!l->weight) continue;
        const char *names[2] = {l->weight, l->bias};
        for (int j = 0; j < 2; j++) {
            const int t = ln_lenet_find(net, names[j]);
            if (t < 0) continue; /* a conv bias of the variant without */
            float *w = net->params + net->info[t].offset;
            const size_t n = net->info[t].size;
            if (l->kind == LN_LAYER_CONV) {
                /* fan_in = in_c * kernel * kernel */
                const double bound = 1.0 / sqrt((double)(l->in_c * l->kernel * l->kernel));
                for (size_t k = 0; k < n; k++) w[k] = (float)((2.0 * ln_mt32_uniform(&r) - 1.0) * bound);
            } else if (j == 0) {
                for (size_t k = 0; k < n; k++) w[k] = (float)(0.02 * ln_mt32_normal(&r));
            } else {
                memset(w, 0, n * sizeof(float));
            }
        }
    }
}

void ln_lenet_keep_grads(ln_lenet *net, int on) { net->eng->keep_grads = on != 0; }

void ln_lenet_zero_grad(ln_lenet *net) { memset(net->grads, 0, net->n_params * sizeof(float)); }

void ln_lenet_forward(ln_lenet *net, const float *x, int B) {
    if (net->engine == LN_ENGINE_LANES) {
        lanes_forward(net, x, B);
        return;
    }
    const unsigned fp = ln_fpflush_enter(); /* and in each parallel region of layers.c, gemm_kernels.c */
    ln_lenet_acts *a = &net->eng->act;
    const ln_gemm_kernels *g = &net->eng->gemm;
    const int T = net->threads;
    memcpy(a->x, x, sizeof(float) * (size_t)B * LN_IN_SIZE);
    /* x (B, 1, S, S) is (1, B, S, S) channel-major: one input channel. */
    _Static_assert(LN_IN_C == 1 && LN_POOL == 2, "the GEMM engine's layout and pooling");
    ln_conv2d_forward(g, a->x, net->p.conv1_w, net->p.conv1_b, B, LN_IN_C, LN_IN_SIDE, LN_IN_SIDE, LN_CONV1_C,
                      LN_KERNEL, a->col1, a->a1, T);
    ln_relu_forward(a->a1, (long)LN_CONV1_C * B * LN_CONV1_PX);
    ln_maxpool2_forward(a->a1, (long)LN_CONV1_C * B, LN_CONV1_SIDE, LN_CONV1_SIDE, a->p1, a->arg1, T);
    ln_conv2d_forward(g, a->p1, net->p.conv2_w, net->p.conv2_b, B, LN_CONV1_C, LN_POOL1_SIDE, LN_POOL1_SIDE,
                      LN_CONV2_C, LN_KERNEL, a->col2, a->a2, T);
    ln_relu_forward(a->a2, (long)LN_CONV2_C * B * LN_CONV2_PX);
    ln_maxpool2_forward(a->a2, (long)LN_CONV2_C * B, LN_CONV2_SIDE, LN_CONV2_SIDE, a->p2, a->arg2, T);
    /* flatten: (C, B, H*W) -> (B, C*H*W) in C,H,W order */
    for (int b = 0; b < B; b++)
        for (int c = 0; c < LN_CONV2_C; c++)
            memcpy(a->f0 + (long)b * LN_FLAT + c * LN_POOL2_PX, a->p2 + ((long)c * B + b) * LN_POOL2_PX,
                   sizeof(float) * LN_POOL2_PX);
    ln_dense_forward(g, a->f0, net->p.fc1_w, net->p.fc1_b, B, LN_FLAT, LN_FC1_N, a->h1, T);
    ln_relu_forward(a->h1, (long)LN_FC1_N * B);
    ln_dense_forward(g, a->h1, net->p.fc2_w, net->p.fc2_b, B, LN_FC1_N, LN_FC2_N, a->h2, T);
    ln_relu_forward(a->h2, (long)LN_FC2_N * B);
    ln_dense_forward(g, a->h2, net->p.fc3_w, net->p.fc3_b, B, LN_FC2_N, LN_CLASSES, a->logits, T);
    ln_fpflush_leave(fp);
}

void ln_lenet_backward(ln_lenet *net, const float *dlogits, int B) {
    if (net->engine == LN_ENGINE_LANES) {
        lanes_backward(net, dlogits, B);
        return;
    }
    const unsigned fp = ln_fpflush_enter();
    ln_lenet_acts *a = &net->eng->act;
    const ln_gemm_kernels *g = &net->eng->gemm;
    const int T = net->threads;
    ln_dense_backward(g, dlogits, a->h2, net->p.fc3_w, B, LN_FC2_N, LN_CLASSES, net->g.fc3_w, net->g.fc3_b,
                      a->dh2, T);
    ln_relu_backward(a->h2, a->dh2, (long)LN_FC2_N * B);
    ln_dense_backward(g, a->dh2, a->h1, net->p.fc2_w, B, LN_FC1_N, LN_FC2_N, net->g.fc2_w, net->g.fc2_b, a->dh1, T);
    ln_relu_backward(a->h1, a->dh1, (long)LN_FC1_N * B);
    ln_dense_backward(g, a->dh1, a->f0, net->p.fc1_w, B, LN_FLAT, LN_FC1_N, net->g.fc1_w, net->g.fc1_b, a->df0, T);
    for (int b = 0; b < B; b++)
        for (int c = 0; c < LN_CONV2_C; c++)
            memcpy(a->dp2 + ((long)c * B + b) * LN_POOL2_PX, a->df0 + (long)b * LN_FLAT + c * LN_POOL2_PX,
                   sizeof(float) * LN_POOL2_PX);
    ln_maxpool2_backward(a->dp2, a->arg2, (long)LN_CONV2_C * B, LN_CONV2_SIDE, LN_CONV2_SIDE, a->da2, T);
    ln_relu_backward(a->a2, a->da2, (long)LN_CONV2_C * B * LN_CONV2_PX);
    ln_conv2d_backward(g, a->da2, a->col2, net->p.conv2_w, B, LN_CONV1_C, LN_POOL1_SIDE, LN_POOL1_SIDE, LN_CONV2_C,
                       LN_KERNEL, net->g.conv2_w, net->g.conv2_b, a->dcol2, a->dp1, T);
    ln_maxpool2_backward(a->dp1, a->arg1, (long)LN_CONV1_C * B, LN_CONV1_SIDE, LN_CONV1_SIDE, a->da1, T);
    ln_relu_backward(a->a1, a->da1, (long)LN_CONV1_C * B * LN_CONV1_PX);
    ln_conv2d_backward(g, a->da1, a->col1, net->p.conv1_w, B, LN_IN_C, LN_IN_SIDE, LN_IN_SIDE, LN_CONV1_C, LN_KERNEL,
                       net->g.conv1_w, net->g.conv1_b, NULL, NULL, T);
    ln_fpflush_leave(fp);
}

int ln_lenet_set_profiling(ln_lenet *net, int on) {
    lanes_state *s = net->eng->lanes;
    if (!s) return -1;
    free(s->prof);
    s->prof = NULL;
    s->prof_fwd = s->prof_bwd = 0;
    if (!on) return 0;
    s->prof = calloc((size_t)net->threads * LN_PROF_SLOTS, sizeof(double));
    return s->prof ? 0 : -1;
}

void ln_lenet_get_profile(const ln_lenet *net, ln_lenet_profile *out) {
    memset(out, 0, sizeof *out);
    const lanes_state *s = net->eng->lanes;
    /* The profiled layers: the table's rows that do work of their own (ReLU
     * is fused into the layers around it, flatten is free). */
    const ln_layer *layers = ln_arch_layers();
    int l = 0;
    for (int i = 0; i < LN_ARCH_LAYERS && l < LN_PROF_LAYERS; i++) {
        const ln_layer *y = &layers[i];
        if (y->kind == LN_LAYER_RELU || y->kind == LN_LAYER_FLATTEN) continue;
        out->name[l] = y->name;
        out->fwd_flops[l] = ln_arch_layer_flops(y);
        /* backward: weight and input gradients; the first layer needs no input gradient */
        out->bwd_flops[l] = i == 0 ? out->fwd_flops[l] : 2 * out->fwd_flops[l];
        for (int t = 0; s && s->prof && t < net->threads; t++) {
            out->fwd_seconds[l] += s->prof[(size_t)t * LN_PROF_SLOTS + l];
            out->bwd_seconds[l] += s->prof[(size_t)t * LN_PROF_SLOTS + LN_PROF_LAYERS + l];
        }
        l++;
    }
    if (s) out->samples_fwd = s->prof_fwd, out->samples_bwd = s->prof_bwd;
}
