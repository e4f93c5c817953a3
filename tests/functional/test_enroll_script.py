"""files/novajoin-enroll.sh, run with dash as a guest would run it.

The metadata service is nova's REAL metadata API (nova 34,
../shared/peers/nova_metadata_server.py --remote-ip-mode) calling a dynamic
vendordata target named `join`; the target URL comes from ONE fixture,
`join_target_url` (today the harness's echo_target; later novajoin-server
--dev). Nothing on this machine is changed: ipa-client-install, hostnamectl,
hostname, logger (and blkid, mount, package managers where used) are
recording stand-ins that come first on PATH, or the only things on it.

Needs: dash, shellcheck, curl, and the peers venv with keystone up
(../shared/peers/up.sh).
"""
import base64
import contextlib
import json
import os
import pathlib
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml  # PyYAML: a dependency of oslo.config

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / 'files' / 'novajoin-enroll.sh'
STATIC_JSON = ROOT / 'files' / 'cloud-config-novajoin.json'
PEERS = pathlib.Path(os.environ.get('NOVAJOIN_PEERS_DIR',
                                    ROOT.parent / 'shared' / 'peers'))
PEERS_PYTHON = os.environ.get('NOVAJOIN_PEERS_PYTHON',
                              '/tmp/peers/venv/bin/python')
KEYSTONE_URL = os.environ.get('KEYSTONE_URL', 'http://127.0.0.1:35357/v3')
VD_REL = 'openstack/latest/vendor_data2.json'
SEP = '--end-of-call--'

# What the echo target answers as `join`. The OTP has the characters a JSON
# string escapes (nova's json.dumps writes \" \\ and \uXXXX).
JOIN_ANSWER = {
    'hostname': 'vm1.example.test',
    'krb_realm': 'EXAMPLE.TEST',
    'ipaotp': 'Otp-"quoted"\\back/slash-\u20ac-\U0001F511-9Zq',
    'ipa_domain': 'example.test',
    'ipa_server': ['ipa1.example.test', 'ipa2.example.test'],
}
# nova's fake instance; ipa_enroll so that a real novajoin enrolls it too
INSTANCE = {'hostname': 'vm1', 'metadata': {'ipa_enroll': 'True'}}

# What the script needs besides sh builtins (a minimal image's tool set).
MINIMAL_TOOLS = ['mktemp', 'rm', 'cp', 'mkdir', 'od', 'tr', 'tail', 'sleep']

DASH = shutil.which('dash')


def expected_argv(join):
    """ipa-client-install's argv for a join object, per the script's rules."""
    argv = ['-U', '--hostname', join['hostname']]
    if join.get('krb_realm'):
        argv += ['--realm', join['krb_realm']]
    if join.get('ipa_domain'):
        argv += ['--domain', join['ipa_domain']]
        servers = join.get('ipa_server') or []
        if isinstance(servers, str):
            servers = [servers]
        for s in servers:
            argv += ['--server', s]
    return argv + ['-w', join['ipaotp']]


def b64(doc):
    return base64.urlsafe_b64encode(
        json.dumps(doc).encode()).decode().rstrip('=')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def bound_socket():
    """A port that refuses connections (bound, not listening) until a
    Forwarder listens on it: no race with anyone else for the port."""
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    return s


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    pytest.fail('timed out waiting for %s' % what)


