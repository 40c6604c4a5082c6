/* train_guard.h - what `lenet train` does so that faults lose no work:
 * Ctrl-C / SIGTERM, unwritable output paths, too little memory.
 *
 * Signals. train_guard_signals() installs handlers for SIGINT and SIGTERM.
 * The first signal is only recorded (a volatile sig_atomic_t, the one
 * piece of process-wide state, as a signal handler needs): the monitor's
 * step_end callback reads it through train_guard_flag() and sets m->stop,
 * so training ends after the current step and ModelCheckpoint saves that
 * step under its usual name. A second signal ends the process at once with
 * exit status 128 + signal (_exit: a checkpoint being written stays a
 * temporary file, never a final name, and the next run removes it).
 *
 * Fail fast. train_guard_check_paths() checks, without creating anything,
 * that --ckpt-dir, --log and --report can be written (each exists and is
 * writable, or can be created in a writable parent), so a typo costs no
 * training time: one line naming the option and path, exit 1 (as any
 * output that cannot be written).
 *
 * Memory. train_guard_threads() starts the worker threads before the data
 * set is loaded (the OpenMP runtime keeps them), so a memory limit
 * (ulimit -v) too small for them is our one-line error, exit 1, not the
 * runtime's abort later; the outputs are created only after every large
 * allocation (the CLI opens them after the pipeline is built), so running
 * out of memory leaves none behind.
 */
#ifndef LENET_CLI_TRAIN_GUARD_H
#define LENET_CLI_TRAIN_GUARD_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "train_opts.h"

void train_guard_signals(void);
/* The first signal's number, 0 if none came. */
int train_guard_signal(void);
/* The flag the monitor reads (non-zero once a signal came). */
const volatile sig_atomic_t *train_guard_flag(void);

/* 0, or 1 with one line printed. */
int train_guard_check_paths(const train_opts *o);

/* Start `threads` (0 = all CPUs) OpenMP threads now. 0, or 1 with one line printed. */
int train_guard_threads(int threads);

/* --report: create the folder; without --log, the log becomes DIR/
 * metrics.jsonl, emptied first (its name in report_log). 0, or 1 with one
 * line printed. */
int train_guard_report_dir(train_opts *o, char *report_log, size_t report_log_size);

/* "to resume: lenet train ARGS --resume PATH" with this run's arguments
 * (argv from the subcommand name on; any --init / --resume dropped),
 * shell-quoted. */
void train_guard_print_resume(FILE *f, int argc, char **argv, const char *path);

#endif
