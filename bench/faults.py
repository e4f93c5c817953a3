#!/usr/bin/env python3
"""Benchmark: the boot storm and the delete burst with one fault injected mid-run.

The fault suite's set-ups (tests/functional/test_faults.py) under load, against
the real FreeIPA, keystone, nova 34 (its vendordata code and compute API) and
RabbitMQ; one fault per scenario:

1. replica: two novajoin-server replicas (1 worker each) behind HAProxy
   (tests/functional/haproxy.py); nova 34 fetches N instances' vendordata
   through it, twice (the boot, then the guest's refetch); replica a is
   SIGKILLed, its whole process group, once it has answered N/4. First, in
   the same run, the same storm with no fault (the ceiling).
2. ipa: ``[ipa] servers = ipa.example.test:<forwarder>, ipa.example.test``
   for one novajoin-server and one novajoin-notify; a storm of N first
   fetches (nova's body, token and 5 s read timeout) and a delete burst of
   M (nova 34's own notifications) are running when the forwarder goes down
   for --fault seconds (the guests' refetches go on meanwhile), then up.
   Rates before the fault are the ceiling.
3. broker: M deletes wait in novajoin-notify's quorum queue (durable
   exchanges, nova with rabbit_quorum_queue) while the listener is stopped;
   RabbitMQ restarts (rabbitmqctl stop_app/start_app: the bench's only
   restart); the listener starts and drains the queue. First, in the same
   run, the same drain with no restart (the ceiling).

Prints one block per scenario: completion, time to recover, leaked / lost
IPA hosts (the hosts of the scenario's own prefix against the instances that
should have one), RSS (VmRSS) before and after, the ratio to the no-fault
figure, and one JSON line. Not a test: it asserts nothing about speed. Every
scenario removes its own IPA hosts, queues and exchanges and stops its
processes, also when it fails.

    python bench/faults.py [--scenario all|replica|ipa|broker] [-n 200]
        [--concurrency 16] [-m 200] [--fault 60] [--keytab K --principal P]
"""
import argparse
import concurrent.futures
import datetime
import hashlib
import json
import os
import pathlib
import re
import signal
import statistics
import sys
import threading
import time
import traceback
import uuid

import requests

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bootstorm import children_by_parent  # noqa: E402
from bench.notify import PROJECT as BURST_PROJECT  # noqa: E402
from bench.notify import create_hosts  # noqa: E402
from bench.vendordata import add_identity_args  # noqa: E402
from bench.vendordata import environment  # noqa: E402
from bench.vendordata import percentile  # noqa: E402
from novajoin import conf as conf_pkg  # noqa: E402
from novajoin.ipa import errors  # noqa: E402
from tests.functional import haproxy  # noqa: E402
from tests.functional import notify_env  # noqa: E402
from tests.functional import nova_api  # noqa: E402
from tests.functional import peers  # noqa: E402
from tests.functional import test_notify  # noqa: E402
from tests.functional.novajoin_server import identity_conf  # noqa: E402
from tests.functional.novajoin_server import start_server  # noqa: E402
from tests.functional.test_faults import FORWARD  # noqa: E402
from tests.functional.test_faults import WARM_PROJECT  # noqa: E402
from tests.functional.test_faults import answered  # noqa: E402
from tests.functional.test_faults import fetch  # noqa: E402
from tests.functional.test_faults import nova_storm  # noqa: E402
from tests.functional.test_faults import nova_token  # noqa: E402
from tests.functional.test_faults import restart_rabbitmq  # noqa: E402
from tests.functional.test_faults import storm_results  # noqa: E402

STAMP = r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) .*'
REMOVED = re.compile(STAMP + r'removed IPA host (\S+)$', re.M)
# the host was gone when the handler's host_del came: e.g. its own earlier
# host_del whose answer the fault cut, retried on the next IPA server
ALREADY = re.compile(STAMP + r'IPA host (\S+) was already removed', re.M)


# -- measuring -------------------------------------------------------------------

def rss_mib(pid):
    """VmRSS of a process, MiB (0 once it is gone)."""
    try:
        for line in pathlib.Path('/proc/%d/status' % pid).read_text().splitlines():
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        pass
    return 0.0


def workers_rss(process):
    """VmRSS (MiB) of a novajoin-server's gunicorn workers (the children of
    its master, a peers.Process), summed."""
    return sum(rss_mib(p) for p in children_by_parent().get(process.proc.pid, []))


