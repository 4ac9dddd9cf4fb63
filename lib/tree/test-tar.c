/* SPDX-License-Identifier: MIT */
/* Unit tests for tar streams into trees (tar-read.c) and back (tar-write.c). */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "basic/test-util.h"
#include "basic/test.h"
#include "sealtree/dump.h"
#include "sealtree/scan.h"
#include "sealtree/verity.h"
#include "tar.h"

/* ---- Building archives in memory with libarchive ------------------------ */

struct tb {
	struct archive *a;
	struct archive_entry *e;
	char *buf;
	size_t cap, used;
};

static void tb_init(struct tb *b, int format, int filter)
{
	b->cap = 16u << 20;
	b->buf = malloc(b->cap);
	b->used = 0;
	b->a = archive_write_new();
	b->e = archive_entry_new();
	archive_write_set_format(b->a, format);
	if (filter)
		archive_write_add_filter(b->a, filter);
	archive_write_set_bytes_in_last_block(b->a, 1);
	if (!b->buf || archive_write_open_memory(b->a, b->buf, b->cap, &b->used) != ARCHIVE_OK) {
		fprintf(stderr, "tb_init: %s\n", archive_error_string(b->a));
		exit(1);
	}
}

/* One member; data is written for regular files (size len). */
static void tb_add(struct tb *b, const char *path, mode_t mode, const void *data, size_t len, const char *symlink,
		   const char *hardlink)
{
	archive_entry_clear(b->e);
	archive_entry_copy_pathname(b->e, path);
	archive_entry_set_mode(b->e, mode);
	archive_entry_set_uid(b->e, 1000);
	archive_entry_set_gid(b->e, 100);
	archive_entry_set_mtime(b->e, 1600000000, 123456789);
	archive_entry_set_size(b->e, S_ISREG(mode) && !hardlink ? (la_int64_t)len : 0);
	if (symlink)
		archive_entry_copy_symlink(b->e, symlink);
	if (hardlink)
		archive_entry_copy_hardlink(b->e, hardlink);
	if (S_ISCHR(mode) || S_ISBLK(mode)) {
		archive_entry_set_rdevmajor(b->e, 4);
		archive_entry_set_rdevminor(b->e, 64);
	}
	if (archive_write_header(b->a, b->e) != ARCHIVE_OK) {
		fprintf(stderr, "tb_add %s: %s\n", path, archive_error_string(b->a));
		exit(1);
	}
	if (data && len && !hardlink && archive_write_data(b->a, data, len) != (la_ssize_t)len)
		exit(1);
}

static void tb_file(struct tb *b, const char *path, const char *data)
{
	tb_add(b, path, S_IFREG | 0644, data, strlen(data), NULL, NULL);
}

static void tb_finish(struct tb *b)
{
	archive_write_close(b->a);
	archive_write_free(b->a);
	archive_entry_free(b->e);
}

static int read_tb(struct tb *b, struct st_node **ret)
{
	int r = st_tar_read_buffer(b->buf, b->used, NULL, NULL, ret);
	return r;
}

static char *dump_of(struct st_node *root)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f || st_dump_print(f, root) < 0 || fclose(f) != 0)
		return NULL;
	return buf;
}

static struct st_node *child(struct st_node *dir, const char *name)
{
	return dir ? node_lookup_child(dir, name, strlen(name)) : NULL;
}

static bool detail_has(const char *s)
{
	const char *d = st_error_detail();

	if (!d || !strstr(d, s)) {
		fprintf(stderr, "detail '%s' lacks '%s'\n", d ? d : "(none)", s);
		return false;
	}
	return true;
}

/* ---- Tests --------------------------------------------------------------- */

