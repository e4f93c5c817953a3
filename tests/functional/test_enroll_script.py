"""files/novajoin-enroll.sh, run with dash as a guest would run it.

The metadata service is nova's REAL metadata API (nova 34,
../shared/peers/nova_metadata_server.py --remote-ip-mode, one process per
instance) calling a dynamic vendordata target named `join`; the target URL
comes from ONE fixture, `join_target_url`: the REAL novajoin-server (module
scoped, started as tests/functional/test_server.py starts it) against the
REAL FreeIPA peer. Each test that reaches it boots its own instance (a
unique hostname, server metadata ipa_enroll=true) and removes the IPA host
afterwards. Cases that need an answer novajoin never gives (failures,
retries, odd JSON) use nova with a refusing target, a plain HTTP stand-in
(FakeHTTP) or a config drive directory.

Nothing on this machine is changed: ipa-client-install, hostnamectl,
hostname, logger (and blkid, mount, package managers where used) are
recording stand-ins that come first on PATH, or the only things on it; the
one end-to-end test's ipa-client-install stand-in runs the real ipa-join.

Needs: dash, shellcheck, curl, wget, mawk, gawk, the peers venv with
keystone up (../shared/peers/up.sh) and the FreeIPA peer
(../shared/ipa/up.sh).
"""
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
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml  # PyYAML: a dependency of oslo.config

from novajoin.ipa import errors as ipa_errors
# novajoin-server as the functional tests run it; the `glance` fixture
# (conftest) puts an image endpoint in keystone's catalog.
from tests.functional.novajoin_server import IMAGE_ENROLL
from tests.functional.novajoin_server import ANSWER_TTL
from tests.functional.novajoin_server import forget_answers
from tests.functional.novajoin_server import identity_conf
from tests.functional.novajoin_server import start_server
from tests.functional.peers import TCPForwarder

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / 'files' / 'novajoin-enroll.sh'
STATIC_JSON = ROOT / 'files' / 'cloud-config-novajoin.json'
PEERS = pathlib.Path(os.environ.get('NOVAJOIN_PEERS_DIR',
                                    ROOT.parent / 'shared' / 'peers'))
PEERS_PYTHON = os.environ.get('NOVAJOIN_PEERS_PYTHON',
                              '/tmp/peers/venv/bin/python')
KEYSTONE_URL = os.environ.get('KEYSTONE_URL', 'http://127.0.0.1:35357/v3')
VD_REL = 'openstack/latest/vendor_data2.json'
MD_REL = 'openstack/latest/meta_data.json'
SEP = '--end-of-call--'

# Join data for the config drive and the HTTP stand-in. The OTP has the
# characters a JSON string escapes (nova's json.dumps writes \" \\ and
# \uXXXX).
JOIN_ANSWER = {
    'hostname': 'vm1.example.test',
    'krb_realm': 'EXAMPLE.TEST',
    'ipaotp': 'Otp-"quoted"\\back/slash-\u20ac-\U0001F511-9Zq',
    'ipa_domain': 'example.test',
    'ipa_server': ['ipa1.example.test', 'ipa2.example.test'],
}
# What the script needs besides sh builtins (a minimal image's tool set).
MINIMAL_TOOLS = ['mktemp', 'rm', 'cp', 'mv', 'mkdir', 'od', 'tr', 'tail',
                 'sleep']

# OTPs the real novajoin handed out in this module: never in its log.
ISSUED = []

DASH = shutil.which('dash')
# Guest.calls() shows the script's temporary CA file as this; the stand-in
# keeps a copy of it (Guest.ca_handed_over).
CA_FILE = '<ca-cert-file>'
KEEP_CA = '''prev=
for a in "$@"; do
    [ "$prev" = --ca-cert-file ] && cp "$a" "$NJ_TEST_RECORD/ca.pem"
    prev=$a
done'''


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
    if join.get('ipa_ca_cert'):
        argv += ['--ca-cert-file', CA_FILE]
    return argv + ['-w', join['ipaotp']]


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def bound_socket():
    """A port that refuses connections (bound, not listening): no race with
    anyone else for the port."""
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


class FakeHTTP(object):
    """Plain HTTP answers the real nova never gives (or not on demand)."""

    def __init__(self):
        self.routes = {}
        self.seen = []
        routes, seen = self.routes, self.seen

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append(self.path)
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
def join_target_url(tmp_path_factory, ipa_env, peers_env, novajoin_identity,
                    glance):
    """The URL nova calls as the `join` dynamic vendordata target: the real
    novajoin-server (keystonemiddleware, novajoin's least-privilege keytab)
    against the real FreeIPA. `glance` first, so that the image endpoint is
    in the catalog novajoin reads."""
    tmp = tmp_path_factory.mktemp('novajoin-server')
    proc, url = start_server(tmp, 'enroll', ipa_env, peers_env,
                             identity_conf(novajoin_identity, ipa_env),
                             answer_cache_ttl=ANSWER_TTL)
    try:
        yield url + '/v1/'
    finally:
        proc.stop()
    log = proc.log()
    for otp in ISSUED:
        assert otp not in log, 'an OTP leaked into the novajoin-server log'


