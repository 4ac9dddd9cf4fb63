/* SPDX-License-Identifier: MIT */
/*
 * sealtree admin build-uki: a unified kernel image of a commit (see
 * docs/man/sealtree-admin-build-uki.1.md, docs/uki.md). The library writes
 * the sections and lays them out (sealtree/uki.h); this file runs objcopy
 * to add them to the stub and sbsign to sign the result, in a temporary
 * directory beside OUTPUT, and renames the finished image over OUTPUT.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "admin.h"
#include "read-output.h"
#include "sealtree/error.h"
#include "sealtree/hex.h"
#include "sealtree/uki.h"

#define DEFAULT_STUB "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"

extern char **environ;

static void help(FILE *f)
{
	fprintf(f,
		"usage: sealtree [--repo REPO] admin [--sysroot PATH] build-uki [OPTIONS] SPEC OUTPUT\n"
		"\n"
		"Build a unified kernel image of commit SPEC (a ref, a commit id or a prefix):\n"
		"the systemd-stub with the commit's kernel and initramfs\n"
		"(usr/lib/modules/KVER/{vmlinuz,initramfs.img}), its os-release, KVER and the\n"
		"command line 'KARGS sealtree.digest=COMMIT' added as sections, optionally\n"
		"signed for Secure Boot, written to OUTPUT atomically. The repository is REPO,\n"
		"else the sysroot's. Needs objcopy (binutils), and sbsign (sbsigntool) to sign.\n"
		"\n"
		"      --karg ARG       add ARG to the command line (repeatable), e.g. root=...\n"
		"      --stub PATH      the systemd-stub (default " DEFAULT_STUB ")\n"
		"      --sign-key KEY   sign with this private key (PEM) ...\n"
		"      --sign-cert CERT ... and this certificate (PEM); both or neither\n"
		"  -h, --help           show this help\n");
}

struct uki_args {
	char *kargs;                    /* malloc'ed */
	const char *stub, *key, *cert, *spec, *output;
};

/* Whether name is an executable file in $PATH (what posix_spawnp will find). */
static bool in_path(const char *name)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (strchr(name, '/'))
		return access(name, X_OK) == 0;
	if (!path)
		path = "/usr/bin:/bin";
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, ":");

		if (n && n + 1 + strlen(name) < sizeof(buf)) {
			memcpy(buf, p, n);
			buf[n] = '/';
			memcpy(buf + n + 1, name, strlen(name) + 1);
			if (access(buf, X_OK) == 0)
				return true;
		}
		p += n;
		if (*p == ':')
			p++;
	}
	return false;
}

/* Run argv (from $PATH) and wait; 0 if it exited 0, else print and -1. */
static int run_tool(char *const argv[])
{
	pid_t pid;
	int r, status;

	r = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
	if (r != 0) {
		log_error_errno(-r, "admin build-uki: cannot run %s", argv[0]);
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			log_error_errno(-errno, "admin build-uki: waiting for %s", argv[0]);
			return -1;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		log_error("admin build-uki: %s failed (exit status %d, its messages are above)", argv[0],
			  WEXITSTATUS(status));
	else
		log_error("admin build-uki: %s was killed by signal %d", argv[0], WTERMSIG(status));
	return -1;
}

/* Read the stub whole (at most ST_UKI_STUB_MAX bytes) and parse its headers. */
static int read_stub(const char *path, struct st_uki_stub *ret)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ uint8_t *buf = NULL;
	struct stat st;
	size_t got = 0;
	int r;

	if (fd < 0 && errno == ENOENT)
		return log_error("admin build-uki: no systemd-stub at '%s' (install systemd-boot-efi, or give --stub)",
				 path);
	if (fd < 0 || fstat(fd, &st) < 0)
		return log_error_errno(-errno, "admin build-uki: cannot read the stub '%s'", path), -1;
	if (!S_ISREG(st.st_mode) || st.st_size > ST_UKI_STUB_MAX)
		return log_error("admin build-uki: the stub '%s' is not a regular file of at most %u bytes", path,
				 ST_UKI_STUB_MAX);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return log_error_errno(-ENOMEM, "admin build-uki"), -1;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return log_error_errno(n < 0 ? -errno : -EIO, "admin build-uki: cannot read the stub '%s'", path), -1;
		got += (size_t)n;
	}
	r = st_uki_stub_parse(buf, got, ret);
	if (r < 0)
		return log_error_errno(r, "admin build-uki: '%s' is not a usable systemd-stub", path), -1;
	return 0;
}

