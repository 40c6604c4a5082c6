/* test_report.c - the training report's parts: the metrics-log writers
 * (read back as written) and reader (fields, nulls, nested values, several
 * runs, resumed runs, errors naming file:line), tick steps, the line chart and the confusion matrix pictures
 * (sizes, colours where they must be), and ln_report_write end to end on a
 * hand-written log and a checkpoint (needs MNIST; skipped without it). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "lenet/model.h"
#include "lenet/plot.h"
#include "lenet/report.h"
#include "lenet/trainlog.h"

static char g_tmp[256];

static const char *write_tmp(const char *name, const char *text) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", g_tmp, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_log(test_ctx *t) {
    ln_error err;
    ln_trainlog log;
    const char *p = write_tmp("a.jsonl",
        "{\"event\": \"config\", \"batch_size\": 32, \"lr\": 0.01, \"milestones\": [1, {\"a\": \"]\"}], \"init\": null,"
        " \"data\": \"dir \\\"q\\\" \\u0041\"}\n"
        "\n"
        "{\"event\": \"step\", \"epoch\": 1, \"step\": 1, \"global_step\": 1, \"loss\": 2.30, \"lr\": 0.01}\n"
        "{\"event\": \"step\", \"epoch\": 1, \"step\": 2, \"global_step\": 2, \"loss\": null, \"lr\": 0.01}\n"
        "{\"event\": \"step\", \"epoch\": 1, \"step\": 3, \"global_step\": 3, \"loss\": 1.5e0, \"lr\": 0.005}\n"
        "{\"event\": \"epoch\", \"epoch\": 1, \"steps\": 3, \"loss\": 1.9, \"test_accuracy\": 0.5, \"test_loss\": 1.7,"
        " \"train_seconds\": 0.1, \"images_per_second\": 960.0, \"lr\": 0.005}\n"
        "{\"event\": \"other\", \"x\": 1}\n"
        "{\"event\": \"done\", \"checkpoint\": \"ck/x-1_3.ckpt\"}\n");
    CHECK(t, ln_trainlog_read(p, &log, &err) == LN_OK, "a well-formed log reads");
    CHECK(t, log.n_steps == 3 && log.n_epochs == 1 && log.n_runs == 1, "3 steps, 1 epoch, 1 run");
    CHECK(t, log.steps[0].global_step == 1 && log.steps[0].loss == 2.30 && log.steps[2].lr == 0.005,
          "step numbers as written");
    CHECK(t, isnan(log.steps[1].loss), "a null loss reads as NaN");
    CHECK(t, log.epochs[0].test_accuracy == 0.5 && log.epochs[0].steps == 3 && log.epochs[0].last_global_step == 3,
          "epoch line: accuracy, steps, last global step");
    CHECK(t, !strcmp(log.checkpoint, "ck/x-1_3.ckpt"), "the done line's checkpoint");
    int found = 0;
    for (int i = 0; i < log.n_config; i++) {
        if (!strcmp(log.config_key[i], "milestones") && !strcmp(log.config_val[i], "[1, {\"a\": \"]\"}]")) found++;
        if (!strcmp(log.config_key[i], "data") && !strcmp(log.config_val[i], "dir \"q\" A")) found++;
        if (!strcmp(log.config_key[i], "init") && !strcmp(log.config_val[i], "null")) found++;
    }
    CHECK(t, found == 3, "config: nested values kept as text, strings unescaped, null");
    ln_trainlog_free(&log);

    /* Two runs: the second starts again at step 1, so only it is kept. A
     * resumed run (steps that go on) stays one run. */
    p = write_tmp("b.jsonl",
        "{\"event\": \"config\"}\n"
        "{\"event\": \"step\", \"epoch\": 1, \"step\": 1, \"global_step\": 1, \"loss\": 2.0, \"lr\": 0.01}\n"
        "{\"event\": \"step\", \"epoch\": 1, \"step\": 2, \"global_step\": 2, \"loss\": 1.0, \"lr\": 0.01}\n"
        "{\"event\": \"config\"}\n"
        "{\"event\": \"step\", \"epoch\": 1, \"step\": 3, \"global_step\": 3, \"loss\": 0.5, \"lr\": 0.01}\n"
        "{\"event\": \"config\"}\n"
        "{\"event\": \"step\", \"epoch\": 1, \"step\": 1, \"global_step\": 1, \"loss\": 2.2, \"lr\": 0.01}\n");
    CHECK(t, ln_trainlog_read(p, &log, &err) == LN_OK && log.n_runs == 3 && log.n_steps == 1 &&
                 log.steps[0].loss == 2.2,
          "a restarted run replaces the earlier ones");
    ln_trainlog_free(&log);
    p = write_tmp("c.jsonl",
        "{\"event\": \"config\"}\n"
        "{\"event\": \"step\", \"epoch\": 1, \"step\": 1, \"global_step\": 1, \"loss\": 2.0, \"lr\": 0.01}\n"
        "{\"event\": \"config\"}\n"
        "{\"event\": \"step\", \"epoch\": 1, \"step\": 2, \"global_step\": 2, \"loss\": 1.0, \"lr\": 0.01}\n");
    CHECK(t, ln_trainlog_read(p, &log, &err) == LN_OK && log.n_steps == 2, "a resumed run continues");
    ln_trainlog_free(&log);
    const char *two = "{\"event\": \"step\", \"epoch\": 1, \"step\": 1, \"global_step\": 1, \"loss\": 2.0}\n"
                      "{\"event\": \"step\", \"epoch\": 1, \"step\": 2, \"global_step\": 2, \"loss\": 1.0}\n";
    char cut[512];
    snprintf(cut, sizeof cut, "%s{\"event\": \"step\", \"epoch\": 1, \"st", two);
    p = write_tmp("cut.jsonl", cut);
    CHECK(t, ln_trainlog_read(p, &log, &err) == LN_OK && log.n_steps == 2 && log.cut_line == 3,
          "a last line cut short (no newline, not JSON) is skipped and reported as cut_line");
    ln_trainlog_free(&log);
    snprintf(cut, sizeof cut, "%.*s", (int)strlen(two) - 1, two);
    p = write_tmp("cut.jsonl", cut);
    CHECK(t, ln_trainlog_read(p, &log, &err) == LN_OK && log.n_steps == 2 && log.cut_line == 0,
          "a complete last line without its newline is kept, not reported as cut");
    ln_trainlog_free(&log);
    snprintf(cut, sizeof cut, "{\"event\": \"step\", \"epoch\": 1, \"st\n%s", two);
    p = write_tmp("cut.jsonl", cut);
    CHECK(t, ln_trainlog_read(p, &log, &err) == LN_E_INPUT && strstr(err.msg, "cut.jsonl:1"),
          "a broken line that is not the last is still an error");

    struct { const char *what, *text, *needle; } bad[] = {
        {"not JSON", "{\"event\": \"config\"}\nhello\n", "bad.jsonl:2"},
        {"trailing junk", "{\"event\": \"step\", \"epoch\": 1, \"step\": 1, \"global_step\": 1, \"loss\": 1} x\n", "bad.jsonl:1"},
        {"no event", "{\"loss\": 1}\n", "bad.jsonl:1"},
        {"step without loss", "{\"event\": \"step\", \"epoch\": 1, \"step\": 1, \"global_step\": 1}\n", "bad.jsonl:1"},
        {"loss as a string", "{\"event\": \"step\", \"epoch\": 1, \"step\": 1, \"global_step\": 1, \"loss\": \"1\"}\n", "bad.jsonl:1"},
        {"unterminated string", "{\"event\": \"step\n", "bad.jsonl:1"},
        {"only a config line", "{\"event\": \"config\"}\n", "no step or epoch lines"},
        {"empty file", "", "no step or epoch lines"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        p = write_tmp("bad.jsonl", bad[k].text);
        err.msg[0] = 0;
        ln_status s = ln_trainlog_read(p, &log, &err);
        CHECK(t, s == LN_E_INPUT && strstr(err.msg, bad[k].needle) && !strchr(err.msg, '\n') && log.steps == NULL,
              bad[k].what);
    }
    CHECK(t, ln_trainlog_read("/nonexistent/x.jsonl", &log, &err) == LN_E_INPUT && strstr(err.msg, "/nonexistent/x.jsonl"),
          "a missing log: LN_E_INPUT naming it");
}

