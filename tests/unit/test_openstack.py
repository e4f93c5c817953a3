"""novajoin.openstack: the neutron reads of floating-IP records, against a
stand-in keystoneauth adapter (the real neutron: functional tests); nova's
server details; each service's adapter built from its own group."""
import urllib.parse

import pytest

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


class PagedNovaServers:
    """novaclient's servers manager over ``ids``, a page per ``limit``."""

    def __init__(self, ids):
        self.ids = list(ids)
        self.asked = []

    def list(self, detailed=True, search_opts=None, marker=None, limit=None):
        self.asked.append({'detailed': detailed, 'search_opts': search_opts,
                           'marker': marker, 'limit': limit})
        start = self.ids.index(marker) + 1 if marker else 0
        return [Server(id=i) for i in self.ids[start:start + limit]]


def nova_listing(ids, page=2):
    nova = openstack.Servers.__new__(openstack.Servers)
    nova.PAGE = page
    nova._nova = type('Nova', (), {'servers': PagedNovaServers(ids)})()
    return nova


def test_deleted_servers_are_listed_by_nova_status_in_every_project():
    nova = nova_listing(['a', 'b', 'c'])
    assert list(nova.deleted_pages(lambda: 1796362800.5)) == [{'a', 'b'},
                                                              {'c'}]
    asked = nova._nova.servers.asked
    assert [a['marker'] for a in asked] == [None, 'b', 'c']   # to an empty page
    assert all(a['detailed'] is False and a['limit'] == 2 for a in asked)
    assert asked[0]['search_opts'] == {
        'all_tenants': True, 'status': 'DELETED',
        'changes-since': '2026-12-04T05:40:00Z'}
    every = nova_listing(['a'])
    assert list(every.deleted_pages()) == [{'a'}]
    assert every._nova.servers.asked[0]['search_opts'] == {
        'all_tenants': True, 'status': 'DELETED'}


def test_the_deleted_listing_is_narrowed_for_the_pages_after_since_is_known():
    nova = nova_listing(['a', 'b', 'c', 'd'])
    since = [None]
    pages = nova.deleted_pages(lambda: since[0])
    assert next(pages) == {'a', 'b'}
    since[0] = 1796362800.0
    assert next(pages) == {'c', 'd'}
    asked = nova._nova.servers.asked
    assert 'changes-since' not in asked[0]['search_opts']
    assert asked[1]['search_opts']['changes-since'] == '2026-12-04T05:40:00Z'
    assert asked[1]['marker'] == 'b'


def test_the_deleted_listing_asks_nova_only_for_the_pages_taken():
    nova = nova_listing(['a', 'b', 'c', 'd', 'e'])
    pages = nova.deleted_pages()
    assert next(pages) == {'a', 'b'}          # newest first
    pages.close()
    assert len(nova._nova.servers.asked) == 1


def test_nova_failing_to_list_deleted_servers_is_transient():
    from novaclient import exceptions as nova_exc

    class Failing:
        def list(self, **kwargs):
            raise nova_exc.ClientException(503, 'busy')
    nova = openstack.Servers.__new__(openstack.Servers)
    nova._nova = type('Nova', (), {'servers': Failing()})()
    with pytest.raises(openstack.UpstreamError):
        list(nova.deleted_pages())


# -- nova's instance actions (a rebuild vouched for) ----------------------------

REQ = 'req-0c3f4a1e-2b6d-4e8f-9a0b-1c2d3e4f5a6b'
OLD_REQ = 'req-9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a'


class StubInstanceActions:
    """novaclient's instance_action manager: ``list(server)``."""

    def __init__(self, actions=(), error=None):
        self.actions = list(actions)
        self.error = error
        self.asked = []

    def list(self, server, **kwargs):
        self.asked.append((server, kwargs))
        if self.error:
            raise self.error
        return self.actions


def servers_with(manager):
    nova = openstack.Servers.__new__(openstack.Servers)
    nova._nova = type('Nova', (), {'instance_action': manager})()
    return nova


def nova_action(action, request_id, start_time):
    # as novaclient builds it from GET /servers/{id}/os-instance-actions
    return Server(action=action, request_id=request_id, start_time=start_time,
                  instance_uuid='vm', user_id='u', project_id='p',
                  message=None, updated_at=start_time)


