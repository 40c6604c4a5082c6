/* net.c - LeNet-5 wiring, parameter table, init (see include/lenet/net.h). */
#include "lenet/net.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "lanes.h"
#include "net_internal.h"
#include "split.h"
#include "lenet/layers.h"
#include "lenet/rng.h"

static void add_tensor(ln_lenet *net, const char *name, int ndim, int d0, int d1, int d2, int d3) {
    ln_tensor_info *t = &net->info[net->n_tensors++];
    t->name = name;
    t->ndim = ndim;
    int d[4] = {d0, d1, d2, d3};
    t->size = 1;
    for (int i = 0; i < 4; i++) {
        t->shape[i] = i < ndim ? d[i] : 0;
        if (i < ndim) t->size *= (size_t)d[i];
    }
    t->offset = net->n_params;
    net->n_params += t->size;
}

int ln_lenet_find(const ln_lenet *net, const char *name) {
    for (int i = 0; i < net->n_tensors; i++)
        if (!strcmp(net->info[i].name, name)) return i;
    return -1;
}

ln_lenet_views ln_lenet_views_of(const ln_lenet *net, float *buf) {
    ln_lenet_views v;
    float **slots[LN_MAX_TENSORS] = {&v.conv1_w, &v.conv1_b, &v.conv2_w, &v.conv2_b, &v.fc1_w,
                                     &v.fc1_b,   &v.fc2_w,   &v.fc2_b,   &v.fc3_w,   &v.fc3_b};
    static const char *const names[LN_MAX_TENSORS] = {
        "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight",
        "fc1.bias",     "fc2.weight", "fc2.bias",     "fc3.weight", "fc3.bias"};
    for (int i = 0; i < LN_MAX_TENSORS; i++) {
        int k = ln_lenet_find(net, names[i]);
        *slots[i] = k < 0 ? NULL : buf + net->info[k].offset;
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

typedef struct {
    ln_lane_kernels k;
    int ngroups;
    ln_lane_group *groups;
    float *scratch1; /* for the one-image path */
    float *xsmall;   /* (LANES_SMALL_BATCH - 1, 1024) input of a small forward */
    int pending;     /* rows of a small forward whose group activations are not set */
    double *prof;    /* (ngroups, LN_PROF_SLOTS) or NULL */
    long prof_fwd, prof_bwd; /* lanes processed while profiling */
    void *mem;
} lanes_state;

static ln_status lanes_init(ln_lenet *net, ln_error *err) {
    lanes_state *s = calloc(1, sizeof *s);
    if (!s) return ln_fail(err, LN_E_NOMEM, "out of memory for the network");
    net->eng->lanes = s;
    if (!strcmp(net->eng->gemm.name, "avx512"))
        s->k = (ln_lane_kernels){ln_lanes_forward_avx512, ln_lanes_backward_avx512, ln_lanes_forward1_avx512};
    else if (!strcmp(net->eng->gemm.name, "avx2"))
        s->k = (ln_lane_kernels){ln_lanes_forward_avx2, ln_lanes_backward_avx2, ln_lanes_forward1_avx2};
    else
        s->k = (ln_lane_kernels){ln_lanes_forward_generic, ln_lanes_backward_generic, ln_lanes_forward1_generic};
    s->ngroups = lanes_groups(net->max_batch);
    /* Per-group buffers, in floats (int32 buffers count as floats). */
    const size_t L = LN_LANES;
    const size_t sizes[] = {1024 * L, 6 * 784 * L, 6 * 196 * L, 6 * 196 * L, 16 * 100 * L, 16 * 25 * L,
                            400 * L,  120 * L,     84 * L,      10 * L,      10 * L,       84 * L,
                            120 * L,  400 * L,     16 * 100 * L, 6 * 196 * L, 6 * 784 * L,
                            L * 400,  L * 128,     net->n_params};
    const size_t nbuf = sizeof sizes / sizeof sizes[0];
    size_t per_group = 0;
    for (size_t i = 0; i < nbuf; i++) per_group += (sizes[i] + 15) & ~(size_t)15; /* 64-byte multiples */
    const size_t total = per_group * (size_t)s->ngroups + LN_LANES_SCRATCH1 + (LANES_SMALL_BATCH - 1) * 1024;
    s->groups = calloc((size_t)s->ngroups, sizeof *s->groups);
    s->mem = aligned_alloc(64, (total * sizeof(float) + 63) & ~(size_t)63); /* size: a multiple of 64 */
    if (!s->groups || !s->mem) return ln_fail(err, LN_E_NOMEM, "out of memory for activations (batch %d)", net->max_batch);
    memset(s->mem, 0, total * sizeof(float));
    float *cur = s->mem;
    for (int g = 0; g < s->ngroups; g++) {
        ln_lane_group *G = &s->groups[g];
        float **fields[] = {&G->x,   &G->a1,  NULL,     &G->p1,  &G->a2,  NULL,     &G->p2,
                            &G->h1,  &G->h2,  &G->lo,   &G->dlo, &G->dh2, &G->dh1,  &G->dp2,
                            &G->da2, &G->dp1, &G->da1, &G->tx,  &G->tg,   &G->grads};
        for (size_t i = 0; i < nbuf; i++) {
            if (fields[i]) *fields[i] = cur;
            else if (i == 2) G->arg1 = (int32_t *)cur;
            else G->arg2 = (int32_t *)cur;
            cur += (sizes[i] + 15) & ~(size_t)15;
        }
    }
    s->scratch1 = cur;
    s->xsmall = cur + LN_LANES_SCRATCH1;
    return LN_OK;
}

static void lanes_free(ln_lenet *net) {
    lanes_state *s = net->eng->lanes;
    if (!s) return;
    free(s->prof);
    free(s->groups);
    free(s->mem);
    free(s);
    net->eng->lanes = NULL;
}

static void groups_forward(ln_lenet *net, const float *x, int B);


static void lanes_forward(ln_lenet *net, const float *x, int B) {
    lanes_state *s = net->eng->lanes;
    s->pending = 0;
    if (B < LANES_SMALL_BATCH) {
        for (int b = 0; b < B; b++)
            s->k.forward1(&net->p, x + (long)b * 1024, s->scratch1, net->eng->act.logits + (long)b * 10);
        memcpy(s->xsmall, x, sizeof(float) * 1024 * (size_t)B);
        s->pending = B;
        return;
    }
    groups_forward(net, x, B);
}

/* Forward of B rows through the 16-lane groups, one thread per group. */
static void groups_forward(ln_lenet *net, const float *x, int B) {
    lanes_state *s = net->eng->lanes;
    const int ng = lanes_groups(B);
    if (s->prof) s->prof_fwd += (long)ng * LN_LANES;
    const ln_lenet_views p = net->p;
    #pragma omp parallel for num_threads(net->threads) schedule(static) if (ng > 1 && net->threads > 1)
    for (int g = 0; g < ng; g++) {
        ln_lane_group *G = &s->groups[g];
        const int n = group_rows(B, g);
        const float *src = x + (long)g * LN_LANES * 1024;
        /* (n, 1024) -> (1024, 16), in 16 x 16 tiles that stay in L1. */
        for (int i0 = 0; i0 < 1024; i0 += 16) {
            float *d = G->x + (long)i0 * LN_LANES;
            for (int l = 0; l < n; l++) {
                const float *r = src + (long)l * 1024 + i0;
                for (int i = 0; i < 16; i++) d[i * LN_LANES + l] = r[i];
            }
            for (int l = n; l < LN_LANES; l++)
                for (int i = 0; i < 16; i++) d[i * LN_LANES + l] = 0.f;
        }
        s->k.forward(&p, G);
        for (int l = 0; l < n; l++)
            for (int o = 0; o < 10; o++)
                net->eng->act.logits[((long)g * LN_LANES + l) * 10 + o] = G->lo[o * LN_LANES + l];
    }
}

static void lanes_backward(ln_lenet *net, const float *dlogits, int B) {
    lanes_state *s = net->eng->lanes;
    if (s->pending) { /* the last forward took the one-image path */
        groups_forward(net, s->xsmall, s->pending);
        s->pending = 0;
    }
    const int ng = lanes_groups(B);
    if (s->prof) s->prof_bwd += (long)ng * LN_LANES;
    const ln_lenet_views p = net->p;
    #pragma omp parallel for num_threads(net->threads) schedule(static) if (ng > 1 && net->threads > 1)
    for (int g = 0; g < ng; g++) {
        ln_lane_group *G = &s->groups[g];
        const int n = group_rows(B, g);
        for (int o = 0; o < 10; o++)
            for (int l = 0; l < LN_LANES; l++)
                G->dlo[o * LN_LANES + l] = l < n ? dlogits[((long)g * LN_LANES + l) * 10 + o] : 0.f;
        ln_lenet_views dg = ln_lenet_views_of(net, G->grads);
        s->k.backward(&p, &dg, G);
    }
    /* Sum the groups' gradients in group order (fixed for any thread count):
     * grads[i] = ((grads[i] + g0[i]) + g1[i]) + ... , each thread over its
     * part of the buffer (split.h: the part its optimizer update will take),
     * in L1-sized chunks. */
    const long n = (long)net->n_params, chunk = 4096;
    #pragma omp parallel num_threads(net->threads) if (net->threads > 1)
    {
        long a, b;
        ln_split_range(n, omp_get_num_threads(), omp_get_thread_num(), &a, &b);
        float *restrict out = net->grads;
        for (long c0 = a; c0 < b; c0 += chunk) {
            const long c1 = c0 + chunk < b ? c0 + chunk : b;
            for (int g = 0; g < ng; g++) {
                const float *restrict in = s->groups[g].grads;
                for (long i = c0; i < c1; i++) out[i] += in[i];
            }
        }
    }
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
        return ln_fail(err, LN_E_USAGE, "kernels '%s' are unknown or not supported by this CPU",
                       kernels ? kernels : "auto");
    if (!(net->eng = calloc(1, sizeof *net->eng))) return ln_fail(err, LN_E_NOMEM, "out of memory for the network");
    net->eng->gemm = gk;
    net->conv_bias = conv_bias;
    net->max_batch = max_batch;
    net->threads = threads < 1 ? 1 : threads;
    add_tensor(net, "conv1.weight", 4, 6, 1, 5, 5);
    if (conv_bias) add_tensor(net, "conv1.bias", 1, 6, 0, 0, 0);
    add_tensor(net, "conv2.weight", 4, 16, 6, 5, 5);
    if (conv_bias) add_tensor(net, "conv2.bias", 1, 16, 0, 0, 0);
    add_tensor(net, "fc1.weight", 2, 120, 400, 0, 0);
    add_tensor(net, "fc1.bias", 1, 120, 0, 0, 0);
    add_tensor(net, "fc2.weight", 2, 84, 120, 0, 0);
    add_tensor(net, "fc2.bias", 1, 84, 0, 0, 0);
    add_tensor(net, "fc3.weight", 2, 10, 84, 0, 0);
    add_tensor(net, "fc3.bias", 1, 10, 0, 0, 0);
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
    struct { float **f; uint8_t **u; size_t n; } plan[] = {
        {&net->eng->act.logits, NULL, B * 10},    {&net->eng->act.dlogits, NULL, B * 10},
        {&net->eng->act.x, NULL, G * 1024},       {&net->eng->act.col1, NULL, 25 * G * 784},
        {&net->eng->act.a1, NULL, 6 * G * 784},   {&net->eng->act.p1, NULL, 6 * G * 196},
        {&net->eng->act.col2, NULL, 150 * G * 100}, {&net->eng->act.a2, NULL, 16 * G * 100},
        {&net->eng->act.p2, NULL, 16 * G * 25},   {&net->eng->act.f0, NULL, G * 400},
        {&net->eng->act.h1, NULL, G * 120},       {&net->eng->act.h2, NULL, G * 84},
        {&net->eng->act.dh2, NULL, G * 84},       {&net->eng->act.dh1, NULL, G * 120},
        {&net->eng->act.df0, NULL, G * 400},      {&net->eng->act.dp2, NULL, 16 * G * 25},
        {&net->eng->act.da2, NULL, 16 * G * 100}, {&net->eng->act.dcol2, NULL, 150 * G * 100},
        {&net->eng->act.dp1, NULL, 6 * G * 196},  {&net->eng->act.da1, NULL, 6 * G * 784},
        {NULL, &net->eng->act.arg1, 6 * G * 196}, {NULL, &net->eng->act.arg2, 16 * G * 25},
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
    for (int t = 0; t < net->n_tensors; t++) {
        const ln_tensor_info *ti = &net->info[t];
        float *w = net->params + ti->offset;
        const int is_conv = ti->name[0] == 'c';
        const int is_weight = strstr(ti->name, "weight") != NULL;
        if (is_conv) {
            /* fan_in of the layer = in * kh * kw of its weight */
            int wi = ln_lenet_find(net, ti->name[4] == '1' ? "conv1.weight" : "conv2.weight");
            const ln_tensor_info *wt = &net->info[wi];
            const double bound = 1.0 / sqrt((double)(wt->shape[1] * wt->shape[2] * wt->shape[3]));
            for (size_t i = 0; i < ti->size; i++)
                w[i] = (float)((2.0 * ln_mt32_uniform(&r) - 1.0) * bound);
        } else if (is_weight) {
            for (size_t i = 0; i < ti->size; i++) w[i] = (float)(0.02 * ln_mt32_normal(&r));
        } else {
            memset(w, 0, ti->size * sizeof(float));
        }
    }
}

void ln_lenet_zero_grad(ln_lenet *net) { memset(net->grads, 0, net->n_params * sizeof(float)); }

void ln_lenet_forward(ln_lenet *net, const float *x, int B) {
    if (net->engine == LN_ENGINE_LANES) {
        lanes_forward(net, x, B);
        return;
    }
    ln_lenet_acts *a = &net->eng->act;
    const ln_gemm_kernels *g = &net->eng->gemm;
    const int T = net->threads;
    memcpy(a->x, x, sizeof(float) * (size_t)B * 1024);
    /* x (B,1,32,32) is (1,B,32,32) channel-major: C = 1. */
    ln_conv2d_forward(g, a->x, net->p.conv1_w, net->p.conv1_b, B, 1, 32, 32, 6, 5, a->col1, a->a1, T);
    ln_relu_forward(a->a1, 6L * B * 784);
    ln_maxpool2_forward(a->a1, 6L * B, 28, 28, a->p1, a->arg1, T);
    ln_conv2d_forward(g, a->p1, net->p.conv2_w, net->p.conv2_b, B, 6, 14, 14, 16, 5, a->col2, a->a2, T);
    ln_relu_forward(a->a2, 16L * B * 100);
    ln_maxpool2_forward(a->a2, 16L * B, 10, 10, a->p2, a->arg2, T);
    /* flatten: (16, B, 25) -> (B, 400) in C,H,W order */
    for (int b = 0; b < B; b++)
        for (int c = 0; c < 16; c++)
            memcpy(a->f0 + (long)b * 400 + c * 25, a->p2 + ((long)c * B + b) * 25, sizeof(float) * 25);
    ln_dense_forward(g, a->f0, net->p.fc1_w, net->p.fc1_b, B, 400, 120, a->h1, T);
    ln_relu_forward(a->h1, 120L * B);
    ln_dense_forward(g, a->h1, net->p.fc2_w, net->p.fc2_b, B, 120, 84, a->h2, T);
    ln_relu_forward(a->h2, 84L * B);
    ln_dense_forward(g, a->h2, net->p.fc3_w, net->p.fc3_b, B, 84, 10, a->logits, T);
}

void ln_lenet_backward(ln_lenet *net, const float *dlogits, int B) {
    if (net->engine == LN_ENGINE_LANES) {
        lanes_backward(net, dlogits, B);
        return;
    }
    ln_lenet_acts *a = &net->eng->act;
    const ln_gemm_kernels *g = &net->eng->gemm;
    const int T = net->threads;
    ln_dense_backward(g, dlogits, a->h2, net->p.fc3_w, B, 84, 10, net->g.fc3_w, net->g.fc3_b, a->dh2, T);
    ln_relu_backward(a->h2, a->dh2, 84L * B);
    ln_dense_backward(g, a->dh2, a->h1, net->p.fc2_w, B, 120, 84, net->g.fc2_w, net->g.fc2_b, a->dh1, T);
    ln_relu_backward(a->h1, a->dh1, 120L * B);
    ln_dense_backward(g, a->dh1, a->f0, net->p.fc1_w, B, 400, 120, net->g.fc1_w, net->g.fc1_b, a->df0, T);
    for (int b = 0; b < B; b++)
        for (int c = 0; c < 16; c++)
            memcpy(a->dp2 + ((long)c * B + b) * 25, a->df0 + (long)b * 400 + c * 25, sizeof(float) * 25);
    ln_maxpool2_backward(a->dp2, a->arg2, 16L * B, 10, 10, a->da2, T);
    ln_relu_backward(a->a2, a->da2, 16L * B * 100);
    ln_conv2d_backward(g, a->da2, a->col2, net->p.conv2_w, B, 6, 14, 14, 16, 5, net->g.conv2_w,
                       net->g.conv2_b, a->dcol2, a->dp1, T);
    ln_maxpool2_backward(a->dp1, a->arg1, 6L * B, 28, 28, a->da1, T);
    ln_relu_backward(a->a1, a->da1, 6L * B * 784);
    ln_conv2d_backward(g, a->da1, a->col1, net->p.conv1_w, B, 1, 32, 32, 6, 5, net->g.conv1_w,
                       net->g.conv1_b, NULL, NULL, T);
}

int ln_lenet_set_profiling(ln_lenet *net, int on) {
    lanes_state *s = net->eng->lanes;
    if (!s) return -1;
    free(s->prof);
    s->prof = NULL;
    s->prof_fwd = s->prof_bwd = 0;
    for (int g = 0; g < s->ngroups; g++) s->groups[g].prof = NULL;
    if (!on) return 0;
    s->prof = calloc((size_t)s->ngroups * LN_PROF_SLOTS, sizeof(double));
    if (!s->prof) return -1;
    for (int g = 0; g < s->ngroups; g++) s->groups[g].prof = s->prof + (size_t)g * LN_PROF_SLOTS;
    return 0;
}

void ln_lenet_get_profile(const ln_lenet *net, ln_lenet_profile *out) {
    static const char *const names[LN_PROF_LAYERS] = {"conv1", "pool1", "conv2", "pool2", "fc1", "fc2", "fc3"};
    /* multiply-adds x 2 per sample; backward: weight and input gradients */
    static const double fwd[LN_PROF_LAYERS] = {2.0 * 6 * 784 * 25, 0, 2.0 * 16 * 100 * 150, 0,
                                               2.0 * 400 * 120,    2.0 * 120 * 84, 2.0 * 84 * 10};
    memset(out, 0, sizeof *out);
    const lanes_state *s = net->eng->lanes;
    for (int l = 0; l < LN_PROF_LAYERS; l++) {
        out->name[l] = names[l];
        out->fwd_flops[l] = fwd[l];
        out->bwd_flops[l] = l == 0 ? fwd[l] : 2 * fwd[l]; /* conv1 needs no input gradient */
        for (int g = 0; s && s->prof && g < s->ngroups; g++) {
            out->fwd_seconds[l] += s->prof[(size_t)g * LN_PROF_SLOTS + l];
            out->bwd_seconds[l] += s->prof[(size_t)g * LN_PROF_SLOTS + LN_PROF_LAYERS + l];
        }
    }
    if (s) out->samples_fwd = s->prof_fwd, out->samples_bwd = s->prof_bwd;
}

int ln_lenet_layers(const ln_lenet *net, ln_layer_info *rows) {
    const ln_tensor_info *t = net->info;
    size_t c1 = t[ln_lenet_find(net, "conv1.weight")].size, c2 = t[ln_lenet_find(net, "conv2.weight")].size;
    if (net->conv_bias) c1 += 6, c2 += 16;
    const ln_layer_info L[] = {
        {"conv1", 3, {6, 28, 28}, c1},     {"relu1", 3, {6, 28, 28}, 0},
        {"pool1", 3, {6, 14, 14}, 0},      {"conv2", 3, {16, 10, 10}, c2},
        {"relu2", 3, {16, 10, 10}, 0},     {"pool2", 3, {16, 5, 5}, 0},
        {"flatten", 1, {400, 0, 0}, 0},    {"fc1", 1, {120, 0, 0}, 120 * 400 + 120},
        {"relu3", 1, {120, 0, 0}, 0},      {"fc2", 1, {84, 0, 0}, 84 * 120 + 84},
        {"relu4", 1, {84, 0, 0}, 0},       {"fc3", 1, {10, 0, 0}, 10 * 84 + 10},
    };
    int n = (int)(sizeof L / sizeof L[0]);
    memcpy(rows, L, sizeof L);
    return n;
}
