/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the maintenance code: the digest set, name parsing, the tree
 * walk, and gc/prune/fsck through the API (lock rules, what they keep).
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/test-util.h"
#include "basic/test.h"
#include "repo/maint-internal.h"
#include "sealtree/repo-maint.h"
#include "tree/tree-internal.h"

static void key_of(uint32_t i, uint8_t key[32])
{
	/* Spread like digests, but deterministic: a cheap integer mix in every word. */
	for (unsigned w = 0; w < 8; w++) {
		uint32_t x = i * 0x9e3779b1u + w * 0x85ebca6bu;

		x ^= x >> 16;
		x *= 0x7feb352du;
		x ^= x >> 15;
		memcpy(key + 4 * w, &x, 4);
	}
}

TEST(digest_set_add_contains_remove)
{
	struct digest_set s = {};
	uint8_t k[32], zero[32] = {};

	ASSERT_TRUE(!digest_set_contains(&s, zero));
	for (uint32_t i = 0; i < 20000; i++) {
		key_of(i, k);
		ASSERT_EQ(digest_set_add(&s, k), 1);
	}
	ASSERT_EQ(s.n, 20000);
	ASSERT_EQ(digest_set_add(&s, zero), 1);
	ASSERT_EQ(digest_set_add(&s, zero), 0);
	for (uint32_t i = 0; i < 20000; i++) {
		key_of(i, k);
		ASSERT_EQ(digest_set_add(&s, k), 0);
	}
	/* Remove every third key; the others must still be found (the probe runs are repaired). */
	for (uint32_t i = 0; i < 20000; i += 3) {
		key_of(i, k);
		ASSERT_EQ(digest_set_remove(&s, k), 1);
		ASSERT_EQ(digest_set_remove(&s, k), 0);
	}
	for (uint32_t i = 0; i < 20000; i++) {
		key_of(i, k);
		ASSERT_EQ(digest_set_contains(&s, k), i % 3 != 0);
	}
	for (uint32_t i = 20000; i < 20100; i++) {
		key_of(i, k);
		ASSERT_TRUE(!digest_set_contains(&s, k));
	}
	ASSERT_TRUE(digest_set_contains(&s, zero));
	ASSERT_EQ(s.n, 20000 - 6667 + 1);
	digest_set_release(&s);
	ASSERT_EQ(s.cap, 0);
}

TEST(digest_set_colliding_slots)
{
	struct digest_set s = {};
	uint8_t k[32] = {};

	/* Same bytes where the slot comes from: all in one probe run. */
	for (uint32_t i = 0; i < 300; i++) {
		memcpy(k, &i, sizeof(i));
		ASSERT_EQ(digest_set_add(&s, k), 1);
	}
	for (uint32_t i = 0; i < 300; i += 2) {
		memcpy(k, &i, sizeof(i));
		ASSERT_EQ(digest_set_remove(&s, k), 1);
	}
	for (uint32_t i = 0; i < 300; i++) {
		memcpy(k, &i, sizeof(i));
		ASSERT_EQ(digest_set_contains(&s, k), i % 2 == 1);
	}
	digest_set_release(&s);
}