def test_actions_are_newest_first_with_unix_times():
    manager = StubInstanceActions([
        nova_action('create', OLD_REQ, '2026-12-04T05:00:00.000000'),
        nova_action('rebuild', REQ, '2026-12-04T05:40:00.000000'),
        nova_action('stop', 'req-11111111-2222-4333-8444-555555555555',
                    '2026-12-04T05:20:00Z')])
    assert servers_with(manager).actions('vm') == [
        {'action': 'rebuild', 'request_id': REQ, 'started': 1796362800.0},
        {'action': 'stop', 'request_id': 'req-11111111-2222-4333-8444-555555555555',
         'started': 1796361600.0},
        {'action': 'create', 'request_id': OLD_REQ, 'started': 1796360400.0}]
    assert manager.asked == [('vm', {})]


@pytest.mark.parametrize('bad', [
    None, '', 'req-x', REQ.upper(), REQ + '\n', ' ' + REQ, REQ + 'a',
    REQ[4:], 7, ['req']])
def test_a_malformed_request_id_is_none(bad):
    manager = StubInstanceActions([
        nova_action('rebuild', bad, '2026-12-04T05:40:00.000000')])
    (found,) = servers_with(manager).actions('vm')
    assert found == {'action': 'rebuild', 'request_id': None,
                     'started': 1796362800.0}


def test_an_action_without_a_start_time_is_listed_last():
    manager = StubInstanceActions([
        nova_action('rebuild', REQ, None),
        nova_action('create', OLD_REQ, '2026-12-04T05:00:00.000000'),
        nova_action('stop', None, 'garbage')])
    found = servers_with(manager).actions('vm')
    assert [a['action'] for a in found] == ['create', 'rebuild', 'stop']
    assert [a['started'] for a in found] == [1796360400.0, None, None]


def test_actions_of_a_server_nova_does_not_have_are_none():
    from novaclient import exceptions as nova_exc
    manager = StubInstanceActions(error=nova_exc.NotFound(404, 'Instance vm '
                                                               'not found'))
    assert servers_with(manager).actions('vm') is None


def test_nova_failing_to_list_actions_is_transient():
    from keystoneauth1 import exceptions as ks_exc
    from novaclient import exceptions as nova_exc
    from novajoin.notify import listener
    for error in (nova_exc.ClientException(500, 'oops'),
                  ks_exc.ConnectFailure('refused')):
        with pytest.raises(openstack.UpstreamError) as exc:
            servers_with(StubInstanceActions(error=error)).actions('vm')
        assert listener.is_transient(exc.value)
        assert str(exc.value).startswith('nova: ')


def test_no_actions_is_an_empty_list():
    assert servers_with(StubInstanceActions([])).actions('vm') == []


# -- glance -------------------------------------------------------------------

class Glance:
    """A keystoneauth adapter for glance that raises ``error``, or answers."""

    def __init__(self, error=None, image=None):
        self.error = error
        self.image = image
        self.asked = 0

    def get(self, path, **kwargs):
        self.asked += 1
        if self.error is not None:
            raise self.error
        return Resp(self.image) if self.image else Resp({}, 404)


def test_no_image_service_in_the_catalog_means_no_properties_said_once_a_minute(
        caplog):
    from keystoneauth1 import exceptions as ks_exc
    now = [1000.0]
    images = openstack.Images(
        Glance(ks_exc.EndpointNotFound('no image endpoint')), ttl=0,
        clock=lambda: now[0])
    with caplog.at_level('ERROR', logger='novajoin.openstack'):
        assert images.properties('img1') == {}
        now[0] += 30
        assert images.properties('img2') == {}
        now[0] += 31
        assert images.properties('img3') == {}
    said = [r.getMessage() for r in caplog.records
            if 'no image service in the catalog' in r.getMessage()]
    assert len(said) == 2 and 'no image endpoint' in said[0]


def test_glance_unreachable_is_still_an_upstream_error():
    from keystoneauth1 import exceptions as ks_exc
    images = openstack.Images(Glance(ks_exc.ConnectFailure('refused')))
    with pytest.raises(openstack.UpstreamError, match='refused'):
        images.properties('img1')


def test_image_properties_are_its_string_attributes():
    images = openstack.Images(Glance(image={'ipa_enroll': 'True', 'size': 5,
                                            'os_distro': 'rhel'}))
    assert images.properties('img1') == {'ipa_enroll': 'True',
                                         'os_distro': 'rhel'}
