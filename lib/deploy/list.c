/* SPDX-License-Identifier: MIT */
/*
 * Reading the deployment list: our entries in boot/loader/entries (ordered
 * by their version, highest first), each joined with its deployment's
 * origin, pin marker and conflicts; foreign entries by name and title.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/dirent-util.h"
#include "basic/error.h"
#include "basic/io.h"
#include "deploy-internal.h"
#include "fundamental/parse-number.h"

void deployment_release(struct st_deployment *d)
{
	free(d->os);
	free(d->id);
	free(d->entry_name);
	free(d->boot_counter);
	free(d->kargs);
	free(d->boot_dir);
	free(d->ref);
	free(d->version);
	free(d->kernel);
	free(d->merged_from);
	free(d->broken);
	for (size_t i = 0; i < d->n_conflicts; i++)
		free(d->conflicts[i]);
	free(d->conflicts);
	memset(d, 0, sizeof(*d));
}

struct st_deploy_list *st_deploy_list_free(struct st_deploy_list *l)
{
	if (!l)
		return NULL;
	for (size_t i = 0; i < l->n; i++)
		deployment_release(&l->d[i]);
	for (size_t i = 0; i < l->n_foreign; i++) {
		free(l->foreign[i].name);
		free(l->foreign[i].title);
	}
	free(l->d);
	free(l->foreign);
	booted_free(l->booted);
	free(l->staged);
	free(l->staged_boot_dir);
	free(l->staged_failed);
	free(l);
	return NULL;
}

/* The OS-BOOTDIGEST component of a linux line "PREFIX/sealtree/OS-DIGEST/vmlinuz". */
static char *boot_dir_of(const char *linux_path)
{
	const char *p = strstr(linux_path, "/sealtree/"), *e;

	if (!p)
		return NULL;
	p += strlen("/sealtree/");
	e = strchr(p, '/');
	if (!e || e == p || strcmp(e, "/vmlinuz") != 0)
		return NULL;
	return strndup(p, (size_t)(e - p));
}

static int set_broken(struct st_deployment *d, const char *why)
{
	if (d->broken)
		return 0;
	d->broken = strdup(why);
	return d->broken ? 0 : -ENOMEM;
}

