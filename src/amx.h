/* amx.h - Intel AMX (TDPBF16PS) for mixed precision: what the instruction
 * computes, how a process gets to use it, and prototypes of LeNet's layers
 * under that arithmetic with their scalar references (internal; not used
 * by the engine: the arithmetic is not amp level O2's).
 *
 * The rule, measured on this project's Xeon (a VM reporting family 6 model
 * 167, with amx_tile and amx_bf16; bench/amx_probe.c: 10^7 random and adversarial outputs, the flush
 * boundary, NaN priority; tests/test_amx.c keeps checking it). One
 * TDPBF16PS with K pairs (K = A's bytes per row / 4, 1..16), per output
 * C[m][n], with a[k] = A[m][k] and b[k] = B[k][n] (bf16 pairs, lo = bits
 * 15:0, hi = bits 31:16):
 *     e = +0; o = +0;
 *     for k = 0 .. K-1:  e = FMA(a[k].lo, b[k].lo, e);  o = FMA(a[k].hi, b[k].hi, o)
 *     C[m][n] = C[m][n] + (e + o)
 * i.e. two chains (the low and the high halves of the pairs) that start at
 * zero in every instruction and meet the accumulator once, at its end.
 * Every FMA and add: operands denormal-as-zero, round to nearest even, a
 * result tiny after rounding to 24 bits (|r| < 2^-126) flushed to a zero
 * of its sign (the same flush as VDPBF16PS); a NaN operand comes out
 * quieted, the first in operand order (A's, B's, then the chain; the left
 * addend: the accumulator, then e); an invalid operation gives 0xFFC00000.
 *
 * VDPBF16PS (amp level O2, lanes_bf16.h) instead runs ONE chain through
 * the accumulator, hi before lo in each pair: acc = FMA(lo, lo, FMA(hi, hi,
 * acc)). The two agree only when every pair has one zero half and no
 * product or partial sum is tiny, so AMX cannot reproduce O2's results at
 * any useful speed; using it needs a definition whose products follow the
 * rule above, with block boundaries fixed by the definition.
 */
#ifndef LENET_AMX_H
#define LENET_AMX_H

#include <stdint.h>

/* 1 if this CPU has AMX-TILE and AMX-BF16, the OS enables tile state
 * (XCR0 bits 17, 18), and Linux grants this process the tile data
 * permission (arch_prctl ARCH_REQ_XCOMP_PERM, requested here; idempotent,
 * per process). 0 otherwise: no AMX instruction may then run. */
int ln_amx_enable(void);

/* LDTILECFG's 64-byte operand, palette 1: tile t has rows[t] rows of
 * colsb[t] bytes (at most 16 x 64). */
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} ln_amx_tilecfg;

#if defined(__x86_64__) && defined(__GNUC__)
/* One TDPBF16PS: C (16 x 16 floats, rows of 64 bytes) += A (16 x K pairs)
 * . B (K x 16 pairs), K 1..16; needs ln_amx_enable() == 1. For the tests
 * and bench/amx_probe.c, which compare it with ln_amx_block_ref. */
void ln_amx_tdp(float *C, const uint32_t *A, const uint32_t *B, int K);
#endif

/* The plain C reference of the rule above: acc + (e + o) over K pairs. */
float ln_amx_block_ref(float acc, const uint32_t *a, const uint32_t *b, int K);
/* One of its steps, FMA(x, y, c) with the rules above (bf16.c). */
float ln_bf16_fma_ref(float x, float y, float c);

