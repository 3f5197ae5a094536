#!/usr/bin/env bash
# Packs the ONNX Runtime that build-onnxruntime.sh built on this device, so identical devices
# (same JetPack / L4T release and SoC) install it in minutes with `install.sh --ort-tarball FILE`
# instead of building for hours:
#
#   deploy/jetson/pack-ort.sh [--work-dir DIR] [--out DIR]
#
# Writes <out>/crackscope-ort-<ORT>-jp<JetPack>-l4t<R36.4>-<sm_87>.tar.gz and a .sha256 beside it.
# The tarball holds the packed Node packages (onnxruntime-node, onnxruntime-common), the provider
# libraries and crackscope-ort-build.json (ORT, TensorRT, CUDA, cuDNN, JetPack, L4T, CUDA arch),
# which install.sh compares with the target device before installing anything.
# Status: written, shellchecked and run here against a stand-in build tree; NOT run on a Jetson.
set -Eeuo pipefail

WORK_DIR=${CRACKSCOPE_ORT_WORK:-/var/tmp/crackscope-ort}
OUT_DIR=$PWD

say() { printf '%s\n' "pack-ort: $*"; }
die() { printf '%s\n' "pack-ort: error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --work-dir) WORK_DIR=${2:?--work-dir needs a value}; shift 2 ;;
    --out) OUT_DIR=${2:?--out needs a value}; shift 2 ;;
    -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1" ;;
  esac
done

BUILT=$WORK_DIR/out
STAMP=$BUILT/crackscope-ort-build.json
[ -e "$WORK_DIR/stamps/package.done" ] || die "no finished build in $WORK_DIR (build-onnxruntime.sh has not reached its package step)"
[ -r "$STAMP" ] || die "no $STAMP"
ls "$BUILT"/pkg/onnxruntime-node-*.tgz "$BUILT"/pkg/onnxruntime-common-*.tgz >/dev/null 2>&1 || die "no packed Node packages in $BUILT/pkg"
ls "$BUILT"/libs/*.so >/dev/null 2>&1 || die "no provider libraries in $BUILT/libs"

field() { sed -n "s/^ *\"$1\": *\"\\([^\"]*\\)\".*/\\1/p" "$STAMP" | head -n 1; }
ORT=$(field ortVersion)
JP=$(field jetpack)
L4T=$(field l4t)
ARCH=$(field cudaArch)
if [ -z "$ORT" ] || [ -z "$JP" ] || [ -z "$L4T" ] || [ -z "$ARCH" ]; then die "$STAMP lacks ortVersion/jetpack/l4t/cudaArch"; fi

mkdir -p "$OUT_DIR"
NAME="crackscope-ort-$ORT-jp${JP//\//-}-l4t$L4T-$ARCH.tar.gz"
TARBALL=$OUT_DIR/$NAME
tar -czf "$TARBALL.tmp" -C "$BUILT" crackscope-ort-build.json pkg libs
mv "$TARBALL.tmp" "$TARBALL"
(cd "$OUT_DIR" && sha256sum "$NAME" >"$NAME.sha256")
say "wrote $TARBALL ($(du -h "$TARBALL" | cut -f1)) and $NAME.sha256: ONNX Runtime $ORT for JetPack $JP (L4T $L4T, $ARCH)"
say "on an identical device: sudo deploy/jetson/install.sh --ort-tarball $NAME   (the .sha256 beside it)"
