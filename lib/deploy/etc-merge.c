/* SPDX-License-Identifier: MIT */
/*
 * The /etc three-way merge (docs/formats/sysroot.md): base is usr/etc of
 * the old deployment's commit, local its etc/ as the machine changed it,
 * new usr/etc of the new commit. Local changes win; new defaults arrive
 * where nothing changed locally; where both changed, the local version is
 * kept, the new default is written beside it as NAME.sealtree-new and the
 * path is reported as a conflict. Nothing here fails for a conflict.
 *
 * The walk visits the union of the three directories' names, so its cost
 * is proportional to /etc, never to the rest of the tree. Local hardlinks
 * are copied as separate files.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "basic/dirent-util.h"
#include "basic/error.h"
#include "etc-internal.h"

#define SIBLING_SUFFIX ".sealtree-new"

struct merge {
	struct st_repo *repo;
	struct etc_conflicts *conflicts;
};

void etc_conflicts_release(struct etc_conflicts *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].kind);
		free(c->v[i].path);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}

static int add_conflict(struct merge *m, const char *kind, const char *rel)
{
	struct etc_conflicts *c = m->conflicts;
	int r = GROW(c->v, c->cap, c->n + 1);

	if (r < 0)
		return r;
	c->v[c->n].kind = strdup(kind);
	c->v[c->n].path = strdup(*rel ? rel : ".");
	if (!c->v[c->n].kind || !c->v[c->n].path) {
		free(c->v[c->n].kind);
		free(c->v[c->n].path);
		return -ENOMEM;
	}
	c->n++;
	return 0;
}

/* ---- name sets ---------------------------------------------------------- */

int etc_names_add(struct etc_names *s, const char *name)
{
	int r = GROW(s->v, s->cap, s->n + 1);

	if (r < 0)
		return r;
	s->v[s->n] = strdup(name);
	if (!s->v[s->n])
		return -ENOMEM;
	s->n++;
	return 0;
}

int etc_names_add_dir(struct etc_names *s, int dirfd)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int r;

	r = opendir_fd(dirfd, &d);
	while (r >= 0 && (r = readdir_next(d, &de)) > 0)
		r = etc_names_add(s, de->d_name);
	return r;
}

