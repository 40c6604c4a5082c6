/* train_world.h - `lenet train` started N times by mpirun (data parallel,
 * include/lenet/dist.h): one voice, one set of files, one error message.
 *
 * - Rank 0 prints and writes (monitors, JSON, log, checkpoints, report);
 *   the other ranks' stdout goes to /dev/null and so does their human
 *   stream (train_world_human).
 * - Start-up: the other ranks' stderr is held back (train_world_hold) until
 *   every rank has reached training or failed; train_world_agree then
 *   shows only the first failing rank's message ("rank R of N: ...") and
 *   gives every rank the same exit status, so a missing data set on one
 *   node is one line, not N, and no rank waits for a dead peer.
 * - In training: an error that every rank sees alike (m->error_everywhere)
 *   is printed by rank 0 and every rank exits normally; any other error is
 *   printed by its rank, which then ends the whole job (MPI_Abort).
 * - Default threads per process: the CPUs the launcher bound it to, or the
 *   machine's CPUs divided by the processes on it.
 * - Test hooks (only in the test-only build, -DLN_TEST_HOOKS, make's
 *   $(BUILD)/lenet-testhooks; read from the environment; rank 0):
 *   LENET_TEST_DUMP_DIR=DIR writes the
 *   averaged gradients of global step 1 to DIR/grads_1.bin and the weights
 *   after step LENET_TEST_DUMP_STEP (default 100) to DIR/params_<K>.bin
 *   (raw float32); LENET_TEST_DIVERGE_RANK=R changes one weight on rank R
 *   after step 1, so the replica check must stop the job.
 */
#ifndef LENET_CLI_TRAIN_WORLD_H
#define LENET_CLI_TRAIN_WORLD_H

#include <stdio.h>

#include "lenet/dist.h"
#include "lenet/model.h"

typedef struct {
    ln_dist *dist;
    int saved_fd;  /* the real stderr while held back, else -1 */
    FILE *held;    /* the held-back stderr text */
    FILE *null;    /* /dev/null, for the other ranks' human stream */
    int agreed;
    char dump_dir[1024];
    long dump_step;
    int diverge_rank;
} train_world;

/* Set up; on ranks other than 0: stdout to /dev/null, stderr held back. */
void train_world_begin(train_world *w, ln_dist *d);
/* Collective (call once on every rank, success or not): returns the job's
 * exit status (the first failing rank's), printing that rank's message. */
int train_world_agree(train_world *w, int rc);
/* An error during training: see above. Returns the exit status. */
int train_world_fail(train_world *w, const ln_model *m, const ln_error *err);
/* The human stream for this rank (rank 0: `human`). */
FILE *train_world_human(train_world *w, FILE *human);
/* Threads per process: `threads` when --threads was given (`given`), else
 * this process's share of the CPUs. */
int train_world_threads(const ln_dist *d, int given, int threads);
/* Rank 0, N > 1: the all-reduce's share of the run. */
void train_world_summary(const train_world *w, FILE *f, int threads, double train_seconds);
/* The test hooks' callback (all hooks NULL unless the environment asks). */
ln_callback train_world_test_hooks(train_world *w);
void train_world_end(train_world *w);

#endif
