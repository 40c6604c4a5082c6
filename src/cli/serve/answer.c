/* answer.c - prediction answers without a JSON tree (see answer.h).
 *
 * Why hand-written: building a one-image answer as jansson values and
 * dumping them took 7.0-7.5 us (13 allocations), writing the same bytes here
 * 3.0-3.6 us (300,000 answers in a loop, 2-CPU machine shared with other
 * work), out of roughly 30 us of server CPU per request under wrk -c64
 * (/proc/PID/stat over the run; the end-to-end change, about -7 %, is within
 * that shared machine's noise). The "%.9g" formatting both need is most of
 * what is left. Every other answer (status, errors) still goes through
 * jansson. */
#include "answer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "lenet/arch.h"
#include "lenet/metrics.h"

int serve_answer_real(char *buf, size_t size, double v) {
    const int r = snprintf(buf, size, "%.9g", v);
    if (r < 0 || (size_t)r >= size) return -1;
    size_t len = (size_t)r;
    if (!strchr(buf, '.') && !strchr(buf, 'e')) {
        if (len + 3 > size) return -1;
        memcpy(buf + len, ".0", 3);
        len += 2;
    }
    char *e = strchr(buf, 'e');
    if (e) { /* drop the exponent's '+' and leading zeros: e+05 -> e5, e-05 -> e-5 */
        char *from = e + 1, *to = e + 1;
        if (*to == '-') to++, from++;
        else if (*from == '+') from++;
        while (*from == '0' && from[1]) from++;
        memmove(to, from, len + 1 - (size_t)(from - buf));
        len -= (size_t)(from - to);
    }
    return (int)len;
}

typedef struct {
    char *p;
    size_t len, cap;
} out_buf;

/* Append `s` (n bytes); the capacity was computed to fit. */
static void add(out_buf *o, const char *s, size_t n) {
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

char *serve_answer_predictions(const float *probs, int n, const uint8_t *prepared, size_t *len) {
    /* Per image: the fixed text (~40 bytes), 10 numbers of at most 16
     * bytes and commas; "prepared": 784 levels of at most 4 bytes with
     * brackets. */
    const size_t per = 64 + LN_CLASSES * 17 + (prepared ? 16 + SERVE_PIXELS * 4 + SERVE_SIDE * 3 : 0);
    out_buf o = {malloc(32 + (size_t)n * per), 0, 32 + (size_t)n * per};
    if (!o.p) return NULL;
    static const char head[] = "{\"predictions\":[";
    add(&o, head, sizeof head - 1);
    for (int i = 0; i < n; i++) {
        const float *p = probs + (size_t)i * LN_CLASSES;
        char num[40];
        int k = snprintf(num, sizeof num, "%s{\"digit\":%d,\"probabilities\":[", i ? "," : "", ln_argmax(p, LN_CLASSES));
        add(&o, num, (size_t)k);
        for (int c = 0; c < LN_CLASSES; c++) {
            if (!isfinite(p[c])) {
                free(o.p);
                return NULL;
            }
            if (c) add(&o, ",", 1);
            const int m = serve_answer_real(num, sizeof num, (double)p[c]);
            if (m < 0) {
                free(o.p);
                return NULL;
            }
            add(&o, num, (size_t)m);
        }
        add(&o, "]", 1);
        if (prepared) {
            static const char key[] = ",\"prepared\":[";
            add(&o, key, sizeof key - 1);
            for (int y = 0; y < SERVE_SIDE; y++) {
                add(&o, y ? ",[" : "[", y ? 2 : 1);
                for (int x = 0; x < SERVE_SIDE; x++) {
                    k = snprintf(num, sizeof num, "%s%u", x ? "," : "", prepared[y * SERVE_SIDE + x]);
                    add(&o, num, (size_t)k);
                }
                add(&o, "]", 1);
            }
            add(&o, "]", 1);
        }
        add(&o, "}", 1);
    }
    add(&o, "]}", 2);
    *len = o.len;
    return o.p;
}
