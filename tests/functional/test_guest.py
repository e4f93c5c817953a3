"""The whole chain with real clients, nothing stubbed in between: real nova 34
calls the real novajoin-server (gunicorn, keystonemiddleware, the real
keystone), which creates the host in the real FreeIPA; the vendor_data2.json
nova builds goes on a nova-style config drive of a real Debian 12 guest
(../shared/guest: cloud-init 22.4, ipa-client-install 4.9.11), whose
cloud-init runs the delivered files/cloud-config-novajoin.json; IPA then
shows the host enrolled (``has_keytab``).

The guest harness needs root and its rootfs (``../shared/guest/up.sh``,
which tools/test.sh runs); missing either is a failure, never a skip.
"""
import json
import os
import pathlib
import subprocess

import pytest

from tests.functional import peers
from tests.functional.novajoin_server import identity_conf
from tests.functional.novajoin_server import start_server
from tests.functional.test_server import instance
from tests.functional.test_server import nova_call

GUEST = peers.SHARED / 'guest'
ROOT = pathlib.Path(__file__).resolve().parents[2]
VENDOR_DATA = ROOT / 'files' / 'cloud-config-novajoin.json'
ISSUED = []


@pytest.fixture(scope='module')
def guest_ready():
    if os.geteuid() != 0:
        pytest.fail('the real-guest tests need root (../shared/guest/run.sh)',
                    pytrace=False)
    out = subprocess.run([str(GUEST / 'up.sh'), '--fix-peer'], capture_output=True,
                         text=True, timeout=900, cwd=str(ROOT))
    assert out.returncode == 0, 'guest/up.sh failed:\n' + out.stdout[-2000:] + out.stderr[-3000:]


@pytest.fixture(scope='module')
def server(tmp_path_factory, ipa_env, peers_env, novajoin_identity, glance):
    tmp = tmp_path_factory.mktemp('guest-server')
    proc, url = start_server(tmp, 'guest', ipa_env, peers_env,
                             identity_conf(novajoin_identity, ipa_env))
    yield url
    proc.stop()
    log = proc.log()
    for otp in ISSUED:
        assert otp not in log, 'an OTP leaked into the log'


def vendordata_through_nova(url, inst):
    """vendor_data2.json as nova's metadata API serves it to the instance."""
    result, stderr = nova_call(url, inst, mode='handler')
    assert result['handler']['status'] == 200, (result['handler'], stderr)
    body = result['handler']['body']
    if body.get('join', {}).get('ipaotp'):
        ISSUED.append(body['join']['ipaotp'])
    return body


class Run:
    def __init__(self, proc, logs):
        self.rc, self.out, self.logs = proc.returncode, proc.stdout + proc.stderr, logs

    def log(self, name):
        path = self.logs / name
        return path.read_text(errors='replace') if path.exists() else ''


def boot(tmp_path, name, fqdn, vendor_data2, *options):
    """One guest boot (../shared/guest/run.sh) from a config drive holding
    ``vendor_data2`` verbatim."""
    join_file = tmp_path / ('%s-vendor_data2.json' % name)
    join_file.write_text(json.dumps(vendor_data2))
    proc = subprocess.run(
        [str(GUEST / 'run.sh'), '--name', name, '--fqdn', fqdn,
         '--join-file', str(join_file), '--vendor-data', str(VENDOR_DATA),
         '--nova-hostname', '%s.novalocal' % fqdn.split('.')[0], *options],
        capture_output=True, text=True, timeout=600, cwd=str(ROOT))
    return Run(proc, pathlib.Path(os.environ.get('GUEST_ROOT', '/tmp/guestpeer'))
               / 'runs' / name / 'logs')


def has_keytab(ipa_admin, fqdn):
    return ipa_admin.call('host_show', fqdn)['result']['has_keytab']


@pytest.mark.parametrize('resolves', ['yes', 'no'],
                         ids=['dns_resolves_fqdn', 'fqdn_not_resolvable'])
def test_real_nova_novajoin_and_guest_enroll_the_host(guest_ready, server, ipa_admin,
                                                      ipa_env, unique, cleanup,
                                                      tmp_path, resolves):
    name = 'gt%s%s' % (unique, resolves[0])
    fqdn = '%s.%s' % (name, ipa_env['IPA_DOMAIN'])
    cleanup.append(fqdn)
    vd2 = vendordata_through_nova(server, instance(unique, hostname=name))
    assert vd2['join']['hostname'] == fqdn and vd2['join']['ipa_ca_cert']
    assert has_keytab(ipa_admin, fqdn) is False

    run = boot(tmp_path, name, fqdn, vd2, '--fqdn-resolves', resolves)
    assert run.rc == 0, run.out[-6000:]
    assert 'run.sh: PASS (enrolled)' in run.out
    assert has_keytab(ipa_admin, fqdn) is True
    console = run.log('console.log')
    assert 'using the IPA CA certificate from the config drive' in console
    install = run.log('ipaclient-install.log')
    assert install, 'no ipaclient-install.log'
    assert 'via HTTP' not in install, 'the CA was downloaded over HTTP'
    if resolves == 'no':
        assert '%s does not resolve: added' % fqdn in console
    else:
        assert 'does not resolve' not in console
    for text in (console, run.log('cloud-init.log'), run.log('cloud-init-output.log'),
                 install):
        assert vd2['join']['ipaotp'] not in text, 'the OTP is in a guest log'


def test_ipa_enroll_false_leaves_the_guest_and_ipa_alone(guest_ready, server, ipa_admin,
                                                         ipa_env, unique, tmp_path):
    name = 'gt%sf' % unique
    fqdn = '%s.%s' % (name, ipa_env['IPA_DOMAIN'])
    vd2 = vendordata_through_nova(server, instance(
        unique, hostname=name, metadata={'ipa_enroll': 'false'}))
    assert vd2['join'] == {}
    run = boot(tmp_path, name, fqdn, vd2, '--enroll', 'false', '--expect', 'not-enrolled')
    assert run.rc == 0, run.out[-6000:]
    assert 'not enrolling (ipa_enroll=false)' in run.log('console.log')
    assert not run.log('ipaclient-install.log')
    assert ipa_admin.call('host_find', fqdn)['count'] == 0
