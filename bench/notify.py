#!/usr/bin/env python3
"""Benchmark: delete notifications through novajoin-notify on the real RabbitMQ.

Each run publishes N ``instance.delete.end`` messages (nova 34's payload, as
captured from nova's own code in tests/unit/notify/data) to a topic of its own
while its pool's queue waits with no consumer, then starts a listener and
times it from start until the last message is handled:

1. ceiling: a bare oslo.messaging listener (same transport, pool, executor
   'threading', allow_requeue) whose endpoint does nothing;
2. novajoin-notify's listener and handlers (filter, payload parsing, ownership
   check, removal plan) with a no-op IPA that answers at once as if each host
   existed, showing the listener's own cost; printed as a ratio of the ceiling;
3. novajoin-notify against the real FreeIPA (admin password, the service's
   [ipa] defaults: group commit on; each delete finds its host in IPA's
   LDAP, or with host_find under ``--lookups json-rpc``): M real hosts created and enrolled with
   ipa-join (a guest's keys, as after a real boot; --no-enroll skips it),
   then deleted through their notifications; deletes/s and IPA round trips
   per delete, against IPA's bare per-call host_del of as many enrolled hosts
   (best of 1, 2 and 4 in flight) measured in the same run. Also printed,
   not the ceiling: the same host_dels batched (2 x 10), and both without
   ``updatedns`` -- what IPA can do at all, and the part of a host_del that
   is its DNS clean-up. ``--dns-records`` gives every host an SSHFP record
   first, as a guest's ipa-client-install does where IPA serves DNS: a
   delete must then clear it (host_del updatedns).

    python bench/notify.py [-n 1000] [-m 1000] [--no-enroll] [--dns-records]
                           [--lookups ldap|json-rpc]

Not a test: it asserts nothing about speed (it does check every host is gone).
"""
import argparse
import concurrent.futures
import json
import pathlib
import sys
import threading
import time
import uuid

import oslo_messaging

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from novajoin import conf as conf_pkg  # noqa: E402
from novajoin.hosts import dns as host_dns  # noqa: E402
from novajoin.hosts import records  # noqa: E402
from novajoin.hosts import store  # noqa: E402
from novajoin.ipa import IPAClient  # noqa: E402
from novajoin.ipa import directory  # noqa: E402
from novajoin.ipa import errors  # noqa: E402
from novajoin.ipa.auth import PasswordAuth  # noqa: E402
from novajoin.notify import handlers  # noqa: E402
from novajoin.notify import listener  # noqa: E402
from tests.functional import notify_env  # noqa: E402
from tests.functional import peers  # noqa: E402
from tests.unit.notify import payloads  # noqa: E402

CLOUD = records.Cloud('default')

PROJECT = payloads.NOVA_PROJECT


class NoopIPA:
    """Answers like IPA, at once: every instance has a host, nothing else."""

    def __init__(self):
        self.calls = 0
        self._lock = threading.Lock()

    def call(self, method, *args, **options):
        with self._lock:
            self.calls += 1
        if method == 'host_find' and options.get('userclass'):
            # "novajoin: instance=<uuid> cloud=<id>"
            instance = options['userclass'].split('=')[1].split()[0]
            fqdn = 'h-%s.example.test' % instance[:8]
            return {'result': [{'fqdn': [fqdn], 'managing_host': [fqdn],
                                'userclass': CLOUD.owner_values(
                                    instance, PROJECT)}]}
        if method == 'dnszone_find':
            return {'result': []}
        return {'result': {}}

    def batch(self, calls, deadline=None):
        with self._lock:
            self.calls += 1
        return [{'result': [] if method.endswith('_find') else {}}
                for method, _, _ in calls]


def make_conf(rabbit_url, topic, pool):
    conf = conf_pkg.new_conf()
    conf([], default_config_files=[])
    conf.set_override('topics', [topic], group='notify')
    conf.set_override('exchanges', ['nova'], group='notify')
    conf.set_override('pool', pool, group='notify')
    listener.set_defaults(conf)     # novajoin-notify's threads and prefetch
    transport = oslo_messaging.get_notification_transport(conf, url=rabbit_url)
    return conf, transport


def publish(rabbit_url, topic, instances):
    pub = notify_env.Publisher(rabbit_url, 'nova', 'nova-compute:bench-1', topic)
    template = payloads.nova('instance.delete.end')
    start = time.monotonic()
    for instance in instances:
        payload = json.loads(json.dumps(template))
        payload['nova_object.data']['uuid'] = instance
        pub.info('instance.delete.end', payload)
    elapsed = time.monotonic() - start
    pub.close()
    return elapsed


def declare_pool(transport, topic, pool, endpoint):
    """Create the pool's queue (bindings included), then leave it unconsumed."""
    server = oslo_messaging.get_notification_listener(
        transport, [oslo_messaging.Target(topic=topic, exchange='nova')],
        [endpoint], executor='threading', allow_requeue=True, pool=pool)
    server.start()
    server.stop()
    server.wait()


