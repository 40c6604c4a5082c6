/* train_opts.h - `lenet train`'s options: parsing (strict; a bad value is
 * one line naming the option, exit 2), --help, the configuration echo, the
 * config line of the JSON-lines log, and the library settings' flags.
 *
 * train_opts.c describes every option once, in one table (flag, value,
 * default, bounds, help, where it goes, how it is shown); all of the above
 * are made from that table. Adding an option is a field here and a line
 * there. */
#ifndef LENET_CLI_TRAIN_OPTS_H
#define LENET_CLI_TRAIN_OPTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lenet/error.h"
#include "lenet/lr_schedule.h"
#include "lenet/optim.h"

typedef struct {
    const char *data, *ckpt_dir, *prefix, *init, *resume, *log, *kernels, *lr_file, *order_params, *report;
    long epochs, save_steps, keep_max, max_steps, print_every;
    int json, shuffle, crc, progress, help; /* progress: -1 auto, 0 off, 1 on */
    int profile;                            /* --profile: per-layer times at the end */
    long holdout;                           /* evaluate on the last N training images, not the test set */
    long eval_every;                        /* evaluate every N epochs; 0: only after the last */
    const char *recipe;                     /* a named preset of defaults (--recipe) */
    int decay_over_run;                     /* --decay-steps run: decay_epoch = the run's steps */
    int conv_bias;                          /* -1: not given */
    int amp_level;                          /* --amp-level: 0 (O0) or 2 (O2) */
    int batch_size, threads, nesterov;      /* threads 0: every CPU */
    int threads_given;                      /* --threads was on the command line (any abbreviation) */
    uint32_t seed;
    float lr, momentum, weight_decay, loss_scale;
    ln_lr_schedule sched;                   /* kind and parameters (0 = default) */
    int n_lr_values;                        /* --lr-values given (sched.n_pieces: --milestones) */
    long lr_steps;                          /* the rate list's length (set by the caller, for the echo) */
    int n_groups;
    ln_group_spec groups[LN_MAX_GROUPS];
    char group_text[LN_MAX_GROUPS][512];    /* the patterns part of each --group */
    const char *group_arg[LN_MAX_GROUPS];
    int n_order;
    const char *order_names[LN_MAX_TENSORS];
    char order_buf[512];
} train_opts;

/* 0 ok (o->help set when --help was given), 2 bad usage (message printed). */
int train_parse(int argc, char **argv, train_opts *o);
/* `lenet train --help` on f. */
void train_usage(FILE *f);
/* "config: ..." (and the learning-rate and group lines) on the human stream. */
void train_echo_config(const train_opts *o, FILE *f);
/* The log's {"event": "config", ...every setting...} line on f (named
 * `what` in an error). */
ln_status train_log_config(const train_opts *o, FILE *f, const char *what, ln_error *err);

/* The flag a library setting comes from, as a user of the CLI would write
 * it: "batch_size" -> "--batch-size", with value "5" -> "--batch-size 5";
 * a switch given its own value -> "--no-shuffle", the other -> "no
 * --no-shuffle". 0 and the text in out, or -1 if no option sets it. */
int train_setting_flag(const char *setting, const char *value, char *out, size_t size);

#endif
