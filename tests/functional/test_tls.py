"""Real nova 34 -> novajoin-server over HTTPS -> real FreeIPA 4.12.

novajoin-server runs under gunicorn with [api] cert_file/key_file from a
throwaway CA. Proven with nova's own DynamicJSON code (nova_call_tls.py):
- nova given the CA (nova.conf [api] vendordata_dynamic_ssl_certfile) gets
  the OTP over https, and the host is in IPA;
- nova without it cannot verify the certificate: no OTP, nothing in IPA;
- plain http to the TLS port gets nothing, from nova or from anyone;
- the service log says TLS is on and holds no OTP.
nova's environment never has REQUESTS_CA_BUNDLE and friends (set on these
machines), so the CA nova trusts is only what its nova.conf says.
"""
import json
import os
import pathlib
import subprocess
import time
import uuid

import pytest
import requests

from novajoin.ipa import errors
from tests.functional import peers
from tests.functional.novajoin_server import IMAGE_PLAIN
from tests.functional.novajoin_server import identity_conf
from tests.functional.novajoin_server import make_tls
from tests.functional.novajoin_server import start_server

NOVA_CALL_TLS = pathlib.Path(__file__).with_name('nova_call_tls.py')
# What requests, OpenSSL and curl would take as trusted CAs from the
# environment instead of what nova.conf says.
CA_ENVIRONMENT = ('REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'SSL_CERT_FILE', 'SSL_CERT_DIR')
ISSUED = []


@pytest.fixture(scope='module')
def tls(tmp_path_factory):
    return make_tls(tmp_path_factory.mktemp('tls'))


@pytest.fixture(scope='module')
def server(tmp_path_factory, tls, ipa_env, peers_env, novajoin_identity):
    # No glance stand-in: server metadata ipa_enroll decides every request
    # here, so novajoin never looks an image up.
    tmp = tmp_path_factory.mktemp('tls-server')
    proc, url = start_server(tmp, 'tls', ipa_env, peers_env,
                             identity_conf(novajoin_identity, ipa_env), tls=tls)
    assert url.startswith('https://127.0.0.1:')
    yield proc, url
    proc.stop()
    log = proc.log()
    for otp in ISSUED:
        assert otp not in log, 'an OTP leaked into the log'


def nova_call(target, instance, ca=None, mode='both'):
    """Run real nova against ``target``; (result JSON, nova's stderr)."""
    env = {k: v for k, v in os.environ.items() if k not in CA_ENVIRONMENT}
    argv = [os.path.join(peers.peers_env()['PEERS_VENV'], 'bin', 'python'),
            str(NOVA_CALL_TLS), '--peers-dir', str(peers.PEERS_DIR)]
    if ca:
        argv += ['--ssl-certfile', ca]
    argv += ['join@%s' % target, '--mode', mode, '--instance-json', json.dumps(instance)]
    out = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout), out.stderr


def instance(unique):
    return {'uuid': str(uuid.uuid4()), 'hostname': 'vm-%s' % unique,
            'metadata': {'ipa_enroll': 'true'}, 'image_ref': IMAGE_PLAIN}


def wait_in_log(proc, text, timeout=10):
    # gunicorn logs a refused handshake after the client has seen it closed.
    end = time.monotonic() + timeout
    while text not in proc.log():
        assert time.monotonic() < end, '%r not in the log:\n%s' % (text, proc.log())
        time.sleep(0.1)


def assert_not_in_ipa(ipa_admin, fqdn):
    with pytest.raises(errors.NotFound):
        ipa_admin.call('host_show', fqdn)


def test_nova_with_the_ca_gets_an_otp_over_https(server, tls, ipa_admin, ipa_env,
                                                 unique, cleanup):
    proc, url = server
    fqdn = 'vm-%s.%s' % (unique, ipa_env['IPA_DOMAIN'])
    cleanup.append(fqdn)
    result, _ = nova_call(url + '/v1/', instance(unique), ca=tls['ca'])
    direct = result['direct']['vendor_data2_dynamic_part']['join']
    assert direct['hostname'] == fqdn
    assert direct['krb_realm'] == ipa_env['IPA_REALM']
    assert direct['ipaotp']
    ISSUED.append(direct['ipaotp'])
    # through nova's metadata pipeline too: what the guest gets
    assert result['handler']['status'] == 200, result['handler']
    assert result['handler']['body']['join'] == direct
    host = ipa_admin.call('host_show', fqdn)['result']
    assert host['has_password'] is True and host['has_keytab'] is False
    log = proc.log()
    assert 'TLS is on: serving https://127.0.0.1:%s' % url.rsplit(':', 1)[1] in log
    assert 'TLS IS OFF' not in log
    assert direct['ipaotp'] not in log


def test_nova_without_the_ca_cannot_verify_and_gets_no_otp(server, ipa_admin, ipa_env,
                                                           unique, cleanup):
    proc, url = server
    fqdn = 'vm-%s.%s' % (unique, ipa_env['IPA_DOMAIN'])
    cleanup.append(fqdn)
    result, stderr = nova_call(url + '/v1/', instance(unique), mode='direct')
    assert result['direct']['vendor_data2_dynamic_part'] == {'join': {}}
    assert 'Error from dynamic vendordata service join' in stderr
    assert 'CERTIFICATE_VERIFY_FAILED' in stderr
    wait_in_log(proc, 'TLSV1_ALERT_UNKNOWN_CA')   # nova hung up in the handshake
    # nova never got as far as sending the request: nothing was created
    assert_not_in_ipa(ipa_admin, fqdn)


def test_plain_http_to_the_tls_port_gets_nothing(server, ipa_admin, ipa_env, unique,
                                                 cleanup):
    proc, url = server
    plain = url.replace('https://', 'http://')
    fqdn = 'vm-%s.%s' % (unique, ipa_env['IPA_DOMAIN'])
    cleanup.append(fqdn)
    inst = instance(unique)
    # nova misconfigured with an http:// target
    result, stderr = nova_call(plain + '/v1/', inst, mode='direct')
    assert result['direct']['vendor_data2_dynamic_part'] == {'join': {}}
    assert 'Error from dynamic vendordata service join' in stderr
    # anyone speaking plain HTTP to the port, with a body nova would send
    body = {'project-id': uuid.uuid4().hex, 'instance-id': inst['uuid'], 'image-id': '',
            'user-data': None, 'hostname': inst['hostname'], 'metadata': inst['metadata'],
            'boot-roles': ''}
    with pytest.raises(requests.ConnectionError):
        requests.post(plain + '/v1/', json=body, timeout=10)
    with pytest.raises(requests.ConnectionError):
        requests.get(plain + '/healthcheck', timeout=10)
    wait_in_log(proc, '[SSL: HTTP_REQUEST] http request')   # refused, and said so
    assert_not_in_ipa(ipa_admin, fqdn)
