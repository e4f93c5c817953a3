"""novajoin.notify.wiring: where the reconciler lists hosts from."""
import pytest

from novajoin import conf as conf_pkg
from novajoin.ipa import auth
from novajoin.ipa import directory
from novajoin.notify import wiring

BASEDN = 'dc=example,dc=test'


class StubIPA:
    """IPAClient.call, recorded; ``env basedn`` answered as IPA does."""

    def __init__(self):
        self.calls = []

    def call(self, method, *args, **options):
        self.calls.append((method, args, options))
        return {'result': {'basedn': BASEDN}}


@pytest.fixture
def ldap_conf(conf, tmp_path):
    ca = tmp_path / 'ca.crt'
    ca.write_text('a CA\n')
    conf.set_override('auth_method', 'password', group='ipa')
    conf.set_override('user', 'novajoin', group='ipa')
    conf.set_override('password', 'Secret123', group='ipa')
    conf.set_override('servers', ['ipa1.example.test', 'ipa2.example.test:443'],
                      group='ipa')
    conf.set_override('ca_file', str(ca), group='ipa')
    conf.set_override('verify', False, group='ipa')
    conf.set_override('connect_timeout', 2.5, group='ipa')
    conf.set_override('read_from_ldap', True, group='notify')
    conf.set_override('reconcile_read_timeout', 45.0, group='notify')
    conf.set_override('reconcile_page_size', 250, group='notify')
    return conf


def test_no_directory_when_read_from_ldap_is_off(ldap_conf):
    ldap_conf.set_override('read_from_ldap', False, group='notify')
    ipa = StubIPA()
    assert wiring.directory_from_conf(ldap_conf, ipa) is None
    assert ipa.calls == []


def test_the_old_option_name_reconcile_from_ldap_still_turns_it_off(tmp_path):
    path = tmp_path / 'join.conf'
    path.write_text('[notify]\nreconcile_from_ldap = false\n')
    conf = conf_pkg.new_conf()
    conf(['--config-file', str(path)], project='novajoin',
         default_config_files=[])
    assert wiring.directory_from_conf(conf, StubIPA()) is None


def test_the_directory_is_made_from_the_ipa_and_notify_options(ldap_conf):
    d = wiring.directory_from_conf(ldap_conf, StubIPA())
    assert isinstance(d, directory.Directory)
    assert d.servers == ['ipa1.example.test', 'ipa2.example.test:443']
    assert d.ca_file == ldap_conf.ipa.ca_file
    assert d.verify is False
    assert d.connect_timeout == 2.5
    assert d.read_timeout == 45.0
    assert d.lookup_timeout == ldap_conf.ipa.read_timeout == 4.0
    assert d.page_size == 250
    assert d.port == 389
    assert isinstance(d.auth, auth.PasswordAuth)
    assert d.auth.user == 'novajoin'


def test_the_directory_asks_ipa_for_the_basedn_only_when_first_read(
        ldap_conf):
    ipa = StubIPA()
    d = wiring.directory_from_conf(ldap_conf, ipa)
    assert ipa.calls == []
    assert d.basedn == BASEDN
    assert d.basedn == BASEDN
    assert ipa.calls == [('env', ('basedn',), {})]
