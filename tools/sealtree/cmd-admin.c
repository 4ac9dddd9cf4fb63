/* SPDX-License-Identifier: MIT */
/* sealtree admin [--sysroot PATH] VERB: see docs/man/sealtree-admin.1.md. */
#include <fcntl.h>
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "sealtree/error.h"
#include "sealtree/hex.h"

const char *arg_sysroot = "/";
static bool arg_sysroot_given;

struct admin_verb {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

#define VERB_ENTRY(fn, n, s) { n, admin_##fn, s },
static const struct admin_verb verbs[] = { ADMIN_VERBS(VERB_ENTRY) };
#undef VERB_ENTRY

static void admin_usage(FILE *f)
{
	fprintf(f,
		"usage: sealtree admin [--sysroot PATH] VERB [ARGS...]\n"
		"\n"
		"Deploy commits of SYSROOT/sealtree/repo as bootable systems: boot entries in\n"
		"SYSROOT/boot/loader/entries, a writable /etc per deployment, atomic switches.\n"
		"\n"
		"Verbs:\n");
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		fprintf(f, "  %-12s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f,
		"\n"
		"  --sysroot PATH   the sysroot (default /)\n"
		"  -h, --help       show this help ('sealtree admin VERB --help' for a verb)\n");
}

/* On a machine booted by sealtree-prepare-root, / is the deployment's
 * composefs root and the physical root is bound read-only on /sysroot.
 * Without --sysroot, that is the sysroot then; when it is read-only it is
 * made writable in this process's own mount namespace only (the machine's
 * view stays read-only, as the policy's [sysroot] readonly asks). */
static int admin_find_booted_sysroot(const char *verb)
{
	struct statvfs sv;

	if (arg_sysroot_given || access("/sealtree/deploy", F_OK) == 0 || access("/sysroot/sealtree/deploy", F_OK) < 0)
		return 0;
	arg_sysroot = "/sysroot";
	if (statvfs("/sysroot", &sv) < 0 || !(sv.f_flag & ST_RDONLY))
		return 0;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0 ||
	    mount(NULL, "/sysroot", NULL, MS_REMOUNT | MS_BIND, NULL) < 0) {
		int r = -errno;
		log_error_errno(r, "admin %s: cannot make /sysroot writable in a private mount namespace", verb);
		return r;
	}
	return 0;
}

struct st_sysroot *admin_open(const char *verb, bool exclusive)
{
	struct st_sysroot *s = NULL;
	int r;

	if (admin_find_booted_sysroot(verb) < 0)
		return NULL;
	r = st_sysroot_open(arg_sysroot, &s);
	if (r < 0) {
		log_error_errno(r, "admin %s: cannot open sysroot '%s'", verb, arg_sysroot);
		return NULL;
	}
	r = st_sysroot_lock(s, exclusive, false);
	if (r == -EWOULDBLOCK) {
		fprintf(stderr, "sealtree: admin %s: waiting for the sysroot lock: another sealtree admin command "
				"is running\n", verb);
		r = st_sysroot_lock(s, exclusive, true);
	}
	if (r < 0) {
		log_error_errno(r, "admin %s: cannot lock sysroot '%s'", verb, arg_sysroot);
		st_sysroot_free(s);
		return NULL;
	}
	return s;
}

int admin_parse_index(const char *verb, const char *s, const struct st_deploy_list *l, size_t *ret)
{
	uint64_t v;

	if (safe_atou64_max(s, SIZE_MAX, &v) < 0) {
		log_error("admin %s: '%s' is not a deployment index (see 'admin status')", verb, s);
		return -1;
	}
	if (v >= l->n) {
		log_error("admin %s: no deployment at index %s (there are %zu)", verb, s, l->n);
		return -1;
	}
	*ret = (size_t)v;
	return 0;
}

int admin_plain_args(const char *verb, int argc, char **argv, const char *usage, int min, int max)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c, n;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		if (c != 'h')
			return -EINVAL;         /* getopt named the option */
		fputs(usage, stdout);
		return 0;
	}
	n = argc - optind;
	if (n < min || n > max) {
		if (max == 0)
			log_error("admin %s: takes no arguments ('%s' given)", verb, argv[optind]);
		else if (min == max)
			log_error("admin %s: expected %d argument%s, got %d", verb, min, min == 1 ? "" : "s", n);
		else if (min == 0)
			log_error("admin %s: expected at most %d argument%s, got %d", verb, max, max == 1 ? "" : "s", n);
		else
			log_error("admin %s: expected %d to %d arguments, got %d", verb, min, max, n);
		return -EINVAL;
	}
	return 1;
}

void admin_mark_staged(void)
{
	const char *dir = getenv("SEALTREE_RUN_DIR");
	char path[4096];
	int fd;

	if (!dir || !*dir)
		dir = "/run/sealtree";
	(void)mkdir(dir, 0755);
	(void)snprintf(path, sizeof(path), "%s/staged", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		fprintf(stderr, "sealtree: admin: cannot create '%s' (sealtree-finalize-staged.path will not see the "
				"staged deployment): %m\n", path);
	else
		close(fd);
}

void admin_print_conflicts(const struct st_deploy_options *o)
{
	for (size_t i = 0; i < o->n_conflicts; i++) {
		printf("conflict: %s /etc/", o->conflicts[i].kind);
		for (const char *p = o->conflicts[i].path; *p; p++) {
			unsigned char c = (unsigned char)*p;
			if (c < 0x20 || c == 0x7f || c == '\\')
				printf("\\x%02x", c);
			else
				putchar(c);
		}
		printf(" (new default kept as .sealtree-new)\n");
	}
}

void admin_print_deployed(const struct st_deploy_options *o)
{
	if (o->staged)
		printf("staged %s/%s: it becomes the %s when 'sealtree admin finalize-staged' runs at shutdown\n",
		       o->os_used, o->id, (o->flags & ST_DEPLOY_NOT_AS_DEFAULT) ? "rollback" : "default");
	else
		printf("deployed %s/%s%s\n", o->os_used, o->id, (o->flags & ST_DEPLOY_NOT_AS_DEFAULT) ? "" : " (default)");
	printf("trust: %s\n", o->trust);
	printf("boot files: %s\n", o->boot_files_new ? "installed" : "shared with another deployment");
	if (o->merged_from)
		printf("/etc: merged from %s, %zu conflict%s\n", o->merged_from, o->n_conflicts,
		       o->n_conflicts == 1 ? "" : "s");
	else
		printf("/etc: the commit's defaults (no merge)\n");
	admin_print_conflicts(o);
}

int cmd_admin(int argc, char **argv)
{
	enum { OPT_SYSROOT = 0x100 };
	static const struct option options[] = {
		{ "sysroot", required_argument, NULL, OPT_SYSROOT },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0) {
		switch (c) {
		case OPT_SYSROOT:
			arg_sysroot = optarg;
			arg_sysroot_given = true;
			break;
		case 'h':
			admin_usage(stdout);
			return 0;
		default:
			admin_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		admin_usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		if (strcmp(argv[optind], verbs[i].name) == 0) {
			char **sub_argv = argv + optind;
			int sub_argc = argc - optind;

			optind = 0;
			return verbs[i].run(sub_argc, sub_argv);
		}
	log_error("admin: unknown verb '%s' (see 'sealtree admin --help')", argv[optind]);
	return 2;
}
