"""Real nova 34 -> novajoin-server (gunicorn, keystonemiddleware) -> real FreeIPA 4.12.

nova's own DynamicJSON code (../shared/peers/nova_vendordata_call.py) calls the
service with its keystone token, both directly and through nova's metadata
WSGI pipeline; the answer is checked in vendor_data2.json and in IPA.
"""
import json
import os
import pathlib
import re
import subprocess
import uuid

import pytest
import requests

from tests.functional import peers
from tests.functional.novajoin_server import IMAGE_ENROLL
from tests.functional.novajoin_server import IMAGE_PLAIN
from tests.functional.novajoin_server import OTP_KEY
from tests.functional.novajoin_server import ANSWER_TTL
from tests.functional.novajoin_server import forget_answers
from tests.functional.novajoin_server import identity_conf
from tests.functional.novajoin_server import start_server

NOVA_CALL = peers.PEERS_DIR / 'nova_vendordata_call.py'


def project_ids(peers_env):
    """keystone's project ids, {name: id}, as the peers' set-up wrote them
    (nova's instances belong to 'demo' unless told otherwise)."""
    path = os.path.join(peers_env['KEYSTONE_DIR'], 'ids.json')
    with open(path) as f:
        return json.load(f)['projects']


@pytest.fixture(scope='module')
def server(tmp_path_factory, ipa_env, peers_env, novajoin_identity, glance):
    tmp = tmp_path_factory.mktemp('server')
    # the demo project (the instances' default) may ask for TripleO services
    proc, url = start_server(tmp, 'main', ipa_env, peers_env,
                             identity_conf(novajoin_identity, ipa_env),
                             service_projects=project_ids(peers_env)['demo'],
                             answer_cache_ttl=ANSWER_TTL)
    yield url
    proc.stop()
    log = proc.log()
    # The OTPs handed out in this module must not be in the service's log.
    for otp in ISSUED:
        assert otp not in log, 'an OTP leaked into the log'


ISSUED = []


def nova_call(url, instance, *extra, mode='both'):
    """Run real nova against the target; (result JSON, nova's stderr)."""
    out = subprocess.run(
        [os.path.join(peers.peers_env()['PEERS_VENV'], 'bin', 'python'), str(NOVA_CALL),
         'join@%s/v1/' % url, '--mode', mode, '--instance-json', json.dumps(instance),
         *extra], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout), out.stderr


def join_of(result, mode):
    if mode == 'direct':
        return result['direct']['vendor_data2_dynamic_part']['join']
    assert result['handler']['status'] == 200, result['handler']
    return result['handler']['body']['join']


def instance(unique, **kw):
    data = {'uuid': str(uuid.uuid4()), 'hostname': 'vm-%s' % unique,
            'metadata': {'ipa_enroll': 'true', 'ipa_hostclass': 'webservers'},
            'image_ref': IMAGE_PLAIN}
    data.update(kw)
    return data


# -- the tests --------------------------------------------------------------------

def test_nova_gets_an_otp_and_ipa_has_the_host(server, ipa_admin, ipa_env, unique,
                                               cleanup):
    inst = instance(unique)
    fqdn = 'vm-%s.%s' % (unique, ipa_env['IPA_DOMAIN'])
    cleanup.append(fqdn)
    result, _ = nova_call(server, inst)
    direct, handler = join_of(result, 'direct'), join_of(result, 'handler')
    assert direct['hostname'] == fqdn
    assert direct['krb_realm'] == ipa_env['IPA_REALM']
    assert direct['ipa_domain'] == ipa_env['IPA_DOMAIN']
    assert direct['ipa_server'] == [ipa_env['IPA_SERVER']]
    assert direct['ipaotp']
    ISSUED.append(direct['ipaotp'])
    assert handler == direct            # the second fetch: the same OTP
    host = ipa_admin.call('host_show', fqdn, all=True)['result']
    record = ('novajoin: instance=%s project=%s cloud=default key=%s'
              % (inst['uuid'], result['instance']['project_id'], OTP_KEY))
    # the owner record in userclass (the host cannot write it), beside the
    # host class and the two search keys; the description repeats it
    assert sorted(host['userclass']) == sorted([
        'webservers', record,
        'novajoin: instance=%s cloud=default' % inst['uuid'],
        'novajoin: cloud=default'])
    assert host['has_password'] is True and host['has_keytab'] is False
    assert host['description'] == [record]
    assert host['nsosversion'] == ['debian']
    # a third fetch, later and through another worker, is still the same
    again, _ = nova_call(server, inst, mode='direct')
    assert join_of(again, 'direct') == direct


