/* trainlog.c - the metrics log: its writers and its reader (see
 * include/lenet/trainlog.h). */
#include "lenet/trainlog.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lenet/fileio.h"

#include "lenet/bytebuf.h"

/* ---- writing ---- */

/* Write b's line to f in one piece; frees b. */
static ln_status put_line(FILE *f, const char *what, ln_buf *b, ln_error *err) {
    ln_status s = LN_OK;
    if (!ln_buf_ok(b)) s = ln_fail(err, LN_E_NOMEM, "out of memory for a log line: %s", what);
    else if (fwrite(b->p, 1, b->len, f) != b->len || fflush(f) != 0)
        s = ln_fail(err, LN_E_SYSTEM, "cannot write the metrics log (%s): %s", strerror(errno), what);
    ln_buf_free(b);
    return s;
}

ln_status ln_trainlog_write_config(FILE *f, const char *what, const ln_log_field *fields, int n, ln_error *err) {
    ln_buf b;
    ln_buf_init(&b);
    ln_buf_printf(&b, "{\"event\": \"config\"");
    for (int i = 0; i < n; i++) {
        ln_buf_printf(&b, ", ");
        ln_buf_json_str(&b, fields[i].key);
        ln_buf_printf(&b, ": %s", fields[i].value);
    }
    ln_buf_printf(&b, "}\n");
    return put_line(f, what, &b, err);
}

ln_status ln_trainlog_write_step(FILE *f, const char *what, const ln_log_step *s, ln_error *err) {
    ln_buf b;
    ln_buf_init(&b);
    ln_buf_printf(&b, "{\"event\": \"step\", \"epoch\": %d, \"step\": %d, \"global_step\": %ld, \"loss\": ", s->epoch,
                  s->step, s->global_step);
    ln_buf_json_float(&b, (float)s->loss);
    ln_buf_printf(&b, ", \"lr\": ");
    ln_buf_json_float(&b, (float)s->lr);
    ln_buf_printf(&b, "}\n");
    return put_line(f, what, &b, err);
}

ln_status ln_trainlog_write_epoch(FILE *f, const char *what, const ln_log_epoch *e, ln_error *err) {
    ln_buf b;
    ln_buf_init(&b);
    /* JSON has no nan or inf: such a number is written as null */
    char loss[32], acc[32], tloss[32];
    snprintf(loss, sizeof loss, isfinite(e->loss) ? "%.6f" : "null", e->loss);
    snprintf(acc, sizeof acc, isfinite(e->test_accuracy) ? "%.6f" : "null", e->test_accuracy);
    snprintf(tloss, sizeof tloss, isfinite(e->test_loss) ? "%.6f" : "null", e->test_loss);
    ln_buf_printf(&b, "{\"event\": \"epoch\", \"epoch\": %d, \"steps\": %d, \"loss\": %s, \"test_accuracy\": %s, "
                  "\"test_loss\": %s, \"train_seconds\": %.3f, \"images_per_second\": %.1f, \"lr\": ", e->epoch,
                  e->steps, loss, acc, tloss, e->seconds, e->images_per_second);
    ln_buf_json_float(&b, (float)e->lr);
    ln_buf_printf(&b, "}\n");
    return put_line(f, what, &b, err);
}

ln_status ln_trainlog_write_done(FILE *f, const char *what, const char *checkpoint, ln_error *err) {
    ln_buf b;
    ln_buf_init(&b);
    ln_buf_printf(&b, "{\"event\": \"done\", \"checkpoint\": ");
    ln_buf_json_str(&b, checkpoint);
    ln_buf_printf(&b, "}\n");
    return put_line(f, what, &b, err);
}

ln_status ln_trainlog_write_interrupted(FILE *f, const char *what, const char *signal, const char *checkpoint,
                                        ln_error *err) {
    ln_buf b;
    ln_buf_init(&b);
    ln_buf_printf(&b, "{\"event\": \"interrupted\", \"signal\": ");
    ln_buf_json_str(&b, signal);
    ln_buf_printf(&b, ", \"checkpoint\": ");
    if (checkpoint && *checkpoint) ln_buf_json_str(&b, checkpoint);
    else ln_buf_printf(&b, "null");
    ln_buf_printf(&b, "}\n");
    return put_line(f, what, &b, err);
}

