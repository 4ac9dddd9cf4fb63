#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree oci pull from docker-registry with authentication: htpasswd
# (Basic) and a token realm (Bearer) served by tests/oci-token-server.py,
# whose RS256 tokens the registry checks against the test's own
# certificate (made with openssl). Anonymous pulls get a pull token;
# credentials go as Basic to the realm (or to the registry for htpasswd);
# missing or wrong credentials fail with a message saying so.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/oci-registry-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
need_registry_tools
command -v openssl >/dev/null || skip_all "needs openssl"
export LC_ALL=C
T=$TEST_TMP
cl=$T/cl
C() { "$SEALTREE" --repo "$cl" "$@"; }
TOKEN_PID=
trap '[ -z "$TOKEN_PID" ] || kill $TOKEN_PID 2>/dev/null; registry_stop_all; cleanup_test_tmp' EXIT

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

mkdir -p "$T/tree/etc"
echo secret-image >"$T/tree/etc/hello"
oci_image "$T/layout" t "$T/tree"
C init --verity=off >/dev/null

# ---- htpasswd: Basic ----
bcrypt_line alice s3cret >"$T/htpasswd"
registry_start basic "auth:
  htpasswd:
    realm: sealtree-test
    path: $T/htpasswd"
push "$T/layout:t" test/private:1 --dest-creds alice:s3cret
expect_refused "Basic: without credentials, the error asks for them" "asks for a user and password (--creds" \
	C oci pull --tls-verify=false "$REG/test/private:1"
expect_refused "Basic: wrong credentials are refused" "refused the credentials" \
	C oci pull --tls-verify=false --creds alice:wrong "$REG/test/private:1"
check "Basic: the right credentials pull" C oci pull --tls-verify=false --creds alice:s3cret "$REG/test/private:1"
check "... the image" test "$(C cat "oci/$REG/test/private:1" /etc/hello)" = secret-image
registry_stop_all

# ---- a token realm: Bearer ----
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/token.key" -out "$T/token.crt" -days 2 \
	-subj "/CN=sealtree test token issuer" 2>/dev/null
: >"$T/token.log"
python3 "$SOURCE_DIR/tests/oci-token-server.py" "$T/token.key" "$T/token.crt" sealtree-test-issuer \
	bob:hunter2 "$T/token.log" >"$T/token.port" &
TOKEN_PID=$!
for _ in $(seq 50); do [ -s "$T/token.port" ] && break; sleep 0.1; done
TPORT=$(cat "$T/token.port")
registry_start token "auth:
  token:
    realm: http://127.0.0.1:$TPORT/token
    service: sealtree-test-registry
    issuer: sealtree-test-issuer
    rootcertbundle: $T/token.crt"
push "$T/layout:t" test/tok:1 --dest-creds bob:hunter2
: >"$T/token.log"
check "Bearer: an anonymous pull gets a token from the realm" C oci pull --tls-verify=false "$REG/test/tok:1"
check "... the image" test "$(C cat "oci/$REG/test/tok:1" /etc/hello)" = secret-image
check "... asked for service and pull scope, anonymously" \
	grep -q "^/token?service=sealtree-test-registry&scope=repository%3Atest%2Ftok%3Apull auth=no" "$T/token.log"
: >"$T/token.log"
check "Bearer: with --creds the realm gets them" \
	C oci pull --tls-verify=false --creds bob:hunter2 --name other/tok:1 "$REG/test/tok:1"
check "... as Basic" grep -q "scope=repository%3Atest%2Ftok%3Apull auth=yes" "$T/token.log"
expect_refused "Bearer: the realm refusing the credentials is an error naming it" \
	"127.0.0.1:$TPORT/token.*refused the credentials" \
	C oci pull --tls-verify=false --creds bob:wrong --name other/tok:2 "$REG/test/tok:1"
rc=0
C cat oci/other/tok:2 /etc/hello >/dev/null 2>&1 || rc=$?
check "... and publishes nothing" test $rc != 0

done_testing
