"""Tenant isolation, end to end: real nova 34 -> novajoin-server (gunicorn,
keystonemiddleware, the real keystone) -> real FreeIPA 4.12, with novajoin's
least-privilege keytab.

A tenant controls its server's metadata and hostname, nothing else. Every
test asks nova to fetch vendordata for an instance of a chosen project and
then reads IPA as admin: what a rule refuses leaves IPA exactly as it was.

Projects: A (keystone's demo project) and B (the service project) may ask for
TripleO services ([join] service_projects); C (an id listed nowhere) may not.
"""
import os
import subprocess
import uuid

import pytest

from novajoin.ipa import errors
from tests.functional.novajoin_server import OTP_KEY
from tests.functional.novajoin_server import ANSWER_TTL
from tests.functional.novajoin_server import forget_answers
from tests.functional.novajoin_server import identity_conf
from tests.functional.novajoin_server import start_server
from tests.functional.test_server import instance
from tests.functional.test_server import join_of
from tests.functional.test_server import nova_call
from tests.functional.test_server import project_ids

ISSUED = []
LONG_LABEL = 'storage' + 'x' * 40     # a valid label; IPA caps host names at 64


class Server:

    def __init__(self, proc, url):
        self.proc, self.url = proc, url


@pytest.fixture(scope='module')
def projects(peers_env):
    ids = project_ids(peers_env)
    return {'A': ids['demo'], 'B': ids['service'], 'C': uuid.uuid4().hex}


def warm(url, projects, ipa_admin):
    """One enrollment through nova, its host removed at once: a running
    server has its IPA session, Kerberos ticket and look-up caches, and a
    test's fetch must not pay for them inside nova's 5 s (a cold first fetch
    that also undid a refused batch took 5.1 s in a loaded CI run)."""
    answer = join_of(nova_call(url, instance(
        uuid.uuid4().hex[:10], hostname='warm-%s' % uuid.uuid4().hex[:10],
        project_id=projects['A']), mode='direct')[0], 'direct')
    assert answer.get('hostname'), answer
    ipa_admin.call('host_del', answer['hostname'])


@pytest.fixture(scope='module')
def server(tmp_path_factory, ipa_env, peers_env, novajoin_identity, projects,
           ipa_admin):
    tmp = tmp_path_factory.mktemp('isolation')
    proc, url = start_server(tmp, 'isolation', ipa_env, peers_env,
                             identity_conf(novajoin_identity, ipa_env),
                             service_projects='%s,%s' % (projects['A'],
                                                         projects['B']),
                             answer_cache_ttl=ANSWER_TTL)
    warm(url, projects, ipa_admin)
    yield Server(proc, url)
    proc.stop()
    log = proc.log()
    for otp in ISSUED:
        assert otp not in log, 'an OTP leaked into the log'


@pytest.fixture(scope='module')
def lenient_server(tmp_path_factory, ipa_env, peers_env, novajoin_identity, projects,
                   ipa_admin):
    """A server whose operator set [join] max_host_name_length above IPA's
    own limit: long names reach IPA, which refuses them inside the batch."""
    tmp = tmp_path_factory.mktemp('isolation-lenient')
    proc, url = start_server(tmp, 'lenient', ipa_env, peers_env,
                             identity_conf(novajoin_identity, ipa_env),
                             service_projects='%s,%s' % (projects['A'],
                                                         projects['B']),
                             max_host_name_length='253')
    warm(url, projects, ipa_admin)
    yield Server(proc, url)
    proc.stop()


@pytest.fixture
def cleanup(ipa_admin, unique):
    """Host names to delete at the end, then every host whose name carries the
    test's unique token (a subhost left by a broken rule, a name with a
    newline in it). IPA deletes a host's services with it."""
    hosts = []
    yield hosts
    found = ipa_admin.call('host_find', unique, sizelimit=0)['result']
    for fqdn in hosts + [h['fqdn'][0] for h in found if unique in h['fqdn'][0]]:
        try:
            ipa_admin.call('host_del', fqdn)
        except errors.NotFound:
            pass


