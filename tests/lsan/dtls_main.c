/* tests/lsan/dtls_main.c - built with -fsanitize=address by
 * tests/test_lsan_tls.sh: places a dlopen'd library's dynamic TLS block 16
 * bytes into a page, the case LLVM <= 16's __tls_get_addr interceptor takes
 * for a glibc 2.19 header (tests/lib.sh), then exits, so that LeakSanitizer
 * scans. Argument: the library's path; a second argument "leak" also leaks
 * one block, which the scan must report. Prints how many blocks it placed. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 2) return fprintf(stderr, "usage: dtls_main LIB [leak]\n"), 2;
    void *h = dlopen(argv[1], RTLD_NOW);
    if (!h) return fprintf(stderr, "dlopen: %s\n", dlerror()), 2;
    void (*touch)(void) = (void (*)(void))dlsym(h, "dtls_touch");
    if (!touch) return fprintf(stderr, "dlsym: %s\n", dlerror()), 2;
    /* ASan hands out 24-byte blocks from 48-byte chunks, in address order,
     * user bytes 16 after each chunk's start: allocate until the next
     * chunk starts a page; glibc then takes it for the TLS block. */
    static void *keep[4096]; /* reachable: not leaks */
    int n = 0;
    while (n < 4096) {
        void *p = keep[n++] = malloc(24);
        if (p && (uintptr_t)p % 4096 == 4096 - 32) break;
    }
    printf("%d\n", n);
    touch();
    if (argc > 2 && !strcmp(argv[2], "leak")) {
        void *volatile lost = malloc(64);
        lost = NULL;
        (void)lost;
    }
    return 0;
}
