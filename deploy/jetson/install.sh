#!/usr/bin/env bash
# Installs crackscope on a Jetson as a systemd service (and optionally the kiosk on tty1):
# Node.js 22 LTS, GStreamer plugins, the app in /opt/crackscope, the crackscope user (groups video,
# render), /etc/crackscope/crackscope.env, the systemd units, ONNX Runtime with TensorRT for Node
# (build-onnxruntime.sh) and the TensorRT FP16 engine (crackscope build-engine).
# Safe to run again: every step checks what is already there. Run from a checkout, as root:
#
#   sudo deploy/jetson/install.sh [--kiosk] [--no-ort-build] [--no-engine] [--prefix DIR]
#                                 [--ort-tarball FILE [--verify-only]] [--power-mode ID] [--argus-watch]
#   sudo deploy/jetson/install.sh --uninstall [--purge]
#
# --ort-tarball FILE installs an ONNX Runtime packed by pack-ort.sh on an identical device (FILE.sha256
# beside it) instead of building one; a tarball for another JetPack/L4T or SoC is refused before
# anything is changed (--verify-only: check it and stop). --power-mode ID runs nvpmodel -m ID (ids in
# /etc/nvpmodel.conf, e.g. MAXN_SUPER on JetPack 6.2 Orin Nano/NX) and installs crackscope-clocks.service
# (jetson_clocks at boot). The ONNX Runtime build runs as the transient unit crackscope-ort-build
# (a dropped SSH session does not stop it; journalctl -u crackscope-ort-build -f). --argus-watch:
# a timer restarts nvargus-daemon after 3 minutes of a csi:// source down (argus-watch.sh).
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
ORT_TARBALL=""
VERIFY_ONLY=0
POWER_MODE=""
ARGUS_WATCH=0
ORT_WORK=${CRACKSCOPE_ORT_WORK:-/var/tmp/crackscope-ort}
# test hook, as in build-onnxruntime.sh
TEGRA_RELEASE_FILE=${CRACKSCOPE_TEGRA_RELEASE_FILE:-/etc/nv_tegra_release}

say() { printf '%s\n' "install: $*"; }
die() { printf '%s\n' "install: error: $*" >&2; exit 1; }

usage() { sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --kiosk) KIOSK=1; shift ;;
    --no-ort-build) ORT_BUILD=0; shift ;;
    --no-engine) ENGINE=0; shift ;;
    --prefix) PREFIX=${2:?--prefix needs a value}; shift 2 ;;
    --uninstall) UNINSTALL=1; shift ;;
    --purge) PURGE=1; shift ;;
    --ort-tarball) ORT_TARBALL=${2:?--ort-tarball needs a file}; shift 2 ;;
    --verify-only) VERIFY_ONLY=1; shift ;;
    --power-mode) POWER_MODE=${2:?--power-mode needs an nvpmodel id}; shift 2 ;;
    --argus-watch) ARGUS_WATCH=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
done

[ "$(id -u)" -eq 0 ] || die "run as root (sudo $0 $*)"

