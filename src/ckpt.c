/* ckpt.c - MindSpore checkpoint reader and atomic writer (see ckpt.h). */
#include "lenet/ckpt.h"
#include "lenet/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_CKPT_BYTES (1ull << 32)

/* ---------- reading ---------- */

typedef struct {
    const uint8_t *p, *end;
} cursor;

static int get_varint(cursor *c, uint64_t *v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (c->p >= c->end) return -1;
        uint8_t b = *c->p++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) { *v = r; return 0; }
    }
    return -1;
}

/* Length-delimited field body -> sub-cursor. */
static int get_bytes(cursor *c, cursor *sub) {
    uint64_t len;
    if (get_varint(c, &len) || len > (uint64_t)(c->end - c->p)) return -1;
    sub->p = c->p;
    sub->end = c->p + len;
    c->p += len;
    return 0;
}

static int skip_field(cursor *c, int wire) {
    uint64_t v;
    cursor s;
    switch (wire) {
    case 0: return get_varint(c, &v);
    case 1: if (c->end - c->p < 8) return -1; c->p += 8; return 0;
    case 2: return get_bytes(c, &s);
    case 5: if (c->end - c->p < 4) return -1; c->p += 4; return 0;
    default: return -1;
    }
}

static size_t dtype_size(const char *t) {
    static const struct { const char *name; size_t size; } T[] = {
        {"Float32", 4}, {"Float16", 2}, {"Float64", 8}, {"BFloat16", 2}, {"Int8", 1}, {"Int16", 2},
        {"Int32", 4},   {"Int64", 8},   {"UInt8", 1},   {"Uint8", 1},    {"UInt16", 2}, {"UInt32", 4},
        {"UInt64", 8},  {"Bool", 1},    {"str", 1},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++)
        if (!strcmp(t, T[i].name)) return T[i].size;
    return 0;
}

/* Parse a TensorProto into e (data points into the file buffer). */
static int parse_tensor(cursor c, ln_ckpt_entry *e, const char **why) {
    int have_type = 0, have_content = 0;
    while (c.p < c.end) {
        uint64_t key, v;
        if (get_varint(&c, &key)) return *why = "bad field key", -1;
        int field = (int)(key >> 3), wire = (int)(key & 7);
        if (field == 1 && wire == 0) {
            if (get_varint(&c, &v)) return *why = "bad dimension", -1;
            if (e->ndim >= LN_CKPT_MAX_DIMS) return *why = "too many dimensions", -1;
            e->dims[e->ndim++] = (int64_t)v;
        } else if (field == 1 && wire == 2) { /* packed dims */
            cursor s;
            if (get_bytes(&c, &s)) return *why = "bad packed dimensions", -1;
            while (s.p < s.end) {
                if (get_varint(&s, &v)) return *why = "bad packed dimension", -1;
                if (e->ndim >= LN_CKPT_MAX_DIMS) return *why = "too many dimensions", -1;
                e->dims[e->ndim++] = (int64_t)v;
            }
        } else if (field == 2 && wire == 2) {
            cursor s;
            if (get_bytes(&c, &s) || s.end - s.p >= (long)sizeof e->dtype) return *why = "bad dtype", -1;
            memcpy(e->dtype, s.p, (size_t)(s.end - s.p));
            e->dtype[s.end - s.p] = 0;
            have_type = 1;
        } else if (field == 3 && wire == 2) {
            cursor s;
            if (get_bytes(&c, &s)) return *why = "bad tensor content length", -1;
            e->data = (uint8_t *)s.p;
            e->nbytes = (size_t)(s.end - s.p);
            have_content = 1;
        } else if (skip_field(&c, wire)) {
            return *why = "bad field", -1;
        }
    }
    if (!have_type || !have_content) return *why = "tensor without dtype or content", -1;
    return 0;
}

