/* test_layers.c - gradient checks of the layer kernels, the loss and the
 * whole network, plus small hand-worked cases.
 *
 * Method. For each layer a tiny double-precision reference forward is written
 * here from the definition (not from src/). With a fixed random R, the scalar
 * objective L = sum(out * R) is differenced centrally *on the double
 * reference*, around the float32 inputs the kernel saw:
 *     dL/dx_i ~ (L(x + h e_i) - L(x - h e_i)) / 2h.
 * Conv and dense are linear in each variable, ReLU and max-pool piecewise
 * linear (inputs are chosen away from the kinks: |x| >= 0.1 for ReLU,
 * distinct values 2/n = 8e-3 apart for max-pool, all much larger than h), so
 * the difference is exact up to double rounding (~1e-16 * |L| / h); for the
 * smooth loss the truncation error is O(h^2) ~ 1e-10. The finite-difference
 * values are therefore exact to far better than float32, and the tolerance
 * only has to absorb the kernels' float32 rounding.
 *
 * Comparison and tolerances.
 *   - Conv, dense, col2im (forward, input, weight and bias gradients):
 *     element-wise |got - ref| <= 1e-5 * S, where S = the sum of |terms| that
 *     make up that element. S comes from the same reference run on |in|,
 *     |w|, |b|, |R| (its outputs, and its finite differences for the
 *     gradients), plus |P| for the accumulated gradients (below). A float32
 *     sum of n terms is off by at most (n-1) * 2^-24 * S (recursive
 *     summation; FMA only lowers it), so 1e-5 holds for n <= 160 whatever
 *     the summation order (here n <= 75 + 1), while a missing, duplicated
 *     or misplaced term costs ~S/n >= 1e-2 * S. Observed: ~1e-7 * S.
 *   - ReLU / max-pool: forward bit-exact; backward rel <= 1e-9 (they only
 *     route values, so the only error is the difference's double rounding).
 *   - Softmax cross-entropy: loss rel <= 1e-12 (double, like the
 *     reference); gradient within 1e-6 relative of the finite difference,
 *     and in the hand cases equal to the exact value rounded to float
 *     (|got - want| <= 2^-24 |want|).
 *   - Whole network (B = 3), once per kernel variant: logits of
 *     ln_lenet_forward vs the reference net, rel <= 1e-5 with the floor
 *     below; ln_lenet_backward vs central differences of the reference
 *     net's mean loss (h = 1e-5; 40 parameters, 4 in each of the 10
 *     tensors: its largest gradient and 3 random entries), rel <= 1e-4
 *     where rel = |g - fd| / max(|fd|, 1e-3 * max|g over the tensor|)
 *     (entries ~0 by cancellation are held to an absolute error relative to
 *     the tensor's scale). And, independently of the reference, central
 *     differences of the library's own float forward (h = 1e-3, loss in
 *     double) at each tensor's largest gradient, |fd - g| <= 2e-2 |g|: a
 *     loose bound, as float32 rounding noise / 2h and ReLU / pool kinks
 *     crossed within +-h give up to ~5e-3 for conv1 (catches sign, scale
 *     and wiring errors, not rounding-level ones).
 * Backward kernels must ADD into weight/bias gradients: those buffers start
 * with random values P and the check is against P + gradient. Input
 * gradients and outputs must be OVERWRITTEN: they start as NaN.
 * Conv and dense run with every kernel variant the CPU supports.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lenet/gemm.h"
#include "lenet/layers.h"
#include "lenet/loss.h"
#include "lenet/net.h"

#define TOL_LAYER 1e-5
#define TOL_ROUTE 1e-9
#define TOL_LOSS 1e-12
#define TOL_DLOGITS 1e-6
#define TOL_NET_FWD 1e-5
#define TOL_NET_GRAD 1e-4
#define TOL_NET_FLOATFD 2e-2
#define FLOOR 1e-3
#define ULP_HALF 0x1.0p-24 /* |float(v) - v| <= 2^-24 |v| */
#define NET_FD_H 1e-3f

static test_ctx T = {"test_layers", 0, 0};

/* ---- random numbers (splitmix64) ------------------------------------- */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng_next(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double rng_u01(void) { return (double)(rng_next() >> 11) * 0x1.0p-53; }
static float rng_range(double lo, double hi) { return (float)(lo + (hi - lo) * rng_u01()); }
static void fill(float *x, size_t n, double lo, double hi) {
    for (size_t i = 0; i < n; i++) x[i] = rng_range(lo, hi);
}
static void fill_nan(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = NAN;
}
/* Read through volatile: GCC 12.2 -O3 (SLP vectoriser) was seen to forward
 * the unrounded double behind a just-stored float into such a conversion. */
static double *to_double(const float *x, size_t n) {
    const volatile float *v = x;
    double *d = malloc(sizeof(double) * (n ? n : 1));
    if (d)
        for (size_t i = 0; i < n; i++) d[i] = v[i];
    return d;
}
static void *xmalloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}
#define FALLOC(n) ((float *)xmalloc(sizeof(float) * (size_t)(n)))
#define DALLOC(n) ((double *)xmalloc(sizeof(double) * (size_t)(n)))

/* ---- comparison -------------------------------------------------------- */
/* Print max abs / rel difference of got vs ref (rel with the tensor-scale
 * floor, see the top comment) and check rel <= tol. Returns rel. */
static double compare(const char *what, const float *got, const double *ref, size_t n, double tol) {
    double mref = 0, mabs = 0;
    for (size_t i = 0; i < n; i++) {
        mref = fmax(mref, fabs(ref[i]));
        double d = fabs((double)got[i] - ref[i]);
        mabs = isnan(d) ? INFINITY : fmax(mabs, d);
    }
    size_t worst = 0;
    const double fl = FLOOR * mref > 1e-30 ? FLOOR * mref : 1e-30;
    const double rel = test_max_rel(got, ref, n, fl, &worst);
    char msg[640];
    snprintf(msg, sizeof msg, "%s: max_abs=%.3e max_rel=%.3e (worst [%zu] got %.9g want %.9g) <= %.0e", what,
             mabs, rel, worst, n ? (double)got[worst] : 0.0, n ? ref[worst] : 0.0, tol);
    CHECK(&T, n > 0 && rel <= tol, msg);
    return rel;
}

