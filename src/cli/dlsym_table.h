/* dlsym_table.h - fill a struct of function pointers and handles from a
 * library opened with dlopen (internal). lenet opens its optional
 * libraries only when a command needs them: libmpi under mpirun
 * (dist_mpi.c), libmicrohttpd when `serve` starts (cli/serve/mhd.c). */
#ifndef LENET_DLSYM_TABLE_H
#define LENET_DLSYM_TABLE_H

#include <dlfcn.h>
#include <stddef.h>
#include <string.h>

/* One symbol and where its address goes: a pointer member of the struct. */
typedef struct {
    const char *name;
    size_t off;
} ln_dlsym_entry;

/* Each entry's address into (char *)dst + off; memcpy carries dlsym's
 * void * into a function pointer, as POSIX allows. NULL when every symbol
 * was found, else the name of the first missing one. */
static inline const char *ln_dlsym_table(void *lib, const ln_dlsym_entry *e, size_t n, void *dst) {
    for (size_t i = 0; i < n; i++) {
        void *p = dlsym(lib, e[i].name);
        if (!p) return e[i].name;
        memcpy((char *)dst + e[i].off, &p, sizeof p);
    }
    return NULL;
}

#endif
