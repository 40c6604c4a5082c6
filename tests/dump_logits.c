/* dump_logits.c - test helper for tests/test_onnx.sh: the MNIST test set as
 * the pipeline feeds it to the network, and our network's logits for it.
 *
 *   dump_logits CKPT MNIST_DIR OUT
 *
 * OUT (little-endian): "LNDUMP01", uint32 n, uint32 0, then int32 labels[n],
 * float32 images[n][1][32][32], float32 logits[n][10]. The variant (conv
 * bias) is taken from the checkpoint. Exit 0 on success, else 1 or 2 with a
 * message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lenet/load.h"
#include "lenet/pipeline.h"
#include "lenet/transform.h"

static int fail(const ln_error *err) {
    fprintf(stderr, "dump_logits: %s\n", err->msg);
    return ln_status_exit_code(err->status);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: dump_logits CKPT MNIST_DIR OUT\n");
        return 2;
    }
    ln_error err;
    const int B = 256;
    ln_lenet net;
    const ln_load_opts lo = {.conv_bias = -1, .max_batch = B, .threads = 2};
    if (ln_lenet_load(&net, argv[1], &lo, &err)) return fail(&err);
    ln_dataset ds;
    if (ln_dataset_load(argv[2], "test", &ds, &err)) return fail(&err);
    const uint32_t n = ds.images.count;
    int32_t *labels = malloc(sizeof *labels * n);
    float *images = malloc(sizeof *images * (size_t)n * 1024), *logits = malloc(sizeof *logits * (size_t)n * 10);
    if (!labels || !images || !logits) {
        fprintf(stderr, "dump_logits: out of memory\n");
        return 1;
    }
    for (uint32_t first = 0; first < n; first += (uint32_t)B) {
        const int rows = (int)(n - first < (uint32_t)B ? n - first : (uint32_t)B);
        ln_pipeline_rows(&ds, first, rows, 2, images + (size_t)first * 1024, labels + first);
        ln_lenet_forward(&net, images + (size_t)first * 1024, rows);
        memcpy(logits + (size_t)first * 10, ln_lenet_logits(&net), sizeof(float) * 10 * (size_t)rows);
    }
    FILE *f = fopen(argv[3], "wb");
    uint32_t hdr[2] = {n, 0};
    int ok = f && fwrite("LNDUMP01", 1, 8, f) == 8 && fwrite(hdr, 4, 2, f) == 2 &&
             fwrite(labels, 4, n, f) == n && fwrite(images, 4, (size_t)n * 1024, f) == (size_t)n * 1024 &&
             fwrite(logits, 4, (size_t)n * 10, f) == (size_t)n * 10;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok) fprintf(stderr, "dump_logits: cannot write %s\n", argv[3]);
    free(labels), free(images), free(logits);
    ln_lenet_free(&net);
    ln_dataset_free(&ds);
    return ok ? 0 : 1;
}
