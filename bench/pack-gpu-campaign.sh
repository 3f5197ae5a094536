#!/usr/bin/env bash
# Packs what bench/gpu-issue-19.sh needs on the lent GPU machine (no Node, no Redis, no network)
# into the ignored .gpucarry/ and .gl/. Run from the repo root after `npm ci` and `npm run build`:
#   - ../shared/gpu-node/pack.sh: .gpucarry/node.xz, ortn.tar.xz (onnxruntime-node), unpack.sh, .gl/*.deb
#   - .gpucarry/nm-extra.tar.xz: every package that dist/server/cli/main.js loads (its static imports:
#     survey, campaign, worker and the rest of the CLI), with all their dependencies, taken from
#     node_modules; not onnxruntime-* (ortn.tar.xz), playwright-core (PDF only: --no-pdf there),
#     three, koffi, opencv-js or any dev tool. TypeScript sources, source maps and docs left out.
#   - .gpucarry/redis.tar.xz: redis/redis-server (a wrapper) + redis/redis-server.bin (this machine's
#     Debian build) + redis/lib/ with every library `ldd` lists, glibc and its loader included; the
#     wrapper starts the binary through the bundled loader with --library-path, so it does not
#     depend on the other machine's glibc (LD_LIBRARY_PATH would mix our libc with its loader).
# Prints the sizes of what travels.
set -euo pipefail
[[ -f dist/server/cli/main.js ]] || { echo "run npm run build first" >&2; exit 1; }
[[ -d node_modules/bullmq ]] || { echo "run npm ci first" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "no redis-server here (apt-get install redis-server)" >&2; exit 1; }
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${GPU_NODE:-$here/../shared/gpu-node}

