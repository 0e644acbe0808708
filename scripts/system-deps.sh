#!/usr/bin/env bash
# Debian tools some tests use: promtool and prometheus (package `prometheus`), docker-compose (`config` check),
# Chromium and a CJK font for the analyst pages' browser tests (without the font every 中文 label renders as boxes).
# Installed when missing and we are root with apt-get; otherwise the tests that need them skip and say why.
set -u
need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
dpkg-query -W -f='${Status}' fonts-wqy-microhei 2>/dev/null | grep -q "ok installed" || need+=(fonts-wqy-microhei)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: missing ${need[*]} (not root or no apt-get); tests needing them will skip" >&2
  exit 0
fi
echo "system-deps: installing ${need[*]} from Debian" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
  || echo "system-deps: could not install ${need[*]}; tests needing them will skip" >&2
# Debian's package starts a Prometheus service on :9090; the tests start their own on a free port.
pkill -x prometheus >/dev/null 2>&1 || true
exit 0
