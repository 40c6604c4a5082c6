/* train_opts.c - `lenet train`'s options, described once (see train_opts.h).
 *
 * OPTIONS[] holds every option: its flag and value, where the value goes (an
 * offset into train_opts, or a setter for the few that need more than a
 * bounds check), its default, bounds and help text, its name in the config
 * lines and in the library's messages. getopt_long's table, the parsing
 * with its messages, --help, the echoed config lines, the log's JSON config
 * line and the setting -> flag translation are all made from it. */
#include "train_opts.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lenet/bytebuf.h"
#include "lenet/trainlog.h"

typedef enum {
    T_STR,    /* const char * */
    T_LONG,   /* long, lo..hi */
    T_INT,    /* int, lo..hi */
    T_U32,    /* uint32_t, lo..hi */
    T_FLOAT,  /* float, lo..hi */
    T_DOUBLE, /* double read as a float32 (as the rate lists are), lo..hi */
    T_BOOL,   /* int: on|off, or a switch that stores `hi` */
    T_CUSTOM, /* set() reads it, put() shows it */
} opt_type;

/* Where an option is shown (besides --help). */
enum {
    SHOW_CONFIG = 1, /* the "config:" line */
    SHOW_LR = 2,     /* the "learning rate:" line, when a schedule is used */
    SHOW_GROUPS = 4, /* the "parameter groups:" line, when groups or an order are given */
    SHOW_JSON = 8,   /* the log's {"event": "config", ...} line */
};

typedef struct opt opt;
struct opt {
    const char *flag;    /* --flag; NULL: not an option, only shown */
    const char *arg;     /* the value's name in --help; NULL: a switch */
    opt_type type;
    size_t at;           /* offsetof(train_opts, value) */
    double lo, hi;       /* bounds of a number; a switch stores hi */
    double def;          /* default of a number (0 = the zeroed or library default) */
    const char *def_str; /* default of a string */
    const char *key;     /* name in the config lines and the log */
    int show;            /* SHOW_* */
    const char *setting; /* the library's name for it in messages (NULL: key) */
    int (*set)(train_opts *o, const opt *d, const char *arg); /* reads it instead of `type` (-1: bad) */
    void (*put)(const train_opts *o, int json, ln_buf *b);    /* shows it instead of `type` */
    const char *help;    /* --help text; '\n' continues it on the next line */
    const char *def_note;/* --help: the default in words, instead of the value */
    const char *section; /* --help: heading printed before this option */
};

static void *field(train_opts *o, const opt *d) { return (char *)o + d->at; }
static const void *cfield(const train_opts *o, const opt *d) { return (const char *)o + d->at; }

/* ---- setters for the options that need more than a bounds check ---- */

/* "--name" for messages. */
static const char *dashed(const opt *d, char *buf, size_t size) {
    snprintf(buf, size, "--%s", d->flag);
    return buf;
}

/* --prefix becomes part of file names: refuse what cannot be one, saying why. */
static int set_prefix(train_opts *o, const opt *d, const char *arg) {
    const char *why = NULL;
    const size_t n = strlen(arg);
    if (!n) why = "it is empty";
    else if (n > 200) why = "it is longer than 200 characters";
    else if (strchr(arg, '/')) why = "it contains '/'";
    for (const char *c = arg; !why && *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) why = "it contains a control character (e.g. a newline)";
    if (why) {
        cli_error("not a file-name prefix (%s): --%s '%.40s%s'; give a plain prefix of 1 to 200 characters",
                  why, d->flag, arg, n > 40 ? "..." : "");
        return -1;
    }
    o->prefix = arg;
    return 0;
}

static int set_progress(train_opts *o, const opt *d, const char *arg) {
    char name[64];
    if (!strcmp(arg, "auto")) o->progress = -1;
    else if (cli_onoff(dashed(d, name, sizeof name), arg, &o->progress)) return -1;
    return 0;
}

/* --amp-level: O0 (float32) or O2 (bf16 products); MindSpore's O1 and O3
 * have no meaning of their own for this network here, so they are refused. */
static int set_amp(train_opts *o, const opt *d, const char *arg) {
    if (!strcmp(arg, "O0") || !strcmp(arg, "O2")) {
        o->amp_level = arg[1] - '0';
        return 0;
    }
    cli_error("unsupported amp level: --%s '%s'; give O0 (float32) or O2 (bf16 products, float32 accumulation)",
              d->flag, arg);
    return -1;
}

static void put_amp(const train_opts *o, int json, ln_buf *b) {
    if (json) ln_buf_printf(b, "\"O%d\"", o->amp_level);
    else ln_buf_printf(b, "O%d", o->amp_level);
}

static int set_schedule(train_opts *o, const opt *d, const char *arg) {
    int k = ln_lr_kind_from_name(arg);
    if (k < 0) {
        cli_error("unknown schedule: --%s '%s'; use fixed, piecewise, exponential, natural-exp, inverse, "
                  "cosine, polynomial or warmup", d->flag, arg);
        return -1;
    }
    o->sched.kind = (ln_lr_kind)k;
    return 0;
}