class VM(object):
    """An instance as nova's fake instance JSON, and its IPA FQDN."""

    def __init__(self, unique, domain, **kw):
        self.instance = {'uuid': str(uuid.uuid4()),
                         'hostname': 'vm-%s' % unique,
                         'metadata': {'ipa_enroll': 'true'},
                         # boot from volume: no image to look up
                         'image_ref': ''}
        self.instance.update(kw)
        self.fqdn = '%s.%s' % (self.instance['hostname'], domain)


@pytest.fixture
def vm(unique, ipa_env, ipa_admin):
    """A new instance that asks to enroll; its IPA host is removed after."""
    v = VM(unique, ipa_env['IPA_DOMAIN'])
    yield v
    try:
        ipa_admin.call('host_del', v.fqdn)
    except ipa_errors.NotFound:
        pass


class NovaMetadata(object):
    """nova's real metadata API (one process, one instance) calling
    join@TARGET; with static=True also StaticJSON serving
    files/cloud-config-novajoin.json, as in production."""

    def __init__(self, name, target, instance, logdir, static=False):
        self.port = free_port()
        argv = [PEERS_PYTHON, str(PEERS / 'nova_metadata_server.py'),
                '--remote-ip-mode', '--port', str(self.port),
                '--instance-json', json.dumps(instance), 'join@' + target]
        if static:
            argv += ['--static-json', str(STATIC_JSON)]
        self.proc = Proc(name, argv, logdir)
        self.vd_url = self.url('vendor_data2.json')

    def url(self, name):
        return 'http://127.0.0.1:%d/openstack/latest/%s' % (self.port, name)

    def ready(self):
        self.proc.wait_port(self.port)
        return self


@pytest.fixture
def nova_api(tmp_path, peers_env):
    """Starts nova metadata APIs: nova_api(target, instance, static=False).
    Importing nova takes ~4 s: start what a test needs, then wait."""
    try:
        urllib.request.urlopen(KEYSTONE_URL, timeout=5).close()
    except OSError as e:
        pytest.fail('keystone is not up at %s (%s): run %s/up.sh'
                    % (KEYSTONE_URL, e, PEERS))
    started = []

    def start(target, instance, static=False):
        n = NovaMetadata('nova-metadata-%d' % len(started), target, instance,
                         tmp_path, static=static)
        started.append(n)
        return n.ready()

    yield start
    for n in started:
        n.proc.stop()


@pytest.fixture
def nova_ok(nova_api, join_target_url, vm):
    """nova for `vm`, calling the real novajoin, with StaticJSON."""
    return nova_api(join_target_url, vm.instance, static=True)


def get_json(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.load(r)


def issued_join(nova):
    """What nova serves as `join` now (and note the OTP)."""
    join = get_json(nova.vd_url)['join']
    if join.get('ipaotp'):
        ISSUED.append(join['ipaotp'])
    return join


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
        self.cloud_cfg_dir = tmp_path / 'cloud.cfg.d'
        for d in (self.stubs, self.rec, self.tmp, self.config_drive,
                  self.cloud_cfg_dir):
            d.mkdir()
        self.minimal = False
        self.script = SCRIPT
        for name in ('hostnamectl', 'hostname', 'logger', 'getent'):
            self.stub(name)
        self.stub('ipa-client-install', KEEP_CA)
        self.hosts_file = tmp_path / 'hosts'
        self.hosts_file.write_text('127.0.0.1\tlocalhost\n')
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
            # never /etc/cloud or /etc/hosts of this machine
            'NOVAJOIN_CLOUD_CFG_DIR': str(self.cloud_cfg_dir),
            'NOVAJOIN_HOSTS_FILE': str(self.hosts_file),
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
            (minbin / tool).symlink_to(need(tool))
        if awk == 'gawk-posix':
            (minbin / 'awk').write_text(
                '#!/bin/sh\nexec %s --posix "$@"\n' % need('gawk'))
            (minbin / 'awk').chmod(0o755)
        else:
            (minbin / 'awk').symlink_to(need(awk))
        self.env['PATH'] = '%s:%s:%s' % (self.stubs, self.installed, minbin)

    def write_vendor_data(self, text):
        path = self.config_drive / VD_REL
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding='utf-8')

    def write_meta_data(self, meta, text=None):
        """meta_data.json on the config drive, as nova writes it ("meta"
        only when the server has metadata)."""
        doc = {'uuid': str(uuid.uuid4()), 'hostname': 'vm1.novalocal'}
        if meta:
            doc['meta'] = meta
        path = self.config_drive / MD_REL
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc) if text is None else text,
                        encoding='utf-8')

    @property
    def cloud_cfg(self):
        """cloud-init's 99-novajoin.cfg, parsed, or None if not written."""
        path = self.cloud_cfg_dir / '99-novajoin.cfg'
        if not path.exists():
            return None
        assert path.stat().st_mode & 0o777 == 0o644
        return yaml.safe_load(path.read_text(encoding='utf-8'))

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
            elif cur and cur[-1] == '--ca-cert-file':
                cur.append(CA_FILE)
            else:
                cur.append(line)
        return out

    @property
    def ca_handed_over(self):
        """The CA file ipa-client-install was given, or None."""
        path = self.rec / 'ca.pem'
        return path.read_text() if path.exists() else None

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


