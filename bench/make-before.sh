#!/usr/bin/env bash
# Builds another revision's server code into DIR/dist (default .before/dist) with this checkout's
# node_modules, for before/after benches: `DIST=.before/dist node bench/gpu-pipeline.mjs …` or
# `node .before/dist/server/cli/main.js bench …`. DIR should sit inside the checkout, so that the
# build finds models/ and node_modules/ by walking up. Usage: bench/make-before.sh REV [DIR]
set -euo pipefail
rev=${1:?usage: bench/make-before.sh REV [DIR]}
cd "$(dirname "$0")/.."
dir=${2:-.before}
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
git archive "$rev" server tsconfig.json package.json | tar -x -C "$src"
ln -s "$PWD/node_modules" "$src/node_modules"
rm -rf "$dir/dist"
mkdir -p "$dir"
npx tsc -p "$src/tsconfig.json" --outDir "$PWD/$dir/dist"
git rev-parse --short "$rev" > "$dir/REV"
echo "built $(cat "$dir/REV") into $dir/dist"
