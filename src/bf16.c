/* bf16.c - the bf16 arithmetic's plain C reference (VDPBF16PS, lanes_bf16.h; and
 * TDPBF16PS's rule, amx.h) and the choice of the bf16 kernel variant. */
#include <math.h>
#include <string.h>

#include "amx.h"
#include "lanes_bf16.h"


uint16_t ln_bf16_round(float x) {
    const uint32_t u = ln_bits_of(x);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x40u); /* NaN: quiet, payload truncated */
    if (!(u & 0x7F800000u)) return (uint16_t)((u >> 16) & 0x8000u);          /* zero or denormal: signed zero */
    return (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);                /* nearest even; overflow -> Inf */
}

/* Denormal -> zero of its sign. */
static float daz(float x) { return fabsf(x) < 0x1p-126f ? copysignf(0.f, x) : x; }

/* A NaN operand as the instruction returns it: quieted, payload kept. An
 * invalid operation's result: the x86 default NaN. */
static float quiet(float x) { return ln_f32_of(ln_bits_of(x) | 0x00400000u); }
static float default_nan(void) { return ln_f32_of(0xFFC00000u); }

/* fmaf(x, y, c), then a result tiny after rounding to 24 bits flushed to
 * a zero of its sign. fmaf rounds with gradual underflow, which differs
 * only when it returns +-2^-126: an exact sum in [2^-126 - 2^-150,
 * 2^-126 - 2^-151) rounds to 2^-126 there but to 2^-126 - 2^-150 (tiny) at
 * 24 bits. c is 0 or normal and x*y a bf16 product, so where that can
 * happen the double sum below is exact. */
static float fma_ftz(float x, float y, float c) {
    float r = fmaf(x, y, c);
    if (fabsf(r) < 0x1p-126f) return copysignf(0.f, r);
    if (fabsf(r) == 0x1p-126f && fabs((double)c + (double)x * (double)y) < 0x1p-126 - 0x1p-151)
        return copysignf(0.f, r);
    return r;
}

float ln_bf16_dot_ref(float acc, uint32_t a, uint32_t b) {
    const float alo = ln_f32_of(a << 16), blo = ln_f32_of(b << 16), ahi = ln_f32_of(a & 0xFFFF0000u), bhi = ln_f32_of(b & 0xFFFF0000u);
    /* a NaN operand: the first in the instruction's priority order, quieted */
    const float order[5] = {alo, blo, ahi, bhi, acc};
    for (int i = 0; i < 5; i++)
        if (isnan(order[i])) return quiet(order[i]);
    const float r = fma_ftz(daz(alo), daz(blo), fma_ftz(daz(ahi), daz(bhi), daz(acc)));
    return isnan(r) ? default_nan() : r;
}

/* A NaN operand, quieted, the first in order; else the flushed FMA, an
 * invalid operation giving the default NaN (amx.h). */
float ln_bf16_fma_ref(float x, float y, float c) {
    const float in[3] = {x, y, c};
    for (int i = 0; i < 3; i++)
        if (isnan(in[i])) return quiet(in[i]);
    const float r = fma_ftz(daz(x), daz(y), daz(c));
    return isnan(r) ? default_nan() : r;
}

/* x + y with the same rules, the left addend's NaN first. Two floats, 0
 * or normal after DAZ: a sum below 2^-126 is exact, so the flush needs no
 * boundary test. */
static float add_ref(float x, float y) {
    if (isnan(x)) return quiet(x);
    if (isnan(y)) return quiet(y);
    const float r = daz(x) + daz(y);
    if (isnan(r)) return default_nan();
    return fabsf(r) < 0x1p-126f ? copysignf(0.f, r) : r;
}

float ln_amx_block_ref(float acc, const uint32_t *a, const uint32_t *b, int K) {
    float e = 0.f, o = 0.f;
    for (int k = 0; k < K; k++) {
        e = ln_bf16_fma_ref(ln_f32_of(a[k] << 16), ln_f32_of(b[k] << 16), e);
        o = ln_bf16_fma_ref(ln_f32_of(a[k] & 0xFFFF0000u), ln_f32_of(b[k] & 0xFFFF0000u), o);
    }
    return add_ref(acc, add_ref(e, o));
}

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
int ln_bf16_cpu_has_avx512bf16(void) {
    unsigned a, b, c, d;
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw")) return 0;
    if (__get_cpuid_max(0, NULL) < 7) return 0;
    __cpuid_count(7, 1, a, b, c, d);
    return (a >> 5) & 1; /* CPUID.(7,1):EAX[5] AVX512_BF16; the OS state is avx512f's */
}
#else
int ln_bf16_cpu_has_avx512bf16(void) { return 0; }
#endif

int ln_bf16_select(ln_bf16_kernels *k, const char *isa) {
#define SET(x, n) (*k = (ln_bf16_kernels){n, ln_bf16_pack_##x, ln_bf16_forward_##x, ln_bf16_backward_##x, ln_bf16_dot_##x, ln_bf16_pack2_##x})
    __builtin_cpu_init();
    const int has2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const int has512 = has2 && __builtin_cpu_supports("avx512f");
    const int hasbf = has512 && ln_bf16_cpu_has_avx512bf16();
    if (!isa || !strcmp(isa, "auto")) isa = hasbf ? "avx512bf16" : has512 ? "avx512" : has2 ? "avx2" : "generic";
    else if (!strcmp(isa, "avx512") && hasbf) isa = "avx512bf16";
    if (!strcmp(isa, "avx512bf16") && hasbf) SET(avx512bf16, "avx512bf16");
    else if (!strcmp(isa, "avx512") && has512) SET(avx512, "avx512-emulated");
    else if (!strcmp(isa, "avx512-emulated") && has512) SET(avx512, "avx512-emulated");
    else if (!strcmp(isa, "avx2") && has2) SET(avx2, "avx2");
    else if (!strcmp(isa, "generic")) SET(generic, "generic");
    else return -1;
    return 0;
#undef SET
}
