"""novajoin-ipa-setup against the real FreeIPA peer.

The tool run twice (the second changes nothing), then every call
novajoin-server and novajoin-notify make, with nothing but the keytab it wrote
and the role it made; calls outside the role are refused.
"""
import os
import pwd
import subprocess
import sys
import uuid

import pytest

from novajoin import join
from novajoin import otp
from novajoin.hosts import dns
from novajoin.hosts import records
from novajoin.hosts import services
from novajoin.hosts import store
from novajoin.ipa import IPAClient
from novajoin.ipa import errors
from novajoin.ipa.auth import KerberosAuth
from novajoin.ipa_setup import PRIVILEGE, ROLE
from novajoin.ipa_setup import provision
from novajoin.ipa_setup import rbac
from novajoin.ipa_setup.provision import Report
from novajoin.validation import VendordataRequest
from tests.functional.ipa_calls import FORWARD_ZONE, Scenario


def _keytab_client(ipa_env, identity):
    auth = KerberosAuth(identity['keytab'], identity['principal'],
                        krb5_config=ipa_env['IPA_KRB5_CONFIG'])
    return IPAClient([ipa_env['IPA_SERVER']], auth, ca_file=ipa_env['IPA_CA_CERT'],
                     read_timeout=30)


@pytest.fixture
def controller(ipa_env, ipa_admin, unique, tmp_path):
    """A controller host name for the tool to set up; removed afterwards."""
    hostname = 'njtool-%s.%s' % (unique, ipa_env['IPA_DOMAIN'])
    yield hostname, str(tmp_path / 'etc' / 'krb5.keytab')
    for method, name in (('service_del', 'nova/' + hostname),
                         ('host_del', hostname)):
        try:
            ipa_admin.call(method, name)
        except errors.NotFound:
            pass


def _run_tool(ipa_env, hostname, keytab, *extra):
    env = dict(os.environ, NOVAJOIN_IPA_ADMIN_PASSWORD=ipa_env['IPA_ADMIN_PASSWORD'])
    proc = subprocess.run(
        [sys.executable, '-m', 'novajoin.cmd.ipa_setup',
         '--server', ipa_env['IPA_SERVER'], '--hostname', hostname,
         '--keytab', keytab, '--ca-file', ipa_env['IPA_CA_CERT'],
         '--krb5-config', ipa_env['IPA_KRB5_CONFIG'],
         '--getkeytab', ipa_env['IPA_GETKEYTAB'], '--add-host', *extra],
        env=env, capture_output=True, text=True, timeout=180)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert ipa_env['IPA_ADMIN_PASSWORD'] not in output
    return proc.stdout.splitlines()


def test_tool_twice_then_unchanged(ipa_env, ipa_admin, controller):
    hostname, keytab = controller
    user = 'nobody' if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    first = _run_tool(ipa_env, hostname, keytab, '--user', user)
    assert first[-1].startswith('changed'), first
    assert any('new keys for nova/%s' % hostname in line for line in first)
    st = os.stat(keytab)
    assert st.st_mode & 0o777 == 0o600
    assert st.st_uid == pwd.getpwnam(user).pw_uid

    assert _run_tool(ipa_env, hostname, keytab, '--user', user)[-1] == 'unchanged'
    assert _run_tool(ipa_env, hostname, keytab, '--user', user,
                     '--dry-run')[-1] == 'unchanged'

    role = ipa_admin.call('role_show', ROLE)['result']
    assert 'nova/%s@%s' % (hostname, ipa_env['IPA_REALM']) in role['member_service']
    assert role['memberof_privilege'] == [PRIVILEGE]


