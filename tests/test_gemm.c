/* test_gemm.c - the tiled GEMM kernels against the plain reference.
 *
 * For every kernel variant this CPU supports ("generic", "avx2", "avx512";
 * an unsupported one is skipped with a note) and for nn, tn and nt:
 *
 * - Accuracy. Random matrices in [-1, 1] of many shapes: LeNet's real ones
 *   (conv forward / weight-gradient / input-gradient, the dense layers at
 *   batch 32, forward and backward) and a grid of odd sizes 1..37 (M not a
 *   multiple of the 4-row tile, N not a multiple of the 16-column tile, K
 *   below / around / above the 16-lane width of nt), with accumulate = 0 and
 *   1 and leading dimensions larger than the row length. (The big conv
 *   shapes run in the op the network uses them with, the dense ones in all
 *   three.) Each element of C
 *   must satisfy
 *       |c - ref| <= 1e-5 * bound + 1e-6,
 *       bound = |c0| (accumulate only) + sum_k |a_ik * b_kj|   (in double),
 *   where ref is ln_gemm_ref_* (float, k ascending). Both sides are float
 *   sums of the same terms, so they differ by rounding only: O(eps * bound)
 *   with eps = 6e-8 (a dropped or duplicated term, a wrong stride, a
 *   transposed operand would give O(|a*b|), i.e. ~1/K of the bound or more).
 *   The reference itself is checked the same way against an exact double
 *   sum, so that a bug in it cannot mask one in the kernels.
 * - Memory discipline. The padding of A and B (between the row length and
 *   lda / ldb) holds NaN, and with accumulate = 0 so does C: a kernel that
 *   reads outside the matrices, or reads C when told to overwrite it, turns
 *   the result into NaN and fails. The padding of C (columns N..ldc-1)
 *   holds a sentinel that must be unchanged bit for bit.
 * - Determinism (gemm.h's contract): threads = 2 and 3 give bit-identical C
 *   (memcmp of the whole buffer) to threads = 1. Only shapes above the
 *   kernels' 2e5-flop threshold actually run in parallel; the test counts
 *   them and requires some per variant.
 *
 * Prints, per compared matrix group, the max absolute difference and the
 * max of |c - ref| / bound.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lenet/gemm.h"

#define TOL_REL 1e-5
#define TOL_ABS 1e-6

enum { OP_NN, OP_TN, OP_NT, N_OPS };
static const char *const op_names[N_OPS] = {"nn", "tn", "nt"};

static uint64_t rng_state = 0x243F6A8885A308D3ull;
static uint64_t rng_next(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static float rng_sym(void) { return (float)((double)(rng_next() >> 11) * 0x1.0p-53 * 2.0 - 1.0); }

static const float C_SENTINEL = -12345.5f;

typedef struct {
    int op, M, N, K, lda, ldb, ldc;
    long arows, brows;   /* stored rows of A and B */
    float *A, *B, *C0;   /* inputs; C0 = initial C (random or NaN) */
    float *ref;          /* ln_gemm_ref_* result */
    double *exact, *bound;
} problem;

static ln_gemm_fn op_fn(const ln_gemm_kernels *k, int op) {
    return op == OP_NN ? k->nn : op == OP_TN ? k->tn : k->nt;
}

/* Element (i,k) of op(A) and (k,j) of op(B). */
static float get_a(const problem *p, int i, int k) {
    return p->op == OP_TN ? p->A[(long)k * p->lda + i] : p->A[(long)i * p->lda + k];
}
static float get_b(const problem *p, int k, int j) {
    return p->op == OP_NT ? p->B[(long)j * p->ldb + k] : p->B[(long)k * p->ldb + j];
}

