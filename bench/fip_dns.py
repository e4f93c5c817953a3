#!/usr/bin/env python3
"""Benchmark: floating-IP DNS on the real neutron 29, RabbitMQ and FreeIPA.

N servers are enrolled in IPA (novajoin's Enroller) and given a port each on
the real neutron peer (``peers/up.sh --with-neutron``). Then, one server at a
time, a floating IP is created on its port (neutron sends
``floatingip.create.end``) and later deleted (``floatingip.delete.end``); the
time from neutron's API answer until the consumer has written (or removed)
the A record is taken, for:

1. ceiling: a bare oslo.messaging listener on neutron's topic that, on the
   message, makes the one IPA call any consumer must make (dnsrecord_add or
   dnsrecord_del of the A record) and nothing else: it believes the payload;
2. novajoin-notify's listener and handlers: it settles the address with
   neutron first (floating IP by address, its port), checks ownership in IPA,
   removes the address from any other host, writes A and PTR.

It prints p50/p90/max per step and novajoin's median as a multiple of the
ceiling's, then the reconciler's floating-IP sweep over the N hosts: in order
(nothing to do) and with every record missing.

    python bench/fip_dns.py [-n 30]

Not a test: it asserts nothing about speed (it does check every record).
"""
import argparse
import pathlib
import statistics
import sys
import threading
import time
import uuid

import oslo_messaging
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from novajoin import conf as conf_pkg  # noqa: E402
from novajoin import join  # noqa: E402
from novajoin import openstack  # noqa: E402
from novajoin import otp  # noqa: E402
from novajoin.ipa import IPAClient  # noqa: E402
from novajoin.ipa import errors  # noqa: E402
from novajoin.ipa.auth import PasswordAuth  # noqa: E402
from novajoin.notify import listener  # noqa: E402
from novajoin.notify import wiring  # noqa: E402
from novajoin.validation import VendordataRequest  # noqa: E402
from tests.functional import notify_env  # noqa: E402
from tests.functional import peers  # noqa: E402
from tests.functional.test_server import project_ids  # noqa: E402

ZONE = 'example.test.'


class Waits:
    """When each address was handled, by whichever consumer is running."""

    def __init__(self):
        self.finished = {}
        self._cond = threading.Condition()

    def done(self, ip):
        with self._cond:
            self.finished[ip] = time.monotonic()
            self._cond.notify_all()

    def since(self, ip, start, timeout=30):
        """Seconds from ``start`` until ``ip`` was handled (then forgotten)."""
        with self._cond:
            if not self._cond.wait_for(lambda: ip in self.finished, timeout):
                return None
            return self.finished.pop(ip) - start


class BareEndpoint:
    """Believes the payload; one IPA write per message."""

    def __init__(self, ipa, names, waits):
        self.ipa, self.names, self.waits = ipa, names, waits
        self.written = {}       # address -> record name

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        fip = payload.get('floatingip') or {}
        ip = fip.get('floating_ip_address')
        if event_type == 'floatingip.create.end' and fip.get('port_id'):
            name = self.names.get((fip.get('port_details') or {}).get('device_id'))
            if name:
                self.ipa.call('dnsrecord_add', ZONE, name, arecord=[ip])
                self.written[ip] = name
                self.waits.done(ip)
        elif event_type == 'floatingip.delete.end' and ip in self.written:
            try:
                self.ipa.call('dnsrecord_del', ZONE, self.written.pop(ip),
                              arecord=[ip])
            except errors.NotFound:
                pass
            self.waits.done(ip)
        return oslo_messaging.NotificationResult.HANDLED


class TimedHandlers:
    """novajoin's handler table; marks an address once it is handled."""

    def __init__(self, table, waits):
        self.inner, self.waits = table, waits
        self.table = table.table

    def handle(self, event_type, payload, publisher=None):
        outcome = self.inner.handle(event_type, payload, publisher)
        fip = payload.get('floatingip') or {}
        if fip.get('floating_ip_address'):
            self.waits.done(fip['floating_ip_address'])
        return outcome


def percentiles(values):
    ordered = sorted(values)
    return (statistics.median(ordered),
            ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))],
            ordered[-1])


class Neutron:
    """neutron's REST API as nova's service user (admin)."""

    def __init__(self, env, ids):
        auth = v3.Password(auth_url=env['KEYSTONE_URL'], username='nova',
                           password=env['NOVA_PASSWORD'], project_name='service',
                           user_domain_name='Default',
                           project_domain_name='Default')
        self.session = ks_session.Session(auth=auth)
        self.project = ids['service']
        self.filter = {'service_type': 'network', 'interface': 'public'}

    def _call(self, method, path, body=None):
        resp = self.session.request(path, method, json=body,
                                    endpoint_filter=self.filter)
        return resp.json() if resp.content else None

    def network_id(self, **query):
        nets = self.session.get('/v2.0/networks', params=query,
                                endpoint_filter=self.filter).json()['networks']
        return nets[0]['id']

    def port(self, network_id, device_id):
        return self._call('POST', '/v2.0/ports', {'port': {
            'network_id': network_id, 'device_id': device_id,
            'device_owner': 'compute:nova', 'project_id': self.project}})['port']

    def fip(self, public_id, port_id):
        return self._call('POST', '/v2.0/floatingips', {'floatingip': {
            'floating_network_id': public_id, 'port_id': port_id,
            'project_id': self.project}})['floatingip']

    def delete(self, kind, ident):
        self._call('DELETE', '/v2.0/%s/%s' % (kind, ident))


def run_listener(transport, pool, endpoint):
    server = oslo_messaging.get_notification_listener(
        transport, [oslo_messaging.Target(exchange='neutron',
                                          topic='notifications')],
        [endpoint], executor='threading', allow_requeue=True, pool=pool)
    server.start()
    return server