TEST(types_and_metadata)
{
	_cleanup_free_ char *big = malloc(100);
	struct st_node *root = NULL, *n;
	uint8_t digest[ST_DIGEST_SIZE];
	struct tb b;

	memset(big, 'x', 100);
	tb_init(&b, ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE, 0);
	tb_add(&b, "./", S_IFDIR | 0711, NULL, 0, NULL, NULL);
	tb_add(&b, "./d", S_IFDIR | 0750, NULL, 0, NULL, NULL);
	tb_file(&b, "./d/small", "hello");
	tb_add(&b, "./d/big", S_IFREG | 04755, big, 100, NULL, NULL);
	tb_add(&b, "./empty", S_IFREG | 0600, NULL, 0, NULL, NULL);
	tb_add(&b, "./link", S_IFLNK | 0777, NULL, 0, "d/small", NULL);
	tb_add(&b, "./fifo", S_IFIFO | 0644, NULL, 0, NULL, NULL);
	tb_add(&b, "./tty", S_IFCHR | 0620, NULL, 0, NULL, NULL);
	tb_add(&b, "./blk", S_IFBLK | 0660, NULL, 0, NULL, NULL);
	tb_finish(&b);

	ASSERT_OK(read_tb(&b, &root));
	ASSERT_EQ(root->mode, S_IFDIR | 0711);
	ASSERT_EQ(root->uid, 1000);
	ASSERT_EQ(root->gid, 100);
	ASSERT_EQ(root->mtime_sec, 1600000000);
	ASSERT_EQ(root->mtime_nsec, 123456789);
	ASSERT_EQ(root->n_children, 6);

	n = child(child(root, "d"), "small");
	ASSERT_TRUE(n && n->content && n->size == 5 && memcmp(n->content, "hello", 5) == 0);
	ASSERT_OK(st_verity_digest_buffer("hello", 5, digest));
	ASSERT_TRUE(n->has_digest && memcmp(n->digest, digest, ST_DIGEST_SIZE) == 0);
	ASSERT_TRUE(n->payload && strlen(n->payload) == 65 && n->payload[2] == '/');

	n = child(child(root, "d"), "big");
	ASSERT_TRUE(n && !n->content && n->size == 100);
	ASSERT_EQ(n->mode, S_IFREG | 04755);
	ASSERT_OK(st_verity_digest_buffer(big, 100, digest));
	ASSERT_TRUE(n->has_digest && memcmp(n->digest, digest, ST_DIGEST_SIZE) == 0);

	n = child(root, "empty");
	ASSERT_TRUE(n && n->size == 0 && !n->payload && !n->content && !n->has_digest);
	n = child(root, "link");
	ASSERT_TRUE(n && n->mode == (S_IFLNK | 0777) && n->size == 7);
	ASSERT_STREQ(n->payload, "d/small");
	n = child(root, "fifo");
	ASSERT_TRUE(n && S_ISFIFO(n->mode) && n->rdev == 0 && n->size == 0);
	n = child(root, "tty");
	ASSERT_TRUE(n && n->mode == (S_IFCHR | 0620) && n->rdev == makedev(4, 64));
	n = child(root, "blk");
	ASSERT_TRUE(n && S_ISBLK(n->mode) && n->rdev == makedev(4, 64));
	ASSERT_EQ(child(root, "d")->size, 0);
	st_node_free(root);
	free(b.buf);
}

TEST(implicit_directories)
{
	struct st_node *root = NULL, *a;
	struct tb b;

	tb_init(&b, ARCHIVE_FORMAT_TAR_USTAR, 0);
	tb_file(&b, "a/b/c", "x");
	tb_add(&b, "a/", S_IFDIR | 0700, NULL, 0, NULL, NULL);  /* described after its child */
	tb_file(&b, "a//./b/d", "y");
	tb_finish(&b);

	ASSERT_OK(read_tb(&b, &root));
	ASSERT_EQ(root->mode, S_IFDIR | 0755);
	ASSERT_EQ(root->uid, 0);
	ASSERT_EQ(root->mtime_sec, 0);
	a = child(root, "a");
	ASSERT_TRUE(a && a->mode == (S_IFDIR | 0700) && a->uid == 1000);
	ASSERT_TRUE(child(a, "b") && child(a, "b")->mode == (S_IFDIR | 0755) && child(a, "b")->uid == 0);
	ASSERT_TRUE(child(child(a, "b"), "c") && child(child(a, "b"), "d"));
	st_node_free(root);
	free(b.buf);
}

/* Each archive must be refused with err and a detail containing what. */
static void expect_refused(struct tb *b, int err, const char *what)
{
	struct st_node *root = NULL;
	int r;

	st_error_clear();
	r = read_tb(b, &root);
	if (r != err)
		fprintf(stderr, "expected %d, got %d (%s)\n", err, r, st_error_detail() ?: "");
	ASSERT_EQ(r, err);
	ASSERT_TRUE(root == NULL);
	ASSERT_TRUE(detail_has(what));
	free(b->buf);
}

