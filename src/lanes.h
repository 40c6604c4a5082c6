/* lanes.h - the "batch in the vector lanes" LeNet-5 engine (internal).
 *
 * A batch is cut into groups of LN_LANES = 16 samples; within a group every
 * activation is stored as (..., LN_LANES): element e of sample l sits at
 * [e * 16 + l]. One 16-float vector then holds the same element for all 16
 * samples, so every layer is a loop of full-width multiply-adds with the
 * weight broadcast - no im2col, no transposes inside the convolutions, and
 * flatten is free ((16, 5, 5, 16) is already (400, 16)).
 *
 * The conv outputs a1 and a2 are read only by the forward pass (pooling;
 * the pooling backward tests ReLU on the pooled value), so the backward pass
 * writes da1 and da2 over them: a group needs ~0.9 MB, not ~1.3 MB. The
 * float32 forward does not even write them: it pools each pair of conv rows
 * from a buffer of its own in L1 (lanes_kernels.c); only amp level O2 does.
 *
 * A group's forward and backward passes are cut into a few stages (layers
 * whose work splits the same way run in one stage). A stage's work can be
 * shared by several threads, each computing a disjoint part of its outputs
 * (`part` of `parts`: output channels, rows, units or input features),
 * with a barrier between stages; each output element is still computed by
 * the same sequence of operations, whoever computes it. net.c gives a
 * thread whole groups while there are enough of them and shares the rest
 * (one group of a batch of 16 on 2 threads); gradients of the groups are
 * then summed in group order. Results are bit-identical for any thread
 * count. Lanes past the batch are zero-filled and get zero loss gradient,
 * so they contribute nothing.
 *
 * The kernels (lanes_kernels.c) are written once with GCC vector types and
 * compiled for generic x86-64, AVX2+FMA and AVX-512, like the GEMM kernels.
 */
#ifndef LENET_LANES_H
#define LENET_LANES_H

#include <stdint.h>

#include "lenet/net.h"

#define LN_LANES 16

/* n rounded up to a whole number of lane vectors. */
#define LN_LANES_PAD(n) (((n) + LN_LANES - 1) / LN_LANES * LN_LANES)
/* Per-lane width of the transposed fc input (tx): the widest fc input,
 * padded to whole vectors. */
#define LN_LANES_TX LN_LANES_PAD(LN_FLAT)

/* Lines to prefetch while a group's convolutions compute (net.c says
 * which and why): ranges of bytes [p[i], end[i]) for i < n, in order, each
 * to read (PREFETCHT1: into L2) or to write (PREFETCHW: owned by this core,
 * other copies invalidated). Each call of the kernels' pf_take takes the
 * next `step` lines. Prefetching changes no result. */
#define LN_LANES_PF_RANGES 16
typedef struct {
    const char *p[LN_LANES_PF_RANGES], *end[LN_LANES_PF_RANGES];
    unsigned char write[LN_LANES_PF_RANGES];
    int n, cur; /* ranges; the one being taken */
    int step;   /* lines a call takes */
    /* Nothing is taken until every *gate[i] (i < ngates: another group's
     * progress, which another thread advances) is >= need. */
    int ngates;
    const long *gate[LN_LANES_PF_RANGES];
    long need;
} ln_lanes_pf;

typedef struct {
    float *x;        /* (32, 32, L) input */
    float *a1;       /* (6, 28, 28, L) conv1 + ReLU (amp level O2; float32: see above) */
    int32_t *arg1;   /* (6, 14, 14, L) pool1 argmax 0..3; NULL in an evaluation's forward
                      * stages (no backward pass follows: net.c), which then skip it */
    float *p1;       /* (6, 14, 14, L) */
    float *a2;       /* (16, 10, 10, L) conv2 + ReLU (likewise) */
    int32_t *arg2;   /* (16, 5, 5, L); NULL likewise */
    float *p2;       /* (16, 5, 5, L) = flattened (400, L) */
    float *h1;       /* (120, L) fc1 + ReLU */
    float *h2;       /* (84, L) fc2 + ReLU */
    float *lo;       /* (10, L) logits */
    float *dlo;      /* (10, L) loss gradient */
    float *dh2;      /* (84, L) */
    float *dh1;      /* (120, L) */
    float *dp2;      /* (400, L) */
    float *da2;      /* (16, 10, 10, L): the memory of a2 */
    float *dp1;      /* (6, 14, 14, L) */
    float *da1;      /* (6, 28, 28, L): the memory of a1; conv1's output gradient at amp level O2, the
                      * weight-gradient chains of conv1_dw_pooled (lanes_kernels.c) in float32 */
    float *tx;       /* (parts, L, LN_LANES_TX) transposed fc input, for weight gradients, then the
                      * transposed input-gradient sums: room for every part of a shared stage
                      * (net.c allocates one per thread) */
    float *grads;    /* (n_params) this group's gradient, laid out like params */
    uint32_t *bf;    /* NULL, or the bf16 kernels' scratch (amp level O2, lanes_bf16.h) */
    ln_lanes_pf *pf; /* NULL, or what to prefetch: forward stages 0 and 1, backward stage 3 */
} ln_lane_group;

