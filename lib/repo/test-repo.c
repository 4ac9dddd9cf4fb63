/* SPDX-License-Identifier: MIT */
/* Unit tests for the repository core: init/open, refs, resolve, commits of trees. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/hex.h"
#include "basic/test-util.h"
#include "basic/test.h"
#include "repo-internal.h"
#include "sealtree/repo-objects.h"
#include "sealtree/repo.h"
#include "tree/tree-internal.h"

static char *path_in(const char *name)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", test_tmpdir(), name);
	return buf[i];
}

TEST(init_and_open)
{
	struct st_repo *repo = NULL;
	char p[256];

	snprintf(p, sizeof(p), "%s", path_in("r1"));

	ASSERT_OK(st_repo_init(p, ST_REPO_VERITY_OFF, &repo));
	ASSERT_TRUE(!st_repo_has_verity(repo));
	ASSERT_STREQ(st_repo_path(repo), p);
	ASSERT_TRUE(st_repo_dirfd(repo) >= 0);
	st_repo_free(repo);
	repo = NULL;
	ASSERT_ERR(st_repo_init(p, ST_REPO_VERITY_OFF, NULL), -EEXIST);
	ASSERT_OK(st_repo_open(p, &repo));
	st_repo_free(repo);

	/* A directory with something else in it is refused. */
	mkdir(path_in("full"), 0755);
	test_write_string(path_in("full/x"), "x");
	ASSERT_ERR(st_repo_init(path_in("full"), ST_REPO_VERITY_OFF, NULL), -ENOTEMPTY);
	ASSERT_ERR(st_repo_open(path_in("full"), &repo), -ENOENT);

	/* An interrupted init (skeleton, no config) is no repository, and init finishes it. */
	mkdir(path_in("half"), 0755);
	mkdir(path_in("half/objects"), 0755);
	ASSERT_ERR(st_repo_open(path_in("half"), &repo), -ENOENT);
	ASSERT_OK(st_repo_init(path_in("half"), ST_REPO_VERITY_OFF, NULL));
}

TEST(config_versions)
{
	struct st_repo *repo = NULL;
	char p[256];

	snprintf(p, sizeof(p), "%s", path_in("r2"));

	ASSERT_OK(st_repo_init(p, ST_REPO_VERITY_AUTO, NULL));
	test_write_string(path_in("r2/config"), "format-version=2\nverity=no\n");
	ASSERT_ERR(st_repo_open(p, &repo), -EOPNOTSUPP);
	test_write_string(path_in("r2/config"), "format-version=1\nverity=maybe\n");
	ASSERT_ERR(st_repo_open(p, &repo), -EUCLEAN);
	test_write_string(path_in("r2/config"), "format-version=1\n");
	ASSERT_ERR(st_repo_open(p, &repo), -EUCLEAN);
	test_write_string(path_in("r2/config"), "format-version=1\nverity=no\nfuture-key=1\n");
	ASSERT_OK(st_repo_open(p, &repo));
	st_repo_free(repo);
}

TEST(lock_modes)
{
	struct st_repo *a = NULL, *b = NULL;
	char p[256];

	snprintf(p, sizeof(p), "%s", path_in("r3"));

	ASSERT_OK(st_repo_init(p, ST_REPO_VERITY_OFF, &a));
	ASSERT_OK(st_repo_open(p, &b));
	ASSERT_OK(st_repo_lock_shared(a, false));
	ASSERT_OK(st_repo_lock_shared(b, false));
	st_repo_unlock(b);
	ASSERT_ERR(st_repo_lock_exclusive(b, false), -EWOULDBLOCK);
	st_repo_unlock(a);
	ASSERT_OK(st_repo_lock_exclusive(b, false));
	ASSERT_ERR(st_repo_lock_shared(a, false), -EWOULDBLOCK);
	st_repo_free(a);
	st_repo_free(b);
}

