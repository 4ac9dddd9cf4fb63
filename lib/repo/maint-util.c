/* SPDX-License-Identifier: MIT */
/* Helpers shared by gc, prune and fsck: see maint-internal.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>

#include "basic/dirent-util.h"
#include "basic/error.h"
#include "basic/hex.h"
#include "basic/macro.h"
#include "repo/maint-internal.h"
#include "tree/tree-internal.h"

/* ---- digest set ---------------------------------------------------------- */

static size_t slot_of(const struct digest_set *s, const uint8_t key[32])
{
	uint64_t h;

	/* Keys are hashes already; mixing still spreads crafted file names. */
	memcpy(&h, key + 8, sizeof(h));
	h ^= h >> 29;
	h *= UINT64_C(0x9e3779b97f4a7c15);
	return (size_t)(h >> 17) & (s->cap - 1);
}

static bool slot_used(const struct digest_set *s, size_t i)
{
	return s->used[i / 8] & (1u << (i % 8));
}

static void insert_unchecked(struct digest_set *s, const uint8_t key[32])
{
	size_t i = slot_of(s, key);

	while (slot_used(s, i))
		i = (i + 1) & (s->cap - 1);
	memcpy(s->keys[i], key, 32);
	s->used[i / 8] |= (uint8_t)(1u << (i % 8));
	s->n++;
}

static int grow(struct digest_set *s)
{
	struct digest_set bigger = {};
	size_t cap = s->cap ? s->cap * 2 : 1024;

	if (cap < s->cap)
		return -ENOMEM;
	bigger.keys = malloc_array(cap, 32);
	bigger.used = calloc(cap / 8, 1);
	bigger.cap = cap;
	if (!bigger.keys || !bigger.used) {
		digest_set_release(&bigger);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->cap; i++)
		if (slot_used(s, i))
			insert_unchecked(&bigger, s->keys[i]);
	digest_set_release(s);
	*s = bigger;
	return 0;
}

static bool find(const struct digest_set *s, const uint8_t key[32], size_t *ret_slot)
{
	if (s->cap == 0)
		return false;
	for (size_t i = slot_of(s, key);; i = (i + 1) & (s->cap - 1)) {
		if (!slot_used(s, i))
			return false;
		if (memcmp(s->keys[i], key, 32) == 0) {
			*ret_slot = i;
			return true;
		}
	}
}

bool digest_set_contains(const struct digest_set *s, const uint8_t key[32])
{
	size_t i;

	return s && find(s, key, &i);
}

int digest_set_add(struct digest_set *s, const uint8_t key[32])
{
	size_t i;

	if (find(s, key, &i))
		return 0;
	/* Load factor at most 1/2: short probe runs. */
	if ((s->n + 1) * 2 > s->cap) {
		int r = grow(s);
		if (r < 0)
			return r;
	}
	insert_unchecked(s, key);
	return 1;
}

int digest_set_remove(struct digest_set *s, const uint8_t key[32])
{
	size_t i, j;

	if (!find(s, key, &i))
		return 0;
	s->used[i / 8] &= (uint8_t)~(1u << (i % 8));
	s->n--;
	/* Linear probing: re-place the rest of the run so lookups still find it. */
	for (j = (i + 1) & (s->cap - 1); slot_used(s, j); j = (j + 1) & (s->cap - 1)) {
		uint8_t key_j[32];

		memcpy(key_j, s->keys[j], 32);
		s->used[j / 8] &= (uint8_t)~(1u << (j % 8));
		s->n--;
		insert_unchecked(s, key_j);
	}
	return 1;
}

void digest_set_release(struct digest_set *s)
{
	free(s->keys);
	free(s->used);
	*s = (struct digest_set){};
}

/* ---- names --------------------------------------------------------------- */

int parse_object_name(const char *fanout, const char *name, uint8_t ret[32])
{
	uint8_t d[32];

	if (strlen(fanout) != 2 || strlen(name) != OBJECT_NAME_LEN || hex_decode_lower(fanout, 2, d, 1) < 0 ||
	    hex_decode_lower(name, OBJECT_NAME_LEN, d + 1, OBJECT_NAME_LEN / 2) < 0)
		return -EINVAL;
	memcpy(ret, d, 32);
	return 0;
}

