"""novajoin-notify against the real RabbitMQ and the real FreeIPA.

nova's messages are published by nova 34's own code (nova_emit.py in the peers'
venv); neutron's are built as neutron's API layer builds them and published
with oslo.messaging on the ``neutron`` exchange. Hosts are created by
novajoin's real Enroller, as novajoin-server creates them. Every test uses its
own topics and pool, and removes its queues and IPA entries.

A message is a claim: novajoin-notify asks the real nova compute API peer
(nova_api.py; keystone's catalog, nova's service user) whether an instance is
gone before it removes its host. Floating-IP records are proven against the
real neutron in test_notify_neutron.py.
"""
import json
import os
import random
import subprocess
import uuid

import pytest

from novajoin import join
from novajoin import otp
from novajoin.hosts import records
from novajoin.hosts import services
from novajoin.ipa import errors
from novajoin.ipa.auth import KerberosAuth
from novajoin.ipa.client import IPAClient
from novajoin.validation import VendordataRequest
from tests.functional import notify_env
from tests.functional import nova_api
from tests.functional import peers
from tests.functional.notify_env import wait_until
from tests.unit.notify import payloads

PROJECT = 'c2f4e9d07a6b4d0e8f1a2b3c4d5e6f70'
# novajoin-server's and novajoin-notify's (rebuilt hosts are re-armed with it)
OTP_SECRET = 'functional-' + 'x' * 40
FORWARD = 'example.test.'
REVERSE = '2.0.192.in-addr.arpa.'


# -- fixtures --------------------------------------------------------------------

class Bus:
    """This test's topics and pool on the real broker."""

    def __init__(self, rabbit_url, unique):
        self.url = rabbit_url
        self.legacy = 'nj-%s-notifications' % unique
        self.versioned = 'nj-%s-versioned' % unique
        self.pool = 'nj-%s' % unique
        self.publishers = []
        self.exchanges = []      # of this test's own, removed at the end

    @property
    def topics(self):
        return [self.legacy, self.versioned]

    def queues(self):
        return [self.pool, self.legacy + '.info', self.versioned + '.info']


@pytest.fixture
def bus(rabbit_url, unique):
    bus = Bus(rabbit_url, unique)
    yield bus
    for pub in bus.publishers:
        pub.close()
    notify_env.delete_queues(rabbit_url, bus.queues() + ['other-' + bus.pool])
    notify_env.delete_exchanges(rabbit_url, bus.exchanges)