def timed_steps(neutron, servers, public_id, waits, label):
    """Create then delete a floating IP on each server's port, one at a time;
    each time counts from just before neutron's API call."""
    created, deleted, fips = [], [], []
    for _, port in servers:
        start = time.monotonic()
        fip = neutron.fip(public_id, port['id'])
        took = waits.since(fip['floating_ip_address'], start)
        if took is None:
            raise SystemExit('%s: no record for %s'
                             % (label, fip['floating_ip_address']))
        created.append(took)
        fips.append(fip)
    for fip in fips:
        start = time.monotonic()
        neutron.delete('floatingips', fip['id'])
        took = waits.since(fip['floating_ip_address'], start)
        if took is None:
            raise SystemExit('%s: record of %s not removed'
                             % (label, fip['floating_ip_address']))
        deleted.append(took)
    for what, values in (('create --port', created), ('delete', deleted)):
        p50, p90, top = percentiles(values)
        print('%-38s %-14s p50 %6.0f ms  p90 %6.0f ms  max %6.0f ms'
              % (label, what, p50 * 1e3, p90 * 1e3, top * 1e3), flush=True)
    return statistics.median(created), statistics.median(deleted)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-n', type=int, default=30, help='servers')
    args = parser.parse_args()
    env = peers.peers_env()
    ids = project_ids(env)
    ipa_env = peers.read_env_file(peers.IPA_DIR / 'ipa.env')
    ipa = IPAClient([ipa_env['IPA_SERVER']],
                    PasswordAuth(ipa_env['IPA_ADMIN_USER'],
                                 ipa_env['IPA_ADMIN_PASSWORD']),
                    ca_file=ipa_env['IPA_CA_CERT'], read_timeout=30)
    neutron = Neutron(env, ids)
    token = uuid.uuid4().hex[:8]
    conf = conf_pkg.new_conf()
    conf([], default_config_files=[])
    listener.set_defaults(conf)
    parts = wiring.Parts(conf, ipa=ipa,
                         servers=openstack.Servers(neutron.session),
                         network=openstack.Network(neutron.session,
                                                   interface='public'))
    enroller = join.Enroller(ipa, otp.OTPSource('bench-' + 'x' * 40),
                             join.IPAIdentity(ipa), cloud=parts.cloud,
                             domain='njb%s.example.test' % token)
    private_id = neutron.network_id(name='service-net')
    public_id = neutron.network_id(**{'router:external': True})
    servers, names, fqdns = [], {}, []
    print('floating-IP DNS benchmark: %d servers, real neutron, RabbitMQ, FreeIPA'
          % args.n, flush=True)
    try:
        for i in range(args.n):
            instance = str(uuid.uuid4())
            fqdn = enroller.handle(VendordataRequest.from_json({
                'project-id': ids['service'], 'instance-id': instance,
                'image-id': '', 'user-data': None, 'hostname': 'fip%d' % i,
                'metadata': {'ipa_enroll': 'True'},
                'boot-roles': 'member'}))['hostname']
            fqdns.append(fqdn)
            names[instance] = fqdn[:-len('.example.test')]
            servers.append((instance, neutron.port(private_id, instance)))
        transport = oslo_messaging.get_notification_transport(
            conf, url=peers.RABBIT_URL)
        waits = Waits()
        results = {}
        for label, endpoint in (
                ('ceiling: bare listener + 1 IPA call',
                 BareEndpoint(ipa, names, waits)),
                ('novajoin-notify',
                 listener.Endpoint(TimedHandlers(parts.handlers(), waits),
                                   max_attempts=3, backoff=0.5))):
            pool = 'njbench-fip-%s' % uuid.uuid4().hex[:8]
            server = run_listener(transport, pool, endpoint)
            try:
                results[label] = timed_steps(neutron, servers, public_id, waits,
                                             label)
            finally:
                server.stop()
                server.wait()
                notify_env.delete_queues(peers.RABBIT_URL, [pool])
        (c_create, c_delete), (n_create, n_delete) = results.values()
        print('novajoin / ceiling (medians): create %.2fx, delete %.2fx'
              % (n_create / c_create, n_delete / c_delete))
        sweep(parts, servers, fqdns, neutron, public_id)
    finally:
        for _, port in servers:
            neutron.delete('ports', port['id'])
        for fqdn in fqdns:
            try:
                ipa.call('dnsrecord_del', ZONE, fqdn[:-len('.example.test')],
                         del_all=True)
            except errors.NotFound:
                pass
            ipa.call('host_del', fqdn)


def sweep(parts, servers, fqdns, neutron, public_id):
    """The reconciler's floating-IP sweep over these N hosts: every record
    missing (floating IPs made while no listener ran), then nothing to do."""
    fips = [neutron.fip(public_id, port['id']) for _, port in servers]
    try:
        live = [(parts.hosts.owned_by(instance)[0], instance)
                for instance, _ in servers]
        for what in ('every record missing', 'nothing to do'):
            start = time.monotonic()
            changed = list(parts.floating.sweep(live))
            elapsed = time.monotonic() - start
            print('sweep of %d hosts, %-22s %6.2f s, %3d addresses settled'
                  % (len(live), what + ':', elapsed, len(changed)), flush=True)
        have = parts.floating.fip_dns.a_values(fqdns)
        wrong = [f for f, fip in zip(fqdns, fips)
                 if fip['floating_ip_address'] not in have.get(f, [])]
        if wrong:
            raise SystemExit('sweep: %d hosts without their record' % len(wrong))
    finally:
        for fip in fips:
            neutron.delete('floatingips', fip['id'])
            parts.floating.settle(fip['floating_ip_address'])   # A and PTR go


if __name__ == '__main__':
    main()