TEST(ref_names)
{
	ASSERT_TRUE(st_ref_name_valid("main"));
	ASSERT_TRUE(st_ref_name_valid("os/x86_64/v1.2+build-3"));
	ASSERT_TRUE(st_ref_name_valid("refs/mounts/abc"));
	ASSERT_TRUE(!st_ref_name_valid(""));
	ASSERT_TRUE(!st_ref_name_valid("/main"));
	ASSERT_TRUE(!st_ref_name_valid("main/"));
	ASSERT_TRUE(!st_ref_name_valid("a//b"));
	ASSERT_TRUE(!st_ref_name_valid(".hidden"));
	ASSERT_TRUE(!st_ref_name_valid("a/../b"));
	ASSERT_TRUE(!st_ref_name_valid("a b"));
	ASSERT_TRUE(!st_ref_name_valid("a~1"));
	ASSERT_TRUE(!st_ref_name_valid("a^"));
	ASSERT_TRUE(!st_ref_name_valid("refs"));
	ASSERT_TRUE(!st_ref_name_valid("refs/heads"));
	char longname[300];
	memset(longname, 'a', sizeof(longname));
	longname[ST_REF_NAME_MAX] = '\0';
	ASSERT_TRUE(st_ref_name_valid(longname));
	longname[ST_REF_NAME_MAX] = 'a';
	longname[ST_REF_NAME_MAX + 1] = '\0';
	ASSERT_TRUE(!st_ref_name_valid(longname));
}

static void canon_is(const char *name, const char *want)
{
	char got[ST_REF_NAME_MAX + 1];

	ASSERT_OK(st_ref_canonicalize(name, got));
	ASSERT_STREQ(got, want);
}

TEST(ref_canonical_names)
{
	static const char hex[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	static const char HEX[] = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF";
	char buf[600], got[ST_REF_NAME_MAX + 1];

	/* One spelling per ref: refs/heads/NAME is NAME, other namespaces stay in full. */
	canon_is("main", "main");
	canon_is("refs/heads/main", "main");
	canon_is("refs/heads/os/stable", "os/stable");
	canon_is("refs/mounts/mnt/x", "refs/mounts/mnt/x");
	canon_is("refs/remotes/origin/main", "refs/remotes/origin/main");
	canon_is("mounts/x", "mounts/x");       /* a branch, not refs/mounts/x */

	/* Off the grammar: refused, never rewritten. */
	static const char *const bad[] = {
		"main/", "./main", "main/.", "a//b", "a/../b", "/main", "refs/heads/", "refs/heads//main",
		"refs/heads/./main", "heads/main", "heads", "refs/heads/heads/main", "refs/heads/refs/heads/main",
		"refs/heads/refs/mounts/x", "refs/heads/refs", "refs", "refs/x", "refs/heads", "ma\nin", "m\xc3\xa9",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_ERR(st_ref_canonicalize(bad[i], got), -EINVAL);
		ASSERT_TRUE(!st_ref_name_valid(bad[i]));
	}
	ASSERT_ERR(st_ref_canonicalize(NULL, got), -EINVAL);

	/* A full commit id is never a ref, in any case or spelling; other hex names are. */
	ASSERT_ERR(st_ref_canonicalize(hex, got), -EINVAL);
	ASSERT_ERR(st_ref_canonicalize(HEX, got), -EINVAL);
	snprintf(buf, sizeof(buf), "refs/heads/%s", hex);
	ASSERT_ERR(st_ref_canonicalize(buf, got), -EINVAL);
	snprintf(buf, sizeof(buf), "os/%s", hex);
	canon_is(buf, buf);
	snprintf(buf, sizeof(buf), "refs/mounts/%s", hex);
	canon_is(buf, buf);
	canon_is("cafe", "cafe");
	snprintf(buf, sizeof(buf), "%.63s", hex);
	canon_is(buf, buf);
	snprintf(buf, sizeof(buf), "%sa", hex);
	canon_is(buf, buf);

	/* Length: 255 bytes of canonical name, whichever spelling. */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, "refs/heads/", 11);
	memset(buf + 11, 'a', ST_REF_NAME_MAX);
	canon_is(buf, buf + 11);
	buf[11 + ST_REF_NAME_MAX] = 'a';
	ASSERT_ERR(st_ref_canonicalize(buf, got), -EINVAL);

	/* Depth: ST_REF_DEPTH_MAX components of refs/<namespace>/..., whichever spelling. */
	size_t n = 0;
	for (int i = 0; i < ST_REF_DEPTH_MAX - 2; i++) {
		buf[n++] = 'd';
		buf[n++] = '/';
	}
	buf[n - 1] = '\0';
	ASSERT_OK(st_ref_canonicalize(buf, got));
	buf[n - 1] = '/';
	buf[n] = 'd';
	buf[n + 1] = '\0';
	ASSERT_ERR(st_ref_canonicalize(buf, got), -EINVAL);
	ASSERT_TRUE(strstr(st_error_message(-EINVAL), "deeper than") != NULL);
	memmove(buf + 11, buf, n + 2);
	memcpy(buf, "refs/heads/", 11);
	ASSERT_ERR(st_ref_canonicalize(buf, got), -EINVAL);
	memcpy(buf, "refs/xxxxx/", 11);
	ASSERT_ERR(st_ref_canonicalize(buf, got), -EINVAL);
	memcpy(buf, "refs/xxxxx", 10);
	buf[n + 10] = '\0';        /* refs/xxxxx/ + 30 components */
	ASSERT_OK(st_ref_canonicalize(buf, got));
}

