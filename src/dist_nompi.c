/* dist_nompi.c - ln_dist_open for a build without MPI (see
 * include/lenet/dist.h): one process; started by mpirun, a usage error,
 * since N independent copies would each train on all the data and write
 * over each other's checkpoints. */
#include "lenet/dist.h"

ln_status ln_dist_open(ln_dist *d, ln_error *err) {
    ln_dist_single(d);
    if (ln_dist_launched())
        return ln_fail(err, LN_E_USAGE, "started by mpirun, but this lenet was built without MPI support; install "
                       "Open MPI (apt-get install openmpi-bin libopenmpi-dev) and rebuild with make, or run "
                       "lenet without mpirun");
    return LN_OK;
}
