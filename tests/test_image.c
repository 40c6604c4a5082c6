/* test_image.c - images in and out, drawing, samples pictures, statistics:
 *   - every kind of PNG/PGM the seed corpus holds (fuzz/corpus/fuzz_image,
 *     written by fuzz/make_corpus.py) decodes to the gray values computed
 *     here from the same recipe (16-bit scaling, luma, alpha over white,
 *     palette + tRNS, Adam7, PGM maxval scaling);
 *   - PNG writing round-trips, is atomic (no temporary left behind, an
 *     unwritable path is LN_E_SYSTEM and creates nothing);
 *   - the memory a hostile header can make a read allocate is bounded: the
 *     readers run in a child limited to a 256 MB address space (checked to
 *     be in force) and must reject the files cleanly (not under ASan);
 *   - drawing is clipped (far-away coordinates are safe and fast), text and
 *     scaled blits put pixels where they belong; the font table is sound;
 *   - pixel mean / std and label counts on known data. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "lenet/draw.h"
#include "lenet/font.h"
#include "lenet/idx.h"
#include "lenet/image.h"
#include "lenet/samples.h"
#include "lenet/stats.h"


#define W 7
#define H 5
static const char *corpus = "fuzz/corpus/fuzz_image";

static int luma(int r, int g, int b) { return (int)((19595u * r + 38470u * g + 7471u * b + 32768u) >> 16); }
static int over_white(int g, int a) { return (g * a + 255 * (255 - a) + 127) / 255; }
static int grid_value(int x, int y) { return (x * 40 + y * 25) % 256; } /* make_corpus.py's test pattern */

typedef int (*expect_fn)(int v);
static int e_same(int v) { return v; }
static int e_1bit(int v) { return (v >> 7) * 255; }
static int e_4bit(int v) { return (v >> 4) * 17; }
static int e_p2(int v) { return ((v >> 4) * 255 + 7) / 15; }
static int e_rgb(int v) { return luma(v, 255 - v, v / 2); }
static int e_rgba(int v) { return over_white(luma(v, 0, 255 - v), v); }
static int e_trns(int v) { return v == 0 ? 255 : v; } /* gray 0 is transparent: white */
static int e_ga16(int v) { return over_white(v, ((65535 - v) * 255 + 32767) / 65535); }
static int e_pal(int v) {
    int i = v >> 6, a = i == 0 ? 0 : i == 1 ? 128 : 255;
    return over_white(luma(i * 80, 255 - i * 60, i * 20), a);
}

static void test_decode_kinds(test_ctx *t) {
    static const struct { const char *file; expect_fn f; int tol; } cases[] = {
        {"gray8.png", e_same, 0},      {"gray16.png", e_same, 0},    {"gray8-adam7.png", e_same, 0},
        {"gray1.png", e_1bit, 0},      {"gray4.png", e_4bit, 0},     {"gray8-trns.png", e_trns, 0},
        {"rgb8.png", e_rgb, 0},        {"rgba8.png", e_rgba, 0},     {"ga16.png", e_ga16, 1},
        {"palette2.png", e_pal, 0},    {"p5.pgm", e_same, 0},        {"p5-16.pgm", e_same, 0},
        {"p2.pgm", e_p2, 0}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char path[512], what[256];
        snprintf(path, sizeof path, "%s/%s", corpus, cases[c].file);
        ln_image im;
        ln_error err = {0};
        ln_status s = ln_image_read_gray(path, &im, &err);
        int ok = s == LN_OK && im.width == W && im.height == H && im.channels == 1;
        int worst = 0;
        for (int y = 0; ok && y < H; y++)
            for (int x = 0; x < W; x++) {
                int d = abs(im.data[y * W + x] - cases[c].f(grid_value(x, y)));
                if (d > worst) worst = d;
            }
        snprintf(what, sizeof what, "%s decodes to %dx%d gray with the expected values (max diff %d)", cases[c].file,
                 W, H, worst);
        CHECK(t, ok && worst <= cases[c].tol, what);
        if (s) printf("  %s\n", err.msg);
        ln_image_free(&im);
    }
    /* P2 with comments between samples, maxval 1 */
    const char p2[] = "P2 # c\n3 1 # c\n1\n0 # black\n1 0\n";
    ln_image im;
    ln_error err = {0};
    ln_status s = ln_image_decode_gray((const uint8_t *)p2, sizeof p2 - 1, "mem", &im, &err);
    CHECK(t, s == LN_OK && im.width == 3 && im.data[0] == 0 && im.data[1] == 255 && im.data[2] == 0,
          "P2 with comments anywhere and maxval 1: 0 255 0");
    ln_image_free(&im);
}