class IPAState:
    """Creates hosts as novajoin-server does; removes leftovers at the end."""

    def __init__(self, ipa, unique):
        self.ipa = ipa
        self.unique = unique
        self.hosts, self.services, self.records, self.zones = set(), set(), [], []
        self.enroller = self.make_enroller()

    def make_enroller(self, domain=None, cloud=None):
        # PROJECT plays the undercloud: it may ask for TripleO services
        return join.Enroller(self.ipa, otp.OTPSource(OTP_SECRET),
                             join.IPAIdentity(self.ipa), domain=domain,
                             cloud=records.Cloud(cloud) if cloud else None,
                             service_rules=services.ServiceRules([PROJECT]),
                             # every fetch asks IPA: these tests rebuild
                             # faster than any guest boots
                             answer_ttl=0)

    def enroll(self, name, metadata=None, instance=None, enroller=None,
               project=PROJECT):
        instance = instance or str(uuid.uuid4())
        meta = {'ipa_enroll': 'True'}
        meta.update(metadata or {})
        req = VendordataRequest.from_json({
            'project-id': project, 'instance-id': instance, 'image-id': '',
            'user-data': None, 'hostname': name, 'metadata': meta,
            'boot-roles': 'member'})
        fqdn = (enroller or self.enroller).handle(req)['hostname']
        self.hosts.add(fqdn)
        return instance, fqdn

    def exists(self, fqdn):
        try:
            self.ipa.call('host_show', fqdn)
            return True
        except errors.NotFound:
            return False

    def service_exists(self, principal):
        try:
            self.ipa.call('service_show', principal)
            return True
        except errors.NotFound:
            return False

    def a_values(self, zone, name):
        try:
            return self.ipa.call('dnsrecord_show', zone, name)['result'].get(
                'arecord', [])
        except errors.NotFound:
            return []

    def ptr_values(self, ip):
        try:
            return self.ipa.call('dnsrecord_show', REVERSE, ip.rsplit('.', 1)[1]
                                 )['result'].get('ptrrecord', [])
        except errors.NotFound:
            return []

    def free_ip(self):
        """A TEST-NET-1 address no A or PTR record uses (the realm is shared)."""
        for _ in range(50):
            ip = '192.0.2.%d' % random.randint(2, 254)
            found = self.ipa.call('dnsrecord_find', FORWARD, arecord=ip)
            if not found['result'] and not self.ptr_values(ip):
                self.records.append(ip)
                return ip
        raise AssertionError('no free address in 192.0.2.0/24')

    def add_fip_records(self, fqdn, ip, zone=FORWARD):
        """The A and PTR records novajoin makes for a floating IP."""
        name = fqdn[:-len('.' + zone.rstrip('.'))]
        self.ipa.call('dnsrecord_add', zone, name, arecord=[ip])
        self.ipa.call('dnsrecord_add', REVERSE, ip.rsplit('.', 1)[1],
                      ptrrecord=[fqdn + '.'])

    def cleanup(self):
        for fqdn in sorted(self.hosts, key=len, reverse=True):
            for sub in self.ipa.call('host_find', man_by_host=fqdn)['result']:
                self._quiet('host_del', sub['fqdn'][0])
            self._quiet('host_del', fqdn)
        for principal in self.services:
            self._quiet('service_del', principal)
        for ip in self.records:
            for record in self.ipa.call('dnsrecord_find', FORWARD,
                                        arecord=ip)['result']:
                name = record['idnsname'][0]['__dns_name__']
                self._quiet('dnsrecord_del', FORWARD, name, arecord=[ip])
            self._quiet('dnsrecord_del', REVERSE, ip.rsplit('.', 1)[1],
                        del_all=True)
        for zone in self.zones:
            self._quiet('dnszone_del', zone)

    def _quiet(self, method, *args, **opts):
        try:
            self.ipa.call(method, *args, **opts)
        except errors.NotFound:
            pass


@pytest.fixture
def state(ipa_admin, unique):
    state = IPAState(ipa_admin, unique)
    yield state
    state.cleanup()


@pytest.fixture
def nova(peers_env):
    servers = nova_api.Servers(peers_env)
    yield servers
    servers.cleanup()


@pytest.fixture
def start_listener(tmp_path, bus, ipa_env, novajoin_identity, peers_env):
    """Start novajoin-notify for this test's topics (stopped at the end); it
    asks the real nova-api (and neutron) found in keystone's catalog."""
    nova_api.require(peers_env)
    started = []

    def start(ipa_port=None, pool=None, topics=None, extra='', name='notify',
              debug=False):
        extra = (nova_api.service_credentials(peers_env)
                 + '\n[join]\nservice_projects = %s\notp_secret = %s\n'
                 % (PROJECT, OTP_SECRET) + extra)
        conf = notify_env.write_conf(tmp_path / (name + '.conf'), bus.url, ipa_env,
                                     novajoin_identity, topics or bus.topics,
                                     bus.pool if pool is None else pool, extra,
                                     debug)
        proc = notify_env.NotifyProcess(conf, tmp_path / (name + '.log'), ipa_port)
        started.append(proc)
        return proc.start()
    yield start
    for proc in started:
        proc.stop()


def emit(peers_env, bus, events, fmt='both', **nova_conf):
    notify_env.emit_nova(peers_env, bus.url, events, bus.legacy, bus.versioned,
                         fmt, **nova_conf)


def publish_delete_ends(bus, hosts):
    """``instance.delete.end`` (nova's own payload, re-aimed) of each
    (instance, fqdn), and nothing else: with the .start messages between
    them, round-robin would hand every .end to the same replica."""
    nova = notify_env.Publisher(bus.url, 'nova', 'nova-compute:compute-1',
                                bus.versioned)
    bus.publishers.append(nova)
    for instance, fqdn in hosts:
        nova.info('instance.delete.end', payloads.nova(
            'instance.delete.end', instance=instance, project=PROJECT,
            hostname=fqdn.split('.')[0]))


