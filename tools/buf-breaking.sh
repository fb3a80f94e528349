#!/usr/bin/env bash
# `buf breaking` of protos/ against the contract clients already have: the merge-base with main (a branch is
# checked against what it forks from), on main itself the last tagged contract (`contract-*`) or else the
# first parent. BUF_BREAKING_AGAINST names another revision.
set -euo pipefail
buf=${1:-buf}
cd "$(git rev-parse --show-toplevel)"
head=$(git rev-parse HEAD)
base=${BUF_BREAKING_AGAINST:-}
if [ -z "$base" ]; then
  for main in main origin/main; do
    if git rev-parse -q --verify "$main^{commit}" >/dev/null; then
      base=$(git merge-base HEAD "$main" || true)
      break
    fi
  done
  if [ -z "$base" ] || [ "$base" = "$head" ]; then
    base=$(git describe --tags --abbrev=0 --match 'contract-*' HEAD 2>/dev/null || git rev-parse -q --verify HEAD~1 || true)
  fi
fi
if [ -z "$base" ] || [ -z "$(git ls-tree "$base" protos)" ]; then
  echo "buf breaking: no earlier contract to compare with"
  exit 0
fi
old=$(mktemp -d)
trap 'rm -rf "$old"' EXIT
git archive "$base" protos buf.yaml | tar -x -C "$old"
mkdir -p "$old/build" && cp -r build/protodeps "$old/build/"
"$buf" breaking --against "$old"
echo "buf breaking: protos/ compatible with $(git rev-parse --short "$base")"
