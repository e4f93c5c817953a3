"""The fault matrix, run for real: replicas die, the broker restarts, IPA,
keystone or nova fail, and nothing is lost.

Real: FreeIPA, keystone, nova 34's own vendordata code and compute API,
RabbitMQ (restarted by one test), HAProxy (Debian's package) in front of two
novajoin-server replicas, two novajoin-notify replicas in one pool. Faults
between novajoin and a peer come from ``faultproxy.FaultProxy`` (a reverse
proxy that can refuse, slow down or answer 5xx) or from killing a process
with SIGKILL.

Every test ends with the leak check (``assert_no_leaks``): the IPA hosts of
the test's own names are exactly the instances it still considers alive,
with no DNS record left for the others: 0 leaked, 0 lost.
"""
import concurrent.futures
import json
import os
import pathlib
import re
import signal
import subprocess
import time
import uuid

import pytest
import requests

from tests.functional import haproxy
from tests.functional import notify_env
from tests.functional import nova_api
from tests.functional import peers
from tests.functional.notify_env import wait_until
from tests.functional.faultproxy import FaultProxy
from tests.functional.novajoin_server import identity_conf
from tests.functional.novajoin_server import make_tls
from tests.functional.novajoin_server import start_server
from tests.functional.test_notify import PROJECT
from tests.functional.test_notify import bus  # noqa: F401 - fixture
from tests.functional.test_notify import delete_event
from tests.functional.test_notify import emit
from tests.functional.test_notify import publish_delete_ends
from tests.functional.test_notify import start_listener  # noqa: F401 - fixture
from tests.functional.test_notify import state  # noqa: F401 - fixture

NOVA_STORM = pathlib.Path(__file__).with_name('nova_storm.py')
FORWARD = 'example.test.'
WARM_PROJECT = 'f0e1d2c3b4a5968778695a4b3c2d1e0f'


def assert_no_leaks(ipa_admin, prefix, alive):
    """IPA holds a host for each name in ``alive`` and for no other name
    starting with ``prefix``; no A record of a removed name is left."""
    found = {h['fqdn'][0] for h in ipa_admin.call(
        'host_find', prefix, sizelimit=0, pkey_only=True)['result']
        if h['fqdn'][0].startswith(prefix)}
    alive = set(alive)
    leaked, lost = found - alive, alive - found
    assert (leaked, lost) == (set(), set()), 'leaked %s, lost %s' % (
        sorted(leaked), sorted(lost))
    records = ipa_admin.call('dnsrecord_find', FORWARD, prefix,
                             sizelimit=0)['result']
    stale = [r['idnsname'][0]['__dns_name__'] for r in records
             if r['idnsname'][0]['__dns_name__'].startswith(prefix)
             and '%s.%s' % (r['idnsname'][0]['__dns_name__'],
                            FORWARD.rstrip('.')) not in alive]
    assert stale == [], 'DNS records left for %s' % stale


def nova_storm(peers_env, target, prefix, n, concurrency, passes=1, warm=()):
    """nova 34 fetching ``n`` instances' vendordata through ``target``
    (tests/functional/nova_storm.py) in a child process. ``warm``: replica
    URLs that see nova's token first, as in a cloud that has been running:
    keystonemiddleware validates a token once, then answers from its cache;
    a new token arriving in a burst makes every thread ask keystone."""
    warm_args = []
    for url in warm:
        warm_args += ['--warm', url + '/v1/']
    return subprocess.Popen(
        [os.path.join(peers_env['PEERS_VENV'], 'bin', 'python'), str(NOVA_STORM),
         '--peers', str(peers.PEERS_DIR), '-n', str(n), '--concurrency',
         str(concurrency), '--prefix', prefix, '--passes', str(passes)]
        + warm_args + ['join@%s/v1/' % target],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def storm_results(proc, timeout=300):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])['passes']


def nova_token(peers_env):
    """A token of nova's service user, as nova sends it."""
    from keystoneauth1 import session
    from keystoneauth1.identity import v3
    return session.Session(auth=v3.Password(
        auth_url=peers_env['KEYSTONE_URL'], username='nova',
        password=peers_env['NOVA_PASSWORD'], project_name='service',
        user_domain_id='default', project_domain_id='default')).get_token()


