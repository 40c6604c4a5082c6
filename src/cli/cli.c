/* cli.c - option parsing and formatting helpers (see cli.h). */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <math.h>
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

int cli_ncpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
