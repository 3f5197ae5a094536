#!/usr/bin/env bash
# Builds ONNX Runtime from source on a Jetson with the TensorRT and CUDA execution providers and
# the Node.js binding, against JetPack's own CUDA / cuDNN / TensorRT, and installs that binding in
# place of the prebuilt one in <app>/node_modules/onnxruntime-node (the prebuilt linux/arm64
# binary has CPU only).
#
#   sudo -u <builder> deploy/jetson/build-onnxruntime.sh [--app-dir DIR] [--work-dir DIR] [--jobs N]
#   deploy/jetson/build-onnxruntime.sh --check          # detect JetPack, print the plan, build nothing
#   deploy/jetson/build-onnxruntime.sh --install-only   # re-apply a finished build (after npm ci)
#
# Every step leaves a stamp file in <work-dir>/stamps; rerunning skips finished steps, so an
# interrupted build (power, OOM) resumes. --redo STEP removes that step's stamp and later ones.
# Status: written and shellchecked, NOT yet run on a Jetson (see deploy/jetson/README.md).
set -Eeuo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
APP_DIR=$(cd -- "$SCRIPT_DIR/../.." && pwd)
WORK_DIR=${CRACKSCOPE_ORT_WORK:-/var/tmp/crackscope-ort}
JOBS=""
MODE=build
REDO=""
SPACE_CHECK=1
ORT_VERSION_OVERRIDE=${ORT_VERSION:-}
# test hook: read another file instead of /etc/nv_tegra_release
TEGRA_RELEASE_FILE=${CRACKSCOPE_TEGRA_RELEASE_FILE:-/etc/nv_tegra_release}
STEPS=(prereqs source build package install verify)

say() { printf '%s\n' "build-onnxruntime: $*"; }
die() { printf '%s\n' "build-onnxruntime: error: $*" >&2; exit 1; }

usage() {
  sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  cat <<EOF

Options:
  --app-dir DIR       the crackscope checkout whose node_modules gets the binding (default: $APP_DIR)
  --work-dir DIR      sources, build tree, stamps (default: $WORK_DIR; env CRACKSCOPE_ORT_WORK)
  --jobs N            parallel compile jobs (default: from cores and memory)
  --ort-version X.Y.Z override the pinned ONNX Runtime version (env ORT_VERSION)
  --check             detect the JetPack and print the plan only
  --install-only      only the install+verify steps, from an earlier finished build
  --redo STEP         redo STEP and the steps after it (${STEPS[*]})
  --no-space-check    build even if the free disk looks too small
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --app-dir) APP_DIR=$(cd -- "${2:?--app-dir needs a value}" && pwd); shift 2 ;;
    --work-dir) WORK_DIR=${2:?--work-dir needs a value}; shift 2 ;;
    --jobs) JOBS=${2:?--jobs needs a value}; shift 2 ;;
    --ort-version) ORT_VERSION_OVERRIDE=${2:?--ort-version needs a value}; shift 2 ;;
    --check) MODE=check; shift ;;
    --install-only) MODE=install-only; shift ;;
    --redo) REDO=${2:?--redo needs a step}; shift 2 ;;
    --no-space-check) SPACE_CHECK=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
done

# ---- which JetPack ------------------------------------------------------------------------
# L4T release -> JetPack: R35.2-R35.6 = JetPack 5.1.x; R36.2-R36.3 = 6.0; R36.4 = 6.1/6.2.
L4T_MAJOR=""
L4T_MINOR=""
if [ -r "$TEGRA_RELEASE_FILE" ]; then
  # "# R35 (release), REVISION: 4.1, GCID: ..."
  line=$(head -n 1 "$TEGRA_RELEASE_FILE")
  L4T_MAJOR=$(printf '%s' "$line" | sed -n 's/^# R\([0-9]*\) (release).*/\1/p')
  L4T_MINOR=$(printf '%s' "$line" | sed -n 's/.*REVISION: \([0-9]*\)\..*/\1/p')