def test_the_otp_enrolls_the_host_then_is_no_longer_served(server, ipa_env, ipa_admin,
                                                           unique, cleanup, tmp_path):
    inst = instance(unique)
    fqdn = 'vm-%s.%s' % (unique, ipa_env['IPA_DOMAIN'])
    cleanup.append(fqdn)
    otp = join_of(nova_call(server, inst, mode='direct')[0], 'direct')['ipaotp']
    ISSUED.append(otp)
    # what ipa-client-install does in the guest with the OTP
    env = dict(os.environ, KRB5_CONFIG=ipa_env['IPA_KRB5_CONFIG'])
    joined = subprocess.run([ipa_env['IPA_JOIN'], '-s', ipa_env['IPA_SERVER'], '-h', fqdn,
                             '-w', otp, '-k', str(tmp_path / 'host.keytab')],
                            capture_output=True, text=True, env=env, timeout=60)
    assert joined.returncode == 0, joined.stderr
    assert ipa_admin.call('host_show', fqdn)['result']['has_keytab'] is True
    forget_answers()
    answer = join_of(nova_call(server, inst, mode='direct')[0], 'direct')
    assert answer['hostname'] == fqdn and 'ipaotp' not in answer


def _metric(text, name):
    return sum(float(v) for v in re.findall(
        r'^%s(?:\{[^}]*\})? (\S+)$' % re.escape(name), text, re.M))


def test_a_burst_of_first_fetches_shares_ipa_batches_and_refetches_skip_ipa(
        tmp_path, ipa_env, peers_env, novajoin_identity, ipa_admin, unique,
        cleanup):
    """40 instances at once through nova's own code: each gets its own OTP,
    their host_adds went to IPA in shared batches (group commit), and the
    40 refetches that follow are answered without IPA, the same OTPs."""
    proc, url = start_server(tmp_path, 'burst', ipa_env, peers_env,
                             identity_conf(novajoin_identity, ipa_env),
                             workers=1, threads=32)
    n, prefix = 40, 'nb%s' % unique
    names = ['%s-%d.%s' % (prefix, i, ipa_env['IPA_DOMAIN']) for i in range(n)]
    cleanup.extend(names)
    try:
        out = subprocess.run(
            [os.path.join(peers_env['PEERS_VENV'], 'bin', 'python'),
             str(pathlib.Path(__file__).with_name('nova_storm.py')),
             '--peers', str(peers.PEERS_DIR), '-n', str(n), '--concurrency', str(n),
             '--prefix', prefix, '--passes', '2', 'join@%s/v1/' % url],
            capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-3000:]
        first, again = json.loads(out.stdout.strip().splitlines()[-1])['passes']
        metrics = requests.get(url + '/metrics', timeout=10).text
    finally:
        proc.stop()
    assert all(r['otp'] for r in first['results'])
    digests = [r['digest'] for r in first['results']]
    assert len(set(digests)) == n                       # an OTP of its own each
    assert [r['digest'] for r in again['results']] == digests
    commands = _metric(metrics, 'novajoin_ipa_round_trip_commands_sum')
    trips = _metric(metrics, 'novajoin_ipa_round_trip_commands_count')
    assert commands >= n and trips < commands           # round trips shared
    assert _metric(metrics, 'novajoin_answers_reused_total') == n
    shown = ipa_admin.batch([('host_show', [name], {}) for name in names])
    assert all(not isinstance(h, Exception) and h['result']['has_password']
               for h in shown)


