/* error.c - failure records (see include/lenet/error.h). */
#include "lenet/error.h"

#include <stdarg.h>
#include <stdio.h>

ln_status ln_fail(ln_error *err, ln_status status, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->status = status;
    }
    return status;
}

int ln_status_exit_code(ln_status s) {
    switch (s) {
    case LN_OK: return 0;
    case LN_E_INPUT:
    case LN_E_USAGE: return 2;
    default: return 1;
    }
}
