/* engine.h - `lenet serve`: the loaded model and the dynamic batcher.
 *
 * A serve_model is one checkpoint loaded and validated, with what
 * `GET /v1/models/lenet` reports. It is reference-counted: a request takes
 * a reference to the current model when it is submitted and answers on that
 * model even if a reload replaces it meanwhile; the old one is freed when
 * its last request is answered.
 *
 * The batcher is one worker thread that runs every forward pass. Requests
 * (jobs of 1..N prepared images) queue up; the worker takes every queued job
 * on the same model, up to max_batch images (a bigger job goes alone), runs
 * one forward pass and calls each job's `done`. When requests are still
 * being received (serve_engine_expect) it first waits for them, at most
 * window_us from the moment it takes up the queue, so under load a pass
 * carries many requests while a lone request on an idle server runs at
 * once. A sample's probabilities do not depend on the batch it rides in
 * (the engine computes every sample's logits the same way in any batch;
 * tests/test_lanes.c), so answers equal `lenet predict` / `lenet eval`.
 * When the server stops and its grace period is over, serve_engine_refuse
 * answers what is still queued (and anything submitted later) as refused,
 * without computing it, so every suspended connection is woken before the
 * HTTP daemon stops.
 */
#ifndef LENET_SERVE_ENGINE_H
#define LENET_SERVE_ENGINE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lenet/error.h"
#include "lenet/load.h"
#include "lenet/single.h"

typedef struct serve_model {
    ln_lenet net;         /* ln_lenet_load: weights only, one thread */
    ln_single *one;       /* its one-image snapshot (single.h) for small batches; NULL with the gemm engine */
    char path[1024];
    char sha256[65];      /* hex digest of the checkpoint file */
    int conv_bias;
    size_t n_params;
    time_t loaded_at;     /* wall clock */
    long generation;      /* 1 for the first model, +1 per successful reload */
    int refs;             /* guarded by the engine's mutex */
} serve_model;

/* Load `path` as a network to serve: variant taken from the file, every
 * tensor checked, every weight finite, and the file
 * unchanged while it was read (its SHA-256 before and after), loaded with
 * ln_lenet_load (load.h) for forward passes only. max_batch is
 * the forward pass size. LN_E_INPUT / LN_E_NOMEM / LN_E_SYSTEM with a
 * message naming the file; *out is NULL then. */
ln_status serve_model_load(const char *path, int max_batch, const char *kernels, serve_model **out,
                           ln_error *err);
void serve_model_free(serve_model *m);

typedef struct serve_job {
    int n;                 /* images */
    const float *x;        /* n * 32 * 32, normalised as the pipeline does */
    float *probs;          /* n * 10, filled before done() */
    serve_model *model;    /* set by serve_engine_submit (a reference) */
    int batch_images;      /* images in the forward pass that answered it */
    int refused;           /* 1: not computed, probs untouched (serve_engine_refuse) */
    void (*done)(struct serve_job *job); /* on the worker thread (refused: see serve_engine_refuse) */
    struct serve_job *next;
} serve_job;

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_cond_t idle;   /* pending fell to 0 */
    serve_model *current;
    serve_job *head, *tail;
    int expected;          /* requests announced but not yet submitted */
    int stop;
    int refusing;          /* serve_engine_refuse was called */
    int pending;           /* jobs submitted whose done() has not returned */
    long window_us;
    int max_batch;
    float *xbuf, *pbuf;    /* max_batch images / probabilities, the worker's */
    pthread_t worker;
    int started;
    /* Called on the worker after each forward pass (metrics); may be NULL. */
    void (*on_batch)(void *user, int images);
    void *user;
} serve_engine;

/* Start the worker with `model` (the engine takes it over). */
ln_status serve_engine_start(serve_engine *e, serve_model *model, long window_us, int max_batch,
                             void (*on_batch)(void *, int), void *user, ln_error *err);
/* Answer every queued job, stop the worker, free the model(s). */
void serve_engine_stop(serve_engine *e);
/* Stop computing: every job still queued, and every job submitted from now
 * on, gets done() with refused = 1 (probs untouched, model reference still
 * held), the queued ones on the calling thread, later ones on the thread
 * that submits them (inside serve_engine_submit). Returns once no done() call
 * is left or running, i.e. after the forward pass under way (if any) has
 * answered its jobs: no thread is then inside a done(). */
void serve_engine_refuse(serve_engine *e);

/* A request for the batcher is on its way (+1) / was submitted or dropped (-1). */
void serve_engine_expect(serve_engine *e, int delta);
/* Queue a job on the current model (counts as expect -1 when `expected`). */
void serve_engine_submit(serve_engine *e, serve_job *job, int expected);
/* Release the job's model reference (after its answer was written). */
void serve_engine_release(serve_engine *e, serve_model *m);

/* Make `model` current; requests already submitted keep the old one. */
void serve_engine_swap(serve_engine *e, serve_model *model);
/* The current model with a reference taken (release it after use). */
serve_model *serve_engine_acquire(serve_engine *e);

#endif
