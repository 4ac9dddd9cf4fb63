/* SPDX-License-Identifier: MIT */
/* publish.h: new files, kept good ones, replaced bad ones, never through what is at the name. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/io.h"
#include "basic/macro.h"
#include "basic/publish.h"
#include "basic/test.h"

static int read_all(int dirfd, const char *name, char *buf, size_t cap)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return (int)n;
}

/* Entries of dirfd: no temporary file may be left. */
static int count_entries(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), n = 0;
	DIR *d = fdopendir(fd);
	struct dirent *de;

	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
		else if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n += 1000;
	closedir(d);
	return n;
}

static void check_all(void)
{
	char tmpl[] = "/tmp/sealtree-test-publish.XXXXXX", buf[64];
	struct publish_bytes good = { "good\n", 5 };
	struct publish_ops ops = { .check_existing = publish_same_bytes, .userdata = &good };
	struct stat st;
	int d, out;

	ASSERT_TRUE(mkdtemp(tmpl) != NULL);
	out = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_TRUE(out >= 0);
	ASSERT_TRUE(mkdirat(out, "d", 0755) == 0);
	d = openat(out, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_TRUE(d >= 0);

	/* New, then kept when the same bytes are there. */
	ASSERT_ERR(publish_data(d, "a", "d/a", "good\n", 5, 0644, 0, &ops), 1);
	ASSERT_ERR(publish_data(d, "a", "d/a", "good\n", 5, 0644, 0, &ops), 0);
	ASSERT_TRUE(fstatat(d, "a", &st, 0) == 0 && (st.st_mode & 07777) == 0644);
	/* A corrupt file at a content-addressed name is replaced, never accepted. */
	ASSERT_TRUE(unlinkat(d, "a", 0) == 0);
	ASSERT_TRUE(write_full(openat(d, "a", O_WRONLY | O_CREAT | O_CLOEXEC, 0644), "bad!\n", 5) == 0);
	ASSERT_ERR(publish_data(d, "a", "d/a", "good\n", 5, 0644, 0, &ops), 1);
	ASSERT_EQ(read_all(d, "a", buf, sizeof(buf)), 5);
	ASSERT_STREQ(buf, "good\n");
	/* Without check_existing what is there is kept. */
	ASSERT_ERR(publish_data(d, "a", "d/a", "other\n", 6, 0644, 0, NULL), 0);
	ASSERT_STREQ((read_all(d, "a", buf, sizeof(buf)), buf), "good\n");
	/* A symlink or a FIFO at the name: replaced by the file, the symlink's target untouched. */
	ASSERT_TRUE(write_full(openat(out, "target", O_WRONLY | O_CREAT | O_CLOEXEC, 0644), "outside\n", 8) == 0);
	ASSERT_TRUE(symlinkat("../target", d, "s") == 0);
	ASSERT_ERR(publish_data(d, "s", "d/s", "good\n", 5, 0644, 0, &ops), 1);
	ASSERT_TRUE(fstatat(d, "s", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode));
	ASSERT_STREQ((read_all(out, "target", buf, sizeof(buf)), buf), "outside\n");
	ASSERT_TRUE(mkfifoat(d, "f", 0644) == 0);
	ASSERT_ERR(publish_data(d, "f", "d/f", "good\n", 5, 0644, 0, &ops), 1);
	ASSERT_TRUE(fstatat(d, "f", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode));
	/* A directory at the name is an error naming the file. */
	ASSERT_TRUE(mkdirat(d, "dir", 0755) == 0);
	ASSERT_ERR(publish_data(d, "dir", "d/dir", "good\n", 5, 0644, 0, &ops), -EISDIR);
	ASSERT_TRUE(strstr(st_error_detail(), "d/dir") != NULL);
	/* PUBLISH_REPLACE renames over, with fsync; a symlink there is replaced, not followed. */
	ASSERT_ERR(publish_data(d, "r", "d/r", "1\n", 2, 0600, PUBLISH_REPLACE | PUBLISH_SYNC, NULL), 1);
	ASSERT_ERR(publish_data(d, "r", "d/r", "2\n", 2, 0600, PUBLISH_REPLACE | PUBLISH_SYNC, NULL), 1);
	ASSERT_STREQ((read_all(d, "r", buf, sizeof(buf)), buf), "2\n");
	ASSERT_TRUE(fstatat(d, "r", &st, 0) == 0 && (st.st_mode & 07777) == 0600);
	ASSERT_TRUE(symlinkat("../target", d, "s2") == 0);
	ASSERT_ERR(publish_data(d, "s2", "d/s2", "3\n", 2, 0644, PUBLISH_REPLACE, NULL), 1);
	ASSERT_STREQ((read_all(out, "target", buf, sizeof(buf)), buf), "outside\n");
	/* Nothing temporary is left behind: a, s, f, dir, r, s2. */
	ASSERT_EQ(count_entries(d), 6);
	close(d);
	close(out);
}

TEST(publish_tmpfile)
{
	publish_force_named_tmp(false);
	check_all();
}

TEST(publish_tmpfile_proc_link)
{
	/* Linked through /proc/self/fd, as where the kernel refuses linkat(AT_EMPTY_PATH). */
	publish_force_named_tmp(false);
	publish_force_proc_link(true);
	check_all();
	publish_force_proc_link(false);
}

TEST(publish_named_tmp)
{
	publish_force_named_tmp(true);
	check_all();
	publish_force_named_tmp(false);
}

TEST_MAIN()
