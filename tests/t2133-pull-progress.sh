#!/bin/bash
# SPDX-License-Identifier: MIT
# pull's progress: on a terminal (a pty made by script(1)) a line redrawn on
# standard error with objects and bytes done/total, the rate and the time
# left, bytes counted while large objects arrive (nginx sends slowly);
# nothing of it when standard error is not a terminal, or with --quiet.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/remote-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
command -v script >/dev/null || skip_all "needs script(1) for a pty"

mkdir -p "$T/tree"
for i in 1 2; do head -c $((3 * 1048576 + i)) /dev/urandom >"$T/tree/big$i"; done
for i in $(seq 1 10); do head -c $((900 + i)) /dev/urandom >"$T/tree/f$i"; done
S init --verity=off >/dev/null
S commit -b main --tree "$T/tree" >/dev/null
S summary >/dev/null
NGINX_SERVER_EXTRA='location /objects/ { limit_rate 2m; }'
nginx_start "$srv"

for c in tty notty quiet; do
	"$SEALTREE" --repo "$T/$c" init --verity=off >/dev/null
	"$SEALTREE" --repo "$T/$c" remote add origin "$NGINX_URL" --no-sign-verify
done
# On a pty: stderr and stdout both go to the typescript.
script -q -e -c "'$SEALTREE' --repo '$T/tty' pull origin" "$T/typescript" >/dev/null 2>&1 &&
	ok "pull on a terminal" || fail "pull tty" "$(cat "$T/typescript")"
tr '\r' '\n' <"$T/typescript" | grep -a '^.*pull: [0-9]*/12 objects' >"$T/lines" || true
[ "$(wc -l <"$T/lines")" -ge 3 ] && ok "the progress line is redrawn ($(wc -l <"$T/lines") times)" ||
	fail "redraws" "$(cat -v "$T/typescript")"
grep -aq 'pull: 12/12 objects, 6.0/6.0 MiB, [0-9.]* MiB/s, ETA 0s' "$T/lines" && ok "... ending at 12/12 objects, 6.0/6.0 MiB, ETA 0s" ||
	fail "final line" "$(cat -v "$T/lines")"
grep -aq 'ETA [0-9]' "$T/lines" && grep -aq 'MiB/s' "$T/lines" && ok "... with a rate and a time left" || fail "rate eta" "$(cat -v "$T/lines")"
# Bytes move while the large objects arrive: some line shows a fraction of a large object.
awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^[0-9.]+\/6\.0$/) { split($i, a, "/"); print a[1] } }' "$T/lines" |
	awk '$1 > 0.1 && $1 < 5.9 { n++ } END { exit !(n >= 1) }' && ok "... bytes counted while objects arrive" ||
	fail "bytes in flight" "$(cat -v "$T/lines")"
"$SEALTREE" --repo "$T/notty" pull origin >"$T/out" 2>"$T/err" && [ ! -s "$T/err" ] && grep -q "^pull: 12 objects" "$T/out" &&
	ok "not a terminal: no progress, the summary on stdout" || fail "notty" "$(cat -v "$T/err")"
script -q -e -c "'$SEALTREE' --quiet --repo '$T/quiet' pull origin 2>'$T/qerr'" /dev/null >/dev/null 2>&1 &&
	[ ! -s "$T/qerr" ] && ok "--quiet on a terminal: no progress" || fail "quiet" "$(cat -v "$T/qerr")"

done_testing
