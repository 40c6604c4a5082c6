/* idx.c - IDX reader and data-set discovery (see include/lenet/idx.h).
 * zlib's gzread reads both gzip and plain files, so one path serves both. */
#include "lenet/idx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define IDX_MAGIC_IMAGES 2051u
#define IDX_MAGIC_LABELS 2049u
#define IDX_IMAGES_HDR 16

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* zlib's message without the "path: " prefix gzerror() puts in front. */
static const char *gz_message(gzFile f, const char *path, int *zerr) {
    const char *m = gzerror(f, zerr);
    size_t pl = strlen(path);
    if (!strncmp(m, path, pl) && m[pl] == ':' && m[pl + 1] == ' ') m += pl + 2;
    return m;
}

/* Read up to `want` bytes; returns bytes read or -1 (message in err). */
static long long gz_read_full(gzFile f, const char *path, void *buf, size_t want, ln_error *err) {
    size_t got = 0;
    while (got < want) {
        unsigned chunk = (want - got) > (1u << 30) ? (1u << 30) : (unsigned)(want - got);
        int n = gzread(f, (char *)buf + got, chunk);
        if (n < 0) {
            int zerr;
            const char *m = gz_message(f, path, &zerr);
            if (zerr == Z_MEM_ERROR) ln_fail(err, LN_E_NOMEM, "out of memory: %s", path); /* not the file's fault */
            else ln_fail(err, LN_E_INPUT, "corrupt gzip data (%s): %s; fetch the file again", m, path);
            return -1;
        }
        if (n == 0) {
            int zerr;
            const char *m = gz_message(f, path, &zerr);
            if (zerr != Z_OK && zerr != Z_STREAM_END) {
                ln_fail(err, LN_E_INPUT, "corrupt gzip data (%s): %s; fetch the file again", m, path);
                return -1;
            }
            break;
        }
        got += (size_t)n;
    }
    return (long long)got;
}

/* Open `path`, check the header of `hdr_len` bytes with the given magic,
 * then read exactly `payload` bytes that the caller sizes from the header. */
typedef struct {
    gzFile f;
    int is_raw;
    long long raw_size;
} idx_file;

static ln_status idx_open(const char *path, idx_file *fh, uint8_t *hdr, size_t hdr_len,
                          uint32_t magic, const char *kind, ln_error *err) {
    struct stat st;
    if (stat(path, &st) != 0)
        return ln_fail(err, LN_E_INPUT, "cannot open (%s): %s; check the path", strerror(errno), path);
    if (!S_ISREG(st.st_mode))
        return ln_fail(err, LN_E_INPUT, "not a regular file: %s; give the IDX file's path", path);
    FILE *probe = fopen(path, "rb");
    if (!probe)
        return ln_fail(err, LN_E_INPUT, "cannot open (%s): %s", strerror(errno), path);
    unsigned char m2[2] = {0, 0};
    size_t nm = fread(m2, 1, 2, probe);
    fclose(probe);
    fh->is_raw = !(nm == 2 && m2[0] == 0x1f && m2[1] == 0x8b);
    fh->raw_size = (long long)st.st_size;
    fh->f = gzopen(path, "rb");
    if (!fh->f)
        return ln_fail(err, LN_E_INPUT, "cannot open (%s): %s", strerror(errno), path);
    gzbuffer(fh->f, 1 << 17);
    long long n = gz_read_full(fh->f, path, hdr, hdr_len, err);
    if (n < 0) goto fail;
    if (n >= 4 && be32(hdr) != magic) {
        ln_fail(err, LN_E_INPUT, "bad magic %u, expected %u (IDX %s file): %s; is this the right file?", be32(hdr),
                magic, kind, path);
        goto fail;
    }
    if ((size_t)n < hdr_len) {
        ln_fail(err, LN_E_INPUT, "truncated %s header (%lld of %zu bytes): %s; fetch the file again", kind, n, hdr_len,
                path);
        goto fail;
    }
    return LN_OK;
fail:
    gzclose(fh->f);
    fh->f = NULL;
    return err ? err->status : LN_E_INPUT;
}

/* The file ended after `got` of the `len` payload bytes its header says. */
static ln_status idx_truncated(ln_error *err, size_t got, size_t len, const char *path) {
    return ln_fail(err, LN_E_INPUT, "truncated file (%zu data bytes, header says %zu): %s; fetch the file again", got,
                   len, path);
}

