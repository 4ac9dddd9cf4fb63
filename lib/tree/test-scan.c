/* SPDX-License-Identifier: MIT */
/* Unit tests for the directory scan and the digest store. */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "basic/test-util.h"
#include "basic/test.h"
#include "digest-store.h"
#include "scan-internal.h"
#include "sealtree/scan.h"
#include "sealtree/verity.h"
#include "tree-internal.h"

/* A fresh directory under the test's temporary top. */
static char *new_dir(const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", test_tmpdir(), name) < 0 || mkdir(p, 0755) < 0) {
		perror(name);
		exit(1);
	}
	return p;
}

/* Deterministic, non-repeating bytes. */
static void fill(uint8_t *buf, size_t len, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		buf[i] = (uint8_t)x;
	}
}

static void write_file(const char *dir, const char *name, size_t size, unsigned seed)
{
	_cleanup_free_ char *p = test_join(dir, name);
	_cleanup_free_ uint8_t *buf = malloc(size + 1) /* +1: never 0; also quiets a GCC -O3 false positive */;

	if (!buf)
		exit(1);
	fill(buf, size, seed);
	test_write_file(p, buf, size);
}

static struct st_node *child(struct st_node *dir, const char *name)
{
	return dir ? node_lookup_child(dir, name, strlen(name)) : NULL;
}

static int scan(const char *path, unsigned flags, unsigned threads, struct st_node **ret)
{
	struct st_scan_options o = { .flags = flags, .threads = threads };

	return st_scan_directory(path, &o, ret);
}

/* The digest of size pseudo-random bytes made with seed. */
static void expected_digest(size_t size, unsigned seed, uint8_t digest[32])
{
	_cleanup_free_ uint8_t *buf = malloc(size ? size : 1);

	fill(buf, size, seed);
	if (st_verity_digest_buffer(buf, size, digest) < 0)
		exit(1);
}

TEST(regular_files_inline_and_digest)
{
	_cleanup_free_ char *d = new_dir("regular");
	const size_t sizes[] = { 0, 1, 64, 65, 4096, 4097, SCAN_WHOLE_READ_MAX, SCAN_WHOLE_READ_MAX + 1, 3 << 20 };
	struct st_node *root = NULL;
	char name[32];

	for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
		snprintf(name, sizeof(name), "f%zu", sizes[i]);
		write_file(d, name, sizes[i], (unsigned)i);
	}
	ASSERT_OK(scan(d, 0, 0, &root));
	ASSERT_TRUE(node_is_dir(root));
	ASSERT_EQ(root->n_children, ELEMENTSOF(sizes));
	for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
		struct st_node *n;
		uint8_t digest[32];
		char payload[SCAN_PAYLOAD_LEN + 1];

		snprintf(name, sizeof(name), "f%zu", sizes[i]);
		n = child(root, name);
		ASSERT_TRUE(n && node_is_reg(n));
		ASSERT_EQ(n->size, sizes[i]);
		ASSERT_EQ(n->nlink, 1);
		ASSERT_EQ(n->mode & 07777, 0644);
		if (sizes[i] == 0) {
			ASSERT_TRUE(!n->has_digest && !n->payload && !n->content);
			continue;
		}
		expected_digest(sizes[i], (unsigned)i, digest);
		ASSERT_TRUE(n->has_digest);
		ASSERT_MEMEQ(n->digest, digest, 32);
		scan_digest_to_payload(digest, payload);
		ASSERT_STREQ(n->payload, payload);
		/* Inline: exactly the files of 1..64 bytes, with their bytes. */
		ASSERT_EQ(!!n->content, sizes[i] <= 64);
		if (n->content) {
			uint8_t buf[64];
			fill(buf, sizes[i], (unsigned)i);
			ASSERT_MEMEQ(n->content, buf, sizes[i]);
		}
	}
	st_node_free(root);
}

