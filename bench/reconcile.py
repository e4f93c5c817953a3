#!/usr/bin/env python3
"""Benchmark: novajoin-reconcile --dry-run at cloud scale (issue 9).

Fills the real FreeIPA with novajoin hosts of a cloud of its own (default
1,000, then 5,000, then 20,000 in all), 50 of them owned by servers that the
real nova compute API lists (../shared/peers --with-nova-api), the rest
orphans: servers made and deleted in that nova, as a missed delete leaves
them (``--archived F``: that fraction has no row left in nova, archived or
purged, and needs a GET each). At each size it runs the real
``novajoin-reconcile --dry-run``
(novajoin's keytab, its IPA role) as an operator would, and prints:
- its wall time and peak RSS, and whether it exited 0, planned every orphan
  and planned no live host;
- IPA's own ``host_find --pkey-only`` listing of the same hosts, timed in
  the same run, and the ratio to it;
- the same dry run with ``[notify] read_from_ldap = false`` (one
  JSON-RPC host_find, [ipa] read_timeout 4 s as deployed) for comparison;
- with ``--baseline DIR`` (a checkout of other novajoin code, e.g. ``git
  worktree add /tmp/base HEAD~1``), that code's dry run and this code's
  again, in turns (``--repeat`` times), over the same hosts, so that a change
  is measured against what it replaces in one run.
Everything it made is removed at the end. Not a test: it asserts nothing.

    python bench/reconcile.py [--sizes 1000 5000 20000] [--live 50]
                              [--archived 0.0] [--baseline DIR [--repeat 2]]

The deleted servers' rows stay in the nova peer's database (as in nova
until ``nova-manage db archive_deleted_rows``).
"""
import argparse
import concurrent.futures
import json
import os
import pathlib
import re
import subprocess
import sys
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.vendordata import add_identity_args  # noqa: E402
from bench.vendordata import environment  # noqa: E402
from novajoin.hosts import records  # noqa: E402
from novajoin.ipa import IPAClient  # noqa: E402
from novajoin.ipa import errors  # noqa: E402
from tests.functional import nova_api  # noqa: E402

PROJECT = 'bench0project0000000000000000001'


def fill(admin, cloud, names, instances):
    """Add the hosts, 50 per IPA batch, two batches in flight."""
    def add(chunk):
        calls = []
        for fqdn, instance in chunk:
            values = cloud.owner_values(instance, PROJECT)
            calls.append(('host_add', [fqdn], {
                'force': True, 'no_members': True, 'userclass': values,
                'description': values[0]}))
        for result in admin.batch(calls):
            if isinstance(result, Exception) and not isinstance(
                    result, errors.DuplicateEntry):
                raise result
    pairs = list(zip(names, instances))
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        list(pool.map(add, [pairs[i:i + 50] for i in range(0, len(pairs), 50)]))


def deleted_in_nova(servers, tag, start, n):
    """``n`` servers made and deleted in the real nova: their ids."""
    seed = [{'uuid': str(uuid.uuid4()), 'project': 'demo',
             'name': 'rb%s-gone%d' % (tag, start + i)} for i in range(n)]
    for i in range(0, n, 1000):
        chunk = seed[i:i + 1000]
        ids = [s['uuid'] for s in chunk]
        servers.created.update(ids)     # cleaned up if the delete fails
        servers._seed('create', '--json', json.dumps(chunk))
        servers._seed('delete', *ids)
        servers.created.difference_update(ids)
    return [s['uuid'] for s in seed]


def remove(ipa, names):
    """Delete the hosts, 50 per batch; a failed batch is tried again once."""
    left = []
    for i in range(0, len(names), 50):
        chunk = names[i:i + 50]
        try:
            ipa.batch([('host_del', [h], {}) for h in chunk])
        except errors.IPAUnavailable:
            left.extend(chunk)
    for i in range(0, len(left), 50):
        ipa.batch([('host_del', [h], {}) for h in left[i:i + 50]])


def write_conf(path, ipa_env, peers_env, principal, keytab, cloud_id, ldap):
    path.write_text('''[DEFAULT]
debug = false
use_stderr = true
[join]
cloud_id = {cloud}
[notify]
reconcile_grace = 0
floating_ip_dns = false
read_from_ldap = {ldap}
[ipa]
servers = {server}
auth_method = kerberos
keytab = {keytab}
principal = {principal}
krb5_config = {krb5}
ca_file = {ca}
{creds}
'''.format(cloud=cloud_id, ldap=str(ldap).lower(), server=ipa_env['IPA_SERVER'],
           keytab=keytab, principal=principal, krb5=ipa_env['IPA_KRB5_CONFIG'],
           ca=ipa_env['IPA_CA_CERT'], creds=nova_api.service_credentials(peers_env)))


