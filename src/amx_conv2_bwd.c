/* amx_conv2_bwd.c - the AMX prototype of conv2's input gradient and its
 * scalar reference (amx.h). Not used by the engine.
 *
 * The output gradient's channel pairs (8, 10, 10, 16) are first copied,
 * zero-padded by 4 on every side, into pad (18, 18, 8, 16): channel pairs
 * innermost, so that for one input pixel (y, x) and kernel row ky the five
 * taps kx = 4..0 read 40 consecutive lane vectors (pixel x - kx + 4 of
 * padded row y - ky + 4, then the channel pair). Those 40 rows are three
 * blocks: 16 (kx 4, 3), 16 (kx 2, 1), 8 (kx 0). C = the 6 input channels x
 * 16 lanes of one pixel; A = the matching weight pairs (prepacked per ky
 * and block, 6 x 16 or 6 x 8); B = the block's rows of pad. Four pixels
 * (C tiles 0-3) share each A; tiles 4, 5 are A and B for the 16-row
 * blocks, 6, 7 for the 8-row one.
 */
#include <string.h>

#include "amx.h"
#include "lanes.h"

#define IC LN_CONV1_C
#define H LN_POOL1_SIDE /* input side, 14 */
#define OC2 (LN_CONV2_C / 2)
#define OH LN_CONV2_SIDE /* output side, 10 */
#define PW (OH + 2 * (LN_KERNEL - 1)) /* padded side, 18 */
#define KK LN_KERNEL
#define L LN_LANES
#define SPAN (KK * OC2) /* rows per (pixel, ky), 40 */
#define NBLK 3

_Static_assert(IC <= 16 && OC2 == 8 && KK == 5 && SPAN == 40 && L == 16, "the blocks below");

static const int blk_at[NBLK] = {0, 16, 32}, blk_k[NBLK] = {16, 16, 8};

/* pad[(py * PW + px) * OC2 + c] lane vectors from dout (OC2, OH, OH, L). */
static void pad_dout(const uint32_t *dout, uint32_t *pad) {
    memset(pad, 0, sizeof(uint32_t) * LN_AMX_CONV2_BWD_PAD);
    for (int oy = 0; oy < OH; oy++)
        for (int ox = 0; ox < OH; ox++)
            for (int c = 0; c < OC2; c++)
                memcpy(pad + ((long)((oy + KK - 1) * PW + ox + KK - 1) * OC2 + c) * L,
                       dout + ((long)(c * OH + oy) * OH + ox) * L, L * 4);
}

/* The weight pair for input channel ic and row r (0..39) of the span of
 * kernel row ky: tap kx = 4 - r / 8, channel pair r % 8. wt: (OC2, IC, 5, 5). */
static uint32_t wpair(const uint32_t *wt, int ic, int ky, int r) {
    return wt[((long)((r % OC2) * IC + ic) * KK + ky) * KK + (KK - 1 - r / OC2)];
}

void ln_amx_conv2_bwd_in_ref(const uint32_t *dout, const uint32_t *wt, float *din, uint32_t *pad) {
    pad_dout(dout, pad);
    for (int ic = 0; ic < IC; ic++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < H; x++)
                for (int l = 0; l < L; l++) {
                    float acc = 0.f;
                    for (int ky = 0; ky < KK; ky++) {
                        const uint32_t *span = pad + (long)((y - ky + KK - 1) * PW + x) * OC2 * L;
                        for (int b = 0; b < NBLK; b++) {
                            uint32_t a[16], v[16];
                            for (int k = 0; k < blk_k[b]; k++)
                                a[k] = wpair(wt, ic, ky, blk_at[b] + k), v[k] = span[(long)(blk_at[b] + k) * L + l];
                            acc = ln_amx_block_ref(acc, a, v, blk_k[b]);
                        }
                    }
                    din[((long)(ic * H + y) * H + x) * L + l] = acc;
                }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define CZERO(t)                                                                                             \
    do {                                                                                                     \
        if ((t) < n) _tile_zero(t);                                                                          \
    } while (0)
/* pixel t of the block at x0: rows of its span from pad, one TDPBF16PS */
#define PIXEL(t, ta, tb, b)                                                                                  \
    do {                                                                                                     \
        if ((t) < n) {                                                                                       \
            _tile_loadd(tb, span + (long)((t) * OC2 + blk_at[b]) * L, L * 4);                               \
            _tile_dpbf16ps(t, ta, tb);                                                                       \
        }                                                                                                    \
    } while (0)
#define CSTORE(t)                                                                                            \
    do {                                                                                                     \
        if ((t) < n) _tile_stored(t, din + ((long)y * H + x0 + (t)) * L, H * H * L * 4);                     \
    } while (0)

__attribute__((target("amx-tile,amx-bf16"))) void ln_amx_conv2_bwd_in(const uint32_t *dout, const uint32_t *wt,
                                                                      float *din, uint32_t *pad) {
    uint32_t a[KK][NBLK][IC * 16] __attribute__((aligned(64)));
    for (int ky = 0; ky < KK; ky++)
        for (int b = 0; b < NBLK; b++)
            for (int ic = 0; ic < IC; ic++)
                for (int k = 0; k < blk_k[b]; k++) a[ky][b][ic * blk_k[b] + k] = wpair(wt, ic, ky, blk_at[b] + k);
    pad_dout(dout, pad);
    ln_amx_tilecfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 4; t++) cfg.rows[t] = IC, cfg.colsb[t] = L * 4;
    cfg.rows[4] = IC, cfg.colsb[4] = 16 * 4, cfg.rows[5] = 16, cfg.colsb[5] = L * 4;
    cfg.rows[6] = IC, cfg.colsb[6] = 8 * 4, cfg.rows[7] = 8, cfg.colsb[7] = L * 4;
    _tile_loadconfig(&cfg);
    for (int y = 0; y < H; y++)
        for (int x0 = 0; x0 < H; x0 += 4) {
            const int n = H - x0 < 4 ? H - x0 : 4;
            CZERO(0); CZERO(1); CZERO(2); CZERO(3);
            for (int ky = 0; ky < KK; ky++) {
                const uint32_t *span = pad + (long)((y - ky + KK - 1) * PW + x0) * OC2 * L;
                for (int b = 0; b < 2; b++) {
                    _tile_loadd(4, a[ky][b], 16 * 4);
                    PIXEL(0, 4, 5, b); PIXEL(1, 4, 5, b); PIXEL(2, 4, 5, b); PIXEL(3, 4, 5, b);
                }
                _tile_loadd(6, a[ky][2], 8 * 4);
                PIXEL(0, 6, 7, 2); PIXEL(1, 6, 7, 2); PIXEL(2, 6, 7, 2); PIXEL(3, 6, 7, 2);
            }
            CSTORE(0); CSTORE(1); CSTORE(2); CSTORE(3);
        }
    _tile_release();
}
#else
void ln_amx_conv2_bwd_in(const uint32_t *dout, const uint32_t *wt, float *din, uint32_t *pad) {
    (void)dout, (void)wt, (void)din, (void)pad; /* never called: ln_amx_enable() is 0 */
}
#endif
