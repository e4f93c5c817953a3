"""novajoin-ipa-setup's convergence logic against a scripted IPA (no Kerberos).

The functional test (tests/functional/test_ipa_setup.py) proves the set on the
real FreeIPA; these cover the decisions: what is written, what is left alone.
"""
import os
import pwd

import pytest

from novajoin.ipa import errors
from novajoin.ipa_setup import kerberos
from novajoin.ipa_setup import rbac
from novajoin.ipa_setup.provision import Report

BASEDN = 'dc=example,dc=test'
PRINCIPAL = 'nova/ctl.example.test@EXAMPLE.TEST'


class ScriptedIPA:
    """Answers *_show from ``objects``; records every other call."""

    def __init__(self, objects=None, results=None):
        self.objects = objects or {}
        self.results = results or {}
        self.writes = []

    def call(self, method, *args, **options):
        if method.endswith('_show'):
            key = (method[:-5], args[0])
            if key not in self.objects:
                raise errors.NotFound('%s: not found' % args[0])
            return {'result': self.objects[key]}
        self.writes.append((method, args, options))
        return self.results.get(method, {'result': {}})


def _shown_permission(options):
    shown = {}
    for key, value in options.items():
        value = value % {'basedn': BASEDN} if isinstance(value, str) else value
        shown[key] = value if isinstance(value, list) else [value]
    return shown


def _converged(ca=False):
    objects = {('permission', name): _shown_permission(options)
               for name, (options, _) in rbac.CUSTOM_PERMISSIONS.items()}
    objects[('privilege', rbac.PRIVILEGE)] = {
        'memberof_permission': rbac.permission_names(ca)}
    objects[('role', rbac.ROLE)] = {'memberof_privilege': [rbac.PRIVILEGE],
                                    'member_service': [PRINCIPAL]}
    return objects


def _converge(ipa, dry_run=False, ca=False):
    report = Report()
    conv = rbac.Converger(ipa, report, dry_run=dry_run)
    for name, (options, _) in rbac.CUSTOM_PERMISSIONS.items():
        conv.permission(name, options, BASEDN)
    conv.privilege(rbac.PRIVILEGE, 'd', rbac.permission_names(ca))
    conv.role(rbac.ROLE, 'd', rbac.PRIVILEGE, PRINCIPAL)
    return report


def test_converged_ipa_gets_no_write():
    ipa = ScriptedIPA(_converged())
    assert not _converge(ipa).changed
    assert ipa.writes == []


def test_dry_run_reports_everything_and_writes_nothing():
    ipa = ScriptedIPA()
    report = _converge(ipa, dry_run=True)
    assert ipa.writes == []
    assert len(report.changes) == len(rbac.CUSTOM_PERMISSIONS) + 5
    assert "added role 'Nova Host Manager'" in report.changes


def test_fresh_ipa_gets_everything_added():
    ipa = ScriptedIPA()
    _converge(ipa)
    methods = [w[0] for w in ipa.writes]
    assert methods.count('permission_add') == len(rbac.CUSTOM_PERMISSIONS)
    assert methods[-5:] == ['privilege_add', 'privilege_add_permission',
                            'role_add', 'role_add_privilege', 'role_add_member']
    added = dict((w[0], w) for w in ipa.writes)['privilege_add_permission']
    assert added[2]['permission'] == rbac.permission_names(False)
    dns = [w for w in ipa.writes if w[1][0] == 'Novajoin - Update DNS Records'][0]
    assert dns[2]['ipapermtarget'] == 'idnsname=*,idnsname=*,cn=dns,' + BASEDN
    assert dns[2]['attrs'] == ['arecord', 'aaaarecord', 'ptrrecord', 'sshfprecord']


def test_drifted_permission_is_corrected_in_what_differs_only():
    objects = _converged()
    objects[('permission', 'Novajoin - Update DNS Records')]['attrs'] = [
        'arecord', 'txtrecord']
    ipa = ScriptedIPA(objects)
    report = _converge(ipa)
    assert ipa.writes == [('permission_mod', ('Novajoin - Update DNS Records',),
                           {'attrs': rbac.DNS_RECORD_ATTRS})]
    assert report.changes == ["corrected permission 'Novajoin - Update DNS "
                              "Records' (attrs)"]


def test_extra_permissions_and_privileges_are_removed_members_kept():
    objects = _converged()
    objects[('privilege', rbac.PRIVILEGE)]['memberof_permission'] += [
        'System: Manage Host Keytab']
    objects[('role', rbac.ROLE)]['memberof_privilege'] += ['Host Administrators']
    objects[('role', rbac.ROLE)]['member_service'] += ['nova/other@EXAMPLE.TEST']
    ipa = ScriptedIPA(objects)
    _converge(ipa)
    assert ipa.writes == [
        ('privilege_remove_permission', (rbac.PRIVILEGE,),
         {'permission': ['System: Manage Host Keytab']}),
        ('role_remove_privilege', (rbac.ROLE,),
         {'privilege': ['Host Administrators']})]


def test_member_matched_without_realm_and_case():
    objects = _converged()
    objects[('role', rbac.ROLE)]['member_service'] = ['NOVA/ctl.example.test']
    ipa = ScriptedIPA(objects)
    _converge(ipa)
    assert ipa.writes == []


def test_refusal_inside_the_result_is_an_error():
    objects = _converged()
    objects[('role', rbac.ROLE)]['member_service'] = []
    refused = {'failed': {'member': {'service': [[PRINCIPAL, 'no such entry']]}}}
    ipa = ScriptedIPA(objects, results={'role_add_member': refused})
    with pytest.raises(errors.IPACommandError, match='no such entry'):
        _converge(ipa)


def test_ca_adds_the_revocation_permissions():
    names = rbac.permission_names(ca_enabled=True)
    assert 'Revoke Certificate' in names
    assert 'Revoke Certificate' not in rbac.permission_names(ca_enabled=False)


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
