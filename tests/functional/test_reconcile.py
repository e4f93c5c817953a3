"""novajoin-reconcile (and the reconciler inside novajoin-notify) for real.

Real: FreeIPA, keystone (the [service_credentials] token), python-novaclient,
the console script. nova: a small HTTP stand-in answering from the test's
server list (the leak tests), and the real nova compute API peer (the
two-cloud test, nova_api.py). The reconciler is kept to this test's own DNS
domain (reconcile_domains), since the IPA realm is shared with other tests.
"""
import json
import re
import subprocess
import threading
import time
import uuid

import pytest
import requests
from werkzeug import serving
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

from novajoin import config
from novajoin import openstack
from novajoin.ipa import errors
from tests.functional import notify_env
from tests.functional import nova_api
from tests.functional import peers
from tests.functional.notify_env import wait_until
from tests.functional.test_notify import IPAState
from tests.functional.test_notify import PROJECT
from tests.functional.test_notify import REVERSE


class StandInNovaNeutron:
    """GET /v2.1/servers[/<id>] and the neutron look-ups the reconciler makes.

    Answers only requests that carry a token, and records the tokens.
    """

    def __init__(self):
        self.servers = {}           # id -> {network: [addresses]}
        self.deleted = set()        # ids listed with status=DELETED
        self.tokens = set()
        self.requests = []
        self._server = serving.make_server('127.0.0.1', 0, self._wsgi,
                                           threaded=True)
        self.url = 'http://127.0.0.1:%d' % self._server.server_port
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def _json(self, body, status=200):
        return Response(json.dumps(body), status=status,
                        content_type='application/json')

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        self.requests.append(request.full_path)
        token = request.headers.get('X-Auth-Token')
        if not token:
            resp = self._json({'error': 'no token'}, 401)
        else:
            self.tokens.add(token)
            resp = self._route(request)
        return resp(environ, start_response)

    def _route(self, request):
        path = request.path
        if path == '/v2.1/servers':
            if request.args.get('marker'):
                return self._json({'servers': []})   # novaclient's last page
            listed = (self.deleted if request.args.get('status') == 'DELETED'
                      else self.servers)
            return self._json({'servers': [{'id': i, 'name': 'x', 'links': []}
                                           for i in listed]})
        match = re.match(r'^/v2.1/servers/([0-9a-f-]+)$', path)
        if match:
            server = self.servers.get(match.group(1))
            if server is None:
                return self._json({'itemNotFound': {'code': 404,
                                                    'message': 'not found'}}, 404)
            addresses = {net: [{'addr': a, 'version': 4} for a in addrs]
                         for net, addrs in server.items()}
            return self._json({'server': {'id': match.group(1), 'status': 'ACTIVE',
                                          'addresses': addresses, 'links': []}})
        if path == '/v2.0/ports':
            return self._json({'ports': []})
        if path == '/v2.0/floatingips':
            return self._json({'floatingips': []})
        return self._json({'error': 'unexpected %s' % path}, 404)


@pytest.fixture
def api():
    server = StandInNovaNeutron()
    yield server
    server.stop()


@pytest.fixture
def state(ipa_admin, unique):
    state = IPAState(ipa_admin, unique)
    state.domain = 'nj%s.example.test' % unique
    state.enroller = state.make_enroller(state.domain)
    yield state
    state.cleanup()


def reconcile_conf(path, ipa_env, identity, peers_env, api, domain, rabbit_url, extra=''):
    return notify_env.write_conf(
        path, rabbit_url, ipa_env, identity, ['nj-unused'], 'nj-unused',
        extra + nova_api.service_credentials(peers_env) + '''
[nova]
endpoint_override = {api}/v2.1
[neutron]
endpoint_override = {api}
[notify]
reconcile_domains = {domain}
floating_ip_ranges = 192.0.2.0/24
'''.format(api=api.url, domain=domain))


def run_reconcile(conf, *args):
    out = subprocess.run([peers.python(), '-m', 'novajoin.cmd.reconcile',
                          '--config-file', str(conf)] + list(args),
                         capture_output=True, timeout=120, cwd=str(peers.ROOT))
    assert out.returncode == 0, out.stderr.decode()[-3000:]
    return out.stdout.decode()


def cloud_conf(path, ipa_env, identity, peers_env, rabbit_url, cloud, domain):
    """A reconciler of cloud ``cloud`` on the real nova-api, kept to
    ``domain``."""
    return notify_env.write_conf(
        path, rabbit_url, ipa_env, identity, ['nj-unused'], 'nj-unused',
        nova_api.service_credentials(peers_env) + '''
[join]
cloud_id = {cloud}
legacy_records = false

[notify]
reconcile_domains = {domain}
'''.format(cloud=cloud, domain=domain))


