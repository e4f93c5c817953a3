"""novajoin.ipa_setup.provision: the whole set-up against a scripted IPA.

The Kerberos side of the keytab (the KDC's answer, ipa-getkeytab, the admin's
ticket) is stubbed here; tests/unit/ipa_setup/test_kerberos.py covers it.
"""
import contextlib
import os
import pwd

import pytest

from novajoin import validation
from novajoin.ipa_setup import kerberos
from novajoin.ipa_setup import rbac
from novajoin.ipa_setup.errors import SetupError
from novajoin.ipa_setup.provision import provision
from tests.unit.ipa_setup.conftest import BASEDN
from tests.unit.ipa_setup.conftest import converged
from tests.unit.ipa_setup.conftest import PRINCIPAL
from tests.unit.ipa_setup.conftest import ScriptedIPA

ME = pwd.getpwuid(os.geteuid()).pw_name
HOST = 'ctl.example.test'
TICKET = 'FILE:/tmp/novajoin-setup-test/ccache'


class SetupIPA(ScriptedIPA):
    """ScriptedIPA that also answers ``env`` and ``ca_is_enabled``."""

    servers = ['ipa1.example.test', 'ipa2.example.test']

    def __init__(self, objects=None, ca=False):
        super().__init__(objects)
        self.ca = ca
        self.calls = []

    def call(self, method, *args, **options):
        self.calls.append(method)
        if method == 'env':
            assert args == ('realm', 'basedn')
            return {'result': {'realm': 'EXAMPLE.TEST', 'basedn': BASEDN}}
        if method == 'ca_is_enabled':
            return {'result': self.ca}
        return super().call(method, *args, **options)


def set_up(ca=False):
    """IPA as a finished set-up leaves it: the role, its principal and host,
    and the built-in permissions FreeIPA has."""
    objects = converged(ca)
    objects[('service', PRINCIPAL)] = {'krbprincipalname': [PRINCIPAL]}
    objects[('host', HOST)] = {'fqdn': [HOST]}
    for name in rbac.permission_names(ca):
        objects.setdefault(('permission', name), {'cn': [name]})
    return objects


class KDC:
    """kerberos.keytab_works / fetch_keytab / password_ccache: which keytabs
    hold working keys, what was fetched, which tickets were got."""

    def __init__(self):
        self.working = set()
        self.issues_keys = True
        self.fetched = []
        self.tickets = []
        self.krb5_config_seen = []

    def keytab_works(self, path, principal):
        self.krb5_config_seen.append(os.environ.get('KRB5_CONFIG'))
        return (path, principal) in self.working

    def fetch_keytab(self, getkeytab, server, principal, path, ccache=None,
                     ca_file=None, krb5_config=None, owner=None):
        self.fetched.append({'getkeytab': getkeytab, 'server': server,
                             'principal': principal, 'path': path,
                             'ccache': ccache, 'ca_file': ca_file,
                             'krb5_config': krb5_config, 'owner': owner})
        with open(path, 'wb') as f:
            f.write(b'new keys')
        os.chmod(path, 0o600)
        if self.issues_keys:
            self.working.add((path, principal))

    @contextlib.contextmanager
    def password_ccache(self, principal, password):
        self.tickets.append((principal, password))
        yield TICKET


@pytest.fixture
def kdc(monkeypatch):
    kdc = KDC()
    for name in ('keytab_works', 'fetch_keytab', 'password_ccache'):
        monkeypatch.setattr(kerberos, name, getattr(kdc, name))
    return kdc


@pytest.fixture
def keytab(tmp_path, kdc):
    """A keytab with working keys for PRINCIPAL, mode 0600."""
    path = tmp_path / 'krb5.keytab'
    path.write_bytes(b'keys')
    os.chmod(path, 0o600)
    kdc.working.add((str(path), PRINCIPAL))
    return path


def test_a_set_up_ipa_and_working_keytab_change_nothing(keytab, kdc):
    ipa = SetupIPA(set_up())
    report = provision(ipa, HOST, str(keytab), user=ME)
    assert not report.changed and report.warnings == []
    assert ipa.writes == [] and kdc.fetched == []
    assert (report.principal, report.keytab) == (PRINCIPAL, str(keytab))


