/* SPDX-License-Identifier: MIT */
/*
 * Error reporting for the library: every function that can fail returns a
 * negative errno. Where the code alone would not tell the user what went
 * wrong, the failing function also records a human-readable detail (which
 * file, which line, which field) with st_errf(); tools print it with
 * st_error_message(). The detail is per thread and only meaningful right
 * after a failure was returned.
 *
 * Domain failures map to real errno values, in one place:
 */
#pragma once

#include <errno.h>
#include "macro.h"

#define ST_E_CORRUPT (-EUCLEAN)         /* corrupt image, dumpfile or object */
#define ST_E_DIGEST (-EBADMSG)          /* digest mismatch */
#define ST_E_SIGNATURE (-EKEYREJECTED)  /* bad signature */
#define ST_E_NOKEY (-ENOKEY)            /* missing key */
#define ST_E_UNSUPPORTED (-EOPNOTSUPP)  /* unknown incompatible feature */

/*
 * Record a detail message for the error code r (negative errno) and return r,
 * so that callers can write: return st_errf(-EINVAL, "line %u: bad mode", n);
 */
int st_errf(int r, const char *fmt, ...) _printf_(2, 3);

/* Forget the current detail message. */
void st_error_clear(void);

/*
 * The detail recorded by the last st_errf() on this thread, or NULL.
 * Valid until the next st_errf() on this thread.
 */
const char *st_error_detail(void);

/*
 * A message for r suitable for printing: the recorded detail if there is one,
 * followed by strerror(-r). Returns a thread-local buffer.
 */
const char *st_error_message(int r);
