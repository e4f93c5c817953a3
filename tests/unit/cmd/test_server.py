"""novajoin-server: dev mode works out of the box; production refuses bad config."""
import json
import os
import re
import subprocess
import sys
import time

import requests

from novajoin.cmd import server
from tests.functional.peers import Process
from tests.functional.peers import free_port
from tests.functional.peers import wait_for_http


def exe():
    return os.path.join(os.path.dirname(sys.executable), 'novajoin-server')


def test_dev_mode_prints_a_working_curl_and_enrolls(tmp_path):
    port = free_port()
    proc = Process([exe(), '--dev', '--port', str(port)], tmp_path / 'dev.log',
                   env=dict(os.environ, NOVAJOIN_CONFIG_FILE=str(tmp_path / 'none.conf')))
    try:
        deadline = time.monotonic() + 30
        while 'curl -s -X POST' not in proc.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        log = proc.log()
        assert 'DEVELOPMENT MODE -- not for production' in log
        assert 'AUTHENTICATION IS OFF' in log
        body = json.loads(re.search(r"-d '(\{.*\})'", log).group(1))
        try:   # the banner comes before the server listens
            wait_for_http('http://127.0.0.1:%d/healthcheck' % port, 60, proc.proc)
        except RuntimeError as exc:
            raise AssertionError('%s\n%s' % (exc, proc.log()))
        resp = requests.post('http://127.0.0.1:%d/v1/' % port, json=body, timeout=5)
        assert resp.status_code == 200
        answer = resp.json()
        assert answer['hostname'] == '%s.example.test' % body['hostname']
        assert answer['krb_realm'] == 'EXAMPLE.TEST' and len(answer['ipaotp']) == 32
        again = requests.post('http://127.0.0.1:%d/v1/' % port, json=body, timeout=5)
        assert again.json() == answer
        assert answer['ipaotp'] not in proc.log()
    finally:
        proc.stop()


def test_production_mode_refuses_to_start_without_otp_secret(tmp_path, capsys):
    conf = tmp_path / 'join.conf'
    conf.write_text('[ipa]\nservers = ipa.example.test\nauth_method = password\n'
                    'user = admin\npassword = x\n')
    assert server.main(['--config-file', str(conf)]) == 2
    assert 'otp_secret must be at least 32 characters' in capsys.readouterr().err


def test_production_mode_refuses_without_ipa_servers(tmp_path, capsys):
    conf = tmp_path / 'join.conf'
    conf.write_text('[join]\notp_secret = %s\n' % ('s' * 40))
    assert server.main(['--config-file', str(conf)]) == 2
    assert 'no IPA server configured' in capsys.readouterr().err


def test_wsgi_module_import_has_no_side_effects():
    out = subprocess.run(
        [sys.executable, '-c', 'import novajoin.wsgi as w, os; '
         'print(w.application._app is None, "KRB5_CONFIG" in os.environ)'],
        capture_output=True, text=True, env={'PATH': os.environ['PATH'],
                                             'NOVAJOIN_CONFIG_FILE': '/nonexistent'})
    assert out.stdout.split() == ['True', 'False'], out.stderr
