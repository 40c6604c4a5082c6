/* train_opts.h - `lenet train`'s options: parsing (strict; a bad value is
 * one line naming the option, exit 2), the configuration echo, and the
 * config line of the JSON-lines log. */
#ifndef LENET_CLI_TRAIN_OPTS_H
#define LENET_CLI_TRAIN_OPTS_H

#include <stdint.h>
#include <stdio.h>

#include "lenet/lr_schedule.h"
#include "lenet/optim.h"

typedef struct {
    const char *data, *ckpt_dir, *prefix, *init, *resume, *log, *kernels, *lr_file, *order_params, *report;
    long epochs, save_steps, keep_max, max_steps, print_every;
    int json, shuffle, crc, progress, help; /* progress: -1 auto, 0 off, 1 on */
    int profile;                            /* --profile: per-layer times at the end */
    int conv_bias;                          /* -1: not given */
    int batch_size, threads, nesterov;
    uint32_t seed;
    float lr, momentum, weight_decay, loss_scale;
    ln_lr_schedule sched;                   /* kind and parameters (0 = default) */
    int n_groups;
    ln_group_spec groups[LN_MAX_GROUPS];
    char group_text[LN_MAX_GROUPS][512];    /* the patterns part of each --group */
    const char *group_arg[LN_MAX_GROUPS];
    int n_order;
    const char *order_names[LN_MAX_TENSORS];
    char order_buf[512];
} train_opts;

/* 0 ok, 2 bad usage (message printed), -1 never (help sets o->help). */
int train_parse(int argc, char **argv, train_opts *o);
/* "config: ..." on the human stream. */
void train_echo_config(const train_opts *o, FILE *f, long lr_len);
/* s as a JSON string (quoted, escaped), or null for NULL. */
void train_json_str(FILE *f, const char *s);
/* {"event": "config", ...every option...} */
void train_log_config(const train_opts *o, FILE *f, long lr_len);

#endif
