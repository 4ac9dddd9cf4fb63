/* SPDX-License-Identifier: MIT */
/*
 * Test helper (not installed): keep rewriting files through a shared
 * mapping, the way a program that maps its data file would, while a commit
 * or mkcomposefs reads them. Sizes, mtimes and ctimes stay as they are once
 * the pages are dirty, so only the bytes tell that the file changed.
 *   st-mmap-rewrite SECONDS FILE...
 * Each file is mapped whole (it must not be empty) and a counter is written
 * over it, one 4 KiB page after the other, until SECONDS have passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILES 64

int main(int argc, char **argv)
{
	uint8_t *map[MAX_FILES];
	size_t len[MAX_FILES];
	struct timespec start, now;
	uint64_t counter = 0;
	int n = argc - 2;
	double seconds;

	if (argc < 3 || n > MAX_FILES) {
		fprintf(stderr, "usage: st-mmap-rewrite SECONDS FILE...\n");
		return 2;
	}
	seconds = strtod(argv[1], NULL);
	for (int i = 0; i < n; i++) {
		struct stat st;
		int fd = open(argv[i + 2], O_RDWR | O_CLOEXEC);

		if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0) {
			fprintf(stderr, "st-mmap-rewrite: cannot use '%s'\n", argv[i + 2]);
			return 1;
		}
		len[i] = (size_t)st.st_size;
		map[i] = mmap(NULL, len[i], PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
		if (map[i] == MAP_FAILED) {
			fprintf(stderr, "st-mmap-rewrite: cannot map '%s': %s\n", argv[i + 2], strerror(errno));
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		for (int i = 0; i < n; i++)
			for (size_t off = 0; off + sizeof(counter) <= len[i]; off += 4096) {
				counter++;
				memcpy(map[i] + off, &counter, sizeof(counter));
			}
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
	return 0;
}
