"""The operations files in files/ and devstack/: valid, and consistent with
the code they start."""
import json
import pathlib
import re
import subprocess
import sys

import pytest

from novajoin import join

ROOT = pathlib.Path(__file__).resolve().parents[2]
FILES = ROOT / 'files'
VALID = ('[join]\notp_secret = %s\n[ipa]\nservers = ipa.example.test\n'
         'auth_method = password\nuser = admin\npassword = x\n' % ('s' * 40))


def _gunicorn_settings(tmp_path, api_section):
    conf = tmp_path / 'join.conf'
    conf.write_text(VALID + '[api]\n' + api_section)
    code = ('import json, runpy; from gunicorn.config import Config\n'
            'ns = runpy.run_path(%r)\n'
            'cfg = Config()\n'
            'names = [k for k in ns if not k.startswith("_")]\n'
            'for k in names: cfg.set(k, ns[k])\n'  # unknown names raise
            'print(json.dumps({k: ns[k] for k in names if not callable(ns[k])}))'
            % str(FILES / 'gunicorn.conf.py'))
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          env={'NOVAJOIN_CONFIG_FILE': str(conf), 'PATH': '/usr/bin:/bin'},
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_gunicorn_conf_reads_join_conf(tmp_path):
    settings = _gunicorn_settings(tmp_path, 'bind_host = 127.0.0.1\nbind_port = 9191\n'
                                            'workers = 3\nthreads = 4\ntimeout = 20\n')
    assert settings['wsgi_app'] == 'novajoin.wsgi:application'
    assert settings['bind'] == ['127.0.0.1:9191']
    assert (settings['workers'], settings['threads'], settings['timeout']) == (3, 4, 20)
    assert settings['worker_class'] == 'novajoin.api.worker.Worker'
    assert settings['control_socket_disable'] is True


def test_gunicorn_conf_ipv6_bind(tmp_path):
    assert _gunicorn_settings(tmp_path, 'bind_host = ::\n')['bind'] == ['[::]:9090']


def test_novajoin_server_serves_with_the_shipped_gunicorn_settings(tmp_path):
    # One builder (novajoin.conf.api.gunicorn_settings) for both: the systemd
    # unit's gunicorn.conf.py and `novajoin-server` run by hand.
    from novajoin import config
    from novajoin.cmd import server
    api = 'bind_host = ::\nbind_port = 9292\nworkers = 3\nthreads = 5\n'
    shipped = _gunicorn_settings(tmp_path, api)
    conf = config.load(['--config-file', str(tmp_path / 'join.conf')],
                       prog='novajoin-server', cli_opts=server.CLI_OPTS,
                       setup_logging=False)
    served = server._gunicorn(conf).cfg.settings
    assert served['bind'].get() == shipped['bind'] == ['[::]:9292']
    for name in ('workers', 'threads', 'timeout', 'worker_class',
                 'graceful_timeout', 'accesslog', 'errorlog',
                 'control_socket_disable'):
        assert served[name].get() == shipped[name], name


def _unit(name):
    """Key -> value; a key given several times (Environment) -> lines joined."""
    unit = {}
    for line in (FILES / name).read_text().splitlines():
        if '=' in line and not line.startswith('#'):
            key, value = line.split('=', 1)
            unit[key] = unit[key] + '\n' + value if key in unit else value
    return unit


def test_server_unit_runs_gunicorn_with_the_shipped_config():
    unit = _unit('novajoin-server.service')
    assert unit['ExecStart'] == '/usr/bin/gunicorn --config /etc/novajoin/gunicorn.conf.py'
    assert unit['Type'] == 'notify'  # gunicorn's arbiter reports READY=1
    assert unit['User'] == 'novajoin'
    assert 'NOVAJOIN_CONFIG_FILE=/etc/novajoin/join.conf' in unit['Environment'].split('\n')


def test_notify_unit():
    unit = _unit('novajoin-notify.service')
    assert unit['ExecStart'].split()[0].endswith('/novajoin-notify')
    assert '--config-file /etc/novajoin/join.conf' in unit['ExecStart']
    assert unit['User'] == 'novajoin'