def test_provision_converges_after_drift(ipa_env, ipa_admin, controller, unique):
    """Widened privilege, principal out of the role: the next run repairs both.

    A privilege and role of this test's own, so that the shared ones other
    sessions use never change under them.
    """
    hostname, keytab = controller
    names = {'privilege': 'Nova Host Management test %s' % unique,
             'role': 'Nova Host Manager test %s' % unique}

    def run():
        return provision(ipa_admin, hostname, keytab, server=ipa_env['IPA_SERVER'],
                         getkeytab=ipa_env['IPA_GETKEYTAB'],
                         ca_file=ipa_env['IPA_CA_CERT'],
                         krb5_config=ipa_env['IPA_KRB5_CONFIG'],
                         admin_password=ipa_env['IPA_ADMIN_PASSWORD'],
                         add_host=True, **names)

    try:
        principal = run().principal
        assert not run().changed
        # A keytab right, and the unscoped built-in an older set-up granted.
        ipa_admin.call('privilege_add_permission', names['privilege'],
                       permission=['System: Manage Host Keytab',
                                   'System: Remove Hosts'])
        ipa_admin.call('role_remove_member', names['role'], service=[principal])
        nova = _keytab_client(ipa_env, {'keytab': keytab, 'principal': principal})
        with pytest.raises(errors.ACIError):
            nova.call('host_add', 'njx-%s' % hostname, force=True, userpassword='x')

        report = run()
        assert any('removed System: Manage Host Keytab, System: Remove Hosts'
                   in c for c in report.changes), report.changes
        assert any('added member %s' % principal in c for c in report.changes)
        assert not run().changed
    finally:
        for method, name in (('role_del', names['role']),
                             ('privilege_del', names['privilege'])):
            try:
                ipa_admin.call(method, name)
            except errors.NotFound:
                pass


def test_keytab_alone_makes_every_call(ipa_env, ipa_admin, novajoin_identity, unique):
    nova = _keytab_client(ipa_env, novajoin_identity)
    scenario = Scenario(nova, unique, ipa_env, admin=ipa_admin)
    try:
        done = scenario.run()
    finally:
        scenario.cleanup(ipa_admin)
    assert 'host_del updatedns' in done and 'enrolled' in done
    # Every call went over Kerberos as the service principal, never as admin.
    assert nova.call('ping')['summary']


def test_server_and_notify_code_with_the_keytab_alone(
        ipa_env, ipa_admin, novajoin_identity, unique):
    """The real Enroller creates a host with services; notify's Hosts removes it."""
    nova = _keytab_client(ipa_env, novajoin_identity)
    enroller = join.Enroller(
        nova, otp.OTPSource('functional-secret-' * 3), join.IPAIdentity(nova),
        servers=[ipa_env['IPA_SERVER']], answer_ttl=0,   # refetch reads IPA
        service_rules=services.ServiceRules(['p%s' % unique],
                                            ipa_servers=[ipa_env['IPA_SERVER']]))
    short = 'njsrv-%s' % unique
    fqdn = '%s.%s' % (short, ipa_env['IPA_DOMAIN'])
    req = VendordataRequest(
        project_id='p%s' % unique, instance_id=str(uuid.uuid4()), image_id=None,
        hostname=short, boot_roles=[],
        metadata={'ipa_enroll': 'true', 'ipa_hostclass': 'webservers',
                  'compact_service_HTTP': '["internalapi"]'})
    try:
        answer = enroller.handle(req)
        assert answer['hostname'] == fqdn and answer['ipaotp']
        assert enroller.handle(req) == answer  # a repeated fetch: same OTP
        subhost = '%s.internalapi.%s' % (short, ipa_env['IPA_DOMAIN'])
        service = ipa_admin.call('service_show', 'HTTP/' + subhost)['result']
        assert fqdn in service['managedby_host']

        store.Hosts(nova, dns.Zones(nova), records.Cloud('default')).remove(fqdn)
        for method, name in (('host_show', fqdn), ('host_show', subhost),
                             ('service_show', 'HTTP/' + subhost)):
            with pytest.raises(errors.NotFound):
                ipa_admin.call(method, name)
    finally:
        for name in (fqdn, '%s.internalapi.%s' % (short, ipa_env['IPA_DOMAIN'])):
            try:
                ipa_admin.call('host_del', name)
            except errors.NotFound:
                pass


