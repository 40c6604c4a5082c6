/* train_opts.c - parsing and echoing `lenet train`'s options (see
 * train_opts.h). */
#include "train_opts.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* 'conv*:lr=0.02,weight_decay=0,grad_centralization=1' -> a group spec. */
static int parse_group(const char *arg, int gi, train_opts *o) {
    ln_group_spec *g = &o->groups[gi];
    memset(g, 0, sizeof *g);
    o->group_arg[gi] = arg;
    const char *colon = strchr(arg, ':');
    size_t plen = colon ? (size_t)(colon - arg) : strlen(arg);
    if (plen == 0 || plen >= sizeof o->group_text[gi]) {
        cli_error("--group '%s': start with parameter name patterns, e.g. 'conv*:lr=0.02'", arg);
        return -1;
    }
    memcpy(o->group_text[gi], arg, plen);
    o->group_text[gi][plen] = 0;
    g->patterns = o->group_text[gi];
    if (!colon) return 0;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", colon + 1);
    for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq) {
            cli_error("--group '%s': '%s' is not KEY=VALUE (keys: lr, weight_decay, grad_centralization)", arg, kv);
            return -1;
        }
        *eq = 0;
        const char *v = eq + 1;
        char what[600];
        snprintf(what, sizeof what, "--group '%s' %s", arg, kv);
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
                cli_error("%s: '%s' must be 1 or 0", what, v);
                return -1;
            }
        } else {
            cli_error("--group '%s': unknown key '%s' (keys: lr, weight_decay, grad_centralization)", arg, kv);
            return -1;
        }
    }
    return 0;
}

static int parse_list(const char *opt, const char *s, int want_int, train_opts *o) {
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", s);
    int n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (n == LN_LR_MAX_PIECES) {
            cli_error("%s: at most %d values", opt, LN_LR_MAX_PIECES);
            return -1;
        }
        if (want_int) {
            if (cli_int(opt, t, 1, 1L << 40, &o->sched.milestones[n])) return -1;
        } else {
            float v;
            if (cli_float(opt, t, 0, 1e6, &v)) return -1;
            o->sched.values[n] = v;
        }
        n++;
    }
    if (n == 0) {
        cli_error("%s: give a comma-separated list", opt);
        return -1;
    }
    return n;
}

