#!/usr/bin/env bash
# Install (if missing), initialise and start a project-local PostgreSQL 15 + PostGIS 3 cluster.
# Usage: scripts/postgis.sh start|stop|status|url
# Settings (env): GRIDGOV_PG_PORT (default 54329), GRIDGOV_PG_DATA (default <repo>/.pgdata),
#                 GRIDGOV_DB (default gridgov). If DATABASE_URL is set, nothing is installed or started.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
PORT=${GRIDGOV_PG_PORT:-54329}
PGBIN=/usr/lib/postgresql/15/bin
DB=${GRIDGOV_DB:-gridgov}
PGUSER_NAME=gridgov

export PGOPTIONS="-c client_min_messages=warning"
log() { echo "[postgis] $*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root to run: $*  (install PostGIS yourself or set DATABASE_URL)"; exit 1; fi
}

install_if_missing() {
  if [ -x "$PGBIN/initdb" ] && [ -f /usr/share/postgresql/15/extension/postgis.control ] && [ -f /usr/share/postgresql/15/extension/pgrouting.control ]; then return; fi
  log "installing postgresql-15-postgis-3 from Debian packages"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15-postgis-3 postgresql-15-pgrouting >/dev/null
}

# The postgres system user (used when we run as root) cannot enter a private home directory:
# fall back to a directory under the system temp dir keyed by the repo path.
data_dir() {
  if [ -n "${GRIDGOV_PG_DATA:-}" ]; then
    case "$GRIDGOV_PG_DATA" in /*) echo "$GRIDGOV_PG_DATA" ;; *) echo "$REPO/$GRIDGOV_PG_DATA" ;; esac
    return
  fi
  local d="$REPO/.pgdata"
  if [ "$(id -u)" = 0 ]; then
    mkdir -p "$d"; chown postgres "$d" 2>/dev/null || true
    if ! su postgres -s /bin/sh -c "test -w '$d'" 2>/dev/null; then
      d="${TMPDIR:-/tmp}/gridgov-pg-$(echo -n "$REPO" | md5sum | cut -c1-12)"
    fi
  fi
  echo "$d"
}

run_pg() {  # run a postgres binary as the right user
  # from / : su would otherwise complain when the caller's directory is private to root
  if [ "$(id -u)" = 0 ]; then (cd / && su postgres -s /bin/sh -c "$*"); else sh -c "$*"; fi
}

start() {
  install_if_missing
  local d; d=$(data_dir)
  mkdir -p "$d"
  [ "$(id -u)" = 0 ] && chown postgres "$d" && chmod 700 "$d"
  if [ ! -f "$d/PG_VERSION" ]; then
    log "initialising cluster in $d"
    run_pg "$PGBIN/initdb -D '$d' -A trust -U $PGUSER_NAME -E UTF8 --locale=C.UTF-8" >/dev/null
  fi
  if ! run_pg "$PGBIN/pg_ctl -D '$d' status" >/dev/null 2>&1; then
    if pg_isready -q -h 127.0.0.1 -p "$PORT" 2>/dev/null; then
      log "port $PORT is taken by another server (not the cluster in $d): stop it or set GRIDGOV_PG_PORT"
      exit 1
    fi
    log "starting PostgreSQL on 127.0.0.1:$PORT (data: $d)"
    run_pg "$PGBIN/pg_ctl -D '$d' -l '$d/server.log' -w -t 60 \
      -o \"-p $PORT -k '$d' -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200\" start" >/dev/null
  fi
  for db in "$DB" "${DB}_test"; do
    if ! psql -h 127.0.0.1 -p "$PORT" -U $PGUSER_NAME -d postgres -tAc "select 1 from pg_database where datname='$db'" | grep -q 1; then
      psql -h 127.0.0.1 -p "$PORT" -U $PGUSER_NAME -d postgres -qc "create database $db" >/dev/null
    fi
    psql -h 127.0.0.1 -p "$PORT" -U $PGUSER_NAME -d "$db" -qc "create extension if not exists postgis" >/dev/null
  done
  log "ready: postgresql+psycopg://$PGUSER_NAME@127.0.0.1:$PORT/$DB (data dir $d)"
}

stop() {
  local d; d=$(data_dir)
  if [ -f "$d/PG_VERSION" ] && run_pg "$PGBIN/pg_ctl -D '$d' status" >/dev/null 2>&1; then
    run_pg "$PGBIN/pg_ctl -D '$d' -m fast -w stop" >/dev/null && log "stopped ($d)"
  else
    log "not running"
  fi
}

if [ -n "${DATABASE_URL:-}" ] && [ "${1:-}" = start ]; then log "DATABASE_URL set: using that database"; exit 0; fi
case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) run_pg "$PGBIN/pg_ctl -D '$(data_dir)' status" ;;
  url) echo "postgresql+psycopg://$PGUSER_NAME@127.0.0.1:$PORT/$DB" ;;
  *) echo "usage: $0 start|stop|status|url" >&2; exit 2 ;;
esac
