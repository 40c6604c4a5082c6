/* test_serve_decode.c - `lenet serve`'s two readers of a `:predict` body
 * (src/cli/serve/decode.h) against each other: the fast reader of the
 * common shape (decode_fast.c) and jansson (decode.c), which decides every
 * other body and words every refusal. Thousands of bodies - valid ones in
 * every layout (flat and nested images, 1..5 per request, any JSON
 * whitespace), hand-written edge cases (numbers jansson reads as whole grey
 * levels but written otherwise, out-of-range and malformed numbers, other
 * keys, escapes, trailing bytes) and seeded random mutations of valid
 * bodies - each go through serve_decode_instances (both readers) and
 * serve_decode_instances_json (jansson alone): same status, same message,
 * same images. Whenever the fast reader accepts, jansson must accept with
 * the same images; every valid body of the common shape must take the fast
 * path, and the mutations must reach every kind of outcome. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/cli/serve/decode.h"
#include "harness.h"

enum { MAX_INSTANCES = 8, MAX_BODY = 1 << 16 };

typedef struct {
    long fast, json_only, refused, mismatches;
} tally;

/* A body being written, and the seeded generator that writes it. */
typedef struct {
    char *p;
    size_t len;
    uint64_t rng;
} buf;

static uint32_t rnd(buf *b, uint32_t n) { /* xorshift64*, 0..n-1 */
    b->rng ^= b->rng >> 12, b->rng ^= b->rng << 25, b->rng ^= b->rng >> 27;
    return (uint32_t)((b->rng * 0x2545f4914f6cdd1du) >> 32) % n;
}

static void put(buf *b, const char *s) {
    const size_t n = strlen(s);
    if (b->len + n < MAX_BODY) memcpy(b->p + b->len, s, n), b->len += n;
}

static void ws(buf *b, int on) {
    static const char *const w[] = {" ", "\t", "\n", "\r", "  ", "\r\n"};
    if (on && rnd(b, 3) == 0) put(b, w[rnd(b, 6)]);
}

/* A valid body of n images (levels in want), flat or nested, with or
 * without whitespace between tokens. */
static void valid_body(buf *b, int n, uint8_t *want, int spaced) {
    static const uint8_t edge[] = {0, 1, 9, 10, 99, 100, 199, 200, 249, 250, 255};
    b->len = 0;
    ws(b, spaced), put(b, "{"), ws(b, spaced), put(b, "\"instances\""), ws(b, spaced), put(b, ":"), ws(b, spaced);
    put(b, "[");
    for (int i = 0; i < n; i++) {
        const int nested = (int)rnd(b, 2);
        ws(b, spaced), put(b, "[");
        for (int k = 0; k < SERVE_PIXELS; k++) {
            const uint8_t v = rnd(b, 4) ? edge[rnd(b, sizeof edge)] : (uint8_t)rnd(b, 256);
            want[i * SERVE_PIXELS + k] = v;
            const int col = k % SERVE_SIDE;
            if (nested && col == 0) ws(b, spaced), put(b, "["), ws(b, spaced);
            char num[8];
            snprintf(num, sizeof num, "%u", v);
            ws(b, spaced), put(b, num), ws(b, spaced);
            if (nested && col == SERVE_SIDE - 1) {
                put(b, "]"), ws(b, spaced);
                if (k + 1 < SERVE_PIXELS) put(b, ",");
            } else if (k + 1 < SERVE_PIXELS) {
                put(b, ",");
            }
        }
        ws(b, spaced), put(b, "]"), ws(b, spaced);
        if (i + 1 < n) put(b, ",");
    }
    put(b, "]"), ws(b, spaced), put(b, "}"), ws(b, spaced);
}

/* Both readers on one body: the same decision, message and images. Returns
 * 1 if the fast reader took it. */
static int compare(test_ctx *t, tally *c, const char *body, size_t len, const char *what) {
    uint8_t *a = NULL, *j = NULL, *f = NULL;
    int na = -1, nj = -1, nf = -1;
    ln_error ea = {0}, ej = {0};
    const ln_status sa = serve_decode_instances(body, len, MAX_INSTANCES, &a, &na, &ea);
    const ln_status sj = serve_decode_instances_json(body, len, MAX_INSTANCES, &j, &nj, &ej);
    const int took = serve_decode_fast(body, len, MAX_INSTANCES, &f, &nf);
    int same = sa == sj && na == nj;
    if (same && sa == LN_OK) same = a && j && !memcmp(a, j, (size_t)na * SERVE_PIXELS);
    if (same && sa != LN_OK) same = !a && !j && !strcmp(ea.msg, ej.msg);
    if (took) same = same && sj == LN_OK && nf == nj && f && !memcmp(f, j, (size_t)nf * SERVE_PIXELS);
    else same = same && !f && nf == -1;
    if (!same) {
        c->mismatches++;
        if (c->mismatches <= 5) {
            fprintf(stderr, "mismatch (%s): %d/%d, fast %d, messages '%s' / '%s'; body (%zu bytes): %.200s\n", what,
                    (int)sa, (int)sj, took, ea.msg, ej.msg, len, body);
            CHECK(t, 0, "both readers agree on this body");
        }
    }
    if (took) c->fast++;
    else if (sj == LN_OK) c->json_only++;
    else c->refused++;
    free(a), free(j), free(f);
    return took;
}

