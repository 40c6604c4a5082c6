/* error.c - failure records (see include/lenet/error.h). */
#include "lenet/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t ln_msg_shorten(char *s) {
    size_t len = strlen(s);
    for (char *p = s; *p; p++) /* one line: no control characters */
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
    for (char *p = s; *p;) {
        if (*p == ' ') { p++; continue; }
        size_t n = strcspn(p, " ");
        if (n > LN_MSG_MAX_WORD) { /* keep both ends of a long word (a path) */
            const size_t head = (LN_MSG_MAX_WORD - 3) / 2, tail = LN_MSG_MAX_WORD - 3 - head;
            memcpy(p + head, "...", 3);
            memmove(p + head + 3, p + n - tail, len - (size_t)(p - s) - (n - tail) + 1);
            len -= n - LN_MSG_MAX_WORD;
            n = LN_MSG_MAX_WORD;
        }
        p += n;
    }
    return len;
}

char *ln_msg_vformat(const char *fmt, va_list ap) {
    va_list aq;
    va_copy(aq, ap);
    const int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    char *msg = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!msg) return NULL;
    vsnprintf(msg, (size_t)n + 1, fmt, ap);
    ln_msg_shorten(msg);
    return msg;
}

ln_status ln_fail(ln_error *err, ln_status status, const char *fmt, ...) {
    if (err) {
        va_list ap, aq;
        va_start(ap, fmt);
        va_copy(aq, ap);
        char *full = ln_msg_vformat(fmt, ap);
        if (full) {
            snprintf(err->msg, sizeof err->msg, "%s", full);
            free(full);
        } else {
            vsnprintf(err->msg, sizeof err->msg, fmt, aq);
        }
        va_end(aq);
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
