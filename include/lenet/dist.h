/* dist.h - the "distributed" interface: what data-parallel training needs
 * from a world of N cooperating processes (MindSpore's init() + the
 * collective ops of DATA_PARALLEL), and nothing else.
 *
 * An ln_dist is a world of `size` processes of which this one is `rank`.
 * The library (model.c) only calls the functions below; it never sees the
 * transport. Two implementations:
 *  - single process (this header's ln_dist_single, in liblenet): size 1,
 *    rank 0; every collective is the identity;
 *  - Open MPI (src/dist_mpi.c, compiled only when the build finds mpicc and
 *    linked into the programs, not into liblenet): ln_dist_open joins the
 *    world mpirun started. Without MPI, src/dist_nompi.c provides
 *    ln_dist_open: size 1, and an error when the process was started by
 *    mpirun (OMPI_COMM_WORLD_SIZE / PMIX_RANK / PMI_RANK in the
 *    environment), so N copies never train side by side writing over each
 *    other's files.
 *
 * Every collective must be called by every rank, in the same sequence.
 * Results are deterministic: ln_dist_allreduce_mean sums in rank order
 * (never MPI_Allreduce, whose order the library chooses), so the same N and
 * inputs give the same bits on every rank, run after run.
 */
#ifndef LENET_DIST_H
#define LENET_DIST_H

#include <stddef.h>

#include "lenet/error.h"

typedef struct {
    ln_status (*allreduce_mean)(void *impl, float *buf, size_t n, ln_error *err);
    ln_status (*allgather)(void *impl, const void *mine, size_t bytes, void *all, ln_error *err);
    void (*abort)(void *impl, int code);
    void (*close)(void *impl);
} ln_dist_ops;

typedef struct {
    int size, rank;
    int local_size;           /* processes of the world on this machine */
    const ln_dist_ops *ops;   /* NULL: single process */
    void *impl;
    /* ln_dist_allreduce_mean statistics (for benchmarks) */
    long reduce_calls;
    double reduce_seconds;    /* wall time inside it */
    double reduce_bytes;      /* payload: n * sizeof(float) per call */
} ln_dist;

/* A world of one process. */
void ln_dist_single(ln_dist *d);

/* Join the world the launcher started (see above); a single-process world
 * when not launched by mpirun. LN_E_USAGE when launched by mpirun without
 * MPI support. NOT in liblenet: the lenet program links src/dist_mpi.c or
 * src/dist_nompi.c. A program using the library builds its own world by
 * filling an ln_dist with its transport's ops (size, rank, ops, impl). */
ln_status ln_dist_open(ln_dist *d, ln_error *err);
/* 1 if the environment says mpirun (or a PMIx/PMI launcher) started us. */
int ln_dist_launched(void);

/* Leave the world (MPI_Finalize); the single world has nothing to do. */
void ln_dist_close(ln_dist *d);

/* buf[0..n) <- (sum over ranks, in rank order 0, 1, ..., N-1, in float32)
 * times float32(1/N) - MindSpore's DistributedGradReducer with mean=True
 * (for N a power of two this is exactly the sum divided by N). Identical
 * bits on every rank. d == NULL or size 1: unchanged. */
ln_status ln_dist_allreduce_mean(ln_dist *d, float *buf, size_t n, ln_error *err);
/* all[r * bytes ...] <- rank r's `mine` (bytes each), on every rank. */
ln_status ln_dist_allgather(ln_dist *d, const void *mine, size_t bytes, void *all, ln_error *err);
/* End every process of the world with exit status `code` (MPI_Abort); with
 * one process it returns and the caller exits as usual. */
void ln_dist_abort(ln_dist *d, int code);

static inline int ln_dist_size(const ln_dist *d) { return d ? d->size : 1; }
static inline int ln_dist_rank(const ln_dist *d) { return d ? d->rank : 0; }

#endif
