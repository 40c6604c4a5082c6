/* cli.h - helpers shared by the `lenet` subcommands: strict option-value
 * parsing (a bad value is a one-line error naming the option, exit 2) and
 * number formatting. Only the CLI prints and exits. */
#ifndef LENET_CLI_H
#define LENET_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lenet/error.h"

/* Print "lenet: <msg>" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Report a library error and return its exit code. The settings the
 * message names are shown as the flags that set them (see below). */
int cli_fail(const ln_error *err);
/* cli_fail, the line ending in " (origin)" when origin is not NULL - which
 * process of a data-parallel job says it: "rank 1 of 2". */
int cli_fail_from(const ln_error *err, const char *origin);
/* cli_fail for a data set that did not load; when the current folder is
 * lenet's source tree (a Makefile with a `data:` target) the line also
 * suggests `make data`, which fetches MNIST there. */
int cli_fail_data(const ln_error *err);
/* A library message with every setting it names in backquotes (error.h),
 * `batch_size` or `seed=5`, shown as its flag: --batch-size, --seed 5.
 * Other backquoted text is kept. */
void cli_settings_to_flags(const char *msg, char *out, size_t size);

/* getopt_long for a subcommand (argv[0] is its name) that prints its own
 * one-line errors in lenet's form: an unknown or ambiguous option, or one
 * missing its value, prints a line and returns '?'. */
struct option;
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);

/* Parse an option value; on failure print an error naming --opt and return -1. */
int cli_int(const char *opt, const char *s, long lo, long hi, long *out);
int cli_float(const char *opt, const char *s, double lo, double hi, float *out);
int cli_onoff(const char *opt, const char *s, int *out);

/* s as a JSON string (quoted, escaped, valid UTF-8: see ln_buf_json_str),
 * or null for NULL. */
void cli_json_str(FILE *f, const char *s);

/* v printed with fmt (a JSON number), or null when NaN or infinite: JSON
 * output never carries a bare nan or inf. */
void cli_json_num(char *buf, int size, const char *fmt, double v);

/* One image's prediction as JSON members: "digit": the first most probable
 * class, "probabilities": the n values to 9 significant digits (float32
 * exactly), null where not finite. What `predict --json` and
 * `eval --per-image` print for an image, as `serve` answers it. */
void cli_json_prediction(FILE *f, const float *p, int n);

/* Number of CPUs available to this process (>= 1). */
int cli_ncpus(void);
/* The same from the affinity mask alone, without asking the OpenMP runtime
 * (for code that runs before the runtime has started: src/cli/main.c). */
int cli_ncpus_mask(void);

/* The checkpoint a command reads: `ckpt` if given; else the newest *.ckpt
 * in checkpoints/ (where `lenet train` saves by default), named on stderr;
 * else NULL, after the usual "missing option: --ckpt" message. `buf`
 * holds the path found. */
const char *cli_ckpt_or_newest(const char *ckpt, char *buf, size_t size);

/* Draw a gray image (rows x cols, row-major) with shade characters, two
 * per pixel, averaged down to fit max_width columns and max_lines lines. */
void cli_preview_gray(FILE *f, const uint8_t *px, int rows, int cols, int max_width, int max_lines);

/* Subcommands: argc/argv start at the subcommand name. Return exit codes. */
int cmd_summary(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_serve(int argc, char **argv);

#endif
