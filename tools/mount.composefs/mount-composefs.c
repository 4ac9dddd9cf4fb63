/* SPDX-License-Identifier: MIT */
/*
 * mount.composefs [-o OPTIONS] IMAGE DIR: mount a composefs image.
 * Also the helper mount(8) runs for `mount -t composefs IMAGE DIR -o ...`:
 * then it is called as `mount.composefs IMAGE DIR [-sfnv] [-o OPTIONS]`.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealtree/error.h"
#include "sealtree/hex.h"
#include "macro.h"
#include "sealtree/mount.h"
#include "sealtree/verity.h"
#include "tool-util.h"

struct args {
	const char *image, *target;
	char *basedir, *digest, *idmap, *upperdir, *workdir;
	bool verity, tryverity, ro;
	unsigned force; /* ST_MOUNT_FORCE_* from $SEALTREE_MOUNT_FORCE, for tests */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [-t composefs] [-o OPTION[,OPTION...]] IMAGE MOUNTPOINT\n"
		"Mount the composefs IMAGE on MOUNTPOINT.\n\n"
		"Options (a ',' inside a value is written '\\,'):\n"
		"  basedir=DIR[:DIR...]  object directories (required; '\\:' for a ':' in a path)\n"
		"  digest=HEX            the image's fs-verity digest must be HEX (implies verity)\n"
		"  verity                require fs-verity digests on every object (overlay verity=require)\n"
		"  tryverity             like verity, if the kernel supports the option\n"
		"  idmap=PATH            idmapped mount through the user namespace at PATH (/proc/PID/ns/user)\n"
		"  upperdir=DIR,workdir=DIR  writable overlay with this upper and work directory\n"
		"  ro, rw                read-only (default without upperdir) or writable mount\n\n"
		"Example:\n"
		"  %s -o basedir=/composefs/objects image.cfs /mnt\n",
		program_name, program_name);
}

/* Remove one level of backslash escapes, in place. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (*s == '\\' && s[1])
			s++;
		*d++ = *s;
	}
	*d = '\0';
}

/* Split s at the first unescaped sep: returns the rest (or NULL), s ends there. */
static char *split_unescaped(char *s, char sep)
{
	for (; *s; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			continue;
		}
		if (*s == sep) {
			*s = '\0';
			return s + 1;
		}
	}
	return NULL;
}

static int set_value(const char *key, char *value, char **slot)
{
	if (!value || !*value)
		return log_error("option '%s' needs a value (%s=...)", key, key);
	*slot = value;
	return 0;
}

static int parse_options(char *opts, struct args *a)
{
	while (opts) {
		char *key = opts, *value;
		int r = 0;

		opts = split_unescaped(opts, ',');
		value = split_unescaped(key, '=');
		if (!*key)
			continue; /* "a,,b" */
		if (strcmp(key, "basedir") == 0) {
			/* Kept escaped: ':' separates directories, '\:' does not. */
			r = set_value(key, value, &a->basedir);
			continue;
		}
		if (value)
			unescape(value);
		if (strcmp(key, "digest") == 0)
			r = set_value(key, value, &a->digest);
		else if (strcmp(key, "idmap") == 0)
			r = set_value(key, value, &a->idmap);
		else if (strcmp(key, "upperdir") == 0)
			r = set_value(key, value, &a->upperdir);
		else if (strcmp(key, "workdir") == 0)
			r = set_value(key, value, &a->workdir);
		else if (value)
			return log_error("option '%s' takes no value", key);
		else if (strcmp(key, "verity") == 0)
			a->verity = true;
		else if (strcmp(key, "tryverity") == 0)
			a->tryverity = true;
		else if (strcmp(key, "ro") == 0)
			a->ro = true;
		else if (strcmp(key, "rw") == 0)
			a->ro = false;
		else if (strcmp(key, "defaults") == 0)
			; /* from fstab: nothing to do */
		else
			return log_error("unknown mount option '%s' (see %s --help)", key, program_name);
		if (r < 0)
			return r;
	}
	return 0;
}

/* basedir=A:B\:C -> {"A", "B:C"} */
static int split_basedirs(char *s, char ***ret, size_t *ret_n)
{
	_cleanup_free_ char **dirs = NULL;
	size_t n = 0, cap = 0;

	while (s) {
		char *next = split_unescaped(s, ':');
		unescape(s);
		if (!*s)
			return log_error("basedir= has an empty directory");
		if (GROW(dirs, cap, n + 1) < 0)
			return log_error("out of memory");
		dirs[n++] = s;
		s = next;
	}
	*ret = TAKE_PTR(dirs);
	*ret_n = n;
	return 0;
}