elif command -v dpkg-query >/dev/null 2>&1 && dpkg-query -W -f='${Version}' nvidia-l4t-core >/dev/null 2>&1; then
  # "35.4.1-20230801124926"
  ver=$(dpkg-query -W -f='${Version}' nvidia-l4t-core)
  L4T_MAJOR=${ver%%.*}
  rest=${ver#*.}
  L4T_MINOR=${rest%%.*}
fi
[ -n "$L4T_MAJOR" ] || die "this is not a Jetson (no $TEGRA_RELEASE_FILE, no nvidia-l4t-core package). This script builds for JetPack 5.1 or 6.x on the device itself."

JETPACK=""
ORT_PIN=""
WITH_TRT=1
CUDA_EXPECT=""
TRT_EXPECT=""
case "$L4T_MAJOR.$L4T_MINOR" in
  # JetPack 5.1: ORT's TensorRT provider needs TensorRT >= 8.6 and CUDA 11.8 + gcc 11 for any
  # release with EPContext (ORT docs, PR #23215, issue #21567); JetPack 5 has TensorRT 8.5, CUDA
  # 11.4, gcc 9. So JetPack 5 builds NVIDIA's own pin for r35 (jetson-containers: 1.16.3) with the
  # CUDA provider only: the service runs on `cuda` (FP32). TensorRT FP16 needs JetPack 6.
  35.2|35.3|35.4|35.5|35.6) JETPACK="5.1" ; ORT_PIN=1.16.3 ; CUDA_EXPECT=11.4 ; TRT_EXPECT=8.5 ; WITH_TRT=0 ;;
  # JetPack 6.0 (TensorRT 8.6, CUDA 12.2): 1.17.x, as jetson-containers pins for cu122 (1.18 pairs with TensorRT 10.0)
  36.2|36.3)                JETPACK="6.0" ; ORT_PIN=1.17.3 ; CUDA_EXPECT=12.2 ; TRT_EXPECT=8.6 ;;
  36.4)                     JETPACK="6.1/6.2" ; ORT_PIN=1.20.2 ; CUDA_EXPECT=12.6 ; TRT_EXPECT=10.3 ;;
  *) die "L4T R$L4T_MAJOR.$L4T_MINOR is not supported: crackscope supports JetPack 5.1.x (L4T R35.2-R35.6) and JetPack 6.x (L4T R36.2-R36.4). Upgrade the JetPack (JetPack 4 and 5.0 are too old for ONNX Runtime's TensorRT EPContext support)." ;;
esac
ORT_VERSION=${ORT_VERSION_OVERRIDE:-$ORT_PIN}

ARCH=$(uname -m)
[ "$ARCH" = aarch64 ] || [ "$MODE" = check ] || die "expected aarch64, this is $ARCH"

CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
LIBDIR=/usr/lib/aarch64-linux-gnu
cuda_version() { "$CUDA_HOME/bin/nvcc" --version 2>/dev/null | sed -n 's/.*release \([0-9]*\.[0-9]*\).*/\1/p'; }
trt_version() {
  local f
  for f in "$LIBDIR"/libnvinfer.so.*.*.*; do
    [ -e "$f" ] || continue
    basename "$f" | sed -n 's/^libnvinfer\.so\.\([0-9]*\.[0-9]*\.[0-9]*\).*/\1/p'
    return 0
  done
}
cudnn_version() { dpkg-query -W -f='${Version}' libcudnn8 2>/dev/null || dpkg-query -W -f='${Version}' libcudnn9-cuda-12 2>/dev/null || true; }
CUDA_FOUND=$(cuda_version || true)
TRT_FOUND=$(trt_version || true)
CUDNN_FOUND=$(cudnn_version)

# SoC -> CUDA architecture (Orin sm_87, Xavier sm_72)
CUDA_ARCH=87
if [ -r /proc/device-tree/compatible ] && tr '\0' '\n' </proc/device-tree/compatible | grep -q 'tegra194'; then CUDA_ARCH=72; fi

MEM_GB=$(awk '/MemTotal/ { printf "%d", $2 / 1048576 }' /proc/meminfo)
SWAP_GB=$(awk '/SwapTotal/ { printf "%d", $2 / 1048576 }' /proc/meminfo)
CORES=$(nproc)
if [ -z "$JOBS" ]; then
  # a CUDA translation unit (cicc) peaks at several GB: one job per 3 GB of RAM after 2 GB for the
  # OS, swap and zram NOT counted (they thrash at that size): 2 jobs on 8 GB, 4 on 16 GB, 8+ on AGX
  JOBS=$(( (MEM_GB - 2) / 3 ))
  [ "$JOBS" -ge 1 ] || JOBS=1
  [ "$JOBS" -le "$CORES" ] || JOBS=$CORES
