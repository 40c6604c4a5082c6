/* test_golden.c - LeNet-5 against a float64 PyTorch reference.
 *
 * Reads tests/data/golden_lenet.bin (written by tests/ref/make_golden.py;
 * format in tests/ref/README.md): a batch of 32 inputs and labels, initial
 * parameters (float32 values), forward activations, logits, loss, the
 * gradient of every parameter, and 10 momentum-SGD steps (lr 0.01, momentum
 * 0.9) on the same batch: the loss before each step and the final
 * parameters. All reference values are float64.
 *
 * The reader validates everything (magic, counts, name lengths, ndim, dims
 * and their product against the bytes left, no trailing bytes, no duplicate
 * names, finite values) before anything is used, so a truncated or corrupt
 * file fails the test cleanly; the reader is itself tested on truncated and
 * corrupted copies (each in an allocation of exactly its size, so that under
 * ASan an over-read would be caught).
 *
 * Then, for every kernel variant the CPU supports ("generic", "avx2",
 * "avx512") and threads = 1 and 2:
 *   - ln_lenet_forward on the input; compare the activations (ours are
 *     channel-major (C,B,H,W) for the conv part and ReLU'd in place: we
 *     compare against relu(act.conv1) etc. transposed from (B,C,H,W)), the
 *     pools, fc1/fc2 (after ReLU) and the logits;
 *   - the loss from ln_softmax_xent; the gradient of every parameter from
 *     ln_lenet_zero_grad + ln_lenet_backward(dlogits);
 *   - 10 steps of ln_momentum_step (lr 0.01, momentum 0.9: the same rule as
 *     PyTorch's SGD without dampening) from the initial weights: each step's
 *     loss and the final parameters;
 *   - threads 1 and 2 must give bit-identical logits and gradients (memcmp),
 *     and final parameters for the best variant.
 * The SGD part runs with threads 1 for every variant and with threads 2 for
 * the variant the CPU would pick by default (to keep the test short under
 * ASan); everything else runs for all six configurations.
 *
 * Metrics, per tensor (ours is float32 throughout, the reference float64):
 *   rel  = max_i |ours_i - ref_i| / max(|ref_i|, F),  F = 1e-2 * max_j |ref_j|
 *   norm = max_i |ours_i - ref_i| / max_j |ref_j|     (normwise relative error)
 * Why the floor F: an entry much smaller than its tensor's largest is what
 * is left after cancellation in a sum whose terms have the tensor's scale
 * (conv1's weight gradient sums 32*784 = 25,088 products, fc weights 32,
 * conv outputs 25..150), so its float32 error is a few ulps of the *scale*,
 * not of the entry. Observed: |ours - ref| <= ~4e-7 * max|ref| everywhere
 * (a few float32 ulps). With F = 1e-3 * max|ref| that already reads as
 * rel ~1.2e-4 (grad.conv1.weight / grad.fc1.weight with the FMA kernels,
 * relu(act.conv2) ~2.3e-4), i.e. it would demand better than float32 can
 * deliver for ~1e-3-sized entries; F = 1e-2 * max|ref| keeps rel a true
 * relative error for every entry >= 1% of the tensor's scale and bounds
 * the rest by 1e-6 * scale. The normwise check (1e-5, ~100 ulps) is the
 * tensor-level guard.
 * Tolerances:
 *   activations and logits  rel <= 1e-4 and norm <= 1e-5
 *   gradients               rel <= 1e-4 and norm <= 1e-5
 *   loss (each SGD step too) |ours - ref| / ref <= 1e-5
 *   final parameters        rel <= 1e-5
 * Every comparison prints its max rel (and normwise) difference; a summary
 * of the worst per tensor over all configurations is printed at the end.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lenet/loss.h"
#include "lenet/net.h"
#include "lenet/optim.h"
#include "../src/net_internal.h"

#define TOL_ACT 1e-4   /* activations and logits, rel */
#define TOL_GRAD 1e-4  /* gradients, rel */
#define TOL_NORM 1e-5  /* activations, logits and gradients, normwise */
#define TOL_LOSS 1e-5  /* loss and every SGD step's loss, relative */
#define TOL_FINAL 1e-5 /* parameters after the SGD steps, rel */
#define FLOOR 1e-2     /* F = FLOOR * max|ref| */

