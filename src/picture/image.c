/* image.c - image allocation, reading a file and choosing its decoder by
 * content, atomic PNG writing (see include/lenet/image.h). */
#include "lenet/image.h"
#include "lenet/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_codec.h"

ln_status ln_image_alloc(ln_image *im, int width, int height, int channels, uint8_t fill, ln_error *err) {
    memset(im, 0, sizeof *im);
    if (width < 1 || height < 1 || (unsigned)width > LN_IMAGE_MAX_SIDE || (unsigned)height > LN_IMAGE_MAX_SIDE ||
        (unsigned long long)width * (unsigned)height > LN_IMAGE_MAX_PIXELS)
        return ln_fail(err, LN_E_USAGE, "image size %d x %d is outside 1..%u per side and %u pixels", width, height,
                       LN_IMAGE_MAX_SIDE, LN_IMAGE_MAX_PIXELS);
    if (channels != 1 && channels != 3)
        return ln_fail(err, LN_E_USAGE, "image channels must be 1 (gray) or 3 (RGB), not %d", channels);
    size_t n = (size_t)width * (size_t)height * (size_t)channels;
    im->data = malloc(n);
    if (!im->data) return ln_fail(err, LN_E_NOMEM, "out of memory for a %d x %d image", width, height);
    memset(im->data, fill, n);
    im->width = width, im->height = height, im->channels = channels;
    return LN_OK;
}

void ln_image_free(ln_image *im) {
    free(im->data);
    memset(im, 0, sizeof *im);
}

static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

ln_status ln_image_decode_gray(const uint8_t *buf, size_t len, const char *name, ln_image *out, ln_error *err) {
    memset(out, 0, sizeof *out);
    if (len == 0) return ln_fail(err, LN_E_INPUT, "empty file: %s; give a PNG or PGM image", name);
    if (len > LN_IMAGE_MAX_FILE)
        return ln_fail(err, LN_E_INPUT, "file is larger than %u bytes: %s; not an image we read",
                       LN_IMAGE_MAX_FILE, name);
    if (len >= 8 && !memcmp(buf, png_sig, 8)) return ln_png_decode_gray(buf, len, name, out, err);
    if (len >= 2 && buf[0] == 'P' && (buf[1] == '2' || buf[1] == '5'))
        return ln_pgm_decode_gray(buf, len, name, out, err);
    if (len >= 2 && buf[0] == 'P' && buf[1] >= '1' && buf[1] <= '7')
        return ln_fail(err, LN_E_INPUT, "a netpbm P%c file, not PGM: %s; convert it to PGM (P2/P5) or PNG",
                       buf[1], name);
    return ln_fail(err, LN_E_INPUT, "not a PNG or PGM image (unknown signature): %s; give a .png or .pgm file",
                   name);
}

ln_status ln_image_read_gray(const char *path, ln_image *out, ln_error *err) {
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ln_fail(err, LN_E_INPUT, "cannot open (%s): %s; check the path", strerror(errno), path);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ln_fail(err, LN_E_INPUT, "not a regular file: %s; give an image file's path", path);
    }
    if (st.st_size <= 0) {
        close(fd);
        return ln_fail(err, LN_E_INPUT, "empty file: %s; give a PNG or PGM image", path);
    }
    if ((unsigned long long)st.st_size > LN_IMAGE_MAX_FILE) {
        close(fd);
        return ln_fail(err, LN_E_INPUT, "file is larger than %u bytes: %s; not an image we read",
                       LN_IMAGE_MAX_FILE, path);
    }
    size_t len = (size_t)st.st_size, got = 0;
    uint8_t *buf = malloc(len);
    if (!buf) {
        close(fd);
        return ln_fail(err, LN_E_NOMEM, "out of memory reading %zu bytes: %s", len, path);
    }
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = n < 0 ? errno : 0;
            free(buf);
            close(fd);
            return ln_fail(err, LN_E_INPUT, "read failed (%s): %s", e ? strerror(e) : "file shrank while reading",
                           path);
        }
        got += (size_t)n;
    }
    close(fd);
    ln_status s = ln_image_decode_gray(buf, len, path, out, err);
    free(buf);
    return s;
}

ln_status ln_image_write_png(const char *path, const ln_image *im, ln_error *err) {
    if (!im->data || (im->channels != 1 && im->channels != 3) || im->width < 1 || im->height < 1)
        return ln_fail(err, LN_E_USAGE, "nothing to write (empty image or channels not 1 or 3): %s", path);
    /* Encoded in memory, then written the one atomic way (fileio.h). */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return ln_fail(err, LN_E_NOMEM, "out of memory encoding %s", path);
    ln_status s = ln_png_encode(f, im, path, err);
    if (fclose(f) != 0 && !s) s = ln_fail(err, LN_E_NOMEM, "out of memory encoding %s", path);
    if (!s) s = ln_write_file_atomic(path, buf, len, err);
    free(buf);
    return s;
}
