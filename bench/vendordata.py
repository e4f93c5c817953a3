#!/usr/bin/env python3
"""Benchmark: enrollments through novajoin-server vs the same IPA calls made directly.

Against the real FreeIPA of ../shared/ipa and the real keystone of ../shared/peers:
- novajoin: POST /v1/ (nova's body, nova's keystone token) to novajoin-server under
  gunicorn with keystonemiddleware, N new instances, at concurrency 1 and 16;
- direct: the call novajoin makes for a new host (host_add with the OTP, class
  and owner record) from one IPAClient, same auth, same concurrency, no cap on
  calls in flight;
- repeated fetches of the hosts just created (IPA calls per fetch).
Prints enrollments/s, p50/p99 ms, IPA calls and writes per enrollment and the
novajoin/direct ratio. Not a test: it asserts nothing about speed.

    python bench/vendordata.py [-n 200] [--concurrency 1 16] [--keytab K --principal P]
"""
import argparse
import concurrent.futures
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import requests

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from novajoin.hosts import records  # noqa: E402
from novajoin.ipa import IPAClient  # noqa: E402
from novajoin.ipa.auth import KerberosAuth  # noqa: E402
from novajoin.ipa.auth import PasswordAuth  # noqa: E402
from novajoin.ipa.client import READ_METHODS  # noqa: E402
from tests.functional import peers  # noqa: E402

SECRET = 'bench-otp-secret-0123456789abcdefghijklmnop'


def percentile(values, pct):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(pct / 100.0 * (len(values) - 1))))]


def run(jobs, concurrency):
    """(wall seconds, latencies ms, failures) of running jobs."""
    latencies, failures = [], []

    def timed(job):
        start = time.monotonic()
        try:
            job()
        except Exception as exc:  # noqa: BLE001 - counted, reported
            failures.append(repr(exc)[:200])
        return (time.monotonic() - start) * 1000
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(timed, jobs))
    return time.monotonic() - start, latencies, failures


class Tally:
    """Wall time, latencies, failures and IPA calls over several chunks."""

    def __init__(self):
        self.wall, self.lat, self.fails, self.n = 0.0, [], [], 0
        self.calls = self.writes = 0.0

    def add(self, outcome, calls):
        wall, lat, fails = outcome
        self.wall += wall
        self.lat += lat
        self.fails += fails
        self.n += len(lat)
        self.calls += sum(calls.values())
        self.writes += sum(v for k, v in calls.items() if k not in READ_METHODS)

    def rate(self):
        return self.n / self.wall

    def per(self, what):
        return getattr(self, what) / self.n

    def line(self, label):
        return '%-34s %8.1f %8.0f %8.0f %10.2f %10.2f %5d' % (
            label, self.rate(), statistics.median(self.lat), percentile(self.lat, 99),
            self.per('calls'), self.per('writes'), len(self.fails))


def ipa_call_counts(url):
    """{method: calls} summed over all workers, from /metrics."""
    text = requests.get(url + '/metrics', timeout=10).text
    counts = {}
    for method, value in re.findall(
            r'^novajoin_ipa_calls_total\{method="([^"]+)",outcome="[^"]+"\} (\S+)$',
            text, re.M):
        counts[method] = counts.get(method, 0) + float(value)
    return counts


def diff(after, before):
    return {k: after.get(k, 0) - before.get(k, 0) for k in after}


def nova_token(peers_env):
    resp = requests.post(peers_env['KEYSTONE_URL'] + '/auth/tokens', json={'auth': {
        'identity': {'methods': ['password'], 'password': {'user': {
            'name': 'nova', 'domain': {'id': 'default'},
            'password': peers_env['NOVA_PASSWORD']}}},
        'scope': {'project': {'name': 'service', 'domain': {'id': 'default'}}}}},
        timeout=30)
    resp.raise_for_status()
    return resp.headers['X-Subject-Token']


def provision_identity(ipa_env, workdir):
    """A least-privilege keytab for novajoin, made by novajoin-ipa-setup."""
    keytab = os.path.join(workdir, 'novajoin.keytab')
    exe = os.path.join(os.path.dirname(sys.executable), 'novajoin-ipa-setup')
    pw = os.path.join(workdir, 'admin.pw')
    with open(pw, 'w') as f:
        f.write(ipa_env['IPA_ADMIN_PASSWORD'])
    # A controller host of the benchmark's own: fetching a keytab rotates the
    # principal's keys, which must not break anybody else's copy.
    host = 'njbench-%s.%s' % (uuid.uuid4().hex[:8], ipa_env['IPA_DOMAIN'])
    subprocess.run([exe, '--server', ipa_env['IPA_SERVER'], '--hostname', host, '--add-host',
                    '--ca-file', ipa_env['IPA_CA_CERT'], '--password-file', pw,
                    '--krb5-config', ipa_env['IPA_KRB5_CONFIG'], '--keytab', keytab,
                    '--getkeytab', ipa_env['IPA_GETKEYTAB'], '--user', 'root'],
                   check=True, stdout=subprocess.DEVNULL)
    return 'nova/%s@%s' % (host, ipa_env['IPA_REALM']), keytab