TEST(metadata_and_types)
{
	_cleanup_free_ char *d = new_dir("types");
	_cleanup_free_ char *f = test_join(d, "file"), *l = test_join(d, "link"), *fifo = test_join(d, "fifo"),
			       *sub = test_join(d, "sub"), *sock = test_join(d, "sock");
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 1700000000, 123456789 } };
	struct st_node *root = NULL, *n;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s;

	write_file(d, "file", 10, 1);
	ASSERT_OK(chmod(f, 04751));
	ASSERT_OK(utimensat(AT_FDCWD, f, ts, 0));
	ASSERT_OK(symlink("../some/target", l));
	ASSERT_OK(mkfifo(fifo, 0640));
	ASSERT_OK(mkdir(sub, 0700));
	ASSERT_TRUE(strlen(sock) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, sock);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_TRUE(s >= 0);
	ASSERT_OK(bind(s, (struct sockaddr *)&sa, sizeof(sa)));
	close(s);

	ASSERT_OK(scan(d, 0, 2, &root));
	n = child(root, "file");
	ASSERT_TRUE(n);
	ASSERT_EQ(n->mode, S_IFREG | 04751);
	ASSERT_EQ(n->mtime_sec, 1700000000);
	ASSERT_EQ(n->mtime_nsec, 123456789);
	ASSERT_EQ(n->uid, getuid());
	ASSERT_EQ(n->gid, getgid());
	n = child(root, "link");
	ASSERT_TRUE(n && node_is_lnk(n));
	ASSERT_STREQ(n->payload, "../some/target");
	ASSERT_EQ(n->size, strlen("../some/target"));
	n = child(root, "fifo");
	ASSERT_TRUE(n && S_ISFIFO(n->mode));
	ASSERT_EQ(n->mode & 07777, 0640 & ~0u);
	n = child(root, "sock");
	ASSERT_TRUE(n && S_ISSOCK(n->mode));
	n = child(root, "sub");
	ASSERT_TRUE(n && node_is_dir(n) && n->n_children == 0);
	ASSERT_EQ(n->mode, S_IFDIR | 0700);
	st_node_free(root);

	/* --use-epoch: every mtime 0.0, the root's too. */
	ASSERT_OK(scan(d, ST_SCAN_USE_EPOCH, 1, &root));
	ASSERT_EQ(root->mtime_sec, 0);
	ASSERT_EQ(child(root, "file")->mtime_sec, 0);
	ASSERT_EQ(child(root, "file")->mtime_nsec, 0);
	st_node_free(root);
}

TEST(sorted_children)
{
	_cleanup_free_ char *d = new_dir("sorted");
	const char *names[] = { "b", "-dash", "B", "a", "\xff", "aa", ".hidden", "00", " space" };
	const char *sorted[] = { " space", "-dash", ".hidden", "00", "B", "a", "aa", "b", "\xff" };
	struct st_node *root = NULL;

	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		write_file(d, names[i], i, 0);
	ASSERT_OK(scan(d, 0, 0, &root));
	ASSERT_EQ(root->n_children, ELEMENTSOF(sorted));
	for (size_t i = 0; i < ELEMENTSOF(sorted); i++)
		ASSERT_STREQ(root->children[i]->name, sorted[i]);
	st_node_free(root);
}

TEST(devices)
{
	_cleanup_free_ char *d = new_dir("devices");
	_cleanup_free_ char *c = test_join(d, "chr"), *b = test_join(d, "blk"), *w = test_join(d, "whiteout");
	struct st_node *root = NULL, *n;

	if (mknod(c, S_IFCHR | 0600, makedev(1, 3)) < 0)
		TEST_SKIP("cannot mknod (not root?)");
	ASSERT_OK(mknod(b, S_IFBLK | 0600, makedev(259, 1000)));
	ASSERT_OK(mknod(w, S_IFCHR | 0644, makedev(0, 0)));
	ASSERT_OK(scan(d, 0, 0, &root));
	n = child(root, "chr");
	ASSERT_TRUE(n && S_ISCHR(n->mode));
	ASSERT_EQ(n->rdev, makedev(1, 3));
	n = child(root, "blk");
	ASSERT_TRUE(n && S_ISBLK(n->mode));
	ASSERT_EQ(n->rdev, makedev(259, 1000));
	ASSERT_TRUE(node_is_whiteout(child(root, "whiteout")));
	st_node_free(root);

	ASSERT_OK(scan(d, ST_SCAN_SKIP_DEVICES, 0, &root));
	ASSERT_EQ(root->n_children, 0);
	st_node_free(root);
}

