#!/usr/bin/env python3
"""Benchmark: a boot storm through real nova (issue 9, DESIGN.md section 5).

N new instances (default 500) fetch vendordata at once, 64 in flight, through
nova 34's own DynamicVendorData code with nova's default 5 s read timeout,
against novajoin-server as deployed (gunicorn, keystonemiddleware, Kerberos,
the service's default workers/threads/[ipa] settings) and the real FreeIPA.
Then the same N instances fetch again (refetch).

In the same run, the ceilings it is judged against:
- the best bare per-call rate of the host_add novajoin makes for a new host
  (one IPAClient, batching off, 1, 2 and 4 in flight; measured before and
  after the storm, best kept: IPA drifts),
- the bare rate of the same host_adds batched (the group commit alone),
- nova's own path with a trivial keystone-authenticated target
  (../shared/peers/authed_target.py, port 8902; started here if down).

Prints enrollments/s and its ratio to the per-call ceiling, p50/p99, guests
without an OTP after their first fetch, OTPs that changed on refetch, the
refetch rate and its ratio to nova's own path, and the server's group-commit
figures from /metrics. Not a test: it asserts nothing about speed.

    python bench/bootstorm.py [-n 500] [--concurrency 64] [--keytab K --principal P]
"""
import argparse
import json
import os
import pathlib
import re
import resource
import socket
import statistics
import subprocess
import sys
import time
import uuid

import requests

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.vendordata import add_identity_args  # noqa: E402
from bench.vendordata import environment  # noqa: E402
from bench.vendordata import percentile  # noqa: E402
from bench.vendordata import run  # noqa: E402
from bench.vendordata import stop_and_clean  # noqa: E402
from novajoin import conf as conf_pkg  # noqa: E402
from novajoin.hosts import records  # noqa: E402
from novajoin.ipa import IPAClient  # noqa: E402
from novajoin.ipa.auth import KerberosAuth  # noqa: E402
from tests.functional import peers  # noqa: E402
from tests.functional.novajoin_server import write_conf  # noqa: E402


def cpu_seconds(pid):
    """User + system CPU seconds of a process and its children so far."""
    try:
        fields = pathlib.Path('/proc/%d/stat' % pid).read_text().rsplit(')', 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf('SC_CLK_TCK')


def children_by_parent():
    """{pid: [pids of its live children]}, read from /proc."""
    children = {}
    for proc in pathlib.Path('/proc').iterdir():
        if proc.name.isdigit():
            try:
                ppid = int((proc / 'stat').read_text().rsplit(')', 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(proc.name))
    return children


def tree_cpu_seconds(pid):
    """CPU seconds of a process and its live descendants (gunicorn workers)."""
    children = children_by_parent()
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += cpu_seconds(p)
        todo.extend(children.get(p, []))
    return total


def ipa_cpu_seconds():
    """CPU seconds of the IPA peer's processes (Apache/WSGI, 389-ds, KDC)."""
    total = 0.0
    for proc in pathlib.Path('/proc').iterdir():
        if not proc.name.isdigit():
            continue
        try:
            comm = (proc / 'comm').read_text().strip()
        except OSError:
            continue
        if comm in ('apache2', 'httpd', 'ns-slapd', 'krb5kdc', 'wsgi:ipa'):
            total += cpu_seconds(int(proc.name))
    return total


def bare_rates(ipa_env, keytab, principal, tag, n, created):
    """host_add/s of novajoin's first-fetch call made directly: per call at
    1, 2, 4 in flight, and batched (2 slots, group commit, 64 callers)."""
    def client(in_flight, batch):
        c = IPAClient([ipa_env['IPA_SERVER']], KerberosAuth(keytab, principal),
                      ca_file=ipa_env['IPA_CA_CERT'], max_in_flight=in_flight,
                      max_batch=batch, read_timeout=30)
        c.call('ping')
        return c

    def adds(c, label):
        names = ['%s%s-%d.%s' % (label, tag, i, ipa_env['IPA_DOMAIN']) for i in range(n)]
        created.extend(names)
        project = uuid.uuid4().hex

        def add(fqdn):
            values = records.owner_values(str(uuid.uuid4()), project, 'default')
            c.call('host_add', fqdn, force=True, userpassword=uuid.uuid4().hex,
                   userclass=values, description=values[0], no_members=True)
        return [lambda f=f: add(f) for f in names]
    rates = {}
    for in_flight in (1, 2, 4):
        wall, _, fails = run(adds(client(in_flight, 1), 'b%d' % in_flight), in_flight)
        if fails:
            raise SystemExit('bare host_add failed: %s' % fails[0])
        rates['per_call_%d' % in_flight] = n / wall
    ipa0 = ipa_cpu_seconds()
    wall, _, fails = run(adds(client(2, 10), 'bb'), 64)
    if fails:
        raise SystemExit('bare batched host_add failed: %s' % fails[0])
    rates['batched'] = n / wall
    # IPA's CPU per host_add when nothing else runs: set against the
    # storm's, it tells whether IPA works harder there or only gets less CPU
    rates['batched_ipa_ms'] = 1000 * (ipa_cpu_seconds() - ipa0) / n
    return rates


def ensure_authed_target(peers_env):
    port = int(peers_env.get('AUTHED_PORT', 8902))
    with socket.socket() as s:
        if s.connect_ex(('127.0.0.1', port)) == 0:
            return port
    subprocess.run([str(peers.PEERS_DIR / 'start_bg.sh'), 'authed_target',
                    os.path.join(peers_env['PEERS_VENV'], 'bin', 'python'),
                    str(peers.PEERS_DIR / 'authed_target.py'), '--port', str(port)],
                   check=True, capture_output=True,
                   env=dict(os.environ, **{k: v for k, v in peers_env.items()
                                           if k in ('KEYSTONE_URL', 'VENDORDATA_PASSWORD')}))
    peers.wait_for_http('http://127.0.0.1:%d/' % port, 60)
    return port


def nova_storm(peers_env, target, n, concurrency, prefix, passes):
    out = subprocess.run(
        [os.path.join(peers_env['PEERS_VENV'], 'bin', 'python'),
         str(ROOT / 'tests' / 'functional' / 'nova_storm.py'), '--peers', str(peers.PEERS_DIR),
         '-n', str(n), '--concurrency', str(concurrency), '--prefix', prefix,
         '--passes', str(passes), target], capture_output=True, text=True, timeout=1800)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])['passes']


