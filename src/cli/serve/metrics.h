/* metrics.h - `lenet serve`: counters and histograms, written as Prometheus
 * text exposition format 0.0.4 for `GET /metrics`.
 *
 *   lenet_http_requests_total{route,code}       counter
 *   lenet_request_duration_seconds{route}       histogram (first byte of the
 *                                                request to the answer queued)
 *   lenet_batch_size                            histogram (images per forward pass)
 *   lenet_predicted_images_total                counter
 *   lenet_model_reloads_total{result}           counter (ok, failed)
 *   lenet_model_loaded_timestamp_seconds        gauge
 *   lenet_model_generation                      gauge
 *   lenet_requests_in_flight                    gauge
 *
 * Every field is updated with relaxed atomics from any thread; a scrape
 * reads them one by one (no global lock), which Prometheus tolerates.
 */
#ifndef LENET_SERVE_METRICS_H
#define LENET_SERVE_METRICS_H

#include <stdatomic.h>
#include <stddef.h>

enum serve_route {
    R_PAGE, R_HEALTH, R_METRICS, R_STATUS, R_PREDICT, R_CLASSIFY, R_OTHER, R_COUNT
};
#define SERVE_CODES 11   /* 200 400 404 405 408 413 431 500 501 503, other */
#define SERVE_LAT_BUCKETS 14
#define SERVE_BATCH_BUCKETS 10

typedef struct {
    atomic_long requests[R_COUNT][SERVE_CODES];
    atomic_long lat_count[R_COUNT][SERVE_LAT_BUCKETS + 1]; /* last: +Inf */
    atomic_long lat_sum_ns[R_COUNT];
    atomic_long batch_count[SERVE_BATCH_BUCKETS + 1];
    atomic_long batch_images;
    atomic_long reloads_ok, reloads_failed;
    atomic_long loaded_at, generation;
    atomic_long in_flight;
} serve_metrics;

const char *serve_route_name(int route);
void serve_metrics_request(serve_metrics *m, int route, unsigned code, double seconds);
void serve_metrics_batch(serve_metrics *m, int images);

/* The exposition text (malloc'ed, *len bytes, ends with "\n"); NULL if out of memory. */
char *serve_metrics_text(serve_metrics *m, size_t *len);

#endif