def fetch(url, token, project, name, instance=None, timeout=30):
    """One vendordata request as nova sends it, for an enrolling server."""
    return requests.post(url + '/v1/', timeout=timeout, headers={
        'X-Auth-Token': token, 'Content-Type': 'application/json'}, json={
        'project-id': project, 'instance-id': instance or str(uuid.uuid4()),
        'image-id': '', 'user-data': None, 'hostname': name,
        'metadata': {'ipa_enroll': 'true'}, 'boot-roles': 'member,reader'})


def answered(server_log):
    """How many vendordata requests a novajoin-server log shows answered."""
    return len(re.findall(r'instance [0-9a-f-]{36} \(', server_log))


@pytest.fixture
def replicas(tmp_path, ipa_env, peers_env, novajoin_identity, ipa_admin, glance):
    """Two novajoin-server replicas (same config but the port) behind
    HAProxy: (haproxy.HAProxy, {name: (peers.Process, url)})."""
    servers = {}
    lb = None
    try:
        for name in ('a', 'b'):
            # the operator's drain switch ([healthcheck] disable_by_file_path)
            drain = ['[healthcheck]', 'disable_by_file_path = %s' % (
                tmp_path / ('%s.disabled' % name))]
            servers[name] = start_server(
                tmp_path, name, ipa_env, peers_env,
                identity_conf(novajoin_identity, ipa_env) + drain, workers=1,
                threads=16)
        # Replicas in production are warm: keystonemiddleware has its own
        # token, novajoin its IPA session. A cold one spends seconds on both.
        token = nova_token(peers_env)
        for name, (_, url) in servers.items():
            warm = fetch(url, token, WARM_PROJECT, 'warm-%s' % name)
            assert warm.status_code == 200, warm.text
            ipa_admin.call('host_del', warm.json()['hostname'])
        lb = haproxy.HAProxy(tmp_path, {
            name: url.split('://', 1)[1] for name, (_, url) in servers.items()})
        yield lb, servers
    finally:
        if lb:
            lb.stop()
        for proc, _ in servers.values():
            proc.stop()


# -- novajoin-server replicas ----------------------------------------------------

def test_a_server_replica_killed_mid_burst_costs_no_instance_its_otp(
        replicas, peers_env, ipa_admin, ipa_env, unique, cleanup):
    """SIGKILL one of two replicas while nova fetches 60 instances through
    HAProxy: every instance ends with its OTP (the fetches the dead replica
    held are answered by the other), each its own, and the guest's next
    fetch gets the same OTP from the survivor."""
    lb, servers = replicas
    n, prefix = 60, 'nk%s' % unique
    names = ['%s-%d.%s' % (prefix, i, ipa_env['IPA_DOMAIN']) for i in range(n)]
    cleanup.extend(names)
    victim, _ = servers['a']
    storm = nova_storm(peers_env, lb.url, prefix, n, concurrency=8, passes=2,
                       warm=[url for _, url in servers.values()])
    wait_until(lambda: answered(victim.log()) >= 5 or storm.poll() is not None,
               120, interval=0.02, what='replica a answering')
    os.killpg(victim.proc.pid, signal.SIGKILL)      # the whole replica, at once
    first, again = storm_results(storm)
    lb.wait_status({'a': 'DOWN', 'b': 'UP'})
    assert answered(victim.log()) < n, 'replica a was killed too late'
    # nova's own words for each instance it got nothing for, and what HAProxy
    # did that was not a 200 (a truncated answer: see novajoin.api.worker)
    missing = {'%s-%d' % (prefix, i): (round(r['ms']), r['error'])
               for i, r in enumerate(first['results']) if not r['otp']}
    assert not missing, (missing, [line for line in lb.log().splitlines()
                                   if ' 200 ' not in line][-20:])
    digests = [r['digest'] for r in first['results']]
    assert len(set(digests)) == n                          # an OTP of its own each
    assert [r['digest'] for r in again['results']] == digests  # never changed
    assert_no_leaks(ipa_admin, prefix, names)