/* The prototype: a convolution's forward + ReLU (5 x 5 kernel, conv1 or
 * conv2) for one group of 16 samples in the lanes layout, under the rule
 * with one block per input channel:
 *     acc = bias[oc]
 *     for ic: acc = acc + block(w pairs (oc, ic, ky, j), input pairs (ic, oy+ky, ox+2j)),
 *             k = ky * 3 + j (15 pairs: taps (0,1) (2,3) (4,-) of 5 rows)
 *     out = acc > 0 ? acc : 0
 * in: the input as sliding pairs (IC, H, H, 16); w: tap pairs (OC, IC, 5,
 * 3) as ln_bf16_pack writes them; bias (OC); out (OC, H-4, H-4, 16);
 * IC * H <= 84, OC <= 16 (LeNet's two). ln_amx_conv_fwd needs
 * ln_amx_enable() == 1 (and 16 KB of stack); the _ref form is the scalar
 * C of the same definition, for any CPU; ln_amx_conv2_fwd_emu gives
 * conv2's bits with AVX-512F float32 FMAs under FTZ and DAZ (what a CPU
 * without AMX would run; it needs AVX-512F; outside x86-64 it is the _ref
 * form). */
void ln_amx_conv_fwd(const uint32_t *in, int IC, int H, const uint32_t *w, const float *bias, int OC, float *out);
void ln_amx_conv_fwd_ref(const uint32_t *in, int IC, int H, const uint32_t *w, const float *bias, int OC,
                         float *out);
void ln_amx_conv2_fwd_emu(const uint32_t *in, const uint32_t *w, const float *bias, float *out);
void ln_amx_conv2_fwd_ref(const uint32_t *in, const uint32_t *w, const float *bias, float *out);

/* The prototype of conv2's input gradient for one group, under the rule:
 * din (6, 14, 14, 16) = sum over kernel rows ky (ascending) of three
 * blocks each, from 0: for input pixel (y, x), the output-gradient
 * channel pairs c (0..7) at output pixel (y - ky, x - kx) (zero outside
 * the 10 x 10 map) times the weight pairs (c, ic, ky, kx), taken as kx = 4,
 * 3 (16 pairs), kx = 2, 1 (16), kx = 0 (8), c ascending within each kx.
 * dout: conv2's output gradient as channel pairs (8, 10, 10, 16); wt: the
 * weights as channel pairs (8, 6, 5, 5) (ln_bf16_pack's conv2 transposed
 * part); pad: scratch of LN_AMX_CONV2_BWD_PAD words. The AMX form needs
 * ln_amx_enable() == 1; the _ref form is scalar C, for any CPU. */
#define LN_AMX_CONV2_BWD_PAD (18 * 18 * 8 * 16)
void ln_amx_conv2_bwd_in(const uint32_t *dout, const uint32_t *wt, float *din, uint32_t *pad);
void ln_amx_conv2_bwd_in_ref(const uint32_t *dout, const uint32_t *wt, float *din, uint32_t *pad);

/* The dense layers (prototypes) in lanes_bf16.c's layouts, one product
 * each, its K in blocks of 16 pairs from the first (the last shorter):
 *   fc_fwd:    y (O, 16) = [relu](b + blocks(w (O, F/2), x feature pairs (F/2, 16)))
 *   fc_bwd_in: dx (F, 16) = blocks(w^T, dy output pairs (O/2, 16)) [where act > 0];
 *              wt: the weights as output pairs (O/2, F); scratch: F * O/2 words
 *   fc_dw:     dw (O, F) = blocks from 0 of dy's lane pairs (O, 8) and x's
 *              (txp: per 16 features, (8, 16)): one block of 8 pairs
 * The AMX forms need ln_amx_enable() == 1; the _ref forms are scalar C. */
void ln_amx_fc_fwd(const uint32_t *x, int F, const uint32_t *w, const float *b, int O, float *y, int relu);
void ln_amx_fc_fwd_ref(const uint32_t *x, int F, const uint32_t *w, const float *b, int O, float *y, int relu);
void ln_amx_fc_bwd_in(const uint32_t *dy, int O, const uint32_t *wt, int F, float *dx, const float *act,
                      uint32_t *scratch);
void ln_amx_fc_bwd_in_ref(const uint32_t *dy, int O, const uint32_t *wt, int F, float *dx, const float *act,
                          uint32_t *scratch);
void ln_amx_fc_dw(const uint32_t *dyl, int O, const uint32_t *txp, int F, float *dw);
void ln_amx_fc_dw_ref(const uint32_t *dyl, int O, const uint32_t *txp, int F, float *dw);

#endif