/* Allocate and fill a problem; padding of A/B = NaN. */
static int make_problem(problem *p, int op, int M, int N, int K, int pa, int pb, int pc, int accumulate) {
    memset(p, 0, sizeof *p);
    p->op = op, p->M = M, p->N = N, p->K = K;
    const int acols = op == OP_TN ? M : K; /* row length of stored A */
    const int bcols = op == OP_NT ? K : N;
    p->arows = op == OP_TN ? K : M;
    p->brows = op == OP_NT ? N : K;
    p->lda = acols + pa, p->ldb = bcols + pb, p->ldc = N + pc;
    p->A = malloc(sizeof(float) * (size_t)(p->arows * p->lda));
    p->B = malloc(sizeof(float) * (size_t)(p->brows * p->ldb));
    p->C0 = malloc(sizeof(float) * (size_t)M * p->ldc);
    p->ref = malloc(sizeof(float) * (size_t)M * p->ldc);
    p->exact = malloc(sizeof(double) * (size_t)M * N);
    p->bound = malloc(sizeof(double) * (size_t)M * N);
    if (!p->A || !p->B || !p->C0 || !p->ref || !p->exact || !p->bound) return -1;
    for (long r = 0; r < p->arows; r++)
        for (int c = 0; c < p->lda; c++) p->A[r * p->lda + c] = c < acols ? rng_sym() : NAN;
    for (long r = 0; r < p->brows; r++)
        for (int c = 0; c < p->ldb; c++) p->B[r * p->ldb + c] = c < bcols ? rng_sym() : NAN;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < p->ldc; j++)
            p->C0[(long)i * p->ldc + j] = j >= N ? C_SENTINEL : accumulate ? rng_sym() : NAN;
    /* Exact value and error scale in double, k ascending. */
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double c0 = accumulate ? p->C0[(long)i * p->ldc + j] : 0.0;
            double s = c0, b = fabs(c0);
            for (int k = 0; k < K; k++) {
                double t = (double)get_a(p, i, k) * get_b(p, k, j);
                s += t, b += fabs(t);
            }
            p->exact[(long)i * N + j] = s;
            p->bound[(long)i * N + j] = b;
        }
    static const ln_gemm_fn refs[N_OPS] = {ln_gemm_ref_nn, ln_gemm_ref_tn, ln_gemm_ref_nt};
    memcpy(p->ref, p->C0, sizeof(float) * (size_t)M * p->ldc);
    refs[op](M, N, K, p->A, p->lda, p->B, p->ldb, p->ref, p->ldc, accumulate, 1);
    return 0;
}

static void free_problem(problem *p) {
    free(p->A), free(p->B), free(p->C0), free(p->ref), free(p->exact), free(p->bound);
    memset(p, 0, sizeof *p);
}

/* Running maxima over a group of comparisons. */
typedef struct {
    double max_abs, max_rel; /* rel = |diff| / bound */
    long bad;                /* elements over tolerance (NaN counts) */
    long pad_bad;            /* C padding elements changed */
    long n;                  /* elements compared */
} stats;

static void accumulate_stats(stats *s, const problem *p, const float *C, const double *want_d,
                             const float *want_f) {
    for (int i = 0; i < p->M; i++) {
        for (int j = 0; j < p->N; j++) {
            const double want = want_d ? want_d[(long)i * p->N + j] : (double)want_f[(long)i * p->ldc + j];
            const double got = C[(long)i * p->ldc + j];
            const double d = fabs(got - want), bnd = p->bound[(long)i * p->N + j];
            const double r = bnd > 0 ? d / bnd : (d > 0 ? INFINITY : 0.0);
            if (!(d <= TOL_REL * bnd + TOL_ABS)) s->bad++;
            if (isnan(d)) {
                s->max_abs = s->max_rel = INFINITY;
            } else {
                if (d > s->max_abs) s->max_abs = d;
                if (r > s->max_rel) s->max_rel = r;
            }
            s->n++;
        }
        for (int j = p->N; j < p->ldc; j++)
            if (memcmp(&C[(long)i * p->ldc + j], &C_SENTINEL, sizeof(float))) s->pad_bad++;
    }
}

/* Shapes. */
typedef struct { int M, N, K, ops; const char *what; } shape; /* ops: bit mask of OP_* */
#define ALL_OPS 7
static const shape lenet_shapes[] = {
    {6, 32 * 784, 25, 1 << OP_NN, "conv1 fwd (6 x 25088 x 25)"},
    {16, 3200, 150, 1 << OP_NN, "conv2 fwd (16 x 3200 x 150)"},
    {6, 25, 32 * 784, 1 << OP_NT, "conv1 dW (6 x 25 x 25088)"},
    {16, 150, 3200, 1 << OP_NT, "conv2 dW (16 x 150 x 3200)"},
    {150, 3200, 16, 1 << OP_TN, "conv2 dcol (150 x 3200 x 16)"},
    {32, 120, 400, ALL_OPS, "fc1 fwd (32 x 120 x 400)"},
    {32, 84, 120, ALL_OPS, "fc2 fwd (32 x 84 x 120)"},
    {32, 10, 84, ALL_OPS, "fc3 fwd (32 x 10 x 84)"},
    {120, 400, 32, ALL_OPS, "fc1 dW (120 x 400 x 32)"},
    {84, 120, 32, ALL_OPS, "fc2 dW (84 x 120 x 32)"},
    {10, 84, 32, ALL_OPS, "fc3 dW (10 x 84 x 32)"},
    {32, 400, 120, ALL_OPS, "fc1 din (32 x 400 x 120)"},
    {32, 120, 84, ALL_OPS, "fc2 din (32 x 120 x 84)"},
    {32, 84, 10, ALL_OPS, "fc3 din (32 x 84 x 10)"},
};
#define N_LENET ((int)(sizeof lenet_shapes / sizeof lenet_shapes[0]))
static const int odd_M[] = {1, 2, 3, 4, 5, 6, 7, 9, 13, 37};
static const int odd_N[] = {1, 2, 7, 15, 16, 17, 31, 32, 33, 37};
static const int odd_K[] = {1, 2, 3, 15, 16, 17, 31, 33, 37};
#define NE(a) ((int)(sizeof a / sizeof a[0]))

