"""novajoin.openstack: the neutron reads of floating-IP records, against a
stand-in keystoneauth adapter (the real neutron: functional tests); nova's
server details; each service's adapter built from its own group."""
import urllib.parse

from novajoin import openstack


class Resp:
    def __init__(self, body, status=200):
        self.status_code = status
        self._body = body

    def json(self):
        return self._body


class Session:
    """Answers GET /v2.0/floatingips and /v2.0/ports from lists, as neutron
    does: ``limit``/``marker`` pages sorted by id, ``id`` filters."""

    def __init__(self, fips=(), ports=()):
        self.fips = sorted(fips, key=lambda f: f['id'])
        self.ports = list(ports)
        self.asked = []

    def get(self, path, params=None, **kwargs):
        self.asked.append((path, dict(params or {})))
        params = params or {}
        if path == '/v2.0/floatingips':
            found = [f for f in self.fips if 'floating_ip_address' not in params
                     or f['floating_ip_address'] == params['floating_ip_address']]
            if 'marker' in params:
                found = [f for f in found if f['id'] > params['marker']]
            if 'limit' in params:
                found = found[:params['limit']]
            return Resp({'floatingips': found})
        if path == '/v2.0/ports':
            ids = params.get('id')
            return Resp({'ports': [p for p in self.ports
                                   if ids is None or p['id'] in ids]})
        return Resp({}, 404)


def fip(n):
    return {'id': '%04d' % n, 'floating_ip_address': '192.0.2.%d' % n,
            'port_id': None}


def test_all_floating_ips_are_read_a_page_at_a_time():
    session = Session([fip(n) for n in range(1, 8)])
    network = openstack.Network(session)
    network.PAGE = 3
    assert [f['id'] for f in network.floating_ips()] == [
        '%04d' % n for n in range(1, 8)]
    pages = [p for path, p in session.asked]
    assert [p.get('marker') for p in pages] == [None, '0003', '0006']
    assert all(p['limit'] == 3 for p in pages)


def test_an_exact_page_ends_with_an_empty_one():
    session = Session([fip(n) for n in range(1, 7)])
    network = openstack.Network(session)
    network.PAGE = 3
    assert len(network.floating_ips()) == 6
    assert len(session.asked) == 3


def test_one_address_is_one_filtered_read():
    session = Session([fip(1), fip(2)])
    found = openstack.Network(session).floating_ips(address='192.0.2.2')
    assert [f['id'] for f in found] == ['0002']
    assert session.asked[0][1]['floating_ip_address'] == '192.0.2.2'


def test_ports_by_id_are_read_in_bounded_queries():
    ports = [{'id': 'p%03d' % n, 'device_id': 'd'} for n in range(250)]
    session = Session(ports=ports)
    network = openstack.Network(session)
    found = network.ports([p['id'] for p in ports] + ['p000', 'unknown'])
    assert sorted(found) == sorted(p['id'] for p in ports)
    assert [len(p['id']) for _, p in session.asked] == [100, 100, 51]


def test_fixed_ip_filter_is_neutrons_syntax():
    session = Session(ports=[])
    openstack.Network(session).ports_with_fixed_ip('192.0.2.9')
    path, params = session.asked[0]
    assert urllib.parse.unquote(params['fixed_ips']) == 'ip_address=192.0.2.9'


class StubNovaServers:
    def __init__(self, servers):
        self.servers = servers
        self.asked = []

    def list(self, **kwargs):
        self.asked.append(kwargs)
        return self.servers


class Server:
    def __init__(self, **attrs):
        self.__dict__.update(attrs)


def test_server_details_are_every_projects_with_nova_hostname_and_utc_time():
    nova = openstack.Servers.__new__(openstack.Servers)
    raw = [Server(id='a', tenant_id='p1', metadata={'k': 'v'},
                  created='2026-12-04T05:40:00Z',
                  **{'OS-EXT-SRV-ATTR:hostname': 'vm1'}),
           Server(id='b', tenant_id='p2', created='garbage')]
    nova._nova = type('Nova', (), {'servers': StubNovaServers(raw)})()
    assert nova.details() == [
        {'id': 'a', 'project': 'p1', 'hostname': 'vm1', 'metadata': {'k': 'v'},
         'created': 1796362800.0},
        {'id': 'b', 'project': 'p2', 'hostname': None, 'metadata': {},
         'created': None}]
    assert nova._nova.servers.asked == [{'detailed': True, 'limit': -1,
                                         'search_opts': {'all_tenants': True}}]
    assert openstack._unix_time('2026-12-04T05:40:00') == 1796362800.0
