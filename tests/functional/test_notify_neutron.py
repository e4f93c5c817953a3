"""Floating-IP records against the REAL neutron 29 peer (``peers/up.sh
--with-neutron``), RabbitMQ and FreeIPA: neutron's own API makes the ports and
floating IPs and publishes its own notifications; novajoin-notify (and
novajoin-reconcile) find nova and neutron in keystone's catalog.

Every way a floating IP comes and goes is driven as a cloud would drive it
(``neutron_seed.py``), and every test ends by comparing IPA's A and PTR
records of its servers with neutron's view (``assert_dns_is_neutrons``): no
stale record, none missing.

The trust rule proven here: any tenant may create a port on its own network
whose ``device_id`` names another project's instance, and attach a floating IP
to it; neutron accepts that. novajoin writes a record for a floating IP only
when the port's project is the project IPA records as the host's owner.

Queues: neutron publishes into every queue bound to its exchange, listener or
not. Each test's listener has a pool queue of its own, deleted before it
starts and after it stops, so a test starts from an empty queue.
"""
import json
import os
import subprocess

import pytest

from tests.functional import notify_env
from tests.functional import nova_api
from tests.functional import peers
from tests.functional.notify_env import wait_until
from novajoin.ipa import errors
from tests.functional.test_notify import FORWARD
from tests.functional.test_notify import IPAState
from tests.functional.test_reconcile import run_reconcile
from tests.functional.test_server import project_ids

SEED = peers.PEERS_DIR / 'neutron_seed.py'
# neutron_seed.py's external subnet (TEST-NET-2) and its reverse zone.
PUBLIC_PREFIX = '198.51.100.'
REVERSE = '100.51.198.in-addr.arpa.'


class Neutron:
    """neutron_seed.py: acts on a project as that project's own user."""

    def __init__(self, peers_env):
        port = int(peers_env.get('NEUTRON_PORT', 9697))
        if not peers.port_open('127.0.0.1', port):
            pytest.fail('the neutron peer is not up on 127.0.0.1:%d; start it with '
                        '%s/up.sh --with-neutron' % (port, peers.PEERS_DIR),
                        pytrace=False)
        self.python = os.path.join(peers_env['PEERS_VENV'], 'bin', 'python')
        self.made = []      # (kind, id, project), deleted in reverse order

    def __call__(self, *args):
        out = subprocess.run([self.python, '-W', 'ignore', str(SEED)] + list(args),
                             capture_output=True, timeout=180,
                             cwd=str(peers.PEERS_DIR))
        if out.returncode:
            raise AssertionError('neutron_seed %s failed: %s'
                                 % (' '.join(args), out.stderr.decode()[-2000:]))
        return json.loads(out.stdout.decode() or 'null')

    def port(self, device_id, project):
        port = self('port-create', '--device-id', device_id, '--project', project)
        self.made.append(('port', port['id'], project))
        return port

    def fip(self, project, port_id=None):
        fip = self('fip-create', '--project', project,
                   *(['--port-id', port_id] if port_id else []))
        self.made.append(('fip', fip['id'], project))
        return fip

    def view(self, device_id, project_id):
        """Floating IPs neutron gives the server: on its ports of its project."""
        shown = self('show', '--device-id', device_id)
        ours = {p['id'] for p in shown['ports'] if p['project_id'] == project_id}
        return sorted(f['floating_ip_address'] for f in shown['floatingips']
                      if f['port_id'] in ours)

    def cleanup(self):
        while self.made:
            kind, ident, project = self.made.pop()
            try:
                self('%s-delete' % kind, '--%s-id' % kind, ident, '--project', project)
            except AssertionError:
                pass    # gone already


@pytest.fixture(scope='module')
def neutron(peers_env, ipa_admin):
    seed = Neutron(peers_env)
    for project in ('demo', 'service'):
        seed('setup', '--project', project)
    try:    # PTR records of the floating IPs need their reverse zone
        ipa_admin.call('dnszone_add', REVERSE, skip_overlap_check=True)
    except errors.DuplicateEntry:
        pass
    return seed


@pytest.fixture
def ports(neutron):
    yield neutron
    neutron.cleanup()


@pytest.fixture
def state(ipa_admin, unique):
    state = IPAState(ipa_admin, unique)
    yield state
    for fqdn in state.hosts:
        for ip in a_values(ipa_admin, fqdn):
            if ip.startswith(PUBLIC_PREFIX):
                quiet(ipa_admin, 'dnsrecord_del', REVERSE, ip.rsplit('.', 1)[1],
                      ptrrecord=[fqdn + '.'])
        quiet(ipa_admin, 'dnsrecord_del', FORWARD, short_of(fqdn), del_all=True)
    state.cleanup()


