/* SPDX-License-Identifier: MIT */
/*
 * The packs a repository offers (REPO/packs/<sha256>.index and .pack):
 * listed for the summary, kept up to date for each branch (a full pack and
 * one from the parent), stale ones removed. An index is listed only if its
 * bytes have the SHA-256 of its name, it parses, and its body is there with
 * the size it says, so a summary never offers a pack a client cannot use.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "basic/beneath.h"
#include "basic/dirent-util.h"
#include "basic/error.h"
#include "basic/hex.h"
#include "fundamental/macro.h"
#include "pack.h"

static int info_cmp(const void *x, const void *y)
{
	const struct st_pack_info *a = x, *b = y;
	int c = memcmp(a->commit, b->commit, ST_COMMIT_ID_SIZE);

	if (c != 0)
		return c;
	if (a->has_from != b->has_from)
		return a->has_from ? 1 : -1;
	c = a->has_from ? memcmp(a->from, b->from, ST_COMMIT_ID_SIZE) : 0;
	return c != 0 ? c : memcmp(a->index_sha256, b->index_sha256, 32);
}

/* "H.stale" of pack H in buf: the mark of a pack the next summary no longer offers (removed after it). */
static void stale_name(const uint8_t index_sha256[32], char buf[80])
{
	pack_relpath(index_sha256, false, buf);
	memcpy(buf + 6 + 64, ".stale", 7);
}

/*
 * One packs/NAME.index: 1 and *ret if it is a usable pack, 0 if not
 * (skipped; so is one marked stale, unless with_stale), or a negative errno.
 */