def test_a_drained_replica_gets_no_request_and_comes_back(
        replicas, peers_env, ipa_admin, ipa_env, tmp_path, unique, cleanup):
    """The operator's drain: the disable file makes a replica's /healthcheck
    answer 503, HAProxy takes it out and every fetch goes to the other;
    removing the file brings it back, and nothing was refused meanwhile."""
    lb, servers = replicas
    proc_a, url_a = servers['a']
    proc_b, _ = servers['b']
    prefix = 'nd%s' % unique
    token = nova_token(peers_env)
    disable = tmp_path / 'a.disabled'
    disable.touch()
    assert requests.get(url_a + '/healthcheck', timeout=5).status_code == 503
    lb.wait_status({'a': 'DOWN', 'b': 'UP'})
    before = answered(proc_a.log()), answered(proc_b.log())
    names = []
    for i in range(6):
        resp = fetch(lb.url, token, WARM_PROJECT, '%s-%d' % (prefix, i))
        assert resp.status_code == 200, resp.text
        names.append(resp.json()['hostname'])
        cleanup.append(names[-1])
    assert answered(proc_a.log()) == before[0]             # drained: none
    assert answered(proc_b.log()) == before[1] + 6
    disable.unlink()
    lb.wait_status({'a': 'UP', 'b': 'UP'})
    for i in range(6, 10):
        resp = fetch(lb.url, token, WARM_PROJECT, '%s-%d' % (prefix, i))
        assert resp.status_code == 200, resp.text
        names.append(resp.json()['hostname'])
        cleanup.append(names[-1])
    assert answered(proc_a.log()) > before[0]               # back in
    assert_no_leaks(ipa_admin, prefix, names)


# -- novajoin-notify replicas and the broker ------------------------------------

def removed(log, fqdn):
    return log.count('removed IPA host %s' % fqdn)


def test_a_notify_replica_killed_mid_burst_loses_no_delete_and_repeats_none(
        start_listener, bus, state, peers_env, ipa_admin, unique):
    """Two replicas in one pool; SIGKILL one while nova's deletes flow: what
    it held unacknowledged goes to the other, every host is removed, none
    twice, and the survivor logs no error."""
    prefix = 'nq%s' % unique
    hosts = [state.enroll('%s-%d' % (prefix, i)) for i in range(30)]
    one = start_listener(name='one')
    two = start_listener(name='two')
    publish_delete_ends(bus, hosts)
    wait_until(lambda: any(removed(one.log(), f) for _, f in hosts), 60,
               interval=0.02, what='replica one removing hosts')
    os.killpg(one.proc.proc.pid, signal.SIGKILL)
    one.proc.proc.wait()
    by_one = sum(removed(one.log(), f) for _, f in hosts)
    assert by_one < len(hosts), 'replica one was killed too late'
    wait_until(lambda: not any(state.exists(f) for _, f in hosts), 120,
               what='every host removed')
    for _, fqdn in hosts:
        assert removed(one.log(), fqdn) + removed(two.log(), fqdn) <= 1, fqdn
    assert not re.search(r' (ERROR|CRITICAL) ', two.log()), two.log()[-3000:]
    assert 'GAVE UP' not in two.log()
    assert_no_leaks(ipa_admin, prefix, [])


def test_a_broker_restart_loses_no_queued_delete(
        start_listener, bus, state, peers_env, rabbit_url, ipa_admin, unique):
    """nova and neutron run with quorum queues (durable exchanges): the pool
    queue novajoin-notify declares is a quorum queue too, so the deletes
    waiting in it while the listener is down survive RabbitMQ's restart."""
    prefix = 'nr%s' % unique
    nova_exchange, neutron_exchange = 'nova-%s' % unique, 'neutron-%s' % unique
    bus.exchanges += [nova_exchange, neutron_exchange]
    quorum_nova = {'control_exchange': nova_exchange, 'rabbit_quorum_queue': True}
    exchanges = '[notify]\nexchanges = %s,%s\n' % (nova_exchange, neutron_exchange)
    hosts = [state.enroll('%s-%d' % (prefix, i)) for i in range(5)]
    # nova has been running: its exchange exists (durable, with quorum queues)
    emit(peers_env, bus, [delete_event(str(uuid.uuid4()), 'other.example.test')],
         'versioned', **quorum_nova)
    listener = start_listener(extra=exchanges)
    assert '(quorum queue)' in listener.log()
    assert listener.stop() == 0
    emit(peers_env, bus, [delete_event(i, f) for i, f in hosts], 'versioned',
         **quorum_nova)
    wait_until(lambda: notify_env.queue_depth(rabbit_url, bus.pool) >= 5, 30,
               what='deletes queued')
    restart_rabbitmq()
    assert notify_env.queue_depth(rabbit_url, bus.pool) >= 5   # kept
    assert all(state.exists(f) for _, f in hosts)
    listener.start()
    wait_until(lambda: not any(state.exists(f) for _, f in hosts), 60,
               what='every host removed')
    assert_no_leaks(ipa_admin, prefix, [])


