/* dist_mpi.c - the Open MPI world for the distributed interface (see
 * include/lenet/dist.h). Compiled only when the build finds mpicc, and
 * linked into the programs, not into liblenet.
 *
 * The all-reduce is built from MPI_Alltoallv and MPI_Allgatherv, not
 * MPI_Allreduce (whose summation order Open MPI picks per message size and
 * process count): the buffer is cut into N chunks (split.h); rank c
 * receives chunk c from every rank and sums the N copies in rank order
 * 0, 1, ..., N-1, scales by float(1/N), and the allgather hands every rank
 * every reduced chunk. Each element is computed once, by one rank, in one
 * fixed order, so all ranks hold the same bits and a run repeats exactly.
 * Each rank sends and receives 2 (N-1)/N of the buffer, as a ring
 * all-reduce does (the README's cost model).
 */
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "lenet/dist.h"
#include "split.h"

typedef struct {
    int size, rank;
    float *scratch;   /* N copies of this rank's chunk */
    size_t scratch_n;
    int *counts, *displs, *rcounts, *rdispls;
} mpi_world;

static ln_status reduce(void *impl, float *buf, size_t n, ln_error *err) {
    mpi_world *w = impl;
    const int N = w->size;
    if (n > (size_t)0x7fffffff) return ln_fail(err, LN_E_USAGE, "too many floats for an MPI all-reduce: %zu", n);
    long lo, hi;
    for (int c = 0; c < N; c++) {
        ln_split_range((long)n, N, c, &lo, &hi);
        w->counts[c] = (int)(hi - lo), w->displs[c] = (int)lo;
    }
    const int mine = w->counts[w->rank];
    const size_t need = (size_t)N * (size_t)(mine > 0 ? mine : 1);
    if (need > w->scratch_n) {
        float *s = realloc(w->scratch, need * sizeof(float));
        if (!s) return ln_fail(err, LN_E_NOMEM, "out of memory for the gradient all-reduce");
        w->scratch = s, w->scratch_n = need;
    }
    for (int c = 0; c < N; c++) w->rcounts[c] = mine, w->rdispls[c] = c * mine;
    MPI_Alltoallv(buf, w->counts, w->displs, MPI_FLOAT, w->scratch, w->rcounts, w->rdispls, MPI_FLOAT,
                  MPI_COMM_WORLD);
    const float scale = (float)(1.0 / N);
    float *out = buf + w->displs[w->rank];
    for (int j = 0; j < mine; j++) {
        float s = w->scratch[j];
        for (int r = 1; r < N; r++) s += w->scratch[(size_t)r * (size_t)mine + (size_t)j];
        out[j] = s * scale;
    }
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, w->counts, w->displs, MPI_FLOAT, MPI_COMM_WORLD);
    return LN_OK;
}

static ln_status allgather(void *impl, const void *mine, size_t bytes, void *all, ln_error *err) {
    (void)impl;
    if (bytes > (size_t)0x7fffffff) return ln_fail(err, LN_E_USAGE, "too many bytes for an MPI allgather: %zu", bytes);
    MPI_Allgather(mine, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE, MPI_COMM_WORLD);
    return LN_OK;
}

static void abort_all(void *impl, int code) {
    (void)impl;
    MPI_Abort(MPI_COMM_WORLD, code);
}

static void close_world(void *impl) {
    mpi_world *w = impl;
    free(w->scratch);
    free(w->counts);
    free(w);
    MPI_Finalize();
}

static const ln_dist_ops mpi_ops = {reduce, allgather, abort_all, close_world};

ln_status ln_dist_open(ln_dist *d, ln_error *err) {
    ln_dist_single(d);
    if (!ln_dist_launched()) return LN_OK; /* not under mpirun: no MPI at all */
    int provided;
    /* OpenMP threads compute; only the main thread calls MPI. */
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return ln_fail(err, LN_E_SYSTEM, "MPI_Init failed; check the mpirun command line");
    mpi_world *w = calloc(1, sizeof *w);
    if (w) {
        MPI_Comm_size(MPI_COMM_WORLD, &w->size);
        MPI_Comm_rank(MPI_COMM_WORLD, &w->rank);
        w->counts = malloc(sizeof(int) * 4 * (size_t)w->size);
    }
    if (!w || !w->counts) {
        free(w);
        MPI_Finalize();
        return ln_fail(err, LN_E_NOMEM, "out of memory joining the MPI world");
    }
    w->displs = w->counts + w->size, w->rcounts = w->displs + w->size, w->rdispls = w->rcounts + w->size;
    MPI_Comm local;
    int local_size = 1;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local) == MPI_SUCCESS) {
        MPI_Comm_size(local, &local_size);
        MPI_Comm_free(&local);
    }
    d->size = w->size, d->rank = w->rank, d->local_size = local_size;
    d->ops = &mpi_ops, d->impl = w;
    return LN_OK;
}