#define GOLD_MAX_RECORDS 4096u
#define GOLD_MAX_NAME 255u
#define GOLD_MAX_DIMS 8u
#define GOLD_MAX_FILE (256u << 20)

/* ---- reader ------------------------------------------------------------ */
typedef struct {
    char name[GOLD_MAX_NAME + 1];
    uint32_t ndim;
    uint32_t dims[GOLD_MAX_DIMS];
    size_t count;
    double *data;
} grec;

typedef struct {
    uint32_t n;
    grec *r;
} golden;

static void golden_free(golden *g) {
    if (g->r)
        for (uint32_t i = 0; i < g->n; i++) free(g->r[i].data);
    free(g->r);
    g->r = NULL, g->n = 0;
}

static uint32_t rd_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static double rd_f64(const uint8_t *p) {
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--) u = u << 8 | p[i];
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static int host_is_le(void) {
    const uint64_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1 && sizeof(double) == 8;
}

/* Parse buf[0..len). Returns 0, or -1 with a message in err. On failure g
 * is left empty. */
static int golden_parse(const uint8_t *buf, size_t len, golden *g, char *err, size_t errsz) {
    size_t pos = 0;
    memset(g, 0, sizeof *g);
#define FAIL(...)                                \
    do {                                         \
        snprintf(err, errsz, __VA_ARGS__);       \
        golden_free(g);                          \
        return -1;                               \
    } while (0)
#define NEED(n, what)                                                                                     \
    do {                                                                                                  \
        if ((size_t)(n) > len - pos)                                                                      \
            FAIL("truncated at offset %zu: need %zu bytes for %s, %zu left", pos, (size_t)(n), what, len - pos); \
    } while (0)
    NEED(8, "the magic");
    if (memcmp(buf, "LNGOLD01", 8)) FAIL("bad magic (expected LNGOLD01)");
    pos = 8;
    NEED(4, "the record count");
    const uint32_t n = rd_u32(buf + pos);
    pos += 4;
    /* every record takes >= 9 bytes (name_len, 1 name byte, ndim) */
    if (n == 0 || n > GOLD_MAX_RECORDS || (size_t)n * 9 > len - pos)
        FAIL("record count %u is impossible for %zu bytes (max %u)", n, len, GOLD_MAX_RECORDS);
    g->r = calloc(n, sizeof *g->r);
    if (!g->r) FAIL("out of memory for %u records", n);
    for (uint32_t i = 0; i < n; i++) {
        grec *r = &g->r[i];
        NEED(4, "a name length");
        const uint32_t nl = rd_u32(buf + pos);
        pos += 4;
        if (nl == 0 || nl > GOLD_MAX_NAME) FAIL("record %u: name length %u not in 1..%u", i, nl, GOLD_MAX_NAME);
        NEED(nl, "a name");
        for (uint32_t k = 0; k < nl; k++)
            if (buf[pos + k] < 0x21 || buf[pos + k] > 0x7e) FAIL("record %u: name has a non-printable byte", i);
        memcpy(r->name, buf + pos, nl);
        r->name[nl] = 0;
        pos += nl;
        for (uint32_t k = 0; k < i; k++)
            if (!strcmp(g->r[k].name, r->name)) FAIL("record %u: duplicate name '%s'", i, r->name);
        NEED(4, "ndim");
        r->ndim = rd_u32(buf + pos);
        pos += 4;
        if (r->ndim > GOLD_MAX_DIMS) FAIL("record '%s': ndim %u > %u", r->name, r->ndim, GOLD_MAX_DIMS);
        NEED((size_t)4 * r->ndim, "dims");
        size_t count = 1;
        for (uint32_t d = 0; d < r->ndim; d++) {
            r->dims[d] = rd_u32(buf + pos + 4 * d);
            /* the values must fit in the bytes left: checking each step keeps count small */
            if (r->dims[d] != 0 && count > (len - pos) / 8 / r->dims[d])
                FAIL("record '%s': dims need more data than the file holds", r->name);
            count *= r->dims[d];
        }
        pos += (size_t)4 * r->ndim;
        NEED(count * 8, "values");
        r->count = count;
        r->data = malloc(sizeof(double) * (count ? count : 1));
        if (!r->data) FAIL("out of memory for '%s'", r->name);
        g->n = i + 1; /* so golden_free frees this one */
        if (host_is_le()) memcpy(r->data, buf + pos, count * 8);
        else
            for (size_t k = 0; k < count; k++) r->data[k] = rd_f64(buf + pos + 8 * k);
        for (size_t k = 0; k < count; k++)
            if (!isfinite(r->data[k])) FAIL("record '%s': value %zu is not finite", r->name, k);
        pos += count * 8;
    }
    if (pos != len) FAIL("%zu trailing bytes after %u records", len - pos, n);
    g->n = n;
    return 0;
#undef NEED
#undef FAIL
}

