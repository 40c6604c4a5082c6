/* net_internal.h - the network's engine internals (library-internal; tests
 * of the engines include it too): the kernel set, the GEMM engine's
 * activations and the lanes engine's state, behind ln_lenet's `eng`. */
#ifndef LENET_NET_INTERNAL_H
#define LENET_NET_INTERNAL_H

#include <stdint.h>

#include "lenet/gemm.h"
#include "lenet/net.h"
#include "lenet/optim.h"
#include "lenet/transform.h"

/* Activations of the GEMM engine, allocated for max_batch rows; the lanes
 * engine uses only logits and dlogits. */
typedef struct {
    float *x;       /* (B, 1, 32, 32) input copy */
    float *col1;    /* (25, B*784) */
    float *a1;      /* (6, B, 28, 28) conv1 output, ReLU applied */
    float *p1;      /* (6, B, 14, 14) */
    uint8_t *arg1;  /* (6, B, 14, 14) */
    float *col2;    /* (150, B*100) */
    float *a2;      /* (16, B, 10, 10) conv2 output, ReLU applied */
    float *p2;      /* (16, B, 5, 5) */
    uint8_t *arg2;  /* (16, B, 5, 5) */
    float *f0;      /* (B, 400) flattened */
    float *h1;      /* (B, 120) fc1 output, ReLU applied */
    float *h2;      /* (B, 84)  fc2 output, ReLU applied */
    float *logits;  /* (B, 10) */
    /* backward scratch */
    float *dlogits, *dh2, *dh1, *df0, *dp2, *da2, *dcol2, *dp1, *da1;
} ln_lenet_acts;

struct ln_lenet_engine {
    ln_gemm_kernels gemm;
    ln_lenet_acts act;
    void *act_mem;
    void *lanes; /* lanes engine state (net.c) */
    /* Training's image stage (model.c's train_step): (stage_cap x batch,
     * 32, 32), the images of batches [stage_b0, stage_b0 + stage_nb) of
     * epoch stage_epoch, gathered for the coming steps; NULL if none.
     * Freed with the net. Here, not in ln_model, so that ln_model keeps its
     * size (model.h is a stable header). */
    uint8_t *stage;
    int stage_cap, stage_epoch, stage_b0, stage_nb;
    long stage_until; /* the global step the current ln_model_train call ends at, at the latest */
    int keep_grads;   /* ln_lenet_keep_grads */
};

/* The network's own activations (logits, dlogits: (max_batch, 10)). */
static inline ln_lenet_acts *ln_lenet_acts_of(ln_lenet *net) { return &net->eng->act; }

/* A whole training step of the lanes engine in one parallel region: the
 * B rows' images (32x32 uint8, normalised as ln_pipeline_batch does),
 * forward, the loss (mean to *loss, per row to per_sample (B)) and its
 * gradient times loss_scale, backward, the gradient summed from 0 and
 * opt's update of the parameters, each thread updating the slice it
 * summed, chunk by chunk in L1: into net->grads only if ln_lenet_keep_grads
 * is on or a tensor is centralised (otherwise net->grads is left as it
 * was). The same bits as ln_pipeline_batch,
 * ln_lenet_forward, ln_softmax_xent, ln_lenet_zero_grad, ln_lenet_backward
 * and ln_momentum_step in turn. Returns 0; 1 if the loss is not finite
 * (then nothing is updated). Lanes engine only. */
int ln_lenet_train_step(ln_lenet *net, const uint8_t *const *images, const int32_t *labels, int B, float loss_scale,
                        ln_momentum *opt, double *per_sample, double *loss);

/* Evaluation of B rows in one parallel region: the images (uint8,
 * normalised on the way in), forward, each row's loss into per_sample (B);
 * logits in ln_lenet_logits. Images of 32x32 when plan is NULL; otherwise
 * of plan's source size, each resized by plan (transform.h; 32x32 out) by
 * the thread that then runs its group, into a buffer on its stack. The same
 * bits as ln_pipeline_rows, ln_lenet_forward and ln_softmax_xent in turn.
 * Returns 0; -1 (nothing done) for the GEMM engine, or a plan that is not
 * ok or not to 32x32. */
int ln_lenet_eval_step(ln_lenet *net, const ln_resize_plan *plan, const uint8_t *const *images,
                       const int32_t *labels, int B, double *per_sample);

#endif