def test_not_enrolling_server_gets_empty_join(server, unique):
    result, _ = nova_call(server, instance(unique, metadata={'role': 'web'}))
    assert join_of(result, 'direct') == {} and join_of(result, 'handler') == {}


def test_image_property_enrolls_and_metadata_false_wins(server, glance, ipa_admin,
                                                        ipa_env, unique, cleanup):
    fqdn = 'vm-%s.%s' % (unique, ipa_env['IPA_DOMAIN'])
    cleanup.append(fqdn)
    answer = join_of(nova_call(server, instance(unique, metadata={},
                                                image_ref=IMAGE_ENROLL),
                               mode='direct')[0], 'direct')
    assert answer['hostname'] == fqdn and answer['ipaotp']
    ISSUED.append(answer['ipaotp'])
    assert ipa_admin.call('host_show', fqdn, all=True)['result']['nsosversion'] == [
        'fedora 41']
    refused = instance('x' + unique, metadata={'ipa_enroll': 'False'},
                       image_ref=IMAGE_ENROLL)
    assert join_of(nova_call(server, refused, mode='direct')[0], 'direct') == {}


def test_no_token_is_refused_by_keystonemiddleware(server, unique):
    result, stderr = nova_call(server, instance(unique), '--no-auth', mode='direct')
    assert join_of(result, 'direct') == {}
    assert 'HTTP 401' in stderr
    resp = requests.post(server + '/v1/', json={}, timeout=10)
    assert resp.status_code == 401
    resp = requests.post(server + '/v1/', json={}, timeout=10,
                         headers={'X-Auth-Token': 'gAAAAABbogus'})
    assert resp.status_code == 401


def test_squatted_name_is_409_and_ipa_is_unchanged(server, ipa_admin, ipa_env,
                                                   unique, cleanup):
    owner = instance(unique)
    fqdn = 'vm-%s.%s' % (unique, ipa_env['IPA_DOMAIN'])
    cleanup.append(fqdn)
    ISSUED.append(join_of(nova_call(server, owner, mode='direct')[0], 'direct')['ipaotp'])
    before = ipa_admin.call('host_show', fqdn, all=True)['result']
    squatter = instance(unique, metadata={'ipa_enroll': 'true', 'ipa_hostclass': 'admins'})
    result, stderr = nova_call(server, squatter, mode='direct')
    assert join_of(result, 'direct') == {}
    assert 'HTTP 409' in stderr
    after = ipa_admin.call('host_show', fqdn, all=True)['result']
    assert after == before


def test_failure_fatal_nova_sees_a_clear_4xx(server, unique):
    bad = instance(unique, hostname='bad_name')
    result, stderr = nova_call(server, bad, '--failure-fatal', mode='direct')
    seen = stderr + json.dumps(result)
    assert 'BadRequest' in json.dumps(result) and 'not a valid DNS label' in seen


def test_services_and_subhosts(server, ipa_admin, ipa_env, unique, cleanup):
    domain = ipa_env['IPA_DOMAIN']
    fqdn = 'ctl-%s.%s' % (unique, domain)
    sub = 'ctl-%s.internalapi.%s' % (unique, domain)
    vip = 'vip-%s.%s' % (unique, domain)
    cleanup.extend([fqdn, sub, vip])
    inst = instance(unique, hostname='ctl-%s' % unique, metadata={
        'ipa_enroll': 'true', 'compact_service_HTTP': '["internalapi"]',
        'managed_service_haproxy': 'haproxy/%s' % vip})
    result = nova_call(server, inst, mode='direct')[0]
    answer = join_of(result, 'direct')
    ISSUED.append(answer['ipaotp'])
    project = result['instance']['project_id']
    for host in (sub, vip):
        shown = ipa_admin.call('host_show', host, all=True)['result']
        assert shown['description'] == [
            'novajoin: subhost project=%s cloud=default' % project]
        assert sorted(shown['userclass']) == [
            'novajoin: cloud=default',
            'novajoin: subhost project=%s cloud=default' % project]
        assert fqdn in shown['managedby_host']
    for principal in ('HTTP/%s' % sub, 'haproxy/%s' % vip):
        shown = ipa_admin.call('service_show', principal)['result']
        assert fqdn in shown['managedby_host']