static void test_write(test_ctx *t, const char *tmp) {
    ln_image g, c, back;
    ln_error err = {0};
    char p[512];
    ln_image_alloc(&g, 33, 17, 1, 0, &err);
    for (int i = 0; i < 33 * 17; i++) g.data[i] = (uint8_t)(i * 7);
    snprintf(p, sizeof p, "%s/gray.png", tmp);
    ln_status s = ln_image_write_png(p, &g, &err);
    s = s ? s : ln_image_read_gray(p, &back, &err);
    CHECK(t, s == LN_OK && back.width == 33 && back.height == 17 && !memcmp(back.data, g.data, 33 * 17),
          "gray PNG written and read back: identical");
    ln_image_free(&back);
    ln_image_alloc(&c, 4, 3, 3, 0, &err);
    for (int i = 0; i < 12 * 3; i++) c.data[i] = (uint8_t)(i * 23 + 5);
    s = ln_image_write_png(p, &c, &err); /* replaces gray.png */
    s = s ? s : ln_image_read_gray(p, &back, &err);
    int ok = s == LN_OK && back.width == 4 && back.height == 3;
    for (int i = 0; ok && i < 12; i++) ok = back.data[i] == luma(c.data[3 * i], c.data[3 * i + 1], c.data[3 * i + 2]);
    CHECK(t, ok, "RGB PNG written over an existing file and read back: its luma");
    ln_image_free(&back);
    DIR *d = opendir(tmp);
    int others = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_name[0] != '.' && strcmp(e->d_name, "gray.png")) others++;
    if (d) closedir(d);
    CHECK(t, others == 0, "no temporary file left next to the PNG");
    snprintf(p, sizeof p, "%s/no-such-dir/x.png", tmp);
    memset(&err, 0, sizeof err);
    s = ln_image_write_png(p, &g, &err);
    struct stat st;
    CHECK(t, s == LN_E_SYSTEM && strstr(err.msg, p) && !strchr(err.msg, '\n') && stat(p, &st) != 0,
          "PNG into a missing folder: LN_E_SYSTEM naming the path, nothing created");
    ln_image bad = {0};
    CHECK(t, ln_image_write_png(p, &bad, &err) == LN_E_USAGE, "writing an empty image: LN_E_USAGE");
    CHECK(t, ln_image_alloc(&bad, 16385, 1, 1, 0, &err) == LN_E_USAGE && !bad.data &&
                 ln_image_alloc(&bad, 4096, 4097, 1, 0, &err) == LN_E_USAGE && ln_image_alloc(&bad, 4, 4, 2, 0, &err),
          "ln_image_alloc refuses sizes above the limits and 2 channels");
    ln_image_free(&g);
    ln_image_free(&c);
}

/* In a child limited to 256 MB of address space: a 1 GB malloc must fail
 * (the limit is in force), and every hostile file must be rejected as bad
 * input - not crash, not run out of memory. */