TEST(xattrs_and_flags)
{
	_cleanup_free_ char *d = new_dir("xattrs");
	_cleanup_free_ char *f = test_join(d, "file"), *e = test_join(d, "empty"), *l = test_join(d, "link");
	const struct st_xattr *x;
	struct st_node *root = NULL, *n;
	bool trusted;

	write_file(d, "file", 100, 1);
	write_file(d, "empty", 0, 1);
	ASSERT_OK(symlink("t", l));
	if (setxattr(f, "user.one", "1", 1, 0) < 0)
		TEST_SKIP("no user xattrs on this filesystem");
	ASSERT_OK(setxattr(f, "user.bin", "a\0b", 3, 0));
	ASSERT_OK(setxattr(e, "user.e", "", 0, 0));
	ASSERT_OK(setxattr(d, "user.dir", "d", 1, 0));
	trusted = setxattr(f, "trusted.t", "tt", 2, 0) == 0 && lsetxattr(l, "trusted.l", "ll", 2, 0) == 0;

	ASSERT_OK(scan(d, 0, 0, &root));
	ASSERT_TRUE(node_get_xattr(root, "user.dir"));
	n = child(root, "file");
	x = node_get_xattr(n, "user.bin");
	ASSERT_TRUE(x && x->value_len == 3 && memcmp(x->value, "a\0b", 3) == 0);
	ASSERT_TRUE(node_get_xattr(n, "user.one"));
	x = node_get_xattr(child(root, "empty"), "user.e");
	ASSERT_TRUE(x && x->value_len == 0);
	if (trusted) {
		ASSERT_TRUE(node_get_xattr(n, "trusted.t"));
		/* A symlink's own xattrs, not its target's. */
		x = node_get_xattr(child(root, "link"), "trusted.l");
		ASSERT_TRUE(x && x->value_len == 2);
	}
	st_node_free(root);

	ASSERT_OK(scan(d, ST_SCAN_USER_XATTRS, 0, &root));
	n = child(root, "file");
	ASSERT_TRUE(node_get_xattr(n, "user.one") && !node_get_xattr(n, "trusted.t"));
	ASSERT_EQ(child(root, "link")->n_xattrs, 0);
	st_node_free(root);

	ASSERT_OK(scan(d, ST_SCAN_SKIP_XATTRS, 0, &root));
	ASSERT_EQ(root->n_xattrs, 0);
	ASSERT_EQ(child(root, "file")->n_xattrs, 0);
	ASSERT_EQ(child(root, "empty")->n_xattrs, 0);
	st_node_free(root);

	root = NULL;
	ASSERT_ERR(scan(d, ST_SCAN_SKIP_XATTRS | ST_SCAN_USER_XATTRS, 0, &root), -EINVAL);
	ASSERT_TRUE(!root);
}

TEST(hardlinks)
{
	_cleanup_free_ char *d = new_dir("hardlinks");
	_cleanup_free_ char *a = test_join(d, "b-first"), *sub = test_join(d, "a-dir"), *in_sub = test_join(d, "a-dir/z"),
			       *c = test_join(d, "c");
	struct st_node *root = NULL, *first, *alias1, *alias2;

	ASSERT_OK(mkdir(sub, 0755));
	write_file(d, "a-dir/z", 500, 7);
	ASSERT_OK(link(in_sub, a));
	ASSERT_OK(link(in_sub, c));

	/* Default: the reference splits them, each a separate inode with nlink 1. */
	ASSERT_OK(scan(d, 0, 0, &root));
	first = child(child(root, "a-dir"), "z");
	alias1 = child(root, "b-first");
	ASSERT_TRUE(first && alias1 && !first->link_target && !alias1->link_target);
	ASSERT_EQ(first->nlink, 1);
	ASSERT_EQ(alias1->nlink, 1);
	ASSERT_MEMEQ(first->digest, alias1->digest, 32);
	st_node_free(root);

	/* --hardlinks: the first in sorted depth-first order is the inode. */
	ASSERT_OK(scan(d, ST_SCAN_HARDLINKS, 0, &root));
	first = child(child(root, "a-dir"), "z");
	alias1 = child(root, "b-first");
	alias2 = child(root, "c");
	ASSERT_TRUE(first && !first->link_target && first->has_digest);
	ASSERT_EQ(first->nlink, 3);
	ASSERT_TRUE(alias1 && alias1->link_target == first);
	ASSERT_TRUE(alias2 && alias2->link_target == first);
	st_node_free(root);
}

