/* error.h - how the library reports failure.
 *
 * Every fallible library call takes an `ln_error *` (may be NULL) and returns
 * an ln_status. On failure the struct holds a one-line message that names the
 * file or setting and says what to do. The library never prints and never
 * exits; the CLI turns a status into an exit code with ln_status_exit_code().
 *
 * A message names a setting by the name the library's configuration gives
 * it, in backquotes - `batch_size`, or with a value `seed=5` - so that a
 * front end can show it in its own terms (the CLI writes --batch-size,
 * --seed 5). Other backquoted text (`lenet train`) is just quoted.
 * Long paths in a message are shortened in the middle (ln_msg_shorten), so
 * the reason around them always fits.
 */
#ifndef LENET_ERROR_H
#define LENET_ERROR_H

#include <stdarg.h>

#include <stddef.h>

typedef enum {
    LN_OK = 0,
    LN_E_INPUT,   /* bad input: unreadable/corrupt/mismatched user file (exit 2) */
    LN_E_USAGE,   /* bad option value or API argument (exit 2) */
    LN_E_NOMEM,   /* out of memory (exit 1) */
    LN_E_SYSTEM,  /* write/rename/fsync failure, numerical blow-up (exit 1) */
} ln_status;

typedef struct {
    ln_status status;
    char msg[512];
} ln_error;

/* Record a failure (printf-style message, no trailing newline) and return
 * `status`, so callers can write `return ln_fail(err, LN_E_INPUT, ...)`. */
ln_status ln_fail(ln_error *err, ln_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Shorten, in place, every space-free word of `msg` longer than
 * LN_MSG_MAX_WORD characters (a long path) by cutting out its middle
 * ("/very/long/.../name.ckpt"), so the reason around it always survives;
 * control characters (a newline in a file name) become '?' (one line).
 * ln_fail applies it; so does the CLI's error printer. Returns the new length. */
#define LN_MSG_MAX_WORD 160
size_t ln_msg_shorten(char *msg);

/* fmt and ap formatted into a new string (free it) and shortened as above;
 * NULL when out of memory (ap is then used up: va_copy it first to fall
 * back). ln_fail and the CLI's error printer both format through it. */
char *ln_msg_vformat(const char *fmt, va_list ap);

/* 0 for LN_OK, 2 for bad input or usage, 1 for runtime failures. */
int ln_status_exit_code(ln_status s);

#endif