def keystone_issued(peers_env, token):
    """Whether keystone itself validates ``token`` (checked as nova)."""
    auth = requests.post(peers_env['KEYSTONE_URL'] + '/auth/tokens', json={
        'auth': {'identity': {'methods': ['password'], 'password': {'user': {
            'name': 'nova', 'domain': {'name': 'Default'},
            'password': peers_env['NOVA_PASSWORD']}}},
            'scope': {'project': {'name': 'service',
                                  'domain': {'name': 'Default'}}}}}, timeout=10)
    auth.raise_for_status()
    check = requests.get(peers_env['KEYSTONE_URL'] + '/auth/tokens', timeout=10,
                         headers={'X-Auth-Token': auth.headers['X-Subject-Token'],
                                  'X-Subject-Token': token})
    return check.status_code == 200


def make_leaks(state):
    """A live server and a gone one with a floating-IP record. (Floating-IP
    records of live servers: test_notify_neutron.py, on the real neutron.)"""
    live, live_fqdn = state.enroll('live')
    gone, gone_fqdn = state.enroll('gone', {
        'compact_service_HTTP': json.dumps(['internalapi'])})
    subhost = 'gone.internalapi.%s' % state.domain
    state.hosts.add(subhost)
    state.services.add('HTTP/' + subhost)
    gone_ip = state.free_ip()
    state.add_fip_records(gone_fqdn, gone_ip)
    return {'live': live, 'live_fqdn': live_fqdn, 'gone_fqdn': gone_fqdn,
            'subhost': subhost, 'gone_ip': gone_ip}


def test_reconcile_removes_leaks_after_the_grace_period(tmp_path, ipa_env, peers_env,
                                                        rabbit_url, api, state,
                                                        ipa_admin, novajoin_identity):
    leak = make_leaks(state)
    api.servers[leak['live']] = {'private': ['10.0.0.5']}
    conf = reconcile_conf(tmp_path / 'join.conf', ipa_env, novajoin_identity, peers_env, api,
                          state.domain, rabbit_url)

    # Dry runs change nothing. The hosts were just created: within the
    # default grace period, nothing would go.
    out = run_reconcile(conf, '--dry-run')
    assert 'would host' not in out and 'within the grace period' in out
    out = run_reconcile(conf, '--dry-run', '--grace', '0')
    assert 'would host %s' % leak['gone_fqdn'] in out
    assert state.exists(leak['gone_fqdn'])

    run_reconcile(conf)
    assert state.exists(leak['gone_fqdn'])

    run_reconcile(conf, '--grace', '0')
    assert not state.exists(leak['gone_fqdn'])
    assert not state.exists(leak['subhost'])
    assert not state.service_exists('HTTP/' + leak['subhost'])
    assert state.ptr_values(leak['gone_ip']) == []
    assert state.exists(leak['live_fqdn'])

    # Every call to "nova" and "neutron" carried a token keystone issued.
    assert api.tokens and all(keystone_issued(peers_env, t) for t in api.tokens)
    assert any(r.startswith('/v2.1/servers?all_tenants') for r in api.requests)

    out = run_reconcile(conf, '--grace', '0')          # nothing left to do
    assert out.strip().endswith('0 IPA changes')


def test_a_renamed_instance_keeps_its_enrolled_host_not_the_newer_one(
        tmp_path, ipa_env, peers_env, rabbit_url, api, state,
        novajoin_identity, unique):
    """nova renamed the server: its guest enrolled under the old name, and a
    later fetch made a host for the new name. The reconciler keeps the
    enrolled one (IPA's host_find says nothing of keys: it must look)."""
    instance, old = state.enroll('njold%s' % unique)
    otp_value = state.enroller.otps.otp(old, instance)
    joined = peers.ipa_join(ipa_env, old, otp_value)
    assert joined.returncode == 0, joined.stderr
    _, new = state.enroll('njnew%s' % unique, instance=instance)
    api.servers[instance] = {'private': ['10.0.0.5']}
    conf = reconcile_conf(tmp_path / 'join.conf', ipa_env, novajoin_identity,
                          peers_env, api, state.domain, rabbit_url)
    out = run_reconcile(conf, '--grace', '0')
    assert 'host %s (instance %s is %s)' % (new, instance, old) in out
    assert state.exists(old) and not state.exists(new)


def test_the_listener_reconciles_periodically(tmp_path, ipa_env, peers_env,
                                              rabbit_url, api, state, unique,
                                              novajoin_identity):
    """A delete that never arrived (or was given up) is still cleaned up."""
    leak = make_leaks(state)
    api.servers[leak['live']] = {'private': ['10.0.0.5']}
    conf = reconcile_conf(tmp_path / 'join.conf', ipa_env, novajoin_identity, peers_env, api,
                          state.domain, rabbit_url, extra='''
[notify]
reconcile_interval = 2
reconcile_grace = 0
''')
    text = conf.read_text().replace('nj-unused', 'nj-%s' % unique)
    conf.write_text(text)
    proc = notify_env.NotifyProcess(conf, tmp_path / 'notify.log').start()
    try:
        wait_until(lambda: not state.exists(leak['gone_fqdn']), 60,
                   what='periodic reconciler removed the host')
        wait_until(lambda: 'reconciler: ' in proc.log(), 10, what='summary logged')
    finally:
        proc.stop()
        notify_env.delete_queues(rabbit_url, ['nj-%s' % unique,
                                              'nj-%s.info' % unique])
    assert state.exists(leak['live_fqdn'])
    with pytest.raises(errors.NotFound):
        state.ipa.call('dnsrecord_show', REVERSE,
                       leak['gone_ip'].rsplit('.', 1)[1])


