/* image_png.c - PNG decoding to 8-bit gray and PNG encoding, with libpng
 * (see include/lenet/image.h for the contract).
 *
 * libpng reports errors by longjmp; every object that is allocated after
 * setjmp and freed on the error path is reached through a volatile pointer
 * or through the context struct, whose address escapes. */
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "image_codec.h"

typedef struct {
    const uint8_t *buf;
    size_t len, pos;
    char msg[160];
    int too_big; /* the header's size is above our limits (not corrupt) */
} png_ctx;

/* Keep libpng's message, made printable (it may quote chunk names). */
static void on_error(png_structp png, png_const_charp msg) {
    png_ctx *c = png_get_error_ptr(png);
    size_t i = 0;
    for (; msg && msg[i] && i + 1 < sizeof c->msg; i++)
        c->msg[i] = (msg[i] >= 32 && msg[i] < 127) ? msg[i] : '?';
    c->msg[i] = 0;
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg; /* warnings (e.g. an unknown ancillary chunk) are not failures */
}

static void read_mem(png_structp png, png_bytep out, png_size_t n) {
    png_ctx *c = png_get_io_ptr(png);
    if (n > c->len - c->pos) png_error(png, "file ends inside a chunk (truncated)");
    memcpy(out, c->buf + c->pos, n);
    c->pos += n;
}

/* One decoded row (8-bit, `ch` channels: G, GA, RGB or RGBA) to gray.
 * Luma uses Rec. 601 weights in 16.16 fixed point (they sum to 65536, so
 * white stays 255); alpha is composited over white. */
static void row_to_gray(const uint8_t *in, int ch, uint32_t width, uint8_t *out) {
    for (uint32_t x = 0; x < width; x++, in += ch) {
        uint32_t g = ch >= 3 ? (19595u * in[0] + 38470u * in[1] + 7471u * in[2] + 32768u) >> 16 : in[0];
        if (ch == 2 || ch == 4) {
            uint32_t a = in[ch - 1];
            g = (g * a + 255u * (255u - a) + 127u) / 255u;
        }
        out[x] = (uint8_t)g;
    }
}

/* Walk the chunk framing before libpng sees the file: every chunk must fit
 * in the bytes that remain, up to IEND. libpng allocates some chunks (tEXt,
 * for one) at their declared length before reading them, ignoring
 * png_set_chunk_malloc_max, so a 60-byte file declaring a 2 GB chunk would
 * make it allocate 2 GB. After this check no chunk is larger than the file.
 * Returns NULL if the framing is sound, else what is wrong. */
static const char *check_framing(const uint8_t *buf, size_t len) {
    size_t p = 8;
    for (;;) {
        if (len - p < 12) return "file ends inside a chunk header (truncated)";
        uint32_t n = (uint32_t)buf[p] << 24 | (uint32_t)buf[p + 1] << 16 | (uint32_t)buf[p + 2] << 8 | buf[p + 3];
        if (n > 0x7fffffffu) return "chunk length out of range";
        if (n > len - p - 12) return "a chunk is longer than the rest of the file (truncated)";
        if (!memcmp(buf + p + 4, "IEND", 4)) return NULL;
        p += 12 + (size_t)n;
    }
}

