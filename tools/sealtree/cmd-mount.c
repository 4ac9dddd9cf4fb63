/* SPDX-License-Identifier: MIT */
/* sealtree mount REF DIR, sealtree umount DIR: see docs/man/sealtree-mount.1.md. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "read-output.h"
#include "sealtree.h"
#include "sealtree/hex.h"
#include "sealtree/seal.h"

static void mount_help(FILE *f)
{
	fprintf(f,
		"usage: sealtree mount [--verity|--no-verity] REF DIR\n"
		"       sealtree mount --require-signature [--keys-dir DIR] [--no-downgrade] REF DIR\n"
		"\n"
		"Mount the commit read-only on DIR with the kernel (EROFS + overlayfs, the\n"
		"repository's objects/ as data layer). The image's digest is checked against\n"
		"the commit before it is mounted. A ref refs/mounts/<DIR> keeps the commit\n"
		"from gc until 'sealtree umount DIR'. Needs root.\n"
		"\n"
		"      --verity     every object must carry the fs-verity digest the image\n"
		"                   names (default on a repository with fs-verity)\n"
		"      --no-verity  do not require it\n"
		"      --require-signature  mount only a commit validly signed under the trust\n"
		"                   policy, with verity=require (a sealed mount)\n"
		"      --keys-dir DIR  trust store (default: /etc/sealtree, /usr/share/sealtree)\n"
		"      --no-downgrade  refuse a commit older than the last accepted for REF\n"
		"      --allow-unverified-objects  with --require-signature on a repository\n"
		"                   without fs-verity: mount with only the image checked\n"
		"      --help       show this help\n");
}

/* Options of mount --require-signature. */
struct sealed_args {
	const char *keys_dir;           /* NULL: the system trust store */
	bool no_downgrade;
	bool unverified;                /* --allow-unverified-objects */
};

/*
 * mount --require-signature: the whole trust chain in one library call
 * (sealtree/seal.h); the first broken link is named, and nothing is mounted.
 */
static int mount_sealed(struct st_repo *repo, const char *spec, const uint8_t id[ST_COMMIT_ID_SIZE],
			const char *target, const struct sealed_args *a)
{
	struct st_trust_store *store = NULL;
	struct st_seal_result *chain = NULL;
	struct st_seal_options opts = { .mount_target = target };
	uint8_t ref_id[ST_COMMIT_ID_SIZE];
	char key[2 * ST_KEY_ID_SIZE + 1], *ref_name = NULL;
	int r, ret = 1;

	/* Refused before anything is read: the mount link could never hold (the chain checks it again). */
	if (!st_repo_has_verity(repo) && !a->unverified) {
		log_error("mount: refused: broken link: file contents: repository '%s' has no fs-verity, so the "
			  "kernel cannot check what the image names (--allow-unverified-objects mounts anyway)",
			  st_repo_path(repo));
		return 1;
	}
	/* A ref (by its canonical name) gets its policy rule and its anti-rollback record. */
	r = st_repo_resolve_ref(repo, spec, ref_id, &ref_name);
	if (r < 0) {
		log_error_errno(r, "mount: cannot resolve '%s'", spec);
		return 1;
	}
	if (ref_name && memcmp(ref_id, id, ST_COMMIT_ID_SIZE) == 0)
		opts.ref = ref_name;
	if (a->no_downgrade && !opts.ref) {
		log_error("mount: --no-downgrade needs a ref, not '%s'", spec);
		goto out;
	}
	r = st_trust_store_load(a->keys_dir, &store);
	if (r < 0) {
		log_error_errno(r, "mount: refused: cannot load the trust store");
		goto out;
	}
	opts.store = store;
	opts.flags = ST_SEAL_REQUIRE_SIGNATURE | (a->no_downgrade ? ST_SEAL_NO_DOWNGRADE : 0) |
		     (opts.ref ? ST_SEAL_RECORD_ACCEPTED : 0) | (a->unverified ? ST_SEAL_ALLOW_UNVERIFIED : 0);
	r = st_seal_chain(repo, id, &opts, &chain);
	if (r < 0) {
		log_error_errno(r, "mount: cannot check '%s'", spec);
		goto out;
	}
	if (!chain->ok) {
		log_error("mount: refused: broken link: %s: %s", st_seal_link_to_string(chain->failed_link),
			  chain->links[chain->failed_link].reason);
		goto out;
	}
	if (!globals.quiet) {
		st_hex_encode(chain->signer_key_id, ST_KEY_ID_SHORT_HEX / 2, key);
		fputs("mounted ", stdout);
		print_escaped(stdout, spec);
		printf(": signature valid (key %s), image digest checked, %s\n", key,
		       !chain->verity		? "file contents NOT verified"
		       : chain->verity_policy ? "file contents verified by the kernel under the image's verity policy "
						"(verity=on)"
					      : "file contents verified by the kernel (verity=require)");
	}
	ret = 0;
out:
	st_seal_result_free(chain);
	st_trust_store_free(store);
	free(ref_name);
	return ret;
}

