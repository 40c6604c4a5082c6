/* core_exchange.c - what moving a training step's data between the two
 * cores costs, for `make bench`.
 *
 * A 2-thread training step (batch 32: one group of 16 samples per thread)
 * hands data across the cores every step: each thread updates half of the
 * parameters, which the other reads in its next forward pass, and sums half
 * of the gradients, half of which the other thread computed. That is about
 * 123 KB read from the other core's cache, twice, per thread and step, and
 * as much written over lines the other core holds. This measures the three
 * kinds of pass over a buffer of that size (BYTES, default 123,424 = half
 * of the 61,706 float parameters) on CPU 1, best of REPS:
 *   local:  CPU 1 reads a buffer it wrote itself (in its own cache);
 *   remote: CPU 1 reads a buffer CPU 0 has just written;
 *   shared: CPU 1 writes a buffer CPU 0 has just read (its copies must be
 *           invalidated first).
 * Prints one JSON object with microseconds per pass; "null" if the machine
 * has fewer than two CPUs or pinning fails.
 *   core_exchange [BYTES] [REPS] */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Alignas(64) atomic_int turn; /* whose move: even = CPU 0, odd = CPU 1 */
static _Alignas(64) atomic_int ready;
static size_t n;           /* floats per buffer */
static float *buf, *mine;  /* the exchanged buffer; CPU 1's own */
static volatile float sink;
static int reps;

static int pin(int cpu) {
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    return pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void wait_turn(int v) {
    while (atomic_load_explicit(&turn, memory_order_acquire) != v) {
    }
}

/* Sum with 8 independent chains, so the pass is bound by the memory, not by
 * the additions' latency. */
static float read_pass(const float *p) {
    float s[8] = {0};
    for (size_t i = 0; i < n; i += 8)
        for (int k = 0; k < 8; k++) s[k] += p[i + k];
    return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
}

static void write_pass(float *p, float v) {
    for (size_t i = 0; i < n; i++) p[i] = v;
}

/* CPU 0: in round r, write buf (for "remote"), then read it (for "shared"). */
static void *cpu0(void *unused) {
    (void)unused;
    if (pin(0) != 0) {
        atomic_store(&ready, -1);
        return NULL;
    }
    atomic_store(&ready, 1);
    for (int r = 0; r < reps; r++) {
        wait_turn(4 * r);
        write_pass(buf, (float)r);
        atomic_store_explicit(&turn, 4 * r + 1, memory_order_release);
        wait_turn(4 * r + 2);
        sink = read_pass(buf);
        atomic_store_explicit(&turn, 4 * r + 3, memory_order_release);
    }
    return NULL;
}

int main(int argc, char **argv) {
    const long bytes = argc > 1 ? atol(argv[1]) : 123424;
    reps = argc > 2 ? atoi(argv[2]) : 200;
    if (bytes < 64 || reps < 1) {
        fprintf(stderr, "usage: core_exchange [BYTES >= 64] [REPS >= 1]\n");
        return 2;
    }
    n = (size_t)(bytes / 32 * 8);
    buf = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    mine = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    if (!buf || !mine) {
        fprintf(stderr, "core_exchange: out of memory\n");
        return 1;
    }
    memset(buf, 0, n * sizeof(float));
    pthread_t t;
    if (pin(1) != 0 || pthread_create(&t, NULL, cpu0, NULL) != 0) {
        puts("null");
        return 0;
    }
    int rd;
    while ((rd = atomic_load(&ready)) == 0) {
    }
    if (rd < 0) {
        pthread_join(t, NULL);
        puts("null");
        return 0;
    }
    double local = 1e9, remote = 1e9, shared = 1e9;
    for (int r = 0; r < reps; r++) {
        wait_turn(4 * r + 1); /* CPU 0 has written buf */
        double t0 = now();
        sink = read_pass(buf);
        double t1 = now();
        if (t1 - t0 < remote) remote = t1 - t0;
        write_pass(mine, (float)r);
        t0 = now();
        sink = read_pass(mine);
        t1 = now();
        if (t1 - t0 < local) local = t1 - t0;
        write_pass(buf, (float)r); /* buf is CPU 1's again */
        atomic_store_explicit(&turn, 4 * r + 2, memory_order_release);
        wait_turn(4 * r + 3); /* CPU 0 has read buf: it holds copies */
        t0 = now();
        write_pass(buf, (float)-r);
        t1 = now();
        if (t1 - t0 < shared) shared = t1 - t0;
        atomic_store_explicit(&turn, 4 * r + 4, memory_order_release);
    }
    pthread_join(t, NULL);
    printf("{\"bytes\": %zu, \"local_read_us\": %.2f, \"remote_read_us\": %.2f, \"shared_write_us\": %.2f}\n",
           n * sizeof(float), local * 1e6, remote * 1e6, shared * 1e6);
    free(buf), free(mine);
    return 0;
}
