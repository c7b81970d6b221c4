#!/usr/bin/env bash
# Install (if missing), initialise and start a project-local PostgreSQL 15 + PostGIS 3 cluster.
# Usage: scripts/postgis.sh start|stop|status|url
# Settings (env): GRIDGOV_PG_PORT (default 54329), GRIDGOV_PG_DATA (default <repo>/.pgdata),
#                 GRIDGOV_DB (default gridgov). If DATABASE_URL is set, nothing is installed or started.
# The cluster's role `gridgov` has a random password (SCRAM, no `trust`), kept in var/pg.password (mode 600),
# which gridgov reads (GRIDGOV_PG_PASSWORD_FILE); other local users cannot connect.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
PORT=${GRIDGOV_PG_PORT:-54329}
PGBIN=/usr/lib/postgresql/15/bin
DB=${GRIDGOV_DB:-gridgov}
PGUSER_NAME=gridgov
PWFILE=${GRIDGOV_PG_PASSWORD_FILE:-$REPO/var/pg.password}

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
    mkdir -p "$d"; chown -h postgres "$d" 2>/dev/null || true
    if ! su postgres -s /bin/sh -c "test -w '$d'" 2>/dev/null; then
      d="${TMPDIR:-/tmp}/gridgov-pg-$(echo -n "$REPO" | md5sum | cut -c1-12)"
    fi
  fi
  echo "$d"
}

# A data directory outside the repo (the root fallback under the temp dir) has a predictable name: accept it
# only as a real directory that we created (owned by postgres, mode 700), never a link someone planted.
check_data_dir() {
  local d=$1
  if [ -L "$d" ]; then log "refusing $d: it is a symbolic link (remove it, or set GRIDGOV_PG_DATA)"; exit 1; fi
  if [ ! -e "$d" ]; then (umask 077 && mkdir "$d"); [ "$(id -u)" = 0 ] && chown postgres "$d"; return; fi
  if [ ! -d "$d" ]; then log "refusing $d: not a directory"; exit 1; fi
  local owner; owner=$(stat -c %U "$d")
  local want; want=$([ "$(id -u)" = 0 ] && echo postgres || id -un)
  if [ "$owner" != "$want" ] && [ "$(id -u)" = 0 ] && [ "$owner" = root ] && [ "$d" = "$REPO/.pgdata" ]; then
    chown postgres "$d"; owner=postgres
  fi
  if [ "$owner" != "$want" ]; then
    log "refusing $d: owned by $owner, not $want (remove it, or set GRIDGOV_PG_DATA)"; exit 1
  fi
  chmod 700 "$d"
}

password() {  # the cluster password, made once
  if [ ! -s "$PWFILE" ]; then
    mkdir -p "$(dirname "$PWFILE")"
    (umask 077 && head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$PWFILE")
  fi
  cat "$PWFILE"
}

run_pg() {  # run a postgres binary as the right user
  # from / : su would otherwise complain when the caller's directory is private to root
  if [ "$(id -u)" = 0 ]; then (cd / && su postgres -s /bin/sh -c "$*"); else sh -c "$*"; fi
}

start() {
  install_if_missing
  local d; d=$(data_dir)
  check_data_dir "$d"
  local pw; pw=$(password)
  export PGPASSWORD=$pw
  if [ ! -f "$d/PG_VERSION" ]; then
    log "initialising cluster in $d"
    local tmp; tmp=$(mktemp)  # random name, mode 600: readable by initdb only
    printf '%s\n' "$pw" > "$tmp"; [ "$(id -u)" = 0 ] && chown postgres "$tmp"
    run_pg "$PGBIN/initdb -D '$d' -A scram-sha-256 --pwfile='$tmp' -U $PGUSER_NAME -E UTF8 --locale=C.UTF-8" >/dev/null
    rm -f "$tmp"
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
  if run_pg "grep -qE '^[^#].*[[:space:]]trust\$' '$d/pg_hba.conf'"; then
    # a cluster made by an earlier gridgov with `trust`: give the role its password, then require it
    log "securing $d: password authentication instead of trust"
    psql -h 127.0.0.1 -p "$PORT" -U $PGUSER_NAME -d postgres -qc "alter role $PGUSER_NAME password '$pw'" >/dev/null
    run_pg "sed -i -E 's/[[:space:]]trust\$/ scram-sha-256/' '$d/pg_hba.conf'"
    run_pg "$PGBIN/pg_ctl -D '$d' reload" >/dev/null
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
  url) echo "postgresql+psycopg://$PGUSER_NAME@127.0.0.1:$PORT/$DB (password in $PWFILE)" ;;
  *) echo "usage: $0 start|stop|status|url" >&2; exit 2 ;;
esac
