#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree summary / remote / pull against Debian's nginx on loopback: a
# first pull reproduces the commit exactly, a second fetches nothing, an
# update fetches only the changed objects; a server sending wrong bytes or
# 404 for an object, an untrusted commit, a replayed older summary, a
# summary signed by an untrusted key, and a newer signed summary naming an
# older commit (a rollback, unless --allow-downgrade) are refused with
# nothing unverified published and no ref moved. The remote's proxy= carries every request
# (nginx, which serves absolute-form requests, as the proxy of a host that
# does not exist).
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/remote-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
command -v curl >/dev/null || skip_all "needs curl"

for c in summary remote pull; do
	check "$c --help" "$SEALTREE" "$c" --help >/dev/null
done

# ---- the server's repository: v1, signed, with a signed summary ----
mkdir -p "$T/tree/usr/lib" "$T/tree/etc"
for i in $(seq 1 40); do head -c $((200 + i * 997)) /dev/urandom >"$T/tree/usr/lib/f$i"; done
head -c 300000 /dev/urandom >"$T/tree/usr/lib/big"
echo small >"$T/tree/etc/inline"
ln "$T/tree/usr/lib/f1" "$T/tree/usr/lib/f1-link"
cp "$T/tree/usr/lib/f2" "$T/tree/usr/lib/f2-copy"
S init --verity=off >/dev/null
v1=$(S commit -b main --tree "$T/tree")
"$SEALTREE" keygen -o "$T/k" >/dev/null
mkdir -p "$T/keys/trusted.d" && cp "$T/k.pub" "$T/keys/trusted.d/"
S sign main --key "$T/k" >/dev/null
check "summary --sign" S summary --sign "$T/k"
head -1 "$srv/summary" | grep -qx "sealtree-summary 1" && grep -q "^ref main $v1 " "$srv/summary" &&
	[ -s "$srv/summary.sig" ] && ok "summary lists main and is signed" || fail "summary" "$(cat "$srv/summary")"
mkdir -p "$T/old" && cp "$srv/summary" "$srv/summary.sig" "$T/old/"

nginx_start "$srv"

# ---- remotes ----
C init --verity=off >/dev/null
check "remote add" C remote add origin "$NGINX_URL/" --keys-dir "$T/keys"
expect_refused "remote add twice" "exists" C remote add origin "$NGINX_URL/"
expect_refused "remote name validated" "not a valid remote name" C remote add ../x "$NGINX_URL/"
expect_refused "remote URL validated" "URL must" C remote add other "ftp://127.0.0.1/"
check "remote add file://" C remote add local "file://$srv" --keys-dir "$T/keys"
[ "$(C remote list | cut -f1 | tr '\n' ' ')" = "local origin " ] && ok "remote list" || fail "remote list" "$(C remote list)"
check "remote delete" C remote delete local
expect_refused "remote delete unknown" "no remote" C remote delete local

# ---- dry run, first pull ----
mark=$(access_lines)
C pull origin --dry-run >"$T/dry" 2>"$T/err" && grep -q "^main: $v1 would fetch 41 objects" "$T/dry" &&
	ok "dry-run prints what would be fetched" || fail "dry-run" "$(cat "$T/dry" "$T/err")"
[ "$(requests_since "$mark" 'GET /objects/')" = 0 ] && [ -z "$(objects_of "$cl")" ] && ! C refs --all | grep -q origin &&
	ok "dry-run fetches no object, moves no ref" || fail "dry-run fetched" ""
mark=$(access_lines)
C pull origin >"$T/out" 2>"$T/err" && ok "first pull" || fail "first pull" "$(cat "$T/err")"
ref_is main "$v1" && ok "refs/remotes/origin/main moved" || fail "ref" "$(C refs --all)"
[ "$(requests_since "$mark" 'GET /objects/')" = 41 ] && ok "41 distinct objects fetched once each" ||
	fail "object requests" "$(requests_since "$mark" 'GET /objects/')"
[ "$(objects_of "$srv")" = "$(objects_of "$cl")" ] && ok "same objects" || fail "objects differ" ""
S dump main >"$T/d1" && C dump refs/remotes/origin/main >"$T/d2" && cmp -s "$T/d1" "$T/d2" && ok "dumps identical" ||
	fail "dump" "differs"
[ "$(S show main | grep ^image)" = "$(C show refs/remotes/origin/main | grep ^image)" ] && ok "same image digest" ||
	fail "image" ""
C fsck >"$T/fsck" 2>&1 && grep -q "^0 errors" "$T/fsck" && ok "fsck clean" || fail "fsck" "$(cat "$T/fsck")"
C checkout refs/remotes/origin/main "$T/co" >/dev/null && diff -r "$T/tree" "$T/co" >/dev/null && ok "checkout matches the tree" ||
	fail "checkout" ""

