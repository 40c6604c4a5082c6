/* test_idx.c - IDX reader and data-set discovery: every malformed file is
 * rejected with LN_E_INPUT and a one-line message naming the file; valid
 * raw / gzip files, both file-name spellings and both folder layouts load;
 * the real MNIST files (datasets/MNIST_Data) have the known sizes. All files
 * are made in a temporary folder under /tmp. TEST_VERBOSE=1 prints every
 * rejection message. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"
#include "lenet/idx.h"


static char g_tmp[256];

/* CPU seconds (user + system) used so far by this process and its waited-for
 * children: the work done, which a busy machine does not inflate as it does
 * wall-clock time. */
static double cpu_s(void) {
    struct rusage self, kids;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    const struct timeval tv[4] = {self.ru_utime, self.ru_stime, kids.ru_utime, kids.ru_stime};
    double s = 0;
    for (int i = 0; i < 4; i++) s += (double)tv[i].tv_sec + tv[i].tv_usec * 1e-6;
    return s;
}

/* ---- file helpers ---- */

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static int write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = len ? fwrite(data, 1, len, f) : 0;
    return (fclose(f) == 0 && w == len) ? 0 : -1;
}

static int write_gz(const char *path, const void *data, size_t len) {
    gzFile g = gzopen(path, "wb9");
    if (!g) return -1;
    int w = len ? gzwrite(g, data, (unsigned)len) : 0;
    return (gzclose(g) == Z_OK && (size_t)w == len) ? 0 : -1;
}

/* Images file in memory: magic, count, rows, cols, pixels (a fixed pattern). */
static uint8_t *make_images(uint32_t magic, uint32_t count, uint32_t rows, uint32_t cols, size_t data_len,
                            size_t *len) {
    *len = 16 + data_len;
    uint8_t *b = malloc(*len);
    put_be32(b, magic), put_be32(b + 4, count), put_be32(b + 8, rows), put_be32(b + 12, cols);
    for (size_t i = 0; i < data_len; i++) b[16 + i] = (uint8_t)((i * 37u + i / 7u) & 0xff);
    return b;
}
static uint8_t *make_images_ok(uint32_t count, uint32_t rows, uint32_t cols, size_t *len) {
    return make_images(2051, count, rows, cols, (size_t)count * rows * cols, len);
}

static uint8_t *make_labels(uint32_t magic, uint32_t count, size_t data_len, size_t *len) {
    *len = 8 + data_len;
    uint8_t *b = malloc(*len);
    put_be32(b, magic), put_be32(b + 4, count);
    for (size_t i = 0; i < data_len; i++) b[8 + i] = (uint8_t)((i * 3u + 1u) % 10u);
    return b;
}
static uint8_t *make_labels_ok(uint32_t count, size_t *len) { return make_labels(2049, count, count, len); }

static void tpath(char *out, size_t sz, const char *name) { snprintf(out, sz, "%s/%s", g_tmp, name); }

/* ---- expectations ---- */

/* A rejection: status LN_E_INPUT, one non-empty line naming `path`. */
static int rejected_ok(ln_status s, const ln_error *err, const char *path) {
    return s == LN_E_INPUT && err->status == LN_E_INPUT && err->msg[0] && !strchr(err->msg, '\n') &&
           strstr(err->msg, path) != NULL;
}

/* Stream all of an image file (ln_idx_stream_*), `per` images a read, then
 * finish; into *all (malloc'd, count images) when all is not NULL. */
static ln_status stream_all(const char *path, uint32_t per, ln_idx_images *all, ln_error *err) {
    ln_idx_stream *st;
    ln_idx_images shape;
    if (all) memset(all, 0, sizeof *all);
    ln_status s = ln_idx_stream_open(path, &st, &shape, err);
    if (s) return st == NULL ? s : LN_E_SYSTEM; /* (a failed open must leave nothing open) */
    const size_t isz = (size_t)shape.rows * shape.cols;
    uint8_t *buf = malloc(isz * shape.count);
    for (uint32_t i = 0; i < shape.count && !s; i += per)
        s = ln_idx_stream_read(st, shape.count - i < per ? shape.count - i : per, buf + isz * i, err);
    if (!s) s = ln_idx_stream_finish(st, err);
    ln_idx_stream_close(st);
    if (!s && all) *all = shape, all->pixels = buf;
    else free(buf);
    return s;
}

/* Rejected by ln_idx_read_images, and by the stream (its open, a read or its
 * finish) with a message that names the file too. */