static void commit_with_ts(struct st_repo *repo, int64_t ts, const uint8_t *parent, uint8_t id[32])
{
	struct st_commit c = { .timestamp = ts };

	if (parent) {
		c.has_parent = true;
		memcpy(c.parent, parent, 32);
	}
	if (st_repo_write_commit(repo, &c, id) < 0)
		memset(id, 0, 32);
}

TEST(refs_and_resolve)
{
	struct st_repo *repo = NULL;
	uint8_t a[32], b[32], c[32], got[32], x[32];
	struct st_ref *refs = NULL;
	size_t n = 0;
	char hex[65], spec[80];

	ASSERT_OK(st_repo_init(path_in("r4"), ST_REPO_VERITY_OFF, &repo));
	commit_with_ts(repo, 1, NULL, a);
	commit_with_ts(repo, 2, a, b);
	commit_with_ts(repo, 3, b, c);

	ASSERT_ERR(st_repo_read_ref(repo, "main", got), -ENOENT);
	ASSERT_OK(st_repo_write_ref(repo, "main", c, NULL));
	ASSERT_OK(st_repo_read_ref(repo, "main", got));
	ASSERT_MEMEQ(got, c, 32);
	ASSERT_OK(st_repo_write_ref(repo, "dev/topic", a, NULL));
	ASSERT_OK(st_repo_write_ref(repo, "refs/mounts/m1", b, NULL));

	/* Compare-and-swap. */
	ASSERT_ERR(st_repo_write_ref(repo, "main", a, b), -ESTALE);
	ASSERT_OK(st_repo_read_ref(repo, "main", got));
	ASSERT_MEMEQ(got, c, 32);
	ASSERT_OK(st_repo_write_ref(repo, "main", b, c));
	ASSERT_ERR(st_repo_write_ref(repo, "nothere", a, b), -ENOENT);
	ASSERT_ERR(repo_write_ref_cas(repo, "main", a, NULL, true), -ESTALE);
	ASSERT_OK(st_repo_write_ref(repo, "main", c, NULL));
	/* A ref to a commit that is not stored is refused. */
	memset(x, 0x5a, 32);
	ASSERT_ERR(st_repo_write_ref(repo, "bad", x, NULL), -ENOENT);
	/* A file where a directory should be. */
	ASSERT_ERR(st_repo_write_ref(repo, "main/sub", a, NULL), -EEXIST);
	ASSERT_ERR(st_repo_write_ref(repo, "dev", a, NULL), -EEXIST);
	ASSERT_ERR(st_repo_write_ref(repo, "a b", a, NULL), -EINVAL);

	ASSERT_OK(st_repo_list_refs(repo, false, &refs, &n));
	ASSERT_EQ(n, 2);
	if (n == 2) {
		ASSERT_STREQ(refs[0].name, "dev/topic");
		ASSERT_STREQ(refs[1].name, "main");
	}
	st_ref_list_free(refs, n);
	ASSERT_OK(st_repo_list_refs(repo, true, &refs, &n));
	ASSERT_EQ(n, 3);
	if (n == 3)
		ASSERT_STREQ(refs[2].name, "refs/mounts/m1");
	st_ref_list_free(refs, n);

	/* Resolve. */
	ASSERT_OK(st_repo_resolve(repo, "main", got));
	ASSERT_MEMEQ(got, c, 32);
	ASSERT_OK(st_repo_resolve(repo, "main^", got));
	ASSERT_MEMEQ(got, b, 32);
	ASSERT_OK(st_repo_resolve(repo, "main~2", got));
	ASSERT_MEMEQ(got, a, 32);
	ASSERT_OK(st_repo_resolve(repo, "main^~", got));
	ASSERT_MEMEQ(got, a, 32);
	ASSERT_OK(st_repo_resolve(repo, "main~0", got));
	ASSERT_MEMEQ(got, c, 32);
	ASSERT_ERR(st_repo_resolve(repo, "main~3", got), -ENOENT);
	ASSERT_ERR(st_repo_resolve(repo, "main~x", got), -EINVAL);
	ASSERT_ERR(st_repo_resolve(repo, "main~01", got), -EINVAL);
	ASSERT_ERR(st_repo_resolve(repo, "~1", got), -EINVAL);
	ASSERT_ERR(st_repo_resolve(repo, "nosuchref", got), -ENOENT);
	st_hex_encode(b, 32, hex);
	ASSERT_OK(st_repo_resolve(repo, hex, got));
	ASSERT_MEMEQ(got, b, 32);
	snprintf(spec, sizeof(spec), "%.6s~1", hex);
	ASSERT_OK(st_repo_resolve(repo, spec, got));
	ASSERT_MEMEQ(got, a, 32);
	for (int i = 0; i < 6; i++)
		spec[i] = (char)(spec[i] >= 'a' ? spec[i] - 'a' + 'A' : spec[i]);
	ASSERT_OK(st_repo_resolve(repo, spec, got));
	ASSERT_MEMEQ(got, a, 32);
	snprintf(spec, sizeof(spec), "%.3s", hex);
	ASSERT_TRUE(st_repo_resolve(repo, spec, got) < 0);

	/* A ref never shadows a commit: not a full id, not another commit's prefix. */
	{
		char *ref = NULL, full[120];

		ASSERT_ERR(st_repo_write_ref(repo, hex, a, NULL), -EINVAL);
		snprintf(spec, sizeof(spec), "%.8s", hex);
		ASSERT_OK(st_repo_write_ref(repo, spec, a, NULL));       /* "b's prefix" as a ref is a */
		ASSERT_ERR(st_repo_resolve(repo, spec, got), -ENOTUNIQ);
		snprintf(full, sizeof(full), "refs/heads/%s", spec);
		ASSERT_OK(st_repo_resolve_ref(repo, full, got, &ref));
		ASSERT_MEMEQ(got, a, 32);
		ASSERT_STREQ(ref, spec);
		free(ref);
		ASSERT_OK(st_repo_write_ref(repo, spec, b, NULL));       /* both name b: no ambiguity */
		ASSERT_OK(st_repo_resolve(repo, spec, got));
		ASSERT_MEMEQ(got, b, 32);
		ASSERT_OK(st_repo_delete_ref(repo, full));
		ASSERT_OK(st_repo_resolve_ref(repo, "refs/heads/main", got, &ref));
		ASSERT_STREQ(ref, "main");
		free(ref);
		ASSERT_OK(st_repo_resolve_ref(repo, "main^", got, &ref));
		ASSERT_TRUE(ref == NULL);
		ASSERT_OK(st_repo_resolve_ref(repo, hex, got, &ref));
		ASSERT_TRUE(ref == NULL);
	}

	/* An ambiguous prefix: make commits until two share 4 hex digits. */
	{
		uint8_t ids[3000][32];
		bool found = false;

		for (int i = 0; i < 3000 && !found; i++) {
			commit_with_ts(repo, 1000 + i, NULL, ids[i]);
			for (int j = 0; j < i && !found; j++)
				if (ids[i][0] == ids[j][0] && ids[i][1] == ids[j][1]) {
					st_hex_encode(ids[i], 2, spec);
					ASSERT_ERR(st_repo_resolve(repo, spec, got), -ENOTUNIQ);
					found = true;
				}
		}
		ASSERT_TRUE(found);
	}

	ASSERT_OK(st_repo_delete_ref(repo, "dev/topic"));
	ASSERT_ERR(st_repo_delete_ref(repo, "dev/topic"), -ENOENT);
	ASSERT_OK(st_repo_write_ref(repo, "dev", a, NULL));      /* dev/ was removed with its last ref */
	st_repo_free(repo);
}

