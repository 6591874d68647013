#!/usr/bin/env bash
# interop/run.sh (`make interop`): proves the gRPC contract from other
# languages and tools against the built server on its sandbox upstream.
#
#   1. installs what the checks need: Debian's python3-grpcio, python3-protobuf
#      and pip with setuptools, only when missing; `npm ci` for interop/node
#      (versions pinned in its package-lock.json; it installs the npm package
#      of clients/ts from its path);
#   2. builds the server and examples/goclient, installs the Python package of
#      clients/python from its path with pip into build/interop/pysite;
#   3. starts `cloudcockpit-facade -sandbox` on free loopback ports and waits
#      (bounded) for it to be ready; a trap stops it on exit;
#   4. runs the Python, Node, Go, grpcurl and curl checks, the snippets of docs/clients.md
#      and `buf breaking` against $BREAKING_AGAINST (default main).
#
# Prints one "ok - ..." / "not ok - ..." line per check and ends with
# "interop: N passed, M failed"; exits 1 when any check failed. Needs Go,
# node and npm on PATH, and root (or sudo) when Debian packages are missing.
# .bin/grpcurl and .bin/buf come from `make tools` (the Makefile target
# depends on it; run standalone, this script runs `make tools googleapis`).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
OUT=$ROOT/build/interop
BIN=$ROOT/.bin
GO=${GO:-go}
PY=/usr/bin/python3 # Debian's python3-grpcio installs for this interpreter, not for a pyenv one
GRPCURL=$BIN/grpcurl
SNIPPETS=$ROOT/docs/clients.md
DEB_PACKAGES=(python3 python3-grpcio python3-protobuf python3-pip python3-setuptools python3-wheel curl)
READY_TIMEOUT=${INTEROP_READY_TIMEOUT:-60} # seconds to wait for the server
CALL_TIMEOUT=${INTEROP_CALL_TIMEOUT:-180}  # seconds for one check command
APT_TIMEOUT=${INTEROP_APT_TIMEOUT:-600}    # seconds for apt-get update, then for apt-get install
NPM_TIMEOUT=${INTEROP_NPM_TIMEOUT:-600}    # seconds for npm ci

RESELLER=11111111-1111-4111-8111-111111111111
UNKNOWN_RESELLER=99999999-9999-4999-8999-999999999999
PROVIDER_INSTANCE=cb3cd15b-1d6e-45be-b493-c71549cbfd87
AUTH=(-H 'authorization: Bearer sandbox-token' -H 'x-tenant: portal.cloudcockpit.com')

passed=0
failed=0
skipped=0
server_pid=

ok() { echo "ok - $*"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }
skip() { echo "skip - $*"; skipped=$((skipped + 1)); }
# comment prints a file's last lines as "#" comments, to explain a failure.
comment() { tail -n "${2:-20}" "$1" | sed 's/^/#   /'; }

finish() {
	[[ $skipped -gt 0 ]] && echo "# $skipped skipped"
	echo "interop: $passed passed, $failed failed"
	[[ $failed -eq 0 ]]
	exit
}

# fatal ends the run when a step that every check needs fails.
fatal() {
	not_ok "setup: $1"
	[[ -n ${2:-} && -f $2 ]] && comment "$2" 40
	finish
}

stop_server() {
	if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$server_pid" 2>/dev/null
		wait "$server_pid" 2>/dev/null
	fi
	server_pid=
}
trap stop_server EXIT
trap 'stop_server; exit 130' INT TERM

mkdir -p "$OUT"

# --- 1. install -------------------------------------------------------------

missing=()
for p in "${DEB_PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
	echo "# installing Debian packages: ${missing[*]}"
	sudo=()
	[[ $(id -u) -ne 0 ]] && sudo=(sudo)
	{
		timeout --kill-after=10 "$APT_TIMEOUT" "${sudo[@]}" apt-get update &&
			DEBIAN_FRONTEND=noninteractive timeout --kill-after=10 "$APT_TIMEOUT" "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
	} >"$OUT/apt.log" 2>&1 || fatal "apt-get install ${missing[*]} (exit $?; 124: timed out after ${APT_TIMEOUT}s)" "$OUT/apt.log"
