/* transform.c - resize and rescale ops (see include/lenet/transform.h). */
#include "lenet/transform.h"

#include <immintrin.h>
#include <math.h>
#include <stdlib.h>

#include "lenet/arch.h"

#define COEF_BITS 11
#define COEF_SCALE (1 << COEF_BITS)

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Source index and fixed-point weights for each destination index along one
 * axis: fx = (d + 0.5) * scale - 0.5 rounded to float, as OpenCV computes it.
 * `clamp_frac` applies OpenCV's x-axis border rule (fraction zeroed at the
 * edges); the y axis keeps the fraction and clamps row indices instead. */
static void axis_coefs(int ssize, int dsize, int clamp_frac, int *ofs, short *w0, short *w1) {
    double scale = (double)ssize / dsize;
    for (int d = 0; d < dsize; d++) {
        float f = (float)((d + 0.5) * scale - 0.5);
        int s = (int)floorf(f);
        f -= (float)s;
        if (clamp_frac) {
            if (s < 0) f = 0, s = 0;
            if (s >= ssize - 1) f = 0, s = ssize - 1;
        }
        ofs[d] = s;
        /* saturate_cast<short>(x * 2048): round half to even like cvRound. */
        w0[d] = (short)lrintf((1.f - f) * COEF_SCALE);
        w1[d] = (short)lrintf(f * COEF_SCALE);
    }
}

