/* SPDX-License-Identifier: MIT */
/* sealtree admin deploy, upgrade, switch: see docs/man/sealtree-admin-deploy.1.md. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "sealtree/error.h"
#include "sealtree/hex.h"

#define KARGS_MAX_ARGS 256

struct deploy_args {
	struct st_deploy_options o;
	const char *append[KARGS_MAX_ARGS], *del[KARGS_MAX_ARGS];
	char *kargs;                    /* --karg words joined */
	bool check;                     /* upgrade --check */
};

static void deploy_usage(FILE *f, const char *verb)
{
	fprintf(f,
		"usage: sealtree admin [--sysroot PATH] %s [OPTIONS]%s\n"
		"\n"
		"  --os OS                 the stateroot (default: the default deployment's)\n"
		"  --karg K[=V]            a kernel argument (repeatable; replaces the inherited ones)\n"
		"  --karg-append K[=V]     add to the inherited kernel arguments\n"
		"  --karg-delete K[=V]     remove from them (K alone: every K=...)\n"
		"  --not-as-default        add the entry after the default, not as it\n"
		"  --no-merge              /etc is the commit's defaults, nothing merged\n"
		"  --require-signature     a valid signature even where the policy asks none\n"
		"  --no-downgrade          refuse a commit older than the last accepted for the ref\n"
		"  --keys-dir DIR          the trust store (default: /etc/sealtree, /usr/share/sealtree)\n"
		"  --boot-tries N          boot counting: after N failed boots the loader falls back\n"
		"  --stage                 write it now, switch at shutdown (finalize-staged merges /etc)\n"
		"%s"
		"  -h, --help              show this help\n",
		verb, strcmp(verb, "deploy") == 0 ? " REF|COMMIT|REMOTE:REF|oci:IMAGE|oci:REGISTRY/NAME:TAG" :
		strcmp(verb, "switch") == 0 ? " REF|REMOTE:REF" : "",
		strcmp(verb, "upgrade") == 0 ? "  --check                 only say whether there is a newer commit\n" : "");
}

static int parse_deploy_args(int argc, char **argv, const char *verb, struct deploy_args *a)
{
	enum { OPT_OS = 0x100, OPT_KARG, OPT_APPEND, OPT_DELETE, OPT_NOT_DEFAULT, OPT_NO_MERGE, OPT_REQUIRE,
	       OPT_NO_DOWNGRADE, OPT_KEYS_DIR, OPT_CHECK, OPT_BOOT_TRIES, OPT_STAGE };
	static const struct option options[] = {
		{ "os", required_argument, NULL, OPT_OS },
		{ "karg", required_argument, NULL, OPT_KARG },
		{ "karg-append", required_argument, NULL, OPT_APPEND },
		{ "karg-delete", required_argument, NULL, OPT_DELETE },
		{ "not-as-default", no_argument, NULL, OPT_NOT_DEFAULT },
		{ "no-merge", no_argument, NULL, OPT_NO_MERGE },
		{ "require-signature", no_argument, NULL, OPT_REQUIRE },
		{ "no-downgrade", no_argument, NULL, OPT_NO_DOWNGRADE },
		{ "keys-dir", required_argument, NULL, OPT_KEYS_DIR },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "boot-tries", required_argument, NULL, OPT_BOOT_TRIES },
		{ "stage", no_argument, NULL, OPT_STAGE },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c, r;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case OPT_OS:
			a->o.os = optarg;
			break;
		case OPT_KARG:
			if (!a->kargs && !(a->kargs = strdup(""))) {
				log_error("out of memory");
				return 1;
			}
			r = st_kargs_append(&a->kargs, optarg);
			if (r < 0) {
				log_error_errno(r, "admin %s: bad --karg", verb);
				return 1;
			}
			a->o.flags |= ST_DEPLOY_KARGS_GIVEN;
			break;
		case OPT_APPEND:
		case OPT_DELETE:
			if (a->o.n_kargs_append + a->o.n_kargs_delete >= KARGS_MAX_ARGS) {
				log_error("admin %s: more than %d kernel argument edits", verb, KARGS_MAX_ARGS);
				return 2;
			}
			if (c == OPT_APPEND)
				a->append[a->o.n_kargs_append++] = optarg;
			else
				a->del[a->o.n_kargs_delete++] = optarg;
			break;
		case OPT_NOT_DEFAULT:
			a->o.flags |= ST_DEPLOY_NOT_AS_DEFAULT;
			break;
		case OPT_STAGE:
			a->o.flags |= ST_DEPLOY_STAGE;
			break;
		case OPT_NO_MERGE:
			a->o.flags |= ST_DEPLOY_NO_MERGE;
			break;
		case OPT_REQUIRE:
			a->o.flags |= ST_DEPLOY_REQUIRE_SIGNATURE;
			break;
		case OPT_NO_DOWNGRADE:
			a->o.flags |= ST_DEPLOY_NO_DOWNGRADE;
			break;
		case OPT_KEYS_DIR:
			a->o.keys_dir = optarg;
			break;
		case OPT_BOOT_TRIES: {
			uint64_t v;

			if (safe_atou64_max(optarg, 99, &v) < 0 || v == 0) {
				log_error("admin %s: --boot-tries is 1 to 99, not '%s'", verb, optarg);
				return 2;
			}
			a->o.boot_tries = (unsigned)v;
			a->o.flags |= ST_DEPLOY_BOOT_COUNTING;
			break;
		}
		case OPT_CHECK:
			if (strcmp(verb, "upgrade") != 0) {
				deploy_usage(stderr, verb);
				return 2;
			}
			a->check = true;
			break;
		case 'h':
			deploy_usage(stdout, verb);
			return -1;
		default:
			deploy_usage(stderr, verb);
			return 2;
		}
	}
	a->o.kargs = a->kargs;
	a->o.kargs_append = a->append;
	a->o.kargs_delete = a->del;
	return 0;
}

