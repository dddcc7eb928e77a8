#!/bin/bash
# Start Coffer's loopback OpenStack (Debian 12's Zed): Keystone, Placement, Glance, Nova (fake virt
# driver), Neutron (ML2, no agents), Cinder (fake volume driver), Swift (Keystone auth), on their
# own MariaDB, RabbitMQ and memcached, everything bound to 127.0.0.1. Each start is a fresh, empty
# cloud (admin/admin in project admin, flavors 1 and 2, image fake-image, shared network private).
# Every process is recorded in $OSL/run/*.pid; down.sh stops them. Packages: install.sh.
# Facts behind each choice: shared/notes/openstack-on-loopback.md. See docs/openstack.md.
set -euo pipefail
source "$(dirname "$0")/env.sh"
T0=$(date +%s%N)
stamp() { local d=$(( ($(date +%s%N) - T0) / 100000000 )); printf '[openstack start %4d.%ds] %s\n' $((d / 10)) $((d % 10)) "$*"; }
fail() { echo "openstack start: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root"
for b in keystone-manage nova-manage glance-manage cinder-manage neutron-db-manage placement-manage \
         swift-ring-builder uwsgi memcached mariadbd mariadb-install-db /usr/lib/rabbitmq/bin/rabbitmq-server curl; do
  command -v "$b" >/dev/null || fail "$b missing: run 'node scripts/coffer.mjs openstack install' first"
done
if bash "$(dirname "$0")/status.sh" --quiet; then stamp "already running (status: all up); nothing to do"; exit 0; fi
if compgen -G "$OSL/run/*.pid" >/dev/null; then stamp "partly running: stopping it first"; bash "$(dirname "$0")/down.sh"; fi
busy=$(ss -Hltn | awk '{print $4}' | grep -E ":($(echo $OS_API_PORTS $MARIADB_PORT $RABBITMQ_PORT $EPMD_PORT $MEMCACHED_PORT | tr ' ' '|'))\$" || true)
[ -z "$busy" ] || fail "ports already in use by something else: $(echo $busy)"
case "$OSL" in /|/usr*|/etc*|/var/lib*|/root|/home|"$OS_ROOT") fail "refusing COFFER_OPENSTACK_DIR=$OSL";; esac
rm -rf "$OSL"
mkdir -p "$OSL"/{etc,log,run,bin,lib} "$OSL"/state/{nova/instances,glance/images,swift/node/sdb1,keystone/fernet-keys,keystone/credential-keys,rabbitmq,mariadb}
cd "$OSL"
export OSL

bg() { # bg NAME CMD... : detached (own session), pid -> run/NAME.pid, output -> log/NAME.out
  local name=$1; shift
  # Only stdio is passed on: a lock held by whoever started us (`flock /tmp/bench.lock …`
  # leaves its lock's descriptor open in its command) must not live on in the daemons.
  (
    for fd in /proc/$BASHPID/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done
    exec setsid "$@" > "$OSL/log/$name.out" 2>&1 < /dev/null
  ) &
  echo $! > "$OSL/run/$name.pid"
}
wsgi() { # wsgi NAME PORT WSGI_SCRIPT [KEY=VAL ...]: uwsgi on 127.0.0.1:PORT, PROCS x THREADS
  local name=$1 port=$2 script=$3; shift 3
  local envs=(); for e in "$@"; do envs+=(--env "$e"); done
  # uwsgi's --http-socket closes every connection after the response without saying so; a client
  # with a keep-alive pool then writes onto a dead socket: say it (note, finding 4).
  bg "$name" uwsgi --plugins python3 --http-socket 127.0.0.1:$port --wsgi-file "$script" \
    --master --processes ${PROCS:-1} --threads ${THREADS:-4} --enable-threads --lazy-apps \
    --buffer-size 65535 --die-on-term --need-app --add-header "Connection: close" "${envs[@]}"
}
wait_http() { # URL [codes regex] [limit s]
  local end=$(( $(date +%s) + ${3:-180} ))
  while [ "$(date +%s)" -lt $end ]; do
    curl -s -o /dev/null -m 5 -w '%{http_code}' "$1" 2>/dev/null | grep -Eq "${2:-^(200|300)$}" && return 0; sleep 0.25
  done; fail "timeout waiting for $1 (logs: $OSL/log)"; }