def need(tool):
    """The path of a tool the tests need: missing is a failure, not a skip."""
    path = shutil.which(tool)
    if path is None:
        pytest.fail('%s is not installed (apt-get install -y %s)'
                    % (tool, tool))
    return path


@pytest.fixture
def guest(tmp_path):
    need('dash')
    return Guest(tmp_path)


def assert_failed(result, guest, *phrases):
    assert result.rc == 1, result.err
    assert result.error.startswith('novajoin-enroll: ERROR: '), result.err
    for phrase in phrases:
        assert phrase in result.error
    assert guest.calls('ipa-client-install') == []
    assert guest.calls('hostnamectl') == []
    assert guest.cloud_cfg is None
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
def assert_enrolled(guest, result, join):
    """The stand-in ipa-client-install ran once with the join data."""
    assert result.rc == 0, result.err
    assert guest.calls('ipa-client-install') == [expected_argv(join)]
    if join.get('ipa_ca_cert'):
        assert guest.ca_handed_over.strip() == join['ipa_ca_cert'].strip()
    assert guest.cloud_cfg == {'preserve_hostname': True}
    assert 'wrote %s' % (guest.cloud_cfg_dir / '99-novajoin.cfg') in result.err
    guest.assert_secret_kept(result, join['ipaotp'])


def test_enrolls_through_the_nova_metadata_api(guest, nova_ok, vm, ipa_env,
                                               tmp_path):
    # The script as a guest receives it: nova's StaticJSON vendor_data.json,
    # whose "cloud-init" part is the script itself (scripts-vendor runs it).
    static = get_json(nova_ok.url('vendor_data.json'))
    delivered = static['cloud-init']
    assert delivered == SCRIPT.read_text(encoding='utf-8')
    guest.script = tmp_path / 'novajoin-enroll.sh'
    guest.script.write_text(delivered, encoding='utf-8')

    vd = get_json(nova_ok.vd_url)
    join = issued_join(nova_ok)
    # the real novajoin's answer for this instance, the same on each fetch
    assert vd['join'] == join
    assert join['hostname'] == vm.fqdn
    assert join['krb_realm'] == ipa_env['IPA_REALM']
    assert join['ipa_domain'] == ipa_env['IPA_DOMAIN']
    assert join['ipa_server'] == [ipa_env['IPA_SERVER']]
    assert join['ipaotp']
    # the IPA CA, from [ipa] ca_file, travels with the OTP through nova
    with open(ipa_env['IPA_CA_CERT']) as f:
        assert join['ipa_ca_cert'].split() == f.read().split()
    # the script text under "static" mentions "join" and "ipaotp" too
    assert vd['static'] == static

    r = guest.run(NOVAJOIN_METADATA_URL=nova_ok.vd_url, NJ_OTP='inherited')
    assert_enrolled(guest, r, join)
    assert guest.calls('hostnamectl') == [['set-hostname', vm.fqdn]]
    assert guest.calls('hostname') == []
    assert '-w ********' in r.err
    assert ('the server metadata from the metadata service asks for IPA '
            'enrollment') in r.err
    assert 'join data from the metadata service' in r.err
    assert any('enrolled %s' % vm.fqdn in ' '.join(c)
               for c in guest.calls('logger'))


# ipa-client-install's enrolment step, for real: ipa-join with the OTP.
IPA_JOIN_STUB = '''server= host= otp=
while [ $# -gt 0 ]; do
    case $1 in
        --server) [ -n "$server" ] || server=$2; shift ;;
        --hostname) host=$2; shift ;;
        -w) otp=$2; shift ;;
        --realm | --domain) shift ;;
    esac
    shift
done
KRB5_CONFIG=$IPA_KRB5_CONFIG "$IPA_JOIN" -s "$server" -h "$host" \\
    -w "$otp" -k "$NJ_TEST_KEYTAB" >"$NJ_TEST_JOIN_LOG" 2>&1
exit'''


