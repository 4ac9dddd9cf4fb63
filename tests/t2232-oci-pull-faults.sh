#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree oci pull against a registry that misbehaves (tests/oci-fault-registry.py):
# a manifest or blob whose digest does not match, a Docker-Content-Digest
# that lies, an OCI index and a Docker manifest list (with and without our platform), 500s (once: retried; always: refused), a stall (abandoned after
# --stall-timeout), a redirect loop, a manifest list without our platform,
# an endless manifest or blob, Range answered wrongly. Each failure names the
# blob or URL, publishes nothing (no ref, no object, no unverified blob in
# the cache), keeps memory bounded, and the same pull against the honest
# server afterwards completes. Also: a truncated blob is continued with
# Range, within a pull and by the next pull; credentials are not sent to the
# other host a blob redirects to.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/oci-registry-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
command -v umoci >/dev/null || skip_all "needs umoci"
command -v python3 >/dev/null || skip_all "needs python3"
export LC_ALL=C
T=$TEST_TMP
cl=$T/cl
C() { "$SEALTREE" --repo "$cl" "$@"; }

expect_refused() {
	local name=$1 pattern=$2 rc=0
	shift 2
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	if [ $rc = 1 ] && grep -q -- "$pattern" "$T/err"; then
		ok "$name"
	else
		fail "$name" "rc=$rc, stderr: $(cat "$T/err")"
	fi
}
rules() { echo "$1" >"$T/rules.json"; }
log_mark() { wc -l <"$T/requests.log"; }
requests_since() { tail -n +$(($1 + 1)) "$T/requests.log" | grep -c -- "$2" || true; }
fresh_cache() { rm -rf "$cl/cache/oci-pull"; }
objects_of() { (cd "$cl/objects" && find . -type f -name '[0-9a-f]*' | sort); }
# nothing_published: no new ref, no new object, no unverified blob named in the cache.
nothing_published() {
	C refs --all >"$T/refs.now" 2>&1
	objects_of >"$T/objects.now"
	cmp -s "$T/refs.before" "$T/refs.now" && cmp -s "$T/objects.before" "$T/objects.now" &&
		! ls "$cl/cache/oci-pull/blobs/sha256/" 2>/dev/null | grep -q "${1:-^$}"
}