def test_calls_outside_the_role_are_refused(ipa_env, novajoin_identity, unique):
    nova = _keytab_client(ipa_env, novajoin_identity)
    with pytest.raises(errors.ACIError):
        nova.call('user_add', 'nj%s' % unique, givenname='N', sn='J')
    # DNS: records inside zones only, never the zones themselves.
    with pytest.raises(errors.ACIError):
        nova.call('dnszone_mod', FORWARD_ZONE, idnssoarefresh=3601)
    with pytest.raises(errors.ACIError):
        nova.call('dnsrecord_add', FORWARD_ZONE, '@', txtrecord=['novajoin'])
    # Group membership (refusals come back inside the result).
    result = nova.call('hostgroup_add_member', 'ipaservers',
                       host=[novajoin_identity['hostname']])
    assert result['completed'] == 0
    result = nova.call('group_add_member', 'admins', user=['admin'])
    assert 'Insufficient access' in str(result['failed'])


def _remove(ipa_admin, *names):
    for name in names:
        try:
            ipa_admin.call('host_del', name)
        except errors.NotFound:
            pass


def _refused(result):
    """The member refusals IPA reports inside a *_add_member-style result."""
    return result['completed'] == 0 and 'Insufficient access' in str(result['failed'])


def test_host_rights_reach_only_novajoin_hosts(ipa_env, ipa_admin,
                                               novajoin_identity, unique):
    """managedBy, OTP and delete on a host an administrator made (or an IPA
    server) are refused by IPA itself; on novajoin's own hosts they work."""
    nova = _keytab_client(ipa_env, novajoin_identity)
    domain = ipa_env['IPA_DOMAIN']
    theirs = 'njadm-%s.%s' % (unique, domain)
    instance = 'njown-%s.%s' % (unique, domain)
    subhost = 'njown-%s.internalapi.%s' % (unique, domain)
    try:
        ipa_admin.call('host_add', theirs, force=True,
                       description='made by an administrator')
        nova.call('host_add', instance, force=True, userpassword='Otp-' + unique,
                  userclass=records.owner_values(str(uuid.uuid4()),
                                                 'p' + unique, 'default'))
        nova.call('host_add', subhost, force=True,
                  userclass=records.subhost_values('p' + unique, 'default'))

        # managedBy: whoever is in it may fetch the host's keytab.
        result = nova.call('host_add_managedby', subhost, host=[instance])
        assert result['completed'] == 1, result['failed']
        for victim in (theirs, ipa_env['IPA_SERVER']):
            result = nova.call('host_add_managedby', victim, host=[instance])
            assert _refused(result), result
            shown = ipa_admin.call('host_show', victim)['result']
            assert instance not in shown.get('managedby_host', [])

        # The filter holds because novajoin cannot put a host in it: its
        # userclass right (the rebuild record) reaches only hosts that carry
        # a "novajoin:" value already.
        with pytest.raises(errors.ACIError):
            nova.call('host_mod', theirs, addattr=['userclass=novajoin: subhost'])
        with pytest.raises(errors.ACIError):
            nova.call('host_mod', instance, description='novajoin: subhost')

        # An OTP on a host that is not enrolled yet lets its holder enroll.
        nova.call('host_mod', instance, userpassword='Otp2-' + unique)
        with pytest.raises(errors.ACIError):
            nova.call('host_mod', theirs, userpassword='Otp-' + unique)

        # Creating: only hosts that carry novajoin's record.
        with pytest.raises(errors.ACIError):
            nova.call('host_add', 'njbare-%s.%s' % (unique, domain), force=True,
                      description=records.owner_record(str(uuid.uuid4()),
                                                       'p' + unique, 'default'))

        # Deleting: the administrator's host stays.
        with pytest.raises(errors.ACIError):
            nova.call('host_del', theirs)
        assert ipa_admin.call('host_show', theirs)['result']
        nova.call('host_del', subhost)
        nova.call('host_del', instance)
    finally:
        _remove(ipa_admin, theirs, instance, subhost,
                'njbare-%s.%s' % (unique, domain))