/* Processes racing to append to one ref with compare-and-swap lose no update. */
TEST(cas_between_processes)
{
	enum { PROCS = 4, EACH = 15 };
	struct st_repo *repo = NULL;
	uint8_t root[32], id[32];
	char p[256];
	pid_t pids[PROCS];
	unsigned n = 0;

	snprintf(p, sizeof(p), "%s", path_in("r6"));
	ASSERT_OK(st_repo_init(p, ST_REPO_VERITY_OFF, &repo));
	commit_with_ts(repo, 1, NULL, root);
	ASSERT_OK(st_repo_write_ref(repo, "main", root, NULL));
	st_repo_free(repo);

	for (int i = 0; i < PROCS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct st_repo *r = NULL;
			int done = 0, ts = 1000 * (i + 1);

			if (st_repo_open(p, &r) < 0)
				_exit(1);
			while (done < EACH) {
				uint8_t cur[32], next[32];
				int rr;

				if (st_repo_read_ref(r, "main", cur) < 0)
					_exit(1);
				commit_with_ts(r, ts++, cur, next);
				rr = st_repo_write_ref(r, "main", next, cur);
				if (rr == 0)
					done++;
				else if (rr != -ESTALE)
					_exit(1);
			}
			st_repo_free(r);
			_exit(0);
		}
	}
	for (int i = 0; i < PROCS; i++) {
		int status = 0;

		ASSERT_TRUE(pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i]);
		ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	/* The chain from the ref back to the root has every update. */
	ASSERT_OK(st_repo_open(p, &repo));
	ASSERT_OK(st_repo_read_ref(repo, "main", id));
	for (;;) {
		struct st_commit *c = NULL;

		if (memcmp(id, root, 32) == 0)
			break;
		ASSERT_OK(st_repo_read_commit(repo, id, &c));
		ASSERT_TRUE(c->has_parent);
		memcpy(id, c->parent, 32);
		st_commit_free(c);
		n++;
	}
	ASSERT_EQ(n, PROCS * EACH);
	st_repo_free(repo);
}

