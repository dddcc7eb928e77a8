"""Service project, users, roles, catalog of the loopback cloud: raw REST (much faster than the CLI)."""
import sys
from keystoneauth1 import session
from keystoneauth1.identity import v3

H = '127.0.0.1'
s = session.Session(auth=v3.Password(auth_url=f'http://{H}:5000/v3', username='admin', password='admin',
    project_name='admin', user_domain_name='Default', project_domain_name='Default'))
K = {'service_type': 'identity', 'interface': 'public'}


def find(coll, name):
    return s.get(f'/{coll}?name={name}', endpoint_filter=K).json()[coll][0]['id']


def post(coll, obj):
    return s.post(f'/{coll}', json={coll[:-1]: obj}, endpoint_filter=K).json()[coll[:-1]]['id']


svc_project = post('projects', {'name': 'service', 'domain_id': 'default'})
for r in ('service', 'ResellerAdmin'):
    post('roles', {'name': r})
admin_role, service_role = find('roles', 'admin'), find('roles', 'service')
for u in ('placement', 'nova', 'glance', 'cinder', 'neutron', 'swift'):
    uid = post('users', {'name': u, 'password': u, 'domain_id': 'default'})
    for role in (admin_role, service_role):
        s.put(f'/projects/{svc_project}/users/{uid}/roles/{role}', endpoint_filter=K)
catalog = [('placement', 'placement', f'http://{H}:8778'),
           ('nova', 'compute', f'http://{H}:8774/v2.1'),
           ('glance', 'image', f'http://{H}:9292'),
           ('cinderv3', 'volumev3', f'http://{H}:8776/v3/%(project_id)s'),
           ('cinder', 'block-storage', f'http://{H}:8776/v3/%(project_id)s'),
           ('neutron', 'network', f'http://{H}:9696'),
           ('swift', 'object-store', f'http://{H}:8080/v1/AUTH_%(project_id)s')]
for name, stype, url in catalog:
    sid = post('services', {'name': name, 'type': stype, 'enabled': True})
    for iface in ('public', 'internal', 'admin'):
        post('endpoints', {'service_id': sid, 'interface': iface, 'url': url, 'region_id': 'RegionOne'})
print('keystone seeded', file=sys.stderr)