static int parse_force(const char *s, unsigned *ret)
{
	_cleanup_free_ char *copy = NULL;
	unsigned f = 0;
	char *p;

	if (!s || !*s)
		return 0;
	copy = strdup(s);
	if (!copy)
		return log_error("out of memory");
	for (p = copy; p;) {
		char *w = p;
		p = split_unescaped(p, ',');
		if (strcmp(w, "loop") == 0)
			f |= ST_MOUNT_FORCE_LOOP;
		else if (strcmp(w, "legacy-erofs") == 0)
			f |= ST_MOUNT_FORCE_LEGACY_EROFS;
		else if (strcmp(w, "legacy-overlay") == 0)
			f |= ST_MOUNT_FORCE_LEGACY_OVERLAY;
		else
			return log_error("SEALTREE_MOUNT_FORCE: unknown '%s' (loop, legacy-erofs, legacy-overlay)", w);
	}
	*ret = f;
	return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option long_opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	while ((c = getopt_long(argc, argv, "ho:t:sfnv", long_opts, NULL)) >= 0) {
		switch (c) {
		case 'h':
			usage(stdout);
			exit(EXIT_SUCCESS);
		case 'o':
			if (parse_options(optarg, a) < 0)
				return -EINVAL;
			break;
		case 't':
			if (strcmp(optarg, "composefs") != 0)
				return log_error("unsupported filesystem type '%s' (only composefs)", optarg);
			break;
		case 's': /* sloppy, fake, no mtab, verbose: from mount(8); nothing to do */
		case 'f':
		case 'n':
		case 'v':
			break;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (argc - optind != 2) {
		log_error(argc - optind < 2 ? "missing IMAGE or MOUNTPOINT" : "too many arguments");
		usage(stderr);
		return -EINVAL;
	}
	a->image = argv[optind];
	a->target = argv[optind + 1];
	return parse_force(getenv("SEALTREE_MOUNT_FORCE"), &a->force);
}

int main(int argc, char **argv)
{
	struct args a = {};
	struct st_mount_options o = { .idmap_fd = -1 };
	_cleanup_free_ char **basedirs = NULL;
	_cleanup_close_ int userns_fd = -EBADF;
	uint8_t digest[ST_VERITY_DIGEST_SIZE];
	size_t n_basedirs = 0;
	int r;

	program_name = "mount.composefs";
	if (parse_args(argc, argv, &a) < 0)
		return EXIT_FAILURE;

	if (!a.basedir)
		return log_error("option basedir= is required"), EXIT_FAILURE;
	if (split_basedirs(a.basedir, &basedirs, &n_basedirs) < 0)
		return EXIT_FAILURE;
	if (!a.upperdir != !a.workdir)
		return log_error("upperdir= and workdir= must be given together"), EXIT_FAILURE;
	if (a.digest) {
		const char *hex = a.digest;
		/* Accept the "sha256:" prefix fsverity(1) prints. */
		if (strncmp(hex, "sha256:", 7) == 0)
			hex += 7;
		if (st_hex_decode(hex, strlen(hex), digest, sizeof(digest)) < 0)
			return log_error("digest= must be %d hex digits, not '%s'", 2 * ST_VERITY_DIGEST_SIZE, a.digest),
			       EXIT_FAILURE;
		o.expected_digest = digest;
		o.flags |= ST_MOUNT_REQUIRE_VERITY;
	}
	if (a.idmap) {
		userns_fd = open(a.idmap, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (userns_fd < 0)
			return log_error_errno(negative_errno(), "cannot open user namespace '%s'", a.idmap), EXIT_FAILURE;
		o.idmap_fd = userns_fd;
		o.flags |= ST_MOUNT_IDMAP;
	}
	if (a.verity)
		o.flags |= ST_MOUNT_REQUIRE_VERITY;
	if (a.tryverity)
		o.flags |= ST_MOUNT_TRY_VERITY;
	if (a.ro)
		o.flags |= ST_MOUNT_READONLY;
	o.flags |= a.force;
	o.basedirs = (const char *const *)basedirs;
	o.n_basedirs = n_basedirs;
	o.upperdir = a.upperdir;
	o.workdir = a.workdir;

	r = st_mount_image(a.image, a.target, &o);
	if (r < 0) {
		log_error_errno(r, "failed to mount composefs image '%s' on '%s'", a.image, a.target);
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}