# ---- an image of two layers: small files, a 1 MiB random file, a whiteout ----
mkdir -p "$T/l1/etc" "$T/l1/usr/bin" "$T/l2/etc"
echo one >"$T/l1/etc/one"
echo gone >"$T/l1/etc/gone"
head -c 1048576 /dev/urandom >"$T/l1/usr/bin/big"
ln -s ../usr/bin/big "$T/l1/etc/link"
echo two >"$T/l2/etc/two"
echo etc/gone >"$T/l2/.delete"
oci_image "$T/layout" t1 "$T/l1" "$T/l2"
manifest=$(python3 -c 'import json, sys
print([d["digest"] for d in json.load(open(sys.argv[1]))["manifests"]][-1])' "$T/layout/index.json")
layers=$(python3 -c 'import json, sys
m = json.load(open(sys.argv[1] + "/blobs/sha256/" + sys.argv[2][7:]))
print(" ".join(l["digest"] for l in m["layers"]))' "$T/layout" "$manifest")
big=${layers%% *}      # the first layer, with the 1 MiB file
small=${layers##* }
echo "image $manifest, layers $layers"

rules '{}'
: >"$T/requests.log"
python3 "$SOURCE_DIR/tests/oci-fault-registry.py" "$T/layout" "$T/rules.json" "$T/requests.log" >"$T/port" &
SRV_PID=$!
trap 'kill $SRV_PID 2>/dev/null || true; registry_stop_all; cleanup_test_tmp' EXIT
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
PORT=$(cat "$T/port")
URL=http://127.0.0.1:$PORT
REF=$URL/test/img:t1
NAME=oci/127.0.0.1:$PORT/test/img:t1

# Under AddressSanitizer the peak RSS says little (shadow memory, quarantine):
# the bound is checked only in a normal build, the outcome in both.
rss_max=65536
if sanitized_build; then
	echo "# sanitized build: peak RSS not bounded here"
	rss_max=999999999
fi

C init --verity=off >/dev/null
C refs --all >"$T/refs.before" 2>&1
objects_of >"$T/objects.before"
PULL() { C oci pull --stall-timeout 2 "$@"; }

# ---- digests ----
rules '{"manifests/t1": {"mode": "digest-lie"}}'
expect_refused "a Docker-Content-Digest that lies is refused" "Docker-Content-Digest says" PULL "$REF"
rules '{"manifests/t1": {"mode": "corrupt"}}'
expect_refused "a manifest changed in transit is refused (tag)" "the bytes are sha256:" PULL "$REF"
rules "{\"manifests/$manifest\": {\"mode\": \"corrupt\"}}"
expect_refused "a manifest changed in transit is refused (digest)" "manifest $manifest from .*digest mismatch" \
	PULL "$URL/test/img@$manifest"
rules "{\"blobs/$big\": {\"mode\": \"corrupt\"}}"
expect_refused "a blob changed in transit is refused, naming blob and URL" \
	"blob $big from $URL/v2/test/img/blobs/$big: digest mismatch" PULL "$REF"
check "... nothing published, the bad blob not kept" nothing_published "${big#sha256:}"
check "... nor its partial file" test ! -e "$cl/cache/oci-pull/partial/${big#sha256:}"

# ---- 500, stall, redirect loop ----
fresh_cache
rules "{\"blobs/$small\": {\"mode\": \"500\"}}"
expect_refused "a blob that keeps answering 500 fails after the retries" \
	"blob $small: $URL/v2/test/img/blobs/$small: HTTP status 500 (after 5 attempts)" PULL "$REF"
check "... nothing published" nothing_published
mark=$(log_mark)
rules "{\"blobs/$small\": {\"mode\": \"404\"}}"
expect_refused "a blob the registry does not have fails" "blob $small: .*not found" PULL "$REF"
check "... the blobs verified before are kept and not fetched again" \
	test "$(requests_since "$mark" "blobs/$big")" = 0 -a -e "$cl/cache/oci-pull/blobs/sha256/${big#sha256:}"
fresh_cache
rules "{\"blobs/$big\": {\"mode\": \"stall\"}}"
start=$(date +%s)
expect_refused "a stalled blob is abandoned" "blob $big: .*Timeout" C oci pull --stall-timeout 1 "$REF"
check "... within the stall timeouts" test $(($(date +%s) - start)) -lt 60
check "... nothing published" nothing_published
fresh_cache
rules "{\"blobs/$small\": {\"mode\": \"redirect-loop\"}}"
expect_refused "a redirect loop is refused" "blob $small: $URL/v2/test/img/blobs/$small: .*redirect" PULL "$REF"
rules '{"manifests/t1": {"mode": "500"}}'
expect_refused "a manifest that keeps answering 500 is refused" "manifests/t1: HTTP status 500" PULL "$REF"

# ---- platforms, sizes, memory ----
rules '{"manifests/t1": {"mode": "no-platform"}}'
expect_refused "an index without linux/amd64 is refused, listing what it offers" \
	"no manifest for platform linux/amd64.*linux/arm64" PULL "$REF"
rules '{"manifests/t1": {"mode": "oversize"}}'
/usr/bin/time -f %M -o "$T/rss" true 2>/dev/null || skip_all "needs /usr/bin/time"
expect_refused "an endless manifest is refused at 4 MiB" "larger than 4194304 bytes" \
	/usr/bin/time -f %M -o "$T/rss" "$SEALTREE" --repo "$cl" oci pull "$REF"
check "... in bounded memory ($(tail -1 "$T/rss") KiB)" test "$(tail -1 "$T/rss")" -lt $rss_max
fresh_cache
rules "{\"blobs/$small\": {\"mode\": \"endless\"}}"
expect_refused "an endless blob is refused at its size" "blob $small from .*more bytes than its size" \
	/usr/bin/time -f %M -o "$T/rss" "$SEALTREE" --repo "$cl" oci pull "$REF"
check "... in bounded memory ($(tail -1 "$T/rss") KiB)" test "$(tail -1 "$T/rss")" -lt $rss_max
check "... nothing published" nothing_published

# ---- Range ----
fresh_cache
rules "{\"blobs/$big\": {\"mode\": \"truncate\", \"count\": 1}, \"$big\": {\"mode\": \"bad-range\"}}"
expect_refused "a 206 from another offset is refused, not spliced in" "with another range" PULL "$REF"
check "... nothing published" nothing_published
fresh_cache
rules "{\"blobs/$big\": {\"mode\": \"truncate\"}}"
mark=$(log_mark)
expect_refused "a blob cut short on every attempt fails" "blob $big" PULL "$REF"
check "... each retry asked only for the rest (Range)" test "$(requests_since "$mark" "$big truncate range=bytes=")" -ge 4
partial=$(stat -c %s "$cl/cache/oci-pull/partial/${big#sha256:}" 2>/dev/null || echo 0)
check "... the bytes received are kept in the partial file ($partial)" test "$partial" -gt 524288
check "... nothing published" nothing_published
rules '{}'
mark=$(log_mark)
PULL "$REF" >"$T/out" 2>"$T/err" || true
check "the honest retry continues the partial blob with Range" grep -q "$big ok range=bytes=$partial-" \
	<(tail -n +$((mark + 1)) "$T/requests.log")
check "... and says so" grep -q "($partial resumed)" "$T/out"
check "... and completes" C checkout "$NAME" "$T/co1"
check "... the image's tree" test "$(cat "$T/co1/etc/two")" = two -a ! -e "$T/co1/etc/gone"
check "... the big file whole" cmp "$T/co1/usr/bin/big" "$T/l1/usr/bin/big"
check "... the cache emptied once imported" test -z "$(ls "$cl/cache/oci-pull/blobs/sha256/")"
C refs --all >"$T/refs.before" 2>&1
objects_of >"$T/objects.before"

# A pull killed (-9) midway: the next one continues the blob.
fresh_cache
rules "{\"blobs/$big\": {\"mode\": \"trickle\"}}"
part=$cl/cache/oci-pull/partial/${big#sha256:}
# sealtree itself in the background (not a function's subshell), so that the kill reaches it.
"$SEALTREE" --repo "$cl" oci pull --name cp/killed:1 "$REF" >/dev/null 2>&1 &
pull_pid=$!
for _ in $(seq 100); do
	[ "$(stat -c %s "$part" 2>/dev/null || echo 0)" -gt 262144 ] && break
	sleep 0.05
done
kill -9 $pull_pid 2>/dev/null || true
wait $pull_pid 2>/dev/null || true
killed_at=$(stat -c %s "$part" 2>/dev/null || echo 0)
check "a pull killed midway keeps the blob's bytes ($killed_at)" test "$killed_at" -gt 262144 -a "$killed_at" -lt 1048576
C refs --all >"$T/refs.now"
check "... publishes no ref" test -z "$(grep cp/killed "$T/refs.now")"
rules '{}'
mark=$(log_mark)
check "the next pull completes" eval 'PULL --name cp/killed:1 "$REF" >"$T/out"'
check "... asking only for the rest" grep -q "$big ok range=bytes=$killed_at-" <(tail -n +$((mark + 1)) "$T/requests.log")
check "... and says so" grep -q "($killed_at resumed)" "$T/out"
check "... the big file whole" cmp <(C cat oci/cp/killed:1 /usr/bin/big) "$T/l1/usr/bin/big"

# A pull that finds blobs in the cache while another pull imports the same
# blobs and removes the cache's copies: the first links what it verified
# into its own layout at once, so nothing vanishes under it.
fresh_cache
rules "{\"blobs/$big\": {\"mode\": \"500\"}}"
PULL --name cp/race:0 "$REF" >/dev/null 2>&1 || true
check "a failed pull leaves the other blobs verified in the cache" \
	test -e "$cl/cache/oci-pull/blobs/sha256/${small#sha256:}"
rules "{\"blobs/$big\": {\"mode\": \"trickle\", \"count\": 1}}"
"$SEALTREE" --repo "$cl" oci pull --name cp/race:1 "$REF" >"$T/out1" 2>&1 &
pid1=$!
for _ in $(seq 100); do [ -e "$cl/cache/oci-pull/partial/${big#sha256:}" ] && break; sleep 0.05; done
rc2=0
PULL --name cp/race:2 "$REF" >"$T/out2" 2>&1 || rc2=$?
rc1=0
wait $pid1 || rc1=$?
check "a pull that imports meanwhile completes" test $rc2 = 0
check "... and so does the one that found the blobs cached before" test $rc1 = 0
check "... (which says so)" grep -q "2 cached" "$T/out1"
check "... same trees" cmp <(C cat oci/cp/race:1 /usr/bin/big) <(C cat oci/cp/race:2 /usr/bin/big)

# Two pulls of the same blob at once: one writes the partial file, the other its own copy.
rules "{\"blobs/$big\": {\"mode\": \"trickle\"}}"
"$SEALTREE" --repo "$cl" oci pull --name cp/twice:1 "$REF" >"$T/out1" 2>&1 &
pid1=$!
"$SEALTREE" --repo "$cl" oci pull --name cp/twice:2 "$REF" >"$T/out2" 2>&1 &
pid2=$!
rc1=0 rc2=0
wait $pid1 || rc1=$?
wait $pid2 || rc2=$?
check "two pulls of the same blob at once both complete" test $rc1 = 0 -a $rc2 = 0
check "... with the same tree" cmp <(C cat oci/cp/twice:1 /usr/bin/big) <(C cat oci/cp/twice:2 /usr/bin/big)

rules "{\"blobs/$big\": {\"mode\": \"truncate\", \"count\": 1}, \"$big\": {\"mode\": \"ignore-range\"}}"
check "a server ignoring Range sends the whole blob again, accepted" \
	PULL --name cp/ignore:range "$REF"
check "... and verified" C checkout oci/cp/ignore:range "$T/co2"
check "... the big file whole" cmp "$T/co2/usr/bin/big" "$T/l1/usr/bin/big"

rules '{"blobs/": {"mode": "slow"}}'
mark=$(log_mark)
check "blobs are fetched several at once" PULL --name cp/parallel:1 "$REF"
check "... (the server saw 3 blob requests in flight)" grep -q "blobs/.* slow .*slow=3" \
	<(tail -n +$((mark + 1)) "$T/requests.log")
rules "{\"blobs/$small\": {\"mode\": \"500\", \"count\": 2}}"
check "a 500 midway is retried" PULL --name cp/retry:500 "$REF"
# Midway through a blob: the connection cut after half of it, then two 500s;
# the third retry of the same pull continues the blob where it stopped.
rules "{\"blobs/$big\": {\"mode\": \"truncate\", \"count\": 1}, \"$big\": {\"mode\": \"500\", \"count\": 2}}"
mark=$(log_mark)
check "a blob cut midway and then answered with 500s completes in the same pull" \
	PULL --name cp/retry:cut500 "$REF"
check "... after the two 500s" test "$(requests_since "$mark" "$big 500 ")" = 2
check "... continuing the blob with Range" grep -q "$big ok range=bytes=[1-9][0-9]*-" <(tail -n +$((mark + 1)) "$T/requests.log")
check "... the big file whole" cmp <(C cat oci/cp/retry:cut500 /usr/bin/big) "$T/l1/usr/bin/big"
# A registry that hangs once (headers and 10 bytes, then silence): abandoned
# after the stall timeout, the retry continues from byte 10 and completes.
rules "{\"blobs/$big\": {\"mode\": \"stall\", \"count\": 1}}"
mark=$(log_mark)
start=$(date +%s)
check "a blob that hangs once completes in the same pull" C oci pull --stall-timeout 1 --name cp/retry:stall "$REF"
check "... within the stall timeout and a retry" test $(($(date +%s) - start)) -lt 30
check "... continuing after the 10 bytes received" grep -q "$big ok range=bytes=10-" <(tail -n +$((mark + 1)) "$T/requests.log")
check "... the big file whole" cmp <(C cat oci/cp/retry:stall /usr/bin/big) "$T/l1/usr/bin/big"
rules '{"manifests/t1": {"mode": "index"}}'
check "an index leads to the linux/amd64 manifest" PULL --name cp/index:amd64 "$REF"
check "... the same image" test "$(C show --json oci/cp/index:amd64 | grep '"image"')" = \
	"$(C show --json "$NAME" | grep '"image"')"
rules '{"manifests/t1": {"mode": "docker-list"}}'
check "a Docker manifest list leads to the linux/amd64 manifest" PULL --name cp/list:amd64 "$REF"
check "... the same image" test "$(C show --json oci/cp/list:amd64 | grep '"image"')" = \
	"$(C show --json "$NAME" | grep '"image"')"

# ---- a redirect to another host does not get the credentials ----
kill $SRV_PID
wait $SRV_PID 2>/dev/null || true
rules "{\"blobs/$small\": {\"mode\": \"redirect\"}}"
: >"$T/port"
python3 "$SOURCE_DIR/tests/oci-fault-registry.py" "$T/layout" "$T/rules.json" "$T/requests.log" alice:s3cret >"$T/port" &
SRV_PID=$!
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
PORT=$(cat "$T/port")
expect_refused "Basic auth without credentials says what to give" "asks for a user and password (--creds" \
	PULL "http://127.0.0.1:$PORT/test/img:t1"
expect_refused "wrong credentials are refused" "refused the credentials" \
	PULL --creds alice:wrong "http://127.0.0.1:$PORT/test/img:t1"
mark=$(log_mark)
check "a 307 to blob storage is followed" PULL --creds alice:s3cret "http://127.0.0.1:$PORT/test/img:t1"
check "... the blob came from the other host" grep -q "^/storage/x/$small ok .*host=localhost" \
	<(tail -n +$((mark + 1)) "$T/requests.log")
check "... without the credentials" grep -q "^/storage/x/$small ok range=- auth=no" \
	<(tail -n +$((mark + 1)) "$T/requests.log")
check "... which the registry itself got" grep -q "^/v2/test/img/blobs/$big ok range=- auth=yes" \
	<(tail -n +$((mark + 1)) "$T/requests.log")
check "fsck is clean after it all" C fsck

done_testing