/* A comma-separated list of whole numbers (long) or rates (double). */
static int parse_list(const opt *d, const char *s, long *ints, double *rates) {
    char buf[2048], name[64];
    dashed(d, name, sizeof name);
    if (snprintf(buf, sizeof buf, "%s", s) >= (int)sizeof buf) {
        cli_error("list longer than %zu characters: %s", sizeof buf - 1, name);
        return -1;
    }
    int n = 0;
    for (char *t = buf, *next; t; t = next) {
        if ((next = strchr(t, ','))) *next++ = 0;
        if (!*t) {
            cli_error("empty item in the list: %s '%s'; give numbers separated by single commas", name, s);
            return -1;
        }
        if (n == LN_LR_MAX_PIECES) {
            cli_error("more than %d values: %s; give at most %d", LN_LR_MAX_PIECES, name, LN_LR_MAX_PIECES);
            return -1;
        }
        float v;
        if (ints ? cli_int(name, t, (long)d->lo, (long)d->hi, &ints[n]) : cli_float(name, t, d->lo, d->hi, &v))
            return -1;
        if (rates) rates[n] = v;
        n++;
    }
    if (n == 0) {
        cli_error("empty list: %s; give a comma-separated list", name);
        return -1;
    }
    return n;
}

static int set_milestones(train_opts *o, const opt *d, const char *arg) {
    int n = parse_list(d, arg, o->sched.milestones, NULL);
    if (n < 0) return -1;
    o->sched.n_pieces = n;
    return 0;
}

static int set_lr_values(train_opts *o, const opt *d, const char *arg) {
    int n = parse_list(d, arg, NULL, o->sched.values);
    if (n < 0) return -1;
    o->n_lr_values = n;
    return 0;
}

/* --decay-steps N: the schedule counts steps, not epochs; "run": over all
 * the run's steps (known once the data is read). */
static int set_decay_steps(train_opts *o, const opt *d, const char *arg) {
    char name[64];
    o->decay_over_run = !strcmp(arg, "run");
    if (o->decay_over_run) {
        o->sched.decay_epoch = 0;
        o->sched.step_per_epoch = 1;
        return 0;
    }
    if (cli_int(dashed(d, name, sizeof name), arg, (long)d->lo, (long)d->hi, &o->sched.decay_epoch)) return -1;
    o->sched.step_per_epoch = 1;
    return 0;
}

/* 'conv*:lr=0.02,weight_decay=0,grad_centralization=1' -> a group spec. */
static int set_group(train_opts *o, const opt *d, const char *arg) {
    if (o->n_groups == LN_MAX_GROUPS - 1) {
        cli_error("too many groups: --%s; give at most %d", d->flag, LN_MAX_GROUPS - 1);
        return -1;
    }
    const int gi = o->n_groups;
    ln_group_spec *g = &o->groups[gi];
    memset(g, 0, sizeof *g);
    o->group_arg[gi] = arg;
    const char *colon = strchr(arg, ':');
    size_t plen = colon ? (size_t)(colon - arg) : strlen(arg);
    if (plen == 0 || plen >= sizeof o->group_text[gi]) {
        cli_error("no parameter name patterns: --%s '%s'; start with them, e.g. 'conv*:lr=0.02'", d->flag, arg);
        return -1;
    }
    memcpy(o->group_text[gi], arg, plen);
    o->group_text[gi][plen] = 0;
    g->patterns = o->group_text[gi];
    char buf[512];
    snprintf(buf, sizeof buf, "%s", colon ? colon + 1 : "");
    for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq) {
            cli_error("not KEY=VALUE: '%s' in --%s '%s'; the keys are lr, weight_decay, grad_centralization",
                      kv, d->flag, arg);
            return -1;
        }
        *eq = 0;
        const char *v = eq + 1;
        char what[600];
        snprintf(what, sizeof what, "--%s '%s' %s", d->flag, arg, kv);
        if (!strcmp(kv, "lr")) {
            if (cli_float(what, v, 0, 1e6, &g->lr)) return -1;
            g->set_lr = 1;
        } else if (!strcmp(kv, "weight_decay")) {
            if (cli_float(what, v, 0, 1e6, &g->weight_decay)) return -1;
            g->set_weight_decay = 1;
        } else if (!strcmp(kv, "grad_centralization")) {
            if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "on")) g->grad_centralization = 1;
            else if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "off")) g->grad_centralization = 0;
            else {
                cli_error("must be 1 or 0: %s '%s'", what, v);
                return -1;
            }
        } else {
            cli_error("unknown key '%s': --%s '%s'; the keys are lr, weight_decay, grad_centralization", kv, d->flag, arg);
            return -1;
        }
    }
    o->n_groups++;
    return 0;
}