fi
NEED_GB=15

SRC=$WORK_DIR/onnxruntime
BUILD=$SRC/build/Linux/Release
OUT=$WORK_DIR/out
STAMPS=$WORK_DIR/stamps

cat <<EOF
build-onnxruntime: plan
  Jetson:        L4T R$L4T_MAJOR.$L4T_MINOR = JetPack $JETPACK, $CORES cores, ${MEM_GB} GB RAM + ${SWAP_GB} GB swap, CUDA arch sm_$CUDA_ARCH
  found:         CUDA ${CUDA_FOUND:-none} (expect $CUDA_EXPECT), TensorRT ${TRT_FOUND:-none} (expect $TRT_EXPECT.x), cuDNN ${CUDNN_FOUND:-none}
  ONNX Runtime:  v$ORT_VERSION (pinned for JetPack $JETPACK: v$ORT_PIN) with $( [ "$WITH_TRT" = 1 ] && printf '%s' '--use_tensorrt ' )--use_cuda --build_nodejs$( [ "$WITH_TRT" = 1 ] || printf '%s' ' (cuda only: no TensorRT FP16 on JetPack 5)' )
  jobs:          $JOBS (RAM only, swap not counted), --nvcc_threads 1
  work dir:      $WORK_DIR (sources + build tree; about $NEED_GB GB free needed)
  app:           $APP_DIR/node_modules/onnxruntime-node (the prebuilt package is kept as onnxruntime-node.prebuilt)
  time:          about 1.5-2.5 h on AGX Orin (8-10 jobs), 3-5 h on Orin NX 16 GB (4 jobs), 6-10 h on
                 Orin Nano 8 GB on NVMe (2 jobs; slower on SD); 8 GB devices need swap for the link
                 of libonnxruntime_providers_cuda (~6 GB). A device with the same JetPack can skip
                 all this: deploy/jetson/pack-ort.sh here, install.sh --ort-tarball there (minutes).
  steps:         ${STEPS[*]} (stamps in $STAMPS)
EOF
[ "$MODE" = check ] && exit 0

[ -x "$CUDA_HOME/bin/nvcc" ] || die "no nvcc in $CUDA_HOME/bin: install the JetPack SDK components (sudo apt install nvidia-jetpack)"
[ -n "$TRT_FOUND" ] || die "no TensorRT (libnvinfer.so.X.Y.Z) in $LIBDIR: sudo apt install nvidia-jetpack (or tensorrt)"
[ -e /usr/include/aarch64-linux-gnu/NvInfer.h ] || die "no TensorRT headers: sudo apt install libnvinfer-dev libnvonnxparsers-dev"
case "$TRT_FOUND" in "$TRT_EXPECT".*) ;; *) say "warning: TensorRT $TRT_FOUND is not the $TRT_EXPECT.x that JetPack $JETPACK ships; building anyway" ;; esac
case "$CUDA_FOUND" in "$CUDA_EXPECT") ;; *) say "warning: CUDA $CUDA_FOUND is not the $CUDA_EXPECT that JetPack $JETPACK ships; building anyway" ;; esac
command -v node >/dev/null 2>&1 || die "Node.js is needed first (deploy/jetson/install.sh installs Node 22)"
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
[ "$NODE_MAJOR" -ge 20 ] || die "Node.js >= 20 needed, found $(node -v)"

mkdir -p "$WORK_DIR" "$STAMPS" "$OUT"
if [ -n "$REDO" ]; then
  found=0
  for s in "${STEPS[@]}"; do
    [ "$s" = "$REDO" ] && found=1
    [ "$found" = 1 ] && rm -f "$STAMPS/$s.done"
  done
  [ "$found" = 1 ] || die "--redo: unknown step $REDO (${STEPS[*]})"
fi
if [ "$MODE" = install-only ]; then
  [ -e "$STAMPS/package.done" ] || die "no finished build in $WORK_DIR (run without --install-only first)"
  rm -f "$STAMPS/install.done" "$STAMPS/verify.done"
