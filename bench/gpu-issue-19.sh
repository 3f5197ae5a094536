#!/usr/bin/env bash
# Issue 19 on the lent GPU machine: survey-campaign throughput with WebGPU workers (1, 2, 4 and 8
# `crackscope worker` processes, each with its own WebGPU session) against the single-machine
# `crackscope survey` (WebGPU, and once on the CPU with all cores) on the same photographs, plus one
# campaign of CPU workers, on a redis-server of the bench's own (bench/campaign-bench.mjs). Make the
# carried files with `bash bench/pack-gpu-campaign.sh` and `npm run build`, then run from the repo
# root with carry:
#   .gpucarry/node.xz .gpucarry/ortn.tar.xz .gpucarry/nm-extra.tar.xz .gpucarry/redis.tar.xz
#   .gpucarry/unpack.sh .gpucarry/dist.tar.xz .gl
# (dist travels packed as .gpucarry/dist.tar.xz; a carried dist/ is used as it is). No PDF (no
# Chromium there). About 4-5 minutes for 8 photographs of 4000×3000; every step has a timeout.
# Output: $OUT/gpu-issue-19.log, and the bench's JSON line in $OUT/issue19-campaign-gpu.json
# (if the bench was cut off: {"partial":true,...,"results":[the rows so far]}).
# Settings (environment): IMAGES=8 WIDTH=4000 HEIGHT=3000 WORKERS=1,2,4,8,4:cpu PROVIDERS=webgpu
# SURVEYS="webgpu;cpu" SURVEYS_AFTER=webgpu CONFIG_TIMEOUT_S=100 BENCH_TIMEOUT_S=390, THREADS (per
# worker; default cores / workers) and SURVEY_THREADS: see bench/campaign-bench.mjs.
set -uo pipefail
OUTDIR=${OUT:-/tmp}
LOG=$OUTDIR/gpu-issue-19.log
JSON=$OUTDIR/issue19-campaign-gpu.json
exec > >(tee -a "$LOG") 2>&1
# shellcheck source=bench/gpu-env.sh
source bench/gpu-env.sh
[[ -f dist/server/cli/main.js ]] || tar -xJf .gpucarry/dist.tar.xz
# redis-server from Debian with its own loader and libraries (bench/pack-gpu-campaign.sh)
tar -xJf .gpucarry/redis.tar.xz -C /tmp
export PATH=/tmp/redis:$PATH

IMAGES=${IMAGES:-8} WIDTH=${WIDTH:-4000} HEIGHT=${HEIGHT:-3000} WORKERS=${WORKERS:-1,2,4,8,4:cpu}
export PROVIDERS=${PROVIDERS:-webgpu}
export SURVEYS=${SURVEYS-"$PROVIDERS;cpu"} SURVEYS_AFTER=${SURVEYS_AFTER-$PROVIDERS}
export CONFIG_TIMEOUT_S=${CONFIG_TIMEOUT_S:-100}

step machine
timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
nproc; grep -m1 'model name' /proc/cpuinfo; free -g | head -2; uptime
echo "node $($N --version)"; echo "redis-server: $(command -v redis-server)"; timeout 10 redis-server --version

step "campaign bench: $IMAGES × ${WIDTH}x$HEIGHT, workers $WORKERS, PROVIDERS=$PROVIDERS, SURVEYS=$SURVEYS, SURVEYS_AFTER=$SURVEYS_AFTER"
bench_out=$(mktemp)
# on timeout's SIGTERM the bench kills its workers and redis-server and prints the rows so far
# ({"partial":true,...}); SIGKILL 10 s later if it is still there
timeout -k 10 "${BENCH_TIMEOUT_S:-390}" "$N" bench/campaign-bench.mjs "$IMAGES" "$WIDTH" "$HEIGHT" "$WORKERS" | tee "$bench_out"
echo "bench exit ${PIPESTATUS[0]}"
if grep -E '^\{"(images|partial)"' "$bench_out" | tail -1 | grep . > "$JSON"; then
  echo "JSON line in $JSON"
else
  rows=$(grep '^{"config"' "$bench_out" | paste -sd, -)
  echo "{\"partial\":true,\"results\":[$rows]}" > "$JSON"
  echo "the bench did not finish: its rows are in $JSON"
fi

step "summary"
grep -o '"config":"[^"]*","workers":[0-9]*[^}]*' "$JSON" | sed 's/^/  /'
step finished