# ---------------------------------------------------------------- glue: the project's own small files
cp -r "$OS_GLUE"/osl_fakemech.py "$OS_GLUE"/osl_fakemech-1.0.dist-info "$OS_GLUE"/osl_fakevol.py lib/
cp "$OS_GLUE"/nova-compute "$OS_GLUE"/seed-keystone.py "$OS_GLUE"/seed-cloud.py bin/

# ---------------------------------------------------------------- private MariaDB and RabbitMQ
mariadb-install-db --no-defaults --datadir="$OSL/state/mariadb" --user=root --skip-test-db \
  --auth-root-authentication-method=socket > log/mariadb-install.out 2>&1 || fail "mariadb-install-db failed: $OSL/log/mariadb-install.out"
bg mariadb mariadbd --no-defaults --datadir="$OSL/state/mariadb" --user=root --bind-address=127.0.0.1 \
  --port=$MARIADB_PORT --socket="$OSL/run/mariadb.sock" --pid-file="$OSL/run/mariadbd.pidfile" \
  --max-connections=1000 --innodb-buffer-pool-size=256M --innodb-flush-log-at-trx-commit=0 \
  --skip-performance-schema --skip-name-resolve --log-error="$OSL/log/mariadb.err"
cat > etc/rabbitmq.conf <<CONF
listeners.tcp.default = 127.0.0.1:$RABBITMQ_PORT
loopback_users.guest = true
CONF
: > etc/rabbitmq-enabled-plugins
# the broker reads none of the machine's /etc/rabbitmq (its rabbitmq-env.conf may name another node)
printf 'ERL_EPMD_ADDRESS=127.0.0.1\n' > etc/rabbitmq-env.conf
mkdir -p log/rabbitmq
bg epmd epmd -port $EPMD_PORT -address 127.0.0.1
HOME=$OSL/state/rabbitmq RABBITMQ_NODENAME=$RABBIT_NODE RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
  RABBITMQ_NODE_PORT=$RABBITMQ_PORT RABBITMQ_DIST_PORT=$((RABBITMQ_PORT + 1)) \
  RABBITMQ_CONF_ENV_FILE=$OSL/etc/rabbitmq-env.conf RABBITMQ_ADVANCED_CONFIG_FILE=$OSL/etc/rabbitmq-advanced.config \
  RABBITMQ_CONFIG_FILE=$OSL/etc/rabbitmq.conf RABBITMQ_ENABLED_PLUGINS_FILE=$OSL/etc/rabbitmq-enabled-plugins \
  RABBITMQ_MNESIA_BASE=$OSL/state/rabbitmq/mnesia RABBITMQ_LOG_BASE=$OSL/log/rabbitmq \
  RABBITMQ_PID_FILE=$OSL/run/rabbitmq.pidfile RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
  bg rabbitmq /usr/lib/rabbitmq/bin/rabbitmq-server
bg memcached memcached -u nobody -l 127.0.0.1 -p $MEMCACHED_PORT -m 64
end=$(( $(date +%s) + 120 ))
until mariadb --no-defaults -uroot --socket="$OSL/run/mariadb.sock" -e 'select 1' >/dev/null 2>&1; do
  [ "$(date +%s)" -lt $end ] || fail "MariaDB did not start: $OSL/log/mariadb.err"; sleep 0.25; done
mariadb --no-defaults -uroot --socket="$OSL/run/mariadb.sock" <<SQL
CREATE USER 'openstack'@'127.0.0.1' IDENTIFIED BY 'openstack';
$(for d in keystone placement nova_api nova nova_cell0 glance cinder neutron; do
  echo "CREATE DATABASE $d; GRANT ALL PRIVILEGES ON $d.* TO 'openstack'@'127.0.0.1';"; done)
