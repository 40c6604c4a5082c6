/* pipeline.h - the data pipeline: sampler -> map -> shuffle -> batch -> repeat.
 *
 * Sample order per epoch follows MindSpore exactly:
 * 1. RandomSampler (when shuffling): ids 0..n-1 permuted by std::shuffle with
 *    mt19937(seed + epoch); each epoch re-shuffles the previous permutation.
 * 2. shuffle(buffer_size): mt19937_64(seed), continuing across epochs; fill
 *    the buffer, then repeatedly emit slot k = rng % (last+1), move the last
 *    slot into k, and refill `last` from the input while it lasts.
 * 3. batch(batch_size, drop_remainder): consecutive rows.
 * The resize is deterministic per image, so it is done once for the whole
 * data set at init (spread over threads; 1 KiB per image); each batch then
 * only applies the rescale table. The order of rows never depends on the
 * thread count.
 */
#ifndef LENET_PIPELINE_H
#define LENET_PIPELINE_H

#include <stdint.h>

#include "lenet/error.h"
#include "lenet/idx.h"
#include "lenet/rng.h"

#define LN_IMG 32 /* side of the network's input */

typedef struct {
    int batch_size;     /* rows per batch (>= 1) */
    int drop_remainder; /* drop a final short batch */
    int shuffle;        /* 0: keep file order (no sampler shuffle, no buffer) */
    int buffer_size;    /* shuffle buffer rows (MindSpore tutorial: 10000), >= 2 */
    uint32_t seed;
    int threads;        /* workers for the map ops */
} ln_pipeline_config;

typedef struct {
    ln_pipeline_config cfg;
    const ln_dataset *ds;
    uint32_t n;           /* rows in the data set */
    uint32_t *perm;       /* sampler permutation (carried across epochs) */
    uint32_t *order;      /* this epoch's final row order */
    uint32_t *buf;        /* shuffle buffer scratch */
    uint8_t *resized;     /* (n, 32, 32) every image after Resize */
    ln_mt64 shuffle_rng;  /* continues across epochs */
    int epoch;            /* epochs prepared so far */
} ln_pipeline;

ln_status ln_pipeline_init(ln_pipeline *p, const ln_dataset *ds, const ln_pipeline_config *cfg,
                           ln_error *err);
void ln_pipeline_free(ln_pipeline *p);

/* Prepare the next epoch's order (call once per epoch, in sequence). */
void ln_pipeline_next_epoch(ln_pipeline *p);

/* Number of batches per epoch. */
int ln_pipeline_num_batches(const ln_pipeline *p);

/* Fill batch b of the current epoch: images (rows, 1, 32, 32) float32 and
 * labels (rows,) int32. Returns the number of rows. */
int ln_pipeline_batch(const ln_pipeline *p, int b, float *images, int32_t *labels);

/* Transform rows [first, first+count) of a data set in file order (eval). */
void ln_pipeline_rows(const ln_dataset *ds, uint32_t first, int count, int threads, float *images,
                      int32_t *labels);

#endif
