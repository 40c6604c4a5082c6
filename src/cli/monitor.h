/* monitor.h - the printing callbacks of `lenet train` (the library never
 * prints): LossMonitor, TimeMonitor, the progress bar, the per-epoch
 * evaluation line and the JSON-lines metrics log.
 *
 * - LossMonitor: every `print_every` global steps,
 *   "epoch: E step: S, loss is L" (L = float32's shortest repr).
 * - TimeMonitor (MindSpore >= 1.8): per epoch
 *   "Train epoch time: T ms, per step time: P ms".
 * - Progress bar: on a terminal only, one line redrawn in place (steps,
 *   loss, images/s, ETA) at most 10 times a second; elsewhere nothing, so
 *   logs get the plain lines above.
 * - Per epoch: evaluation on the test set (or the validation split) every
 *   `eval_every` epochs and after the run's last step, a human line with
 *   the rate(s) used, and with --json {"event": "epoch", ...} on stdout
 *   (test_accuracy and test_loss null when the epoch was not evaluated).
 * - Log (--log FILE): per step and per epoch a line of the metrics log
 *   (trainlog.h), flushed as it happens; a failed write stops training.
 * - Divergence: a non-finite test loss after an epoch stops the run
 *   (LN_E_SYSTEM "training diverged at step S").
 * - stdout: writes to a closed or full stdout are not checked here; the run
 *   goes on and `lenet` reports the failure when it ends (exit 1).
 * - Interruption: once *interrupt is non-zero (train_guard.h's signal
 *   flag), the step that is running is the last (m->stop); an epoch cut
 *   short that way gets no evaluation and no epoch line (the resumed run
 *   finishes it).
 */
#ifndef LENET_CLI_MONITOR_H
#define LENET_CLI_MONITOR_H

#include <signal.h>
#include <stdio.h>

#include "lenet/model.h"

typedef struct {
    FILE *human;            /* LossMonitor, TimeMonitor, epoch lines */
    FILE *json;             /* --json epoch objects (stdout) or NULL */
    FILE *log;              /* --log file or NULL */
    const char *log_name;   /* its name, for errors */
    long print_every;       /* LossMonitor period (0 = never) */
    int progress;           /* draw the progress bar on `human` */
    const ln_dataset *test; /* evaluated after each epoch (NULL = skip) */
    long eval_every;        /* ... only every N-th epoch and the run's last (0: the last only) */
    const char *eval_name;  /* "test" or "validation", in the epoch line */
    int last_epoch;         /* state: the run's last epoch */
    long max_steps;
    const volatile sig_atomic_t *interrupt; /* non-zero: stop after this step (NULL = never) */
    /* state */
    double t_start, t_last_draw;
    long steps_done, steps_total, images;
    int bar_drawn;
    double last_acc;
    char note[4200]; /* a line waiting for the step's loss line (cli_monitor_note) */
} cli_monitor;

ln_callback cli_monitor_callback(cli_monitor *mon);

/* A line about the current step from a callback that runs before this
 * monitor - ModelCheckpoint's "saved checkpoint PATH": MindSpore's tutorial
 * runs [ModelCheckpoint, LossMonitor] in that order, so the save happens
 * first, but the line is printed after the step's loss line (and at the
 * latest when the run ends), which is the order a reader expects: the loss
 * at step 1875, then the checkpoint of step 1875. */
void cli_monitor_note(cli_monitor *mon, const char *line);

#endif
