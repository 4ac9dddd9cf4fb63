/* SPDX-License-Identifier: MIT */
/* beneath.h: no symlink, "..", absolute path or FIFO gets a repository path anywhere else. */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "basic/beneath.h"
#include "basic/dirent-util.h"
#include "basic/io.h"
#include "basic/macro.h"
#include "basic/test.h"

/* A directory: d/sub/file ("hi"), d/link -> sub, d/sub/flink -> file, d/fifo, d/up -> .., outside/secret. */
static int make_tree(char tmpl[], int *ret_outside)
{
	char path[256];
	int d, fd, out;

	if (!mkdtemp(tmpl))
		return -errno;
	out = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (out < 0 || mkdirat(out, "d", 0755) < 0 || mkdirat(out, "outside", 0755) < 0)
		return -errno;
	d = openat(out, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0 || mkdirat(d, "sub", 0755) < 0)
		return -errno;
	fd = openat(d, "sub/file", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || write_full(fd, "hi", 2) < 0)
		return -errno;
	close(fd);
	fd = openat(out, "outside/secret", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || write_full(fd, "secret", 6) < 0)
		return -errno;
	close(fd);
	snprintf(path, sizeof(path), "%s/outside", tmpl);
	if (symlinkat("sub", d, "link") < 0 || symlinkat("file", d, "sub/flink") < 0 ||
	    symlinkat(path, d, "abs") < 0 || symlinkat("..", d, "up") < 0 || mkfifoat(d, "fifo", 0644) < 0)
		return -errno;
	*ret_outside = out;
	return d;
}

static void check_all(void)
{
	char tmpl[] = "/tmp/sealtree-test-beneath.XXXXXX";
	char *buf = NULL;
	size_t len;
	struct stat st;
	int out = -1, d = make_tree(tmpl, &out), fd;
	const char *base;

	ASSERT_TRUE(d >= 0);
	fd = openat_beneath(d, "sub/file", O_RDONLY, 0);
	ASSERT_TRUE(fd >= 0);
	close(fd);
	fd = openat_beneath(d, "./sub//file", O_RDONLY, 0);
	ASSERT_TRUE(fd >= 0);
	close(fd);
	ASSERT_ERR(openat_beneath(d, "link/file", O_RDONLY, 0), -ELOOP);
	ASSERT_ERR(openat_beneath(d, "sub/flink", O_RDONLY, 0), -ELOOP);
	ASSERT_ERR(openat_beneath(d, "abs/secret", O_RDONLY, 0), -ELOOP);
	ASSERT_ERR(openat_beneath(d, "link", O_RDONLY | O_DIRECTORY, 0), -ELOOP);
	ASSERT_ERR(openat_beneath(d, "../outside/secret", O_RDONLY, 0), -EXDEV);
	ASSERT_ERR(openat_beneath(d, "up/outside/secret", O_RDONLY, 0), -ELOOP);
	ASSERT_TRUE(openat_beneath(d, "/etc/passwd", O_RDONLY, 0) < 0);
	ASSERT_ERR(openat_beneath(d, "sub/missing", O_RDONLY, 0), -ENOENT);
	/* O_CREAT through a symlinked directory creates nothing outside. */
	ASSERT_ERR(openat_beneath(d, "abs/new", O_WRONLY | O_CREAT, 0644), -ELOOP);
	ASSERT_TRUE(faccessat(out, "outside/new", F_OK, 0) < 0);

	fd = openat_beneath_parent(d, "sub/file", &base);
	ASSERT_TRUE(fd >= 0);
	ASSERT_STREQ(base, "file");
	close(fd);
	ASSERT_ERR(openat_beneath_parent(d, "abs/secret", &base), -ELOOP);
	ASSERT_OK(fstatat_beneath(d, "sub/flink", &st));
	ASSERT_TRUE(S_ISLNK(st.st_mode));
	ASSERT_ERR(fstatat_beneath(d, "link/file", &st), -ELOOP);

	fd = mkdirat_beneath(d, "sub/a/b", 0755, true);
	ASSERT_TRUE(fd >= 0);
	close(fd);
	ASSERT_ERR(mkdirat_beneath(d, "abs/x", 0755, false), -ELOOP);
	ASSERT_ERR(mkdirat_beneath(d, "link/x", 0755, false), -ELOOP);
	ASSERT_TRUE(faccessat(out, "outside/x", F_OK, 0) < 0);

	ASSERT_OK(read_file_capped(d, "sub/file", 16, READ_FILE_BENEATH, &buf, &len));
	ASSERT_EQ(len, 2);
	ASSERT_STREQ(buf, "hi");
	free(buf);
	ASSERT_ERR(read_file_capped(d, "sub/file", 1, READ_FILE_BENEATH, &buf, &len), -EFBIG);
	/* A FIFO fails at once, naming itself, rather than blocking. */
	ASSERT_ERR(read_file_capped(d, "fifo", 16, READ_FILE_BENEATH, &buf, &len), -EUCLEAN);
	ASSERT_TRUE(strstr(st_error_detail(), "'fifo' is not a regular file but a FIFO") != NULL);
	ASSERT_ERR(read_file_capped(d, "sub", 16, READ_FILE_BENEATH, &buf, &len), -EUCLEAN);
	ASSERT_TRUE(strstr(st_error_detail(), "directory") != NULL);
	ASSERT_ERR(read_file_capped(d, "abs/secret", 16, READ_FILE_BENEATH, &buf, &len), -EUCLEAN);
	ASSERT_TRUE(strstr(st_error_detail(), "symbolic link") != NULL);
	ASSERT_ERR(read_file_capped(d, "missing", 16, READ_FILE_BENEATH, &buf, &len), -ENOENT);
	/* Without READ_FILE_BENEATH, symlinks are followed (files outside a repository), FIFOs still refused. */
	ASSERT_OK(read_file_capped(d, "abs/secret", 16, 0, &buf, &len));
	free(buf);
	ASSERT_ERR(read_file_capped(d, "fifo", 16, 0, &buf, &len), -EUCLEAN);
	close(d);
	close(out);
}

