/* amx_conv2.c - the AMX prototype of a convolution's forward pass (conv1
 * and conv2), its scalar reference, and conv2's float32-FMA emulation
 * (amx.h). Not used by the engine.
 *
 * Tiles: C = the OC output channels x 16 lanes of one output pixel (one
 * float vector per channel, the lanes layout's own); A = the channels' 15
 * weight pairs of one input channel, read in place from ln_bf16_pack's
 * (OC, IC, 5, 3) layout (row stride IC * 15 pairs); B = the 15 input pairs
 * the pixel reads in that channel, one 64-byte lane vector per row. Those
 * are (ky, j) -> sliding pair (oy + ky, ox + 2j), not equally spaced, so
 * the input is first copied, one output column ox at a time, into col
 * (IC, H, 3, 16): rows oy..oy+4 of channel ic are then 15 consecutive
 * vectors. (The copies take ~40% of the time; copying every column first,
 * into 161 KB, measured no faster.) Four pixels (C tiles 0-3) share each
 * A load; B rotates through 5-7.
 * The AMX code is compiled per function (target attribute): the file
 * needs no -m flags, and runs only after ln_amx_enable().
 */
#include <string.h>

#include "amx.h"
#include "fpflush.h"
#include "lanes.h"

#define KP 3              /* tap pairs per kernel row */
#define KB (LN_KERNEL * KP) /* pairs per block (input channel) */
#define L LN_LANES
#define MAX_ICH 84          /* IC * H: conv1 32, conv2 84 */

_Static_assert(L == 16 && KB <= 16, "a block per input channel fits a tile");

void ln_amx_conv_fwd_ref(const uint32_t *in, int IC, int H, const uint32_t *w, const float *bias, int OC,
                         float *out) {
    const int OH = H - LN_KERNEL + 1;
    for (int oc = 0; oc < OC; oc++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OH; ox++)
                for (int l = 0; l < L; l++) {
                    float acc = bias[oc];
                    for (int ic = 0; ic < IC; ic++) {
                        uint32_t b[KB];
                        for (int ky = 0; ky < LN_KERNEL; ky++)
                            for (int j = 0; j < KP; j++)
                                b[ky * KP + j] = in[((long)(ic * H + oy + ky) * H + ox + 2 * j) * L + l];
                        acc = ln_amx_block_ref(acc, w + (long)(oc * IC + ic) * KB, b, KB);
                    }
                    out[((long)(oc * OH + oy) * OH + ox) * L + l] = acc > 0.f ? acc : 0.f;
                }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* Pixel t (0..3) of the block at oy0 in C tile t: B (tile tb) from col,
 * then one TDPBF16PS. Tile numbers must be constants. */
#define PIXEL(t, tb)                                                                                         \
    do {                                                                                                     \
        if ((t) < n) {                                                                                       \
            _tile_loadd(tb, col + (long)((ic * H + oy0 + (t)) * KP) * L, L * 4);                            \
            _tile_dpbf16ps(t, 4, tb);                                                                        \
        }                                                                                                    \
    } while (0)
#define CINIT(t)                                                                                             \
    do {                                                                                                     \
        if ((t) < n) _tile_loadd(t, bt, L * 4);                                                             \
    } while (0)
#define CSTORE(t)                                                                                            \
    do {                                                                                                     \
        if ((t) < n) _tile_stored(t, out + ((long)(oy0 + (t)) * OH + ox) * L, (long)OH * OH * L * 4);       \
    } while (0)

/* Every CPU with AMX has AVX-512F: the copies and the ReLU use it. */
__attribute__((target("amx-tile,amx-bf16,avx512f"))) void ln_amx_conv_fwd(const uint32_t *in, int IC, int H,
                                                                          const uint32_t *w, const float *bias,
                                                                          int OC, float *out) {
    const int OH = H - LN_KERNEL + 1;
    if (IC * H > MAX_ICH || OC > 16) return; /* not LeNet's: amx.h's contract */
    uint32_t col[MAX_ICH * KP * L] __attribute__((aligned(64)));
    float bt[16 * L] __attribute__((aligned(64)));
    for (int oc = 0; oc < OC; oc++)
        for (int l = 0; l < L; l++) bt[oc * L + l] = bias[oc];
    ln_amx_tilecfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 4; t++) cfg.rows[t] = (uint8_t)OC, cfg.colsb[t] = L * 4;
    cfg.rows[4] = (uint8_t)OC, cfg.colsb[4] = KB * 4;
    for (int t = 5; t < 8; t++) cfg.rows[t] = KB, cfg.colsb[t] = L * 4;
    _tile_loadconfig(&cfg);
    for (int ox = 0; ox < OH; ox++) {
        for (int ic = 0; ic < IC; ic++)
            for (int y = 0; y < H; y++)
                for (int j = 0; j < KP; j++)
                    _mm512_store_si512((__m512i *)(col + (long)((ic * H + y) * KP + j) * L),
                                       _mm512_loadu_si512(in + ((long)(ic * H + y) * H + ox + 2 * j) * L));
        for (int oy0 = 0; oy0 < OH; oy0 += 4) {
            const int n = OH - oy0 < 4 ? OH - oy0 : 4;
            CINIT(0); CINIT(1); CINIT(2); CINIT(3);
            for (int ic = 0; ic < IC; ic++) {
                _tile_loadd(4, w + ic * KB, IC * KB * 4);
                PIXEL(0, 5); PIXEL(1, 6); PIXEL(2, 7); PIXEL(3, 5);
            }
            CSTORE(0); CSTORE(1); CSTORE(2); CSTORE(3);
        }
    }
    _tile_release();
    /* ReLU as the lanes kernels': x > 0 ? x : +0 (NaN -> +0) */
    for (long i = 0; i < (long)OC * OH * OH * L; i += L) {
        const __m512 v = _mm512_loadu_ps(out + i);
        _mm512_storeu_ps(out + i, _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ), v));
    }
}

