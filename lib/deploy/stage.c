/* SPDX-License-Identifier: MIT */
/*
 * Staged deployments (deploy --stage, finalize-staged). A staged deployment
 * is complete on disk (directory, boot files, pin) but has no entry yet;
 * deploy/staged names it, with what its entry will carry:
 *
 *   sealtree-staged 1
 *   deployment OS/ID
 *   boot OS-BOOTDIGEST
 *   kargs KARGS
 *   boot-counter +N          (optional)
 *   not-as-default           (optional)
 *
 * finalize-staged, at shutdown, merges its /etc again from the merge
 * deployment's etc/ as it is then (changes made after staging are kept),
 * switches the entries and removes deploy/staged. A failure is written to
 * deploy/staged.failed for status to show at the next boot.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "basic/error.h"
#include "deploy-internal.h"

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

int stage_write(struct st_sysroot *s, const char *os, const char *id, const char *kargs,
		const struct st_deploy_options *o)
{
	_cleanup_free_ char *text = NULL, *boot = NULL;
	char path[ST_OS_NAME_MAX + DEPLOY_ID_MAX + 2];
	struct kv_file origin = {};
	_cleanup_close_ int fd = -EBADF;
	int r;

	(void)snprintf(path, sizeof(path), "%s/%s", os, id);
	fd = openat(s->deploy_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return negative_errno();
	r = kv_read_at(fd, "origin", &origin);
	if (r < 0)
		return r;
	boot = kv_get(&origin, "boot") ? strdup(kv_get(&origin, "boot")) : NULL;
	kv_file_release(&origin);
	if (!boot)
		return -ENOMEM;
	{
		char counter[32] = "";

		if (o->flags & ST_DEPLOY_BOOT_COUNTING)
			(void)snprintf(counter, sizeof(counter), "boot-counter +%u\n", o->boot_tries);
		if (asprintf(&text, "sealtree-staged 1\ndeployment %s/%s\nboot %s\nkargs %s\n%s%s", os, id, boot,
			     kargs ? kargs : "", counter, o->flags & ST_DEPLOY_NOT_AS_DEFAULT ? "not-as-default\n" : "") < 0)
			return -ENOMEM;
	}
	(void)unlinkat(s->deploy_fd, "staged.failed", 0);
	return write_file_atomic_at(s->deploy_fd, "staged", text, strlen(text), 0644);
}

int stage_load(struct st_sysroot *s, char **ret_staged, char **ret_boot_dir, char **ret_failed)
{
	struct kv_file f = {};
	const char *v;
	int r;

	*ret_staged = *ret_boot_dir = *ret_failed = NULL;
	r = kv_read_at(s->deploy_fd, "staged.failed", &f);
	if (r >= 0) {
		v = kv_get(&f, "error");
		*ret_failed = strdup(v ? v : "unknown");
		kv_file_release(&f);
	}
	st_error_clear();
	r = kv_read_at(s->deploy_fd, "staged", &f);
	if (r < 0) {
		st_error_clear();
		return 0;
	}
	if ((v = kv_get(&f, "deployment")))
		*ret_staged = strdup(v);
	if ((v = kv_get(&f, "boot")))
		*ret_boot_dir = strdup(v);
	kv_file_release(&f);
	return 0;
}

static int record_failure(struct st_sysroot *s, int r)
{
	_cleanup_free_ char *text = NULL;
	char why[900];
	size_t n;

	(void)snprintf(why, sizeof(why), "%s", st_error_message(r));
	for (n = 0; why[n]; n++)
		if ((unsigned char)why[n] < 0x20)
			why[n] = ' ';
	if (asprintf(&text, "sealtree-staged-failed 1\nerror %s\n", why) >= 0)
		(void)write_file_atomic_at(s->deploy_fd, "staged.failed", text, strlen(text), 0644);
	return r;
}

static int finalize(struct st_sysroot *s, struct st_deploy_options *res)
{
	_cleanup_(st_deploy_list_freep) struct st_deploy_list *l = NULL;
	_cleanup_(st_commit_freep) struct st_commit *c = NULL;
	_cleanup_(st_node_freep) struct st_node *root = NULL;
	_cleanup_close_ int dfd = -EBADF, tfd = -EBADF;
	_cleanup_free_ char *os = NULL, *id = NULL, *from_os = NULL, *from_id = NULL;
	struct kv_file staged = {}, origin = {};
	struct etc_conflicts conf = {};
	struct st_deployment nd = {};
	uint8_t from_commit[ST_COMMIT_ID_SIZE];
	char path[ST_OS_NAME_MAX + DEPLOY_ID_MAX + 2], tmp[64];
	const char *v;
	bool not_default;
	int r;

	r = kv_read_at(s->deploy_fd, "staged", &staged);
	if (r == -ENOENT) {
		st_error_clear();
		return 0;
	}
	if (r < 0)
		return r;
	v = kv_get(&staged, "sealtree-staged");
	if (!v || strcmp(v, "1") != 0 || !(v = kv_get(&staged, "deployment"))) {
		kv_file_release(&staged);
		return st_errf(-EUCLEAN, "deploy/staged is not 'sealtree-staged 1' with a deployment");
	}
	r = deploy_ref_parse(v, &os, &id);
	if (r < 0)
		goto out;
	nd.os = strdup(os);
	nd.id = strdup(id);
	nd.kargs = strdup(kv_get(&staged, "kargs") ? kv_get(&staged, "kargs") : "");
	nd.boot_dir = kv_get(&staged, "boot") ? strdup(kv_get(&staged, "boot")) : NULL;
	nd.boot_counter = kv_get(&staged, "boot-counter") ? strdup(kv_get(&staged, "boot-counter")) : NULL;
	not_default = kv_get(&staged, "not-as-default") != NULL;
	if (!nd.os || !nd.id || !nd.kargs || !nd.boot_dir) {
		r = nd.boot_dir ? -ENOMEM : st_errf(-EUCLEAN, "deploy/staged names no boot files");
		goto out;
	}
	r = st_kargs_check(nd.kargs);
	if (r < 0)
		goto out;
	r = deploy_id_parse(id, nd.commit, NULL);
	if (r < 0)
		goto out;
	/*
	 * Killed after the switch and before deploy/staged was removed: the
	 * entries already name the deployment. Finishing is removing the record.
	 */
	r = st_sysroot_load(s, &l);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->d[i].os, os) && !strcmp(l->d[i].id, id)) {
			if (unlinkat(s->deploy_fd, "staged", 0) < 0 && errno != ENOENT) {
				r = st_errf(negative_errno(), "cannot remove deploy/staged");
				goto out;
			}
			(void)fsync(s->deploy_fd);
			if (res) {
				res->os_used = TAKE_PTR(os);
				res->id = TAKE_PTR(id);
			}
			r = 1;
			goto out;
		}
	l = st_deploy_list_free(l);
	(void)snprintf(path, sizeof(path), "%s/%s", os, id);
	dfd = openat(s->deploy_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0) {
		r = st_errf(negative_errno(), "the staged deployment deploy/%s is missing", path);
		goto out;
	}
	r = kv_read_at(dfd, "origin", &origin);
	if (r < 0)
		goto out;
	/* Merge /etc again from the merge deployment as it is now. */
	if ((v = kv_get(&origin, "merged-from"))) {
		r = deploy_ref_parse(v, &from_os, &from_id);
		if (r >= 0)
			r = deploy_id_parse(from_id, from_commit, NULL);
		if (r < 0)
			goto out;
		(void)snprintf(path, sizeof(path), "%s/%s", from_os, from_id);
		if (faccessat(s->deploy_fd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
			r = st_repo_read_commit(s->repo, nd.commit, &c);
			if (r >= 0)
				r = deploy_read_image(s, c->image_digest, false, &root);
			if (r < 0)
				goto out;
			tmp_name("etc", tmp, sizeof(tmp));
			if (mkdirat(dfd, tmp, 0755) < 0 || (tfd = openat(dfd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
				r = st_errf(negative_errno(), "cannot create deploy/%s/%s/%s", os, id, tmp);
				goto out;
			}
			r = deploy_merge_etc(s, from_os, from_id, from_commit, root, c->image_digest, tfd, &conf);
			if (r >= 0 && syncfs(tfd) < 0)
				r = negative_errno();
			if (r >= 0 && syscall(SYS_renameat2, tfd, "etc", dfd, "etc", RENAME_EXCHANGE) < 0)
				r = st_errf(negative_errno(), "cannot exchange the merged etc/ of deploy/%s/%s", os, id);
			if (r >= 0)
				r = write_conflicts_file(dfd, &conf);
			(void)rm_rf_at(dfd, tmp);
			if (r < 0)
				goto out;
		}
	}
	r = st_sysroot_load(s, &l);
	if (r < 0)
		goto out;
	{
		struct st_deployment *v2 = realloc_array(l->d, l->n + 1, sizeof(*v2));
		size_t at = not_default && l->n > 0 ? 1 : 0;

		if (!v2) {
			r = -ENOMEM;
			goto out;
		}
		l->d = v2;
		memmove(&v2[at + 1], &v2[at], (l->n - at) * sizeof(*v2));
		v2[at] = nd;
		memset(&nd, 0, sizeof(nd));
		l->n++;
	}
	r = st_sysroot_write_list(s, l);
	if (r < 0)
		goto out;
	if (unlinkat(s->deploy_fd, "staged", 0) < 0)
		r = st_errf(negative_errno(), "cannot remove deploy/staged");
	(void)fsync(s->deploy_fd);
	if (r >= 0 && res) {
		res->os_used = TAKE_PTR(os);
		res->id = TAKE_PTR(id);
		if (from_os && asprintf(&res->merged_from, "%s/%s", from_os, from_id) < 0)
			res->merged_from = NULL;
		res->conflicts = conf.v;
		res->n_conflicts = conf.n;
		memset(&conf, 0, sizeof(conf));
	}
	r = r < 0 ? r : 1;
out:
	deployment_release(&nd);
	etc_conflicts_release(&conf);
	kv_file_release(&staged);
	kv_file_release(&origin);
	return r;
}

int st_sysroot_finalize_staged(struct st_sysroot *s, struct st_deploy_options *ret_result)
{
	int r = sysroot_require_exclusive(s);

	if (r < 0)
		return r;
	r = finalize(s, ret_result);
	if (r < 0)
		return record_failure(s, r);
	if (r > 0)
		(void)unlinkat(s->deploy_fd, "staged.failed", 0);
	return r;
}
