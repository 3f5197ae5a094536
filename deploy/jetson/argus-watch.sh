#!/usr/bin/env bash
# Restarts nvargus-daemon when the CSI camera has been down for a while: a wedged Argus (e.g. the
# libnvscf CaptureScheduler deadlock on JetPack 6.0-6.2.1) is recovered only by restarting the
# daemon, which crackscope itself cannot do (it runs without capabilities). Run every minute by
# crackscope-argus-watch.timer (root), installed with `install.sh --argus-watch`.
#
# It reads crackscope's /healthz: only a csi:// source that is not live counts. When that has
# lasted CRACKSCOPE_ARGUS_DOWN_MIN minutes (default 3), it restarts nvargus-daemon once and starts
# counting again; crackscope's own capture restart then reconnects.
# Status: written, shellchecked and run here against a stand-in /healthz; NOT run on a Jetson.
set -uo pipefail

URL=${CRACKSCOPE_HEALTHZ_URL:-http://127.0.0.1:8080/healthz}
DOWN_MIN=${CRACKSCOPE_ARGUS_DOWN_MIN:-3}
STATE_DIR=${CRACKSCOPE_ARGUS_STATE:-/run/crackscope-argus-watch}
SINCE=$STATE_DIR/down-since

say() { printf '%s\n' "argus-watch: $*"; }

mkdir -p "$STATE_DIR"
body=$(curl -s --max-time 5 "$URL") || { say "crackscope is not answering at $URL: nothing to do"; rm -f "$SINCE"; exit 0; }
source=$(printf '%s' "$body" | sed -n 's/.*"source":"\([^"]*\)".*/\1/p')
status=$(printf '%s' "$body" | sed -n 's/.*"status":"\([^"]*\)".*/\1/p')
case "$source" in
  csi://*) ;;
  *) rm -f "$SINCE"; exit 0 ;;
esac
if [ "$status" = ok ]; then rm -f "$SINCE"; exit 0; fi

now=$(date +%s)
[ -e "$SINCE" ] || printf '%s\n' "$now" >"$SINCE"
since=$(cat "$SINCE")
down_s=$((now - since))
if [ "$down_s" -ge $((DOWN_MIN * 60)) ]; then
  say "$source has been down for ${down_s} s (status $status): restarting nvargus-daemon"
  systemctl restart nvargus-daemon.service || say "warning: restarting nvargus-daemon failed"
  rm -f "$SINCE"
else
  say "$source down for ${down_s} s (status $status); nvargus-daemon is restarted after $((DOWN_MIN * 60)) s"
fi