static uint8_t sat_u8(int v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

/* OpenCV's SIMD vertical pass: int16 high-multiplies of (H >> 4) by the
 * weights, then a rounding shift by 2. */
static uint8_t vlinear_simd(int h0, int h1, short b0, short b1) {
    int16_t s0 = (int16_t)(h0 >> 4), s1 = (int16_t)(h1 >> 4);
    int p0 = ((int)s0 * b0) >> 16, p1 = ((int)s1 * b1) >> 16;
    return sat_u8((p0 + p1 + 2) >> 2);
}

/* OpenCV's scalar vertical pass (used for row tails past the vector width). */
static uint8_t vlinear_scalar(int h0, int h1, short b0, short b1) {
    return sat_u8((h0 * b0 + h1 * b1 + (1 << 21)) >> 22);
}

/* The tables of plan_apply32_avx2 (ln_resize_plan's fast, hoff, hidx,
 * hw): output x of half k = x / 16 takes source bytes xofs[x] and xofs1[x]
 * from the 16 that start at hoff[k], which must hold them all. Quarter q
 * (outputs 8q..8q+7) is one 256-bit shuffle: its 128-bit lanes (outputs
 * 8q..8q+3 and 8q+4..8q+7) each pick four pairs of bytes, zero-extended to
 * 16 bits, which vpmaddwd multiplies by (ax0[x], ax1[x]) and adds: the
 * int32 h[x] of the plain pass. */
static void fast_init(ln_resize_plan *pl) {
    pl->fast = 0;
    if (pl->dw != 32 || pl->vec_end != 32 || pl->sw < 16 || pl->sw > 32 || pl->hi >= LN_RESIZE_FAST_ROWS) return;
    for (int k = 0; k < 2; k++) {
        int lo = pl->sw, hi = 0;
        for (int x = 16 * k; x < 16 * k + 16; x++) {
            lo = pl->xofs[x] < lo ? pl->xofs[x] : lo;
            hi = pl->xofs1[x] > hi ? pl->xofs1[x] : hi;
        }
        const int off = lo + 16 <= pl->sw ? lo : pl->sw - 16;
        if (hi - off >= 16) return;
        pl->hoff[k] = off;
        for (int q = 2 * k; q < 2 * k + 2; q++)
            for (int i = 0; i < 8; i++) {
                const int x = 8 * q + i, b = 16 * (i / 4) + 4 * (i % 4), w = 2 * i;
                pl->hidx[q][b] = (unsigned char)(pl->xofs[x] - off), pl->hidx[q][b + 1] = 0x80;
                pl->hidx[q][b + 2] = (unsigned char)(pl->xofs1[x] - off), pl->hidx[q][b + 3] = 0x80;
                pl->hw[q][w] = pl->ax0[x], pl->hw[q][w + 1] = pl->ax1[x];
            }
    }
    pl->fast = 1;
}

void ln_resize_plan_init(ln_resize_plan *pl, int sh, int sw, int dh, int dw) {
    pl->sh = sh, pl->sw = sw, pl->dh = dh, pl->dw = dw, pl->ok = 0;
    if (dw > LN_RESIZE_MAX || dh > LN_RESIZE_MAX || sw < 1 || sh < 1 || dw < 1 || dh < 1) return;
    int yofs[LN_RESIZE_MAX];
    axis_coefs(sw, dw, 1, pl->xofs, pl->ax0, pl->ax1);
    axis_coefs(sh, dh, 0, yofs, pl->by0, pl->by1);
    for (int x = 0; x < dw; x++) pl->xofs1[x] = pl->xofs[x] + 1 < sw ? pl->xofs[x] + 1 : pl->xofs[x];
    pl->lo = sh, pl->hi = -1; /* range of source rows used */
    for (int y = 0; y < dh; y++) {
        pl->r0[y] = clampi(yofs[y], 0, sh - 1), pl->r1[y] = clampi(yofs[y] + 1, 0, sh - 1);
        pl->lo = pl->r0[y] < pl->lo ? pl->r0[y] : pl->lo;
        pl->hi = pl->r1[y] > pl->hi ? pl->r1[y] : pl->hi;
    }
    /* OpenCV vectorises the vertical pass in blocks of 16, then 8, pixels;
     * what is left uses the scalar formula. */
    pl->vec_end = (dw / 16) * 16;
    while (pl->vec_end + 8 <= dw) pl->vec_end += 8;
    pl->ok = 1;
    fast_init(pl);
}

/* Integer arithmetic only, so every instruction set gives the same bits:
 * the body is compiled twice, for x86-64 and for AVX2, and
 * ln_resize_plan_apply picks one at run time. */
static inline __attribute__((always_inline)) void plan_apply(const ln_resize_plan *pl, const uint8_t *src,
                                                             uint8_t *dst) {
    if (!pl->ok) return;
    const int sw = pl->sw, dw = pl->dw, dh = pl->dh, vec_end = pl->vec_end;
    /* Horizontal pass once per source row that any output row uses, kept in
     * hbuf (sh x dw int32): on the stack for small images such as MNIST's. */
    enum { STACK_INTS = 8192 };
    int stack_buf[STACK_INTS], *hbuf = stack_buf;
    const size_t need = (size_t)pl->sh * dw;
    if (need > STACK_INTS && !(hbuf = malloc(sizeof(int) * need))) return;
    for (int r = pl->lo; r <= pl->hi; r++) {
        const uint8_t *row = src + (size_t)r * sw;
        int *restrict h = hbuf + (size_t)r * dw;
        for (int x = 0; x < dw; x++) h[x] = pl->ax0[x] * row[pl->xofs[x]] + pl->ax1[x] * row[pl->xofs1[x]];
    }
    for (int y = 0; y < dh; y++) {
        const int *restrict h0 = hbuf + (size_t)pl->r0[y] * dw, *restrict h1 = hbuf + (size_t)pl->r1[y] * dw;
        const short b0 = pl->by0[y], b1 = pl->by1[y];
        uint8_t *restrict out = dst + (size_t)y * dw;
        for (int x = 0; x < vec_end; x++) out[x] = vlinear_simd(h0[x], h1[x], b0, b1);
        for (int x = vec_end; x < dw; x++) out[x] = vlinear_scalar(h0[x], h1[x], b0, b1);
    }
    if (hbuf != stack_buf) free(hbuf);
}

__attribute__((target("avx2"))) static void plan_apply_avx2(const ln_resize_plan *pl, const uint8_t *src,
                                                            uint8_t *dst) {
    plan_apply(pl, src, dst);
}

/* plan_apply for rows 32 wide (fast_init), written with AVX2 intrinsics:
 * the compiler's build of plan_apply gathers the horizontal pass's bytes
 * one by one (2.4 us an image, 28x28 -> 32x32, measured in `lenet train`'s
 * start-up: 167 ms of CPU for MNIST's 70,000 images); here a source row is
 * 2 loads, 4 shuffles and 4 multiply-adds. The same integer operations, so
 * the same bits (tests/test_transform.c compares the two on every size it
 * accepts, and with OpenCV). The horizontal results are kept as int16
 * (h >> 4, which OpenCV's vertical pass takes: h <= 2049 * 255, so it fits);
 * the vertical pass is vpmulhw ((s * b) >> 16), then (p0 + p1 + 2) >> 2
 * saturated to uint8. vpackssdw / vpackuswb interleave 128-bit lanes;
 * vpermq 0xD8 puts them back in order. */
__attribute__((target("avx2"))) static void plan_apply32_avx2(const ln_resize_plan *pl, const uint8_t *src,
                                                              uint8_t *dst) {
    int16_t hs[LN_RESIZE_FAST_ROWS][32] __attribute__((aligned(32)));
    const int sw = pl->sw;
    __m256i idx[4], w[4];
    for (int q = 0; q < 4; q++) {
        idx[q] = _mm256_loadu_si256((const __m256i *)pl->hidx[q]);
        w[q] = _mm256_loadu_si256((const __m256i *)pl->hw[q]);
    }
    for (int r = pl->lo; r <= pl->hi; r++) {
        const uint8_t *row = src + (size_t)r * sw;
        for (int k = 0; k < 2; k++) {
            const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(row + pl->hoff[k])));
            const __m256i a = _mm256_srai_epi32(_mm256_madd_epi16(_mm256_shuffle_epi8(v, idx[2 * k]), w[2 * k]), 4);
            const __m256i b =
                _mm256_srai_epi32(_mm256_madd_epi16(_mm256_shuffle_epi8(v, idx[2 * k + 1]), w[2 * k + 1]), 4);
            _mm256_store_si256((__m256i *)&hs[r][16 * k], _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8));
        }
    }
    const __m256i two = _mm256_set1_epi16(2);
    for (int y = 0; y < pl->dh; y++) {
        const int16_t *h0 = hs[pl->r0[y]], *h1 = hs[pl->r1[y]];
        const __m256i b0 = _mm256_set1_epi16(pl->by0[y]), b1 = _mm256_set1_epi16(pl->by1[y]);
        __m256i o[2];
        for (int k = 0; k < 2; k++) {
            const __m256i p0 = _mm256_mulhi_epi16(_mm256_load_si256((const __m256i *)&h0[16 * k]), b0);
            const __m256i p1 = _mm256_mulhi_epi16(_mm256_load_si256((const __m256i *)&h1[16 * k]), b1);
            o[k] = _mm256_srai_epi16(_mm256_add_epi16(_mm256_add_epi16(p0, p1), two), 2);
        }
        _mm256_storeu_si256((__m256i *)(dst + (size_t)y * 32), _mm256_permute4x64_epi64(_mm256_packus_epi16(o[0], o[1]), 0xD8));
    }
}