/* Element-wise error bound: |got_i - ref_i| <= tol * bound_i, where bound_i
 * is the sum of |terms| that make up element i (see the top comment).
 * Prints max abs difference and max |got - ref| / bound. */
static double compare_bound(const char *what, const float *got, const double *ref, const double *bound, size_t n,
                            double tol) {
    double mabs = 0, mrel = 0;
    size_t worst = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs((double)got[i] - ref[i]);
        const double r = bound[i] > 0 ? d / bound[i] : (d > 0 ? INFINITY : 0.0);
        if (!(d <= tol * bound[i])) bad++;
        if (isnan(d) || r > mrel) mrel = isnan(d) ? INFINITY : r, worst = i;
        mabs = isnan(d) ? INFINITY : fmax(mabs, d);
    }
    char msg[640];
    snprintf(msg, sizeof msg, "%s: max_abs=%.3e max_rel(/sum|terms|)=%.3e (worst [%zu] got %.9g want %.9g) <= %.0e",
             what, mabs, mrel, worst, n ? (double)got[worst] : 0.0, n ? ref[worst] : 0.0, tol);
    CHECK(&T, n > 0 && bad == 0, msg);
    return mrel;
}

/* Central differences of f(ctx) wrt each of x[0..n), perturbing in place. */
typedef double (*objective)(void *ctx);
static void fd_grad(double *x, size_t n, double h, objective f, void *ctx, double *out) {
    for (size_t i = 0; i < n; i++) {
        const double x0 = x[i];
        x[i] = x0 + h;
        const double lp = f(ctx);
        x[i] = x0 - h;
        const double lm = f(ctx);
        x[i] = x0;
        out[i] = (lp - lm) / (2 * h);
    }
}

