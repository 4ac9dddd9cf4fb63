/* SPDX-License-Identifier: MIT */
/*
 * Error reporting inside the library (the public half, with the ST_E_*
 * codes, is include/sealtree/error.h): where the code alone would not tell
 * the user what went wrong, the failing function records a human-readable
 * detail (which file, which line, which field) with st_errf(); tools print
 * it with st_error_message().
 */
#pragma once

#include "macro.h"
#include "sealtree/error.h"

/*
 * Record a detail message for the error code r (negative errno) and return r,
 * so that callers can write: return st_errf(-EINVAL, "line %u: bad mode", n);
 */
int st_errf(int r, const char *fmt, ...) _printf_(2, 3);
