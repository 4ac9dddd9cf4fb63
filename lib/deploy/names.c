/* SPDX-License-Identifier: MIT */
/* Names in a sysroot: OS (stateroot), deployment ID, the sealtree= karg, pins. */
#include <stdio.h>
#include <string.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "basic/macro.h"
#include "names.h"
#include "fundamental/parse-number.h"

bool st_os_name_valid(const char *os)
{
	size_t n;

	if (!os)
		return false;
	n = strlen(os);
	if (n == 0 || n > ST_OS_NAME_MAX || os[0] == '.' || os[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = os[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '+' || c == '-'))
			return false;
	}
	return true;
}

int deploy_id_parse(const char *id, uint8_t commit[ST_COMMIT_ID_SIZE], unsigned *ret_serial)
{
	const char *s;
	uint64_t serial;
	size_t n;

	if (strlen(id) < 2 * ST_COMMIT_ID_SIZE + 2 || id[2 * ST_COMMIT_ID_SIZE] != '.')
		return -EINVAL;
	if (hex_decode_lower(id, 2 * ST_COMMIT_ID_SIZE, commit, ST_COMMIT_ID_SIZE) < 0)
		return -EINVAL;
	s = id + 2 * ST_COMMIT_ID_SIZE + 1;
	n = strlen(s);
	if (n > 4 || parse_uint_n(s, n, 10, 9999, PARSE_CANONICAL, &serial) < 0)
		return -EINVAL;
	if (ret_serial)
		*ret_serial = (unsigned)serial;
	return 0;
}

int deploy_ref_parse(const char *value, char **ret_os, char **ret_id)
{
	const char *slash = strchr(value, '/');
	_cleanup_free_ char *os = NULL, *id = NULL;
	uint8_t c[ST_COMMIT_ID_SIZE];

	if (!slash)
		return st_errf(-EUCLEAN, "'sealtree=%s' is not OS/ID", value);
	os = strndup(value, (size_t)(slash - value));
	id = strdup(slash + 1);
	if (!os || !id)
		return -ENOMEM;
	if (!st_os_name_valid(os) || deploy_id_parse(id, c, NULL) < 0)
		return st_errf(-EUCLEAN, "'sealtree=%s' is not OS/ID", value);
	*ret_os = TAKE_PTR(os);
	*ret_id = TAKE_PTR(id);
	return 0;
}

int deploy_pin_name(const char *os, const char *id, char **ret)
{
	char *s = NULL;

	if (asprintf(&s, ST_DEPLOY_PIN_PREFIX "%s/%s", os, id) < 0)
		return -ENOMEM;
	*ret = s;
	return 0;
}
