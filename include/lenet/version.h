/* version.h - the library's version (semantic versioning: the major number
 * changes when a stable function or type changes incompatibly; it is the
 * shared library's soname, liblenet.so.MAJOR). The Makefile reads the three
 * numbers from here; this is the only place they are written. */
#ifndef LENET_VERSION_H
#define LENET_VERSION_H

#define LENET_VERSION_MAJOR 0
#define LENET_VERSION_MINOR 1
#define LENET_VERSION_PATCH 0

#define LENET_VERSION_STR_(x) #x
#define LENET_VERSION_STR(x) LENET_VERSION_STR_(x)
/* "MAJOR.MINOR.PATCH" of the headers compiled against. */
#define LENET_VERSION                                                                                        \
    LENET_VERSION_STR(LENET_VERSION_MAJOR) "." LENET_VERSION_STR(LENET_VERSION_MINOR) "." LENET_VERSION_STR( \
        LENET_VERSION_PATCH)

/* The version of the library linked in (may differ from LENET_VERSION when
 * a program runs against a newer shared library). */
const char *ln_version(void);

#endif