/* The file must end after the `len` payload bytes read. */
static ln_status idx_at_end(idx_file *fh, const char *path, size_t len, ln_error *err) {
    uint8_t extra;
    long long n = gz_read_full(fh->f, path, &extra, 1, err);
    if (n < 0) return err ? err->status : LN_E_INPUT;
    if (n > 0)
        return ln_fail(err, LN_E_INPUT, "more data than its header says (%zu bytes): %s; corrupt file", len, path);
    return LN_OK;
}

/* A raw file's size must be the header's; checked before reading. */
static ln_status idx_raw_size(const idx_file *fh, const char *path, size_t hdr_len, size_t len, ln_error *err) {
    if (fh->is_raw && (unsigned long long)fh->raw_size != hdr_len + len)
        return ln_fail(err, LN_E_INPUT, "file is %lld bytes but its header says %zu: %s; the file is truncated or "
                       "corrupt, fetch it again", fh->raw_size, hdr_len + len, path);
    return LN_OK;
}

/* Read exactly `len` payload bytes into a buffer grown as data arrives. */
static ln_status idx_read_payload(idx_file *fh, const char *path, size_t hdr_len, size_t len,
                                  uint8_t **out, ln_error *err) {
    const ln_status rs = idx_raw_size(fh, path, hdr_len, len, err);
    if (rs) return rs;
    /* Start small and double: memory follows the data that really arrives.
     * A raw file's size was checked against the header just above, so it
     * gets its whole buffer at once. */
    size_t cap = fh->is_raw ? len : len < (1u << 20) ? len : (1u << 20), got = 0;
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf) return ln_fail(err, LN_E_NOMEM, "out of memory: %s", path);
    while (got < len) {
        if (got == cap) {
            size_t ncap = cap * 2 < len ? cap * 2 : len;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) { free(buf); return ln_fail(err, LN_E_NOMEM, "out of memory: %s", path); }
            buf = nb, cap = ncap;
        }
        long long n = gz_read_full(fh->f, path, buf + got, cap - got, err);
        if (n < 0) { free(buf); return err ? err->status : LN_E_INPUT; }
        if (n == 0) {
            free(buf);
            return idx_truncated(err, got, len, path);
        }
        got += (size_t)n;
    }
    const ln_status s = idx_at_end(fh, path, len, err);
    if (s) {
        free(buf);
        return s;
    }
    *out = buf;
    return LN_OK;
}

/* Open an image file and check its header: the shape in *shape (pixels
 * NULL); on failure nothing is left open. */
static ln_status images_open(const char *path, idx_file *fh, ln_idx_images *shape, ln_error *err) {
    memset(shape, 0, sizeof *shape);
    uint8_t hdr[IDX_IMAGES_HDR];
    ln_status s = idx_open(path, fh, hdr, sizeof hdr, IDX_MAGIC_IMAGES, "images", err);
    if (s) return s;
    uint32_t count = be32(hdr + 4), rows = be32(hdr + 8), cols = be32(hdr + 12);
    if (count == 0 || count > LN_IDX_MAX_COUNT || rows == 0 || rows > LN_IDX_MAX_DIM || cols == 0 ||
        cols > LN_IDX_MAX_DIM || (unsigned long long)count * rows * cols > (1ull << 34)) {
        gzclose(fh->f);
        return ln_fail(err, LN_E_INPUT, "implausible header (count %u, %u x %u): %s; the file is corrupt", count,
                       rows, cols, path);
    }
    shape->count = count, shape->rows = rows, shape->cols = cols;
    return LN_OK;
}

ln_status ln_idx_read_images(const char *path, ln_idx_images *out, ln_error *err) {
    idx_file fh;
    ln_idx_images shape;
    ln_status s = images_open(path, &fh, &shape, err);
    memset(out, 0, sizeof *out);
    if (s) return s;
    s = idx_read_payload(&fh, path, IDX_IMAGES_HDR, (size_t)shape.count * shape.rows * shape.cols, &out->pixels, err);
    gzclose(fh.f);
    if (s) return s;
    out->count = shape.count, out->rows = shape.rows, out->cols = shape.cols;
    return LN_OK;
}

struct ln_idx_stream {
    idx_file fh;
    ln_idx_images shape;
    uint32_t next; /* images read so far */
    char *path;
};

