/* test_model.c - the Model layer on a tiny synthetic data set: the callback
 * interface (order, counts, stopping, errors), resume in the library (a run
 * stopped mid-epoch, saved, loaded into a fresh model and continued equals
 * the uninterrupted run bit for bit), ln_model_load_state's checks,
 * model.predict, ModelCheckpoint's naming / prefix rule / rotation, and
 * ln_ckpt_write_ex's never-replace mode. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "lenet/callbacks.h"
#include "lenet/transform.h"
#include "lenet/model.h"

static char g_dir[64];

static uint8_t hashed_pixel(uint32_t image, uint32_t k) {
    (void)image;
    return (uint8_t)((k * 2654435761u) >> 24);
}

static const ln_model_config CFG = {.conv_bias = 1, .batch_size = 8, .lr = 0.05f, .momentum = 0.9f,
                                    .weight_decay = 1e-3f, .loss_scale = 1.f, .nesterov = 1, .seed = 5,
                                    .threads = 1};
static const ln_pipeline_config PCFG = {8, 1, 1, 16, 5, 1, 1, 0}; /* 64 rows: 8 steps per epoch */

/* ---- callbacks ---- */
typedef struct {
    char log[256];
    int n, stop_at, fail_at;
} trace;

static ln_status t_begin(void *u, ln_model *m, const ln_run_info *r, ln_error *err) {
    (void)m, (void)err;
    trace *t = u;
    t->n += snprintf(t->log + t->n, sizeof t->log - (size_t)t->n, "B%d.%d ", r->start_epoch, r->start_step);
    return LN_OK;
}
static ln_status t_step(void *u, ln_model *m, const ln_step_info *s, ln_error *err) {
    trace *t = u;
    t->n += snprintf(t->log + t->n, sizeof t->log - (size_t)t->n, "s%ld ", s->global_step);
    if (s->global_step == t->stop_at) m->stop = 1;
    if (s->global_step == t->fail_at) return ln_fail(err, LN_E_SYSTEM, "callback failed at step %ld", s->global_step);
    return LN_OK;
}
static ln_status t_epoch(void *u, ln_model *m, const ln_epoch_info *e, ln_error *err) {
    (void)m, (void)err;
    trace *t = u;
    t->n += snprintf(t->log + t->n, sizeof t->log - (size_t)t->n, "E%d:%d%s ", e->epoch, e->steps, e->complete ? "" : "p");
    return LN_OK;
}
static ln_status t_end(void *u, ln_model *m, const ln_run_info *r, ln_error *err) {
    (void)m, (void)r, (void)err;
    trace *t = u;
    t->n += snprintf(t->log + t->n, sizeof t->log - (size_t)t->n, "END");
    return LN_OK;
}

static int run_traced(const ln_dataset *d, int epochs, long max_steps, trace *tr, ln_status *st, ln_error *err) {
    ln_model m;
    ln_pipeline p;
    if (ln_model_init(&m, &CFG, err) || ln_pipeline_init(&p, d, &PCFG, err)) return -1;
    ln_callback cb = {tr, t_begin, t_step, t_epoch, t_end};
    *st = ln_model_train(&m, &p, epochs, max_steps, &cb, 1, err);
    ln_pipeline_free(&p);
    ln_model_free(&m);
    return 0;
}

/* A pipeline's batch larger than the model's is refused, though the lanes
 * net is made for 256-row evaluation batches (ln_model_init): the
 * training buffers hold cfg.batch_size rows. */