void ln_resize_plan_apply_generic(const ln_resize_plan *pl, const uint8_t *src, uint8_t *dst) {
    plan_apply(pl, src, dst);
}

void ln_resize_plan_apply(const ln_resize_plan *pl, const uint8_t *src, uint8_t *dst) {
    if (__builtin_cpu_supports("avx2")) {
        if (pl->fast && pl->ok) plan_apply32_avx2(pl, src, dst);
        else plan_apply_avx2(pl, src, dst);
    }
    else ln_resize_plan_apply_generic(pl, src, dst);
}

void ln_resize_plan_apply_rows(const ln_resize_plan *pl, const uint8_t *src, long count, uint8_t *dst,
                               int threads) {
    const size_t ssz = (size_t)pl->sh * pl->sw, dsz = (size_t)pl->dh * pl->dw;
    #pragma omp parallel for num_threads(threads > 0 ? threads : 1) schedule(static) if (count >= 16 && threads > 1)
    for (long i = 0; i < count; i++) ln_resize_plan_apply(pl, src + (size_t)i * ssz, dst + (size_t)i * dsz);
}

void ln_resize_linear_u8(const uint8_t *src, int sh, int sw, uint8_t *dst, int dh, int dw) {
    ln_resize_plan *pl = malloc(sizeof *pl);
    if (!pl) return;
    ln_resize_plan_init(pl, sh, sw, dh, dw);
    ln_resize_plan_apply(pl, src, dst);
    free(pl);
}

void ln_normalize_lut(float lut[256]) {
    for (int v = 0; v < 256; v++) lut[v] = ln_normalize_px((float)v);
}

void ln_transform_planned(const ln_resize_plan *pl, const uint8_t *src, float *out) {
    uint8_t tmp[LN_IN_SIDE * LN_IN_SIDE];
    ln_resize_plan_apply(pl, src, tmp);
    for (int i = 0; i < LN_IN_SIDE * LN_IN_SIDE; i++) out[i] = ln_normalize_px((float)tmp[i]);
}

/* One image: the direct resize (the same bits as a plan, tested), which
 * needs no ~100 KB plan allocated per call and so cannot fail. */
void ln_transform_image(const uint8_t *src, int sh, int sw, float *out) {
    uint8_t tmp[LN_IN_SIDE * LN_IN_SIDE];
    ln_resize_linear_u8(src, sh, sw, tmp, LN_IN_SIDE, LN_IN_SIDE);
    for (int i = 0; i < LN_IN_SIDE * LN_IN_SIDE; i++) out[i] = ln_normalize_px((float)tmp[i]);
}