def test_end_to_end_the_delivered_script_enrolls_the_host_in_ipa(
        guest, nova_ok, vm, ipa_env, ipa_admin, tmp_path):
    """nova's StaticJSON delivers the script, nova's DynamicJSON gets the
    OTP from the real novajoin, ipa-join enrolls the host in the real IPA."""
    guest.script = tmp_path / 'vendor-script'
    guest.script.write_text(get_json(nova_ok.url('vendor_data.json'))
                            ['cloud-init'], encoding='utf-8')
    guest.stub('ipa-client-install', extra=IPA_JOIN_STUB)
    keytab = tmp_path / 'host.keytab'
    join_log = tmp_path / 'ipa-join.log'
    env = dict(NOVAJOIN_METADATA_URL=nova_ok.vd_url,
               IPA_JOIN=ipa_env['IPA_JOIN'],
               IPA_KRB5_CONFIG=ipa_env['IPA_KRB5_CONFIG'],
               NJ_TEST_KEYTAB=str(keytab), NJ_TEST_JOIN_LOG=str(join_log))
    # novajoin creates the host at nova's first call
    join = issued_join(nova_ok)
    assert ipa_admin.call('host_show', vm.fqdn)['result']['has_keytab'] \
        is False

    r = guest.run(**env)
    ipa_join_out = join_log.read_text() if join_log.exists() else ''
    assert r.rc == 0, r.err + ipa_join_out
    # the OTP the script got is the one nova served before (one per host)
    assert guest.calls('ipa-client-install') == [expected_argv(join)]
    otp = join['ipaotp']
    assert ipa_admin.call('host_show', vm.fqdn)['result']['has_keytab'] is True
    assert keytab.stat().st_size > 0
    assert guest.cloud_cfg == {'preserve_hostname': True}
    guest.assert_secret_kept(r, otp)
    assert otp not in ipa_join_out

    # Enrolled: novajoin no longer hands out an OTP, and a second run of the
    # script says why instead of trying. (Once the server has forgotten the
    # answer it gave: it repeats an answer for answer_cache_ttl seconds.)
    forget_answers()
    join = get_json(nova_ok.vd_url)['join']
    assert join['hostname'] == vm.fqdn and 'ipaotp' not in join
    again = guest.run(**dict(env, NOVAJOIN_REARM_TIMEOUT='2',
                             NOVAJOIN_RETRY_INTERVAL='1'))
    assert again.rc == 1
    assert 'no OTP (ipaotp)' in again.error and 'already enrolled' in \
        again.error
    assert 'retrying in' in again.err      # a re-arm after a rebuild may come
    assert len(guest.calls('ipa-client-install')) == 1


def test_waits_for_the_metadata_service_to_come_up(guest, nova_ok):
    fwd = TCPForwarder(('127.0.0.1', nova_ok.port))     # refuses until up()
    url = 'http://127.0.0.1:%d/%s' % (fwd.port, VD_REL)
    proc = guest.start(NOVAJOIN_METADATA_URL=url)
    try:
        wait_for(lambda: 'attempt 2: cannot fetch %s' % url
                 in guest.stderr_so_far(), 15, 'two refused attempts')
        fwd.up()
        r = guest.finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        fwd.down()
    assert 'retrying in' in r.err
    # meta_data.json was tried first, beside vendor_data2.json
    assert 'cannot fetch %s' % url.replace('vendor_data2', 'meta_data') \
        in r.err
    assert_enrolled(guest, r, issued_join(nova_ok))


def test_retries_while_nova_serves_an_empty_join(guest, nova_api,
                                                 join_target_url, vm):
    # nova answers {"join": {}} while novajoin is down (restarting), then
    # novajoin's answer once it is up.
    target = urllib.parse.urlsplit(join_target_url)
    late = TCPForwarder(('127.0.0.1', target.port))    # refuses until up()
    try:
        nova = nova_api('http://127.0.0.1:%d%s' % (late.port, target.path),
                        vm.instance)
        proc = guest.start(NOVAJOIN_METADATA_URL=nova.vd_url)
        try:
            wait_for(lambda: '"join" in vendor_data2.json is empty'
                     in guest.stderr_so_far(), 20, 'an empty join from nova')
            late.up()
            r = guest.finish(proc)
            join = issued_join(nova)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    finally:
        late.down()
    assert join['hostname'] == vm.fqdn
    assert_enrolled(guest, r, join)


def test_fails_when_join_stays_empty(guest, nova_api, unique):
    # ipa_enroll=true in the metadata, and novajoin never answers
    refused = bound_socket()
    try:
        nova = nova_api('http://127.0.0.1:%d/v1/' % refused.getsockname()[1],
                        VM(unique, 'example.test').instance)
        r = guest.run(NOVAJOIN_METADATA_URL=nova.vd_url,
                      NOVAJOIN_FETCH_TIMEOUT='4')
    finally:
        refused.close()
    assert_failed(r, guest, '"join" in the vendor data is empty',
                  'although the server metadata sets ipa_enroll',
                  'novajoin')
    assert 'retrying in' in r.err


def test_config_drive_without_join_falls_back_to_metadata_service(guest,
                                                                  nova_ok):
    guest.write_vendor_data('{"join": {}}')
    r = guest.run(NOVAJOIN_METADATA_URL=nova_ok.vd_url)
    assert 'config drive: "join" in vendor_data2.json is empty' in r.err
    assert 'trying the metadata service' in r.err
    assert_enrolled(guest, r, issued_join(nova_ok))


