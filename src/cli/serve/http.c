/* http.c - the routes of `lenet serve` on libmicrohttpd (see http.h). */
#include "http.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "answer.h"
#include "decode.h"
#include "lenet/pipeline.h"
#include "lenet/transform.h"

#define JSON_OUT (JSON_COMPACT | JSON_REAL_PRECISION(9))

/* One request, from its headers to its answer (MHD's *con_cls). */
typedef struct {
    serve_http *h;
    struct MHD_Connection *conn;
    int route;
    double t0;
    unsigned code;           /* status queued, 0 until then */
    char *body;
    size_t len, cap;
    int too_big;
    int expecting;           /* counted in the engine's `expected` */
    int submitted;
    atomic_int answered;     /* the batcher has filled probs */
    int n;
    float *x, *probs;
    uint8_t prepared[SERVE_PIXELS]; /* :classify-image: what the network saw */
    serve_job job;
} request;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Queue an answer; `mode` says who owns buf. Returns MHD_YES/MHD_NO. */
static enum MHD_Result reply(request *r, unsigned code, const char *type, void *buf, size_t len,
                             enum MHD_ResponseMemoryMode mode, const char *extra_name, const char *extra_value) {
    const serve_mhd *m = &r->h->mhd;
    struct MHD_Response *resp = m->create_response_from_buffer(len, buf, mode);
    if (!resp) {
        if (mode == MHD_RESPMEM_MUST_FREE) free(buf);
        return MHD_NO;
    }
    m->add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    m->add_response_header(resp, "X-Content-Type-Options", "nosniff");
    m->add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (extra_name) m->add_response_header(resp, extra_name, extra_value);
    if (atomic_load(&r->h->stopping)) m->add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    const enum MHD_Result ok = m->queue_response(r->conn, code, resp);
    m->destroy_response(resp);
    if (ok == MHD_YES && !r->code) {
        r->code = code;
        serve_metrics_request(&r->h->metrics, r->route, code, now_s() - r->t0);
    }
    return ok;
}

static enum MHD_Result reply_json(request *r, unsigned code, json_t *v, const char *hn, const char *hv) {
    char *s = v ? json_dumps(v, JSON_OUT) : NULL;
    json_decref(v);
    if (!s) return MHD_NO;
    return reply(r, code, "application/json", s, strlen(s), MHD_RESPMEM_MUST_FREE, hn, hv);
}

static enum MHD_Result reply_error(request *r, unsigned code, const char *msg) {
    return reply_json(r, code, json_pack("{s:s}", "error", msg), NULL, NULL);
}

static enum MHD_Result reply_method(request *r, const char *allow) {
    char msg[96];
    snprintf(msg, sizeof msg, "method not allowed here; use %s", allow);
    json_t *v = json_pack("{s:s}", "error", msg);
    char *s = v ? json_dumps(v, JSON_OUT) : NULL;
    json_decref(v);
    if (!s) return MHD_NO;
    return reply(r, MHD_HTTP_METHOD_NOT_ALLOWED, "application/json", s, strlen(s), MHD_RESPMEM_MUST_FREE,
                 MHD_HTTP_HEADER_ALLOW, allow);
}

/* ------------------------------------------------------------ answers ---- */

static enum MHD_Result answer_prediction(request *r) {
    if (r->job.refused) { /* still queued when the grace period ran out */
        serve_engine_release(&r->h->engine, r->job.model);
        r->job.model = NULL;
        return reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "server is stopping");
    }
    size_t len = 0;
    char *body = serve_answer_predictions(r->probs, r->n, r->route == R_CLASSIFY ? r->prepared : NULL, &len);
    char sha[65];
    memcpy(sha, r->job.model->sha256, sizeof sha);
    serve_engine_release(&r->h->engine, r->job.model);
    r->job.model = NULL;
    if (!body) return reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot write the answer (out of memory?)");
    return reply(r, MHD_HTTP_OK, "application/json", body, len, MHD_RESPMEM_MUST_FREE, "X-Model-Sha256", sha);
}