def restart_rabbitmq():
    """Stop and start the broker application (the Erlang node stays up):
    what RabbitMQ does not keep on disk is gone after."""
    for action in ('stop_app', 'start_app'):
        out = subprocess.run(['rabbitmqctl', action], capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stdout + out.stderr
    wait_until(lambda: peers.port_open('127.0.0.1', 5672), 60,
               what='RabbitMQ back')
    subprocess.run(['rabbitmqctl', 'await_startup'], capture_output=True,
                   timeout=120)


# -- IPA: an endpoint lost, slow, or answering errors ---------------------------

def single_server(tmp_path, ipa_env, peers_env, novajoin_identity, ipa_servers,
                  ca_file=None, name='server', ipa_options=()):
    """One novajoin-server whose [ipa] servers (and CA bundle, and other
    ``ipa_options`` lines) are given."""
    lines = ['[ipa]', 'servers = %s' % ','.join(ipa_servers)] + list(ipa_options)
    if ca_file:
        lines.append('ca_file = %s' % ca_file)
    return start_server(tmp_path, name, ipa_env, peers_env,
                        identity_conf(novajoin_identity, ipa_env) + lines,
                        workers=1, threads=8)


def ipa_front(tmp_path, ipa_env):
    """A FaultProxy serving https://ipa.example.test:<port> in front of the
    real IPA, and a CA bundle trusting both it and IPA: (proxy, bundle)."""
    where = tmp_path / 'ipa-front'
    where.mkdir()
    tls = make_tls(where, names=('DNS:ipa.example.test',))
    proxy = FaultProxy('https://127.0.0.1:443', server_name='ipa.example.test',
                       ca=ipa_env['IPA_CA_CERT'], tls=tls)
    bundle = where / 'bundle.pem'
    bundle.write_text(pathlib.Path(ipa_env['IPA_CA_CERT']).read_text()
                      + pathlib.Path(tls['ca']).read_text())
    return proxy, bundle


def test_the_first_ipa_endpoint_lost_and_back_costs_nova_no_5xx(
        tmp_path, ipa_env, peers_env, novajoin_identity, start_listener, bus,
        state, ipa_admin, unique, cleanup):
    """[ipa] servers names two endpoints; the first goes away mid-run:
    enrollments and deletes go on through the second, then it comes back
    and the server goes back to it ([ipa] failback_interval)."""
    prefix = 'ni%s' % unique
    first = peers.TCPForwarder(('127.0.0.1', 443)).up()
    servers = ['ipa.example.test:%d' % first.port, 'ipa.example.test']
    try:
        proc, url = single_server(tmp_path, ipa_env, peers_env,
                                  novajoin_identity, servers,
                                  ipa_options=['failback_interval = 3'])
        listener = start_listener(extra='[ipa]\nservers = %s\n' % ','.join(servers))
        token = nova_token(peers_env)
        alive = []

        def enroll_through_novajoin(i):
            resp = fetch(url, token, WARM_PROJECT, '%s-%d' % (prefix, i))
            assert resp.status_code == 200, resp.text
            assert resp.json()['ipaotp']
            alive.append(resp.json()['hostname'])
            cleanup.append(alive[-1])

        enroll_through_novajoin(0)
        gone = [state.enroll('%s-del%d' % (prefix, i)) for i in range(3)]
        first.down()                                  # the first endpoint lost
        for i in range(1, 4):
            enroll_through_novajoin(i)
        emit(peers_env, bus, [delete_event(i, f) for i, f in gone], 'versioned')
        wait_until(lambda: not any(state.exists(f) for _, f in gone), 60,
                   what='deletes done through the second endpoint')
        first.up()                                    # and back
        enroll_through_novajoin(4)
        log = proc.log()
        failed_over = log.index('IPA: now using ipa.example.test\n')
        time.sleep(3.5)                               # the fail-back is due
        enroll_through_novajoin(5)
        log = proc.log()
        assert log.index('IPA: now using ipa.example.test:%d\n' % first.port,
                         failed_over)
        assert 'GAVE UP' not in listener.log()
        proc.stop()
    finally:
        first.down()
    assert_no_leaks(ipa_admin, prefix, alive)


def test_a_slow_ipa_gets_nova_answers_in_time_and_the_retries_their_otps(
        tmp_path, ipa_env, peers_env, novajoin_identity, ipa_admin, unique,
        cleanup):
    """IPA slower than novajoin's deadline: 503 inside nova's 5 s read
    timeout, never a nova-side timeout. IPA at 2 s per call under a burst:
    every answer still inside 5 s. IPA fast again: each guest's next fetch
    gets its OTP, the same one where it had one already; no host lost."""
    prefix = 'ns%s' % unique
    proxy, bundle = ipa_front(tmp_path, ipa_env)
    instances = {'%s-%d' % (prefix, i): str(uuid.uuid4()) for i in range(13)}
    cleanup.extend('%s.%s' % (n, ipa_env['IPA_DOMAIN']) for n in instances)
    with proxy:
        proc, url = single_server(tmp_path, ipa_env, peers_env, novajoin_identity,
                                  ['ipa.example.test:%d' % proxy.port], bundle)
        token = nova_token(peers_env)

        def nova_fetch(name):
            # nova's read timeout: no answer by then is a nova-side error
            return fetch(url, token, WARM_PROJECT, name, instances[name],
                         timeout=5)

        names = sorted(instances)
        warm = nova_fetch(names[0])
        assert warm.status_code == 200, warm.text
        proxy.delay(5.0)                    # beyond novajoin's deadline
        slow = nova_fetch(names[1])
        assert slow.status_code == 503, slow.text
        proxy.delay(2.0)                    # slow, under a burst
        with concurrent.futures.ThreadPoolExecutor(11) as pool:
            burst = dict(zip(names[2:], pool.map(nova_fetch, names[2:])))
        assert {r.status_code for r in burst.values()} <= {200, 503}
        otps = {n: r.json()['ipaotp'] for n, r in burst.items()
                if r.status_code == 200}
        proxy.passthrough()
        for name in names[1:]:
            again = nova_fetch(name)
            assert again.status_code == 200, again.text
            assert again.json()['ipaotp'] == otps.get(name, again.json()['ipaotp'])
        assert 'Traceback' not in proc.log()
        proc.stop()
    assert_no_leaks(ipa_admin, prefix, [
        '%s.%s' % (n, ipa_env['IPA_DOMAIN']) for n in names])


def test_ipa_answering_5xx_for_a_while_loses_nothing(
        tmp_path, ipa_env, peers_env, novajoin_identity, start_listener, bus,
        state, ipa_admin, unique, cleanup):
    """Apache in front of IPA answers 500 for a while: nova gets 503 (never a
    500), deletes are retried (bounded, requeued), and once IPA answers
    again the host is enrolled and the deleted ones are gone."""
    prefix = 'ne%s' % unique
    proxy, bundle = ipa_front(tmp_path, ipa_env)
    with proxy:
        servers = 'ipa.example.test:%d' % proxy.port
        proc, url = single_server(tmp_path, ipa_env, peers_env, novajoin_identity,
                                  [servers], bundle)
        listener = start_listener(extra='[ipa]\nservers = %s\nca_file = %s\n'
                                  % (servers, bundle))
        gone = [state.enroll('%s-del%d' % (prefix, i)) for i in range(3)]
        token = nova_token(peers_env)
        proxy.fail(500)
        refused = fetch(url, token, WARM_PROJECT, '%s-0' % prefix)
        assert refused.status_code == 503, refused.text
        emit(peers_env, bus, [delete_event(i, f) for i, f in gone], 'versioned')
        wait_until(lambda: listener.log().count('requeued in') >= 2, 60,
                   what='deletes retried')
        assert proxy.failed >= 3 and all(state.exists(f) for _, f in gone)
        proxy.passthrough()
        wait_until(lambda: not any(state.exists(f) for _, f in gone), 60,
                   what='deletes done once IPA answers')
        enrolled = fetch(url, token, WARM_PROJECT, '%s-0' % prefix)
        assert enrolled.status_code == 200, enrolled.text
        cleanup.append(enrolled.json()['hostname'])
        assert 'GAVE UP' not in listener.log()
        assert 'Traceback' not in proc.log()
        proc.stop()
    assert_no_leaks(ipa_admin, prefix, [enrolled.json()['hostname']])


# -- keystone and nova down ---------------------------------------------------------

def keystone(action):
    """Stop the keystone peer, or start it again (../shared/peers)."""
    script = peers.PEERS_DIR / ('down.sh' if action == 'stop' else 'up.sh')
    args = [str(script)] + (['keystone'] if action == 'stop' else [])
    out = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]