SQL
stamp "MariaDB up on 127.0.0.1:$MARIADB_PORT, 8 databases"
DB="mysql+pymysql://openstack:openstack@127.0.0.1:$MARIADB_PORT"
MQ="rabbit://guest:guest@127.0.0.1:$RABBITMQ_PORT/"

# ---------------------------------------------------------------- configuration
ka() { cat <<CONF
auth_url = http://127.0.0.1:5000/v3
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $1
password = $1
region_name = RegionOne
CONF
}
authtoken() { printf '[keystone_authtoken]\nwww_authenticate_uri = http://127.0.0.1:5000/v3\nservice_token_roles_required = true\nmemcached_servers = 127.0.0.1:%s\n' $MEMCACHED_PORT; ka "$1"; }
mkdir -p etc/{keystone,placement,glance,nova,neutron,cinder,swift}
cp /etc/glance/glance-api-paste.ini etc/glance/; cp /etc/nova/api-paste.ini etc/nova/
cp /etc/neutron/api-paste.ini etc/neutron/; cp /etc/cinder/api-paste.ini etc/cinder/

cat > etc/keystone/keystone.conf <<CONF
[DEFAULT]
log_dir = $OSL/log
[database]
connection = $DB/keystone
[token]
provider = fernet
expiration = ${COFFER_OPENSTACK_TOKEN_EXPIRATION:-86400}
[fernet_tokens]
key_repository = $OSL/state/keystone/fernet-keys
[fernet_receipts]
key_repository = $OSL/state/keystone/fernet-keys
[credential]
key_repository = $OSL/state/keystone/credential-keys
CONF

cat > etc/placement/placement.conf <<CONF
[DEFAULT]
log_dir = $OSL/log
[api]
auth_strategy = keystone
[placement_database]
connection = $DB/placement
$(authtoken placement)
CONF

cat > etc/glance/glance-api.conf <<CONF
[DEFAULT]
bind_host = 127.0.0.1
bind_port = 9292
workers = 0
log_file = $OSL/log/glance-api.log
enabled_backends = fs:file
[database]
connection = $DB/glance
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = $OSL/state/glance/images
[paste_deploy]
flavor = keystone
config_file = $OSL/etc/glance/glance-api-paste.ini
$(authtoken glance)
[oslo_concurrency]
lock_path = $OSL/state/glance/lock
CONF

cat > etc/nova/nova.conf <<CONF
[DEFAULT]
transport_url = $MQ
host = coffer-compute
my_ip = 127.0.0.1
compute_driver = fake.FakeDriver
allow_resize_to_same_host = true
state_path = $OSL/state/nova
instances_path = $OSL/state/nova/instances
log_dir = $OSL/log
[api]
auth_strategy = keystone
[api_database]
connection = $DB/nova_api
[database]
connection = $DB/nova
[wsgi]
api_paste_config = $OSL/etc/nova/api-paste.ini
[conductor]
workers = 1
[scheduler]
workers = 1
discover_hosts_in_cells_interval = 5
$(authtoken nova)
[service_user]
send_service_user_token = true
$(ka nova)
[placement]
$(ka placement)
[neutron]
$(ka neutron)
[cinder]
os_region_name = RegionOne
$(ka cinder)
[glance]
region_name = RegionOne
[vnc]
enabled = false
[oslo_concurrency]
lock_path = $OSL/state/nova/lock
[oslo_messaging_notifications]
driver = noop
CONF