int parse_object_payload(const char *payload, uint8_t ret[32])
{
	if (strlen(payload) != 2 + 1 + OBJECT_NAME_LEN || payload[2] != '/')
		return -EINVAL;
	char fanout[3] = { payload[0], payload[1], 0 };
	return parse_object_name(fanout, payload + 3, ret);
}

int errf_wrap(int r, const char *fmt, ...)
{
	char context[512], inner[1024];
	const char *d = st_error_detail();
	va_list ap;

	(void)snprintf(inner, sizeof(inner), "%s", d ? d : "");
	va_start(ap, fmt);
	(void)vsnprintf(context, sizeof(context), fmt, ap);
	va_end(ap);
	if (inner[0])
		return st_errf(r, "%s: %s", context, inner);
	return st_errf(r, "%s", context);
}

const char *hex32(const uint8_t key[32], char buf[65])
{
	st_hex_encode(key, 32, buf);
	return buf;
}

/* ---- tree walk ----------------------------------------------------------- */

int tree_for_each_object_file(struct st_node *root, tree_file_fn fn, void *userdata)
{
	_cleanup_free_ struct st_node **stack = NULL;
	size_t n = 0, cap = 0;
	int r;

	r = GROW(stack, cap, 1);
	if (r < 0)
		return r;
	stack[n++] = root;
	while (n > 0) {
		struct st_node *node = stack[--n];

		if (node->link_target)
			continue; /* the target is visited where it lives */
		if (node_is_reg(node) && !node->content && node->size > 0) {
			r = fn(userdata, node);
			if (r < 0)
				return r;
		}
		if (node_is_dir(node) && node->n_children > 0) {
			size_t need;

			if (ADD_OVERFLOW(n, node->n_children, &need))
				return -ENOMEM;
			r = GROW(stack, cap, need);
			if (r < 0)
				return r;
			for (size_t i = node->n_children; i > 0; i--)
				stack[n++] = node->children[i - 1];
		}
	}
	return 0;
}

/* ---- directories --------------------------------------------------------- */

void name_list_free(struct name_entry *list, size_t n)
{
	if (!list)
		return;
	for (size_t i = 0; i < n; i++)
		free(list[i].name);
	free(list);
}

int list_dir(int dirfd, const char *path, struct name_entry **ret, size_t *ret_n)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct name_entry *list = NULL;
	struct dirent *de;
	size_t n = 0, cap = 0;
	int r;

	r = opendir_beneath(dirfd, path, &d);
	if (r < 0)
		return r;
	while ((r = readdir_next(d, &de)) > 0) {
		r = GROW(list, cap, n + 1);
		if (r < 0)
			break;
		list[n].name = strdup(de->d_name);
		if (!list[n].name) {
			r = -ENOMEM;
			break;
		}
		list[n++].type = de->d_type;
	}
	if (r < 0) {
		name_list_free(list, n);
		return r;
	}
	*ret = list;
	*ret_n = n;
	return 0;
}

/* 1 if /proc/self/fdinfo says fd holds an exclusive flock, 0 if not, -errno without /proc. */
static int fdinfo_has_write_flock(int fd)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	char path[64];
	size_t cap = 0;

	(void)snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return negative_errno();
	while (getline(&line, &cap, f) > 0)
		if (strncmp(line, "lock:", 5) == 0 && strstr(line, " FLOCK ") && strstr(line, " WRITE "))
			return 1;
	return 0;
}

int repo_check_exclusive(struct st_repo *repo)
{
	_cleanup_close_ int probe = -EBADF;
	int r;

	if (repo->lock_fd < 0)
		return st_errf(-ENOLCK, "repository '%s' is not locked exclusively", repo->path);
	/* The kernel lists the flocks an open file holds; nothing is changed by looking. */
	r = fdinfo_has_write_flock(repo->lock_fd);
	if (r >= 0)
		return r > 0 ? 0 : st_errf(-ENOLCK, "repository '%s' is not locked exclusively", repo->path);
	/*
	 * No /proc: a second open file description can take a shared lock
	 * unless someone holds the exclusive one, which, as we hold the lock
	 * in some mode, is us.
	 */
	probe = openat(repo->dir_fd, REPO_LOCK_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (probe < 0)
		return st_errf(negative_errno(), "cannot open '%s/%s'", repo->path, REPO_LOCK_FILE);
	if (flock(probe, LOCK_SH | LOCK_NB) == 0)
		return st_errf(-ENOLCK, "repository '%s' is not locked exclusively", repo->path);
	return 0;
}
