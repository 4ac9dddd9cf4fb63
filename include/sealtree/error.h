/* SPDX-License-Identifier: MIT */
/*
 * sealtree errors: every function that can fail returns a negative errno.
 * Where the code alone would not say what went wrong, the failing function
 * also records a detail in plain words (which file, object, member or line,
 * and why). The detail is per thread and only meaningful right after a
 * failure was returned; st_error_message() joins it with strerror().
 *
 * Domain failures map to these errno values:
 */
#ifndef SEALTREE_ERROR_H
#define SEALTREE_ERROR_H

#include <errno.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ST_EXPORT
#define ST_EXPORT __attribute__((visibility("default")))
#endif

#define ST_E_CORRUPT (-EUCLEAN)         /* corrupt image, dumpfile or object */
#define ST_E_DIGEST (-EBADMSG)          /* digest mismatch */
#define ST_E_SIGNATURE (-EKEYREJECTED)  /* bad signature */
#define ST_E_NOKEY (-ENOKEY)            /* missing key */
#define ST_E_UNSUPPORTED (-EOPNOTSUPP)  /* unknown incompatible feature */

/* Forget the current detail message. */
ST_EXPORT void st_error_clear(void);

/*
 * The detail recorded by the last failure on this thread, or NULL.
 * Valid until the next failing call on this thread.
 */
ST_EXPORT const char *st_error_detail(void);

/*
 * A message for r (a negative errno) suitable for printing: the recorded
 * detail if there is one, then strerror(-r). Returns a thread-local buffer,
 * valid until the next call on this thread.
 */
ST_EXPORT const char *st_error_message(int r);

#ifdef __cplusplus
}
#endif
#endif
