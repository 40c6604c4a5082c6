/* version.c - the library's version at run time (see include/lenet/version.h). */
#include "lenet/version.h"

const char *ln_version(void) { return LENET_VERSION; }