int train_parse(int argc, char **argv, train_opts *o) {
    memset(o, 0, sizeof *o);
    o->data = "datasets/MNIST_Data", o->ckpt_dir = "checkpoints", o->prefix = "checkpoint_lenet";
    o->epochs = 1, o->save_steps = 1875, o->keep_max = 10, o->print_every = 125, o->shuffle = 1;
    o->progress = -1, o->conv_bias = -1, o->batch_size = 32, o->threads = cli_ncpus(), o->seed = 1;
    o->lr = 0.01f, o->momentum = 0.9f, o->loss_scale = 1.f;
    o->sched.decay_rate = 0.9, o->sched.power = 1.0;
    enum { O_DATA = 256, O_EPOCHS, O_BS, O_LR, O_MOM, O_WD, O_LS, O_NEST, O_SEED, O_THREADS, O_CB, O_CKDIR,
           O_PREFIX, O_SAVE, O_KEEP, O_MAXS, O_PRINT, O_NOSHUF, O_INIT, O_RESUME, O_KERN, O_JSON, O_LOG, O_HELP,
           O_LRFILE, O_SCHED, O_MILE, O_LRVALS, O_DRATE, O_DEPOCHS, O_DSTEPS, O_STAIR, O_LRMIN, O_LREND, O_POWER,
           O_UPDATE, O_TOTAL, O_GROUP, O_ORDER, O_CRC, O_PROGRESS, O_PROFILE, O_REPORT };
    static const struct option opts[] = {
        {"data", 1, 0, O_DATA}, {"epochs", 1, 0, O_EPOCHS}, {"batch-size", 1, 0, O_BS}, {"lr", 1, 0, O_LR},
        {"momentum", 1, 0, O_MOM}, {"weight-decay", 1, 0, O_WD}, {"loss-scale", 1, 0, O_LS},
        {"nesterov", 0, 0, O_NEST}, {"seed", 1, 0, O_SEED}, {"threads", 1, 0, O_THREADS},
        {"conv-bias", 1, 0, O_CB}, {"ckpt-dir", 1, 0, O_CKDIR}, {"prefix", 1, 0, O_PREFIX},
        {"save-steps", 1, 0, O_SAVE}, {"keep-max", 1, 0, O_KEEP}, {"max-steps", 1, 0, O_MAXS},
        {"print-every", 1, 0, O_PRINT}, {"no-shuffle", 0, 0, O_NOSHUF}, {"init", 1, 0, O_INIT},
        {"resume", 1, 0, O_RESUME}, {"kernels", 1, 0, O_KERN}, {"json", 0, 0, O_JSON}, {"log", 1, 0, O_LOG},
        {"help", 0, 0, O_HELP}, {"lr-file", 1, 0, O_LRFILE}, {"lr-schedule", 1, 0, O_SCHED},
        {"milestones", 1, 0, O_MILE}, {"lr-values", 1, 0, O_LRVALS}, {"decay-rate", 1, 0, O_DRATE},
        {"decay-epochs", 1, 0, O_DEPOCHS}, {"decay-steps", 1, 0, O_DSTEPS}, {"stair", 0, 0, O_STAIR},
        {"lr-min", 1, 0, O_LRMIN}, {"lr-end", 1, 0, O_LREND}, {"power", 1, 0, O_POWER},
        {"update-decay-epoch", 0, 0, O_UPDATE}, {"total-steps", 1, 0, O_TOTAL}, {"group", 1, 0, O_GROUP},
        {"order-params", 1, 0, O_ORDER}, {"crc", 0, 0, O_CRC}, {"progress", 1, 0, O_PROGRESS},
        {"profile", 0, 0, O_PROFILE}, {"report", 1, 0, O_REPORT}, {0, 0, 0, 0}};
    int c, n_mile = 0, n_vals = 0, decay_steps = 0;
    long v;
    float f;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_DATA: o->data = optarg; break;
        case O_EPOCHS: if (cli_int("--epochs", optarg, 1, 100000, &o->epochs)) return 2; break;
        case O_BS: if (cli_int("--batch-size", optarg, 1, 4096, &v)) return 2; o->batch_size = (int)v; break;
        case O_LR: if (cli_float("--lr", optarg, 0, 1e6, &o->lr)) return 2; break;
        case O_MOM: if (cli_float("--momentum", optarg, 0, 1e6, &o->momentum)) return 2; break;
        case O_WD: if (cli_float("--weight-decay", optarg, 0, 1e6, &o->weight_decay)) return 2; break;
        case O_LS: if (cli_float("--loss-scale", optarg, 1e-30, 1e30, &o->loss_scale)) return 2; break;
        case O_NEST: o->nesterov = 1; break;
        case O_SEED: if (cli_int("--seed", optarg, 0, 4294967295L, &v)) return 2; o->seed = (uint32_t)v; break;
        case O_THREADS: if (cli_int("--threads", optarg, 1, 256, &v)) return 2; o->threads = (int)v; break;
        case O_CB: if (cli_onoff("--conv-bias", optarg, &o->conv_bias)) return 2; break;
        case O_CKDIR: o->ckpt_dir = optarg; break;
        case O_PREFIX:
            if (!*optarg || strchr(optarg, '/')) {
                cli_error("--prefix: '%s' must be a non-empty name without '/'", optarg);
                return 2;
            }
            o->prefix = optarg;
            break;
        case O_SAVE: if (cli_int("--save-steps", optarg, 1, 1L << 40, &o->save_steps)) return 2; break;
        case O_KEEP: if (cli_int("--keep-max", optarg, 1, 100000, &o->keep_max)) return 2; break;
        case O_MAXS: if (cli_int("--max-steps", optarg, 0, (1L << 31) - 1, &o->max_steps)) return 2; break;
        case O_PRINT: if (cli_int("--print-every", optarg, 0, 1L << 40, &o->print_every)) return 2; break;
        case O_NOSHUF: o->shuffle = 0; break;
        case O_INIT: o->init = optarg; break;
        case O_RESUME: o->resume = optarg; break;
        case O_LOG: o->log = optarg; break;
        case O_KERN: o->kernels = optarg; break;
        case O_JSON: o->json = 1; break;
        case O_CRC: o->crc = 1; break;
        case O_PROFILE: o->profile = 1; break;
        case O_REPORT: o->report = optarg; break;
        case O_PROGRESS:
            if (!strcmp(optarg, "auto")) o->progress = -1;
            else if (cli_onoff("--progress", optarg, &o->progress)) return 2;
            break;
        case O_HELP: o->help = 1; return 0;
        case O_LRFILE: o->lr_file = optarg; break;
        case O_SCHED: {
            int k = ln_lr_kind_from_name(optarg);
            if (k < 0) {
                cli_error("--lr-schedule: '%s' is not one of fixed, piecewise, exponential, natural-exp, inverse, "
                          "cosine, polynomial, warmup", optarg);
                return 2;
            }
            o->sched.kind = (ln_lr_kind)k;
            break;
        }
        case O_MILE: if ((n_mile = parse_list("--milestones", optarg, 1, o)) < 0) return 2; break;
        case O_LRVALS: if ((n_vals = parse_list("--lr-values", optarg, 0, o)) < 0) return 2; break;
        case O_DRATE: if (cli_float("--decay-rate", optarg, 1e-30, 1e6, &f)) return 2; o->sched.decay_rate = f; break;
        case O_DEPOCHS: if (cli_int("--decay-epochs", optarg, 1, 1L << 30, &o->sched.decay_epoch)) return 2; break;
        case O_DSTEPS:
            if (cli_int("--decay-steps", optarg, 1, 1L << 30, &o->sched.decay_epoch)) return 2;
            decay_steps = 1;
            break;
        case O_STAIR: o->sched.is_stair = 1; break;
        case O_LRMIN: if (cli_float("--lr-min", optarg, 0, 1e6, &f)) return 2; o->sched.end_lr = f; break;
        case O_LREND: if (cli_float("--lr-end", optarg, 0, 1e6, &f)) return 2; o->sched.end_lr = f; break;
        case O_POWER: if (cli_float("--power", optarg, 1e-30, 1e6, &f)) return 2; o->sched.power = f; break;
        case O_UPDATE: o->sched.update_decay_epoch = 1; break;
        case O_TOTAL: if (cli_int("--total-steps", optarg, 1, (1L << 31) - 1, &o->sched.total_step)) return 2; break;
        case O_GROUP:
            if (o->n_groups == LN_MAX_GROUPS - 1) {
                cli_error("--group: at most %d groups", LN_MAX_GROUPS - 1);
                return 2;
            }
            if (parse_group(optarg, o->n_groups, o)) return 2;
            o->n_groups++;
            break;
        case O_ORDER:
            o->order_params = optarg;
            if (strcmp(optarg, "net")) {
                snprintf(o->order_buf, sizeof o->order_buf, "%s", optarg);
                o->n_order = 0;
                for (char *save = NULL, *t = strtok_r(o->order_buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                    if (o->n_order == LN_MAX_TENSORS) {
                        cli_error("--order-params: more than %d names", LN_MAX_TENSORS);
                        return 2;
                    }
                    o->order_names[o->n_order++] = t;
                }
            }
            break;
        default: return 2;
        }
    }
    if (optind < argc) { cli_error("train: unexpected argument '%s'", argv[optind]); return 2; }
    if (o->init && o->resume) {
        cli_error("--init and --resume exclude each other: --init starts a new run from weights, --resume continues one");
        return 2;
    }
    if (o->lr_file && o->sched.kind != LN_LR_FIXED) {
        cli_error("--lr-file and --lr-schedule exclude each other; give one");
        return 2;
    }
    if (o->sched.kind == LN_LR_PIECEWISE && n_mile != n_vals) {
        cli_error("--milestones and --lr-values: give as many rates as milestones (%d vs %d)", n_mile, n_vals);
        return 2;
    }
    o->sched.n_pieces = n_mile;
    if (decay_steps) o->sched.step_per_epoch = 1;
    return 0;
}