def delete_event(instance, fqdn, metadata=None):
    return {'event': 'delete', 'instance': notify_env.nova_instance(
        instance, PROJECT, fqdn.split('.')[0], metadata,
        fixed_ips={'private': '10.0.0.5'})}


# -- deletes -----------------------------------------------------------------------

@pytest.mark.parametrize('fmt', ['versioned', 'unversioned'])
def test_delete_leaves_no_host_subhost_service_or_record(fmt, start_listener, bus,
                                                         state, peers_env, unique):
    meta = {'compact_service_HTTP': json.dumps(['internalapi'])}
    instance, fqdn = state.enroll('nj%s' % unique, meta)
    short = fqdn.split('.')[0]
    subhost = '%s.internalapi.example.test' % short
    principal = 'HTTP/%s' % subhost
    state.hosts.add(subhost)
    state.services.add(principal)
    ip = state.free_ip()
    state.add_fip_records(fqdn, ip)
    assert state.exists(subhost) and state.service_exists(principal)

    listener = start_listener()
    emit(peers_env, bus, [delete_event(instance, fqdn, meta)], fmt)
    wait_until(lambda: not state.exists(fqdn), 30, what='host removed')
    wait_until(lambda: not state.exists(subhost), 10, what='subhost removed')
    assert not state.service_exists(principal)
    assert state.a_values(FORWARD, short) == []
    assert state.ptr_values(ip) == []
    assert 'removed IPA host %s' % fqdn in listener.log()
    # found over LDAP (389-ds, the service's Kerberos ticket), with what it
    # manages: no fall-back to JSON-RPC
    assert 'LDAP: bound to ipa.example.test with the keytab' in listener.log()
    assert 'using JSON-RPC instead' not in listener.log()


def test_delete_spares_a_host_another_instance_owns(start_listener, bus, state,
                                                    peers_env, unique):
    owner, fqdn = state.enroll('nj%s' % unique)
    listener = start_listener(debug=True)
    impostor = str(uuid.uuid4())       # another instance with the same name
    emit(peers_env, bus, [delete_event(impostor, fqdn)], 'versioned')
    wait_until(lambda: 'instance.delete.end from nova-compute:compute-1: '
               'not_enrolled' in listener.log(), 30, what='delete handled')
    assert state.exists(fqdn)


def test_host_in_a_zone_ipa_cannot_resolve(start_listener, bus, state, peers_env,
                                           ipa_admin, unique):
    """host_del updatedns answers 903 there: records go one by one instead,
    those IPA's updatedns would take (A, SSHFP and the PTR); an
    administrator's TXT record on the name stays."""
    zone = 'njz%s.test.' % unique
    ipa_admin.call('dnszone_add', zone, idnssoamname='ipa.example.test.', force=True)
    state.zones.append(zone)
    instance, fqdn = state.enroll('vm', instance=None,
                                  enroller=state.make_enroller(zone.rstrip('.')))
    ip = state.free_ip()
    ipa_admin.call('dnsrecord_add', zone, 'vm', arecord=[ip],
                   sshfprecord=['1 1 %s' % ('ab' * 20)], txtrecord=['kept'])
    ipa_admin.call('dnsrecord_add', REVERSE, ip.rsplit('.', 1)[1],
                   ptrrecord=[fqdn + '.'])
    with pytest.raises(errors.InternalError):   # what novajoin works around
        ipa_admin.call('host_del', fqdn, updatedns=True)

    start_listener()
    emit(peers_env, bus, [delete_event(instance, fqdn)], 'unversioned')
    wait_until(lambda: not state.exists(fqdn), 30, what='host removed')
    assert state.a_values(zone, 'vm') == [] and state.ptr_values(ip) == []
    left = ipa_admin.call('dnsrecord_show', zone, 'vm')['result']
    assert left.get('txtrecord') == ['kept'] and not left.get('sshfprecord')


