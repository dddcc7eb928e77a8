#!/bin/bash
# Install Debian 12's OpenStack Zed packages for the loopback cloud (once per machine; idempotent).
# Also installs what a fresh Debian 12 lacks for it: MariaDB server, RabbitMQ, memcached, uwsgi.
# None of them is started or configured here: scripts/openstack/up.sh runs private instances.
# Needs root and Debian's apt repositories. See docs/openstack.md.
set -euo pipefail
T0=$(date +%s%N)
stamp() { local d=$(( ($(date +%s%N) - T0) / 100000000 )); printf '[openstack install %4d.%ds] %s\n' $((d / 10)) $((d % 10)) "$*"; }
[ "$(id -u)" = 0 ] || { echo "openstack install: needs root (apt-get)" >&2; exit 1; }
PKGS=(keystone placement-api nova-api nova-conductor nova-scheduler python3-nova glance-api
  cinder-api cinder-scheduler cinder-volume neutron-server python3-openstackclient
  swift swift-proxy swift-account swift-container swift-object memcached
  uwsgi-core uwsgi-plugin-python3 mariadb-server mariadb-client rabbitmq-server curl iproute2 procps)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then stamp "all ${#PKGS[@]} packages already installed"; exit 0; fi
stamp "missing: ${missing[*]}"
# A package must not set up its own database, Keystone endpoint or admin project: up.sh does.
for p in keystone nova-common nova-api glance-common glance-api cinder-common cinder-api \
         neutron-common neutron-api placement-common placement-api; do
  echo "$p $p/dbconfig-install boolean false"; echo "$p $p/configure_db boolean false"
  echo "$p $p/register-endpoint boolean false"
done | debconf-set-selections
echo "keystone keystone/create-admin-tenant boolean false" | debconf-set-selections
# Without systemd a package's service start fails harmlessly; with a policy-rc.d none is tried.
# Keep any service a package would start from starting: up.sh runs its own, private ones.
PRC=/usr/sbin/policy-rc.d; made_prc=0
if [ ! -e $PRC ]; then printf '#!/bin/sh\nexit 101\n' > $PRC; chmod +x $PRC; made_prc=1; fi
trap '[ $made_prc = 1 ] && rm -f $PRC' EXIT
apt-get update -q >/dev/null
stamp "apt-get update done"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${PKGS[@]}" \
  | grep -E '^(Setting up (keystone|nova|glance|cinder|neutron|placement|swift|mariadb-server|rabbitmq))|^E:' || true
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || { echo "openstack install: $p not installed" >&2; exit 1; }
done
stamp "installed ${#missing[@]} packages (and their dependencies)"
