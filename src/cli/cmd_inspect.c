/* cmd_inspect.c - `lenet inspect`: the tutorial's data-set check. Prints
 * what the tutorial prints (size, item keys, image shape, label), per-class
 * counts and the pixel mean / std, and shows item N: as a PNG titled
 * "number: N" (--png), the first K items as a labelled grid (--grid), or
 * in the terminal. Nothing here assumes MNIST beyond the IDX header. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lenet/fileio.h"
#include "lenet/idx.h"
#include "lenet/image.h"
#include "lenet/samples.h"
#include "lenet/stats.h"

typedef struct {
    const char *data, *split, *png, *grid, *image;
    long index, count;
    int json;
} inspect_opts;

static void usage(void) {
    puts("usage: lenet inspect [options]\n"
         "  --data DIR          data set root (train/ and test/) or flat folder (default datasets/MNIST_Data)\n"
         "  --split train|test  which split (default train)\n"
         "  --index N           the item to show (default 0, the first in file order)\n"
         "  --png FILE          write item N enlarged x8 with the title 'number: <label>'\n"
         "  --grid FILE         write the first K items as a labelled grid\n"
         "  --count K           items in the grid (default 100)\n"
         "  --image FILE        inspect a PNG or PGM image instead of a data set (as `predict` will read it)\n"
         "  --json              one JSON object on stdout (no terminal preview)\n"
         "Without --png or --grid, item N (or the --image) is drawn in the terminal.");
}

static int parse(int argc, char **argv, inspect_opts *o) {
    *o = (inspect_opts){.data = "datasets/MNIST_Data", .split = "train", .index = 0, .count = 100};
    enum { O_DATA = 256, O_SPLIT, O_INDEX, O_PNG, O_GRID, O_COUNT, O_IMAGE, O_JSON, O_HELP };
    static const struct option opts[] = {
        {"data", 1, 0, O_DATA}, {"split", 1, 0, O_SPLIT}, {"index", 1, 0, O_INDEX}, {"png", 1, 0, O_PNG},
        {"grid", 1, 0, O_GRID}, {"count", 1, 0, O_COUNT}, {"image", 1, 0, O_IMAGE}, {"json", 0, 0, O_JSON}, {"help", 0, 0, O_HELP},
        {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = cli_getopt(argc, argv, "", opts)) != -1) {
        switch (c) {
        case O_DATA: o->data = optarg; break;
        case O_SPLIT:
            if (strcmp(optarg, "train") && strcmp(optarg, "test")) {
                cli_error("not train or test: --split '%s'", optarg);
                return 2;
            }
            o->split = optarg;
            break;
        case O_INDEX: if (cli_int("--index", optarg, 0, (long)LN_IDX_MAX_COUNT - 1, &o->index)) return 2; break;
        case O_PNG: o->png = optarg; break;
        case O_GRID: o->grid = optarg; break;
        case O_COUNT: if (cli_int("--count", optarg, 1, 10000, &o->count)) return 2; break;
        case O_IMAGE: o->image = optarg; break;
        case O_JSON: o->json = 1; break;
        case O_HELP: usage(); return -1;
        default: return 2;
        }
    }
    if (optind < argc) {
        cli_error("unexpected argument '%s'; see `lenet inspect --help`", argv[optind]);
        return 2;
    }
    if (o->png && !*o->png) { cli_error("empty file name: --png; give a file name"); return 2; }
    if (o->grid && !*o->grid) { cli_error("empty file name: --grid; give a file name"); return 2; }
    if (o->image && o->grid) { cli_error("options exclude each other: --grid and --image; --grid shows a data set, --image one picture"); return 2; }
    return 0;
}

/* A JSON string (cli_json_str) on stdout. */
static void json_str(const char *s) { cli_json_str(stdout, s); }

static int write_png(const char *path, const ln_dataset *ds, long index, ln_error *err) {
    const ln_idx_images *im = &ds->images;
    size_t plane = (size_t)im->rows * im->cols;
    ln_image src = {(int)im->cols, (int)im->rows, 1, im->pixels + (size_t)index * plane};
    char title[32];
    snprintf(title, sizeof title, "number: %u", ds->labels.labels[index]);
    ln_image pic;
    ln_status s = ln_sample_picture(&src, title, 224, &pic, err);
    if (!s) s = ln_image_write_png(path, &pic, err);
    ln_image_free(&pic);
    return s;
}

static int write_grid(const char *path, const ln_dataset *ds, long count, ln_error *err) {
    const ln_idx_images *im = &ds->images;
    size_t plane = (size_t)im->rows * im->cols;
    ln_grid_cell *cells = calloc((size_t)count, sizeof *cells);
    char (*cap)[8] = calloc((size_t)count, sizeof *cap);
    ln_status s = LN_OK;
    if (!cells || !cap) s = ln_fail(err, LN_E_NOMEM, "out of memory for --grid");
    for (long i = 0; !s && i < count; i++) {
        snprintf(cap[i], sizeof cap[i], "%u", ds->labels.labels[i]);
        cells[i] = (ln_grid_cell){im->pixels + (size_t)i * plane, cap[i], LN_RGB(0, 0, 160)};
    }
    int per_row = 1;
    while ((long)per_row * per_row < count) per_row++; /* a square-ish grid: 100 -> 10 x 10 */
    ln_image pic = {0};
    if (!s) s = ln_sample_grid(cells, (int)count, (int)im->rows, (int)im->cols, per_row, 56, &pic, err);
    if (!s) s = ln_image_write_png(path, &pic, err);
    ln_image_free(&pic);
    free(cells);
    free(cap);
    return s;
}

