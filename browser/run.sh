#!/usr/bin/env bash
# browser/run.sh (`make browser`): a page on another origin, in headless
# Chromium, calls the facade over REST, Connect and gRPC-Web.
#
#   1. installs Debian's chromium when missing, and `npm ci` in browser/
#      (versions pinned in package-lock.json; it installs the npm package of
#      clients/ts, the generated code, from its path), each under a timeout,
#      printing its log when it fails;
#   2. bundles browser/page.js with esbuild into build/browser/www/app.js and
#      builds the server;
#   3. runs browser.test.mjs with node's test runner: it starts the facade on
#      the sandbox upstream with the page's origin allowed, serves the page
#      from another loopback port and drives Chromium through playwright-core.
#
# Needs Go, node and npm on PATH, .bin/buf (`make tools`) and build/googleapis
# (`make googleapis`), and root (or sudo) when chromium is missing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=$ROOT/build/browser
GO=${GO:-go}
INSTALL_TIMEOUT=${BROWSER_INSTALL_TIMEOUT:-900} # seconds for apt or npm
TEST_TIMEOUT=${BROWSER_TEST_TIMEOUT:-300}       # seconds for the test run
mkdir -p "$OUT"

# step NAME LOG CMD...: runs CMD with its output in LOG; on failure prints
# the log's end and stops.
step() {
	local name=$1 log=$2
	shift 2
	if ! "$@" >"$log" 2>&1; then
		echo "browser: $name failed; its log ($log):"
		tail -n 60 "$log" | sed 's/^/    /'
		exit 1
	fi
}

if ! command -v chromium >/dev/null; then
	sudo=()
	[[ $(id -u) -ne 0 ]] && sudo=(sudo)
	step "apt-get install chromium" "$OUT/apt.log" \
		timeout "$INSTALL_TIMEOUT" bash -c "${sudo[*]} apt-get update && DEBIAN_FRONTEND=noninteractive ${sudo[*]} apt-get install -y --no-install-recommends chromium"
fi
for c in node npm chromium; do
	command -v "$c" >/dev/null || { echo "browser: $c not found"; exit 1; }
done
[[ -x .bin/buf && -f build/googleapis/google/api/annotations.proto ]] ||
	{ echo "browser: run 'make tools googleapis' first"; exit 1; }

# --ignore-scripts: esbuild's binary comes from its optional dependency
# (@esbuild/linux-x64), and no other package needs an install script.
step "npm ci in browser/" "$OUT/npm.log" \
	timeout "$INSTALL_TIMEOUT" bash -c 'cd browser && npm ci --ignore-scripts --no-audit --no-fund'

mkdir -p "$OUT/www"
cp browser/index.html "$OUT/www/"
step "esbuild" "$OUT/esbuild.log" \
	timeout 120 browser/node_modules/.bin/esbuild browser/page.js --bundle --format=esm --target=es2022 --outfile="$OUT/www/app.js"
step "go build ./cmd/server" "$OUT/build.log" \
	"$GO" build -o "$OUT/cloudcockpit-facade" ./cmd/server

FACADE_BIN=$OUT/cloudcockpit-facade WWW_DIR=$OUT/www \
	timeout "$TEST_TIMEOUT" node --test --test-reporter=spec browser/browser.test.mjs
