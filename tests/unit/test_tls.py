"""TLS on the vendordata API: [api] cert_file/key_file are checked at start,
handed to gunicorn on both start paths (novajoin-server and the systemd
gunicorn.conf.py), and plain HTTP is announced as a warning.

The end-to-end proof with real nova is tests/functional/test_tls.py.
"""
import json
import logging
import os
import subprocess
import sys
import time

import pytest
import requests

from novajoin import conf as conf_pkg
from novajoin.cmd import server
from novajoin.conf import api
from tests.functional.novajoin_server import make_tls
from tests.functional.peers import Process
from tests.functional.peers import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GUNICORN_CONF = os.path.join(ROOT, 'files', 'gunicorn.conf.py')
VALID = ('[join]\notp_secret = %s\n[ipa]\nservers = ipa.example.test\n'
         'auth_method = password\nuser = admin\npassword = x\n' % ('s' * 40))


@pytest.fixture(scope='module')
def pki(tmp_path_factory):
    tls = make_tls(tmp_path_factory.mktemp('pki'))
    other = make_tls(tmp_path_factory.mktemp('other'))
    encrypted = str(tmp_path_factory.mktemp('enc') / 'server.key')
    subprocess.run(['openssl', 'pkey', '-in', tls['key'], '-aes256', '-passout', 'pass:x',
                    '-out', encrypted], check=True, capture_output=True)
    return dict(tls, other_key=other['key'], encrypted_key=encrypted)


def conf_with(**api_opts):
    c = conf_pkg.new_conf()
    c([], project='novajoin', default_config_files=[])
    for name, value in api_opts.items():
        c.set_override(name, value, group='api')
    return c


# -- the check ------------------------------------------------------------------

def test_neither_file_is_plain_http():
    assert api.tls_files(conf_with()) is None


def test_a_matching_pair_is_tls(pki):
    assert api.tls_files(conf_with(cert_file=pki['cert'], key_file=pki['key'])) == \
        (pki['cert'], pki['key'])


@pytest.mark.parametrize('given, missing', [('cert_file', 'key_file'),
                                            ('key_file', 'cert_file')])
def test_only_one_file_is_refused(pki, given, missing):
    path = pki['cert'] if given == 'cert_file' else pki['key']
    with pytest.raises(ValueError) as exc:
        api.tls_files(conf_with(**{given: path}))
    assert str(exc.value).startswith(
        '[api] cert_file and key_file must be set together: only %s is set' % given)


@pytest.mark.parametrize('which', ['cert_file', 'key_file'])
def test_an_unreadable_file_is_refused_by_name(pki, tmp_path, which):
    paths = {'cert_file': pki['cert'], 'key_file': pki['key']}
    paths[which] = str(tmp_path / 'missing.pem')
    with pytest.raises(ValueError, match=r'\[api\] %s .*missing.pem cannot be read: '
                       'No such file' % which):
        api.tls_files(conf_with(**paths))
    paths[which] = str(tmp_path)   # a directory: readable by no one as a file
    with pytest.raises(ValueError, match=r'\[api\] %s .* cannot be read' % which):
        api.tls_files(conf_with(**paths))


def test_an_encrypted_key_is_refused_without_prompting(pki):
    with pytest.raises(ValueError, match='is encrypted: gunicorn cannot ask'):
        api.tls_files(conf_with(cert_file=pki['cert'], key_file=pki['encrypted_key']))


@pytest.mark.parametrize('cert, key', [('cert', 'other_key'), ('cert', 'cert'),
                                       ('key', 'key')])
def test_a_pair_that_does_not_match_is_refused(pki, cert, key):
    with pytest.raises(ValueError, match='are not a PEM certificate and its private key'):
        api.tls_files(conf_with(cert_file=pki[cert], key_file=pki[key]))


def test_the_message_never_holds_the_key(pki):
    with open(pki['key']) as f:
        key_text = f.read()
    body = key_text.splitlines()[1]
    for cert, key in ((pki['cert'], pki['other_key']), (pki['key'], pki['key'])):
        with pytest.raises(ValueError) as exc:
            api.tls_files(conf_with(cert_file=cert, key_file=key))
        assert body not in str(exc.value)


def test_notice_is_info_with_tls_and_a_warning_without():
    level, message = api.transport_notice(conf_with(bind_host='10.0.0.1'), ('/c', '/k'))
    assert level == logging.INFO
    assert message == 'TLS is on: serving https://10.0.0.1:9090 (certificate /c)'
    level, message = api.transport_notice(conf_with(), None, port=9191)
    assert level == logging.WARNING
    assert message.startswith('TLS IS OFF: serving plain http://0.0.0.0:9191; every OTP '
                              'and nova\'s keystone token crosses the network in clear')
    _, message = api.transport_notice(conf_with(auth_enabled=False), None)
    assert 'token' not in message and 'every OTP crosses' in message


# -- novajoin-server ---------------------------------------------------------------

