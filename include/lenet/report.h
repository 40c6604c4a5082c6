/* report.h - a training report: a folder of PNG pictures and an index.html
 * (plain HTML + CSS, no scripts, relative links: opens from disk in any
 * browser) that ties them together.
 *
 * Inputs: the metrics log of a training run (trainlog.h), the
 * checkpoint to judge (NULL: the log's last "done" checkpoint, looked for
 * where it is named, else next to the log) and the MNIST
 * folder whose test split is evaluated (all images, file order).
 *
 * Written into `dir` (created if missing, parents too; files replaced
 * atomically):
 *   loss_steps.png    training loss per step (raw, moving average) and each
 *                     epoch's mean loss, against the global step
 *   loss_epochs.png   per epoch: mean training loss and test loss
 *   accuracy.png      per epoch: test accuracy in % (when the log has it)
 *   lr.png            learning rate per step (only when it changes)
 *   confusion.png     the checkpoint's confusion matrix on the test set,
 *                     with counts, row totals and recall
 *   misclassified.png the first (up to 100, test-set order) misclassified
 *                     test images captioned "<true> as <predicted>"
 *   index.html        all of the above with a summary, the run's settings
 *                     and a per-epoch table
 * Errors: an unreadable log, checkpoint or data set is LN_E_INPUT naming
 * it; no checkpoint given nor named by the log is LN_E_USAGE; a folder or
 * file that cannot be written is LN_E_SYSTEM.
 */
#ifndef LENET_REPORT_H
#define LENET_REPORT_H

#include "lenet/error.h"

#define LN_REPORT_MAX_MISTAKES 100

typedef struct {
    long correct, total;  /* the checkpoint on the test set */
    long mistakes;        /* total - correct */
    int conv_bias;
    int n_steps, n_epochs; /* read from the log */
    int files;            /* files written, index.html included */
    long log_cut_line;    /* the log's last line was cut short (skipped): its number, else 0 */
} ln_report_summary;

ln_status ln_report_write(const char *dir, const char *log_path, const char *ckpt_path, const char *data_dir,
                          ln_error *err);

/* The same, also telling what was found (summary may be NULL). */
ln_status ln_report_write_ex(const char *dir, const char *log_path, const char *ckpt_path, const char *data_dir,
                             ln_report_summary *summary, ln_error *err);

#endif