int cmd_mount(int argc, char **argv)
{
	enum { OPT_VERITY = 0x100, OPT_NO_VERITY, OPT_HELP, OPT_REQUIRE_SIG, OPT_KEYS_DIR, OPT_NO_DOWNGRADE, OPT_UNVERIFIED };
	static const struct option options[] = {
		{ "verity", no_argument, NULL, OPT_VERITY },
		{ "no-verity", no_argument, NULL, OPT_NO_VERITY },
		{ "require-signature", no_argument, NULL, OPT_REQUIRE_SIG },
		{ "keys-dir", required_argument, NULL, OPT_KEYS_DIR },
		{ "no-downgrade", no_argument, NULL, OPT_NO_DOWNGRADE },
		{ "allow-unverified-objects", no_argument, NULL, OPT_UNVERIFIED },
		{ "help", no_argument, NULL, OPT_HELP },
		{}
	};
	_cleanup_(repo_freep) struct st_repo *repo = NULL;
	_cleanup_free_ char *target = NULL;
	uint8_t id[ST_COMMIT_ID_SIZE];
	struct sealed_args sealed = {};
	bool require_sig = false;
	unsigned flags = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
		switch (c) {
		case OPT_VERITY: flags = ST_REPO_MOUNT_VERITY; break;
		case OPT_NO_VERITY: flags = ST_REPO_MOUNT_NO_VERITY; break;
		case OPT_REQUIRE_SIG: require_sig = true; break;
		case OPT_KEYS_DIR: sealed.keys_dir = optarg; break;
		case OPT_NO_DOWNGRADE: sealed.no_downgrade = true; break;
		case OPT_UNVERIFIED: sealed.unverified = true; break;
		case OPT_HELP: mount_help(stdout); return 0;
		default: mount_help(stderr); return 2;
		}
	if (argc - optind != 2) {
		mount_help(stderr);
		return 2;
	}
	if (!require_sig && (sealed.keys_dir || sealed.no_downgrade || sealed.unverified)) {
		log_error("mount: --keys-dir, --no-downgrade and --allow-unverified-objects go with --require-signature");
		return 2;
	}
	if (require_sig && flags == ST_REPO_MOUNT_NO_VERITY) {
		log_error("mount: --require-signature always requires verity; --no-verity contradicts it");
		return 2;
	}
	if (geteuid() != 0)
		return log_error("mounting needs root (CAP_SYS_ADMIN)"), 1;
	target = realpath(argv[optind + 1], NULL);
	if (!target)
		return log_error_errno(-errno, "mount point '%s'", argv[optind + 1]), 1;
	repo = open_repo_resolved(REPO_LOCK_SHARED, argv[optind], id);
	if (!repo)
		return 1;
	if (require_sig)
		return mount_sealed(repo, argv[optind], id, target, &sealed);
	r = st_repo_mount(repo, id, target, flags);
	if (r < 0)
		return log_error_errno(r, "cannot mount '%s' on '%s'", argv[optind], target), 1;
	return 0;
}