static void group_desc(const train_opts *o, char *buf, size_t sz) {
    size_t n = 0;
    buf[0] = 0;
    for (int g = 0; g < o->n_groups && n < sz; g++)
        n += (size_t)snprintf(buf + n, sz - n, "%s%s", g ? ";" : "", o->group_arg[g]);
    if (!o->n_groups) snprintf(buf, sz, "none");
}

void train_echo_config(const train_opts *o, FILE *f, long lr_len) {
    char groups[1024];
    group_desc(o, groups, sizeof groups);
    fprintf(f,
            "config: data=%s epochs=%ld batch_size=%d lr=%g momentum=%g weight_decay=%g loss_scale=%g "
            "nesterov=%s seed=%u threads=%d conv_bias=%s shuffle=%s ckpt_dir=%s prefix=%s save_steps=%ld "
            "keep_max=%ld max_steps=%ld print_every=%ld init=%s resume=%s log=%s crc=%s\n",
            o->data, o->epochs, o->batch_size, o->lr, o->momentum, o->weight_decay, o->loss_scale,
            o->nesterov ? "on" : "off", o->seed, o->threads, o->conv_bias ? "on" : "off", o->shuffle ? "on" : "off",
            o->ckpt_dir, o->prefix, o->save_steps, o->keep_max, o->max_steps, o->print_every,
            o->init ? o->init : "none", o->resume ? o->resume : "none", o->log ? o->log : "none",
            o->crc ? "on" : "off");
    const ln_lr_schedule *s = &o->sched;
    if (o->lr_file) fprintf(f, "learning rate: %ld per-step values from %s\n", lr_len, o->lr_file);
    else if (s->kind == LN_LR_PIECEWISE) fprintf(f, "learning rate: piecewise, %d pieces, %ld steps\n", s->n_pieces, lr_len);
    else if (s->kind != LN_LR_FIXED)
        fprintf(f, "learning rate: %s lr=%g lr_min/end=%g decay_rate=%g decay_epoch=%ld step_per_epoch=%ld "
                "stair=%s power=%g update_decay_epoch=%s total_steps=%ld\n", ln_lr_kind_name(s->kind), o->lr,
                s->end_lr, s->decay_rate, s->decay_epoch, s->step_per_epoch, s->is_stair ? "on" : "off", s->power,
                s->update_decay_epoch ? "on" : "off", lr_len);
    if (o->n_groups || o->order_params)
        fprintf(f, "parameter groups: %s; order_params: %s\n", groups, o->order_params ? o->order_params : "none");
    fflush(f);
}

