/* classify.c - load a LeNet-5 checkpoint and classify pictures of digits
 * (PNG or PGM, any size), as `lenet predict` does.
 *   cc classify.c $(pkg-config --cflags --libs lenet) -o classify
 *   ./classify model.ckpt digit1.png digit2.png ...      prints "FILE: DIGIT PROB" */
#include <stdio.h>
#include <stdlib.h>

#include <lenet/image.h>
#include <lenet/metrics.h>
#include <lenet/model.h>
#include <lenet/prepare.h>
#include <lenet/transform.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.ckpt IMAGE...\n", argv[0]);
        return 2;
    }
    ln_error err;
    ln_ckpt ck; /* the variant: with or without conv biases */
    if (ln_ckpt_read(argv[1], &ck, &err)) goto fail;
    const int conv_bias = ln_ckpt_get(&ck, "conv1.bias") != NULL;
    ln_ckpt_free(&ck);
    ln_model m; /* the optimizer settings are unused: we only predict */
    ln_model_config mc = {.conv_bias = conv_bias, .batch_size = 1, .lr = 0.01f, .momentum = 0.9f,
                          .loss_scale = 1.f, .threads = 1};
    if (ln_model_init(&m, &mc, &err)) goto fail;
    if (ln_model_load_weights(&m, argv[1], &err)) {
        ln_model_free(&m);
        goto fail;
    }
    int rc = 0;
    for (int i = 2; i < argc; i++) {
        ln_image im;
        uint8_t digit[LN_PREP_SIDE * LN_PREP_SIDE];
        float x[LN_IN_SIZE], probs[LN_CLASSES];
        if (ln_image_read_gray(argv[i], &im, &err)) {
            fprintf(stderr, "classify: %s\n", err.msg), rc = 1;
            continue;
        }
        const ln_status s = ln_prepare_digit(im.data, im.width, im.height, argv[i], digit, NULL, &err);
        ln_image_free(&im);
        if (s) {
            fprintf(stderr, "classify: %s\n", err.msg), rc = 1;
            continue;
        }
        ln_transform_image(digit, LN_PREP_SIDE, LN_PREP_SIDE, x); /* resize to 32x32, normalise */
        ln_model_predict(&m, x, 1, probs);
        const int d = ln_argmax(probs, LN_CLASSES);
        printf("%s: %d %.4f\n", argv[i], d, probs[d]);
    }
    ln_model_free(&m);
    return rc;
fail:
    fprintf(stderr, "classify: %s\n", err.msg);
    return 1;
}