TEST(threads_give_the_same_tree)
{
	_cleanup_free_ char *d = new_dir("threads");
	struct st_node *r1 = NULL, *r4 = NULL;
	char name[32];

	for (unsigned i = 0; i < 600; i++) {
		snprintf(name, sizeof(name), "file-%u", i);
		write_file(d, name, (i * 977) % 20000, i);
	}
	ASSERT_OK(scan(d, 0, 1, &r1));
	ASSERT_OK(scan(d, 0, 4, &r4));
	ASSERT_EQ(r1->n_children, 600);
	ASSERT_EQ(r4->n_children, 600);
	for (size_t i = 0; i < 600; i++) {
		struct st_node *a = r1->children[i], *b = r4->children[i];
		ASSERT_STREQ(a->name, b->name);
		ASSERT_EQ(a->size, b->size);
		ASSERT_EQ(a->has_digest, b->has_digest);
		ASSERT_MEMEQ(a->digest, b->digest, 32);
	}
	st_node_free(r1);
	st_node_free(r4);
}

struct grower {
	const char *path;
	atomic_bool stop, started;
};

static void *grow_file(void *userdata)
{
	struct grower *g = userdata;
	int fd = open(g->path, O_WRONLY | O_APPEND | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	while (!atomic_load(&g->stop)) {
		if (write(fd, "x", 1) != 1)
			break;
		atomic_store(&g->started, true);
	}
	close(fd);
	return NULL;
}

TEST(file_modified_during_scan_fails)
{
	_cleanup_free_ char *d = new_dir("modified");
	_cleanup_free_ char *big = test_join(d, "growing");
	struct grower g = { .path = big };
	struct st_node *root = NULL;
	pthread_t t;
	int r;

	write_file(d, "growing", 64u << 20, 3);
	write_file(d, "quiet", 100, 4);
	ASSERT_TRUE(pthread_create(&t, NULL, grow_file, &g) == 0);
	while (!atomic_load(&g.started))
		usleep(100);
	r = scan(d, 0, 1, &root);
	atomic_store(&g.stop, true);
	pthread_join(t, NULL);
	ASSERT_ERR(r, -EAGAIN);
	ASSERT_TRUE(!root);
	ASSERT_TRUE(st_error_detail() && strstr(st_error_detail(), "growing") &&
		    strstr(st_error_detail(), "changed during the scan"));
}

TEST(errors_name_the_path)
{
	_cleanup_free_ char *d = new_dir("errors");
	_cleanup_free_ char *nodir = test_join(d, "missing");
	struct st_node *root = NULL;

	write_file(d, "plain", 3, 0);
	ASSERT_ERR(scan(nodir, 0, 0, &root), -ENOENT);
	ASSERT_TRUE(st_error_detail() && strstr(st_error_detail(), "missing"));
	_cleanup_free_ char *plain = test_join(d, "plain");
	ASSERT_ERR(scan(plain, 0, 0, &root), -ENOTDIR);
	ASSERT_TRUE(!root);
}

/* Number of hidden (temporary) files left anywhere in the store. */
static size_t count_tmp_files(const char *store)
{
	char cmd[512];
	FILE *p;
	size_t n = 0;
	char line[512];

	snprintf(cmd, sizeof(cmd), "find '%s' -name '.*' ! -name . -print", store);
	p = popen(cmd, "r");
	if (!p)
		return SIZE_MAX;
	while (fgets(line, sizeof(line), p))
		n++;
	pclose(p);
	return n;
}

static int digest_file(const char *path, uint8_t digest[32])
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : st_verity_digest_fd(fd, digest);
}

