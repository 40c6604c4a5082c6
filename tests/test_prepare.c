/* test_prepare.c - MNIST-style preparation of user pictures (prepare.h):
 * hand-made cases for each step (polarity, levels, crop, scale, centring,
 * the no-contrast error), MNIST test digits that must come back where they
 * are, and the same digits written as PNG files (image.h's writer) -
 * inverted and enlarged - that must prepare to exactly the same 28x28 as
 * the originals, and give the same model.predict output; the picture
 * `lenet inspect --png` writes (a digit framed under its title) and a
 * solid block on a page (step 2a). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "lenet/image.h"
#include "lenet/model.h"
#include "lenet/prepare.h"
#include "lenet/samples.h"
#include "lenet/transform.h"

static void test_hand(test_ctx *t) {
    ln_error err;
    ln_prepare_info inf;
    uint8_t out[784];
    /* 100x60 white page with a black 40x10 bar at x 30..69, y 20..29:
     * inverted; box 40x10 -> scaled to 20x5; centre of mass (10, 2.5) in
     * pixel-centre units -> offset round(14.5 - 10) = 5 (x), round(14.5 -
     * 2.5) = 12 (y): the bar covers x 5..24, y 12..16, all 255. */
    static uint8_t page[60 * 100];
    memset(page, 255, sizeof page);
    for (int y = 20; y < 30; y++)
        for (int x = 30; x < 70; x++) page[y * 100 + x] = 0;
    ln_status s = ln_prepare_digit(page, 100, 60, "page", out, &inf, &err);
    CHECK(t, s == LN_OK && inf.inverted == 1 && inf.background == 0, "dark ink on white: inverted, background 0");
    CHECK(t, inf.box_x == 30 && inf.box_y == 20 && inf.box_w == 40 && inf.box_h == 10, "crop box = the bar (30, 20, 40x10)");
    CHECK(t, inf.scaled_w == 20 && inf.scaled_h == 5, "scaled to fit 20x20 keeping the aspect: 20x5");
    CHECK(t, inf.offset_x == 5 && inf.offset_y == 12, "centred by mass: offset (5, 12)");
    int ok = 1;
    for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++) ok &= out[y * 28 + x] == ((x >= 5 && x < 25 && y >= 12 && y < 17) ? 255 : 0);
    CHECK(t, s == LN_OK && ok, "the 28x28 holds exactly the 20x5 bar at (5, 12), 255 on 0");

    /* Levels: gray 100 background, ink 180 (light on dark, not inverted):
     * (v - 100) * 255 / 80 -> ink 255, background 0. A 2x2 dot at (3, 3)
     * in 8x8: box 2x2 -> scaled x10 to 20x20 (bilinear of a constant = 255);
     * its centre of mass, index 9.5, goes to 14: offset round(4.5) = 5. */
    uint8_t dot[64];
    memset(dot, 100, sizeof dot);
    dot[3 * 8 + 3] = dot[3 * 8 + 4] = dot[4 * 8 + 3] = dot[4 * 8 + 4] = 180;
    s = ln_prepare_digit(dot, 8, 8, "dot", out, &inf, &err);
    int all = 1, cnt = 0;
    for (int i = 0; i < 784; i++) cnt += out[i] != 0, all &= out[i] == 0 || out[i] == 255;
    CHECK(t, s == LN_OK && !inf.inverted && inf.background == 100 && inf.scaled_w == 20 && inf.scaled_h == 20 &&
                 cnt == 400 && all && inf.offset_x == 5 && inf.offset_y == 5,
          "light on gray: levels stretched to 0/255, a 2x2 dot enlarged to 20x20 at (5, 5)");

    /* A solid black 40x40 block on a white 100x100 page: a frame with
     * nothing inside, so the picture is prepared as a whole: the block is
     * the ink, scaled to 20x20 and centred. */
    static uint8_t blk[100 * 100];
    memset(blk, 255, sizeof blk);
    for (int y = 30; y < 70; y++)
        for (int x = 20; x < 60; x++) blk[y * 100 + x] = 0;
    int fr[4];
    s = ln_prepare_digit_framed(blk, 100, 100, "block", out, &inf, fr, &err);
    cnt = 0;
    for (int i = 0; i < 784; i++) cnt += out[i] == 255;
    CHECK(t, s == LN_OK && fr[2] == 0 && inf.box_x == 20 && inf.box_w == 40 && cnt == 400,
          "a solid block on a page: no digit in it as a frame, prepared as a whole (a 20x20 square)");
    /* A bold bar, 16 x 80 on a white 48 x 100 page, with a faint mark (40
     * levels) in its middle: a frame by its shape, but what it holds has a
     * sixth of the page's contrast: no digit, the bar is the digit. */
    static uint8_t bar[100 * 48];
    memset(bar, 255, sizeof bar);
    for (int y = 10; y < 90; y++)
        for (int x = 16; x < 32; x++) bar[y * 48 + x] = (y >= 40 && y < 60 && x >= 21 && x < 27) ? 40 : 0;
    s = ln_prepare_digit_framed(bar, 48, 100, "bar", out, &inf, fr, &err);
    CHECK(t, s == LN_OK && fr[2] == 0 && inf.box_x == 16 && inf.box_y == 10 && inf.box_w == 16 && inf.box_h == 80,
          "a bold bar with a faint mark in it: not a frame (too little contrast inside), prepared as a whole");

    /* No contrast. */
    uint8_t flat[16];
    memset(flat, 128, sizeof flat);
    flat[5] = 140;
    s = ln_prepare_digit(flat, 4, 4, "flat.pgm", out, NULL, &err);
    CHECK(t, s == LN_E_INPUT && strstr(err.msg, "flat.pgm") && strstr(err.msg, "no digit"),
          "a picture with 12 levels of contrast: LN_E_INPUT, 'no digit found', names the file");
    /* A 1-pixel image (degenerate sizes must not crash). */
    uint8_t one = 200;
    CHECK(t, ln_prepare_digit(&one, 1, 1, "one", out, NULL, &err) == LN_E_INPUT, "1x1 picture: no contrast, rejected");
}

