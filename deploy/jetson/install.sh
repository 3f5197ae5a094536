#!/usr/bin/env bash
# Installs crackscope on a Jetson as a systemd service (and optionally the kiosk on tty1):
# Node.js 20, GStreamer plugins, the app in /opt/crackscope, the crackscope user (groups video,
# render), /etc/crackscope/crackscope.env, the systemd units, ONNX Runtime with TensorRT for Node
# (build-onnxruntime.sh) and the TensorRT FP16 engine (crackscope build-engine).
# Safe to run again: every step checks what is already there. Run from a checkout, as root:
#
#   sudo deploy/jetson/install.sh [--kiosk] [--no-ort-build] [--no-engine] [--prefix DIR]
#   sudo deploy/jetson/install.sh --uninstall [--purge]
#
# --uninstall removes the units and /opt/crackscope; --purge also removes /etc/crackscope and the
# users. Captures and engines in /var/lib/crackscope are never removed by this script.
# Status: written and shellchecked, NOT yet run on a Jetson (see deploy/jetson/README.md).
set -Eeuo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(cd -- "$SCRIPT_DIR/../.." && pwd)
PREFIX=/opt/crackscope
ETC=/etc/crackscope
STATE=/var/lib/crackscope
UNIT_DIR=/etc/systemd/system
SVC_USER=crackscope
KIOSK_USER=crackscope-kiosk
KIOSK=0
ORT_BUILD=1
ENGINE=1
UNINSTALL=0
PURGE=0

say() { printf '%s\n' "install: $*"; }
die() { printf '%s\n' "install: error: $*" >&2; exit 1; }

usage() { sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --kiosk) KIOSK=1; shift ;;
    --no-ort-build) ORT_BUILD=0; shift ;;
    --no-engine) ENGINE=0; shift ;;
    --prefix) PREFIX=${2:?--prefix needs a value}; shift 2 ;;
    --uninstall) UNINSTALL=1; shift ;;
    --purge) PURGE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
done

[ "$(id -u)" -eq 0 ] || die "run as root (sudo $0 $*)"

# ---- uninstall ----------------------------------------------------------------------------
if [ "$UNINSTALL" = 1 ]; then
  for unit in crackscope-kiosk.service crackscope.service; do
    if [ -e "$UNIT_DIR/$unit" ]; then
      systemctl disable --now "$unit" || true
      rm -f "$UNIT_DIR/$unit"
      say "removed $unit"
    fi
  done
  systemctl daemon-reload
  rm -f /usr/local/bin/crackscope
  if [ -d "$PREFIX" ]; then rm -rf "$PREFIX"; say "removed $PREFIX"; fi
  if [ "$PURGE" = 1 ]; then
    rm -rf "$ETC"
    for u in "$KIOSK_USER" "$SVC_USER"; do
      if id "$u" >/dev/null 2>&1; then userdel "$u" || true; say "removed user $u"; fi
    done
  else
    say "kept $ETC (site settings); --purge removes it"
  fi
  say "kept $STATE (captures and engines): delete it by hand if they are no longer needed"
  exit 0
fi

# ---- what this is -------------------------------------------------------------------------
JETSON=0
if [ -r /etc/nv_tegra_release ]; then JETSON=1; fi
if [ "$JETSON" = 0 ]; then
  say "warning: not a Jetson (no /etc/nv_tegra_release): installing without the TensorRT build and engine"
  ORT_BUILD=0
  ENGINE=0
fi
if ! grep -qs '"name": "crackscope"' "$SRC_DIR/package.json"; then die "run this from a crackscope checkout ($SRC_DIR has no crackscope package.json)"; fi

export DEBIAN_FRONTEND=noninteractive
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "apt: installing ${missing[*]}"
    apt-get install -y --no-install-recommends "${missing[@]}"
  fi
}

# ---- packages -----------------------------------------------------------------------------
apt-get update
apt_install ca-certificates curl gnupg rsync
# GStreamer: the base/good/bad plugins and libav; JetPack's own nvarguscamerasrc / nvv4l2decoder
# come with nvidia-l4t-gstreamer, already on a JetPack install.
apt_install gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 20 ]; then
  say "installing Node.js 20 from the NodeSource repository"
  install -d -m 0755 /usr/share/keyrings
  curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key | gpg --dearmor --yes -o /usr/share/keyrings/nodesource.gpg
  echo "deb [signed-by=/usr/share/keyrings/nodesource.gpg] https://deb.nodesource.com/node_20.x nodistro main" >/etc/apt/sources.list.d/nodesource.list
  apt-get update
  apt-get install -y nodejs
fi
[ "$(node_major)" -ge 20 ] || die "Node.js 20 could not be installed (found $(node -v 2>/dev/null || echo none))"
NODE_BIN=$(command -v node)

if [ "$KIOSK" = 1 ]; then
  # Ubuntu's chromium-browser is a snap on 20.04/22.04; cage is in universe.
  apt_install cage chromium-browser || die "cage or chromium-browser could not be installed (see README: kiosk)"
fi

