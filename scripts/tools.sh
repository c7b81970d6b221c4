#!/usr/bin/env bash
# Debian tools the tests and benches drive from outside: gdal-bin (ogrinfo reads the OGC API as QGIS/GDAL do),
# wrk (HTTP load that does not saturate before the server) and pgbench (the SQL floor; in postgresql-client).
set -euo pipefail
missing=()
command -v ogrinfo >/dev/null || missing+=(gdal-bin)
command -v wrk >/dev/null || missing+=(wrk)
command -v pgbench >/dev/null || missing+=(postgresql-client)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "[tools] installing ${missing[*]} from Debian packages" >&2
if [ "$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; else
  echo "[tools] need root to install ${missing[*]}; the tests that use them will be skipped" >&2; exit 0; fi
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