def dry_run(conf, work, code=None):
    """(exit status, wall s, peak RSS MiB, planned host names, stderr tail);
    ``code``: the novajoin checkout to run (None: this one, as installed)."""
    if code is None:
        cmd = [os.path.join(os.path.dirname(sys.executable), 'novajoin-reconcile')]
        env = None
    else:
        cmd = [sys.executable, '-c', 'import sys; from novajoin.cmd.reconcile '
               'import main; sys.exit(main())']
        # run from the checkout: ``-c`` puts the working directory first
        env = dict(os.environ, PYTHONPATH=str(code))
    out_path, err_path = pathlib.Path(work, 'out.txt'), pathlib.Path(work, 'err.txt')
    start = time.monotonic()
    with open(out_path, 'w') as out, open(err_path, 'w') as err:
        proc = subprocess.Popen(cmd + ['--config-file', str(conf), '--dry-run'],
                                stdout=out, stderr=err, env=env, cwd=code)
        _, status, usage = os.wait4(proc.pid, 0)   # this child's own peak RSS
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - start
    text = out_path.read_text()
    planned = set(re.findall(r'^would host (\S+) \(instance', text, re.M))
    lines = err_path.read_text().strip().splitlines()
    # the reconciler's own progress lines say where the time went
    tail = [line.split('reconciler: ', 1)[1] for line in lines
            if 'reconciler: ' in line and ' in ' in line] + lines[-1:]
    return proc.returncode, wall, usage.ru_maxrss / 1024, planned, tail


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sizes', type=int, nargs='+', default=[1000, 5000, 20000])
    parser.add_argument('--live', type=int, default=50)
    parser.add_argument('--archived', type=float, default=0.0,
                        help='fraction of the orphans whose server nova has no '
                             'row of any more (the rest: deleted in nova)')
    parser.add_argument('--baseline', type=pathlib.Path,
                        help='a checkout of other novajoin code: its dry run too')
    parser.add_argument('--repeat', type=int, default=2,
                        help='with --baseline: dry runs of each code, in turns')
    add_identity_args(parser)
    args = parser.parse_args()
    ipa_env, peers_env, work, principal, keytab, admin = environment(args, 'nj-rec-')
    tag = uuid.uuid4().hex[:8]
    cloud = records.Cloud('bench%s' % tag)
    servers = nova_api.Servers(peers_env)
    lister = IPAClient([ipa_env['IPA_SERVER']], admin.auth, ca_file=ipa_env['IPA_CA_CERT'],
                       read_timeout=600)
    names, instances = [], []
    live = set()
    try:
        seed = [{'uuid': str(uuid.uuid4()), 'project': 'demo',
                 'name': 'rb%s-live%d' % (tag, i)} for i in range(args.live)]
        servers._seed('create', '--json', json.dumps(seed))
        servers.created.update(s['uuid'] for s in seed)
        live = {s['uuid'] for s in seed}
        print('novajoin-reconcile --dry-run at scale: %d live servers in the real nova '
              'API, the other hosts orphans (servers deleted in nova, %.0f%% of them '
              'without a row left); IPA %s'
              % (args.live, 100 * args.archived, ipa_env['IPA_SERVER']))
        print('%7s %9s %9s %9s %10s %8s %8s %12s' % (
            'hosts', 'ldap s', 'RSS MiB', 'pkey s', 'ratio', 'orphans', 'live', 'rpc s'))
        for size in sorted(args.sizes):
            new = size - len(names)
            start = len(names)
            t0 = time.monotonic()
            orphans_new = max(0, start + new - max(start, args.live))
            archived = int(round(orphans_new * args.archived))
            gone = deleted_in_nova(servers, tag, start, orphans_new - archived)
            gone += [str(uuid.uuid4()) for _ in range(archived)]
            seed_s = time.monotonic() - t0
            for i in range(start, start + new):
                names.append('rb%s-%d.%s' % (tag, i, ipa_env['IPA_DOMAIN']))
                instances.append(seed[i]['uuid'] if i < args.live else gone.pop())
            t0 = time.monotonic()
            fill(admin, cloud, names[start:], instances[start:])
            fill_s = time.monotonic() - t0
            t0 = time.monotonic()
            listed = lister.call('host_find', pkey_only=True, sizelimit=0,
                                 userclass=cloud.index())
            pkey_s = time.monotonic() - t0
            assert listed['count'] == size, listed['count']
            conf = pathlib.Path(work, 'ldap.conf')
            write_conf(conf, ipa_env, peers_env, principal, keytab, cloud.id, True)
            rc, wall, rss, planned, err = dry_run(conf, work)
            orphans = {n for n, i in zip(names, instances) if i not in live}
            livehosts = set(names) - orphans
            ok_orphans = len(planned & orphans)
            bad = len(planned & livehosts)
            # the other code and this code again, in turns; before the
            # JSON-RPC run, whose abandoned host_find keeps IPA busy after it
            turns = []
            for _ in range(args.repeat if args.baseline else 0):
                for label, code in (('baseline', args.baseline), ('this code', None)):
                    rc3, wall3, rss3, planned3, err3 = dry_run(conf, work, code)
                    turns.append('   %s: %.1f s = %.1fx, %.0f MiB, exit %d, %d/%d orphans, '
                                 '%d live planned' % (
                                     label, wall3, wall3 / pkey_s, rss3, rc3,
                                     len(planned3 & orphans), len(orphans),
                                     len(planned3 & livehosts)))
                    turns.extend('      %s' % line for line in err3[:-1 if rc3 == 0 else None])
            rpc = pathlib.Path(work, 'rpc.conf')
            write_conf(rpc, ipa_env, peers_env, principal, keytab, cloud.id, False)
            rc2, wall2, _, planned2, err2 = dry_run(rpc, work)
            print('%7d %9.1f %9.0f %9.2f %10.1f %8s %8s %12s   (exit %d; filled in %.0f s, '
                  'nova seeded in %.0f s)' % (
                      size, wall, rss, pkey_s, wall / pkey_s,
                      '%d/%d' % (ok_orphans, len(orphans)), '%d planned' % bad,
                      '%.1f%s' % (wall2, '' if rc2 == 0 else ' FAILED'), rc, fill_s,
                      seed_s), flush=True)
            for line in err[:-1]:
                print('      %s' % line)
            if rc:
                print('   ldap dry run failed: %s' % err[-1:])
            if rc2:
                print('   JSON-RPC dry run: %s' % (err2[-1][:200] if err2 else 'exit %d' % rc2))
            if turns:
                print('\n'.join(turns), flush=True)
    finally:
        remove(lister, names)
        servers.cleanup()
    print('cleaned up %d hosts and %d servers' % (len(names), len(live)))


if __name__ == '__main__':
    main()