def leak_counts(admin, prefix, alive):
    """(leaked, lost, stale DNS) for the hosts named ``prefix``...: IPA hosts
    not in ``alive``, names in ``alive`` without a host, A records left of
    names not in ``alive`` (test_faults.assert_no_leaks, counted)."""
    found = {h['fqdn'][0] for h in admin.call(
        'host_find', prefix, sizelimit=0, pkey_only=True)['result']
        if h['fqdn'][0].startswith(prefix)}
    alive = set(alive)
    stale = [r for r in admin.call('dnsrecord_find', FORWARD, prefix,
                                   sizelimit=0)['result']
             if r['idnsname'][0]['__dns_name__'].startswith(prefix)
             and '%s.%s' % (r['idnsname'][0]['__dns_name__'],
                            FORWARD.rstrip('.')) not in alive]
    return len(found - alive), len(alive - found), len(stale)


def count_hosts(admin, prefix):
    return sum(1 for h in admin.call('host_find', prefix, sizelimit=0,
                                     pkey_only=True)['result']
               if h['fqdn'][0].startswith(prefix))


def remove_hosts(admin, prefix, known=()):
    """Remove the IPA hosts whose names start with ``prefix`` (the
    scenario's own), and ``known``; those already gone are fine."""
    try:
        hosts = {h['fqdn'][0] for h in admin.call(
            'host_find', prefix, sizelimit=0, pkey_only=True)['result']
            if h['fqdn'][0].startswith(prefix)}
    except Exception as exc:  # noqa: BLE001 - clean up what we know, say so
        print('  (cleanup: host_find %s failed: %s)' % (prefix, exc))
        hosts = set()
    hosts = sorted(hosts | {h for h in known if h.startswith(prefix)})
    for i in range(0, len(hosts), 50):
        admin.batch([('host_del', [h], {}) for h in hosts[i:i + 50]])
    return len(hosts)


def log_counts(text):
    return {'traceback': text.count('Traceback'),
            'error': len(re.findall(r' (?:ERROR|CRITICAL) ', text)),
            'gave_up': text.count('GAVE UP'),
            'requeued': text.count('requeued in'),
            'ipa_attempt_failed': len(re.findall(r'IPA \S+ on \S+ failed \(attempt', text)),
            'now_using': len(re.findall(r'IPA: now using', text)),
            # nova's warm-up instance has no ipa_enroll: novajoin asks glance,
            # and keystone's catalog has none unless a test registered one
            'glance_503': len(re.findall(r'-> 503: glance:', text)),
            'pool_full': text.count('Connection pool is full')}


def removals(text, prefix, pattern=REMOVED):
    """[(unix time, fqdn)] of the 'removed IPA host' lines of ``prefix``."""
    out = []
    for stamp, fqdn in pattern.findall(text):
        if fqdn.startswith(prefix):
            when = datetime.datetime.strptime(stamp, '%Y-%m-%d %H:%M:%S.%f')
            out.append((when.timestamp(), fqdn))
    return sorted(out)


def longest_gap(times, start, end):
    """Longest pause between events (and the window's edges) in [start, end]."""
    points = [start] + sorted(t for t in times if start <= t <= end) + [end]
    return max(b - a for a, b in zip(points, points[1:]))


def fmt(value, spec='%.2f', none='n/a'):
    return none if value is None else spec % value


def haproxy_figures(log):
    """{status: count}, requests redispatched, from HAProxy's httplog lines."""
    statuses, redispatched = {}, 0
    for line in log.splitlines():
        m = re.search(r' replicas/\S+ [-\d/+]+ (-?\d+) .* \d+/\d+/\d+/\d+/(\+?)(\d+) ',
                      line)
        if m:
            statuses[m.group(1)] = statuses.get(m.group(1), 0) + 1
            redispatched += bool(m.group(2)) or int(m.group(3)) > 0
    return statuses, redispatched


# -- scenario plumbing -----------------------------------------------------------

class Context:
    def __init__(self, args, env):
        (self.ipa_env, self.peers_env, self.work, principal, keytab,
         self.admin) = env
        self.args = args
        self.identity = {'principal': principal, 'keytab': keytab}
        self.domain = self.ipa_env['IPA_DOMAIN']
        self.rabbit_url = peers.rabbit_url()

    def where(self, name):
        path = pathlib.Path(self.work, name)
        path.mkdir()
        return path


def start_notify(ctx, where, name, bus, extra=''):
    """novajoin-notify on ``bus`` as test_notify's start_listener starts it
    (it asks the real nova-api whether an instance is gone)."""
    nova_api.require(ctx.peers_env)
    extra = (nova_api.service_credentials(ctx.peers_env)
             + '\n[join]\nservice_projects = %s\notp_secret = %s\n'
             % (test_notify.PROJECT, test_notify.OTP_SECRET) + extra)
    conf = notify_env.write_conf(where / (name + '.conf'), bus.url, ctx.ipa_env,
                                 ctx.identity, bus.topics, bus.pool, extra)
    return notify_env.NotifyProcess(conf, where / (name + '.log')).start()


