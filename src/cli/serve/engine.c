/* engine.c - the served model and the dynamic batcher (see engine.h). */
#include "engine.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lenet/pipeline.h"

/* SHA-256 of a file, as 64 hex digits. */
static ln_status file_sha256(const char *path, char hex[65], ln_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ln_fail(err, LN_E_INPUT, "cannot open (%s): %s", strerror(errno), path);
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    uint8_t buf[1 << 16];
    for (;;) {
        const ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            const int e = errno;
            close(fd);
            return ln_fail(err, LN_E_INPUT, "cannot read (%s): %s", strerror(e), path);
        }
        if (r == 0) break;
        sha256_update(&ctx, (size_t)r, buf);
    }
    close(fd);
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_digest(&ctx, sizeof d, d);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return LN_OK;
}

ln_status serve_model_load(const char *path, int max_batch, const char *kernels, serve_model **out,
                           ln_error *err) {
    *out = NULL;
    if (strlen(path) >= sizeof((serve_model *)0)->path)
        return ln_fail(err, LN_E_USAGE, "path longer than %zu bytes: --ckpt %s", sizeof((serve_model *)0)->path - 1, path);
    char before[65], after[65];
    ln_status s = file_sha256(path, before, err);
    if (s) return s;
    serve_model *m = calloc(1, sizeof *m);
    if (!m) return ln_fail(err, LN_E_NOMEM, "out of memory loading %s", path);
    /* One thread: the batcher is one worker beside the HTTP threads. */
    const ln_load_opts lo = {.conv_bias = -1, .max_batch = max_batch, .threads = 1, .kernels = kernels};
    if ((s = ln_lenet_load(&m->net, path, &lo, err))) {
        free(m);
        return s;
    }
    /* Non-finite weights never get here: the checkpoint reader refuses them. */
    if ((s = file_sha256(path, after, err))) goto fail;
    if (strcmp(before, after)) {
        s = ln_fail(err, LN_E_INPUT, "the file changed while it was being loaded: %s; try again", path);
        goto fail;
    }
    /* The worker is the one thread that runs it; the weights never change. */
    if (m->net.engine == LN_ENGINE_LANES && ln_single_new(&m->net, &m->one, err)) {
        s = ln_fail(err, LN_E_NOMEM, "out of memory for the one-image snapshot of %s", path);
        goto fail;
    }
    strcpy(m->path, path);
    memcpy(m->sha256, before, sizeof m->sha256);
    m->conv_bias = m->net.conv_bias;
    m->n_params = m->net.n_params;
    m->loaded_at = time(NULL);
    *out = m;
    return LN_OK;
fail:
    ln_lenet_free(&m->net);
    free(m);
    return s;
}

void serve_model_free(serve_model *m) {
    if (!m) return;
    ln_single_free(m->one);
    ln_lenet_free(&m->net);
    free(m);
}

/* Drop one reference (mutex held); returns the model if it must be freed. */
static serve_model *unref_locked(serve_engine *e, serve_model *m) {
    return --m->refs == 0 && m != e->current ? m : NULL;
}

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* Take the jobs of one forward pass off the queue (mutex held): the head
 * and every following job on the same model while they fit in max_batch. */
static serve_job *take_locked(serve_engine *e, int *images) {
    serve_job *first = e->head, **link = &e->head, *last = NULL;
    int n = 0;
    for (serve_job *j = e->head; j;) {
        serve_job *next = j->next;
        if (j->model == first->model && (n == 0 || n + j->n <= e->max_batch)) {
            *link = next; /* unlink j, append to the taken list */
            if (last) last->next = j;
            last = j;
            j->next = NULL;
            n += j->n;
            if (n >= e->max_batch) break;
        } else {
            link = &j->next;
        }
        j = next;
    }
    e->tail = NULL;
    for (serve_job *j = e->head; j; j = j->next) e->tail = j;
    *images = n;
    return first;
}

/* Test-only build (-DLN_TEST_HOOKS, the Makefile's $(BUILD)/lenet-testhooks,
 * never installed): with LENET_TEST_SERVE_BATCH_MS set, every forward pass
 * first waits that long, so a test can have jobs queued when the server stops. */