cat > etc/neutron/neutron.conf <<CONF
[DEFAULT]
bind_host = 127.0.0.1
bind_port = 9696
core_plugin = ml2
service_plugins = router
auth_strategy = keystone
transport_url = $MQ
api_workers = 1
rpc_workers = 1
rpc_state_report_workers = 0
state_path = $OSL/state/neutron
log_dir = $OSL/log
api_paste_config = $OSL/etc/neutron/api-paste.ini
notify_nova_on_port_status_changes = true
notify_nova_on_port_data_changes = true
[database]
connection = $DB/neutron
$(authtoken neutron)
[nova]
$(ka nova)
[oslo_concurrency]
lock_path = $OSL/state/neutron/lock
CONF
cat > etc/neutron/ml2_conf.ini <<CONF
[ml2]
type_drivers = local,flat,vxlan
tenant_network_types = local
mechanism_drivers = bindall
extension_drivers = port_security
[ml2_type_flat]
flat_networks = *
[ml2_type_vxlan]
vni_ranges = 1:1000
[securitygroup]
enable_security_group = true
CONF

cat > etc/cinder/cinder.conf <<CONF
[DEFAULT]
transport_url = $MQ
auth_strategy = keystone
host = coffer-cinder
my_ip = 127.0.0.1
osapi_volume_listen = 127.0.0.1
osapi_volume_listen_port = 8776
osapi_volume_workers = 1
api_paste_config = $OSL/etc/cinder/api-paste.ini
state_path = $OSL/state/cinder
log_dir = $OSL/log
enabled_backends = fake
default_volume_type = fake
glance_api_servers = http://127.0.0.1:9292
[fake]
volume_driver = osl_fakevol.FakeVolumeDriver
volume_backend_name = fake
[database]
connection = $DB/cinder
$(authtoken cinder)
[nova]
$(ka nova)
[oslo_concurrency]
lock_path = $OSL/state/cinder/lock
[oslo_messaging_notifications]
driver = noop
CONF