# ---- a packed ONNX Runtime: checked before anything is changed ------------------------------
this_l4t() {
  local line major minor
  [ -r "$TEGRA_RELEASE_FILE" ] || return 1
  line=$(head -n 1 "$TEGRA_RELEASE_FILE")
  major=$(printf '%s' "$line" | sed -n 's/^# R\([0-9]*\) (release).*/\1/p')
  minor=$(printf '%s' "$line" | sed -n 's/.*REVISION: \([0-9]*\)\..*/\1/p')
  [ -n "$major" ] && printf 'R%s.%s' "$major" "$minor"
}
this_arch() {
  if [ -n "${CRACKSCOPE_CUDA_ARCH:-}" ]; then printf '%s' "$CRACKSCOPE_CUDA_ARCH"; return; fi
  if [ -r /proc/device-tree/compatible ] && tr '\0' '\n' </proc/device-tree/compatible | grep -q tegra194; then printf sm_72; else printf sm_87; fi
}
ORT_UNPACKED=""
if [ -n "$ORT_TARBALL" ]; then
  [ -r "$ORT_TARBALL" ] || die "--ort-tarball: cannot read $ORT_TARBALL"
  [ -r "$ORT_TARBALL.sha256" ] || die "--ort-tarball: no $ORT_TARBALL.sha256 beside it (pack-ort.sh writes one)"
  want=$(cut -d' ' -f1 "$ORT_TARBALL.sha256")
  got=$(sha256sum "$ORT_TARBALL" | cut -d' ' -f1)
  [ "$want" = "$got" ] || die "--ort-tarball: checksum mismatch for $ORT_TARBALL (got $got, $ORT_TARBALL.sha256 says $want): a damaged copy"
  ORT_UNPACKED=$(mktemp -d)
  tar -xzf "$ORT_TARBALL" -C "$ORT_UNPACKED"
  stamp=$ORT_UNPACKED/crackscope-ort-build.json
  [ -r "$stamp" ] || die "--ort-tarball: $ORT_TARBALL has no crackscope-ort-build.json (not made by pack-ort.sh)"
  t_l4t=$(sed -n 's/^ *"l4t": *"\([^"]*\)".*/\1/p' "$stamp")
  t_jp=$(sed -n 's/^ *"jetpack": *"\([^"]*\)".*/\1/p' "$stamp")
  t_arch=$(sed -n 's/^ *"cudaArch": *"\([^"]*\)".*/\1/p' "$stamp")
  t_ort=$(sed -n 's/^ *"ortVersion": *"\([^"]*\)".*/\1/p' "$stamp")
  here=$(this_l4t) || die "--ort-tarball: this is not a Jetson (no $TEGRA_RELEASE_FILE)"
  [ "$t_l4t" = "$here" ] || die "--ort-tarball: $ORT_TARBALL was built for JetPack $t_jp (L4T $t_l4t); this device runs L4T $here. Refused: CUDA/TensorRT/cuDNN differ between JetPacks. Build here (build-onnxruntime.sh) or use a tarball from a device with L4T $here."
  [ "$t_arch" = "$(this_arch)" ] || die "--ort-tarball: $ORT_TARBALL was built for $t_arch; this SoC needs $(this_arch). Refused."
  say "ORT tarball ok: ONNX Runtime $t_ort for JetPack $t_jp (L4T $t_l4t, $t_arch), sha256 $got"
  if [ "$VERIFY_ONLY" = 1 ]; then rm -rf "$ORT_UNPACKED"; exit 0; fi
fi

# ---- uninstall ----------------------------------------------------------------------------
if [ "$UNINSTALL" = 1 ]; then
  for unit in crackscope-kiosk.service crackscope-clocks.service crackscope-argus-watch.timer crackscope-argus-watch.service crackscope.service; do
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
# Node 20 reached end-of-life on 2026-04-30: Node 22 LTS (NodeSource has arm64 builds)
if [ "$(node_major)" -lt 22 ]; then
  say "installing Node.js 22 LTS from the NodeSource repository"
  install -d -m 0755 /usr/share/keyrings
  curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key | gpg --dearmor --yes -o /usr/share/keyrings/nodesource.gpg
  echo "deb [signed-by=/usr/share/keyrings/nodesource.gpg] https://deb.nodesource.com/node_22.x nodistro main" >/etc/apt/sources.list.d/nodesource.list
  apt-get update
  apt-get install -y nodejs
fi
[ "$(node_major)" -ge 22 ] || die "Node.js 22 could not be installed (found $(node -v 2>/dev/null || echo none))"
NODE_BIN=$(command -v node)

if [ "$KIOSK" = 1 ]; then
  # X11 with NVIDIA's Tegra driver (what JetPack supports; wlroots/cage needs KMS+GBM that JetPack
  # does not set up), started by xinit on tty1, and Chromium. Ubuntu's chromium-browser is a snap.
  apt_install xinit x11-xserver-utils unclutter chromium-browser || die "xinit or chromium-browser could not be installed (see deploy/jetson/README.md: kiosk)"
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
if [ "$KIOSK" = 1 ]; then
  # home under /home: snap-confine refuses any other ("home directories outside of /home are not
  # currently supported"), and the Chromium snap would never start
  if ! id "$KIOSK_USER" >/dev/null 2>&1; then
    useradd --system --create-home --home-dir "/home/$KIOSK_USER" --shell /usr/sbin/nologin --groups video,render,input,tty "$KIOSK_USER"
    say "created user $KIOSK_USER (home /home/$KIOSK_USER)"
  elif [ "$(getent passwd "$KIOSK_USER" | cut -d: -f6)" != "/home/$KIOSK_USER" ]; then
    usermod -d "/home/$KIOSK_USER" -m "$KIOSK_USER"
    say "moved $KIOSK_USER's home to /home/$KIOSK_USER (the Chromium snap refuses homes outside /home)"
  fi
  # JetPack 6 + snapd >= 2.70 breaks browser snaps (ark_jetson_kernel#36, jetson-orin-setup#5)
  if command -v snap >/dev/null 2>&1; then
    snapd_ver=$(snap version 2>/dev/null | awk '$1 == "snapd" { print $2 }')
    case "$snapd_ver" in
      2.[7-9][0-9]*|[3-9].*) say "warning: snapd $snapd_ver: browser snaps fail on JetPack 6 from 2.70 on. Revert and hold it: sudo snap revert snapd && sudo snap refresh --hold snapd (deploy/jetson/README.md: kiosk)" ;;
    esac
  fi
  # fail loudly now rather than loop on a black screen at boot
  if ! runuser -u "$KIOSK_USER" -- env HOME="/home/$KIOSK_USER" chromium-browser --version; then
    die "chromium-browser does not start as $KIOSK_USER (see the lines above; deploy/jetson/README.md: kiosk)"
  fi
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
if [ -n "$ORT_UNPACKED" ]; then
  # a build packed on an identical device: put it where build-onnxruntime.sh keeps a finished build
  mkdir -p "$ORT_WORK/out" "$ORT_WORK/stamps"
  rm -rf "$ORT_WORK/out/pkg" "$ORT_WORK/out/libs"
  cp -a "$ORT_UNPACKED"/pkg "$ORT_UNPACKED"/libs "$ORT_UNPACKED"/crackscope-ort-build.json "$ORT_WORK/out/"
  date -Is >"$ORT_WORK/stamps/package.done"
  rm -rf "$ORT_UNPACKED"
  "$SCRIPT_DIR/build-onnxruntime.sh" --work-dir "$ORT_WORK" --app-dir "$PREFIX" --install-only
