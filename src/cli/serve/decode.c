/* decode.c - request bodies to 28x28 grey images (see decode.h). */
#include "decode.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lenet/image.h"
#include "lenet/prepare.h"

static const char *kind_of(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: case JSON_REAL: return "a number";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* One grey level: a whole number 0..255, at instances[i][r] (c < 0: a flat
 * list) or instances[i][r][c]; the position is formatted only on error. */
static ln_status level(const json_t *v, int i, long r, long c, uint8_t *out, ln_error *err) {
    double d = -1.0;
    int ok = 0;
    if (json_is_integer(v)) {
        const json_int_t k = json_integer_value(v);
        if (k >= 0 && k <= 255) {
            *out = (uint8_t)k;
            return LN_OK;
        }
        d = (double)k;
    } else if (json_is_real(v)) {
        d = json_real_value(v);
        if (d >= 0.0 && d <= 255.0 && d == floor(d)) {
            *out = (uint8_t)d;
            return LN_OK;
        }
    } else {
        ok = -1;
    }
    char where[48];
    if (c < 0) snprintf(where, sizeof where, "instances[%d][%ld]", i, r);
    else snprintf(where, sizeof where, "instances[%d][%ld][%ld]", i, r, c);
    if (ok < 0) return ln_fail(err, LN_E_INPUT, "%s: expected a grey level 0-255, got %s", where, kind_of(v));
    if (!(d >= 0.0 && d <= 255.0)) return ln_fail(err, LN_E_INPUT, "%s: grey level %g is outside 0-255", where, d);
    return ln_fail(err, LN_E_INPUT, "%s: grey level %g is not a whole number 0-255", where, d);
}

/* One image: 28 lists of 28 levels, or one flat list of 784. */
static ln_status instance(const json_t *img, int i, uint8_t *out, ln_error *err) {
    if (!json_is_array(img))
        return ln_fail(err, LN_E_INPUT, "instances[%d]: expected an image (28 lists of 28 grey levels, or 784), got %s",
                       i, kind_of(img));
    const size_t n = json_array_size(img);
    if (n == SERVE_PIXELS) {
        for (size_t k = 0; k < n; k++) {
            const ln_status s = level(json_array_get(img, k), i, (long)k, -1, out + k, err);
            if (s) return s;
        }
        return LN_OK;
    }
    if (n != SERVE_SIDE)
        return ln_fail(err, LN_E_INPUT,
                       "instances[%d]: an image is 28 rows of 28 grey levels or a flat list of 784; got a list of %zu", i, n);
    for (size_t r = 0; r < n; r++) {
        const json_t *row = json_array_get(img, r);
        if (!json_is_array(row))
            return ln_fail(err, LN_E_INPUT, "instances[%d][%zu]: expected a row of 28 grey levels, got %s", i, r,
                           kind_of(row));
        if (json_array_size(row) != SERVE_SIDE)
            return ln_fail(err, LN_E_INPUT, "instances[%d][%zu]: a row holds 28 grey levels, got %zu", i, r,
                           json_array_size(row));
        for (size_t c = 0; c < SERVE_SIDE; c++) {
            const ln_status s = level(json_array_get(row, c), i, (long)r, (long)c, out + r * SERVE_SIDE + c, err);
            if (s) return s;
        }
    }
    return LN_OK;
}

ln_status serve_decode_instances(const char *body, size_t len, int max_instances, uint8_t **images, int *n,
                                 ln_error *err) {
    *images = NULL;
    *n = 0;
    if (serve_decode_fast(body, len, max_instances, images, n)) return LN_OK;
    return serve_decode_instances_json(body, len, max_instances, images, n, err);
}

ln_status serve_decode_instances_json(const char *body, size_t len, int max_instances, uint8_t **images, int *n,
                                      ln_error *err) {
    *images = NULL;
    *n = 0;
    if (len == 0) return ln_fail(err, LN_E_INPUT, "empty body; send {\"instances\": [IMAGE, ...]}");
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return ln_fail(err, LN_E_INPUT, "body is not valid JSON: %s (line %d, column %d)", je.text, je.line,
                       je.column);
    ln_status s = LN_OK;
    const json_t *inst = NULL;
    const char *key;
    json_t *val;
    if (!json_is_object(root)) {
        s = ln_fail(err, LN_E_INPUT, "expected a JSON object {\"instances\": [IMAGE, ...]}, got %s", kind_of(root));
        goto out;
    }
    json_object_foreach(root, key, val) {
        if (!strcmp(key, "instances")) inst = val;
        else if (!strcmp(key, "signature_name")) {
            if (!json_is_string(val)) {
                s = ln_fail(err, LN_E_INPUT, "\"signature_name\" must be a string");
                goto out;
            }
        } else if (!strcmp(key, "inputs")) {
            s = ln_fail(err, LN_E_INPUT, "the columnar \"inputs\" format is not supported; send {\"instances\": [IMAGE, ...]}");
            goto out;
        } else {
            s = ln_fail(err, LN_E_INPUT, "unknown key \"%.40s\"; send {\"instances\": [IMAGE, ...]}", key);
            goto out;
        }
    }
    if (!inst) {
        s = ln_fail(err, LN_E_INPUT, "missing \"instances\"; send {\"instances\": [IMAGE, ...]}");
        goto out;
    }
    if (!json_is_array(inst)) {
        s = ln_fail(err, LN_E_INPUT, "\"instances\" must be a list of images, got %s", kind_of(inst));
        goto out;
    }
    const size_t count = json_array_size(inst);
    if (count == 0) {
        s = ln_fail(err, LN_E_INPUT, "\"instances\" is empty; send at least one image");
        goto out;
    }
    if (count > (size_t)max_instances) {
        s = ln_fail(err, LN_E_INPUT, "%zu instances in one request; at most %d", count, max_instances);
        goto out;
    }
    uint8_t *px = malloc(count * SERVE_PIXELS);
    if (!px) {
        s = ln_fail(err, LN_E_NOMEM, "out of memory for %zu images", count);
        goto out;
    }
    for (size_t i = 0; i < count && !s; i++) s = instance(json_array_get(inst, i), (int)i, px + i * SERVE_PIXELS, err);
    if (s) {
        free(px);
        goto out;
    }
    *images = px;
    *n = (int)count;
out:
    json_decref(root);
    return s;
}

ln_status serve_decode_picture(const uint8_t *body, size_t len, uint8_t out[SERVE_PIXELS], ln_error *err) {
    if (len == 0) return ln_fail(err, LN_E_INPUT, "empty body; send a PNG or PGM picture of a digit");
    ln_image im;
    ln_status s = ln_image_decode_gray(body, len, "request body", &im, err);
    if (s) return s;
    s = ln_prepare_digit(im.data, im.width, im.height, "request body", out, NULL, err);
    ln_image_free(&im);
    return s;
}
