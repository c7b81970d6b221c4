#!/usr/bin/env bash
# Debian's Chromium for the browser tests (Playwright drives it via executable_path).
set -euo pipefail
# a CJK font too, or Chinese labels render as empty boxes in screenshots
if command -v chromium >/dev/null && fc-list 2>/dev/null | grep -qiE "wqy|noto.*cjk"; then exit 0; fi
echo "[browser] installing chromium and a Chinese font from Debian packages" >&2
if [ "$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; else
  echo "[browser] need root to install chromium; browser tests will be skipped" >&2; exit 0; fi
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei >/dev/null
