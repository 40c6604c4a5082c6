/* test_train.c - end to end on a subset of real MNIST: the model must learn,
 * and the same seed must give identical per-step losses and identical
 * checkpoint bytes, for 1 and 2 threads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "lenet/model.h"

#define SUBSET 3200
#define STEPS 300

typedef struct {
    float losses[STEPS];
    int n;
} loss_log;

static ln_status record_loss(void *user, ln_model *m, const ln_step_info *s, ln_error *err) {
    (void)m, (void)err;
    loss_log *l = user;
    if (l->n < STEPS) l->losses[l->n++] = s->loss;
    return LN_OK;
}

/* A dataset viewing the first `n` rows of `full` (no copy). */
static ln_dataset subset(const ln_dataset *full, uint32_t n) {
    ln_dataset d = *full;
    d.images.count = d.labels.count = n;
    return d;
}

/* Train STEPS steps with the given threads; log losses, save to ckpt_path,
 * return test accuracy on the first 1000 test images. */
static double run(const ln_dataset *train, const ln_dataset *test, int threads, loss_log *log,
                  const char *ckpt_path, int *ok) {
    ln_model_config mc = {.conv_bias = 1, .batch_size = 32, .lr = 0.01f, .momentum = 0.9f, .loss_scale = 1.f,
                          .seed = 7, .threads = threads};
    ln_model m;
    ln_error err;
    ln_pipeline p;
    *ok = 0;
    if (ln_model_init(&m, &mc, &err)) return 0;
    ln_pipeline_config pc = {32, 1, 1, 10000, 7, threads, 1, 0};
    if (ln_pipeline_init(&p, train, &pc, &err)) { ln_model_free(&m); return 0; }
    ln_callback cb = {.user = log, .step_end = record_loss};
    log->n = 0;
    ln_model_train(&m, &p, 1000, STEPS, &cb, 1, &err);
    ln_metrics met;
    ln_model_eval(&m, test, 1000, &met);
    *ok = log->n == STEPS && ln_model_save(&m, ckpt_path, &err) == LN_OK;
    ln_pipeline_free(&p);
    ln_model_free(&m);
    return ln_metrics_accuracy(&met);
}

int main(void) {
    test_ctx t = {"test_train", 0, 0};
    ln_dataset full_train, full_test;
    ln_error err;
    if (ln_dataset_load(test_mnist_dir(), "train", &full_train, &err) ||
        ln_dataset_load(test_mnist_dir(), "test", &full_test, &err)) {
        printf("cannot load MNIST from %s (%s); run `make data`\n", test_mnist_dir(), err.msg);
        CHECK(&t, 0, "MNIST available");
        return test_finish(&t);
    }
    ln_dataset train = subset(&full_train, SUBSET);
    char dir[] = "/tmp/lenet_test_train_XXXXXX";
    CHECK(&t, mkdtemp(dir) != NULL, "temp dir");
    char c1[256], c2[256], c3[256];
    snprintf(c1, sizeof c1, "%s/a.ckpt", dir);
    snprintf(c2, sizeof c2, "%s/b.ckpt", dir);
    snprintf(c3, sizeof c3, "%s/c.ckpt", dir);
    static loss_log l1, l2, l3;
    int ok1, ok2, ok3;
    double acc1 = run(&train, &full_test, 1, &l1, c1, &ok1);
    double acc2 = run(&train, &full_test, 1, &l2, c2, &ok2);
    double acc3 = run(&train, &full_test, 2, &l3, c3, &ok3);
    CHECK(&t, ok1 && ok2 && ok3, "three runs of 300 steps completed and saved");

    double first = 0, last = 0;
    for (int i = 0; i < 10; i++) first += l1.losses[i], last += l1.losses[STEPS - 10 + i];
    printf("    mean loss steps 1-10: %.4f, steps 291-300: %.4f, accuracy on 1000 test images: %.2f%%\n",
           first / 10, last / 10, 100 * acc1);
    CHECK(&t, first / 10 > 2.0 && last / 10 < 0.6 * (first / 10), "loss falls from ~2.3 by more than 40%");
    CHECK(&t, acc1 > 0.75, "accuracy on 1000 test images > 75% after 300 steps on 3200 images");
    CHECK(&t, !memcmp(l1.losses, l2.losses, sizeof l1.losses), "same seed: identical per-step losses");
    CHECK(&t, !memcmp(l1.losses, l3.losses, sizeof l1.losses), "1 vs 2 threads: identical per-step losses");
    CHECK(&t, acc1 == acc2 && acc1 == acc3, "identical accuracy across runs and thread counts");
    size_t n1 = 0, n2 = 0, n3 = 0;
    void *b1 = test_read_file(c1, &n1), *b2 = test_read_file(c2, &n2), *b3 = test_read_file(c3, &n3);
    CHECK(&t, b1 && b2 && n1 == n2 && !memcmp(b1, b2, n1), "same seed: identical checkpoint bytes");
    CHECK(&t, b1 && b3 && n1 == n3 && !memcmp(b1, b3, n1), "1 vs 2 threads: identical checkpoint bytes");
    free(b1), free(b2), free(b3);
    unlink(c1), unlink(c2), unlink(c3), rmdir(dir);
    ln_dataset_free(&full_train);
    ln_dataset_free(&full_test);
    return test_finish(&t);
}
