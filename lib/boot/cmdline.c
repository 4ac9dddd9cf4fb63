/* SPDX-License-Identifier: MIT */
/*
 * The kernel command line as prepare-root reads it. Words are split the way
 * the kernel splits them (spaces and tabs, double quotes group), and only
 * the sealtree words are looked at:
 *
 *   sealtree=OS/ID            the deployment (BLS entries)
 *   sealtree.digest=COMMIT    the commit (a UKI's signed .cmdline)
 *   sealtree.composefs=MODE   maybe|yes|verity|signed, 1 (= yes), 0|no|off
 *
 * The command line is not trusted to weaken anything: a mode below the
 * initramfs's policy is recorded and ignored by the caller. A word given
 * twice with different values is refused rather than "last one wins",
 * because the two halves of a command line can come from different places
 * (a signed UKI's .cmdline and what a boot loader appended).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "deploy/names.h"
#include "sealtree/boot.h"

void st_boot_cmdline_release(struct st_boot_cmdline *c)
{
	free(c->os);
	free(c->id);
	free(c->mode_word);
	*c = (struct st_boot_cmdline){};
}

/* OS/COMMIT.SERIAL, by the rules of docs/formats/sysroot.md that deploy writes them with. */
static int parse_deployment(const char *v, struct st_boot_cmdline *c)
{
	const char *slash = strchr(v, '/'), *id;
	char os[ST_OS_NAME_MAX + 1];
	size_t os_len;
	uint8_t commit[ST_COMMIT_ID_SIZE];

	if (!slash)
		return st_errf(-EUCLEAN, "'sealtree=%s' is not OS/ID", v);
	os_len = (size_t)(slash - v);
	if (os_len > ST_OS_NAME_MAX)
		return st_errf(-EUCLEAN, "'sealtree=%s': not a valid OS name", v);
	memcpy(os, v, os_len);
	os[os_len] = '\0';
	if (!st_os_name_valid(os))
		return st_errf(-EUCLEAN, "'sealtree=%s': not a valid OS name", v);
	id = slash + 1;
	if (deploy_id_parse(id, commit, NULL) < 0)
		return st_errf(-EUCLEAN, "'sealtree=%s': the deployment is not COMMIT.SERIAL (SERIAL below 10000)", v);

	if (c->os && (strncmp(c->os, v, os_len) || c->os[os_len] || strcmp(c->id, id)))
		return st_errf(-EUCLEAN, "'sealtree=' is given twice with different deployments");
	if (!c->os) {
		c->os = strndup(v, os_len);
		c->id = strdup(id);
		if (!c->os || !c->id)
			return -ENOMEM;
	}
	return 0;
}

static int parse_digest(const char *v, struct st_boot_cmdline *c)
{
	uint8_t d[ST_COMMIT_ID_SIZE];

	if (strlen(v) != 2 * ST_COMMIT_ID_SIZE || strspn(v, "0123456789abcdef") != 2 * ST_COMMIT_ID_SIZE ||
	    st_hex_decode(v, 2 * ST_COMMIT_ID_SIZE, d, sizeof(d)) < 0)
		return st_errf(-EUCLEAN, "'sealtree.digest=%s' is not a commit id (64 lowercase hex digits)", v);
	if (c->has_digest && memcmp(c->digest, d, sizeof(d)))
		return st_errf(-EUCLEAN, "'sealtree.digest=' is given twice with different commits");
	memcpy(c->digest, d, sizeof(d));
	c->has_digest = true;
	return 0;
}

static int parse_mode(const char *v, struct st_boot_cmdline *c)
{
	enum st_composefs_mode m;
	bool weaker = false;

	if (!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "false")) {
		weaker = true;
		m = ST_COMPOSEFS_MAYBE;
	} else if (!strcmp(v, "1") || !strcmp(v, "true")) {
		m = ST_COMPOSEFS_YES;
	} else if (st_composefs_mode_from_string(v, &m) < 0) {
		return st_errf(-EUCLEAN, "'sealtree.composefs=%s': not maybe, yes, verity, signed, 1 or 0", v);
	}
	if (c->has_mode && (c->mode != m || c->mode_weaker != weaker))
		return st_errf(-EUCLEAN, "'sealtree.composefs=' is given twice with different values");
	c->has_mode = true;
	c->mode = m;
	c->mode_weaker = weaker;
	free(c->mode_word);
	c->mode_word = strdup(v);
	return c->mode_word ? 0 : -ENOMEM;
}

static int handle_word(const char *w, struct st_boot_cmdline *c)
{
	if (!strncmp(w, "sealtree=", 9))
		return parse_deployment(w + 9, c);
	if (!strncmp(w, "sealtree.digest=", 16))
		return parse_digest(w + 16, c);
	if (!strncmp(w, "sealtree.composefs=", 19))
		return parse_mode(w + 19, c);
	if (!strcmp(w, "sealtree") || !strncmp(w, "sealtree.", 9))
		return st_errf(-EUCLEAN, "unknown word '%.64s' on the kernel command line", w);
	return 0;
}

int st_boot_cmdline_parse(const char *cmdline, struct st_boot_cmdline *ret)
{
	struct st_boot_cmdline c = {};
	_cleanup_free_ char *word = NULL;
	size_t len = strlen(cmdline), n;
	const char *p = cmdline, *end = cmdline + len;
	int r = 0;

	if (len > ST_BOOT_CMDLINE_MAX)
		return st_errf(-EUCLEAN, "the command line is longer than %d bytes", ST_BOOT_CMDLINE_MAX);
	word = malloc(len + 1);
	if (!word)
		return -ENOMEM;
	while (p < end && r >= 0) {
		bool quoted = false;

		while (p < end && (*p == ' ' || *p == '\t' || *p == '\n'))
			p++;
		if (p == end)
			break;
		/* The kernel drops the double quotes and keeps what they hold in one word. */
		for (n = 0; p < end && (quoted || (*p != ' ' && *p != '\t' && *p != '\n')); p++) {
			if (*p == '"')
				quoted = !quoted;
			else
				word[n++] = *p;
		}
		word[n] = '\0';
		r = handle_word(word, &c);
	}
	if (r >= 0 && c.has_digest && c.id) {
		uint8_t of_id[ST_COMMIT_ID_SIZE];

		if (st_hex_decode(c.id, 2 * ST_COMMIT_ID_SIZE, of_id, sizeof(of_id)) < 0 ||
		    memcmp(of_id, c.digest, sizeof(of_id)))
			r = st_errf(-EUCLEAN, "sealtree.digest= names another commit than sealtree=%s/%s", c.os, c.id);
	}
	if (r < 0) {
		st_boot_cmdline_release(&c);
		return r;
	}
	*ret = c;
	return 0;
}