#define N_VARIANTS 3
static const char *const variant_names[N_VARIANTS] = {"generic", "avx2", "avx512"};

typedef struct {
    int ok;
    ln_gemm_kernels k;
    stats acc[N_OPS];       /* all shapes, against ln_gemm_ref */
    long nondet[N_OPS];     /* problems where threads 2/3 differ from 1 */
    long parallel[N_OPS];   /* problems above the parallel threshold */
    long problems[N_OPS];
} variant;

/* Run one problem through every variant (and threads 1/2/3). */
static void run_problem(test_ctx *t, variant *vs, const problem *p, int accumulate, stats *ref_stats,
                        stats *group /* per-variant stats for this group, or NULL */) {
    const size_t csz = sizeof(float) * (size_t)p->M * p->ldc;
    float *C1 = malloc(csz), *C2 = malloc(csz);
    CHECK(t, C1 && C2, "allocate C");
    if (!C1 || !C2) {
        free(C1), free(C2);
        return;
    }
    accumulate_stats(ref_stats, p, p->ref, p->exact, NULL);
    const int parallel = 2.0 * p->M * p->N * p->K > 2e5;
    for (int v = 0; v < N_VARIANTS; v++) {
        if (!vs[v].ok) continue;
        ln_gemm_fn f = op_fn(&vs[v].k, p->op);
        memcpy(C1, p->C0, csz);
        f(p->M, p->N, p->K, p->A, p->lda, p->B, p->ldb, C1, p->ldc, accumulate, 1);
        accumulate_stats(&vs[v].acc[p->op], p, C1, NULL, p->ref);
        if (group) accumulate_stats(&group[v], p, C1, NULL, p->ref);
        int same = 1;
        for (int th = 2; th <= 3; th++) {
            memcpy(C2, p->C0, csz);
            f(p->M, p->N, p->K, p->A, p->lda, p->B, p->ldb, C2, p->ldc, accumulate, th);
            if (memcmp(C1, C2, csz)) same = 0;
        }
        vs[v].nondet[p->op] += !same;
        vs[v].parallel[p->op] += parallel;
        vs[v].problems[p->op]++;
    }
    free(C1), free(C2);
}

static void print_stats(const char *label, const stats *s) {
    printf("    %-44s n=%-9ld max_abs=%.3e max_rel(/sum|ab|)=%.3e over_tol=%ld pad_changed=%ld\n", label,
           s->n, s->max_abs, s->max_rel, s->bad, s->pad_bad);
}

static void check_stats(test_ctx *t, const char *label, const stats *s) {
    char what[256];
    print_stats(label, s);
    snprintf(what, sizeof what, "%s: |c-ref| <= %.0e*sum|a*b| + %.0e everywhere, no NaN", label, TOL_REL,
             TOL_ABS);
    CHECK(t, s->n > 0 && s->bad == 0, what);
    snprintf(what, sizeof what, "%s: C padding (ldc > N) untouched", label);
    CHECK(t, s->pad_bad == 0, what);
}