def test_two_clouds_sharing_realm_and_domain_leave_each_others_hosts(
        tmp_path, ipa_env, peers_env, rabbit_url, state, unique,
        novajoin_identity):
    """Cloud B's reconciler, whose nova (the real nova-api) has none of cloud
    A's instances, removes its own leak and nothing of cloud A's."""
    nova = nova_api.Servers(peers_env)
    cloud_a, cloud_b = 'nja-%s' % unique, 'njb-%s' % unique
    in_a = state.make_enroller(state.domain, cloud=cloud_a)
    in_b = state.make_enroller(state.domain, cloud=cloud_b)
    _, a_fqdn = state.enroll('a1', {'compact_service_HTTP': json.dumps(
        ['internalapi'])}, enroller=in_a)
    a_subhost = 'a1.internalapi.%s' % state.domain
    state.hosts.add(a_subhost)
    state.services.add('HTTP/' + a_subhost)
    b_live, b_live_fqdn = state.enroll('b1', enroller=in_b)
    _, b_gone_fqdn = state.enroll('b2', enroller=in_b)
    try:
        nova.create(b_live, PROJECT, 'b1')
        conf = cloud_conf(tmp_path / 'b.conf', ipa_env, novajoin_identity,
                          peers_env, rabbit_url, cloud_b, state.domain)
        out = run_reconcile(conf, '--grace', '0')
    finally:
        nova.cleanup()
    assert 'host %s' % b_gone_fqdn in out
    assert not state.exists(b_gone_fqdn)
    assert state.exists(b_live_fqdn)
    assert state.exists(a_fqdn) and state.exists(a_subhost)
    assert state.service_exists('HTTP/' + a_subhost)


def test_servers_nova_lists_as_deleted_need_no_get_each(
        tmp_path, ipa_env, peers_env, rabbit_url, state, unique,
        novajoin_identity):
    """Against the real nova-api: a server deleted in nova is found in one
    listing of deleted servers (status=DELETED, changes-since) and its host
    removed; a host whose instance nova never had is asked with a GET (404)
    and removed; the live server's host stays."""
    nova = nova_api.Servers(peers_env)
    cloud = 'njd-%s' % unique
    enroller = state.make_enroller(state.domain, cloud=cloud)
    live, live_fqdn = state.enroll('alive', enroller=enroller)
    deleted, deleted_fqdn = state.enroll('deleted', enroller=enroller)
    never, never_fqdn = state.enroll('never', enroller=enroller)
    try:
        nova.create(live, PROJECT, 'alive')
        nova.create(deleted, PROJECT, 'deleted')
        nova.delete(deleted)
        conf = cloud_conf(tmp_path / 'd.conf', ipa_env, novajoin_identity,
                          peers_env, rabbit_url, cloud, state.domain)
        stdout = run_reconcile(conf, '--grace', '0')
    finally:
        nova.cleanup()
    # "is deleted": found in nova's listing; "is gone": its GET answered 404
    assert 'host %s (instance %s is deleted)' % (deleted_fqdn, deleted) in stdout
    assert 'host %s (instance %s is gone)' % (never_fqdn, never) in stdout
    assert not state.exists(deleted_fqdn) and not state.exists(never_fqdn)
    assert state.exists(live_fqdn)


def test_nova_s_deleted_listing_narrowed_half_way_names_every_deleted_server(
        tmp_path, ipa_env, peers_env, rabbit_url, novajoin_identity, unique):
    """Against the real nova-api: the reconciler learns its changes-since
    while nova's deleted listing is under way; the pages asked after it
    (the filter, and the marker of an unfiltered page) go on where the
    first ones ended: every deleted server is named once, none skipped."""
    nova = nova_api.Servers(peers_env)
    made = [str(uuid.uuid4()) for _ in range(5)]
    try:
        for i, server in enumerate(made):
            nova.create(server, PROJECT, 'pg%s-%d' % (unique, i))
        for server in made:
            nova.delete(server)
        conf = config.load(['--config-file', str(cloud_conf(
            tmp_path / 'p.conf', ipa_env, novajoin_identity, peers_env,
            rabbit_url, 'njp-%s' % unique, 'example.test'))],
            setup_logging=False)
        servers, _ = openstack.servers_from_conf(conf)
        servers.PAGE = 2
        since, pages = [None], []
        for page in servers.deleted_pages(lambda: since[0]):
            pages.append(page)
            since[0] = time.time() - 3600       # known after the first page
            if set(made) <= set().union(*pages):
                break
    finally:
        nova.cleanup()
    listed = [i for page in pages for i in page]
    assert set(made) <= set(listed)
    assert len(listed) == len(set(listed))      # none twice across the switch
    assert len(pages) >= 3 and all(len(p) <= 2 for p in pages)