fi

if [ "$SPACE_CHECK" = 1 ] && [ ! -e "$STAMPS/build.done" ]; then
  FREE_GB=$(df -Pk "$WORK_DIR" | awk 'NR == 2 { printf "%d", $4 / 1048576 }')
  [ "$FREE_GB" -ge "$NEED_GB" ] || die "only $FREE_GB GB free in $WORK_DIR, about $NEED_GB GB needed (--work-dir elsewhere, e.g. an NVMe drive, or --no-space-check)"
fi

step() {
  local name=$1
  shift
  if [ -e "$STAMPS/$name.done" ]; then
    say "step $name: done earlier (stamp $STAMPS/$name.done)"
    return 0
  fi
  say "step $name: start $(date -Is)"
  "$@"
  date -Is >"$STAMPS/$name.done"
  say "step $name: finished $(date -Is)"
}

do_prereqs() {
  local SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends build-essential git python3 python3-pip python3-venv python3-dev ca-certificates curl
  # ONNX Runtime needs a newer CMake than Ubuntu 20.04/22.04 ship; keep it in the work dir
  python3 -m venv "$WORK_DIR/venv"
  "$WORK_DIR/venv/bin/pip" install --upgrade pip
  "$WORK_DIR/venv/bin/pip" install 'cmake==3.28.3' 'ninja==1.11.1.1' 'numpy<2' packaging wheel
}

do_source() {
  if [ -d "$SRC/.git" ]; then
    git -C "$SRC" fetch --depth 1 origin "refs/tags/v$ORT_VERSION:refs/tags/v$ORT_VERSION"
    git -C "$SRC" checkout -f "v$ORT_VERSION"
  else
    rm -rf "$SRC"
    git clone --depth 1 --branch "v$ORT_VERSION" https://github.com/microsoft/onnxruntime.git "$SRC"
  fi
  git -C "$SRC" submodule update --init --recursive --depth 1
}

do_build() {
  # build.sh is itself incremental: an interrupted build resumes where make/ninja stopped.
  (
    cd "$SRC"
    export PATH="$WORK_DIR/venv/bin:$CUDA_HOME/bin:$PATH"
    export CUDACXX="$CUDA_HOME/bin/nvcc"
    local trt=()
    [ "$WITH_TRT" = 1 ] && trt=(--use_tensorrt --tensorrt_home "$LIBDIR")
    ./build.sh --config Release --update --build --parallel "$JOBS" --nvcc_threads 1 \
      --build_shared_lib --skip_tests --allow_running_as_root \
      --use_cuda --cuda_home "$CUDA_HOME" --cudnn_home "$LIBDIR" \
      "${trt[@]}" \
      --build_nodejs \
      --cmake_extra_defines "CMAKE_CUDA_ARCHITECTURES=$CUDA_ARCH" onnxruntime_BUILD_UNIT_TESTS=OFF \
        onnxruntime_USE_FLASH_ATTENTION=OFF onnxruntime_USE_MEMORY_EFFICIENT_ATTENTION=OFF
  )
}

do_package() {
  local napi_dir
  # the Node package as npm would publish it, plus the provider libraries beside the binding
  rm -rf "$OUT/pkg"
  mkdir -p "$OUT/pkg"
  (cd "$SRC/js/common" && npm pack --pack-destination "$OUT/pkg" >/dev/null)
  (cd "$SRC/js/node" && npm pack --pack-destination "$OUT/pkg" >/dev/null)
  napi_dir=$(find "$SRC/js/node/bin" -type d -path '*/linux/arm64' | head -n 1)
  if [ -z "$napi_dir" ] || [ ! -e "$napi_dir/onnxruntime_binding.node" ]; then
    die "the Node binding was not built (no js/node/bin/napi-v*/linux/arm64/onnxruntime_binding.node)"
  fi
  rm -rf "$OUT/libs"
  mkdir -p "$OUT/libs"
  cp -a "$BUILD"/libonnxruntime_providers_shared.so "$BUILD"/libonnxruntime_providers_cuda.so "$OUT/libs/"
  if [ "$WITH_TRT" = 1 ]; then cp -a "$BUILD"/libonnxruntime_providers_tensorrt.so "$OUT/libs/"; fi
  cat >"$OUT/crackscope-ort-build.json" <<JSON
{
  "ortVersion": "$ORT_VERSION",
  "tensorrtVersion": "$TRT_FOUND",
  "cudaVersion": "$CUDA_FOUND",
  "cudnnVersion": "$CUDNN_FOUND",
  "jetpack": "$JETPACK",
  "l4t": "R$L4T_MAJOR.$L4T_MINOR",
  "cudaArch": "sm_$CUDA_ARCH",
  "tensorrtProvider": $( [ "$WITH_TRT" = 1 ] && echo true || echo false ),
  "builtAt": "$(date -Is)"
}
JSON
}