def enroll(url, inst):
    """Fetch vendordata through nova; the OTP the new host got."""
    answer = join_of(nova_call(url, inst, mode='direct')[0], 'direct')
    assert answer.get('ipaotp'), answer
    ISSUED.append(answer['ipaotp'])
    return answer


def refused(url, inst, status):
    """Fetch through nova; assert novajoin answered ``status`` and nova served
    no join data."""
    result, stderr = nova_call(url, inst, mode='direct')
    assert join_of(result, 'direct') == {}
    assert '(HTTP %d)' % status in stderr, stderr


def show(ipa, method, name):
    """The entry as admin sees it (all attributes), or None."""
    try:
        return ipa.call(method, name, all=True)['result']
    except errors.NotFound:
        return None


def nothing_named(ipa, token):
    """No host and no service in IPA carries ``token`` anywhere."""
    hosts = ipa.call('host_find', token, sizelimit=0)
    services = ipa.call('service_find', token, sizelimit=0)
    return hosts['count'] == 0 and services['count'] == 0


def services_meta(principal):
    return {'ipa_enroll': 'true', 'managed_service_api': principal}


def subhost_record(project):
    return ['novajoin: subhost project=%s cloud=default' % project]


# -- 1. a subhost belongs to one project ------------------------------------------

def test_another_project_never_becomes_manager_of_a_subhost_or_host(
        server, ipa_admin, ipa_env, projects, unique, cleanup):
    domain = ipa_env['IPA_DOMAIN']
    a_host = 'ctl-%s.%s' % (unique, domain)
    sub = 'ctl-%s.internalapi.%s' % (unique, domain)
    principal = 'HTTP/%s' % sub
    b_host = 'ctl-b-%s.%s' % (unique, domain)
    a2_host = 'ctl-a2-%s.%s' % (unique, domain)
    cleanup.extend([a_host, a2_host, b_host, sub])
    enroll(server.url, instance(unique, hostname='ctl-%s' % unique,
                                project_id=projects['A'], metadata={
                                    'ipa_enroll': 'true',
                                    'compact_service_HTTP': '["internalapi"]'}))
    sub_before = show(ipa_admin, 'host_show', sub)
    service_before = show(ipa_admin, 'service_show', principal)
    a_before = show(ipa_admin, 'host_show', a_host)
    assert sub_before['description'] == subhost_record(projects['A'])
    assert sorted(sub_before['managedby_host']) == sorted([sub, a_host])
    assert sorted(service_before['managedby_host']) == sorted([sub, a_host])

    # Project B (also allowed services) asks for A's subhost, then A's host.
    for target in (principal, 'HTTP/%s' % a_host):
        refused(server.url, instance('b-' + unique, hostname='ctl-b-%s' % unique,
                                     project_id=projects['B'],
                                     metadata=services_meta(target)), 409)
        assert show(ipa_admin, 'host_show', b_host) is None
    assert show(ipa_admin, 'host_show', sub) == sub_before
    assert show(ipa_admin, 'service_show', principal) == service_before
    assert show(ipa_admin, 'host_show', a_host) == a_before
    assert show(ipa_admin, 'service_show', 'HTTP/%s' % a_host) is None

    # Another host of project A may share it (TripleO controllers share VIPs).
    enroll(server.url, instance('a2-' + unique, hostname='ctl-a2-%s' % unique,
                                project_id=projects['A'],
                                metadata=services_meta(principal)))
    assert sorted(show(ipa_admin, 'host_show', sub)['managedby_host']) == sorted(
        [sub, a_host, a2_host])
    assert sorted(show(ipa_admin, 'service_show', principal)['managedby_host']) == (
        sorted([sub, a_host, a2_host]))


# -- 2. where subhosts may live, which services exist --------------------------------

FORBIDDEN = {
    'outside_domain': 'HTTP/gitlab-{u}.other.test',
    'domain_apex': 'HTTP/{domain}',
    'ipa_server': 'HTTP/{server}',
    'krbtgt': 'krbtgt/ctl-{u}.internalapi.{domain}',
    'ldap': 'ldap/ctl-{u}.internalapi.{domain}',
    'cifs': 'cifs/ctl-{u}.internalapi.{domain}',
    'host': 'host/ctl-{u}.internalapi.{domain}',
    'type_not_listed': 'postgres/ctl-{u}.internalapi.{domain}',
}