def test_bad_payload_is_acked_and_the_next_message_handled(start_listener, bus,
                                                           state, peers_env, unique):
    instance, fqdn = state.enroll('nj%s' % unique)
    listener = start_listener()
    nova = notify_env.Publisher(bus.url, 'nova', 'nova-compute:compute-1',
                                bus.versioned)
    bus.publishers.append(nova)
    nova.info('instance.delete.end', {'nova_object.data': {'no': 'uuid'}})
    emit(peers_env, bus, [delete_event(instance, fqdn)], 'versioned')
    wait_until(lambda: not state.exists(fqdn), 30, what='host removed')
    assert 'dropped instance.delete.end' in listener.log()
    assert 'Traceback' not in listener.log()


# -- no delete is lost ------------------------------------------------------------------

def test_ipa_outage_during_a_delete_is_retried(start_listener, bus, state,
                                               peers_env, unique):
    instance, fqdn = state.enroll('nj%s' % unique)
    proxy = notify_env.ipa_proxy().up()
    listener = start_listener(ipa_port=proxy.port)
    proxy.down()                                       # IPA unreachable
    emit(peers_env, bus, [delete_event(instance, fqdn)], 'versioned')
    wait_until(lambda: listener.log().count('requeued in') >= 2, 30,
               what='two retries')
    assert state.exists(fqdn)
    proxy.up()                                         # IPA back
    wait_until(lambda: not state.exists(fqdn), 30, what='host removed')
    assert 'GAVE UP' not in listener.log()
    proxy.down()


def test_deletes_sent_while_the_listener_is_down_are_processed(start_listener, bus,
                                                               state, peers_env,
                                                               unique):
    listener = start_listener()         # declares the pool's queue
    assert listener.stop() == 0
    hosts = [state.enroll('nj%s%d' % (unique, n)) for n in range(3)]
    emit(peers_env, bus, [delete_event(i, f) for i, f in hosts], 'versioned')
    wait_until(lambda: notify_env.queue_depth(bus.url, bus.pool) >= 3, 10,
               what='messages waiting in the queue')
    assert all(state.exists(f) for _, f in hosts)
    listener.start()
    wait_until(lambda: not any(state.exists(f) for _, f in hosts), 60,
               what='all hosts removed')


# -- sharing the topics ---------------------------------------------------------------

def test_pool_leaves_other_consumers_their_copy_and_replicas_share(
        start_listener, bus, state, peers_env, unique):
    import oslo_messaging
    from oslo_config import cfg

    seen = []

    class Other:
        def info(self, ctxt, publisher_id, event_type, payload, metadata):
            seen.append(event_type)

    conf = cfg.ConfigOpts()
    conf([], default_config_files=[])
    transport = oslo_messaging.get_notification_transport(conf, url=bus.url)
    other = oslo_messaging.get_notification_listener(
        transport, [oslo_messaging.Target(topic=bus.versioned, exchange='nova')],
        [Other()], executor='threading', pool='other-' + bus.pool)
    other.start()
    try:
        first = start_listener(name='replica1')
        second = start_listener(name='replica2')
        hosts = [state.enroll('nj%s%d' % (unique, n)) for n in range(6)]
        publish_delete_ends(bus, hosts)
        wait_until(lambda: not any(state.exists(f) for _, f in hosts), 60,
                   what='all hosts removed')
        wait_until(lambda: seen.count('instance.delete.end') == 6, 10,
                   what='the other pool got every message')
        counts = [p.log().count('removed IPA host') for p in (first, second)]
        assert sum(counts) == 6 and all(counts), counts
    finally:
        other.stop()
        other.wait()
        transport.cleanup()


def test_dedicated_topic_without_pool(start_listener, bus, state, peers_env, unique):
    instance, fqdn = state.enroll('nj%s' % unique)
    # upstream's style: nova also publishes to a topic only novajoin reads
    start_listener(pool='', topics=[bus.versioned])
    emit(peers_env, bus, [delete_event(instance, fqdn)], 'versioned')
    wait_until(lambda: not state.exists(fqdn), 30, what='host removed')