@pytest.mark.parametrize('fetcher', ['curl', 'wget'])
def test_fetches_with_curl_or_wget_alone(guest, nova_ok, fetcher):
    guest.use_minimal_path(fetcher=fetcher)
    r = guest.run(NOVAJOIN_METADATA_URL=nova_ok.vd_url)
    assert_enrolled(guest, r, issued_join(nova_ok))


# --------------------------------------------------------------- who enrolls
def assert_not_enrolled(guest, result, *phrases):
    assert result.rc == 0, result.err
    lines = result.err.strip().splitlines()
    assert lines and 'ERROR' not in result.err, result.err
    for phrase in phrases:
        assert phrase in lines[-1], result.err
    assert guest.calls('ipa-client-install') == []
    assert guest.calls('hostnamectl') == guest.calls('hostname') == []
    assert guest.cloud_cfg is None
    assert list(guest.tmp.iterdir()) == []


def test_metadata_ipa_enroll_false_exits_at_once(guest, nova_api,
                                                 join_target_url, unique):
    """Real nova and novajoin: the instance says no; the script does not
    even fetch vendor_data2.json (nor make nova call novajoin)."""
    inst = VM(unique, 'example.test', metadata={'ipa_enroll': 'False',
                                                'role': 'web'}).instance
    nova = nova_api(join_target_url, inst)
    started = time.monotonic()
    r = guest.run(NOVAJOIN_METADATA_URL=nova.vd_url)
    assert time.monotonic() - started < 5
    assert_not_enrolled(guest, r, 'not enrolling (ipa_enroll=False)',
                        'metadata service')
    assert nova.vd_url not in r.err
    # and what novajoin answers for it: {} (the spec)
    assert get_json(nova.vd_url)['join'] == {}


def test_unrequested_instance_waits_briefly_then_exits_0(
        guest, nova_api, join_target_url, unique):
    """Real nova and novajoin: no ipa_enroll in the metadata nor in the
    image (boot from volume), so novajoin answers {}: no error, no 300 s."""
    inst = VM(unique, 'example.test', metadata={'role': 'web'}).instance
    nova = nova_api(join_target_url, inst)
    # what novajoin answers for it: {} (the spec). This first call also
    # lets nova get its keystone token, which takes longer than 2 s at times.
    assert get_json(nova.vd_url)['join'] == {}
    started = time.monotonic()
    r = guest.run(NOVAJOIN_METADATA_URL=nova.vd_url,
                  NOVAJOIN_FETCH_TIMEOUT='300',
                  NOVAJOIN_UNREQUESTED_TIMEOUT='2')
    elapsed = time.monotonic() - started
    # the script counts whole seconds of uptime: 2 s is 1 to 2 s
    assert 1 <= elapsed < 15, elapsed
    assert 'retrying in' in r.err
    assert 'no ipa_enroll in the server metadata from the metadata service' \
        in r.err
    assert 'waiting up to 2 s for join data' in r.err
    assert_not_enrolled(guest, r, 'not enrolling: nothing was requested in '
                        'the server metadata (no ipa_enroll) and novajoin '
                        'gave no enrollment', '"join" in the vendor data is '
                        'empty')


def test_unrequested_instance_enrolls_when_the_image_asks(
        guest, nova_api, join_target_url, ipa_env, ipa_admin, unique):
    """Real nova and novajoin: no ipa_enroll in the server metadata, the
    Glance image property asks for it; the guest cannot see that, but the
    join data comes and the script enrolls."""
    v = VM(unique, ipa_env['IPA_DOMAIN'], metadata={},
           image_ref=IMAGE_ENROLL)
    try:
        nova = nova_api(join_target_url, v.instance)
        r = guest.run(NOVAJOIN_METADATA_URL=nova.vd_url,
                      NOVAJOIN_UNREQUESTED_TIMEOUT='20')
        join = issued_join(nova)
        assert join['hostname'] == v.fqdn
        assert 'no ipa_enroll in the server metadata' in r.err
        assert_enrolled(guest, r, join)
    finally:
        try:
            ipa_admin.call('host_del', v.fqdn)
        except ipa_errors.NotFound:
            pass


# --------------------------------------------------------------- fetching
@pytest.fixture
def fake_http():
    srv = FakeHTTP()
    yield srv
    srv.close()


@pytest.fixture
def unreachable_url():
    """A vendor data URL on a bound port that never accepts: curl (7)."""
    sock = bound_socket()
    yield 'http://127.0.0.1:%d/%s' % (sock.getsockname()[1], VD_REL)
    sock.close()


def test_fetch_timeout_when_nothing_answers(guest, unreachable_url):
    url = unreachable_url
    r = guest.run(NOVAJOIN_METADATA_URL=url, NOVAJOIN_FETCH_TIMEOUT='2')
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