static int read_one(int dfd, const char *name, bool with_stale, struct st_pack_info *ret)
{
	_cleanup_free_ char *data = NULL, *body = NULL;
	struct pack_index *idx = NULL;
	uint8_t want[32], sha[32];
	unsigned sha_len = 32;
	struct stat st;
	size_t len;
	int r;

	if (strlen(name) != 64 + 6 || strcmp(name + 64, ".index") != 0 || hex_decode_lower(name, 64, want, 32) < 0)
		return 0;
	if (!with_stale) {
		char stale[80];

		stale_name(want, stale);
		if (fstatat(dfd, stale + 6, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return 0;
	}
	r = read_file_capped(dfd, name, PACK_INDEX_SIZE_MAX, 0, &data, &len);
	if (r == -ENOENT || r == -EUCLEAN || r == -EFBIG)
		return 0;
	if (r < 0)
		return r;
	if (EVP_Digest(data, len, sha, &sha_len, EVP_sha256(), NULL) != 1)
		return -ENOMEM;
	if (memcmp(sha, want, 32) != 0 || pack_index_parse(data, len, &idx) < 0)
		return 0;
	if (asprintf(&body, "%.64s.pack", name) < 0) {
		pack_index_free(idx);
		return -ENOMEM;
	}
	if (fstatat(dfd, body, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != idx->pack_size) {
		pack_index_free(idx);
		return 0;
	}
	*ret = (struct st_pack_info){ .has_from = idx->has_from, .index_size = len, .pack_size = idx->pack_size,
				      .n_objects = idx->n_entries };
	memcpy(ret->commit, idx->commit, 32);
	memcpy(ret->from, idx->from, 32);
	memcpy(ret->index_sha256, sha, 32);
	for (size_t i = 0; i < idx->n_entries; i++)
		ret->bytes += idx->entries[i].size;
	pack_index_free(idx);
	return 1;
}

static int list_packs(struct st_repo *repo, bool with_stale, struct st_pack_info **ret, size_t *ret_n)
{
	_cleanup_free_ struct st_pack_info *v = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int r;

	if (!repo || !ret || !ret_n)
		return -EINVAL;
	r = opendir_beneath(st_repo_dirfd(repo), "packs", &d);
	if (r == -ENOENT) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	if (r < 0)
		return st_errf(r, "cannot open '%s/packs'", st_repo_path(repo));
	while ((r = readdir_next(d, &de)) > 0) {
		struct st_pack_info info;

		r = read_one(dirfd(d), de->d_name, with_stale, &info);
		if (r < 0)
			break;
		if (r == 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct st_pack_info *nv = reallocarray(v, ncap, sizeof(*nv));

			if (!nv) {
				r = -ENOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		v[n++] = info;
	}
	if (r < 0)
		return st_errf(r, "cannot list '%s/packs'", st_repo_path(repo));
	if (n > 1)
		qsort(v, n, sizeof(*v), info_cmp);
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

int st_repo_list_packs(struct st_repo *repo, struct st_pack_info **ret, size_t *ret_n)
{
	return list_packs(repo, false, ret, ret_n);
}

struct wanted {
	uint8_t commit[ST_COMMIT_ID_SIZE];
	bool has_from;
	uint8_t from[ST_COMMIT_ID_SIZE];
	bool present;
};

static bool same_pair(const struct wanted *w, const struct st_pack_info *p)
{
	return memcmp(w->commit, p->commit, 32) == 0 && w->has_from == p->has_from &&
	       (!w->has_from || memcmp(w->from, p->from, 32) == 0);
}

static int remove_pack(int dfd, const struct st_pack_info *p)
{
	char name[80];

	/* The index first: a pack without its index is never offered. */
	pack_relpath(p->index_sha256, false, name);
	if (unlinkat(dfd, name + 6, 0) < 0 && errno != ENOENT)
		return -errno;
	pack_relpath(p->index_sha256, true, name);
	if (unlinkat(dfd, name + 6, 0) < 0 && errno != ENOENT)
		return -errno;
	stale_name(p->index_sha256, name);
	if (unlinkat(dfd, name + 6, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* Mark pack p stale (on) or not (off): an empty packs/H.stale. */
static int mark_stale(int dfd, const struct st_pack_info *p, bool on)
{
	_cleanup_close_ int fd = -EBADF;
	char name[80];

	stale_name(p->index_sha256, name);
	if (!on)
		return unlinkat(dfd, name + 6, 0) < 0 && errno != ENOENT ? -errno : 0;
	fd = openat(dfd, name + 6, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
	return fd < 0 ? -errno : 0;
}

int st_repo_update_packs(struct st_repo *repo, int level, unsigned flags, size_t *ret_written, size_t *ret_removed)
{
	_cleanup_free_ struct st_pack_info *have = NULL;
	_cleanup_free_ struct wanted *want = NULL;
	_cleanup_close_ int dfd = -EBADF;
	struct st_ref *refs = NULL;
	size_t n_refs = 0, n_have = 0, n_want = 0, written = 0, removed = 0;
	int r;

	if (!repo || (flags & ~(ST_PACK_RECOMPRESS | ST_PACK_KEEP_STALE)))
		return -EINVAL;
	r = st_repo_list_refs(repo, false, &refs, &n_refs);
	if (r < 0)
		return r;
	want = calloc(2 * n_refs + 1, sizeof(*want));
	if (!want) {
		st_ref_list_free(refs, n_refs);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_refs; i++) {
		struct st_commit *c = NULL;
		struct st_commit *parent = NULL;

		r = st_repo_read_commit(repo, refs[i].id, &c);
		if (r < 0)
			break;
		memcpy(want[n_want++].commit, refs[i].id, 32);
		if (c->has_parent && st_repo_read_commit(repo, c->parent, &parent) == 0) {
			memcpy(want[n_want].commit, refs[i].id, 32);
			want[n_want].has_from = true;
			memcpy(want[n_want].from, c->parent, 32);
			n_want++;
		}
		st_commit_free(parent);
		st_commit_free(c);
	}
	st_ref_list_free(refs, n_refs);
	if (r < 0)
		return r;
	r = list_packs(repo, true, &have, &n_have);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_want; i++) {
		for (size_t j = 0; j < n_have && !want[i].present; j++)
			want[i].present = same_pair(&want[i], &have[j]);
		for (size_t k = 0; k < i && !want[i].present; k++)
			want[i].present = memcmp(want[k].commit, want[i].commit, 32) == 0 &&
					  want[k].has_from == want[i].has_from &&
					  (!want[i].has_from || memcmp(want[k].from, want[i].from, 32) == 0);
		if (want[i].present)
			continue;
		r = st_repo_write_pack(repo, want[i].commit, want[i].has_from ? want[i].from : NULL, level,
				       flags & ST_PACK_RECOMPRESS, NULL);
		if (r < 0)
			return r;
		want[i].present = true;
		written++;
	}
	/* Stale: no branch wants it, or a second pack of the same pair (another level). */
	dfd = openat_beneath(st_repo_dirfd(repo), "packs", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	for (size_t j = 0; dfd >= 0 && j < n_have; j++) {
		bool keep = false;

		for (size_t i = 0; i < n_want && !keep; i++)
			keep = same_pair(&want[i], &have[j]) && (j == 0 || !same_pair(&want[i], &have[j - 1]));
		if (keep || (flags & ST_PACK_KEEP_STALE)) {
			/* Kept: offered again. Stale but kept for now: the next summary leaves it out. */
			r = mark_stale(dfd, &have[j], !keep);
			if (r < 0)
				return st_errf(r, "cannot mark a pack of '%s/packs'", st_repo_path(repo));
			continue;
		}
		r = remove_pack(dfd, &have[j]);
		if (r < 0)
			return st_errf(r, "cannot remove a stale pack from '%s/packs'", st_repo_path(repo));
		removed++;
	}
	if (ret_written)
		*ret_written = written;
	if (ret_removed)
		*ret_removed = removed;
	return 0;
}