static void test_batch_mismatch(test_ctx *t, const ln_dataset *d) {
    ln_model m;
    ln_pipeline p;
    ln_error err;
    ln_pipeline_config pc = PCFG;
    pc.batch_size = 16;
    int ok = !ln_model_init(&m, &CFG, &err) && !ln_pipeline_init(&p, d, &pc, &err);
    CHECK(t, ok, "model (batch 8) and pipeline (batch 16)");
    if (!ok) return;
    CHECK(t, m.net.max_batch >= 256, "the lanes net is made for evaluation batches of 256");
    const ln_status s = ln_model_train(&m, &p, 1, 0, NULL, 0, &err);
    CHECK(t, s == LN_E_USAGE && strstr(err.msg, "pipeline batch 16 exceeds the model's batch size 8"),
          "a pipeline batch of 16 on a model of 8 is refused with its message");
    CHECK(t, m.global_step == 0, "... and nothing trained");
    ln_pipeline_free(&p);
    ln_model_free(&m);
}

static void test_callbacks(test_ctx *t, const ln_dataset *d) {
    trace tr = {0};
    ln_status st;
    ln_error err;
    run_traced(d, 2, 11, &tr, &st, &err);
    CHECK(t, st == LN_OK && !strcmp(tr.log, "B1.0 s1 s2 s3 s4 s5 s6 s7 s8 E1:8 s9 s10 s11 E2:3p END"),
          "hooks in order: begin, step_end per step, epoch_end per epoch (partial when stopped by max_steps), end");
    if (st || strcmp(tr.log, "B1.0 s1 s2 s3 s4 s5 s6 s7 s8 E1:8 s9 s10 s11 E2:3p END")) printf("  got: %s\n", tr.log);
    tr = (trace){.stop_at = 3};
    run_traced(d, 2, 0, &tr, &st, &err);
    CHECK(t, st == LN_OK && !strcmp(tr.log, "B1.0 s1 s2 s3 E1:3p END"), "a callback setting m->stop ends training after that step");
    tr = (trace){.fail_at = 2};
    run_traced(d, 2, 0, &tr, &st, &err);
    CHECK(t, st == LN_E_SYSTEM && strstr(err.msg, "step 2") && !strcmp(tr.log, "B1.0 s1 s2 "),
          "a callback error aborts training with its status and message; no epoch_end / end after it");
}

/* ---- resume ---- */
static int train_to(ln_model *m, const ln_dataset *d, int epochs, long max_steps, ln_error *err) {
    ln_pipeline p;
    if (ln_pipeline_init(&p, d, &PCFG, err)) return -1;
    ln_status s = ln_model_train(m, &p, epochs, max_steps, NULL, 0, err);
    ln_pipeline_free(&p);
    return s ? -1 : 0;
}

/* train_step's stage (the gathered images of the coming batches) never
 * outlives its ln_model_train call: a model trained on from other data in
 * the same process, at the same epoch and batch numbers, must train on
 * that data, as a fresh model loaded from the checkpoint does. */
static uint8_t other_pixel(uint32_t image, uint32_t k) { return (uint8_t)((k * 40503u + image * 977u) >> 5); }
static void test_stage_per_call(test_ctx *t, const ln_dataset *d) {
    ln_error err;
    ln_dataset d2;
    test_dataset(&d2, 64, other_pixel);
    ln_model a, c;
    char pa[128];
    snprintf(pa, sizeof pa, "%s/stage.ckpt", g_dir);
    int ok = !ln_model_init(&a, &CFG, &err) && !train_to(&a, d, 1, 3, &err) && !ln_model_save(&a, pa, &err) &&
             !train_to(&a, &d2, 1, 6, &err);
    ok = ok && !ln_model_init(&c, &CFG, &err) && !ln_model_load_state(&c, pa, &err) && !train_to(&c, &d2, 1, 6, &err);
    CHECK(t, ok && a.global_step == 6 && c.global_step == 6, "3 steps on one data set, then 3 on another");
    CHECK(t, ok && !memcmp(a.net.params, c.net.params, sizeof(float) * a.net.n_params),
          "the same model trained on from other data = a fresh model loaded from its checkpoint (no stale images)");
    ln_model_free(&a);
    ln_model_free(&c);
    ln_dataset_free(&d2);
}