# -- updates ---------------------------------------------------------------------------

def test_update_adds_new_services_and_removes_dropped_ones(start_listener, bus,
                                                           state, peers_env, unique):
    old = {'compact_service_HTTP': json.dumps(['internalapi'])}
    instance, fqdn = state.enroll('nj%s' % unique, old)
    short = fqdn.split('.')[0]
    old_sub = '%s.internalapi.example.test' % short
    new_sub = '%s.storage.example.test' % short
    state.hosts.update([old_sub, new_sub])
    state.services.update(['HTTP/' + old_sub, 'mysql/' + new_sub])
    start_listener()
    new = {'ipa_enroll': 'True', 'compact_service_mysql': json.dumps(['storage'])}
    emit(peers_env, bus, [{'event': 'update', 'instance': notify_env.nova_instance(
        instance, PROJECT, short, new), 'old': {'task_state': 'rebooting'}}])
    wait_until(lambda: state.service_exists('mysql/' + new_sub), 30,
               what='new service')
    wait_until(lambda: not state.exists(old_sub), 10, what='old subhost removed')
    assert not state.service_exists('HTTP/' + old_sub)
    managers = state.ipa.call('host_show', new_sub)['result']['managedby_host']
    assert fqdn in managers


# -- a message is a claim -----------------------------------------------------------

def test_forged_delete_of_a_live_instance_keeps_the_host_until_nova_deletes_it(
        start_listener, bus, state, peers_env, nova, unique):
    instance, fqdn = state.enroll('nj%s' % unique)
    nova.create(instance, PROJECT, fqdn.split('.')[0])   # alive in nova-api
    listener = start_listener(debug=True)
    # The very message nova sends on delete, but nova still has the server.
    emit(peers_env, bus, [delete_event(instance, fqdn)], 'versioned')
    wait_until(lambda: 'instance.delete.end from nova-compute:compute-1: '
               'instance_alive' in listener.log(), 30, what='delete judged')
    assert state.exists(fqdn)
    assert 'SUSPICIOUS: delete notification for instance %s' % instance \
        in listener.log()

    nova.delete(instance)                # now nova answers 404
    emit(peers_env, bus, [delete_event(instance, fqdn)], 'versioned')
    wait_until(lambda: not state.exists(fqdn), 30, what='host removed')
    assert 'removed IPA host %s' % fqdn in listener.log()


def test_delete_of_another_clouds_instance_leaves_its_host(
        start_listener, bus, state, peers_env, unique):
    # Another cloud shares the realm and the domain; its instance is unknown
    # to this cloud's nova (404), and its host is still not this cloud's.
    other_cloud = state.make_enroller(cloud='njother-%s' % unique)
    instance, fqdn = state.enroll('nj%s' % unique, enroller=other_cloud)
    listener = start_listener(debug=True)
    emit(peers_env, bus, [delete_event(instance, fqdn)], 'versioned')
    wait_until(lambda: 'instance.delete.end from nova-compute:compute-1: '
               'not_enrolled' in listener.log(), 30, what='delete handled')
    assert state.exists(fqdn)


# -- a guest rewriting its own IPA entry --------------------------------------------

ATTACKER = 'a77ac4e5000000000000000000000001'     # a project not in service_projects


def _host_client(ipa_env, fqdn, otp_value, tmp_path):
    """An IPA client acting as the host itself, as its guest's root can: the
    host enrolled with its OTP (ipa-join) and its keytab."""
    keytab = str(tmp_path / 'guest.keytab')
    proc = subprocess.run(
        [ipa_env['IPA_JOIN'], '-s', ipa_env['IPA_SERVER'], '-h', fqdn,
         '-w', otp_value, '-k', keytab], capture_output=True, text=True,
        timeout=60, env={'PATH': '/usr/bin:/bin',
                         'KRB5_CONFIG': ipa_env['IPA_KRB5_CONFIG']})
    assert proc.returncode == 0, proc.stderr
    auth = KerberosAuth(keytab, 'host/%s' % fqdn,
                        krb5_config=ipa_env['IPA_KRB5_CONFIG'])
    return IPAClient([ipa_env['IPA_SERVER']], auth,
                     ca_file=ipa_env['IPA_CA_CERT'], read_timeout=30)