static int reject_images(const char *path) {
    ln_idx_images im;
    ln_error err = {0};
    ln_status s = ln_idx_read_images(path, &im, &err);
    int ok = rejected_ok(s, &err, path) && im.pixels == NULL;
    if (getenv("TEST_VERBOSE")) printf("  [images] %s\n", err.msg);
    if (!ok) printf("  images %s: status %d, message '%s'\n", path, (int)s, err.msg);
    if (s == LN_OK) ln_idx_images_free(&im);
    ln_error serr = {0};
    s = stream_all(path, 2, NULL, &serr);
    if (!rejected_ok(s, &serr, path)) {
        printf("  images %s, streamed: status %d, message '%s'\n", path, (int)s, serr.msg);
        ok = 0;
    }
    return ok;
}

static int reject_labels(const char *path) {
    ln_idx_labels lb;
    ln_error err = {0};
    ln_status s = ln_idx_read_labels(path, &lb, &err);
    int ok = rejected_ok(s, &err, path) && lb.labels == NULL;
    if (getenv("TEST_VERBOSE")) printf("  [labels] %s\n", err.msg);
    if (!ok) printf("  labels %s: status %d, message '%s'\n", path, (int)s, err.msg);
    if (s == LN_OK) ln_idx_labels_free(&lb);
    return ok;
}

/* LEN bytes of DATA written as NAME (raw) and as NAME.gz: does REJECT reject
 * both (each tried right after it is written)? */
static int reject_raw_and_gz(const char *name, const void *data, size_t len, int (*reject)(const char *)) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", g_tmp, name);
    write_file(p, data, len);
    int ok = reject(p);
    snprintf(p, sizeof p, "%s/%s.gz", g_tmp, name);
    write_gz(p, data, len);
    ok &= reject(p);
    return ok;
}

/* ---- malformed files ---- */

static void test_truncated_headers(test_ctx *t) {
    char name[32];
    size_t len;
    uint8_t *im = make_images_ok(3, 4, 5, &len);
    int ok = 1;
    for (size_t k = 0; k < 16; k++) {
        /* raw, and the same truncation inside a gzip stream */
        snprintf(name, sizeof name, "img-hdr-%zu", k);
        ok &= reject_raw_and_gz(name, im, k, reject_images);
    }
    CHECK(t, ok, "images truncated at every header byte 0..15 (raw and gzip): rejected, path named");
    free(im);
    uint8_t *lb = make_labels_ok(3, &len);
    ok = 1;
    for (size_t k = 0; k < 8; k++) {
        snprintf(name, sizeof name, "lab-hdr-%zu", k);
        ok &= reject_raw_and_gz(name, lb, k, reject_labels);
    }
    CHECK(t, ok, "labels truncated at every header byte 0..7 (raw and gzip): rejected, path named");
    free(lb);
}

static void test_data_length(test_ctx *t) {
    char p[512];
    size_t len;
    uint8_t *im = make_images_ok(3, 4, 5, &len); /* 16 + 60 bytes */
    int ok = 1;
    static const size_t cut[] = {1, 2, 20, 59, 60};
    for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++)
        ok &= reject_raw_and_gz("img-short", im, len - cut[i], reject_images);
    CHECK(t, ok, "images with truncated data (1..60 bytes short, raw and gzip): rejected");

    uint8_t *longer = malloc(len + 1);
    memcpy(longer, im, len);
    longer[len] = 0;
    tpath(p, sizeof p, "img-long");
    write_file(p, longer, len + 1);
    CHECK(t, reject_images(p), "images with one extra trailing byte (raw): rejected");
    tpath(p, sizeof p, "img-long.gz");
    write_gz(p, longer, len + 1);
    CHECK(t, reject_images(p), "images with one extra trailing byte (inside gzip): rejected");
    free(longer);
    free(im);

    uint8_t *lb = make_labels_ok(5, &len);
    tpath(p, sizeof p, "lab-short");
    write_file(p, lb, len - 1);
    ok = reject_labels(p);
    tpath(p, sizeof p, "lab-short.gz");
    write_gz(p, lb, len - 3);
    ok &= reject_labels(p);
    CHECK(t, ok, "labels with truncated data (raw and gzip): rejected");
    longer = malloc(len + 1);
    memcpy(longer, lb, len);
    longer[len] = 1; /* a valid label value: only the length is wrong */
    ok = reject_raw_and_gz("lab-long", longer, len + 1, reject_labels);
    CHECK(t, ok, "labels with one extra trailing byte (raw and gzip): rejected");
    free(longer);
    free(lb);
}