/* The same definition without AMX: float32 FMAs on the bf16 halves, with
 * MXCSR's FTZ and DAZ on, give each step's rounding and flush exactly
 * (x86 detects tininess after rounding to 24 bits, as the rule flushes).
 * NaN payloads may differ from the rule's, but ReLU makes every NaN +0.
 * One input channel at a time: its pairs split into float32 lo and hi
 * planes (25 KB), the weights once into float32 lo and hi; out holds the
 * accumulators between channels. Registers: 4 channels x 2 pixels, two
 * chains each. */
#define IC LN_CONV1_C
#define H LN_POOL1_SIDE
#define OC LN_CONV2_C
#define OH LN_CONV2_SIDE
#define EOCB 4
#define EPX 2
_Static_assert(OC % EOCB == 0 && OH % EPX == 0, "emulation blocking");

__attribute__((target("avx512f,fma"))) void ln_amx_conv2_fwd_emu(const uint32_t *in, const uint32_t *w,
                                                                  const float *bias, float *out) {
    const unsigned fp = ln_fpflush_enter();
    float xl[H * H * L] __attribute__((aligned(64))), xh[H * H * L] __attribute__((aligned(64)));
    float wl[OC * IC * KB], wh[OC * IC * KB];
    for (int i = 0; i < OC * IC * KB; i++) {
        const uint32_t lo = w[i] << 16, hi = w[i] & 0xFFFF0000u;
        memcpy(&wl[i], &lo, 4), memcpy(&wh[i], &hi, 4);
    }
    const __m512i himask = _mm512_set1_epi32((int)0xFFFF0000u);
    for (int ic = 0; ic < IC; ic++) {
        for (int i = 0; i < H * H; i++) {
            const __m512i x = _mm512_loadu_si512(in + ((long)ic * H * H + i) * L);
            _mm512_store_ps(xl + i * L, _mm512_castsi512_ps(_mm512_slli_epi32(x, 16)));
            _mm512_store_ps(xh + i * L, _mm512_castsi512_ps(_mm512_and_si512(x, himask)));
        }
        for (int oc0 = 0; oc0 < OC; oc0 += EOCB)
            for (int oy = 0; oy < OH; oy++)
                for (int ox0 = 0; ox0 < OH; ox0 += EPX) {
                    __m512 e[EOCB][EPX], o[EOCB][EPX];
                    for (int c = 0; c < EOCB; c++)
                        for (int p = 0; p < EPX; p++) e[c][p] = o[c][p] = _mm512_setzero_ps();
                    for (int ky = 0; ky < LN_KERNEL; ky++)
                        for (int j = 0; j < KP; j++) {
                            const long at = ((long)(oy + ky) * H + ox0 + 2 * j) * L;
                            for (int c = 0; c < EOCB; c++) {
                                const long wi = ((long)(oc0 + c) * IC + ic) * KB + ky * KP + j;
                                const __m512 wlv = _mm512_set1_ps(wl[wi]);
                                const __m512 whv = _mm512_set1_ps(wh[wi]);
                                for (int p = 0; p < EPX; p++) {
                                    e[c][p] = _mm512_fmadd_ps(wlv, _mm512_load_ps(xl + at + p * L), e[c][p]);
                                    o[c][p] = _mm512_fmadd_ps(whv, _mm512_load_ps(xh + at + p * L), o[c][p]);
                                }
                            }
                        }
                    for (int c = 0; c < EOCB; c++)
                        for (int p = 0; p < EPX; p++) {
                            float *d = out + ((long)((oc0 + c) * OH + oy) * OH + ox0 + p) * L;
                            const __m512 acc = ic ? _mm512_loadu_ps(d) : _mm512_set1_ps(bias[oc0 + c]);
                            __m512 v = _mm512_add_ps(acc, _mm512_add_ps(e[c][p], o[c][p]));
                            if (ic == IC - 1) /* ReLU: x > 0 ? x : +0 */
                                v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ), v);
                            _mm512_storeu_ps(d, v);
                        }
                }
    }
    ln_fpflush_leave(fp);
}
#else
void ln_amx_conv_fwd(const uint32_t *in, int IC, int H, const uint32_t *w, const float *bias, int OC, float *out) {
    (void)in, (void)IC, (void)H, (void)w, (void)bias, (void)OC, (void)out; /* never called: no AMX */
}
void ln_amx_conv2_fwd_emu(const uint32_t *in, const uint32_t *w, const float *bias, float *out) {
    ln_amx_conv_fwd_ref(in, LN_CONV1_C, LN_POOL1_SIDE, w, bias, LN_CONV2_C, out);
}
#endif
