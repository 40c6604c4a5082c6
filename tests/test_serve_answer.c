/* test_serve_answer.c - `lenet serve`'s prediction answers (src/cli/serve/
 * answer.h) byte for byte against jansson writing the same values the way
 * the server wrote them before (json_dumps, JSON_COMPACT |
 * JSON_REAL_PRECISION(9)): single numbers of every magnitude and sign
 * (exponents with and without leading zeros, whole numbers, subnormals),
 * answers of 1..6 images of random float32 probabilities, with and without
 * the "prepared" 28x28; every probability reads back as the exact float32;
 * a non-finite probability is refused. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/cli/serve/answer.h"
#include "../src/cli/serve/decode.h"
#include "harness.h"
#include "lenet/arch.h"
#include "lenet/metrics.h"

#define JSON_OUT (JSON_COMPACT | JSON_REAL_PRECISION(9))

static uint32_t rnd(uint64_t *s) { /* xorshift64* */
    *s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
    return (uint32_t)((*s * 0x2545f4914f6cdd1du) >> 32);
}

/* A float with random bits, or one of the awkward values. */
static float some_float(uint64_t *s, int probability) {
    static const float edge[] = {0.0f, 1.0f, -0.0f, 1e-5f, 1e-10f, 0.5f, 1e-45f, 1.17549435e-38f, 0.999999940f,
                                 100.0f, 123456789.0f, 1e30f, 3.40282347e38f};
    const uint32_t k = rnd(s) % 8;
    if (k == 0) return edge[rnd(s) % (sizeof edge / sizeof edge[0])];
    float f;
    uint32_t bits = rnd(s);
    if (probability) bits = (bits & 0x3fffffffu) % 0x3f800001u; /* [0, 1] */
    memcpy(&f, &bits, sizeof f);
    return isfinite(f) ? f : 0.25f;
}

static char *jansson_answer(const float *probs, int n, const uint8_t *prepared) {
    json_t *list = json_array();
    for (int i = 0; i < n; i++) {
        const float *p = probs + (size_t)i * LN_CLASSES;
        json_t *pr = json_array();
        for (int k = 0; k < LN_CLASSES; k++) json_array_append_new(pr, json_real((double)p[k]));
        json_t *one = json_pack("{s:i,s:o}", "digit", ln_argmax(p, LN_CLASSES), "probabilities", pr);
        if (prepared) {
            json_t *rows = json_array();
            for (int y = 0; y < SERVE_SIDE; y++) {
                json_t *row = json_array();
                for (int x = 0; x < SERVE_SIDE; x++) json_array_append_new(row, json_integer(prepared[y * SERVE_SIDE + x]));
                json_array_append_new(rows, row);
            }
            json_object_set_new(one, "prepared", rows);
        }
        json_array_append_new(list, one);
    }
    json_t *v = json_pack("{s:o}", "predictions", list);
    char *s = json_dumps(v, JSON_OUT);
    json_decref(v);
    return s;
}

static void test_reals(test_ctx *t) {
    uint64_t s = 42;
    long bad = 0, n = 0;
    for (int i = 0; i < 200000; i++) {
        double v;
        if (i % 2) {
            v = (double)some_float(&s, 0);
            if (rnd(&s) % 2) v = -v;
        } else {
            uint64_t bits = (uint64_t)rnd(&s) << 32 | rnd(&s);
            memcpy(&v, &bits, sizeof v);
            if (!isfinite(v)) continue;
        }
        json_t *a = json_array();
        json_array_append_new(a, json_real(v));
        char *ref = json_dumps(a, JSON_OUT);
        json_decref(a);
        char buf[64];
        const int len = serve_answer_real(buf, sizeof buf, v);
        n++;
        const size_t rl = ref ? strlen(ref) : 0;
        if (!ref || len < 0 || (size_t)len != rl - 2 || memcmp(buf, ref + 1, rl - 2)) {
            if (++bad <= 5) fprintf(stderr, "real %.17g: ours '%s' (%d), jansson %s\n", v, len < 0 ? "" : buf, len, ref);
        }
        free(ref);
    }
    char msg[128];
    snprintf(msg, sizeof msg, "%ld numbers (random doubles, floats, whole numbers, subnormals) written as jansson does", n);
    CHECK(t, bad == 0 && n > 190000, msg);
    char small[4];
    CHECK(t, serve_answer_real(small, sizeof small, 0.123) == -1, "a number that does not fit: -1");
}

static void test_answers(test_ctx *t) {
    uint64_t s = 7;
    long bad = 0, exact = 1;
    float probs[6 * LN_CLASSES];
    uint8_t prepared[SERVE_PIXELS];
    for (int r = 0; r < 3000; r++) {
        const int with_prep = r % 3 == 0, n = with_prep ? 1 : 1 + (int)(rnd(&s) % 6);
        for (int k = 0; k < n * LN_CLASSES; k++) probs[k] = some_float(&s, 1);
        for (int k = 0; k < SERVE_PIXELS; k++) prepared[k] = (uint8_t)(rnd(&s) % 3 ? rnd(&s) : 0);
        size_t len = 0;
        char *ours = serve_answer_predictions(probs, n, with_prep ? prepared : NULL, &len);
        char *ref = jansson_answer(probs, n, with_prep ? prepared : NULL);
        if (!ours || !ref || len != strlen(ref) || memcmp(ours, ref, len)) {
            if (++bad <= 3) fprintf(stderr, "answer differs:\n ours    %.300s\n jansson %.300s\n", ours, ref);
        } else if (r % 10 == 0) { /* reads back as the same float32 */
            json_t *v = json_loadb(ours, len, 0, NULL);
            json_t *p = json_object_get(json_array_get(json_object_get(v, "predictions"), 0), "probabilities");
            for (int k = 0; k < LN_CLASSES; k++) exact &= (float)json_real_value(json_array_get(p, (size_t)k)) == probs[k];
            json_decref(v);
        }
        free(ours), free(ref);
    }
    CHECK(t, bad == 0, "3,000 answers (1-6 images, with and without \"prepared\") equal jansson's byte for byte");
    CHECK(t, exact, "every probability reads back as the exact float32");
    probs[3] = NAN;
    size_t len = 0;
    char *none = serve_answer_predictions(probs, 1, NULL, &len);
    CHECK(t, none == NULL, "a NaN probability: no answer (NULL), never a silently short list");
    free(none);
    probs[3] = INFINITY;
    none = serve_answer_predictions(probs, 1, NULL, &len);
    CHECK(t, none == NULL, "an infinite probability: no answer (NULL)");
    free(none);
}

int main(void) {
    test_ctx t = {"test_serve_answer", 0, 0};
    test_reals(&t);
    test_answers(&t);
    return test_finish(&t);
}
