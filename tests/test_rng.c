/* test_rng.c - Mersenne Twisters, std::shuffle (both libstdc++ algorithms)
 * and the data pipeline's sample order (sampler -> shuffle buffer -> batch).
 *
 * References: the C++ standard's 10000th-output values for mt19937 /
 * mt19937_64; tests/data/shuffle_ref.txt, written by g++ 12's std::shuffle
 * (tests/ref/shuffle_ref.cpp, see tests/ref/README.md); hand-worked swaps for
 * the GCC 7 "downscaling" algorithm; an independent re-implementation of the
 * shuffle-buffer description in include/lenet/pipeline.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lenet/pipeline.h"
#include "lenet/rng.h"
#include "lenet/transform.h"

static int is_permutation(const uint32_t *v, size_t n) {
    uint8_t *seen = calloc(n ? n : 1, 1);
    int ok = seen != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        if (v[i] >= n || seen[v[i]]) ok = 0;
        else seen[v[i]] = 1;
    }
    free(seen);
    return ok;
}

static uint64_t fnv1a64(const uint32_t *v, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 4; b++) {
            h ^= (v[i] >> (8 * b)) & 0xffu;
            h *= 1099511628211ull;
        }
    return h;
}

static uint32_t *shuffled(size_t n, uint32_t seed, ln_uniform_algo algo) {
    uint32_t *v = malloc(sizeof(uint32_t) * (n ? n : 1));
    if (!v) return NULL;
    for (size_t i = 0; i < n; i++) v[i] = (uint32_t)i;
    ln_mt32 r;
    ln_mt32_seed(&r, seed);
    ln_std_shuffle(v, n, &r, algo);
    return v;
}

static void test_generators(test_ctx *t) {
    ln_mt32 r;
    ln_mt32_seed(&r, 5489);
    uint32_t first = ln_mt32_next(&r), v = first;
    for (int i = 2; i <= 10000; i++) v = ln_mt32_next(&r);
    CHECK(t, first == 3499211612u, "mt19937(5489): first output 3499211612");
    CHECK(t, v == 4123659995u, "mt19937(5489): 10000th output 4123659995");

    ln_mt64 q;
    ln_mt64_seed(&q, 5489);
    uint64_t w = 0;
    for (int i = 1; i <= 10000; i++) w = ln_mt64_next(&q);
    CHECK(t, w == 9981545732273789042ull, "mt19937_64(5489): 10000th output 9981545732273789042");

    /* Re-seeding restarts the sequence; another seed gives another one. */
    ln_mt32_seed(&r, 5489);
    CHECK(t, ln_mt32_next(&r) == 3499211612u, "mt19937: re-seeding restarts the sequence");
    ln_mt32_seed(&r, 5490);
    CHECK(t, ln_mt32_next(&r) != 3499211612u, "mt19937: seed 5490 differs from 5489");

    /* Derived samplers stay in range. */
    ln_mt32_seed(&r, 1);
    int uni_ok = 1, norm_ok = 1;
    double sum = 0, sum2 = 0;
    for (int i = 0; i < 20000; i++) {
        float u = ln_mt32_uniform(&r);
        if (!(u >= 0.0f && u < 1.0f)) uni_ok = 0;
        double z = ln_mt32_normal(&r);
        if (!(z > -10 && z < 10)) norm_ok = 0;
        sum += z, sum2 += z * z;
    }
    CHECK(t, uni_ok, "ln_mt32_uniform in [0, 1)");
    CHECK(t, norm_ok && sum / 20000 > -0.05 && sum / 20000 < 0.05 && sum2 / 20000 > 0.95 &&
                 sum2 / 20000 < 1.05,
          "ln_mt32_normal: finite, mean ~0, variance ~1 over 20000 draws");
}

/* Compare ln_std_shuffle(LEMIRE) with g++ 12's std::shuffle. */
static void test_shuffle_lemire(test_ctx *t) {
    char path[1024];
    snprintf(path, sizeof path, "%s/shuffle_ref.txt", test_data_dir());
    FILE *f = fopen(path, "r");
    CHECK(t, f != NULL, "open tests/data/shuffle_ref.txt");
    if (!f) return;
    char line[8192];
    int cases = 0, bad = 0, parse_err = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        char *p = line, *end;
        unsigned long n = strtoul(p, &end, 10);
        p = end;
        unsigned long seed = strtoul(p, &end, 10);
        p = end;
        unsigned long long hash = strtoull(p, &end, 16);
        p = end;
        unsigned long k = strtoul(p, &end, 10);
        if (end == p || k > 50 || k > n) { parse_err++; continue; }
        p = end;
        uint32_t head[50], tail[50];
        for (unsigned long i = 0; i < 2 * k; i++) {
            unsigned long x = strtoul(p, &end, 10);
            if (end == p) { parse_err++; break; }
            p = end;
            if (i < k) head[i] = (uint32_t)x;
            else tail[i - k] = (uint32_t)x;
        }
        uint32_t *v = shuffled(n, (uint32_t)seed, LN_LIBSTDCXX_LEMIRE);
        if (!v) { bad++; continue; }
        int ok = fnv1a64(v, n) == hash && memcmp(v, head, k * 4) == 0 && memcmp(v + n - k, tail, k * 4) == 0 &&
                 is_permutation(v, n);
        if (!ok) {
            bad++;
            printf("  lemire mismatch: n %lu seed %lu\n", n, seed);
        }
        cases++;
        free(v);
    }
    fclose(f);
    CHECK(t, parse_err == 0, "shuffle_ref.txt parses");
    CHECK(t, cases == 24, "shuffle_ref.txt has 24 cases (8 sizes x 3 seeds)");
    CHECK(t, bad == 0, "ln_std_shuffle(LEMIRE) == g++ 12 std::shuffle for every case");
}