def test_keystone_down_for_30_s_validated_tokens_work_new_ones_get_503(
        tmp_path, ipa_env, peers_env, novajoin_identity, ipa_admin, unique,
        cleanup):
    """keystone stops for 30 s. A token novajoin has validated keeps working
    (keystonemiddleware's cache); one it has not seen gets a clear 503 (not
    a 401: the token may be good); keystone back, tokens are validated
    again with no restart of novajoin."""
    prefix = 'nt%s' % unique
    proc, url = start_server(tmp_path, 'server', ipa_env, peers_env,
                             identity_conf(novajoin_identity, ipa_env),
                             workers=1, threads=8)
    seen, unseen = nova_token(peers_env), nova_token(peers_env)
    assert seen != unseen
    names = []

    def enroll(token, i):
        resp = fetch(url, token, WARM_PROJECT, '%s-%d' % (prefix, i))
        if resp.status_code == 200:
            names.append(resp.json()['hostname'])
            cleanup.append(names[-1])
        return resp

    try:
        assert enroll(seen, 0).status_code == 200
        keystone('stop')
        try:
            down_at = time.monotonic()
            assert not peers.port_open('127.0.0.1', 35357)
            i = 1
            while time.monotonic() - down_at < 30:
                resp = enroll(seen, i)
                assert resp.status_code == 200, resp.text
                refused = enroll(unseen, 100 + i)
                assert refused.status_code == 503, refused.text
                i += 1
                time.sleep(5)
        finally:
            keystone('start')
        # Back: novajoin validates again, no restart. (A new token: the
        # peer's up.sh re-seeds keystone's users, which revokes the old ones.)
        assert enroll(nova_token(peers_env), 99).status_code == 200
        assert proc.proc.poll() is None
    finally:
        proc.stop()
    assert_no_leaks(ipa_admin, prefix, names)