void train_json_str(FILE *f, const char *s) {
    if (!s) { fputs("null", f); return; }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20) fprintf(f, "\\u%04x", (unsigned char)*s);
        else fputc(*s, f);
    }
    fputc('"', f);
}

void train_log_config(const train_opts *o, FILE *f, long lr_len) {
    const ln_lr_schedule *s = &o->sched;
    fputs("{\"event\": \"config\", \"data\": ", f);
    train_json_str(f, o->data);
    char lr[32], mom[32], wd[32], ls[32];
    cli_fmt_float(lr, sizeof lr, o->lr), cli_fmt_float(mom, sizeof mom, o->momentum);
    cli_fmt_float(wd, sizeof wd, o->weight_decay), cli_fmt_float(ls, sizeof ls, o->loss_scale);
    fprintf(f, ", \"epochs\": %ld, \"batch_size\": %d, \"lr\": %s, \"momentum\": %s, \"weight_decay\": %s, "
            "\"loss_scale\": %s, \"nesterov\": %s, \"seed\": %u, \"threads\": %d, \"conv_bias\": %s, "
            "\"shuffle\": %s, \"ckpt_dir\": ", o->epochs, o->batch_size, lr, mom, wd, ls,
            o->nesterov ? "true" : "false", o->seed, o->threads, o->conv_bias ? "true" : "false",
            o->shuffle ? "true" : "false");
    train_json_str(f, o->ckpt_dir);
    fputs(", \"prefix\": ", f);
    train_json_str(f, o->prefix);
    fprintf(f, ", \"save_steps\": %ld, \"keep_max\": %ld, \"max_steps\": %ld, \"print_every\": %ld, \"crc\": %s, "
            "\"init\": ", o->save_steps, o->keep_max, o->max_steps, o->print_every, o->crc ? "true" : "false");
    train_json_str(f, o->init);
    fputs(", \"resume\": ", f);
    train_json_str(f, o->resume);
    fputs(", \"kernels\": ", f);
    train_json_str(f, o->kernels ? o->kernels : "auto");
    fputs(", \"lr_file\": ", f);
    train_json_str(f, o->lr_file);
    fputs(", \"lr_schedule\": ", f);
    train_json_str(f, o->lr_file ? "list" : ln_lr_kind_name(s->kind));
    char em[32], dr[32], pw[32];
    cli_fmt_float(em, sizeof em, (float)s->end_lr), cli_fmt_float(dr, sizeof dr, (float)s->decay_rate);
    cli_fmt_float(pw, sizeof pw, (float)s->power);
    fprintf(f, ", \"lr_steps\": %ld, \"lr_min_or_end\": %s, \"decay_rate\": %s, \"decay_epochs\": %ld, "
            "\"steps_per_decay_epoch\": %ld, \"stair\": %s, \"power\": %s, \"update_decay_epoch\": %s, "
            "\"milestones\": [", lr_len, em, dr, s->decay_epoch, s->step_per_epoch, s->is_stair ? "true" : "false", pw,
            s->update_decay_epoch ? "true" : "false");
    for (int k = 0; k < s->n_pieces; k++) fprintf(f, "%s%ld", k ? ", " : "", s->milestones[k]);
    fputs("], \"lr_values\": [", f);
    for (int k = 0; k < s->n_pieces; k++) {
        char v[32];
        cli_fmt_float(v, sizeof v, (float)s->values[k]);
        fprintf(f, "%s%s", k ? ", " : "", v);
    }
    fputs("], \"groups\": [", f);
    for (int g = 0; g < o->n_groups; g++) {
        if (g) fputs(", ", f);
        train_json_str(f, o->group_arg[g]);
    }
    fputs("], \"order_params\": ", f);
    train_json_str(f, o->order_params);
    fputs("}\n", f);
    fflush(f);
}