/* "[2147483648, 2147483648]" into buf. */
typedef struct { char s[LN_CKPT_MAX_DIMS * 22 + 3]; } dims_buf;
static const char *dims_text(const ln_ckpt_entry *e, dims_buf *b) {
    char *buf = b->s;
    size_t k = (size_t)snprintf(buf, sizeof b->s, "[");
    for (int d = 0; d < e->ndim; d++)
        k += (size_t)snprintf(buf + k, sizeof b->s - k, "%s%lld", d ? ", " : "", (long long)e->dims[d]);
    snprintf(buf + k, sizeof b->s - k, "]");
    return buf;
}

/* Index of the first NaN/Inf element of a floating-point tensor, or -1. */
static long first_non_finite(const ln_ckpt_entry *e) {
    const uint8_t *p = e->data;
    if (!strcmp(e->dtype, "Float32")) {
        for (size_t i = 0; i < e->count; i++, p += 4)
            if (((uint32_t)p[3] << 8 | p[2]) >> 7 == 0xff || (((uint32_t)p[3] << 8 | p[2]) >> 7) == 0x1ff)
                return (long)i;
    } else if (!strcmp(e->dtype, "Float64")) {
        for (size_t i = 0; i < e->count; i++, p += 8)
            if ((((uint32_t)p[7] << 8 | p[6]) >> 4 & 0x7ff) == 0x7ff) return (long)i;
    } else if (!strcmp(e->dtype, "Float16")) {
        for (size_t i = 0; i < e->count; i++, p += 2)
            if ((p[1] & 0x7c) == 0x7c) return (long)i;
    } else if (!strcmp(e->dtype, "BFloat16")) {
        for (size_t i = 0; i < e->count; i++, p += 2)
            if (((uint32_t)p[1] << 8 | p[0]) >> 7 == 0xff || ((uint32_t)p[1] << 8 | p[0]) >> 7 == 0x1ff)
                return (long)i;
    }
    return -1;
}

/* A tensor's content (all its slices) must be exactly count * element size,
 * and a floating-point tensor must hold finite numbers only. */
static ln_status check_complete(const ln_ckpt_entry *e, const char *path, ln_error *err) {
    dims_buf db;
    if (strcmp(e->dtype, "str") && e->nbytes != e->count * dtype_size(e->dtype))
        return ln_fail(err, LN_E_INPUT, "content bytes (%zu) do not fit shape %s and dtype %s of tensor %s; the "
                       "checkpoint %s is corrupt or truncated", e->nbytes, dims_text(e, &db), e->dtype, e->name, path);
    const long bad = first_non_finite(e);
    if (bad >= 0)
        return ln_fail(err, LN_E_INPUT, "non-finite value (NaN or Inf) at index %ld of tensor %s; the checkpoint "
                       "%s is corrupt or from a diverged run", bad, e->name, path);
    return LN_OK;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp((*(const ln_ckpt_entry *const *)a)->name, (*(const ln_ckpt_entry *const *)b)->name);
}

/* Two tensors of one name (not consecutive slices): LN_E_INPUT naming it. */
static ln_status check_unique(ln_ckpt_entry *e, int n, const char *path, ln_error *err) {
    ln_ckpt_entry **by = malloc(sizeof *by * (size_t)(n ? n : 1));
    if (!by) return ln_fail(err, LN_E_NOMEM, "out of memory: %s", path);
    for (int i = 0; i < n; i++) by[i] = &e[i];
    qsort(by, (size_t)n, sizeof *by, cmp_name);
    ln_status s = LN_OK;
    for (int i = 1; i < n && !s; i++)
        if (!strcmp(by[i - 1]->name, by[i]->name))
            s = ln_fail(err, LN_E_INPUT, "tensor %s appears twice; the checkpoint %s is corrupt", by[i]->name, path);
    free(by);
    return s;
}

static void free_entries(ln_ckpt_entry *e, int n) {
    for (int i = 0; i < n; i++) free(e[i].data);
    free(e);
}

