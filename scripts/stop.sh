#!/usr/bin/env bash
# Stop the API server and worker that `gridgov serve` started from this checkout, by the PIDs it recorded in
# var/run/*.pid (GRIDGOV_RUN_DIR). Nothing else is touched: not another checkout's server, not a process
# whose command line merely looks alike.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_DIR=${GRIDGOV_RUN_DIR:-var/run}
# the server first: it stops its own worker (which it would otherwise restart); then a worker left behind
for f in "$RUN_DIR"/serve.pid "$RUN_DIR"/worker.pid; do
  [ -f "$f" ] || continue
  pid=$(tr -dc '0-9' < "$f")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "api.cli\|gridgov"; then
    echo "[stop] stopping $(basename "$f" .pid) (pid $pid)" >&2
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
done