static int is_rgb(const ln_image *im, int x, int y, int r, int g, int b) {
    const uint8_t *p = im->data + ((size_t)y * im->width + x) * 3;
    return p[0] == r && p[1] == g && p[2] == b;
}

/* The writers' lines read back as written (float32 values to the same float32). */
static void test_log_writers(test_ctx *t) {
    ln_error err;
    char path[512];
    snprintf(path, sizeof path, "%s/w.jsonl", g_tmp);
    FILE *f = fopen(path, "w");
    const ln_log_field cfg[] = {{"batch_size", "32"}, {"data", "\"d\""}, {"milestones", "[1, 2]"}};
    const ln_log_step s1 = {1, 1, 1, 2.3035038f, 0.01f}, s2 = {2, 1, 2, NAN, 0.005f};
    const ln_log_epoch e1 = {.epoch = 1, .steps = 2, .loss = 1.25, .test_accuracy = 0.5, .test_loss = 1.5,
                             .seconds = 0.25, .images_per_second = 256, .lr = 0.005f};
    ln_status s = ln_trainlog_write_config(f, path, cfg, 3, &err);
    if (!s) s = ln_trainlog_write_step(f, path, &s1, &err);
    if (!s) s = ln_trainlog_write_step(f, path, &s2, &err);
    if (!s) s = ln_trainlog_write_epoch(f, path, &e1, &err);
    if (!s) s = ln_trainlog_write_done(f, path, "ck/\"q\".ckpt", &err);
    fclose(f);
    CHECK(t, s == LN_OK, "the four writers succeed");
    ln_trainlog log;
    CHECK(t, ln_trainlog_read(path, &log, &err) == LN_OK, "their file reads back");
    CHECK(t, log.n_steps == 2 && (float)log.steps[0].loss == 2.3035038f && (float)log.steps[0].lr == 0.01f &&
                 log.steps[1].global_step == 2 && isnan(log.steps[1].loss),
          "steps: float32 loss and lr read back to the same float32, a NaN loss as null");
    CHECK(t, log.n_epochs == 1 && log.epochs[0].loss == 1.25 && log.epochs[0].test_accuracy == 0.5 &&
                 log.epochs[0].images_per_second == 256 && (float)log.epochs[0].lr == 0.005f,
          "epoch line as written");
    CHECK(t, log.n_config == 3 && !strcmp(log.config_key[2], "milestones") && !strcmp(log.config_val[2], "[1, 2]") &&
                 !strcmp(log.config_val[1], "d"),
          "config fields in order, values as JSON");
    CHECK(t, !strcmp(log.checkpoint, "ck/\"q\".ckpt"), "done: the checkpoint, escaped and read back");
    ln_trainlog_free(&log);
    f = fopen("/dev/full", "w");
    if (f) {
        CHECK(t, ln_trainlog_write_done(f, "/dev/full", "x", &err) == LN_E_SYSTEM && strstr(err.msg, "/dev/full"),
              "a failed write: LN_E_SYSTEM naming the file");
        fclose(f);
    }
}