def delete_events(instances, fqdns):
    """nova's delete of each instance (bench.notify.create_hosts' owners)."""
    return [{'event': 'delete', 'instance': notify_env.nova_instance(
        i, BURST_PROJECT, f.split('.')[0], fixed_ips={'private': '10.0.0.5'})}
        for i, f in zip(instances, fqdns)]


def close_bus(bus):
    notify_env.delete_queues(bus.url, bus.queues() + ['other-' + bus.pool])
    notify_env.delete_exchanges(bus.url, bus.exchanges)


# -- 1. a replica killed ---------------------------------------------------------

def scenario_replica(ctx):
    args, admin = ctx.args, ctx.admin
    n, conc = args.n, args.concurrency
    where = ctx.where('replica')
    prefix = 'fr%s' % uuid.uuid4().hex[:6]
    servers, lb, storm = {}, None, None
    try:
        for name in ('a', 'b'):
            servers[name] = start_server(where, name, ctx.ipa_env, ctx.peers_env,
                                         identity_conf(ctx.identity, ctx.ipa_env),
                                         workers=1, threads=conc)
        # warm, as replicas in production are (the fault suite's fixture)
        token = nova_token(ctx.peers_env)
        for name, (_, url) in servers.items():
            warm = fetch(url, token, WARM_PROJECT, '%s-warm%s' % (prefix, name))
            if warm.status_code != 200:
                raise SystemExit('replica %s: warm-up fetch %d %s' % (
                    name, warm.status_code, warm.text[:300]))
        lb = haproxy.HAProxy(where, {name: url.split('://', 1)[1]
                                     for name, (_, url) in servers.items()})
        urls = [url for _, url in servers.values()]
        victim, survivor = servers['a'][0], servers['b'][0]
        rss = {'before': workers_rss(survivor)}

        base = None
        if not args.no_ceiling:
            storm = nova_storm(ctx.peers_env, lb.url, prefix + 'c', n, conc,
                               passes=1, warm=urls)
            (base,) = storm_results(storm, timeout=args.timeout)
            rss['after_no_fault'] = workers_rss(survivor)
        base_leaks = leak_counts(admin, prefix + 'c-', [
            '%sc-%d.%s' % (prefix, i, ctx.domain) for i in range(n)]) if base else None

        already = answered(victim.log())
        kill_after = max(1, int(n * args.kill_at))
        storm = nova_storm(ctx.peers_env, lb.url, prefix + 'k', n, conc,
                           passes=2, warm=urls)
        started = time.monotonic()
        notify_env.wait_until(
            lambda: answered(victim.log()) - already >= kill_after
            or storm.poll() is not None, args.timeout, interval=0.05,
            what='replica a answering %d' % kill_after)
        os.killpg(victim.proc.pid, signal.SIGKILL)     # the whole replica
        killed = time.monotonic()
        late = storm.poll() is not None
        by_victim = answered(victim.log()) - already
        down_s = None
        while time.monotonic() - killed < 30:
            try:
                if lb.status().get('a') == 'DOWN':
                    down_s = time.monotonic() - killed
                    break
            except requests.RequestException:
                pass
            time.sleep(0.02)
        first, again = storm_results(storm, timeout=args.timeout)
        rss['after'] = workers_rss(survivor)
        names = ['%sk-%d.%s' % (prefix, i, ctx.domain) for i in range(n)]
        leaked, lost, stale = leak_counts(admin, prefix + 'k-', names)
        statuses, redispatched = haproxy_figures(lb.log())
        b_log = log_counts(survivor.log())
        glance_503 = b_log['glance_503'] + log_counts(victim.log())['glance_503']

        otp1 = sum(r['otp'] for r in first['results'])
        otp2 = sum(bool(a['otp'] or b['otp'])
                   for a, b in zip(first['results'], again['results']))
        changed = sum(1 for a, b in zip(first['results'], again['results'])
                      if a['digest'] and b['digest'] and a['digest'] != b['digest'])
        distinct = len({r['digest'] for r in first['results'] if r['digest']})
        rate = otp1 / first['wall_s']
        base_rate = (sum(r['otp'] for r in base['results']) / base['wall_s']
                     if base else None)
        lat = [r['ms'] for r in first['results']]
        print('== replica: 2 novajoin-server replicas (1 worker x %d threads) behind '
              'HAProxy; nova 34 storm of %d @ %d in flight, 2 passes; SIGKILL of '
              'replica a after it answered %d' % (conc, n, conc, kill_after))
        if base:
            print('  no fault, same storm (ceiling): OTPs %d / %d, %.1f enrollments/s '
                  '(wall %.1f s); leaked %d, lost %d' % (
                      sum(r['otp'] for r in base['results']), n, base_rate,
                      base['wall_s'], base_leaks[0], base_leaks[1]))
        print('  replica a answered %d of this storm, killed %.1f s after the storm '
              'started%s' % (by_victim, killed - started,
                             ' (TOO LATE: the storm had ended)' if late else ''))
        print('  HAProxy marked a DOWN             %s s after the kill' % fmt(down_s))
        print('  instances with an OTP: after pass 1 %d / %d, after pass 2 %d / %d; '
              'distinct OTPs %d' % (otp1, n, otp2, n, distinct))
        print('  changed OTPs between passes       %d' % changed)
        print('  enrollments/s (pass 1)            %.1f  (wall %.1f s; p50/p99/max '
              '%.0f / %.0f / %.0f ms)' % (rate, first['wall_s'], statistics.median(lat),
                                          percentile(lat, 99), max(lat)))
        if base:
            print('  ratio to the no-fault storm       %.2f' % (rate / base_rate))
        print('  refetch (pass 2)                  %.1f /s  (wall %.1f s)' % (
            sum(r['otp'] for r in again['results']) / again['wall_s'], again['wall_s']))
        print('  HAProxy answers by status %s; requests redispatched %d' % (
            json.dumps(statuses, sort_keys=True), redispatched))
        print('  503s in the replica logs from nova\'s warm-up fetches (an instance '
              'without ipa_enroll: novajoin asks glance, and the catalog has none), '
              'direct and through HAProxy: %d' % glance_503)
        print('  IPA hosts of %sk-: leaked %d, lost %d, stale DNS records %d' % (
            prefix, leaked, lost, stale))
        print('  replica b worker RSS: before %.1f MiB%s, after the fault storm %.1f MiB'
              % (rss['before'], ', after the no-fault storm %.1f' % rss['after_no_fault']
                 if 'after_no_fault' in rss else '', rss['after']))
        print('  replica b log: %s' % json.dumps(b_log, sort_keys=True))
        print(json.dumps({'scenario': 'replica', 'n': n, 'concurrency': conc,
                          'otp_pass1': otp1, 'otp_pass2': otp2, 'changed_otps': changed,
                          'killed_after': by_victim, 'late_kill': late,
                          'down_s': down_s, 'rate': rate, 'no_fault_rate': base_rate,
                          'ratio': rate / base_rate if base else None,
                          'leaked': leaked, 'lost': lost, 'stale_dns': stale,
                          'haproxy_statuses': statuses, 'redispatched': redispatched,
                          'warmup_glance_503': glance_503,
                          'rss_mib': rss}), flush=True)
    finally:
        if storm is not None and storm.poll() is None:
            storm.kill()
            storm.wait()
        if lb:
            lb.stop()
        for proc, _ in servers.values():
            proc.stop()
        remove_hosts(admin, prefix)


