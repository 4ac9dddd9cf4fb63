/* SPDX-License-Identifier: MIT */
/* Shared by the command-line tools: logging and small parsing helpers. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "parse-number.h"    /* safe_atou64_max() and friends, lib/fundamental */

/* Set once in main(): the name printed before every message. */
extern const char *program_name;

/* Print "program: message" to stderr, escaped (escape.h). Returns -1 (for main's exit path). */
int log_error(const char *fmt, ...) _printf_(1, 2);

/*
 * Print "program: message: detail" where detail is the library's recorded
 * detail for r plus strerror(-r). Returns r.
 */
int log_error_errno(int r, const char *fmt, ...) _printf_(2, 3);


/*
 * Parse an option's decimal argument into [min, max]. On a bad value print
 * "program: CMD: OPTION takes MIN to MAX[ UNIT]" and return -EINVAL (the
 * caller exits 2, as for any usage error).
 */
int parse_option_u32(const char *cmd, const char *option, const char *arg, uint32_t min, uint32_t max,
		     const char *unit, uint32_t *ret);