static void test_bad_magic(test_ctx *t) {
    char p[512];
    size_t len;
    static const uint32_t img_bad[] = {2049, 0, 2050, 2052, 0x08030000u, 0xffffffffu};
    int ok = 1;
    for (size_t i = 0; i < sizeof img_bad / sizeof img_bad[0]; i++) {
        uint8_t *b = make_images(img_bad[i], 3, 4, 5, 60, &len);
        tpath(p, sizeof p, "img-magic");
        write_file(p, b, len);
        ok &= reject_images(p);
        free(b);
    }
    CHECK(t, ok, "images with magic 2049, 0, 2050, 2052, byte-swapped, ~0: rejected");
    static const uint32_t lab_bad[] = {2051, 0, 2048, 2050, 0x01080000u};
    ok = 1;
    for (size_t i = 0; i < sizeof lab_bad / sizeof lab_bad[0]; i++) {
        uint8_t *b = make_labels(lab_bad[i], 5, 5, &len);
        tpath(p, sizeof p, "lab-magic");
        write_file(p, b, len);
        ok &= reject_labels(p);
        free(b);
    }
    CHECK(t, ok, "labels with magic 2051, 0, 2048, 2050, byte-swapped: rejected");

    /* gzip of garbage: decompresses fine, but is not IDX. */
    uint8_t garbage[4096];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof garbage; i++) x = x * 1103515245u + 12345u, garbage[i] = (uint8_t)(x >> 16);
    garbage[0] = 0x5a; /* never a valid magic's first byte (0x00) */
    tpath(p, sizeof p, "garbage.gz");
    write_gz(p, garbage, sizeof garbage);
    CHECK(t, reject_images(p) && reject_labels(p), "gzip of garbage: rejected as images and as labels");
    tpath(p, sizeof p, "garbage-raw");
    write_file(p, garbage, sizeof garbage);
    CHECK(t, reject_images(p) && reject_labels(p), "raw garbage: rejected as images and as labels");
    /* A labels file given as images and vice versa (the classic mix-up). */
    uint8_t *lb = make_labels_ok(5, &len);
    tpath(p, sizeof p, "real-labels");
    write_file(p, lb, len);
    free(lb);
    int ok1 = reject_images(p);
    uint8_t *im = make_images_ok(3, 4, 5, &len);
    tpath(p, sizeof p, "real-images");
    write_file(p, im, len);
    free(im);
    CHECK(t, ok1 && reject_labels(p), "labels file read as images and images file read as labels: rejected");
}

