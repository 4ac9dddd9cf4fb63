#!/bin/bash
# SPDX-License-Identifier: MIT
# Mirrors, --depth, --commit-only, --dry-run: a remote with mirrors takes
# images and objects from the mirrors (a dead one, then a faulty one that
# sends wrong bytes or 404 hand over to the next, the url last) while the
# summary and commits come from the url, still checked under the policy (a
# mirror that serves a summary without signatures is refused); --depth N
# brings N parent commits with their images and objects; --commit-only
# stores commits and signatures only, moves no ref, and fsck says so.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/remote-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
command -v python3 >/dev/null || skip_all "needs python3"

ref_of() { C refs --all | awk -v r="refs/remotes/$1/main" '$2 == r { print $1 }'; }
rules() { echo "$1" >"$T/rules.json"; }
mlog_since() { tail -n +$(($1 + 1)) "$T/mirror.log" | grep -c -- "$2" || true; }

# ---- the server: three signed commits, a signed summary ----
mkdir -p "$T/tree"
"$SEALTREE" keygen -o "$T/k" >/dev/null
mkdir -p "$T/keys/trusted.d" && cp "$T/k.pub" "$T/keys/trusted.d/"
S init --verity=off >/dev/null
for v in 1 2 3; do
	for i in $(seq 1 8); do head -c $((500 + i * 211)) /dev/urandom >"$T/tree/f$v-$i"; done
	eval "c$v=\$(S commit -b main --tree \"\$T/tree\")"
	S sign main --key "$T/k" >/dev/null
done
S summary --sign "$T/k" >/dev/null
nginx_start "$srv"

# The mirror: a copy served by the fault server; a dead one: a port nobody listens on.
cp -a "$srv" "$T/mirror"
rules '{}'
: >"$T/mirror.log"
python3 "$SOURCE_DIR/tests/fault-server.py" "$T/mirror" "$T/rules.json" "$T/mirror.log" >"$T/port" 2>/dev/null &
mirror_pid=$!
trap 'kill $mirror_pid 2>/dev/null || true; wait $mirror_pid 2>/dev/null || true; nginx_stop; cleanup_test_tmp' EXIT
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || skip_all "the fault server did not start"
MIRROR=http://127.0.0.1:$(cat "$T/port")
DEAD=http://127.0.0.1:$(free_port)

# ---- remote add --mirror ----
C init --verity=off >/dev/null
check "remote add --mirror" C remote add origin "$NGINX_URL" --mirror "$DEAD" --mirror "$MIRROR/" --keys-dir "$T/keys"
[ "$(grep -c '^mirror=' "$cl/remotes/origin/config")" = 2 ] && grep -qx "mirror=$DEAD" "$cl/remotes/origin/config" &&
	ok "the mirrors are in the config, in order" || fail "config" "$(cat "$cl/remotes/origin/config")"
expect_refused "a bad mirror URL is refused" "mirror 'ftp://x/' must start" C remote add bad "$NGINX_URL" --mirror ftp://x/
printf 'url=%s\nmirror=gopher://x\n' "$NGINX_URL" >"$T/badconf"
mkdir -p "$cl/remotes/hand" && cp "$T/badconf" "$cl/remotes/hand/config"
expect_refused "a bad mirror in a config file is refused" "remote 'hand': mirror 'gopher://x' must start" C pull hand
rm -r "$cl/remotes/hand"

# ---- --commit-only ----
C pull origin --commit-only >"$T/out" 2>"$T/err" && grep -q "^main: $c3 commit stored, [1-9][0-9]* objects" "$T/out" &&
	ok "--commit-only stores the commit" || fail "commit-only" "$(cat "$T/out" "$T/err")"
[ -f "$cl/commits/$c3" ] && [ -f "$cl/commits/$c3.sig" ] && [ -z "$(objects_of "$cl")" ] && [ -z "$(ls "$cl/images")" ] &&
	[ -z "$(ref_of origin)" ] && ok "... and its signatures: no object, no image, no ref moved" ||
	fail "commit-only store" "$(ls "$cl/commits" "$cl/images"; C refs --all)"
C show "$c3" >/dev/null && ok "... which sealtree show reads" || fail "show" ""
C fsck >"$T/fsck" 2>&1 && grep -q "pull --commit-only" "$T/fsck" && ok "fsck notes a commit-only commit, no error" ||
	fail "fsck commit-only" "$(cat "$T/fsck")"

# ---- a first pull: metadata from the url, content from the live mirror ----
mark=$(access_lines)
mmark=$(wc -l <"$T/mirror.log")
start=$(date +%s)
C pull origin >"$T/out" 2>"$T/err" && [ "$(ref_of origin)" = "$c3" ] && ok "pull through mirrors" || fail "pull" "$(cat "$T/err")"
[ "$(requests_since "$mark" 'GET /objects/')" = 0 ] && [ "$(requests_since "$mark" 'GET /images/')" = 0 ] &&
	[ "$(requests_since "$mark" 'GET /summary')" = 2 ] && ok "... the url served the summary, no image, no object" ||
	fail "url requests" "$(tail -n +$((mark + 1)) "$NGINX_DIR/access.log")"
[ "$(mlog_since "$mmark" 'GET /objects/')" = 24 ] && [ "$(mlog_since "$mmark" 'GET /images/')" = 1 ] &&
	ok "... the live mirror the image and all 24 objects (the dead one handed over)" ||
	fail "mirror requests" "$(tail -n +$((mmark + 1)) "$T/mirror.log")"