static int run_deploy(struct st_sysroot *s, struct deploy_args *a, const char *verb)
{
	int r = st_sysroot_deploy(s, &a->o);

	if (r < 0) {
		log_error_errno(r, "admin %s: cannot deploy '%s'", verb, a->o.spec);
		return 1;
	}
	admin_print_deployed(&a->o);
	if (a->o.staged)
		admin_mark_staged();
	st_deploy_options_release(&a->o);
	return 0;
}

/*
 * Deploy a.o.spec, pulling it first if it is REMOTE:REF. With need_ref
 * (switch), the spec must name a ref, through the one resolver
 * (st_repo_resolve_ref(): every spelling st_ref_canonicalize() takes), not
 * a commit id, prefix or NAME^.
 */
static int deploy_spec(struct st_sysroot *s, struct deploy_args *a, const char *verb, bool need_ref)
{
	_cleanup_free_ char *local = NULL, *canon = NULL;
	char remote[ST_REMOTE_NAME_MAX + 1], ref[ST_REF_NAME_MAX + 1];
	const char *spec = a->o.spec;
	uint8_t id[ST_COMMIT_ID_SIZE];
	int r;

	if (strncmp(spec, "oci:", 4) == 0) {
		if (admin_oci_spec(verb, s, spec, &local) < 0)
			return 1;
		a->o.spec = local;
		r = 0;
	} else
		r = admin_remote_spec_split(verb, spec, remote, ref);
	if (r < 0)
		return 1;
	if (r > 0) {
		if (admin_pull(verb, s, remote, ref, false, &local, NULL, NULL) < 0)
			return 1;
		a->o.spec = local;
	}
	if (need_ref) {
		r = st_repo_resolve_ref(st_sysroot_repo(s), a->o.spec, id, &canon);
		if (r < 0) {
			log_error_errno(r, "admin %s: cannot resolve '%s'", verb, spec);
			return 1;
		}
		if (!canon) {
			log_error("admin %s: '%s' is not a ref of the repository (switch tracks a ref; use deploy for a "
				  "commit)", verb, spec);
			return 1;
		}
	}
	r = run_deploy(s, a, verb);
	a->o.spec = spec;
	return r;
}