elif [ "$ORT_BUILD" = 1 ]; then
  if [ -e "$ORT_WORK/stamps/package.done" ]; then
    "$SCRIPT_DIR/build-onnxruntime.sh" --work-dir "$ORT_WORK" --app-dir "$PREFIX" --install-only
  else
    # hours: a transient unit, so a dropped SSH session does not stop it; this waits for it
    say "building ONNX Runtime as the unit crackscope-ort-build (hours; follow it with: journalctl -u crackscope-ort-build -f)"
    systemd-run --unit=crackscope-ort-build --collect --wait --property=Nice=5 \
      "$SCRIPT_DIR/build-onnxruntime.sh" --work-dir "$ORT_WORK" --app-dir "$PREFIX" \
      || die "the ONNX Runtime build failed: journalctl -u crackscope-ort-build -n 80; rerun install.sh to resume"
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
if [ "$ARGUS_WATCH" = 1 ]; then
  install_unit crackscope-argus-watch.service
  install_unit crackscope-argus-watch.timer
  systemctl daemon-reload
  systemctl enable --now crackscope-argus-watch.timer
fi
# power mode and clocks: the default nvpmodel mode plus DVFS gives lower, jittery clocks
if [ -n "$POWER_MODE" ]; then
  command -v nvpmodel >/dev/null 2>&1 || die "--power-mode: no nvpmodel (not a Jetson?)"
  nvpmodel -m "$POWER_MODE" || die "nvpmodel -m $POWER_MODE failed (ids: grep POWER_MODEL /etc/nvpmodel.conf)"
  install_unit crackscope-clocks.service
  systemctl enable crackscope-clocks.service
  say "power mode $POWER_MODE set ($(nvpmodel -q 2>/dev/null | head -n 1)); jetson_clocks runs at boot (crackscope-clocks.service)"
fi
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
      # gated: the FP16 engine must agree with FP32 on the bundled demo frames (models/demo)
      runuser -u "$SVC_USER" --preserve-environment -- "$NODE_BIN" "$PREFIX/dist/server/cli/main.js" build-engine --val "$PREFIX/models/demo"
    ) || say "warning: the engine build failed (see above); the service runs on the next provider and says why"
  else
    say "no model in $PREFIX/models yet: build the engine later with: sudo -u $SVC_USER crackscope build-engine"
  fi
fi

# ---- start --------------------------------------------------------------------------------
say "starting crackscope (waits for READY=1: HTTP and the model up)"
if systemctl restart crackscope.service; then
  systemctl --no-pager --lines=0 status crackscope.service | sed -n 's/^ *Status: /install: status: /p'
else
  say "crackscope did not become ready; journalctl -u crackscope -n 50 says why"
fi
if [ "$KIOSK" = 1 ]; then systemctl restart crackscope-kiosk.service || true; fi
say "done. Logs: journalctl -u crackscope -f   Settings: $ETC/crackscope.env"
say "check the device: sudo -u $SVC_USER $PREFIX/dist/server/cli/main.js doctor   (and systemctl show -p DevicePolicy,DeviceAllow crackscope: empty DeviceAllow)"