def test_host_del_of_a_novajoin_host_still_cleans_up(ipa_env, ipa_admin,
                                                     novajoin_identity, unique,
                                                     tmp_path):
    """The scoped delete permission is all host_del needs: the enrolled
    host's services and its A/PTR records go with it (updatedns)."""
    nova = _keytab_client(ipa_env, novajoin_identity)
    short = 'njdel-%s' % unique
    fqdn = '%s.%s' % (short, ipa_env['IPA_DOMAIN'])
    octet = str(2 + int(unique[:4], 16) % 250)
    reverse = '2.0.192.in-addr.arpa.'
    try:
        nova.call('host_add', fqdn, force=True, userpassword='Otp-' + unique,
                  userclass=records.owner_values(str(uuid.uuid4()),
                                                 'p' + unique, 'default'))
        nova.call('service_add', 'HTTP/' + fqdn, force=True)
        nova.call('dnsrecord_add', ipa_env['IPA_FORWARD_ZONE'], short,
                  arecord=['192.0.2.' + octet])
        nova.call('dnsrecord_add', reverse, octet, ptrrecord=[fqdn + '.'])
        proc = subprocess.run(
            [ipa_env['IPA_JOIN'], '-s', ipa_env['IPA_SERVER'], '-h', fqdn,
             '-w', 'Otp-' + unique, '-k', str(tmp_path / 'host.keytab')],
            capture_output=True, text=True, timeout=60,
            env={'PATH': '/usr/bin:/bin', 'KRB5_CONFIG': ipa_env['IPA_KRB5_CONFIG']})
        assert proc.returncode == 0, proc.stderr

        nova.call('host_del', fqdn, updatedns=True)
        for method, args in (('host_show', [fqdn]),
                             ('service_show', ['HTTP/' + fqdn]),
                             ('dnsrecord_show', [ipa_env['IPA_FORWARD_ZONE'], short]),
                             ('dnsrecord_show', [reverse, octet])):
            with pytest.raises(errors.NotFound):
                ipa_admin.call(method, *args)
    finally:
        _remove(ipa_admin, fqdn)
        for zone, name in ((ipa_env['IPA_FORWARD_ZONE'], short), (reverse, octet)):
            try:
                ipa_admin.call('dnsrecord_del', zone, name, del_all=True)
            except errors.NotFound:
                pass


def test_permission_set_up_before_the_scoping_gets_its_filter(
        ipa_env, ipa_admin, unique):
    """Drift repair on the real IPA: a managedBy permission as an older
    set-up made it (no filter) is given the filter, once; one with a filter
    added by hand loses it. Permissions of this test's own names, so that
    the shared ones other sessions use never widen."""
    basedn = ipa_admin.call('env', 'basedn')['result']['basedn']
    host_name = 'Novajoin - Modify Host managedBy test %s' % unique
    service_name = 'Novajoin - Modify Service managedBy test %s' % unique
    host_spec = rbac.CUSTOM_PERMISSIONS['Novajoin - Modify Host managedBy'][0]
    service_spec = rbac.CUSTOM_PERMISSIONS['Novajoin - Modify Service managedBy'][0]
    try:
        ipa_admin.call('permission_add', host_name, type='host',
                       ipapermright=['write'], attrs=['managedby'])
        ipa_admin.call('permission_add', service_name, type='service',
                       ipapermright=['write'], attrs=['managedby'],
                       extratargetfilter=['(krbprincipalname=HTTP/*)'])

        def converge():
            report = Report()
            conv = rbac.Converger(ipa_admin, report)
            conv.permission(host_name, host_spec, basedn)
            conv.permission(service_name, service_spec, basedn)
            return report

        assert converge().changes == [
            'corrected permission %r (extratargetfilter)' % host_name,
            'corrected permission %r (extratargetfilter)' % service_name]
        shown = ipa_admin.call('permission_show', host_name, all=True)['result']
        assert sorted(shown['ipapermtargetfilter']) == [
            '(objectclass=ipahost)', '(userclass=novajoin:*)']
        shown = ipa_admin.call('permission_show', service_name, all=True)['result']
        assert shown['ipapermtargetfilter'] == ['(objectclass=ipaservice)']
        assert not converge().changed
    finally:
        for name in (host_name, service_name):
            try:
                ipa_admin.call('permission_del', name)
            except errors.NotFound:
                pass
