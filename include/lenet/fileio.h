/* fileio.h - writing a whole file atomically.
 *
 * The bytes go to a temporary file in the same folder (`<path>.tmp.<pid>`),
 * which is fsynced and then renamed over `path`; the folder is fsynced so the
 * rename survives a crash. A failure at any point removes the temporary file
 * and leaves an existing `path` untouched.
 */
#ifndef LENET_FILEIO_H
#define LENET_FILEIO_H

#include <stddef.h>

#include "lenet/error.h"

ln_status ln_write_file_atomic(const char *path, const void *data, size_t n, ln_error *err);

#endif