def test_logrotate_keeps_the_log_files():
    text = (FILES / 'novajoin.logrotate').read_text()
    assert text.startswith('#') and '/var/log/novajoin/*.log {' in text
    assert re.search(r'^\s+rotate (\d+)$', text, re.M).group(1) == '90'
    assert 'copytruncate' in text


def test_glance_metadefs():
    ns = json.loads((FILES / 'glance-metadefs-novajoin.json').read_text())
    assert ns['namespace'] == 'OS::Compute::Novajoin'
    assert {'name': 'OS::Glance::Image'} in ns['resource_type_associations']
    assert {'name': 'OS::Nova::Server', 'properties_target': 'metadata'} in \
        ns['resource_type_associations']
    props = ns['properties']
    assert props['ipa_enroll']['type'] == 'boolean'
    assert props['ipa_hostclass']['type'] == 'string'
    # The same rule novajoin applies to ipa_hostclass.
    assert props['ipa_hostclass']['pattern'] == '^%s$' % join._HOSTCLASS.pattern


@pytest.mark.parametrize('script', ['devstack/plugin.sh', 'devstack/settings'])
def test_devstack_scripts_parse(script):
    subprocess.run(['bash', '-n', str(ROOT / script)], check=True)


def test_gunicorn_hooks_reset_the_prometheus_multiprocess_dir(tmp_path, monkeypatch):
    import runpy
    conf = tmp_path / 'join.conf'
    conf.write_text(VALID)
    monkeypatch.setenv('NOVAJOIN_CONFIG_FILE', str(conf))
    prom = tmp_path / 'prom'
    prom.mkdir()
    (prom / 'counter_123.db').write_text('stale')
    monkeypatch.setenv('PROMETHEUS_MULTIPROC_DIR', str(prom))
    runpy.run_path(str(FILES / 'gunicorn.conf.py'))
    assert prom.is_dir() and not (prom / 'counter_123.db').exists()
    unit = _unit('novajoin-server.service')
    assert 'PROMETHEUS_MULTIPROC_DIR=/run/novajoin/prometheus' in unit['Environment'].split('\n')
    assert unit['RuntimeDirectory'] == 'novajoin'


def test_gunicorn_conf_refuses_a_config_without_otp_secret(tmp_path):
    conf = tmp_path / 'join.conf'
    conf.write_text('[ipa]\nservers = ipa.example.test\n')
    proc = subprocess.run([sys.executable, '-c', 'import runpy; runpy.run_path(%r)'
                           % str(FILES / 'gunicorn.conf.py')], capture_output=True, text=True,
                          env={'NOVAJOIN_CONFIG_FILE': str(conf), 'PATH': '/usr/bin:/bin'},
                          timeout=60)
    assert proc.returncode != 0
    assert 'otp_secret must be at least 32 characters' in proc.stderr


# distribution name -> the module novajoin imports it as
_IMPORTS = {'python-novaclient': 'novaclient', 'prometheus-client': 'prometheus_client',
            'requests-gssapi': 'requests_gssapi'}


def test_every_runtime_requirement_is_imported_by_novajoin():
    # A requirement nothing imports is a dependency to patch for nothing.
    names = [re.split(r'[<>=!~ ;]', line.strip())[0]
             for line in (ROOT / 'requirements.txt').read_text().splitlines()
             if line.strip() and not line.startswith('#')]
    sources = '\n'.join(p.read_text() for p in (ROOT / 'novajoin').rglob('*.py'))
    import configparser
    setup = configparser.ConfigParser()
    setup.read(ROOT / 'setup.cfg')
    installed = [re.split(r'[<>=!~ ;]', line.strip())[0] for line in
                 setup['options']['install_requires'].splitlines() if line.strip()]
    assert sorted(installed) == sorted(names)
    for name in names:
        module = _IMPORTS.get(name, name.replace('.', '_'))
        assert re.search(r'^\s*(import|from) %s\b' % re.escape(module), sources,
                         re.M), '%s is required but never imported' % name