/* Read a whole file (at most GOLD_MAX_FILE bytes). */
static uint8_t *read_file(const char *path, size_t *len, char *err, size_t errsz) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errsz, "cannot open %.300s: %.100s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 20, n = 0;
    uint8_t *b = malloc(cap);
    while (b) {
        if (n == cap) {
            if (cap >= GOLD_MAX_FILE) {
                snprintf(err, errsz, "%.300s is larger than %u bytes", path, GOLD_MAX_FILE);
                free(b), b = NULL;
                break;
            }
            uint8_t *nb = realloc(b, cap * 2);
            if (!nb) free(b);
            b = nb, cap *= 2;
            if (!b) break;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                snprintf(err, errsz, "read error on %.300s", path);
                free(b), b = NULL;
            }
            break;
        }
    }
    if (!b && !err[0]) snprintf(err, errsz, "out of memory reading %.300s", path);
    fclose(f);
    *len = n;
    return b;
}

static const grec *find(const golden *g, const char *name) {
    for (uint32_t i = 0; i < g->n; i++)
        if (!strcmp(g->r[i].name, name)) return &g->r[i];
    return NULL;
}

/* Record `name` with exactly the given shape, or NULL (with a failed check). */
static const grec *need(test_ctx *t, const golden *g, const char *name, int ndim, const uint32_t *dims) {
    const grec *r = find(g, name);
    int ok = r && r->ndim == (uint32_t)ndim;
    for (int d = 0; ok && d < ndim; d++) ok = r->dims[d] == dims[d];
    if (!ok) {
        char what[300];
        snprintf(what, sizeof what, "golden record '%s' present with the expected shape", name);
        CHECK(t, 0, what);
        return NULL;
    }
    return r;
}

/* ---- reader self-test -------------------------------------------------- */
static int parse_copy(const uint8_t *buf, size_t len, char *err, size_t errsz) {
    uint8_t *c = malloc(len ? len : 1);
    if (!c) return -2;
    memcpy(c, buf, len);
    golden g;
    int rc = golden_parse(c, len, &g, err, errsz);
    golden_free(&g);
    free(c);
    return rc;
}