ln_status ln_ckpt_read(const char *path, ln_ckpt *out, ln_error *err) {
    memset(out, 0, sizeof *out);
    int fd;
    if (ln_input_open(path, 0, "the checkpoint", &fd, err)) return LN_E_INPUT;
    FILE *f = fdopen(fd, "rb");
    if (!f) { close(fd); return ln_fail(err, LN_E_NOMEM, "out of memory: %s", path); }
    struct stat st;
    if (fstat(fd, &st) != 0 || (unsigned long long)st.st_size > MAX_CKPT_BYTES) {
        fclose(f);
        return ln_fail(err, LN_E_INPUT, "checkpoint larger than 4 GiB: %s", path);
    }
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) { fclose(f); return ln_fail(err, LN_E_NOMEM, "out of memory: %s", path); }
    size_t got = fread(buf, 1, size, f);
    fclose(f);
    if (got != size) { free(buf); return ln_fail(err, LN_E_INPUT, "short read (the file shrank while read): %s", path); }

    ln_status s = LN_OK;
    cursor c = {buf, buf + size};
    int cap = 0, n = 0;
    ln_ckpt_entry *ents = NULL;
    uLong crc = crc32(0L, Z_NULL, 0);
    const char *why = NULL;
    while (c.p < c.end) {
        /* MindSpore >= 2.3 trailer: "crc_num" + the CRC as 10 big-endian bytes.
         * (A record starts with byte 0x0A, never 'c', so this is unambiguous.) */
        if (c.end - c.p >= 7 && !memcmp(c.p, "crc_num", 7)) {
            const uint8_t *t = c.p + 7;
            if (c.end - t != 10) { why = "malformed crc_num trailer"; break; }
            uint64_t want = 0;
            for (int i = 0; i < 10; i++) want = (want << 8) | t[i];
            if (t[0] || t[1]) want = ~0ull; /* more than 64 bits: cannot match */
            if (want != (uint64_t)crc) {
                ln_fail(err, LN_E_INPUT, "CRC mismatch (file says %llu, data gives %lu): %s; the checkpoint is corrupt",
                        (unsigned long long)want, (unsigned long)crc, path);
                s = LN_E_INPUT;
                goto done;
            }
            out->had_crc = 1;
            c.p = c.end;
            break;
        }
        const uint8_t *rec_start = c.p;
        uint64_t key;
        cursor msg;
        if (get_varint(&c, &key) || key != ((1 << 3) | 2) || get_bytes(&c, &msg)) {
            why = "not a checkpoint record (protobuf framing)";
            break;
        }
        crc = crc32(crc, rec_start, (uInt)(c.p - rec_start));
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            ln_ckpt_entry *ne = realloc(ents, sizeof *ents * (size_t)cap);
            if (!ne) { s = ln_fail(err, LN_E_NOMEM, "out of memory: %s", path); goto done; }
            ents = ne;
        }
        ln_ckpt_entry *e = &ents[n];
        memset(e, 0, sizeof *e);
        int have_name = 0, have_tensor = 0;
        while (msg.p < msg.end) {
            uint64_t k2;
            if (get_varint(&msg, &k2)) { why = "bad field key"; break; }
            int field = (int)(k2 >> 3), wire = (int)(k2 & 7);
            cursor sub;
            if (field == 1 && wire == 2) {
                if (get_bytes(&msg, &sub) || sub.end - sub.p >= (long)sizeof e->name || sub.end == sub.p) {
                    why = "bad tensor name";
                    break;
                }
                memcpy(e->name, sub.p, (size_t)(sub.end - sub.p));
                e->name[sub.end - sub.p] = 0;
                have_name = 1;
            } else if (field == 2 && wire == 2) {
                if (get_bytes(&msg, &sub) || parse_tensor(sub, e, &why)) { if (!why) why = "bad tensor"; break; }
                have_tensor = 1;
            } else if (field == 3 && wire == 2) {
                why = "map tensors are not supported";
                break;
            } else if (skip_field(&msg, wire)) {
                why = "bad field";
                break;
            }
        }
        if (why) break;
        if (!have_name || !have_tensor) { why = "record without a name or a tensor"; break; }
        size_t esz = dtype_size(e->dtype);
        if (!esz) {
            ln_fail(err, LN_E_INPUT, "tensor %s has unknown dtype '%s': %s", e->name, e->dtype, path);
            s = LN_E_INPUT;
            goto done;
        }
        size_t count = 1, total = 0;
        int scalar = e->ndim == 1 && e->dims[0] == 0, bad_dim = 0;
        if (!scalar)
            for (int d = 0; d < e->ndim && !bad_dim; d++)
                bad_dim = e->dims[d] <= 0 || __builtin_mul_overflow(count, (size_t)e->dims[d], &count);
        if (bad_dim || __builtin_mul_overflow(count, esz, &total) || total > MAX_CKPT_BYTES) {
            dims_buf db;
            ln_fail(err, LN_E_INPUT, "invalid shape %s of tensor %s (a dimension not positive, or more than 4 GiB "
                    "of data); the checkpoint %s is corrupt", dims_text(e, &db), e->name, path);
            s = LN_E_INPUT;
            goto done;
        }
        e->count = count;
        /* Consecutive records with the same name are slices of one tensor
         * (MindSpore splits tensors over 512 MiB): each carries the full shape
         * and part of the content; the pieces must add up exactly. */
        if (n > 0 && !strcmp(ents[n - 1].name, e->name)) {
            ln_ckpt_entry *p = &ents[n - 1];
            int same = p->ndim == e->ndim && !strcmp(p->dtype, e->dtype);
            for (int d = 0; same && d < e->ndim; d++) same = p->dims[d] == e->dims[d];
            if (!same || p->nbytes + e->nbytes > p->count * esz) {
                ln_fail(err, LN_E_INPUT, "tensor %s appears twice or its slices do not fit its shape: %s; the "
                        "checkpoint is corrupt", e->name, path);
                s = LN_E_INPUT;
                goto done;
            }
            uint8_t *nd = realloc(p->data, p->nbytes + e->nbytes);
            if (!nd) { s = ln_fail(err, LN_E_NOMEM, "out of memory: %s", path); goto done; }
            memcpy(nd + p->nbytes, e->data, e->nbytes);
            p->data = nd;
            p->nbytes += e->nbytes;
            continue;
        }
        if (n > 0 && (s = check_complete(&ents[n - 1], path, err))) goto done;
        uint8_t *copy = malloc(e->nbytes ? e->nbytes : 1);
        if (!copy) { s = ln_fail(err, LN_E_NOMEM, "out of memory: %s", path); goto done; }
        memcpy(copy, e->data, e->nbytes);
        e->data = copy;
        n++;
    }
    if (!why && n > 0 && (s = check_complete(&ents[n - 1], path, err))) goto done;
    if (!why && (s = check_unique(ents, n, path, err))) goto done;
    if (why) {
        ln_fail(err, LN_E_INPUT, "corrupt or truncated checkpoint at byte %ld (%s): %s",
                (long)(c.p - buf), why, path);
        s = LN_E_INPUT;
    } else if (n == 0) {
        s = ln_fail(err, LN_E_INPUT, "checkpoint holds no tensors: %s", path);
    }