def _join_conf(tmp_path, api_lines=''):
    path = tmp_path / 'join.conf'
    path.write_text(VALID + '[api]\n' + api_lines)
    return str(path)


def test_server_refuses_half_tls_at_start(tmp_path, capsys, pki):
    conf = _join_conf(tmp_path, 'cert_file = %s\n' % pki['cert'])
    assert server.main(['--config-file', conf]) == 2
    assert 'cert_file and key_file must be set together' in capsys.readouterr().err


def test_server_refuses_an_unreadable_key_at_start(tmp_path, capsys, pki):
    conf = _join_conf(tmp_path, 'cert_file = %s\nkey_file = %s\n'
                      % (pki['cert'], tmp_path / 'nope.key'))
    assert server.main(['--config-file', conf]) == 2
    assert 'key_file %s cannot be read' % (tmp_path / 'nope.key') in capsys.readouterr().err


@pytest.mark.parametrize('with_tls', [True, False])
def test_server_gives_gunicorn_the_pair_and_logs_the_mode(tmp_path, pki, monkeypatch,
                                                          with_tls):
    lines = 'cert_file = %s\nkey_file = %s\n' % (pki['cert'], pki['key']) if with_tls else ''
    seen, logged = {}, []

    def fake_gunicorn(conf, tls=None):
        app = real_gunicorn(conf, tls)
        seen.update(certfile=app.cfg.certfile, keyfile=app.cfg.keyfile,
                    is_ssl=bool(app.cfg.is_ssl))
        return type('NotRun', (), {'run': lambda self: None})()

    real_gunicorn = server._gunicorn
    monkeypatch.setattr(server, '_gunicorn', fake_gunicorn)
    monkeypatch.setattr(server.LOG, 'log', lambda level, msg: logged.append((level, msg)))
    assert server.main(['--config-file', _join_conf(tmp_path, lines)]) == 0
    if with_tls:
        assert seen == {'certfile': pki['cert'], 'keyfile': pki['key'], 'is_ssl': True}
        assert logged == [(logging.INFO, 'TLS is on: serving https://0.0.0.0:9090 '
                           '(certificate %s)' % pki['cert'])]
    else:
        assert seen == {'certfile': None, 'keyfile': None, 'is_ssl': False}
        assert [level for level, _ in logged] == [logging.WARNING]
        assert logged[0][1].startswith('TLS IS OFF')


# -- files/gunicorn.conf.py (the systemd unit's path) -----------------------------------

def _gunicorn_conf(conf_path):
    code = ('import json, runpy\n'
            'ns = runpy.run_path(%r)\n'
            'print(json.dumps({k: ns.get(k) for k in ("certfile", "keyfile")}))'
            % GUNICORN_CONF)
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          env={'NOVAJOIN_CONFIG_FILE': conf_path, 'PATH': '/usr/bin:/bin'},
                          timeout=60)


def test_gunicorn_conf_sets_the_pair(tmp_path, pki):
    proc = _gunicorn_conf(_join_conf(tmp_path, 'cert_file = %s\nkey_file = %s\n'
                                     % (pki['cert'], pki['key'])))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {'certfile': pki['cert'], 'keyfile': pki['key']}
    proc = _gunicorn_conf(_join_conf(tmp_path))
    assert json.loads(proc.stdout) == {'certfile': None, 'keyfile': None}


def test_gunicorn_conf_refuses_half_tls(tmp_path, pki):
    proc = _gunicorn_conf(_join_conf(tmp_path, 'key_file = %s\n' % pki['key']))
    assert proc.returncode != 0
    assert 'cert_file and key_file must be set together: only key_file' in proc.stderr


def test_gunicorn_with_the_shipped_conf_serves_https_only(tmp_path, pki):
    port = free_port()
    conf = _join_conf(tmp_path, 'bind_host = 127.0.0.1\nbind_port = %d\n'
                      'auth_enabled = false\ncert_file = %s\nkey_file = %s\n'
                      % (port, pki['cert'], pki['key']))
    gunicorn = os.path.join(os.path.dirname(sys.executable), 'gunicorn')
    proc = Process([gunicorn, '--config', GUNICORN_CONF], tmp_path / 'gunicorn.log',
                   env=dict(os.environ, NOVAJOIN_CONFIG_FILE=conf))
    url = '127.0.0.1:%d/healthcheck' % port
    try:
        for _ in range(300):
            try:
                resp = requests.get('https://' + url, verify=pki['ca'], timeout=1)
                break
            except requests.RequestException:
                assert proc.proc.poll() is None, proc.log()
                time.sleep(0.1)
        else:
            raise AssertionError('gunicorn did not serve https:\n' + proc.log())
        assert resp.status_code == 200
        with pytest.raises(requests.ConnectionError):
            requests.get('http://' + url, timeout=5)
        assert 'TLS is on: serving https://127.0.0.1:%d' % port in proc.log()
    finally:
        proc.stop()