static void test_reader(test_ctx *t, const uint8_t *buf, size_t len, const golden *g) {
    char err[256], what[400];
    /* offsets where each record starts */
    size_t *starts = malloc(sizeof(size_t) * (g->n + 1)), pos = 12;
    if (!starts) {
        CHECK(t, 0, "allocate");
        return;
    }
    for (uint32_t i = 0; i < g->n; i++) {
        starts[i] = pos;
        pos += 4 + strlen(g->r[i].name) + 4 + 4 * (size_t)g->r[i].ndim + 8 * g->r[i].count;
    }
    starts[g->n] = pos;
    CHECK(t, pos == len, "record offsets recomputed from the parsed records add up to the file size");

    /* truncations: the first 64 lengths; just before every record and in
     * the middle of its values; and for the first 3 and last 2 records
     * inside every header field (name length, name, ndim, dims) too */
    long tried = 0, accepted = 0;
    for (size_t l = 0; l < 64 && l < len; l++, tried++) accepted += parse_copy(buf, l, err, sizeof err) == 0;
    for (uint32_t i = 0; i <= g->n; i++) {
        const size_t s = starts[i], nl = i < g->n ? strlen(g->r[i].name) : 0;
        const size_t cand[] = {s - 1, i < g->n ? (s + starts[i + 1]) / 2 : 0, s, s + 2, s + 4, s + 4 + nl / 2,
                               s + 4 + nl, s + 4 + nl + 2, s + 4 + nl + 4, s + 4 + nl + 6};
        const size_t nc = i < 3 || i + 2 >= g->n ? sizeof cand / sizeof cand[0] : 2;
        for (size_t k = 0; k < nc; k++)
            if (cand[k] > 0 && cand[k] < len) tried++, accepted += parse_copy(buf, cand[k], err, sizeof err) == 0;
    }
    tried++, accepted += parse_copy(buf, len - 1, err, sizeof err) == 0;
    snprintf(what, sizeof what, "reader rejects every truncated copy (%ld lengths tried, last error: %s)", tried, err);
    CHECK(t, accepted == 0, what);

    /* corruptions of a copy */
    uint8_t *c = malloc(len + 1);
    if (!c) {
        free(starts);
        CHECK(t, 0, "allocate");
        return;
    }
    /* header fields of the first record */
    const size_t ndim_off = 12 + 4 + strlen(g->r[0].name), dim_off = ndim_off + 4;
    struct {
        const char *what;
        size_t off;
        uint32_t val;
    } bad[] = {
        {"bad magic", 7, 0},
        {"record count 0", 8, 0},
        {"record count 0xFFFFFFFF", 8, 0xFFFFFFFFu},
        {"record count one too many", 8, g->n + 1},
        {"name length 0", 12, 0},
        {"name length 0xFFFFFFFF", 12, 0xFFFFFFFFu},
        {"ndim 9", ndim_off, 9},
        {"ndim 0xFFFFFFFF", ndim_off, 0xFFFFFFFFu},
        {"dim 0xFFFFFFFF", dim_off, 0xFFFFFFFFu},
        {"dims whose product overflows", dim_off + 4, 0xFFFFFFFFu}, /* dim0 set to 0xFFFFFFFF too */
    };
    const size_t n_bad = sizeof bad / sizeof bad[0] - (g->r[0].ndim < 2); /* the last needs 2 dims */
    for (size_t k = 0; k < n_bad; k++) {
        memcpy(c, buf, len);
        if (k == 0) {
            c[bad[k].off] = '2';
        } else {
            for (int b = 0; b < 4; b++) c[bad[k].off + b] = (uint8_t)(bad[k].val >> (8 * b));
            if (k == sizeof bad / sizeof bad[0] - 1)
                for (int b = 0; b < 4; b++) c[dim_off + b] = 0xFF;
        }
        int rc = parse_copy(c, len, err, sizeof err);
        snprintf(what, sizeof what, "reader rejects a copy with %s (%.200s)", bad[k].what, rc ? err : "ACCEPTED");
        CHECK(t, rc == -1, what);
    }
    /* a trailing byte; a NaN value; a duplicate name */
    memcpy(c, buf, len);
    c[len] = 0;
    int rc = parse_copy(c, len + 1, err, sizeof err);
    snprintf(what, sizeof what, "reader rejects a trailing byte (%.200s)", rc ? err : "ACCEPTED");
    CHECK(t, rc == -1, what);
    memcpy(c, buf, len);
    const size_t v0 = starts[0] + 4 + strlen(g->r[0].name) + 4 + 4 * (size_t)g->r[0].ndim;
    memset(c + v0, 0xFF, 8); /* a NaN bit pattern */
    rc = parse_copy(c, len, err, sizeof err);
    snprintf(what, sizeof what, "reader rejects a NaN value (%.200s)", rc ? err : "ACCEPTED");
    CHECK(t, rc == -1, what);
    /* rename a record to the name of an earlier one of the same length */
    int dup_done = 0;
    for (uint32_t j = 1; j < g->n && !dup_done; j++)
        for (uint32_t i = 0; i < j && !dup_done; i++)
            if (strlen(g->r[i].name) == strlen(g->r[j].name)) {
                memcpy(c, buf, len);
                memcpy(c + starts[j] + 4, g->r[i].name, strlen(g->r[i].name));
                rc = parse_copy(c, len, err, sizeof err);
                snprintf(what, sizeof what, "reader rejects a duplicate name ('%.100s' twice: %.200s)", g->r[i].name,
                         rc ? err : "ACCEPTED");
                CHECK(t, rc == -1, what);
                dup_done = 1;
            }
    free(c);
    free(starts);
}

/* ---- comparison -------------------------------------------------------- */
typedef struct {
    const char *name;
    double max_rel, max_norm;
} worst_entry;
#define MAX_TRACK 64
static worst_entry track[MAX_TRACK];
static int n_track;
static void track_max(const char *name, double rel, double norm) {
    for (int i = 0; i < n_track; i++)
        if (!strcmp(track[i].name, name)) {
            track[i].max_rel = fmax(track[i].max_rel, rel);
            track[i].max_norm = fmax(track[i].max_norm, norm);
            return;
        }
    if (n_track < MAX_TRACK) track[n_track].name = name, track[n_track].max_rel = rel, track[n_track++].max_norm = norm;
}