static void test_counts_dims(test_ctx *t) {
    char p[512];
    size_t len;
    uint8_t *b = make_images(2051, 0, 4, 5, 0, &len);
    tpath(p, sizeof p, "img-count0");
    write_file(p, b, len);
    CHECK(t, reject_images(p), "images with count 0: rejected");
    free(b);
    b = make_labels(2049, 0, 0, &len);
    tpath(p, sizeof p, "lab-count0");
    write_file(p, b, len);
    CHECK(t, reject_labels(p), "labels with count 0: rejected");
    free(b);

    static const uint32_t dims[][2] = {{0, 28}, {28, 0}, {0, 0}, {70000, 28}, {28, 70000}, {4097, 1}};
    int ok = 1;
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        b = make_images(2051, 1, dims[i][0], dims[i][1], 64, &len);
        tpath(p, sizeof p, "img-dims");
        write_file(p, b, len);
        ok &= reject_images(p);
        free(b);
    }
    CHECK(t, ok, "images with rows/cols 0, 70000 or 4097: rejected");

    /* Huge count with a tiny file: raw and gzip, images and labels. */
    double t0 = cpu_s();
    ok = 1;
    b = make_images(2051, 0xFFFFFFFFu, 28, 28, 100, &len);
    ok &= reject_raw_and_gz("img-huge", b, len, reject_images);
    free(b);
    b = make_labels(2049, 0xFFFFFFFFu, 100, &len);
    ok &= reject_raw_and_gz("lab-huge", b, len, reject_labels);
    free(b);
    CHECK(t, ok, "count 0xFFFFFFFF with a tiny file (raw and gzip): rejected");

    /* A count that passes the plausibility limits (20M images of 28x28 =
     * 15.7 GB, 100M labels) but a tiny gzip file: the reader must grow its
     * buffer only as data arrives. Checked in a child with a 512 MB address
     * space limit (not under ASan, whose shadow memory needs more). */
    uint8_t *bi = make_images(2051, 20000000u, 28, 28, 5000, &len);
    char pi[512], pl[512];
    tpath(pi, sizeof pi, "img-big.gz");
    write_gz(pi, bi, len);
    free(bi);
    uint8_t *bl = make_labels(2049, 100000000u, 5000, &len);
    tpath(pl, sizeof pl, "lab-big.gz");
    write_gz(pl, bl, len);
    free(bl);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (!TEST_UNDER_ASAN) {
            struct rlimit rl = {512u << 20, 512u << 20};
            setrlimit(RLIMIT_AS, &rl);
        }
        ln_idx_images im;
        ln_idx_labels lab;
        ln_error e1 = {0}, e2 = {0};
        ln_status s1 = ln_idx_read_images(pi, &im, &e1);
        ln_status s2 = ln_idx_read_labels(pl, &lab, &e2);
        _exit(rejected_ok(s1, &e1, pi) && rejected_ok(s2, &e2, pl) ? 0 : (s1 == LN_E_NOMEM || s2 == LN_E_NOMEM) ? 3 : 4);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    double dt = cpu_s() - t0;
    char what[200];
    snprintf(what, sizeof what, "plausible huge count, tiny gzip: rejected as truncated within a %s address space",
             TEST_UNDER_ASAN ? "(ASan: unlimited)" : "512 MB");
    CHECK(t, WIFEXITED(st) && WEXITSTATUS(st) == 0, what);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
        printf("  child status: exited %d code %d, signaled %d\n", WIFEXITED(st), WEXITSTATUS(st), WIFSIGNALED(st));
    CHECK(t, dt < 3.0, "huge-count files fail fast (< 3 s of CPU time, this process and the child)");

    /* Label values. */
    static const uint8_t badval[] = {200, 10, 255};
    ok = 1;
    for (size_t i = 0; i < sizeof badval / sizeof badval[0]; i++) {
        b = make_labels_ok(20, &len);
        b[8 + 13] = badval[i];
        tpath(p, sizeof p, "lab-value");
        write_file(p, b, len);
        ln_idx_labels lb;
        ln_error err = {0};
        ln_status s = ln_idx_read_labels(p, &lb, &err);
        char want[16];
        snprintf(want, sizeof want, "%u", badval[i]);
        ok &= rejected_ok(s, &err, p) && strstr(err.msg, want) && lb.labels == NULL;
        if (s == LN_OK) ln_idx_labels_free(&lb);
        free(b);
    }
    CHECK(t, ok, "labels with a value 200, 10 or 255: rejected, message gives the value");
    b = make_labels_ok(20, &len);
    b[8 + 19] = 9;
    b[8 + 0] = 0;
    tpath(p, sizeof p, "lab-edge");
    write_file(p, b, len);
    free(b);
    ln_idx_labels lb;
    ln_error err = {0};
    ln_status s = ln_idx_read_labels(p, &lb, &err);
    CHECK(t, s == LN_OK && lb.count == 20 && lb.labels[0] == 0 && lb.labels[19] == 9, "labels 0 and 9 accepted");
    if (s == LN_OK) ln_idx_labels_free(&lb);
}

