/* classify.c - load a LeNet-5 checkpoint and classify pictures of digits
 * (PNG or PGM, any size), as `lenet predict` does.
 *   cc classify.c $(pkg-config --cflags --libs lenet) -o classify
 *   ./classify model.ckpt digit1.png digit2.png ...      prints "FILE: DIGIT PROB" */
#include <stdio.h>

#include <lenet/image.h>
#include <lenet/load.h>
#include <lenet/metrics.h>
#include <lenet/prepare.h>
#include <lenet/transform.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.ckpt IMAGE...\n", argv[0]);
        return 2;
    }
    ln_error err;
    ln_lenet net; /* the variant (conv biases or not) is taken from the file */
    if (ln_lenet_load(&net, argv[1], NULL, &err)) {
        fprintf(stderr, "classify: %s\n", err.msg);
        return 1;
    }
    int rc = 0;
    for (int i = 2; i < argc; i++) {
        ln_image im;
        uint8_t digit[LN_PREP_SIDE * LN_PREP_SIDE];
        float x[LN_IN_SIZE], probs[LN_CLASSES];
        ln_status s = ln_image_read_gray(argv[i], &im, &err);
        if (!s) {
            s = ln_prepare_digit(im.data, im.width, im.height, argv[i], digit, NULL, &err);
            ln_image_free(&im);
        }
        if (s) {
            fprintf(stderr, "classify: %s\n", err.msg), rc = 1;
            continue;
        }
        ln_transform_image(digit, LN_PREP_SIDE, LN_PREP_SIDE, x); /* resize to 32x32, normalise */
        ln_lenet_predict(&net, x, 1, probs);
        const int d = ln_argmax(probs, LN_CLASSES);
        printf("%s: %d %.4f\n", argv[i], d, probs[d]);
    }
    ln_lenet_free(&net);
    return rc;
}