ln_status ln_png_decode_gray(const uint8_t *buf, size_t len, const char *name, ln_image *out, ln_error *err) {
    memset(out, 0, sizeof *out);
    const char *bad = check_framing(buf, len);
    if (bad) return ln_fail(err, LN_E_INPUT, "corrupt PNG (%s): %s; save or export the image again", bad, name);
    /* Too large, said as such (libpng's own limit check only says "Invalid
     * IHDR data"): the first chunk is IHDR, width and height first. */
    if (len >= 24 && !memcmp(buf + 12, "IHDR", 4)) {
        const uint32_t w = (uint32_t)buf[16] << 24 | (uint32_t)buf[17] << 16 | (uint32_t)buf[18] << 8 | buf[19];
        const uint32_t h = (uint32_t)buf[20] << 24 | (uint32_t)buf[21] << 16 | (uint32_t)buf[22] << 8 | buf[23];
        if ((w > LN_IMAGE_MAX_SIDE && w <= 0x7fffffffu) || (h > LN_IMAGE_MAX_SIDE && h <= 0x7fffffffu))
            return ln_fail(err, LN_E_INPUT, "image too large (%u x %u pixels, at most %u a side): %s; scale it down",
                           (unsigned)w, (unsigned)h, LN_IMAGE_MAX_SIDE, name);
    }
    png_ctx ctx = {.buf = buf, .len = len, .pos = 0, .msg = ""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, on_error, on_warning);
    if (!png) return ln_fail(err, LN_E_NOMEM, "out of memory starting libpng: %s", name);
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return ln_fail(err, LN_E_NOMEM, "out of memory starting libpng: %s", name);
    }
    uint8_t *volatile pix = NULL;  /* the gray result */
    uint8_t *volatile rows = NULL; /* decoded rows: one, or all when interlaced */
    png_bytep *volatile rowp = NULL;
    volatile ln_status status = LN_E_INPUT;
    if (setjmp(png_jmpbuf(png))) {
        free(pix);
        free(rows);
        free(rowp);
        png_destroy_read_struct(&png, &info, NULL);
        if (status == LN_E_NOMEM) return ln_fail(err, LN_E_NOMEM, "out of memory decoding the PNG: %s", name);
        if (ctx.too_big) return ln_fail(err, LN_E_INPUT, "PNG of %s: %s; scale it down", ctx.msg, name);
        return ln_fail(err, LN_E_INPUT, "corrupt PNG (%s): %s; save or export the image again", ctx.msg, name);
    }
    png_set_read_fn(png, &ctx, read_mem);
    /* Bounds on what a hostile file can make libpng allocate. */
    png_set_user_limits(png, LN_IMAGE_MAX_SIDE, LN_IMAGE_MAX_SIDE);
    png_set_chunk_cache_max(png, 256);
    png_set_chunk_malloc_max(png, 8u << 20);
    /* Text, ICC profiles and the like are not needed: skip them unread. */
    static const png_byte skip[] = "tEXt\0zTXt\0iTXt\0iCCP\0sPLT\0eXIf\0tIME\0pHYs\0sCAL\0pCAL\0hIST\0sBIT\0";
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, skip, (int)(sizeof skip - 1) / 5);
    /* A CRC mismatch in any chunk, critical or ancillary, is corruption. */
    png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    png_read_info(png, info);

    png_uint_32 w, h;
    int depth, color, interlace;
    png_get_IHDR(png, info, &w, &h, &depth, &color, &interlace, NULL, NULL);
    if ((unsigned long long)w * h > LN_IMAGE_MAX_PIXELS) {
        snprintf(ctx.msg, sizeof ctx.msg, "%u x %u pixels is more than the %u we read", (unsigned)w, (unsigned)h,
                 LN_IMAGE_MAX_PIXELS);
        ctx.too_big = 1;
        png_longjmp(png, 1);
    }
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (depth == 16) png_set_scale_16(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int ch = png_get_channels(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (ch < 1 || ch > 4 || png_get_bit_depth(png, info) != 8 || rowbytes != (size_t)w * (size_t)ch) {
        snprintf(ctx.msg, sizeof ctx.msg, "unsupported pixel layout");
        png_longjmp(png, 1);
    }
    size_t nrows = passes > 1 ? h : 1;
    pix = malloc((size_t)w * h);
    rows = malloc(rowbytes * nrows);
    rowp = passes > 1 ? malloc(sizeof(png_bytep) * h) : NULL;
    if (!pix || !rows || (passes > 1 && !rowp)) {
        status = LN_E_NOMEM;
        png_longjmp(png, 1);
    }
    if (passes > 1) {
        for (png_uint_32 y = 0; y < h; y++) rowp[y] = rows + (size_t)y * rowbytes;
        png_read_image(png, rowp);
        for (png_uint_32 y = 0; y < h; y++) row_to_gray(rowp[y], ch, w, pix + (size_t)y * w);
    } else {
        for (png_uint_32 y = 0; y < h; y++) {
            png_read_row(png, rows, NULL);
            row_to_gray(rows, ch, w, pix + (size_t)y * w);
        }
    }
    png_read_end(png, NULL); /* checks the rest of the data, its CRCs and IEND */
    free(rows);
    free(rowp);
    png_destroy_read_struct(&png, &info, NULL);
    out->width = (int)w, out->height = (int)h, out->channels = 1, out->data = pix;
    return LN_OK;
}

ln_status ln_png_encode(FILE *f, const ln_image *im, const char *name, ln_error *err) {
    png_ctx ctx = {.msg = ""};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, on_error, on_warning);
    if (!png) return ln_fail(err, LN_E_NOMEM, "out of memory starting libpng: %s", name);
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return ln_fail(err, LN_E_NOMEM, "out of memory starting libpng: %s", name);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return ln_fail(err, LN_E_SYSTEM, "writing the PNG failed (%s): %s", ctx.msg, name);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)im->width, (png_uint_32)im->height, 8,
                 im->channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    size_t stride = (size_t)im->width * (size_t)im->channels;
    for (int y = 0; y < im->height; y++) png_write_row(png, im->data + (size_t)y * stride);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return LN_OK;
}
