/* rng.c - Mersenne Twisters and libstdc++'s std::shuffle (see rng.h). */
#include "lenet/rng.h"

#include <math.h>

/* ---- mt19937: parameters from the C++ standard [rand.predef] ---- */
void ln_mt32_seed(ln_mt32 *r, uint32_t seed) {
    r->mt[0] = seed;
    for (int i = 1; i < 624; i++)
        r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
    r->idx = 624;
}

static void mt32_twist(ln_mt32 *r) {
    for (int i = 0; i < 624; i++) {
        uint32_t y = (r->mt[i] & 0x80000000u) | (r->mt[(i + 1) % 624] & 0x7fffffffu);
        uint32_t v = r->mt[(i + 397) % 624] ^ (y >> 1);
        r->mt[i] = (y & 1u) ? v ^ 0x9908b0dfu : v;
    }
    r->idx = 0;
}

uint32_t ln_mt32_next(ln_mt32 *r) {
    if (r->idx >= 624) mt32_twist(r);
    uint32_t y = r->mt[r->idx++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

/* ---- mt19937_64 ---- */
void ln_mt64_seed(ln_mt64 *r, uint64_t seed) {
    r->mt[0] = seed;
    for (int i = 1; i < 312; i++)
        r->mt[i] = 6364136223846793005ull * (r->mt[i - 1] ^ (r->mt[i - 1] >> 62)) + (uint64_t)i;
    r->idx = 312;
}

static void mt64_twist(ln_mt64 *r) {
    for (int i = 0; i < 312; i++) {
        uint64_t y = (r->mt[i] & 0xffffffff80000000ull) | (r->mt[(i + 1) % 312] & 0x7fffffffull);
        uint64_t v = r->mt[(i + 156) % 312] ^ (y >> 1);
        r->mt[i] = (y & 1u) ? v ^ 0xb5026f5aa96619e9ull : v;
    }
    r->idx = 0;
}

uint64_t ln_mt64_next(ln_mt64 *r) {
    if (r->idx >= 312) mt64_twist(r);
    uint64_t y = r->mt[r->idx++];
    y ^= (y >> 29) & 0x5555555555555555ull;
    y ^= (y << 17) & 0x71d67fffeda60000ull;
    y ^= (y << 37) & 0xfff7eee000000000ull;
    y ^= y >> 43;
    return y;
}

float ln_mt32_uniform(ln_mt32 *r) {
    return (float)(ln_mt32_next(r) >> 8) * (1.0f / 16777216.0f);
}

static double mt32_unit53(ln_mt32 *r) {
    uint64_t a = ln_mt32_next(r) >> 5, b = ln_mt32_next(r) >> 6;
    return ((double)a * 67108864.0 + (double)b) * (1.0 / 9007199254740992.0);
}

double ln_mt32_normal(ln_mt32 *r) {
    double u1 = mt32_unit53(r), u2 = mt32_unit53(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* uniform_int_distribution<unsigned long>{0, urange}(mt19937) for
 * urange < 2^32 - 1 (always the case here, n <= 65535 for the pair path). */
static uint64_t uniform_int(ln_mt32 *r, uint64_t urange, ln_uniform_algo algo) {
    const uint64_t urngrange = 0xffffffffull;
    if (urange == urngrange) return ln_mt32_next(r);
    const uint64_t uerange = urange + 1;
    if (algo == LN_LIBSTDCXX_LEMIRE) {
        /* Lemire: 32x32->64 product, reject low words below 2^32 mod range. */
        const uint32_t range = (uint32_t)uerange;
        uint64_t product = (uint64_t)ln_mt32_next(r) * range;
        uint32_t low = (uint32_t)product;
        if (low < range) {
            const uint32_t threshold = (uint32_t)(-range) % range;
            while (low < threshold) {
                product = (uint64_t)ln_mt32_next(r) * range;
                low = (uint32_t)product;
            }
        }
        return product >> 32;
    }
    /* Downscaling: reject values >= uerange * scaling, then divide. */
    const uint64_t scaling = urngrange / uerange;
    const uint64_t past = uerange * scaling;
    uint64_t ret;
    do ret = ln_mt32_next(r); while (ret >= past);
    return ret / scaling;
}

static void swap_ids(uint32_t *a, uint32_t *b) { uint32_t t = *a; *a = *b; *b = t; }

void ln_std_shuffle(uint32_t *ids, size_t n, ln_mt32 *r, ln_uniform_algo algo) {
    if (n < 2) return;
    const uint64_t urngrange = 0xffffffffull, urange = n;
    if (urngrange / urange >= urange) {
        /* One draw yields two swap positions (libstdc++ __gen_two_uniform_ints). */
        size_t i = 1;
        if ((urange % 2) == 0) swap_ids(&ids[i++], &ids[uniform_int(r, 1, algo)]);
        while (i != n) {
            const uint64_t b0 = i + 1, b1 = b0 + 1;
            const uint64_t x = uniform_int(r, b0 * b1 - 1, algo);
            swap_ids(&ids[i], &ids[x / b1]);
            i++;
            swap_ids(&ids[i], &ids[x % b1]);
            i++;
        }
        return;
    }
    for (size_t i = 1; i < n; i++) swap_ids(&ids[i], &ids[uniform_int(r, i, algo)]);
}