for r in account:6202 container:6201 object:6200; do n=${r%%:*}; p=${r##*:}
  cat > etc/swift/$n-server.conf <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $p
workers = 1
user = root
swift_dir = $OSL/etc/swift
devices = $OSL/state/swift/node
mount_check = false
log_name = swift-$n
[pipeline:main]
pipeline = $n-server
[app:$n-server]
use = egg:swift#$n
CONF
  ( cd etc/swift && swift-ring-builder $n.builder create 10 1 1 >/dev/null &&
    swift-ring-builder $n.builder add r1z1-127.0.0.1:$p/sdb1 100 >/dev/null &&
    swift-ring-builder $n.builder rebalance >/dev/null )
done
cat > etc/swift/proxy-server.conf <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = 8080
workers = 1
user = root
swift_dir = $OSL/etc/swift
log_name = swift-proxy
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats authtoken keystoneauth copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$MEMCACHED_PORT
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
[filter:keystoneauth]
use = egg:swift#keystoneauth
operator_roles = admin, member
reseller_admin_role = ResellerAdmin
[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
www_authenticate_uri = http://127.0.0.1:5000/v3
auth_url = http://127.0.0.1:5000/v3
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = swift
password = swift
memcached_servers = 127.0.0.1:$MEMCACHED_PORT
delay_auth_decision = true
CONF
stamp "configuration written under $OSL/etc, Swift rings built"

end=$(( $(date +%s) + 180 ))
until rmqctl -q await_startup --timeout 5 >/dev/null 2>&1; do
  [ "$(date +%s)" -lt $end ] || fail "RabbitMQ did not start: $OSL/log/rabbitmq.out"; sleep 0.5; done
stamp "RabbitMQ up on 127.0.0.1:$RABBITMQ_PORT"

# ---------------------------------------------------------------- Keystone first, the other schemas beside it
KM="keystone-manage --config-file $OSL/etc/keystone/keystone.conf"
{ $KM db_sync && $KM fernet_setup --keystone-user root --keystone-group root &&
  $KM credential_setup --keystone-user root --keystone-group root &&
  $KM bootstrap --bootstrap-password admin --bootstrap-region-id RegionOne \
      --bootstrap-admin-url http://127.0.0.1:5000/v3/ --bootstrap-internal-url http://127.0.0.1:5000/v3/ \
      --bootstrap-public-url http://127.0.0.1:5000/v3/; } > log/keystone-setup.out 2>&1 &
KPID=$!
pids=()
( placement-manage --config-file etc/placement/placement.conf db sync ) > log/placement-dbsync.out 2>&1 & pids+=($!)
( glance-manage --config-file etc/glance/glance-api.conf db_sync ) > log/glance-dbsync.out 2>&1 & pids+=($!)
( NM="nova-manage --config-file etc/nova/nova.conf"; $NM api_db sync &&
  $NM cell_v2 map_cell0 --database_connection "$DB/nova_cell0" &&
  $NM cell_v2 create_cell --name=cell1 && $NM db sync ) > log/nova-dbsync.out 2>&1 & pids+=($!)
( neutron-db-manage --config-file etc/neutron/neutron.conf --config-file etc/neutron/ml2_conf.ini upgrade head ) > log/neutron-dbsync.out 2>&1 & pids+=($!)
( cinder-manage --config-file etc/cinder/cinder.conf db sync ) > log/cinder-dbsync.out 2>&1 & pids+=($!)
wait $KPID || fail "keystone setup failed, see $OSL/log/keystone-setup.out"
wsgi keystone 5000 /usr/bin/keystone-wsgi-public OS_KEYSTONE_CONFIG_FILES=$OSL/etc/keystone/keystone.conf
wait_http http://127.0.0.1:5000/v3/
stamp "Keystone up (schema, fernet keys, bootstrap)"
$PY bin/seed-keystone.py > log/seed-keystone.out 2>&1 || fail "seeding Keystone failed: $OSL/log/seed-keystone.out"
stamp "Keystone seeded (service users, roles, catalog)"

# ---------------------------------------------------------------- everything else
for p in "${pids[@]}"; do wait "$p" || true; done
for f in placement glance nova neutron cinder; do
  if grep -qiE '^(ERROR|CRITICAL)|Traceback' log/$f-dbsync.out; then tail -20 log/$f-dbsync.out >&2; fail "$f db sync failed"; fi
done
stamp "schemas synced"
wsgi placement 8778 /usr/bin/placement-api OS_PLACEMENT_CONFIG_DIR=$OSL/etc/placement
PROCS=2 THREADS=1 wsgi nova-api 8774 /usr/bin/nova-api-wsgi OS_NOVA_CONFIG_DIR=$OSL/etc/nova
bg glance-api glance-api --config-file etc/glance/glance-api.conf
PYTHONPATH=$OSL/lib bg neutron-server neutron-server --config-file etc/neutron/neutron.conf --config-file etc/neutron/ml2_conf.ini
bg cinder-api cinder-api --config-file etc/cinder/cinder.conf
bg cinder-scheduler cinder-scheduler --config-file etc/cinder/cinder.conf
PYTHONPATH=$OSL/lib bg cinder-volume cinder-volume --config-file etc/cinder/cinder.conf
bg nova-conductor nova-conductor --config-file etc/nova/nova.conf
bg nova-scheduler nova-scheduler --config-file etc/nova/nova.conf
bg nova-compute bin/nova-compute --config-file etc/nova/nova.conf
for n in account container object proxy; do bg swift-$n swift-$n-server etc/swift/$n-server.conf; done
for a in $OS_APIS; do wait_http "${a#*:}" '^(200|300)$' 300; done
stamp "all APIs answer"
$PY bin/seed-cloud.py "$OSL/etc/nova/nova.conf" > log/seed-cloud.out 2>&1 || fail "seeding the cloud failed: $OSL/log/seed-cloud.out"
cat > admin-openrc <<'CONF'
export OS_AUTH_URL=http://127.0.0.1:5000/v3 OS_IDENTITY_API_VERSION=3 OS_REGION_NAME=RegionOne
export OS_USERNAME=admin OS_PASSWORD=admin OS_PROJECT_NAME=admin
export OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_INTERFACE=public
CONF
echo "$(( ($(date +%s%N) - T0) / 1000000 ))" > run/ready-ms
stamp "READY: flavors 1 (m1.tiny) and 2 (m1.small), image fake-image, network private, volume type fake; compute and volume services up. Credentials: $OSL/admin-openrc"