static void test_corrupt_gzip(test_ctx *t) {
    char raw[512], gz[512], p[512];
    size_t len, glen;
    uint8_t *im = make_images_ok(50, 28, 28, &len);
    tpath(raw, sizeof raw, "good-images");
    write_file(raw, im, len);
    tpath(gz, sizeof gz, "good-images.gz");
    write_gz(gz, im, len);
    free(im);
    uint8_t *g = test_read_file(gz, &glen);
    CHECK(t, g && glen > 100 && g[0] == 0x1f && g[1] == 0x8b, "made a gzip file to corrupt");
    if (!g) return;
    uint8_t *c = malloc(glen);
    int ok = 1;
    /* flipped bytes in the deflate stream (after the 10-byte header) */
    static const double where[] = {0.1, 0.3, 0.5, 0.7, 0.9};
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        memcpy(c, g, glen);
        size_t at = 10 + (size_t)((double)(glen - 18) * where[i]);
        c[at] ^= 0xff;
        c[at + 1] ^= 0x55;
        tpath(p, sizeof p, "flip.gz");
        write_file(p, c, glen);
        int r = reject_images(p);
        if (!r) printf("  flip at %zu of %zu not rejected\n", at, glen);
        ok &= r;
    }
    CHECK(t, ok, "gzip with flipped bytes in the deflate stream: rejected");
    /* flipped CRC32 / ISIZE in the gzip trailer */
    memcpy(c, g, glen);
    c[glen - 8] ^= 0x01;
    tpath(p, sizeof p, "badcrc.gz");
    write_file(p, c, glen);
    ok = reject_images(p);
    memcpy(c, g, glen);
    c[glen - 1] ^= 0x01;
    tpath(p, sizeof p, "badisize.gz");
    write_file(p, c, glen);
    ok &= reject_images(p);
    CHECK(t, ok, "gzip with a wrong CRC32 or ISIZE trailer: rejected");
    /* truncated .gz at several points */
    static const size_t keep[] = {2, 5, 10, 11, 30};
    ok = 1;
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        tpath(p, sizeof p, "trunc.gz");
        write_file(p, g, keep[i]);
        ok &= reject_images(p);
    }
    static const size_t drop[] = {1, 4, 8, 9, 100};
    for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++) {
        tpath(p, sizeof p, "trunc.gz");
        write_file(p, g, glen - drop[i]);
        int r = reject_images(p);
        if (!r) printf("  gzip minus %zu bytes not rejected\n", drop[i]);
        ok &= r;
    }
    memcpy(c, g, glen);
    tpath(p, sizeof p, "half.gz");
    write_file(p, c, glen / 2);
    ok &= reject_images(p);
    CHECK(t, ok, "truncated .gz (header only, half, last 1..100 bytes missing): rejected");
    free(c);
    free(g);
}

static void test_not_a_file(test_ctx *t) {
    char p[512];
    tpath(p, sizeof p, "a-directory");
    mkdir(p, 0755);
    CHECK(t, reject_images(p) && reject_labels(p), "a directory given as a file: rejected, path named");
    tpath(p, sizeof p, "does-not-exist");
    CHECK(t, reject_images(p) && reject_labels(p), "a missing file: rejected, path named");
    tpath(p, sizeof p, "empty");
    write_file(p, "", 0);
    CHECK(t, reject_images(p) && reject_labels(p), "an empty file: rejected");
}

/* ---- data sets ---- */

static int mkdirs(const char *path) {
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *q = tmp + 1; *q; q++)
        if (*q == '/') {
            *q = 0;
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
            *q = '/';
        }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Write a (count, 4x5) images file and a count-labels file into dir. */
static void write_split(const char *dir, const char *img_name, const char *lab_name, uint32_t count, int gz) {
    char p[600];
    size_t len;
    mkdirs(dir);
    uint8_t *im = make_images_ok(count, 4, 5, &len);
    snprintf(p, sizeof p, "%s/%s", dir, img_name);
    if (gz) write_gz(p, im, len); else write_file(p, im, len);
    free(im);
    uint8_t *lb = make_labels_ok(count, &len);
    snprintf(p, sizeof p, "%s/%s", dir, lab_name);
    if (gz) write_gz(p, lb, len); else write_file(p, lb, len);
    free(lb);
}

static int dataset_matches(const ln_dataset *ds, uint32_t count) {
    size_t len;
    uint8_t *im = make_images_ok(count, 4, 5, &len);
    uint8_t *lb = make_labels_ok(count, &len);
    int ok = ds->images.count == count && ds->images.rows == 4 && ds->images.cols == 5 &&
             ds->labels.count == count && !memcmp(ds->images.pixels, im + 16, (size_t)count * 20) &&
             !memcmp(ds->labels.labels, lb + 8, count);
    free(im);
    free(lb);
    return ok;
}

/* Valid files, raw and gzip, stream to the bytes ln_idx_read_images gives,
 * whatever the reads' sizes; a read past the end is refused; a stream
 * closed early leaves nothing behind. */
