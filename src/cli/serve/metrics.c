/* metrics.c - Prometheus counters for `lenet serve` (see metrics.h). */
#include "metrics.h"
#include "lenet/bytebuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const route_names[R_COUNT] = {"page", "healthz", "metrics", "status", "predict",
                                                 "classify_image", "other"};
static const unsigned codes[SERVE_CODES - 1] = {200, 400, 404, 405, 408, 413, 431, 500, 501, 503};
static const double lat_bounds[SERVE_LAT_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                     0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
static const int batch_bounds[SERVE_BATCH_BUCKETS] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 1024};

const char *serve_route_name(int route) { return route >= 0 && route < R_COUNT ? route_names[route] : "other"; }

void serve_metrics_request(serve_metrics *m, int route, unsigned code, double seconds) {
    if (route < 0 || route >= R_COUNT) route = R_OTHER;
    int k = SERVE_CODES - 1;
    for (int i = 0; i < SERVE_CODES - 1; i++)
        if (codes[i] == code) k = i;
    atomic_fetch_add_explicit(&m->requests[route][k], 1, memory_order_relaxed);
    int b = SERVE_LAT_BUCKETS;
    for (int i = SERVE_LAT_BUCKETS - 1; i >= 0 && seconds <= lat_bounds[i]; i--) b = i;
    atomic_fetch_add_explicit(&m->lat_count[route][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->lat_sum_ns[route], (long)(seconds * 1e9), memory_order_relaxed);
}

void serve_metrics_batch(serve_metrics *m, int images) {
    int b = SERVE_BATCH_BUCKETS;
    for (int i = SERVE_BATCH_BUCKETS - 1; i >= 0 && images <= batch_bounds[i]; i--) b = i;
    atomic_fetch_add_explicit(&m->batch_count[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->batch_images, images, memory_order_relaxed);
}

static long rd(atomic_long *a) { return atomic_load_explicit(a, memory_order_relaxed); }

char *serve_metrics_text(serve_metrics *m, size_t *len) {
    ln_buf t;
    ln_buf_init(&t);
    ln_buf_printf(&t, "# HELP lenet_http_requests_total HTTP requests answered, by route and status code.\n"
                      "# TYPE lenet_http_requests_total counter\n");
    for (int r = 0; r < R_COUNT; r++)
        for (int k = 0; k < SERVE_CODES; k++) {
            const long v = rd(&m->requests[r][k]);
            if (!v) continue;
            if (k < SERVE_CODES - 1)
                ln_buf_printf(&t, "lenet_http_requests_total{route=\"%s\",code=\"%u\"} %ld\n", route_names[r], codes[k],
                              v);
            else
                ln_buf_printf(&t, "lenet_http_requests_total{route=\"%s\",code=\"other\"} %ld\n", route_names[r], v);
        }
    ln_buf_printf(&t,
                  "# HELP lenet_request_duration_seconds Time from a request's arrival to its answer being queued.\n"
                  "# TYPE lenet_request_duration_seconds histogram\n");
    for (int r = 0; r < R_COUNT; r++) {
        long cum = 0;
        for (int b = 0; b <= SERVE_LAT_BUCKETS; b++) cum += rd(&m->lat_count[r][b]);
        if (!cum) continue;
        cum = 0;
        for (int b = 0; b < SERVE_LAT_BUCKETS; b++) {
            cum += rd(&m->lat_count[r][b]);
            ln_buf_printf(&t, "lenet_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %ld\n", route_names[r],
                          lat_bounds[b], cum);
        }
        cum += rd(&m->lat_count[r][SERVE_LAT_BUCKETS]);
        ln_buf_printf(&t, "lenet_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %ld\n", route_names[r], cum);
        ln_buf_printf(&t, "lenet_request_duration_seconds_sum{route=\"%s\"} %.9f\n", route_names[r],
                      (double)rd(&m->lat_sum_ns[r]) / 1e9);
        ln_buf_printf(&t, "lenet_request_duration_seconds_count{route=\"%s\"} %ld\n", route_names[r], cum);
    }
    ln_buf_printf(&t, "# HELP lenet_batch_size Images per forward pass (dynamic batching).\n"
                      "# TYPE lenet_batch_size histogram\n");
    long cum = 0;
    for (int b = 0; b < SERVE_BATCH_BUCKETS; b++) {
        cum += rd(&m->batch_count[b]);
        ln_buf_printf(&t, "lenet_batch_size_bucket{le=\"%d\"} %ld\n", batch_bounds[b], cum);
    }
    cum += rd(&m->batch_count[SERVE_BATCH_BUCKETS]);
    ln_buf_printf(&t,
                  "lenet_batch_size_bucket{le=\"+Inf\"} %ld\nlenet_batch_size_sum %ld\nlenet_batch_size_count %ld\n",
                  cum, rd(&m->batch_images), cum);
    ln_buf_printf(
        &t,
        "# HELP lenet_predicted_images_total Images classified.\n# TYPE lenet_predicted_images_total counter\n"
        "lenet_predicted_images_total %ld\n",
        rd(&m->batch_images));
    ln_buf_printf(&t,
                  "# HELP lenet_model_reloads_total Checkpoint reloads (SIGHUP or --watch), by result.\n"
                  "# TYPE lenet_model_reloads_total counter\n"
                  "lenet_model_reloads_total{result=\"ok\"} %ld\nlenet_model_reloads_total{result=\"failed\"} %ld\n",
                  rd(&m->reloads_ok), rd(&m->reloads_failed));
    ln_buf_printf(&t,
                  "# HELP lenet_model_loaded_timestamp_seconds When the model being served was loaded (Unix time).\n"
                  "# TYPE lenet_model_loaded_timestamp_seconds gauge\nlenet_model_loaded_timestamp_seconds %ld\n",
                  rd(&m->loaded_at));
    ln_buf_printf(&t,
                  "# HELP lenet_model_generation 1 for the first model, +1 per successful reload.\n"
                  "# TYPE lenet_model_generation gauge\nlenet_model_generation %ld\n",
                  rd(&m->generation));
    ln_buf_printf(&t,
                  "# HELP lenet_requests_in_flight Requests received and not yet answered.\n"
                  "# TYPE lenet_requests_in_flight gauge\nlenet_requests_in_flight %ld\n",
                  rd(&m->in_flight));
    if (!ln_buf_ok(&t) || !t.p) {
        ln_buf_free(&t);
        return NULL;
    }
    *len = t.len;
    return (char *)t.p; /* the caller frees it (free()) */
}