static int set_order(train_opts *o, const opt *d, const char *arg) {
    o->order_params = arg;
    o->n_order = 0;
    if (!strcmp(arg, "net")) return 0;
    snprintf(o->order_buf, sizeof o->order_buf, "%s", arg);
    for (char *save = NULL, *t = strtok_r(o->order_buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (o->n_order == LN_MAX_TENSORS) {
            cli_error("more than %d names: --%s", LN_MAX_TENSORS, d->flag);
            return -1;
        }
        o->order_names[o->n_order++] = t;
    }
    return 0;
}

/* Named presets: the defaults they change, applied before any option is
 * read so that every option given still overrides them. */
typedef struct {
    const char *name, *what;
    void (*apply)(train_opts *o);
} recipe;

static void recipe_tutorial(train_opts *o) { (void)o; }

/* The fastest way found to a 99% LeNet-5 (README, "Time to 99%"): tuned on
 * a validation split (--holdout 10000), confirmed on the test set. */
static void recipe_speedrun(train_opts *o) {
    o->epochs = 2;
    o->batch_size = 16;
    o->lr = 0.015f;
    o->momentum = 0.9f;
    o->nesterov = 1;
    o->sched.kind = LN_LR_COSINE;
    o->sched.end_lr = 0;
    o->sched.step_per_epoch = 1; /* cosine per step over the whole run */
    o->sched.decay_epoch = 0;
    o->decay_over_run = 1;
    o->eval_every = 0;   /* one evaluation, after the last step */
    o->print_every = 0;
    o->save_steps = 1L << 40; /* one checkpoint, at the end */
}

static const recipe RECIPES[] = {
    {"tutorial", "the MindSpore tutorial's settings (the defaults)", recipe_tutorial},
    {"speedrun", "2 epochs, batch 16, cosine 0.015 -> 0 per step, Nesterov 0.9, one evaluation at the end",
     recipe_speedrun},
};

static const recipe *find_recipe(const char *name) {
    for (size_t i = 0; i < sizeof RECIPES / sizeof RECIPES[0]; i++)
        if (!strcmp(RECIPES[i].name, name)) return &RECIPES[i];
    return NULL;
}

static int set_recipe(train_opts *o, const opt *d, const char *arg) {
    const recipe *r = find_recipe(arg);
    if (!r) {
        cli_error("unknown recipe: --%s '%s'; the recipes are tutorial and speedrun", d->flag, arg);
        return -1;
    }
    o->recipe = r->name;
    return 0;
}

/* ---- how the values that are not a single field are shown ---- */

static void put_decay_steps(const train_opts *o, int json, ln_buf *b) {
    if (o->decay_over_run) {
        if (json) ln_buf_json_str(b, "run");
        else ln_buf_printf(b, "run");
    } else if (o->sched.step_per_epoch == 1) ln_buf_printf(b, "%ld", o->sched.decay_epoch);
    else ln_buf_printf(b, json ? "null" : "none");
}


static void put_schedule(const train_opts *o, int json, ln_buf *b) {
    const char *name = json && o->lr_file ? "list" : ln_lr_kind_name(o->sched.kind);
    if (json) ln_buf_json_str(b, name);
    else ln_buf_printf(b, "%s", name);
}

static void put_milestones(const train_opts *o, int json, ln_buf *b) {
    if (json) ln_buf_printf(b, "[");
    else if (!o->sched.n_pieces) ln_buf_printf(b, "none");
    for (int k = 0; k < o->sched.n_pieces; k++) ln_buf_printf(b, "%s%ld", k ? json ? ", " : "," : "", o->sched.milestones[k]);
    if (json) ln_buf_printf(b, "]");
}

static void put_lr_values(const train_opts *o, int json, ln_buf *b) {
    if (json) ln_buf_printf(b, "[");
    else if (!o->sched.n_pieces) ln_buf_printf(b, "none");
    for (int k = 0; k < o->sched.n_pieces; k++) {
        char v[32];
        ln_fmt_float(v, sizeof v, (float)o->sched.values[k]);
        ln_buf_printf(b, "%s%s", k ? json ? ", " : "," : "", v);
    }
    if (json) ln_buf_printf(b, "]");
}

static void put_groups(const train_opts *o, int json, ln_buf *b) {
    if (json) ln_buf_printf(b, "[");
    else if (!o->n_groups) ln_buf_printf(b, "none");
    for (int g = 0; g < o->n_groups; g++) {
        ln_buf_printf(b, "%s", g ? json ? ", " : ";" : "");
        if (json) ln_buf_json_str(b, o->group_arg[g]);
        else ln_buf_printf(b, "%s", o->group_arg[g]);
    }
    if (json) ln_buf_printf(b, "]");
}

/* ---- the table ---- */

#define AT(f) offsetof(train_opts, f)
#define L31 2147483647.0 /* 2^31 - 1 */
#define L40 1099511627776.0 /* 2^40 */
static const opt OPTIONS[] = {
    {.flag = "recipe", .arg = "NAME", .type = T_STR, .at = AT(recipe), .def_str = "tutorial", .key = "recipe",
     .show = SHOW_CONFIG | SHOW_JSON, .set = set_recipe,
     .help = "a preset of the options below, each still overridable: tutorial\n"
             "(the MindSpore tutorial's settings) or speedrun (2 epochs, batch 16,\n"
             "cosine 0.015 -> 0 per step, Nesterov, one evaluation at the end)"},
    {.flag = "data", .arg = "DIR", .type = T_STR, .at = AT(data), .def_str = "datasets/MNIST_Data", .key = "data",
     .show = SHOW_CONFIG | SHOW_JSON, .help = "MNIST root (train/ and test/) or a flat folder"},
    {.flag = "epochs", .arg = "N", .type = T_LONG, .at = AT(epochs), .lo = 1, .hi = 100000, .def = 1, .key = "epochs",
     .show = SHOW_CONFIG | SHOW_JSON, .help = "train until the end of epoch N; with --resume, the run's total"},
    {.flag = "batch-size", .arg = "N", .type = T_INT, .at = AT(batch_size), .lo = 1, .hi = 4096, .def = 32,
     .key = "batch_size", .show = SHOW_CONFIG | SHOW_JSON, .help = "rows per step, last short batch dropped"},
    {.flag = "lr", .arg = "X", .type = T_FLOAT, .at = AT(lr), .lo = 0, .hi = 1e6, .def = 0.01, .key = "lr",
     .show = SHOW_CONFIG | SHOW_JSON, .help = "learning rate; the start / maximum of a schedule"},
    {.flag = "momentum", .arg = "X", .type = T_FLOAT, .at = AT(momentum), .lo = 0, .hi = 1e6, .def = 0.9,
     .key = "momentum", .show = SHOW_CONFIG | SHOW_JSON, .help = "momentum"},
    {.flag = "weight-decay", .arg = "X", .type = T_FLOAT, .at = AT(weight_decay), .lo = 0, .hi = 1e6,
     .key = "weight_decay", .show = SHOW_CONFIG | SHOW_JSON, .help = "L2 weight decay, g += wd*loss_scale*w"},
    {.flag = "loss-scale", .arg = "X", .type = T_FLOAT, .at = AT(loss_scale), .lo = 1e-30, .hi = 1e30, .def = 1,
     .key = "loss_scale", .show = SHOW_CONFIG | SHOW_JSON, .help = "static loss scale, undone by the optimizer"},
    {.flag = "nesterov", .type = T_BOOL, .at = AT(nesterov), .hi = 1, .key = "nesterov",
     .show = SHOW_CONFIG | SHOW_JSON, .help = "Nesterov momentum: w -= lr*(g + momentum*v)"},
    {.flag = "seed", .arg = "S", .type = T_U32, .at = AT(seed), .lo = 0, .hi = 4294967295.0, .def = 1, .key = "seed",
     .show = SHOW_CONFIG | SHOW_JSON, .help = "seed for weights and data order"},
    {.flag = "threads", .arg = "T", .type = T_INT, .at = AT(threads), .lo = 1, .hi = 256, .key = "threads",
     .show = SHOW_CONFIG | SHOW_JSON, .help = "worker threads", .def_note = "all CPUs"},
    {.flag = "conv-bias", .arg = "on|off", .type = T_BOOL, .at = AT(conv_bias), .def = -1, .key = "conv_bias",
     .show = SHOW_CONFIG | SHOW_JSON, .help = "conv layers with bias",
     .def_note = "on; with --init/--resume: as the file"},
    {.flag = "amp-level", .arg = "O0|O2", .type = T_CUSTOM, .at = AT(amp_level), .key = "amp_level",
     .show = SHOW_CONFIG | SHOW_JSON, .set = set_amp, .put = put_amp,
     .help = "mixed precision (MindSpore's amp_level): O0 float32; O2 convolutions and\n"
             "dense layers with bf16 operands, float32 accumulation, float32 weights", .def_note = "O0"},
    {.flag = "no-shuffle", .type = T_BOOL, .at = AT(shuffle), .hi = 0, .def = 1, .key = "shuffle",
     .show = SHOW_CONFIG | SHOW_JSON, .help = "keep the files' order"},

    {.flag = "ckpt-dir", .arg = "DIR", .type = T_STR, .at = AT(ckpt_dir), .def_str = "checkpoints", .key = "ckpt_dir",
     .show = SHOW_CONFIG | SHOW_JSON, .setting = "directory", .help = "checkpoint folder", .section = "run:"},
    {.flag = "prefix", .arg = "NAME", .type = T_STR, .at = AT(prefix), .def_str = "checkpoint_lenet", .key = "prefix",
     .show = SHOW_CONFIG | SHOW_JSON, .set = set_prefix, .help = "checkpoint file name prefix"},
    {.flag = "save-steps", .arg = "N", .type = T_LONG, .at = AT(save_steps), .lo = 1, .hi = L40, .def = 1875,
     .key = "save_steps", .show = SHOW_CONFIG | SHOW_JSON, .help = "save every N steps; 1875 is one epoch of 32-row batches"},
    {.flag = "keep-max", .arg = "N", .type = T_LONG, .at = AT(keep_max), .lo = 1, .hi = 100000, .def = 10,
     .key = "keep_max", .show = SHOW_CONFIG | SHOW_JSON, .help = "keep at most N checkpoints"},
    {.flag = "max-steps", .arg = "N", .type = T_LONG, .at = AT(max_steps), .lo = 0, .hi = L31, .key = "max_steps",
     .show = SHOW_CONFIG | SHOW_JSON, .help = "stop after N steps in all; 0: no limit"},
    {.flag = "print-every", .arg = "N", .type = T_LONG, .at = AT(print_every), .lo = 0, .hi = L40, .def = 125,
     .key = "print_every", .show = SHOW_CONFIG | SHOW_JSON, .help = "LossMonitor line every N steps; 0: never"},
    {.flag = "crc", .type = T_BOOL, .at = AT(crc), .hi = 1, .key = "crc", .show = SHOW_CONFIG | SHOW_JSON,
     .setting = "with_crc", .help = "append MindSpore 2.3's CRC trailer to checkpoints"},
    {.flag = "init", .arg = "CKPT", .type = T_STR, .at = AT(init), .key = "init", .show = SHOW_CONFIG | SHOW_JSON,
     .help = "start from a checkpoint's network weights (any MindSpore checkpoint)"},
    {.flag = "resume", .arg = "CKPT", .type = T_STR, .at = AT(resume), .key = "resume",
     .show = SHOW_CONFIG | SHOW_JSON, .help = "continue a run exactly where the checkpoint left it"},
    {.flag = "log", .arg = "FILE.jsonl", .type = T_STR, .at = AT(log), .key = "log", .show = SHOW_CONFIG,
     .help = "append JSON lines: a config line, one per step, one per epoch"},
    {.flag = "kernels", .arg = "NAME", .type = T_STR, .at = AT(kernels), .def_str = "auto", .key = "kernels",
     .show = SHOW_JSON, .help = "compute kernels: auto, avx512, avx2, generic, gemm[:ISA]"},
    {.flag = "progress", .arg = "auto|on|off", .type = T_CUSTOM, .at = AT(progress), .def = -1, .set = set_progress,
     .help = "progress bar", .def_note = "auto: when the output is a terminal"},
    {.flag = "holdout", .arg = "N", .type = T_LONG, .at = AT(holdout), .lo = 0, .hi = L31, .key = "holdout",
     .show = SHOW_CONFIG | SHOW_JSON,
     .help = "train on all but the last N training images and evaluate on those\n"
             "(a validation split, to tune without the test set); 0: off"},
    {.flag = "eval-every", .arg = "N", .type = T_LONG, .at = AT(eval_every), .lo = 0, .hi = 100000, .def = 1,
     .key = "eval_every", .show = SHOW_CONFIG | SHOW_JSON,
     .help = "evaluate after every N-th epoch and after the last; 0: only after the last"},
    {.flag = "profile", .type = T_BOOL, .at = AT(profile), .hi = 1,
     .help = "print time and GFLOP/s per layer, forward and backward, at the end"},
    {.flag = "report", .arg = "DIR", .type = T_STR, .at = AT(report),
     .help = "write the training report (curves, confusion matrix, mistakes) to DIR;\n"
             "the metrics log goes to DIR/metrics.jsonl unless --log is given"},
    {.flag = "json", .type = T_BOOL, .at = AT(json), .hi = 1, .help = "machine-readable lines on stdout"},
    {.flag = "help", .type = T_BOOL, .at = AT(help), .hi = 1, .help = "this text"},

    {.flag = "lr-file", .arg = "FILE", .type = T_STR, .at = AT(lr_file), .key = "lr_file", .show = SHOW_JSON,
     .help = "per-step rates, one number per line (must cover the run)",
     .section = "learning rate (MindSpore's nn.dynamic_lr; e = floor(step / steps-per-epoch)):"},
    {.flag = "lr-schedule", .arg = "NAME", .type = T_CUSTOM, .key = "lr_schedule", .show = SHOW_JSON,
     .set = set_schedule, .put = put_schedule,
     .help = "fixed | piecewise | exponential | natural-exp | inverse |\ncosine | polynomial | warmup"},
    {.key = "lr_steps", .type = T_LONG, .at = AT(lr_steps), .show = SHOW_LR | SHOW_JSON},
    {.flag = "lr-min", .arg = "X", .type = T_DOUBLE, .at = AT(sched.end_lr), .lo = 0, .hi = 1e6,
     .key = "lr_min_or_end", .show = SHOW_LR | SHOW_JSON, .setting = "min_lr", .help = "cosine: min_lr"},
    {.flag = "lr-end", .arg = "X", .type = T_DOUBLE, .at = AT(sched.end_lr), .lo = 0, .hi = 1e6,
     .setting = "end_learning_rate", .help = "polynomial: end_learning_rate"},
    {.flag = "decay-rate", .arg = "X", .type = T_DOUBLE, .at = AT(sched.decay_rate), .lo = 1e-30, .hi = 1e6,
     .key = "decay_rate", .show = SHOW_LR | SHOW_JSON, .help = "exponential, natural-exp, inverse: decay rate"},
    {.flag = "decay-epochs", .arg = "N", .type = T_LONG, .at = AT(sched.decay_epoch), .lo = 1, .hi = 1073741824.0,
     .key = "decay_epochs", .show = SHOW_LR | SHOW_JSON, .setting = "decay_epoch",
     .help = "decay_epoch (warmup: warmup_epoch)", .def_note = "--epochs for cosine, polynomial,\nwarmup; 1 for the others"},
    {.key = "steps_per_decay_epoch", .type = T_LONG, .at = AT(sched.step_per_epoch), .show = SHOW_LR | SHOW_JSON},
    {.flag = "decay-steps", .arg = "N|run", .type = T_CUSTOM, .lo = 1, .hi = 1073741824.0, .key = "decay_steps",
     .show = SHOW_JSON, .set = set_decay_steps, .put = put_decay_steps,
     .help = "the schedule in steps: steps-per-epoch 1, decay_epoch N;\nrun: N = the run's steps"},
    {.flag = "stair", .type = T_BOOL, .at = AT(sched.is_stair), .hi = 1, .key = "stair", .show = SHOW_LR | SHOW_JSON,
     .help = "exponential, natural-exp, inverse: decay in stairs (is_stair)"},
    {.flag = "power", .arg = "X", .type = T_DOUBLE, .at = AT(sched.power), .lo = 1e-30, .hi = 1e6, .key = "power",
     .show = SHOW_LR | SHOW_JSON, .help = "polynomial: power"},
    {.flag = "update-decay-epoch", .type = T_BOOL, .at = AT(sched.update_decay_epoch), .hi = 1,
     .key = "update_decay_epoch", .show = SHOW_LR | SHOW_JSON, .help = "polynomial: update_decay_epoch"},
    {.flag = "milestones", .arg = "LIST", .type = T_CUSTOM, .lo = 1, .hi = L40, .key = "milestones",
     .show = SHOW_LR | SHOW_JSON, .set = set_milestones, .put = put_milestones,
     .help = "piecewise: step milestones, e.g. 1000,2000,3000"},
    {.flag = "lr-values", .arg = "LIST", .type = T_CUSTOM, .lo = 0, .hi = 1e6, .key = "lr_values",
     .show = SHOW_LR | SHOW_JSON, .setting = "values", .set = set_lr_values, .put = put_lr_values,
     .help = "piecewise: the rate before each milestone, e.g. 0.1,0.05,0.01"},
    {.flag = "total-steps", .arg = "N", .type = T_LONG, .at = AT(sched.total_step), .lo = 1, .hi = L31,
     .setting = "total_step", .help = "schedule length; shorter than the run is an error",
     .def_note = "the run's steps"},

    {.flag = "group", .arg = "'PATTERNS[:KEY=V,...]'", .type = T_CUSTOM, .key = "groups",
     .show = SHOW_GROUPS | SHOW_JSON, .set = set_group, .put = put_groups,
     .help = "repeatable; PATTERNS are globs over parameter names\n"
             "separated by ',' or '|' (e.g. 'conv*', 'fc1.*|fc2.weight'); keys:\n"
             "lr (a number), weight_decay, grad_centralization (0/1). Parameters\n"
             "in no group keep the defaults. Example:\n"
             "--group 'conv*:lr=0.02,weight_decay=0,grad_centralization=1'",
     .section = "parameter groups (MindSpore's group dicts):"},
    {.flag = "order-params", .arg = "LIST", .type = T_STR, .at = AT(order_params), .key = "order_params",
     .show = SHOW_GROUPS | SHOW_JSON, .set = set_order,
     .help = "optimizer parameter order: 'net' or every name once, ',' separated"},
};
#define N_OPTIONS (int)(sizeof OPTIONS / sizeof OPTIONS[0])

/* ---- parsing ---- */

/* Which --lr-schedule kinds each schedule option applies to: one given
 * without a schedule it applies to is refused, not silently ignored. */
#define K(k) (1u << (k))
static const struct {
    const char *flag;
    unsigned kinds;
    const char *which;
} SCHED_OPTS[] = {
    {"milestones", K(LN_LR_PIECEWISE), "piecewise"},
    {"lr-values", K(LN_LR_PIECEWISE), "piecewise"},
    {"decay-rate", K(LN_LR_EXPONENTIAL) | K(LN_LR_NATURAL_EXP) | K(LN_LR_INVERSE), "exponential, natural-exp, inverse"},
    {"decay-epochs", ~(K(LN_LR_FIXED) | K(LN_LR_PIECEWISE)), "every schedule but piecewise"},
    {"decay-steps", ~(K(LN_LR_FIXED) | K(LN_LR_PIECEWISE)), "every schedule but piecewise"},
    {"stair", K(LN_LR_EXPONENTIAL) | K(LN_LR_NATURAL_EXP) | K(LN_LR_INVERSE), "exponential, natural-exp, inverse"},
    {"lr-min", K(LN_LR_COSINE), "cosine"},
    {"lr-end", K(LN_LR_POLYNOMIAL), "polynomial"},
    {"power", K(LN_LR_POLYNOMIAL), "polynomial"},
    {"update-decay-epoch", K(LN_LR_POLYNOMIAL), "polynomial"},
    {"total-steps", ~K(LN_LR_FIXED), "every schedule"},
};
#undef K

static int sched_opt_index(const char *flag) {
    for (size_t i = 0; flag && i < sizeof SCHED_OPTS / sizeof SCHED_OPTS[0]; i++)
        if (!strcmp(SCHED_OPTS[i].flag, flag)) return (int)i;
    return -1;
}

static int check_sched_opts(unsigned given, ln_lr_kind kind) {
    for (size_t i = 0; i < sizeof SCHED_OPTS / sizeof SCHED_OPTS[0]; i++) {
        if (!(given & (1u << i)) || (SCHED_OPTS[i].kinds & (1u << kind))) continue;
        if (kind == LN_LR_FIXED)
            cli_error("option without its schedule: --%s; give --lr-schedule NAME (it applies to %s)", SCHED_OPTS[i].flag,
                      SCHED_OPTS[i].which);
        else
            cli_error("option for another schedule: --%s with --lr-schedule %s; it applies only to %s",
                      SCHED_OPTS[i].flag, ln_lr_kind_name(kind), SCHED_OPTS[i].which);
        return 2;
    }
    return 0;
}

/* The defaults: the library's (the schedule), then the table's. */
static void set_defaults(train_opts *o) {
    memset(o, 0, sizeof *o);
    ln_lr_defaults(&o->sched);
    for (int i = 0; i < N_OPTIONS; i++) {
        const opt *d = &OPTIONS[i];
        void *v = field(o, d);
        if (d->def_str) *(const char **)v = d->def_str;
        if (d->def == 0) continue;
        switch (d->type) {
        case T_LONG: *(long *)v = (long)d->def; break;
        case T_INT: case T_BOOL: case T_CUSTOM: *(int *)v = (int)d->def; break;
        case T_U32: *(uint32_t *)v = (uint32_t)d->def; break;
        case T_FLOAT: *(float *)v = (float)d->def; break;
        case T_DOUBLE: *(double *)v = d->def; break;
        case T_STR: break;
        }
    }
}

/* Read option d's value (arg; NULL for a switch) into o. 0 or -1 (printed). */
static int set_one(train_opts *o, const opt *d, const char *arg) {
    if (d->set) return d->set(o, d, arg);
    char name[64];
    dashed(d, name, sizeof name);
    void *v = field(o, d);
    long n;
    float f;
    switch (d->type) {
    case T_STR: *(const char **)v = arg; return 0;
    case T_LONG: return cli_int(name, arg, (long)d->lo, (long)d->hi, (long *)v);
    case T_INT:
        if (cli_int(name, arg, (long)d->lo, (long)d->hi, &n)) return -1;
        *(int *)v = (int)n;
        return 0;
    case T_U32:
        if (cli_int(name, arg, (long)d->lo, (long)d->hi, &n)) return -1;
        *(uint32_t *)v = (uint32_t)n;
        return 0;
    case T_FLOAT: return cli_float(name, arg, d->lo, d->hi, (float *)v);
    case T_DOUBLE:
        if (cli_float(name, arg, d->lo, d->hi, &f)) return -1;
        *(double *)v = f;
        return 0;
    case T_BOOL:
        if (!d->arg) { *(int *)v = (int)d->hi; return 0; }
        return cli_onoff(name, arg, (int *)v);
    case T_CUSTOM: break;
    }
    return -1;
}

/* The --recipe given (the last one), or NULL; its errors wait for parsing. */
static const char *scan_recipe(int argc, char **argv) {
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (!strcmp(argv[i], "--recipe") && i + 1 < argc) name = argv[++i];
        else if (!strncmp(argv[i], "--recipe=", 9)) name = argv[i] + 9;
    }
    return name;
}