/* ---- reading ---- */

/* ---- a flat JSON object: key -> number | string | true/false/null | raw nested text ---- */

enum { V_NUM, V_STR, V_NULL, V_BOOL, V_RAW };

typedef struct {
    char key[64];
    int kind;
    double num;
    char str[256]; /* string value (unescaped) or raw text of a nested value, truncated */
} jfield;

#define MAX_FIELDS 64

typedef struct {
    const char *p;
} jcur;

static void ws(jcur *c) {
    while (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n') c->p++;
}

/* A JSON string into out (truncated to size-1; \u escapes above 0x7f become '?'). */
static int jstring(jcur *c, char *out, size_t size) {
    if (*c->p != '"') return -1;
    c->p++;
    size_t n = 0;
    for (;;) {
        char ch = *c->p++;
        if (ch == 0 || ch == '\n') return -1;
        if (ch == '"') break;
        if (ch == '\\') {
            char e = *c->p++;
            switch (e) {
            case '"': case '\\': case '/': ch = e; break;
            case 'b': ch = '\b'; break;
            case 'f': ch = '\f'; break;
            case 'n': ch = '\n'; break;
            case 'r': ch = '\r'; break;
            case 't': ch = '\t'; break;
            case 'u': {
                unsigned v = 0;
                for (int i = 0; i < 4; i++) {
                    char h = *c->p++;
                    v <<= 4;
                    if (h >= '0' && h <= '9') v |= (unsigned)(h - '0');
                    else if (h >= 'a' && h <= 'f') v |= (unsigned)(h - 'a' + 10);
                    else if (h >= 'A' && h <= 'F') v |= (unsigned)(h - 'A' + 10);
                    else return -1;
                }
                ch = v < 0x80 ? (char)v : '?';
                break;
            }
            default: return -1;
            }
        } else if ((unsigned char)ch < 0x20) {
            return -1;
        }
        if (n + 1 < size) out[n++] = ch;
    }
    out[n] = 0;
    return 0;
}

/* Skip a nested array/object, keeping its text (truncated). */
static int jnested(jcur *c, char *out, size_t size) {
    const char *start = c->p;
    int depth = 0;
    char tmp[2];
    do {
        char ch = *c->p;
        if (ch == 0 || ch == '\n') return -1;
        if (ch == '"') {
            if (jstring(c, tmp, sizeof tmp)) return -1;
            continue;
        }
        if (ch == '[' || ch == '{') depth++;
        if (ch == ']' || ch == '}') depth--;
        c->p++;
    } while (depth > 0);
    size_t n = (size_t)(c->p - start);
    if (n >= size) n = size - 1;
    memcpy(out, start, n);
    out[n] = 0;
    return 0;
}

static int jvalue(jcur *c, jfield *f) {
    char ch = *c->p;
    if (ch == '"') { f->kind = V_STR; return jstring(c, f->str, sizeof f->str); }
    if (ch == '[' || ch == '{') { f->kind = V_RAW; return jnested(c, f->str, sizeof f->str); }
    if (!strncmp(c->p, "null", 4)) { f->kind = V_NULL; f->num = NAN; c->p += 4; snprintf(f->str, sizeof f->str, "null"); return 0; }
    if (!strncmp(c->p, "true", 4)) { f->kind = V_BOOL; f->num = 1; c->p += 4; snprintf(f->str, sizeof f->str, "true"); return 0; }
    if (!strncmp(c->p, "false", 5)) { f->kind = V_BOOL; f->num = 0; c->p += 5; snprintf(f->str, sizeof f->str, "false"); return 0; }
    if (ch == '-' || (ch >= '0' && ch <= '9')) {
        char *end;
        errno = 0;
        f->num = strtod(c->p, &end);
        if (end == c->p) return -1;
        size_t n = (size_t)(end - c->p);
        snprintf(f->str, sizeof f->str, "%.*s", (int)(n < 255 ? n : 255), c->p);
        c->p = end;
        f->kind = V_NUM;
        return 0;
    }
    return -1;
}

/* Parse one line; returns the number of fields or -1. */
static int jobject(const char *line, jfield *f, int max) {
    jcur c = {line};
    ws(&c);
    if (*c.p++ != '{') return -1;
    ws(&c);
    int n = 0;
    if (*c.p == '}') c.p++;
    else
        for (;;) {
            jfield tmp, *fp = n < max ? &f[n] : &tmp;
            memset(fp, 0, sizeof *fp);
            ws(&c);
            if (jstring(&c, fp->key, sizeof fp->key)) return -1;
            ws(&c);
            if (*c.p++ != ':') return -1;
            ws(&c);
            if (jvalue(&c, fp)) return -1;
            if (n < max) n++;
            ws(&c);
            if (*c.p == ',') { c.p++; continue; }
            if (*c.p == '}') { c.p++; break; }
            return -1;
        }
    ws(&c);
    return *c.p ? -1 : n;
}

static const jfield *get(const jfield *f, int n, const char *key) {
    for (int i = 0; i < n; i++)
        if (!strcmp(f[i].key, key)) return &f[i];
    return NULL;
}

/* A numeric field (null gives NaN); 0 if present. */
static int num(const jfield *f, int n, const char *key, double *out) {
    const jfield *v = get(f, n, key);
    if (!v || (v->kind != V_NUM && v->kind != V_NULL)) return -1;
    *out = v->num;
    return 0;
}

/* ---- the log ---- */

static int grow(void **p, int n, int *cap, size_t elem) {
    if (n < *cap) return 0;
    int nc = *cap ? *cap * 2 : 1024;
    void *q = realloc(*p, (size_t)nc * elem);
    if (!q) return -1;
    *p = q;
    *cap = nc;
    return 0;
}

/* The next line into buf (LN_LOG_MAX_LINE + 1 bytes), without its newline.
 * Returns its length, -1 at the end, -2 if too long, -3 if the log is too
 * long (*total counts the bytes read); *cut tells a last line without its
 * newline. */
static long read_line(FILE *fp, char *buf, long long *total, int *cut) {
    long n = 0;
    int ch;
    while ((ch = getc(fp)) != EOF) {
        if (++*total > LN_LOG_MAX_BYTES) return -3;
        if (ch == '\n') break;
        if (n == LN_LOG_MAX_LINE) return -2;
        buf[n++] = (char)ch;
    }
    if (ch == EOF && n == 0) return -1;
    buf[n] = 0;
    *cut = ch == EOF; /* no newline: the last line, perhaps cut short */
    return n;
}

ln_status ln_trainlog_read(const char *path, ln_trainlog *out, ln_error *err) {
    memset(out, 0, sizeof *out);
    int fd;
    if (ln_input_open(path, 1, "the metrics log", &fd, err)) return err ? err->status : LN_E_INPUT;
    FILE *fp = fdopen(fd, "r");
    if (!fp) { close(fd); return ln_fail(err, LN_E_NOMEM, "out of memory reading %s", path); }
    char *line = malloc(LN_LOG_MAX_LINE + 1);
    long long total = 0;
    long lineno = 0;
    int scap = 0, ecap = 0, new_run_pending = 0;
    ln_status s = LN_OK;
    jfield *f = malloc(sizeof *f * MAX_FIELDS);
    if (!f || !line) { free(f), free(line), fclose(fp); return ln_fail(err, LN_E_NOMEM, "out of memory: %s", path); }
    long len;
    int cut = 0;
    while ((len = read_line(fp, line, &total, &cut)) != -1) {
        lineno++;
        if (len < 0) {
            s = len == -2 ? ln_fail(err, LN_E_INPUT, "line %ld is longer than %d bytes, so this is not a metrics log: "
                                    "%s", lineno, LN_LOG_MAX_LINE, path)
                          : ln_fail(err, LN_E_INPUT, "metrics log longer than %lld MiB, more than any run "
                                    "writes: %s", LN_LOG_MAX_BYTES >> 20, path);
            break;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[len - 1] = 0, len--;
        const char *q = line;
        while (*q == ' ' || *q == '\t') q++;
        if (!*q) continue;
        int n = jobject(line, f, MAX_FIELDS);
        const jfield *ev = n >= 0 ? get(f, n, "event") : NULL;
        if ((n < 0 || !ev || ev->kind != V_STR) && cut) {
            out->cut_line = lineno; /* a writer killed mid-line: keep what came before */
            break;
        }
        if (n < 0 || !ev || ev->kind != V_STR) {
            s = ln_fail(err, LN_E_INPUT, "not a metrics line (a JSON object with an \"event\"): %s:%ld; is this the "
                        "metrics log of a training run (`log`)?", path, lineno);
            break;
        }
        if (!strcmp(ev->str, "config")) {
            out->n_runs++;
            new_run_pending = 1;
            out->n_config = 0;
            for (int i = 0; i < n && out->n_config < LN_LOG_MAX_CONFIG; i++) {
                if (!strcmp(f[i].key, "event")) continue;
                snprintf(out->config_key[out->n_config], sizeof out->config_key[0], "%s", f[i].key);
                snprintf(out->config_val[out->n_config], sizeof out->config_val[0], "%s", f[i].str);
                out->n_config++;
            }
        } else if (!strcmp(ev->str, "step")) {
            double ep, st, gs, loss, lr = NAN;
            if (num(f, n, "epoch", &ep) || num(f, n, "step", &st) || num(f, n, "global_step", &gs) ||
                num(f, n, "loss", &loss) || !isfinite(ep) || !isfinite(st) || !isfinite(gs)) {
                s = ln_fail(err, LN_E_INPUT, "a step line needs numbers epoch, step, global_step and loss: %s:%ld",
                            path, lineno);
                break;
            }
            num(f, n, "lr", &lr);
            if (new_run_pending && out->n_steps > 0 && (long)gs <= out->steps[out->n_steps - 1].global_step) {
                out->n_steps = out->n_epochs = 0; /* a new run: keep only the last */
                out->checkpoint[0] = 0;
            }
            new_run_pending = 0;
            if (grow((void **)&out->steps, out->n_steps, &scap, sizeof *out->steps)) {
                s = ln_fail(err, LN_E_NOMEM, "out of memory: %s", path);
                break;
            }
            out->steps[out->n_steps++] = (ln_log_step){(long)gs, (int)ep, (int)st, loss, lr};
        } else if (!strcmp(ev->str, "epoch")) {
            ln_log_epoch e = {0};
            double ep, steps;
            if (num(f, n, "epoch", &ep) || num(f, n, "steps", &steps) || num(f, n, "loss", &e.loss) ||
                !isfinite(ep) || !isfinite(steps)) {
                s = ln_fail(err, LN_E_INPUT, "an epoch line needs numbers epoch, steps and loss: %s:%ld", path, lineno);
                break;
            }
            e.epoch = (int)ep;
            e.steps = (int)steps;
            e.test_accuracy = e.test_loss = e.seconds = e.images_per_second = e.lr = NAN;
            num(f, n, "test_accuracy", &e.test_accuracy);
            num(f, n, "test_loss", &e.test_loss);
            num(f, n, "train_seconds", &e.seconds);
            num(f, n, "images_per_second", &e.images_per_second);
            num(f, n, "lr", &e.lr);
            if (new_run_pending && out->n_epochs > 0 && out->n_steps == 0) out->n_epochs = 0;
            e.last_global_step = out->n_steps ? out->steps[out->n_steps - 1].global_step
                                              : (out->n_epochs ? out->epochs[out->n_epochs - 1].last_global_step : 0) + e.steps;
            if (grow((void **)&out->epochs, out->n_epochs, &ecap, sizeof *out->epochs)) {
                s = ln_fail(err, LN_E_NOMEM, "out of memory: %s", path);
                break;
            }
            out->epochs[out->n_epochs++] = e;
        } else if (!strcmp(ev->str, "done")) {
            const jfield *ck = get(f, n, "checkpoint");
            if (ck && ck->kind == V_STR) snprintf(out->checkpoint, sizeof out->checkpoint, "%s", ck->str);
        }
    }
    if (!s && ferror(fp)) s = ln_fail(err, LN_E_INPUT, "read error: %s", path);
    if (!s && out->n_steps == 0 && out->n_epochs == 0)
        s = ln_fail(err, LN_E_INPUT, "no step or epoch lines: %s; training writes them when given `log=FILE.jsonl`",
                    path);
    free(line);
    free(f);
    fclose(fp);
    if (s) ln_trainlog_free(out);
    return s;
}

void ln_trainlog_free(ln_trainlog *log) {
    free(log->steps);
    free(log->epochs);
    memset(log, 0, sizeof *log);
}