fi
for c in node npm curl "$PY"; do
	command -v "$c" >/dev/null || fatal "$c not found"
done
if [[ ! -x $GRPCURL || ! -x $BIN/buf || ! -f build/googleapis/google/api/annotations.proto ]]; then
	make -s tools googleapis >"$OUT/tools.log" 2>&1 || fatal "make tools googleapis" "$OUT/tools.log"
fi
# npm ci under a timeout, with npm's own retries bounded too: a registry that
# stops answering must cost minutes, not CI's whole budget.
(cd interop/node && timeout --kill-after=10 "$NPM_TIMEOUT" npm ci --ignore-scripts --no-audit --no-fund \
	--fetch-timeout=60000 --fetch-retries=2 --loglevel=http) >"$OUT/npm.log" 2>&1 ||
	fatal "npm ci in interop/node (exit $?; 124: timed out after ${NPM_TIMEOUT}s)" "$OUT/npm.log"

# --- 2. build and generate ---------------------------------------------------

"$GO" build -o "$OUT/cloudcockpit-facade" ./cmd/server >"$OUT/build.log" 2>&1 || fatal "go build ./cmd/server" "$OUT/build.log"
"$GO" build -o "$OUT/goclient" ./examples/goclient >"$OUT/build.log" 2>&1 || fatal "go build ./examples/goclient" "$OUT/build.log"

# The Python package, installed from its path as a user would (Debian's pip:
# no index, no dependencies, Debian's setuptools as the build backend).
PYSITE=$OUT/pysite
rm -rf "$PYSITE"
rm -rf clients/python/build # setuptools copies into build/lib and never deletes there
"$PY" -m pip install --no-deps --no-build-isolation --no-index --target "$PYSITE" ./clients/python >"$OUT/pip.log" 2>&1 ||
	fatal "pip install ./clients/python" "$OUT/pip.log"

# --- 3. start the server ------------------------------------------------------