int train_parse(int argc, char **argv, train_opts *o) {
    set_defaults(o);
    const char *rname = scan_recipe(argc, argv);
    const recipe *r = rname ? find_recipe(rname) : NULL;
    if (r) {
        r->apply(o);
        o->recipe = r->name;
    }
    struct option lo[N_OPTIONS + 1];
    int n = 0;
    for (int i = 0; i < N_OPTIONS; i++)
        if (OPTIONS[i].flag)
            lo[n++] = (struct option){OPTIONS[i].flag, OPTIONS[i].arg ? required_argument : no_argument, NULL, 256 + i};
    lo[n] = (struct option){0, 0, 0, 0};
    int c;
    unsigned sched_given = 0;
    optind = 1;
    while ((c = cli_getopt(argc, argv, "", lo)) != -1) {
        if (c < 256 || c >= 256 + N_OPTIONS) return 2; /* cli_getopt printed why */
        const int si = sched_opt_index(OPTIONS[c - 256].flag);
        if (si >= 0) sched_given |= 1u << si;
        if (!strcmp(OPTIONS[c - 256].flag, "threads")) o->threads_given = 1;
        if (set_one(o, &OPTIONS[c - 256], optarg)) return 2;
        if (o->help) return 0;
    }
    if (!o->threads) o->threads = cli_ncpus();
    if (optind < argc) { cli_error("unexpected argument '%s'; see `lenet train --help`", argv[optind]); return 2; }
    if (o->init && o->resume) {
        cli_error("options exclude each other: --init and --resume; --init starts a new run from weights, --resume "
                  "continues one");
        return 2;
    }
    if (o->lr_file && o->sched.kind != LN_LR_FIXED) {
        cli_error("options exclude each other: --lr-file and --lr-schedule; give one");
        return 2;
    }
    if (check_sched_opts(sched_given, o->sched.kind)) return 2;
    if (o->sched.kind == LN_LR_PIECEWISE && o->sched.n_pieces != o->n_lr_values) {
        cli_error("counts differ (%d milestones, %d rates): --milestones and --lr-values; give as many rates as "
                  "milestones",
                  o->sched.n_pieces, o->n_lr_values);
        return 2;
    }
    return 0;
}

