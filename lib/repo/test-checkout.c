/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for st_tree_checkout(): scan a directory into a digest store,
 * check the tree out, scan the checkout and compare both trees with
 * st_tree_diff(): every difference is a failure.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "basic/test.h"
#include "sealtree/repo-read.h"
#include "sealtree/dump.h"
#include "sealtree/scan.h"

static char base[] = "/tmp/test-checkout.XXXXXX";

static int sh(const char *fmt, ...) _printf_(1, 2);
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int print_diff(void *userdata, const struct st_diff_entry *e)
{
	(*(int *)userdata)++;
	fprintf(stderr, "DIFF %c %s changes=%#x\n", (char)e->status, e->path, e->changes);
	return 0;
}

/* Build a source tree exercising every kind of inode checkout restores. */
static void make_source(const char *src, bool root)
{
	ASSERT_EQ(sh("set -e; mkdir -p %1$s/d/e %1$s/ro; head -c 100000 /dev/urandom >%1$s/big; echo small >%1$s/small;"
		     ": >%1$s/empty; cp %1$s/big %1$s/d/big-copy; ln %1$s/big %1$s/d/e/hard; ln -s ../big %1$s/d/link;"
		     "ln -s dangling %1$s/d/e/dangle; mkfifo %1$s/fifo; echo x >%1$s/ro/file; chmod 0444 %1$s/ro/file;"
		     "chmod 0555 %1$s/ro; chmod 4755 %1$s/small; setfattr -n user.k -v v1 %1$s/small;"
		     "setfattr -n user.dir -v yes %1$s/d; touch -h -d '2001-02-03 04:05:06.789' %1$s/d/link",
		     src),
		  0);
	if (root)
		ASSERT_EQ(sh("set -e; mknod %1$s/d/chr c 1 3; mknod %1$s/blk b 7 0; chown 1234:5678 %1$s/small %1$s/d/e;"
			     "chmod 4755 %1$s/small; setfattr -n trusted.t -v tv %1$s/big;"
			     "setfattr -n trusted.overlay.opaque -v y %1$s/d/e; chown -h 42:43 %1$s/d/link;"
			     "touch -h -d '2001-02-03 04:05:06.789' %1$s/d/link",
			     src),
			  0);
	/* Directory mtimes last: the commands above changed them. */
	ASSERT_EQ(sh("set -e; cd %s; for d in d/e d ro .; do touch -d '1999-12-31 23:59:59.5' $d; done", src), 0);
}

static void scan(const char *dir, const char *store, struct st_node **ret)
{
	struct st_scan_options o = { .flags = ST_SCAN_HARDLINKS, .digest_store = store, .threads = 1 };
	ASSERT_OK(st_scan_directory(dir, &o, ret));
}