mark=$(access_lines)
C pull origin >"$T/out" 2>"$T/err" && grep -q "up to date" "$T/out" && ok "second pull: up to date" || fail "second pull" "$(cat "$T/out" "$T/err")"
[ "$(requests_since "$mark" 'GET /')" = 2 ] && [ "$(requests_since "$mark" 'GET /summary')" = 2 ] &&
	ok "second pull fetches only the summary and its signatures" || fail "second pull requests" "$(tail -n +$((mark + 1)) "$NGINX_DIR/access.log")"

# ---- an update: only the changed objects ----
sleep 1.1
head -c 7000 /dev/urandom >"$T/tree/usr/lib/f5"
head -c 9000 /dev/urandom >"$T/tree/usr/lib/new"
v2=$(S commit -b main --tree "$T/tree")
S sign main --key "$T/k" >/dev/null && S summary --sign "$T/k" >/dev/null
mark=$(access_lines)
C pull origin main >"$T/out" 2>"$T/err" && ref_is main "$v2" && ok "update pulled" || fail "update" "$(cat "$T/err")"
[ "$(requests_since "$mark" 'GET /objects/')" = 2 ] && ok "update fetches only the 2 changed objects" ||
	fail "update requests" "$(requests_since "$mark" 'GET /objects/')"
[ "$(requests_since "$mark" 'GET /images/')" = 1 ] && [ "$(requests_since "$mark" " 200 ")" = "$(requests_since "$mark" 'GET /')" ] &&
	ok "one image, every request answered 200" || fail "update requests" "$(tail -n +$((mark + 1)) "$NGINX_DIR/access.log")"

# ---- a replayed older summary ----
cp "$srv/summary" "$srv/summary.sig" "$T/"
cp "$T/old/summary" "$T/old/summary.sig" "$srv/"
expect_refused "an older signed summary is refused as a replay" "replay" C pull origin
ref_is main "$v2" && ok "replay: ref did not move" || fail "replay ref" ""
cp "$T/summary" "$T/summary.sig" "$srv/"
# an unsigned summary, and one whose signature is for other bytes
mv "$srv/summary.sig" "$T/sig.keep"
expect_refused "an unsigned summary is refused" "not signed" C pull origin
cp "$T/old/summary.sig" "$srv/summary.sig"
expect_refused "signatures of another summary are refused" "other summary bytes" C pull origin
"$SEALTREE" keygen -o "$T/stranger" >/dev/null
cp "$srv/summary" "$T/summary.keep"
S summary --sign "$T/stranger" >/dev/null
expect_refused "a summary signed by an untrusted key is refused" "summary of remote 'origin' refused: " C pull origin
ref_is main "$v2" && ok "... ref did not move" || fail "untrusted summary ref" ""
cp "$T/summary.keep" "$srv/summary"
mv "$T/sig.keep" "$srv/summary.sig"

# ---- a newer, validly signed summary naming an older commit: a rollback ----
S ref main "$v1" && S summary --sign "$T/k" >/dev/null
mark=$(access_lines)
expect_refused "a newer signed summary naming an older commit is refused as a rollback" \
	"commit $v1 would move refs/remotes/origin/main back: commit timestamp .* is older .*rollback" C pull origin
ref_is main "$v2" && [ "$(requests_since "$mark" 'GET /images/')" = 0 ] && [ "$(requests_since "$mark" 'GET /objects/')" = 0 ] &&
	ok "... ref did not move, no image or object fetched" || fail "rollback" "$(tail -n +$((mark + 1)) "$NGINX_DIR/access.log")"
C pull origin --dry-run >"$T/out" 2>&1 && fail "dry-run rollback" "accepted: $(cat "$T/out")" ||
	ok "... --dry-run refuses it too"
C pull origin --allow-downgrade >"$T/out" 2>"$T/err" && ref_is main "$v1" && ok "pull --allow-downgrade takes it" ||
	fail "allow-downgrade" "$(cat "$T/err")"
S ref main "$v2" && S summary --sign "$T/k" >/dev/null
C pull origin >"$T/out" 2>"$T/err" && ref_is main "$v2" && ok "... and the next commit forward again" || fail "forward" "$(cat "$T/err")"