def test_waits_while_the_join_data_has_no_otp_then_enrolls(guest, fake_http):
    # A rebuilt instance: the host is enrolled (the old guest's keys) until
    # novajoin-notify re-arms it a moment later.
    enrolled = {k: v for k, v in JOIN_ANSWER.items() if k != 'ipaotp'}
    url = fake_http.url('/vd', 200, json.dumps({'join': enrolled}).encode())
    proc = guest.start(NOVAJOIN_METADATA_URL=url, NOVAJOIN_RETRY_INTERVAL='1')
    try:
        wait_for(lambda: 'the join data has no OTP' in guest.stderr_so_far(),
                 20, 'a join without an OTP')
        fake_http.url('/vd', 200, json.dumps({'join': JOIN_ANSWER}).encode())
        r = guest.finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert_enrolled(guest, r, JOIN_ANSWER)


def test_a_config_drive_without_an_otp_falls_back_to_the_metadata_service(
        guest, fake_http):
    # nova writes a rebuilt instance's config drive before the re-arm
    enrolled = {k: v for k, v in JOIN_ANSWER.items() if k != 'ipaotp'}
    guest.write_vendor_data(json.dumps({'join': enrolled}))
    url = fake_http.url('/vd', 200, json.dumps({'join': JOIN_ANSWER}).encode())
    r = guest.run(NOVAJOIN_METADATA_URL=url)
    assert 'config drive: the join data has no OTP' in r.err
    assert 'trying the metadata service' in r.err
    assert_enrolled(guest, r, JOIN_ANSWER)


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


# --------------------------------------------------------------- the CA, the name

@pytest.fixture(scope='module')
def ca_pem(tmp_path_factory):
    from tests.functional.novajoin_server import make_tls
    with open(make_tls(tmp_path_factory.mktemp('ca'))['ca']) as f:
        return f.read()


def test_the_ca_from_the_join_data_is_what_ipa_client_install_trusts(guest, ca_pem):
    join = dict(JOIN_ANSWER, ipa_ca_cert=ca_pem)
    guest.write_vendor_data(json.dumps({'join': join}))
    r = guest.run()
    assert_enrolled(guest, r, join)
    assert '--ca-cert-file' in guest.calls('ipa-client-install')[0]
    assert 'using the IPA CA certificate from the config drive' in r.err
    assert 'plain HTTP' not in r.err


def test_without_a_ca_in_the_join_data_the_download_is_announced(guest):
    guest.write_vendor_data(json.dumps({'join': JOIN_ANSWER}))
    r = guest.run()
    assert_enrolled(guest, r, JOIN_ANSWER)
    assert guest.ca_handed_over is None
    assert 'download it over plain HTTP' in r.err


@pytest.mark.parametrize('ca', [
    'not a certificate',
    '-----BEGIN CERTIFICATE-----\n$(id)\n-----END CERTIFICATE-----',
    '-----BEGIN CERTIFICATE-----\nMIIB\n',
    '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----',
], ids=['text', 'shell', 'unterminated', 'private_key'])
def test_a_ca_that_is_not_pem_certificates_fails_before_anything_changes(guest, ca):
    guest.write_vendor_data(json.dumps({'join': dict(JOIN_ANSWER, ipa_ca_cert=ca)}))
    r = guest.run()
    assert_failed(r, guest, 'ipa_ca_cert from the config drive is not a PEM')


def test_an_fqdn_that_does_not_resolve_gets_the_debian_hosts_line(guest):
    guest.write_vendor_data(json.dumps({'join': JOIN_ANSWER}))
    r = guest.run(NJ_TEST_RC_getent='2')      # getent: not found
    assert_enrolled(guest, r, JOIN_ANSWER)
    assert guest.calls('getent') == [['hosts', 'vm1.example.test']]
    assert guest.hosts_file.read_text() == (
        '127.0.0.1\tlocalhost\n127.0.1.1\tvm1.example.test vm1\n')
    assert 'vm1.example.test does not resolve: added' in r.err


def test_an_fqdn_that_resolves_leaves_the_hosts_file_alone(guest):
    guest.write_vendor_data(json.dumps({'join': JOIN_ANSWER}))
    r = guest.run()
    assert_enrolled(guest, r, JOIN_ANSWER)
    assert guest.calls('getent') == [['hosts', 'vm1.example.test']]
    assert guest.hosts_file.read_text() == '127.0.0.1\tlocalhost\n'


def test_empty_drive_and_unreachable_metadata_service_blame_the_network(
        guest, unreachable_url):
    """The drive was written at boot; the metadata service, which would know
    better now, never answered: the message says that, not that novajoin
    refused."""
    guest.write_meta_data({'ipa_enroll': 'true'})
    guest.write_vendor_data('{"join": {}}')
    url = unreachable_url
    r = guest.run(NOVAJOIN_METADATA_URL=url, NOVAJOIN_FETCH_TIMEOUT='2')
    assert_failed(r, guest, 'the config drive has "join" in the vendor data is empty',
                  'metadata service %s could not be reached within 2 s' % url,
                  'last error: curl: (7)')
    assert 'novajoin refused' not in r.error


