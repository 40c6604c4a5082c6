/* dist.c - the distributed interface's entry points and the single-process
 * world (see include/lenet/dist.h). The MPI world is in dist_mpi.c. */
#include "lenet/dist.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void ln_dist_single(ln_dist *d) {
    memset(d, 0, sizeof *d);
    d->size = 1, d->local_size = 1;
}

int ln_dist_launched(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

static int multi(const ln_dist *d) { return d && d->ops && d->size > 1; }

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

ln_status ln_dist_allreduce_mean(ln_dist *d, float *buf, size_t n, ln_error *err) {
    if (!multi(d)) return LN_OK;
    const double t0 = now_seconds();
    ln_status s = d->ops->allreduce_mean(d->impl, buf, n, err);
    d->reduce_seconds += now_seconds() - t0;
    d->reduce_calls++;
    d->reduce_bytes += (double)n * sizeof(float);
    return s;
}

ln_status ln_dist_allgather(ln_dist *d, const void *mine, size_t bytes, void *all, ln_error *err) {
    if (!multi(d)) {
        if (all != mine) memmove(all, mine, bytes);
        return LN_OK;
    }
    return d->ops->allgather(d->impl, mine, bytes, all, err);
}

void ln_dist_abort(ln_dist *d, int code) {
    if (multi(d)) d->ops->abort(d->impl, code);
}

void ln_dist_close(ln_dist *d) {
    if (d && d->ops && d->ops->close) d->ops->close(d->impl);
    if (d) d->ops = NULL, d->impl = NULL;
}