def test_nova_down_while_the_reconciler_runs_removes_nothing(
        tmp_path, ipa_env, peers_env, novajoin_identity, rabbit_url, state,
        ipa_admin, unique):
    """The reconciler has listed nova's servers when nova stops answering:
    the hosts without a server are not confirmed gone, so none is removed;
    with nova back, the next run removes exactly those."""
    prefix = 'nn%s' % unique
    domain = '%s.example.test' % prefix
    state.enroller = state.make_enroller(domain)
    servers = nova_api.Servers(peers_env)
    try:
        live = str(uuid.uuid4())
        servers.create(live, PROJECT, prefix + '-live')
        _, live_fqdn = state.enroll(prefix + '-live', instance=live)
        orphans = [state.enroll('%s-gone%d' % (prefix, i))[1] for i in range(12)]
        proxy = FaultProxy('http://127.0.0.1:%s' % peers_env.get('NOVA_API_PORT', 8774))
        with proxy:
            conf = notify_env.write_conf(
                tmp_path / 'reconcile.conf', rabbit_url, ipa_env,
                novajoin_identity, ['nj-unused'], 'nj-unused',
                nova_api.service_credentials(peers_env) + RECONCILE % (
                    proxy.url, domain))
            dry = reconcile(conf, '--dry-run')
            assert dry.returncode == 0, dry.stderr
            listing = proxy.requests - len(orphans)   # what listing takes
            proxy.fail(503, after=listing)           # nova fails after it
            failed = reconcile(conf)
            assert failed.returncode == 1, failed.stdout + failed.stderr
            assert proxy.failed > 10
            assert all(state.exists(f) for f in orphans + [live_fqdn])
            proxy.passthrough()
            done = reconcile(conf)
            assert done.returncode == 0, done.stderr
        assert state.exists(live_fqdn)
        assert not any(state.exists(f) for f in orphans)
    finally:
        servers.cleanup()
    assert_no_leaks(ipa_admin, prefix + '-', [live_fqdn])


RECONCILE = '''
[nova]
endpoint_override = %s/v2.1
[notify]
reconcile_grace = 0
reconcile_domains = %s
'''


def reconcile(conf, *args):
    return subprocess.run([peers.python(), '-m', 'novajoin.cmd.reconcile',
                           '--config-file', str(conf)] + list(args),
                          capture_output=True, text=True, timeout=300,
                          cwd=str(peers.ROOT))
