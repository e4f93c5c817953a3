"""novajoin.ipa_setup.kerberos: the keytab, its owner, the admin's ticket.

ipa-getkeytab (subprocess) and GSSAPI (the KDC) are stubbed."""
import os
import pwd
import stat
import subprocess
import tempfile
import types

import gssapi
import pytest
import requests_gssapi

from novajoin.ipa import errors
from novajoin.ipa_setup import kerberos
from tests.unit.ipa_setup.conftest import PRINCIPAL


def test_secure_file_fixes_mode(tmp_path):
    path = tmp_path / 'keytab'
    path.write_bytes(b'\x05\x02')
    os.chmod(path, 0o644)
    me = pwd.getpwuid(os.geteuid())
    assert kerberos.secure_file(str(path), me, apply=False) == ['mode 0600']
    assert os.stat(path).st_mode & 0o777 == 0o644
    assert kerberos.secure_file(str(path), me) == ['mode 0600']
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert kerberos.secure_file(str(path), me) == []


def test_service_user_default_and_unknown():
    assert kerberos.service_user().pw_name in ('novajoin',
                                               pwd.getpwuid(os.geteuid()).pw_name)
    with pytest.raises(kerberos.SetupError):
        kerberos.service_user('no-such-user-novajoin')


def test_keytab_check_of_a_missing_file_is_false(tmp_path):
    assert not kerberos.keytab_works(str(tmp_path / 'none'), PRINCIPAL)


# -- stand-ins for the Kerberos boundary: ipa-getkeytab and GSSAPI -----------

GETKEYTAB = '/usr/sbin/ipa-getkeytab'
# a pwd entry, as far as secure_file reads it
NOVAJOIN = types.SimpleNamespace(pw_name='novajoin', pw_uid=4242, pw_gid=4243)


class GetKeytab:
    """subprocess.run as ipa-getkeytab: appends ``keys`` to the -k file."""

    def __init__(self, returncode=0, keys=b'new keys', stderr=''):
        self.returncode, self.keys, self.stderr = returncode, keys, stderr
        self.cmd = self.env = None

    def __call__(self, cmd, env=None, **kwargs):
        self.cmd, self.env = cmd, env
        if self.keys:
            with open(cmd[cmd.index('-k') + 1], 'ab') as f:
                f.write(self.keys)
        return subprocess.CompletedProcess(cmd, self.returncode, '', self.stderr)


@pytest.fixture
def keytab(tmp_path):
    path = tmp_path / 'etc' / 'krb5.keytab'
    path.parent.mkdir()
    path.write_bytes(b'old keys')
    os.chmod(path, 0o644)
    return path


def _gss_error():
    return gssapi.exceptions.GSSError(851968, 0)  # GSS_S_FAILURE


class FakeCredentials:
    """gssapi.Credentials: records how it was asked; ``fail``: the KDC says no."""

    made = []
    fail = False

    def __init__(self, **kwargs):
        FakeCredentials.made.append(kwargs)
        if FakeCredentials.fail:
            raise _gss_error()
        self.lifetime = 36000


@pytest.fixture
def credentials(monkeypatch):
    monkeypatch.setattr(FakeCredentials, 'made', [])
    monkeypatch.setattr(FakeCredentials, 'fail', False)
    monkeypatch.setattr(gssapi, 'Credentials', FakeCredentials)
    return FakeCredentials


def test_fetch_keytab_replaces_the_keytab_with_only_the_new_keys(keytab, monkeypatch):
    run = GetKeytab()
    monkeypatch.setattr(subprocess, 'run', run)
    kerberos.fetch_keytab(GETKEYTAB, 'ipa.example.test', PRINCIPAL, str(keytab),
                          ca_file='/etc/ipa/ca.crt')
    # ipa-getkeytab appends: it wrote a fresh file, which then replaced the old
    assert keytab.read_bytes() == b'new keys'
    assert stat.S_IMODE(os.stat(keytab).st_mode) == 0o600
    tmp = run.cmd[run.cmd.index('-k') + 1]
    assert run.cmd == [GETKEYTAB, '-s', 'ipa.example.test', '-p', PRINCIPAL,
                       '-k', tmp, '--cacert', '/etc/ipa/ca.crt']
    assert tmp != str(keytab)
    assert os.path.dirname(os.path.dirname(tmp)) == str(keytab.parent)  # same fs
    assert os.listdir(keytab.parent) == ['krb5.keytab']  # nothing left over


