#!/usr/bin/env bash
# Makes sure Postgres and RabbitMQ answer on this machine: starts them when installed but
# stopped; installs them from the OS packages when absent (needs root). Then creates the
# database named in DATABASE_URL. Skip all of it with SKIP_INFRA=1 (managed services).
# Also installs headless Chromium and its driver for the console's browser tests (skip with
# SKIP_BROWSER=1), and PgBouncer for the connection-pooling tests (skip with SKIP_POOLER=1).
set -euo pipefail

DATABASE_URL=${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/channel_sync}
PG_HOST=${PG_HOST:-127.0.0.1}
AMQP_PORT=${AMQP_PORT:-5672}

log() { printf '[setup] %s\n' "$*"; }
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
wait_port() {  # host port seconds
  local deadline=$((SECONDS + $3))
  until port_open "$1" "$2"; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 1
  done
}
apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    log "cannot install $* without root: install it, or point the settings at a running one"; exit 1
  fi
  log "installing $* from the OS packages"
  if [ -z "${APT_UPDATED:-}" ]; then  # once per run
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
  if port_open "$PG_HOST" 5432; then log "postgres: reachable"; return; fi
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  log "postgres: starting cluster $version/main"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_port "$PG_HOST" 5432 60 || { log "postgres did not come up"; exit 1; }
  # Local trust auth for the postgres role over TCP, as the settings' defaults expect.
  if ! psql -h "$PG_HOST" -U postgres -c 'SELECT 1' >/dev/null 2>&1; then
    log "postgres: allowing local trust auth for development"
    local hba="/etc/postgresql/$version/main/pg_hba.conf"
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\nlocal all all trust' "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  fi
}

ensure_rabbitmq() {
  if port_open 127.0.0.1 "$AMQP_PORT"; then log "rabbitmq: reachable"; return; fi
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  log "rabbitmq: starting"
  rabbitmq-server -detached || true
  wait_port 127.0.0.1 "$AMQP_PORT" 120 || { log "rabbitmq did not come up"; exit 1; }
}

ensure_browser() {
  if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    log "chromium: present"; return
  fi
  apt_install chromium chromium-driver
}

ensure_pooler() {  # pgbouncer: the tests run a private one in front of Postgres (as deployed)
  if command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ]; then
    log "pgbouncer: present"; return
  fi
  apt_install pgbouncer
}

ensure_load_generator() {  # wrk: the gateway benchmark's load generator (make bench)
  if command -v wrk >/dev/null; then log "wrk: present"; return; fi
  apt_install wrk
}

ensure_database() {
  local name=${DATABASE_URL##*/}
  name=${name%%\?*}
  local admin=${DATABASE_URL%/*}/postgres
  if [ "$(psql "$admin" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'")" != "1" ]; then
    log "creating database $name"
    psql "$admin" -qc "CREATE DATABASE \"$name\""
  fi
}

if [ "${SKIP_INFRA:-0}" != "1" ]; then
  ensure_postgres
  ensure_rabbitmq
fi
if [ "${SKIP_BROWSER:-0}" != "1" ]; then
  ensure_browser
fi
if [ "${SKIP_POOLER:-0}" != "1" ]; then
  ensure_pooler
fi
if [ "${SKIP_BENCH_TOOLS:-0}" != "1" ]; then
  ensure_load_generator
fi
ensure_database
