"""Flavors, image, networks, volume type of the loopback cloud; then wait until nova-compute and
cinder-volume serve and the compute host is mapped to the cell. argv[1]: nova.conf."""
import subprocess
import sys
import time
from keystoneauth1 import session
from keystoneauth1.identity import v3

s = session.Session(auth=v3.Password(auth_url='http://127.0.0.1:5000/v3', username='admin', password='admin',
    project_name='admin', user_domain_name='Default', project_domain_name='Default'))
C = {'service_type': 'compute'}; N = {'service_type': 'network'}; V = {'service_type': 'volumev3'}; I = {'service_type': 'image'}
s.post('/flavors', json={'flavor': {'name': 'm1.tiny', 'ram': 512, 'vcpus': 1, 'disk': 1, 'id': '1'}}, endpoint_filter=C)
s.post('/flavors', json={'flavor': {'name': 'm1.small', 'ram': 2048, 'vcpus': 1, 'disk': 20, 'id': '2'}}, endpoint_filter=C)
img = s.post('/v2/images', json={'name': 'fake-image', 'disk_format': 'raw', 'container_format': 'bare',
    'visibility': 'public'}, endpoint_filter=I).json()['id']
s.put(f'/v2/images/{img}/file', data=b'\0' * 65536, headers={'Content-Type': 'application/octet-stream'}, endpoint_filter=I)
net = s.post('/v2.0/networks', json={'network': {'name': 'private', 'shared': True}}, endpoint_filter=N).json()['network']['id']
s.post('/v2.0/subnets', json={'subnet': {'network_id': net, 'name': 'private-subnet', 'ip_version': 4,
    'cidr': '10.99.0.0/24'}}, endpoint_filter=N)
pub = s.post('/v2.0/networks', json={'network': {'name': 'public', 'router:external': True,
    'provider:network_type': 'flat', 'provider:physical_network': 'public'}}, endpoint_filter=N).json()['network']['id']
s.post('/v2.0/subnets', json={'subnet': {'network_id': pub, 'name': 'public-subnet', 'ip_version': 4,
    'cidr': '203.0.113.0/24', 'enable_dhcp': False}}, endpoint_filter=N)


def until(what, fn, limit=300):
    t = time.time()
    while not fn():
        if time.time() - t > limit:
            sys.exit(f'timeout: {what}')
        time.sleep(0.5)


def service_up(ep, binary):
    return lambda: any(x['binary'] == binary and x['state'] == 'up'
                       for x in s.get('/os-services', endpoint_filter=ep).json()['services'])


until('cinder-volume up', service_up(V, 'cinder-volume'))
s.post('/types', json={'volume_type': {'name': 'fake', 'extra_specs': {'volume_backend_name': 'fake'}}}, endpoint_filter=V)
until('nova-compute up', service_up(C, 'nova-compute'))


def mapped():
    if s.get('/os-hypervisors', endpoint_filter=C).json()['hypervisors']:
        return True
    subprocess.run(['nova-manage', '--config-file', sys.argv[1], 'cell_v2', 'discover_hosts'], capture_output=True)
    return False


until('compute host mapped', mapped)
print('cloud seeded', file=sys.stderr)