/* Undo the kernel's \ooo escapes of /proc/self/mountinfo, in place. */
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

/*
 * The repository a sealtree mount on target reads from: the REPO of its
 * overlay's datadir+=REPO/objects (the topmost mount on target), or NULL.
 */
static char *repo_of_mount(const char *target)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	char *found = NULL;
	size_t cap = 0;

	if (!f)
		return NULL;
	while (getline(&line, &cap, f) > 0) {
		char *fields[5], *rest = line, *sep, *opt, *end;
		size_t l;

		line[strcspn(line, "\n")] = '\0';
		for (int i = 0; i < 5; i++)
			fields[i] = strsep(&rest, " ");
		sep = rest ? strstr(rest, " - overlay ") : NULL;
		if (!fields[4] || !sep)
			continue;
		unescape_octal(fields[4]);
		if (strcmp(fields[4], target) != 0)
			continue;
		opt = strstr(sep, ",datadir+=");
		if (!opt)
			continue;
		opt += strlen(",datadir+=");
		end = opt + strcspn(opt, ", ");
		*end = '\0';
		unescape_octal(opt);
		l = strlen(opt);
		if (l <= strlen("/objects") || strcmp(opt + l - strlen("/objects"), "/objects") != 0)
			continue;
		opt[l - strlen("/objects")] = '\0';
		free(found);
		found = strdup(opt);
	}
	return found;
}

static void umount_help(FILE *f)
{
	fprintf(f,
		"usage: sealtree umount [--lazy] DIR\n"
		"\n"
		"Unmount what 'sealtree mount' mounted on DIR and delete its pin ref; any\n"
		"other mount on DIR is refused. A DIR whose pin is gone is still\n"
		"unmounted; a stale pin of a DIR that is no\n"
		"longer mounted is deleted (and reported). Without --repo or $SEALTREE_REPO,\n"
		"the repository is the one the mount on DIR reads its objects from.\n"
		"\n"
		"      --lazy  detach now, clean up when no longer busy (MNT_DETACH)\n"
		"      --help  show this help\n");
}

int cmd_umount(int argc, char **argv)
{
	enum { OPT_LAZY = 0x100, OPT_HELP };
	static const struct option options[] = {
		{ "lazy", no_argument, NULL, OPT_LAZY },
		{ "help", no_argument, NULL, OPT_HELP },
		{}
	};
	_cleanup_(repo_freep) struct st_repo *repo = NULL;
	_cleanup_free_ char *target = NULL, *derived_repo = NULL;
	bool lazy = false, removed = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
		switch (c) {
		case OPT_LAZY: lazy = true; break;
		case OPT_HELP: umount_help(stdout); return 0;
		default: umount_help(stderr); return 2;
		}
	if (argc - optind != 1) {
		umount_help(stderr);
		return 2;
	}
	if (geteuid() != 0)
		return log_error("unmounting needs root (CAP_SYS_ADMIN)"), 1;
	/* A mount point whose directory was removed below it still has its absolute name. */
	target = realpath(argv[optind], NULL);
	if (!target && argv[optind][0] == '/')
		target = strdup(argv[optind]);
	if (!target)
		return log_error_errno(-errno, "mount point '%s'", argv[optind]), 1;
	if (!globals.repo_path) {
		derived_repo = repo_of_mount(target);
		globals.repo_path = derived_repo;
	}
	repo = open_repo_or_fail(REPO_LOCK_SHARED);
	if (!repo)
		return 1;
	r = st_repo_umount(repo, target, lazy, &removed);
	if (r < 0)
		return log_error_errno(r, "umount"), 1;
	return 0;
}