# The awks installed here (missing one fails; busybox is not installed, so
# busybox awk is not tested).
@pytest.mark.parametrize('awk', ['mawk', 'gawk', 'gawk-posix'])
def test_parses_with_each_awk_on_a_minimal_image(guest, awk):
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
    ('NOVAJOIN_UNREQUESTED_TIMEOUT', '-5'),
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
    # not enrolled: cloud-init may keep managing the hostname
    assert guest.cloud_cfg is None
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


# --------------------------------------------------------------- who enrolls,
# from the config drive and the HTTP stand-in
@pytest.mark.parametrize('value', ['false', 'False', 'no', '0', '', 'truely'])
def test_config_drive_metadata_says_no(guest, value):
    # join data present, and still nothing happens: the metadata wins
    guest.write_meta_data({'ipa_enroll': value})
    guest.write_vendor_data(json.dumps({'join': BASE}))
    r = guest.run()
    assert_not_enrolled(guest, r, 'not enrolling (ipa_enroll=%s)' % value,
                        'config drive')


@pytest.mark.parametrize('value', ['true', 'True', 'TRUE', ' true\n'])
def test_config_drive_metadata_says_yes(guest, value):
    # case-insensitive, blanks stripped: the rule novajoin-server applies
    guest.write_meta_data({'ipa_enroll': value, 'role': 'web'})
    guest.write_vendor_data(json.dumps({'join': BASE}))
    r = guest.run()
    assert r.rc == 0, r.err
    assert 'asks for IPA enrollment' in r.err
    assert len(guest.calls('ipa-client-install')) == 1
    assert guest.cloud_cfg == {'preserve_hostname': True}


def test_config_drive_metadata_says_yes_and_join_is_empty(guest):
    guest.write_meta_data({'ipa_enroll': 'true'})
    guest.write_vendor_data('{"join": {}}')
    r = guest.run()
    assert_failed(r, guest, '"join" in the vendor data is empty although '
                  'the server metadata sets ipa_enroll')


def test_config_drive_metadata_says_no_with_control_characters(guest):
    guest.write_meta_data({'ipa_enroll': 'no\nFAKE: line\x1b[31m'})
    r = guest.run()
    assert_not_enrolled(guest, r, 'not enrolling (ipa_enroll=noFAKE: '
                        'line[31m)')
    assert '\x1b' not in r.err


@pytest.mark.parametrize('vendor_data, state', [
    ('{"join": {}}', '"join" in the vendor data is empty'),
    ('{"static": {}}', 'the vendor data has no "join" key'),
    (None, 'no vendor data'),
])
def test_config_drive_unrequested_without_join_exits_0(guest, vendor_data,
                                                       state):
    # metadata service disabled: nothing more to wait for
    guest.write_meta_data({'role': 'web'})
    if vendor_data is not None:
        guest.write_vendor_data(vendor_data)
    started = time.monotonic()
    r = guest.run()
    assert time.monotonic() - started < 5
    assert_not_enrolled(guest, r, 'nothing was requested in the server '
                        'metadata (no ipa_enroll) and novajoin gave no '
                        'enrollment', state)


def test_config_drive_unrequested_with_join_enrolls(guest):
    # the image asked: novajoin sent join data, so enroll
    guest.write_meta_data({})
    guest.write_vendor_data(json.dumps({'join': BASE}))
    r = guest.run()
    assert r.rc == 0, r.err
    assert 'no ipa_enroll in the server metadata from the config drive' \
        in r.err
    assert len(guest.calls('ipa-client-install')) == 1


def test_unrequested_waits_only_the_short_timeout(guest, fake_http):
    guest.write_meta_data({})
    guest.write_vendor_data('{"join": {}}')
    url = fake_http.url('/latest/vendor_data2.json', 200, b'{"join": {}}')
    started = time.monotonic()
    r = guest.run(NOVAJOIN_METADATA_URL=url, NOVAJOIN_FETCH_TIMEOUT='60',
                  NOVAJOIN_UNREQUESTED_TIMEOUT='2')
    elapsed = time.monotonic() - started
    assert 1 <= elapsed < 10, elapsed
    assert 'waiting up to 2 s for join data' in r.err
    assert 'retrying in' in r.err
    assert_not_enrolled(guest, r, 'nothing was requested',
                        '"join" in the vendor data is empty')
    # the metadata came from the config drive: not asked again
    assert set(fake_http.seen) == {'/latest/vendor_data2.json'}


