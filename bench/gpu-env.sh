#!/usr/bin/env bash
# Sourced by the bench/gpu-*.sh scripts on the lent GPU machine: unpacks Node and onnxruntime-node
# (.gpucarry/unpack.sh, from ../shared/gpu-node/pack.sh) and the rest of the runtime packages
# (.gpucarry/nm-extra.tar.xz: node_modules without onnxruntime-*, the dev tools, three,
# playwright-core and opencv-js), links them as node_modules, and sets N (the node binary) and step().
# shellcheck source=/dev/null
source .gpucarry/unpack.sh
set +e
tar -xJf .gpucarry/nm-extra.tar.xz -C /tmp/nm/node_modules
ln -sfn /tmp/nm/node_modules node_modules
export N=/tmp/node
step() { echo; echo "### $*"; }