static void test_resume(test_ctx *t, const ln_dataset *d) {
    ln_error err;
    ln_model a, b, c;
    char pa[128], pb[128], pc[128];
    snprintf(pa, sizeof pa, "%s/a.ckpt", g_dir);
    snprintf(pb, sizeof pb, "%s/b.ckpt", g_dir);
    snprintf(pc, sizeof pc, "%s/c.ckpt", g_dir);
    int ok = !ln_model_init(&a, &CFG, &err) && !train_to(&a, d, 3, 0, &err) && !ln_model_save(&a, pa, &err);
    CHECK(t, ok && a.global_step == 24, "uninterrupted: 3 epochs of 8 steps");
    ok = !ln_model_init(&b, &CFG, &err) && !train_to(&b, d, 3, 13, &err) && !ln_model_save(&b, pb, &err);
    CHECK(t, ok && b.global_step == 13 && b.pos.epoch == 2 && b.pos.step == 5, "stopped at global step 13 (epoch 2, step 5)");
    /* A fresh model with another seed: load_state must bring everything back. */
    ln_model_config other = CFG;
    other.seed = 99;
    ok = !ln_model_init(&c, &other, &err) && !ln_model_load_state(&c, pb, &err);
    CHECK(t, ok && c.global_step == 13 && !memcmp(c.net.params, b.net.params, b.net.n_params * 4) &&
                 !memcmp(c.opt.moments, b.opt.moments, b.net.n_params * 4),
          "ln_model_load_state restores weights, moments, global step");
    ok = ok && !train_to(&c, d, 3, 0, &err) && !ln_model_save(&c, pc, &err);
    CHECK(t, ok && c.global_step == 24 && !memcmp(c.net.params, a.net.params, a.net.n_params * 4) &&
                 !memcmp(c.opt.moments, a.opt.moments, a.net.n_params * 4),
          "continued to epoch 3: weights and moments bit-identical to the uninterrupted run");
    FILE *fa = fopen(pa, "rb"), *fc = fopen(pc, "rb");
    int same = fa && fc;
    while (same) {
        const int x = fgetc(fa), y = fgetc(fc);
        same = x == y;
        if (x == EOF || y == EOF) break;
    }
    if (fa) fclose(fa);
    if (fc) fclose(fc);
    CHECK(t, same, "... and the final checkpoint files are identical byte for byte");

    /* The pipeline must match: another seed is refused before any step. */
    ln_model e;
    ln_pipeline p;
    ln_pipeline_config pc2 = PCFG;
    pc2.seed = 6;
    ok = !ln_model_init(&e, &CFG, &err) && !ln_model_load_state(&e, pb, &err) && !ln_pipeline_init(&p, d, &pc2, &err);
    if (ok) {
        ln_status s = ln_model_train(&e, &p, 3, 0, NULL, 0, &err);
        CHECK(t, s == LN_E_INPUT && strstr(err.msg, "`seed=5`") && e.global_step == 13,
              "resuming with another data seed: LN_E_INPUT naming `seed=5`, nothing trained");
        ln_pipeline_free(&p);
    }
    ln_model_free(&e);

    /* load_state's checks: a weights-only checkpoint, then a corrupt position. */
    ln_ckpt ck;
    ln_ckpt_read(pb, &ck, &err);
    ln_ckpt_item items[64];
    int n = 0;
    for (int i = 0; i < ck.n; i++) {
        const ln_ckpt_entry *en = &ck.e[i];
        ln_ckpt_item it = {en->name, en->dtype, en->ndim == 1 && en->dims[0] == 0 ? 0 : en->ndim, {0}, en->data};
        for (int k = 0; k < it.ndim; k++) it.dims[k] = en->dims[k];
        if (!strncmp(en->name, "train.", 6) && strcmp(en->name, "train.step")) continue;
        items[n++] = it;
    }
    char pw[128];
    snprintf(pw, sizeof pw, "%s/nopos.ckpt", g_dir);
    ln_ckpt_write(pw, items, n, 0, &err);
    ln_model f;
    ln_model_init(&f, &CFG, &err);
    float w0 = f.net.params[0];
    ln_status s = ln_model_load_state(&f, pw, &err);
    CHECK(t, s == LN_E_INPUT && strstr(err.msg, "train.epoch") && strstr(err.msg, "`init`") && f.net.params[0] == w0 &&
                 f.global_step == 0, "no training position: LN_E_INPUT naming the entry and suggesting `init`; nothing changed");
    int32_t bad_step = 99; /* step 99 of 8 */
    n = 0;
    for (int i = 0; i < ck.n; i++) {
        const ln_ckpt_entry *en = &ck.e[i];
        ln_ckpt_item it = {en->name, en->dtype, en->ndim == 1 && en->dims[0] == 0 ? 0 : en->ndim, {0}, en->data};
        for (int k = 0; k < it.ndim; k++) it.dims[k] = en->dims[k];
        if (!strcmp(en->name, "train.step")) it.data = &bad_step;
        items[n++] = it;
    }
    ln_ckpt_write(pw, items, n, 0, &err);
    s = ln_model_load_state(&f, pw, &err);
    CHECK(t, s == LN_E_INPUT && strstr(err.msg, "inconsistent") && f.net.params[0] == w0,
          "an inconsistent position (step 99 of 8): LN_E_INPUT, nothing changed");
    n = 0;
    for (int i = 0; i < ck.n; i++)
        if (strncmp(ck.e[i].name, "moments.", 8)) {
            const ln_ckpt_entry *en = &ck.e[i];
            ln_ckpt_item it = {en->name, en->dtype, en->ndim == 1 && en->dims[0] == 0 ? 0 : en->ndim, {0}, en->data};
            for (int k = 0; k < it.ndim; k++) it.dims[k] = en->dims[k];
            items[n++] = it;
        }
    ln_ckpt_write(pw, items, n, 0, &err);
    s = ln_model_load_state(&f, pw, &err);
    CHECK(t, s == LN_E_INPUT && strstr(err.msg, "moments.conv1.weight") && f.net.params[0] == w0,
          "no optimizer state: LN_E_INPUT naming moments.conv1.weight");
    ln_ckpt_free(&ck);
    ln_model_free(&f);
    ln_model_free(&a);
    ln_model_free(&b);
    ln_model_free(&c);
}

