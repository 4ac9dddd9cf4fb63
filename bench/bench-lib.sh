#!/bin/bash
# SPDX-License-Identifier: MIT
# Sourced by the benchmarks that write a repository per timed run
# (bench-pull.sh, bench-pull-netem.sh): one helper each for making a fresh
# filesystem and for a median.
#
# Why a fresh filesystem per timed run: this machine's root is an ext4
# without a journal, and there, after mass deletions (each run deletes a
# repository of thousands of files), ext4's inode allocator spends seconds
# to minutes scanning inode tables for recently deleted inodes
# (recently_deleted(), only without a journal): every figure that creates
# many files then depends on what the runs before it deleted. A filesystem
# made for one run pays for no other run's deletions.

# median: the median of the numbers on stdin, one a line.
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# fresh_fs MNT TYPE SIZE: an empty filesystem of TYPE mounted at MNT (made
# if need be), made for one run, room for SIZE bytes; what was mounted
# there before is unmounted (its image file, MNT.img, removed):
#   ext4   mkfs.ext4 (with its journal, inode tables written at mkfs, not
#          lazily in the background) on the file MNT.img, loop-mounted;
#   tmpfs  a tmpfs (no disk at all: what is left is CPU and the VFS);
#   none   not fresh: a directory of MNT's filesystem, emptied (the old
#          way, to compare: what the runs before wrote is deleted, untimed).
# Needs root for ext4 and tmpfs. Ends with a sync, so that no run pays
# for the writes of the one before.
fresh_fs() {
	local mnt=$1 type=$2 size=$3
	fresh_fs_release "$mnt"
	mkdir -p "$mnt"
	case $type in
	ext4)
		truncate -s "$size" "$mnt.img"
		mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$mnt.img"
		mount -o loop "$mnt.img" "$mnt"
		;;
	tmpfs) mount -t tmpfs -o size="$size" tmpfs "$mnt" ;;
	none)
		rm -rf "$mnt"
		mkdir "$mnt"
		;;
	*) echo "fresh_fs: unknown filesystem type '$type' (ext4, tmpfs or none)" >&2; return 1 ;;
	esac
	sync
}

# fresh_fs_release MNT: what fresh_fs mounted at MNT unmounted, its image file removed.
fresh_fs_release() {
	if mountpoint -q "$1" 2>/dev/null; then umount "$1"; fi
	rm -f "$1.img"
}