static void test_shuffle_downscale(test_ctx *t) {
    /* Hand-worked example, n = 6, mt19937(5489), GCC 7's downscaling
     * uniform_int_distribution. First outputs of mt19937(5489):
     * 3499211612, 581869302, 3890346734.
     * n*n fits 2^32, so libstdc++ draws swap positions two at a time; n even
     * so it starts with one single swap:
     *  i=1: u(0..1): scaling = (2^32-1)/2 = 2147483647, reject >= 4294967294;
     *       3499211612 / 2147483647 = 1          -> swap(ids[1], ids[1])
     *  i=2: pair (b0=3, b1=4), u(0..11): scaling = 4294967295/12 = 357913941,
     *       reject >= 12*357913941 = 4294967292; 581869302 / 357913941 = 1
     *       -> x=1: swap(ids[2], ids[x/4 = 0]); swap(ids[3], ids[x%4 = 1])
     *  i=4: pair (b0=5, b1=6), u(0..29): scaling = 4294967295/30 = 143165576,
     *       reject >= 4294967280; 3890346734 / 143165576 = 27 (27*143165576
     *       = 3865470552 <= x < 28*143165576 = 4008636128)
     *       -> x=27: swap(ids[4], ids[27/6 = 4]); swap(ids[5], ids[27%6 = 3])
     * [0 1 2 3 4 5] -> [2 1 0 3 4 5] -> [2 3 0 1 4 5] -> [2 3 0 5 4 1]. */
    static const uint32_t want6[6] = {2, 3, 0, 5, 4, 1};
    uint32_t *v = shuffled(6, 5489, LN_LIBSTDCXX_DOWNSCALE);
    CHECK(t, v && memcmp(v, want6, sizeof want6) == 0, "downscale n=6 seed 5489 == hand-worked [2 3 0 5 4 1]");
    free(v);
    /* n = 3 (odd: pairs from i=1): u(0..5): scaling = 4294967295/6 = 715827882;
     * 3499211612 / 715827882 = 4 (4*715827882 = 2863311528 <= x < 3579139410)
     * -> x=4: swap(ids[1], ids[4/3 = 1]); swap(ids[2], ids[4%3 = 1]) -> [0 2 1]. */
    static const uint32_t want3[3] = {0, 2, 1};
    v = shuffled(3, 5489, LN_LIBSTDCXX_DOWNSCALE);
    CHECK(t, v && memcmp(v, want3, sizeof want3) == 0, "downscale n=3 seed 5489 == hand-worked [0 2 1]");
    free(v);
    /* n = 2: one single swap with u(0..1) = 1 (as above) -> [0 1] unchanged. */
    v = shuffled(2, 5489, LN_LIBSTDCXX_DOWNSCALE);
    CHECK(t, v && v[0] == 0 && v[1] == 1, "downscale n=2 seed 5489 == [0 1]");
    free(v);
    /* The single-draw path (n*n > 2^32, e.g. n = 70000) draws u(0..i) for
     * i = 1..n-1, one draw per swap unless rejected. By hand, the first five
     * draws with downscaling: 3499211612/2147483647 = 1,
     * 581869302/1431655765 = 0 (scaling (2^32-1)/3),
     * 3890346734/1073741823 = 3, 3586334585/858993459 = 4,
     * 545404204/715827882 = 0: swaps (1,1) (2,0) (3,3) (4,4) (5,0). The
     * reference loop below must reproduce these; then the library's n=70000
     * shuffle must equal that reference loop run to the end. */
    {
        ln_mt32 r;
        ln_mt32_seed(&r, 5489);
        uint32_t ids[6] = {0, 1, 2, 3, 4, 5};
        const uint32_t want_j[5] = {1, 0, 3, 4, 0};
        int ok = 1;
        for (uint32_t i = 1; i <= 5; i++) {
            uint32_t x = ln_mt32_next(&r);
            uint32_t scaling = 4294967295u / (i + 1);
            uint32_t j = x / scaling;
            if (j != want_j[i - 1]) ok = 0;
            uint32_t tmp = ids[i];
            ids[i] = ids[j];
            ids[j] = tmp;
        }
        CHECK(t, ok && ids[0] == 5 && ids[2] == 0 && ids[5] == 2,
              "hand-worked single-draw downscale swaps (1,1) (2,0) (3,3) (4,4) (5,0)");
        uint32_t *lib = shuffled(70000, 5489, LN_LIBSTDCXX_DOWNSCALE);
        uint32_t *ref = malloc(sizeof(uint32_t) * 70000);
        int same = lib && ref;
        if (same) {
            for (uint32_t i = 0; i < 70000; i++) ref[i] = i;
            ln_mt32_seed(&r, 5489);
            for (uint32_t i = 1; i < 70000; i++) {
                const uint64_t range = (uint64_t)i + 1, scaling = 4294967295ull / range,
                               past = range * scaling;
                uint64_t x;
                do x = ln_mt32_next(&r); while (x >= past);
                uint32_t j = (uint32_t)(x / scaling), tmp = ref[i];
                ref[i] = ref[j];
                ref[j] = tmp;
            }
            same = memcmp(lib, ref, sizeof(uint32_t) * 70000) == 0;
        }
        CHECK(t, same, "downscale n=70000 == straightforward downscaling Fisher-Yates");
        free(lib);
        free(ref);
    }

    /* Permutation, deterministic per seed, seed-dependent, differs from Lemire. */
    static const size_t sizes[] = {1, 2, 3, 10, 11, 1000, 60000, 70000};
    static const uint32_t seeds[] = {1, 2, 5489};
    int perm_ok = 1, det_ok = 1, differ = 0, differ_cases = 0, seed_dep = 1;
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        uint32_t *prev = NULL;
        for (size_t ki = 0; ki < 3; ki++) {
            uint32_t *a = shuffled(n, seeds[ki], LN_LIBSTDCXX_DOWNSCALE);
            uint32_t *b = shuffled(n, seeds[ki], LN_LIBSTDCXX_DOWNSCALE);
            uint32_t *l = shuffled(n, seeds[ki], LN_LIBSTDCXX_LEMIRE);
            if (!a || !b || !l) { perm_ok = 0; free(a); free(b); free(l); continue; }
            if (!is_permutation(a, n)) perm_ok = 0;
            if (memcmp(a, b, n * 4)) det_ok = 0;
            if (n >= 1000) {
                differ_cases++;
                if (memcmp(a, l, n * 4)) differ++;
                if (prev && !memcmp(prev, a, n * 4)) seed_dep = 0;
            }
            free(prev);
            prev = a;
            free(b);
            free(l);
        }
        free(prev);
    }
    CHECK(t, perm_ok, "downscale: every result is a permutation of 0..n-1");
    CHECK(t, det_ok, "downscale: same seed -> same permutation");
    CHECK(t, seed_dep, "downscale: seeds 1, 2, 5489 give different permutations (n >= 1000)");
    CHECK(t, differ == differ_cases && differ_cases == 9, "downscale differs from Lemire for n >= 1000");

    /* The generator state advances: two shuffles in a row from one engine differ. */
    ln_mt32 r;
    ln_mt32_seed(&r, 7);
    uint32_t a[100], b[100];
    for (int i = 0; i < 100; i++) a[i] = b[i] = (uint32_t)i;
    ln_std_shuffle(a, 100, &r, LN_LIBSTDCXX_DOWNSCALE);
    ln_std_shuffle(b, 100, &r, LN_LIBSTDCXX_DOWNSCALE);
    CHECK(t, memcmp(a, b, sizeof a) != 0, "std_shuffle advances the engine");
}