@pytest.fixture
def nova(peers_env):
    servers = nova_api.Servers(peers_env)
    yield servers
    servers.cleanup()


def listener_conf(tmp_path, rabbit_url, ipa_env, novajoin_identity, peers_env,
                  topics, pool, extra=''):
    return notify_env.write_conf(tmp_path / 'notify.conf', rabbit_url, ipa_env,
                                 novajoin_identity, topics, pool,
                                 nova_api.service_credentials(peers_env) + extra,
                                 debug=True)


@pytest.fixture
def listener(tmp_path, rabbit_url, ipa_env, novajoin_identity, peers_env, unique):
    """novajoin-notify on neutron's own topic (and a versioned nova topic of
    this test's), with a pool queue of its own; nova and neutron come from
    keystone's catalog (no endpoint override)."""
    nova_api.require(peers_env)
    pool = 'nj-neutron-%s' % unique
    versioned = 'nj-%s-versioned' % unique
    notify_env.delete_queues(rabbit_url, [pool])
    conf = listener_conf(tmp_path, rabbit_url, ipa_env, novajoin_identity,
                         peers_env, ['notifications', versioned], pool)
    proc = notify_env.NotifyProcess(conf, tmp_path / 'notify.log')
    proc.versioned = versioned
    yield proc.start()
    proc.stop()
    notify_env.delete_queues(rabbit_url, [pool, versioned + '.info'])


def quiet(ipa, method, *args, **opts):
    try:
        ipa.call(method, *args, **opts)
    except errors.NotFound:
        pass


def short_of(fqdn):
    return fqdn[:-len('.' + FORWARD.rstrip('.'))]


def a_values(ipa, fqdn):
    try:
        return ipa.call('dnsrecord_show', FORWARD, short_of(fqdn))[
            'result'].get('arecord', [])
    except errors.NotFound:
        return []


def ptr_values(ipa, ip):
    try:
        return ipa.call('dnsrecord_show', REVERSE, ip.rsplit('.', 1)[1])[
            'result'].get('ptrrecord', [])
    except errors.NotFound:
        return []


def fip_records(ipa, fqdn):
    """The host's A values in neutron's external subnet."""
    return sorted(v for v in a_values(ipa, fqdn) if v.startswith(PUBLIC_PREFIX))


def assert_dns_is_neutrons(ipa, neutron, servers):
    """IPA's A and PTR records of ``servers`` ({instance: (fqdn, project id)})
    are exactly the floating IPs neutron gives them: no stale, none missing."""
    for instance, (fqdn, project_id) in servers.items():
        wanted = neutron.view(instance, project_id)
        assert fip_records(ipa, fqdn) == wanted, fqdn
        for ip in wanted:
            assert ptr_values(ipa, ip) == [fqdn + '.'], ip
    pointing = {}
    for record in ipa.call('dnsrecord_find', REVERSE, sizelimit=0)['result']:
        for ptr in record.get('ptrrecord', []):
            pointing.setdefault(ptr.rstrip('.'), []).append(record)
    for instance, (fqdn, project_id) in servers.items():
        assert len(pointing.get(fqdn, [])) == len(neutron.view(instance,
                                                               project_id)), fqdn


# -- the trust rule ---------------------------------------------------------------

def test_a_tenants_port_naming_another_projects_instance_gets_no_record(
        listener, ports, state, ipa_admin, peers_env, unique):
    ids = project_ids(peers_env)
    # the victim: an enrolled server of project "service"
    instance, fqdn = state.enroll('nj%s' % unique, project=ids['service'])

    # the attacker (demo's own user): a port on demo's network claiming the
    # victim's instance, and a floating IP attached to it -- neutron allows both
    port = ports.port(instance, 'demo')
    assert port['project_id'] == ids['demo']
    fip = ports.fip('demo')
    ports('fip-associate', '--project', 'demo', '--port-id', port['id'],
          '--fip-id', fip['id'])
    ip = fip['floating_ip_address']
    wait_until(lambda: 'SUSPICIOUS: floating IP %s is on a port of project %s'
               % (ip, ids['demo']) in listener.log(), 60, what='the claim refused')
    assert fip_records(ipa_admin, fqdn) == []

    # the control: the owner's own port (nova, as project service) gets one
    own = ports.port(instance, 'service')
    own_fip = ports.fip('service', own['id'])
    own_ip = own_fip['floating_ip_address']
    wait_until(lambda: fip_records(ipa_admin, fqdn) == [own_ip], 60,
               what='A record of the owner\'s floating IP')
    assert_dns_is_neutrons(ipa_admin, ports, {instance: (fqdn, ids['service'])})

    ports('fip-disassociate', '--project', 'service', '--fip-id', own_fip['id'])
    wait_until(lambda: fip_records(ipa_admin, fqdn) == [], 60,
               what='A record removed on disassociate')
    assert_dns_is_neutrons(ipa_admin, ports, {instance: (fqdn, ids['service'])})
    assert 'Traceback' not in listener.log()


