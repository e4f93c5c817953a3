"""novajoin.ipa_setup.admin: where the IPA administrator's password comes
from, and the session made with it."""
import getpass
import io
import sys

import pytest

from novajoin.ipa import IPAClient
from novajoin.ipa.auth import PasswordAuth
from novajoin.ipa_setup import admin
from novajoin.ipa_setup import kerberos


class Terminal(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


@pytest.fixture
def no_password(monkeypatch):
    """No $NOVAJOIN_IPA_ADMIN_PASSWORD, no terminal, no prompt answered."""
    monkeypatch.delenv(admin.PASSWORD_ENV, raising=False)
    monkeypatch.setattr(sys, 'stdin', Terminal(tty=False))
    prompts = []

    def prompt(text):
        prompts.append(text)
        return 'typed-password'
    monkeypatch.setattr(getpass, 'getpass', prompt)
    return prompts


def test_password_file_gives_its_first_line_and_wins_over_the_environment(
        tmp_path, monkeypatch, no_password):
    path = tmp_path / 'admin.pw'
    path.write_text('Secret 123\nsecond line\n')
    monkeypatch.setenv(admin.PASSWORD_ENV, 'from-env')
    assert admin.password('admin', str(path)) == 'Secret 123'
    assert no_password == []


def test_password_from_the_environment_without_a_file(monkeypatch, no_password):
    monkeypatch.setenv(admin.PASSWORD_ENV, 'from-env')
    monkeypatch.setattr(sys, 'stdin', Terminal(tty=True))
    assert admin.password('admin') == 'from-env'
    assert no_password == []


def test_password_is_prompted_for_on_a_terminal(monkeypatch, no_password):
    monkeypatch.setattr(sys, 'stdin', Terminal(tty=True))
    assert admin.password('ipaadmin') == 'typed-password'
    assert no_password == ['Password for IPA ipaadmin: ']


def test_no_way_to_get_a_password_is_an_exit_that_names_the_ways(no_password):
    with pytest.raises(SystemExit) as exc:
        admin.password('admin', prog='novajoin-reconcile')
    message = str(exc.value)
    assert message.startswith('novajoin-reconcile: no password for IPA admin')
    assert '$' + admin.PASSWORD_ENV in message and 'Kerberos' in message
    assert no_password == []


def test_kerberos_uses_the_callers_ticket_and_asks_no_password(
        monkeypatch, no_password):
    monkeypatch.setattr(sys, 'stdin', Terminal(tty=True))
    ipa_auth, secret = admin.auth('admin', use_kerberos=True)
    assert isinstance(ipa_auth, kerberos.CcacheAuth)
    assert ipa_auth.ccache is None  # KRB5CCNAME or the default ccache
    assert secret is None
    assert no_password == []


def test_password_auth_logs_in_as_the_admin_and_hands_back_the_password(
        tmp_path, no_password):
    path = tmp_path / 'admin.pw'
    path.write_text('Secret123\n')
    ipa_auth, secret = admin.auth('ipaadmin', str(path))
    assert isinstance(ipa_auth, PasswordAuth)
    assert ipa_auth.user == 'ipaadmin'
    assert secret == 'Secret123'  # for the ticket ipa-getkeytab needs


def test_client_is_for_long_bulk_calls_with_the_ca_file_if_it_exists(tmp_path):
    ca = tmp_path / 'ca.crt'
    ca.write_text('-----BEGIN CERTIFICATE-----\n')
    ipa_auth = PasswordAuth('admin', 'Secret123')
    client = admin.client(('ipa1.example.test', 'ipa2.example.test'), ipa_auth,
                          str(ca), api_version='2.251')
    assert isinstance(client, IPAClient)
    assert client.servers == ['ipa1.example.test', 'ipa2.example.test']
    assert client.auth is ipa_auth
    assert client.verify == str(ca)
    assert client.api_version == '2.251'
    assert client.timeout[1] == 60


def test_client_verifies_against_the_system_cas_when_the_ca_file_is_missing(
        tmp_path):
    client = admin.client(['ipa.example.test'], PasswordAuth('admin', 'x'),
                          str(tmp_path / 'no-ca.crt'))
    assert client.verify is True


@pytest.mark.parametrize('text', ['', '\n', '\nSecret123\n'])
def test_an_empty_password_file_is_a_clear_exit_not_a_traceback(tmp_path, text):
    path = tmp_path / 'admin.pw'
    path.write_text(text)
    with pytest.raises(SystemExit) as exc:
        admin.auth('admin', str(path), prog='novajoin-ipa-setup')
    assert 'novajoin-ipa-setup: the password file %s is empty' % path in str(
        exc.value)