@pytest.mark.parametrize('case', sorted(FORBIDDEN))
def test_forbidden_service_is_403_and_ipa_is_unchanged(
        server, ipa_admin, ipa_env, projects, unique, case, cleanup):
    domain = ipa_env['IPA_DOMAIN']
    principal = FORBIDDEN[case].format(u=unique, domain=domain,
                                       server=ipa_env['IPA_SERVER'])
    target = principal.partition('/')[2]
    fqdn = 'ctl-%s.%s' % (unique, domain)
    before = (show(ipa_admin, 'host_show', target),
              show(ipa_admin, 'service_show', principal))
    # only what this test could have made (never the IPA server)
    cleanup.extend([fqdn] + ([target] if before[0] is None else []))
    if case != 'ipa_server':
        assert before == (None, None)
    refused(server.url, instance(unique, hostname='ctl-%s' % unique,
                                 project_id=projects['A'],
                                 metadata=services_meta(principal)), 403)
    assert (show(ipa_admin, 'host_show', target),
            show(ipa_admin, 'service_show', principal)) == before
    assert nothing_named(ipa_admin, unique)


def test_reserved_type_through_compact_services_is_403(server, ipa_admin, projects,
                                                       unique, cleanup):
    inst = instance(unique, hostname='ctl-%s' % unique, project_id=projects['A'],
                    metadata={'ipa_enroll': 'true',
                              'compact_services': '{"HTTP": ["internalapi"], '
                                                  '"ldap": ["internalapi"]}'})
    refused(server.url, inst, 403)
    assert nothing_named(ipa_admin, unique)


def test_server_refuses_to_start_with_a_reserved_service_type(
        tmp_path, ipa_env, peers_env, novajoin_identity, projects):
    with pytest.raises(AssertionError) as failed:
        proc, _ = start_server(tmp_path, 'reserved', ipa_env, peers_env,
                               identity_conf(novajoin_identity, ipa_env),
                               service_projects=projects['A'],
                               service_types='HTTP,ldap')
        proc.stop()
    assert 'service_types lists ldap' in str(failed.value)


# -- 3. services are a privilege of the listed projects ------------------------------

def test_unlisted_project_gets_403_for_services_and_still_enrolls_without(
        server, ipa_admin, ipa_env, projects, unique, cleanup):
    fqdn = 'ctl-%s.%s' % (unique, ipa_env['IPA_DOMAIN'])
    cleanup.append(fqdn)
    for metadata in ({'compact_service_HTTP': '["internalapi"]'},
                     {'managed_service_vip': 'haproxy/vip-%s.%s'
                      % (unique, ipa_env['IPA_DOMAIN'])}):
        refused(server.url, instance(unique, hostname='ctl-%s' % unique,
                                     project_id=projects['C'],
                                     metadata=dict(metadata, ipa_enroll='true')),
                403)
        assert nothing_named(ipa_admin, unique)
    inst = instance(unique, hostname='ctl-%s' % unique, project_id=projects['C'],
                    metadata={'ipa_enroll': 'true'})
    assert enroll(server.url, inst)['hostname'] == fqdn
    host = show(ipa_admin, 'host_show', fqdn)
    assert host['description'] == [
        'novajoin: instance=%s project=%s cloud=default key=%s'
        % (inst['uuid'], projects['C'], OTP_KEY)]
    assert 'managing_host' not in host or host['managing_host'] == [fqdn]


def test_by_default_no_project_may_ask_for_services(
        tmp_path, ipa_env, peers_env, novajoin_identity, ipa_admin, projects, unique,
        cleanup):
    proc, url = start_server(tmp_path, 'default', ipa_env, peers_env,
                             identity_conf(novajoin_identity, ipa_env))
    try:
        refused(url, instance(unique, hostname='ctl-%s' % unique,
                              project_id=projects['A'],
                              metadata={'ipa_enroll': 'true',
                                        'compact_service_HTTP': '["internalapi"]'}),
                403)
    finally:
        proc.stop()
    assert nothing_named(ipa_admin, unique)