def test_a_guest_that_rewrites_its_description_gets_no_other_projects_identity(
        start_listener, bus, state, peers_env, ipa_env, unique, tmp_path):
    """IPA lets an enrolled host rewrite its own description. A tenant's guest
    that writes there the owner record of the service project, then asks (by
    metadata) for that project's VIP, must get no managedBy link to the VIP:
    that link would let it fetch the VIP's keytab. The record novajoin
    believes is in userclass, which the host cannot write."""
    vip = 'njvip%s.example.test' % unique
    _, victim = state.enroll('njv%s' % unique,
                             {'managed_service_vip': 'HTTP/' + vip})
    state.hosts.add(vip)
    state.services.add('HTTP/' + vip)
    instance = str(uuid.uuid4())
    req = VendordataRequest.from_json({
        'project-id': ATTACKER, 'instance-id': instance, 'image-id': '',
        'user-data': None, 'hostname': 'nja%s' % unique,
        'metadata': {'ipa_enroll': 'True'}, 'boot-roles': 'member'})
    answer = state.enroller.handle(req)
    fqdn = answer['hostname']
    state.hosts.add(fqdn)
    guest = _host_client(ipa_env, fqdn, answer['ipaotp'], tmp_path)

    forged = records.owner_record(instance, PROJECT, 'default',
                                  state.enroller.otps.key_id)
    guest.call('host_mod', fqdn, description=forged)     # IPA allows this
    with pytest.raises(errors.ACIError):                 # and not this
        guest.call('host_mod', fqdn, userclass=[forged])
    shown = state.ipa.call('host_show', fqdn, all=True)['result']
    assert shown['description'] == [forged]

    listener = start_listener()
    emit(peers_env, bus, [{'event': 'update', 'instance': notify_env.nova_instance(
        instance, ATTACKER, 'nja%s' % unique,
        {'ipa_enroll': 'True', 'managed_service_vip': 'HTTP/' + vip}),
        'old': {'task_state': 'rebooting'}}], 'versioned')
    wait_until(lambda: 'services of %s not changed' % fqdn in listener.log(),
               30, what='the update refused')
    # judged as the project nova and userclass say, not the forged one
    assert 'project %s may not request' % ATTACKER in listener.log()
    vip_entry = state.ipa.call('host_show', vip, all=True)['result']
    assert sorted(vip_entry['managedby_host']) == sorted([vip, victim])
    service = state.ipa.call('service_show', 'HTTP/' + vip, all=True)['result']
    assert fqdn not in service.get('managedby_host', [])


# -- rebuilds ----------------------------------------------------------------------

def _rebuild_in_nova(peers_env, instance):
    """What nova-api and compute record for a rebuild (nova_rebuild.py):
    the instance action, under a new request id."""
    out = subprocess.run(
        [os.path.join(peers_env['PEERS_VENV'], 'bin', 'python'), '-W', 'ignore',
         os.path.join(os.path.dirname(__file__), 'nova_rebuild.py'), instance],
        capture_output=True, text=True, timeout=120,
        cwd=str(peers.PEERS_DIR),
        env=dict(os.environ, PEERS_DIR=str(peers.PEERS_DIR)))
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)['request_id']


def _rebuild_event(instance, fqdn):
    return {'event': 'rebuild', 'instance': notify_env.nova_instance(
        instance, PROJECT, fqdn.split('.')[0], {'ipa_enroll': 'True'},
        fixed_ips={'private': '10.0.0.5'})}


def _fetch(state, instance, fqdn):
    """The join answer novajoin-server's Enroller gives this instance now."""
    req = VendordataRequest.from_json({
        'project-id': PROJECT, 'instance-id': instance, 'image-id': '',
        'user-data': None, 'hostname': fqdn.split('.')[0],
        'metadata': {'ipa_enroll': 'True'}, 'boot-roles': 'member'})
    return state.enroller.handle(req)