static void test_bounded_memory(test_ctx *t) {
    if (TEST_UNDER_ASAN) {
        printf("  skip  address-space limit under ASan (its shadow memory needs more)\n");
        return;
    }
    static const char *const images[] = {"png-plausible-4096x4096-tiny.png", "png-huge-16384x16384.png",
                                         "pgm-16384x16384.pgm", "png-chunk-length-huge.png", "pgm-width-huge.pgm",
                                         "png-text-chunk-2gb.png"};
    static const char *const idx[] = {"images-count-plausible-file-tiny.gz", "images-count-plausible-file-tiny",
                                      "images-product-huge", "images-count-huge"};
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl = {256u << 20, 256u << 20};
        if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(5);
        void *big = malloc(1u << 30);
        if (big) _exit(6); /* limit not in force: the test would prove nothing */
        char p[512];
        for (size_t i = 0; i < sizeof images / sizeof images[0]; i++) {
            snprintf(p, sizeof p, "%s/malformed/%s", test_data_dir(), images[i]);
            ln_image im;
            ln_error err = {0};
            if (ln_image_read_gray(p, &im, &err) != LN_E_INPUT) _exit(10 + (int)i);
        }
        for (size_t i = 0; i < sizeof idx / sizeof idx[0]; i++) {
            snprintf(p, sizeof p, "%s/malformed/%s", test_data_dir(), idx[i]);
            ln_idx_images im;
            ln_error err = {0};
            if (ln_idx_read_images(p, &im, &err) != LN_E_INPUT) _exit(20 + (int)i);
        }
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(t, WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "hostile image / IDX headers rejected within a 256 MB address space (1 GB malloc checked to fail)");
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
        printf("  child: exited %d code %d signal %d\n", WIFEXITED(st), WEXITSTATUS(st),
               WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static int px(const ln_image *im, int x, int y, int ch) { return im->data[(y * im->width + x) * im->channels + ch]; }

static void test_draw(test_ctx *t) {
    CHECK(t, ln_font_selfcheck() == 0, "font table: 95 glyphs in ASCII order, 8 rows of 5 '.'/'#' each");
    ln_image im;
    ln_error err;
    ln_image_alloc(&im, 40, 30, 3, 255, &err);
    ln_draw_fill_rect(&im, -5, -5, 10, 8, LN_RGB(255, 0, 0));
    CHECK(t, px(&im, 0, 0, 0) == 255 && px(&im, 0, 0, 1) == 0 && px(&im, 4, 2, 1) == 0 && px(&im, 5, 2, 1) == 255 &&
                 px(&im, 4, 3, 1) == 255,
          "fill_rect clipped at the top-left corner covers exactly [0,5) x [0,3)");
    clock_t c0 = clock();
    ln_draw_line(&im, -2000000000, -2000000000, 2000000000, 2000000000, 1, LN_RGB(0, 0, 255));
    ln_draw_line(&im, 0, 0, 0, 0, 1000000000, LN_RGB(0, 0, 255));
    ln_draw_fill_rect(&im, 2147483000, 2147483000, 2147483647, 2147483647, LN_RGB(0, 0, 0));
    ln_draw_text(&im, 2147483000, -2147483000, "far away", 1000, LN_RGB(0, 0, 0));
    double dt = (double)(clock() - c0) / CLOCKS_PER_SEC;
    CHECK(t, px(&im, 20, 20, 2) == 255 && px(&im, 20, 20, 0) == 0 && dt < 1.0,
          "lines and text with far-away coordinates or huge pens: clipped, fast");
    ln_image_free(&im);

    ln_image_alloc(&im, 40, 20, 1, 0, &err);
    int w = ln_draw_text(&im, 1, 1, "1:", 2, LN_RGB(255, 255, 255));
    /* '1' row 0 is "..#..": pixel (2, 0) -> block (1+4..1+6, 1..3) at scale 2 */
    CHECK(t, w == (2 * 6 - 1) * 2 && im.data[1 * 40 + 5] == 255 && im.data[1 * 40 + 1] == 0 &&
                 im.data[2 * 40 + 6] == 255 && ln_text_width("number: 5", 3) == 159 && ln_text_height(3) == 24,
          "text: glyph pixels become scale x scale blocks; widths and heights");
    ln_image_free(&im);

    uint8_t src4[4] = {10, 20, 30, 40};
    ln_image s2 = {2, 2, 1, src4};
    ln_image_alloc(&im, 8, 8, 3, 0, &err);
    ln_draw_image(&im, 2, 2, 4, 4, &s2, NULL);
    CHECK(t, px(&im, 2, 2, 0) == 10 && px(&im, 3, 3, 1) == 10 && px(&im, 4, 2, 2) == 20 && px(&im, 5, 5, 0) == 40 &&
                 px(&im, 1, 1, 0) == 0 && px(&im, 6, 6, 0) == 0,
          "a 2x2 image drawn at 4x4: nearest neighbour 2x2 blocks, nothing outside");
    ln_rgb cmap[256];
    for (int i = 0; i < 256; i++) cmap[i] = LN_RGB(i, 0, 255 - i);
    ln_draw_image(&im, 0, 0, 2, 2, &s2, cmap);
    CHECK(t, px(&im, 1, 1, 0) == 40 && px(&im, 1, 1, 2) == 215, "colour map applied to a gray image");
    ln_draw_image(&im, -2147483640, -2147483640, 2147483647, 2147483647, &s2, NULL); /* ends at x = y = 7 */
    CHECK(t, px(&im, 6, 6, 0) == 40 && px(&im, 7, 7, 0) == 0 && px(&im, 0, 6, 2) == 40,
          "an image drawn from far outside: only its visible corner, from the right source pixel");
    ln_image_free(&im);
}

static void test_samples(test_ctx *t) {
    uint8_t digit[28 * 28];
    for (int i = 0; i < 28 * 28; i++) digit[i] = (uint8_t)i;
    ln_image src = {28, 28, 1, digit}, pic;
    ln_error err;
    int fw, fh;
    ln_sample_fit(28, 28, 224, &fw, &fh);
    int ok = fw == 224 && fh == 224;
    ln_sample_fit(20, 24, 56, &fw, &fh);
    ok &= fw == 40 && fh == 48;
    ln_sample_fit(1000, 500, 100, &fw, &fh);
    ok &= fw == 100 && fh == 50;
    CHECK(t, ok, "fit: 28x28 -> 224 (x8), 20x24 -> 40x48 (x2), 1000x500 -> 100x50");
    ln_status s = ln_sample_picture(&src, "number: 5", 224, &pic, &err);
    CHECK(t, s == LN_OK && pic.width >= 224 && pic.height > 224 + 24 && pic.channels == 3,
          "titled picture of a 28x28 image: RGB, room for the x8 image and a title");
    ln_image_free(&pic);
    ln_grid_cell cells[100];
    for (int i = 0; i < 100; i++) cells[i] = (ln_grid_cell){digit, "7", LN_RGB(0, 0, 0)};
    s = ln_sample_grid(cells, 100, 28, 28, 10, 56, &pic, &err);
    CHECK(t, s == LN_OK && pic.width > 10 * 56 && pic.width < 10 * 80 && pic.height > 10 * (56 + 16),
          "grid of 100 28x28 images, 10 per row");
    ln_image_free(&pic);
    s = ln_sample_grid(cells, 100, 4096, 4096, 10, 4096, &pic, &err);
    CHECK(t, s == LN_E_USAGE && !pic.data, "a grid too large to allocate: LN_E_USAGE, nothing allocated");
}

static void test_stats(test_ctx *t) {
    uint8_t a[4] = {0, 255, 0, 255};
    ln_pixel_stats s = ln_pixel_stats_compute(a, 4);
    CHECK(t, s.n == 4 && s.mean == 0.5 && s.std == 0.5, "pixels 0,255,0,255: mean 0.5, std 0.5");
    uint8_t b[3] = {51, 51, 51};
    s = ln_pixel_stats_compute(b, 3);
    CHECK(t, s.mean > 0.19999 && s.mean < 0.20001 && s.std == 0, "constant 51: mean 0.2, std 0");
    uint8_t lb[7] = {0, 1, 1, 9, 9, 9, 12};
    uint64_t cnt[10];
    ln_label_counts(lb, 7, cnt, 10);
    CHECK(t, cnt[0] == 1 && cnt[1] == 2 && cnt[9] == 3 && cnt[5] == 0, "label counts (a label >= 10 not counted)");
}

int main(void) {
    test_ctx t = {"test_image", 0, 0};
    char tmp[64];
    if (test_make_tmpdir(tmp, sizeof tmp, "image")) return 1;
    test_decode_kinds(&t);
    test_write(&t, tmp);
    test_bounded_memory(&t);
    test_draw(&t);
    test_samples(&t);
    test_stats(&t);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return test_finish(&t);
}