TEST(digest_store)
{
	_cleanup_free_ char *d = new_dir("store-src");
	_cleanup_free_ char *store = test_join(test_tmpdir(), "store/nested");
	struct st_scan_options o = { .digest_store = store };
	struct st_node *root = NULL, *n;
	struct stat st1, st2;
	char path[256], payload[SCAN_PAYLOAD_LEN + 1];
	uint8_t digest[32];

	write_file(d, "small", 64, 1);
	write_file(d, "medium", 65, 2);
	write_file(d, "big", 3u << 20, 3);
	write_file(d, "dup", 65, 2);
	write_file(d, "empty", 0, 4);
	ASSERT_OK(st_scan_directory(d, &o, &root));

	/* medium and dup share one object; small is inline; empty has none. */
	n = child(root, "medium");
	snprintf(path, sizeof(path), "%s/%s", store, n->payload);
	ASSERT_OK(stat(path, &st1));
	ASSERT_EQ(st1.st_size, 65);
	ASSERT_EQ(st1.st_mode & 07777, 0644);
	ASSERT_STREQ(child(root, "dup")->payload, n->payload);
	ASSERT_OK(digest_file(path, digest));
	ASSERT_MEMEQ(digest, n->digest, 32);
	n = child(root, "big");
	snprintf(path, sizeof(path), "%s/%s", store, n->payload);
	ASSERT_OK(stat(path, &st1));
	ASSERT_EQ(st1.st_size, 3u << 20);
	ASSERT_OK(digest_file(path, digest));
	ASSERT_MEMEQ(digest, n->digest, 32);
	scan_digest_to_payload(child(root, "small")->digest, payload);
	snprintf(path, sizeof(path), "%s/%s", store, payload);
	ASSERT_TRUE(stat(path, &st2) < 0 && errno == ENOENT);
	ASSERT_EQ(count_tmp_files(store), 0);
	st_node_free(root);

	/* Again: nothing is rewritten (same inode, same mtime). */
	n = NULL;
	ASSERT_OK(st_scan_directory(d, &o, &root));
	n = child(root, "big");
	snprintf(path, sizeof(path), "%s/%s", store, n->payload);
	ASSERT_OK(stat(path, &st2));
	ASSERT_EQ(st1.st_ino, st2.st_ino);
	ASSERT_EQ(st1.st_mtim.tv_nsec, st2.st_mtim.tv_nsec);
	ASSERT_EQ(count_tmp_files(store), 0);
	st_node_free(root);
}

/* A fake digest cache: answers with `answer` for every key, records what is stored. */
struct fake_cache {
	bool hit;
	uint8_t answer[32];
	atomic_int lookups, stores;
	uint8_t stored[32];
	struct st_scan_file_key last_key;
};

static int fake_lookup(void *userdata, const struct st_scan_file_key *key, uint8_t ret[32])
{
	struct fake_cache *c = userdata;

	atomic_fetch_add(&c->lookups, 1);
	c->last_key = *key;
	if (!c->hit)
		return 0;
	memcpy(ret, c->answer, 32);
	return 1;
}

static void fake_store(void *userdata, const struct st_scan_file_key *key, const uint8_t digest[32])
{
	struct fake_cache *c = userdata;

	(void)key;
	atomic_fetch_add(&c->stores, 1);
	memcpy(c->stored, digest, 32);
}