/* Stages of the forward pass (g->x to g->lo: conv1+pool1, conv2+pool2, fc1,
 * fc2, fc3) and of the backward pass (g->dlo to every element of the
 * gradient views dg, which point into g->grads: fc3, fc2, fc1,
 * pool2+conv2's weight gradient, conv2's input gradient+pool1+conv1). */
#define LN_LANES_FWD_STAGES 5
#define LN_LANES_BWD_STAGES 5

/* Part `part` of `parts` of n units: [*a, *b). How a stage's work, and a
 * shared group's input load, are cut between the parts (kernels and net.c
 * alike). */
static inline void ln_lanes_share(int n, int part, int parts, int *a, int *b) {
    *a = (int)((long)n * part / parts);
    *b = (int)((long)n * (part + 1) / parts);
}

/* Kernels of one instruction-set variant. A stage's call with part p of
 * `parts` computes its share of the stage; all parts of a stage (in any
 * order or at once) before any part of the next - except that backward
 * stage 0 (fc3) computes all of g->dh2 in every part, so a part whose g
 * has a dh2 (and dlo) of its own may go on to stage 1 at once. Each part
 * transposes into its own slice of g->tx. prof: NULL, or
 * LN_PROF_SLOTS seconds to which each layer's time is added. */
typedef struct {
    void (*forward)(const ln_lenet_views *p, ln_lane_group *g, int stage, int part, int parts, double *prof);
    void (*backward)(const ln_lenet_views *p, ln_lenet_views *dg, ln_lane_group *g, int stage, int part, int parts,
                     double *prof);
    /* The group input x (LN_IN_SIZE, 16), its 16-pixel tiles [t0, t1), from
     * n <= 16 uint8 images (normalised as ln_normalize_px) or float rows
     * (n x LN_IN_SIZE); lanes past n are zero. */
    void (*load_u8)(const uint8_t *const *rows, int n, float *x, int t0, int t1);
    void (*load_f32)(const float *rows, int n, float *x, int t0, int t1);
    /* One image x (LN_IN_SIZE) -> logits (LN_CLASSES), bit-identical to
     * `forward` for that image in any lane; `scratch` holds LN_LANES_SCRATCH1
     * floats. */
    void (*forward1)(const ln_lenet_views *p, const float *x, float *scratch, float *logits);
} ln_lane_kernels;

/* The one-image path's scratch: input, then each map with its rows padded to
 * whole vectors (conv1, pool1, conv2), then pool2 and the fc outputs, with
 * 64 floats of slack after each padded map for the vector loads that run
 * past a row's end. */
#define LN_LANES_SCRATCH1                                                                                    \
    (LN_IN_SIZE + 64 + LN_CONV1_C * LN_CONV1_SIDE * LN_LANES_PAD(LN_CONV1_SIDE) + 64 +                         \
     LN_CONV1_C * LN_POOL1_SIDE * LN_LANES_PAD(LN_POOL1_SIDE) + 64 +                                           \
     LN_CONV2_C * LN_CONV2_SIDE * LN_LANES_PAD(LN_CONV2_SIDE) + 64 + LN_FLAT + LN_FC1_N + LN_FC2_N + 64)

/* The one-image snapshot (single.h): the float32 weights packed once so
 * that one image needs no transposes - every layer is a loop of
 * full-width multiply-adds with a weight vector loaded whole:
 *   conv1: weights and bias as in params (output pixels in the lanes);
 *   conv2: weights as (ic, ky, kx, oc), the 16 output channels in the lanes;
 *   fc:    weights transposed to (in, out), outputs padded to whole vectors
 *          with zero weights and bias.
 * Offsets in floats, each a multiple of 16 (64-byte aligned). */