/* Per tensor (see the top comment): rel = max_i |d_i| / max(|ref_i|, F) with
 * F = FLOOR * max|ref|, checked against tol_rel; norm = max|d| / max|ref|,
 * checked against tol_norm when tol_norm > 0. Prints both and max |d|. */
static void compare(test_ctx *t, const char *cfg, const char *name, const float *got, const double *ref, size_t n,
                    double tol_rel, double tol_norm) {
    double mref = 0, mabs = 0;
    for (size_t i = 0; i < n; i++) {
        mref = fmax(mref, fabs(ref[i]));
        const double d = fabs((double)got[i] - ref[i]);
        mabs = isnan(d) ? INFINITY : fmax(mabs, d);
    }
    size_t worst = 0;
    const double fl = mref > 0 ? FLOOR * mref : 1e-30;
    const double rel = test_max_rel(got, ref, n, fl, &worst);
    const double norm = mref > 0 ? mabs / mref : mabs > 0 ? INFINITY : 0.0;
    char what[400];
    snprintf(what, sizeof what, "%s %-20s max_rel=%.3e <= %.0e (worst [%zu] %.9g vs %.9g)", cfg, name, rel, tol_rel,
             worst, n ? (double)got[worst] : 0.0, n ? ref[worst] : 0.0);
    CHECK(t, n > 0 && rel <= tol_rel, what);
    if (tol_norm > 0) {
        snprintf(what, sizeof what, "%s %-20s normwise max|d|/max|ref| = %.3e / %.3e = %.3e <= %.0e", cfg, name,
                 mabs, mref, norm, tol_norm);
        CHECK(t, n > 0 && norm <= tol_norm, what);
    }
    track_max(name, rel, norm);
}

/* golden (B,C,HW) -> ours (C,B,HW), optionally with ReLU */
static void to_channel_major(const double *g, int B, int C, int HW, int relu, double *out) {
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            for (int i = 0; i < HW; i++) {
                double v = g[((long)b * C + c) * HW + i];
                out[((long)c * B + b) * HW + i] = relu && v < 0 ? 0.0 : v;
            }
}
static void relu_copy(const double *g, size_t n, double *out) {
    for (size_t i = 0; i < n; i++) out[i] = g[i] < 0 ? 0.0 : g[i];
}

/* ---- one configuration ------------------------------------------------- */
typedef struct {
    float *logits, *grads, *final_params;
} run_out;

typedef struct {
    int B, steps;
    const grec *input, *labels, *loss, *logits, *sgd_losses;
    const grec *act[6]; /* conv1 pool1 conv2 pool2 fc1 fc2 */
    const grec *param[LN_MAX_TENSORS], *grad[LN_MAX_TENSORS], *final[LN_MAX_TENSORS];
    float *x;
    int32_t *y;
} refs;