static enum MHD_Result answer_status(request *r) {
    serve_http *h = r->h;
    serve_model *m = serve_engine_acquire(&h->engine);
    char when[32], version[24];
    struct tm tm;
    gmtime_r(&m->loaded_at, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(version, sizeof version, "%ld", m->generation);
    pthread_mutex_lock(&h->mu);
    json_t *last = h->last_error[0] ? json_string(h->last_error) : json_null();
    pthread_mutex_unlock(&h->mu);
    json_t *v = json_pack("{s:[{s:s,s:s,s:{s:s,s:s}}],s:s,s:b,s:s,s:s,s:I,s:s,s:s,s:I,s:o}",
                          "model_version_status", "version", version, "state", "AVAILABLE", "status", "error_code",
                          "OK", "error_message", "", "name", "lenet", "ready", 1, "checkpoint", m->path, "sha256",
                          m->sha256, "parameters", (json_int_t)m->n_params, "variant",
                          m->conv_bias ? "conv_bias on" : "conv_bias off", "loaded_at", when, "generation",
                          (json_int_t)m->generation, "last_reload_error", last);
    serve_engine_release(&h->engine, m);
    return reply_json(r, MHD_HTTP_OK, v, NULL, NULL);
}

static enum MHD_Result answer_metrics(request *r) {
    size_t len;
    char *s = serve_metrics_text(&r->h->metrics, &len);
    if (!s) return reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    return reply(r, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", s, len, MHD_RESPMEM_MUST_FREE, NULL,
                 NULL);
}

static enum MHD_Result answer_page(request *r) {
    return reply(r, MHD_HTTP_OK, "text/html; charset=utf-8", (void *)serve_page_html, serve_page_html_len,
                 MHD_RESPMEM_PERSISTENT, "Content-Security-Policy",
                 "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; "
                 "connect-src 'self'; form-action 'none'; frame-ancestors 'none'");
}

/* The batcher answered: wake the connection (on the worker thread). */
static void job_done(serve_job *job) {
    request *r = (request *)((char *)job - offsetof(request, job));
    atomic_store(&r->answered, 1);
    r->h->mhd.resume_connection(r->conn);
}

/* The whole body is in: decode it, queue it for the batcher. */
static enum MHD_Result submit(request *r) {
    serve_http *h = r->h;
    ln_error err;
    ln_status s;
    uint8_t *px = NULL;
    if (r->route == R_PREDICT) {
        s = serve_decode_instances(r->body ? r->body : "", r->len, h->o.max_instances, &px, &r->n, &err);
    } else {
        s = serve_decode_picture((const uint8_t *)(r->body ? r->body : ""), r->len, r->prepared, &err);
        px = r->prepared;
        r->n = 1;
    }
    free(r->body);
    r->body = NULL;
    if (!s) {
        r->x = malloc(sizeof(float) * (size_t)r->n * LN_IMG * LN_IMG);
        r->probs = malloc(sizeof(float) * (size_t)r->n * LN_CLASSES);
        if (!r->x || !r->probs) s = ln_fail(&err, LN_E_NOMEM, "out of memory for %d images", r->n);
    }
    if (!s)
        for (int i = 0; i < r->n; i++)
            ln_transform_image(px + (size_t)i * SERVE_PIXELS, SERVE_SIDE, SERVE_SIDE,
                               r->x + (size_t)i * LN_IMG * LN_IMG);
    if (px != r->prepared) free(px);
    if (s) {
        serve_engine_expect(&h->engine, -1);
        r->expecting = 0;
        return reply_error(r, s == LN_E_NOMEM ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_BAD_REQUEST, err.msg);
    }
    r->job.n = r->n;
    r->job.x = r->x;
    r->job.probs = r->probs;
    r->job.done = job_done;
    r->submitted = 1;
    r->expecting = 0;
    r->h->mhd.suspend_connection(r->conn); /* before the job can be answered */
    serve_engine_submit(&h->engine, &r->job, 1);
    return MHD_YES;
}

/* ------------------------------------------------------------- routing ---- */

static int is_get(const char *m) { return !strcmp(m, MHD_HTTP_METHOD_GET) || !strcmp(m, MHD_HTTP_METHOD_HEAD); }

/* The first call for a request: route it; answer at once unless a body must be read. */
static enum MHD_Result begin(request *r, const char *url, const char *method) {
    serve_http *h = r->h;
    static const char models[] = "/v1/models/";
    int post = 0;
    if (!strcmp(url, "/")) r->route = R_PAGE;
    else if (!strcmp(url, "/healthz")) r->route = R_HEALTH;
    else if (!strcmp(url, "/metrics")) r->route = R_METRICS;
    else if (!strcmp(url, "/v1/models") || !strcmp(url, "/v1/models/lenet")) r->route = R_STATUS;
    else if (!strcmp(url, "/v1/models/lenet:predict")) r->route = R_PREDICT, post = 1;
    else if (!strcmp(url, "/v1/models/lenet:classify-image")) r->route = R_CLASSIFY, post = 1;
    else {
        r->route = R_OTHER;
        if (!strncmp(url, models, sizeof models - 1)) {
            const char *name = url + sizeof models - 1;
            const size_t n = strcspn(name, ":/");
            if (n == 5 && !strncmp(name, "lenet", 5))
                return reply_error(r, MHD_HTTP_NOT_FOUND,
                                   "unknown route; the model answers POST /v1/models/lenet:predict and "
                                   "POST /v1/models/lenet:classify-image");
            char msg[160];
            snprintf(msg, sizeof msg, "model '%.*s' not found; this server serves 'lenet'", (int)(n > 64 ? 64 : n), name);
            return reply_error(r, MHD_HTTP_NOT_FOUND, msg);
        }
        return reply_error(r, MHD_HTTP_NOT_FOUND, "not found; try GET / or POST /v1/models/lenet:predict");
    }
    if (post) {
        if (strcmp(method, MHD_HTTP_METHOD_POST)) return reply_method(r, "POST");
        const char *cl = r->h->mhd.lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > h->o.max_body) {
            char msg[96];
            snprintf(msg, sizeof msg, "body larger than %zu bytes (--max-body)", h->o.max_body);
            return reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, msg);
        }
        if (atomic_load(&h->stopping)) return reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "server is stopping");
        serve_engine_expect(&h->engine, +1);
        r->expecting = 1;
        return MHD_YES; /* the body follows */
    }
    if (!is_get(method)) return reply_method(r, "GET, HEAD");
    switch (r->route) {
    case R_PAGE: return answer_page(r);
    case R_HEALTH:
        if (atomic_load(&h->stopping))
            return reply_json(r, MHD_HTTP_SERVICE_UNAVAILABLE, json_pack("{s:s}", "status", "stopping"), NULL, NULL);
        return reply_json(r, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"), NULL, NULL);
    case R_METRICS: return answer_metrics(r);
    default:
        if (!strcmp(url, "/v1/models")) return reply_json(r, MHD_HTTP_OK, json_pack("{s:[s]}", "models", "lenet"), NULL, NULL);
        return answer_status(r);
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    (void)version;
    serve_http *h = cls;
    request *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        r->h = h;
        r->conn = conn;
        r->t0 = now_s();
        *con_cls = r;
        atomic_fetch_add(&h->metrics.in_flight, 1);
        return begin(r, url, method);
    }
    if (r->code) { /* answered already (an early error): drop any body */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) { /* a piece of the body */
        const size_t n = *upload_size;
        *upload_size = 0;
        if (r->too_big) return MHD_YES;
        if (n > h->o.max_body - r->len) {
            r->too_big = 1;
            free(r->body);
            r->body = NULL;
            return MHD_YES;
        }
        if (r->len + n > r->cap) {
            size_t cap = r->cap ? r->cap : 4096;
            while (cap < r->len + n) cap *= 2;
            if (cap > h->o.max_body) cap = h->o.max_body;
            char *b = realloc(r->body, cap);
            if (!b) return MHD_NO;
            r->body = b;
            r->cap = cap;
        }
        memcpy(r->body + r->len, upload, n);
        r->len += n;
        return MHD_YES;
    }
    if (r->submitted) {
        if (!atomic_load(&r->answered)) return MHD_YES; /* not ours yet */
        return answer_prediction(r);
    }
    if (r->too_big) {
        serve_engine_expect(&h->engine, -1);
        r->expecting = 0;
        char msg[96];
        snprintf(msg, sizeof msg, "body larger than %zu bytes (--max-body)", h->o.max_body);
        return reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, msg);
    }
    return submit(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)conn, (void)toe;
    serve_http *h = cls;
    request *r = *con_cls;
    if (!r) return;
    if (r->expecting) serve_engine_expect(&h->engine, -1);
    if (r->job.model) serve_engine_release(&h->engine, r->job.model);
    atomic_fetch_sub(&h->metrics.in_flight, 1);
    free(r->body), free(r->x), free(r->probs);
    free(r);
    *con_cls = NULL;
}

