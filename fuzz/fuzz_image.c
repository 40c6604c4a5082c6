/* fuzz_image.c - libFuzzer target for the image reader (PNG via libpng,
 * PGM P2/P5), through the same in-memory decoder ln_image_read_gray uses
 * after reading a file. A successful decode must give a gray image within
 * the documented limits (every pixel is touched, so ASan checks the
 * buffer); a failure must leave nothing allocated and come with a one-line
 * message naming the input. Anything else aborts (a finding).
 *
 * Note: libpng and zlib come from the system, so their code is exercised
 * but not coverage-guided; our own code (the PGM parser, the PNG wrapper's
 * transforms and conversions) is instrumented.
 *
 * Build and run: make fuzz-smoke (see the Makefile), or
 *   build-fuzz/fuzz_image -max_total_time=600 build-fuzz/corpus-fuzz_image fuzz/corpus/fuzz_image
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lenet/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char name[] = "fuzz-input";
    ln_image im;
    ln_error err = {0};
    ln_status s = ln_image_decode_gray(data, size, name, &im, &err);
    if (s == LN_OK) {
        if (!im.data || im.channels != 1 || im.width < 1 || im.height < 1 ||
            (unsigned)im.width > LN_IMAGE_MAX_SIDE || (unsigned)im.height > LN_IMAGE_MAX_SIDE ||
            (unsigned long long)im.width * (unsigned)im.height > LN_IMAGE_MAX_PIXELS)
            abort();
        unsigned sum = 0;
        for (size_t i = 0, n = (size_t)im.width * (size_t)im.height; i < n; i++) sum += im.data[i];
        volatile unsigned sink = sum;
        (void)sink;
        ln_image_free(&im);
    } else {
        if (s != LN_E_INPUT && s != LN_E_NOMEM) abort();
        if (err.status != s || !err.msg[0] || strchr(err.msg, '\n') || !strstr(err.msg, name)) abort();
        if (im.data) abort();
    }
    return 0;
}
