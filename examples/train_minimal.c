/* train_minimal.c - train LeNet-5 for one epoch through liblenet alone (no
 * command-line code): load MNIST, build the data pipeline and the model,
 * train with a callback that prints the loss, evaluate, save a checkpoint.
 * The settings are the MindSpore tutorial's (and `lenet train`'s defaults),
 * so the weights are those `lenet train --max-steps N` gives.
 *
 *   cc train_minimal.c $(pkg-config --cflags --libs lenet) -o train_minimal
 *   ./train_minimal datasets/MNIST_Data out.ckpt [MAX_STEPS]
 */
#include <stdio.h>
#include <stdlib.h>

#include <lenet/model.h>

/* Print the loss every 100 steps and at the last one. */
static ln_status print_loss(void *user, ln_model *m, const ln_step_info *s, ln_error *err) {
    (void)user, (void)m, (void)err;
    if (s->global_step % 100 == 0 || s->step_in_epoch == s->steps_per_epoch)
        printf("epoch %d step %d: loss %.6f\n", s->epoch, s->step_in_epoch, s->loss);
    return LN_OK;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s DATA_DIR OUT.ckpt [MAX_STEPS]\n", argv[0]);
        return 2;
    }
    const long max_steps = argc > 3 ? atol(argv[3]) : 0; /* 0: the whole epoch */
    ln_error err;
    ln_dataset train = {0}, test = {0};
    ln_pipeline pipe;
    ln_model model;
    int have_pipe = 0, have_model = 0, rc = 1;

    if (ln_dataset_load(argv[1], "train", &train, &err) || ln_dataset_load(argv[1], "test", &test, &err)) goto out;
    /* batch 32, drop the remainder, shuffle with a 10,000-row buffer, seed 1, 2 threads */
    ln_pipeline_config pc = {.batch_size = 32, .drop_remainder = 1, .shuffle = 1, .buffer_size = 10000,
                             .seed = 1, .threads = 2};
    if (ln_pipeline_init(&pipe, &train, &pc, &err)) goto out;
    have_pipe = 1;
    ln_model_config mc = {.conv_bias = 1, .batch_size = 32, .lr = 0.01f, .momentum = 0.9f,
                          .loss_scale = 1.f, .seed = 1, .threads = 2};
    if (ln_model_init(&model, &mc, &err)) goto out;
    have_model = 1;

    ln_callback monitor = {.step_end = print_loss};
    if (ln_model_train(&model, &pipe, 1, max_steps, &monitor, 1, &err)) goto out;

    ln_metrics met;
    ln_model_eval(&model, &test, 0, &met);
    printf("test accuracy %.4f (%ld/%ld)\n", ln_metrics_accuracy(&met), met.correct, met.total);
    if (ln_model_save(&model, argv[2], &err)) goto out;
    printf("saved %s\n", argv[2]);
    rc = 0;
out:
    if (rc) fprintf(stderr, "train_minimal: %s\n", err.msg);
    if (have_model) ln_model_free(&model);
    if (have_pipe) ln_pipeline_free(&pipe);
    ln_dataset_free(&train);
    ln_dataset_free(&test);
    return rc;
}
