#!/usr/bin/env bash
# Install the front-end assets (Leaflet and plugins) from the npm registry into node_modules/.
# Pages load them from the app (/assets/...), never from a public CDN.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f node_modules/.gridgov-installed ] && [ node_modules/.gridgov-installed -nt package-lock.json ]; then exit 0; fi
if ! command -v npm >/dev/null; then
  echo "[assets] npm is missing: install Node.js/npm (Debian: apt-get install -y npm)" >&2; exit 1
fi
echo "[assets] npm ci (front-end assets)" >&2
npm ci --no-audit --no-fund --loglevel=error >/dev/null
touch node_modules/.gridgov-installed
