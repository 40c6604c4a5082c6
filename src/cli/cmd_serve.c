/* cmd_serve.c - `lenet serve`: answer predictions over HTTP (src/cli/serve/):
 * options, the model's loading and reloading (SIGHUP, --watch), and a
 * graceful stop on SIGTERM / SIGINT. Signals are taken synchronously by the
 * main thread (blocked everywhere, sigtimedwait), so nothing runs in a
 * signal handler. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "serve/engine.h"
#include "serve/http.h"
#include "cli.h"

static void usage(void) {
    puts("usage: lenet serve --ckpt FILE [options]\n"
         "  --ckpt FILE             checkpoint to serve (default: the newest in checkpoints/); reloaded on SIGHUP\n"
         "  --bind ADDR             address to listen on (default 127.0.0.1; 0.0.0.0 or :: for all)\n"
         "  --port N                TCP port (default 8080; 0 = any free port, printed)\n"
         "  --threads N             HTTP threads that receive, decode and answer (default: all CPUs);\n"
         "                          forward passes run on one more thread, batched\n"
         "  --max-body BYTES        largest request body (default 4194304; larger is 413)\n"
         "  --max-connections N     connections open at once (default 256)\n"
         "  --batch-window-us N     how long a forward pass waits for requests still arriving\n"
         "                          (default 300; 0 = never wait)\n"
         "  --max-batch N           images per forward pass (default 256)\n"
         "  --timeout S             close a connection idle for S seconds (default 10)\n"
         "  --watch                 reload the checkpoint when its file changes (checked every second)\n"
         "  --grace S               on SIGTERM / SIGINT, wait at most S seconds for requests in flight;\n"
         "                          predictions not started by then are answered 503 (default 30)\n"
         "  --kernels K             compute engine, as for train (default auto)\n"
         "Routes: GET / (draw-a-digit page), POST /v1/models/lenet:predict {\"instances\": [...]},\n"
         "POST /v1/models/lenet:classify-image (PNG or PGM body), GET /v1/models/lenet, GET /healthz,\n"
         "GET /metrics. SIGHUP reloads (a checkpoint that fails to load is refused and the old model\n"
         "keeps serving); SIGTERM or SIGINT finish the requests in flight and exit 0.");
}

typedef struct {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    int ok;
} file_sig;

static file_sig sig_of(const char *path) {
    struct stat st;
    file_sig s = {0};
    if (stat(path, &st) == 0) {
        s.dev = st.st_dev, s.ino = st.st_ino, s.size = st.st_size, s.mtime = st.st_mtim;
        s.ok = 1;
    }
    return s;
}

static int sig_same(const file_sig *a, const file_sig *b) {
    return a->ok == b->ok && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static void on_batch(void *user, int images) { serve_metrics_batch(&((serve_http *)user)->metrics, images); }

/* Load the checkpoint again; on success serve it, else keep the old one. */
static void reload(serve_http *h, const char *ckpt, int max_batch, const char *kernels, long *generation,
                   const char *why) {
    ln_error err;
    serve_model *m;
    if (serve_model_load(ckpt, max_batch, kernels, &m, &err)) {
        atomic_fetch_add(&h->metrics.reloads_failed, 1);
        serve_http_set_error(h, err.msg);
        fprintf(stderr, "lenet serve: reload refused (%s): %s; still serving generation %ld\n", why, err.msg,
                *generation);
        return;
    }
    m->generation = ++*generation;
    char sha[65];
    memcpy(sha, m->sha256, sizeof sha);
    const time_t at = m->loaded_at;
    serve_engine_swap(&h->engine, m);
    atomic_fetch_add(&h->metrics.reloads_ok, 1);
    atomic_store(&h->metrics.loaded_at, (long)at);
    atomic_store(&h->metrics.generation, *generation);
    serve_http_set_error(h, "");
    fprintf(stderr, "lenet serve: reloaded %s (%s): sha256 %s, generation %ld\n", ckpt, why, sha, *generation);
}

