/* SPDX-License-Identifier: MIT */
/*
 * The new mount API through syscall(2): glibc has wrappers only since 2.36,
 * and the musl and static builds used in initramfs images may lack them.
 */
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mount/mount-internal.h"

int sys_fsopen(const char *fsname, unsigned flags)
{
	return (int)syscall(SYS_fsopen, fsname, flags);
}

int sys_fsconfig(int fd, unsigned cmd, const char *key, const void *value, int aux)
{
	return (int)syscall(SYS_fsconfig, fd, cmd, key, value, aux);
}

int sys_fsmount(int fd, unsigned flags, unsigned attr_flags)
{
	return (int)syscall(SYS_fsmount, fd, flags, attr_flags);
}

int sys_move_mount(int from_dfd, const char *from_path, int to_dfd, const char *to_path, unsigned flags)
{
	return (int)syscall(SYS_move_mount, from_dfd, from_path, to_dfd, to_path, flags);
}

int sys_mount_setattr(int dfd, const char *path, unsigned flags, void *attr, size_t size)
{
	return (int)syscall(SYS_mount_setattr, dfd, path, flags, attr, size);
}

const char *fs_context_message(int fs_fd, char *buf, size_t size)
{
	char line[1024];
	ssize_t n;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	if (fs_fd < 0)
		return buf;
	/* Each read returns one message ("e ...", "w ...", "i ..."); the
	 * queue is drained so the last error is the one kept. ENODATA ends it. */
	while ((n = read(fs_fd, line, sizeof(line) - 1)) > 0) {
		const char *m = line;
		line[n] = '\0';
		if (n > 0 && line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (n >= 2 && line[1] == ' ')
			m = line + 2;
		size_t l = strlen(m);
		if (l >= size)
			l = size - 1;
		memcpy(buf, m, l);
		buf[l] = '\0';
	}
	return buf;
}