static void test_plots(test_ctx *t) {
    CHECK(t, ln_plot_nice_step(10, 5) == 2 && ln_plot_nice_step(1, 5) == 0.2 && ln_plot_nice_step(7000, 8) == 1000 &&
                 fabs(ln_plot_nice_step(0.03, 6) - 0.005) < 1e-12,
          "tick steps are 1, 2 or 5 times a power of ten");
    ln_error err;
    double x[4] = {1, 2, 3, 4}, y[4] = {2.3, NAN, 0.5, 0.1};
    ln_plot_series s = {x, y, 4, LN_RGB(255, 0, 0), 3, 1, "loss"};
    ln_plot_opts o = {.width = 600, .height = 300, .title = "T", .xlabel = "step", .ylabel = "loss"};
    ln_image im;
    CHECK(t, ln_plot_lines(&s, 1, &o, &im, &err) == LN_OK && im.width == 600 && im.height == 300 && im.channels == 3,
          "line chart of the requested size");
    long red = 0, dark = 0;
    for (int i = 0; i < im.width * im.height; i++) {
        const uint8_t *p = im.data + 3 * (size_t)i;
        red += p[0] == 255 && p[1] == 0 && p[2] == 0;
        dark += p[0] < 60 && p[1] < 60 && p[2] < 60;
    }
    CHECK(t, red > 100 && dark > 500, "the series and the axes/text are drawn");
    ln_image_free(&im);
    long cm[100] = {0};
    for (int i = 0; i < 10; i++) cm[i * 10 + i] = 100 + i;
    cm[4 * 10 + 9] = 8;
    CHECK(t, ln_plot_confusion(cm, 10, "CM", &im, &err) == LN_OK && im.width > 640 && im.height > 640,
          "confusion matrix picture");
    /* Find the grid: the first row with a long run of the diagonal's darkest blue. */
    int white00 = 0, blue = 0, redcell = 0;
    for (int yy = 0; yy < im.height && !blue; yy++)
        for (int xx = 0; xx < im.width; xx++)
            if (is_rgb(&im, xx, yy, 33, 90, 170)) { blue = 1; break; }
    for (int i = 0; i < im.width * im.height; i++) {
        const uint8_t *p = im.data + 3 * (size_t)i;
        redcell += p[0] > 200 && p[1] < 100 && p[2] < 100;
        white00 += p[0] == 255 && p[1] == 255 && p[2] == 255;
    }
    CHECK(t, blue && redcell > 1000 && white00 > 1000, "correct cells blue, the one mistake cell red");
    ln_image_free(&im);
    CHECK(t, ln_plot_confusion(cm, 0, "x", &im, &err) == LN_E_USAGE, "0 classes: LN_E_USAGE");
}