def group_commit_figures(url):
    text = requests.get(url + '/metrics', timeout=10).text

    def value(name):
        found = re.findall(r'^%s(?:\{[^}]*\})? (\S+)$' % re.escape(name), text, re.M)
        return sum(float(v) for v in found)
    trips = value('novajoin_ipa_round_trip_commands_count')
    return {'round_trips': trips,
            'commands_per_trip': value('novajoin_ipa_round_trip_commands_sum') / (trips or 1),
            'mean_queue_wait_ms': 1000 * value('novajoin_ipa_queue_wait_seconds_sum') / (
                value('novajoin_ipa_queue_wait_seconds_count') or 1),
            'shed': value('novajoin_shed_total'),
            'answers_reused': value('novajoin_answers_reused_total')}


def main():
    defaults = conf_pkg.new_conf()
    defaults([], project='novajoin', default_config_files=[])
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-n', type=int, default=500)
    parser.add_argument('--concurrency', type=int, default=64)
    parser.add_argument('--ceiling-n', type=int, default=200,
                        help='hosts per bare-IPA ceiling measurement')
    parser.add_argument('--workers', type=int, default=defaults.api.workers)
    parser.add_argument('--threads', type=int, default=defaults.api.threads)
    parser.add_argument('--max-in-flight', type=int, default=defaults.ipa.max_in_flight)
    parser.add_argument('--max-batch', type=int, default=defaults.ipa.max_batch)
    parser.add_argument('--answer-cache-ttl', type=int,
                        default=defaults.join.answer_cache_ttl)
    add_identity_args(parser)
    args = parser.parse_args()
    ipa_env, peers_env, work, principal, keytab, admin = environment(args, 'nj-storm-')
    tag = uuid.uuid4().hex[:6]
    created = []
    server = None
    try:
        before = bare_rates(ipa_env, keytab, principal, tag + 'x', args.ceiling_n, created)

        port = peers.free_port()
        conf = pathlib.Path(work, 'join.conf')
        write_conf(conf, ipa_env, peers_env,
                   ['auth_method = kerberos', 'keytab = %s' % keytab,
                    'principal = %s' % principal,
                    'krb5_config = %s' % ipa_env['IPA_KRB5_CONFIG'],
                    'max_in_flight = %d' % args.max_in_flight,
                    'max_batch = %d' % args.max_batch], port)
        text = conf.read_text().replace('debug = true', 'debug = false').replace(
            'workers = 2', 'workers = %d' % args.workers).replace(
            'threads = 8', 'threads = %d' % args.threads)
        text = text.replace('[join]\n', '[join]\nanswer_cache_ttl = %d\n'
                            % args.answer_cache_ttl)
        conf.write_text(text)
        exe = os.path.join(os.path.dirname(sys.executable), 'novajoin-server')
        server = subprocess.Popen([exe, '--config-file', str(conf)],
                                  stdout=open(os.path.join(work, 'server.log'), 'wb'),
                                  stderr=subprocess.STDOUT)
        prefix = 'st%s' % tag
        created.extend('%s-%d.%s' % (prefix, i, ipa_env['IPA_DOMAIN']) for i in range(args.n))
        url = 'http://127.0.0.1:%d' % port
        peers.wait_for_http(url + '/healthcheck', 60, server)
        cpu0, ipa0 = tree_cpu_seconds(server.pid), ipa_cpu_seconds()
        storm, refetch = nova_storm(peers_env, 'join@%s/v1/' % url, args.n,
                                    args.concurrency, prefix, 2)
        cpu = {'novajoin': tree_cpu_seconds(server.pid) - cpu0,
               'ipa': ipa_cpu_seconds() - ipa0,
               'nova': resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
               + resource.getrusage(resource.RUSAGE_CHILDREN).ru_stime}
        figures = group_commit_figures(url)

        after = bare_rates(ipa_env, keytab, principal, tag + 'y', args.ceiling_n, created)
        authed = ensure_authed_target(peers_env)
        (trivial,) = nova_storm(peers_env, 'join@http://127.0.0.1:%d/' % authed, args.n,
                                args.concurrency, 'tr' + tag, 1)

        per_call = max(v for rates in (before, after) for k, v in rates.items()
                       if k.startswith('per_call'))
        batched = max(before['batched'], after['batched'])
        res = storm['results']
        with_otp = sum(r['otp'] for r in res)
        rate = with_otp / storm['wall_s']
        lat = [r['ms'] for r in res]
        changed = sum(1 for a, b in zip(res, refetch['results'])
                      if a['digest'] and b['digest'] and a['digest'] != b['digest'])
        refetch_ok = sum(r['otp'] for r in refetch['results'])
        refetch_rate = refetch_ok / refetch['wall_s']
        trivial_rate = sum(r['ok'] for r in trivial['results']) / trivial['wall_s']
        rlat = [r['ms'] for r in refetch['results']]
        print('boot storm through nova 34 DynamicVendorData: %d instances, %d in flight, '
              'read timeout 5 s' % (args.n, args.concurrency))
        print('novajoin-server: %d worker(s) x %d threads; [ipa] max_in_flight=%d max_batch=%d; '
              '[join] answer_cache_ttl=%d' % (args.workers, args.threads, args.max_in_flight,
                                              args.max_batch, args.answer_cache_ttl))
        print('  bare IPA host_add per call, 1/2/4 in flight  before %s  after %s /s' % (
            '/'.join('%.1f' % before['per_call_%d' % i] for i in (1, 2, 4)),
            '/'.join('%.1f' % after['per_call_%d' % i] for i in (1, 2, 4))))
        print('  bare IPA host_add batched (2 x 10)            before %.1f  after %.1f /s' % (
            before['batched'], after['batched']))
        print('  guests with an OTP after the first fetch      %d / %d   (without: %d)' % (
            with_otp, args.n, args.n - with_otp))
        print('  enrollments/s                                 %.1f  (wall %.1f s)' % (
            rate, storm['wall_s']))
        print('  ratio to the best per-call ceiling (%.1f/s)   %.2f   (batched ceiling: %.2f)' % (
            per_call, rate / per_call, rate / batched))
        print('  nova call p50/p99/max                         %.0f / %.0f / %.0f ms' % (
            statistics.median(lat), percentile(lat, 99), max(lat)))
        print('  refetch: same OTP %d, changed OTPs %d, without an OTP %d' % (
            refetch_ok - changed, changed, args.n - refetch_ok))
        print('  refetch/s                                     %.1f  (p50/p99 %.0f / %.0f ms)' % (
            refetch_rate, statistics.median(rlat), percentile(rlat, 99)))
        print('  nova\'s own path, trivial authed target /s     %.1f' % trivial_rate)
        print('  ratio refetch / nova\'s own path               %.2f' % (
            refetch_rate / trivial_rate))
        print('  group commit: %d round trips, %.1f commands each; mean queue wait %.0f ms; '
              'shed %d; answers reused %d' % (
                  figures['round_trips'], figures['commands_per_trip'],
                  figures['mean_queue_wait_ms'], figures['shed'], figures['answers_reused']))
        print('  CPU seconds over both passes: novajoin-server %.1f, IPA (httpd, 389-ds, KDC) '
              '%.1f, nova and its callers %.1f; wall %.1f s on %d cores' % (
                  cpu['novajoin'], cpu['ipa'], cpu['nova'],
                  storm['wall_s'] + refetch['wall_s'], os.cpu_count()))
        # the refetches reuse the answers given (ask IPA nothing): IPA's CPU
        # over both passes is the first fetches'
        print('  IPA CPU per enrollment: storm %.1f ms, bare batched %.1f / %.1f ms '
              '(before / after)' % (1000 * cpu['ipa'] / args.n, before['batched_ipa_ms'],
                                    after['batched_ipa_ms']))
        print(json.dumps({'n': args.n, 'concurrency': args.concurrency,
                          'without_otp': args.n - with_otp, 'rate': rate,
                          'per_call_ceiling': per_call, 'batched_ceiling': batched,
                          'ratio': rate / per_call, 'p99_ms': percentile(lat, 99),
                          'changed_otps': changed, 'refetch_rate': refetch_rate,
                          'trivial_rate': trivial_rate,
                          'refetch_ratio': refetch_rate / trivial_rate,
                          'group_commit': figures}))
    finally:
        if server is None:
            for i in range(0, len(created), 50):
                admin.batch([('host_del', [h], {}) for h in created[i:i + 50]])
        else:
            stop_and_clean(server, admin, created)


if __name__ == '__main__':
    start = time.monotonic()
    main()
    print('(benchmark wall time %.0f s)' % (time.monotonic() - start))