/* ---- showing ---- */

/* Option d's value as text (json 0) or JSON. */
static void put_value(const train_opts *o, const opt *d, int json, ln_buf *b) {
    if (d->put) { d->put(o, json, b); return; }
    const void *v = cfield(o, d);
    char num[32];
    switch (d->type) {
    case T_STR: {
        const char *s = *(const char *const *)v;
        if (json) { if (s) ln_buf_json_str(b, s); else ln_buf_printf(b, "null"); }
        else ln_buf_printf(b, "%s", s ? s : "none");
        break;
    }
    case T_LONG: ln_buf_printf(b, "%ld", *(const long *)v); break;
    case T_INT: ln_buf_printf(b, "%d", *(const int *)v); break;
    case T_U32: ln_buf_printf(b, "%u", *(const uint32_t *)v); break;
    case T_FLOAT: case T_DOUBLE: {
        const float f = d->type == T_FLOAT ? *(const float *)v : (float)*(const double *)v;
        if (json) ln_fmt_float(num, sizeof num, f);
        else snprintf(num, sizeof num, "%g", d->type == T_FLOAT ? (double)f : *(const double *)v);
        ln_buf_printf(b, "%s", num);
        break;
    }
    case T_BOOL: ln_buf_printf(b, "%s", *(const int *)v ? json ? "true" : "on" : json ? "false" : "off"); break;
    case T_CUSTOM: break;
    }
}

