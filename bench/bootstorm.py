#!/usr/bin/env python3
"""Benchmark: a boot storm through real nova (DESIGN.md section 5).

N new instances (default 150) fetch vendordata at the same time, 32 in flight,
through nova 34's own DynamicVendorData code with nova's default 5 s read
timeout, against novajoin-server (gunicorn, keystonemiddleware, Kerberos) and
the real FreeIPA. Prints how many guests got no OTP (the target is none), the
enrollment rate, and that rate against the best rate the IPA reaches for the
same host_add calls made directly (2 in flight, DESIGN.md 2b).

    python bench/bootstorm.py [-n 150] [--concurrency 32] [--keytab K --principal P]
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.vendordata import add_identity_args  # noqa: E402
from bench.vendordata import environment  # noqa: E402
from bench.vendordata import percentile  # noqa: E402
from bench.vendordata import run  # noqa: E402
from bench.vendordata import stop_and_clean  # noqa: E402
from novajoin.ipa import IPAClient  # noqa: E402
from novajoin.ipa.auth import KerberosAuth  # noqa: E402
from tests.functional import peers  # noqa: E402
from tests.functional.novajoin_server import write_conf  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-n', type=int, default=150)
    parser.add_argument('--concurrency', type=int, default=32)
    parser.add_argument('--workers', type=int, default=1)
    parser.add_argument('--max-in-flight', type=int, default=2)
    add_identity_args(parser)
    args = parser.parse_args()
    ipa_env, peers_env, work, principal, keytab, admin = environment(args, 'nj-storm-')
    tag = uuid.uuid4().hex[:6]
    created = []

    # The best rate of the IPA itself for these writes: host_add, 2 in flight.
    direct = IPAClient([ipa_env['IPA_SERVER']], KerberosAuth(keytab, principal),
                       ca_file=ipa_env['IPA_CA_CERT'], max_in_flight=2, read_timeout=30)
    direct.call('ping')
    names = ['ds%s-%d.%s' % (tag, i, ipa_env['IPA_DOMAIN']) for i in range(args.n)]
    created.extend(names)
    wall_d, _, fails_d = run([(lambda n=n: direct.call(
        'host_add', n, force=True, userpassword=uuid.uuid4().hex)) for n in names], 2)
    best = args.n / wall_d

    port = peers.free_port()
    conf = pathlib.Path(work, 'join.conf')
    write_conf(conf, ipa_env, peers_env,
               ['auth_method = kerberos', 'keytab = %s' % keytab, 'principal = %s' % principal,
                'krb5_config = %s' % ipa_env['IPA_KRB5_CONFIG'],
                'max_in_flight = %d' % args.max_in_flight], port)
    conf.write_text(conf.read_text().replace('debug = true', 'debug = false').replace(
        'workers = 2', 'workers = %d' % args.workers).replace('threads = 8', 'threads = 64'))
    exe = os.path.join(os.path.dirname(sys.executable), 'novajoin-server')
    server = subprocess.Popen([exe, '--config-file', str(conf)],
                              stdout=open(os.path.join(work, 'server.log'), 'wb'),
                              stderr=subprocess.STDOUT)
    prefix = 'st%s' % tag
    created.extend('%s-%d.%s' % (prefix, i, ipa_env['IPA_DOMAIN']) for i in range(args.n))
    try:
        url = 'http://127.0.0.1:%d' % port
        peers.wait_for_http(url + '/healthcheck', 60, server)
        out = subprocess.run(
            [os.path.join(peers_env['PEERS_VENV'], 'bin', 'python'),
             str(ROOT / 'bench' / '_nova_storm.py'), '--peers', str(peers.PEERS_DIR),
             '-n', str(args.n), '--concurrency', str(args.concurrency), '--prefix', prefix,
             'join@%s/v1/' % url], capture_output=True, text=True, timeout=900)
        if out.returncode:
            raise SystemExit(out.stderr[-3000:])
        storm = json.loads(out.stdout.strip().splitlines()[-1])
        lat = [r['ms'] for r in storm['results']]
        ok = sum(r['ok'] for r in storm['results'])
        rate = ok / storm['wall_s']
        print('boot storm through nova 34 DynamicVendorData: %d instances, %d in flight, '
              'read timeout 5 s; novajoin %d worker(s), [ipa] max_in_flight=%d' % (
                  args.n, args.concurrency, args.workers, args.max_in_flight))
        print('  guests with an OTP      %d / %d   (without: %d)' % (ok, args.n, args.n - ok))
        print('  enrollments/s           %.1f   (wall %.1f s)' % (rate, storm['wall_s']))
        print('  nova call p50/p99/max   %.0f / %.0f / %.0f ms' % (
            statistics.median(lat), percentile(lat, 99), max(lat)))
        print('  IPA best (host_add, 2 in flight, direct)  %.1f/s  (failures %d)' % (
            best, len(fails_d)))
        print('  ratio storm/IPA best    %.2f' % (rate / best))
        print(json.dumps({'n': args.n, 'without_otp': args.n - ok, 'rate': rate,
                          'ipa_best': best, 'ratio': rate / best}))
    finally:
        stop_and_clean(server, admin, created)


if __name__ == '__main__':
    main()