static void test_predict(test_ctx *t, const ln_dataset *d) {
    ln_model m;
    ln_error err;
    if (ln_model_init(&m, &CFG, &err)) return;
    static float x[20 * 1024], probs[200];
    int32_t y[20];
    ln_pipeline_rows(d, 0, 20, 1, x, y); /* 20 rows with max_batch 8: three chunks */
    ln_model_predict(&m, x, 20, probs);
    int ok = 1;
    for (int r = 0; r < 20; r++) {
        double s = 0;
        for (int k = 0; k < 10; k++) s += probs[r * 10 + k], ok &= probs[r * 10 + k] >= 0;
        ok &= fabs(s - 1) < 1e-5;
    }
    ln_lenet_forward(&m.net, x + 16 * 1024, 4); /* the last chunk's logits */
    for (int r = 0; r < 4; r++) ok &= ln_argmax(ln_lenet_logits(&m.net) + r * 10, 10) == ln_argmax(probs + (16 + r) * 10, 10);
    CHECK(t, ok, "model.predict over 20 images (3 chunks of up to 8): rows sum to 1, argmax = logits' argmax");
    ln_model_free(&m);
}

static int count_files(const char *dir, const char *prefix) {
    DIR *dd = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (dd && (e = readdir(dd))) n += !strncmp(e->d_name, prefix, strlen(prefix));
    if (dd) closedir(dd);
    return n;
}

