/* monitor.c - LossMonitor, TimeMonitor, progress bar, epoch report and
 * JSON-lines log for `lenet train` (see monitor.h). */
#include "monitor.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "lenet/bytebuf.h"
#include "lenet/trainlog.h"

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void clear_bar(cli_monitor *mon) {
    if (mon->bar_drawn) {
        fputs("\r\033[K", mon->human);
        mon->bar_drawn = 0;
    }
}

static void draw_bar(cli_monitor *mon, const ln_step_info *s) {
    const double t = now_seconds();
    if (mon->bar_drawn && t - mon->t_last_draw < 0.1 && s->step_in_epoch != s->steps_per_epoch) return;
    mon->t_last_draw = t;
    const double el = t - mon->t_start;
    const double ips = el > 0 ? mon->images / el : 0.0;
    const double eta = mon->steps_done > 0 ? el / mon->steps_done * (mon->steps_total - mon->steps_done) : 0.0;
    const int width = 24;
    int fill = (int)((double)s->step_in_epoch / s->steps_per_epoch * width);
    char bar[32];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    char lb[32];
    ln_fmt_float(lb, sizeof lb, s->loss);
    fprintf(mon->human, "\r\033[Kepoch %d [%s] %d/%d loss %s %.0f img/s ETA %d:%02d", s->epoch, bar,
            s->step_in_epoch, s->steps_per_epoch, lb, ips, (int)(eta / 60), (int)fmod(eta, 60));
    fflush(mon->human);
    mon->bar_drawn = 1;
}

/* The waiting note, if any (progress bar cleared first). */
static void flush_note(cli_monitor *mon) {
    if (!mon->note[0]) return;
    clear_bar(mon);
    fprintf(mon->human, "%s\n", mon->note);
    fflush(mon->human);
    mon->note[0] = 0;
}

static ln_status on_begin(void *user, ln_model *m, const ln_run_info *r, ln_error *err) {
    (void)err;
    cli_monitor *mon = user;
    mon->t_start = now_seconds();
    long total = r->epochs >= r->start_epoch ? (long)(r->epochs - r->start_epoch + 1) * r->steps_per_epoch - r->start_step : 0;
    if (r->max_steps > 0 && r->max_steps - r->start_global_step < total) total = r->max_steps - r->start_global_step;
    mon->steps_total = total > 0 ? total : 0;
    mon->last_epoch = r->epochs;
    mon->max_steps = r->max_steps;
    if (mon->interrupt && *mon->interrupt) m->stop = 1;
    return LN_OK;
}

static ln_status on_step(void *user, ln_model *m, const ln_step_info *s, ln_error *err) {
    cli_monitor *mon = user;
    if (mon->interrupt && *mon->interrupt) m->stop = 1;
    mon->steps_done++;
    mon->images += s->rows;
    if (mon->print_every > 0 && s->global_step % mon->print_every == 0) {
        char lb[32]; /* only when printed: up to 9 snprintf + strtof, ~3 us */
        ln_fmt_float(lb, sizeof lb, s->loss);
        clear_bar(mon);
        fprintf(mon->human, "epoch: %d step: %d, loss is %s\n", s->epoch, s->step_in_epoch, lb);
        fflush(mon->human);
    }
    flush_note(mon);
    if (mon->progress) draw_bar(mon, s);
    ln_log_step ls = {s->global_step, s->epoch, s->step_in_epoch, s->loss, s->lr};
    return mon->log ? ln_trainlog_write_step(mon->log, mon->log_name, &ls, err) : LN_OK;
}

