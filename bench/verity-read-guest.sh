#!/bin/sh
# Runs as /ci-test.sh in the QEMU kit's guest for bench/bench-verity-read.sh
# (busybox ash, root, fs-verity, an ext4 -O verity store at /run/store).
# sealtree and fio, with their libraries, are in /ci/bin.
#
# One tree, read through five mounts with fio, cold cache each run:
#   ext4          the files on the ext4 store itself
#   cfs-noverity  composefs of a repository without fs-verity
#   cfs-require   composefs, verity=require (every object under fs-verity)
#   cfs-policy    composefs, --verity-policy /usr/bin: verity=on, digests
#                 only under /usr/bin; the objects keep their fs-verity
#   cfs-policy-partial  the same image with the objects of the files outside
#                 the policy stored without fs-verity (what a store that
#                 enabled fs-verity only where an image needs it would read)
# Prints "BENCH: CONFIG PATTERN MEDIAN_KiB/s (runs ...)" lines, and before
# each configuration a "DIAG:" line: one cold dd pass and the read requests
# it sent to the disk. BENCH_CONFIGS (space-separated names) limits the run.
. /ci/guest-lib.sh
W=$S/bench
NFILES=${BENCH_NFILES:-4}
FILE_MB=${BENCH_FILE_MB:-24}
RUNS=${BENCH_RUNS:-5}
RAND_SECS=${BENCH_RAND_SECS:-3}

echo "DIAG: kernel $(uname -r), /dev/vda read_ahead_kb $(cat /sys/block/vda/queue/read_ahead_kb)"
mkdir -p $W/tree/usr/bin $W/tree/usr/share $W/m
i=0
while [ $i -lt $NFILES ]; do
	dd if=/dev/urandom of=$W/tree/usr/bin/f$i bs=1M count=$FILE_MB 2>/dev/null
	dd if=/dev/urandom of=$W/tree/usr/share/f$i bs=1M count=$FILE_MB 2>/dev/null
	i=$((i + 1))
done
printf '/usr/bin\n' >$W/policy
sealtree --repo $W/rnv init --verity=off >/dev/null && sealtree --repo $W/rnv commit -b main --tree $W/tree >/dev/null &&
	ok "repository without fs-verity" || nok "repository without fs-verity"
sealtree --repo $W/rv init --verity=require >/dev/null && sealtree --repo $W/rv commit -b plain --tree $W/tree >/dev/null &&
	sealtree --repo $W/rv commit -b policy --tree $W/tree --verity-policy $W/policy >/dev/null &&
	ok "repository with fs-verity, plain and policy commits" || nok "verity repository"
sync

# median: the middle of the numbers on stdin.
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# run_fio DIR PATTERN: one cold-cache fio run over every file under DIR; prints KiB/s.
run_fio() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	if [ "$2" = seq ]; then
		set -- "$1" --rw=read --bs=1M
	else
		set -- "$1" --rw=randread --bs=4k --runtime=$RAND_SECS --time_based --norandommap
	fi
	d=$1
	shift
	fio --name=r --opendir=$d --readonly --thread --ioengine=psync --invalidate=1 --minimal "$@" 2>$W/fio.err |
		awk -F';' '$1 == 3 { print $7 }'
}
# blockstat: read IOs and sectors of /dev/vda so far.
blockstat() { awk '{ print $1, $3 }' /sys/block/vda/stat; }
# iodiag CONFIG DIR: one cold sequential pass with dd (1 MiB reads): how many
# read requests reached the disk and how large they were (readahead at work).
iodiag() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	set -- "$1" "$2" $(blockstat)
	t0=$(cut -d' ' -f1 /proc/uptime)
	for f in $(find $2 -type f); do dd if=$f of=/dev/null bs=1M 2>/dev/null; done
	t1=$(cut -d' ' -f1 /proc/uptime)
	set -- "$@" $(blockstat)
	echo "DIAG: $1 dd $(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }") s, $(($5 - $3)) read IOs," \
		"$((($6 - $4) / 2)) KiB, $((($6 - $4) / 2 / ($5 - $3 > 0 ? $5 - $3 : 1))) KiB per IO"
}
# bench CONFIG DIR: RUNS runs of each pattern, the median printed.
bench() {
	case " ${BENCH_CONFIGS:-$1} " in *" $1 "*) ;; *) echo "# $1: not in BENCH_CONFIGS"; return ;; esac
	iodiag $1 $2
	for pat in seq rand; do
		all=""
		n=0
		while [ $n -lt $RUNS ]; do
			v=$(run_fio $2 $pat)
			[ -n "$v" ] || { nok "$1 $pat: fio failed: $(cat $W/fio.err)"; return; }
			all="$all $v"
			n=$((n + 1))
		done
		med=$(for v in $all; do echo $v; done | median)
		echo "BENCH: $1 $pat $med (runs$all)"
	done
	ok "$1 measured"
}
# with_mount REPO REF CONFIG [FLAGS]: mount, bench the tree's /usr, unmount.
with_mount() {
	if sealtree --repo $1 mount $4 $2 $W/m >$W/err 2>&1; then
		echo "# $3: $(grep " $W/m overlay " /proc/mounts | grep -o 'verity=[a-z]*' || echo 'no verity option')"
		bench $3 $W/m/usr
		sealtree --repo $1 umount $W/m >/dev/null 2>&1 || umount $W/m
	else
		nok "$3: mount: $(cat $W/err)"
	fi
}

bench ext4 $W/tree/usr
with_mount $W/rnv main cfs-noverity
# Where composefs's requests shrink: the same objects read directly on ext4
# (no overlay), and ext4 and the mount again with a larger readahead.
iodiag objects-direct $W/rnv/objects
# extents FILE: debugfs's extent lines for FILE on the store, joined by "; ".
extents() { debugfs -R "ex ${1#$S}" /dev/vda 2>/dev/null | tail -n +2 | tr -s ' ' | tr '\n' ';'; }
echo "DIAG: extents of a tree file: $(extents $W/tree/usr/bin/f0)"
echo "DIAG: extents of its object: $(extents $W/rnv/objects/$(digest_path $W/tree/usr/bin/f0))"
# The same bytes written by cp (buffered) instead of the store's direct writes.
mkdir -p $W/copies
for f in $W/rnv/objects/*/*; do cp $f $W/copies/; done
iodiag objects-copied $W/copies
rm -rf $W/copies
ra=$(cat /sys/block/vda/queue/read_ahead_kb)
echo 1024 >/sys/block/vda/queue/read_ahead_kb
iodiag ext4-ra1024 $W/tree/usr
if sealtree --repo $W/rnv mount main $W/m >$W/err 2>&1; then
	iodiag cfs-noverity-ra1024 $W/m/usr
	sealtree --repo $W/rnv umount $W/m >/dev/null 2>&1 || umount $W/m
fi
echo $ra >/sys/block/vda/queue/read_ahead_kb
with_mount $W/rv plain cfs-require
with_mount $W/rv policy cfs-policy
# The objects of /usr/share without fs-verity (renamed copies; a verity repository never stores this).
for f in $W/tree/usr/share/*; do
	o=$W/rv/objects/$(digest_path $f)
	cp $o $o.plain && mv -f $o.plain $o
done
fsverity measure $W/rv/objects/$(digest_path $W/tree/usr/share/f0) >/dev/null 2>&1 &&
	nok "objects outside the policy still have fs-verity" || ok "objects outside the policy stored without fs-verity"
with_mount $W/rv policy cfs-policy-partial
guest_done