/* ---- pipeline ---- */

#define NROWS 100

/* Every pixel of image i is i (mod 256): a row is decodable from its pixels. */
static uint8_t row_pixel(uint32_t image, uint32_t k) {
    (void)k;
    return (uint8_t)image;
}

/* Row index encoded in a transformed image: every pixel is lut[row]. */
static int decode_row(const float *img, const float *lut) {
    for (int v = 0; v < 256; v++)
        if (img[0] == lut[v]) {
            for (int i = 1; i < LN_IMG * LN_IMG; i++)
                if (img[i] != lut[v]) return -2;
            return v;
        }
    return -1;
}

/* Independent model of the documented shuffle buffer: a bag of at most
 * `bufsize` rows; draw slot k = rng % size, emit it, fill the hole with the
 * bag's last row, shrink the bag, then top it up with the next input row. */
static void ref_shuffle_buffer(const uint32_t *in, uint32_t n, int bufsize, ln_mt64 *rng, uint32_t *out) {
    uint32_t *bag = malloc(sizeof(uint32_t) * (size_t)bufsize);
    uint32_t size = 0, next = 0, o = 0;
    while (size < (uint32_t)bufsize && next < n) bag[size++] = in[next++];
    while (size > 0) {
        uint32_t k = (uint32_t)(ln_mt64_next(rng) % size);
        out[o++] = bag[k];
        bag[k] = bag[size - 1];
        size--;
        if (next < n) bag[size++] = in[next++];
    }
    free(bag);
}

