/* SPDX-License-Identifier: MIT */
/*
 * sealtree admin rollback, set-default, undeploy, pin, kargs: each loads
 * the deployment list, edits it and switches the entries atomically (see
 * docs/man/sealtree-admin-VERB.1.md).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "sealtree/error.h"

/* Open (exclusive) and load; prints errors. */
static int open_load(const char *verb, struct st_sysroot **ret_s, struct st_deploy_list **ret_l)
{
	struct st_sysroot *s = admin_open(verb, true);
	int r;

	if (!s)
		return -1;
	r = st_sysroot_load(s, ret_l);
	if (r < 0) {
		log_error_errno(r, "admin %s: cannot read the deployments", verb);
		st_sysroot_free(s);
		return -1;
	}
	*ret_s = s;
	return 0;
}

static int write_list(const char *verb, struct st_sysroot *s, struct st_deploy_list *l)
{
	int r = st_sysroot_write_list(s, l);

	if (r < 0) {
		log_error_errno(r, "admin %s: cannot switch the boot entries", verb);
		return 1;
	}
	return 0;
}

int admin_rollback(int argc, char **argv)
{
	_cleanup_(sysroot_freep) struct st_sysroot *s = NULL;
	_cleanup_(deploy_list_freep) struct st_deploy_list *l = NULL;
	int r;

	r = admin_plain_args("rollback", argc, argv,
			     "usage: sealtree admin [--sysroot PATH] rollback\n\n"
			     "Make the rollback deployment (index 1) the default; the old default becomes\n"
			     "the rollback.\n", 0, 0);
	if (r <= 0)
		return r < 0 ? 2 : 0;
	if (open_load("rollback", &s, &l) < 0)
		return 1;
	if (l->n < 2) {
		log_error("admin rollback: no rollback deployment (there %s %zu deployment%s)", l->n == 1 ? "is" : "are",
			  l->n, l->n == 1 ? "" : "s");
		return 1;
	}
	(void)st_deploy_list_make_default(l, 1);
	if (write_list("rollback", s, l))
		return 1;
	printf("default is now %s/%s (was %s/%s)\n", l->d[0].os, l->d[0].id, l->d[1].os, l->d[1].id);
	return 0;
}

int admin_set_default(int argc, char **argv)
{
	_cleanup_(sysroot_freep) struct st_sysroot *s = NULL;
	_cleanup_(deploy_list_freep) struct st_deploy_list *l = NULL;
	size_t index;
	int r;

	r = admin_plain_args("set-default", argc, argv,
			     "usage: sealtree admin [--sysroot PATH] set-default INDEX\n\n"
			     "Move deployment INDEX to the front: it boots by default.\n", 1, 1);
	if (r <= 0)
		return r < 0 ? 2 : 0;
	if (open_load("set-default", &s, &l) < 0)
		return 1;
	if (admin_parse_index("set-default", argv[optind], l, &index) < 0)
		return 1;
	if (index == 0) {
		printf("%s/%s is the default already\n", l->d[0].os, l->d[0].id);
		return 0;
	}
	(void)st_deploy_list_make_default(l, index);
	if (write_list("set-default", s, l))
		return 1;
	printf("default is now %s/%s\n", l->d[0].os, l->d[0].id);
	return 0;
}

int admin_undeploy(int argc, char **argv)
{
	_cleanup_(sysroot_freep) struct st_sysroot *s = NULL;
	_cleanup_(deploy_list_freep) struct st_deploy_list *l = NULL;
	char name[ST_OS_NAME_MAX + 2 * ST_COMMIT_ID_SIZE + 16];
	size_t index;
	int r;

	r = admin_plain_args("undeploy", argc, argv,
			     "usage: sealtree admin [--sysroot PATH] undeploy INDEX\n\n"
			     "Remove deployment INDEX: its entry, then its directory, pin and unused boot files.\n"
			     "The booted deployment cannot be removed.\n", 1, 1);
	if (r <= 0)
		return r < 0 ? 2 : 0;
	if (open_load("undeploy", &s, &l) < 0)
		return 1;
	if (admin_parse_index("undeploy", argv[optind], l, &index) < 0)
		return 1;
	if (l->d[index].booted) {
		log_error("admin undeploy: %s/%s is the booted deployment", l->d[index].os, l->d[index].id);
		return 1;
	}
	(void)snprintf(name, sizeof(name), "%s/%s", l->d[index].os, l->d[index].id);
	(void)st_deploy_list_remove(l, index);
	if (write_list("undeploy", s, l))
		return 1;
	printf("removed %s\n", name);
	return 0;
}

