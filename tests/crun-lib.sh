# SPDX-License-Identifier: MIT
# Sourced by what runs a command from a mounted image under Debian's crun
# (t2203, make demo part 4).
#
# crun_bundle BUNDLE ROOT COMMAND...: a bundle in BUNDLE (made by 'crun spec')
#   whose read-only root is ROOT and whose process runs COMMAND, no terminal.
# run_crun ARGS...: crun ARGS with no cgroup of its own, under a timeout.
#   crun refuses cgroup v1+v2 "hybrid" hosts; there the v2 hierarchy is hidden
#   from it in a private mount namespace (the host is untouched).

crun_bundle() {
	local bundle=$1 root=$2
	shift 2
	mkdir -p "$bundle" && (cd "$bundle" && crun spec) || return 1
	python3 - "$bundle/config.json" "$root" "$@" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["root"] = {"path": sys.argv[2], "readonly": True}
c["process"]["terminal"] = False
c["process"]["args"] = sys.argv[3:]
c["hostname"] = "sealtree-oci"
json.dump(c, open(sys.argv[1], "w"))
PY
}

run_crun() {
	if [ -d /sys/fs/cgroup/unified ] && [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ]; then
		timeout 120 unshare -m --propagation private sh -c 'umount -l /sys/fs/cgroup/unified && exec crun --cgroup-manager=disabled "$@"' \
			crun "$@"
	else
		timeout 120 crun --cgroup-manager=disabled "$@"
	fi
}