static int run_config(test_ctx *t, const refs *R, const char *kname, int threads, int do_sgd, run_out *out) {
    char cfg[64], what[300];
    snprintf(cfg, sizeof cfg, "[%s t%d]", kname, threads);
    ln_lenet net;
    ln_error err = {0};
    const int B = R->B;
    if (ln_lenet_init(&net, 1, B, threads, kname, &err) != LN_OK) {
        snprintf(what, sizeof what, "%s ln_lenet_init: %.200s", cfg, err.msg);
        CHECK(t, 0, what);
        return -1;
    }
    for (int k = 0; k < net.n_tensors; k++) {
        const ln_tensor_info *ti = &net.info[k];
        for (size_t i = 0; i < ti->size; i++) net.params[ti->offset + i] = (float)R->param[k]->data[i];
    }
    ln_lenet_forward(&net, R->x, B);
    const ln_lenet_acts *A = ln_lenet_acts_of(&net); /* engine internals (src/net_internal.h) */

    /* activations (kept only by the reference GEMM engine) */
    if (net.engine == LN_ENGINE_GEMM) {
    double *buf = malloc(sizeof(double) * (size_t)B * 6 * 784);
    if (!buf) {
        ln_lenet_free(&net);
        CHECK(t, 0, "allocate");
        return -1;
    }
    to_channel_major(R->act[0]->data, B, 6, 784, 1, buf);
    compare(t, cfg, "relu(act.conv1)", A->a1, buf, (size_t)B * 6 * 784, TOL_ACT, TOL_NORM);
    to_channel_major(R->act[1]->data, B, 6, 196, 0, buf);
    compare(t, cfg, "act.pool1", A->p1, buf, (size_t)B * 6 * 196, TOL_ACT, TOL_NORM);
    to_channel_major(R->act[2]->data, B, 16, 100, 1, buf);
    compare(t, cfg, "relu(act.conv2)", A->a2, buf, (size_t)B * 16 * 100, TOL_ACT, TOL_NORM);
    to_channel_major(R->act[3]->data, B, 16, 25, 0, buf);
    compare(t, cfg, "act.pool2", A->p2, buf, (size_t)B * 16 * 25, TOL_ACT, TOL_NORM);
    relu_copy(R->act[4]->data, (size_t)B * 120, buf);
    compare(t, cfg, "relu(act.fc1)", A->h1, buf, (size_t)B * 120, TOL_ACT, TOL_NORM);
    relu_copy(R->act[5]->data, (size_t)B * 84, buf);
    compare(t, cfg, "relu(act.fc2)", A->h2, buf, (size_t)B * 84, TOL_ACT, TOL_NORM);
    free(buf);
    }
    compare(t, cfg, "logits", ln_lenet_logits(&net), R->logits->data, (size_t)B * 10, TOL_ACT, TOL_NORM);

    /* loss and gradients */
    float *dl = A->dlogits;
    const double loss = ln_softmax_xent(ln_lenet_logits(&net), R->y, B, 10, dl, NULL);
    const double lrel = fabs(loss - R->loss->data[0]) / fabs(R->loss->data[0]);
    snprintf(what, sizeof what, "%s loss %.10f vs %.10f: rel %.3e <= %.0e", cfg, loss, R->loss->data[0], lrel,
             TOL_LOSS);
    CHECK(t, lrel <= TOL_LOSS, what);
    track_max("loss", lrel, lrel);
    ln_lenet_zero_grad(&net);
    ln_lenet_backward(&net, dl, B);
    for (int k = 0; k < net.n_tensors; k++) {
        const ln_tensor_info *ti = &net.info[k];
        compare(t, cfg, R->grad[k]->name, net.grads + ti->offset, R->grad[k]->data, ti->size, TOL_GRAD, TOL_NORM);
    }
    out->logits = malloc(sizeof(float) * (size_t)B * 10);
    out->grads = malloc(sizeof(float) * net.n_params);
    out->final_params = malloc(sizeof(float) * net.n_params);
    if (out->logits) memcpy(out->logits, ln_lenet_logits(&net), sizeof(float) * (size_t)B * 10);
    if (out->grads) memcpy(out->grads, net.grads, sizeof(float) * net.n_params);

    if (!do_sgd) {
        ln_lenet_free(&net);
        return out->logits && out->grads ? 0 : -1;
    }
    /* momentum SGD from the initial weights (unchanged so far) */
    ln_momentum opt;
    if (ln_momentum_init(&opt, net.n_params, 0.01f, 0.9f, 0.f, 1.f, 0, &err) != LN_OK) {
        snprintf(what, sizeof what, "%s ln_momentum_init: %.200s", cfg, err.msg);
        CHECK(t, 0, what);
        ln_lenet_free(&net);
        return -1;
    }
    double worst_step = 0;
    int worst_at = 0;
    for (int s = 0; s < R->steps; s++) {
        ln_lenet_forward(&net, R->x, B);
        const double l = ln_softmax_xent(ln_lenet_logits(&net), R->y, B, 10, dl, NULL);
        const double r = fabs(l - R->sgd_losses->data[s]) / fabs(R->sgd_losses->data[s]);
        if (!(r <= worst_step)) worst_step = isnan(r) ? INFINITY : r, worst_at = s;
        ln_lenet_zero_grad(&net);
        ln_lenet_backward(&net, dl, B);
        ln_momentum_step(&opt, net.params, net.grads);
    }
    snprintf(what, sizeof what, "%s sgd.losses (%d steps): max rel %.3e (step %d) <= %.0e", cfg, R->steps, worst_step,
             worst_at, TOL_LOSS);
    CHECK(t, worst_step <= TOL_LOSS, what);
    track_max("sgd.losses", worst_step, worst_step);
    for (int k = 0; k < net.n_tensors; k++) {
        const ln_tensor_info *ti = &net.info[k];
        compare(t, cfg, R->final[k]->name, net.params + ti->offset, R->final[k]->data, ti->size, TOL_FINAL, 0);
    }
    if (out->final_params) memcpy(out->final_params, net.params, sizeof(float) * net.n_params);
    ln_momentum_free(&opt);
    ln_lenet_free(&net);
    return out->logits && out->grads && out->final_params ? 0 : -1;
}

