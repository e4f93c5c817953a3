"""novajoin-install end to end: the files it writes, dry runs, TLS, refusals.

The ini editor and the settings it applies: tests/unit/install/.
"""
import io
import json
import os
import pathlib
import stat

import pytest

from novajoin import config
from novajoin.cmd import install
from novajoin.install.ini import IniDocument
from tests.unit.install.conftest import NOVA_CONF

NEUTRON_CONF = """\
[DEFAULT]
core_plugin = ml2

[oslo_messaging_notifications]
#driver =
"""


# -- the command ---------------------------------------------------------------

@pytest.fixture
def tree(tmp_path):
    nova = tmp_path / 'nova.conf'
    nova.write_text(NOVA_CONF)
    os.chmod(nova, 0o640)
    neutron = tmp_path / 'neutron.conf'
    neutron.write_text(NEUTRON_CONF)
    return tmp_path


def _run(tree, *extra):
    args = install.parser().parse_args([
        '--join-conf', str(tree / 'novajoin' / 'join.conf'),
        '--nova-conf', str(tree / 'nova.conf'),
        '--neutron-conf', str(tree / 'neutron.conf'),
        '--hostname', 'ctl.example.test', '--ipa-server', 'ipa.example.test',
        '--cloud-config', str(tree / 'novajoin' / 'cloud-config-novajoin.json'),
        *extra])
    out = io.StringIO()
    changed = install.run(args, out=out)
    return changed, out.getvalue()


def _texts(tree):
    return {name: (tree / name).read_text()
            for name in ('novajoin/join.conf', 'nova.conf', 'neutron.conf')}


def test_install_configures_nova(tree):
    assert _run(tree)[0] == 4  # join.conf, nova.conf, neutron.conf, cloud-config
    nova = IniDocument((tree / 'nova.conf').read_text())
    assert nova.get('api', 'vendordata_providers') == 'StaticJSON,DynamicJSON'
    assert nova.get('api', 'vendordata_dynamic_targets') == \
        'join@http://ctl.example.test:9090/v1/'
    cloud_config = tree / 'novajoin' / 'cloud-config-novajoin.json'
    assert nova.get('api', 'vendordata_jsonfile_path') == str(cloud_config)
    # The guest's cloud-config novajoin ships, where nova reads it.
    shipped = pathlib.Path(__file__).resolve().parents[3] / 'files' / cloud_config.name
    assert cloud_config.read_bytes() == shipped.read_bytes()
    assert 'cloud-init' in json.loads(cloud_config.read_text())
    for key, value in [('auth_type', 'password'), ('auth_url', 'http://ctl:5000/'),
                       ('username', 'nova'), ('password', 'NovaPass'),
                       ('project_name', 'service'),
                       ('user_domain_name', 'Default'),
                       ('project_domain_name', 'Default')]:
        assert nova.get('vendordata_dynamic_auth', key) == value
    assert nova.get('notifications', 'notify_on_state_change') == 'vm_and_task_state'
    assert nova.get('notifications', 'notification_format') == 'unversioned'
    assert nova.get_all('oslo_messaging_notifications', 'driver') == ['messagingv2']
    assert nova.get('oslo_messaging_notifications', 'topics') == 'notifications'
    neutron = IniDocument((tree / 'neutron.conf').read_text())
    assert neutron.get('oslo_messaging_notifications', 'driver') == 'messagingv2'
    assert neutron.get('oslo_messaging_notifications', 'topics') == 'notifications'


def test_install_keeps_comments_and_other_options(tree):
    _run(tree)
    new = (tree / 'nova.conf').read_text().splitlines()
    kept = [line for line in NOVA_CONF.splitlines() if line != 'driver = noop']
    # Every original line is still there, in the same order.
    it = iter(new)
    assert all(any(line == n for n in it) for line in kept)
    assert stat.S_IMODE(os.stat(tree / 'nova.conf').st_mode) == 0o640


