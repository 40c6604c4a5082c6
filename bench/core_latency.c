/* core_latency.c - how long a cache line takes to go from CPU 0 to CPU 1
 * and back, for `make bench`.
 *
 * On a virtual machine the two CPUs are host threads that the host may place
 * near each other or far apart, and that changes over time (here: ~60 ns
 * round trips most of the time, ~320 ns in periods of some tens of seconds).
 * A training step moves a few hundred KB of gradients and parameters between
 * the two cores, and 2-thread epochs run up to ~1.7x slower in those periods
 * (7 of 9 slow runs watched had a ~320 ns reading just before or after; 2
 * did not). bench/run.sh measures it before every 2-thread run and reports
 * it with the times, so that a slow run can be told from a slow program.
 *
 * Two threads pinned to CPUs 0 and 1 pass a counter back and forth through
 * one cache line; prints the mean round trip in ns. Exits 0 with "null" if
 * the machine has fewer than two CPUs or pinning fails. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

enum { ROUNDS = 200000 };
static _Alignas(64) atomic_int line;
static _Alignas(64) atomic_int ready; /* partner: 1 pinned, -1 could not pin */

static int pin(int cpu) {
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    return pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

static void *partner(void *unused) {
    (void)unused;
    if (pin(1) != 0) {
        atomic_store(&ready, -1);
        return NULL;
    }
    atomic_store(&ready, 1);
    for (int i = 0; i < ROUNDS; i++) {
        while (atomic_load_explicit(&line, memory_order_acquire) != 2 * i + 1) {
        }
        atomic_store_explicit(&line, 2 * i + 2, memory_order_release);
    }
    return NULL;
}

int main(void) {
    pthread_t t;
    if (pin(0) != 0 || pthread_create(&t, NULL, partner, NULL) != 0) {
        puts("null");
        return 0;
    }
    int r;
    while ((r = atomic_load(&ready)) == 0) {
    }
    if (r < 0) {
        pthread_join(t, NULL);
        puts("null");
        return 0;
    }
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < ROUNDS; i++) {
        atomic_store_explicit(&line, 2 * i + 1, memory_order_release);
        while (atomic_load_explicit(&line, memory_order_acquire) != 2 * i + 2) {
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    pthread_join(t, NULL);
    printf("%.0f\n", ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / ROUNDS);
    return 0;
}
