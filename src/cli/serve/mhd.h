/* mhd.h - `lenet serve`: libmicrohttpd, opened when the server starts.
 *
 * lenet does not link libmicrohttpd: loading it at every process start
 * (and GnuTLS with the eight libraries it brings) cost every command
 * ~1.5 ms here, twice for `train`, `eval` and `predict` (they re-execute
 * themselves once, src/cli/main.c), for a server that only `serve` runs.
 * serve_mhd_open() loads it with dlopen and fills in the functions http.c
 * calls, each with libmicrohttpd's own prototype (its header is still the
 * contract: the build needs libmicrohttpd-dev).
 */
#ifndef LENET_SERVE_MHD_H
#define LENET_SERVE_MHD_H

#include <stdarg.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <microhttpd.h>

#include "lenet/error.h"

/* The shared object's name: libmicrohttpd's ABI 12 (Debian's libmicrohttpd12). */
#define SERVE_MHD_SONAME "libmicrohttpd.so.12"

typedef struct {
    void *lib; /* dlopen handle, NULL when not open */
    __typeof__(MHD_start_daemon) *start_daemon;
    __typeof__(MHD_stop_daemon) *stop_daemon;
    __typeof__(MHD_quiesce_daemon) *quiesce_daemon;
    __typeof__(MHD_get_daemon_info) *get_daemon_info;
    __typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
    __typeof__(MHD_add_response_header) *add_response_header;
    __typeof__(MHD_queue_response) *queue_response;
    __typeof__(MHD_destroy_response) *destroy_response;
    __typeof__(MHD_lookup_connection_value) *lookup_connection_value;
    __typeof__(MHD_suspend_connection) *suspend_connection;
    __typeof__(MHD_resume_connection) *resume_connection;
} serve_mhd;

/* Load the library and every function above; on failure m->lib is NULL and
 * err says what is missing and how to install it (LN_E_SYSTEM). */
ln_status serve_mhd_open(serve_mhd *m, ln_error *err);
/* Unload it (nothing may run in it any more); m is then closed. Only for
 * a daemon that failed to start: once one has run, the library (and GnuTLS,
 * which it loads) stays until the process exits, as libmpi does
 * (dist_mpi.c): unloading it just before exit gains nothing. (It was
 * suspected of a LeakSanitizer crash at the server's exit; that was the
 * sanitizer runtime misreading dynamic TLS: tests/lib.sh.) */
void serve_mhd_close(serve_mhd *m);

#endif
