"""`pip install .` + novajoin-install + the systemd unit's command = a working service.

The package is installed into a fresh venv (its dependencies are lent by the
project's venv through a path file, so nothing is downloaded), join.conf is
written by the installed novajoin-install, and gunicorn is started the way
files/novajoin-server.service starts it, with the installed gunicorn.conf.py.
The service then enrolls through the real keystone and the real FreeIPA.
"""
import os
import pathlib
import shlex
import subprocess
import sys
import sysconfig
import uuid

import requests

from bench.vendordata import nova_token
from tests.functional import peers

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPTS = ['novajoin-server', 'novajoin-notify', 'novajoin-reconcile', 'novajoin-ipa-setup',
           'novajoin-install']


def unit_settings(path):
    out = {}
    for line in path.read_text().splitlines():
        if '=' in line and not line.startswith('#'):
            key, value = line.split('=', 1)
            out.setdefault(key, []).append(value)
    return out


def test_installed_package_runs_as_the_unit_does(tmp_path, ipa_env, peers_env,
                                                 novajoin_identity, ipa_admin, unique):
    venv = tmp_path / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', str(venv)], check=True)
    site = next((venv / 'lib').glob('python3*/site-packages'))
    (site / 'novajoin-test-deps.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')
    pip = subprocess.run([str(venv / 'bin' / 'pip'), 'install', '-q', '--no-deps',
                          '--no-build-isolation', str(ROOT)],
                         capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr

    python = str(venv / 'bin' / 'python')
    where = subprocess.run([python, '-c', 'import novajoin; print(novajoin.__file__)'],
                           capture_output=True, text=True, check=True, cwd=str(tmp_path)).stdout
    assert where.startswith(str(venv)), where          # the installed copy, not the tree
    for script in SCRIPTS:
        assert (venv / 'bin' / script).exists(), script
    share = venv / 'share' / 'novajoin'
    for name in ('gunicorn.conf.py', 'novajoin-server.service', 'novajoin-notify.service',
                 'join.conf.sample', 'policy.yaml.sample', 'cloud-config-novajoin.json',
                 'novajoin-enroll.sh', 'glance-metadefs-novajoin.json'):
        assert (share / name).exists(), name

    # join.conf, as an operator would make it
    port = peers.free_port()
    password = tmp_path / 'keystone.pw'
    password.write_text(peers_env['NOVA_PASSWORD'] + '\n')
    join_conf = tmp_path / 'join.conf'
    subprocess.run(
        [str(venv / 'bin' / 'novajoin-install'), '--join-conf', str(join_conf),
         '--no-nova', '--no-neutron', '--hostname', '127.0.0.1', '--port', str(port),
         '--ipa-server', ipa_env['IPA_SERVER'], '--realm', ipa_env['IPA_REALM'],
         '--ipa-domain', ipa_env['IPA_DOMAIN'], '--principal', novajoin_identity['principal'],
         '--keytab', novajoin_identity['keytab'], '--ipa-ca-file', ipa_env['IPA_CA_CERT'],
         '--krb5-config', ipa_env['IPA_KRB5_CONFIG'], '--auth-url', peers_env['KEYSTONE_URL'],
         '--username', 'nova', '--password-file', str(password), '--project-name', 'service',
         '--user-domain-name', 'Default', '--project-domain-name', 'Default'],
        check=True, capture_output=True, text=True, timeout=120)
    text = join_conf.read_text()
    assert 'otp_secret' in text and peers_env['NOVA_PASSWORD'] in text
    # loopback only on a test machine
    join_conf.write_text(text + '\n[api]\nbind_host = 127.0.0.1\n')

    # the unit's ExecStart, with the venv's paths in place of /usr/bin and /etc
    unit = unit_settings(share / 'novajoin-server.service')
    argv = shlex.split(unit['ExecStart'][0])
    assert argv[0] == '/usr/bin/gunicorn'
    argv[0:1] = [python, '-m', 'gunicorn']   # gunicorn is lent, not installed here
    argv = [str(share / 'gunicorn.conf.py') if a == '/etc/novajoin/gunicorn.conf.py' else a
            for a in argv]
    env = dict(os.environ, NOVAJOIN_CONFIG_FILE=str(join_conf),
               PROMETHEUS_MULTIPROC_DIR=str(tmp_path / 'prometheus'))
    assert 'NOVAJOIN_CONFIG_FILE=/etc/novajoin/join.conf' in unit['Environment']
    proc = peers.Process(argv, tmp_path / 'gunicorn.log', env=env, cwd=str(tmp_path))
    url = 'http://127.0.0.1:%d' % port
    fqdn = 'inst-%s.%s' % (unique, ipa_env['IPA_DOMAIN'])
    try:
        peers.wait_for_http(url + '/healthcheck', 60, proc.proc)
        body = {'project-id': uuid.uuid4().hex, 'instance-id': str(uuid.uuid4()),
                'image-id': '', 'user-data': None, 'hostname': 'inst-%s' % unique,
                'metadata': {'ipa_enroll': 'true'}, 'boot-roles': 'member'}
        assert requests.post(url + '/v1/', json=body, timeout=10).status_code == 401
        resp = requests.post(url + '/v1/', json=body, timeout=30,
                             headers={'X-Auth-Token': nova_token(peers_env)})
        assert resp.status_code == 200, resp.text
        answer = resp.json()
        assert answer['hostname'] == fqdn and answer['ipaotp']
        assert ipa_admin.call('host_show', fqdn)['result']['has_password'] is True
        metrics = requests.get(url + '/metrics', timeout=10).text
        assert 'novajoin_otps_issued_total 1.0' in metrics
        assert answer['ipaotp'] not in proc.log()
    finally:
        proc.stop()
        try:
            ipa_admin.call('host_del', fqdn)
        except Exception:   # noqa: BLE001 - not created is fine
            pass