static long test_batch_ms(void) {
#ifdef LN_TEST_HOOKS
    const char *ms = getenv("LENET_TEST_SERVE_BATCH_MS");
    if (ms && atol(ms) > 0) return atol(ms);
#endif
    return 0;
}

/* Call done() on each job of a list; returns how many. */
static int answer_jobs(serve_job *jobs, int images, int refused) {
    int n = 0;
    for (serve_job *j = jobs; j; n++) {
        serve_job *next = j->next; /* done() may free j */
        j->batch_images = images;
        j->refused = refused;
        j->done(j);
        j = next;
    }
    return n;
}

/* Batches smaller than this go image by image through the model's
 * snapshot; larger ones through the network, 16 images in the vector lanes
 * at a time (the same logits either way). On one thread of a Skylake-SP
 * Xeon, a forward pass of 4-16 images took 150-200 us with AVX-512 and
 * 380-410 with AVX2 whatever the count (1-3 images: 33-52 us and 184-369,
 * image by image without the snapshot), the snapshot 13-15 us and 24-29 us
 * an image: the snapshot is faster up to 11 images with AVX-512, 15 with
 * AVX2. */
#define SERVE_SINGLE_BELOW 12

static int run_batch(serve_engine *e, serve_job *jobs, int images, long slow_ms) {
    serve_model *m = jobs->model;
    if (slow_ms > 0) {
        struct timespec ts = {slow_ms / 1000, (slow_ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
    }
    if (m->one && images < SERVE_SINGLE_BELOW) { /* image by image from the snapshot */
        for (serve_job *j = jobs; j; j = j->next)
            for (int i = 0; i < j->n; i++)
                ln_single_probs(m->one, j->x + (size_t)i * LN_IMG * LN_IMG, j->probs + (size_t)i * LN_CLASSES);
    } else if (!jobs->next) { /* one job: no copies */
        ln_lenet_predict(&m->net, jobs->x, jobs->n, jobs->probs);
    } else {
        int at = 0;
        for (serve_job *j = jobs; j; j = j->next) {
            memcpy(e->xbuf + (size_t)at * LN_IMG * LN_IMG, j->x, sizeof(float) * (size_t)j->n * LN_IMG * LN_IMG);
            at += j->n;
        }
        ln_lenet_predict(&m->net, e->xbuf, images, e->pbuf);
        at = 0;
        for (serve_job *j = jobs; j; j = j->next) {
            memcpy(j->probs, e->pbuf + (size_t)at * LN_CLASSES, sizeof(float) * (size_t)j->n * LN_CLASSES);
            at += j->n;
        }
    }
    if (e->on_batch) e->on_batch(e->user, images);
    return answer_jobs(jobs, images, 0);
}

/* n done() calls have returned (mutex held). */
static void finished_locked(serve_engine *e, int n) {
    e->pending -= n;
    if (e->pending == 0) pthread_cond_broadcast(&e->idle);
}

static void *worker(void *arg) {
    serve_engine *e = arg;
    const long slow_ms = test_batch_ms();
    pthread_mutex_lock(&e->mu);
    for (;;) {
        while (!e->head && !e->stop) pthread_cond_wait(&e->cv, &e->mu);
        if (!e->head) break; /* stopping and nothing left */
        /* Requests still arriving: wait for them a little (not when stopping). */
        if (e->expected > 0 && !e->stop && e->window_us > 0) {
            const double deadline = now_us() + (double)e->window_us;
            for (;;) {
                int queued = 0;
                for (serve_job *j = e->head; j; j = j->next) queued += j->n;
                if (e->expected <= 0 || e->stop || e->refusing || queued >= e->max_batch) break;
                const double left = deadline - now_us();
                if (left <= 0) break;
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                long long ns = (long long)ts.tv_nsec + (long long)(left * 1e3);
                ts.tv_sec += (time_t)(ns / 1000000000LL);
                ts.tv_nsec = (long)(ns % 1000000000LL);
                if (pthread_cond_timedwait(&e->cv, &e->mu, &ts) == ETIMEDOUT) break;
            }
        }
        if (!e->head) continue; /* refused meanwhile (serve_engine_refuse) */
        int images;
        serve_job *jobs = take_locked(e, &images);
        pthread_mutex_unlock(&e->mu);
        const int n = run_batch(e, jobs, images, slow_ms);
        pthread_mutex_lock(&e->mu);
        finished_locked(e, n);
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

ln_status serve_engine_start(serve_engine *e, serve_model *model, long window_us, int max_batch,
                             void (*on_batch)(void *, int), void *user, ln_error *err) {
    memset(e, 0, sizeof *e);
    e->window_us = window_us;
    e->max_batch = max_batch;
    e->on_batch = on_batch;
    e->user = user;
    e->xbuf = malloc(sizeof(float) * (size_t)max_batch * LN_IMG * LN_IMG);
    e->pbuf = malloc(sizeof(float) * (size_t)max_batch * LN_CLASSES);
    if (!e->xbuf || !e->pbuf) {
        free(e->xbuf), free(e->pbuf);
        return ln_fail(err, LN_E_NOMEM, "out of memory for the batch buffers");
    }
    pthread_mutex_init(&e->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&e->cv, &ca);
    pthread_cond_init(&e->idle, &ca);
    pthread_condattr_destroy(&ca);
    model->refs = 1; /* the engine's own reference while it is current */
    e->current = model;
    if (pthread_create(&e->worker, NULL, worker, e)) {
        free(e->xbuf), free(e->pbuf);
        return ln_fail(err, LN_E_SYSTEM, "cannot start the batch worker thread");
    }
    e->started = 1;
    return LN_OK;
}

void serve_engine_stop(serve_engine *e) {
    if (!e->started) return;
    pthread_mutex_lock(&e->mu);
    e->stop = 1;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->worker, NULL);
    serve_model *m = e->current;
    e->current = NULL;
    if (--m->refs == 0) serve_model_free(m);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    pthread_cond_destroy(&e->idle);
    free(e->xbuf), free(e->pbuf);
    e->started = 0;
}

void serve_engine_expect(serve_engine *e, int delta) {
    pthread_mutex_lock(&e->mu);
    e->expected += delta;
    if (delta < 0) pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

void serve_engine_submit(serve_engine *e, serve_job *job, int expected) {
    pthread_mutex_lock(&e->mu);
    if (expected) e->expected--;
    job->model = e->current;
    job->model->refs++;
    job->next = NULL;
    job->refused = e->refusing;
    e->pending++;
    if (!job->refused) {
        if (e->tail) e->tail->next = job;
        else e->head = job;
        e->tail = job;
        pthread_cond_signal(&e->cv);
    }
    pthread_mutex_unlock(&e->mu);
    if (job->refused) {
        job->done(job);
        pthread_mutex_lock(&e->mu);
        finished_locked(e, 1);
        pthread_mutex_unlock(&e->mu);
    }
}

void serve_engine_refuse(serve_engine *e) {
    if (!e->started) return;
    pthread_mutex_lock(&e->mu);
    e->refusing = 1;
    serve_job *jobs = e->head;
    e->head = e->tail = NULL;
    pthread_cond_broadcast(&e->cv); /* a worker waiting for more requests: nothing left to wait for */
    pthread_mutex_unlock(&e->mu);
    const int n = answer_jobs(jobs, 0, 1);
    pthread_mutex_lock(&e->mu);
    finished_locked(e, n);
    while (e->pending > 0) pthread_cond_wait(&e->idle, &e->mu);
    pthread_mutex_unlock(&e->mu);
}

void serve_engine_release(serve_engine *e, serve_model *m) {
    pthread_mutex_lock(&e->mu);
    serve_model *dead = unref_locked(e, m);
    pthread_mutex_unlock(&e->mu);
    serve_model_free(dead);
}

void serve_engine_swap(serve_engine *e, serve_model *model) {
    pthread_mutex_lock(&e->mu);
    serve_model *old = e->current;
    model->refs = 1;
    e->current = model;
    serve_model *dead = unref_locked(e, old);
    pthread_mutex_unlock(&e->mu);
    serve_model_free(dead);
}

serve_model *serve_engine_acquire(serve_engine *e) {
    pthread_mutex_lock(&e->mu);
    serve_model *m = e->current;
    m->refs++;
    pthread_mutex_unlock(&e->mu);
    return m;
}
