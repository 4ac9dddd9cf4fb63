/* SPDX-License-Identifier: MIT */
/* The ref name that pins a mount point: refs/mounts/<escaped absolute path>. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "basic/macro.h"
#include "sealtree/repo-read.h"
#include "verity/sha256.h"

static bool pin_byte_plain(char ch, bool first)
{
	if (first && ch == '.')
		return false;
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
	       ch == '_' || ch == '-';
}

int st_mount_pin_name(const char *target, char **ret)
{
	size_t plen = strlen(ST_MOUNT_PIN_PREFIX), len = plen, depth = 2;  /* "refs", "mounts" */
	_cleanup_free_ char *name = NULL;
	char *p;

	if (!target || target[0] != '/')
		return st_errf(-EINVAL, "mount target '%s' is not an absolute path", target ? target : "");
	/* Worst case: every byte as "+XX". */
	name = malloc(plen + 3 * strlen(target) + 8);
	if (!name)
		return -ENOMEM;
	memcpy(name, ST_MOUNT_PIN_PREFIX, plen);
	p = name + plen;
	for (const char *s = target; *s;) {
		bool first = true;

		while (*s == '/')
			s++;
		if (!*s)
			break;
		if (p != name + plen)
			*p++ = '/';
		depth++;
		for (; *s && *s != '/'; s++, first = false) {
			if (pin_byte_plain(*s, first))
				*p++ = *s;
			else
				p += snprintf(p, 4, "+%02x", (unsigned char)*s);
		}
	}
	if (p == name + plen)
		p += snprintf(p, 4, "+2f");     /* "/" itself */
	*p = '\0';
	len = (size_t)(p - name);
	/* A name no ref may have (too long, too deep: st_ref_canonicalize()) becomes a hash. */
	if (len > ST_REF_NAME_MAX || depth > ST_REF_DEPTH_MAX) {
		struct sha256 h = {};
		uint8_t d[SHA256_DIGEST_SIZE];
		char hex[2 * SHA256_DIGEST_SIZE + 1];
		int r = sha256_init(&h);

		if (r >= 0)
			r = sha256_digest(&h, target, strlen(target), d);
		sha256_release(&h);
		if (r < 0)
			return r;
		st_hex_encode(d, sizeof(d), hex);
		(void)snprintf(name + plen, 3 * strlen(target) + 8, "+sha256-%s", hex);
	}
	*ret = TAKE_PTR(name);
	return 0;
}
