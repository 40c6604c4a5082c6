/* pipeline.h - the data pipeline: sampler -> map -> shuffle -> batch -> repeat.
 *
 * Sample order per epoch follows MindSpore exactly:
 * 1. RandomSampler (when shuffling): ids 0..n-1 permuted by std::shuffle with
 *    mt19937(seed + epoch); each epoch re-shuffles the previous permutation.
 *    Without shuffling, the identity.
 *    Sharded (num_shards N > 1, MindSpore's DistributedSampler for
 *    MnistDataset(num_shards=N, shard_id=r)): every shard has ceil(n/N)
 *    rows; item k of shard r is perm[(N*k + r) mod n] (interleaved; the
 *    last rows wrap to perm[0], perm[1], ... when N does not divide n).
 *    All shards use the same perm, so together they cover every row.
 * 2. shuffle(buffer_size): mt19937_64(seed), continuing across epochs; fill
 *    the buffer, then repeatedly emit slot k = rng % (last+1), move the last
 *    slot into k, and refill `last` from the input while it lasts.
 * 3. batch(batch_size, drop_remainder): consecutive rows.
 * The resize is deterministic per image, so it is done once for the whole
 * data set (spread over threads; 1 KiB per image): at init, or before it in
 * place by ln_dataset_resize32 (no second copy of the data set); each batch
 * then only rescales its pixels. The order of rows never depends on the
 * thread count.
 */
#ifndef LENET_PIPELINE_H
#define LENET_PIPELINE_H

#include <stdint.h>

#include "lenet/arch.h"
#include "lenet/error.h"
#include "lenet/idx.h"

#define LN_IMG LN_IN_SIDE /* side of the network's input (arch.h) */

typedef struct {
    int batch_size;     /* rows per batch (>= 1) */
    int drop_remainder; /* drop a final short batch */
    int shuffle;        /* 0: keep file order (no sampler shuffle, no buffer) */
    int buffer_size;    /* shuffle buffer rows (MindSpore tutorial: 10000), >= 2 */
    uint32_t seed;
    int threads;        /* workers for the map ops */
    int num_shards;     /* data-parallel shards (0 or 1: none) */
    int shard_id;       /* this shard, 0 <= shard_id < num_shards */
} ln_pipeline_config;

/* The pipeline's state is private (src/pipeline.c); callers hold this handle. */
typedef struct {
    struct ln_pipeline_state *s;
} ln_pipeline;

/* Resize every image of `ds` to 32x32 in place, once, so that a pipeline on
 * it keeps no second copy of the data set: the pixel buffer grows to
 * (count, 32, 32) and the raw images are gone (the dataset's rows and cols
 * become 32). A pipeline on a data set that is already 32x32 uses its pixels
 * as they are (resizing 32x32 to 32x32 is the identity), so the batches are
 * the same bits either way. Images larger than 32x32 are LN_E_USAGE. */
ln_status ln_dataset_resize32(ln_dataset *ds, int threads, ln_error *err);

ln_status ln_pipeline_init(ln_pipeline *p, const ln_dataset *ds, const ln_pipeline_config *cfg,
                           ln_error *err);
void ln_pipeline_free(ln_pipeline *p);

/* Prepare the next epoch's order (call once per epoch, in sequence). */
void ln_pipeline_next_epoch(ln_pipeline *p);

/* Epochs prepared so far (0 for a fresh pipeline). */
int ln_pipeline_epoch(const ln_pipeline *p);

/* Rows in the data set, and rows per batch. */
uint32_t ln_pipeline_size(const ln_pipeline *p);
int ln_pipeline_batch_size(const ln_pipeline *p);

/* Rows per epoch of this shard: ceil(size / num_shards) (size unsharded). */
uint32_t ln_pipeline_shard_size(const ln_pipeline *p);

/* Number of batches per epoch (of this shard). */
int ln_pipeline_num_batches(const ln_pipeline *p);

/* The current epoch's row order (ln_pipeline_shard_size ids), valid until the next
 * ln_pipeline_next_epoch. */
const uint32_t *ln_pipeline_order(const ln_pipeline *p);

/* Fill batch b of the current epoch: images (rows, 1, 32, 32) float32 and
 * labels (rows,) int32. Returns the number of rows. */
int ln_pipeline_batch(const ln_pipeline *p, int b, float *images, int32_t *labels);

/* Batch b (< the number of batches) by reference: each row's 32x32 uint8
 * image (a pointer into the pipeline's data, valid while it lives;
 * ln_pipeline_batch's images are ln_normalize_px of its pixels) and its
 * label (labels may be NULL). Returns the number of rows. */
int ln_pipeline_refs(const ln_pipeline *p, int b, const uint8_t **pixels, int32_t *labels);
/* The images of batches [b, b + nb) (b + nb <= the number of batches),
 * row after row in batch order, copied into dst (LN_IMG * LN_IMG bytes
 * each) by up to `threads` threads; returns the rows copied. A batch's
 * images lie wherever the shuffle put them in the data set, one 4 KB page
 * each: a trainer that gathers many batches at once reads them with many
 * misses in flight, then each step's images are contiguous (src/model.c). */
long ln_pipeline_gather(const ln_pipeline *p, int b, int nb, uint8_t *dst, int threads);

/* Position. The order of epoch e is a pure function of the settings, the
 * data and e, so a position is the settings plus a fingerprint of the last
 * prepared epoch: a hash of its row order and the shuffle generator's state
 * after it. A checkpoint stores this to continue a run exactly. */
typedef struct {
    uint32_t seed;
    int32_t batch_size, shuffle, rows;
    uint64_t order_hash; /* FNV-1a 64 of the epoch's row order (ids as 4 little-endian bytes) */
    uint64_t rng[312];   /* the shuffle buffer's mt19937_64 after that epoch */
    int32_t rng_idx;
} ln_pipeline_pos;

/* The position of the epoch last prepared. */
void ln_pipeline_save(const ln_pipeline *p, ln_pipeline_pos *pos);

/* Bring p (fresh, or not past `epoch`) to epoch `epoch` and check that it is
 * the saved position: same seed, batch size, shuffling and number of rows,
 * and, once epoch `epoch` is prepared, the same fingerprint. LN_E_INPUT
 * naming the first difference; p is then unusable for resuming. */
ln_status ln_pipeline_restore(ln_pipeline *p, const ln_pipeline_pos *pos, int epoch, ln_error *err);

/* Transform rows [first, first+count) of a data set in file order (eval). */
void ln_pipeline_rows(const ln_dataset *ds, uint32_t first, int count, int threads, float *images,
                      int32_t *labels);

#endif
