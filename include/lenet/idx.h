/* idx.h - reading MNIST-family IDX files (raw or gzip) and finding them.
 *
 * IDX header (big-endian u32): images `2051, count, rows, cols` then
 * count*rows*cols bytes; labels `2049, count` then count bytes. Everything is
 * validated before use: magic, dimensions (1..LN_IDX_MAX_DIM), count (1..
 * LN_IDX_MAX_COUNT), exact data length (no short read, no trailing bytes),
 * and for labels every value < LN_IDX_MAX_CLASSES. Memory is allocated only
 * as data actually arrives, so a hostile header cannot make us allocate more
 * than the file really holds (plus one growth step).
 */
#ifndef LENET_IDX_H
#define LENET_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "lenet/error.h"

#define LN_IDX_MAX_DIM 4096u
#define LN_IDX_MAX_COUNT 100000000u
#define LN_IDX_MAX_CLASSES 10u

typedef struct {
    uint32_t count, rows, cols;
    uint8_t *pixels; /* (count, rows, cols), row-major */
} ln_idx_images;

typedef struct {
    uint32_t count;
    uint8_t *labels; /* (count,), each < LN_IDX_MAX_CLASSES */
} ln_idx_labels;

/* Read an image / label file; raw or gzip (detected by content). */
ln_status ln_idx_read_images(const char *path, ln_idx_images *out, ln_error *err);
ln_status ln_idx_read_labels(const char *path, ln_idx_labels *out, ln_error *err);
void ln_idx_images_free(ln_idx_images *im);

/* An image file read a few images at a time, for a pass that needs each
 * image once (an evaluation) and no copy of the whole file. Open checks the
 * header as ln_idx_read_images does, and a raw file's length, and gives the
 * shape (*shape: count, rows, cols; pixels NULL). Read gives the next n
 * images (LN_E_INPUT if the file ends before them). Finish reads what is
 * left and checks the file ends there: the same checks as
 * ln_idx_read_images, only later. Close any time. */
typedef struct ln_idx_stream ln_idx_stream;
ln_status ln_idx_stream_open(const char *path, ln_idx_stream **st, ln_idx_images *shape, ln_error *err);
ln_status ln_idx_stream_read(ln_idx_stream *st, uint32_t n, uint8_t *dst, ln_error *err);
ln_status ln_idx_stream_finish(ln_idx_stream *st, ln_error *err);
void ln_idx_stream_shape(const ln_idx_stream *st, ln_idx_images *shape); /* as open gave it */
void ln_idx_stream_close(ln_idx_stream *st);
void ln_idx_labels_free(ln_idx_labels *lb);

/* One split of a data set: images and labels of equal count. */
typedef struct {
    ln_idx_images images;
    ln_idx_labels labels;
    char images_path[1024], labels_path[1024];
} ln_dataset;

/* Find and load split "train" (prefix train-) or "test" (prefix t10k-) under
 * `root`: the MindSpore layout (root/train, root/test) or a flat folder.
 * Accepts `train-images-idx3-ubyte` and `train-images.idx3-ubyte`, each with
 * or without `.gz`; a raw file is preferred to a .gz one. */
ln_status ln_dataset_load(const char *root, const char *split, ln_dataset *ds, ln_error *err);
/* The same files, the labels read and the images opened as a stream (*st;
 * close it with ln_idx_stream_close): ds->images holds the shape only. */
ln_status ln_dataset_open(const char *root, const char *split, ln_dataset *ds, ln_idx_stream **st, ln_error *err);
void ln_dataset_free(ln_dataset *ds);

/* Move the last `n` rows of `ds` into `tail` (a copy; `ds` keeps the first
 * count - n rows): a validation split held out of the training set. `tail`
 * names the same files. LN_E_USAGE naming `holdout` unless 0 < n < count. */
ln_status ln_dataset_split_tail(ln_dataset *ds, uint32_t n, ln_dataset *tail, ln_error *err);

#endif
