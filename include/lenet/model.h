/* model.h - the Model layer: a LeNet-5, its loss (sparse softmax
 * cross-entropy), its optimizer (Momentum) and metrics, with train / eval /
 * predict and checkpoint save / load. Progress is reported through
 * callbacks, so the library itself never prints.
 */
#ifndef LENET_MODEL_H
#define LENET_MODEL_H

#include <stdint.h>

#include "lenet/ckpt.h"
#include "lenet/error.h"
#include "lenet/idx.h"
#include "lenet/metrics.h"
#include "lenet/net.h"
#include "lenet/optim.h"
#include "lenet/pipeline.h"

typedef struct {
    int conv_bias;       /* 1: the seed's network (61,706 params) */
    int batch_size;      /* training batch (and max rows per forward) */
    float lr, momentum, weight_decay, loss_scale;
    int nesterov;
    uint32_t seed;       /* weight init and data order */
    int threads;
    const char *kernels; /* NULL/"auto", "generic", "avx2", "avx512" */
} ln_model_config;

typedef struct {
    ln_model_config cfg;
    ln_lenet net;
    ln_momentum opt;
    long global_step;  /* optimizer steps taken */
    float *xbuf;       /* (batch, 1, 32, 32) */
    int32_t *ybuf;     /* (batch) */
    double *lossbuf;   /* (batch) per-sample losses */
} ln_model;

typedef struct {
    int epoch;         /* 1-based */
    int step_in_epoch; /* 1-based */
    int steps_per_epoch;
    long global_step;
    float loss;        /* this batch's mean loss (float32, as MindSpore prints it) */
} ln_step_info;

typedef struct {
    int epoch;
    int steps;
    double mean_loss;
    double seconds;
    double images_per_second;
} ln_epoch_info;

/* Callbacks: any may be NULL. Return non-zero from on_step_end to stop. */
typedef struct {
    void *user;
    int (*on_step_end)(void *user, ln_model *m, const ln_step_info *s);
    void (*on_epoch_end)(void *user, ln_model *m, const ln_epoch_info *e);
} ln_callbacks;

ln_status ln_model_init(ln_model *m, const ln_model_config *cfg, ln_error *err);
void ln_model_free(ln_model *m);

/* One epoch over `p` (call ln_pipeline_next_epoch before). Stops early
 * after `max_steps` global steps if max_steps > 0 (epoch_info->steps tells
 * how many ran). A NaN/Inf loss stops with LN_E_SYSTEM. */
ln_status ln_model_train_epoch(ln_model *m, ln_pipeline *p, int epoch, long max_steps,
                               const ln_callbacks *cb, ln_epoch_info *out, ln_error *err);

/* Evaluate on every row of `ds` (limit > 0: only the first `limit`). */
void ln_model_eval(ln_model *m, const ln_dataset *ds, long limit, ln_metrics *out);

/* Save network and optimizer state in MindSpore's format (see ckpt.h). */
ln_status ln_model_save(const ln_model *m, const char *path, ln_error *err);

/* Load the network weights from a checkpoint: every parameter of the network
 * must be present with its exact shape and dtype Float32; extra entries
 * (optimizer state) are ignored. Nothing is changed on failure. */
ln_status ln_model_load_weights(ln_model *m, const char *path, ln_error *err);

#endif
