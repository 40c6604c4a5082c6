/* cmd_predict.c - `lenet predict`: classify the user's own pictures of digits
 * (PNG or PGM, any size): MNIST-style preparation (prepare.h), then the
 * training pipeline's Resize 32 + normalisation, then ln_lenet_predict. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lenet/image.h"
#include "lenet/load.h"
#include "lenet/metrics.h"
#include "lenet/pipeline.h"
#include "lenet/prepare.h"
#include "lenet/transform.h"

static void usage(void) {
    puts("usage: lenet predict --ckpt FILE [options] IMAGE...\n"
         "  --ckpt FILE         checkpoint to use (default: the newest *.ckpt in checkpoints/)\n"
         "  --conv-bias on|off  network variant (default: detected from the checkpoint)\n"
         "  --threads T         worker threads (default: all CPUs)\n"
         "  --preview           also draw each prepared 28x28 image in the terminal\n"
         "  --json              one JSON object per image: {\"file\", \"digit\", \"probabilities\": [10]}\n"
         "IMAGE: PNG or PGM of any size, a dark digit on a light background or the reverse, or a\n"
         "picture of one placed on a page (as `lenet inspect --png` draws it: only the framed picture\n"
         "counts). Each is prepared as MNIST was (inverted if light, cropped to the digit, scaled to\n"
         "fit 20x20, centred by mass in 28x28), then resized to 32x32 and normalised as in training.\n"
         "Prints the digit and the three most probable classes.");
}

int cmd_predict(int argc, char **argv) {
    const char *ckpt = NULL, *kernels = NULL;
    long threads = cli_ncpus();
    int json = 0, conv_bias = -1, preview = 0;
    enum { O_CKPT = 256, O_CB, O_THREADS, O_JSON, O_PREVIEW, O_KERN, O_HELP };
    static const struct option opts[] = {{"ckpt", 1, 0, O_CKPT},       {"conv-bias", 1, 0, O_CB},
                                         {"threads", 1, 0, O_THREADS}, {"json", 0, 0, O_JSON},
                                         {"preview", 0, 0, O_PREVIEW}, {"kernels", 1, 0, O_KERN},
                                         {"help", 0, 0, O_HELP},       {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = cli_getopt(argc, argv, "", opts)) != -1) {
        switch (c) {
        case O_CKPT: ckpt = optarg; break;
        case O_CB: if (cli_onoff("--conv-bias", optarg, &conv_bias)) return 2; break;
        case O_THREADS: if (cli_int("--threads", optarg, 1, 256, &threads)) return 2; break;
        case O_JSON: json = 1; break;
        case O_PREVIEW: preview = 1; break;
        case O_KERN: kernels = optarg; break;
        case O_HELP: usage(); return 0;
        default: return 2;
        }
    }
    const int n = argc - optind;
    if (n < 1) { cli_error("no image given; give at least one IMAGE (PNG or PGM)"); return 2; }
    char newest[4096];
    if (!(ckpt = cli_ckpt_or_newest(ckpt, newest, sizeof newest))) return 2;
    ln_error err;
    ln_lenet net;
    ln_load_opts lo = {.conv_bias = conv_bias, .max_batch = n < 256 ? n : 256, .threads = (int)threads,
                       .kernels = kernels};
    if (ln_lenet_load(&net, ckpt, &lo, &err)) return cli_fail(&err);
    /* Read and prepare every image first: a bad file stops before any output. */
    float *x = malloc(sizeof(float) * (size_t)n * LN_IMG * LN_IMG);
    float *probs = malloc(sizeof(float) * (size_t)n * LN_CLASSES);
    uint8_t(*prepared)[28 * 28] = malloc(sizeof *prepared * (size_t)n);
    if (!x || !probs || !prepared) {
        free(x), free(probs), free(prepared);
        ln_lenet_free(&net);
        cli_error("out of memory for %d images", n);
        return 1;
    }
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        const char *path = argv[optind + i];
        ln_image im;
        if (ln_image_read_gray(path, &im, &err)) { rc = cli_fail(&err); break; }
        if (ln_prepare_digit(im.data, im.width, im.height, path, prepared[i], NULL, &err)) rc = cli_fail(&err);
        else ln_transform_image(prepared[i], 28, 28, x + (size_t)i * LN_IMG * LN_IMG);
        ln_image_free(&im);
    }
    if (!rc) {
        ln_lenet_predict(&net, x, n, probs);
        for (int i = 0; i < n; i++) {
            const char *path = argv[optind + i];
            const float *p = probs + (size_t)i * LN_CLASSES;
            int order[LN_CLASSES];
            for (int k = 0; k < LN_CLASSES; k++) order[k] = k;
            for (int a = 0; a < 3; a++) /* top 3, the first maximum winning ties */
                for (int b = a + 1; b < LN_CLASSES; b++)
                    if (p[order[b]] > p[order[a]]) { int t = order[a]; order[a] = order[b]; order[b] = t; }
            const int digit = ln_argmax(p, LN_CLASSES);
            if (json) {
                fputs("{\"file\": ", stdout);
                cli_json_str(stdout, path);
                fputs(", ", stdout);
                cli_json_prediction(stdout, p, LN_CLASSES);
                puts("}");
            } else {
                printf("%s: %d   (%d %.2f%%, %d %.2f%%, %d %.2f%%)\n", path, digit, order[0], 100.0 * p[order[0]],
                       order[1], 100.0 * p[order[1]], order[2], 100.0 * p[order[2]]);
                if (preview) cli_preview_gray(stdout, prepared[i], 28, 28, 56, 28);
            }
        }
    }
    ln_lenet_free(&net);
    free(x), free(probs), free(prepared);
    return rc;
}