/* Lists dirfd with opendir_fd()/readdir_next() into a sorted "a,b,c" string. */
static void list_names(DIR *dir, char *out, size_t size)
{
	char names[16][64];
	struct dirent *de;
	size_t n = 0;
	int r;

	while ((r = readdir_next(dir, &de)) > 0 && n < 16)
		snprintf(names[n++], sizeof(names[0]), "%.63s", de->d_name);
	ASSERT_OK(r);
	qsort(names, n, sizeof(names[0]), (int (*)(const void *, const void *))strcmp);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? "," : "", names[i]);
}

TEST(dirent_util)
{
	char tmpl[] = "/tmp/sealtree-test-dirent.XXXXXX", got[16 * 65 + 1];
	int out = -1, d = make_tree(tmpl, &out);
	DIR *dir = NULL;
	struct dirent *de;

	ASSERT_TRUE(d >= 0);
	/* Twice on the same fd: the second stream starts over although the first consumed it. */
	for (int i = 0; i < 2; i++) {
		ASSERT_OK(opendir_fd(d, &dir));
		list_names(dir, got, sizeof(got));
		closedir(dir);
		ASSERT_STREQ(got, "abs,fifo,link,sub,up");
	}
	ASSERT_TRUE(fcntl(d, F_GETFD) >= 0);  /* still the caller's */
	ASSERT_OK(opendir_beneath(d, "sub", &dir));
	list_names(dir, got, sizeof(got));
	closedir(dir);
	ASSERT_STREQ(got, "file,flink");
	ASSERT_ERR(opendir_beneath(d, "link", &dir), -ELOOP);
	ASSERT_ERR(opendir_beneath(d, "../outside", &dir), -EXDEV);
	ASSERT_ERR(opendir_beneath(d, "missing", &dir), -ENOENT);
	ASSERT_ERR(opendir_beneath(d, "sub/file", &dir), -ENOTDIR);
	{
		_cleanup_closedir_ DIR *empty = NULL;
		ASSERT_OK(opendir_beneath(d, "sub/a", &empty) == -ENOENT ? 0 : -1);
		ASSERT_TRUE(mkdirat(d, "empty", 0755) == 0);
		ASSERT_OK(opendir_beneath(d, "empty", &empty));
		ASSERT_EQ(readdir_next(empty, &de), 0);
	}
	ASSERT_OK(opendir_fd(-1, &dir) == -EBADF ? 0 : -1);
	ASSERT_TRUE(dot_or_dot_dot(".") && dot_or_dot_dot("..") && !dot_or_dot_dot("...") && !dot_or_dot_dot(".a"));
	close(d);
	close(out);
}

TEST(beneath_openat2)
{
	beneath_force_fallback(false);
	check_all();
}

TEST(beneath_walk_fallback)
{
	beneath_force_fallback(true);
	check_all();
	beneath_force_fallback(false);
}

TEST_MAIN()