static struct st_node *add_node(struct st_node *parent, const char *name, uint32_t mode)
{
	struct st_node *n = NULL;

	if (st_node_new(&n) < 0)
		return NULL;
	n->mode = mode;
	n->uid = 1000;
	n->gid = 1001;
	if (parent && node_add_child(parent, n, name, strlen(name)) < 0) {
		st_node_free(n);
		return NULL;
	}
	return n;
}

TEST(import_transforms)
{
	struct st_import_options canon = { .flags = ST_IMPORT_CANONICAL_PERMISSIONS };
	struct st_import_options uid_only = { .flags = ST_IMPORT_SET_UID, .owner_uid = 7 };
	struct st_import_options both = { .flags = ST_IMPORT_CANONICAL_PERMISSIONS | ST_IMPORT_SET_OWNER,
					  .owner_uid = 5, .owner_gid = 6 };
	struct st_node *root = add_node(NULL, NULL, S_IFDIR | 0700);
	struct st_node *exe = add_node(root, "exe", S_IFREG | 04710);
	struct st_node *plain = add_node(root, "plain", S_IFREG | 0600);
	struct st_node *dir = add_node(root, "dir", S_IFDIR | 01777);
	struct st_node *lnk = add_node(root, "lnk", S_IFLNK | 0777);
	struct st_node *dev = add_node(root, "dev", S_IFCHR | 02660);
	struct st_node *alias = NULL;

	ASSERT_TRUE(root && exe && plain && dir && lnk && dev);
	ASSERT_OK(st_node_new(&alias));
	ASSERT_OK(node_add_child(dir, alias, "hl", 2));
	ASSERT_OK(node_set_link_target(alias, plain));

	repo_tree_apply_import_options(root, &uid_only);
	ASSERT_EQ(exe->uid, 7);
	ASSERT_EQ(exe->gid, 1001);
	ASSERT_EQ(exe->mode, S_IFREG | 04710);

	repo_tree_apply_import_options(root, &canon);
	ASSERT_EQ(root->mode, S_IFDIR | 0755);
	ASSERT_EQ(exe->mode, S_IFREG | 0755);
	ASSERT_EQ(plain->mode, S_IFREG | 0644);
	ASSERT_EQ(dir->mode, S_IFDIR | 0755);
	ASSERT_EQ(lnk->mode, S_IFLNK | 0777);
	ASSERT_EQ(dev->mode, S_IFCHR | 0660);
	ASSERT_EQ(exe->uid, 0);
	ASSERT_EQ(dev->gid, 0);
	ASSERT_EQ(alias->mode, 0);      /* an alias has no metadata of its own */

	repo_tree_apply_import_options(root, &both);
	ASSERT_EQ(plain->uid, 5);
	ASSERT_EQ(plain->gid, 6);
	ASSERT_EQ(root->uid, 5);
	st_node_free(root);
}

