"""Access to the real peers from ../shared: FreeIPA, keystone + nova, RabbitMQ.

A peer that is not up makes the tests that need it FAIL with the command that
starts it; they are never skipped. .ci/run starts all of them first.
"""
import contextlib
import os
import pathlib
import socket
import subprocess
import sys
import time

import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = pathlib.Path(os.environ.get('NOVAJOIN_SHARED', ROOT.parent / 'shared'))
IPA_DIR = SHARED / 'ipa'
PEERS_DIR = SHARED / 'peers'
RABBIT_URL = os.environ.get('NOVAJOIN_TEST_TRANSPORT_URL',
                            'rabbit://guest:guest@127.0.0.1:5672/')


def read_env_file(path):
    """The variables a shell env file defines, as bash would see them."""
    out = subprocess.run(['bash', '-c', 'set -a; . "$1"; env -0', '_', str(path)],
                         check=True, capture_output=True, env={'PATH': os.environ['PATH']})
    pairs = (item.split('=', 1) for item in out.stdout.decode().split('\0') if '=' in item)
    return dict(pairs)


def free_port():
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def port_open(host, port, timeout=1.0):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_http(url, timeout=30.0, proc=None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError('process for %s exited with %s' % (url, proc.returncode))
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError('%s did not answer within %.0f s' % (url, timeout))


def ipa_env():
    env = read_env_file(IPA_DIR / 'ipa.env')
    try:
        resp = requests.post(env['IPA_LOGIN_URL'], headers={'Referer': env['IPA_URL']},
                             data={'user': env['IPA_ADMIN_USER'],
                                   'password': env['IPA_ADMIN_PASSWORD']},
                             verify=env['IPA_CA_CERT'], timeout=10)
        resp.raise_for_status()
    except (requests.RequestException, OSError) as exc:
        pytest.fail('the FreeIPA peer is not up (%s); start it with %s/up.sh'
                    % (exc, IPA_DIR), pytrace=False)
    return env


def peers_env():
    env = read_env_file(PEERS_DIR / 'peers.env')
    try:
        requests.get(env['KEYSTONE_URL'], timeout=5).raise_for_status()
    except requests.RequestException as exc:
        pytest.fail('keystone of the peers is not up (%s); start it with %s/up.sh'
                    % (exc, PEERS_DIR), pytrace=False)
    if not os.path.exists(os.path.join(env['PEERS_VENV'], 'bin', 'python')):
        pytest.fail('the peers venv is missing; run %s/up.sh' % PEERS_DIR, pytrace=False)
    return env


def rabbit_url():
    if not port_open('127.0.0.1', 5672):
        pytest.fail('RabbitMQ is not up on 127.0.0.1:5672 (rabbitmq-server -detached)',
                    pytrace=False)
    return RABBIT_URL


class Process:
    """A child process with its output in a log file, stopped at the end."""

    def __init__(self, args, log_path, env=None, cwd=None):
        self.log_path = pathlib.Path(log_path)
        self._log = open(self.log_path, 'wb')
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT,
                                     env=env, cwd=cwd, start_new_session=True)

    def log(self):
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors='replace')

    def stop(self, sig=15, timeout=10):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
        self._log.close()


def python():
    return sys.executable