TEST(digest_cache_hooks)
{
	static const struct st_scan_cache_ops ops = { .lookup = fake_lookup, .store = fake_store };
	_cleanup_free_ char *d = new_dir("cache-src");
	_cleanup_free_ char *f = test_join(d, "big");
	_cleanup_free_ char *store_path = test_join(test_tmpdir(), "cache-store");
	struct fake_cache fc = { .hit = true };
	struct st_scan_stats stats = { 0 };
	struct st_scan_options o = { .cache = &ops, .cache_userdata = &fc, .stats = &stats };
	struct st_digest_store *store = NULL;
	struct st_node *root = NULL;
	uint8_t real[32];
	struct stat st;

	write_file(d, "big", 5000, 9);
	write_file(d, "small", 10, 10);
	expected_digest(5000, 9, real);
	ASSERT_OK(stat(f, &st));
	memset(fc.answer, 0xab, 32);

	/* No store: a hit is taken as is, without reading; small files never ask. */
	ASSERT_OK(st_scan_directory(d, &o, &root));
	ASSERT_MEMEQ(child(root, "big")->digest, fc.answer, 32);
	ASSERT_EQ(atomic_load(&fc.lookups), 1);
	ASSERT_EQ(atomic_load(&fc.stores), 0);
	ASSERT_EQ(stats.files_cached, 1);
	ASSERT_EQ(stats.files_hashed, 0);
	ASSERT_EQ(fc.last_key.ino, st.st_ino);
	ASSERT_EQ(fc.last_key.size, 5000);
	ASSERT_EQ(fc.last_key.ctime_sec, st.st_ctim.tv_sec);
	ASSERT_EQ(fc.last_key.ctime_nsec, st.st_ctim.tv_nsec);
	ASSERT_EQ(fc.last_key.mtime_nsec, st.st_mtim.tv_nsec);
	st_node_free(root);
	root = NULL;

	/* With a store lacking the answer's object: a miss, hashed, stored, reported. */
	ASSERT_OK(st_digest_store_open(store_path, &store));
	o.store = store;
	ASSERT_OK(st_scan_directory(d, &o, &root));
	ASSERT_MEMEQ(child(root, "big")->digest, real, 32);
	ASSERT_EQ(atomic_load(&fc.stores), 1);
	ASSERT_MEMEQ(fc.stored, real, 32);
	ASSERT_EQ(stats.files_hashed, 1);
	ASSERT_EQ(stats.files_cached, 0);
	ASSERT_EQ(stats.objects_written, 1);
	st_node_free(root);
	root = NULL;

	/* Now the object is there: the same answer is a hit. */
	memcpy(fc.answer, real, 32);
	ASSERT_OK(st_scan_directory(d, &o, &root));
	ASSERT_EQ(stats.files_cached, 1);
	ASSERT_EQ(stats.objects_written, 0);
	st_node_free(root);
	st_digest_store_free(store);
}

/* A damaged copy under an object's name (truncated, or not a file) is replaced, never trusted. */
TEST(store_replaces_a_damaged_object)
{
	_cleanup_free_ char *store = test_join(test_tmpdir(), "store-damaged");
	struct st_digest_store *s = NULL;
	struct st_store_object obj;
	uint8_t digest[32] = { 0xcd, 9, 8, 7 };
	char path[512], buf[16];
	struct stat st;
	int fd;

	ASSERT_OK(st_digest_store_open(store, &s));
	ASSERT_OK(st_digest_store_begin(s, digest, &obj));
	ASSERT_OK(st_digest_store_write(&obj, "hello", 5));
	ASSERT_EQ(st_digest_store_commit(s, &obj), 1);
	snprintf(path, sizeof(path), "%s/cd/09080700000000000000000000000000000000000000000000000000000000", store);
	ASSERT_OK(truncate(path, 2));
	ASSERT_EQ(st_digest_store_has(s, digest, 5), 0);
	ASSERT_EQ(st_digest_store_has(s, digest, ST_DIGEST_STORE_ANY_SIZE), 1);
	ASSERT_OK(st_digest_store_begin(s, digest, &obj));
	ASSERT_OK(st_digest_store_write(&obj, "hello", 5));
	ASSERT_EQ(st_digest_store_commit(s, &obj), 1);
	ASSERT_OK(stat(path, &st));
	ASSERT_EQ(st.st_size, 5);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(read(fd, buf, sizeof(buf)), 5);
	ASSERT_TRUE(memcmp(buf, "hello", 5) == 0);
	close(fd);

	/* A directory in its place is not an object either. */
	ASSERT_OK(unlink(path));
	ASSERT_OK(mkdir(path, 0755));
	ASSERT_EQ(st_digest_store_has(s, digest, 5), 0);
	ASSERT_EQ(count_tmp_files(store), 0);
	st_digest_store_free(s);
}

