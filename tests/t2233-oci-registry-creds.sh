#!/bin/bash
# SPDX-License-Identifier: MIT
# Registry credentials from the auth files podman, skopeo and docker keep,
# against docker-registry with htpasswd (Basic) auth: REGISTRY_AUTH_FILE,
# $XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json (base64
# "auth" under "auths", keys with a scheme and a repository part, the most
# specific key winning); --creds wins over them; a malformed file is named;
# push uses them too; no file, no credentials (as before).
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/oci-registry-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
need_registry_tools
export LC_ALL=C
T=$TEST_TMP
cl=$T/cl
# Nothing of the caller's: an empty home and runtime dir.
export HOME=$T/home XDG_RUNTIME_DIR=$T/run
unset REGISTRY_AUTH_FILE XDG_CONFIG_HOME DOCKER_CONFIG
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
C() { "$SEALTREE" --repo "$cl" "$@"; }
trap 'registry_stop_all; cleanup_test_tmp' EXIT
expect_refused() {
	local name=$1 pattern=$2 rc=0
	shift 2
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	if [ $rc = 1 ] && grep -q -- "$pattern" "$T/err"; then ok "$name"; else fail "$name" "rc=$rc, stderr: $(cat "$T/err")"; fi
}
auth_json() {	# auth_json FILE KEY USER:PASSWORD [KEY USER:PASSWORD...]
	local f=$1
	shift
	python3 - "$f" "$@" <<'PY'
import base64, json, sys
f, args = sys.argv[1], sys.argv[2:]
auths = {args[i]: {"auth": base64.b64encode(args[i + 1].encode()).decode()} for i in range(0, len(args), 2)}
json.dump({"auths": auths}, open(f, "w"))
PY
}

mkdir -p "$T/tree/etc"
echo secret-image >"$T/tree/etc/hello"
oci_image "$T/layout" t "$T/tree"
C init --verity=off >/dev/null
bcrypt_line alice s3cret >"$T/htpasswd"
registry_start basic "auth:
  htpasswd:
    realm: sealtree-test
    path: $T/htpasswd"
push "$T/layout:t" test/private:1 --dest-creds alice:s3cret

expect_refused "no auth file: credentials are asked for" "asks for a user and password" \
	C oci pull --tls-verify=false "$REG/test/private:1"
mkdir -p "$XDG_RUNTIME_DIR/containers"
auth_json "$XDG_RUNTIME_DIR/containers/auth.json" "$REG" alice:s3cret
check "XDG_RUNTIME_DIR/containers/auth.json" C -q oci pull --tls-verify=false "$REG/test/private:1" --name a:1
check "... the image" test "$(C cat oci/a:1 /etc/hello)" = secret-image
expect_refused "--creds wins over the file" "refused the credentials" \
	C oci pull --tls-verify=false --creds alice:wrong "$REG/test/private:1" --name b:1
auth_json "$T/other.json" "$REG" alice:wrong
expect_refused "REGISTRY_AUTH_FILE comes first" "refused the credentials" \
	env REGISTRY_AUTH_FILE="$T/other.json" "$SEALTREE" --repo "$cl" oci pull --tls-verify=false "$REG/test/private:1" --name b:1
auth_json "$T/scoped.json" "$REG" alice:wrong "http://$REG/test" alice:s3cret "$REG/test/priv" alice:wrong
check "the most specific key (registry/namespace, with a scheme) wins" \
	env REGISTRY_AUTH_FILE="$T/scoped.json" "$SEALTREE" --repo "$cl" -q oci pull --tls-verify=false "$REG/test/private:1" --name c:1
rm "$XDG_RUNTIME_DIR/containers/auth.json"
mkdir -p "$HOME/.docker"
auth_json "$HOME/.docker/config.json" "https://$REG/v2/" alice:s3cret
check "~/.docker/config.json (docker's key form)" C -q oci pull --tls-verify=false "$REG/test/private:1" --name d:1
check "push uses them too" C -q oci push --tls-verify=false oci/d:1 "$REG/test/pushed:1"
printf '{"auths": {"%s": {"auth": "not base64!"}}}' "$REG" >"$T/bad.json"
expect_refused "bad base64: the file is named" "bad.json: the \"auth\" of" \
	env REGISTRY_AUTH_FILE="$T/bad.json" "$SEALTREE" --repo "$cl" oci pull --tls-verify=false "$REG/test/private:1" --name e:1
printf '{"auths": {' >"$T/broken.json"
expect_refused "malformed JSON: the file is named" "broken.json: not valid JSON" \
	env REGISTRY_AUTH_FILE="$T/broken.json" "$SEALTREE" --repo "$cl" oci pull --tls-verify=false "$REG/test/private:1" --name e:1
expect_refused "a FIFO is not read" "not a regular file" \
	env REGISTRY_AUTH_FILE=/dev/zero "$SEALTREE" --repo "$cl" oci pull --tls-verify=false "$REG/test/private:1" --name e:1
auth_json "$T/elsewhere.json" "other.example:5000" alice:s3cret
expect_refused "an entry for another registry is not used" "asks for a user and password" \
	env REGISTRY_AUTH_FILE="$T/elsewhere.json" HOME=/nonexistent "$SEALTREE" --repo "$cl" oci pull --tls-verify=false "$REG/test/private:1" --name e:1
done_testing