# -- 4. an administrator's disable is never undone ----------------------------------

def test_host_an_administrator_disabled_gets_no_otp_again(server, ipa_admin, ipa_env,
                                                          projects, unique, cleanup,
                                                          tmp_path):
    inst = instance(unique, project_id=projects['A'])
    fqdn = 'vm-%s.%s' % (unique, ipa_env['IPA_DOMAIN'])
    cleanup.append(fqdn)
    otp = enroll(server.url, inst)['ipaotp']
    # The guest enrolls (what ipa-client-install does with the OTP); IPA's
    # host-disable only acts on a host with keys.
    env = dict(os.environ, KRB5_CONFIG=ipa_env['IPA_KRB5_CONFIG'])
    joined = subprocess.run([ipa_env['IPA_JOIN'], '-s', ipa_env['IPA_SERVER'], '-h', fqdn,
                             '-w', otp, '-k', str(tmp_path / 'host.keytab')],
                            capture_output=True, text=True, env=env, timeout=60)
    assert joined.returncode == 0, joined.stderr
    ipa_admin.call('host_disable', fqdn)
    disabled = show(ipa_admin, 'host_show', fqdn)
    assert disabled['has_keytab'] is False and disabled['has_password'] is False

    # A fetch at once may still get the answer a worker gave moments ago
    # ([join] answer_cache_ttl): an OTP IPA no longer accepts. Nothing arms
    # the host again, and once that answer is forgotten every fetch,
    # through either worker, is a 403. The host stays as is throughout.
    answer = join_of(nova_call(server.url, inst, mode='direct')[0], 'direct')
    if answer.get('ipaotp'):
        assert answer['ipaotp'] == otp
        again = subprocess.run([ipa_env['IPA_JOIN'], '-s', ipa_env['IPA_SERVER'],
                                '-h', fqdn, '-w', otp, '-k',
                                str(tmp_path / 'again.keytab')],
                               capture_output=True, text=True, env=env, timeout=60)
        assert again.returncode != 0           # worth nothing in IPA
    assert show(ipa_admin, 'host_show', fqdn) == disabled
    forget_answers()
    for _ in range(2):
        refused(server.url, inst, 403)
    assert show(ipa_admin, 'host_show', fqdn) == disabled
    assert ('refused an OTP for disabled IPA host %s to instance %s'
            % (fqdn, inst['uuid'])) in server.proc.log()


# -- 5. a refused enrollment batch leaves nothing behind ------------------------------

def test_ipa_refusing_part_of_the_enrollment_undoes_all_of_it(lenient_server, ipa_admin,
                                                              ipa_env, projects, unique,
                                                              cleanup):
    """IPA refuses host names longer than its ipamaxhostnamelength (64), which
    this server's limit (253) lets through: the subhost of the long network is
    refused inside the batch, after the host, the other subhosts, their
    services and links were made."""
    server = lenient_server
    domain = ipa_env['IPA_DOMAIN']
    assert ipa_admin.call('config_show')['result']['ipamaxhostnamelength'] == ['64']
    fqdn = 'ctl-%s.%s' % (unique, domain)
    sub = 'ctl-%s.internalapi.%s' % (unique, domain)
    too_long = 'ctl-%s.%s.%s' % (unique, LONG_LABEL, domain)
    vip = 'vip-%s.%s' % (unique, domain)
    assert len(too_long) > 64
    cleanup.extend([fqdn, sub, too_long, vip])
    inst = instance(unique, hostname='ctl-%s' % unique, project_id=projects['A'],
                    metadata={'ipa_enroll': 'true',
                              'compact_service_HTTP': '["internalapi", "%s"]'
                              % LONG_LABEL,
                              'managed_service_vip': 'haproxy/%s' % vip})
    refused(server.url, inst, 502)
    for name in (fqdn, sub, too_long, vip):
        assert show(ipa_admin, 'host_show', name) is None, name
    assert nothing_named(ipa_admin, unique)
    log = server.proc.log()
    assert 'IPA refused part of the enrollment of %s' % fqdn in log
    assert 'could NOT undo' not in log