static void test_stream(test_ctx *t) {
    size_t len;
    uint8_t *im = make_images_ok(11, 4, 5, &len);
    int ok = 1;
    for (int gz = 0; gz < 2; gz++) {
        char p[512];
        tpath(p, sizeof p, gz ? "stream.gz" : "stream");
        if (gz) write_gz(p, im, len); else write_file(p, im, len);
        static const uint32_t pers[] = {1, 3, 11, 64};
        for (size_t k = 0; k < sizeof pers / sizeof pers[0]; k++) {
            ln_idx_images all;
            ln_error err = {0};
            const ln_status s = stream_all(p, pers[k], &all, &err);
            ok &= s == LN_OK && all.count == 11 && all.rows == 4 && all.cols == 5 && !memcmp(all.pixels, im + 16, 220);
            if (!s) free(all.pixels);
        }
        ln_idx_stream *st;
        ln_idx_images shape;
        ln_error err = {0};
        uint8_t buf[12 * 20];
        ok &= ln_idx_stream_open(p, &st, &shape, &err) == LN_OK && shape.pixels == NULL;
        ok &= ln_idx_stream_read(st, 4, buf, &err) == LN_OK && !memcmp(buf, im + 16, 80);
        ok &= ln_idx_stream_read(st, 8, buf, &err) == LN_E_USAGE && strstr(err.msg, p); /* 4 + 8 > 11 */
        ok &= ln_idx_stream_finish(st, &err) == LN_OK; /* reads the 7 left, checks the end */
        ln_idx_stream_close(st);
        ok &= ln_idx_stream_open(p, &st, &shape, &err) == LN_OK;
        ln_idx_stream_close(st); /* closed without a read */
    }
    free(im);
    CHECK(t, ok, "stream: raw and gzip read 1, 3, 11 or 64 images at a time = the whole file; past the end refused");
}

/* ln_dataset_open of root's train split is rejected naming `path` and
 * leaves nothing open or allocated. */
static int open_rejected(const char *root, const char *path) {
    ln_dataset ds;
    ln_idx_stream *st = (ln_idx_stream *)&ds; /* (must come back NULL) */
    ln_error err = {0};
    const ln_status s = ln_dataset_open(root, "train", &ds, &st, &err);
    const int ok = rejected_ok(s, &err, path) && st == NULL && ds.images.pixels == NULL && ds.labels.labels == NULL;
    if (!ok) printf("  ln_dataset_open %s: status %d, message '%s'\n", root, (int)s, err.msg);
    return ok;
}