static ln_status on_epoch(void *user, ln_model *m, const ln_epoch_info *e, ln_error *err) {
    cli_monitor *mon = user;
    clear_bar(mon);
    if (mon->interrupt && *mon->interrupt && !e->complete) return LN_OK;
    /* TimeMonitor (MindSpore >= 1.8). */
    fprintf(mon->human, "Train epoch time: %.3f ms, per step time: %.3f ms\n", e->seconds * 1e3,
            e->steps ? e->seconds * 1e3 / e->steps : 0.0);
    ln_metrics met;
    double acc = NAN, tloss = NAN;
    const int last = e->epoch >= mon->last_epoch || (mon->max_steps > 0 && m->global_step >= mon->max_steps) || m->stop;
    const int evaluate = mon->test && (last || (mon->eval_every > 0 && e->epoch % mon->eval_every == 0));
    if (evaluate) {
        ln_model_eval(m, mon->test, 0, &met);
        acc = ln_metrics_accuracy(&met), tloss = ln_metrics_loss(&met);
    }
    char lr1[32], lr2[32], rates[160];
    ln_fmt_float(lr1, sizeof lr1, e->lr_first);
    ln_fmt_float(lr2, sizeof lr2, e->lr_last);
    if (e->lr_first == e->lr_last) snprintf(rates, sizeof rates, "lr %s", lr1);
    else snprintf(rates, sizeof rates, "lr %s -> %s", lr1, lr2);
    if (m->opt.group_lr) { /* the groups' own rates too */
        size_t o = strlen(rates);
        o += (size_t)snprintf(rates + o, sizeof rates - o, " (groups:");
        const long i = m->global_step - 1 < m->opt.lr_len ? m->global_step - 1 : m->opt.lr_len - 1;
        for (int g = 0; g < m->opt.n_groups && o < sizeof rates; g++) {
            char gb[32];
            ln_fmt_float(gb, sizeof gb, m->opt.lr_table[(size_t)g * (size_t)m->opt.lr_len + (size_t)(m->opt.dynamic ? i : 0)]);
            o += (size_t)snprintf(rates + o, sizeof rates - o, " %s", gb);
        }
        if (o < sizeof rates) snprintf(rates + o, sizeof rates - o, ")");
    }
    const char *set = mon->eval_name ? mon->eval_name : "test";
    if (evaluate)
        fprintf(mon->human, "epoch %d: %d steps, mean loss %.4f, %s accuracy %.2f%% (%ld/%ld), %s loss %.4f, "
                "%.2f s, %.0f images/s, %s\n", e->epoch, e->steps, e->mean_loss, set, 100.0 * acc, met.correct,
                met.total, set, tloss, e->seconds, e->images_per_second, rates);
    else
        fprintf(mon->human, "epoch %d: %d steps, mean loss %.4f, %.2f s, %.0f images/s, %s\n", e->epoch, e->steps,
                e->mean_loss, e->seconds, e->images_per_second, rates);
    fflush(mon->human);
    ln_log_epoch le = {.epoch = e->epoch, .steps = e->steps, .loss = e->mean_loss, .test_accuracy = acc,
                       .test_loss = tloss, .seconds = e->seconds, .images_per_second = e->images_per_second,
                       .lr = e->lr_last};
    /* stdout's failures are left to `lenet`'s end (training goes on): see monitor.h */
    if (mon->json) (void)ln_trainlog_write_epoch(mon->json, "standard output", &le, NULL);
    ln_status s = LN_OK;
    if (mon->log) s = ln_trainlog_write_epoch(mon->log, mon->log_name, &le, err);
    if (!s && evaluate && !isfinite(tloss))
        s = ln_fail(err, LN_E_SYSTEM, "training diverged at step %ld: the test loss is %s after epoch %d; lower "
                    "`lr` (the last checkpoint saved before it is kept)", m->global_step,
                    isnan(tloss) ? "NaN" : "infinite", e->epoch);
    return s;
}

static ln_status on_end(void *user, ln_model *m, const ln_run_info *r, ln_error *err) {
    (void)m, (void)r, (void)err;
    clear_bar(user);
    flush_note(user); /* ModelCheckpoint's final save (its end runs first) */
    return LN_OK;
}

void cli_monitor_note(cli_monitor *mon, const char *line) {
    flush_note(mon); /* one waits at a time */
    snprintf(mon->note, sizeof mon->note, "%s", line);
}

ln_callback cli_monitor_callback(cli_monitor *mon) {
    return (ln_callback){.user = mon, .begin = on_begin, .step_end = on_step, .epoch_end = on_epoch, .end = on_end};
}