TEST(store_object_abort_leaves_nothing)
{
	_cleanup_free_ char *store = test_join(test_tmpdir(), "store-abort");
	struct st_digest_store *s = NULL;
	struct st_store_object obj;
	uint8_t digest[32] = { 0xab, 1, 2, 3 };

	ASSERT_OK(st_digest_store_open(store, &s));
	ASSERT_EQ(st_digest_store_has(s, digest, ST_DIGEST_STORE_ANY_SIZE), 0);
	ASSERT_OK(st_digest_store_begin(s, digest, &obj));
	ASSERT_OK(st_digest_store_write(&obj, "hello", 5));
	st_digest_store_abort(&obj);
	ASSERT_EQ(st_digest_store_has(s, digest, ST_DIGEST_STORE_ANY_SIZE), 0);
	ASSERT_EQ(count_tmp_files(store), 0);

	ASSERT_OK(st_digest_store_begin(s, digest, &obj));
	ASSERT_OK(st_digest_store_write(&obj, "hello", 5));
	ASSERT_EQ(st_digest_store_commit(s, &obj), 1);
	ASSERT_EQ(st_digest_store_has(s, digest, ST_DIGEST_STORE_ANY_SIZE), 1);
	/* A second writer of the same object loses quietly; the first one stays. */
	ASSERT_OK(st_digest_store_begin(s, digest, &obj));
	ASSERT_OK(st_digest_store_write(&obj, "other", 5));
	ASSERT_EQ(st_digest_store_commit(s, &obj), 0);
	ASSERT_OK(st_digest_store_sync(s));
	st_digest_store_free(s);

	char path[256], buf[8] = { 0 };
	int fd;
	snprintf(path, sizeof(path), "%s/ab/01020300000000000000000000000000000000000000000000000000000000", store);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(read(fd, buf, sizeof(buf)), 5);
	close(fd);
	ASSERT_STREQ(buf, "hello");
	ASSERT_EQ(count_tmp_files(store), 0);
}

/*
 * st_digest_store_copy_fd_hashed() names the object by the bytes it holds,
 * through each copy path: the caller's aligned buffer (direct writes), an
 * unaligned one, none at all (copy_file_range or a private buffer).
 */