TEST(commit_a_tree)
{
	struct st_repo *repo = NULL;
	struct st_import_options io = { .flags = ST_IMPORT_CANONICAL_PERMISSIONS };
	struct st_commit_options co = { .ref = "main", .subject = "s", .has_timestamp = true, .timestamp = 10 };
	struct st_node *root = NULL, *back = NULL, *n = NULL;
	struct st_commit *c = NULL;
	uint8_t id[32], id2[32];
	char big[5000];

	mkdir(path_in("src"), 0700);
	mkdir(path_in("src/d"), 0700);
	test_write_string(path_in("src/small"), "hi");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	test_write_string(path_in("src/d/big"), big);
	chmod(path_in("src/d/big"), 04711);
	test_write_string(path_in("src/plain"), big + 1);
	chmod(path_in("src/plain"), 0600);

	ASSERT_OK(st_repo_init(path_in("r5"), ST_REPO_VERITY_OFF, &repo));
	ASSERT_OK(st_repo_import_directory(repo, path_in("src"), &io, &root));
	ASSERT_EQ(io.files_hashed, 2);
	ASSERT_EQ(io.objects_written, 2);
	ASSERT_OK(st_repo_commit_tree(repo, root, &co, id, &c));
	ASSERT_EQ(c->n_inodes, 5);
	ASSERT_EQ(c->content_size, 2 + 4999 + 4998);
	ASSERT_TRUE(!c->has_parent);
	ASSERT_OK(st_repo_read_tree(repo, "main", NULL, &back));
	ASSERT_OK(st_tree_lookup(back, "/d/big", &n));
	ASSERT_EQ(n->mode, S_IFREG | 0755);
	ASSERT_EQ(n->uid, 0);
	ASSERT_OK(st_tree_lookup(back, "plain", &n));
	ASSERT_EQ(n->mode, S_IFREG | 0644);
	ASSERT_OK(st_tree_lookup(back, "d", &n));
	ASSERT_EQ(n->mode, S_IFDIR | 0755);
	ASSERT_ERR(st_tree_lookup(back, "/d/nope", &n), -ENOENT);
	ASSERT_ERR(st_tree_lookup(back, "/small/x", &n), -ENOTDIR);

	/* The second commit on the ref has the first as parent; the same tree gives the same image. */
	co.timestamp = 11;
	ASSERT_OK(st_repo_commit_tree(repo, root, &co, id2, NULL));
	st_commit_free(c);
	ASSERT_OK(st_repo_read_commit(repo, id2, &c));
	ASSERT_TRUE(c->has_parent);
	ASSERT_MEMEQ(c->parent, id, 32);

	/* A corrupted image is refused when read. */
	{
		char rel[72];
		int fd;

		st_repo_image_relpath(c->image_digest, rel);
		fd = openat(st_repo_dirfd(repo), rel, O_WRONLY);
		ASSERT_TRUE(fd >= 0);
		ASSERT_EQ(pwrite(fd, "X", 1, 2000), 1);
		close(fd);
		st_node_free(back);
		back = NULL;
		ASSERT_ERR(st_repo_read_tree(repo, "main", NULL, &back), -EBADMSG);
	}
	/* A corrupted commit is refused. */
	{
		char hex[65];
		int fd;

		st_hex_encode(id2, 32, hex);
		fd = openat(st_repo_dirfd(repo), "commits", O_RDONLY | O_DIRECTORY);
		ASSERT_TRUE(fd >= 0);
		int cfd = openat(fd, hex, O_WRONLY);
		ASSERT_TRUE(cfd >= 0);
		ASSERT_EQ(pwrite(cfd, "Z", 1, 0), 1);
		close(cfd);
		close(fd);
		st_commit_free(c);
		c = NULL;
		ASSERT_ERR(st_repo_read_commit(repo, id2, &c), -EUCLEAN);
	}
	st_commit_free(c);
	st_node_free(root);
	st_node_free(back);
	st_repo_free(repo);
}

TEST_MAIN()
