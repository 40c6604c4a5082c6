/* clones.h - LN_CLONES: an elementwise loop in plain C compiled for
 * AVX-512, AVX2 and the baseline (SSE2), one of them picked when the
 * program loads by the CPU's features (GCC's target_clones, an ifunc)
 * (internal).
 *
 * Only for loops whose every element is computed by the same operations
 * whatever the vector width: elementwise, no reductions, and no fused
 * multiply-adds (the build has -ffp-contract=off), so every clone gives the
 * same bits and the baseline clone is the plain C reference. Used where
 * the whole parameter buffer is walked every step (the gradient sum and
 * the optimizer's update): the baseline's 4-float SSE2 vectors made them
 * 6% of a 1-thread epoch. Empty for compilers or builds without ifuncs
 * (clang, sanitizers), which then run the baseline loop.
 */
#ifndef LENET_CLONES_H
#define LENET_CLONES_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) &&          \
    defined(__gnu_linux__)
#define LN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LN_CLONES
#endif

#endif