TEST(store_copy_hashes_what_it_wrote)
{
	_cleanup_free_ char *store = test_join(test_tmpdir(), "store-hashed");
	_cleanup_free_ char *dir = new_dir("store-hashed-src");
	_cleanup_free_ char *src = test_join(dir, "f");
	const size_t size = 3 * 1024 * 1024 + 123;
	struct st_verity_hasher *h = NULL;
	struct st_digest_store *s = NULL;
	uint8_t want[32], got[32], *aligned = NULL;
	int fd;

	write_file(dir, "f", size, 7);
	expected_digest(size, 7, want);
	ASSERT_OK(st_verity_hasher_new(&h));
	ASSERT_EQ(posix_memalign((void **)&aligned, ST_STORE_IO_ALIGN, 1u << 20), 0);
	fd = open(src, O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(st_digest_store_open(store, &s));
	for (int how = 0; how < 3; how++) {
		struct st_store_object obj;
		void *buf = how == 0 ? aligned : how == 1 ? aligned + 1 : NULL;
		size_t buf_size = how == 0 ? 1u << 20 : how == 1 ? (1u << 20) - 1 : 0;

		memset(got, 0, sizeof(got));
		ASSERT_OK(st_digest_store_begin_unnamed(s, &obj));
		ASSERT_OK(st_digest_store_copy_fd_hashed(s, &obj, fd, size, buf, buf_size, h, got));
		ASSERT_TRUE(memcmp(got, want, 32) == 0);
		ASSERT_OK(st_digest_store_set_digest(&obj, got));
		ASSERT_EQ(st_digest_store_commit(s, &obj), how == 0 ? 1 : 0);
	}
	ASSERT_EQ(st_digest_store_has(s, want, ST_DIGEST_STORE_ANY_SIZE), 1);
	ASSERT_EQ(count_tmp_files(store), 0);
	close(fd);
	free(aligned);
	st_digest_store_free(s);
	st_verity_hasher_free(h);
}

TEST(limits)
{
	_cleanup_free_ char *d = new_dir("limits");
	_cleanup_free_ char *l = test_join(d, "long-link");
	char target[ST_SYMLINK_MAX + 1];
	struct st_node *root = NULL;
	static char big[40000];

	/* The longest symlink target Linux allows is kept whole. */
	memset(target, 't', ST_SYMLINK_MAX);
	target[ST_SYMLINK_MAX] = '\0';
	ASSERT_OK(symlink(target, l));
	ASSERT_OK(scan(d, 0, 0, &root));
	ASSERT_EQ(strlen(child(root, "long-link")->payload), ST_SYMLINK_MAX);
	ASSERT_EQ(child(root, "long-link")->size, ST_SYMLINK_MAX);
	st_node_free(root);

	/*
	 * More xattr bytes than a composefs inode can hold: an error naming the
	 * file. ext4 keeps xattrs in one block, tmpfs takes large ones.
	 */
	char shm[] = "/dev/shm/sealtree-test-scan.XXXXXX";
	_cleanup_free_ char *g = NULL;
	int r;
	if (!mkdtemp(shm))
		TEST_SKIP("no /dev/shm for a large xattr");
	write_file(shm, "f", 10, 0);
	g = test_join(shm, "f");
	memset(big, 'v', sizeof(big));
	r = setxattr(g, "user.big", big, sizeof(big), 0);
	if (r < 0) {
		unlink(g), rmdir(shm);
		TEST_SKIP("cannot set a 40000-byte xattr here");
	}
	root = NULL;
	r = scan(shm, 0, 0, &root);
	unlink(g), rmdir(shm);
	ASSERT_ERR(r, -ERANGE);
	ASSERT_TRUE(!root);
	ASSERT_TRUE(st_error_detail() && strstr(st_error_detail(), "/f") && strstr(st_error_detail(), "user.big"));
}

TEST(depth_limit)
{
	_cleanup_free_ char *d = new_dir("deep");
	size_t len = strlen(d);
	char *p = malloc(len + 2 * (SCAN_DEPTH_MAX + 1) + 1);
	struct st_node *root = NULL;

	ASSERT_TRUE(p);
	memcpy(p, d, len + 1);
	for (unsigned i = 0; i < SCAN_DEPTH_MAX; i++) {
		memcpy(p + len, "/a", 3);
		len += 2;
		if (mkdir(p, 0755) < 0) {
			free(p);
			TEST_FAIL_("mkdir depth %u", i);
		}
	}
	/* SCAN_DEPTH_MAX levels below the root are fine, one more is not. */
	ASSERT_OK(scan(d, 0, 0, &root));
	st_node_free(root);
	memcpy(p + len, "/a", 3);
	ASSERT_OK(mkdir(p, 0755));
	free(p);
	root = NULL;
	ASSERT_ERR(scan(d, 0, 0, &root), -ELOOP);
	ASSERT_TRUE(!root);
}

struct progress_seen {
	uint64_t calls, files_done, files_total, bytes_done, bytes_total;
};

static void on_progress(void *userdata, uint64_t files_done, uint64_t files_total, uint64_t bytes_done,
			uint64_t bytes_total)
{
	struct progress_seen *p = userdata;

	p->calls++;
	p->files_done = files_done, p->files_total = files_total;
	p->bytes_done = bytes_done, p->bytes_total = bytes_total;
}

TEST(progress_and_no_digests)
{
	_cleanup_free_ char *d = new_dir("progress");
	struct progress_seen seen = { 0 };
	struct st_scan_options o = { .progress = on_progress, .progress_userdata = &seen };
	struct st_node *root = NULL, *n;

	write_file(d, "a", 10, 1);
	write_file(d, "b", 5000, 2);
	write_file(d, "c", 0, 3);
	ASSERT_OK(st_scan_directory(d, &o, &root));
	st_node_free(root);
	/* The last call reports everything done. */
	ASSERT_TRUE(seen.calls >= 1);
	ASSERT_EQ(seen.files_total, 3);
	ASSERT_EQ(seen.files_done, 3);
	ASSERT_EQ(seen.bytes_total, 5010);
	ASSERT_EQ(seen.bytes_done, 5010);

	/* Without digests: inline content still, no payload, no digest. */
	ASSERT_OK(scan(d, ST_SCAN_NO_DIGESTS, 0, &root));
	n = child(root, "a");
	ASSERT_TRUE(n->content && !n->payload && !n->has_digest);
	n = child(root, "b");
	ASSERT_TRUE(!n->content && !n->payload && !n->has_digest);
	st_node_free(root);
	o = (struct st_scan_options){ .flags = ST_SCAN_NO_DIGESTS, .digest_store = "/nonexistent" };
	ASSERT_ERR(st_scan_directory(d, &o, &root), -EINVAL);
}

TEST_MAIN()