def test_install_writes_a_loadable_join_conf(tree, monkeypatch):
    _run(tree)
    path = tree / 'novajoin' / 'join.conf'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    monkeypatch.setenv('NOVAJOIN_CONFIG_FILE', str(path))
    conf = config.load(setup_logging=False)
    assert conf.ipa.servers == ['ipa.example.test']
    assert conf.ipa.principal == 'nova/ctl.example.test'
    assert conf.ipa.auth_method == 'kerberos'
    assert conf.api.bind_port == 9090
    assert len(conf.join.otp_secret) >= 32
    assert conf.service_credentials.auth_type == 'password'
    join = IniDocument(path.read_text())
    assert join.get('DEFAULT', 'transport_url') == 'rabbit://nova:RabbitPass@ctl:5672/'
    assert join.get('keystone_authtoken', 'username') == 'nova'


def test_second_run_changes_nothing(tree):
    _run(tree)
    before = _texts(tree)
    changed, out = _run(tree)
    assert changed == 0
    assert _texts(tree) == before
    assert out.count('unchanged:') == 3
    assert _run(tree, '--dry-run') == (0, out)


def test_otp_secret_is_generated_once(tree):
    _run(tree)
    secret = IniDocument((tree / 'novajoin/join.conf').read_text()).get(
        'join', 'otp_secret')
    _run(tree, '--port', '9191')
    join = IniDocument((tree / 'novajoin/join.conf').read_text())
    assert join.get('join', 'otp_secret') == secret
    assert join.get('api', 'bind_port') == '9191'


def test_no_secret_generated_when_a_secret_file_is_configured(tree):
    (tree / 'novajoin').mkdir()
    (tree / 'novajoin/join.conf').write_text(
        '[join]\notp_secret_file = /etc/novajoin/otp_secret\n')
    _run(tree)
    assert IniDocument((tree / 'novajoin/join.conf').read_text()).get(
        'join', 'otp_secret') is None


def test_explicit_options_win_defaults_do_not(tree):
    _run(tree)
    path = tree / 'novajoin/join.conf'
    doc = IniDocument(path.read_text())
    doc.set('ipa', 'principal', 'nova/other.example.test')  # an operator's edit
    path.write_text(doc.text())
    _run(tree)
    assert IniDocument(path.read_text()).get('ipa', 'principal') == \
        'nova/other.example.test'
    _run(tree, '--principal', 'nova/third.example.test', '--port', '9191')
    assert IniDocument(path.read_text()).get('ipa', 'principal') == \
        'nova/third.example.test'
    nova = IniDocument((tree / 'nova.conf').read_text())
    assert nova.get('api', 'vendordata_dynamic_targets') == \
        'join@http://ctl.example.test:9191/v1/'


def test_dry_run_prints_a_masked_diff_and_writes_nothing(tree):
    changed, out = _run(tree, '--dry-run')
    assert changed == 4
    assert 'would install' in out
    assert _texts_exist(tree) == {'nova.conf': NOVA_CONF,
                                  'neutron.conf': NEUTRON_CONF}
    assert '+++ %s (new)' % (tree / 'nova.conf') in out
    assert '+vendordata_providers = StaticJSON,DynamicJSON' in out
    assert '-driver = noop' in out
    for secret in ('NovaPass', 'RabbitPass', 'DbPass'):
        assert secret not in out
    assert '+otp_secret = ***' in out


def _texts_exist(tree):
    return {p.name: p.read_text() for p in tree.iterdir() if p.is_file()}


def test_versioned_notifications(tree):
    _run(tree, '--notification-format', 'versioned')
    nova = IniDocument((tree / 'nova.conf').read_text())
    assert nova.get('notifications', 'notification_format') == 'versioned'
    assert nova.get('notifications', 'versioned_notifications_topics') == \
        'versioned_notifications'


def test_missing_nova_and_neutron_are_reported_not_created(tmp_path):
    args = install.parser().parse_args([
        '--join-conf', str(tmp_path / 'join.conf'),
        '--nova-conf', str(tmp_path / 'none' / 'nova.conf'),
        '--neutron-conf', str(tmp_path / 'none' / 'neutron.conf'),
        '--hostname', 'ctl.example.test'])
    out = io.StringIO()
    assert install.run(args, out=out) == 1
    assert 'nova.conf does not exist' in out.getvalue()
    assert not (tmp_path / 'none').exists()


# -- TLS: nova's target follows join.conf [api] cert_file/key_file ------------------

def _tls_files(tree):
    names = ('novajoin.crt', 'novajoin.key', 'ca.pem')
    for name in names:
        (tree / name).write_text('-----BEGIN PLACEHOLDER-----\n')
    return [str(tree / name) for name in names]