int main(void) {
    test_ctx t = {"test_gemm", 0, 0};
    variant vs[N_VARIANTS];
    memset(vs, 0, sizeof vs);
    int n_ok = 0;
    for (int v = 0; v < N_VARIANTS; v++) {
        vs[v].ok = ln_gemm_select(&vs[v].k, variant_names[v]) == 0;
        if (!vs[v].ok) {
            printf("  note: kernel variant '%s' is not supported by this CPU: skipped\n", variant_names[v]);
            continue;
        }
        n_ok++;
        char what[128];
        snprintf(what, sizeof what, "ln_gemm_select(\"%s\") returns kernels named \"%s\"", variant_names[v],
                 variant_names[v]);
        CHECK(&t, !strcmp(vs[v].k.name, variant_names[v]) && vs[v].k.nn && vs[v].k.tn && vs[v].k.nt, what);
    }
    CHECK(&t, n_ok >= 1 && vs[0].ok, "the generic variant is always available");
    {
        ln_gemm_kernels k;
        CHECK(&t, ln_gemm_select(&k, "sse9") == -1, "ln_gemm_select rejects an unknown name");
        CHECK(&t, ln_gemm_select(&k, NULL) == 0 && ln_gemm_select(&k, "auto") == 0,
              "ln_gemm_select(NULL / \"auto\") succeeds");
    }

    /* 1. LeNet's shapes: every op, accumulate 0/1, padded leading dims. */
    printf("LeNet shapes: convolutions in the op they use, dense layers in all three "
           "(lda/ldb/ldc = row length + 3/5/7):\n");
    for (int s = 0; s < N_LENET; s++)
        for (int op = 0; op < N_OPS; op++)
            for (int acc = 0; acc <= 1; acc++) {
                const shape *sh = &lenet_shapes[s];
                if (!(sh->ops >> op & 1)) continue;
                problem p;
                if (make_problem(&p, op, sh->M, sh->N, sh->K, 3, 5, 7, acc)) {
                    CHECK(&t, 0, "allocate problem");
                    free_problem(&p);
                    continue;
                }
                stats ref = {0}, group[N_VARIANTS];
                memset(group, 0, sizeof group);
                run_problem(&t, vs, &p, acc, &ref, group);
                char label[160];
                printf("  %s %s accumulate=%d\n", op_names[op], sh->what, acc);
                snprintf(label, sizeof label, "ref vs double: %s %s acc=%d", op_names[op], sh->what, acc);
                check_stats(&t, label, &ref);
                for (int v = 0; v < N_VARIANTS; v++) {
                    if (!vs[v].ok) continue;
                    snprintf(label, sizeof label, "%s vs ref: %s %s acc=%d", variant_names[v], op_names[op],
                             sh->what, acc);
                    check_stats(&t, label, &group[v]);
                }
                free_problem(&p);
            }

    /* 2. Odd shapes: the full grid, padding cycling through 0, 1, 3, 16. */
    static const int pads[4] = {0, 1, 3, 16};
    stats odd_ref[N_OPS];
    stats odd[N_VARIANTS][N_OPS];
    memset(odd_ref, 0, sizeof odd_ref);
    memset(odd, 0, sizeof odd);
    long count = 0;
    for (int a = 0; a < NE(odd_M); a++)
        for (int b = 0; b < NE(odd_N); b++)
            for (int c = 0; c < NE(odd_K); c++)
                for (int op = 0; op < N_OPS; op++) {
                    const int acc = (int)(count & 1);
                    const int pa = pads[count % 4], pb = pads[(count / 4) % 4], pc = pads[(count / 16) % 4];
                    count++;
                    problem p;
                    if (make_problem(&p, op, odd_M[a], odd_N[b], odd_K[c], pa, pb, pc, acc)) {
                        CHECK(&t, 0, "allocate problem");
                        free_problem(&p);
                        continue;
                    }
                    stats group[N_VARIANTS];
                    memset(group, 0, sizeof group);
                    run_problem(&t, vs, &p, acc, &odd_ref[op], group);
                    for (int v = 0; v < N_VARIANTS; v++) {
                        stats *d = &odd[v][op], *g = &group[v];
                        d->bad += g->bad, d->pad_bad += g->pad_bad, d->n += g->n;
                        d->max_abs = fmax(d->max_abs, g->max_abs), d->max_rel = fmax(d->max_rel, g->max_rel);
                    }
                    free_problem(&p);
                }
    printf("Odd shapes: M in {1..7,9,13,37}, N in {1,2,7,15,16,17,31,32,33,37}, K in "
           "{1,2,3,15,16,17,31,33,37}, accumulate alternating, pads 0/1/3/16 (%ld problems):\n",
           count);
    for (int op = 0; op < N_OPS; op++) {
        char label[128];
        snprintf(label, sizeof label, "ref vs double: %s odd shapes", op_names[op]);
        check_stats(&t, label, &odd_ref[op]);
        for (int v = 0; v < N_VARIANTS; v++) {
            if (!vs[v].ok) continue;
            snprintf(label, sizeof label, "%s vs ref: %s odd shapes", variant_names[v], op_names[op]);
            check_stats(&t, label, &odd[v][op]);
        }
    }

    /* 3. Summary per variant and op, and thread determinism. */
    printf("Per variant (all shapes):\n");
    for (int v = 0; v < N_VARIANTS; v++) {
        if (!vs[v].ok) continue;
        for (int op = 0; op < N_OPS; op++) {
            char label[128];
            snprintf(label, sizeof label, "%s %s (all shapes)", variant_names[v], op_names[op]);
            print_stats(label, &vs[v].acc[op]);
            snprintf(label, sizeof label,
                     "%s %s: threads 2 and 3 bit-identical to threads 1 (%ld problems, %ld parallel)",
                     variant_names[v], op_names[op], vs[v].problems[op], vs[v].parallel[op]);
            CHECK(&t, vs[v].nondet[op] == 0 && vs[v].parallel[op] >= N_LENET / 2, label);
        }
    }
    return test_finish(&t);
}
