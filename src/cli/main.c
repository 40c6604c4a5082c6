/* main.c - `lenet`, the command-line tool: dispatch to subcommands. */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <errno.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "lenet/version.h"

/* How OpenMP threads wait. A training step's threads meet at barriers many
 * times per millisecond (between the stages of a shared 16-sample group,
 * around the loss and the gradient sum: src/lanes.h), so a thread that
 * arrives first should spin a little rather than sleep at once, and
 * sleep when the wait is long. Waiting without end (OMP_WAIT_POLICY=active,
 * with threads bound to cores, as before) made 2-thread runs collapse on a
 * busy machine: a spinning thread holds its core while the thread it waits
 * for is descheduled, and a bound thread cannot move away from a core
 * another process is using. Measured here (1000 steps of batch 16 on 2
 * threads, load average ~8 from other jobs): active + bound 1.6-2.6 s,
 * bounded spin + unbound 0.7-1.0 s, 1 thread 0.75-0.8 s. So the CLI asks
 * for a bounded spin (GOMP_SPINCOUNT for GCC's libgomp, about 25 ns a
 * spin here; KMP_BLOCKTIME in ms for LLVM's libomp) and leaves placement
 * to the kernel; the lanes engine then runs 1 or all threads, whichever it
 * measures faster (src/net.c). The runtime reads these when it starts,
 * before main, so `train`, `eval` and `predict` set them - only when they
 * will run more than one thread and the user has set none of them - in a
 * constructor that runs before the runtime's own where it can: with GCC's
 * libgomp linked in statically (the Makefile's STATIC_GOMP), a constructor
 * of priority 101 runs before the unprioritised ones of the executable,
 * libgomp's included. Where the runtime is a shared library (clang's libomp
 * in the sanitizer build, or a build with STATIC_GOMP empty) it started
 * before anything here, so main re-executes the program once with them set
 * (~1.7 ms a start). Which of the two holds is read at run time (where the
 * runtime's code is), not assumed from the build. For `eval` too (10,000
 * images, whole process, 2 threads): the runtime's default long spin took
 * 56-60 ms here against 61-63 ms, but 140-240 ms against 85-98 ms with one
 * other busy process on the machine. */
#define SPIN_COUNT "3000"

/* Whether this command line wants the bounded spin set (see above). */
static int wants_waiting(int argc, char **argv) {
    if (argc < 2 || !argv || !argv[1] ||
        (strcmp(argv[1], "train") && strcmp(argv[1], "eval") && strcmp(argv[1], "predict")))
        return 0;
    static const char *const knobs[] = {"OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME", "OMP_PROC_BIND",
                                        "OMP_PLACES"};
    for (size_t i = 0; i < sizeof knobs / sizeof knobs[0]; i++)
        if (getenv(knobs[i])) return 0;
    /* Several processes of an mpirun on this machine share its cores. */
    const char *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (local && atoi(local) > 1) return 0;
    long threads = cli_ncpus_mask();
    for (int i = 2; i < argc; i++) {
        /* --threads N, --threads=N, or an abbreviation getopt_long takes
         * for it (--thr 1); a wrong guess costs only the runtime's default */
        const char *eq = strchr(argv[i], '=');
        const size_t len = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
        if (len < 4 || len > 9 || strncmp(argv[i], "--threads", len)) continue;
        if (eq) threads = strtol(eq + 1, NULL, 10);
        else if (i + 1 < argc) threads = strtol(argv[i + 1], NULL, 10);
    }
    return threads >= 2;
}

static int set_waiting(void) { return setenv("GOMP_SPINCOUNT", SPIN_COUNT, 1) || setenv("KMP_BLOCKTIME", "1", 1); }

/* Set by the constructor below when it set the variables (the one mutable
 * file-scope variable of the CLI: a constructor has nowhere else to say). */
static int waiting_set_early;

#ifdef __GLIBC__ /* (glibc passes the program's arguments to an executable's constructors) */
__attribute__((constructor(101))) static void set_thread_waiting_early(int argc, char **argv, char **envp) {
    (void)envp;
    waiting_set_early = wants_waiting(argc, argv) && !set_waiting();
}
#endif

/* Whether the OpenMP runtime's code is in this executable (linked in
 * statically: it started after the constructor above) rather than in a
 * shared library (it started before). */
static int runtime_linked_in(void) {
    Dl_info rt, self;
    return dladdr((void *)omp_get_max_threads, &rt) && dladdr((void *)wants_waiting, &self) &&
           rt.dli_fbase == self.dli_fbase;
}

static void set_thread_waiting(int argc, char **argv) {
    if (waiting_set_early) {
        if (runtime_linked_in()) return;
    } else if (!wants_waiting(argc, argv) || set_waiting()) {
        return;
    }
    execv("/proc/self/exe", argv); /* returns only on failure: carry on as we are */
}

static void usage(FILE *f) {
    fputs("usage: lenet <command> [options]   (lenet <command> --help for its options; lenet --version)\n"
          "commands:\n"
          "  inspect   check a data set as the tutorial does: size, keys, shape, label; show an item\n"
          "  summary   print LeNet-5's layers, output shapes and parameter counts\n"
          "  train     train LeNet-5 on MNIST, evaluate, save a checkpoint\n"
          "  eval      evaluate a checkpoint on the MNIST test set\n"
          "  predict   classify your own pictures of digits (PNG or PGM, any size)\n"
          "  export    write a checkpoint as ONNX, safetensors or a MindSpore .ckpt\n"
          "  serve     answer predictions over HTTP (TF Serving / KServe v1) with a draw-a-digit page\n"
          "  report    a training report (curves, confusion matrix, mistakes) as PNGs + index.html\n",
          f);
}

/* Every subcommand's results go to stdout: a failed write (a full disk, a
 * closed pipe) is exit 1 with one line, never a silent exit 0. */
static int finish(int rc) {
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("cannot write to standard output (%s); results printed there were lost",
                  errno ? strerror(errno) : "an earlier write failed");
        return rc ? rc : 1;
    }
    return rc;
}

static int run(int argc, char **argv) {
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("lenet %s\n", ln_version());
        return 0;
    }
    set_thread_waiting(argc, argv);
    if (!strcmp(cmd, "inspect")) return cmd_inspect(argc - 1, argv + 1);
    if (!strcmp(cmd, "summary")) return cmd_summary(argc - 1, argv + 1);
    if (!strcmp(cmd, "train")) return cmd_train(argc - 1, argv + 1);
    if (!strcmp(cmd, "eval")) return cmd_eval(argc - 1, argv + 1);
    if (!strcmp(cmd, "predict")) return cmd_predict(argc - 1, argv + 1);
    if (!strcmp(cmd, "export")) return cmd_export(argc - 1, argv + 1);
    if (!strcmp(cmd, "report")) return cmd_report(argc - 1, argv + 1);
    if (!strcmp(cmd, "serve")) return cmd_serve(argc - 1, argv + 1);
    cli_error("unknown command '%s'; run `lenet --help` for the list", cmd);
    return 2;
}

int main(int argc, char **argv) {
    /* A closed stdout (`lenet train --json | head -1`) and a file-size limit
     * (ulimit -f) become ordinary write errors instead of killing the process
     * mid-run: training goes on, saves its checkpoints, and the failed write
     * is reported at the end (exit 1). */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    return finish(run(argc, argv));
}
