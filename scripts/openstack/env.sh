# Shared settings of the loopback OpenStack scripts (sourced, not run).
# COFFER_OPENSTACK_DIR: where configs, state, logs and pid files live (default <repo>/.coffer-openstack).
# The OpenStack APIs listen on their usual ports on 127.0.0.1 (the catalog names them):
# keystone 5000, nova 8774, cinder 8776, placement 8778, glance 9292, neutron 9696, swift 8080
# (+ 6200-6202 for its object/container/account servers). The stack's own MariaDB, RabbitMQ (and
# its epmd) and memcached listen on private ports: COFFER_OPENSTACK_{MARIADB,RABBITMQ,EPMD,MEMCACHED}_PORT,
# below the kernel's ephemeral range (32768-60999): a port there can be any client's local port
# when the stack starts beside the tests (MariaDB once failed to bind 35306 so).
OS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OS_GLUE=$OS_ROOT/scripts/openstack/glue
OSL=$(realpath -m "${COFFER_OPENSTACK_DIR:-$OS_ROOT/.coffer-openstack}")
PY=/usr/bin/python3                        # not a pyenv python3 on PATH: the OpenStack libraries are Debian's
MARIADB_PORT=${COFFER_OPENSTACK_MARIADB_PORT:-22306}
RABBITMQ_PORT=${COFFER_OPENSTACK_RABBITMQ_PORT:-22672}
EPMD_PORT=${COFFER_OPENSTACK_EPMD_PORT:-22369}
MEMCACHED_PORT=${COFFER_OPENSTACK_MEMCACHED_PORT:-22211}
RABBIT_NODE=coffer-openstack@localhost
OS_API_PORTS="5000 8774 8776 8778 9292 9696 8080 6200 6201 6202"
# name:url of every API, for `status` and the readiness waits
OS_APIS="keystone:http://127.0.0.1:5000/v3/ placement:http://127.0.0.1:8778/ nova:http://127.0.0.1:8774/ glance:http://127.0.0.1:9292/ cinder:http://127.0.0.1:8776/ neutron:http://127.0.0.1:9696/ swift:http://127.0.0.1:8080/healthcheck"
export ERL_EPMD_PORT=$EPMD_PORT            # a private epmd: the broker must not depend on the machine's

# rabbitmqctl against the private broker (Debian's wrapper would switch to user rabbitmq)
rmqctl() { HOME=$OSL/state/rabbitmq RABBITMQ_CONF_ENV_FILE=$OSL/etc/rabbitmq-env.conf /usr/lib/rabbitmq/bin/rabbitmqctl -n "$RABBIT_NODE" "$@"; }

# every process below pid (children, grandchildren, ...)
descendants() { local c; for c in $(pgrep -P "$1"); do echo "$c"; descendants "$c"; done; }

# true when pid runs (a zombie, dead but not yet reaped by whoever inherited it, does not)
alive() { local s; s=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) && [ -n "$s" ] && [ "$s" != Z ]; }