# ---- users --------------------------------------------------------------------------------
getent group render >/dev/null || groupadd --system render   # the unit names it; JetPack 5 may lack it
if ! id "$SVC_USER" >/dev/null 2>&1; then
  useradd --system --home-dir "$STATE" --no-create-home --shell /usr/sbin/nologin --groups video,render "$SVC_USER"
  say "created user $SVC_USER"
else
  usermod -a -G video,render "$SVC_USER"
fi
install -d -o "$SVC_USER" -g "$SVC_USER" -m 0750 "$STATE" "$STATE/engines"
if [ "$KIOSK" = 1 ] && ! id "$KIOSK_USER" >/dev/null 2>&1; then
  useradd --system --create-home --home-dir "/var/lib/$KIOSK_USER" --shell /usr/sbin/nologin --groups video,render,input "$KIOSK_USER"
  say "created user $KIOSK_USER"
fi

# ---- the app ------------------------------------------------------------------------------
say "installing the app into $PREFIX"
install -d -m 0755 "$PREFIX"
rsync -a --delete --exclude .git --exclude node_modules --exclude dist --exclude var --exclude '.device-out' "$SRC_DIR/" "$PREFIX/"
(
  cd "$PREFIX"
  npm ci --no-audit --no-fund
  npm run build
)
ln -sf "$PREFIX/dist/server/cli/main.js" /usr/local/bin/crackscope
chmod 0755 "$PREFIX/dist/server/cli/main.js"

# ---- ONNX Runtime with TensorRT for Node ----------------------------------------------------
# npm ci put the prebuilt (CPU-only on arm64) onnxruntime-node back; re-apply a finished build,
# or build one (hours, resumable).
if [ "$ORT_BUILD" = 1 ]; then
  if [ -e /var/tmp/crackscope-ort/stamps/package.done ]; then
    "$SCRIPT_DIR/build-onnxruntime.sh" --app-dir "$PREFIX" --install-only
  else
    "$SCRIPT_DIR/build-onnxruntime.sh" --app-dir "$PREFIX"
  fi
else
  say "skipping the ONNX Runtime TensorRT build: the service will fall back (cuda, then cpu) and log why"
fi

# ---- settings -----------------------------------------------------------------------------
install -d -m 0750 -o root -g "$SVC_USER" "$ETC"
if [ ! -e "$ETC/crackscope.env" ]; then
  install -m 0640 -o root -g "$SVC_USER" "$SRC_DIR/systemd/crackscope.env.example" "$ETC/crackscope.env"
  say "wrote $ETC/crackscope.env from the example: set the camera (CRACKSCOPE_SOURCE) there"
else
  say "kept $ETC/crackscope.env"
fi

# ---- units --------------------------------------------------------------------------------
install_unit() {
  local name=$1
  sed -e "s#/opt/crackscope#$PREFIX#g" -e "s#^ExecStart=/usr/bin/node #ExecStart=$NODE_BIN #" "$SRC_DIR/systemd/$name" >"$UNIT_DIR/$name.new"
  chmod 0644 "$UNIT_DIR/$name.new"
  mv "$UNIT_DIR/$name.new" "$UNIT_DIR/$name"
}
install_unit crackscope.service
if [ "$KIOSK" = 1 ]; then install_unit crackscope-kiosk.service; fi
systemctl daemon-reload
systemctl enable crackscope.service
if [ "$KIOSK" = 1 ]; then
  systemctl enable crackscope-kiosk.service
  # the kiosk owns the screen: no desktop session (gdm) competing for tty1 and the seat
  if [ "$(systemctl get-default)" != multi-user.target ]; then
    systemctl set-default multi-user.target
    say "boot target set to multi-user.target (no desktop); undo with: sudo systemctl set-default graphical.target"
  fi
fi

# ---- the TensorRT engine ------------------------------------------------------------------
if [ "$ENGINE" = 1 ]; then
  if [ -e "$PREFIX/models/default.json" ]; then
    say "building the TensorRT FP16 engine (minutes; the timing cache makes rebuilds faster)"
    # as the service user, with the site settings, so the engine lands where the service looks
    (
      set -a
      # shellcheck disable=SC1091
      . "$ETC/crackscope.env"
      set +a
      runuser -u "$SVC_USER" --preserve-environment -- "$NODE_BIN" "$PREFIX/dist/server/cli/main.js" build-engine
    ) || say "warning: the engine build failed (see above); the service runs on the next provider and says why"
  else
    say "no model in $PREFIX/models yet: build the engine later with: sudo -u $SVC_USER crackscope build-engine"
  fi
fi

# ---- start --------------------------------------------------------------------------------
say "starting crackscope (waits for READY=1: the first mask)"
if systemctl restart crackscope.service; then
  systemctl --no-pager --lines=0 status crackscope.service | sed -n 's/^ *Status: /install: status: /p'
else
  say "crackscope did not become ready; journalctl -u crackscope -n 50 says why"
fi
if [ "$KIOSK" = 1 ]; then systemctl restart crackscope-kiosk.service || true; fi
say "done. Logs: journalctl -u crackscope -f   Settings: $ETC/crackscope.env"
