/* cli.c - option parsing and formatting helpers (see cli.h). */
#define _GNU_SOURCE
#include "cli.h"
#include "train_opts.h"
#include "lenet/bytebuf.h"
#include "lenet/metrics.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <sched.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cli_error(const char *fmt, ...) {
    va_list ap, aq;
    va_start(ap, fmt);
    va_copy(aq, ap);
    char *msg = ln_msg_vformat(fmt, ap); /* long paths cut in the middle, one line */
    if (msg) {
        fprintf(stderr, "lenet: %s\n", msg);
        free(msg);
    } else {
        fputs("lenet: ", stderr);
        vfprintf(stderr, fmt, aq);
        fputc('\n', stderr);
    }
    va_end(aq);
    va_end(ap);
}

/* The flag of a setting no `train` option sets. */
static const struct {
    const char *setting, *flag;
} OTHER_FLAGS[] = {{"ckpt", "--ckpt"}};

/* `name` or `name=value` (see error.h) as the CLI flag: 0 and the text in
 * out, or -1 if name is not a setting. */
static int flag_for(const char *name, const char *value, char *out, size_t size) {
    if (!train_setting_flag(name, value, out, size)) return 0;
    for (size_t i = 0; i < sizeof OTHER_FLAGS / sizeof OTHER_FLAGS[0]; i++)
        if (!strcmp(name, OTHER_FLAGS[i].setting)) {
            snprintf(out, size, "%s%s%s", OTHER_FLAGS[i].flag, value ? " " : "", value ? value : "");
            return 0;
        }
    return -1;
}

void cli_settings_to_flags(const char *msg, char *out, size_t size) {
    size_t o = 0;
    while (*msg && o + 1 < size) {
        const char *end = *msg == '`' ? strchr(msg + 1, '`') : NULL;
        char inner[256], flag[512];
        if (end && (size_t)(end - msg) <= sizeof inner) {
            memcpy(inner, msg + 1, (size_t)(end - msg - 1));
            inner[end - msg - 1] = 0;
            char *eq = strchr(inner, '=');
            if (eq) *eq = 0;
            if (inner[strspn(inner, "abcdefghijklmnopqrstuvwxyz0123456789_")] == 0 &&
                !flag_for(inner, eq ? eq + 1 : NULL, flag, sizeof flag)) {
                o += (size_t)snprintf(out + o, size - o, "%s", flag);
                if (o >= size) o = size - 1;
                msg = end + 1;
                continue;
            }
        }
        out[o++] = *msg++;
    }
    out[o] = 0;
}

int cli_fail_from(const ln_error *err, const char *origin) {
    char msg[sizeof err->msg * 2];
    cli_settings_to_flags(err->msg, msg, sizeof msg);
    if (origin) cli_error("%s (%s)", msg, origin);
    else cli_error("%s", msg);
    return ln_status_exit_code(err->status);
}

int cli_fail(const ln_error *err) { return cli_fail_from(err, NULL); }

/* A regular ./Makefile with a line starting "data:" (read up to 1 MiB). */
static int make_data_here(void) {
    FILE *f = fopen("Makefile", "r");
    if (!f) return 0;
    struct stat st;
    int found = 0;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= (1 << 20)) {
        char line[512];
        while (!found && fgets(line, sizeof line, f)) found = !strncmp(line, "data:", 5);
    }
    fclose(f);
    return found;
}

int cli_fail_data(const ln_error *err) {
    if (!make_data_here()) return cli_fail(err);
    char msg[sizeof err->msg * 2];
    cli_settings_to_flags(err->msg, msg, sizeof msg);
    cli_error("%s; or run `make data` here to fetch it", msg);
    return ln_status_exit_code(err->status);
}

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts) {
    char spec[64];
    snprintf(spec, sizeof spec, ":%s", shortopts); /* ':' first: a missing value returns ':' */
    opterr = 0;
    const int c = getopt_long(argc, argv, spec, longopts, NULL);
    if (c != '?' && c != ':') return c;
    const char *given = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
    char shortname[3] = {'-', (char)optopt, 0};
    if (strncmp(given, "--", 2) && optopt > 0 && optopt < 256) given = shortname; /* from a cluster: -xo */
    if (c == ':') cli_error("missing value: %s; see `lenet %s --help`", given, argv[0]);
    else cli_error("unknown, ambiguous or misused option: '%s'; see `lenet %s --help`", given, argv[0]);
    return '?';
}