TEST(names)
{
	static const char name[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd";
	uint8_t d[32];
	char hex[65];

	ASSERT_EQ(strlen(name), OBJECT_NAME_LEN);
	ASSERT_OK(parse_object_name("ab", name, d));
	ASSERT_EQ(d[0], 0xab);
	ASSERT_EQ(d[1], 0x01);
	ASSERT_EQ(d[31], 0xcd);
	ASSERT_STREQ(hex32(d, hex), "ab0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd");
	ASSERT_ERR(parse_object_name("AB", name, d), -EINVAL);
	ASSERT_ERR(parse_object_name("a", name, d), -EINVAL);
	ASSERT_ERR(parse_object_name("abc", name, d), -EINVAL);
	ASSERT_ERR(parse_object_name("ab", "0123", d), -EINVAL);
	ASSERT_ERR(parse_object_name("ab", "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcd", d), -EINVAL);
	ASSERT_ERR(parse_object_name("ab", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", d), -EINVAL);

	ASSERT_OK(parse_object_payload("ab/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd", d));
	ASSERT_EQ(d[0], 0xab);
	ASSERT_ERR(parse_object_payload("/ab/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd", d), -EINVAL);
	ASSERT_ERR(parse_object_payload("ab0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd", d), -EINVAL);
	ASSERT_ERR(parse_object_payload("ab/x", d), -EINVAL);
	ASSERT_ERR(parse_object_payload("", d), -EINVAL);

	ASSERT_TRUE(hex_decode_lower("00ff", 4, d, 2) == 0);
	ASSERT_TRUE(hex_decode_lower("00f", 3, d, 1) < 0);
	ASSERT_TRUE(hex_decode_lower("00f", 4, d, 2) < 0); /* shorter than said */
	ASSERT_TRUE(hex_decode_lower("00ff.sig", 4, d, 2) == 0); /* a prefix */
	ASSERT_TRUE(hex_decode_lower("00Ff", 4, d, 2) < 0);
	ASSERT_TRUE(is_temp_name(".tmp-1-2"));
	ASSERT_TRUE(!is_temp_name("ab"));
}

static int count_file(void *userdata, struct st_node *node)
{
	size_t *n = userdata;

	(*n)++;
	return strcmp(node->name, "stop") == 0 ? -ECANCELED : 0;
}

static struct st_node *add(struct st_node *dir, const char *name, uint32_t mode)
{
	struct st_node *n = NULL;

	if (st_node_new(&n) < 0)
		return NULL;
	n->mode = mode;
	if (node_add_child(dir, n, name, strlen(name)) < 0) {
		st_node_free(n);
		return NULL;
	}
	return n;
}

TEST(tree_walk_visits_object_files_once)
{
	struct st_node *root = NULL, *dir, *f, *alias, *inl;
	size_t n = 0;

	ASSERT_OK(st_node_new(&root));
	root->mode = S_IFDIR | 0755;
	dir = add(root, "d", S_IFDIR | 0755);
	ASSERT_TRUE(dir);
	f = add(dir, "file", S_IFREG | 0644);
	ASSERT_TRUE(f);
	f->has_digest = true;
	f->size = 10;
	ASSERT_OK(node_set_payload(f, "ab/cd", 5));
	alias = add(root, "alias", S_IFREG | 0644);
	ASSERT_TRUE(alias);
	ASSERT_OK(node_set_link_target(alias, f));
	inl = add(root, "inline", S_IFREG | 0644);
	ASSERT_TRUE(inl);
	ASSERT_OK(node_set_content(inl, "hi", 2));
	ASSERT_TRUE(add(root, "empty", S_IFREG | 0644));
	ASSERT_TRUE(add(root, "link", S_IFLNK | 0777));

	ASSERT_OK(tree_for_each_object_file(root, count_file, &n));
	ASSERT_EQ(n, 1); /* the file, not its alias, the inline file, the empty file or the symlink */

	f = add(root, "stop", S_IFREG | 0644);
	ASSERT_TRUE(f);
	f->size = 1;            /* external even without payload or digest */
	n = 0;
	ASSERT_ERR(tree_for_each_object_file(root, count_file, &n), -ECANCELED);
	st_node_free(root);
}

/* ---- through the API ----------------------------------------------------- */

/* A tree of one directory with one regular file whose object holds `fill` bytes. */
static int small_tree(struct st_repo *repo, char fill, struct st_node **ret)
{
	char path[300], data[1000];

	memset(data, fill, sizeof(data));
	(void)snprintf(path, sizeof(path), "%s/src-%c", test_tmpdir(), fill);
	(void)mkdir(path, 0755);
	(void)snprintf(path, sizeof(path), "%s/src-%c/file", test_tmpdir(), fill);
	test_write_file(path, data, sizeof(data));
	(void)snprintf(path, sizeof(path), "%s/src-%c", test_tmpdir(), fill);
	return st_repo_import_directory(repo, path, NULL, ret);
}

static int commit_small(struct st_repo *repo, const char *ref, char fill, uint8_t id[32])
{
	struct st_commit_options o = { .ref = ref, .has_timestamp = true, .timestamp = 1000 + fill };
	struct st_node *root = NULL;
	int r;

	r = small_tree(repo, fill, &root);
	if (r >= 0)
		r = st_repo_commit_tree(repo, root, &o, id, NULL);
	st_node_free(root);
	return r;
}

static int read_commit_ok(struct st_repo *repo, const uint8_t id[32])
{
	struct st_commit *c = NULL;
	int r = st_repo_read_commit(repo, id, &c);

	st_commit_free(c);
	return r;
}

static void count_problem(void *userdata, const struct st_fsck_problem *p)
{
	unsigned *n = userdata;

	if (p->severity == ST_FSCK_ERROR)
		(*n)++;
}

TEST(api_gc_prune_fsck)
{
	struct st_repo *repo = NULL, *other = NULL;
	struct st_gc_stats gs;
	struct st_prune_stats ps;
	uint8_t a[32], b[32], c[32], x[32];
	unsigned errors = 0;
	struct st_fsck_options fo = { .report = count_problem, .userdata = &errors };
	char path[300];

	(void)snprintf(path, sizeof(path), "%s/repo", test_tmpdir());
	ASSERT_OK(st_repo_init(path, ST_REPO_VERITY_OFF, &repo));
	ASSERT_OK(commit_small(repo, "main", 'a', a));
	ASSERT_OK(commit_small(repo, "main", 'b', b));
	ASSERT_OK(commit_small(repo, "main", 'c', c));
	ASSERT_OK(commit_small(repo, "gone", 'x', x));
	ASSERT_OK(st_repo_delete_ref(repo, "gone"));

	/* gc and prune need the exclusive lock; fsck --repair too. */
	ASSERT_ERR(st_repo_gc(repo, 0, NULL), -ENOLCK);
	ASSERT_OK(st_repo_lock_shared(repo, true));
	ASSERT_ERR(st_repo_gc(repo, 0, NULL), -ENOLCK);
	ASSERT_ERR(st_repo_prune(repo, "main", 1, 0, NULL), -ENOLCK);
	fo.flags = ST_FSCK_REPAIR;
	ASSERT_ERR(st_repo_fsck(repo, &fo), -ENOLCK);
	/* ... and the failed check left the shared lock in place: another handle cannot take it exclusively. */
	ASSERT_OK(st_repo_open(path, &other));
	ASSERT_ERR(st_repo_lock_exclusive(other, false), -EWOULDBLOCK);
	st_repo_unlock(repo);
	ASSERT_OK(st_repo_lock_exclusive(repo, true));

	ASSERT_OK(st_repo_gc(repo, ST_GC_DRY_RUN, &gs));
	ASSERT_EQ(gs.commits_removed, 1);
	ASSERT_EQ(gs.objects_removed, 1);
	ASSERT_EQ(gs.commits_kept, 3);
	ASSERT_OK(st_repo_gc(repo, 0, &gs));
	ASSERT_EQ(gs.commits_removed, 1);
	ASSERT_EQ(gs.images_removed, 1);
	ASSERT_EQ(gs.objects_removed, 1);
	ASSERT_EQ(gs.object_bytes_removed, 1000);
	ASSERT_ERR(read_commit_ok(repo, x), -ENOENT);

	ASSERT_ERR(st_repo_prune(repo, "main", 0, 0, NULL), -EINVAL);
	ASSERT_OK(st_repo_prune(repo, "main", 2, 0, &ps));
	ASSERT_EQ(ps.commits_kept, 2);
	ASSERT_EQ(ps.commits_dropped, 1);
	ASSERT_EQ(ps.commits_shared, 0);
	ASSERT_EQ(ps.gc.commits_removed, 1);
	ASSERT_ERR(read_commit_ok(repo, a), -ENOENT);
	ASSERT_OK(read_commit_ok(repo, b));
	ASSERT_OK(read_commit_ok(repo, c));

	/* fsck: clean, with a note for the pruned parent of b. */
	fo.flags = 0;
	ASSERT_OK(st_repo_fsck(repo, &fo));
	ASSERT_EQ(errors, 0);
	ASSERT_EQ(fo.counts[ST_FSCK_ERROR], 0);
	ASSERT_EQ(fo.counts[ST_FSCK_NOTE], 1);
	ASSERT_EQ(fo.commits_checked, 2);
	ASSERT_EQ(fo.objects_checked, 2);
	ASSERT_EQ(fo.object_bytes, 2000);
	ASSERT_EQ(fo.refs_checked, 1);
	st_repo_free(other);
	st_repo_free(repo);
}

TEST_MAIN()