int main(void) {
    test_ctx t = {"test_golden", 0, 0};
    char path[1024], err[512] = "";
    snprintf(path, sizeof path, "%s/golden_lenet.bin", test_data_dir());
    size_t len = 0;
    uint8_t *buf = read_file(path, &len, err, sizeof err);
    golden g = {0};
    int rc = buf ? golden_parse(buf, len, &g, err, sizeof err) : -1;
    char what[700];
    snprintf(what, sizeof what, "read and validate %.300s (%zu bytes, %u records)%s%.300s", path, len, g.n, rc ? ": " : "",
             rc ? err : "");
    CHECK(&t, rc == 0, what);
    if (rc) {
        free(buf);
        return test_finish(&t);
    }
    test_reader(&t, buf, len, &g);
    free(buf);

    /* expected records and shapes */
    refs R;
    memset(&R, 0, sizeof R);
    const grec *in = find(&g, "input");
    R.B = in && in->ndim == 4 && in->dims[0] >= 1 && in->dims[0] <= 256 ? (int)in->dims[0] : 0;
    CHECK(&t, R.B > 0, "golden 'input' is (B,1,32,32) with 1 <= B <= 256");
    if (!R.B) {
        golden_free(&g);
        return test_finish(&t);
    }
    const uint32_t B = (uint32_t)R.B;
    int ok = 1;
#define NEED(dst, name, ...)                                            \
    do {                                                                \
        const uint32_t d_[] = {__VA_ARGS__};                            \
        dst = need(&t, &g, name, (int)(sizeof d_ / sizeof d_[0]), d_); \
        ok &= dst != NULL;                                              \
    } while (0)
    NEED(R.input, "input", B, 1, 32, 32);
    NEED(R.labels, "labels", B);
    NEED(R.act[0], "act.conv1", B, 6, 28, 28);
    NEED(R.act[1], "act.pool1", B, 6, 14, 14);
    NEED(R.act[2], "act.conv2", B, 16, 10, 10);
    NEED(R.act[3], "act.pool2", B, 16, 5, 5);
    NEED(R.act[4], "act.fc1", B, 120);
    NEED(R.act[5], "act.fc2", B, 84);
    NEED(R.logits, "logits", B, 10);
    NEED(R.loss, "loss", 1);
    const grec *sl = find(&g, "sgd.losses");
    R.steps = sl && sl->ndim == 1 && sl->dims[0] >= 1 && sl->dims[0] <= 1000 ? (int)sl->dims[0] : 0;
    NEED(R.sgd_losses, "sgd.losses", (uint32_t)(R.steps ? R.steps : 1));
    ok &= R.steps > 0;
    /* parameters: the table of a conv_bias = 1 network */
    ln_lenet shape_net;
    ln_error e = {0};
    if (ln_lenet_init(&shape_net, 1, 1, 1, "generic", &e) != LN_OK) {
        snprintf(what, sizeof what, "ln_lenet_init: %.200s", e.msg);
        CHECK(&t, 0, what);
        golden_free(&g);
        return test_finish(&t);
    }
    CHECK(&t, shape_net.n_tensors == 10, "the network has 10 parameter tensors");
    for (int k = 0; k < shape_net.n_tensors; k++) {
        const ln_tensor_info *ti = &shape_net.info[k];
        uint32_t dims[4];
        for (int d = 0; d < ti->ndim; d++) dims[d] = (uint32_t)ti->shape[d];
        char nm[3][96];
        snprintf(nm[0], sizeof nm[0], "param.%s", ti->name);
        snprintf(nm[1], sizeof nm[1], "grad.%s", ti->name);
        snprintf(nm[2], sizeof nm[2], "final.%s", ti->name);
        ok &= (R.param[k] = need(&t, &g, nm[0], ti->ndim, dims)) != NULL;
        ok &= (R.grad[k] = need(&t, &g, nm[1], ti->ndim, dims)) != NULL;
        ok &= (R.final[k] = need(&t, &g, nm[2], ti->ndim, dims)) != NULL;
    }
    const int n_tensors = shape_net.n_tensors;
    const size_t np = shape_net.n_params;
    ln_lenet_free(&shape_net);
#undef NEED
    CHECK(&t, ok, "golden file has every record the test needs, with the expected shapes");
    if (!ok) {
        golden_free(&g);
        return test_finish(&t);
    }

    /* inputs and parameters are float32 values; labels integers in 0..9 */
    R.x = malloc(sizeof(float) * B * 1024);
    R.y = malloc(sizeof(int32_t) * B);
    if (!R.x || !R.y) {
        CHECK(&t, 0, "allocate");
        golden_free(&g);
        return test_finish(&t);
    }
    long inexact = 0, badlab = 0;
    for (size_t i = 0; i < (size_t)B * 1024; i++) {
        R.x[i] = (float)R.input->data[i];
        inexact += (double)R.x[i] != R.input->data[i];
    }
    for (int k = 0; k < n_tensors; k++)
        for (size_t i = 0; i < R.param[k]->count; i++)
            inexact += (double)(float)R.param[k]->data[i] != R.param[k]->data[i];
    for (uint32_t i = 0; i < B; i++) {
        const double v = R.labels->data[i];
        badlab += !(v >= 0 && v <= 9 && v == floor(v));
        R.y[i] = badlab ? 0 : (int32_t)v;
    }
    CHECK(&t, inexact == 0, "golden input and initial parameters are exactly float32 values");
    CHECK(&t, badlab == 0, "golden labels are integers in 0..9");
    printf("  golden: batch %u, %d SGD steps, loss %.10f\n", B, R.steps, R.loss->data[0]);

    /* every supported variant of both engines (lanes: "avx512"...; the
     * reference GEMM engine: "gemm:avx512"...), threads 1 and 2 */
    static const char *const variants[6] = {"gemm:generic", "gemm:avx2", "gemm:avx512", "generic", "avx2", "avx512"};
    ln_gemm_kernels best;
    const char *best_name = ln_gemm_select(&best, NULL) == 0 ? best.name : "generic";
    int n_run = 0;
    for (int v = 0; v < 6; v++) {
        ln_gemm_kernels k;
        const char *isa = strncmp(variants[v], "gemm:", 5) ? variants[v] : variants[v] + 5;
        if (ln_gemm_select(&k, isa) != 0) {
            printf("  note: kernel variant '%s' is not supported by this CPU: skipped\n", variants[v]);
            continue;
        }
        /* SGD: threads 1 for every variant, threads 2 for the best one only
         * (keeps the test short under ASan; the forward/backward checks
         * and their bit-identity run for both thread counts everywhere) */
        const int sgd2 = !strcmp(isa, best_name);
        run_out o[2];
        memset(o, 0, sizeof o);
        int r1 = run_config(&t, &R, variants[v], 1, 1, &o[0]);
        int r2 = run_config(&t, &R, variants[v], 2, sgd2, &o[1]);
        n_run += (r1 == 0) + (r2 == 0);
        if (r1 == 0 && r2 == 0) {
            snprintf(what, sizeof what, "[%s] threads 1 and 2: bit-identical logits", variants[v]);
            CHECK(&t, !memcmp(o[0].logits, o[1].logits, sizeof(float) * B * 10), what);
            snprintf(what, sizeof what, "[%s] threads 1 and 2: bit-identical gradients", variants[v]);
            CHECK(&t, !memcmp(o[0].grads, o[1].grads, sizeof(float) * np), what);
            if (sgd2) {
                snprintf(what, sizeof what, "[%s] threads 1 and 2: bit-identical parameters after %d SGD steps",
                         variants[v], R.steps);
                CHECK(&t, !memcmp(o[0].final_params, o[1].final_params, sizeof(float) * np), what);
            }
        }
        for (int i = 0; i < 2; i++) free(o[i].logits), free(o[i].grads), free(o[i].final_params);
    }
    CHECK(&t, n_run >= 4, "ran at least the generic variant of both engines with threads 1 and 2");

    printf("  max difference per tensor over all configurations (rel: floor 1e-2 * max|ref|; normwise):\n");
    for (int i = 0; i < n_track; i++)
        printf("    %-24s rel %.3e  normwise %.3e\n", track[i].name, track[i].max_rel, track[i].max_norm);
    free(R.x), free(R.y);
    golden_free(&g);
    return test_finish(&t);
}
