"""novajoin.ipa_setup.rbac: converging IPA's permissions, privilege and role."""
import pytest

from novajoin.ipa import errors
from novajoin.ipa_setup import rbac
from novajoin.ipa_setup.provision import Report
from tests.unit.ipa_setup.conftest import BASEDN
from tests.unit.ipa_setup.conftest import converged
from tests.unit.ipa_setup.conftest import PRINCIPAL
from tests.unit.ipa_setup.conftest import ScriptedIPA


def _converge(ipa, dry_run=False, ca=False):
    report = Report()
    conv = rbac.Converger(ipa, report, dry_run=dry_run)
    for name, (options, _) in rbac.CUSTOM_PERMISSIONS.items():
        conv.permission(name, options, BASEDN)
    conv.privilege(rbac.PRIVILEGE, 'd', rbac.permission_names(ca))
    conv.role(rbac.ROLE, 'd', rbac.PRIVILEGE, PRINCIPAL)
    return report


def test_converged_ipa_gets_no_write():
    ipa = ScriptedIPA(converged())
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
    objects = converged()
    objects[('permission', 'Novajoin - Update DNS Records')]['attrs'] = [
        'arecord', 'txtrecord']
    ipa = ScriptedIPA(objects)
    report = _converge(ipa)
    assert ipa.writes == [('permission_mod', ('Novajoin - Update DNS Records',),
                           {'attrs': rbac.DNS_RECORD_ATTRS})]
    assert report.changes == ["corrected permission 'Novajoin - Update DNS "
                              "Records' (attrs)"]


HOST_PERMISSIONS = ['Novajoin - Add Hosts', 'Novajoin - Remove Hosts',
                    'Novajoin - Manage Host Enrollment Password',
                    'Novajoin - Modify Host managedBy']


def test_host_permissions_only_reach_novajoin_hosts():
    for name in HOST_PERMISSIONS:
        options = rbac.CUSTOM_PERMISSIONS[name][0]
        assert options['type'] == 'host'
        assert options['extratargetfilter'] == ['(userclass=novajoin:*)'], name
    # The built-ins they replace reach every host, IPA servers included.
    names = rbac.permission_names(ca_enabled=True)
    for builtin in ('System: Add Hosts', 'System: Remove Hosts',
                    'System: Manage Host Enrollment Password'):
        assert builtin not in names
    # The filter means something only while novajoin cannot rewrite a
    # host's description: no permission of the role may write it.
    for name, (options, _) in rbac.CUSTOM_PERMISSIONS.items():
        assert 'description' not in options.get('attrs', []), name


def test_fresh_ipa_gets_the_host_filters():
    ipa = ScriptedIPA()
    _converge(ipa)
    added = {w[1][0]: w[2] for w in ipa.writes if w[0] == 'permission_add'}
    assert added['Novajoin - Modify Host managedBy'] == {
        'type': 'host', 'ipapermright': ['write'], 'attrs': ['managedby'],
        'extratargetfilter': ['(userclass=novajoin:*)']}
    assert list(added['Novajoin - Modify Service managedBy'][
        'extratargetfilter']) == []


def test_permission_without_its_filter_gets_it():
    """A deployment set up before the scoping: only the filter is written."""
    objects = converged()
    del objects[('permission', 'Novajoin - Modify Host managedBy')][
        'extratargetfilter']
    ipa = ScriptedIPA(objects)
    report = _converge(ipa)
    assert ipa.writes == [('permission_mod', ('Novajoin - Modify Host managedBy',),
                           {'extratargetfilter': ['(userclass=novajoin:*)']})]
    assert report.changes == ["corrected permission 'Novajoin - Modify Host "
                              "managedBy' (extratargetfilter)"]


def test_filter_added_by_hand_is_taken_away():
    objects = converged()
    objects[('permission', 'Novajoin - Modify Service managedBy')][
        'extratargetfilter'] = ['(krbprincipalname=HTTP/*)']
    objects[('permission', 'Novajoin - Remove Hosts')]['extratargetfilter'] = [
        '(description=*)']
    ipa = ScriptedIPA(objects)
    _converge(ipa)
    mods = {w[1][0]: w[2] for w in ipa.writes}
    assert list(mods.pop('Novajoin - Modify Service managedBy')[
        'extratargetfilter']) == []
    assert mods == {'Novajoin - Remove Hosts': {
        'extratargetfilter': ['(userclass=novajoin:*)']}}


def test_old_deployment_loses_the_unscoped_builtins():
    """The built-ins the scoped permissions replace leave the privilege only
    after the replacements are in it (no moment without host_add)."""
    objects = converged()
    old = ['System: Add Hosts', 'System: Remove Hosts',
           'System: Manage Host Enrollment Password']
    shown = objects[('privilege', rbac.PRIVILEGE)]
    shown['memberof_permission'] = [p for p in shown['memberof_permission']
                                    if p not in HOST_PERMISSIONS[:3]] + old
    ipa = ScriptedIPA(objects)
    _converge(ipa)
    assert ipa.writes == [
        ('privilege_add_permission', (rbac.PRIVILEGE,),
         {'permission': HOST_PERMISSIONS[:3]}),
        ('privilege_remove_permission', (rbac.PRIVILEGE,),
         {'permission': ['System: Add Hosts',
                         'System: Manage Host Enrollment Password',
                         'System: Remove Hosts']})]


def test_extra_permissions_and_privileges_are_removed_members_kept():
    objects = converged()
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
    objects = converged()
    objects[('role', rbac.ROLE)]['member_service'] = ['NOVA/ctl.example.test']
    ipa = ScriptedIPA(objects)
    _converge(ipa)
    assert ipa.writes == []


def test_refusal_inside_the_result_is_an_error():
    objects = converged()
    objects[('role', rbac.ROLE)]['member_service'] = []
    refused = {'failed': {'member': {'service': [[PRINCIPAL, 'no such entry']]}}}
    ipa = ScriptedIPA(objects, results={'role_add_member': refused})
    with pytest.raises(errors.IPACommandError, match='no such entry'):
        _converge(ipa)


def test_ca_adds_the_revocation_permissions():
    names = rbac.permission_names(ca_enabled=True)
    assert 'Revoke Certificate' in names
    assert 'Revoke Certificate' not in rbac.permission_names(ca_enabled=False)
