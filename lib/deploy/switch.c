/* SPDX-License-Identifier: MIT */
/*
 * The atomic switch (docs/formats/sysroot.md, "The atomic switch"): the
 * complete new set of entries is written and flushed in
 * boot/loader/entries.staging, then exchanged with boot/loader/entries in
 * one renameat2(RENAME_EXCHANGE); where the filesystem cannot exchange,
 * entries/ is updated in place file by file, the new default first. Afterwards what no entry names any more
 * (deployments, their pins, boot files) is removed.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "basic/dirent-util.h"
#include "basic/dirent-util.h"
#include "basic/error.h"
#include "basic/hex.h"
#include "basic/io.h"
#include "deploy-internal.h"
#include "fundamental/parse-number.h"
#include "sealtree/repo-maint.h"

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static int format_entry(const struct st_sysroot *s, const struct st_deployment *d, uint64_t version, char **ret)
{
	const char *prefix = s->boot_separate ? "" : "/boot";
	char hex[2 * ST_COMMIT_ID_SIZE + 1], dt_path[sizeof("sealtree//devicetree") + 256];
	_cleanup_free_ char *dt = NULL;
	char *text = NULL;

	st_hex_encode(d->commit, ST_COMMIT_ID_SIZE, hex);
	hex[12] = '\0';
	/* The boot files directory never changes once made: it has a devicetree or never will. */
	(void)snprintf(dt_path, sizeof(dt_path), "sealtree/%s/devicetree", d->boot_dir);
	if (faccessat(s->boot_fd, dt_path, F_OK, AT_SYMLINK_NOFOLLOW) == 0 &&
	    asprintf(&dt, "devicetree %s/%s\n", prefix, dt_path) < 0)
		return -ENOMEM;
	if (asprintf(&text,
		     "title %s %s (sealtree %s/%.12s)\n"
		     "version %llu\n"
		     "sort-key sealtree\n"
		     "linux %s/sealtree/%s/vmlinuz\n"
		     "initrd %s/sealtree/%s/initramfs.img\n"
		     "%s"
		     "options %s%ssealtree=%s/%s\n",
		     d->os, d->version ? d->version : hex, d->os, d->id, (unsigned long long)version, prefix,
		     d->boot_dir, prefix, d->boot_dir, dt ? dt : "", d->kargs ? d->kargs : "",
		     d->kargs && *d->kargs ? " " : "", d->os, d->id) < 0)
		return -ENOMEM;
	*ret = text;
	return 0;
}

static int write_new_file(int dirfd, const char *name, const void *data, size_t len)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	int r;

	if (fd < 0)
		return st_errf(negative_errno(), "cannot create boot/loader/entries.staging/%s", name);
	r = write_full(fd, data, len);
	if (r >= 0)
		r = RET_NERRNO(fsync(fd));
	if (r < 0)
		return st_errf(r, "cannot write boot/loader/entries.staging/%s", name);
	return 0;
}