static void test_valid(test_ctx *t, buf *b) {
    tally c = {0};
    uint8_t *want = malloc((size_t)5 * SERVE_PIXELS);
    int values_ok = 1;
    for (int r = 0; r < 300; r++) {
        const int n = 1 + (int)rnd(b, 5);
        valid_body(b, n, want, r % 2);
        compare(t, &c, b->p, b->len, "valid");
        uint8_t *got = NULL;
        int ng = 0;
        ln_error err;
        if (serve_decode_instances(b->p, b->len, MAX_INSTANCES, &got, &ng, &err) ||
            ng != n || memcmp(got, want, (size_t)n * SERVE_PIXELS))
            values_ok = 0;
        free(got);
    }
    free(want);
    CHECK(t, c.mismatches == 0, "300 valid bodies (flat/nested, 1-5 images, with and without whitespace): readers agree");
    CHECK(t, c.fast == 300, "every valid body of the common shape takes the fast path");
    CHECK(t, values_ok, "... and gives exactly the grey levels that were written");
}

/* Hand-written cases: the fast reader must decline each (jansson decides). */
static void test_edges(test_ctx *t, buf *b) {
    static const struct {
        const char *from, *to;
    } subst[] = {
        {"7", "007"},   {"7", "-0"},     {"7", "7.0"},      {"7", "7e0"},       {"7", "7E0"},     {"7", "0.5"},
        {"7", "-1"},    {"7", "256"},    {"7", "1000"},     {"7", "NaN"},       {"7", "Infinity"}, {"7", "null"},
        {"7", "true"},  {"7", "\"7\""},  {"7", "7."},       {"7", "+7"},        {"7", "0x7"},     {"7", "7,"},
        {"7", "[7]"},   {"7", "1e400"},  {"7", "2.55e2"},   {"7", "255.0000"},  {"7", "7 7"},     {"7", ""},
        {"\"instances\"", "\"\\u0069nstances\""},           {"\"instances\"", "\"Instances\""},
        {"\"instances\"", "\"instances\":[],\"instances\""}, {"{", "{\"signature_name\":\"x\","},
        {"{", "{\"inputs\":1,"}, {"{", "{\"extra\":null,"}, {"{", "\xef\xbb\xbf{"}, {"{", "[{"},
        {"}", "}x"},    {"}", "}}"},     {"}", "},"},       {"}", "}\v"},       {"}", "}\f"},     {"}", "}\x00"},
        {"}", ""},      {"}", ",\"instances\":[]}"},       {"[[", "[ [ ["},    {"]]", "]]]"},    {"]]", "],]]"},
        {"7", "\xc3\xa9"}, {"7", "\x80"}, {"7", "\x00"},
    };
    tally c = {0};
    uint8_t want[SERVE_PIXELS];
    char *base = malloc(MAX_BODY);
    for (size_t e = 0; e < sizeof subst / sizeof subst[0]; e++) {
        /* One flat image whose level 300 is 7; the edit replaces the first
         * occurrence of `from` at or after that spot (or anywhere). */
        buf v = {base, 0, 0x1234 + e};
        valid_body(&v, 1, want, 0);
        const char *at = NULL;
        if (!strcmp(subst[e].from, "7")) {
            /* position of level 300: after the 300th comma */
            const char *p = strchr(v.p, '[') + 1;
            for (int k = 0; k < 300; k++) p = strchr(p + 1, ',');
            v.len = (size_t)(p + 1 - v.p);
            put(&v, "7");
            /* rest of a valid body: the remaining levels as 0 */
            for (int k = 301; k < SERVE_PIXELS; k++) put(&v, ",0");
            put(&v, "]]}");
            at = v.p + (p + 1 - v.p);
        } else {
            v.p[v.len] = 0;
            at = strstr(v.p, subst[e].from);
        }
        if (!at) {
            CHECK(t, 0, "edge case: the text to replace is in the body");
            continue;
        }
        const size_t off = (size_t)(at - v.p), fl = strlen(subst[e].from);
        size_t tl = strlen(subst[e].to);
        if (!strcmp(subst[e].to, "}\x00") || !strcmp(subst[e].to, "\x00")) tl = 1 + (subst[e].to[0] == '}');
        memcpy(b->p, v.p, off);
        memcpy(b->p + off, subst[e].to, tl);
        memcpy(b->p + off + tl, v.p + off + fl, v.len - off - fl);
        b->len = v.len - fl + tl;
        char what[64];
        snprintf(what, sizeof what, "edge %zu (%s)", e, subst[e].to);
        if (compare(t, &c, b->p, b->len, what)) {
            fprintf(stderr, "fast reader took edge case %zu (%s)\n", e, subst[e].to);
            CHECK(t, 0, "the fast reader declines every edge case");
        }
    }
    /* Shapes: counts of rows, levels and images that are not an image. */
    static const int flat_sizes[] = {0, 1, 27, 28, 29, 783, 785};
    for (size_t s = 0; s < sizeof flat_sizes / sizeof flat_sizes[0]; s++) {
        b->len = 0;
        put(b, "{\"instances\":[[");
        for (int k = 0; k < flat_sizes[s]; k++) put(b, k ? ",1" : "1");
        put(b, "]]}");
        compare(t, &c, b->p, b->len, "flat size");
    }
    static const int rows[][2] = {{27, 28}, {29, 28}, {28, 27}, {28, 29}, {1, 784}};
    for (size_t s = 0; s < sizeof rows / sizeof rows[0]; s++) {
        b->len = 0;
        put(b, "{\"instances\":[[");
        for (int r = 0; r < rows[s][0]; r++) {
            put(b, r ? ",[" : "[");
            for (int k = 0; k < rows[s][1]; k++) put(b, k ? ",2" : "2");
            put(b, "]");
        }
        put(b, "]]}");
        compare(t, &c, b->p, b->len, "rows");
    }
    const char *whole[] = {"", " ", "{}", "[]", "null", "{\"instances\":[]}", "{\"instances\":{}}",
                           "{\"instances\":null}", "{\"instances\":[1]}", "{\"instances\":[[]]}", "{\"instances\":[[[]]]}"};
    for (size_t s = 0; s < sizeof whole / sizeof whole[0]; s++) compare(t, &c, whole[s], strlen(whole[s]), whole[s]);
    /* More images than allowed (valid otherwise): jansson's message. */
    uint8_t *many = malloc((size_t)(MAX_INSTANCES + 1) * SERVE_PIXELS);
    valid_body(b, MAX_INSTANCES + 1, many, 0);
    compare(t, &c, b->p, b->len, "too many images");
    free(many);
    free(base);
    CHECK(t, c.mismatches == 0, "edge cases (numbers, keys, escapes, trailing bytes, shapes, counts): readers agree");
    CHECK(t, c.fast == 0 && c.json_only >= 5 && c.refused >= 40,
          "the fast reader declines every edge case; jansson accepts some (007 is not, -0 and 7.0 are) and refuses the rest");
}