# --------------------------------------------------------------- processes
class Proc(object):
    """A helper process, output to a log file, stopped by pid."""

    def __init__(self, name, argv, logdir):
        self.name = name
        self.log = pathlib.Path(logdir) / ('%s.log' % name)
        self._out = open(self.log, 'wb')
        self.p = subprocess.Popen(argv, stdout=self._out,
                                  stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)

    def wait_port(self, port, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.p.poll() is not None:
                pytest.fail('%s exited with %s:\n%s' % (
                    self.name, self.p.returncode, self.log.read_text()))
            try:
                socket.create_connection(('127.0.0.1', port), 0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        pytest.fail('%s did not listen on %d in %d s:\n%s' % (
            self.name, port, timeout, self.log.read_text()))

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self._out.close()


class Forwarder(object):
    """Relays TCP from an already bound socket to 127.0.0.1:port: a service
    that 'comes up' on a port the script is already trying."""

    def __init__(self, sock, port):
        self.sock = sock
        self.port = port
        self.conns = []
        self.stopping = False
        sock.listen(16)
        sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping:
            try:
                down, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            down.settimeout(None)
            try:
                up = socket.create_connection(('127.0.0.1', self.port))
            except OSError:
                down.close()
                continue
            self.conns += [down, up]
            for a, b in ((down, up), (up, down)):
                threading.Thread(target=self._pump, args=(a, b),
                                 daemon=True).start()

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
            dst.shutdown(socket.SHUT_WR)

    def close(self):
        self.stopping = True
        self.thread.join(5)
        for c in self.conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()
        self.sock.close()


class FakeHTTP(object):
    """Plain HTTP answers the real nova never gives (or not on demand)."""

    def __init__(self):
        self.routes = {}
        routes = self.routes

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                status, body = routes.get(self.path, (404, b'not found'))
                self.send_response(status)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def url(self, path, status, body):
        self.routes[path] = (status, body)
        return 'http://127.0.0.1:%d%s' % (self.httpd.server_address[1], path)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------------- fixtures
@pytest.fixture(scope='module')
def logdir(tmp_path_factory):
    return tmp_path_factory.mktemp('enroll-logs')


@pytest.fixture(scope='module')
def join_target_url(logdir):
    """The URL nova calls as the `join` dynamic vendordata target.

    Today: the harness's echo_target answering JOIN_ANSWER. To test against
    the real service, start `novajoin-server --dev` here and return its
    /v1/ URL; the tests take what to expect from nova's answer."""
    port = free_port()
    proc = Proc('echo_target', [
        PEERS_PYTHON, str(PEERS / 'echo_target.py'), '--port', str(port),
        '--record', str(logdir / 'echo_target.requests.jsonl')], logdir)
    try:
        proc.wait_port(port)
        yield 'http://127.0.0.1:%d/json/%s' % (port, b64(JOIN_ANSWER))
    finally:
        proc.stop()


class Nova(object):
    pass


@pytest.fixture(scope='module')
def nova(join_target_url, logdir):
    """nova's real metadata API, three ways, started in parallel (importing
    nova takes seconds):
      ok    target join@join_target_url, plus StaticJSON serving
            files/cloud-config-novajoin.json (as in production)
      down  target join@ a refusing port: nova serves {"join": {}}
      late  target join@ a refusing port that a test brings up later
            (a Forwarder to join_target_url's port)
    """
    try:
        urllib.request.urlopen(KEYSTONE_URL, timeout=5).close()
    except OSError as e:
        pytest.fail('keystone is not up at %s (%s): run %s/up.sh'
                    % (KEYSTONE_URL, e, PEERS))
    target = urllib.parse.urlsplit(join_target_url)
    n = Nova()
    n.target_port = target.port
    n.down_sock = bound_socket()
    n.late_sock = bound_socket()
    target_path = target.path + ('?' + target.query if target.query else '')
    specs = {
        'ok': [join_target_url, '--static-json', str(STATIC_JSON)],
        'down': ['http://127.0.0.1:%d/v1/' % n.down_sock.getsockname()[1]],
        'late': ['http://127.0.0.1:%d%s' % (n.late_sock.getsockname()[1],
                                             target_path)],
    }
    procs = []
    try:
        for name, (url, *extra) in specs.items():
            port = free_port()
            procs.append((port, Proc('nova-metadata-%s' % name, [
                PEERS_PYTHON, str(PEERS / 'nova_metadata_server.py'),
                '--remote-ip-mode', '--port', str(port),
                '--instance-json', json.dumps(INSTANCE),
                'join@' + url] + extra, logdir)))
            setattr(n, '%s_port' % name, port)
            setattr(n, '%s_url' % name,
                    'http://127.0.0.1:%d/%s' % (port, VD_REL))
        for port, proc in procs:
            proc.wait_port(port)
        yield n
    finally:
        for _, proc in procs:
            proc.stop()
        n.down_sock.close()
        n.late_sock.close()


def get_json(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.load(r)


class Result(object):
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    @property
    def error(self):
        """The last line, which for a failure is the reason."""
        lines = self.err.strip().splitlines()
        return lines[-1] if lines else ''


RECORDER = '''#!/bin/sh
# recording stand-in for %(name)s: argv one per line, then a separator
{ for a in "$@"; do printf '%%s\\n' "$a"; done; echo '%(sep)s'; } \\
    >>"$NJ_TEST_RECORD/%(name)s.argv"
export -p >>"$NJ_TEST_RECORD/%(name)s.env"
%(extra)s
exit "${NJ_TEST_RC_%(var)s:-0}"
'''


class Guest(object):
    """A fake guest: stand-ins, a config drive dir, the script's env."""

    def __init__(self, tmp_path):
        self.dir = tmp_path
        self.stubs = tmp_path / 'stubs'
        self.rec = tmp_path / 'rec'
        self.tmp = tmp_path / 'tmp'
        self.config_drive = tmp_path / 'config-drive'
        for d in (self.stubs, self.rec, self.tmp, self.config_drive):
            d.mkdir()
        self.minimal = False
        self.script = SCRIPT
        for name in ('ipa-client-install', 'hostnamectl', 'hostname',
                     'logger'):
            self.stub(name)
        self.env = {
            'PATH': '%s:%s' % (self.stubs, os.environ['PATH']),
            'NJ_TEST_RECORD': str(self.rec),
            # never probe or mount this machine's block devices
            'NOVAJOIN_CONFIG_DRIVE_DIR': str(self.config_drive),
            'NOVAJOIN_METADATA_URL': '',
            'NOVAJOIN_FETCH_TIMEOUT': '20',
            'NOVAJOIN_RETRY_INTERVAL': '1',
            'NOVAJOIN_HTTP_TIMEOUT': '10',
            'TMPDIR': str(self.tmp),
        }

    def stub(self, name, extra=''):
        path = self.stubs / name
        path.write_text(RECORDER % {
            'name': name, 'sep': SEP, 'extra': extra,
            'var': name.replace('-', '_')})
        path.chmod(0o755)
        return path

    def unstub(self, name):
        # only without the system PATH, or the real command would run
        assert self.minimal
        (self.stubs / name).unlink()

    def use_minimal_path(self, awk='awk', fetcher='curl', tools=()):
        """PATH = stand-ins + MINIMAL_TOOLS only (+ the given awk/fetcher):
        nothing real beyond them can run, and it shows what the script
        needs."""
        self.minimal = True
        minbin = self.dir / 'minbin'
        self.installed = self.dir / 'installed'
        minbin.mkdir()
        self.installed.mkdir()
        for tool in MINIMAL_TOOLS + list(tools) + ([fetcher] if fetcher
                                                   else []):
            real = shutil.which(tool)
            if real is None:
                pytest.skip('%s is not installed' % tool)
            (minbin / tool).symlink_to(real)
        if awk == 'gawk-posix':
            if shutil.which('gawk') is None:
                pytest.skip('gawk is not installed')
            (minbin / 'awk').write_text(
                '#!/bin/sh\nexec %s --posix "$@"\n' % shutil.which('gawk'))
            (minbin / 'awk').chmod(0o755)
        else:
            real = shutil.which(awk)
            if real is None:
                pytest.skip('%s is not installed' % awk)
            (minbin / 'awk').symlink_to(real)
        self.env['PATH'] = '%s:%s:%s' % (self.stubs, self.installed, minbin)

    def write_vendor_data(self, text):
        path = self.config_drive / VD_REL
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding='utf-8')

    def _env(self, env):
        e = dict(self.env)
        e.update(env)
        return e

    def run(self, *sh_opts, timeout=60, **env):
        p = subprocess.run([DASH] + list(sh_opts) + [str(self.script)],
                           env=self._env(env), capture_output=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
        return Result(p.returncode, p.stdout.decode('utf-8', 'replace'),
                      p.stderr.decode('utf-8', 'replace'))

    def start(self, **env):
        """Run in the background; stderr to a file, to watch progress."""
        self._err = self.dir / 'script.err'
        self._out = self.dir / 'script.out'
        with open(self._out, 'wb') as o, open(self._err, 'wb') as e:
            return subprocess.Popen([DASH, str(self.script)],
                                    env=self._env(env), stdout=o, stderr=e,
                                    stdin=subprocess.DEVNULL)

    def stderr_so_far(self):
        return self._err.read_text(encoding='utf-8', errors='replace')

    def finish(self, proc, timeout=60):
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        return Result(proc.returncode,
                      self._out.read_text(encoding='utf-8', errors='replace'),
                      self.stderr_so_far())

    def calls(self, name):
        path = self.rec / ('%s.argv' % name)
        if not path.exists():
            return []
        out, cur = [], []
        for line in path.read_text(encoding='utf-8').split('\n')[:-1]:
            if line == SEP:
                out.append(cur)
                cur = []
            else:
                cur.append(line)
        return out

    def recorded_text(self, skip=('ipa-client-install.argv',)):
        """Everything the stand-ins saw, except what may hold the OTP."""
        return ''.join(p.read_text(encoding='utf-8', errors='replace')
                       for p in sorted(self.rec.iterdir())
                       if p.name not in skip)

    def assert_secret_kept(self, result, otp):
        for where, text in (('stdout', result.out), ('stderr', result.err),
                            ('stand-ins (argv, environment)',
                             self.recorded_text())):
            assert otp not in text, 'the OTP leaked to %s' % where
        assert 'NJ_OTP' not in self.recorded_text()
        # the work dir holding vendor_data2.json is gone
        assert list(self.tmp.iterdir()) == []


@pytest.fixture
def guest(tmp_path):
    if DASH is None:
        pytest.fail('dash is not installed (apt-get install -y dash)')
    return Guest(tmp_path)


def assert_failed(result, guest, *phrases):
    assert result.rc == 1, result.err
    assert result.error.startswith('novajoin-enroll: ERROR: '), result.err
    for phrase in phrases:
        assert phrase in result.error
    assert guest.calls('ipa-client-install') == []
    assert guest.calls('hostnamectl') == []
    # the failure went to syslog as well
    assert result.error[len('novajoin-enroll: '):] in \
        guest.calls('logger')[-1]


# --------------------------------------------------------------- lint
def test_shellcheck_clean():
    # .ci/run installs shellcheck; missing it must fail, not skip
    shellcheck = shutil.which('shellcheck')
    assert shellcheck, 'shellcheck is not installed (apt-get install -y ' \
        'shellcheck)'
    r = subprocess.run([shellcheck, '-s', 'sh', str(SCRIPT)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == ''


def test_dash_syntax(guest):
    r = subprocess.run([DASH, '-n', str(SCRIPT)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr


# --------------------------------------------------------------- real nova
def test_enrolls_through_the_nova_metadata_api(guest, nova, tmp_path):
    # The script as a guest receives it: nova's StaticJSON vendor_data.json,
    # the cloud-config in its "cloud-init" key, write_files content.
    static = get_json(nova.ok_url.replace('vendor_data2', 'vendor_data'))
    cfg = yaml.safe_load(static['cloud-init'])
    delivered = cfg['write_files'][0]['content']
    assert delivered == SCRIPT.read_text(encoding='utf-8')
    guest.script = tmp_path / 'novajoin-enroll.sh'
    guest.script.write_text(delivered, encoding='utf-8')

    vd = get_json(nova.ok_url)
    join = vd['join']
    assert join.get('hostname') and join.get('ipaotp'), vd
    # the script text under "static" mentions "join" and "ipaotp" too
    assert vd['static'] == static

    r = guest.run(NOVAJOIN_METADATA_URL=nova.ok_url, NJ_OTP='inherited')
    assert r.rc == 0, r.err
    assert guest.calls('ipa-client-install') == [expected_argv(join)]
    assert guest.calls('hostnamectl') == [['set-hostname', join['hostname']]]
    assert guest.calls('hostname') == []
    assert '-w ********' in r.err
    assert 'join data from the metadata service' in r.err
    guest.assert_secret_kept(r, join['ipaotp'])
    assert any('enrolled %s' % join['hostname'] in ' '.join(c)
               for c in guest.calls('logger'))


def test_waits_for_the_metadata_service_to_come_up(guest, nova):
    sock = bound_socket()
    url = 'http://127.0.0.1:%d/%s' % (sock.getsockname()[1], VD_REL)
    proc = guest.start(NOVAJOIN_METADATA_URL=url)
    fwd = None
    try:
        wait_for(lambda: 'attempt 2: cannot fetch' in guest.stderr_so_far(),
                 15, 'two refused attempts')
        fwd = Forwarder(sock, nova.ok_port)
        r = guest.finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if fwd:
            fwd.close()
        else:
            sock.close()
    assert r.rc == 0, r.err
    assert 'retrying in' in r.err
    join = get_json(nova.ok_url)['join']
    assert guest.calls('ipa-client-install') == [expected_argv(join)]
    guest.assert_secret_kept(r, join['ipaotp'])


def test_retries_while_nova_serves_an_empty_join(guest, nova):
    # nova answers {"join": {}} while the target is down (novajoin
    # restarting), then the real answer once it is up.
    proc = guest.start(NOVAJOIN_METADATA_URL=nova.late_url)
    fwd = None
    try:
        wait_for(lambda: '"join" in vendor_data2.json is empty'
                 in guest.stderr_so_far(), 20, 'an empty join from nova')
        fwd = Forwarder(nova.late_sock, nova.target_port)
        r = guest.finish(proc)
        join = get_json(nova.late_url)['join']
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if fwd:
            fwd.close()
    assert r.rc == 0, r.err
    assert guest.calls('ipa-client-install') == [expected_argv(join)]
    guest.assert_secret_kept(r, join['ipaotp'])


def test_fails_when_join_stays_empty(guest, nova):
    r = guest.run(NOVAJOIN_METADATA_URL=nova.down_url,
                  NOVAJOIN_FETCH_TIMEOUT='1')
    assert_failed(r, guest, '"join" in the vendor data is empty',
                  'ipa_enroll', 'novajoin')


def test_config_drive_without_join_falls_back_to_metadata_service(guest,
                                                                  nova):
    guest.write_vendor_data('{"join": {}}')
    r = guest.run(NOVAJOIN_METADATA_URL=nova.ok_url)
    assert r.rc == 0, r.err
    assert 'config drive: "join" in vendor_data2.json is empty' in r.err
    assert 'trying the metadata service' in r.err
    join = get_json(nova.ok_url)['join']
    assert guest.calls('ipa-client-install') == [expected_argv(join)]


@pytest.mark.parametrize('fetcher', ['curl', 'wget'])
def test_fetches_with_curl_or_wget_alone(guest, nova, fetcher):
    guest.use_minimal_path(fetcher=fetcher)
    r = guest.run(NOVAJOIN_METADATA_URL=nova.ok_url)
    assert r.rc == 0, r.err
    join = get_json(nova.ok_url)['join']
    assert guest.calls('ipa-client-install') == [expected_argv(join)]


# --------------------------------------------------------------- fetching
@pytest.fixture
def fake_http():
    srv = FakeHTTP()
    yield srv
    srv.close()


def test_fetch_timeout_when_nothing_answers(guest):
    sock = bound_socket()
    url = 'http://127.0.0.1:%d/%s' % (sock.getsockname()[1], VD_REL)
    try:
        r = guest.run(NOVAJOIN_METADATA_URL=url, NOVAJOIN_FETCH_TIMEOUT='2')
    finally:
        sock.close()
    assert_failed(r, guest, 'could not fetch vendor data from %s within 2 s'
                  % url, 'last error: curl: (7)')
    assert 'attempt 2: cannot fetch' in r.err


@pytest.mark.parametrize('status, body, phrase', [
    (500, b'A server error occurred.', 'within 1 s (last error: curl: (22)'),
    (200, b'', 'within 1 s (last error: empty answer)'),
    (200, b'<html>not json</html>', 'the vendor data is not valid JSON'),
    (200, b'{"join": {"hostname": "x.example.test"', 'not valid JSON'),
])
def test_fetch_failures(guest, fake_http, status, body, phrase):
    url = fake_http.url('/vd', status, body)
    r = guest.run(NOVAJOIN_METADATA_URL=url, NOVAJOIN_FETCH_TIMEOUT='1')
    assert_failed(r, guest, phrase)


@pytest.mark.parametrize('body, phrase', [
    (b'{"static": {"cloud-init": "x"}}', 'no "join" key'),
    (b'{"join": ["vm1.example.test"]}', '"join" in the vendor data is not '
     'an object'),
])
def test_wrong_join_fails_without_waiting(guest, fake_http, body, phrase):
    # nova's configuration will not change while the script waits
    url = fake_http.url('/vd', 200, body)
    r = guest.run(NOVAJOIN_METADATA_URL=url, NOVAJOIN_FETCH_TIMEOUT='60')
    assert_failed(r, guest, phrase)
    assert 'retrying' not in r.err


def test_no_curl_and_no_wget(guest, fake_http):
    guest.use_minimal_path(fetcher=None)
    url = fake_http.url('/vd', 200, json.dumps({'join': JOIN_ANSWER})
                        .encode())
    r = guest.run(NOVAJOIN_METADATA_URL=url, NOVAJOIN_FETCH_TIMEOUT='1')
    assert_failed(r, guest, 'neither curl nor wget is installed')


# --------------------------------------------------------------- parsing
def _decoy_first(join):
    # A string and an object elsewhere that look like join data.
    return json.dumps({
        'static': {'cloud-init': '#cloud-config\n# "join": {"hostname": '
                   '"evil.example.test", "ipaotp": "decoy"}\n',
                   'join': {'hostname': 'evil.example.test',
                            'ipaotp': 'decoy'}},
        'other': [{'join': {'ipaotp': 'decoy'}}, 'ipaotp', 1.5e3, None,
                  True, False, -0.25],
        'join': join})


VARIANTS = {
    'nova': lambda j: json.dumps({'join': j}),
    'compact': lambda j: json.dumps({'join': j}, separators=(',', ':')),
    'indented': lambda j: json.dumps({'join': j}, indent=4) + '\n',
    'crlf-tabs': lambda j: json.dumps({'join': j}, indent='\t')
    .replace('\n', '\r\n'),
    'reordered': lambda j: json.dumps({'join': dict(reversed(j.items()))}),
    'utf8-not-ascii': lambda j: json.dumps({'join': j}, ensure_ascii=False),
    'escaped-slashes': lambda j: json.dumps({'join': j}).replace('/', '\\/'),
    'decoys': _decoy_first,
    'duplicate-key': lambda j: '{"join": {"hostname": "old.example.test", '
    '"ipaotp": "old"}, "x": 1, "join": %s}' % json.dumps(j),
}


@pytest.mark.parametrize('variant', sorted(VARIANTS))
def test_config_drive_json_variants(guest, variant):
    guest.write_vendor_data(VARIANTS[variant](JOIN_ANSWER))
    r = guest.run()
    assert r.rc == 0, r.err
    assert guest.calls('ipa-client-install') == [[
        '-U', '--hostname', 'vm1.example.test', '--realm', 'EXAMPLE.TEST',
        '--domain', 'example.test', '--server', 'ipa1.example.test',
        '--server', 'ipa2.example.test', '-w', JOIN_ANSWER['ipaotp']]]
    assert 'join data from the config drive' in r.err
    guest.assert_secret_kept(r, JOIN_ANSWER['ipaotp'])


@pytest.mark.parametrize('awk', ['mawk', 'gawk', 'gawk-posix', 'busybox'])
def test_parses_with_each_awk_on_a_minimal_image(guest, awk):
    if awk == 'busybox':
        if shutil.which('busybox') is None:
            pytest.skip('busybox is not installed')
        guest.use_minimal_path(awk='true', fetcher=None)
        awk_path = guest.dir / 'minbin' / 'awk'
        awk_path.unlink()
        awk_path.write_text('#!/bin/sh\nexec %s awk "$@"\n'
                            % shutil.which('busybox'))
        awk_path.chmod(0o755)
    else:
        guest.use_minimal_path(awk=awk, fetcher=None)
    # no hostnamectl on this image: the script falls back to hostname
    guest.unstub('hostnamectl')
    guest.write_vendor_data(_decoy_first(JOIN_ANSWER))
    r = guest.run()
    assert r.rc == 0, r.err
    assert guest.calls('ipa-client-install') == [expected_argv(JOIN_ANSWER)]
    assert guest.calls('hostname') == [['vm1.example.test']]
    guest.assert_secret_kept(r, JOIN_ANSWER['ipaotp'])


BASE = {'hostname': 'vm2.example.test', 'ipaotp': 'S3cret0tp'}


@pytest.mark.parametrize('extra, argv_middle, note', [
    ({}, [], None),
    ({'krb_realm': 'EXAMPLE.TEST'}, ['--realm', 'EXAMPLE.TEST'], None),
    ({'ipa_domain': 'example.test', 'ipa_server': []},
     ['--domain', 'example.test'], None),
    ({'ipa_domain': 'example.test', 'ipa_server': 'ipa.example.test'},
     ['--domain', 'example.test', '--server', 'ipa.example.test'], None),
    ({'krb_realm': None, 'ipa_domain': '', 'ipa_server': None}, [], None),
    ({'ipa_server': ['ipa.example.test']}, [],
     'ipa_server given without ipa_domain'),
])
def test_only_options_with_values(guest, extra, argv_middle, note):
    join = dict(BASE, **extra)
    guest.write_vendor_data(json.dumps({'join': join}))
    r = guest.run()
    assert r.rc == 0, r.err
    assert guest.calls('ipa-client-install') == [
        ['-U', '--hostname', 'vm2.example.test'] + argv_middle +
        ['-w', 'S3cret0tp']]
    if note:
        assert note in r.err


def test_xtrace_does_not_show_the_otp(guest):
    guest.write_vendor_data(json.dumps({'join': BASE}))
    r = guest.run('-x')
    assert r.rc == 0, r.err
    guest.assert_secret_kept(r, BASE['ipaotp'])


# --------------------------------------------------------------- failures
@pytest.mark.parametrize('doc, phrases', [
    ({'static': {'join': BASE}}, ['no "join" key']),
    ({'join': {}}, ['"join" in the vendor data is empty', 'ipa_enroll']),
    ({'join': 'vm2.example.test'}, ['"join" in the vendor data is not an '
                                    'object']),
    ({'join': {'ipaotp': 'S3cret0tp'}}, ['no hostname']),
    ({'join': {'hostname': None, 'ipaotp': 'S3cret0tp'}}, ['no hostname']),
    ({'join': {'hostname': 'vm2.example.test'}},
     ['no OTP', 'already enrolled', 'vm2.example.test']),
    ({'join': {'hostname': 'vm2.example.test', 'ipaotp': ''}},
     ['no OTP', 'already enrolled']),
    ({'join': dict(BASE, hostname='-vm2.example.test')},
     ['not a valid DNS name']),
    ({'join': dict(BASE, hostname='vm2 example.test')},
     ['not a valid DNS name']),
    ({'join': dict(BASE, hostname='vm2')}, ['not fully qualified']),
    ({'join': dict(BASE, krb_realm='EXAMPLE TEST')}, ['not a valid realm']),
    ({'join': dict(BASE, ipa_domain='example.test',
                   ipa_server=['ipa.example.test', '*'])},
     ['ipa_server entry', 'not a valid DNS name']),
], ids=['no-join', 'empty-join', 'join-not-object', 'no-hostname',
        'null-hostname', 'no-otp', 'empty-otp', 'hostname-dash',
        'hostname-space', 'hostname-short', 'bad-realm', 'bad-server'])
def test_failure_messages(guest, doc, phrases):
    guest.write_vendor_data(json.dumps(doc))
    r = guest.run()
    assert_failed(r, guest, *phrases)
    assert 'S3cret0tp' not in r.err + guest.recorded_text()


def test_no_vendor_data_at_all(guest):
    r = guest.run()
    assert_failed(r, guest, 'no vendor data', 'metadata service is disabled')


@pytest.mark.parametrize('name, value', [
    ('NOVAJOIN_FETCH_TIMEOUT', 'soon'),
    ('NOVAJOIN_RETRY_INTERVAL', '0'),
    ('NOVAJOIN_HTTP_TIMEOUT', '-1'),
])
def test_bad_settings(guest, name, value):
    r = guest.run(**{name: value})
    assert_failed(r, guest, name)


@pytest.mark.parametrize('code', [1, 3, 42])
def test_ipa_client_install_exit_status_is_propagated(guest, code):
    guest.write_vendor_data(json.dumps({'join': JOIN_ANSWER}))
    r = guest.run(NJ_TEST_RC_ipa_client_install=str(code))
    assert r.rc == code, r.err
    assert r.error == ('novajoin-enroll: ERROR: ipa-client-install failed '
                       'with exit status %d' % code)
    assert guest.calls('ipa-client-install') == [expected_argv(JOIN_ANSWER)]
    guest.assert_secret_kept(r, JOIN_ANSWER['ipaotp'])


def test_hostname_failure_is_only_a_warning(guest):
    guest.write_vendor_data(json.dumps({'join': BASE}))
    r = guest.run(NJ_TEST_RC_hostnamectl='1')
    assert r.rc == 0, r.err
    assert 'could not set the hostname' in r.err
    assert len(guest.calls('ipa-client-install')) == 1


# --------------------------------------------------------------- config drive
def test_config_drive_is_preferred(guest):
    sock = bound_socket()
    url = 'http://127.0.0.1:%d/%s' % (sock.getsockname()[1], VD_REL)
    guest.write_vendor_data(json.dumps({'join': BASE}))
    try:
        r = guest.run(NOVAJOIN_METADATA_URL=url)
    finally:
        sock.close()
    assert r.rc == 0, r.err
    assert 'cannot fetch' not in r.err
    assert guest.calls('ipa-client-install')[0][-2:] == ['-w', 'S3cret0tp']


@pytest.mark.parametrize('label', ['config-2', 'CONFIG-2'])
def test_finds_and_mounts_the_config_drive(guest, label):
    guest.use_minimal_path(fetcher=None)
    fake = guest.dir / 'fake-drive'
    (fake / 'openstack' / 'latest').mkdir(parents=True)
    (fake / VD_REL).write_text(json.dumps({'join': BASE}))
    guest.stub('blkid', extra='[ "$2" = "LABEL=%s" ] && echo /dev/fakecd'
               % label)
    # "mounting" copies the fake drive into the mount point
    guest.stub('mount', extra='for a in "$@"; do dir=$a; done\n'
               '/bin/cp -R "$NJ_TEST_FAKE_CD/." "$dir"')
    guest.stub('umount')
    env = dict(guest.env)
    del env['NOVAJOIN_CONFIG_DRIVE_DIR']
    guest.env = env
    r = guest.run(NJ_TEST_FAKE_CD=str(fake))
    assert r.rc == 0, r.err
    [mount] = guest.calls('mount')
    assert mount[:3] == ['-o', 'ro', '/dev/fakecd']
    # unmounted before the work dir is removed
    assert guest.calls('umount') == [[mount[3]]]
    assert guest.calls('ipa-client-install')[0][-2:] == ['-w', 'S3cret0tp']
    guest.assert_secret_kept(r, 'S3cret0tp')


# --------------------------------------------------------------- packages
PKG_STUB = '''pkg=
for a in "$@"; do pkg=$a; done
[ "$1" = update ] && exit 0
if [ "$pkg" = "${NJ_TEST_PKG_OK:-}" ]; then
    [ -n "${NJ_TEST_PKG_NOBIN:-}" ] ||
        /bin/cp "$NJ_TEST_IPA_STUB" "$NJ_TEST_INSTALLED/ipa-client-install"
    exit 0
fi
exit 100'''


@pytest.fixture
def pkg_guest(guest):
    """ipa-client-install missing; package managers are stand-ins that
    'install' the recording ipa-client-install."""
    guest.use_minimal_path(fetcher=None)
    stub = guest.dir / 'ipa-client-install.stub'
    (guest.stubs / 'ipa-client-install').rename(stub)
    guest.env.update(NJ_TEST_IPA_STUB=str(stub),
                     NJ_TEST_INSTALLED=str(guest.installed))
    guest.write_vendor_data(json.dumps({'join': BASE}))
    return guest


@pytest.mark.parametrize('manager, ok_pkg, calls', [
    ('dnf', 'ipa-client', [['install', '-y', 'ipa-client']]),
    ('dnf', 'freeipa-client', [['install', '-y', 'ipa-client'],
                               ['install', '-y', 'freeipa-client']]),
    ('yum', 'ipa-client', [['install', '-y', 'ipa-client']]),
    ('apt-get', 'freeipa-client', [['update', '-q'],
                                   ['install', '-y', '-q', 'freeipa-client']]),
])
def test_installs_the_ipa_client(pkg_guest, manager, ok_pkg, calls):
    pkg_guest.stub(manager, extra=PKG_STUB)
    r = pkg_guest.run(NJ_TEST_PKG_OK=ok_pkg)
    assert r.rc == 0, r.err
    assert pkg_guest.calls(manager) == calls
    assert len(pkg_guest.calls('ipa-client-install')) == 1
    if manager == 'apt-get':
        assert "DEBIAN_FRONTEND='noninteractive'" in \
            (pkg_guest.rec / 'apt-get.env').read_text()


def test_prefers_dnf(pkg_guest):
    for manager in ('dnf', 'yum', 'apt-get'):
        pkg_guest.stub(manager, extra=PKG_STUB)
    r = pkg_guest.run(NJ_TEST_PKG_OK='ipa-client')
    assert r.rc == 0, r.err
    assert pkg_guest.calls('yum') == pkg_guest.calls('apt-get') == []


def test_no_package_manager(pkg_guest):
    r = pkg_guest.run()
    assert_failed(r, pkg_guest, 'no dnf, yum or apt-get')


def test_package_install_fails(pkg_guest):
    pkg_guest.stub('dnf', extra=PKG_STUB)
    r = pkg_guest.run(NJ_TEST_PKG_OK='nothing')
    assert_failed(r, pkg_guest, 'installing the IPA client package failed')


def test_package_without_ipa_client_install(pkg_guest):
    pkg_guest.stub('yum', extra=PKG_STUB)
    r = pkg_guest.run(NJ_TEST_PKG_OK='ipa-client', NJ_TEST_PKG_NOBIN='1')
    assert_failed(r, pkg_guest, 'did not provide ipa-client-install')