int etc_names_add_node(struct etc_names *s, const struct st_node *dir)
{
	struct st_node *c;
	int r = 0;

	for (size_t i = 0; r >= 0 && (c = st_node_get_child(dir, i)); i++) {
		struct st_entry e;

		st_node_get_entry(c, &e);
		r = etc_names_add(s, e.name);
	}
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void etc_names_sort(struct etc_names *s)
{
	size_t o = 0;

	if (s->n == 0)
		return;
	qsort(s->v, s->n, sizeof(*s->v), cmp_str);
	for (size_t i = 0; i < s->n; i++) {
		if (o > 0 && strcmp(s->v[o - 1], s->v[i]) == 0) {
			free(s->v[i]);
			continue;
		}
		s->v[o++] = s->v[i];
	}
	s->n = o;
}

void etc_names_release(struct etc_names *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* ---- the walk ------------------------------------------------------------ */

static struct st_node *child_of(struct st_node *dir, const char *name)
{
	struct st_node *c = NULL;
	struct st_entry e;

	if (!dir)
		return NULL;
	st_node_get_entry(dir, &e);
	if (!S_ISDIR(e.mode))
		return NULL;
	if (st_tree_lookup(dir, name, &c) < 0) {
		st_error_clear();
		return NULL;
	}
	return c;
}

static unsigned node_type(const struct st_node *n)
{
	struct st_entry e;

	if (!n)
		return 0;
	st_node_get_entry(n, &e);
	return e.mode & S_IFMT;
}

static int merge_entry(struct merge *m, struct st_node *b, int lfd, const char *name, struct st_node *n, int dfd,
		       const char *rel);

/*
 * dfd/name becomes a directory holding the merge of b, local lfd/name and
 * n (each a directory or absent); its own metadata from local (lst) or n.
 */
static int merge_dir(struct merge *m, struct st_node *b, int lfd, const char *name, const struct stat *lst,
		     struct st_node *n, bool meta_from_local, int dfd, const char *rel)
{
	_cleanup_close_ int lcfd = -EBADF, dcfd = -EBADF;
	struct etc_names names = {};
	int r;

	if (mkdirat(dfd, name, 0700) < 0)
		return st_errf(negative_errno(), "cannot create etc/%s", rel);
	dcfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dcfd < 0)
		return negative_errno();
	if (lst) {
		lcfd = openat(lfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (lcfd < 0)
			return st_errf(negative_errno(), "cannot open etc/%s", rel);
	}
	r = 0;
	if (b && node_type(b) == S_IFDIR)
		r = etc_names_add_node(&names, b);
	if (r >= 0 && n && node_type(n) == S_IFDIR)
		r = etc_names_add_node(&names, n);
	if (r >= 0 && lcfd >= 0)
		r = etc_names_add_dir(&names, lcfd);
	etc_names_sort(&names);
	for (size_t i = 0; r >= 0 && i < names.n; i++) {
		_cleanup_free_ char *crel = NULL;

		if (asprintf(&crel, "%s%s%s", rel, *rel ? "/" : "", names.v[i]) < 0) {
			r = -ENOMEM;
			break;
		}
		r = merge_entry(m, b && node_type(b) == S_IFDIR ? child_of(b, names.v[i]) : NULL, lcfd, names.v[i],
				n && node_type(n) == S_IFDIR ? child_of(n, names.v[i]) : NULL, dcfd, crel);
	}
	etc_names_release(&names);
	if (r < 0)
		return r;
	if (meta_from_local)
		return etc_local_meta(lfd, name, lst, dfd, name);
	return etc_node_meta(n, dfd, name);
}

static bool is_sibling_name(const char *name)
{
	size_t a = strlen(name), b = strlen(SIBLING_SUFFIX);

	return a > b && strcmp(name + a - b, SIBLING_SUFFIX) == 0;
}

static int write_sibling(struct merge *m, struct st_node *n, int dfd, const char *name)
{
	_cleanup_free_ char *sib = NULL;
	int r;

	if (strlen(name) + strlen(SIBLING_SUFFIX) > 255)
		return 0;       /* no room for the name: the conflict is still reported */
	if (asprintf(&sib, "%s" SIBLING_SUFFIX, name) < 0)
		return -ENOMEM;
	r = rm_rf_at(dfd, sib);
	if (r < 0)
		return r;
	return etc_write_node(m->repo, n, dfd, sib);
}

static int merge_entry(struct merge *m, struct st_node *b, int lfd, const char *name, struct st_node *n, int dfd,
		       const char *rel)
{
	struct stat st, *lst = NULL;
	unsigned tb = node_type(b), tn = node_type(n), tl = 0;
	int r, leq, neq;

	if (lfd >= 0) {
		if (fstatat(lfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			lst = &st;
			tl = st.st_mode & S_IFMT;
		} else if (errno != ENOENT)
			return st_errf(negative_errno(), "cannot stat etc/%s", rel);
	}
	/* A sibling of an earlier merge that this merge writes again: the newer default wins. */
	if (lst && !b && !n && is_sibling_name(name) && faccessat(dfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	leq = etc_local_equal(b, lfd, name, lst);
	if (leq < 0)
		return leq;
	neq = etc_node_equal(b, n);
	if (neq < 0)
		return neq;

	if (leq) {                      /* unchanged locally: the new default */
		if (!n)
			return 0;
		if (tn == S_IFDIR && tl == S_IFDIR)
			return merge_dir(m, b, lfd, name, lst, n, false, dfd, rel);
		return etc_write_node(m->repo, n, dfd, name);
	}
	if (neq) {                      /* changed locally only: local */
		if (!lst)
			return 0;
		if (tl == S_IFDIR && tb == S_IFDIR)
			return merge_dir(m, b, lfd, name, lst, n, true, dfd, rel);
		return etc_copy_local(lfd, name, lst, dfd, name);
	}
	/* Changed on both sides. */
	if (tl == S_IFDIR && tn == S_IFDIR) {
		r = etc_local_equal(n, lfd, name, lst);
		if (r < 0)
			return r;
		if (r == 0) {
			r = add_conflict(m, tb == S_IFDIR ? "modified" : "added", rel);
			if (r < 0)
				return r;
		}
		return merge_dir(m, tb == S_IFDIR ? b : NULL, lfd, name, lst, n, true, dfd, rel);
	}
	if (!lst && !n)
		return 0;               /* removed on both sides */
	if (lst && n) {
		r = etc_local_equal(n, lfd, name, lst);
		if (r < 0)
			return r;
		if (r == 1)             /* both made the same change */
			return etc_copy_local(lfd, name, lst, dfd, name);
	}
	{
		const char *kind = !lst ? "removed"
				   : (n && tl != tn) || (b && tl != tb) ? "type"
				   : !b ? "added" : "modified";

		r = add_conflict(m, kind, rel);
		if (r < 0)
			return r;
	}
	if (lst) {
		r = etc_copy_local(lfd, name, lst, dfd, name);
		if (r < 0)
			return r;
	}
	if (n)
		return write_sibling(m, n, dfd, name);
	return 0;
}

int etc_merge(struct st_repo *repo, struct st_node *base, int local_parent_fd, const char *local_name,
	      struct st_node *new_root, int dest_parent_fd, const char *dest_name, struct etc_conflicts *conflicts)
{
	struct merge m = { .repo = repo, .conflicts = conflicts };
	struct stat st;
	int r;

	/* The merge names the result after local; do it under local's name in a private directory. */
	if (strcmp(local_name, dest_name) != 0)
		return -EINVAL;
	r = merge_entry(&m, base, local_parent_fd, local_name, new_root, dest_parent_fd, "");
	if (r < 0)
		return r;
	if (fstatat(dest_parent_fd, dest_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (mkdirat(dest_parent_fd, dest_name, 0755) < 0)
			return st_errf(negative_errno(), "cannot create etc/");
	} else if (!S_ISDIR(st.st_mode))
		return st_errf(-ENOTDIR, "the merged /etc is not a directory");
	return 0;
}