/* Seeded random edits of valid bodies. */
static void test_mutations(test_ctx *t, buf *b) {
    static const char pool[] = "0123456789-+.eE,[]{}:\" \t\n\ra\\u\x80\xff";
    tally c = {0};
    uint8_t *want = malloc((size_t)3 * SERVE_PIXELS);
    const int runs = TEST_UNDER_ASAN ? 1500 : 6000;
    for (int r = 0; r < runs; r++) {
        valid_body(b, 1 + (int)rnd(b, 3), want, (int)rnd(b, 2));
        const int edits = 1 + (int)rnd(b, 3);
        for (int e = 0; e < edits && b->len > 2; e++) {
            const size_t at = rnd(b, (uint32_t)b->len);
            switch (rnd(b, 5)) {
            case 0: b->p[at] = pool[rnd(b, sizeof pool - 1)]; break; /* replace */
            case 1: memmove(b->p + at, b->p + at + 1, b->len - at - 1), b->len--; break; /* delete */
            case 2: /* insert */
                if (b->len + 1 < MAX_BODY) {
                    memmove(b->p + at + 1, b->p + at, b->len - at);
                    b->p[at] = pool[rnd(b, sizeof pool - 1)];
                    b->len++;
                }
                break;
            case 3: b->len = at; break; /* truncate */
            default: { /* replace a digit run by a number written another way */
                static const char *const nums[] = {"0", "255", "256", "00", "-0", "1.0", "1e1", "12", "-5", "3.5"};
                const char *s = nums[rnd(b, 10)];
                const size_t n = strlen(s);
                if (b->len + n < MAX_BODY && b->p[at] >= '0' && b->p[at] <= '9') {
                    memmove(b->p + at + n, b->p + at + 1, b->len - at - 1);
                    memcpy(b->p + at, s, n);
                    b->len += n - 1;
                }
            }
            }
        }
        compare(t, &c, b->p, b->len, "mutation");
    }
    free(want);
    char msg[160];
    snprintf(msg, sizeof msg, "%d mutated bodies: readers agree (fast %ld, jansson-only valid %ld, refused %ld)", runs,
             c.fast, c.json_only, c.refused);
    CHECK(t, c.mismatches == 0, msg);
    CHECK(t, c.fast > runs / 20 && c.json_only > runs / 400 && c.refused > runs / 4,
          "the mutations reach all three outcomes: fast path, jansson-only valid, refused");
}

int main(void) {
    test_ctx t = {"test_serve_decode", 0, 0};
    buf b = {malloc(MAX_BODY + 1), 0, 0x9e3779b97f4a7c15u};
    test_valid(&t, &b);
    test_edges(&t, &b);
    test_mutations(&t, &b);
    free(b.p);
    return test_finish(&t);
}