int admin_pin(int argc, char **argv)
{
	static const struct option options[] = {
		{ "unpin", no_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	_cleanup_(sysroot_freep) struct st_sysroot *s = NULL;
	_cleanup_(deploy_list_freep) struct st_deploy_list *l = NULL;
	bool unpin = false;
	size_t index;
	int c, r;

	while ((c = getopt_long(argc, argv, "uh", options, NULL)) >= 0) {
		switch (c) {
		case 'u':
			unpin = true;
			break;
		case 'h':
			printf("usage: sealtree admin [--sysroot PATH] pin [--unpin] INDEX\n\n"
			       "Keep deployment INDEX through 'admin cleanup' (--unpin: stop keeping it).\n");
			return 0;
		default:
			return 2;
		}
	}
	if (optind + 1 != argc) {
		log_error("admin pin: expected one INDEX");
		return 2;
	}
	if (open_load("pin", &s, &l) < 0)
		return 1;
	if (admin_parse_index("pin", argv[optind], l, &index) < 0)
		return 1;
	r = st_sysroot_set_pinned(s, &l->d[index], !unpin);
	if (r < 0) {
		log_error_errno(r, "admin pin");
		return 1;
	}
	printf("%s %s/%s\n", unpin ? "unpinned" : "pinned", l->d[index].os, l->d[index].id);
	return 0;
}

int admin_kargs(int argc, char **argv)
{
	enum { OPT_APPEND = 0x100, OPT_DELETE, OPT_REPLACE, OPT_INDEX };
	static const struct option options[] = {
		{ "append", required_argument, NULL, OPT_APPEND },
		{ "delete", required_argument, NULL, OPT_DELETE },
		{ "replace", required_argument, NULL, OPT_REPLACE },
		{ "index", required_argument, NULL, OPT_INDEX },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	_cleanup_(sysroot_freep) struct st_sysroot *s = NULL;
	_cleanup_(deploy_list_freep) struct st_deploy_list *l = NULL;
	const char *index_arg = NULL;
	struct { int op; const char *word; } edits[256];
	size_t n_edits = 0, index = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case OPT_APPEND:
		case OPT_DELETE:
		case OPT_REPLACE:
			if (n_edits == ELEMENTSOF(edits)) {
				log_error("admin kargs: too many edits");
				return 2;
			}
			edits[n_edits].op = c;
			edits[n_edits++].word = optarg;
			break;
		case OPT_INDEX:
			index_arg = optarg;
			break;
		case 'h':
			printf("usage: sealtree admin [--sysroot PATH] kargs [--index INDEX] [--append K[=V]]...\n"
			       "                      [--delete K[=V]]... [--replace K=V]...\n\n"
			       "Print the kernel arguments of the default deployment (or INDEX); with edits,\n"
			       "apply them in order and switch the entries. Quotes and spaces are kept exactly.\n");
			return 0;
		default:
			return 2;
		}
	}
	if (optind != argc) {
		log_error("admin kargs: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	s = admin_open("kargs", n_edits > 0);
	if (!s)
		return 1;
	r = st_sysroot_load(s, &l);
	if (r < 0) {
		log_error_errno(r, "admin kargs: cannot read the deployments");
		return 1;
	}
	if (l->n == 0) {
		log_error("admin kargs: no deployments");
		return 1;
	}
	if (index_arg && admin_parse_index("kargs", index_arg, l, &index) < 0)
		return 1;
	for (size_t i = 0; i < n_edits; i++) {
		char **k = &l->d[index].kargs;

		if (!*k && !(*k = strdup(""))) {
			log_error("out of memory");
			return 1;
		}
		r = edits[i].op == OPT_APPEND ? st_kargs_append(k, edits[i].word)
		    : edits[i].op == OPT_DELETE ? st_kargs_delete(k, edits[i].word)
						: st_kargs_replace(k, edits[i].word);
		if (r < 0) {
			log_error_errno(r, "admin kargs: '%s'", edits[i].word);
			return 1;
		}
		if (edits[i].op == OPT_DELETE && r == 0) {
			log_error("admin kargs: '%s' is not among the kernel arguments", edits[i].word);
			return 1;
		}
	}
	if (n_edits > 0 && write_list("kargs", s, l))
		return 1;
	printf("%s\n", l->d[index].kargs ? l->d[index].kargs : "");
	return 0;
}