def test_tls_options_give_nova_an_https_target_and_the_ca(tree):
    cert, key, ca = _tls_files(tree)
    changed, out = _run(tree, '--cert-file', cert, '--key-file', key, '--ca-file', ca)
    assert changed == 4
    join = IniDocument((tree / 'novajoin/join.conf').read_text())
    assert (join.get('api', 'cert_file'), join.get('api', 'key_file')) == (cert, key)
    nova = IniDocument((tree / 'nova.conf').read_text())
    assert nova.get('api', 'vendordata_dynamic_targets') == \
        'join@https://ctl.example.test:9090/v1/'
    assert nova.get('api', 'vendordata_dynamic_ssl_certfile') == ca
    assert 'must name ctl.example.test' in out


def test_tls_second_run_changes_nothing_with_or_without_the_options(tree):
    cert, key, ca = _tls_files(tree)
    tls = ('--cert-file', cert, '--key-file', key, '--ca-file', ca)
    _run(tree, *tls)
    before = _texts(tree)
    for extra in (tls, ()):   # join.conf remembers TLS; nova keeps its CA file
        changed, out = _run(tree, *extra)
        assert changed == 0 and out.count('unchanged:') == 3
        assert _texts(tree) == before
    assert _run(tree, '--dry-run')[0] == 0


def test_tls_set_by_hand_in_join_conf_turns_an_http_target_into_https(tree):
    _run(tree)
    path = tree / 'novajoin/join.conf'
    doc = IniDocument(path.read_text())
    doc.set('api', 'cert_file', '/etc/novajoin/tls/novajoin.crt')
    doc.set('api', 'key_file', '/etc/novajoin/tls/novajoin.key')
    path.write_text(doc.text())
    changed, out = _run(tree)
    assert changed == 1   # nova.conf only
    nova = IniDocument((tree / 'nova.conf').read_text())
    # the old http target is replaced, not kept beside the new one
    assert nova.get('api', 'vendordata_dynamic_targets') == \
        'join@https://ctl.example.test:9090/v1/'
    assert nova.get('api', 'vendordata_dynamic_ssl_certfile') is None
    assert 'against the system CAs: pass --ca-file' in out


def test_relative_tls_paths_are_written_absolute(tree, monkeypatch):
    _tls_files(tree)
    monkeypatch.chdir(tree)
    _run(tree, '--cert-file', 'novajoin.crt', '--key-file', 'novajoin.key',
         '--ca-file', 'ca.pem')
    join = IniDocument((tree / 'novajoin/join.conf').read_text())
    assert join.get('api', 'cert_file') == str(tree / 'novajoin.crt')
    nova = IniDocument((tree / 'nova.conf').read_text())
    assert nova.get('api', 'vendordata_dynamic_ssl_certfile') == str(tree / 'ca.pem')


def test_missing_tls_files_are_noted(tree):
    _, out = _run(tree, '--cert-file', str(tree / 'no.crt'),
                  '--key-file', str(tree / 'no.key'))
    assert 'no.crt does not exist (yet)' in out and 'no.key does not exist (yet)' in out


@pytest.mark.parametrize('extra, message', [
    (('--cert-file', '/etc/novajoin/tls/novajoin.crt'),
     'cert_file and key_file must be set together (only cert_file is)'),
    (('--key-file', '/etc/novajoin/tls/novajoin.key'),
     'cert_file and key_file must be set together (only key_file is)'),
    (('--ca-file', '/etc/novajoin/tls/ca.pem'), '--ca-file is for an https target'),
])
def test_half_tls_is_refused_before_anything_is_written(tree, capsys, extra, message):
    argv = ['--join-conf', str(tree / 'novajoin' / 'join.conf'),
            '--nova-conf', str(tree / 'nova.conf'),
            '--neutron-conf', str(tree / 'neutron.conf'),
            '--hostname', 'ctl.example.test', '--ipa-server', 'ipa.example.test',
            '--cloud-config', str(tree / 'novajoin' / 'cloud-config-novajoin.json'),
            *extra]
    assert install.main(argv) == 1
    assert message in capsys.readouterr().err
    assert _texts_exist(tree) == {'nova.conf': NOVA_CONF, 'neutron.conf': NEUTRON_CONF}
    assert not (tree / 'novajoin').exists()
