/* layers.c - layer kernels (see include/lenet/layers.h). */
#include "lenet/layers.h"

#include <string.h>

#include "fpflush.h"

void ln_im2col(const float *in, int C, int B, int H, int W, int K, float *col, int threads) {
    const int OH = H - K + 1, OW = W - K + 1;
    const long N = (long)B * OH * OW;
    #pragma omp parallel for collapse(2) num_threads(threads) schedule(static) if (N * C * K * K > 100000)
    for (int c = 0; c < C; c++)
        for (int kk = 0; kk < K * K; kk++) {
            const int ky = kk / K, kx = kk % K;
            float *dst = col + (long)(c * K * K + kk) * N;
            for (int b = 0; b < B; b++) {
                const float *src = in + ((long)c * B + b) * H * W;
                for (int oy = 0; oy < OH; oy++) {
                    memcpy(dst, src + (long)(oy + ky) * W + kx, sizeof(float) * (size_t)OW);
                    dst += OW;
                }
            }
        }
}

void ln_col2im(const float *col, int C, int B, int H, int W, int K, float *din, int threads) {
    const int OH = H - K + 1, OW = W - K + 1;
    const long N = (long)B * OH * OW;
    /* Parallel over (c, b) planes: each input element is owned by one thread
     * and receives its K*K contributions in a fixed order. */
    #pragma omp parallel num_threads(threads) if (N * C * K * K > 100000)
    {
        const unsigned fp = ln_fpflush_enter(); /* fpflush.h */
        #pragma omp for collapse(2) schedule(static)
        for (int c = 0; c < C; c++)
            for (int b = 0; b < B; b++) {
                float *dst = din + ((long)c * B + b) * H * W;
                memset(dst, 0, sizeof(float) * (size_t)H * W);
                for (int kk = 0; kk < K * K; kk++) {
                    const int ky = kk / K, kx = kk % K;
                    const float *src = col + (long)(c * K * K + kk) * N + (long)b * OH * OW;
                    for (int oy = 0; oy < OH; oy++) {
                        float *d = dst + (long)(oy + ky) * W + kx;
                        const float *s = src + (long)oy * OW;
                        for (int ox = 0; ox < OW; ox++) d[ox] += s[ox];
                    }
                }
            }
        ln_fpflush_leave(fp);
    }
}

void ln_conv2d_forward(const ln_gemm_kernels *g, const float *in, const float *w, const float *bias,
                       int B, int C, int H, int W, int OC, int K, float *col, float *out, int threads) {
    const int OH = H - K + 1, OW = W - K + 1;
    const long N = (long)B * OH * OW;
    ln_im2col(in, C, B, H, W, K, col, threads);
    if (bias)
        for (int oc = 0; oc < OC; oc++)
            for (long n = 0; n < N; n++) out[oc * N + n] = bias[oc];
    g->nn(OC, (int)N, C * K * K, w, C * K * K, col, (int)N, out, (int)N, bias != NULL, threads);
}

void ln_conv2d_backward(const ln_gemm_kernels *g, const float *dout, const float *col, const float *w,
                        int B, int C, int H, int W, int OC, int K, float *dw, float *db, float *dcol,
                        float *din, int threads) {
    const int OH = H - K + 1, OW = W - K + 1;
    const long N = (long)B * OH * OW;
    const int CKK = C * K * K;
    g->nt(OC, CKK, (int)N, dout, (int)N, col, (int)N, dw, CKK, 1, threads);
    if (db)
        for (int oc = 0; oc < OC; oc++) {
            double s = 0; /* double: exact enough that the order barely matters */
            for (long n = 0; n < N; n++) s += dout[oc * N + n];
            db[oc] += (float)s;
        }
    if (din) {
        g->tn(CKK, (int)N, OC, w, CKK, dout, (int)N, dcol, (int)N, 0, threads);
        ln_col2im(dcol, C, B, H, W, K, din, threads);
    }
}

void ln_relu_forward(float *x, long n) {
    for (long i = 0; i < n; i++) x[i] = x[i] > 0.f ? x[i] : 0.f;
}

void ln_relu_backward(const float *y, float *dy, long n) {
    for (long i = 0; i < n; i++) dy[i] = y[i] > 0.f ? dy[i] : 0.f;
}

void ln_maxpool2_forward(const float *in, long planes, int H, int W, float *out, uint8_t *arg,
                         int threads) {
    const int OH = H / 2, OW = W / 2;
    #pragma omp parallel for num_threads(threads) schedule(static) if (planes * H * W > 100000)
    for (long p = 0; p < planes; p++) {
        const float *src = in + p * H * W;
        float *dst = out + p * OH * OW;
        uint8_t *a = arg + p * OH * OW;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                const float *r0 = src + (2 * oy) * W + 2 * ox, *r1 = r0 + W;
                float m = r0[0];
                uint8_t k = 0;
                if (r0[1] > m) m = r0[1], k = 1;
                if (r1[0] > m) m = r1[0], k = 2;
                if (r1[1] > m) m = r1[1], k = 3;
                dst[oy * OW + ox] = m;
                a[oy * OW + ox] = k;
            }
    }
}

void ln_maxpool2_backward(const float *dout, const uint8_t *arg, long planes, int H, int W, float *din,
                          int threads) {
    const int OH = H / 2, OW = W / 2;
    #pragma omp parallel for num_threads(threads) schedule(static) if (planes * H * W > 100000)
    for (long p = 0; p < planes; p++) {
        float *dst = din + p * H * W;
        const float *g = dout + p * OH * OW;
        const uint8_t *a = arg + p * OH * OW;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                float *r0 = dst + (2 * oy) * W + 2 * ox, *r1 = r0 + W;
                const float v = g[oy * OW + ox];
                const uint8_t k = a[oy * OW + ox];
                r0[0] = k == 0 ? v : 0.f;
                r0[1] = k == 1 ? v : 0.f;
                r1[0] = k == 2 ? v : 0.f;
                r1[1] = k == 3 ? v : 0.f;
            }
    }
}

void ln_dense_forward(const ln_gemm_kernels *g, const float *in, const float *w, const float *b, int B,
                      int I, int O, float *out, int threads) {
    g->nt(B, O, I, in, I, w, I, out, O, 0, threads);
    if (b)
        for (int r = 0; r < B; r++)
            for (int o = 0; o < O; o++) out[(long)r * O + o] += b[o];
}

void ln_dense_backward(const ln_gemm_kernels *g, const float *dout, const float *in, const float *w,
                       int B, int I, int O, float *dw, float *db, float *din, int threads) {
    g->tn(O, I, B, dout, O, in, I, dw, I, 1, threads);
    if (db)
        for (int o = 0; o < O; o++) {
            float s = 0.f;
            for (int r = 0; r < B; r++) s += dout[(long)r * O + o];
            db[o] += s;
        }
    if (din) g->nn(B, I, O, dout, O, w, I, din, I, 0, threads);
}
