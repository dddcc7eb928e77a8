#!/bin/bash
# What of the loopback OpenStack is up: each recorded process, each API, and the compute and volume
# services. Exit 0 when everything is up. --quiet: no output, exit code only.
set -uo pipefail
source "$(dirname "$0")/env.sh"
quiet=0; [ "${1:-}" = --quiet ] && quiet=1
say() { [ $quiet = 1 ] || echo "$@"; }
shopt -s nullglob
files=("$OSL"/run/*.pid)
if [ ${#files[@]} -eq 0 ]; then say "openstack: not running (no pid files under $OSL/run)"; exit 3; fi
bad=0
say "openstack: $OSL"
for f in "${files[@]}"; do n=$(basename "$f" .pid); p=$(cat "$f")
  if [ -n "$p" ] && alive "$p"; then
    rss=0; for q in $p $(descendants "$p"); do kb=$(awk '/^VmRSS/{print $2}' /proc/$q/status 2>/dev/null); rss=$((rss + ${kb:-0})); done
    say "$(printf '  %-18s up    pid %-7s %5d MB RSS' "$n" "$p" $((rss / 1024)))"
  else say "$(printf '  %-18s DOWN  (pid %s gone; log %s/log/%s.out)' "$n" "$p" "$OSL" "$n")"; bad=1; fi
done
for a in $OS_APIS; do n=${a%%:*} u=${a#*:}
  c=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$u" 2>/dev/null)
  if [[ $c =~ ^(200|300)$ ]]; then say "$(printf '  %-18s answers %s (%s)' "api $n" "$u" "$c")"
  else say "$(printf '  %-18s NOT answering %s (%s)' "api $n" "$u" "$c")"; bad=1; fi
done
if [ -f "$OSL/run/ready-ms" ]; then say "  ready: start took $(( $(cat "$OSL/run/ready-ms") / 1000 )) s; credentials in $OSL/admin-openrc"
else say "  not ready (start did not finish)"; bad=1; fi
exit $bad
