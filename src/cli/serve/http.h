/* http.h - `lenet serve`: the HTTP side, on libmicrohttpd.
 *
 * Routes (every answer but the page and /metrics is JSON; errors are
 * {"error": "..."} with a fitting status):
 *   GET  /                               the draw-a-digit page (page.html, embedded)
 *   GET  /healthz                        {"status": "ok"} (503 "stopping" during shutdown)
 *   GET  /metrics                        Prometheus text (metrics.h)
 *   GET  /v1/models                      {"models": ["lenet"]}
 *   GET  /v1/models/lenet                model status (TF Serving's model_version_status
 *                                        plus checkpoint path, sha256, parameters, variant,
 *                                        loaded_at, generation, last reload error)
 *   POST /v1/models/lenet:predict        {"instances": [...]} -> {"predictions": [...]}
 *   POST /v1/models/lenet:classify-image PNG/PGM body -> {"predictions": [{..., "prepared"}]}
 * A known path with another method is 405 (with Allow), anything else 404,
 * a body over max_body 413 (refused from Content-Length before it is read),
 * a malformed body 400 naming what is wrong. Every answer carries
 * X-Content-Type-Options: nosniff and Cache-Control: no-store; predictions
 * carry X-Model-Sha256 (the checkpoint that answered). Nothing a request
 * says names a file: the only file the server reads is --ckpt.
 *
 * Threads: libmicrohttpd's pool of `threads` event loops receives, decodes
 * and answers; a prediction suspends its connection while the batcher
 * (engine.h) computes it, and is resumed from the batch worker.
 */
#ifndef LENET_SERVE_HTTP_H
#define LENET_SERVE_HTTP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "engine.h"
#include "lenet/error.h"
#include "metrics.h"
#include "mhd.h"

typedef struct {
    const char *bind;        /* IPv4 or IPv6 address */
    unsigned port;           /* 0: any free port */
    int threads;
    size_t max_body;
    unsigned max_connections;
    unsigned timeout_s;      /* idle connection timeout */
    int max_instances;       /* per :predict request */
} serve_http_opts;

typedef struct {
    serve_http_opts o;
    serve_engine engine;
    serve_metrics metrics;
    serve_mhd mhd;           /* libmicrohttpd, loaded by serve_http_start */
    struct MHD_Daemon *daemon;
    unsigned port;           /* the port bound */
    atomic_int stopping;
    pthread_mutex_t mu;      /* guards last_error */
    char last_error[512];    /* last refused reload, "" if none */
} serve_http;

/* Bind and start answering (the engine must be started). */
ln_status serve_http_start(serve_http *h, const serve_http_opts *o, ln_error *err);
/* Stop accepting, let requests in flight finish (at most grace_s seconds);
 * then predictions the batcher has not started are answered 503 "server is
 * stopping" (serve_engine_refuse; the forward pass under way still answers),
 * given a second more to be sent, and every connection is closed. Returns
 * how many requests were still in flight when the grace period ran out (0
 * if none). The engine stays usable for serve_engine_stop(). libmicrohttpd
 * stays loaded until the process exits (mhd.h says why). */
int serve_http_stop(serve_http *h, int grace_s);
/* Remember a refused reload's message for the status route ("" clears). */
void serve_http_set_error(serve_http *h, const char *msg);

/* The embedded page (page.c). */
extern const char serve_page_html[];
extern const unsigned serve_page_html_len;

#endif