/* ---- double references ------------------------------------------------ */
/* out (OC,B,OH,OW) = w (OC,C,K,K) * in (C,B,H,W) + bias */
static void ref_conv(const double *in, const double *w, const double *bias, int B, int C, int H, int W, int OC,
                     int K, double *out) {
    const int OH = H - K + 1, OW = W - K + 1;
    for (int oc = 0; oc < OC; oc++)
        for (int b = 0; b < B; b++)
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OW; ox++) {
                    double s = bias ? bias[oc] : 0.0;
                    for (int c = 0; c < C; c++)
                        for (int ky = 0; ky < K; ky++)
                            for (int kx = 0; kx < K; kx++)
                                s += w[((oc * C + c) * K + ky) * K + kx] *
                                     in[(((long)c * B + b) * H + oy + ky) * W + ox + kx];
                    out[(((long)oc * B + b) * OH + oy) * OW + ox] = s;
                }
}
static void ref_relu(double *x, long n) {
    for (long i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0.0;
}
/* 2x2 max pool; arg (optional) = first max in window order (0,0),(0,1),(1,0),(1,1) */
static void ref_pool(const double *in, long planes, int H, int W, double *out, uint8_t *arg) {
    const int OH = H / 2, OW = W / 2;
    for (long p = 0; p < planes; p++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                double m = -INFINITY;
                int k = 0;
                for (int q = 0; q < 4; q++) {
                    double v = in[(p * H + 2 * oy + q / 2) * W + 2 * ox + q % 2];
                    if (q == 0 || v > m) m = v, k = q;
                }
                out[(p * OH + oy) * OW + ox] = m;
                if (arg) arg[(p * OH + oy) * OW + ox] = (uint8_t)k;
            }
}
/* out (B,O) = in (B,I) w(O,I)^T + b */
static void ref_dense(const double *in, const double *w, const double *b, int B, int I, int O, double *out) {
    for (int r = 0; r < B; r++)
        for (int o = 0; o < O; o++) {
            double s = b ? b[o] : 0.0;
            for (int i = 0; i < I; i++) s += in[(long)r * I + i] * w[(long)o * I + i];
            out[(long)r * O + o] = s;
        }
}
/* mean sparse softmax cross-entropy; per-sample losses optional */
static double ref_xent(const double *x, const int32_t *labels, int B, int C, double *per) {
    double tot = 0;
    for (int i = 0; i < B; i++) {
        double m = x[(long)i * C];
        for (int j = 1; j < C; j++) m = fmax(m, x[(long)i * C + j]);
        double s = 0;
        for (int j = 0; j < C; j++) s += exp(x[(long)i * C + j] - m);
        double li = m + log(s) - x[(long)i * C + labels[i]];
        if (per) per[i] = li;
        tot += li;
    }
    return tot / B;
}
static double dot(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* ---- variants ---------------------------------------------------------- */
static ln_gemm_kernels variants[3];
static int n_variants;
static void find_variants(void) {
    static const char *const names[3] = {"generic", "avx2", "avx512"};
    for (int v = 0; v < 3; v++) {
        if (ln_gemm_select(&variants[n_variants], names[v]) == 0) n_variants++;
        else printf("  note: kernel variant '%s' is not supported by this CPU: skipped\n", names[v]);
    }
    CHECK(&T, n_variants >= 1, "at least the generic GEMM variant is available");
}

/* ---- im2col / col2im --------------------------------------------------- */
static void test_im2col(void) {
    const int C = 2, B = 3, H = 5, W = 6, K = 3, OH = H - K + 1, OW = W - K + 1;
    const long nin = (long)C * B * H * W, ncol = (long)C * K * K * B * OH * OW;
    float *x = FALLOC(nin), *col = FALLOC(ncol), *y = FALLOC(ncol), *din = FALLOC(nin);
    fill(x, nin, -1, 1), fill(y, ncol, -1, 1), fill_nan(col, ncol), fill_nan(din, nin);
    ln_im2col(x, C, B, H, W, K, col, 1);
    long bad = 0;
    for (int c = 0; c < C; c++)
        for (int ky = 0; ky < K; ky++)
            for (int kx = 0; kx < K; kx++)
                for (int b = 0; b < B; b++)
                    for (int oy = 0; oy < OH; oy++)
                        for (int ox = 0; ox < OW; ox++) {
                            float want = x[(((long)c * B + b) * H + oy + ky) * W + ox + kx];
                            float got = col[((long)(c * K + ky) * K + kx) * B * OH * OW + ((long)b * OH + oy) * OW + ox];
                            bad += memcmp(&want, &got, sizeof want) != 0;
                        }
    CHECK(&T, bad == 0, "im2col (C2 B3 5x6 K3): col[(c,ky,kx),(b,oy,ox)] == in[c,b,oy+ky,ox+kx] bit-exact");

    ln_col2im(y, C, B, H, W, K, din, 1);
    double *want = DALLOC(nin), *bound = DALLOC(nin);
    memset(want, 0, sizeof(double) * (size_t)nin);
    memset(bound, 0, sizeof(double) * (size_t)nin);
    for (int c = 0; c < C; c++)
        for (int ky = 0; ky < K; ky++)
            for (int kx = 0; kx < K; kx++)
                for (int b = 0; b < B; b++)
                    for (int oy = 0; oy < OH; oy++)
                        for (int ox = 0; ox < OW; ox++) {
                            const long o = (((long)c * B + b) * H + oy + ky) * W + ox + kx;
                            const float v =
                                y[((long)(c * K + ky) * K + kx) * B * OH * OW + ((long)b * OH + oy) * OW + ox];
                            want[o] += v, bound[o] += fabs(v);
                        }
    compare_bound("col2im vs scatter-add in double (overwrites a NaN-filled din)", din, want, bound, (size_t)nin,
                  TOL_LAYER);

    double *xd = to_double(x, nin), *yd = to_double(y, ncol), *cold = to_double(col, ncol),
           *dind = to_double(din, nin);
    const double lhs = dot(dind, xd, nin), rhs = dot(yd, cold, ncol);
    const double rel = fabs(lhs - rhs) / fmax(fabs(rhs), 1e-30);
    char msg[200];
    snprintf(msg, sizeof msg, "adjoint: <col2im(y), x> = %.9g vs <y, im2col(x)> = %.9g, rel diff %.2e <= 1e-6", lhs,
             rhs, rel);
    CHECK(&T, rel <= 1e-6, msg);
    free(x), free(col), free(y), free(din), free(want), free(bound), free(xd), free(yd), free(cold), free(dind);
}

/* ---- conv2d ------------------------------------------------------------ */
typedef struct {
    int B, C, H, W, OC, K;
    double *in, *w, *b, *R, *out; /* b may be NULL */
} conv_ctx;
static double conv_obj(void *p) {
    conv_ctx *c = p;
    ref_conv(c->in, c->w, c->b, c->B, c->C, c->H, c->W, c->OC, c->K, c->out);
    const long n = (long)c->OC * c->B * (c->H - c->K + 1) * (c->W - c->K + 1);
    return dot(c->out, c->R, (size_t)n);
}
static double *abs_copy(const double *x, size_t n) {
    if (!x) return NULL;
    double *d = DALLOC(n);
    for (size_t i = 0; i < n; i++) d[i] = fabs(x[i]);
    return d;
}

static void test_conv(const ln_gemm_kernels *g, int B, int C, int H, int W, int OC, int K, int with_bias,
                      int with_din) {
    const int OH = H - K + 1, OW = W - K + 1, CKK = C * K * K;
    const long nin = (long)C * B * H * W, nw = (long)OC * CKK, nout = (long)OC * B * OH * OW,
               ncol = (long)CKK * B * OH * OW;
    char tag[160], what[256];
    snprintf(tag, sizeof tag, "conv2d[%s] B%d C%d %dx%d OC%d K%d %s%s", g->name, B, C, H, W, OC, K,
             with_bias ? "bias" : "no-bias", with_din ? "" : " din=NULL");
    float *in = FALLOC(nin), *w = FALLOC(nw), *bias = FALLOC(OC), *R = FALLOC(nout), *out = FALLOC(nout),
          *col = FALLOC(ncol), *dcol = FALLOC(ncol), *din = FALLOC(nin), *dw = FALLOC(nw), *db = FALLOC(OC),
          *db_copy = FALLOC(OC);
    fill(in, nin, -1, 1), fill(w, nw, -0.5, 0.5), fill(bias, OC, -0.5, 0.5), fill(R, nout, -1, 1);
    fill_nan(out, nout), fill_nan(din, nin), fill_nan(col, ncol), fill_nan(dcol, ncol);
    fill(dw, nw, -1, 1), fill(db, OC, -1, 1); /* P: backward must add to these */
    memcpy(db_copy, db, sizeof(float) * (size_t)OC);
    double *dw0 = to_double(dw, nw), *db0 = to_double(db, OC);

    ln_conv2d_forward(g, in, w, with_bias ? bias : NULL, B, C, H, W, OC, K, col, out, 1);
    conv_ctx cx = {B, C, H, W, OC, K, to_double(in, nin), to_double(w, nw), with_bias ? to_double(bias, OC) : NULL,
                   to_double(R, nout), DALLOC(nout)};
    /* the same objective on |in|, |w|, |b|, |R|: its values and derivatives
     * are the sums of |terms| that bound each element's rounding error */
    conv_ctx ax = {B, C, H, W, OC, K, abs_copy(cx.in, nin), abs_copy(cx.w, nw), abs_copy(cx.b, OC),
                   abs_copy(cx.R, nout), DALLOC(nout)};
    conv_obj(&cx);
    conv_obj(&ax);
    snprintf(what, sizeof what, "%s forward", tag);
    compare_bound(what, out, cx.out, ax.out, (size_t)nout, TOL_LAYER);

    ln_conv2d_backward(g, R, col, w, B, C, H, W, OC, K, dw, with_bias ? db : NULL, with_din ? dcol : NULL,
                       with_din ? din : NULL, 1);
    const double h = 1e-3;
    double *gw = DALLOC(nw), *gin = DALLOC(nin), *gb = DALLOC(OC), *sw = DALLOC(nw), *sin = DALLOC(nin),
           *sb = DALLOC(OC);
    fd_grad(cx.w, (size_t)nw, h, conv_obj, &cx, gw);
    fd_grad(ax.w, (size_t)nw, h, conv_obj, &ax, sw);
    for (long i = 0; i < nw; i++) gw[i] += dw0[i], sw[i] += fabs(dw0[i]);
    snprintf(what, sizeof what, "%s dW (= P + dL/dW, added)", tag);
    compare_bound(what, dw, gw, sw, (size_t)nw, TOL_LAYER);
    if (with_bias) {
        fd_grad(cx.b, (size_t)OC, h, conv_obj, &cx, gb);
        fd_grad(ax.b, (size_t)OC, h, conv_obj, &ax, sb);
        for (int i = 0; i < OC; i++) gb[i] += db0[i], sb[i] += fabs(db0[i]);
        snprintf(what, sizeof what, "%s db (= P + dL/db, added)", tag);
        compare_bound(what, db, gb, sb, (size_t)OC, TOL_LAYER);
    } else {
        snprintf(what, sizeof what, "%s db=NULL: bias gradient buffer not touched", tag);
        CHECK(&T, !memcmp(db, db_copy, sizeof(float) * (size_t)OC), what);
    }
    if (with_din) {
        fd_grad(cx.in, (size_t)nin, h, conv_obj, &cx, gin);
        fd_grad(ax.in, (size_t)nin, h, conv_obj, &ax, sin);
        snprintf(what, sizeof what, "%s din (overwrites NaN)", tag);
        compare_bound(what, din, gin, sin, (size_t)nin, TOL_LAYER);
    } else {
        long nan = 0;
        for (long i = 0; i < nin; i++) nan += isnan(din[i]);
        snprintf(what, sizeof what, "%s din=NULL: nothing written to the caller's din", tag);
        CHECK(&T, nan == nin, what);
    }
    free(in), free(w), free(bias), free(R), free(out), free(col), free(dcol), free(din), free(dw), free(db);
    free(db_copy), free(dw0), free(db0), free(gw), free(gin), free(gb), free(sw), free(sin), free(sb);
    free(cx.in), free(cx.w), free(cx.b), free(cx.R), free(cx.out);
    free(ax.in), free(ax.w), free(ax.b), free(ax.R), free(ax.out);
}

/* ---- ReLU -------------------------------------------------------------- */
typedef struct {
    long n;
    double *x, *R, *y;
} relu_ctx;
static double relu_obj(void *p) {
    relu_ctx *c = p;
    memcpy(c->y, c->x, sizeof(double) * (size_t)c->n);
    ref_relu(c->y, c->n);
    return dot(c->y, c->R, (size_t)c->n);
}
static void test_relu(void) {
    const long n = 257;
    float *x = FALLOC(n), *R = FALLOC(n), *dy = FALLOC(n);
    for (long i = 0; i < n; i++) x[i] = (rng_next() & 1 ? 1.f : -1.f) * rng_range(0.1, 1.0);
    fill(R, n, -1, 1);
    relu_ctx c = {n, to_double(x, n), to_double(R, n), DALLOC(n)};
    relu_obj(&c);
    ln_relu_forward(x, n);
    long bad = 0;
    for (long i = 0; i < n; i++) bad += (double)x[i] != c.y[i];
    CHECK(&T, bad == 0, "relu forward (257 values, |x| in [0.1,1]) exact");
    memcpy(dy, R, sizeof(float) * (size_t)n);
    ln_relu_backward(x, dy, n);
    double *gx = DALLOC(n);
    fd_grad(c.x, (size_t)n, 1e-3, relu_obj, &c, gx);
    compare("relu backward vs finite differences", dy, gx, (size_t)n, TOL_ROUTE);

    /* hand case: zeros of both signs map to +0 and block the gradient */
    float hx[5] = {-2.f, -0.f, 0.f, 3.f, 1e-30f}, hd[5] = {1, 1, 1, 1, 1};
    ln_relu_forward(hx, 5);
    ln_relu_backward(hx, hd, 5);
    CHECK(&T,
          hx[0] == 0 && !signbit(hx[0]) && hx[1] == 0 && !signbit(hx[1]) && hx[2] == 0 && hx[3] == 3.f &&
              hx[4] == 1e-30f && hd[0] == 0 && hd[1] == 0 && hd[2] == 0 && hd[3] == 1 && hd[4] == 1,
          "relu hand case [-2,-0,0,3,1e-30] -> [0,0,0,3,1e-30], grad mask [0,0,0,1,1]");
    free(x), free(R), free(dy), free(c.x), free(c.R), free(c.y), free(gx);
}

/* ---- max pool ---------------------------------------------------------- */
typedef struct {
    long planes;
    int H, W;
    double *x, *R, *y;
} pool_ctx;
static double pool_obj(void *p) {
    pool_ctx *c = p;
    ref_pool(c->x, c->planes, c->H, c->W, c->y, NULL);
    return dot(c->y, c->R, (size_t)(c->planes * (c->H / 2) * (c->W / 2)));
}
static void test_maxpool(void) {
    /* hand-worked 4x4, two planes */
    const float hin[32] = {1, 2, 5, 5,  3, 0, 5, 5,  -1, -2, 7, 9,  -3, -1, 9, 8,
                           0, 1, 2, 3,  4, 5, 6, 7,  8,  9,  10, 11, 12, 13, 14, 15};
    const float want_out[8] = {3, 5, -1, 9, 5, 7, 13, 15};
    const uint8_t want_arg[8] = {2, 0, 0, 1, 3, 3, 3, 3};
    const float dout[8] = {10, 20, 30, 40, 1, 2, 3, 4};
    const float want_din[32] = {0, 0, 20, 0,  10, 0, 0, 0,  30, 0, 0, 40,  0, 0, 0, 0,
                                0, 0, 0, 0,   0, 1, 0, 2,   0,  0, 0, 0,   0, 3, 0, 4};
    float out[8], din[32];
    uint8_t arg[8];
    fill_nan(din, 32);
    ln_maxpool2_forward(hin, 2, 4, 4, out, arg, 1);
    CHECK(&T, !memcmp(out, want_out, sizeof out), "maxpool 4x4 hand case: maxima [3,5,-1,9 | 5,7,13,15]");
    CHECK(&T, !memcmp(arg, want_arg, sizeof arg),
          "maxpool 4x4 hand case: argmax [2,0,0,1 | 3,3,3,3] (ties: first max wins)");
    ln_maxpool2_backward(dout, arg, 2, 4, 4, din, 1);
    CHECK(&T, !memcmp(din, want_din, sizeof din), "maxpool 4x4 hand case: backward routes dout to the argmax only");

    /* gradient check: 5 planes of 6x8, distinct values */
    const long planes = 5;
    const int H = 6, W = 8;
    const long n = planes * H * W, no = planes * (H / 2) * (W / 2);
    float *x = FALLOC(n), *y = FALLOC(no), *R = FALLOC(no), *dx = FALLOC(n);
    uint8_t *a = xmalloc((size_t)no), *ra = xmalloc((size_t)no);
    long *perm = xmalloc(sizeof(long) * (size_t)n);
    for (long i = 0; i < n; i++) perm[i] = i;
    for (long i = n - 1; i > 0; i--) {
        long j = (long)(rng_next() % (uint64_t)(i + 1)), t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
    for (long i = 0; i < n; i++) x[i] = (float)(-1.0 + 2.0 * (perm[i] + 0.5) / n); /* gaps 2/n = 8e-3 */
    fill(R, no, -1, 1), fill_nan(y, no), fill_nan(dx, n);
    pool_ctx c = {planes, H, W, to_double(x, n), to_double(R, no), DALLOC(no)};
    ref_pool(c.x, planes, H, W, c.y, ra);
    ln_maxpool2_forward(x, planes, H, W, y, a, 1);
    long bad = 0;
    for (long i = 0; i < no; i++) bad += (double)y[i] != c.y[i] || a[i] != ra[i];
    CHECK(&T, bad == 0, "maxpool forward (5 planes 6x8, distinct values): maxima and argmax exact");
    ln_maxpool2_backward(R, a, planes, H, W, dx, 1);
    double *gx = DALLOC(n);
    fd_grad(c.x, (size_t)n, 1e-4, pool_obj, &c, gx);
    compare("maxpool backward vs finite differences (overwrites NaN)", dx, gx, (size_t)n, TOL_ROUTE);
    free(x), free(y), free(R), free(dx), free(a), free(ra), free(perm), free(c.x), free(c.R), free(c.y), free(gx);
}

/* ---- dense ------------------------------------------------------------- */
typedef struct {
    int B, I, O;
    double *in, *w, *b, *R, *out;
} dense_ctx;
static double dense_obj(void *p) {
    dense_ctx *c = p;
    ref_dense(c->in, c->w, c->b, c->B, c->I, c->O, c->out);
    return dot(c->out, c->R, (size_t)c->B * c->O);
}
static void test_dense(const ln_gemm_kernels *g, int B, int I, int O) {
    char tag[128], what[256];
    snprintf(tag, sizeof tag, "dense[%s] B%d %d->%d", g->name, B, I, O);
    const long nin = (long)B * I, nw = (long)O * I, nout = (long)B * O;
    float *in = FALLOC(nin), *w = FALLOC(nw), *b = FALLOC(O), *R = FALLOC(nout), *out = FALLOC(nout),
          *dw = FALLOC(nw), *db = FALLOC(O), *din = FALLOC(nin);
    fill(in, nin, -1, 1), fill(w, nw, -0.5, 0.5), fill(b, O, -0.5, 0.5), fill(R, nout, -1, 1);
    fill_nan(out, nout), fill_nan(din, nin), fill(dw, nw, -1, 1), fill(db, O, -1, 1);
    double *dw0 = to_double(dw, nw), *db0 = to_double(db, O);
    dense_ctx c = {B, I, O, to_double(in, nin), to_double(w, nw), to_double(b, O), to_double(R, nout), DALLOC(nout)};
    dense_ctx a = {B, I, O, abs_copy(c.in, nin), abs_copy(c.w, nw), abs_copy(c.b, O), abs_copy(c.R, nout),
                   DALLOC(nout)};
    dense_obj(&c);
    dense_obj(&a);
    ln_dense_forward(g, in, w, b, B, I, O, out, 1);
    snprintf(what, sizeof what, "%s forward", tag);
    compare_bound(what, out, c.out, a.out, (size_t)nout, TOL_LAYER);
    ln_dense_backward(g, R, in, w, B, I, O, dw, db, din, 1);
    double *gw = DALLOC(nw), *gb = DALLOC(O), *gin = DALLOC(nin), *sw = DALLOC(nw), *sb = DALLOC(O),
           *sin = DALLOC(nin);
    fd_grad(c.w, (size_t)nw, 1e-3, dense_obj, &c, gw);
    fd_grad(c.b, (size_t)O, 1e-3, dense_obj, &c, gb);
    fd_grad(c.in, (size_t)nin, 1e-3, dense_obj, &c, gin);
    fd_grad(a.w, (size_t)nw, 1e-3, dense_obj, &a, sw);
    fd_grad(a.b, (size_t)O, 1e-3, dense_obj, &a, sb);
    fd_grad(a.in, (size_t)nin, 1e-3, dense_obj, &a, sin);
    for (long i = 0; i < nw; i++) gw[i] += dw0[i], sw[i] += fabs(dw0[i]);
    for (int i = 0; i < O; i++) gb[i] += db0[i], sb[i] += fabs(db0[i]);
    snprintf(what, sizeof what, "%s dW (= P + dL/dW, added)", tag);
    compare_bound(what, dw, gw, sw, (size_t)nw, TOL_LAYER);
    snprintf(what, sizeof what, "%s db (= P + dL/db, added)", tag);
    compare_bound(what, db, gb, sb, (size_t)O, TOL_LAYER);
    snprintf(what, sizeof what, "%s din (overwrites NaN)", tag);
    compare_bound(what, din, gin, sin, (size_t)nin, TOL_LAYER);
    free(in), free(w), free(b), free(R), free(out), free(dw), free(db), free(din), free(dw0), free(db0);
    free(c.in), free(c.w), free(c.b), free(c.R), free(c.out), free(gw), free(gb), free(gin);
    free(a.in), free(a.w), free(a.b), free(a.R), free(a.out), free(sw), free(sb), free(sin);
}

/* ---- softmax cross-entropy -------------------------------------------- */
typedef struct {
    int B, C;
    double *x;
    const int32_t *y;
} xent_ctx;
static double xent_obj(void *p) {
    xent_ctx *c = p;
    return ref_xent(c->x, c->y, c->B, c->C, NULL);
}
static void test_xent(void) {
    char msg[256];
    /* random logits, gradient check */
    {
        enum { B = 5, C = 10 };
        float x[B * C], dx[B * C];
        int32_t y[B];
        double per[B], rper[B];
        fill(x, B * C, -3, 3);
        for (int i = 0; i < B; i++) y[i] = (int32_t)(rng_next() % C);
        fill_nan(dx, B * C);
        const double loss = ln_softmax_xent(x, y, B, C, dx, per);
        xent_ctx c = {B, C, to_double(x, B * C), y};
        const double rloss = ref_xent(c.x, y, B, C, rper);
        snprintf(msg, sizeof msg, "xent B5: mean loss %.15g vs reference %.15g (rel %.2e <= %.0e)", loss, rloss,
                 fabs(loss - rloss) / rloss, TOL_LOSS);
        CHECK(&T, fabs(loss - rloss) <= TOL_LOSS * rloss, msg);
        double pd = 0;
        for (int i = 0; i < B; i++) pd = fmax(pd, fabs(per[i] - rper[i]) / rper[i]);
        snprintf(msg, sizeof msg, "xent B5: per-sample losses rel diff %.2e <= %.0e", pd, TOL_LOSS);
        CHECK(&T, pd <= TOL_LOSS, msg);
        double g[B * C];
        fd_grad(c.x, B * C, 1e-4, xent_obj, &c, g);
        compare("xent B5: dlogits vs finite differences of the mean loss", dx, g, B * C, TOL_DLOGITS);
        double worst = 0;
        for (int i = 0; i < B; i++) {
            double s = 0;
            for (int j = 0; j < C; j++) s += dx[i * C + j];
            worst = fmax(worst, fabs(s));
        }
        snprintf(msg, sizeof msg, "xent B5: every dlogits row sums to 0 (max |sum| %.2e <= 1e-7)", worst);
        CHECK(&T, worst <= 1e-7, msg);
        /* NULL outputs are allowed */
        CHECK(&T, ln_softmax_xent(x, y, B, C, NULL, NULL) == loss, "xent: dlogits/per_sample NULL, same loss");
        free(c.x);
    }
    /* all-zero logits: log(10), gradient (0.1 - onehot)/B */
    {
        float x[20] = {0}, dx[20];
        int32_t y[2] = {3, 7};
        const double loss = ln_softmax_xent(x, y, 2, 10, dx, NULL);
        snprintf(msg, sizeof msg, "xent zero logits: loss %.17g == log(10) (|diff| %.1e <= 1e-12)", loss,
                 fabs(loss - log(10.0)));
        CHECK(&T, fabs(loss - log(10.0)) <= 1e-12, msg);
        double worst = 0;
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 10; j++) {
                const double want = (0.1 - (j == y[i])) / 2;
                worst = fmax(worst, fabs(dx[i * 10 + j] - want) / fabs(want));
            }
        snprintf(msg, sizeof msg,
                 "xent zero logits: dlogits == (0.1 - onehot)/2 rounded to float (max rel %.1e <= 2^-24)", worst);
        CHECK(&T, worst <= ULP_HALF, msg);
    }
    /* huge logits: stable, finite */
    {
        float x[30] = {0}, dx[30];
        int32_t y[3] = {0, 2, 4};
        double per[3];
        x[0] = 1000.f;                                  /* row 0: label has the huge logit -> ~0 */
        x[10 + 5] = 1000.f;                             /* row 1: another class has it -> ~1000 */
        for (int j = 0; j < 10; j++) x[20 + j] = 1000.f; /* row 2: all huge -> log(10) */
        const double loss = ln_softmax_xent(x, y, 3, 10, dx, per);
        const double want = (0.0 + 1000.0 + log(10.0)) / 3;
        int finite = isfinite(loss);
        for (int i = 0; i < 30; i++) finite &= isfinite(dx[i]);
        snprintf(msg, sizeof msg, "xent logit 1000: loss %.17g finite and == (0 + 1000 + log 10)/3 (rel %.1e)", loss,
                 fabs(loss - want) / want);
        CHECK(&T, finite && fabs(loss - want) <= 1e-12 * want, msg);
        CHECK(&T, fabs(per[0]) <= 1e-12 && fabs(per[1] - 1000.0) <= 1e-9 && fabs(per[2] - log(10.0)) <= 1e-12,
              "xent logit 1000: per-sample losses [0, 1000, log 10]");
        double worst = 0, wsum = 0;
        for (int i = 0; i < 3; i++) {
            double s = 0;
            for (int j = 0; j < 10; j++) {
                const double p = i == 0 ? (j == 0) : i == 1 ? (j == 5) : 0.1, want = (p - (j == y[i])) / 3;
                const double d = fabs(dx[i * 10 + j] - want);
                if (!(d <= ULP_HALF * fabs(want))) worst = fmax(worst, d > 0 ? d : INFINITY);
                s += dx[i * 10 + j];
            }
            wsum = fmax(wsum, fabs(s));
        }
        snprintf(msg, sizeof msg,
                 "xent logit 1000: dlogits == (softmax - onehot)/3 rounded to float (worst miss %.1e), rows sum to 0 "
                 "(max %.1e <= 1e-7)", worst, wsum);
        CHECK(&T, worst == 0 && wsum <= 1e-7, msg);
    }
}

/* ---- whole network ----------------------------------------------------- */
typedef struct {
    const ln_lenet *net;
    double *params; /* laid out like net->params */
    const double *x;
    const int32_t *y;
    int B;
    double *logits; /* (B,10) out */
} net_ctx;

static const double *tensor(const net_ctx *c, const char *name) {
    int k = ln_lenet_find(c->net, name);
    return k < 0 ? NULL : c->params + c->net->info[k].offset;
}

/* Reference LeNet in double: returns the mean loss. */
static double net_obj(void *p) {
    net_ctx *c = p;
    const int B = c->B;
    double *a1 = DALLOC(6L * B * 784), *p1 = DALLOC(6L * B * 196), *a2 = DALLOC(16L * B * 100),
           *p2 = DALLOC(16L * B * 25), *f0 = DALLOC(400L * B), *h1 = DALLOC(120L * B), *h2 = DALLOC(84L * B);
    ref_conv(c->x, tensor(c, "conv1.weight"), tensor(c, "conv1.bias"), B, 1, 32, 32, 6, 5, a1);
    ref_relu(a1, 6L * B * 784);
    ref_pool(a1, 6L * B, 28, 28, p1, NULL);
    ref_conv(p1, tensor(c, "conv2.weight"), tensor(c, "conv2.bias"), B, 6, 14, 14, 16, 5, a2);
    ref_relu(a2, 16L * B * 100);
    ref_pool(a2, 16L * B, 10, 10, p2, NULL);
    for (int b = 0; b < B; b++)
        for (int ch = 0; ch < 16; ch++)
            for (int i = 0; i < 25; i++) f0[b * 400 + ch * 25 + i] = p2[((long)ch * B + b) * 25 + i];
    ref_dense(f0, tensor(c, "fc1.weight"), tensor(c, "fc1.bias"), B, 400, 120, h1);
    ref_relu(h1, 120L * B);
    ref_dense(h1, tensor(c, "fc2.weight"), tensor(c, "fc2.bias"), B, 120, 84, h2);
    ref_relu(h2, 84L * B);
    ref_dense(h2, tensor(c, "fc3.weight"), tensor(c, "fc3.bias"), B, 84, 10, c->logits);
    const double loss = ref_xent(c->logits, c->y, B, 10, NULL);
    free(a1), free(p1), free(a2), free(p2), free(f0), free(h1), free(h2);
    return loss;
}

static double lib_loss(ln_lenet *net, const float *x, const int32_t *y, int B, float *dl) {
    ln_lenet_forward(net, x, B);
    return ln_softmax_xent(ln_lenet_logits(net), y, B, 10, dl, NULL);
}

#define NET_B 3
#define NET_PICK 4 /* parameters checked per tensor */

/* The whole network with kernel variant `kname`, against the double
 * reference net (whose finite-difference gradients are computed once, by
 * the first variant, and reused: `ref` holds them). */
typedef struct {
    int ready;
    float *params; /* initial parameters, shared by all variants */
    size_t idx[LN_MAX_TENSORS][NET_PICK];
    double fd[LN_MAX_TENSORS][NET_PICK];
    double logits[NET_B * 10], loss;
} net_ref;

static void test_net(const char *kname, net_ref *ref) {
    enum { B = NET_B };
    ln_lenet net;
    ln_error err = {0};
    char msg[400];
    static float x[B * 1024];
    static const int32_t y[B] = {1, 7, 3};
    if (ln_lenet_init(&net, 1, B, 1, kname, &err) != LN_OK) {
        printf("  ln_lenet_init: %s\n", err.msg);
        CHECK(&T, 0, "ln_lenet_init(conv_bias=1, batch 3)");
        return;
    }
    snprintf(msg, sizeof msg, "lenet[%s]: ln_lenet_init gives 10 tensors, 61,706 parameters", kname);
    CHECK(&T, net.n_tensors == 10 && net.n_params == 61706, msg);
    if (net.n_tensors != 10 || net.n_params != 61706) {
        ln_lenet_free(&net);
        return;
    }
    if (!ref->ready) {
        ln_lenet_init_weights(&net, 12345);
        /* non-zero fc biases so their paths are exercised */
        const char *fcb[3] = {"fc1.bias", "fc2.bias", "fc3.bias"};
        for (int i = 0; i < 3; i++) {
            const ln_tensor_info *ti = &net.info[ln_lenet_find(&net, fcb[i])];
            fill(net.params + ti->offset, ti->size, -0.1, 0.1);
        }
        fill(x, B * 1024, -2, 2);
        ref->params = FALLOC(net.n_params);
        memcpy(ref->params, net.params, sizeof(float) * net.n_params);
    } else {
        memcpy(net.params, ref->params, sizeof(float) * net.n_params);
    }
    float dl[B * 10];
    const double loss = lib_loss(&net, x, y, B, dl);
    ln_lenet_zero_grad(&net);
    ln_lenet_backward(&net, dl, B);
    float *grad = FALLOC(net.n_params);
    memcpy(grad, net.grads, sizeof(float) * net.n_params);

    if (!ref->ready) {
        /* reference net: logits, loss, and central differences (h = 1e-5)
         * for each tensor's largest |g| and 3 random entries */
        net_ctx c = {&net, to_double(net.params, net.n_params), to_double(x, B * 1024), y, B, DALLOC(B * 10)};
        ref->loss = net_obj(&c);
        memcpy(ref->logits, c.logits, sizeof ref->logits);
        for (int t = 0; t < net.n_tensors; t++) {
            const ln_tensor_info *ti = &net.info[t];
            size_t imax = 0;
            for (size_t i = 0; i < ti->size; i++)
                if (fabs(grad[ti->offset + i]) > fabs(grad[ti->offset + imax])) imax = i;
            ref->idx[t][0] = imax;
            for (int k = 1; k < NET_PICK; k++) ref->idx[t][k] = (size_t)(rng_next() % ti->size);
            for (int k = 0; k < NET_PICK; k++)
                fd_grad(c.params + ti->offset + ref->idx[t][k], 1, 1e-5, net_obj, &c, &ref->fd[t][k]);
        }
        free(c.params), free((void *)c.x), free(c.logits);
        ref->ready = 1;
    }

    snprintf(msg, sizeof msg, "lenet[%s] B3: ln_lenet_forward logits vs double reference net", kname);
    compare(msg, ln_lenet_logits(&net), ref->logits, B * 10, TOL_NET_FWD);
    snprintf(msg, sizeof msg, "lenet[%s] B3: mean loss %.9g vs reference %.9g (rel %.1e <= 1e-6)", kname, loss,
             ref->loss, fabs(loss - ref->loss) / ref->loss);
    CHECK(&T, fabs(loss - ref->loss) <= 1e-6 * ref->loss, msg);

    for (int t = 0; t < net.n_tensors; t++) {
        const ln_tensor_info *ti = &net.info[t];
        const size_t *idx = ref->idx[t];
        const double *want = ref->fd[t];
        double gmax = 0;
        for (size_t i = 0; i < ti->size; i++) gmax = fmax(gmax, fabs(grad[ti->offset + i]));
        float got[NET_PICK];
        double worst = 0;
        for (int k = 0; k < NET_PICK; k++) {
            got[k] = grad[ti->offset + idx[k]];
            /* rel with the floor from the whole gradient tensor's max */
            const double r = fabs(got[k] - want[k]) / fmax(fabs(want[k]), FLOOR * gmax);
            worst = isnan(r) ? INFINITY : fmax(worst, r);
        }
        snprintf(msg, sizeof msg,
                 "lenet[%s] B3 %-12s grad vs FD of reference: [%zu] %.6g/%.6g [%zu] %.6g/%.6g [%zu] %.6g/%.6g "
                 "[%zu] %.6g/%.6g  max_rel=%.2e <= %.0e",
                 kname, ti->name, idx[0], got[0], want[0], idx[1], got[1], want[1], idx[2], got[2], want[2], idx[3],
                 got[3], want[3], worst, TOL_NET_GRAD);
        CHECK(&T, gmax > 0 && worst <= TOL_NET_GRAD, msg);

        /* Independent of the reference: the library's own float forward. */
        float *p = net.params + ti->offset + idx[0];
        const float p0 = *p;
        *p = p0 + NET_FD_H;
        const double step_p = (double)*p - p0;
        const double lp = lib_loss(&net, x, y, B, NULL);
        *p = p0 - NET_FD_H;
        const double step_m = (double)p0 - *p;
        const double lm = lib_loss(&net, x, y, B, NULL);
        *p = p0;
        const double fd = (lp - lm) / (step_p + step_m);
        const double rel = fabs(fd - got[0]) / fabs(got[0]);
        snprintf(msg, sizeof msg,
                 "lenet[%s] B3 %-12s largest grad [%zu] %.6g vs FD of ln_lenet_forward (h=%.0e) %.6g: rel %.2e <= %.0e",
                 kname, ti->name, idx[0], got[0], (double)NET_FD_H, fd, rel, TOL_NET_FLOATFD);
        CHECK(&T, rel <= TOL_NET_FLOATFD, msg);
    }

    /* backward adds into grads: a second backward doubles them */
    lib_loss(&net, x, y, B, dl);
    ln_lenet_backward(&net, dl, B);
    double *twice = DALLOC(net.n_params);
    for (size_t i = 0; i < net.n_params; i++) twice[i] = 2.0 * grad[i];
    snprintf(msg, sizeof msg, "lenet[%s] B3: two backwards without zero_grad accumulate 2x", kname);
    compare(msg, net.grads, twice, net.n_params, 1e-6);
    ln_lenet_zero_grad(&net);
    size_t nz = 0;
    for (size_t i = 0; i < net.n_params; i++) nz += net.grads[i] != 0.f;
    snprintf(msg, sizeof msg, "lenet[%s]: ln_lenet_zero_grad clears every gradient", kname);
    CHECK(&T, nz == 0, msg);
    free(grad), free(twice);
    ln_lenet_free(&net);
}

int main(void) {
    find_variants();
    test_im2col();
    for (int v = 0; v < n_variants; v++) {
        const ln_gemm_kernels *g = &variants[v];
        test_conv(g, 2, 2, 8, 8, 3, 3, 1, 1);
        test_conv(g, 2, 2, 8, 8, 3, 3, 0, 1);
        test_conv(g, 2, 1, 8, 8, 3, 3, 1, 1);
        test_conv(g, 3, 1, 9, 7, 4, 5, 1, 0); /* like conv1: C=1, no din */
        test_conv(g, 2, 3, 9, 9, 5, 5, 1, 1); /* K=5 like LeNet, CKK=75 */
        test_dense(g, 3, 7, 5);
        test_dense(g, 4, 37, 17); /* I > 16 lanes, O not a multiple of 16 */
    }
    test_relu();
    test_maxpool();
    test_xent();
    net_ref ref = {0};
    for (int v = 0; v < n_variants; v++) test_net(variants[v].name, &ref);
    free(ref.params);
    return test_finish(&T);
}