static void checkout_and_compare(bool as_root)
{
	char src[256], store[256], dest[256];
	struct st_node *a = NULL, *b = NULL;
	struct st_checkout_options o = { .flags = ST_CHECKOUT_NO_OWNERSHIP };
	int objects_fd, ndiff = 0;

	(void)snprintf(src, sizeof(src), "%s/src-%d", base, as_root);
	(void)snprintf(store, sizeof(store), "%s/objects-%d", base, as_root);
	(void)snprintf(dest, sizeof(dest), "%s/out-%d", base, as_root);
	make_source(src, as_root);
	scan(src, store, &a);
	ASSERT_TRUE(a);
	objects_fd = open(store, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_TRUE(objects_fd >= 0);
	if (as_root)
		o.flags = 0;
	ASSERT_OK(st_tree_checkout(a, objects_fd, dest, &o));
	ASSERT_EQ(o.files, 5);
	ASSERT_EQ(o.hardlinks, 1);
	ASSERT_EQ(o.symlinks, 2);
	ASSERT_EQ(o.dirs, 4);
	ASSERT_EQ(o.bytes, 200000 + 6 + 2);
	if (as_root) {
		ASSERT_EQ(o.specials, 3);
		ASSERT_EQ(o.xattrs_skipped, 0);
		ASSERT_EQ(o.owners_skipped, 0);
		ASSERT_EQ(o.devices_skipped, 0);
	} else {
		ASSERT_EQ(o.specials, 1);
		ASSERT_EQ(o.devices_skipped, 0);
	}
	scan(dest, NULL, &b);
	ASSERT_TRUE(b);
	ASSERT_OK(st_tree_diff(a, b, 0, print_diff, &ndiff));
	ASSERT_EQ(ndiff, 0);
	{
		/* Hardlinks are one inode again; setuid survived the chown. */
		struct stat s1, s2;
		char p1[300], p2[300];
		(void)snprintf(p1, sizeof(p1), "%s/big", dest);
		(void)snprintf(p2, sizeof(p2), "%s/d/e/hard", dest);
		ASSERT_TRUE(stat(p1, &s1) == 0 && stat(p2, &s2) == 0);
		ASSERT_EQ(s1.st_ino, s2.st_ino);
		ASSERT_EQ(s1.st_nlink, 2);
		(void)snprintf(p1, sizeof(p1), "%s/small", dest);
		ASSERT_TRUE(stat(p1, &s1) == 0);
		ASSERT_EQ(s1.st_mode & 07777, 04755);
	}
	/* Nothing but dest was left beside it. */
	ASSERT_EQ(sh("test -z \"$(ls -A %s | grep checkout)\"", base), 0);
	close(objects_fd);
	st_node_free(a);
	st_node_free(b);
}

TEST(checkout_as_root)
{
	if (geteuid() != 0)
		TEST_SKIP("needs root (devices, owners, trusted.* xattrs)");
	checkout_and_compare(true);
}

TEST(checkout_unprivileged_tree)
{
	/* A tree with nothing that needs root checks out identically without privileges. */
	checkout_and_compare(false);
}

TEST(unprivileged_counts_what_it_skips)
{
	char src[256], store[256], dest[256];
	struct st_node *a = NULL;
	struct st_checkout_options o = { .flags = ST_CHECKOUT_NO_OWNERSHIP };
	int fd;

	if (geteuid() != 0)
		TEST_SKIP("needs root to build the source tree");
	(void)snprintf(src, sizeof(src), "%s/src-skip", base);
	(void)snprintf(store, sizeof(store), "%s/objects-skip", base);
	(void)snprintf(dest, sizeof(dest), "%s/out-skip", base);
	make_source(src, true);
	scan(src, store, &a);
	fd = open(store, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_OK(st_tree_checkout(a, fd, dest, &o));
	ASSERT_EQ(o.devices_skipped, 2);
	ASSERT_EQ(o.xattrs_skipped, 2);         /* trusted.t, trusted.overlay.opaque */
	ASSERT_EQ(o.owners_skipped, 3);         /* small, d/e, d/link */
	ASSERT_EQ(o.specials, 1);
	close(fd);
	st_node_free(a);
}

TEST(failures_leave_nothing)
{
	char src[256], store[256], dest[256];
	struct st_node *a = NULL;
	int fd;

	(void)snprintf(src, sizeof(src), "%s/src-fail", base);
	(void)snprintf(store, sizeof(store), "%s/objects-fail", base);
	(void)snprintf(dest, sizeof(dest), "%s/out-fail", base);
	ASSERT_EQ(sh("set -e; mkdir -p %1$s/a/b; head -c 5000 /dev/urandom >%1$s/a/b/f; chmod 0500 %1$s/a", src), 0);
	scan(src, store, &a);
	fd = open(store, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	/* dest exists and is not empty; exists and is empty without the flag. */
	ASSERT_EQ(sh("mkdir -p %1$s && touch %1$s/x", dest), 0);
	ASSERT_ERR(st_tree_checkout(a, fd, dest, NULL), -EEXIST);
	ASSERT_ERR(st_tree_checkout(a, fd, dest, &(struct st_checkout_options){ .flags = ST_CHECKOUT_ALLOW_EMPTY }),
		   -ENOTEMPTY);
	ASSERT_EQ(sh("rm %s/x", dest), 0);
	ASSERT_ERR(st_tree_checkout(a, fd, dest, NULL), -EEXIST);
	ASSERT_OK(st_tree_checkout(a, fd, dest, &(struct st_checkout_options){ .flags = ST_CHECKOUT_ALLOW_EMPTY }));
	ASSERT_EQ(sh("cmp %s/a/b/f %s/a/b/f", src, dest), 0);
	ASSERT_EQ(sh("chmod -R u+w %1$s && rm -rf %1$s", dest), 0);

	/* A missing object: -ENOENT naming it, and no trace of the attempt. */
	ASSERT_EQ(sh("find %s -type f -delete", store), 0);
	ASSERT_ERR(st_tree_checkout(a, fd, dest, NULL), -ENOENT);
	ASSERT_TRUE(strstr(st_error_message(-ENOENT), "is missing"));
	ASSERT_TRUE(strstr(st_error_message(-ENOENT), "/a/b/f"));
	ASSERT_EQ(sh("test -z \"$(ls -A %s | grep -e checkout -e out-fail)\"", base), 0);
	close(fd);
	st_node_free(a);
}

TEST(out_of_fds_leaves_nothing)
{
	/* 200 levels need about 200 fds: with a limit of 64 the checkout fails, and its cleanup still works. */
	char *dump = NULL, path[1024] = "", dest[256];
	size_t len = 0, plen = 0;
	FILE *f = open_memstream(&dump, &len);
	struct st_node *root = NULL;
	struct rlimit old, low;
	int r;

	fputs("/ 4096 40755 2 0 0 0 0.0 - - -\n", f);
	for (int i = 0; i < 200; i++) {
		plen += (size_t)snprintf(path + plen, sizeof(path) - plen, "/d");
		fprintf(f, "%s 4096 40555 2 0 0 0 0.0 - - -\n", path);
	}
	fprintf(f, "%s/leaf 1 100444 1 0 0 0 0.0 - x -\n", path);
	fclose(f);
	ASSERT_OK(st_dump_parse_buffer(dump, len, 0, &root));
	free(dump);
	(void)snprintf(dest, sizeof(dest), "%s/deep", base);
	ASSERT_TRUE(getrlimit(RLIMIT_NOFILE, &old) == 0);
	low = old;
	low.rlim_cur = 64;
	ASSERT_TRUE(setrlimit(RLIMIT_NOFILE, &low) == 0);
	r = st_tree_checkout(root, AT_FDCWD, dest, NULL);
	(void)setrlimit(RLIMIT_NOFILE, &old);
	ASSERT_ERR(r, -EMFILE);
	ASSERT_EQ(sh("test -z \"$(ls -A %s | grep -e checkout -e deep)\"", base), 0);
	/* With the limit back, the same tree checks out (read-only directories included). */
	ASSERT_OK(st_tree_checkout(root, AT_FDCWD, dest, NULL));
	ASSERT_EQ(sh("test \"$(find %s -name leaf | xargs cat)\" = x", dest), 0);
	st_node_free(root);
}

/*
 * A corrupt object: refused whichever way the bytes would go (clone or
 * copy_file_range: measured first; read/write: hashed on the way, which a
 * destination on another filesystem type forces from the second object, "a"
 * being the first), copied with
 * ST_CHECKOUT_NO_VERIFY. A sound object takes every path.
 */
TEST(corrupt_object_is_refused)
{
	char src[256], store[256], dest[256], shm_dest[256];
	struct st_node *a = NULL;
	struct stat st;
	bool shm;
	int fd;

	(void)snprintf(src, sizeof(src), "%s/src-bad", base);
	(void)snprintf(store, sizeof(store), "%s/objects-bad", base);
	(void)snprintf(dest, sizeof(dest), "%s/out-bad", base);
	(void)snprintf(shm_dest, sizeof(shm_dest), "/dev/shm/test-checkout-%d", (int)getpid());
	shm = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode);
	ASSERT_EQ(sh("set -e; mkdir -p %1$s/d; head -c 5000 /dev/urandom >%1$s/a;"
		     "head -c 3145733 /dev/urandom >%1$s/d/f; echo ok >%1$s/g", src), 0);
	scan(src, store, &a);
	fd = open(store, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);

	ASSERT_OK(st_tree_checkout(a, fd, dest, NULL));
	ASSERT_EQ(sh("cmp %s/d/f %s/d/f && rm -rf %s", src, dest, dest), 0);
	if (shm) {
		ASSERT_OK(st_tree_checkout(a, fd, shm_dest, NULL));
		ASSERT_EQ(sh("cmp %s/d/f %s/d/f && rm -rf %s", src, shm_dest, shm_dest), 0);
	}

	/* One byte flipped in the large object. */
	ASSERT_EQ(sh("set -e; o=$(find %s -type f -size +1M); chmod u+w $o;"
		     "printf '\\x5a' | dd of=$o bs=1 seek=2000000 conv=notrunc status=none",
		     store),
		  0);
	ASSERT_ERR(st_tree_checkout(a, fd, dest, NULL), -EBADMSG);
	ASSERT_TRUE(strstr(st_error_message(-EBADMSG), "is corrupt"));
	ASSERT_TRUE(strstr(st_error_message(-EBADMSG), "/d/f"));
	ASSERT_ERR(st_tree_checkout(a, fd, dest, &(struct st_checkout_options){ .flags = ST_CHECKOUT_NO_REFLINK }),
		   -EBADMSG);
	if (shm) {
		ASSERT_ERR(st_tree_checkout(a, fd, shm_dest, NULL), -EBADMSG);
		ASSERT_TRUE(strstr(st_error_message(-EBADMSG), "/d/f"));
		ASSERT_EQ(sh("test ! -e %s && test -z \"$(ls -A /dev/shm | grep test-checkout-%d)\"", shm_dest, (int)getpid()), 0);
	}
	ASSERT_EQ(sh("test -z \"$(ls -A %s | grep -e checkout -e out-bad)\"", base), 0);

	ASSERT_OK(st_tree_checkout(a, fd, dest, &(struct st_checkout_options){ .flags = ST_CHECKOUT_NO_VERIFY }));
	ASSERT_TRUE(sh("cmp -s %s/d/f %s/d/f", src, dest) != 0);
	ASSERT_EQ(sh("cmp %s/g %s/g", src, dest), 0);
	close(fd);
	st_node_free(a);
}

static void cleanup(void)
{
	(void)sh("chmod -R u+w %1$s 2>/dev/null; rm -rf %1$s", base);
}

__attribute__((constructor)) static void setup(void)
{
	if (!mkdtemp(base))
		abort();
	atexit(cleanup);
}

TEST_MAIN()
