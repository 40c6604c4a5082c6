/* trainlog.h - the metrics log of a training run (JSON lines): writing it
 * as training goes, and reading it back (for the report).
 *
 * One JSON object per line, told apart by "event":
 *   {"event": "config", ...}                       the run's settings
 *   {"event": "step", "epoch", "step", "global_step", "loss", "lr"}
 *   {"event": "epoch", "epoch", "steps", "loss", "test_accuracy", "test_loss",
 *    "train_seconds", "images_per_second", "lr"}
 *   {"event": "done", "checkpoint": PATH}
 * Other events, unknown keys, and nested values are ignored; blank lines are
 * skipped. Numbers may be null (a non-finite value); such a step keeps NaN.
 *
 * The log is opened for appending, so one file can hold several runs. A
 * "config" line followed by a step whose global_step does not continue the
 * steps already read starts a new run: only the last run is kept. A resumed
 * run (global steps that go on) is kept as one run.
 *
 * A line that is not a flat JSON object, or a step/epoch line without its
 * numbers, is LN_E_INPUT naming the file and line - except a last line
 * without its newline that does not parse: the writer was killed in the
 * middle of it, so it is skipped and cut_line tells its number. A log without any step
 * or epoch line is LN_E_INPUT too.
 *
 * Bounded: the log must be a regular file or a pipe/FIFO (a device such as
 * /dev/zero or a folder is refused); a line longer than LN_LOG_MAX_LINE
 * bytes or a log longer than LN_LOG_MAX_BYTES is LN_E_INPUT saying so, read
 * no further.
 */
#ifndef LENET_TRAINLOG_H
#define LENET_TRAINLOG_H

#include <stdio.h>

#include "lenet/error.h"

typedef struct {
    long global_step;
    int epoch, step;
    double loss, lr;
} ln_log_step;

typedef struct {
    int epoch, steps;
    double loss, test_accuracy, test_loss, seconds, images_per_second, lr;
    long last_global_step; /* global step at the epoch's end (from the steps read, else estimated) */
} ln_log_epoch;

#define LN_LOG_MAX_CONFIG 48
#define LN_LOG_MAX_LINE (64 * 1024)
#define LN_LOG_MAX_BYTES (256ll << 20)

typedef struct {
    int n_steps, n_epochs;
    ln_log_step *steps;
    ln_log_epoch *epochs;
    int n_runs;             /* runs found in the file (only the last is kept) */
    int n_config;           /* config entries of the kept run, as text */
    char config_key[LN_LOG_MAX_CONFIG][64];
    char config_val[LN_LOG_MAX_CONFIG][256];
    char checkpoint[4096];  /* from the last "done" line, "" if none */
    long cut_line;          /* the last line, cut short and skipped; 0 if none */
} ln_trainlog;

/* Writing. Each call writes one line to f in one piece, flushes it, and
 * returns LN_E_SYSTEM naming `what` (the file) if that fails. A step's
 * loss and lr and an epoch's lr are float32 values, written in their
 * shortest repr (null when not finite); an epoch's loss, test_accuracy and
 * test_loss get 6 decimals, train_seconds 3, images_per_second 1
 * (last_global_step is not written). */
typedef struct {
    const char *key;
    const char *value; /* JSON text: a number, true, "a string", [1, 2], ... */
} ln_log_field;

ln_status ln_trainlog_write_config(FILE *f, const char *what, const ln_log_field *fields, int n, ln_error *err);
ln_status ln_trainlog_write_step(FILE *f, const char *what, const ln_log_step *s, ln_error *err);
ln_status ln_trainlog_write_epoch(FILE *f, const char *what, const ln_log_epoch *e, ln_error *err);
ln_status ln_trainlog_write_done(FILE *f, const char *what, const char *checkpoint, ln_error *err);
/* {"event": "interrupted", "signal": SIGNAL, "checkpoint": PATH} (null when
 * nothing was saved): a run stopped by a signal (readers ignore it). */
ln_status ln_trainlog_write_interrupted(FILE *f, const char *what, const char *signal, const char *checkpoint,
                                        ln_error *err);

/* Reading (see above). */
ln_status ln_trainlog_read(const char *path, ln_trainlog *out, ln_error *err);
void ln_trainlog_free(ln_trainlog *log);

#endif
