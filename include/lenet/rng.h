/* rng.h - the random number generators the pipeline and initialisers use.
 *
 * All state lives in caller-owned structs (no globals), so a run is
 * reproducible from its seed and the state can be saved and restored.
 *
 * - ln_mt32: std::mt19937 (32-bit Mersenne Twister), bit-identical to C++.
 *   MindSpore's RandomSampler permutes sample ids with it.
 * - ln_mt64: std::mt19937_64, bit-identical to C++. MindSpore's shuffle op
 *   (the 10,000-row buffer) draws from it.
 * - ln_std_shuffle(): std::shuffle(first, last, mt19937) as libstdc++
 *   implements it: Fisher-Yates that draws two swap positions from one number
 *   when n*n fits the generator's range. uniform_int_distribution differs by
 *   version: libstdc++ 7-10 (GCC 7.3 builds MindSpore's releases) use
 *   "downscaling" (reject >= range*scaling, divide); libstdc++ 11+ use
 *   Lemire's nearly divisionless method. Both are provided.
 */
#ifndef LENET_RNG_H
#define LENET_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct { uint32_t mt[624]; int idx; } ln_mt32;
typedef struct { uint64_t mt[312]; int idx; } ln_mt64;

void ln_mt32_seed(ln_mt32 *r, uint32_t seed);
uint32_t ln_mt32_next(ln_mt32 *r);
void ln_mt64_seed(ln_mt64 *r, uint64_t seed);
uint64_t ln_mt64_next(ln_mt64 *r);

/* Uniform float in [0, 1) from 24 random bits. */
float ln_mt32_uniform(ln_mt32 *r);
/* Standard normal sample (Box-Muller on two 53-bit doubles, one value used). */
double ln_mt32_normal(ln_mt32 *r);

typedef enum {
    LN_LIBSTDCXX_DOWNSCALE, /* GCC 7-10: MindSpore's release builds (default) */
    LN_LIBSTDCXX_LEMIRE,    /* GCC 11+ */
} ln_uniform_algo;

/* Permute ids[0..n) in place exactly as libstdc++'s std::shuffle(first,
 * last, mt19937) does with the given uniform_int_distribution algorithm. */
void ln_std_shuffle(uint32_t *ids, size_t n, ln_mt32 *r, ln_uniform_algo algo);

#endif