# -- 2. an IPA endpoint lost ------------------------------------------------------

class CountingForwarder(peers.TCPForwarder):
    """peers.TCPForwarder that counts the connections it relays."""

    def __init__(self, target):
        super().__init__(target)
        self.connections = 0

    def _pump(self, src, dst):
        with self._lock:
            self.connections += 0.5         # two pumps per connection
        peers.TCPForwarder._pump(src, dst)


class Fetcher:
    """Vendordata fetches as nova sends them (test_faults.fetch, nova's 5 s
    read timeout), each recorded: (phase, start, end, status, OTP digest)."""

    def __init__(self, url, token, names, instances):
        self.url, self.token = url, token
        self.names, self.instances = names, instances
        self.records = []
        self.lock = threading.Lock()

    def one(self, i, phase):
        start = time.time()
        digest = None
        try:
            resp = fetch(self.url, self.token, WARM_PROJECT, self.names[i],
                         self.instances[i], timeout=5)
            status = resp.status_code
            if status == 200 and resp.json().get('ipaotp'):
                digest = hashlib.sha256(resp.json()['ipaotp'].encode()).hexdigest()[:12]
        except requests.RequestException as exc:
            status = type(exc).__name__
        rec = {'i': i, 'phase': phase, 'start': start, 'end': time.time(),
               'status': status, 'digest': digest}
        with self.lock:
            self.records.append(rec)
        return rec

    def otps(self, phase=None):
        with self.lock:
            return sum(1 for r in self.records if r['digest']
                       and (phase is None or r['phase'] == phase))


