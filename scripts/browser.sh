#!/usr/bin/env bash
# Debian's Chromium for the browser tests (Playwright drives it via executable_path).
set -euo pipefail
if command -v chromium >/dev/null; then exit 0; fi
echo "[browser] installing chromium from Debian packages" >&2
if [ "$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; else
  echo "[browser] need root to install chromium; browser tests will be skipped" >&2; exit 0; fi
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