# pack.sh (about 3 minutes on 2 cores; skipped when its output is here, unless FORCE=1) writes into
# .git/info/exclude, and .git is a file in a worktree: run it in a stage folder (the .gitignore
# already lists /.gpucarry/ and /.gl/) and move its output here
if [[ ${FORCE:-0} == 1 || ! -f .gpucarry/node.xz || ! -f .gpucarry/ortn.tar.xz || ! -f .gpucarry/unpack.sh ]] || ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
  stage=$(mktemp -d)
  mkdir -p "$stage/.git/info" .gpucarry .gl
  ln -s "$(readlink -f node_modules)" "$stage/node_modules"
  cp -r .gl "$stage/" # debs already downloaded are not fetched again
  (cd "$stage" && bash "$shared/pack.sh")
  mv "$stage"/.gpucarry/* .gpucarry/
  cp "$stage"/.gl/*.deb .gl/
  rm -rf "$stage"
fi

# --- nm-extra.tar.xz: the packages main.js imports, and their dependencies ---------------------------
roots=$(node --input-type=module -e '
  import { build } from "esbuild";
  const r = await build({ entryPoints: ["dist/server/cli/main.js"], bundle: true, platform: "node", format: "esm",
    packages: "external", write: false, metafile: true, logLevel: "error", outfile: "/dev/null" });
  const skip = /^(onnxruntime-|playwright-core$|three$|koffi$|@techstark\/opencv-js$)/;
  const names = new Set();
  for (const i of Object.values(r.metafile.inputs))
    for (const m of i.imports)
      if (m.external && !m.path.startsWith("node:")) {
        const n = m.path.split("/").slice(0, m.path.startsWith("@") ? 2 : 1).join("/");
        if (!skip.test(n)) names.add(n);
      }
  console.log([...names].sort().join(" "));')
echo "packages main.js imports: $roots"
# shellcheck disable=SC2086
dirs=$(node -e '
  const fs = require("fs"), path = require("path");
  const root = process.cwd(), seen = new Set();
  const find = (name, from) => {
    for (let d = from; ; d = path.dirname(d)) {
      const p = path.join(d, "node_modules", name);
      if (fs.existsSync(path.join(p, "package.json"))) return p;
      if (d === root || d === path.dirname(d)) return null;
    }
  };
  const walk = (name, from, optional) => {
    const p = find(name, from);
    if (!p) { if (!optional) { console.error("missing " + name + " (from " + from + ")"); process.exitCode = 1; } return; }
    const rel = path.relative(root, p);
    if (seen.has(rel)) return;
    seen.add(rel);
    const pj = JSON.parse(fs.readFileSync(path.join(p, "package.json"), "utf8"));
    for (const d of Object.keys(pj.dependencies || {})) walk(d, p, false);
    for (const d of Object.keys(pj.optionalDependencies || {})) walk(d, p, true); // e.g. @img/sharp-linux-x64
    for (const d of Object.keys(pj.peerDependencies || {})) if (!pj.peerDependenciesMeta?.[d]?.optional) walk(d, p, true);
  };
  for (const r of process.argv.slice(1)) walk(r, root, false);
  console.log([...seen].sort().join("\n"));' $roots)
if grep -E 'onnxruntime|playwright|/three$|typescript|vitest|eslint|stryker|esbuild|prettier' <<<"$dirs"; then
  echo "a package above should not travel" >&2; exit 1
fi
echo "$(wc -l <<<"$dirs") package folders into nm-extra.tar.xz"
# node_modules here may be a symlink: resolve it so that tar sees real folders; paths inside the
# archive are relative to node_modules (gpu-env.sh unpacks it into /tmp/nm/node_modules)
nm=$(readlink -f node_modules)
# shellcheck disable=SC2001
# (TypeScript sources and declarations, source maps, docs and bintrees' 2 MB perf test data stay here)
sed 's|^node_modules/||' <<<"$dirs" | tar -cf - -C "$nm" --exclude='*.ts' --exclude='*.mts' --exclude='*.cts' \
  --exclude='*.map' --exclude='*.md' --exclude='bintrees/test' -T - | xz -T2 -6 > .gpucarry/nm-extra.tar.xz

# --- redis.tar.xz: redis-server with its libraries and loader ----------------------------------------
tmp=$(mktemp -d)
mkdir -p "$tmp/redis/lib"
bin=$(readlink -f "$(command -v redis-server)")
cp -L "$bin" "$tmp/redis/redis-server.bin"
ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*ld-linux/ { print $1 }' | while read -r lib; do
  cp -L "$lib" "$tmp/redis/lib/"
done
loader=$(basename "$(echo "$tmp"/redis/lib/ld-linux-*.so.*)")
cat > "$tmp/redis/redis-server" <<EOS
#!/bin/sh
# redis-server $("$bin" --version | sed 's/.*v=\([^ ]*\).*/\1/') from $(sed -n 's/^PRETTY_NAME="\(.*\)"/\1/p' /etc/os-release), through its own loader and libraries
d=\$(dirname "\$(readlink -f "\$0")")
exec "\$d/lib/$loader" --library-path "\$d/lib" "\$d/redis-server.bin" "\$@"
EOS
chmod +x "$tmp/redis/redis-server"
"$tmp/redis/redis-server" --version
tar -cf - -C "$tmp" redis | xz -T2 -9 > .gpucarry/redis.tar.xz
(cd "$tmp/redis/lib" && echo "redis bundle: redis-server.bin" *)
rm -rf "$tmp"

# --- dist.tar.xz: the build, packed (1.8 MB as files) ------------------------------------------------
tar -cf - dist | xz -T2 -9 > .gpucarry/dist.tar.xz

echo
echo "what travels (carry list of bench/gpu-issue-19.sh):"
carry=(.gpucarry/node.xz .gpucarry/ortn.tar.xz .gpucarry/nm-extra.tar.xz .gpucarry/redis.tar.xz .gpucarry/unpack.sh .gpucarry/dist.tar.xz .gl)
du -shc "${carry[@]}"
echo "carried: $(du -cb "${carry[@]}" | tail -1 | cut -f1) bytes"
echo "tracked files: $(git ls-files -z | du -cb --files0-from=- | tail -1 | cut -f1) bytes"