def test_a_refused_batch_keeps_what_existed_before_it(lenient_server, ipa_admin, ipa_env,
                                                      projects, unique, cleanup):
    """A second host of the project asks to share an existing subhost and
    service, with a subhost IPA refuses: its links are undone, the shared
    entries stay exactly as they were."""
    server = lenient_server
    domain = ipa_env['IPA_DOMAIN']
    first = 'ctl-%s.%s' % (unique, domain)
    sub = 'ctl-%s.internalapi.%s' % (unique, domain)
    second = 'ctl-2-%s.%s' % (unique, domain)
    too_long = 'ctl-2-%s.%s.%s' % (unique, LONG_LABEL, domain)
    cleanup.extend([first, second, sub, too_long])
    enroll(server.url, instance(unique, hostname='ctl-%s' % unique,
                                project_id=projects['A'], metadata={
                                    'ipa_enroll': 'true',
                                    'compact_service_HTTP': '["internalapi"]'}))
    before = (show(ipa_admin, 'host_show', sub),
              show(ipa_admin, 'service_show', 'HTTP/%s' % sub),
              show(ipa_admin, 'host_show', first))
    refused(server.url, instance('2' + unique, hostname='ctl-2-%s' % unique,
                                 project_id=projects['A'], metadata={
                                     'ipa_enroll': 'true',
                                     'managed_service_api': 'HTTP/%s' % sub,
                                     'compact_service_HTTP': '["%s"]' % LONG_LABEL}),
            502)
    assert (show(ipa_admin, 'host_show', sub),
            show(ipa_admin, 'service_show', 'HTTP/%s' % sub),
            show(ipa_admin, 'host_show', first)) == before
    assert show(ipa_admin, 'host_show', second) is None
    assert show(ipa_admin, 'host_show', too_long) is None


def test_names_longer_than_ipa_allows_are_400_and_nothing_in_ipa(server, ipa_admin,
                                                                 ipa_env, projects,
                                                                 unique, cleanup):
    """With the default [join] max_host_name_length (IPA's 64) the same
    request is refused before IPA is asked, with a reason nova logs."""
    domain = ipa_env['IPA_DOMAIN']
    fqdn = 'ctl-%s.%s' % (unique, domain)
    too_long = 'ctl-%s.%s.%s' % (unique, LONG_LABEL, domain)
    cleanup.extend([fqdn, too_long])
    inst = instance(unique, hostname='ctl-%s' % unique, project_id=projects['A'],
                    metadata={'ipa_enroll': 'true',
                              'compact_service_HTTP': '["internalapi", "%s"]'
                              % LONG_LABEL})
    refused(server.url, inst, 400)
    assert nothing_named(ipa_admin, unique)
    assert 'IPA allows at most 64' in server.proc.log()


# -- 6. malformed hostnames are refused, never reshaped -----------------------------

@pytest.mark.parametrize('hostname', ['vm-{u}\n', 'vm-{u}.example.test\n',
                                      'vm-{u}..b', 'vm-{u}.-b'],
                         ids=['trailing_newline', 'fqdn_trailing_newline',
                              'empty_label', 'label_starting_with_hyphen'])
def test_malformed_hostname_is_400_through_nova_and_nothing_in_ipa(
        server, ipa_admin, ipa_env, projects, unique, hostname, cleanup):
    cleanup.append('vm-%s.%s' % (unique, ipa_env['IPA_DOMAIN']))
    inst = instance(unique, hostname=hostname.format(u=unique),
                    project_id=projects['A'])
    result, stderr = nova_call(server.url, inst, '--failure-fatal', mode='direct')
    assert result['direct']['ok'] is False
    assert result['direct']['raised'] == 'keystoneauth1.exceptions.http.BadRequest'
    assert '(HTTP 400)' in result['direct']['message']
    assert nothing_named(ipa_admin, unique)
