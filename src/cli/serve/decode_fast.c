/* decode_fast.c - the common `:predict` body read without a JSON tree (see
 * decode.h, serve_decode_fast).
 *
 * Why hand-written: jansson builds one malloc'ed node per number, and with
 * 784 numbers per image that was about half of the server's CPU time per
 * request (perf, wrk -c64 on 2 cores: malloc/free and jansson 30 of the
 * 37 % user time of the HTTP threads); no Debian JSON library parses into a
 * caller's buffer without a node per value. This reads exactly one shape and
 * declines everything else, so jansson (decode.c) still decides every other
 * body and words every error: its answers are the reference, and
 * tests/test_serve_decode.c and fuzz/fuzz_serve.c check on every input they
 * make that an accepted body is one jansson accepts with the same images.
 * Measured in bench/serve.sh: see bench/serve_results.md. */
#include "decode.h"

#include <stdlib.h>

/* JSON whitespace (RFC 8259): space, tab, line feed, carriage return. */
static const char *skip_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

static int is_digit(const char *p, const char *end) { return p < end && *p >= '0' && *p <= '9'; }

/* One grey level written as a JSON integer 0..255 without sign, fraction
 * or exponent ("0", "7", "255"; not "007", "-0", "1.0", "1e2"). */
static const char *level(const char *p, const char *end, uint8_t *out) {
    if (!is_digit(p, end)) return NULL;
    unsigned v = (unsigned)(*p++ - '0');
    if (v) /* no leading zero: at most two more digits */
        for (int k = 0; k < 2 && is_digit(p, end); k++) v = v * 10 + (unsigned)(*p++ - '0');
    if (is_digit(p, end) || (p < end && (*p == '.' || *p == 'e' || *p == 'E')) || v > 255) return NULL;
    *out = (uint8_t)v;
    return p;
}

/* The rest of a list of exactly `count` levels, after its '['. */
static const char *levels(const char *p, const char *end, uint8_t *out, int count) {
    for (int k = 0; k < count; k++) {
        p = skip_ws(p, end);
        if (!(p = level(p, end, out + k))) return NULL;
        p = skip_ws(p, end);
        if (p >= end || *p != (k + 1 < count ? ',' : ']')) return NULL;
        p++;
    }
    return p;
}

/* One image at its '[': 28 lists of 28 levels, or 784 levels. */
static const char *image(const char *p, const char *end, uint8_t *out) {
    p = skip_ws(p + 1, end);
    if (p < end && *p != '[') return levels(p, end, out, SERVE_PIXELS);
    for (int r = 0; r < SERVE_SIDE; r++) {
        p = skip_ws(p, end);
        if (p >= end || *p != '[') return NULL;
        if (!(p = levels(p + 1, end, out + r * SERVE_SIDE, SERVE_SIDE))) return NULL;
        p = skip_ws(p, end);
        if (p >= end || *p != (r + 1 < SERVE_SIDE ? ',' : ']')) return NULL;
        p++;
    }
    return p;
}

/* `lit` next (and skipped), else NULL. */
static const char *expect(const char *p, const char *end, const char *lit) {
    for (; *lit; lit++, p++)
        if (p >= end || *p != *lit) return NULL;
    return p;
}

int serve_decode_fast(const char *body, size_t len, int max_instances, uint8_t **images, int *n) {
    const char *end = body + len, *p = body;
    /* The shortest image is 784 one-digit levels, commas and brackets. */
    const size_t min_image = 2 * SERVE_PIXELS + 1;
    size_t cap = len / min_image;
    if (cap > (size_t)max_instances) cap = (size_t)max_instances;
    if (cap == 0) return 0;
    p = skip_ws(p, end);
    if (!(p = expect(p, end, "{"))) return 0;
    p = skip_ws(p, end);
    if (!(p = expect(p, end, "\"instances\""))) return 0;
    p = skip_ws(p, end);
    if (!(p = expect(p, end, ":"))) return 0;
    p = skip_ws(p, end);
    if (!(p = expect(p, end, "["))) return 0;
    uint8_t *px = malloc(cap * SERVE_PIXELS);
    if (!px) return 0;
    size_t count = 0;
    for (;;) {
        p = skip_ws(p, end);
        if (count == cap || p >= end || *p != '[' || !(p = image(p, end, px + count * SERVE_PIXELS))) break;
        count++;
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (!(p = expect(p, end, "]"))) break;
        p = skip_ws(p, end);
        if (!(p = expect(p, end, "}"))) break;
        if (skip_ws(p, end) != end) break;
        *images = px;
        *n = (int)count;
        return 1;
    }
    free(px);
    return 0;
}
