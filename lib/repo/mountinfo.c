/* SPDX-License-Identifier: MIT */
/* What is mounted on a directory, from /proc/self/mountinfo: see repo-internal.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/error.h"
#include "basic/macro.h"
#include "repo-internal.h"

/* The kernel escapes space, tab, newline and backslash (and, in options, ',' and '=') as \ooo. */
static void unescape_octal(char *s)
{
	char *w = s;

	for (; *s; s++)
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else
			*w++ = *s;
	*w = '\0';
}

void repo_mountinfo_release(struct repo_mountinfo *m)
{
	free(m->fstype);
	free(m->source);
	free(m->options);
	*m = (struct repo_mountinfo){};
}

int repo_mountinfo_parse_line(char *line, const char *target, struct repo_mountinfo *ret)
{
	char *fields[5], *rest = line, *sep, *fstype, *source, *options;

	line[strcspn(line, "\n")] = '\0';
	for (int i = 0; i < 5; i++)
		fields[i] = strsep(&rest, " ");
	if (!fields[4] || !rest)
		return 0;
	unescape_octal(fields[4]);
	if (strcmp(fields[4], target) != 0)
		return 0;
	/* Optional fields, then " - FSTYPE SOURCE SUPEROPTIONS". */
	sep = strncmp(rest, "- ", 2) == 0 ? rest : strstr(rest, " - ");
	if (!sep)
		return 0;
	sep += sep == rest ? 2 : 3;
	fstype = strsep(&sep, " ");
	source = strsep(&sep, " ");
	options = sep ? sep : (char *)"";
	if (!fstype || !source)
		return 0;
	unescape_octal(fstype);
	unescape_octal(source);
	repo_mountinfo_release(ret);
	ret->fstype = strdup(fstype);
	ret->source = strdup(source);
	ret->options = strdup(options);  /* each option is unescaped on its own, after splitting at ',' */
	if (!ret->fstype || !ret->source || !ret->options)
		return -ENOMEM;
	return 1;
}

int repo_mountinfo_at(const char *target, struct repo_mountinfo *ret)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	struct repo_mountinfo m = {};
	bool found = false;
	size_t cap = 0;

	if (!f)
		return st_errf(negative_errno(), "cannot read /proc/self/mountinfo");
	/* Later lines are mounted later: the last one for target is the topmost. */
	while (getline(&line, &cap, f) > 0) {
		int r = repo_mountinfo_parse_line(line, target, &m);
		if (r < 0) {
			repo_mountinfo_release(&m);
			return r;
		}
		found |= r > 0;
	}
	if (!found)
		return -ENOENT;
	*ret = m;
	return 0;
}

int repo_mountinfo_option(const struct repo_mountinfo *m, const char *key, char **ret)
{
	_cleanup_free_ char *copy = strdup(m->options);
	size_t klen = strlen(key);
	char *found = NULL;

	if (!copy)
		return -ENOMEM;
	for (char *p = copy, *opt; (opt = strsep(&p, ","));)
		if (strncmp(opt, key, klen) == 0) {
			unescape_octal(opt + klen);
			free(found);
			found = strdup(opt + klen);
			if (!found)
				return -ENOMEM;
		}
	if (!found)
		return -ENOENT;
	*ret = found;
	return 0;
}
