/* cli.c - option parsing and formatting helpers (see cli.h). */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("lenet: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_fail(const ln_error *err) {
    cli_error("%s", err->msg);
    return ln_status_exit_code(err->status);
}

int cli_int(const char *opt, const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        cli_error("%s: '%s' is not a whole number from %ld to %ld", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_float(const char *opt, const char *s, double lo, double hi, float *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi) {
        cli_error("%s: '%s' is not a number from %g to %g", opt, s, lo, hi);
        return -1;
    }
    *out = (float)v;
    return 0;
}

int cli_onoff(const char *opt, const char *s, int *out) {
    if (!strcmp(s, "on")) *out = 1;
    else if (!strcmp(s, "off")) *out = 0;
    else {
        cli_error("%s: '%s' must be on or off", opt, s);
        return -1;
    }
    return 0;
}

void cli_fmt_float(char *buf, int size, float v) {
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, (size_t)size, "%.*g", prec, (double)v);
        if (strtof(buf, NULL) == v) return;
    }
}

/* Every CPU the process may use. The re-executed train/eval/predict run with
 * OMP_PROC_BIND set, and the OpenMP runtime then pins the initial thread to
 * one place before main: its affinity mask holds a single CPU. The runtime's
 * place list was built from the mask as it was before that pinning, so when
 * places exist their CPUs are counted instead of the (narrowed) mask. */
int cli_ncpus(void) {
    int places = omp_get_num_places();
    if (places > 0) {
        int n = 0;
        for (int p = 0; p < places; p++) n += omp_get_place_num_procs(p);
        if (n > 0) return n;
    }
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
