#!/usr/bin/env bash
# Everything `npm start` / `npm test` need on a fresh machine: Debian packages (GStreamer; for tests
# also Chromium, shellcheck, CJK fonts, redis-server), node_modules, and the build. Each step is skipped when done.
set -euo pipefail
cd "$(dirname "$0")/.."
want_tests=0
[[ "${1:-}" == "--test" ]] && want_tests=1

say() { printf 'setup: %s\n' "$*" >&2; }

pkgs=()
command -v gst-launch-1.0 >/dev/null || pkgs+=(gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-libav)
if ((want_tests)); then
  command -v chromium >/dev/null || pkgs+=(chromium)
  command -v shellcheck >/dev/null || pkgs+=(shellcheck)
  command -v systemd-analyze >/dev/null || pkgs+=(systemd)
  fc-list 2>/dev/null | grep -qi 'noto sans cjk' || pkgs+=(fonts-noto-cjk)
  # survey campaigns: test/campaign.test.ts starts a redis-server of its own on a free loopback port
  command -v redis-server >/dev/null || pkgs+=(redis-server)
  # the FP16 conversion (scripts/onnx_fp16.py) that test/fp16.test.ts compares against FP32
  /usr/bin/python3 -c 'import onnx' 2>/dev/null || pkgs+=(python3-onnx)
fi
if ((${#pkgs[@]})); then
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { say "needs these Debian packages, and is not root: ${pkgs[*]}"; exit 1; }
    sudo=(sudo)
  fi
  say "installing Debian packages: ${pkgs[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi

# node_modules: install when missing or older than the lockfile
if [[ ! -d node_modules/.bin || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund >&2
fi

# build when any source is newer than the last build
stamp=dist/.build-stamp
if [[ ! -f $stamp ]] || [[ -n $(find server kiosk/src kiosk/index.html scripts/build-kiosk.mjs tsconfig.json package.json -newer "$stamp" -type f 2>/dev/null | head -1) ]]; then
  say "building (tsc + kiosk bundle)"
  npm run --silent build >&2
  touch "$stamp"
fi
