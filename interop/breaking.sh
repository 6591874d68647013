#!/usr/bin/env bash
# interop/breaking.sh (`make breaking`): `buf breaking` (rules in buf.yaml:
# WIRE_JSON) of the working tree's proto/ against a git ref, offline.
#
# buf cannot build a git ref itself here: the googleapis protos it imports
# live in build/googleapis, which is not committed. So this builds the image
# of the ref from `git archive` (its proto/ and buf.yaml) with the current
# build/googleapis (and build/protovalidate) copied in, and compares proto/ against that image.
#
#   interop/breaking.sh [REF]     REF defaults to $BREAKING_AGAINST, then main
#
# A ref without .proto files under proto/ (the contract's first commit)
# passes: there is nothing to break. Needs .bin/buf (`make tools`) and
# build/googleapis (`make googleapis`).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ref=${1:-${BREAKING_AGAINST:-main}}
buf=${BUF:-.bin/buf}

[[ -x $buf ]] || { echo "breaking: $buf not found: run 'make tools'"; exit 1; }
[[ -f build/googleapis/google/api/annotations.proto ]] || { echo "breaking: build/googleapis is missing: run 'make googleapis'"; exit 1; }
if ! commit=$(git rev-parse --verify --quiet "$ref^{commit}"); then
	# A clone on another branch may only have the remote-tracking ref.
	commit=$(git rev-parse --verify --quiet "origin/$ref^{commit}") ||
		{ echo "breaking: unknown git ref '$ref' (set BREAKING_AGAINST)"; exit 1; }
fi
if ! git ls-tree -r --name-only "$commit" -- proto | grep -q '\.proto$'; then
	echo "breaking: $ref ($commit) has no .proto files under proto/: nothing to compare, pass"
	exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git archive "$commit" -- proto | tar -x -C "$tmp"
# The ref's own module layout when it has one, else today's.
if git cat-file -e "$commit:buf.yaml" 2>/dev/null; then
	git show "$commit:buf.yaml" >"$tmp/buf.yaml"
else
	cp buf.yaml "$tmp/buf.yaml"
fi
mkdir -p "$tmp/build"
cp -R build/googleapis "$tmp/build/googleapis"
[[ ! -d build/protovalidate ]] || cp -R build/protovalidate "$tmp/build/protovalidate"

buf=$(cd "$(dirname "$buf")" && pwd)/$(basename "$buf")
(cd "$tmp" && "$buf" build -o "$tmp/against.binpb") || { echo "breaking: cannot build $ref's protos"; exit 1; }
# WIRE_JSON's RPC_SAME_IDEMPOTENCY_LEVEL also flags a method that goes from
# IDEMPOTENCY_UNKNOWN to NO_SIDE_EFFECTS: that only adds Connect's GET form
# (POST still works), so exactly that finding passes; the reverse, or any
# other change of level, still fails.
widened='changed option "idempotency_level" from "IDEMPOTENCY_UNKNOWN" to "NO_SIDE_EFFECTS"\.$'
if out=$("$buf" breaking proto --against "$tmp/against.binpb" 2>&1) ||
	{ [[ -n $out ]] && ! grep -v -e "$widened" <<<"$out" | grep -q .; }; then
	[[ -z $out ]] || sed 's/^/breaking: allowed: /' <<<"$out"
	echo "breaking: proto/ is wire and JSON compatible with $ref ($(git rev-parse --short "$commit"))"
else
	printf '%s\n' "$out"
	echo "breaking: proto/ breaks the wire or JSON contract of $ref ($(git rev-parse --short "$commit"))"
	exit 1
fi