static void saved_hook(void *user, const char *path) { (void)path, (*(int *)user)++; }

static void test_checkpoint_cb(test_ctx *t, const ln_dataset *d) {
    ln_error err;
    char dir[128];
    snprintf(dir, sizeof dir, "%s/ck", g_dir);
    int saves = 0;
    ln_checkpoint_config cc = {dir, "lenet", 3, 2, 0, saved_hook, &saves};
    ln_model_checkpoint mc;
    ln_model m;
    ln_pipeline p;
    int ok = !ln_model_checkpoint_init(&mc, &cc, &err) && !ln_model_init(&m, &CFG, &err) &&
             !ln_pipeline_init(&p, d, &PCFG, &err);
    if (!ok) { CHECK(t, 0, "ModelCheckpoint setup"); return; }
    ln_callback cb = ln_model_checkpoint_callback(&mc);
    ln_status s = ln_model_train(&m, &p, 1, 0, &cb, 1, &err);
    char want[256];
    snprintf(want, sizeof want, "%s/lenet-1_8.ckpt", dir);
    struct stat st;
    CHECK(t, s == LN_OK && saves == 3 && !strcmp(mc.last_path, want) && count_files(dir, "lenet-") == 2 &&
                 stat(want, &st) == 0 && stat(mc.saved[0], &st) == 0 && strstr(mc.saved[0], "lenet-1_6.ckpt"),
          "save every 3 steps + at the end (steps 3, 6, 8), keep 2: lenet-1_6 and lenet-1_8 remain");
    ln_model_checkpoint_free(&mc);
    ln_model_checkpoint mc2;
    ln_model_checkpoint_init(&mc2, &cc, &err);
    CHECK(t, !strcmp(mc2.prefix, "lenet_1"), "files with the prefix exist: the next run uses lenet_1 (MindSpore's rule)");
    /* Two runs at once: the second may not take the prefix the first holds. */
    ln_model_checkpoint mc3;
    ln_status s3 = ln_model_checkpoint_init(&mc3, &cc, &err);
    char lock[256];
    snprintf(lock, sizeof lock, "%s/lenet_1.lock", dir);
    CHECK(t, s3 == LN_OK && !strcmp(mc3.prefix, "lenet_2") && stat(lock, &st) == 0,
          "while a run holds lenet_1 (its lock file), a second one set up meanwhile takes lenet_2");
    ln_model_checkpoint_free(&mc2);
    ln_model_checkpoint_free(&mc3);
    CHECK(t, stat(lock, &st) != 0, "freeing the callback removes its lock file");
    /* never-replace */
    ln_ckpt_write_opts o = {.no_replace = 1};
    float v = 1.f;
    ln_ckpt_item it = {"x", "Float32", 0, {0}, &v};
    long before = stat(want, &st) == 0 ? (long)st.st_size : -1;
    s = ln_ckpt_write_ex(want, &it, 1, &o, &err);
    CHECK(t, s == LN_E_USAGE && strstr(err.msg, want) && strstr(err.msg, "not overwriting") && stat(want, &st) == 0 &&
                 (long)st.st_size == before && count_files(dir, "lenet-1_8.ckpt.tmp") == 0,
          "ln_ckpt_write_ex(no_replace) onto an existing file: LN_E_USAGE naming it, file untouched, no temp left");
    ln_pipeline_free(&p);
    ln_model_free(&m);
}

int main(void) {
    test_ctx t = {"test_model", 0, 0};
    if (test_make_tmpdir(g_dir, sizeof g_dir, "model")) return 1;
    ln_dataset d;
    test_dataset(&d, 64, hashed_pixel);
    test_callbacks(&t, &d);
    test_batch_mismatch(&t, &d);
    test_resume(&t, &d);
    test_stage_per_call(&t, &d);
    test_predict(&t, &d);
    test_checkpoint_cb(&t, &d);
    ln_dataset_free(&d);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
    return test_finish(&t);
}
