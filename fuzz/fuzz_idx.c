/* fuzz_idx.c - libFuzzer target for the IDX reader (raw and gzip).
 *
 * The reader's API takes a path (it stats the file, sniffs the gzip magic
 * and streams through zlib), so the input is put in an anonymous in-memory
 * file (memfd) and read through /proc/self/fd/N: the exact code path a user
 * file takes, with no disk I/O. Each input is read both as an images file
 * and as a labels file (each checks its own magic). A successful read must
 * return the sizes its header promised; any failure must come with a
 * one-line message naming the path. Anything else aborts (a finding).
 *
 * Build and run: make fuzz-smoke (see the Makefile), or
 *   build-fuzz/fuzz_idx -max_total_time=600 build-fuzz/corpus-fuzz_idx fuzz/corpus/fuzz_idx
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lenet/idx.h"

static void check_error(ln_status s, const ln_error *err, const char *path) {
    if (s != LN_E_INPUT && s != LN_E_NOMEM) abort();
    if (err->status != s || !err->msg[0] || strchr(err->msg, '\n') || !strstr(err->msg, path)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int fd = memfd_create("fuzz_idx", MFD_CLOEXEC);
    if (fd < 0) abort();
    for (size_t off = 0; off < size;) {
        ssize_t n = write(fd, data + off, size - off);
        if (n <= 0) abort();
        off += (size_t)n;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);

    ln_idx_images im;
    ln_error err = {0};
    ln_status s = ln_idx_read_images(path, &im, &err);
    if (s == LN_OK) {
        if (!im.pixels || im.count == 0 || im.rows == 0 || im.cols == 0) abort();
        /* every byte the header promised is there (ASan checks the bounds) */
        volatile uint8_t sink = im.pixels[(size_t)im.count * im.rows * im.cols - 1];
        (void)sink;
        ln_idx_images_free(&im);
    } else {
        check_error(s, &err, path);
        if (im.pixels) abort();
    }

    ln_idx_labels lb;
    memset(&err, 0, sizeof err);
    s = ln_idx_read_labels(path, &lb, &err);
    if (s == LN_OK) {
        for (uint32_t i = 0; i < lb.count; i++)
            if (lb.labels[i] >= LN_IDX_MAX_CLASSES) abort();
        ln_idx_labels_free(&lb);
    } else {
        check_error(s, &err, path);
        if (lb.labels) abort();
    }
    close(fd);
    return 0;
}