/* " key=value" for every option shown on `line`; the schedule and group
 * lines leave out what is not given ("none"). */
static void put_line(const train_opts *o, int line, ln_buf *b) {
    for (int i = 0; i < N_OPTIONS; i++)
        if (OPTIONS[i].show & line) {
            const size_t start = b->len;
            ln_buf_printf(b, " %s=", OPTIONS[i].key);
            const size_t value = b->len;
            put_value(o, &OPTIONS[i], 0, b);
            if (line != SHOW_CONFIG && ln_buf_ok(b) && b->len - value == 4 && !memcmp(b->p + value, "none", 4))
                b->len = start;
        }
}

static void write_buf(ln_buf *b, FILE *f) {
    if (ln_buf_ok(b)) fwrite(b->p, 1, b->len, f);
    ln_buf_free(b);
    ln_buf_init(b);
}

void train_echo_config(const train_opts *o, FILE *f) {
    ln_buf b;
    ln_buf_init(&b);
    ln_buf_printf(&b, "config:");
    put_line(o, SHOW_CONFIG, &b);
    ln_buf_printf(&b, "\n");
    if (o->lr_file) ln_buf_printf(&b, "learning rate: %ld per-step values from %s\n", o->lr_steps, o->lr_file);
    else if (o->sched.kind != LN_LR_FIXED) {
        ln_buf_printf(&b, "learning rate: %s", ln_lr_kind_name(o->sched.kind));
        put_line(o, SHOW_LR, &b);
        ln_buf_printf(&b, "\n");
    }
    if (o->n_groups || o->order_params) {
        ln_buf_printf(&b, "parameter groups:");
        put_line(o, SHOW_GROUPS, &b);
        ln_buf_printf(&b, "\n");
    }
    write_buf(&b, f);
    fflush(f);
}

