#!/bin/bash
# Stop every process scripts/openstack/up.sh started (by the pids it recorded, with their children),
# OpenStack services first, then memcached, RabbitMQ (and its epmd) and MariaDB. Idempotent.
# The state under COFFER_OPENSTACK_DIR is kept for reading the logs; the next start replaces it.
set -uo pipefail
source "$(dirname "$0")/env.sh"
T0=$(date +%s%N)
stamp() { local d=$(( ($(date +%s%N) - T0) / 100000000 )); printf '[openstack stop %4d.%ds] %s\n' $((d / 10)) $((d % 10)) "$*"; }
shopt -s nullglob
files=("$OSL"/run/*.pid)
[ ${#files[@]} -gt 0 ] || { stamp "nothing running (no pid files under $OSL/run)"; exit 0; }

stop_group() { # stop_group NAME... : SIGTERM each with its descendants, SIGKILL after 15 s
  local all=() n p
  for n in "$@"; do
    [ -f "$OSL/run/$n.pid" ] || continue
    p=$(cat "$OSL/run/$n.pid")
    if [ -n "$p" ] && alive "$p"; then
      all+=("$p" $(descendants "$p"))
      kill -TERM "$p" 2>/dev/null
    fi
    rm -f "$OSL/run/$n.pid"
  done
  [ ${#all[@]} -gt 0 ] || return 0
  local left=() i
  for i in $(seq 1 60); do
    left=(); for p in "${all[@]}"; do alive "$p" && left+=("$p"); done
    [ ${#left[@]} -eq 0 ] && break
    # children left behind by a parent that is gone (a worker of a killed master) get TERM too
    [ $i = 8 ] && kill -TERM "${left[@]}" 2>/dev/null
    sleep 0.25
  done
  [ ${#left[@]} -gt 0 ] && kill -KILL "${left[@]}" 2>/dev/null
  stamp "stopped $* (${#all[@]} processes, ${#left[@]} needed SIGKILL)"
}
services=()
for f in "${files[@]}"; do n=$(basename "$f" .pid)
  case $n in mariadb|rabbitmq|epmd|memcached) ;; *) services+=("$n");; esac; done
[ ${#services[@]} -gt 0 ] && stop_group "${services[@]}"
stop_group memcached
stop_group rabbitmq
stop_group epmd
stop_group mariadb
rm -f "$OSL"/run/ready-ms
stamp "done; logs kept in $OSL/log"