/* Reference for a shard (MindSpore's DistributedSampler, then the shard's
 * own buffer): per epoch the sampler permutation as in ref_orders, item k
 * of shard r = perm[(N*k + r) mod n] for k < ceil(n/N), then the buffer
 * with mt19937_64(seed) carried across epochs; shuffle 0: no permutation
 * and no buffer. */
static void ref_shard_orders(uint32_t n, uint32_t seed, int shuffle, int bufsize, int epochs, uint32_t N, uint32_t r,
                             uint32_t *orders /* epochs * ceil(n/N) */) {
    const uint32_t len = (n + N - 1) / N;
    uint32_t *perm = malloc(sizeof(uint32_t) * n), *items = malloc(sizeof(uint32_t) * len);
    for (uint32_t i = 0; i < n; i++) perm[i] = i;
    ln_mt64 rng;
    ln_mt64_seed(&rng, seed);
    for (int e = 0; e < epochs; e++) {
        ln_mt32 g;
        ln_mt32_seed(&g, seed + (uint32_t)e);
        if (shuffle) ln_std_shuffle(perm, n, &g, LN_LIBSTDCXX_DOWNSCALE);
        for (uint32_t k = 0; k < len; k++) items[k] = perm[(N * k + r) % n];
        if (shuffle) ref_shuffle_buffer(items, len, bufsize, &rng, orders + (size_t)e * len);
        else memcpy(orders + (size_t)e * len, items, sizeof(uint32_t) * len);
    }
    free(perm);
    free(items);
}

/* Reference order for `epochs` epochs without shards: sampler permutation
 * re-shuffled with mt19937(seed + e) for e = 0, 1, ... (the e-th prepared
 * epoch, 0-based), then the buffer with one mt19937_64(seed) carried across
 * epochs. */
static void ref_orders(uint32_t n, uint32_t seed, int bufsize, int epochs, uint32_t *orders /* epochs*n */) {
    ref_shard_orders(n, seed, 1, bufsize, epochs, 1, 0, orders);
}

/* Sharding: 100 rows over 3 shards (34 rows each, the last two positions
 * wrapping to the epoch's perm[0], perm[1]), shuffled and not, 2 epochs,
 * against the reference; the shards' sampler items cover every row. */
static void test_shards(test_ctx *t, const ln_dataset *ds) {
    ln_error err;
    for (int shuffle = 0; shuffle < 2; shuffle++) {
        int match = 1, cover = 1, sizes = 1;
        int seen[2][NROWS] = {{0}};
        for (int r = 0; r < 3; r++) {
            uint32_t want[2 * 34];
            ref_shard_orders(NROWS, 99, shuffle, 16, 2, 3, (uint32_t)r, want);
            ln_pipeline p;
            ln_pipeline_config c = {.batch_size = 8, .drop_remainder = 1, .shuffle = shuffle, .buffer_size = 16,
                                    .seed = 99, .threads = 1, .num_shards = 3, .shard_id = r};
            if (ln_pipeline_init(&p, ds, &c, &err)) { match = 0; continue; }
            for (int e = 0; e < 2; e++) {
                ln_pipeline_next_epoch(&p);
                sizes &= ln_pipeline_shard_size(&p) == 34 && ln_pipeline_num_batches(&p) == 4;
                match &= !memcmp(ln_pipeline_order(&p), want + (size_t)e * 34, sizeof(uint32_t) * 34);
                for (uint32_t k = 0; k < ln_pipeline_shard_size(&p); k++) seen[e][ln_pipeline_order(&p)[k]]++;
            }
            ln_pipeline_free(&p);
        }
        for (int e = 0; e < 2; e++) {
            int twice = 0;
            for (int i = 0; i < NROWS; i++) cover &= seen[e][i] >= 1, twice += seen[e][i] == 2;
            cover &= twice == 2;
        }
        CHECK(t, sizes, shuffle ? "3 shards of 100 rows (shuffled): 34 rows, 4 batches of 8 each"
                                : "3 shards of 100 rows: 34 rows, 4 batches of 8 each");
        CHECK(t, match, shuffle ? "3 shards, shuffled: 2 epochs' order == DistributedSampler + buffer reference"
                                : "3 shards, no shuffle: item k of shard r is row (3k + r) mod 100");
        CHECK(t, cover, shuffle ? "3 shards, shuffled: together every row, 2 read twice (the wrap)"
                                : "3 shards, no shuffle: together every row, 2 read twice (the wrap)");
    }
    ln_pipeline p;
    ln_pipeline_config bad = {.batch_size = 8, .drop_remainder = 1, .shuffle = 0, .seed = 1, .threads = 1,
                              .num_shards = 2, .shard_id = 2};
    CHECK(t, ln_pipeline_init(&p, ds, &bad, &err) == LN_E_USAGE, "shard_id >= num_shards rejected (LN_E_USAGE)");
}

/* Rows of every batch of the current epoch, decoded from image bytes;
 * labels checked against row % 10. Returns rows seen or -1 on a bad row. */
