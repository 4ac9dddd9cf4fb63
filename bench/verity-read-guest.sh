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
# Prints "BENCH: CONFIG PATTERN MEDIAN_KiB/s (runs ...)" lines.
. /ci/guest-lib.sh
W=$S/bench
NFILES=${BENCH_NFILES:-4}
FILE_MB=${BENCH_FILE_MB:-24}
RUNS=${BENCH_RUNS:-5}
RAND_SECS=${BENCH_RAND_SECS:-3}

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
# bench CONFIG DIR: RUNS runs of each pattern, the median printed.
bench() {
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
