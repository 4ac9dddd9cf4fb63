/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sealtree/error.h"
#include "escape.h"
#include "tool-util.h"

const char *program_name = "sealtree";

/*
 * Messages quote names, paths, versions and library details that come from a
 * repository or a trust store: the whole message is printed escaped, so that
 * it stays one line and cannot forge another (escape.h).
 */
static void vlog(const char *detail, const char *fmt, va_list ap)
{
	char *msg = NULL;

	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	fprintf(stderr, "%s: ", program_name);
	print_escaped(stderr, msg ? msg : fmt);
	if (detail) {
		fputs(": ", stderr);
		print_escaped(stderr, detail);
	}
	fputc('\n', stderr);
	free(msg);
}

int log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(NULL, fmt, ap);
	va_end(ap);
	return -1;
}

int log_error_errno(int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(st_error_message(r), fmt, ap);
	va_end(ap);
	st_error_clear();
	return r;
}

int parse_option_u32(const char *cmd, const char *option, const char *arg, uint32_t min, uint32_t max,
		     const char *unit, uint32_t *ret)
{
	uint32_t v;

	if (safe_atou32(arg, &v) < 0 || v < min || v > max) {
		log_error("%s: %s takes %" PRIu32 " to %" PRIu32 "%s%s", cmd, option, min, max, unit ? " " : "",
			  unit ? unit : "");
		return -EINVAL;
	}
	*ret = v;
	return 0;
}
