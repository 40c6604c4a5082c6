/* dist_mpi.c - the Open MPI world for the distributed interface (see
 * include/lenet/dist.h). Compiled only when the build finds Open MPI's
 * mpicc, and linked into the programs, not into liblenet.
 *
 * libmpi is opened (dlopen) only when a process was started by mpirun, not
 * linked: linked, it and the six libraries it brings were loaded by every
 * `lenet` command at every start, ~1 ms here, twice for train, eval and
 * predict (they re-execute themselves once, src/cli/main.c). The functions
 * keep Open MPI's own prototypes (mpi.h), and its predefined handles are the
 * addresses of its ompi_mpi_* objects, as mpi.h's macros make them.
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

#include "cli/dlsym_table.h"
#include "lenet/dist.h"
#include "split.h"

#if !defined(OMPI_MAJOR_VERSION) || OMPI_MAJOR_VERSION < 3
#error "dist_mpi.c opens Open MPI's libmpi.so.40 (3.0 or later); build with its mpicc (apt-get install libopenmpi-dev)"
#endif
/* Open MPI's ABI since 3.0 (Debian's libopenmpi3). */
#define MPI_SONAME "libmpi.so.40"

/* What this file calls of libmpi, loaded by mpi_load. */
typedef struct {
    __typeof__(MPI_Init_thread) *init_thread;
    __typeof__(MPI_Finalize) *finalize;
    __typeof__(MPI_Comm_size) *comm_size;
    __typeof__(MPI_Comm_rank) *comm_rank;
    __typeof__(MPI_Comm_split_type) *comm_split_type;
    __typeof__(MPI_Comm_free) *comm_free;
    __typeof__(MPI_Alltoallv) *alltoallv;
    __typeof__(MPI_Allgatherv) *allgatherv;
    __typeof__(MPI_Allgather) *allgather;
    __typeof__(MPI_Abort) *abort;
    MPI_Comm world;                 /* MPI_COMM_WORLD */
    MPI_Datatype f32, byte, dt_null; /* MPI_FLOAT, MPI_BYTE, MPI_DATATYPE_NULL */
    MPI_Info info_null;             /* MPI_INFO_NULL */
} mpi_api;

/* Open libmpi (RTLD_GLOBAL: Open MPI's own plugins link against its
 * symbols) and take every function and handle above. It stays loaded until
 * the process exits: Open MPI registers exit handlers of its own. */
static ln_status mpi_load(mpi_api *a, ln_error *err) {
    void *lib = dlopen(MPI_SONAME, RTLD_NOW | RTLD_GLOBAL);
    if (!lib) {
        const char *why = dlerror();
        return ln_fail(err, LN_E_SYSTEM, "started by mpirun, but %s cannot be loaded (%s); install Open MPI: "
                       "apt-get install openmpi-bin libopenmpi3", MPI_SONAME, why ? why : "not found");
    }
    static const ln_dlsym_entry sym[] = {
#define FN(f, n) {n, offsetof(mpi_api, f)}
        FN(init_thread, "MPI_Init_thread"), FN(finalize, "MPI_Finalize"), FN(comm_size, "MPI_Comm_size"),
        FN(comm_rank, "MPI_Comm_rank"), FN(comm_split_type, "MPI_Comm_split_type"), FN(comm_free, "MPI_Comm_free"),
        FN(alltoallv, "MPI_Alltoallv"), FN(allgatherv, "MPI_Allgatherv"), FN(allgather, "MPI_Allgather"),
        FN(abort, "MPI_Abort"), FN(world, "ompi_mpi_comm_world"), FN(f32, "ompi_mpi_float"),
        FN(byte, "ompi_mpi_byte"), FN(dt_null, "ompi_mpi_datatype_null"), FN(info_null, "ompi_mpi_info_null"),
#undef FN
    };
    /* functions, and handles: in Open MPI the addresses of its objects */
    const char *missing = ln_dlsym_table(lib, sym, sizeof sym / sizeof sym[0], a);
    if (missing)
        return ln_fail(err, LN_E_SYSTEM, "no %s in %s: not the Open MPI lenet was built with; install Debian's "
                       "(apt-get install openmpi-bin libopenmpi3) and rebuild", missing, MPI_SONAME);
    return LN_OK;
}

typedef struct {
    mpi_api mpi;
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
    const mpi_api *m = &w->mpi;
    m->alltoallv(buf, w->counts, w->displs, m->f32, w->scratch, w->rcounts, w->rdispls, m->f32, m->world);
    const float scale = (float)(1.0 / N);
    float *out = buf + w->displs[w->rank];
    for (int j = 0; j < mine; j++) {
        float s = w->scratch[j];
        for (int r = 1; r < N; r++) s += w->scratch[(size_t)r * (size_t)mine + (size_t)j];
        out[j] = s * scale;
    }
    m->allgatherv(MPI_IN_PLACE, 0, m->dt_null, buf, w->counts, w->displs, m->f32, m->world);
    return LN_OK;
}

static ln_status allgather(void *impl, const void *mine, size_t bytes, void *all, ln_error *err) {
    const mpi_api *m = &((mpi_world *)impl)->mpi;
    if (bytes > (size_t)0x7fffffff) return ln_fail(err, LN_E_USAGE, "too many bytes for an MPI allgather: %zu", bytes);
    m->allgather(mine, (int)bytes, m->byte, all, (int)bytes, m->byte, m->world);
    return LN_OK;
}

static void abort_all(void *impl, int code) {
    const mpi_api *m = &((mpi_world *)impl)->mpi;
    m->abort(m->world, code);
}

static void close_world(void *impl) {
    mpi_world *w = impl;
    const mpi_api m = w->mpi;
    free(w->scratch);
    free(w->counts);
    free(w);
    m.finalize();
}

static const ln_dist_ops mpi_ops = {reduce, allgather, abort_all, close_world};

ln_status ln_dist_open(ln_dist *d, ln_error *err) {
    ln_dist_single(d);
    if (!ln_dist_launched()) return LN_OK; /* not under mpirun: no MPI at all */
    mpi_world *w = calloc(1, sizeof *w);
    if (!w) return ln_fail(err, LN_E_NOMEM, "out of memory joining the MPI world");
    ln_status s = mpi_load(&w->mpi, err);
    if (s) {
        free(w);
        return s;
    }
    const mpi_api *m = &w->mpi;
    int provided;
    /* OpenMP threads compute; only the main thread calls MPI. */
    if (m->init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        free(w);
        return ln_fail(err, LN_E_SYSTEM, "MPI_Init failed; check the mpirun command line");
    }
    m->comm_size(m->world, &w->size);
    m->comm_rank(m->world, &w->rank);
    w->counts = malloc(sizeof(int) * 4 * (size_t)w->size);
    if (!w->counts) {
        m->finalize();
        free(w);
        return ln_fail(err, LN_E_NOMEM, "out of memory joining the MPI world");
    }
    w->displs = w->counts + w->size, w->rcounts = w->displs + w->size, w->rdispls = w->rcounts + w->size;
    MPI_Comm local;
    int local_size = 1;
    if (m->comm_split_type(m->world, MPI_COMM_TYPE_SHARED, 0, m->info_null, &local) == MPI_SUCCESS) {
        m->comm_size(local, &local_size);
        m->comm_free(&local);
    }
    d->size = w->size, d->rank = w->rank, d->local_size = local_size;
    d->ops = &mpi_ops, d->impl = w;
    return LN_OK;
}