/* --image FILE: the image as the library reads it (8-bit gray). */
static int inspect_image(const inspect_opts *o) {
    ln_error err;
    ln_image im;
    if (ln_image_read_gray(o->image, &im, &err)) return cli_fail(&err);
    ln_pixel_stats st = ln_pixel_stats_compute(im.data, (size_t)im.width * (size_t)im.height);
    if (o->png) {
        ln_image pic;
        if (ln_out_distinct(o->png, o->image, "--image", &err)) {
            ln_image_free(&im);
            return cli_fail(&err);
        }
        ln_status s = ln_sample_picture(&im, NULL, 224, &pic, &err);
        if (!s) s = ln_image_write_png(o->png, &pic, &err);
        ln_image_free(&pic);
        if (s) {
            ln_image_free(&im);
            return cli_fail(&err);
        }
    }
    if (o->json) {
        printf("{\"image\": ");
        json_str(o->image);
        printf(", \"width\": %d, \"height\": %d, \"pixel_mean\": %.6f, \"pixel_std\": %.6f, \"png\": ", im.width,
               im.height, st.mean, st.std);
        json_str(o->png);
        printf("}\n");
    } else {
        printf("image %s: %d x %d pixels (width x height), read as 8-bit gray\n", o->image, im.width, im.height);
        printf("Tensor of image: (%d, %d, 1)\n", im.height, im.width);
        printf("pixel mean %.4f, std %.4f (scaled to [0, 1])\n", st.mean, st.std);
    }
    if (o->png) fprintf(o->json ? stderr : stdout, "wrote %s: the image enlarged\n", o->png);
    else if (!o->json) cli_preview_gray(stdout, im.data, im.height, im.width, 78, 40);
    ln_image_free(&im);
    return 0;
}

int cmd_inspect(int argc, char **argv) {
    inspect_opts o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    if (o.image) return inspect_image(&o);
    ln_error err;
    ln_dataset ds;
    if (ln_dataset_load(o.data, o.split, &ds, &err)) return cli_fail_data(&err);
    const ln_idx_images *im = &ds.images;
    if (o.index >= (long)im->count) {
        cli_error("out of range: --index %ld; the %s split has %u items (0..%u)", o.index, o.split, im->count,
                  im->count - 1);
        ln_dataset_free(&ds);
        return 2;
    }
    long count = o.count < (long)im->count ? o.count : (long)im->count;
    size_t plane = (size_t)im->rows * im->cols;
    ln_pixel_stats st = ln_pixel_stats_compute(im->pixels, plane * im->count);
    uint64_t classes[LN_IDX_MAX_CLASSES];
    ln_label_counts(ds.labels.labels, ds.labels.count, classes, LN_IDX_MAX_CLASSES);
    unsigned label = ds.labels.labels[o.index];

    /* Neither picture may be a data file it was drawn from. */
    for (int k = 0; k < 4; k++) {
        const char *out = k < 2 ? o.png : o.grid, *in = k % 2 ? ds.labels_path : ds.images_path;
        if (out && ln_out_distinct(out, in, "data file", &err)) {
            ln_dataset_free(&ds);
            return cli_fail(&err);
        }
    }
    if (o.png && write_png(o.png, &ds, o.index, &err)) {
        ln_dataset_free(&ds);
        return cli_fail(&err);
    }
    if (o.grid && write_grid(o.grid, &ds, count, &err)) {
        ln_dataset_free(&ds);
        return cli_fail(&err);
    }

    FILE *human = o.json ? stderr : stdout;
    if (o.json) {
        printf("{\"split\": \"%s\", \"images\": ", o.split);
        json_str(ds.images_path);
        printf(", \"labels\": ");
        json_str(ds.labels_path);
        printf(", \"size\": %u, \"keys\": [\"image\", \"label\"], \"image_shape\": [%u, %u, 1], \"index\": %ld, "
               "\"label\": %u, \"class_counts\": [", im->count, im->rows, im->cols, o.index, label);
        for (unsigned c = 0; c < LN_IDX_MAX_CLASSES; c++) printf("%s%llu", c ? ", " : "", (unsigned long long)classes[c]);
        printf("], \"pixel_mean\": %.6f, \"pixel_std\": %.6f, \"png\": ", st.mean, st.std);
        json_str(o.png);
        printf(", \"grid\": ");
        json_str(o.grid);
        printf("}\n");
    } else {
        printf("The type of mnist_ds: IDX data set, %s split (%s, %s)\n", o.split, ds.images_path, ds.labels_path);
        printf("Number of pictures contained in the mnist_ds: %u\n", im->count);
        printf("The item of mnist_ds: dict_keys(['image', 'label'])\n");
        printf("Tensor of image in item: (%u, %u, 1)\n", im->rows, im->cols);
        printf("The label of item: %u\n", label);
        printf("item: %ld of %u (file order)\n", o.index, im->count);
        printf("per-class counts:");
        for (unsigned c = 0; c < LN_IDX_MAX_CLASSES; c++) printf(" %u: %llu", c, (unsigned long long)classes[c]);
        printf("\n");
        printf("pixel mean %.4f, std %.4f (over %llu pixels scaled to [0, 1]; the tutorial normalizes with "
               "0.1307, 0.3081)\n", st.mean, st.std, (unsigned long long)st.n);
    }
    if (o.png) fprintf(human, "wrote %s: item %ld, number: %u\n", o.png, o.index, label);
    if (o.grid) fprintf(human, "wrote %s: the first %ld items with their labels\n", o.grid, count);
    if (!o.png && !o.grid && !o.json) {
        printf("number: %u\n", label);
        cli_preview_gray(stdout, im->pixels + (size_t)o.index * plane, (int)im->rows, (int)im->cols, 78, 40);
    }
    ln_dataset_free(&ds);
    return 0;
}