done:
    free(buf);
    if (s) {
        free_entries(ents, n);
        memset(out, 0, sizeof *out);
        return s;
    }
    out->n = n;
    out->e = ents;
    return LN_OK;
}

void ln_ckpt_free(ln_ckpt *c) {
    free_entries(c->e, c->n);
    memset(c, 0, sizeof *c);
}

const ln_ckpt_entry *ln_ckpt_get(const ln_ckpt *c, const char *name) {
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->e[i].name, name)) return &c->e[i];
    return NULL;
}

/* ---------- writing ---------- */

static size_t put_varint(uint8_t *p, uint64_t v) {
    size_t n = 0;
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        p[n++] = b | (v ? 0x80 : 0);
    } while (v);
    return n;
}

static size_t varint_len(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) v >>= 7, n++;
    return n;
}

/* Serialise one record into a malloc'd buffer. */
static uint8_t *encode_record(const ln_ckpt_item *it, size_t *len_out) {
    size_t count = 1;
    for (int d = 0; d < it->ndim; d++) count *= (size_t)it->dims[d];
    const size_t content = count * 4, namelen = strlen(it->name), typelen = strlen(it->dtype);
    size_t tensor = 0;
    if (it->ndim == 0) tensor += 2;
    for (int d = 0; d < it->ndim; d++) tensor += 1 + varint_len((uint64_t)it->dims[d]);
    tensor += 1 + varint_len(typelen) + typelen + 1 + varint_len(content) + content;
    const size_t value = 1 + varint_len(namelen) + namelen + 1 + varint_len(tensor) + tensor;
    const size_t total = 1 + varint_len(value) + value;
    uint8_t *b = malloc(total), *p = b;
    if (!b) return NULL;
    *p++ = 0x0A, p += put_varint(p, value);
    *p++ = 0x0A, p += put_varint(p, namelen), memcpy(p, it->name, namelen), p += namelen;
    *p++ = 0x12, p += put_varint(p, tensor);
    if (it->ndim == 0) *p++ = 0x08, *p++ = 0x00;
    for (int d = 0; d < it->ndim; d++) *p++ = 0x08, p += put_varint(p, (uint64_t)it->dims[d]);
    *p++ = 0x12, p += put_varint(p, typelen), memcpy(p, it->dtype, typelen), p += typelen;
    *p++ = 0x1A, p += put_varint(p, content), memcpy(p, it->data, content), p += content;
    *len_out = (size_t)(p - b);
    return b;
}