def test_unrequested_timeout_is_capped_by_the_fetch_timeout(guest,
                                                            fake_http):
    url = fake_http.url('/latest/vendor_data2.json', 200, b'{"join": {}}')
    fake_http.url('/latest/meta_data.json', 200, b'{"uuid": "x"}')
    started = time.monotonic()
    r = guest.run(NOVAJOIN_METADATA_URL=url, NOVAJOIN_FETCH_TIMEOUT='1',
                  NOVAJOIN_UNREQUESTED_TIMEOUT='60')
    assert time.monotonic() - started < 8
    assert 'waiting up to 1 s for join data' in r.err
    assert_not_enrolled(guest, r, 'nothing was requested')


def test_metadata_service_says_no_before_vendor_data_is_fetched(guest,
                                                                fake_http):
    url = fake_http.url('/latest/vendor_data2.json', 200,
                        json.dumps({'join': BASE}).encode())
    fake_http.url('/latest/meta_data.json', 200,
                  b'{"meta": {"ipa_enroll": "false"}}')
    r = guest.run(NOVAJOIN_METADATA_URL=url)
    assert_not_enrolled(guest, r, 'not enrolling (ipa_enroll=false)',
                        'metadata service')
    assert fake_http.seen == ['/latest/meta_data.json']


def test_meta_data_url_can_be_set(guest, fake_http):
    url = fake_http.url('/vd', 200, json.dumps({'join': BASE}).encode())
    meta = fake_http.url('/md', 200, b'{"meta": {"ipa_enroll": "no"}}')
    r = guest.run(NOVAJOIN_METADATA_URL=url, NOVAJOIN_META_DATA_URL=meta)
    assert_not_enrolled(guest, r, 'not enrolling (ipa_enroll=no)')
    assert fake_http.seen == ['/md']


def test_meta_data_retried_until_it_answers(guest, fake_http):
    # meta_data.json first fails, then says the instance does not enroll
    url = fake_http.url('/latest/vendor_data2.json', 200, b'{"join": {}}')
    meta = '/latest/meta_data.json'
    fake_http.url(meta, 500, b'A server error occurred.')
    proc = guest.start(NOVAJOIN_METADATA_URL=url)
    try:
        wait_for(lambda: 'attempt 2: cannot fetch %s' % url.replace(
            'vendor_data2', 'meta_data') in guest.stderr_so_far(), 15,
            'two failed meta_data.json fetches')
        fake_http.url(meta, 200, b'{"meta": {"ipa_enroll": "off"}}')
        r = guest.finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert_not_enrolled(guest, r, 'not enrolling (ipa_enroll=off)')


@pytest.mark.parametrize('text', ['{"meta": ', '<html>', ''])
def test_unreadable_meta_data_is_as_if_enrollment_was_asked(guest, text):
    # nothing says no: enroll when join data is there...
    guest.write_meta_data(None, text=text)
    guest.write_vendor_data(json.dumps({'join': BASE}))
    r = guest.run()
    assert r.rc == 0, r.err
    assert len(guest.calls('ipa-client-install')) == 1
    # ... and fail loudly when it is not
    guest.write_vendor_data('{"join": {}}')
    r = guest.run()
    assert r.rc == 1
    assert '"join" in the vendor data is empty: this instance is not set ' \
        'to enroll' in r.error


# --------------------------------------------------------------- cloud.cfg.d
def test_writes_preserve_hostname_after_enrolling(guest):
    guest.write_vendor_data(json.dumps({'join': BASE}))
    (guest.cloud_cfg_dir / '99-novajoin.cfg').write_text('stale: 1\n')
    r = guest.run()
    assert r.rc == 0, r.err
    text = (guest.cloud_cfg_dir / '99-novajoin.cfg').read_text()
    assert 'vm2.example.test' in text
    assert guest.cloud_cfg == {'preserve_hostname': True}
    # the last thing the script does; no temporary file is left
    assert r.err.strip().splitlines()[-1].startswith(
        'novajoin-enroll: wrote ')
    assert [p.name for p in guest.cloud_cfg_dir.iterdir()] == \
        ['99-novajoin.cfg']


def test_no_cloud_cfg_dir_is_only_a_warning(guest):
    guest.write_vendor_data(json.dumps({'join': BASE}))
    guest.cloud_cfg_dir.rmdir()
    r = guest.run()
    assert r.rc == 0, r.err
    assert 'warning: no %s' % guest.cloud_cfg_dir in r.err
    assert not guest.cloud_cfg_dir.exists()


def test_unwritable_cloud_cfg_dir_is_only_a_warning(guest):
    if os.geteuid() == 0:
        # root writes anyway: make the target a directory instead
        (guest.cloud_cfg_dir / '99-novajoin.cfg.tmp').mkdir()
    else:
        guest.cloud_cfg_dir.chmod(0o500)
    guest.write_vendor_data(json.dumps({'join': BASE}))
    try:
        r = guest.run()
    finally:
        guest.cloud_cfg_dir.chmod(0o700)
    assert r.rc == 0, r.err
    assert 'warning: could not write' in r.err
    assert not (guest.cloud_cfg_dir / '99-novajoin.cfg').exists()