ln_status serve_http_start(serve_http *h, const serve_http_opts *o, ln_error *err) {
    h->o = *o;
    h->port = 0;
    atomic_store(&h->stopping, 0);
    pthread_mutex_init(&h->mu, NULL);
    h->last_error[0] = 0;
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    struct sockaddr *sa;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    memset(&a4, 0, sizeof a4);
    memset(&a6, 0, sizeof a6);
    if (inet_pton(AF_INET, o->bind, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)o->port);
        sa = (struct sockaddr *)&a4;
    } else if (inet_pton(AF_INET6, o->bind, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)o->port);
        sa = (struct sockaddr *)&a6;
        flags |= MHD_USE_IPv6;
    } else {
        return ln_fail(err, LN_E_USAGE, "not an IPv4 or IPv6 address: --bind '%s'; give e.g. 127.0.0.1 or ::1", o->bind);
    }
    ln_status st = serve_mhd_open(&h->mhd, err);
    if (st) return st;
    h->daemon = h->mhd.start_daemon(flags, 0, NULL, NULL, on_request, h,
                                     MHD_OPTION_SOCK_ADDR, sa,
                                     MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)o->threads,
                                     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)o->max_connections,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)o->timeout_s,
                                     MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                                     MHD_OPTION_END);
    if (!h->daemon) {
        serve_mhd_close(&h->mhd);
        return ln_fail(err, LN_E_SYSTEM, "cannot listen on %s port %u: --port %u; is it in use? try another", o->bind, o->port, o->port);
    }
    const union MHD_DaemonInfo *info = h->mhd.get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : o->port;
    return LN_OK;
}

