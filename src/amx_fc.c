/* amx_fc.c - AMX prototypes of the dense layers (forward, input gradient,
 * weight gradient) in the lanes engine's own bf16 layouts, and their
 * scalar references (amx.h). Not used by the engine.
 *
 * All three are one product C (M x N) = init + A (M x K pairs) . B (K x N)
 * cut into 16 x 16 output tiles, each tile's K in blocks of 16 pairs from
 * the first (the last block shorter), one TDPBF16PS per block. A tile's
 * shape (rows, columns, last block) is configured once per tile shape:
 * LDTILECFG zeroes every tile, so it only runs when the shape changes.
 */
#include <string.h>

#include "amx.h"
#include "lanes.h"

#define L LN_LANES

/* C[m][n] = init + the blocks, in scalar C: a[m][k] at A + m * lda + k,
 * b[k][n] at B + (n / 16) * btile + k * ldb + n % 16 (words); init =
 * bias[m] or 0; C row stride ldc (floats). */
static void gemm_ref(const uint32_t *A, long lda, const uint32_t *B, long ldb, long btile, float *C, long ldc,
                     int M, int N, int KP, const float *bias) {
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            float acc = bias ? bias[m] : 0.f;
            for (int k0 = 0; k0 < KP; k0 += 16) {
                const int kc = KP - k0 < 16 ? KP - k0 : 16;
                uint32_t b[16];
                for (int k = 0; k < kc; k++) b[k] = B[(n / 16) * btile + (long)(k0 + k) * ldb + n % 16];
                acc = ln_amx_block_ref(acc, A + (long)m * lda + k0, b, kc);
            }
            C[(long)m * ldc + n] = acc;
        }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* The same with tiles: C tile 0, A tiles 1 (16 pairs) and 3 (the last,
 * shorter block), B tiles 2 and 4. */
__attribute__((target("amx-tile,amx-bf16"))) static void gemm_amx(const uint32_t *A, long lda, const uint32_t *B,
                                                                  long ldb, long btile, float *C, long ldc, int M,
                                                                  int N, int KP, const float *bias) {
    float binit[16 * 16] __attribute__((aligned(64)));
    const int kfull = KP / 16 * 16, klast = KP - kfull;
    int shape_m = -1, shape_n = -1;
    for (int m0 = 0; m0 < M; m0 += 16)
        for (int n0 = 0; n0 < N; n0 += 16) {
            const int mr = M - m0 < 16 ? M - m0 : 16, nc = N - n0 < 16 ? N - n0 : 16;
            if (mr != shape_m || nc != shape_n) {
                ln_amx_tilecfg cfg;
                memset(&cfg, 0, sizeof cfg);
                cfg.palette = 1;
                cfg.rows[0] = (uint8_t)mr, cfg.colsb[0] = (uint16_t)(4 * nc);
                cfg.rows[1] = (uint8_t)mr, cfg.colsb[1] = 64, cfg.rows[2] = 16, cfg.colsb[2] = (uint16_t)(4 * nc);
                if (klast) {
                    cfg.rows[3] = (uint8_t)mr, cfg.colsb[3] = (uint16_t)(4 * klast);
                    cfg.rows[4] = (uint8_t)klast, cfg.colsb[4] = (uint16_t)(4 * nc);
                }
                _tile_loadconfig(&cfg);
                shape_m = mr, shape_n = nc;
            }
            if (bias) {
                for (int m = 0; m < mr; m++)
                    for (int n = 0; n < 16; n++) binit[m * 16 + n] = bias[m0 + m];
                _tile_loadd(0, binit, 64);
            } else
                _tile_zero(0);
            const uint32_t *a = A + (long)m0 * lda, *b = B + (n0 / 16) * btile;
            for (int k0 = 0; k0 < kfull; k0 += 16) {
                _tile_loadd(1, a + k0, lda * 4);
                _tile_loadd(2, b + (long)k0 * ldb, ldb * 4);
                _tile_dpbf16ps(0, 1, 2);
            }
            if (klast) {
                _tile_loadd(3, a + kfull, lda * 4);
                _tile_loadd(4, b + (long)kfull * ldb, ldb * 4);
                _tile_dpbf16ps(0, 3, 4);
            }
            _tile_stored(0, C + (long)m0 * ldc + n0, ldc * 4);
        }
    _tile_release();
}
#else
static void gemm_amx(const uint32_t *A, long lda, const uint32_t *B, long ldb, long btile, float *C, long ldc,
                     int M, int N, int KP, const float *bias) {
    gemm_ref(A, lda, B, ldb, btile, C, ldc, M, N, KP, bias); /* never called: ln_amx_enable() is 0 */
}
#endif

typedef void gemm_fn(const uint32_t *, long, const uint32_t *, long, long, float *, long, int, int, int,
                     const float *);

static void fc_fwd(gemm_fn *g, const uint32_t *x, int F, const uint32_t *w, const float *b, int O, float *y,
                   int relu) {
    g(w, F / 2, x, L, 0, y, L, O, L, F / 2, b);
    if (relu)
        for (long i = 0; i < (long)O * L; i++) y[i] = y[i] > 0.f ? y[i] : 0.f;
}

static void fc_bwd_in(gemm_fn *g, const uint32_t *dy, int O, const uint32_t *wt, int F, float *dx, const float *act,
                      uint32_t *scratch) {
    for (int f = 0; f < F; f++)
        for (int k = 0; k < O / 2; k++) scratch[(long)f * (O / 2) + k] = wt[(long)k * F + f];
    g(scratch, O / 2, dy, L, 0, dx, L, F, L, O / 2, NULL);
    if (act)
        for (long i = 0; i < (long)F * L; i++) dx[i] = act[i] > 0.f ? dx[i] : 0.f;
}

static void fc_dw(gemm_fn *g, const uint32_t *dyl, int O, const uint32_t *txp, int F, float *dw) {
    g(dyl, L / 2, txp, L, (long)(L / 2) * L, dw, F, O, F, L / 2, NULL);
}

void ln_amx_fc_fwd(const uint32_t *x, int F, const uint32_t *w, const float *b, int O, float *y, int relu) {
    fc_fwd(gemm_amx, x, F, w, b, O, y, relu);
}
void ln_amx_fc_fwd_ref(const uint32_t *x, int F, const uint32_t *w, const float *b, int O, float *y, int relu) {
    fc_fwd(gemm_ref, x, F, w, b, O, y, relu);
}
void ln_amx_fc_bwd_in(const uint32_t *dy, int O, const uint32_t *wt, int F, float *dx, const float *act,
                      uint32_t *scratch) {
    fc_bwd_in(gemm_amx, dy, O, wt, F, dx, act, scratch);
}
void ln_amx_fc_bwd_in_ref(const uint32_t *dy, int O, const uint32_t *wt, int F, float *dx, const float *act,
                          uint32_t *scratch) {
    fc_bwd_in(gemm_ref, dy, O, wt, F, dx, act, scratch);
}
void ln_amx_fc_dw(const uint32_t *dyl, int O, const uint32_t *txp, int F, float *dw) {
    fc_dw(gemm_amx, dyl, O, txp, F, dw);
}
void ln_amx_fc_dw_ref(const uint32_t *dyl, int O, const uint32_t *txp, int F, float *dw) {
    fc_dw(gemm_ref, dyl, O, txp, F, dw);
}
