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
import threading
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


def ipa_join(env, fqdn, password):
    """A guest's enrollment step for real: ipa-join with the OTP (the
    CompletedProcess; the keytab is thrown away)."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        return subprocess.run(
            [env['IPA_JOIN'], '-s', env['IPA_SERVER'], '-h', fqdn, '-w', password,
             '-k', tmp + '/host.keytab'], capture_output=True, text=True,
            timeout=60, env={'PATH': '/usr/bin:/bin',
                             'KRB5_CONFIG': env['IPA_KRB5_CONFIG']})


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


class TCPForwarder:
    """127.0.0.1:``port`` relayed byte for byte to ``target``; ``down()``
    refuses new connections and cuts the open ones, ``up()`` serves again.

    Until the first ``up()`` the port is held bound but not listening, so a
    client is refused, as by a service that has not started yet, and nobody
    else can take the port meanwhile.
    """

    def __init__(self, target):
        self.target = target
        self._bound = socket.socket()
        self._bound.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._bound.bind(('127.0.0.1', 0))
        self.port = self._bound.getsockname()[1]
        self._server = None
        self._conns = []
        self._lock = threading.Lock()

    def up(self):
        server, self._bound = self._bound, None
        if server is None:
            server = socket.socket()
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(('127.0.0.1', self.port))
        server.listen(64)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()
        return self

    def down(self):
        """Refuse new connections and cut the open ones."""
        server, self._server = self._server or self._bound, None
        self._bound = None
        if server:
            # close() alone leaves a thread blocked in accept() listening
            with contextlib.suppress(OSError):
                server.shutdown(socket.SHUT_RDWR)
            server.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _accept(self, server):
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)   # pass the end of the stream on


def python():
    return sys.executable
