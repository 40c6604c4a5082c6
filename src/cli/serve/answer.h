/* answer.h - `lenet serve`: the body of a prediction answer, written
 * straight into one buffer.
 *
 * serve_answer_predictions: {"predictions": [{"digit": D, "probabilities":
 * [10 numbers]}, ...]} for n images (probs: n * 10), each with
 * "prepared": 28 lists of 28 grey levels after the probabilities when
 * `prepared` is not NULL (n is 1 then). The bytes are exactly what jansson's
 * json_dumps(..., JSON_COMPACT | JSON_REAL_PRECISION(9)) writes for the same
 * values (tests/test_serve_answer.c checks it), so a probability reads back
 * as the exact float32. Returns a malloc'ed buffer and its length, or NULL
 * when out of memory or a probability is not finite (jansson cannot write
 * one either).
 *
 * serve_answer_real: one number as jansson writes a real at precision 9:
 * "%.9g", ".0" added when that looks like an integer, the exponent without
 * '+' and leading zeros ("1e-5"). Returns its length (< size), or -1 when it
 * does not fit. */
#ifndef LENET_SERVE_ANSWER_H
#define LENET_SERVE_ANSWER_H

#include <stddef.h>
#include <stdint.h>

char *serve_answer_predictions(const float *probs, int n, const uint8_t *prepared, size_t *len);
int serve_answer_real(char *buf, size_t size, double v);

#endif