int cmd_serve(int argc, char **argv) {
    const char *ckpt = NULL, *kernels = NULL;
    serve_http_opts o = {.bind = "127.0.0.1", .port = 8080, .threads = cli_ncpus(), .max_body = 4u << 20,
                         .max_connections = 256, .timeout_s = 10, .max_instances = 4096};
    long port = 8080, threads = o.threads, max_body = (long)o.max_body, max_conn = 256, window = 300,
         max_batch = 256, timeout = 10, grace = 30;
    int watch = 0;
    enum { O_CKPT = 256, O_BIND, O_PORT, O_THREADS, O_BODY, O_CONN, O_WINDOW, O_BATCH, O_TIMEOUT, O_WATCH,
           O_GRACE, O_KERN, O_HELP };
    static const struct option opts[] = {
        {"ckpt", 1, 0, O_CKPT},          {"bind", 1, 0, O_BIND},
        {"port", 1, 0, O_PORT},          {"threads", 1, 0, O_THREADS},
        {"max-body", 1, 0, O_BODY},      {"max-connections", 1, 0, O_CONN},
        {"batch-window-us", 1, 0, O_WINDOW}, {"max-batch", 1, 0, O_BATCH},
        {"timeout", 1, 0, O_TIMEOUT},    {"watch", 0, 0, O_WATCH},
        {"grace", 1, 0, O_GRACE},        {"kernels", 1, 0, O_KERN},
        {"help", 0, 0, O_HELP},
        {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = cli_getopt(argc, argv, "", opts)) != -1) {
        switch (c) {
        case O_CKPT: ckpt = optarg; break;
        case O_BIND: o.bind = optarg; break;
        case O_PORT: if (cli_int("--port", optarg, 0, 65535, &port)) return 2; break;
        case O_THREADS: if (cli_int("--threads", optarg, 1, 256, &threads)) return 2; break;
        case O_BODY: if (cli_int("--max-body", optarg, 1024, 1L << 30, &max_body)) return 2; break;
        case O_CONN: if (cli_int("--max-connections", optarg, 1, 65536, &max_conn)) return 2; break;
        case O_WINDOW: if (cli_int("--batch-window-us", optarg, 0, 1000000, &window)) return 2; break;
        case O_BATCH: if (cli_int("--max-batch", optarg, 1, 4096, &max_batch)) return 2; break;
        case O_TIMEOUT: if (cli_int("--timeout", optarg, 1, 3600, &timeout)) return 2; break;
        case O_WATCH: watch = 1; break;
        case O_GRACE: if (cli_int("--grace", optarg, 0, 3600, &grace)) return 2; break;
        case O_KERN: kernels = optarg; break;
        case O_HELP: usage(); return 0;
        default: return 2;
        }
    }
    if (optind < argc) { cli_error("unexpected argument '%s'; see `lenet serve --help`", argv[optind]); return 2; }
    char newest[4096];
    if (!(ckpt = cli_ckpt_or_newest(ckpt, newest, sizeof newest))) return 2;
    o.port = (unsigned)port, o.threads = (int)threads, o.max_body = (size_t)max_body;
    o.max_connections = (unsigned)max_conn, o.timeout_s = (unsigned)timeout;

    /* Signals: blocked in every thread (set before any is created), taken here. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP), sigaddset(&set, SIGTERM), sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    ln_error err;
    serve_model *m;
    if (serve_model_load(ckpt, (int)max_batch, kernels, &m, &err)) return cli_fail(&err);
    long generation = 1;
    m->generation = 1;
    serve_http h;
    memset(&h, 0, sizeof h);
    atomic_store(&h.metrics.loaded_at, (long)m->loaded_at);
    atomic_store(&h.metrics.generation, 1);
    const int conv_bias = m->conv_bias;
    char sha[65];
    memcpy(sha, m->sha256, sizeof sha);
    if (serve_engine_start(&h.engine, m, window, (int)max_batch, on_batch, &h, &err)) {
        serve_model_free(m);
        return cli_fail(&err);
    }
    if (serve_http_start(&h, &o, &err)) {
        serve_engine_stop(&h.engine);
        return cli_fail(&err);
    }
    const int v6 = strchr(o.bind, ':') != NULL;
    printf("lenet serve: listening on http://%s%s%s:%u/ (checkpoint %s, sha256 %s, conv_bias %s; %d HTTP "
           "threads, batch window %ld us, max batch %ld)\n",
           v6 ? "[" : "", o.bind, v6 ? "]" : "", h.port, ckpt, sha, conv_bias ? "on" : "off", o.threads, window,
           max_batch);
    fflush(stdout);

    file_sig seen = sig_of(ckpt);
    for (;;) {
        struct timespec ts = {watch ? 1 : 3600, 0};
        const int s = sigtimedwait(&set, NULL, &ts);
        if (s == SIGTERM || s == SIGINT) {
            fprintf(stderr, "lenet serve: %s: finishing requests in flight, then exiting\n",
                    s == SIGTERM ? "SIGTERM" : "SIGINT");
            break;
        }
        if (s == SIGHUP) {
            seen = sig_of(ckpt);
            reload(&h, ckpt, (int)max_batch, kernels, &generation, "SIGHUP");
        } else if (s < 0 && errno != EAGAIN && errno != EINTR) {
            cli_error("waiting for signals failed (%s)", strerror(errno));
            break;
        }
        if (watch) {
            const file_sig now = sig_of(ckpt);
            if (!sig_same(&now, &seen)) {
                seen = now;
                if (now.ok) reload(&h, ckpt, (int)max_batch, kernels, &generation, "--watch");
            }
        }
    }
    const int late = serve_http_stop(&h, (int)grace);
    if (late > 0)
        fprintf(stderr, "lenet serve: %d requests still in flight after %ld s: predictions not started were answered "
                "503, then every connection was closed\n", late, grace);
    serve_engine_stop(&h.engine);
    fprintf(stderr, "lenet serve: stopped\n");
    return 0;
}