int cli_int(const char *opt, const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        cli_error("not a whole number from %ld to %ld: %s '%s'", lo, hi, opt, s);
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
        cli_error("not a number from %g to %g: %s '%s'", lo, hi, opt, s);
        return -1;
    }
    *out = (float)v;
    return 0;
}

int cli_onoff(const char *opt, const char *s, int *out) {
    if (!strcmp(s, "on")) *out = 1;
    else if (!strcmp(s, "off")) *out = 0;
    else {
        cli_error("must be on or off: %s '%s'", opt, s);
        return -1;
    }
    return 0;
}

void cli_json_str(FILE *f, const char *s) {
    if (!s) { fputs("null", f); return; }
    ln_buf b;
    ln_buf_init(&b);
    ln_buf_json_str(&b, s);
    if (ln_buf_ok(&b)) fwrite(b.p, 1, b.len, f);
    else fputs("null", f);
    ln_buf_free(&b);
}

void cli_json_num(char *buf, int size, const char *fmt, double v) {
    if (isfinite(v)) snprintf(buf, (size_t)size, fmt, v);
    else snprintf(buf, (size_t)size, "null");
}

void cli_json_prediction(FILE *f, const float *p, int n) {
    fprintf(f, "\"digit\": %d, \"probabilities\": [", ln_argmax(p, n));
    for (int k = 0; k < n; k++) {
        char num[32];
        cli_json_num(num, sizeof num, "%.9g", (double)p[k]);
        fprintf(f, "%s%s", k ? ", " : "", num);
    }
    fputc(']', f);
}

/* Every CPU the process may use. With OMP_PROC_BIND set (by the user: the
 * CLI no longer sets it, src/cli/main.c) the OpenMP runtime pins the initial
 * thread to one place before main: its affinity mask holds a single CPU. The runtime's
 * place list was built from the mask as it was before that pinning, so when
 * places exist their CPUs are counted instead of the (narrowed) mask. */
int cli_ncpus(void) {
    int places = omp_get_num_places();
    if (places > 0) {
        int n = 0;
        for (int p = 0; p < places; p++) n += omp_get_place_num_procs(p);
        if (n > 0) return n;
    }
    return cli_ncpus_mask();
}

int cli_ncpus_mask(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

const char *cli_ckpt_or_newest(const char *ckpt, char *buf, size_t size) {
    if (ckpt) return ckpt;
    static const char dir[] = "checkpoints";
    DIR *d = opendir(dir);
    struct timespec best = {0, 0};
    buf[0] = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        const size_t n = strlen(e->d_name);
        char path[4096];
        struct stat st;
        if (n < 6 || strcmp(e->d_name + n - 5, ".ckpt") || (size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path ||
            stat(path, &st) || !S_ISREG(st.st_mode) || strlen(path) >= size)
            continue;
        /* newest by modification time; the same time: the later name */
        const int newer = st.st_mtim.tv_sec != best.tv_sec ? st.st_mtim.tv_sec > best.tv_sec
                          : st.st_mtim.tv_nsec != best.tv_nsec ? st.st_mtim.tv_nsec > best.tv_nsec
                                                               : strcmp(path, buf) > 0;
        if (!buf[0] || newer) {
            memcpy(buf, path, strlen(path) + 1);
            best = st.st_mtim;
        }
    }
    if (d) closedir(d);
    if (!buf[0]) {
        cli_error("missing option: --ckpt FILE; give a checkpoint written by `lenet train` (none in %s/)", dir);
        return NULL;
    }
    fprintf(stderr, "lenet: using %s, the newest checkpoint in %s/ (--ckpt FILE to choose)\n", buf, dir);
    return buf;
}
