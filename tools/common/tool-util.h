/* SPDX-License-Identifier: MIT */
/* Shared by the command-line tools: logging and small parsing helpers. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

/* Set once in main(): the name printed before every message. */
extern const char *program_name;

/* Print "program: message" to stderr, escaped (escape.h). Returns -1 (for main's exit path). */
int log_error(const char *fmt, ...) _printf_(1, 2);

/*
 * Print "program: message: detail" where detail is the library's recorded
 * detail for r plus strerror(-r). Returns r.
 */
int log_error_errno(int r, const char *fmt, ...) _printf_(2, 3);

/* Parse a decimal unsigned number that must fit in max. 0 or -EINVAL/-ERANGE. */
int parse_uint(const char *s, uint64_t max, uint64_t *ret);