/* Wait (at most `seconds`) until no request is in flight. */
static void wait_in_flight(serve_http *h, double seconds) {
    const double end = now_s() + seconds;
    while (atomic_load(&h->metrics.in_flight) > 0 && now_s() < end) usleep(5000);
}

int serve_http_stop(serve_http *h, int grace_s) {
    if (!h->daemon) return 0;
    atomic_store(&h->stopping, 1);
    const MHD_socket fd = h->mhd.quiesce_daemon(h->daemon);
    /* Refuse new connections now (and those waiting in the backlog); the
     * descriptor itself stays open until the daemon has stopped. */
    if (fd != MHD_INVALID_SOCKET) shutdown(fd, SHUT_RDWR);
    wait_in_flight(h, grace_s);
    const int late = atomic_load(&h->metrics.in_flight);
    /* A connection still suspended for its job makes MHD_stop_daemon abort
     * the process (libmicrohttpd's MHD_PANIC), and a job the batcher still
     * held would outlive its request, which the daemon frees when it closes
     * the connection. So the batcher answers every job first: the queued
     * ones (and any submitted from now on) as refused, the forward pass
     * under way normally; once serve_engine_refuse returns, every submitted
     * connection is resumed and no thread is left in MHD_resume_connection.
     * The refused are answered 503 if the client reads it within a second;
     * the daemon closes what is left. */
    serve_engine_refuse(&h->engine);
    if (late > 0) wait_in_flight(h, 1.0);
    h->mhd.stop_daemon(h->daemon);
    if (fd != MHD_INVALID_SOCKET) close(fd);
    h->daemon = NULL;
    pthread_mutex_destroy(&h->mu);
    return late;
}

void serve_http_set_error(serve_http *h, const char *msg) {
    pthread_mutex_lock(&h->mu);
    snprintf(h->last_error, sizeof h->last_error, "%s", msg);
    pthread_mutex_unlock(&h->mu);
}