# -- every way a floating IP comes and goes ---------------------------------------

def test_floating_ip_created_on_a_servers_port_then_deleted(
        listener, ports, state, ipa_admin, peers_env, unique):
    # `openstack floating ip create --port P public`: only create.end is sent
    ids = project_ids(peers_env)
    instance, fqdn = state.enroll('nj%s' % unique, project=ids['service'])
    servers = {instance: (fqdn, ids['service'])}
    port = ports.port(instance, 'service')
    fip = ports.fip('service', port['id'])
    ip = fip['floating_ip_address']
    wait_until(lambda: fip_records(ipa_admin, fqdn) == [ip], 60,
               what='A record on floatingip.create.end')
    assert ptr_values(ipa_admin, ip) == [fqdn + '.']
    assert_dns_is_neutrons(ipa_admin, ports, servers)

    # deleting it while still associated
    ports('fip-delete', '--project', 'service', '--fip-id', fip['id'])
    wait_until(lambda: fip_records(ipa_admin, fqdn) == [], 60,
               what='records removed on floatingip.delete.end')
    assert ptr_values(ipa_admin, ip) == []
    assert_dns_is_neutrons(ipa_admin, ports, servers)
    assert 'Traceback' not in listener.log()


def test_floating_ip_associated_moved_disassociated_and_deleted(
        listener, ports, state, ipa_admin, peers_env, unique):
    ids = project_ids(peers_env)
    first, first_fqdn = state.enroll('nj%sa' % unique, project=ids['service'])
    second, second_fqdn = state.enroll('nj%sb' % unique, project=ids['service'])
    servers = {first: (first_fqdn, ids['service']),
               second: (second_fqdn, ids['service'])}
    first_port = ports.port(first, 'service')
    second_port = ports.port(second, 'service')
    fip = ports.fip('service')              # allocated, not associated
    ip = fip['floating_ip_address']

    ports('fip-associate', '--project', 'service', '--port-id', first_port['id'],
          '--fip-id', fip['id'])
    wait_until(lambda: fip_records(ipa_admin, first_fqdn) == [ip], 60,
               what='A record on associate')
    assert_dns_is_neutrons(ipa_admin, ports, servers)

    # moved to another server in one update (port_id changes)
    ports('fip-associate', '--project', 'service', '--port-id', second_port['id'],
          '--fip-id', fip['id'])
    wait_until(lambda: fip_records(ipa_admin, second_fqdn) == [ip], 60,
               what='A record moved')
    assert fip_records(ipa_admin, first_fqdn) == []
    assert_dns_is_neutrons(ipa_admin, ports, servers)

    ports('fip-disassociate', '--project', 'service', '--fip-id', fip['id'])
    wait_until(lambda: fip_records(ipa_admin, second_fqdn) == [], 60,
               what='A record removed on disassociate')
    assert_dns_is_neutrons(ipa_admin, ports, servers)

    # deleting a floating IP no server holds changes nothing and fails nothing
    ports('fip-delete', '--project', 'service', '--fip-id', fip['id'])
    wait_until(lambda: 'floatingip.delete.end from network.harness-neutron: '
               'no_records' in listener.log(), 60, what='the delete handled')
    assert_dns_is_neutrons(ipa_admin, ports, servers)
    assert 'Traceback' not in listener.log() and 'dropped' not in listener.log()


