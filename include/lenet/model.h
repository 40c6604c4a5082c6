/* model.h - the Model layer (MindSpore's Model(net, loss, opt, metrics)): a
 * LeNet-5, its loss (sparse softmax cross-entropy), its optimizer (Momentum,
 * optim.h) and metrics, with train / eval / predict and checkpoint save /
 * load / resume. Progress goes to callbacks; the library never prints.
 *
 * Training position. The model remembers where training stands (epoch,
 * step in epoch, global step) and a fingerprint of the data order; the
 * pipeline is a pure function of (seed, epochs prepared), so a resumed run
 * rebuilds it by preparing the same epochs again and checks the fingerprint
 * (the shuffle generator's full state and a hash of the epoch's order;
 * ln_pipeline_save / ln_pipeline_restore in pipeline.h).
 * Checkpoints carry this position as extra Int32 entries after MindSpore's
 * ones (MindSpore's load_checkpoint ignores them):
 *   train.epoch, train.step, train.steps_per_epoch, train.global_step,
 *   train.seed, train.batch_size, train.shuffle, train.rows  (scalars)
 *   train.order_hash (2,)   FNV-1a 64 of the current epoch's row order
 *   train.shuffle_rng (625,) the shuffle buffer's mt19937_64 (312 words as
 *                            low/high halves, then the index)
 *   train.amp_level          2 for a run at amp level O2 (absent: O0, so
 *                            float32 runs write the same files as before);
 *                            resuming needs the same level
 * and, written by a data-parallel run of N > 1 processes only:
 *   train.world_size         N (absent: 1)
 *   train.rank_order_hash (N, 2)  every rank's order_hash (rank r's shard)
 * (the shuffle generator is the same on every rank: all shards have the
 * same length, so every rank draws the same numbers). Resuming needs the
 * same N; --init (ln_model_load_weights) works with any.
 *
 * Data parallel (cfg.dist of size N > 1, dist.h): every rank runs the same
 * calls with the same configuration on its shard of the data (pipeline
 * num_shards = N, shard_id = rank); after each backward pass the gradients
 * are averaged over the ranks in a fixed order (ln_dist_allreduce_mean), so
 * every rank applies the same update and holds the same weights. A
 * checksum of weights and moments is compared across ranks when training
 * starts and after every epoch (LN_E_SYSTEM if any rank differs).
 * ln_model_eval splits the rows between the ranks and sums the counts, so
 * its accuracy equals a single process's. A callback that sets m->stop must
 * do so on every rank at the same step. Errors that every rank detects
 * alike set m->error_everywhere (the CLI prints them once).
 */
#ifndef LENET_MODEL_H
#define LENET_MODEL_H

#include <stdint.h>

#include "lenet/ckpt.h"
#include "lenet/dist.h"
#include "lenet/error.h"
#include "lenet/idx.h"
#include "lenet/metrics.h"
#include "lenet/net.h"
#include "lenet/optim.h"
#include "lenet/pipeline.h"

typedef struct {
    int conv_bias;       /* 1: the seed's network (61,706 params) */
    int batch_size;      /* training batch (rows per forward: up to max(batch_size, LN_MODEL_EVAL_BATCH)) */
    float lr, momentum, weight_decay, loss_scale;
    int nesterov;
    uint32_t seed;       /* weight init and data order */
    int threads;
    const char *kernels; /* NULL/"auto", ... (see net.h) */
    /* Optional (zero = off): a per-step rate list (copied), parameter
     * groups and order_params, as ln_momentum_config. */
    const float *lr_list;
    long lr_len;
    int n_groups;
    const ln_group_spec *groups;
    int n_order;
    const char *const *order_params;
    ln_dist *dist;       /* data-parallel world (NULL: this process alone) */
    int amp_level;       /* LN_AMP_O0 (float32, zero) or LN_AMP_O2 (bf16 products; net.h) */
} ln_model_config;

#define LN_MAX_WORLD 1024 /* processes of a data-parallel run */

typedef struct {
    int valid;             /* a step has been taken or loaded */
    int32_t epoch;         /* epoch of the last step taken (1-based) */
    int32_t step;          /* its step within the epoch (1-based) */
    int32_t steps_per_epoch;
    ln_pipeline_pos data;  /* the pipeline's position after preparing that epoch */
    int32_t world_size;    /* processes that trained it (1: single process) */
    uint64_t rank_hash[LN_MAX_WORLD]; /* every rank's data.order_hash (world_size > 1) */
} ln_train_position;

/* The lanes engine's net is made for batches of at least this many rows,
 * which ln_model_eval evaluates at once (training takes cfg.batch_size). */
#define LN_MODEL_EVAL_BATCH 256

typedef struct {
    ln_model_config cfg;
    ln_lenet net;
    ln_momentum opt;
    long global_step;      /* optimizer steps taken (== opt.global_step) */
    ln_train_position pos;
    int stop;              /* a callback sets it to end training after this step */
    int error_everywhere;  /* the last error was detected alike by every rank */
    float *xbuf;           /* (net.max_batch, 1, 32, 32); net.max_batch >= batch: evaluation's batch */
    const uint8_t **pxbuf; /* (batch) a training batch's images by reference */
    int32_t *ybuf;         /* (net.max_batch) */
    double *lossbuf;       /* (net.max_batch) per-sample losses */
} ln_model;

