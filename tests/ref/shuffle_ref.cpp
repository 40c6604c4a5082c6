// shuffle_ref.cpp - reference permutations of std::shuffle(ids, std::mt19937(seed))
// from the C++ standard library this is compiled with (see tests/ref/README.md).
//
// For each n in {1,2,3,10,11,1000,60000,70000} and seed in {1,2,5489}: shuffle
// 0..n-1 (uint32_t) and print one line
//   n seed fnv k head[0..k) tail[0..k)
// fnv  = FNV-1a 64 (hex, 16 digits) over the whole permutation, each id as
//        4 little-endian bytes;
// k    = min(n, 50); head = the first k ids, tail = the last k ids.
// Lines starting with '#' are comments. Output is deterministic.
#include <cstdint>
#include <cstdio>
#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

int main() {
    const uint32_t sizes[] = {1, 2, 3, 10, 11, 1000, 60000, 70000};
    const uint32_t seeds[] = {1, 2, 5489};
    std::printf("# std::shuffle(0..n-1, std::mt19937(seed)); g++ %d.%d, libstdc++ %d\n", __GNUC__,
                __GNUC_MINOR__, _GLIBCXX_RELEASE);
    std::printf("# n seed fnv1a64 k head[k] tail[k]\n");
    for (uint32_t n : sizes)
        for (uint32_t seed : seeds) {
            std::vector<uint32_t> v(n);
            std::iota(v.begin(), v.end(), 0u);
            std::mt19937 g(seed);
            std::shuffle(v.begin(), v.end(), g);
            uint64_t h = 1469598103934665603ull;
            for (uint32_t x : v)
                for (int b = 0; b < 4; b++) {
                    h ^= (x >> (8 * b)) & 0xffu;
                    h *= 1099511628211ull;
                }
            const uint32_t k = n < 50 ? n : 50;
            std::printf("%u %u %016llx %u", n, seed, (unsigned long long)h, k);
            for (uint32_t i = 0; i < k; i++) std::printf(" %u", v[i]);
            for (uint32_t i = 0; i < k; i++) std::printf(" %u", v[n - k + i]);
            std::printf("\n");
        }
    return 0;
}
