/* SPDX-License-Identifier: MIT */
/*
 * The sections of a unified kernel image of a commit (include/sealtree/uki.h):
 * the kernel and initramfs found exactly as a deployment finds them
 * (bootfiles.c), so a UKI and a BLS entry of one commit boot the same
 * bytes; the command line ends with sealtree.digest=COMMIT, which
 * prepare-root resolves to the deployment of that commit.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "basic/io.h"
#include "deploy-internal.h"
#include "sealtree/uki.h"

#define DIGEST_KEY "sealtree.digest"
#define OSREL_FALLBACK "NAME=Linux\nID=linux\n"

static const char *const section_names[ST_UKI_SECTIONS] = {
	[ST_UKI_OSREL] = ".osrel",
	[ST_UKI_CMDLINE] = ".cmdline",
	[ST_UKI_UNAME] = ".uname",
	[ST_UKI_INITRD] = ".initrd",
	[ST_UKI_LINUX] = ".linux",
};

const char *st_uki_section_name(unsigned section)
{
	return section < ST_UKI_SECTIONS ? section_names[section] : NULL;
}

/* Refuse sealtree.digest in kargs (whole word or key), beyond st_kargs_check()'s rules. */
static int check_uki_kargs(const char *kargs)
{
	size_t klen = strlen(DIGEST_KEY);
	int r;

	r = st_kargs_check(kargs);
	if (r < 0)
		return r;
	for (const char *p = kargs; (p = strstr(p, DIGEST_KEY)); p += klen) {
		bool word_start = p == kargs || p[-1] == ' ' || p[-1] == '\t' || p[-1] == '"';

		if (word_start && (p[klen] == '=' || p[klen] == ' ' || p[klen] == '\t' || p[klen] == '"' || !p[klen]))
			return st_errf(-EINVAL, "kernel arguments: 'sealtree.digest' is reserved (the UKI's command line "
						"names its commit itself)");
	}
	return 0;
}

static int create_at(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

	if (fd < 0)
		return st_errf(negative_errno(), "cannot create '%s' for the UKI section", name);
	return fd;
}

static int write_bytes_at(int dirfd, const char *name, const void *data, size_t len, uint64_t *ret_size)
{
	_cleanup_close_ int fd = create_at(dirfd, name);
	int r;

	if (fd < 0)
		return fd;
	r = write_full(fd, data, len);
	if (r < 0)
		return st_errf(r, "cannot write '%s' for the UKI section", name);
	*ret_size = len;
	return 0;
}

static int write_node_at(struct st_repo *repo, int dirfd, const char *name, const struct st_node *n, const char *path,
			 uint64_t *ret_size)
{
	_cleanup_close_ int fd = create_at(dirfd, name);
	struct stat st;
	int r;

	if (fd < 0)
		return fd;
	r = st_repo_write_file_contents(repo, n, fd);
	if (r < 0)
		return st_errf(r, "cannot copy %s out of the repository: %s", path,
			       st_error_detail() ? st_error_detail() : "read failed");
	if (fstat(fd, &st) < 0)
		return negative_errno();
	*ret_size = (uint64_t)st.st_size;
	return 0;
}

/* The tree's os-release: usr/lib/os-release, else usr/etc/os-release (regular files only). */
static struct st_node *find_osrel(struct st_node *root, const char **ret_path)
{
	static const char *const paths[] = { "usr/lib/os-release", "usr/etc/os-release" };

	for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
		struct st_node *n = NULL;
		struct st_entry e;

		if (st_tree_lookup(root, paths[i], &n) < 0) {
			st_error_clear();
			continue;
		}
		st_node_get_entry(n, &e);
		if (S_ISREG(e.mode)) {
			*ret_path = paths[i];
			return n;
		}
	}
	return NULL;
}

int st_uki_write_sections(struct st_repo *repo, const uint8_t id[ST_COMMIT_ID_SIZE], const char *kargs, int dirfd,
			  struct st_uki_parts *ret)
{
	_cleanup_(st_commit_freep) struct st_commit *c = NULL;
	_cleanup_(st_node_freep) struct st_node *root = NULL;
	_cleanup_free_ char *cmdline = NULL;
	struct st_uki_parts parts = {};
	struct boot_files bf = {};
	char hex[2 * ST_COMMIT_ID_SIZE + 1];
	struct st_node *osrel;
	const char *osrel_path = NULL;
	size_t klen;
	int r;

	if (!kargs)
		kargs = "";
	r = check_uki_kargs(kargs);
	if (r < 0)
		return r;
	st_hex_encode(id, ST_COMMIT_ID_SIZE, hex);
	r = st_repo_read_commit(repo, id, &c);
	if (r < 0)
		return r;
	r = st_repo_read_image_tree(repo, c->image_digest, &root);
	if (r < 0)
		return r;
	/* The OS name only names the boot directory of a deployment, unused here. */
	r = boot_files_find(root, "uki", &bf);
	if (r < 0)
		return r;

	klen = strlen(kargs);
	cmdline = malloc(klen + 1 + strlen(DIGEST_KEY "=") + sizeof(hex));
	if (!cmdline)
		return -ENOMEM;
	(void)snprintf(cmdline, klen + 1 + strlen(DIGEST_KEY "=") + sizeof(hex), "%s%s" DIGEST_KEY "=%s", kargs,
		       klen ? " " : "", hex);

	osrel = find_osrel(root, &osrel_path);
	if (osrel)
		r = write_node_at(repo, dirfd, "osrel", osrel, osrel_path, &parts.size[ST_UKI_OSREL]);
	else
		r = write_bytes_at(dirfd, "osrel", OSREL_FALLBACK, strlen(OSREL_FALLBACK), &parts.size[ST_UKI_OSREL]);
	if (r >= 0)
		r = write_bytes_at(dirfd, "cmdline", cmdline, strlen(cmdline), &parts.size[ST_UKI_CMDLINE]);
	if (r >= 0)
		r = write_bytes_at(dirfd, "uname", bf.kver, strlen(bf.kver), &parts.size[ST_UKI_UNAME]);
	if (r >= 0)
		r = write_node_at(repo, dirfd, "initrd", bf.initramfs, "the initramfs", &parts.size[ST_UKI_INITRD]);
	if (r >= 0)
		r = write_node_at(repo, dirfd, "linux", bf.vmlinuz, "the kernel", &parts.size[ST_UKI_LINUX]);
	if (r < 0)
		return r;
	(void)snprintf(parts.kver, sizeof(parts.kver), "%s", bf.kver);
	parts.osrel_from = osrel_path;
	*ret = parts;
	return 0;
}