static long epoch_rows(ln_pipeline *p, uint32_t *rows, int *label_ok, float *imgs, int32_t *labs) {
    float lut[256];
    ln_normalize_lut(lut);
    long got = 0;
    *label_ok = 1;
    for (int b = 0; b < ln_pipeline_num_batches(p); b++) {
        int r = ln_pipeline_batch(p, b, imgs, labs);
        for (int i = 0; i < r; i++) {
            int row = decode_row(imgs + (size_t)i * LN_IMG * LN_IMG, lut);
            if (row < 0) return -1;
            rows[got++] = (uint32_t)row;
            if (labs[i] != row % 10) *label_ok = 0;
        }
    }
    return got;
}

/* Whether dst holds batches [b, b + nb) of p (batch size bs) row after row,
 * each its refs image (ln_pipeline_gather's contract). */
static int gathered_as_refs(const ln_pipeline *p, int b, int nb, int bs, const uint8_t *dst) {
    for (int bb = b; bb < b + nb; bb++) {
        const uint8_t *px[64];
        const int rows = ln_pipeline_refs(p, bb, px, NULL);
        for (int i = 0; i < rows; i++)
            if (memcmp(dst + ((size_t)(bb - b) * bs + (size_t)i) * LN_IMG * LN_IMG, px[i], LN_IMG * LN_IMG)) return 0;
    }
    return 1;
}