static void test_mnist(test_ctx *t) {
    ln_dataset d;
    ln_error err;
    if (ln_dataset_load(test_mnist_dir(), "test", &d, &err)) {
        printf("  MNIST not found (%s): skipped\n", err.msg);
        return;
    }
    /* MNIST digits are already prepared: most must stay put. */
    int same = 0, moved = 0;
    const int N = 1000;
    for (int i = 0; i < N; i++) {
        uint8_t out[784];
        ln_prepare_info inf;
        const uint8_t *src = d.images.pixels + (size_t)i * 784;
        if (ln_prepare_digit(src, 28, 28, "mnist", out, &inf, &err)) continue;
        same += !memcmp(out, src, 784);
        moved += inf.offset_x != inf.box_x || inf.offset_y != inf.box_y;
    }
    printf("    first %d MNIST test digits: %d unchanged byte for byte, %d moved\n", N, same, moved);
    /* ... and none is taken for a picture on a page (step 2a): as it is,
     * enlarged x3, or cropped to its ink with a 1-pixel margin, inverted
     * and enlarged x4 (a bold stroke then spans the picture; what it holds
     * touches its sides). Without the page-all-round rule 30 of the x3, and
     * without the clear-of-the-sides rule 6 of the cropped ones, were. */
    int framed = 0;
    static uint8_t big[120 * 120];
    for (int i = 0; i < (int)d.images.count; i++) {
        uint8_t out[784];
        ln_prepare_info inf;
        int fr[4];
        const uint8_t *src = d.images.pixels + (size_t)i * 784;
        framed += !ln_prepare_digit_framed(src, 28, 28, "mnist", out, &inf, fr, &err) && fr[2];
        for (int y = 0; y < 84; y++)
            for (int x = 0; x < 84; x++) big[y * 84 + x] = src[(y / 3) * 28 + x / 3];
        framed += !ln_prepare_digit_framed(big, 84, 84, "mnist x3", out, &inf, fr, &err) && fr[2];
        int x0 = 28, y0 = 28, x1 = -1, y1 = -1;
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++)
                if (src[y * 28 + x] >= 32) {
                    x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
                    y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
                }
        if (x1 < 0) continue;
        x0 -= x0 > 0, y0 -= y0 > 0, x1 += x1 < 27, y1 += y1 < 27;
        const int W = (x1 - x0 + 1) * 4, H = (y1 - y0 + 1) * 4;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) big[y * W + x] = (uint8_t)(255 - src[(y0 + y / 4) * 28 + x0 + x / 4]);
        framed += !ln_prepare_digit_framed(big, W, H, "mnist cropped x4", out, &inf, fr, &err) && fr[2];
    }
    CHECK(t, framed == 0, "no MNIST test digit is taken for a framed picture (all 10,000: as they are, x3, cropped x4)");
    CHECK(t, moved <= N / 100 && same >= N * 6 / 10,
          "MNIST digits come back in place (<= 1% moved, >= 60% byte-identical)");

    /* PNG files: inverted 28x28 and inverted x3 (84x84). */
    char dir[] = "/tmp/lenet_prepare_XXXXXX";
    if (!mkdtemp(dir)) { CHECK(t, 0, "temp dir"); ln_dataset_free(&d); return; }
    int exact = 1, read_ok = 1;
    ln_model m;
    ln_model_config mc = {.conv_bias = 1, .batch_size = 20, .lr = 0.01f, .momentum = 0.9f, .loss_scale = 1.f,
                          .seed = 11, .threads = 1};
    static float xa[20 * 1024], xb[20 * 1024], pa[200], pb[200];
    for (int i = 0; i < 20; i++) {
        const uint8_t *src = d.images.pixels + (size_t)i * 784;
        uint8_t ref[784], got[784];
        ln_prepare_digit(src, 28, 28, "mnist", ref, NULL, &err);
        ln_transform_image(ref, 28, 28, xa + i * 1024);
        for (int scale = 1; scale <= 3; scale += 2) {
            ln_image im;
            if (ln_image_alloc(&im, 28 * scale, 28 * scale, 1, 0, &err)) { read_ok = 0; continue; }
            for (int y = 0; y < 28 * scale; y++)
                for (int x = 0; x < 28 * scale; x++)
                    im.data[y * 28 * scale + x] = (uint8_t)(255 - src[(y / scale) * 28 + x / scale]);
            char path[128];
            snprintf(path, sizeof path, "%s/%d_x%d.png", dir, i, scale);
            ln_image back;
            int ok = !ln_image_write_png(path, &im, &err) && !ln_image_read_gray(path, &back, &err);
            ln_image_free(&im);
            if (!ok) { read_ok = 0; continue; }
            ok = !ln_prepare_digit(back.data, back.width, back.height, path, got, NULL, &err);
            ln_image_free(&back);
            exact &= ok && !memcmp(got, ref, 784);
            if (scale == 3) ln_transform_image(got, 28, 28, xb + i * 1024);
            unlink(path);
        }
    }
    /* The picture `lenet inspect --png` writes: the digit enlarged x8 in a
     * gray 1-pixel frame under its title, black on white. Read back as
     * `lenet predict` reads it, it must prepare to the digit's own 28x28. */
    int titled_ok = 1, titled_exact = 1, titled_frame = 1;
    for (int i = 0; i < 50; i++) {
        const uint8_t *src = d.images.pixels + (size_t)i * 784;
        uint8_t ref[784], got[784];
        ln_prepare_info inf;
        ln_prepare_digit(src, 28, 28, "mnist", ref, NULL, &err);
        ln_image im = {.width = 28, .height = 28, .channels = 1, .data = (uint8_t *)src}, pic, back;
        char path[128], title[32];
        snprintf(path, sizeof path, "%s/titled%d.png", dir, i);
        snprintf(title, sizeof title, "number: %d", d.labels.labels[i]);
        if (ln_sample_picture(&im, title, 224, &pic, &err)) { titled_ok = 0; continue; }
        const int ok = !ln_image_write_png(path, &pic, &err) && !ln_image_read_gray(path, &back, &err);
        ln_image_free(&pic);
        unlink(path);
        if (!ok) { titled_ok = 0; continue; }
        int fr[4];
        const int prep = !ln_prepare_digit_framed(back.data, back.width, back.height, path, got, &inf, fr, &err);
        titled_exact &= prep && !memcmp(got, ref, 784);
        titled_frame &= prep && fr[2] == 224 && fr[3] == 224 && fr[1] > 20;
        ln_image_free(&back);
    }
    rmdir(dir);
    CHECK(t, titled_ok, "50 test digits drawn as `inspect --png` draws them, written and read back");
    CHECK(t, titled_frame, "... each found as a 224x224 picture below its title");
    CHECK(t, titled_exact, "... and prepared to exactly the 28x28 of the original digit");
    CHECK(t, read_ok, "20 test digits written as PNG (inverted, and inverted x3 = 84x84) and read back");
    CHECK(t, exact, "... each prepares to exactly the 28x28 of the original digit");
    if (ln_model_init(&m, &mc, &err) == LN_OK) {
        ln_model_predict(&m, xa, 20, pa);
        ln_model_predict(&m, xb, 20, pb);
        double sum = 0;
        for (int k = 0; k < 10; k++) sum += pa[k];
        CHECK(t, !memcmp(pa, pb, sizeof pa) && sum > 0.9999 && sum < 1.0001,
              "model.predict: the PNG path gives the same probabilities; each row sums to 1");
        ln_model_free(&m);
    }
    ln_dataset_free(&d);
}

int main(void) {
    test_ctx t = {"test_prepare", 0, 0};
    test_hand(&t);
    test_mnist(&t);
    return test_finish(&t);
}