/* The lines of the conflicts file (capped: it is ours, but on a writable disk). */
static int read_lines_at(int dirfd, const char *name, char ***ret, size_t *ret_n)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	_cleanup_free_ uint8_t *buf = NULL;
	char **v = NULL;
	size_t len, n = 0, cap = 0;
	char *p, *e;

	*ret = NULL;
	*ret_n = 0;
	if (fd < 0 || lseek(fd, 0, SEEK_END) > 16 * 1024 * 1024 || lseek(fd, 0, SEEK_SET) < 0 ||
	    read_fd_all(fd, &buf, &len) < 0)
		return 0;
	buf[len] = '\0';
	for (p = (char *)buf; p < (char *)buf + len; p = e + 1) {
		e = strchrnul(p, '\n');
		*e = '\0';
		if (!*p)
			continue;
		if (GROW(v, cap, n + 1) < 0 || !(v[n] = strdup(p))) {
			for (size_t i = 0; i < n; i++)
				free(v[i]);
			free(v);
			return -ENOMEM;
		}
		n++;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* Join the entry with deploy/OS/ID and its commit. Problems make it broken, not an error. */
static int load_deployment(struct st_sysroot *s, struct st_deployment *d)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_(st_commit_freep) struct st_commit *c = NULL;
	struct kv_file origin = {};
	char path[ST_OS_NAME_MAX + DEPLOY_ID_MAX + 2];
	int r;

	(void)snprintf(path, sizeof(path), "%s/%s", d->os, d->id);
	fd = openat(s->deploy_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return set_broken(d, "its deployment directory is missing");
	d->pinned = faccessat(fd, "pinned", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	r = read_lines_at(fd, "conflicts", &d->conflicts, &d->n_conflicts);
	if (r < 0)
		return r;
	if (faccessat(fd, "etc", F_OK, AT_SYMLINK_NOFOLLOW) < 0 && set_broken(d, "its etc/ is missing") < 0)
		return -ENOMEM;
	r = kv_read_at(fd, "origin", &origin);
	if (r < 0) {
		st_error_clear();
		r = set_broken(d, "its origin is missing or does not parse");
	} else {
		const char *v;

		if (!(v = kv_get(&origin, "sealtree-origin")) || strcmp(v, "1") != 0)
			r = set_broken(d, "its origin is not 'sealtree-origin 1'");
		if ((v = kv_get(&origin, "ref")) && !(d->ref = strdup(v)))
			r = -ENOMEM;
		if ((v = kv_get(&origin, "kernel")) && !(d->kernel = strdup(v)))
			r = -ENOMEM;
		if ((v = kv_get(&origin, "merged-from")) && !(d->merged_from = strdup(v)))
			r = -ENOMEM;
		kv_file_release(&origin);
	}
	if (r < 0)
		return r;
	r = st_repo_read_commit(s->repo, d->commit, &c);
	if (r == -ENOENT) {
		st_error_clear();
		return set_broken(d, "its commit is missing from the repository");
	}
	if (r < 0) {
		/* Present but not this commit (changed, or another commit's
		 * bytes): say so, never "missing", with the reader's detail. */
		const char *detail = st_error_detail();
		char why[512];

		(void)snprintf(why, sizeof(why), "its commit record is corrupt or unreadable: %s",
			       detail ? detail : st_error_message(r));
		st_error_clear();
		return set_broken(d, why);
	}
	if (c->version && !(d->version = strdup(c->version)))
		return -ENOMEM;
	return 0;
}

/*
 * The length of a "+LEFT" or "+LEFT-DONE" counter (1 to 4 digits each) at
 * the end of the first len bytes of name, or 0.
 */
size_t boot_counter_len(const char *name, size_t len)
{
	size_t i = len, d;

	for (int part = 0; part < 2; part++) {
		d = 0;
		while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9' && d < 5) {
			i--;
			d++;
		}
		if (d == 0 || d > 4 || i == 0)
			return 0;
		if (name[i - 1] == '+')
			return len - i + 1;
		if (name[i - 1] != '-' || part == 1)
			return 0;
		i--;
	}
	return 0;
}

/*
 * Classify entries/NAME: 1 and *d filled if it is ours, 0 if foreign
 * (*ret_title set when it has one). Errors are only allocation failures.
 */
static int classify(int entries_fd, const char *name, struct st_deployment *d, uint64_t *ret_order,
		    char **ret_title)
{
	struct kv_file f = {};
	const char *options, *v;
	size_t n = strlen(name);
	int r;

	*ret_title = NULL;
	r = kv_read_at(entries_fd, name, &f);
	if (r < 0) {
		st_error_clear();
		return 0;
	}
	if ((v = kv_get(&f, "title")) && !(*ret_title = strdup(v))) {
		kv_file_release(&f);
		return -ENOMEM;
	}
	options = kv_get(&f, "options");
	if (strncmp(name, ENTRY_PREFIX, strlen(ENTRY_PREFIX)) != 0 || n < strlen(ENTRY_SUFFIX) ||
	    strcmp(name + n - strlen(ENTRY_SUFFIX), ENTRY_SUFFIX) != 0 || !options) {
		kv_file_release(&f);
		return 0;
	}
	{
		_cleanup_free_ char *value = NULL;

		r = kargs_split_options(options, &d->kargs, &value);
		if (r >= 0)
			r = deploy_ref_parse(value, &d->os, &d->id);
		if (r < 0 || deploy_id_parse(d->id, d->commit, NULL) < 0) {
			st_error_clear();
			deployment_release(d);
			kv_file_release(&f);
			return r == -ENOMEM ? r : 0;
		}
	}
	*ret_order = 0;
	if ((v = kv_get(&f, "version"))) {
		uint64_t x;

		*ret_order = strlen(v) < 10 && safe_atou64(v, &x) == 0 ? x : 0;
	}
	if ((v = kv_get(&f, "linux")))
		d->boot_dir = boot_dir_of(v);
	kv_file_release(&f);
	d->entry_name = strdup(name);
	if (!d->entry_name)
		return -ENOMEM;
	{
		size_t cl = boot_counter_len(name, n - strlen(ENTRY_SUFFIX));

		if (cl > 0 && !(d->boot_counter = strndup(name + n - strlen(ENTRY_SUFFIX) - cl, cl)))
			return -ENOMEM;
	}
	if (!d->boot_dir)
		return set_broken(d, "its linux line does not name /sealtree/OS-DIGEST/vmlinuz") < 0 ? -ENOMEM : 1;
	return 1;
}

struct sort_item {
	uint64_t order;
	struct st_deployment d;
};

static int cmp_item(const void *a, const void *b)
{
	const struct sort_item *x = a, *y = b;

	if (x->order != y->order)
		return x->order > y->order ? -1 : 1;
	return strcmp(x->d.entry_name, y->d.entry_name);
}

static int cmp_foreign(const void *a, const void *b)
{
	return strcmp(((const struct st_foreign_entry *)a)->name, ((const struct st_foreign_entry *)b)->name);
}

int st_sysroot_load(struct st_sysroot *s, struct st_deploy_list **ret)
{
	_cleanup_(st_deploy_list_freep) struct st_deploy_list *l = NULL;
	_cleanup_free_ struct sort_item *items = NULL;
	_cleanup_close_ int efd = -EBADF;
	size_t n_items = 0, cap_items = 0, cap_foreign = 0;
	struct dirent *de;
	DIR *dir;
	int r = 0;

	l = new0(struct st_deploy_list, 1);
	if (!l)
		return -ENOMEM;
	efd = openat(s->boot_fd, "loader/entries", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (efd < 0 && errno != ENOENT)
		return st_errf(negative_errno(), "cannot open boot/loader/entries");
	if (efd >= 0) {
		r = opendir_fd(efd, &dir);
		if (r < 0)
			return r;
		while (r >= 0 && (r = readdir_next(dir, &de)) > 0) {
			struct st_deployment d = {};
			_cleanup_free_ char *title = NULL;
			uint64_t order = 0;

			if (de->d_name[0] == '.')
				continue;
			r = classify(efd, de->d_name, &d, &order, &title);
			if (r == 1) {
				r = GROW(items, cap_items, n_items + 1);
				if (r < 0) {
					deployment_release(&d);
					break;
				}
				items[n_items].order = order;
				items[n_items++].d = d;
			} else if (r == 0) {
				r = GROW(l->foreign, cap_foreign, l->n_foreign + 1);
				if (r < 0)
					break;
				l->foreign[l->n_foreign].name = strdup(de->d_name);
				l->foreign[l->n_foreign].title = TAKE_PTR(title);
				if (!l->foreign[l->n_foreign++].name)
					r = -ENOMEM;
			}
		}
		closedir(dir);
		if (r < 0) {
			for (size_t i = 0; i < n_items; i++)
				deployment_release(&items[i].d);
			return r;
		}
	}
	if (n_items > 0)
		qsort(items, n_items, sizeof(*items), cmp_item);
	l->d = new0(struct st_deployment, n_items);
	if (!l->d) {
		for (size_t i = 0; i < n_items; i++)
			deployment_release(&items[i].d);
		return -ENOMEM;
	}
	/*
	 * A second entry naming a deployment already listed (a copy made by
	 * hand) is kept as a foreign entry: one deployment, one entry of ours.
	 */
	for (size_t i = 0; i < n_items; i++) {
		bool dup = false;

		for (size_t j = 0; j < l->n && !dup; j++)
			dup = strcmp(l->d[j].os, items[i].d.os) == 0 && strcmp(l->d[j].id, items[i].d.id) == 0;
		if (!dup) {
			l->d[l->n++] = items[i].d;
			continue;
		}
		r = GROW(l->foreign, cap_foreign, l->n_foreign + 1);
		if (r < 0) {
			for (size_t k = i; k < n_items; k++)
				deployment_release(&items[k].d);
			return r;
		}
		l->foreign[l->n_foreign].name = TAKE_PTR(items[i].d.entry_name);
		l->foreign[l->n_foreign++].title = strdup("(a second entry for an already listed deployment)");
		deployment_release(&items[i].d);
	}
	if (l->n_foreign > 0)
		qsort(l->foreign, l->n_foreign, sizeof(*l->foreign), cmp_foreign);
	r = booted_read(&l->booted);
	if (r < 0)
		return r;
	r = stage_load(s, &l->staged, &l->staged_boot_dir, &l->staged_failed);
	if (r < 0)
		return r;
	for (size_t i = 0; i < l->n; i++) {
		r = load_deployment(s, &l->d[i]);
		if (r < 0)
			return r;
		if (l->booted && l->booted->os && l->booted->deployment && strcmp(l->booted->os, l->d[i].os) == 0 &&
		    strcmp(l->booted->deployment, l->d[i].id) == 0)
			l->d[i].booted = true;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

int st_deploy_list_remove(struct st_deploy_list *list, size_t index)
{
	if (index >= list->n)
		return st_errf(-ERANGE, "no deployment at index %zu (there are %zu)", index, list->n);
	deployment_release(&list->d[index]);
	memmove(&list->d[index], &list->d[index + 1], (list->n - index - 1) * sizeof(list->d[0]));
	list->n--;
	return 0;
}

int st_deploy_list_make_default(struct st_deploy_list *list, size_t index)
{
	struct st_deployment d;

	if (index >= list->n)
		return st_errf(-ERANGE, "no deployment at index %zu (there are %zu)", index, list->n);
	d = list->d[index];
	memmove(&list->d[1], &list->d[0], index * sizeof(list->d[0]));
	list->d[0] = d;
	return 0;
}

int st_sysroot_set_pinned(struct st_sysroot *s, const struct st_deployment *d, bool pinned)
{
	_cleanup_close_ int fd = -EBADF;
	char path[ST_OS_NAME_MAX + DEPLOY_ID_MAX + 2];
	int r;

	r = sysroot_require_exclusive(s);
	if (r < 0)
		return r;
	(void)snprintf(path, sizeof(path), "%s/%s", d->os, d->id);
	fd = openat(s->deploy_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return st_errf(negative_errno(), "cannot open deployment '%s'", path);
	if (pinned) {
		_cleanup_close_ int pfd = openat(fd, "pinned", O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (pfd < 0)
			return st_errf(negative_errno(), "cannot create '%s/pinned'", path);
	} else if (unlinkat(fd, "pinned", 0) < 0 && errno != ENOENT)
		return st_errf(negative_errno(), "cannot remove '%s/pinned'", path);
	return RET_NERRNO(fsync(fd));
}