do_install() {
  local nm=$APP_DIR/node_modules pkg common target bindir
  [ -d "$nm" ] || die "$nm does not exist: run npm ci in $APP_DIR first"
  pkg=$(find "$OUT/pkg" -name 'onnxruntime-node-*.tgz' | head -n 1)
  common=$(find "$OUT/pkg" -name 'onnxruntime-common-*.tgz' | head -n 1)
  if [ -z "$pkg" ] || [ -z "$common" ]; then die "no packed build in $OUT/pkg (rerun with --redo package)"; fi
  target=$nm/onnxruntime-node
  if [ -d "$target" ] && [ ! -e "$target/crackscope-ort-build.json" ]; then
    rm -rf "$nm/onnxruntime-node.prebuilt"
    mv "$target" "$nm/onnxruntime-node.prebuilt"
  fi
  rm -rf "$target.new"
  mkdir -p "$target.new/node_modules/onnxruntime-common"
  tar -xzf "$pkg" -C "$target.new" --strip-components=1
  # this binding's own onnxruntime-common, so the app's top-level one is left as it is
  tar -xzf "$common" -C "$target.new/node_modules/onnxruntime-common" --strip-components=1
  bindir=$(find "$target.new/bin" -type d -path '*/linux/arm64' | head -n 1)
  [ -n "$bindir" ] || die "the packed onnxruntime-node has no bin/napi-v*/linux/arm64"
  cp -a "$OUT"/libs/*.so "$bindir/"
  cp "$OUT/crackscope-ort-build.json" "$target.new/crackscope-ort-build.json"
  rm -rf "$target"
  mv "$target.new" "$target"
  say "installed ONNX Runtime $ORT_VERSION (TensorRT $TRT_FOUND) into $target"
}

do_verify() {
  # open real sessions, not just list backends: a missing libcudnn/libnvinfer or a bad rpath shows
  # here and not at the first service start. crackscope doctor builds a tiny model with the real
  # models' edges and runs it on cuda and on tensorrt.
  local report
  [ -e "$APP_DIR/dist/server/cli/main.js" ] || die "$APP_DIR has no build (npm run build) to verify with"
  report=$(cd "$APP_DIR" && node dist/server/cli/main.js doctor --json --no-browser --source test:// --data-dir "$WORK_DIR/doctor" | tail -n 1) || true
  # shellcheck disable=SC2016 # a JavaScript template string, not shell
  node -e '
    const r = JSON.parse(process.argv[1]);
    const want = ["CUDA session (tiny model)", ...(process.argv[2] === "1" ? ["TensorRT session (tiny model)"] : [])];
    let bad = 0;
    for (const name of want) {
      const c = r.checks.find((x) => x.name === name);
      console.log(`build-onnxruntime: verify: ${name}: ${c ? `${c.result} — ${c.detail}` : "missing"}`);
      if (!c || c.result !== "pass") bad++;
    }
    process.exit(bad ? 1 : 0);
  ' "$report" "$WITH_TRT" || die "the built ONNX Runtime does not open a GPU session (see above; ldd $APP_DIR/node_modules/onnxruntime-node/bin/*/linux/arm64/*.so)"
  say "next: crackscope build-engine (builds the FP16 engine and its EPContext wrapper; see README)"
}

if [ "$MODE" = build ]; then
  step prereqs do_prereqs
  step source do_source
  step build do_build
  step package do_package
fi
step install do_install
step verify do_verify
say "done"