#define LN_SINGLE_F1V (LN_LANES_PAD(LN_FC1_N) / LN_LANES) /* fc1's output vectors */
#define LN_SINGLE_F2V (LN_LANES_PAD(LN_FC2_N) / LN_LANES)
#define LN_SINGLE_F3V (LN_LANES_PAD(LN_CLASSES) / LN_LANES)
enum {
    LN_SINGLE_C1W = 0,
    LN_SINGLE_C1B = LN_SINGLE_C1W + LN_LANES_PAD(LN_CONV1_C * LN_IN_C * LN_KERNEL * LN_KERNEL),
    LN_SINGLE_C2W = LN_SINGLE_C1B + LN_LANES_PAD(LN_CONV1_C),
    LN_SINGLE_C2B = LN_SINGLE_C2W + LN_CONV1_C * LN_KERNEL * LN_KERNEL * LN_LANES,
    LN_SINGLE_F1W = LN_SINGLE_C2B + LN_LANES,
    LN_SINGLE_F1B = LN_SINGLE_F1W + LN_FLAT * LN_SINGLE_F1V * LN_LANES,
    LN_SINGLE_F2W = LN_SINGLE_F1B + LN_SINGLE_F1V * LN_LANES,
    LN_SINGLE_F2B = LN_SINGLE_F2W + LN_FC1_N * LN_SINGLE_F2V * LN_LANES,
    LN_SINGLE_F3W = LN_SINGLE_F2B + LN_SINGLE_F2V * LN_LANES,
    LN_SINGLE_F3B = LN_SINGLE_F3W + LN_FC2_N * LN_SINGLE_F3V * LN_LANES,
    LN_SINGLE_FLOATS = LN_SINGLE_F3B + LN_SINGLE_F3V * LN_LANES
};
_Static_assert(LN_CONV2_C == LN_LANES, "the snapshot holds conv2's output channels in one vector");
/* Its scratch, in floats: the input, conv1's map and pool1's map as in
 * LN_LANES_SCRATCH1, then conv2's and pool2's maps as (pixel, 16 channels)
 * and the fc outputs in whole vectors. */
#define LN_SINGLE_SCRATCH                                                                                    \
    (LN_IN_SIZE + 64 + LN_CONV1_C * LN_CONV1_SIDE * LN_LANES_PAD(LN_CONV1_SIDE) + 64 +                         \
     LN_CONV1_C * LN_POOL1_SIDE * LN_LANES_PAD(LN_POOL1_SIDE) + 64 + LN_CONV2_PX * LN_LANES +                  \
     LN_POOL2_PX * LN_LANES + (LN_SINGLE_F1V + LN_SINGLE_F2V + LN_SINGLE_F3V) * LN_LANES)
/* One image x (LN_IN_SIZE) -> logits (LN_CLASSES) from the packed weights
 * pk (64-byte aligned), bit-identical to `forward1` and `forward` of the
 * kernels of the same instruction set; s: LN_SINGLE_SCRATCH floats,
 * 64-byte aligned. */
void ln_lanes_single_generic(const float *pk, const float *x, float *s, float *logits);
void ln_lanes_single_avx2(const float *pk, const float *x, float *s, float *logits);
void ln_lanes_single_avx512(const float *pk, const float *x, float *s, float *logits);

void ln_lanes_forward1_generic(const ln_lenet_views *, const float *, float *, float *);
void ln_lanes_forward1_avx2(const ln_lenet_views *, const float *, float *, float *);
void ln_lanes_forward1_avx512(const ln_lenet_views *, const float *, float *, float *);
#define LN_LANES_STAGE_FNS(isa)                                                                              \
    void ln_lanes_forward_stage_##isa(const ln_lenet_views *, ln_lane_group *, int, int, int, double *);    \
    void ln_lanes_load_u8_##isa(const uint8_t *const *, int, float *, int, int);                            \
    void ln_lanes_load_f32_##isa(const float *, int, float *, int, int);                                    \
    void ln_lanes_backward_stage_##isa(const ln_lenet_views *, ln_lenet_views *, ln_lane_group *, int, int, int, \
                                       double *);
LN_LANES_STAGE_FNS(generic)
LN_LANES_STAGE_FNS(avx2)
LN_LANES_STAGE_FNS(avx512)
#undef LN_LANES_STAGE_FNS

#endif