ln_status ln_ckpt_write(const char *path, const ln_ckpt_item *items, int n, int with_crc, ln_error *err) {
    ln_ckpt_write_opts o = {.with_crc = with_crc};
    return ln_ckpt_write_ex(path, items, n, &o, err);
}

/* Test-only build (-DLN_TEST_HOOKS, the Makefile's $(BUILD)/lenet-testhooks,
 * never installed): with LENET_TEST_CKPT_PAUSE_MS set, pause that long after
 * the middle record of every write, so a test can kill the writer there. */
static void test_pause_mid_write(int index, int n) {
#ifdef LN_TEST_HOOKS
    const char *ms = getenv("LENET_TEST_CKPT_PAUSE_MS");
    if (index == n / 2 && ms && atol(ms) > 0) {
        struct timespec ts = {atol(ms) / 1000, (atol(ms) % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {} /* a signal (Ctrl-C) does not cut it short */
    }
#else
    (void)index, (void)n;
#endif
}

ln_status ln_ckpt_write_ex(const char *path, const ln_ckpt_item *items, int n, const ln_ckpt_write_opts *opts,
                           ln_error *err) {
    const int with_crc = opts && opts->with_crc;
    ln_out out;
    ln_status s = ln_out_begin(&out, path, err);
    if (s) return s;
    uLong crc = crc32(0L, Z_NULL, 0);
    for (int i = 0; i < n && !s; i++) {
        size_t len;
        uint8_t *rec = encode_record(&items[i], &len);
        if (!rec) { s = ln_fail(err, LN_E_NOMEM, "out of memory writing %s", path); break; }
        crc = crc32(crc, rec, (uInt)len);
        s = ln_out_write(&out, rec, len, err);
        free(rec);
        if (!s) test_pause_mid_write(i, n);
    }
    if (!s && with_crc) {
        /* "crc_num" then the CRC as a 10-byte big-endian integer (MindSpore 2.3:
         * crc_num.to_bytes(10, byteorder='big')). */
        uint8_t trailer[17];
        memcpy(trailer, "crc_num", 7);
        uint64_t v = crc;
        for (int i = 16; i >= 7; i--, v >>= 8) trailer[i] = (uint8_t)v;
        s = ln_out_write(&out, trailer, sizeof trailer, err);
    }
    return ln_out_commit(&out, s, opts && opts->no_replace, err);
}