def test_hostname_is_checked_before_ipa_is_asked(keytab):
    ipa = SetupIPA(set_up())
    with pytest.raises(validation.BadRequest, match='not fully qualified'):
        provision(ipa, 'ctl', str(keytab), user=ME)
    assert ipa.calls == []
    # the principal is named after the host name as IPA stores it
    assert provision(ipa, 'CTL.Example.Test.', str(keytab),
                     user=ME).principal == PRINCIPAL


def test_principal_gets_ipas_realm_unless_it_names_one(tmp_path, kdc):
    objects = set_up()
    other = 'nova/other.example.test'
    objects[('service', other + '@EXAMPLE.TEST')] = {}
    objects[('service', other + '@ELSEWHERE.TEST')] = {}
    for principal, full in ((other, other + '@EXAMPLE.TEST'),
                            (other + '@ELSEWHERE.TEST', other + '@ELSEWHERE.TEST')):
        ipa = SetupIPA(objects)
        report = provision(ipa, HOST, str(tmp_path / 'keytab'),
                           principal=principal, user=ME)
        assert report.principal == full
        assert ('role_add_member', (rbac.ROLE,), {'service': [full]}) in ipa.writes
        assert kdc.fetched[-1]['principal'] == full


def test_a_host_missing_from_ipa_is_refused_unless_add_host(keytab):
    objects = set_up()
    del objects[('service', PRINCIPAL)], objects[('host', HOST)]
    ipa = SetupIPA(objects)
    with pytest.raises(SetupError, match='host ctl.example.test is not in IPA: '
                       'enroll this controller with ipa-client-install, or pass '
                       '--add-host'):
        provision(ipa, HOST, str(keytab), user=ME)
    assert ipa.writes == []
    report = provision(ipa, HOST, str(keytab), user=ME, add_host=True)
    assert ipa.writes == [('host_add', (HOST,), {'force': True}),
                          ('service_add', (PRINCIPAL,), {'force': True})]
    assert report.changes == ['added host %s' % HOST, 'added service %s' % PRINCIPAL]


def test_a_missing_builtin_permission_stops_before_the_privilege(keytab):
    objects = set_up()
    del objects[('permission', 'System: Read DNS Entries')]
    objects[('privilege', rbac.PRIVILEGE)]['memberof_permission'] = []
    ipa = SetupIPA(objects)
    with pytest.raises(SetupError, match="IPA has no permission 'System: Read "
                       "DNS Entries': is this FreeIPA 4.5 or newer"):
        provision(ipa, HOST, str(keytab), user=ME)
    assert ipa.writes == []


def test_ipa_with_a_ca_gets_the_revocation_permissions(keytab):
    objects = set_up(ca=True)
    objects[('privilege', rbac.PRIVILEGE)] = {
        'memberof_permission': rbac.permission_names(ca_enabled=False)}
    ipa = SetupIPA(objects, ca=True)
    provision(ipa, HOST, str(keytab), user=ME)
    assert ipa.writes == [('privilege_add_permission', (rbac.PRIVILEGE,),
                           {'permission': list(rbac.CA_PERMISSIONS)})]
    # and without a CA, they are not asked for
    del objects[('permission', 'Revoke Certificate')]
    objects[('privilege', rbac.PRIVILEGE)] = {
        'memberof_permission': rbac.permission_names(ca_enabled=False)}
    ipa = SetupIPA(objects, ca=False)
    assert not provision(ipa, HOST, str(keytab), user=ME).changed