def scenario_ipa(ctx):
    args, admin = ctx.args, ctx.admin
    n, m, conc = args.n, args.m, args.concurrency
    where = ctx.where('ipa')
    tag = uuid.uuid4().hex[:6]
    prefix, burst = 'fi%s' % tag, 'njbench-fi%sd-' % tag
    defaults = conf_pkg.new_conf()
    defaults([], project='novajoin', default_config_files=[])
    pace = defaults.join.answer_cache_ttl + 1     # each refetch pass asks IPA
    first = CountingForwarder(('127.0.0.1', 443)).up()
    servers = ['ipa.example.test:%d' % first.port, 'ipa.example.test']
    bus = test_notify.Bus(ctx.rabbit_url, 'fi%s' % uuid.uuid4().hex[:10])
    server = listener = None
    emitter = driver = None
    fault_over = threading.Event()
    try:
        server, url = start_server(where, 'server', ctx.ipa_env, ctx.peers_env,
                                   identity_conf(ctx.identity, ctx.ipa_env)
                                   + ['[ipa]', 'servers = %s' % ','.join(servers)],
                                   workers=1, threads=conc)
        listener = start_notify(ctx, where, 'notify', bus,
                                '[ipa]\nservers = %s\n' % ','.join(servers))
        token = nova_token(ctx.peers_env)
        warm = fetch(url, token, WARM_PROJECT, prefix + '-warm')
        if warm.status_code != 200:
            raise SystemExit('warm-up fetch %d %s' % (warm.status_code, warm.text[:300]))
        t = time.monotonic()
        instances, fqdns = create_hosts(admin, m, 'fi%sd' % tag)
        print('(ipa: created %d hosts for the delete burst in %.1f s)' % (
            m, time.monotonic() - t), flush=True)
        names = ['%s-%d' % (prefix, i) for i in range(n)]
        fetcher = Fetcher(url, token, names, [str(uuid.uuid4()) for _ in range(n)])
        notify_pid = listener.proc.proc.pid
        rss = {'before': (workers_rss(server), rss_mib(notify_pid))}
        passes = {'first': None, 'refetch': 0}

        def drive():
            with concurrent.futures.ThreadPoolExecutor(conc) as pool:
                t0 = time.time()
                list(pool.map(lambda i: fetcher.one(i, 'first'), range(n)))
                passes['first'] = (t0, time.time())
                # the guests' refetches go on while the fault lasts
                while not fault_over.wait(pace):
                    list(pool.map(lambda i: fetcher.one(i, 'refetch'), range(n)))
                    passes['refetch'] += 1
                list(pool.map(lambda i: fetcher.one(i, 'after'), range(n)))

        emit_failed = []

        def emit():
            try:
                test_notify.emit(ctx.peers_env, bus, delete_events(instances, fqdns),
                                 'versioned')
            except Exception as exc:  # noqa: BLE001 - reported by the main thread
                emit_failed.append(exc)

        # the burst first, the storm once deletes flow: both run at the fault
        burst_started = time.time()
        emitter = threading.Thread(target=emit)
        emitter.start()
        notify_env.wait_until(
            lambda: len(removals(listener.log(), burst)) >= max(1, m // 10)
            or emit_failed, args.timeout, interval=0.1, what='delete burst under way')
        if emit_failed:
            raise SystemExit('nova_emit failed: %s' % emit_failed[0])
        driver = threading.Thread(target=drive)
        driver.start()
        notify_env.wait_until(
            lambda: fetcher.otps('first') >= n * args.fault_at
            or passes['first'] is not None, args.timeout, interval=0.02,
            what='storm under way')
        first.down()                            # the first endpoint lost
        down = time.time()
        removed_at_down = len(removals(listener.log(), burst))
        samples = []
        while time.time() - down < args.fault:
            samples.append((workers_rss(server), rss_mib(notify_pid)))
            time.sleep(min(1.0, max(0.0, args.fault - (time.time() - down))))
        rss['during_end'] = (workers_rss(server), rss_mib(notify_pid))
        rss['during_max'] = (max(s[0] for s in samples), max(s[1] for s in samples))
        via_first_at_up = first.connections
        first.up()                              # and back
        up = time.time()
        fault_over.set()
        driver.join(args.timeout)
        emitter.join(args.timeout)
        try:
            notify_env.wait_until(
                lambda: len(removals(listener.log(), burst))
                + len(removals(listener.log(), burst, ALREADY)) >= m
                or count_hosts(admin, burst) == 0,
                args.timeout, interval=1.0, what='deletes done')
        except AssertionError as exc:
            print('  (%s)' % exc)
        rss['after'] = (workers_rss(server), rss_mib(notify_pid))
        via_first_after = first.connections - via_first_at_up

        recs = fetcher.records
        nlog = listener.log()
        logged = removals(nlog, burst)
        already = removals(nlog, burst, ALREADY)
        done = sorted(logged + already)
        audited = len(re.findall(r'novajoin\.host\.removed \S+: delete success of %s'
                                 % re.escape(burst), nlog))
        leaked, lost, stale = leak_counts(admin, prefix + '-', [
            '%s.%s' % (x, ctx.domain) for x in names + [prefix + '-warm']])
        burst_left = count_hosts(admin, burst)

        def window(rec):
            return ('before' if rec['start'] < down else
                    'during' if rec['start'] < up else 'after')
        by_phase = {}
        for rec in recs:
            row = by_phase.setdefault(window(rec), {'fetches': 0, '5xx': 0,
                                                    'other_errors': 0, 'otp': 0})
            row['fetches'] += 1
            if isinstance(rec['status'], int) and rec['status'] >= 500:
                row['5xx'] += 1
            elif rec['status'] != 200:
                row['other_errors'] += 1
            row['otp'] += bool(rec['digest'])
        firsts = [r for r in recs if r['phase'] == 'first']
        with_otp = {r['i'] for r in firsts if r['digest']}
        ever = {r['i'] for r in recs if r['digest']}
        digests = {}
        for rec in sorted(recs, key=lambda r: r['start']):
            if rec['digest']:
                digests.setdefault(rec['i'], set()).add(rec['digest'])
        changed = sum(1 for d in digests.values() if len(d) > 1)
        t0, t1 = passes['first']
        ok_before = [r['end'] for r in firsts if r['digest'] and r['end'] < down]
        ok_after = [r['end'] for r in firsts if r['digest'] and r['end'] >= down]
        rate_before = len(ok_before) / (down - t0) if ok_before else None
        rate_during = len(ok_after) / (t1 - down) if ok_after and t1 > down else None
        started_after = [r['end'] for r in recs if r['digest'] and r['start'] >= down]
        recover_server = min(started_after) - down if started_after else None
        gap_server = longest_gap([r['end'] for r in firsts if r['digest']], down,
                                 t1) if t1 > down else None
        gap_before = longest_gap(ok_before, t0, down) if ok_before else None
        del_times = [w for w, _ in done]
        del_after = [w for w in del_times if w >= down]
        recover_notify = min(del_after) - down if del_after else None
        del_before = [w for w in del_times if w < down]
        d_rate_before = (len(del_before) / (down - min(del_times))
                         if len(del_before) > 1 else None)
        d_rate_during = (len(del_after) / (max(del_after) - down)
                         if del_after and max(del_after) > down else None)
        srv_log, nfy_log = log_counts(server.log()), log_counts(listener.log())
        lat = [1000 * (r['end'] - r['start']) for r in firsts]

        print('== ipa: [ipa] servers = ipa.example.test:<forwarder>, ipa.example.test; '
              'storm of %d first fetches @ %d in flight (nova\'s 5 s read timeout) and a '
              'delete burst of %d; the forwarder down for %.0f s after %d OTPs, then up'
              % (n, conc, m, args.fault, int(n * args.fault_at)))
        print('  fault at +%.1f s of the storm, +%.1f s of the burst (%d of %d deletes '
              'done by then)' % (down - t0, down - burst_started, removed_at_down, m))
        print('  instances with an OTP: after the first fetch %d / %d, after all '
              'fetches %d / %d; changed OTPs %d' % (len(with_otp), n, len(ever), n,
                                                    changed))
        for phase in ('before', 'during', 'after'):
            row = by_phase.get(phase, {'fetches': 0, '5xx': 0, 'other_errors': 0,
                                       'otp': 0})
            print('  fetches started %-7s the fault: %5d, 5xx %d, other errors %d, '
                  'with an OTP %d' % (phase, row['fetches'], row['5xx'],
                                      row['other_errors'], row['otp']))
        print('  refetch passes during the fault   %d (one every %d s: past the answer '
              'cache)' % (passes['refetch'], pace))
        print('  enrollments/s: before the fault %s (from the storm\'s start, the burst '
              'sharing IPA), from the fault to the end of the first pass %s; ratio %s' % (
                  fmt(rate_before, '%.1f'), fmt(rate_during, '%.1f'),
                  fmt(rate_during / rate_before if rate_during and rate_before
                      else None)))
        print('  first-fetch p50/p99/max           %.0f / %.0f / %.0f ms' % (
            statistics.median(lat), percentile(lat, 99), max(lat)))
        print('  server: first OTP to a fetch started after the fault %s s later; '
              'longest pause between OTPs after it %s s (before it: %s s)' % (
                  fmt(recover_server), fmt(gap_server), fmt(gap_before)))
        print('  deletes done %d / %d (IPA hosts left %d): "removed" %d, "was already '
              'removed" %d; audit host.removed events %d' % (
                  len(done), m, burst_left, len(logged), len(already), audited))
        print('  deletes/s before the fault %s, after it %s; ratio %s' % (
                  fmt(d_rate_before, '%.1f'),
                  fmt(d_rate_during, '%.1f'),
                  fmt(d_rate_during / d_rate_before if d_rate_during and d_rate_before
                      else None)))
        print('  notify: first delete after the fault %s s later' % fmt(recover_notify))
        print('  connections through the first endpoint after it came back: %d'
              % via_first_after)
        print('  IPA hosts of %s-: leaked %d, lost %d, stale DNS records %d; of the '
              'burst (%s): left %d' % (prefix, leaked, lost, stale, burst, burst_left))
        print('  RSS MiB (server worker / notify): before %.1f / %.1f, fault max %.1f / '
              '%.1f, fault end %.1f / %.1f, after %.1f / %.1f' % (
                  rss['before'] + rss['during_max'] + rss['during_end'] + rss['after']))
        print('  server log: %s' % json.dumps(srv_log, sort_keys=True))
        print('  notify log: %s' % json.dumps(nfy_log, sort_keys=True))
        print(json.dumps({'scenario': 'ipa', 'n': n, 'm': m, 'concurrency': conc,
                          'fault_s': args.fault, 'otp_first': len(with_otp),
                          'otp_any': len(ever), 'changed_otps': changed,
                          'phases': by_phase, 'rate_before': rate_before,
                          'rate_during': rate_during, 'recover_server_s': recover_server,
                          'gap_server_s': gap_server, 'deletes_done': len(done),
                          'deletes_left': burst_left, 'recover_notify_s': recover_notify,
                          'deletes_already_removed': len(already),
                          'audit_removed': audited,
                          'leaked': leaked, 'lost': lost, 'stale_dns': stale,
                          'first_endpoint_reused': via_first_after,
                          'rss_mib': rss}), flush=True)
    finally:
        fault_over.set()
        for thread in (driver, emitter):
            if thread is not None:
                thread.join(args.timeout)
        first.down()
        for proc in (listener, server):
            if proc is not None:
                proc.stop()
        close_bus(bus)
        remove_hosts(admin, prefix)
        remove_hosts(admin, burst)


# -- 3. the broker restarted ------------------------------------------------------

def queue_depth(url, name, timeout=60):
    """The pool queue's depth; a quorum queue may need a moment after a
    restart to answer."""
    return notify_env.wait_until(
        lambda: _depth_or_none(url, name), timeout, interval=0.5,
        what='queue %s answering' % name) - 1


def _depth_or_none(url, name):
    try:
        return notify_env.queue_depth(url, name) + 1    # 0 is an answer
    except Exception:  # noqa: BLE001 - not there yet
        return None


def settled_depth(url, name, least, timeout=60):
    """Wait until ``name`` holds >= least messages and stops growing."""
    notify_env.wait_until(lambda: queue_depth(url, name) >= least, timeout,
                          what='%d messages queued' % least)
    last, same = -1, 0
    while same < 3:
        depth = queue_depth(url, name)
        same = same + 1 if depth == last else 0
        last = depth
        time.sleep(0.3)
    return last


def scenario_broker(ctx):
    args, admin = ctx.args, ctx.admin
    m = args.m
    where = ctx.where('broker')
    tag = uuid.uuid4().hex[:6]
    unique = 'fb%s' % uuid.uuid4().hex[:10]
    bus = test_notify.Bus(ctx.rabbit_url, unique)
    nova_x, neutron_x = 'nova-%s' % unique, 'neutron-%s' % unique
    bus.exchanges += [nova_x, neutron_x]
    quorum = {'control_exchange': nova_x, 'rabbit_quorum_queue': True}
    listener = None
    prefixes = []
    try:
        # nova has been running: its exchange exists (durable, quorum queues)
        test_notify.emit(ctx.peers_env, bus, [test_notify.delete_event(
            str(uuid.uuid4()), 'other.example.test')], 'versioned', **quorum)
        listener = start_notify(ctx, where, 'notify', bus,
                                '[notify]\nexchanges = %s,%s\n' % (nova_x, neutron_x))
        quorum_queue = '(quorum queue)' in listener.log()
        listener.stop()

        def drain(label, restart):
            prefix = 'njbench-fb%s%s-' % (tag, label)
            prefixes.append(prefix)
            t = time.monotonic()
            instances, fqdns = create_hosts(admin, m, 'fb%s%s' % (tag, label))
            made_s = time.monotonic() - t
            test_notify.emit(ctx.peers_env, bus, delete_events(instances, fqdns),
                             'versioned', **quorum)
            row = {'created_s': made_s,
                   'depth_before': settled_depth(bus.url, bus.pool, m)}
            if restart:
                t = time.monotonic()
                restart_rabbitmq()
                row['restart_s'] = time.monotonic() - t
                row['depth_after_restart'] = queue_depth(bus.url, bus.pool)
                row['hosts_after_restart'] = count_hosts(admin, prefix)
            t = time.monotonic()
            listener.start()
            row['listening_s'] = time.monotonic() - t
            row['rss_start'] = rss_mib(listener.proc.proc.pid)
            try:
                notify_env.wait_until(lambda: len(removals(listener.log(), prefix)) >= m,
                                      args.timeout, interval=0.2, what='queue drained')
            except AssertionError as exc:
                print('  (%s)' % exc)
            row['drain_s'] = time.monotonic() - t
            row['removed'] = len(removals(listener.log(), prefix))
            row['rss_end'] = rss_mib(listener.proc.proc.pid)
            notify_env.wait_until(lambda: queue_depth(bus.url, bus.pool) == 0, 60,
                                  what='queue empty')
            row['left'] = count_hosts(admin, prefix)
            row['log'] = log_counts(listener.log())
            listener.stop()
            return row

        base = None if args.no_ceiling else drain('a', False)
        fault = drain('r', True)
        rate = fault['removed'] / fault['drain_s']
        print('== broker: novajoin-notify, quorum pool queue on durable exchanges (%s): '
              '%d deletes queued while it is stopped, RabbitMQ restarted, then it starts'
              % ('quorum queue declared' if quorum_queue else 'NO QUORUM QUEUE', m))
        if base:
            base_rate = base['removed'] / base['drain_s']
            print('  no restart (ceiling): deletes done %d / %d, left %d, drained in %.1f s '
                  '(%.1f deletes/s; start %.1f s); RSS %.1f -> %.1f MiB' % (
                      base['removed'], m, base['left'], base['drain_s'], base_rate,
                      base['listening_s'], base['rss_start'], base['rss_end']))
        print('  queue depth before the restart %d, after it %d (messages: a .start '
              'and an .end per delete)' % (
                  fault['depth_before'], fault['depth_after_restart']))
        print('  RabbitMQ restart (stop_app, start_app, await_startup) %.1f s; hosts '
              'still in IPA after it %d / %d' % (
                  fault['restart_s'], fault['hosts_after_restart'], m))
        print('  deletes done %d / %d, lost (hosts left) %d' % (
            fault['removed'], m, fault['left']))
        print('  time to drain from listener start %.1f s (start %.1f s); %.1f deletes/s'
              % (fault['drain_s'], fault['listening_s'], rate))
        if base:
            print('  ratio to the no-restart drain     %.2f' % (rate / base_rate))
        print('  notify RSS: at start %.1f MiB, after the drain %.1f MiB' % (
            fault['rss_start'], fault['rss_end']))
        print('  notify log: %s' % json.dumps(fault['log'], sort_keys=True))
        print(json.dumps({'scenario': 'broker', 'm': m, 'quorum_queue': quorum_queue,
                          'no_restart': base, 'restart': fault,
                          'ratio': rate / base_rate if base else None}), flush=True)
    finally:
        if listener is not None:
            listener.stop()
        close_bus(bus)
        for prefix in prefixes:
            remove_hosts(admin, prefix)


SCENARIOS = {'replica': scenario_replica, 'ipa': scenario_ipa,
             'broker': scenario_broker}


def drop_identity(ctx, principal):
    """Remove the controller host (and service) bench.vendordata's
    provision_identity made for this run."""
    host = principal.split('/', 1)[1].split('@')[0]
    for method, name in (('service_del', principal), ('host_del', host)):
        try:
            ctx.admin.call(method, name)
        except errors.NotFound:
            pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--scenario', choices=['all'] + sorted(SCENARIOS),
                        default='all')
    parser.add_argument('-n', type=int, default=200, help='instances in the storm')
    parser.add_argument('--concurrency', type=int, default=16,
                        help='fetches in flight (and server threads)')
    parser.add_argument('-m', type=int, default=200, help='deletes in the burst')
    parser.add_argument('--fault', type=float, default=60.0,
                        help='seconds the first IPA endpoint stays down (ipa)')
    parser.add_argument('--kill-at', type=float, default=0.25,
                        help='replica a is killed after answering this share of N')
    parser.add_argument('--fault-at', type=float, default=0.25,
                        help='IPA endpoint lost after this share of N got an OTP')
    parser.add_argument('--no-ceiling', action='store_true',
                        help='skip the no-fault runs (replica, broker)')
    parser.add_argument('--timeout', type=float, default=600,
                        help='longest wait for any one phase, s')
    add_identity_args(parser)
    args = parser.parse_args()
    env = environment(args, 'nj-faults-')
    ctx = Context(args, env)
    names = sorted(SCENARIOS, key=['replica', 'ipa', 'broker'].index) \
        if args.scenario == 'all' else [args.scenario]
    failed = []
    try:
        for name in names:
            start = time.monotonic()
            try:
                SCENARIOS[name](ctx)
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - next scenario
                failed.append(name)
                print('== %s FAILED: %s' % (name, exc))
                traceback.print_exc()
            print('(%s: %.0f s; logs in %s)' % (
                name, time.monotonic() - start, os.path.join(ctx.work, name)), flush=True)
    finally:
        if not args.keytab:
            drop_identity(ctx, ctx.identity['principal'])
    if failed:
        raise SystemExit('failed: %s' % ', '.join(failed))


if __name__ == '__main__':
    began = time.monotonic()
    main()
    print('(benchmark wall time %.0f s)' % (time.monotonic() - began))
