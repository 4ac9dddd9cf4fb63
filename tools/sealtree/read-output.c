/* SPDX-License-Identifier: MIT */
#include <sys/stat.h>

#include "read-output.h"
#include "sealtree.h"

void format_mode(unsigned mode, char buf[11])
{
	static const char rwx[] = "rwxrwxrwx";

	switch (mode & S_IFMT) {
	case S_IFDIR: buf[0] = 'd'; break;
	case S_IFLNK: buf[0] = 'l'; break;
	case S_IFCHR: buf[0] = 'c'; break;
	case S_IFBLK: buf[0] = 'b'; break;
	case S_IFIFO: buf[0] = 'p'; break;
	case S_IFSOCK: buf[0] = 's'; break;
	case S_IFREG: buf[0] = '-'; break;
	default: buf[0] = '?'; break;
	}
	for (int i = 0; i < 9; i++)
		buf[1 + i] = (mode & (0400u >> i)) ? rwx[i] : '-';
	if (mode & S_ISUID)
		buf[3] = buf[3] == 'x' ? 's' : 'S';
	if (mode & S_ISGID)
		buf[6] = buf[6] == 'x' ? 's' : 'S';
	if (mode & S_ISVTX)
		buf[9] = buf[9] == 'x' ? 't' : 'T';
	buf[10] = '\0';
}

const char *type_name(unsigned mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return "dir";
	case S_IFLNK: return "symlink";
	case S_IFCHR: return "chr";
	case S_IFBLK: return "blk";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	case S_IFREG: return "file";
	default: return "unknown";
	}
}

struct st_repo *open_tree_or_fail(const char *spec, struct st_node **ret_root)
{
	struct st_repo *repo = open_repo_or_fail(REPO_LOCK_SHARED);
	int r;

	if (!repo)
		return NULL;
	r = st_repo_read_tree(repo, spec, NULL, ret_root);
	if (r < 0) {
		log_error_errno(r, "cannot read the tree of '%s'", spec);
		return st_repo_free(repo);
	}
	return repo;
}
