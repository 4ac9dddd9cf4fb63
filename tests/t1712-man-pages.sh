#!/bin/bash
# SPDX-License-Identifier: MIT
# The man pages cannot drift from the commands: every verb sealtree --help,
# sealtree admin --help and sealtree oci --help list has its own page in
# docs/man (listed in docs/man/meson.build, built when go-md2man is
# there), every option a verb's --help names is in its page, and so for
# the tools; every command prints --help and exits 0, and an unknown
# option is refused, named, with a non-zero exit (tests/man-check.py).
. "$(dirname "$0")/test-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
command -v python3 >/dev/null || skip_all "needs python3"
SRC=$(cd "$(dirname "$0")/.." && pwd)
rc=0
python3 "$SRC/tests/man-check.py" "$SRC" "$BUILD_DIR" || rc=$?
cleanup_test_tmp
exit $rc