/* The repository: --repo / $SEALTREE_REPO, else the sysroot's (on a booted machine /sysroot's). */
static struct st_repo *open_uki_repo(void)
{
	_cleanup_free_ char *path = NULL;
	struct st_repo *repo = NULL;
	const char *sys = arg_sysroot;
	int r;

	if (globals.repo_path)
		return open_repo_or_fail(REPO_LOCK_SHARED);
	if (strcmp(sys, "/") == 0 && access("/sealtree/repo", F_OK) < 0 && access("/sysroot/sealtree/repo", F_OK) == 0)
		sys = "/sysroot";
	if (asprintf(&path, "%s/sealtree/repo", sys) < 0) {
		log_error_errno(-ENOMEM, "admin build-uki");
		return NULL;
	}
	r = st_repo_open(path, &repo);
	if (r >= 0)
		r = st_repo_lock_shared(repo, true);
	if (r < 0) {
		log_error_errno(r, "admin build-uki: cannot open repository '%s' (give --repo)", path);
		st_repo_free(repo);
		return NULL;
	}
	return repo;
}

static void rm_work(int dfd, int pfd, const char *name)
{
	static const char *const files[] = { "osrel", "cmdline", "uname", "initrd", "linux", "unsigned.efi", "uki.efi" };

	if (dfd >= 0)
		for (size_t i = 0; i < ELEMENTSOF(files); i++)
			(void)unlinkat(dfd, files[i], 0);
	(void)unlinkat(pfd, name, AT_REMOVEDIR);
}

static int build(const struct uki_args *a, struct st_repo *repo, const uint8_t id[ST_COMMIT_ID_SIZE],
		 const struct st_uki_stub *stub, const char *work, int wfd, struct st_uki_parts *parts)
{
	char vma[ST_UKI_SECTIONS][32], add[ST_UKI_SECTIONS][PATH_MAX + 16], change[ST_UKI_SECTIONS][64],
		flags[ST_UKI_SECTIONS][48], unsigned_path[PATH_MAX], signed_path[PATH_MAX];
	uint64_t addr[ST_UKI_SECTIONS];
	char *argv[4 + 6 * ST_UKI_SECTIONS + 3];
	size_t n = 0;
	int r;

	r = st_uki_write_sections(repo, id, a->kargs, wfd, parts);
	if (r < 0)
		return log_error_errno(r, "admin build-uki: cannot take the boot files of '%s'", a->spec), -1;
	r = st_uki_layout(stub, parts->size, addr);
	if (r < 0)
		return log_error_errno(r, "admin build-uki"), -1;
	/*
	 * --strip-all drops the stub's COFF symbol table: it would sit after
	 * the last section as data no section owns, which Authenticode hashes
	 * as a trailing blob (and sbsign warns about).
	 */
	argv[n++] = (char *)"objcopy";
	argv[n++] = (char *)"--strip-all";
	for (unsigned i = 0; i < ST_UKI_SECTIONS; i++) {
		const char *name = st_uki_section_name(i);

		(void)snprintf(vma[i], sizeof(vma[i]), "0x%" PRIx64, addr[i]);
		(void)snprintf(add[i], sizeof(add[i]), "%s=%s/%s", name, work, name + 1);
		(void)snprintf(change[i], sizeof(change[i]), "%s=%s", name, vma[i]);
		(void)snprintf(flags[i], sizeof(flags[i]), "%s=data,readonly", name);
		argv[n++] = (char *)"--add-section";
		argv[n++] = add[i];
		argv[n++] = (char *)"--change-section-vma";
		argv[n++] = change[i];
		argv[n++] = (char *)"--set-section-flags";
		argv[n++] = flags[i];
	}
	(void)snprintf(unsigned_path, sizeof(unsigned_path), "%s/unsigned.efi", work);
	(void)snprintf(signed_path, sizeof(signed_path), "%s/uki.efi", work);
	argv[n++] = (char *)a->stub;
	argv[n++] = a->key ? unsigned_path : signed_path;
	argv[n] = NULL;
	if (run_tool(argv) < 0)
		return -1;
	if (a->key) {
		char *sb[] = { (char *)"sbsign", (char *)"--key", (char *)a->key, (char *)"--cert", (char *)a->cert,
			       (char *)"--output", signed_path, unsigned_path, NULL };
		if (run_tool(sb) < 0)
			return -1;
	}
	return 0;
}