def add_identity_args(parser):
    parser.add_argument('--keytab', help='an existing novajoin keytab (default: provision one)')
    parser.add_argument('--principal', help='its principal')


def environment(args, prefix):
    """(ipa_env, peers_env, work dir, principal, keytab, admin IPA client)."""
    ipa_env, peers_env = peers.ipa_env(), peers.peers_env()
    work = tempfile.mkdtemp(prefix=prefix)
    if args.keytab:
        principal, keytab = args.principal, args.keytab
    else:
        principal, keytab = provision_identity(ipa_env, work)
    os.environ['KRB5_CONFIG'] = ipa_env['IPA_KRB5_CONFIG']
    admin = IPAClient([ipa_env['IPA_SERVER']], PasswordAuth(
        ipa_env['IPA_ADMIN_USER'], ipa_env['IPA_ADMIN_PASSWORD']),
        ca_file=ipa_env['IPA_CA_CERT'], read_timeout=60)
    return ipa_env, peers_env, work, principal, keytab, admin


def stop_and_clean(server, admin, created):
    """Stop novajoin-server and remove every host the benchmark created."""
    server.terminate()
    server.wait(30)
    for i in range(0, len(created), 50):
        admin.batch([('host_del', [h], {}) for h in created[i:i + 50]])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-n', type=int, default=200)
    parser.add_argument('--concurrency', type=int, nargs='+', default=[1, 16])
    parser.add_argument('--rounds', type=int, default=4,
                        help='novajoin and direct take turns in this many chunks')
    parser.add_argument('--workers', type=int, default=1,
                        help='gunicorn workers (novajoin\'s default: 1)')
    parser.add_argument('--max-in-flight', type=int, default=2,
                        help='novajoin [ipa] max_in_flight (per worker)')
    add_identity_args(parser)
    args = parser.parse_args()
    ipa_env, peers_env, work, principal, keytab, admin = environment(args, 'nj-bench-')

    # novajoin-server under gunicorn, as deployed
    port = peers.free_port()
    conf = pathlib.Path(work, 'join.conf')
    sys.path.insert(0, str(ROOT / 'tests' / 'functional'))
    from tests.functional.novajoin_server import write_conf
    write_conf(conf, ipa_env, peers_env,
               ['auth_method = kerberos', 'keytab = %s' % keytab,
                'principal = %s' % principal,
                'krb5_config = %s' % ipa_env['IPA_KRB5_CONFIG'],
                'max_in_flight = %d' % args.max_in_flight], port)
    text = conf.read_text().replace('debug = true', 'debug = false').replace(
        'workers = 2', 'workers = %d' % args.workers).replace('threads = 8', 'threads = 32')
    conf.write_text(text)
    mpdir = tempfile.mkdtemp(prefix='nj-prom-')
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=mpdir)
    exe = os.path.join(os.path.dirname(sys.executable), 'novajoin-server')
    server = subprocess.Popen([exe, '--config-file', str(conf)], env=env,
                              stdout=open(os.path.join(work, 'server.log'), 'wb'),
                              stderr=subprocess.STDOUT)
    url = 'http://127.0.0.1:%d' % port
    created = []
    try:
        peers.wait_for_http(url + '/healthcheck', 60, server)
        token = nova_token(peers_env)
        http = requests.Session()
        http.headers['X-Auth-Token'] = token
        project = uuid.uuid4().hex
        tag = uuid.uuid4().hex[:6]
        warm = {'project-id': project, 'instance-id': str(uuid.uuid4()), 'image-id': '',
                'user-data': None, 'hostname': 'warm-' + tag,
                'metadata': {'ipa_enroll': 'true'}, 'boot-roles': ''}
        # the token cache, the ticket and the session cookie, in every worker:
        # concurrent fresh connections, so that every worker gets some
        warmers = [requests.Session() for _ in range(args.workers * 8)]
        wall, _, fails = run([lambda w=w: w.post(url + '/v1/', json=warm, headers={
            'X-Auth-Token': token}, timeout=30).raise_for_status() for w in warmers],
            len(warmers))
        if fails:
            raise SystemExit('warm-up failed: %s' % fails[0])
        created.append('warm-%s.%s' % (tag, ipa_env['IPA_DOMAIN']))
        direct = IPAClient([ipa_env['IPA_SERVER']], KerberosAuth(keytab, principal),
                           ca_file=ipa_env['IPA_CA_CERT'], max_in_flight=64,
                           read_timeout=30)
        direct.call('ping')
        print('novajoin-server: %d gunicorn workers x 32 threads, [ipa] max_in_flight=%d '
              'per worker; IPA: %s (%s WSGI processes)' % (
                  args.workers, args.max_in_flight, ipa_env['IPA_SERVER'],
                  ipa_env.get('IPA_WSGI_PROCESSES', '?')))
        results = {}
        # novajoin's own cost: a request that needs no IPA call (non-enrolling)
        plain = dict(warm, metadata={'ipa_enroll': 'false'})
        _, lat_o, _ = run([lambda: http.post(url + '/v1/', json=plain, timeout=30)] * 100, 1)
        _, lat_h, _ = run([lambda: http.get(url + '/healthcheck', timeout=30)] * 100, 1)
        print('novajoin overhead: non-enrolling POST /v1/ (keystonemiddleware, policy, Flask) '
              'p50 %.1f ms; bare HTTP round trip (/healthcheck) p50 %.1f ms' % (
                  statistics.median(lat_o), statistics.median(lat_h)))
        print('%-34s %8s %8s %8s %10s %10s %5s' % (
            'run', 'enroll/s', 'p50 ms', 'p99 ms', 'IPA calls', 'IPA writes', 'fail'))
        for conc in args.concurrency:
            bodies, names = [], []
            for i in range(args.n):
                name = 'nj%s-%d-%d' % (tag, conc, i)
                created.append('%s.%s' % (name, ipa_env['IPA_DOMAIN']))
                bodies.append({'project-id': project, 'instance-id': str(uuid.uuid4()),
                               'image-id': '', 'user-data': None, 'hostname': name,
                               'metadata': {'ipa_enroll': 'true', 'ipa_hostclass': 'bench'},
                               'boot-roles': 'member'})
                names.append('dj%s-%d-%d.%s' % (tag, conc, i, ipa_env['IPA_DOMAIN']))
            created.extend(names)

            def post(b):
                def job():
                    resp = http.post(url + '/v1/', json=b, timeout=30)
                    if resp.status_code != 200 or 'ipaotp' not in resp.json():
                        raise RuntimeError('HTTP %d %s' % (resp.status_code, resp.text[:100]))
                return job

            def add(fqdn):
                def job():   # what novajoin sends IPA for a first fetch
                    values = records.owner_values(str(uuid.uuid4()), project,
                                                  'default')
                    direct.call('host_add', fqdn, force=True, userpassword=uuid.uuid4().hex,
                                userclass=['bench'] + values, description=values[0])
                return job

            # IPA's speed drifts over minutes: novajoin and direct take turns,
            # chunk by chunk, so drift weighs on both alike.
            rows = {'nj': Tally(), 'rep': Tally(), 'dj': Tally()}
            chunk = max(1, args.n // args.rounds)
            for i in range(0, args.n, chunk):
                part = slice(i, i + chunk)
                before = ipa_call_counts(url)
                rows['nj'].add(run([post(b) for b in bodies[part]], conc),
                               diff(ipa_call_counts(url), before))
                before = ipa_call_counts(url)
                rows['rep'].add(run([post(b) for b in bodies[part]], conc),
                                diff(ipa_call_counts(url), before))
                stats_before = dict(direct.stats)
                rows['dj'].add(run([add(n) for n in names[part]], conc),
                               {k: direct.stats[k] - stats_before.get(k, 0)
                                for k in direct.stats if k not in ('round_trips', 'writes')})
            for key, label in (('nj', 'novajoin  c=%d'), ('rep', 'novajoin  c=%d repeated fetch'),
                               ('dj', 'direct    c=%d')):
                print(rows[key].line(label % conc))
            nj, dj = rows['nj'].rate(), rows['dj'].rate()
            print('%-34s %8.2f' % ('ratio novajoin/direct c=%d' % conc, nj / dj))
            results[conc] = {'novajoin_per_s': nj, 'direct_per_s': dj, 'ratio': nj / dj,
                             'repeated_ipa_calls': rows['rep'].per('calls'),
                             'repeated_ipa_writes': rows['rep'].per('writes'),
                             'failures': sum(len(t.fails) for t in rows.values())}
            for f in sum((t.fails for t in rows.values()), [])[:3]:
                print('   failure: %s' % f)
        print(json.dumps({'n': args.n, 'results': results}))
    finally:
        stop_and_clean(server, admin, created)


if __name__ == '__main__':
    main()
