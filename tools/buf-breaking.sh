#!/usr/bin/env bash
# `buf breaking` of protos/ against the previous commit that has them, so a
# change to the contract that breaks clients fails `make test`.
set -euo pipefail
buf=${1:-buf}
cd "$(git rev-parse --show-toplevel)"
base=$(git rev-list -1 HEAD~1 -- protos 2>/dev/null || true)
if [ -z "$base" ]; then
  echo "buf breaking: no earlier version of protos/ to compare with"
  exit 0
fi
old=$(mktemp -d)
trap 'rm -rf "$old"' EXIT
git archive "$base" protos buf.yaml | tar -x -C "$old"
mkdir -p "$old/build" && cp -r build/protodeps "$old/build/"
"$buf" breaking --against "$old"
echo "buf breaking: protos/ compatible with $(git rev-parse --short "$base")"