static int file_ok(const char *dir, const char *name) {
    char p[1300];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "rb");
    if (!f) return 0;
    unsigned char m[8] = {0};
    size_t n = fread(m, 1, 8, f);
    fclose(f);
    if (strstr(name, ".png")) return n == 8 && !memcmp(m, "\x89PNG\r\n\x1a\n", 8);
    return n == 8;
}

static void test_report(test_ctx *t) {
    const char *mnist = test_mnist_dir();
    char probe[600];
    snprintf(probe, sizeof probe, "%s/test", mnist);
    struct stat st;
    if (stat(probe, &st) != 0 && stat(mnist, &st) != 0) {
        printf("  skip  report end to end: no MNIST in %s\n", mnist);
        return;
    }
    ln_error err;
    /* A checkpoint with the initial weights of seed 1 (an untrained network). */
    ln_model_config mc = {.conv_bias = 1, .batch_size = 32, .lr = 0.01f, .momentum = 0.9f, .loss_scale = 1.f, .seed = 1,
                          .threads = 1};
    ln_model m;
    char ck[600], dir[600];
    snprintf(ck, sizeof ck, "%s/init.ckpt", g_tmp);
    snprintf(dir, sizeof dir, "%s/report/sub", g_tmp);
    CHECK(t, ln_model_init(&m, &mc, &err) == LN_OK && ln_model_save(&m, ck, &err) == LN_OK, "a checkpoint to judge");
    ln_model_free(&m);
    char text[4096];
    int k = snprintf(text, sizeof text, "{\"event\": \"config\", \"batch_size\": 32}\n");
    for (int i = 1; i <= 20; i++)
        k += snprintf(text + k, sizeof text - (size_t)k, "{\"event\": \"step\", \"epoch\": %d, \"step\": %d, "
                      "\"global_step\": %d, \"loss\": %g, \"lr\": %g}\n", (i - 1) / 10 + 1, (i - 1) % 10 + 1, i,
                      2.3 / i, i <= 10 ? 0.01 : 0.005);
    k += snprintf(text + k, sizeof text - (size_t)k,
                  "{\"event\": \"epoch\", \"epoch\": 1, \"steps\": 10, \"loss\": 0.7, \"test_accuracy\": 0.9, "
                  "\"test_loss\": 0.3, \"train_seconds\": 1.0, \"images_per_second\": 320, \"lr\": 0.01}\n"
                  "{\"event\": \"epoch\", \"epoch\": 2, \"steps\": 10, \"loss\": 0.2, \"test_accuracy\": 0.95, "
                  "\"test_loss\": 0.2, \"train_seconds\": 1.0, \"images_per_second\": 320, \"lr\": 0.005}\n");
    const char *log = write_tmp("run.jsonl", text);
    ln_report_summary sum;
    ln_status s = ln_report_write_ex(dir, log, ck, mnist, &sum, &err);
    if (s) printf("  (%s)\n", err.msg);
    CHECK(t, s == LN_OK, "report written (folder and parents created)");
    CHECK(t, sum.total == 10000 && sum.mistakes == sum.total - sum.correct && sum.n_steps == 20 && sum.n_epochs == 2,
          "all 10,000 test images judged; the log's steps and epochs");
    CHECK(t, sum.files == 7, "7 files: index.html, 4 curves (the rate changes), confusion, misclassified");
    const char *names[] = {"index.html", "loss_steps.png", "loss_epochs.png", "accuracy.png", "lr.png",
                           "confusion.png", "misclassified.png"};
    int all = 1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) all &= file_ok(dir, names[i]);
    CHECK(t, all, "every file present; the pictures are PNGs");
    /* index.html links every picture and has no script. */
    char hp[700];
    snprintf(hp, sizeof hp, "%s/index.html", dir);
    FILE *f = fopen(hp, "rb");
    static char html[1 << 16];
    size_t n = f ? fread(html, 1, sizeof html - 1, f) : 0;
    if (f) fclose(f);
    html[n] = 0;
    int links = 1;
    for (size_t i = 1; i < sizeof names / sizeof names[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "src=\"%s\"", names[i]);
        links &= strstr(html, want) != NULL;
    }
    CHECK(t, links && !strstr(html, "<script") && strstr(html, "</html>"), "index.html shows every picture, no script");
    /* The log's "done" checkpoint is used when none is given; without one it is a usage error. */
    CHECK(t, ln_report_write(dir, log, NULL, mnist, &err) == LN_E_USAGE && strstr(err.msg, "`ckpt=FILE`"),
          "no checkpoint anywhere: LN_E_USAGE asking for `ckpt`");
    CHECK(t, ln_report_write(dir, log, "/nonexistent.ckpt", mnist, &err) == LN_E_INPUT &&
                 strstr(err.msg, "/nonexistent.ckpt"),
          "a missing checkpoint: LN_E_INPUT naming it");
    char fileblock[700];
    snprintf(fileblock, sizeof fileblock, "%s/index.html/x", dir);
    CHECK(t, ln_report_write(fileblock, log, ck, mnist, &err) == LN_E_SYSTEM, "a folder that cannot be made: LN_E_SYSTEM");
}

int main(void) {
    test_ctx t = {"test_report", 0, 0};
    if (test_make_tmpdir(g_tmp, sizeof g_tmp, "report")) return 1;
    test_log(&t);
    test_log_writers(&t);
    test_plots(&t);
    test_report(&t);
    test_rm_tmpdir(g_tmp);
    return test_finish(&t);
}