def _show(state, fqdn):
    return state.ipa.call('host_show', fqdn, all=True)['result']


def _enrolled_in_nova(state, ipa_env, nova, name):
    """An instance alive in nova-api whose (old) guest enrolled with the OTP
    novajoin-server handed out: (instance, fqdn, that OTP)."""
    instance, fqdn = state.enroll(name)
    otp_value = _fetch(state, instance, fqdn)['ipaotp']
    joined = peers.ipa_join(ipa_env, fqdn, otp_value)
    assert joined.returncode == 0, joined.stderr
    nova.create(instance, PROJECT, fqdn.split('.')[0])
    return instance, fqdn, otp_value


@pytest.mark.parametrize('fmt', ['versioned', 'unversioned'])
def test_a_rebuilt_instance_gets_a_new_otp_and_its_new_guest_enrolls(
        fmt, start_listener, bus, state, peers_env, ipa_env, nova, unique):
    instance, fqdn, old_otp = _enrolled_in_nova(state, ipa_env, nova,
                                                'njrb%s' % unique)
    assert 'ipaotp' not in _fetch(state, instance, fqdn)          # enrolled
    request_id = _rebuild_in_nova(peers_env, instance)

    listener = start_listener()
    emit(peers_env, bus, [_rebuild_event(instance, fqdn)], fmt)
    wait_until(lambda: _show(state, fqdn)['has_password'], 30,
               what='host re-armed')
    host = _show(state, fqdn)
    assert not host['has_keytab']                  # the old guest's keys gone
    assert records.generation_of(host).request_id == request_id
    new_otp = _fetch(state, instance, fqdn)['ipaotp']
    assert new_otp != old_otp
    assert new_otp == _fetch(state, instance, fqdn)['ipaotp']   # refetch: same
    assert 'IPA host %s reset' % fqdn in listener.log()
    assert old_otp not in listener.log() and new_otp not in listener.log()
    # the old OTP is worth nothing; the new guest enrolls with the new one
    assert peers.ipa_join(ipa_env, fqdn, old_otp).returncode != 0
    joined = peers.ipa_join(ipa_env, fqdn, new_otp)
    assert joined.returncode == 0, joined.stderr

    # The same notification again (a redelivery, a replay): the new guest's
    # enrollment stands.
    emit(peers_env, bus, [_rebuild_event(instance, fqdn)], fmt)
    wait_until(lambda: listener.log().count(
        'IPA host %s has enrolled the rebuilt guest' % fqdn) >= 1, 30,
        what='the replay handled')
    assert _show(state, fqdn)['has_keytab']


def test_a_rebuild_nova_does_not_record_changes_nothing(
        start_listener, bus, state, peers_env, ipa_env, nova, unique):
    # alive in nova, never rebuilt
    instance, fqdn, _ = _enrolled_in_nova(state, ipa_env, nova,
                                          'njrf%s' % unique)
    listener = start_listener()
    emit(peers_env, bus, [_rebuild_event(instance, fqdn)], 'versioned')
    wait_until(lambda: 'SUSPICIOUS: rebuild notification for instance %s'
               % instance in listener.log(), 30, what='the forged rebuild')
    host = _show(state, fqdn)
    assert host['has_keytab'] and records.generation_of(host) is None


def test_a_rebuild_leaves_a_host_an_administrator_disabled_disabled(
        start_listener, bus, state, peers_env, ipa_env, nova, unique):
    instance, fqdn, _ = _enrolled_in_nova(state, ipa_env, nova,
                                          'njrd%s' % unique)
    state.ipa.call('host_disable', fqdn)                  # the administrator
    _rebuild_in_nova(peers_env, instance)
    listener = start_listener()
    emit(peers_env, bus, [_rebuild_event(instance, fqdn)], 'versioned')
    wait_until(lambda: 'was disabled by an administrator: not armed again'
               in listener.log(), 30, what='the rebuild handled')
    host = _show(state, fqdn)
    assert not host['has_keytab'] and not host['has_password']