def test_deleting_the_port_that_holds_a_floating_ip_removes_its_records(
        listener, ports, state, ipa_admin, peers_env, unique):
    # neutron frees the floating IP silently: only port.delete.end is sent
    ids = project_ids(peers_env)
    instance, fqdn = state.enroll('nj%s' % unique, project=ids['service'])
    servers = {instance: (fqdn, ids['service'])}
    kept_port = ports.port(instance, 'service')
    kept = ports.fip('service', kept_port['id'])['floating_ip_address']
    doomed_port = ports.port(instance, 'service')
    doomed = ports.fip('service', doomed_port['id'])['floating_ip_address']
    wait_until(lambda: fip_records(ipa_admin, fqdn) == sorted([kept, doomed]),
               60, what='both A records')

    ports('port-delete', '--port-id', doomed_port['id'], '--project', 'service')
    wait_until(lambda: fip_records(ipa_admin, fqdn) == [kept], 60,
               what='the deleted port\'s record removed')
    assert ptr_values(ipa_admin, doomed) == []
    assert ptr_values(ipa_admin, kept) == [fqdn + '.']
    assert_dns_is_neutrons(ipa_admin, ports, servers)
    assert 'Traceback' not in listener.log()


def test_server_deleted_with_a_floating_ip_still_attached(
        listener, ports, state, nova, ipa_admin, peers_env, rabbit_url, unique):
    # A port the user made and passed to nova outlives the server, with its
    # floating IP: nova's delete.end alone must take the host's records.
    ids = project_ids(peers_env)
    instance, fqdn = state.enroll('nj%s' % unique, project=ids['service'])
    nova.create(instance, ids['service'], short_of(fqdn).split('.')[0])
    port = ports.port(instance, 'service')
    ip = ports.fip('service', port['id'])['floating_ip_address']
    wait_until(lambda: fip_records(ipa_admin, fqdn) == [ip], 60, what='A record')

    nova.delete(instance)
    notify_env.emit_nova(peers_env, rabbit_url, [{
        'event': 'delete', 'instance': notify_env.nova_instance(
            instance, ids['service'], short_of(fqdn), fixed_ips={
                'private': port['fixed_ips'][0]['ip_address']})}],
        'nj-unused-%s' % unique, listener.versioned, 'versioned')
    wait_until(lambda: not state.exists(fqdn), 60, what='host removed')
    assert a_values(ipa_admin, fqdn) == []
    assert ptr_values(ipa_admin, ip) == []
    assert ports.view(instance, ids['service']) == [ip]   # neutron still has it
    assert 'Traceback' not in listener.log()


# -- the reconciler's sweep against the real neutron -------------------------------

def test_reconciler_makes_records_what_neutron_says(
        tmp_path, ports, state, nova, ipa_admin, ipa_env, peers_env, rabbit_url,
        novajoin_identity, unique):
    # No listener: what happened meanwhile is only in neutron.
    ids = project_ids(peers_env)
    domain = 'nj%s.example.test' % unique
    state.enroller = state.make_enroller(domain)
    instance, fqdn = state.enroll('live', project=ids['service'])
    nova.create(instance, ids['service'], 'live')
    servers = {instance: (fqdn, ids['service'])}
    kept = ports.fip('service', ports.port(instance, 'service')['id'])[
        'floating_ip_address']
    missing = ports.fip('service', ports.port(instance, 'service')['id'])[
        'floating_ip_address']
    gone = ports.fip('service')
    ports('fip-delete', '--project', 'service', '--fip-id', gone['id'])
    stale = gone['floating_ip_address']     # neutron no longer has it at all
    short = short_of(fqdn)
    for ip in (kept, stale):
        ipa_admin.call('dnsrecord_add', FORWARD, short, arecord=[ip])
        ipa_admin.call('dnsrecord_add', REVERSE, ip.rsplit('.', 1)[1],
                       ptrrecord=[fqdn + '.'])
    # neutron's external subnets give the ranges (no floating_ip_ranges)
    conf = notify_env.write_conf(
        tmp_path / 'reconcile.conf', rabbit_url, ipa_env, novajoin_identity,
        ['nj-unused'], 'nj-unused', nova_api.service_credentials(peers_env)
        + '\n[notify]\nreconcile_domains = %s\n' % domain)

    out = run_reconcile(conf, '--dry-run')
    assert 'would floating IP %s (associated)' % missing in out
    assert 'would floating IP %s (released)' % stale in out
    assert kept not in out
    assert fip_records(ipa_admin, fqdn) == sorted([kept, stale])

    run_reconcile(conf)
    assert fip_records(ipa_admin, fqdn) == sorted([kept, missing])
    assert ptr_values(ipa_admin, stale) == []
    assert_dns_is_neutrons(ipa_admin, ports, servers)
    assert state.exists(fqdn)
    assert run_reconcile(conf).strip().endswith('0 IPA changes')