TEST(refused_names)
{
	char long_name[300], deep[4 * 1100];
	struct tb b;

	tb_init(&b, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
	tb_file(&b, "ok", "x");
	tb_file(&b, "a/../../etc/passwd", "x");
	tb_finish(&b);
	expect_refused(&b, -EINVAL, "tar member 'a/../../etc/passwd': '..' in the name");

	tb_init(&b, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
	tb_file(&b, "/etc/passwd", "x");
	tb_finish(&b);
	expect_refused(&b, -EINVAL, "'/etc/passwd': absolute name");

	tb_init(&b, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
	tb_file(&b, "f", "x");
	tb_file(&b, "./f", "y");
	tb_finish(&b);
	expect_refused(&b, -EINVAL, "'./f': duplicate member");

	tb_init(&b, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
	tb_add(&b, "./", S_IFDIR | 0755, NULL, 0, NULL, NULL);
	tb_add(&b, ".", S_IFDIR | 0755, NULL, 0, NULL, NULL);
	tb_finish(&b);
	expect_refused(&b, -EINVAL, "duplicate member (the root)");

	tb_init(&b, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
	tb_file(&b, ".", "x");
	tb_finish(&b);
	expect_refused(&b, -EINVAL, "the root must be a directory");

	tb_init(&b, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
	tb_file(&b, "d/f", "x");
	tb_file(&b, "d", "x");
	tb_finish(&b);
	expect_refused(&b, -EINVAL, "'d': replaces a directory");

	tb_init(&b, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
	tb_add(&b, "d", S_IFDIR | 0755, NULL, 0, NULL, NULL);
	tb_add(&b, "d", S_IFLNK | 0777, NULL, 0, "/", NULL);
	tb_finish(&b);
	expect_refused(&b, -EINVAL, "'d': duplicate member");

	tb_init(&b, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
	tb_add(&b, "l", S_IFLNK | 0777, NULL, 0, "/etc", NULL);
	tb_file(&b, "l/passwd", "x");
	tb_finish(&b);
	expect_refused(&b, -EINVAL, "'l' in the name is not a directory");

	memset(long_name, 'n', 256);
	long_name[256] = '\0';
	tb_init(&b, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
	tb_file(&b, long_name, "x");
	tb_finish(&b);
	expect_refused(&b, -EINVAL, "longer than 255 bytes");

	deep[0] = '\0';
	for (int i = 0; i < 1025; i++)
		strcat(deep, "d/");
	strcat(deep, "f");
	tb_init(&b, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
	tb_file(&b, deep, "x");
	tb_finish(&b);
	expect_refused(&b, -EINVAL, "more than 1024 components");

	tb_init(&b, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
	tb_add(&b, "empty-link", S_IFLNK | 0777, NULL, 0, "", NULL);
	tb_finish(&b);
	expect_refused(&b, -EINVAL, "symlink target of 0 bytes");
}

TEST(refused_hardlinks)
{
	struct tb b;

	tb_init(&b, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
	tb_add(&b, "a", S_IFREG | 0644, NULL, 0, NULL, "b");
	tb_file(&b, "b", "x");
	tb_finish(&b);
	expect_refused(&b, -EINVAL, "'a': hardlink to 'b', which no earlier member is");

	tb_init(&b, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
	tb_file(&b, "b", "x");
	tb_add(&b, "a", S_IFREG | 0644, NULL, 0, NULL, "../b");
	tb_finish(&b);
	expect_refused(&b, -EINVAL, "'a': '..' in the hardlink target");

	tb_init(&b, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
	tb_add(&b, "a", S_IFREG | 0644, NULL, 0, NULL, "/etc/shadow");
	tb_finish(&b);
	expect_refused(&b, -EINVAL, "absolute hardlink target '/etc/shadow'");

	tb_init(&b, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
	tb_add(&b, "d", S_IFDIR | 0755, NULL, 0, NULL, NULL);
	tb_add(&b, "a", S_IFREG | 0644, NULL, 0, NULL, "d");
	tb_finish(&b);
	expect_refused(&b, -EINVAL, "hardlink to the directory 'd'");

	tb_init(&b, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
	tb_add(&b, "a", S_IFREG | 0644, NULL, 0, NULL, "a");
	tb_finish(&b);
	expect_refused(&b, -EINVAL, "hardlink to 'a', which no earlier member is");
}

TEST(hardlinks_canonical)
{
	struct st_node *root = NULL, *a, *z, *m;
	struct tb b;

	/* Archive order z, m, a; the scan would make "a" (first in sorted order) the inode. */
	tb_init(&b, ARCHIVE_FORMAT_TAR_GNUTAR, 0);
	tb_file(&b, "z", "contents");
	tb_add(&b, "sub/m", S_IFREG | 0644, NULL, 0, NULL, "z");
	tb_add(&b, "a", S_IFREG | 0644, NULL, 0, NULL, "sub/m");
	tb_file(&b, "single", "s");
	tb_finish(&b);

	ASSERT_OK(read_tb(&b, &root));
	a = child(root, "a");
	z = child(root, "z");
	m = child(child(root, "sub"), "m");
	ASSERT_TRUE(a && z && m);
	ASSERT_TRUE(!a->link_target && a->nlink == 3 && a->size == 8);
	ASSERT_TRUE(a->content && memcmp(a->content, "contents", 8) == 0);
	ASSERT_TRUE(z->link_target == a && m->link_target == a);
	ASSERT_TRUE(!z->content && !z->payload && z->mode == 0);
	ASSERT_EQ(child(root, "single")->nlink, 1);
	st_node_free(root);
	free(b.buf);
}

TEST(xattrs)
{
	struct st_node *root = NULL, *n;
	const struct st_xattr *x;
	static const uint8_t bin[4] = { 0, 1, 0, 0xff };
	struct tb b;

	tb_init(&b, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
	archive_entry_clear(b.e);
	archive_entry_copy_pathname(b.e, "f");
	archive_entry_set_mode(b.e, S_IFREG | 0644);
	archive_entry_set_size(b.e, 0);
	archive_entry_xattr_add_entry(b.e, "user.a", "1", 1);
	archive_entry_xattr_add_entry(b.e, "trusted.overlay.x", bin, sizeof(bin));
	archive_entry_xattr_add_entry(b.e, "security.empty", "", 0);
	ASSERT_EQ(archive_write_header(b.a, b.e), ARCHIVE_OK);
	tb_finish(&b);

	ASSERT_OK(read_tb(&b, &root));
	n = child(root, "f");
	ASSERT_TRUE(n && n->n_xattrs == 3);
	x = node_get_xattr(n, "trusted.overlay.x");
	ASSERT_TRUE(x && x->value_len == 4 && memcmp(x->value, bin, 4) == 0);
	x = node_get_xattr(n, "security.empty");
	ASSERT_TRUE(x && x->value_len == 0);
	st_node_free(root);
	free(b.buf);
}

TEST(truncated_and_lying)
{
	char data[3000];
	struct st_node *root = NULL;
	struct tb b;
	char *hdr;
	unsigned sum = 0;

	memset(data, 'q', sizeof(data));
	tb_init(&b, ARCHIVE_FORMAT_TAR_USTAR, 0);
	tb_add(&b, "big", S_IFREG | 0644, data, sizeof(data), NULL, NULL);
	tb_file(&b, "after", "x");
	tb_finish(&b);
	/* Cut inside big's data. */
	b.used = 512 + 1000;
	expect_refused(&b, -EUCLEAN, "tar member 'big'");

	/* A header whose size is 512 bytes short of its data: the rest reads as a bad header. */
	tb_init(&b, ARCHIVE_FORMAT_TAR_USTAR, 0);
	tb_add(&b, "big", S_IFREG | 0644, data, sizeof(data), NULL, NULL);
	tb_file(&b, "after", "x");
	tb_finish(&b);
	hdr = b.buf;
	snprintf(hdr + 124, 12, "%011o", (unsigned)sizeof(data) - 1024);
	memset(hdr + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += (unsigned char)hdr[i];
	snprintf(hdr + 148, 8, "%06o", sum);
	ASSERT_ERR(read_tb(&b, &root), -EUCLEAN);
	ASSERT_TRUE(detail_has("bad header"));
	ASSERT_TRUE(root == NULL);

	/* A size larger than what follows. */
	snprintf(hdr + 124, 12, "%011o", 100000u);
	memset(hdr + 148, ' ', 8);
	sum = 0;
	for (int i = 0; i < 512; i++)
		sum += (unsigned char)hdr[i];
	snprintf(hdr + 148, 8, "%06o", sum);
	expect_refused(&b, -EUCLEAN, "tar member 'big'");

	/* Not a tar at all; an empty input. */
	ASSERT_ERR(st_tar_read_buffer("hello world", 11, NULL, NULL, &root), -EUCLEAN);
	ASSERT_ERR(st_tar_read_buffer("", 0, NULL, NULL, &root), -EUCLEAN);
	ASSERT_TRUE(root == NULL);
}

TEST(compressed_and_long_names)
{
	static const int filters[] = { ARCHIVE_FILTER_NONE, ARCHIVE_FILTER_GZIP, ARCHIVE_FILTER_XZ,
				       ARCHIVE_FILTER_ZSTD, ARCHIVE_FILTER_BZIP2 };
	static const int formats[] = { ARCHIVE_FORMAT_TAR_GNUTAR, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED };
	char path[600];
	_cleanup_free_ char *want = NULL;

	/* A path of 3 x 150 bytes: too long for ustar, GNU uses ././@LongLink, pax a path record. */
	snprintf(path, sizeof(path), "%0150d/%0150d/%0150d", 1, 2, 3);
	/* The same tree from every filter (GNU format has no nanoseconds: compared per format). */
	for (size_t f = 0; f < ELEMENTSOF(formats); f++, free(want), want = NULL)
		for (size_t i = 0; i < ELEMENTSOF(filters); i++) {
			struct st_node *root = NULL, *n;
			_cleanup_free_ char *got = NULL;
			struct tb b;

			tb_init(&b, formats[f], filters[i]);
			tb_file(&b, path, "long");
			tb_add(&b, "lnk", S_IFLNK | 0777, NULL, 0, path, NULL);
			tb_finish(&b);
			ASSERT_OK(read_tb(&b, &root));
			n = root;
			for (const char *p = path; n && p < path + strlen(path); p += 151) {
				char comp[151];
				memcpy(comp, p, 150);
				comp[150] = '\0';
				n = child(n, comp);
			}
			ASSERT_TRUE(n && n->size == 4);
			ASSERT_STREQ(child(root, "lnk")->payload, path);
			got = dump_of(root);
			ASSERT_TRUE(got);
			if (!want)
				want = strdup(got);
			else
				ASSERT_STREQ(got, want);
			st_node_free(root);
			free(b.buf);
		}
}

static uint64_t progress_calls, progress_files;

static void count_progress(void *userdata, uint64_t files_done, uint64_t files_total, uint64_t bytes_done,
			   uint64_t bytes_total)
{
	(void)userdata, (void)files_total, (void)bytes_done, (void)bytes_total;
	progress_calls++;
	progress_files = files_done;
}

TEST(store_objects)
{
	_cleanup_free_ char *dir = NULL, *big = NULL, *obj_path = NULL;
	struct st_tar_read_options opts = { 0 };
	struct st_tar_read_stats stats;
	struct st_node *root = NULL, *n;
	size_t big_len = 2500000;       /* streamed: more than the 1 MiB buffer */
	struct stat st;
	struct tb b;

	ASSERT_TRUE(asprintf(&dir, "%s/store", test_tmpdir()) > 0);
	ASSERT_OK(st_digest_store_open(dir, &opts.store));
	big = malloc(big_len);
	ASSERT_TRUE(big);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (char)(i * 7 + i / 4096);

	tb_init(&b, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FILTER_GZIP);
	tb_add(&b, "big", S_IFREG | 0644, big, big_len, NULL, NULL);
	tb_add(&b, "mid", S_IFREG | 0644, big, 65, NULL, NULL);
	tb_add(&b, "mid2", S_IFREG | 0644, big, 65, NULL, NULL);
	tb_add(&b, "inline", S_IFREG | 0644, big, 64, NULL, NULL);
	tb_finish(&b);

	opts.progress = count_progress;
	ASSERT_OK(st_tar_read_buffer(b.buf, b.used, &opts, &stats, &root));
	opts.progress = NULL;
	ASSERT_TRUE(progress_calls >= 1 && progress_files >= 1);
	ASSERT_EQ(stats.files, 4);
	ASSERT_EQ(stats.bytes, big_len + 65 + 65 + 64);
	ASSERT_EQ(stats.objects_written, 2);
	n = child(root, "big");
	ASSERT_TRUE(n && n->payload);
	ASSERT_TRUE(asprintf(&obj_path, "%s/%s", dir, n->payload) > 0);
	ASSERT_TRUE(stat(obj_path, &st) == 0 && (uint64_t)st.st_size == big_len && (st.st_mode & 07777) == 0644);
	{
		uint8_t d[ST_DIGEST_SIZE];
		int fd = open(obj_path, O_RDONLY | O_CLOEXEC);
		ASSERT_TRUE(fd >= 0);
		ASSERT_OK(st_verity_digest_fd(fd, d));
		close(fd);
		ASSERT_MEMEQ(d, n->digest, ST_DIGEST_SIZE);
	}
	st_node_free(root);
	root = NULL;

	/* Again: nothing new to write. */
	ASSERT_OK(st_tar_read_buffer(b.buf, b.used, &opts, &stats, &root));
	ASSERT_EQ(stats.objects_written, 0);
	st_node_free(root);
	root = NULL;

	/* A truncated stream publishes no partial object. */
	{
		struct st_digest_store *s2 = NULL;
		_cleanup_free_ char *dir2 = NULL, *cmd = NULL;
		struct st_tar_read_options o2 = { 0 };
		struct tb c;

		ASSERT_TRUE(asprintf(&dir2, "%s/store2", test_tmpdir()) > 0);
		ASSERT_OK(st_digest_store_open(dir2, &s2));
		o2.store = s2;
		tb_init(&c, ARCHIVE_FORMAT_TAR_USTAR, 0);
		tb_add(&c, "mid", S_IFREG | 0644, big, 100, NULL, NULL);
		tb_add(&c, "big", S_IFREG | 0644, big, big_len, NULL, NULL);
		tb_finish(&c);
		ASSERT_ERR(st_tar_read_buffer(c.buf, c.used - 600000, &o2, NULL, &root), -EUCLEAN);
		ASSERT_TRUE(detail_has("'big'"));
		/* At most mid's object (the pool may drop it), and no temporary file anywhere. */
		ASSERT_TRUE(asprintf(&cmd, "test $(find %1$s -type f | wc -l) -le 1 && test -z \"$(find %1$s -name '.*')\"",
				     dir2) > 0);
		ASSERT_EQ(system(cmd), 0);
		st_digest_store_free(s2);
		free(c.buf);
	}
	st_digest_store_free(opts.store);
	free(b.buf);
}

/* Sort xattrs, zero directory sizes: what a tar cannot carry or order. */
static void normalize(struct st_node *n)
{
	if (node_is_dir(n))
		n->size = 0;
	for (size_t i = 1; i < n->n_xattrs; i++)
		for (size_t j = i; j > 0 && strcmp(n->xattrs[j - 1].name, n->xattrs[j].name) > 0; j--) {
			struct st_xattr tmp = n->xattrs[j];
			n->xattrs[j] = n->xattrs[j - 1];
			n->xattrs[j - 1] = tmp;
		}
	for (size_t i = 0; i < n->n_children; i++)
		normalize(n->children[i]);
}

TEST(many_files_through_the_pool)
{
	_cleanup_free_ char *dir = NULL, *data = NULL;
	struct st_tar_read_options opts = { 0 };
	struct st_tar_read_stats stats;
	struct st_node *root = NULL;
	size_t used_full;
	struct tb b;

	ASSERT_TRUE(asprintf(&dir, "%s/pool-store", test_tmpdir()) > 0);
	ASSERT_OK(st_digest_store_open(dir, &opts.store));
	data = malloc(8000);
	for (int i = 0; i < 8000; i++)
		data[i] = (char)(i * 31 + i / 97);
	tb_init(&b, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
	for (int i = 0; i < 400; i++) {
		char name[32];
		snprintf(name, sizeof(name), "d%d/f%03d", i % 7, i);
		/* 200 distinct contents, each twice */
		tb_add(&b, name, S_IFREG | 0644, data + (i % 200), 65 + (size_t)(i % 200) * 30, NULL, NULL);
	}
	tb_finish(&b);
	ASSERT_OK(st_tar_read_buffer(b.buf, b.used, &opts, &stats, &root));
	ASSERT_EQ(stats.files, 400);
	ASSERT_EQ(stats.objects_written, 200);
	for (int i = 0; i < 400; i++) {
		char dname[8], fname[8];
		uint8_t d[ST_DIGEST_SIZE];
		struct st_node *n;

		snprintf(dname, sizeof(dname), "d%d", i % 7);
		snprintf(fname, sizeof(fname), "f%03d", i);
		n = child(child(root, dname), fname);
		ASSERT_TRUE(n && n->has_digest && n->payload);
		ASSERT_OK(st_verity_digest_buffer(data + (i % 200), 65 + (size_t)(i % 200) * 30, d));
		ASSERT_MEMEQ(d, n->digest, ST_DIGEST_SIZE);
	}
	st_node_free(root);
	root = NULL;

	/* Cut near the end: files already queued do not outlive the failure. */
	used_full = b.used;
	b.used = used_full - 3000;
	ASSERT_ERR(st_tar_read_buffer(b.buf, b.used, &opts, NULL, &root), -EUCLEAN);
	ASSERT_TRUE(root == NULL);
	st_digest_store_free(opts.store);
	free(b.buf);
}

/* The writer's content source in these tests: objects in a digest store directory. */
static int open_from_store(void *userdata, const struct st_node *n)
{
	const char *dir = userdata;
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, n->payload);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? negative_errno() : fd;
}

static int memfd_of(const char *name)
{
	return memfd_create(name, MFD_CLOEXEC);
}

static char *read_memfd(int fd, size_t *ret_len)
{
	off_t len = lseek(fd, 0, SEEK_END);
	char *buf = malloc((size_t)len + 1);

	if (!buf || pread(fd, buf, (size_t)len, 0) != len)
		return NULL;
	*ret_len = (size_t)len;
	return buf;
}

TEST(write_read_roundtrip)
{
	_cleanup_free_ char *dir = NULL, *big = NULL, *d1 = NULL, *d2 = NULL, *t1 = NULL, *t2 = NULL;
	struct st_tar_read_options opts = { 0 };
	struct st_node *root = NULL, *again = NULL;
	static const uint8_t bin[3] = { 0, '=', 0xff };
	size_t len1 = 0, len2 = 0;
	int fd1, fd2;
	struct tb b;

	ASSERT_TRUE(asprintf(&dir, "%s/rt-store", test_tmpdir()) > 0);
	ASSERT_OK(st_digest_store_open(dir, &opts.store));
	big = malloc(5000);
	memset(big, 'b', 5000);

	tb_init(&b, ARCHIVE_FORMAT_TAR_GNUTAR, 0);
	tb_add(&b, "./", S_IFDIR | 0700, NULL, 0, NULL, NULL);
	tb_file(&b, "z", "inline data");
	tb_add(&b, "big", S_IFREG | 0755, big, 5000, NULL, NULL);
	tb_add(&b, "d/\xe9t\xe9 name", S_IFREG | 0644, big, 300, NULL, NULL);
	tb_add(&b, "d/hl", S_IFREG | 0644, NULL, 0, NULL, "z");
	tb_add(&b, "d/hl2", S_IFREG | 0644, NULL, 0, NULL, "big");
	tb_add(&b, "tty", S_IFCHR | 0600, NULL, 0, NULL, NULL);
	tb_add(&b, "fifo", S_IFIFO | 0600, NULL, 0, NULL, NULL);
	tb_add(&b, "sym", S_IFLNK | 0777, NULL, 0, "../../outside", NULL);
	tb_finish(&b);
	ASSERT_OK(st_tar_read_buffer(b.buf, b.used, &opts, NULL, &root));
	ASSERT_OK(node_set_xattr(root, "user.root", 9, "r", 1));
	ASSERT_OK(node_set_xattr(child(root, "tty"), "user.z", 6, bin, 3));
	ASSERT_OK(node_set_xattr(child(root, "tty"), "trusted.a", 9, "", 0));

	fd1 = memfd_of("t1");
	fd2 = memfd_of("t2");
	ASSERT_TRUE(fd1 >= 0 && fd2 >= 0);
	ASSERT_OK(st_tar_write_fd(fd1, root, open_from_store, dir));
	ASSERT_OK(st_tar_write_fd(fd2, root, open_from_store, dir));
	t1 = read_memfd(fd1, &len1);
	t2 = read_memfd(fd2, &len2);
	ASSERT_TRUE(t1 && t2 && len1 == len2 && memcmp(t1, t2, len1) == 0);
	ASSERT_EQ(len1 % 10240, 0);
	ASSERT_TRUE(memmem(t1, len1, "hdrcharset=BINARY", 17));    /* a name that is not UTF-8 */
	ASSERT_TRUE(memmem(t1, len1, "SCHILY.xattr.user.z", 19));
	ASSERT_TRUE(!memmem(t1, len1, "LIBARCHIVE.xattr", 16));

	ASSERT_OK(st_tar_read_buffer(t1, len1, NULL, NULL, &again));
	normalize(root);
	normalize(again);
	d1 = dump_of(root);
	d2 = dump_of(again);
	ASSERT_TRUE(d1 && d2);
	ASSERT_STREQ(d2, d1);
	ASSERT_TRUE(child(child(again, "d"), "hl2")->link_target == child(again, "big"));

	/* An xattr name the SCHILY form cannot carry: LIBARCHIVE records, the same tree back. */
	{
		struct st_node *again2 = NULL;
		_cleanup_free_ char *t3 = NULL, *d3 = NULL, *d4 = NULL;
		size_t len3 = 0;
		int fd3 = memfd_of("t3");

		ASSERT_OK(node_set_xattr(child(root, "fifo"), "user.\xc3\xa9=%41", 11, "v=%", 3));
		ASSERT_OK(st_tar_write_fd(fd3, root, open_from_store, dir));
		t3 = read_memfd(fd3, &len3);
		close(fd3);
		ASSERT_TRUE(t3 && memmem(t3, len3, "LIBARCHIVE.xattr", 16) && !memmem(t3, len3, "SCHILY.xattr", 12));
		ASSERT_OK(st_tar_read_buffer(t3, len3, NULL, NULL, &again2));
		normalize(root);
		normalize(again2);
		d3 = dump_of(root);
		d4 = dump_of(again2);
		ASSERT_TRUE(d3 && d4);
		ASSERT_STREQ(d4, d3);
		st_node_free(again2);
	}

	/* A corrupted object is noticed, not exported. */
	{
		struct st_node *bn = child(root, "big");
		_cleanup_free_ char *p = NULL;
		int fd, fd3 = memfd_of("t3");

		ASSERT_TRUE(asprintf(&p, "%s/%s", dir, bn->payload) > 0);
		fd = open(p, O_WRONLY | O_CLOEXEC);
		ASSERT_TRUE(fd >= 0 && pwrite(fd, "X", 1, 10) == 1);
		close(fd);
		ASSERT_ERR(st_tar_write_fd(fd3, root, open_from_store, dir), -EBADMSG);
		ASSERT_TRUE(detail_has("'big'"));
		close(fd3);
	}
	close(fd1);
	close(fd2);
	st_node_free(root);
	st_node_free(again);
	st_digest_store_free(opts.store);
	free(b.buf);
}

TEST(same_tree_as_the_scan)
{
	_cleanup_free_ char *src = NULL, *tarf = NULL, *cmd = NULL, *d1 = NULL, *d2 = NULL;
	struct st_scan_options so = { .flags = ST_SCAN_HARDLINKS, .threads = 1 };
	struct st_node *scanned = NULL, *read = NULL;
	int fd;

	if (system("tar --version >/dev/null 2>&1") != 0)
		TEST_SKIP("no GNU tar");
	ASSERT_TRUE(asprintf(&src, "%s/src", test_tmpdir()) > 0);
	ASSERT_TRUE(asprintf(&tarf, "%s/src.tar", test_tmpdir()) > 0);
	ASSERT_TRUE(asprintf(&cmd,
			     "set -e; mkdir -p %1$s/sub/deep; cd %1$s; echo small >a; head -c 70000 /dev/zero >sub/big;"
			     "ln sub/big zlink; ln a sub/deep/alink; ln -s a sym; mkfifo fifo; chmod 4711 a;"
			     "printf '%%065d' 1 >sub/b65; touch -d '2001-02-03 04:05:06.789' sub/b65;"
			     "setfattr -n user.t -v 1 a 2>/dev/null || true;"
			     "tar --xattrs --xattrs-include='*' --numeric-owner -C %1$s -cf %2$s .",
			     src, tarf) > 0);
	ASSERT_EQ(system(cmd), 0);
	ASSERT_OK(st_scan_directory(src, &so, &scanned));
	fd = open(tarf, O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(st_tar_read_fd(fd, NULL, NULL, &read));
	close(fd);
	normalize(scanned);
	normalize(read);
	d1 = dump_of(scanned);
	d2 = dump_of(read);
	ASSERT_TRUE(d1 && d2);
	ASSERT_STREQ(d2, d1);
	st_node_free(scanned);
	st_node_free(read);
}

TEST(limits)
{
	struct st_tar_read_options opts = { .max_entries = 3 };
	struct st_node *root = NULL;
	char name[300];
	_cleanup_free_ char *val = malloc(ST_XATTR_VALUE_MAX + 1);
	struct tb b;

	tb_init(&b, ARCHIVE_FORMAT_TAR_USTAR, 0);
	tb_file(&b, "a", "1");
	tb_file(&b, "b/c", "1");
	tb_file(&b, "d", "1");
	tb_finish(&b);
	ASSERT_ERR(st_tar_read_buffer(b.buf, b.used, &opts, NULL, &root), -EINVAL);
	ASSERT_TRUE(detail_has("'d': more than 3 entries"));
	free(b.buf);

	memset(name, 'x', sizeof(name));
	memcpy(name, "user.", 5);
	name[256] = '\0';
	tb_init(&b, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
	archive_entry_clear(b.e);
	archive_entry_copy_pathname(b.e, "f");
	archive_entry_set_mode(b.e, S_IFREG | 0644);
	archive_entry_xattr_add_entry(b.e, name, "v", 1);
	ASSERT_EQ(archive_write_header(b.a, b.e), ARCHIVE_OK);
	tb_finish(&b);
	expect_refused(&b, -EINVAL, "xattr name of 256 bytes");

	memset(val, 'v', ST_XATTR_VALUE_MAX + 1);
	tb_init(&b, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
	archive_entry_clear(b.e);
	archive_entry_copy_pathname(b.e, "f");
	archive_entry_set_mode(b.e, S_IFREG | 0644);
	archive_entry_xattr_add_entry(b.e, "user.a", val, 20000);
	archive_entry_xattr_add_entry(b.e, "user.b", val, 20000);
	ASSERT_EQ(archive_write_header(b.a, b.e), ARCHIVE_OK);
	tb_finish(&b);
	expect_refused(&b, -EINVAL, "over the composefs limit");
}

TEST(utf8_names)
{
	struct st_node *root = NULL, *again = NULL;
	const char *name = "\xc3\xbc" "n\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9 \xe2\x82\xac";
	_cleanup_free_ char *t = NULL;
	size_t len = 0;
	int fd;
	struct tb b;

	ASSERT_TRUE(st_tar_utf8_valid(name, strlen(name)));
	ASSERT_TRUE(st_tar_utf8_valid("\xf4\x8f\xbf\xbf", 4));
	ASSERT_TRUE(!st_tar_utf8_valid("\xe9" "t\xe9", 3));
	ASSERT_TRUE(!st_tar_utf8_valid("\xc0\xaf", 2));            /* overlong '/' */
	ASSERT_TRUE(!st_tar_utf8_valid("\xed\xa0\x80", 3));        /* a surrogate */
	ASSERT_TRUE(!st_tar_utf8_valid("\xf4\x90\x80\x80", 4));    /* over U+10FFFF */
	ASSERT_TRUE(!st_tar_utf8_valid("\xe2\x82", 2));            /* cut short */

	tb_init(&b, ARCHIVE_FORMAT_TAR_GNUTAR, 0);
	tb_file(&b, name, "x");
	tb_add(&b, "l", S_IFLNK | 0777, NULL, 0, name, NULL);
	tb_finish(&b);
	ASSERT_OK(read_tb(&b, &root));
	ASSERT_TRUE(child(root, name) != NULL);
	fd = memfd_of("u");
	ASSERT_OK(st_tar_write_fd(fd, root, open_from_store, (void *)"/nonexistent"));
	t = read_memfd(fd, &len);
	close(fd);
	ASSERT_TRUE(t && !memmem(t, len, "hdrcharset", 10));
	ASSERT_OK(st_tar_read_buffer(t, len, NULL, NULL, &again));
	ASSERT_TRUE(child(again, name) != NULL);
	ASSERT_STREQ(child(again, "l")->payload, name);
	st_node_free(root);
	st_node_free(again);
	free(b.buf);
}

/* The fuzz corpus: should-fail-* seeds are refused, the others read. */
TEST(fuzz_corpus_verdicts)
{
	const char *src = getenv("SOURCE_DIR");
	_cleanup_free_ char *dir = NULL;
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (!src)
		TEST_SKIP("SOURCE_DIR not set");
	ASSERT_TRUE(asprintf(&dir, "%s/tests/fuzz/fuzz-tar-read", src) > 0);
	d = opendir(dir);
	ASSERT_TRUE(d);
	while ((de = readdir(d))) {
		_cleanup_free_ char *path = NULL;
		struct st_node *root = NULL;
		int fd, r;

		if (de->d_name[0] == '.')
			continue;
		ASSERT_TRUE(asprintf(&path, "%s/%s", dir, de->d_name) > 0);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		ASSERT_TRUE(fd >= 0);
		r = st_tar_read_fd(fd, NULL, NULL, &root);
		close(fd);
		if (strncmp(de->d_name, "should-fail-", 12) == 0) {
			if (r >= 0)
				fprintf(stderr, "%s was accepted\n", de->d_name);
			ASSERT_TRUE(r < 0 && root == NULL);
		} else {
			if (r < 0)
				fprintf(stderr, "%s: %s\n", de->d_name, st_error_message(r));
			ASSERT_OK(r);
		}
		st_node_free(root);
		n++;
	}
	closedir(d);
	ASSERT_TRUE(n >= 10);
}

TEST_MAIN()