static void test_pipeline(test_ctx *t) {
    ln_dataset ds;
    test_dataset(&ds, NROWS, row_pixel);
    float lut[256];
    ln_normalize_lut(lut);
    int lut_distinct = 1;
    for (int v = 1; v < 256; v++) lut_distinct &= lut[v] > lut[v - 1];
    CHECK(t, lut_distinct, "lut strictly increasing (rows decodable from pixels)");

    float *imgs = malloc(sizeof(float) * 128 * LN_IMG * LN_IMG);
    float *imgs2 = malloc(sizeof(float) * 128 * LN_IMG * LN_IMG);
    int32_t labs[128], labs2[128];
    uint32_t rows[NROWS * 2];
    ln_error err;

    /* No shuffle: file order, exact batch contents. */
    {
        ln_pipeline p;
        ln_pipeline_config c = {.batch_size = 32, .drop_remainder = 0, .shuffle = 0, .buffer_size = 0,
                                .seed = 1, .threads = 1};
        ln_status s = ln_pipeline_init(&p, &ds, &c, &err);
        CHECK(t, s == LN_OK, "pipeline init (no shuffle)");
        if (s == LN_OK) {
            ln_pipeline_next_epoch(&p);
            CHECK(t, ln_pipeline_num_batches(&p) == 4, "no shuffle, 100 rows / 32, keep remainder: 4 batches");
            int ok = 1;
            for (uint32_t i = 0; i < NROWS; i++) ok &= ln_pipeline_order(&p)[i] == i;
            CHECK(t, ok, "no shuffle: order is file order");
            int r = ln_pipeline_batch(&p, 1, imgs, labs);
            int exact = r == 32;
            for (int i = 0; exact && i < 32; i++) {
                exact &= labs[i] == (32 + i) % 10;
                for (int k = 0; k < LN_IMG * LN_IMG; k++) exact &= imgs[(size_t)i * 1024 + k] == lut[32 + i];
            }
            CHECK(t, exact, "no shuffle: batch 1 = rows 32..63, pixels lut[row], labels row % 10");
            {
                const uint8_t *pb[32];
                int32_t lb[32];
                const int rb = ln_pipeline_refs(&p, 1, pb, lb);
                int same = rb == 32;
                for (int i = 0; same && i < 32; i++) same &= lb[i] == labs[i] && lut[pb[i][0]] == imgs[(size_t)i * 1024];
                CHECK(t, same, "refs: the same rows and labels as the batch");
                CHECK(t, ln_pipeline_refs(&p, 3, pb, NULL) == 4, "refs without labels: the last batch's 4 rows");
            }
            for (int th = 1; th <= 2; th++) { /* batches 1..3 gathered: rows 32..99, the last batch short */
                static uint8_t g[68 * LN_IMG * LN_IMG];
                memset(g, 0xEE, sizeof g);
                const long n = ln_pipeline_gather(&p, 1, 3, g, th);
                const int same = n == 68 && gathered_as_refs(&p, 1, 3, 32, g);
                CHECK(t, same, th == 1 ? "gather of batches 1..3 (1 thread): 68 rows, each its refs image"
                                       : "gather of batches 1..3 (2 threads): 68 rows, each its refs image");
            }
            { /* 2 threads asked for inside an active parallel region, which gets 1 (nested regions are
               * inactive by default): every row still copied */
                static uint8_t g[68 * LN_IMG * LN_IMG];
                memset(g, 0xEE, sizeof g);
                long n = 0;
                #pragma omp parallel num_threads(2)
                {
                    #pragma omp single
                    n = ln_pipeline_gather(&p, 1, 3, g, 2);
                }
                const int same = n == 68 && gathered_as_refs(&p, 1, 3, 32, g);
                CHECK(t, same, "gather asked for 2 threads inside a parallel region (1 given): all 68 rows copied");
            }
            r = ln_pipeline_batch(&p, 3, imgs, labs);
            CHECK(t, r == 4 && labs[0] == 6 && labs[3] == 9 && imgs[0] == lut[96] && imgs[3 * 1024 + 5] == lut[99],
                  "no shuffle: last batch = rows 96..99 (4 rows)");
            int lab_ok;
            long got = epoch_rows(&p, rows, &lab_ok, imgs, labs);
            int inorder = got == NROWS && lab_ok;
            for (long i = 0; inorder && i < got; i++) inorder = rows[i] == (uint32_t)i;
            CHECK(t, inorder, "no shuffle: decoded rows of all batches are 0..99 in order");
            ln_pipeline_next_epoch(&p);
            ok = 1;
            for (uint32_t i = 0; i < NROWS; i++) ok &= ln_pipeline_order(&p)[i] == i;
            CHECK(t, ok, "no shuffle: epoch 2 is file order too");
            ln_pipeline_free(&p);
        }
    }

    /* drop_remainder batch counts. */
    {
        static const struct { int bs, drop, want; } cases[] = {
            {32, 1, 3}, {32, 0, 4}, {10, 1, 10}, {10, 0, 10}, {100, 1, 1}, {101, 1, 0}, {101, 0, 1}, {1, 1, 100}};
        int ok = 1;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            ln_pipeline p;
            ln_pipeline_config c = {cases[i].bs, cases[i].drop, 1, 16, 3, 1, 1, 0};
            if (ln_pipeline_init(&p, &ds, &c, &err)) { ok = 0; continue; }
            ln_pipeline_next_epoch(&p);
            if (ln_pipeline_num_batches(&p) != cases[i].want) {
                ok = 0;
                printf("  batch %d drop %d: %d batches, want %d\n", cases[i].bs, cases[i].drop,
                       ln_pipeline_num_batches(&p), cases[i].want);
            }
            ln_pipeline_free(&p);
        }
        CHECK(t, ok, "drop_remainder batch counts (32: 3/4, 10: 10, 100: 1, 101: 0/1, 1: 100)");
        ln_pipeline p;
        ln_pipeline_config c = {32, 1, 1, 16, 3, 1, 1, 0};
        if (!ln_pipeline_init(&p, &ds, &c, &err)) {
            ln_pipeline_next_epoch(&p);
            int lab_ok;
            long got = epoch_rows(&p, rows, &lab_ok, imgs, labs);
            CHECK(t, got == 96 && lab_ok, "drop_remainder: 3 batches deliver 96 rows");
            ln_pipeline_free(&p);
        }
        ln_pipeline_config bad = {0, 1, 1, 16, 3, 1, 1, 0};
        CHECK(t, ln_pipeline_init(&p, &ds, &bad, &err) == LN_E_USAGE, "batch_size 0 rejected (LN_E_USAGE)");
        ln_pipeline_config bad2 = {32, 1, 1, 1, 3, 1, 1, 0};
        CHECK(t, ln_pipeline_init(&p, &ds, &bad2, &err) == LN_E_USAGE, "shuffle buffer 1 rejected (LN_E_USAGE)");
    }

    test_shards(t, &ds);

    /* Shuffle: against the independent reference, several buffer sizes. */
    static const int bufsizes[] = {2, 7, 16, 99, 100, 10000};
    for (size_t bi = 0; bi < sizeof bufsizes / sizeof bufsizes[0]; bi++) {
        const int bsz = bufsizes[bi];
        const uint32_t seed = 1234;
        uint32_t want[3 * NROWS];
        ref_orders(NROWS, seed, bsz, 3, want);
        ln_pipeline p;
        ln_pipeline_config c = {.batch_size = 16, .drop_remainder = 0, .shuffle = 1, .buffer_size = bsz,
                                .seed = seed, .threads = 1};
        if (ln_pipeline_init(&p, &ds, &c, &err)) {
            CHECK(t, 0, "pipeline init (shuffle)");
            continue;
        }
        int match = 1, perm = 1, batches_match = 1;
        uint32_t first_epoch[NROWS];
        for (int e = 0; e < 3; e++) {
            ln_pipeline_next_epoch(&p);
            if (memcmp(ln_pipeline_order(&p), want + (size_t)e * NROWS, sizeof(uint32_t) * NROWS)) match = 0;
            perm &= is_permutation(ln_pipeline_order(&p), NROWS);
            int lab_ok;
            long got = epoch_rows(&p, rows, &lab_ok, imgs, labs);
            if (got != NROWS || !lab_ok || memcmp(rows, want + (size_t)e * NROWS, sizeof(uint32_t) * NROWS))
                batches_match = 0;
            if (e == 0) memcpy(first_epoch, ln_pipeline_order(&p), sizeof first_epoch);
            if (e == 1)
                CHECK(t, memcmp(first_epoch, ln_pipeline_order(&p), sizeof first_epoch) != 0,
                      "shuffle: epoch 2 order differs from epoch 1");
        }
        char what[160];
        snprintf(what, sizeof what, "shuffle buffer %d: 3 epochs' order == independent reference", bsz);
        CHECK(t, match, what);
        snprintf(what, sizeof what, "shuffle buffer %d: decoded batch rows/labels == reference", bsz);
        CHECK(t, batches_match, what);
        snprintf(what, sizeof what, "shuffle buffer %d: each epoch is a permutation of all rows", bsz);
        CHECK(t, perm, what);
        ln_pipeline_free(&p);
    }

    /* The buffer really mixes: buffer 2 keeps rows near their sampler
     * position, buffer 10000 does not need to (sanity of the reference
     * itself: the two differ). */
    {
        uint32_t a[NROWS], b[NROWS];
        ref_orders(NROWS, 1234, 2, 1, a);
        ref_orders(NROWS, 1234, 10000, 1, b);
        CHECK(t, memcmp(a, b, sizeof a) != 0, "reference: buffer size changes the order");
    }

    /* Same seed -> same order; another seed -> another order; threads 1 vs 2
     * give identical batch bytes. */
    {
        ln_pipeline p1, p2, p3;
        ln_pipeline_config c1 = {32, 0, 1, 10000, 77, 1, 1, 0}, c2 = {32, 0, 1, 10000, 77, 2, 1, 0},
                           c3 = {32, 0, 1, 10000, 78, 1, 1, 0};
        int ok = !ln_pipeline_init(&p1, &ds, &c1, &err) && !ln_pipeline_init(&p2, &ds, &c2, &err) &&
                 !ln_pipeline_init(&p3, &ds, &c3, &err);
        CHECK(t, ok, "three pipelines init");
        if (ok) {
            int same_order = 1, same_bytes = 1, other_seed_differs = 1;
            for (int e = 0; e < 2; e++) {
                ln_pipeline_next_epoch(&p1);
                ln_pipeline_next_epoch(&p2);
                ln_pipeline_next_epoch(&p3);
                same_order &= !memcmp(ln_pipeline_order(&p1), ln_pipeline_order(&p2), sizeof(uint32_t) * NROWS);
                other_seed_differs &= memcmp(ln_pipeline_order(&p1), ln_pipeline_order(&p3), sizeof(uint32_t) * NROWS) != 0;
                for (int b = 0; b < ln_pipeline_num_batches(&p1); b++) {
                    int r1 = ln_pipeline_batch(&p1, b, imgs, labs);
                    int r2 = ln_pipeline_batch(&p2, b, imgs2, labs2);
                    same_bytes &= r1 == r2 && !memcmp(imgs, imgs2, sizeof(float) * (size_t)r1 * 1024) &&
                                  !memcmp(labs, labs2, sizeof(int32_t) * (size_t)r1);
                }
            }
            CHECK(t, same_order, "same seed -> same order (2 epochs)");
            CHECK(t, other_seed_differs, "seed 78 gives another order than seed 77");
            CHECK(t, same_bytes, "threads 1 vs 2: identical batch bytes");
            ln_pipeline_free(&p1);
            ln_pipeline_free(&p2);
            ln_pipeline_free(&p3);
        }
    }

    /* ln_pipeline_rows: file order, any start. */
    {
        ln_pipeline_rows(&ds, 90, 10, 2, imgs, labs);
        int ok = 1;
        for (int i = 0; i < 10; i++) ok &= labs[i] == (90 + i) % 10 && decode_row(imgs + (size_t)i * 1024, lut) == 90 + i;
        CHECK(t, ok, "ln_pipeline_rows(90, 10): rows 90..99 in order");
    }

    free(imgs);
    free(imgs2);
    ln_dataset_free(&ds);
}