/* Copy foreign entries (as listed) from entries/ into staging/, byte for byte. */
static int copy_foreign(int entries_fd, int staging_fd, const struct st_deploy_list *list)
{
	for (size_t i = 0; i < list->n_foreign; i++) {
		_cleanup_close_ int fd = -EBADF;
		_cleanup_free_ uint8_t *buf = NULL;
		size_t len;
		int r;

		fd = openat(entries_fd, list->foreign[i].name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0 && errno == ENOENT)
			continue;       /* removed by its owner meanwhile */
		if (fd < 0)
			return st_errf(negative_errno(), "cannot open boot/loader/entries/%s", list->foreign[i].name);
		r = read_fd_all(fd, &buf, &len);
		if (r < 0)
			return st_errf(r, "cannot read boot/loader/entries/%s", list->foreign[i].name);
		r = write_new_file(staging_fd, list->foreign[i].name, buf, len);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * 1 if the filesystem swapped the two directories, 0 if it cannot
 * (RENAME_EXCHANGE unsupported: vfat before Linux 6.0 and others; also
 * when SEALTREE_NO_RENAME_EXCHANGE is set, so tests reach the fallback).
 */
static int exchange(int loader_fd)
{
	const char *e = secure_getenv("SEALTREE_NO_RENAME_EXCHANGE");

	if (e && *e && strcmp(e, "0") != 0)
		return 0;
	if (syscall(SYS_renameat2, loader_fd, "entries.staging", loader_fd, "entries", RENAME_EXCHANGE) == 0)
		return 1;
	if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)
		return 0;
	return st_errf(negative_errno(), "cannot exchange boot/loader/entries.staging and entries");
}

static bool is_ours(const char *name)
{
	size_t n = strlen(name);

	return strncmp(name, ENTRY_PREFIX, strlen(ENTRY_PREFIX)) == 0 && n > strlen(ENTRY_SUFFIX) &&
	       strcmp(name + n - strlen(ENTRY_SUFFIX), ENTRY_SUFFIX) == 0;
}

/* The highest "version" of our entries in entries/ (0 if none). */
static int max_version(int entries_fd, uint64_t *ret)
{
	DIR *d = NULL;
	struct dirent *de;
	uint64_t max = 0;
	int r;

	r = opendir_fd(entries_fd, &d);
	if (r < 0)
		return r;
	while ((r = readdir_next(d, &de)) > 0) {
		struct kv_file f = {};
		const char *v;
		uint64_t x;

		if (!is_ours(de->d_name) || kv_read_at(entries_fd, de->d_name, &f) < 0) {
			st_error_clear();
			continue;
		}
		if ((v = kv_get(&f, "version")) && strlen(v) < 10 && safe_atou64(v, &x) == 0 && x > max)
			max = x;
		kv_file_release(&f);
	}
	closedir(d);
	if (r < 0)
		return r;
	*ret = max;
	return 0;
}

static bool name_in(char **names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/*
 * The switch without RENAME_EXCHANGE, still one atomic step: entries/ is
 * updated file by file, each written under a dot name (which loaders and
 * the list skip), flushed and renamed over its final name. The new list
 * gets versions above every entry there now, the new default the highest,
 * and is written first: that one rename is the switch, the previous default
 * stays whole until then, and every later state has the same default.
 * Then the entries of ours that the list no longer has are removed. A
 * crash leaves only whole entries, some of them old (removed by the next
 * switch).
 */
static int write_in_place(const struct st_sysroot *s, int entries_fd, const struct st_deploy_list *list,
			  char **names)
{
	uint64_t base = 0;
	DIR *d = NULL;
	struct dirent *de;
	int r;

	r = max_version(entries_fd, &base);
	if (r < 0)
		return r;
	if (base > UINT64_C(999999999) - list->n)
		base = 0;       /* cannot happen in practice (one step per switch); the order is then rebuilt */
	for (size_t i = 0; i < list->n; i++) {
		_cleanup_free_ char *text = NULL, *tmp = NULL;

		r = format_entry(s, &list->d[i], base + list->n - i, &text);
		if (r < 0)
			return r;
		if (asprintf(&tmp, ".%s.tmp-switch", names[i]) < 0)
			return -ENOMEM;
		(void)unlinkat(entries_fd, tmp, 0);
		r = write_new_file(entries_fd, tmp, text, strlen(text));
		if (r < 0)
			return r;
		if (renameat(entries_fd, tmp, entries_fd, names[i]) < 0)
			return st_errf(negative_errno(), "cannot rename boot/loader/entries/%s", tmp);
		if (fsync(entries_fd) < 0)
			return st_errf(negative_errno(), "cannot flush boot/loader/entries");
	}
	r = opendir_fd(entries_fd, &d);
	if (r < 0)
		return r;
	while ((r = readdir_next(d, &de)) > 0) {
		bool foreign = false;

		if (!is_ours(de->d_name) || name_in(names, list->n, de->d_name))
			continue;
		for (size_t i = 0; i < list->n_foreign && !foreign; i++)
			foreign = strcmp(list->foreign[i].name, de->d_name) == 0;
		if (!foreign && unlinkat(entries_fd, de->d_name, 0) < 0 && errno != ENOENT) {
			r = st_errf(negative_errno(), "cannot remove boot/loader/entries/%s", de->d_name);
			break;
		}
	}
	closedir(d);
	if (r < 0)
		return r;
	return RET_NERRNO(fsync(entries_fd));
}

static void strv_free_n(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

int st_sysroot_write_list(struct st_sysroot *s, const struct st_deploy_list *list)
{
	_cleanup_close_ int loader_fd = -EBADF, entries_fd = -EBADF, staging_fd = -EBADF;
	char **names = NULL;
	int r;

	r = sysroot_require_exclusive(s);
	if (r < 0)
		return r;
	for (size_t i = 0; i < list->n; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(list->d[i].os, list->d[j].os) == 0 && strcmp(list->d[i].id, list->d[j].id) == 0)
				return st_errf(-EINVAL, "deployment %s/%s listed twice", list->d[i].os, list->d[i].id);
	loader_fd = openat(s->boot_fd, "loader", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (loader_fd < 0)
		return st_errf(negative_errno(), "cannot open boot/loader");
	entries_fd = openat(loader_fd, "entries", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (entries_fd < 0)
		return st_errf(negative_errno(), "cannot open boot/loader/entries");
	r = rm_rf_at(loader_fd, "entries.staging");
	if (r < 0)
		return r;
	if (mkdirat(loader_fd, "entries.staging", 0755) < 0)
		return st_errf(negative_errno(), "cannot create boot/loader/entries.staging");
	staging_fd = openat(loader_fd, "entries.staging", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (staging_fd < 0)
		return negative_errno();
	names = new0(char *, list->n + 1);
	if (!names)
		return -ENOMEM;
	r = copy_foreign(entries_fd, staging_fd, list);
	for (size_t i = 0; r >= 0 && i < list->n; i++) {
		const struct st_deployment *d = &list->d[i];
		_cleanup_free_ char *text = NULL;

		if (!d->boot_dir) {
			r = st_errf(-EUCLEAN, "deployment %s/%s has no boot files", d->os, d->id);
			break;
		}
		r = format_entry(s, d, list->n - i, &text);
		if (r < 0)
			break;
		if (asprintf(&names[i], ENTRY_PREFIX "%s-%s%s" ENTRY_SUFFIX, d->os, d->id, d->boot_counter ? d->boot_counter : "") < 0) {
			names[i] = NULL;
			r = -ENOMEM;
			break;
		}
		r = write_new_file(staging_fd, names[i], text, strlen(text));
	}
	if (r >= 0)
		r = RET_NERRNO(fsync(staging_fd));
	if (r >= 0)
		r = exchange(loader_fd);
	if (r == 0) {
		(void)rm_rf_at(loader_fd, "entries.staging");
		r = write_in_place(s, entries_fd, list, names);
	}
	strv_free_n(names, list->n);
	if (r < 0) {
		(void)rm_rf_at(loader_fd, "entries.staging");
		return r;
	}
	/*
	 * Switched: from here on nothing may fail the command, or a caller
	 * would undo what the entries now name. Leftovers are removed by
	 * the next command.
	 */
	(void)fsync(loader_fd);
	(void)rm_rf_at(loader_fd, "entries.staging");
	(void)fsync(loader_fd);
	(void)sysroot_prune_unused(s, list, NULL);
	st_error_clear();
	return 0;
}

static bool listed(const struct st_deploy_list *list, const char *os, const char *id)
{
	size_t ol = strlen(os);

	/* The staged deployment has no entry until finalize-staged. */
	if (list->staged && strncmp(list->staged, os, ol) == 0 && list->staged[ol] == '/' &&
	    strcmp(list->staged + ol + 1, id) == 0)
		return true;
	for (size_t i = 0; i < list->n; i++)
		if (strcmp(list->d[i].os, os) == 0 && strcmp(list->d[i].id, id) == 0)
			return true;
	return false;
}

static bool boot_dir_used(const struct st_deploy_list *list, const char *name)
{
	if (list->staged_boot_dir && strcmp(list->staged_boot_dir, name) == 0)
		return true;
	for (size_t i = 0; i < list->n; i++)
		if (list->d[i].boot_dir && strcmp(list->d[i].boot_dir, name) == 0)
			return true;
	return false;
}

static int each_dir_entry(int dirfd, int (*fn)(void *u, int dirfd, const char *name), void *u)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int r;

	r = opendir_fd(dirfd, &d);
	while (r >= 0 && (r = readdir_next(d, &de)) > 0)
		if (de->d_name[0] != '.')
			r = fn(u, dirfd, de->d_name);
	return r;
}

struct prune_ctx {
	struct st_sysroot *s;
	const struct st_deploy_list *list;
	struct st_cleanup_stats *stats;
	const char *os;
};

static int prune_deployment(void *u, int osfd, const char *name)
{
	struct prune_ctx *c = u;
	uint8_t commit[ST_COMMIT_ID_SIZE];
	_cleanup_free_ char *pin = NULL;
	int r;

	if (deploy_id_parse(name, commit, NULL) < 0 || listed(c->list, c->os, name))
		return 0;
	r = rm_rf_at(osfd, name);
	if (r < 0)
		return r;
	c->stats->deployments_removed++;
	r = deploy_pin_name(c->os, name, &pin);
	if (r < 0)
		return r;
	r = st_repo_delete_ref(c->s->repo, pin);
	if (r >= 0)
		c->stats->pins_removed++;
	else if (r != -ENOENT)
		return r;
	st_error_clear();
	return 0;
}

static int prune_os(void *u, int deploy_fd, const char *name)
{
	struct prune_ctx *c = u;
	_cleanup_close_ int osfd = -EBADF;
	int r;

	if (!st_os_name_valid(name))
		return 0;
	osfd = openat(deploy_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (osfd < 0)
		return 0;
	c->os = name;
	r = each_dir_entry(osfd, prune_deployment, c);
	if (r >= 0)
		(void)fsync(osfd);
	return r;
}

static int prune_boot_dir(void *u, int bfd, const char *name)
{
	struct prune_ctx *c = u;
	int r;

	if (boot_dir_used(c->list, name))
		return 0;
	r = rm_rf_at(bfd, name);
	if (r >= 0)
		c->stats->boot_dirs_removed++;
	return r;
}

int sysroot_prune_unused(struct st_sysroot *s, const struct st_deploy_list *list, struct st_cleanup_stats *stats)
{
	struct st_cleanup_stats dummy = {};
	struct prune_ctx c = { .s = s, .list = list, .stats = stats ? stats : &dummy };
	_cleanup_close_ int bfd = -EBADF;
	struct st_ref *refs = NULL;
	size_t n_refs = 0;
	int r;

	r = each_dir_entry(s->deploy_fd, prune_os, &c);
	if (r < 0)
		return r;
	/* Pins whose deployment directory went away earlier (a crash after its removal). */
	r = st_repo_list_refs(s->repo, true, &refs, &n_refs);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_refs; i++) {
		const char *p = refs[i].name;
		_cleanup_free_ char *os = NULL;
		const char *slash;

		if (strncmp(p, ST_DEPLOY_PIN_PREFIX, strlen(ST_DEPLOY_PIN_PREFIX)) != 0)
			continue;
		p += strlen(ST_DEPLOY_PIN_PREFIX);
		slash = strchr(p, '/');
		if (!slash)
			continue;
		os = strndup(p, (size_t)(slash - p));
		if (!os) {
			r = -ENOMEM;
			break;
		}
		if (listed(list, os, slash + 1))
			continue;
		r = st_repo_delete_ref(s->repo, refs[i].name);
		if (r < 0 && r != -ENOENT)
			break;
		r = 0;
		c.stats->pins_removed++;
	}
	st_ref_list_free(refs, n_refs);
	if (r < 0)
		return r;
	bfd = openat(s->boot_fd, "sealtree", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bfd < 0)
		return st_errf(negative_errno(), "cannot open boot/sealtree");
	r = each_dir_entry(bfd, prune_boot_dir, &c);
	if (r >= 0)
		(void)fsync(bfd);
	return r;
}