grep -q "handed to the next mirror" "$T/out" && ok "... and the hand-overs are counted" || fail "failovers" "$(cat "$T/out")"
[ ! -e "$cl/commits/$c3.partial" ] && C fsck >"$T/fsck" 2>&1 && grep -q "^0 errors" "$T/fsck" &&
	ok "the full pull clears the commit-only mark, fsck clean" || fail "fsck" "$(cat "$T/fsck")"

# ---- a faulty mirror: wrong bytes and 404 hand the object to the url ----
check "remote add m2 (the faulty mirror only)" C remote add m2 "$NGINX_URL" --mirror "$MIRROR" --keys-dir "$T/keys"
sleep 1.1
for i in 1 2; do head -c $((7000 + i)) /dev/urandom >"$T/tree/new$i"; done
c4=$(S commit -b main --tree "$T/tree")
S sign main --key "$T/k" >/dev/null && S summary --sign "$T/k" >/dev/null
new=$(comm -13 <(objects_of "$T/mirror") <(objects_of "$srv") | sed 's|^\./||')
rsync -a "$srv/" "$T/mirror/" 2>/dev/null || cp -a "$srv/." "$T/mirror/"
o1=$(echo "$new" | sed -n 1p)
o2=$(echo "$new" | sed -n 2p)
rules "{\"$o1\": {\"mode\": \"other\", \"arg\": \"objects/$o2\"}, \"$o2\": {\"mode\": \"404\"}}"
mark=$(access_lines)
C pull m2 >"$T/out" 2>"$T/err" && [ "$(ref_of m2)" = "$c4" ] && ok "a mirror with wrong bytes and a 404: pulled" ||
	fail "faulty mirror" "$(cat "$T/err")"
[ "$(requests_since "$mark" 'GET /objects/')" = 2 ] && [ "$(requests_since "$mark" "GET /objects/$o1 ")" = 1 ] &&
	[ "$(requests_since "$mark" "GET /objects/$o2 ")" = 1 ] && ok "... exactly those two objects came from the url" ||
	fail "url objects" "$(tail -n +$((mark + 1)) "$NGINX_DIR/access.log")"
[ "$(objects_of "$srv")" = "$(objects_of "$cl")" ] && C fsck >/dev/null 2>&1 && ok "... the same objects, fsck clean" || fail "objects" ""
rules '{}'

# ---- the summary still checked: a dead url, a mirror serving an unsigned summary ----
check "remote add deadurl" C remote add deadurl "$DEAD" --mirror "$MIRROR" --keys-dir "$T/keys"
C pull deadurl >"$T/out" 2>"$T/err" && [ "$(ref_of deadurl)" = "$c4" ] && ok "a dead url: the summary from the mirror, verified" ||
	fail "deadurl" "$(cat "$T/err")"
mv "$T/mirror/summary.sig" "$T/mirror/summary.sig.off"
sleep 1.1
S summary --sign "$T/k" >/dev/null && cp "$srv/summary" "$T/mirror/summary"
expect_refused "a mirror's unsigned summary is refused" "not signed" C pull deadurl
mv "$T/mirror/summary.sig.off" "$T/mirror/summary.sig"

# ---- --depth ----
cl=$T/cl2
C init --verity=off >/dev/null
C remote add origin "$NGINX_URL" --keys-dir "$T/keys"
C pull origin --dry-run --depth 1 >"$T/out" 2>"$T/err" && grep -q "^main: $c4 would fetch .* (with 1 parent commit)" "$T/out" &&
	[ -z "$(ls "$cl/commits")" ] && ok "--dry-run --depth 1 counts the parent, stores nothing" || fail "dry depth" "$(cat "$T/out" "$T/err")"
C pull origin --depth 1 >"$T/out" 2>"$T/err" && grep -q "(with 1 parent commit)" "$T/out" && ok "--depth 1" ||
	fail "depth 1" "$(cat "$T/out" "$T/err")"
[ -f "$cl/commits/$c4" ] && [ -f "$cl/commits/$c3" ] && [ ! -e "$cl/commits/$c2" ] && [ -f "$cl/commits/$c3.sig" ] &&
	ok "... the commit and one parent, with its signatures" || fail "depth commits" "$(ls "$cl/commits")"
C checkout "$c3" "$T/co3" >/dev/null && S checkout "$c3" "$T/sco3" >/dev/null && diff -r "$T/co3" "$T/sco3" >/dev/null &&
	ok "... the parent checks out whole (image and objects)" || fail "checkout parent" ""
C pull origin --depth -1 >"$T/out" 2>"$T/err" && grep -q "up to date\|(with 3 parent commits)" "$T/out" &&
	[ -f "$cl/commits/$c1" ] && ok "--depth -1: the whole history" || fail "depth -1" "$(cat "$T/out" "$T/err"; ls "$cl/commits")"
C log refs/remotes/origin/main >"$T/log" 2>&1 && [ "$(grep -c '^commit ' "$T/log")" = 4 ] && ok "... log walks 4 commits" ||
	fail "log" "$(cat "$T/log")"
C fsck >"$T/fsck" 2>&1 && grep -q "^0 errors" "$T/fsck" && ok "... fsck clean" || fail "fsck depth" "$(cat "$T/fsck")"

done_testing
