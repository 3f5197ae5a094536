#!/bin/sh
# The X session of crackscope-kiosk.service (started by xinit on tty1): no screen blanking, no
# cursor, Chromium in kiosk mode on the local page. Chromium runs in the foreground: when it exits,
# the X server ends and systemd restarts the unit.
# Status: written and shellchecked, NOT yet run on a Jetson.
xset s off -dpms s noblank 2>/dev/null || true
unclutter -idle 0.5 -root >/dev/null 2>&1 &
# --disable-pinch: the page handles pinch-zoom itself (Three.js view), the browser must not zoom.
# --ignore-gpu-blocklist: use the Tegra GL driver through X11 for WebGL; the page falls back to
# Canvas2D (and says so) if WebGL still cannot be had.
exec "${CRACKSCOPE_KIOSK_BROWSER:-chromium-browser}" --kiosk --no-first-run --noerrdialogs --disable-infobars \
  --disable-session-crashed-bubble --disable-features=Translate --overscroll-history-navigation=0 \
  --disable-pinch --ignore-gpu-blocklist --user-data-dir="$HOME/chromium" \
  "${CRACKSCOPE_KIOSK_URL:-http://127.0.0.1:8080/}"
