/* layers.h - forward and backward kernels of LeNet's layers.
 *
 * Activations of the convolutional part are stored channel-major,
 * (C, B, H, W): each convolution is then a single GEMM over the whole batch
 * (weights (OC, C*K*K) times im2col columns (C*K*K, B*OH*OW)). The dense part
 * is row-major (B, features). Backward kernels ADD into weight/bias
 * gradients (zero them once per step) and OVERWRITE input gradients.
 * `threads` is the number of OpenMP threads a call may use; results do not
 * depend on it.
 */
#ifndef LENET_LAYERS_H
#define LENET_LAYERS_H

#include <stdint.h>

#include "lenet/gemm.h"

/* col (C*K*K, B*OH*OW) from in (C, B, H, W); valid padding, stride 1. */
void ln_im2col(const float *in, int C, int B, int H, int W, int K, float *col, int threads);
/* din (C, B, H, W) = sum of col entries mapping to each input element. */
void ln_col2im(const float *col, int C, int B, int H, int W, int K, float *din, int threads);

/* out (OC, B, OH, OW) = w (OC, C, K, K) * in + bias (OC or NULL).
 * `col` is scratch of C*K*K * B*OH*OW floats, kept for the backward pass. */
void ln_conv2d_forward(const ln_gemm_kernels *g, const float *in, const float *w, const float *bias,
                       int B, int C, int H, int W, int OC, int K, float *col, float *out, int threads);
/* dw += dout * col^T; db += row sums of dout (if db); din = w^T dout via
 * col2im (if din; `dcol` is scratch like `col`). */
void ln_conv2d_backward(const ln_gemm_kernels *g, const float *dout, const float *col, const float *w,
                        int B, int C, int H, int W, int OC, int K, float *dw, float *db, float *dcol,
                        float *din, int threads);

/* y = max(x, 0) in place; backward: dy *= (y > 0) in place. */
void ln_relu_forward(float *x, long n);
void ln_relu_backward(const float *y, float *dy, long n);

/* 2x2 max pooling, stride 2, over `planes` planes of H x W (H, W even).
 * arg[i] = position (0..3) of the max in window i, first max wins. */
void ln_maxpool2_forward(const float *in, long planes, int H, int W, float *out, uint8_t *arg,
                         int threads);
void ln_maxpool2_backward(const float *dout, const uint8_t *arg, long planes, int H, int W, float *din,
                          int threads);

/* out (B, O) = in (B, I) w^T + b, with w (O, I). */
void ln_dense_forward(const ln_gemm_kernels *g, const float *in, const float *w, const float *b, int B,
                      int I, int O, float *out, int threads);
/* dw += dout^T in; db += column sums of dout; din = dout w (if din). */
void ln_dense_backward(const ln_gemm_kernels *g, const float *dout, const float *in, const float *w,
                       int B, int I, int O, float *dw, float *db, float *din, int threads);

#endif