def test_fetch_keytab_runs_with_the_given_ticket_and_krb5_config(keytab, monkeypatch):
    run = GetKeytab()
    monkeypatch.setattr(subprocess, 'run', run)
    monkeypatch.setenv('KRB5CCNAME', 'FILE:/tmp/callers-ccache')
    kerberos.fetch_keytab(GETKEYTAB, 'ipa.example.test', PRINCIPAL, str(keytab),
                          ccache='FILE:/tmp/novajoin-setup/ccache',
                          krb5_config='/etc/novajoin/krb5.conf')
    assert run.env['KRB5CCNAME'] == 'FILE:/tmp/novajoin-setup/ccache'
    assert run.env['KRB5_CONFIG'] == '/etc/novajoin/krb5.conf'
    assert '--cacert' not in run.cmd
    assert os.environ['KRB5CCNAME'] == 'FILE:/tmp/callers-ccache'  # ours untouched


def test_fetch_keytab_without_a_ccache_uses_the_callers_ticket(keytab, monkeypatch):
    run = GetKeytab()
    monkeypatch.setattr(subprocess, 'run', run)
    monkeypatch.setenv('KRB5CCNAME', 'FILE:/tmp/callers-ccache')
    kerberos.fetch_keytab(GETKEYTAB, 'ipa.example.test', PRINCIPAL, str(keytab))
    assert run.env['KRB5CCNAME'] == 'FILE:/tmp/callers-ccache'


def test_fetch_keytab_that_fails_is_a_setup_error_and_keeps_the_old_keytab(
        keytab, monkeypatch):
    monkeypatch.setattr(subprocess, 'run', GetKeytab(
        returncode=9, keys=b'partial', stderr='Failed to parse result: '
                                              'Insufficient access rights\n'))
    with pytest.raises(kerberos.SetupError, match=r'^ipa-getkeytab failed \(exit 9\): '
                       r'Failed to parse result: Insufficient access rights$'):
        kerberos.fetch_keytab(GETKEYTAB, 'ipa.example.test', PRINCIPAL, str(keytab))
    assert keytab.read_bytes() == b'old keys'
    assert os.listdir(keytab.parent) == ['krb5.keytab']


def test_fetch_keytab_that_writes_no_file_is_a_failure(keytab, monkeypatch):
    monkeypatch.setattr(subprocess, 'run', GetKeytab(returncode=0, keys=None))
    with pytest.raises(kerberos.SetupError, match=r'failed \(exit 0\)'):
        kerberos.fetch_keytab(GETKEYTAB, 'ipa.example.test', PRINCIPAL, str(keytab))
    assert keytab.read_bytes() == b'old keys'


def test_missing_ipa_getkeytab_says_what_to_install(keytab, monkeypatch):
    def run(cmd, **kwargs):
        raise FileNotFoundError(2, 'No such file or directory', cmd[0])
    monkeypatch.setattr(subprocess, 'run', run)
    with pytest.raises(kerberos.SetupError, match='/opt/ipa-getkeytab not found: install '
                       'the FreeIPA client tools or pass --getkeytab'):
        kerberos.fetch_keytab('/opt/ipa-getkeytab', 'ipa.example.test', PRINCIPAL,
                              str(keytab))
    assert os.listdir(keytab.parent) == ['krb5.keytab']