ln_status train_log_config(const train_opts *o, FILE *f, const char *what, ln_error *err) {
    ln_log_field fields[N_OPTIONS];
    size_t at[N_OPTIONS];
    int n = 0;
    ln_buf b;
    ln_buf_init(&b);
    for (int i = 0; i < N_OPTIONS; i++)
        if (OPTIONS[i].show & SHOW_JSON) {
            at[n] = b.len;
            fields[n].key = OPTIONS[i].key;
            put_value(o, &OPTIONS[i], 1, &b);
            ln_buf_append(&b, "", 1);
            n++;
        }
    ln_status s;
    if (!ln_buf_ok(&b)) s = ln_fail(err, LN_E_NOMEM, "out of memory");
    else {
        for (int i = 0; i < n; i++) fields[i].value = (const char *)b.p + at[i];
        s = ln_trainlog_write_config(f, what, fields, n, err);
    }
    ln_buf_free(&b);
    return s;
}

void train_usage(FILE *f) {
    train_opts def;
    set_defaults(&def);
    ln_buf b;
    ln_buf_init(&b);
    ln_buf_printf(&b, "usage: lenet train [options]\n");
    for (int i = 0; i < N_OPTIONS; i++) {
        const opt *d = &OPTIONS[i];
        if (!d->flag) continue;
        if (d->section) ln_buf_printf(&b, "%s\n", d->section);
        char head[64];
        snprintf(head, sizeof head, "--%s%s%s", d->flag, d->arg ? " " : "", d->arg ? d->arg : "");
        /* The default, in words or as the value; none for a switch, an
         * unset string or an empty list. */
        ln_buf dv;
        ln_buf_init(&dv);
        if (d->def_note) ln_buf_printf(&dv, "%s", d->def_note);
        else if (d->arg && (d->type != T_CUSTOM || d->put)) put_value(&def, d, 0, &dv);
        ln_buf_append(&dv, "", 1);
        const char *dtext = ln_buf_ok(&dv) ? (const char *)dv.p : "";
        if (!strcmp(dtext, "none")) dtext = "";
        ln_buf_printf(&b, "  %-19s ", head);
        for (const char *h = d->help; *h; h++) {
            ln_buf_append(&b, h, 1);
            if (*h == '\n') ln_buf_printf(&b, "%22s", "");
        }
        if (*dtext) {
            ln_buf_printf(&b, " (default ");
            for (const char *h = dtext; *h; h++) {
                ln_buf_append(&b, h, 1);
                if (*h == '\n') ln_buf_printf(&b, "%22s", "");
            }
            ln_buf_printf(&b, ")");
        }
        ln_buf_printf(&b, "\n");
        ln_buf_free(&dv);
    }
    write_buf(&b, f);
}

/* ---- settings -> flags ---- */

int train_setting_flag(const char *setting, const char *value, char *out, size_t size) {
    for (int i = 0; i < N_OPTIONS; i++) {
        const opt *d = &OPTIONS[i];
        const char *name = d->setting ? d->setting : d->key;
        if (!d->flag || !name || strcmp(name, setting)) continue;
        if (!value) snprintf(out, size, "--%s", d->flag);
        else if (d->arg) snprintf(out, size, "--%s %s", d->flag, value);
        else { /* a switch: given with the value it stores, or without it */
            const int on = !strcmp(value, "on") || !strcmp(value, "1") || !strcmp(value, "true");
            snprintf(out, size, "%s--%s", on == (d->hi != 0) ? "" : "no ", d->flag);
        }
        return 0;
    }
    return -1;
}
