/* callbacks.h - ModelCheckpoint, the library's checkpointing callback
 * (MindSpore's ModelCheckpoint + CheckpointConfig). The printing callbacks
 * (LossMonitor, TimeMonitor, progress bar, JSON log) live in the CLI, since
 * the library never prints.
 *
 * - Saves when global_step - last_saved >= save_steps (counting from where
 *   the run starts, so a resumed run saves at the same steps as an
 *   uninterrupted one), and at the end if the last step was not saved.
 * - File names <prefix>-<epoch>_<step_in_epoch>.ckpt in `directory` (created
 *   if missing). If the folder already holds <prefix>-*.ckpt or
 *   <prefix>_N-*.ckpt when the callback is set up, the prefix becomes
 *   <prefix>_<max N + 1> (MindSpore's rule), and files are written with
 *   no_replace: an existing file is never overwritten. The chosen prefix
 *   is claimed with an exclusive flock on <directory>/<prefix>.lock, held
 *   until ln_model_checkpoint_free (which removes the file) or the process
 *   ends; while another live run holds it, the next N is taken, so runs
 *   started together with the same folder and prefix get <prefix>,
 *   <prefix>_1, <prefix>_2, ... and never write the same names (with the
 *   lock held the folder is read again, so a run that saved and ended
 *   meanwhile is passed by too).
 * - Keeps at most keep_max of the files it wrote, deleting the oldest.
 * - Before each save every weight and moment must be finite
 *   (ln_model_check_finite): a diverged model is never saved.
 * - Writes are atomic (ckpt.h); on_saved reports each path written. A
 *   writer killed mid-write leaves only <final name>.tmp.<pid>.<random>; setting up
 *   the callback removes such files of <prefix> whose process is gone
 *   (stale_removed counts them).
 */
#ifndef LENET_CALLBACKS_H
#define LENET_CALLBACKS_H

#include "lenet/model.h"

typedef struct {
    const char *directory;
    const char *prefix;
    long save_steps;  /* >= 1 */
    int keep_max;     /* >= 1 */
    int with_crc;     /* MindSpore 2.3's CRC trailer */
    void (*on_saved)(void *user, const char *path);
    void *user;
} ln_checkpoint_config;

typedef struct {
    ln_checkpoint_config cfg;
    char prefix[300];
    long last_saved_step;
    int last_epoch, last_step;
    char last_path[4096];
    char (*saved)[4096]; /* rotation queue, oldest first */
    int nsaved;
    int stale_removed; /* stale temporary files removed at set-up */
    int lock_fd;       /* the prefix's claim (flock), -1 if none */
} ln_model_checkpoint;

/* Create the folder if needed, remove stale temporary files, choose and
 * claim the prefix. LN_E_SYSTEM naming the folder if it cannot be created
 * or the lock file cannot be made. */
ln_status ln_model_checkpoint_init(ln_model_checkpoint *c, const ln_checkpoint_config *cfg, ln_error *err);
void ln_model_checkpoint_free(ln_model_checkpoint *c);
/* The callback to pass to ln_model_train (keeps a pointer to c). */
ln_callback ln_model_checkpoint_callback(ln_model_checkpoint *c);

#endif