int admin_deploy(int argc, char **argv)
{
	_cleanup_(sysroot_freep) struct st_sysroot *s = NULL;
	struct deploy_args a = {};
	int r;

	r = parse_deploy_args(argc, argv, "deploy", &a);
	if (r != 0) {
		free(a.kargs);
		return r < 0 ? 0 : r;
	}
	if (optind + 1 != argc) {
		log_error("admin deploy: expected one REF or COMMIT");
		free(a.kargs);
		return 2;
	}
	a.o.spec = argv[optind];
	s = admin_open("deploy", true);
	r = s ? deploy_spec(s, &a, "deploy", false) : 1;
	free(a.kargs);
	return r;
}

/* upgrade: the default deployment's tracked ref, deployed if it moved. */
int admin_upgrade(int argc, char **argv)
{
	_cleanup_(sysroot_freep) struct st_sysroot *s = NULL;
	_cleanup_(deploy_list_freep) struct st_deploy_list *l = NULL;
	const struct st_deployment *cur = NULL;
	struct deploy_args a = {};
	uint8_t id[ST_COMMIT_ID_SIZE];
	char old_hex[2 * ST_COMMIT_ID_SIZE + 1], new_hex[2 * ST_COMMIT_ID_SIZE + 1];
	char remote[ST_REMOTE_NAME_MAX + 1], rref[ST_REF_NAME_MAX + 1];
	int r, ret = 1;

	r = parse_deploy_args(argc, argv, "upgrade", &a);
	if (r != 0)
		goto out_r;
	if (optind != argc) {
		log_error("admin upgrade: takes no arguments");
		r = 2;
		goto out_r;
	}
	s = admin_open("upgrade", !a.check);
	if (!s)
		goto out;
	r = st_sysroot_load(s, &l);
	if (r < 0) {
		log_error_errno(r, "admin upgrade: cannot read the deployments");
		goto out;
	}
	for (size_t i = 0; i < l->n && !cur; i++)
		if (l->d[i].booted)
			cur = &l->d[i];
	if (!cur && l->n > 0)
		cur = &l->d[0];
	if (!cur) {
		log_error("admin upgrade: no deployment to upgrade");
		goto out;
	}
	if (!cur->ref) {
		log_error("admin upgrade: %s/%s was deployed by commit id and tracks no ref (use 'admin switch REF')",
			  cur->os, cur->id);
		goto out;
	}
	/* A remote's ref: pull it first (--check: fetch and check only, publish nothing). */
	if (admin_tracked_remote(cur->ref, remote, rref) > 0) {
		if (admin_pull("upgrade", s, remote, rref, a.check, NULL, id, NULL) < 0)
			goto out;
	} else if ((r = st_repo_read_ref(st_sysroot_repo(s), cur->ref, id)) < 0) {
		log_error_errno(r, "admin upgrade: cannot read ref '%s'", cur->ref);
		goto out;
	}
	st_hex_encode(cur->commit, ST_COMMIT_ID_SIZE, old_hex);
	st_hex_encode(id, ST_COMMIT_ID_SIZE, new_hex);
	if (memcmp(id, cur->commit, sizeof(id)) == 0) {
		printf("no upgrade: %s/%s is the newest commit of '%s'\n", cur->os, cur->id, cur->ref);
		ret = 0;
		goto out;
	}
	if (a.check) {
		printf("upgrade available for '%s': %.12s -> %.12s\n", cur->ref, old_hex, new_hex);
		ret = 0;
		goto out;
	}
	a.o.spec = cur->ref;
	if (!a.o.os)
		a.o.os = cur->os;
	ret = run_deploy(s, &a, "upgrade");
out:
	free(a.kargs);
	return ret;
out_r:
	free(a.kargs);
	return r < 0 ? 0 : r;
}

int admin_switch(int argc, char **argv)
{
	_cleanup_(sysroot_freep) struct st_sysroot *s = NULL;
	struct deploy_args a = {};
	int r;

	r = parse_deploy_args(argc, argv, "switch", &a);
	if (r != 0) {
		free(a.kargs);
		return r < 0 ? 0 : r;
	}
	if (optind + 1 != argc) {
		log_error("admin switch: expected one REF");
		free(a.kargs);
		return 2;
	}
	a.o.spec = argv[optind];
	s = admin_open("switch", true);
	r = s ? deploy_spec(s, &a, "switch", true) : 1;
	free(a.kargs);
	return r;
}
