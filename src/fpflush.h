/* fpflush.h - subnormal floats flushed to zero while the engine computes
 * (internal).
 *
 * Both engines' forward and backward passes, the loss and the optimizer run
 * with the CPU's "flush to zero" and "denormals are zero" modes on (x86:
 * MXCSR FTZ and DAZ; AArch64: FPCR.FZ): a float32 result below 2^-126 in
 * magnitude becomes a zero of its sign, and such an input reads as zero.
 * Why: on x86 an operation that meets a subnormal takes a microcode assist
 * of about a hundred cycles. They appear in training (momentum buffers of
 * weights whose gradient stays 0 decay by 0.9 a step; tiny gradients), and
 * measured with `make speedrun`, seed 10 spent ~30% more time per step with
 * them than without (0.31-0.36 ms against 0.24 ms), with the same accuracy.
 * MindSpore's Ascend and GPU back ends, cuDNN and oneDNN's bf16 paths
 * compute the same way; `torch.set_flush_denormal(True)` is PyTorch's
 * switch for it.
 *
 * The modes belong to a thread: ln_fpflush_enter sets them on the calling
 * thread and returns what was there, ln_fpflush_leave puts that back, so a
 * program embedding the library keeps its own rounding, exception masks and
 * flush modes (the exception flags are whatever the arithmetic raised).
 * Every thread of a parallel region enters and leaves on its own. The
 * generic (SSE2), AVX2 and AVX-512 kernels all obey MXCSR, so results stay
 * the same on every x86 CPU. AArch64 gets FPCR.FZ (not compared with x86
 * bit for bit); on other architectures nothing is set, and runs that meet
 * subnormals give other bits there.
 */
#ifndef LENET_FPFLUSH_H
#define LENET_FPFLUSH_H

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

static inline unsigned ln_fpflush_enter(void) {
    const unsigned old = _mm_getcsr();
    _mm_setcsr(old | 0x8040u); /* FTZ (bit 15) | DAZ (bit 6) */
    return old;
}
static inline void ln_fpflush_leave(unsigned old) { _mm_setcsr(old); }

#elif defined(__aarch64__)
#include <stdint.h>

static inline unsigned ln_fpflush_enter(void) {
    uint64_t old;
    __asm__ volatile("mrs %0, fpcr" : "=r"(old));
    __asm__ volatile("msr fpcr, %0" : : "r"(old | (1u << 24))); /* FZ */
    return (unsigned)old;
}
static inline void ln_fpflush_leave(unsigned old) { __asm__ volatile("msr fpcr, %0" : : "r"((uint64_t)old)); }

#else
static inline unsigned ln_fpflush_enter(void) { return 0; }
static inline void ln_fpflush_leave(unsigned old) { (void)old; }
#endif

#endif