def test_project_subdomain_and_ipa_outage(tmp_path, ipa_env, peers_env, novajoin_identity,
                                          ipa_admin, unique, cleanup):
    ident = identity_conf(novajoin_identity, ipa_env)
    proc, url = start_server(tmp_path, 'subdomain', ipa_env, peers_env, ident,
                             project_subdomain='true')
    try:
        fqdn = 'vm-%s.demo.%s' % (unique, ipa_env['IPA_DOMAIN'])
        cleanup.append(fqdn)
        answer = join_of(nova_call(url, instance(unique), mode='direct')[0], 'direct')
        assert answer['hostname'] == fqdn
        ISSUED.append(answer['ipaotp'])
        assert ipa_admin.call('host_show', fqdn)['result']['fqdn'] == [fqdn]
    finally:
        proc.stop()
    # An unreachable IPA: nova gets a 5xx (and logs it), not a silent 200.
    dead = dict(ipa_env, IPA_SERVER='127.0.0.1:%d' % peers.free_port())
    proc, url = start_server(tmp_path, 'dead', dead, peers_env, ident)
    try:
        result, stderr = nova_call(url, instance('d' + unique), mode='direct')
        assert join_of(result, 'direct') == {}
        assert 'HTTP 503' in stderr
        assert 'IPA' in proc.log() and 'ERROR' in proc.log()
    finally:
        proc.stop()


def test_after_rotating_the_otp_secret_an_unenrolled_host_still_enrolls(
        tmp_path, ipa_env, peers_env, novajoin_identity, glance, ipa_admin,
        unique, cleanup):
    """A host created under the old secret, not enrolled when the secret is
    replaced, gets the same OTP from the new service and enrolls with it; a
    new host gets an OTP of the new secret."""
    from novajoin import otp
    from novajoin.hosts import records
    old, new = 'rotation-old-' + 'o' * 32, 'rotation-new-' + 'n' * 32
    before = instance(unique)
    fqdn = 'vm-%s.%s' % (unique, ipa_env['IPA_DOMAIN'])
    later = instance(unique + 'b')
    later_fqdn = 'vm-%sb.%s' % (unique, ipa_env['IPA_DOMAIN'])
    cleanup.extend([fqdn, later_fqdn])
    identity = identity_conf(novajoin_identity, ipa_env)
    proc, url = start_server(tmp_path, 'old', ipa_env, peers_env, identity,
                             otp_secret=old)
    try:
        issued = join_of(nova_call(url, before, mode='direct')[0], 'direct')
    finally:
        proc.stop()
    proc, url = start_server(tmp_path, 'new', ipa_env, peers_env, identity,
                             otp_secret=new, previous_otp_secrets=old)
    try:
        again = join_of(nova_call(url, before, mode='direct')[0], 'direct')
        fresh = join_of(nova_call(url, later, mode='direct')[0], 'direct')
    finally:
        proc.stop()
    assert again['ipaotp'] == issued['ipaotp']
    joined = peers.ipa_join(ipa_env, fqdn, again['ipaotp'])
    assert joined.returncode == 0, joined.stderr
    assert ipa_admin.call('host_show', fqdn)['result']['has_keytab']
    assert fresh['ipaotp'] == otp.OTPSource(new).otp(later_fqdn, later['uuid'])
    shown = ipa_admin.call('host_show', later_fqdn, all=True)['result']
    assert records.otp_key_of(shown) == otp.key_id(new)
    for answer in (issued, again, fresh):
        assert answer['ipaotp'] not in proc.log()