typedef struct {
    int epochs;            /* the run's last epoch */
    int start_epoch;       /* first epoch this call trains in (1-based) */
    int start_step;        /* steps of start_epoch already done (resume) */
    int steps_per_epoch;
    long start_global_step;
    long max_steps;        /* 0 = no limit */
    int batch_size;
} ln_run_info;

typedef struct {
    int epoch;             /* 1-based */
    int step_in_epoch;     /* 1-based */
    int steps_per_epoch;
    long global_step;      /* after this step */
    int rows;
    float loss;            /* this batch's mean loss (float32, as MindSpore prints it) */
    float lr;              /* default group's rate used by this step */
} ln_step_info;

typedef struct {
    int epoch;
    int steps;             /* steps taken in this call (fewer if stopped or resumed) */
    double mean_loss;      /* over those steps */
    double seconds;
    double images_per_second;
    float lr_first, lr_last; /* default group's rate at the epoch's first and last step */
    int complete;          /* the epoch reached its last step */
} ln_epoch_info;

/* A callback (MindSpore's Callback): any hook may be NULL. A hook returning
 * non-LN_OK (with err filled) aborts training with that error; to end
 * training cleanly, set m->stop. `end` runs after a normal or stopped run,
 * not after an error. */
typedef struct {
    void *user;
    ln_status (*begin)(void *user, ln_model *m, const ln_run_info *r, ln_error *err);
    ln_status (*step_end)(void *user, ln_model *m, const ln_step_info *s, ln_error *err);
    ln_status (*epoch_end)(void *user, ln_model *m, const ln_epoch_info *e, ln_error *err);
    ln_status (*end)(void *user, ln_model *m, const ln_run_info *r, ln_error *err);
} ln_callback;

ln_status ln_model_init(ln_model *m, const ln_model_config *cfg, ln_error *err);
void ln_model_free(ln_model *m);

/* model.train(epochs, dataset, callbacks): train from the model's position
 * (the start, or where a loaded checkpoint stopped) to the end of epoch
 * `epochs`, or until global step `max_steps` (> 0), or until a callback sets
 * m->stop. `p` must be a fresh pipeline (or the one used so far) over the
 * training set; it is advanced to the right epoch, and on resume its data
 * order is checked against the checkpoint's (LN_E_INPUT if the seed, the
 * shuffle setting, the batch size or the data differ). A per-step rate
 * list that ends before the run would is LN_E_USAGE before any step.
 * Divergence stops the run with LN_E_SYSTEM "training diverged at step S":
 * a NaN/Inf loss at any step, or a non-finite weight or moment at the end of
 * an epoch (ln_model_check_finite; ModelCheckpoint checks before each save,
 * so no non-finite checkpoint is written). */
ln_status ln_model_train(ln_model *m, ln_pipeline *p, int epochs, long max_steps, const ln_callback *cbs,
                         int n_cbs, ln_error *err);

/* LN_E_SYSTEM "training diverged at step S" naming the first non-finite
 * parameter or moment (tensor and index); LN_OK if all are finite. */
ln_status ln_model_check_finite(const ln_model *m, ln_error *err);

/* model.eval: every row of `ds` (limit > 0: only the first `limit`); the
 * same as ln_lenet_eval (load.h) on the model's network. */
void ln_model_eval(ln_model *m, const ln_dataset *ds, long limit, ln_metrics *out);

/* model.predict: ln_lenet_predict (load.h) on the model's network. */
void ln_model_predict(ln_model *m, const float *images, int B, float *probs);

/* Save network, optimizer state and (when training has begun) the training
 * position in MindSpore's format (see ckpt.h, optim.h). ln_model_save
 * replaces `path` atomically; ln_model_save_ex takes ckpt write options
 * (CRC trailer, never-replace). */
ln_status ln_model_save(const ln_model *m, const char *path, ln_error *err);
ln_status ln_model_save_ex(const ln_model *m, const char *path, const ln_ckpt_write_opts *opts, ln_error *err);

/* Load the network weights from a checkpoint: every parameter of the network
 * must be present with its exact shape and dtype Float32 (load.h's check);
 * extra entries (optimizer state) are ignored. Nothing is changed on failure.
 * The _ckpt form takes a checkpoint already read (`path` names it). */
ln_status ln_model_load_weights(ln_model *m, const char *path, ln_error *err);
ln_status ln_model_load_weights_ckpt(ln_model *m, const ln_ckpt *c, const char *path, ln_error *err);

/* Resume: weights, moments.<param> for every parameter, global_step and the
 * training position (train.* entries) - all validated before anything
 * changes. A checkpoint without optimizer state or position (e.g. one
 * MindSpore wrote) is LN_E_INPUT naming what is missing (start a new run
 * from its weights instead: ln_model_load_weights). */
ln_status ln_model_load_state(ln_model *m, const char *path, ln_error *err);
ln_status ln_model_load_state_ckpt(ln_model *m, const ln_ckpt *c, const char *path, ln_error *err);

#endif