read -r GRPC_PORT HTTP_PORT < <("$PY" -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
')
[[ -n ${HTTP_PORT:-} ]] || fatal "no free loopback ports"
GRPC_ADDR=127.0.0.1:$GRPC_PORT
HTTP_URL=http://127.0.0.1:$HTTP_PORT
env -u CLOUDCOCKPIT_BASE_URL -u CLOUDCOCKPIT_TENANT -u SANDBOX \
	"$OUT/cloudcockpit-facade" -sandbox -grpc-addr "$GRPC_ADDR" -http-addr "127.0.0.1:$HTTP_PORT" \
	>"$OUT/server.log" 2>&1 &
server_pid=$!
ready=
for _ in $(seq $((READY_TIMEOUT * 5))); do
	kill -0 "$server_pid" 2>/dev/null || fatal "the server exited at start-up" "$OUT/server.log"
	if curl -fsS -m 2 "$HTTP_URL/readyz" >/dev/null 2>&1; then
		ready=1
		break
	fi
	sleep 0.2
done
[[ -n $ready ]] || fatal "the server was not ready within ${READY_TIMEOUT}s" "$OUT/server.log"
echo "# server ready: gRPC $GRPC_ADDR, HTTP $HTTP_URL (log: build/interop/server.log)"

# --- 4. checks -----------------------------------------------------------------

# suite runs a command that prints its own "ok - " / "not ok - " lines and
# adds them to the totals; a crash or a silent run is a failure of its own.
suite() {
	local name=$1
	shift
	local log=$OUT/$name
	timeout "$CALL_TIMEOUT" "$@" >"$log.out" 2>"$log.err"
	local rc=$? n_ok n_not
	n_ok=$(grep -c '^ok - ' "$log.out")
	n_not=$(grep -c '^not ok - ' "$log.out")
	grep -E '^(not )?ok - ' "$log.out"
	passed=$((passed + n_ok))
	failed=$((failed + n_not))
	if [[ $n_not -gt 0 ]]; then
		comment "$log.err" 30
	fi
	if [[ $rc -ne 0 && $n_not -eq 0 ]]; then
		not_ok "$name: exited $rc"
		comment "$log.err" 30
	elif [[ $rc -eq 0 && $n_ok -eq 0 ]]; then
		not_ok "$name: ran no check"
	fi
}

# expect NAME WANT_RC FILE RC PATTERN...: the command exited WANT_RC and its
# output (FILE) contains every fixed-string PATTERN.
expect() {
	local name=$1 want_rc=$2 file=$3 rc=$4
	shift 4
	if [[ $rc -ne $want_rc ]]; then
		not_ok "$name: exit status $rc, want $want_rc"
		comment "$file"
		return
	fi
	local p
	for p in "$@"; do
		if ! grep -qF -- "$p" "$file"; then
			not_ok "$name: output lacks \"$p\""
			comment "$file"
			return
		fi
	done
	ok "$name"
}

# run FILE CMD...: runs CMD (bounded) with stdout and stderr into FILE, returns its status.
run() {
	local file=$1
	shift
	timeout "$CALL_TIMEOUT" "$@" >"$file" 2>&1
}

# snippet INFO: the first fenced block of docs/clients.md opened by ```INFO.
snippet() {
	awk -v lang="$1" '
		$0 == "```" lang { inside = 1; next }
		inside && $0 == "```" { exit }
		inside { print }' "$SNIPPETS"
}

uuid() { "$PY" -c 'import uuid; print(uuid.uuid4())'; }

# Python (Debian's grpcio) -------------------------------------------------------
suite python env PYTHONPATH="$PYSITE" "$PY" interop/python/client.py --addr "$GRPC_ADDR"

# Node.js (@grpc/grpc-js) ----------------------------------------------------------
suite node node interop/node/client.js --addr "$GRPC_ADDR" --proto proto --googleapis build/googleapis

# Node.js through the npm package of clients/ts (Connect-ES: gRPC, Connect, gRPC-Web) --
suite node-facade-client node interop/node/facade-client.mjs --addr "$GRPC_ADDR" --http "$HTTP_URL"

# Go (examples/goclient, importing gen/) -----------------------------------------
cid=$(uuid)
f=$OUT/go-ok.out
run "$f" "$OUT/goclient" -addr "$GRPC_ADDR" -correlation-id "$cid"
expect "go: examples/goclient calls GetReseller and GetAcceptanceLink, correlation id from the header metadata" 0 "$f" $? \
	"GetReseller: correlation id $cid" "reseller $RESELLER \"Contoso" "country PT" \
	"GetAcceptanceLink: correlation id $cid" "acceptance link https://admin.microsoft.com/"
cid=$(uuid)
f=$OUT/go-notfound.out
run "$f" "$OUT/goclient" -addr "$GRPC_ADDR" -correlation-id "$cid" -reseller "$UNKNOWN_RESELLER"
expect "go: NOT_FOUND decoded with status.FromError + errdetails" 1 "$f" $? \
	"GetReseller: correlation id $cid" "GetReseller failed: code NotFound: Reseller not found." \
	"ErrorInfo reason=UPSTREAM_NOT_FOUND domain=cloudcockpit-facade" "correlationId=$cid" "upstreamHttpStatus=404" \
	"RequestInfo request_id=$cid" "ResourceInfo type=cloudcockpit.v1.Reseller name=$UNKNOWN_RESELLER"
f=$OUT/go-invalid.out
run "$f" "$OUT/goclient" -addr "$GRPC_ADDR" -reseller not-a-uuid -tenant 'not a domain'
expect "go: INVALID_ARGUMENT decoded, BadRequest lists reseller_id and x-tenant" 1 "$f" $? \
	"GetReseller failed: code InvalidArgument" "ErrorInfo reason=INVALID_REQUEST domain=cloudcockpit-facade" \
	"RequestInfo request_id=" "BadRequest field=reseller_id: " "BadRequest field=x-tenant: "

# grpcurl, through reflection only (no -proto, no -protoset) ------------------------
f=$OUT/grpcurl-list.out
run "$f" "$GRPCURL" -plaintext "$GRPC_ADDR" list
expect "grpcurl: list shows both services" 0 "$f" $? cloudcockpit.v1.ResellerService cloudcockpit.v1.CustomerService
f=$OUT/grpcurl-describe-reseller.out
run "$f" "$GRPCURL" -plaintext "$GRPC_ADDR" describe cloudcockpit.v1.Reseller
expect "grpcurl: describe cloudcockpit.v1.Reseller shows the field documentation" 0 "$f" $? \
	"message Reseller {" "ISO 3166-1 alpha-2" "optional string company_name = 2;" "// The company city. Up to 255 characters."
f=$OUT/grpcurl-describe-service.out
run "$f" "$GRPCURL" -plaintext "$GRPC_ADDR" describe cloudcockpit.v1.ResellerService
expect "grpcurl: describe cloudcockpit.v1.ResellerService shows its comments and HTTP rule" 0 "$f" $? \
	"rpc GetReseller ( .cloudcockpit.v1.GetResellerRequest ) returns ( .cloudcockpit.v1.Reseller )" \
	"// Retrieves the reseller with the given id" "/v1/Resellers/{reseller_id}"
f=$OUT/grpcurl-describe-method.out
run "$f" "$GRPCURL" -plaintext "$GRPC_ADDR" describe cloudcockpit.v1.CustomerService.GetAcceptanceLink
expect "grpcurl: describe cloudcockpit.v1.CustomerService.GetAcceptanceLink shows its comments" 0 "$f" $? \
	"// Gets a link that a customer opens to accept a relationship" "/v1/Customers/relationship-acceptance"
f=$OUT/grpcurl-health.out
run "$f" "$GRPCURL" -plaintext "$GRPC_ADDR" grpc.health.v1.Health/Check
expect "grpcurl: grpc.health.v1.Health/Check is SERVING" 0 "$f" $? '"status": "SERVING"'
cid=$(uuid)
f=$OUT/grpcurl-getreseller.out
run "$f" "$GRPCURL" -plaintext -v "${AUTH[@]}" -H "x-correlation-id: $cid" \
	-d "{\"reseller_id\": \"$RESELLER\"}" "$GRPC_ADDR" cloudcockpit.v1.ResellerService/GetReseller
expect "grpcurl: GetReseller with metadata, x-correlation-id in the response headers" 0 "$f" $? \
	"x-correlation-id: $cid" "\"id\": \"$RESELLER\"" '"companyName": "Contoso' '"country": "PT"' '"providerResellers": ['
f=$OUT/grpcurl-getacceptancelink.out
run "$f" "$GRPCURL" -plaintext "${AUTH[@]}" \
	-d "{\"provider_instance_id\": \"$PROVIDER_INSTANCE\", \"reseller_id\": \"$RESELLER\"}" \
	"$GRPC_ADDR" cloudcockpit.v1.CustomerService/GetAcceptanceLink
expect "grpcurl: GetAcceptanceLink" 0 "$f" $? '"url": "https://admin.microsoft.com/Adminportal/Home?invType=IndirectResellerRelationship'

# grpcurl_error NAME WANT_RC GRPC_CODE DETAIL_TYPES FIELDS REQUEST METADATA...: a
# failing call printed with -format-error is one JSON status whose details are
# decoded (each has @type and fields, none is a raw @value).
grpcurl_error() {
	local name=$1 want_rc=$2 code=$3 types=$4 fields=$5 req=$6 method=$7
	shift 7
	local f=$OUT/grpcurl-$code.out rc
	run "$f" "$GRPCURL" -plaintext -format-error "$@" -d "$req" "$GRPC_ADDR" "$method"
	rc=$?
	if [[ $rc -ne $want_rc ]]; then
		not_ok "$name: exit status $rc, want $want_rc"
		comment "$f"
		return
	fi
	local why
	if why=$("$PY" - "$f" "$code" "$types" "$fields" 2>&1 <<'EOF'
import json, sys
path, code, types, fields = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(","), sys.argv[4].split(",")
text = open(path).read()
st = json.loads(text)
assert "@value" not in text, "a detail is printed as raw @value"
assert st["code"] == code, f"code {st['code']}, want {code}"
assert st["message"], "empty message"
got = {}
for d in st["details"]:
    t = d["@type"].rsplit("/", 1)[-1]
    assert len(d) > 1, f"{t} has no decoded fields"
    got[t] = d
want = ["google.rpc." + t for t in types]
assert sorted(got) == sorted(want), f"detail types {sorted(got)}, want {sorted(want)}"
info, req = got["google.rpc.ErrorInfo"], got["google.rpc.RequestInfo"]
assert info["domain"] == "cloudcockpit-facade", info
assert info["reason"], info
assert info["metadata"]["correlationId"] == req["requestId"], (info, req)
flat = json.dumps(st)
for f in fields:
    assert f in flat, f"{f} not in {flat}"
EOF
	); then
		ok "$name"
	else
		not_ok "$name: $(tail -n 1 <<<"$why")"
		comment "$f"
	fi
}
grpcurl_error "grpcurl: NOT_FOUND with -format-error shows ErrorInfo, RequestInfo, ResourceInfo decoded" \
	69 5 ErrorInfo,RequestInfo,ResourceInfo '"reason": "UPSTREAM_NOT_FOUND","resourceName": "'"$UNKNOWN_RESELLER"'"' \
	"{\"reseller_id\": \"$UNKNOWN_RESELLER\"}" cloudcockpit.v1.ResellerService/GetReseller "${AUTH[@]}"
grpcurl_error "grpcurl: INVALID_ARGUMENT with -format-error shows ErrorInfo, RequestInfo, BadRequest decoded" \
	67 3 ErrorInfo,RequestInfo,BadRequest '"reason": "INVALID_REQUEST","field": "reseller_id","fieldViolations"' \
	'{"reseller_id": "not-a-uuid"}' cloudcockpit.v1.ResellerService/GetReseller "${AUTH[@]}"

# curl: health and the JSON mirror ------------------------------------------------
f=$OUT/curl-healthz.out
run "$f" curl -sS -m 10 -w '\n%{http_code}\n' "$HTTP_URL/healthz"
expect "curl: GET /healthz" 0 "$f" $? '{"status":"SERVING"}' 200
cid=$(uuid)
f=$OUT/curl-reseller.out
run "$f" curl -sS -m 10 -D "$OUT/curl-reseller.headers" -w '\n%{http_code}\n' \
	-H 'Authorization: Bearer sandbox-token' -H 'X-Tenant: portal.cloudcockpit.com' -H "X-Correlation-Id: $cid" \
	"$HTTP_URL/v1/Resellers/$RESELLER"
# The mirror is required once non-generated code registers the generated
# gateway handlers; before that the HTTP listener only serves health.
if ! grep -rqs --include='*.go' 'RegisterResellerServiceHandler' cmd internal; then
	skip "curl: REST mirror GET /v1/Resellers/{id} (no code registers the grpc-gateway handlers yet)"
else
	cat "$OUT/curl-reseller.headers" >>"$f"
	expect "curl: REST mirror GET /v1/Resellers/{id}, X-Correlation-Id echoed" 0 "$f" 0 \
		'"companyName":' "$RESELLER" "$cid" 200
	f=$OUT/curl-link.out
	run "$f" curl -sS -m 10 -w '\n%{http_code}\n' -H 'Authorization: Bearer sandbox-token' -H 'X-Tenant: portal.cloudcockpit.com' \
		"$HTTP_URL/v1/Customers/relationship-acceptance?providerInstanceId=$PROVIDER_INSTANCE"
	expect "curl: REST mirror GET /v1/Customers/relationship-acceptance" 0 "$f" $? '"https://admin.microsoft.com/' 200
	f=$OUT/curl-notfound.out
	run "$f" curl -sS -m 10 -w '\n%{http_code}\n' -H 'Authorization: Bearer sandbox-token' -H 'X-Tenant: portal.cloudcockpit.com' \
		"$HTTP_URL/v1/Resellers/$UNKNOWN_RESELLER"
	rc=$?
	if grep -qF '@value' "$f"; then
		not_ok "curl: REST mirror 404 prints a raw @value detail"
		comment "$f"
	else
		expect "curl: REST mirror 404 carries decoded google.rpc details" 0 "$f" $rc \
			'google.rpc.ErrorInfo' 'UPSTREAM_NOT_FOUND' 404
	fi
fi

# The snippets of docs/clients.md, verbatim ------------------------------------------------------
f=$OUT/snippet-python.out
snippet python >"$OUT/snippet.py"
run "$f" env PYTHONPATH="$PYSITE" CLOUDCOCKPIT_ADDR="$GRPC_ADDR" "$PY" "$OUT/snippet.py"
expect "docs/clients.md snippet: Python" 0 "$f" $? "Contoso" "correlation id" "NotFound StatusCode.NOT_FOUND UPSTREAM_NOT_FOUND"
# The TypeScript snippets are type-checked against the package's .d.ts and
# compiled by the pinned tsc, then run by node next to interop/node's
# node_modules; the browser one with `location` set to the server's origin.
tsdir=$OUT/_tssnippet
rm -rf "$tsdir" && mkdir -p "$tsdir" && ln -s "$ROOT/interop/node/node_modules" "$tsdir/node_modules"
snippet ts >"$tsdir/node.mts"
snippet "ts browser" >"$tsdir/browser.mts"
f=$OUT/snippet-tsc.out
run "$f" interop/node/node_modules/.bin/tsc --strict --skipLibCheck --target es2022 --module nodenext --lib es2022,dom --typeRoots interop/node/node_modules/@types "$tsdir/node.mts" "$tsdir/browser.mts"
expect "docs/clients.md snippets: TypeScript type-checks (tsc --strict)" 0 "$f" $?
f=$OUT/snippet-ts-node.out
run "$f" env CLOUDCOCKPIT_ADDR="$GRPC_ADDR" node "$tsdir/node.mjs"
expect "docs/clients.md snippet: TypeScript, Node.js (connect-node, gRPC)" 0 "$f" $? "Contoso" "correlation id" "NotFound UPSTREAM_NOT_FOUND"
f=$OUT/snippet-ts-browser.out
run "$f" node --import "data:text/javascript,globalThis.location = new URL('$HTTP_URL')" "$tsdir/browser.mjs"
expect "docs/clients.md snippet: TypeScript, browser (connect-web, Connect)" 0 "$f" $? "Contoso" "UPSTREAM_NOT_FOUND $UNKNOWN_RESELLER"
f=$OUT/snippet-go.out
rm -rf "$OUT/_gosnippet" && mkdir -p "$OUT/_gosnippet" # "_": ignored by ./... patterns
snippet go >"$OUT/_gosnippet/main.go"
run "$f" env CLOUDCOCKPIT_ADDR="$GRPC_ADDR" "$GO" run ./build/interop/_gosnippet
expect "docs/clients.md snippet: Go" 0 "$f" $? "Contoso" "NotFound UPSTREAM_NOT_FOUND"

# Contract stability ------------------------------------------------------------------
f=$OUT/breaking.out
run "$f" env BUF="$BIN/buf" bash interop/breaking.sh
expect "buf breaking against ${BREAKING_AGAINST:-main} (WIRE_JSON)" 0 "$f" $?

stop_server
finish
