/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <string.h>

#include "error.h"

static _Thread_local char detail[1024];
static _Thread_local char message[1200];
static _Thread_local bool have_detail;

int st_errf(int r, const char *fmt, ...)
{
	/* Callers often wrap the current detail ("commit X: %s", st_error_detail()):
	 * format into a scratch buffer, since the arguments may point into detail. */
	char buf[sizeof(detail)];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	memcpy(detail, buf, sizeof(detail));
	have_detail = true;
	return r;
}

void st_error_clear(void)
{
	have_detail = false;
	detail[0] = '\0';
}

const char *st_error_detail(void)
{
	return have_detail ? detail : NULL;
}

const char *st_error_message(int r)
{
	const char *why = strerror(r < 0 ? -r : r);

	if (have_detail)
		(void)snprintf(message, sizeof(message), "%s: %s", detail, why);
	else
		(void)snprintf(message, sizeof(message), "%s", why);
	return message;
}