ln_status ln_idx_stream_open(const char *path, ln_idx_stream **out, ln_idx_images *shape, ln_error *err) {
    *out = NULL;
    ln_idx_stream *st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(path))) {
        free(st);
        return ln_fail(err, LN_E_NOMEM, "out of memory: %s", path);
    }
    ln_status s = images_open(path, &st->fh, &st->shape, err);
    if (!s) {
        s = idx_raw_size(&st->fh, path, IDX_IMAGES_HDR,
                         (size_t)st->shape.count * st->shape.rows * st->shape.cols, err);
        if (s) gzclose(st->fh.f);
    }
    if (s) {
        free(st->path);
        free(st);
        return s;
    }
    *shape = st->shape;
    *out = st;
    return LN_OK;
}

/* The stream's next k payload bytes into dst, `done` having been read. */
static ln_status stream_bytes(ln_idx_stream *st, uint8_t *dst, size_t k, size_t done, ln_error *err) {
    const long long got = gz_read_full(st->fh.f, st->path, dst, k, err);
    if (got < 0) return err ? err->status : LN_E_INPUT;
    if ((size_t)got < k)
        return idx_truncated(err, done + (size_t)got, (size_t)st->shape.rows * st->shape.cols * st->shape.count,
                             st->path);
    return LN_OK;
}

ln_status ln_idx_stream_read(ln_idx_stream *st, uint32_t n, uint8_t *dst, ln_error *err) {
    const size_t isz = (size_t)st->shape.rows * st->shape.cols;
    if (n > st->shape.count - st->next)
        return ln_fail(err, LN_E_USAGE, "reading images %u..%u of %u: %s", st->next, st->next + n, st->shape.count,
                       st->path);
    const ln_status s = stream_bytes(st, dst, isz * n, isz * st->next, err);
    if (!s) st->next += n;
    return s;
}

ln_status ln_idx_stream_finish(ln_idx_stream *st, ln_error *err) {
    uint8_t buf[1 << 14];
    const size_t isz = (size_t)st->shape.rows * st->shape.cols, total = isz * st->shape.count;
    for (size_t done = isz * st->next; done < total;) { /* the rest, unused, read to check it is all there */
        const size_t k = total - done < sizeof buf ? total - done : sizeof buf;
        const ln_status s = stream_bytes(st, buf, k, done, err);
        if (s) return s;
        done += k;
    }
    st->next = st->shape.count;
    return idx_at_end(&st->fh, st->path, total, err);
}

void ln_idx_stream_shape(const ln_idx_stream *st, ln_idx_images *shape) { *shape = st->shape; }

void ln_idx_stream_close(ln_idx_stream *st) {
    if (!st) return;
    gzclose(st->fh.f);
    free(st->path);
    free(st);
}

ln_status ln_idx_read_labels(const char *path, ln_idx_labels *out, ln_error *err) {
    memset(out, 0, sizeof *out);
    idx_file fh;
    uint8_t hdr[8];
    ln_status s = idx_open(path, &fh, hdr, sizeof hdr, IDX_MAGIC_LABELS, "labels", err);
    if (s) return s;
    uint32_t count = be32(hdr + 4);
    if (count == 0 || count > LN_IDX_MAX_COUNT) {
        gzclose(fh.f);
        return ln_fail(err, LN_E_INPUT, "implausible label count %u: %s; the file is corrupt",
                       count, path);
    }
    s = idx_read_payload(&fh, path, sizeof hdr, count, &out->labels, err);
    gzclose(fh.f);
    if (s) return s;
    out->count = count;
    for (uint32_t i = 0; i < count; i++) {
        if (out->labels[i] >= LN_IDX_MAX_CLASSES) {
            ln_fail(err, LN_E_INPUT, "label %u at index %u is not a digit 0-9: %s; the file is corrupt",
                    out->labels[i], i, path);
            ln_idx_labels_free(out);
            return LN_E_INPUT;
        }
    }
    return LN_OK;
}

void ln_idx_images_free(ln_idx_images *im) { free(im->pixels); memset(im, 0, sizeof *im); }
void ln_idx_labels_free(ln_idx_labels *lb) { free(lb->labels); memset(lb, 0, sizeof *lb); }

static int is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Look for <dir>/<prefix>-<kind>{-,.}idx<N>-ubyte[.gz]; raw before gzip. */
static int find_idx(const char *dir, const char *prefix, const char *kind, int ndim, char *out,
                    size_t outsz) {
    static const char *const seps[] = {"-", "."};
    static const char *const exts[] = {"", ".gz"};
    for (int e = 0; e < 2; e++)
        for (int s = 0; s < 2; s++) {
            snprintf(out, outsz, "%s/%s-%s%sidx%d-ubyte%s", dir, prefix, kind, seps[s], ndim, exts[e]);
            if (is_file(out)) return 1;
        }
    return 0;
}

