/* transform.h - the tutorial's per-image map operations.
 *
 * Order (MindSpore create_dataset): Resize(32x32, LINEAR) on uint8 ->
 * Rescale(1/255, 0) -> Rescale(1/0.3081, -0.1307/0.3081) -> HWC2CHW.
 * For one channel HWC2CHW is the identity on memory, so an image becomes
 * 32*32 floats in row-major order.
 */
#ifndef LENET_TRANSFORM_H
#define LENET_TRANSFORM_H

#include <stdint.h>

/* Bilinear resize of a single-channel uint8 image with OpenCV's INTER_LINEAR
 * semantics (half-pixel centres, 11-bit fixed-point weights, the rounding of
 * OpenCV's SIMD vertical pass). Bit-identical to cv2.resize for 28x28->32x32
 * (tested against committed OpenCV output). Any sizes >= 1. */
void ln_resize_linear_u8(const uint8_t *src, int sh, int sw, uint8_t *dst, int dh, int dw);

/* The same resize with its per-axis indices and weights computed once for a
 * pair of sizes (sides up to LN_RESIZE_MAX): ln_resize_plan_apply gives the
 * bits ln_resize_linear_u8 gives, without recomputing them per image (a
 * data set resizes every image between the same two sizes). `ok` is 0 for
 * sizes out of range; applying such a plan writes nothing. */
#define LN_RESIZE_MAX 4096
#define LN_RESIZE_FAST_ROWS 64 /* source rows the fast path (fast) takes */
typedef struct {
    int sh, sw, dh, dw, ok, lo, hi, vec_end;
    int xofs[LN_RESIZE_MAX], xofs1[LN_RESIZE_MAX], r0[LN_RESIZE_MAX], r1[LN_RESIZE_MAX];
    short ax0[LN_RESIZE_MAX], ax1[LN_RESIZE_MAX], by0[LN_RESIZE_MAX], by1[LN_RESIZE_MAX];
    /* Rows 32 wide from 16..64 source rows of 16..32 pixels (28x28 -> 32x32):
     * the horizontal pass as byte shuffles of a source row (hidx, from
     * offsets hoff of its two halves) and multiply-adds (hw); fast = 0 where
     * the sizes do not allow it. */
    int fast, hoff[2];
    unsigned char hidx[4][32];
    short hw[4][16];
} ln_resize_plan;
void ln_resize_plan_init(ln_resize_plan *plan, int sh, int sw, int dh, int dw);
void ln_resize_plan_apply(const ln_resize_plan *plan, const uint8_t *src, uint8_t *dst);
/* `count` images, one after another in src, into dst (dh x dw each, one
 * after another), shared by up to `threads` threads (OpenMP). */
void ln_resize_plan_apply_rows(const ln_resize_plan *plan, const uint8_t *src, long count, uint8_t *dst,
                               int threads);
/* The plain x86-64 build of the same pass (ln_resize_plan_apply uses an
 * AVX2 build where the CPU has it); for tests, which compare the two. */
void ln_resize_plan_apply_generic(const ln_resize_plan *plan, const uint8_t *src, uint8_t *dst);

/* The two Rescale ops on one pixel value v in 0..255:
 * f32(f32(v * f32(1/255) + 0) * f32(1/0.3081) + f32(-0.1307/0.3081)),
 * each op rounded to float32 as MindSpore's convertTo does. (+ 0 is left
 * out: v * f32(1/255) is never -0, so adding 0 changes nothing.) The build
 * uses -ffp-contract=off, so no multiply-add is fused and every compiler
 * and instruction set gives these exact bits; as a plain expression it
 * vectorises, which a table lookup does not. */
#define LN_RESCALE1 ((float)(1.0 / 255.0))
#define LN_RESCALE2 ((float)(1.0 / 0.3081))
#define LN_SHIFT2 ((float)(-0.1307 / 0.3081))
static inline float ln_normalize_px(float v) {
    const float a = v * LN_RESCALE1; /* each assignment rounds to float, even where */
    const float b = a * LN_RESCALE2; /* arithmetic has excess precision (C11 5.2.4.2.2) */
    return b + LN_SHIFT2;
}

/* ln_normalize_px for every value: lut[v] = ln_normalize_px(v) (a table of
 * the values, for tests and tools). */
void ln_normalize_lut(float lut[256]);

/* Full map chain for one 28x28 (any size) uint8 image -> 32x32 floats:
 * resize, then ln_normalize_px on every pixel. */
void ln_transform_image(const uint8_t *src, int sh, int sw, float *out32x32);
/* The same with a plan made for (sh, sw) -> (32, 32). */
void ln_transform_planned(const ln_resize_plan *plan, const uint8_t *src, float *out32x32);

#endif
