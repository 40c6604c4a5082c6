/* fuzz_serve.c - libFuzzer target for what `lenet serve` does with a
 * request body before any network code (src/cli/serve/decode.c): the first byte
 * picks the route - even: a `:predict` JSON body (jansson, then our checks
 * of shape and grey levels), odd: a `:classify-image` picture (the PNG/PGM
 * reader, then ln_prepare_digit) - and the rest is the body. A success must
 * give 1..max images (every byte is read, so ASan checks the buffer); a
 * failure a one-line message and nothing allocated. A `:predict` body also
 * goes through jansson alone (serve_decode_instances_json) and the fast
 * reader alone (serve_decode_fast): the server's answer must be jansson's
 * (status, message, images), and what the fast reader accepts jansson must
 * accept with the same images. Anything else aborts.
 *
 * jansson, libpng and zlib come from the system (exercised, not coverage
 * guided); our decoding, the PGM parser and the preparation are instrumented.
 *
 * Build and run: make fuzz-smoke, or
 *   build-fuzz/fuzz_serve -max_total_time=600 build-fuzz/corpus-fuzz_serve fuzz/corpus/fuzz_serve
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/cli/serve/decode.h"

enum { MAX_INSTANCES = 64 };

static void check_error(ln_status s, const ln_error *err) {
    if (s != LN_E_INPUT && s != LN_E_NOMEM) abort();
    if (err->status != s || !err->msg[0] || strchr(err->msg, '\n')) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const uint8_t *body = data + 1;
    const size_t len = size - 1;
    ln_error err = {0};
    unsigned sum = 0;
    if (data[0] % 2 == 0) {
        uint8_t *images = (uint8_t *)1;
        int n = -1;
        const ln_status s = serve_decode_instances((const char *)body, len, MAX_INSTANCES, &images, &n, &err);
        uint8_t *ref = NULL, *fast = NULL;
        int nref = -1, nfast = -1;
        ln_error eref = {0};
        const ln_status sref = serve_decode_instances_json((const char *)body, len, MAX_INSTANCES, &ref, &nref, &eref);
        const int took = serve_decode_fast((const char *)body, len, MAX_INSTANCES, &fast, &nfast);
        if (s != sref || n != nref) abort();
        if (took && (sref != LN_OK || nfast != nref || memcmp(fast, ref, (size_t)nref * SERVE_PIXELS))) abort();
        if (!took && (fast || nfast != -1)) abort();
        if (s == LN_OK) {
            if (!images || n < 1 || n > MAX_INSTANCES) abort();
            if (memcmp(images, ref, (size_t)n * SERVE_PIXELS)) abort();
            for (size_t i = 0; i < (size_t)n * SERVE_PIXELS; i++) sum += images[i];
            free(images);
        } else {
            check_error(s, &err);
            if (images || n != 0 || strcmp(err.msg, eref.msg)) abort();
        }
        free(ref), free(fast);
    } else {
        uint8_t out[SERVE_PIXELS];
        const ln_status s = serve_decode_picture(body, len, out, &err);
        if (s == LN_OK) {
            for (size_t i = 0; i < SERVE_PIXELS; i++) sum += out[i];
        } else {
            check_error(s, &err);
        }
    }
    volatile unsigned sink = sum;
    (void)sink;
    return 0;
}