def test_a_keytab_without_working_keys_gets_new_ones_from_the_first_server(
        tmp_path, kdc):
    path = tmp_path / 'krb5.keytab'
    path.write_bytes(b'keys IPA has replaced since')
    ipa = SetupIPA(set_up())
    report = provision(ipa, HOST, str(path), user=ME, ccache='FILE:/tmp/admin.cc',
                       ca_file='/etc/ipa/ca.crt', krb5_config='/etc/krb5.conf')
    assert report.changes == ['new keys for %s in %s' % (PRINCIPAL, path)]
    assert kdc.fetched == [{'getkeytab': 'ipa-getkeytab',
                            'server': 'ipa1.example.test', 'principal': PRINCIPAL,
                            'path': str(path), 'ccache': 'FILE:/tmp/admin.cc',
                            'ca_file': '/etc/ipa/ca.crt',
                            'krb5_config': '/etc/krb5.conf',
                            'owner': pwd.getpwnam(ME)}]
    assert kdc.tickets == []  # the caller's ticket: no password given
    provision(ipa, HOST, str(tmp_path / 'second.keytab'), user=ME,
              server='ipa2.example.test', getkeytab='/opt/ipa-getkeytab')
    assert (kdc.fetched[-1]['server'], kdc.fetched[-1]['getkeytab']) == (
        'ipa2.example.test', '/opt/ipa-getkeytab')


def test_an_admin_password_gets_ipa_getkeytab_a_ticket_of_its_own(tmp_path, kdc):
    ipa = SetupIPA(set_up())
    provision(ipa, HOST, str(tmp_path / 'a.keytab'), user=ME,
              admin_principal='ipaadmin', admin_password='Secret123',
              ccache='FILE:/tmp/not-this-one')
    assert kdc.tickets == [('ipaadmin', 'Secret123')]
    assert kdc.fetched[-1]['ccache'] == TICKET
    provision(ipa, HOST, str(tmp_path / 'b.keytab'), user=ME,
              admin_password='Secret123')
    assert kdc.tickets[-1] == ('admin', 'Secret123')


def test_new_keys_that_give_no_ticket_are_an_error(tmp_path, kdc):
    kdc.issues_keys = False
    path = tmp_path / 'krb5.keytab'
    with pytest.raises(SetupError, match='the new keytab %s gives no ticket for %s'
                       % (path, PRINCIPAL)):
        provision(SetupIPA(set_up()), HOST, str(path), user=ME)


def test_dry_run_reports_new_keys_and_fetches_none(tmp_path, kdc):
    objects = set_up()
    del objects[('service', PRINCIPAL)]
    ipa = SetupIPA(objects)
    path = tmp_path / 'krb5.keytab'
    report = provision(ipa, HOST, str(path), user=ME, dry_run=True)
    assert report.changes == ['added service %s' % PRINCIPAL,
                              'new keys for %s in %s' % (PRINCIPAL, path)]
    assert ipa.writes == [] and kdc.fetched == []
    assert not path.exists()


def test_a_working_keytab_with_a_loose_mode_is_tightened_not_replaced(keytab, kdc):
    os.chmod(keytab, 0o644)
    ipa = SetupIPA(set_up())
    report = provision(ipa, HOST, str(keytab), user=ME, dry_run=True)
    assert report.changes == ['keytab %s: mode 0600' % keytab]
    assert os.stat(keytab).st_mode & 0o777 == 0o644
    report = provision(ipa, HOST, str(keytab), user=ME)
    assert report.changes == ['keytab %s: mode 0600' % keytab]
    assert os.stat(keytab).st_mode & 0o777 == 0o600
    assert kdc.fetched == [] and keytab.read_bytes() == b'keys'


def test_krb5_config_is_in_force_for_the_keytab_check(keytab, kdc, monkeypatch):
    monkeypatch.setenv('KRB5_CONFIG', '/etc/krb5.conf')  # restored afterwards
    provision(SetupIPA(set_up()), HOST, str(keytab), user=ME,
              krb5_config='/etc/novajoin/krb5.conf')
    assert kdc.krb5_config_seen == ['/etc/novajoin/krb5.conf']


def test_not_root_warns_that_the_keytab_is_not_the_users(keytab, monkeypatch):
    owner = next(p for p in pwd.getpwall()
                 if p.pw_uid != os.stat(keytab).st_uid)
    monkeypatch.setattr(os, 'geteuid', lambda: 4242)  # may not chown
    report = provision(SetupIPA(set_up()), HOST, str(keytab), user=owner.pw_name)
    assert not report.changed
    assert report.warnings == ['keytab %s is not owned by %s: run as root to '
                               'chown it' % (keytab, owner.pw_name)]