/* MindSpore's two Rescale ops on v, each rounded to float32, written so
 * that no compiler can fuse or widen them (independent of the library). */
static float rescale_chain(int v) {
    volatile float r1 = (float)(1.0 / 255.0), r2 = (float)(1.0 / 0.3081), sh = (float)(-0.1307 / 0.3081);
    volatile float a = (float)v * r1;
    volatile float b = a + 0.0f;
    volatile float c = b * r2;
    volatile float d = c + sh;
    return d;
}

/* Batches carry exactly the float32 chain for every pixel value 0..255
 * (the batch path computes it vectorised; the test computes it one op at
 * a time), with 1 and 2 threads. */
static void test_batch_values(test_ctx *t) {
    ln_dataset ds;
    test_dataset(&ds, 256, row_pixel); /* row v: every pixel v */
    for (int threads = 1; threads <= 2; threads++) {
        ln_pipeline p;
        ln_error err;
        ln_pipeline_config c = {.batch_size = 32, .drop_remainder = 1, .shuffle = 0, .buffer_size = 0,
                                .seed = 1, .threads = threads};
        int ok = ln_pipeline_init(&p, &ds, &c, &err) == LN_OK;
        if (ok) {
            ln_pipeline_next_epoch(&p);
            float *imgs = malloc(sizeof(float) * 32 * LN_IMG * LN_IMG);
            int32_t labs[32];
            long bad = 0;
            for (int b = 0; b < 8; b++) {
                ok &= ln_pipeline_batch(&p, b, imgs, labs) == 32;
                for (int i = 0; i < 32; i++)
                    for (int k = 0; k < LN_IMG * LN_IMG; k++) bad += imgs[(size_t)i * 1024 + k] != rescale_chain(b * 32 + i);
            }
            ok &= bad == 0;
            free(imgs);
            ln_pipeline_free(&p);
        }
        char what[120];
        snprintf(what, sizeof what, "batch pixels == float32 Rescale chain for all 256 values (%d thread%s)",
                 threads, threads > 1 ? "s" : "");
        CHECK(t, ok, what);
    }
    ln_dataset_free(&ds);
}