def test_secure_file_gives_the_keytab_to_its_owner_only_as_root(tmp_path, monkeypatch):
    path = tmp_path / 'keytab'
    path.write_bytes(b'keys')
    os.chmod(path, 0o600)
    chowned = []
    monkeypatch.setattr(os, 'chown', lambda *args: chowned.append(args))
    monkeypatch.setattr(os, 'geteuid', lambda: 1000)
    assert kerberos.secure_file(str(path), NOVAJOIN) == []  # may not chown
    monkeypatch.setattr(os, 'geteuid', lambda: 0)
    assert kerberos.secure_file(str(path), NOVAJOIN, apply=False) == ['owner novajoin']
    assert chowned == []
    assert kerberos.secure_file(str(path), NOVAJOIN) == ['owner novajoin']
    assert chowned == [(str(path), 4242, 4243)]


def test_keytab_check_asks_the_kdc_with_a_private_ccache(keytab, credentials):
    assert kerberos.keytab_works(str(keytab), PRINCIPAL)
    [asked] = credentials.made
    assert str(asked['name']) == PRINCIPAL and asked['usage'] == 'initiate'
    assert asked['store']['client_keytab'] == str(keytab)
    # a throw-away in-memory ccache: never the caller's (an admin's) tickets
    assert asked['store']['ccache'].startswith('MEMORY:')


def test_keytab_the_kdc_refuses_is_not_working(keytab, credentials):
    credentials.fail = True
    assert not kerberos.keytab_works(str(keytab), PRINCIPAL)
    assert len(credentials.made) == 1


def test_ccache_auth_without_a_ticket_says_to_run_kinit(credentials):
    credentials.fail = True
    with pytest.raises(errors.IPAAuthError, match='no usable Kerberos ticket '
                       r'\(run kinit as an IPA admin first\)'):
        kerberos.CcacheAuth().login(None, 'https://ipa.example.test',
                                    'https://ipa.example.test/ipa', 5, True)


def test_ccache_auth_uses_the_given_ccache_else_the_default(credentials):
    given = kerberos.CcacheAuth('FILE:/tmp/admin.ccache')
    auth = given.request_auth()
    assert credentials.made[-1] == {'usage': 'initiate',
                                    'store': {'ccache': 'FILE:/tmp/admin.ccache'}}
    assert isinstance(auth.creds, FakeCredentials)
    assert auth.mutual_authentication == requests_gssapi.DISABLED
    assert given.describe() == 'Kerberos ticket in FILE:/tmp/admin.ccache'
    default = kerberos.CcacheAuth()
    default.login(None, 'https://ipa.example.test', 'https://ipa.example.test/ipa', 5, True)
    assert credentials.made[-1] == {'usage': 'initiate', 'store': None}
    assert default.describe() == 'Kerberos ticket in the default ccache'


def test_password_ccache_is_a_private_file_removed_afterwards(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path))
    calls = []

    def acquire(name, password, usage):
        calls.append(('acquire', str(name), password, usage))
        return types.SimpleNamespace(creds='tgt')

    def store(store, creds, usage, overwrite):
        calls.append(('store', store, creds, usage))
    monkeypatch.setattr(gssapi.raw, 'acquire_cred_with_password', acquire)
    monkeypatch.setattr(gssapi.raw, 'store_cred_into', store)
    with kerberos.password_ccache('admin@EXAMPLE.TEST', 'Secret123') as ccache:
        assert ccache.startswith('FILE:' + str(tmp_path) + os.sep)
        directory = os.path.dirname(ccache[len('FILE:'):])
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert calls == [('acquire', 'admin@EXAMPLE.TEST', b'Secret123', 'initiate'),
                     ('store', {'ccache': ccache}, 'tgt', 'initiate')]
    assert os.listdir(tmp_path) == []


def test_a_refused_password_is_a_setup_error_and_leaves_no_ccache(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path))

    def acquire(name, password, usage):
        raise _gss_error()
    monkeypatch.setattr(gssapi.raw, 'acquire_cred_with_password', acquire)
    with pytest.raises(kerberos.SetupError, match='cannot get a Kerberos ticket '
                       'for admin@EXAMPLE.TEST with the password'):
        with kerberos.password_ccache('admin@EXAMPLE.TEST', 'wrong'):
            pass
    assert os.listdir(tmp_path) == []
