#!/usr/bin/env python3
"""Benchmark: finding an instance's IPA host, as the delete and update handlers do.

With N novajoin hosts in the real FreeIPA (made here, in batches, and removed
at the end), times K look-ups each of:

1. ceiling: ``host_show <fqdn>`` (the name is indexed: what a look-up by a
   key IPA indexes costs);
2. novajoin (``Hosts.owned_by``): ``host_find <uuid>
   userclass="novajoin: instance=<uuid> cloud=<id>"``: the criteria search
   (over nine attributes IPA indexes, the description among them) narrowed
   by the exact userclass key;
3. the userclass key alone (IPA 4.12 keeps no index on userclass: every
   host is read);
4. the criteria search alone (what ``owned_by`` made before the records
   moved to userclass).

Prints look-ups/s and each as a ratio of the ceiling, measured in the same
run, at every N given.

    python bench/owner_lookup.py [--hosts 500,2000] [-k 50]

Not a test: it asserts nothing about speed (it checks each look-up finds its
one host).
"""
import argparse
import pathlib
import random
import sys
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from novajoin.hosts import records  # noqa: E402
from novajoin.ipa import IPAClient  # noqa: E402
from novajoin.ipa.auth import PasswordAuth  # noqa: E402
from tests.functional import peers  # noqa: E402

CLOUD = records.Cloud('bench')


def create(ipa, token, start, count):
    made = []
    for first in range(start, start + count, 100):
        calls = []
        for i in range(first, min(start + count, first + 100)):
            instance = str(uuid.uuid4())
            fqdn = 'njlk-%s-%d.example.test' % (token, i)
            values = CLOUD.owner_values(instance, 'bench-project')
            calls.append(('host_add', [fqdn], {'force': True,
                                               'description': values[0],
                                               'userclass': values}))
            made.append((instance, fqdn))
        for result in ipa.batch(calls):
            if isinstance(result, Exception):
                raise result
    return made


def timed(label, sample, lookup, ceiling=None):
    start = time.monotonic()
    for instance, fqdn in sample:
        found = lookup(instance, fqdn)
        if found != [fqdn]:
            raise SystemExit('%s: looked up %s, found %s' % (label, fqdn, found))
    rate = len(sample) / (time.monotonic() - start)
    ratio = '' if ceiling is None else '   %.2f of the ceiling' % (rate / ceiling)
    print('  %-52s %7.1f look-ups/s%s' % (label, rate, ratio))
    return rate


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--hosts', default='500,2000',
                        help='numbers of novajoin hosts to measure at')
    parser.add_argument('-k', type=int, default=50, help='look-ups per kind')
    args = parser.parse_args()
    env = peers.read_env_file(peers.IPA_DIR / 'ipa.env')
    ipa = IPAClient([env['IPA_SERVER']], PasswordAuth(env['IPA_ADMIN_USER'],
                                                      env['IPA_ADMIN_PASSWORD']),
                    ca_file=env['IPA_CA_CERT'], read_timeout=120)
    token = uuid.uuid4().hex[:8]
    made = []
    try:
        for target in sorted(int(n) for n in args.hosts.split(',')):
            made += create(ipa, token, len(made), target - len(made))
            sample = random.sample(made, min(args.k, len(made)))
            print('%d novajoin hosts of this run in IPA:' % len(made))

            def by_name(instance, fqdn):
                return ipa.call('host_show', fqdn)['result']['fqdn']

            def by_both(instance, fqdn):
                return [h['fqdn'][0] for h in ipa.call(
                    'host_find', instance, sizelimit=0,
                    userclass=CLOUD.instance_index(instance))['result']]

            def by_index(instance, fqdn):
                return [h['fqdn'][0] for h in ipa.call(
                    'host_find', sizelimit=0,
                    userclass=CLOUD.instance_index(instance))['result']]

            def by_criteria(instance, fqdn):
                return [h['fqdn'][0] for h in ipa.call(
                    'host_find', instance, sizelimit=0)['result']]

            ceiling = timed('ceiling: host_show <fqdn>', sample, by_name)
            timed('novajoin: host_find <uuid> userclass=<key>', sample,
                  by_both, ceiling)
            timed('host_find userclass=<key> alone', sample, by_index,
                  ceiling)
            timed('host_find <uuid> alone (criteria search)', sample,
                  by_criteria, ceiling)
    finally:
        for first in range(0, len(made), 100):
            ipa.batch([('host_del', [fqdn], {})
                       for _, fqdn in made[first:first + 100]])


if __name__ == '__main__':
    main()