/* Find split's pair of files under root (ln_dataset_load) into ds's paths. */
static ln_status dataset_find(const char *root, const char *split, ln_dataset *ds, ln_error *err) {
    memset(ds, 0, sizeof *ds);
    int train = strcmp(split, "train") == 0;
    if (!train && strcmp(split, "test") != 0)
        return ln_fail(err, LN_E_USAGE, "split must be train or test, not '%s'", split);
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
        return ln_fail(err, LN_E_INPUT, "no such data folder: %s; give `data=DIR`, a folder holding MNIST", root);
    const char *prefix = train ? "train" : "t10k";
    char sub[1024];
    snprintf(sub, sizeof sub, "%s/%s", root, split);
    const char *dirs[2] = {sub, root};
    int found = 0;
    for (int d = 0; d < 2 && !found; d++)
        found = find_idx(dirs[d], prefix, "images", 3, ds->images_path, sizeof ds->images_path) &&
                find_idx(dirs[d], prefix, "labels", 1, ds->labels_path, sizeof ds->labels_path);
    if (!found)
        return ln_fail(err, LN_E_INPUT, "no %s-images-idx3-ubyte / %s-labels-idx1-ubyte pair in the data folder (or its "
                       "%s/): %s; give `data=DIR`, a folder holding MNIST", prefix, prefix, split, root);
    return LN_OK;
}

static ln_status counts_agree(const ln_dataset *ds, ln_error *err) {
    if (ds->images.count == ds->labels.count) return LN_OK;
    return ln_fail(err, LN_E_INPUT, "image and label counts differ (%u images, %u labels in %s): %s; the files do not "
                   "belong together", ds->images.count, ds->labels.count, ds->labels_path, ds->images_path);
}

ln_status ln_dataset_load(const char *root, const char *split, ln_dataset *ds, ln_error *err) {
    ln_status s = dataset_find(root, split, ds, err);
    if (s) return s;
    s = ln_idx_read_images(ds->images_path, &ds->images, err);
    if (!s) s = ln_idx_read_labels(ds->labels_path, &ds->labels, err);
    if (!s) s = counts_agree(ds, err);
    if (s) ln_dataset_free(ds);
    return s;
}

ln_status ln_dataset_open(const char *root, const char *split, ln_dataset *ds, ln_idx_stream **st, ln_error *err) {
    *st = NULL;
    ln_status s = dataset_find(root, split, ds, err);
    if (s) return s;
    s = ln_idx_stream_open(ds->images_path, st, &ds->images, err);
    if (!s) s = ln_idx_read_labels(ds->labels_path, &ds->labels, err);
    if (!s) s = counts_agree(ds, err);
    if (s) {
        ln_idx_stream_close(*st);
        *st = NULL;
        ln_dataset_free(ds);
    }
    return s;
}

void ln_dataset_free(ln_dataset *ds) {
    ln_idx_images_free(&ds->images);
    ln_idx_labels_free(&ds->labels);
}

ln_status ln_dataset_split_tail(ln_dataset *ds, uint32_t n, ln_dataset *tail, ln_error *err) {
    memset(tail, 0, sizeof *tail);
    const uint32_t count = ds->images.count;
    if (n == 0 || n >= count)
        return ln_fail(err, LN_E_USAGE, "must be between 1 and %u: `holdout=%u`; the %s holds %u images",
                       count ? count - 1 : 0, n, ds->images_path, count);
    const size_t px = (size_t)ds->images.rows * ds->images.cols, keep = count - n;
    tail->images.pixels = malloc(px * n + 1);
    tail->labels.labels = malloc(n);
    if (!tail->images.pixels || !tail->labels.labels) {
        ln_dataset_free(tail);
        memset(tail, 0, sizeof *tail);
        return ln_fail(err, LN_E_NOMEM, "out of memory holding out %u images", n);
    }
    memcpy(tail->images.pixels, ds->images.pixels + keep * px, px * n);
    memcpy(tail->labels.labels, ds->labels.labels + keep, n);
    tail->images.count = tail->labels.count = n;
    tail->images.rows = ds->images.rows, tail->images.cols = ds->images.cols;
    memcpy(tail->images_path, ds->images_path, sizeof tail->images_path);
    memcpy(tail->labels_path, ds->labels_path, sizeof tail->labels_path);
    ds->images.count = ds->labels.count = (uint32_t)keep;
    return LN_OK;
}