static void test_datasets(test_ctx *t) {
    char root[512], dir[600], p[700];
    ln_dataset ds;
    ln_error err = {0};

    /* raw and .gz of the same data give identical content */
    snprintf(root, sizeof root, "%s/ds-raw", g_tmp);
    write_split(root, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", 7, 0);
    ln_status s = ln_dataset_load(root, "train", &ds, &err);
    CHECK(t, s == LN_OK && dataset_matches(&ds, 7), "flat folder, raw train-images-idx3-ubyte: loads, content exact");
    if (!s) ln_dataset_free(&ds);
    {
        ln_idx_stream *st;
        uint8_t px[7 * 20];
        s = ln_dataset_open(root, "train", &ds, &st, &err);
        int ok = s == LN_OK && ds.images.pixels == NULL && ds.images.count == 7 && ds.images.rows == 4 &&
                 ds.images.cols == 5 && ds.labels.count == 7 && !ln_idx_stream_read(st, 7, px, &err) &&
                 !ln_idx_stream_finish(st, &err);
        if (!s) {
            ds.images.pixels = px;
            ok &= dataset_matches(&ds, 7);
            ds.images.pixels = NULL;
            ln_idx_stream_close(st);
            ln_dataset_free(&ds);
        }
        CHECK(t, ok, "... ln_dataset_open: the labels, the images' shape, and a stream of the same images");
    }
    snprintf(root, sizeof root, "%s/ds-gz", g_tmp);
    write_split(root, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 7, 1);
    s = ln_dataset_load(root, "train", &ds, &err);
    CHECK(t, s == LN_OK && dataset_matches(&ds, 7) && strstr(ds.images_path, ".gz"),
          "flat folder, .gz files: load with the same content as raw");
    if (!s) ln_dataset_free(&ds);

    /* dotted spelling */
    snprintf(root, sizeof root, "%s/ds-dot", g_tmp);
    write_split(root, "train-images.idx3-ubyte", "train-labels.idx1-ubyte", 6, 0);
    write_split(root, "t10k-images.idx3-ubyte.gz", "t10k-labels.idx1-ubyte.gz", 4, 1);
    s = ln_dataset_load(root, "train", &ds, &err);
    CHECK(t, s == LN_OK && dataset_matches(&ds, 6) && strstr(ds.images_path, "train-images.idx3-ubyte"),
          "dotted spelling train-images.idx3-ubyte loads");
    if (!s) ln_dataset_free(&ds);
    s = ln_dataset_load(root, "test", &ds, &err);
    CHECK(t, s == LN_OK && dataset_matches(&ds, 4), "dotted spelling t10k-*.idx?-ubyte.gz loads as split test");
    if (!s) ln_dataset_free(&ds);

    /* MindSpore layout: root/train, root/test */
    snprintf(root, sizeof root, "%s/ds-ms", g_tmp);
    snprintf(dir, sizeof dir, "%s/train", root);
    write_split(dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", 9, 0);
    snprintf(dir, sizeof dir, "%s/test", root);
    write_split(dir, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 3, 0);
    s = ln_dataset_load(root, "train", &ds, &err);
    CHECK(t, s == LN_OK && dataset_matches(&ds, 9), "MindSpore layout root/train loads");
    if (!s) ln_dataset_free(&ds);
    s = ln_dataset_load(root, "test", &ds, &err);
    CHECK(t, s == LN_OK && dataset_matches(&ds, 3) && strstr(ds.images_path, "/test/t10k-images-idx3-ubyte"),
          "MindSpore layout root/test loads t10k-*");
    if (!s) ln_dataset_free(&ds);

    /* raw next to .gz: the raw file wins (the .gz holds other data) */
    snprintf(root, sizeof root, "%s/ds-both", g_tmp);
    write_split(root, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", 5, 0);
    write_split(root, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 8, 1);
    s = ln_dataset_load(root, "train", &ds, &err);
    CHECK(t, s == LN_OK && dataset_matches(&ds, 5) && !strstr(ds.images_path, ".gz") && !strstr(ds.labels_path, ".gz"),
          "raw file next to a .gz: the raw one is read");
    if (!s) ln_dataset_free(&ds);

    /* raw beats .gz whatever the spelling: dashed .gz next to dotted raw */
    snprintf(root, sizeof root, "%s/ds-mixed", g_tmp);
    write_split(root, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 8, 1);
    write_split(root, "train-images.idx3-ubyte", "train-labels.idx1-ubyte", 5, 0);
    s = ln_dataset_load(root, "train", &ds, &err);
    CHECK(t, s == LN_OK && dataset_matches(&ds, 5) && strstr(ds.images_path, "train-images.idx3-ubyte") &&
                 !strstr(ds.images_path, ".gz"),
          "dotted raw file next to a dashed .gz: the raw one is read");
    if (!s) ln_dataset_free(&ds);
    /* MindSpore layout wins over a flat folder holding other files */
    snprintf(root, sizeof root, "%s/ds-ms", g_tmp);
    write_split(root, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", 2, 0);
    s = ln_dataset_load(root, "train", &ds, &err);
    CHECK(t, s == LN_OK && dataset_matches(&ds, 9), "root/train is preferred to files directly in root");
    if (!s) ln_dataset_free(&ds);

    /* count mismatch */
    snprintf(root, sizeof root, "%s/ds-mismatch", g_tmp);
    write_split(root, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", 5, 0);
    {
        size_t len;
        uint8_t *lb = make_labels_ok(6, &len);
        snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", root);
        write_file(p, lb, len);
        free(lb);
    }
    memset(&err, 0, sizeof err);
    s = ln_dataset_load(root, "train", &ds, &err);
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", root);
    CHECK(t, rejected_ok(s, &err, root) && strstr(err.msg, p) && ds.images.pixels == NULL && ds.labels.labels == NULL,
          "5 images vs 6 labels: rejected, both files named, nothing kept");
    CHECK(t, open_rejected(root, p), "... and by ln_dataset_open");
    if (!rejected_ok(s, &err, root)) printf("  message: %s\n", err.msg);

    /* a malformed file inside a data set is reported with its path */
    snprintf(root, sizeof root, "%s/ds-trunc", g_tmp);
    write_split(root, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", 5, 0);
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", root);
    {
        size_t len;
        uint8_t *im = make_images_ok(5, 4, 5, &len);
        write_file(p, im, len - 7);
        free(im);
    }
    memset(&err, 0, sizeof err);
    s = ln_dataset_load(root, "train", &ds, &err);
    CHECK(t, rejected_ok(s, &err, p), "truncated images file in a data set: rejected naming that file");
    CHECK(t, open_rejected(root, p), "... and by ln_dataset_open (a raw file's length, before any read)");
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", root);
    {
        size_t len;
        uint8_t *im = make_images_ok(5, 4, 5, &len);
        char ip[700];
        snprintf(ip, sizeof ip, "%s/train-images-idx3-ubyte", root);
        write_file(ip, im, len);
        free(im);
        uint8_t *lb = make_labels_ok(5, &len);
        lb[8 + 2] = 200;
        write_file(p, lb, len);
        free(lb);
    }
    memset(&err, 0, sizeof err);
    s = ln_dataset_load(root, "train", &ds, &err);
    CHECK(t, rejected_ok(s, &err, p), "label 200 in a data set: rejected naming the labels file");
    CHECK(t, open_rejected(root, p), "... and by ln_dataset_open");

    /* folders without data, a missing root, a file as root, a bad split */
    snprintf(root, sizeof root, "%s/ds-empty", g_tmp);
    mkdirs(root);
    memset(&err, 0, sizeof err);
    s = ln_dataset_load(root, "train", &ds, &err);
    CHECK(t, rejected_ok(s, &err, root), "folder without IDX files: rejected naming the folder");
    snprintf(root, sizeof root, "%s/ds-only-images", g_tmp);
    write_split(root, "train-images-idx3-ubyte", "unrelated-name", 5, 0);
    memset(&err, 0, sizeof err);
    s = ln_dataset_load(root, "train", &ds, &err);
    CHECK(t, rejected_ok(s, &err, root), "images without a labels file: rejected");
    snprintf(root, sizeof root, "%s/no-such-root", g_tmp);
    memset(&err, 0, sizeof err);
    s = ln_dataset_load(root, "train", &ds, &err);
    CHECK(t, rejected_ok(s, &err, root), "missing data root: rejected naming it");
    snprintf(root, sizeof root, "%s/ds-raw/train-images-idx3-ubyte", g_tmp);
    memset(&err, 0, sizeof err);
    s = ln_dataset_load(root, "train", &ds, &err);
    CHECK(t, rejected_ok(s, &err, root), "a file given as the data root: rejected naming it");
    snprintf(root, sizeof root, "%s/ds-raw", g_tmp);
    memset(&err, 0, sizeof err);
    s = ln_dataset_load(root, "valid", &ds, &err);
    CHECK(t, s == LN_E_USAGE && strstr(err.msg, "valid") && !strchr(err.msg, '\n'), "split 'valid': LN_E_USAGE");
}

static void test_real_mnist(test_ctx *t) {
    const char *root = test_mnist_dir();
    struct stat st;
    if (stat(root, &st) != 0) {
        printf("  skip  real MNIST checks: %s not found (run `make data`)\n", root);
        return;
    }
    static const long train_counts[10] = {5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949};
    static const long test_counts[10] = {980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009};
    const struct { const char *split; uint32_t n; int first; const long *counts; } sp[2] = {
        {"train", 60000, 5, train_counts}, {"test", 10000, 7, test_counts}};
    for (int i = 0; i < 2; i++) {
        ln_dataset ds;
        ln_error err = {0};
        ln_status s = ln_dataset_load(root, sp[i].split, &ds, &err);
        char what[160];
        snprintf(what, sizeof what, "MNIST %s: loads", sp[i].split);
        CHECK(t, s == LN_OK, what);
        if (s) { printf("  %s\n", err.msg); continue; }
        snprintf(what, sizeof what, "MNIST %s: %u images of 28x28, %u labels", sp[i].split, sp[i].n, sp[i].n);
        CHECK(t, ds.images.count == sp[i].n && ds.labels.count == sp[i].n && ds.images.rows == 28 && ds.images.cols == 28,
              what);
        snprintf(what, sizeof what, "MNIST %s: first label is %d", sp[i].split, sp[i].first);
        CHECK(t, ds.labels.labels[0] == sp[i].first, what);
        long hist[10] = {0};
        for (uint32_t k = 0; k < ds.labels.count; k++) hist[ds.labels.labels[k]]++;
        snprintf(what, sizeof what, "MNIST %s: per-digit label counts", sp[i].split);
        CHECK(t, !memcmp(hist, sp[i].counts, sizeof hist), what);
        long sum = 0;
        for (size_t k = 0; k < (size_t)ds.images.count * 784; k++) sum += ds.images.pixels[k];
        snprintf(what, sizeof what, "MNIST %s: mean pixel ~33.3 (0.1307*255)", sp[i].split);
        double mean = (double)sum / ((double)ds.images.count * 784);
        CHECK(t, mean > 32.5 && mean < 34.5, what);
        ln_dataset_free(&ds);
    }
}

int main(void) {
    test_ctx t = {"test_idx", 0, 0};
    if (test_make_tmpdir(g_tmp, sizeof g_tmp, "idx")) return 1;
    test_truncated_headers(&t);
    test_data_length(&t);
    test_bad_magic(&t);
    test_counts_dims(&t);
    test_corrupt_gzip(&t);
    test_not_a_file(&t);
    test_stream(&t);
    test_datasets(&t);
    test_real_mnist(&t);
    test_rm_tmpdir(g_tmp);
    return test_finish(&t);
}