class Counter:
    def __init__(self, total):
        self.total = total
        self.count = 0
        self.done = threading.Event()
        self._lock = threading.Lock()

    def hit(self):
        with self._lock:
            self.count += 1
            if self.count >= self.total:
                self.done.set()


class BareEndpoint:
    def __init__(self, counter):
        self.counter = counter

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self.counter.hit()
        return oslo_messaging.NotificationResult.HANDLED


class CountingHandlers(handlers.Handlers):
    def __init__(self, counter, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.counter = counter

    def handle(self, event_type, payload, publisher=None):
        outcome = super().handle(event_type, payload, publisher)
        self.counter.hit()      # failed attempts are requeued, not counted
        return outcome


def timed_run(rabbit_url, n, make_endpoint, label, instances=None):
    """Messages/s of a listener (novajoin-notify's messaging defaults)."""
    token = uuid.uuid4().hex[:10]
    topic, pool = 'njbench-%s' % token, 'njbench-%s' % token
    conf, transport = make_conf(rabbit_url, topic, pool)
    counter = Counter(n)
    endpoint = make_endpoint(counter)
    try:
        declare_pool(transport, topic, pool, endpoint)
        instances = instances or [str(uuid.uuid4()) for _ in range(n)]
        pub_s = publish(rabbit_url, topic, instances)
        notify_env.wait_until(
            lambda: notify_env.queue_depth(rabbit_url, pool) >= n, 60,
            what='%d messages queued' % n)
        server = oslo_messaging.get_notification_listener(
            transport, listener.targets(conf), [endpoint], executor='threading',
            allow_requeue=True, pool=pool)
        start = time.monotonic()
        server.start()
        if not counter.done.wait(600):
            raise SystemExit('%s: only %d of %d handled' % (label, counter.count, n))
        elapsed = time.monotonic() - start
        server.stop()
        server.wait()
    finally:
        transport.cleanup()
        notify_env.delete_queues(rabbit_url, [pool, topic + '.info'])
    print('%-44s %5d msgs in %6.2f s = %7.1f msg/s   (published at %.0f msg/s)'
          % (label, n, elapsed, n / elapsed, n / pub_s), flush=True)
    return n / elapsed


def novajoin_endpoint(ipa, counter, reader=None):
    zones = host_dns.Zones(ipa)
    table = CountingHandlers(counter, store.Hosts(ipa, zones, CLOUD,
                                                  directory=reader),
                             # no nova here: deletes are the bench's own
                             trust_deletes=True)
    return listener.Endpoint(table, max_attempts=3, backoff=0.5)


def create_hosts(ipa, m, token, env=None, dns_records=False):
    """M novajoin hosts; with ``env`` (ipa.env) each enrolled by ipa-join;
    with ``dns_records`` each with an SSHFP record."""
    instances, fqdns, otps = [], [], []
    for start in range(0, m, 50):
        calls = []
        for i in range(start, min(m, start + 50)):
            instance = str(uuid.uuid4())
            fqdn = 'njbench-%s-%d.example.test' % (token, i)
            instances.append(instance)
            fqdns.append(fqdn)
            otps.append(uuid.uuid4().hex)
            values = CLOUD.owner_values(instance, PROJECT)
            calls.append(('host_add', [fqdn], {
                'force': True, 'description': values[0], 'userclass': values,
                'userpassword': otps[-1], 'no_members': True}))
            if dns_records:
                calls.append(('dnsrecord_add', ['example.test.', fqdn.split('.')[0]], {
                    'sshfprecord': ['1 1 %s' % uuid.uuid4().hex[:40].ljust(40, '0')]}))
        for result in ipa.batch(calls):
            if isinstance(result, Exception):
                raise result
    if env is not None:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            joined = list(pool.map(lambda a: peers.ipa_join(env, *a),
                                   zip(fqdns, otps)))
        failed = [j.stderr for j in joined if j.returncode]
        if failed:
            raise SystemExit('ipa-join failed: %s' % failed[0][-500:])
    return instances, fqdns


def direct_deletes(ipa, fqdns, in_flight, updatedns=True):
    """host_del alone, ``in_flight`` at a time (calls; with a client that
    batches, as many callers as hosts): IPA's own rate."""
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(in_flight) as pool:
        list(pool.map(lambda f: ipa.call('host_del', f, updatedns=updatedns),
                      fqdns))
    return len(fqdns) / (time.monotonic() - start)


def admin_client(env, **kwargs):
    return IPAClient([env['IPA_SERVER']], PasswordAuth(env['IPA_ADMIN_USER'],
                                                       env['IPA_ADMIN_PASSWORD']),
                     ca_file=env['IPA_CA_CERT'], read_timeout=30, **kwargs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-n', type=int, default=1000,
                        help='messages for the ceiling and no-op runs')
    parser.add_argument('-m', type=int, default=1000,
                        help='real hosts deleted through the real IPA')
    parser.add_argument('--no-enroll', action='store_true',
                        help='delete hosts that never enrolled (faster set-up)')
    parser.add_argument('--dns-records', action='store_true',
                        help='give every host an SSHFP record (as ipa-client-install '
                             'does where IPA serves DNS)')
    parser.add_argument('--lookups', choices=('ldap', 'json-rpc'), default='ldap',
                        help='where a delete finds its host: IPA\'s LDAP (the '
                             'default, [notify] read_from_ldap) or host_find')
    parser.add_argument('--max-in-flight', type=int,
                        help='[ipa] max_in_flight (default: the service\'s)')
    parser.add_argument('--max-batch', type=int,
                        help='[ipa] max_batch (default: the service\'s)')
    args = parser.parse_args()
    rabbit_url = peers.RABBIT_URL
    print('novajoin-notify benchmark: RabbitMQ %s, executor threading'
          % rabbit_url.split('@')[-1])

    ceiling = timed_run(rabbit_url, args.n, BareEndpoint,
                        'bare oslo.messaging listener, no-op endpoint')
    noop = NoopIPA()
    rate = timed_run(rabbit_url, args.n,
                     lambda c: novajoin_endpoint(noop, c),
                     'novajoin-notify, no-op IPA')
    print('  ratio novajoin/ceiling: %.2f   (IPA calls per delete: %.1f)'
          % (rate / ceiling, noop.calls / args.n))

    env = peers.read_env_file(peers.IPA_DIR / 'ipa.env')
    join_env = None if args.no_enroll else env
    what = 'never enrolled' if args.no_enroll else 'enrolled'
    if args.dns_records:
        what += ', with an SSHFP record,'
    defaults = conf_pkg.new_conf()
    defaults([], default_config_files=[])
    slots = args.max_in_flight or defaults.ipa.max_in_flight
    batch = args.max_batch or defaults.ipa.max_batch
    ipa = admin_client(env, max_in_flight=slots, max_batch=batch)
    token = uuid.uuid4().hex[:8]
    direct = {}
    part = max(1, args.m // 3)
    bare = [('host_del, %d in flight' % n, n, 1, n, True) for n in (1, 2, 4)]
    bare += [('host_del batched (2 x 10)', 'batched', 10, 64, True),
             ('host_del, 2 in flight, no updatedns', 'no_dns', 1, 2, False),
             ('host_del batched, no updatedns', 'batched_no_dns', 10, 64, False)]
    for label, key, batch_of, callers, updatedns in bare:
        start = time.monotonic()
        _, fqdns = create_hosts(ipa, part, '%sd%s' % (token, str(key).replace('_', '')), join_env,
                                args.dns_records)
        print('(created %d %s IPA hosts in %.1f s)' % (part, what,
                                                       time.monotonic() - start))
        direct[key] = direct_deletes(
            admin_client(env, max_batch=batch_of, max_in_flight=min(callers, 2)
                         if batch_of > 1 else callers),
            fqdns, callers, updatedns)
        print('%-44s %5d deletes          = %7.1f deletes/s'
              % ('IPA alone: ' + label, part, direct[key]), flush=True)
    best = max(direct[n] for n in (1, 2, 4))
    start = time.monotonic()
    instances, fqdns = create_hosts(ipa, args.m, token, join_env, args.dns_records)
    print('(created %d %s IPA hosts in %.1f s)' % (args.m, what,
                                                   time.monotonic() - start))
    reader = None
    if args.lookups == 'ldap':
        reader = directory.Directory(
            [env['IPA_SERVER']], ipa.auth, env['IPA_BASEDN'],
            ca_file=env['IPA_CA_CERT'])
    before = ipa.stats['round_trips']
    try:
        deletes = timed_run(rabbit_url, args.m,
                            lambda c: novajoin_endpoint(ipa, c, reader),
                            'novajoin-notify, real IPA (max_in_flight %d, '
                            'max_batch %d, look-ups %s)' % (
                                slots, batch, args.lookups),
                            instances=instances)
        trips = ipa.stats['round_trips'] - before
        print('  real IPA: %.1f deletes/s of %s hosts, %.2f IPA round trips per '
              'delete, %.2f of IPA\'s best bare per-call host_del rate (%.1f/s); '
              '%.2f of the bare batched rate, %.2f of the bare per-call rate '
              'without updatedns'
              % (deletes, what, trips / args.m, deletes / best, best,
                 deletes / direct['batched'], deletes / direct['no_dns']))
    finally:
        left = []
        for fqdn in fqdns:
            try:
                ipa.call('host_del', fqdn)
                left.append(fqdn)
            except errors.NotFound:
                pass
        stale = []
        if args.dns_records:
            # what the bare host_dels without updatedns left too
            names = [r['idnsname'][0]['__dns_name__'] for r in ipa.call(
                'dnsrecord_find', 'example.test.', 'njbench-%s' % token,
                sizelimit=0)['result']]
            stale = [n for n in names if n.startswith('njbench-%s-' % token)]
            for i in range(0, len(names), 50):
                ipa.batch([('dnsrecord_del', ['example.test.', n], {'del_all': True})
                           for n in names[i:i + 50]])
    if left:
        raise SystemExit('%d hosts were not deleted' % len(left))
    if stale:
        raise SystemExit('%d deleted hosts kept their DNS records' % len(stale))
    print('every host is gone from IPA%s' % (
        ', and its DNS records' if args.dns_records else ''))


if __name__ == '__main__':
    main()