/* Position: save after epoch 3, restore a fresh pipeline to it (same order
 * and fingerprint); other settings, data or a tampered fingerprint refused
 * naming what differs; a pipeline already past the epoch refused. */
static void test_position(test_ctx *t) {
    ln_dataset ds, other;
    test_dataset(&ds, 100, row_pixel);
    test_dataset(&other, 99, row_pixel);
    const ln_pipeline_config c = {.batch_size = 10, .drop_remainder = 1, .shuffle = 1, .buffer_size = 16,
                                  .seed = 9, .threads = 1};
    ln_pipeline a, b;
    ln_error err;
    if (ln_pipeline_init(&a, &ds, &c, &err)) { CHECK(t, 0, "pipeline init"); return; }
    for (int e = 0; e < 3; e++) ln_pipeline_next_epoch(&a);
    ln_pipeline_pos pos, again;
    ln_pipeline_save(&a, &pos);
    CHECK(t, pos.seed == 9 && pos.batch_size == 10 && pos.shuffle == 1 && pos.rows == 100,
          "save: the settings and the number of rows");
    int ok = !ln_pipeline_init(&b, &ds, &c, &err) && !ln_pipeline_restore(&b, &pos, 3, &err);
    if (ok) ln_pipeline_save(&b, &again);
    CHECK(t, ok && ln_pipeline_epoch(&b) == 3 && !memcmp(ln_pipeline_order(&a), ln_pipeline_order(&b), 100 * 4) &&
                 !memcmp(&pos, &again, sizeof pos),
          "restore: a fresh pipeline brought to epoch 3 has the saved order and fingerprint");
    ln_pipeline_free(&b);
    struct { const char *what, *needle; int seed, batch, shuffle, small, tamper; ln_status want; } cases[] = {
        {"another seed: LN_E_INPUT naming the seed", "seed", 10, 10, 1, 0, 0, LN_E_INPUT},
        {"another batch size: LN_E_INPUT naming the batch size", "batch", 9, 8, 1, 0, 0, LN_E_INPUT},
        {"no shuffling: LN_E_INPUT naming shuffling", "shuffl", 9, 10, 0, 0, 0, LN_E_INPUT},
        {"99 rows instead of 100: LN_E_INPUT naming the count", "100", 9, 10, 1, 1, 0, LN_E_INPUT},
        {"a tampered order hash: LN_E_INPUT, epoch 3's data order differs", "epoch 3", 9, 10, 1, 0, 1, LN_E_INPUT},
        {"a tampered generator state: LN_E_INPUT", "epoch 3", 9, 10, 1, 0, 2, LN_E_INPUT},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ln_pipeline_config ck = c;
        ck.seed = (uint32_t)cases[k].seed, ck.batch_size = cases[k].batch, ck.shuffle = cases[k].shuffle;
        ln_pipeline_pos q = pos;
        if (cases[k].tamper == 1) q.order_hash ^= 1;
        if (cases[k].tamper == 2) q.rng[100] ^= 1;
        err.msg[0] = 0;
        ln_status s = LN_E_NOMEM;
        if (!ln_pipeline_init(&b, cases[k].small ? &other : &ds, &ck, &err)) {
            s = ln_pipeline_restore(&b, &q, 3, &err);
            ln_pipeline_free(&b);
        }
        CHECK(t, s == cases[k].want && strstr(err.msg, cases[k].needle) && !strchr(err.msg, '\n'), cases[k].what);
    }
    ln_pipeline_next_epoch(&a); /* epoch 4: past the saved one */
    CHECK(t, ln_pipeline_restore(&a, &pos, 3, &err) == LN_E_USAGE, "a pipeline past the saved epoch: LN_E_USAGE");
    ln_pipeline_free(&a);
    ln_dataset_free(&ds);
    ln_dataset_free(&other);
}

int main(void) {
    test_ctx t = {"test_rng", 0, 0};
    test_batch_values(&t);
    test_generators(&t);
    test_shuffle_lemire(&t);
    test_shuffle_downscale(&t);
    test_pipeline(&t);
    test_position(&t);
    return test_finish(&t);
}