static int parse_argv(int argc, char **argv, struct uki_args *a)
{
	enum { OPT_KARG = 0x100, OPT_STUB, OPT_KEY, OPT_CERT };
	static const struct option options[] = {
		{ "karg", required_argument, NULL, OPT_KARG },
		{ "stub", required_argument, NULL, OPT_STUB },
		{ "sign-key", required_argument, NULL, OPT_KEY },
		{ "sign-cert", required_argument, NULL, OPT_CERT },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c, r;

	a->stub = DEFAULT_STUB;
	a->kargs = strdup("");
	if (!a->kargs)
		return log_error_errno(-ENOMEM, "admin build-uki"), 1;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
		switch (c) {
		case OPT_KARG:
			r = st_kargs_append(&a->kargs, optarg);
			if (r < 0)
				return log_error_errno(r, "admin build-uki: --karg '%s'", optarg), 1;
			break;
		case OPT_STUB: a->stub = optarg; break;
		case OPT_KEY: a->key = optarg; break;
		case OPT_CERT: a->cert = optarg; break;
		case 'h': help(stdout); return 0;
		default: help(stderr); return 2;
		}
	if (argc - optind != 2) {
		log_error("admin build-uki: expected SPEC and OUTPUT (see --help)");
		return 2;
	}
	if (!a->key != !a->cert) {
		log_error("admin build-uki: --sign-key and --sign-cert go together");
		return 2;
	}
	a->spec = argv[optind];
	a->output = argv[optind + 1];
	return -1;
}

int admin_build_uki(int argc, char **argv)
{
	_cleanup_(repo_freep) struct st_repo *repo = NULL;
	_cleanup_free_ char *out_copy = NULL, *name_copy = NULL, *work = NULL;
	_cleanup_close_ int wfd = -EBADF, pfd = -EBADF;
	struct uki_args a = {};
	struct st_uki_stub stub;
	struct st_uki_parts parts;
	uint8_t id[ST_COMMIT_ID_SIZE];
	char hex[2 * ST_COMMIT_ID_SIZE + 1];
	const char *dir, *base;
	int r, rc;

	rc = parse_argv(argc, argv, &a);
	if (rc >= 0) {
		free(a.kargs);
		return rc;
	}
	rc = 1;
	if (read_stub(a.stub, &stub) < 0)
		goto out;
	if (!in_path("objcopy")) {
		log_error("admin build-uki: objcopy not found in PATH (install binutils)");
		goto out;
	}
	if (a.key && !in_path("sbsign")) {
		log_error("admin build-uki: sbsign not found in PATH (install sbsigntool), needed by --sign-key");
		goto out;
	}
	repo = open_uki_repo();
	if (!repo)
		goto out;
	r = st_repo_resolve(repo, a.spec, id);
	if (r < 0) {
		log_error_errno(r, "admin build-uki: cannot resolve '%s'", a.spec);
		goto out;
	}
	st_hex_encode(id, ST_COMMIT_ID_SIZE, hex);

	/* The work directory beside OUTPUT: the final rename stays on one filesystem. */
	out_copy = strdup(a.output);
	name_copy = strdup(a.output);
	if (!out_copy || !name_copy) {
		log_error_errno(-ENOMEM, "admin build-uki");
		goto out;
	}
	dir = dirname(out_copy);
	base = basename(name_copy);
	if (asprintf(&work, "%s/.%s.uki-XXXXXX", dir, base) < 0) {
		work = NULL;
		log_error_errno(-ENOMEM, "admin build-uki");
		goto out;
	}
	pfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0 || !mkdtemp(work)) {
		log_error_errno(-errno, "admin build-uki: cannot make a work directory in '%s'", dir);
		goto out;
	}
	wfd = open(work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (wfd < 0) {
		log_error_errno(-errno, "admin build-uki: cannot open '%s'", work);
		goto out_rm;
	}
	if (build(&a, repo, id, &stub, work, wfd, &parts) < 0)
		goto out_rm;
	{
		_cleanup_close_ int ufd = openat(wfd, "uki.efi", O_RDONLY | O_CLOEXEC);

		if (ufd < 0 || fchmod(ufd, 0644) < 0 || fsync(ufd) < 0 ||
		    renameat(wfd, "uki.efi", pfd, base) < 0 || fsync(pfd) < 0) {
			log_error_errno(-errno, "admin build-uki: cannot write '%s'", a.output);
			goto out_rm;
		}
	}
	printf("built %s: commit %s, kernel %s, %s\n", a.output, hex, parts.kver,
	       a.key ? "signed" : "unsigned");
	printf("cmdline: %s%ssealtree.digest=%s\n", a.kargs, *a.kargs ? " " : "", hex);
	if (!parts.osrel_from)
		printf("os-release: none in the tree, a minimal one was made up\n");
	rc = 0;
out_rm:
	rm_work(wfd, pfd, strrchr(work, '/') + 1);
out:
	free(a.kargs);
	return rc;
}