# ---- wrong bytes, then 404, for an object; then an honest server ----
before=$(objects_of "$srv")
head -c 12345 /dev/urandom >"$T/tree/usr/lib/victim"
v3=$(S commit -b main --tree "$T/tree")
S sign main --key "$T/k" >/dev/null && S summary --sign "$T/k" >/dev/null
victim=$(comm -13 <(echo "$before") <(objects_of "$srv"))
[ "$(echo "$victim" | wc -l)" = 1 ] || fail "one new object" "$victim"
victim=${victim#./}
cp "$srv/objects/$victim" "$T/victim.good"
head -c 12345 /dev/urandom >"$srv/objects/$victim"
expect_refused "wrong bytes are refused, naming the object" "object $victim: .*do not have its fs-verity digest" C pull origin
[ ! -e "$cl/objects/$victim" ] && ! find "$cl/objects" -name '.*' | grep -q . && ok "wrong bytes: nothing published" ||
	fail "wrong bytes published" "$(ls -la "$cl/objects/${victim%%/*}")"
ref_is main "$v2" && ok "wrong bytes: ref did not move" || fail "wrong bytes ref" ""
head -c 12000 /dev/urandom >"$srv/objects/$victim"
expect_refused "a short body is refused, naming the object" "object $victim: the server sent 12000 bytes" C pull origin
rm "$srv/objects/$victim"
expect_refused "404 for an object fails cleanly" "object $victim: .*not found" C pull origin
ref_is main "$v2" && [ ! -e "$cl/objects/$victim" ] && ok "404: ref did not move" || fail "404 ref" ""
cp "$T/victim.good" "$srv/objects/$victim"
mark=$(access_lines)
C pull origin >"$T/out" 2>"$T/err" && ref_is main "$v3" && ok "an honest server afterwards completes" || fail "honest" "$(cat "$T/err")"
[ "$(requests_since "$mark" 'GET /objects/')" = 1 ] && ok "... fetching only the object still missing" ||
	fail "resume" "$(requests_since "$mark" 'GET /objects/')"

# ---- an unsigned commit, and one signed by an untrusted key ----
head -c 4000 /dev/urandom >"$T/tree/usr/lib/unsigned"
v4=$(S commit -b main --tree "$T/tree")
S summary --sign "$T/k" >/dev/null
mark=$(access_lines)
expect_refused "an unsigned commit is refused" "not trusted" C pull origin
[ "$(requests_since "$mark" 'GET /objects/')" = 0 ] && [ "$(requests_since "$mark" 'GET /images/')" = 0 ] &&
	ok "... before any image or object is fetched" || fail "unsigned fetched" "$(tail -n +$((mark + 1)) "$NGINX_DIR/access.log")"
"$SEALTREE" keygen -o "$T/evil" >/dev/null
S sign main --key "$T/evil" >/dev/null
mark=$(access_lines)
expect_refused "a commit signed by an untrusted key is refused" "not trusted" C pull origin
[ "$(requests_since "$mark" 'GET /objects/')" = 0 ] && ok "... before any object is fetched" || fail "untrusted fetched" ""
ref_is main "$v3" && ok "untrusted: ref did not move" || fail "untrusted ref" ""
[ "$v4" != "$v3" ] || fail "v4" "same commit"

# ---- --no-sign-verify, --jobs 1 ----
check "remote add --no-sign-verify" C remote add lax "$NGINX_URL" --no-sign-verify
C pull lax --jobs 1 >"$T/out" 2>"$T/err" && ref_is main "$v3" &&
	C refs --all | grep -q "^$v4 refs/remotes/lax/main$" && ok "pull without signature checks" || fail "lax" "$(cat "$T/err")"
access_lines_since() { tail -n +$(($1 + 1)) "$NGINX_DIR/access.log" | wc -l; }
# ---- proxy=: every request through the proxy (here nginx, for a host that does not exist) ----
check "remote add --proxy" C remote add viaproxy "http://sealtree-origin.invalid:9/" --no-sign-verify --proxy "$NGINX_URL"
grep -qx "proxy=$NGINX_URL" "$cl/remotes/viaproxy/config" && ok "... kept in the remote's config" || fail "proxy config" "$(cat "$cl/remotes/viaproxy/config")"
mark=$(access_lines)
env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u all_proxy -u ALL_PROXY -u no_proxy -u NO_PROXY \
	"$SEALTREE" --repo "$cl" pull viaproxy >"$T/out" 2>"$T/err" && C refs --all | grep -q "^$v4 refs/remotes/viaproxy/main$" &&
	ok "a pull through the remote's proxy" || fail "proxy pull" "$(cat "$T/err")"
n=$(requests_since "$mark" '"GET ')
[ "$n" -ge 2 ] && [ "$(requests_since "$mark" '"[A-Z]* http://sealtree-origin.invalid:9/')" = "$(access_lines_since "$mark")" ] &&
	ok "... its $n requests reached the proxy in absolute form, for the remote's host" ||
	fail "proxy requests" "$(tail -n +$((mark + 1)) "$NGINX_DIR/access.log")"
sed -i '/^proxy=/d' "$cl/remotes/viaproxy/config"
expect_refused "without proxy= the same remote fails, naming the URL" "sealtree-origin.invalid:9/summary" \
	env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u all_proxy -u ALL_PROXY "$SEALTREE" --repo "$cl" pull viaproxy

expect_refused "pull of an unknown ref" "has no ref 'nope'" C pull origin nope
expect_refused "pull of an unknown remote" "no remote 'nope'" C pull nope

done_testing
